//! `rural-registry check` and the ADMIN query `integrityCheck`: the demo passes, and each rule
//! catches its own breach, made on purpose by direct SQL past the registry. Both engines.

use std::collections::BTreeSet;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};

use crate::helpers::{TestApp, cli, spawn_apps};

const CHECK: &str = "{ integrityCheck { ok problems engine \
                     outcomes { code name examined problems examples } } }";

async fn report(app: &TestApp) -> Value {
    let r = app.graphql(CHECK, json!({})).await;
    assert!(r["errors"].is_null(), "{}: {r}", app.engine);
    r["data"]["integrityCheck"].clone()
}

/// The codes of the rules that found something.
fn failing(report: &Value) -> BTreeSet<String> {
    report["outcomes"]
        .as_array()
        .expect("outcomes")
        .iter()
        .filter(|o| o["problems"].as_i64() != Some(0))
        .map(|o| o["code"].as_str().expect("code").to_owned())
        .collect()
}

/// The lines a rule listed.
fn examples(report: &Value, code: &str) -> Vec<String> {
    report["outcomes"]
        .as_array()
        .expect("outcomes")
        .iter()
        .find(|o| o["code"] == code)
        .expect("the rule")["examples"]
        .as_array()
        .expect("examples")
        .iter()
        .map(|e| e.as_str().expect("a line").to_owned())
        .collect()
}

async fn sql(app: &TestApp, statement: &str) {
    app.db
        .execute_unprepared(statement)
        .await
        .unwrap_or_else(|e| panic!("{}: {statement}: {e}", app.engine));
}

/// Breaks the registry with `statements`, then asserts that exactly the rules `codes` fail and
/// that each lists a line containing the matching `says`.
async fn caught(app: &TestApp, statements: &[&str], codes: &[&str], says: &[&str]) {
    let before = report(app).await;
    assert_eq!(
        failing(&before),
        BTreeSet::new(),
        "{}: {before}",
        app.engine
    );
    for s in statements {
        sql(app, s).await;
    }
    let after = report(app).await;
    assert_eq!(after["ok"], false, "{}", app.engine);
    let wanted: BTreeSet<String> = codes.iter().map(|c| (*c).to_owned()).collect();
    assert_eq!(failing(&after), wanted, "{}: {after}", app.engine);
    for (code, said) in codes.iter().zip(says) {
        let lines = examples(&after, code);
        assert!(
            lines.iter().any(|l| l.contains(said)),
            "{}: {code} says {lines:?}, not {said:?}",
            app.engine
        );
    }
}

#[tokio::test]
async fn the_demo_passes_and_the_command_line_says_so() {
    for app in spawn_apps().await {
        let r = report(&app).await;
        assert_eq!(r["ok"], true, "{}: {r}", app.engine);
        assert_eq!(r["engine"], app.engine);
        let examined: Vec<i64> = r["outcomes"]
            .as_array()
            .expect("outcomes")
            .iter()
            .map(|o| o["examined"].as_i64().expect("a count"))
            .collect();
        assert_eq!(examined.len(), 10, "{}: {r}", app.engine);
        assert!(
            examined.iter().all(|n| *n > 0),
            "{}: every rule looked at something: {r}",
            app.engine
        );

        let out = cli(&app.database_url, &["check"]);
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}: {said}", app.engine);
        assert!(said.contains("no problems found"), "{}: {said}", app.engine);
        assert!(said.contains("ASSET_PLACEMENT"), "{}: {said}", app.engine);

        // Only the district office may run it.
        let cadre = app
            .token(
                rural_registry::domain::access::Role::Cadre,
                Some("369901102000"),
                None,
            )
            .await;
        let r = app.graphql_as(Some(&cadre), CHECK, json!({})).await;
        assert_eq!(
            r["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{}: {r}",
            app.engine
        );
    }
}

#[tokio::test]
async fn a_broken_rule_fails_the_command_with_its_line() {
    for app in spawn_apps().await {
        sql(
            &app,
            "UPDATE right_holder SET share_bp = share_bp - 1 \
             WHERE right_id = (SELECT MIN(right_id) FROM right_holder)",
        )
        .await;
        let out = cli(&app.database_url, &["check"]);
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "{}: {said}", app.engine);
        assert!(
            said.contains("FAIL  RIGHT_HOLDERS") && said.contains("basis points, not 10000"),
            "{}: {said}",
            app.engine
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("1 problem(s)"),
            "{}",
            app.engine
        );
        let json = cli(&app.database_url, &["check", "--json"]);
        let report: Value = serde_json::from_slice(&json.stdout).expect("a JSON report");
        assert!(!json.status.success(), "{}", app.engine);
        assert_eq!(
            failing(&report),
            BTreeSet::from(["RIGHT_HOLDERS".to_owned()]),
            "{}",
            app.engine
        );
    }
}

/// One connection of its own, so that a session setting stays with the statements after it.
async fn single(url: &str) -> DatabaseConnection {
    let mut options = ConnectOptions::new(url);
    options.max_connections(1).min_connections(1);
    Database::connect(options).await.expect("connect")
}

#[tokio::test]
async fn storage_a_row_naming_a_missing_record_is_caught() {
    for app in spawn_apps().await {
        let before = report(&app).await;
        assert_eq!(failing(&before), BTreeSet::new(), "{}", app.engine);
        // Past the foreign keys, as a careless restore or a hand edit would write.
        let db = single(&app.database_url).await;
        let off = match app.engine {
            "sqlite" => "PRAGMA foreign_keys = OFF",
            _ => "SET session_replication_role = replica",
        };
        db.execute_unprepared(off).await.expect(off);
        db.execute_unprepared(
            "UPDATE idle_asset SET owner_id = 999999 WHERE id = (SELECT MIN(id) FROM idle_asset)",
        )
        .await
        .expect("an owner that does not exist");
        db.close().await.expect("close");
        let after = report(&app).await;
        assert_eq!(
            failing(&after),
            BTreeSet::from(["STORAGE".to_owned()]),
            "{}: {after}",
            app.engine
        );
        let lines = examples(&after, "STORAGE").join("\n");
        assert!(
            lines.contains("idle_asset") && lines.contains("party"),
            "{}: {lines}",
            app.engine
        );
        if app.engine == "postgres" {
            // The catalog: a trigger switched off.
            sql(
                &app,
                "ALTER TABLE idle_asset DISABLE TRIGGER asset_tally_insert",
            )
            .await;
            let lines = examples(&report(&app).await, "STORAGE").join("\n");
            assert!(
                lines.contains("trigger asset_tally_insert on idle_asset is disabled"),
                "{lines}"
            );
        }
    }
}

#[tokio::test]
async fn schema_a_dropped_trigger_is_caught() {
    for app in spawn_apps().await {
        let drop = match app.engine {
            "sqlite" => "DROP TRIGGER asset_tally_update",
            _ => "DROP TRIGGER asset_tally_update ON idle_asset",
        };
        caught(
            &app,
            &[drop],
            &["SCHEMA"],
            &["trigger asset_tally_update is missing"],
        )
        .await;
    }
}

#[tokio::test]
async fn asset_placement_a_wrong_village_and_a_wrong_spatial_key_are_caught() {
    for app in spawn_apps().await {
        let before = report(&app).await;
        assert_eq!(failing(&before), BTreeSet::new(), "{}", app.engine);
        sql(
            &app,
            "UPDATE idle_asset SET village_id = (SELECT MIN(v.id) FROM village v \
               WHERE v.township_id = idle_asset.township_id AND v.id <> idle_asset.village_id) \
             WHERE id = (SELECT MIN(id) FROM idle_asset WHERE village_id IS NOT NULL)",
        )
        .await;
        sql(
            &app,
            "UPDATE idle_asset SET cell = cell + 1 WHERE id = (SELECT MAX(id) FROM idle_asset)",
        )
        .await;
        let after = report(&app).await;
        assert_eq!(
            failing(&after),
            BTreeSet::from(["ASSET_PLACEMENT".to_owned()]),
            "{}: {after}",
            app.engine
        );
        let lines = examples(&after, "ASSET_PLACEMENT");
        assert_eq!(lines.len(), 2, "{}: {lines:?}", app.engine);
        assert!(
            lines[0].contains("but lies in"),
            "{}: {lines:?}",
            app.engine
        );
        assert!(
            lines[1].contains("spatial key"),
            "{}: {lines:?}",
            app.engine
        );
    }
}

#[tokio::test]
async fn asset_tally_a_cell_that_miscounts_is_caught() {
    for app in spawn_apps().await {
        caught(
            &app,
            &["UPDATE asset_tally SET assets = assets + 1 \
               WHERE township_id = (SELECT MIN(township_id) FROM asset_tally)"],
            &["ASSET_TALLY"],
            &["the tally says"],
        )
        .await;
    }
}

#[tokio::test]
async fn mortgage_rank_two_mortgages_in_force_at_one_rank_are_caught() {
    for app in spawn_apps().await {
        // The unique index stops the second mortgage: drop it first, as a bad restore might.
        caught(
            &app,
            &[
                "DROP INDEX idx_mortgage_active_rank",
                "INSERT INTO mortgage (application_id, right_id, bank_id, amount_fen, rank, \
                   registration_no, registered_on, status, version, created_at, updated_at) \
                 SELECT (SELECT MAX(a.id) FROM loan_application a \
                           WHERE a.id NOT IN (SELECT application_id FROM mortgage)), \
                        right_id, bank_id, amount_fen, rank, registration_no || '-BIS', \
                        registered_on, status, 1, created_at, updated_at \
                 FROM mortgage WHERE id = (SELECT MIN(id) FROM mortgage WHERE status = 'ACTIVE')",
            ],
            &["MORTGAGE_RANK", "SCHEMA"],
            &["mortgages in force at rank", "idx_mortgage_active_rank"],
        )
        .await;
    }
}

#[tokio::test]
async fn right_unit_a_right_on_the_wrong_kind_of_unit_is_caught() {
    for app in spawn_apps().await {
        caught(
            &app,
            &[
                "UPDATE property_right SET holding_id = (SELECT MIN(id) FROM share_holding) \
               WHERE id = (SELECT MIN(id) FROM property_right WHERE kind <> 'COLLECTIVE_SHARE')",
            ],
            &["RIGHT_UNIT"],
            &["sits on a share holding"],
        )
        .await;
    }
}

#[tokio::test]
async fn right_holders_parts_that_do_not_make_a_whole_are_caught() {
    for app in spawn_apps().await {
        caught(
            &app,
            &["UPDATE right_holder SET share_bp = share_bp + 5 \
               WHERE right_id = (SELECT MAX(right_id) FROM right_holder)"],
            &["RIGHT_HOLDERS"],
            &["basis points, not 10000"],
        )
        .await;
    }
}

#[tokio::test]
async fn share_holdings_a_class_holding_more_than_it_issued_is_caught() {
    for app in spawn_apps().await {
        caught(
            &app,
            &["UPDATE share_class SET issued_hundredths = 1 \
               WHERE id = (SELECT MIN(class_id) FROM share_holding WHERE valid_to IS NULL)"],
            &["SHARE_HOLDINGS"],
            &["more than the 1 issued"],
        )
        .await;
    }
}

#[tokio::test]
async fn distributions_a_payout_off_by_a_fen_is_caught() {
    for app in spawn_apps().await {
        caught(
            &app,
            &["UPDATE payout SET fen = fen + 1 WHERE id = (SELECT MIN(id) FROM payout)"],
            &["DISTRIBUTIONS"],
            &["payouts sum to"],
        )
        .await;
    }
}

const REGISTER: &str = "mutation ($i: RegisterIdleAssetInput!) { \
                        registerIdleAsset(input: $i) { idleAsset { id code version } } }";

async fn register(app: &TestApp, code: &str) -> i64 {
    let owner = rural_registry::graphql::common::ids::Kind::Party.id(1);
    let r = app
        .graphql(
            REGISTER,
            json!({ "i": {
                "code": code, "kind": "IDLE_FARMHOUSE", "ownerId": owner,
                "longitude": 117.164953, "latitude": 28.16099,
            }}),
        )
        .await;
    assert!(r["errors"].is_null(), "{}: {r}", app.engine);
    let id = r["data"]["registerIdleAsset"]["idleAsset"]["id"]
        .as_str()
        .expect("an id");
    rural_registry::graphql::common::ids::decode_as(
        &async_graphql::ID(id.to_owned()),
        rural_registry::graphql::common::ids::Kind::IdleAsset,
    )
    .expect("an asset id")
}

#[tokio::test]
async fn audit_trail_a_record_without_its_events_or_changed_behind_them_is_caught() {
    use rural_registry::db::entities::idle_asset;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    for app in spawn_apps().await {
        let before = report(&app).await;
        assert_eq!(failing(&before), BTreeSet::new(), "{}", app.engine);
        // Its creation's event deleted.
        let unrecorded = register(&app, "AUDIT-1").await;
        sql(
            &app,
            &format!(
                "DELETE FROM audit_event WHERE entity = 'idle_asset' AND entity_id = {unrecorded}"
            ),
        )
        .await;
        // Changed later than its last event, by a write that wrote none.
        let changed = register(&app, "AUDIT-2").await;
        idle_asset::Entity::update_many()
            .col_expr(
                idle_asset::Column::Address,
                Expr::value("changed behind the trail"),
            )
            .col_expr(idle_asset::Column::Version, Expr::value(2))
            .col_expr(
                idle_asset::Column::UpdatedAt,
                Expr::value(chrono::Utc::now() + chrono::Duration::seconds(1)),
            )
            .filter(idle_asset::Column::Id.eq(changed))
            .exec(&app.db)
            .await
            .expect("a change with no event");
        // Its version set back below what its event gave.
        let rewound = register(&app, "AUDIT-3").await;
        sql(
            &app,
            &format!("UPDATE idle_asset SET version = 0 WHERE id = {rewound}"),
        )
        .await;
        let after = report(&app).await;
        assert_eq!(
            failing(&after),
            BTreeSet::from(["AUDIT_TRAIL".to_owned()]),
            "{}: {after}",
            app.engine
        );
        let lines = examples(&after, "AUDIT_TRAIL");
        assert_eq!(lines.len(), 3, "{}: {lines:?}", app.engine);
        assert!(
            lines[0].contains(&format!("idle_asset #{unrecorded} "))
                && lines[0].contains("no audit event"),
            "{}: {lines:?}",
            app.engine
        );
        assert!(
            lines[1].contains(&format!("idle_asset #{changed} "))
                && lines[1].contains("no audit event since"),
            "{}: {lines:?}",
            app.engine
        );
        assert!(
            lines[2].contains(&format!("idle_asset #{rewound} is at version 0")),
            "{}: {lines:?}",
            app.engine
        );
    }
}

#[tokio::test]
async fn the_check_passes_on_a_100000_asset_synthetic_district() {
    let mut engines = vec!["sqlite"];
    if std::env::var("TEST_DATABASE_URL").is_ok() {
        engines.push("postgres");
    }
    for engine in engines {
        let target = crate::helpers::scratch_database(engine).await;
        let run = |args: &[&str]| cli(&target.url, args);
        let out = run(&["gen-synthetic", "--assets", "100000"]);
        assert!(
            out.status.success(),
            "{engine}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = run(&["check", "--json"]);
        let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
        assert!(out.status.success(), "{engine}: {report}");
        let placed = report["outcomes"]
            .as_array()
            .expect("outcomes")
            .iter()
            .find(|o| o["code"] == "ASSET_PLACEMENT")
            .expect("the placement rule");
        assert_eq!(placed["examined"], 100_400, "{engine}: {placed}");
        // The bulk load set the event log's row trigger aside on SQLite and wrote the events
        // after: every asset has its REGISTERED event, once.
        let conn = sea_orm::Database::connect(&target.url)
            .await
            .expect("connect");
        let row = conn
            .query_one_raw(sea_orm::Statement::from_string(
                conn.get_database_backend(),
                "SELECT COUNT(*), COUNT(DISTINCT entity_id) FROM event_log \
                 WHERE entity = 'asset' AND action = 'REGISTERED'",
            ))
            .await
            .expect("count")
            .expect("a row");
        let counts: (i64, i64) = (
            row.try_get_by_index(0).expect("a count"),
            row.try_get_by_index(1).expect("a count"),
        );
        assert_eq!(counts, (100_400, 100_400), "{engine}");
        conn.close().await.expect("close");
    }
}
