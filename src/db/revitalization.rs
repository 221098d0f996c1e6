//! Revitalization records (盘活利用).

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};

use super::StoreResult;
use super::entities::revitalization::{self, Column};
use crate::domain::revitalization::NewRevitalization;

pub async fn by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, revitalization::Model>> {
    let rows = revitalization::Entity::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r)).collect())
}

/// The records of each asset, oldest first, in one query.
pub async fn of_assets(
    conn: &impl ConnectionTrait,
    asset_ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<revitalization::Model>>> {
    let rows = revitalization::Entity::find()
        .filter(Column::AssetId.is_in(asset_ids.iter().copied()))
        .order_by_asc(Column::StartDate)
        .order_by_asc(Column::Id)
        .all(conn)
        .await?;
    let mut out: HashMap<i64, Vec<revitalization::Model>> = HashMap::new();
    for r in rows {
        out.entry(r.asset_id).or_default().push(r);
    }
    Ok(out)
}

pub async fn by_contract_no(
    conn: &impl ConnectionTrait,
    no: &str,
) -> StoreResult<Option<revitalization::Model>> {
    Ok(revitalization::Entity::find()
        .filter(Column::ContractNo.eq(no))
        .one(conn)
        .await?)
}

fn attributes(
    asset_id: i64,
    counterparty_id: Option<i64>,
    r: &NewRevitalization,
) -> revitalization::ActiveModel {
    revitalization::ActiveModel {
        asset_id: Set(asset_id),
        contract_no: Set(r.contract_no.clone()),
        mode: Set(r.mode.as_str().to_owned()),
        end_use: Set(r.end_use.clone()),
        counterparty_id: Set(counterparty_id),
        start_date: Set(r.start_date),
        term_months: Set(r.term_months),
        annual_rent_fen: Set(r.annual_rent_fen),
        investment_fen: Set(r.investment_fen),
        compensation_fen: Set(r.compensation_fen),
        jobs_created: Set(r.jobs_created),
        collective_share_bp: Set(r.split.map(|s| s.collective_bp)),
        operator_share_bp: Set(r.split.map(|s| s.operator_bp)),
        farmer_share_bp: Set(r.split.map(|s| s.farmer_bp)),
        ..Default::default()
    }
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    asset_id: i64,
    counterparty_id: Option<i64>,
    r: &NewRevitalization,
) -> StoreResult<revitalization::Model> {
    let now = Utc::now();
    let mut row = attributes(asset_id, counterparty_id, r);
    row.version = Set(1);
    row.created_at = Set(now);
    row.updated_at = Set(now);
    Ok(row.insert(conn).await?)
}

/// Replaces a record's terms, bumping its version.
pub async fn update(
    conn: &impl ConnectionTrait,
    current: &revitalization::Model,
    counterparty_id: Option<i64>,
    r: &NewRevitalization,
) -> StoreResult<revitalization::Model> {
    let row = attributes(current.asset_id, counterparty_id, r);
    let id = current.id;
    super::update_any_version(conn, id, revitalization::Entity::update_many().set(row)).await?;
    revitalization::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotUpdated.into())
}

/// The records with these contract numbers, by number.
pub async fn by_contract_nos(
    conn: &impl ConnectionTrait,
    nos: &[&str],
) -> StoreResult<HashMap<String, revitalization::Model>> {
    Ok(revitalization::Entity::find()
        .filter(Column::ContractNo.is_in(nos.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|r| r.contract_no.clone().map(|no| (no, r)))
        .collect())
}
