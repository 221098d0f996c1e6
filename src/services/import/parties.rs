//! Parties (权利人): households, collectives, cooperatives and enterprises, known by their
//! household number, credit code or ID number, in a village named by code or by name.

use std::collections::{HashMap, HashSet};

use sea_orm::{DatabaseConnection, DatabaseTransaction};

use super::source::{Column, Row};
use super::{Check, Importer, Mode, Outcome, RowError};
use crate::db::entities::party;
use crate::db::{self, StoreResult};
use crate::domain::parties::{NewParty, PartyDraft, PartyError, PartyKind};
use crate::error::AppError;

pub(super) const COLUMNS: &[Column] = &[
    Column::new("kind", &["类型", "主体类型"]),
    Column::new("name", &["姓名", "名称", "户主姓名"]).required(),
    Column::new("householdNo", &["户号"]),
    Column::new("creditCode", &["统一社会信用代码", "信用代码"]),
    Column::new("idNumber", &["身份证号", "身份证号码"]),
    Column::new("phone", &["电话", "联系电话"]),
    Column::new("villageCode", &["村代码", "行政村代码", "村"]),
    Column::new("townshipCode", &["乡镇代码"]),
];

/// A party row checked on its own.
pub struct Checked {
    party: NewParty,
    village: Option<i64>,
    /// The file has no idNumber / phone column: an update keeps the stored one.
    keeps_id_number: bool,
    keeps_phone: bool,
}

/// Villages as a cadre names them.
struct Villages {
    /// code → (id, township id)
    by_code: HashMap<String, (i64, i64)>,
    /// name → every (id, township id, township code) of that name
    by_name: HashMap<String, Vec<(i64, i64, String)>>,
}

pub struct Checker {
    villages: Villages,
    only_township: Option<i64>,
}

fn party_error(r: &Row, e: PartyError) -> RowError {
    let column = match &e {
        PartyError::IdNumberFormat | PartyError::IdNumberChecksum { .. } => "idNumber",
        PartyError::PhoneFormat => "phone",
        PartyError::CreditCodeFormat | PartyError::OrganisationWithoutCreditCode => "creditCode",
        PartyError::HouseholdWithoutKey => "householdNo",
        PartyError::Text(_) => "name",
    };
    let err = AppError::from(e);
    r.error(column, err.code().as_str(), err.message())
}

impl Checker {
    /// The village named by code, or by name (within `townshipCode` when the name recurs).
    fn village(&self, r: &Row) -> Result<Option<(i64, i64)>, RowError> {
        let Some(given) = r.text("villageCode") else {
            return Ok(None);
        };
        if let Some(v) = self.villages.by_code.get(given) {
            return Ok(Some(*v));
        }
        let named = self
            .villages
            .by_name
            .get(given)
            .map_or(&[][..], Vec::as_slice);
        let township = r.text("townshipCode");
        let mut found = named
            .iter()
            .filter(|(_, _, code)| township.is_none_or(|given| given == code));
        match (found.next(), found.next()) {
            (Some((id, township, _)), None) => Ok(Some((*id, *township))),
            (None, _) => Err(r.error(
                "villageCode",
                "BAD_INPUT",
                "no village has this code or name",
            )),
            (Some(_), Some(_)) => Err(r.error(
                "villageCode",
                "BAD_INPUT",
                "villages of several townships have this name: give the village code, or townshipCode",
            )),
        }
    }
}

impl Check for Checker {
    type Checked = Checked;

    fn check(&mut self, r: &Row) -> Result<Checked, RowError> {
        let party = PartyDraft {
            kind: r.code("kind", PartyKind::parse)?,
            name: r.required("name")?.to_owned(),
            household_no: r.text("householdNo").map(str::to_owned),
            credit_code: r.text("creditCode").map(str::to_owned),
            id_number: r.text("idNumber").map(str::to_owned),
            phone: r.text("phone").map(str::to_owned),
        }
        .validate()
        .map_err(|e| party_error(r, e))?;
        let village = self.village(r)?;
        if let Some(t) = self.only_township
            && village.is_none_or(|(_, township)| township != t)
        {
            return Err(r.error(
                "villageCode",
                "FORBIDDEN",
                "the party's village lies outside the township this token may change",
            ));
        }
        Ok(Checked {
            party,
            village: village.map(|(id, _)| id),
            keeps_id_number: !r.has("idNumber"),
            keeps_phone: !r.has("phone"),
        })
    }
}

pub struct Parties {
    /// Village id → township id.
    townships: HashMap<i64, i64>,
    /// Parties with a higher id were written by this import.
    watermark: i64,
    updated: HashSet<i64>,
}

impl Parties {
    pub async fn new(db: &DatabaseConnection, mode: Mode) -> StoreResult<(Self, Checker)> {
        let townships: HashMap<i64, String> = db::places::all_townships(db)
            .await?
            .into_iter()
            .map(|t| (t.id, t.code))
            .collect();
        let mut villages = Villages {
            by_code: HashMap::new(),
            by_name: HashMap::new(),
        };
        for v in db::places::all_villages(db).await? {
            villages.by_code.insert(v.code, (v.id, v.township_id));
            let township = townships.get(&v.township_id).cloned().unwrap_or_default();
            villages
                .by_name
                .entry(v.name)
                .or_default()
                .push((v.id, v.township_id, township));
        }
        let importer = Self {
            townships: villages.by_code.values().copied().collect(),
            watermark: db::max_id::<party::Entity>(db, party::Column::Id).await?,
            updated: HashSet::new(),
        };
        let checker = Checker {
            villages,
            only_township: mode.only_township,
        };
        Ok((importer, checker))
    }
}

fn keys(p: &NewParty) -> impl Iterator<Item = &str> {
    [&p.household_no, &p.credit_code, &p.id_number]
        .into_iter()
        .filter_map(|k| k.as_deref())
}

impl Importer for Parties {
    type Check = Checker;
    const COLUMNS: &'static [Column] = COLUMNS;
    const ENTITY: &'static str = "party";

    async fn write(
        &mut self,
        txn: &DatabaseTransaction,
        batch: Vec<(usize, Checked)>,
        mode: &Mode,
    ) -> StoreResult<Vec<(usize, Outcome)>> {
        let all: Vec<&str> = batch.iter().flat_map(|(_, c)| keys(&c.party)).collect();
        let stored = db::parties::by_keys(txn, &all).await?;
        let by_key: HashMap<&str, &party::Model> = stored
            .iter()
            .flat_map(|p| db::parties::keys_of(p).map(move |k| (k, p)))
            .collect();
        let mut seen: HashSet<&str> = HashSet::new();
        let mut outcomes = Vec::with_capacity(batch.len());
        for (row, c) in &batch {
            let row = *row;
            let key = keys(&c.party).next().unwrap_or_default();
            let mut matches: Vec<&party::Model> = keys(&c.party)
                .filter_map(|k| by_key.get(k).copied())
                .collect();
            matches.dedup_by_key(|p| p.id);
            if keys(&c.party).any(|k| !seen.insert(k))
                || matches
                    .iter()
                    .any(|p| p.id > self.watermark || self.updated.contains(&p.id))
            {
                let message = "a party with these keys appears earlier in this file";
                outcomes.push((
                    row,
                    Outcome::refused(row, "householdNo", key, "CONFLICT", message),
                ));
                continue;
            }
            let current = match matches.as_slice() {
                [] => None,
                [one] => Some(*one),
                _ => {
                    let message =
                        "the household number, credit code and ID number name different parties";
                    outcomes.push((
                        row,
                        Outcome::refused(row, "householdNo", key, "CONFLICT", message),
                    ));
                    continue;
                }
            };
            let Some(before) = current else {
                db::parties::insert(txn, &c.party, c.village).await?;
                outcomes.push((row, Outcome::Inserted));
                continue;
            };
            if !mode.upsert {
                let message = "a party with this key exists; import with --upsert to update it";
                outcomes.push((row, Outcome::exists(row, "householdNo", key, message)));
                continue;
            }
            let stored_township = before.village_id.and_then(|v| self.townships.get(&v));
            if let Some(t) = mode.only_township
                && stored_township != Some(&t)
            {
                let message = "the party belongs to a township this token may not change";
                outcomes.push((
                    row,
                    Outcome::refused(row, "householdNo", key, "FORBIDDEN", message),
                ));
                continue;
            }
            let mut party = c.party.clone();
            if c.keeps_id_number {
                party.id_number.clone_from(&before.id_number);
            }
            if c.keeps_phone {
                party.phone.clone_from(&before.phone);
            }
            db::parties::update(txn, before.id, before.version, &party, c.village).await?;
            self.updated.insert(before.id);
            outcomes.push((row, Outcome::Updated));
        }
        Ok(outcomes)
    }
}
