//! The fleet's endpoints under `/api/v1/` (`fleet/`), for tokens and users with `warm`
//! (or `admin`) when `[auth]` is on:
//! - `POST /api/v1/warm` `{"files": {"go.mod": ..., "go.sum": ...}}` or `{"modules":
//!   ["path@version", ...]}`, optional `"callback_url"`: 202 with the job and
//!   `Location: /api/v1/jobs/{id}` (an identical job queued or running is joined);
//! - `GET /api/v1/jobs/{id}`: the job (404 unknown; `lost`: kept by an earlier run of a
//!   server without Redis); `GET /api/v1/jobs?state=&limit=`: the recent ones;
//! - `POST /api/v1/bundle` (the same body, no callback): the bundle, made or stored;
//!   `GET /api/v1/bundles/{sha256}`: a bundle by its hash or by its go.sum's;
//!   `GET /api/v1/bundles/tags/{name}`; `PUT /api/v1/bundles/tags/{name}`
//!   `{"sha256": ...}` (admins).

use axum::body::Body;
use axum::http::{Method, StatusCode};
use axum::response::Response;

use super::AppState;
use super::api::{Caller, json, params, read_body};
use super::reply::{build, text};
use crate::fleet::bundles::{Error as BundleError, Stored};
use crate::fleet::{Submit, board::Lookup, job::State, request::Request};
use crate::storage::Key;

/// The 403 of a bundle holding a module the client may not read: never names it.
const FORBIDDEN_BUNDLE: &str =
    "forbidden: these credentials may not read every module this bundle holds";

/// The largest warm or bundle request body (a large go.sum and the go.mod files).
const MAX_BODY: usize = 16 << 20;
/// The most jobs `GET /api/v1/jobs` lists.
const MAX_LIST: usize = 1000;

/// Answers a fleet endpoint.
pub(super) async fn answer(
    state: &AppState,
    method: &Method,
    endpoint: &str,
    query: Option<&str>,
    caller: Caller<'_>,
) -> Response {
    let head = method == Method::HEAD;
    let Some(fleet) = &state.fleet else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "warm jobs and bundles are not set up on this server",
            head,
        );
    };
    let read = method == Method::GET || head;
    match (endpoint, method) {
        ("warm", &Method::POST) => warm(fleet, caller).await,
        ("bundle", &Method::POST) => {
            let reader = caller.reader.clone();
            match body_request(caller).await {
                Ok(req) => match fleet.bundle(&req).await {
                    Ok(b) => send(state, fleet, reader.as_ref(), &b, head).await,
                    Err(e) => bundle_error(&e),
                },
                Err(r) => r,
            }
        }
        ("jobs", _) if read => jobs(fleet, query, head).await,
        (e, _) if read && e.starts_with("jobs/") => job(fleet, &e["jobs/".len()..], head).await,
        (e, _) if e.starts_with("bundles/tags/") => {
            let name = &e["bundles/tags/".len()..];
            if !crate::storage::is_tag_name(name) {
                return text(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "bad request: tag {name:?}: want 1 to 128 of A-Z a-z 0-9 . _ - (not starting with a dot)"
                    ),
                    head,
                );
            }
            if method == Method::PUT {
                return tag(fleet, name, caller).await;
            }
            if !read {
                return not_allowed(endpoint, "GET, HEAD, PUT", head);
            }
            match fleet.tagged(name).await {
                Some(b) => send(state, fleet, caller.reader.as_ref(), &b, head).await,
                None => text(
                    StatusCode::NOT_FOUND,
                    &format!(
                        "not found: no bundle is tagged {name:?} (PUT /api/v1/bundles/tags/{name} with {{\"sha256\": ...}} tags one)"
                    ),
                    head,
                ),
            }
        }
        (e, _) if read && e.starts_with("bundles/") => {
            let name = &e["bundles/".len()..];
            match fleet.bundle_named(name).await {
                Some(b) => send(state, fleet, caller.reader.as_ref(), &b, head).await,
                None => text(
                    StatusCode::NOT_FOUND,
                    &format!(
                        "not found: no bundle {name:?} here (POST /api/v1/bundle with the project's go.mod and go.sum makes one; it is then named by the request's hash and by the go.sum's SHA-256)"
                    ),
                    head,
                ),
            }
        }
        ("warm" | "bundle", _) => not_allowed(endpoint, "POST", head),
        _ => not_allowed(endpoint, "GET, HEAD", head),
    }
}

fn not_allowed(endpoint: &str, allow: &'static str, head: bool) -> Response {
    let mut r = text(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("method not allowed: /api/v1/{endpoint} takes {allow}"),
        head,
    );
    r.headers_mut().insert(
        axum::http::header::ALLOW,
        axum::http::HeaderValue::from_static(allow),
    );
    r
}

/// The request in a POST's body, or the answer refusing it.
async fn body_request(caller: Caller<'_>) -> Result<Request, Response> {
    let body = read_body(caller.body, MAX_BODY)
        .await
        .map_err(|(status, why)| text(status, &why, false))?;
    Request::parse(&body)
        .map_err(|e| text(StatusCode::BAD_REQUEST, &format!("bad request: {e}"), false))
}

async fn warm(fleet: &crate::fleet::Fleet, caller: Caller<'_>) -> Response {
    let client = caller.client.to_string();
    let req = match body_request(caller).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    match fleet.submit(&req).await {
        Ok((job, new)) => {
            tracing::info!(job = %job.id, new, client, "warm job queued");
            let mut r = json(&job, false);
            *r.status_mut() = StatusCode::ACCEPTED;
            if let Ok(v) = axum::http::HeaderValue::from_str(&format!("/api/v1/jobs/{}", job.id)) {
                r.headers_mut().insert(axum::http::header::LOCATION, v);
            }
            r
        }
        Err(Submit::Callback(e)) => {
            text(StatusCode::BAD_REQUEST, &format!("bad request: {e}"), false)
        }
        Err(Submit::Unavailable(e)) => text(StatusCode::SERVICE_UNAVAILABLE, &e.to_string(), false),
    }
}

async fn job(fleet: &crate::fleet::Fleet, id: &str, head: bool) -> Response {
    match fleet.job(id).await {
        Ok(Lookup::Found(j)) => json(&j, head),
        Ok(Lookup::Lost) => {
            let lost = serde_json::json!({
                "id": id,
                "state": State::Lost,
                "error": "this server restarted since the job was queued, and keeps its jobs in memory (no --redis): submit it again",
            });
            json(&lost, head)
        }
        Ok(Lookup::Unknown) => text(
            StatusCode::NOT_FOUND,
            &format!("not found: no warm job {id:?}"),
            head,
        ),
        Err(e) => text(StatusCode::SERVICE_UNAVAILABLE, &e.to_string(), head),
    }
}

async fn jobs(fleet: &crate::fleet::Fleet, query: Option<&str>, head: bool) -> Response {
    let (mut state, mut limit) = (None, 100);
    for (k, v) in params(query) {
        match k.as_str() {
            "state" if !v.is_empty() => match State::parse(&v) {
                Some(s) => state = Some(s),
                None => {
                    return text(
                        StatusCode::BAD_REQUEST,
                        &format!(
                            "bad request: state={v:?}: want queued, running, done, failed or lost"
                        ),
                        head,
                    );
                }
            },
            "limit" => match v.parse::<usize>() {
                Ok(n) if (1..=MAX_LIST).contains(&n) => limit = n,
                _ => {
                    return text(
                        StatusCode::BAD_REQUEST,
                        &format!(
                            "bad request: limit={v:?}: want a whole number from 1 to {MAX_LIST}"
                        ),
                        head,
                    );
                }
            },
            _ => {}
        }
    }
    match fleet.jobs(state, limit).await {
        Ok(list) => json(&serde_json::json!({ "jobs": list }), head),
        Err(e) => text(StatusCode::SERVICE_UNAVAILABLE, &e.to_string(), head),
    }
}

async fn tag(fleet: &crate::fleet::Fleet, name: &str, caller: Caller<'_>) -> Response {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Tag {
        sha256: String,
    }
    let body = match read_body(caller.body, 4096).await {
        Ok(b) => b,
        Err((status, why)) => return text(status, &why, false),
    };
    let Ok(t) = serde_json::from_slice::<Tag>(&body) else {
        return text(
            StatusCode::BAD_REQUEST,
            "bad request: want {\"sha256\": \"<a bundle's hash, or its go.sum's>\"}",
            false,
        );
    };
    match fleet.tag(name, &t.sha256).await {
        Ok(Some(b)) => {
            tracing::info!(target: "audit", who = caller.client, tag = name, bundle = %b.sha256, "bundle tagged");
            json(
                &serde_json::json!({ "tag": name, "sha256": b.sha256, "size": b.size }),
                false,
            )
        }
        Ok(None) => text(
            StatusCode::NOT_FOUND,
            &format!("not found: no bundle {:?} to tag", t.sha256),
            false,
        ),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string(), false),
    }
}

fn bundle_error(e: &BundleError) -> Response {
    let status = match e {
        BundleError::Graph(g) => match g {
            crate::graph::Error::Fetch { .. } | crate::graph::Error::Modules(_) => {
                StatusCode::BAD_GATEWAY
            }
            _ => StatusCode::BAD_REQUEST,
        },
        BundleError::Fetch(_) => StatusCode::BAD_GATEWAY,
        BundleError::GoSum(_) => StatusCode::CONFLICT,
        BundleError::Write(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    text(status, &e.to_string(), false)
}

/// The stored bundle `b`, streamed from the store, when the client (with `[auth]`) may
/// read every module it holds; else 403, the same words whatever it holds.
async fn send(
    state: &AppState,
    fleet: &crate::fleet::Fleet,
    reader: Option<&super::auth::Reader>,
    b: &Stored,
    head: bool,
) -> Response {
    let Ok(key) = Key::bundle(&b.sha256) else {
        return text(StatusCode::INTERNAL_SERVER_ERROR, "bad bundle name", head);
    };
    if let Some(reader) = reader {
        let may = match fleet.bundle_modules(&b.sha256).await {
            Some(modules) => modules.iter().all(|m| reader.reads(m)),
            None => false,
        };
        if !may {
            return text(StatusCode::FORBIDDEN, FORBIDDEN_BUNDLE, head);
        }
    }
    let headers = [
        ("content-type", "application/zstd".to_string()),
        ("content-length", b.size.to_string()),
        (
            "cache-control",
            "private, max-age=31536000, immutable".to_string(),
        ),
        ("etag", format!("\"{}\"", b.sha256)),
        ("x-modgate-bundle", b.sha256.clone()),
        ("content-location", format!("/api/v1/bundles/{}", b.sha256)),
        (
            "content-disposition",
            format!(
                "attachment; filename=\"modules-{}.bundle\"",
                &b.sha256[..12]
            ),
        ),
    ];
    if head {
        return build(StatusCode::OK, &headers, Body::empty());
    }
    match state.cache.store().read_range(&key, 0, b.size).await {
        Ok(Some(stream)) => build(StatusCode::OK, &headers, Body::from_stream(stream)),
        Ok(None) => text(
            StatusCode::NOT_FOUND,
            &format!("not found: bundle {} went away", b.sha256),
            head,
        ),
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("reading bundle {}: {e}", b.sha256),
            head,
        ),
    }
}
