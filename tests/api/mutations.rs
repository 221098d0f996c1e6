//! The write path: every mutation against every role, optimistic locking, concurrency,
//! atomicity, and the audit event each change leaves.

use rural_registry::domain::access::Role;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, spawn_apps};

const DONGCHUAN: &str = "369901102000";
const SUSHAN: &str = "369901103000";

const REGISTER: &str = "mutation ($input: RegisterIdleAssetInput!) { registerIdleAsset(input: $input) {
    idleAsset { id code status version township { code } village { name } landAreaSquareMeters } } }";
const STATUS: &str = "mutation ($input: ChangeIdleAssetStatusInput!) { changeIdleAssetStatus(input: $input) { idleAsset { status version } } }";
const UPDATE: &str = "mutation ($input: UpdateIdleAssetInput!) { updateIdleAsset(input: $input) { idleAsset { floorAreaSquareMeters version address } } }";
const REGISTER_PARTY: &str = "mutation ($input: RegisterPartyInput!) { registerParty(input: $input) { party { id name version } } }";
const UPDATE_PARTY: &str = "mutation ($input: UpdatePartyInput!) { updateParty(input: $input) { party { name phone version } } }";

/// A place to register at in a township: next to one of its assets, with that asset's owner.
struct Spot {
    lon: f64,
    lat: f64,
    owner: Value,
    village: Value,
    asset: Value,
}

async fn spot(app: &TestApp, township: &str) -> Spot {
    let r = app
        .graphql(
            "query ($t: String!) { township(code: $t) { idleAssets(first: 1, filter: { kind: [IDLE_HOMESTEAD] }) { nodes { id longitude latitude owner { id } village { id } } } } }",
            json!({ "t": township }),
        )
        .await;
    let a = &r["data"]["township"]["idleAssets"]["nodes"][0];
    Spot {
        lon: a["longitude"].as_f64().expect("lon") + 0.0001,
        lat: a["latitude"].as_f64().expect("lat") + 0.0001,
        owner: a["owner"]["id"].clone(),
        village: a["village"]["id"].clone(),
        asset: a["id"].clone(),
    }
}

fn asset_input(code: &str, s: &Spot) -> Value {
    json!({ "code": code, "kind": "IDLE_FARMHOUSE", "ownerId": s.owner, "longitude": s.lon, "latitude": s.lat,
            "floorAreaSquareMeters": 120.5, "structure": "BRICK_WOOD", "yearBuilt": 1998, "idleSince": "2021-03-01" })
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .expect("query")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("a count")
}

async fn version_of(app: &TestApp, id: &Value) -> i64 {
    let r = app.graphql("query ($id: ID!) { node(id: $id) { ... on IdleAsset { version } ... on Party { version } } }", json!({ "id": id })).await;
    r["data"]["node"]["version"].as_i64().expect("a version")
}

#[tokio::test]
async fn a_cadre_registers_an_asset_in_its_township_and_the_change_is_audited() {
    for app in spawn_apps().await {
        let cadre = app.token(Role::Cadre, Some(DONGCHUAN), None).await;
        let s = spot(&app, DONGCHUAN).await;
        let r = app
            .graphql_as(
                Some(&cadre),
                REGISTER,
                json!({ "input": asset_input("DC-NEW-1", &s) }),
            )
            .await;
        assert!(r["errors"].is_null(), "{}: {r}", app.engine);
        let asset = &r["data"]["registerIdleAsset"]["idleAsset"];
        assert_eq!(asset["status"], "IDENTIFIED");
        assert_eq!(asset["version"], 1);
        assert_eq!(
            asset["township"]["code"], DONGCHUAN,
            "the township comes from the location"
        );
        let history = app
            .graphql("query ($id: ID!) { node(id: $id) { ... on IdleAsset { history(first: 10) { totalCount nodes { action actorLabel actorRole before after requestId } } } } }", json!({ "id": asset["id"] }))
            .await;
        let events = &history["data"]["node"]["history"];
        assert_eq!(events["totalCount"], 1, "{}: {history}", app.engine);
        let e = &events["nodes"][0];
        assert_eq!(e["action"], "registerIdleAsset");
        assert_eq!(e["actorRole"], "CADRE");
        assert!(
            e["before"].is_null() && e["after"]["code"] == "DC-NEW-1",
            "{e}"
        );
        assert!(e["requestId"].as_str().is_some_and(|id| !id.is_empty()));
        app.assert_sound().await;
    }
}

#[tokio::test]
async fn every_mutation_answers_each_role_as_the_policy_says() {
    for app in spawn_apps().await {
        let own = app.token(Role::Cadre, Some(DONGCHUAN), None).await;
        let other = app.token(Role::Cadre, Some(SUSHAN), None).await;
        let bank = app.token(Role::Bank, None, Some("QLRCB")).await;
        let admin = app.admin.clone();
        let callers: [(&str, Option<&str>); 5] = [
            ("admin", Some(&admin)),
            ("own cadre", Some(&own)),
            ("other cadre", Some(&other)),
            ("bank", Some(&bank)),
            ("anonymous", None),
        ];
        let expected = [
            None,
            None,
            Some("FORBIDDEN"),
            Some("FORBIDDEN"),
            Some("UNAUTHENTICATED"),
        ];
        let s = spot(&app, DONGCHUAN).await;
        for (i, ((who, token), want)) in callers.iter().zip(expected).enumerate() {
            // A fresh IDENTIFIED asset for each caller, so each meets the same state.
            let fresh = app
                .graphql(
                    REGISTER,
                    json!({ "input": asset_input(&format!("F-{i}"), &s) }),
                )
                .await;
            let target = fresh["data"]["registerIdleAsset"]["idleAsset"]["id"].clone();
            let cases: Vec<(&str, &str, Value)> = vec![
                (
                    "registerIdleAsset",
                    REGISTER,
                    json!({ "input": asset_input(&format!("M-{i}"), &s) }),
                ),
                (
                    "changeIdleAssetStatus",
                    STATUS,
                    json!({ "input": { "id": target, "version": 1, "status": "VERIFIED" } }),
                ),
                (
                    "updateIdleAsset",
                    UPDATE,
                    json!({ "input": { "id": s.asset, "version": version_of(&app, &s.asset).await, "address": format!("改 {i}") } }),
                ),
                (
                    "registerParty",
                    REGISTER_PARTY,
                    json!({ "input": { "kind": "HOUSEHOLD", "name": "测试户", "householdNo": format!("H-{i}"), "villageId": s.village } }),
                ),
                (
                    "updateParty",
                    UPDATE_PARTY,
                    json!({ "input": { "id": s.owner, "version": version_of(&app, &s.owner).await, "phone": format!("1355550{i:04}") } }),
                ),
            ];
            for (name, q, vars) in cases {
                let r = app.graphql_as(*token, q, vars).await;
                assert_eq!(error_code(&r), want, "{} {name} as {who}: {r}", app.engine);
            }
        }
        let asset_events = count(
            &app,
            "SELECT COUNT(*) FROM audit_event WHERE entity = 'idle_asset' AND entity_id IS NOT NULL",
        )
        .await;
        let assets = count(
            &app,
            "SELECT COUNT(*) FROM idle_asset WHERE code LIKE 'M-%'",
        )
        .await;
        assert_eq!(assets, 2, "{}: admin and own cadre registered", app.engine);
        assert_eq!(
            asset_events,
            5 + 2 + 2 + 2,
            "{}: five fresh assets, then two registrations, status changes and updates",
            app.engine
        );
        let parties = count(
            &app,
            "SELECT COUNT(*) FROM party WHERE household_no LIKE 'H-%'",
        )
        .await;
        assert_eq!(
            parties, 2,
            "{}: admin and own cadre registered parties",
            app.engine
        );
        app.assert_sound().await;
    }
}

#[tokio::test]
async fn bad_writes_get_their_code_and_change_nothing() {
    for app in spawn_apps().await {
        let s = spot(&app, DONGCHUAN).await;
        let bow_tie = json!({ "type": "Polygon", "coordinates": [[[s.lon, s.lat], [s.lon + 0.0002, s.lat + 0.0002], [s.lon + 0.0002, s.lat], [s.lon, s.lat + 0.0002], [s.lon, s.lat]]] });
        let d = 0.0002;
        let square = |x: f64, y: f64, size: f64| {
            json!([
                [x, y],
                [x + size, y],
                [x + size, y + size],
                [x, y + size],
                [x, y]
            ])
        };
        let hole_outside = json!({ "type": "Polygon", "coordinates": [
            square(s.lon - d, s.lat - d, 2.0 * d), square(s.lon + 3.0 * d, s.lat, d / 2.0)] });
        let open_ring = json!({ "type": "Polygon", "coordinates": [[
            [s.lon - d, s.lat - d], [s.lon + d, s.lat - d], [s.lon + d, s.lat + d], [s.lon - d, s.lat + d]]] });
        let flat = json!({ "type": "Polygon", "coordinates": [[
            [s.lon - d, s.lat], [s.lon, s.lat], [s.lon + d, s.lat], [s.lon - d, s.lat]]] });
        let three = json!({ "type": "Polygon", "coordinates": [[
            [s.lon - d, s.lat - d], [s.lon + d, s.lat - d], [s.lon - d, s.lat - d]]] });
        let with = |patch: Value| {
            let mut input = asset_input("BAD-1", &s);
            for (k, v) in patch.as_object().expect("object") {
                input[k] = v.clone();
            }
            json!({ "input": input })
        };
        let cases = [
            (
                with(json!({ "longitude": 116.0 })),
                "INVALID_GEOMETRY",
                "outside the district",
            ),
            (
                with(json!({ "latitude": 95.0 })),
                "INVALID_GEOMETRY",
                "latitude out of range",
            ),
            (
                with(json!({ "footprint": bow_tie })),
                "INVALID_GEOMETRY",
                "self-intersecting footprint",
            ),
            (
                with(json!({ "footprint": hole_outside })),
                "INVALID_GEOMETRY",
                "a hole outside its polygon",
            ),
            (
                with(json!({ "footprint": open_ring })),
                "INVALID_GEOMETRY",
                "a ring not closed",
            ),
            (
                with(json!({ "footprint": flat })),
                "INVALID_GEOMETRY",
                "a footprint without area",
            ),
            (
                with(json!({ "footprint": three })),
                "INVALID_GEOMETRY",
                "fewer than four positions",
            ),
            (
                with(json!({ "floorAreaSquareMeters": 0 })),
                "BAD_INPUT",
                "zero floor area",
            ),
            (
                with(json!({ "yearBuilt": 2999 })),
                "BAD_INPUT",
                "built in the future",
            ),
            (with(json!({ "code": "  " })), "BAD_INPUT", "blank code"),
            (
                with(json!({ "ownerId": s.asset })),
                "BAD_INPUT",
                "an asset as owner",
            ),
            (
                with(json!({ "code": "369901102203-0001" })),
                "CONFLICT",
                "a code already registered",
            ),
            (
                with(json!({ "kind": "CASTLE" })),
                "BAD_INPUT",
                "unknown kind",
            ),
        ];
        let before = count(&app, "SELECT COUNT(*) FROM idle_asset").await;
        let events = count(&app, "SELECT COUNT(*) FROM audit_event").await;
        for (vars, code, why) in cases {
            let r = app.graphql(REGISTER, vars).await;
            assert_eq!(error_code(&r), Some(code), "{} {why}: {r}", app.engine);
        }
        let version = version_of(&app, &s.asset).await;
        let r = app
            .graphql(
                STATUS,
                json!({ "input": { "id": s.asset, "version": version, "status": "REVITALIZED" } }),
            )
            .await;
        assert_eq!(
            error_code(&r),
            Some("BAD_INPUT"),
            "a lifecycle shortcut: {r}"
        );
        let r = app
            .graphql(
                UPDATE,
                json!({ "input": { "id": s.asset, "version": version + 7, "address": "x" } }),
            )
            .await;
        assert_eq!(error_code(&r), Some("CONFLICT"), "a stale version: {r}");
        let r = app.graphql(UPDATE, json!({ "input": { "id": s.asset, "version": version, "longitude": 116.0, "latitude": 28.2 } })).await;
        assert_eq!(
            error_code(&r),
            Some("INVALID_GEOMETRY"),
            "moved out of the district: {r}"
        );
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM idle_asset").await,
            before,
            "{}",
            app.engine
        );
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM audit_event").await,
            events,
            "{}: no audit event for a refused change",
            app.engine
        );
        assert_eq!(version_of(&app, &s.asset).await, version);
        app.assert_sound().await;
    }
}

#[tokio::test]
async fn a_cadre_cannot_move_an_asset_out_of_its_township() {
    for app in spawn_apps().await {
        let cadre = app.token(Role::Cadre, Some(DONGCHUAN), None).await;
        let here = spot(&app, DONGCHUAN).await;
        let there = spot(&app, SUSHAN).await;
        let version = version_of(&app, &here.asset).await;
        let r = app
            .graphql_as(Some(&cadre), UPDATE, json!({ "input": { "id": here.asset, "version": version, "longitude": there.lon, "latitude": there.lat } }))
            .await;
        assert_eq!(error_code(&r), Some("FORBIDDEN"), "{}: {r}", app.engine);
        let r = app.graphql(UPDATE, json!({ "input": { "id": here.asset, "version": version, "longitude": there.lon, "latitude": there.lat } })).await;
        assert!(r["errors"].is_null(), "the district office may: {r}");
        let moved = app
            .graphql(
                "query ($id: ID!) { node(id: $id) { ... on IdleAsset { township { code } } } }",
                json!({ "id": here.asset }),
            )
            .await;
        assert_eq!(
            moved["data"]["node"]["township"]["code"], SUSHAN,
            "the township is derived again"
        );
        app.assert_sound().await;
    }
}

#[tokio::test]
async fn of_two_updates_at_one_version_exactly_one_wins() {
    for app in spawn_apps().await {
        let s = spot(&app, DONGCHUAN).await;
        let version = version_of(&app, &s.asset).await;
        let update = |area: f64| {
            app.graphql(UPDATE, json!({ "input": { "id": s.asset, "version": version, "floorAreaSquareMeters": area } }))
        };
        let (a, b) = tokio::join!(update(101.0), update(202.0));
        let codes = [error_code(&a), error_code(&b)];
        assert!(
            codes.contains(&None) && codes.contains(&Some("CONFLICT")),
            "{}: {a} / {b}",
            app.engine
        );
        let winner = if error_code(&a).is_none() { &a } else { &b };
        let area = winner["data"]["updateIdleAsset"]["idleAsset"]["floorAreaSquareMeters"].clone();
        let stored = app.graphql("query ($id: ID!) { node(id: $id) { ... on IdleAsset { floorAreaSquareMeters version } } }", json!({ "id": s.asset })).await;
        assert_eq!(
            stored["data"]["node"]["floorAreaSquareMeters"], area,
            "the loser overwrote nothing"
        );
        assert_eq!(stored["data"]["node"]["version"], version + 1);
        app.assert_sound().await;
    }
}

#[tokio::test]
async fn sixteen_clients_registering_fifty_assets_each_lose_none() {
    for app in spawn_apps().await {
        let s = spot(&app, DONGCHUAN).await;
        let events_before = count(&app, "SELECT COUNT(*) FROM audit_event").await;
        let mut clients = Vec::new();
        for c in 0..16 {
            let (client, address, admin) = (
                reqwest::Client::new(),
                app.address.clone(),
                app.admin.clone(),
            );
            let inputs: Vec<Value> = (0..50)
                .map(|i| asset_input(&format!("P-{c:02}-{i:02}"), &s))
                .collect();
            clients.push(tokio::spawn(async move {
                let mut failures = Vec::new();
                for input in inputs {
                    let r: Value = client
                        .post(format!("{address}/graphql"))
                        .bearer_auth(&admin)
                        .json(&json!({ "query": REGISTER, "variables": { "input": input } }))
                        .send()
                        .await
                        .expect("sent")
                        .json()
                        .await
                        .expect("JSON");
                    if !r["errors"].is_null() {
                        failures.push(r);
                    }
                }
                failures
            }));
        }
        for c in clients {
            let failures = c.await.expect("client");
            assert!(failures.is_empty(), "{}: {failures:?}", app.engine);
        }
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM idle_asset WHERE code LIKE 'P-%'"
            )
            .await,
            800,
            "{}",
            app.engine
        );
        let audited = count(
            &app,
            "SELECT COUNT(*) FROM audit_event e JOIN idle_asset a ON a.id = e.entity_id WHERE e.entity = 'idle_asset' AND a.code LIKE 'P-%'",
        )
        .await;
        assert_eq!(audited, 800, "{}: one audit event each", app.engine);
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM audit_event").await - events_before,
            800
        );
        app.assert_sound().await;
    }
}

#[tokio::test]
async fn a_mutation_whose_audit_write_fails_leaves_no_trace() {
    for app in spawn_apps().await {
        // Sabotage the second write of every mutation: the audit event.
        let sabotage: &[&str] = if app.engine == "sqlite" {
            &[
                "CREATE TRIGGER no_audit BEFORE INSERT ON audit_event BEGIN SELECT RAISE(ABORT, 'audit refused'); END",
            ]
        } else {
            &[
                "CREATE FUNCTION no_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER no_audit BEFORE INSERT ON audit_event FOR EACH ROW EXECUTE FUNCTION no_audit()",
            ]
        };
        for sql in sabotage {
            app.db.execute_unprepared(sql).await.expect("trigger");
        }
        let s = spot(&app, DONGCHUAN).await;
        let r = app
            .graphql(REGISTER, json!({ "input": asset_input("HALF-1", &s) }))
            .await;
        assert_eq!(error_code(&r), Some("INTERNAL"), "{}: {r}", app.engine);
        let message = r["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            !message.contains("audit refused") && !message.to_lowercase().contains("insert"),
            "no SQL reaches the client: {message}"
        );
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM idle_asset WHERE code = 'HALF-1'"
            )
            .await,
            0,
            "{}: the first write was rolled back",
            app.engine
        );
        let version = version_of(&app, &s.asset).await;
        let r = app
            .graphql(
                UPDATE,
                json!({ "input": { "id": s.asset, "version": version, "address": "never" } }),
            )
            .await;
        assert_eq!(error_code(&r), Some("INTERNAL"));
        assert_eq!(
            version_of(&app, &s.asset).await,
            version,
            "{}: the update was rolled back",
            app.engine
        );
        app.assert_sound().await;
    }
}

#[tokio::test]
async fn only_the_district_office_reads_the_audit_trail() {
    for app in spawn_apps().await {
        let cadre = app.token(Role::Cadre, Some(DONGCHUAN), None).await;
        let q = r#"{ auditEvents(first: 5, filter: { entity: "demo_district" }) { totalCount nodes { action actorLabel } } }"#;
        let r = app.graphql(q, json!({})).await;
        assert_eq!(
            r["data"]["auditEvents"]["totalCount"], 1,
            "{}: the demo loading: {r}",
            app.engine
        );
        assert_eq!(
            error_code(&app.graphql_as(Some(&cadre), q, json!({})).await),
            Some("FORBIDDEN")
        );
        assert_eq!(
            error_code(&app.graphql_as(None, q, json!({})).await),
            Some("UNAUTHENTICATED")
        );
        app.assert_sound().await;
    }
}

#[tokio::test]
async fn footprints_of_active_assets_may_not_overlap() {
    for app in spawn_apps().await {
        let r = app
            .graphql(r#"{ township(code: "369901102000") { idleAssets(first: 50, filter: { status: [IDENTIFIED, VERIFIED] }) { nodes { id version code longitude latitude footprint owner { id } } } } }"#, json!({}))
            .await;
        let nodes = r["data"]["township"]["idleAssets"]["nodes"]
            .as_array()
            .expect("assets")
            .clone();
        let taken = nodes
            .iter()
            .find(|n| !n["footprint"].is_null())
            .expect("an asset with a footprint");
        let input = |code: &str| {
            json!({ "code": code, "kind": "IDLE_HOMESTEAD", "ownerId": taken["owner"]["id"], "longitude": taken["longitude"],
                    "latitude": taken["latitude"], "footprint": taken["footprint"] })
        };
        let r = app
            .graphql(REGISTER, json!({ "input": input("OVER-1") }))
            .await;
        assert_eq!(
            error_code(&r),
            Some("INVALID_GEOMETRY"),
            "{}: the same land twice: {r}",
            app.engine
        );
        assert!(
            r["errors"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(taken["code"].as_str().expect("code")),
            "names the other asset: {r}"
        );

        // Once the first asset is withdrawn it no longer holds the land.
        let withdraw = json!({ "input": { "id": taken["id"], "version": taken["version"], "status": "WITHDRAWN" } });
        assert!(app.graphql(STATUS, withdraw).await["errors"].is_null());
        let r = app
            .graphql(REGISTER, json!({ "input": input("OVER-2") }))
            .await;
        assert!(r["errors"].is_null(), "{}: {r}", app.engine);
        app.assert_sound().await;
    }
}
