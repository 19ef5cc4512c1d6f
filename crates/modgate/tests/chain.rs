//! The GOPROXY chain: parsing as the go command parses GOPROXY, `,` and `|` over every
//! upstream fault (real `ProxySource`s against a fault-injecting loopback server), the
//! error the go command would report when every entry fails, `direct` (a recording test
//! source), `off`, and private routing: no request for a private module ever reaches an
//! upstream not marked private.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::proxy_support::{FaultServer, Outcome, Recorder, Reply, module_zip};
use modgate::error::{Error, Kind};
use modgate::source::chain::{Chain, Entry};
use modgate::source::proxy::{ProxySettings, ProxySource};
use modgate::source::{Info, Source};
use testkit::free_port;

const M: &str = "example.com/m";

fn fast() -> ProxySettings {
    ProxySettings {
        connect_timeout: Duration::from_secs(2),
        first_byte_timeout: Duration::from_millis(400),
        total_timeout: Duration::from_secs(3),
        ..ProxySettings::default()
    }
}

/// Builds a chain whose URL entries are real proxy sources and whose `direct` is `direct`.
fn chain_with(
    goproxy: &str,
    private: &str,
    private_upstreams: &[String],
    direct: &Arc<Recorder>,
) -> Result<Chain, String> {
    let direct = direct.clone();
    Chain::parse(
        goproxy,
        private,
        private_upstreams,
        &move |e: &Entry| match e {
            Entry::Direct => Ok(direct.clone() as Arc<dyn Source>),
            Entry::Url(u) => Ok(Arc::new(ProxySource::new(u, &fast())?) as Arc<dyn Source>),
            Entry::Off => Err("make called for off".into()),
        },
    )
    .map_err(|e| e.to_string())
}

fn chain(goproxy: &str, direct: &Arc<Recorder>) -> Chain {
    chain_with(goproxy, "", &[], direct).expect("chain")
}

/// The `.info` the good proxy serves, as it serves it.
fn info(version: &str) -> Info {
    Info::parse(format!(
        r#"{{"Version":"{version}","Time":"2021-03-04T05:06:07Z"}}"#
    ))
    .unwrap()
}

/// A working proxy for any module: every version is v1.0.0.
fn good(rest: &str) -> Reply {
    let Some((enc, file)) = rest
        .trim_start_matches('/')
        .split_once("/@v/")
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .or_else(|| {
            rest.trim_start_matches('/')
                .strip_suffix("/@latest")
                .map(|a| (a.to_string(), "v1.0.0.info".to_string()))
        })
    else {
        return Reply::status(404);
    };
    let Ok(path) = gomod::module::unescape_path(&enc.replace("%21", "!")) else {
        return Reply::status(404);
    };
    match file.as_str() {
        "list" => Reply::ok("v1.0.0\n"),
        "v1.0.0.info" => Reply::ok(r#"{"Version":"v1.0.0","Time":"2021-03-04T05:06:07Z"}"#),
        "v1.0.0.mod" => Reply::ok(format!("module {path}\n")),
        "v1.0.0.zip" => Reply::ok(module_zip(&path, "v1.0.0")),
        _ => Reply::status(404),
    }
}

/// Upstreams by URL prefix: /good, /404, /410, /500, /garbage, /hang, /midbody.
async fn upstreams() -> FaultServer {
    FaultServer::start(|path| {
        let mut parts = path.splitn(3, '/');
        let _ = parts.next();
        let mode = parts.next().unwrap_or("");
        let rest = format!("/{}", parts.next().unwrap_or(""));
        match mode {
            "good" => good(&rest),
            "404" => Reply::text(404, "not found: no such module"),
            "410" => Reply::text(410, "gone: no such module"),
            "500" => Reply::status(500),
            "garbage" => Reply::ok(b"PK garbage that is no .info, .mod, list or zip".to_vec()),
            "hang" => Reply::Hang,
            "midbody" => Reply::HangMidBody {
                announced: 100,
                sent: b"{".to_vec(),
            },
            _ => Reply::status(404),
        }
    })
    .await
}

#[test]
fn parses_goproxy_like_the_go_command() {
    let direct = Recorder::new("direct", Outcome::Answer);
    let made = Arc::new(Mutex::new(Vec::new()));
    let parse = |goproxy: &str| {
        let made = made.clone();
        let direct = direct.clone();
        Chain::parse(goproxy, "", &[], &move |e: &Entry| {
            made.lock().unwrap().push(e.clone());
            match e {
                Entry::Direct => Ok(direct.clone() as Arc<dyn Source>),
                Entry::Url(u) => Ok(Arc::new(ProxySource::new(u, &fast())?) as Arc<dyn Source>),
                Entry::Off => Err("make called for off".into()),
            }
        })
    };
    let entries = |c: &Chain| c.entries().cloned().collect::<Vec<_>>();
    let url = |u: &str| Entry::Url(u.to_string());

    let c = parse("a.example,b.example:8080/p|direct,https://never").unwrap();
    assert_eq!(
        entries(&c),
        vec![
            url("https://a.example"),
            url("https://b.example:8080/p"),
            Entry::Direct
        ]
    );
    assert_eq!(
        c.describe(),
        "chain https://a.example,https://b.example:8080/p|direct"
    );
    // make ran for each entry up to direct, never for what follows it.
    assert_eq!(
        *made.lock().unwrap(),
        vec![
            url("https://a.example"),
            url("https://b.example:8080/p"),
            Entry::Direct
        ]
    );

    let c = parse(" , ,http://127.0.0.1:1/x , |").unwrap();
    assert_eq!(entries(&c), vec![url("http://127.0.0.1:1/x")]);
    let c = parse("off,https://x.example").unwrap();
    assert_eq!(entries(&c), vec![Entry::Off]);
    assert_eq!(c.describe(), "chain off");
    let c = parse("https://x.example|off|direct").unwrap();
    assert_eq!(entries(&c), vec![url("https://x.example"), Entry::Off]);
    assert_eq!(c.describe(), "chain https://x.example|off");
    let c = parse("https://u:secret@x.example/p,direct").unwrap();
    assert_eq!(c.describe(), "chain https://u:xxxxx@x.example/p,direct");

    assert_eq!(
        parse(",").err().unwrap().to_string(),
        "GOPROXY list is not the empty string, but contains no entries: --upstream \",\"; name at least one upstream, for example https://proxy.golang.org,direct"
    );
    assert_eq!(
        parse("  ").err().unwrap().to_string(),
        "the upstream list (--upstream, GOPROXY syntax) is empty; set it, for example to https://proxy.golang.org,direct"
    );
    assert_eq!(
        parse("noproxy").err().unwrap().to_string(),
        "invalid proxy URL missing scheme: noproxy"
    );
    assert_eq!(
        parse("https://ok.example,/srv/proxy")
            .err()
            .unwrap()
            .to_string(),
        "invalid proxy URL missing scheme: /srv/proxy"
    );
    assert_eq!(
        parse("ftp://u:pw@x.example/").err().unwrap().to_string(),
        "invalid proxy URL scheme (must be https, http, file): ftp://u:xxxxx@x.example/"
    );
    // The source's own refusal comes through.
    assert_eq!(
        parse("http://u:pw@x.example/").err().unwrap().to_string(),
        "refusing to pass credentials to insecure URL: http://u:xxxxx@x.example/; use https"
    );
}

/// `a,b` falls through only when `a` says not found; `a|b` on any error.
#[tokio::test]
async fn comma_and_pipe_over_every_fault() {
    let srv = upstreams().await;
    let o = srv.origin.clone();
    let refused = format!("http://127.0.0.1:{}/refused", free_port());
    let direct = Recorder::new("direct", Outcome::Answer);
    // (fault, falls through after `,`, the error kind when it does not)
    let faults: Vec<(String, bool, &str)> = vec![
        (format!("{o}/404"), true, ""),
        (format!("{o}/410"), true, ""),
        (format!("{o}/500"), false, "Failed"),
        (format!("{o}/garbage"), false, "Failed"),
        (format!("{o}/hang"), false, "Timeout"),
        (format!("{o}/midbody"), false, "Timeout"),
        (refused, false, "Failed"),
    ];
    let good = format!("{o}/good");
    for (fault, not_found, kind) in &faults {
        for sep in [',', '|'] {
            let c = chain(&format!("{fault}{sep}{good}"), &direct);
            let good_before = srv
                .paths()
                .iter()
                .filter(|p| p.starts_with("/good/"))
                .count();
            let got = c.stat(M, "v1.0.0").await;
            let good_asked = srv
                .paths()
                .iter()
                .filter(|p| p.starts_with("/good/"))
                .count()
                - good_before;
            if sep == '|' || *not_found {
                assert_eq!(got, Ok(info("v1.0.0")), "{fault}{sep}good");
                assert_eq!(good_asked, 1, "{fault}{sep}good");
            } else {
                let err = got.unwrap_err();
                let got_kind = match err.clone().into_parts() {
                    (Kind::Failed, _) => "Failed",
                    (Kind::Timeout, _) => "Timeout",
                    _ => "other",
                };
                assert_eq!(got_kind, *kind, "{fault}{sep}good: {err:?}");
                assert!(err.to_string().contains(fault.as_str()), "{err}");
                assert_eq!(good_asked, 0, "{fault}{sep}good asked the next entry");
            }
        }
    }
    // The same for list, latest, go_mod and zip through `|`.
    let dir = tempfile::tempdir().unwrap();
    for (fault, _, _) in &faults {
        let c = chain(&format!("{fault}|{good}"), &direct);
        if fault.ends_with("/garbage") {
            // As a list and as a go.mod (lax parsing skips the unknown directive `PK`),
            // the go command takes the garbage: it is an answer, relayed; no fallback.
            let garbage = b"PK garbage that is no .info, .mod, list or zip".to_vec();
            assert_eq!(c.list(M).await.unwrap(), garbage);
            assert_eq!(c.go_mod(M, "v1.0.0").await.unwrap(), garbage);
        } else {
            assert_eq!(c.list(M).await.unwrap(), "v1.0.0\n");
            assert_eq!(
                c.go_mod(M, "v1.0.0").await.unwrap(),
                format!("module {M}\n").into_bytes()
            );
        }
        assert_eq!(c.latest(M).await.unwrap(), info("v1.0.0"));
        let dest = dir.path().join("z.zip");
        // A zip is relayed; its content is checked after the chain (as the go command
        // checks it after its proxy list): garbage is an answer here, no fallback.
        let zip = if fault.ends_with("/garbage") {
            b"PK garbage that is no .info, .mod, list or zip".to_vec()
        } else {
            module_zip(M, "v1.0.0")
        };
        assert_eq!(c.zip(M, "v1.0.0", &dest).await.unwrap(), zip.len() as u64);
        assert_eq!(std::fs::read(&dest).unwrap(), zip);
        std::fs::remove_file(&dest).unwrap();
    }
    assert!(direct.calls().is_empty());
}

/// When every entry fails: `direct`'s error wins, then the last proxy error that is not
/// "not found", then the last "not found" (TryProxies).
#[tokio::test]
async fn the_error_the_go_command_would_report() {
    let srv = upstreams().await;
    let o = srv.origin.clone();
    let nf = Recorder::new("direct", Outcome::NotFound);
    let failed = Recorder::new("direct", Outcome::Failed);
    let invalid = Recorder::new("direct", Outcome::Invalid);
    let msg404 = format!(
        "{M}@v1.0.0: reading {o}/404/{M}/@v/v1.0.0.info: 404 Not Found\n\tserver response: not found: no such module"
    );
    let msg410 = format!(
        "{M}@v1.0.0: reading {o}/410/{M}/@v/v1.0.0.info: 410 Gone\n\tserver response: gone: no such module"
    );
    let msg500 = format!(
        "{M}@v1.0.0: reading {o}/500/{M}/@v/v1.0.0.info: 500 Internal Server Error (the upstream failed; try again later, or add a fallback after `|` in --upstream)"
    );
    let stat = |goproxy: String, direct: &Arc<Recorder>| {
        let c = chain(&goproxy, direct);
        async move { c.stat(M, "v1.0.0").await.unwrap_err() }
    };
    assert_eq!(
        stat(format!("{o}/404,{o}/410"), &nf).await,
        Error::not_found(msg410.clone())
    );
    assert_eq!(
        stat(format!("{o}/410,{o}/404"), &nf).await,
        Error::not_found(msg404.clone())
    );
    assert_eq!(
        stat(format!("{o}/500|{o}/404"), &nf).await,
        Error::failed(msg500.clone())
    );
    assert_eq!(
        stat(format!("{o}/404,{o}/500"), &nf).await,
        Error::failed(msg500.clone())
    );
    let garbage = stat(format!("{o}/500|{o}/garbage|{o}/404"), &nf).await;
    assert!(
        matches!(garbage.clone().into_parts(), (Kind::Failed, m) if m.contains("/garbage\"")),
        "{garbage:?}"
    );
    assert_eq!(
        stat(format!("{o}/500|direct"), &nf).await,
        Error::not_found("direct: stat example.com/m v1.0.0: NotFound".to_string())
    );
    assert_eq!(
        stat(format!("{o}/404,direct"), &failed).await,
        Error::failed("direct: stat example.com/m v1.0.0: Failed".to_string())
    );
    assert_eq!(
        stat(format!("{o}/500|direct"), &invalid).await,
        Error::invalid("direct: stat example.com/m v1.0.0: Invalid".to_string())
    );
    assert_eq!(
        stat(format!("{o}/404,off"), &nf).await,
        Error::not_found(format!("{M}@v1.0.0: module lookup disabled by GOPROXY=off"))
    );
    assert_eq!(
        stat(format!("{o}/500|off"), &nf).await,
        Error::failed(msg500)
    );
}

#[tokio::test]
async fn direct_and_off() {
    let srv = upstreams().await;
    let o = srv.origin.clone();
    let direct = Recorder::new("direct", Outcome::Answer);

    let c = chain(&format!("{o}/404,direct"), &direct);
    assert_eq!(c.list(M).await.unwrap(), "v1.0.0-direct\n");
    assert_eq!(
        c.go_mod(M, "v1.0.0").await.unwrap(),
        format!("module {M} // direct\n").into_bytes()
    );
    assert_eq!(
        direct.calls(),
        vec![format!("list {M}"), format!("go_mod {M} v1.0.0")]
    );

    // Nothing after direct is asked.
    let before = srv.paths().len();
    let c = chain(&format!("direct,{o}/good"), &direct);
    assert_eq!(
        c.latest(M).await.unwrap().json,
        r#"{"Version":"v1.0.0","Time":"2020-01-02T03:04:05Z","Origin":{"by":"direct"}}"#
    );
    assert_eq!(srv.paths().len(), before);

    let c = chain("off", &direct);
    assert_eq!(
        c.list(M).await.unwrap_err(),
        Error::not_found(format!("module {M}: module lookup disabled by GOPROXY=off"))
    );
    assert_eq!(
        c.stat(M, "master").await.unwrap_err(),
        Error::not_found(format!("{M}@master: module lookup disabled by GOPROXY=off"))
    );
    let c = chain(&format!("{o}/good,off"), &direct);
    assert_eq!(c.stat(M, "v1.0.0").await.unwrap(), info("v1.0.0"));
    assert_eq!(direct.calls().len(), 3);
}

#[tokio::test]
async fn failed_zip_attempts_leave_nothing_behind() {
    let srv = upstreams().await;
    let o = srv.origin.clone();
    let direct = Recorder::new("direct", Outcome::Failed);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("z.zip");
    let c = chain(&format!("{o}/500|{o}/midbody|{o}/404,direct"), &direct);
    assert_eq!(
        c.zip(M, "v1.0.0", &dest).await.unwrap_err(),
        Error::failed(format!("direct: zip {M} v1.0.0: Failed"))
    );
    assert!(!dest.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// Whatever the chain, a private module's path never reaches an upstream that is not
/// marked private; public modules still go everywhere.
#[tokio::test]
async fn private_modules_never_reach_public_upstreams() {
    let public = FaultServer::start(good).await;
    let private = FaultServer::start(good).await;
    let pubu = public.origin.clone();
    let privu = private.origin.clone();
    let patterns = "corp.example,*.internal";
    let private_modules = [
        "corp.example/x",
        "corp.example/x/sub/v2",
        "git.internal/y/z",
    ];
    let chains = [
        pubu.clone(),
        format!("{pubu},direct"),
        format!("{pubu}|direct"),
        "direct".to_string(),
        format!("{pubu},{privu}"),
        format!("{privu},{pubu}"),
        format!("{pubu}|{privu}|direct"),
        "off".to_string(),
        format!("{pubu},off"),
        privu.clone(),
    ];
    let direct = Recorder::new("direct", Outcome::NotFound);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("z.zip");
    // The private upstream is named with a trailing slash and credentials: same upstream.
    let marked = vec![privu.replace("http://", "http://u@") + "/"];
    for goproxy in &chains {
        let c = chain_with(goproxy, patterns, &marked, &direct).unwrap();
        for m in private_modules {
            let v = if m.ends_with("/v2") {
                "v2.0.0"
            } else {
                "v1.0.0"
            };
            let results = [
                c.list(m).await.map(|_| ()),
                c.stat(m, v).await.map(|_| ()),
                c.stat(m, "main").await.map(|_| ()),
                c.latest(m).await.map(|_| ()),
                c.go_mod(m, v).await.map(|_| ()),
                c.zip(m, v, &dest).await.map(|_| ()),
            ];
            let only_public = goproxy == &pubu;
            for r in results {
                if only_public {
                    assert_eq!(
                        r,
                        Err(Error::not_found(format!(
                            "{m} is private (--private) and no private source serves it; add `direct` to --upstream or list a private upstream"
                        )))
                    );
                }
            }
        }
    }
    assert_eq!(
        public.paths(),
        Vec::<String>::new(),
        "a private module leaked"
    );
    // The private upstream was asked, direct too.
    assert!(
        private
            .paths()
            .iter()
            .any(|p| p.starts_with("/corp.example/x/@v/"))
    );
    assert!(
        direct
            .calls()
            .iter()
            .any(|c| c.contains("git.internal/y/z"))
    );

    // Public modules are asked of the public upstream as usual.
    let c = chain_with(&format!("{pubu},{privu}"), patterns, &marked, &direct).unwrap();
    assert_eq!(
        c.stat("corp.example.com/x", "v1.0.0").await.unwrap(),
        info("v1.0.0")
    );
    assert_eq!(public.paths(), vec!["/corp.example.com/x/@v/v1.0.0.info"]);
}

#[tokio::test]
async fn private_module_answered_by_the_private_upstream() {
    let public = FaultServer::start(good).await;
    let private = FaultServer::start(good).await;
    let direct = Recorder::new("direct", Outcome::Answer);
    let c = chain_with(
        &format!("{},{}", public.origin, private.origin),
        "corp.example",
        std::slice::from_ref(&private.origin),
        &direct,
    )
    .unwrap();
    assert!(c.is_private("corp.example/x"));
    assert!(!c.is_private("example.com/x"));
    assert_eq!(
        c.go_mod("corp.example/x", "v1.0.0").await.unwrap(),
        b"module corp.example/x\n"
    );
    assert_eq!(private.paths(), vec!["/corp.example/x/@v/v1.0.0.mod"]);
    assert!(public.paths().is_empty());
    assert!(direct.calls().is_empty());
}
