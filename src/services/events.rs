//! The event hub: one per server process, between the event log (`db::events`) and the
//! process's subscribers. The log is the truth; the hub only saves each subscriber from reading
//! it on its own.
//!
//! One task reads the log as far as it can be read ([`db::events::after`]) and hands each event
//! to every subscriber in log order. It reads when PostgreSQL's `NOTIFY registry_events` says a
//! writer committed events (on any instance, or the command line), and in any case every
//! [`POLL`] (SQLite has no notifications; on PostgreSQL this also catches a notification lost
//! while the listening connection was down, and events a long transaction held back).
//!
//! A subscriber ([`EventHub::follow`]) that starts from an event id, or falls behind the hub,
//! reads what it missed from the log itself, then goes on with the hub, dropping what it has
//! already had: it never misses an event or hears one twice.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::Stream;
use sea_orm::DatabaseConnection;
use sea_orm::sqlx::postgres::PgListener;
use tokio::sync::broadcast;

use crate::db::StoreResult;
use crate::db::events::{self, Event, Position};

/// The PostgreSQL channel the log's trigger notifies.
const CHANNEL: &str = "registry_events";

/// Events read from the log at once.
const PAGE: u64 = 500;

/// Events a subscriber may fall behind the hub by before it reads them from the log instead.
const BACKLOG: usize = 1024;

/// How often the log is read without being told to: PostgreSQL notifies, SQLite cannot.
fn poll(postgres: bool) -> Duration {
    if postgres {
        Duration::from_secs(1)
    } else {
        Duration::from_millis(100)
    }
}

struct Shared {
    /// How far the hub has read, and where it hands events on; changed together, so that a
    /// subscriber starting "now" gets every event after the position it is given.
    state: Mutex<(Position, broadcast::Sender<Arc<Event>>)>,
}

/// The process's reader of the event log. Cheap to clone.
#[derive(Clone)]
pub struct EventHub {
    db: DatabaseConnection,
    shared: Arc<Shared>,
}

impl EventHub {
    /// Starts reading the log from its current end, in a task of its own that ends when every
    /// clone of the hub is gone.
    pub async fn start(db: DatabaseConnection) -> StoreResult<Self> {
        let end = events::end(&db).await?;
        let shared = Arc::new(Shared {
            state: Mutex::new((end, broadcast::channel(BACKLOG).0)),
        });
        let hub = Self { db, shared };
        tokio::spawn(run(hub.db.clone(), Arc::downgrade(&hub.shared)));
        Ok(hub)
    }

    /// The events after `after`, or, without it, those committed from now on, in log order,
    /// for as long as the stream is polled.
    pub fn follow(&self, after: Option<Position>) -> impl Stream<Item = Arc<Event>> + use<> {
        let (rx, cursor) = {
            let state = lock(&self.shared);
            (state.1.subscribe(), after.unwrap_or(state.0))
        };
        let follower = Follower {
            db: self.db.clone(),
            rx,
            cursor,
            catching_up: after.is_some(),
            backlog: VecDeque::new(),
        };
        futures_util::stream::unfold(follower, |mut f| async move {
            let event = f.next().await?;
            Some((event, f))
        })
    }
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, (Position, broadcast::Sender<Arc<Event>>)> {
    // A panic while the lock was held cannot leave the pair half-changed: both are set in one
    // assignment each, so a poisoned lock is still sound.
    shared.state.lock().unwrap_or_else(|e| e.into_inner())
}

/// One subscriber's place in the log.
struct Follower {
    db: DatabaseConnection,
    rx: broadcast::Receiver<Arc<Event>>,
    /// The last event handed out (or the start).
    cursor: Position,
    /// Reading from the log rather than from the hub.
    catching_up: bool,
    backlog: VecDeque<Arc<Event>>,
}

impl Follower {
    async fn next(&mut self) -> Option<Arc<Event>> {
        loop {
            if let Some(event) = self.backlog.pop_front() {
                self.cursor = event.position;
                return Some(event);
            }
            if self.catching_up {
                match events::after(&self.db, self.cursor, PAGE).await {
                    Ok(page) => {
                        self.catching_up = page.len() as u64 == PAGE;
                        self.backlog.extend(page.into_iter().map(Arc::new));
                    }
                    Err(e) => {
                        tracing::warn!(error = ?e.0, "reading the event log for a subscriber failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                continue;
            }
            match self.rx.recv().await {
                Ok(event) if event.position > self.cursor => {
                    self.cursor = event.position;
                    return Some(event);
                }
                // Already read from the log.
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(_)) => self.catching_up = true,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

/// The hub's reader: until the hub is dropped, reads the log whenever told or every `poll`.
async fn run(db: DatabaseConnection, shared: std::sync::Weak<Shared>) {
    let postgres = db.get_database_backend() == sea_orm::DbBackend::Postgres;
    let mut listener: Option<PgListener> = None;
    loop {
        if postgres && listener.is_none() {
            listener = listen(&db).await;
        }
        let told = async {
            match listener.as_mut() {
                Some(l) => l.try_recv().await,
                None => std::future::pending().await,
            }
        };
        let heard = tokio::select! {
            heard = told => Some(heard),
            () = tokio::time::sleep(poll(postgres)) => None,
        };
        // A lost connection (`Ok(None)`) was made again: what was notified meanwhile is read
        // below all the same.
        if let Some(Err(e)) = heard {
            tracing::warn!(error = %e, "the event listener's connection failed; reconnecting");
            listener = None;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if let Err(e) = read(&db, &shared).await {
            tracing::warn!(error = ?e.0, "reading the event log failed; retrying");
        }
    }
}

async fn listen(db: &DatabaseConnection) -> Option<PgListener> {
    let connect = async {
        let mut listener = PgListener::connect_with(db.get_postgres_connection_pool()).await?;
        listener.listen(CHANNEL).await?;
        Ok::<_, sea_orm::sqlx::Error>(listener)
    };
    match connect.await {
        Ok(listener) => Some(listener),
        Err(e) => {
            tracing::warn!(error = %e, "listening for events failed; reading the log every second meanwhile");
            None
        }
    }
}

/// Reads the log as far as it can and hands the events on.
async fn read(db: &DatabaseConnection, shared: &Shared) -> StoreResult<()> {
    loop {
        let (from, listened) = {
            let state = lock(shared);
            (state.0, state.1.receiver_count() > 0)
        };
        if !listened {
            // Nobody to tell: keep up with the end, without reading what lies before it.
            let end = events::end(db).await?;
            let mut state = lock(shared);
            if state.0 == from && state.1.receiver_count() == 0 {
                state.0 = end.max(from);
                return Ok(());
            }
            continue;
        }
        let page = events::after(db, from, PAGE).await?;
        let full = page.len() as u64 == PAGE;
        {
            let mut state = lock(shared);
            for event in page {
                state.0 = event.position;
                // Nobody listening any more is fine.
                let _ = state.1.send(Arc::new(event));
            }
        }
        if !full {
            return Ok(());
        }
    }
}
