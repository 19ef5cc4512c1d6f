//! `[auth]` of `modgate serve` with the real go command: tokens and an htpasswd user
//! through `.netrc`, public modules for anonymous clients, 401 and 403 as the go command
//! reports them; and, over raw HTTP, 401/403 answers that are the same bytes for a cached
//! private module and one that does not exist, and never name it.
//!
//! The go command sends `.netrc` credentials only over https (go 1.23
//! cmd/go/internal/web/http.go:189, `if url.Scheme == "https" { auth.AddCredentials(req) }`)
//! and matches the `machine` against the request's host with its port
//! (cmd/go/internal/auth/auth.go:13-21 reads `req.Host`, which net/http sets to the URL's
//! host:port), so the go command reaches modgate through a TLS front here, as a site
//! would put modgate behind one, and through modgate's own `--tls-cert` in the last test
//! (routes' `read` lists, `[auth]` reloaded by SIGHUP, the request limit by client name).

use std::path::{Path, PathBuf};

use crate::serve_common::*;

const T1: &str = "2024-01-02T03:04:05Z";
const PUB: &str = "example.com/pub";
const SECRET: &str = "corp.example.com/secret";

/// An HTTPS front on 127.0.0.1 relaying every connection to `backend` (plain HTTP), with
/// a certificate for 127.0.0.1 signed by the CA whose PEM is `ca`; stops when dropped.
struct TlsFront {
    origin: String,
    ca: PathBuf,
    _rt: tokio::runtime::Runtime,
}

impl TlsFront {
    fn start(backend: &str, dir: &Path) -> TlsFront {
        let pki = pki(dir);
        let config = modgate::http::tls::server_config(&modgate::config::TlsFiles {
            cert: pki.cert,
            key: pki.key,
        })
        .unwrap();
        let ca = pki.ca_pem;
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let origin = format!(
            "https://127.0.0.1:{}",
            listener.local_addr().unwrap().port()
        );
        let backend = backend.to_string();
        rt.spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let (acceptor, backend) = (acceptor.clone(), backend.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(conn).await else {
                        return;
                    };
                    let Ok(mut plain) = tokio::net::TcpStream::connect(&backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        TlsFront {
            origin,
            ca,
            _rt: rt,
        }
    }

    /// `host:port`, the go command's `.netrc` machine for this front.
    fn host_port(&self) -> &str {
        self.origin.strip_prefix("https://").unwrap()
    }
}

struct Setup {
    _tmp: tempfile::TempDir,
    server: Server,
    front: TlsFront,
    pub_sums: Sums,
    secret_sums: Sums,
    dir: PathBuf,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let tree = Tree::new(dir.join("up"));
    let pub_sums = tree.add(PUB, "v1.0.0", T1, &[("p.go", "package pub\n")]);
    let secret_sums = tree.add(SECRET, "v1.0.0", T1, &[("s.go", "package secret\n")]);
    let htpasswd = dir.join("htpasswd");
    // What `htpasswd -B -C 4` writes.
    let alice = bcrypt::hash_with_result("alice-pw", 4)
        .unwrap()
        .format_for_version(bcrypt::Version::TwoY);
    std::fs::write(&htpasswd, format!("alice:{alice}\n")).unwrap();
    let config = dir.join("modgate.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[auth]
anonymous = ["example.com/*"]
htpasswd = "{}"

[[auth.token]]
name = "ci-all"
token = "tok-all"
read = ["*"]

[[auth.token]]
name = "ci-pub"
token = "tok-pub"
read = ["example.com/*"]

[[auth.user]]
name = "alice"
read = ["corp.example.com/*"]
"#,
            htpasswd.display()
        ),
    )
    .unwrap();
    let data = dir.join("data");
    let server = Server::start(&[
        "--config",
        config.to_str().unwrap(),
        "--upstream",
        &tree.url(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    let front = TlsFront::start(&server.addr, &dir);
    Setup {
        _tmp: tmp,
        server,
        front,
        pub_sums,
        secret_sums,
        dir,
    }
}

/// What `go mod download -json MODS` gives, success or not: each module's JSON object.
fn download(go: &GoEnv, proxy: &str, mods: &[&str]) -> Vec<serde_json::Value> {
    let cwd = go.dir.path().join("work");
    std::fs::create_dir_all(&cwd).unwrap();
    let mut args = vec!["mod", "download", "-json"];
    args.extend_from_slice(mods);
    let out = go.go(&cwd, proxy, &args);
    let objects: Vec<serde_json::Value> = serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<serde_json::Value>()
        .map(|v| v.unwrap())
        .collect();
    assert_eq!(
        objects.len(),
        mods.len(),
        "go mod download -json {mods:?}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    objects
}

impl Setup {
    /// A go command whose `.netrc` holds `netrc` (None: no `.netrc`), trusting the front.
    fn go(&self, name: &str, netrc: Option<&str>) -> GoEnv {
        let path = self.dir.join(format!("{name}.netrc"));
        if let Some(text) = netrc {
            std::fs::write(&path, text).unwrap();
        }
        GoEnv::with_env(&[
            ("NETRC", path.to_str().unwrap()),
            ("SSL_CERT_FILE", self.front.ca.to_str().unwrap()),
        ])
    }

    /// `.netrc` text for this front (the machine with its port, as the go command needs).
    fn netrc(&self, login: &str, password: &str) -> String {
        format!(
            "machine {} login {login} password {password}\n",
            self.front.host_port()
        )
    }

    fn ok(&self, v: &serde_json::Value, module: &str, sums: &Sums) {
        assert_eq!(
            (
                v["Path"].as_str(),
                v["Version"].as_str(),
                v["Sum"].as_str(),
                v["GoModSum"].as_str(),
                v["Error"].as_str()
            ),
            (
                Some(module),
                Some("v1.0.0"),
                Some(sums.zip_h1.as_str()),
                Some(sums.mod_h1.as_str()),
                None
            ),
            "{v}"
        );
    }

    /// The go command's error for `module`: it names the status and quotes our body.
    fn refused(&self, v: &serde_json::Value, module: &str, status: &str, body: &str) {
        let err = v["Error"].as_str().unwrap_or_default();
        let want = format!(
            "{module}@v1.0.0: reading {}/{module}/@v/v1.0.0.info: {status}\n\tserver response: {body}",
            self.front.origin
        );
        assert_eq!(err, want, "{v}");
    }
}

const UNAUTHORIZED: &str = "unauthorized: credentials are needed (a token, or a user's password) and none were given or they are not valid";
const FORBIDDEN: &str = "forbidden: these credentials may not read this module";

#[test]
fn the_go_command_with_netrc_tokens_and_an_htpasswd_user() {
    let s = setup();
    let proxy = s.front.origin.clone();
    let both = [
        &format!("{PUB}@v1.0.0")[..],
        &format!("{SECRET}@v1.0.0")[..],
    ];

    // The token that reads everything, as the go command's `.netrc` password.
    let got = download(&s.go("all", Some(&s.netrc("x", "tok-all"))), &proxy, &both);
    s.ok(&got[0], PUB, &s.pub_sums);
    s.ok(&got[1], SECRET, &s.secret_sums);

    // The public token: the public module, and a 403 for the private one.
    let got = download(&s.go("pub", Some(&s.netrc("x", "tok-pub"))), &proxy, &both);
    s.ok(&got[0], PUB, &s.pub_sums);
    s.refused(&got[1], SECRET, "403 Forbidden", FORBIDDEN);

    // No `.netrc`: anonymous clients read the public module only; 401 for the other.
    let got = download(&s.go("none", None), &proxy, &both);
    s.ok(&got[0], PUB, &s.pub_sums);
    s.refused(&got[1], SECRET, "401 Unauthorized", UNAUTHORIZED);

    // A wrong password: 401 for both, not an anonymous fallback.
    let got = download(
        &s.go("wrong", Some(&s.netrc("x", "tok-nope"))),
        &proxy,
        &both,
    );
    s.refused(&got[0], PUB, "401 Unauthorized", UNAUTHORIZED);
    s.refused(&got[1], SECRET, "401 Unauthorized", UNAUTHORIZED);

    // The htpasswd user, and the same user with another's password.
    let got = download(
        &s.go("alice", Some(&s.netrc("alice", "alice-pw"))),
        &proxy,
        &both,
    );
    s.ok(&got[0], PUB, &s.pub_sums);
    s.ok(&got[1], SECRET, &s.secret_sums);
    let got = download(
        &s.go("alice-wrong", Some(&s.netrc("alice", "tok-pub-not"))),
        &proxy,
        &[both[1]],
    );
    s.refused(&got[0], SECRET, "401 Unauthorized", UNAUTHORIZED);

    // A `.netrc` machine without the port is not used by go 1.23: no credentials, 401.
    let got = download(
        &s.go(
            "noport",
            Some("machine 127.0.0.1 login x password tok-all\n"),
        ),
        &proxy,
        &[both[1]],
    );
    s.refused(&got[0], SECRET, "401 Unauthorized", UNAUTHORIZED);

    // Over plain http the go command sends no credentials at all: not those of `.netrc`
    // (cmd/go/internal/web/http.go:189), and it refuses a GOPROXY URL carrying them
    // (http.go:282-286, DefaultSecurity for proxies: modfetch/proxy.go:282).
    let plain = s.server.url();
    let got = download(
        &s.go(
            "plain-netrc",
            Some(&format!(
                "machine {} login x password tok-all\n",
                s.server.addr
            )),
        ),
        &plain,
        &[both[1]],
    );
    assert_eq!(
        got[0]["Error"].as_str().unwrap_or_default(),
        format!(
            "{SECRET}@v1.0.0: reading {plain}/{SECRET}/@v/v1.0.0.info: 401 Unauthorized\n\tserver response: {UNAUTHORIZED}"
        )
    );
    let got = download(
        &s.go("plain-url", None),
        &format!("http://x:tok-all@{}", s.server.addr),
        &[both[1]],
    );
    assert_eq!(
        got[0]["Error"].as_str().unwrap_or_default(),
        format!(
            "{SECRET}@v1.0.0: refusing to pass credentials to insecure URL: http://x:xxxxx@{}/{SECRET}/@v/v1.0.0.info",
            s.server.addr
        )
    );

    // The request log names the client, never a secret.
    let log = s.server.log_with("client=alice");
    for client in [
        "client=ci-all",
        "client=ci-pub",
        "client=anonymous",
        "client=refused",
        "client=alice",
    ] {
        assert!(log.contains(client), "{client} not in the log:\n{log}");
    }
    for secret in ["tok-all", "tok-pub", "alice-pw", "tok-nope"] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}

/// `METHOD PATH` with an `Authorization` header (or none), straight to modgate.
fn ask(addr: &str, method: &str, path: &str, auth: Option<&str>) -> Raw {
    let auth = auth.map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
    raw_request(
        addr,
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n")
            .as_bytes(),
    )
    .unwrap()
}

/// The status, headers (but the request id and date) and body of an answer.
fn shape(r: &Raw) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut h: Vec<(String, String)> = r
        .headers
        .iter()
        .filter(|(k, _)| k != "x-request-id" && k != "date")
        .cloned()
        .collect();
    h.sort();
    (r.status, h, r.body.clone())
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[test]
fn refusals_are_the_same_bytes_for_any_module_and_name_none() {
    let s = setup();
    let addr = s.server.addr.as_str();
    let all = Some("Bearer tok-all");
    let ends = [
        "@v/list",
        "@v/v1.0.0.info",
        "@v/v1.0.0.mod",
        "@v/v1.0.0.zip",
        "@latest",
    ];
    // The private module cached (stored, and its .info/.mod among the hot answers).
    for _ in 0..2 {
        for end in ends {
            let r = ask(addr, "GET", &format!("/{SECRET}/{end}"), all);
            assert_eq!(r.status, 200, "{end}: {}", r.text());
        }
    }
    let alice = basic("alice", "alice-pw");
    let alice_wrong = basic("alice", "not-alice-pw");
    let token_wrong = basic("x", "tok-nope");
    for end in ends {
        let (cached, missing) = (
            format!("/{SECRET}/{end}"),
            format!("/corp.example.com/nothere/{end}"),
        );
        // Those allowed: the cached one answers, the missing one is a 404.
        assert_eq!(ask(addr, "GET", &cached, Some(&alice)).status, 200);
        assert_eq!(ask(addr, "GET", &missing, all).status, 404);
        for (cred, status) in [
            (None, 401),
            (Some("Bearer tok-nope"), 401),
            (Some(token_wrong.as_str()), 401),
            (Some(alice_wrong.as_str()), 401),
            (Some("Digest username=\"alice\""), 401),
            (Some("Bearer tok-pub"), 403),
        ] {
            for method in ["GET", "HEAD"] {
                let a = ask(addr, method, &cached, cred);
                let b = ask(addr, method, &missing, cred);
                assert_eq!(a.status, status, "{method} {cached} {cred:?}: {}", a.text());
                assert_eq!(shape(&a), shape(&b), "{method} {end} {cred:?}");
                let whole = format!("{:?} {}", a.headers, a.text());
                for leak in ["secret", "corp.example.com", "nothere"] {
                    assert!(!whole.contains(leak), "{leak} in {whole}");
                }
                let (want_body, www) = if status == 401 {
                    (UNAUTHORIZED, Some("Basic realm=\"modgate\""))
                } else {
                    (FORBIDDEN, None)
                };
                assert_eq!(a.header("www-authenticate"), www);
                assert_eq!(a.header("cache-control"), Some("no-store"));
                if method == "GET" {
                    assert_eq!(a.text(), format!("{want_body}\n"));
                } else {
                    assert_eq!(a.body, b"");
                }
            }
        }
        // Every 401 is the same bytes, whatever was wrong.
        assert_eq!(
            shape(&ask(addr, "GET", &cached, None)),
            shape(&ask(addr, "GET", &missing, Some(&alice_wrong)))
        );
    }
    // Health and readiness answer anyone, even with wrong credentials; the public module
    // and the checksum database path (here off: a 404) are for anonymous clients too.
    for cred in [None, Some("Bearer tok-nope")] {
        assert_eq!(ask(addr, "GET", "/healthz", cred).text(), "ok\n");
        assert_eq!(ask(addr, "GET", "/readyz", cred).status, 200);
    }
    assert_eq!(
        ask(addr, "GET", &format!("/{PUB}/@v/list"), None).text(),
        "v1.0.0\n"
    );
    assert_eq!(
        ask(addr, "GET", "/sumdb/sum.golang.org/supported", None).status,
        404
    );
}

#[test]
fn a_bad_htpasswd_file_stops_the_start() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, htpasswd) = (tmp.path().join("modgate.toml"), tmp.path().join("htpasswd"));
    std::fs::write(
        &config,
        format!("[auth]\nhtpasswd = \"{}\"\n", htpasswd.display()),
    )
    .unwrap();
    let start = || {
        let out = run_bounded(
            std::process::Command::new(env!("CARGO_BIN_EXE_modgate"))
                .args(["serve", "--sumdb", "off", "--listen", "127.0.0.1:0"])
                .arg("--config")
                .arg(&config)
                .arg("--data-dir")
                .arg(tmp.path().join("data"))
                .env_remove("MODGATE_CONFIG"),
            std::time::Duration::from_secs(30),
        );
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = start();
    assert!(
        err.contains(&format!(
            "{}: reading htpasswd file {}: No such file or directory",
            config.display(),
            htpasswd.display()
        )),
        "{err}"
    );
    std::fs::write(&htpasswd, "bob:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/\n").unwrap();
    let err = start();
    assert!(
        err.contains(&format!(
            "htpasswd file {}:1: user \"bob\": an MD5 ($apr1$) hash; modgate accepts bcrypt hashes only ($2y$, $2b$, $2a$): regenerate it with `htpasswd -B {} bob`",
            htpasswd.display(),
            htpasswd.display()
        )),
        "{err}"
    );
    assert!(!err.contains("HqJZ"), "{err}");
}

const TEAM: &str = "corp.example.com/team";

/// GET `path` over HTTPS trusting `ca_pem`, with a Bearer token: status, Retry-After, body.
fn https_get(
    rt: &tokio::runtime::Runtime,
    client: &reqwest::Client,
    base: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, Option<String>, String) {
    rt.block_on(async {
        let mut req = client.get(format!("{base}{path}"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let retry = resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        (resp.status().as_u16(), retry, resp.text().await.unwrap())
    })
}

/// modgate's own HTTPS (`--tls-cert`/`--tls-key`) with the go command's `.netrc`; a
/// route's `read` list decides alone who reads its modules; a SIGHUP reload reads `[auth]`
/// again; the per-client request limit counts each token by its name, not by the address
/// all of them share.
#[test]
fn routes_decide_a_reload_reads_auth_and_the_limit_counts_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let tree = Tree::new(dir.join("up"));
    let team_sums = tree.add(TEAM, "v1.0.0", T1, &[("t.go", "package team\n")]);
    let secret_sums = tree.add(SECRET, "v1.0.0", T1, &[("s.go", "package secret\n")]);
    let pki = pki(dir);
    let config = dir.join("modgate.toml");
    let write = |extra: &str| {
        std::fs::write(
            &config,
            format!(
                r#"
[auth]
[[auth.token]]
name = "ci-all"
token = "tok-all"
read = ["*"]
[[auth.token]]
name = "ci-team"
token = "tok-team"
{extra}
[[routes]]
pattern = "{TEAM}"
upstream = "{up}"
read = ["ci-team"]
"#,
                up = tree.url()
            ),
        )
        .unwrap()
    };
    write("");
    let data = dir.join("data");
    let server = Server::start_https(
        &[
            "--config",
            config.to_str().unwrap(),
            "--upstream",
            &tree.url(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &pki,
    );
    let origin = format!("https://{}", server.addr);
    let go = |name: &str, token: &str| {
        let netrc = dir.join(format!("{name}.netrc"));
        std::fs::write(
            &netrc,
            format!("machine {} login x password {token}\n", server.addr),
        )
        .unwrap();
        GoEnv::with_env(&[
            ("NETRC", netrc.to_str().unwrap()),
            ("SSL_CERT_FILE", pki.ca_pem.to_str().unwrap()),
        ])
    };
    let ok = |v: &serde_json::Value, module: &str, sums: &Sums| {
        assert_eq!(
            (v["Path"].as_str(), v["Sum"].as_str(), v["Error"].as_str()),
            (Some(module), Some(sums.zip_h1.as_str()), None),
            "{v}"
        );
    };
    let forbidden = |v: &serde_json::Value, module: &str| {
        assert_eq!(
            v["Error"].as_str().unwrap_or_default(),
            format!(
                "{module}@v1.0.0: reading {origin}/{module}/@v/v1.0.0.info: 403 Forbidden\n\tserver response: {FORBIDDEN}"
            ),
            "{v}"
        );
    };
    let both = [
        &format!("{TEAM}@v1.0.0")[..],
        &format!("{SECRET}@v1.0.0")[..],
    ];
    // The route gives the team's module to ci-team alone, though ci-all reads "*" and
    // ci-team's own patterns are none.
    let got = download(&go("team", "tok-team"), &origin, &both);
    ok(&got[0], TEAM, &team_sums);
    forbidden(&got[1], SECRET);
    let got = download(&go("all", "tok-all"), &origin, &both);
    forbidden(&got[0], TEAM);
    ok(&got[1], SECRET, &secret_sums);

    // A new token and a request limit, by a reload.
    write(
        "[[auth.token]]\nname = \"ci-new\"\ntoken = \"tok-new\"\nread = [\"*\"]\n[limits]\nclient_requests_per_second = 1\nclient_burst = 3\n",
    );
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&server.child),
        rustix::process::Signal::HUP,
    )
    .unwrap();
    let log = server.log_with("settings reloaded");
    assert!(
        log.contains("auth on: anonymous clients read nothing; 3 token(s), 0 htpasswd user(s)"),
        "{log}"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([
            reqwest::Certificate::from_pem(&std::fs::read(&pki.ca_pem).unwrap()).unwrap(),
        ])
        .build()
        .unwrap();
    let get = |path: &str, token: Option<&str>| https_get(&rt, &client, &origin, path, token);
    let list = format!("/{SECRET}/@v/list");
    // The new token reads; three requests of the burst, then 429 with Retry-After.
    for _ in 0..3 {
        assert_eq!(get(&list, Some("tok-new")), (200, None, "v1.0.0\n".into()));
    }
    let (status, retry, body) = get(&list, Some("tok-new"));
    assert_eq!((status, retry.as_deref()), (429, Some("1")), "{body}");
    // Another token from the same address has its own count.
    let team_list = format!("/{TEAM}/@v/list");
    assert_eq!(
        get(&team_list, Some("tok-team")),
        (200, None, "v1.0.0\n".into())
    );
    // No credentials: 401 before any count.
    assert_eq!(get(&list, None).0, 401);
    let log = server.log_with("client over its request limit");
    assert!(log.contains("client=ci-new"), "{log}");
}
