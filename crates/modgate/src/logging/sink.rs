//! The one place log lines go: appended to a shared buffer, written to standard error in
//! batches by one thread.
//!
//! A line costs its writer a lock and a copy: no allocation, no channel message, no
//! system call, and mostly no wake-up. The thread takes the whole buffer at once
//! (swapping in an empty one) and writes it with one `write(2)`; then it lingers for
//! [`LINGER`] before it looks again, so under load it wakes about a hundred times a second
//! whatever the rate of lines, many lines share a call, and a request never waits on the
//! terminal or a pipe. Lines are written at most [`LINGER`] after they come, or at once
//! past [`BATCH`] bytes; a line into an idle sink wakes the thread. Nothing is dropped:
//! past [`BOUND`] pending bytes (standard error blocked, or slower than the lines come),
//! writers wait for room.

use std::io::Write;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

/// Pending bytes past which a writer waits for the thread to take them.
pub const BOUND: usize = 4 << 20;

/// Pending bytes past which a writer wakes a lingering thread.
pub const BATCH: usize = 64 << 10;

/// How long the thread waits for more lines after writing a batch.
pub const LINGER: std::time::Duration = std::time::Duration::from_millis(10);

/// Lines not yet written, and whether the sink is closing.
#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    closed: bool,
    /// The thread waits for a line with no time bound (else it lingers, or writes).
    idle: bool,
}

/// The buffer and the thread's signals.
pub struct Sink {
    pending: Mutex<Pending>,
    /// Lines came into an empty buffer, or the sink is closing.
    lines: Condvar,
    /// The thread took the buffer: there is room again.
    room: Condvar,
}

impl Sink {
    /// An empty sink; [`Sink::start`] runs its thread.
    pub const fn new() -> Sink {
        Sink {
            pending: Mutex::new(Pending {
                bytes: Vec::new(),
                closed: false,
                idle: false,
            }),
            lines: Condvar::new(),
            room: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends whole lines (each ending in `\n`). After [`Flush`] closed the sink, they
    /// are written at once.
    pub fn append(&self, lines: &[u8]) {
        let mut p = self.lock();
        while p.bytes.len() >= BOUND && !p.closed {
            p = self.room.wait(p).unwrap_or_else(PoisonError::into_inner);
        }
        if p.closed {
            drop(p);
            let _ = std::io::stderr().lock().write_all(lines);
            return;
        }
        let before = p.bytes.len();
        p.bytes.extend_from_slice(lines);
        let wake = (p.idle && before == 0) || (before < BATCH && p.bytes.len() >= BATCH);
        drop(p);
        if wake {
            self.lines.notify_one();
        }
    }

    /// Runs the writing thread for this sink, sending its batches to `out`; the returned
    /// guard writes what is pending and stops it when dropped.
    pub fn start(&'static self, mut out: impl Write + Send + 'static) -> std::io::Result<Flush> {
        let thread = std::thread::Builder::new()
            .name("log".into())
            .spawn(move || {
                let mut batch = Vec::new();
                loop {
                    let mut p = self.lock();
                    if p.bytes.len() < BATCH && !p.closed {
                        p = self
                            .lines
                            .wait_timeout(p, LINGER)
                            .unwrap_or_else(PoisonError::into_inner)
                            .0;
                    }
                    while p.bytes.is_empty() && !p.closed {
                        p.idle = true;
                        p = self.lines.wait(p).unwrap_or_else(PoisonError::into_inner);
                    }
                    p.idle = false;
                    let closed = p.closed;
                    std::mem::swap(&mut p.bytes, &mut batch);
                    drop(p);
                    self.room.notify_all();
                    // A failing standard error (closed pipe) loses the log, never a request.
                    let _ = out.write_all(&batch).and_then(|()| out.flush());
                    batch.clear();
                    // Memory for a burst is given back, not kept for the process's life.
                    if batch.capacity() > BOUND {
                        batch = Vec::new();
                    }
                    if closed {
                        return;
                    }
                }
            })?;
        Ok(Flush {
            sink: self,
            thread: Some(thread),
        })
    }

    fn close(&self) {
        self.lock().closed = true;
        self.lines.notify_one();
        self.room.notify_all();
    }
}

impl Default for Sink {
    fn default() -> Self {
        Sink::new()
    }
}

/// Writes what is pending and stops the thread when dropped; later lines are written
/// directly.
pub struct Flush {
    sink: &'static Sink,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Flush {
    fn drop(&mut self) {
        self.sink.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `tracing_subscriber`'s writer: the formatter writes each event whole, in one call.
#[derive(Clone, Copy)]
pub struct Writer(pub &'static Sink);

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.append(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Writer {
    type Writer = Writer;

    fn make_writer(&'a self) -> Writer {
        *self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// What the thread wrote, and in how many writes.
    #[derive(Clone, Default)]
    struct Out(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Write for Out {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut o = self.0.lock().unwrap();
            o.0.extend_from_slice(buf);
            o.1 += 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn leaked() -> &'static Sink {
        Box::leak(Box::new(Sink::new()))
    }

    #[test]
    fn every_line_is_written_in_order_and_whole_when_the_guard_drops() {
        let sink = leaked();
        let out = Out::default();
        let flush = sink.start(out.clone()).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                std::thread::spawn(move || {
                    for i in 0..10_000 {
                        sink.append(format!("t{t} line {i}\n").as_bytes());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(flush);
        let (bytes, writes) = out.0.lock().unwrap().clone();
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(text.lines().count(), 40_000);
        for t in 0..4 {
            let mine: Vec<usize> = text
                .lines()
                .filter_map(|l| l.strip_prefix(&format!("t{t} line ")))
                .map(|n| n.parse().unwrap())
                .collect();
            assert_eq!(mine, (0..10_000).collect::<Vec<_>>());
        }
        // Batched: far fewer writes than lines.
        assert!(writes < 40_000, "{writes} writes");
    }

    #[test]
    fn an_idle_log_is_complete_without_the_guard() {
        let sink = leaked();
        let out = Out::default();
        let _flush = sink.start(out.clone()).unwrap();
        sink.append(b"one\n");
        for _ in 0..500 {
            if out.0.lock().unwrap().0 == b"one\n" {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("the line was not written: {:?}", out.0.lock().unwrap().0);
    }

    /// A standard error that takes nothing until told to.
    struct Stuck(Arc<(Mutex<bool>, Condvar)>, Out);

    impl Write for Stuck {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let (open, cv) = &*self.0;
            let mut o = open.lock().unwrap();
            while !*o {
                o = cv.wait(o).unwrap();
            }
            self.1.write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_blocked_output_makes_writers_wait_past_the_bound_and_loses_nothing() {
        let sink = leaked();
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let out = Out::default();
        let flush = sink.start(Stuck(Arc::clone(&gate), out.clone())).unwrap();
        let line = vec![b'x'; 1023]
            .into_iter()
            .chain([b'\n'])
            .collect::<Vec<u8>>();
        // The thread holds the first batch (stuck); then the buffer fills to the bound.
        sink.append(&line);
        std::thread::sleep(std::time::Duration::from_millis(50));
        for _ in 0..BOUND / line.len() {
            sink.append(&line);
        }
        let writer = std::thread::spawn(move || sink.append(&line));
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(
            !writer.is_finished(),
            "a writer past the bound did not wait"
        );
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        writer.join().unwrap();
        drop(flush);
        assert_eq!(out.0.lock().unwrap().0.len(), (BOUND / 1024 + 2) * 1024);
    }
}
