//! The office copy's sync state (migration `office_copy`): the district server it is a copy
//! of, the change-feed cursor it has read up to, and when.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, Statement};

use super::StoreResult;

/// Where a copy stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncState {
    pub source: String,
    pub cursor: String,
    pub synced_at: DateTime<Utc>,
}

/// The copy's state, if this database is one.
pub async fn get(conn: &impl ConnectionTrait) -> StoreResult<Option<SyncState>> {
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT source, cursor, synced_at FROM sync_state WHERE id = 1",
        ))
        .await?;
    row.map(|row| {
        Ok(SyncState {
            source: row.try_get_by_index(0)?,
            cursor: row.try_get_by_index(1)?,
            synced_at: row.try_get_by_index(2)?,
        })
    })
    .transpose()
}

/// Records a completed sync, in `conn`'s transaction.
pub async fn set(conn: &impl ConnectionTrait, state: &SyncState) -> StoreResult<()> {
    let backend = conn.get_database_backend();
    let (delete, insert) = match backend {
        sea_orm::DbBackend::Postgres => (
            "DELETE FROM sync_state WHERE id = 1",
            "INSERT INTO sync_state (id, source, cursor, synced_at) VALUES (1, $1, $2, $3)",
        ),
        _ => (
            "DELETE FROM sync_state WHERE id = 1",
            "INSERT INTO sync_state (id, source, cursor, synced_at) VALUES (1, ?, ?, ?)",
        ),
    };
    conn.execute_raw(Statement::from_string(backend, delete))
        .await?;
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        insert,
        [
            state.source.clone().into(),
            state.cursor.clone().into(),
            state.synced_at.into(),
        ],
    ))
    .await?;
    Ok(())
}
