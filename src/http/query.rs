//! The query parameters that several routes read (`/ogc`, `/download`, `/export`), read by one
//! set of rules wherever they appear:
//!
//! - `bbox`: `minLon,minLat,maxLon,maxLat` in WGS84 degrees, or six numbers
//!   `minLon,minLat,minHeight,maxLon,maxLat,maxHeight` whose heights are ignored, as OGC API –
//!   Features (Part 1, § 7.15.3) allows. Spaces around a number are allowed. Longitudes lie in
//!   −180…180, latitudes in −90…90, and the minimum is at most the maximum on both axes: a box
//!   across the antimeridian (minLon > maxLon, which OGC allows) is refused, the registry's
//!   districts lie far from it.
//! - `crs`: `WGS84` (what is stored; also by its OGC name [`CRS84`]), `GCJ02` or `BD09`, spelled
//!   exactly so; WGS84 when absent.
//! - `limit`: a whole number ≥ 1; above [`MAX_LIMIT`] it is served as [`MAX_LIMIT`] (OGC: a
//!   larger limit is not refused); [`DEFAULT_LIMIT`] when absent.
//! - `offset`: a whole number ≥ 0; 0 when absent.
//! - `updatedSince` (downloads): an RFC 3339 date-time with its offset, `2026-12-01T00:00:00Z`.
//! - `datetime` (OGC): such a date-time, or an interval of two, `a/b`, either end of which may
//!   be open (`..` or empty): OGC API – Features, Part 1, § 7.15.4 ([`Period::parse_ogc`]).
//!
//! A value outside these rules is refused with `BAD_INPUT` (HTTP 400), naming the parameter and
//! the value. Which parameters a route takes, and what an unknown one gets, is the route's.

use chrono::{DateTime, Utc};

use super::rest::RestError;
use crate::domain::datum::Crs;
use crate::domain::geometry::BBox;
use crate::domain::period::{self, Period};
use crate::domain::region::parse_bbox;

/// OGC's name for WGS84 longitude/latitude, the `crs` of GIS clients.
pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

/// Items a page holds unless `limit` says otherwise, and the most it may hold (the defaults of
/// OGC API – Features).
pub const DEFAULT_LIMIT: u64 = 10;
pub const MAX_LIMIT: u64 = 10_000;

/// A `bbox` value.
pub fn bbox(value: &str) -> Result<BBox, RestError> {
    let numbers: Vec<f64> = value
        .split(',')
        .map(|n| n.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| RestError::bad_input(format!("`bbox` must be numbers, got {value:?}")))?;
    let corners = match numbers.as_slice() {
        [a, b, c, d] => [*a, *b, *c, *d],
        // With heights: minLon, minLat, minHeight, maxLon, maxLat, maxHeight.
        [a, b, _, d, e, _] => [*a, *b, *d, *e],
        _ => {
            return Err(RestError::bad_input(format!(
                "`bbox` takes 4 numbers (or 6 with heights): minLon,minLat,maxLon,maxLat, got \
                 {value:?}"
            )));
        }
    };
    parse_bbox(corners).map_err(|e| RestError::bad_input(format!("`bbox`: {e}")))
}

/// A `crs` value.
pub fn crs(value: &str) -> Result<Crs, RestError> {
    if value == CRS84 {
        return Ok(Crs::Wgs84);
    }
    Crs::parse(value).map_err(|_| {
        RestError::bad_input(format!(
            "`crs` must be WGS84 ({CRS84}), GCJ02 or BD09, got {value:?}"
        ))
    })
}

/// A date-time value of the parameter `name`.
pub fn instant(name: &str, value: &str) -> Result<DateTime<Utc>, RestError> {
    period::instant(value).map_err(|e| RestError::bad_input(format!("`{name}`: {e}")))
}

/// A `datetime` value.
pub fn datetime(value: &str) -> Result<Period, RestError> {
    Period::parse_ogc(value).map_err(|e| RestError::bad_input(format!("`datetime`: {e}")))
}

/// A `limit` value, at most [`MAX_LIMIT`].
pub fn limit(value: &str) -> Result<u64, RestError> {
    let n: u64 = value.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
        RestError::bad_input(format!("`limit` must be a whole number ≥ 1, got {value:?}"))
    })?;
    Ok(n.min(MAX_LIMIT))
}

/// An `offset` value.
pub fn offset(value: &str) -> Result<u64, RestError> {
    value.parse().map_err(|_| {
        RestError::bad_input(format!(
            "`offset` must be a whole number ≥ 0, got {value:?}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use poem::http::StatusCode;

    use super::*;

    #[test]
    fn a_bbox_is_four_corners_or_six_numbers_with_heights() {
        let four = bbox("99, 26,99.5,26.5").expect("valid");
        let six = bbox("99,26,-10,99.5,26.5,3000").expect("valid");
        assert_eq!(four, six);
        assert_eq!(
            (four.min_lon, four.min_lat, four.max_lon, four.max_lat),
            (99.0, 26.0, 99.5, 26.5)
        );
        let point = bbox("99,26,99,26").expect("a box may be a point");
        assert_eq!(point.min_lon, point.max_lon);
    }

    #[test]
    fn crs_takes_the_three_datums_and_the_ogc_name_of_wgs84() {
        for (value, expected) in [
            ("WGS84", Crs::Wgs84),
            (CRS84, Crs::Wgs84),
            ("GCJ02", Crs::Gcj02),
            ("BD09", Crs::Bd09),
        ] {
            assert_eq!(crs(value).ok(), Some(expected), "{value}");
        }
    }

    #[test]
    fn an_oversized_limit_is_served_as_the_maximum() {
        assert_eq!(limit("1").ok(), Some(1));
        assert_eq!(limit("50000").ok(), Some(MAX_LIMIT));
        assert_eq!(offset("0").ok(), Some(0));
        assert_eq!(offset("20").ok(), Some(20));
    }

    #[test]
    fn invalid_values_are_bad_input() {
        type Parse = fn(&str) -> Result<(), RestError>;
        let bbox: Parse = |v| bbox(v).map(drop);
        let crs: Parse = |v| crs(v).map(drop);
        let limit: Parse = |v| limit(v).map(drop);
        let offset: Parse = |v| offset(v).map(drop);
        for (parse, value, why) in [
            (bbox, "", "empty"),
            (bbox, "99,26,99.5", "three numbers"),
            (bbox, "99,26,99.5,26.5,1", "five numbers"),
            (bbox, "99,26,0,99.5,26.5,0,1", "seven numbers"),
            (bbox, "a,b,c,d", "not numbers"),
            (bbox, "99,26,99.5,", "a missing number"),
            (bbox, "99;26;99.5;26.5", "not comma-separated"),
            (bbox, "99,27,98,26", "inside out"),
            (bbox, "170,26,-170,27", "across the antimeridian"),
            (bbox, "99,26,181,27", "a longitude beyond 180"),
            (bbox, "99,-91,100,27", "a latitude beyond 90"),
            (bbox, "NaN,26,99.5,26.5", "not a number"),
            (bbox, "99,26,inf,26.5", "infinite"),
            (crs, "", "empty"),
            (crs, "EPSG:3857", "an unsupported datum"),
            (crs, "EPSG:4326", "latitude first"),
            (crs, "wgs84", "another spelling"),
            (
                crs,
                "http://www.opengis.net/def/crs/OGC/1.3/CRS83",
                "another URI",
            ),
            (limit, "0", "no items"),
            (limit, "-3", "negative"),
            (limit, "2.5", "not whole"),
            (limit, "", "empty"),
            (limit, "ten", "not a number"),
            (offset, "-1", "negative"),
            (offset, "x", "not a number"),
            (offset, "", "empty"),
        ] {
            let error = parse(value).expect_err(why);
            assert_eq!(
                (error.status, error.code),
                (StatusCode::BAD_REQUEST, "BAD_INPUT"),
                "{why}: {value:?}"
            );
        }
    }
}
