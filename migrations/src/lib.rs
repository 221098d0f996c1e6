//! Schema migrations of rural-registry, one file per change, never edited once landed.
//!
//! Written with SeaQuery so that one schema runs on SQLite and on PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_registry_core;
mod m20261126_000001_access_tokens;
mod m20261127_000001_asset_spatial_key;
mod m20261128_000001_rights_and_credit;
mod m20261129_000001_listing_indexes;
mod m20261207_000001_shareholdings;
mod m20261207_000002_share_pledges;
mod m20261207_000003_targets;
mod m20261207_000004_asset_tally;

/// Every migration, in the order it runs.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_registry_core::Migration),
            Box::new(m20261126_000001_access_tokens::Migration),
            Box::new(m20261127_000001_asset_spatial_key::Migration),
            Box::new(m20261128_000001_rights_and_credit::Migration),
            Box::new(m20261129_000001_listing_indexes::Migration),
            Box::new(m20261207_000001_shareholdings::Migration),
            Box::new(m20261207_000002_share_pledges::Migration),
            Box::new(m20261207_000003_targets::Migration),
            Box::new(m20261207_000004_asset_tally::Migration),
        ]
    }
}
