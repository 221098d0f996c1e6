//! What survives a failure: a migration that fails half-way leaves the database as it was, and
//! a server killed (SIGKILL) while it writes keeps every write it acknowledged, and passes
//! `rural-registry check`. Both engines.

use migrations::{
    DbErr, MigrationName, MigrationTrait, Migrator, MigratorTrait, SchemaManager, async_trait,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use sha2::Digest as _;

use crate::helpers::spawn_apps;

/// A migration that changes the schema and the data, then fails.
struct FailsHalfWay;

impl MigrationName for FailsHalfWay {
    fn name(&self) -> &str {
        "m29991231_000001_fails_half_way"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for FailsHalfWay {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("CREATE TABLE half_way (id BIGINT PRIMARY KEY, note TEXT)")
            .await?;
        db.execute_unprepared("INSERT INTO half_way (id, note) VALUES (1, 'written')")
            .await?;
        db.execute_unprepared("ALTER TABLE idle_asset ADD COLUMN half_way TEXT")
            .await?;
        db.execute_unprepared("UPDATE idle_asset SET address = 'half way', version = version + 1")
            .await?;
        db.execute_unprepared("DELETE FROM audit_event").await?;
        Err(DbErr::Migration("fails half-way, on purpose".into()))
    }
}

/// The registry's migrations, then one that fails: what a release with a broken migration is.
struct WithFailing;

#[async_trait::async_trait]
impl MigratorTrait for WithFailing {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = Migrator::migrations();
        all.push(migrations::atomic(Box::new(FailsHalfWay)));
        all
    }
}

/// The tables, the asset table's columns, every asset, the audit trail's length and the applied migrations:
/// what a failed migration must leave as it found.
async fn state(db: &DatabaseConnection) -> Vec<String> {
    let backend = db.get_database_backend();
    let (tables, columns) = match backend {
        sea_orm::DbBackend::Sqlite => (
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
            "SELECT name FROM pragma_table_info('idle_asset') ORDER BY name",
        ),
        _ => (
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() ORDER BY 1",
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = 'idle_asset' ORDER BY 1",
        ),
    };
    let assets = "SELECT code || '|' || COALESCE(address, '') || '|' || CAST(version AS TEXT) \
                  FROM idle_asset ORDER BY id";
    let mut out = Vec::new();
    for sql in [
        tables,
        columns,
        assets,
        "SELECT CAST(COUNT(*) AS TEXT) FROM audit_event",
        "SELECT version FROM seaql_migrations ORDER BY version",
    ] {
        let rows: Vec<String> = db
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .expect(sql)
            .into_iter()
            .map(|row| row.try_get_by_index::<String>(0).expect("text"))
            .collect();
        if sql == assets {
            // Every asset, as a digest: a difference shows without printing them all.
            let digest = sha2::Sha256::digest(rows.join("\n").as_bytes());
            out.push(format!(
                "{} assets, sha256 {}",
                rows.len(),
                hex::encode(digest)
            ));
        } else {
            out.extend(rows);
        }
        out.push("--".into());
    }
    out
}

#[tokio::test]
async fn a_migration_that_fails_half_way_leaves_the_database_as_it_was() {
    for app in spawn_apps().await {
        let before = state(&app.db).await;
        assert!(before.len() > 40, "{}: {before:?}", app.engine);
        let err = rural_registry::db::migrate_with::<WithFailing>(&app.db)
            .await
            .expect_err("the migration fails");
        assert!(
            format!("{err:#}").contains("fails half-way"),
            "{}: {err:#}",
            app.engine
        );
        assert_eq!(state(&app.db).await, before, "{}", app.engine);
        // The registry's own migrations find nothing to do, and it serves as before.
        rural_registry::db::migrate(&app.db)
            .await
            .expect("migrated");
        assert_eq!(state(&app.db).await, before, "{}", app.engine);
        let r = app
            .graphql(
                "{ idleAssets(first: 1) { totalCount } }",
                serde_json::json!({}),
            )
            .await;
        assert!(r["errors"].is_null(), "{}: {r}", app.engine);
    }
}

/// Registers assets until a request fails; returns the codes the server acknowledged.
async fn register_until_refused(address: &str, secret: &str, client: usize) -> Vec<String> {
    const REGISTER: &str = "mutation ($i: RegisterIdleAssetInput!) { \
                            registerIdleAsset(input: $i) { idleAsset { code } } }";
    let http = reqwest::Client::new();
    let owner = rural_registry::graphql::common::ids::Kind::Party.id(1);
    let mut acknowledged = Vec::new();
    for n in 0.. {
        let code = format!("KILL-{client}-{n}");
        let body = serde_json::json!({ "query": REGISTER, "variables": { "i": {
            "code": code, "kind": "IDLE_FARMHOUSE", "ownerId": owner,
            "longitude": 117.164953 + (client as f64) * 1e-5,
            "latitude": 28.16099 + (n as f64) * 1e-6,
            "floorAreaSquareMeters": 80,
        }}});
        let sent = http
            .post(format!("{address}/graphql"))
            .bearer_auth(secret)
            .json(&body)
            .send()
            .await;
        let Ok(response) = sent else { break };
        let Ok(answer) = response.json::<serde_json::Value>().await else {
            break;
        };
        if answer["data"]["registerIdleAsset"]["idleAsset"]["code"] == code.as_str() {
            acknowledged.push(code);
        } else {
            assert!(
                answer["errors"].is_array(),
                "neither acknowledged nor refused: {answer}"
            );
            break;
        }
    }
    acknowledged
}

#[tokio::test]
async fn a_server_killed_while_writing_keeps_every_acknowledged_write_and_passes_the_check() {
    use rural_registry::db::entities::idle_asset;
    use sea_orm::EntityTrait;
    let mut engines = vec!["sqlite"];
    if std::env::var("TEST_DATABASE_URL").is_ok() {
        engines.push("postgres");
    }
    for engine in engines {
        let target = crate::helpers::scratch_database(engine).await;
        let url = target.url.clone();
        let mut server =
            tokio::task::spawn_blocking(move || crate::helpers::ServerProcess::start(&url, true))
                .await
                .expect("the server thread");
        let (address, secret) = (
            server.address.clone(),
            server.admin.clone().expect("the demo's ADMIN token"),
        );
        let writers = futures_util::future::join_all(
            (0..8).map(|c| register_until_refused(&address, &secret, c)),
        );
        let killer = async {
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
            // SIGKILL: no shutdown, no flush, transactions cut off wherever they are.
            server.child.kill().expect("kill -9");
            server.child.wait().expect("reaped")
        };
        let (acknowledged, status) = tokio::join!(writers, killer);
        assert!(!status.success(), "{engine}: the server was killed");
        let acknowledged: Vec<String> = acknowledged.into_iter().flatten().collect();
        assert!(
            acknowledged.len() >= 8,
            "{engine}: writes before the kill: {}",
            acknowledged.len()
        );

        let out = crate::helpers::cli(&target.url, &["check"]);
        assert!(
            out.status.success(),
            "{engine}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let db = sea_orm::Database::connect(&target.url)
            .await
            .expect("connect");
        let stored: std::collections::HashSet<String> = idle_asset::Entity::find()
            .all(&db)
            .await
            .expect("assets")
            .into_iter()
            .map(|a| a.code)
            .collect();
        db.close().await.expect("close");
        let lost: Vec<&String> = acknowledged
            .iter()
            .filter(|c| !stored.contains(*c))
            .collect();
        assert!(lost.is_empty(), "{engine}: acknowledged and lost: {lost:?}");
    }
}

#[tokio::test]
async fn a_server_whose_stdout_is_closed_serves_on() {
    let target = crate::helpers::scratch_database("sqlite").await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rural-registry"))
        .args(["--database-url", &target.url, "--log", "warn", "serve"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--metrics-listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("serve starts");
    // Nobody reads what it prints: the pipe is closed before it speaks.
    drop(child.stdout.take());
    let http = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut answered = false;
    while std::time::Instant::now() < deadline && !answered {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the server stopped when its stdout closed"
        );
        answered = http
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
    }
    assert!(answered, "the server answers");
    // Still up after it printed its address and the admin token to nobody.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(child.try_wait().expect("wait").is_none());
    child.kill().expect("stop it");
    let _ = child.wait();
}
