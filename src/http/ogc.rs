//! OGC API – Features, Part 1: Core, with GeoJSON: the registry's four layers as collections, so
//! that QGIS, ArcGIS and other GIS clients add them by URL (`/ogc`). The features come from
//! `map::features`, under the same access rules as GraphQL.
//!
//! Beyond Core, `crs` takes the datums of Chinese base maps (`GCJ02`, `BD09`) as well as WGS84.
//!
//! `datetime` (§ 7.15.4: an instant, or an interval closed or open at one end) selects by each
//! feature's time, which is when its record last changed (`updated_at`; an expropriation zone,
//! never changed once announced, when it was recorded): `maps::features::time_extent`. Each
//! collection lists the span of its features' times as its temporal extent (`extent.temporal`).

use chrono::{DateTime, SecondsFormat, Utc};
use poem::http::StatusCode;
use poem::web::{Data, Path, Query};
use poem::{IntoResponse, Request, Response, Route, get, handler};
use serde_json::{Value, json};

use super::query::{self, CRS84, DEFAULT_LIMIT};
use super::rest::{RestError, caller};
use super::{AppState, client};
use crate::db;
use crate::domain::datum::Crs;
use crate::domain::geometry::BBox;
use crate::domain::period::Period;
use crate::error::AppError;
use crate::maps::features::{self, Layer, Selection};

const GEOJSON: &str = "application/geo+json";
const JSON: &str = "application/json";

const CONFORMANCE: [&str; 2] = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
];

/// The OGC routes, nested under `/ogc`.
pub fn routes() -> Route {
    Route::new()
        .at("/", get(landing))
        .at("/conformance", get(conformance))
        .at("/collections", get(collections))
        .at("/collections/:id", get(collection))
        .at("/collections/:id/items", get(items))
        .at("/collections/:id/items/:feature", get(item))
}

/// The URL this server is reached at, as the client sees it (`http::client::origin`: a trusted
/// proxy in front may say so with `X-Forwarded-Proto` / `X-Forwarded-Host`), so that links work
/// when followed.
fn base_url(req: &Request, state: &AppState) -> Result<String, RestError> {
    Ok(format!(
        "{}/ogc",
        client::origin(req, &state.settings.trusted_proxies)?
    ))
}

fn link(href: String, rel: &str, kind: &str, title: &str) -> Value {
    json!({ "href": href, "rel": rel, "type": kind, "title": title })
}

fn respond(status: StatusCode, kind: &str, body: &Value) -> Response {
    Response::builder()
        .status(status)
        .content_type(kind)
        .body(body.to_string())
}

fn layer_of(id: &str) -> Result<Layer, RestError> {
    Layer::parse(id).ok_or_else(|| {
        let known: Vec<&str> = Layer::ALL.iter().map(|l| l.id()).collect();
        RestError::not_found(format!(
            "no collection `{id}`; the collections are {}",
            known.join(", ")
        ))
    })
}

fn result(r: Result<Response, RestError>) -> Response {
    r.unwrap_or_else(IntoResponse::into_response)
}

#[handler]
async fn landing(req: &Request, state: Data<&AppState>) -> Response {
    result(base_url(req, state.0).map(|base| {
        respond(
            StatusCode::OK,
            JSON,
            &json!({
                "title": "rural-registry",
                "description": "The district's idle rural assets (两闲), villages, townships and \
                    demonstration sites, as OGC API – Features collections.",
                "links": [
                    link(base.clone(), "self", JSON, "This document"),
                    link(format!("{base}/conformance"), "conformance", JSON, "Conformance classes"),
                    link(format!("{base}/collections"), "data", JSON, "The collections"),
                    link(
                        "https://docs.ogc.org/is/17-069r4/17-069r4.html".to_owned(),
                        "service-doc",
                        "text/html",
                        "OGC API – Features, Part 1: Core, which these endpoints implement",
                    ),
                ],
            }),
        )
    }))
}

#[handler]
async fn conformance() -> Response {
    respond(StatusCode::OK, JSON, &json!({ "conformsTo": CONFORMANCE }))
}

/// The reference system of temporal extents: the Gregorian calendar, times in RFC 3339.
const GREGORIAN: &str = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian";

/// What a collection says of its features' time, which `datetime` selects by.
fn time_note(layer: Layer) -> &'static str {
    match layer {
        Layer::ExpropriationZones => {
            "A feature's time, which `datetime` selects by and the temporal extent spans, is \
             when it was recorded: a zone never changes once announced."
        }
        Layer::IdleAssets => {
            "A feature's time, which `datetime` selects by and the temporal extent spans, is \
             when its record last changed (updatedAt); selecting assets by it needs a token."
        }
        _ => {
            "A feature's time, which `datetime` selects by and the temporal extent spans, is \
             when its record last changed (updatedAt)."
        }
    }
}

/// The district's extent: the union of its townships' boxes.
async fn extent(state: &AppState) -> Result<Option<BBox>, RestError> {
    let townships = db::places::all_townships(state.read_db()).await?;
    Ok(townships.iter().fold(None, |acc: Option<BBox>, t| {
        let b = BBox {
            min_lon: t.min_lon,
            min_lat: t.min_lat,
            max_lon: t.max_lon,
            max_lat: t.max_lat,
        };
        Some(match acc {
            None => b,
            Some(a) => BBox {
                min_lon: a.min_lon.min(b.min_lon),
                min_lat: a.min_lat.min(b.min_lat),
                max_lon: a.max_lon.max(b.max_lon),
                max_lat: a.max_lat.max(b.max_lat),
            },
        })
    }))
}

/// A collection's metadata, with the district's box and the span of the layer's times as seen
/// by the caller.
fn describe(
    base: &str,
    layer: Layer,
    extent: Option<BBox>,
    times: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Value {
    let here = format!("{base}/collections/{}", layer.id());
    let mut c = json!({
        "id": layer.id(),
        "title": layer.title(),
        "description": format!("{} {}", layer.description(), time_note(layer)),
        "itemType": "feature",
        "crs": [CRS84, "GCJ02", "BD09"],
        "storageCrs": CRS84,
        "links": [
            link(here.clone(), "self", JSON, "This collection"),
            link(format!("{here}/items"), "items", GEOJSON, "Its features"),
        ],
    });
    if let Some(b) = extent {
        c["extent"]["spatial"] = json!({
            "bbox": [[b.min_lon, b.min_lat, b.max_lon, b.max_lat]],
            "crs": CRS84,
        });
    }
    if let Some((first, last)) = times {
        let rfc3339 = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        c["extent"]["temporal"] = json!({
            "interval": [[rfc3339(first), rfc3339(last)]],
            "trs": GREGORIAN,
        });
    }
    c
}

/// The metadata of `layers` as `req`'s caller sees them.
async fn described(
    req: &Request,
    state: &AppState,
    layers: &[Layer],
) -> Result<Vec<Value>, RestError> {
    let base = base_url(req, state)?;
    let who = caller(req, state).await?;
    let extent = extent(state).await?;
    let mut out = Vec::with_capacity(layers.len());
    for &layer in layers {
        let times = features::time_extent(state.read_db(), &who, layer).await?;
        out.push(describe(&base, layer, extent, times));
    }
    Ok(out)
}

#[handler]
async fn collections(req: &Request, state: Data<&AppState>) -> Response {
    result(
        async {
            let base = base_url(req, state.0)?;
            let collections = described(req, state.0, &Layer::ALL).await?;
            Ok(respond(
                StatusCode::OK,
                JSON,
                &json!({
                    "links": [link(format!("{base}/collections"), "self", JSON, "The collections")],
                    "collections": collections,
                }),
            ))
        }
        .await,
    )
}

#[handler]
async fn collection(req: &Request, Path(id): Path<String>, state: Data<&AppState>) -> Response {
    result(
        async {
            let layer = layer_of(&id)?;
            let described = described(req, state.0, &[layer]).await?;
            Ok(respond(StatusCode::OK, JSON, &described[0]))
        }
        .await,
    )
}

/// The parameters of an items request, checked.
#[derive(Debug, Clone, Copy)]
struct ItemsQuery {
    selection: Selection,
    crs: Crs,
}

fn parse_items_query(params: &[(String, String)]) -> Result<ItemsQuery, RestError> {
    let mut q = ItemsQuery {
        selection: Selection {
            bbox: None,
            updated: Period::ALL,
            limit: DEFAULT_LIMIT,
            offset: 0,
        },
        crs: Crs::Wgs84,
    };
    for (name, value) in params {
        match name.as_str() {
            "limit" => q.selection.limit = query::limit(value)?,
            "offset" => q.selection.offset = query::offset(value)?,
            "bbox" => q.selection.bbox = Some(query::bbox(value)?),
            "bbox-crs" if value == CRS84 => {}
            "bbox-crs" => {
                return Err(RestError::bad_input(format!("`bbox-crs` must be {CRS84}")));
            }
            "crs" => q.crs = query::crs(value)?,
            "datetime" => q.selection.updated = query::datetime(value)?,
            "f" if matches!(value.as_str(), "json" | "geojson") => {}
            other => {
                return Err(RestError::bad_input(format!(
                    "unknown parameter `{other}`; items take bbox, bbox-crs, limit, offset, \
                     datetime, crs and f=json"
                )));
            }
        }
    }
    Ok(q)
}

fn with_crs(response: Response, crs: Crs) -> Response {
    let uri = match crs {
        Crs::Wgs84 => CRS84,
        Crs::Gcj02 => "GCJ02",
        Crs::Bd09 => "BD09",
    };
    let mut response = response;
    if let Ok(v) = format!("<{uri}>").parse() {
        response.headers_mut().insert("content-crs", v);
    }
    response
}

/// The query string of a page at `offset`, keeping the caller's other parameters.
fn page_query(params: &[(String, String)], offset: u64) -> String {
    let mut parts: Vec<String> = params
        .iter()
        .filter(|(k, _)| k != "offset")
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    parts.push(format!("offset={offset}"));
    parts.join("&")
}

/// Percent-encodes a query component (everything but unreserved characters).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[handler]
async fn items(
    req: &Request,
    Path(id): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
    state: Data<&AppState>,
) -> Response {
    result(
        async {
            let layer = layer_of(&id)?;
            let q = parse_items_query(&params)?;
            let who = caller(req, state.0).await?;
            if layer == Layer::IdleAssets {
                // When an asset last changed is one of its details, as in GraphQL's filter.
                who.may_narrow_assets(!q.selection.updated.is_all())
                    .map_err(|d| RestError::from(AppError::from(d)))?;
            }
            let page = features::page(state.read_db(), &who, layer, q.selection).await?;
            let base = format!("{}/collections/{}", base_url(req, state.0)?, layer.id());
            let s = q.selection;
            let returned = page.features.len() as u64;
            let mut links = vec![
                link(
                    format!("{base}/items?{}", page_query(&params, s.offset)),
                    "self",
                    GEOJSON,
                    "This page",
                ),
                link(base.clone(), "collection", JSON, "The collection"),
            ];
            if s.offset + returned < page.matched {
                links.push(link(
                    format!("{base}/items?{}", page_query(&params, s.offset + returned)),
                    "next",
                    GEOJSON,
                    "Next page",
                ));
            }
            if s.offset > 0 {
                links.push(link(
                    format!(
                        "{base}/items?{}",
                        page_query(&params, s.offset.saturating_sub(s.limit))
                    ),
                    "prev",
                    GEOJSON,
                    "Previous page",
                ));
            }
            let mut body = features::collection(&page.features, page.matched, q.crs);
            body["links"] = Value::Array(links);
            body["timeStamp"] =
                json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            Ok(with_crs(respond(StatusCode::OK, GEOJSON, &body), q.crs))
        }
        .await,
    )
}

#[handler]
async fn item(
    req: &Request,
    Path((id, feature)): Path<(String, String)>,
    Query(params): Query<Vec<(String, String)>>,
    state: Data<&AppState>,
) -> Response {
    result(
        async {
            let layer = layer_of(&id)?;
            let mut crs = Crs::Wgs84;
            for (name, value) in &params {
                match name.as_str() {
                    "crs" => crs = query::crs(value)?,
                    "f" if matches!(value.as_str(), "json" | "geojson") => {}
                    other => {
                        return Err(RestError::bad_input(format!(
                            "unknown parameter `{other}`; a feature takes crs and f=json"
                        )));
                    }
                }
            }
            let missing = || RestError::not_found(format!("no feature `{feature}` in `{id}`"));
            let n: i64 = feature.parse().map_err(|_| missing())?;
            let who = caller(req, state.0).await?;
            let found = features::one(state.read_db(), &who, layer, n)
                .await?
                .ok_or_else(missing)?;
            let base = format!("{}/collections/{}", base_url(req, state.0)?, layer.id());
            let mut body = found.to_geojson(crs);
            body["links"] = json!([
                link(format!("{base}/items/{n}"), "self", GEOJSON, "This feature"),
                link(base, "collection", JSON, "The collection"),
            ]);
            Ok(with_crs(respond(StatusCode::OK, GEOJSON, &body), crs))
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn items_parameters_are_checked_and_unknown_ones_refused() {
        let ok = parse_items_query(&params(&[
            ("bbox", "99,26,99.5,26.5"),
            ("limit", "50000"),
            ("offset", "20"),
            ("crs", "GCJ02"),
        ]))
        .expect("valid");
        assert_eq!(
            ok.selection.limit,
            query::MAX_LIMIT,
            "an oversized limit is served as the max"
        );
        assert_eq!(ok.selection.offset, 20);
        assert_eq!(ok.crs, Crs::Gcj02);
        assert!(ok.selection.updated.is_all(), "no datetime selects all");
        let timed =
            parse_items_query(&params(&[("datetime", "../2026-12-01T00:00:00Z")])).expect("valid");
        assert_eq!(
            timed.selection.updated,
            Period {
                from: None,
                to: Some(crate::domain::period::instant("2026-12-01T00:00:00Z").expect("instant")),
            }
        );
        for bad in [
            ("bbox", "99,26,99.5"),
            ("bbox", "99,26,98,27"),
            ("bbox", "a,b,c,d"),
            ("limit", "0"),
            ("limit", "-3"),
            ("offset", "x"),
            ("crs", "EPSG:3857"),
            ("datetime", "2026-12-01"),
            ("datetime", "../.."),
            ("datetime", "2026-12-02T00:00:00Z/2026-12-01T00:00:00Z"),
            ("colour", "red"),
        ] {
            assert!(parse_items_query(&params(&[bad])).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn page_links_keep_the_other_parameters_encoded() {
        let q = page_query(
            &params(&[("bbox", "99,26,99.5,26.5"), ("offset", "10")]),
            20,
        );
        assert_eq!(q, "bbox=99%2C26%2C99.5%2C26.5&offset=20");
    }
}
