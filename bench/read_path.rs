//! Read-path benchmark: the real server (as `App::build` makes it) over the demo district,
//! loaded by 32 concurrent HTTP clients, one query at a time.
//!
//! `cargo bench --bench read_path` (SQLite) or, for PostgreSQL,
//! `BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/registry_bench cargo bench --bench read_path`
//! (the database must exist; it is migrated and seeded if empty). `BENCH_SECONDS` sets the
//! time per query (default 5). Prints one line per query: requests/s, p50 and p99 latency, and
//! the machine's load average, because these machines are shared and the figures move with it.
//! Issue 4 grows this into the million-asset benchmark against PostGraphile.

use std::time::{Duration, Instant};

use rural_registry::app::App;
use rural_registry::config::Settings;
use serde_json::json;

const CONCURRENCY: usize = 32;

const QUERIES: [(&str, &str); 3] = [
    (
        "Q1 township's first 50 assets with village and owner",
        r#"{ township(code: "369901102000") { idleAssets(first: 50) { edges { node { code kind status floorAreaSquareMeters village { name } owner { name kind } } } } } }"#,
    ),
    (
        "Q2 counts by status in a township",
        r#"{ township(code: "369901102000") { statusCounts { status count } } }"#,
    ),
    (
        "Q0 one asset by code",
        r#"{ idleAsset(code: "369901102203-0001") { code status township { name } } }"#,
    ),
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}/bench.db?mode=rwc", dir.path().display()));
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let mut settings = Settings::with_database(url.clone());
    settings.listen = "127.0.0.1:0".parse()?;
    settings.metrics_listen = None;
    // The load generator is one anonymous address; measure the server, not the rate limit.
    settings.rate_limit_per_minute = 0;
    let app = App::build(settings, true).await?;
    let endpoint = format!("http://{}/graphql", app.address());
    tokio::spawn(app.run_until_stopped());
    let engine = if url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    };
    println!(
        "engine {engine}, {CONCURRENCY} connections, {seconds} s a query, load average {}",
        load()
    );

    for (name, query) in QUERIES {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(CONCURRENCY)
            .build()?;
        let body = json!({ "query": query });
        // Warm up: connections, prepared statements, caches.
        for _ in 0..50 {
            client
                .post(&endpoint)
                .json(&body)
                .send()
                .await?
                .bytes()
                .await?;
        }
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut workers = Vec::new();
        for _ in 0..CONCURRENCY {
            let (client, endpoint, body) = (client.clone(), endpoint.clone(), body.clone());
            workers.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0usize;
                while Instant::now() < deadline {
                    let start = Instant::now();
                    let ok = match client.post(&endpoint).json(&body).send().await {
                        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    if ok {
                        latencies.push(start.elapsed());
                    } else {
                        errors += 1;
                    }
                }
                (latencies, errors)
            }));
        }
        let mut all = Vec::new();
        let mut errors = 0;
        for w in workers {
            let (l, e) = w.await?;
            all.extend(l);
            errors += e;
        }
        all.sort_unstable();
        let pct = |p: f64| {
            all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        println!(
            "{name:<55} {:>8.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {errors}  load {}",
            all.len() as f64 / seconds as f64,
            pct(0.50).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
            load()
        );
    }
    Ok(())
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
