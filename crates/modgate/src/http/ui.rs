//! The dashboard at `/ui/`: a page, its style sheet and scripts, built into the binary
//! (nothing is fetched from elsewhere; it works offline). The page reads the operations
//! API (`/api/v1/status`, `samples`, `refusals`, `catalog`) and draws the plots itself
//! (`assets/plot.js`, shared with `modgate trace --html`). With `[auth]`, admins only, as
//! the API (`auth.rs`); a browser asks for a user or a token as the password (Basic).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use super::reply::{bytes, text};

/// The page's own files, by name, with their types.
const ASSETS: [(&str, &str, &str); 4] = [
    (
        "",
        "text/html; charset=utf-8",
        include_str!("../../assets/ui/index.html"),
    ),
    (
        "ui.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/ui/ui.js"),
    ),
    (
        "ui.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/ui/ui.css"),
    ),
    (
        "plot.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/plot.js"),
    ),
];

/// Only the page's own files, scripts and styles; no frames.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Answers `/ui/<asset>` (`/ui` is sent on to `/ui/`).
pub(super) fn answer(asset: &str, head: bool) -> Response {
    if asset == "/ui" {
        let mut r = text(
            StatusCode::PERMANENT_REDIRECT,
            "the dashboard is at /ui/",
            head,
        );
        r.headers_mut()
            .insert(header::LOCATION, HeaderValue::from_static("/ui/"));
        return r;
    }
    let Some((_, ctype, body)) = ASSETS.iter().find(|(name, _, _)| *name == asset) else {
        return text(
            StatusCode::NOT_FOUND,
            &format!("not found: the dashboard has no file {asset:?} (it is at /ui/)"),
            head,
        );
    };
    let mut r = bytes(
        StatusCode::OK,
        ctype,
        HeaderValue::from_static("no-cache"),
        bytes::Bytes::from_static(body.as_bytes()),
        head,
        None,
    );
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_its_files_with_their_types_and_policy() {
        let page = answer("", false);
        assert_eq!(page.status(), 200);
        assert_eq!(
            page.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert_eq!(page.headers()[header::CONTENT_SECURITY_POLICY], POLICY);
        // Every file the page names is served.
        let html = ASSETS[0].2;
        for (name, _, _) in &ASSETS[1..] {
            assert!(html.contains(&format!("\"{name}\"")), "{name}");
            assert_eq!(answer(name, true).status(), 200);
        }
        assert_eq!(answer("nope.js", false).status(), 404);
        let moved = answer("/ui", false);
        assert_eq!(moved.status(), 308);
        assert_eq!(moved.headers()[header::LOCATION], "/ui/");
    }
}
