//! Exports over HTTP (`/export/{kind}.csv`, `/export/{kind}.geojson`), streamed, for callers
//! with a token; personal fields follow the access rules. The same code as `rural-registry export`.
//!
//! Every answer carries an ETag made from the versions of the tables the export reads (every
//! table for the statistics) with the request and the caller's role and scope
//! (`http::conditional`); a request naming it in `If-None-Match` is answered 304 before any
//! record is read.

use poem::http::header;
use poem::web::{Data, Path, Query};
use poem::{Body, IntoResponse, Request, Response, handler};

use super::AppState;
use super::rest::{RestError, caller};
use super::{conditional, query};
use crate::db;
use crate::domain::datum::Crs;
use crate::services::export::{Encoding, Format, Kind, Options};

#[handler]
pub async fn download(
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
    let unknown = || {
        RestError::not_found(format!(
            "no export `{file}`; there are townships, villages, parties, assets, \
             revitalizations, members and holdings, each .csv or .geojson, and statistics.csv"
        ))
    };
    let (name, extension) = file.rsplit_once('.').ok_or_else(unknown)?;
    if name == "statistics" && extension == "csv" {
        return statistics(req, params, state).await;
    }
    let kind = Kind::parse(name).ok_or_else(unknown)?;
    let format = match extension {
        "csv" => Format::Csv,
        "geojson" => Format::Geojson,
        _ => return Err(unknown()),
    };
    let who = caller(req, state).await?;
    who.may_read_details("exports").map_err(|d| {
        let e = crate::error::AppError::from(d);
        RestError::from(e)
    })?;
    let mut options = Options {
        kind,
        format,
        township_id: None,
        crs: Crs::Wgs84,
        encoding: Encoding::Utf8,
        caller: who,
        only: None,
    };
    let mut changed_since = None;
    for (k, v) in params {
        match k.as_str() {
            "township" => options.township_id = Some(township_id(state, v).await?),
            "crs" => options.crs = query::crs(v)?,
            "encoding" => options.encoding = encoding_of(v)?,
            "changedAfter" => changed_since = Some(changed_after(state, v).await?),
            other => {
                return Err(RestError::bad_input(format!(
                    "unknown parameter `{other}`; an export takes township, crs, encoding and \
                     changedAfter"
                )));
            }
        }
    }
    let content_type = match (format, options.encoding) {
        (Format::Csv, Encoding::Utf8) => "text/csv; charset=utf-8",
        (Format::Csv, Encoding::Gb18030) => "text/csv; charset=gb18030",
        (Format::Geojson, _) => "application/geo+json",
    };
    // Tagged before the records changed since the cursor are read: their events are written
    // with writes to the tables the tag counts, so a write landing in between makes the tag
    // older than the answer, never newer.
    let etag =
        conditional::data_tag(state.read_db(), req, &options.caller, Some(kind.tables())).await?;
    if let Some(unchanged) = conditional::unchanged(req, &etag, &options.caller) {
        return Ok(unchanged);
    }
    let headers = conditional::tagged(Response::builder(), &etag, &options.caller);
    if let Some(position) = changed_since {
        let ids = db::events::entity_ids_after(state.read_db(), kind.logged(), position).await?;
        options.only = Some(std::sync::Arc::new(ids));
    }
    let rows = super::observe::logged_stream(crate::services::export::stream(
        state.read_db().clone(),
        options,
    ));
    let (headers, body) = if super::gzip::accepted(req) {
        let headers = headers
            .header(header::CONTENT_ENCODING, "gzip")
            .header(header::VARY, "accept-encoding");
        (headers, Body::from_bytes_stream(super::gzip::stream(rows)))
    } else {
        (headers, Body::from_bytes_stream(rows))
    };
    Ok(headers
        .content_type(content_type)
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file}\""),
        )
        .body(body))
}

/// The `changedAfter` parameter: a cursor of the change feed, or CURSOR_EXPIRED when the log no
/// longer reaches back to it.
async fn changed_after(state: &AppState, cursor: &str) -> Result<db::events::Position, RestError> {
    let position = db::events::Position::from_cursor(cursor).ok_or_else(|| {
        RestError::bad_input(format!(
            "`changedAfter` is a cursor of the change feed (`changeCursor`, `endCursor`), not \
             {cursor:?}"
        ))
    })?;
    let conn = state.read_db();
    if db::events::expired(conn, position).await? {
        return Err(RestError::from(crate::error::AppError::new(
            crate::error::ErrorCode::CursorExpired,
            "`changedAfter` is older than the changes kept (CHANGE_RETENTION_DAYS): export \
             the whole kind again",
        )));
    }
    Ok(position)
}

/// The `township` parameter of an export: a township's code.
async fn township_id(state: &AppState, code: &str) -> Result<i64, RestError> {
    Ok(db::places::township_by_code(state.read_db(), code)
        .await?
        .ok_or_else(|| RestError::bad_input(format!("no township has the code {code:?}")))?
        .id)
}

/// The `encoding` parameter of a CSV export.
fn encoding_of(v: &str) -> Result<Encoding, RestError> {
    match v {
        "utf8" | "utf-8" => Ok(Encoding::Utf8),
        "gb18030" => Ok(Encoding::Gb18030),
        _ => Err(RestError::bad_input(format!(
            "`encoding` must be utf8 or gb18030, got {v:?}"
        ))),
    }
}

/// `/export/statistics.csv?year=Y[&township=CODE][&encoding=gb18030]`: the year's figures
/// (`rural-registry report`), for token holders; lending only for ADMIN and cadres.
async fn statistics(
    req: &Request,
    params: &[(String, String)],
    state: &AppState,
) -> Result<Response, RestError> {
    let who = caller(req, state).await?;
    who.may_read_details("exports")
        .map_err(|d| RestError::from(crate::error::AppError::from(d)))?;
    let mut year = None;
    let mut township = None;
    let mut encoding = Encoding::Utf8;
    for (k, v) in params {
        match k.as_str() {
            "year" => {
                year = Some(
                    v.parse::<i32>()
                        .ok()
                        .filter(|y| (2000..=2100).contains(y))
                        .ok_or_else(|| {
                            RestError::bad_input(format!("`year` is 2000 to 2100, got {v:?}"))
                        })?,
                );
            }
            "township" => township = Some(township_id(state, v).await?),
            "encoding" => encoding = encoding_of(v)?,
            other => {
                return Err(RestError::bad_input(format!(
                    "unknown parameter `{other}`; the statistics take year, township and encoding"
                )));
            }
        }
    }
    let year = year.ok_or_else(|| RestError::bad_input("`year` is needed, e.g. ?year=2025"))?;
    // The figures count records of nearly every kind: tagged by every table's version.
    let etag = conditional::data_tag(state.read_db(), req, &who, None).await?;
    if let Some(unchanged) = conditional::unchanged(req, &etag, &who) {
        return Ok(unchanged);
    }
    let bytes =
        crate::services::report::statistics_csv(state.read_db(), &who, year, township, encoding)
            .await?;
    let content_type = match encoding {
        Encoding::Utf8 => "text/csv; charset=utf-8",
        Encoding::Gb18030 => "text/csv; charset=gb18030",
    };
    Ok(conditional::tagged(Response::builder(), &etag, &who)
        .content_type(content_type)
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"statistics-{year}.csv\""),
        )
        .body(bytes))
}
