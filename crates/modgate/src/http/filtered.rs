//! `[filter]` applied to the protocol (`crate::filter` holds the rules): a refused module
//! or version is answered `403 Forbidden` with a body naming the rule, before the cache
//! or any upstream is asked; `@v/list` leaves refused versions out, and `@latest` whose
//! version is refused answers the latest version the filter admits instead.

use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;

use super::reply::text;
use super::{AppState, Request};
use crate::error::Error;
use crate::filter::{Filter, Refusal};
use gomod::module::is_canonical;
use gomod::semver;

/// The refusal of `req`, as far as its path tells (a module, or a canonical version;
/// a query is checked once resolved).
pub(super) fn refused(filter: &Filter, req: &Request) -> Option<Refusal> {
    match req {
        Request::List { module } | Request::Latest { module } => filter.module(module),
        Request::Info { module, query } if is_canonical(query) => filter.version(module, query),
        Request::Info { module, .. } => filter.module(module),
        Request::Mod { module, version } | Request::Zip { module, version } => {
            filter.version(module, version)
        }
        _ => None,
    }
}

/// The 403 of a refusal, counted and logged.
pub(super) fn forbidden(refusal: &Refusal, head: bool) -> Response {
    crate::metrics::metrics()
        .filter_refusals
        .get_or_create(&crate::metrics::Reason {
            reason: refusal.reason.label(),
        })
        .inc();
    tracing::info!(
        reason = refusal.reason.label(),
        "refused by [filter]: {refusal}"
    );
    text(
        StatusCode::FORBIDDEN,
        &format!("forbidden: {refusal}"),
        head,
    )
}

/// The list `body` of `module` without the versions `filter` refuses (the same bytes
/// when it refuses none), counted in the metrics.
pub(super) fn list(filter: &Filter, module: &str, body: Bytes) -> Bytes {
    let (kept, hidden) = admitted(filter, module, body);
    if hidden > 0 {
        crate::metrics::metrics()
            .filter_hidden_versions
            .inc_by(hidden as u64);
    }
    kept
}

/// The version a list line names: its first field, as the go command reads it.
fn listed_version(line: &str) -> &str {
    line.split_whitespace().next().unwrap_or("")
}

/// `body` without the lines whose version `filter` refuses, and how many it left out.
fn admitted(filter: &Filter, module: &str, body: Bytes) -> (Bytes, usize) {
    let text = String::from_utf8_lossy(&body);
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            let v = listed_version(l);
            v.is_empty() || filter.version(module, v).is_none()
        })
        .collect();
    let hidden = text.lines().count() - kept.len();
    if hidden == 0 {
        return (body, 0);
    }
    let mut out = kept.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    (Bytes::from(out), hidden)
}

/// What `@latest` answers when the filter refuses the version the upstream's names: the
/// `.info` of the latest version of the filtered list (a release before a pre-release,
/// as the go command picks), or the refusal when it admits none. Counted as one version
/// left out.
pub(super) async fn latest(
    state: &AppState,
    filter: &Filter,
    module: &str,
    refusal: Refusal,
) -> Result<Bytes, Result<Refusal, Error>> {
    let listed = state.cache.list(module).await.map_err(Err)?;
    let (listed, _) = admitted(filter, module, listed.value);
    let text = String::from_utf8_lossy(&listed);
    let versions: Vec<&str> = text
        .lines()
        .map(listed_version)
        .filter(|v| semver::is_valid(v))
        .collect();
    let best = |release: bool| {
        versions
            .iter()
            .filter(|v| !release || semver::prerelease(v).is_empty())
            .max_by(|a, b| semver::compare(a, b))
            .copied()
    };
    let Some(version) = best(true).or_else(|| best(false)) else {
        return Err(Ok(refusal));
    };
    crate::metrics::metrics().filter_hidden_versions.inc();
    let info = state.cache.info(module, version).await.map_err(Err)?;
    Ok(info.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_keeps_the_lines_whose_first_field_is_admitted() {
        let f = Filter::parse(&[], &["example.com/m@<v1.2.0".to_string()]).unwrap();
        let body = Bytes::from_static(b"v1.0.0\nv1.2.0 2024-01-02T03:04:05Z\nv1.1.0 x\n\nv1.3.0\n");
        let (kept, hidden) = admitted(&f, "example.com/m", body);
        assert_eq!(
            (&kept[..], hidden),
            (&b"v1.2.0 2024-01-02T03:04:05Z\n\nv1.3.0\n"[..], 2)
        );
        let same = Bytes::from_static(b"v1.2.0\n");
        let (kept, hidden) = admitted(&f, "example.com/m", same.clone());
        assert_eq!((kept, hidden), (same, 0));
    }
}
