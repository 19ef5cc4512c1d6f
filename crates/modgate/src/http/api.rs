//! The operations API, JSON under `/api/v1/` (with `[auth]`, for tokens and users with
//! `admin = true` only; `http/auth.rs` decides):
//! - `GET /api/v1/catalog?prefix=&cursor=&limit=`: the stored module versions whose path
//!   starts with `prefix`, a page of at most `limit` (default 100, at most 1000) in the
//!   storage's order, streamed from its listing (the directory, or S3), with the cursor
//!   of the next page. Athens' `/catalog` is the model: `{"modules": [{"module",
//!   "version", ...}], "next": ...}`.

use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::AppState;
use super::reply::{JSON, bytes, text};
use crate::storage::catalog::Stored;

/// The page size when `limit` is not given.
const DEFAULT_LIMIT: usize = 100;

/// Answers `/api/v1/<endpoint>` with the URL's `query`.
pub(super) async fn answer(
    state: &AppState,
    endpoint: &str,
    query: Option<&str>,
    head: bool,
) -> Response {
    match endpoint {
        "catalog" => catalog(state, query, head).await,
        _ => text(
            StatusCode::NOT_FOUND,
            &format!(
                "not found: the operations API has no /api/v1/{endpoint} (it serves /api/v1/catalog)"
            ),
            head,
        ),
    }
}

/// The query's parameters, decoded.
fn params(query: Option<&str>) -> Vec<(String, String)> {
    let Some(q) = query else {
        return Vec::new();
    };
    match reqwest::Url::parse(&format!("http://api/?{q}")) {
        Ok(u) => u.query_pairs().map(|(k, v)| (k.into(), v.into())).collect(),
        Err(_) => Vec::new(),
    }
}

#[derive(Serialize)]
struct CatalogPage {
    modules: Vec<CatalogEntry>,
    next: Option<String>,
}

#[derive(Serialize)]
struct CatalogEntry {
    module: String,
    version: String,
    /// When its `.info` was stored (RFC 3339, UTC).
    stored: String,
    zip_bytes: Option<u64>,
    mod_bytes: Option<u64>,
    /// Its `.info` and `.mod`, as the GOPROXY protocol names them here.
    info: String,
    #[serde(rename = "mod")]
    go_mod: String,
}

impl CatalogEntry {
    fn of(v: Stored) -> CatalogEntry {
        let secs = v
            .stored
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let base = match (
            gomod::module::escape_path(&v.module),
            gomod::module::escape_version(&v.version),
        ) {
            (Ok(m), Ok(ver)) => format!("/{m}/@v/{ver}"),
            _ => String::new(),
        };
        CatalogEntry {
            stored: gomod::timestamp::Timestamp::from_unix(secs).format_rfc3339(),
            info: format!("{base}.info"),
            go_mod: format!("{base}.mod"),
            module: v.module,
            version: v.version,
            zip_bytes: v.zip_bytes,
            mod_bytes: v.mod_bytes,
        }
    }
}

async fn catalog(state: &AppState, query: Option<&str>, head: bool) -> Response {
    let (mut prefix, mut cursor, mut limit) = (String::new(), None, DEFAULT_LIMIT);
    for (k, v) in params(query) {
        match k.as_str() {
            "prefix" => prefix = v,
            "cursor" if !v.is_empty() => cursor = Some(v),
            "limit" => match v.parse::<usize>() {
                Ok(n) if n > 0 => limit = n,
                _ => {
                    return text(
                        StatusCode::BAD_REQUEST,
                        &format!("bad request: limit={v:?} is not a whole number from 1"),
                        head,
                    );
                }
            },
            _ => {}
        }
    }
    match state
        .cache
        .store()
        .catalog(&prefix, cursor.as_deref(), limit)
        .await
    {
        Ok(page) => {
            let body = CatalogPage {
                modules: page.versions.into_iter().map(CatalogEntry::of).collect(),
                next: page.next,
            };
            let json = serde_json::to_vec(&body).unwrap_or_default();
            let no_store = axum::http::HeaderValue::from_static("no-store");
            bytes(StatusCode::OK, JSON, no_store, json, head, None)
        }
        Err(e) => text(
            StatusCode::BAD_GATEWAY,
            &format!(
                "listing the storage ({}) failed: {e}",
                state.cache.store().describe()
            ),
            head,
        ),
    }
}
