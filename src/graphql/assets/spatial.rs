//! Idle assets in a region (circle, polygon, bbox), nearest a point, or as one GeoJSON
//! FeatureCollection, as the caller may see them.

use std::cmp::Ordering;
use std::collections::HashMap;

use async_graphql::connection::Connection;
use async_graphql::{Context, InputObject, OneofObject, Result};

use crate::db;
use crate::db::assets::{AssetFilter, AssetOrder, Keyset};
use crate::db::entities::idle_asset;
use crate::db::rows::Columns;
use crate::domain::datum::Crs;
use crate::domain::geometry::{Area, Location};
use crate::domain::region::{self, Circle, MAX_RADIUS_M, Region};
use crate::error::AppError;
use crate::graphql::assets::filter::AssetTotal;
use crate::graphql::common::context::{caller, db_conn};
use crate::graphql::common::nodes::IdleAsset;
use crate::graphql::common::paging::{PageRequest, encode_cursor};
use crate::graphql::common::scalars::GeoJson;

/// The largest `k` of a nearest-assets query.
pub const MAX_NEAREST: i32 = 100;

/// Where to look (空间范围), by each asset's location: exactly one of a circle, a polygon or a
/// box. Edges count as inside. Without a token, the public (snapped) location is what is tested.
#[derive(OneofObject)]
pub enum WithinInput {
    /// Within a geodesic distance of a point (圆形范围); results carry `distanceMeters` and can
    /// be ordered by `DISTANCE`.
    Circle(CircleInput),
    /// Inside a drawn GeoJSON Polygon or MultiPolygon (多边形范围).
    Polygon(PolygonInput),
    /// Inside a longitude/latitude box (矩形范围).
    Bbox(BboxInput),
}

/// A circle on the ground (圆形范围).
#[derive(InputObject)]
pub struct CircleInput {
    /// Longitude of the centre (中心经度).
    pub longitude: f64,
    /// Latitude of the centre (中心纬度).
    pub latitude: f64,
    /// Radius in metres, geodesic on WGS84 (半径, 米); at most 200 km.
    pub radius_meters: f64,
    /// Datum of the centre (坐标系).
    #[graphql(default)]
    pub crs: Crs,
}

/// A drawn area (多边形范围).
#[derive(InputObject)]
pub struct PolygonInput {
    /// A GeoJSON Polygon or MultiPolygon; rings in either winding.
    pub geometry: GeoJson,
    /// Datum of the coordinates (坐标系).
    #[graphql(default)]
    pub crs: Crs,
}

/// A box (矩形范围), as a map's visible extent gives it.
#[derive(InputObject)]
pub struct BboxInput {
    /// West edge, longitude (最小经度).
    pub min_longitude: f64,
    /// South edge, latitude (最小纬度).
    pub min_latitude: f64,
    /// East edge, longitude (最大经度).
    pub max_longitude: f64,
    /// North edge, latitude (最大纬度).
    pub max_latitude: f64,
    /// Datum of the edges (坐标系).
    #[graphql(default)]
    pub crs: Crs,
}

fn location(lon: f64, lat: f64, crs: Crs) -> Result<Location, AppError> {
    let (lon, lat) = crs.to_wgs84(lon, lat);
    Ok(Location::parse(lon, lat)?)
}

impl WithinInput {
    /// The region in WGS84, checked.
    pub fn into_region(self) -> Result<Region, AppError> {
        Ok(match self {
            WithinInput::Circle(c) => Region::Circle(Circle::new(
                location(c.longitude, c.latitude, c.crs)?,
                c.radius_meters,
            )?),
            WithinInput::Polygon(p) => Region::Area(Area::from_geojson(
                &crate::graphql::common::geo::input(p.geometry, p.crs)?,
            )?),
            WithinInput::Bbox(b) => {
                region::parse_bbox([
                    b.min_longitude,
                    b.min_latitude,
                    b.max_longitude,
                    b.max_latitude,
                ])?;
                // A datum shift is not uniform, so the box in WGS84 is the envelope of its
                // four corners.
                let corners = [
                    (b.min_longitude, b.min_latitude),
                    (b.min_longitude, b.max_latitude),
                    (b.max_longitude, b.min_latitude),
                    (b.max_longitude, b.max_latitude),
                ]
                .map(|(lon, lat)| b.crs.to_wgs84(lon, lat));
                let fold = |f: fn(f64, f64) -> f64, pick: fn(&(f64, f64)) -> f64| {
                    corners.iter().map(pick).reduce(f).unwrap_or_default()
                };
                Region::Box(region::parse_bbox([
                    fold(f64::min, |c| c.0),
                    fold(f64::min, |c| c.1),
                    fold(f64::max, |c| c.0),
                    fold(f64::max, |c| c.1),
                ])?)
            }
        })
    }
}

/// The ids of the assets under `filter` in `region` as the caller sees them, with their
/// distance from the centre when the region is a circle.
async fn matches(
    ctx: &Context<'_>,
    filter: &AssetFilter,
    region: &Region,
) -> Result<Vec<(i64, Option<f64>)>> {
    let who = caller(ctx);
    let found = db::assets::in_region(
        db_conn(ctx)?,
        filter,
        region,
        |l| who.visible_location(l),
        who.location_slack_deg(),
    )
    .await?;
    Ok(found.into_iter().map(|(id, _, d)| (id, d)).collect())
}

/// Distance, then id: the order of a listing by distance.
fn by_distance(a: &(f64, i64), b: &(f64, i64)) -> Ordering {
    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
}

/// Loads the rows of `ranked` (id and distance), in that order, reading `columns` of them.
async fn load_ranked(
    ctx: &Context<'_>,
    ranked: &[(f64, i64)],
    columns: Columns<idle_asset::Column>,
) -> Result<Vec<IdleAsset>> {
    let ids: Vec<i64> = ranked.iter().map(|(_, id)| *id).collect();
    let mut rows = db::assets::by_ids_of(db_conn(ctx)?, &ids, columns).await?;
    Ok(ranked
        .iter()
        .filter_map(|(d, id)| rows.remove(id).map(|r| IdleAsset::at_distance(r, *d)))
        .collect())
}

/// The cursor value of a distance: exact, since Rust prints the shortest text that reads back
/// as the same number.
fn distance_cursor(tag: &str, d: f64, id: i64) -> String {
    encode_cursor(tag, &d.to_string(), id)
}

/// The first `want` assets nearest the centre of `circle`, after `after` (distance, id), by
/// widening circles: once a circle holds `want` of them, nothing outside it can come before
/// them. A dense village answers from a few hundred metres instead of the whole radius.
async fn nearest_after(
    ctx: &Context<'_>,
    filter: &AssetFilter,
    circle: Circle,
    after: Option<(f64, i64)>,
    want: usize,
) -> Result<Vec<(f64, i64)>> {
    let beyond = |r: &(f64, i64)| after.is_none_or(|a| by_distance(r, &a) == Ordering::Greater);
    let floor = after.map_or(0.0, |a| a.0);
    let mut radius = (floor + 250.0).min(circle.radius_m());
    loop {
        let ring = Region::Circle(Circle::new(circle.centre(), radius)?);
        let mut found: Vec<(f64, i64)> = matches(ctx, filter, &ring)
            .await?
            .into_iter()
            .map(|(id, d)| (d.unwrap_or_default(), id))
            .filter(beyond)
            .collect();
        if found.len() >= want || radius >= circle.radius_m() {
            found.sort_unstable_by(by_distance);
            found.truncate(want);
            return Ok(found);
        }
        // Grow by the shortfall, assuming the density so far holds, and at least double.
        let seen = found.len().max(1) as f64;
        let grow = ((want as f64 / seen).sqrt() * 1.2).max(2.0);
        radius = (floor + (radius - floor) * grow).min(circle.radius_m());
    }
}

/// One page of assets in a region. Ordered by distance when `by_distance_desc` is given (a
/// circle only), else in `order`, keyset-paged like any other listing. The total is counted
/// only when asked for.
#[expect(
    clippy::too_many_arguments,
    reason = "a filter, a region or order, and the four Relay paging arguments"
)]
pub async fn region_connection(
    ctx: &Context<'_>,
    filter: AssetFilter,
    region: Region,
    order: AssetOrder,
    by_distance_desc: Option<bool>,
    tag: &'static str,
    page: PageRequest,
    keyset: Option<Keyset>,
) -> Result<Connection<String, IdleAsset, AssetTotal>> {
    let total = AssetTotal::InRegion(Box::new((filter.clone(), region.clone())));
    // Villages and owners come from their loaders here: only the asset's columns are read.
    let shown = crate::graphql::common::projection::asset_listing(ctx.field())
        .columns
        .0;
    if let Some(descending) = by_distance_desc {
        let cursor = match &page.cursor {
            None => None,
            Some((value, id)) => {
                let d: f64 = value
                    .parse()
                    .ok()
                    .filter(|d: &f64| d.is_finite())
                    .ok_or_else(|| {
                        AppError::bad_input("the cursor does not fit this listing's order")
                    })?;
                Some((d, *id))
            }
        };
        let ascending = descending == page.backward;
        let ranked = match (&region, ascending) {
            // Nearest first: widen from the centre until the page is full.
            (Region::Circle(circle), true) => {
                nearest_after(ctx, &filter, *circle, cursor, page.fetch() as usize).await?
            }
            // Farthest first: every match is needed to know which are farthest.
            _ => {
                let mut ranked: Vec<(f64, i64)> = matches(ctx, &filter, &region)
                    .await?
                    .into_iter()
                    .map(|(id, d)| (d.unwrap_or_default(), id))
                    .filter(|r| cursor.is_none_or(|c| by_distance(r, &c) == Ordering::Less))
                    .collect();
                ranked.sort_unstable_by(|a, b| by_distance(b, a));
                ranked.truncate(page.fetch() as usize);
                ranked
            }
        };
        let rows = load_ranked(ctx, &ranked, shown).await?;
        return Ok(page.connection(
            rows,
            |a| distance_cursor(tag, a.1.unwrap_or_default(), a.0.id),
            |a| a,
            total,
        ));
    }
    // Another order: walk the listing in SQL over the region's envelope, keeping the rows whose
    // location, as the caller sees it, lies in the region.
    let who = caller(ctx);
    let mut narrowed = filter;
    narrowed.bbox = Some(region.envelope().grown(who.location_slack_deg()));
    let chunk = (page.fetch() * 2).max(50);
    // The location decides whether a row lies in the region.
    let columns = shown
        .with(idle_asset::Column::Lon)
        .with(idle_asset::Column::Lat);
    let conn = db_conn(ctx)?;
    let mut rows = Vec::new();
    let mut key = keyset;
    loop {
        let batch =
            db::assets::page_of(conn, &narrowed, order, key, page.backward, chunk, columns).await?;
        let exhausted = (batch.len() as u64) < chunk;
        key = batch.last().map(|r| order.keyset(r)).or(key);
        rows.extend(batch.into_iter().filter_map(|r| {
            let seen = who.visible_location(Location::parse(r.lon, r.lat).ok()?);
            region.place(seen).map(|d| IdleAsset(r, d, None))
        }));
        if exhausted || rows.len() as u64 >= page.fetch() {
            break;
        }
    }
    rows.truncate(page.fetch() as usize);
    Ok(page.connection(
        rows,
        |a| {
            let k = order.keyset(&a.0);
            encode_cursor(
                tag,
                &crate::graphql::assets::filter::cursor_value(k.value),
                k.id,
            )
        },
        |a| a,
        total,
    ))
}

/// How many assets under `filter` lie in `region`, as the caller sees them.
pub async fn count_in_region(
    ctx: &Context<'_>,
    filter: &AssetFilter,
    region: &Region,
) -> Result<u64> {
    Ok(matches(ctx, filter, region).await?.len() as u64)
}

/// The `k` assets nearest `centre` as the caller sees them, nearest first (ties by id), within
/// the largest radius a query may draw. The search widens from 500 m until it holds `k`.
pub async fn nearest(
    ctx: &Context<'_>,
    centre: Location,
    k: i32,
    filter: AssetFilter,
) -> Result<Vec<IdleAsset>> {
    if !(1..=MAX_NEAREST).contains(&k) {
        return Err(AppError::bad_input(format!(
            "`k` must be between 1 and {MAX_NEAREST}, got {k}"
        ))
        .into());
    }
    let k = k as usize;
    let mut radius = 500.0;
    let mut ranked: Vec<(f64, i64)> = loop {
        let region = Region::Circle(Circle::new(centre, radius)?);
        let found = matches(ctx, &filter, &region).await?;
        if found.len() >= k || radius >= MAX_RADIUS_M {
            break found
                .into_iter()
                .map(|(id, d)| (d.unwrap_or_default(), id))
                .collect();
        }
        radius = (radius * 4.0).min(MAX_RADIUS_M);
    };
    ranked.sort_unstable_by(by_distance);
    ranked.truncate(k);
    let shown = crate::graphql::common::projection::asset_columns(ctx.field());
    load_ranked(ctx, &ranked, shown).await
}

/// The most features one `idleAssetsGeoJson` answer holds.
pub const MAX_FEATURES: i32 = 5000;

/// The assets under `filter` (in `region` when given) as a GeoJSON FeatureCollection in `crs`:
/// nearest first for a circle (each with its `distanceMeters`), else in registration order;
/// `limit` of them, and how many matched.
pub async fn geojson_collection(
    ctx: &Context<'_>,
    filter: AssetFilter,
    region: Option<Region>,
    limit: i32,
    crs: Crs,
) -> Result<GeoJson> {
    if !(1..=MAX_FEATURES).contains(&limit) {
        return Err(AppError::bad_input(format!(
            "`limit` must be between 1 and {MAX_FEATURES}, got {limit}"
        ))
        .into());
    }
    let limit = limit as usize;
    let conn = db_conn(ctx)?;
    let (rows, distances, matched) = match region {
        Some(region) => {
            let mut ranked: Vec<(f64, i64)> = matches(ctx, &filter, &region)
                .await?
                .into_iter()
                .map(|(id, d)| (d.unwrap_or_default(), id))
                .collect();
            ranked.sort_unstable_by(by_distance);
            let matched = ranked.len() as u64;
            ranked.truncate(limit);
            let ids: Vec<i64> = ranked.iter().map(|(_, id)| *id).collect();
            let mut found = db::assets::by_ids(conn, &ids).await?;
            let rows = ids.iter().filter_map(|id| found.remove(id)).collect();
            let distances: HashMap<i64, f64> = match region {
                Region::Circle(_) => ranked.iter().map(|(d, id)| (*id, *d)).collect(),
                _ => HashMap::new(),
            };
            (rows, distances, matched)
        }
        None => (
            db::assets::page_at_offset(conn, &filter, 0, limit as u64).await?,
            HashMap::new(),
            db::assets::count(conn, &filter).await?,
        ),
    };
    let mut features = crate::maps::features::asset_features(conn, caller(ctx), &rows).await?;
    for f in &mut features {
        if let Some(d) = distances.get(&f.id) {
            f.properties.insert(
                "distanceMeters".into(),
                serde_json::json!((d * 100.0).round() / 100.0),
            );
        }
    }
    Ok(GeoJson(crate::maps::features::collection(
        &features, matched, crs,
    )))
}
