//! Targets (目标任务): the year's goals of the district, a township or a village, one per
//! scope, year and measure.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Target {
    Table,
    Id,
    /// `DISTRICT`, `T<township id>` or `V<village id>`: one key per scope, so that the unique
    /// index holds on both engines (NULLs are distinct in a unique index).
    ScopeKey,
    TownshipId,
    VillageId,
    Year,
    Measure,
    Value,
    Note,
    SetBy,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Township {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Village {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Target::Table)
                    .col(big_pk_auto(Target::Id))
                    .col(string_len(Target::ScopeKey, 24))
                    .col(big_integer_null(Target::TownshipId))
                    .col(big_integer_null(Target::VillageId))
                    .col(integer(Target::Year))
                    .col(string_len(Target::Measure, 40))
                    .col(double(Target::Value))
                    .col(string_null(Target::Note))
                    .col(string(Target::SetBy))
                    .col(integer(Target::Version).default(1))
                    .col(timestamp_with_time_zone(Target::CreatedAt))
                    .col(timestamp_with_time_zone(Target::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Target::Table, Target::TownshipId)
                            .to(Township::Table, Township::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Target::Table, Target::VillageId)
                            .to(Village::Table, Village::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_target_scope_year_measure")
                    .table(Target::Table)
                    .col(Target::ScopeKey)
                    .col(Target::Year)
                    .col(Target::Measure)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_target_year")
                    .table(Target::Table)
                    .col(Target::Year)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Target::Table).to_owned())
            .await
    }
}
