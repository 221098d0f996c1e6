//! Access tokens: bearer tokens with a role and a scope, stored only as a hash of the secret.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AccessToken {
    Table,
    Id,
    Label,
    Role,
    TownshipId,
    BankCode,
    SecretHash,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Township {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AccessToken::Table)
                    .col(big_pk_auto(AccessToken::Id))
                    .col(string(AccessToken::Label))
                    .col(string_len(AccessToken::Role, 16))
                    .col(big_integer_null(AccessToken::TownshipId))
                    .col(string_len_null(AccessToken::BankCode, 32))
                    .col(string_len_uniq(AccessToken::SecretHash, 64))
                    .col(timestamp_with_time_zone(AccessToken::CreatedAt))
                    .col(timestamp_with_time_zone_null(AccessToken::LastUsedAt))
                    .col(timestamp_with_time_zone_null(AccessToken::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AccessToken::Table, AccessToken::TownshipId)
                            .to(Township::Table, Township::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AccessToken::Table).to_owned())
            .await
    }
}
