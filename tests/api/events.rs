//! `assetEvents` and `mortgageEvents` from the event log: every write path tells subscribers, in
//! order, what their role may hear; a subscriber resumes after the last id it saw, missing and
//! repeating nothing; and, on PostgreSQL, an event held back by a transaction still open is
//! delivered when it commits, never skipped by a reader that has moved past later ones.

use rural_registry::domain::access::Role;
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde_json::{Value, json};

use crate::helpers::{
    WebSocket, error_code, import_as_admin, next_message, rect, spawn_apps, spawn_empty_apps,
};

const ADMIN_VIEW: &str = "subscription { assetEvents { id action assetId code status previousStatus townshipId previousTownshipId villageId } }";

/// The next `n` events of subscription `field` (an error counts as one), then nothing more for
/// a moment. The wait is long: on PostgreSQL a write transaction anywhere in the cluster (another
/// test's import, say) holds events back until it ends.
async fn heard(ws: &mut WebSocket, field: &str, n: usize) -> Vec<Value> {
    let mut events = Vec::new();
    while events.len() < n {
        let Some(m) = next_message(ws, 60_000).await else {
            panic!("{} of {n} events heard: {events:?}", events.len());
        };
        assert_eq!(m["type"], "next", "{m}");
        if m["payload"]["errors"].is_array() {
            events.push(m["payload"].clone());
        } else {
            events.push(m["payload"]["data"][field].clone());
        }
    }
    assert_eq!(
        next_message(ws, 300).await,
        None,
        "no more than {n}: {events:?}"
    );
    events
}

fn actions(events: &[Value]) -> Vec<&str> {
    events.iter().filter_map(|e| e["action"].as_str()).collect()
}

const TOWNSHIP: &str = "mutation ($code: String!, $b: GeoJSON!) { upsertTownship(input: { code: $code, name: \"测试镇\", boundary: $b }) { township { id } } }";
const VILLAGE: &str = "mutation ($code: String!, $b: GeoJSON!) { upsertVillage(input: { townshipCode: \"369901901000\", code: $code, name: \"测试村\", boundary: $b }) { reassigned } }";

#[tokio::test]
async fn every_write_path_tells_subscribers_in_order_what_their_role_may_hear() {
    for app in spawn_empty_apps().await {
        let t =
            |code: &'static str, b: Value| app.graphql(TOWNSHIP, json!({ "code": code, "b": b }));
        let first = t("369901901000", rect(117.0, 117.1)).await;
        let second = t("369901902000", rect(117.1, 117.2)).await;
        let (t1, t2) = (
            first["data"]["upsertTownship"]["township"]["id"].clone(),
            second["data"]["upsertTownship"]["township"]["id"].clone(),
        );
        assert!(t1.is_string() && t2.is_string(), "{first} {second}");
        let v =
            |code: &'static str, b: Value| app.graphql(VILLAGE, json!({ "code": code, "b": b }));
        assert!(v("369901901201", rect(117.0, 117.05)).await["errors"].is_null());
        assert!(v("369901901202", rect(117.05, 117.1)).await["errors"].is_null());
        let party = app
            .graphql(r#"mutation { registerParty(input: { kind: HOUSEHOLD, name: "测试户", householdNo: "H-1" }) { party { id } } }"#, json!({}))
            .await;
        let owner = party["data"]["registerParty"]["party"]["id"].clone();

        let cadre = app.token(Role::Cadre, Some("369901902000"), None).await;
        let mut office = app.subscribe(Some(&app.admin), ADMIN_VIEW).await;
        let mut public = app
            .subscribe(
                None,
                "subscription { assetEvents { action status townshipId location } }",
            )
            .await;
        let mut nosy = app
            .subscribe(None, "subscription { assetEvents { code } }")
            .await;
        let mut second_township = app
            .subscribe(
                Some(&cadre),
                "subscription { assetEvents { action code townshipId previousTownshipId } }",
            )
            .await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;

        let asset = json!({ "code": "A-1", "kind": "IDLE_FARMHOUSE", "ownerId": owner, "longitude": 117.06, "latitude": 28.05 });
        let r = app.graphql("mutation ($i: RegisterIdleAssetInput!) { registerIdleAsset(input: $i) { idleAsset { id } } }", json!({ "i": asset })).await;
        let id = r["data"]["registerIdleAsset"]["idleAsset"]["id"].clone();
        assert!(id.is_string(), "{}: {r}", app.engine);
        let r = app.graphql("mutation ($i: ChangeIdleAssetStatusInput!) { changeIdleAssetStatus(input: $i) { idleAsset { version } } }", json!({ "i": { "id": id, "version": 1, "status": "VERIFIED" } })).await;
        assert!(r["errors"].is_null(), "{r}");
        // A boundary change moves it into the other village.
        let r = v("369901901201", rect(117.0, 117.04)).await;
        assert!(r["errors"].is_null(), "{r}");
        let r = v("369901901202", rect(117.04, 117.1)).await;
        assert!(r["errors"].is_null(), "{r}");
        let r = v("369901901201", rect(117.0, 117.07)).await;
        assert_eq!(error_code(&r), Some("BAD_INPUT"), "overlaps: {r}");
        let r = v("369901901202", rect(117.07, 117.1)).await;
        assert_eq!(r["data"]["upsertVillage"]["reassigned"], 1, "{r}");
        let r = v("369901901201", rect(117.0, 117.07)).await;
        assert_eq!(r["data"]["upsertVillage"]["reassigned"], 1, "{r}");
        // An edit that takes it into the other township, and one that does not move it.
        let update = "mutation ($i: UpdateIdleAssetInput!) { updateIdleAsset(input: $i) { idleAsset { version } } }";
        let current = app
            .graphql(
                "query ($id: ID!) { node(id: $id) { ... on IdleAsset { version } } }",
                json!({ "id": id }),
            )
            .await;
        let version = current["data"]["node"]["version"]
            .as_i64()
            .expect("a version");
        let r = app.graphql(update, json!({ "i": { "id": id, "version": version, "longitude": 117.15, "latitude": 28.05 } })).await;
        assert!(r["errors"].is_null(), "{r}");
        let r = app
            .graphql(
                update,
                json!({ "i": { "id": id, "version": version + 1, "address": "新地址" } }),
            )
            .await;
        assert!(r["errors"].is_null(), "{r}");

        let all = heard(&mut office, "assetEvents", 6).await;
        assert_eq!(
            actions(&all),
            [
                "REGISTERED",
                "STATUS_CHANGED",
                "MOVED",
                "MOVED",
                "MOVED",
                "CHANGED"
            ],
            "{}: {all:?}",
            app.engine
        );
        assert!(all.iter().all(|e| e["assetId"] == id && e["code"] == "A-1"));
        assert_eq!(
            (&all[1]["previousStatus"], &all[1]["status"]),
            (&json!("IDENTIFIED"), &json!("VERIFIED"))
        );
        assert_eq!(all[4]["previousTownshipId"], t1, "{}", all[4]);
        assert_eq!(all[4]["townshipId"], t2);
        assert!(all[4]["villageId"].is_null(), "outside every village now");
        let ids: Vec<i64> = all
            .iter()
            .map(|e| {
                e["id"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .expect("an id")
            })
            .collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");

        let public = heard(&mut public, "assetEvents", 6).await;
        assert_eq!(
            actions(&public),
            actions(&all),
            "anonymous callers hear them all"
        );
        let point = &public[0]["location"]["coordinates"];
        assert_ne!(
            (point[0].as_f64(), point[1].as_f64()),
            (Some(117.06), Some(28.05)),
            "{}: on the public grid, not the house: {point}",
            app.engine
        );
        let nosy = heard(&mut nosy, "assetEvents", 6).await;
        assert_eq!(
            nosy[0]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "no code without a token: {:?}",
            nosy
        );
        let theirs = heard(&mut second_township, "assetEvents", 2).await;
        assert_eq!(
            actions(&theirs),
            ["MOVED", "CHANGED"],
            "{}: a cadre hears its township's, from the move in: {theirs:?}",
            app.engine
        );
        app.assert_sound().await;
    }
}

#[tokio::test]
async fn an_import_from_the_command_line_reaches_subscribers_and_a_cadre_asks_only_for_its_own() {
    for app in spawn_apps().await {
        let mut office = app.subscribe(Some(&app.admin), ADMIN_VIEW).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        // Written by another writer than the server (as `rural-registry import` would).
        let rows = crate::import::good_row(&app, "EV-IMP-1").await;
        let file = format!(
            "{}\n{rows}\n{}\n",
            crate::import::HEADER,
            rows.replace("EV-IMP-1", "EV-IMP-2")
        );
        let report = import_as_admin(
            &app.db,
            rural_registry::services::import::Kind::Assets,
            std::io::Cursor::new(file.into_bytes()),
            Default::default(),
        )
        .await;
        assert_eq!(report.inserted, 2, "{}: {report:?}", app.engine);
        let events = heard(&mut office, "assetEvents", 2).await;
        let codes: Vec<&str> = events.iter().filter_map(|e| e["code"].as_str()).collect();
        assert_eq!(
            codes,
            ["EV-IMP-1", "EV-IMP-2"],
            "{}: {events:?}",
            app.engine
        );
        assert_eq!(actions(&events), ["REGISTERED", "REGISTERED"]);

        let cadre = app.token(Role::Cadre, Some("369901102000"), None).await;
        let other = app
            .graphql(r#"{ township(code: "369901101000") { id } }"#, json!({}))
            .await;
        let query = format!(
            "subscription {{ assetEvents(township: {}) {{ action }} }}",
            other["data"]["township"]["id"]
        );
        let mut ws = app.subscribe(Some(&cadre), &query).await;
        let refused = next_message(&mut ws, 5_000).await.expect("an answer");
        assert_eq!(
            refused["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{}: {refused}",
            app.engine
        );
    }
}

#[tokio::test]
async fn a_subscriber_resumes_after_the_last_event_it_saw_and_hears_each_once() {
    for app in spawn_apps().await {
        let asset = app
            .graphql("{ idleAssets(first: 1, filter: { status: [IDENTIFIED] }) { nodes { id version } } }", json!({}))
            .await;
        let node = &asset["data"]["idleAssets"]["nodes"][0];
        let id = node["id"].clone();
        let mut version = node["version"].as_i64().expect("a version");
        let step = |status: &'static str, version: i64| {
            app.graphql(
                "mutation ($i: ChangeIdleAssetStatusInput!) { changeIdleAssetStatus(input: $i) { idleAsset { version } } }",
                json!({ "i": { "id": id, "version": version, "status": status } }),
            )
        };
        let query = |after: Option<&str>| match after {
            Some(a) => format!("subscription {{ assetEvents(after: \"{a}\") {{ id status }} }}"),
            None => "subscription { assetEvents { id status } }".to_owned(),
        };
        let mut ws = app.subscribe(Some(&app.admin), &query(None)).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        for status in ["VERIFIED", "LISTED"] {
            let r = step(status, version).await;
            assert!(r["errors"].is_null(), "{}: {r}", app.engine);
            version += 1;
        }
        let first = heard(&mut ws, "assetEvents", 2).await;
        assert_eq!(first.len(), 2, "{}: {first:?}", app.engine);
        drop(ws);
        // Away: two more changes.
        for status in ["NEGOTIATING", "LISTED"] {
            let r = step(status, version).await;
            assert!(r["errors"].is_null(), "{r}");
            version += 1;
        }
        let last = first[1]["id"].as_str().expect("an id");
        let mut back = app.subscribe(Some(&app.admin), &query(Some(last))).await;
        let missed = heard(&mut back, "assetEvents", 2).await;
        let statuses: Vec<&str> = missed.iter().filter_map(|e| e["status"].as_str()).collect();
        assert_eq!(
            statuses,
            ["NEGOTIATING", "LISTED"],
            "{}: {missed:?}",
            app.engine
        );
        // And then live, nothing twice.
        let r = step("VERIFIED", version).await;
        assert!(r["errors"].is_null(), "{r}");
        let live = heard(&mut back, "assetEvents", 1).await;
        assert_eq!(live.len(), 1, "{live:?}");
        assert_eq!(live[0]["status"], "VERIFIED");

        for (after, code) in [("999999999", "NOT_FOUND"), ("a", "BAD_INPUT")] {
            let mut ws = app.subscribe(Some(&app.admin), &query(Some(after))).await;
            let m = next_message(&mut ws, 5_000).await.expect("an answer");
            assert_eq!(m["payload"]["errors"][0]["extensions"]["code"], code, "{m}");
        }
    }
}

#[tokio::test]
async fn an_event_held_back_by_an_open_transaction_is_delivered_when_it_commits_never_skipped() {
    for app in spawn_apps().await {
        if app.engine != "postgres" {
            // SQLite's writers take turns: sequence order is commit order.
            continue;
        }
        let assets = app
            .graphql("{ idleAssets(first: 2, filter: { status: [IDENTIFIED] }) { nodes { id code version } } }", json!({}))
            .await;
        let nodes = &assets["data"]["idleAssets"]["nodes"];
        let mut ws = app
            .subscribe(
                Some(&app.admin),
                "subscription { assetEvents { id assetId status } }",
            )
            .await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        // A writer takes the earlier sequence number and stays open...
        let code = nodes[0]["code"].as_str().expect("a code");
        let open = app.db.begin().await.expect("begin");
        open.execute_raw(Statement::from_string(
            app.db.get_database_backend(),
            format!(
                "UPDATE idle_asset SET status = 'VERIFIED', version = version + 1 WHERE code = '{code}'"
            ),
        ))
        .await
        .expect("update");
        // ...while another commits a later one.
        let r = app.graphql(
            "mutation ($i: ChangeIdleAssetStatusInput!) { changeIdleAssetStatus(input: $i) { idleAsset { version } } }",
            json!({ "i": { "id": nodes[1]["id"], "version": nodes[1]["version"], "status": "VERIFIED" } }),
        ).await;
        assert!(r["errors"].is_null(), "{r}");
        assert_eq!(
            next_message(&mut ws, 1_500).await,
            None,
            "the later event waits for the open writer"
        );
        open.commit().await.expect("commit");
        let events = heard(&mut ws, "assetEvents", 2).await;
        let heard_ids: Vec<&Value> = events.iter().map(|e| &e["assetId"]).collect();
        assert_eq!(
            heard_ids,
            [&nodes[0]["id"], &nodes[1]["id"]],
            "both, in the log's order: {events:?}"
        );
        app.assert_sound().await;
    }
}
