//! Importing files through the API (导入), for the district office.

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject, Upload};
use chrono::{DateTime, Utc};

use crate::domain::datum::Crs;
use crate::error::AppError;
use crate::graphql::common::context::{
    SharedLocator, audit_actor, caller, db_conn, reload_locator, today,
};
use crate::graphql::common::ids::{self, Kind as IdKind};
use crate::graphql::common::paging::MAX_PAGE;
use crate::services::import::jobs::{ImportJobs, Job, JobReport, JobStatus, Submission};
use crate::services::import::{Encoding, Kind, Mode};

/// What a file holds (导入内容).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    /// Townships and their boundaries (乡镇), for the district office.
    Townships,
    /// Villages (村), for the district office.
    Villages,
    /// Parties (权利人): households, collectives, cooperatives, enterprises.
    Parties,
    /// Idle assets (闲置资产), with the columns `export assets` writes.
    Assets,
    /// Revitalization records (盘活利用).
    Revitalizations,
    /// Collective economic organisations (农村集体经济组织), one row an organisation.
    Organizations,
    /// Share classes (股种) of the organisations, one row a class.
    ShareClasses,
    /// Members of collective economic organisations (集体经济组织成员名册).
    Members,
    /// Share holdings issued on reform (股权配置), one row a holding.
    Holdings,
    /// Targets (目标任务): the district office's for any scope, a cadre's for its villages.
    Targets,
}

impl From<Kind> for ImportKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Townships => ImportKind::Townships,
            Kind::Villages => ImportKind::Villages,
            Kind::Parties => ImportKind::Parties,
            Kind::Assets => ImportKind::Assets,
            Kind::Revitalizations => ImportKind::Revitalizations,
            Kind::Organizations => ImportKind::Organizations,
            Kind::ShareClasses => ImportKind::ShareClasses,
            Kind::Members => ImportKind::Members,
            Kind::Holdings => ImportKind::Holdings,
            Kind::Targets => ImportKind::Targets,
        }
    }
}

impl From<ImportKind> for Kind {
    fn from(kind: ImportKind) -> Self {
        match kind {
            ImportKind::Townships => Kind::Townships,
            ImportKind::Villages => Kind::Villages,
            ImportKind::Parties => Kind::Parties,
            ImportKind::Assets => Kind::Assets,
            ImportKind::Revitalizations => Kind::Revitalizations,
            ImportKind::Organizations => Kind::Organizations,
            ImportKind::ShareClasses => Kind::ShareClasses,
            ImportKind::Members => Kind::Members,
            ImportKind::Holdings => Kind::Holdings,
            ImportKind::Targets => Kind::Targets,
        }
    }
}

/// The text encoding of an uploaded file (编码).
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportEncoding {
    /// UTF-8 when the bytes are UTF-8, else GB18030 (自动识别).
    #[default]
    Auto,
    /// UTF-8, with or without a byte-order mark.
    Utf8,
    /// GB18030, as Chinese Excel saves CSV.
    Gb18030,
}

/// A refused row (错误行).
#[derive(SimpleObject)]
pub struct ImportRowError {
    /// Line in the file; 1 is the header (行号).
    pub row: i32,
    /// Column (列).
    pub column: String,
    /// The value found (值).
    pub value: String,
    /// Error code, as GraphQL errors have (错误代码).
    pub code: String,
    /// What to fix (说明).
    pub message: String,
}

/// What an import did (导入结果).
#[derive(SimpleObject)]
pub struct ImportReport {
    /// Data rows read (行数).
    pub rows: i32,
    /// Inserted (新增).
    pub inserted: i32,
    /// Updated (更新).
    pub updated: i32,
    /// Stored already exactly as the row says, under `upsert`: nothing to write (未变).
    pub unchanged: i32,
    /// Whether anything was written (已写入).
    pub written: bool,
    /// SHA-256 of the file (校验值).
    pub checksum: String,
    /// Every refused row (错误).
    pub errors: Vec<ImportRowError>,
    /// The header and the refused rows with their reasons, as CSV to fix and upload again.
    pub rejected_csv: String,
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl From<JobReport> for ImportReport {
    fn from(report: JobReport) -> Self {
        Self {
            rows: count(report.rows),
            inserted: count(report.inserted),
            updated: count(report.updated),
            unchanged: count(report.unchanged),
            written: report.written,
            checksum: report.checksum,
            rejected_csv: report.rejected_csv,
            errors: report
                .errors
                .into_iter()
                .map(|e| ImportRowError {
                    row: count(e.row),
                    column: e.column,
                    value: e.value,
                    code: e.code,
                    message: e.message,
                })
                .collect(),
        }
    }
}

/// Why an import job failed (失败原因).
#[derive(SimpleObject)]
pub struct ImportJobError {
    /// Error code: `INTERRUPTED` when the server stopped before the import ended, else a code
    /// as GraphQL errors carry (错误代码).
    pub code: String,
    /// What happened (说明).
    pub message: String,
}

/// An import job (导入任务): a file `importFile` took, imported in the background. Ask for it
/// again with `importJob(id:)` until `status` has ended; then `report` says what was written.
pub struct ImportJob(pub Job);

/// An import job (导入任务): a file being imported in the background, and its report at the end.
#[Object]
impl ImportJob {
    /// Global ID; ask `importJob(id:)` for it (任务编号).
    pub async fn id(&self) -> ID {
        IdKind::ImportJob.id(self.0.id)
    }

    /// What the file holds (导入内容).
    async fn kind(&self) -> ImportKind {
        self.0.kind.into()
    }

    /// The uploaded file's name (文件名).
    async fn file_name(&self) -> &str {
        &self.0.file_name
    }

    /// Where it stands (状态): `QUEUED`, `RUNNING`, then `WRITTEN`, `REFUSED` or `FAILED`.
    async fn status(&self) -> JobStatus {
        self.0.status
    }

    /// Whether the good rows are written when others are refused (部分导入).
    async fn partial(&self) -> bool {
        self.0.options.partial
    }

    /// Whether existing records are updated (更新已有).
    async fn upsert(&self) -> bool {
        self.0.options.upsert
    }

    /// Rows read and checked so far (已处理行数).
    async fn rows_done(&self) -> i32 {
        count(self.0.rows_done)
    }

    /// Rows expected, counted from the file's lines while it runs (a GeoJSON file may hold
    /// several features a line, or one on many); once ended, the rows read (预计行数).
    async fn rows_total(&self) -> i32 {
        count(self.0.rows_total)
    }

    /// When the file was taken (提交时间).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When its import began (开始时间).
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }

    /// When it ended (结束时间).
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }

    /// What the import did, once `WRITTEN` or `REFUSED` (导入结果).
    async fn report(&self) -> Option<ImportReport> {
        self.0.report.clone().map(ImportReport::from)
    }

    /// Why it failed, when `FAILED` (失败原因).
    async fn error(&self) -> Option<ImportJobError> {
        self.0.error.clone().map(|e| ImportJobError {
            code: e.code,
            message: e.message,
        })
    }
}

#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Imports a CSV or GeoJSON file (导入文件), as `rural-registry import` does: all or
    /// nothing unless `partial`; a CADRE's rows must lie in its township, and only the district
    /// office imports townships and villages. Sent as a multipart request. Answered at once
    /// with a job, imported in the background: ask `importJob(id:)` how it goes and, at its
    /// end, for its report.
    #[expect(
        clippy::too_many_arguments,
        reason = "each parameter is a GraphQL argument of the field"
    )]
    async fn import_file(
        &self,
        ctx: &Context<'_>,
        kind: ImportKind,
        file: Upload,
        #[graphql(default)] partial: bool,
        #[graphql(default)] upsert: bool,
        #[graphql(default)] encoding: ImportEncoding,
        #[graphql(default)] crs: Crs,
    ) -> Result<ImportJob> {
        let who = caller(ctx);
        let only_township = who.import_scope().map_err(AppError::from)?;
        let actor = who.actor("importing a file").map_err(AppError::from)?;
        let boundaries = matches!(kind, ImportKind::Townships | ImportKind::Villages);
        if boundaries {
            who.may_administer("importing townships and villages")
                .map_err(AppError::from)?;
        }
        let upload = file
            .value(ctx)
            .map_err(|e| AppError::bad_input(format!("the upload cannot be read: {e}")))?;
        let mode = Mode {
            partial,
            upsert,
            encoding: match encoding {
                ImportEncoding::Auto => Encoding::Auto,
                ImportEncoding::Utf8 => Encoding::Utf8,
                ImportEncoding::Gb18030 => Encoding::Gb18030,
            },
            only_township,
            crs,
            bulk: false,
        };
        // Boundaries imported: this instance places by them at once (others reload when they
        // next place, seeing the boundary version move).
        let on_written = if boundaries {
            let db = db_conn(ctx)?.clone();
            let shared = ctx.data::<SharedLocator>()?.clone();
            let hook: Box<dyn FnOnce() -> futures_util::future::BoxFuture<'static, ()> + Send> =
                Box::new(move || {
                    Box::pin(async move {
                        if let Err(e) = reload_locator(&db, &shared).await {
                            tracing::warn!(error = ?e, "reloading the locator");
                        }
                    })
                });
            Some(hook)
        } else {
            None
        };
        let job = ctx
            .data::<ImportJobs>()?
            .submit(Submission {
                kind: kind.into(),
                file_name: upload.filename.clone(),
                content: upload.content.to_vec(),
                mode,
                actor: audit_actor(actor),
                token_id: actor.token_id,
                today: today(),
                on_written,
            })
            .await?;
        Ok(ImportJob(job))
    }
}

#[derive(Default)]
pub struct ImportQuery;

#[Object]
impl ImportQuery {
    /// An import job by its ID (导入任务): the caller's own, or anyone's for the district
    /// office; null when there is no such job for the caller.
    async fn import_job(&self, ctx: &Context<'_>, id: ID) -> Result<Option<ImportJob>> {
        node(ctx, ids::decode_as(&id, IdKind::ImportJob)?).await
    }

    /// The newest import jobs, newest first (最近的导入任务): the caller's own, or everyone's
    /// for the district office.
    async fn import_jobs(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> Result<Vec<ImportJob>> {
        if !(1..=MAX_PAGE).contains(&first) {
            return Err(AppError::bad_input(format!(
                "`first` must be between 1 and {MAX_PAGE}, not {first}"
            ))
            .into());
        }
        let only = caller(ctx).import_jobs_scope().map_err(AppError::from)?;
        let jobs = ctx
            .data::<ImportJobs>()?
            .newest(db_conn(ctx)?, only, first.unsigned_abs().into())
            .await?;
        Ok(jobs.into_iter().map(ImportJob).collect())
    }
}

/// An import job by its number, if the caller may see it (`Node`, `importJob`).
pub(crate) async fn node(ctx: &Context<'_>, id: i64) -> Result<Option<ImportJob>> {
    let only = caller(ctx).import_jobs_scope().map_err(AppError::from)?;
    let job = ctx.data::<ImportJobs>()?.find(db_conn(ctx)?, id).await?;
    Ok(job
        .filter(|j| only.is_none_or(|token| j.token_id == token))
        .map(ImportJob))
}
