//! The server's instruments, read at `/metrics` in the Prometheus text format.
//!
//! One [`Metrics`] per application (tests run several apps in one process, each counting its
//! own), held in `http::AppState`; a place that counts something calls one method:
//! `state.metrics.rate_limited()`, `let _open = state.metrics.subscription_opened()`,
//! `metrics.import_rows(kind, outcome, n)`. The per-request figures are written by the request
//! middleware (`http::observe`); the database pool and the statement total are read when
//! `/metrics` is scraped.
//!
//! Every label's values are bounded, so that no caller can grow the series without end: routes
//! are the router's templates (`/tiles/:layer/:z/:x/:y`, never the raw path), error codes are
//! the registry's own list, and GraphQL operation names, which the client chooses, go through
//! [`Metrics::operation_label`].
//!
//! Built on `prometheus-client`, the Prometheus project's Rust client: three crates added to
//! the build, against thirteen for `metrics` with `metrics-exporter-prometheus`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The `Content-Type` of what [`Metrics::encode`] writes.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Most distinct GraphQL operation names given their own label value; later names count as
/// [`OTHER_OPERATION`].
pub const MAX_OPERATIONS: usize = 200;

/// Longest operation name kept as a label value; a longer one counts as [`OTHER_OPERATION`].
pub const MAX_OPERATION_LEN: usize = 64;

/// The operation label of a request without a name (or of a route that is not GraphQL).
pub const NO_OPERATION: &str = "";

/// The operation label of names past [`MAX_OPERATIONS`], too long, or not GraphQL names.
pub const OTHER_OPERATION: &str = "_other";

/// The operation label of a batch (several operations in one request).
pub const BATCH_OPERATION: &str = "_batch";

/// The route label of a request no route matched.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The error codes an answer may carry (`error::ErrorCode`, and GraphQL's own checks'); any
/// other string counts as `OTHER`.
const CODES: &[&str] = &[
    "BAD_INPUT",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "CONFLICT",
    "INVALID_GEOMETRY",
    "LIMIT_EXCEEDED",
    "RATE_LIMITED",
    "CURSOR_EXPIRED",
    "INTERNAL",
];

/// Seconds: 5 ms to about 41 s, doubling.
fn latency_buckets() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.005, 2.0, 14,
    ))
}

/// Statements: 0, 1, 2, 4, … 256.
fn statement_buckets() -> Histogram {
    Histogram::new(std::iter::once(0.0).chain(
        prometheus_client::metrics::histogram::exponential_buckets(1.0, 2.0, 9),
    ))
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResponseLabels {
    route: String,
    status: u16,
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ImportLabels {
    kind: &'static str,
    outcome: &'static str,
}

/// The application's instruments; cloning shares them.
#[derive(Clone)]
pub struct Metrics(Arc<Instruments>);

struct Instruments {
    registry: Registry,
    request_seconds: Family<RequestLabels, Histogram>,
    responses: Family<ResponseLabels, Counter>,
    statements_per_request: Family<RouteLabels, Histogram>,
    statements: Counter,
    pool: Family<PoolLabels, Gauge>,
    subscriptions: Gauge,
    rate_limited: Counter,
    import_rows: Family<ImportLabels, Counter>,
    /// The operation names given a label value so far (at most `MAX_OPERATIONS`).
    operations: Mutex<HashSet<String>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Fresh instruments, every series at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("rural_registry");
        let request_seconds =
            Family::<RequestLabels, Histogram>::new_with_constructor(latency_buckets as fn() -> _);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request (to the answer's head; a streamed body runs on), by route \
             template and GraphQL operation name",
            request_seconds.clone(),
        );
        let responses = Family::<ResponseLabels, Counter>::default();
        registry.register(
            "http_responses",
            "Answers by route template, HTTP status and error code (the first error's \
             extensions.code; empty when none)",
            responses.clone(),
        );
        let statements_per_request =
            Family::<RouteLabels, Histogram>::new_with_constructor(statement_buckets as fn() -> _);
        registry.register(
            "sql_statements_per_request",
            "SQL statements a request ran before its answer's head, by route template",
            statements_per_request.clone(),
        );
        let statements = Counter::default();
        registry.register(
            "sql_statements",
            "SQL statements run on the pool, by requests and background work alike",
            statements.clone(),
        );
        let pool = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database pool connections, in_use or idle",
            pool.clone(),
        );
        let subscriptions = Gauge::default();
        registry.register(
            "subscriptions_open",
            "WebSocket subscription connections open",
            subscriptions.clone(),
        );
        let rate_limited = Counter::default();
        registry.register(
            "rate_limited_requests",
            "Requests refused for the caller's rate budget",
            rate_limited.clone(),
        );
        let import_rows = Family::<ImportLabels, Counter>::default();
        registry.register(
            "import_rows",
            "Rows of imported files, by kind and outcome (inserted, updated, refused)",
            import_rows.clone(),
        );
        Self(Arc::new(Instruments {
            registry,
            request_seconds,
            responses,
            statements_per_request,
            statements,
            pool,
            subscriptions,
            rate_limited,
            import_rows,
            operations: Mutex::default(),
        }))
    }

    /// Counts one answered request: its route template (`UNMATCHED_ROUTE` when none), its
    /// operation label ([`Self::operation_label`]), status, error code (empty when none), the
    /// seconds to its head and the SQL statements it ran meanwhile.
    pub fn request(&self, answered: &Answered<'_>) {
        let m = &self.0;
        m.request_seconds
            .get_or_create(&RequestLabels {
                route: answered.route.to_owned(),
                operation: answered.operation.to_owned(),
            })
            .observe(answered.seconds);
        m.responses
            .get_or_create(&ResponseLabels {
                route: answered.route.to_owned(),
                status: answered.status,
                code: known_code(answered.code),
            })
            .inc();
        m.statements_per_request
            .get_or_create(&RouteLabels {
                route: answered.route.to_owned(),
            })
            .observe(answered.statements as f64);
    }

    /// The label value of a GraphQL operation name: the name itself while it is a GraphQL name
    /// of at most `MAX_OPERATION_LEN` characters and one of the first `MAX_OPERATIONS` names
    /// seen, else `OTHER_OPERATION`; `NO_OPERATION` without a name. A caller inventing names
    /// fills the table once and then counts as `_other`, never as new series.
    pub fn operation_label(&self, name: Option<&str>) -> String {
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return NO_OPERATION.to_owned();
        };
        if !is_graphql_name(name) || name.len() > MAX_OPERATION_LEN {
            return OTHER_OPERATION.to_owned();
        }
        let Ok(mut seen) = self.0.operations.lock() else {
            return OTHER_OPERATION.to_owned();
        };
        if seen.contains(name) {
            return name.to_owned();
        }
        if seen.len() < MAX_OPERATIONS {
            seen.insert(name.to_owned());
            return name.to_owned();
        }
        OTHER_OPERATION.to_owned()
    }

    /// Counts a request refused for the caller's rate budget.
    pub fn rate_limited(&self) {
        self.0.rate_limited.inc();
    }

    /// Counts an open subscription connection until the returned guard is dropped.
    #[must_use = "the subscription counts as open while the guard lives"]
    pub fn subscription_opened(&self) -> OpenSubscription {
        self.0.subscriptions.inc();
        OpenSubscription(self.0.subscriptions.clone())
    }

    /// Counts `rows` rows of an import of `kind` (`export::Kind::name`), by `outcome`:
    /// `inserted`, `updated` or `refused`.
    pub fn import_rows(&self, kind: &'static str, outcome: &'static str, rows: u64) {
        if rows > 0 {
            self.0
                .import_rows
                .get_or_create(&ImportLabels { kind, outcome })
                .inc_by(rows);
        }
    }

    /// The database pool as it is now: connections lent out and idle ones.
    pub fn pool(&self, in_use: u64, idle: u64) {
        for (state, n) in [("in_use", in_use), ("idle", idle)] {
            self.0
                .pool
                .get_or_create(&PoolLabels { state })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    /// The statements run on the pool since it opened (`db::QueryCounter`): the counter
    /// moves up to it.
    pub fn statements(&self, total: u64) {
        let counted = self.0.statements.get();
        if total > counted {
            self.0.statements.inc_by(total - counted);
        }
    }

    /// Every series, in the Prometheus text format (version 0.0.4).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail; a failure would leave the text cut short.
        if let Err(error) =
            prometheus_client::encoding::prometheus_text::encode(&mut text, &self.0.registry)
        {
            tracing::warn!(%error, "encoding the metrics");
        }
        text
    }
}

/// What the request middleware knows of an answer, for [`Metrics::request`].
#[derive(Debug)]
pub struct Answered<'a> {
    pub route: &'a str,
    pub operation: &'a str,
    pub status: u16,
    pub code: &'a str,
    pub seconds: f64,
    pub statements: u64,
}

/// An open subscription: counted in `subscriptions_open` until dropped.
#[derive(Debug)]
pub struct OpenSubscription(Gauge);

impl Drop for OpenSubscription {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// `code` if it is one the registry answers, else `OTHER` (a label value never comes from a
/// client's text).
fn known_code(code: &str) -> &'static str {
    if code.is_empty() {
        return "";
    }
    CODES
        .iter()
        .find(|c| **c == code)
        .copied()
        .unwrap_or("OTHER")
}

/// GraphQL's `Name`: `[_A-Za-z][_0-9A-Za-z]*`.
fn is_graphql_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b == b'_' || b.is_ascii_alphabetic())
        && bytes.all(|b| b == b'_' || b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_are_bounded() {
        let m = Metrics::new();
        assert_eq!(m.operation_label(None), NO_OPERATION);
        assert_eq!(m.operation_label(Some("")), NO_OPERATION);
        assert_eq!(m.operation_label(Some("Townships")), "Townships");
        assert_eq!(m.operation_label(Some("a b")), OTHER_OPERATION);
        assert_eq!(m.operation_label(Some("1abc")), OTHER_OPERATION);
        let long = "x".repeat(MAX_OPERATION_LEN + 1);
        assert_eq!(m.operation_label(Some(&long)), OTHER_OPERATION);
        for i in 0..MAX_OPERATIONS * 2 {
            m.operation_label(Some(&format!("Op{i}")));
        }
        assert_eq!(m.operation_label(Some("Townships")), "Townships");
        assert_eq!(m.operation_label(Some("Op0")), "Op0");
        assert_eq!(m.operation_label(Some("Fresh")), OTHER_OPERATION);
        assert_eq!(
            m.0.operations.lock().map(|s| s.len()).ok(),
            Some(MAX_OPERATIONS)
        );
    }

    #[test]
    fn codes_outside_the_registrys_count_as_other() {
        assert_eq!(known_code("INTERNAL"), "INTERNAL");
        assert_eq!(known_code(""), "");
        assert_eq!(known_code("<script>"), "OTHER");
    }

    #[test]
    fn the_text_names_every_family() {
        let m = Metrics::new();
        m.request(&Answered {
            route: "/graphql",
            operation: "Q",
            status: 200,
            code: "",
            seconds: 0.01,
            statements: 3,
        });
        m.pool(2, 3);
        m.statements(7);
        m.statements(5);
        let _open = m.subscription_opened();
        let text = m.encode();
        for line in [
            "rural_registry_http_request_duration_seconds_count{route=\"/graphql\",operation=\"Q\"} 1",
            "rural_registry_http_responses_total{route=\"/graphql\",status=\"200\",code=\"\"} 1",
            "rural_registry_sql_statements_per_request_count{route=\"/graphql\"} 1",
            "rural_registry_sql_statements_total 7",
            "rural_registry_db_pool_connections{state=\"in_use\"} 2",
            "rural_registry_db_pool_connections{state=\"idle\"} 3",
            "rural_registry_subscriptions_open 1",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
    }
}
