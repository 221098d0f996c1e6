//! Idle assets ("两闲": 闲置农房, 闲置宅基地): the `IdleAsset` type, its listings (filtered,
//! ordered, in a region, nearest a point, as GeoJSON) and its registration and changes.

pub mod filter;
pub mod mutation;
pub mod query;
pub mod spatial;

use crate::db;
use crate::domain::assets::{
    AssetKind, AssetStatus, Condition, IdleCause, OwnerWillingness, Structure,
};
use crate::domain::datum::Crs;
use crate::domain::geometry::{Area, Location, Measures, measures};
use crate::error::AppError;
use crate::graphql::audit::AuditEvent;
use crate::graphql::audit::audit_connection;
use crate::graphql::audit::history_of;
use crate::graphql::common::context::Details;
use crate::graphql::common::context::caller;
use crate::graphql::common::context::db_conn;
use crate::graphql::common::context::stored;
use crate::graphql::common::geo;
use crate::graphql::common::ids::Kind;
use crate::graphql::common::loaders::DbLoader;
use crate::graphql::common::loaders::PartyKey;
use crate::graphql::common::loaders::RevitalizationsOf;
use crate::graphql::common::nodes::IdleAsset;
use crate::graphql::common::nodes::Party;
use crate::graphql::common::nodes::Revitalization;
use crate::graphql::common::nodes::Township;
use crate::graphql::common::nodes::Village;
use crate::graphql::common::paging::ListTotal;
use crate::graphql::common::scalars::GeoJson;
use async_graphql::connection::Connection;
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, NaiveDate, Utc};

impl IdleAsset {
    /// Measures of the footprint, or of the bare location where none was surveyed.
    fn measures(&self) -> Result<Option<Measures>> {
        let location = Location::parse(self.0.lon, self.0.lat).map_err(AppError::internal)?;
        let footprint = self
            .0
            .footprint
            .as_deref()
            .map(db::geometry::read_area)
            .transpose()
            .map_err(AppError::internal)?;
        let areas: Vec<&Area> = footprint.iter().collect();
        Ok(measures(&areas, &[location]))
    }

    fn visible_location(&self, ctx: &Context<'_>) -> Result<Location> {
        let exact = Location::parse(self.0.lon, self.0.lat).map_err(AppError::internal)?;
        Ok(caller(ctx).visible_location(exact))
    }
}

/// An idle farmhouse or homestead (闲置农房/闲置宅基地). Its township and village are derived
/// from its location, never entered.
#[Object]
impl IdleAsset {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::IdleAsset.id(self.0.id)
    }

    /// Distance in metres (距离, 米) from the point a listing measured from: the centre of
    /// `within: {circle: …}` or of `nearestIdleAssets`; null in other listings. Geodesic on
    /// WGS84, to the location the caller sees.
    async fn distance_meters(&self) -> Option<f64> {
        self.1.map(|d| (d * 100.0).round() / 100.0)
    }

    /// Survey code (资产编号), unique in the district.
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// Idle farmhouse or idle homestead (类型).
    async fn kind(&self) -> Result<AssetKind> {
        stored(AssetKind::parse(&self.0.kind))
    }

    /// Where it stands in its lifecycle (状态).
    async fn status(&self) -> Result<AssetStatus> {
        stored(AssetStatus::parse(&self.0.status))
    }

    /// Location (位置) as a GeoJSON Point. Without a token, the centre of the 0.005° grid cell
    /// (about 500 m) it lies in: enough for a map of what is on offer, not to find a house.
    async fn location(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<GeoJson> {
        Ok(geo::point_in(self.visible_location(ctx)?, crs))
    }

    /// Longitude in degrees (经度); snapped to the public grid without a token.
    async fn longitude(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<f64> {
        Ok(geo::lon_lat_in(self.visible_location(ctx)?, crs).0)
    }

    /// Latitude in degrees (纬度); snapped to the public grid without a token.
    async fn latitude(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<f64> {
        Ok(geo::lon_lat_in(self.visible_location(ctx)?, crs).1)
    }

    /// Footprint (占地范围) as a GeoJSON Polygon, where surveyed.
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn footprint(
        &self,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<Option<GeoJson>> {
        self.0
            .footprint
            .as_deref()
            .map(|t| geo::stored_in(t, crs))
            .transpose()
    }

    /// Geodesic area of the surveyed footprint on WGS84, m² (图斑面积); null without one.
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn area_square_meters(&self) -> Result<Option<f64>> {
        Ok(self
            .measures()?
            .filter(|_| self.0.footprint.is_some())
            .map(|m| m.area_m2))
    }

    /// Geodesic perimeter of the surveyed footprint, m (图斑周长); null without one.
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn perimeter_meters(&self) -> Result<Option<f64>> {
        Ok(self
            .measures()?
            .filter(|_| self.0.footprint.is_some())
            .map(|m| m.perimeter_m))
    }

    /// Centroid of the footprint (几何中心), or the location where none was surveyed.
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn centroid(
        &self,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<Option<GeoJson>> {
        Ok(self.measures()?.map(|m| geo::point_in(m.centroid, crs)))
    }

    /// Bounding box [west, south, east, north] of the footprint and location (外包矩形).
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn bbox(
        &self,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<Option<Vec<f64>>> {
        Ok(self.measures()?.map(|m| geo::bbox_in(m.bbox, crs)))
    }

    /// The property rights recorded on it (产权).
    #[graphql(guard = "Details(\"property rights\")")]
    async fn property_rights(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<crate::graphql::common::nodes::PropertyRight>> {
        Ok(
            Box::pin(db::rights::rights_on_asset(db_conn(ctx)?, self.0.id))
                .await?
                .into_iter()
                .map(crate::graphql::common::nodes::PropertyRight)
                .collect(),
        )
    }

    /// Land area in m² (占地面积): geodesic, from the footprint when there is one.
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn land_area_square_meters(&self) -> Option<f64> {
        self.0.land_area_m2
    }

    /// Floor area in m² (建筑面积).
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn floor_area_square_meters(&self) -> Option<f64> {
        self.0.floor_area_m2
    }

    /// Building structure (房屋结构).
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn structure(&self) -> Result<Option<Structure>> {
        self.0
            .structure
            .as_deref()
            .map(|s| stored(Structure::parse(s)))
            .transpose()
    }

    /// Year built (建成年份).
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn year_built(&self) -> Option<i32> {
        self.0.year_built
    }

    /// Physical condition (房屋状况).
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn condition(&self) -> Result<Option<Condition>> {
        self.0
            .condition
            .as_deref()
            .map(|s| stored(Condition::parse(s)))
            .transpose()
    }

    /// Idle since (闲置起始日期).
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn idle_since(&self) -> Option<NaiveDate> {
        self.0.idle_since
    }

    /// Why it stands idle (闲置原因).
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn idle_cause(&self) -> Result<Option<IdleCause>> {
        self.0
            .idle_cause
            .as_deref()
            .map(|s| stored(IdleCause::parse(s)))
            .transpose()
    }

    /// What the owner is willing to do (盘活意愿).
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn owner_willingness(&self) -> Result<Option<OwnerWillingness>> {
        self.0
            .owner_willingness
            .as_deref()
            .map(|s| stored(OwnerWillingness::parse(s)))
            .transpose()
    }

    /// Address (地址), e.g. 东川镇白家村3组12号.
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn address(&self) -> Option<&str> {
        self.0.address.as_deref()
    }

    /// The village it lies in (所在村), from its location; null if no village covers it.
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn village(&self, ctx: &Context<'_>) -> Result<Option<Village>> {
        match &self.2 {
            Some(joined) => Ok(joined.village.clone().map(Village)),
            None => Village::load(ctx, self.0.village_id).await,
        }
    }

    /// The township it lies in (所在乡镇), from its location.
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn township(&self, ctx: &Context<'_>) -> Result<Township> {
        Township::load(ctx, self.0.township_id).await
    }

    /// The owner (权利人): name and kind only.
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn owner(&self, ctx: &Context<'_>) -> Result<Party> {
        if let Some(joined) = &self.2 {
            return Ok(Party(joined.owner.clone()));
        }
        let p = ctx
            .data::<DataLoader<DbLoader>>()?
            .load_one(PartyKey(self.0.owner_id))
            .await?;
        p.map(Party)
            .ok_or_else(|| AppError::internal(format!("asset {} has no owner", self.0.id)).into())
    }

    /// How it was put to use (盘活记录), oldest first.
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn revitalizations(&self, ctx: &Context<'_>) -> Result<Vec<Revitalization>> {
        let rows = ctx
            .data::<DataLoader<DbLoader>>()?
            .load_one(RevitalizationsOf(self.0.id))
            .await?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .map(Revitalization)
            .collect())
    }

    /// Version for optimistic locking (版本号): updates must send the version they read.
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// Every change to this asset, oldest first (变更记录).
    #[graphql(
        guard = "Details(\"an asset's history\")",
        complexity = "crate::graphql::common::paging::cost(first, last, child_complexity)"
    )]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, AuditEvent, ListTotal>> {
        Box::pin(audit_connection(
            ctx,
            history_of("idle_asset", self.0.id),
            first,
            after,
            last,
            before,
        ))
        .await
    }

    /// When it was registered (登记时间).
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it last changed (更新时间).
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
