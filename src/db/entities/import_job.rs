//! The `import_job` table: files imported through the API in the background
//! (`services::import::jobs`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "import_job")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// What the file holds, as `services::export::Kind::name` spells it.
    pub kind: String,
    pub file_name: String,
    /// `QUEUED`, `RUNNING`, `WRITTEN`, `REFUSED` or `FAILED`.
    pub status: String,
    /// The import's options, as JSON.
    pub options: String,
    /// The token that started it.
    pub token_id: i64,
    /// The township a CADRE's import is confined to.
    pub township_id: Option<i64>,
    pub rows_done: i64,
    pub rows_total: i64,
    /// The report, as JSON, once the job has ended with one.
    pub report: Option<String>,
    /// Why the job failed.
    pub error: Option<String>,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub heartbeat_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
