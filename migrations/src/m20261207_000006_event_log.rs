//! The event log: what subscribers hear (`assetEvents`, `mortgageEvents`), written in the
//! transaction of the change, so that every server instance, and a subscriber that comes back
//! after a break, reads the same events in the same order from the database.
//!
//! - Asset events are written by triggers on `idle_asset`, so that every path that writes an
//!   asset (the API, an import, a boundary change moving assets, the seeds, the CLI) writes
//!   them: `REGISTERED`, `STATUS_CHANGED`, `MOVED` (township, village or location), `CHANGED`
//!   (anything else an edit touches), `REMOVED`.
//! - Loan events are written by `services::loans`, one per step, with the step's name.
//!
//! Order. On SQLite writers take turns, so `seq` follows commit order. On PostgreSQL it does
//! not: a transaction that took sequence number 7 may commit after the one that took 8. Each
//! row therefore carries its top-level transaction id (`tx`), and readers take rows in
//! `(tx, seq)` order and only below the oldest transaction still running (the snapshot's
//! `xmin`): every transaction below it has ended, so no row can appear later in the range a
//! reader has passed. A long transaction holds events back until it ends; none is skipped.
//!
//! On PostgreSQL every statement that appends rows notifies the channel `registry_events`
//! (delivered at commit; a transaction's notifications fold into one), which wakes the
//! instances' readers.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// What makes an update to an asset an event: an edit (version, time), its status, its place.
const WATCHED: [&str; 7] = [
    "version",
    "updated_at",
    "status",
    "township_id",
    "village_id",
    "lon",
    "lat",
];

const INSERT: &str = "INSERT INTO event_log \
     (entity, entity_id, action, township_id, previous_township_id, data)";

/// The action of an update from the row `o` to the row `n`, given how the engine says "differs".
fn update_action(differs: &str, o: &str, n: &str) -> String {
    let d = |c: &str| format!("{o}.{c} {differs} {n}.{c}");
    format!(
        "CASE WHEN {} THEN 'STATUS_CHANGED' WHEN {} OR {} OR {} OR {} THEN 'MOVED' \
         ELSE 'CHANGED' END",
        d("status"),
        d("township_id"),
        d("village_id"),
        d("lon"),
        d("lat")
    )
}

/// The event's payload from the row `n` (and `o`, the row before, on updates).
fn data(json_object: &str, n: &str, o: Option<&str>) -> String {
    let before = o
        .map(|o| format!(", 'previousStatus', {o}.status, 'previousVillageId', {o}.village_id"))
        .unwrap_or_default();
    format!(
        "{json_object}('code', {n}.code, 'kind', {n}.kind, 'status', {n}.status, \
         'villageId', {n}.village_id, 'lon', {n}.lon, 'lat', {n}.lat, 'version', {n}.version{before})"
    )
}

fn sqlite_statements() -> Vec<String> {
    let changed: Vec<String> = WATCHED
        .iter()
        .map(|c| format!("OLD.{c} IS NOT NEW.{c}"))
        .collect();
    let action = update_action("IS NOT", "OLD", "NEW");
    vec![
        "CREATE TABLE event_log (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            tx BIGINT NOT NULL DEFAULT 0,
            at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            entity TEXT NOT NULL,
            entity_id BIGINT NOT NULL,
            action TEXT NOT NULL,
            township_id BIGINT,
            previous_township_id BIGINT,
            bank_id BIGINT,
            data TEXT NOT NULL
        )"
        .to_owned(),
        format!(
            "CREATE TRIGGER event_log_asset_insert AFTER INSERT ON idle_asset BEGIN \
             {INSERT} VALUES ('asset', NEW.id, 'REGISTERED', NEW.township_id, NULL, {}); END",
            data("json_object", "NEW", None)
        ),
        format!(
            "CREATE TRIGGER event_log_asset_update AFTER UPDATE ON idle_asset WHEN {} BEGIN \
             {INSERT} VALUES ('asset', NEW.id, {action}, NEW.township_id, OLD.township_id, {}); \
             END",
            changed.join(" OR "),
            data("json_object", "NEW", Some("OLD"))
        ),
        format!(
            "CREATE TRIGGER event_log_asset_delete AFTER DELETE ON idle_asset BEGIN \
             {INSERT} VALUES ('asset', OLD.id, 'REMOVED', OLD.township_id, NULL, {}); END",
            data("json_object", "OLD", None)
        ),
    ]
}

fn postgres_statements() -> Vec<String> {
    let changed: Vec<String> = WATCHED
        .iter()
        .map(|c| format!("o.{c} IS DISTINCT FROM n.{c}"))
        .collect();
    let json = "json_build_object";
    let function = format!(
        "CREATE FUNCTION event_log_asset() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {INSERT} SELECT 'asset', n.id, 'REGISTERED', n.township_id, NULL, {}::text
        FROM new_rows n ORDER BY n.id;
    ELSIF TG_OP = 'DELETE' THEN
        {INSERT} SELECT 'asset', o.id, 'REMOVED', o.township_id, NULL, {}::text
        FROM old_rows o ORDER BY o.id;
    ELSE
        {INSERT} SELECT 'asset', n.id, {}, n.township_id, o.township_id, {}::text
        FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {} ORDER BY n.id;
    END IF;
    RETURN NULL;
END
$$",
        data(json, "n", None),
        data(json, "o", None),
        update_action("IS DISTINCT FROM", "o", "n"),
        data(json, "n", Some("o")),
        changed.join(" OR "),
    );
    vec![
        "CREATE TABLE event_log (
            seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            tx BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
            at TIMESTAMPTZ NOT NULL DEFAULT now(),
            entity TEXT NOT NULL,
            entity_id BIGINT NOT NULL,
            action TEXT NOT NULL,
            township_id BIGINT,
            previous_township_id BIGINT,
            bank_id BIGINT,
            data TEXT NOT NULL
        )"
        .to_owned(),
        "CREATE INDEX idx_event_log_order ON event_log (tx, seq)".to_owned(),
        function,
        "CREATE TRIGGER event_log_asset_insert AFTER INSERT ON idle_asset \
         REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION event_log_asset()"
            .to_owned(),
        "CREATE TRIGGER event_log_asset_delete AFTER DELETE ON idle_asset \
         REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION event_log_asset()"
            .to_owned(),
        "CREATE TRIGGER event_log_asset_update AFTER UPDATE ON idle_asset \
         REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows \
         FOR EACH STATEMENT EXECUTE FUNCTION event_log_asset()"
            .to_owned(),
        "CREATE FUNCTION event_log_notify() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN PERFORM pg_notify('registry_events', ''); RETURN NULL; END $$"
            .to_owned(),
        "CREATE TRIGGER event_log_notify AFTER INSERT ON event_log \
         FOR EACH STATEMENT EXECUTE FUNCTION event_log_notify()"
            .to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements = match manager.get_database_backend() {
            DbBackend::Postgres => postgres_statements(),
            _ => sqlite_statements(),
        };
        for sql in statements {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        for trigger in [
            "event_log_asset_insert",
            "event_log_asset_update",
            "event_log_asset_delete",
        ] {
            let sql = if postgres {
                format!("DROP TRIGGER IF EXISTS {trigger} ON idle_asset")
            } else {
                format!("DROP TRIGGER IF EXISTS {trigger}")
            };
            db.execute_unprepared(&sql).await?;
        }
        db.execute_unprepared("DROP TABLE IF EXISTS event_log")
            .await?;
        if postgres {
            db.execute_unprepared("DROP FUNCTION IF EXISTS event_log_asset()")
                .await?;
            db.execute_unprepared("DROP FUNCTION IF EXISTS event_log_notify()")
                .await?;
        }
        Ok(())
    }
}
