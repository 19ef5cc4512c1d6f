# Helpers the benchmarks share (sourced). Each benchmark keeps its files under one
# directory, $work; every process it starts names $work on its command line (a data
# directory, a config file, a log), which is how they are all found again at the end,
# also those started in a $(...) subshell.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A free port p whose p+10000 is free too (SeaweedFS's gRPC ports).
free_pair() { python3 -c '
import socket
while True:
    s=socket.socket(); s.bind(("127.0.0.1",0)); p=s.getsockname()[1]
    if p < 55000:
        t=socket.socket()
        try:
            t.bind(("127.0.0.1",p+10000)); print(p); break
        except OSError: pass
'; }

wait_http() { for _ in $(seq 600); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "bench: $1 did not come up" >&2; return 1; }

# Stops the processes in $pids and every process whose command line names $work (TERM
# first, so that nginx stops its workers; redis-server renames itself, hence $pids), then
# removes $work.
stop_all() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  pkill -TERM -f -- "$work" 2>/dev/null || true
  for _ in $(seq 20); do pgrep -f -- "$work" >/dev/null || break; sleep 0.1; done
  pkill -KILL -f -- "$work" 2>/dev/null || true
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "bench: kept $work" >&2; return; fi
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
