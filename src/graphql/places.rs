//! Townships (乡镇/街道) and villages (行政村/社区): their fields, the queries that find them
//! (by id, code or point), and the boundary changes the district office makes.

use async_graphql::connection::Connection;
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db;
use crate::db::statistics::Scope;
use crate::domain::assets::AssetStatus;
use crate::domain::datum::Crs;
use crate::domain::geometry::{Area, Location};
use crate::domain::locator::Placement;
use crate::domain::period::Period;
use crate::domain::places::{NewTownship, NewVillage};
use crate::error::AppError;
use crate::graphql::assets::filter::{
    AssetTotal, IdleAssetFilter, IdleAssetOrder, asset_connection,
};
use crate::graphql::common::context::{SharedLocator, author, caller, db_conn, id_or_code};
use crate::graphql::common::ids::Kind;
use crate::graphql::common::loaders::{
    DbLoader, StatusCountsOf, TownshipKey, VillageCollectiveOf, VillageKey,
};
use crate::graphql::common::nodes::{
    CollectiveOrganization, CoverageScope, IdleAsset, ShareCoverage, Statistics, Township, Village,
};
use crate::graphql::common::paging::{ListTotal, PageRequest, encode_cursor};
use crate::graphql::common::scalars::GeoJson;
use crate::graphql::common::{geo, ids};
use crate::services::places;

impl Township {
    fn area(&self) -> Result<Area> {
        db::geometry::read_area(&self.0.boundary).map_err(|e| AppError::internal(e).into())
    }
}

/// How many idle assets of a township have a status (按状态统计).
#[derive(SimpleObject)]
pub struct StatusCount {
    /// The status (状态).
    pub status: AssetStatus,
    /// Number of assets (数量).
    pub count: i64,
}

/// A township or subdistrict (乡镇/街道): the unit cadres work in.
#[Object]
impl Township {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::Township.id(self.0.id)
    }

    /// 12-digit statistical division code (统计用区划代码).
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// Name (名称), e.g. 东川镇.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Boundary (行政边界) as a GeoJSON MultiPolygon.
    async fn boundary(
        &self,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<GeoJson> {
        geo::stored_in(&self.0.boundary, crs)
    }

    /// Area on the WGS84 ellipsoid, in m² (面积).
    async fn area_square_meters(&self) -> Result<f64> {
        Ok(self.area()?.geodesic_area_m2())
    }

    /// Perimeter on the WGS84 ellipsoid, in metres (周长).
    async fn perimeter_meters(&self) -> Result<f64> {
        Ok(self.area()?.geodesic_perimeter_m())
    }

    /// Centroid (几何中心) as a GeoJSON Point.
    async fn centroid(
        &self,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<Option<GeoJson>> {
        Ok(self.area()?.centroid().map(|c| geo::point_in(c, crs)))
    }

    /// Version (版本号), raised by every boundary change.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// Bounding box [west, south, east, north] in degrees (外包矩形).
    async fn bbox(
        &self,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Vec<f64> {
        geo::bbox_in(
            crate::domain::geometry::BBox {
                min_lon: self.0.min_lon,
                min_lat: self.0.min_lat,
                max_lon: self.0.max_lon,
                max_lat: self.0.max_lat,
            },
            crs,
        )
    }

    /// The villages of this township (下辖村), in id order.
    #[graphql(complexity = "crate::graphql::common::paging::cost(first, last, child_complexity)")]
    async fn villages(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, Village, ListTotal>> {
        // Boxed, as every resolver that queries: an object's field futures are as large as its
        // largest, and every field of every object in a page is moved in one.
        Box::pin(village_connection(
            ctx,
            Some(self.0.id),
            Period::ALL,
            first,
            after,
            last,
            before,
        ))
        .await
    }

    /// The idle assets in this township (辖区内闲置资产); `filter.townshipId` is ignored.
    #[graphql(complexity = "crate::graphql::common::paging::cost(first, last, child_complexity)")]
    #[expect(
        clippy::too_many_arguments,
        reason = "each parameter is a GraphQL argument of the field"
    )]
    async fn idle_assets(
        &self,
        ctx: &Context<'_>,
        filter: Option<IdleAssetFilter>,
        order_by: Option<IdleAssetOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, IdleAsset, AssetTotal>> {
        let mut filter = filter.unwrap_or_default().into_db()?;
        filter.township_id = Some(self.0.id);
        Box::pin(asset_connection(
            ctx,
            filter,
            None,
            order_by.unwrap_or_default(),
            first,
            after,
            last,
            before,
        ))
        .await
    }

    /// Idle assets counted by status, every status listed (zero included) (按状态统计).
    async fn status_counts(&self, ctx: &Context<'_>) -> Result<Vec<StatusCount>> {
        let counts = ctx
            .data::<DataLoader<DbLoader>>()?
            .load_one(StatusCountsOf(self.0.id))
            .await?
            .unwrap_or_default();
        AssetStatus::ALL
            .iter()
            .map(|status| {
                let count = counts
                    .iter()
                    .filter(|(s, _)| s == status.as_str())
                    .map(|(_, n)| *n)
                    .sum();
                Ok(StatusCount {
                    status: *status,
                    count,
                })
            })
            .collect()
    }

    /// The "three changes" (三变) in this township (三变改革覆盖情况): organisations, members,
    /// shareholders, shares, contributions and dividends. Public.
    async fn share_coverage(&self) -> ShareCoverage {
        ShareCoverage(CoverageScope::Township(self.0.id))
    }

    /// The township's figures (乡镇统计): assets, revitalizations and the "three changes", by
    /// village, kind, status, year or month. Public, small cells suppressed without a token.
    async fn statistics(&self) -> Statistics {
        Statistics(Scope::Township(self.0.id))
    }
}

impl Village {
    fn area(&self) -> Result<Option<Area>> {
        let parsed = self
            .0
            .boundary
            .as_deref()
            .map(db::geometry::read_area)
            .transpose();
        parsed.map_err(|e| AppError::internal(e).into())
    }
}

/// An administrative village or community (行政村/社区).
#[Object]
impl Village {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::Village.id(self.0.id)
    }

    /// 12-digit statistical division code (统计用区划代码).
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// Name (名称), e.g. 白家村.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The township it belongs to (所属乡镇).
    async fn township(&self, ctx: &Context<'_>) -> Result<Township> {
        Township::load(ctx, self.0.township_id).await
    }

    /// Boundary (村界) as a GeoJSON Polygon or MultiPolygon; null where not surveyed.
    async fn boundary(
        &self,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<Option<GeoJson>> {
        self.0
            .boundary
            .as_deref()
            .map(|t| geo::stored_in(t, crs))
            .transpose()
    }

    /// Area on the WGS84 ellipsoid, in m² (面积); null without a surveyed boundary.
    async fn area_square_meters(&self) -> Result<Option<f64>> {
        Ok(self.area()?.map(|a| a.geodesic_area_m2()))
    }

    /// Perimeter on the WGS84 ellipsoid, in metres (周长).
    async fn perimeter_meters(&self) -> Result<Option<f64>> {
        Ok(self.area()?.map(|a| a.geodesic_perimeter_m()))
    }

    /// Centroid (几何中心) as a GeoJSON Point.
    async fn centroid(
        &self,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<Option<GeoJson>> {
        Ok(self
            .area()?
            .and_then(|a| a.centroid())
            .map(|c| geo::point_in(c, crs)))
    }

    /// Bounding box [west, south, east, north] of the surveyed boundary (外包矩形); null
    /// without one.
    async fn bbox(
        &self,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<Option<Vec<f64>>> {
        Ok(self.area()?.map(|a| geo::bbox_in(a.bbox(), crs)))
    }

    /// Centre point (村委会/中心点) as a GeoJSON Point.
    async fn center(
        &self,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<GeoJson> {
        let location =
            Location::parse(self.0.center_lon, self.0.center_lat).map_err(AppError::internal)?;
        Ok(geo::point_in(location, crs))
    }

    /// The idle assets in this village (村内闲置资产); `filter.villageId` is ignored.
    #[graphql(complexity = "crate::graphql::common::paging::cost(first, last, child_complexity)")]
    #[expect(
        clippy::too_many_arguments,
        reason = "each parameter is a GraphQL argument of the field"
    )]
    async fn idle_assets(
        &self,
        ctx: &Context<'_>,
        filter: Option<IdleAssetFilter>,
        order_by: Option<IdleAssetOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, IdleAsset, AssetTotal>> {
        let mut filter = filter.unwrap_or_default().into_db()?;
        filter.village_id = Some(self.0.id);
        Box::pin(asset_connection(
            ctx,
            filter,
            None,
            order_by.unwrap_or_default(),
            first,
            after,
            last,
            before,
        ))
        .await
    }

    /// The village's collective economic organisation (村集体经济组织): its stock or economic
    /// cooperative, null while none is registered.
    async fn collective_organization(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<CollectiveOrganization>> {
        Ok(ctx
            .data::<DataLoader<DbLoader>>()?
            .load_one(VillageCollectiveOf(self.0.id))
            .await?
            .map(CollectiveOrganization))
    }

    /// The "three changes" (三变) in this village (三变改革覆盖情况). Public.
    async fn share_coverage(&self) -> ShareCoverage {
        ShareCoverage(CoverageScope::Village(self.0.id))
    }

    /// The village's figures (村统计): assets, revitalizations and the "three changes", by kind,
    /// status, year or month. Public, small cells suppressed without a token.
    async fn statistics(&self) -> Statistics {
        Statistics(Scope::Village(self.0.id))
    }
}

pub async fn township_connection(
    ctx: &Context<'_>,
    updated: Period,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<Connection<String, Township, ListTotal>> {
    let page = PageRequest::new("ID", first, after, last, before)?;
    let rows = db::places::townships_page(
        db_conn(ctx)?,
        updated,
        page.after_id(),
        page.backward,
        page.fetch(),
    )
    .await?;
    Ok(page.connection(
        rows,
        |t| encode_cursor("ID", "", t.id),
        Township,
        ListTotal::Townships(updated),
    ))
}

pub async fn village_connection(
    ctx: &Context<'_>,
    township_id: Option<i64>,
    updated: Period,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<Connection<String, Village, ListTotal>> {
    let page = PageRequest::new("ID", first, after, last, before)?;
    let rows = db::places::villages_page(
        db_conn(ctx)?,
        township_id,
        updated,
        page.after_id(),
        page.backward,
        page.fetch(),
    )
    .await?;
    Ok(page.connection(
        rows,
        |v| encode_cursor("ID", "", v.id),
        Village,
        ListTotal::Villages(township_id, updated),
    ))
}

/// Reads an optional township ID argument.
pub fn township_id(id: Option<&ID>) -> Result<Option<i64>, AppError> {
    id.map(|id| ids::decode_as(id, Kind::Township)).transpose()
}

/// Where a point lies, by the shared boundary locator (the one mutations place records with).
fn place_of(ctx: &Context<'_>, lon: f64, lat: f64, crs: Crs) -> Result<Option<Placement>> {
    let (lon, lat) = crs.to_wgs84(lon, lat);
    let location = Location::parse(lon, lat).map_err(AppError::from)?;
    let locator = ctx.data::<SharedLocator>()?;
    let locator = locator
        .read()
        .map_err(|_| AppError::internal("the locator lock is poisoned"))?;
    Ok(locator.locator.locate(location))
}

/// Townships and villages (乡镇, 村).
#[derive(Default)]
pub struct PlacesQuery;

#[Object]
impl PlacesQuery {
    /// Townships of the district (乡镇/街道), in id order.
    #[graphql(complexity = "crate::graphql::common::paging::cost(first, last, child_complexity)")]
    async fn townships(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only those changed at or after this instant (更新时间不早于).")]
        updated_since: Option<DateTime<Utc>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, Township, ListTotal>> {
        let updated = Period::since_opt(updated_since);
        township_connection(ctx, updated, first, after, last, before).await
    }

    /// One township by global ID or by 12-digit division code (乡镇).
    async fn township(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        code: Option<String>,
    ) -> Result<Option<Township>> {
        match id_or_code(id.as_ref(), code.as_deref())? {
            Some(id) => {
                let n = ids::decode_as(id, Kind::Township)?;
                Ok(ctx
                    .data::<DataLoader<DbLoader>>()?
                    .load_one(TownshipKey(n))
                    .await?
                    .map(Township))
            }
            None => Ok(db::places::township_by_code(
                db_conn(ctx)?,
                code.as_deref().unwrap_or_default(),
            )
            .await?
            .map(Township)),
        }
    }

    /// Villages (行政村/社区), optionally of one township, in id order.
    #[graphql(complexity = "crate::graphql::common::paging::cost(first, last, child_complexity)")]
    #[expect(
        clippy::too_many_arguments,
        reason = "each parameter is a GraphQL argument of the field"
    )]
    async fn villages(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only villages of this township (乡镇).")] township_id: Option<ID>,
        #[graphql(desc = "Only those changed at or after this instant (更新时间不早于).")]
        updated_since: Option<DateTime<Utc>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, Village, ListTotal>> {
        let township = self::township_id(township_id.as_ref())?;
        let updated = Period::since_opt(updated_since);
        village_connection(ctx, township, updated, first, after, last, before).await
    }

    /// One village by global ID or by 12-digit division code (村).
    async fn village(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        code: Option<String>,
    ) -> Result<Option<Village>> {
        match id_or_code(id.as_ref(), code.as_deref())? {
            Some(id) => {
                let n = ids::decode_as(id, Kind::Village)?;
                Ok(ctx
                    .data::<DataLoader<DbLoader>>()?
                    .load_one(VillageKey(n))
                    .await?
                    .map(Village))
            }
            None => Ok(db::places::village_by_code(
                db_conn(ctx)?,
                code.as_deref().unwrap_or_default(),
            )
            .await?
            .map(Village)),
        }
    }
}

/// The township or village at a point (坐标定位).
#[derive(Default)]
pub struct PlaceAtQuery;

#[Object]
impl PlaceAtQuery {
    /// The township a point lies in (坐标所在乡镇); null outside the district.
    async fn township_at(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Longitude (经度).")] longitude: f64,
        #[graphql(desc = "Latitude (纬度).")] latitude: f64,
        #[graphql(default, desc = "Datum of the point (坐标系).")] crs: Crs,
    ) -> Result<Option<Township>> {
        let Some(place) = place_of(ctx, longitude, latitude, crs)? else {
            return Ok(None);
        };
        Ok(ctx
            .data::<DataLoader<DbLoader>>()?
            .load_one(TownshipKey(place.township_id))
            .await?
            .map(Township))
    }

    /// The village a point lies in (坐标所在村); null outside every village.
    async fn village_at(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Longitude (经度).")] longitude: f64,
        #[graphql(desc = "Latitude (纬度).")] latitude: f64,
        #[graphql(default, desc = "Datum of the point (坐标系).")] crs: Crs,
    ) -> Result<Option<Village>> {
        let Some(village) = place_of(ctx, longitude, latitude, crs)?.and_then(|p| p.village_id)
        else {
            return Ok(None);
        };
        Ok(ctx
            .data::<DataLoader<DbLoader>>()?
            .load_one(VillageKey(village))
            .await?
            .map(Village))
    }
}

/// Boundary administration (区划管理), for the district office.
#[derive(Default)]
pub struct PlacesMutation;

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
    crate::graphql::common::geo::input(value, crs)
}

/// After a commit, the shared locator is rebuilt from what is stored.
pub(crate) async fn refresh_locator(ctx: &Context<'_>) -> Result<()> {
    let shared = ctx.data::<SharedLocator>()?;
    crate::graphql::common::context::reload_locator(db_conn(ctx)?, shared).await?;
    Ok(())
}

#[Object]
impl PlacesMutation {
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
