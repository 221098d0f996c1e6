//! What the routes beside GraphQL (OGC API, tiles, downloads) share: who is calling, and errors
//! as JSON with the same codes GraphQL uses.

use poem::http::{StatusCode, header};
use poem::{IntoResponse, Request, Response};

use super::AppState;
use crate::db;
use crate::domain::access::{Actor, Caller, Role};
use crate::error::AppError;

/// An error answered as `{"code": …, "description": …}`: the shape OGC API – Features gives
/// its exceptions, with the registry's error codes.
#[derive(Debug)]
pub struct RestError {
    pub status: StatusCode,
    pub code: &'static str,
    pub description: String,
}

impl RestError {
    pub fn bad_input(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "BAD_INPUT",
            description: description.into(),
        }
    }

    pub fn not_found(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "NOT_FOUND",
            description: description.into(),
        }
    }

    fn unauthenticated(description: &str) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "UNAUTHENTICATED",
            description: description.to_owned(),
        }
    }
}

impl From<AppError> for RestError {
    /// Keeps the code; an internal error shows only its id (the cause was logged with it).
    fn from(err: AppError) -> Self {
        let code = err.code();
        let status = match code.as_str() {
            "INTERNAL" => StatusCode::INTERNAL_SERVER_ERROR,
            "FORBIDDEN" => StatusCode::FORBIDDEN,
            "UNAUTHENTICATED" => StatusCode::UNAUTHORIZED,
            "NOT_FOUND" => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        };
        Self {
            status,
            code: code.as_str(),
            description: err.message().to_owned(),
        }
    }
}

impl From<db::StoreError> for RestError {
    fn from(err: db::StoreError) -> Self {
        AppError::from(err).into()
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "code": self.code, "description": self.description });
        let mut response = Response::builder()
            .status(self.status)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        response.set_data(super::observe::AnswerCode(self.code.to_owned()));
        response
    }
}

/// A request's caller, and where its token last wrote (`db::access::mark_write`), which
/// decides whether a replica may answer its reads (`AppState::reader`).
#[derive(Clone)]
pub struct Identified {
    pub caller: Caller,
    pub write_position: Option<String>,
}

/// The caller named by the `Authorization` header: anonymous without one, UNAUTHENTICATED for a
/// malformed, unknown or revoked token, never a silent fall back to anonymous. Read once: the
/// rate limit, which runs first, leaves the caller it found in the request.
pub async fn caller(req: &Request, state: &AppState) -> Result<Caller, RestError> {
    identify(req, state).await.map(|i| i.caller)
}

/// [`caller`], with where its token last wrote.
pub async fn identify(req: &Request, state: &AppState) -> Result<Identified, RestError> {
    if let Some(Authenticated(identified)) = req.extensions().get::<Authenticated>() {
        return Ok(identified.clone());
    }
    let header = match req.headers().get(header::AUTHORIZATION) {
        None => None,
        Some(h) => Some(h.to_str().map_err(|_| {
            RestError::unauthenticated("the Authorization header must be `Bearer <token>`")
        })?),
    };
    identify_by(header, state).await
}

/// A caller already authenticated for this request (by the rate limit), kept in its
/// extensions under a type no other module can insert.
#[derive(Clone)]
struct Authenticated(Identified);

/// Keeps the caller, authenticated from `req`'s own `Authorization` header, for [`caller`] and
/// [`identify`].
pub(super) fn remember_caller(req: &mut Request, identified: Identified) {
    req.extensions_mut().insert(Authenticated(identified));
}

/// The caller an `Authorization` value names (from a header, or a WebSocket's
/// `connection_init` payload).
pub async fn caller_of(authorization: Option<&str>, state: &AppState) -> Result<Caller, RestError> {
    identify_by(authorization, state).await.map(|i| i.caller)
}

async fn identify_by(
    authorization: Option<&str>,
    state: &AppState,
) -> Result<Identified, RestError> {
    let Some(header) = authorization else {
        super::observe::record_role("ANONYMOUS");
        return Ok(Identified {
            caller: Caller::Anonymous,
            write_position: None,
        });
    };
    let secret = Some(header)
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            RestError::unauthenticated("the Authorization header must be `Bearer <token>`")
        })?;
    let token = db::access::find_live(&state.db, secret)
        .await?
        .ok_or_else(|| RestError::unauthenticated("the token is unknown or has been revoked"))?;
    db::access::touch(&state.db, &token, chrono::Utc::now()).await?;
    let role = Role::parse(&token.role).map_err(AppError::internal)?;
    super::observe::record_role(role.as_str());
    Ok(Identified {
        caller: Caller::Signed(Actor {
            token_id: token.id,
            label: token.label,
            role,
            township_id: token.township_id,
            bank_code: token.bank_code,
        }),
        write_position: token.write_position,
    })
}
