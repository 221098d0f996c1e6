//! Bulk loads (`import --bulk`): a large import killed half-way, once it has written rows in
//! its transaction, leaves the database as it was (on SQLite the uncommitted pages in the
//! write-ahead log are dropped, on PostgreSQL the transaction dies with its connection),
//! indexes and foreign keys included; one that completes builds them all again.

use std::time::{Duration, Instant};

use rural_registry::db::entities::idle_asset;
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, Statement};

use crate::helpers::{TestApp, import_as_admin, spawn_apps};

/// Rows enough that a debug build takes many seconds to import them.
const ROWS: usize = 300_000;

pub(crate) async fn count(app: &TestApp) -> u64 {
    idle_asset::Entity::find()
        .count(&app.db)
        .await
        .expect("count")
}

/// The asset table's indexes and foreign keys, by name.
pub(crate) async fn upkeep(app: &TestApp) -> Vec<String> {
    let sql = match app.engine {
        "sqlite" => {
            "SELECT name FROM sqlite_master WHERE tbl_name = 'idle_asset' AND type = 'index' \
             UNION ALL SELECT 'fk ' || \"table\" FROM pragma_foreign_key_list('idle_asset') \
             UNION ALL SELECT 'trigger ' || sql FROM sqlite_master \
             WHERE tbl_name = 'idle_asset' AND type = 'trigger' ORDER BY 1"
        }
        _ => {
            "SELECT indexname::text FROM pg_indexes WHERE tablename = 'idle_asset' \
             UNION ALL SELECT conname::text FROM pg_constraint \
             WHERE conrelid = 'idle_asset'::regclass AND contype = 'f' \
             UNION ALL SELECT 'trigger ' || tgname::text FROM pg_trigger \
             WHERE tgrelid = 'idle_asset'::regclass AND NOT tgisinternal ORDER BY 1"
        }
    };
    let rows = app
        .db
        .query_all_raw(Statement::from_string(app.db.get_database_backend(), sql))
        .await
        .expect("the catalogue");
    rows.iter()
        .map(|r| r.try_get_by_index::<String>(0).expect("a name"))
        .collect()
}

/// A survey of `rows` new assets coded `prefix-n`, at the point of an existing one and owned by
/// its owner: the CSV, and the owner's key.
pub(crate) async fn survey(
    db: &sea_orm::DatabaseConnection,
    prefix: &str,
    rows: usize,
) -> (String, String) {
    let a = idle_asset::Entity::find()
        .one(db)
        .await
        .expect("assets")
        .expect("an asset");
    let owner = rural_registry::db::parties::by_ids(db, &[a.owner_id])
        .await
        .expect("owner")
        .remove(&a.owner_id)
        .expect("owner");
    let key = owner.household_no.or(owner.credit_code).expect("a key");
    let mut text = String::from("code,kind,ownerKey,lon,lat,floorAreaM2,footprint\n");
    for n in 0..rows {
        text.push_str(&format!(
            "{prefix}-{n:07},IDLE_FARMHOUSE,{key},{},{},80,\n",
            a.lon, a.lat
        ));
    }
    (text, key)
}

/// [`survey`] of assets coded `KILL-n`, written to `path`; the owner's key.
async fn large_file(app: &TestApp, path: &std::path::Path, rows: usize) -> String {
    let (text, key) = survey(&app.db, "KILL", rows).await;
    std::fs::write(path, text).expect("write the file");
    key
}

/// Whether the import has written rows it has not committed.
async fn writing(app: &TestApp, wal: &std::path::Path, wal_before: u64) -> bool {
    match app.engine {
        // Uncommitted pages spill from SQLite's cache into the write-ahead log.
        "sqlite" => std::fs::metadata(wal).map_or(0, |m| m.len()) > wal_before + (4 << 20),
        _ => {
            let sql = "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
                       WHERE c.relname = 'idle_asset' AND l.mode = 'RowExclusiveLock' \
                       AND l.pid <> pg_backend_pid()";
            let row = app
                .db
                .query_one_raw(Statement::from_string(app.db.get_database_backend(), sql))
                .await
                .expect("pg_locks")
                .expect("a row");
            row.try_get_by_index::<i64>(0).expect("a count") > 0
        }
    }
}

#[tokio::test]
async fn an_import_killed_half_way_leaves_the_database_as_it_was() {
    for app in spawn_apps().await {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("large.csv");
        large_file(&app, &file, ROWS).await;
        let before = count(&app).await;
        let upkeep_before = upkeep(&app).await;
        let wal = std::path::PathBuf::from(format!(
            "{}-wal",
            app.database_url
                .trim_start_matches("sqlite://")
                .split('?')
                .next()
                .expect("a path")
        ));
        let wal_before = std::fs::metadata(&wal).map_or(0, |m| m.len());
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rural-registry"))
            .args([
                "--database-url",
                &app.database_url,
                "import",
                "assets",
                "--bulk",
            ])
            .arg(&file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the import starts");
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                panic!(
                    "{}: the import ended ({status}) before it was killed",
                    app.engine
                );
            }
            if writing(&app, &wal, wal_before).await {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "{}: the import never started writing",
                app.engine
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        child.kill().expect("kill");
        child.wait().expect("reaped");
        assert_eq!(count(&app).await, before, "{}", app.engine);
        let codes = idle_asset::Entity::find()
            .all(&app.db)
            .await
            .expect("assets")
            .into_iter()
            .filter(|a| a.code.starts_with("KILL-"))
            .count();
        assert_eq!(
            codes, 0,
            "{}: no row of the killed import remains",
            app.engine
        );
        assert_eq!(upkeep(&app).await, upkeep_before, "{}", app.engine);
        app.assert_sound().await;
    }
}

#[tokio::test]
async fn a_bulk_load_builds_the_indexes_and_foreign_keys_again() {
    use rural_registry::services::import;
    const BULK_ROWS: usize = 50_000;
    for app in spawn_apps().await {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("bulk.csv");
        let key = large_file(&app, &file, BULK_ROWS).await;
        // Two homesteads on the same land, at the end: the spatial index, dropped for the
        // load, is built again to search for the first one's neighbours.
        let square =
            "\"POLYGON((117.1 28.15,117.1002 28.15,117.1002 28.1502,117.1 28.1502,117.1 28.15))\"";
        let mut text = std::fs::read_to_string(&file).expect("read");
        for code in ["LAND-1", "LAND-2"] {
            text.push_str(&format!(
                "{code},IDLE_HOMESTEAD,{key},117.1001,28.1501,,{square}\n"
            ));
        }
        std::fs::write(&file, text).expect("write");
        let before = count(&app).await;
        let upkeep_before = upkeep(&app).await;
        assert!(upkeep_before.len() > 4, "{upkeep_before:?}");
        let input = std::fs::File::open(&file).expect("open");
        let mode = import::Mode {
            partial: true,
            bulk: true,
            ..import::Mode::default()
        };
        let report = import_as_admin(&app.db, import::Kind::Assets, input, mode).await;
        let refused: Vec<_> = report.errors.iter().map(|e| (e.row, e.code)).collect();
        assert_eq!(
            refused,
            [(BULK_ROWS + 3, "INVALID_GEOMETRY")],
            "{}",
            app.engine
        );
        assert_eq!(report.inserted, BULK_ROWS + 1);
        assert_eq!(count(&app).await, before + BULK_ROWS as u64 + 1);
        assert_eq!(upkeep(&app).await, upkeep_before, "{}", app.engine);
        app.assert_sound().await;
    }
}
