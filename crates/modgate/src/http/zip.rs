//! Zips streamed from the store (never read whole), with ETag / If-None-Match and Range.

use super::reply::{IMMUTABLE, TEXT, build, error};
use crate::cache::ZipEntry;
use crate::error::Error;
use crate::storage::{FileSpan, Store};
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

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
    if let Some(ir) = headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok())
        && ir.trim() != etag
    {
        return Ok(None);
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

/// A stored zip, streamed from the store: ETag from its hash, If-None-Match -> 304, a
/// single Range -> 206 (unsatisfiable -> 416), HEAD without the body.
pub(super) async fn serve(
    store: &Store,
    zip: &ZipEntry,
    headers: &HeaderMap,
    head: bool,
) -> Response {
    let etag = format!("\"{}\"", zip.hash);
    let h = common(&etag);
    if none_match(headers, &etag) {
        return build(StatusCode::NOT_MODIFIED, &h, Body::empty());
    }
    // Handed to the storage itself when it gives presigned URLs (a HEAD is answered
    // here: no body to move). The URL expires: the redirect is never cached.
    if !head && zip.local.is_none() {
        match store.presign(&zip.key).await {
            Ok(Some(url)) => match axum::http::HeaderValue::from_str(&url) {
                Ok(v) => {
                    let mut r = build(
                        StatusCode::FOUND,
                        &[
                            ("cache-control", "no-store".to_string()),
                            ("content-length", "0".to_string()),
                        ],
                        Body::empty(),
                    );
                    r.headers_mut().insert(axum::http::header::LOCATION, v);
                    return r;
                }
                Err(_) => {
                    tracing::warn!(zip = %zip.key, "a presigned URL that is no header value: the zip is streamed")
                }
            },
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "presigning failed: the zip is streamed"),
        }
    }
    let Part {
        status,
        start,
        len,
        h,
    } = match part(headers, &etag, zip.size, h, head) {
        Ok(part) => part,
        Err(refused) => return *refused,
    };
    if head {
        return build(status, &h, Body::empty());
    }
    // Not stored (the storage does not answer): the checked file in staging, kept until
    // the body is done.
    if let Some(file) = &zip.local {
        return match local_span(std::sync::Arc::clone(file), start, len).await {
            Ok(span) => from_file(status, &h, span),
            Err(e) => error(&Error::internal(e.to_string()), head),
        };
    }
    // The stream (or span) holds the version in use (`Store::read_range`) until the body
    // is done or the client goes: it is not evicted while being sent.
    match store.file_span(&zip.key, start, len).await {
        Ok(Some(span)) => return from_file(status, &h, span),
        // Not kept in files (or gone: asked once more below).
        Ok(None) => {}
        Err(e) => return error(&Error::internal(e.to_string()), head),
    }
    match store.read_range(&zip.key, start, len).await {
        Ok(Some(stream)) => build(status, &h, Body::from_stream(stream)),
        Ok(None) => error(
            &Error::internal(format!(
                "{}: the zip went missing from {} while being served",
                zip.key,
                store.describe()
            )),
            head,
        ),
        Err(e) => error(&Error::internal(e.to_string()), head),
    }
}

/// A zip answered before from a file of the store (`Hot::Zip`), answered again for a GET
/// as [`serve`] answers it, without the cache: `None` when it is no longer a file of the
/// store (evicted, purged) or cannot be opened, for the caller to ask the cache.
pub(super) async fn serve_again(
    store: &Store,
    key: &crate::storage::Key,
    size: u64,
    etag: &str,
    headers: &HeaderMap,
) -> Option<Response> {
    let h = common(etag);
    if none_match(headers, etag) {
        return Some(build(StatusCode::NOT_MODIFIED, &h, Body::empty()));
    }
    let Part {
        status,
        start,
        len,
        h,
    } = match part(headers, etag, size, h, false) {
        Ok(part) => part,
        Err(refused) => return Some(*refused),
    };
    match store.file_span(key, start, len).await {
        Ok(Some(span)) => Some(from_file(status, &h, span)),
        Ok(None) | Err(_) => None,
    }
}

/// The headers of every answer about a zip whose ETag is `etag`.
fn common(etag: &str) -> Vec<(&'static str, String)> {
    vec![
        ("etag", etag.to_string()),
        ("cache-control", IMMUTABLE.to_string()),
        ("accept-ranges", "bytes".to_string()),
    ]
}

/// The part of a zip a request gets: its status, `len` bytes from `start`, and the
/// answer's headers.
struct Part {
    status: StatusCode,
    start: u64,
    len: u64,
    h: Vec<(&'static str, String)>,
}

/// The part of a `size`-byte zip a request asks for (the whole, or one range), with the
/// headers `h` completed for it; or the 416 answer to a range it does not have.
fn part(
    headers: &HeaderMap,
    etag: &str,
    size: u64,
    mut h: Vec<(&'static str, String)>,
    head: bool,
) -> Result<Part, Box<Response>> {
    h.push(("content-type", "application/zip".to_string()));
    let (status, start, len) = match range(headers, etag, size) {
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
            return Err(Box::new(build(
                StatusCode::RANGE_NOT_SATISFIABLE,
                &h,
                if head {
                    Body::empty()
                } else {
                    Body::from(body)
                },
            )));
        }
    };
    h.push(("content-length", len.to_string()));
    Ok(Part {
        status,
        start,
        len,
        h,
    })
}

/// A response whose body is a span of a local file: streamed, unless the connection
/// takes the span (as an extension) to send it straight from the file
/// (`http/sendfile.rs`).
fn from_file(status: StatusCode, h: &[(&'static str, String)], span: FileSpan) -> Response {
    let mut r = build(status, h, Body::from_stream(span.stream()));
    r.extensions_mut().insert(span);
    r
}

/// `len` bytes from `start` of a staged file; the file is kept (not removed) until the
/// span and its streams are dropped.
async fn local_span(
    file: std::sync::Arc<crate::storage::Staged>,
    start: u64,
    len: u64,
) -> std::io::Result<FileSpan> {
    let f = tokio::fs::File::open(file.path()).await?.into_std().await;
    Ok(FileSpan::new(f, start, len, file))
}
