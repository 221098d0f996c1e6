//! The demo district loads through import, with a user's validation and reports, once.

use rural_registry::db::entities::{audit_event, township, village};
use rural_registry::domain::geometry::Location;
use rural_registry::services::{import, seed};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use crate::helpers::{spawn_apps, spawn_empty_apps};

#[tokio::test]
async fn seeding_twice_adds_nothing_the_second_time() {
    for app in spawn_empty_apps().await {
        let today = chrono::Local::now().date_naive();
        let first = seed::load(&app.db, today).await.expect("first load");
        assert_eq!(
            (
                first.townships,
                first.villages,
                first.assets,
                first.demo_sites
            ),
            (8, 60, 400, 6),
            "{}",
            app.engine
        );
        let second = seed::load(&app.db, today).await.expect("second load");
        assert_eq!(second.total(), 0, "{}: {second:?}", app.engine);
    }
}

#[tokio::test]
async fn the_stored_boundaries_place_points_and_refuse_points_outside_the_district() {
    for app in spawn_apps().await {
        let locator = rural_registry::db::places::locator(&app.db)
            .await
            .expect("locator");
        let inside = locator
            .locate(Location::parse(117.0, 28.2).expect("valid"))
            .expect("the district's centre");
        assert!(
            inside.village_id.is_some(),
            "{}: villages tile the district",
            app.engine
        );
        for (lon, lat) in [(116.0, 28.2), (117.0, 29.5), (120.0, 30.0)] {
            assert!(
                locator
                    .locate(Location::parse(lon, lat).expect("valid"))
                    .is_none(),
                "{lon},{lat} is outside"
            );
        }
    }
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_foreign_keys_enforced() {
    use sea_orm::{ConnectionTrait, Statement};
    let app = crate::helpers::spawn_app().await;
    let backend = app.db.get_database_backend();
    let mode = app
        .db
        .query_one_raw(Statement::from_string(backend, "PRAGMA journal_mode"))
        .await
        .expect("pragma")
        .expect("a row");
    assert_eq!(mode.try_get_by_index::<String>(0).expect("text"), "wal");
    // Every commit synced unless the URL relaxes it: 2 is FULL.
    let synchronous = app
        .db
        .query_one_raw(Statement::from_string(backend, "PRAGMA synchronous"))
        .await
        .expect("pragma")
        .expect("a row");
    assert_eq!(synchronous.try_get_by_index::<i32>(0).expect("a number"), 2);
    let orphan = app
        .db
        .execute_unprepared("INSERT INTO village (township_id, code, name, center_lon, center_lat, version, created_at, updated_at) VALUES (999999, '369901999201', 'x', 117, 28, 1, '2026-01-01', '2026-01-01')")
        .await;
    assert!(
        orphan.is_err(),
        "a village of no township is refused by the database itself"
    );
}

/// Imports `text` as the command line would.
async fn import(db: &sea_orm::DatabaseConnection, kind: import::Kind, text: String) {
    let actor = rural_registry::db::audit::Actor {
        label: "test".into(),
        role: "ADMIN".into(),
    };
    let who = import::Importing {
        actor: &actor,
        file_name: "test",
        today: chrono::Local::now().date_naive(),
        job: None,
    };
    let report = import::run(
        db,
        kind,
        std::io::Cursor::new(text.into_bytes()),
        import::Mode::default(),
        who,
        |_, _| {},
    )
    .await
    .expect("import");
    assert!(report.written, "{report:?}");
}

fn seed_file(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(name);
    std::fs::read_to_string(&path).expect("a seed file")
}

#[tokio::test]
async fn the_demo_district_goes_through_import_with_its_audit_events() {
    for app in spawn_empty_apps().await {
        seed::load(&app.db, chrono::Local::now().date_naive())
            .await
            .expect("load");
        let events = audit_event::Entity::find()
            .filter(audit_event::Column::ActorLabel.eq("seed"))
            .filter(audit_event::Column::Action.eq("import"))
            .order_by_asc(audit_event::Column::Id)
            .all(&app.db)
            .await
            .expect("audit events");
        let imports: Vec<(String, String, u64)> = events
            .iter()
            .map(|e| {
                let after: serde_json::Value =
                    serde_json::from_str(e.after.as_deref().unwrap_or("null")).expect("JSON");
                (
                    e.entity.clone(),
                    after["file"].as_str().unwrap_or_default().to_owned(),
                    after["inserted"].as_u64().unwrap_or_default(),
                )
            })
            .collect();
        let expected = [
            ("township", "seeds/townships.geojson", 8),
            ("village", "seeds/villages.geojson", 60),
            ("party", "seeds/parties.csv", 330),
            ("idle_asset", "seeds/assets.geojson", 400),
            ("revitalization", "seeds/revitalizations.csv", 47),
        ]
        .map(|(e, f, n)| (e.to_owned(), f.to_owned(), n));
        assert_eq!(imports, expected, "{}", app.engine);
        let created = audit_event::Entity::find()
            .filter(audit_event::Column::ActorLabel.eq("seed"))
            .filter(audit_event::Column::Action.eq("createVillage"))
            .count(&app.db)
            .await
            .expect("count");
        assert_eq!(
            created, 60,
            "{}: each village through upsertVillage",
            app.engine
        );
    }
}

#[tokio::test]
async fn seeding_completes_a_district_loaded_in_part() {
    for app in spawn_empty_apps().await {
        import(
            &app.db,
            import::Kind::Townships,
            seed_file("townships.geojson"),
        )
        .await;
        import(
            &app.db,
            import::Kind::Villages,
            seed_file("villages.geojson"),
        )
        .await;
        let parties = seed_file("parties.csv");
        let first_ten: String = parties.lines().take(11).map(|l| format!("{l}\n")).collect();
        import(&app.db, import::Kind::Parties, first_ten).await;
        let today = chrono::Local::now().date_naive();
        let report = seed::load(&app.db, today).await.expect("load");
        assert_eq!(
            (
                report.townships,
                report.villages,
                report.parties,
                report.assets,
                report.revitalizations,
                report.demo_sites
            ),
            (0, 0, 320, 400, 47, 6),
            "{}: what was missing",
            app.engine
        );
        let again = seed::load(&app.db, today).await.expect("load again");
        assert_eq!(again.total(), 0, "{}: {again:?}", app.engine);
    }
}

#[tokio::test]
async fn a_district_the_import_refuses_is_refused_with_its_row_report() {
    for app in spawn_empty_apps().await {
        // A township with a demo code, somewhere else: the demo's villages fall outside it.
        let elsewhere = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"369901101000","name":"别处镇"},"geometry":{"type":"Polygon","coordinates":[[[118.0,29.0],[118.01,29.0],[118.01,29.01],[118.0,29.01],[118.0,29.0]]]}}]}"#;
        import(&app.db, import::Kind::Townships, elsewhere.to_owned()).await;
        let refused = seed::load(&app.db, chrono::Local::now().date_naive())
            .await
            .expect_err("the villages are refused");
        let message = format!("{refused:#}");
        assert!(
            message.contains("seeds/villages.geojson is refused by the import")
                && message.contains("row 1: BAD_INPUT boundary")
                && message.contains("outside township 别处镇"),
            "{}: {message}",
            app.engine
        );
        let villages = village::Entity::find().count(&app.db).await.expect("count");
        let townships = township::Entity::find()
            .count(&app.db)
            .await
            .expect("count");
        assert_eq!(
            (townships, villages),
            (8, 0),
            "{}: the townships' file went in, the villages' file not at all",
            app.engine
        );
    }
}

/// The demonstration sites' DIVIDENDS_PAID indicators are what their villages' collectives
/// distributed to holders, year by year: a site's figure and the register's never disagree.
#[tokio::test]
async fn dividend_indicators_agree_with_the_village_collectives_distributions() {
    use serde_json::{Value, json};
    for app in crate::helpers::spawn_apps().await {
        let r = app
            .graphql(
                "{ demoSites(first: 50) { nodes { code
                    indicators(codes: [DIVIDENDS_PAID]) { year value }
                    village { collectiveOrganization { name
                      distributions { year holdersFen paid { fen } } } } } } }",
                json!({}),
            )
            .await;
        assert!(r["errors"].is_null(), "{r}");
        let mut checked = 0;
        for site in r["data"]["demoSites"]["nodes"].as_array().expect("sites") {
            let indicators = site["indicators"].as_array().expect("indicators");
            if indicators.is_empty() {
                continue;
            }
            let org = &site["village"]["collectiveOrganization"];
            assert!(
                !org.is_null(),
                "{}: {} has no collective",
                app.engine,
                site["code"]
            );
            let by_year = |rows: &Value, field: &str| -> Vec<(i64, i64)> {
                let mut out: Vec<(i64, i64)> = rows
                    .as_array()
                    .expect("rows")
                    .iter()
                    .map(|row| {
                        let value = field
                            .split('.')
                            .fold(row, |v, f| &v[f])
                            .as_i64()
                            .expect("a number");
                        (row["year"].as_i64().expect("a year"), value)
                    })
                    .collect();
                out.sort_unstable();
                out
            };
            let indicated = by_year(&site["indicators"], "value");
            assert_eq!(
                by_year(&org["distributions"], "holdersFen"),
                indicated,
                "{}: {} declared",
                app.engine,
                site["code"]
            );
            assert_eq!(
                by_year(&org["distributions"], "paid.fen"),
                indicated,
                "{}: {} paid",
                app.engine,
                site["code"]
            );
            checked += 1;
        }
        assert_eq!(checked, 2, "DS-001 and DS-004 report dividends");
    }
}
