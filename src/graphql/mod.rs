//! The GraphQL API: types written for their readers (cadres in GraphiQL, banks' systems, map
//! frontends), mapped from the store and the domain. Resolvers only map; rules live in `domain`,
//! queries in `db`, shared write paths in `services`.
//!
//! One module per concept holds that concept's types, queries, mutations and loaders; `common`
//! is the plumbing every concept uses and imports none of them. This module only assembles the
//! schema from the concepts' parts.

pub mod access;
pub mod assets;
pub mod audit;
pub mod changes;
pub mod check;
pub mod common;
pub mod credit;
pub mod demo_sites;
pub mod eligibility;
pub mod events;
pub mod import;
pub mod loans;
pub mod node;
pub mod parties;
pub mod places;
pub mod revitalization;
pub mod rights;
pub mod shares;
pub mod statistics;
pub mod targets;

use async_graphql::{MergedObject, Schema};
use sea_orm::DatabaseConnection;

use crate::services::events::EventHub;
use crate::services::import::jobs::ImportJobs;

pub use common::context::{LocatorSnapshot, RequestId, SharedLocator};
pub use common::limits::Limits;

/// The root query: the registry itself, and the credit built on its property rights.
///
/// The parts are merged in the order of the root fields in the committed SDL, so that a client's
/// schema is unchanged byte for byte; that is why places and demonstration sites each give two.
#[derive(MergedObject, Default)]
pub struct Query(
    node::NodeQuery,
    places::PlacesQuery,
    assets::query::AssetsQuery,
    demo_sites::DemoSitesQuery,
    audit::AuditQuery,
    access::AccessQuery,
    places::PlaceAtQuery,
    demo_sites::DemoSiteQuery,
    credit::CreditQuery,
    rights::RightsQuery,
    eligibility::EligibilityQuery,
    loans::LoansQuery,
    shares::SharesQuery,
    statistics::StatisticsQuery,
    targets::TargetsQuery,
    check::CheckQuery,
    import::ImportQuery,
    changes::ChangesQuery,
);

/// Changes to the registry (登记与变更). Each needs a token; a CADRE changes only records in
/// its own township. Each change and its audit event are one transaction.
#[derive(MergedObject, Default)]
pub struct Mutation(
    assets::mutation::AssetsMutation,
    parties::PartiesMutation,
    revitalization::RevitalizationMutation,
    demo_sites::DemoSitesMutation,
    places::PlacesMutation,
    access::AccessMutation,
    loans::LoansMutation,
    eligibility::EligibilityMutation,
    rights::RightsMutation,
    credit::CreditMutation,
    import::ImportMutation,
    shares::SharesMutation,
    targets::TargetsMutation,
);

/// The registry's schema.
pub type RegistrySchema = Schema<Query, Mutation, events::Subscription>;

/// The registry's schema for each transport, sharing their data: the database connection, the
/// boundary locator, the event hub. Everything that depends on the caller (who, loaders) is
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
    locator: SharedLocator,
    events: EventHub,
    jobs: ImportJobs,
    limits: Limits,
) -> Schemas {
    let build = || {
        let schema = Schema::build(Query::default(), Mutation::default(), events::Subscription)
            .data(db.clone())
            .data(events.clone())
            .data(jobs.clone())
            .data(locator.clone())
            .data(common::context::PublicCell(limits.min_public_cell));
        limits.apply(schema)
    };
    Schemas {
        http: build().finish(),
        ws: build().extension(limits).finish(),
    }
}

/// The SDL of the schema, as committed in `schema/schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), events::Subscription)
        .finish()
        .sdl()
}
