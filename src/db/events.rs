//! The event log (migration `m20261207_000006_event_log`): what subscribers hear, written in
//! the transaction of each change. Asset events come from triggers on `idle_asset`; loan events
//! from [`append`], called by `services::loans`.
//!
//! Readers take events in [`Position`] order, `(tx, seq)`, and only those every writer before
//! them has finished with (see [`after`]): a reader that has passed a position never finds an
//! event appear behind it, on either engine.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

use super::StoreResult;

/// Where an event stands in the log's order: its writer's transaction id (0 on SQLite, whose
/// writers take turns) and its sequence number. Ordered as the log is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    pub tx: i64,
    pub seq: i64,
}

impl Position {
    /// The position as a cursor of the change feed: opaque to clients.
    pub fn to_cursor(self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("change:{}:{}", self.tx, self.seq))
    }

    /// A cursor `to_cursor` wrote, or None.
    pub fn from_cursor(cursor: &str) -> Option<Self> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let mut parts = text.strip_prefix("change:")?.split(':');
        let mut number = || parts.next()?.parse::<i64>().ok().filter(|n| *n >= 0);
        let position = Position {
            tx: number()?,
            seq: number()?,
        };
        parts.next().is_none().then_some(position)
    }
}

/// One event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub position: Position,
    pub at: DateTime<Utc>,
    /// `asset` or `loan_application`.
    pub entity: String,
    pub entity_id: i64,
    /// For assets `REGISTERED`, `CHANGED`, `STATUS_CHANGED`, `MOVED`, `REMOVED`; for loans the
    /// step's name (`submit`, `approve`, `disburse`, …).
    pub action: String,
    /// The township the record is in after the change.
    pub township_id: Option<i64>,
    /// The township it was in before, on updates (a move across townships differs).
    pub previous_township_id: Option<i64>,
    /// The lending bank, for loan events.
    pub bank_id: Option<i64>,
    /// The record's state after the change, as JSON (see the migration for its fields).
    pub data: serde_json::Value,
}

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub entity: &'a str,
    pub entity_id: i64,
    pub action: &'a str,
    pub township_id: Option<i64>,
    pub bank_id: Option<i64>,
    pub data: serde_json::Value,
}

/// Appends an event in `conn`'s transaction.
pub async fn append(conn: &impl ConnectionTrait, event: NewEvent<'_>) -> StoreResult<()> {
    let backend = conn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "INSERT INTO event_log (entity, entity_id, action, township_id, bank_id, data) \
             VALUES ($1, $2, $3, $4, $5, $6)"
        }
        _ => {
            "INSERT INTO event_log (entity, entity_id, action, township_id, bank_id, data) \
             VALUES (?, ?, ?, ?, ?, ?)"
        }
    };
    let values: [Value; 6] = [
        event.entity.into(),
        event.entity_id.into(),
        event.action.into(),
        event.township_id.into(),
        event.bank_id.into(),
        event.data.to_string().into(),
    ];
    conn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    Ok(())
}

const COLUMNS: &str = "seq, tx, at, entity, entity_id, action, township_id, \
                       previous_township_id, bank_id, data";

/// On PostgreSQL, the oldest transaction that may still append to this database's log: every
/// transaction below it has ended, so rows of theirs are all visible or never will be.
///
/// It is the oldest transaction in progress in the statement's snapshot, leaving out those
/// still running in another database (`pg_stat_activity`, read after the snapshot was taken):
/// they cannot write this log, and a long transaction elsewhere on the server would otherwise
/// hold every reader back. One that has ended since the snapshot counts, as its database can
/// no longer be told; prepared transactions count too (no backend runs them). With none, the
/// snapshot's `xmax`: a transaction that takes an id later takes a higher one. (An `xid8` is
/// the epoch above the 32-bit `xid` that `pg_stat_activity` shows.)
const HORIZON: &str = "(SELECT COALESCE(MIN(x::text::bigint), \
     pg_snapshot_xmax(pg_current_snapshot())::text::bigint) \
     FROM pg_snapshot_xip(pg_current_snapshot()) AS x \
     WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a \
     WHERE a.backend_xid::text::bigint = x::text::bigint % 4294967296 \
     AND a.datname IS DISTINCT FROM current_database()))";

fn event_of(row: &sea_orm::QueryResult) -> StoreResult<Event> {
    let data: String = row.try_get_by_index(9)?;
    Ok(Event {
        position: Position {
            seq: row.try_get_by_index(0)?,
            tx: row.try_get_by_index(1)?,
        },
        at: row.try_get_by_index(2)?,
        entity: row.try_get_by_index(3)?,
        entity_id: row.try_get_by_index(4)?,
        action: row.try_get_by_index(5)?,
        township_id: row.try_get_by_index(6)?,
        previous_township_id: row.try_get_by_index(7)?,
        bank_id: row.try_get_by_index(8)?,
        data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
    })
}

/// Up to `limit` events after `from`, in order, of those no running writer can still add to.
pub async fn after(
    conn: &impl ConnectionTrait,
    from: Position,
    limit: u64,
) -> StoreResult<Vec<Event>> {
    let backend = conn.get_database_backend();
    let statement = match backend {
        DbBackend::Postgres => Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT {COLUMNS} FROM event_log WHERE (tx, seq) > ($1, $2) AND tx < {HORIZON} \
                 ORDER BY tx, seq LIMIT $3"
            ),
            [from.tx.into(), from.seq.into(), (limit as i64).into()],
        ),
        _ => Statement::from_sql_and_values(
            backend,
            format!("SELECT {COLUMNS} FROM event_log WHERE seq > ? ORDER BY seq LIMIT ?"),
            [from.seq.into(), (limit as i64).into()],
        ),
    };
    conn.query_all_raw(statement)
        .await?
        .iter()
        .map(event_of)
        .collect()
}

/// Up to `limit` events after `from` of the `entities`, in order, of those no running writer can
/// still add to: a page of the change feed.
pub async fn of_entities_after(
    conn: &impl ConnectionTrait,
    from: Position,
    entities: &[&str],
    limit: u64,
) -> StoreResult<Vec<Event>> {
    let backend = conn.get_database_backend();
    let mut values: Vec<Value> = Vec::with_capacity(entities.len() + 3);
    let mut mark = |v: Value| {
        values.push(v);
        match backend {
            DbBackend::Postgres => format!("${}", values.len()),
            _ => "?".to_owned(),
        }
    };
    let sql = match backend {
        DbBackend::Postgres => {
            let (tx, seq) = (mark(from.tx.into()), mark(from.seq.into()));
            let names: Vec<String> = entities.iter().map(|e| mark((*e).into())).collect();
            let limit = mark((limit as i64).into());
            format!(
                "SELECT {COLUMNS} FROM event_log WHERE (tx, seq) > ({tx}, {seq}) \
                 AND tx < {HORIZON} AND entity IN ({}) ORDER BY tx, seq LIMIT {limit}",
                names.join(", ")
            )
        }
        _ => {
            let seq = mark(from.seq.into());
            let names: Vec<String> = entities.iter().map(|e| mark((*e).into())).collect();
            let limit = mark((limit as i64).into());
            format!(
                "SELECT {COLUMNS} FROM event_log WHERE seq > {seq} AND entity IN ({}) \
                 ORDER BY seq LIMIT {limit}",
                names.join(", ")
            )
        }
    };
    conn.query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?
        .iter()
        .map(event_of)
        .collect()
}

/// The ids of the records of `entity` with an event after `from` (committed now, whatever the
/// running writers will add): what changed since a reader's cursor.
pub async fn entity_ids_after(
    conn: &impl ConnectionTrait,
    entity: &str,
    from: Position,
) -> StoreResult<std::collections::HashSet<i64>> {
    let backend = conn.get_database_backend();
    let statement = match backend {
        DbBackend::Postgres => Statement::from_sql_and_values(
            backend,
            "SELECT DISTINCT entity_id FROM event_log WHERE entity = $1 AND (tx, seq) > ($2, $3)",
            [entity.into(), from.tx.into(), from.seq.into()],
        ),
        _ => Statement::from_sql_and_values(
            backend,
            "SELECT DISTINCT entity_id FROM event_log WHERE entity = ? AND seq > ?",
            [entity.into(), from.seq.into()],
        ),
    };
    conn.query_all_raw(statement)
        .await?
        .iter()
        .map(|row| Ok(row.try_get_by_index::<i64>(0)?))
        .collect()
}

/// How far the log has been pruned: the newest position deleted (the default when none was).
/// A reader whose place is before it may have missed events.
pub async fn pruned(conn: &impl ConnectionTrait) -> StoreResult<Position> {
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT tx, seq FROM event_log_pruned WHERE id = 1",
        ))
        .await?;
    Ok(match row {
        Some(row) => Position {
            tx: row.try_get_by_index(0)?,
            seq: row.try_get_by_index(1)?,
        },
        None => Position::default(),
    })
}

/// Whether a reader at `position` may have missed events the log no longer holds (pruned to
/// its retention): its cursor has expired.
pub async fn expired(conn: &impl ConnectionTrait, position: Position) -> StoreResult<bool> {
    Ok(position < pruned(conn).await?)
}

/// Deletes the events written before `before` (the feed's retention), in one transaction with
/// the record of how far the log is pruned; the number deleted.
pub async fn prune(db: &sea_orm::DatabaseConnection, before: DateTime<Utc>) -> StoreResult<u64> {
    let txn = super::begin_write(db).await?;
    let backend = txn.get_database_backend();
    let (newest, delete) = match backend {
        DbBackend::Postgres => (
            "SELECT tx, seq FROM event_log WHERE at < $1 ORDER BY tx DESC, seq DESC LIMIT 1",
            "DELETE FROM event_log WHERE at < $1",
        ),
        _ => (
            "SELECT tx, seq FROM event_log WHERE at < ? ORDER BY seq DESC LIMIT 1",
            "DELETE FROM event_log WHERE at < ?",
        ),
    };
    let at = |sql: &str| Statement::from_sql_and_values(backend, sql, [before.into()]);
    let Some(row) = txn.query_one_raw(at(newest)).await? else {
        txn.rollback().await?;
        return Ok(0);
    };
    let newest = Position {
        tx: row.try_get_by_index(0)?,
        seq: row.try_get_by_index(1)?,
    };
    let deleted = txn.execute_raw(at(delete)).await?.rows_affected();
    let kept = pruned(&txn).await?.max(newest);
    let update = match backend {
        DbBackend::Postgres => "UPDATE event_log_pruned SET tx = $1, seq = $2 WHERE id = 1",
        _ => "UPDATE event_log_pruned SET tx = ?, seq = ? WHERE id = 1",
    };
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        update,
        [kept.tx.into(), kept.seq.into()],
    ))
    .await?;
    txn.commit().await?;
    Ok(deleted)
}

/// The position of the last event a reader can take now: a reader starting from it hears
/// every event committed later, and none before.
pub async fn end(conn: &impl ConnectionTrait) -> StoreResult<Position> {
    let backend = conn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => format!(
            "SELECT tx, seq FROM event_log WHERE tx < {HORIZON} ORDER BY tx DESC, seq DESC LIMIT 1"
        ),
        _ => "SELECT tx, seq FROM event_log ORDER BY seq DESC LIMIT 1".to_owned(),
    };
    let row = conn
        .query_one_raw(Statement::from_string(backend, sql))
        .await?;
    Ok(match row {
        Some(row) => Position {
            tx: row.try_get_by_index(0)?,
            seq: row.try_get_by_index(1)?,
        },
        None => Position::default(),
    })
}

/// The position of event `seq`, if the log holds it.
pub async fn position_of(conn: &impl ConnectionTrait, seq: i64) -> StoreResult<Option<Position>> {
    let backend = conn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "SELECT tx, seq FROM event_log WHERE seq = $1",
        _ => "SELECT tx, seq FROM event_log WHERE seq = ?",
    };
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [seq.into()]))
        .await?;
    row.map(|row| {
        Ok(Position {
            tx: row.try_get_by_index(0)?,
            seq: row.try_get_by_index(1)?,
        })
    })
    .transpose()
}

/// The `REGISTERED` events of the assets after id `last`, in id order, as the insert trigger
/// writes them: for a bulk import on SQLite, which sets the row trigger aside while it loads
/// (see `assets::defer_upkeep`).
pub async fn assets_registered_after(conn: &impl ConnectionTrait, last: i64) -> StoreResult<()> {
    let backend = conn.get_database_backend();
    let json = match backend {
        DbBackend::Postgres => "json_build_object",
        _ => "json_object",
    };
    let sql = format!(
        "INSERT INTO event_log (entity, entity_id, action, township_id, previous_township_id, data) \
         SELECT 'asset', n.id, 'REGISTERED', n.township_id, NULL, \
         CAST({json}('code', n.code, 'kind', n.kind, 'status', n.status, 'villageId', n.village_id, \
         'lon', n.lon, 'lat', n.lat, 'version', n.version) AS TEXT) \
         FROM idle_asset n WHERE n.id > {last} ORDER BY n.id"
    );
    conn.execute_raw(Statement::from_string(backend, sql))
        .await?;
    Ok(())
}

/// After a restore: the log's transaction ids are another cluster's, which this one's may be
/// below. The restored events, all committed, are ordered by sequence alone (`tx` 0), before
/// every new one, so a reader neither skips new events nor loses its place in the old.
pub async fn restored(conn: &impl ConnectionTrait) -> StoreResult<()> {
    let backend = conn.get_database_backend();
    if backend == DbBackend::Postgres {
        for sql in [
            "UPDATE event_log SET tx = 0 WHERE tx <> 0",
            "UPDATE event_log_pruned SET tx = 0 WHERE tx <> 0",
        ] {
            conn.execute_raw(Statement::from_string(backend, sql))
                .await?;
        }
    }
    Ok(())
}
