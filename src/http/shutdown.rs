//! The stop, as the routes see it: whether the server is stopping (`/readyz` answers 503 from
//! the moment it is), and the WebSocket connections still open, which the server waits for
//! after it stopped accepting: each sends its client a close frame, then ends.
//!
//! `app::App::run_until_stopped` begins the stop on SIGTERM or Ctrl-C.

use std::sync::Arc;

use tokio::sync::watch;

/// The server's stop; cloning shares it.
#[derive(Clone, Debug)]
pub struct Shutdown(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    stopping: watch::Sender<bool>,
    sockets: watch::Sender<usize>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self(Arc::new(Inner {
            stopping: watch::Sender::new(false),
            sockets: watch::Sender::new(0),
        }))
    }
}

impl Shutdown {
    /// Begins the stop (a second call changes nothing).
    pub fn begin(&self) {
        self.0.stopping.send_replace(true);
    }

    /// Whether the stop has begun.
    pub fn is_stopping(&self) -> bool {
        *self.0.stopping.borrow()
    }

    /// Resolves once the stop has begun.
    pub async fn stopping(&self) {
        let mut stopping = self.0.stopping.subscribe();
        // The sender lives as long as `self`, so waiting cannot fail.
        let _ = stopping.wait_for(|s| *s).await;
    }

    /// Counts a WebSocket connection as open until the guard is dropped.
    #[must_use = "the socket counts as open while the guard lives"]
    pub fn socket_opened(&self) -> OpenSocket {
        self.0.sockets.send_modify(|n| *n += 1);
        OpenSocket(self.clone())
    }

    /// Resolves once no WebSocket connection is open.
    pub async fn sockets_closed(&self) {
        let mut sockets = self.0.sockets.subscribe();
        let _ = sockets.wait_for(|n| *n == 0).await;
    }
}

/// An open WebSocket connection, for [`Shutdown::sockets_closed`].
#[derive(Debug)]
pub struct OpenSocket(Shutdown);

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.0.sockets.send_modify(|n| *n = n.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_the_stop_and_for_sockets_to_close() {
        let s = Shutdown::default();
        assert!(!s.is_stopping());
        let open = s.socket_opened();
        let waiting = tokio::spawn({
            let s = s.clone();
            async move {
                s.stopping().await;
                s.sockets_closed().await;
            }
        });
        s.begin();
        assert!(s.is_stopping());
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(open);
        assert!(waiting.await.is_ok());
    }
}
