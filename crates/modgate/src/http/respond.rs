//! Building the responses: content types, lengths, caching headers, errors, and zips
//! streamed from disk with ETag / If-None-Match and Range.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::{AppState, Request};
use crate::cache::{CacheError, Meta};
use crate::source::SourceError;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const TEXT: &str = "text/plain; charset=UTF-8";
const JSON: &str = "application/json";

fn build(status: StatusCode, headers: &[(&'static str, String)], body: Body) -> Response {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    for (k, v) in headers {
        if let Ok(v) = HeaderValue::from_str(v) {
            r.headers_mut().append(*k, v);
        }
    }
    r
}

/// A plain-text one-line answer (errors, health).
pub fn text(status: StatusCode, line: &str, head: bool) -> Response {
    let body = format!("{}\n", line.replace(['\r', '\n'], " "));
    let headers = [
        ("content-type", TEXT.to_string()),
        ("content-length", body.len().to_string()),
        ("cache-control", "no-store".to_string()),
    ];
    build(
        status,
        &headers,
        if head {
            Body::empty()
        } else {
            Body::from(body)
        },
    )
}

fn bytes(
    status: StatusCode,
    ctype: &str,
    cache: &str,
    data: Vec<u8>,
    head: bool,
    stale: Option<&str>,
) -> Response {
    let mut headers = vec![
        ("content-type", ctype.to_string()),
        ("content-length", data.len().to_string()),
        ("cache-control", cache.to_string()),
    ];
    if let Some(reason) = stale {
        headers.push(("x-modgate-stale", header_safe(reason)));
    }
    build(
        status,
        &headers,
        if head {
            Body::empty()
        } else {
            Body::from(data)
        },
    )
}

/// Printable ASCII only, at most 300 characters.
fn header_safe(s: &str) -> String {
    s.chars()
        .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
        .take(300)
        .collect()
}

fn error(e: &CacheError, head: bool) -> Response {
    let status = match e {
        CacheError::Source(
            SourceError::NotFound(_) | SourceError::Invalid(_) | SourceError::Refused(_),
        ) => StatusCode::NOT_FOUND,
        // The seam has no timeout variant: the sources say "timed out" in the message.
        CacheError::Source(SourceError::Failed(m)) if m.contains("timed out") => {
            StatusCode::GATEWAY_TIMEOUT
        }
        CacheError::Source(SourceError::Failed(_)) => StatusCode::BAD_GATEWAY,
        CacheError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
        CacheError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut msg = e.to_string();
    if status == StatusCode::NOT_FOUND && !msg.starts_with("not found") {
        msg = format!("not found: {msg}");
    }
    if status.is_server_error() {
        tracing::warn!(status = status.as_u16(), error = %msg, "upstream error");
    }
    text(status, &msg, head)
}

fn short(max_age: Duration) -> String {
    format!("public, max-age={}", max_age.as_secs())
}

fn json_of(info: &crate::source::Info) -> Vec<u8> {
    serde_json::to_vec(info).unwrap_or_default()
}

/// Answers a parsed protocol request.
pub async fn answer(state: &AppState, req: Request, headers: &HeaderMap, head: bool) -> Response {
    let short = short(state.short_max_age);
    match req {
        Request::Health => text(StatusCode::OK, "ok", head),
        Request::List { module } => match state.cache.list(&module).await {
            Ok(Meta { value, stale }) => {
                bytes(StatusCode::OK, TEXT, &short, value, head, stale.as_deref())
            }
            Err(e) => error(&e, head),
        },
        Request::Latest { module } => match state.cache.latest(&module).await {
            Ok(Meta { value, stale }) => bytes(
                StatusCode::OK,
                JSON,
                &short,
                json_of(&value),
                head,
                stale.as_deref(),
            ),
            Err(e) => error(&e, head),
        },
        Request::Info { module, query } => match state.cache.info(&module, &query).await {
            Ok(Meta { value, stale }) => {
                let cache = if value.version == query {
                    IMMUTABLE
                } else {
                    short.as_str()
                };
                bytes(
                    StatusCode::OK,
                    JSON,
                    cache,
                    json_of(&value),
                    head,
                    stale.as_deref(),
                )
            }
            Err(e) => error(&e, head),
        },
        Request::Mod { module, version } => match state.cache.go_mod(&module, &version).await {
            Ok(data) => bytes(StatusCode::OK, TEXT, IMMUTABLE, data, head, None),
            Err(e) => error(&e, head),
        },
        Request::Zip { module, version } => match state.cache.zip(&module, &version).await {
            Ok(z) => zip(&z.path, &z.hash, headers, head).await,
            Err(e) => error(&e, head),
        },
    }
}

/// `Some(true)` if `If-None-Match` matches `etag`.
fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim())
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

/// A single byte range of a `size`-byte body: `Ok(None)` for no (usable) Range header,
/// `Err(())` when unsatisfiable.
fn range(headers: &HeaderMap, etag: &str, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(v) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    if let Some(ir) = headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
        if ir.trim() != etag {
            return Ok(None);
        }
    }
    let Some(spec) = v.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        // Multiple ranges: answer with the whole body, as RFC 9110 allows.
        return Ok(None);
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let parse = |s: &str| s.parse::<u64>().ok();
    let (start, end) = if a.is_empty() {
        let Some(n) = parse(b) else { return Ok(None) };
        if n == 0 {
            return Err(());
        }
        (size.saturating_sub(n), size.saturating_sub(1))
    } else {
        let Some(start) = parse(a) else {
            return Ok(None);
        };
        let end = if b.is_empty() {
            size.saturating_sub(1)
        } else {
            match parse(b) {
                Some(e) if e >= start => e.min(size.saturating_sub(1)),
                _ => return Ok(None),
            }
        };
        (start, end)
    };
    if size == 0 || start >= size {
        return Err(());
    }
    Ok(Some((start, end)))
}

async fn zip(path: &std::path::Path, hash: &str, headers: &HeaderMap, head: bool) -> Response {
    let etag = format!("\"{hash}\"");
    let mut file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(e) => {
            return error(
                &CacheError::Internal(format!("opening {}: {e}", path.display())),
                head,
            );
        }
    };
    let size = match file.metadata().await {
        Ok(m) => m.len(),
        Err(e) => {
            return error(
                &CacheError::Internal(format!("reading {}: {e}", path.display())),
                head,
            );
        }
    };
    let mut h = vec![
        ("etag", etag.clone()),
        ("cache-control", IMMUTABLE.to_string()),
        ("accept-ranges", "bytes".to_string()),
    ];
    if none_match(headers, &etag) {
        return build(StatusCode::NOT_MODIFIED, &h, Body::empty());
    }
    h.push(("content-type", "application/zip".to_string()));
    let (status, start, len) = match range(headers, &etag, size) {
        Ok(None) => (StatusCode::OK, 0, size),
        Ok(Some((start, end))) => {
            h.push(("content-range", format!("bytes {start}-{end}/{size}")));
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        Err(()) => {
            let body = format!("range not satisfiable: the zip is {size} bytes\n");
            let h = [
                ("content-range", format!("bytes */{size}")),
                ("content-type", TEXT.to_string()),
                ("content-length", body.len().to_string()),
                ("cache-control", "no-store".to_string()),
            ];
            return build(
                StatusCode::RANGE_NOT_SATISFIABLE,
                &h,
                if head {
                    Body::empty()
                } else {
                    Body::from(body)
                },
            );
        }
    };
    h.push(("content-length", len.to_string()));
    if head {
        return build(status, &h, Body::empty());
    }
    if start > 0 {
        if let Err(e) = file.seek(std::io::SeekFrom::Start(start)).await {
            return error(
                &CacheError::Internal(format!("seeking in {}: {e}", path.display())),
                head,
            );
        }
    }
    let stream = ReaderStream::new(file.take(len));
    build(status, &h, Body::from_stream(stream))
}
