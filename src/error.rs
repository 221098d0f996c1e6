//! The one error type at the API edge. Every error a client sees has a stable
//! `extensions.code` and a message a cadre can act on; internal failures show only an id, and
//! their cause goes to the log.
//!
//! `AppError` is deliberately not `Display`, so that `?` cannot turn it (or a `StoreError`)
//! into a bare `async_graphql::Error` that would carry internal text to the client.

use async_graphql::ErrorExtensions as _;

use crate::db::StoreError;
use crate::domain::access::Denied;
use crate::domain::assets::AssetError;
use crate::domain::demo_sites::DemoSiteError;
use crate::domain::geometry::GeometryError;
use crate::domain::parties::PartyError;
use crate::domain::places::AdminAreaError;
use crate::domain::region::RegionError;
use crate::domain::revitalization::RevitalizationError;

/// The stable codes of `extensions.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadInput,
    InvalidGeometry,
    Conflict,
    LimitExceeded,
    RateLimited,
    /// A change-feed cursor older than the feed's retention.
    CursorExpired,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::BadInput => "BAD_INPUT",
            Self::InvalidGeometry => "INVALID_GEOMETRY",
            Self::Conflict => "CONFLICT",
            Self::LimitExceeded => "LIMIT_EXCEEDED",
            Self::RateLimited => "RATE_LIMITED",
            Self::CursorExpired => "CURSOR_EXPIRED",
            Self::Internal => "INTERNAL",
        }
    }
}

#[derive(Debug)]
pub struct AppError {
    code: ErrorCode,
    message: String,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadInput, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::LimitExceeded, message)
    }

    /// Logs `cause` with a fresh id and returns an error that shows the client only the id.
    pub fn internal(cause: impl std::fmt::Debug) -> Self {
        let id = new_id();
        tracing::error!(error_id = %id, cause = ?cause, "internal error");
        Self::new(
            ErrorCode::Internal,
            format!("internal error {id}: please report this id"),
        )
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        async_graphql::Error::new(err.message).extend_with(|_, e| e.set("code", err.code.as_str()))
    }
}

impl From<StoreError> for AppError {
    /// A unique key taken by a concurrent writer is a conflict the client can act on; any other
    /// storage failure is internal.
    fn from(err: StoreError) -> Self {
        match err.0.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                Self::new(ErrorCode::Conflict, "a record with this key already exists")
            }
            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => Self::new(
                ErrorCode::BadInput,
                "the change refers to a record that does not exist",
            ),
            _ => Self::internal(err.0),
        }
    }
}

impl From<StoreError> for async_graphql::Error {
    fn from(err: StoreError) -> Self {
        AppError::from(err).into()
    }
}

impl From<Denied> for AppError {
    fn from(denied: Denied) -> Self {
        let code = match denied {
            Denied::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Denied::Forbidden(_) => ErrorCode::Forbidden,
        };
        Self::new(code, denied.to_string())
    }
}

impl From<AssetError> for AppError {
    fn from(err: AssetError) -> Self {
        match err {
            AssetError::Geometry(g) => g.into(),
            AssetError::LocationOutsideFootprint | AssetError::FootprintOverlap { .. } => {
                Self::new(ErrorCode::InvalidGeometry, err.to_string())
            }
            other => Self::bad_input(other.to_string()),
        }
    }
}

impl From<RevitalizationError> for AppError {
    fn from(err: RevitalizationError) -> Self {
        Self::bad_input(err.to_string())
    }
}

impl From<DemoSiteError> for AppError {
    fn from(err: DemoSiteError) -> Self {
        match err {
            DemoSiteError::Geometry(g) => g.into(),
            other => Self::bad_input(other.to_string()),
        }
    }
}

impl From<AdminAreaError> for AppError {
    fn from(err: AdminAreaError) -> Self {
        match err {
            AdminAreaError::Geometry(g) => g.into(),
            other => Self::bad_input(other.to_string()),
        }
    }
}

impl From<PartyError> for AppError {
    fn from(err: PartyError) -> Self {
        Self::bad_input(err.to_string())
    }
}

impl From<RegionError> for AppError {
    fn from(err: RegionError) -> Self {
        match err {
            RegionError::Geometry(e) => e.into(),
            other => Self::bad_input(other.to_string()),
        }
    }
}

impl From<GeometryError> for AppError {
    fn from(err: GeometryError) -> Self {
        Self::new(ErrorCode::InvalidGeometry, err.to_string())
    }
}

/// A short id that ties a client's error report to the log line: time and a counter, unique
/// within a process and unlikely to repeat across instances.
pub fn new_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let micros = chrono::Utc::now().timestamp_micros();
    format!("{micros:x}-{n:x}-{:x}", std::process::id())
}
