//! Loan applications, their mortgages and what happened to the loan.

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::entities::{loan_application, loan_event, mortgage};
use super::{StoreResult, Versioned};
use crate::domain::loans::{LoanStatus, MortgageStatus};
use crate::domain::period::Period;

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

/// Applications, newest first, of one bank when given.
pub async fn applications(
    conn: &impl ConnectionTrait,
    bank_id: Option<i64>,
    status: Option<LoanStatus>,
    updated: Period,
    limit: u64,
) -> StoreResult<Vec<loan_application::Model>> {
    let mut q = loan_application::Entity::find()
        .filter(super::updated_within::<loan_application::Entity>(updated));
    if let Some(b) = bank_id {
        q = q.filter(loan_application::Column::BankId.eq(b));
    }
    if let Some(s) = status {
        q = q.filter(loan_application::Column::Status.eq(s.as_str()));
    }
    Ok(q.order_by_desc(loan_application::Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
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
