//! Importing files through the API (导入), for the district office.

use async_graphql::{Context, Enum, Object, Result, SimpleObject, Upload};

use crate::domain::datum::Crs;
use crate::error::AppError;
use crate::graphql::common::context::{caller, db_conn, today};
use crate::services::import::{self, Encoding, Importing, Kind, Mode};

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
    /// Members of collective economic organisations (集体经济组织成员名册).
    Members,
    /// Share holdings issued on reform (股权配置), one row a holding.
    Holdings,
    /// Targets (目标任务): the district office's for any scope, a cadre's for its villages.
    Targets,
}

impl From<ImportKind> for Kind {
    fn from(kind: ImportKind) -> Self {
        match kind {
            ImportKind::Townships => Kind::Townships,
            ImportKind::Villages => Kind::Villages,
            ImportKind::Parties => Kind::Parties,
            ImportKind::Assets => Kind::Assets,
            ImportKind::Revitalizations => Kind::Revitalizations,
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
    /// Whether anything was written (已写入).
    pub written: bool,
    /// SHA-256 of the file (校验值).
    pub checksum: String,
    /// Every refused row (错误).
    pub errors: Vec<ImportRowError>,
    /// The header and the refused rows with their reasons, as CSV to fix and upload again.
    pub rejected_csv: String,
}

#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Imports a CSV or GeoJSON file (导入文件), as `rural-registry import` does: all or
    /// nothing unless `partial`; a CADRE's rows must lie in its township, and only the district
    /// office imports townships and villages. Sent as a multipart request.
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
    ) -> Result<ImportReport> {
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
        let name = upload.filename.clone();
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
        };
        let audit_actor = crate::graphql::common::context::audit_actor(actor);
        let who = Importing {
            actor: &audit_actor,
            file_name: &name,
            today: today(),
        };
        let input = std::io::Cursor::new(upload.content);
        let kind: Kind = kind.into();
        let report = import::run(db_conn(ctx)?, kind, input, mode, who, |_, _| {}).await?;
        count_rows(ctx, kind, &report);
        if boundaries && report.written {
            crate::graphql::places::refresh_locator(ctx).await?;
        }
        let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        Ok(ImportReport {
            rows: count(report.rows),
            inserted: count(report.inserted),
            updated: count(report.updated),
            written: report.written,
            checksum: report.checksum.clone(),
            rejected_csv: String::from_utf8_lossy(&report.rejected_csv).into_owned(),
            errors: report
                .errors
                .into_iter()
                .map(|e| ImportRowError {
                    row: count(e.row),
                    column: e.column,
                    value: e.value,
                    code: e.code.to_owned(),
                    message: e.message,
                })
                .collect(),
        })
    }
}

/// Counts the import's rows in /metrics: inserted, updated, and refused (read, not written).
fn count_rows(ctx: &Context<'_>, kind: Kind, report: &import::Report) {
    let Some(metrics) = ctx.data_opt::<crate::metrics::Metrics>() else {
        return;
    };
    let written = report.inserted + report.updated;
    for (outcome, rows) in [
        ("inserted", report.inserted),
        ("updated", report.updated),
        ("refused", report.rows.saturating_sub(written)),
    ] {
        metrics.import_rows(kind.name(), outcome, rows as u64);
    }
}
