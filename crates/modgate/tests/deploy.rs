//! The deployment files in `deploy/`, checked against the binary they run:
//! - `deploy/systemd/modgate.service`: `systemd-analyze verify` finds nothing to say, its
//!   offline security review rates it OK, its command line is one `modgate serve`
//!   accepts, its file limit leaves room for `[server] max_connections`, and a reload is
//!   a SIGHUP.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::serve_common::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The value of `key=` in the unit (the last one set).
fn unit_value<'a>(unit: &'a str, key: &str) -> Option<&'a str> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .next_back()
}

#[test]
fn the_systemd_unit_verifies_and_runs_what_modgate_accepts() {
    let unit = std::fs::read_to_string(repo().join("deploy/systemd/modgate.service")).unwrap();
    let exec = unit_value(&unit, "ExecStart").unwrap();
    let mut args = exec.split_whitespace();
    assert_eq!(args.next(), Some("/usr/local/bin/modgate"));
    let args: Vec<&str> = args.collect();
    assert_eq!(args[0], "serve");

    // systemd's own check, with the binary where this build put it.
    let tmp = tempfile::tempdir().unwrap();
    let here = tmp.path().join("modgate.service");
    std::fs::write(
        &here,
        unit.replace("/usr/local/bin/modgate", env!("CARGO_BIN_EXE_modgate")),
    )
    .unwrap();
    let verify = run_bounded(
        Command::new("systemd-analyze").arg("verify").arg(&here),
        Duration::from_secs(60),
    );
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(verify.status.success(), "{said}");
    assert_eq!(said, "", "systemd-analyze verify has something to say");
    let security = run_bounded(
        Command::new("systemd-analyze")
            .args(["security", "--offline=yes"])
            .arg(&here),
        Duration::from_secs(60),
    );
    let report = String::from_utf8_lossy(&security.stdout);
    let level: f64 = report
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for modgate.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{report}"));
    // systemd rates 0 to 10; up to 3.9 is "OK".
    assert!(level < 4.0, "exposure {level}:\n{report}");

    // The command line is one `serve` accepts (settings file and directories made here).
    let config = tmp.path().join("modgate.toml");
    std::fs::copy(repo().join("modgate.example.toml"), &config).unwrap();
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            a.replace("/etc/modgate/modgate.toml", config.to_str().unwrap())
                .replace(
                    "/var/lib/modgate",
                    tmp.path().join("data").to_str().unwrap(),
                )
        })
        .collect();
    let mut show = vec!["config".to_string(), "show".to_string()];
    show.extend(args[1..].iter().cloned());
    let shown = Command::new(env!("CARGO_BIN_EXE_modgate"))
        .args(&show)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.status.success(),
        "{show:?}: {}",
        String::from_utf8_lossy(&shown.stderr)
    );
    assert!(text.contains("listen = \":3000\""), "{text}");

    // Room for max_connections (its default), and a reload is a SIGHUP; the data
    // directory is the state directory.
    let nofile: u64 = unit_value(&unit, "LimitNOFILE").unwrap().parse().unwrap();
    assert!(nofile >= 4096 * 2, "{nofile}");
    assert_eq!(
        unit_value(&unit, "ExecReload"),
        Some("/bin/kill -HUP $MAINPID")
    );
    assert_eq!(unit_value(&unit, "StateDirectory"), Some("modgate"));
    assert!(exec.contains("--data-dir /var/lib/modgate"));
    for hardening in [
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "DynamicUser=yes",
    ] {
        assert!(unit.lines().any(|l| l == hardening), "{hardening}");
    }
}

/// `podman ARGS` as these machines run containers (runc, cgroupfs), bounded; its output.
fn podman(args: &[&str]) -> std::process::Output {
    run_bounded(
        Command::new("podman")
            .args(["--cgroup-manager=cgroupfs"])
            .args(args),
        Duration::from_secs(600),
    )
}

/// Its standard output, once checked that it succeeded.
fn podman_ok(args: &[&str]) -> String {
    let out = podman(args);
    assert!(
        out.status.success(),
        "podman {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Removes the test's containers, volume and image, whatever happened.
struct Cleanup {
    containers: Vec<String>,
    volume: String,
    image: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = podman(&["rm", "-f", "-t", "0", c]);
        }
        let _ = podman(&["volume", "rm", "-f", &self.volume]);
        let _ = podman(&["rmi", "-f", &self.image]);
    }
}

/// `podman run` of the image: the ulimits and runtime these machines need, the host's
/// network, the data volume, `serve` with `args`.
fn run_container(image: &str, name: &str, volume: &str, args: &[&str]) -> String {
    let (nofile, nproc) = (
        format!("nofile={0}:{0}", hard_limit("Max open files")),
        // Threads and git processes: a few hundred at most.
        "nproc=4096:4096".to_string(),
    );
    let mut all = vec![
        "run",
        "-d",
        "--runtime",
        "runc",
        "--ulimit",
        &nofile,
        "--ulimit",
        &nproc,
        "--network",
        "host",
        "--name",
        name,
    ];
    let mount = format!("{volume}:/var/lib/modgate");
    all.extend(["-v", &mount, image]);
    all.extend(args);
    podman_ok(&all)
}

/// This process's hard limit named `what` in /proc/self/limits (a container may have up
/// to it), at most 65536.
fn hard_limit(what: &str) -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits.lines().find(|l| l.starts_with(what)).unwrap();
    let hard = line[what.len()..].split_whitespace().nth(1).unwrap();
    hard.parse::<u64>().map_or(65536, |n| n.min(65536))
}

fn wait_for(addr: &str, path: &str) {
    let start = std::time::Instant::now();
    while !matches!(raw_get(addr, "GET", path), Ok(r) if r.status == 200) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{path} of {addr} not 200 within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The image built by `deploy/image/build` (with this build's binary), run with podman:
/// its labels and user, `/healthz` and `/readyz`, the go command downloading a module
/// graph through it (an upstream on the host's loopback), the process not root, `podman
/// stop` draining and exiting 0, and a second container on the same volume serving what
/// the first stored without asking upstream.
#[test]
fn the_image_serves_the_go_command_and_keeps_its_cache_on_its_volume() {
    let id = std::process::id();
    let image = format!("localhost/modgate-test:{id}");
    let volume = format!("modgate-test-{id}");
    let (c1, c2) = (
        format!("modgate-test-{id}-1"),
        format!("modgate-test-{id}-2"),
    );
    let _cleanup = Cleanup {
        containers: vec![c1.clone(), c2.clone()],
        volume: volume.clone(),
        image: image.clone(),
    };
    let built = run_bounded(
        Command::new("bash")
            .arg(repo().join("deploy/image/build"))
            .args(["--binary", env!("CARGO_BIN_EXE_modgate"), "--tag", &image]),
        Duration::from_secs(900),
    );
    let said = String::from_utf8_lossy(&built.stdout).into_owned()
        + &String::from_utf8_lossy(&built.stderr);
    assert!(built.status.success(), "{said}");
    assert!(
        said.contains(&format!("deploy/image/build: {image} built in ")),
        "{said}"
    );

    // What the image says of itself.
    let labels = podman_ok(&[
        "image",
        "inspect",
        "--format",
        "{{json .Labels}} {{.Config.User}} {{json .Config.Cmd}} {{json .Config.Volumes}}",
        &image,
    ]);
    let commit = String::from_utf8_lossy(
        &Command::new("git")
            .arg("-C")
            .arg(repo())
            .args(["rev-parse", "HEAD"])
            .output()
            .unwrap()
            .stdout,
    )
    .trim()
    .to_string();
    for want in [
        format!(
            "\"org.opencontainers.image.version\":\"{}\"",
            env!("CARGO_PKG_VERSION")
        ),
        format!("\"org.opencontainers.image.revision\":\"{commit}\""),
        " 10001:10001 ".to_string(),
        "[\"serve\",\"--listen\",\":3000\",\"--data-dir\",\"/var/lib/modgate\"]".to_string(),
        "\"/var/lib/modgate\":{}".to_string(),
    ] {
        assert!(labels.contains(&want), "{want} not in {labels}");
    }

    // A module graph on an upstream on the host's loopback.
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    let mut mods = Vec::new();
    for i in 0..8 {
        let m = format!("example.com/img{i}");
        let next = format!("example.com/img{}", i + 1);
        let go_mod = if i < 7 {
            format!("module {m}\n\ngo 1.21\n\nrequire {next} v1.0.0\n")
        } else {
            format!("module {m}\n\ngo 1.21\n")
        };
        tree.add(
            &m,
            "v1.0.0",
            "2024-01-02T03:04:05Z",
            &[("go.mod", &go_mod), ("x.go", "package x\n")],
        );
        mods.push(format!("{m}@v1.0.0"));
    }
    let mods: Vec<&str> = mods.iter().map(String::as_str).collect();
    let up = crate::serve_common::upstream::Upstream::start(&tree.root);
    let want = downloaded(&up.url, &mods);

    podman_ok(&["volume", "create", &volume]);
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let args = [
        "serve",
        "--listen",
        &listen,
        "--data-dir",
        "/var/lib/modgate",
        "--upstream",
        &up.url,
        "--sumdb",
        "off",
    ];
    run_container(&image, &c1, &volume, &args);
    wait_for(&listen, "/healthz");
    wait_for(&listen, "/readyz");
    let proxy = format!("http://{listen}");
    assert_eq!(downloaded(&proxy, &mods), want);
    let asked: Vec<(String, usize)> = up.counts();
    assert!(!asked.is_empty());

    // Not root: the process's user, seen from the host.
    let pid = podman_ok(&["inspect", "--format", "{{.State.Pid}}", &c1]);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(
        uid.split_whitespace().collect::<Vec<_>>(),
        ["Uid:", "10001", "10001", "10001", "10001"]
    );

    // Stopped: it drains and exits 0.
    podman_ok(&["stop", "-t", "30", &c1]);
    assert_eq!(
        podman_ok(&["inspect", "--format", "{{.State.ExitCode}}", &c1]),
        "0"
    );
    let logs = podman(&["logs", &c1]);
    let logs =
        String::from_utf8_lossy(&logs.stderr).into_owned() + &String::from_utf8_lossy(&logs.stdout);
    assert!(logs.contains("drain"), "{logs}");

    // A second container on the same volume: what the first stored, upstream not asked.
    run_container(&image, &c2, &volume, &args);
    wait_for(&listen, "/readyz");
    assert_eq!(downloaded(&proxy, &mods), want);
    assert_eq!(up.counts(), asked, "the second container asked upstream");
    podman_ok(&["stop", "-t", "30", &c2]);
    assert_eq!(
        podman_ok(&["inspect", "--format", "{{.State.ExitCode}}", &c2]),
        "0"
    );

    // The same image in the Kubernetes files, run by `podman kube play`.
    kube_single(&image, &up.url, &mods, &want);
    kube_replicas(&image, &up.url, &mods, &want);
}

/// The YAML documents of `text` whose kind is one of `kinds`.
fn documents(text: &str, kinds: &[&str]) -> Vec<String> {
    text.split("\n---\n")
        .filter(|d| {
            d.lines()
                .any(|l| kinds.iter().any(|k| l == format!("kind: {k}")))
        })
        .map(String::from)
        .collect()
}

/// A Kubernetes file made runnable by podman on this machine's own network: the test's
/// image and port, one replica, no port declarations (podman's host network takes none),
/// and each
/// `valueFrom: secretKeyRef` replaced by the value `secrets` gives (podman 4.3 cannot read
/// a Kubernetes Secret); only the kinds podman plays.
fn for_podman(yaml: &str, image: &str, listen: &str, secrets: &[(&str, &str)]) -> String {
    let docs = documents(yaml, &["ConfigMap", "PersistentVolumeClaim", "Deployment"]);
    let text = docs
        .join("\n---\n")
        .replace("image: modgate:0.1.0", &format!("image: {image}"))
        // One pod: on the host's network, more would listen on the same port.
        .replace("  replicas: 3\n", "  replicas: 1\n")
        .replace(
            "\"--listen\", \":3000\"",
            &format!("\"--listen\", \"{listen}\""),
        );
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.trim() == "ports:" {
            // Skip the block.
            let at = indent(l);
            i += 1;
            while i < lines.len()
                && (indent(lines[i]) > at
                    || lines[i].trim_start().starts_with("- ") && indent(lines[i]) == at + 2)
            {
                i += 1;
            }
            continue;
        }
        if l.trim() == "valueFrom:" {
            // valueFrom: / secretKeyRef: / name: N / key: K
            let key = lines[i + 3].trim().strip_prefix("key: ").unwrap();
            let value = secrets
                .iter()
                .find(|(k, _)| *k == key)
                .unwrap_or_else(|| panic!("no value for the secret key {key}"))
                .1;
            out.push(format!("{}value: \"{value}\"", " ".repeat(indent(l))));
            i += 4;
            continue;
        }
        out.push(l.to_string());
        i += 1;
    }
    out.join("\n") + "\n"
}

/// Runs `podman kube play` (host network, these machines' limits) on `yaml`; the pod is
/// removed, with its volumes, when the returned guard is dropped.
fn kube_play(yaml: &str) -> KubePlayed {
    let dir = tempfile::tempdir().unwrap();
    let file: PathBuf = dir.path().join("kube.yaml");
    std::fs::write(&file, yaml).unwrap();
    let conf = dir.path().join("containers.conf");
    std::fs::write(
        &conf,
        format!(
            "[containers]\ndefault_ulimits = [\"nofile={0}:{0}\", \"nproc=4096:4096\"]\n[engine]\nruntime = \"runc\"\ncgroup_manager = \"cgroupfs\"\n",
            hard_limit("Max open files")
        ),
    )
    .unwrap();
    let volumes_before = podman_ok(&["volume", "ls", "--format", "{{.Name}}"]);
    let pods_before = podman_ok(&["pod", "ls", "--format", "{{.Name}}"]);
    let out = run_bounded(
        Command::new("podman")
            .env("CONTAINERS_CONF", &conf)
            .args(["kube", "play", "--network", "host"])
            .arg(&file),
        Duration::from_secs(300),
    );
    let new = |before: &str, now: String| -> Vec<String> {
        now.lines()
            .filter(|n| !before.lines().any(|b| b == *n))
            .map(String::from)
            .collect()
    };
    let played = KubePlayed {
        pods: new(
            &pods_before,
            podman_ok(&["pod", "ls", "--format", "{{.Name}}"]),
        ),
        volumes: new(
            &volumes_before,
            podman_ok(&["volume", "ls", "--format", "{{.Name}}"]),
        ),
        _dir: dir,
    };
    assert!(
        out.status.success(),
        "podman kube play: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    played
}

/// What a `podman kube play` made (removed when dropped).
struct KubePlayed {
    pods: Vec<String>,
    volumes: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Drop for KubePlayed {
    fn drop(&mut self) {
        for p in &self.pods {
            let _ = podman(&["pod", "rm", "-f", "-t", "0", p]);
        }
        for v in &self.volumes {
            let _ = podman(&["volume", "rm", "-f", v]);
        }
    }
}

/// Plays `yaml` with the test's upstream and no checksum database in its settings, waits
/// until the pod answers on `listen`; the pod and its `/api/v1/status`.
fn play_local(yaml: &str, upstream: &str, listen: &str) -> (KubePlayed, String) {
    let yaml = yaml
        .replace(
            "upstream = \"https://proxy.golang.org,direct\"",
            &format!("upstream = \"{upstream}\""),
        )
        .replace("sumdb = \"sum.golang.org\"", "sumdb = \"off\"");
    let pod = kube_play(&yaml);
    wait_for(listen, "/healthz");
    wait_for(listen, "/readyz");
    let status = raw_get(listen, "GET", "/api/v1/status").unwrap().text();
    (pod, status)
}

/// The uid of the pod's modgate process, seen from the host.
fn pod_uid(pod_prefix: &str) -> String {
    let names = podman_ok(&["ps", "--format", "{{.Names}}"]);
    let name = names
        .lines()
        .find(|n| n.starts_with(pod_prefix) && !n.ends_with("-infra"))
        .unwrap_or_else(|| panic!("no container of {pod_prefix} in {names}"));
    let pid = podman_ok(&["inspect", "--format", "{{.State.Pid}}", name]);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    uid.split_whitespace().nth(1).unwrap().to_string()
}

/// `deploy/kubernetes/single.yaml` in podman: its ConfigMap's settings read (the upstream
/// replaced by the test's), its volume claimed, probes' endpoints answering, non-root;
/// the go command downloads through it.
fn kube_single(
    image: &str,
    upstream: &str,
    mods: &[&str],
    want: &[(String, String, String, String)],
) {
    let yaml = std::fs::read_to_string(repo().join("deploy/kubernetes/single.yaml")).unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let yaml = for_podman(&yaml, image, &listen, &[]);
    let (_pod, status) = play_local(&yaml, upstream, &listen);
    // [cache] max_bytes from the ConfigMap.
    assert!(status.contains("\"max_bytes\":16000000000"), "{status}");
    assert_eq!(downloaded(&format!("http://{listen}"), mods), want);
    assert_eq!(pod_uid("modgate-pod"), "10001");
    let claimed = podman_ok(&["volume", "ls", "--format", "{{.Name}}"]);
    assert!(claimed.lines().any(|v| v == "modgate-data"), "{claimed}");
}

/// `deploy/kubernetes/replicas.yaml` in podman, on SeaweedFS and Redis on loopback: every
/// secret reference names a key of its Secret; the pod serves from the bucket and shares
/// through Redis as its settings say.
fn kube_replicas(
    image: &str,
    upstream: &str,
    mods: &[&str],
    want: &[(String, String, String, String)],
) {
    let yaml = std::fs::read_to_string(repo().join("deploy/kubernetes/replicas.yaml")).unwrap();
    // Each `secretKeyRef` names its Secret and one of its keys.
    let secret = &documents(&yaml, &["Secret"])[0];
    let name = secret
        .lines()
        .find_map(|l| l.trim().strip_prefix("name: "))
        .unwrap();
    let keys: Vec<&str> = secret
        .lines()
        .skip_while(|l| l.trim() != "stringData:")
        .skip(1)
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.trim().split_once(": ").map(|(k, _)| k))
        .collect();
    assert_eq!(
        keys,
        ["aws-access-key-id", "aws-secret-access-key", "redis-url"]
    );
    let lines: Vec<&str> = yaml.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if l.trim() == "secretKeyRef:" {
            assert_eq!(lines[i + 1].trim(), format!("name: {name}"));
            let key = lines[i + 2].trim().strip_prefix("key: ").unwrap();
            assert!(keys.contains(&key), "{key}");
        }
    }
    let sw = testkit::seaweed::Seaweed::start();
    sw.create_bucket("modgate");
    let redis = testkit::redis::Redis::start();
    let env = sw.env();
    let value = |k: &str| env.iter().find(|(n, _)| *n == k).unwrap().1.clone();
    let (id, key, endpoint) = (
        value("AWS_ACCESS_KEY_ID"),
        value("AWS_SECRET_ACCESS_KEY"),
        sw.endpoint.clone(),
    );
    let redis_url = redis.url();
    let listen = format!("127.0.0.1:{}", free_port());
    let yaml = for_podman(
        &yaml,
        image,
        &listen,
        &[
            ("aws-access-key-id", &id),
            ("aws-secret-access-key", &key),
            ("redis-url", &redis_url),
        ],
    )
    .replace(
        "endpoint = \"http://minio.storage.svc.cluster.local:9000\"",
        &format!("endpoint = \"{endpoint}\""),
    );
    let (_pod, status) = play_local(&yaml, upstream, &listen);
    assert!(status.contains("\"remote\":true"), "{status}");
    assert!(status.contains("\"up\":true"), "{status}");
    assert_eq!(downloaded(&format!("http://{listen}"), mods), want);
    // In the shared bucket.
    assert!(
        sw.object(
            "modgate",
            "cache/cache/download/example.com/img0/@v/v1.0.0.mod"
        )
        .is_some()
    );
    assert_eq!(pod_uid("modgate-replicas-pod"), "10001");
}
