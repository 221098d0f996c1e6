//! What survives a failure: a migration that fails half-way leaves the database as it was, and
//! a server killed (SIGKILL) while it writes keeps every write it acknowledged, and passes
//! `rural-registry check`. Both engines.

use migrations::{
    DbErr, MigrationName, MigrationTrait, Migrator, MigratorTrait, SchemaManager, async_trait,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use sha2::Digest as _;

use crate::helpers::spawn_apps;

/// A migration that changes the schema and the data, then fails.
struct FailsHalfWay;

impl MigrationName for FailsHalfWay {
    fn name(&self) -> &str {
        "m29991231_000001_fails_half_way"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for FailsHalfWay {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("CREATE TABLE half_way (id BIGINT PRIMARY KEY, note TEXT)")
            .await?;
        db.execute_unprepared("INSERT INTO half_way (id, note) VALUES (1, 'written')")
            .await?;
        db.execute_unprepared("ALTER TABLE idle_asset ADD COLUMN half_way TEXT")
            .await?;
        db.execute_unprepared("UPDATE idle_asset SET address = 'half way', version = version + 1")
            .await?;
        db.execute_unprepared("DELETE FROM audit_event").await?;
        Err(DbErr::Migration("fails half-way, on purpose".into()))
    }
}

/// The registry's migrations, then one that fails: what a release with a broken migration is.
struct WithFailing;

#[async_trait::async_trait]
impl MigratorTrait for WithFailing {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = Migrator::migrations();
        all.push(migrations::atomic(Box::new(FailsHalfWay)));
        all
    }
}

/// The tables, the asset table's columns, every asset, the audit trail's length and the applied migrations:
/// what a failed migration must leave as it found.
async fn state(db: &DatabaseConnection) -> Vec<String> {
    let backend = db.get_database_backend();
    let (tables, columns) = match backend {
        sea_orm::DbBackend::Sqlite => (
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
            "SELECT name FROM pragma_table_info('idle_asset') ORDER BY name",
        ),
        _ => (
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() ORDER BY 1",
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = 'idle_asset' ORDER BY 1",
        ),
    };
    let assets = "SELECT code || '|' || COALESCE(address, '') || '|' || CAST(version AS TEXT) \
                  FROM idle_asset ORDER BY id";
    let mut out = Vec::new();
    for sql in [
        tables,
        columns,
        assets,
        "SELECT CAST(COUNT(*) AS TEXT) FROM audit_event",
        "SELECT version FROM seaql_migrations ORDER BY version",
    ] {
        let rows: Vec<String> = db
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .expect(sql)
            .into_iter()
            .map(|row| row.try_get_by_index::<String>(0).expect("text"))
            .collect();
        if sql == assets {
            // Every asset, as a digest: a difference shows without printing them all.
            let digest = sha2::Sha256::digest(rows.join("\n").as_bytes());
            out.push(format!(
                "{} assets, sha256 {}",
                rows.len(),
                hex::encode(digest)
            ));
        } else {
            out.extend(rows);
        }
        out.push("--".into());
    }
    out
}

#[tokio::test]
async fn a_migration_that_fails_half_way_leaves_the_database_as_it_was() {
    for app in spawn_apps().await {
        let before = state(&app.db).await;
        assert!(before.len() > 40, "{}: {before:?}", app.engine);
        let err = rural_registry::db::migrate_with::<WithFailing>(&app.db)
            .await
            .expect_err("the migration fails");
        assert!(
            format!("{err:#}").contains("fails half-way"),
            "{}: {err:#}",
            app.engine
        );
        assert_eq!(state(&app.db).await, before, "{}", app.engine);
        // The registry's own migrations find nothing to do, and it serves as before.
        rural_registry::db::migrate(&app.db)
            .await
            .expect("migrated");
        assert_eq!(state(&app.db).await, before, "{}", app.engine);
        let r = app
            .graphql(
                "{ idleAssets(first: 1) { totalCount } }",
                serde_json::json!({}),
            )
            .await;
        assert!(r["errors"].is_null(), "{}: {r}", app.engine);
    }
}
