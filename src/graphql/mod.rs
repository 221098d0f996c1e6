//! The GraphQL API: types written for their readers (cadres in GraphiQL, banks' systems, map
//! frontends), mapped from the store and the domain. Resolvers only map; rules live in
//! `domain`, queries in `db`.

pub mod access;
pub mod asset;
pub mod audit;
pub mod boundary_mutation;
pub mod credit;
pub mod demo_mutation;
pub mod demo_site;
pub mod documents;
pub mod events;
pub mod geo;
pub mod ids;
pub mod import;
pub mod limits;
pub mod loaders;
pub mod loan;
pub mod mutation;
pub mod paging;
pub mod place;
mod projection;
pub mod query;
pub mod rights;
pub mod scalars;
pub mod spatial;
pub mod token;

use async_graphql::{Context, Object, Result, Schema};
use sea_orm::DatabaseConnection;

use crate::db;
use crate::domain::UnknownCode;
use crate::error::AppError;

pub use limits::Limits;

/// The registry's schema.
pub type RegistrySchema = Schema<query::Query, mutation::Mutation, events::Subscription>;

/// The registry's schema for each transport, sharing their data: the database connection, the
/// boundary locator, the loan events. Everything that depends on the caller (who, loaders) is
/// added per request.
#[derive(Clone)]
pub struct Schemas {
    /// GraphQL over HTTP, whose handler checks the limits around the schema (`limits`).
    pub http: RegistrySchema,
    /// Subscriptions over WebSocket, with the limits as an extension.
    pub ws: RegistrySchema,
}

pub fn build_schemas(
    db: DatabaseConnection,
    locator: mutation::SharedLocator,
    limits: Limits,
) -> Schemas {
    let events = events::LoanEvents::default();
    let build = || {
        let schema = Schema::build(
            query::Query::default(),
            mutation::Mutation::default(),
            events::Subscription,
        )
        .data(db.clone())
        .data(events.clone())
        .data(locator.clone());
        limits.apply(schema)
    };
    Schemas {
        http: build().finish(),
        ws: build().extension(limits).finish(),
    }
}

/// The SDL of the schema, as committed in `schema/schema.graphql`.
pub fn sdl() -> String {
    Schema::build(
        query::Query::default(),
        mutation::Mutation::default(),
        events::Subscription,
    )
    .finish()
    .sdl()
}

pub(crate) fn db_conn<'a>(ctx: &Context<'a>) -> Result<&'a DatabaseConnection> {
    ctx.data::<DatabaseConnection>()
}

/// A stored code that no longer parses means the database was edited by hand.
pub(crate) fn stored<T>(parsed: Result<T, UnknownCode>) -> Result<T> {
    parsed.map_err(|e| AppError::internal(e).into())
}

/// What a connection's `totalCount` counts. Counted only when the field is selected.
pub enum ListTotal {
    Townships,
    Villages(Option<i64>),
    Assets(Box<db::assets::AssetFilter>),
    DemoSites(Option<i64>),
    AuditEvents(Box<db::audit::AuditFilter>),
    /// Assets under a filter in a region, as the caller sees them.
    InRegion(Box<(db::assets::AssetFilter, crate::domain::region::Region)>),
}

#[Object]
impl ListTotal {
    /// Number of items in the whole list, across all pages (总数).
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        let conn = db_conn(ctx)?;
        Ok(match self {
            ListTotal::Townships => db::places::count_townships(conn).await?,
            ListTotal::Villages(t) => db::places::count_villages(conn, *t).await?,
            ListTotal::Assets(f) => db::assets::count(conn, f).await?,
            ListTotal::DemoSites(t) => db::demo_sites::count(conn, *t).await?,
            ListTotal::AuditEvents(f) => db::audit::count(conn, f).await?,
            ListTotal::InRegion(q) => spatial::count_in_region(ctx, &q.0, &q.1).await?,
        })
    }
}
