//! Backups taken while 8 clients write, restored into another database: everything
//! acknowledged before the backup began is there, nothing begun after it ended; a damaged
//! backup and a non-empty target are refused. Both engines (PostgreSQL through pg_dump).

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rural_registry::db::entities::idle_asset;
use sea_orm::{Database, EntityTrait};
use serde_json::json;

use crate::helpers::{TestApp, scratch_database, spawn_apps};

fn cli(url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_rural-registry"))
        .args(["--database-url", url, "--log", "warn"])
        .args(args)
        .output()
        .expect("run rural-registry")
}

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

async fn write_until(app: &TestApp, client: usize, stop: &AtomicBool, log: &Mutex<Vec<Write>>) {
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
        assert!(r["errors"].is_null(), "{}: {r}", app.engine);
        log.lock().expect("log").push((code, sent, Instant::now()));
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
        let log = Mutex::new(Vec::new());
        let writers =
            futures_util::future::join_all((0..8).map(|c| write_until(&app, c, &stop, &log)));
        let backup = async {
            tokio::time::sleep(Duration::from_millis(400)).await;
            let began = Instant::now();
            let url = app.database_url.clone();
            let args = file_arg.clone();
            let out =
                tokio::task::spawn_blocking(move || cli(&url, &["backup", "--output", &args]))
                    .await
                    .expect("backup thread");
            let ended = Instant::now();
            tokio::time::sleep(Duration::from_millis(400)).await;
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
        assert!(String::from_utf8_lossy(&out.stdout).contains("checked"));
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
        let log = log.into_inner().expect("log");
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
