//! The asset tally: assets counted by township, village, kind, status and month of
//! registration, with their floor and land areas, kept by triggers in the transaction of every
//! write to `idle_asset` (registration, edit, status change, boundary move, import, deletion).
//! The district's figures read a few thousand cells here rather than a million assets.
//!
//! Areas are summed in whole square centimetres (m² × 10,000, each asset's area rounded), so
//! that adding and taking away never leaves a rounding residue. A village id of 0 stands for
//! assets outside every village (the key columns are never NULL, so cells compare equal).
//!
//! The engines keep the tally differently, each as its writers need:
//! - SQLite has one writer at a time: a row trigger adds each change to its cell (an upsert on
//!   the cell's unique key).
//! - PostgreSQL has many writers at once: a statement trigger appends the statement's net change
//!   per cell as a new row (an import's batch of 1,000 assets is one short INSERT), so writers
//!   never wait on one another's cells. Readers sum a cell's rows; `db::statistics::compact_tally`
//!   folds them into one from time to time.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "CREATE TABLE asset_tally (
    township_id BIGINT NOT NULL,
    village_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    month TEXT NOT NULL,
    assets BIGINT NOT NULL,
    floor_cm2 BIGINT NOT NULL,
    land_cm2 BIGINT NOT NULL
)";

const COLUMNS: &str = "township_id, village_id, kind, status, month, assets, floor_cm2, land_cm2";

/// An area column in whole square centimetres.
fn cm2(backend: DbBackend, column: &str) -> String {
    let integer = if backend == DbBackend::Postgres {
        "BIGINT"
    } else {
        "INTEGER"
    };
    format!("CAST(ROUND(COALESCE({column}, 0) * 10000) AS {integer})")
}

/// The month of registration of the row `row` (UTC): `2026-03`.
fn month(backend: DbBackend, row: &str) -> String {
    if backend == DbBackend::Postgres {
        format!("to_char({row}.created_at AT TIME ZONE 'UTC', 'YYYY-MM')")
    } else {
        format!("substr({row}.created_at, 1, 7)")
    }
}

/// The cell key of the row `row`, as five expressions.
fn key(backend: DbBackend, row: &str) -> String {
    format!(
        "{row}.township_id, COALESCE({row}.village_id, 0), {row}.kind, {row}.status, {}",
        month(backend, row)
    )
}

fn sqlite_statements() -> Vec<String> {
    let b = DbBackend::Sqlite;
    let add = |row: &str, sign: &str| {
        format!(
            "INSERT INTO asset_tally ({COLUMNS}) VALUES ({}, {sign}1, {sign}{}, {sign}{}) \
             ON CONFLICT (township_id, village_id, kind, status, month) DO UPDATE SET \
             assets = assets + excluded.assets, floor_cm2 = floor_cm2 + excluded.floor_cm2, \
             land_cm2 = land_cm2 + excluded.land_cm2;",
            key(b, row),
            cm2(b, &format!("{row}.floor_area_m2")),
            cm2(b, &format!("{row}.land_area_m2")),
        )
    };
    let tracked = [
        "township_id",
        "village_id",
        "kind",
        "status",
        "created_at",
        "floor_area_m2",
        "land_area_m2",
    ];
    let changed: Vec<String> = tracked
        .iter()
        .map(|c| format!("OLD.{c} IS NOT NEW.{c}"))
        .collect();
    vec![
        TABLE.to_owned(),
        "CREATE UNIQUE INDEX ux_asset_tally_cell ON asset_tally \
         (township_id, village_id, kind, status, month)"
            .to_owned(),
        "CREATE INDEX idx_asset_tally_village ON asset_tally (village_id)".to_owned(),
        format!(
            "CREATE TRIGGER asset_tally_insert AFTER INSERT ON idle_asset BEGIN {} END",
            add("NEW", "")
        ),
        format!(
            "CREATE TRIGGER asset_tally_delete AFTER DELETE ON idle_asset BEGIN {} END",
            add("OLD", "-")
        ),
        format!(
            "CREATE TRIGGER asset_tally_update AFTER UPDATE OF {} ON idle_asset WHEN {} \
             BEGIN {} {} END",
            tracked.join(", "),
            changed.join(" OR "),
            add("OLD", "-"),
            add("NEW", "")
        ),
    ]
}

fn postgres_statements() -> Vec<String> {
    let b = DbBackend::Postgres;
    // A transition table's rows as signed changes to their cells.
    let signed = |table: &str, sign: &str| {
        format!(
            "SELECT r.township_id AS township_id, COALESCE(r.village_id, 0) AS village_id, \
             r.kind AS kind, r.status AS status, {} AS month, \
             {sign}1 AS n, {sign}{} AS f, {sign}{} AS l FROM {table} r",
            month(b, "r"),
            cm2(b, "r.floor_area_m2"),
            cm2(b, "r.land_area_m2"),
        )
    };
    // One row per cell the statement changed, with its net change.
    let append = |rows: String| {
        format!(
            "INSERT INTO asset_tally ({COLUMNS}) \
             SELECT township_id, village_id, kind, status, month, SUM(n), SUM(f), SUM(l) \
             FROM ({rows}) d GROUP BY township_id, village_id, kind, status, month \
             HAVING SUM(n) <> 0 OR SUM(f) <> 0 OR SUM(l) <> 0;"
        )
    };
    let function = format!(
        "CREATE FUNCTION asset_tally_follow() RETURNS trigger LANGUAGE plpgsql AS $$
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
        append(signed("new_rows", "")),
        append(signed("old_rows", "-")),
        append(format!(
            "{} UNION ALL {}",
            signed("new_rows", ""),
            signed("old_rows", "-")
        )),
    );
    vec![
        TABLE.to_owned(),
        "CREATE INDEX idx_asset_tally_township ON asset_tally (township_id)".to_owned(),
        "CREATE INDEX idx_asset_tally_village ON asset_tally (village_id)".to_owned(),
        function,
        "CREATE TRIGGER asset_tally_insert AFTER INSERT ON idle_asset \
         REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION asset_tally_follow()"
            .to_owned(),
        "CREATE TRIGGER asset_tally_delete AFTER DELETE ON idle_asset \
         REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION asset_tally_follow()"
            .to_owned(),
        "CREATE TRIGGER asset_tally_update AFTER UPDATE ON idle_asset \
         REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows \
         FOR EACH STATEMENT EXECUTE FUNCTION asset_tally_follow()"
            .to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let db = manager.get_connection();
        let statements = match backend {
            DbBackend::Postgres => postgres_statements(),
            _ => sqlite_statements(),
        };
        for sql in statements {
            db.execute_unprepared(&sql).await?;
        }
        // The assets already registered.
        db.execute_unprepared(&format!(
            "INSERT INTO asset_tally ({COLUMNS}) SELECT {}, COUNT(*), SUM({}), SUM({}) \
             FROM idle_asset a GROUP BY 1, 2, 3, 4, 5",
            key(backend, "a"),
            cm2(backend, "a.floor_area_m2"),
            cm2(backend, "a.land_area_m2"),
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for trigger in [
            "asset_tally_insert",
            "asset_tally_delete",
            "asset_tally_update",
        ] {
            let sql = match manager.get_database_backend() {
                DbBackend::Postgres => format!("DROP TRIGGER IF EXISTS {trigger} ON idle_asset"),
                _ => format!("DROP TRIGGER IF EXISTS {trigger}"),
            };
            db.execute_unprepared(&sql).await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared("DROP FUNCTION IF EXISTS asset_tally_follow()")
                .await?;
        }
        db.execute_unprepared("DROP TABLE IF EXISTS asset_tally")
            .await?;
        Ok(())
    }
}
