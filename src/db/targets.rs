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

async fn numbers(conn: &impl ConnectionTrait, sql: String) -> StoreResult<Vec<f64>> {
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(Statement::from_string(backend, sql))
        .await?;
    let Some(row) = row else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut i = 0;
    while let Ok(v) = row.try_get_by_index::<i64>(i) {
        out.push(v as f64);
        i += 1;
    }
    Ok(out)
}

/// Every measure's actual value for `scope` in `year`, as of now.
pub async fn actuals(
    conn: &impl ConnectionTrait,
    scope: Scope,
    year: i32,
) -> StoreResult<HashMap<TargetMeasure, f64>> {
    let backend = conn.get_database_backend();
    let filter = scope.on("a");
    let mut out = HashMap::new();

    let registered = numbers(
        conn,
        format!(
            "SELECT CAST(COALESCE(SUM(a.assets), 0) AS BIGINT) FROM asset_tally a \
             WHERE {filter} AND substr(a.month, 1, 4) = '{year}'"
        ),
    )
    .await?;
    out.insert(
        TargetMeasure::AssetsRegistered,
        registered.first().copied().unwrap_or(0.0),
    );

    let revitalized = numbers(
        conn,
        format!(
            "SELECT COUNT(DISTINCT r.asset_id), COUNT(DISTINCT a.owner_id), \
             CAST(COALESCE(SUM(r.investment_fen), 0) AS BIGINT), \
             CAST(COALESCE(SUM(r.jobs_created), 0) AS BIGINT) \
             FROM revitalization r JOIN idle_asset a ON a.id = r.asset_id \
             WHERE {filter} AND {} = '{year}'",
            date_prefix(backend, "r.start_date", 4)
        ),
    )
    .await?;
    for (i, m) in [
        TargetMeasure::AssetsRevitalized,
        TargetMeasure::HouseholdsBenefited,
        TargetMeasure::InvestmentFen,
        TargetMeasure::JobsCreated,
    ]
    .into_iter()
    .enumerate()
    {
        out.insert(m, revitalized.get(i).copied().unwrap_or(0.0));
    }

    let disbursed = numbers(
        conn,
        format!(
            "SELECT CAST(COALESCE(SUM(e.amount_fen), 0) AS BIGINT) FROM loan_event e \
             JOIN loan_application l ON l.id = e.application_id \
             JOIN property_right r ON r.id = l.right_id LEFT JOIN idle_asset a ON a.id = r.asset_id \
             WHERE e.kind = 'DISBURSEMENT' AND {filter} AND {} = '{year}'",
            date_prefix(backend, "e.occurred_on", 4)
        ),
    )
    .await?;
    out.insert(
        TargetMeasure::LoansDisbursedFen,
        disbursed.first().copied().unwrap_or(0.0),
    );

    // The "three changes": organisations in the scope's villages.
    let org_filter = match scope {
        Scope::District => "TRUE".to_owned(),
        Scope::Township(t) => {
            format!("o.village_id IN (SELECT id FROM village WHERE township_id = {t})")
        }
        Scope::Village(v) => format!("o.village_id = {v}"),
    };
    let dividends = numbers(
        conn,
        format!(
            "SELECT CAST(COALESCE(SUM(p.fen), 0) AS BIGINT) FROM payout p \
             JOIN distribution d ON d.id = p.distribution_id \
             JOIN collective_organization o ON o.id = d.organization_id \
             WHERE p.paid_on IS NOT NULL AND d.year = {year} AND {org_filter}"
        ),
    )
    .await?;
    out.insert(
        TargetMeasure::DividendsPaidFen,
        dividends.first().copied().unwrap_or(0.0),
    );
    let holders = numbers(
        conn,
        format!(
            "SELECT COUNT(DISTINCT h.holder_party_id) FROM share_holding h \
             JOIN collective_organization o ON o.id = h.organization_id \
             WHERE h.holder_party_id IS NOT NULL AND h.valid_to IS NULL AND {org_filter}"
        ),
    )
    .await?;
    out.insert(
        TargetMeasure::ShareholderHouseholds,
        holders.first().copied().unwrap_or(0.0),
    );

    let cells = super::statistics::assets(conn, scope, None, &Default::default()).await?;
    let counts: Vec<_> = cells
        .iter()
        .filter_map(|c| {
            crate::domain::assets::AssetStatus::parse(&c.status)
                .ok()
                .map(|s| (s, c.count))
        })
        .collect();
    out.insert(
        TargetMeasure::RevitalizedShare,
        revitalized_share(&counts).unwrap_or(0.0),
    );
    Ok(out)
}
