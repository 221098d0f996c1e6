//! An office copy (`rural-registry sync`): where the copy was pulled from, how far into the
//! district's change feed it has read, and when. One row, written in the transaction that
//! completes each sync, so that a sync cut off at any point starts again from the last one that
//! completed.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SyncState {
    Table,
    Id,
    /// The district server's URL.
    Source,
    /// The feed's cursor up to which the copy holds every change.
    Cursor,
    SyncedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SyncState::Table)
                    .col(big_integer(SyncState::Id).primary_key())
                    .col(string(SyncState::Source))
                    .col(string(SyncState::Cursor))
                    .col(timestamp_with_time_zone(SyncState::SyncedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SyncState::Table).to_owned())
            .await
    }
}
