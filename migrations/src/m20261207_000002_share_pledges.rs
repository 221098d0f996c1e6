//! Collective shares as collateral (股权质押): a property right of kind COLLECTIVE_SHARE sits on
//! a share holding instead of an asset. One right per holding.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PropertyRight {
    Table,
    HoldingId,
}

const ONE_RIGHT_PER_HOLDING: &str = "ux_property_right_holding";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SeaQuery's ALTER TABLE cannot add a foreign key on SQLite; this statement is the same
        // on both engines.
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE property_right ADD COLUMN holding_id BIGINT REFERENCES share_holding (id)",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(ONE_RIGHT_PER_HOLDING)
                    .table(PropertyRight::Table)
                    .col(PropertyRight::HoldingId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(ONE_RIGHT_PER_HOLDING)
                    .table(PropertyRight::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(PropertyRight::Table)
                    .drop_column(PropertyRight::HoldingId)
                    .to_owned(),
            )
            .await
    }
}
