//! Township and village boundaries, for the district office. A boundary change places every
//! asset and site it may affect again, in the same transaction, and refuses a change that would
//! leave one outside every township.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};

use super::access::caller;
use super::db_conn;
use super::mutation::{SharedLocator, author};
use super::place::{Township, Village};
use super::scalars::GeoJson;
use crate::db;
use crate::domain::datum::Crs;
use crate::domain::geometry::Location;
use crate::domain::places::{NewTownship, NewVillage};
use crate::error::AppError;
use crate::services::places;

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

/// After a commit, the shared locator is rebuilt from what is stored.
pub(crate) async fn refresh_locator(ctx: &Context<'_>) -> Result<()> {
    let fresh = db::places::locator(db_conn(ctx)?)
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
        let changed = places::upsert_township(&txn, &author(ctx, actor), &new).await?;
        db::commit(txn).await?;
        refresh_locator(ctx).await?;
        Ok(TownshipPayload {
            township: Township(changed.row),
            reassigned: changed.reassigned,
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
        let by = author(ctx, actor);
        let changed = places::upsert_village(&txn, &by, &input.township_code, &new).await?;
        db::commit(txn).await?;
        refresh_locator(ctx).await?;
        Ok(VillagePayload {
            village: Village(changed.row),
            reassigned: changed.reassigned,
        })
    }
}
