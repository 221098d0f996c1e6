//! Partner banks and their loan products ("一权一品"), party branches' recommendations
//! ("党建+金融服务") and pre-credit lines ("见房即授信"). A bank sees its own products only.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::NaiveDate;

use crate::db;
use crate::db::credit::{CreditLineFilter as LineFilter, RecommendationFilter as RecFilter};
use crate::db::entities::{bank, loan_application, loan_product};
use crate::domain::eligibility::{self, Request, Verdict};
use crate::domain::loans::{CreditLineStatus, LineTerms, LoanStatus, LoanTerms};
use crate::domain::rights::{CreditGrade, CreditModel, RightKind};
use crate::domain::statistics::{LoanFacts, LoanTotals};
use crate::error::AppError;
use crate::graphql::common::context::{Details, caller, db_conn, json, record, stored, today};
use crate::graphql::common::ids;
use crate::graphql::common::ids::Kind;
use crate::graphql::common::loaders::{
    ApplicationsOnRight, AssetKey, BackedBy, BankKey, LoanEventsOf, PartyKey, RightKey,
};
use crate::graphql::common::nodes::{
    CreditLine, IdleAsset, LoanApplication, LoanProduct, Party, PropertyRight, Recommendation,
    Village,
};
use crate::graphql::common::paging::{NEWEST_FIRST, PageRequest, days, encode_cursor};
use crate::graphql::common::scalars::Long;
use crate::graphql::parties::party_id;
use crate::graphql::rights::{RecordedPayload, right_row, text};

/// A partner bank (合作银行).
pub struct Bank(pub(crate) bank::Model);

/// A partner bank (合作银行).
#[Object]
impl Bank {
    /// Bank code, as bank tokens name it (银行代码).
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// Name (名称).
    async fn name(&self) -> &str {
        &self.0.name
    }
}

/// A loan product (贷款产品): one per kind of right at a bank ("一权一品").
#[Object]
impl LoanProduct {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::LoanProduct.id(self.0.id)
    }

    /// Product code (产品代码).
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// Name (产品名称).
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The kind of right it lends against (适用权利类型).
    async fn right_kind(&self) -> Result<RightKind> {
        stored(RightKind::parse(&self.0.right_kind))
    }

    /// How it lends (授信模式).
    async fn credit_model(&self) -> Result<CreditModel> {
        stored(CreditModel::parse(&self.0.credit_model))
    }

    /// Largest loan-to-value, 0 to 1 (最高抵押率).
    async fn max_loan_to_value(&self) -> f64 {
        f64::from(self.0.max_ltv_bp) / 10_000.0
    }

    /// Shortest and longest term, months (期限, 月).
    async fn term_months(&self) -> Vec<i32> {
        vec![self.0.min_term_months, self.0.max_term_months]
    }

    /// Smallest and largest amount, fen (金额范围, 分).
    async fn amount_fen(&self) -> Vec<Long> {
        vec![Long(self.0.min_amount_fen), Long(self.0.max_amount_fen)]
    }

    /// Lowest and highest yearly rate, 0 to 1 (年利率范围).
    async fn rate(&self) -> Vec<f64> {
        vec![
            f64::from(self.0.min_rate_bp) / 10_000.0,
            f64::from(self.0.max_rate_bp) / 10_000.0,
        ]
    }

    /// Whether the collective's written consent is needed (需集体同意).
    async fn needs_collective_consent(&self) -> bool {
        self.0.needs_collective_consent
    }

    /// The bank (所属银行).
    async fn bank(&self, ctx: &Context<'_>) -> Result<Option<Bank>> {
        Ok(crate::graphql::common::loaders::of(ctx)?
            .load_one(BankKey(self.0.bank_id))
            .await?
            .map(Bank))
    }
}

/// The code of a bank, by id (through the request's loader).
pub async fn bank_code(ctx: &Context<'_>, bank_id: i64) -> Result<String> {
    crate::graphql::common::loaders::of(ctx)?
        .load_one(BankKey(bank_id))
        .await?
        .map(|b| b.code)
        .ok_or_else(|| AppError::internal("a record without its bank").into())
}

/// Whether the caller may see the business of the bank `bank_id` (FORBIDDEN when another
/// bank's): the check of every record a bank owns.
pub async fn may_see_bank_of(ctx: &Context<'_>, bank_id: i64) -> Result<()> {
    let code = bank_code(ctx, bank_id).await?;
    caller(ctx)
        .may_see_bank_business(&code)
        .map_err(AppError::from)?;
    Ok(())
}

/// A product by id, if the caller may see its bank's business (FORBIDDEN otherwise).
pub async fn visible_product(ctx: &Context<'_>, id: i64) -> Result<Option<loan_product::Model>> {
    let Some(product) = db::credit::product(db_conn(ctx)?, id).await? else {
        return Ok(None);
    };
    may_see_bank_of(ctx, product.bank_id).await?;
    Ok(Some(product))
}

/// A product by global ID, which must exist and be the caller's to see.
pub(crate) async fn product_for(ctx: &Context<'_>, id: &ID) -> Result<loan_product::Model> {
    let n = ids::decode_as(id, Kind::LoanProduct)?;
    visible_product(ctx, n)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no loan product {}", id.as_str())).into())
}

/// The bank a listing of lending business is narrowed to: a BANK token's own; for the district
/// office and the cadres, the one `bankCode` names, or every bank (`None`). Another bank's code
/// from a BANK token is FORBIDDEN; a code no bank has is BAD_INPUT.
pub(crate) async fn listing_bank(
    ctx: &Context<'_>,
    bank_code: Option<&str>,
    what: &'static str,
) -> Result<Option<i64>> {
    let who = caller(ctx);
    let scope = who.lending_scope(what).map_err(AppError::from)?;
    let code = match (bank_code, scope) {
        (Some(asked), _) => {
            who.may_see_bank_business(asked).map_err(AppError::from)?;
            asked
        }
        (None, Some(own)) => own,
        (None, None) => return Ok(None),
    };
    match db::credit::bank_ids(db_conn(ctx)?).await?.get(code) {
        Some(id) => Ok(Some(*id)),
        None if bank_code.is_some() => {
            Err(AppError::bad_input(format!("`bankCode` {code:?} names no partner bank")).into())
        }
        // A BANK token of a bank the registry does not know has no business in it.
        None => Ok(Some(0)),
    }
}

/// A pre-credit line granted on seeing a registered house (见房即授信).
#[Object]
impl CreditLine {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::CreditLine.id(self.0.id)
    }

    /// The bank that granted it (授信银行).
    async fn bank(&self, ctx: &Context<'_>) -> Result<Option<Bank>> {
        Ok(crate::graphql::common::loaders::of(ctx)?
            .load_one(BankKey(self.0.bank_id))
            .await?
            .map(Bank))
    }

    /// The household it was granted to (授信农户); personal fields follow the access rules.
    async fn household(&self, ctx: &Context<'_>) -> Result<Option<Party>> {
        Ok(crate::graphql::common::loaders::of(ctx)?
            .load_one(PartyKey(self.0.party_id))
            .await?
            .map(Party))
    }

    /// The right on the house it was granted on (授信所依权利).
    async fn right(&self, ctx: &Context<'_>) -> Result<Option<PropertyRight>> {
        Ok(self.right_row(ctx).await?.map(PropertyRight))
    }

    /// The house it was granted on (授信房屋): the asset the right is on; null for a right on
    /// no registered asset.
    async fn asset(&self, ctx: &Context<'_>) -> Result<Option<IdleAsset>> {
        let Some(asset) = self.right_row(ctx).await?.and_then(|r| r.asset_id) else {
            return Ok(None);
        };
        Ok(crate::graphql::common::loaders::of(ctx)?
            .load_one(AssetKey(asset))
            .await?
            .map(IdleAsset::from))
    }

    /// The line, fen (授信额度, 分).
    async fn amount_fen(&self) -> Long {
        Long(self.0.amount_fen)
    }

    /// Granted on (授信日期).
    async fn granted_on(&self) -> NaiveDate {
        self.0.granted_on
    }

    /// Expires on (授信到期日); the line is usable through that day.
    async fn expires_on(&self) -> NaiveDate {
        self.0.expires_on
    }

    /// Its standing today (授信状态).
    async fn status(&self) -> CreditLineStatus {
        CreditLineStatus::on(self.0.expires_on, today())
    }

    /// Drawn, fen (已用额度, 分): what the loans drawing on it have paid out and not yet been
    /// repaid, of those running or in default.
    async fn drawn_fen(&self, ctx: &Context<'_>) -> Result<Long> {
        Ok(Long(self.drawn(ctx).await?))
    }

    /// Still available, fen (可用额度, 分): the line less what is drawn while it is ACTIVE;
    /// 0 once EXPIRED.
    async fn available_fen(&self, ctx: &Context<'_>) -> Result<Long> {
        let status = CreditLineStatus::on(self.0.expires_on, today());
        let drawn = self.drawn(ctx).await?;
        Ok(Long(crate::domain::loans::available_fen(
            self.0.amount_fen,
            drawn,
            status,
        )))
    }

    /// The loan applications that draw on it, oldest first (用信记录): the same bank's loans to
    /// the same household on the same right, applied for while the line runs.
    async fn loans(&self, ctx: &Context<'_>) -> Result<Vec<LoanApplication>> {
        Ok(self
            .drawing(ctx)
            .await?
            .into_iter()
            .map(LoanApplication)
            .collect())
    }
}

impl CreditLine {
    async fn right_row(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<db::entities::property_right::Model>> {
        Ok(crate::graphql::common::loaders::of(ctx)?
            .load_one(RightKey(self.0.right_id))
            .await?)
    }

    /// The applications that draw on the line (`domain::loans::draws_on`).
    async fn drawing(&self, ctx: &Context<'_>) -> Result<Vec<loan_application::Model>> {
        let line = LineTerms {
            bank_id: self.0.bank_id,
            party_id: self.0.party_id,
            right_id: self.0.right_id,
            granted_on: self.0.granted_on,
            expires_on: self.0.expires_on,
        };
        let on_right = crate::graphql::common::loaders::of(ctx)?
            .load_one(ApplicationsOnRight(self.0.right_id))
            .await?
            .unwrap_or_default();
        Ok(on_right
            .into_iter()
            .filter(|a| {
                let loan = LoanTerms {
                    bank_id: a.bank_id,
                    borrower_id: a.borrower_id,
                    right_id: a.right_id,
                    // Lines are granted on the district's calendar day (`today`).
                    submitted_on: a.created_at.with_timezone(&chrono::Local).date_naive(),
                };
                crate::domain::loans::draws_on(&line, &loan)
            })
            .collect())
    }

    /// What the loans drawing on the line still owe, fen.
    async fn drawn(&self, ctx: &Context<'_>) -> Result<i64> {
        let loans = self.drawing(ctx).await?;
        let events = crate::graphql::common::loaders::of(ctx)?
            .load_many(loans.iter().map(|a| LoanEventsOf(a.id)))
            .await?;
        let mut totals = LoanTotals::default();
        for a in &loans {
            let events = events
                .get(&LoanEventsOf(a.id))
                .map(Vec::as_slice)
                .unwrap_or_default();
            totals.add(&LoanFacts {
                status: stored(LoanStatus::parse(&a.status))?,
                amount_fen: a.amount_fen,
                disbursed_fen: db::loans::disbursed(events),
                repaid_fen: db::loans::repaid(events),
            });
        }
        Ok(totals.outstanding_fen)
    }
}

/// A village party branch's recommendation of a household to the banks (党建+金融服务).
#[Object]
impl Recommendation {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::Recommendation.id(self.0.id)
    }

    /// The household recommended (被推荐农户); personal fields follow the access rules.
    async fn household(&self, ctx: &Context<'_>) -> Result<Option<Party>> {
        Ok(crate::graphql::common::loaders::of(ctx)?
            .load_one(PartyKey(self.0.party_id))
            .await?
            .map(Party))
    }

    /// The village whose party branch recommends (推荐村).
    async fn village(&self, ctx: &Context<'_>) -> Result<Option<Village>> {
        Village::load(ctx, Some(self.0.village_id)).await
    }

    /// The party branch that recommends (推荐党支部).
    async fn issuer(&self) -> &str {
        &self.0.issuer
    }

    /// The credit grade it gives (信用等级).
    async fn grade(&self) -> Result<CreditGrade> {
        stored(CreditGrade::parse(&self.0.grade))
    }

    /// Issued on (推荐日期).
    async fn issued_on(&self) -> NaiveDate {
        self.0.issued_on
    }

    /// The loan applications it backs, oldest first (所支持的贷款申请); a bank token sees
    /// those to its own bank only.
    async fn applications(&self, ctx: &Context<'_>) -> Result<Vec<LoanApplication>> {
        let loader = crate::graphql::common::loaders::of(ctx)?;
        let backed = loader
            .load_one(BackedBy(self.0.id))
            .await?
            .unwrap_or_default();
        let Some(own) = caller(ctx)
            .lending_scope("the applications a recommendation backs")
            .map_err(AppError::from)?
        else {
            return Ok(backed.into_iter().map(LoanApplication).collect());
        };
        let banks = loader
            .load_many(backed.iter().map(|a| BankKey(a.bank_id)))
            .await?;
        Ok(backed
            .into_iter()
            .filter(|a| {
                banks
                    .get(&BankKey(a.bank_id))
                    .is_some_and(|b| b.code == own)
            })
            .map(LoanApplication)
            .collect())
    }
}

/// A recommendation by database id for `node`: none when missing, FORBIDDEN when the caller
/// may not see it (`Caller::may_see_recommendation`).
pub async fn recommendation_node(ctx: &Context<'_>, id: i64) -> Result<Option<Recommendation>> {
    let loader = crate::graphql::common::loaders::of(ctx)?;
    let Some(row) = loader
        .load_one(crate::graphql::common::loaders::RecommendationKey(id))
        .await?
    else {
        return Ok(None);
    };
    let backed = loader.load_one(BackedBy(id)).await?.unwrap_or_default();
    let banks = loader
        .load_many(backed.iter().map(|a| BankKey(a.bank_id)))
        .await?;
    let codes: Vec<&str> = banks.values().map(|b| b.code.as_str()).collect();
    caller(ctx)
        .may_see_recommendation(&codes)
        .map_err(AppError::from)?;
    Ok(Some(Recommendation(row)))
}

/// A credit line by database id for `node`: none when missing, FORBIDDEN when another bank's.
pub async fn credit_line_node(ctx: &Context<'_>, id: i64) -> Result<Option<CreditLine>> {
    let Some(row) = crate::graphql::common::loaders::of(ctx)?
        .load_one(crate::graphql::common::loaders::CreditLineKey(id))
        .await?
    else {
        return Ok(None);
    };
    may_see_bank_of(ctx, row.bank_id).await?;
    Ok(Some(CreditLine(row)))
}

/// Narrows a listing of credit lines (授信筛选). Lists mean "any of these"; absent means any.
#[derive(InputObject, Default)]
pub struct CreditLineFilter {
    /// Standing today (授信状态).
    pub status: Option<Vec<CreditLineStatus>>,
    /// On a right in this township (乡镇): of an asset there, or of a share holding of one of
    /// its collectives.
    pub township_id: Option<ID>,
    /// Of this bank, by code (银行); a bank token may name only its own.
    pub bank_code: Option<String>,
    /// Granted to this household (农户).
    pub household_id: Option<ID>,
    /// On this right (权利).
    pub right_id: Option<ID>,
    /// Granted on or after (授信日期不早于).
    pub granted_from: Option<NaiveDate>,
    /// Granted on or before (授信日期不晚于).
    pub granted_to: Option<NaiveDate>,
    /// Expiring on or after (到期日不早于).
    pub expires_from: Option<NaiveDate>,
    /// Expiring on or before (到期日不晚于).
    pub expires_to: Option<NaiveDate>,
}

/// Narrows a listing of recommendations (推荐筛选). Lists mean "any of these"; absent means any.
#[derive(InputObject, Default)]
pub struct RecommendationFilter {
    /// Of a village of this township (乡镇).
    pub township_id: Option<ID>,
    /// Of this village (村).
    pub village_id: Option<ID>,
    /// Of this household (农户).
    pub household_id: Option<ID>,
    /// With these grades (信用等级).
    pub grade: Option<Vec<CreditGrade>>,
    /// Backing an application to this bank, by code (银行); a bank token may name only its
    /// own, and sees only those anyway.
    pub bank_code: Option<String>,
    /// Issued on or after (推荐日期不早于).
    pub issued_from: Option<NaiveDate>,
    /// Issued on or before (推荐日期不晚于).
    pub issued_to: Option<NaiveDate>,
}

/// What a credit connection's `totalCount` counts. Counted only when the field is selected.
pub enum CreditTotal {
    Lines(Box<LineFilter>),
    Recommendations(Box<RecFilter>),
}

#[Object]
impl CreditTotal {
    /// Number of items in the whole list, across all pages (总数).
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        let conn = db_conn(ctx)?;
        Ok(match self {
            CreditTotal::Lines(f) => db::credit::count_lines(conn, f).await?,
            CreditTotal::Recommendations(f) => db::credit::count_recommendations(conn, f).await?,
        })
    }
}

/// A party branch endorses a borrower (党支部推荐): ADMIN, or a CADRE of the party's township.
#[derive(InputObject)]
pub struct RecordRecommendationInput {
    /// The household (农户).
    pub party_id: ID,
    /// Grade (信用等级).
    pub grade: CreditGrade,
    /// The branch (推荐党支部).
    pub issuer: String,
    /// On (推荐日期); today when absent.
    pub issued_on: Option<NaiveDate>,
}

/// Grants a pre-credit line on a registered house (见房即授信): the product's BANK.
#[derive(InputObject)]
pub struct GrantCreditLineInput {
    /// The right (权利).
    pub right_id: ID,
    /// The product (贷款产品).
    pub product_id: ID,
    /// The line, fen (授信额度, 分); at most what the report allows.
    pub amount_fen: Long,
    /// Expires on (授信到期日).
    pub expires_on: NaiveDate,
}

/// Partner banks and their loan products ("一权一品"), credit lines and recommendations.
#[derive(Default)]
pub struct CreditQuery;

#[Object]
impl CreditQuery {
    /// Partner banks (合作银行).
    #[graphql(guard = "Details(\"the partner banks\")")]
    async fn banks(&self, ctx: &Context<'_>) -> Result<Vec<Bank>> {
        Ok(db::credit::banks(db_conn(ctx)?)
            .await?
            .into_iter()
            .map(Bank)
            .collect())
    }

    /// Pre-credit lines (见房即授信), newest first: a bank token sees its own bank's only;
    /// the district office and the cadres every bank's.
    #[graphql(complexity = "crate::graphql::common::paging::cost(first, last, child_complexity)")]
    async fn credit_lines(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only these lines (筛选).")] filter: Option<CreditLineFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, CreditLine, CreditTotal>> {
        let f = filter.unwrap_or_default();
        let bank_id = listing_bank(ctx, f.bank_code.as_deref(), "credit lines").await?;
        let filter = LineFilter {
            bank_id,
            statuses: f.status.unwrap_or_default(),
            on: today(),
            township_id: ids::decode_opt(f.township_id.as_ref(), Kind::Township)?,
            party_id: ids::decode_opt(f.household_id.as_ref(), Kind::Party)?,
            right_id: ids::decode_opt(f.right_id.as_ref(), Kind::PropertyRight)?,
            granted: days(("grantedFrom", "grantedTo"), f.granted_from, f.granted_to)?,
            expires: days(("expiresFrom", "expiresTo"), f.expires_from, f.expires_to)?,
        };
        let page = PageRequest::new(NEWEST_FIRST, first, after, last, before)?;
        let rows = db::credit::lines_page(
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
            CreditLine,
            CreditTotal::Lines(Box::new(filter)),
        ))
    }

    /// Party branches' recommendations of households (党建+金融服务), newest first: a bank
    /// token sees those that back an application to its own bank; the district office and the
    /// cadres every one.
    #[graphql(complexity = "crate::graphql::common::paging::cost(first, last, child_complexity)")]
    async fn recommendations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only these recommendations (筛选).")] filter: Option<
            RecommendationFilter,
        >,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, Recommendation, CreditTotal>> {
        let f = filter.unwrap_or_default();
        let backing_bank_id = listing_bank(ctx, f.bank_code.as_deref(), "recommendations").await?;
        let filter = RecFilter {
            backing_bank_id,
            township_id: ids::decode_opt(f.township_id.as_ref(), Kind::Township)?,
            village_id: ids::decode_opt(f.village_id.as_ref(), Kind::Village)?,
            party_id: ids::decode_opt(f.household_id.as_ref(), Kind::Party)?,
            grades: f.grade.unwrap_or_default(),
            issued: days(("issuedFrom", "issuedTo"), f.issued_from, f.issued_to)?,
        };
        let page = PageRequest::new(NEWEST_FIRST, first, after, last, before)?;
        let rows = db::credit::recommendations_page(
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
            Recommendation,
            CreditTotal::Recommendations(Box::new(filter)),
        ))
    }

    /// Loan products (贷款产品); a bank token sees its own bank's only.
    #[graphql(guard = "Details(\"loan products\")")]
    async fn loan_products(&self, ctx: &Context<'_>) -> Result<Vec<LoanProduct>> {
        let conn = db_conn(ctx)?;
        let banks = db::credit::banks(conn).await?;
        let who = caller(ctx);
        Ok(db::credit::products(conn)
            .await?
            .into_iter()
            .filter(|p| {
                banks
                    .iter()
                    .find(|b| b.id == p.bank_id)
                    .is_some_and(|b| who.may_see_bank_business(&b.code).is_ok())
            })
            .map(LoanProduct)
            .collect())
    }
}

/// Party branches' recommendations and pre-credit lines ("党建+金融服务", "见房即授信").
#[derive(Default)]
pub struct CreditMutation;

#[Object]
impl CreditMutation {
    /// Records a party branch's recommendation of a household (登记党支部推荐).
    async fn record_recommendation(
        &self,
        ctx: &Context<'_>,
        input: RecordRecommendationInput,
    ) -> Result<RecordedPayload> {
        let conn = db_conn(ctx)?;
        let n = party_id(ctx, &input.party_id, "partyId").await?;
        let party = db::parties::by_ids(conn, &[n])
            .await?
            .remove(&n)
            .ok_or_else(|| AppError::bad_input("`partyId` is not a registered party"))?;
        let village_id = party
            .village_id
            .ok_or_else(|| AppError::bad_input("the party belongs to no village"))?;
        let village = db::places::villages_by_ids(conn, &[village_id])
            .await?
            .remove(&village_id)
            .ok_or_else(|| AppError::internal("a party's village is gone"))?;
        let actor = caller(ctx)
            .may_write_in(village.township_id)
            .map_err(AppError::from)?;
        let issuer = text("issuer", &input.issuer, 100)?;
        let txn = db::begin_write(conn).await?;
        let id = db::credit::insert_recommendation(
            &txn,
            n,
            village_id,
            input.grade.as_str(),
            &issuer,
            input.issued_on.unwrap_or_else(today),
        )
        .await?;
        record(
            ctx,
            &txn,
            actor,
            "recommend",
            "party",
            n,
            (
                None,
                json(&serde_json::json!({ "recommendationId": id, "grade": input.grade.as_str() })),
            ),
        )
        .await?;
        db::commit(txn).await?;
        Ok(RecordedPayload {
            kind: "Recommendation".into(),
            record_id: Long(id),
            id: Some(Kind::Recommendation.id(id)),
        })
    }

    /// Grants a pre-credit line on a registered house (见房即授信), as the product's bank: the
    /// right's report for the product must pass, and the line is at most what it allows.
    async fn grant_credit_line(
        &self,
        ctx: &Context<'_>,
        input: GrantCreditLineInput,
    ) -> Result<RecordedPayload> {
        let conn = db_conn(ctx)?;
        let product_n = ids::decode_as(&input.product_id, Kind::LoanProduct)?;
        let product = db::credit::product(conn, product_n)
            .await?
            .ok_or_else(|| AppError::bad_input("`productId` names no loan product"))?;
        let bank_code = bank_code(ctx, product.bank_id).await?;
        let actor = caller(ctx)
            .may_lend_as(&bank_code)
            .map_err(AppError::from)?;
        let right = right_row(ctx, &input.right_id).await?;
        let holder = db::rights::holders_of(conn, right.id)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| AppError::bad_input("the right records no holder"))?;
        let on = today();
        if input.expires_on <= on {
            return Err(AppError::bad_input("`expiresOn` must be after today").into());
        }
        let request = Request {
            amount_fen: product.min_amount_fen,
            term_months: product.min_term_months.max(1) as u32,
            rank: 1,
        };
        let txn = db::begin_write(conn).await?;
        let snapshot =
            db::eligibility::snapshot(&txn, right.id, product.id, holder.party_id, request, on)
                .await?
                .ok_or_else(|| AppError::bad_input("no district policy is in force"))?;
        let report = eligibility::evaluate(&snapshot);
        match (report.verdict, report.max_amount_fen) {
            (Verdict::Pass, Some(max)) if input.amount_fen.0 > 0 && input.amount_fen.0 <= max => {}
            (Verdict::Pass, Some(max)) => {
                return Err(AppError::bad_input(format!(
                    "the line must be more than 0 and at most {max} fen"
                ))
                .into());
            }
            (verdict, _) => {
                return Err(AppError::bad_input(format!(
                    "the right's report for this product is {verdict}, not PASS"
                ))
                .into());
            }
        }
        let id = db::credit::insert_credit_line(
            &txn,
            product.bank_id,
            holder.party_id,
            right.id,
            input.amount_fen.0,
            on,
            input.expires_on,
        )
        .await?;
        record(ctx, &txn, actor, "grant_credit_line", "property_right", right.id, (None, json(&serde_json::json!({ "creditLineId": id, "amountFen": input.amount_fen.0, "snapshotDigest": report.snapshot_digest })))).await?;
        db::commit(txn).await?;
        Ok(RecordedPayload {
            kind: "CreditLine".into(),
            record_id: Long(id),
            id: Some(Kind::CreditLine.id(id)),
        })
    }
}
