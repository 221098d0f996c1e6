//! What every request handler shares. It lives with the routes, not with the application that
//! builds it, so that `app` depends on `http` and never the other way round.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use super::rate_limit::RateLimiter;
use super::shutdown::Shutdown;
use crate::config::Settings;
use crate::db::QueryCounter;
use crate::graphql::common::documents::Documents;
use crate::graphql::{Limits, Schemas};
use crate::metrics::Metrics;

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub schemas: Schemas,
    pub limits: Limits,
    /// Parsed queries by their text (`graphql::common::documents`).
    pub documents: Arc<Documents>,
    pub settings: Arc<Settings>,
    pub queries: Arc<QueryCounter>,
    pub limiter: Arc<RateLimiter>,
    /// The instruments /metrics reads (`crate::metrics`).
    pub metrics: Metrics,
    /// Whether the server is stopping, and its open WebSockets (`http::shutdown`).
    pub shutdown: Shutdown,
}
