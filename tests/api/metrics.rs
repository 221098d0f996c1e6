//! `/metrics`, on its own listener (`METRICS_LISTEN`), read with a Prometheus text parser: the
//! requests made are counted by route template and operation, answers by status and code, and
//! the SQL, pool, subscription, rate-limit and import figures are there.

use std::collections::HashSet;

use prometheus_parse::{Scrape, Value};
use serde_json::json;

use crate::helpers::{TestApp, spawn_app_with, spawn_apps};

/// The samples of one scrape, by metric name and labels.
struct Metrics(Scrape);

impl Metrics {
    async fn of(app: &TestApp) -> Self {
        let r = app
            .client
            .get(&app.metrics_address)
            .send()
            .await
            .expect("scraped");
        assert_eq!(r.status(), 200);
        let content_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        let text = r.text().await.expect("text");
        let lines = text.lines().map(|l| Ok(l.to_owned()));
        Self(Scrape::parse(lines).expect("the Prometheus text format"))
    }

    /// The value of the sample `name` whose labels include `labels` (0 when there is none):
    /// a counter, gauge or untyped value, or a histogram's count (its +Inf bucket).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let matching: Vec<f64> = self
            .0
            .samples
            .iter()
            .filter(|s| s.metric == name)
            .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match &s.value {
                Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
                Value::Histogram(buckets) => buckets
                    .iter()
                    .find(|b| b.less_than.is_infinite())
                    .map_or(0.0, |b| b.count),
                Value::Summary(_) => f64::NAN,
            })
            .collect();
        assert!(matching.len() <= 1, "{name} {labels:?}: {matching:?}");
        matching.first().copied().unwrap_or(0.0)
    }

    fn has(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        self.0
            .samples
            .iter()
            .any(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
    }
}

const DURATION: &str = "rural_registry_http_request_duration_seconds";
const RESPONSES: &str = "rural_registry_http_responses_total";

#[tokio::test]
async fn metrics_count_the_requests_made_by_route_and_operation() {
    const N: usize = 7;
    for app in spawn_apps().await {
        let graphql = [("route", "/graphql"), ("operation", "CountedTownships")];
        let answered = [("route", "/graphql"), ("status", "200"), ("code", "")];
        let tile = [("route", "/tiles/:layer/:z/:x/:y")];
        let before = Metrics::of(&app).await;
        for _ in 0..N {
            let r = app
                .graphql(
                    "query CountedTownships { townships(first: 3) { totalCount nodes { name } } }",
                    json!({}),
                )
                .await;
            assert!(r["errors"].is_null(), "{}: {r}", app.engine);
        }
        for z in 0..3 {
            let r = app.get(&format!("/tiles/townships/{z}/0/0.mvt")).await;
            assert_eq!(r.status(), 200);
        }
        let after = Metrics::of(&app).await;

        let moved = |name: &str, labels: &[(&str, &str)]| {
            after.value(name, labels) - before.value(name, labels)
        };
        assert_eq!(moved(DURATION, &graphql), N as f64, "{}", app.engine);
        assert_eq!(
            after.value(&format!("{DURATION}_count"), &graphql),
            after.value(DURATION, &graphql),
            "{}: the count is the +Inf bucket",
            app.engine
        );
        assert!(moved(&format!("{DURATION}_sum"), &graphql) > 0.0);
        // Other requests answered meanwhile (none) would only add: the scrape itself is on
        // another listener and counts nowhere.
        assert_eq!(moved(RESPONSES, &answered), N as f64, "{}", app.engine);
        // Route templates, never raw paths.
        assert_eq!(moved(DURATION, &tile), 3.0, "{}", app.engine);
        assert!(
            !after.has(DURATION, &[("route", "/tiles/townships/0/0/0.mvt")]),
            "{}",
            app.engine
        );

        let statements = "rural_registry_sql_statements_per_request";
        let graphql_route = [("route", "/graphql")];
        assert!(moved(statements, &graphql_route) >= N as f64);
        assert!(
            moved(&format!("{statements}_sum"), &graphql_route) >= N as f64,
            "{}: every query read the database",
            app.engine
        );
        assert!(after.value("rural_registry_sql_statements_total", &[]) > 0.0);
        for state in ["in_use", "idle"] {
            assert!(
                after.has("rural_registry_db_pool_connections", &[("state", state)]),
                "{}: pool {state}",
                app.engine
            );
        }
        assert!(
            after.value("rural_registry_db_pool_connections", &[("state", "idle")])
                + after.value("rural_registry_db_pool_connections", &[("state", "in_use")])
                >= 1.0,
            "{}: the pool keeps a connection",
            app.engine
        );
        assert!(after.has("rural_registry_subscriptions_open", &[]));
        assert!(after.has("rural_registry_rate_limited_requests_total", &[]));
    }
}

#[tokio::test]
async fn metrics_are_not_on_the_public_port() {
    let app = spawn_app_with(|_| {}).await;
    assert_eq!(app.get("/metrics").await.status(), 404);
    let ops = app.metrics_address.trim_end_matches("/metrics");
    for (path, status) in [("/healthz", 200), ("/readyz", 200), ("/graphql", 404)] {
        let r = app
            .client
            .get(format!("{ops}{path}"))
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), status, "{path}");
    }
}

#[tokio::test]
async fn answers_are_counted_by_status_and_code_and_rate_refusals_apart() {
    let app = spawn_app_with(|s| s.rate_limit_per_minute = 2).await;
    let query = json!({ "query": "query Anonymous { townships(first: 1) { totalCount } }" });
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = app
            .client
            .post(format!("{}/graphql", app.address))
            .json(&query)
            .send()
            .await
            .expect("sent");
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);
    let bad = app.graphql("{ noSuchField }", json!({})).await;
    assert_eq!(crate::helpers::error_code(&bad), Some("BAD_INPUT"));

    let m = Metrics::of(&app).await;
    let graphql = |status: &'static str, code: &'static str| {
        m.value(
            RESPONSES,
            &[("route", "/graphql"), ("status", status), ("code", code)],
        )
    };
    assert_eq!(graphql("200", ""), 2.0);
    assert_eq!(graphql("429", "RATE_LIMITED"), 1.0);
    assert_eq!(graphql("200", "BAD_INPUT"), 1.0);
    assert_eq!(
        m.value("rural_registry_rate_limited_requests_total", &[]),
        1.0
    );
    // A refusal before the query was read has no operation.
    assert_eq!(
        m.value(
            DURATION,
            &[("route", "/graphql"), ("operation", "Anonymous")]
        ),
        2.0
    );
}

#[tokio::test]
async fn operation_names_a_caller_invents_do_not_grow_the_series() {
    let app = spawn_app_with(|_| {}).await;
    let name = "x".repeat(rural_registry::metrics::MAX_OPERATION_LEN + 1);
    for op in [name.as_str(), "Named"] {
        let r = app
            .graphql(
                &format!("query {op} {{ townships(first: 1) {{ totalCount }} }}"),
                json!({}),
            )
            .await;
        assert!(r["errors"].is_null(), "{r}");
    }
    let m = Metrics::of(&app).await;
    let operations: HashSet<&str> =
        m.0.samples
            .iter()
            .filter(|s| s.metric == DURATION)
            .filter_map(|s| s.labels.get("operation"))
            .collect();
    assert!(operations.contains("Named"), "{operations:?}");
    assert!(operations.contains("_other"), "{operations:?}");
    assert!(!operations.contains(name.as_str()));
}

#[tokio::test]
async fn imported_rows_are_counted_by_kind_and_outcome() {
    let app = spawn_app_with(|_| {}).await;
    let seeds = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/seeds/parties.csv"))
        .expect("the demo parties");
    let mut csv: String = seeds.lines().take(4).map(|l| format!("{l}\n")).collect();
    csv.push_str("HOUSEHOLD,,,,not an id number,,,\n");
    let (status, r) =
        crate::import::upload_kind(&app, Some(&app.admin), "PARTIES", &csv, true, true).await;
    assert_eq!(status, 200, "{r}");
    let report = &r["data"]["importFile"];
    let rows = report["rows"].as_f64().expect("rows");
    let inserted = report["inserted"].as_f64().expect("inserted");
    let updated = report["updated"].as_f64().expect("updated");
    assert_eq!(rows, 4.0, "{r}");
    assert!(rows > inserted + updated, "a row was refused: {r}");

    // The job counts its rows as it ends, just after its report is visible: asked again until
    // they are there.
    let mut m = Metrics::of(&app).await;
    let counted = |m: &Metrics, outcome| {
        m.value(
            "rural_registry_import_rows_total",
            &[("kind", "parties"), ("outcome", outcome)],
        )
    };
    for _ in 0..200 {
        if counted(&m, "refused") > 0.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        m = Metrics::of(&app).await;
    }
    let counted = |outcome| counted(&m, outcome);
    assert_eq!(counted("inserted"), inserted);
    assert_eq!(counted("updated"), updated);
    assert_eq!(counted("refused"), rows - inserted - updated);
}
