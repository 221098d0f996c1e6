//! An index for a township's assets in registration order, the listing behind every township
//! page. The (township, status) index serves the counts by status but not this order: SQLite's
//! planner then read all of a township's assets through it and sorted them to return the first
//! 50 (24 ms for a township of 134,000 assets, 1 ms with this index); PostgreSQL uses it for a
//! township with few assets, where walking the primary key would pass over everyone else's.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IdleAsset {
    Table,
    Id,
    TownshipId,
}

const INDEX: &str = "idx_idle_asset_township";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(IdleAsset::Table)
                    .col(IdleAsset::TownshipId)
                    .col(IdleAsset::Id)
                    .to_owned(),
            )
            .await?;
        // SQLite plans with the statistics of ANALYZE where it has any; an index without them
        // looks to it as if each township had ten assets, and it would count a township's
        // assets by status through this index, reading every row, rather than through the
        // (township, status) index alone.
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Sqlite {
            let analyzed = db
                .query_one_raw(Statement::from_string(
                    DbBackend::Sqlite,
                    "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'",
                ))
                .await?
                .is_some();
            if analyzed {
                db.execute_unprepared(&format!("ANALYZE \"{INDEX}\""))
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(IdleAsset::Table).to_owned())
            .await
    }
}
