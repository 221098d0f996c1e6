//! Liveness and readiness.

use poem::handler;
use poem::http::StatusCode;
use poem::web::Data;

use super::AppState;

/// The process is up.
#[handler]
pub fn healthz() -> &'static str {
    "ok"
}

/// The process can serve: it is not stopping, and the database answers. From the start of a
/// stop it answers 503 at once, so that a load balancer sends nothing more.
#[handler]
pub async fn readyz(state: Data<&AppState>) -> (StatusCode, &'static str) {
    if state.shutdown.is_stopping() {
        return (StatusCode::SERVICE_UNAVAILABLE, "stopping");
    }
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(err) => {
            tracing::warn!(error = %err, "database not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}
