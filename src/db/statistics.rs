//! Figures counted in one GROUP BY each, on every request: assets from the asset tally, which
//! triggers keep in the transaction of every write to an asset (so it cannot drift from the
//! assets), everything else from the records themselves.

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

use super::StoreResult;
use crate::domain::statistics::{AssetDimension, RevitalizationDimension};

/// Where figures are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    District,
    Township(i64),
    Village(i64),
}

impl Scope {
    /// The condition that keeps a row of a township's or village's columns under `alias` in the
    /// scope. Ids are numbers, written into the statement.
    pub(super) fn on(self, alias: &str) -> String {
        match self {
            Scope::District => "TRUE".to_owned(),
            Scope::Township(t) => format!("{alias}.township_id = {t}"),
            Scope::Village(v) => format!("{alias}.village_id = {v}"),
        }
    }
}

/// What a figure is narrowed to besides its scope: codes of the domain's enumerations and years,
/// written into the statement (they are checked codes and numbers, never the caller's text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Narrow {
    /// Asset kinds, or revitalization modes.
    pub codes: Vec<&'static str>,
    /// Years of registration, or of start.
    pub years: Vec<i32>,
}

impl Narrow {
    /// The conditions on `code_column` and on `year`, an expression giving a year as text.
    fn clause(&self, code_column: &str, year: &str) -> String {
        let mut out = String::new();
        if !self.codes.is_empty() {
            let list: Vec<String> = self.codes.iter().map(|c| format!("'{c}'")).collect();
            out.push_str(&format!(" AND {code_column} IN ({})", list.join(", ")));
        }
        if !self.years.is_empty() {
            let list: Vec<String> = self.years.iter().map(|y| format!("'{y}'")).collect();
            out.push_str(&format!(" AND {year} IN ({})", list.join(", ")));
        }
        out
    }
}

/// The first `len` characters of a date or timestamp column as text: `2026` or `2026-03`.
pub(super) fn date_prefix(backend: DatabaseBackend, column: &str, len: usize) -> String {
    match (backend, len) {
        (DatabaseBackend::Postgres, 4) => format!("to_char({column}, 'YYYY')"),
        (DatabaseBackend::Postgres, _) => format!("to_char({column}, 'YYYY-MM')"),
        _ => format!("substr({column}, 1, {len})"),
    }
}

/// One group of assets of one status: the group's key (a township's or village's id, a kind, a
/// status, a year or a month; empty for the scope's total or assets outside every village).
#[derive(Debug, Clone, PartialEq)]
pub struct AssetCell {
    pub key: String,
    pub status: String,
    pub count: i64,
    pub floor_m2: f64,
    pub land_m2: f64,
}

/// Assets in `scope` by `dimension` (the scope's total when `None`) and status, read from the
/// asset tally (see the migration `m20261207_000004_asset_tally`): a cell's rows are summed, so
/// the answer is the same whether or not the tally was lately compacted.
pub async fn assets(
    conn: &impl ConnectionTrait,
    scope: Scope,
    dimension: Option<AssetDimension>,
    narrow: &Narrow,
) -> StoreResult<Vec<AssetCell>> {
    let backend = conn.get_database_backend();
    let key = match dimension {
        None => "''",
        Some(AssetDimension::Township) => "CAST(a.township_id AS TEXT)",
        Some(AssetDimension::Village) => {
            "CASE WHEN a.village_id = 0 THEN '' ELSE CAST(a.village_id AS TEXT) END"
        }
        Some(AssetDimension::Kind) => "a.kind",
        Some(AssetDimension::Status) => "a.status",
        Some(AssetDimension::RegistrationYear) => "substr(a.month, 1, 4)",
        Some(AssetDimension::RegistrationMonth) => "a.month",
    };
    // PostgreSQL refuses a constant in GROUP BY: the total groups by status alone.
    let group = if dimension.is_some() {
        format!("{key}, ")
    } else {
        String::new()
    };
    let filter = scope.on("a");
    let narrowed = narrow.clause("a.kind", "substr(a.month, 1, 4)");
    let sql = format!(
        "SELECT {key} AS k, a.status, CAST(SUM(a.assets) AS BIGINT), \
         CAST(SUM(a.floor_cm2) AS DOUBLE PRECISION) / 10000, \
         CAST(SUM(a.land_cm2) AS DOUBLE PRECISION) / 10000 \
         FROM asset_tally a WHERE {filter}{narrowed} GROUP BY {group}a.status \
         HAVING SUM(a.assets) <> 0 ORDER BY 1, 2"
    );
    let rows = conn
        .query_all_raw(Statement::from_string(backend, sql))
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(AssetCell {
                key: r.try_get_by_index(0)?,
                status: r.try_get_by_index(1)?,
                count: r.try_get_by_index(2)?,
                floor_m2: r.try_get_by_index(3)?,
                land_m2: r.try_get_by_index(4)?,
            })
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(Into::into)
}

/// Adds the assets with ids above `last` to the asset tally, on SQLite, in one statement: for
/// a bulk load, which suspends the tally's row trigger in its transaction (`defer_upkeep`).
/// The cell's key and the areas are those of the trigger
/// (`migrations/src/m20261207_000004_asset_tally.rs`).
pub(super) async fn tally_assets_after(conn: &impl ConnectionTrait, last: i64) -> StoreResult<()> {
    let backend = conn.get_database_backend();
    let sql = format!(
        "INSERT INTO asset_tally (township_id, village_id, kind, status, month, assets, \
         floor_cm2, land_cm2) \
         SELECT township_id, COALESCE(village_id, 0), kind, status, substr(created_at, 1, 7), \
         COUNT(*), SUM(CAST(ROUND(COALESCE(floor_area_m2, 0) * 10000) AS INTEGER)), \
         SUM(CAST(ROUND(COALESCE(land_area_m2, 0) * 10000) AS INTEGER)) \
         FROM idle_asset WHERE id > {last} GROUP BY 1, 2, 3, 4, 5 \
         ON CONFLICT (township_id, village_id, kind, status, month) DO UPDATE SET \
         assets = assets + excluded.assets, floor_cm2 = floor_cm2 + excluded.floor_cm2, \
         land_cm2 = land_cm2 + excluded.land_cm2"
    );
    conn.execute_raw(Statement::from_string(backend, sql))
        .await?;
    Ok(())
}

/// Folds the asset tally's rows into one a cell and drops empty cells. On PostgreSQL every
/// write appends its change as rows of its own; this keeps the table as small as its cells.
/// Safe beside writers and other compactions: it deletes only rows committed before it began
/// (a concurrent compaction's deletions are skipped), and writes their sum in the same
/// statement. Returns the rows folded away.
pub async fn compact_tally(conn: &impl ConnectionTrait) -> StoreResult<u64> {
    let backend = conn.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "WITH split AS (SELECT township_id, village_id, kind, status, month FROM asset_tally \
             GROUP BY township_id, village_id, kind, status, month \
             HAVING COUNT(*) > 1 OR SUM(assets) = 0), \
             gone AS (DELETE FROM asset_tally t USING split s WHERE t.township_id = s.township_id \
             AND t.village_id = s.village_id AND t.kind = s.kind AND t.status = s.status \
             AND t.month = s.month RETURNING t.*) \
             INSERT INTO asset_tally (township_id, village_id, kind, status, month, assets, \
             floor_cm2, land_cm2) \
             SELECT township_id, village_id, kind, status, month, SUM(assets), SUM(floor_cm2), \
             SUM(land_cm2) FROM gone GROUP BY township_id, village_id, kind, status, month \
             HAVING SUM(assets) <> 0 OR SUM(floor_cm2) <> 0 OR SUM(land_cm2) <> 0"
        }
        // One row a cell already: only the empty cells go.
        _ => "DELETE FROM asset_tally WHERE assets = 0 AND floor_cm2 = 0 AND land_cm2 = 0",
    };
    let done = conn
        .execute_raw(Statement::from_string(backend, sql.to_owned()))
        .await?;
    Ok(done.rows_affected())
}

/// One group of revitalizations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevitalizationCell {
    pub key: String,
    pub count: i64,
    /// Distinct owners of the assets revitalized (受益农户).
    pub households: i64,
    pub investment_fen: i64,
    pub annual_rent_fen: i64,
    pub jobs_created: i64,
}

/// Revitalizations of assets in `scope` by `dimension` (the scope's total when `None`).
pub async fn revitalizations(
    conn: &impl ConnectionTrait,
    scope: Scope,
    dimension: Option<RevitalizationDimension>,
    narrow: &Narrow,
) -> StoreResult<Vec<RevitalizationCell>> {
    let backend = conn.get_database_backend();
    let key = match dimension {
        None => "''".to_owned(),
        Some(RevitalizationDimension::Mode) => "r.mode".to_owned(),
        Some(RevitalizationDimension::Township) => "CAST(a.township_id AS TEXT)".to_owned(),
        Some(RevitalizationDimension::Village) => {
            "COALESCE(CAST(a.village_id AS TEXT), '')".to_owned()
        }
        Some(RevitalizationDimension::StartYear) => date_prefix(backend, "r.start_date", 4),
        Some(RevitalizationDimension::StartMonth) => date_prefix(backend, "r.start_date", 7),
    };
    // PostgreSQL refuses a constant in GROUP BY: the total is one group without it.
    let group = if dimension.is_some() {
        format!(" GROUP BY {key}")
    } else {
        String::new()
    };
    let filter = scope.on("a");
    let narrowed = narrow.clause("r.mode", &date_prefix(backend, "r.start_date", 4));
    let sql = format!(
        "SELECT {key} AS k, COUNT(*), COUNT(DISTINCT a.owner_id), \
         CAST(COALESCE(SUM(r.investment_fen), 0) AS BIGINT), \
         CAST(COALESCE(SUM(r.annual_rent_fen), 0) AS BIGINT), \
         CAST(COALESCE(SUM(r.jobs_created), 0) AS BIGINT) \
         FROM revitalization r JOIN idle_asset a ON a.id = r.asset_id \
         WHERE {filter}{narrowed}{group} ORDER BY 1"
    );
    let rows = conn
        .query_all_raw(Statement::from_string(backend, sql))
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(RevitalizationCell {
                key: r.try_get_by_index(0)?,
                count: r.try_get_by_index(1)?,
                households: r.try_get_by_index(2)?,
                investment_fen: r.try_get_by_index(3)?,
                annual_rent_fen: r.try_get_by_index(4)?,
                jobs_created: r.try_get_by_index(5)?,
            })
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(Into::into)
}

/// One loan with what the figures need of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoanRow {
    pub bank_id: i64,
    pub product_id: i64,
    pub right_kind: String,
    /// The township and village of the asset the right is on; none for a right on no asset.
    pub township_id: Option<i64>,
    pub village_id: Option<i64>,
    pub status: String,
    pub amount_fen: i64,
    pub disbursed_fen: i64,
    pub repaid_fen: i64,
    /// The first disbursement's date, `YYYY-MM-DD`.
    pub first_disbursed_on: Option<String>,
}

/// A mortgage in force or a credit line: what backs lending without being a loan's steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PledgeRow {
    pub bank_id: i64,
    /// The loan's product, for a mortgage.
    pub product_id: Option<i64>,
    pub right_kind: String,
    pub township_id: Option<i64>,
    pub village_id: Option<i64>,
    pub amount_fen: i64,
    /// Registered (a mortgage) or granted (a credit line) on, `YYYY-MM-DD`.
    pub on: String,
    /// The status of the loan a mortgage secures; none for a credit line.
    pub loan_status: Option<String>,
}

/// The WHERE clause for a scope over the asset `a` and, when given, one bank's business in
/// `bank_column`.
fn lending_filter(scope: Scope, bank: Option<i64>, bank_column: &str) -> String {
    match bank {
        Some(b) => format!("{} AND {bank_column} = {b}", scope.on("a")),
        None => scope.on("a"),
    }
}

/// Loans on rights in `scope` (of one bank when `bank` is given).
pub async fn loans(
    conn: &impl ConnectionTrait,
    scope: Scope,
    bank: Option<i64>,
) -> StoreResult<Vec<LoanRow>> {
    let backend = conn.get_database_backend();
    let filter = lending_filter(scope, bank, "l.bank_id");
    let sum = |kind: &str| {
        format!(
            "CAST((SELECT COALESCE(SUM(e.amount_fen), 0) FROM loan_event e \
             WHERE e.application_id = l.id AND e.kind = '{kind}') AS BIGINT)"
        )
    };
    let sql = format!(
        "SELECT l.bank_id, l.product_id, r.kind, a.township_id, a.village_id, l.status, \
         l.amount_fen, {}, {}, \
         (SELECT CAST(MIN(e.occurred_on) AS TEXT) FROM loan_event e \
          WHERE e.application_id = l.id AND e.kind = 'DISBURSEMENT') \
         FROM loan_application l JOIN property_right r ON r.id = l.right_id \
         LEFT JOIN idle_asset a ON a.id = r.asset_id WHERE {filter} ORDER BY l.id",
        sum("DISBURSEMENT"),
        sum("REPAYMENT"),
    );
    let rows = conn
        .query_all_raw(Statement::from_string(backend, sql))
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(LoanRow {
                bank_id: r.try_get_by_index(0)?,
                product_id: r.try_get_by_index(1)?,
                right_kind: r.try_get_by_index(2)?,
                township_id: r.try_get_by_index(3)?,
                village_id: r.try_get_by_index(4)?,
                status: r.try_get_by_index(5)?,
                amount_fen: r.try_get_by_index(6)?,
                disbursed_fen: r.try_get_by_index(7)?,
                repaid_fen: r.try_get_by_index(8)?,
                first_disbursed_on: r.try_get_by_index(9)?,
            })
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(Into::into)
}

/// Mortgages in force and credit lines granted on rights in `scope` (of one bank when `bank`
/// is given): (mortgages, credit lines).
pub async fn pledges(
    conn: &impl ConnectionTrait,
    scope: Scope,
    bank: Option<i64>,
) -> StoreResult<(Vec<PledgeRow>, Vec<PledgeRow>)> {
    let backend = conn.get_database_backend();
    let read = |rows: Vec<sea_orm::QueryResult>| {
        rows.into_iter()
            .map(|r| {
                Ok(PledgeRow {
                    bank_id: r.try_get_by_index(0)?,
                    product_id: r.try_get_by_index(1)?,
                    right_kind: r.try_get_by_index(2)?,
                    township_id: r.try_get_by_index(3)?,
                    village_id: r.try_get_by_index(4)?,
                    amount_fen: r.try_get_by_index(5)?,
                    on: r.try_get_by_index(6)?,
                    loan_status: r.try_get_by_index(7)?,
                })
            })
            .collect::<Result<Vec<_>, sea_orm::DbErr>>()
    };
    let filter = lending_filter(scope, bank, "m.bank_id");
    let sql = format!(
        "SELECT m.bank_id, l.product_id, r.kind, a.township_id, a.village_id, m.amount_fen, \
         CAST(m.registered_on AS TEXT), l.status \
         FROM mortgage m JOIN loan_application l ON l.id = m.application_id \
         JOIN property_right r ON r.id = m.right_id LEFT JOIN idle_asset a ON a.id = r.asset_id \
         WHERE m.status = 'ACTIVE' AND {filter} ORDER BY m.id"
    );
    let mortgages = read(
        conn.query_all_raw(Statement::from_string(backend, sql))
            .await?,
    )?;
    let filter = lending_filter(scope, bank, "c.bank_id");
    let sql = format!(
        "SELECT c.bank_id, CAST(NULL AS BIGINT), r.kind, a.township_id, a.village_id, \
         c.amount_fen, CAST(c.granted_on AS TEXT), CAST(NULL AS TEXT) \
         FROM credit_line c JOIN property_right r ON r.id = c.right_id \
         LEFT JOIN idle_asset a ON a.id = r.asset_id WHERE {filter} ORDER BY c.id"
    );
    let lines = read(
        conn.query_all_raw(Statement::from_string(backend, sql))
            .await?,
    )?;
    Ok((mortgages, lines))
}

/// Demonstration-site indicators in `scope` (the site's township or village), summed by year
/// and code: (year, code, sum, sites reporting).
pub async fn site_indicators(
    conn: &impl ConnectionTrait,
    scope: Scope,
    years: Option<&[i32]>,
) -> StoreResult<Vec<(i32, String, i64, i64)>> {
    let backend = conn.get_database_backend();
    // Ids and years are numbers, written into the statement.
    let mut filter = scope.on("s");
    if let Some(years) = years {
        let list: Vec<String> = years.iter().map(i32::to_string).collect();
        if list.is_empty() {
            return Ok(Vec::new());
        }
        filter = format!("{filter} AND d.year IN ({})", list.join(", "));
    }
    let sql = format!(
        "SELECT d.year, d.code, CAST(SUM(d.value) AS BIGINT), COUNT(*) FROM demo_indicator d \
         JOIN demo_site s ON s.id = d.demo_site_id WHERE {filter} \
         GROUP BY d.year, d.code ORDER BY 1, 2"
    );
    let rows = conn
        .query_all_raw(Statement::from_string(backend, sql))
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok((
                r.try_get_by_index(0)?,
                r.try_get_by_index(1)?,
                r.try_get_by_index(2)?,
                r.try_get_by_index(3)?,
            ))
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(Into::into)
}
