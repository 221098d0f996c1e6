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
//! Tiles differ by caller (anonymous ones carry generalized assets), so every answer says
//! `Vary: Authorization`; an anonymous answer may be cached anywhere for a few minutes, a signed
//! one only by the caller's own client, and only after revalidating it.

use std::collections::BTreeMap;

use geo::{Coord, Geometry, Point};
use poem::http::{StatusCode, header};
use poem::web::{Data, Path};
use poem::{IntoResponse, Request, Response, handler};
use sea_orm::ConnectionTrait;
use serde_json::{Map, Value as Json, json};
use sha2::{Digest, Sha256};

use super::AppState;
use super::rest::{RestError, caller};
use crate::db::assets::AssetFilter;
use crate::db::{self, StoreResult};
use crate::domain::access::Caller;
use crate::domain::geometry::{BBox, Location};
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
/// asks, and the scheme a proxy says the client used.
const TILEJSON_VARY: &str = "Authorization, X-Forwarded-Proto";

const MVT_CONTENT_TYPE: &str = "application/vnd.mapbox-vector-tile";
const TILE_SUFFIX: &str = ".mvt";
const TILEJSON_SUFFIX: &str = ".json";
/// The layer id that names all four layers in one tile.
const ALL_LAYERS: &str = "all";

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

/// `GET /tiles/{layer}/{z}/{x}/{y}.mvt`: one tile, or 304 when the client holds it already.
#[handler]
pub async fn vector_tile(
    req: &Request,
    Path((layer, z, x, y)): Path<(String, String, String, String)>,
    state: Data<&AppState>,
) -> Response {
    async {
        let layers = layers(&layer)?;
        let tile = tile_id(&z, &x, &y)?;
        let caller = caller(req, &state).await?;
        let body = encode(&state.db, &caller, tile, &layers).await?;
        Ok::<_, RestError>(cached(req, &caller, TILE_VARY, MVT_CONTENT_TYPE, body))
    }
    .await
    .unwrap_or_else(IntoResponse::into_response)
}

/// The tile's bytes: each layer's features in the tile grown by its buffer.
async fn encode(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    tile: TileId,
    layers: &[Layer],
) -> StoreResult<Vec<u8>> {
    let (min_lon, min_lat, max_lon, max_lat) = tile.bounds(BUFFER);
    let selection = Selection {
        bbox: Some(BBox {
            min_lon,
            min_lat,
            max_lon,
            max_lat,
        }),
        limit: MAX_FEATURES,
        offset: 0,
    };
    let mut encoded = Vec::with_capacity(layers.len());
    for &layer in layers {
        let features = if layer == Layer::IdleAssets && tile.z < ASSET_DETAIL_ZOOM {
            asset_cells(conn, caller, tile).await?
        } else {
            let page = features::page(conn, caller, layer, selection).await?;
            if page.matched <= MAX_FEATURES {
                page.features.into_iter().map(mvt_feature).collect()
            } else if layer == Layer::IdleAssets {
                asset_cells(conn, caller, tile).await?
            } else {
                tracing::warn!(
                    layer = layer.id(),
                    matched = page.matched,
                    ?tile,
                    "tile layer cut at {MAX_FEATURES} features"
                );
                page.features.into_iter().map(mvt_feature).collect()
            }
        };
        encoded.push(mvt::Layer {
            name: layer.id(),
            features,
        });
    }
    Ok(mvt::encode(tile, &encoded))
}

/// A map feature as a tile feature. MVT has no null (a missing key says it) and no nested
/// values (none of the layers has one; one would be written as its JSON text).
fn mvt_feature(f: MapFeature) -> mvt::Feature {
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
        geometry: f.geometry,
        properties,
    }
}

/// The assets of the tile and its buffer, aggregated on the grid, from the locations the caller
/// may see (snapped ones for anonymous callers): the spatial index alone, whatever the count.
async fn asset_cells(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    tile: TileId,
) -> StoreResult<Vec<mvt::Feature>> {
    let (min_lon, min_lat, max_lon, max_lat) = tile.bounds(ring() * CELL);
    let region = Region::Box(BBox {
        min_lon,
        min_lat,
        max_lon,
        max_lat,
    });
    let found = db::assets::in_region(
        conn,
        &AssetFilter::default(),
        &region,
        |l| caller.visible_location(l),
        caller.location_slack_deg(),
    )
    .await?;
    Ok(aggregate(tile, found.into_iter().map(|(_, at, _)| at)))
}

/// How many rings of cells around the tile the buffer reaches into.
fn ring() -> u32 {
    BUFFER.div_ceil(CELL)
}

/// One point per occupied cell, at the mean of its locations, with their `count`. The grid is
/// the same for every tile of a zoom (64 cells per tile side, counted from the world's
/// north-west corner), and the cells of the buffer are counted whole, so a cluster near a tile
/// edge is the same point with the same count in both tiles that draw it. Its feature id is
/// the cell's index in that grid, `row × 2^z × 64 + column`.
fn aggregate(tile: TileId, locations: impl IntoIterator<Item = Location>) -> Vec<mvt::Feature> {
    let ring = i64::from(ring());
    let grid = i64::from(GRID);
    let world_cells = (1_i64 << tile.z) * grid;
    // Cells in the grid's row-major order, so that the tile's bytes depend only on the data.
    let mut cells: BTreeMap<(i64, i64), (f64, f64, i64)> = BTreeMap::new();
    for at in locations {
        let p = tile.project(Coord {
            x: at.lon(),
            y: at.lat(),
        });
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
        cell.0 += at.lon();
        cell.1 += at.lat();
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

/// The answer to a GET of `body`, with its ETag and caching rules, or 304 Not Modified when the
/// request's `If-None-Match` names that ETag. `vary` lists the request headers the body depends
/// on.
fn cached(
    req: &Request,
    caller: &Caller,
    vary: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Response {
    let digest = Sha256::digest(&body);
    // 128 bits of SHA-256 tell bodies apart as surely as the whole digest, in half the header.
    let etag = format!("\"{}\"", hex::encode(&digest[..16]));
    let policy = if caller.is_anonymous() {
        PUBLIC_CACHE
    } else {
        PRIVATE_CACHE
    };
    let response = Response::builder()
        .header(header::ETAG, etag.as_str())
        .header(header::CACHE_CONTROL, policy)
        .header(header::VARY, vary);
    if none_match(req, &etag) {
        response.status(StatusCode::NOT_MODIFIED).finish()
    } else {
        response.content_type(content_type).body(body)
    }
}

/// Whether `If-None-Match` names `etag` (or is `*`): a weak comparison, as RFC 9110 asks for
/// this header, so `W/"…"` from a cache that weakened the tag matches too.
fn none_match(req: &Request, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// `GET /tiles/{layer}.json`: the layer's TileJSON 3.0.0, with the fields this caller's tiles
/// carry.
#[handler]
pub async fn tilejson(req: &Request, Path(file): Path<String>, state: Data<&AppState>) -> Response {
    async {
        let not_found = || RestError::not_found(format!("there is no tile set `{file}`"));
        let id = file.strip_suffix(TILEJSON_SUFFIX).ok_or_else(not_found)?;
        let layers = layers(id)?;
        let template = format!("{}/tiles/{id}/{{z}}/{{x}}/{{y}}{TILE_SUFFIX}", origin(req)?);
        let caller = caller(req, &state).await?;
        let bounds = district_bounds(&state.db).await?;
        let document = document(id, &layers, &caller, template, bounds);
        Ok::<_, RestError>(cached(
            req,
            &caller,
            TILEJSON_VARY,
            "application/json",
            document.to_string().into_bytes(),
        ))
    }
    .await
    .unwrap_or_else(IntoResponse::into_response)
}

/// `scheme://host[:port]` as the client reached the server: the `Host` header (HTTP/1.1) or the
/// URI's authority (HTTP/2), and `X-Forwarded-Proto` when a TLS-terminating proxy sets it.
fn origin(req: &Request) -> Result<String, RestError> {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(ToString::to_string))
        .ok_or_else(|| RestError::bad_input("the request names no host (no `Host` header)"))?;
    // A host that is not a plain authority (user info, a path, stray characters) would build a
    // URL pointing somewhere else: refuse it.
    let valid = host
        .parse::<poem::http::uri::Authority>()
        .is_ok_and(|a| a.as_str() == host && !host.contains('@'));
    if !valid {
        return Err(RestError::bad_input(format!(
            "`{host}` is not a valid host"
        )));
    }
    let forwarded = req
        .headers()
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.split(',').next())
        .map(str::trim)
        .filter(|p| matches!(*p, "http" | "https"));
    let scheme = forwarded.unwrap_or_else(|| req.scheme().as_str());
    Ok(format!("{scheme}://{host}"))
}

/// The union of the townships' boxes, or Web Mercator's whole world when there are none.
async fn district_bounds(conn: &impl ConnectionTrait) -> StoreResult<BBox> {
    let townships = db::places::all_townships(conn).await?;
    Ok(townships
        .iter()
        .map(|t| BBox {
            min_lon: t.min_lon,
            min_lat: t.min_lat,
            max_lon: t.max_lon,
            max_lat: t.max_lat,
        })
        .reduce(|a, b| BBox {
            min_lon: a.min_lon.min(b.min_lon),
            min_lat: a.min_lat.min(b.min_lat),
            max_lon: a.max_lon.max(b.max_lon),
            max_lat: a.max_lat.max(b.max_lat),
        })
        .unwrap_or(BBox {
            min_lon: -180.0,
            min_lat: -85.051_128_779_8,
            max_lon: 180.0,
            max_lat: 85.051_128_779_8,
        }))
}

/// The TileJSON document. `center` is the middle of `bounds`, at the deepest zoom that shows
/// them whole on a 512-pixel map.
fn document(id: &str, layers: &[Layer], caller: &Caller, template: String, bounds: BBox) -> Json {
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
             idle-asset registry (乡村闲置资产登记), in Web Mercator."
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
    use super::*;

    fn at(lon: f64, lat: f64) -> Location {
        Location::parse(lon, lat).expect("a location")
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

    #[test]
    fn if_none_match_matches_strong_weak_listed_and_any_tags() {
        let etag = "\"abc\"";
        for (header, expected) in [
            ("\"abc\"", true),
            ("W/\"abc\"", true),
            ("\"x\", \"abc\"", true),
            ("*", true),
            ("\"abd\"", false),
            ("abc", false),
        ] {
            let req = Request::builder()
                .header(header::IF_NONE_MATCH, header)
                .finish();
            assert_eq!(none_match(&req, etag), expected, "{header}");
        }
    }
}
