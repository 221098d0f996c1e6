//! The spatial key of idle assets: a Hilbert-curve cell of the location, in a B-tree index that
//! also carries the coordinates, so that a box query reads only the index on either engine.
//!
//! The key is computed in Rust (`rural_registry::domain::spatial_key`), not in SQL: the column is
//! added nullable and the server fills it for rows that have none right after migrating.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IdleAsset {
    Table,
    Id,
    Cell,
    Lon,
    Lat,
}

const INDEX: &str = "idx_idle_asset_cell";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(IdleAsset::Table)
                    .add_column(big_integer_null(IdleAsset::Cell))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(IdleAsset::Table)
                    .col(IdleAsset::Cell)
                    .col(IdleAsset::Lon)
                    .col(IdleAsset::Lat)
                    .col(IdleAsset::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(IdleAsset::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(IdleAsset::Table)
                    .drop_column(IdleAsset::Cell)
                    .to_owned(),
            )
            .await
    }
}
