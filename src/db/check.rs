//! What `rural-registry check` reads (完整性检查): the engine's own integrity checks, the names of
//! the schema's objects, the rules that one SQL statement can test, and the rows the rules
//! checked in Rust need. `services::check` turns them into the report.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, QueryResult, Statement};

use super::StoreResult;

async fn rows(conn: &impl ConnectionTrait, sql: &str) -> StoreResult<Vec<QueryResult>> {
    let backend = conn.get_database_backend();
    Ok(conn
        .query_all_raw(Statement::from_string(backend, sql))
        .await?)
}

/// The first column of every row, as text.
pub async fn texts(conn: &impl ConnectionTrait, sql: &str) -> StoreResult<Vec<String>> {
    rows(conn, sql)
        .await?
        .into_iter()
        .map(|r| Ok(r.try_get_by_index::<String>(0)?))
        .collect()
}

/// The number the statement counts.
pub async fn count(conn: &impl ConnectionTrait, sql: &str) -> StoreResult<i64> {
    Ok(rows(conn, sql)
        .await?
        .first()
        .map(|r| r.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0))
}

/// What the engine says is wrong with the database's storage, and how many objects it looked
/// at. SQLite: `PRAGMA integrity_check` (every page, index and constraint of the file) and
/// `PRAGMA foreign_key_check`. PostgreSQL: the catalog's word on the schema (indexes left
/// invalid by a failed build, constraints not validated, triggers disabled), every foreign key
/// tested for rows that name nothing, and, when the `amcheck` extension is installed, a
/// structural check of every B-tree index.
pub async fn storage(conn: &impl ConnectionTrait) -> StoreResult<(Vec<String>, i64)> {
    let mut problems = Vec::new();
    match conn.get_database_backend() {
        DatabaseBackend::Postgres => {
            problems.extend(
                texts(
                    conn,
                    "SELECT 'index ' || c.relname || ' is not valid (a failed build?)' \
                     FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                     WHERE c.relnamespace = current_schema()::regnamespace \
                       AND NOT (i.indisvalid AND i.indisready AND i.indislive) ORDER BY 1",
                )
                .await?,
            );
            problems.extend(
                texts(
                    conn,
                    "SELECT 'constraint ' || conname || ' is not validated' FROM pg_constraint \
                     WHERE connamespace = current_schema()::regnamespace AND NOT convalidated \
                     ORDER BY 1",
                )
                .await?,
            );
            problems.extend(
                texts(
                    conn,
                    "SELECT 'trigger ' || t.tgname || ' on ' || c.relname || ' is disabled' \
                     FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
                     WHERE c.relnamespace = current_schema()::regnamespace \
                       AND NOT t.tgisinternal AND t.tgenabled = 'D' ORDER BY 1",
                )
                .await?,
            );
            // Foreign keys hold: a session with `session_replication_role = replica` (a restore
            // with triggers off) writes past them, as `PRAGMA foreign_keys = OFF` does on SQLite.
            for r in rows(
                conn,
                "SELECT con.conname::text, cl.relname::text, a.attname::text, pcl.relname::text, \
                        pa.attname::text \
                 FROM pg_constraint con \
                 JOIN pg_class cl ON cl.oid = con.conrelid \
                 JOIN pg_class pcl ON pcl.oid = con.confrelid \
                 JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1] \
                 JOIN pg_attribute pa ON pa.attrelid = con.confrelid AND pa.attnum = con.confkey[1] \
                 WHERE con.contype = 'f' AND con.connamespace = current_schema()::regnamespace \
                   AND cardinality(con.conkey) = 1 ORDER BY 1",
            )
            .await?
            {
                let name: String = r.try_get_by_index(0)?;
                let (table, column): (String, String) =
                    (r.try_get_by_index(1)?, r.try_get_by_index(2)?);
                let (parent, key): (String, String) =
                    (r.try_get_by_index(3)?, r.try_get_by_index(4)?);
                let orphans = count(
                    conn,
                    &format!(
                        "SELECT COUNT(*) FROM \"{table}\" c WHERE c.\"{column}\" IS NOT NULL AND \
                         NOT EXISTS (SELECT 1 FROM \"{parent}\" p WHERE p.\"{key}\" = c.\"{column}\")"
                    ),
                )
                .await?;
                if orphans > 0 {
                    problems.push(format!(
                        "{orphans} {table} row(s) refer to a {parent} that does not exist \
                         ({name})"
                    ));
                }
            }
            let amcheck = count(
                conn,
                "SELECT COUNT(*) FROM pg_extension WHERE extname = 'amcheck'",
            )
            .await?;
            let indexes = texts(
                conn,
                "SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                 JOIN pg_am a ON a.oid = c.relam \
                 WHERE c.relnamespace = current_schema()::regnamespace AND a.amname = 'btree' \
                   AND i.indisvalid ORDER BY 1",
            )
            .await?;
            if amcheck > 0 {
                for index in &indexes {
                    let sql = format!("SELECT bt_index_check('{index}'::regclass)::text");
                    if let Err(e) = rows(conn, &sql).await {
                        problems.push(format!("index {index}: {}", e.0));
                    }
                }
            }
            let tables = count(
                conn,
                "SELECT COUNT(*) FROM pg_class WHERE relnamespace = current_schema()::regnamespace \
                 AND relkind IN ('r', 'i')",
            )
            .await?;
            Ok((problems, tables))
        }
        _ => {
            problems.extend(
                texts(conn, "PRAGMA integrity_check")
                    .await?
                    .into_iter()
                    .filter(|line| line != "ok"),
            );
            for r in rows(conn, "PRAGMA foreign_key_check").await? {
                let table: String = r.try_get_by_index(0)?;
                let row: Option<i64> = r.try_get_by_index(1)?;
                let parent: String = r.try_get_by_index(2)?;
                problems.push(format!(
                    "{table} row {} refers to a {parent} that does not exist",
                    row.map_or("?".to_owned(), |r| r.to_string())
                ));
            }
            let objects = count(
                conn,
                "SELECT COUNT(*) FROM sqlite_master WHERE type IN ('table', 'index')",
            )
            .await?;
            Ok((problems, objects))
        }
    }
}

/// The names of the schema's tables, indexes and triggers (SQLite's automatic indexes, named
/// by the engine, left out).
pub async fn schema_objects(conn: &impl ConnectionTrait) -> StoreResult<BTreeSet<String>> {
    let sql = match conn.get_database_backend() {
        DatabaseBackend::Postgres => {
            "SELECT 'table ' || tablename::text FROM pg_tables WHERE schemaname = current_schema() \
             UNION ALL SELECT 'index ' || indexname::text FROM pg_indexes \
               WHERE schemaname = current_schema() \
             UNION ALL SELECT DISTINCT 'trigger ' || t.tgname::text FROM pg_trigger t \
               JOIN pg_class c ON c.oid = t.tgrelid \
               WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal"
        }
        _ => {
            "SELECT type || ' ' || name FROM sqlite_master \
             WHERE type IN ('table', 'index', 'trigger') AND name NOT LIKE 'sqlite_%'"
        }
    };
    Ok(texts(conn, sql).await?.into_iter().collect())
}

/// An asset as the placement and tally rules read it.
#[derive(Debug, Clone)]
pub struct AssetRow {
    pub id: i64,
    pub code: String,
    pub kind: String,
    pub status: String,
    pub township_id: i64,
    pub village_id: Option<i64>,
    pub lon: f64,
    pub lat: f64,
    pub cell: Option<i64>,
    pub floor_area_m2: Option<f64>,
    pub land_area_m2: Option<f64>,
    pub created_at: DateTime<Utc>,
}

/// Every asset, in id order.
pub async fn assets(conn: &impl ConnectionTrait) -> StoreResult<Vec<AssetRow>> {
    use sea_orm::{EntityTrait, QueryOrder, QuerySelect};

    use super::entities::idle_asset::{Column, Entity};
    type Row = (
        i64,
        String,
        String,
        String,
        i64,
        Option<i64>,
        f64,
        f64,
        Option<i64>,
        Option<f64>,
        Option<f64>,
        DateTime<Utc>,
    );
    let rows: Vec<Row> = Entity::find()
        .select_only()
        .columns([
            Column::Id,
            Column::Code,
            Column::Kind,
            Column::Status,
            Column::TownshipId,
            Column::VillageId,
            Column::Lon,
            Column::Lat,
            Column::Cell,
            Column::FloorAreaM2,
            Column::LandAreaM2,
            Column::CreatedAt,
        ])
        .order_by_asc(Column::Id)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| AssetRow {
            id: r.0,
            code: r.1,
            kind: r.2,
            status: r.3,
            township_id: r.4,
            village_id: r.5,
            lon: r.6,
            lat: r.7,
            cell: r.8,
            floor_area_m2: r.9,
            land_area_m2: r.10,
            created_at: r.11,
        })
        .collect())
}

/// One cell of the asset tally, its rows summed: (township, village or 0, kind, status,
/// month) and (assets, floor cm², land cm²). Cells that sum to nothing are left out.
pub type TallyCell = ((i64, i64, String, String, String), (i64, i64, i64));

/// The asset tally, its rows summed by cell.
pub async fn tally(conn: &impl ConnectionTrait) -> StoreResult<Vec<TallyCell>> {
    rows(
        conn,
        "SELECT township_id, village_id, kind, status, month, CAST(SUM(assets) AS BIGINT), \
         CAST(SUM(floor_cm2) AS BIGINT), CAST(SUM(land_cm2) AS BIGINT) FROM asset_tally \
         GROUP BY township_id, village_id, kind, status, month \
         HAVING SUM(assets) <> 0 OR SUM(floor_cm2) <> 0 OR SUM(land_cm2) <> 0",
    )
    .await?
    .into_iter()
    .map(|r| {
        Ok((
            (
                r.try_get_by_index(0)?,
                r.try_get_by_index(1)?,
                r.try_get_by_index(2)?,
                r.try_get_by_index(3)?,
                r.try_get_by_index(4)?,
            ),
            (
                r.try_get_by_index(5)?,
                r.try_get_by_index(6)?,
                r.try_get_by_index(7)?,
            ),
        ))
    })
    .collect()
}

/// A record as the audit rule reads it.
#[derive(Debug, Clone)]
pub struct RecordStamp {
    pub id: i64,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Every record of `table` (a name from the rule's fixed list, never input), in id order.
pub async fn stamps(conn: &impl ConnectionTrait, table: &str) -> StoreResult<Vec<RecordStamp>> {
    rows(
        conn,
        &format!("SELECT id, version, created_at, updated_at FROM {table} ORDER BY id"),
    )
    .await?
    .into_iter()
    .map(|r| {
        Ok(RecordStamp {
            id: r.try_get_by_index(0)?,
            version: r.try_get_by_index(1)?,
            created_at: r.try_get_by_index(2)?,
            updated_at: r.try_get_by_index(3)?,
        })
    })
    .collect()
}

/// An audit event as the audit rule reads it.
#[derive(Debug, Clone)]
pub struct EventStamp {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<i64>,
    /// The `version` the record had after the change, when the event's snapshot gives it.
    pub version: Option<i64>,
}

/// Every audit event, in the order written.
pub async fn events(conn: &impl ConnectionTrait) -> StoreResult<Vec<EventStamp>> {
    use sea_orm::{EntityTrait, QueryOrder, QuerySelect};

    use super::entities::audit_event::{Column, Entity};
    type Row = (
        i64,
        DateTime<Utc>,
        String,
        String,
        Option<i64>,
        Option<String>,
    );
    let rows: Vec<Row> = Entity::find()
        .select_only()
        .columns([
            Column::Id,
            Column::At,
            Column::Action,
            Column::Entity,
            Column::EntityId,
            Column::After,
        ])
        .order_by_asc(Column::Id)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| EventStamp {
            id: r.0,
            at: r.1,
            action: r.2,
            entity: r.3,
            entity_id: r.4,
            version: r
                .5
                .as_deref()
                .and_then(|after| serde_json::from_str::<serde_json::Value>(after).ok())
                .and_then(|after| after.get("version").and_then(|v| v.as_i64())),
        })
        .collect())
}

/// A rule one SQL statement tests: how many records it looks at, and statements that give one
/// line of text per record that breaks it.
pub struct Probe {
    pub examined: &'static str,
    pub violations: &'static [&'static str],
}

/// No two mortgages in force on one right at one rank (the partial unique index
/// `idx_mortgage_active_rank` guards it; this finds what got past a missing index).
pub const MORTGAGE_RANK: Probe = Probe {
    examined: "SELECT COUNT(*) FROM mortgage WHERE status = 'ACTIVE'",
    violations: &[
        "SELECT 'right ' || r.code || ' has ' || CAST(COUNT(*) AS TEXT) \
         || ' mortgages in force at rank ' || CAST(m.rank AS TEXT) || ': ' \
         || MIN(m.registration_no) || ' … ' || MAX(m.registration_no) \
         FROM mortgage m JOIN property_right r ON r.id = m.right_id WHERE m.status = 'ACTIVE' \
         GROUP BY r.code, m.rank HAVING COUNT(*) > 1 ORDER BY 1",
    ],
};

/// Every right on a unit that exists: an idle asset, or for a collective share right
/// (股权) a share holding, and never both.
pub const RIGHT_UNIT: Probe = Probe {
    examined: "SELECT COUNT(*) FROM property_right",
    violations: &[
        "SELECT 'right ' || r.code || ' sits on asset #' || CAST(r.asset_id AS TEXT) \
         || ', which does not exist' FROM property_right r \
         LEFT JOIN idle_asset a ON a.id = r.asset_id \
         WHERE r.asset_id IS NOT NULL AND a.id IS NULL ORDER BY 1",
        "SELECT 'right ' || r.code || ' sits on share holding #' || CAST(r.holding_id AS TEXT) \
         || ', which does not exist' FROM property_right r \
         LEFT JOIN share_holding h ON h.id = r.holding_id \
         WHERE r.holding_id IS NOT NULL AND h.id IS NULL ORDER BY 1",
        "SELECT 'right ' || code || ' is a COLLECTIVE_SHARE right but sits on no share holding' \
         FROM property_right WHERE kind = 'COLLECTIVE_SHARE' AND holding_id IS NULL ORDER BY 1",
        "SELECT 'right ' || code || ' (' || kind || ') sits on a share holding and an asset, or on \
         a share holding without being a COLLECTIVE_SHARE right' FROM property_right \
         WHERE holding_id IS NOT NULL AND (kind <> 'COLLECTIVE_SHARE' OR asset_id IS NOT NULL) \
         ORDER BY 1",
    ],
};

/// Every right held in whole: its holders' parts sum to 100% (10,000 basis points), each part
/// positive, each holder a party that exists.
pub const RIGHT_HOLDERS: Probe = Probe {
    examined: "SELECT COUNT(*) FROM property_right",
    violations: &[
        "SELECT 'right ' || r.code || ': its holders hold ' \
         || CAST(COALESCE(SUM(h.share_bp), 0) AS TEXT) || ' basis points, not 10000' \
         FROM property_right r LEFT JOIN right_holder h ON h.right_id = r.id \
         GROUP BY r.id, r.code HAVING COALESCE(SUM(h.share_bp), 0) <> 10000 ORDER BY 1",
        "SELECT 'right ' || r.code || ': holder party #' || CAST(h.party_id AS TEXT) \
         || ' holds ' || CAST(h.share_bp AS TEXT) || ' basis points' FROM right_holder h \
         JOIN property_right r ON r.id = h.right_id WHERE h.share_bp <= 0 ORDER BY 1",
        "SELECT 'right #' || CAST(h.right_id AS TEXT) || ': holder party #' \
         || CAST(h.party_id AS TEXT) || ' does not exist' FROM right_holder h \
         LEFT JOIN party p ON p.id = h.party_id WHERE p.id IS NULL ORDER BY 1",
    ],
};

/// The share register adds up (股权台账): no class's open holdings total more than was issued
/// for it, every holding positive and of a class of its own organisation, none closed before
/// it opened.
pub const SHARE_HOLDINGS: Probe = Probe {
    examined: "SELECT COUNT(*) FROM share_holding",
    violations: &[
        "SELECT 'share class #' || CAST(c.id AS TEXT) || ' (' || c.name || '): open holdings \
         total ' || CAST(SUM(h.shares_hundredths) AS TEXT) || ' hundredths, more than the ' \
         || CAST(c.issued_hundredths AS TEXT) || ' issued' FROM share_class c \
         JOIN share_holding h ON h.class_id = c.id AND h.valid_to IS NULL \
         GROUP BY c.id, c.name, c.issued_hundredths \
         HAVING SUM(h.shares_hundredths) > c.issued_hundredths ORDER BY 1",
        "SELECT 'share holding #' || CAST(id AS TEXT) || ' holds ' \
         || CAST(shares_hundredths AS TEXT) || ' hundredths' FROM share_holding \
         WHERE shares_hundredths <= 0 ORDER BY 1",
        "SELECT 'share holding #' || CAST(h.id AS TEXT) || ' is of class #' \
         || CAST(h.class_id AS TEXT) || ', which is another organisation''s' \
         FROM share_holding h JOIN share_class c ON c.id = h.class_id \
         WHERE c.organization_id <> h.organization_id ORDER BY 1",
        "SELECT 'share holding #' || CAST(id AS TEXT) || ' closes before it opens' \
         FROM share_holding WHERE valid_to IS NOT NULL AND valid_to < valid_from ORDER BY 1",
    ],
};

/// Every distribution (分红) adds up: the reserve and the holders' amount make the
/// distributable amount, the classes' amounts make the holders' amount, and each class's payouts
/// make its amount, to the fen.
pub const DISTRIBUTIONS: Probe = Probe {
    examined: "SELECT COUNT(*) FROM distribution",
    violations: &[
        "SELECT 'distribution #' || CAST(id AS TEXT) || ' (' || CAST(year AS TEXT) \
         || '): reserve ' || CAST(reserve_fen AS TEXT) || ' + holders ' \
         || CAST(holders_fen AS TEXT) || ' fen is not the distributable ' \
         || CAST(distributable_fen AS TEXT) FROM distribution \
         WHERE reserve_fen + holders_fen <> distributable_fen OR reserve_fen < 0 \
            OR holders_fen < 0 ORDER BY 1",
        "SELECT 'distribution #' || CAST(d.id AS TEXT) || ' (' || CAST(d.year AS TEXT) \
         || '): its classes get ' || CAST(COALESCE(SUM(c.fen), 0) AS TEXT) \
         || ' fen, its holders ' || CAST(d.holders_fen AS TEXT) FROM distribution d \
         LEFT JOIN distribution_class c ON c.distribution_id = d.id \
         GROUP BY d.id, d.year, d.holders_fen HAVING COALESCE(SUM(c.fen), 0) <> d.holders_fen \
         ORDER BY 1",
        "SELECT 'distribution #' || CAST(c.distribution_id AS TEXT) || ', class #' \
         || CAST(c.class_id AS TEXT) || ': payouts sum to ' \
         || CAST(COALESCE(SUM(p.fen), 0) AS TEXT) || ' fen, the class gets ' \
         || CAST(c.fen AS TEXT) FROM distribution_class c \
         LEFT JOIN payout p ON p.distribution_id = c.distribution_id AND p.class_id = c.class_id \
         GROUP BY c.distribution_id, c.class_id, c.fen HAVING COALESCE(SUM(p.fen), 0) <> c.fen \
         ORDER BY 1",
        "SELECT 'payout #' || CAST(p.id AS TEXT) || ' is of a class its distribution does not \
         list' FROM payout p LEFT JOIN distribution_class c \
         ON c.distribution_id = p.distribution_id AND c.class_id = p.class_id \
         WHERE c.class_id IS NULL ORDER BY 1",
        "SELECT 'payout #' || CAST(id AS TEXT) || ' is ' || CAST(fen AS TEXT) || ' fen' \
         FROM payout WHERE fen < 0 ORDER BY 1",
    ],
};

/// The lines `probe` gives, and how many records it looked at.
pub async fn run(conn: &impl ConnectionTrait, probe: &Probe) -> StoreResult<(Vec<String>, i64)> {
    let mut found = Vec::new();
    for sql in probe.violations {
        found.extend(texts(conn, sql).await?);
    }
    Ok((found, count(conn, probe.examined).await?))
}
