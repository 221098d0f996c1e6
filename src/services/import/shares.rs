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
    Holder, MemberDraft, MembershipBasis, NewHolding, NewMember, RecordError, ShareChangeKind,
    Shares, SharesError,
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
            let stored = memberships.get(&party).is_some_and(|ms| {
                ms.iter()
                    .any(|m| m.organization_id == org.id && m.joined_on == c.draft.joined_on)
            });
            if stored {
                let message = "this membership is recorded already";
                outcomes.push((row, Outcome::exists(row, "memberKey", &c.key, message)));
                continue;
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

pub struct Holdings {
    author: Author,
    organizations: Organizations,
    classes: HashMap<i64, Vec<share_class::Model>>,
}

impl Holdings {
    pub fn new(who: &Importing<'_>) -> (Self, HoldingCheck) {
        (
            Self {
                author: author(who),
                organizations: Organizations::default(),
                classes: HashMap::new(),
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
            let stored = db::shares::holdings_of(txn, org.id)
                .await?
                .into_iter()
                .any(|h| {
                    h.holder_party_id == holder_id
                        && h.class_id == class
                        && h.valid_from == c.valid_from
                        && h.shares_hundredths == c.shares.hundredths()
                });
            if stored {
                let message = "this holding is recorded already";
                let key = c.holder.clone().unwrap_or_default();
                outcomes.push((row, Outcome::exists(row, "holderKey", &key, message)));
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
