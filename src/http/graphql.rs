//! GraphQL over HTTP (`GET` and `POST /graphql`).
//!
//! Written out rather than taken from async-graphql-poem's endpoint, which answers 200 with
//! `application/json` whatever happens: we honour `application/graphql-response+json` (4xx for
//! requests that cannot be executed), cap the body and the batch size, give every error a
//! code, and build the DataLoaders for each request.

use std::time::Duration;

use async_graphql::http::MultipartOptions;
use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, BatchResponse, Response as GqlResponse, ServerError};
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::web::Data;
use poem::{Body, Request, Response, handler};

use super::AppState;
use super::observe::{AnswerCode, OperationLabel};
use crate::db;
use crate::domain::access::Caller;
use crate::graphql::Limits;
use crate::graphql::RequestId;
use crate::graphql::common::context::Suppressed;
use crate::graphql::common::limits::with_code;
use crate::graphql::common::loaders;
use crate::http::rate_limit::{Budget, Refused};
use crate::metrics;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

#[handler]
pub async fn handle(req: &Request, body: Body, state: Data<&AppState>) -> Response {
    let media = if accepts_graphql_response(req) {
        GRAPHQL_RESPONSE
    } else {
        JSON
    };
    let request_id = super::observe::request_id(req);
    let mut operation = metrics::NO_OPERATION.to_owned();
    let response = match run(req, body, state.0, &request_id, media, &mut operation).await {
        Ok((status, response)) => respond(media, status, &request_id, &response, None),
        Err(refusal) => respond(
            media,
            refusal.status,
            &request_id,
            &BatchResponse::Single(GqlResponse::from_errors(vec![*refusal.error])),
            None,
        ),
    };
    let mut response = compress(req, response).await;
    response.set_data(OperationLabel(operation));
    response
}

/// Why a read-only server refuses a mutation: it is a copy of another, synced at a time.
async fn read_only(state: &AppState) -> String {
    match db::sync_state::get(&state.db).await {
        Ok(Some(copy)) => format!(
            "this server is a read-only copy of {} as of {} (UTC): make changes there",
            copy.source,
            copy.synced_at.format("%Y-%m-%d %H:%M:%S")
        ),
        Ok(None) => "this server is read-only (READ_ONLY) and has not been synced yet: make \
                     changes at the district's server"
            .to_owned(),
        Err(error) => {
            tracing::warn!(?error, "reading the sync state");
            "this server is a read-only copy: make changes at the district's server".to_owned()
        }
    }
}

/// Answers this long or longer are gzipped for a client that takes gzip; shorter ones are not
/// worth the header.
const GZIP_FROM: usize = 1024;

/// `response` gzipped when the client takes gzip and it is long enough (a page of the change
/// feed, a large listing): JSON shrinks several times, which counts on a township's slow link.
async fn compress(req: &Request, response: Response) -> Response {
    if !super::gzip::accepted(req) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = body.into_bytes().await else {
        return Response::from_parts(parts, Body::empty());
    };
    if bytes.len() < GZIP_FROM {
        return Response::from_parts(parts, Body::from(bytes));
    }
    match super::gzip::whole(&bytes) {
        Ok(gzipped) => {
            parts
                .headers
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            parts
                .headers
                .append(header::VARY, HeaderValue::from_static("accept-encoding"));
            Response::from_parts(parts, Body::from(gzipped))
        }
        Err(_) => Response::from_parts(parts, Body::from(bytes)),
    }
}

/// The answer to a request over the rate limit, as GraphQL answers any request refused before it
/// ran: 429 with `Retry-After`, an error `RATE_LIMITED`, and `extensions.rateLimit` as on every
/// answer (nothing remaining, and when to try again).
pub fn rate_limited(req: &Request, refused: &Refused) -> Response {
    let media = if accepts_graphql_response(req) {
        GRAPHQL_RESPONSE
    } else {
        JSON
    };
    let mut response = GqlResponse::from_errors(vec![error("RATE_LIMITED", refused.message())]);
    response.extensions.insert(
        "rateLimit".to_owned(),
        rate_limit_extension(
            refused.limit_per_minute,
            0,
            Some(refused.retry_after_secs()),
        ),
    );
    respond(
        media,
        StatusCode::TOO_MANY_REQUESTS,
        &super::observe::request_id(req),
        &BatchResponse::Single(response),
        Some(refused.retry_after_secs()),
    )
}

/// `extensions.rateLimit`: the budget a minute, what is left of it, and, once nothing is, in how
/// many seconds to try again.
fn rate_limit_extension(
    limit_per_minute: u32,
    remaining: u32,
    retry_after_secs: Option<u64>,
) -> async_graphql::Value {
    match retry_after_secs {
        None => async_graphql::value!({
            "limitPerMinute": limit_per_minute,
            "remaining": remaining,
        }),
        Some(secs) => async_graphql::value!({
            "limitPerMinute": limit_per_minute,
            "remaining": remaining,
            "retryAfterSeconds": secs,
        }),
    }
}

/// A request refused before it ran.
struct Refusal {
    status: StatusCode,
    error: Box<ServerError>,
}

impl From<(StatusCode, ServerError)> for Refusal {
    fn from((status, error): (StatusCode, ServerError)) -> Self {
        Self {
            status,
            error: Box::new(error),
        }
    }
}

/// Runs the request; `operation` is set to its operation label once the query is read.
async fn run(
    req: &Request,
    body: Body,
    state: &AppState,
    request_id: &str,
    media: &str,
    operation: &mut String,
) -> Result<(StatusCode, BatchResponse), Refusal> {
    let mut batch = read_request(req, body, state).await?;
    let (caller, write_position) = authenticate(req, state).await?;
    // Spent by the rate limit in front of this route (`http::rate_limit`).
    let budget = req
        .extensions()
        .get::<Budget>()
        .map(|b| rate_limit_extension(b.limit_per_minute, b.remaining, None));
    check_operations(req, &mut batch, state)?;
    *operation = operation_label(&mut batch, state);
    super::observe::record_operation(operation);
    // Each operation of a batch gets its own loaders: they are per request by design. A query
    // reads where the caller's own writes are visible (the replica once it has them); a
    // mutation, and what it answers, on the primary.
    let window = Duration::from_millis(state.settings.batch_window_ms);
    let kinds: Vec<bool> = batch.iter_mut().map(writes).collect();
    let wrote = kinds.contains(&true);
    if wrote && state.settings.read_only {
        let message = read_only(state).await;
        return Err((StatusCode::FORBIDDEN, error("FORBIDDEN", message)).into());
    }
    let reader = if kinds.contains(&false) {
        state.reader(write_position.as_deref()).await
    } else {
        &state.db
    };
    for (r, writes) in batch.iter_mut().zip(kinds) {
        let conn = if writes { &state.db } else { reader };
        r.data.insert(loaders::for_request(conn.clone(), window));
        r.data.insert(conn.clone());
        r.data.insert(caller.clone());
        r.data.insert(RequestId(request_id.to_owned()));
        r.data.insert(state.metrics.clone());
    }
    let timeout = Duration::from_secs(state.settings.query_timeout_secs);
    let Ok(mut response) = tokio::time::timeout(timeout, execute(state, batch)).await else {
        let message = format!(
            "the request ran longer than the limit of {} s and was stopped",
            timeout.as_secs()
        );
        return Err((
            StatusCode::SERVICE_UNAVAILABLE,
            error("LIMIT_EXCEEDED", message),
        )
            .into());
    };
    if let (true, Some(_), Caller::Signed(actor)) = (wrote, &state.replica, &caller)
        && let Err(e) = db::access::mark_write(&state.db, actor.token_id).await
    {
        // Its next reads may then come from a replica that has not caught up yet.
        tracing::warn!(error = ?e.0, "recording where a token wrote");
    }
    let finish = |r: &mut GqlResponse| {
        ensure_codes(r, &state.limits);
        if let Some(budget) = &budget {
            r.extensions.insert("rateLimit".to_owned(), budget.clone());
        }
    };
    let status = match &mut response {
        BatchResponse::Single(r) => {
            finish(r);
            if media == GRAPHQL_RESPONSE && is_request_error(r) {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            }
        }
        BatchResponse::Batch(rs) => {
            rs.iter_mut().for_each(finish);
            StatusCode::OK
        }
    };
    Ok((status, response))
}

/// Runs each operation of `batch`, in order, on the HTTP schema: parsed once and held to the
/// limits the schema does not check itself (`graphql::common::limits`).
async fn execute(state: &AppState, batch: BatchRequest) -> BatchResponse {
    let one = |mut r: async_graphql::Request| async move {
        match state.limits.prepare(&mut r) {
            Ok(()) => {
                state.documents.keep(&mut r);
                let suppressed = Suppressed::default();
                r = r.data(suppressed.clone());
                let mut response = state.schemas.http.execute(r).await;
                let reasons = suppressed.take();
                if !reasons.is_empty() {
                    let list = reasons
                        .into_iter()
                        .map(async_graphql::Value::String)
                        .collect();
                    response
                        .extensions
                        .insert("suppressed".to_owned(), async_graphql::Value::List(list));
                }
                response
            }
            Err(e) => GqlResponse::from_errors(vec![e]),
        }
    };
    match batch {
        BatchRequest::Single(r) => BatchResponse::Single(one(r).await),
        BatchRequest::Batch(rs) => BatchResponse::Batch(
            rs.into_iter()
                .map(one)
                .collect::<FuturesOrdered<_>>()
                .collect()
                .await,
        ),
    }
}

/// Refuses what no operation may be: query text over the length limit, and anything but a
/// query over GET (405, as GraphQL over HTTP requires, so a link or a crawler never writes).
fn check_operations(
    req: &Request,
    batch: &mut BatchRequest,
    state: &AppState,
) -> Result<(), Refusal> {
    let max = state.settings.max_query_length;
    for r in batch.iter_mut() {
        if r.query.len() > max {
            let message = format!(
                "the query is {} bytes long; the limit is {max}",
                r.query.len()
            );
            return Err((StatusCode::BAD_REQUEST, error("LIMIT_EXCEEDED", message)).into());
        }
        state.documents.fill(r);
        if req.method() == Method::GET {
            // A query that does not parse is left to `execute`, which says why; one that does
            // is not parsed again.
            if writes(r) {
                let message = "only queries may be sent with GET; send mutations with POST";
                return Err((StatusCode::METHOD_NOT_ALLOWED, error("BAD_INPUT", message)).into());
            }
        }
    }
    Ok(())
}

/// Whether the operation `r` runs is not a query (a mutation or a subscription). A query that
/// does not parse is left to `execute`, which says why; one that does is not parsed again.
fn writes(r: &mut async_graphql::Request) -> bool {
    let operation = r.operation_name.clone();
    let Ok(doc) = r.parsed_query() else {
        return false;
    };
    doc.operations.iter().any(|(name, op)| {
        let selected = operation
            .as_deref()
            .is_none_or(|n| name.is_some_and(|m| m.as_str() == n));
        selected && op.node.ty != OperationType::Query
    })
}

/// The caller, or the refusal GraphQL answers with (401 for a bad token).
/// The caller, and where its token last wrote.
async fn authenticate(
    req: &Request,
    state: &AppState,
) -> Result<(Caller, Option<String>), (StatusCode, ServerError)> {
    super::rest::identify(req, state)
        .await
        .map(|i| (i.caller, i.write_position))
        .map_err(|e| (e.status, error(e.code, e.description)))
}

fn accepts_graphql_response(req: &Request) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(GRAPHQL_RESPONSE))
}

/// Whether `query` is mutations that select `importFile` and nothing else (what a multipart
/// upload is for). A query that does not parse is not.
fn imports_only(query: &str) -> bool {
    use async_graphql::parser::types::{OperationType, Selection};
    let Ok(doc) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    doc.fragments.is_empty()
        && doc.operations.iter().all(|(_, op)| {
            op.node.ty == OperationType::Mutation
                && op.node.selection_set.node.items.iter().all(|item| {
                    matches!(&item.node, Selection::Field(f) if f.node.name.node == "importFile")
                })
        })
}

fn error(code: &str, message: impl Into<String>) -> ServerError {
    with_code(ServerError::new(message, None), code)
}

async fn read_request(
    req: &Request,
    body: Body,
    state: &AppState,
) -> Result<BatchRequest, (StatusCode, ServerError)> {
    let bad = |m: String| (StatusCode::BAD_REQUEST, error("BAD_INPUT", m));
    let batch = match *req.method() {
        Method::GET => {
            let request =
                async_graphql::http::parse_query_string(req.uri().query().unwrap_or_default())
                    .map_err(|e| bad(format!("cannot read the query string: {e}")))?;
            BatchRequest::Single(request)
        }
        Method::POST => {
            let content_type = req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            let media = content_type
                .and_then(|c| c.split(';').next())
                .map(|m| m.trim().to_ascii_lowercase());
            // JSON, or a multipart upload; nothing a web page may send another site without
            // asking first (text/plain, a form, no type at all): such a "simple request" must not
            // run a mutation.
            let multipart = match media.as_deref() {
                Some("application/json") => false,
                Some("multipart/form-data") => true,
                other => {
                    return Err((
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        error(
                            "BAD_INPUT",
                            format!(
                                "a POST to /graphql is application/json (or multipart/form-data \
                                 for importFile), not {}",
                                other.unwrap_or("a body without a Content-Type")
                            ),
                        ),
                    ));
                }
            };
            let limit = if multipart {
                state.settings.max_upload_bytes
            } else {
                state.settings.max_body_bytes
            };
            let bytes = body.into_bytes_limit(limit).await.map_err(|_| {
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    error(
                        "LIMIT_EXCEEDED",
                        format!("the request body is larger than {limit} bytes"),
                    ),
                )
            })?;
            let batch = async_graphql::http::receive_batch_body(
                content_type,
                &bytes[..],
                MultipartOptions::default().max_file_size(state.settings.max_upload_bytes),
            )
            .await
            .map_err(|e| bad(format!("cannot read the request: {e}")))?;
            if multipart && !batch.iter().all(|r| imports_only(&r.query)) {
                return Err(bad(
                    "a multipart request is for importFile alone: send other operations as \
                     application/json"
                        .into(),
                ));
            }
            batch
        }
        _ => {
            return Err((
                StatusCode::METHOD_NOT_ALLOWED,
                error("BAD_INPUT", "use GET or POST"),
            ));
        }
    };
    if let BatchRequest::Batch(requests) = &batch {
        let max = usize::from(state.settings.max_batch);
        if requests.is_empty() {
            return Err(bad("a batch must hold at least one operation".into()));
        }
        if requests.len() > max {
            return Err((
                StatusCode::BAD_REQUEST,
                error(
                    "LIMIT_EXCEEDED",
                    format!(
                        "a batch may hold at most {max} operations, got {}",
                        requests.len()
                    ),
                ),
            ));
        }
    }
    Ok(batch)
}

/// A request error: nothing executed (parse, validation or limits), so no `data`.
fn is_request_error(r: &GqlResponse) -> bool {
    r.data == async_graphql::Value::Null
        && !r.errors.is_empty()
        && r.errors.iter().all(|e| e.path.is_empty())
}

/// Every error leaves with a code. Errors raised by our resolvers have one; what remains comes
/// from async-graphql's own checks (validation, its depth and complexity limits) and input
/// coercion (a wrong scalar, an unknown enum value), which is the client's input.
fn ensure_codes(r: &mut GqlResponse, limits: &Limits) {
    for e in &mut r.errors {
        let has_code = e
            .extensions
            .as_ref()
            .is_some_and(|x| x.get("code").is_some());
        if !has_code {
            *e = limits.explain(std::mem::replace(e, ServerError::new("", None)));
        }
    }
}

/// The label of the request's operation in metrics and logs: its name, bounded by
/// `Metrics::operation_label`; a batch is `_batch`.
fn operation_label(batch: &mut BatchRequest, state: &AppState) -> String {
    let BatchRequest::Single(r) = batch else {
        return metrics::BATCH_OPERATION.to_owned();
    };
    let name = match &r.operation_name {
        Some(name) => Some(name.clone()),
        // Without `operationName`, the document's one operation, if it is named.
        None => r.parsed_query().ok().and_then(|doc| {
            let mut ops = doc.operations.iter();
            match (ops.next(), ops.next()) {
                (Some((Some(name), _)), None) => Some(name.to_string()),
                _ => None,
            }
        }),
    };
    state.metrics.operation_label(name.as_deref())
}

/// The code of the answer's first error, if any.
fn first_code(body: &BatchResponse) -> Option<String> {
    let responses: &[GqlResponse] = match body {
        BatchResponse::Single(r) => std::slice::from_ref(r),
        BatchResponse::Batch(rs) => rs,
    };
    responses.iter().flat_map(|r| &r.errors).find_map(|e| {
        match e.extensions.as_ref()?.get("code")? {
            async_graphql::Value::String(code) => Some(code.clone()),
            _ => None,
        }
    })
}

fn respond(
    media: &'static str,
    status: StatusCode,
    request_id: &str,
    body: &BatchResponse,
    retry_after_secs: Option<u64>,
) -> Response {
    let json = match body {
        // A request error has no `data` at all (GraphQL over HTTP), not `data: null`.
        BatchResponse::Single(r) if is_request_error(r) => {
            let mut json = serde_json::to_value(body).unwrap_or_default();
            if let Some(obj) = json.as_object_mut() {
                obj.remove("data");
            }
            json.to_string()
        }
        // Straight to text: no intermediate tree of a large answer.
        _ => serde_json::to_string(body).unwrap_or_default(),
    };
    let mut response = Response::builder().status(status);
    if let Some(secs) = retry_after_secs {
        response = response.header(header::RETRY_AFTER, secs.to_string());
    }
    let mut response = response
        .header(header::CONTENT_TYPE, HeaderValue::from_static(media))
        .header("x-request-id", request_id)
        .body(json);
    if let Some(code) = first_code(body) {
        response.set_data(AnswerCode(code));
    }
    response
}
