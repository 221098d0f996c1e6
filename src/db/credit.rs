//! Partner banks, their loan products ("一权一品"), party branches' recommendations and the
//! pre-credit lines granted on inspection ("见房即授信").

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait, QueryOrder};

use super::entities::{bank, loan_product, recommendation};
use super::{StoreResult, keyed};
use crate::domain::rights::{CreditModel, RightKind};

pub async fn banks(conn: &impl ConnectionTrait) -> StoreResult<Vec<bank::Model>> {
    Ok(bank::Entity::find()
        .order_by_asc(bank::Column::Id)
        .all(conn)
        .await?)
}

pub async fn insert_bank(conn: &impl ConnectionTrait, code: &str, name: &str) -> StoreResult<i64> {
    Ok(bank::ActiveModel {
        code: Set(code.to_owned()),
        name: Set(name.to_owned()),
        ..Default::default()
    }
    .insert(conn)
    .await?
    .id)
}

/// A loan product as the seeds or an ADMIN define it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProduct {
    pub bank_id: i64,
    pub code: String,
    pub name: String,
    pub right_kind: RightKind,
    pub credit_model: CreditModel,
    pub max_ltv_bp: i32,
    pub term_months: (i32, i32),
    pub amount_fen: (i64, i64),
    pub rate_bp: (i32, i32),
    pub needs_collective_consent: bool,
}

pub async fn insert_product(conn: &impl ConnectionTrait, p: &NewProduct) -> StoreResult<i64> {
    let now = Utc::now();
    Ok(loan_product::ActiveModel {
        bank_id: Set(p.bank_id),
        code: Set(p.code.clone()),
        name: Set(p.name.clone()),
        right_kind: Set(p.right_kind.as_str().to_owned()),
        credit_model: Set(p.credit_model.as_str().to_owned()),
        max_ltv_bp: Set(p.max_ltv_bp),
        min_term_months: Set(p.term_months.0),
        max_term_months: Set(p.term_months.1),
        min_amount_fen: Set(p.amount_fen.0),
        max_amount_fen: Set(p.amount_fen.1),
        min_rate_bp: Set(p.rate_bp.0),
        max_rate_bp: Set(p.rate_bp.1),
        needs_collective_consent: Set(p.needs_collective_consent),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?
    .id)
}

pub async fn products(conn: &impl ConnectionTrait) -> StoreResult<Vec<loan_product::Model>> {
    Ok(loan_product::Entity::find()
        .order_by_asc(loan_product::Column::Id)
        .all(conn)
        .await?)
}

pub async fn product(
    conn: &impl ConnectionTrait,
    id: i64,
) -> StoreResult<Option<loan_product::Model>> {
    Ok(loan_product::Entity::find_by_id(id).one(conn).await?)
}

/// The party a recommendation endorses, if it exists.
pub async fn recommended_party(conn: &impl ConnectionTrait, id: i64) -> StoreResult<Option<i64>> {
    Ok(recommendation::Entity::find_by_id(id)
        .one(conn)
        .await?
        .map(|r| r.party_id))
}

pub async fn insert_recommendation(
    conn: &impl ConnectionTrait,
    party_id: i64,
    village_id: i64,
    grade: &str,
    issuer: &str,
    issued_on: NaiveDate,
) -> StoreResult<i64> {
    Ok(recommendation::ActiveModel {
        party_id: Set(party_id),
        village_id: Set(village_id),
        grade: Set(grade.to_owned()),
        issuer: Set(issuer.to_owned()),
        issued_on: Set(issued_on),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(conn)
    .await?
    .id)
}

/// Ids of banks by code.
pub async fn bank_ids(conn: &impl ConnectionTrait) -> StoreResult<HashMap<String, i64>> {
    Ok(banks(conn)
        .await?
        .into_iter()
        .map(|b| (b.code, b.id))
        .collect())
}

pub async fn insert_credit_line(
    conn: &impl ConnectionTrait,
    bank_id: i64,
    party_id: i64,
    right_id: i64,
    amount_fen: i64,
    granted_on: NaiveDate,
    expires_on: NaiveDate,
) -> StoreResult<i64> {
    Ok(super::entities::credit_line::ActiveModel {
        bank_id: Set(bank_id),
        party_id: Set(party_id),
        right_id: Set(right_id),
        amount_fen: Set(amount_fen),
        granted_on: Set(granted_on),
        expires_on: Set(expires_on),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(conn)
    .await?
    .id)
}

pub async fn products_by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, loan_product::Model>> {
    keyed::<loan_product::Entity, _>(conn, loan_product::Column::Id, ids, |r| r.id).await
}

pub async fn banks_by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, bank::Model>> {
    keyed::<bank::Entity, _>(conn, bank::Column::Id, ids, |r| r.id).await
}
