//! Building the responses: content types, lengths, caching headers, errors.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use super::{AppState, Request};
use crate::cache::{CacheError, Meta};
use crate::source::SourceError;

pub(super) const IMMUTABLE: &str = "public, max-age=31536000, immutable";
pub(super) const TEXT: &str = "text/plain; charset=UTF-8";
const JSON: &str = "application/json";

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

/// A body answer. The headers are made without formatting or copying: static values for
/// the type and caching, the length from the integer (this is the hot path of a busy
/// proxy: cached `.info`, `.mod`, lists).
fn bytes(
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

pub(super) fn error(e: &CacheError, head: bool) -> Response {
    let status = match e {
        CacheError::Source(
            SourceError::NotFound(_) | SourceError::Invalid(_) | SourceError::Refused(_),
        ) => StatusCode::NOT_FOUND,
        CacheError::Source(SourceError::Timeout(_)) => StatusCode::GATEWAY_TIMEOUT,
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

/// `Cache-Control` of the short-lived answers (lists, `@latest`, queries).
fn short(max_age: Duration) -> HeaderValue {
    HeaderValue::from_str(&format!("public, max-age={}", max_age.as_secs()))
        .unwrap_or(HeaderValue::from_static("no-cache"))
}

fn immutable() -> HeaderValue {
    HeaderValue::from_static(IMMUTABLE)
}

/// Answers `/sumdb/<path>`.
async fn sumdb(state: &AppState, path: &str, head: bool) -> Response {
    let Some(db) = &state.sumdb else {
        return text(
            StatusCode::NOT_FOUND,
            "not found: this modgate proxies no checksum database (--sumdb off)",
            head,
        );
    };
    let Some(rel) = path
        .strip_prefix(db.name())
        .and_then(|r| r.strip_prefix('/'))
    else {
        return text(
            StatusCode::NOT_FOUND,
            &format!(
                "not found: this modgate proxies the checksum database {}, not /sumdb/{path}",
                db.name()
            ),
            head,
        );
    };
    match db.answer_shared(rel).await {
        Ok(a) => {
            let cache = if a.immutable {
                immutable()
            } else {
                short(state.short_max_age)
            };
            let ctype = if rel.starts_with("tile/") {
                "application/octet-stream"
            } else {
                TEXT
            };
            bytes(
                StatusCode::OK,
                ctype,
                cache,
                a.body,
                head,
                a.stale.as_deref(),
            )
        }
        Err(e) => error(&e, head),
    }
}

/// Answers by the request path that got them, so that a hot one is answered without
/// parsing the path, building the store's file name or consulting the cache: immutable
/// ones (the `.info` of a canonical version, `.mod`) for good, fresh short-lived ones
/// (`@v/list`, `@latest`) until the cache's lifetime for them ends. Bounded by bytes; the
/// bodies are shared with the cache's memory, not copied.
pub(super) struct HotAnswers(quick_cache::sync::Cache<String, HotAnswer, HotWeight>);

/// One answer to give again.
#[derive(Clone)]
pub(super) struct HotAnswer {
    ctype: &'static str,
    cache: HeaderValue,
    body: bytes::Bytes,
    /// When a short-lived answer stops being fresh.
    until: Option<std::time::Instant>,
}

#[derive(Clone)]
pub(super) struct HotWeight;

impl quick_cache::Weighter<String, HotAnswer> for HotWeight {
    fn weight(&self, key: &String, val: &HotAnswer) -> u64 {
        (key.len() + val.body.len() + 64) as u64
    }
}

/// How much the hot answers may hold.
const HOT_ANSWER_BYTES: u64 = 16 << 20;

impl HotAnswers {
    pub(super) fn new() -> HotAnswers {
        HotAnswers(quick_cache::sync::Cache::with_weighter(
            16_384,
            HOT_ANSWER_BYTES,
            HotWeight,
        ))
    }

    pub(super) fn get(&self, path: &str) -> Option<HotAnswer> {
        let a = self.0.get(path)?;
        if a.until.is_some_and(|t| t <= std::time::Instant::now()) {
            self.0.remove(path);
            return None;
        }
        Some(a)
    }

    fn remember(
        &self,
        path: &str,
        ctype: &'static str,
        cache: HeaderValue,
        body: &bytes::Bytes,
        until: Option<std::time::Instant>,
    ) {
        self.0.insert(
            path.to_string(),
            HotAnswer {
                ctype,
                cache,
                body: body.clone(),
                until,
            },
        );
    }

    /// A fresh short-lived answer, until it is no longer fresh (stale ones never).
    fn remember_fresh<T>(
        &self,
        path: &str,
        ctype: &'static str,
        cache: &HeaderValue,
        body: &bytes::Bytes,
        meta: &Meta<T>,
    ) {
        if let (None, Some(until)) = (&meta.stale, meta.fresh_until) {
            self.remember(path, ctype, cache.clone(), body, Some(until));
        }
    }
}

impl HotAnswer {
    pub(super) fn respond(self, head: bool) -> Response {
        bytes(
            StatusCode::OK,
            self.ctype,
            self.cache,
            self.body,
            head,
            None,
        )
    }
}

/// Answers a parsed protocol request; immutable and fresh short-lived answers are
/// remembered in `hot` under the request's raw path.
pub async fn answer(
    state: &AppState,
    req: Request,
    headers: &HeaderMap,
    head: bool,
    (hot, raw): (&HotAnswers, &str),
) -> Response {
    let short = || short(state.short_max_age);
    match req {
        Request::Health => text(StatusCode::OK, "ok", head),
        Request::Sumdb { path } => sumdb(state, &path, head).await,
        Request::List { module } => match state.cache.list(&module).await {
            Ok(meta) => {
                let cache = short();
                hot.remember_fresh(raw, TEXT, &cache, &meta.value, &meta);
                bytes(
                    StatusCode::OK,
                    TEXT,
                    cache,
                    meta.value,
                    head,
                    meta.stale.as_deref(),
                )
            }
            Err(e) => error(&e, head),
        },
        Request::Latest { module } => match state.cache.latest(&module).await {
            Ok(meta) => {
                let cache = short();
                hot.remember_fresh(raw, JSON, &cache, &meta.value.json, &meta);
                bytes(
                    StatusCode::OK,
                    JSON,
                    cache,
                    meta.value.json,
                    head,
                    meta.stale.as_deref(),
                )
            }
            Err(e) => error(&e, head),
        },
        Request::Info { module, query } => match state.cache.info(&module, &query).await {
            Ok(Meta { value, stale, .. }) => {
                let cache = if gomod::module::is_canonical(&query) {
                    hot.remember(raw, JSON, immutable(), &value.json, None);
                    immutable()
                } else {
                    short()
                };
                bytes(
                    StatusCode::OK,
                    JSON,
                    cache,
                    value.json,
                    head,
                    stale.as_deref(),
                )
            }
            Err(e) => error(&e, head),
        },
        Request::Mod { module, version } => match state.cache.go_mod(&module, &version).await {
            Ok(data) => {
                hot.remember(raw, TEXT, immutable(), &data, None);
                bytes(StatusCode::OK, TEXT, immutable(), data, head, None)
            }
            Err(e) => error(&e, head),
        },
        Request::Zip { module, version } => match state.cache.zip(&module, &version).await {
            Ok(z) => super::zip::serve(&z.path, &z.hash, headers, head).await,
            Err(e) => error(&e, head),
        },
    }
}
