//! Mortgage eligibility (抵押资格): the report a bank decides on (each rule's outcome and the
//! records it read, never a person), the district's mortgage policy, and pre-credit candidates.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db;
use crate::domain::eligibility::{self, Request, RuleCode, Verdict};
use crate::domain::rights::RightKind;
use crate::error::AppError;
use crate::graphql::common::context::{Details, caller, db_conn};
use crate::graphql::common::ids;
use crate::graphql::common::ids::Kind;
use crate::graphql::common::nodes::{Party, PropertyRight};
use crate::graphql::common::scalars::Long;
use crate::graphql::credit::product_for;

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

/// Mortgage eligibility (抵押资格), the policy it applies, and pre-credit candidates.
#[derive(Default)]
pub struct EligibilityQuery;

#[Object]
impl EligibilityQuery {
    /// Whether a right can secure a loan of a product (抵押贷款准入): one entry per rule with
    /// the records it rested on, the verdict, the largest amount that would pass, the rule-set
    /// version and a digest of the records used. Computed fresh on every call; it names records
    /// by id and no person.
    #[expect(
        clippy::too_many_arguments,
        reason = "each parameter is a GraphQL argument of the field"
    )]
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

/// The district's mortgage policy (抵押政策).
#[derive(Default)]
pub struct EligibilityMutation;

#[Object]
impl EligibilityMutation {
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
        crate::graphql::common::context::record(
            ctx,
            &txn,
            actor,
            "set_policy",
            "mortgage_policy",
            0,
            (
                before
                    .as_ref()
                    .and_then(crate::graphql::common::context::json),
                crate::graphql::common::context::json(&policy),
            ),
        )
        .await?;
        db::commit(txn).await?;
        Ok(policy.into())
    }
}
