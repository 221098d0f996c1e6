//! Idle assets (闲置资产): placed by their location, owned by a party named by its household
//! number, credit code or ID number, their footprints held to the topology rule against the
//! registry and the rest of the file.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, Statement};

use super::source::{Column, Role, Row};
use super::{Check, Importer, Mode, Outcome, RowError};
use crate::db::entities::idle_asset;
use crate::db::{self, StoreResult};
use crate::domain::assets::{self, AssetStatus, IdleAssetAttributes, IdleAssetDraft};
use crate::domain::geometry::Area;
use crate::domain::locator::{Locator, Placement};

pub(super) const COLUMNS: &[Column] = &[
    Column::new("code", &["资产编号", "编号"]).required(),
    Column::new("kind", &["类型", "资产类型"]).required(),
    Column::new("status", &["状态"]),
    Column::new("townshipCode", &["乡镇代码"]),
    Column::new("villageCode", &["村代码", "行政村代码", "村"]),
    Column::new("ownerKey", &["户号", "权利人", "产权人户号"]).required(),
    Column::new("lon", &["经度"]).required().role(Role::X),
    Column::new("lat", &["纬度"]).required().role(Role::Y),
    Column::new("footprint", &["占地范围", "图斑"]).role(Role::Shape),
    Column::new("landAreaM2", &["占地面积"]),
    Column::new("floorAreaM2", &["建筑面积"]),
    Column::new("structure", &["结构", "房屋结构"]),
    Column::new("yearBuilt", &["建成年份", "建造年份"]),
    Column::new("condition", &["状况", "房屋状况"]),
    Column::new("idleSince", &["闲置起始日期", "闲置时间"]),
    Column::new("idleCause", &["闲置原因"]),
    Column::new("ownerWillingness", &["盘活意愿", "意愿"]),
    Column::new("address", &["地址"]),
];

/// An asset row checked on its own.
pub struct Checked {
    attrs: IdleAssetAttributes,
    status: AssetStatus,
    owner_key: String,
    place: Placement,
}

pub struct Checker {
    locator: Locator,
    townships: HashMap<i64, String>,
    /// Village id → (code, name).
    villages: HashMap<i64, (String, String)>,
    only_township: Option<i64>,
    today: NaiveDate,
}

impl Check for Checker {
    type Checked = Checked;

    fn check(&mut self, r: &Row) -> Result<Checked, RowError> {
        // In a GeoJSON file a Point feature gives lon and lat.
        let (lon, lat) = r
            .point("lon", "lat")?
            .ok_or_else(|| r.error("lon", "BAD_INPUT", "a longitude and a latitude are needed"))?;
        let draft = IdleAssetDraft {
            code: r.required("code")?.to_owned(),
            kind: Some(
                r.code("kind", assets::AssetKind::parse)?
                    .ok_or_else(|| r.error("kind", "BAD_INPUT", "`kind` is needed"))?,
            ),
            lon,
            lat,
            footprint: r.shape("footprint")?,
            land_area_m2: r.number("landAreaM2")?,
            floor_area_m2: r.number("floorAreaM2")?,
            structure: r.code("structure", assets::Structure::parse)?,
            year_built: r.parse::<i32>("yearBuilt", "a year")?,
            condition: r.code("condition", assets::Condition::parse)?,
            idle_since: r.date("idleSince")?,
            idle_cause: r.code("idleCause", assets::IdleCause::parse)?,
            owner_willingness: r.code("ownerWillingness", assets::OwnerWillingness::parse)?,
            address: r.text("address").map(str::to_owned),
        };
        let attrs = draft.validate(self.today).map_err(|e| {
            let err = crate::error::AppError::from(e);
            r.error("", err.code().as_str(), err.message())
        })?;
        let place = self.locator.locate(attrs.location).ok_or_else(|| {
            r.error(
                "lon",
                "INVALID_GEOMETRY",
                "the location lies outside every township of the district",
            )
        })?;
        if self.only_township.is_some_and(|t| t != place.township_id) {
            return Err(r.error(
                "lon",
                "FORBIDDEN",
                "the location lies outside the township this token may change",
            ));
        }
        if let Some(given) = r.text("townshipCode")
            && self.townships.get(&place.township_id).map(String::as_str) != Some(given)
        {
            return Err(r.error(
                "townshipCode",
                "BAD_INPUT",
                "the location lies in another township than the one named",
            ));
        }
        if let Some(given) = r.text("villageCode") {
            let found = place.village_id.and_then(|v| self.villages.get(&v));
            if !found.is_some_and(|(code, name)| code == given || name == given) {
                return Err(r.error(
                    "villageCode",
                    "BAD_INPUT",
                    "the location lies in another village than the one named (by code or name)",
                ));
            }
        }
        let status = r
            .code("status", AssetStatus::parse)?
            .unwrap_or(AssetStatus::Identified);
        Ok(Checked {
            attrs,
            status,
            owner_key: r.required("ownerKey")?.to_owned(),
            place,
        })
    }
}

pub struct Assets {
    /// A bulk load builds the table's secondary indexes and foreign keys once, at its end.
    bulk: bool,
    deferred: Option<db::assets::Deferred>,
    /// Assets with a higher id were written by this import.
    watermark: i64,
    /// Assets this import updated.
    updated: HashSet<i64>,
    /// The last batch's inserts, built and not yet run: they run while the next batch is
    /// decided, so that the database and the importer do not take turns.
    pending: Option<Pending>,
}

/// A batch's inserts, and the codes they store.
#[derive(Default)]
struct Pending {
    statements: Vec<Statement>,
    codes: HashSet<String>,
}

impl Assets {
    pub async fn new(
        db: &DatabaseConnection,
        mode: Mode,
        today: NaiveDate,
    ) -> StoreResult<(Self, Checker)> {
        let locator = db::places::locator(db)
            .await
            .map_err(|e| db::StoreError::from(sea_orm::DbErr::Custom(format!("{e:#}"))))?;
        let townships = db::places::all_townships(db)
            .await?
            .into_iter()
            .map(|t| (t.id, t.code))
            .collect();
        let villages = db::places::all_villages(db)
            .await?
            .into_iter()
            .map(|v| (v.id, (v.code, v.name)))
            .collect();
        let checker = Checker {
            locator,
            townships,
            villages,
            only_township: mode.only_township,
            today,
        };
        let importer = Self {
            bulk: mode.bulk,
            deferred: None,
            watermark: db::max_id::<idle_asset::Entity>(db, idle_asset::Column::Id).await?,
            updated: HashSet::new(),
            pending: None,
        };
        Ok((importer, checker))
    }
}

impl Importer for Assets {
    type Check = Checker;
    const COLUMNS: &'static [Column] = COLUMNS;
    const ENTITY: &'static str = "idle_asset";

    async fn begin(&mut self, txn: &DatabaseTransaction) -> StoreResult<()> {
        if self.bulk {
            self.deferred = Some(db::assets::defer_upkeep(txn).await?);
        }
        Ok(())
    }

    async fn finish(&mut self, txn: &DatabaseTransaction) -> StoreResult<()> {
        self.flush(txn).await?;
        match self.deferred.take() {
            Some(deferred) => db::assets::restore_upkeep(txn, deferred).await,
            None => Ok(()),
        }
    }

    async fn write(
        &mut self,
        txn: &DatabaseTransaction,
        batch: Vec<(usize, Checked)>,
        mode: &Mode,
    ) -> StoreResult<Vec<(usize, Outcome)>> {
        let codes: Vec<&str> = batch.iter().map(|(_, c)| c.attrs.code.as_str()).collect();
        let existing = db::assets::by_codes(txn, &codes).await?;
        let keys: Vec<&str> = batch.iter().map(|(_, c)| c.owner_key.as_str()).collect();
        let owners = db::parties::ids_by_keys(txn, &keys).await?;
        // Deciding a batch that reads or writes the database itself (footprints searched for
        // overlaps, updates) needs the last batch stored first.
        let footprints = batch.iter().any(|(_, c)| c.attrs.footprint.is_some());
        if mode.upsert || footprints {
            self.flush(txn).await?;
        }
        if let Some(deferred) = self.deferred.as_mut()
            && footprints
        {
            deferred.spatial_index(txn).await?;
        }
        // The last batch's inserts run while this one is decided; its codes count as stored.
        let Pending { statements, codes } = self.pending.take().unwrap_or_default();
        let (stored, decided) = tokio::join!(
            run(txn, statements),
            self.decide(txn, &batch, &existing, &owners, &codes, mode),
        );
        stored?;
        let (outcomes, pending) = decided?;
        self.pending = Some(pending);
        Ok(outcomes)
    }
}

/// Runs `statements` in order.
async fn run(txn: &DatabaseTransaction, statements: Vec<Statement>) -> StoreResult<()> {
    for statement in statements {
        txn.execute_raw(statement).await?;
    }
    Ok(())
}

impl Assets {
    /// Stores the last batch's inserts, if they wait.
    async fn flush(&mut self, txn: &DatabaseTransaction) -> StoreResult<()> {
        if let Some(last) = self.pending.take() {
            run(txn, last.statements).await?;
        }
        Ok(())
    }

    /// The outcome of each row of `batch` against what the database holds (`existing` by code,
    /// `owners` by key) and the codes the last batch is storing; the updates are written, the
    /// inserts returned to be run.
    async fn decide(
        &mut self,
        txn: &DatabaseTransaction,
        batch: &[(usize, Checked)],
        existing: &HashMap<String, idle_asset::Model>,
        owners: &HashMap<String, i64>,
        storing: &HashSet<String>,
        mode: &Mode,
    ) -> StoreResult<(Vec<(usize, Outcome)>, Pending)> {
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut inserts = Vec::with_capacity(batch.len());
        let mut seen: HashSet<&str> = HashSet::new();
        // Footprints accepted from this batch, not yet in the database.
        let mut batch_land: Vec<(&str, &Area)> = Vec::new();
        for (row, c) in batch {
            let code = c.attrs.code.as_str();
            let current = existing.get(code);
            let earlier = current.is_some_and(|e| e.id > self.watermark)
                || current.is_some_and(|e| self.updated.contains(&e.id))
                || storing.contains(code);
            if !seen.insert(code) || earlier {
                let message = "the code appears earlier in this file";
                outcomes.push((
                    *row,
                    Outcome::refused(*row, "code", code, "CONFLICT", message),
                ));
                continue;
            }
            let Some(owner) = owners.get(&c.owner_key) else {
                let message = "no party has this household number, credit code or ID number";
                let outcome =
                    Outcome::refused(*row, "ownerKey", &c.owner_key, "BAD_INPUT", message);
                outcomes.push((*row, outcome));
                continue;
            };
            if let (Some(f), true) = (&c.attrs.footprint, c.status.holds_land()) {
                let nearby =
                    db::assets::active_footprints_near(txn, f.bbox(), current.map(|e| e.id))
                        .await?;
                let stored: Vec<(String, Area)> = nearby
                    .into_iter()
                    .filter_map(|(code, text)| {
                        Area::from_geojson_str(&text).ok().map(|a| (code, a))
                    })
                    .collect();
                let others = stored
                    .iter()
                    .map(|(c, a)| (c.as_str(), a))
                    .chain(batch_land.iter().copied());
                if let Err(e) = assets::check_footprint_overlap(f, others) {
                    let outcome =
                        Outcome::refused(*row, "footprint", "", "INVALID_GEOMETRY", e.to_string());
                    outcomes.push((*row, outcome));
                    continue;
                }
            }
            match current {
                Some(_) if !mode.upsert => {
                    let message =
                        "an asset with this code exists; import with --upsert to update it";
                    outcomes.push((*row, Outcome::exists(*row, "code", code, message)));
                    continue;
                }
                Some(e) if mode.only_township.is_some_and(|t| t != e.township_id) => {
                    let message = "the asset lies in a township this token may not change";
                    outcomes.push((
                        *row,
                        Outcome::refused(*row, "code", code, "FORBIDDEN", message),
                    ));
                    continue;
                }
                Some(e) if e.status != c.status.as_str() => {
                    let message = format!(
                        "the asset is {}; a status changes through its lifecycle, not an import",
                        e.status
                    );
                    let outcome =
                        Outcome::refused(*row, "status", c.status.as_str(), "BAD_INPUT", message);
                    outcomes.push((*row, outcome));
                    continue;
                }
                Some(e) => {
                    db::assets::update(txn, e.id, e.version, &c.attrs, *owner, c.place).await?;
                    self.updated.insert(e.id);
                    outcomes.push((*row, Outcome::Updated));
                }
                None => {
                    inserts.push((&c.attrs, c.status, *owner, c.place));
                    outcomes.push((*row, Outcome::Inserted));
                }
            }
            if let (Some(f), true) = (&c.attrs.footprint, c.status.holds_land()) {
                batch_land.push((code, f));
            }
        }
        let pending = Pending {
            statements: db::assets::insert_many(txn.get_database_backend(), &inserts)?,
            codes: inserts.iter().map(|(a, ..)| a.code.clone()).collect(),
        };
        Ok((outcomes, pending))
    }
}
