//! Building responses: content types, lengths, caching headers, and errors as statuses
//! with a one-line reason. A leaf: the answers (`respond`), zips (`zip`) and hot answers
//! (`hot`) all build theirs here.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::error::{Error, Kind};

pub(super) const IMMUTABLE: &str = "public, max-age=31536000, immutable";
pub(super) const TEXT: &str = "text/plain; charset=UTF-8";
pub(super) const JSON: &str = "application/json";
/// What prometheus-client writes: the OpenMetrics text format, which Prometheus reads.
pub(super) const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub(super) fn build(
    status: StatusCode,
    headers: &[(&'static str, String)],
    body: Body,
) -> Response {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    for (k, v) in headers {
        if let Ok(v) = HeaderValue::from_str(v) {
            r.headers_mut().append(*k, v);
        }
    }
    r
}

/// The reason line of an error answer, kept with the response for the dashboard's list of
/// recent refusals and errors.
#[derive(Debug, Clone)]
pub(super) struct Why(pub std::sync::Arc<str>);

/// A plain-text one-line answer (errors, health).
pub fn text(status: StatusCode, line: &str, head: bool) -> Response {
    let body = format!("{}\n", line.replace(['\r', '\n'], " "));
    let why = (status.as_u16() >= 400).then(|| Why(body.trim_end().into()));
    let headers = [
        ("content-type", TEXT.to_string()),
        ("content-length", body.len().to_string()),
        ("cache-control", "no-store".to_string()),
    ];
    let mut r = build(
        status,
        &headers,
        if head {
            Body::empty()
        } else {
            Body::from(body)
        },
    );
    if let Some(why) = why {
        r.extensions_mut().insert(why);
    }
    r
}

/// A body answer. The headers are made without formatting or copying: static values for
/// the type and caching, the length from the integer (this is the hot path of a busy
/// proxy: cached `.info`, `.mod`, lists).
pub(super) fn bytes(
    status: StatusCode,
    ctype: &'static str,
    cache: HeaderValue,
    data: impl Into<bytes::Bytes>,
    head: bool,
    stale: Option<&str>,
) -> Response {
    let data: bytes::Bytes = data.into();
    let len = data.len();
    let mut r = Response::new(if head {
        Body::empty()
    } else {
        Body::from(data)
    });
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::CACHE_CONTROL, cache);
    if let Some(reason) = stale
        && let Ok(v) = HeaderValue::from_str(&header_safe(reason))
    {
        h.insert("x-modgate-stale", v);
    }
    r
}

/// Printable ASCII only, at most 300 characters.
fn header_safe(s: &str) -> String {
    s.chars()
        .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
        .take(300)
        .collect()
}

pub(super) fn error(e: &Error, head: bool) -> Response {
    let status = match e.kind() {
        Kind::NotFound | Kind::Invalid | Kind::Refused => StatusCode::NOT_FOUND,
        Kind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        Kind::Failed => StatusCode::BAD_GATEWAY,
        Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        Kind::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
    };
    let mut msg = e.to_string();
    if status == StatusCode::NOT_FOUND && !msg.starts_with("not found") {
        msg = format!("not found: {msg}");
    }
    match e.kind() {
        Kind::Internal | Kind::StorageFull => {
            tracing::error!(status = status.as_u16(), error = %msg, "local error");
        }
        _ if status.is_server_error() => {
            tracing::warn!(status = status.as_u16(), error = %msg, "upstream error");
        }
        _ => {}
    }
    text(status, &msg, head)
}

/// `Cache-Control` of the short-lived answers (lists, `@latest`, queries).
pub(super) fn short(max_age: Duration) -> HeaderValue {
    HeaderValue::from_str(&format!("public, max-age={}", max_age.as_secs()))
        .unwrap_or(HeaderValue::from_static("no-cache"))
}

pub(super) fn immutable() -> HeaderValue {
    HeaderValue::from_static(IMMUTABLE)
}
