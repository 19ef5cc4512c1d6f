//! The process's Prometheus metrics (`GET /metrics`, prometheus-client's text format):
//! every name starts with `modgate_`, counters end in `_total`, durations in `_seconds`;
//! labels come from small fixed sets (endpoint, status code, cache kind and result,
//! upstream as configured, outcome, git subcommand), never a module path or version.
//!
//! One registry for the process, reached through [`metrics`]; the parts of the program
//! record into it where the thing happens (the HTTP layer, the cache, the upstream
//! client, the git runner, the checksum database verifier, the store).

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// `endpoint` (list, info, mod, zip, latest, sumdb, healthz, readyz, metrics, other) and
/// status `code`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Served {
    /// What was asked.
    pub endpoint: &'static str,
    /// The answer's status code.
    pub code: u16,
}

/// One label: `endpoint`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Endpoint {
    /// What was asked.
    pub endpoint: &'static str,
}

/// A cache lookup: `kind` (info, mod, zip, list, latest, query) and `result` (hit, miss,
/// stale, negative).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Lookup {
    /// The kind of entry.
    pub kind: &'static str,
    /// hit, miss, stale or negative.
    pub result: &'static str,
}

/// An upstream request: `upstream` (its URL as configured, password hidden) and
/// `outcome` (ok, not_found, error, timeout, rate_limited, skipped).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamOutcome {
    /// The upstream.
    pub upstream: String,
    /// What came of it.
    pub outcome: &'static str,
}

/// One label: `upstream`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Upstream {
    /// The upstream.
    pub upstream: String,
}

/// One label: the git subcommand.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GitCommand {
    /// `fetch`, `ls-remote`, `archive`, ...
    pub command: String,
}

/// One label: `result`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Outcome {
    /// What came of it.
    pub result: &'static str,
}

/// One label: the store entry `kind`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreKind {
    /// info, mod, zip, ziphash, list, latest, sumdb, sumdb_state.
    pub kind: &'static str,
}

/// One label: what part of the storage a gauge measures.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Scope {
    /// `local_disk`: the directory store and the git clones.
    pub scope: &'static str,
}

/// One label: `version` of this program.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Build {
    version: &'static str,
}

type Timings<L> = Family<L, Histogram, fn() -> Histogram>;

/// Durations from 1 ms to about 9 minutes.
fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 20))
}

/// Every metric of the process.
pub struct Metrics {
    registry: Registry,
    /// HTTP requests by endpoint and code.
    pub requests: Family<Served, Counter>,
    /// HTTP request durations by endpoint.
    pub request_seconds: Timings<Endpoint>,
    /// HTTP requests being answered.
    pub in_flight: Gauge,
    /// Cache lookups by kind and result.
    pub cache_lookups: Family<Lookup, Counter>,
    /// Upstream requests by upstream and outcome.
    pub upstream_requests: Family<UpstreamOutcome, Counter>,
    /// Upstream request durations by upstream.
    pub upstream_seconds: Timings<Upstream>,
    /// Bytes received from each upstream.
    pub upstream_bytes: Family<Upstream, Counter>,
    /// Git command durations by subcommand.
    pub git_seconds: Timings<GitCommand>,
    /// Requests that joined a fetch already under way instead of starting one.
    pub single_flight_joins: Counter,
    /// Checksum database verifications by result (ok, refused, error, skipped).
    pub sumdb_verifications: Family<Outcome, Counter>,
    /// Objects written to the store by kind.
    pub store_writes: Family<StoreKind, Counter>,
    /// Bytes written to the store by kind.
    pub store_written_bytes: Family<StoreKind, Counter>,
    /// 1 while the shared Redis answers, 0 while this replica works on its own.
    pub redis_up: Gauge,
    /// 1 while the storage answers (or is a local directory), 0 while answers come from
    /// the upstreams and are not stored.
    pub storage_up: Gauge,
    /// Bytes kept on the local disk (set when /metrics is read).
    pub store_bytes: Family<Scope, Gauge>,
    /// Entries (module versions, git clones) kept on the local disk.
    pub store_entries: Family<Scope, Gauge>,
    /// Hedged requests by result (won: the second upstream answered first; lost).
    pub hedges: Family<Outcome, Counter>,
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("modgate");
        let m = Metrics::unregistered();
        // Registered in the order /metrics lists them.
        m.register_http(&mut registry);
        m.register_fetches(&mut registry);
        m.register_storage(&mut registry);
        m.register_hedges(&mut registry);
        register_build_info(&mut registry);
        Metrics { registry, ..m }
    }

    /// Every metric at zero, in no registry yet.
    fn unregistered() -> Metrics {
        Metrics {
            registry: Registry::default(),
            requests: Family::default(),
            request_seconds: Timings::new_with_constructor(seconds),
            in_flight: Gauge::default(),
            cache_lookups: Family::default(),
            upstream_requests: Family::default(),
            upstream_seconds: Timings::new_with_constructor(seconds),
            upstream_bytes: Family::default(),
            git_seconds: Timings::new_with_constructor(seconds),
            single_flight_joins: Counter::default(),
            sumdb_verifications: Family::default(),
            store_writes: Family::default(),
            store_written_bytes: Family::default(),
            redis_up: Gauge::default(),
            storage_up: Gauge::default(),
            store_bytes: Family::default(),
            store_entries: Family::default(),
            hedges: Family::default(),
        }
    }

    /// Registers the HTTP requests: answered, their durations, in flight.
    fn register_http(&self, r: &mut Registry) {
        r.register(
            "http_requests",
            "HTTP requests answered, by endpoint and status code",
            self.requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request (to the end of its headers for streamed zips), by endpoint",
            self.request_seconds.clone(),
        );
        r.register(
            "http_requests_in_flight",
            "HTTP requests being answered",
            self.in_flight.clone(),
        );
    }

    /// Registers how modules are found and fetched: the cache lookups, the upstream
    /// requests, the git commands, the joined fetches, the checksum database's checks.
    fn register_fetches(&self, r: &mut Registry) {
        r.register(
            "cache_lookups",
            "Cache lookups by kind (info, mod, zip, list, latest, query) and result (hit, miss, stale, negative)",
            self.cache_lookups.clone(),
        );
        r.register(
            "upstream_requests",
            "Requests to upstream proxies by upstream and outcome (ok, not_found, error, timeout, rate_limited, skipped)",
            self.upstream_requests.clone(),
        );
        r.register(
            "upstream_request_duration_seconds",
            "Duration of upstream requests, body included, by upstream",
            self.upstream_seconds.clone(),
        );
        r.register(
            "upstream_received_bytes",
            "Bytes received from upstream proxies",
            self.upstream_bytes.clone(),
        );
        r.register(
            "git_command_duration_seconds",
            "Duration of git commands of the direct source, by subcommand",
            self.git_seconds.clone(),
        );
        r.register(
            "singleflight_joins",
            "Requests that joined a fetch already under way",
            self.single_flight_joins.clone(),
        );
        r.register(
            "sumdb_verifications",
            "Checksum database verifications of go.mod and zip hashes before storing, by result (ok, refused, error, skipped)",
            self.sumdb_verifications.clone(),
        );
    }

    /// Registers what is kept: the store's writes, the local disk's usage, and whether the
    /// shared Redis and the storage answer.
    fn register_storage(&self, r: &mut Registry) {
        r.register(
            "store_writes",
            "Objects written to the store, by kind",
            self.store_writes.clone(),
        );
        r.register(
            "store_written_bytes",
            "Bytes written to the store, by kind",
            self.store_written_bytes.clone(),
        );
        r.register(
            "store_bytes",
            "Bytes kept on the local disk (the directory store and the git clones), once counted at start; absent before that and with S3 storage",
            self.store_bytes.clone(),
        );
        r.register(
            "store_entries",
            "Entries kept on the local disk (module versions of the directory store, git clones), once counted at start",
            self.store_entries.clone(),
        );
        r.register(
            "redis_up",
            "1 while the shared Redis answers; 0 while this replica works on its own",
            self.redis_up.clone(),
        );
        r.register(
            "storage_up",
            "1 while the storage answers; 0 while it does not and answers come from the upstreams, not stored",
            self.storage_up.clone(),
        );
    }

    /// Registers the hedged upstream requests.
    fn register_hedges(&self, r: &mut Registry) {
        r.register(
            "upstream_hedges",
            "Requests also sent to the next upstream because the first was slow, by result (won: the second answered first; lost)",
            self.hedges.clone(),
        );
    }

    /// Sets the local disk's usage: `(bytes, entries)`.
    pub fn store_usage(&self, (bytes, entries): (u64, u64)) {
        let local = Scope {
            scope: "local_disk",
        };
        let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.store_bytes.get_or_create(&local).set(gauge(bytes));
        self.store_entries.get_or_create(&local).set(gauge(entries));
    }

    /// The metrics in Prometheus' text format (OpenMetrics).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Records a cache lookup.
    pub fn lookup(&self, kind: &'static str, result: &'static str) {
        self.cache_lookups
            .get_or_create(&Lookup { kind, result })
            .inc();
    }

    /// Records an upstream request.
    pub fn upstream(&self, upstream: &str, outcome: &'static str, took: Duration, bytes: u64) {
        let up = Upstream {
            upstream: upstream.to_string(),
        };
        self.upstream_requests
            .get_or_create(&UpstreamOutcome {
                upstream: up.upstream.clone(),
                outcome,
            })
            .inc();
        self.upstream_seconds
            .get_or_create(&up)
            .observe(took.as_secs_f64());
        if bytes > 0 {
            self.upstream_bytes.get_or_create(&up).inc_by(bytes);
        }
    }
}

/// Registers `build_info`: this program's version, as a label of a gauge at 1.
fn register_build_info(r: &mut Registry) {
    let build: Family<Build, Gauge> = Family::default();
    build
        .get_or_create(&Build {
            version: env!("CARGO_PKG_VERSION"),
        })
        .set(1);
    r.register("build_info", "This program's version (value 1)", build);
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static M: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &M
}

/// The `endpoint` label of a request path (no module path in it).
pub fn endpoint(path: &str) -> &'static str {
    match path {
        "/healthz" => "healthz",
        "/readyz" => "readyz",
        "/metrics" => "metrics",
        p if p.starts_with("/sumdb/") => "sumdb",
        p if p.ends_with("/@v/list") => "list",
        p if p.ends_with("/@latest") => "latest",
        p if p.contains("/@v/") && p.ends_with(".info") => "info",
        p if p.contains("/@v/") && p.ends_with(".mod") => "mod",
        p if p.contains("/@v/") && p.ends_with(".zip") => "zip",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_carry_no_module_path() {
        for (path, want) in [
            ("/healthz", "healthz"),
            ("/metrics", "metrics"),
            ("/sumdb/sum.golang.org/supported", "sumdb"),
            ("/example.com/m/@v/list", "list"),
            ("/example.com/m/@latest", "latest"),
            ("/example.com/m/@v/v1.0.0.info", "info"),
            ("/example.com/m/@v/v1.0.0.mod", "mod"),
            ("/example.com/m/@v/v1.0.0.zip", "zip"),
            ("/example.com/m", "other"),
        ] {
            assert_eq!(endpoint(path), want, "{path}");
        }
    }

    #[test]
    fn names_and_types() {
        let m = Metrics::new();
        m.requests
            .get_or_create(&Served {
                endpoint: "zip",
                code: 200,
            })
            .inc();
        m.lookup("zip", "hit");
        m.upstream("https://proxy.example/", "ok", Duration::from_millis(3), 10);
        let text = m.encode();
        for line in [
            "# TYPE modgate_http_requests counter",
            "modgate_http_requests_total{endpoint=\"zip\",code=\"200\"} 1",
            "modgate_cache_lookups_total{kind=\"zip\",result=\"hit\"} 1",
            "modgate_upstream_requests_total{upstream=\"https://proxy.example/\",outcome=\"ok\"} 1",
            "modgate_upstream_received_bytes_total{upstream=\"https://proxy.example/\"} 10",
            "# TYPE modgate_upstream_request_duration_seconds histogram",
            "modgate_build_info{version=\"0.1.0\"} 1",
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in:\n{text}");
        }
    }
}
