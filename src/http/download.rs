//! Whole layers as GeoJSON files to download (`/download/{layer}.geojson`), streamed page by
//! page so that a million assets never sit in memory at once. Same access rules as every
//! other map output (`map::features`).
//!
//! `updatedSince` keeps the features changed since an instant; every answer carries an ETag
//! made from the versions of the tables the layer reads (`http::conditional`), and a request
//! naming it in `If-None-Match` is answered 304 before any feature is read.

use futures_util::stream::{self, TryStreamExt as _};
use poem::http::header;
use poem::web::{Data, Path, Query};
use poem::{Body, IntoResponse, Request, Response, handler};
use sea_orm::DatabaseConnection;
use serde_json::Value;

use super::AppState;
use super::rest::{RestError, caller};
use super::{conditional, query};
use crate::db;
use crate::db::assets::{AssetFilter, AssetOrder, AssetOrderField, Keyset, SortValue};
use crate::domain::access::Caller;
use crate::domain::datum::Crs;
use crate::domain::geometry::{BBox, Location};
use crate::domain::period::Period;
use crate::error::AppError;
use crate::maps::feature_stream::feature_collection;
use crate::maps::features::{self, Layer, Selection};

/// Assets read per page of the stream.
const CHUNK: u64 = 5_000;

struct Params {
    bbox: Option<BBox>,
    crs: Crs,
    updated: Period,
}

fn parse(params: &[(String, String)]) -> Result<Params, RestError> {
    let mut p = Params {
        bbox: None,
        crs: Crs::Wgs84,
        updated: Period::ALL,
    };
    for (name, value) in params {
        match name.as_str() {
            "bbox" => p.bbox = Some(query::bbox(value)?),
            "crs" => p.crs = query::crs(value)?,
            "updatedSince" => p.updated = Period::since(query::instant("updatedSince", value)?),
            other => {
                return Err(RestError::bad_input(format!(
                    "unknown parameter `{other}`; a download takes bbox, crs and updatedSince"
                )));
            }
        }
    }
    Ok(p)
}

#[handler]
pub async fn geojson(
    req: &Request,
    Path(file): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
    state: Data<&AppState>,
) -> Response {
    match respond(req, &file, &params, state.0).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn respond(
    req: &Request,
    file: &str,
    params: &[(String, String)],
    state: &AppState,
) -> Result<Response, RestError> {
    let layer = file
        .strip_suffix(".geojson")
        .and_then(Layer::parse)
        .ok_or_else(|| {
            RestError::not_found(format!(
                "no download `{file}`; there are {}",
                Layer::ALL
                    .iter()
                    .map(|l| format!("{}.geojson", l.id()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    let p = parse(params)?;
    let who = caller(req, state).await?;
    if layer == Layer::IdleAssets {
        // When an asset last changed is one of its details, as in GraphQL's filter.
        who.may_narrow_assets(!p.updated.is_all())
            .map_err(|d| RestError::from(AppError::from(d)))?;
    }
    let etag = conditional::data_tag(state.read_db(), req, &who, Some(layer.tables())).await?;
    if let Some(unchanged) = conditional::unchanged(req, &etag, &who) {
        return Ok(unchanged);
    }
    let headers = conditional::tagged(Response::builder(), &etag, &who);
    let body = match layer {
        Layer::IdleAssets => {
            Body::from_bytes_stream(super::observe::logged_stream(feature_collection(
                asset_pages(state.read_db().clone(), who, p.bbox, p.updated, p.crs),
            )))
        }
        other => {
            let all = features::page(
                state.read_db(),
                &who,
                other,
                Selection {
                    bbox: p.bbox,
                    updated: p.updated,
                    limit: u64::MAX,
                    offset: 0,
                },
            )
            .await?;
            let page: Vec<Value> = all.features.iter().map(|f| f.to_geojson(p.crs)).collect();
            // Hundreds of features: written whole, so that the answer says its length.
            let bytes: Vec<u8> = feature_collection(stream::iter([Ok(page)]))
                .try_concat()
                .await
                .map_err(AppError::internal)?;
            Body::from_vec(bytes)
        }
    };
    Ok(headers
        .content_type("application/geo+json")
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}.geojson\"", layer.id()),
        )
        .body(body))
}

/// The assets in `bbox` (all without one) changed in `updated`, as GeoJSON features, a page of
/// the id order at a time.
fn asset_pages(
    db: DatabaseConnection,
    who: Caller,
    bbox: Option<BBox>,
    updated: Period,
    crs: Crs,
) -> impl futures_util::Stream<Item = Result<Vec<Value>, std::io::Error>> + Send + 'static {
    let filter = AssetFilter {
        bbox: bbox.map(|b| b.grown(who.location_slack_deg())),
        updated,
        ..AssetFilter::default()
    };
    let order = AssetOrder {
        field: AssetOrderField::Id,
        descending: false,
    };
    // Where the next page starts; None when done.
    stream::try_unfold(Some(None::<i64>), move |state| {
        let (db, who, filter) = (db.clone(), who.clone(), filter.clone());
        async move {
            let Some(after) = state else {
                return Ok(None);
            };
            let key = after.map(|id| Keyset {
                value: SortValue::Null,
                id,
            });
            let rows = db::assets::page(&db, &filter, order, key, false, CHUNK)
                .await
                .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
            let last = rows.last().map(|r| r.id);
            let full = rows.len() as u64 == CHUNK;
            // Without a token the box is tested on the public point, as everywhere else.
            let rows: Vec<_> = rows
                .into_iter()
                .filter(|r| match (bbox, Location::parse(r.lon, r.lat)) {
                    (Some(b), Ok(l)) => b.covers(who.visible_location(l)),
                    _ => true,
                })
                .collect();
            let features = features::asset_features(&db, &who, &rows)
                .await
                .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
            let page = features.iter().map(|f| f.to_geojson(crs)).collect();
            let next = match last {
                Some(id) if full => Some(Some(id)),
                _ => None,
            };
            Ok(Some((page, next)))
        }
    })
}
