//! Warm jobs and bundles on request (`fleet/`):
//! - three replicas on SeaweedFS and Redis, 30 warm jobs from 10 go.mod files (each sent
//!   three times, to each replica), the replica running the job that waits on a slow zip
//!   killed with SIGKILL: every job ends `done`, every file is fetched from upstream once
//!   (the slow zip twice: the killed replica's fetch was cut), every callback arrives once
//!   with a valid signature, and every replica answers the same record for each job;
//! - a callback refused twice while its replica, done with the job, waits to try again;
//!   the replica killed: the other one takes the job over, finds it done, and delivers
//!   the callback (same bytes, id and signature), once, without running the job again;
//! - bundles with `[auth]`: only for a `warm` client that may read every module they hold
//!   (403 without naming which), made or stored;
//! - `modgate warm DIR --wait` with a `warm` token (the project's replacement directory
//!   sent too), again with everything stored, refused for a token without `warm`; a job
//!   of a server (no Redis) killed and started again answers `lost`;
//! - `[filter]` applies to warm jobs and bundles: a refused module is not fetched;
//! - bundles made more than `[warm] bundles_keep` ago removed, a tagged one kept;
//! - a CI job with the real go command: the bundle for its go.sum fetched with curl,
//!   imported into an empty module cache, then `go build` with `GOPROXY=off` and `go mod
//!   verify`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::bundle::{KEY, project};
use crate::serve_common::upstream::{Answer, Upstream};
use crate::serve_common::*;

const SECRET: &str = "warm-secret";
const T1: &str = "2024-01-02T03:04:05Z";

/// A request the receiver got: its headers (lower-case names; `:request` its first
/// line), body, and the status it was answered with.
type Got = (BTreeMap<String, String>, Vec<u8>, u16);

/// A callback receiver on loopback: each request's headers and body, answered 200 (the
/// first `refuse` requests 503).
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Got>>>,
}

impl Receiver {
    fn start() -> Receiver {
        Self::refusing(0)
    }

    fn refusing(refuse: usize) -> Receiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&got);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let keep = Arc::clone(&keep);
                std::thread::spawn(move || {
                    conn.set_read_timeout(Some(Duration::from_secs(10))).ok();
                    let mut r = BufReader::new(conn.try_clone().unwrap());
                    let mut headers = BTreeMap::new();
                    let mut line = String::new();
                    r.read_line(&mut line).ok();
                    headers.insert(":request".to_string(), line.trim_end().to_string());
                    loop {
                        line.clear();
                        if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                        if let Some((k, v)) = line.trim_end().split_once(':') {
                            headers.insert(k.to_ascii_lowercase(), v.trim().to_string());
                        }
                    }
                    let len: usize = headers
                        .get("content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    let mut body = vec![0; len];
                    r.read_exact(&mut body).ok();
                    let status = {
                        let mut got = keep.lock().unwrap();
                        let status = if got.len() < refuse { 503 } else { 200 };
                        got.push((headers, body, status));
                        status
                    };
                    let _ = conn.write_all(
                        format!(
                            "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        )
                        .as_bytes(),
                    );
                });
            }
        });
        Receiver { port, got }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// `DIR/modgate.toml`: one job at a time per replica, a 2 s lease, callbacks to this
    /// receiver signed with [`SECRET`].
    fn settings(&self, dir: &Path) -> std::path::PathBuf {
        let config = dir.join("modgate.toml");
        std::fs::write(
            &config,
            format!(
                "[warm]\njobs = 1\nlease = \"2s\"\ncallback_allow = [\"http://127.0.0.1:{}/*\"]\nsecret = \"{SECRET}\"\n",
                self.port
            ),
        )
        .unwrap();
        config
    }
}

fn wait_until(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn get_json(url: &str) -> (u16, serde_json::Value) {
    let rt = rt();
    rt.block_on(async {
        let r = client().get(url).send().await.unwrap();
        let status = r.status().as_u16();
        let body = r.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        )
    })
}

fn post_json(url: &str, body: &serde_json::Value) -> (u16, serde_json::Value, Option<String>) {
    let rt = rt();
    rt.block_on(async {
        let r = client()
            .post(url)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(body).unwrap())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        let body = r.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&body).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(&body).into_owned())
            }),
            location,
        )
    })
}

#[test]
fn warm_jobs_on_three_replicas_survive_a_killed_replica_and_call_back_once() {
    let sw = testkit::seaweed::Seaweed::start();
    sw.create_bucket("modules");
    let redis = testkit::redis::Redis::start();
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("upstream"));
    let n = 12;
    for i in 0..n {
        let m = format!("example.com/m{i:02}");
        tree.add(
            &m,
            "v1.0.0",
            T1,
            &[
                ("go.mod", &format!("module {m}\n\ngo 1.21\n")),
                ("a.go", &format!("package m{i:02}\n")),
            ],
        );
    }
    tree.add(
        "example.com/slow",
        "v1.0.0",
        T1,
        &[
            ("go.mod", "module example.com/slow\n\ngo 1.21\n"),
            ("s.go", "package slow\n"),
        ],
    );
    // The slow zip takes 6 s the first time it is asked; everything else 50 ms.
    let up = Upstream::start_with(
        &tree.root,
        Arc::new(|path: &str, n: usize| {
            if path == "/example.com/slow/@v/v1.0.0.zip" && n == 1 {
                Answer::Serve(Duration::from_secs(6))
            } else {
                Answer::Serve(Duration::from_millis(50))
            }
        }),
    );
    let receiver = Receiver::start();
    let config = receiver.settings(tmp.path());
    let env: Vec<(&str, String)> = sw.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut replicas: Vec<Server> = (0..3)
        .map(|i| {
            let dir = tmp.path().join(format!("r{i}"));
            Server::start_env(
                &[
                    "--config",
                    config.to_str().unwrap(),
                    "--data-dir",
                    dir.to_str().unwrap(),
                    "--storage",
                    "s3://modules/shared",
                    "--redis",
                    &redis.url(),
                    "--upstream",
                    &up.url,
                ],
                &env,
            )
        })
        .collect();
    let urls: Vec<String> = replicas.iter().map(Server::url).collect();
    // Ten projects: project 0 needs only the slow module (so that its replica, killed
    // while it waits for the slow zip, has nothing else in flight); project i needs
    // m(i), m(i+1), m(i+2).
    let go_mod = |p: usize| {
        let reqs: Vec<String> = if p == 0 {
            vec!["\texample.com/slow v1.0.0\n".into()]
        } else {
            (0..3)
                .map(|k| format!("\texample.com/m{:02} v1.0.0\n", (p + k) % n))
                .collect()
        };
        format!(
            "module example.com/app{p}\n\ngo 1.21\n\nrequire (\n{})\n",
            reqs.concat()
        )
    };
    let body = |p: usize| {
        serde_json::json!({
            "files": { "go.mod": go_mod(p) },
            "callback_url": receiver.url(),
        })
    };
    // The slow job first, and the replica that takes it.
    let (status, first, location) = post_json(&format!("{}/api/v1/warm", urls[1]), &body(0));
    assert_eq!(status, 202, "{first:#}");
    let slow_id = first["id"].as_str().unwrap().to_string();
    assert_eq!(
        location.as_deref(),
        Some(format!("/api/v1/jobs/{slow_id}").as_str())
    );
    let mut runner = None;
    wait_until("the slow job runs", Duration::from_secs(20), || {
        let (_, j) = get_json(&format!("{}/api/v1/jobs/{slow_id}", urls[1]));
        runner = j["replica"].as_str().map(str::to_string);
        j["state"] == "running"
    });
    let runner = runner.unwrap();
    let victim = replicas
        .iter()
        .position(|r| runner.ends_with(&format!("/{}", r.child.id())))
        .unwrap_or_else(|| panic!("no replica is {runner}"));
    // 30 jobs: each project sent to each replica (the slow one among them again).
    let mut ids = BTreeSet::new();
    for round in 0..3 {
        for p in 0..10 {
            let at = &urls[(p + round) % 3];
            if (p + round) % 3 == victim {
                // Sent to the others only: the victim is about to die.
                let at = &urls[(victim + 1) % 3];
                let (status, j, _) = post_json(&format!("{at}/api/v1/warm"), &body(p));
                assert_eq!(status, 202, "{j:#}");
                ids.insert(j["id"].as_str().unwrap().to_string());
                continue;
            }
            let (status, j, _) = post_json(&format!("{at}/api/v1/warm"), &body(p));
            assert_eq!(status, 202, "{j:#}");
            ids.insert(j["id"].as_str().unwrap().to_string());
        }
    }
    assert!(
        ids.contains(&slow_id),
        "the slow job was joined while it ran"
    );
    // The replica running the slow job is killed while it waits for the slow zip.
    wait_until("the slow zip is asked", Duration::from_secs(30), || {
        up.count("/example.com/slow/@v/v1.0.0.zip") == 1
    });
    replicas[victim].child.kill().unwrap();
    replicas[victim].child.wait().unwrap();
    let alive: Vec<usize> = (0..3).filter(|&i| i != victim).collect();
    let ask = &urls[alive[0]];
    wait_until("every job is done", Duration::from_secs(90), || {
        ids.iter().all(|id| {
            let (_, j) = get_json(&format!("{ask}/api/v1/jobs/{id}"));
            j["state"] == "done"
        })
    });
    let mut jobs = BTreeMap::new();
    for id in &ids {
        let (s0, a) = get_json(&format!("{}/api/v1/jobs/{id}", urls[alive[0]]));
        let (s1, b) = get_json(&format!("{}/api/v1/jobs/{id}", urls[alive[1]]));
        assert_eq!((s0, s1), (200, 200));
        assert_eq!(a, b, "the replicas answer the same record for {id}");
        assert_eq!(a["failed"], serde_json::json!({}), "{a:#}");
        jobs.insert(id.clone(), a);
    }
    let slow = &jobs[&slow_id];
    assert_eq!(slow["attempts"], 2, "taken over after the kill: {slow:#}");
    assert_eq!(slow["graph"], 1, "{slow:#}");
    assert_ne!(slow["replica"].as_str(), Some(runner.as_str()), "{slow:#}");
    // Every file once from upstream; the slow zip twice (the killed replica's fetch was
    // cut off).
    for (path, count) in up.counts() {
        let want = if path == "/example.com/slow/@v/v1.0.0.zip" {
            2
        } else {
            1
        };
        assert_eq!(count, want, "{path} asked of the upstream {count} times");
    }
    let zips = up
        .counts()
        .iter()
        .filter(|(p, _)| p.ends_with(".zip"))
        .count();
    // m01 to m11 (projects 1 to 9 need them) and the slow one.
    assert_eq!(zips, n);
    // Each job's callback once, signed, with the job's final record.
    wait_until("every callback", Duration::from_secs(30), || {
        receiver.got.lock().unwrap().len() >= ids.len()
    });
    std::thread::sleep(Duration::from_millis(500));
    let got = receiver.got.lock().unwrap().clone();
    let delivered: Vec<String> = got
        .iter()
        .map(|(h, _, _)| h["x-modgate-delivery"].clone())
        .collect();
    assert_eq!(
        delivered.iter().cloned().collect::<BTreeSet<_>>(),
        ids,
        "one callback per job"
    );
    assert_eq!(
        delivered.len(),
        ids.len(),
        "no callback twice: {delivered:?}"
    );
    for (h, body, _) in &got {
        assert_eq!(h[":request"], "POST /hook HTTP/1.1");
        assert_eq!(
            h["x-modgate-signature"],
            modgate::fleet::callback::signature(SECRET.as_bytes(), body)
        );
        let j: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(j["id"], h["x-modgate-delivery"].as_str());
        assert_eq!(j["state"], "done");
    }
    // The list, by state.
    let (status, list) = get_json(&format!("{ask}/api/v1/jobs?state=done&limit=1000"));
    assert_eq!(status, 200);
    let listed: BTreeSet<String> = list["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, ids);
}

/// An upstream serving `modules`, each at v1.0.0 with a go.mod and a file.
fn upstream_of(dir: &Path, modules: &[&str]) -> Upstream {
    let tree = Tree::new(dir.join("upstream"));
    for m in modules {
        tree.add(
            m,
            "v1.0.0",
            T1,
            &[
                ("go.mod", &format!("module {m}\n")),
                ("x.go", "package x\n"),
            ],
        );
    }
    Upstream::start(&tree.root)
}

fn curl(args: &[&str]) -> std::process::Output {
    run_bounded(
        std::process::Command::new("curl")
            .args(["-sS", "--max-time", "120"])
            .args(args),
        Duration::from_secs(130),
    )
}

#[test]
fn a_ci_job_fetches_one_bundle_for_its_go_sum_and_builds_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let app = project(tmp.path());
    let proxy = crate::proxy_support::GoTestProxy::start();
    // The project's go.sum, as the go command writes it.
    let dev = GoEnv::with_env(&[("GOSUMDB", KEY), ("GOFLAGS", "-mod=mod")]);
    let out = dev.go(&app, &proxy.url(), &["mod", "download", "all"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let go_sum = std::fs::read_to_string(app.join("go.sum")).unwrap();
    let server = Server::start(&[
        "--data-dir",
        tmp.path().join("data").to_str().unwrap(),
        "--upstream",
        &proxy.url(),
        "--sumdb",
        KEY,
    ]);
    let body = serde_json::json!({
        "files": {
            "go.mod": std::fs::read_to_string(app.join("go.mod")).unwrap(),
            "go.sum": go_sum,
        }
    });
    let req = tmp.path().join("request.json");
    std::fs::write(&req, serde_json::to_vec(&body).unwrap()).unwrap();
    // The first CI job asks for it by its files: made, stored, sent.
    let made = tmp.path().join("made.bundle");
    let out = curl(&[
        "-f",
        "-D",
        "-",
        "-o",
        made.to_str().unwrap(),
        "-H",
        "content-type: application/json",
        "--data-binary",
        &format!("@{}", req.display()),
        &format!("{}/api/v1/bundle", server.url()),
    ]);
    let head = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(
        out.status.success(),
        "{head}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(head.contains("content-type: application/zstd"), "{head}");
    let id = head
        .lines()
        .find_map(|l| l.strip_prefix("x-modgate-bundle: "))
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(id.len(), 64);
    // The next ones by the go.sum's hash alone (`sha256sum go.sum`), as CI caches key.
    let sum_hash = {
        use sha2::Digest;
        let d = sha2::Sha256::digest(std::fs::read(app.join("go.sum")).unwrap());
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let by_sum = tmp.path().join("by-sum.bundle");
    let out = curl(&[
        "-f",
        "-o",
        by_sum.to_str().unwrap(),
        &format!("{}/api/v1/bundles/{sum_hash}", server.url()),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(&by_sum).unwrap(),
        std::fs::read(&made).unwrap()
    );
    // A tag for people.
    let out = curl(&[
        "-f",
        "-X",
        "PUT",
        "--data-binary",
        &format!("{{\"sha256\":\"{sum_hash}\"}}"),
        &format!("{}/api/v1/bundles/tags/stable", server.url()),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tagged: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (tagged["tag"].as_str(), tagged["sha256"].as_str()),
        (Some("stable"), Some(id.as_str()))
    );
    let out = curl(&[
        "-f",
        "-o",
        "-",
        &format!("{}/api/v1/bundles/tags/stable", server.url()),
    ]);
    assert!(out.status.success());
    assert_eq!(out.stdout, std::fs::read(&made).unwrap());
    // An unknown one.
    let out = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!("{}/api/v1/bundles/{}", server.url(), "0".repeat(64)),
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "404");
    // A go.sum that disagrees with the modules: 409, naming the line.
    let bad_sum = go_sum.replacen("h1:", "h1:X", 1);
    let bad = serde_json::json!({
        "files": { "go.mod": body["files"]["go.mod"], "go.sum": bad_sum }
    });
    let (status, said, _) = post_json(&format!("{}/api/v1/bundle", server.url()), &bad);
    assert_eq!(status, 409, "{said}");
    assert!(
        said.as_str()
            .unwrap()
            .starts_with("go.sum disagrees with the checked module files (1 lines; first: "),
        "{said}"
    );
    for (line, want) in [
        ("modgate_bundles_total{result=\"made\"}", 1),
        ("modgate_bundles_total{result=\"stored\"}", 0),
        ("modgate_bundles_total{result=\"failed\"}", 1),
    ] {
        assert_eq!(metric(&server, line), want, "{line}");
    }
    drop(proxy);

    // The CI job: an empty module cache, the bundle imported, the build with no proxy.
    let ci = GoEnv::with_env(&[("GOSUMDB", KEY), ("GOFLAGS", "-mod=mod")]);
    let out = run_bounded(
        ci.command(Path::new(env!("CARGO_BIN_EXE_modgate")), &app, "off")
            .args(["bundle", "import", "--gomodcache"])
            .arg(ci.modcache())
            .arg(&by_sum),
        Duration::from_secs(120),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    crate::bundle::builds_offline(&ci, &app);
}

#[test]
fn modgate_warm_sends_the_project_waits_and_a_job_of_a_restarted_server_is_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("upstream"));
    for m in [
        "example.com/a",
        "example.com/b",
        "example.com/c",
        "example.com/slow",
    ] {
        tree.add(
            m,
            "v1.0.0",
            T1,
            &[
                ("go.mod", &format!("module {m}\n\ngo 1.21\n")),
                ("x.go", "package x\n"),
            ],
        );
    }
    let up = Upstream::start_with(
        &tree.root,
        Arc::new(|path: &str, _| {
            if path == "/example.com/slow/@v/v1.0.0.zip" {
                Answer::Serve(Duration::from_secs(20))
            } else {
                Answer::Serve(Duration::ZERO)
            }
        }),
    );
    // The project: a and b, and a directory replacement whose go.mod needs c.
    let app = tmp.path().join("app");
    let lib = tmp.path().join("lib");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::write(
        app.join("go.mod"),
        "module example.com/app\n\ngo 1.21\n\nrequire (\n\texample.com/a v1.0.0\n\texample.com/b v1.0.0\n\texample.com/lib v0.0.0\n)\n\nreplace example.com/lib => ../lib\n",
    )
    .unwrap();
    std::fs::write(
        lib.join("go.mod"),
        "module example.com/lib\n\ngo 1.21\n\nrequire example.com/c v1.0.0\n",
    )
    .unwrap();
    let ci_token = tmp.path().join("ci.token");
    std::fs::write(&ci_token, "ci-secret\n").unwrap();
    let settings = "[auth]\nanonymous = []\n\n[[auth.token]]\nname = \"ci\"\ntoken = \"ci-secret\"\nread = [\"*\"]\nwarm = true\n\n[[auth.token]]\nname = \"dev\"\ntoken = \"dev-secret\"\nread = [\"*\"]\n\n[[auth.token]]\nname = \"team\"\ntoken = \"team-secret\"\nread = [\"example.com/a\"]\nwarm = true\n";
    let server = Server::with_config(tmp.path(), settings, &up.url);
    let warm = |extra: &[&str]| {
        run_bounded(
            std::process::Command::new(env!("CARGO_BIN_EXE_modgate"))
                .arg("warm")
                .arg(&app)
                .args(["--url", &server.url()])
                .args(extra),
            Duration::from_secs(60),
        )
    };
    let out = warm(&[
        "--token-file",
        ci_token.to_str().unwrap(),
        "--wait",
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let job: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            &job["state"],
            &job["graph"],
            &job["fetched"],
            &job["stored"],
            &job["failed"]
        ),
        (
            &"done".into(),
            &3.into(),
            &3.into(),
            &0.into(),
            &serde_json::json!({})
        ),
        "{job:#}"
    );
    for m in ["a", "b", "c"] {
        assert_eq!(
            up.count(&format!("/example.com/{m}/@v/v1.0.0.zip")),
            1,
            "{m}"
        );
    }
    // Again: a new job (the first is over), everything stored already.
    let out = warm(&["--token", "ci-secret", "--wait"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.starts_with("warm job ")
            && said.contains(": done: 3 module versions in the graph (0 more go.mod files), 0 fetched, 3 already stored, 0 failed (on "),
        "{said}"
    );
    assert_ne!(
        said.split(':').next(),
        Some(format!("warm job {}", job["id"].as_str().unwrap()).as_str())
    );
    for (line, want) in [
        ("modgate_warm_jobs_total{result=\"done\"}", 2),
        ("modgate_warm_jobs_total{result=\"failed\"}", 0),
        ("modgate_warm_versions_total{result=\"fetched\"}", 3),
        ("modgate_warm_versions_total{result=\"stored\"}", 3),
        ("modgate_warm_versions_total{result=\"failed\"}", 0),
        ("modgate_warm_jobs_running", 0),
        ("modgate_warm_callbacks_total{result=\"delivered\"}", 0),
    ] {
        assert_eq!(metric(&server, line), want, "{line}");
    }
    // A token without `warm`: refused, exit 2.
    let out = warm(&["--token", "dev-secret"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "modgate warm: {}/api/v1/warm: 403 forbidden: these credentials may not read this module\n",
            server.url()
        )
    );
    // Bundles with [auth]: only for a client that may read every module they hold.
    let rt = rt();
    let ask = |method: &str, path: &str, token: &str, body: Option<serde_json::Value>| {
        rt.block_on(async {
            let url = format!("{}{path}", server.url());
            let req = match method {
                "POST" => client()
                    .post(url)
                    .body(serde_json::to_vec(&body.unwrap()).unwrap()),
                _ => client().get(url),
            };
            let r = req.bearer_auth(token).send().await.unwrap();
            let status = r.status().as_u16();
            let id = r
                .headers()
                .get("x-modgate-bundle")
                .map(|v| v.to_str().unwrap().to_string());
            (status, id, r.text().await.unwrap())
        })
    };
    let both = serde_json::json!({ "modules": ["example.com/a@v1.0.0", "example.com/b@v1.0.0"] });
    let forbidden = "forbidden: these credentials may not read every module this bundle holds\n";
    let (status, _, said) = ask("POST", "/api/v1/bundle", "team-secret", Some(both.clone()));
    assert_eq!((status, said.as_str()), (403, forbidden));
    let (status, id, _) = ask("POST", "/api/v1/bundle", "ci-secret", Some(both.clone()));
    assert_eq!(status, 200);
    let id = id.unwrap();
    let (status, _, said) = ask("GET", &format!("/api/v1/bundles/{id}"), "team-secret", None);
    assert_eq!((status, said.as_str()), (403, forbidden));
    let (status, _, _) = ask("GET", &format!("/api/v1/bundles/{id}"), "ci-secret", None);
    assert_eq!(status, 200);
    let only_a = serde_json::json!({ "modules": ["example.com/a@v1.0.0"] });
    let (status, _, _) = ask("POST", "/api/v1/bundle", "team-secret", Some(only_a));
    assert_eq!(status, 200);
    let (status, _, _) = ask("POST", "/api/v1/bundle", "dev-secret", Some(both));
    assert_eq!(status, 403, "no warm: no bundles");

    // A job running when its server (no Redis) is killed: lost, as the next run says.
    let slow = serde_json::json!({ "modules": ["example.com/slow@v1.0.0"] });
    let id = rt.block_on(async {
        let r = client()
            .post(format!("{}/api/v1/warm", server.url()))
            .bearer_auth("ci-secret")
            .body(serde_json::to_vec(&slow).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        let j: serde_json::Value = r.json_or_panic().await;
        j["id"].as_str().unwrap().to_string()
    });
    wait_until("the slow zip is asked", Duration::from_secs(20), || {
        up.count("/example.com/slow/@v/v1.0.0.zip") == 1
    });
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let again = Server::with_config(tmp.path(), settings, &up.url);
    let (status, lost) = rt.block_on(async {
        let r = client()
            .get(format!("{}/api/v1/jobs/{id}", again.url()))
            .bearer_auth("ci-secret")
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json_or_panic().await)
    });
    assert_eq!(status, 200);
    assert_eq!(
        lost,
        serde_json::json!({
            "id": id,
            "state": "lost",
            "error": "this server restarted since the job was queued, and keeps its jobs in memory (no --redis): submit it again",
        })
    );
}

/// A response's JSON body.
trait JsonOrPanic {
    async fn json_or_panic(self) -> serde_json::Value;
}

impl JsonOrPanic for reqwest::Response {
    async fn json_or_panic(self) -> serde_json::Value {
        let body = self.bytes().await.unwrap();
        serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&body)))
    }
}

#[test]
fn a_callback_its_replica_did_not_deliver_before_dying_is_delivered_by_another_once() {
    let redis = testkit::redis::Redis::start();
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("upstream"));
    tree.add(
        "example.com/a",
        "v1.0.0",
        T1,
        &[
            ("go.mod", "module example.com/a\n\ngo 1.21\n"),
            ("a.go", "package a\n"),
        ],
    );
    let up = Upstream::start(&tree.root);
    // The first two attempts are answered 503: the first replica is killed while it
    // waits to try again.
    let receiver = Receiver::refusing(2);
    let config = receiver.settings(tmp.path());
    let mut replicas: Vec<Server> = (0..2)
        .map(|i| {
            Server::start(&[
                "--config",
                config.to_str().unwrap(),
                "--data-dir",
                tmp.path().join(format!("r{i}")).to_str().unwrap(),
                "--redis",
                &redis.url(),
                "--upstream",
                &up.url,
            ])
        })
        .collect();
    let urls: Vec<String> = replicas.iter().map(Server::url).collect();
    let body = serde_json::json!({
        "modules": ["example.com/a@v1.0.0"],
        "callback_url": receiver.url(),
    });
    let (status, job, _) = post_json(&format!("{}/api/v1/warm", urls[0]), &body);
    assert_eq!(status, 202, "{job:#}");
    let id = job["id"].as_str().unwrap().to_string();
    wait_until("the first attempt", Duration::from_secs(20), || {
        !receiver.got.lock().unwrap().is_empty()
    });
    let (_, j) = get_json(&format!("{}/api/v1/jobs/{id}", urls[0]));
    let runner = j["replica"].as_str().unwrap().to_string();
    let victim = replicas
        .iter()
        .position(|r| runner.ends_with(&format!("/{}", r.child.id())))
        .unwrap();
    replicas[victim].child.kill().unwrap();
    replicas[victim].child.wait().unwrap();
    let alive = &urls[1 - victim];
    wait_until("delivered", Duration::from_secs(30), || {
        let (_, j) = get_json(&format!("{alive}/api/v1/jobs/{id}"));
        !j["callbacks"][0]["delivered"].is_null()
    });
    let (_, j) = get_json(&format!("{alive}/api/v1/jobs/{id}"));
    assert_eq!(j["state"], "done", "{j:#}");
    assert_eq!(j["attempts"], 1, "the job ran once: {j:#}");
    assert_eq!(j["replica"].as_str(), Some(runner.as_str()), "{j:#}");
    assert_eq!(j["callbacks"][0]["attempts"], 3, "{j:#}");
    assert_eq!(up.count("/example.com/a/@v/v1.0.0.zip"), 1);
    let got = receiver.got.lock().unwrap().clone();
    let statuses: Vec<u16> = got.iter().map(|g| g.2).collect();
    assert_eq!(statuses, [503, 503, 200], "one delivery");
    assert_eq!(
        (
            metric(
                &replicas[1 - victim],
                "modgate_warm_callbacks_total{result=\"refused\"}"
            ),
            metric(
                &replicas[1 - victim],
                "modgate_warm_callbacks_total{result=\"delivered\"}"
            ),
            metric(
                &replicas[1 - victim],
                "modgate_warm_jobs_total{result=\"done\"}"
            ),
        ),
        (1, 1, 0),
        "the survivor ran no job, tried twice and delivered once"
    );
    // Every attempt the same bytes, id and signature, from either replica.
    for (h, b, _) in &got {
        assert_eq!(h["x-modgate-delivery"], id);
        assert_eq!(*b, got[0].1);
        assert_eq!(
            h["x-modgate-signature"],
            modgate::fleet::callback::signature(SECRET.as_bytes(), b)
        );
    }
}

#[test]
fn old_bundles_are_removed_and_tagged_ones_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let up = upstream_of(tmp.path(), &["example.com/a", "example.com/b"]);
    let server = Server::with_config(tmp.path(), "[warm]\nbundles_keep = \"2s\"\n", &up.url);
    let bundle = |m: &str| {
        let body = serde_json::json!({ "modules": [format!("{m}@v1.0.0")] });
        let rt = rt();
        rt.block_on(async {
            let r = client()
                .post(format!("{}/api/v1/bundle", server.url()))
                .body(serde_json::to_vec(&body).unwrap())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.headers()["x-modgate-bundle"]
                .to_str()
                .unwrap()
                .to_string()
        })
    };
    let status = |path: &str| raw_get(&server.addr, "GET", path).unwrap().status;
    let (a, b) = (bundle("example.com/a"), bundle("example.com/b"));
    assert_ne!(a, b);
    let out = run_bounded(
        std::process::Command::new("curl").args([
            "-sSf",
            "-X",
            "PUT",
            "--data-binary",
            &format!("{{\"sha256\":\"{b}\"}}"),
            &format!("{}/api/v1/bundles/tags/stable", server.url()),
        ]),
        Duration::from_secs(30),
    );
    assert!(out.status.success());
    assert_eq!(status(&format!("/api/v1/bundles/{a}")), 200);
    wait_until(
        "the untagged bundle is removed",
        Duration::from_secs(20),
        || status(&format!("/api/v1/bundles/{a}")) == 404,
    );
    assert_eq!(status(&format!("/api/v1/bundles/{b}")), 200);
    assert_eq!(status("/api/v1/bundles/tags/stable"), 200);
    server.log_with(&format!(
        "bundle removed: made more than [warm] bundles_keep ago, and no tag points at it bundle={a}"
    ));
}

#[test]
fn modules_the_filter_refuses_are_neither_warmed_nor_bundled() {
    let tmp = tempfile::tempdir().unwrap();
    let up = upstream_of(tmp.path(), &["example.com/ok", "example.com/denied"]);
    let server = Server::with_config(
        tmp.path(),
        "[filter]\ndeny = [\"example.com/denied\"]\n",
        &up.url,
    );
    let body = serde_json::json!({
        "modules": ["example.com/ok@v1.0.0", "example.com/denied@v1.0.0"]
    });
    let (status, said, _) = post_json(&format!("{}/api/v1/bundle", server.url()), &body);
    assert_eq!(status, 502, "{said}");
    let said = said.as_str().unwrap().to_string();
    assert!(
        said.starts_with("1 module versions could not be fetched: example.com/denied@v1.0.0: ")
            && said.contains("[filter]"),
        "{said}"
    );
    let (status, job, _) = post_json(&format!("{}/api/v1/warm", server.url()), &body);
    assert_eq!(status, 202);
    let id = job["id"].as_str().unwrap();
    let mut j = serde_json::Value::Null;
    wait_until("the job ends", Duration::from_secs(20), || {
        j = get_json(&format!("{}/api/v1/jobs/{id}", server.url())).1;
        j["state"] == "done"
    });
    // The allowed one was fetched by the bundle request already.
    assert_eq!(
        (&j["fetched"], &j["stored"]),
        (&0.into(), &1.into()),
        "{j:#}"
    );
    let why = j["failed"]["example.com/denied@v1.0.0"].as_str().unwrap();
    assert!(why.contains("[filter]"), "{why}");
    // Nothing of it was asked of the upstream.
    assert!(
        up.counts()
            .iter()
            .all(|(p, _)| !p.starts_with("/example.com/denied/")),
        "{:?}",
        up.counts()
    );
}
