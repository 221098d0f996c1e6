//! Townships (乡镇) and villages (村) with their boundaries, from WKT or GeoJSON. Each row is
//! the `upsertTownship` / `upsertVillage` mutation, in a savepoint of the import's
//! transaction: its own audit events, and the assets and sites it moves placed again.

use std::collections::HashSet;

use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};

use super::source::{Column, Role, Row};
use super::{Check, Importer, Importing, Mode, Outcome, RowError};
use crate::db::{self, StoreResult};
use crate::domain::geometry::Location;
use crate::domain::places::{AdminAreaError, NewTownship, NewVillage};
use crate::error::AppError;
use crate::services::places::{self, Author, Changed, PlaceError};

pub(super) const TOWNSHIP_COLUMNS: &[Column] = &[
    Column::new("code", &["区划代码", "乡镇代码", "代码"]).required(),
    Column::new("name", &["名称", "乡镇名称"]).required(),
    Column::new("boundary", &["边界", "范围"])
        .required()
        .role(Role::Shape),
];

pub(super) const VILLAGE_COLUMNS: &[Column] = &[
    Column::new("code", &["区划代码", "村代码", "代码"]).required(),
    Column::new("name", &["名称", "村名"]).required(),
    Column::new("townshipCode", &["乡镇代码", "所属乡镇代码"]).required(),
    Column::new("centerLon", &["中心经度", "经度"]).role(Role::X),
    Column::new("centerLat", &["中心纬度", "纬度"]).role(Role::Y),
    Column::new("boundary", &["村界", "边界", "范围"]).role(Role::Shape),
];

/// The column an area's error is about.
fn area_error(r: &Row, e: AdminAreaError, geometry: &str) -> RowError {
    let column = match &e {
        AdminAreaError::BadCode(_) | AdminAreaError::VillageOutsideTownshipCode { .. } => "code",
        AdminAreaError::Text(_) => "name",
        AdminAreaError::Geometry(_) => geometry,
    };
    let err = AppError::from(e);
    r.error(column, err.code().as_str(), err.message())
}

/// Codes met earlier in the file.
#[derive(Default)]
pub struct Seen(HashSet<String>);

impl Seen {
    fn first(&mut self, r: &Row, code: &str) -> Result<(), RowError> {
        if self.0.insert(code.to_owned()) {
            Ok(())
        } else {
            Err(r.error("code", "CONFLICT", "the code appears earlier in this file"))
        }
    }
}

pub struct TownshipCheck(Seen);

impl Check for TownshipCheck {
    type Checked = NewTownship;

    fn check(&mut self, r: &Row) -> Result<NewTownship, RowError> {
        let boundary = r
            .shape("boundary")?
            .ok_or_else(|| r.error("boundary", "INVALID_GEOMETRY", "a boundary is needed"))?;
        let new = NewTownship::parse(r.required("code")?, r.required("name")?, &boundary)
            .map_err(|e| area_error(r, e, "boundary"))?;
        self.0.first(r, &new.code)?;
        Ok(new)
    }
}

pub struct VillageCheck(Seen);

impl Check for VillageCheck {
    type Checked = (String, NewVillage);

    fn check(&mut self, r: &Row) -> Result<(String, NewVillage), RowError> {
        let center = r
            .point("centerLon", "centerLat")?
            .map(|(lon, lat)| {
                Location::parse(lon, lat).map_err(|e| {
                    let err = AppError::from(e);
                    r.error("centerLon", err.code().as_str(), err.message())
                })
            })
            .transpose()?;
        let boundary = r.shape("boundary")?;
        let township = r.required("townshipCode")?;
        let new = NewVillage::parse(
            township,
            r.required("code")?,
            r.required("name")?,
            boundary.as_ref(),
            center,
        )
        .map_err(|e| area_error(r, e, "boundary"))?;
        self.0.first(r, &new.code)?;
        Ok((township.to_owned(), new))
    }
}

fn refused(row: usize, column: &str, value: &str, err: &AppError) -> Outcome {
    Outcome::refused(row, column, value, err.code().as_str(), err.message())
}

/// Commits a row's savepoint when its change went through; rolls it back when it was refused,
/// naming the column the refusal is about.
async fn settle<M>(
    point: DatabaseTransaction,
    row: usize,
    done: Result<Changed<M>, PlaceError>,
) -> StoreResult<Outcome> {
    Ok(match done {
        Ok(changed) => {
            point.commit().await?;
            if changed.before.is_some() {
                Outcome::Updated
            } else {
                Outcome::Inserted
            }
        }
        Err(e) => {
            point.rollback().await?;
            let column = e.column();
            refused(row, column, "", &AppError::from(e))
        }
    })
}

fn exists(row: usize, code: &str, what: &str) -> Outcome {
    let message = format!("a {what} with this code exists; import with --upsert to change it");
    Outcome::exists(row, "code", code, message)
}

fn author(who: &Importing<'_>) -> Author {
    Author {
        actor: who.actor.clone(),
        request_id: None,
    }
}

pub struct Townships(Author);

impl Townships {
    pub async fn new(
        _: &DatabaseConnection,
        who: &Importing<'_>,
    ) -> StoreResult<(Self, TownshipCheck)> {
        Ok((Self(author(who)), TownshipCheck(Seen::default())))
    }
}

impl Importer for Townships {
    type Check = TownshipCheck;
    const COLUMNS: &'static [Column] = TOWNSHIP_COLUMNS;
    const ENTITY: &'static str = "township";

    async fn write(
        &mut self,
        txn: &DatabaseTransaction,
        batch: Vec<(usize, NewTownship)>,
        mode: &Mode,
    ) -> StoreResult<Vec<(usize, Outcome)>> {
        let mut outcomes = Vec::with_capacity(batch.len());
        for (row, new) in batch {
            if !mode.upsert
                && db::places::township_by_code(txn, &new.code)
                    .await?
                    .is_some()
            {
                outcomes.push((row, exists(row, &new.code, "township")));
                continue;
            }
            let point = txn.begin().await?;
            let done = places::upsert_township(&point, &self.0, &new).await;
            outcomes.push((row, settle(point, row, done).await?));
        }
        Ok(outcomes)
    }
}

pub struct Villages(Author);

impl Villages {
    pub async fn new(
        _: &DatabaseConnection,
        who: &Importing<'_>,
    ) -> StoreResult<(Self, VillageCheck)> {
        Ok((Self(author(who)), VillageCheck(Seen::default())))
    }
}

impl Importer for Villages {
    type Check = VillageCheck;
    const COLUMNS: &'static [Column] = VILLAGE_COLUMNS;
    const ENTITY: &'static str = "village";

    async fn write(
        &mut self,
        txn: &DatabaseTransaction,
        batch: Vec<(usize, (String, NewVillage))>,
        mode: &Mode,
    ) -> StoreResult<Vec<(usize, Outcome)>> {
        let mut outcomes = Vec::with_capacity(batch.len());
        for (row, (township, new)) in batch {
            if !mode.upsert && db::places::village_by_code(txn, &new.code).await?.is_some() {
                outcomes.push((row, exists(row, &new.code, "village")));
                continue;
            }
            let point = txn.begin().await?;
            let done = places::upsert_village(&point, &self.0, &township, &new).await;
            outcomes.push((row, settle(point, row, done).await?));
        }
        Ok(outcomes)
    }
}
