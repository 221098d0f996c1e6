//! Chinese map datums. The registry stores WGS84 / CGCS2000; most Chinese base maps are drawn in
//! GCJ-02 (AMap, Tencent) or BD-09 (Baidu), which shift points by hundreds of metres inside
//! China. Outputs convert on request; inputs say their datum and are stored as WGS84.
//!
//! GCJ-02 is a published obfuscation of WGS84 on the Krasovsky ellipsoid, applied only inside
//! China's bounding box; it has no closed-form inverse, so WGS84 is found by fixed-point
//! iteration (to about 1e-9°). BD-09 is a further closed-form shift of GCJ-02.

use std::f64::consts::PI;

use super::code_enum;

code_enum! {
    /// Coordinate reference system of coordinates sent or returned (坐标系).
    pub enum Crs {
        /// WGS84 / CGCS2000 longitude-latitude, EPSG:4326 (WGS84/国家2000), as stored.
        Wgs84 = "WGS84",
        /// GCJ-02 (国测局坐标, 火星坐标), the datum of AMap and Tencent maps.
        Gcj02 = "GCJ02",
        /// BD-09 (百度坐标), the datum of Baidu maps.
        Bd09 = "BD09",
    }
}

impl Default for Crs {
    /// What is stored, and what every output is in unless asked otherwise.
    fn default() -> Self {
        Crs::Wgs84
    }
}

/// Semi-major axis of the Krasovsky 1940 ellipsoid that GCJ-02 uses, in metres.
const A: f64 = 6_378_245.0;
/// Its first eccentricity squared.
const EE: f64 = 0.006_693_421_622_965_943;
/// BD-09's angular constant.
const X_PI: f64 = PI * 3000.0 / 180.0;

/// GCJ-02 shifts only points inside this box (a rough outline of China, as the datum defines);
/// at its edges the shift jumps to nothing.
pub fn outside_china(lon: f64, lat: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

fn shift_lat(x: f64, y: f64) -> f64 {
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn shift_lon(x: f64, y: f64) -> f64 {
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// WGS84 → GCJ-02.
pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if outside_china(lon, lat) {
        return (lon, lat);
    }
    let (x, y) = (lon - 105.0, lat - 35.0);
    let rad = lat / 180.0 * PI;
    let magic = 1.0 - EE * rad.sin() * rad.sin();
    let sqrt_magic = magic.sqrt();
    let dlat = shift_lat(x, y) * 180.0 / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    let dlon = shift_lon(x, y) * 180.0 / (A / sqrt_magic * rad.cos() * PI);
    (lon + dlon, lat + dlat)
}

/// GCJ-02 → WGS84, by iterating the forward shift until it reproduces the input.
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if outside_china(lon, lat) {
        return (lon, lat);
    }
    let (mut wlon, mut wlat) = (lon, lat);
    for _ in 0..30 {
        let (glon, glat) = wgs84_to_gcj02(wlon, wlat);
        let (dlon, dlat) = (glon - lon, glat - lat);
        wlon -= dlon;
        wlat -= dlat;
        if dlon.abs() < 1e-10 && dlat.abs() < 1e-10 {
            break;
        }
    }
    (wlon, wlat)
}

/// GCJ-02 → BD-09.
pub fn gcj02_to_bd09(lon: f64, lat: f64) -> (f64, f64) {
    let z = (lon * lon + lat * lat).sqrt() + 0.000_02 * (lat * X_PI).sin();
    let theta = lat.atan2(lon) + 0.000_003 * (lon * X_PI).cos();
    (z * theta.cos() + 0.0065, z * theta.sin() + 0.006)
}

/// BD-09 → GCJ-02. The usual closed form is only approximately the inverse (off by up to
/// ~5 cm), so it is the starting point of a few fixed-point steps on the forward shift.
pub fn bd09_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    let (x, y) = (lon - 0.0065, lat - 0.006);
    let z = (x * x + y * y).sqrt() - 0.000_02 * (y * X_PI).sin();
    let theta = y.atan2(x) - 0.000_003 * (x * X_PI).cos();
    let (mut glon, mut glat) = (z * theta.cos(), z * theta.sin());
    for _ in 0..10 {
        let (blon, blat) = gcj02_to_bd09(glon, glat);
        let (dlon, dlat) = (blon - lon, blat - lat);
        glon -= dlon;
        glat -= dlat;
        if dlon.abs() < 1e-11 && dlat.abs() < 1e-11 {
            break;
        }
    }
    (glon, glat)
}

impl Crs {
    /// A stored WGS84 position in this datum.
    pub fn from_wgs84(self, lon: f64, lat: f64) -> (f64, f64) {
        match self {
            Crs::Wgs84 => (lon, lat),
            Crs::Gcj02 => wgs84_to_gcj02(lon, lat),
            Crs::Bd09 => {
                let (g, t) = wgs84_to_gcj02(lon, lat);
                gcj02_to_bd09(g, t)
            }
        }
    }

    /// A position given in this datum, as WGS84 for storage.
    pub fn to_wgs84(self, lon: f64, lat: f64) -> (f64, f64) {
        match self {
            Crs::Wgs84 => (lon, lat),
            Crs::Gcj02 => gcj02_to_wgs84(lon, lat),
            Crs::Bd09 => {
                let (g, t) = bd09_to_gcj02(lon, lat);
                gcj02_to_wgs84(g, t)
            }
        }
    }

    /// Every position of a GeoJSON geometry converted with `f`, keeping any height.
    fn map(geometry: &mut geojson::Geometry, f: impl Fn(f64, f64) -> (f64, f64) + Copy) {
        use geojson::{GeometryValue as V, Position};
        let pos = |p: &mut Position| {
            let (lon, lat) = f(p[0], p[1]);
            p[0] = lon;
            p[1] = lat;
        };
        match &mut geometry.value {
            V::Point { coordinates } => pos(coordinates),
            V::MultiPoint { coordinates } | V::LineString { coordinates } => {
                coordinates.iter_mut().for_each(pos)
            }
            V::MultiLineString { coordinates } | V::Polygon { coordinates } => {
                coordinates.iter_mut().flatten().for_each(pos)
            }
            V::MultiPolygon { coordinates } => {
                coordinates.iter_mut().flatten().flatten().for_each(pos)
            }
            V::GeometryCollection { geometries } => {
                geometries.iter_mut().for_each(|g| Self::map(g, f))
            }
        }
        geometry.bbox = None;
    }

    /// A stored geometry in this datum.
    pub fn geometry_from_wgs84(self, mut geometry: geojson::Geometry) -> geojson::Geometry {
        if self != Crs::Wgs84 {
            Self::map(&mut geometry, |lon, lat| self.from_wgs84(lon, lat));
        }
        geometry
    }

    /// A geometry given in this datum, as WGS84.
    pub fn geometry_to_wgs84(self, mut geometry: geojson::Geometry) -> geojson::Geometry {
        if self != Crs::Wgs84 {
            Self::map(&mut geometry, |lon, lat| self.to_wgs84(lon, lat));
        }
        geometry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: (f64, f64), b: (f64, f64), tolerance: f64) -> bool {
        (a.0 - b.0).abs() <= tolerance && (a.1 - b.1).abs() <= tolerance
    }

    /// Reference values published with widely used implementations of the datums (Beijing,
    /// Jiaxing, near Harbin, and a plain 116°E 40°N point). Implementations differ from one
    /// another by millimetres, so each case says how close it must be.
    #[test]
    fn conversions_match_published_reference_points() {
        type Case = ((f64, f64), Crs, (f64, f64), f64);
        let cases: [Case; 5] = [
            (
                (116.404, 39.915),
                Crs::Gcj02,
                (116.41024449916938, 39.91640428150164),
                1e-9,
            ),
            (
                (116.0, 40.0),
                Crs::Gcj02,
                (116.006141221789, 40.001213650174),
                1e-7,
            ),
            (
                (121.0917077, 30.6107779),
                Crs::Gcj02,
                (121.09626935575027, 30.608604331756705),
                1e-7,
            ),
            (
                (121.0917077, 30.6107779),
                Crs::Bd09,
                (121.10271732371203, 30.61484572185035),
                1e-7,
            ),
            (
                (122.99395597, 44.99804071),
                Crs::Bd09,
                (123.00636516028885, 45.0063690918959),
                1e-9,
            ),
        ];
        for (wgs, crs, expected, tolerance) in cases {
            let got = crs.from_wgs84(wgs.0, wgs.1);
            assert!(
                close(got, expected, tolerance),
                "{wgs:?} → {crs}: {got:?}, expected {expected:?}"
            );
        }
        assert!(close(
            gcj02_to_bd09(116.404, 39.915),
            (116.41036949371029, 39.92133699351021),
            1e-12
        ));
        // The published inverse is the closed form, which is ~5 cm off the true inverse we compute.
        assert!(close(
            bd09_to_gcj02(116.404, 39.915),
            (116.39762729119315, 39.90865673957631),
            1e-6
        ));
    }

    #[test]
    fn round_trips_come_back_within_a_millimetre() {
        for (lon, lat) in [
            (117.0, 28.2),
            (116.404, 39.915),
            (121.47, 31.23),
            (87.6, 43.8),
            (126.6, 45.75),
        ] {
            for crs in Crs::ALL {
                let (x, y) = crs.from_wgs84(lon, lat);
                let back = crs.to_wgs84(x, y);
                assert!(
                    close(back, (lon, lat), 1e-8),
                    "{crs} round trip of {lon},{lat}: {back:?}"
                );
            }
        }
    }

    #[test]
    fn the_shift_is_hundreds_of_metres_in_china_and_nothing_outside() {
        let (lon, lat) = wgs84_to_gcj02(117.0, 28.2);
        let metres = ((lon - 117.0) * 98_200.0).hypot((lat - 28.2) * 110_900.0);
        assert!((100.0..1_000.0).contains(&metres), "shifted {metres} m");
        assert_eq!(
            wgs84_to_gcj02(2.35, 48.85),
            (2.35, 48.85),
            "Paris is not shifted"
        );
        assert_eq!(gcj02_to_wgs84(2.35, 48.85), (2.35, 48.85));
    }

    #[test]
    fn geometries_convert_every_position() {
        let ring = vec![
            vec![117.0, 28.2],
            vec![117.01, 28.2],
            vec![117.01, 28.21],
            vec![117.0, 28.2],
        ];
        let polygon = geojson::Geometry::new(geojson::GeometryValue::new_polygon([ring]));
        let shifted = Crs::Gcj02.geometry_from_wgs84(polygon.clone());
        let back = Crs::Gcj02.geometry_to_wgs84(shifted.clone());
        let (
            geojson::GeometryValue::Polygon { coordinates: a },
            geojson::GeometryValue::Polygon { coordinates: b },
        ) = (&polygon.value, &back.value)
        else {
            panic!("still polygons");
        };
        for (p, q) in a[0].iter().zip(&b[0]) {
            assert!(close((p[0], p[1]), (q[0], q[1]), 1e-8));
        }
        assert_ne!(shifted, polygon);
    }
}
