//! The demo district's "three changes" (三变), from `seeds/shares.json`: four organisations
//! (白家村 behind 七星山庄, 刘家's fruit-lotus cooperative behind 苏山水果莲基地, 水口村 behind the
//! tea workshop, and 田心村 with its class weights), each with its members, classes, the holdings
//! issued on reform, the idle houses contributed and the years' distributions. Every record goes
//! through `services::shares`, so the demo obeys the rules a cadre's writes do. An organisation
//! whose credit code is registered as one already is left as it is.

use anyhow::Context as _;
use chrono::NaiveDate;
use sea_orm::ConnectionTrait;
use serde::Deserialize;

use super::{SeedReport, actor, party_ids};
use crate::db;
use crate::domain::shares::{
    CollectiveKind, ContributionDraft, ContributionKind, DividendSplit, Holder, HoldingPolicyKind,
    MemberDraft, MembershipBasis, NewHolding, OrganizationDraft, PayoutMethod, ShareChangeKind,
    ShareClassDraft, ShareClassKind, Shares,
};
use crate::services::places::Author;
use crate::services::shares::{self, ChangeRequest, ContributionRequest, Declaration, Opening};

const SHARES: &str = include_str!("../../../seeds/shares.json");

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrganizationRow {
    credit_code: String,
    name: String,
    village_code: String,
    kind: String,
    registered_on: NaiveDate,
    reform_completed_on: Option<NaiveDate>,
    holding_policy: String,
    adjust_every_years: Option<i32>,
    reserve_bp: i32,
    dividend_split: String,
    classes: Vec<ClassRow>,
    members: Vec<MemberRow>,
    issue: IssueRow,
    contributions: Vec<ContributionRow>,
    distributions: Vec<DistributionRow>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClassRow {
    kind: String,
    name: String,
    issued: String,
    weight_bp: Option<i32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MemberRow {
    key: String,
    basis: String,
    joined_on: NaiveDate,
    document: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IssueRow {
    on: NaiveDate,
    document: Option<String>,
    holdings: Vec<HoldingRow>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HoldingRow {
    /// The holder's household number; none for collective shares.
    holder_key: Option<String>,
    share_class: String,
    shares: String,
    certificate_no: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContributionRow {
    kind: String,
    contributor_key: String,
    /// The EQUITY_CONTRIBUTION revitalization it comes from, by contract number.
    contract_no: Option<String>,
    /// The asset, when there is no such revitalization.
    asset_code: Option<String>,
    appraised_value_fen: i64,
    contributed_on: NaiveDate,
    share_class: String,
    shares: String,
    certificate_no: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DistributionRow {
    year: i32,
    distributable_fen: i64,
    declared_on: NaiveDate,
    document: Option<String>,
    paid_on: Option<NaiveDate>,
    method: Option<String>,
}

/// Adds the organisations of `seeds/shares.json` not registered yet.
pub(super) async fn load(
    conn: &impl ConnectionTrait,
    today: NaiveDate,
    report: &mut SeedReport,
) -> anyhow::Result<()> {
    let rows: Vec<OrganizationRow> = serde_json::from_str(SHARES).context("shares.json")?;
    let author = Author {
        actor: actor(),
        request_id: None,
    };
    for row in rows {
        if db::shares::organization_by_credit_code(conn, &row.credit_code)
            .await?
            .is_some()
        {
            continue;
        }
        let context = format!("shares.json: {}", row.name);
        organization(conn, &author, today, row, report)
            .await
            .context(context)?;
    }
    Ok(())
}

async fn organization(
    conn: &impl ConnectionTrait,
    author: &Author,
    today: NaiveDate,
    row: OrganizationRow,
    report: &mut SeedReport,
) -> anyhow::Result<()> {
    let village = db::places::village_by_code(conn, &row.village_code)
        .await?
        .with_context(|| format!("no village {}", row.village_code))?;
    let new = OrganizationDraft {
        name: row.name,
        credit_code: row.credit_code,
        kind: CollectiveKind::parse(&row.kind)?,
        registered_on: row.registered_on,
        reform_completed_on: row.reform_completed_on,
        holding_policy: HoldingPolicyKind::parse(&row.holding_policy)?,
        adjust_every_years: row.adjust_every_years,
        reserve_bp: row.reserve_bp,
        dividend_split: DividendSplit::parse(&row.dividend_split)?,
    }
    .validate(today)?;
    let org = shares::create_organization(conn, author, &new, village.id).await?;
    report.organizations += 1;

    let mut classes = Vec::new();
    for c in row.classes {
        let new = ShareClassDraft {
            kind: ShareClassKind::parse(&c.kind)?,
            name: c.name,
            issued: c.issued,
            weight_bp: c.weight_bp,
        }
        .validate()?;
        classes.push(shares::define_class(conn, author, &org, &new).await?);
        report.share_classes += 1;
    }
    let class_id = |name: &str| {
        classes
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.id)
            .with_context(|| format!("no class {name}"))
    };

    let parties = party_ids(conn).await?;
    let party = |key: &str| {
        parties
            .get(key)
            .copied()
            .with_context(|| format!("no party {key}"))
    };
    for m in row.members {
        let new = MemberDraft {
            basis: MembershipBasis::parse(&m.basis)?,
            joined_on: m.joined_on,
            document: m.document,
        }
        .validate(today)?;
        shares::record_member(conn, author, &org, party(&m.key)?, &new).await?;
        report.members += 1;
    }

    let opens = row
        .issue
        .holdings
        .iter()
        .map(|h| {
            Ok(Opening {
                holding: NewHolding {
                    holder: match &h.holder_key {
                        Some(k) => Holder::Member(party(k)?),
                        None => Holder::Organisation,
                    },
                    class: class_id(&h.share_class)?,
                    shares: Shares::parse(&h.shares)?,
                },
                certificate_no: h.certificate_no.clone(),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    report.holdings += opens.len();
    let issue = ChangeRequest {
        kind: ShareChangeKind::Issue,
        date: row.issue.on,
        closes: Vec::new(),
        opens,
        contributor: None,
        leavers: Vec::new(),
        reason: None,
        document: row.issue.document,
    };
    shares::record_change(conn, author, &org, issue).await?;

    for c in row.contributions {
        let revitalization = match &c.contract_no {
            Some(no) => Some(
                db::revitalization::by_contract_no(conn, no)
                    .await?
                    .with_context(|| format!("no revitalization {no}"))?
                    .id,
            ),
            None => None,
        };
        let asset = match &c.asset_code {
            Some(code) => Some(
                db::assets::by_codes(conn, &[code.as_str()])
                    .await?
                    .remove(code)
                    .with_context(|| format!("no asset {code}"))?
                    .id,
            ),
            None => None,
        };
        let facts = ContributionDraft {
            kind: ContributionKind::parse(&c.kind)?,
            has_revitalization: revitalization.is_some(),
            has_asset: asset.is_some(),
            has_right: false,
            fund_source: None,
            description: c.description,
            appraised_value_fen: c.appraised_value_fen,
            contributed_on: c.contributed_on,
        }
        .validate(today)?;
        let request = ContributionRequest {
            facts,
            contributor: Holder::Member(party(&c.contributor_key)?),
            class_id: class_id(&c.share_class)?,
            shares: Shares::parse(&c.shares)?,
            certificate_no: c.certificate_no,
            asset_id: asset,
            revitalization_id: revitalization,
            right_id: None,
        };
        shares::record_contribution(conn, author, &org, request).await?;
        report.contributions += 1;
        report.holdings += 1;
    }

    for d in row.distributions {
        let declared = Declaration {
            year: d.year,
            distributable_fen: d.distributable_fen,
            declared_on: d.declared_on,
            record_date: None,
            document: d.document,
        };
        let dist = shares::declare_distribution(conn, author, &org, &declared, today).await?;
        report.distributions += 1;
        if let (Some(on), Some(method)) = (d.paid_on, d.method) {
            let method = PayoutMethod::parse(&method)?;
            shares::mark_paid(conn, author, &dist, &[], on, method, today).await?;
        }
    }
    Ok(())
}
