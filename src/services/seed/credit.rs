//! The demo district's credit side, from `seeds/credit.json`: the mortgage policy, two partner
//! banks with one product per kind of right, rights on demo assets with their holders, source
//! documents and appraisals, expropriation zones and party-branch recommendations. Idempotent by
//! natural key like the rest of the demo.

use std::collections::HashMap;

use anyhow::Context as _;
use chrono::NaiveDate;
use sea_orm::ConnectionTrait;
use serde::Deserialize;

use super::{SeedReport, existing, party_ids};
use crate::db::credit::NewProduct;
use crate::db::rights::{NewAppraisal, NewDocument, NewRight};
use crate::db::{self, entities};
use crate::domain::eligibility::{AgeLimits, Policy};
use crate::domain::geometry::Area;
use crate::domain::rights::{
    self, AppraisalMethod, CreditModel, DocumentKind, RightKind, RightStatus,
};

const CREDIT: &str = include_str!("../../../seeds/credit.json");

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    policy: PolicyRow,
    banks: Vec<BankRow>,
    products: Vec<ProductRow>,
    zones: Vec<ZoneRow>,
    rights: Vec<RightRow>,
    recommendations: Vec<RecommendationRow>,
    applications: Vec<ApplicationRow>,
}

/// A demo loan, taken through the lifecycle step by step.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApplicationRow {
    key: String,
    right_code: String,
    product_code: String,
    borrower_key: String,
    amount_fen: i64,
    term_months: i32,
    decided_on: NaiveDate,
    registration_no: String,
    /// `approve`, `reject`, `register`, `disburse`, `repay:FEN`, `release`, `default`,
    /// `dispose:METHOD:PROCEEDS_FEN`.
    steps: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PolicyRow {
    version: String,
    mortgageable: Vec<String>,
    ltv_ceiling_bp: HashMap<String, u32>,
    collective_consent: Vec<String>,
    min_appraisal_fen: i64,
    appraisal_valid_days: u32,
    age: AgeRow,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AgeRow {
    min: u32,
    male_max: u32,
    female_max: u32,
}

#[derive(Deserialize)]
struct BankRow {
    code: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductRow {
    code: String,
    bank_code: String,
    name: String,
    right_kind: String,
    credit_model: String,
    max_ltv_bp: i32,
    min_term_months: i32,
    max_term_months: i32,
    min_amount_fen: i64,
    max_amount_fen: i64,
    min_rate_bp: i32,
    max_rate_bp: i32,
    needs_collective_consent: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ZoneRow {
    code: String,
    name: String,
    boundary: geojson::Geometry,
    announced_on: NaiveDate,
    authority: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HolderRow {
    party_key: String,
    share: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DocumentRow {
    kind: String,
    number: String,
    issuer: String,
    issued_on: NaiveDate,
    party_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AppraisalRow {
    method: String,
    appraiser: String,
    value_fen: i64,
    valued_on: NaiveDate,
    valid_until: Option<NaiveDate>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RightRow {
    code: String,
    kind: String,
    asset_code: Option<String>,
    certificate_no: Option<String>,
    certificate_kind: Option<String>,
    issued_on: Option<NaiveDate>,
    expires_on: Option<NaiveDate>,
    status: String,
    disputed: bool,
    seized: bool,
    holders: Vec<HolderRow>,
    documents: Vec<DocumentRow>,
    appraisals: Vec<AppraisalRow>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecommendationRow {
    party_key: String,
    village_code: String,
    grade: String,
    issuer: String,
    issued_on: NaiveDate,
}

fn kinds(codes: &[String]) -> anyhow::Result<Vec<RightKind>> {
    codes
        .iter()
        .map(|c| RightKind::parse(c).map_err(anyhow::Error::from))
        .collect()
}

/// Adds what of `seeds/credit.json` is missing.
pub(super) async fn load(
    conn: &impl ConnectionTrait,
    report: &mut SeedReport,
) -> anyhow::Result<()> {
    use entities::*;
    let file: File = serde_json::from_str(CREDIT).context("credit.json")?;
    let p = file.policy;
    if !db::eligibility::policy_exists(conn, &p.version).await? {
        let policy = Policy {
            version: p.version,
            mortgageable: kinds(&p.mortgageable)?,
            ltv_ceiling_bp: p
                .ltv_ceiling_bp
                .iter()
                .map(|(k, v)| Ok((RightKind::parse(k)?, *v)))
                .collect::<anyhow::Result<_>>()?,
            collective_consent: kinds(&p.collective_consent)?,
            min_appraisal_fen: p.min_appraisal_fen,
            appraisal_valid_days: p.appraisal_valid_days,
            age: AgeLimits {
                min: p.age.min,
                male_max: p.age.male_max,
                female_max: p.age.female_max,
            },
        };
        policy.validate().context("credit.json: policy")?;
        db::eligibility::insert_policy(conn, &policy).await?;
        report.policies += 1;
    }

    let mut banks = db::credit::bank_ids(conn).await?;
    for b in &file.banks {
        if !banks.contains_key(&b.code) {
            let id = db::credit::insert_bank(conn, &b.code, &b.name).await?;
            banks.insert(b.code.clone(), id);
            report.banks += 1;
        }
    }

    let known = existing::<loan_product::Entity>(conn, loan_product::Column::Code).await?;
    for row in &file.products {
        if known.contains(&row.code) {
            continue;
        }
        let context = || format!("credit.json: product {}", row.code);
        let bank_id = *banks
            .get(&row.bank_code)
            .with_context(|| format!("{}: unknown bank {}", context(), row.bank_code))?;
        if row.min_amount_fen > row.max_amount_fen
            || row.min_term_months > row.max_term_months
            || row.min_rate_bp > row.max_rate_bp
            || !(1..=10_000).contains(&row.max_ltv_bp)
        {
            anyhow::bail!(
                "{}: a range runs backwards or the LTV is not 1–10000 bp",
                context()
            );
        }
        db::credit::insert_product(
            conn,
            &NewProduct {
                bank_id,
                code: row.code.clone(),
                name: row.name.clone(),
                right_kind: RightKind::parse(&row.right_kind).with_context(context)?,
                credit_model: CreditModel::parse(&row.credit_model).with_context(context)?,
                max_ltv_bp: row.max_ltv_bp,
                term_months: (row.min_term_months, row.max_term_months),
                amount_fen: (row.min_amount_fen, row.max_amount_fen),
                rate_bp: (row.min_rate_bp, row.max_rate_bp),
                needs_collective_consent: row.needs_collective_consent,
            },
        )
        .await?;
        report.products += 1;
    }

    let known =
        existing::<expropriation_zone::Entity>(conn, expropriation_zone::Column::Code).await?;
    for z in &file.zones {
        if known.contains(&z.code) {
            continue;
        }
        let area = Area::from_geojson(&z.boundary)
            .with_context(|| format!("credit.json: zone {}", z.code))?;
        db::rights::insert_zone(conn, &z.code, &z.name, &area, z.announced_on, &z.authority)
            .await?;
        report.zones += 1;
    }

    let parties = party_ids(conn).await?;
    let party = |key: &str, context: &str| {
        parties
            .get(key)
            .copied()
            .with_context(|| format!("{context}: unknown party {key}"))
    };
    let known = existing::<property_right::Entity>(conn, property_right::Column::Code).await?;
    for row in &file.rights {
        if known.contains(&row.code) {
            continue;
        }
        let context = format!("credit.json: right {}", row.code);
        let asset_id = match &row.asset_code {
            Some(code) => Some(
                db::assets::by_code(conn, code)
                    .await?
                    .with_context(|| format!("{context}: unknown asset {code}"))?
                    .id,
            ),
            None => None,
        };
        let holders = row
            .holders
            .iter()
            .map(|h| Ok((party(&h.party_key, &context)?, h.share)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        rights::check_term(row.issued_on, row.expires_on).with_context(|| context.clone())?;
        let id = db::rights::insert_right(
            conn,
            &NewRight {
                code: row.code.clone(),
                kind: RightKind::parse(&row.kind).with_context(|| context.clone())?,
                asset_id,
                holding_id: None,
                certificate_no: row.certificate_no.clone(),
                certificate_kind: row.certificate_kind.clone(),
                issued_on: row.issued_on,
                expires_on: row.expires_on,
                status: RightStatus::parse(&row.status).with_context(|| context.clone())?,
                disputed: row.disputed,
                seized: row.seized,
                holders: rights::holder_shares(&holders).with_context(|| context.clone())?,
            },
        )
        .await?;
        for d in &row.documents {
            let party_id = d
                .party_key
                .as_deref()
                .map(|k| party(k, &context))
                .transpose()?;
            db::rights::insert_document(
                conn,
                id,
                &NewDocument {
                    kind: DocumentKind::parse(&d.kind).with_context(|| context.clone())?,
                    number: d.number.clone(),
                    issuer: d.issuer.clone(),
                    issued_on: d.issued_on,
                    party_id,
                },
            )
            .await?;
        }
        for a in &row.appraisals {
            rights::check_appraisal(a.value_fen, a.valued_on, a.valid_until)
                .with_context(|| context.clone())?;
            db::rights::insert_appraisal(
                conn,
                id,
                &NewAppraisal {
                    method: AppraisalMethod::parse(&a.method).with_context(|| context.clone())?,
                    appraiser: a.appraiser.clone(),
                    value_fen: a.value_fen,
                    valued_on: a.valued_on,
                    valid_until: a.valid_until,
                },
            )
            .await?;
        }
        report.rights += 1;
    }

    // Recommendations have no natural key of their own: they are loaded with the rights, once.
    if report.rights > 0 {
        let villages: HashMap<String, i64> = db::places::all_villages(conn)
            .await?
            .into_iter()
            .map(|v| (v.code, v.id))
            .collect();
        for r in &file.recommendations {
            let context = format!("credit.json: recommendation of {}", r.party_key);
            let village = *villages
                .get(&r.village_code)
                .with_context(|| format!("{context}: unknown village {}", r.village_code))?;
            let grade = rights::CreditGrade::parse(&r.grade).with_context(|| context.clone())?;
            db::credit::insert_recommendation(
                conn,
                party(&r.party_key, &context)?,
                village,
                grade.as_str(),
                &r.issuer,
                r.issued_on,
            )
            .await?;
            report.recommendations += 1;
        }
    }
    applications(conn, &file.applications, &parties, report).await
}

/// Takes each demo loan through its steps with the lifecycle code the API uses, as the seed.
async fn applications(
    conn: &impl ConnectionTrait,
    rows: &[ApplicationRow],
    parties: &HashMap<String, i64>,
    report: &mut SeedReport,
) -> anyhow::Result<()> {
    use crate::db::loans::{NewApplication, NewEvent};
    use crate::domain::loans::{DisposalMethod, LoanAction};
    use crate::services::loans::{self, Step};
    let known = existing::<entities::loan_application::Entity>(
        conn,
        entities::loan_application::Column::Code,
    )
    .await?;
    let seed = db::audit::Actor {
        label: "seed".into(),
        role: "SYSTEM".into(),
    };
    let products = db::credit::products(conn).await?;
    for row in rows {
        if known.contains(&row.key) {
            continue;
        }
        let context = format!("credit.json: application {}", row.key);
        let right = db::rights::right_by_code(conn, &row.right_code)
            .await?
            .with_context(|| format!("{context}: unknown right {}", row.right_code))?;
        let product = products
            .iter()
            .find(|p| p.code == row.product_code)
            .with_context(|| format!("{context}: unknown product {}", row.product_code))?;
        let borrower = *parties
            .get(&row.borrower_key)
            .with_context(|| format!("{context}: unknown party {}", row.borrower_key))?;
        let mut day = row.decided_on;
        let step = |on: NaiveDate| Step {
            actor: &seed,
            request_id: None,
            on,
        };
        let new = NewApplication {
            code: row.key.clone(),
            bank_id: product.bank_id,
            product_id: product.id,
            right_id: right.id,
            borrower_id: borrower,
            recommendation_id: None,
            amount_fen: row.amount_fen,
            term_months: row.term_months,
            rank: 1,
            submitted_by: "seed".into(),
        };
        let mut app = loans::submit(conn, &step(day), &new)
            .await
            .with_context(|| context.clone())?;
        let mut repaid = 0;
        for s in &row.steps {
            let mut parts = s.split(':');
            let verb = parts.next().unwrap_or_default();
            let number = |p: Option<&str>| -> anyhow::Result<i64> {
                p.and_then(|v| v.parse().ok())
                    .with_context(|| format!("{context}: step {s} needs an amount"))
            };
            let event =
                |kind: &'static str, amount: Option<i64>, method: Option<&'static str>| NewEvent {
                    kind,
                    amount_fen: amount,
                    occurred_on: day,
                    method,
                    note: None,
                };
            let version = app.version;
            app = match verb {
                "approve" | "reject" => {
                    loans::decide(conn, &step(day), &app, version, verb == "approve")
                        .await
                        .with_context(|| format!("{context}: {s}"))?
                        .0
                }
                "register" => {
                    loans::register(conn, &step(day), &app, version, &row.registration_no)
                        .await
                        .with_context(|| format!("{context}: {s}"))?
                }
                other => {
                    let (action, e) = match other {
                        "disburse" => (
                            LoanAction::Disburse,
                            event("DISBURSEMENT", Some(app.amount_fen), None),
                        ),
                        "repay" => {
                            let amount = number(parts.next())?;
                            repaid += amount;
                            (
                                LoanAction::Repay {
                                    settles: repaid >= app.amount_fen,
                                },
                                event("REPAYMENT", Some(amount), None),
                            )
                        }
                        "release" => (LoanAction::Release, event("RELEASE", None, None)),
                        "default" => (LoanAction::Default, event("DEFAULT", None, None)),
                        "dispose" => {
                            let method = DisposalMethod::parse(parts.next().unwrap_or_default())
                                .with_context(|| format!("{context}: {s}"))?;
                            let proceeds = number(parts.next())?;
                            (
                                LoanAction::Dispose(method),
                                event("DISPOSAL", Some(proceeds), Some(method.as_str())),
                            )
                        }
                        _ => anyhow::bail!("{context}: unknown step {s}"),
                    };
                    loans::step(conn, &step(day), &app, version, action, &e)
                        .await
                        .with_context(|| format!("{context}: {s}"))?
                        .0
                }
            };
            day = day.succ_opt().unwrap_or(day);
        }
        report.applications += 1;
    }
    Ok(())
}
