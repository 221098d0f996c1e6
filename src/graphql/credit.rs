//! Partner banks and their loan products ("一权一品"), party branches' recommendations
//! ("党建+金融服务") and pre-credit lines ("见房即授信"). A bank sees its own products only.

use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::NaiveDate;

use crate::db;
use crate::db::entities::{bank, loan_product};
use crate::domain::eligibility::{self, Request, Verdict};
use crate::domain::rights::{CreditGrade, CreditModel, RightKind};
use crate::error::AppError;
use crate::graphql::common::context::{Details, caller, db_conn, json, record, stored, today};
use crate::graphql::common::ids;
use crate::graphql::common::ids::Kind;
use crate::graphql::common::loaders::BankKey;
use crate::graphql::common::nodes::LoanProduct;
use crate::graphql::common::scalars::Long;
use crate::graphql::parties::party_id;
use crate::graphql::rights::{RecordedPayload, right_row, text};

/// A partner bank (合作银行).
pub struct Bank(bank::Model);

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

/// A product by id, if the caller may see its bank's business (FORBIDDEN otherwise).
pub async fn visible_product(ctx: &Context<'_>, id: i64) -> Result<Option<loan_product::Model>> {
    let Some(product) = db::credit::product(db_conn(ctx)?, id).await? else {
        return Ok(None);
    };
    let code = bank_code(ctx, product.bank_id).await?;
    caller(ctx)
        .may_see_bank_business(&code)
        .map_err(AppError::from)?;
    Ok(Some(product))
}

/// A product by global ID, which must exist and be the caller's to see.
pub(crate) async fn product_for(ctx: &Context<'_>, id: &ID) -> Result<loan_product::Model> {
    let n = ids::decode_as(id, Kind::LoanProduct)?;
    visible_product(ctx, n)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no loan product {}", id.as_str())).into())
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

/// Partner banks and their loan products ("一权一品").
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
        })
    }
}
