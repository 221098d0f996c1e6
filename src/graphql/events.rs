//! Live loan and mortgage events (贷款动态): every status change a loan mutation commits is
//! published, and a subscriber sees its own bank's (ADMIN sees all).

use async_graphql::{Context, ID, Result, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::Stream;
use tokio::sync::broadcast;

use super::access::caller;
use super::db_conn;
use super::ids::Kind;
use crate::db;
use crate::domain::access::{Denied, Role};
use crate::domain::loans::{LoanStatus, MortgageStatus};
use crate::error::AppError;

/// How many events a slow subscriber may fall behind before it misses some.
const BACKLOG: usize = 1024;

/// A committed change to a loan or its mortgage.
#[derive(Debug, Clone, PartialEq)]
pub struct LoanChange {
    pub bank_id: i64,
    pub application_id: i64,
    pub status: LoanStatus,
    pub mortgage_status: Option<MortgageStatus>,
    pub action: &'static str,
    pub at: DateTime<Utc>,
}

/// Where loan mutations publish their changes, after they commit.
#[derive(Clone)]
pub struct LoanEvents(broadcast::Sender<LoanChange>);

impl Default for LoanEvents {
    fn default() -> Self {
        Self(broadcast::channel(BACKLOG).0)
    }
}

impl LoanEvents {
    /// Publishes a committed change; nobody listening is fine.
    pub fn publish(&self, change: LoanChange) {
        let _ = self.0.send(change);
    }
}

/// A loan or mortgage status change (贷款/抵押状态变化).
#[derive(SimpleObject, Clone)]
pub struct MortgageEvent {
    /// The loan application (贷款申请).
    pub application_id: ID,
    /// What was done: submit, approve, reject, register_mortgage, disburse, repay,
    /// release_mortgage, default, dispose (操作).
    pub action: String,
    /// The application's status after it (贷款状态).
    pub status: LoanStatus,
    /// The mortgage's status after it, when it changed (抵押状态).
    pub mortgage_status: Option<MortgageStatus>,
    /// When it was committed (时间).
    pub at: DateTime<Utc>,
}

/// Live events (订阅).
#[derive(Default)]
pub struct Subscription;

/// Live events (订阅), over WebSocket at `/graphql/ws`.
#[Subscription]
impl Subscription {
    /// Status changes of loan applications and mortgages (贷款与抵押动态), as they commit: a
    /// bank token gets its own bank's, ADMIN every bank's. Over WebSocket at `/graphql/ws`
    /// (graphql-transport-ws), the token in the `connection_init` payload as
    /// `{"Authorization": "Bearer …"}`.
    async fn mortgage_events(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = MortgageEvent> + use<>> {
        let actor = caller(ctx)
            .actor("loan and mortgage events")
            .map_err(AppError::from)?;
        let bank = match (&actor.role, actor.bank_code.as_deref()) {
            (Role::Admin, _) => None,
            (Role::Bank, Some(code)) => Some(
                db::credit::bank_ids(db_conn(ctx)?)
                    .await?
                    .get(code)
                    .copied()
                    .unwrap_or(-1),
            ),
            _ => {
                return Err(AppError::from(Denied::Forbidden(
                    "loan events are for the banks and the district office".into(),
                ))
                .into());
            }
        };
        let rx = ctx.data::<LoanEvents>()?.0.subscribe();
        Ok(futures_util::stream::unfold(rx, move |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(c) if bank.is_none_or(|b| b == c.bank_id) => {
                        let event = MortgageEvent {
                            application_id: Kind::LoanApplication.id(c.application_id),
                            action: c.action.to_owned(),
                            status: c.status,
                            mortgage_status: c.mortgage_status,
                            at: c.at,
                        };
                        return Some((event, rx));
                    }
                    Ok(_) => continue,
                    // A subscriber that fell behind skips what it missed and goes on.
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }))
    }
}
