//! The root queries for idle assets.

use async_graphql::connection::Connection;
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, Object, Result};

use crate::db;
use crate::domain::datum::Crs;
use crate::domain::geometry::Location;
use crate::error::AppError;
use crate::graphql::assets::filter::{
    AssetTotal, IdleAssetFilter, IdleAssetOrder, asset_connection,
};
use crate::graphql::assets::spatial::WithinInput;
use crate::graphql::common::context::{caller, db_conn, id_or_code};
use crate::graphql::common::ids;
use crate::graphql::common::ids::Kind;
use crate::graphql::common::loaders::{AssetKey, DbLoader};
use crate::graphql::common::nodes::IdleAsset;
use crate::graphql::common::scalars::GeoJson;

/// Idle assets ("两闲"), listed, near a point, as GeoJSON, or one.
#[derive(Default)]
pub struct AssetsQuery;

#[Object]
impl AssetsQuery {
    /// Idle assets ("两闲": 闲置农房/闲置宅基地), filtered and ordered.
    #[graphql(complexity = "crate::graphql::common::paging::cost(first, last, child_complexity)")]
    #[expect(
        clippy::too_many_arguments,
        reason = "each parameter is a GraphQL argument of the field"
    )]
    async fn idle_assets(
        &self,
        ctx: &Context<'_>,
        filter: Option<IdleAssetFilter>,
        #[graphql(desc = "Only assets located in this circle, polygon or box (空间范围).")]
        within: Option<WithinInput>,
        order_by: Option<IdleAssetOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, IdleAsset, AssetTotal>> {
        let filter = filter.unwrap_or_default().into_db()?;
        let within = within.map(WithinInput::into_region).transpose()?;
        asset_connection(
            ctx,
            filter,
            within,
            order_by.unwrap_or_default(),
            first,
            after,
            last,
            before,
        )
        .await
    }

    /// The idle assets nearest a point (最近的闲置资产), nearest first (ties in registration
    /// order), each with its `distanceMeters`; looks up to 200 km away. Without a token,
    /// distances are to the public (snapped) locations.
    #[graphql(complexity = "k.clamp(1, 100) as usize * child_complexity + 1")]
    async fn nearest_idle_assets(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Longitude (经度).")] longitude: f64,
        #[graphql(desc = "Latitude (纬度).")] latitude: f64,
        #[graphql(default, desc = "Datum of the point (坐标系).")] crs: Crs,
        #[graphql(default = 10, desc = "How many (数量), 1 to 100.")] k: i32,
        filter: Option<IdleAssetFilter>,
    ) -> Result<Vec<IdleAsset>> {
        let filter = filter.unwrap_or_default().into_db()?;
        caller(ctx)
            .may_narrow_assets(filter.uses_details())
            .map_err(AppError::from)?;
        let (lon, lat) = crs.to_wgs84(longitude, latitude);
        let centre = Location::parse(lon, lat).map_err(AppError::from)?;
        crate::graphql::assets::spatial::nearest(ctx, centre, k, filter).await
    }

    /// Idle assets as one GeoJSON FeatureCollection (GeoJSON 要素集), for a map layer or a GIS
    /// desk: points with kind and status (and, with a token, the survey attributes), nearest
    /// first inside a circle, else in registration order. `numberMatched` tells how many the
    /// selection held; at most `limit` (≤ 5000) are returned.
    #[graphql(complexity = "limit.clamp(1, 5000) as usize + 1")]
    async fn idle_assets_geo_json(
        &self,
        ctx: &Context<'_>,
        filter: Option<IdleAssetFilter>,
        #[graphql(desc = "Only assets located in this circle, polygon or box (空间范围).")]
        within: Option<WithinInput>,
        #[graphql(
            default = 500,
            desc = "How many features at most (数量上限), 1 to 5000."
        )]
        limit: i32,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<GeoJson> {
        let filter = filter.unwrap_or_default().into_db()?;
        caller(ctx)
            .may_narrow_assets(filter.uses_details())
            .map_err(AppError::from)?;
        let within = within.map(WithinInput::into_region).transpose()?;
        crate::graphql::assets::spatial::geojson_collection(ctx, filter, within, limit, crs).await
    }

    /// One idle asset by global ID or by survey code (资产编号).
    async fn idle_asset(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        code: Option<String>,
    ) -> Result<Option<IdleAsset>> {
        match id_or_code(id.as_ref(), code.as_deref())? {
            Some(id) => {
                let n = ids::decode_as(id, Kind::IdleAsset)?;
                Ok(ctx
                    .data::<DataLoader<DbLoader>>()?
                    .load_one(AssetKey(n))
                    .await?
                    .map(IdleAsset::from))
            }
            None => Ok(
                db::assets::by_code(db_conn(ctx)?, code.as_deref().unwrap_or_default())
                    .await?
                    .map(IdleAsset::from),
            ),
        }
    }
}
