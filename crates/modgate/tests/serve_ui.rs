//! The dashboard at `/ui/` of a real `modgate serve`, opened in headless Chromium after
//! the go command downloaded modules through it: no script error, the modules fetched
//! are in the catalog, the hit ratio shown is the one `/metrics` counts, the refusal a
//! `[filter]` rule made is listed with its reason and client, and a screenshot has the
//! requests plot's pixels. With `[auth]`, readers get 403 and admins the page.

use std::time::Duration;

use crate::serve_common::upstream::Upstream;
use crate::serve_common::*;

const T1: &str = "2024-01-02T03:04:05Z";

/// `hits / lookups` over every `modgate_cache_lookups_total` line of `/metrics`.
fn hit_ratio(s: &Server) -> (u64, u64) {
    let m = raw_get(&s.addr, "GET", "/metrics").unwrap().text();
    let (mut hits, mut all) = (0, 0);
    for line in m
        .lines()
        .filter(|l| l.starts_with("modgate_cache_lookups_total{"))
    {
        let n: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        all += n;
        if line.contains("result=\"hit\"") {
            hits += n;
        }
    }
    (hits, all)
}

/// The text of the element with `id` in `dom`.
fn text_of(dom: &str, id: &str) -> String {
    let open = format!("id=\"{id}\"");
    let at = dom.find(&open).unwrap_or_else(|| panic!("no #{id}: {dom}"));
    let rest = &dom[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest[start..].find('<').unwrap();
    rest[start..start + end].to_string()
}

#[test]
fn the_dashboard_shows_what_the_server_did() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    let mods = [
        ("example.com/a", "v1.0.0"),
        ("example.com/b", "v1.2.0"),
        ("example.com/denied", "v1.0.0"),
    ];
    for (m, v) in mods {
        tree.add(m, v, T1, &[("x.go", "package x\n")]);
    }
    let up = Upstream::start(&tree.root);
    let s = Server::with_config(
        tmp.path(),
        "[filter]\ndeny = [\"example.com/denied\"]\n",
        &up.url,
    );
    GoEnv::new().download(&s.url(), &["example.com/a@v1.0.0", "example.com/b@v1.2.0"]);
    // Again, into another module cache: hits this time.
    GoEnv::new().download(&s.url(), &["example.com/a@v1.0.0"]);
    let denied = raw_get(&s.addr, "GET", "/example.com/denied/@v/list").unwrap();
    assert_eq!(denied.status, 403);
    // At least one second's sample is in the ring.
    std::thread::sleep(Duration::from_millis(2200));

    let before = hit_ratio(&s);
    let url = format!("{}/ui/", s.url());
    let budget = "--virtual-time-budget=10000";
    let dom = chromium(&["--dump-dom", budget], &url);
    let dom = String::from_utf8_lossy(&dom);
    assert_eq!(
        hit_ratio(&s),
        before,
        "the page's own requests looked nothing up"
    );
    assert!(dom.contains("data-ready=\"1\""), "{dom}");
    assert!(dom.contains("<div id=\"errors\"></div>"), "{dom}");
    // The hit ratio as /metrics counts it.
    let (hits, all) = before;
    assert!(hits > 0 && all > hits, "{before:?}");
    assert_eq!(
        text_of(&dom, "hit-ratio"),
        format!("{:.1}%", 100.0 * hits as f64 / all as f64)
    );
    assert_eq!(
        text_of(&dom, "hit-counts"),
        format!("{hits} hits of {all} lookups since start")
    );
    // The catalog: the two versions fetched, with links, and nothing else.
    let start = dom.find("<table id=\"catalog-table\">").unwrap();
    let catalog = &dom[start..start + dom[start..].find("</table>").unwrap()];
    assert_eq!(
        catalog.matches("<tr class=\"version\">").count(),
        2,
        "{catalog}"
    );
    for (m, v) in &mods[..2] {
        assert!(
            catalog.contains(&format!("<td>{m}</td><td>{v}</td>")),
            "{m}@{v}: {catalog}"
        );
        // Where it came from.
        assert!(
            catalog.contains(&format!("Z</td><td>{}/</td>", up.url)),
            "{catalog}"
        );
        assert!(
            catalog.contains(&format!("<a href=\"../{m}/@v/{v}.info\">.info</a>")),
            "{catalog}"
        );
    }
    // The refusal, with its reason and client.
    assert!(
        dom.contains("<td>example.com/denied</td><td>forbidden: example.com/denied"),
        "{dom}"
    );
    assert!(
        dom.contains("<td class=\"num\">403</td><td>anonymous</td>"),
        "{dom}"
    );
    // The page asks for nothing it does not serve (no favicon).
    assert_eq!(dom.matches("<tr class=\"refusal\">").count(), 1, "{dom}");
    // The upstream, healthy.
    assert!(
        dom.contains(&format!(
            "<td>{}/</td><td>proxy</td><td class=\"state-ok\">healthy</td>",
            up.url
        )),
        "{dom}"
    );
    // Four plots, each an SVG drawn by the page.
    assert_eq!(dom.matches("<svg").count(), 4, "{dom}");

    // The requests plot's line, in a screenshot.
    let shot = tmp.path().join("ui.png");
    chromium(
        &[
            "--hide-scrollbars",
            "--window-size=1300,1000",
            budget,
            &format!("--screenshot={}", shot.display()),
        ],
        &url,
    );
    if let Ok(keep) = std::env::var("MODGATE_KEEP_SHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
    let line = pixels_of(&shot, [0x2a, 0x9d, 0x8f]);
    assert!(line >= 40, "{line} pixels of the requests line");
}

#[test]
fn with_auth_only_admins_see_the_dashboard() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    let up = Upstream::start(&tree.root);
    let s = Server::with_config(
        tmp.path(),
        "[auth]\nanonymous = [\"*\"]\n[[auth.token]]\nname = \"ops\"\ntoken = \"ops-secret\"\nadmin = true\n[[auth.token]]\nname = \"ci\"\ntoken = \"ci-secret\"\nread = [\"*\"]\n",
        &up.url,
    );
    let get = |path: &str, auth: &str| {
        raw_request(
            &s.addr,
            format!("GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n").as_bytes(),
        )
        .unwrap()
    };
    let none = get("/ui/", "");
    assert_eq!(none.status, 401);
    assert!(
        none.header("www-authenticate")
            .is_some_and(|v| v.starts_with("Basic"))
    );
    assert_eq!(
        get("/ui/", "Authorization: Bearer ci-secret\r\n").status,
        403
    );
    let page = get("/ui/", "Authorization: Bearer ops-secret\r\n");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(
        page.text()
            .contains("<script src=\"ui.js\" defer></script>")
    );
    // A browser's Basic credentials, a token as the password.
    let basic = format!(
        "Authorization: Basic {}\r\n",
        base64_encode(b"ops:ops-secret")
    );
    assert_eq!(get("/ui/plot.js", &basic).status, 200);
    assert_eq!(get("/api/v1/samples", &basic).status, 200);
    let moved = get("/ui", "Authorization: Bearer ops-secret\r\n");
    assert_eq!(
        (moved.status, moved.header("location")),
        (308, Some("/ui/"))
    );
}

fn base64_encode(b: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
