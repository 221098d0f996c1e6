//! Table versions: for each table a count of the writes to it, raised by triggers in the
//! transaction of every INSERT, UPDATE and DELETE whatever path makes it (the API, an import, a
//! boundary change moving assets, the seeds, the CLI). A download or an export derives its
//! ETag from the versions of the tables it reads (`db::table_versions`), so a repeated request
//! is answered 304 without producing the body, and any write it would show changes the tag.
//!
//! A row `(epoch)` holds a random number drawn when the table is made and again after a
//! restore (`db::table_versions::restored`): counts start again from a backup's, and a tag
//! given out before the restore must not match a different state that reaches the same counts.
//!
//! The engines keep the counts as their writers need (as the asset tally does):
//! - SQLite has one writer at a time: a row trigger adds one to the table's row (an upsert).
//! - PostgreSQL has many writers at once: a statement trigger appends a row `(table, 1)`, so
//!   writers never wait on one another; readers sum a table's rows, and
//!   `db::table_versions::compact` folds them from time to time. A sum only grows.
//!
//! Not counted: what no download or export reads (tokens, the audit trail, import jobs) and
//! what triggers derive from counted tables in the same transaction (the asset tally, the
//! boundary version, the event log).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Every table whose rows a download, an export or a report reads.
const COUNTED: [&str; 31] = [
    "appraisal",
    "bank",
    "collective_member",
    "collective_organization",
    "credit_line",
    "demo_indicator",
    "demo_site",
    "demo_site_asset",
    "distribution",
    "distribution_class",
    "expropriation_zone",
    "idle_asset",
    "loan_application",
    "loan_event",
    "loan_product",
    "mortgage",
    "party",
    "payout",
    "policy_version",
    "property_right",
    "recommendation",
    "revitalization",
    "right_holder",
    "share_change",
    "share_class",
    "share_contribution",
    "share_holding",
    "source_document",
    "target",
    "township",
    "village",
];

/// The writes counted, each by a trigger of its own (on PostgreSQL a TRUNCATE counts with the
/// deletes).
const EVENTS: [(&str, &str); 3] = [
    ("insert", "INSERT"),
    ("update", "UPDATE"),
    ("delete", "DELETE OR TRUNCATE"),
];

/// A random non-negative number, as each engine draws one.
fn random(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "CAST(floor(random() * 9007199254740991) AS BIGINT)",
        _ => "abs(random() % 9007199254740991)",
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let mut statements = Vec::new();
        match backend {
            DbBackend::Postgres => {
                statements.push(
                    "CREATE TABLE table_version (table_name TEXT NOT NULL, changes BIGINT NOT NULL)"
                        .to_owned(),
                );
                statements.push(
                    "CREATE INDEX idx_table_version_name ON table_version (table_name)".to_owned(),
                );
                statements.push(
                    "CREATE FUNCTION table_version_count() RETURNS trigger LANGUAGE plpgsql AS \
                     $$ BEGIN INSERT INTO table_version (table_name, changes) \
                     VALUES (TG_TABLE_NAME, 1); RETURN NULL; END $$"
                        .to_owned(),
                );
                for table in COUNTED {
                    // Once per statement: an import's batch of a thousand rows counts once.
                    // Named as on SQLite, where the integrity check finds them by name.
                    for (event, when) in EVENTS {
                        statements.push(format!(
                            "CREATE TRIGGER table_version_{table}_{event} AFTER {when} \
                             ON {table} FOR EACH STATEMENT EXECUTE FUNCTION table_version_count()"
                        ));
                    }
                }
            }
            _ => {
                statements.push(
                    "CREATE TABLE table_version (table_name TEXT PRIMARY KEY NOT NULL, \
                     changes BIGINT NOT NULL)"
                        .to_owned(),
                );
                for table in COUNTED {
                    for (event, _) in EVENTS {
                        statements.push(format!(
                            "CREATE TRIGGER table_version_{table}_{event} AFTER {} ON {table} \
                             BEGIN INSERT INTO table_version (table_name, changes) \
                             VALUES ('{table}', 1) ON CONFLICT (table_name) \
                             DO UPDATE SET changes = changes + 1; END",
                            event.to_uppercase()
                        ));
                    }
                }
            }
        }
        statements.push(format!(
            "INSERT INTO table_version (table_name, changes) VALUES ('(epoch)', {})",
            random(backend)
        ));
        for sql in statements {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        for table in COUNTED {
            for (event, _) in EVENTS {
                let sql = if postgres {
                    format!("DROP TRIGGER IF EXISTS table_version_{table}_{event} ON {table}")
                } else {
                    format!("DROP TRIGGER IF EXISTS table_version_{table}_{event}")
                };
                db.execute_unprepared(&sql).await?;
            }
        }
        db.execute_unprepared("DROP TABLE IF EXISTS table_version")
            .await?;
        if postgres {
            db.execute_unprepared("DROP FUNCTION IF EXISTS table_version_count()")
                .await?;
        }
        Ok(())
    }
}
