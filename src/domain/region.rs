//! Regions a listing can be narrowed to: a geodesic circle, a drawn polygon, or a box. Each has
//! an envelope in degrees (what the spatial key narrows to in SQL) and an exact test (what Rust
//! decides on the candidates).

use geo::{Distance as _, Geodesic, Haversine};

use super::geometry::{Area, BBox, GeometryError, Location};

/// The largest circle a query may draw: a province, not the planet.
pub const MAX_RADIUS_M: f64 = 200_000.0;

/// Metres per degree of latitude, at least (at the equator, on WGS84).
const M_PER_DEG_LAT_MIN: f64 = 110_574.0;
/// Metres per degree of longitude on the equator; a parallel at latitude φ has at least this
/// times cos φ.
const M_PER_DEG_LON_EQUATOR: f64 = 111_319.0;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegionError {
    #[error("the radius must be more than 0 and at most {MAX_RADIUS_M} m, got {0}")]
    RadiusOutOfRange(f64),
    #[error("a box needs min ≤ max in both axes, got {0:?}")]
    EmptyBox([f64; 4]),
    #[error(transparent)]
    Geometry(#[from] GeometryError),
}

/// A geodesic circle on the WGS84 ellipsoid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Circle {
    centre: Location,
    radius_m: f64,
}

impl Circle {
    pub fn new(centre: Location, radius_m: f64) -> Result<Self, RegionError> {
        if !(radius_m > 0.0 && radius_m <= MAX_RADIUS_M) {
            return Err(RegionError::RadiusOutOfRange(radius_m));
        }
        Ok(Self { centre, radius_m })
    }

    pub fn centre(&self) -> Location {
        self.centre
    }

    pub fn radius_m(&self) -> f64 {
        self.radius_m
    }

    /// The geodesic distance from the centre, in metres (Karney's algorithm, as geo computes it).
    pub fn distance_m(&self, to: Location) -> f64 {
        distance_m(self.centre, to)
    }

    /// The geodesic distance from the centre when `to` lies in the circle (edge included).
    /// A point plainly outside is turned away on a great-circle estimate, a tenth of the cost:
    /// on WGS84 the geodesic is never more than 0.6% shorter than the great circle on the
    /// mean sphere, so beyond 1% over the radius the exact answer can only be "outside".
    pub fn distance_within(&self, to: Location) -> Option<f64> {
        if Haversine.distance(self.centre.point(), to.point()) > self.radius_m * 1.01 {
            return None;
        }
        let d = self.distance_m(to);
        (d <= self.radius_m).then_some(d)
    }
}

/// Geodesic distance between two locations on WGS84, in metres.
pub fn distance_m(a: Location, b: Location) -> f64 {
    Geodesic.distance(a.point(), b.point())
}

/// The smallest box in degrees sure to hold every point within `radius_m` of `centre`: a
/// degree is never shorter than the constants above, and a small margin covers rounding.
pub fn envelope(centre: Location, radius_m: f64) -> BBox {
    let dlat = radius_m / M_PER_DEG_LAT_MIN * 1.001;
    let min_lat = (centre.lat() - dlat).max(-90.0);
    let max_lat = (centre.lat() + dlat).min(90.0);
    let widest = min_lat.abs().max(max_lat.abs());
    let (min_lon, max_lon) = if widest >= 89.9 {
        (-180.0, 180.0)
    } else {
        let dlon = radius_m / (M_PER_DEG_LON_EQUATOR * widest.to_radians().cos()) * 1.001;
        (
            (centre.lon() - dlon).max(-180.0),
            (centre.lon() + dlon).min(180.0),
        )
    };
    BBox {
        min_lon,
        min_lat,
        max_lon,
        max_lat,
    }
}

/// Checks a box given as [minLon, minLat, maxLon, maxLat].
pub fn parse_bbox(b: [f64; 4]) -> Result<BBox, RegionError> {
    let lo = Location::parse(b[0], b[1])?;
    let hi = Location::parse(b[2], b[3])?;
    if lo.lon() > hi.lon() || lo.lat() > hi.lat() {
        return Err(RegionError::EmptyBox(b));
    }
    Ok(BBox {
        min_lon: lo.lon(),
        min_lat: lo.lat(),
        max_lon: hi.lon(),
        max_lat: hi.lat(),
    })
}

impl BBox {
    /// Inside or on the edge.
    pub fn covers(&self, l: Location) -> bool {
        (self.min_lon..=self.max_lon).contains(&l.lon())
            && (self.min_lat..=self.max_lat).contains(&l.lat())
    }

    /// The box grown by `deg` on every side, within the valid ranges.
    pub fn grown(&self, deg: f64) -> BBox {
        BBox {
            min_lon: (self.min_lon - deg).max(-180.0),
            min_lat: (self.min_lat - deg).max(-90.0),
            max_lon: (self.max_lon + deg).min(180.0),
            max_lat: (self.max_lat + deg).min(90.0),
        }
    }
}

/// Where a listing of assets is narrowed to, by each asset's location.
#[derive(Debug, Clone, PartialEq)]
pub enum Region {
    Circle(Circle),
    Area(Area),
    Box(BBox),
}

impl Region {
    /// A box in degrees holding the whole region.
    pub fn envelope(&self) -> BBox {
        match self {
            Region::Circle(c) => envelope(c.centre, c.radius_m),
            Region::Area(a) => a.bbox(),
            Region::Box(b) => *b,
        }
    }

    /// Whether a location lies in the region, its edge included.
    pub fn covers(&self, l: Location) -> bool {
        self.place(l).is_some()
    }

    /// Where a location stands in the region: `None` outside it; inside, its distance from the
    /// centre for a circle (computed once, for the test and the answer), else `Some(None)`.
    pub fn place(&self, l: Location) -> Option<Option<f64>> {
        match self {
            Region::Circle(c) => c.distance_within(l).map(Some),
            Region::Area(a) => a.covers(l).then_some(None),
            Region::Box(b) => b.covers(l).then_some(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lon: f64, lat: f64) -> Location {
        Location::parse(lon, lat).expect("valid")
    }

    #[test]
    fn a_degree_of_latitude_is_about_111_km() {
        let d = distance_m(at(99.0, 26.0), at(99.0, 27.0));
        assert!((d - 110_800.0).abs() < 200.0, "{d}");
    }

    #[test]
    fn the_envelope_holds_the_whole_circle_at_every_bearing() {
        for lat in [0.0, 26.3, 60.0, 80.0] {
            for radius in [10.0, 2_000.0, 150_000.0] {
                let centre = at(99.3, lat);
                let b = envelope(centre, radius);
                for bearing in (0..360).step_by(5) {
                    let p = geo::Destination::destination(
                        &Geodesic,
                        centre.point(),
                        f64::from(bearing),
                        radius,
                    );
                    let l = at(p.x(), p.y());
                    assert!(b.covers(l), "lat {lat} r {radius} bearing {bearing}: {l:?}");
                }
            }
        }
    }

    #[test]
    fn circles_take_their_edge_and_refuse_silly_radii() {
        let c = Circle::new(at(99.3, 26.3), 1_000.0).expect("valid");
        let east = geo::Destination::destination(&Geodesic, c.centre().point(), 90.0, 999.9);
        assert!(Region::Circle(c).covers(at(east.x(), east.y())));
        let far = geo::Destination::destination(&Geodesic, c.centre().point(), 90.0, 1000.1);
        assert!(!Region::Circle(c).covers(at(far.x(), far.y())));
        for r in [0.0, -1.0, f64::NAN, f64::INFINITY, MAX_RADIUS_M + 1.0] {
            assert!(Circle::new(at(0.0, 0.0), r).is_err(), "{r}");
        }
    }

    #[test]
    fn boxes_must_not_be_inside_out() {
        assert!(parse_bbox([99.0, 26.0, 99.5, 26.5]).is_ok());
        assert!(matches!(
            parse_bbox([99.5, 26.0, 99.0, 26.5]),
            Err(RegionError::EmptyBox(_))
        ));
        assert!(parse_bbox([99.0, 26.0, 199.0, 26.5]).is_err());
    }

    #[test]
    fn the_great_circle_shortcut_never_turns_away_a_point_inside() {
        use geo::{Destination as _, Point};
        // Points on every bearing from 0.95 to 1.05 radii out, at the equator, at 28°N (the
        // district), at 60°N and near the pole, for a house lot, a village and a province.
        for lat in [0.0, 28.16, 60.0, 84.0] {
            for radius in [10.0, 2_000.0, 200_000.0] {
                let circle = Circle::new(at(117.16, lat), radius).expect("circle");
                for step in 0..720 {
                    let bearing = f64::from(step) * 0.5;
                    for k in 0..=20 {
                        let d = radius * (0.95 + 0.005 * f64::from(k));
                        let p: Point = Geodesic.destination(circle.centre().point(), bearing, d);
                        let l = at(p.x(), p.y());
                        let exact = circle.distance_m(l);
                        assert_eq!(
                            circle.distance_within(l),
                            (exact <= radius).then_some(exact),
                            "lat {lat}, radius {radius}, bearing {bearing}, {d} m"
                        );
                    }
                }
            }
        }
    }
}
