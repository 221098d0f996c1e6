//! Where a token last wrote, as a position in PostgreSQL's write-ahead log: with a read replica
//! (`DATABASE_READ_URL`), a token's queries go to the replica only once it has replayed that
//! far, so a caller always reads its own writes. (SQLite has no replicas; the column stays
//! empty there.)

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AccessToken {
    Table,
    WritePosition,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AccessToken::Table)
                    .add_column(
                        ColumnDef::new(AccessToken::WritePosition)
                            .string_len(32)
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AccessToken::Table)
                    .drop_column(AccessToken::WritePosition)
                    .to_owned(),
            )
            .await
    }
}
