//! Answering a parsed request: from the cache, the checksum database proxy or a zip on
//! disk; immutable and fresh answers remembered in the hot answers.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

use super::hot_answers::HotAnswers;
use super::reply::{JSON, OPENMETRICS, TEXT, bytes, error, immutable, short, text};
use super::{AppState, Request};
use crate::cache::Meta;
use crate::storage::Readiness;

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

/// Answers a parsed protocol request; immutable and fresh short-lived answers are
/// remembered in `hot` under the request's raw path.
pub async fn answer(
    state: &AppState,
    req: Request,
    (headers, query): (&HeaderMap, Option<&str>),
    head: bool,
    (hot, raw): (&HotAnswers, &str),
) -> Response {
    let short = || short(state.short_max_age);
    match req {
        Request::Health => text(StatusCode::OK, "ok", head),
        Request::Metrics => metrics(state, head),
        Request::Ready => ready(state, head).await,
        Request::Sumdb { path } => sumdb(state, &path, head).await,
        Request::Api { endpoint } => super::api::answer(state, &endpoint, query, head).await,
        Request::Ui { asset } => super::ui::answer(&asset, head),
        Request::List { module } => match state.cache.list(&module).await {
            Ok(meta) => {
                let cache = short();
                let stale = meta.stale.as_deref();
                let filter = state.filter.load();
                if !filter.is_empty() {
                    // Never remembered: the rules may change on a reload.
                    let kept = super::filtered::list(&filter, &module, meta.value.clone());
                    return bytes(StatusCode::OK, TEXT, cache, kept, head, stale);
                }
                hot.remember_fresh(raw, TEXT, &cache, &meta.value, &meta);
                bytes(StatusCode::OK, TEXT, cache, meta.value, head, stale)
            }
            Err(e) => error(&e, head),
        },
        Request::Latest { module } => match state.cache.latest(&module).await {
            Ok(meta) => {
                let cache = short();
                let stale = meta.stale.as_deref();
                // Held across the awaits below: the rules themselves, not a guard.
                let filter = state.filter.load_full();
                if filter.is_empty() {
                    hot.remember_fresh(raw, JSON, &cache, &meta.value.json, &meta);
                    return bytes(StatusCode::OK, JSON, cache, meta.value.json, head, stale);
                }
                let Some(refusal) = filter.version(&module, &meta.value.version) else {
                    return bytes(StatusCode::OK, JSON, cache, meta.value.json, head, stale);
                };
                match super::filtered::latest(state, &filter, &module, refusal).await {
                    Ok(json) => bytes(StatusCode::OK, JSON, cache, json, head, None),
                    Err(Ok(refusal)) => super::filtered::forbidden(&refusal, head),
                    Err(Err(e)) => error(&e, head),
                }
            }
            Err(e) => error(&e, head),
        },
        Request::Info { module, query } => match state.cache.info(&module, &query).await {
            Ok(Meta { value, stale, .. }) => {
                let cache = if gomod::module::is_canonical(&query) {
                    hot.remember(raw, JSON, immutable(), &value, None);
                    immutable()
                } else {
                    // A query is checked once resolved: the version it names.
                    let filter = state.filter.load();
                    if !filter.is_empty()
                        && let Ok(info) = crate::source::Info::parse(value.clone())
                        && let Some(refusal) = filter.version(&module, &info.version)
                    {
                        return super::filtered::forbidden(&refusal, head);
                    }
                    short()
                };
                bytes(StatusCode::OK, JSON, cache, value, head, stale.as_deref())
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
        // The entry holds the version in use until the response is built (its body's
        // stream then holds it to the end).
        Request::Zip { module, version } => match state.cache.zip(&module, &version).await {
            Ok(z) => {
                let r = super::zip::serve(state.cache.store(), &z, headers, head).await;
                // Sent from a file of the store: sent from it again by the path alone.
                if z.local.is_none() && r.extensions().get::<crate::storage::FileSpan>().is_some() {
                    hot.remember_zip(raw, &z.key, z.size, &format!("\"{}\"", z.hash));
                }
                r
            }
            Err(e) => error(&e, head),
        },
    }
}

/// Answers `/metrics`: the registry, with the storage's use counted now.
fn metrics(state: &AppState, head: bool) -> Response {
    let m = crate::metrics::metrics();
    if let Some(usage) = state.cache.store().usage() {
        m.store_usage(usage);
    }
    let no_store = HeaderValue::from_static("no-store");
    bytes(
        StatusCode::OK,
        OPENMETRICS,
        no_store,
        m.encode(),
        head,
        None,
    )
}

/// Answers `/readyz`. A remote storage down while upstreams answer, or Redis down, does
/// not take the replica out of rotation (every replica would go at once): it serves as
/// it can, and says so. With no upstream (--offline, --upstream off), nothing answers
/// what the storage cannot.
async fn ready(state: &AppState, head: bool) -> Response {
    let storage = match state.cache.store().ready().await {
        Readiness::Ready => None,
        Readiness::Degraded(why) if state.cache.offline() => {
            return not_ready(&format!("{why}, and no upstream can answer instead"), head);
        }
        Readiness::Degraded(why) => Some(why),
        Readiness::NotReady(why) => return not_ready(&why, head),
    };
    let redis = match &state.shared {
        Some(shared) => shared.check().await,
        None => None,
    };
    let degraded: Vec<String> = storage
        .map(|why| format!("{why}; modules are answered from the upstreams, not stored"))
        .into_iter()
        .chain(redis)
        .collect();
    if degraded.is_empty() {
        return text(StatusCode::OK, "ready", head);
    }
    let why = degraded.join("; ");
    log_not_ready(&why);
    text(StatusCode::OK, &format!("ready, degraded: {why}"), head)
}

/// A 503 saying why this replica is not ready (logged, at most once a minute).
fn not_ready(why: &str, head: bool) -> Response {
    log_not_ready(why);
    let body = format!("not ready: {why}");
    text(StatusCode::SERVICE_UNAVAILABLE, &body, head)
}

/// Logs why the process is not ready, at most once a minute (probes ask every few
/// seconds).
fn log_not_ready(why: &str) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let last = LAST.load(Ordering::Relaxed);
    if (last == 0 || now >= last + 60)
        && LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        tracing::warn!(reason = %why, "not ready (logged at most once a minute)");
    }
}
