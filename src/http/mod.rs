//! HTTP: the GraphQL endpoint, GraphiQL, and the routes that are not GraphQL.

pub mod graphiql;
pub mod graphql;
pub mod health;
pub mod rate_limit;

use poem::middleware::{CatchPanic, Tracing};
use poem::{EndpointExt, Route, get};

use crate::app::AppState;

/// Every route of the server.
pub fn routes(state: AppState) -> impl poem::Endpoint {
    Route::new()
        .at("/graphql", get(graphql::handle).post(graphql::handle))
        .nest("/graphiql", graphiql::endpoint())
        .at("/healthz", get(health::healthz))
        .at("/readyz", get(health::readyz))
        .data(state)
        // A bug that panics answers 500 and is logged; the connection and the server live on.
        .with(CatchPanic::new())
        .with(Tracing)
}
