//! A graceful stop, on the real binary: on SIGTERM `/readyz` turns 503 at once (read on the
//! metrics listener, which answers until the end), the public port refuses new connections, a
//! request in flight finishes, a subscriber gets a close frame, and the process exits 0.
//!
//! The request in flight is held open by the test itself: it sends its headers with
//! `Expect: 100-continue`, waits for the server's `100 Continue` (the handler is reading the
//! body: the request is the server's), and sends the body only after the checks. No timing.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::helpers::{ServerProcess, subscribe_at};

/// How long any step may hang before the test gives up: a guard against a hang, not a
/// measure of speed.
const PATIENCE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn sigterm_drains_requests_closes_subscriptions_and_exits_zero() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/registry.db?mode=rwc", dir.path().display());
    let mut server = tokio::task::spawn_blocking(move || {
        ServerProcess::start_with(&url, true, |c| {
            c.args(["--shutdown-grace-secs", "600"]);
        })
    })
    .await
    .expect("started");
    let admin = server.admin.clone().expect("the demo admin token");
    let host = server.address.trim_start_matches("http://").to_owned();
    let ops = server
        .metrics_address
        .trim_end_matches("/metrics")
        .to_owned();
    let client = reqwest::Client::new();
    let ready = |client: &reqwest::Client| {
        let url = format!("{ops}/readyz");
        let client = client.clone();
        async move {
            client
                .get(url)
                .send()
                .await
                .expect("readyz")
                .status()
                .as_u16()
        }
    };
    assert_eq!(ready(&client).await, 200);

    let mut subscriber = subscribe_at(
        &server.address,
        Some(&admin),
        "subscription { mortgageEvents { applicationId action } }",
    )
    .await;

    // A request in flight: its head sent, its body held back.
    let body = r#"{"query":"query InFlight { townships(first: 2) { totalCount } }"}"#;
    let mut in_flight = TcpStream::connect(&host).expect("connect");
    in_flight
        .set_read_timeout(Some(PATIENCE))
        .expect("a read timeout");
    write!(
        in_flight,
        "POST /graphql HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Authorization: Bearer {admin}\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    )
    .expect("the request's head");
    let mut continued = [0u8; 25];
    in_flight.read_exact(&mut continued).expect("100 Continue");
    assert!(
        String::from_utf8_lossy(&continued).starts_with("HTTP/1.1 100 Continue"),
        "{}",
        String::from_utf8_lossy(&continued)
    );

    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());

    // /readyz answers 503 from the start of the stop.
    let deadline = Instant::now() + PATIENCE;
    while ready(&client).await != 503 {
        assert!(Instant::now() < deadline, "/readyz never turned 503");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // New connections to the public port are refused.
    while TcpStream::connect(&host).is_ok() {
        assert!(Instant::now() < deadline, "the public port still accepts");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The subscriber is told the server is going away.
    let close = tokio::time::timeout(PATIENCE, async {
        while let Some(message) = subscriber.next().await {
            if let Message::Close(frame) = message.expect("a message") {
                return frame;
            }
        }
        None
    })
    .await
    .expect("a close frame in time")
    .expect("a close frame with a code");
    assert_eq!(close.code, CloseCode::Away, "{close:?}");

    // The request in flight still gets its whole answer.
    in_flight.write_all(body.as_bytes()).expect("the body");
    let mut answer = String::new();
    in_flight
        .read_to_string(&mut answer)
        .expect("the answer, then the connection closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""totalCount":8"#), "{answer}");

    let status = tokio::task::spawn_blocking(move || {
        let status = server.child.wait().expect("the server exits");
        (status, server)
    })
    .await
    .expect("waited")
    .0;
    assert!(status.success(), "a graceful stop exits 0, got {status}");
}
