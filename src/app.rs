//! The application: connect, migrate, load the demo district when the database is empty,
//! build the schema, bind, and serve until stopped.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

use crate::config::Settings;
use crate::db::{self, QueryCounter};
use crate::domain::access::Role;
use crate::graphql::{self, Limits};
use crate::http::rate_limit::{self, RateLimiter};
use crate::http::shutdown::Shutdown;
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::services::import::jobs::ImportJobs;
use crate::services::seed;

/// A built application, bound to its port, not yet serving.
pub struct App {
    state: AppState,
    acceptor: TcpAcceptor,
    address: SocketAddr,
    /// The operations listener (`METRICS_LISTEN`) and its address, unless it is off.
    metrics: Option<(TcpAcceptor, SocketAddr)>,
    /// Files imported through the API in the background.
    jobs: ImportJobs,
    /// How many records the demo loading added on start (0 when the database had data).
    pub seeded: usize,
    /// When the demo district was loaded, the secret of the admin token made with it: shown
    /// once, so a newcomer can try mutations at once.
    pub demo_admin_token: Option<String>,
}

/// How long a scrape of /metrics in flight may take to finish once the server has stopped.
const METRICS_GRACE: Duration = Duration::from_secs(1);

/// How often the server folds the asset tally's appended rows (`db::statistics::compact_tally`)
/// and the table versions' (`db::table_versions::compact`).
const TALLY_COMPACTION: Duration = Duration::from_secs(60);

/// How often the server prunes the event log to its retention (`CHANGE_RETENTION_DAYS`).
const PRUNING: Duration = Duration::from_secs(3600);

/// Runs `task` every `period` while the server runs, the first time at start; a tick missed
/// while it ran is delayed, not bunched.
fn periodically<F, T>(period: Duration, mut task: F)
where
    F: FnMut() -> T + Send + 'static,
    T: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut every = tokio::time::interval(period);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            task().await;
        }
    });
}

/// Folds the asset tally and the table versions every `TALLY_COMPACTION` while the server runs.
/// A failure is logged and tried again next time: readers sum the rows, so the figures and the
/// ETags stay right meanwhile.
fn compact_tally_periodically(db: DatabaseConnection) {
    periodically(TALLY_COMPACTION, move || {
        let db = db.clone();
        async move {
            match db::statistics::compact_tally(&db).await {
                Ok(0) => {}
                Ok(folded) => tracing::debug!(folded, "compacted the asset tally"),
                Err(error) => tracing::warn!(?error, "compacting the asset tally"),
            }
            if let Err(error) = db::table_versions::compact(&db).await {
                tracing::warn!(?error, "compacting the table versions");
            }
        }
    });
}

/// Deletes the events older than `days` every `PRUNING` while the server runs. Every instance
/// may do it: each prune is one transaction, and a second finds nothing.
fn prune_events_periodically(db: DatabaseConnection, days: u32) {
    periodically(PRUNING, move || {
        let db = db.clone();
        async move {
            let before = chrono::Utc::now() - chrono::Duration::days(i64::from(days));
            match db::events::prune(&db, before).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, days, "pruned the event log"),
                Err(error) => tracing::warn!(?error, "pruning the event log"),
            }
        }
    });
}

/// The read replica's pool, counting its statements with the primary's.
async fn connect_replica(
    url: &str,
    queries: &Arc<db::QueryCounter>,
) -> anyhow::Result<sea_orm::DatabaseConnection> {
    if db::Engine::of(url) != Some(db::Engine::Postgres) {
        anyhow::bail!(
            "the read replica {url:?} must be PostgreSQL (postgres://…): SQLite has none (setting DATABASE_READ_URL / --database-read-url)"
        );
    }
    db::connect_counting(url, queries.clone()).await
}

impl App {
    /// Connects, migrates, loads the demo district if the database is empty and `demo` is set,
    /// and binds the listener (port 0 picks a free port).
    pub async fn build(settings: Settings, demo: bool) -> anyhow::Result<Self> {
        let (db, queries) = db::connect(&settings.database_url).await?;
        db::migrate(&db).await?;
        let mut seeded = 0;
        let mut demo_admin_token = None;
        if demo && is_empty(&db).await? {
            let report = seed::load(&db, chrono::Local::now().date_naive()).await?;
            tracing::info!(?report, "loaded the demo district into the empty database");
            seeded = report.total();
            let (_, secret) = db::access::create(
                &db,
                "demo admin (created with the demo district)",
                Role::Admin,
                None,
                None,
            )
            .await?;
            demo_admin_token = Some(secret);
        }
        let limits = Limits {
            max_depth: usize::from(settings.max_query_depth),
            max_complexity: settings.max_query_complexity,
            max_aliases: settings.max_aliases,
            max_directives: settings.max_directives,
            min_public_cell: settings.min_public_cell,
        };
        let limiter = Arc::new(RateLimiter::new(settings.rate_limit_per_minute));
        rate_limit::sweep_periodically(&limiter);
        compact_tally_periodically(db.clone());
        prune_events_periodically(db.clone(), settings.change_retention_days);
        if let Some(hours) = settings.backup_every_hours {
            crate::services::backup::schedule(
                settings.database_url.clone(),
                Duration::from_secs_f64(hours * 3600.0),
                settings.backup_dir.clone(),
                settings.backup_keep as usize,
            );
        }
        let locator = Arc::new(RwLock::new(graphql::LocatorSnapshot::new(
            db::places::versioned_locator(&db).await?,
        )));
        let events = crate::services::events::EventHub::start(db.clone()).await?;
        let instruments = Metrics::new();
        let jobs = ImportJobs::start(db.clone(), Some(instruments.clone()));
        let schemas = graphql::build_schemas(db.clone(), locator, events, jobs.clone(), limits);
        let (acceptor, address) = bind(settings.listen, "LISTEN_ADDR / --listen").await?;
        let metrics = match settings.metrics_listen {
            Some(at) => Some(bind(at, "METRICS_LISTEN / --metrics-listen").await?),
            None => None,
        };
        let replica = match &settings.database_read_url {
            Some(url) => Some(connect_replica(url, &queries).await?),
            None => None,
        };
        let state = AppState {
            db,
            replica,
            schemas,
            limits,
            documents: Arc::default(),
            settings: Arc::new(settings),
            queries,
            limiter,
            metrics: instruments,
            shutdown: Shutdown::default(),
        };
        Ok(Self {
            state,
            jobs,
            acceptor,
            address,
            metrics,
            seeded,
            demo_admin_token,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Where /metrics is served (`METRICS_LISTEN`), unless it is off.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(_, address)| *address)
    }

    /// The app's database connection (a pool: cloning shares it).
    pub fn db(&self) -> DatabaseConnection {
        self.state.db.clone()
    }

    /// The statement counter of the app's database connection.
    pub fn query_counter(&self) -> Arc<QueryCounter> {
        self.state.queries.clone()
    }

    /// Serves until SIGINT or SIGTERM, then stops: `/readyz` answers 503 at once, the public
    /// port refuses new connections, requests in flight finish and WebSocket clients get a
    /// close frame, and a running import job may end, all within `SHUTDOWN_GRACE_SECS` (queued
    /// jobs are marked failed at once); the metrics listener answers until then.
    /// Then it closes the pool.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let db = self.state.db.clone();
        let shutdown = self.state.shutdown.clone();
        let grace = Duration::from_secs(self.state.settings.shutdown_grace_secs);
        let (metrics_done, metrics_stop) = tokio::sync::oneshot::channel::<()>();
        let metrics = self.metrics.map(|(acceptor, _)| {
            tokio::spawn(
                poem::Server::new_with_acceptor(acceptor).run_with_graceful_shutdown(
                    http::metrics::routes(self.state.clone()),
                    async {
                        let _ = metrics_stop.await;
                    },
                    Some(METRICS_GRACE),
                ),
            )
        });
        let stop = {
            let shutdown = shutdown.clone();
            async move {
                shutdown_signal().await;
                tracing::info!(
                    grace_secs = grace.as_secs(),
                    "stopping: /readyz answers 503, new connections are refused, requests in \
                     flight finish, subscribers are sent a close frame"
                );
                shutdown.begin();
            }
        };
        // WebSockets are no longer the server's connections once upgraded: waited for apart.
        let sockets = tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                shutdown.stopping().await;
                tokio::time::timeout(grace, shutdown.sockets_closed())
                    .await
                    .is_ok()
            }
        });
        // Import jobs: the queued ones fail at once, the running one has the grace period.
        let imports = tokio::spawn({
            let shutdown = shutdown.clone();
            let jobs = self.jobs.clone();
            async move {
                shutdown.stopping().await;
                jobs.stop(grace).await
            }
        });
        let served = poem::Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(http::routes(self.state), stop, Some(grace))
            .await;
        // Ends the wait for sockets too if the server ended without a signal.
        shutdown.begin();
        if !sockets.await.unwrap_or(false) {
            tracing::warn!("subscriptions still open after the grace period: cut off");
        }
        let imports_ended = imports.await.unwrap_or(false);
        let _ = metrics_done.send(());
        if let Some(metrics) = metrics {
            match metrics.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::warn!(%error, "the metrics listener stopped with an error")
                }
                Err(error) => tracing::warn!(%error, "the metrics listener failed"),
            }
        }
        served.context("the server stopped with an error")?;
        if imports_ended {
            db.close().await.context("closing the database")?;
        } else {
            // Closing the pool would wait for the import's connection: the process exits with
            // the transaction open instead, which rolls it back.
            tracing::warn!(
                "an import job still running after the grace period: cut off, its transaction \
                 rolled back; it is reported FAILED"
            );
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Binds `at` (port 0 picks a free port), naming `setting` when it cannot.
async fn bind(at: SocketAddr, setting: &str) -> anyhow::Result<(TcpAcceptor, SocketAddr)> {
    let acceptor = TcpListener::bind(at.to_string())
        .into_acceptor()
        .await
        .with_context(|| format!("cannot listen on {at} (setting {setting})"))?;
    let address = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .context("the listener has no address")?;
    Ok((acceptor, address))
}

async fn is_empty(db: &DatabaseConnection) -> anyhow::Result<bool> {
    let n = db::entities::township::Entity::find()
        .count(db)
        .await
        .map_err(db::StoreError::from)?;
    Ok(n == 0)
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(err) => {
                tracing::warn!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
}
