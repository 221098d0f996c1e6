//! The operations listener (`METRICS_LISTEN`, off the public port): `/metrics` in the
//! Prometheus text format, and `/healthz` and `/readyz` again, which answer here until the
//! process exits, while the public port refuses new connections from the start of a stop.

use poem::web::Data;
use poem::{EndpointExt, Response, Route, get, handler};

use super::{AppState, health};
use crate::metrics::CONTENT_TYPE;

/// The operations listener's routes.
pub fn routes(state: AppState) -> poem::endpoint::BoxEndpoint<'static> {
    Route::new()
        .at("/metrics", get(metrics))
        .at("/healthz", get(health::healthz))
        .at("/readyz", get(health::readyz))
        .data(state)
        .boxed()
}

/// Every series, with the pool and the statement total read now.
#[handler]
async fn metrics(state: Data<&AppState>) -> Response {
    let (in_use, idle) = crate::db::pool_usage(&state.db);
    state.metrics.pool(in_use, idle);
    state.metrics.statements(state.queries.get());
    Response::builder()
        .content_type(CONTENT_TYPE)
        .body(state.metrics.encode())
}
