//! Imports as jobs (导入任务): a file uploaded through the API is imported in the background,
//! not inside the request and its time limit. The upload is answered at once with a job; the
//! job's row in the database (`db::import_jobs`) says where it stands, so any instance answers
//! for it.
//!
//! - One import runs at a time on an instance; the others wait their turn, `QUEUED`.
//! - A job's import is the import `rural-registry import` runs, without its `--bulk` mode: it
//!   never drops an index or constraint of a table others are reading.
//! - A written job is marked `WRITTEN`, with its report, in the import's own transaction: the
//!   rows and the word that they are there commit together. A refused or failed one is marked
//!   after its transaction was rolled back.
//! - While it runs, the instance running it writes its rows done and a heartbeat every
//!   [`HEARTBEAT`] on PostgreSQL (on SQLite the import holds the only write lock, so its
//!   progress stays in the instance's memory, and there is only one instance). A job whose
//!   instance died is reported `FAILED`: on PostgreSQL once its heartbeat is [`STALE`], on
//!   SQLite at once, as no other instance can be running it.
//! - When the server stops, queued jobs are marked `FAILED`; running ones have the stop's grace
//!   period to end, after which the process exits and they are reported as above.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::future::BoxFuture;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::{Deserialize, Serialize};

use super::{Importing, Kind, Mode, Report};
use crate::db::entities::import_job;
use crate::db::import_jobs::{self, Beat, Ended, NewJob};
use crate::db::{self, Engine, StoreResult};
use crate::domain::code_enum;
use crate::error::AppError;
use crate::metrics::Metrics;

/// How often the instance running a job says so, on PostgreSQL.
pub const HEARTBEAT: Duration = Duration::from_secs(2);

/// How long a queued or running job may go unheard of before it is taken for dead.
pub const STALE: Duration = Duration::from_secs(30);

/// How long an ended job is kept, with its report.
const KEEP: chrono::Duration = chrono::Duration::days(30);

code_enum! {
    /// Where an import job stands (导入任务状态).
    pub enum JobStatus {
        /// Waiting for the import before it on the same server (排队中).
        Queued = "QUEUED",
        /// Reading, checking and writing rows (导入中).
        Running = "RUNNING",
        /// Ended, and its good rows are written: the report says which (已写入).
        Written = "WRITTEN",
        /// Ended with nothing written: rows were refused, or none were good (未写入).
        Refused = "REFUSED",
        /// Stopped by an error, or by the server stopping; nothing was written (失败).
        Failed = "FAILED",
    }
}

impl JobStatus {
    /// Whether the job has ended.
    pub fn ended(self) -> bool {
        matches!(self, Self::Written | Self::Refused | Self::Failed)
    }
}

/// A refused row, as a job's report keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRowError {
    pub row: usize,
    pub column: String,
    pub value: String,
    pub code: String,
    pub message: String,
}

/// What an import did, as its job keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobReport {
    pub rows: usize,
    pub inserted: usize,
    pub updated: usize,
    /// Rows stored already as they say (`upsert`); absent from reports written before it.
    #[serde(default)]
    pub unchanged: usize,
    pub written: bool,
    pub checksum: String,
    pub errors: Vec<JobRowError>,
    /// The header and the refused rows with their reasons, as CSV.
    pub rejected_csv: String,
}

impl From<&Report> for JobReport {
    fn from(r: &Report) -> Self {
        Self {
            rows: r.rows,
            inserted: r.inserted,
            updated: r.updated,
            unchanged: r.unchanged,
            written: r.written,
            checksum: r.checksum.clone(),
            errors: r
                .errors
                .iter()
                .map(|e| JobRowError {
                    row: e.row,
                    column: e.column.clone(),
                    value: e.value.clone(),
                    code: e.code.to_owned(),
                    message: e.message.clone(),
                })
                .collect(),
            rejected_csv: String::from_utf8_lossy(&r.rejected_csv).into_owned(),
        }
    }
}

/// Why a job failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobError {
    /// An error code, as GraphQL errors carry.
    pub code: String,
    pub message: String,
}

/// The options a job was started with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobOptions {
    pub partial: bool,
    pub upsert: bool,
}

/// A job as its caller sees it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub kind: Kind,
    pub file_name: String,
    pub status: JobStatus,
    pub options: JobOptions,
    /// The token that started it.
    pub token_id: i64,
    pub rows_done: usize,
    /// Rows expected, from the file's lines; the rows read once it has ended.
    pub rows_total: usize,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub report: Option<JobReport>,
    pub error: Option<JobError>,
}

/// A file to import.
pub struct Submission {
    pub kind: Kind,
    pub file_name: String,
    pub content: Vec<u8>,
    pub mode: Mode,
    pub actor: db::audit::Actor,
    pub token_id: i64,
    pub today: NaiveDate,
    /// Run once the job's rows are written (and seen by this instance's next request).
    pub on_written: Option<Box<dyn FnOnce() -> BoxFuture<'static, ()> + Send>>,
}

/// A job queued or running on this instance.
#[derive(Default)]
struct Live {
    running: AtomicBool,
    rows_done: AtomicUsize,
    rows_total: AtomicUsize,
}

impl Live {
    fn beat(&self, id: i64) -> Beat {
        let count = |n: &AtomicUsize| i64::try_from(n.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
        Beat {
            id,
            rows_done: count(&self.rows_done),
            rows_total: count(&self.rows_total),
        }
    }
}

/// The instance's import jobs: cheap to clone, one per process.
#[derive(Clone)]
pub struct ImportJobs(Arc<Inner>);

struct Inner {
    db: DatabaseConnection,
    engine: Engine,
    metrics: Option<Metrics>,
    live: Mutex<HashMap<i64, Arc<Live>>>,
    /// One import at a time on this instance.
    turn: tokio::sync::Semaphore,
    /// Set when the server stops: no job starts after it.
    stopping: AtomicBool,
    /// Told when a job ends on this instance.
    ended: tokio::sync::Notify,
}

impl ImportJobs {
    /// The jobs of an instance writing through `db`; on PostgreSQL a task says every
    /// [`HEARTBEAT`] that this instance's jobs are alive.
    pub fn start(db: DatabaseConnection, metrics: Option<Metrics>) -> Self {
        let engine = match db.get_database_backend() {
            sea_orm::DbBackend::Sqlite => Engine::Sqlite,
            _ => Engine::Postgres,
        };
        let jobs = Self(Arc::new(Inner {
            db,
            engine,
            metrics,
            live: Mutex::default(),
            turn: tokio::sync::Semaphore::new(1),
            stopping: AtomicBool::new(false),
            ended: tokio::sync::Notify::new(),
        }));
        if engine == Engine::Postgres {
            let weak = Arc::downgrade(&jobs.0);
            tokio::spawn(async move {
                let mut every = tokio::time::interval(HEARTBEAT);
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    every.tick().await;
                    let Some(inner) = weak.upgrade() else { return };
                    let beats = inner.beats();
                    if beats.is_empty() {
                        continue;
                    }
                    if let Err(error) = import_jobs::heartbeat(&inner.db, &beats, Utc::now()).await
                    {
                        tracing::warn!(?error, "the import jobs' heartbeat failed");
                    }
                }
            });
        }
        jobs
    }

    /// Queues a file: the job is answered at once, and imported in the background.
    pub async fn submit(&self, submission: Submission) -> StoreResult<Job> {
        let inner = &self.0;
        let now = Utc::now();
        if let Err(error) = import_jobs::prune(&inner.db, now - KEEP).await {
            tracing::warn!(?error, "pruning old import jobs");
        }
        let options = JobOptions {
            partial: submission.mode.partial,
            upsert: submission.mode.upsert,
        };
        let row = import_jobs::create(
            &inner.db,
            NewJob {
                kind: submission.kind.name(),
                file_name: &submission.file_name,
                options: serde_json::to_string(&options).unwrap_or_default(),
                token_id: submission.token_id,
                township_id: submission.mode.only_township,
            },
            now,
        )
        .await?;
        let live = Arc::new(Live::default());
        inner.lock_live().insert(row.id, live.clone());
        let id = row.id;
        tokio::spawn({
            let inner = self.0.clone();
            async move { inner.run(id, live, submission).await }
        });
        Ok(self.view(row))
    }

    /// A job by id, read through `conn` (the replica, when the caller's writes are there).
    pub async fn find(&self, conn: &impl ConnectionTrait, id: i64) -> StoreResult<Option<Job>> {
        Ok(import_jobs::find(conn, id).await?.map(|row| self.view(row)))
    }

    /// The newest jobs, of one token or of all.
    pub async fn newest(
        &self,
        conn: &impl ConnectionTrait,
        token_id: Option<i64>,
        limit: u64,
    ) -> StoreResult<Vec<Job>> {
        Ok(import_jobs::newest(conn, token_id, limit)
            .await?
            .into_iter()
            .map(|row| self.view(row))
            .collect())
    }

    /// Stops taking jobs: the queued ones are marked `FAILED`; the running one is waited for,
    /// up to `grace`. Says whether every job of this instance ended.
    pub async fn stop(&self, grace: Duration) -> bool {
        let inner = &self.0;
        inner.stopping.store(true, Ordering::SeqCst);
        // Wakes the queued jobs: each sees `stopping` and fails itself.
        inner.turn.close();
        tokio::time::timeout(grace, async {
            loop {
                let ended = inner.ended.notified();
                if inner.lock_live().is_empty() {
                    return;
                }
                ended.await;
            }
        })
        .await
        .is_ok()
    }

    /// A stored job as it stands: with this instance's progress if it runs here, and `FAILED`
    /// if it was queued or running on an instance that died.
    fn view(&self, row: import_job::Model) -> Job {
        let status = JobStatus::parse(&row.status).unwrap_or(JobStatus::Failed);
        let options: JobOptions = serde_json::from_str(&row.options).unwrap_or(JobOptions {
            partial: false,
            upsert: false,
        });
        let count = |n: i64| usize::try_from(n).unwrap_or(0);
        let mut job = Job {
            id: row.id,
            kind: Kind::parse(&row.kind).unwrap_or(Kind::Assets),
            file_name: row.file_name,
            status,
            options,
            token_id: row.token_id,
            rows_done: count(row.rows_done),
            rows_total: count(row.rows_total),
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
            report: row.report.and_then(|r| serde_json::from_str(&r).ok()),
            error: row.error.and_then(|e| serde_json::from_str(&e).ok()),
        };
        if status.ended() {
            return job;
        }
        let live = self.0.lock_live().get(&row.id).cloned();
        match live {
            Some(live) => {
                if live.running.load(Ordering::Relaxed) {
                    job.status = JobStatus::Running;
                }
                job.rows_done = live.rows_done.load(Ordering::Relaxed);
                job.rows_total = live.rows_total.load(Ordering::Relaxed).max(job.rows_done);
            }
            None => {
                let unheard = Utc::now() - row.heartbeat_at;
                let stale = chrono::Duration::from_std(STALE).unwrap_or(chrono::Duration::MAX);
                if self.0.engine == Engine::Sqlite || unheard > stale {
                    job.status = JobStatus::Failed;
                    job.error = Some(interrupted());
                }
            }
        }
        job
    }
}

/// The error of a job whose server stopped before it ended.
fn interrupted() -> JobError {
    JobError {
        code: "INTERRUPTED".into(),
        message: "the server running the import stopped before it ended; nothing was written: \
                  upload the file again"
            .into(),
    }
}

impl Inner {
    fn lock_live(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<Live>>> {
        // A panic while holding the map cannot leave it half-changed: every change is one call.
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn beats(&self) -> Vec<Beat> {
        self.lock_live()
            .iter()
            .map(|(id, live)| live.beat(*id))
            .collect()
    }

    async fn run(self: Arc<Self>, id: i64, live: Arc<Live>, submission: Submission) {
        let ended = match self.turn.acquire().await {
            Ok(_turn) if !self.stopping.load(Ordering::SeqCst) => {
                live.running.store(true, Ordering::Relaxed);
                self.import(id, &live, submission).await
            }
            _ => Err(JobError {
                code: "INTERRUPTED".into(),
                message: "the server stopped before the import began; nothing was written: \
                          upload the file again"
                    .into(),
            }),
        };
        if let Err(error) = ended {
            let rows_done = live.beat(id).rows_done;
            let failed = Ended {
                status: JobStatus::Failed.as_str(),
                rows_done,
                report: None,
                error: serde_json::to_string(&error).ok(),
            };
            if let Err(e) = import_jobs::finish(&self.db, id, failed, Utc::now()).await {
                tracing::error!(job = id, error = ?e, "could not record that an import job failed");
            }
        }
        self.lock_live().remove(&id);
        self.ended.notify_waiters();
    }

    /// Runs the import; records a written or refused end. A failure is for the caller to record.
    async fn import(&self, id: i64, live: &Live, s: Submission) -> Result<(), JobError> {
        let store = |e: db::StoreError| {
            let e = AppError::from(e);
            JobError {
                code: e.code().as_str().to_owned(),
                message: e.message().to_owned(),
            }
        };
        import_jobs::start(&self.db, id, Utc::now())
            .await
            .map_err(store)?;
        tracing::info!(job = id, kind = s.kind.name(), file = %s.file_name, "import job started");
        let who = Importing {
            actor: &s.actor,
            file_name: &s.file_name,
            today: s.today,
            job: Some(id),
        };
        // The import's first pass counted the file's lines: all but the header are rows.
        let progress = |done: usize, lines: usize| {
            live.rows_done.store(done, Ordering::Relaxed);
            live.rows_total
                .store(lines.saturating_sub(1).max(done), Ordering::Relaxed);
        };
        let report = super::run(
            &self.db,
            s.kind,
            Cursor::new(s.content),
            s.mode,
            who,
            progress,
        )
        .await
        .map_err(store)?;
        if let Some(metrics) = &self.metrics {
            count_rows(metrics, s.kind, &report);
        }
        if report.written {
            // The job was marked WRITTEN in the import's transaction.
            if let Err(error) = db::access::mark_write(&self.db, s.token_id).await {
                tracing::warn!(job = id, ?error, "recording the import's write position");
            }
            if let Some(hook) = s.on_written {
                hook().await;
            }
        } else {
            let refused = Ended {
                status: JobStatus::Refused.as_str(),
                rows_done: i64::try_from(report.rows).unwrap_or(i64::MAX),
                report: serde_json::to_string(&JobReport::from(&report)).ok(),
                error: None,
            };
            import_jobs::finish(&self.db, id, refused, Utc::now())
                .await
                .map_err(store)?;
        }
        tracing::info!(
            job = id,
            rows = report.rows,
            inserted = report.inserted,
            updated = report.updated,
            refused = report.errors.len(),
            written = report.written,
            "import job ended"
        );
        Ok(())
    }
}

/// Counts an import's rows in /metrics: inserted, updated, unchanged, and refused (read, not
/// written).
fn count_rows(metrics: &Metrics, kind: Kind, report: &Report) {
    let accepted = report.inserted + report.updated + report.unchanged;
    for (outcome, rows) in [
        ("inserted", report.inserted),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
        ("refused", report.rows.saturating_sub(accepted)),
    ] {
        metrics.import_rows(kind.name(), outcome, rows as u64);
    }
}

/// Marks a job `WRITTEN` with its report, in the import's transaction `txn`.
pub(super) async fn mark_written(
    txn: &impl ConnectionTrait,
    id: i64,
    report: &Report,
) -> StoreResult<()> {
    let ended = Ended {
        status: JobStatus::Written.as_str(),
        rows_done: i64::try_from(report.rows).unwrap_or(i64::MAX),
        report: serde_json::to_string(&JobReport::from(report)).ok(),
        error: None,
    };
    import_jobs::finish(txn, id, ended, Utc::now()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_know_whether_the_job_ended() {
        let ended: Vec<JobStatus> = JobStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.ended())
            .collect();
        assert_eq!(
            ended,
            [JobStatus::Written, JobStatus::Refused, JobStatus::Failed]
        );
    }
}
