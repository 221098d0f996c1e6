//! Backups and restores (备份与恢复).
//!
//! SQLite: `VACUUM INTO` writes a copy consistent at one instant while the server goes on
//! serving (it reads in one transaction); the copy is synced, opened and passed through
//! `PRAGMA integrity_check` before it takes its name. A restore checks the file the same way,
//! then puts it in the database's place and migrates it.
//!
//! PostgreSQL: `pg_dump --format=custom` and `pg_restore`, which are PostgreSQL's own tools
//! (continuous archiving or `pg_basebackup` for point-in-time recovery are PostgreSQL's too);
//! the registry calls them rather than re-implementing them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, bail};
use migrations::{Migrator, MigratorTrait as _};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::db::{self, Engine};

/// What a backup wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    pub bytes: u64,
    /// The database's last migration, which a restore needs this binary or a newer one to know.
    pub migration: String,
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The backup's last migration.
    pub migration: String,
    /// The migrations applied after the restore, to bring it up to this binary's schema.
    pub migrated: Vec<String>,
}

/// Tables whose rows make a database hold a registry: a restore replaces them only when told.
const RECORDS: [&str; 5] = ["township", "village", "party", "idle_asset", "access_token"];

/// Writes a backup of the database at `url` to `output`, which must not exist.
pub async fn backup(url: &str, output: &Path) -> anyhow::Result<Written> {
    if output.exists() {
        bail!(
            "{} exists: a backup never overwrites a file; name another",
            output.display()
        );
    }
    let partial = with_suffix(output, ".partial");
    remove_if_present(&partial)?;
    let migration = match engine(url)? {
        Engine::Sqlite => {
            let (conn, _) = db::connect(url).await?;
            let target = partial.to_string_lossy().replace('\'', "''");
            conn.execute_unprepared(&format!("VACUUM INTO '{target}'"))
                .await
                .with_context(|| format!("writing the copy to {}", partial.display()))?;
            conn.close().await.ok();
            sync_file(&partial)?;
            verify_sqlite(&partial).await.inspect_err(|_| {
                let _ = std::fs::remove_file(&partial);
            })?
        }
        Engine::Postgres => {
            run_tool(
                "pg_dump",
                &[
                    "--format=custom".as_ref(),
                    "--no-owner".as_ref(),
                    "--file".as_ref(),
                    partial.as_os_str(),
                    "--dbname".as_ref(),
                    url.as_ref(),
                ],
            )?;
            sync_file(&partial)?;
            verify_dump(&partial).inspect_err(|_| {
                let _ = std::fs::remove_file(&partial);
            })?;
            let (conn, _) = db::connect(url).await?;
            last_migration(&conn).await?
        }
    };
    std::fs::rename(&partial, output)
        .with_context(|| format!("naming the copy {}", output.display()))?;
    sync_folder(output);
    let bytes = std::fs::metadata(output)?.len();
    Ok(Written {
        path: output.to_owned(),
        bytes,
        migration,
    })
}

/// Takes a backup into `folder` every `period` while the server runs (the first one period
/// after it starts), named `registry-<UTC time>.db` (SQLite) or `.dump` (PostgreSQL), and
/// deletes the oldest beyond `keep`. A failure is logged and tried again next time.
pub fn schedule(url: String, period: Duration, folder: PathBuf, keep: usize) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match scheduled(&url, &folder, keep).await {
                Ok(w) => {
                    tracing::info!(path = %w.path.display(), bytes = w.bytes, "took a scheduled backup")
                }
                Err(error) => {
                    tracing::warn!(error = format!("{error:#}"), folder = %folder.display(), "a scheduled backup failed")
                }
            }
        }
    });
}

async fn scheduled(url: &str, folder: &Path, keep: usize) -> anyhow::Result<Written> {
    let extension = match engine(url)? {
        Engine::Sqlite => "db",
        Engine::Postgres => "dump",
    };
    std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    let name = format!(
        "{SCHEDULED}{}.{extension}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
    );
    let written = backup(url, &folder.join(name)).await?;
    // Names sort by time: keep the newest.
    let mut taken: Vec<PathBuf> = std::fs::read_dir(folder)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(SCHEDULED) && n.ends_with(&format!(".{extension}")))
        })
        .collect();
    taken.sort();
    let surplus = taken.len().saturating_sub(keep);
    for old in &taken[..surplus] {
        std::fs::remove_file(old).with_context(|| format!("deleting {}", old.display()))?;
    }
    Ok(written)
}

/// How scheduled backups' names begin.
const SCHEDULED: &str = "registry-";

/// Restores the backup `file` into the database at `url`, which must hold no records unless
/// `force`; then migrates it to this binary's schema. On SQLite nothing may have the database
/// open (stop the server first).
pub async fn restore(url: &str, file: &Path, force: bool) -> anyhow::Result<Restored> {
    if !file.is_file() {
        bail!("{} is not a file", file.display());
    }
    let engine = engine(url)?;
    let migration = match engine {
        Engine::Sqlite => verify_sqlite(file).await?,
        Engine::Postgres => {
            verify_dump(file)?;
            String::new()
        }
    };
    if !migration.is_empty() && !known(&migration) {
        bail!(
            "the backup was made by a newer rural-registry (its schema reaches {migration}, \
             which this one does not know): restore it with that version or a later one"
        );
    }
    let held = records(url, engine).await?;
    if held > 0 && !force {
        bail!(
            "the database holds {held} records; a restore replaces all of them: restore into an \
             empty database, or pass --force"
        );
    }
    match engine {
        Engine::Sqlite => {
            let path = db::sqlite_path(url)
                .context("an in-memory database cannot be restored into; name a file")?;
            if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(folder)
                    .with_context(|| format!("creating {}", folder.display()))?;
            }
            let incoming = with_suffix(&path, ".restoring");
            std::fs::copy(file, &incoming)
                .with_context(|| format!("copying {} beside the database", file.display()))?;
            sync_file(&incoming)?;
            for stale in [with_suffix(&path, "-wal"), with_suffix(&path, "-shm")] {
                remove_if_present(&stale)?;
            }
            std::fs::rename(&incoming, &path)
                .with_context(|| format!("putting the backup in place of {}", path.display()))?;
            sync_folder(&path);
        }
        Engine::Postgres => {
            // In one transaction: a dump that fails half-way leaves the database as it was.
            // `--clean` drops what the dump is about to create: the empty schema a server
            // made, or (with --force) a registry.
            run_tool(
                "pg_restore",
                &[
                    "--no-owner".as_ref(),
                    "--exit-on-error".as_ref(),
                    "--single-transaction".as_ref(),
                    "--clean".as_ref(),
                    "--if-exists".as_ref(),
                    "--dbname".as_ref(),
                    url.as_ref(),
                    file.as_os_str(),
                ],
            )?;
        }
    }
    let (conn, _) = db::connect(url).await?;
    let before = Migrator::get_pending_migrations_read_only(&conn)
        .await
        .context("reading which migrations the restored database has")?;
    let migrated: Vec<String> = before.iter().map(|m| m.name().to_owned()).collect();
    let migration = last_migration(&conn).await?;
    // Refuses, naming them, migrations this version does not know (a PostgreSQL dump is only
    // read here).
    db::migrate(&conn).await?;
    db::events::restored(&conn).await?;
    db::table_versions::restored(&conn).await?;
    conn.close().await.ok();
    Ok(Restored {
        migration,
        migrated,
    })
}

/// Opens a SQLite copy read-only and checks it: SQLite's `integrity_check`, and a registry's
/// migrations table. Returns its last migration.
pub async fn verify_sqlite(path: &Path) -> anyhow::Result<String> {
    // Read-only, and without the registry's own pragmas (WAL would write to the file).
    let url = format!("sqlite://{}?mode=ro", path.display());
    let conn = sea_orm::Database::connect(&url)
        .await
        .with_context(|| format!("{} does not open as a SQLite database", path.display()))?;
    let checked = async {
        let rows = conn
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA integrity_check",
            ))
            .await?;
        let findings: Vec<String> = rows
            .iter()
            .filter_map(|r| r.try_get_by_index::<String>(0).ok())
            .filter(|line| line != "ok")
            .collect();
        if !findings.is_empty() || rows.is_empty() {
            bail!(
                "{} fails SQLite's integrity check: {}",
                path.display(),
                findings.join("; ")
            );
        }
        last_migration(&conn).await
    }
    .await;
    conn.close().await.ok();
    checked.with_context(|| format!("{} is not a sound registry backup", path.display()))
}

/// Checks a PostgreSQL dump: `pg_restore --list` reads its table of contents, which must list
/// the registry's tables.
fn verify_dump(path: &Path) -> anyhow::Result<()> {
    let listed = run_tool("pg_restore", &["--list".as_ref(), path.as_os_str()])?;
    if !listed.contains("seaql_migrations") || !listed.contains("idle_asset") {
        bail!("{} is a dump, but not of a registry", path.display());
    }
    Ok(())
}

/// The last migration a database has applied.
async fn last_migration(conn: &DatabaseConnection) -> anyhow::Result<String> {
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT version FROM seaql_migrations ORDER BY version DESC LIMIT 1",
        ))
        .await
        .context("reading the migrations table (is this a registry?)")?
        .context("no migration was ever applied: not a registry")?;
    Ok(row.try_get_by_index(0)?)
}

/// Whether this binary knows a migration.
fn known(name: &str) -> bool {
    Migrator::migrations().iter().any(|m| m.name() == name)
}

/// Records in the registry's main tables; 0 for a database with no registry in it.
async fn records(url: &str, engine: Engine) -> anyhow::Result<i64> {
    if engine == Engine::Sqlite && !db::sqlite_path(url).is_some_and(|p| p.exists()) {
        return Ok(0);
    }
    let (conn, _) = db::connect(url).await?;
    let backend = conn.get_database_backend();
    let exists = match backend {
        DbBackend::Postgres => {
            "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() \
             AND table_name = 'seaql_migrations'"
        }
        _ => "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'seaql_migrations'",
    };
    let mut held = 0;
    if conn
        .query_one_raw(Statement::from_string(backend, exists))
        .await?
        .is_some()
    {
        for table in RECORDS {
            let row = conn
                .query_one_raw(Statement::from_string(
                    backend,
                    format!("SELECT COUNT(*) FROM {table}"),
                ))
                .await?;
            if let Some(row) = row {
                held += row.try_get_by_index::<i64>(0)?;
            }
        }
    }
    conn.close().await.ok();
    Ok(held)
}

fn engine(url: &str) -> anyhow::Result<Engine> {
    Engine::of(url).with_context(|| {
        "the database URL must start with sqlite: or postgres:// (setting DATABASE_URL / \
         --database-url)"
            .to_owned()
    })
}

/// Runs one of PostgreSQL's tools, returning what it printed; its own message when it fails.
fn run_tool(tool: &str, args: &[&std::ffi::OsStr]) -> anyhow::Result<String> {
    let out = Command::new(tool).args(args).output().map_err(|e| {
        anyhow::anyhow!(
            "cannot run {tool} ({e}): install PostgreSQL's client tools (Debian: \
             postgresql-client), the same major version as the server or newer"
        )
    })?;
    if !out.status.success() {
        bail!(
            "{tool} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_if_present(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

fn sync_file(path: &Path) -> anyhow::Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("syncing {} to disk", path.display()))
}

/// Syncs the folder that holds `path`, so that a rename survives a power cut. Best effort: not
/// every platform opens folders.
fn sync_folder(path: &Path) {
    if let Some(parent) = path.parent() {
        let folder = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if let Ok(f) = std::fs::File::open(folder) {
            let _ = f.sync_all();
        }
    }
}
