//! Geometry as the registry accepts it: WGS84 / CGCS2000 longitude-latitude (EPSG:4326),
//! validated once at the edge and carried as types that cannot be invalid.
//!
//! A geometry is valid when every position is a finite longitude in [-180, 180] and latitude in
//! [-90, 90], every ring is closed and has at least four positions, no ring crosses itself or
//! another, and the area is not zero. Valid polygons are stored with the RFC 7946 right-hand
//! rule (exterior counter-clockwise), whatever orientation they came in.

use geo::{
    BooleanOps, BoundingRect, Centroid, Contains, GeodesicArea, Intersects, MultiPolygon, Orient,
    Point, Polygon, Relate, Validation, orient::Direction,
};
use geojson::{GeometryValue, PolygonType, Position};

/// Why a geometry was refused. Each message tells a cadre what to fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeometryError {
    #[error("longitude {0} is outside -180..180")]
    LongitudeOutOfRange(f64),
    #[error("latitude {0} is outside -90..90")]
    LatitudeOutOfRange(f64),
    #[error("a coordinate is not a finite number")]
    NotFinite,
    #[error("a position must have 2 or 3 numbers (longitude, latitude[, height]), got {0}")]
    BadPosition(usize),
    #[error("expected a GeoJSON {expected}, got a {got}")]
    WrongType { expected: &'static str, got: String },
    #[error("ring {ring} has {count} positions; a closed ring needs at least 4")]
    TooFewPositions { ring: usize, count: usize },
    #[error("ring {ring} is not closed: its last position must repeat its first")]
    RingNotClosed { ring: usize },
    #[error("the polygon is not simple: {0}")]
    Invalid(String),
    #[error("the polygon has no area")]
    ZeroArea,
    #[error("the location ({lon}, {lat}) lies outside every township of the district")]
    OutsideDistrict { lon: f64, lat: f64 },
    #[error("the geometry is not valid GeoJSON: {0}")]
    Malformed(String),
}

/// A point on the ground: longitude and latitude in degrees (WGS84 / CGCS2000).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location {
    lon: f64,
    lat: f64,
}

impl Location {
    /// Checks the ranges once; everything deeper can trust a `Location`.
    pub fn parse(lon: f64, lat: f64) -> Result<Self, GeometryError> {
        if !lon.is_finite() || !lat.is_finite() {
            return Err(GeometryError::NotFinite);
        }
        if !(-180.0..=180.0).contains(&lon) {
            return Err(GeometryError::LongitudeOutOfRange(lon));
        }
        if !(-90.0..=90.0).contains(&lat) {
            return Err(GeometryError::LatitudeOutOfRange(lat));
        }
        Ok(Self { lon, lat })
    }

    pub fn lon(self) -> f64 {
        self.lon
    }

    pub fn lat(self) -> f64 {
        self.lat
    }

    pub fn point(self) -> Point {
        Point::new(self.lon, self.lat)
    }
}

/// An axis-aligned bounding box in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

/// A validated area geometry (one or several polygons), oriented by the right-hand rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    shape: MultiPolygon,
}

impl Area {
    /// Parses a GeoJSON Polygon or MultiPolygon.
    pub fn from_geojson(geometry: &geojson::Geometry) -> Result<Self, GeometryError> {
        let polygons = match &geometry.value {
            GeometryValue::Polygon { coordinates } => vec![polygon(coordinates)?],
            GeometryValue::MultiPolygon { coordinates } => coordinates
                .iter()
                .map(polygon)
                .collect::<Result<Vec<_>, _>>()?,
            other => {
                return Err(GeometryError::WrongType {
                    expected: "Polygon or MultiPolygon",
                    got: other.type_name().to_owned(),
                });
            }
        };
        Self::new(MultiPolygon::new(polygons))
    }

    /// Parses a GeoJSON Polygon only (an asset's footprint is one piece of land).
    pub fn polygon_from_geojson(geometry: &geojson::Geometry) -> Result<Self, GeometryError> {
        match &geometry.value {
            GeometryValue::Polygon { .. } => Self::from_geojson(geometry),
            other => Err(GeometryError::WrongType {
                expected: "Polygon",
                got: other.type_name().to_owned(),
            }),
        }
    }

    /// Parses GeoJSON text, as stored.
    pub fn from_geojson_str(text: &str) -> Result<Self, GeometryError> {
        let geometry: geojson::Geometry = text
            .parse()
            .map_err(|e: geojson::Error| GeometryError::Malformed(e.to_string()))?;
        Self::from_geojson(&geometry)
    }

    fn new(shape: MultiPolygon) -> Result<Self, GeometryError> {
        shape
            .check_validation()
            .map_err(|e| GeometryError::Invalid(e.to_string()))?;
        let shape = shape.orient(Direction::Default);
        // Planar area in square degrees: a ring of collinear points has exactly none, whereas
        // geodesics between points on one parallel still enclose a sliver of the ellipsoid.
        if geo::Area::unsigned_area(&shape) < 1e-14 {
            return Err(GeometryError::ZeroArea);
        }
        Ok(Self { shape })
    }

    pub fn shape(&self) -> &MultiPolygon {
        &self.shape
    }

    /// Area on the WGS84 ellipsoid, in square metres.
    pub fn geodesic_area_m2(&self) -> f64 {
        self.shape.geodesic_area_unsigned()
    }

    /// Perimeter on the WGS84 ellipsoid, in metres (holes included).
    pub fn geodesic_perimeter_m(&self) -> f64 {
        self.shape.geodesic_perimeter()
    }

    pub fn bbox(&self) -> BBox {
        // A validated area has at least one ring of four positions, so it always has a box.
        let rect = self.shape.bounding_rect().unwrap_or_else(|| {
            geo::Rect::new(
                geo::coord! { x: 0.0, y: 0.0 },
                geo::coord! { x: 0.0, y: 0.0 },
            )
        });
        BBox {
            min_lon: rect.min().x,
            min_lat: rect.min().y,
            max_lon: rect.max().x,
            max_lat: rect.max().y,
        }
    }

    /// The centroid, or for a crescent-like shape whose centroid falls outside, still the
    /// centroid: callers that need a point inside use `contains` to check.
    pub fn centroid(&self) -> Option<Location> {
        let c = self.shape.centroid()?;
        Location::parse(c.x(), c.y()).ok()
    }

    /// Whether the two areas share interior (touching along a border does not count).
    pub fn overlaps(&self, other: &Area) -> bool {
        let m = self.shape.relate(&other.shape);
        m.is_intersects() && !m.is_touches()
    }

    /// The area the two share, on the WGS84 ellipsoid, in m².
    pub fn overlap_m2(&self, other: &Area) -> f64 {
        if !self.shape.intersects(&other.shape) {
            return 0.0;
        }
        self.shape
            .intersection(&other.shape)
            .geodesic_area_unsigned()
    }

    /// Whether this area lies entirely inside `other`, borders included.
    pub fn covered_by(&self, other: &Area) -> bool {
        self.shape.relate(&other.shape).is_coveredby()
    }

    /// Strictly inside: a point on the boundary is not contained.
    pub fn contains(&self, location: Location) -> bool {
        self.shape.contains(&location.point())
    }

    /// Inside or on the boundary.
    pub fn covers(&self, location: Location) -> bool {
        self.shape.intersects(&location.point())
    }

    /// As a GeoJSON Polygon when it is one piece, else a MultiPolygon, with coordinates rounded
    /// to 7 decimals (about 1 cm) as RFC 7946 advises.
    pub fn to_geojson(&self) -> geojson::Geometry {
        let value = match self.shape.0.as_slice() {
            [single] => GeometryValue::from(single),
            _ => GeometryValue::from(&self.shape),
        };
        geojson::Geometry::new(round_value(value))
    }

    /// As a GeoJSON MultiPolygon whatever the number of pieces (township boundaries).
    pub fn to_multi_geojson(&self) -> geojson::Geometry {
        geojson::Geometry::new(round_value(GeometryValue::from(&self.shape)))
    }
}

/// Geodesic measures of a piece of land made of areas, with points that belong to it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measures {
    /// Total area on the WGS84 ellipsoid, m² (0 without areas).
    pub area_m2: f64,
    /// Total length of the areas' rings on the ellipsoid, m.
    pub perimeter_m: f64,
    /// The areas' centroid (weighted by area); without areas, the mean of the points.
    pub centroid: Location,
    /// The box holding every area and point.
    pub bbox: BBox,
}

/// The measures of `areas` and `points` together; none when both are empty.
pub fn measures(areas: &[&Area], points: &[Location]) -> Option<Measures> {
    let all = MultiPolygon::new(
        areas
            .iter()
            .flat_map(|a| a.shape.0.iter().cloned())
            .collect(),
    );
    let from_points = || {
        let n = points.len() as f64;
        let (x, y) = points
            .iter()
            .fold((0.0, 0.0), |(x, y), p| (x + p.lon / n, y + p.lat / n));
        Location::parse(x, y).ok()
    };
    let centroid = match all.centroid() {
        Some(c) if !areas.is_empty() => Location::parse(c.x(), c.y()).ok(),
        _ if points.is_empty() => None,
        _ => from_points(),
    }?;
    let boxes = areas
        .iter()
        .map(|a| a.bbox())
        .chain(points.iter().map(|p| BBox {
            min_lon: p.lon,
            min_lat: p.lat,
            max_lon: p.lon,
            max_lat: p.lat,
        }));
    let bbox = boxes.reduce(|a, b| BBox {
        min_lon: a.min_lon.min(b.min_lon),
        min_lat: a.min_lat.min(b.min_lat),
        max_lon: a.max_lon.max(b.max_lon),
        max_lat: a.max_lat.max(b.max_lat),
    })?;
    Some(Measures {
        area_m2: areas.iter().map(|a| a.geodesic_area_m2()).sum(),
        perimeter_m: areas.iter().map(|a| a.geodesic_perimeter_m()).sum(),
        centroid,
        bbox,
    })
}

/// The GeoJSON Point of a location, rounded like every output.
pub fn point_geojson(location: Location) -> geojson::Geometry {
    geojson::Geometry::new(GeometryValue::new_point([
        round7(location.lon),
        round7(location.lat),
    ]))
}

fn position(p: &Position) -> Result<geo::Coord, GeometryError> {
    let (lon, lat) = match p.as_slice() {
        [lon, lat] | [lon, lat, _] => (*lon, *lat),
        other => return Err(GeometryError::BadPosition(other.len())),
    };
    let loc = Location::parse(lon, lat)?;
    Ok(geo::coord! { x: loc.lon, y: loc.lat })
}

fn polygon(rings: &PolygonType) -> Result<Polygon, GeometryError> {
    let mut parsed = Vec::with_capacity(rings.len());
    for (index, ring) in rings.iter().enumerate() {
        if ring.len() < 4 {
            return Err(GeometryError::TooFewPositions {
                ring: index,
                count: ring.len(),
            });
        }
        let coords = ring.iter().map(position).collect::<Result<Vec<_>, _>>()?;
        if coords.first() != coords.last() {
            return Err(GeometryError::RingNotClosed { ring: index });
        }
        parsed.push(geo::LineString::new(coords));
    }
    let mut rings = parsed.into_iter();
    let exterior = rings
        .next()
        .ok_or(GeometryError::TooFewPositions { ring: 0, count: 0 })?;
    Ok(Polygon::new(exterior, rings.collect()))
}

fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

/// A geometry with every coordinate rounded to 7 decimals (about 1 cm), as RFC 7946 advises.
pub fn rounded(mut geometry: geojson::Geometry) -> geojson::Geometry {
    geometry.value = round_value(geometry.value);
    geometry
}

fn round_value(value: GeometryValue) -> GeometryValue {
    let ring = |r: Vec<Position>| -> Vec<Position> {
        r.into_iter()
            .map(|p| Position::from(p.as_slice().iter().copied().map(round7).collect::<Vec<_>>()))
            .collect()
    };
    match value {
        GeometryValue::Polygon { coordinates } => GeometryValue::Polygon {
            coordinates: coordinates.into_iter().map(ring).collect(),
        },
        GeometryValue::MultiPolygon { coordinates } => GeometryValue::MultiPolygon {
            coordinates: coordinates
                .into_iter()
                .map(|p| p.into_iter().map(ring).collect())
                .collect(),
        },
        GeometryValue::Point { coordinates } => GeometryValue::Point {
            coordinates: Position::from(
                coordinates
                    .as_slice()
                    .iter()
                    .copied()
                    .map(round7)
                    .collect::<Vec<_>>(),
            ),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poly(coords: &[[f64; 2]]) -> geojson::Geometry {
        geojson::Geometry::new(GeometryValue::new_polygon([coords
            .iter()
            .map(|c| c.to_vec())
            .collect::<Vec<_>>()]))
    }

    const SQUARE_CW: [[f64; 2]; 5] = [
        [117.0, 28.2],
        [117.0, 28.201],
        [117.001, 28.201],
        [117.001, 28.2],
        [117.0, 28.2],
    ];

    #[test]
    fn location_rejects_out_of_range_and_non_finite() {
        let cases = [
            (181.0, 0.0, "longitude too large"),
            (-180.5, 0.0, "longitude too small"),
            (0.0, 90.1, "latitude too large"),
            (f64::NAN, 0.0, "not a number"),
            (0.0, f64::INFINITY, "infinite"),
        ];
        for (lon, lat, why) in cases {
            assert!(Location::parse(lon, lat).is_err(), "{why}");
        }
        assert!(Location::parse(117.0, 28.2).is_ok());
    }

    #[test]
    fn clockwise_square_is_reoriented_and_measured_geodesically() {
        let area = Area::from_geojson(&poly(&SQUARE_CW)).expect("valid square");
        // 0.001° × 0.001° at 28.2°N: about 98.2 m × 110.9 m.
        let m2 = area.geodesic_area_m2();
        assert!((m2 - 10_890.0).abs() < 60.0, "got {m2}");
        let perimeter = area.geodesic_perimeter_m();
        assert!(
            (perimeter - 2.0 * (98.2 + 110.9)).abs() < 2.0,
            "got {perimeter}"
        );
        let GeometryValue::Polygon { coordinates } = area.to_geojson().value else {
            panic!("a single polygon is written as a Polygon");
        };
        let ring: Vec<geo::Coord> = coordinates[0]
            .iter()
            .map(|p| geo::coord! { x: p[0], y: p[1] })
            .collect();
        let signed = geo::Area::signed_area(&geo::Polygon::new(geo::LineString::new(ring), vec![]));
        assert!(
            signed > 0.0,
            "exterior ring must be counter-clockwise (RFC 7946)"
        );
    }

    #[test]
    fn invalid_polygons_are_rejected_with_their_reason() {
        let bow_tie = [
            [117.0, 28.2],
            [117.001, 28.201],
            [117.001, 28.2],
            [117.0, 28.201],
            [117.0, 28.2],
        ];
        let open = [
            [117.0, 28.2],
            [117.0, 28.201],
            [117.001, 28.201],
            [117.001, 28.2],
        ];
        let flat = [
            [117.0, 28.2],
            [117.001, 28.2],
            [117.002, 28.2],
            [117.0, 28.2],
        ];
        let short = [[117.0, 28.2], [117.001, 28.2], [117.0, 28.2]];
        let far = [
            [217.0, 28.2],
            [117.0, 28.201],
            [117.001, 28.201],
            [217.0, 28.2],
        ];
        let cases: [(&[[f64; 2]], &str); 5] = [
            (&bow_tie, "self-intersecting bow tie"),
            (&open, "ring not closed"),
            (&flat, "collinear ring without area"),
            (&short, "too few positions"),
            (&far, "longitude out of range"),
        ];
        for (coords, why) in cases {
            assert!(
                Area::from_geojson(&poly(coords)).is_err(),
                "{why} must be refused"
            );
        }
    }

    #[test]
    fn neighbours_touch_without_overlapping() {
        let square = |x: f64, size: f64| {
            Area::from_geojson(&poly(&[
                [x, 28.2],
                [x + size, 28.2],
                [x + size, 28.2 + size],
                [x, 28.2 + size],
                [x, 28.2],
            ]))
            .expect("valid")
        };
        let (a, b, inside, straddle) = (
            square(117.0, 0.01),
            square(117.01, 0.01),
            square(117.002, 0.005),
            square(117.005, 0.01),
        );
        assert!(!a.overlaps(&b), "a shared border is no overlap");
        assert!(a.overlaps(&straddle) && b.overlaps(&straddle));
        assert!(inside.covered_by(&a) && a.covered_by(&a));
        assert!(!straddle.covered_by(&a));
        assert_eq!(a.overlap_m2(&b), 0.0, "neighbours share no area");
        let half = a.overlap_m2(&straddle);
        assert!(
            (half - a.geodesic_area_m2() / 2.0).abs() < 1.0,
            "half of a overlaps: {half}"
        );
    }

    #[test]
    fn a_point_is_not_an_area() {
        let point = point_geojson(Location::parse(117.0, 28.2).expect("valid"));
        assert!(matches!(
            Area::from_geojson(&point),
            Err(GeometryError::WrongType { .. })
        ));
    }

    #[test]
    fn stored_text_reads_back_identically() {
        let area = Area::from_geojson(&poly(&SQUARE_CW)).expect("valid");
        let again = Area::from_geojson_str(&area.to_geojson().to_string()).expect("round trip");
        assert_eq!(area, again);
        assert!(area.contains(Location::parse(117.0005, 28.2005).expect("valid")));
        assert!(!area.contains(Location::parse(117.002, 28.2005).expect("valid")));
    }
}
