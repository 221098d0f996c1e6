//! Table versions (migration `m20261208_000004_table_versions`): how many writes each table has
//! had, counted by triggers in every write's transaction, and the database's epoch. What an
//! answer reads from a set of tables is the same as long as their versions and the epoch are:
//! the ETags of downloads and exports are made of them (`http::conditional`).
//!
//! A reader sees a count only grow: on PostgreSQL each write statement appends a row and
//! [`compact`] folds a table's rows into one in a single statement, so every snapshot sums the
//! same; a write committed after another reader's snapshot adds to what the next one sums, in
//! whatever order the writers took their sequence numbers.

use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

use super::StoreResult;

/// The row holding the epoch, drawn anew by [`restored`].
const EPOCH: &str = "(epoch)";

/// The row trigger that counts new assets on SQLite: a bulk load sets it aside with the other
/// row triggers (`assets::defer_upkeep`) and counts its write once at the end ([`count_write`]).
pub const ASSET_INSERT_TRIGGER: &str = "table_version_idle_asset_insert";

/// The epoch and the versions of `tables` (of every counted table when `None`), by name. A
/// table never written since the count began has no entry.
pub async fn of(
    conn: &impl ConnectionTrait,
    tables: Option<&[&str]>,
) -> StoreResult<Vec<(String, i64)>> {
    let backend = conn.get_database_backend();
    let mut values: Vec<Value> = vec![EPOCH.into()];
    let filter = match tables {
        None => String::new(),
        Some(tables) => {
            values.extend(tables.iter().map(|t| Value::from(*t)));
            let marks: Vec<String> = (1..=values.len())
                .map(|n| match backend {
                    DbBackend::Postgres => format!("${n}"),
                    _ => "?".to_owned(),
                })
                .collect();
            format!("WHERE table_name IN ({})", marks.join(", "))
        }
    };
    let sql = format!(
        "SELECT table_name, CAST(SUM(changes) AS BIGINT) FROM table_version {filter} \
         GROUP BY table_name ORDER BY table_name"
    );
    let statement = if tables.is_some() {
        Statement::from_sql_and_values(backend, sql, values)
    } else {
        Statement::from_string(backend, sql)
    };
    conn.query_all_raw(statement)
        .await?
        .iter()
        .map(|row| Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?)))
        .collect()
}

/// Counts a write to `table` in `conn`'s transaction, for a write its trigger did not see.
pub async fn count_write(conn: &impl ConnectionTrait, table: &str) -> StoreResult<()> {
    let backend = conn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "INSERT INTO table_version (table_name, changes) VALUES ($1, 1)",
        _ => {
            "INSERT INTO table_version (table_name, changes) VALUES (?, 1) \
             ON CONFLICT (table_name) DO UPDATE SET changes = changes + 1"
        }
    };
    conn.execute_raw(Statement::from_sql_and_values(backend, sql, [table.into()]))
        .await?;
    Ok(())
}

/// Folds each table's appended rows into one (PostgreSQL; SQLite keeps one row a table), in
/// one statement, so the sums stay as they were; returns how many tables it folded.
pub async fn compact(conn: &impl ConnectionTrait) -> StoreResult<u64> {
    let backend = conn.get_database_backend();
    if backend != DbBackend::Postgres {
        return Ok(0);
    }
    let sql = "WITH split AS (SELECT table_name FROM table_version GROUP BY table_name \
               HAVING COUNT(*) > 1), \
               gone AS (DELETE FROM table_version t USING split s \
               WHERE t.table_name = s.table_name RETURNING t.table_name, t.changes) \
               INSERT INTO table_version (table_name, changes) \
               SELECT table_name, SUM(changes) FROM gone GROUP BY table_name";
    let done = conn
        .execute_raw(Statement::from_string(backend, sql.to_owned()))
        .await?;
    Ok(done.rows_affected())
}

/// After a restore: a new epoch, so that no tag given out before it matches what the counts,
/// started again from the backup's, reach later.
pub async fn restored(conn: &impl ConnectionTrait) -> StoreResult<()> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
    let epoch = (u64::from_le_bytes(bytes) >> 11) as i64;
    let backend = conn.get_database_backend();
    let (delete, insert) = match backend {
        DbBackend::Postgres => (
            "DELETE FROM table_version WHERE table_name = $1",
            "INSERT INTO table_version (table_name, changes) VALUES ($1, $2)",
        ),
        _ => (
            "DELETE FROM table_version WHERE table_name = ?",
            "INSERT INTO table_version (table_name, changes) VALUES (?, ?)",
        ),
    };
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        delete,
        [EPOCH.into()],
    ))
    .await?;
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        insert,
        [EPOCH.into(), epoch.into()],
    ))
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use sea_orm::DatabaseConnection;

    use super::*;
    use crate::db::memory_database as database;

    async fn names(db: &DatabaseConnection, sql: &str) -> Vec<String> {
        db.query_all_raw(Statement::from_string(DbBackend::Sqlite, sql.to_owned()))
            .await
            .expect("read the catalogue")
            .iter()
            .map(|r| r.try_get_by_index(0).expect("a name"))
            .collect()
    }

    /// A new table is counted unless it is listed here with the reason: a table a download or
    /// an export reads but no trigger counts would be answered 304 after it changed.
    #[tokio::test]
    async fn every_table_but_the_derived_and_the_unexported_is_counted() {
        let db = database().await;
        let uncounted = [
            "access_token",     // no download or export reads tokens
            "audit_event",      // nor the audit trail
            "import_job",       // nor import jobs
            "asset_tally",      // kept from idle_asset's writes, in their transactions
            "boundary_version", // kept from township's and village's
            "event_log",        // kept from the counted tables' writes and the loan steps'
            "event_log_pruned", // the change log's own bookkeeping
            "sync_state",       // an office copy's own bookkeeping
            "seaql_migrations",
            "table_version",
        ];
        let tables = names(
            &db,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .await;
        let triggers = names(
            &db,
            "SELECT name FROM sqlite_master WHERE type = 'trigger' \
             AND name LIKE 'table_version_%'",
        )
        .await;
        let missing: Vec<&String> = tables
            .iter()
            .filter(|t| !uncounted.contains(&t.as_str()))
            .filter(|t| {
                ["insert", "update", "delete"]
                    .iter()
                    .any(|e| !triggers.contains(&format!("table_version_{t}_{e}")))
            })
            .collect();
        assert!(missing.is_empty(), "tables no trigger counts: {missing:?}");
        assert!(triggers.contains(&ASSET_INSERT_TRIGGER.to_owned()));
    }

    #[tokio::test]
    async fn writes_raise_their_tables_versions_and_a_restore_the_epoch() {
        let db = database().await;
        let before = of(&db, Some(&["party", "village"])).await.expect("read");
        assert_eq!(before.len(), 1, "only the epoch: {before:?}");
        db.execute_unprepared(
            "INSERT INTO party (kind, name, version, created_at, updated_at) \
             VALUES ('HOUSEHOLD', '张三', 1, '2026-01-01T00:00:00+00:00', \
             '2026-01-01T00:00:00+00:00')",
        )
        .await
        .expect("inserted");
        let one = of(&db, Some(&["party", "village"])).await.expect("read");
        assert_eq!(one[1], ("party".to_owned(), 1));
        db.execute_unprepared("UPDATE party SET name = '李四'")
            .await
            .expect("updated");
        db.execute_unprepared("UPDATE party SET name = '王五' WHERE id = -1")
            .await
            .expect("updated nothing");
        count_write(&db, "party").await.expect("counted");
        let three = of(&db, Some(&["party"])).await.expect("read");
        assert_eq!(three[1], ("party".to_owned(), 3));
        assert_eq!(of(&db, Some(&["village"])).await.expect("read"), before);
        assert_eq!(of(&db, None).await.expect("read").len(), 2);

        restored(&db).await.expect("restored");
        let after = of(&db, Some(&["party"])).await.expect("read");
        assert_ne!(after[0], three[0], "a new epoch");
        assert_eq!(after[1], three[1], "the counts as they were");
        assert_eq!(compact(&db).await.expect("compacted"), 0);
    }
}
