//! What every request leaves behind: a span carrying its request id (the client's
//! `X-Request-Id` when sane, else a fresh one), the route, and, once known, the GraphQL
//! operation and the caller's role, never a token, a query string or a body; one log line when
//! it is answered; and its figures in /metrics (`crate::metrics`): time to the answer's head,
//! status and error code, and the SQL statements it ran.
//!
//! Handlers tell the middleware what only they know through the response's extensions:
//! [`OperationLabel`] and [`AnswerCode`]. The router adds the matched route's template.

use std::sync::Arc;
use std::time::Instant;

use futures_util::{Stream, TryStreamExt as _};
use poem::PathPattern;
use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::Instrument as _;

use crate::db;
use crate::graphql::RequestId;
use crate::metrics::{self, Answered, Metrics};

/// The answer's GraphQL operation label (`Metrics::operation_label`).
#[derive(Debug, Clone)]
pub struct OperationLabel(pub String);

/// The `extensions.code` of the answer's (first) error.
#[derive(Debug, Clone)]
pub struct AnswerCode(pub String);

/// Serves `req` through `ep` in the request's span, then counts and logs the answer.
pub async fn observe<E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
    metrics: Metrics,
) -> poem::Result<Response> {
    let request_id = request_id(&req);
    req.set_data(RequestId(request_id.clone()));
    // At ERROR level, so that the span is kept (and an error line carries the request's id)
    // whatever the log filter lets through: with `RUST_LOG=warn`, an INFO span would vanish.
    let span = tracing::error_span!(
        "request",
        request_id = %request_id,
        method = %req.method(),
        path = %req.uri().path(),
        route = tracing::field::Empty,
        operation = tracing::field::Empty,
        role = tracing::field::Empty,
    );
    let started = Instant::now();
    let (answer, statements) = db::count_statements(ep.call(req))
        .instrument(span.clone())
        .await;
    let seconds = started.elapsed().as_secs_f64();
    let mut response = match answer {
        Ok(r) => r.into_response(),
        // The error's extensions (the route's template among them) go with it.
        Err(e) => e.into_response(),
    };
    let route = response
        .data::<PathPattern>()
        .map_or(metrics::UNMATCHED_ROUTE, |p| &p.0);
    let operation = response
        .data::<OperationLabel>()
        .map_or(metrics::NO_OPERATION, |o| o.0.as_str());
    let code = response.data::<AnswerCode>().map_or("", |c| c.0.as_str());
    let status = response.status();
    // Every route's rate refusal is a 429 and nothing else is: counted here once for all.
    if status == poem::http::StatusCode::TOO_MANY_REQUESTS {
        metrics.rate_limited();
    }
    metrics.request(&Answered {
        route,
        operation,
        status: status.as_u16(),
        code,
        seconds,
        statements,
    });
    span.record("route", route);
    span.in_scope(|| {
        let milliseconds = (seconds * 1000.0).round();
        if status.is_server_error() {
            tracing::warn!(
                status = status.as_u16(),
                code,
                milliseconds,
                statements,
                "answered"
            );
        } else {
            tracing::info!(
                status = status.as_u16(),
                code,
                milliseconds,
                statements,
                "answered"
            );
        }
    });
    if !response.headers().contains_key("x-request-id")
        && let Ok(v) = HeaderValue::from_str(&request_id)
    {
        response.headers_mut().insert("x-request-id", v);
    }
    Ok(response)
}

/// The request's id: the one the middleware gave it, else (outside the middleware) the
/// client's `X-Request-Id` when it is a sane token, else a fresh one. It ties log lines and
/// audit events to the request that made them.
pub fn request_id(req: &Request) -> String {
    if let Some(RequestId(id)) = req.data::<RequestId>() {
        return id.clone();
    }
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map_or_else(crate::error::new_id, str::to_owned)
}

/// Records the caller's role (`ANONYMOUS` without a token) on the request's span.
pub fn record_role(role: &str) {
    tracing::Span::current().record("role", role);
}

/// Records the GraphQL operation label on the request's span.
pub fn record_operation(label: &str) {
    tracing::Span::current().record("operation", label);
}

/// `body`, whose failure midway is logged with the request's id (its span): the client only
/// sees a file cut short, after a 200, so the log is where the cause is found.
pub fn logged_stream<S, T>(
    body: S,
) -> impl Stream<Item = Result<T, std::io::Error>> + Send + 'static
where
    S: Stream<Item = Result<T, std::io::Error>> + Send + 'static,
{
    let span = tracing::Span::current();
    body.inspect_err(move |error| {
        span.in_scope(|| {
            tracing::error!(%error, "a streamed answer failed midway; the client got it cut short");
        });
    })
}
