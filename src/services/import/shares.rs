//! The "three changes" (三变) register from a village's files: member rosters (成员名册) and
//! the holdings issued on reform (股权配置表), each naming its organisation by its unified
//! social credit code and its households by household number. Each row is the mutation a cadre
//! would send (`recordMember`, `issueShares` of one holding), in a savepoint of the import's
//! transaction, with its own audit event.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use sea_orm::{DatabaseTransaction, TransactionTrait};

use super::source::{Column, Row};
use super::{Check, Importer, Importing, Mode, Outcome, RowError};
use crate::db::entities::{collective_organization, share_class};
use crate::db::{self, StoreError, StoreResult};
use crate::domain::shares::{
    CollectiveKind, DividendSplit, Holder, HoldingPolicyKind, MemberDraft, MembershipBasis,
    NewHolding, NewMember, NewOrganization, NewShareClass, OrganizationDraft, RecordError,
    ShareChangeKind, ShareClassDraft, ShareClassKind, Shares, SharesError,
};
use crate::domain::text;
use crate::services::places::Author;
use crate::services::shares::{self, ChangeRequest, Opening, ShareError};

pub(super) const MEMBER_COLUMNS: &[Column] = &[
    Column::new(
        "organizationCode",
        &["组织代码", "统一社会信用代码", "集体经济组织代码"],
    )
    .required(),
    Column::new("memberKey", &["户号", "成员户号", "农户"]).required(),
    Column::new("basis", &["取得方式", "成员身份取得方式"]).required(),
    Column::new("joinedOn", &["加入日期", "确认日期"]).required(),
    Column::new("document", &["认定依据", "依据"]),
    Column::new("leftOn", &["退出日期"]),
    Column::new("leftReason", &["退出原因"]),
];

pub(super) const HOLDING_COLUMNS: &[Column] = &[
    Column::new(
        "organizationCode",
        &["组织代码", "统一社会信用代码", "集体经济组织代码"],
    )
    .required(),
    Column::new("holderKey", &["户号", "持股户号", "股东户号"]),
    Column::new("shareClass", &["股种", "股份类别"]).required(),
    Column::new("shares", &["股数", "持股数"]).required(),
    Column::new("certificateNo", &["股权证号", "证书编号"]),
    Column::new("validFrom", &["配股日期", "发证日期", "起始日期"]).required(),
    Column::new("document", &["依据", "改革方案"]),
];

/// A membership basis by its code or its Chinese term.
fn basis(text: &str) -> Result<MembershipBasis, crate::domain::UnknownCode> {
    match text {
        "原始取得" => Ok(MembershipBasis::Original),
        "法定取得" => Ok(MembershipBasis::Statutory),
        "申请取得" => Ok(MembershipBasis::Application),
        other => MembershipBasis::parse(other),
    }
}

/// The client's answer for a refusal of the register's rules, on `column`; a store failure
/// fails the import.
fn refused(row: usize, column: &str, value: &str, e: ShareError) -> Result<Outcome, StoreError> {
    match (e.code(), e) {
        (_, ShareError::Store(e)) => Err(e),
        (code, e) => Ok(Outcome::refused(
            row,
            column,
            value,
            code.unwrap_or(crate::error::ErrorCode::Internal).as_str(),
            e.to_string(),
        )),
    }
}

fn author(who: &Importing<'_>) -> Author {
    Author {
        actor: who.actor.clone(),
        request_id: None,
    }
}

/// Organisations by credit code, read once per import, and checked against the township a
/// cadre's token may change.
#[derive(Default)]
struct Organizations(HashMap<String, Option<collective_organization::Model>>);

impl Organizations {
    async fn get(
        &mut self,
        txn: &DatabaseTransaction,
        code: &str,
    ) -> StoreResult<Option<collective_organization::Model>> {
        if !self.0.contains_key(code) {
            let org = db::shares::organization_by_credit_code(txn, code).await?;
            self.0.insert(code.to_owned(), org);
        }
        Ok(self.0.get(code).cloned().flatten())
    }

    /// The organisation, or the row's refusal.
    async fn of_row(
        &mut self,
        txn: &DatabaseTransaction,
        row: usize,
        code: &str,
        mode: &Mode,
    ) -> StoreResult<Result<collective_organization::Model, Outcome>> {
        let Some(org) = self.get(txn, code).await? else {
            let message = "no collective economic organisation has this credit code";
            return Ok(Err(Outcome::refused(
                row,
                "organizationCode",
                code,
                "BAD_INPUT",
                message,
            )));
        };
        if let Some(t) = mode.only_township {
            let township = db::places::villages_by_ids(txn, &[org.village_id])
                .await?
                .remove(&org.village_id)
                .map(|v| v.township_id);
            if township != Some(t) {
                let message =
                    "the organisation's village lies in a township this token may not change";
                return Ok(Err(Outcome::refused(
                    row,
                    "organizationCode",
                    code,
                    "FORBIDDEN",
                    message,
                )));
            }
        }
        Ok(Ok(org))
    }
}

/// The party ids of a batch's keys, or a row's refusal naming the key's column.
fn party_of(
    parties: &HashMap<String, i64>,
    row: usize,
    column: &str,
    key: &str,
) -> Result<i64, Outcome> {
    parties.get(key).copied().ok_or_else(|| {
        let message = "no party has this household number, credit code or ID number";
        Outcome::refused(row, column, key, "BAD_INPUT", message)
    })
}

// ---------------------------------------------------------------------------------------------
// Members

pub struct MemberChecked {
    organization: String,
    key: String,
    draft: NewMember,
    left: Option<(NaiveDate, Option<String>)>,
}

pub struct MemberCheck {
    today: NaiveDate,
    seen: HashSet<(String, String)>,
}

impl Check for MemberCheck {
    type Checked = MemberChecked;

    fn check(&mut self, r: &Row) -> Result<MemberChecked, RowError> {
        let organization = r.required("organizationCode")?.to_owned();
        let key = r.required("memberKey")?.to_owned();
        let draft = MemberDraft {
            basis: r
                .code("basis", basis)?
                .ok_or_else(|| r.error("basis", "BAD_INPUT", "`basis` is needed"))?,
            joined_on: r
                .date("joinedOn")?
                .ok_or_else(|| r.error("joinedOn", "BAD_INPUT", "`joinedOn` is needed"))?,
            document: r.text("document").map(str::to_owned),
        }
        .validate(self.today)
        .map_err(|e| {
            let column = match e {
                RecordError::Text(_) => "document",
                _ => "joinedOn",
            };
            r.error(column, "BAD_INPUT", e.to_string())
        })?;
        let left = match r.date("leftOn")? {
            Some(on) => {
                let reason = text::optional("leftReason", r.text("leftReason"), 200)
                    .map_err(|e| r.error("leftReason", "BAD_INPUT", e.to_string()))?;
                Some((on, reason))
            }
            None => None,
        };
        if !self.seen.insert((organization.clone(), key.clone())) {
            return Err(r.error(
                "memberKey",
                "CONFLICT",
                "the household appears earlier in this file for this organisation",
            ));
        }
        Ok(MemberChecked {
            organization,
            key,
            draft,
            left,
        })
    }
}

pub struct Members {
    author: Author,
    organizations: Organizations,
}

impl Members {
    pub fn new(who: &Importing<'_>) -> (Self, MemberCheck) {
        (
            Self {
                author: author(who),
                organizations: Organizations::default(),
            },
            MemberCheck {
                today: who.today,
                seen: HashSet::new(),
            },
        )
    }
}

impl Importer for Members {
    type Check = MemberCheck;
    const COLUMNS: &'static [Column] = MEMBER_COLUMNS;
    const ENTITY: &'static str = "collective_member";

    async fn write(
        &mut self,
        txn: &DatabaseTransaction,
        batch: Vec<(usize, MemberChecked)>,
        mode: &Mode,
    ) -> StoreResult<Vec<(usize, Outcome)>> {
        let keys: Vec<&str> = batch.iter().map(|(_, c)| c.key.as_str()).collect();
        let parties = db::parties::ids_by_keys(txn, &keys).await?;
        let ids: Vec<i64> = parties.values().copied().collect();
        let memberships = db::shares::memberships_of_parties(txn, &ids).await?;
        let mut outcomes = Vec::with_capacity(batch.len());
        for (row, c) in batch {
            let org = match self
                .organizations
                .of_row(txn, row, &c.organization, mode)
                .await?
            {
                Ok(org) => org,
                Err(refusal) => {
                    outcomes.push((row, refusal));
                    continue;
                }
            };
            let party = match party_of(&parties, row, "memberKey", &c.key) {
                Ok(p) => p,
                Err(refusal) => {
                    outcomes.push((row, refusal));
                    continue;
                }
            };
            let stored = memberships.get(&party).and_then(|ms| {
                ms.iter()
                    .find(|m| m.organization_id == org.id && m.joined_on == c.draft.joined_on)
            });
            match (stored, &c.left) {
                (None, _) => {}
                (Some(_), _) if !mode.upsert => {
                    let message = "this membership is recorded already";
                    outcomes.push((row, Outcome::exists(row, "memberKey", &c.key, message)));
                    continue;
                }
                // Under upsert a stored membership takes the row's leaving, the one change a
                // membership has.
                (Some(m), Some((on, reason))) if m.left_on.is_none() => {
                    let point = txn.begin().await?;
                    let outcome = match shares::end_member(
                        &point,
                        &self.author,
                        m,
                        m.version,
                        *on,
                        reason.clone(),
                    )
                    .await
                    {
                        Ok(_) => {
                            point.commit().await?;
                            Outcome::Updated
                        }
                        Err(e) => {
                            point.rollback().await?;
                            refused(row, "leftOn", &c.key, e)?
                        }
                    };
                    outcomes.push((row, outcome));
                    continue;
                }
                (Some(_), _) => {
                    outcomes.push((row, Outcome::Unchanged));
                    continue;
                }
            }
            let point = txn.begin().await?;
            // The column a refusal is about: the household when it is recorded, the date it
            // left when its leaving is.
            let mut done = shares::record_member(&point, &self.author, &org, party, &c.draft)
                .await
                .map_err(|e| ("memberKey", e));
            if let (Ok(member), Some((on, reason))) = (&done, c.left.clone()) {
                done = shares::end_member(&point, &self.author, member, member.version, on, reason)
                    .await
                    .map_err(|e| ("leftOn", e));
            }
            let outcome = match done {
                Ok(_) => {
                    point.commit().await?;
                    Outcome::Inserted
                }
                Err((column, e)) => {
                    point.rollback().await?;
                    refused(row, column, &c.key, e)?
                }
            };
            outcomes.push((row, outcome));
        }
        Ok(outcomes)
    }
}

// ---------------------------------------------------------------------------------------------
// Holdings

pub struct HoldingChecked {
    organization: String,
    holder: Option<String>,
    class: String,
    shares: Shares,
    certificate_no: Option<String>,
    valid_from: NaiveDate,
    document: Option<String>,
}

pub struct HoldingCheck {
    today: NaiveDate,
    certificates: HashSet<(String, String)>,
}

impl Check for HoldingCheck {
    type Checked = HoldingChecked;

    fn check(&mut self, r: &Row) -> Result<HoldingChecked, RowError> {
        let organization = r.required("organizationCode")?.to_owned();
        let shares = Shares::parse(r.required("shares")?)
            .map_err(|e| r.error("shares", "BAD_INPUT", e.to_string()))?;
        if !shares.is_positive() {
            return Err(r.error("shares", "BAD_INPUT", "a holding must be positive"));
        }
        let valid_from = r
            .date("validFrom")?
            .ok_or_else(|| r.error("validFrom", "BAD_INPUT", "`validFrom` is needed"))?;
        if valid_from > self.today {
            return Err(r.error("validFrom", "BAD_INPUT", "the date is in the future"));
        }
        let text = |column: &'static str, max| {
            text::optional(column, r.text(column), max)
                .map_err(|e| r.error(column, "BAD_INPUT", e.to_string()))
        };
        let certificate_no = text("certificateNo", 40)?;
        if let Some(no) = &certificate_no
            && !self.certificates.insert((organization.clone(), no.clone()))
        {
            return Err(r.error(
                "certificateNo",
                "CONFLICT",
                "the certificate number appears earlier in this file",
            ));
        }
        Ok(HoldingChecked {
            organization,
            holder: r.text("holderKey").map(str::to_owned),
            class: r.required("shareClass")?.to_owned(),
            shares,
            certificate_no,
            valid_from,
            document: text("document", 200)?,
        })
    }
}

/// A holding as the "recorded already" check compares it: holder, class, from, shares.
type HeldKey = (Option<i64>, i64, NaiveDate, i64);

pub struct Holdings {
    author: Author,
    organizations: Organizations,
    classes: HashMap<i64, Vec<share_class::Model>>,
    /// The holdings of each organisation met, read once and kept up to date.
    held: HashMap<i64, HashSet<HeldKey>>,
}

impl Holdings {
    pub fn new(who: &Importing<'_>) -> (Self, HoldingCheck) {
        (
            Self {
                author: author(who),
                organizations: Organizations::default(),
                classes: HashMap::new(),
                held: HashMap::new(),
            },
            HoldingCheck {
                today: who.today,
                certificates: HashSet::new(),
            },
        )
    }
}

impl Importer for Holdings {
    type Check = HoldingCheck;
    const COLUMNS: &'static [Column] = HOLDING_COLUMNS;
    const ENTITY: &'static str = "share_holding";

    async fn write(
        &mut self,
        txn: &DatabaseTransaction,
        batch: Vec<(usize, HoldingChecked)>,
        mode: &Mode,
    ) -> StoreResult<Vec<(usize, Outcome)>> {
        let keys: Vec<&str> = batch
            .iter()
            .filter_map(|(_, c)| c.holder.as_deref())
            .collect();
        let parties = db::parties::ids_by_keys(txn, &keys).await?;
        let mut outcomes = Vec::with_capacity(batch.len());
        for (row, c) in batch {
            let org = match self
                .organizations
                .of_row(txn, row, &c.organization, mode)
                .await?
            {
                Ok(org) => org,
                Err(refusal) => {
                    outcomes.push((row, refusal));
                    continue;
                }
            };
            let holder = match &c.holder {
                None => Holder::Organisation,
                Some(key) => match party_of(&parties, row, "holderKey", key) {
                    Ok(p) => Holder::Member(p),
                    Err(refusal) => {
                        outcomes.push((row, refusal));
                        continue;
                    }
                },
            };
            if let std::collections::hash_map::Entry::Vacant(slot) = self.classes.entry(org.id) {
                let classes = db::shares::classes_of(txn, &[org.id])
                    .await?
                    .remove(&org.id)
                    .unwrap_or_default();
                slot.insert(classes);
            }
            let Some(class) = self
                .classes
                .get(&org.id)
                .and_then(|cs| cs.iter().find(|k| k.name == c.class))
                .map(|k| k.id)
            else {
                let message = "the organisation has no share class of this name";
                outcomes.push((
                    row,
                    Outcome::refused(row, "shareClass", &c.class, "BAD_INPUT", message),
                ));
                continue;
            };
            let holder_id = match holder {
                Holder::Member(p) => Some(p),
                Holder::Organisation => None,
            };
            if let std::collections::hash_map::Entry::Vacant(slot) = self.held.entry(org.id) {
                let held = db::shares::holdings_of(txn, org.id)
                    .await?
                    .into_iter()
                    .map(|h| {
                        (
                            h.holder_party_id,
                            h.class_id,
                            h.valid_from,
                            h.shares_hundredths,
                        )
                    })
                    .collect();
                slot.insert(held);
            }
            let key = (holder_id, class, c.valid_from, c.shares.hundredths());
            if self
                .held
                .get(&org.id)
                .is_some_and(|held| held.contains(&key))
            {
                let outcome = if mode.upsert {
                    Outcome::Unchanged
                } else {
                    let message = "this holding is recorded already";
                    let key = c.holder.clone().unwrap_or_default();
                    Outcome::exists(row, "holderKey", &key, message)
                };
                outcomes.push((row, outcome));
                continue;
            }
            let request = ChangeRequest {
                kind: ShareChangeKind::Issue,
                date: c.valid_from,
                closes: Vec::new(),
                opens: vec![Opening {
                    holding: NewHolding {
                        holder,
                        class,
                        shares: c.shares,
                    },
                    certificate_no: c.certificate_no.clone(),
                }],
                contributor: None,
                leavers: Vec::new(),
                reason: None,
                document: c.document.clone(),
            };
            let point = txn.begin().await?;
            let outcome = match shares::record_change(&point, &self.author, &org, request).await {
                Ok(_) => {
                    point.commit().await?;
                    self.held.entry(org.id).or_default().insert(key);
                    Outcome::Inserted
                }
                Err(e) => {
                    point.rollback().await?;
                    let column = match &e {
                        ShareError::Rule(
                            SharesError::ClassOverIssued { .. }
                            | SharesError::UnknownClass { .. }
                            | SharesError::HolderDoesNotFitClass { .. },
                        ) => "shareClass",
                        ShareError::Rule(SharesError::ChangeBeforeLastChange { .. }) => "validFrom",
                        ShareError::Rule(
                            SharesError::NewHoldingNotPositive { .. } | SharesError::SharesOverflow,
                        ) => "shares",
                        _ => "holderKey",
                    };
                    let value = c.holder.clone().unwrap_or_default();
                    refused(row, column, &value, e)?
                }
            };
            outcomes.push((row, outcome));
        }
        Ok(outcomes)
    }
}

// ---------------------------------------------------------------------------------------------
// Organisations

pub(super) const ORGANIZATION_COLUMNS: &[Column] = &[
    Column::new("creditCode", &["统一社会信用代码", "组织代码"]).required(),
    Column::new("name", &["名称", "组织名称"]).required(),
    Column::new("kind", &["组织类型"]).required(),
    Column::new("villageCode", &["村代码", "所属村代码"]).required(),
    Column::new("registeredOn", &["登记日期"]).required(),
    Column::new("reformCompletedOn", &["改革完成日期"]),
    Column::new("holdingPolicy", &["股权管理方式"]),
    Column::new("adjustEveryYears", &["调整周期"]),
    Column::new("reserveBp", &["公积公益金提取比例"]),
    Column::new("dividendSplit", &["分配方式"]),
];

/// The column of an organisation's refusal.
fn organization_column(e: &RecordError) -> &'static str {
    match e {
        RecordError::CreditCode(_) => "creditCode",
        RecordError::Text(_) => "name",
        RecordError::FutureDate { field, .. } | RecordError::BasisPoints { field, .. } => field,
        RecordError::ReformBeforeRegistration { .. } => "reformCompletedOn",
        RecordError::PolicyInterval => "adjustEveryYears",
        _ => "creditCode",
    }
}

pub struct OrganizationChecked {
    village: String,
    new: NewOrganization,
}

pub struct OrganizationCheck {
    today: NaiveDate,
    seen: HashSet<String>,
}

impl Check for OrganizationCheck {
    type Checked = OrganizationChecked;

    fn check(&mut self, r: &Row) -> Result<OrganizationChecked, RowError> {
        let needed = |column: &str| r.error(column, "BAD_INPUT", format!("`{column}` is needed"));
        let new = OrganizationDraft {
            name: r.required("name")?.to_owned(),
            credit_code: r.required("creditCode")?.to_owned(),
            kind: r
                .code("kind", CollectiveKind::parse)?
                .ok_or_else(|| needed("kind"))?,
            registered_on: r
                .date("registeredOn")?
                .ok_or_else(|| needed("registeredOn"))?,
            reform_completed_on: r.date("reformCompletedOn")?,
            holding_policy: r
                .code("holdingPolicy", HoldingPolicyKind::parse)?
                .unwrap_or(HoldingPolicyKind::Static),
            adjust_every_years: r.parse("adjustEveryYears", "a whole number of years")?,
            reserve_bp: r.parse("reserveBp", "basis points")?.unwrap_or(0),
            dividend_split: r
                .code("dividendSplit", DividendSplit::parse)?
                .unwrap_or(DividendSplit::PerShare),
        }
        .validate(self.today)
        .map_err(|e| r.error(organization_column(&e), "BAD_INPUT", e.to_string()))?;
        if !self.seen.insert(new.credit_code.as_str().to_owned()) {
            return Err(r.error(
                "creditCode",
                "CONFLICT",
                "the credit code appears earlier in this file",
            ));
        }
        Ok(OrganizationChecked {
            village: r.required("villageCode")?.to_owned(),
            new,
        })
    }
}

/// The organisation as a row would write it, to tell an unchanged row under `upsert`.
fn same_organization(
    stored: &collective_organization::Model,
    name: Option<&str>,
    new: &NewOrganization,
) -> bool {
    name == Some(new.name.as_str())
        && stored.kind == new.kind.as_str()
        && stored.registered_on == new.registered_on
        && stored.reform_completed_on == new.reform_completed_on
        && stored.holding_policy == new.policy.as_str()
        && stored.adjust_every_years == new.policy.interval_years().map(i32::from)
        && i64::from(stored.reserve_bp) == i64::from(new.reserve_bp)
        && stored.dividend_split == new.dividend_split.as_str()
}

/// Collective economic organisations (集体经济组织) from a register: each row the
/// `createCollectiveOrganization` a cadre would send, or under `upsert` the
/// `updateCollectiveOrganization` of the organisation with its credit code.
pub struct OrganizationRows {
    author: Author,
}

impl OrganizationRows {
    pub fn new(who: &Importing<'_>) -> (Self, OrganizationCheck) {
        (
            Self {
                author: author(who),
            },
            OrganizationCheck {
                today: who.today,
                seen: HashSet::new(),
            },
        )
    }
}

impl Importer for OrganizationRows {
    type Check = OrganizationCheck;
    const COLUMNS: &'static [Column] = ORGANIZATION_COLUMNS;
    const ENTITY: &'static str = "collective_organization";

    async fn write(
        &mut self,
        txn: &DatabaseTransaction,
        batch: Vec<(usize, OrganizationChecked)>,
        mode: &Mode,
    ) -> StoreResult<Vec<(usize, Outcome)>> {
        let mut outcomes = Vec::with_capacity(batch.len());
        for (row, c) in batch {
            let code = c.new.credit_code.as_str().to_owned();
            let Some(village) = db::places::village_by_code(txn, &c.village).await? else {
                let message = "no village has this code";
                outcomes.push((
                    row,
                    Outcome::refused(row, "villageCode", &c.village, "BAD_INPUT", message),
                ));
                continue;
            };
            if mode.only_township.is_some_and(|t| t != village.township_id) {
                let message = "the village lies in a township this token may not change";
                outcomes.push((
                    row,
                    Outcome::refused(row, "villageCode", &c.village, "FORBIDDEN", message),
                ));
                continue;
            }
            let stored = db::shares::organization_by_credit_code(txn, &code).await?;
            let point = txn.begin().await?;
            let done = match stored {
                None => shares::create_organization(&point, &self.author, &c.new, village.id)
                    .await
                    .map(|_| Outcome::Inserted),
                Some(_) if !mode.upsert => {
                    let message = "an organisation with this credit code exists; import with \
                                   --upsert to update it";
                    Ok(Outcome::exists(row, "creditCode", &code, message))
                }
                Some(before) if before.village_id != village.id => {
                    let message = "the organisation belongs to another village; an \
                                   organisation does not move";
                    Ok(Outcome::refused(
                        row,
                        "villageCode",
                        &c.village,
                        "CONFLICT",
                        message,
                    ))
                }
                Some(before) => {
                    let name = db::parties::by_ids(&point, &[before.party_id])
                        .await?
                        .remove(&before.party_id)
                        .map(|p| p.name);
                    if same_organization(&before, name.as_deref(), &c.new) {
                        Ok(Outcome::Unchanged)
                    } else {
                        shares::update_organization(
                            &point,
                            &self.author,
                            &before,
                            before.version,
                            &c.new,
                        )
                        .await
                        .map(|_| Outcome::Updated)
                    }
                }
            };
            let outcome = match done {
                Ok(outcome @ (Outcome::Inserted | Outcome::Updated)) => {
                    point.commit().await?;
                    outcome
                }
                Ok(other) => {
                    point.rollback().await?;
                    other
                }
                Err(e) => {
                    point.rollback().await?;
                    refused(row, "creditCode", &code, e)?
                }
            };
            outcomes.push((row, outcome));
        }
        Ok(outcomes)
    }
}

// ---------------------------------------------------------------------------------------------
// Share classes

pub(super) const CLASS_COLUMNS: &[Column] = &[
    Column::new(
        "organizationCode",
        &["组织代码", "统一社会信用代码", "集体经济组织代码"],
    )
    .required(),
    Column::new("kind", &["类别"]).required(),
    Column::new("name", &["股种", "股种名称"]).required(),
    Column::new("issued", &["总股本", "发行股数"]).required(),
    Column::new("weightBp", &["分配比例"]),
];

pub struct ClassChecked {
    organization: String,
    new: NewShareClass,
}

#[derive(Default)]
pub struct ClassCheck(HashSet<(String, String)>);

impl Check for ClassCheck {
    type Checked = ClassChecked;

    fn check(&mut self, r: &Row) -> Result<ClassChecked, RowError> {
        let organization = r.required("organizationCode")?.to_owned();
        let new = ShareClassDraft {
            kind: r
                .code("kind", ShareClassKind::parse)?
                .ok_or_else(|| r.error("kind", "BAD_INPUT", "`kind` is needed"))?,
            name: r.required("name")?.to_owned(),
            issued: r.required("issued")?.to_owned(),
            weight_bp: r.parse("weightBp", "basis points")?,
        }
        .validate()
        .map_err(|e| {
            let column = match e {
                RecordError::Text(_) => "name",
                RecordError::BasisPoints { .. } => "weightBp",
                _ => "issued",
            };
            r.error(column, "BAD_INPUT", e.to_string())
        })?;
        if !self.0.insert((organization.clone(), new.name.clone())) {
            return Err(r.error(
                "name",
                "CONFLICT",
                "the organisation's class appears earlier in this file",
            ));
        }
        Ok(ClassChecked { organization, new })
    }
}

/// Share classes (股种) from a reform plan: each row the `defineShareClass` a cadre would
/// send; under `upsert` a stored class of the same name takes the row's shares issued.
pub struct ClassRows {
    author: Author,
    today: NaiveDate,
    organizations: Organizations,
}

impl ClassRows {
    pub fn new(who: &Importing<'_>) -> (Self, ClassCheck) {
        (
            Self {
                author: author(who),
                today: who.today,
                organizations: Organizations::default(),
            },
            ClassCheck::default(),
        )
    }
}

impl Importer for ClassRows {
    type Check = ClassCheck;
    const COLUMNS: &'static [Column] = CLASS_COLUMNS;
    const ENTITY: &'static str = "share_class";

    async fn write(
        &mut self,
        txn: &DatabaseTransaction,
        batch: Vec<(usize, ClassChecked)>,
        mode: &Mode,
    ) -> StoreResult<Vec<(usize, Outcome)>> {
        let mut outcomes = Vec::with_capacity(batch.len());
        for (row, c) in batch {
            let org = match self
                .organizations
                .of_row(txn, row, &c.organization, mode)
                .await?
            {
                Ok(org) => org,
                Err(refusal) => {
                    outcomes.push((row, refusal));
                    continue;
                }
            };
            let stored = db::shares::classes_of(txn, &[org.id])
                .await?
                .remove(&org.id)
                .unwrap_or_default()
                .into_iter()
                .find(|k| k.name == c.new.name);
            let name = c.new.name.clone();
            let outcome = match stored {
                None => {
                    let point = txn.begin().await?;
                    match shares::define_class(&point, &self.author, &org, &c.new).await {
                        Ok(_) => {
                            point.commit().await?;
                            Outcome::Inserted
                        }
                        Err(e) => {
                            point.rollback().await?;
                            refused(row, "name", &name, e)?
                        }
                    }
                }
                Some(_) if !mode.upsert => {
                    let message = "the organisation has a class of this name; import with \
                                   --upsert to update it";
                    Outcome::exists(row, "name", &name, message)
                }
                Some(class)
                    if class.kind != c.new.kind.as_str()
                        || class.weight_bp.map(i64::from) != c.new.weight_bp.map(i64::from) =>
                {
                    let message = "a class keeps its kind and weight; define a new class instead";
                    Outcome::refused(row, "kind", &name, "CONFLICT", message)
                }
                Some(class) if class.issued_hundredths == c.new.issued.hundredths() => {
                    Outcome::Unchanged
                }
                Some(class) => {
                    let held: i64 = db::shares::open_shares_by_class(txn, &[org.id], self.today)
                        .await?
                        .into_iter()
                        .filter(|(k, _)| *k == class.id)
                        .map(|(_, n)| n)
                        .sum();
                    if c.new.issued.hundredths() < held {
                        let message = format!(
                            "{} shares of the class are held: it cannot issue fewer",
                            Shares::from_hundredths(held)
                        );
                        Outcome::refused(row, "issued", &name, "CONFLICT", message)
                    } else {
                        let after = db::shares::set_issued(txn, class.id, c.new.issued).await?;
                        self.author
                            .record(
                                txn,
                                "importShareClass",
                                "share_class",
                                class.id,
                                crate::db::audit::snapshot(&class),
                                after.as_ref().and_then(crate::db::audit::snapshot),
                            )
                            .await?;
                        Outcome::Updated
                    }
                }
            };
            outcomes.push((row, outcome));
        }
        Ok(outcomes)
    }
}
