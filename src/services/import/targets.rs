//! Targets (目标任务) from a district office's table: one row a goal, for the district (no
//! codes), a township (`townshipCode`) or a village (`villageCode`). A cadre's file may hold its
//! own township's villages only, as `setTarget` allows.

use std::collections::HashSet;

use sea_orm::DatabaseTransaction;

use super::source::{Column, Row};
use super::{Check, Importer, Mode, Outcome, RowError};
use crate::db::statistics::Scope;
use crate::db::targets::NewTarget;
use crate::db::{self, StoreResult};
use crate::domain::targets::{self, TargetMeasure};

pub(super) const COLUMNS: &[Column] = &[
    Column::new("year", &["年度", "年份"]).required(),
    Column::new("townshipCode", &["乡镇代码"]),
    Column::new("villageCode", &["村代码", "行政村代码"]),
    Column::new("measure", &["指标"]).required(),
    Column::new("value", &["目标值"]).required(),
    Column::new("note", &["说明", "备注"]),
];

/// A target checked on its own; its place is found when it is written.
pub struct Checked {
    year: i32,
    township: Option<String>,
    village: Option<String>,
    measure: TargetMeasure,
    value: f64,
    note: Option<String>,
}

#[derive(Default)]
pub struct Checker(HashSet<(i32, Option<String>, Option<String>, TargetMeasure)>);

impl Check for Checker {
    type Checked = Checked;

    fn check(&mut self, r: &Row) -> Result<Checked, RowError> {
        let year = r
            .parse::<i32>("year", "a year")?
            .ok_or_else(|| r.error("year", "BAD_INPUT", "`year` is needed"))?;
        let measure = r
            .code("measure", TargetMeasure::parse)?
            .ok_or_else(|| r.error("measure", "BAD_INPUT", "`measure` is needed"))?;
        let value = r
            .number("value")?
            .ok_or_else(|| r.error("value", "BAD_INPUT", "`value` is needed"))?;
        let note = r.text("note").map(str::to_owned);
        targets::check(measure, year, value, note.as_deref()).map_err(|e| {
            let column = match e {
                targets::TargetError::YearOutOfRange(_) => "year",
                targets::TargetError::NoteTooLong => "note",
                _ => "value",
            };
            r.error(column, "BAD_INPUT", e.to_string())
        })?;
        let township = r.text("townshipCode").map(str::to_owned);
        let village = r.text("villageCode").map(str::to_owned);
        if township.is_some() && village.is_some() {
            return Err(r.error(
                "villageCode",
                "BAD_INPUT",
                "give `townshipCode` or `villageCode`, not both: a village's target is the village's",
            ));
        }
        if !self
            .0
            .insert((year, township.clone(), village.clone(), measure))
        {
            return Err(r.error(
                "measure",
                "CONFLICT",
                "the same scope, year and measure appear earlier in this file",
            ));
        }
        Ok(Checked {
            year,
            township,
            village,
            measure,
            value,
            note,
        })
    }
}

pub struct Targets {
    set_by: String,
}

impl Targets {
    pub fn new(who: &super::Importing<'_>) -> (Self, Checker) {
        (
            Self {
                set_by: who.actor.label.clone(),
            },
            Checker::default(),
        )
    }
}

impl Importer for Targets {
    type Check = Checker;
    const COLUMNS: &'static [Column] = COLUMNS;
    const ENTITY: &'static str = "target";

    async fn write(
        &mut self,
        txn: &DatabaseTransaction,
        batch: Vec<(usize, Checked)>,
        mode: &Mode,
    ) -> StoreResult<Vec<(usize, Outcome)>> {
        let mut outcomes = Vec::with_capacity(batch.len());
        for (row, c) in batch {
            let scope = match (&c.township, &c.village) {
                (Some(code), _) => match db::places::township_by_code(txn, code).await? {
                    Some(t) => Scope::Township(t.id),
                    None => {
                        let m = "no township has this code";
                        outcomes.push((
                            row,
                            Outcome::refused(row, "townshipCode", code, "BAD_INPUT", m),
                        ));
                        continue;
                    }
                },
                (None, Some(code)) => match db::places::village_by_code(txn, code).await? {
                    Some(v) => {
                        if mode.only_township.is_some_and(|t| t != v.township_id) {
                            let m = "the village lies in a township this token may not change";
                            outcomes.push((
                                row,
                                Outcome::refused(row, "villageCode", code, "FORBIDDEN", m),
                            ));
                            continue;
                        }
                        Scope::Village(v.id)
                    }
                    None => {
                        let m = "no village has this code";
                        outcomes.push((
                            row,
                            Outcome::refused(row, "villageCode", code, "BAD_INPUT", m),
                        ));
                        continue;
                    }
                },
                (None, None) => Scope::District,
            };
            if mode.only_township.is_some() && !matches!(scope, Scope::Village(_)) {
                let m = "a cadre sets targets for the villages of its own township";
                let value = c.township.clone().unwrap_or_default();
                outcomes.push((
                    row,
                    Outcome::refused(row, "townshipCode", &value, "FORBIDDEN", m),
                ));
                continue;
            }
            match db::targets::find(txn, scope, c.year, c.measure).await? {
                Some(_) if !mode.upsert => {
                    let m = "this target is set; import with --upsert to change it";
                    outcomes.push((row, Outcome::exists(row, "measure", c.measure.as_str(), m)));
                }
                Some(t) => {
                    db::targets::update(txn, t.id, t.version, c.value, c.note, &self.set_by)
                        .await?;
                    outcomes.push((row, Outcome::Updated));
                }
                None => {
                    let new = NewTarget {
                        scope,
                        year: c.year,
                        measure: c.measure,
                        value: c.value,
                        note: c.note,
                        set_by: self.set_by.clone(),
                    };
                    db::targets::insert(txn, &new).await?;
                    outcomes.push((row, Outcome::Inserted));
                }
            }
        }
        Ok(outcomes)
    }
}
