//! Figures counted from the records in one GROUP BY each, on every request: nothing is copied,
//! so nothing can drift from the registry.

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement, Value};

use super::StoreResult;
use crate::domain::statistics::{AssetDimension, RevitalizationDimension};

/// Where figures are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    District,
    Township(i64),
    Village(i64),
}

impl Scope {
    /// The WHERE clause on the asset `a`, and its parameter.
    fn filter(self, backend: DatabaseBackend) -> (String, Option<i64>) {
        let p = match backend {
            DatabaseBackend::Postgres => "$1",
            _ => "?",
        };
        match self {
            Scope::District => ("TRUE".to_owned(), None),
            Scope::Township(t) => (format!("a.township_id = {p}"), Some(t)),
            Scope::Village(v) => (format!("a.village_id = {p}"), Some(v)),
        }
    }
}

/// The first `len` characters of a date or timestamp column as text: `2026` or `2026-03`.
fn date_prefix(backend: DatabaseBackend, column: &str, len: usize) -> String {
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

/// Assets in `scope` by `dimension` (the scope's total when `None`) and status.
pub async fn assets(
    conn: &impl ConnectionTrait,
    scope: Scope,
    dimension: Option<AssetDimension>,
) -> StoreResult<Vec<AssetCell>> {
    let backend = conn.get_database_backend();
    let key = match dimension {
        None => "''".to_owned(),
        Some(AssetDimension::Township) => "CAST(a.township_id AS TEXT)".to_owned(),
        Some(AssetDimension::Village) => "COALESCE(CAST(a.village_id AS TEXT), '')".to_owned(),
        Some(AssetDimension::Kind) => "a.kind".to_owned(),
        Some(AssetDimension::Status) => "a.status".to_owned(),
        Some(AssetDimension::RegistrationYear) => date_prefix(backend, "a.created_at", 4),
        Some(AssetDimension::RegistrationMonth) => date_prefix(backend, "a.created_at", 7),
    };
    // PostgreSQL refuses a constant in GROUP BY: the total groups by status alone.
    let group = if dimension.is_some() {
        format!("{key}, ")
    } else {
        String::new()
    };
    let (filter, param) = scope.filter(backend);
    let sql = format!(
        "SELECT {key} AS k, a.status, COUNT(*), \
         CAST(COALESCE(SUM(a.floor_area_m2), 0) AS DOUBLE PRECISION), \
         CAST(COALESCE(SUM(a.land_area_m2), 0) AS DOUBLE PRECISION) \
         FROM idle_asset a WHERE {filter} GROUP BY {group}a.status ORDER BY 1, 2"
    );
    let rows = conn.query_all_raw(statement(backend, sql, param)).await?;
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
    let (filter, param) = scope.filter(backend);
    let sql = format!(
        "SELECT {key} AS k, COUNT(*), COUNT(DISTINCT a.owner_id), \
         CAST(COALESCE(SUM(r.investment_fen), 0) AS BIGINT), \
         CAST(COALESCE(SUM(r.annual_rent_fen), 0) AS BIGINT), \
         CAST(COALESCE(SUM(r.jobs_created), 0) AS BIGINT) \
         FROM revitalization r JOIN idle_asset a ON a.id = r.asset_id \
         WHERE {filter}{group} ORDER BY 1"
    );
    let rows = conn.query_all_raw(statement(backend, sql, param)).await?;
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

fn statement(backend: DatabaseBackend, sql: String, param: Option<i64>) -> Statement {
    match param {
        Some(p) => Statement::from_sql_and_values(backend, sql, [Value::from(p)]),
        None => Statement::from_string(backend, sql),
    }
}
