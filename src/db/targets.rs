//! Targets (目标任务), and the actual value of each measure for a scope and year, counted from
//! the records when asked.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    Statement,
};

use super::StoreResult;
use super::entities::target;
use super::statistics::{Scope, date_prefix};
use super::versioned::{Versioned, update_versioned};
use crate::domain::statistics::revitalized_share;
use crate::domain::targets::TargetMeasure;

/// The key that makes a scope unique in the table.
pub fn scope_key(scope: Scope) -> String {
    match scope {
        Scope::District => "DISTRICT".to_owned(),
        Scope::Township(t) => format!("T{t}"),
        Scope::Village(v) => format!("V{v}"),
    }
}

/// The scope of a stored target.
pub fn scope_of(t: &target::Model) -> Scope {
    match (t.township_id, t.village_id) {
        (_, Some(v)) => Scope::Village(v),
        (Some(tw), None) => Scope::Township(tw),
        (None, None) => Scope::District,
    }
}

/// A target as set.
#[derive(Debug, Clone)]
pub struct NewTarget {
    pub scope: Scope,
    pub year: i32,
    pub measure: TargetMeasure,
    pub value: f64,
    pub note: Option<String>,
    pub set_by: String,
}

pub async fn find(
    conn: &impl ConnectionTrait,
    scope: Scope,
    year: i32,
    measure: TargetMeasure,
) -> StoreResult<Option<target::Model>> {
    use target::Column;
    Ok(target::Entity::find()
        .filter(Column::ScopeKey.eq(scope_key(scope)))
        .filter(Column::Year.eq(year))
        .filter(Column::Measure.eq(measure.as_str()))
        .one(conn)
        .await?)
}

pub async fn insert(conn: &impl ConnectionTrait, t: &NewTarget) -> StoreResult<target::Model> {
    let now = Utc::now();
    let (township_id, village_id) = match t.scope {
        Scope::District => (None, None),
        Scope::Township(tw) => (Some(tw), None),
        Scope::Village(v) => (None, Some(v)),
    };
    Ok(target::ActiveModel {
        scope_key: Set(scope_key(t.scope)),
        township_id: Set(township_id),
        village_id: Set(village_id),
        year: Set(t.year),
        measure: Set(t.measure.as_str().to_owned()),
        value: Set(t.value),
        note: Set(t.note.clone()),
        set_by: Set(t.set_by.clone()),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

/// Changes a target's value and note at `version`.
pub async fn update(
    conn: &impl ConnectionTrait,
    id: i64,
    version: i32,
    value: f64,
    note: Option<String>,
    set_by: &str,
) -> StoreResult<Versioned<target::Model>> {
    use sea_orm::sea_query::Expr;
    let changes = target::Entity::update_many()
        .col_expr(target::Column::Value, Expr::value(value))
        .col_expr(target::Column::Note, Expr::value(note))
        .col_expr(target::Column::SetBy, Expr::value(set_by.to_owned()));
    update_versioned(conn, id, version, changes).await
}

pub async fn by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, target::Model>> {
    Ok(target::Entity::find()
        .filter(target::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect())
}

/// Targets of a year (every year when `None`), in any of `scopes` (all when `None`), in scope
/// and measure order.
pub async fn list(
    conn: &impl ConnectionTrait,
    year: Option<i32>,
    scopes: Option<&[Scope]>,
) -> StoreResult<Vec<target::Model>> {
    use target::Column;
    let mut q = target::Entity::find()
        .order_by_asc(Column::Year)
        .order_by_asc(Column::ScopeKey)
        .order_by_asc(Column::Measure);
    if let Some(y) = year {
        q = q.filter(Column::Year.eq(y));
    }
    if let Some(scopes) = scopes {
        q = q.filter(Column::ScopeKey.is_in(scopes.iter().map(|s| scope_key(*s))));
    }
    Ok(q.all(conn).await?)
}

/// Where a counted row lies: its township and village, where it has them.
#[derive(Debug, Clone, Copy)]
struct At {
    township: Option<i64>,
    village: Option<i64>,
}

impl At {
    fn read(row: &sea_orm::QueryResult, first: usize) -> Result<Self, sea_orm::DbErr> {
        Ok(Self {
            township: row.try_get_by_index(first)?,
            // The tally writes 0 for assets outside every village.
            village: row
                .try_get_by_index::<Option<i64>>(first + 1)?
                .filter(|v| *v != 0),
        })
    }

    fn within(self, scope: Scope) -> bool {
        match scope {
            Scope::District => true,
            Scope::Township(t) => self.township == Some(t),
            Scope::Village(v) => self.village == Some(v),
        }
    }
}

async fn rows(conn: &impl ConnectionTrait, sql: String) -> StoreResult<Vec<sea_orm::QueryResult>> {
    let backend = conn.get_database_backend();
    Ok(conn
        .query_all_raw(Statement::from_string(backend, sql))
        .await?)
}

/// Every measure's actual value for `scope` in `year`, as of now.
pub async fn actuals(
    conn: &impl ConnectionTrait,
    scope: Scope,
    year: i32,
) -> StoreResult<HashMap<TargetMeasure, f64>> {
    Ok(actuals_of(conn, &[scope], year)
        .await?
        .remove(&scope)
        .unwrap_or_default())
}

/// Every measure's actual value in `year` for each of `scopes`, as of now: six statements
/// whatever the number of scopes, each reading the year's rows by township and village once
/// (distinct households and assets are kept as sets, so that a household counts once in a
/// township even with assets in two of its villages).
pub async fn actuals_of(
    conn: &impl ConnectionTrait,
    scopes: &[Scope],
    year: i32,
) -> StoreResult<HashMap<Scope, HashMap<TargetMeasure, f64>>> {
    use std::collections::{BTreeMap, HashSet};

    use crate::domain::assets::AssetStatus;

    let backend = conn.get_database_backend();
    let mut out: HashMap<Scope, HashMap<TargetMeasure, f64>> = scopes
        .iter()
        .map(|s| (*s, TargetMeasure::ALL.iter().map(|m| (*m, 0.0)).collect()))
        .collect();
    let mut add = |at: At, measure: TargetMeasure, value: f64| {
        for (scope, values) in out.iter_mut() {
            if at.within(*scope) {
                *values.entry(measure).or_default() += value;
            }
        }
    };

    let registered = rows(
        conn,
        format!(
            "SELECT township_id, village_id, CAST(SUM(assets) AS BIGINT) FROM asset_tally \
             WHERE substr(month, 1, 4) = '{year}' GROUP BY township_id, village_id"
        ),
    )
    .await?;
    for r in &registered {
        let n: i64 = r.try_get_by_index(2)?;
        add(At::read(r, 0)?, TargetMeasure::AssetsRegistered, n as f64);
    }

    let disbursed = rows(
        conn,
        format!(
            "SELECT a.township_id, a.village_id, CAST(COALESCE(SUM(e.amount_fen), 0) AS BIGINT) \
             FROM loan_event e JOIN loan_application l ON l.id = e.application_id \
             JOIN property_right r ON r.id = l.right_id LEFT JOIN idle_asset a ON a.id = r.asset_id \
             WHERE e.kind = 'DISBURSEMENT' AND {} = '{year}' GROUP BY a.township_id, a.village_id",
            date_prefix(backend, "e.occurred_on", 4)
        ),
    )
    .await?;
    for r in &disbursed {
        let fen: i64 = r.try_get_by_index(2)?;
        add(
            At::read(r, 0)?,
            TargetMeasure::LoansDisbursedFen,
            fen as f64,
        );
    }

    // The "three changes": organisations in the scope's villages.
    let dividends = rows(
        conn,
        format!(
            "SELECT v.township_id, o.village_id, CAST(COALESCE(SUM(p.fen), 0) AS BIGINT) \
             FROM payout p JOIN distribution d ON d.id = p.distribution_id \
             JOIN collective_organization o ON o.id = d.organization_id \
             LEFT JOIN village v ON v.id = o.village_id \
             WHERE p.paid_on IS NOT NULL AND d.year = {year} GROUP BY v.township_id, o.village_id"
        ),
    )
    .await?;
    for r in &dividends {
        let fen: i64 = r.try_get_by_index(2)?;
        add(At::read(r, 0)?, TargetMeasure::DividendsPaidFen, fen as f64);
    }

    // Distinct counts: the year's revitalizations and today's shareholders, row by row.
    let revitalized = rows(
        conn,
        format!(
            "SELECT a.township_id, a.village_id, r.asset_id, a.owner_id, \
             CAST(COALESCE(r.investment_fen, 0) AS BIGINT), \
             CAST(COALESCE(r.jobs_created, 0) AS BIGINT) \
             FROM revitalization r JOIN idle_asset a ON a.id = r.asset_id WHERE {} = '{year}'",
            date_prefix(backend, "r.start_date", 4)
        ),
    )
    .await?;
    let holders = rows(
        conn,
        "SELECT DISTINCT v.township_id, o.village_id, h.holder_party_id FROM share_holding h \
         JOIN collective_organization o ON o.id = h.organization_id \
         LEFT JOIN village v ON v.id = o.village_id \
         WHERE h.holder_party_id IS NOT NULL AND h.valid_to IS NULL"
            .to_owned(),
    )
    .await?;
    let by_status = rows(
        conn,
        "SELECT township_id, village_id, status, CAST(SUM(assets) AS BIGINT) FROM asset_tally \
         GROUP BY township_id, village_id, status"
            .to_owned(),
    )
    .await?;
    // Decoded once; each scope then picks its rows.
    type Revitalized = (At, i64, Option<i64>, i64, i64);
    let revitalized: Vec<Revitalized> = revitalized
        .iter()
        .map(|r| {
            Ok((
                At::read(r, 0)?,
                r.try_get_by_index(2)?,
                r.try_get_by_index(3)?,
                r.try_get_by_index(4)?,
                r.try_get_by_index(5)?,
            ))
        })
        .collect::<Result<_, sea_orm::DbErr>>()?;
    let holders: Vec<(At, i64)> = holders
        .iter()
        .map(|r| Ok((At::read(r, 0)?, r.try_get_by_index(2)?)))
        .collect::<Result<_, sea_orm::DbErr>>()?;
    let by_status: Vec<(At, AssetStatus, i64)> = by_status
        .iter()
        .map(|r| {
            let status: String = r.try_get_by_index(2)?;
            let (at, n) = (At::read(r, 0)?, r.try_get_by_index(3)?);
            Ok(AssetStatus::parse(&status).ok().map(|s| (at, s, n)))
        })
        .filter_map(Result::transpose)
        .collect::<Result<_, sea_orm::DbErr>>()?;
    for (scope, values) in out.iter_mut() {
        let inside = revitalized.iter().filter(|r| r.0.within(*scope));
        let mut assets = HashSet::new();
        let mut owners = HashSet::new();
        let (mut investment, mut jobs) = (0_i64, 0_i64);
        for (_, asset, owner, fen, created) in inside {
            assets.insert(*asset);
            owners.extend(*owner);
            investment += fen;
            jobs += created;
        }
        values.insert(TargetMeasure::AssetsRevitalized, assets.len() as f64);
        values.insert(TargetMeasure::HouseholdsBenefited, owners.len() as f64);
        values.insert(TargetMeasure::InvestmentFen, investment as f64);
        values.insert(TargetMeasure::JobsCreated, jobs as f64);

        let shareholders: HashSet<i64> = holders
            .iter()
            .filter(|h| h.0.within(*scope))
            .map(|h| h.1)
            .collect();
        values.insert(
            TargetMeasure::ShareholderHouseholds,
            shareholders.len() as f64,
        );

        let mut counts: BTreeMap<AssetStatus, i64> = BTreeMap::new();
        for (at, status, n) in &by_status {
            if at.within(*scope) {
                *counts.entry(*status).or_default() += n;
            }
        }
        let counts: Vec<(AssetStatus, i64)> = counts.into_iter().collect();
        values.insert(
            TargetMeasure::RevitalizedShare,
            revitalized_share(&counts).unwrap_or(0.0),
        );
    }
    Ok(out)
}
