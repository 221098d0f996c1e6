//! Vector tiles read back by a decoder written here from the MVT 2.1 spec and the protobuf
//! wire format (sharing nothing with the server's encoder), and checked against brute force over
//! the stored rows: which features a tile holds, where, and with which properties.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::f64::consts::PI;

use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY};
use reqwest::{Response, StatusCode};
use rural_registry::db::entities::{idle_asset, township, village};
use rural_registry::domain::access::{PUBLIC_GRID_DEG, snap};
use rural_registry::domain::datum::Crs;
use rural_registry::domain::geometry::Location;
use sea_orm::EntityTrait;
use serde_json::Value as Json;

use crate::helpers::{TestApp, spawn_app, spawn_apps};

const EXTENT: f64 = 4096.0;
const BUFFER: f64 = 64.0;
/// Cells per tile side of aggregated assets, and the zoom from which assets come one by one.
const GRID: f64 = 64.0;
const DETAIL_ZOOM: u32 = 14;
const MVT: &str = "application/vnd.mapbox-vector-tile";

// ---- A minimal MVT decoder -------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Val {
    Str(String),
    Num(f64),
    Int(i64),
    Bool(bool),
}

#[derive(Debug)]
struct DecodedFeature {
    id: Option<u64>,
    /// 1 point, 2 line string, 3 polygon.
    kind: u64,
    /// Points: one part per point. Lines: one part per line. Polygons: one part per ring,
    /// closed (first point repeated).
    parts: Vec<Vec<(i64, i64)>>,
    properties: BTreeMap<String, Val>,
}

#[derive(Debug)]
struct DecodedLayer {
    name: String,
    extent: u64,
    version: u64,
    features: Vec<DecodedFeature>,
}

enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Bytes(&'a [u8]),
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, at: 0 }
    }

    fn varint(&mut self) -> u64 {
        let mut value = 0_u64;
        for shift in (0..64).step_by(7) {
            let byte = self.buf[self.at];
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return value;
            }
        }
        panic!("a varint longer than 10 bytes");
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let out = &self.buf[self.at..self.at + n];
        self.at += n;
        out
    }

    /// The next field's number and value, until the buffer ends.
    fn field(&mut self) -> Option<(u64, Wire<'a>)> {
        if self.at >= self.buf.len() {
            return None;
        }
        let key = self.varint();
        let wire = match key & 7 {
            0 => Wire::Varint(self.varint()),
            1 => Wire::Fixed64(u64::from_le_bytes(
                self.take(8).try_into().expect("8 bytes"),
            )),
            2 => {
                let n = self.varint() as usize;
                Wire::Bytes(self.take(n))
            }
            5 => Wire::Fixed32(u32::from_le_bytes(
                self.take(4).try_into().expect("4 bytes"),
            )),
            other => panic!("unexpected wire type {other}"),
        };
        Some((key >> 3, wire))
    }
}

fn packed(bytes: &[u8]) -> Vec<u64> {
    let mut r = Reader::new(bytes);
    let mut out = Vec::new();
    while r.at < bytes.len() {
        out.push(r.varint());
    }
    out
}

fn zigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

fn decode_value(bytes: &[u8]) -> Val {
    let mut r = Reader::new(bytes);
    let (field, wire) = r.field().expect("a value has one field");
    match (field, wire) {
        (1, Wire::Bytes(s)) => Val::Str(String::from_utf8(s.to_vec()).expect("UTF-8")),
        (2, Wire::Fixed32(f)) => Val::Num(f64::from(f32::from_bits(f))),
        (3, Wire::Fixed64(d)) => Val::Num(f64::from_bits(d)),
        (4, Wire::Varint(i)) => Val::Int(i as i64),
        (5, Wire::Varint(u)) => Val::Int(u as i64),
        (6, Wire::Varint(s)) => Val::Int(zigzag(s)),
        (7, Wire::Varint(b)) => Val::Bool(b != 0),
        (f, _) => panic!("unexpected value field {f}"),
    }
}

/// Geometry commands to parts, in tile units.
fn decode_geometry(kind: u64, commands: &[u64]) -> Vec<Vec<(i64, i64)>> {
    let (mut x, mut y) = (0_i64, 0_i64);
    let mut parts: Vec<Vec<(i64, i64)>> = Vec::new();
    let mut i = 0;
    while i < commands.len() {
        let (command, count) = (commands[i] & 7, commands[i] >> 3);
        i += 1;
        match command {
            1 | 2 => {
                for _ in 0..count {
                    x += zigzag(commands[i]);
                    y += zigzag(commands[i + 1]);
                    i += 2;
                    if command == 1 {
                        parts.push(vec![(x, y)]);
                    } else {
                        parts.last_mut().expect("LineTo after MoveTo").push((x, y));
                    }
                }
            }
            7 => {
                assert_eq!(kind, 3, "ClosePath only in polygons");
                let ring = parts.last_mut().expect("ClosePath after MoveTo");
                ring.push(ring[0]);
            }
            other => panic!("unknown command {other}"),
        }
    }
    parts
}

fn decode_feature(bytes: &[u8], keys: &[String], values: &[Val]) -> DecodedFeature {
    let mut r = Reader::new(bytes);
    let (mut id, mut kind, mut tags, mut commands) = (None, 0, Vec::new(), Vec::new());
    while let Some((field, wire)) = r.field() {
        match (field, wire) {
            (1, Wire::Varint(v)) => id = Some(v),
            (2, Wire::Bytes(b)) => tags = packed(b),
            (3, Wire::Varint(v)) => kind = v,
            (4, Wire::Bytes(b)) => commands = packed(b),
            (f, _) => panic!("unexpected feature field {f}"),
        }
    }
    assert!(tags.len() % 2 == 0, "tags come in pairs");
    let properties = tags
        .chunks(2)
        .map(|kv| (keys[kv[0] as usize].clone(), values[kv[1] as usize].clone()))
        .collect();
    DecodedFeature {
        id,
        kind,
        parts: decode_geometry(kind, &commands),
        properties,
    }
}

fn decode_layer(bytes: &[u8]) -> DecodedLayer {
    let mut r = Reader::new(bytes);
    let (mut name, mut extent, mut version) = (String::new(), 4096, 1);
    let (mut raw_features, mut keys, mut values) = (Vec::new(), Vec::new(), Vec::new());
    while let Some((field, wire)) = r.field() {
        match (field, wire) {
            (1, Wire::Bytes(b)) => name = String::from_utf8(b.to_vec()).expect("UTF-8"),
            (2, Wire::Bytes(b)) => raw_features.push(b),
            (3, Wire::Bytes(b)) => keys.push(String::from_utf8(b.to_vec()).expect("UTF-8")),
            (4, Wire::Bytes(b)) => values.push(decode_value(b)),
            (5, Wire::Varint(v)) => extent = v,
            (15, Wire::Varint(v)) => version = v,
            (f, _) => panic!("unexpected layer field {f}"),
        }
    }
    DecodedLayer {
        name,
        extent,
        version,
        features: raw_features
            .into_iter()
            .map(|f| decode_feature(f, &keys, &values))
            .collect(),
    }
}

fn decode(bytes: &[u8]) -> Vec<DecodedLayer> {
    let mut r = Reader::new(bytes);
    let mut layers = Vec::new();
    while let Some((field, wire)) = r.field() {
        match (field, wire) {
            (3, Wire::Bytes(b)) => layers.push(decode_layer(b)),
            (f, _) => panic!("unexpected tile field {f}"),
        }
    }
    for l in &layers {
        assert_eq!((l.extent, l.version), (4096, 2), "layer {}", l.name);
    }
    layers
}

// ---- Web Mercator, written out again ----------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct Tile {
    z: u32,
    x: u32,
    y: u32,
}

impl Tile {
    fn world(self) -> f64 {
        EXTENT * f64::from(1_u32 << self.z)
    }

    /// A position in this tile's units (x east, y south from the north-west corner).
    fn units(self, lon: f64, lat: f64) -> (f64, f64) {
        let world = self.world();
        let mercator = lat.to_radians().tan().asinh();
        (
            (lon + 180.0) / 360.0 * world - f64::from(self.x) * EXTENT,
            (1.0 - mercator / PI) / 2.0 * world - f64::from(self.y) * EXTENT,
        )
    }

    /// Tile units back to longitude and latitude.
    fn lon_lat(self, (x, y): (i64, i64)) -> (f64, f64) {
        let world = self.world();
        let wx = f64::from(self.x) * EXTENT + x as f64;
        let wy = f64::from(self.y) * EXTENT + y as f64;
        (
            wx / world * 360.0 - 180.0,
            (PI * (1.0 - 2.0 * wy / world)).sinh().atan().to_degrees(),
        )
    }

    /// The tile of zoom `z` holding a position.
    fn at(z: u32, lon: f64, lat: f64) -> Tile {
        let (x, y) = Tile { z, x: 0, y: 0 }.units(lon, lat);
        Tile {
            z,
            x: (x / EXTENT).floor() as u32,
            y: (y / EXTENT).floor() as u32,
        }
    }

    /// Whether a position lies in the tile grown by `grow` units.
    fn holds(self, lon: f64, lat: f64, grow: f64) -> bool {
        let (x, y) = self.units(lon, lat);
        (-grow..EXTENT + grow).contains(&x) && (-grow..EXTENT + grow).contains(&y)
    }

    /// One tile unit in degrees of longitude (and, at most, of latitude).
    fn unit_deg(self) -> f64 {
        360.0 / self.world()
    }

    fn path(self, layer: &str) -> String {
        format!("/tiles/{layer}/{}/{}/{}.mvt", self.z, self.x, self.y)
    }
}

// ---- Helpers -----------------------------------------------------------------------------

async fn get_as(app: &TestApp, path: &str, token: Option<&str>) -> Response {
    let mut request = app.client.get(format!("{}{path}", app.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request sent")
}

/// The tile's layers, by name, after checking it is a 200 tile.
async fn fetch(app: &TestApp, path: &str, token: Option<&str>) -> HashMap<String, DecodedLayer> {
    let response = get_as(app, path, token).await;
    assert_eq!(response.status(), StatusCode::OK, "{} {path}", app.engine);
    assert_eq!(header(&response, CONTENT_TYPE.as_str()), MVT);
    let bytes = response.bytes().await.expect("a body");
    decode(&bytes)
        .into_iter()
        .map(|l| (l.name.clone(), l))
        .collect()
}

fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn assets(app: &TestApp) -> Vec<idle_asset::Model> {
    idle_asset::Entity::find()
        .all(&app.db)
        .await
        .expect("assets")
}

fn public(a: &idle_asset::Model) -> (f64, f64) {
    let s = snap(
        Location::parse(a.lon, a.lat).expect("a stored location"),
        PUBLIC_GRID_DEG,
    );
    (s.lon(), s.lat())
}

/// The asset with the most neighbours within about a kilometre: where tiles hold the most.
fn densest(all: &[idle_asset::Model]) -> &idle_asset::Model {
    let near = |a: &idle_asset::Model| {
        all.iter()
            .filter(|b| (a.lon - b.lon).abs() < 0.01 && (a.lat - b.lat).abs() < 0.01)
            .count()
    };
    all.iter().max_by_key(|a| near(a)).expect("demo assets")
}

fn string(v: Option<&Val>) -> Option<&str> {
    match v {
        Some(Val::Str(s)) => Some(s),
        _ => None,
    }
}

fn number(v: Option<&Val>) -> Option<f64> {
    match v {
        Some(Val::Num(n)) => Some(*n),
        Some(Val::Int(i)) => Some(*i as f64),
        _ => None,
    }
}

fn point(f: &DecodedFeature) -> (i64, i64) {
    assert_eq!(f.kind, 1, "a point feature");
    assert_eq!(f.parts.len(), 1, "a single point");
    f.parts[0][0]
}

// ---- Tiles against brute force ------------------------------------------------------------

#[tokio::test]
async fn a_detailed_tile_holds_exactly_the_assets_in_it_at_their_true_points_with_their_details() {
    for app in spawn_apps().await {
        let all = assets(&app).await;
        let townships: HashMap<i64, String> = township::Entity::find()
            .all(&app.db)
            .await
            .expect("townships")
            .into_iter()
            .map(|t| (t.id, t.code))
            .collect();
        let villages: HashMap<i64, String> = village::Entity::find()
            .all(&app.db)
            .await
            .expect("villages")
            .into_iter()
            .map(|v| (v.id, v.code))
            .collect();
        let centre = densest(&all);
        for z in [DETAIL_ZOOM, 16] {
            let tile = Tile::at(z, centre.lon, centre.lat);
            let layers = fetch(&app, &tile.path("idle-assets"), Some(&app.admin)).await;
            let layer = &layers["idle-assets"];

            let expected: BTreeMap<i64, &idle_asset::Model> = all
                .iter()
                .filter(|a| tile.holds(a.lon, a.lat, BUFFER))
                .map(|a| (a.id, a))
                .collect();
            let got: BTreeSet<i64> = layer
                .features
                .iter()
                .map(|f| f.id.expect("an asset id") as i64)
                .collect();
            assert!(
                !expected.is_empty(),
                "{} z{z}: the tile holds assets",
                app.engine
            );
            assert_eq!(
                got,
                expected.keys().copied().collect::<BTreeSet<_>>(),
                "{}",
                app.engine
            );
            for f in &layer.features {
                let a = expected[&(f.id.expect("id") as i64)];
                let (x, y) = point(f);
                let (ex, ey) = tile.units(a.lon, a.lat);
                assert!(
                    (x as f64 - ex).abs() <= 1.0 && (y as f64 - ey).abs() <= 1.0,
                    "{}: asset {} drawn at ({x}, {y}), stored at ({ex}, {ey})",
                    app.engine,
                    a.id
                );
                let p = &f.properties;
                assert_eq!(string(p.get("code")), Some(a.code.as_str()));
                assert_eq!(string(p.get("kind")), Some(a.kind.as_str()));
                assert_eq!(string(p.get("status")), Some(a.status.as_str()));
                assert_eq!(
                    string(p.get("townshipCode")),
                    townships.get(&a.township_id).map(String::as_str)
                );
                assert_eq!(
                    string(p.get("villageCode")),
                    a.village_id
                        .and_then(|v| villages.get(&v))
                        .map(String::as_str)
                );
                assert_eq!(number(p.get("floorAreaSquareMeters")), a.floor_area_m2);
                assert_eq!(number(p.get("landAreaSquareMeters")), a.land_area_m2);
                assert_eq!(string(p.get("structure")), a.structure.as_deref());
                assert_eq!(
                    number(p.get("yearBuilt")),
                    a.year_built.map(f64::from),
                    "{}",
                    app.engine
                );
                assert_eq!(
                    string(p.get("idleSince")).map(str::to_owned),
                    a.idle_since.map(|d| d.to_string())
                );
                assert!(!p.contains_key("count"), "single assets carry no count");
            }
        }
    }
}

#[tokio::test]
async fn an_anonymous_detailed_tile_shows_grid_points_with_kind_and_status_only() {
    for app in spawn_apps().await {
        let all = assets(&app).await;
        let (lon, lat) = public(densest(&all));
        for z in [DETAIL_ZOOM, 16] {
            let tile = Tile::at(z, lon, lat);
            let layers = fetch(&app, &tile.path("idle-assets"), None).await;
            let layer = &layers["idle-assets"];

            let expected: BTreeSet<i64> = all
                .iter()
                .filter(|a| {
                    let (lon, lat) = public(a);
                    tile.holds(lon, lat, BUFFER)
                })
                .map(|a| a.id)
                .collect();
            let got: BTreeSet<i64> = layer
                .features
                .iter()
                .map(|f| f.id.expect("an asset id") as i64)
                .collect();
            assert!(!expected.is_empty(), "{}", app.engine);
            assert_eq!(got, expected, "{}", app.engine);
            let unit = tile.unit_deg();
            for f in &layer.features {
                let (lon, lat) = tile.lon_lat(point(f));
                let centre = |v: f64| ((v / PUBLIC_GRID_DEG).floor() + 0.5) * PUBLIC_GRID_DEG;
                assert!(
                    (lon - centre(lon)).abs() <= unit && (lat - centre(lat)).abs() <= unit,
                    "{}: ({lon}, {lat}) is not a grid centre",
                    app.engine
                );
                assert_eq!(
                    f.properties.keys().map(String::as_str).collect::<Vec<_>>(),
                    ["kind", "status"],
                    "{}",
                    app.engine
                );
            }
        }
    }
}

/// Brute force of the aggregated layer: global cell index → (count, mean lon, mean lat) of the
/// positions in the tile's cells and the ring of cells its buffer covers.
fn cells(tile: Tile, positions: &[(f64, f64)]) -> BTreeMap<u64, (i64, f64, f64)> {
    let side = f64::from(1_u32 << tile.z) * GRID;
    let cell = EXTENT / GRID;
    let mut sums: BTreeMap<u64, (i64, f64, f64)> = BTreeMap::new();
    for &(lon, lat) in positions {
        let (x, y) = tile.units(lon, lat);
        let (cx, cy) = ((x / cell).floor(), (y / cell).floor());
        let ring = (BUFFER / cell).ceil();
        if cx < -ring || cx >= GRID + ring || cy < -ring || cy >= GRID + ring {
            continue;
        }
        let column = f64::from(tile.x) * GRID + cx;
        let row = f64::from(tile.y) * GRID + cy;
        if column < 0.0 || row < 0.0 || column >= side || row >= side {
            continue;
        }
        let s = sums.entry((row * side + column) as u64).or_default();
        s.0 += 1;
        s.1 += lon;
        s.2 += lat;
    }
    sums.into_iter()
        .map(|(id, (n, lon, lat))| (id, (n, lon / n as f64, lat / n as f64)))
        .collect()
}

#[tokio::test]
async fn below_the_detail_zoom_assets_come_as_counted_cells_summing_to_the_assets_in_the_tile() {
    for app in spawn_apps().await {
        let all = assets(&app).await;
        let centre = densest(&all);
        for (who, token) in [("anonymous", None), ("admin", Some(app.admin.as_str()))] {
            let seen: Vec<(f64, f64)> = all
                .iter()
                .map(|a| match token {
                    None => public(a),
                    Some(_) => (a.lon, a.lat),
                })
                .collect();
            for z in [10, 12, DETAIL_ZOOM - 1] {
                let tile = Tile::at(z, centre.lon, centre.lat);
                let context = format!("{} {who} z{z}", app.engine);
                let layers = fetch(&app, &tile.path("idle-assets"), token).await;
                let layer = &layers["idle-assets"];
                let expected = cells(tile, &seen);
                let mut got = BTreeMap::new();
                for f in &layer.features {
                    let keys: Vec<&str> = f.properties.keys().map(String::as_str).collect();
                    assert_eq!(keys, ["count"], "{context}: a cell carries its count only");
                    let Some(Val::Int(n)) = f.properties.get("count") else {
                        panic!("{context}: an integer count");
                    };
                    got.insert(f.id.expect("a cell id"), (*n, point(f)));
                }
                assert_eq!(
                    got.iter().map(|(id, g)| (*id, g.0)).collect::<Vec<_>>(),
                    expected
                        .iter()
                        .map(|(id, e)| (*id, e.0))
                        .collect::<Vec<_>>(),
                    "{context}: cells and counts"
                );
                for (id, (_, lon, lat)) in &expected {
                    let (x, y) = got[id].1;
                    let (ex, ey) = tile.units(*lon, *lat);
                    assert!(
                        (x as f64 - ex).abs() <= 1.0 && (y as f64 - ey).abs() <= 1.0,
                        "{context}: cell {id} drawn at ({x}, {y}), its mean is ({ex}, {ey})"
                    );
                }
                // The tile's own cells (not its buffer's) count exactly the assets in the tile.
                let side = u64::from(1_u32 << z) * GRID as u64;
                let own: i64 = got
                    .iter()
                    .filter(|(id, _)| {
                        let (row, column) = (*id / side, *id % side);
                        column / GRID as u64 == u64::from(tile.x)
                            && row / GRID as u64 == u64::from(tile.y)
                    })
                    .map(|(_, g)| g.0)
                    .sum();
                let inside = seen
                    .iter()
                    .filter(|(lon, lat)| tile.holds(*lon, *lat, 0.0))
                    .count();
                assert!(inside > 0, "{context}: the tile holds assets");
                assert_eq!(own, inside as i64, "{context}");
            }
        }
    }
}

#[tokio::test]
async fn a_tile_holding_the_whole_district_counts_every_asset() {
    for app in spawn_apps().await {
        let all = assets(&app).await;
        // The deepest zoom whose one tile holds every asset.
        let tile = (0..DETAIL_ZOOM)
            .rev()
            .map(|z| Tile::at(z, all[0].lon, all[0].lat))
            .find(|t| all.iter().all(|a| t.holds(a.lon, a.lat, 0.0)))
            .expect("a tile holds the district");
        for token in [None, Some(app.admin.as_str())] {
            let layers = fetch(&app, &tile.path("idle-assets"), token).await;
            let total: i64 = layers["idle-assets"]
                .features
                .iter()
                .map(|f| match f.properties.get("count") {
                    Some(Val::Int(n)) => *n,
                    other => panic!("a count, got {other:?}"),
                })
                .sum();
            assert_eq!(total, all.len() as i64, "{} z{}", app.engine, tile.z);
        }
    }
}

#[tokio::test]
async fn township_tiles_at_a_low_zoom_are_polygons_within_each_townships_box() {
    for app in spawn_apps().await {
        let townships = township::Entity::find()
            .all(&app.db)
            .await
            .expect("townships");
        let dongchuan = townships
            .iter()
            .find(|t| t.code == "369901102000")
            .expect("东川镇");
        let tile = Tile::at(
            10,
            (dongchuan.min_lon + dongchuan.max_lon) / 2.0,
            (dongchuan.min_lat + dongchuan.max_lat) / 2.0,
        );
        let layers = fetch(&app, &tile.path("townships"), None).await;
        let layer = &layers["townships"];
        let by_code: HashMap<&str, &township::Model> =
            townships.iter().map(|t| (t.code.as_str(), t)).collect();
        let codes: Vec<&str> = layer
            .features
            .iter()
            .map(|f| string(f.properties.get("code")).expect("a code"))
            .collect();
        assert!(codes.contains(&"369901102000"), "{}: {codes:?}", app.engine);
        // Rounding to whole units moves a vertex by half a unit; allow two.
        let slack = 2.0 * tile.unit_deg();
        for f in &layer.features {
            assert_eq!(f.kind, 3, "{}: a polygon", app.engine);
            let code = string(f.properties.get("code")).expect("a code");
            let t = by_code[code];
            assert_eq!(string(f.properties.get("name")), Some(t.name.as_str()));
            assert!(f.id.is_some_and(|id| id as i64 == t.id));
            for ring in &f.parts {
                assert!(ring.len() >= 4, "{}: a closed ring", app.engine);
                for &p in ring {
                    let (lon, lat) = tile.lon_lat(p);
                    assert!(
                        lon >= t.min_lon - slack
                            && lon <= t.max_lon + slack
                            && lat >= t.min_lat - slack
                            && lat <= t.max_lat + slack,
                        "{}: vertex ({lon}, {lat}) of {code} outside its box",
                        app.engine
                    );
                }
            }
        }
    }
}

// ---- HTTP behaviour ------------------------------------------------------------------------

#[tokio::test]
async fn malformed_tile_addresses_are_bad_input_and_unknown_layers_not_found() {
    let app = spawn_app().await;
    let cases = [
        (
            "/tiles/idle-assets/23/0/0.mvt",
            400,
            "BAD_INPUT",
            "zoom above 22",
        ),
        (
            "/tiles/idle-assets/3/8/0.mvt",
            400,
            "BAD_INPUT",
            "x beyond 2^z",
        ),
        (
            "/tiles/idle-assets/3/0/8.mvt",
            400,
            "BAD_INPUT",
            "y beyond 2^z",
        ),
        (
            "/tiles/idle-assets/a/0/0.mvt",
            400,
            "BAD_INPUT",
            "zoom not a number",
        ),
        (
            "/tiles/idle-assets/3/-1/0.mvt",
            400,
            "BAD_INPUT",
            "negative x",
        ),
        (
            "/tiles/idle-assets/3/0/1.5.mvt",
            400,
            "BAD_INPUT",
            "fractional y",
        ),
        (
            "/tiles/idle-assets/99999999999/0/0.mvt",
            400,
            "BAD_INPUT",
            "zoom beyond u32",
        ),
        ("/tiles/idle-assets/3/0/0.png", 400, "BAD_INPUT", "not .mvt"),
        ("/tiles/idle-assets/3/0/0", 400, "BAD_INPUT", "no suffix"),
        (
            "/tiles/parcels/3/0/0.mvt",
            404,
            "NOT_FOUND",
            "unknown layer",
        ),
        ("/tiles/parcels.json", 404, "NOT_FOUND", "unknown TileJSON"),
        ("/tiles/idle-assets.xml", 404, "NOT_FOUND", "not .json"),
    ];
    for (path, status, code, reason) in cases {
        let response = app.get(path).await;
        assert_eq!(response.status().as_u16(), status, "{reason}: {path}");
        assert_eq!(header(&response, CONTENT_TYPE.as_str()), "application/json");
        let body: Json = response.json().await.expect("a JSON error");
        assert_eq!(body["code"], code, "{reason}: {body}");
        assert!(body["description"].is_string(), "{reason}: {body}");
    }
}

#[tokio::test]
async fn a_tile_far_from_the_district_is_an_empty_200() {
    for app in spawn_apps().await {
        for layer in ["townships", "villages", "idle-assets", "demo-sites", "all"] {
            for z in [3, 10, 16] {
                let path = format!("/tiles/{layer}/{z}/0/0.mvt");
                let response = get_as(&app, &path, Some(&app.admin)).await;
                assert_eq!(response.status(), StatusCode::OK, "{} {path}", app.engine);
                assert_eq!(header(&response, CONTENT_TYPE.as_str()), MVT);
                let body = response.bytes().await.expect("a body");
                assert!(
                    body.is_empty(),
                    "{} {path}: {} bytes",
                    app.engine,
                    body.len()
                );
            }
        }
    }
}

#[tokio::test]
async fn tiles_carry_an_etag_and_answer_304_when_the_client_holds_it() {
    for app in spawn_apps().await {
        let all = assets(&app).await;
        let c = densest(&all);
        let path = Tile::at(12, c.lon, c.lat).path("all");
        let mut etags = Vec::new();
        for (token, policy) in [(None, "public"), (Some(app.admin.as_str()), "private")] {
            let first = get_as(&app, &path, token).await;
            assert_eq!(first.status(), StatusCode::OK);
            let etag = header(&first, ETAG.as_str());
            assert!(etag.starts_with('"') && etag.len() > 10, "{etag}");
            let cache = header(&first, CACHE_CONTROL.as_str());
            assert!(cache.contains(policy), "{} {policy}: {cache}", app.engine);
            assert!(header(&first, VARY.as_str()).contains("Authorization"));
            assert!(!first.bytes().await.expect("a body").is_empty());

            for held in [etag.clone(), format!("W/{etag}"), format!("\"x\", {etag}")] {
                let mut request = app
                    .client
                    .get(format!("{}{path}", app.address))
                    .header(IF_NONE_MATCH, &held);
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                let again = request.send().await.expect("sent");
                assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{held}");
                assert_eq!(header(&again, ETAG.as_str()), etag);
                assert_eq!(header(&again, CACHE_CONTROL.as_str()), cache);
                assert!(again.bytes().await.expect("a body").is_empty());
            }
            let stale = app
                .client
                .get(format!("{}{path}", app.address))
                .header(IF_NONE_MATCH, "\"something-else\"")
                .send()
                .await
                .expect("sent");
            assert_eq!(stale.status(), StatusCode::OK);
            etags.push(etag);
        }
        assert_ne!(
            etags[0], etags[1],
            "{}: signed and anonymous tiles differ",
            app.engine
        );
    }
}

#[tokio::test]
async fn a_bad_token_is_unauthenticated_never_anonymous() {
    for app in spawn_apps().await {
        for path in [
            "/tiles/idle-assets/12/3374/1695.mvt",
            "/tiles/idle-assets.json",
        ] {
            for authorization in ["Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer "] {
                let response = app
                    .client
                    .get(format!("{}{path}", app.address))
                    .header("authorization", authorization)
                    .send()
                    .await
                    .expect("sent");
                assert_eq!(
                    response.status(),
                    StatusCode::UNAUTHORIZED,
                    "{} {path} {authorization}",
                    app.engine
                );
                let body: Json = response.json().await.expect("JSON");
                assert_eq!(body["code"], "UNAUTHENTICATED");
            }
        }
    }
}

// ---- TileJSON ------------------------------------------------------------------------------

#[tokio::test]
async fn tilejson_describes_the_tiles_and_its_template_serves_them() {
    for app in spawn_apps().await {
        let townships = township::Entity::find()
            .all(&app.db)
            .await
            .expect("townships");
        let fold = |f: fn(f64, f64) -> f64, v: fn(&township::Model) -> f64| {
            townships.iter().map(v).reduce(f).expect("townships")
        };
        let bounds = [
            fold(f64::min, |t| t.min_lon),
            fold(f64::min, |t| t.min_lat),
            fold(f64::max, |t| t.max_lon),
            fold(f64::max, |t| t.max_lat),
        ];
        for (id, layer_ids) in [
            ("townships", vec!["townships"]),
            ("villages", vec!["villages"]),
            ("idle-assets", vec!["idle-assets"]),
            ("demo-sites", vec!["demo-sites"]),
            (
                "all",
                vec![
                    "townships",
                    "villages",
                    "idle-assets",
                    "demo-sites",
                    "expropriation-zones",
                ],
            ),
        ] {
            let context = format!("{} {id}", app.engine);
            let response = app.get(&format!("/tiles/{id}.json")).await;
            assert_eq!(response.status(), StatusCode::OK, "{context}");
            assert!(header(&response, CONTENT_TYPE.as_str()).starts_with("application/json"));
            assert!(!header(&response, ETAG.as_str()).is_empty(), "{context}");
            assert!(
                header(&response, VARY.as_str()).contains("X-Forwarded-Proto"),
                "{context}: the template depends on the scheme a proxy reports"
            );
            let doc: Json = response.json().await.expect("JSON");
            assert_eq!(doc["tilejson"], "3.0.0", "{context}");
            assert!(doc["name"].is_string(), "{context}");
            let (minzoom, maxzoom) = (
                doc["minzoom"].as_u64().expect("minzoom"),
                doc["maxzoom"].as_u64().expect("maxzoom"),
            );
            assert!(minzoom <= maxzoom && maxzoom <= 22, "{context}");
            let got_bounds: Vec<f64> = doc["bounds"]
                .as_array()
                .expect("bounds")
                .iter()
                .map(|v| v.as_f64().expect("a number"))
                .collect();
            assert_eq!(got_bounds, bounds, "{context}");
            let center: Vec<f64> = doc["center"]
                .as_array()
                .expect("center")
                .iter()
                .map(|v| v.as_f64().expect("a number"))
                .collect();
            assert_eq!(center.len(), 3, "{context}");
            assert!((bounds[0]..=bounds[2]).contains(&center[0]), "{context}");
            assert!((bounds[1]..=bounds[3]).contains(&center[1]), "{context}");
            let layers = doc["vector_layers"].as_array().expect("vector_layers");
            assert_eq!(
                layers
                    .iter()
                    .map(|l| l["id"].as_str().expect("an id"))
                    .collect::<Vec<_>>(),
                layer_ids,
                "{context}"
            );
            for l in layers {
                assert!(l["fields"].is_object(), "{context}: {l}");
                assert!(l["description"].is_string(), "{context}: {l}");
                assert!(l["minzoom"].is_u64() && l["maxzoom"].is_u64(), "{context}");
            }

            let tiles = doc["tiles"].as_array().expect("tiles");
            assert_eq!(tiles.len(), 1, "{context}");
            let template = tiles[0].as_str().expect("a URL template");
            assert!(
                template.starts_with(&format!("{}/", app.address)),
                "{context}: {template}"
            );
            let zoom = center[2] as u32;
            assert!(zoom >= minzoom as u32 && zoom <= maxzoom as u32);
            let tile = Tile::at(zoom, center[0], center[1]);
            let url = template
                .replace("{z}", &tile.z.to_string())
                .replace("{x}", &tile.x.to_string())
                .replace("{y}", &tile.y.to_string());
            let filled = app.client.get(&url).send().await.expect("sent");
            assert_eq!(filled.status(), StatusCode::OK, "{context}: {url}");
            assert_eq!(header(&filled, CONTENT_TYPE.as_str()), MVT);
            let names: Vec<String> = decode(&filled.bytes().await.expect("a body"))
                .into_iter()
                .map(|l| l.name)
                .collect();
            assert!(
                names.iter().all(|n| layer_ids.contains(&n.as_str())),
                "{context}: {names:?}"
            );
            if matches!(id, "all" | "townships" | "idle-assets") {
                assert!(
                    !names.is_empty(),
                    "{context}: the district's centre has features"
                );
            }
        }

        let doc: Json = forwarded_tilejson(&app).await;
        let template = doc["tiles"][0].as_str().expect("a template");
        assert!(
            template.starts_with(&format!("{}/", app.address)),
            "X-Forwarded-… from a peer not in TRUSTED_PROXIES is ignored: {template}"
        );
    }
}

/// `/tiles/all.json` as a proxy that terminates TLS for `registry.example.cn` asks for it.
async fn forwarded_tilejson(app: &TestApp) -> Json {
    app.client
        .get(format!("{}/tiles/all.json", app.address))
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "registry.example.cn")
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON")
}

#[tokio::test]
async fn tilejson_urls_follow_a_trusted_proxys_scheme_and_host() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.trusted_proxies = "127.0.0.0/8".parse().expect("a network");
    })
    .await;
    let doc = forwarded_tilejson(&app).await;
    let template = doc["tiles"][0].as_str().expect("a template");
    assert!(
        template.starts_with("https://registry.example.cn/tiles/all/"),
        "{template}"
    );
}

#[tokio::test]
async fn every_property_in_a_tile_is_a_field_of_its_tilejson() {
    for app in spawn_apps().await {
        let all = assets(&app).await;
        let c = densest(&all);
        for token in [None, Some(app.admin.as_str())] {
            let doc: Json = get_as(&app, "/tiles/all.json", token)
                .await
                .json()
                .await
                .expect("JSON");
            let fields: HashMap<String, &serde_json::Map<String, Json>> = doc["vector_layers"]
                .as_array()
                .expect("layers")
                .iter()
                .map(|l| {
                    (
                        l["id"].as_str().expect("id").to_owned(),
                        l["fields"].as_object().expect("fields"),
                    )
                })
                .collect();
            for z in [10, 16] {
                let path = Tile::at(z, c.lon, c.lat).path("all");
                let layers = fetch(&app, &path, token).await;
                assert!(layers.contains_key("idle-assets"), "{path}");
                for (name, layer) in &layers {
                    for f in &layer.features {
                        for (key, value) in &f.properties {
                            let kind = fields[name].get(key).and_then(Json::as_str);
                            let expected = match value {
                                Val::Str(_) => "String",
                                Val::Num(_) | Val::Int(_) => "Number",
                                Val::Bool(_) => "Boolean",
                            };
                            assert_eq!(kind, Some(expected), "{} {path}: {name}.{key}", app.engine);
                        }
                    }
                }
            }
        }
    }
}

// ---- Tiles in the datums of Chinese base maps -------------------------------------------------

/// A stored position in `crs`, by the server's own conversion.
fn converted(crs: Crs, (lon, lat): (f64, f64)) -> (f64, f64) {
    crs.from_wgs84(lon, lat)
}

#[tokio::test]
async fn a_detailed_tile_in_gcj02_or_bd09_draws_each_asset_at_its_converted_point() {
    for app in spawn_apps().await {
        let all = assets(&app).await;
        let centre = densest(&all);
        for (crs, z) in [(Crs::Gcj02, 16), (Crs::Gcj02, 17), (Crs::Bd09, 16)] {
            let context = format!("{} {crs} z{z}", app.engine);
            let (lon, lat) = converted(crs, (centre.lon, centre.lat));
            let tile = Tile::at(z, lon, lat);
            let path = format!("{}?crs={crs}", tile.path("idle-assets"));
            let layers = fetch(&app, &path, Some(&app.admin)).await;
            let layer = &layers["idle-assets"];

            let expected: BTreeMap<i64, &idle_asset::Model> = all
                .iter()
                .filter(|a| {
                    let (lon, lat) = converted(crs, (a.lon, a.lat));
                    tile.holds(lon, lat, BUFFER)
                })
                .map(|a| (a.id, a))
                .collect();
            let got: BTreeSet<i64> = layer
                .features
                .iter()
                .map(|f| f.id.expect("an asset id") as i64)
                .collect();
            assert!(expected.contains_key(&centre.id), "{context}");
            assert_eq!(
                got,
                expected.keys().copied().collect::<BTreeSet<_>>(),
                "{context}: the assets whose {crs} point is in the tile"
            );
            for f in &layer.features {
                let a = expected[&(f.id.expect("id") as i64)];
                let (x, y) = point(f);
                let (ex, ey) = {
                    let (lon, lat) = converted(crs, (a.lon, a.lat));
                    tile.units(lon, lat)
                };
                assert!(
                    (x as f64 - ex).abs() <= 1.0 && (y as f64 - ey).abs() <= 1.0,
                    "{context}: asset {} drawn at ({x}, {y}), its {crs} point is at ({ex}, {ey})",
                    a.id
                );
                // Hundreds of metres from where a WGS84 tile draws it: thousands of units here.
                let (wx, wy) = tile.units(a.lon, a.lat);
                let off = (x as f64 - wx).hypot(y as f64 - wy);
                let metres = off * tile.unit_deg() * 111_320.0 * a.lat.to_radians().cos();
                assert!(
                    (100.0..1_500.0).contains(&metres) && off > 1_000.0,
                    "{context}: asset {} moved {off} units, {metres} m",
                    a.id
                );
            }
        }
    }
}

#[tokio::test]
async fn below_the_detail_zoom_gcj02_cells_count_the_assets_whose_gcj02_point_is_in_them() {
    for app in spawn_apps().await {
        let all = assets(&app).await;
        let centre = densest(&all);
        for (who, token) in [("anonymous", None), ("admin", Some(app.admin.as_str()))] {
            let seen: Vec<(f64, f64)> = all
                .iter()
                .map(|a| {
                    let at = match token {
                        None => public(a),
                        Some(_) => (a.lon, a.lat),
                    };
                    converted(Crs::Gcj02, at)
                })
                .collect();
            for z in [10, 12] {
                let context = format!("{} {who} z{z}", app.engine);
                let (lon, lat) = converted(Crs::Gcj02, (centre.lon, centre.lat));
                let tile = Tile::at(z, lon, lat);
                let path = format!("{}?crs=GCJ02", tile.path("idle-assets"));
                let layers = fetch(&app, &path, token).await;
                let mut got = BTreeMap::new();
                for f in &layers["idle-assets"].features {
                    let Some(Val::Int(n)) = f.properties.get("count") else {
                        panic!("{context}: an integer count");
                    };
                    got.insert(f.id.expect("a cell id"), (*n, point(f)));
                }
                let expected = cells(tile, &seen);
                assert_eq!(
                    got.iter().map(|(id, g)| (*id, g.0)).collect::<Vec<_>>(),
                    expected
                        .iter()
                        .map(|(id, e)| (*id, e.0))
                        .collect::<Vec<_>>(),
                    "{context}: cells and counts of the GCJ-02 points"
                );
                for (id, (_, lon, lat)) in &expected {
                    let (x, y) = got[id].1;
                    let (ex, ey) = tile.units(*lon, *lat);
                    assert!(
                        (x as f64 - ex).abs() <= 1.0 && (y as f64 - ey).abs() <= 1.0,
                        "{context}: cell {id} drawn at ({x}, {y}), its mean is ({ex}, {ey})"
                    );
                }
                let side = u64::from(1_u32 << z) * GRID as u64;
                let own: i64 = got
                    .iter()
                    .filter(|(id, _)| {
                        let (row, column) = (*id / side, *id % side);
                        column / GRID as u64 == u64::from(tile.x)
                            && row / GRID as u64 == u64::from(tile.y)
                    })
                    .map(|(_, g)| g.0)
                    .sum();
                let inside = seen
                    .iter()
                    .filter(|(lon, lat)| tile.holds(*lon, *lat, 0.0))
                    .count();
                assert!(inside > 0, "{context}: the tile holds assets");
                assert_eq!(own, inside as i64, "{context}");
            }
        }

        // A tile holding the whole district, in both datums, counts every asset.
        let gcj: Vec<(f64, f64)> = all
            .iter()
            .map(|a| converted(Crs::Gcj02, (a.lon, a.lat)))
            .collect();
        let tile = (0..DETAIL_ZOOM)
            .rev()
            .map(|z| Tile::at(z, all[0].lon, all[0].lat))
            .find(|t| {
                all.iter().all(|a| t.holds(a.lon, a.lat, 0.0))
                    && gcj.iter().all(|&(lon, lat)| t.holds(lon, lat, 0.0))
            })
            .expect("a tile holds the district");
        for query in ["", "?crs=GCJ02"] {
            let path = format!("{}{query}", tile.path("idle-assets"));
            let total: i64 = fetch(&app, &path, None).await["idle-assets"]
                .features
                .iter()
                .map(|f| match f.properties.get("count") {
                    Some(Val::Int(n)) => *n,
                    other => panic!("a count, got {other:?}"),
                })
                .sum();
            assert_eq!(total, all.len() as i64, "{} {path}", app.engine);
        }
    }
}

#[tokio::test]
async fn an_unknown_crs_is_bad_input_and_each_datum_has_its_own_etag() {
    for app in spawn_apps().await {
        let all = assets(&app).await;
        let c = densest(&all);
        let tile = Tile::at(14, c.lon, c.lat).path("all");
        for path in [tile.as_str(), "/tiles/all.json"] {
            for bad in ["EPSG:3857", "gcj02", "", "WGS-84"] {
                let response = app.get(&format!("{path}?crs={bad}")).await;
                let context = format!("{} {path}?crs={bad}", app.engine);
                assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{context}");
                assert_eq!(header(&response, CONTENT_TYPE.as_str()), "application/json");
                let body: Json = response.json().await.expect("a JSON error");
                assert_eq!(body["code"], "BAD_INPUT", "{context}: {body}");
                assert!(
                    body["description"]
                        .as_str()
                        .is_some_and(|d| d.contains("crs")),
                    "{context}: {body}"
                );
            }
        }

        // Tiles with features, and an empty tile whose bytes are the same in every datum.
        for path in [tile.as_str(), "/tiles/all/16/0/0.mvt", "/tiles/all.json"] {
            let mut etags = BTreeSet::new();
            for query in ["", "?crs=GCJ02", "?crs=BD09"] {
                let response = app.get(&format!("{path}{query}")).await;
                assert_eq!(response.status(), StatusCode::OK, "{path}{query}");
                let etag = header(&response, ETAG.as_str());
                assert!(etag.starts_with('"'), "{etag}");
                assert!(
                    etags.insert(etag),
                    "{} {path}{query}: a shared ETag",
                    app.engine
                );
            }
            let wgs84 = header(&app.get(path).await, ETAG.as_str());
            let explicit = header(&app.get(&format!("{path}?crs=WGS84")).await, ETAG.as_str());
            if path.ends_with(".mvt") {
                assert_eq!(explicit, wgs84, "{path}: WGS84 named or not is one tile");
            }
            // The WGS84 tag does not revalidate the GCJ-02 tile.
            let gcj = app
                .client
                .get(format!("{}{path}?crs=GCJ02", app.address))
                .header(IF_NONE_MATCH, &wgs84)
                .send()
                .await
                .expect("sent");
            assert_eq!(gcj.status(), StatusCode::OK, "{} {path}", app.engine);
            let held = header(&gcj, ETAG.as_str());
            let again = app
                .client
                .get(format!("{}{path}?crs=GCJ02", app.address))
                .header(IF_NONE_MATCH, &held)
                .send()
                .await
                .expect("sent");
            assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        }
    }
}

#[tokio::test]
async fn a_gcj02_tilejson_carries_the_datum_in_its_template_and_shifts_its_bounds() {
    for app in spawn_apps().await {
        let doc = |query: &'static str| {
            let app = &app;
            async move {
                let response = app.get(&format!("/tiles/all.json{query}")).await;
                assert_eq!(response.status(), StatusCode::OK, "{query}");
                response.json::<Json>().await.expect("JSON")
            }
        };
        let numbers = |v: &Json| -> Vec<f64> {
            v.as_array()
                .expect("an array")
                .iter()
                .map(|n| n.as_f64().expect("a number"))
                .collect()
        };
        let plain = doc("").await;
        let template = plain["tiles"][0].as_str().expect("a template");
        assert!(template.ends_with(".mvt"), "{template}");

        let townships = township::Entity::find()
            .all(&app.db)
            .await
            .expect("townships");
        for crs in [Crs::Gcj02, Crs::Bd09] {
            let context = format!("{} {crs}", app.engine);
            let shifted = match crs {
                Crs::Gcj02 => doc("?crs=GCJ02").await,
                _ => doc("?crs=BD09").await,
            };
            let template = shifted["tiles"][0].as_str().expect("a template");
            assert!(
                template.ends_with(&format!(".mvt?crs={crs}")),
                "{context}: {template}"
            );
            let description = shifted["description"].as_str().expect("a description");
            let name = if crs == Crs::Gcj02 { "GCJ-02" } else { "BD-09" };
            assert!(description.contains(name), "{context}: {description}");

            // Bounds hold every township's box converted, and the centre moved by the datum's
            // shift of the district's centre.
            let bounds = numbers(&shifted["bounds"]);
            for t in &townships {
                for corner in [
                    (t.min_lon, t.min_lat),
                    (t.min_lon, t.max_lat),
                    (t.max_lon, t.min_lat),
                    (t.max_lon, t.max_lat),
                ] {
                    let (lon, lat) = converted(crs, corner);
                    assert!(
                        (bounds[0]..=bounds[2]).contains(&lon)
                            && (bounds[1]..=bounds[3]).contains(&lat),
                        "{context}: {} corner {corner:?} → ({lon}, {lat}) outside {bounds:?}",
                        t.code
                    );
                }
            }
            let (before, after) = (numbers(&plain["center"]), numbers(&shifted["center"]));
            let expected = converted(crs, (before[0], before[1]));
            assert!(
                (after[0] - expected.0).abs() < 1e-3 && (after[1] - expected.1).abs() < 1e-3,
                "{context}: centre {after:?}, the converted centre is {expected:?}"
            );
            assert!(
                (after[0] - before[0]).abs() > 2e-3,
                "{context}: the centre moved east by the datum's shift"
            );

            // The template serves tiles in the datum: the same as asking for them directly.
            let c = (after[0], after[1]);
            let tile = Tile::at(after[2] as u32, c.0, c.1);
            let url = template
                .replace("{z}", &tile.z.to_string())
                .replace("{x}", &tile.x.to_string())
                .replace("{y}", &tile.y.to_string());
            let from_template = app.client.get(&url).send().await.expect("sent");
            let direct = app.get(&format!("{}?crs={crs}", tile.path("all"))).await;
            assert_eq!(from_template.status(), StatusCode::OK, "{context}: {url}");
            assert_eq!(
                header(&from_template, ETAG.as_str()),
                header(&direct, ETAG.as_str()),
                "{context}: {url}"
            );
        }
    }
}

#[tokio::test]
async fn expropriation_zones_are_drawn_for_token_holders_only() {
    for app in spawn_apps().await {
        let zones = rural_registry::db::rights::zones(&app.db)
            .await
            .expect("the zones");
        assert!(
            !zones.is_empty(),
            "{}: the demo announces zones",
            app.engine
        );
        let z = &zones[0];
        let (lon, lat) = ((z.min_lon + z.max_lon) / 2.0, (z.min_lat + z.max_lat) / 2.0);
        let path = Tile::at(12, lon, lat).path("expropriation-zones");
        let anonymous = get_as(&app, &path, None).await;
        assert_eq!(anonymous.status(), 200, "{}", app.engine);
        let body = anonymous.bytes().await.expect("a body");
        assert!(
            !String::from_utf8_lossy(&body).contains(&z.code),
            "{}: an anonymous tile names the zone",
            app.engine
        );
        let signed = get_as(&app, &path, Some(&app.admin)).await;
        assert_eq!(signed.status(), 200, "{}", app.engine);
        let body = signed.bytes().await.expect("a body");
        // MVT keeps string values as they are: the zone's code is in the tile's value table.
        assert!(
            String::from_utf8_lossy(&body).contains(&z.code),
            "{}: the signed tile holds the zone {}",
            app.engine,
            z.code
        );
    }
}
