//! Mapbox Vector Tiles (MVT 2.1): the registry's geometries cut into the tiles web maps draw.
//!
//! A tile is a small protobuf message. Its schema has four messages, so the wire format is
//! written here by hand (varints, zigzag, length-delimited fields) rather than through a protobuf
//! code generator and its build step.
//!
//! Each feature goes through the same steps, in an order chosen so that every step keeps what the
//! previous one guaranteed:
//! 1. project longitude/latitude to Web Mercator, in tile units of this tile (y down);
//! 2. clip to the tile grown by [`BUFFER`] units, so the tiles do not all carry the whole geometry
//!    while lines and polygon edges still run past the tile's edge and join their neighbours';
//! 3. simplify (Ramer–Douglas–Peucker) to about one tile unit, which keeps only vertices of
//!    points already inside the square, so the result stays clipped;
//! 4. round to integers and drop repeated points; what no longer makes a point, a line or a ring
//!    is dropped, and polygon rings are turned to the winding the spec requires.
//!
//! Polygons are clipped ring by ring (Sutherland–Hodgman). A concave polygon cut by the square
//! can leave zero-width edges along the square's border; renderers fill those as nothing, and
//! they lie in the buffer, outside what the tile shows. In exchange each ring keeps its role
//! (exterior or hole), and the clipper is linear in the ring's size.
//!
//! Longitudes and latitudes are WGS84's unless the caller converted them to another datum
//! (GCJ-02, BD-09) first: the grid is then Web Mercator's over that datum's coordinates, as the
//! base maps drawn in it use.

use std::collections::HashMap;
use std::f64::consts::PI;

use geo::{Coord, Geometry, LineString, Simplify};

/// Size of a tile's side in tile units: the spec's default, which every client understands.
pub const EXTENT: u32 = 4096;
/// How far, in tile units, geometry runs past a tile's edges, so that line caps and polygon
/// outlines drawn at the edge are not cut off where two tiles meet.
pub const BUFFER: u32 = 64;
/// The deepest zoom served. At 22 a tile unit is a few millimetres on the ground.
pub const MAX_ZOOM: u8 = 22;

/// Latitude where Web Mercator's square world ends; points beyond are drawn on its edge.
const MAX_LATITUDE: f64 = 85.051_128_779_8;
/// Simplification tolerance in tile units: a vertex closer than this to the simplified line
/// cannot be told apart once coordinates are rounded to whole units.
const SIMPLIFY_TOLERANCE: f64 = 1.0;
/// The largest count a command integer can carry (29 bits).
const MAX_COMMAND_COUNT: usize = (1 << 29) - 1;

/// Why a tile address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    #[error("there is no tile {z}/{x}/{y}: the zoom must be at most 22 and x and y below 2^zoom")]
    OutOfRange { z: u32, x: u32, y: u32 },
}

/// A tile address in the Web Mercator (EPSG:3857) XYZ scheme used by web maps: zoom `z`, column
/// `x` from the antimeridian eastwards, row `y` from the north edge southwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileId {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

impl TileId {
    /// Checks the address once, so the encoder can trust it: `z` at most [`MAX_ZOOM`], and `x`
    /// and `y` inside the 2^z × 2^z grid of that zoom.
    pub fn new(z: u32, x: u32, y: u32) -> Result<TileId, TileError> {
        let out_of_range = TileError::OutOfRange { z, x, y };
        let Ok(zoom) = u8::try_from(z) else {
            return Err(out_of_range);
        };
        if zoom > MAX_ZOOM || x >= 1 << z || y >= 1 << z {
            return Err(out_of_range);
        }
        Ok(TileId { z: zoom, x, y })
    }

    /// The tile's bounds in degrees of its datum, `(min_lon, min_lat, max_lon, max_lat)`, grown by
    /// `buffer` tile units on every side: with [`BUFFER`], the box of the features that can
    /// reach the tile once clipped. Longitudes stop at ±180 because tiles do not wrap around the
    /// antimeridian; latitudes follow the Mercator grid (±85.0511° at the world's edge).
    pub fn bounds(&self, buffer: u32) -> (f64, f64, f64, f64) {
        let world = self.world_size();
        let extent = f64::from(EXTENT);
        let buffer = f64::from(buffer);
        let west = f64::from(self.x) * extent - buffer;
        let east = f64::from(self.x + 1) * extent + buffer;
        let north = f64::from(self.y) * extent - buffer;
        let south = f64::from(self.y + 1) * extent + buffer;
        let lon = |x: f64| (x / world * 360.0 - 180.0).clamp(-180.0, 180.0);
        let lat = |y: f64| (PI * (1.0 - 2.0 * y / world)).sinh().atan().to_degrees();
        (lon(west), lat(south), lon(east), lat(north))
    }

    /// Douglas–Peucker tolerance suited to this zoom, in tile units. Being in tile units, the
    /// same tolerance is a ground distance that halves at each zoom, so geometry is simplified
    /// to what the zoom can show. The deepest zoom keeps every vertex that survives rounding,
    /// because clients magnify that tile past its zoom instead of asking for a deeper one.
    pub fn tolerance(&self) -> f64 {
        if self.z >= MAX_ZOOM {
            0.0
        } else {
            SIMPLIFY_TOLERANCE
        }
    }

    /// The side of the whole world at this zoom, in tile units.
    fn world_size(&self) -> f64 {
        f64::from(EXTENT) * f64::from(1_u32 << self.z)
    }

    /// Web Mercator projection of a position (in the tile's datum) into this tile's units: x
    /// east, y south, (0, 0) at the tile's north-west corner.
    pub fn project(&self, c: Coord<f64>) -> Coord<f64> {
        let world = self.world_size();
        let extent = f64::from(EXTENT);
        let lat = c.y.clamp(-MAX_LATITUDE, MAX_LATITUDE).to_radians();
        // ln(tan φ + sec φ), the Mercator ordinate, is asinh(tan φ).
        let mercator_y = lat.tan().asinh();
        Coord {
            x: (c.x + 180.0) / 360.0 * world - f64::from(self.x) * extent,
            y: (1.0 - mercator_y / PI) / 2.0 * world - f64::from(self.y) * extent,
        }
    }
}

/// A property value (the MVT `Value` message).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Double(f64),
    /// Written as `sint_value` (zigzag), which is compact for negative numbers too.
    Int(i64),
    Bool(bool),
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Double(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

/// One feature to encode: longitude/latitude geometry (WGS84, or the datum the tile is drawn in),
/// an optional id, and properties in the order they should be written.
///
/// Every geometry type is accepted. An MVT feature has one type, so a geometry collection
/// mixing points, lines and polygons becomes up to three features, one per type, sharing the
/// id and properties. If a key appears twice, the first value is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    pub id: Option<u64>,
    pub geometry: Geometry<f64>,
    pub properties: Vec<(String, Value)>,
}

/// One layer's features, encoded into a tile. Layers passed with the same name are written as
/// one, since the spec forbids two layers with the same name in a tile.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer<'a> {
    pub name: &'a str,
    pub features: Vec<Feature>,
}

/// Encodes layers into one tile's bytes (a protobuf `Tile` message). Features are projected to
/// Web Mercator, scaled to [`EXTENT`], clipped to the tile grown by [`BUFFER`] units,
/// simplified to the zoom, and dropped if nothing remains (a polygon that collapses below a
/// unit, a point outside the buffer). Layers with no remaining features are omitted; no
/// features at all gives an empty `Vec<u8>`, which is a valid empty tile.
pub fn encode(tile: TileId, layers: &[Layer]) -> Vec<u8> {
    let mut names: Vec<&str> = Vec::new();
    for layer in layers {
        if !names.contains(&layer.name) {
            names.push(layer.name);
        }
    }
    let mut out = Vec::new();
    for name in names {
        let mut encoder = LayerEncoder::default();
        for layer in layers.iter().filter(|l| l.name == name) {
            for feature in &layer.features {
                encoder.add(tile, feature);
            }
        }
        if encoder.feature_count > 0 {
            write_bytes(&mut out, TILE_LAYERS, &encoder.finish(name));
        }
    }
    out
}

// Field numbers of the MVT schema.
const TILE_LAYERS: u32 = 3;
const LAYER_NAME: u32 = 1;
const LAYER_FEATURES: u32 = 2;
const LAYER_KEYS: u32 = 3;
const LAYER_VALUES: u32 = 4;
const LAYER_EXTENT: u32 = 5;
const LAYER_VERSION: u32 = 15;
const FEATURE_ID: u32 = 1;
const FEATURE_TAGS: u32 = 2;
const FEATURE_TYPE: u32 = 3;
const FEATURE_GEOMETRY: u32 = 4;
const VALUE_STRING: u32 = 1;
const VALUE_DOUBLE: u32 = 3;
const VALUE_SINT: u32 = 6;
const VALUE_BOOL: u32 = 7;

/// The MVT version this module writes.
const VERSION: u64 = 2;

// Protobuf wire types.
const WIRE_VARINT: u32 = 0;
const WIRE_FIXED64: u32 = 1;
const WIRE_LEN: u32 = 2;

// MVT geometry types and commands.
const GEOM_POINT: u64 = 1;
const GEOM_LINESTRING: u64 = 2;
const GEOM_POLYGON: u64 = 3;
const CMD_MOVE_TO: u32 = 1;
const CMD_LINE_TO: u32 = 2;
const CMD_CLOSE_PATH: u32 = 7;

/// A value as a map key: doubles by their bits, so equal values share one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ValueKey<'a> {
    String(&'a str),
    Double(u64),
    Int(i64),
    Bool(bool),
}

impl<'a> From<&'a Value> for ValueKey<'a> {
    fn from(v: &'a Value) -> Self {
        match v {
            Value::String(s) => ValueKey::String(s),
            Value::Double(d) => ValueKey::Double(d.to_bits()),
            Value::Int(i) => ValueKey::Int(*i),
            Value::Bool(b) => ValueKey::Bool(*b),
        }
    }
}

/// One layer being written: its features as encoded so far, and the key and value tables the
/// features' tags point into, each entry stored once.
#[derive(Default)]
struct LayerEncoder<'a> {
    keys: Vec<&'a str>,
    key_index: HashMap<&'a str, u32>,
    values: Vec<ValueKey<'a>>,
    value_index: HashMap<ValueKey<'a>, u32>,
    features: Vec<u8>,
    feature_count: usize,
}

impl<'a> LayerEncoder<'a> {
    fn add(&mut self, tile: TileId, feature: &'a Feature) {
        let mut parts = Parts::default();
        parts.collect(tile, &feature.geometry);
        let tolerance = tile.tolerance();
        let geometries = [
            (GEOM_POINT, point_commands(&parts.points)),
            (GEOM_LINESTRING, line_commands(&parts.lines, tolerance)),
            (GEOM_POLYGON, polygon_commands(&parts.polygons, tolerance)),
        ];
        for (kind, commands) in geometries {
            if commands.is_empty() {
                continue;
            }
            // Tags are made only for features that are kept, so the tables list only what the
            // tile uses.
            let tags = self.tags(&feature.properties);
            let mut message = Vec::new();
            if let Some(id) = feature.id {
                write_varint_field(&mut message, FEATURE_ID, id);
            }
            write_packed(&mut message, FEATURE_TAGS, &tags);
            write_varint_field(&mut message, FEATURE_TYPE, kind);
            write_packed(&mut message, FEATURE_GEOMETRY, &commands);
            write_bytes(&mut self.features, LAYER_FEATURES, &message);
            self.feature_count += 1;
        }
    }

    /// The feature's tags: (key index, value index) pairs, interning new keys and values.
    fn tags(&mut self, properties: &'a [(String, Value)]) -> Vec<u32> {
        let mut tags = Vec::with_capacity(properties.len() * 2);
        for (key, value) in properties {
            let next = self.keys.len() as u32;
            let k = *self.key_index.entry(key).or_insert(next);
            if k == next {
                self.keys.push(key);
            } else if tags.chunks(2).any(|pair| pair[0] == k) {
                continue;
            }
            let value = ValueKey::from(value);
            let next = self.values.len() as u32;
            let v = *self.value_index.entry(value).or_insert(next);
            if v == next {
                self.values.push(value);
            }
            tags.extend([k, v]);
        }
        tags
    }

    fn finish(self, name: &str) -> Vec<u8> {
        let mut layer = Vec::with_capacity(self.features.len() + 64);
        write_bytes(&mut layer, LAYER_NAME, name.as_bytes());
        layer.extend_from_slice(&self.features);
        for key in &self.keys {
            write_bytes(&mut layer, LAYER_KEYS, key.as_bytes());
        }
        for value in &self.values {
            let mut message = Vec::new();
            match *value {
                ValueKey::String(s) => write_bytes(&mut message, VALUE_STRING, s.as_bytes()),
                ValueKey::Double(bits) => {
                    write_tag(&mut message, VALUE_DOUBLE, WIRE_FIXED64);
                    message.extend_from_slice(&bits.to_le_bytes());
                }
                ValueKey::Int(i) => write_varint_field(&mut message, VALUE_SINT, zigzag64(i)),
                ValueKey::Bool(b) => write_varint_field(&mut message, VALUE_BOOL, u64::from(b)),
            }
            write_bytes(&mut layer, LAYER_VALUES, &message);
        }
        write_varint_field(&mut layer, LAYER_EXTENT, u64::from(EXTENT));
        write_varint_field(&mut layer, LAYER_VERSION, VERSION);
        layer
    }
}

/// A feature's geometry projected to tile units and sorted by MVT type: points, lines, and
/// polygons as rings (exterior first, ring closure not repeated).
#[derive(Default)]
struct Parts {
    points: Vec<Coord<f64>>,
    lines: Vec<Vec<Coord<f64>>>,
    polygons: Vec<Vec<Vec<Coord<f64>>>>,
}

impl Parts {
    fn collect(&mut self, tile: TileId, geometry: &Geometry<f64>) {
        let project = |line: &LineString<f64>| -> Vec<Coord<f64>> {
            line.0.iter().map(|&c| tile.project(c)).collect()
        };
        let project_ring = |ring: &LineString<f64>| {
            let mut ring = project(ring);
            if ring.len() > 1 && ring.first() == ring.last() {
                ring.pop();
            }
            ring
        };
        let project_polygon = |polygon: &geo::Polygon<f64>| {
            std::iter::once(polygon.exterior())
                .chain(polygon.interiors())
                .map(project_ring)
                .collect::<Vec<_>>()
        };
        match geometry {
            Geometry::Point(p) => self.points.push(tile.project(p.0)),
            Geometry::MultiPoint(ps) => self.points.extend(ps.iter().map(|p| tile.project(p.0))),
            Geometry::Line(l) => self
                .lines
                .push(vec![tile.project(l.start), tile.project(l.end)]),
            Geometry::LineString(l) => self.lines.push(project(l)),
            Geometry::MultiLineString(ls) => self.lines.extend(ls.iter().map(project)),
            Geometry::Polygon(p) => self.polygons.push(project_polygon(p)),
            Geometry::MultiPolygon(ps) => self.polygons.extend(ps.iter().map(project_polygon)),
            Geometry::Rect(r) => self.polygons.push(project_polygon(&r.to_polygon())),
            Geometry::Triangle(t) => self.polygons.push(project_polygon(&t.to_polygon())),
            Geometry::GeometryCollection(gs) => {
                for g in gs {
                    self.collect(tile, g);
                }
            }
        }
    }
}

/// The square geometry is clipped to: the tile grown by [`BUFFER`] on every side.
const CLIP_MIN: f64 = -(BUFFER as f64);
const CLIP_MAX: f64 = (EXTENT + BUFFER) as f64;

fn inside(c: Coord<f64>) -> bool {
    (CLIP_MIN..=CLIP_MAX).contains(&c.x) && (CLIP_MIN..=CLIP_MAX).contains(&c.y)
}

/// A coordinate in whole tile units.
type Px = Coord<i32>;

/// Rounds to whole units. Only clipped coordinates come here, so they fit an `i32`.
fn round(c: Coord<f64>) -> Px {
    Coord {
        x: c.x.round() as i32,
        y: c.y.round() as i32,
    }
}

/// Rounds a simplified path and drops each point equal to the one before it.
fn round_path(coords: &[Coord<f64>]) -> Vec<Px> {
    let mut path: Vec<Px> = Vec::with_capacity(coords.len());
    for &c in coords {
        let p = round(c);
        if path.last() != Some(&p) {
            path.push(p);
        }
    }
    path
}

fn point_commands(points: &[Coord<f64>]) -> Vec<u32> {
    let kept: Vec<Px> = points
        .iter()
        .copied()
        .filter(|&c| inside(c))
        .map(round)
        .collect();
    let mut commands = Commands::default();
    for chunk in kept.chunks(MAX_COMMAND_COUNT) {
        commands.command(CMD_MOVE_TO, chunk.len());
        chunk.iter().for_each(|&p| commands.point(p));
    }
    commands.integers
}

fn line_commands(lines: &[Vec<Coord<f64>>], tolerance: f64) -> Vec<u32> {
    let mut commands = Commands::default();
    for line in lines {
        for part in clip_line(line) {
            let simplified = LineString::from(part).simplify(tolerance);
            let path = round_path(&simplified.0);
            if path.len() >= 2 {
                commands.path(&path);
            }
        }
    }
    commands.integers
}

fn polygon_commands(polygons: &[Vec<Vec<Coord<f64>>>], tolerance: f64) -> Vec<u32> {
    let mut commands = Commands::default();
    for rings in polygons {
        let Some((exterior, interiors)) = rings.split_first() else {
            continue;
        };
        // A hole is only meaningful inside its exterior: if the exterior is gone, so are they.
        let Some(exterior) = tile_ring(exterior, tolerance, true) else {
            continue;
        };
        commands.ring(&exterior);
        for interior in interiors {
            if let Some(interior) = tile_ring(interior, tolerance, false) {
                commands.ring(&interior);
            }
        }
    }
    commands.integers
}

/// A ring clipped, simplified, rounded and turned to the spec's winding (exterior positive
/// area with y down, holes negative), or `None` if it no longer encloses anything.
fn tile_ring(ring: &[Coord<f64>], tolerance: f64, exterior: bool) -> Option<Vec<Px>> {
    let mut clipped = clip_ring(ring);
    let first = *clipped.first()?;
    clipped.push(first);
    // As a line string rather than a polygon ring, so that geo lets a ring thinner than the
    // tolerance collapse to a spike, which is then dropped, instead of keeping it whole.
    let simplified = LineString::from(clipped).simplify(tolerance);
    let mut ring = round_path(&simplified.0);
    while ring.len() > 1 && ring.first() == ring.last() {
        ring.pop();
    }
    if ring.len() < 3 {
        return None;
    }
    let area = twice_area(&ring);
    if area == 0 {
        return None;
    }
    if (area > 0) != exterior {
        ring.reverse();
    }
    Some(ring)
}

/// Twice the ring's signed area by the surveyor's formula: positive for a ring that turns
/// clockwise on screen (y down), which the spec calls an exterior ring.
fn twice_area(ring: &[Px]) -> i64 {
    let mut sum = 0_i64;
    let mut prev = ring[ring.len() - 1];
    for &p in ring {
        sum += i64::from(prev.x) * i64::from(p.y) - i64::from(p.x) * i64::from(prev.y);
        prev = p;
    }
    sum
}

/// Sutherland–Hodgman: clips an open ring against each side of the buffered square in turn.
fn clip_ring(ring: &[Coord<f64>]) -> Vec<Coord<f64>> {
    let cross_x = |bound: f64| {
        move |a: Coord<f64>, b: Coord<f64>| Coord {
            x: bound,
            y: a.y + (b.y - a.y) * (bound - a.x) / (b.x - a.x),
        }
    };
    let cross_y = |bound: f64| {
        move |a: Coord<f64>, b: Coord<f64>| Coord {
            x: a.x + (b.x - a.x) * (bound - a.y) / (b.y - a.y),
            y: bound,
        }
    };
    let ring = clip_half_plane(ring, |c| c.x >= CLIP_MIN, cross_x(CLIP_MIN));
    let ring = clip_half_plane(&ring, |c| c.x <= CLIP_MAX, cross_x(CLIP_MAX));
    let ring = clip_half_plane(&ring, |c| c.y >= CLIP_MIN, cross_y(CLIP_MIN));
    clip_half_plane(&ring, |c| c.y <= CLIP_MAX, cross_y(CLIP_MAX))
}

/// One Sutherland–Hodgman pass. `cross` is only called on an edge with one end on each side of
/// the boundary, so it never divides by zero.
fn clip_half_plane(
    ring: &[Coord<f64>],
    keep: impl Fn(Coord<f64>) -> bool,
    cross: impl Fn(Coord<f64>, Coord<f64>) -> Coord<f64>,
) -> Vec<Coord<f64>> {
    let mut out = Vec::with_capacity(ring.len() + 4);
    let Some(&last) = ring.last() else {
        return out;
    };
    let mut prev = last;
    for &cur in ring {
        match (keep(prev), keep(cur)) {
            (true, true) => out.push(cur),
            (true, false) => out.push(cross(prev, cur)),
            (false, true) => out.extend([cross(prev, cur), cur]),
            (false, false) => {}
        }
        prev = cur;
    }
    out
}

/// Clips a line to the buffered square, segment by segment (Liang–Barsky). The line leaves and
/// re-enters the square as often as it likes; each stretch inside is one part.
fn clip_line(line: &[Coord<f64>]) -> Vec<Vec<Coord<f64>>> {
    let mut parts = Vec::new();
    let mut part: Vec<Coord<f64>> = Vec::new();
    let finish = |parts: &mut Vec<Vec<Coord<f64>>>, part: &mut Vec<Coord<f64>>| {
        let done = std::mem::take(part);
        if done.len() > 1 {
            parts.push(done);
        }
    };
    for segment in line.windows(2) {
        let (a, b) = (segment[0], segment[1]);
        let Some((t0, t1)) = clip_segment(a, b) else {
            finish(&mut parts, &mut part);
            continue;
        };
        let at = |t: f64| Coord {
            x: a.x + (b.x - a.x) * t,
            y: a.y + (b.y - a.y) * t,
        };
        // Entering from outside starts a new part; otherwise the segment continues the last.
        if t0 > 0.0 {
            finish(&mut parts, &mut part);
        }
        if part.is_empty() {
            part.push(at(t0));
        }
        part.push(at(t1));
        if t1 < 1.0 {
            finish(&mut parts, &mut part);
        }
    }
    finish(&mut parts, &mut part);
    parts
}

/// The stretch `t0..=t1` of the segment `a + t (b - a)`, `0 ≤ t ≤ 1`, inside the buffered
/// square, or `None` if it misses the square.
fn clip_segment(a: Coord<f64>, b: Coord<f64>) -> Option<(f64, f64)> {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
    // Each side as `p · t ≤ q`.
    for (p, q) in [
        (-dx, a.x - CLIP_MIN),
        (dx, CLIP_MAX - a.x),
        (-dy, a.y - CLIP_MIN),
        (dy, CLIP_MAX - a.y),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else if p < 0.0 {
            t0 = t0.max(q / p);
        } else {
            t1 = t1.min(q / p);
        }
        if t0 > t1 {
            return None;
        }
    }
    Some((t0, t1))
}

/// A feature's geometry as MVT command integers. The cursor carries over from one part to the
/// next, as the spec requires, so every part's first point is relative to the previous part.
#[derive(Default)]
struct Commands {
    integers: Vec<u32>,
    cursor: Px,
}

impl Commands {
    fn command(&mut self, id: u32, count: usize) {
        self.integers.push((id & 0x7) | ((count as u32) << 3));
    }

    fn point(&mut self, p: Px) {
        self.integers.push(zigzag32(p.x - self.cursor.x));
        self.integers.push(zigzag32(p.y - self.cursor.y));
        self.cursor = p;
    }

    /// A line string part: MoveTo its first point, LineTo the rest.
    fn path(&mut self, path: &[Px]) {
        let Some((&first, rest)) = path.split_first() else {
            return;
        };
        self.command(CMD_MOVE_TO, 1);
        self.point(first);
        for chunk in rest.chunks(MAX_COMMAND_COUNT) {
            self.command(CMD_LINE_TO, chunk.len());
            chunk.iter().for_each(|&p| self.point(p));
        }
    }

    /// A polygon ring: a path whose closing edge is ClosePath, not a repeated first point.
    fn ring(&mut self, ring: &[Px]) {
        self.path(ring);
        self.command(CMD_CLOSE_PATH, 1);
    }
}

fn zigzag32(n: i32) -> u32 {
    ((n << 1) ^ (n >> 31)) as u32
}

fn zigzag64(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn write_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn write_tag(buf: &mut Vec<u8>, field: u32, wire_type: u32) {
    write_varint(buf, u64::from((field << 3) | wire_type));
}

fn write_varint_field(buf: &mut Vec<u8>, field: u32, v: u64) {
    write_tag(buf, field, WIRE_VARINT);
    write_varint(buf, v);
}

fn write_bytes(buf: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    write_tag(buf, field, WIRE_LEN);
    write_varint(buf, bytes.len() as u64);
    buf.extend_from_slice(bytes);
}

/// A packed repeated uint32 field; nothing at all when empty, as protobuf writes it.
fn write_packed(buf: &mut Vec<u8>, field: u32, values: &[u32]) {
    if values.is_empty() {
        return;
    }
    let mut packed = Vec::with_capacity(values.len() * 2);
    for &v in values {
        write_varint(&mut packed, u64::from(v));
    }
    write_bytes(buf, field, &packed);
}

#[cfg(test)]
mod tests {
    //! The tiles are read back by a decoder written here from the spec, sharing nothing with the
    //! encoder: its own wire reader, zigzag, command decoding and inverse projection.

    use super::*;
    use geo::{GeometryCollection, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon};

    // ---- A minimal MVT decoder ----

    struct Reader<'b> {
        buf: &'b [u8],
        pos: usize,
    }

    impl<'b> Reader<'b> {
        fn new(buf: &'b [u8]) -> Self {
            Reader { buf, pos: 0 }
        }

        fn more(&self) -> bool {
            self.pos < self.buf.len()
        }

        fn varint(&mut self) -> u64 {
            let mut value = 0_u64;
            for shift in (0..64).step_by(7) {
                let byte = self.buf[self.pos];
                self.pos += 1;
                value |= u64::from(byte & 0x7f) << shift;
                if byte < 0x80 {
                    return value;
                }
            }
            panic!("varint longer than 10 bytes");
        }

        /// (field number, wire type)
        fn key(&mut self) -> (u64, u64) {
            let key = self.varint();
            (key >> 3, key & 7)
        }

        fn bytes(&mut self) -> &'b [u8] {
            let len = usize::try_from(self.varint()).unwrap();
            let bytes = &self.buf[self.pos..self.pos + len];
            self.pos += len;
            bytes
        }

        fn fixed64(&mut self) -> u64 {
            let bytes: [u8; 8] = self.buf[self.pos..self.pos + 8].try_into().unwrap();
            self.pos += 8;
            u64::from_le_bytes(bytes)
        }

        fn skip(&mut self, wire: u64) {
            match wire {
                0 => {
                    self.varint();
                }
                1 => self.pos += 8,
                2 => {
                    self.bytes();
                }
                5 => self.pos += 4,
                other => panic!("unknown wire type {other}"),
            }
        }
    }

    fn unzigzag(n: u32) -> i64 {
        let n = i64::from(n);
        (n >> 1) ^ -(n & 1)
    }

    fn packed_u32(bytes: &[u8]) -> Vec<u32> {
        let mut r = Reader::new(bytes);
        let mut out = Vec::new();
        while r.more() {
            out.push(u32::try_from(r.varint()).unwrap());
        }
        out
    }

    #[derive(Debug, Clone, PartialEq)]
    enum Decoded {
        Str(String),
        Double(f64),
        Sint(i64),
        Bool(bool),
    }

    #[derive(Debug, Default)]
    struct DLayer {
        version: Option<u64>,
        name: String,
        extent: Option<u64>,
        keys: Vec<String>,
        values: Vec<Decoded>,
        features: Vec<DFeature>,
    }

    #[derive(Debug, Default)]
    struct DFeature {
        id: Option<u64>,
        tags: Vec<u32>,
        kind: Option<u64>,
        geometry: Vec<u32>,
    }

    fn decode(tile: &[u8]) -> Vec<DLayer> {
        let mut r = Reader::new(tile);
        let mut layers = Vec::new();
        while r.more() {
            match r.key() {
                (3, 2) => layers.push(decode_layer(r.bytes())),
                (_, wire) => r.skip(wire),
            }
        }
        layers
    }

    fn decode_layer(bytes: &[u8]) -> DLayer {
        let mut r = Reader::new(bytes);
        let mut layer = DLayer::default();
        while r.more() {
            match r.key() {
                (15, 0) => layer.version = Some(r.varint()),
                (1, 2) => layer.name = String::from_utf8(r.bytes().to_vec()).unwrap(),
                (2, 2) => layer.features.push(decode_feature(r.bytes())),
                (3, 2) => layer
                    .keys
                    .push(String::from_utf8(r.bytes().to_vec()).unwrap()),
                (4, 2) => layer.values.push(decode_value(r.bytes())),
                (5, 0) => layer.extent = Some(r.varint()),
                (_, wire) => r.skip(wire),
            }
        }
        layer
    }

    fn decode_feature(bytes: &[u8]) -> DFeature {
        let mut r = Reader::new(bytes);
        let mut feature = DFeature::default();
        while r.more() {
            match r.key() {
                (1, 0) => feature.id = Some(r.varint()),
                (2, 2) => feature.tags = packed_u32(r.bytes()),
                (3, 0) => feature.kind = Some(r.varint()),
                (4, 2) => feature.geometry = packed_u32(r.bytes()),
                (_, wire) => r.skip(wire),
            }
        }
        feature
    }

    fn decode_value(bytes: &[u8]) -> Decoded {
        let mut r = Reader::new(bytes);
        let mut value = None;
        while r.more() {
            value = Some(match r.key() {
                (1, 2) => Decoded::Str(String::from_utf8(r.bytes().to_vec()).unwrap()),
                (3, 1) => Decoded::Double(f64::from_bits(r.fixed64())),
                (6, 0) => {
                    let n = r.varint();
                    Decoded::Sint(((n >> 1) as i64) ^ -((n & 1) as i64))
                }
                (7, 0) => Decoded::Bool(r.varint() != 0),
                other => panic!("unexpected value field {other:?}"),
            });
        }
        value.unwrap()
    }

    /// One MoveTo-started path in tile units, and whether a ClosePath ended it.
    #[derive(Debug, Clone, PartialEq)]
    struct Path {
        points: Vec<(i64, i64)>,
        closed: bool,
    }

    /// Decodes command integers; every MoveTo'd point starts a new path.
    fn decode_geometry(ints: &[u32]) -> Vec<Path> {
        let mut paths: Vec<Path> = Vec::new();
        let (mut x, mut y) = (0_i64, 0_i64);
        let mut i = 0;
        while i < ints.len() {
            let (id, count) = (ints[i] & 7, ints[i] >> 3);
            i += 1;
            match id {
                1 | 2 => {
                    assert!(count > 0, "a MoveTo or LineTo with no points");
                    for _ in 0..count {
                        x += unzigzag(ints[i]);
                        y += unzigzag(ints[i + 1]);
                        i += 2;
                        if id == 1 {
                            paths.push(Path {
                                points: vec![(x, y)],
                                closed: false,
                            });
                        } else {
                            paths.last_mut().unwrap().points.push((x, y));
                        }
                    }
                }
                7 => {
                    assert_eq!(count, 1, "ClosePath takes a count of 1");
                    paths.last_mut().unwrap().closed = true;
                }
                other => panic!("unknown command {other}"),
            }
        }
        paths
    }

    /// Twice the surveyor's-formula area in tile coordinates (y down): the spec's sign.
    fn surveyor(points: &[(i64, i64)]) -> i64 {
        (0..points.len())
            .map(|i| {
                let (x0, y0) = points[i];
                let (x1, y1) = points[(i + 1) % points.len()];
                x0 * y1 - x1 * y0
            })
            .sum()
    }

    /// Tile units of `tile` to WGS84 (the inverse of the spec's Web Mercator formula).
    fn to_lon_lat(tile: TileId, x: f64, y: f64) -> Coord<f64> {
        let n = 2_f64.powi(i32::from(tile.z));
        let lon = (f64::from(tile.x) + x / 4096.0) / n * 360.0 - 180.0;
        let merc = std::f64::consts::PI * (1.0 - 2.0 * (f64::from(tile.y) + y / 4096.0) / n);
        Coord {
            x: lon,
            y: merc.sinh().atan().to_degrees(),
        }
    }

    /// The size of one tile unit in degrees of longitude (a degree of latitude is longer on the
    /// map, so this bounds latitude errors too).
    fn unit_degrees(tile: TileId) -> f64 {
        360.0 / (2_f64.powi(i32::from(tile.z)) * 4096.0)
    }

    fn ring_at(tile: TileId, points: &[(f64, f64)]) -> LineString<f64> {
        LineString::from(
            points
                .iter()
                .map(|&(x, y)| to_lon_lat(tile, x, y))
                .collect::<Vec<_>>(),
        )
    }

    fn polygon_at(tile: TileId, exterior: &[(f64, f64)], holes: &[&[(f64, f64)]]) -> Polygon<f64> {
        Polygon::new(
            ring_at(tile, exterior),
            holes.iter().map(|h| ring_at(tile, h)).collect(),
        )
    }

    fn square(min: f64, max: f64) -> [(f64, f64); 4] {
        [(min, min), (max, min), (max, max), (min, max)]
    }

    fn point_at(tile: TileId, x: f64, y: f64) -> Point<f64> {
        Point(to_lon_lat(tile, x, y))
    }

    fn feature(geometry: impl Into<Geometry<f64>>) -> Feature {
        Feature {
            id: None,
            geometry: geometry.into(),
            properties: Vec::new(),
        }
    }

    fn one_layer(tile: TileId, features: Vec<Feature>) -> Vec<DLayer> {
        decode(&encode(
            tile,
            &[Layer {
                name: "assets",
                features,
            }],
        ))
    }

    /// The paths of the layer's only feature.
    fn only_paths(tile: TileId, geometry: impl Into<Geometry<f64>>) -> (u64, Vec<Path>) {
        let layers = one_layer(tile, vec![feature(geometry)]);
        assert_eq!(layers.len(), 1);
        assert_eq!(layers[0].features.len(), 1);
        let f = &layers[0].features[0];
        (f.kind.unwrap(), decode_geometry(&f.geometry))
    }

    /// The tile at zoom `z` holding a WGS84 position (the spec's formula, written afresh).
    fn tile_containing(z: u8, lon: f64, lat: f64) -> TileId {
        let n = 2_f64.powi(i32::from(z));
        let lat = lat.to_radians();
        let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
        let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n)
            .floor() as u32;
        TileId::new(u32::from(z), x, y).unwrap()
    }

    /// A tile over Chengdu at zoom `z`, so tests run where the registry's data lies.
    fn chengdu(z: u8) -> TileId {
        tile_containing(z, 104.06, 30.67)
    }

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    // ---- Tile math ----

    #[test]
    fn tile_id_new_rejects_addresses_outside_the_grid() {
        let cases = [
            (23, 0, 0, "zoom above 22"),
            (300, 0, 0, "zoom that does not fit a byte"),
            (0, 1, 0, "zoom 0 has one column"),
            (0, 0, 1, "zoom 0 has one row"),
            (1, 2, 0, "x equal to 2^z"),
            (1, 0, 2, "y equal to 2^z"),
            (22, 1 << 22, 0, "x equal to 2^22"),
            (5, u32::MAX, 0, "x far outside"),
        ];
        for (z, x, y, reason) in cases {
            assert_eq!(
                TileId::new(z, x, y),
                Err(TileError::OutOfRange { z, x, y }),
                "{reason}"
            );
        }
        assert_eq!(TileId::new(0, 0, 0), Ok(TileId { z: 0, x: 0, y: 0 }));
        let last = (1 << 22) - 1;
        assert_eq!(
            TileId::new(22, last, last),
            Ok(TileId {
                z: 22,
                x: last,
                y: last
            })
        );
    }

    #[test]
    fn bounds_of_known_tiles() {
        let m = 85.051_128_779_8;
        let cases = [
            ((0, 0, 0), (-180.0, -m, 180.0, m)),
            ((1, 1, 0), (0.0, 0.0, 180.0, m)),
            ((1, 0, 1), (-180.0, -m, 0.0, 0.0)),
            ((2, 3, 3), (90.0, -m, 180.0, -66.513_260_443_1)),
        ];
        for ((z, x, y), expected) in cases {
            let b = TileId::new(z, x, y).unwrap().bounds(0);
            for (got, want) in [
                (b.0, expected.0),
                (b.1, expected.1),
                (b.2, expected.2),
                (b.3, expected.3),
            ] {
                assert!(close(got, want, 1e-9), "{z}/{x}/{y}: {b:?} vs {expected:?}");
            }
        }
    }

    #[test]
    fn bounds_grow_by_the_buffer_but_stop_at_the_antimeridian() {
        let tile = TileId::new(1, 1, 0).unwrap();
        let (min_lon, min_lat, max_lon, max_lat) = tile.bounds(BUFFER);
        // 64 units of the 8192 across the world at zoom 1.
        assert!(close(min_lon, -64.0 / 8192.0 * 360.0, 1e-9));
        assert_eq!(max_lon, 180.0);
        let south = to_lon_lat(tile, 0.0, 4096.0 + 64.0).y;
        assert!(close(min_lat, south, 1e-9) && min_lat < 0.0);
        assert!(max_lat > 85.051_128_779_8);

        let tile = chengdu(14);
        let inner = tile.bounds(0);
        let outer = tile.bounds(BUFFER);
        assert!(outer.0 < inner.0 && outer.1 < inner.1 && outer.2 > inner.2 && outer.3 > inner.3);
        let nw = to_lon_lat(tile, -64.0, -64.0);
        assert!(close(outer.0, nw.x, 1e-9) && close(outer.3, nw.y, 1e-9));
    }

    #[test]
    fn tolerance_is_about_one_unit_except_at_the_deepest_zoom() {
        assert_eq!(chengdu(10).tolerance(), 1.0);
        assert_eq!(chengdu(21).tolerance(), 1.0);
        assert_eq!(chengdu(22).tolerance(), 0.0);
    }

    // ---- Wire format ----

    #[test]
    fn tile_without_features_is_empty() {
        let tile = chengdu(14);
        assert!(encode(tile, &[]).is_empty());
        let empty = Layer {
            name: "assets",
            features: Vec::new(),
        };
        assert!(encode(tile, &[empty]).is_empty());
    }

    #[test]
    fn spec_examples_encode_to_the_spec_command_integers() {
        // The examples of section 4.3.5 of the spec, at zoom 0 where the tile is the world.
        let tile = TileId::new(0, 0, 0).unwrap();
        let (kind, _) = only_paths(tile, point_at(tile, 25.0, 17.0));
        assert_eq!(kind, 1);
        let geometry = |g: Geometry<f64>| {
            let layers = one_layer(tile, vec![feature(g)]);
            layers[0].features[0].geometry.clone()
        };
        assert_eq!(geometry(point_at(tile, 25.0, 17.0).into()), [9, 50, 34]);
        let points = MultiPoint(vec![point_at(tile, 5.0, 7.0), point_at(tile, 3.0, 2.0)]);
        assert_eq!(geometry(points.into()), [17, 10, 14, 3, 9]);
        let line = ring_at(tile, &[(2.0, 2.0), (2.0, 10.0), (10.0, 10.0)]);
        assert_eq!(geometry(line.into()), [9, 4, 4, 18, 0, 16, 16, 0]);
        let lines = MultiLineString(vec![
            ring_at(tile, &[(2.0, 2.0), (2.0, 10.0), (10.0, 10.0)]),
            ring_at(tile, &[(1.0, 1.0), (3.0, 5.0)]),
        ]);
        assert_eq!(
            geometry(lines.into()),
            [9, 4, 4, 18, 0, 16, 16, 0, 9, 17, 17, 10, 4, 8]
        );
        let triangle = polygon_at(tile, &[(3.0, 6.0), (8.0, 12.0), (20.0, 34.0)], &[]);
        assert_eq!(
            geometry(triangle.into()),
            [9, 6, 12, 18, 10, 12, 24, 44, 15]
        );
    }

    #[test]
    fn layer_header_has_version_name_and_extent() {
        let tile = chengdu(14);
        let layers = one_layer(tile, vec![feature(point_at(tile, 10.0, 10.0))]);
        assert_eq!(layers.len(), 1);
        assert_eq!(layers[0].name, "assets");
        assert_eq!(layers[0].version, Some(2));
        assert_eq!(layers[0].extent, Some(4096));
    }

    #[test]
    fn point_round_trips_with_id_and_typed_properties() {
        let (lon, lat) = (104.063_21, 30.671_58);
        let tile = tile_containing(16, lon, lat);
        let layers = one_layer(
            tile,
            vec![Feature {
                id: Some(42),
                geometry: Point::new(lon, lat).into(),
                properties: vec![
                    ("name".into(), "闲置农房".into()),
                    ("area".into(), Value::Double(120.5)),
                    ("rooms".into(), Value::Int(-3)),
                    ("big".into(), Value::Int(1 << 40)),
                    ("idle".into(), Value::Bool(true)),
                ],
            }],
        );
        let layer = &layers[0];
        let f = &layer.features[0];
        assert_eq!(f.id, Some(42));
        assert_eq!(f.kind, Some(1));
        let paths = decode_geometry(&f.geometry);
        assert_eq!(paths.len(), 1);
        let (x, y) = paths[0].points[0];
        assert!((0..4096).contains(&x) && (0..4096).contains(&y));
        let back = to_lon_lat(tile, x as f64, y as f64);
        let unit = unit_degrees(tile);
        assert!(
            close(back.x, lon, unit) && close(back.y, lat, unit),
            "{back:?}"
        );

        let properties: Vec<(&str, &Decoded)> = f
            .tags
            .chunks(2)
            .map(|t| {
                (
                    layer.keys[t[0] as usize].as_str(),
                    &layer.values[t[1] as usize],
                )
            })
            .collect();
        assert_eq!(
            properties,
            [
                ("name", &Decoded::Str("闲置农房".into())),
                ("area", &Decoded::Double(120.5)),
                ("rooms", &Decoded::Sint(-3)),
                ("big", &Decoded::Sint(1 << 40)),
                ("idle", &Decoded::Bool(true)),
            ]
        );
    }

    #[test]
    fn feature_without_id_or_properties_has_neither() {
        let tile = chengdu(14);
        let layers = one_layer(tile, vec![feature(point_at(tile, 1.0, 2.0))]);
        let f = &layers[0].features[0];
        assert_eq!(f.id, None);
        assert!(f.tags.is_empty());
        assert!(layers[0].keys.is_empty() && layers[0].values.is_empty());
    }

    #[test]
    fn keys_and_values_are_deduplicated_across_features() {
        let tile = chengdu(14);
        let with = |x: f64, properties: Vec<(&str, Value)>| Feature {
            id: None,
            geometry: point_at(tile, x, 100.0).into(),
            properties: properties
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        };
        let layers = one_layer(
            tile,
            vec![
                with(
                    10.0,
                    vec![("kind", "house".into()), ("floors", Value::Int(2))],
                ),
                with(
                    20.0,
                    vec![("kind", "house".into()), ("floors", Value::Int(3))],
                ),
                with(
                    30.0,
                    vec![
                        ("floors", Value::Int(2)),
                        ("kind", "land".into()),
                        ("share", Value::Double(2.0)),
                        // A key repeated within one feature: the first value is kept.
                        ("kind", "forest".into()),
                    ],
                ),
                // Dropped (outside the buffer): its key and value must not be listed.
                with(-1000.0, vec![("ghost", "boo".into())]),
            ],
        );
        let layer = &layers[0];
        assert_eq!(layer.features.len(), 3);
        assert_eq!(layer.keys, ["kind", "floors", "share"]);
        assert_eq!(
            layer.values,
            [
                Decoded::Str("house".into()),
                Decoded::Sint(2),
                Decoded::Sint(3),
                Decoded::Str("land".into()),
                Decoded::Double(2.0),
            ]
        );
        let tags: Vec<&[u32]> = layer.features.iter().map(|f| f.tags.as_slice()).collect();
        assert_eq!(
            tags,
            [&[0, 0, 1, 1][..], &[0, 0, 1, 2], &[1, 1, 0, 3, 2, 4]]
        );
    }

    #[test]
    fn layers_are_kept_apart_and_same_named_layers_are_merged() {
        let tile = chengdu(14);
        let bytes = encode(
            tile,
            &[
                Layer {
                    name: "assets",
                    features: vec![feature(point_at(tile, 1.0, 1.0))],
                },
                Layer {
                    name: "villages",
                    features: vec![feature(point_at(tile, 2.0, 2.0))],
                },
                Layer {
                    name: "assets",
                    features: vec![feature(point_at(tile, 3.0, 3.0))],
                },
                Layer {
                    name: "empty",
                    features: vec![feature(point_at(tile, -500.0, 3.0))],
                },
            ],
        );
        let layers = decode(&bytes);
        let names: Vec<(&str, usize)> = layers
            .iter()
            .map(|l| (l.name.as_str(), l.features.len()))
            .collect();
        assert_eq!(names, [("assets", 2), ("villages", 1)]);
    }

    // ---- Polygons ----

    #[test]
    fn polygon_round_trips_clockwise_with_close_path_whatever_its_input_winding() {
        let tile = chengdu(15);
        let ring = [
            (1000.0, 1000.0),
            (3000.0, 1000.0),
            (3000.0, 3000.0),
            (1000.0, 2000.0),
        ];
        let mut reversed = ring;
        reversed.reverse();
        for input in [ring, reversed] {
            let polygon = polygon_at(tile, &input, &[]);
            let (kind, paths) = only_paths(tile, polygon.clone());
            assert_eq!(kind, 3);
            assert_eq!(paths.len(), 1);
            let exterior = &paths[0];
            assert!(exterior.closed, "a ring ends with ClosePath");
            assert_eq!(exterior.points.len(), 4, "the first point is not repeated");
            assert!(surveyor(&exterior.points) > 0, "exterior has positive area");
            assert_eq!(surveyor(&exterior.points), 2 * 3_000_000);
            let mut corners = exterior.points.clone();
            corners.sort();
            assert_eq!(
                corners,
                [(1000, 1000), (1000, 2000), (3000, 1000), (3000, 3000)]
            );
            // Back on the ground, each corner lies within a unit of an input vertex.
            let unit = unit_degrees(tile);
            for &(x, y) in &exterior.points {
                let back = to_lon_lat(tile, x as f64, y as f64);
                assert!(
                    polygon
                        .exterior()
                        .0
                        .iter()
                        .any(|c| close(c.x, back.x, unit) && close(c.y, back.y, unit))
                );
            }
        }
    }

    #[test]
    fn polygon_hole_winds_the_other_way() {
        let tile = chengdu(15);
        // Both rings given the same way round: the encoder must turn the hole.
        let polygon = polygon_at(tile, &square(500.0, 3500.0), &[&square(1500.0, 2500.0)]);
        let (_, paths) = only_paths(tile, polygon);
        assert_eq!(paths.len(), 2);
        assert!(paths.iter().all(|p| p.closed && p.points.len() == 4));
        assert_eq!(surveyor(&paths[0].points), 2 * 3000 * 3000);
        assert_eq!(surveyor(&paths[1].points), -2 * 1000 * 1000);
    }

    #[test]
    fn multipolygon_writes_each_exterior_before_its_holes() {
        let tile = chengdu(15);
        let a = polygon_at(tile, &square(100.0, 1100.0), &[&square(400.0, 600.0)]);
        let b = polygon_at(tile, &square(2000.0, 2500.0), &[]);
        let c = polygon_at(
            tile,
            &square(3000.0, 4000.0),
            &[&square(3100.0, 3200.0), &square(3500.0, 3600.0)],
        );
        let (kind, paths) = only_paths(tile, MultiPolygon(vec![a, b, c]));
        assert_eq!(kind, 3);
        let areas: Vec<i64> = paths.iter().map(|p| surveyor(&p.points)).collect();
        assert_eq!(
            areas,
            [
                2 * 1000 * 1000,
                -2 * 200 * 200,
                2 * 500 * 500,
                2 * 1000 * 1000,
                -2 * 100 * 100,
                -2 * 100 * 100
            ]
        );
        // The cursor carries across parts: absolute positions decode right only if it does.
        let mut b_corners = paths[2].points.clone();
        b_corners.sort();
        assert_eq!(
            b_corners,
            [(2000, 2000), (2000, 2500), (2500, 2000), (2500, 2500)]
        );
    }

    #[test]
    fn polygon_larger_than_the_tile_is_clipped_to_the_buffered_square() {
        let tile = chengdu(15);
        let polygon = polygon_at(tile, &square(-50_000.0, 60_000.0), &[]);
        let (_, paths) = only_paths(tile, polygon);
        assert_eq!(paths.len(), 1);
        let ring = &paths[0];
        let (lo, hi) = (-i64::from(BUFFER), i64::from(EXTENT + BUFFER));
        assert!(
            ring.points
                .iter()
                .all(|&(x, y)| (lo..=hi).contains(&x) && (lo..=hi).contains(&y))
        );
        assert_eq!(surveyor(&ring.points), 2 * (hi - lo) * (hi - lo));

        // A diamond whose corners stick out of every side: an octagon remains, wound clockwise.
        let diamond = polygon_at(
            tile,
            &[
                (2048.0, -952.0),
                (5048.0, 2048.0),
                (2048.0, 5048.0),
                (-952.0, 2048.0),
            ],
            &[],
        );
        let (_, paths) = only_paths(tile, diamond);
        assert_eq!(paths.len(), 1);
        assert!(surveyor(&paths[0].points) > 0);
        let mut corners = paths[0].points.clone();
        corners.sort();
        assert_eq!(
            corners,
            [
                (-64, 1160),
                (-64, 2936),
                (1160, -64),
                (1160, 4160),
                (2936, -64),
                (2936, 4160),
                (4160, 1160),
                (4160, 2936)
            ]
        );
    }

    #[test]
    fn hole_outside_the_tile_is_dropped_and_an_exterior_outside_drops_its_holes() {
        let tile = chengdu(15);
        let polygon = polygon_at(
            tile,
            &square(-10_000.0, 10_000.0),
            &[&square(-9000.0, -8000.0)],
        );
        let (_, paths) = only_paths(tile, polygon);
        assert_eq!(paths.len(), 1);

        // An exterior far away whose hole (wrongly) lies in the tile: nothing is drawn.
        let outside = polygon_at(tile, &square(9000.0, 12_000.0), &[&square(100.0, 200.0)]);
        assert!(
            encode(
                tile,
                &[Layer {
                    name: "assets",
                    features: vec![feature(outside)]
                }]
            )
            .is_empty()
        );
    }

    #[test]
    fn many_nearly_collinear_vertices_are_simplified_more_at_low_zoom() {
        let deep = chengdu(20);
        // A 2000-unit square (about 16 m at zoom 20) whose sides wiggle by 3 units (2.5 cm).
        let mut ring = Vec::new();
        let side = |from: (f64, f64), to: (f64, f64), ring: &mut Vec<(f64, f64)>| {
            for i in 0..200 {
                let t = f64::from(i) / 200.0;
                let wiggle = if i % 2 == 0 { 3.0 } else { -3.0 };
                let (dx, dy) = (to.0 - from.0, to.1 - from.1);
                let len = (dx * dx + dy * dy).sqrt();
                let (nx, ny) = (-dy / len, dx / len);
                let w = if i == 0 { 0.0 } else { wiggle };
                ring.push((from.0 + dx * t + nx * w, from.1 + dy * t + ny * w));
            }
        };
        let corners = [
            (1000.0, 1000.0),
            (3000.0, 1000.0),
            (3000.0, 3000.0),
            (1000.0, 3000.0),
        ];
        for i in 0..4 {
            side(corners[i], corners[(i + 1) % 4], &mut ring);
        }
        let polygon = polygon_at(deep, &ring, &[]);

        let vertices = |tile: TileId| {
            let (_, paths) = only_paths(tile, polygon.clone());
            assert!(surveyor(&paths[0].points) > 0);
            paths[0].points.len()
        };
        let shallow = TileId::new(14, deep.x >> 6, deep.y >> 6).unwrap();
        let (at_20, at_14) = (vertices(deep), vertices(shallow));
        assert!(at_20 > 700, "zoom 20 keeps the wiggles: {at_20}");
        assert_eq!(at_14, 4, "zoom 14 sees a square");
    }

    #[test]
    fn polygon_below_a_unit_at_low_zoom_is_dropped() {
        // About 40 cm across: a ring at zoom 20, less than a unit at zoom 10.
        let deep = chengdu(20);
        let tiny = polygon_at(deep, &square(2000.0, 2050.0), &[]);
        let (_, paths) = only_paths(deep, tiny.clone());
        assert_eq!(surveyor(&paths[0].points), 2 * 50 * 50);

        let shallow = TileId::new(10, deep.x >> 10, deep.y >> 10).unwrap();
        let layer = Layer {
            name: "assets",
            features: vec![feature(tiny)],
        };
        assert!(encode(shallow, &[layer]).is_empty());

        // A sliver thinner than a unit, however long, encloses nothing either.
        let tile = chengdu(14);
        let sliver = polygon_at(
            tile,
            &[(100.0, 100.0), (3000.0, 100.0), (3000.0, 100.4)],
            &[],
        );
        let layer = Layer {
            name: "assets",
            features: vec![feature(sliver)],
        };
        assert!(encode(tile, &[layer]).is_empty());
    }

    // ---- Points and lines ----

    #[test]
    fn features_outside_the_buffer_are_dropped_and_inside_it_kept() {
        let tile = chengdu(14);
        let cases = [
            ((-100.0, 50.0), false, "west of the buffer"),
            ((50.0, 4096.0 + 65.0), false, "south of the buffer"),
            ((-50.0, 50.0), true, "in the west buffer"),
            ((4096.0 + 63.0, -63.0), true, "in the north-east buffer"),
            ((2048.0, 2048.0), true, "in the tile"),
        ];
        for ((x, y), kept, reason) in cases {
            let layers = one_layer(tile, vec![feature(point_at(tile, x, y))]);
            assert_eq!(layers.len(), usize::from(kept), "{reason}");
        }
        let far = polygon_at(tile, &square(5000.0, 6000.0), &[]);
        assert!(one_layer(tile, vec![feature(far)]).is_empty());
        let line = ring_at(tile, &[(-5000.0, 0.0), (-5000.0, 4000.0)]);
        assert!(one_layer(tile, vec![feature(line)]).is_empty());
    }

    #[test]
    fn multipoint_keeps_only_the_points_in_the_buffer() {
        let tile = chengdu(14);
        let points = MultiPoint(vec![
            point_at(tile, 10.0, 10.0),
            point_at(tile, -9000.0, 10.0),
            point_at(tile, 20.0, 4100.0),
        ]);
        let (kind, paths) = only_paths(tile, points);
        assert_eq!(kind, 1);
        let points: Vec<(i64, i64)> = paths.iter().map(|p| p.points[0]).collect();
        assert_eq!(points, [(10, 10), (20, 4100)]);
    }

    #[test]
    fn line_crossing_the_tile_is_clipped_into_parts() {
        let tile = chengdu(15);
        // In from the west, out to the east, back in from the east, out to the west.
        let line = ring_at(
            tile,
            &[
                (-1000.0, 100.0),
                (5000.0, 100.0),
                (5000.0, 2000.0),
                (-1000.0, 2000.0),
            ],
        );
        let (kind, paths) = only_paths(tile, line);
        assert_eq!(kind, 2);
        let parts: Vec<&[(i64, i64)]> = paths.iter().map(|p| p.points.as_slice()).collect();
        assert_eq!(
            parts,
            [&[(-64, 100), (4160, 100)][..], &[(4160, 2000), (-64, 2000)]]
        );
        assert!(paths.iter().all(|p| !p.closed));

        // A line starting inside keeps its start, and one running along inside stays whole.
        let line = ring_at(
            tile,
            &[
                (100.0, 100.0),
                (200.0, 300.0),
                (300.0, 100.0),
                (9000.0, 100.0),
            ],
        );
        let (_, paths) = only_paths(tile, line);
        assert_eq!(paths.len(), 1);
        assert_eq!(
            paths[0].points,
            [(100, 100), (200, 300), (300, 100), (4160, 100)]
        );
    }

    #[test]
    fn geometry_collection_becomes_one_feature_per_type() {
        let tile = chengdu(14);
        let collection = GeometryCollection(vec![
            point_at(tile, 5.0, 5.0).into(),
            ring_at(tile, &[(10.0, 10.0), (20.0, 10.0)]).into(),
            polygon_at(tile, &square(100.0, 200.0), &[]).into(),
            point_at(tile, 6.0, 6.0).into(),
        ]);
        let layers = one_layer(
            tile,
            vec![Feature {
                id: Some(7),
                geometry: Geometry::GeometryCollection(collection),
                properties: vec![("kind".into(), "farm".into())],
            }],
        );
        let features = &layers[0].features;
        let kinds: Vec<Option<u64>> = features.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, [Some(1), Some(2), Some(3)]);
        assert!(features.iter().all(|f| f.id == Some(7) && f.tags == [0, 0]));
        assert_eq!(decode_geometry(&features[0].geometry).len(), 2);
    }
}
