//! The operations API, JSON under `/api/v1/` (with `[auth]`, for tokens and users with
//! `admin = true` only; `http/auth.rs` decides):
//! - `GET /api/v1/status`: the version, start and uptime, the storage (its readiness, use
//!   and bound), Redis, the number of `[filter]` rules, whether `[auth]` is on, and the
//!   upstreams;
//! - `GET /api/v1/upstreams`: each upstream the chains ask, with its breaker and 429
//!   pause;
//! - `GET /api/v1/catalog?prefix=&cursor=&limit=`: the stored module versions whose path
//!   starts with `prefix`, a page of at most `limit` (default 100, at most 1000) in the
//!   storage's order, streamed from its listing (the directory, or S3), with the cursor
//!   of the next page. Athens' `/catalog` is the model: `{"modules": [{"module",
//!   "version", ...}], "next": ...}`;
//! - `POST /api/v1/purge` `{"module", "version"?, "what"?, "force"?}`: a module's
//!   short-lived answers dropped on every replica, a stored version removed with `force`
//!   (`cache/purge.rs`); answered with what was done (200), or why not (400; 409 while
//!   a replica sends the version; 503 when the other replicas could not be asked or
//!   told, with what was done here).
//!
//! - warm jobs and bundles on request (`/api/v1/warm`, `/jobs`, `/bundle`, `/bundles/...`,
//!   for `warm` tokens too): `fleet_api.rs`.
//!
//! Every purge (done or not) writes an audit line: who (the token's or user's name, or
//! `anonymous` without `[auth]`), what, and the result (`audit` target, always logged).

use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::AppState;
use super::reply::{JSON, bytes, text};
use crate::storage::catalog::Stored;

/// The page size when `limit` is not given.
const DEFAULT_LIMIT: usize = 100;

/// The endpoints read with GET.
const READ: [&str; 5] = ["catalog", "status", "upstreams", "samples", "refusals"];

/// Where the operations API is.
pub(super) const PREFIX: &str = "/api/v1/";

/// The largest request body the API reads.
const MAX_BODY: usize = 64 << 10;
/// How long a client has to send its request body.
const BODY_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Who calls the API, with the request's body (a `POST`'s only).
pub(super) struct Caller<'a> {
    /// The client's name (a token's or user's; `anonymous`).
    pub client: &'a str,
    /// The body, not read yet.
    pub body: Option<axum::body::Body>,
    /// What the client may read (`None`: no `[auth]`, everything).
    pub reader: Option<super::auth::Reader>,
}

/// Answers `POST /api/v1/<endpoint>`.
pub(super) async fn post(state: &AppState, endpoint: &str, caller: Caller<'_>) -> Response {
    if !READ.contains(&endpoint) && endpoint != "purge" {
        return answer(state, endpoint, None, false).await;
    }
    if endpoint != "purge" {
        let mut r = text(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!(
                "method not allowed: /api/v1/{endpoint} is read with GET; POST is for /api/v1/purge"
            ),
            false,
        );
        r.headers_mut().insert(
            axum::http::header::ALLOW,
            axum::http::HeaderValue::from_static("GET, HEAD"),
        );
        return r;
    }
    let body = match read_body(caller.body, MAX_BODY).await {
        Ok(b) => b,
        Err((status, why)) => {
            audit(caller.client, "purge", "", status, &why);
            return text(status, &why, false);
        }
    };
    let purge = match crate::cache::Purge::parse(&body) {
        Ok(p) => p,
        Err(why) => {
            let why = format!("bad request: {why}");
            audit(caller.client, "purge", "", StatusCode::BAD_REQUEST, &why);
            return text(StatusCode::BAD_REQUEST, &why, false);
        }
    };
    let what = describe(&purge);
    match state.cache.purge(purge).await {
        Ok(report) => {
            let status = match &report.incomplete {
                None => StatusCode::OK,
                Some(_) => StatusCode::SERVICE_UNAVAILABLE,
            };
            let result = match &report.incomplete {
                None => format!(
                    "done: {} answers dropped from memory here, stored objects removed: [{}], shared keys removed: {}, replicas told: {}",
                    report.dropped.memory,
                    report.dropped.stored.join(", "),
                    report
                        .shared_keys
                        .map_or("none (no Redis)".into(), |n| n.to_string()),
                    report
                        .replicas_told
                        .map_or("none (no Redis)".into(), |n| n.to_string()),
                ),
                Some(why) => format!("partly done: {why}"),
            };
            audit(caller.client, "purge", &what, status, &result);
            let mut r = json(&report, false);
            *r.status_mut() = status;
            r
        }
        Err(refused) => {
            use crate::cache::Refused;
            let status = match &refused {
                Refused::Invalid(_) => StatusCode::BAD_REQUEST,
                Refused::Busy { .. } => StatusCode::CONFLICT,
                Refused::Unasked { .. } => StatusCode::SERVICE_UNAVAILABLE,
                Refused::Storage { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            };
            let why = refused.to_string();
            audit(caller.client, "purge", &what, status, &why);
            text(status, &why, false)
        }
    }
}

/// The purge in a few words, for the audit line.
fn describe(p: &crate::cache::Purge) -> String {
    let what: Vec<String> = p
        .what
        .iter()
        .map(|w| format!("{w:?}").to_lowercase())
        .collect();
    format!(
        "{} [{}]{}",
        p.target(),
        what.join(","),
        if p.force { " force" } else { "" }
    )
}

/// Writes the audit line of an admin action: who, what, the status and the result (the
/// log line's time says when). Always written, whatever the log level.
fn audit(who: &str, action: &str, what: &str, status: StatusCode, result: &str) {
    tracing::info!(
        target: "audit",
        who,
        action,
        what,
        status = status.as_u16(),
        result,
        "admin {action} by {who}: {what}: {} {result}",
        status.as_u16()
    );
}

/// The request body, at most `max` bytes, sent within [`BODY_WITHIN`].
pub(super) async fn read_body(
    body: Option<axum::body::Body>,
    max: usize,
) -> Result<bytes::Bytes, (StatusCode, String)> {
    use http_body_util::BodyExt;
    let Some(body) = body else {
        return Ok(bytes::Bytes::new());
    };
    let limited = http_body_util::Limited::new(body, max);
    match tokio::time::timeout(BODY_WITHIN, limited.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("payload too large: the request body is over {max} bytes"),
        )),
        Ok(Err(e)) => Err((
            StatusCode::BAD_REQUEST,
            format!("bad request: reading the request body failed: {e}"),
        )),
        Err(_) => Err((
            StatusCode::REQUEST_TIMEOUT,
            format!("request timeout: the request body did not arrive within {BODY_WITHIN:?}"),
        )),
    }
}

/// Answers `/api/v1/<endpoint>` with the URL's `query`.
pub(super) async fn answer(
    state: &AppState,
    endpoint: &str,
    query: Option<&str>,
    head: bool,
) -> Response {
    match endpoint {
        "catalog" => catalog(state, query, head).await,
        "status" => json(&status(state).await, head),
        "upstreams" => json(&state.cache.upstreams(), head),
        "samples" => json(&crate::metrics::metrics().recent.series(), head),
        "refusals" => json(&crate::metrics::metrics().recent.refusals(), head),
        "purge" => {
            let mut r = text(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed: /api/v1/purge takes a POST with a JSON body",
                head,
            );
            r.headers_mut().insert(
                axum::http::header::ALLOW,
                axum::http::HeaderValue::from_static("POST"),
            );
            r
        }
        _ => text(
            StatusCode::NOT_FOUND,
            &format!(
                "not found: the operations API has no /api/v1/{endpoint} (it serves /api/v1/status, /api/v1/upstreams, /api/v1/catalog, /api/v1/samples, /api/v1/refusals, /api/v1/jobs, /api/v1/bundles/... and, with POST, /api/v1/purge, /api/v1/warm, /api/v1/bundle)"
            ),
            head,
        ),
    }
}

/// When this process began serving (set by [`started`] at start).
static STARTED: std::sync::OnceLock<std::time::SystemTime> = std::sync::OnceLock::new();

/// Notes the start time (`App::new`).
pub(super) fn started() {
    let _ = STARTED.set(std::time::SystemTime::now());
}

/// `value` as a JSON answer that is never cached.
pub(super) fn json(value: &impl Serialize, head: bool) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let no_store = axum::http::HeaderValue::from_static("no-store");
    bytes(StatusCode::OK, JSON, no_store, body, head, None)
}

#[derive(Serialize)]
struct Status {
    version: &'static str,
    /// This replica's name (host name and process id), as purges and refusals name it.
    replica: String,
    started: String,
    uptime_seconds: u64,
    storage: StorageStatus,
    redis: Option<RedisStatus>,
    filter_rules: usize,
    auth: bool,
    upstreams: Vec<crate::source::UpstreamState>,
}

#[derive(Serialize)]
struct StorageStatus {
    describe: String,
    remote: bool,
    /// `ready`, `degraded` or `not_ready`.
    state: &'static str,
    /// Why, when it is not ready.
    reason: Option<String>,
    /// The local disk's use, once counted (not with S3 storage).
    bytes: Option<u64>,
    entries: Option<u64>,
    max_bytes: Option<u64>,
}

#[derive(Serialize)]
struct RedisStatus {
    url: String,
    up: bool,
    /// The replicas listening to purges now (this one included), when Redis answers.
    replicas: Option<u64>,
}

async fn status(state: &AppState) -> Status {
    use crate::storage::Readiness;
    let store = state.cache.store();
    let (ready, reason) = match store.ready().await {
        Readiness::Ready => ("ready", None),
        Readiness::Degraded(why) => ("degraded", Some(why)),
        Readiness::NotReady(why) => ("not_ready", Some(why)),
    };
    let usage = store.usage();
    let started = *STARTED.get_or_init(std::time::SystemTime::now);
    let unix = started
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    Status {
        version: env!("CARGO_PKG_VERSION"),
        started: gomod::timestamp::Timestamp::from_unix(unix).format_rfc3339(),
        uptime_seconds: started.elapsed().map_or(0, |d| d.as_secs()),
        storage: StorageStatus {
            describe: store.describe(),
            remote: store.is_remote(),
            state: ready,
            reason,
            bytes: usage.map(|u| u.0),
            entries: usage.map(|u| u.1),
            max_bytes: store.max_bytes(),
        },
        redis: match &state.shared {
            Some(s) => Some(RedisStatus {
                url: s.describe().to_string(),
                up: s.usable(),
                replicas: s.listening().await,
            }),
            None => None,
        },
        replica: match &state.shared {
            Some(s) => s.replica().to_string(),
            None => crate::cluster::replica_name(),
        },
        filter_rules: state.filter.load().len(),
        auth: state.auth.load().is_some(),
        upstreams: state.cache.upstreams(),
    }
}

/// The query's parameters, decoded.
pub(super) fn params(query: Option<&str>) -> Vec<(String, String)> {
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
    /// The upstream it was fetched from, and when (null when not recorded).
    upstream: Option<String>,
    fetched: Option<String>,
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
            upstream: v.upstream,
            fetched: v.fetched,
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
            json(&body, head)
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
