//! The loan lifecycle's steps, each inside the caller's write transaction with its audit event:
//! the one implementation behind the GraphQL mutations and the demo seeds. Who may take a step
//! is the caller's business (`domain::access`); what a step may do is decided here and in
//! `domain::loans`.

use chrono::NaiveDate;
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::db::audit::{self, Actor, Change};
use crate::db::entities::loan_application;
use crate::db::loans::{NewApplication, NewEvent};
use crate::db::{self, StoreError, Versioned};
use crate::domain::eligibility::{self, Report, Request, Verdict};
use crate::domain::loans::{LoanAction, LoanStatus, MortgageStatus, TransitionError, transition};

/// Why a step was refused.
#[derive(Debug, thiserror::Error)]
pub enum LendingError {
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("the eligibility report is {verdict}, not PASS ({failing}): it cannot be approved")]
    NotPassing { verdict: Verdict, failing: String },
    #[error("rank {rank} of this right is held by mortgage {registration_no}")]
    RankTaken { rank: i32, registration_no: String },
    #[error("no district mortgage policy is in force")]
    NoPolicy,
    #[error("the loan application was changed meanwhile: version {current} is current")]
    Stale { current: i32 },
    #[error("no such loan application")]
    Missing,
    #[error("a stored loan status is unknown: {0}")]
    Corrupt(String),
    #[error("the store failed")]
    Store(StoreError),
}

impl From<StoreError> for LendingError {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}

/// Who takes a step, for the audit trail.
pub struct Step<'a> {
    pub actor: &'a Actor,
    pub request_id: Option<String>,
    /// The day the step happens (a decision is judged as of it).
    pub on: NaiveDate,
}

async fn audit(
    txn: &impl ConnectionTrait,
    s: &Step<'_>,
    action: &str,
    entity: &str,
    id: i64,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<(), LendingError> {
    audit::record(
        txn,
        s.actor,
        Change {
            action,
            entity,
            entity_id: Some(id),
            before,
            after,
            request_id: s.request_id.clone(),
        },
    )
    .await?;
    Ok(())
}

/// Tells subscribers, through the event log in the step's transaction: the application after
/// `action`, and its mortgage's status when the step changed it.
async fn tell(
    txn: &impl ConnectionTrait,
    app: &loan_application::Model,
    action: &str,
    mortgage_status: Option<MortgageStatus>,
) -> Result<(), LendingError> {
    db::events::append(
        txn,
        db::events::NewEvent {
            entity: "loan_application",
            entity_id: app.id,
            action,
            township_id: None,
            bank_id: Some(app.bank_id),
            data: json!({
                "status": app.status,
                "mortgageStatus": mortgage_status.map(|m| m.as_str()),
            }),
        },
    )
    .await?;
    Ok(())
}

fn current(app: &loan_application::Model) -> Result<LoanStatus, LendingError> {
    LoanStatus::parse(&app.status).map_err(|e| LendingError::Corrupt(e.to_string()))
}

fn written(
    outcome: Versioned<loan_application::Model>,
) -> Result<loan_application::Model, LendingError> {
    match outcome {
        Versioned::Updated(row) => Ok(row),
        Versioned::Stale { current } => Err(LendingError::Stale { current }),
        Versioned::Missing => Err(LendingError::Missing),
    }
}

/// Files an application.
pub async fn submit(
    txn: &impl ConnectionTrait,
    s: &Step<'_>,
    new: &NewApplication,
) -> Result<loan_application::Model, LendingError> {
    let row = db::loans::insert_application(txn, new).await?;
    audit(
        txn,
        s,
        "submit",
        "loan_application",
        row.id,
        None,
        Some(json!({ "code": row.code, "amountFen": row.amount_fen, "rightId": row.right_id })),
    )
    .await?;
    tell(txn, &row, "submit", None).await?;
    Ok(row)
}

/// Decides an application on a report computed now, as of `s.on`, and stores it with the
/// decision; an approval whose report does not pass is refused.
pub async fn decide(
    txn: &impl ConnectionTrait,
    s: &Step<'_>,
    app: &loan_application::Model,
    version: i32,
    approve: bool,
) -> Result<(loan_application::Model, Report), LendingError> {
    let action = if approve {
        LoanAction::Approve
    } else {
        LoanAction::Reject
    };
    let (next, _) = transition(current(app)?, action)?;
    let request = Request {
        amount_fen: app.amount_fen,
        term_months: app.term_months.max(0) as u32,
        rank: app.rank.max(0) as u32,
    };
    let snapshot = db::eligibility::snapshot(
        txn,
        app.right_id,
        app.product_id,
        app.borrower_id,
        request,
        s.on,
    )
    .await?
    .ok_or(LendingError::NoPolicy)?;
    let report = eligibility::evaluate(&snapshot);
    if approve && report.verdict != Verdict::Pass {
        let failing: Vec<&str> = report
            .rules
            .iter()
            .filter(|r| matches!(r.verdict, Verdict::Fail | Verdict::Unknown))
            .map(|r| r.code.as_str())
            .collect();
        return Err(LendingError::NotPassing {
            verdict: report.verdict,
            failing: failing.join(", "),
        });
    }
    let mut stored = serde_json::to_value(&report).unwrap_or_default();
    stored["computedOn"] = json!(s.on);
    let after = written(
        db::loans::set_status(
            txn,
            app.id,
            version,
            next,
            Some((stored.to_string(), s.actor.label.clone())),
        )
        .await?,
    )?;
    audit(
        txn,
        s,
        if approve { "approve" } else { "reject" },
        "loan_application",
        app.id,
        Some(json!({ "status": app.status })),
        Some(
            json!({ "status": next.as_str(), "verdict": report.verdict.as_str(),
                     "snapshotDigest": report.snapshot_digest }),
        ),
    )
    .await?;
    let action = if approve { "approve" } else { "reject" };
    tell(txn, &after, action, None).await?;
    Ok((after, report))
}

/// Registers the mortgage of an approved application: one ACTIVE mortgage per right and rank,
/// checked here and by the database's unique index.
pub async fn register(
    txn: &impl ConnectionTrait,
    s: &Step<'_>,
    app: &loan_application::Model,
    version: i32,
    registration_no: &str,
) -> Result<loan_application::Model, LendingError> {
    let (next, _) = transition(current(app)?, LoanAction::RegisterMortgage)?;
    if let Some(held) = db::eligibility::active_mortgages_on(txn, app.right_id)
        .await?
        .into_iter()
        .find(|m| m.rank == app.rank)
    {
        return Err(LendingError::RankTaken {
            rank: held.rank,
            registration_no: held.registration_no,
        });
    }
    let after = written(db::loans::set_status(txn, app.id, version, next, None).await?)?;
    let m = db::loans::insert_mortgage(txn, app, registration_no, s.on).await?;
    audit(
        txn,
        s,
        "register_mortgage",
        "mortgage",
        m.id,
        None,
        Some(json!({ "registrationNo": m.registration_no, "rightId": m.right_id, "rank": m.rank })),
    )
    .await?;
    // The application moved too: its own trail says so.
    audit(
        txn,
        s,
        "register_mortgage",
        "loan_application",
        app.id,
        Some(json!({ "status": app.status, "version": app.version })),
        Some(json!({ "status": after.status, "version": after.version, "mortgageId": m.id })),
    )
    .await?;
    tell(
        txn,
        &after,
        "register_mortgage",
        Some(MortgageStatus::Active),
    )
    .await?;
    Ok(after)
}

/// A step on a running loan: moves the status, writes the loan's event and the mortgage's
/// change. Returns the application and the mortgage's new status when it changed.
pub async fn step(
    txn: &impl ConnectionTrait,
    s: &Step<'_>,
    app: &loan_application::Model,
    version: i32,
    action: LoanAction,
    event: &NewEvent<'_>,
) -> Result<(loan_application::Model, Option<MortgageStatus>), LendingError> {
    let (next, mortgage_status) = transition(current(app)?, action)?;
    let after = written(db::loans::set_status(txn, app.id, version, next, None).await?)?;
    db::loans::insert_event(txn, app.id, event).await?;
    if let Some(status) = mortgage_status {
        let m = db::loans::mortgage_of(txn, app.id).await?.ok_or_else(|| {
            LendingError::Corrupt("a registered loan without its mortgage".into())
        })?;
        let released = (status == MortgageStatus::Released).then_some(event.occurred_on);
        db::loans::set_mortgage_status(txn, m.id, status, released).await?;
        audit(
            txn,
            s,
            event.kind,
            "mortgage",
            m.id,
            Some(json!({ "status": m.status })),
            Some(json!({ "status": status.as_str(), "releasedOn": released })),
        )
        .await?;
    }
    audit(
        txn,
        s,
        event.kind,
        "loan_application",
        app.id,
        Some(json!({ "status": app.status })),
        Some(
            json!({ "status": next.as_str(), "amountFen": event.amount_fen,
                     "method": event.method }),
        ),
    )
    .await?;
    tell(txn, &after, event.kind, mortgage_status).await?;
    Ok((after, mortgage_status))
}
