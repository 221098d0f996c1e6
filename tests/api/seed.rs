//! The demo district loads through the domain validation, once.

use rural_registry::domain::geometry::Location;
use rural_registry::services::seed;

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
    let orphan = app
        .db
        .execute_unprepared("INSERT INTO village (township_id, code, name, center_lon, center_lat, version, created_at, updated_at) VALUES (999999, '369901999201', 'x', 117, 28, 1, '2026-01-01', '2026-01-01')")
        .await;
    assert!(
        orphan.is_err(),
        "a village of no township is refused by the database itself"
    );
}
