//! The change log: the event log (`m20261207_000006_event_log`) written for every record a
//! partner or an office copy follows, not only assets. Triggers append one row per record
//! inserted, updated or deleted, in the transaction of the change, whatever wrote it (the API,
//! an import's every row, a boundary change moving records, the command line): `CREATED`,
//! `UPDATED` or `DELETED`, with the record's version when it has one. Assets keep their own
//! richer actions (`REGISTERED`, `MOVED`, …), which the feed reads as the same three.
//!
//! `event_log_pruned` remembers how far the log has been pruned (its retention), so that a
//! reader whose cursor points into the pruned part is told so rather than skip changes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A table followed: table, entity name in the log, whether it has a version, and the
/// expression of its township (`{r}` is the row).
pub(crate) type Followed = (&'static str, &'static str, bool, &'static str);

/// The tables followed.
const FOLLOWED: [Followed; 9] = [
    ("township", "township", true, "{r}.id"),
    ("village", "village", true, "{r}.township_id"),
    ("party", "party", true, "NULL"),
    ("revitalization", "revitalization", true, "NULL"),
    ("demo_site", "demo_site", true, "{r}.township_id"),
    ("property_right", "property_right", true, "NULL"),
    ("collective_member", "member", true, "NULL"),
    ("share_holding", "holding", false, "NULL"),
    ("target", "target", true, "{r}.township_id"),
];

const INSERT: &str = "INSERT INTO event_log (entity, entity_id, action, township_id, data)";

fn data(json_object: &str, versioned: bool, r: &str) -> String {
    if versioned {
        format!("{json_object}('version', {r}.version)")
    } else {
        format!("{json_object}()")
    }
}

/// The statements that make the change log follow `tables` on `backend`.
pub(crate) fn follow(backend: DbBackend, tables: &[Followed]) -> Vec<String> {
    match backend {
        DbBackend::Postgres => postgres_statements(tables),
        _ => sqlite_statements(tables),
    }
}

/// The statements that undo `follow`.
pub(crate) fn unfollow(backend: DbBackend, tables: &[Followed]) -> Vec<String> {
    let postgres = backend == DbBackend::Postgres;
    let mut out = Vec::new();
    for (table, ..) in tables {
        for op in ["insert", "update", "delete"] {
            out.push(if postgres {
                format!("DROP TRIGGER IF EXISTS event_log_{table}_{op} ON {table}")
            } else {
                format!("DROP TRIGGER IF EXISTS event_log_{table}_{op}")
            });
        }
        if postgres {
            out.push(format!("DROP FUNCTION IF EXISTS event_log_{table}()"));
        }
    }
    out
}

fn sqlite_statements(tables: &[Followed]) -> Vec<String> {
    let mut out = Vec::new();
    for &(table, entity, versioned, township) in tables {
        for (op, action, r) in [
            ("INSERT", "CREATED", "NEW"),
            ("UPDATE", "UPDATED", "NEW"),
            ("DELETE", "DELETED", "OLD"),
        ] {
            out.push(format!(
                "CREATE TRIGGER event_log_{table}_{} AFTER {op} ON {table} BEGIN \
                 {INSERT} VALUES ('{entity}', {r}.id, '{action}', {}, {}); END",
                op.to_lowercase(),
                township.replace("{r}", r),
                data("json_object", versioned, r),
            ));
        }
    }
    out
}

fn postgres_statements(tables: &[Followed]) -> Vec<String> {
    let mut out = Vec::new();
    for &(table, entity, versioned, township) in tables {
        let select = |action: &str, rows: &str, r: &str| {
            format!(
                "{INSERT} SELECT '{entity}', {r}.id, '{action}', {}, {}::text \
                 FROM {rows} {r} ORDER BY {r}.id;",
                township.replace("{r}", r),
                data("json_build_object", versioned, r),
            )
        };
        out.push(format!(
            "CREATE FUNCTION event_log_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {}
    ELSIF TG_OP = 'DELETE' THEN
        {}
    ELSE
        {}
    END IF;
    RETURN NULL;
END
$$",
            select("CREATED", "new_rows", "n"),
            select("DELETED", "old_rows", "o"),
            select("UPDATED", "new_rows", "n"),
        ));
        for (op, referencing) in [
            ("insert", "REFERENCING NEW TABLE AS new_rows"),
            (
                "update",
                "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
            ),
            ("delete", "REFERENCING OLD TABLE AS old_rows"),
        ] {
            out.push(format!(
                "CREATE TRIGGER event_log_{table}_{op} AFTER {} ON {table} {referencing} \
                 FOR EACH STATEMENT EXECUTE FUNCTION event_log_{table}()",
                op.to_uppercase()
            ));
        }
    }
    out
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let mut statements = follow(manager.get_database_backend(), &FOLLOWED);
        statements.push(
            "CREATE TABLE event_log_pruned (id BIGINT PRIMARY KEY, tx BIGINT NOT NULL, \
             seq BIGINT NOT NULL)"
                .to_owned(),
        );
        statements.push("INSERT INTO event_log_pruned (id, tx, seq) VALUES (1, 0, 0)".to_owned());
        statements.push("CREATE INDEX idx_event_log_at ON event_log (at)".to_owned());
        for sql in statements {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in unfollow(manager.get_database_backend(), &FOLLOWED) {
            db.execute_unprepared(&sql).await?;
        }
        db.execute_unprepared("DROP INDEX IF EXISTS idx_event_log_at")
            .await?;
        db.execute_unprepared("DROP TABLE IF EXISTS event_log_pruned")
            .await?;
        Ok(())
    }
}
