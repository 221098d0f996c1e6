//! The boundary version: one number, raised by triggers in the transaction of every change to a
//! township or village that can move where a point lies (a new or deleted place, a boundary, a
//! village's centre or township). Every server instance keeps its locator with the version it
//! was built from and compares before it places a record, so a boundary changed through another
//! instance, or by `rural-registry import` while servers run, is never placed by an old one.
//!
//! On PostgreSQL a writer that places reads the version `FOR SHARE`: a boundary change (which
//! updates the row) and a placement then never interleave, one waits for the other's commit.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The columns whose change can move a placement, by table.
const WATCHED: [(&str, &str); 2] = [
    ("township", "boundary"),
    ("village", "boundary, center_lon, center_lat, township_id"),
];

const BUMP: &str = "UPDATE boundary_version SET version = version + 1 WHERE id = 1";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        db.execute_unprepared(
            "CREATE TABLE boundary_version (id BIGINT PRIMARY KEY, version BIGINT NOT NULL)",
        )
        .await?;
        db.execute_unprepared("INSERT INTO boundary_version (id, version) VALUES (1, 1)")
            .await?;
        if backend == DbBackend::Postgres {
            db.execute_unprepared(&format!(
                "CREATE FUNCTION boundary_version_bump() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN {BUMP}; RETURN NULL; END $$"
            ))
            .await?;
        }
        for (table, columns) in WATCHED {
            for (event, when) in [
                ("insert", "INSERT".to_owned()),
                ("delete", "DELETE".to_owned()),
                ("update", format!("UPDATE OF {columns}")),
            ] {
                let name = format!("boundary_version_{table}_{event}");
                let sql = match backend {
                    // Once per statement: an import of a thousand villages raises it once.
                    DbBackend::Postgres => format!(
                        "CREATE TRIGGER {name} AFTER {when} ON {table} FOR EACH STATEMENT \
                         EXECUTE FUNCTION boundary_version_bump()"
                    ),
                    _ => format!("CREATE TRIGGER {name} AFTER {when} ON {table} BEGIN {BUMP}; END"),
                };
                db.execute_unprepared(&sql).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        for (table, _) in WATCHED {
            for event in ["insert", "delete", "update"] {
                let name = format!("boundary_version_{table}_{event}");
                let sql = match backend {
                    DbBackend::Postgres => format!("DROP TRIGGER IF EXISTS {name} ON {table}"),
                    _ => format!("DROP TRIGGER IF EXISTS {name}"),
                };
                db.execute_unprepared(&sql).await?;
            }
        }
        if backend == DbBackend::Postgres {
            db.execute_unprepared("DROP FUNCTION IF EXISTS boundary_version_bump()")
                .await?;
        }
        db.execute_unprepared("DROP TABLE IF EXISTS boundary_version")
            .await?;
        Ok(())
    }
}
