//! Revitalization records (盘活利用) on the assets named by code: known by their contract
//! number, or without one by asset, mode and start date.

use std::collections::HashSet;

use sea_orm::{DatabaseConnection, DatabaseTransaction};

use super::source::{Column, Row};
use super::{Check, Importer, Mode, Outcome, RowError};
use crate::db::entities::revitalization;
use crate::db::{self, StoreResult};
use crate::domain::assets::AssetStatus;
use crate::domain::revitalization::{
    RevenueSplit, RevitalizationDraft, RevitalizationError, RevitalizationMode,
};
use crate::error::AppError;

pub(super) const COLUMNS: &[Column] = &[
    Column::new("contractNo", &["合同编号"]),
    Column::new("assetCode", &["资产编号"]).required(),
    Column::new("mode", &["盘活方式", "方式"]).required(),
    Column::new("endUse", &["用途"]),
    Column::new("counterpartyKey", &["承租方", "合作方", "受让方"]),
    Column::new("startDate", &["起始日期", "开始日期"]).required(),
    Column::new("termMonths", &["期限", "期限(月)"]),
    Column::new("annualRentFen", &["年租金(分)", "年租金"]),
    Column::new("investmentFen", &["投资额(分)", "投资额"]),
    Column::new("compensationFen", &["补偿(分)", "退出补偿"]),
    Column::new("jobsCreated", &["带动就业"]),
    Column::new("collectiveShare", &["集体分成"]),
    Column::new("operatorShare", &["经营主体分成"]),
    Column::new("farmerShare", &["农户分成"]),
];

/// A record checked on its own; the asset's status is checked when it is written.
pub struct Checked {
    draft: RevitalizationDraft,
    asset_code: String,
    counterparty_key: Option<String>,
}

pub struct Checker;

impl Check for Checker {
    type Checked = Checked;

    fn check(&mut self, r: &Row) -> Result<Checked, RowError> {
        let shares = (
            r.number("collectiveShare")?,
            r.number("operatorShare")?,
            r.number("farmerShare")?,
        );
        let split = match shares {
            (None, None, None) => None,
            (Some(c), Some(o), Some(f)) => Some(
                RevenueSplit::from_fractions(c, o, f)
                    .map_err(|e| r.error("collectiveShare", "BAD_INPUT", e.to_string()))?,
            ),
            _ => {
                return Err(r.error(
                    "collectiveShare",
                    "BAD_INPUT",
                    "give the collective's, the operator's and the farmer's share together",
                ));
            }
        };
        let start_date = r
            .date("startDate")?
            .ok_or_else(|| r.error("startDate", "BAD_INPUT", "`startDate` is needed"))?;
        let draft = RevitalizationDraft {
            contract_no: r.text("contractNo").map(str::to_owned),
            mode: r
                .code("mode", RevitalizationMode::parse)?
                .ok_or_else(|| r.error("mode", "BAD_INPUT", "`mode` is needed"))?,
            end_use: r.text("endUse").map(str::to_owned),
            start_date,
            term_months: r.parse("termMonths", "a whole number of months")?,
            annual_rent_fen: r.parse("annualRentFen", "a whole number of fen")?,
            investment_fen: r.parse("investmentFen", "a whole number of fen")?,
            compensation_fen: r.parse("compensationFen", "a whole number of fen")?,
            jobs_created: r.parse("jobsCreated", "a whole number")?,
            split,
        };
        Ok(Checked {
            draft,
            asset_code: r.required("assetCode")?.to_owned(),
            counterparty_key: r.text("counterpartyKey").map(str::to_owned),
        })
    }
}

pub struct Revitalizations {
    watermark: i64,
    updated: HashSet<i64>,
}

impl Revitalizations {
    pub async fn new(db: &DatabaseConnection, _: Mode) -> StoreResult<(Self, Checker)> {
        let importer = Self {
            watermark: db::max_id::<revitalization::Entity>(db, revitalization::Column::Id).await?,
            updated: HashSet::new(),
        };
        Ok((importer, Checker))
    }
}

/// The column a domain error is about.
fn column_of(e: &RevitalizationError) -> &'static str {
    match e {
        RevitalizationError::SharesDoNotSumToOne { .. } => "collectiveShare",
        RevitalizationError::TermOutOfRange(_) => "termMonths",
        RevitalizationError::NegativeAmount {
            field: "annual rent",
        } => "annualRentFen",
        RevitalizationError::NegativeAmount {
            field: "investment",
        } => "investmentFen",
        RevitalizationError::NegativeAmount { .. }
        | RevitalizationError::CompensationWithoutRelinquishment => "compensationFen",
        RevitalizationError::JobsOutOfRange(_) => "jobsCreated",
        RevitalizationError::AssetStatusMismatch { .. } => "assetCode",
        RevitalizationError::StartDateTooEarly(_) => "startDate",
        RevitalizationError::Text(_) => "contractNo",
    }
}

impl Importer for Revitalizations {
    type Check = Checker;
    const COLUMNS: &'static [Column] = COLUMNS;
    const ENTITY: &'static str = "revitalization";

    async fn write(
        &mut self,
        txn: &DatabaseTransaction,
        batch: Vec<(usize, Checked)>,
        mode: &Mode,
    ) -> StoreResult<Vec<(usize, Outcome)>> {
        let codes: Vec<&str> = batch.iter().map(|(_, c)| c.asset_code.as_str()).collect();
        let assets = db::assets::by_codes(txn, &codes).await?;
        let keys: Vec<&str> = batch
            .iter()
            .filter_map(|(_, c)| c.counterparty_key.as_deref())
            .collect();
        let parties = db::parties::ids_by_keys(txn, &keys).await?;
        let nos: Vec<&str> = batch
            .iter()
            .filter_map(|(_, c)| c.draft.contract_no.as_deref())
            .collect();
        let by_no = db::revitalization::by_contract_nos(txn, &nos).await?;
        // Records without a contract number are known by asset, mode and start date.
        let asset_ids: Vec<i64> = batch
            .iter()
            .filter(|(_, c)| c.draft.contract_no.is_none())
            .filter_map(|(_, c)| assets.get(&c.asset_code).map(|a| a.id))
            .collect();
        let of_assets = db::revitalization::of_assets(txn, &asset_ids).await?;
        // A record's key within the file: its contract number, or asset, mode and start.
        let mut seen: HashSet<String> = HashSet::new();
        let mut outcomes = Vec::with_capacity(batch.len());
        for (row, c) in batch {
            let Some(asset) = assets.get(&c.asset_code) else {
                let message = "no asset has this code";
                let outcome =
                    Outcome::refused(row, "assetCode", &c.asset_code, "BAD_INPUT", message);
                outcomes.push((row, outcome));
                continue;
            };
            if mode.only_township.is_some_and(|t| t != asset.township_id) {
                let message = "the asset lies in a township this token may not change";
                let outcome =
                    Outcome::refused(row, "assetCode", &c.asset_code, "FORBIDDEN", message);
                outcomes.push((row, outcome));
                continue;
            }
            let counterparty = match &c.counterparty_key {
                None => None,
                Some(k) => match parties.get(k) {
                    Some(id) => Some(*id),
                    None => {
                        let message =
                            "no party has this household number, credit code or ID number";
                        let outcome =
                            Outcome::refused(row, "counterpartyKey", k, "BAD_INPUT", message);
                        outcomes.push((row, outcome));
                        continue;
                    }
                },
            };
            let status = match AssetStatus::parse(&asset.status) {
                Ok(s) => s,
                Err(e) => {
                    let outcome = Outcome::refused(row, "assetCode", "", "INTERNAL", e.to_string());
                    outcomes.push((row, outcome));
                    continue;
                }
            };
            let (draft_mode, start) = (c.draft.mode, c.draft.start_date);
            let new = match c.draft.validate(status) {
                Ok(n) => n,
                Err(e) => {
                    let column = column_of(&e);
                    let err = AppError::from(e);
                    let outcome = Outcome::refused(
                        row,
                        column,
                        "",
                        err.code().as_str(),
                        err.message().to_owned(),
                    );
                    outcomes.push((row, outcome));
                    continue;
                }
            };
            let no = new.contract_no.clone().unwrap_or_default();
            let current: Option<&revitalization::Model> = match &new.contract_no {
                Some(no) => by_no.get(no),
                None => of_assets.get(&asset.id).and_then(|records| {
                    records.iter().find(|r| {
                        r.contract_no.is_none()
                            && r.mode == draft_mode.as_str()
                            && r.start_date == start
                    })
                }),
            };
            let earlier =
                current.is_some_and(|r| r.id > self.watermark || self.updated.contains(&r.id));
            let key = match &new.contract_no {
                Some(no) => format!("contract {no}"),
                None => format!("{} {} {start}", asset.id, draft_mode.as_str()),
            };
            if earlier || !seen.insert(key) {
                let message = "the record appears earlier in this file";
                outcomes.push((
                    row,
                    Outcome::refused(row, "contractNo", &no, "CONFLICT", message),
                ));
                continue;
            }
            match current {
                Some(_) if !mode.upsert => {
                    let message = "this record exists; import with --upsert to update it";
                    outcomes.push((row, Outcome::exists(row, "contractNo", &no, message)));
                }
                Some(r) if r.asset_id != asset.id => {
                    let message = "the contract is recorded on another asset";
                    outcomes.push((
                        row,
                        Outcome::refused(row, "assetCode", &no, "CONFLICT", message),
                    ));
                }
                Some(r) => {
                    db::revitalization::update(txn, r, counterparty, &new).await?;
                    self.updated.insert(r.id);
                    outcomes.push((row, Outcome::Updated));
                }
                None => {
                    db::revitalization::insert(txn, asset.id, counterparty, &new).await?;
                    outcomes.push((row, Outcome::Inserted));
                }
            }
        }
        Ok(outcomes)
    }
}
