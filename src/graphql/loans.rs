//! Loan applications, mortgages and their lifecycle (贷款与抵押). Every step writes its event
//! for `mortgageEvents` (`graphql::events`) in its own transaction (`services::loans`).

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Json, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use crate::db;
use crate::db::entities::{loan_application, loan_event};
use crate::db::loans::{
    ApplicationFilter, MortgageFilter as DbMortgageFilter, NewApplication, NewEvent,
};
use crate::domain::access::Actor;
use crate::domain::loans::{DisposalMethod, LoanAction, LoanStatus, MortgageStatus};
use crate::domain::period::Period;
use crate::domain::statistics::{LoanFacts, LoanTotals};
use crate::error::AppError;
use crate::graphql::common::context::{audit_actor, caller, db_conn, stored, today};
use crate::graphql::common::ids;
use crate::graphql::common::ids::Kind;
use crate::graphql::common::loaders::{
    ApplicationKey, BankKey, LoanEventsOf, MortgageKey, MortgageOf, PartyKey, ProductKey,
    RecommendationKey, RightKey,
};
use crate::graphql::common::nodes::{
    LoanApplication, LoanProduct, Mortgage, Party, PropertyRight, Recommendation,
};
use crate::graphql::common::paging::{NEWEST_FIRST, PageRequest, days, encode_cursor, period};
use crate::graphql::common::scalars::Long;
use crate::graphql::credit::{Bank, listing_bank};
use crate::services::loans;

/// A loan application and the loan it became (贷款申请).
#[Object]
impl LoanApplication {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::LoanApplication.id(self.0.id)
    }

    /// Application number (申请编号).
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// Where it stands (状态).
    async fn status(&self) -> Result<LoanStatus> {
        stored(LoanStatus::parse(&self.0.status))
    }

    /// Amount asked, fen (申请金额, 分).
    async fn amount_fen(&self) -> Long {
        Long(self.0.amount_fen)
    }

    /// Term, months (期限, 月).
    async fn term_months(&self) -> i32 {
        self.0.term_months
    }

    /// Mortgage rank asked for (抵押顺位).
    async fn rank(&self) -> i32 {
        self.0.rank
    }

    /// The lending bank (贷款银行).
    async fn bank(&self, ctx: &Context<'_>) -> Result<Option<Bank>> {
        Ok(crate::graphql::common::loaders::of(ctx)?
            .load_one(BankKey(self.0.bank_id))
            .await?
            .map(Bank))
    }

    /// The village party branch's recommendation that backs it (党支部推荐), if any.
    async fn recommendation(&self, ctx: &Context<'_>) -> Result<Option<Recommendation>> {
        let Some(id) = self.0.recommendation_id else {
            return Ok(None);
        };
        Ok(crate::graphql::common::loaders::of(ctx)?
            .load_one(RecommendationKey(id))
            .await?
            .map(Recommendation))
    }

    /// The product (贷款产品).
    async fn product(&self, ctx: &Context<'_>) -> Result<Option<LoanProduct>> {
        Ok(crate::graphql::common::loaders::of(ctx)?
            .load_one(ProductKey(self.0.product_id))
            .await?
            .map(LoanProduct))
    }

    /// The right offered as collateral (抵押物权利).
    async fn right(&self, ctx: &Context<'_>) -> Result<Option<PropertyRight>> {
        Ok(crate::graphql::common::loaders::of(ctx)?
            .load_one(RightKey(self.0.right_id))
            .await?
            .map(PropertyRight))
    }

    /// The borrower (借款人); personal fields follow the access rules.
    async fn borrower(&self, ctx: &Context<'_>) -> Result<Option<Party>> {
        Ok(crate::graphql::common::loaders::of(ctx)?
            .load_one(PartyKey(self.0.borrower_id))
            .await?
            .map(Party))
    }

    /// The eligibility report the decision rested on (审批依据), as stored then; null before the
    /// decision.
    async fn decision_report(&self) -> Result<Option<Json<serde_json::Value>>> {
        self.0
            .report
            .as_deref()
            .map(|r| {
                serde_json::from_str(r)
                    .map(Json)
                    .map_err(|e| AppError::internal(e).into())
            })
            .transpose()
    }

    /// Who submitted it (申请经办).
    async fn submitted_by(&self) -> &str {
        &self.0.submitted_by
    }

    /// Who decided it (审批人).
    async fn decided_by(&self) -> Option<&str> {
        self.0.decided_by.as_deref()
    }

    /// When it was decided (审批时间).
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }

    /// The mortgage registered for it (抵押登记), once registered.
    async fn mortgage(&self, ctx: &Context<'_>) -> Result<Option<Mortgage>> {
        Ok(crate::graphql::common::loaders::of(ctx)?
            .load_one(MortgageOf(self.0.id))
            .await?
            .map(Mortgage))
    }

    /// What happened to the loan, oldest first (贷后记录).
    async fn events(&self, ctx: &Context<'_>) -> Result<Vec<LoanEvent>> {
        Ok(crate::graphql::common::loaders::of(ctx)?
            .load_one(LoanEventsOf(self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(LoanEvent)
            .collect())
    }

    /// Repaid so far, fen (已还金额, 分).
    async fn repaid_fen(&self, ctx: &Context<'_>) -> Result<Long> {
        Ok(Long(db::loans::repaid(&self.events_of(ctx).await?)))
    }

    /// Paid out so far, fen (已放款金额, 分).
    async fn disbursed_fen(&self, ctx: &Context<'_>) -> Result<Long> {
        Ok(Long(db::loans::disbursed(&self.events_of(ctx).await?)))
    }

    /// Outstanding, fen (贷款余额, 分): paid out and not repaid, while the loan runs or is in
    /// default; 0 otherwise.
    async fn outstanding_fen(&self, ctx: &Context<'_>) -> Result<Long> {
        let events = self.events_of(ctx).await?;
        let mut totals = LoanTotals::default();
        totals.add(&LoanFacts {
            status: stored(LoanStatus::parse(&self.0.status))?,
            amount_fen: self.0.amount_fen,
            disbursed_fen: db::loans::disbursed(&events),
            repaid_fen: db::loans::repaid(&events),
        });
        Ok(Long(totals.outstanding_fen))
    }

    /// First paid out on (首次放款日); null before the money left the bank.
    async fn first_disbursed_on(&self, ctx: &Context<'_>) -> Result<Option<NaiveDate>> {
        Ok(self
            .events_of(ctx)
            .await?
            .iter()
            .filter(|e| e.kind == "DISBURSEMENT")
            .map(|e| e.occurred_on)
            .min())
    }

    /// Version (版本号), for the next step.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// Submitted at (申请时间).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

impl LoanApplication {
    /// Its events, through the request's loader.
    async fn events_of(&self, ctx: &Context<'_>) -> Result<Vec<loan_event::Model>> {
        Ok(crate::graphql::common::loaders::of(ctx)?
            .load_one(LoanEventsOf(self.0.id))
            .await?
            .unwrap_or_default())
    }
}

/// A mortgage on a right (抵押权, LADM LA_Mortgage).
#[Object]
impl Mortgage {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::Mortgage.id(self.0.id)
    }

    /// The loan it secures (所担保贷款).
    async fn application(&self, ctx: &Context<'_>) -> Result<Option<LoanApplication>> {
        Ok(crate::graphql::common::loaders::of(ctx)?
            .load_one(ApplicationKey(self.0.application_id))
            .await?
            .map(LoanApplication))
    }

    /// The right mortgaged (抵押物权利).
    async fn right(&self, ctx: &Context<'_>) -> Result<Option<PropertyRight>> {
        Ok(crate::graphql::common::loaders::of(ctx)?
            .load_one(RightKey(self.0.right_id))
            .await?
            .map(PropertyRight))
    }

    /// The mortgagee bank (抵押权人).
    async fn bank(&self, ctx: &Context<'_>) -> Result<Option<Bank>> {
        Ok(crate::graphql::common::loaders::of(ctx)?
            .load_one(BankKey(self.0.bank_id))
            .await?
            .map(Bank))
    }

    /// Registration number (抵押登记证明号).
    async fn registration_no(&self) -> &str {
        &self.0.registration_no
    }

    /// Registered on (登记日期).
    async fn registered_on(&self) -> NaiveDate {
        self.0.registered_on
    }

    /// Released on (注销日期).
    async fn released_on(&self) -> Option<NaiveDate> {
        self.0.released_on
    }

    /// Standing (状态).
    async fn status(&self) -> Result<MortgageStatus> {
        stored(MortgageStatus::parse(&self.0.status))
    }

    /// Amount secured, fen (担保金额, 分).
    async fn amount_fen(&self) -> Long {
        Long(self.0.amount_fen)
    }

    /// Rank (顺位).
    async fn rank(&self) -> i32 {
        self.0.rank
    }
}

/// Something that happened to a loan (贷后事件).
pub struct LoanEvent(loan_event::Model);

/// Something that happened to a loan (贷后事件).
#[Object]
impl LoanEvent {
    /// DISBURSEMENT, REPAYMENT, DEFAULT or DISPOSAL (类型).
    async fn kind(&self) -> &str {
        &self.0.kind
    }

    /// Amount, fen (金额, 分).
    async fn amount_fen(&self) -> Option<Long> {
        self.0.amount_fen.map(Long)
    }

    /// On (日期).
    async fn occurred_on(&self) -> NaiveDate {
        self.0.occurred_on
    }

    /// Disposal method (处置方式).
    async fn method(&self) -> Option<&str> {
        self.0.method.as_deref()
    }

    /// Note (备注).
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
}

/// An application the caller may see: its bank's, or any for the district office and cadres.
/// Read from the store, not the request's loader: a document may take several steps on one
/// application, and each must see the row as the one before left it.
async fn visible_application(ctx: &Context<'_>, id: &ID) -> Result<loan_application::Model> {
    let n = ids::decode_as(id, Kind::LoanApplication)?;
    let app = db::loans::application(db_conn(ctx)?, n)
        .await?
        .ok_or_else(|| AppError::not_found("no loan application has this ID"))?;
    crate::graphql::credit::may_see_bank_of(ctx, app.bank_id).await?;
    Ok(app)
}

/// An application by database id for `node`: none when missing, FORBIDDEN when another bank's.
/// Read through the request's loader, so that `nodes` reads many in one statement.
pub async fn node(ctx: &Context<'_>, id: i64) -> Result<Option<LoanApplication>> {
    let Some(app) = crate::graphql::common::loaders::of(ctx)?
        .load_one(ApplicationKey(id))
        .await?
    else {
        return Ok(None);
    };
    crate::graphql::credit::may_see_bank_of(ctx, app.bank_id).await?;
    Ok(Some(LoanApplication(app)))
}

/// A mortgage by database id for `node`: none when missing, FORBIDDEN when another bank's.
pub async fn mortgage_node(ctx: &Context<'_>, id: i64) -> Result<Option<Mortgage>> {
    let Some(row) = crate::graphql::common::loaders::of(ctx)?
        .load_one(MortgageKey(id))
        .await?
    else {
        return Ok(None);
    };
    crate::graphql::credit::may_see_bank_of(ctx, row.bank_id).await?;
    Ok(Some(Mortgage(row)))
}

/// Narrows a listing of loan applications or loans (贷款筛选). Lists mean "any of these";
/// absent means any.
#[derive(InputObject, Default)]
pub struct LoanApplicationFilter {
    /// In these states (状态).
    pub status: Option<Vec<LoanStatus>>,
    /// On a right in this township (乡镇): of an asset there, or of a share holding of one of
    /// its collectives.
    pub township_id: Option<ID>,
    /// Of this product (贷款产品).
    pub product_id: Option<ID>,
    /// Of this bank, by code (银行); a bank token may name only its own.
    pub bank_code: Option<String>,
    /// Of this borrower (借款人).
    pub borrower_id: Option<ID>,
    /// Submitted at or after (申请时间不早于), an RFC 3339 instant.
    pub submitted_from: Option<DateTime<Utc>>,
    /// Submitted at or before (申请时间不晚于).
    pub submitted_to: Option<DateTime<Utc>>,
    /// Decided at or after (审批时间不早于).
    pub decided_from: Option<DateTime<Utc>>,
    /// Decided at or before (审批时间不晚于).
    pub decided_to: Option<DateTime<Utc>>,
    /// First paid out on or after (首次放款日不早于).
    pub disbursed_from: Option<NaiveDate>,
    /// First paid out on or before (首次放款日不晚于).
    pub disbursed_to: Option<NaiveDate>,
    /// Changed at or after this instant (更新时间不早于).
    pub updated_since: Option<DateTime<Utc>>,
}

/// A product named by a filter: BAD_INPUT when there is none, FORBIDDEN when another bank's.
async fn filter_product(ctx: &Context<'_>, id: Option<&ID>) -> Result<Option<i64>> {
    let Some(n) = ids::decode_opt(id, Kind::LoanProduct)? else {
        return Ok(None);
    };
    match crate::graphql::credit::visible_product(ctx, n).await? {
        Some(p) => Ok(Some(p.id)),
        None => Err(AppError::bad_input("`productId` names no loan product").into()),
    }
}

impl LoanApplicationFilter {
    /// The filter as the store reads it, for the caller: a bank token's listing is its own.
    async fn into_db(self, ctx: &Context<'_>, what: &'static str) -> Result<ApplicationFilter> {
        let bank_id = listing_bank(ctx, self.bank_code.as_deref(), what).await?;
        Ok(ApplicationFilter {
            bank_id,
            statuses: self.status.unwrap_or_default(),
            township_id: ids::decode_opt(self.township_id.as_ref(), Kind::Township)?,
            product_id: filter_product(ctx, self.product_id.as_ref()).await?,
            borrower_id: ids::decode_opt(self.borrower_id.as_ref(), Kind::Party)?,
            submitted: period(
                ("submittedFrom", "submittedTo"),
                self.submitted_from,
                self.submitted_to,
            )?,
            decided: period(
                ("decidedFrom", "decidedTo"),
                self.decided_from,
                self.decided_to,
            )?,
            first_disbursed: days(
                ("disbursedFrom", "disbursedTo"),
                self.disbursed_from,
                self.disbursed_to,
            )?,
            updated: Period::since_opt(self.updated_since),
        })
    }
}

/// Narrows a listing of mortgages (抵押筛选). Lists mean "any of these"; absent means any.
#[derive(InputObject, Default)]
pub struct MortgageFilter {
    /// In these standings (抵押状态).
    pub status: Option<Vec<MortgageStatus>>,
    /// On a right in this township (乡镇).
    pub township_id: Option<ID>,
    /// Securing a loan of this product (贷款产品).
    pub product_id: Option<ID>,
    /// Of this bank, by code (银行); a bank token may name only its own.
    pub bank_code: Option<String>,
    /// On this right (权利).
    pub right_id: Option<ID>,
    /// Registered on or after (登记日期不早于).
    pub registered_from: Option<NaiveDate>,
    /// Registered on or before (登记日期不晚于).
    pub registered_to: Option<NaiveDate>,
    /// Changed at or after this instant (更新时间不早于).
    pub updated_since: Option<DateTime<Utc>>,
}

/// What a loan or mortgage connection's `totalCount` counts. Counted only when the field is
/// selected.
pub enum LoanTotal {
    Applications(Box<ApplicationFilter>),
    Mortgages(Box<DbMortgageFilter>),
}

#[Object]
impl LoanTotal {
    /// Number of items in the whole list, across all pages (总数).
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        let conn = db_conn(ctx)?;
        Ok(match self {
            LoanTotal::Applications(f) => db::loans::count_applications(conn, f).await?,
            LoanTotal::Mortgages(f) => db::loans::count_mortgages(conn, f).await?,
        })
    }
}

/// A page of applications under `filter`, newest first.
async fn application_connection(
    ctx: &Context<'_>,
    filter: ApplicationFilter,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<Connection<String, LoanApplication, LoanTotal>> {
    let page = PageRequest::new(NEWEST_FIRST, first, after, last, before)?;
    let rows = db::loans::applications_page(
        db_conn(ctx)?,
        &filter,
        page.after_id(),
        page.backward,
        page.fetch(),
    )
    .await?;
    Ok(page.connection(
        rows,
        |r| encode_cursor(NEWEST_FIRST, "", r.id),
        LoanApplication,
        LoanTotal::Applications(Box::new(filter)),
    ))
}

/// The caller as the application's bank: a BANK token of that bank.
async fn as_its_bank<'a>(ctx: &Context<'a>, app: &loan_application::Model) -> Result<&'a Actor> {
    let code = crate::graphql::credit::bank_code(ctx, app.bank_id).await?;
    Ok(caller(ctx).may_lend_as(&code).map_err(AppError::from)?)
}

#[derive(Default)]
pub struct LoansQuery;

#[Object]
impl LoansQuery {
    /// Loan applications, newest first (贷款申请): a bank token sees its own bank's only; the
    /// district office and the cadres every bank's.
    #[graphql(complexity = "crate::graphql::common::paging::cost(first, last, child_complexity)")]
    async fn loan_applications(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only these applications (筛选).")] filter: Option<LoanApplicationFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, LoanApplication, LoanTotal>> {
        let filter = filter
            .unwrap_or_default()
            .into_db(ctx, "loan applications")
            .await?;
        application_connection(ctx, filter, first, after, last, before).await
    }

    /// Loans paid out (已放款贷款), newest application first: the applications that reached
    /// DISBURSED, and whatever became of them since (REPAID, DEFAULTED, DISPOSED). Named apart
    /// from `Statistics.loans`, which sums lending up; a bank token sees its own bank's only.
    #[graphql(complexity = "crate::graphql::common::paging::cost(first, last, child_complexity)")]
    async fn disbursed_loans(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only these loans (筛选); `status` among DISBURSED, REPAID, \
                          DEFAULTED and DISPOSED.")]
        filter: Option<LoanApplicationFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, LoanApplication, LoanTotal>> {
        let mut filter = filter.unwrap_or_default().into_db(ctx, "loans").await?;
        if let Some(s) = filter
            .statuses
            .iter()
            .find(|s| !LoanStatus::PAID_OUT.contains(s))
        {
            return Err(AppError::bad_input(format!(
                "a loan paid out is DISBURSED, REPAID, DEFAULTED or DISPOSED, never {s}; \
                 list applications in other states with `loanApplications`"
            ))
            .into());
        }
        if filter.statuses.is_empty() {
            filter.statuses = LoanStatus::PAID_OUT.to_vec();
        }
        application_connection(ctx, filter, first, after, last, before).await
    }

    /// Mortgages registered on rights (抵押登记), newest first: a bank token sees its own
    /// bank's only; the district office and the cadres every bank's.
    #[graphql(complexity = "crate::graphql::common::paging::cost(first, last, child_complexity)")]
    async fn mortgages(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only these mortgages (筛选).")] filter: Option<MortgageFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, Mortgage, LoanTotal>> {
        let f = filter.unwrap_or_default();
        let filter = DbMortgageFilter {
            bank_id: listing_bank(ctx, f.bank_code.as_deref(), "mortgages").await?,
            statuses: f.status.unwrap_or_default(),
            township_id: ids::decode_opt(f.township_id.as_ref(), Kind::Township)?,
            product_id: filter_product(ctx, f.product_id.as_ref()).await?,
            right_id: ids::decode_opt(f.right_id.as_ref(), Kind::PropertyRight)?,
            registered: days(
                ("registeredFrom", "registeredTo"),
                f.registered_from,
                f.registered_to,
            )?,
            updated: Period::since_opt(f.updated_since),
        };
        let page = PageRequest::new(NEWEST_FIRST, first, after, last, before)?;
        let rows = db::loans::mortgages_page(
            db_conn(ctx)?,
            &filter,
            page.after_id(),
            page.backward,
            page.fetch(),
        )
        .await?;
        Ok(page.connection(
            rows,
            |r| encode_cursor(NEWEST_FIRST, "", r.id),
            Mortgage,
            LoanTotal::Mortgages(Box::new(filter)),
        ))
    }

    /// One loan application (贷款申请).
    async fn loan_application(&self, ctx: &Context<'_>, id: ID) -> Result<LoanApplication> {
        Ok(LoanApplication(visible_application(ctx, &id).await?))
    }
}

/// Applies for a loan (提交贷款申请): by the bank, or by a cadre on a household's behalf.
#[derive(InputObject)]
pub struct SubmitLoanApplicationInput {
    /// The product (贷款产品).
    pub product_id: ID,
    /// The right offered as collateral (抵押物权利).
    pub right_id: ID,
    /// The borrower (借款人).
    pub borrower_id: ID,
    /// Amount, fen (金额, 分).
    pub amount_fen: Long,
    /// Term, months (期限, 月).
    pub term_months: i32,
    /// Mortgage rank asked for (抵押顺位).
    #[graphql(default = 1)]
    pub rank: i32,
    /// The village party branch's recommendation of the borrower, if any (党支部推荐).
    pub recommendation_id: Option<Long>,
}

/// Decides an application (审批): the bank approves or rejects.
#[derive(InputObject)]
pub struct DecideLoanApplicationInput {
    /// The application.
    pub id: ID,
    /// Its version, as read.
    pub version: i32,
    /// Approve (true) or reject (false).
    pub approve: bool,
}

/// Registers the mortgage (抵押登记): the registry office, as ADMIN.
#[derive(InputObject)]
pub struct RegisterMortgageInput {
    /// The approved application.
    pub application_id: ID,
    /// Its version, as read.
    pub version: i32,
    /// Registration number (登记证明号), unique.
    pub registration_no: String,
    /// Registered on (登记日期); today when absent.
    pub registered_on: Option<NaiveDate>,
}

/// A step on a running loan (放款/还款/违约/注销).
#[derive(InputObject)]
pub struct LoanStepInput {
    /// The application.
    pub application_id: ID,
    /// Its version, as read.
    pub version: i32,
    /// Amount, fen, for a disbursement or repayment (金额, 分).
    pub amount_fen: Option<Long>,
    /// On (日期); today when absent.
    pub on: Option<NaiveDate>,
    /// Note (备注).
    pub note: Option<String>,
}

/// How a defaulted loan's collateral was dealt with (处置).
#[derive(InputObject)]
pub struct RecordDisposalInput {
    /// The application.
    pub application_id: ID,
    /// Its version, as read.
    pub version: i32,
    /// How (处置方式).
    pub method: DisposalMethod,
    /// Proceeds, fen (处置所得, 分).
    pub proceeds_fen: Option<Long>,
    /// On (日期); today when absent.
    pub on: Option<NaiveDate>,
    /// Note (备注).
    pub note: Option<String>,
}

/// The application after the step.
#[derive(SimpleObject)]
pub struct LoanApplicationPayload {
    /// As stored (贷款申请).
    pub loan_application: LoanApplication,
}

/// Loans and mortgages (贷款与抵押).
#[derive(Default)]
pub struct LoansMutation;

/// The audit identity and day of a step taken through the API.
fn step_by<'a>(ctx: &Context<'_>, actor: &'a crate::db::audit::Actor) -> loans::Step<'a> {
    loans::Step {
        actor,
        request_id: ctx
            .data_opt::<crate::graphql::common::context::RequestId>()
            .map(|r| r.0.clone()),
        on: today(),
    }
}

/// A step on a running loan through the API: one transaction, then subscribers are told.
async fn run_step(
    ctx: &Context<'_>,
    actor: &Actor,
    app: loan_application::Model,
    version: i32,
    action: LoanAction,
    event: NewEvent<'_>,
) -> Result<LoanApplicationPayload> {
    let who = audit_actor(actor);
    let txn = db::begin_write(db_conn(ctx)?).await?;
    let (after, _) = loans::step(&txn, &step_by(ctx, &who), &app, version, action, &event)
        .await
        .map_err(AppError::from)?;
    db::commit(txn).await?;
    Ok(LoanApplicationPayload {
        loan_application: LoanApplication(after),
    })
}

fn positive(amount: Option<Long>, what: &str) -> Result<i64> {
    match amount {
        Some(Long(n)) if n > 0 => Ok(n),
        _ => {
            Err(AppError::bad_input(format!("`amountFen` of a {what} must be more than 0")).into())
        }
    }
}

fn event<'a>(kind: &'static str, input: &'a LoanStepInput, amount: Option<i64>) -> NewEvent<'a> {
    NewEvent {
        kind,
        amount_fen: amount,
        occurred_on: input.on.unwrap_or_else(today),
        method: None,
        note: input.note.clone(),
    }
}

#[Object]
impl LoansMutation {
    /// Submits a loan application (提交贷款申请): a BANK for its own products, a CADRE for a
    /// household in its township, or ADMIN.
    async fn submit_loan_application(
        &self,
        ctx: &Context<'_>,
        input: SubmitLoanApplicationInput,
    ) -> Result<LoanApplicationPayload> {
        let who = caller(ctx);
        let conn = db_conn(ctx)?;
        let product_id = ids::decode_as(&input.product_id, Kind::LoanProduct)?;
        let product = db::credit::product(conn, product_id)
            .await?
            .ok_or_else(|| AppError::bad_input("`productId` names no loan product"))?;
        let right_id = ids::decode_as(&input.right_id, Kind::PropertyRight)?;
        let right = db::rights::right(conn, right_id)
            .await?
            .ok_or_else(|| AppError::bad_input("`rightId` names no property right"))?;
        let borrower_id =
            crate::graphql::parties::party_id(ctx, &input.borrower_id, "borrowerId").await?;
        let bank = crate::graphql::credit::bank_code(ctx, product.bank_id).await?;
        let township = crate::graphql::rights::right_township(ctx, &right).await?;
        let actor = who.may_apply(&bank, township).map_err(AppError::from)?;
        if input.amount_fen.0 <= 0 {
            return Err(AppError::bad_input("`amountFen` must be more than 0").into());
        }
        if !(1..=600).contains(&input.term_months) || !(1..=9).contains(&input.rank) {
            return Err(AppError::bad_input("`termMonths` must be 1–600 and `rank` 1–9").into());
        }
        if let Some(r) = input.recommendation_id
            && db::credit::recommended_party(conn, r.0).await? != Some(borrower_id)
        {
            return Err(AppError::bad_input(
                "`recommendationId` names no recommendation of this borrower",
            )
            .into());
        }
        let new = NewApplication {
            code: format!("LA-{}", crate::error::new_id()),
            bank_id: product.bank_id,
            product_id,
            right_id,
            borrower_id,
            recommendation_id: input.recommendation_id.map(|r| r.0),
            amount_fen: input.amount_fen.0,
            term_months: input.term_months,
            rank: input.rank,
            submitted_by: actor.label.clone(),
        };
        let who = audit_actor(actor);
        let txn = db::begin_write(conn).await?;
        let row = loans::submit(&txn, &step_by(ctx, &who), &new)
            .await
            .map_err(AppError::from)?;
        db::commit(txn).await?;
        Ok(LoanApplicationPayload {
            loan_application: LoanApplication(row),
        })
    }

    /// Approves or rejects an application (审批), as its bank: the eligibility report is
    /// computed afresh and stored with the decision; an approval whose report does not PASS is
    /// refused (BAD_INPUT).
    async fn decide_loan_application(
        &self,
        ctx: &Context<'_>,
        input: DecideLoanApplicationInput,
    ) -> Result<LoanApplicationPayload> {
        let app = visible_application(ctx, &input.id).await?;
        let actor = as_its_bank(ctx, &app).await?;
        let who = audit_actor(actor);
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let (after, _) = loans::decide(
            &txn,
            &step_by(ctx, &who),
            &app,
            input.version,
            input.approve,
        )
        .await
        .map_err(AppError::from)?;
        db::commit(txn).await?;
        Ok(LoanApplicationPayload {
            loan_application: LoanApplication(after),
        })
    }

    /// Registers the mortgage of an approved application (抵押登记), as the registry office
    /// (ADMIN). At most one ACTIVE mortgage per right and rank: a second is CONFLICT.
    async fn register_mortgage(
        &self,
        ctx: &Context<'_>,
        input: RegisterMortgageInput,
    ) -> Result<LoanApplicationPayload> {
        let actor = caller(ctx)
            .may_administer("registering a mortgage")
            .map_err(AppError::from)?;
        let app = visible_application(ctx, &input.application_id).await?;
        let registration_no =
            crate::domain::text::required("registrationNo", &input.registration_no, 64)
                .map_err(|e| AppError::bad_input(e.to_string()))?;
        let who = audit_actor(actor);
        let mut step = step_by(ctx, &who);
        step.on = input.registered_on.unwrap_or(step.on);
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let after = loans::register(&txn, &step, &app, input.version, &registration_no)
            .await
            .map_err(AppError::from)?;
        db::commit(txn).await?;
        Ok(LoanApplicationPayload {
            loan_application: LoanApplication(after),
        })
    }

    /// Pays the loan out (放款), as its bank.
    async fn disburse_loan(
        &self,
        ctx: &Context<'_>,
        input: LoanStepInput,
    ) -> Result<LoanApplicationPayload> {
        let app = visible_application(ctx, &input.application_id).await?;
        let actor = as_its_bank(ctx, &app).await?;
        let amount = match input.amount_fen {
            None => app.amount_fen,
            some => positive(some, "disbursement")?,
        };
        if amount > app.amount_fen {
            return Err(
                AppError::bad_input("a disbursement cannot exceed the amount approved").into(),
            );
        }
        let e = event("DISBURSEMENT", &input, Some(amount));
        run_step(ctx, actor, app, input.version, LoanAction::Disburse, e).await
    }

    /// Records a repayment (还款), as the bank; the one that settles the loan makes it REPAID.
    async fn record_repayment(
        &self,
        ctx: &Context<'_>,
        input: LoanStepInput,
    ) -> Result<LoanApplicationPayload> {
        let app = visible_application(ctx, &input.application_id).await?;
        let actor = as_its_bank(ctx, &app).await?;
        let amount = positive(input.amount_fen, "repayment")?;
        let repaid = db::loans::repaid_fen(db_conn(ctx)?, app.id).await?;
        let settles = repaid + amount >= app.amount_fen;
        let e = event("REPAYMENT", &input, Some(amount));
        run_step(
            ctx,
            actor,
            app,
            input.version,
            LoanAction::Repay { settles },
            e,
        )
        .await
    }

    /// Releases the mortgage of a repaid loan (注销抵押), as the registry office (ADMIN).
    async fn release_mortgage(
        &self,
        ctx: &Context<'_>,
        input: LoanStepInput,
    ) -> Result<LoanApplicationPayload> {
        let actor = caller(ctx)
            .may_administer("releasing a mortgage")
            .map_err(AppError::from)?;
        let app = visible_application(ctx, &input.application_id).await?;
        let e = event("RELEASE", &input, None);
        run_step(ctx, actor, app, input.version, LoanAction::Release, e).await
    }

    /// Records that the borrower defaulted (违约), as the bank.
    async fn record_default(
        &self,
        ctx: &Context<'_>,
        input: LoanStepInput,
    ) -> Result<LoanApplicationPayload> {
        let app = visible_application(ctx, &input.application_id).await?;
        let actor = as_its_bank(ctx, &app).await?;
        let e = event("DEFAULT", &input, None);
        run_step(ctx, actor, app, input.version, LoanAction::Default, e).await
    }

    /// Records how a defaulted loan's collateral was dealt with (处置), as the bank: a
    /// restructuring lets the loan run on; a sale, auction or compulsory management enforces
    /// the mortgage.
    async fn record_disposal(
        &self,
        ctx: &Context<'_>,
        input: RecordDisposalInput,
    ) -> Result<LoanApplicationPayload> {
        let app = visible_application(ctx, &input.application_id).await?;
        let actor = as_its_bank(ctx, &app).await?;
        if input.proceeds_fen.is_some_and(|p| p.0 < 0) {
            return Err(AppError::bad_input("`proceedsFen` must not be negative").into());
        }
        let e = NewEvent {
            kind: "DISPOSAL",
            amount_fen: input.proceeds_fen.map(|p| p.0),
            occurred_on: input.on.unwrap_or_else(today),
            method: Some(input.method.as_str()),
            note: input.note,
        };
        run_step(
            ctx,
            actor,
            app,
            input.version,
            LoanAction::Dispose(input.method),
            e,
        )
        .await
    }
}

/// The loan steps' refusals, as the API answers them.
impl From<crate::services::loans::LendingError> for AppError {
    fn from(err: crate::services::loans::LendingError) -> Self {
        use crate::services::loans::LendingError as E;
        match err {
            E::Transition(_) | E::NotPassing { .. } | E::NoPolicy => {
                Self::bad_input(err.to_string())
            }
            E::RankTaken { .. } | E::Stale { .. } => Self::conflict(err.to_string()),
            E::Missing => Self::not_found(err.to_string()),
            E::Store(e) => e.into(),
            E::Corrupt(_) => Self::internal(err),
        }
    }
}
