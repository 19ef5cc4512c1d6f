//! The process's Prometheus metrics (`GET /metrics`, prometheus-client's text format):
//! every name starts with `modgate_`, counters end in `_total`, durations in `_seconds`;
//! labels come from small fixed sets (endpoint, status code, cache kind and result,
//! upstream as configured, outcome, git subcommand, storage operation), never a module
//! path or version. The process's own figures are `process_*`, as every Prometheus client
//! library names them (`process.rs`).
//!
//! Every family is present from the start with its known label sets at zero (a hit
//! ratio is 0, not absent): the fixed ones when the registry is made, an upstream's when
//! it is set up ([`Metrics::known_upstream`]), the git commands' when a git source is
//! ([`Metrics::known_git`]). The Redis and S3 families are shown only when Redis or S3
//! storage is configured ([`Metrics::enable_redis`], [`Metrics::enable_s3`]).
//!
//! One registry for the process, reached through [`metrics`]; the parts of the program
//! record into it where the thing happens (the HTTP layer, the cache, the upstream
//! client, the git runner, the checksum database verifier, the store, the cluster).

mod process;
pub mod recent;

use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The `endpoint` label's values.
pub const ENDPOINTS: [&str; 10] = [
    "list", "info", "mod", "zip", "latest", "sumdb", "healthz", "readyz", "metrics", "other",
];
/// The cache lookups' `kind` values.
pub const LOOKUP_KINDS: [&str; 6] = ["info", "mod", "zip", "list", "latest", "query"];
/// The cache lookups' `result` values.
pub const LOOKUP_RESULTS: [&str; 4] = ["hit", "miss", "stale", "negative"];
/// An upstream request's `outcome` values.
pub const UPSTREAM_OUTCOMES: [&str; 6] = [
    "ok",
    "not_found",
    "error",
    "timeout",
    "rate_limited",
    "skipped",
];
/// The outcomes of upstream requests that were answered or failed after being sent
/// (the first-byte and transfer times).
const SENT_OUTCOMES: [&str; 4] = ["ok", "not_found", "error", "timeout"];
/// The git subcommands the git source runs.
pub const GIT_COMMANDS: [&str; 12] = [
    "clone",
    "init",
    "fetch",
    "ls-remote",
    "for-each-ref",
    "cat-file",
    "log",
    "archive",
    "merge-base",
    "rev-parse",
    "tag",
    "var",
];
/// The checksum database verifications' `result` values.
pub const VERIFY_RESULTS: [&str; 4] = ["ok", "refused", "error", "skipped"];
/// The store's entry `kind` values.
pub const STORE_KINDS: [&str; 11] = [
    "info",
    "mod",
    "zip",
    "ziphash",
    "list",
    "latest",
    "sumdb",
    "sumdb_state",
    "fetched",
    "bundle",
    "bundle_name",
];
/// The hedges' `result` values.
pub const HEDGE_RESULTS: [&str; 2] = ["won", "lost"];
/// The connection caps (`cap` label), as `[server]` names them.
pub const CAPS: [&str; 2] = ["max_connections", "max_connections_per_address"];
/// The `[filter]` refusals' `reason` values.
pub const FILTER_REASONS: [&str; 3] = ["denied_module", "denied_version", "not_allowed"];
/// The warm jobs' `result` values.
pub const WARM_JOB_RESULTS: [&str; 2] = ["done", "failed"];
/// The warm jobs' versions' `result` values.
pub const WARM_VERSION_RESULTS: [&str; 3] = ["fetched", "stored", "failed"];
/// The callbacks' `result` values (an attempt each).
pub const CALLBACK_RESULTS: [&str; 3] = ["delivered", "refused", "error"];
/// The bundles asked for by request, by `result`.
pub const BUNDLE_RESULTS: [&str; 3] = ["made", "stored", "failed"];
/// The prefetches' `result` values.
pub const PREFETCH_RESULTS: [&str; 3] = ["done", "failed", "dropped"];
/// The S3 requests' `operation` values.
pub const S3_OPERATIONS: [&str; 7] = [
    "get",
    "head",
    "put",
    "put_multipart",
    "get_range",
    "list",
    "delete",
];
/// The S3 requests' `outcome` values.
pub const S3_OUTCOMES: [&str; 4] = ["ok", "not_found", "exists", "error"];
/// The Redis round trips' `operation` values.
pub const REDIS_OPERATIONS: [&str; 15] = [
    "ping",
    "get",
    "set",
    "incr",
    "lock_take",
    "lock_renew",
    "lock_release",
    "log_append",
    "publish",
    "push",
    "read_list",
    "delete",
    "scan",
    "replicas",
    "jobs",
];
/// The Redis round trips' `outcome` values.
pub const REDIS_OUTCOMES: [&str; 3] = ["ok", "error", "timeout"];

/// `endpoint` and status `code`.
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

/// A cache lookup: `kind` and `result`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Lookup {
    /// The kind of entry.
    pub kind: &'static str,
    /// hit, miss, stale or negative.
    pub result: &'static str,
}

/// An upstream request: `upstream` (its URL as configured, password hidden) and
/// `outcome`.
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

/// Counts one `result` of `family`.
pub fn count(family: &Family<Outcome, Counter>, result: &'static str) {
    family.get_or_create(&Outcome { result }).inc();
}

/// One label: the store entry `kind`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreKind {
    /// info, mod, zip, ziphash, list, latest, sumdb, sumdb_state, fetched, bundle,
    /// bundle_name.
    pub kind: &'static str,
}

/// One label: what part of the storage a gauge measures.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Scope {
    /// `local_disk`: the directory store and the git clones.
    pub scope: &'static str,
}

/// One label: which connection cap.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Cap {
    /// `max_connections` or `max_connections_per_address`.
    pub cap: &'static str,
}

/// A storage or Redis request: `operation` and `outcome`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationOutcome {
    /// What was asked.
    pub operation: &'static str,
    /// What came of it.
    pub outcome: &'static str,
}

/// One label: `operation`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Operation {
    /// What was asked.
    pub operation: &'static str,
}

/// One label: why `[filter]` refused.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    /// `denied_module`, `denied_version` or `not_allowed`.
    pub reason: &'static str,
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
    /// Always shown.
    registry: Registry,
    /// Shown with Redis configured.
    redis: Registry,
    redis_on: AtomicBool,
    /// Shown with S3 storage.
    s3: Registry,
    s3_on: AtomicBool,
    /// `process_*`, read at each scrape.
    process: Registry,
    /// HTTP requests by endpoint and code.
    pub requests: Family<Served, Counter>,
    /// HTTP request durations by endpoint.
    pub request_seconds: Timings<Endpoint>,
    /// HTTP requests being answered.
    pub in_flight: Gauge,
    /// Client connections open.
    pub connections_open: Gauge,
    /// Client connections accepted and closed at once because a cap was reached.
    pub connections_refused: Family<Cap, Counter>,
    /// Requests refused by `[filter]`, by reason.
    pub filter_refusals: Family<Reason, Counter>,
    /// Versions `[filter]` left out of lists and `@latest` answers.
    pub filter_hidden_versions: Counter,
    /// Cache lookups by kind and result.
    pub cache_lookups: Family<Lookup, Counter>,
    /// Upstream requests by upstream and outcome.
    pub upstream_requests: Family<UpstreamOutcome, Counter>,
    /// Upstream request durations by upstream.
    pub upstream_seconds: Timings<Upstream>,
    /// Upstream time to the response headers, by upstream and outcome.
    pub upstream_first_byte_seconds: Timings<UpstreamOutcome>,
    /// Upstream time from the response headers to the end of the body.
    pub upstream_transfer_seconds: Timings<UpstreamOutcome>,
    /// Bytes received from each upstream.
    pub upstream_bytes: Family<Upstream, Counter>,
    /// 1 while an upstream's circuit breaker is open (skipped, or one request probing).
    pub upstream_breaker_open: Family<Upstream, Gauge>,
    /// Git command durations by subcommand.
    pub git_seconds: Timings<GitCommand>,
    /// Requests that joined a fetch already under way instead of starting one.
    pub single_flight_joins: Counter,
    /// Prefetches by result.
    pub prefetches: Family<Outcome, Counter>,
    /// Prefetches queued or running.
    pub prefetch_pending: Gauge,
    /// Warm jobs run here, by result.
    pub warm_jobs: Family<Outcome, Counter>,
    /// Warm jobs running here.
    pub warm_jobs_running: Gauge,
    /// Module versions of warm jobs run here, by result.
    pub warm_versions: Family<Outcome, Counter>,
    /// Callback attempts, by result.
    pub warm_callbacks: Family<Outcome, Counter>,
    /// Bundles asked for (`POST /api/v1/bundle`), by result.
    pub bundles: Family<Outcome, Counter>,
    /// Checksum database verifications by result (ok, refused, error, skipped).
    pub sumdb_verifications: Family<Outcome, Counter>,
    /// Objects written to the store by kind.
    pub store_writes: Family<StoreKind, Counter>,
    /// Bytes written to the store by kind.
    pub store_written_bytes: Family<StoreKind, Counter>,
    /// Eviction rounds run.
    pub evictions: Counter,
    /// Entries removed by eviction.
    pub evicted_entries: Counter,
    /// Bytes removed by eviction.
    pub evicted_bytes: Counter,
    /// 1 while the shared Redis answers, 0 while this replica works on its own.
    pub redis_up: Gauge,
    /// Redis round trips by operation and outcome.
    pub redis_requests: Family<OperationOutcome, Counter>,
    /// Redis round trip durations by operation.
    pub redis_seconds: Timings<Operation>,
    /// Times this replica went on its own because Redis failed.
    pub redis_degradations: Counter,
    /// The last hour, in memory, for the dashboard (not exported).
    pub recent: recent::Recent,
    /// The label sets nearly every request counts in, looked up once.
    common: Common,
    /// S3 requests by operation and outcome.
    pub s3_requests: Family<OperationOutcome, Counter>,
    /// S3 request durations by operation (to the response; a streamed body not included).
    pub s3_seconds: Timings<Operation>,
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
        let mut m = Metrics::unregistered();
        let mut registry = Registry::with_prefix("modgate");
        // Registered in the order /metrics lists them.
        m.register_http(&mut registry);
        m.register_fetches(&mut registry);
        m.register_storage(&mut registry);
        m.register_hedges(&mut registry);
        register_build_info(&mut registry);
        m.registry = registry;
        let mut redis = Registry::with_prefix("modgate");
        m.register_redis(&mut redis);
        m.redis = redis;
        let mut s3 = Registry::with_prefix("modgate");
        m.register_s3(&mut s3);
        m.s3 = s3;
        m.process.register_collector(Box::new(process::Process));
        m.known_sets();
        m.common = Common::of(&m);
        m
    }

    /// Every metric at zero, in no registry yet.
    fn unregistered() -> Metrics {
        Metrics {
            registry: Registry::default(),
            redis: Registry::default(),
            redis_on: AtomicBool::new(false),
            s3: Registry::default(),
            s3_on: AtomicBool::new(false),
            process: Registry::default(),
            requests: Family::default(),
            request_seconds: Timings::new_with_constructor(seconds),
            in_flight: Gauge::default(),
            connections_open: Gauge::default(),
            connections_refused: Family::default(),
            filter_refusals: Family::default(),
            filter_hidden_versions: Counter::default(),
            cache_lookups: Family::default(),
            upstream_requests: Family::default(),
            upstream_seconds: Timings::new_with_constructor(seconds),
            upstream_first_byte_seconds: Timings::new_with_constructor(seconds),
            upstream_transfer_seconds: Timings::new_with_constructor(seconds),
            upstream_bytes: Family::default(),
            upstream_breaker_open: Family::default(),
            git_seconds: Timings::new_with_constructor(seconds),
            single_flight_joins: Counter::default(),
            prefetches: Family::default(),
            prefetch_pending: Gauge::default(),
            warm_jobs: Family::default(),
            warm_jobs_running: Gauge::default(),
            warm_versions: Family::default(),
            warm_callbacks: Family::default(),
            bundles: Family::default(),
            sumdb_verifications: Family::default(),
            store_writes: Family::default(),
            store_written_bytes: Family::default(),
            evictions: Counter::default(),
            evicted_entries: Counter::default(),
            evicted_bytes: Counter::default(),
            redis_up: Gauge::default(),
            redis_requests: Family::default(),
            redis_seconds: Timings::new_with_constructor(seconds),
            redis_degradations: Counter::default(),
            recent: recent::Recent::default(),
            common: Common::default(),
            s3_requests: Family::default(),
            s3_seconds: Timings::new_with_constructor(seconds),
            storage_up: Gauge::default(),
            store_bytes: Family::default(),
            store_entries: Family::default(),
            hedges: Family::default(),
        }
    }

    /// The fixed label sets, at zero.
    fn known_sets(&self) {
        for endpoint in ENDPOINTS {
            let _ = self.requests.get_or_create(&Served {
                endpoint,
                code: 200,
            });
            let _ = self.request_seconds.get_or_create(&Endpoint { endpoint });
        }
        for kind in LOOKUP_KINDS {
            for result in LOOKUP_RESULTS {
                let _ = self.cache_lookups.get_or_create(&Lookup { kind, result });
            }
        }
        for cap in CAPS {
            let _ = self.connections_refused.get_or_create(&Cap { cap });
        }
        for reason in FILTER_REASONS {
            let _ = self.filter_refusals.get_or_create(&Reason { reason });
        }
        for result in PREFETCH_RESULTS {
            let _ = self.prefetches.get_or_create(&Outcome { result });
        }
        for result in WARM_JOB_RESULTS {
            let _ = self.warm_jobs.get_or_create(&Outcome { result });
        }
        for result in WARM_VERSION_RESULTS {
            let _ = self.warm_versions.get_or_create(&Outcome { result });
        }
        for result in CALLBACK_RESULTS {
            let _ = self.warm_callbacks.get_or_create(&Outcome { result });
        }
        for result in BUNDLE_RESULTS {
            let _ = self.bundles.get_or_create(&Outcome { result });
        }
        for result in VERIFY_RESULTS {
            let _ = self.sumdb_verifications.get_or_create(&Outcome { result });
        }
        for kind in STORE_KINDS {
            let _ = self.store_writes.get_or_create(&StoreKind { kind });
            let _ = self.store_written_bytes.get_or_create(&StoreKind { kind });
        }
        for result in HEDGE_RESULTS {
            let _ = self.hedges.get_or_create(&Outcome { result });
        }
        for operation in REDIS_OPERATIONS {
            let _ = self.redis_seconds.get_or_create(&Operation { operation });
            for outcome in REDIS_OUTCOMES {
                let _ = self
                    .redis_requests
                    .get_or_create(&OperationOutcome { operation, outcome });
            }
        }
        for operation in S3_OPERATIONS {
            let _ = self.s3_seconds.get_or_create(&Operation { operation });
            for outcome in S3_OUTCOMES {
                let _ = self
                    .s3_requests
                    .get_or_create(&OperationOutcome { operation, outcome });
            }
        }
    }

    /// An upstream is set up: its label sets, at zero (its breaker closed).
    pub fn known_upstream(&self, upstream: &str) {
        let up = Upstream {
            upstream: upstream.to_string(),
        };
        for outcome in UPSTREAM_OUTCOMES {
            let _ = self.upstream_requests.get_or_create(&UpstreamOutcome {
                upstream: up.upstream.clone(),
                outcome,
            });
        }
        for outcome in SENT_OUTCOMES {
            let o = UpstreamOutcome {
                upstream: up.upstream.clone(),
                outcome,
            };
            let _ = self.upstream_first_byte_seconds.get_or_create(&o);
            let _ = self.upstream_transfer_seconds.get_or_create(&o);
        }
        let _ = self.upstream_seconds.get_or_create(&up);
        let _ = self.upstream_bytes.get_or_create(&up);
        let _ = self.upstream_breaker_open.get_or_create(&up);
    }

    /// A git source is set up: its commands' label sets, at zero.
    pub fn known_git(&self) {
        for command in GIT_COMMANDS {
            let _ = self.git_seconds.get_or_create(&GitCommand {
                command: command.to_string(),
            });
        }
    }

    /// Redis is configured: its families are shown, `modgate_redis_up` at 1 until a
    /// round trip fails.
    pub fn enable_redis(&self) {
        if !self.redis_on.swap(true, Ordering::Relaxed) {
            self.redis_up.set(1);
        }
    }

    /// S3 storage is configured: its families are shown.
    pub fn enable_s3(&self) {
        self.s3_on.store(true, Ordering::Relaxed);
    }

    /// Registers the HTTP requests (answered, their durations, in flight) and the
    /// connections.
    fn register_http(&self, r: &mut Registry) {
        r.register(
            "http_requests",
            "HTTP requests answered, by endpoint (list, info, mod, zip, latest, sumdb, healthz, readyz, metrics, other) and status code",
            self.requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request (to the end of its headers for streamed zips), by endpoint (as http_requests)",
            self.request_seconds.clone(),
        );
        r.register(
            "http_requests_in_flight",
            "HTTP requests being answered",
            self.in_flight.clone(),
        );
        r.register(
            "connections_open",
            "Client connections open",
            self.connections_open.clone(),
        );
        r.register(
            "connections_refused",
            "Client connections accepted and closed at once because a cap was reached, by cap (max_connections, max_connections_per_address)",
            self.connections_refused.clone(),
        );
        r.register(
            "filter_refusals",
            "Requests answered 403 by [filter], by reason (denied_module, denied_version, not_allowed)",
            self.filter_refusals.clone(),
        );
        r.register(
            "filter_hidden_versions",
            "Versions [filter] left out of @v/list answers, and @latest answers replaced by an admitted version",
            self.filter_hidden_versions.clone(),
        );
    }

    /// Registers how modules are found and fetched: the cache lookups, the upstream
    /// requests, the git commands, the joined fetches, the prefetches, the checksum
    /// database's checks.
    fn register_fetches(&self, r: &mut Registry) {
        r.register(
            "cache_lookups",
            "Cache lookups by kind (info, mod, zip, list, latest, query) and result (hit, miss, stale, negative)",
            self.cache_lookups.clone(),
        );
        r.register(
            "upstream_requests",
            "Requests to upstream proxies by upstream (its URL, password hidden) and outcome (ok, not_found, error, timeout, rate_limited, skipped: not sent, its breaker open)",
            self.upstream_requests.clone(),
        );
        r.register(
            "upstream_request_duration_seconds",
            "Duration of upstream requests, body included, by upstream",
            self.upstream_seconds.clone(),
        );
        r.register(
            "upstream_first_byte_seconds",
            "Time from sending an upstream request to its response headers (or to its failure without them), by upstream and outcome (ok, not_found, error, timeout)",
            self.upstream_first_byte_seconds.clone(),
        );
        r.register(
            "upstream_transfer_seconds",
            "Time from an upstream response's headers to the end of its body, by upstream and outcome (ok, not_found, error, timeout)",
            self.upstream_transfer_seconds.clone(),
        );
        r.register(
            "upstream_received_bytes",
            "Bytes received from upstream proxies, by upstream",
            self.upstream_bytes.clone(),
        );
        r.register(
            "upstream_breaker_open",
            "1 while an upstream's circuit breaker is open (it is skipped, or one request probes it), 0 while closed, by upstream",
            self.upstream_breaker_open.clone(),
        );
        r.register(
            "git_command_duration_seconds",
            "Duration of git commands of the direct source, by subcommand (clone, init, fetch, ls-remote, for-each-ref, cat-file, log, archive, merge-base, rev-parse, tag, var)",
            self.git_seconds.clone(),
        );
        r.register(
            "singleflight_joins",
            "Requests that joined a fetch already under way",
            self.single_flight_joins.clone(),
        );
        r.register(
            "prefetches",
            "Prefetches of the requirements of a fetched go.mod, by result (done, failed, dropped: over the queue's bound)",
            self.prefetches.clone(),
        );
        r.register(
            "prefetches_pending",
            "Prefetches queued or running",
            self.prefetch_pending.clone(),
        );
        r.register(
            "warm_jobs",
            "Warm jobs run on this replica, by result (done, failed: its graph could not be read)",
            self.warm_jobs.clone(),
        );
        r.register(
            "warm_jobs_running",
            "Warm jobs running on this replica",
            self.warm_jobs_running.clone(),
        );
        r.register(
            "warm_versions",
            "Module versions of the warm jobs run on this replica, by result (fetched, stored: there already, failed)",
            self.warm_versions.clone(),
        );
        r.register(
            "warm_callbacks",
            "Warm job callback attempts, by result (delivered: a 2xx, refused: another status, error: no answer)",
            self.warm_callbacks.clone(),
        );
        r.register(
            "bundles",
            "Bundles asked for with POST /api/v1/bundle, by result (made, stored: made before, failed)",
            self.bundles.clone(),
        );
        r.register(
            "sumdb_verifications",
            "Checksum database verifications of go.mod and zip hashes before storing, by result (ok, refused, error, skipped)",
            self.sumdb_verifications.clone(),
        );
    }

    /// Registers what is kept: the store's writes and evictions, the local disk's usage,
    /// and whether the storage answers.
    fn register_storage(&self, r: &mut Registry) {
        r.register(
            "store_writes",
            "Objects written to the store, by kind (info, mod, zip, ziphash, list, latest, sumdb, sumdb_state, fetched, bundle, bundle_name)",
            self.store_writes.clone(),
        );
        r.register(
            "store_written_bytes",
            "Bytes written to the store, by kind (as store_writes)",
            self.store_written_bytes.clone(),
        );
        r.register(
            "store_bytes",
            "Bytes kept on the local disk (the directory store and the git clones), by scope (local_disk), once counted at start; absent before that and with S3 storage",
            self.store_bytes.clone(),
        );
        r.register(
            "store_entries",
            "Entries kept on the local disk (module versions of the directory store, git clones), by scope (local_disk), once counted at start",
            self.store_entries.clone(),
        );
        r.register(
            "evictions",
            "Eviction rounds run because the local disk was over [cache] max_bytes (or full)",
            self.evictions.clone(),
        );
        r.register(
            "evicted_entries",
            "Entries (module versions, git clones) removed by eviction",
            self.evicted_entries.clone(),
        );
        r.register(
            "evicted_bytes",
            "Bytes removed by eviction",
            self.evicted_bytes.clone(),
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

    /// Registers the shared Redis's state and round trips.
    fn register_redis(&self, r: &mut Registry) {
        r.register(
            "redis_up",
            "1 while the shared Redis answers; 0 while this replica works on its own",
            self.redis_up.clone(),
        );
        r.register(
            "redis_requests",
            "Redis round trips by operation (ping, get, set, incr, lock_take, lock_renew, lock_release; for purges: log_append, publish, push, read_list, delete, scan; replicas: the dashboard's count of replicas listening; jobs: the warm jobs' queue and records) and outcome (ok, error, timeout)",
            self.redis_requests.clone(),
        );
        r.register(
            "redis_request_duration_seconds",
            "Duration of Redis round trips, by operation (as redis_requests)",
            self.redis_seconds.clone(),
        );
        r.register(
            "redis_degradations",
            "Times this replica went on its own (own single-flight lock and caches) because Redis failed",
            self.redis_degradations.clone(),
        );
    }

    /// Registers the S3 storage's requests.
    fn register_s3(&self, r: &mut Registry) {
        r.register(
            "s3_requests",
            "Requests to the S3 storage by operation (get, head, put, put_multipart, get_range, list, delete) and outcome (ok, not_found, exists: a create-only put found the object, error)",
            self.s3_requests.clone(),
        );
        r.register(
            "s3_request_duration_seconds",
            "Duration of S3 requests to their response (a streamed body not included), by operation (as s3_requests)",
            self.s3_seconds.clone(),
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
        use prometheus_client::encoding::text::{encode_eof, encode_registry};
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode_registry(&mut out, &self.registry);
        if self.redis_on.load(Ordering::Relaxed) {
            let _ = encode_registry(&mut out, &self.redis);
        }
        if self.s3_on.load(Ordering::Relaxed) {
            let _ = encode_registry(&mut out, &self.s3);
        }
        let _ = encode_registry(&mut out, &self.process);
        let _ = encode_eof(&mut out);
        out
    }

    /// Records a cache lookup.
    pub fn lookup(&self, kind: &'static str, result: &'static str) {
        let common = match result {
            "hit" => self.common.hit(kind),
            _ => None,
        };
        match common {
            Some(c) => {
                c.inc();
            }
            None => {
                self.cache_lookups
                    .get_or_create(&Lookup { kind, result })
                    .inc();
            }
        }
        self.recent.lookup(result == "hit");
    }

    /// Counts an answered request: `http_requests`, `http_request_duration_seconds` and
    /// the last hour's samples.
    pub fn answered(&self, endpoint: &'static str, code: u16, took: Duration) {
        match self.common.ok(endpoint).filter(|_| code == 200) {
            Some(c) => {
                c.inc();
            }
            None => {
                self.requests
                    .get_or_create(&Served { endpoint, code })
                    .inc();
            }
        }
        match self.common.seconds(endpoint) {
            Some(h) => h.observe(took.as_secs_f64()),
            None => self
                .request_seconds
                .get_or_create(&Endpoint { endpoint })
                .observe(took.as_secs_f64()),
        }
        self.recent.request(took);
    }

    /// Records an upstream request: its outcome, its whole time, the time to its
    /// response headers (`None`: none came) and the bytes of its body.
    pub fn upstream(
        &self,
        upstream: &str,
        outcome: &'static str,
        took: Duration,
        headers_after: Option<Duration>,
        bytes: u64,
    ) {
        let up = Upstream {
            upstream: upstream.to_string(),
        };
        let with_outcome = UpstreamOutcome {
            upstream: up.upstream.clone(),
            outcome,
        };
        self.upstream_requests.get_or_create(&with_outcome).inc();
        if outcome == "error" || outcome == "timeout" {
            self.recent.upstream_error();
        }
        if outcome == "rate_limited" || outcome == "skipped" {
            return;
        }
        self.upstream_seconds
            .get_or_create(&up)
            .observe(took.as_secs_f64());
        let first = headers_after.unwrap_or(took);
        self.upstream_first_byte_seconds
            .get_or_create(&with_outcome)
            .observe(first.as_secs_f64());
        if headers_after.is_some() {
            self.upstream_transfer_seconds
                .get_or_create(&with_outcome)
                .observe(took.saturating_sub(first).as_secs_f64());
        }
        if bytes > 0 {
            self.upstream_bytes.get_or_create(&up).inc_by(bytes);
        }
    }

    /// Records whether `upstream`'s circuit breaker is open.
    pub fn breaker(&self, upstream: &str, open: bool) {
        self.upstream_breaker_open
            .get_or_create(&Upstream {
                upstream: upstream.to_string(),
            })
            .set(i64::from(open));
    }

    /// Records a round trip to Redis.
    pub fn redis(&self, operation: &'static str, outcome: &'static str, took: Duration) {
        self.redis_requests
            .get_or_create(&OperationOutcome { operation, outcome })
            .inc();
        self.redis_seconds
            .get_or_create(&Operation { operation })
            .observe(took.as_secs_f64());
    }

    /// Records a request to the S3 storage.
    pub fn s3(&self, operation: &'static str, outcome: &'static str, took: Duration) {
        self.s3_requests
            .get_or_create(&OperationOutcome { operation, outcome })
            .inc();
        self.s3_seconds
            .get_or_create(&Operation { operation })
            .observe(took.as_secs_f64());
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

/// Handles of the label sets nearly every request counts in (its endpoint's 200s and
/// timing, a cache hit of its kind), taken from their families once: a family's lookup
/// takes its lock and hashes the labels, three times per cached answer (about 2% of its
/// CPU).
#[derive(Default)]
struct Common {
    /// `http_requests{endpoint, code="200"}`, in [`ENDPOINTS`]' order.
    ok: Vec<Counter>,
    /// `http_request_duration_seconds{endpoint}`, in [`ENDPOINTS`]' order.
    seconds: Vec<Histogram>,
    /// `cache_lookups{kind, result="hit"}`, in [`LOOKUP_KINDS`]' order.
    hits: Vec<Counter>,
}

impl Common {
    /// `http_requests{endpoint, code="200"}`, for an endpoint of [`ENDPOINTS`].
    fn ok(&self, endpoint: &str) -> Option<&Counter> {
        named(&ENDPOINTS, &self.ok, endpoint)
    }

    /// `http_request_duration_seconds{endpoint}`, for an endpoint of [`ENDPOINTS`].
    fn seconds(&self, endpoint: &str) -> Option<&Histogram> {
        named(&ENDPOINTS, &self.seconds, endpoint)
    }

    /// `cache_lookups{kind, result="hit"}`, for a kind of [`LOOKUP_KINDS`].
    fn hit(&self, kind: &str) -> Option<&Counter> {
        named(&LOOKUP_KINDS, &self.hits, kind)
    }

    fn of(m: &Metrics) -> Common {
        Common {
            ok: ENDPOINTS
                .iter()
                .map(|&endpoint| {
                    m.requests
                        .get_or_create(&Served {
                            endpoint,
                            code: 200,
                        })
                        .clone()
                })
                .collect(),
            seconds: ENDPOINTS
                .iter()
                .map(|&endpoint| {
                    m.request_seconds
                        .get_or_create(&Endpoint { endpoint })
                        .clone()
                })
                .collect(),
            hits: LOOKUP_KINDS
                .iter()
                .map(|&kind| {
                    m.cache_lookups
                        .get_or_create(&Lookup {
                            kind,
                            result: "hit",
                        })
                        .clone()
                })
                .collect(),
        }
    }
}

/// The item of `items` (in the order of `names`) that `name` names.
fn named<'a, T>(names: &[&str], items: &'a [T], name: &str) -> Option<&'a T> {
    names
        .iter()
        .position(|&n| n == name)
        .and_then(|i| items.get(i))
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

    /// The handles taken once count in their families' own series, and what they do
    /// not cover (another code, result or endpoint) is counted by the families.
    #[test]
    fn the_common_handles_count_in_their_families() {
        let m = Metrics::new();
        m.answered("info", 200, Duration::from_millis(2));
        m.answered("info", 200, Duration::from_millis(2));
        m.answered("info", 404, Duration::from_millis(2));
        m.answered("nonsense", 200, Duration::from_millis(2));
        m.lookup("mod", "hit");
        m.lookup("mod", "miss");
        let text = m.encode();
        for line in [
            "modgate_http_requests_total{endpoint=\"info\",code=\"200\"} 2",
            "modgate_http_requests_total{endpoint=\"info\",code=\"404\"} 1",
            "modgate_http_requests_total{endpoint=\"nonsense\",code=\"200\"} 1",
            "modgate_http_request_duration_seconds_count{endpoint=\"info\"} 3",
            "modgate_http_request_duration_seconds_count{endpoint=\"nonsense\"} 1",
            "modgate_cache_lookups_total{kind=\"mod\",result=\"hit\"} 1",
            "modgate_cache_lookups_total{kind=\"mod\",result=\"miss\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
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
        m.upstream(
            "https://proxy.example/",
            "ok",
            Duration::from_millis(3),
            Some(Duration::from_millis(2)),
            10,
        );
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

    /// The families `text` lists (`# TYPE` lines), and its sample lines.
    fn families(text: &str) -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(|l| l.split(' ').next().unwrap().to_string())
            .collect()
    }

    #[test]
    fn every_family_and_its_known_label_sets_are_there_from_the_start() {
        let m = Metrics::new();
        let text = m.encode();
        let fams = families(&text);
        for f in [
            "modgate_http_requests",
            "modgate_connections_refused",
            "modgate_cache_lookups",
            "modgate_prefetches",
            "modgate_evictions",
            "modgate_evicted_bytes",
            "modgate_storage_up",
            "modgate_upstream_hedges",
            "process_cpu_seconds",
            "process_resident_memory_bytes",
            "process_open_fds",
            "process_max_fds",
            "process_start_time_seconds",
        ] {
            assert!(fams.iter().any(|x| x == f), "{f} not in {fams:?}");
        }
        // Only with Redis, only with S3; an upstream's once it is set up (a family with
        // no label set has no line).
        for f in [
            "modgate_redis_up",
            "modgate_redis_requests",
            "modgate_s3_requests",
            "modgate_upstream_first_byte_seconds",
        ] {
            assert!(!fams.iter().any(|x| x == f), "{f} in {fams:?}");
        }
        for line in [
            "modgate_cache_lookups_total{kind=\"zip\",result=\"hit\"} 0",
            "modgate_cache_lookups_total{kind=\"list\",result=\"negative\"} 0",
            "modgate_http_requests_total{endpoint=\"zip\",code=\"200\"} 0",
            "modgate_connections_refused_total{cap=\"max_connections_per_address\"} 0",
            "modgate_sumdb_verifications_total{result=\"refused\"} 0",
            "modgate_store_writes_total{kind=\"ziphash\"} 0",
            "modgate_prefetches_total{result=\"dropped\"} 0",
            "modgate_upstream_hedges_total{result=\"won\"} 0",
            "modgate_evicted_entries_total 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert_eq!(text.matches("# EOF").count(), 1);
    }

    #[test]
    fn an_upstream_s_git_s_redis_s_and_s3_s_sets_come_when_they_are_set_up() {
        let m = Metrics::new();
        m.known_upstream("https://proxy.example/");
        m.known_git();
        m.enable_redis();
        m.enable_s3();
        let text = m.encode();
        for line in [
            "modgate_upstream_requests_total{upstream=\"https://proxy.example/\",outcome=\"timeout\"} 0",
            "modgate_upstream_requests_total{upstream=\"https://proxy.example/\",outcome=\"skipped\"} 0",
            "modgate_upstream_first_byte_seconds_count{upstream=\"https://proxy.example/\",outcome=\"ok\"} 0",
            "modgate_upstream_transfer_seconds_count{upstream=\"https://proxy.example/\",outcome=\"error\"} 0",
            "modgate_upstream_received_bytes_total{upstream=\"https://proxy.example/\"} 0",
            "modgate_upstream_breaker_open{upstream=\"https://proxy.example/\"} 0",
            "modgate_git_command_duration_seconds_count{command=\"clone\"} 0",
            "modgate_redis_up 1",
            "modgate_redis_requests_total{operation=\"lock_take\",outcome=\"timeout\"} 0",
            "modgate_redis_degradations_total 0",
            "modgate_s3_requests_total{operation=\"put_multipart\",outcome=\"exists\"} 0",
            "modgate_s3_request_duration_seconds_count{operation=\"head\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in:\n{text}");
        }
        // Then recorded: the first byte and the transfer apart; a request that was never
        // sent is counted, not timed.
        m.upstream(
            "https://proxy.example/",
            "ok",
            Duration::from_millis(300),
            Some(Duration::from_millis(100)),
            5,
        );
        m.upstream("https://proxy.example/", "skipped", Duration::ZERO, None, 0);
        m.breaker("https://proxy.example/", true);
        let text = m.encode();
        for line in [
            "modgate_upstream_first_byte_seconds_sum{upstream=\"https://proxy.example/\",outcome=\"ok\"} 0.1",
            "modgate_upstream_transfer_seconds_sum{upstream=\"https://proxy.example/\",outcome=\"ok\"} 0.2",
            "modgate_upstream_request_duration_seconds_count{upstream=\"https://proxy.example/\"} 1",
            "modgate_upstream_requests_total{upstream=\"https://proxy.example/\",outcome=\"skipped\"} 1",
            "modgate_upstream_breaker_open{upstream=\"https://proxy.example/\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in:\n{text}");
        }
    }
}
