//! Township and village boundaries, for the district office. A boundary change places every
//! asset and site it may affect again, in the same transaction, and refuses a change that would
//! leave one outside every township.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};

use super::access::caller;
use super::db_conn;
use super::mutation::{SharedLocator, json, record};
use super::place::{Township, Village};
use super::scalars::GeoJson;
use crate::db;
use crate::domain::access::Actor;
use crate::domain::admin_area::{NewTownship, NewVillage};
use crate::domain::datum::Crs;
use crate::domain::geometry::{Area, BBox, Location};
use crate::domain::locator::Placement;
use crate::error::AppError;

/// Boundary administration (区划管理), for the district office.
#[derive(Default)]
pub struct BoundaryMutation;

/// Creates a township, or changes the one with this code (新增或修改乡镇).
#[derive(InputObject)]
pub struct UpsertTownshipInput {
    /// 12-digit division code (区划代码): a new code creates, a known one changes.
    pub code: String,
    /// Name (名称).
    pub name: String,
    /// Boundary (边界), a GeoJSON Polygon or MultiPolygon that overlaps no other township.
    pub boundary: GeoJson,
    /// Datum of the coordinates and geometry sent (坐标系): GCJ02 for AMap or Tencent, BD09 for
    /// Baidu; stored as WGS84.
    #[graphql(default)]
    pub crs: Crs,
}

/// Creates a village, or changes the one with this code (新增或修改村).
#[derive(InputObject)]
pub struct UpsertVillageInput {
    /// The township's division code (所属乡镇代码).
    pub township_code: String,
    /// 12-digit division code (区划代码), extending the township's.
    pub code: String,
    /// Name (名称).
    pub name: String,
    /// Boundary (村界), inside the township and overlapping no other village; optional.
    pub boundary: Option<GeoJson>,
    /// Centre longitude (中心经度), needed without a boundary.
    pub center_longitude: Option<f64>,
    /// Centre latitude (中心纬度).
    pub center_latitude: Option<f64>,
    /// Datum of the coordinates and geometry sent (坐标系): GCJ02 for AMap or Tencent, BD09 for
    /// Baidu; stored as WGS84.
    #[graphql(default)]
    pub crs: Crs,
}

/// The township as stored, and how many records its change moved.
#[derive(SimpleObject)]
pub struct TownshipPayload {
    /// The township (乡镇).
    pub township: Township,
    /// Assets and sites whose township or village changed (重新归属的记录数).
    pub reassigned: i32,
}

/// The village as stored, and how many records its change moved.
#[derive(SimpleObject)]
pub struct VillagePayload {
    /// The village (村).
    pub village: Village,
    /// Assets and sites whose village changed (重新归属的记录数).
    pub reassigned: i32,
}

fn geometry(value: GeoJson, crs: Crs) -> Result<geojson::Geometry, AppError> {
    super::geo::input(value, crs)
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

fn stored_area(text: &str) -> Result<Area, AppError> {
    db::geometry::read_area(text).map_err(AppError::internal)
}

/// Places again every asset and site that `bbox` (or the township) may hold, against the
/// boundaries as they stand in `txn`; each move is audited. Returns how many moved.
async fn reassign(
    ctx: &Context<'_>,
    txn: &sea_orm::DatabaseTransaction,
    actor: &Actor,
    bbox: BBox,
    township_id: i64,
) -> Result<i32> {
    let locator = db::place::locator(txn).await.map_err(AppError::internal)?;
    let place = |t: i64, v: Option<i64>| Placement {
        township_id: t,
        village_id: v,
    };
    let location = |lon: f64, lat: f64| Location::parse(lon, lat).map_err(AppError::internal);
    let assets = db::asset::in_bbox_or_township(txn, bbox, Some(township_id)).await?;
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
        return Err(AppError::bad_input(format!(
            "the change would leave {} asset(s) outside every township, e.g. {code}; change the neighbouring boundary first",
            moves.stranded.len()
        ))
        .into());
    }
    for (id, to) in &moves.moved {
        db::asset::set_place(txn, *id, *to).await?;
        let change = (
            None,
            Some(serde_json::json!({ "townshipId": to.township_id, "villageId": to.village_id })),
        );
        record(ctx, txn, actor, "reassignPlace", "idle_asset", *id, change).await?;
    }
    let sites = db::demo_site::all(txn).await?;
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
        return Err(AppError::bad_input(
            "the change would leave a demonstration site outside every township",
        )
        .into());
    }
    for (id, to) in &site_moves.moved {
        db::demo_site::set_place(txn, *id, *to).await?;
        let change = (
            None,
            Some(serde_json::json!({ "townshipId": to.township_id, "villageId": to.village_id })),
        );
        record(ctx, txn, actor, "reassignPlace", "demo_site", *id, change).await?;
    }
    Ok(i32::try_from(moves.moved.len() + site_moves.moved.len()).unwrap_or(i32::MAX))
}

/// After a commit, the shared locator is rebuilt from what is stored.
async fn refresh_locator(ctx: &Context<'_>) -> Result<()> {
    let fresh = db::place::locator(db_conn(ctx)?)
        .await
        .map_err(AppError::internal)?;
    let shared = ctx.data::<SharedLocator>()?;
    let mut guard = shared
        .write()
        .map_err(|_| AppError::internal("the locator lock is poisoned"))?;
    *guard = fresh;
    Ok(())
}

#[Object]
impl BoundaryMutation {
    /// Creates or changes a township and its boundary (新增或修改乡镇), placing affected
    /// assets and sites again.
    async fn upsert_township(
        &self,
        ctx: &Context<'_>,
        input: UpsertTownshipInput,
    ) -> Result<TownshipPayload> {
        let actor = caller(ctx)
            .may_administer("changing township boundaries")
            .map_err(AppError::from)?;
        let new = NewTownship::parse(
            &input.code,
            &input.name,
            &geometry(input.boundary, input.crs)?,
        )
        .map_err(AppError::from)?;
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let mut before = None;
        for t in db::place::all_townships(&txn).await? {
            if t.code == new.code {
                before = Some(t);
            } else if new.boundary.overlaps(&stored_area(&t.boundary)?) {
                return Err(AppError::bad_input(format!(
                    "the boundary overlaps township {} ({})",
                    t.name, t.code
                ))
                .into());
            }
        }
        let old_bbox = before.as_ref().map(|t| BBox {
            min_lon: t.min_lon,
            min_lat: t.min_lat,
            max_lon: t.max_lon,
            max_lat: t.max_lat,
        });
        let row = match &before {
            Some(t) => db::place::update_township(&txn, t.id, &new).await?,
            None => db::place::insert_township(&txn, &new).await?,
        };
        let reassigned = reassign(
            ctx,
            &txn,
            actor,
            union(new.boundary.bbox(), old_bbox),
            row.id,
        )
        .await?;
        let action = if before.is_some() {
            "updateTownship"
        } else {
            "createTownship"
        };
        record(
            ctx,
            &txn,
            actor,
            action,
            "township",
            row.id,
            (before.as_ref().and_then(json), json(&row)),
        )
        .await?;
        db::commit(txn).await?;
        refresh_locator(ctx).await?;
        Ok(TownshipPayload {
            township: Township(row),
            reassigned,
        })
    }

    /// Creates or changes a village (新增或修改村), placing the township's assets and sites
    /// again.
    async fn upsert_village(
        &self,
        ctx: &Context<'_>,
        input: UpsertVillageInput,
    ) -> Result<VillagePayload> {
        let actor = caller(ctx)
            .may_administer("changing village boundaries")
            .map_err(AppError::from)?;
        let center = match (input.center_longitude, input.center_latitude) {
            (Some(lon), Some(lat)) => {
                let (lon, lat) = input.crs.to_wgs84(lon, lat);
                Some(Location::parse(lon, lat).map_err(AppError::from)?)
            }
            (None, None) => None,
            _ => {
                return Err(AppError::bad_input(
                    "give centerLongitude and centerLatitude together",
                )
                .into());
            }
        };
        let boundary = input.boundary.map(|b| geometry(b, input.crs)).transpose()?;
        let new = NewVillage::parse(
            &input.township_code,
            &input.code,
            &input.name,
            boundary.as_ref(),
            center,
        )
        .map_err(AppError::from)?;
        let txn = db::begin_write(db_conn(ctx)?).await?;
        let township = db::place::township_by_code(&txn, &input.township_code)
            .await?
            .ok_or_else(|| {
                AppError::bad_input(format!("no township has the code {}", input.township_code))
            })?;
        let township_area = stored_area(&township.boundary)?;
        if let Some(b) = &new.boundary {
            if !b.covered_by(&township_area) {
                return Err(AppError::bad_input(format!(
                    "the boundary reaches outside township {}",
                    township.name
                ))
                .into());
            }
        } else if !township_area.covers(new.center) {
            return Err(AppError::bad_input(format!(
                "the centre lies outside township {}",
                township.name
            ))
            .into());
        }
        let mut before = None;
        for v in db::place::all_villages(&txn).await? {
            if v.code == new.code {
                if v.township_id != township.id {
                    return Err(AppError::bad_input(format!(
                        "village {} belongs to another township",
                        v.code
                    ))
                    .into());
                }
                before = Some(v);
            } else if let (Some(b), Some(other)) = (&new.boundary, &v.boundary)
                && b.overlaps(&stored_area(other)?)
            {
                return Err(AppError::bad_input(format!(
                    "the boundary overlaps village {} ({})",
                    v.name, v.code
                ))
                .into());
            }
        }
        let row = match &before {
            Some(v) => db::place::update_village(&txn, v.id, &new).await?,
            None => db::place::insert_village(&txn, township.id, &new).await?,
        };
        let bbox = BBox {
            min_lon: township.min_lon,
            min_lat: township.min_lat,
            max_lon: township.max_lon,
            max_lat: township.max_lat,
        };
        let reassigned = reassign(ctx, &txn, actor, bbox, township.id).await?;
        let action = if before.is_some() {
            "updateVillage"
        } else {
            "createVillage"
        };
        record(
            ctx,
            &txn,
            actor,
            action,
            "village",
            row.id,
            (before.as_ref().and_then(json), json(&row)),
        )
        .await?;
        db::commit(txn).await?;
        refresh_locator(ctx).await?;
        Ok(VillagePayload {
            village: Village(row),
            reassigned,
        })
    }
}
