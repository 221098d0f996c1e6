//! Uploads as jobs: `importFile` answers at once with a job, imports the file in the
//! background while readers go on reading (no table lock, no index dropped), reports its
//! progress and, at its end, its report, to the caller who started it and the district office
//! only; a second upload waits its turn. A job whose server died is reported FAILED, and wrote
//! nothing. The command line's `--bulk` is for assets alone.

use std::time::{Duration, Instant};

use rural_registry::domain::access::Role;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{ServerProcess, TestApp, cli, error_code, scratch_database, spawn_apps};
use crate::import::{job_at, submit, submit_at, until_ended};
use crate::import_kill::{count, upkeep};

/// Rows enough that a debug build takes seconds to import them.
const ROWS: usize = 40_000;

/// A survey of `rows` assets coded `prefix-n` (`import_kill::survey`), as CSV.
async fn survey(db: &sea_orm::DatabaseConnection, prefix: &str, rows: usize) -> String {
    crate::import_kill::survey(db, prefix, rows).await.0
}

/// Locks on the asset table that would hold readers back (PostgreSQL).
async fn exclusive_locks(app: &TestApp) -> i64 {
    let sql = "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
               WHERE c.relname = 'idle_asset' AND l.mode = 'AccessExclusiveLock'";
    let row = app
        .db
        .query_one_raw(Statement::from_string(app.db.get_database_backend(), sql))
        .await
        .expect("pg_locks")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("a count")
}

async fn read_assets(app: &TestApp) -> Value {
    app.graphql(
        "{ idleAssets(first: 5) { totalCount nodes { code } } }",
        json!({}),
    )
    .await
}

#[tokio::test]
async fn an_upload_runs_as_a_job_readers_never_wait_for_and_only_its_caller_reads() {
    for app in spawn_apps().await {
        let engine = app.engine;
        let before = count(&app).await;
        let upkeep_before = upkeep(&app).await;
        let big = survey(&app.db, "JOB", ROWS).await;
        let small = survey(&app.db, "NEXT", 3).await;
        let (status, r) = submit(&app, Some(&app.admin), "ASSETS", &big, false, false).await;
        assert_eq!(status, 200, "{engine}: {r}");
        let first = r["data"]["importFile"].clone();
        let id = first["id"].as_str().expect("a job id").to_owned();
        assert!(
            matches!(first["status"].as_str(), Some("QUEUED" | "RUNNING")),
            "{engine}: {first}"
        );
        assert_eq!(first["kind"], "ASSETS");
        assert_eq!(first["fileName"], "survey.csv");
        assert!(first["report"].is_null(), "{engine}: {first}");
        // A second upload waits for the first.
        let (_, r) = submit(&app, Some(&app.admin), "ASSETS", &small, false, false).await;
        let second = r["data"]["importFile"].clone();
        let second_id = second["id"].as_str().expect("a job id").to_owned();
        assert_eq!(second["status"], "QUEUED", "{engine}: {r}");

        // While it runs: its rows done grow, readers are answered, nothing locks the table.
        let mut seen_running = 0;
        let mut read_while_running = false;
        let started = Instant::now();
        let ended = loop {
            let r = job_at(&app.address, Some(&app.admin), &id).await;
            let job = r["data"]["importJob"].clone();
            match job["status"].as_str() {
                Some("RUNNING") if job["rowsDone"].as_i64() > Some(0) => {
                    let (done, total) = (job["rowsDone"].as_i64(), job["rowsTotal"].as_i64());
                    assert!(done <= total, "{engine}: {job}");
                    seen_running += 1;
                    if engine == "postgres" {
                        assert_eq!(exclusive_locks(&app).await, 0, "{engine}");
                    }
                    let read = read_assets(&app).await;
                    assert!(read["errors"].is_null(), "{engine}: {read}");
                    // Still running after the read was answered: the read did not wait for the
                    // import, and saw none of its rows, which are not committed yet.
                    let again = job_at(&app.address, Some(&app.admin), &id).await;
                    if again["data"]["importJob"]["status"] == "RUNNING" {
                        read_while_running = true;
                        assert_eq!(
                            read["data"]["idleAssets"]["totalCount"].as_u64(),
                            Some(before),
                            "{engine}: {read}"
                        );
                    }
                }
                Some("WRITTEN" | "REFUSED" | "FAILED") => break job,
                _ => {}
            }
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "{engine}: {r}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(
            seen_running > 0 && read_while_running,
            "{engine}: the job was never seen running with a reader answered meanwhile"
        );
        assert_eq!(ended["status"], "WRITTEN", "{engine}: {ended}");
        assert_eq!(ended["report"]["inserted"], ROWS, "{engine}: {ended}");
        assert_eq!(ended["report"]["written"], true);
        assert_eq!(ended["rowsDone"], ROWS);
        assert_eq!(ended["rowsTotal"], ROWS);
        assert!(ended["error"].is_null());
        let next = until_ended(&app, Some(&app.admin), &second_id).await;
        assert_eq!(next["status"], "WRITTEN", "{engine}: {next}");
        assert_eq!(count(&app).await, before + ROWS as u64 + 3, "{engine}");
        assert_eq!(upkeep(&app).await, upkeep_before, "{engine}");
        let at = |v: &Value| {
            chrono::DateTime::parse_from_rfc3339(v.as_str().expect("a time")).expect("RFC 3339")
        };
        assert!(
            at(&next["startedAt"]) >= at(&ended["finishedAt"]),
            "{engine}: the second began after the first ended: {next} {ended}"
        );

        // Only its caller and the district office read it.
        let cadre = app.token(Role::Cadre, Some("369901102000"), None).await;
        let r = job_at(&app.address, Some(&cadre), &id).await;
        assert!(
            r["errors"].is_null() && r["data"]["importJob"].is_null(),
            "{engine}: {r}"
        );
        let r = job_at(&app.address, None, &id).await;
        assert_eq!(error_code(&r), Some("UNAUTHENTICATED"), "{engine}: {r}");
        let listed = app
            .graphql("{ importJobs(first: 5) { id status } }", json!({}))
            .await;
        let ids: Vec<&str> = listed["data"]["importJobs"]
            .as_array()
            .expect("jobs")
            .iter()
            .filter_map(|j| j["id"].as_str())
            .collect();
        assert_eq!(ids, [second_id.as_str(), id.as_str()], "{engine}: {listed}");
        let node = app
            .graphql(
                "query($id: ID!) { node(id: $id) { ... on ImportJob { status } } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(
            node["data"]["node"]["status"], "WRITTEN",
            "{engine}: {node}"
        );
        let theirs = app
            .graphql_as(Some(&cadre), "{ importJobs { id } }", json!({}))
            .await;
        assert_eq!(
            theirs["data"]["importJobs"],
            json!([]),
            "{engine}: {theirs}"
        );
        let r = app
            .graphql("{ importJobs(first: 0) { id } }", json!({}))
            .await;
        assert_eq!(error_code(&r), Some("BAD_INPUT"), "{engine}: {r}");
        app.assert_sound().await;
    }
}

#[tokio::test]
async fn a_job_whose_server_died_is_reported_failed_and_wrote_nothing() {
    let mut engines = vec!["sqlite"];
    if std::env::var("TEST_DATABASE_URL").is_ok() {
        engines.push("postgres");
    }
    for engine in engines {
        let db = scratch_database(engine).await;
        let mut server = ServerProcess::start(&db.url, true);
        let admin = server.admin.clone().expect("the demo's admin token");
        let conn = sea_orm::Database::connect(&db.url).await.expect("connect");
        let file = survey(&conn, "DIE", 300_000).await;
        let assets = |conn: &sea_orm::DatabaseConnection| {
            let conn = conn.clone();
            async move {
                let row = conn
                    .query_one_raw(Statement::from_string(
                        conn.get_database_backend(),
                        "SELECT COUNT(*) FROM idle_asset",
                    ))
                    .await
                    .expect("count")
                    .expect("a row");
                row.try_get_by_index::<i64>(0).expect("a count")
            }
        };
        let before = assets(&conn).await;
        let (_, r) = submit_at(&server.address, Some(&admin), "ASSETS", &file, false, false).await;
        let id = r["data"]["importFile"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{engine}: {r}"))
            .to_owned();
        // Killed once it is well under way; on PostgreSQL, once its progress is in the database
        // for every instance to read.
        let started = Instant::now();
        loop {
            let r = job_at(&server.address, Some(&admin), &id).await;
            let job = &r["data"]["importJob"];
            assert_eq!(
                job["status"].as_str().map(|s| s != "WRITTEN"),
                Some(true),
                "{engine}: {r}"
            );
            let stored = conn
                .query_one_raw(Statement::from_string(
                    conn.get_database_backend(),
                    format!(
                        "SELECT rows_done FROM import_job WHERE id = {}",
                        decode(&id)
                    ),
                ))
                .await
                .expect("the job's row")
                .expect("a row")
                .try_get_by_index::<i64>(0)
                .expect("rows done");
            let far = job["rowsDone"].as_i64() > Some(5_000);
            if far && (engine == "sqlite" || stored > 0) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "{engine}: the job never got going: {r}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server.child.kill().expect("kill");
        server.child.wait().expect("reaped");
        let server = ServerProcess::start(&db.url, false);
        if engine == "postgres" {
            // Another instance cannot tell a dead one from a slow one until its heartbeat is
            // stale (30 s): the test makes it so rather than wait.
            let r = job_at(&server.address, Some(&admin), &id).await;
            assert_eq!(r["data"]["importJob"]["status"], "RUNNING", "{engine}: {r}");
            conn.execute_unprepared(&format!(
                "UPDATE import_job SET heartbeat_at = heartbeat_at - INTERVAL '1 minute' \
                 WHERE id = {}",
                decode(&id)
            ))
            .await
            .expect("an older heartbeat");
        }
        let r = job_at(&server.address, Some(&admin), &id).await;
        let job = &r["data"]["importJob"];
        assert_eq!(job["status"], "FAILED", "{engine}: {r}");
        assert_eq!(job["error"]["code"], "INTERRUPTED", "{engine}: {r}");
        assert_eq!(assets(&conn).await, before, "{engine}: nothing was written");
        conn.close().await.expect("close");
        let out = cli(&db.url, &["check"]);
        assert!(
            out.status.success(),
            "{engine}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// The number in a job's global ID.
fn decode(id: &str) -> i64 {
    let id = async_graphql::ID(id.to_owned());
    rural_registry::graphql::common::ids::decode(&id)
        .expect("a job's ID")
        .1
}

#[tokio::test]
async fn bulk_loading_is_for_assets_from_the_command_line_only() {
    let db = scratch_database("sqlite").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("parties.csv");
    std::fs::write(&file, "kind,name\n").expect("write");
    let out = cli(
        &db.url,
        &["import", "parties", file.to_str().expect("UTF-8"), "--bulk"],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--bulk loads assets only"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_stopping_server_fails_its_queued_jobs_and_cuts_the_running_one_at_its_grace() {
    let mut engines = vec!["sqlite"];
    if std::env::var("TEST_DATABASE_URL").is_ok() {
        engines.push("postgres");
    }
    for engine in engines {
        let db = scratch_database(engine).await;
        let mut server = ServerProcess::start_with(&db.url, true, |c| {
            c.args(["--shutdown-grace-secs", "1"]);
        });
        let admin = server.admin.clone().expect("the demo's admin token");
        let conn = sea_orm::Database::connect(&db.url).await.expect("connect");
        let big = survey(&conn, "STOP", 300_000).await;
        let small = survey(&conn, "WAIT", 2).await;
        let (_, r) = submit_at(&server.address, Some(&admin), "ASSETS", &big, false, false).await;
        let running = r["data"]["importFile"]["id"]
            .as_str()
            .expect("an id")
            .to_owned();
        let (_, r) = submit_at(
            &server.address,
            Some(&admin),
            "ASSETS",
            &small,
            false,
            false,
        )
        .await;
        let queued = r["data"]["importFile"]["id"]
            .as_str()
            .expect("an id")
            .to_owned();
        let started = Instant::now();
        loop {
            let r = job_at(&server.address, Some(&admin), &running).await;
            if r["data"]["importJob"]["rowsDone"].as_i64() > Some(0) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "{engine}: {r}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &server.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        let status = server.child.wait().expect("it exits");
        assert!(
            status.success(),
            "{engine}: a graceful stop exits 0, got {status}"
        );
        if engine == "postgres" {
            // The queued job was marked before the server went. (On SQLite the running
            // import holds the write lock: the next server reports it as below.)
            let row = conn
                .query_one_raw(Statement::from_string(
                    conn.get_database_backend(),
                    format!(
                        "SELECT status, error FROM import_job WHERE id = {}",
                        decode(&queued)
                    ),
                ))
                .await
                .expect("the job's row")
                .expect("a row");
            let (status, error): (String, String) = (
                row.try_get_by_index(0).expect("a status"),
                row.try_get_by_index(1).expect("an error"),
            );
            assert_eq!(status, "FAILED");
            assert!(error.contains("before the import began"), "{error}");
            conn.execute_unprepared(&format!(
                "UPDATE import_job SET heartbeat_at = heartbeat_at - INTERVAL '1 minute' \
                 WHERE id = {}",
                decode(&running)
            ))
            .await
            .expect("an older heartbeat");
        }
        let server = ServerProcess::start(&db.url, false);
        for id in [&running, &queued] {
            let r = job_at(&server.address, Some(&admin), id).await;
            let job = &r["data"]["importJob"];
            assert_eq!(job["status"], "FAILED", "{engine}: {r}");
            assert_eq!(job["error"]["code"], "INTERRUPTED", "{engine}: {r}");
        }
        let codes = conn
            .query_one_raw(Statement::from_string(
                conn.get_database_backend(),
                "SELECT COUNT(*) FROM idle_asset WHERE code LIKE 'STOP-%' OR code LIKE 'WAIT-%'",
            ))
            .await
            .expect("count")
            .expect("a row")
            .try_get_by_index::<i64>(0)
            .expect("a count");
        assert_eq!(codes, 0, "{engine}: nothing was written");
        conn.close().await.expect("close");
    }
}
