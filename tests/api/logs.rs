//! `LOG_FORMAT=json`, on the real binary: every line on stderr is a JSON object, and an
//! `INTERNAL` error and an export that fails midway are logged with the request's id (the
//! client's `X-Request-Id`), the error's id being the one the client was shown.

use std::io::Read;

use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

use crate::helpers::ServerProcess;

#[tokio::test]
async fn json_logs_carry_the_request_id_of_internal_errors_and_broken_exports() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/registry.db?mode=rwc", dir.path().display());
    let mut server = tokio::task::spawn_blocking({
        let url = url.clone();
        move || {
            ServerProcess::start_with(&url, true, |c| {
                c.env("LOG_FORMAT", "json")
                    .stderr(std::process::Stdio::piped());
            })
        }
    })
    .await
    .expect("started");
    let mut stderr = server.child.stderr.take().expect("stderr");
    let logs = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let admin = server.admin.clone().expect("the demo admin token");
    let client = reqwest::Client::new();

    // Break the parties' table under the running server: reading it is now an internal error.
    let db = Database::connect(&url).await.expect("connect");
    db.execute_unprepared("ALTER TABLE party RENAME TO party_gone")
        .await
        .expect("renamed");
    db.close().await.expect("closed");

    let r: Value = client
        .post(format!("{}/graphql", server.address))
        .bearer_auth(&admin)
        .header("x-request-id", "logs-test-internal")
        .json(&json!({ "query": "{ idleAssets(first: 2) { nodes { code owner { name } } } }" }))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(crate::helpers::error_code(&r), Some("INTERNAL"), "{r}");
    let message = r["errors"][0]["message"].as_str().unwrap_or_default();
    let error_id = message
        .strip_prefix("internal error ")
        .and_then(|m| m.split(':').next())
        .expect("the error's id")
        .to_owned();

    // An export's head is sent before its rows are read: the failure comes midway.
    let export = client
        .get(format!("{}/export/parties.csv", server.address))
        .bearer_auth(&admin)
        .header("x-request-id", "logs-test-export")
        .send()
        .await
        .expect("sent");
    assert_eq!(export.status(), 200);
    let _cut_short = export.bytes().await;

    // The answers are counted by code on the binary's metrics listener.
    let metrics = client
        .get(&server.metrics_address)
        .send()
        .await
        .expect("scraped")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains(r#"route="/graphql",status="200",code="INTERNAL"} 1"#),
        "{metrics}"
    );

    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || {
        let status = server.child.wait().expect("the server exits");
        (status, server)
    })
    .await
    .expect("waited")
    .0;
    assert!(status.success(), "{status}");
    let text = logs.join().expect("the log reader");

    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let in_request = |line: &Value, id: &str| {
        line["spans"]
            .as_array()
            .is_some_and(|spans| spans.iter().any(|s| s["request_id"] == id))
    };
    let internal = lines
        .iter()
        .find(|l| l["fields"]["message"] == "internal error" && in_request(l, "logs-test-internal"))
        .unwrap_or_else(|| panic!("the internal error with its request id in:\n{text}"));
    assert_eq!(internal["level"], "ERROR");
    assert_eq!(
        internal["fields"]["error_id"],
        error_id.as_str(),
        "{internal}"
    );
    assert!(
        lines.iter().any(|l| l["level"] == "ERROR"
            && l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("streamed answer failed midway"))
            && in_request(l, "logs-test-export")),
        "the broken export with its request id in:\n{text}"
    );
    // The request's span names the caller's role, never the token.
    let span = internal["spans"]
        .as_array()
        .and_then(|spans| {
            spans
                .iter()
                .find(|s| s["request_id"] == "logs-test-internal")
        })
        .expect("the request's span");
    assert_eq!(span["role"], "ADMIN", "{span}");
    assert_eq!(
        span["route"],
        Value::Null,
        "recorded only once answered: {span}"
    );
    assert!(!text.contains(&admin), "a token in the log");
}
