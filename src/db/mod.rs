//! Storage: the connection, the migrations, and the queries of each concept.
//!
//! Everything engine-specific lives here (SQLite pragmas, the PostgreSQL pool); queries are
//! SeaQuery and run unchanged on both engines. Query functions take `&impl ConnectionTrait` so
//! they run on the pool or inside a transaction alike.

pub mod access;
pub mod assets;
pub mod audit;
pub mod bulk;
pub mod check;
pub mod credit;
pub mod demo_sites;
pub mod eligibility;
pub mod entities;
pub mod events;
pub mod geometry;
pub mod import_jobs;
pub mod loans;
pub mod parties;
pub mod places;
pub mod revitalization;
pub mod rights;
pub mod rows;
pub mod shares;
pub mod statistics;
pub mod sync_state;
pub mod table_versions;
pub mod targets;
mod versioned;

pub use versioned::Versioned;
pub(crate) use versioned::{update_any_version, update_versioned, updated_span, updated_within};

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::SqliteSynchronous;
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseTransaction, DbErr, EntityTrait, QueryFilter, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};

/// A storage failure. Deliberately not `Display`: it can only reach a client through the API's
/// error type, which logs it and shows an error id instead of SQL.
#[derive(Debug, Clone)]
pub struct StoreError(pub Arc<DbErr>);

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        Self(Arc::new(err))
    }
}

// For the command line, where the whole cause chain is what the operator needs.
impl From<StoreError> for anyhow::Error {
    fn from(err: StoreError) -> Self {
        anyhow::anyhow!("storage error: {}", err.0)
    }
}

/// The result of a storage call.
pub type StoreResult<T> = Result<T, StoreError>;

/// Counts the SQL statements run on a connection: for /metrics and for the test that shows a
/// request's statement count does not grow with its page size.
#[derive(Debug, Default)]
pub struct QueryCounter(AtomicU64);

impl QueryCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

tokio::task_local! {
    /// The statements of the work running under `count_statements`: one request's.
    static STATEMENTS: Arc<AtomicU64>;
}

/// Runs `work` and counts the SQL statements it runs, on any connection (besides what
/// `QueryCounter` counts): a request's statement count, for /metrics. Work it spawns counts
/// only if spawned through [`counted`].
pub async fn count_statements<F: Future>(work: F) -> (F::Output, u64) {
    let count = Arc::new(AtomicU64::new(0));
    let output = STATEMENTS.scope(count.clone(), work).await;
    (output, count.load(Ordering::Relaxed))
}

/// `work`, to be spawned, counted under the [`count_statements`] of the task that calls this
/// (a DataLoader's batch runs in a task of its own).
pub fn counted<F: Future>(work: F) -> impl Future<Output = F::Output> {
    let count = STATEMENTS.try_with(Arc::clone).ok();
    async move {
        match count {
            Some(count) => STATEMENTS.scope(count, work).await,
            None => work.await,
        }
    }
}

/// Which engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn of(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

/// How hard SQLite works to keep a commit through a power cut: the URL's `synchronous`
/// parameter, which the registry reads and takes out before sqlx sees the URL.
///
/// - `full` (the default): the write-ahead log is synced at every commit; a commit that was
///   acknowledged survives a power cut or an operating system crash.
/// - `normal`: synced at checkpoints only; the database stays consistent, and a process crash
///   loses nothing, but a power cut or OS crash can lose the last commits.
/// - `extra`: as `full`, and the folder is synced too when the log is created or removed.
pub fn sqlite_synchronous(url: &str) -> anyhow::Result<(String, SqliteSynchronous)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), SqliteSynchronous::Full));
    };
    let mut synchronous = SqliteSynchronous::Full;
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("synchronous", value)) => {
                synchronous = match value.to_ascii_lowercase().as_str() {
                    "full" => SqliteSynchronous::Full,
                    "normal" => SqliteSynchronous::Normal,
                    "extra" => SqliteSynchronous::Extra,
                    _ => anyhow::bail!(
                        "synchronous={value} in the database URL: expected full (the default), \
                         normal or extra"
                    ),
                }
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, synchronous))
}

/// How long a SQLite writer waits for another before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects, creating the SQLite file's folder when needed, and counts statements. SQLite
/// syncs every commit unless the URL says otherwise (`sqlite_synchronous`).
pub async fn connect(url: &str) -> anyhow::Result<(DatabaseConnection, Arc<QueryCounter>)> {
    let counter = Arc::new(QueryCounter::default());
    Ok((connect_counting(url, counter.clone()).await?, counter))
}

/// [`connect`], counting the statements it runs on `counter`.
pub async fn connect_counting(
    url: &str,
    counter: Arc<QueryCounter>,
) -> anyhow::Result<DatabaseConnection> {
    let engine = Engine::of(url).with_context(|| {
        format!("database URL {url:?} must start with sqlite: or postgres:// (setting DATABASE_URL / --database-url)")
    })?;
    let (sqlx_url, synchronous) = match engine {
        Engine::Sqlite => sqlite_synchronous(url)?,
        Engine::Postgres => (url.to_owned(), SqliteSynchronous::Full),
    };
    let mut options = ConnectOptions::new(sqlx_url);
    // A connection is pinged before reuse only after it sat idle for a while (a server or a
    // firewall may have dropped it): pinging at every checkout cost a round trip per statement.
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .test_before_acquire_if_idle_for(Duration::from_secs(30));
    match engine {
        Engine::Sqlite => {
            create_sqlite_folder(url)?;
            options
                .map_sqlx_sqlite_opts(move |o| {
                    o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                        .synchronous(synchronous)
                        .busy_timeout(SQLITE_BUSY_TIMEOUT)
                        .foreign_keys(true)
                })
                .max_connections(8)
                .min_connections(1);
        }
        Engine::Postgres => {
            options.max_connections(16).min_connections(1);
        }
    }
    let mut db = Database::connect(options)
        .await
        .with_context(|| format!("cannot connect to the database at {}", redact(url)))?;
    db.set_metric_callback(move |info| {
        counter.0.fetch_add(1, Ordering::Relaxed);
        // Outside a request (startup, background work) there is none to count in.
        let _ = STATEMENTS.try_with(|n| n.fetch_add(1, Ordering::Relaxed));
        tracing::trace!(target: "rural_registry::sql", elapsed = ?info.elapsed, failed = info.failed, sql = %info.statement.sql);
    });
    Ok(db)
}

/// The pool's connections lent out and idle now, for /metrics.
pub fn pool_usage(db: &DatabaseConnection) -> (u64, u64) {
    let (size, idle) = match db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        sea_orm::DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => (0, 0),
    };
    let idle = idle as u64;
    (u64::from(size).saturating_sub(idle), idle)
}

/// Begins a transaction that will write. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`), so concurrent writers queue on the busy timeout instead of failing when
/// a read lock cannot be upgraded; PostgreSQL ignores the option.
pub async fn begin_write(db: &DatabaseConnection) -> StoreResult<DatabaseTransaction> {
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    Ok(db.begin_with_options(options).await?)
}

/// Commits, with the storage error type (a bare `DbErr` must not meet `?` in a resolver).
pub async fn commit(txn: DatabaseTransaction) -> StoreResult<()> {
    Ok(txn.commit().await?)
}

/// Brings the schema up to date, logging each migration it applies and nothing when there is
/// none: every command migrates first, and an up-to-date database is the usual case.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    migrate_with::<Migrator>(db).await
}

/// [`migrate`] with the migrations `M` lists: the registry's own, or (in a test) those plus one
/// meant to fail.
pub async fn migrate_with<M: MigratorTrait>(db: &DatabaseConnection) -> anyhow::Result<()> {
    refuse_newer::<M>(db).await?;
    // Read-only: `get_pending_migrations` would run `CREATE TABLE IF NOT EXISTS` three times,
    // and PostgreSQL answers each with a NOTICE that sqlx logs. `up` would also say "No pending
    // migrations" at INFO: asking first keeps a command on an up-to-date database quiet.
    let pending = M::get_pending_migrations_read_only(db)
        .await
        .context("reading which migrations the database has")?;
    if !pending.is_empty() {
        M::up(db, None).await.context("migrating the database")?;
        for migration in &pending {
            tracing::info!("applied migration {}", migration.name());
        }
    }
    let filled = assets::fill_cells(db)
        .await
        .map_err(anyhow::Error::from)
        .context("filling in the assets' spatial keys")?;
    if filled > 0 {
        tracing::info!(
            filled,
            "gave assets written before the spatial key their keys"
        );
    }
    Ok(())
}

/// A URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Refuses a database that a newer version migrated: it has migrations this binary does not
/// know, whose tables and rules it would not keep. (A database with no migrations table yet is
/// new, and fine.)
async fn refuse_newer<M: MigratorTrait>(db: &DatabaseConnection) -> anyhow::Result<()> {
    let Ok(rows) = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT version FROM seaql_migrations",
        ))
        .await
    else {
        return Ok(());
    };
    let known: Vec<String> = M::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let mut unknown = Vec::new();
    for row in rows {
        let version: String = row.try_get_by_index(0)?;
        if !known.contains(&version) {
            unknown.push(version);
        }
    }
    if !unknown.is_empty() {
        unknown.sort();
        anyhow::bail!(
            "the database was migrated by a newer rural-registry: it has {}, which this version \
             ({}) does not know. Run the newer version, or restore a backup this one made",
            unknown.join(", "),
            env!("CARGO_PKG_VERSION")
        );
    }
    Ok(())
}

/// The file a SQLite URL names; none for an in-memory database.
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(std::path::PathBuf::from(path))
}

fn create_sqlite_folder(url: &str) -> anyhow::Result<()> {
    let Some(path) = sqlite_path(url) else {
        return Ok(());
    };
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).with_context(|| {
            format!(
                "cannot create the folder {} for the database",
                parent.display()
            )
        })?;
    }
    Ok(())
}

/// The highest id in `E`'s table, 0 when it is empty: rows above it came later.
pub async fn max_id<E: sea_orm::EntityTrait>(
    conn: &impl sea_orm::ConnectionTrait,
    id: E::Column,
) -> StoreResult<i64> {
    use sea_orm::QuerySelect;
    use sea_orm::sea_query::{Expr, Func};
    let max: Option<Option<i64>> = E::find()
        .select_only()
        .column_as(Expr::expr(Func::max(Expr::col(id))), "max_id")
        .into_tuple()
        .one(conn)
        .await?;
    Ok(max.flatten().unwrap_or(0))
}

/// Rows of `E` whose `column` is one of `ids`, grouped by that column.
pub(crate) async fn grouped<E, F>(
    conn: &impl ConnectionTrait,
    column: E::Column,
    ids: &[i64],
    key: F,
) -> StoreResult<HashMap<i64, Vec<E::Model>>>
where
    E: EntityTrait,
    F: Fn(&E::Model) -> i64,
{
    let rows = E::find()
        .filter(column.is_in(ids.iter().copied()))
        .all(conn)
        .await?;
    let mut out: HashMap<i64, Vec<E::Model>> = HashMap::new();
    for r in rows {
        out.entry(key(&r)).or_default().push(r);
    }
    Ok(out)
}

/// Rows of `E` whose `column` is one of `ids`, by that key.
pub(crate) async fn keyed<E, F>(
    conn: &impl ConnectionTrait,
    column: E::Column,
    ids: &[i64],
    key: F,
) -> StoreResult<HashMap<i64, E::Model>>
where
    E: EntityTrait,
    F: Fn(&E::Model) -> i64,
{
    Ok(E::find()
        .filter(column.is_in(ids.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| (key(&m), m))
        .collect())
}

/// One page of `q` newest first (by `id`, descending): forward, the rows older than the cursor
/// id; backward, the rows newer than it, nearest first (the connection turns them round).
pub(crate) fn newest_first<E>(
    q: sea_orm::Select<E>,
    id: E::Column,
    cursor: Option<i64>,
    backward: bool,
    limit: u64,
) -> sea_orm::Select<E>
where
    E: EntityTrait,
{
    use sea_orm::{QueryOrder, QuerySelect};
    let q = match (cursor, backward) {
        (Some(c), false) => q.filter(id.lt(c)),
        (Some(c), true) => q.filter(id.gt(c)),
        (None, _) => q,
    };
    let q = if backward {
        q.order_by_asc(id)
    } else {
        q.order_by_desc(id)
    };
    q.limit(limit)
}

/// A registry freshly migrated in memory, for the storage modules' unit tests.
#[cfg(test)]
pub(crate) async fn memory_database() -> DatabaseConnection {
    // One connection: every connection to `sqlite::memory:` is a database of its own.
    let mut options = ConnectOptions::new("sqlite::memory:");
    options
        .max_connections(1)
        .min_connections(1)
        .sqlx_logging(false);
    let db = Database::connect(options).await.expect("in-memory SQLite");
    migrate(&db).await.expect("migrated");
    db
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sqlite_url_says_how_hard_commits_are_synced_full_unless_relaxed() {
        use sea_orm::sqlx::sqlite::SqliteSynchronous as S;
        let cases = [
            ("sqlite://r.db?mode=rwc", "sqlite://r.db?mode=rwc", S::Full),
            ("sqlite://r.db", "sqlite://r.db", S::Full),
            (
                "sqlite://r.db?mode=rwc&synchronous=normal",
                "sqlite://r.db?mode=rwc",
                S::Normal,
            ),
            (
                "sqlite://r.db?synchronous=EXTRA&mode=rwc",
                "sqlite://r.db?mode=rwc",
                S::Extra,
            ),
            ("sqlite://r.db?synchronous=full", "sqlite://r.db", S::Full),
        ];
        for (given, url, level) in cases {
            let (got, sync) = sqlite_synchronous(given).expect(given);
            assert_eq!(
                (got.as_str(), format!("{sync:?}")),
                (url, format!("{level:?}"))
            );
        }
        let refused = sqlite_synchronous("sqlite://r.db?synchronous=off").map(|_| ());
        assert!(
            refused.is_err_and(|e| e.to_string().contains("synchronous=off")),
            "off is refused"
        );
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://app:secret@db:5432/registry"),
            "postgres://app:***@db:5432/registry"
        );
        assert_eq!(
            redact("sqlite://data/registry.db?mode=rwc"),
            "sqlite://data/registry.db?mode=rwc"
        );
    }

    #[test]
    fn engines_are_told_apart_by_scheme() {
        assert_eq!(Engine::of("sqlite://x.db"), Some(Engine::Sqlite));
        assert_eq!(Engine::of("postgresql://h/db"), Some(Engine::Postgres));
        assert_eq!(Engine::of("mysql://h/db"), None);
    }
}
