//! HTTP: the GraphQL endpoint, GraphiQL, and the routes that are not GraphQL.

pub mod client;
pub mod conditional;
pub mod download;
pub mod export;
pub mod graphiql;
pub mod graphql;
pub mod gzip;
pub mod health;
pub mod metrics;
pub mod observe;
pub mod ogc;
pub mod pages;
pub mod query;
pub mod rate_limit;
pub mod rest;
pub mod shutdown;
mod state;
pub mod subscription;
pub mod tiles;

pub use state::AppState;

use std::sync::Arc;

use poem::http::{Method, header};
use poem::middleware::{CatchPanic, Cors};
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route, get};
use rate_limit::RateLimit;

/// Every route of the server, each request observed (`observe`: its span, log line and
/// metrics).
///
/// Every route spends the caller's rate-limit budget (`rate_limit`), GraphQL answering a refusal
/// as GraphQL, the others as the other routes answer errors; the pages too (their files cost
/// little, but a budget counts requests, not cost, and a page load is a few requests). Only the
/// health probes are exempt: a load balancer probes often from one address, and an instance must
/// not look dead because its prober ran out of budget.
pub fn routes(state: AppState) -> poem::endpoint::BoxEndpoint<'static> {
    let cors = cors(&state.settings.cors_origins);
    let limit = RateLimit::new(rate_limit::rate_limited);
    let metrics = state.metrics.clone();
    let routes = Route::new()
        .at(
            "/graphql",
            get(graphql::handle)
                .post(graphql::handle)
                .with(RateLimit::new(graphql::rate_limited)),
        )
        .at("/graphql/ws", get(subscription::subscribe).with(limit))
        .nest("/graphiql", graphiql::endpoint().with(limit))
        .nest("/map", pages::endpoint().with(limit))
        .at("/dashboard", get(pages::dashboard_page).with(limit))
        .nest("/ogc", ogc::routes().with(limit))
        .at("/download/:file", get(download::geojson).with(limit))
        .at("/export/:file", get(export::download).with(limit))
        .at("/healthz", get(health::healthz))
        .at("/readyz", get(health::readyz))
        .at(
            "/tiles/:layer/:z/:x/:y",
            get(tiles::vector_tile).with(limit),
        )
        .at("/tiles/:tileset", get(tiles::tilejson).with(limit))
        .data(state)
        // A bug that panics answers 500 and is logged; the connection and the server live on.
        .with(CatchPanic::new());
    // Outside the CORS middleware, which sets `Vary` to `Origin` alone on its way out.
    let routes = match cors {
        Some(cors) => routes.with(cors).around(vary_by_caller).boxed(),
        None => routes.around(vary_by_caller).boxed(),
    };
    routes
        .around(move |ep, req| observe::observe(ep, req, metrics.clone()))
        .boxed()
}

/// Every answer depends on who asks (anonymous callers see generalized assets), so a shared
/// cache must key on the Authorization header as well as on whatever else varies.
async fn vary_by_caller<E: Endpoint>(ep: Arc<E>, req: Request) -> poem::Result<Response> {
    let mut response = ep.call(req).await?.into_response();
    let headers = response.headers_mut();
    let current: Vec<String> = headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect();
    if !current
        .iter()
        .any(|v| v.eq_ignore_ascii_case("authorization") || v == "*")
    {
        let mut all = current;
        all.push("Authorization".to_owned());
        if let Ok(v) = all.join(", ").parse() {
            headers.insert(header::VARY, v);
        }
    }
    Ok(response)
}

/// The CORS policy: none without origins (poem's `Cors` with no origins would allow them all),
/// any for `*`, else exactly the origins listed. Browsers may send the Authorization header.
fn cors(origins: &[String]) -> Option<Cors> {
    if origins.is_empty() {
        return None;
    }
    let cors = Cors::new()
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers(["authorization", "content-type", "accept", "x-request-id"])
        .expose_headers(["x-request-id", "retry-after"]);
    Some(if origins.iter().any(|o| o == "*") {
        cors
    } else {
        cors.allow_origins(origins.iter().map(String::as_str))
    })
}
