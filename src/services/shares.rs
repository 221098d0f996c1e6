//! The shareholding register's write paths (三变): each runs inside the caller's write
//! transaction, checks through `domain::shares`, writes through `db::shares` and records its
//! audit event. The one implementation behind the GraphQL mutations, the CSV import and the demo
//! seeds. Who may write is the caller's business (`domain::access`).

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use sea_orm::ConnectionTrait;
use serde_json::json;

use super::places::Author;
use crate::db::entities::{
    collective_member, collective_organization, distribution, share_change, share_class,
    share_contribution, share_holding,
};
use crate::db::shares::{ContributionRow, DistributionRow, NewChange, NewHoldingRow};
use crate::db::{self, StoreError, Versioned, audit::snapshot};
use crate::domain::parties::{NewParty, PartyKind};
use crate::domain::revitalization::RevitalizationMode;
use crate::domain::shares::{
    self, ClassSplit, CollectiveKind, DistributionHolding, DividendSplit, Holder, HoldingPolicy,
    Membership, NewContribution, NewHolding, NewMember, NewOrganization, NewShareClass,
    RecordError, Register, ShareChange, ShareChangeKind, ShareClassKind, Shares, SharesError,
};
use crate::error::ErrorCode;

/// Why a write to the register was refused.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    /// A rule of the register (`domain::shares`).
    #[error(transparent)]
    Rule(#[from] SharesError),
    /// A record that does not check.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// Input that refers to nothing, or to the wrong thing.
    #[error("{0}")]
    Refused(String),
    /// A record this would duplicate, or one changed meanwhile.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error("the store failed")]
    Store(StoreError),
}

impl ShareError {
    /// The client's code for a refusal; `None` when the store failed (an internal error).
    pub fn code(&self) -> Option<ErrorCode> {
        use SharesError as E;
        Some(match self {
            Self::Rule(
                E::ChangeBeforeLastChange { .. }
                | E::HoldingNotOpen { .. }
                | E::ClassOverIssued { .. }
                | E::LeaverKeepsHoldings { .. },
            )
            | Self::Conflict(_) => ErrorCode::Conflict,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Store(_) => return None,
            Self::Rule(_) | Self::Record(_) | Self::Refused(_) => ErrorCode::BadInput,
        })
    }
}

impl From<StoreError> for ShareError {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}

type Result<T, E = ShareError> = std::result::Result<T, E>;

fn corrupt(what: &str) -> ShareError {
    ShareError::Store(StoreError(std::sync::Arc::new(sea_orm::DbErr::Custom(
        format!("a stored {what} does not read back"),
    ))))
}

/// The holding policy an organisation row stores.
pub fn policy_of(org: &collective_organization::Model) -> Result<HoldingPolicy> {
    HoldingPolicy::from_stored(&org.holding_policy, org.adjust_every_years)
        .map_err(|_| corrupt("holding policy"))
}

/// The kind an organisation row stores.
pub fn kind_of(org: &collective_organization::Model) -> Result<CollectiveKind> {
    CollectiveKind::parse(&org.kind).map_err(|_| corrupt("organisation kind"))
}

/// The holder a holding row names.
pub fn holder_of(h: &share_holding::Model) -> Holder {
    h.holder_party_id
        .map_or(Holder::Organisation, Holder::Member)
}

// ---------------------------------------------------------------------------------------------
// Organisations

/// Creates an organisation in `village_id`. Its party is the party with its credit code when one
/// exists (so the rights, revitalizations and loans pointing at it keep working), else a new one.
pub async fn create_organization(
    txn: &impl ConnectionTrait,
    author: &Author,
    new: &NewOrganization,
    village_id: i64,
) -> Result<collective_organization::Model> {
    if new.kind.is_village_collective()
        && let Some(existing) = db::shares::village_collectives(txn, &[village_id])
            .await?
            .remove(&village_id)
    {
        return Err(ShareError::Conflict(format!(
            "the village already has its collective economic organisation (organisation {}); \
             a village has one",
            existing.id
        )));
    }
    let party_kind = new.kind.party_kind();
    let as_party = NewParty {
        kind: party_kind,
        name: new.name.clone(),
        household_no: None,
        credit_code: Some(new.credit_code.as_str().to_owned()),
        id_number: None,
        phone: None,
    };
    let existing = db::parties::by_keys(txn, &[new.credit_code.as_str()])
        .await?
        .into_iter()
        .find(|p| p.credit_code.as_deref() == Some(new.credit_code.as_str()));
    let party = match existing {
        Some(p) => {
            if db::shares::organizations_of_parties(txn, &[p.id])
                .await?
                .contains_key(&p.id)
            {
                return Err(ShareError::Conflict(format!(
                    "an organisation with credit code {} exists",
                    new.credit_code.as_str()
                )));
            }
            if p.kind != party_kind.as_str() {
                return Err(ShareError::Conflict(format!(
                    "credit code {} belongs to a party registered as {}, not {}",
                    new.credit_code.as_str(),
                    p.kind,
                    party_kind
                )));
            }
            if p.village_id.is_some_and(|v| v != village_id) {
                return Err(ShareError::Refused(format!(
                    "credit code {} belongs to a party of another village",
                    new.credit_code.as_str()
                )));
            }
            match db::parties::update(txn, p.id, p.version, &as_party, Some(village_id)).await? {
                Versioned::Updated(row) => (row, Some(p)),
                _ => {
                    return Err(ShareError::Conflict(
                        "the party was changed meanwhile".into(),
                    ));
                }
            }
        }
        None => (
            db::parties::insert(txn, &as_party, Some(village_id)).await?,
            None,
        ),
    };
    let (party, party_before) = party;
    author
        .record(
            txn,
            "createCollectiveOrganization",
            "party",
            party.id,
            party_before.as_ref().and_then(snapshot),
            snapshot(&party),
        )
        .await?;
    let row = db::shares::insert_organization(txn, new, party.id, village_id).await?;
    author
        .record(
            txn,
            "createCollectiveOrganization",
            "collective_organization",
            row.id,
            None,
            snapshot(&json!({ "organization": row, "party": party })),
        )
        .await?;
    Ok(row)
}

/// Changes an organisation and its party's name, if it is still at `version`.
pub async fn update_organization(
    txn: &impl ConnectionTrait,
    author: &Author,
    before: &collective_organization::Model,
    version: i32,
    new: &NewOrganization,
) -> Result<collective_organization::Model> {
    if new.kind.is_village_collective()
        && let Some(other) = db::shares::village_collectives(txn, &[before.village_id])
            .await?
            .remove(&before.village_id)
        && other.id != before.id
    {
        return Err(ShareError::Conflict(format!(
            "the village already has its collective economic organisation (organisation {})",
            other.id
        )));
    }
    let party = db::parties::by_ids(txn, &[before.party_id])
        .await?
        .remove(&before.party_id)
        .ok_or_else(|| corrupt("organisation's party"))?;
    if party.credit_code.as_deref() != Some(new.credit_code.as_str())
        && db::parties::by_keys(txn, &[new.credit_code.as_str()])
            .await?
            .iter()
            .any(|p| p.id != party.id)
    {
        return Err(ShareError::Conflict(format!(
            "another party has credit code {}",
            new.credit_code.as_str()
        )));
    }
    let after =
        match db::shares::update_organization(txn, before.id, version, new, before.village_id)
            .await?
        {
            Versioned::Updated(row) => row,
            Versioned::Missing => {
                return Err(ShareError::NotFound("no organisation has this ID".into()));
            }
            Versioned::Stale { current } => return Err(stale("organisation", version, current)),
        };
    let as_party = NewParty {
        kind: new.kind.party_kind(),
        name: new.name.clone(),
        household_no: None,
        credit_code: Some(new.credit_code.as_str().to_owned()),
        id_number: None,
        phone: None,
    };
    let party_after =
        match db::parties::update(txn, party.id, party.version, &as_party, party.village_id).await?
        {
            Versioned::Updated(row) => row,
            _ => {
                return Err(ShareError::Conflict(
                    "the party was changed meanwhile".into(),
                ));
            }
        };
    author
        .record(
            txn,
            "updateCollectiveOrganization",
            "party",
            party.id,
            snapshot(&party),
            snapshot(&party_after),
        )
        .await?;
    author
        .record(
            txn,
            "updateCollectiveOrganization",
            "collective_organization",
            after.id,
            snapshot(&json!({ "organization": before, "party": party })),
            snapshot(&json!({ "organization": after, "party": party_after })),
        )
        .await?;
    Ok(after)
}

fn stale(what: &str, sent: i32, current: i32) -> ShareError {
    ShareError::Conflict(format!(
        "the {what} was changed by someone else: you sent version {sent}, the current one is \
         {current}; reload it and apply your change again"
    ))
}

// ---------------------------------------------------------------------------------------------
// Members

/// Records a membership of `party_id`. A village collective's members are households of its
/// village; a party is a member once at a time.
pub async fn record_member(
    txn: &impl ConnectionTrait,
    author: &Author,
    org: &collective_organization::Model,
    party_id: i64,
    new: &NewMember,
) -> Result<collective_member::Model> {
    let party = db::parties::by_ids(txn, &[party_id])
        .await?
        .remove(&party_id)
        .ok_or_else(|| ShareError::Refused("`partyId` names no party".into()))?;
    if kind_of(org)?.is_village_collective() {
        if party.kind != PartyKind::Household.as_str() {
            return Err(ShareError::Refused(format!(
                "party {} is a {}; members of a village collective are households",
                party.id, party.kind
            )));
        }
        if party.village_id != Some(org.village_id) {
            return Err(ShareError::Refused(format!(
                "party {} is not a household of the organisation's village",
                party.id
            )));
        }
    }
    if party.id == org.party_id {
        return Err(ShareError::Refused(
            "an organisation is not its own member".into(),
        ));
    }
    if new.joined_on < org.registered_on {
        return Err(ShareError::Refused(format!(
            "joinedOn {} is before the organisation was registered on {}",
            new.joined_on, org.registered_on
        )));
    }
    let overlapping = db::shares::memberships_of_parties(txn, &[party_id])
        .await?
        .remove(&party_id)
        .unwrap_or_default()
        .into_iter()
        .find(|m| m.organization_id == org.id && m.left_on.is_none_or(|l| l > new.joined_on));
    if let Some(m) = overlapping {
        return Err(ShareError::Conflict(format!(
            "party {} is already a member (membership {}, joined {})",
            party_id, m.id, m.joined_on
        )));
    }
    let row = db::shares::insert_member(txn, org.id, party_id, new).await?;
    author
        .record(
            txn,
            "recordMember",
            "collective_member",
            row.id,
            None,
            snapshot(&row),
        )
        .await?;
    Ok(row)
}

/// Ends a membership on `left_on`. A member who still holds shares leaves through a share change
/// that transfers or redeems them (`leavers`), never here.
pub async fn end_member(
    txn: &impl ConnectionTrait,
    author: &Author,
    member: &collective_member::Model,
    version: i32,
    left_on: NaiveDate,
    reason: Option<String>,
) -> Result<collective_member::Model> {
    if member.left_on.is_some() {
        return Err(ShareError::Conflict(format!(
            "membership {} already ended on {}",
            member.id,
            member.left_on.unwrap_or(left_on)
        )));
    }
    if left_on <= member.joined_on {
        return Err(ShareError::Refused(format!(
            "leftOn {left_on} is not after the member joined on {}",
            member.joined_on
        )));
    }
    db::shares::lock_register(txn, member.organization_id).await?;
    let held = db::shares::holdings_of(txn, member.organization_id)
        .await?
        .into_iter()
        .find(|h| {
            h.holder_party_id == Some(member.party_id) && h.valid_to.is_none_or(|to| to > left_on)
        });
    if let Some(h) = held {
        return Err(SharesError::LeaverKeepsHoldings {
            party: member.party_id,
            holding: h.id,
        }
        .into());
    }
    let after = match db::shares::end_member(txn, member.id, Some(version), left_on, reason).await?
    {
        Versioned::Updated(row) => row,
        Versioned::Missing => return Err(ShareError::NotFound("no member has this ID".into())),
        Versioned::Stale { current } => return Err(stale("membership", version, current)),
    };
    author
        .record(
            txn,
            "endMembership",
            "collective_member",
            after.id,
            snapshot(member),
            snapshot(&after),
        )
        .await?;
    Ok(after)
}

// ---------------------------------------------------------------------------------------------
// Share classes

pub async fn define_class(
    txn: &impl ConnectionTrait,
    author: &Author,
    org: &collective_organization::Model,
    new: &NewShareClass,
) -> Result<share_class::Model> {
    let classes = db::shares::classes_of(txn, &[org.id])
        .await?
        .remove(&org.id)
        .unwrap_or_default();
    if classes.iter().any(|c| c.name == new.name) {
        return Err(ShareError::Conflict(format!(
            "the organisation already has a share class named {}",
            new.name
        )));
    }
    let row = db::shares::insert_class(txn, org.id, new).await?;
    author
        .record(
            txn,
            "defineShareClass",
            "share_class",
            row.id,
            None,
            snapshot(&row),
        )
        .await?;
    Ok(row)
}

// ---------------------------------------------------------------------------------------------
// Changes of holdings

/// A holding a change opens, with its certificate number (股权证号).
#[derive(Debug, Clone)]
pub struct Opening {
    pub holding: NewHolding,
    pub certificate_no: Option<String>,
}

/// A change of holdings as the API and the import submit it.
#[derive(Debug, Clone)]
pub struct ChangeRequest {
    pub kind: ShareChangeKind,
    pub date: NaiveDate,
    pub closes: Vec<i64>,
    pub opens: Vec<Opening>,
    pub contributor: Option<Holder>,
    pub leavers: Vec<i64>,
    pub reason: Option<String>,
    pub document: Option<String>,
}

/// What a change wrote.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub change: share_change::Model,
    pub opened: Vec<share_holding::Model>,
    pub closed: Vec<i64>,
}

/// The register of an organisation as the rules read it, with the register locked.
struct Loaded {
    classes: Vec<share_class::Model>,
    holdings: Vec<share_holding::Model>,
    members: Vec<collective_member::Model>,
}

async fn load_register(txn: &impl ConnectionTrait, org_id: i64) -> Result<Loaded> {
    db::shares::lock_register(txn, org_id).await?;
    Ok(Loaded {
        classes: db::shares::classes_of(txn, &[org_id])
            .await?
            .remove(&org_id)
            .unwrap_or_default(),
        holdings: db::shares::holdings_of(txn, org_id).await?,
        members: db::shares::members_of(txn, org_id).await?,
    })
}

fn class_kind(c: &share_class::Model) -> Result<ShareClassKind> {
    ShareClassKind::parse(&c.kind).map_err(|_| corrupt("share class kind"))
}

/// Checks and writes a change of holdings (股权变更): the one way holdings change.
pub async fn record_change(
    txn: &impl ConnectionTrait,
    author: &Author,
    org: &collective_organization::Model,
    request: ChangeRequest,
) -> Result<Recorded> {
    let loaded = load_register(txn, org.id).await?;
    write_change(txn, author, org, &loaded, request).await
}

/// A holding pledged to a bank (股权质押: its right has an active mortgage) stays as it is until
/// the pledge is released.
async fn refuse_pledged(txn: &impl ConnectionTrait, closes: &[i64]) -> Result<()> {
    if closes.is_empty() {
        return Ok(());
    }
    for (holding, right) in db::rights::rights_on_holdings(txn, closes).await? {
        if let Some(m) = db::eligibility::active_mortgages_on(txn, right.id)
            .await?
            .first()
        {
            return Err(ShareError::Conflict(format!(
                "holding {holding} is pledged (right {}, mortgage {}); the pledge is released before the holding changes",
                right.code, m.id
            )));
        }
    }
    Ok(())
}

async fn write_change(
    txn: &impl ConnectionTrait,
    author: &Author,
    org: &collective_organization::Model,
    loaded: &Loaded,
    request: ChangeRequest,
) -> Result<Recorded> {
    refuse_pledged(txn, &request.closes).await?;
    let classes = loaded
        .classes
        .iter()
        .map(|c| {
            Ok(shares::ShareClass {
                id: c.id,
                kind: class_kind(c)?,
                issued: Shares::from_hundredths(c.issued_hundredths),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let holdings: Vec<shares::Holding> = loaded
        .holdings
        .iter()
        .map(|h| shares::Holding {
            id: h.id,
            holder: holder_of(h),
            class: h.class_id,
            shares: Shares::from_hundredths(h.shares_hundredths),
            valid_from: h.valid_from,
            valid_to: h.valid_to,
        })
        .collect();
    let memberships: Vec<Membership> = loaded
        .members
        .iter()
        .map(|m| Membership {
            party: m.party_id,
            joined: m.joined_on,
            left: m.left_on,
        })
        .collect();
    for leaver in &request.leavers {
        if !memberships
            .iter()
            .any(|m| m.party == *leaver && m.left.is_none())
        {
            return Err(ShareError::Refused(format!(
                "party {leaver} leaves in this change but is not a current member"
            )));
        }
    }
    let register = Register {
        policy: policy_of(org)?,
        classes: &classes,
        holdings: &holdings,
        memberships: &memberships,
    };
    let checked = shares::check_change(
        &register,
        ShareChange {
            kind: request.kind,
            date: request.date,
            closes: request.closes.clone(),
            opens: request.opens.iter().map(|o| o.holding).collect(),
            contributor: request.contributor,
            leavers: request.leavers.clone(),
        },
    )?;
    let change = db::shares::insert_change(
        txn,
        &NewChange {
            organization_id: org.id,
            kind: request.kind,
            occurred_on: request.date,
            reason: request.reason.as_deref(),
            document: request.document.as_deref(),
            contributor: request.contributor,
            recorded_by: &author.actor.label,
        },
    )
    .await?;
    db::shares::close_holdings(txn, &checked.change.closes, request.date, change.id).await?;
    let mut opened = Vec::with_capacity(request.opens.len());
    for o in &request.opens {
        opened.push(
            db::shares::insert_holding(
                txn,
                &NewHoldingRow {
                    organization_id: org.id,
                    class_id: o.holding.class,
                    holder: o.holding.holder,
                    shares: o.holding.shares,
                    certificate_no: o.certificate_no.as_deref(),
                    valid_from: request.date,
                    opened_by: change.id,
                },
            )
            .await?,
        );
    }
    for leaver in &request.leavers {
        if let Some(m) = loaded
            .members
            .iter()
            .find(|m| m.party_id == *leaver && m.left_on.is_none())
        {
            let ended =
                db::shares::end_member(txn, m.id, None, request.date, request.reason.clone())
                    .await?;
            if let Versioned::Updated(after) = ended {
                author
                    .record(
                        txn,
                        "recordShareChange",
                        "collective_member",
                        m.id,
                        snapshot(m),
                        snapshot(&after),
                    )
                    .await?;
            }
        }
    }
    author
        .record(
            txn,
            "recordShareChange",
            "share_change",
            change.id,
            None,
            snapshot(&json!({
                "change": change,
                "closed": checked.change.closes,
                "opened": opened,
                "leavers": request.leavers,
            })),
        )
        .await?;
    Ok(Recorded {
        change,
        opened,
        closed: checked.change.closes,
    })
}

// ---------------------------------------------------------------------------------------------
// Contributions (入股)

/// A contribution as submitted, its parts resolved to ids.
#[derive(Debug, Clone)]
pub struct ContributionRequest {
    pub facts: NewContribution,
    pub contributor: Holder,
    pub class_id: i64,
    pub shares: Shares,
    pub certificate_no: Option<String>,
    pub asset_id: Option<i64>,
    pub revitalization_id: Option<i64>,
    pub right_id: Option<i64>,
}

/// Records a contribution: issues `shares` new shares of the class for it and opens the
/// contributor's holding, in one change of kind CONTRIBUTION.
pub async fn record_contribution(
    txn: &impl ConnectionTrait,
    author: &Author,
    org: &collective_organization::Model,
    request: ContributionRequest,
) -> Result<(share_contribution::Model, Recorded)> {
    let mut asset_id = request.asset_id;
    if let Some(rid) = request.revitalization_id {
        let r = db::revitalization::by_ids(txn, &[rid])
            .await?
            .remove(&rid)
            .ok_or_else(|| {
                ShareError::Refused("`revitalizationId` names no revitalization".into())
            })?;
        if r.mode != RevitalizationMode::EquityContribution.as_str() {
            return Err(ShareError::Refused(format!(
                "revitalization {rid} is {}; a contribution comes from an EQUITY_CONTRIBUTION",
                r.mode
            )));
        }
        if asset_id.is_some_and(|a| a != r.asset_id) {
            return Err(ShareError::Refused(format!(
                "revitalization {rid} is of another asset than `assetId`"
            )));
        }
        if r.counterparty_id.is_some_and(|c| c != org.party_id) {
            return Err(ShareError::Refused(format!(
                "revitalization {rid} contributed the asset to another party, not this organisation"
            )));
        }
        if db::shares::contributions_of_revitalizations(txn, &[rid])
            .await?
            .contains_key(&rid)
        {
            return Err(ShareError::Conflict(format!(
                "revitalization {rid} is already recorded as a contribution"
            )));
        }
        asset_id = Some(r.asset_id);
    }
    if let Some(a) = asset_id
        && db::assets::by_ids(txn, &[a]).await?.is_empty()
    {
        return Err(ShareError::Refused("`assetId` names no asset".into()));
    }
    if let Some(r) = request.right_id
        && db::rights::rights_by_ids(txn, &[r]).await?.is_empty()
    {
        return Err(ShareError::Refused(
            "`rightId` names no property right".into(),
        ));
    }
    let mut loaded = load_register(txn, org.id).await?;
    let class = loaded
        .classes
        .iter_mut()
        .find(|c| c.id == request.class_id)
        .ok_or(SharesError::UnknownClass {
            class: request.class_id,
        })?;
    let class_before = class.clone();
    let issued = Shares::from_hundredths(class.issued_hundredths)
        .checked_add(request.shares)
        .ok_or(SharesError::SharesOverflow)?;
    class.issued_hundredths = issued.hundredths();
    let recorded = write_change(
        txn,
        author,
        org,
        &loaded,
        ChangeRequest {
            kind: ShareChangeKind::Contribution,
            date: request.facts.contributed_on,
            closes: Vec::new(),
            opens: vec![Opening {
                holding: NewHolding {
                    holder: request.contributor,
                    class: request.class_id,
                    shares: request.shares,
                },
                certificate_no: request.certificate_no.clone(),
            }],
            contributor: Some(request.contributor),
            leavers: Vec::new(),
            reason: request.facts.description.clone(),
            document: None,
        },
    )
    .await?;
    let class_after = db::shares::set_issued(txn, request.class_id, issued).await?;
    author
        .record(
            txn,
            "recordContribution",
            "share_class",
            request.class_id,
            snapshot(&class_before),
            class_after.as_ref().and_then(snapshot),
        )
        .await?;
    let row = db::shares::insert_contribution(
        txn,
        &ContributionRow {
            organization_id: org.id,
            contributor: request.contributor,
            facts: &request.facts,
            asset_id,
            revitalization_id: request.revitalization_id,
            right_id: request.right_id,
            change_id: recorded.change.id,
            class_id: request.class_id,
            shares: request.shares,
        },
    )
    .await?;
    author
        .record(
            txn,
            "recordContribution",
            "share_contribution",
            row.id,
            None,
            snapshot(&row),
        )
        .await?;
    Ok((row, recorded))
}

// ---------------------------------------------------------------------------------------------
// Distributions (收益分配)

/// A distribution as declared.
#[derive(Debug, Clone)]
pub struct Declaration {
    pub year: i32,
    pub distributable_fen: i64,
    pub declared_on: NaiveDate,
    /// The day whose holdings are paid (股权登记日); the year's last day unless given.
    pub record_date: Option<NaiveDate>,
    pub document: Option<String>,
}

/// Declares a year's distribution: the reserve and the split are the organisation's settings;
/// every holding open on the record date gets its payout, computed here to the fen.
pub async fn declare_distribution(
    txn: &impl ConnectionTrait,
    author: &Author,
    org: &collective_organization::Model,
    d: &Declaration,
    today: NaiveDate,
) -> Result<distribution::Model> {
    if d.declared_on > today {
        return Err(RecordError::FutureDate {
            field: "declaredOn",
            date: d.declared_on,
        }
        .into());
    }
    if d.year < org.registered_on.year() || d.year > d.declared_on.year() {
        return Err(ShareError::Refused(format!(
            "year {} must lie between the organisation's registration ({}) and the declaration ({})",
            d.year,
            org.registered_on.year(),
            d.declared_on.year()
        )));
    }
    let record_date = match d.record_date {
        Some(day) => day,
        None => NaiveDate::from_ymd_opt(d.year, 12, 31)
            .ok_or_else(|| ShareError::Refused(format!("year {} is out of range", d.year)))?,
    };
    if record_date > d.declared_on {
        return Err(ShareError::Refused(format!(
            "the record date {record_date} is after the declaration on {}",
            d.declared_on
        )));
    }
    db::shares::lock_register(txn, org.id).await?;
    if let Some(existing) = db::shares::distribution_of_year(txn, org.id, d.year).await? {
        return Err(ShareError::Conflict(format!(
            "the organisation already declared its {} distribution (distribution {}); a year is \
             declared once",
            d.year, existing.id
        )));
    }
    let holdings = db::shares::open_holdings(txn, &[org.id], Some(record_date)).await?;
    let classes = db::shares::classes_of(txn, &[org.id])
        .await?
        .remove(&org.id)
        .unwrap_or_default();
    let split = DividendSplit::parse(&org.dividend_split).map_err(|_| corrupt("dividend split"))?;
    let weights: Vec<(i64, u32)> = classes
        .iter()
        .filter_map(|c| Some((c.id, u32::try_from(c.weight_bp?).ok()?)))
        .collect();
    let plan = match split {
        DividendSplit::PerShare => ClassSplit::PerShare,
        DividendSplit::ByClassWeight => ClassSplit::Weights(&weights),
    };
    let reserve_bp = u32::try_from(org.reserve_bp).map_err(|_| corrupt("reserve"))?;
    let inputs: Vec<DistributionHolding> = holdings
        .iter()
        .map(|h| DistributionHolding {
            holding: h.id,
            class: h.class_id,
            shares: Shares::from_hundredths(h.shares_hundredths),
        })
        .collect();
    let computed = shares::distribute(d.distributable_fen, reserve_bp, plan, &inputs)?;
    let holders: HashMap<i64, Holder> = holdings.iter().map(|h| (h.id, holder_of(h))).collect();
    let row = db::shares::insert_distribution(
        txn,
        &DistributionRow {
            organization_id: org.id,
            year: d.year,
            declared_on: d.declared_on,
            record_date,
            distributable_fen: d.distributable_fen,
            reserve_bp,
            split: split.as_str(),
            document: d.document.as_deref(),
            computed: &computed,
            weights: if split == DividendSplit::ByClassWeight {
                &weights
            } else {
                &[]
            },
            holders: &holders,
        },
    )
    .await?;
    author
        .record(
            txn,
            "declareDistribution",
            "distribution",
            row.id,
            None,
            snapshot(&json!({
                "distribution": row,
                "classes": computed.classes.iter().map(|c| json!({"classId": c.class, "fen": c.fen})).collect::<Vec<_>>(),
                "payouts": computed.payouts.len(),
            })),
        )
        .await?;
    Ok(row)
}

/// Marks payouts of a distribution paid (发放). `payout_ids` empty: every unpaid payout. A payout
/// already paid, or of another distribution, is refused and nothing is written.
pub async fn mark_paid(
    txn: &impl ConnectionTrait,
    author: &Author,
    dist: &distribution::Model,
    payout_ids: &[i64],
    paid_on: NaiveDate,
    method: shares::PayoutMethod,
    today: NaiveDate,
) -> Result<u64> {
    if paid_on > today {
        return Err(RecordError::FutureDate {
            field: "paidOn",
            date: paid_on,
        }
        .into());
    }
    if paid_on < dist.declared_on {
        return Err(ShareError::Refused(format!(
            "paidOn {paid_on} is before the distribution was declared on {}",
            dist.declared_on
        )));
    }
    let ids: Vec<i64> = if payout_ids.is_empty() {
        db::shares::payouts_of(txn, &[dist.id])
            .await?
            .into_iter()
            .filter(|p| p.paid_on.is_none())
            .map(|p| p.id)
            .collect()
    } else {
        let found = db::shares::payouts_by_ids(txn, payout_ids).await?;
        for id in payout_ids {
            match found.get(id) {
                Some(p) if p.distribution_id != dist.id => {
                    return Err(ShareError::Refused(format!(
                        "payout {id} is of another distribution"
                    )));
                }
                Some(p) if p.paid_on.is_some() => {
                    return Err(ShareError::Conflict(format!(
                        "payout {id} was already paid on {}",
                        p.paid_on.unwrap_or(paid_on)
                    )));
                }
                Some(_) => {}
                None => return Err(ShareError::Refused(format!("payout {id} does not exist"))),
            }
        }
        let mut ids = payout_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let written = db::shares::mark_paid(txn, &ids, paid_on, method.as_str()).await?;
    if written != ids.len() as u64 {
        return Err(ShareError::Conflict(
            "some payouts were marked paid meanwhile; reload and try again".into(),
        ));
    }
    author
        .record(
            txn,
            "markPayoutsPaid",
            "distribution",
            dist.id,
            None,
            snapshot(&json!({ "payoutIds": ids, "paidOn": paid_on, "method": method })),
        )
        .await?;
    Ok(written)
}
