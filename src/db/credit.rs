//! Partner banks, their loan products ("一权一品"), party branches' recommendations and the
//! pre-credit lines granted on inspection ("见房即授信").

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};

use super::entities::{bank, credit_line, loan_application, loan_product, recommendation};
use super::{StoreResult, keyed};
use crate::domain::loans::CreditLineStatus;
use crate::domain::period::Days;
use crate::domain::rights::{CreditGrade, CreditModel, RightKind};

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

/// What a listing of credit lines is narrowed to; each part left empty narrows nothing.
#[derive(Debug, Clone)]
pub struct CreditLineFilter {
    pub bank_id: Option<i64>,
    /// In any of these standings on `on`.
    pub statuses: Vec<CreditLineStatus>,
    /// The day the standing is taken on (today).
    pub on: NaiveDate,
    /// On a right in this township (as `rights::in_township`).
    pub township_id: Option<i64>,
    /// Granted to this household.
    pub party_id: Option<i64>,
    pub right_id: Option<i64>,
    pub granted: Days,
    pub expires: Days,
}

fn lines_filtered(f: &CreditLineFilter) -> sea_orm::Select<credit_line::Entity> {
    use credit_line::Column;
    let mut q = credit_line::Entity::find();
    if let Some(b) = f.bank_id {
        q = q.filter(Column::BankId.eq(b));
    }
    let active = f.statuses.contains(&CreditLineStatus::Active);
    let expired = f.statuses.contains(&CreditLineStatus::Expired);
    match (active, expired) {
        (true, false) => q = q.filter(Column::ExpiresOn.gte(f.on)),
        (false, true) => q = q.filter(Column::ExpiresOn.lt(f.on)),
        _ => {}
    }
    if let Some(t) = f.township_id {
        q = q.filter(super::rights::in_township(Column::RightId, t));
    }
    if let Some(p) = f.party_id {
        q = q.filter(Column::PartyId.eq(p));
    }
    if let Some(r) = f.right_id {
        q = q.filter(Column::RightId.eq(r));
    }
    for (column, days) in [
        (Column::GrantedOn, f.granted),
        (Column::ExpiresOn, f.expires),
    ] {
        if let Some(d) = days.from {
            q = q.filter(column.gte(d));
        }
        if let Some(d) = days.to {
            q = q.filter(column.lte(d));
        }
    }
    q
}

/// A page of credit lines newest first, after or before a cursor id.
pub async fn lines_page(
    conn: &impl ConnectionTrait,
    filter: &CreditLineFilter,
    cursor: Option<i64>,
    backward: bool,
    limit: u64,
) -> StoreResult<Vec<credit_line::Model>> {
    let q = lines_filtered(filter);
    Ok(
        super::newest_first(q, credit_line::Column::Id, cursor, backward, limit)
            .all(conn)
            .await?,
    )
}

pub async fn count_lines(
    conn: &impl ConnectionTrait,
    filter: &CreditLineFilter,
) -> StoreResult<u64> {
    Ok(lines_filtered(filter).count(conn).await?)
}

pub async fn lines_by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, credit_line::Model>> {
    keyed::<credit_line::Entity, _>(conn, credit_line::Column::Id, ids, |r| r.id).await
}

/// What a listing of recommendations is narrowed to; each part left empty narrows nothing.
#[derive(Debug, Clone, Default)]
pub struct RecommendationFilter {
    /// Backing an application to this bank.
    pub backing_bank_id: Option<i64>,
    pub township_id: Option<i64>,
    pub village_id: Option<i64>,
    pub party_id: Option<i64>,
    /// Of any of these grades.
    pub grades: Vec<CreditGrade>,
    pub issued: Days,
}

fn recommendations_filtered(f: &RecommendationFilter) -> sea_orm::Select<recommendation::Entity> {
    use recommendation::Column;
    let mut q = recommendation::Entity::find();
    if let Some(b) = f.backing_bank_id {
        q = q.filter(
            Column::Id.in_subquery(
                Query::select()
                    .column(loan_application::Column::RecommendationId)
                    .from(loan_application::Entity)
                    .and_where(Expr::col(loan_application::Column::BankId).eq(b))
                    .to_owned(),
            ),
        );
    }
    if let Some(t) = f.township_id {
        q = q.filter(Column::VillageId.in_subquery(super::places::village_ids_of(t)));
    }
    if let Some(v) = f.village_id {
        q = q.filter(Column::VillageId.eq(v));
    }
    if let Some(p) = f.party_id {
        q = q.filter(Column::PartyId.eq(p));
    }
    if !f.grades.is_empty() {
        q = q.filter(Column::Grade.is_in(f.grades.iter().map(|g| g.as_str())));
    }
    if let Some(d) = f.issued.from {
        q = q.filter(Column::IssuedOn.gte(d));
    }
    if let Some(d) = f.issued.to {
        q = q.filter(Column::IssuedOn.lte(d));
    }
    q
}

/// A page of recommendations newest first, after or before a cursor id.
pub async fn recommendations_page(
    conn: &impl ConnectionTrait,
    filter: &RecommendationFilter,
    cursor: Option<i64>,
    backward: bool,
    limit: u64,
) -> StoreResult<Vec<recommendation::Model>> {
    let q = recommendations_filtered(filter);
    Ok(
        super::newest_first(q, recommendation::Column::Id, cursor, backward, limit)
            .all(conn)
            .await?,
    )
}

pub async fn count_recommendations(
    conn: &impl ConnectionTrait,
    filter: &RecommendationFilter,
) -> StoreResult<u64> {
    Ok(recommendations_filtered(filter).count(conn).await?)
}

pub async fn recommendations_by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, recommendation::Model>> {
    keyed::<recommendation::Entity, _>(conn, recommendation::Column::Id, ids, |r| r.id).await
}
