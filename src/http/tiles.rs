//! Mapbox Vector Tiles of the map layers, and the TileJSON that tells a web map where they are.
//!
//! `GET /tiles/{layer}/{z}/{x}/{y}.mvt` answers one tile of one layer (`townships`, `villages`,
//! `idle-assets`, `demo-sites`) or of all four (`all`, one tile layer per map layer);
//! `GET /tiles/{layer}.json` answers its TileJSON 3.0.0. Features come from
//! [`crate::maps::features`], so a tile shows exactly what GraphQL would show the same caller.
//!
//! Idle assets are the one layer that can be too many for a tile (a district may hold a million):
//! below [`ASSET_DETAIL_ZOOM`], and in any tile holding more than [`MAX_FEATURES`] of them, they
//! are served as one point per occupied cell of a grid over the tile, counted from the spatial
//! index (id and location only), never from whole rows.
//!
//! `?crs=GCJ02` or `?crs=BD09` (read as everywhere in the API, by [`query::crs`]; WGS84 when
//! absent) serves the tiles of a Chinese base map's datum: the grid is Web Mercator's over that
//! datum's coordinates, so an asset lands on the AMap or Tencent (GCJ-02) or Baidu (BD-09) base
//! map where that map draws its place, not hundreds of metres off. Features are selected in
//! WGS84 by the tile's box converted back and widened ([`wgs84_bounds`]), then converted, cut
//! and counted in the datum.
//!
//! Tiles differ by caller (anonymous ones carry generalized assets), so every answer says
//! `Vary: Authorization`; an anonymous answer may be cached anywhere for a few minutes, a signed
//! one only by the caller's own client, and only after revalidating it.

use std::collections::BTreeMap;

use geo::{Coord, Geometry, MapCoordsInPlace, Point};
use poem::http::{StatusCode, header};
use poem::web::{Data, Path, Query};
use poem::{IntoResponse, Request, Response, handler};
use sea_orm::ConnectionTrait;
use serde_json::{Map, Value as Json, json};
use sha2::{Digest, Sha256};

use super::conditional::none_match;
use super::query;
use super::rest::{RestError, caller};
use super::{AppState, client};
use crate::db::assets::AssetFilter;
use crate::db::{self, StoreResult};
use crate::domain::access::Caller;
use crate::domain::datum::{self, Crs};
use crate::domain::geometry::BBox;
use crate::domain::period::Period;
use crate::domain::region::Region;
use crate::maps::features::{self, Layer, MapFeature, Selection};
use crate::maps::mvt::{self, BUFFER, EXTENT, TileId};

/// The zoom from which idle assets are single features. A z14 tile is about 2 km across in the
/// district (latitude 28°): the first zoom where a dense village's few hundred houses make a
/// readable map instead of a solid blot, and where a tile of a million-asset district holds
/// thousands of assets rather than the whole district.
pub const ASSET_DETAIL_ZOOM: u8 = 14;

/// The most features of one layer in one tile. A signed asset feature takes about 100 bytes
/// (its code and areas are unique values), an anonymous one about 30, so a full tile stays
/// under about 1 MB, which web maps still parse in a worker without stalling the page. Idle
/// assets beyond it are served aggregated; the other layers hold hundreds of features per
/// district, so reaching it means a misconfigured district, and the tile keeps the first
/// features in id order (logged).
pub const MAX_FEATURES: u64 = 10_000;

/// Cells per side of the grid that aggregated assets are counted on. A cell is 64 tile units:
/// about 8 pixels on a tile drawn 512 pixels wide, small enough that the points still draw the
/// shape of the settlements, and exactly the tile's buffer, so the buffer holds whole cells.
const GRID: u32 = 64;
const CELL: u32 = EXTENT / GRID;

/// The deepest zoom the TileJSON advertises. A z16 tile unit is about 13 cm in the district,
/// finer than a surveyed point is accurate, so clients magnify z16 tiles instead of asking for
/// deeper ones (the server still answers them, up to [`mvt::MAX_ZOOM`]).
const TILEJSON_MAX_ZOOM: u8 = 16;

/// Anonymous tiles are the same for every anonymous caller: shared caches may keep them for
/// five minutes, the delay with which a newly registered asset reaches public maps.
const PUBLIC_CACHE: &str = "public, max-age=300";
/// Signed tiles carry survey attributes for one caller: only the caller's client may keep
/// them, and it asks again (a 304 when nothing changed) before each use, so a tile seen with a
/// token is never shown after the token is gone — even if a middleware drops `Vary`.
const PRIVATE_CACHE: &str = "private, no-cache";

/// What a tile depends on besides its URL: who asks.
const TILE_VARY: &str = "Authorization";
/// What a TileJSON depends on besides its URL (and `Host`, which is part of a cache's key): who
/// asks, and the scheme and host a trusted proxy says the client used (`http::client::origin`).
const TILEJSON_VARY: &str = "Authorization, X-Forwarded-Proto, X-Forwarded-Host";

const MVT_CONTENT_TYPE: &str = "application/vnd.mapbox-vector-tile";
const TILE_SUFFIX: &str = ".mvt";
const TILEJSON_SUFFIX: &str = ".json";
/// The layer id that names all four layers in one tile.
const ALL_LAYERS: &str = "all";

/// Web Mercator's square world in degrees: the TileJSON bounds of a district without townships.
const WORLD: BBox = BBox {
    min_lon: -180.0,
    min_lat: -85.051_128_779_8,
    max_lon: 180.0,
    max_lat: 85.051_128_779_8,
};

/// How fast the shift of GCJ-02 and BD-09 changes inside China's box: degrees of shift per degree
/// of distance (summed over both axes), measured at most 0.0074 for GCJ-02 and 0.026 for BD-09,
/// whose small rotation turns fastest; rounded up.
const SHIFT_SLOPE: f64 = 0.03;
/// The most the shifts of two positions can differ, in degrees: the spread of GCJ-02's and
/// BD-09's shift over China's box (0.011° of longitude, 0.008° of latitude), the jump to
/// GCJ-02's no shift outside it included; rounded up. The margin of a box not wholly inside
/// China's, and of any box whose width plus height is over half a degree.
const SHIFT_SPREAD: f64 = 0.015;
/// What the inverse conversions' iterations leave (about 1e-9°), with room: 1e-6°, about 10 cm.
const SHIFT_FLOOR: f64 = 1e-6;

/// The map layers a URL's layer id names; unknown ids are 404, as a resource that is not there.
fn layers(id: &str) -> Result<Vec<Layer>, RestError> {
    if id == ALL_LAYERS {
        return Ok(Layer::ALL.to_vec());
    }
    Layer::parse(id).map(|l| vec![l]).ok_or_else(|| {
        RestError::not_found(format!(
            "there is no tile layer `{id}`: use one of {}, {ALL_LAYERS}",
            Layer::ALL.map(Layer::id).join(", ")
        ))
    })
}

/// The tile a URL's `{z}`, `{x}` and `{y}.mvt` name.
fn tile_id(z: &str, x: &str, y: &str) -> Result<TileId, RestError> {
    let y = y.strip_suffix(TILE_SUFFIX).ok_or_else(|| {
        RestError::bad_input(format!("a tile's address ends in `{{y}}{TILE_SUFFIX}`"))
    })?;
    let number = |name: &str, v: &str| {
        v.parse::<u32>().map_err(|_| {
            RestError::bad_input(format!(
                "the tile's {name} must be a whole number, got `{v}`"
            ))
        })
    };
    TileId::new(number("z", z)?, number("x", x)?, number("y", y)?)
        .map_err(|e| RestError::bad_input(e.to_string()))
}

/// The datum a tile or TileJSON request names with `crs`, if it names one. Its other
/// parameters are ignored, as they always were: map clients append their own (cache busters).
fn requested_crs(params: &[(String, String)]) -> Result<Option<Crs>, RestError> {
    let mut crs = None;
    for (name, value) in params {
        if name == "crs" {
            crs = Some(query::crs(value)?);
        }
    }
    Ok(crs)
}

/// `GET /tiles/{layer}/{z}/{x}/{y}.mvt[?crs=…]`: one tile, or 304 when the client holds it
/// already.
#[handler]
pub async fn vector_tile(
    req: &Request,
    Path((layer, z, x, y)): Path<(String, String, String, String)>,
    Query(params): Query<Vec<(String, String)>>,
    state: Data<&AppState>,
) -> Response {
    async {
        let layers = layers(&layer)?;
        let tile = tile_id(&z, &x, &y)?;
        let crs = requested_crs(&params)?.unwrap_or_default();
        let caller = caller(req, &state).await?;
        let body = encode(state.read_db(), &caller, tile, &layers, crs).await?;
        Ok::<_, RestError>(cached(req, &caller, TILE_VARY, MVT_CONTENT_TYPE, crs, body))
    }
    .await
    .unwrap_or_else(IntoResponse::into_response)
}

/// The four corners of a box, as `(lon, lat)`.
fn corners(b: BBox) -> [(f64, f64); 4] {
    [
        (b.min_lon, b.min_lat),
        (b.min_lon, b.max_lat),
        (b.max_lon, b.min_lat),
        (b.max_lon, b.max_lat),
    ]
}

/// The smallest box holding `points`.
fn enclosing(points: [(f64, f64); 4]) -> BBox {
    let (lons, lats) = (points.map(|p| p.0), points.map(|p| p.1));
    BBox {
        min_lon: lons.into_iter().fold(f64::INFINITY, f64::min),
        min_lat: lats.into_iter().fold(f64::INFINITY, f64::min),
        max_lon: lons.into_iter().fold(f64::NEG_INFINITY, f64::max),
        max_lat: lats.into_iter().fold(f64::NEG_INFINITY, f64::max),
    }
}

/// Whether GCJ-02 shifts every position of a box, so that its shift has no jump in it.
fn inside_china(b: BBox) -> bool {
    corners(b)
        .into_iter()
        .all(|(lon, lat)| !datum::outside_china(lon, lat))
}

/// How far beyond the box of a box's converted corners (`found`) the rest of the box may land,
/// in degrees. A position `p` of the box lands at `p + s(p)`, `s` being the conversion's shift;
/// a corner `c` on the side `p` is compared on (west of it, say) lands at `c + s(c)`, so `p`
/// lands at most `|s(p) − s(c)|` beyond it: at most [`SHIFT_SLOPE`] times the box's width plus height where
/// the shift varies smoothly (inside China's box), and [`SHIFT_SPREAD`] anywhere.
fn shift_margin(b: BBox, found: BBox) -> f64 {
    let smooth = SHIFT_SLOPE * ((b.max_lon - b.min_lon) + (b.max_lat - b.min_lat));
    let margin = if inside_china(b.grown(SHIFT_SPREAD)) && inside_china(found.grown(SHIFT_SPREAD)) {
        smooth.min(SHIFT_SPREAD)
    } else {
        SHIFT_SPREAD
    };
    margin + SHIFT_FLOOR
}

/// A box holding every position of `b` once converted by `convert` (one direction of a datum
/// conversion): the box of its converted corners, widened by [`shift_margin`].
fn converted(b: BBox, convert: impl Fn(f64, f64) -> (f64, f64)) -> BBox {
    let found = enclosing(corners(b).map(|(lon, lat)| convert(lon, lat)));
    found.grown(shift_margin(b, found))
}

/// The WGS84 box of every stored position that lands in `tile`, grown by `buffer` units, once
/// converted to `crs`: the tile's own box for WGS84, else its box in `crs` converted back with
/// [`Crs::to_wgs84`] and widened (by a few metres at z16, 1.5 km at most), so that no feature
/// near an edge is left out. What the widening lets in too is cut off in `crs`, by the encoder
/// and the grid.
fn wgs84_bounds(tile: TileId, buffer: u32, crs: Crs) -> BBox {
    let (min_lon, min_lat, max_lon, max_lat) = tile.bounds(buffer);
    let in_crs = BBox {
        min_lon,
        min_lat,
        max_lon,
        max_lat,
    };
    match crs {
        Crs::Wgs84 => in_crs,
        other => converted(in_crs, |lon, lat| other.to_wgs84(lon, lat)),
    }
}

/// A stored (WGS84) geometry in `crs`, every position converted with [`Crs::from_wgs84`].
fn in_datum(mut geometry: Geometry, crs: Crs) -> Geometry {
    if crs != Crs::Wgs84 {
        geometry.map_coords_in_place(|c| {
            let (x, y) = crs.from_wgs84(c.x, c.y);
            Coord { x, y }
        });
    }
    geometry
}

/// The tile's bytes in `crs`: each layer's features in the tile grown by its buffer.
///
/// In another datum than WGS84, the widened selection may count a few more features than the
/// tile holds, so a tile of idle assets just under [`MAX_FEATURES`] can be served aggregated.
async fn encode(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    tile: TileId,
    layers: &[Layer],
    crs: Crs,
) -> StoreResult<Vec<u8>> {
    let selection = Selection {
        bbox: Some(wgs84_bounds(tile, BUFFER, crs)),
        updated: Period::ALL,
        limit: MAX_FEATURES,
        offset: 0,
    };
    let single = |features: Vec<MapFeature>| -> Vec<mvt::Feature> {
        features.into_iter().map(|f| mvt_feature(f, crs)).collect()
    };
    let mut encoded = Vec::with_capacity(layers.len());
    for &layer in layers {
        let features = if layer == Layer::IdleAssets && tile.z < ASSET_DETAIL_ZOOM {
            asset_cells(conn, caller, tile, crs).await?
        } else {
            let page = features::page(conn, caller, layer, selection).await?;
            if page.matched <= MAX_FEATURES {
                single(page.features)
            } else if layer == Layer::IdleAssets {
                asset_cells(conn, caller, tile, crs).await?
            } else {
                tracing::warn!(
                    layer = layer.id(),
                    matched = page.matched,
                    ?tile,
                    "tile layer cut at {MAX_FEATURES} features"
                );
                single(page.features)
            }
        };
        encoded.push(mvt::Layer {
            name: layer.id(),
            features,
        });
    }
    Ok(mvt::encode(tile, &encoded))
}

/// A map feature as a tile feature, its geometry in `crs`. MVT has no null (a missing key says
/// it) and no nested values (none of the layers has one; one would be written as its JSON text).
fn mvt_feature(f: MapFeature, crs: Crs) -> mvt::Feature {
    let properties = f
        .properties
        .into_iter()
        .filter_map(|(key, value)| {
            let value = match value {
                Json::Null => return None,
                Json::Bool(b) => mvt::Value::Bool(b),
                Json::Number(n) => match n.as_i64() {
                    Some(i) => mvt::Value::Int(i),
                    None => mvt::Value::Double(n.as_f64()?),
                },
                Json::String(s) => mvt::Value::String(s),
                nested => mvt::Value::String(nested.to_string()),
            };
            Some((key, value))
        })
        .collect();
    mvt::Feature {
        id: u64::try_from(f.id).ok(),
        geometry: in_datum(f.geometry, crs),
        properties,
    }
}

/// The assets of the tile and its buffer, aggregated on the grid, from the locations the caller
/// may see (snapped ones for anonymous callers) converted to `crs`: the spatial index alone,
/// whatever the count.
async fn asset_cells(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    tile: TileId,
    crs: Crs,
) -> StoreResult<Vec<mvt::Feature>> {
    let region = Region::Box(wgs84_bounds(tile, ring() * CELL, crs));
    let found = db::assets::in_region(
        conn,
        &AssetFilter::default(),
        &region,
        |l| caller.visible_location(l),
        caller.location_slack_deg(),
    )
    .await?;
    let positions = found.into_iter().map(|(_, at, _)| {
        let (x, y) = crs.from_wgs84(at.lon(), at.lat());
        Coord { x, y }
    });
    Ok(aggregate(tile, positions))
}

/// How many rings of cells around the tile the buffer reaches into.
fn ring() -> u32 {
    BUFFER.div_ceil(CELL)
}

/// One point per occupied cell, at the mean of its positions (longitude and latitude in the
/// tile's datum), with their `count`. The grid is the same for every tile of a zoom (64 cells
/// per tile side, counted from the world's north-west corner), and the cells of the buffer are
/// counted whole, so a cluster near a tile edge is the same point with the same count in both
/// tiles that draw it. Its feature id is the cell's index in that grid,
/// `row × 2^z × 64 + column`.
fn aggregate(tile: TileId, positions: impl IntoIterator<Item = Coord>) -> Vec<mvt::Feature> {
    let ring = i64::from(ring());
    let grid = i64::from(GRID);
    let world_cells = (1_i64 << tile.z) * grid;
    // Cells in the grid's row-major order, so that the tile's bytes depend only on the data.
    let mut cells: BTreeMap<(i64, i64), (f64, f64, i64)> = BTreeMap::new();
    for at in positions {
        let p = tile.project(at);
        let column = (p.x / f64::from(CELL)).floor() as i64;
        let row = (p.y / f64::from(CELL)).floor() as i64;
        if !(-ring..grid + ring).contains(&column) || !(-ring..grid + ring).contains(&row) {
            continue;
        }
        let (column, row) = (
            i64::from(tile.x) * grid + column,
            i64::from(tile.y) * grid + row,
        );
        if !(0..world_cells).contains(&column) || !(0..world_cells).contains(&row) {
            continue;
        }
        let cell = cells.entry((row, column)).or_insert((0.0, 0.0, 0));
        cell.0 += at.x;
        cell.1 += at.y;
        cell.2 += 1;
    }
    cells
        .into_iter()
        .map(|((row, column), (lon, lat, count))| mvt::Feature {
            id: u64::try_from(row * world_cells + column).ok(),
            geometry: Geometry::Point(Point::new(lon / count as f64, lat / count as f64)),
            properties: vec![("count".to_owned(), mvt::Value::Int(count))],
        })
        .collect()
}

/// The ETag of `body` in `crs`: 128 bits of its SHA-256, which tell bodies apart as surely as
/// the whole digest in half the header, followed by the datum unless it is WGS84. The same
/// bytes in two datums (an empty tile, or a low zoom where the shift is under a tile unit) are
/// still two representations, and never share a tag.
fn etag(crs: Crs, body: &[u8]) -> String {
    let digest = hex::encode(&Sha256::digest(body)[..16]);
    match crs {
        Crs::Wgs84 => format!("\"{digest}\""),
        other => format!("\"{digest}-{other}\""),
    }
}

/// The answer to a GET of `body` in `crs`, with its ETag and caching rules, or 304 Not Modified
/// when the request's `If-None-Match` names that ETag. `vary` lists the request headers the
/// body depends on.
fn cached(
    req: &Request,
    caller: &Caller,
    vary: &str,
    content_type: &str,
    crs: Crs,
    body: Vec<u8>,
) -> Response {
    let etag = etag(crs, &body);
    let policy = if caller.is_anonymous() {
        PUBLIC_CACHE
    } else {
        PRIVATE_CACHE
    };
    let response = Response::builder()
        .header(header::ETAG, etag.as_str())
        .header(header::CACHE_CONTROL, policy)
        .header(header::VARY, vary);
    if none_match(req.headers(), &etag) {
        response.status(StatusCode::NOT_MODIFIED).finish()
    } else {
        response.content_type(content_type).body(body)
    }
}

/// `GET /tiles/{layer}.json[?crs=…]`: the layer's TileJSON 3.0.0, with the fields this caller's
/// tiles carry; with `crs`, its tiles, bounds and centre are in that datum.
#[handler]
pub async fn tilejson(
    req: &Request,
    Path(file): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
    state: Data<&AppState>,
) -> Response {
    async {
        let not_found = || RestError::not_found(format!("there is no tile set `{file}`"));
        let id = file.strip_suffix(TILEJSON_SUFFIX).ok_or_else(not_found)?;
        let layers = layers(id)?;
        let requested = requested_crs(&params)?;
        let crs = requested.unwrap_or_default();
        let origin = client::origin(req, &state.settings.trusted_proxies)?;
        let template = template(&origin, id, requested);
        let caller = caller(req, &state).await?;
        let bounds = bounds_in(db::places::district_bounds(state.read_db()).await?, crs);
        let document = document(id, &layers, &caller, template, bounds, crs);
        Ok::<_, RestError>(cached(
            req,
            &caller,
            TILEJSON_VARY,
            "application/json",
            crs,
            document.to_string().into_bytes(),
        ))
    }
    .await
    .unwrap_or_else(IntoResponse::into_response)
}

/// The URL template of a tile set's tiles, asking for the datum the TileJSON was asked for (by
/// its canonical code), so that a map loading the TileJSON gets its tiles in that datum.
fn template(origin: &str, id: &str, crs: Option<Crs>) -> String {
    let tiles = format!("{origin}/tiles/{id}/{{z}}/{{x}}/{{y}}{TILE_SUFFIX}");
    match crs {
        Some(crs) => format!("{tiles}?crs={crs}"),
        None => tiles,
    }
}

/// A WGS84 box in `crs`, holding every position of it once converted (see [`converted`]), within
/// Web Mercator's world.
pub(crate) fn bounds_in(b: BBox, crs: Crs) -> BBox {
    if crs == Crs::Wgs84 {
        return b;
    }
    let c = converted(b, |lon, lat| crs.from_wgs84(lon, lat));
    BBox {
        min_lon: c.min_lon.max(WORLD.min_lon),
        min_lat: c.min_lat.max(WORLD.min_lat),
        max_lon: c.max_lon.min(WORLD.max_lon),
        max_lat: c.max_lat.min(WORLD.max_lat),
    }
}

/// How the TileJSON names a datum.
fn datum_name(crs: Crs) -> &'static str {
    match crs {
        Crs::Wgs84 => "WGS84 / CGCS2000 (as stored)",
        Crs::Gcj02 => "GCJ-02 (国测局坐标), the datum of AMap and Tencent base maps",
        Crs::Bd09 => "BD-09 (百度坐标), the datum of Baidu base maps",
    }
}

/// The TileJSON document of tiles in `crs`, `bounds` given in it. `center` is the middle of
/// `bounds`, at the deepest zoom that shows them whole on a 512-pixel map.
fn document(
    id: &str,
    layers: &[Layer],
    caller: &Caller,
    template: String,
    bounds: BBox,
    crs: Crs,
) -> Json {
    let span = (bounds.max_lon - bounds.min_lon)
        .max(bounds.max_lat - bounds.min_lat)
        .max(1e-9);
    let zoom = (360.0 / span)
        .log2()
        .floor()
        .clamp(0.0, f64::from(TILEJSON_MAX_ZOOM));
    let name = match layers {
        [one] => format!("Rural registry: {}", one.title()),
        _ => "Rural registry: all layers".to_owned(),
    };
    let vector_layers: Vec<Json> = layers
        .iter()
        .map(|&layer| {
            json!({
                "id": layer.id(),
                "description": description(layer),
                "minzoom": 0,
                "maxzoom": TILEJSON_MAX_ZOOM,
                "fields": fields(layer, caller),
            })
        })
        .collect();
    json!({
        "tilejson": "3.0.0",
        "name": name,
        "description": format!(
            "Vector tiles (MVT 2.1, extent {EXTENT}) of the `{id}` tile set of the rural \
             idle-asset registry (乡村闲置资产登记), in Web Mercator over longitudes and \
             latitudes in {}.",
            datum_name(crs)
        ),
        "scheme": "xyz",
        "tiles": [template],
        "minzoom": 0,
        "maxzoom": TILEJSON_MAX_ZOOM,
        "bounds": [bounds.min_lon, bounds.min_lat, bounds.max_lon, bounds.max_lat],
        "center": [
            (bounds.min_lon + bounds.max_lon) / 2.0,
            (bounds.min_lat + bounds.max_lat) / 2.0,
            zoom,
        ],
        "vector_layers": vector_layers,
    })
}

/// A layer's description in the TileJSON: the map layer's own, and for idle assets how they are
/// aggregated.
fn description(layer: Layer) -> String {
    match layer {
        Layer::IdleAssets => format!(
            "{} Below zoom {ASSET_DETAIL_ZOOM}, and in any tile holding more than \
             {MAX_FEATURES} assets, one point per occupied cell of a {GRID}×{GRID} grid over \
             the tile instead, at the mean position of its assets (as the caller may see them), \
             with their `count` and the cell's index as feature id; zoom in to see single \
             assets.",
            layer.description()
        ),
        other => other.description().to_owned(),
    }
}

/// Property names and types of a layer's features, as this caller will get them (names
/// without a value on a feature are left out of it).
fn fields(layer: Layer, caller: &Caller) -> Map<String, Json> {
    let (string, number) = ("String", "Number");
    let list: Vec<(&str, &str)> = match layer {
        Layer::Townships => vec![("code", string), ("name", string)],
        Layer::Villages => vec![("code", string), ("name", string), ("townshipCode", string)],
        Layer::ExpropriationZones if caller.is_anonymous() => Vec::new(),
        Layer::ExpropriationZones => vec![
            ("code", string),
            ("name", string),
            ("announcedOn", string),
            ("authority", string),
        ],
        Layer::DemoSites => vec![
            ("code", string),
            ("name", string),
            ("level", string),
            ("designationYear", number),
            ("theme", string),
        ],
        Layer::IdleAssets => {
            let mut list = vec![("count", number), ("kind", string), ("status", string)];
            if !caller.is_anonymous() {
                list.extend([
                    ("code", string),
                    ("townshipCode", string),
                    ("villageCode", string),
                    ("floorAreaSquareMeters", number),
                    ("landAreaSquareMeters", number),
                    ("structure", string),
                    ("condition", string),
                    ("yearBuilt", number),
                    ("idleSince", string),
                ]);
            }
            list
        }
    };
    list.into_iter()
        .map(|(name, kind)| (name.to_owned(), Json::from(kind)))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn at(lon: f64, lat: f64) -> Coord {
        Coord { x: lon, y: lat }
    }

    fn count(f: &mvt::Feature) -> i64 {
        match f.properties.as_slice() {
            [(key, mvt::Value::Int(n))] if key == "count" => *n,
            other => panic!("a count alone, got {other:?}"),
        }
    }

    #[test]
    fn locations_in_one_cell_become_one_point_at_their_mean() {
        let tile = TileId::new(10, 843, 423).expect("a tile");
        let (w, s, e, n) = tile.bounds(0);
        let (lon, lat) = (w + (e - w) * 0.3, s + (n - s) * 0.6);
        let cells = aggregate(tile, [at(lon, lat), at(lon + 1e-6, lat + 2e-6)]);
        assert_eq!(cells.len(), 1);
        assert_eq!(count(&cells[0]), 2);
        let Geometry::Point(p) = cells[0].geometry else {
            panic!("a point")
        };
        assert!((p.x() - (lon + 5e-7)).abs() < 1e-12);
        assert!((p.y() - (lat + 1e-6)).abs() < 1e-12);
    }

    #[test]
    fn a_cell_of_the_buffer_has_the_same_id_and_count_in_both_tiles() {
        let left = TileId::new(12, 3374, 1695).expect("a tile");
        let right = TileId::new(12, 3375, 1695).expect("a tile");
        let (_, s, e, n) = left.bounds(0);
        let (_, _, right_e, _) = right.bounds(0);
        let cell_deg = (right_e - e) / f64::from(GRID);
        let mid = (s + n) / 2.0;
        // Two points in the right tile's first column, one in the left tile's last column.
        let points = [
            at(e + cell_deg * 0.2, mid),
            at(e + cell_deg * 0.7, mid),
            at(e - cell_deg * 0.5, mid),
        ];
        let from_left = aggregate(left, points);
        let from_right = aggregate(right, points);
        assert_eq!(from_left.len(), 2);
        assert_eq!(from_left, from_right);
    }

    #[test]
    fn locations_beyond_the_buffer_are_left_out() {
        let tile = TileId::new(12, 3374, 1695).expect("a tile");
        let (w, s, e, n) = tile.bounds(0);
        let far = at(e + (e - w) * 0.1, (s + n) / 2.0);
        assert!(aggregate(tile, [far]).is_empty());
    }

    /// Every position of `b` on a grid of 41 × 41, edges included.
    fn grid(b: BBox) -> impl Iterator<Item = (f64, f64)> {
        let step = |min: f64, max: f64, i: u32| min + (max - min) * f64::from(i) / 40.0;
        (0..=40).flat_map(move |i| {
            (0..=40).map(move |j| (step(b.min_lon, b.max_lon, i), step(b.min_lat, b.max_lat, j)))
        })
    }

    fn tile_box(tile: TileId, buffer: u32) -> BBox {
        let (min_lon, min_lat, max_lon, max_lat) = tile.bounds(buffer);
        BBox {
            min_lon,
            min_lat,
            max_lon,
            max_lat,
        }
    }

    /// The tile of zoom `z` holding a position.
    fn tile_at(z: u8, lon: f64, lat: f64) -> TileId {
        let p = TileId::new(u32::from(z), 0, 0)
            .expect("a tile")
            .project(Coord { x: lon, y: lat });
        let extent = f64::from(EXTENT);
        TileId::new(
            u32::from(z),
            (p.x / extent).floor() as u32,
            (p.y / extent).floor() as u32,
        )
        .expect("a tile")
    }

    fn holds(b: BBox, (lon, lat): (f64, f64)) -> bool {
        (b.min_lon..=b.max_lon).contains(&lon) && (b.min_lat..=b.max_lat).contains(&lat)
    }

    #[test]
    fn in_wgs84_the_selection_is_the_tile_itself() {
        let tile = TileId::new(14, 13_524, 6_880).expect("a tile");
        assert_eq!(
            wgs84_bounds(tile, BUFFER, Crs::Wgs84),
            tile_box(tile, BUFFER)
        );
        assert_eq!(bounds_in(tile_box(tile, 0), Crs::Wgs84), tile_box(tile, 0));
    }

    /// Whatever lands in a tile in another datum was selected in WGS84: every position of the
    /// tile's box in the datum, converted back, lies in the widened box, at every zoom, in the
    /// district, elsewhere in China, and across the edge of China's box where GCJ-02 stops.
    #[test]
    fn the_widened_selection_holds_every_position_that_lands_in_the_tile() {
        let places = [
            (117.0, 28.2),
            (116.404, 39.915),
            (121.47, 31.23),
            (105.0, 35.0),
            (87.6, 43.8),
            (72.004, 39.0),
            (137.8347, 45.0),
        ];
        for crs in [Crs::Gcj02, Crs::Bd09] {
            for (lon, lat) in places {
                for z in [4, 8, 10, 12, 14, 16, 17, 20] {
                    let tile = tile_at(z, lon, lat);
                    let selected = wgs84_bounds(tile, BUFFER, crs);
                    for (x, y) in grid(tile_box(tile, BUFFER)) {
                        let back = crs.to_wgs84(x, y);
                        assert!(
                            holds(selected, back),
                            "{crs} z{z} at {lon},{lat}: {x},{y} comes from {back:?}, outside \
                             {selected:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_detailed_tile_in_the_district_is_widened_by_metres_not_kilometres() {
        let tile = tile_at(16, 117.0, 28.2);
        let (w, s, e, n) = tile.bounds(BUFFER);
        for crs in [Crs::Gcj02, Crs::Bd09] {
            let b = wgs84_bounds(tile, BUFFER, crs);
            let widened = (b.max_lon - b.min_lon) - (e - w);
            assert!(widened < 0.001, "{crs}: {widened}°");
            assert!((b.max_lat - b.min_lat) - (n - s) < 0.001, "{crs}");
        }
    }

    #[test]
    fn tilejson_bounds_in_a_datum_hold_the_converted_district() {
        let district = BBox {
            min_lon: 116.8,
            min_lat: 28.0,
            max_lon: 117.3,
            max_lat: 28.4,
        };
        for crs in [Crs::Gcj02, Crs::Bd09] {
            let b = bounds_in(district, crs);
            for p in grid(district) {
                assert!(holds(b, crs.from_wgs84(p.0, p.1)), "{crs}: {p:?}");
            }
            let centre = crs.from_wgs84(117.05, 28.2);
            let middle = ((b.min_lon + b.max_lon) / 2.0, (b.min_lat + b.max_lat) / 2.0);
            assert!(
                (middle.0 - centre.0).abs() < 1e-3 && (middle.1 - centre.1).abs() < 1e-3,
                "{crs}: the middle {middle:?} is the converted centre {centre:?}"
            );
        }
        let world = bounds_in(WORLD, Crs::Bd09);
        assert_eq!(world, WORLD, "the world stays Web Mercator's");
    }

    #[test]
    fn a_geometry_in_a_datum_is_what_geojson_outputs_give() {
        let polygon = Geometry::Polygon(geo::Polygon::new(
            geo::LineString::from(vec![
                (117.0, 28.2),
                (117.01, 28.2),
                (117.01, 28.21),
                (117.0, 28.2),
            ]),
            vec![],
        ));
        for crs in Crs::ALL.iter().copied() {
            let ours = geojson::Geometry::from(&in_datum(polygon.clone(), crs));
            let theirs = crs.geometry_from_wgs84(geojson::Geometry::from(&polygon));
            assert_eq!(ours, theirs, "{crs}");
        }
    }

    #[test]
    fn cells_count_positions_in_the_tiles_datum() {
        let tile = tile_at(12, 117.0, 28.2);
        let (w, s, e, n) = tile.bounds(0);
        let (lon, lat) = ((w + e) / 2.0, (s + n) / 2.0);
        let shifted = Crs::Gcj02.from_wgs84(lon, lat);
        let cells = aggregate(tile, [at(shifted.0, shifted.1)]);
        let Geometry::Point(p) = cells[0].geometry else {
            panic!("a point")
        };
        assert_eq!((p.x(), p.y()), shifted);
        assert_ne!(aggregate(tile, [at(lon, lat)])[0].id, cells[0].id);
    }

    #[test]
    fn one_body_in_two_datums_has_two_etags() {
        let tags: Vec<String> = Crs::ALL.iter().map(|&crs| etag(crs, b"")).collect();
        assert!(tags[0].starts_with('"') && tags[0].ends_with('"') && tags[0].len() == 34);
        assert_eq!(tags[1], format!("{}-GCJ02\"", &tags[0][..33]));
        assert_eq!(tags.iter().collect::<BTreeSet<_>>().len(), 3);
        assert_ne!(etag(Crs::Gcj02, b"a"), etag(Crs::Gcj02, b"b"));
    }

    #[test]
    fn the_template_asks_for_the_datum_the_tilejson_was_asked_for() {
        let base = "https://registry.example.cn/tiles/all/{z}/{x}/{y}.mvt";
        assert_eq!(template("https://registry.example.cn", "all", None), base);
        assert_eq!(
            template("https://registry.example.cn", "all", Some(Crs::Gcj02)),
            format!("{base}?crs=GCJ02")
        );
        assert_eq!(
            template("https://registry.example.cn", "all", Some(Crs::Wgs84)),
            format!("{base}?crs=WGS84")
        );
    }

    #[test]
    fn only_crs_is_read_and_an_unknown_datum_is_bad_input() {
        let params = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect()
        };
        assert_eq!(requested_crs(&[]).ok(), Some(None));
        assert_eq!(
            requested_crs(&params(&[("v", "3"), ("crs", "BD09")])).ok(),
            Some(Some(Crs::Bd09))
        );
        let error = requested_crs(&params(&[("crs", "EPSG:3857")])).expect_err("unknown");
        assert_eq!(
            (error.status, error.code),
            (StatusCode::BAD_REQUEST, "BAD_INPUT")
        );
    }
}
