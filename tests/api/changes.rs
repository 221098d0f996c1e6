//! The change feed: every write path (the API, each row of an import, a status step, a delete
//! from anywhere) appears once, in order, with the record as the caller sees it now or a
//! tombstone; a reader paging while writers commit (on PostgreSQL, out of order, one held open)
//! misses and repeats nothing; an expired cursor is refused with what to do.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, spawn_apps};

const PAGE: &str = "query ($after: String, $e: [ChangeEntity!], $first: Int!) { changes(after: $after, entities: $e, first: $first) { endCursor hasMore changes { cursor entity id kind version at node { id ... on IdleAsset { code status } ... on Party { name } } } } }";

const REGISTER: &str = "mutation ($i: RegisterIdleAssetInput!) { registerIdleAsset(input: $i) { idleAsset { id code version } } }";

async fn cursor(app: &TestApp) -> String {
    let r = app.graphql("{ changeCursor }", json!({})).await;
    r["data"]["changeCursor"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: {r}", app.engine))
        .to_owned()
}

/// Every change after `after` ready now, page by page; the last cursor.
async fn read_all(
    app: &TestApp,
    after: &str,
    entities: Option<&[&str]>,
    first: i32,
) -> (Vec<Value>, String) {
    let mut out = Vec::new();
    let mut after = after.to_owned();
    loop {
        let r = app
            .graphql(
                PAGE,
                json!({ "after": after, "e": entities, "first": first }),
            )
            .await;
        assert!(r["errors"].is_null(), "{}: {r}", app.engine);
        let page = &r["data"]["changes"];
        out.extend(page["changes"].as_array().expect("changes").iter().cloned());
        after = page["endCursor"].as_str().expect("a cursor").to_owned();
        if page["hasMore"] != true {
            return (out, after);
        }
    }
}

fn asset_input(code: &str, n: usize) -> Value {
    json!({
        "code": code, "kind": "IDLE_FARMHOUSE",
        "ownerId": rural_registry::graphql::common::ids::Kind::Party.id(1),
        "longitude": 117.164953 + (n % 40) as f64 * 1e-5,
        "latitude": 28.16099 + (n / 40) as f64 * 1e-5,
        "floorAreaSquareMeters": 80,
    })
}

#[tokio::test]
async fn every_write_path_appears_once_in_order_with_the_record_as_it_is_now() {
    for app in spawn_apps().await {
        let engine = app.engine;
        let start = cursor(&app).await;
        let r = app
            .graphql(REGISTER, json!({ "i": asset_input("FEED-1", 0) }))
            .await;
        assert!(r["errors"].is_null(), "{engine}: {r}");
        let asset = r["data"]["registerIdleAsset"]["idleAsset"].clone();
        let r = app
            .graphql(
                "mutation ($i: ChangeIdleAssetStatusInput!) { changeIdleAssetStatus(input: $i) { idleAsset { version } } }",
                json!({ "i": { "id": asset["id"], "version": asset["version"], "status": "VERIFIED" } }),
            )
            .await;
        assert!(r["errors"].is_null(), "{engine}: {r}");
        let seeds =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/seeds/parties.csv"))
                .expect("the demo parties");
        let header = seeds.lines().next().expect("a header");
        let row = seeds.lines().nth(1).expect("a row");
        // Two new households, as an import writes them: the first's row with new keys.
        let mut csv = format!("{header}\n");
        for n in 0..2 {
            let cells: Vec<String> = row
                .split(',')
                .enumerate()
                .map(|(i, c)| match i {
                    1 => format!("新户{n}"),
                    2 => format!("36990110120199{n:02}"),
                    4 => String::new(),
                    _ => c.to_owned(),
                })
                .collect();
            csv.push_str(&cells.join(","));
            csv.push('\n');
        }
        let (_, r) =
            crate::import::upload_kind(&app, Some(&app.admin), "PARTIES", &csv, false, false).await;
        assert_eq!(r["data"]["importFile"]["inserted"], 2, "{engine}: {r}");
        // A delete, whatever made it: a tombstone.
        app.db
            .execute_unprepared("DELETE FROM target WHERE id = (SELECT MIN(id) FROM target)")
            .await
            .expect("a target deleted");

        let (changes, end) = read_all(&app, &start, None, 2).await;
        let cursors: HashSet<&str> = changes
            .iter()
            .filter_map(|c| c["cursor"].as_str())
            .collect();
        assert_eq!(cursors.len(), changes.len(), "{engine}: a change twice");
        let of = |entity: &str, kind: &str| -> Vec<&Value> {
            changes
                .iter()
                .filter(|c| c["entity"] == entity && c["kind"] == kind)
                .collect()
        };
        let created = of("IDLE_ASSET", "CREATED");
        assert_eq!(created.len(), 1, "{engine}: {changes:?}");
        assert_eq!(created[0]["id"], asset["id"]);
        assert_eq!(created[0]["version"], 1);
        // The record as it is now: the status step after it is in the node already.
        assert_eq!(created[0]["node"]["status"], "VERIFIED", "{engine}");
        let updated = of("IDLE_ASSET", "UPDATED");
        assert_eq!(updated.len(), 1, "{engine}: {changes:?}");
        assert_eq!(updated[0]["version"], 2);
        let parties = of("PARTY", "CREATED");
        let names: HashSet<&str> = parties
            .iter()
            .filter_map(|c| c["node"]["name"].as_str())
            .collect();
        assert_eq!(
            names,
            HashSet::from(["新户0", "新户1"]),
            "{engine}: {changes:?}"
        );
        let deleted = of("TARGET", "DELETED");
        assert_eq!(deleted.len(), 1, "{engine}: {changes:?}");
        assert!(deleted[0]["node"].is_null(), "a tombstone");
        // In order: the asset's creation before its step, both before the import's rows.
        let at = |c: &Value| changes.iter().position(|x| x["cursor"] == c["cursor"]);
        assert!(at(created[0]) < at(updated[0]) && at(updated[0]) < at(parties[0]));

        // Narrowed to parties; read on from the end: nothing new.
        let (only, _) = read_all(&app, &start, Some(&["PARTY"]), 1000).await;
        assert!(only.iter().all(|c| c["entity"] == "PARTY"), "{engine}");
        assert_eq!(only.len(), parties.len(), "{engine}");
        let (none, again) = read_all(&app, &end, None, 10).await;
        assert!(none.is_empty(), "{engine}: {none:?}");
        assert_eq!(again, end);

        // Bad input, each with its code; the feed needs a token.
        let ask =
            |after: Value, first: i32| app.graphql(PAGE, json!({ "after": after, "first": first }));
        assert_eq!(
            error_code(&ask(json!("nonsense"), 10).await),
            Some("BAD_INPUT")
        );
        assert_eq!(error_code(&ask(json!(null), 0).await), Some("BAD_INPUT"));
        assert_eq!(
            error_code(&ask(json!(null), 1001).await),
            Some("LIMIT_EXCEEDED")
        );
        let r = app
            .graphql_as(None, PAGE, json!({ "after": null, "first": 10 }))
            .await;
        assert_eq!(error_code(&r), Some("UNAUTHENTICATED"), "{engine}: {r}");
    }
}

#[tokio::test]
async fn a_reader_paging_while_writers_commit_misses_and_repeats_nothing() {
    const WRITERS: usize = 6;
    const EACH: usize = 12;
    for app in spawn_apps().await {
        let engine = app.engine;
        let start = cursor(&app).await;
        // On PostgreSQL a transaction takes its sequence number first and commits last: the
        // reader must not pass its change while it is open.
        let held = if engine == "postgres" {
            let txn = sea_orm::TransactionTrait::begin(&app.db)
                .await
                .expect("a transaction");
            txn.execute_unprepared(
                "UPDATE township SET name = name WHERE id = (SELECT MIN(id) FROM township)",
            )
            .await
            .expect("a change held open");
            Some(txn)
        } else {
            None
        };
        let done = AtomicBool::new(false);
        let writers = futures_util::future::join_all((0..WRITERS).map(|w| {
            let app = &app;
            async move {
                for n in 0..EACH {
                    let code = format!("PAGE-{w}-{n}");
                    let r = app
                        .graphql(REGISTER, json!({ "i": asset_input(&code, w * EACH + n) }))
                        .await;
                    assert!(r["errors"].is_null(), "{}: {r}", app.engine);
                }
            }
        }));
        let reader = async {
            let mut seen: Vec<Value> = Vec::new();
            let mut after = start.clone();
            let deadline = Instant::now() + Duration::from_secs(300);
            loop {
                let finished = done.load(Ordering::SeqCst);
                let (page, end) = read_all(&app, &after, None, 7).await;
                seen.extend(page);
                after = end;
                let assets = seen.iter().filter(|c| c["entity"] == "IDLE_ASSET").count();
                if finished && assets >= WRITERS * EACH {
                    return seen;
                }
                assert!(Instant::now() < deadline, "{engine}: {assets} assets seen");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        let write_then_release = async {
            writers.await;
            if let Some(txn) = held {
                // The writers' changes committed after the held one began: none may have been
                // read past it before it commits.
                txn.commit().await.expect("commit");
            }
            done.store(true, Ordering::SeqCst);
        };
        let ((), seen) = tokio::join!(write_then_release, reader);
        let mut times: HashMap<String, usize> = HashMap::new();
        for c in &seen {
            *times
                .entry(c["cursor"].as_str().expect("a cursor").to_owned())
                .or_default() += 1;
        }
        assert!(times.values().all(|n| *n == 1), "{engine}: a change twice");
        let codes: HashSet<&str> = seen
            .iter()
            .filter(|c| c["entity"] == "IDLE_ASSET" && c["kind"] == "CREATED")
            .filter_map(|c| c["node"]["code"].as_str())
            .collect();
        assert_eq!(codes.len(), WRITERS * EACH, "{engine}");
        if engine == "postgres" {
            let townships = seen.iter().filter(|c| c["entity"] == "TOWNSHIP").count();
            assert_eq!(townships, 1, "{engine}: the held change, read once");
        }
    }
}

#[tokio::test]
async fn a_cursor_older_than_the_retention_is_refused_with_what_to_do() {
    for app in spawn_apps().await {
        let engine = app.engine;
        let old = cursor(&app).await;
        let r = app
            .graphql(REGISTER, json!({ "i": asset_input("KEPT-1", 0) }))
            .await;
        assert!(r["errors"].is_null(), "{engine}: {r}");
        let (changes, _) = read_all(&app, &old, None, 100).await;
        assert_eq!(changes.len(), 1, "{engine}: {changes:?}");
        // Everything written so far passes the retention.
        let pruned = rural_registry::db::events::prune(
            &app.db,
            chrono::Utc::now() + chrono::Duration::seconds(1),
        )
        .await
        .expect("pruned");
        assert!(pruned > 0, "{engine}");
        let r = app
            .graphql(PAGE, json!({ "after": old, "first": 10 }))
            .await;
        assert_eq!(error_code(&r), Some("CURSOR_EXPIRED"), "{engine}: {r}");
        assert!(
            r["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("changeCursor")),
            "{engine}: says what to do: {r}"
        );
        // From the oldest kept, or from the cursor now, the feed reads on.
        let now = cursor(&app).await;
        let r = app
            .graphql(REGISTER, json!({ "i": asset_input("KEPT-2", 1) }))
            .await;
        assert!(r["errors"].is_null(), "{engine}: {r}");
        for from in [now.as_str(), ""] {
            let after = if from.is_empty() {
                json!(null)
            } else {
                json!(from)
            };
            let r = app
                .graphql(PAGE, json!({ "after": after, "first": 10 }))
                .await;
            let codes: Vec<&str> = r["data"]["changes"]["changes"]
                .as_array()
                .unwrap_or_else(|| panic!("{engine}: {r}"))
                .iter()
                .filter_map(|c| c["node"]["code"].as_str())
                .collect();
            assert_eq!(codes, ["KEPT-2"], "{engine}: {r}");
        }
    }
}

#[tokio::test]
async fn a_page_of_1000_changes_travels_gzipped_to_a_client_that_takes_gzip() {
    use std::io::Read as _;
    let app = crate::helpers::spawn_app().await;
    let start = cursor(&app).await;
    // A thousand assets surveyed, as a township's file brings them.
    let (csv, _) = crate::import_kill::survey(&app.db, "GZ", 1000).await;
    let (_, r) =
        crate::import::upload_kind(&app, Some(&app.admin), "ASSETS", &csv, false, false).await;
    assert_eq!(r["data"]["importFile"]["inserted"], 1000, "{r}");
    let page = json!({
        "query": "query ($after: String) { changes(after: $after, first: 1000) { endCursor changes { cursor entity id kind version at node { id ... on IdleAsset { code status kind longitude latitude floorAreaSquareMeters address } } } } }",
        "variables": { "after": start },
    });
    let post = |encoding: Option<&'static str>| {
        let mut req = app
            .client
            .post(format!("{}/graphql", app.address))
            .bearer_auth(&app.admin)
            .json(&page);
        if let Some(e) = encoding {
            req = req.header("accept-encoding", e);
        }
        async move { req.send().await.expect("sent") }
    };
    let plain = post(None).await;
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.bytes().await.expect("a body");
    let refused = post(Some("gzip;q=0, identity")).await;
    assert!(refused.headers().get("content-encoding").is_none());
    let gzipped = post(Some("br;q=1.0, gzip;q=0.8")).await;
    assert_eq!(
        gzipped
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("gzip")
    );
    let gzipped = gzipped.bytes().await.expect("a body");
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&gzipped[..])
        .read_to_end(&mut unzipped)
        .expect("gzip");
    let (a, b): (Value, Value) = (
        serde_json::from_slice(&plain).expect("JSON"),
        serde_json::from_slice(&unzipped).expect("JSON"),
    );
    assert_eq!(a["data"], b["data"]);
    assert_eq!(
        a["data"]["changes"]["changes"].as_array().map(Vec::len),
        Some(1000)
    );
    eprintln!(
        "a page of 1000 changed assets: {} bytes, {} gzipped",
        plain.len(),
        gzipped.len()
    );
    assert!(
        gzipped.len() * 4 < plain.len(),
        "{} of {}",
        gzipped.len(),
        plain.len()
    );
}

#[tokio::test]
async fn a_long_transaction_in_another_database_does_not_hold_the_feed_back() {
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        return;
    };
    for app in spawn_apps()
        .await
        .into_iter()
        .filter(|a| a.engine == "postgres")
    {
        let start = cursor(&app).await;
        // A transaction elsewhere on the server, with an id and open for the whole test.
        let elsewhere = sea_orm::Database::connect(&admin_url)
            .await
            .expect("connect");
        let txn = sea_orm::TransactionTrait::begin(&elsewhere)
            .await
            .expect("a transaction");
        txn.execute_unprepared("SELECT pg_current_xact_id()")
            .await
            .expect("an id");
        let r = app
            .graphql(REGISTER, json!({ "i": asset_input("ELSEWHERE-1", 3) }))
            .await;
        assert!(r["errors"].is_null(), "{r}");
        let (changes, _) = read_all(&app, &start, Some(&["IDLE_ASSET"]), 10).await;
        let codes: Vec<&str> = changes
            .iter()
            .filter_map(|c| c["node"]["code"].as_str())
            .collect();
        assert_eq!(codes, ["ELSEWHERE-1"], "at once, not when the other ends");
        txn.rollback().await.expect("rollback");
    }
}
