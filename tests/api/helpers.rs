//! The test harness: a real server through the real `App::build`, on port 0, over a fresh
//! database: a new SQLite file, and a new PostgreSQL database (dropped afterwards) when
//! `TEST_DATABASE_URL` names a PostgreSQL server.

use std::sync::Arc;

use rural_registry::app::App;
use rural_registry::config::Settings;
use rural_registry::db::QueryCounter;
use rural_registry::domain::access::Role;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};

/// A client's end of a WebSocket.
pub type WebSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    /// `http://127.0.0.1:PORT/metrics`, on the operations listener.
    pub metrics_address: String,
    /// `sqlite` or `postgres`, for assertion messages.
    pub engine: &'static str,
    pub client: reqwest::Client,
    pub queries: Arc<QueryCounter>,
    pub db: DatabaseConnection,
    /// The database's URL, for the command line.
    pub database_url: String,
    /// An ADMIN token's secret: `graphql` sends it; `graphql_as` chooses.
    pub admin: String,
    _database: TestDatabase,
}

enum TestDatabase {
    Sqlite(
        #[expect(
            dead_code,
            reason = "held for its Drop, which deletes the database folder"
        )]
        tempfile::TempDir,
    ),
    Postgres {
        admin_url: String,
        name: String,
    },
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime, which cannot block on itself: use a thread.
            let dropped = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    let admin = Database::connect(&admin_url)
                        .await
                        .expect("connect to drop the test database");
                    admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await
                        .expect("drop the test database");
                })
            });
            let _ = dropped.join();
        }
    }
}

/// One app on SQLite, plus one on PostgreSQL when `TEST_DATABASE_URL` is set; each loaded with
/// the demo district.
pub async fn spawn_apps() -> Vec<TestApp> {
    engines(true).await
}

/// Like [`spawn_apps`], over empty databases.
pub async fn spawn_empty_apps() -> Vec<TestApp> {
    engines(false).await
}

/// One app on SQLite with the demo district (for tests of HTTP behaviour, not storage).
pub async fn spawn_app() -> TestApp {
    spawn(fresh_sqlite(), true).await
}

async fn engines(demo: bool) -> Vec<TestApp> {
    let mut apps = vec![spawn(fresh_sqlite(), demo).await];
    if let Some(db) = fresh_postgres().await {
        apps.push(spawn(db, demo).await);
    }
    apps
}

fn fresh_sqlite() -> (String, TestDatabase, &'static str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/registry.db?mode=rwc", dir.path().display());
    (url, TestDatabase::Sqlite(dir), "sqlite")
}

async fn fresh_postgres() -> Option<(String, TestDatabase, &'static str)> {
    let admin_url = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    let name = format!(
        "rr_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let admin = Database::connect(&admin_url)
        .await
        .expect("connect to TEST_DATABASE_URL");
    admin
        .execute_raw(Statement::from_string(
            admin.get_database_backend(),
            format!("CREATE DATABASE \"{name}\""),
        ))
        .await
        .expect("create a test database");
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(base, _)| base);
    let url = format!("{base}/{name}");
    Some((url, TestDatabase::Postgres { admin_url, name }, "postgres"))
}

/// One app on a fresh PostgreSQL database with the demo district, reading from the streaming
/// replica `TEST_REPLICA_URL` names (`.ci/replica.sh` makes one); None without both URLs.
pub async fn spawn_with_replica() -> Option<(TestApp, String)> {
    let replica = std::env::var("TEST_REPLICA_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    let db = fresh_postgres().await?;
    let name = db.0.rsplit('/').next().expect("a database name").to_owned();
    let base = replica
        .rsplit_once('/')
        .map_or(replica.as_str(), |(b, _)| b);
    let url = format!("{base}/{name}");
    let read_url = url.clone();
    // The replica has the new database once it has replayed its creation.
    for _ in 0..100 {
        if Database::connect(&read_url).await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let app = spawn_adjusted(db, true, |s| s.database_read_url = Some(read_url)).await;
    Some((app, url))
}

static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// One app on SQLite with the demo district and settings changed by `adjust`.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_adjusted(fresh_sqlite(), true, adjust).await
}

async fn spawn(db: (String, TestDatabase, &'static str), demo: bool) -> TestApp {
    spawn_adjusted(db, demo, |_| {}).await
}

async fn spawn_adjusted(
    (url, database, engine): (String, TestDatabase, &'static str),
    demo: bool,
    adjust: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut settings = Settings::with_database(url.clone());
    settings.listen = "127.0.0.1:0".parse().expect("address");
    settings.metrics_listen = Some("127.0.0.1:0".parse().expect("address"));
    // Debug builds on a shared two-core machine resolve a page of 100 slowly; a wide batching
    // window keeps the SQL-count test about batching, not about the machine's speed.
    settings.batch_window_ms = 25;
    // The tests send hundreds of requests with one token; the rate-limit test sets its own.
    settings.rate_limit_per_minute = 0;
    adjust(&mut settings);
    let app = App::build(settings, demo).await.expect("the app builds");
    let address = format!("http://{}", app.address());
    let metrics_address = format!(
        "http://{}/metrics",
        app.metrics_address().expect("metrics are on")
    );
    let queries = app.query_counter();
    let db = app.db();
    let admin = match app.demo_admin_token.clone() {
        Some(secret) => secret,
        None => {
            rural_registry::db::access::create(&db, "test admin", Role::Admin, None, None)
                .await
                .expect("admin token")
                .1
        }
    };
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        metrics_address,
        engine,
        client: reqwest::Client::new(),
        queries,
        db,
        database_url: url,
        admin,
        _database: database,
    }
}

impl TestApp {
    /// POSTs a GraphQL request as ADMIN and returns the JSON response (whatever the status).
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.graphql_as(Some(&self.admin), query, variables).await
    }

    /// POSTs a GraphQL request with the given token (or none) and returns the JSON response.
    pub async fn graphql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.post_json_as(token, &json!({ "query": query, "variables": variables }))
            .await
    }

    /// POSTs any JSON body to /graphql as ADMIN.
    pub async fn post_json(&self, body: &Value) -> Value {
        self.post_json_as(Some(&self.admin), body).await
    }

    /// A new token of `role`, scoped to the township with `township_code` (CADRE) or to
    /// `bank_code` (BANK); returns its secret.
    pub async fn token(
        &self,
        role: Role,
        township_code: Option<&str>,
        bank_code: Option<&str>,
    ) -> String {
        let township = match township_code {
            Some(code) => Some(
                rural_registry::db::places::township_by_code(&self.db, code)
                    .await
                    .expect("query")
                    .expect("the township exists")
                    .id,
            ),
            None => None,
        };
        let label = format!("test {role}");
        rural_registry::db::access::create(&self.db, &label, role, township, bank_code)
            .await
            .expect("token")
            .1
    }

    async fn post_json_as(&self, token: Option<&str>, body: &Value) -> Value {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
            .send()
            .await
            .expect("request sent")
            .json()
            .await
            .expect("a JSON response")
    }

    /// A graphql-transport-ws connection to `/graphql/ws` with `token` in its
    /// `connection_init`, acknowledged, and `query` subscribed to as operation "1".
    pub async fn subscribe(&self, token: Option<&str>, query: &str) -> WebSocket {
        subscribe_at(&self.address, token, query).await
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request sent")
    }
}

/// A graphql-transport-ws connection to `/graphql/ws` of the server at `address`
/// (`http://…`), with `token` in its `connection_init`, acknowledged, and `query` subscribed to
/// as operation "1".
pub async fn subscribe_at(address: &str, token: Option<&str>, query: &str) -> WebSocket {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = format!("{}/graphql/ws", address.replace("http://", "ws://"));
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect");
    let payload = match token {
        Some(t) => json!({ "Authorization": format!("Bearer {t}") }),
        None => json!({}),
    };
    ws.send(Message::text(
        json!({ "type": "connection_init", "payload": payload }).to_string(),
    ))
    .await
    .expect("init");
    let ack = ws.next().await.expect("an answer").expect("a message");
    assert!(ack.to_string().contains("connection_ack"), "{ack}");
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": query } });
    ws.send(Message::text(subscribe.to_string()))
        .await
        .expect("subscribe");
    ws
}

/// The next message on a WebSocket, as JSON, or None after `wait_ms` without one.
pub async fn next_message(ws: &mut WebSocket, wait_ms: u64) -> Option<Value> {
    use futures_util::StreamExt;
    let m = tokio::time::timeout(std::time::Duration::from_millis(wait_ms), ws.next())
        .await
        .ok()??
        .ok()?;
    serde_json::from_str(&m.to_string()).ok()
}

/// A rectangle from longitude `x0` to `x1` and latitude 28.0 to 28.1, as a GeoJSON Polygon: a
/// made-up township or village boundary.
pub fn rect(x0: f64, x1: f64) -> Value {
    json!({ "type": "Polygon", "coordinates": [[[x0, 28.0], [x1, 28.0], [x1, 28.1], [x0, 28.1], [x0, 28.0]]] })
}

/// The `extensions.code` of the first error, if any.
pub fn error_code(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["code"].as_str()
}

/// Imports `input` into `db` as the district office would, from the command line.
pub async fn import_as_admin<R>(
    db: &DatabaseConnection,
    kind: rural_registry::services::import::Kind,
    input: R,
    mode: rural_registry::services::import::Mode,
) -> rural_registry::services::import::Report
where
    R: std::io::Read + std::io::Seek + Send + 'static,
{
    let actor = rural_registry::db::audit::Actor {
        label: "test".into(),
        role: "ADMIN".into(),
    };
    let who = rural_registry::services::import::Importing {
        actor: &actor,
        file_name: "test.csv",
        today: chrono::Local::now().date_naive(),
        job: None,
    };
    rural_registry::services::import::run(db, kind, input, mode, who, |_, _| {})
        .await
        .expect("the import runs")
}

impl TestApp {
    /// Asserts that `rural-registry check` finds nothing wrong: the storage, the asset tally
    /// against a recount, and every other rule of the registry (`services::check`).
    pub async fn assert_sound(&self) {
        let report = rural_registry::services::check::run(&self.db)
            .await
            .expect("the check runs");
        let failing: Vec<_> = report.outcomes.iter().filter(|o| o.problems > 0).collect();
        assert!(failing.is_empty(), "{}: {failing:#?}", self.engine);
    }
}

/// An empty database of one engine (no tables), dropped with the value.
pub struct ScratchDatabase {
    pub url: String,
    _database: TestDatabase,
}

pub async fn scratch_database(engine: &str) -> ScratchDatabase {
    let (url, database, _) = match engine {
        "sqlite" => fresh_sqlite(),
        _ => fresh_postgres()
            .await
            .expect("TEST_DATABASE_URL names PostgreSQL"),
    };
    ScratchDatabase {
        url,
        _database: database,
    }
}

/// `rural-registry --database-url URL --log warn ARGS…`, run to its end.
pub fn cli(url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_rural-registry"))
        .args(["--database-url", url, "--log", "warn"])
        .args(args)
        .output()
        .expect("run rural-registry")
}

/// A `rural-registry serve` process on a free port, killed when dropped: a failed assertion
/// never leaves one running.
pub struct ServerProcess {
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT`
    pub address: String,
    /// `http://127.0.0.1:PORT/metrics`, on the operations listener (also a free port).
    pub metrics_address: String,
    /// The ADMIN token it printed, when it loaded the demo district.
    pub admin: Option<String>,
}

impl ServerProcess {
    /// Serves `url`. With `demo`, the database is empty and the server loads the demo district
    /// and prints its ADMIN token; without, it serves what is there (`--no-demo`).
    pub fn start(url: &str, demo: bool) -> Self {
        Self::start_with(url, demo, |_| {})
    }

    /// [`Self::start`], with the command changed by `adjust` first (more settings, stderr
    /// piped): stdout is the harness's.
    pub fn start_with(
        url: &str,
        demo: bool,
        adjust: impl FnOnce(&mut std::process::Command),
    ) -> Self {
        use std::io::{BufRead, BufReader};
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_rural-registry"));
        command
            .args(["--database-url", url, "--log", "warn", "serve"])
            .args(["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"]);
        if !demo {
            command.arg("--no-demo");
        }
        adjust(&mut command);
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("serve starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut next = || lines.next().expect("a line").expect("text");
        let first = next();
        let address = first.rsplit(' ').next().expect("an address").to_owned();
        let _graphiql = next();
        let metrics = next();
        let metrics_address = metrics
            .strip_prefix("Metrics: ")
            .expect("the metrics address")
            .to_owned();
        let admin = demo.then(|| {
            let _heading = next();
            let secret = next().trim().to_owned();
            assert!(secret.starts_with("rr_"), "{first} / {secret}");
            secret
        });
        // Read whatever else it says, so that it never writes to a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            address,
            metrics_address,
            admin,
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
