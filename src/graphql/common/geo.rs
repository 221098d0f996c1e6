//! Geometry on its way out: converted to the datum the client's base map is drawn in, and
//! rounded to 7 decimals.

use async_graphql::Result;

use super::scalars::GeoJson;
use crate::domain::datum::Crs;
use crate::domain::geometry::{BBox, Location, point_geojson, rounded};
use crate::error::AppError;

/// A stored WGS84 geometry in `crs`.
pub fn output(geometry: geojson::Geometry, crs: Crs) -> GeoJson {
    rounded(crs.geometry_from_wgs84(geometry)).into()
}

/// Stored GeoJSON text in `crs`.
pub fn stored_in(text: &str, crs: Crs) -> Result<GeoJson> {
    let geometry: geojson::Geometry = text.parse().map_err(AppError::internal)?;
    Ok(output(geometry, crs))
}

/// A point in `crs`.
pub fn point_in(location: Location, crs: Crs) -> GeoJson {
    output(point_geojson(location), crs)
}

/// A coordinate pair in `crs`, rounded like GeoJSON.
pub fn lon_lat_in(location: Location, crs: Crs) -> (f64, f64) {
    let (lon, lat) = crs.from_wgs84(location.lon(), location.lat());
    ((lon * 1e7).round() / 1e7, (lat * 1e7).round() / 1e7)
}

/// A geometry a client sent in `crs`, as WGS84 for validation and storage.
pub fn input(value: GeoJson, crs: Crs) -> Result<geojson::Geometry, AppError> {
    let geometry: geojson::Geometry = serde_json::from_value(value.0).map_err(|e| {
        AppError::from(crate::domain::geometry::GeometryError::Malformed(
            e.to_string(),
        ))
    })?;
    Ok(crs.geometry_to_wgs84(geometry))
}

/// A box [west, south, east, north] in `crs`: the envelope of its corners there, since a datum
/// shift is not the same everywhere.
pub fn bbox_in(b: BBox, crs: Crs) -> Vec<f64> {
    let corners = [
        (b.min_lon, b.min_lat),
        (b.min_lon, b.max_lat),
        (b.max_lon, b.min_lat),
        (b.max_lon, b.max_lat),
    ]
    .map(|(lon, lat)| crs.from_wgs84(lon, lat));
    let round = |v: f64| (v * 1e7).round() / 1e7;
    let min = |f: fn(&(f64, f64)) -> f64| corners.iter().map(f).fold(f64::INFINITY, f64::min);
    let max = |f: fn(&(f64, f64)) -> f64| corners.iter().map(f).fold(f64::NEG_INFINITY, f64::max);
    vec![
        round(min(|c| c.0)),
        round(min(|c| c.1)),
        round(max(|c| c.0)),
        round(max(|c| c.1)),
    ]
}
