//! Demonstration sites (示范点/样板) and their yearly indicators.

use async_graphql::connection::Connection;
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, Object, Result};

use super::ListTotal;
use super::access::{Details, caller};
use super::asset::{IdleAsset, Party};
use super::audit::{AuditEvent, audit_connection, history_of};
use super::geo;
use super::ids::Kind;
use super::loaders::{AssetKey, DbLoader, IndicatorsOf, PartyKey, SiteAssetsOf};
use super::place::{Township, Village, township_of, village_of};
use super::scalars::{GeoJson, Long};
use super::stored;
use crate::db;
use crate::db::entities::{demo_indicator, demo_site, idle_asset};
use crate::domain::datum::Crs;
use crate::domain::demo_sites::{DemoSiteLevel, IndicatorCode, IndicatorUnit};
use crate::domain::geometry::{Area, Location, Measures, measures};
use crate::error::AppError;

/// A demonstration site (示范点/惠农共富样板): a village or base that shows what revitalization
/// achieved, e.g. 东川白家七星山庄.
pub struct DemoSite(pub demo_site::Model);

impl DemoSite {
    fn location_(&self) -> Result<Location> {
        Location::parse(self.0.lon, self.0.lat).map_err(|e| AppError::internal(e).into())
    }

    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<idle_asset::Model>> {
        let loader = ctx.data::<DataLoader<DbLoader>>()?;
        let ids = loader
            .load_one(SiteAssetsOf(self.0.id))
            .await?
            .unwrap_or_default();
        let assets = loader.load_many(ids.iter().map(|id| AssetKey(*id))).await?;
        Ok(ids
            .iter()
            .filter_map(|id| assets.get(&AssetKey(*id)).cloned())
            .collect())
    }

    /// The site's land: its assets' footprints, with the site's own location. Totals are the
    /// same for every caller; where the land lies (centroid, box) is told from footprints only
    /// to a caller who may see them, else from the public points.
    async fn measures(&self, ctx: &Context<'_>) -> Result<Measures> {
        let who = caller(ctx);
        let members = self.members(ctx).await?;
        let mut points = vec![self.location_()?];
        let mut areas = Vec::new();
        for m in &members {
            let at = Location::parse(m.lon, m.lat).map_err(AppError::internal)?;
            points.push(who.visible_location(at));
            if let Some(f) = m.footprint.as_deref() {
                areas.push(db::geometry::read_area(f).map_err(AppError::internal)?);
            }
        }
        let areas: Vec<&Area> = areas.iter().collect();
        let missing = || AppError::internal("a site always has its own location");
        let whole = measures(&areas, &points).ok_or_else(missing)?;
        if who.is_anonymous() {
            let public = measures(&[], &points).ok_or_else(missing)?;
            return Ok(Measures {
                centroid: public.centroid,
                bbox: public.bbox,
                ..whole
            });
        }
        Ok(whole)
    }
}

/// A demonstration site (示范点/惠农共富样板): a village or base that shows what revitalization
/// achieved, e.g. 东川白家七星山庄.
#[Object]
impl DemoSite {
    /// Global ID.
    pub async fn id(&self) -> ID {
        Kind::DemoSite.id(self.0.id)
    }

    /// Code (编号).
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// Name (名称).
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Level of the designation (命名级别).
    async fn level(&self) -> Result<DemoSiteLevel> {
        stored(DemoSiteLevel::parse(&self.0.level))
    }

    /// Year designated (命名年份).
    async fn designation_year(&self) -> i32 {
        self.0.designation_year
    }

    /// Theme (主题), e.g. 民宿康养.
    async fn theme(&self) -> Option<&str> {
        self.0.theme.as_deref()
    }

    /// Description (简介).
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// The operator (运营主体).
    async fn operator(&self, ctx: &Context<'_>) -> Result<Option<Party>> {
        let Some(id) = self.0.operator_id else {
            return Ok(None);
        };
        Ok(ctx
            .data::<DataLoader<DbLoader>>()?
            .load_one(PartyKey(id))
            .await?
            .map(Party))
    }

    /// Location (位置) as a GeoJSON Point.
    async fn location(
        &self,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<GeoJson> {
        Ok(geo::point_in(self.location_()?, crs))
    }

    /// Longitude in degrees (经度).
    async fn longitude(
        &self,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<f64> {
        Ok(geo::lon_lat_in(self.location_()?, crs).0)
    }

    /// Latitude in degrees (纬度).
    async fn latitude(
        &self,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<f64> {
        Ok(geo::lon_lat_in(self.location_()?, crs).1)
    }

    /// The village it lies in (所在村).
    async fn village(&self, ctx: &Context<'_>) -> Result<Option<Village>> {
        village_of(ctx, self.0.village_id).await
    }

    /// The township it lies in (所在乡镇).
    async fn township(&self, ctx: &Context<'_>) -> Result<Township> {
        township_of(ctx, self.0.township_id).await
    }

    /// The idle assets it put back to use (盘活的闲置资产).
    async fn revitalized_assets(&self, ctx: &Context<'_>) -> Result<Vec<IdleAsset>> {
        Ok(self
            .members(ctx)
            .await?
            .into_iter()
            .map(IdleAsset::from)
            .collect())
    }

    /// Total geodesic area of its revitalized assets' surveyed footprints, m² (示范点占地面积);
    /// 0 when none is surveyed.
    async fn area_square_meters(&self, ctx: &Context<'_>) -> Result<f64> {
        Ok(self.measures(ctx).await?.area_m2)
    }

    /// Total geodesic perimeter of those footprints, m (占地周长).
    async fn perimeter_meters(&self, ctx: &Context<'_>) -> Result<f64> {
        Ok(self.measures(ctx).await?.perimeter_m)
    }

    /// Centroid of those footprints (几何中心); the site's location when none is surveyed.
    async fn centroid(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<GeoJson> {
        Ok(geo::point_in(self.measures(ctx).await?.centroid, crs))
    }

    /// Bounding box [west, south, east, north] of the site and its assets (外包矩形); without a
    /// token, of the site and its assets' public (snapped) points.
    async fn bbox(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<Vec<f64>> {
        Ok(geo::bbox_in(self.measures(ctx).await?.bbox, crs))
    }

    /// Every change to this site, oldest first (变更记录).
    #[graphql(
        guard = "Details(\"a site's history\")",
        complexity = "super::paging::cost(first, last, child_complexity)"
    )]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, AuditEvent, ListTotal>> {
        audit_connection(
            ctx,
            history_of("demo_site", self.0.id),
            first,
            after,
            last,
            before,
        )
        .await
    }

    /// Version for optimistic locking (版本号): updates must send the version they read.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// Yearly indicators (年度指标), by year then code; optionally only some years or codes.
    async fn indicators(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only these years (年份).")] years: Option<Vec<i32>>,
        #[graphql(desc = "Only these indicators (指标).")] codes: Option<Vec<IndicatorCode>>,
    ) -> Result<Vec<DemoIndicator>> {
        let rows = ctx
            .data::<DataLoader<DbLoader>>()?
            .load_one(IndicatorsOf(self.0.id))
            .await?
            .unwrap_or_default();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let code = stored(IndicatorCode::parse(&row.code))?;
            let wanted_year = years.as_ref().is_none_or(|y| y.contains(&row.year));
            let wanted_code = codes.as_ref().is_none_or(|c| c.contains(&code));
            if wanted_year && wanted_code {
                out.push(DemoIndicator { row, code });
            }
        }
        Ok(out)
    }
}

/// One yearly indicator of a demonstration site (年度指标).
pub struct DemoIndicator {
    row: demo_indicator::Model,
    code: IndicatorCode,
}

/// One yearly indicator of a demonstration site (年度指标).
#[Object]
impl DemoIndicator {
    /// Year (年份).
    async fn year(&self) -> i32 {
        self.row.year
    }

    /// What it measures (指标).
    async fn code(&self) -> IndicatorCode {
        self.code
    }

    /// Unit of `value` (单位); money is in fen.
    async fn unit(&self) -> IndicatorUnit {
        self.code.unit()
    }

    /// The value, an integer in `unit` (数值).
    async fn value(&self) -> Long {
        Long(self.row.value)
    }

    /// Where the figure comes from (数据来源).
    async fn source(&self) -> Option<&str> {
        self.row.source.as_deref()
    }
}
