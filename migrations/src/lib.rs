//! Schema migrations of rural-registry, one file per change, never edited once landed.
//!
//! Written with SeaQuery so that one schema runs on SQLite and on PostgreSQL.
//!
//! Each migration runs in a transaction of its own on both engines, recorded as applied in
//! that transaction: one that fails half-way leaves the database as it was. (sea-orm-migration
//! wraps them on PostgreSQL only; SQLite's DDL is transactional too, so [`atomic`] asks for it.)

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
mod m20261207_000005_boundary_version;
mod m20261207_000006_event_log;
mod m20261207_000007_token_write_position;
mod m20261208_000001_import_job;
mod m20261208_000002_change_log;
mod m20261208_000003_office_copy;
mod m20261208_000004_table_versions;
mod m20261208_000005_updated_at_index;
mod m20261208_000006_register_feed;

/// Every migration, in the order it runs.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let all: [Box<dyn MigrationTrait>; 18] = [
            Box::new(m20261125_000001_registry_core::Migration),
            Box::new(m20261126_000001_access_tokens::Migration),
            Box::new(m20261127_000001_asset_spatial_key::Migration),
            Box::new(m20261128_000001_rights_and_credit::Migration),
            Box::new(m20261129_000001_listing_indexes::Migration),
            Box::new(m20261207_000001_shareholdings::Migration),
            Box::new(m20261207_000002_share_pledges::Migration),
            Box::new(m20261207_000003_targets::Migration),
            Box::new(m20261207_000004_asset_tally::Migration),
            Box::new(m20261207_000005_boundary_version::Migration),
            Box::new(m20261207_000006_event_log::Migration),
            Box::new(m20261207_000007_token_write_position::Migration),
            Box::new(m20261208_000001_import_job::Migration),
            Box::new(m20261208_000002_change_log::Migration),
            Box::new(m20261208_000003_office_copy::Migration),
            Box::new(m20261208_000004_table_versions::Migration),
            Box::new(m20261208_000005_updated_at_index::Migration),
            Box::new(m20261208_000006_register_feed::Migration),
        ];
        all.into_iter().map(atomic).collect()
    }
}

/// `migration`, run in a transaction on every engine.
pub fn atomic(migration: Box<dyn MigrationTrait>) -> Box<dyn MigrationTrait> {
    Box::new(Atomic(migration))
}

struct Atomic(Box<dyn MigrationTrait>);

impl MigrationName for Atomic {
    fn name(&self) -> &str {
        self.0.name()
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Atomic {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        self.0.up(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        self.0.down(manager).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
