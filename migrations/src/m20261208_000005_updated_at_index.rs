//! An index of assets by when they last changed: `updatedSince` and OGC's `datetime` narrow a
//! million assets to the few changed lately, and a collection's temporal extent (the first and
//! last change) is read from its two ends. The other tables with an `updated_at` hold hundreds
//! or thousands of rows and are read whole.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IdleAsset {
    Table,
    UpdatedAt,
}

const INDEX: &str = "idx_idle_asset_updated_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(IdleAsset::Table)
                    .col(IdleAsset::UpdatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(IdleAsset::Table).to_owned())
            .await
    }
}
