//! Townships (乡镇/街道) and villages (行政村/社区).

use async_graphql::connection::Connection;
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, Object, Result, SimpleObject};

use super::asset::{IdleAsset, IdleAssetFilter, IdleAssetOrder, asset_connection};
use super::geo;
use super::ids::{self, Kind};
use super::loaders::{DbLoader, StatusCountsOf, TownshipKey, VillageKey};
use super::paging::{PageRequest, encode_cursor};
use super::scalars::GeoJson;
use super::{ListTotal, db_conn};
use crate::db;
use crate::db::entities::{township, village};
use crate::domain::assets::AssetStatus;
use crate::domain::datum::Crs;
use crate::domain::geometry::{Area, Location};
use crate::error::AppError;

/// A township or subdistrict (乡镇/街道): the unit cadres work in.
pub struct Township(pub township::Model);

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
    #[graphql(complexity = "super::paging::cost(first, last, child_complexity)")]
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
            first,
            after,
            last,
            before,
        ))
        .await
    }

    /// The idle assets in this township (辖区内闲置资产); `filter.townshipId` is ignored.
    #[graphql(complexity = "super::paging::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn idle_assets(
        &self,
        ctx: &Context<'_>,
        filter: Option<IdleAssetFilter>,
        order_by: Option<IdleAssetOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, IdleAsset, ListTotal>> {
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
}

/// An administrative village or community (行政村/社区).
pub struct Village(pub village::Model);

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
        township_of(ctx, self.0.township_id).await
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
    #[graphql(complexity = "super::paging::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn idle_assets(
        &self,
        ctx: &Context<'_>,
        filter: Option<IdleAssetFilter>,
        order_by: Option<IdleAssetOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, IdleAsset, ListTotal>> {
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
}

pub async fn township_connection(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<Connection<String, Township, ListTotal>> {
    let page = PageRequest::new("ID", first, after, last, before)?;
    let rows =
        db::places::townships_page(db_conn(ctx)?, page.after_id(), page.backward, page.fetch())
            .await?;
    Ok(page.connection(
        rows,
        |t| encode_cursor("ID", "", t.id),
        Township,
        ListTotal::Townships,
    ))
}

pub async fn village_connection(
    ctx: &Context<'_>,
    township_id: Option<i64>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<Connection<String, Village, ListTotal>> {
    let page = PageRequest::new("ID", first, after, last, before)?;
    let rows = db::places::villages_page(
        db_conn(ctx)?,
        township_id,
        page.after_id(),
        page.backward,
        page.fetch(),
    )
    .await?;
    Ok(page.connection(
        rows,
        |v| encode_cursor("ID", "", v.id),
        Village,
        ListTotal::Villages(township_id),
    ))
}

/// Reads an optional township ID argument.
pub fn township_id(id: Option<&ID>) -> Result<Option<i64>, AppError> {
    id.map(|id| ids::decode_as(id, Kind::Township)).transpose()
}

/// The village a record lies in, through the request's loader; `None` when it lies in none.
pub async fn village_of(ctx: &Context<'_>, id: Option<i64>) -> Result<Option<Village>> {
    let Some(id) = id else { return Ok(None) };
    let loader = ctx.data::<DataLoader<DbLoader>>()?;
    Ok(loader.load_one(VillageKey(id)).await?.map(Village))
}

/// The township a record lies in, through the request's loader. Every record that has a
/// township id has a township (a foreign key), so a missing one is an internal error.
pub async fn township_of(ctx: &Context<'_>, id: i64) -> Result<Township> {
    let loader = ctx.data::<DataLoader<DbLoader>>()?;
    let t = loader.load_one(TownshipKey(id)).await?;
    t.map(Township)
        .ok_or_else(|| AppError::internal(format!("township {id} is missing")).into())
}
