//! Loan applications, their mortgages and what happened to the loan.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};

use super::entities::{loan_application, loan_event, mortgage};
use super::{StoreResult, Versioned};
use crate::domain::loans::{LoanStatus, MortgageStatus};
use crate::domain::period::{Days, Period};

/// A loan application as submitted.
#[derive(Debug, Clone, PartialEq)]
pub struct NewApplication {
    pub code: String,
    pub bank_id: i64,
    pub product_id: i64,
    pub right_id: i64,
    pub borrower_id: i64,
    pub recommendation_id: Option<i64>,
    pub amount_fen: i64,
    pub term_months: i32,
    pub rank: i32,
    pub submitted_by: String,
}

pub async fn insert_application(
    conn: &impl ConnectionTrait,
    a: &NewApplication,
) -> StoreResult<loan_application::Model> {
    let now = Utc::now();
    Ok(loan_application::ActiveModel {
        code: Set(a.code.clone()),
        bank_id: Set(a.bank_id),
        product_id: Set(a.product_id),
        right_id: Set(a.right_id),
        borrower_id: Set(a.borrower_id),
        recommendation_id: Set(a.recommendation_id),
        amount_fen: Set(a.amount_fen),
        term_months: Set(a.term_months),
        rank: Set(a.rank),
        status: Set(LoanStatus::Submitted.as_str().to_owned()),
        report: Set(None),
        decided_at: Set(None),
        submitted_by: Set(a.submitted_by.clone()),
        decided_by: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

pub async fn application(
    conn: &impl ConnectionTrait,
    id: i64,
) -> StoreResult<Option<loan_application::Model>> {
    Ok(loan_application::Entity::find_by_id(id).one(conn).await?)
}

/// What a listing of loan applications is narrowed to; each part left empty narrows nothing.
#[derive(Debug, Clone, Default)]
pub struct ApplicationFilter {
    /// One bank's.
    pub bank_id: Option<i64>,
    /// In any of these statuses.
    pub statuses: Vec<LoanStatus>,
    /// On a right whose asset, or whose share holding's collective, is in this township.
    pub township_id: Option<i64>,
    pub product_id: Option<i64>,
    pub borrower_id: Option<i64>,
    /// Submitted (`created_at`) within.
    pub submitted: Period,
    /// Decided (`decided_at`) within.
    pub decided: Period,
    /// First paid out (the first DISBURSEMENT's day) within.
    pub first_disbursed: Days,
    /// Last changed within.
    pub updated: Period,
}

fn applications_filtered(f: &ApplicationFilter) -> sea_orm::Select<loan_application::Entity> {
    use loan_application::Column;
    let mut q = loan_application::Entity::find()
        .filter(super::updated_within::<loan_application::Entity>(f.updated));
    if let Some(b) = f.bank_id {
        q = q.filter(Column::BankId.eq(b));
    }
    if !f.statuses.is_empty() {
        q = q.filter(Column::Status.is_in(f.statuses.iter().map(|s| s.as_str())));
    }
    if let Some(t) = f.township_id {
        q = q.filter(super::rights::in_township(Column::RightId, t));
    }
    if let Some(p) = f.product_id {
        q = q.filter(Column::ProductId.eq(p));
    }
    if let Some(b) = f.borrower_id {
        q = q.filter(Column::BorrowerId.eq(b));
    }
    if let Some(t) = f.submitted.from {
        q = q.filter(Column::CreatedAt.gte(t));
    }
    if let Some(t) = f.submitted.to {
        q = q.filter(Column::CreatedAt.lte(t));
    }
    if let Some(t) = f.decided.from {
        q = q.filter(Column::DecidedAt.gte(t));
    }
    if let Some(t) = f.decided.to {
        q = q.filter(Column::DecidedAt.lte(t));
    }
    if !f.first_disbursed.is_all() {
        q = q.filter(Column::Id.in_subquery(first_disbursed_within(f.first_disbursed)));
    }
    q
}

/// The applications whose first disbursement fell within `days`.
fn first_disbursed_within(days: Days) -> SelectStatement {
    use loan_event::Column;
    let first = || Expr::expr(Func::min(Expr::col(Column::OccurredOn)));
    let mut q = Query::select()
        .column(Column::ApplicationId)
        .from(loan_event::Entity)
        .and_where(Expr::col(Column::Kind).eq("DISBURSEMENT"))
        .group_by_col(Column::ApplicationId)
        .to_owned();
    if let Some(d) = days.from {
        q.and_having(first().gte(d));
    }
    if let Some(d) = days.to {
        q.and_having(first().lte(d));
    }
    q
}

/// A page of applications newest first, after or before a cursor id.
pub async fn applications_page(
    conn: &impl ConnectionTrait,
    filter: &ApplicationFilter,
    cursor: Option<i64>,
    backward: bool,
    limit: u64,
) -> StoreResult<Vec<loan_application::Model>> {
    let q = applications_filtered(filter);
    Ok(
        super::newest_first(q, loan_application::Column::Id, cursor, backward, limit)
            .all(conn)
            .await?,
    )
}

pub async fn count_applications(
    conn: &impl ConnectionTrait,
    filter: &ApplicationFilter,
) -> StoreResult<u64> {
    Ok(applications_filtered(filter).count(conn).await?)
}

pub async fn applications_by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, loan_application::Model>> {
    super::keyed::<loan_application::Entity, _>(conn, loan_application::Column::Id, ids, |r| r.id)
        .await
}

/// The applications on each right, oldest first.
pub async fn applications_on_rights(
    conn: &impl ConnectionTrait,
    right_ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<loan_application::Model>>> {
    let mut out: HashMap<i64, Vec<loan_application::Model>> = HashMap::new();
    for a in loan_application::Entity::find()
        .filter(loan_application::Column::RightId.is_in(right_ids.iter().copied()))
        .order_by_asc(loan_application::Column::Id)
        .all(conn)
        .await?
    {
        out.entry(a.right_id).or_default().push(a);
    }
    Ok(out)
}

/// The applications each recommendation backs, oldest first.
pub async fn applications_backed_by(
    conn: &impl ConnectionTrait,
    recommendation_ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<loan_application::Model>>> {
    let mut out: HashMap<i64, Vec<loan_application::Model>> = HashMap::new();
    for a in loan_application::Entity::find()
        .filter(
            loan_application::Column::RecommendationId.is_in(recommendation_ids.iter().copied()),
        )
        .order_by_asc(loan_application::Column::Id)
        .all(conn)
        .await?
    {
        if let Some(r) = a.recommendation_id {
            out.entry(r).or_default().push(a);
        }
    }
    Ok(out)
}

/// Moves an application to `status` if it is still at `version`, with the decision's report
/// and decider when given.
pub async fn set_status(
    conn: &impl ConnectionTrait,
    id: i64,
    version: i32,
    status: LoanStatus,
    decision: Option<(String, String)>,
) -> StoreResult<Versioned<loan_application::Model>> {
    let mut changes = loan_application::Entity::update_many()
        .col_expr(loan_application::Column::Status, Expr::val(status.as_str()));
    if let Some((report, by)) = decision {
        changes = changes
            .col_expr(loan_application::Column::Report, Expr::val(report))
            .col_expr(loan_application::Column::DecidedBy, Expr::val(by))
            .col_expr(loan_application::Column::DecidedAt, Expr::val(Utc::now()));
    }
    super::update_versioned(conn, id, version, changes).await
}

pub async fn insert_mortgage(
    conn: &impl ConnectionTrait,
    app: &loan_application::Model,
    registration_no: &str,
    registered_on: NaiveDate,
) -> StoreResult<mortgage::Model> {
    let now = Utc::now();
    Ok(mortgage::ActiveModel {
        application_id: Set(app.id),
        right_id: Set(app.right_id),
        bank_id: Set(app.bank_id),
        amount_fen: Set(app.amount_fen),
        rank: Set(app.rank),
        registration_no: Set(registration_no.to_owned()),
        registered_on: Set(registered_on),
        released_on: Set(None),
        status: Set(MortgageStatus::Active.as_str().to_owned()),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

pub async fn mortgage_of(
    conn: &impl ConnectionTrait,
    application_id: i64,
) -> StoreResult<Option<mortgage::Model>> {
    Ok(mortgage::Entity::find()
        .filter(mortgage::Column::ApplicationId.eq(application_id))
        .one(conn)
        .await?)
}

pub async fn set_mortgage_status(
    conn: &impl ConnectionTrait,
    id: i64,
    status: MortgageStatus,
    released_on: Option<NaiveDate>,
) -> StoreResult<()> {
    let mut changes = mortgage::Entity::update_many()
        .col_expr(mortgage::Column::Status, Expr::val(status.as_str()));
    if let Some(d) = released_on {
        changes = changes.col_expr(mortgage::Column::ReleasedOn, Expr::val(d));
    }
    super::update_any_version(conn, id, changes).await?;
    Ok(())
}

/// What a listing of mortgages is narrowed to; each part left empty narrows nothing.
#[derive(Debug, Clone, Default)]
pub struct MortgageFilter {
    pub bank_id: Option<i64>,
    pub statuses: Vec<MortgageStatus>,
    /// On a right in this township (as [`super::rights::in_township`]).
    pub township_id: Option<i64>,
    /// Securing a loan of this product.
    pub product_id: Option<i64>,
    pub right_id: Option<i64>,
    pub registered: Days,
    pub updated: Period,
}

fn mortgages_filtered(f: &MortgageFilter) -> sea_orm::Select<mortgage::Entity> {
    use mortgage::Column;
    let mut q =
        mortgage::Entity::find().filter(super::updated_within::<mortgage::Entity>(f.updated));
    if let Some(b) = f.bank_id {
        q = q.filter(Column::BankId.eq(b));
    }
    if !f.statuses.is_empty() {
        q = q.filter(Column::Status.is_in(f.statuses.iter().map(|s| s.as_str())));
    }
    if let Some(t) = f.township_id {
        q = q.filter(super::rights::in_township(Column::RightId, t));
    }
    if let Some(p) = f.product_id {
        q = q.filter(
            Column::ApplicationId.in_subquery(
                Query::select()
                    .column(loan_application::Column::Id)
                    .from(loan_application::Entity)
                    .and_where(Expr::col(loan_application::Column::ProductId).eq(p))
                    .to_owned(),
            ),
        );
    }
    if let Some(r) = f.right_id {
        q = q.filter(Column::RightId.eq(r));
    }
    if let Some(d) = f.registered.from {
        q = q.filter(Column::RegisteredOn.gte(d));
    }
    if let Some(d) = f.registered.to {
        q = q.filter(Column::RegisteredOn.lte(d));
    }
    q
}

/// A page of mortgages newest first, after or before a cursor id.
pub async fn mortgages_page(
    conn: &impl ConnectionTrait,
    filter: &MortgageFilter,
    cursor: Option<i64>,
    backward: bool,
    limit: u64,
) -> StoreResult<Vec<mortgage::Model>> {
    let q = mortgages_filtered(filter);
    Ok(
        super::newest_first(q, mortgage::Column::Id, cursor, backward, limit)
            .all(conn)
            .await?,
    )
}

pub async fn count_mortgages(
    conn: &impl ConnectionTrait,
    filter: &MortgageFilter,
) -> StoreResult<u64> {
    Ok(mortgages_filtered(filter).count(conn).await?)
}

pub async fn mortgages_by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> StoreResult<HashMap<i64, mortgage::Model>> {
    super::keyed::<mortgage::Entity, _>(conn, mortgage::Column::Id, ids, |r| r.id).await
}

/// Something that happened to a loan.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent<'a> {
    pub kind: &'static str,
    pub amount_fen: Option<i64>,
    pub occurred_on: NaiveDate,
    pub method: Option<&'a str>,
    pub note: Option<String>,
}

pub async fn insert_event(
    conn: &impl ConnectionTrait,
    application_id: i64,
    e: &NewEvent<'_>,
) -> StoreResult<loan_event::Model> {
    Ok(loan_event::ActiveModel {
        application_id: Set(application_id),
        kind: Set(e.kind.to_owned()),
        amount_fen: Set(e.amount_fen),
        occurred_on: Set(e.occurred_on),
        method: Set(e.method.map(str::to_owned)),
        note: Set(e.note.clone()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

pub async fn events_of(
    conn: &impl ConnectionTrait,
    application_id: i64,
) -> StoreResult<Vec<loan_event::Model>> {
    Ok(loan_event::Entity::find()
        .filter(loan_event::Column::ApplicationId.eq(application_id))
        .order_by_asc(loan_event::Column::Id)
        .all(conn)
        .await?)
}

/// The amount repaid so far, fen.
pub async fn repaid_fen(conn: &impl ConnectionTrait, application_id: i64) -> StoreResult<i64> {
    Ok(repaid(&events_of(conn, application_id).await?))
}

/// The amount repaid in `events`, fen.
pub fn repaid(events: &[loan_event::Model]) -> i64 {
    events
        .iter()
        .filter(|e| e.kind == "REPAYMENT")
        .filter_map(|e| e.amount_fen)
        .sum()
}

/// The amount paid out in `events`, fen.
pub fn disbursed(events: &[loan_event::Model]) -> i64 {
    events
        .iter()
        .filter(|e| e.kind == "DISBURSEMENT")
        .filter_map(|e| e.amount_fen)
        .sum()
}

/// Whether `party_id` applied for a loan at the bank with `bank_code`.
pub async fn is_borrower_of(
    conn: &impl ConnectionTrait,
    party_id: i64,
    bank_code: &str,
) -> StoreResult<bool> {
    let Some(bank) = super::credit::bank_ids(conn).await?.get(bank_code).copied() else {
        return Ok(false);
    };
    Ok(loan_application::Entity::find()
        .filter(loan_application::Column::BorrowerId.eq(party_id))
        .filter(loan_application::Column::BankId.eq(bank))
        .one(conn)
        .await?
        .is_some())
}

/// The mortgage of each application that has one.
pub async fn mortgages_of(
    conn: &impl ConnectionTrait,
    application_ids: &[i64],
) -> StoreResult<std::collections::HashMap<i64, mortgage::Model>> {
    Ok(mortgage::Entity::find()
        .filter(mortgage::Column::ApplicationId.is_in(application_ids.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| (m.application_id, m))
        .collect())
}

/// The events of each application, oldest first.
pub async fn events_of_applications(
    conn: &impl ConnectionTrait,
    application_ids: &[i64],
) -> StoreResult<std::collections::HashMap<i64, Vec<loan_event::Model>>> {
    let mut out: std::collections::HashMap<i64, Vec<loan_event::Model>> =
        std::collections::HashMap::new();
    for e in loan_event::Entity::find()
        .filter(loan_event::Column::ApplicationId.is_in(application_ids.iter().copied()))
        .order_by_asc(loan_event::Column::Id)
        .all(conn)
        .await?
    {
        out.entry(e.application_id).or_default().push(e);
    }
    Ok(out)
}
