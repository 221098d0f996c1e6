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
    /// The primary: writes, and every read that must see them.
    pub db: DatabaseConnection,
    /// A read replica (`DATABASE_READ_URL`), if there is one: queries, tiles, OGC, downloads
    /// and exports.
    pub replica: Option<DatabaseConnection>,
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

impl AppState {
    /// Where a read goes: the replica, if there is one and it has replayed the caller's last
    /// write (`write_position`, see `db::access::mark_write`); else the primary.
    pub async fn reader(&self, write_position: Option<&str>) -> &DatabaseConnection {
        let Some(replica) = &self.replica else {
            return &self.db;
        };
        match write_position {
            None => replica,
            Some(position) => match crate::db::access::replayed(replica, position).await {
                Ok(true) => replica,
                Ok(false) => &self.db,
                Err(e) => {
                    tracing::warn!(error = ?e.0, "asking the replica how far it has replayed");
                    &self.db
                }
            },
        }
    }

    /// The connection for reads that need no caller's own writes (tiles, OGC, downloads,
    /// exports): the replica if there is one.
    pub fn read_db(&self) -> &DatabaseConnection {
        self.replica.as_ref().unwrap_or(&self.db)
    }
}
