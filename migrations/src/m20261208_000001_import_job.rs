//! Import jobs (导入任务): a file uploaded through `importFile` is imported in the background,
//! not inside the request, and its job row says how far it got and, at its end, what it did.
//! The row lives in the database, not in a server's memory, so that any instance answers
//! `importJob(id)`; the instance running it writes its progress and a heartbeat as it goes.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ImportJob {
    Table,
    Id,
    Kind,
    FileName,
    /// `QUEUED`, `RUNNING`, `WRITTEN`, `REFUSED` or `FAILED`.
    Status,
    /// `partial`, `upsert`, `encoding` and `crs`, as JSON.
    Options,
    /// The token that started it: it and the district office may read the job.
    TokenId,
    /// The township a CADRE's import is confined to.
    TownshipId,
    RowsDone,
    RowsTotal,
    /// The report, as JSON, once the job has ended with one.
    Report,
    /// Why a job failed.
    Error,
    CreatedAt,
    StartedAt,
    FinishedAt,
    /// Last sign of life from the instance running it: a job whose heartbeat stops has died
    /// with its instance (its transaction with it).
    HeartbeatAt,
}

#[derive(DeriveIden)]
enum AccessToken {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ImportJob::Table)
                    .col(big_pk_auto(ImportJob::Id))
                    .col(string_len(ImportJob::Kind, 32))
                    .col(string(ImportJob::FileName))
                    .col(string_len(ImportJob::Status, 16))
                    .col(text(ImportJob::Options))
                    .col(big_integer(ImportJob::TokenId))
                    .col(big_integer_null(ImportJob::TownshipId))
                    .col(big_integer(ImportJob::RowsDone).default(0))
                    .col(big_integer(ImportJob::RowsTotal).default(0))
                    .col(text_null(ImportJob::Report))
                    .col(text_null(ImportJob::Error))
                    .col(timestamp_with_time_zone(ImportJob::CreatedAt))
                    .col(timestamp_with_time_zone_null(ImportJob::StartedAt))
                    .col(timestamp_with_time_zone_null(ImportJob::FinishedAt))
                    .col(timestamp_with_time_zone(ImportJob::HeartbeatAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ImportJob::Table, ImportJob::TokenId)
                            .to(AccessToken::Table, AccessToken::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_import_job_token")
                    .table(ImportJob::Table)
                    .col(ImportJob::TokenId)
                    .col(ImportJob::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ImportJob::Table).to_owned())
            .await
    }
}
