//! Reloading the settings on SIGHUP: what can change while serving (upstreams, routes,
//! client limits, `[auth]`) is replaced; what cannot is named for a restart.

use std::sync::Arc;

use super::sources::{Sources, build_sources, private_patterns, redact_list};
use super::{SetupError, open_auth};
use crate::config::Settings;
use crate::http::AppState;
use crate::source::Source;
use crate::source::chain::Entry;

/// Reads the settings again (for a reload): the same flags, environment and file.
pub type Reread = Box<dyn Fn() -> Result<Settings, crate::config::ConfigError> + Send + Sync>;

/// What a reload replaces, and what it needs.
pub(super) struct Reloading {
    /// The settings served now.
    pub(super) running: std::sync::Mutex<Settings>,
    /// Reads them again.
    pub(super) reread: Reread,
    /// The source the cache asks, replaced by a reload.
    pub(super) source: Arc<crate::source::swap::Swappable>,
    /// The `direct` source (kept: its clones and their locks are the data dir's).
    pub(super) direct: Option<Arc<dyn Source>>,
    /// The HTTP layer's state (client limits, `[auth]`).
    pub(super) state: Arc<AppState>,
}

/// Reloads the settings at each SIGHUP (Windows: each Ctrl+Break, a console's only
/// other signal).
pub(super) async fn reload_on_sighup(r: Reloading) {
    #[cfg(unix)]
    let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
        return;
    };
    #[cfg(windows)]
    let Ok(mut hup) = tokio::signal::windows::ctrl_break() else {
        return;
    };
    while hup.recv().await.is_some() {
        match reload(&r) {
            Ok(note) => tracing::info!("{note}"),
            Err(e) => tracing::error!("settings reload failed, the running settings stay: {e}"),
        }
    }
}

/// Settings a reload cannot change (the listener, storage, Redis, the checksum database
/// and its exclusions, the git source): their names, where `new` differs from `old`.
fn needs_restart(old: &Settings, new: &Settings) -> Vec<&'static str> {
    let mut v = Vec::new();
    let mut check = |name, changed: bool| {
        if changed {
            v.push(name);
        }
    };
    check("listen", old.listen != new.listen);
    check("data_dir", old.data_dir != new.data_dir);
    check("storage", old.storage != new.storage);
    check("[s3]", old.s3 != new.s3);
    check("redis", old.redis != new.redis);
    check("tls", old.tls != new.tls);
    check("server", old.server != new.server);
    check("offline", old.offline != new.offline);
    check("sumdb", old.sumdb != new.sumdb);
    check(
        "private/nosumdb (the checksum database's exclusions)",
        private_patterns(old) != private_patterns(new) || old.nosumdb != new.nosumdb,
    );
    check(
        "[direct]",
        old.insecure != new.insecure || old.git_timeout != new.git_timeout,
    );
    check(
        "[cache]",
        old.negative_ttl != new.negative_ttl || old.list_ttl != new.list_ttl,
    );
    v
}

/// Reads the settings again and applies what can change while serving: the upstream
/// list, routes, named upstreams (fresh clients, pace and breakers), hedging, client
/// limits. Connections and requests under way are kept (a request finishes on the chain
/// it started with). Returns what was done, for the log.
fn reload(r: &Reloading) -> Result<String, SetupError> {
    let new = (r.reread)()?;
    // Credentials and access rules (token and htpasswd files read again): a mistake
    // refuses the whole reload.
    let auth = open_auth(&new)?;
    let mut running = r.running.lock().unwrap_or_else(|p| p.into_inner());
    let fixed = needs_restart(&running, &new);
    let later = if fixed.is_empty() {
        String::new()
    } else {
        format!("; not applied until a restart: {}", fixed.join(", "))
    };
    if running.offline || new.offline {
        r.state.limiter.set(new.limits.client);
        r.state.auth.store(auth);
        r.state.filter.store(Arc::new(new.filter.clone()));
        *running = new;
        return Ok(format!(
            "settings reloaded: client limits, [auth] and [filter] only (--offline asks no upstream){later}"
        ));
    }
    let sources = Sources::default();
    if let Some(d) = &r.direct {
        sources.seed(&Entry::Direct, Arc::clone(d));
    }
    let (chain, routed) = build_sources(&new, &sources)?;
    r.source.set(routed.unwrap_or(chain as Arc<dyn Source>));
    r.state.limiter.set(new.limits.client);
    let auth_note = match &auth {
        Some(a) => a.describe(),
        None => "auth off".to_string(),
    };
    r.state.auth.store(auth);
    r.state.filter.store(Arc::new(new.filter.clone()));
    let note = format!(
        "settings reloaded{}: upstream {}, {} route(s), {} named upstream(s), {auth_note}, {}{later}",
        new.config_file
            .as_ref()
            .map(|f| format!(" from {}", f.display()))
            .unwrap_or_default(),
        redact_list(&new.upstream),
        new.routes.len(),
        new.upstreams.len(),
        filter_note(&new.filter),
    );
    *running = new;
    Ok(note)
}

/// `[filter]` as the reload's log line tells it.
fn filter_note(f: &crate::filter::Filter) -> String {
    match f.is_empty() {
        true => "no [filter]".to_string(),
        false => format!("[filter] of {} rule(s)", f.len()),
    }
}
