//! Data in: a township's files of townships, villages, parties, idle assets, revitalizations,
//! collective members or share holdings,
//! as CSV or a GeoJSON FeatureCollection, checked row by row with the same domain validation
//! as the mutations and written in one transaction. By default nothing is written when any row
//! fails; `partial` writes the good rows. Every failing row is reported with its row number,
//! column, value, code and message.
//!
//! The file is read twice and never held whole: once for its checksum and encoding, once to
//! import it, a batch of rows at a time. Rows are read and checked on a thread of their own
//! while the previous batch is written, so that memory stays bounded by a few batches
//! whatever the file's size.
//!
//! Columns are matched by header name, in English (as `export` writes them) or Chinese (经度,
//! 纬度, …); a GeoJSON feature's properties are matched the same way, and its geometry fills
//! the kind's geometry column. The file may be UTF-8, with or without a byte-order mark, or
//! GB18030, which Chinese Excel writes; the encoding is detected unless given.

mod assets;
pub mod jobs;
mod parties;
mod places;
mod revitalization;
mod shares;
mod source;
mod targets;

use std::collections::HashMap;
use std::future::Future;
use std::io::{Read, Seek};

use chrono::NaiveDate;
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use serde::Serialize;

use crate::db::{self, StoreError, StoreResult};
use crate::domain::datum::Crs;
pub use crate::services::export::Kind;
pub use source::Encoding;
use source::{Column, Row, Source};

/// Rows read, checked and written together.
const BATCH: usize = 1_000;

/// What an import may do.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mode {
    /// Write the good rows even when others fail.
    pub partial: bool,
    /// Update the records whose natural key exists, instead of reporting the row.
    pub upsert: bool,
    pub encoding: Encoding,
    /// Only records in this township (a cadre's import).
    pub only_township: Option<i64>,
    /// The datum of the file's coordinates; stored as WGS84.
    pub crs: Crs,
    /// A bulk load of assets (`rural-registry import --bulk`): the asset table's secondary
    /// indexes, foreign keys and row triggers are set aside for the load and built again at its
    /// end, in its transaction. Faster for a large file, but it locks the table against
    /// readers as well as writers until it commits; never used by the API's imports.
    pub bulk: bool,
}

/// One refused row (or the file itself, as row 0 or 1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowError {
    /// Row of a CSV file as a spreadsheet numbers it (1 is the header), or feature of a
    /// GeoJSON file (1 is the first).
    pub row: usize,
    pub column: String,
    pub value: String,
    pub code: &'static str,
    pub message: String,
    /// Refused only because its record is stored already (what `upsert` would change): the seed
    /// completes a partial district by importing again with `partial`.
    #[serde(skip)]
    pub exists: bool,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub rows: usize,
    pub inserted: usize,
    pub updated: usize,
    /// Stored already exactly as the row says, under `upsert`: nothing written for them.
    pub unchanged: usize,
    pub errors: Vec<RowError>,
    /// Whether anything was written.
    pub written: bool,
    /// SHA-256 of the file's bytes.
    pub checksum: String,
    /// The file's header and its refused rows, each with the reasons in a last `error`
    /// column: a file to fix and import again (the extra column is ignored on import).
    #[serde(skip)]
    pub rejected_csv: Vec<u8>,
}

impl Report {
    /// The errors as CSV (row, column, value, code, message), for a cadre to fix the file.
    pub fn errors_csv(&self) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(["row", "column", "value", "code", "message"]);
        for e in &self.errors {
            let _ = w.write_record([
                e.row.to_string(),
                e.column.clone(),
                e.value.clone(),
                e.code.to_owned(),
                e.message.clone(),
            ]);
        }
        w.into_inner().unwrap_or_default()
    }
}

/// A row an importer has written, or why not.
enum Outcome {
    Inserted,
    Updated,
    /// Stored already exactly as the row says, under `upsert`: nothing to write.
    Unchanged,
    Refused(RowError),
}

impl Outcome {
    fn refused(
        row: usize,
        column: &str,
        value: &str,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self::Refused(RowError {
            row,
            column: column.to_owned(),
            value: value.to_owned(),
            code,
            message: message.into(),
            exists: false,
        })
    }

    /// The row's record is stored already and `upsert` was not asked for.
    fn exists(row: usize, column: &str, value: &str, message: impl Into<String>) -> Self {
        let mut outcome = Self::refused(row, column, value, "CONFLICT", message);
        if let Self::Refused(e) = &mut outcome {
            e.exists = true;
        }
        outcome
    }
}

/// The check of a row on its own, against the domain rules, without the database: run on the
/// reading thread.
trait Check: Send + 'static {
    /// A row checked, ready for the database's checks.
    type Checked: Send + 'static;

    fn check(&mut self, row: &Row) -> Result<Self::Checked, RowError>;
}

/// What one kind of record needs: its columns, its check, and the writing of a batch of
/// checked rows with what only the database knows (codes taken, references, overlaps).
trait Importer: Send {
    type Check: Check;
    /// The columns of the kind's files.
    const COLUMNS: &'static [Column];
    /// The entity named in the import's audit event.
    const ENTITY: &'static str;

    /// Called first in the import's transaction.
    fn begin(&mut self, _: &DatabaseTransaction) -> impl Future<Output = StoreResult<()>> + Send {
        std::future::ready(Ok(()))
    }

    /// Called last in the import's transaction, when it is to be committed.
    fn finish(&mut self, _: &DatabaseTransaction) -> impl Future<Output = StoreResult<()>> + Send {
        std::future::ready(Ok(()))
    }

    /// Writes a batch in `txn`; one outcome per row.
    fn write(
        &mut self,
        txn: &DatabaseTransaction,
        batch: Vec<(usize, <Self::Check as Check>::Checked)>,
        mode: &Mode,
    ) -> impl Future<Output = StoreResult<Vec<(usize, Outcome)>>> + Send;
}

/// The column headers of a kind's files, as a template writes them.
pub fn columns(kind: Kind) -> Vec<&'static str> {
    let columns = match kind {
        Kind::Townships => places::TOWNSHIP_COLUMNS,
        Kind::Villages => places::VILLAGE_COLUMNS,
        Kind::Parties => parties::COLUMNS,
        Kind::Assets => assets::COLUMNS,
        Kind::Revitalizations => revitalization::COLUMNS,
        Kind::Organizations => shares::ORGANIZATION_COLUMNS,
        Kind::ShareClasses => shares::CLASS_COLUMNS,
        Kind::Members => shares::MEMBER_COLUMNS,
        Kind::Holdings => shares::HOLDING_COLUMNS,
        Kind::Targets => targets::COLUMNS,
    };
    columns.iter().map(|c| c.name).collect()
}

/// Who imports, and when.
pub struct Importing<'a> {
    pub actor: &'a db::audit::Actor,
    pub file_name: &'a str,
    pub today: NaiveDate,
    /// The import job (`jobs`) this import is, marked `WRITTEN` in the import's transaction.
    pub job: Option<i64>,
}

/// Imports a file of `kind`. `progress` hears the rows done so far and the total expected.
pub async fn run<R: Read + Seek + Send + 'static>(
    db: &DatabaseConnection,
    kind: Kind,
    input: R,
    mode: Mode,
    who: Importing<'_>,
    progress: impl FnMut(usize, usize) + Send,
) -> Result<Report, StoreError> {
    let scan = tokio::task::spawn_blocking(move || source::scan(input, mode.encoding))
        .await
        .map_err(|e| StoreError::from(sea_orm::DbErr::Custom(format!("reading the file: {e}"))))?;
    let (input, scan) = scan.map_err(|e| io_error(&e))?;
    let report = Report {
        checksum: scan.checksum.clone(),
        ..Report::default()
    };
    let encoding = match scan.encoding {
        Ok(e) => e,
        Err(e) => {
            return Ok(Report {
                errors: vec![e],
                ..report
            });
        }
    };
    let source = move || Source::open(input, encoding, mode.crs);
    let lines = scan.lines;
    let outcome = match kind {
        Kind::Townships => {
            let i = places::Townships::new(db, &who).await?;
            drive(db, i, source, mode, &who, lines, report, progress).await
        }
        Kind::Villages => {
            let i = places::Villages::new(db, &who).await?;
            drive(db, i, source, mode, &who, lines, report, progress).await
        }
        Kind::Parties => {
            let i = parties::Parties::new(db, mode).await?;
            drive(db, i, source, mode, &who, lines, report, progress).await
        }
        Kind::Assets => {
            let i = assets::Assets::new(db, mode, who.today).await?;
            drive(db, i, source, mode, &who, lines, report, progress).await
        }
        Kind::Revitalizations => {
            let i = revitalization::Revitalizations::new(db, mode).await?;
            drive(db, i, source, mode, &who, lines, report, progress).await
        }
        Kind::Organizations => {
            let i = shares::OrganizationRows::new(&who);
            drive(db, i, source, mode, &who, lines, report, progress).await
        }
        Kind::ShareClasses => {
            let i = shares::ClassRows::new(&who);
            drive(db, i, source, mode, &who, lines, report, progress).await
        }
        Kind::Members => {
            let i = shares::Members::new(&who);
            drive(db, i, source, mode, &who, lines, report, progress).await
        }
        Kind::Holdings => {
            let i = shares::Holdings::new(&who);
            drive(db, i, source, mode, &who, lines, report, progress).await
        }
        Kind::Targets => {
            let i = targets::Targets::new(&who);
            drive(db, i, source, mode, &who, lines, report, progress).await
        }
    }?;
    // Assets written or moved by boundaries: on PostgreSQL their tally changes were appended as
    // rows a batch; fold them now rather than leave them to the server.
    if matches!(kind, Kind::Assets | Kind::Townships | Kind::Villages) {
        db::statistics::compact_tally(db).await?;
    }
    Ok(outcome)
}

fn io_error(e: &std::io::Error) -> StoreError {
    StoreError::from(sea_orm::DbErr::Custom(format!("reading the file: {e}")))
}

/// What the reading thread sends: the file's header, a refusal of the whole file, or a batch
/// of rows, each checked or refused, with its cells as read (for the file of refused rows).
enum Batch<C> {
    Header(Vec<String>),
    Refused(RowError),
    Rows(Vec<(usize, Vec<String>, Result<C, RowError>)>),
}

/// Reads and checks on a blocking thread; writes here, a batch at a time, in one transaction.
#[expect(
    clippy::too_many_arguments,
    reason = "the import's parts, each consumed by a different stage: reader thread, writer, report, progress"
)]
async fn drive<I: Importer, R: Read + Send + 'static>(
    db: &DatabaseConnection,
    (mut importer, mut checker): (I, I::Check),
    open: impl FnOnce() -> Source<R> + Send + 'static,
    mode: Mode,
    who: &Importing<'_>,
    lines: usize,
    mut report: Report,
    mut progress: impl FnMut(usize, usize) + Send,
) -> Result<Report, StoreError> {
    type Checked<I> = <<I as Importer>::Check as Check>::Checked;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch<Checked<I>>>(2);
    let reader = tokio::task::spawn_blocking(move || {
        let mut source = open();
        match source.header(I::COLUMNS) {
            Ok(h) => {
                if tx.blocking_send(Batch::Header(h)).is_err() {
                    return;
                }
            }
            Err(errors) => {
                for e in errors {
                    let _ = tx.blocking_send(Batch::Refused(e));
                }
                return;
            }
        }
        let mut batch = Vec::with_capacity(BATCH);
        while let Some(next) = source.next_row(I::COLUMNS) {
            match next {
                Ok(row) => {
                    let checked = checker.check(&row);
                    batch.push((row.line, row.raw, checked));
                }
                Err(e) => batch.push((e.row, Vec::new(), Err(e))),
            }
            if batch.len() == BATCH
                && tx
                    .blocking_send(Batch::Rows(std::mem::take(&mut batch)))
                    .is_err()
            {
                return;
            }
        }
        if !batch.is_empty() {
            let _ = tx.blocking_send(Batch::Rows(batch));
        }
    });

    let txn = db::begin_write(db).await?;
    importer.begin(&txn).await?;
    let mut rejected = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    let refuse = |report: &mut Report,
                  rejected: &mut csv::Writer<Vec<u8>>,
                  raw: Option<&Vec<String>>,
                  e: RowError| {
        if let Some(raw) = raw.filter(|r| !r.is_empty()) {
            let mut cells = raw.clone();
            cells.push(format!("{} {}: {}", e.code, e.column, e.message));
            // Writing to a Vec cannot fail.
            let _ = rejected.write_record(&cells);
        }
        report.errors.push(e);
    };
    let mut file_refused = false;
    while let Some(batch) = rx.recv().await {
        match batch {
            Batch::Header(mut h) => {
                h.push("error".into());
                let _ = rejected.write_record(&h);
            }
            Batch::Refused(e) => {
                file_refused = true;
                report.errors.push(e);
            }
            Batch::Rows(rows) => {
                report.rows += rows.len();
                let mut good = Vec::with_capacity(rows.len());
                let mut raws = HashMap::with_capacity(rows.len());
                for (line, raw, checked) in rows {
                    match checked {
                        Ok(c) => {
                            good.push((line, c));
                            raws.insert(line, raw);
                        }
                        Err(e) => refuse(&mut report, &mut rejected, Some(&raw), e),
                    }
                }
                if !good.is_empty() {
                    for (line, outcome) in importer.write(&txn, good, &mode).await? {
                        match outcome {
                            Outcome::Inserted => report.inserted += 1,
                            Outcome::Updated => report.updated += 1,
                            Outcome::Unchanged => report.unchanged += 1,
                            Outcome::Refused(e) => {
                                refuse(&mut report, &mut rejected, raws.get(&line), e)
                            }
                        }
                    }
                }
                progress(report.rows, lines);
            }
        }
    }
    reader.await.map_err(|e| {
        StoreError::from(sea_orm::DbErr::Custom(format!(
            "reading the file failed: {e}"
        )))
    })?;
    report.errors.sort_by_key(|e| e.row);
    report.rejected_csv = rejected.into_inner().unwrap_or_default();
    let written = report.inserted + report.updated;
    if file_refused || (!report.errors.is_empty() && !mode.partial) || written == 0 {
        report.inserted = 0;
        report.updated = 0;
        txn.rollback().await?;
        return Ok(report);
    }
    let event = serde_json::json!({
        "file": who.file_name, "checksum": report.checksum, "rows": report.rows,
        "inserted": report.inserted, "updated": report.updated,
        "rejected": report.errors.len(), "partial": mode.partial,
    });
    let change = db::audit::Change {
        action: "import",
        entity: I::ENTITY,
        entity_id: None,
        before: None,
        after: Some(event),
        request_id: None,
    };
    db::audit::record(&txn, who.actor, change).await?;
    importer.finish(&txn).await?;
    report.written = true;
    if let Some(job) = who.job {
        jobs::mark_written(&txn, job, &report).await?;
    }
    txn.commit().await?;
    Ok(report)
}
