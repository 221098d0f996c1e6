//! Township and village boundaries changed inside the caller's write transaction: the one
//! implementation behind `upsertTownship`, `upsertVillage` and `import townships|villages`.
//! A change places every asset and site it may affect again, each move audited, and refuses a
//! change that would leave one outside every township. Who may change a boundary is the
//! caller's business (`domain::access`).

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::db::audit::{self, Actor, Change};
use crate::db::entities::{township, village};
use crate::db::{self, StoreError};
use crate::domain::geometry::{Area, BBox, Location};
use crate::domain::locator::Placement;
use crate::domain::places::{NewTownship, NewVillage};
use crate::error::AppError;

/// Why a boundary change was refused, or could not be made. The refusals name the record in the
/// way; the API and the import map them to `BAD_INPUT` with this text.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    #[error("no township has the code {0}")]
    UnknownTownship(String),
    #[error("the boundary overlaps township {name} ({code})")]
    OverlapsTownship { name: String, code: String },
    #[error("the boundary reaches outside township {0}")]
    OutsideTownship(String),
    #[error("the centre lies outside township {0}")]
    CentreOutsideTownship(String),
    #[error("village {0} belongs to another township")]
    VillageOfAnotherTownship(String),
    #[error("the boundary overlaps village {name} ({code})")]
    OverlapsVillage { name: String, code: String },
    #[error(
        "the change would leave {count} asset(s) outside every township, e.g. {example}; change the neighbouring boundary first"
    )]
    StrandsAssets { count: usize, example: String },
    #[error("the change would leave a demonstration site outside every township")]
    StrandsSite,
    /// A stored boundary or location no longer reads: the database was edited by hand.
    #[error("a stored {0} does not read")]
    Corrupt(String),
    #[error("the database failed")]
    Store(StoreError),
}

impl From<StoreError> for PlaceError {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}

impl PlaceError {
    /// The input column a refusal is about, for an import's row report.
    pub fn column(&self) -> &'static str {
        match self {
            Self::UnknownTownship(_) => "townshipCode",
            _ => "boundary",
        }
    }
}

/// Refusals are the caller's to fix (`BAD_INPUT`); a corrupt record or a failed database is
/// `INTERNAL` (or a `CONFLICT` when a concurrent writer took a key first).
impl From<PlaceError> for AppError {
    fn from(err: PlaceError) -> Self {
        match err {
            PlaceError::Store(e) => e.into(),
            PlaceError::Corrupt(_) => AppError::internal(err),
            refused => AppError::bad_input(refused.to_string()),
        }
    }
}

/// Who makes a change, for the audit trail.
pub struct Author {
    pub actor: Actor,
    pub request_id: Option<String>,
}

impl Author {
    pub(crate) async fn record(
        &self,
        conn: &impl ConnectionTrait,
        action: &str,
        entity: &str,
        id: i64,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> Result<(), StoreError> {
        let change = Change {
            action,
            entity,
            entity_id: Some(id),
            before,
            after,
            request_id: self.request_id.clone(),
        };
        audit::record(conn, &self.actor, change).await
    }
}

/// What a change stored, what it replaced, and how many assets and sites it moved.
pub struct Changed<M> {
    pub row: M,
    pub before: Option<M>,
    pub reassigned: i32,
}

fn union(a: BBox, b: Option<BBox>) -> BBox {
    match b {
        None => a,
        Some(b) => BBox {
            min_lon: a.min_lon.min(b.min_lon),
            min_lat: a.min_lat.min(b.min_lat),
            max_lon: a.max_lon.max(b.max_lon),
            max_lat: a.max_lat.max(b.max_lat),
        },
    }
}

fn stored_area(text: &str) -> Result<Area, PlaceError> {
    db::geometry::read_area(text).map_err(|e| PlaceError::Corrupt(format!("boundary ({e})")))
}

/// Places again every asset and site that `bbox` (or the township) may hold, against the
/// boundaries as they stand in `conn`; each move is audited. Returns how many moved.
async fn reassign(
    conn: &impl ConnectionTrait,
    by: &Author,
    bbox: BBox,
    township_id: i64,
) -> Result<i32, PlaceError> {
    let locator = db::places::locator(conn)
        .await
        .map_err(|e| PlaceError::Corrupt(format!("boundary ({e:#})")))?;
    let place = |t: i64, v: Option<i64>| Placement {
        township_id: t,
        village_id: v,
    };
    let location = |lon: f64, lat: f64| {
        Location::parse(lon, lat).map_err(|e| PlaceError::Corrupt(format!("location ({e})")))
    };
    let assets = db::assets::in_bbox_or_township(conn, bbox, Some(township_id)).await?;
    let mut records = Vec::with_capacity(assets.len());
    for a in &assets {
        records.push((
            a.id,
            location(a.lon, a.lat)?,
            place(a.township_id, a.village_id),
        ));
    }
    let moves = locator.reassign(records);
    if let Some(first) = moves.stranded.first() {
        let code = assets
            .iter()
            .find(|a| a.id == *first)
            .map(|a| a.code.clone())
            .unwrap_or_default();
        return Err(PlaceError::StrandsAssets {
            count: moves.stranded.len(),
            example: code,
        });
    }
    let moved =
        |to: &Placement| Some(json!({ "townshipId": to.township_id, "villageId": to.village_id }));
    for (id, to) in &moves.moved {
        db::assets::set_place(conn, *id, *to).await?;
        by.record(conn, "reassignPlace", "idle_asset", *id, None, moved(to))
            .await?;
    }
    let sites = db::demo_sites::all(conn).await?;
    let mut site_records = Vec::with_capacity(sites.len());
    for s in &sites {
        site_records.push((
            s.id,
            location(s.lon, s.lat)?,
            place(s.township_id, s.village_id),
        ));
    }
    let site_moves = locator.reassign(site_records);
    if !site_moves.stranded.is_empty() {
        return Err(PlaceError::StrandsSite);
    }
    for (id, to) in &site_moves.moved {
        db::demo_sites::set_place(conn, *id, *to).await?;
        by.record(conn, "reassignPlace", "demo_site", *id, None, moved(to))
            .await?;
    }
    Ok(i32::try_from(moves.moved.len() + site_moves.moved.len()).unwrap_or(i32::MAX))
}

/// Creates the township, or changes the one with its code; its boundary may overlap no other.
pub async fn upsert_township(
    conn: &impl ConnectionTrait,
    by: &Author,
    new: &NewTownship,
) -> Result<Changed<township::Model>, PlaceError> {
    let mut before = None;
    for t in db::places::all_townships(conn).await? {
        if t.code == new.code {
            before = Some(t);
        } else if new.boundary.overlaps(&stored_area(&t.boundary)?) {
            return Err(PlaceError::OverlapsTownship {
                name: t.name,
                code: t.code,
            });
        }
    }
    let old_bbox = before.as_ref().map(|t| BBox {
        min_lon: t.min_lon,
        min_lat: t.min_lat,
        max_lon: t.max_lon,
        max_lat: t.max_lat,
    });
    let row = match &before {
        Some(t) => db::places::update_township(conn, t.id, new).await?,
        None => db::places::insert_township(conn, new).await?,
    };
    let reassigned = reassign(conn, by, union(new.boundary.bbox(), old_bbox), row.id).await?;
    let action = if before.is_some() {
        "updateTownship"
    } else {
        "createTownship"
    };
    let was = before.as_ref().and_then(audit::snapshot);
    by.record(conn, action, "township", row.id, was, audit::snapshot(&row))
        .await?;
    Ok(Changed {
        row,
        before,
        reassigned,
    })
}

/// Creates the village in the township with `township_code`, or changes the one with its code;
/// it must lie inside its township and its boundary may overlap no other village.
pub async fn upsert_village(
    conn: &impl ConnectionTrait,
    by: &Author,
    township_code: &str,
    new: &NewVillage,
) -> Result<Changed<village::Model>, PlaceError> {
    let township = db::places::township_by_code(conn, township_code)
        .await?
        .ok_or_else(|| PlaceError::UnknownTownship(township_code.to_owned()))?;
    let township_area = stored_area(&township.boundary)?;
    if let Some(b) = &new.boundary {
        if !b.covered_by(&township_area) {
            return Err(PlaceError::OutsideTownship(township.name));
        }
    } else if !township_area.covers(new.center) {
        return Err(PlaceError::CentreOutsideTownship(township.name));
    }
    let mut before = None;
    for v in db::places::all_villages(conn).await? {
        if v.code == new.code {
            if v.township_id != township.id {
                return Err(PlaceError::VillageOfAnotherTownship(v.code));
            }
            before = Some(v);
        } else if let (Some(b), Some(other)) = (&new.boundary, &v.boundary)
            && b.overlaps(&stored_area(other)?)
        {
            return Err(PlaceError::OverlapsVillage {
                name: v.name,
                code: v.code,
            });
        }
    }
    let row = match &before {
        Some(v) => db::places::update_village(conn, v.id, new).await?,
        None => db::places::insert_village(conn, township.id, new).await?,
    };
    let bbox = BBox {
        min_lon: township.min_lon,
        min_lat: township.min_lat,
        max_lon: township.max_lon,
        max_lat: township.max_lat,
    };
    let reassigned = reassign(conn, by, bbox, township.id).await?;
    let action = if before.is_some() {
        "updateVillage"
    } else {
        "createVillage"
    };
    let was = before.as_ref().and_then(audit::snapshot);
    by.record(conn, action, "village", row.id, was, audit::snapshot(&row))
        .await?;
    Ok(Changed {
        row,
        before,
        reassigned,
    })
}
