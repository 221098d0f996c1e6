//! Backups taken while 16 clients write, restored into another database: everything
//! acknowledged before the backup began is there, nothing begun after it ended, and every
//! export of the copy is the source's as of one instant; a damaged backup and a non-empty target
//! are refused. Both engines (PostgreSQL through pg_dump).

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rural_registry::db::entities::idle_asset;
use sea_orm::{ConnectionTrait, Database, EntityTrait};
use serde_json::json;

use crate::helpers::{TestApp, cli, scratch_database, spawn_apps};

async fn codes(url: &str) -> HashSet<String> {
    let db = Database::connect(url).await.expect("connect");
    let codes = idle_asset::Entity::find()
        .all(&db)
        .await
        .expect("assets")
        .into_iter()
        .map(|a| a.code)
        .collect();
    db.close().await.expect("close");
    codes
}

/// A write: its code, when it was sent and when it was acknowledged.
type Write = (String, Instant, Instant);

/// What the writers did: the writes acknowledged, and the answers that were errors.
#[derive(Default)]
struct Log {
    writes: Vec<Write>,
    errors: Vec<String>,
}

impl Log {
    /// Writes sent after `instant`.
    fn sent_after(&self, instant: Instant) -> usize {
        self.writes.iter().filter(|w| w.1 > instant).count()
    }
}

async fn write_until(app: &TestApp, client: usize, stop: &AtomicBool, log: &Mutex<Log>) {
    const REGISTER: &str = "mutation ($i: RegisterIdleAssetInput!) { registerIdleAsset(input: $i) { idleAsset { code } } }";
    let owner = rural_registry::graphql::common::ids::Kind::Party.id(1);
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let code = format!("BK-{client}-{n}");
        n += 1;
        let input = json!({
            "code": code, "kind": "IDLE_FARMHOUSE", "ownerId": owner,
            "longitude": 117.164953 + (client as f64) * 1e-5, "latitude": 28.16099 + (n as f64) * 1e-6,
            "floorAreaSquareMeters": 80,
        });
        let sent = Instant::now();
        let r = app.graphql(REGISTER, json!({ "i": input })).await;
        let mut log = log.lock().expect("log");
        if r["errors"].is_null() {
            log.writes.push((code, sent, Instant::now()));
        } else {
            // Reported when the test ends, with every other one, rather than lost in a writer.
            log.errors.push(format!("{code}: {r}"));
            return;
        }
    }
}

/// Waits until `enough` holds of the log, or the writers stopped on an error.
async fn until(log: &Mutex<Log>, enough: impl Fn(&Log) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        {
            let log = log.lock().expect("log");
            if enough(&log) || !log.errors.is_empty() || Instant::now() > deadline {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_backup_during_writes_restores_what_was_acknowledged_before_it() {
    for app in spawn_apps().await {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join(match app.engine {
            "sqlite" => "registry-backup.db",
            _ => "registry-backup.dump",
        });
        let file_arg = file.to_str().expect("a UTF-8 path").to_owned();
        let stop = AtomicBool::new(false);
        let log = Mutex::new(Log::default());
        let writers =
            futures_util::future::join_all((0..16).map(|c| write_until(&app, c, &stop, &log)));
        let backup = async {
            // Writes acknowledged before the backup, and others sent after it: however slow
            // the machine, the test waits for them rather than for a set time.
            until(&log, |l| l.writes.len() >= 32).await;
            let began = Instant::now();
            let url = app.database_url.clone();
            let args = file_arg.clone();
            let out =
                tokio::task::spawn_blocking(move || cli(&url, &["backup", "--output", &args]))
                    .await
                    .expect("backup thread");
            let ended = Instant::now();
            until(&log, |l| l.sent_after(ended) >= 32).await;
            stop.store(true, Ordering::Relaxed);
            (out, began, ended)
        };
        let (_, (out, began, ended)) = tokio::join!(writers, backup);
        assert!(
            out.status.success(),
            "{}: {}",
            app.engine,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("checked"),
            "{}: {}",
            app.engine,
            String::from_utf8_lossy(&out.stdout)
        );
        let again = cli(&app.database_url, &["backup", "--output", &file_arg]);
        assert!(!again.status.success(), "a backup never overwrites a file");

        let target = scratch_database(app.engine).await;
        let out = cli(&target.url, &["restore", &file_arg]);
        assert!(
            out.status.success(),
            "{}: {}",
            app.engine,
            String::from_utf8_lossy(&out.stderr)
        );
        let restored = codes(&target.url).await;
        // The restored event log is ordered by sequence alone, before any new event of this
        // database (whose transaction ids may be below the source's).
        let conn = sea_orm::Database::connect(&target.url)
            .await
            .expect("connect");
        let row = conn
            .query_one_raw(sea_orm::Statement::from_string(
                conn.get_database_backend(),
                "SELECT COUNT(*), COALESCE(MAX(tx), 0) FROM event_log",
            ))
            .await
            .expect("the log")
            .expect("a row");
        let (events, tx): (i64, i64) = (
            row.try_get_by_index(0).expect("a count"),
            row.try_get_by_index(1).expect("a tx"),
        );
        assert!(
            events > 0 && tx == 0,
            "{}: {events} events, tx {tx}",
            app.engine
        );
        conn.close().await.expect("close");
        let Log {
            writes: log,
            errors,
        } = log.into_inner().expect("log");
        assert!(
            errors.is_empty(),
            "{}: writes refused: {errors:?}",
            app.engine
        );
        let before: Vec<&Write> = log.iter().filter(|w| w.2 < began).collect();
        let after: Vec<&Write> = log.iter().filter(|w| w.1 > ended).collect();
        assert!(
            !before.is_empty() && !after.is_empty(),
            "{}: writes on both sides of the backup: {} before, {} after",
            app.engine,
            before.len(),
            after.len()
        );
        for w in &before {
            assert!(restored.contains(&w.0), "{}: {} is lost", app.engine, w.0);
        }
        for w in &after {
            assert!(
                !restored.contains(&w.0),
                "{}: {} is from after",
                app.engine,
                w.0
            );
        }
        // Every demo record came along: the restored registry's assets are the source's, less
        // those written after the backup.
        let source = codes(&app.database_url).await;
        assert!(restored.is_subset(&source), "{}", app.engine);
        // Every export of the copy is the source's as of one instant: the same rows, field for
        // field, less the assets written after it (the workload only adds assets).
        for kind in [
            "townships",
            "villages",
            "parties",
            "assets",
            "revitalizations",
            "members",
            "holdings",
            "targets",
        ] {
            let export = |url: &str| {
                let out = cli(url, &["export", kind]);
                assert!(
                    out.status.success(),
                    "{}: export {kind}: {}",
                    app.engine,
                    String::from_utf8_lossy(&out.stderr)
                );
                String::from_utf8(out.stdout).expect("UTF-8")
            };
            let copy = export(&target.url);
            let source = export(&app.database_url);
            let then: Vec<&str> = source
                .lines()
                .filter(|line| {
                    let code = line.split(',').next().unwrap_or_default();
                    !code.starts_with("BK-") || restored.contains(code)
                })
                .collect();
            assert_eq!(
                copy.lines().collect::<Vec<_>>(),
                then,
                "{}: export {kind}",
                app.engine
            );
        }
        // And it is sound: its tally, trail and rules hold.
        let out = cli(&target.url, &["check"]);
        assert!(
            out.status.success(),
            "{}: {}",
            app.engine,
            String::from_utf8_lossy(&out.stdout)
        );

        // A registry is never replaced unless asked.
        let out = cli(&target.url, &["restore", &file_arg]);
        assert!(!out.status.success(), "{}", app.engine);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--force"),
            "{}: {}",
            app.engine,
            String::from_utf8_lossy(&out.stderr)
        );
        let out = cli(&target.url, &["restore", "--force", &file_arg]);
        assert!(
            out.status.success(),
            "{}: {}",
            app.engine,
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(codes(&target.url).await, restored, "{}", app.engine);

        // A damaged backup is refused, and the database it was meant for keeps what it had.
        let mut bytes = std::fs::read(&file).expect("read the backup");
        let middle = bytes.len() / 2;
        match app.engine {
            "sqlite" => bytes[middle..middle + 4096].fill(0x5A),
            _ => bytes.truncate(middle),
        }
        let damaged = dir.path().join("damaged");
        std::fs::write(&damaged, &bytes).expect("write");
        let out = cli(
            &target.url,
            &["restore", "--force", damaged.to_str().expect("UTF-8")],
        );
        assert!(
            !out.status.success(),
            "{}: a damaged backup restored",
            app.engine
        );
        assert_eq!(codes(&target.url).await, restored, "{}", app.engine);
    }
}

/// A file in `folder` whose name starts with `registry-` and ends with `.db`.
fn scheduled_in(folder: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(folder)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("registry-") && n.ends_with(".db"))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

#[tokio::test]
async fn scheduled_backups_are_taken_checked_and_only_the_newest_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().join("backups");
    let app = crate::helpers::spawn_app_with(|s| {
        // About a second apart.
        s.backup_every_hours = Some(0.0003);
        s.backup_keep = 2;
        s.backup_dir = folder.clone();
    })
    .await;
    // Four periods or more: more were taken than are kept.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = HashSet::new();
    while seen.len() < 4 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        seen.extend(scheduled_in(&folder));
    }
    assert!(seen.len() >= 4, "backups taken: {seen:?}");
    let kept = scheduled_in(&folder);
    assert!(
        kept.len() == 2 || kept.len() == 3,
        "two kept (three while the next is being pruned): {kept:?}"
    );
    let newest = kept.last().expect("a backup");
    let schema = rural_registry::services::backup::verify_sqlite(newest)
        .await
        .expect("a sound backup");
    assert!(schema.starts_with('m'), "{schema}");
    drop(app);
}

#[tokio::test]
async fn a_database_a_newer_version_migrated_is_refused() {
    use sea_orm::ConnectionTrait;
    for app in spawn_apps().await {
        app.db
            .execute_unprepared(
                "INSERT INTO seaql_migrations (version, applied_at) \
                 VALUES ('m29991231_000001_from_the_future', 0)",
            )
            .await
            .expect("a migration from the future");
        let out = cli(&app.database_url, &["migrate"]);
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{}", app.engine);
        assert!(
            said.contains("newer rural-registry")
                && said.contains("m29991231_000001_from_the_future"),
            "{}: {said}",
            app.engine
        );
        // serve stops at once with the same message, rather than serving.
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rural-registry"))
            .args([
                "--database-url",
                &app.database_url,
                "--log",
                "warn",
                "serve",
            ])
            .args([
                "--listen",
                "127.0.0.1:0",
                "--metrics-listen",
                "off",
                "--no-demo",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start the server");
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{}: serve started on a newer database", app.engine);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(!status.success(), "{}", app.engine);
        let mut said = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut said)
            .expect("read stderr");
        assert!(
            said.contains("newer rural-registry"),
            "{}: {said}",
            app.engine
        );
    }
}
