//! Property rights (产权), banks and their loan products, and the mortgage eligibility report a
//! bank decides on. Rights and products need a token; a bank sees its own products only, and an
//! eligibility report names records by id, never a person.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use super::access::{Details, caller};
use super::asset::{IdleAsset, Party};
use super::ids::{self, Kind};
use super::loaders::{AppraisalsOf, AssetKey, BankKey, DocumentsOf, HoldersOf, PartyKey};
use super::scalars::Long;
use super::{db_conn, stored};
use crate::db;
use crate::db::entities::{appraisal, bank, loan_product, property_right, source_document};
use crate::domain::eligibility::{self, Request, RuleCode, Verdict};

use crate::domain::rights::{AppraisalMethod, CreditModel, DocumentKind, RightKind, RightStatus};
use crate::error::AppError;

/// A property right (产权): a household's house with its homestead, a land management right, a
/// forest right… with its certificate, holders and source documents (LADM: LA_Right).
pub struct PropertyRight(pub property_right::Model);

/// A property right (产权): a household's house with its homestead, a land management right, a
/// forest right… with its certificate, holders and source documents (LADM: LA_Right).
#[Object]
impl PropertyRight {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::PropertyRight.id(self.0.id)
    }

    /// Registry code of the right (权利编号).
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// Kind of right (权利类型).
    async fn kind(&self) -> Result<RightKind> {
        stored(RightKind::parse(&self.0.kind))
    }

    /// Standing (权利状态).
    async fn status(&self) -> Result<RightStatus> {
        stored(RightStatus::parse(&self.0.status))
    }

    /// Certificate number (权证号); null when not registered.
    async fn certificate_no(&self) -> Option<&str> {
        self.0.certificate_no.as_deref()
    }

    /// Kind of certificate (权证类型), e.g. 不动产权证书.
    async fn certificate_kind(&self) -> Option<&str> {
        self.0.certificate_kind.as_deref()
    }

    /// Issued on (登簿日期).
    async fn issued_on(&self) -> Option<NaiveDate> {
        self.0.issued_on
    }

    /// Expires on (到期日期); null when it does not expire.
    async fn expires_on(&self) -> Option<NaiveDate> {
        self.0.expires_on
    }

    /// Under dispute (存在权属争议).
    async fn disputed(&self) -> bool {
        self.0.disputed
    }

    /// Seized or frozen (被查封/冻结).
    async fn seized(&self) -> bool {
        self.0.seized
    }

    /// Version (版本号), raised by every change; `setRightStanding` takes it.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// The idle asset it is on (所在资产).
    async fn asset(&self, ctx: &Context<'_>) -> Result<Option<IdleAsset>> {
        let Some(id) = self.0.asset_id else {
            return Ok(None);
        };
        Ok(super::loaders::of(ctx)?
            .load_one(AssetKey(id))
            .await?
            .map(IdleAsset::from))
    }

    /// Holders and their shares (权利人及份额); a household's members are co-owners.
    async fn holders(&self, ctx: &Context<'_>) -> Result<Vec<RightHolder>> {
        let loader = super::loaders::of(ctx)?;
        let holders = loader
            .load_one(HoldersOf(self.0.id))
            .await?
            .unwrap_or_default();
        let mut parties = loader
            .load_many(holders.iter().map(|h| PartyKey(h.party_id)))
            .await?;
        Ok(holders
            .into_iter()
            .filter_map(|h| {
                parties.remove(&PartyKey(h.party_id)).map(|p| RightHolder {
                    party: Party(p),
                    share: f64::from(h.share_bp) / 10_000.0,
                })
            })
            .collect())
    }

    /// Source documents (来源文件): certificates, consents, resolutions.
    async fn documents(&self, ctx: &Context<'_>) -> Result<Vec<SourceDocument>> {
        Ok(super::loaders::of(ctx)?
            .load_one(DocumentsOf(self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(SourceDocument)
            .collect())
    }

    /// Appraisals (价值评估), oldest first.
    async fn appraisals(&self, ctx: &Context<'_>) -> Result<Vec<Appraisal>> {
        Ok(super::loaders::of(ctx)?
            .load_one(AppraisalsOf(self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Appraisal)
            .collect())
    }
}

/// A holder of a right and its share (权利人).
pub struct RightHolder {
    party: Party,
    share: f64,
}

/// A holder of a right and its share (权利人).
#[Object]
impl RightHolder {
    /// The holder (权利人).
    async fn party(&self) -> &Party {
        &self.party
    }

    /// Share of the right, 0 to 1 (份额).
    async fn share(&self) -> f64 {
        self.share
    }
}

/// A source document of a right (来源文件).
pub struct SourceDocument(source_document::Model);

/// A source document of a right (来源文件).
#[Object]
impl SourceDocument {
    /// Kind (类型).
    async fn kind(&self) -> Result<DocumentKind> {
        stored(DocumentKind::parse(&self.0.kind))
    }

    /// Number (文号).
    async fn number(&self) -> &str {
        &self.0.number
    }

    /// Issued by (出具单位).
    async fn issuer(&self) -> &str {
        &self.0.issuer
    }

    /// Issued on (出具日期).
    async fn issued_on(&self) -> NaiveDate {
        self.0.issued_on
    }
}

/// An appraisal of a right (价值评估).
pub struct Appraisal(appraisal::Model);

/// An appraisal of a right (价值评估).
#[Object]
impl Appraisal {
    /// Method (评估方式).
    async fn method(&self) -> Result<AppraisalMethod> {
        stored(AppraisalMethod::parse(&self.0.method))
    }

    /// Appraiser (评估机构).
    async fn appraiser(&self) -> &str {
        &self.0.appraiser
    }

    /// Value in fen (评估价值, 分).
    async fn value_fen(&self) -> Long {
        Long(self.0.value_fen)
    }

    /// Valued on (评估日期).
    async fn valued_on(&self) -> NaiveDate {
        self.0.valued_on
    }

    /// Valid until (有效期至); null means the policy's validity applies.
    async fn valid_until(&self) -> Option<NaiveDate> {
        self.0.valid_until
    }
}

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
pub struct LoanProduct(pub loan_product::Model);

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
        Ok(super::loaders::of(ctx)?
            .load_one(BankKey(self.0.bank_id))
            .await?
            .map(Bank))
    }
}

/// A record an eligibility rule looked at (依据记录).
#[derive(SimpleObject)]
pub struct RuleEvidence {
    /// Its type, e.g. PropertyRight, Appraisal, SourceDocument, Mortgage, ExpropriationZone.
    kind: String,
    /// Its id in that type's table (记录号).
    record_id: Long,
}

/// One rule's answer (规则结论).
#[derive(SimpleObject)]
pub struct RuleOutcome {
    /// The rule (规则).
    code: RuleCode,
    /// PASS, FAIL, UNKNOWN (data missing) or NOT_APPLICABLE (结论).
    verdict: Verdict,
    /// Why, in words (说明); never names a person.
    message: String,
    /// The records it looked at (依据).
    evidence: Vec<RuleEvidence>,
}

/// A mortgage eligibility report (抵押贷款准入报告): every rule, the verdict, and what it rested on.
#[derive(SimpleObject)]
pub struct EligibilityReport {
    /// FAIL if any rule fails, else UNKNOWN if any lacks data, else PASS (总体结论).
    verdict: Verdict,
    /// One entry per rule, in a fixed order (逐条结论).
    rules: Vec<RuleOutcome>,
    /// The largest amount that would pass, fen, when nothing but the amount stands in the way
    /// (可贷最高额度, 分).
    max_amount_fen: Option<Long>,
    /// The district rule-set version it applied (规则版本).
    rule_set_version: String,
    /// When it was computed (计算时间).
    computed_at: DateTime<Utc>,
    /// SHA-256 of the snapshot of records it used (数据快照摘要): the same records give the
    /// same digest.
    snapshot_digest: String,
}

impl From<eligibility::Report> for EligibilityReport {
    fn from(r: eligibility::Report) -> Self {
        Self {
            verdict: r.verdict,
            rules: r
                .rules
                .into_iter()
                .map(|o| RuleOutcome {
                    code: o.code,
                    verdict: o.verdict,
                    message: o.message,
                    evidence: o
                        .evidence
                        .into_iter()
                        .map(|e| RuleEvidence {
                            kind: e.kind.to_owned(),
                            record_id: Long(e.id),
                        })
                        .collect(),
                })
                .collect(),
            max_amount_fen: r.max_amount_fen.map(Long),
            rule_set_version: r.rule_set_version,
            computed_at: Utc::now(),
            snapshot_digest: r.snapshot_digest,
        }
    }
}

/// The code of a bank, by id (through the request's loader).
pub async fn bank_code(ctx: &Context<'_>, bank_id: i64) -> Result<String> {
    super::loaders::of(ctx)?
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
async fn product_for(ctx: &Context<'_>, id: &ID) -> Result<loan_product::Model> {
    let n = ids::decode_as(id, Kind::LoanProduct)?;
    visible_product(ctx, n)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no loan product {}", id.as_str())).into())
}

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

    /// One property right by global ID or registry code (产权).
    #[graphql(guard = "Details(\"property rights\")")]
    async fn property_right(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        code: Option<String>,
    ) -> Result<Option<PropertyRight>> {
        let conn = db_conn(ctx)?;
        let row = match (id, code) {
            (Some(id), None) => {
                db::rights::right(conn, ids::decode_as(&id, Kind::PropertyRight)?).await?
            }
            (None, Some(code)) => db::rights::right_by_code(conn, &code).await?,
            _ => return Err(AppError::bad_input("give `id` or `code`, one of them").into()),
        };
        Ok(row.map(PropertyRight))
    }

    /// Whether a right can secure a loan of a product (抵押贷款准入): one entry per rule with
    /// the records it rested on, the verdict, the largest amount that would pass, the rule-set
    /// version and a digest of the records used. Computed fresh on every call; it names records
    /// by id and no person.
    #[allow(clippy::too_many_arguments)]
    async fn mortgage_eligibility(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The right offered as collateral (抵押物权利).")] right_id: ID,
        #[graphql(desc = "The loan product (贷款产品).")] product_id: ID,
        #[graphql(desc = "Amount asked, fen (申请金额, 分).")] amount_fen: Long,
        #[graphql(desc = "Term, months (期限, 月).")] term_months: i32,
        #[graphql(desc = "The borrower (借款人).")] borrower_id: ID,
        #[graphql(default = 1, desc = "Mortgage rank asked for (抵押顺位), 1 for first.")]
        rank: i32,
    ) -> Result<EligibilityReport> {
        let product = product_for(ctx, &product_id).await?;
        if amount_fen.0 <= 0 {
            return Err(AppError::bad_input("`amountFen` must be more than 0").into());
        }
        if !(1..=600).contains(&term_months) {
            return Err(AppError::bad_input("`termMonths` must be between 1 and 600").into());
        }
        if !(1..=9).contains(&rank) {
            return Err(AppError::bad_input("`rank` must be between 1 and 9").into());
        }
        let right = ids::decode_as(&right_id, Kind::PropertyRight)?;
        let borrower = ids::decode_as(&borrower_id, Kind::Party)?;
        let today = chrono::Local::now().date_naive();
        let request = Request {
            amount_fen: amount_fen.0,
            term_months: term_months as u32,
            rank: rank as u32,
        };
        let snapshot =
            db::eligibility::snapshot(db_conn(ctx)?, right, product.id, borrower, request, today)
                .await?
                .ok_or_else(|| {
                    AppError::not_found(
                        "no such right or borrower, or no district policy is in force",
                    )
                })?;
        Ok(eligibility::evaluate(&snapshot).into())
    }
}

/// Age limits for borrowers, years (年龄限制).
#[derive(SimpleObject, async_graphql::InputObject)]
#[graphql(input_name = "AgeLimitsInput")]
pub struct AgeLimits {
    /// Youngest (最低年龄).
    pub min: i32,
    /// Oldest for men (男性上限).
    pub male_max: i32,
    /// Oldest for women (女性上限).
    pub female_max: i32,
}

/// A loan-to-value ceiling for one kind of right (抵押率上限).
#[derive(SimpleObject, async_graphql::InputObject)]
#[graphql(input_name = "LtvCeilingInput")]
pub struct LtvCeiling {
    /// Kind of right (权利类型).
    pub kind: RightKind,
    /// Largest loan-to-value, 0 to 1 (上限).
    pub max_loan_to_value: f64,
}

/// The district's mortgage policy (抵押政策): data an ADMIN edits, applied by every eligibility
/// report, named by its version.
#[derive(SimpleObject, async_graphql::InputObject)]
#[graphql(input_name = "MortgagePolicyInput")]
pub struct MortgagePolicy {
    /// Version (规则版本), unique: a new policy is a new version.
    pub version: String,
    /// Kinds of right the district allows as collateral (允许抵押的权利类型).
    pub mortgageable: Vec<RightKind>,
    /// Loan-to-value ceilings by kind (抵押率上限).
    pub ltv_ceilings: Vec<LtvCeiling>,
    /// Kinds whose mortgage needs the collective's written consent (需集体同意).
    pub collective_consent: Vec<RightKind>,
    /// Smallest appraised value accepted, fen (最低评估价值, 分).
    pub min_appraisal_fen: Long,
    /// Days an appraisal stays current when it names no expiry (评估有效天数).
    pub appraisal_valid_days: i32,
    /// Borrowers' ages (年龄限制).
    pub age: AgeLimits,
}

impl From<crate::domain::eligibility::Policy> for MortgagePolicy {
    fn from(p: crate::domain::eligibility::Policy) -> Self {
        Self {
            version: p.version,
            mortgageable: p.mortgageable,
            ltv_ceilings: p
                .ltv_ceiling_bp
                .into_iter()
                .map(|(kind, bp)| LtvCeiling {
                    kind,
                    max_loan_to_value: f64::from(bp) / 10_000.0,
                })
                .collect(),
            collective_consent: p.collective_consent,
            min_appraisal_fen: Long(p.min_appraisal_fen),
            appraisal_valid_days: p.appraisal_valid_days as i32,
            age: AgeLimits {
                min: p.age.min as i32,
                male_max: p.age.male_max as i32,
                female_max: p.age.female_max as i32,
            },
        }
    }
}

impl MortgagePolicy {
    fn into_domain(self) -> Result<crate::domain::eligibility::Policy, AppError> {
        let whole = |v: i32, what: &str| {
            u32::try_from(v)
                .map_err(|_| AppError::bad_input(format!("`{what}` must not be negative")))
        };
        let mut ceilings = std::collections::BTreeMap::new();
        for c in self.ltv_ceilings {
            if !(c.max_loan_to_value.is_finite()
                && c.max_loan_to_value > 0.0
                && c.max_loan_to_value <= 1.0)
            {
                return Err(AppError::bad_input(format!(
                    "the loan-to-value ceiling for {} must be more than 0 and at most 1",
                    c.kind
                )));
            }
            ceilings.insert(c.kind, (c.max_loan_to_value * 10_000.0).round() as u32);
        }
        let policy = crate::domain::eligibility::Policy {
            version: self.version.trim().to_owned(),
            mortgageable: self.mortgageable,
            ltv_ceiling_bp: ceilings,
            collective_consent: self.collective_consent,
            min_appraisal_fen: self.min_appraisal_fen.0,
            appraisal_valid_days: whole(self.appraisal_valid_days, "appraisalValidDays")?,
            age: crate::domain::eligibility::AgeLimits {
                min: whole(self.age.min, "age.min")?,
                male_max: whole(self.age.male_max, "age.maleMax")?,
                female_max: whole(self.age.female_max, "age.femaleMax")?,
            },
        };
        policy
            .validate()
            .map_err(|e| AppError::bad_input(e.to_string()))?;
        Ok(policy)
    }
}

/// A household whose registered house would pass (见房即授信 candidate).
#[derive(SimpleObject)]
pub struct PreCreditCandidate {
    /// The household (农户); personal fields follow the access rules.
    household: Party,
    /// The right that would secure the credit (权利).
    right: PropertyRight,
    /// The indicative credit line, fen: the most the product would lend on it (预授信额度, 分).
    indicative_credit_fen: Long,
}

#[derive(Default)]
pub struct CreditMutation;

#[Object]
impl CreditMutation {
    /// Puts a new version of the district's mortgage policy in force (修订抵押政策), as ADMIN;
    /// audited. Reports computed from then on name the new version.
    async fn set_mortgage_policy(
        &self,
        ctx: &Context<'_>,
        input: MortgagePolicy,
    ) -> Result<MortgagePolicy> {
        let actor = caller(ctx)
            .may_administer("the mortgage policy")
            .map_err(AppError::from)?;
        let policy = input.into_domain()?;
        let conn = db_conn(ctx)?;
        let txn = db::begin_write(conn).await?;
        let before = db::eligibility::current_policy(&txn).await?;
        if db::eligibility::policy_exists(&txn, &policy.version).await? {
            return Err(AppError::conflict(format!(
                "policy version {} exists; a change is a new version",
                policy.version
            ))
            .into());
        }
        db::eligibility::insert_policy(&txn, &policy).await?;
        super::mutation::record(
            ctx,
            &txn,
            actor,
            "set_policy",
            "mortgage_policy",
            0,
            (
                before.as_ref().and_then(super::mutation::json),
                super::mutation::json(&policy),
            ),
        )
        .await?;
        db::commit(txn).await?;
        Ok(policy.into())
    }
}

#[Object]
impl CampaignQuery {
    /// The district's mortgage policy in force (现行抵押政策).
    #[graphql(guard = "Details(\"the mortgage policy\")")]
    async fn mortgage_policy(&self, ctx: &Context<'_>) -> Result<Option<MortgagePolicy>> {
        Ok(db::eligibility::current_policy(db_conn(ctx)?)
            .await?
            .map(Into::into))
    }

    /// The "见房即授信" campaign list (预授信名单): the households of a township whose
    /// registered houses (rights of the product's kind) would pass every rule for the product,
    /// each with an indicative credit line. A bank asks for its own products only.
    async fn pre_credit_candidates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The product (贷款产品).")] product_id: ID,
        #[graphql(desc = "The township (乡镇).")] township_id: ID,
    ) -> Result<Vec<PreCreditCandidate>> {
        let product = product_for(ctx, &product_id).await?;
        let township = ids::decode_as(&township_id, Kind::Township)?;
        let conn = db_conn(ctx)?;
        let today = chrono::Local::now().date_naive();
        let rights = db::rights::rights_in_township(conn, township, &product.right_kind).await?;
        let mut out = Vec::new();
        for right in rights {
            let holders = db::rights::holders_of(conn, right.id).await?;
            let Some(head) = holders.first() else {
                continue;
            };
            let request = Request {
                amount_fen: product.min_amount_fen,
                term_months: product.min_term_months.max(1) as u32,
                rank: 1,
            };
            let Some(snapshot) = db::eligibility::snapshot(
                conn,
                right.id,
                product.id,
                head.party_id,
                request,
                today,
            )
            .await?
            else {
                continue;
            };
            let report = eligibility::evaluate(&snapshot);
            if let (Verdict::Pass, Some(max)) = (report.verdict, report.max_amount_fen) {
                let Some(party) = db::parties::by_ids(conn, &[head.party_id])
                    .await?
                    .remove(&head.party_id)
                else {
                    continue;
                };
                out.push(PreCreditCandidate {
                    household: Party(party),
                    right: PropertyRight(right),
                    indicative_credit_fen: Long(max),
                });
            }
        }
        Ok(out)
    }
}

/// The mortgage policy and the pre-credit campaign list.
#[derive(Default)]
pub struct CampaignQuery;
