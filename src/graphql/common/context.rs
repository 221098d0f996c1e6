//! What every resolver reads from the request: the caller, the database, the request id, the shared
//! boundary locator; and the helpers every mutation writes with (audit records, versioned
//! updates, patches). Imports no concept module.

use std::sync::{Arc, RwLock};

use async_graphql::{Context, Guard, ID, MaybeUndefined, Result};
use chrono::NaiveDate;
use sea_orm::DatabaseConnection;

use crate::db::{Versioned, audit};
use crate::domain::UnknownCode;
use crate::domain::access::{Actor, Caller};
use crate::domain::datum::Crs;
use crate::domain::geometry::{GeometryError, Location};
use crate::domain::locator::{Locator, Placement};
use crate::error::AppError;
use crate::graphql::common::scalars::GeoJson;

/// The caller of the request; a request without one (never over HTTP) is anonymous.
pub fn caller<'a>(ctx: &Context<'a>) -> &'a Caller {
    ctx.data_opt::<Caller>().unwrap_or(&Caller::Anonymous)
}

/// Asks the policy for details beyond the public map: any signed-in caller.
pub struct Details(pub &'static str);

impl Guard for Details {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        caller(ctx)
            .may_read_details(self.0)
            .map_err(|d| AppError::from(d).into())
    }
}

pub(crate) fn db_conn<'a>(ctx: &Context<'a>) -> Result<&'a DatabaseConnection> {
    ctx.data::<DatabaseConnection>()
}

/// A stored code that no longer parses means the database was edited by hand.
pub(crate) fn stored<T>(parsed: Result<T, UnknownCode>) -> Result<T> {
    parsed.map_err(|e| AppError::internal(e).into())
}

/// The boundaries every location is placed against, shared by all requests, with the boundary
/// version they were read at (`db::places::boundary_version`).
pub type SharedLocator = Arc<RwLock<LocatorSnapshot>>;

/// A locator and the boundary version it was built from.
pub struct LocatorSnapshot {
    pub version: i64,
    pub locator: Locator,
}

impl LocatorSnapshot {
    pub fn new((version, locator): (i64, Locator)) -> Self {
        Self { version, locator }
    }
}

/// Puts `fresh` in place of the shared snapshot unless the shared one is as new or newer: two
/// reloads racing never leave the older one.
pub fn replace_if_newer(shared: &SharedLocator, fresh: LocatorSnapshot) -> Result<(), AppError> {
    let mut guard = shared
        .write()
        .map_err(|_| AppError::internal("the locator lock is poisoned"))?;
    if fresh.version >= guard.version {
        *guard = fresh;
    }
    Ok(())
}

/// Rebuilds `shared` from the boundaries stored now, read through `conn`, unless a newer one
/// has replaced it meanwhile.
pub async fn reload_locator(
    conn: &impl sea_orm::ConnectionTrait,
    shared: &SharedLocator,
) -> Result<(), AppError> {
    let fresh = crate::db::places::versioned_locator(conn)
        .await
        .map_err(AppError::internal)?;
    replace_if_newer(shared, LocatorSnapshot::new(fresh))
}

/// The id of the HTTP request, recorded with every change it makes.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The floor under which a statistics cell is hidden from anonymous callers (`MIN_PUBLIC_CELL`).
#[derive(Debug, Clone, Copy)]
pub struct PublicCell(pub u32);

/// The cells a request's statistics hid, for the response's `extensions.suppressed`; added to
/// each request over HTTP.
#[derive(Debug, Clone, Default)]
pub struct Suppressed(Arc<std::sync::Mutex<Vec<String>>>);

impl Suppressed {
    pub fn push(&self, reason: String) {
        if let Ok(mut v) = self.0.lock() {
            v.push(reason);
        }
    }

    /// The reasons recorded, emptied.
    pub fn take(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

pub(crate) fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

/// The audit identity of an API caller.
pub(crate) fn audit_actor(actor: &Actor) -> audit::Actor {
    audit::Actor {
        label: actor.label.clone(),
        role: actor.role.as_str().to_owned(),
    }
}

fn request_id(ctx: &Context<'_>) -> Option<String> {
    ctx.data_opt::<RequestId>().map(|r| r.0.clone())
}

/// The audit identity of a change made through the API.
pub(crate) fn author(ctx: &Context<'_>, actor: &Actor) -> crate::services::places::Author {
    crate::services::places::Author {
        actor: audit_actor(actor),
        request_id: request_id(ctx),
    }
}

pub(crate) use crate::db::audit::snapshot as json;

/// The township and village of a location, or INVALID_GEOMETRY when it is outside the district.
pub(crate) fn locate(ctx: &Context<'_>, location: Location) -> Result<Placement> {
    let locator = ctx.data::<SharedLocator>()?;
    let locator = locator
        .read()
        .map_err(|_| AppError::internal("the locator lock is poisoned"))?;
    locator.locator.locate(location).ok_or_else(|| {
        AppError::from(GeometryError::OutsideDistrict {
            lon: location.lon(),
            lat: location.lat(),
        })
        .into()
    })
}

/// Reloads the shared locator through `conn` when the stored boundary version is not the one it
/// was built from (another instance, or an import, changed a boundary); says whether it did.
/// `in_write` reads the version as a placing write transaction must (`boundary_version`).
async fn refresh_if_stale(
    ctx: &Context<'_>,
    conn: &impl sea_orm::ConnectionTrait,
    in_write: bool,
) -> Result<bool> {
    let shared = ctx.data::<SharedLocator>()?;
    let now = crate::db::places::boundary_version(conn, in_write).await?;
    let current = shared
        .read()
        .map_err(|_| AppError::internal("the locator lock is poisoned"))?
        .version;
    if now == current {
        return Ok(false);
    }
    tracing::info!(
        from = current,
        to = now,
        "boundaries changed elsewhere: reloading the locator"
    );
    reload_locator(conn, shared).await?;
    Ok(true)
}

/// [`locate`] by the boundaries stored now: the shared locator is reloaded first when another
/// instance or an import changed a boundary since it was built (one small read).
pub(crate) async fn locate_current(ctx: &Context<'_>, location: Location) -> Result<Placement> {
    refresh_if_stale(ctx, db_conn(ctx)?, false).await?;
    locate(ctx, location)
}

/// The placement of `location` as of the boundaries committed now, checked inside the write
/// transaction `txn` (on PostgreSQL the version is read `FOR SHARE`, so no boundary change
/// commits between this check and the write): `placed` when nothing changed since it was made,
/// else placed again by the reloaded locator.
pub(crate) async fn confirm_place(
    ctx: &Context<'_>,
    txn: &sea_orm::DatabaseTransaction,
    location: Location,
    placed: Placement,
) -> Result<Placement> {
    if refresh_if_stale(ctx, txn, true).await? {
        locate(ctx, location)
    } else {
        Ok(placed)
    }
}

pub(crate) fn footprint(
    value: Option<GeoJson>,
    crs: Crs,
) -> Result<Option<geojson::Geometry>, AppError> {
    value
        .map(|g| crate::graphql::common::geo::input(g, crs))
        .transpose()
}

/// Writes `change` for `actor` in `txn`.
pub(crate) async fn record(
    ctx: &Context<'_>,
    txn: &sea_orm::DatabaseTransaction,
    actor: &Actor,
    action: &str,
    entity: &str,
    id: i64,
    (before, after): (Option<serde_json::Value>, Option<serde_json::Value>),
) -> Result<()> {
    let change = audit::Change {
        action,
        entity,
        entity_id: Some(id),
        before,
        after,
        request_id: request_id(ctx),
    };
    audit::record(txn, &audit_actor(actor), change).await?;
    Ok(())
}

/// The record an update wrote, or why it wrote nothing: CONFLICT for a stale `version`.
pub(crate) fn updated<M>(what: &str, outcome: Versioned<M>, version: i32) -> Result<M> {
    Err(match outcome {
        Versioned::Updated(row) => return Ok(row),
        Versioned::Missing => AppError::not_found(format!("no {what} has this ID")),
        Versioned::Stale { current } => AppError::conflict(format!(
            "the {what} was changed by someone else: you sent version {version}, the current one is {current}; reload it and apply your change again"
        )),
    }
    .into())
}

/// Applies a nullable patch field: undefined keeps, null clears, a value replaces.
pub(crate) fn patch<T>(current: &mut Option<T>, update: MaybeUndefined<T>) {
    match update {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => *current = None,
        MaybeUndefined::Value(v) => *current = Some(v),
    }
}

/// Exactly one of `id` and `code`.
pub(crate) fn id_or_code<'a>(
    id: Option<&'a ID>,
    code: Option<&'a str>,
) -> Result<Option<&'a ID>, AppError> {
    match (id, code) {
        (Some(_), Some(_)) | (None, None) => {
            Err(AppError::bad_input("give exactly one of `id` and `code`"))
        }
        (id, _) => Ok(id),
    }
}
