//! Every bad input has a defined answer: an error with a code, never a crash or a silent null.

use serde_json::json;

use crate::helpers::{error_code, spawn_app};

#[tokio::test]
async fn bad_arguments_get_errors_with_codes() {
    let app = spawn_app().await;
    let cases = [
        (
            "{ idleAssets(first: 0) { totalCount } }",
            "BAD_INPUT",
            "first: 0",
        ),
        (
            "{ idleAssets(first: -1) { totalCount } }",
            "BAD_INPUT",
            "first: -1",
        ),
        (
            "{ idleAssets(first: 101) { totalCount } }",
            "LIMIT_EXCEEDED",
            "first: 101",
        ),
        (
            "{ idleAssets(last: 101) { totalCount } }",
            "LIMIT_EXCEEDED",
            "last: 101",
        ),
        (
            "{ idleAssets(first: 5, last: 5) { totalCount } }",
            "BAD_INPUT",
            "first and last",
        ),
        (
            "{ townships(first: 2147483648) { totalCount } }",
            "BAD_INPUT",
            "first beyond Int",
        ),
        (
            r#"{ idleAssets(first: 5, after: "not-a-cursor") { totalCount } }"#,
            "BAD_INPUT",
            "garbage cursor",
        ),
        (
            r#"{ idleAssets(first: 5, after: "SURfREVTQ3x8Mw") { totalCount } }"#,
            "BAD_INPUT",
            "cursor of another order",
        ),
        (
            r#"{ idleAssets(first: 5, after: "SURMRV9TSU5DRXx4fDM", orderBy: {field: IDLE_SINCE}) { totalCount } }"#,
            "BAD_INPUT",
            "cursor with a bad date",
        ),
        (r#"{ node(id: "!!!") { id } }"#, "BAD_INPUT", "malformed ID"),
        (
            r#"{ node(id: "Q2FzdGxlOjE") { id } }"#,
            "BAD_INPUT",
            "ID of an unknown type",
        ),
        (
            r#"{ idleAsset(id: "VmlsbGFnZTox") { code } }"#,
            "BAD_INPUT",
            "ID of another type",
        ),
        (
            r#"{ idleAsset { code } }"#,
            "BAD_INPUT",
            "neither id nor code",
        ),
        (
            "{ idleAssets(filter: { status: [DEMOLISHED] }) { totalCount } }",
            "BAD_INPUT",
            "unknown enum value",
        ),
        (
            "{ idleAssets(filter: { idleSinceFrom: \"2020-13-45\" }) { totalCount } }",
            "BAD_INPUT",
            "impossible date",
        ),
        ("{ townships { nope } }", "BAD_INPUT", "unknown field"),
        (
            "{ townships(first: 1) { totalCount ",
            "BAD_INPUT",
            "syntax error",
        ),
        ("mutation { x }", "BAD_INPUT", "no mutations yet"),
    ];
    for (query, code, why) in cases {
        let r = app.graphql(query, json!({})).await;
        assert_eq!(error_code(&r), Some(code), "{why}: {r}");
        let message = r["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{why}: a message a cadre can read");
    }
}

#[tokio::test]
async fn malformed_requests_are_400_with_a_coded_error() {
    let app = spawn_app().await;
    let url = format!("{}/graphql", app.address);
    // A body that is not JSON cannot be read at all (400); an empty batch or a request without
    // a query is read as an empty document, which does not parse (a request error).
    let cases = [
        ("{not json", "application/json", 400),
        (r#"{"query": 42}"#, "application/json", 400),
        ("", "application/json", 400),
        ("[]", "application/json", 200),
        (r#"{"variables": {}}"#, "application/json", 200),
        ("{ townships { totalCount } }", "text/plain", 415),
        (
            "--x\r\nnot multipart",
            "multipart/form-data; boundary=x",
            400,
        ),
    ];
    for (body, content_type, status) in cases {
        let r = app
            .client
            .post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), status, "{body}");
        let json: serde_json::Value = r.json().await.expect("JSON");
        assert_eq!(error_code(&json), Some("BAD_INPUT"), "{body}: {json}");
    }
}

#[tokio::test]
async fn graphql_response_media_type_gets_400_for_requests_that_cannot_run() {
    let app = spawn_app().await;
    let send = |query: &'static str| {
        app.client
            .post(format!("{}/graphql", app.address))
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": query }))
            .send()
    };
    let r = send("{ townships { nope } }").await.expect("sent");
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.headers()["content-type"],
        "application/graphql-response+json"
    );
    let body: serde_json::Value = r.json().await.expect("JSON");
    assert!(
        body.get("data").is_none(),
        "a request error has no data: {body}"
    );
    let r = send("{ townships(first: 1) { totalCount } }")
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    let plain = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "query": "{ townships { nope } }" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        plain.status(),
        200,
        "legacy application/json clients get 200"
    );
    assert_eq!(plain.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn get_serves_queries_but_never_mutations() {
    let app = spawn_app().await;
    let ok = app
        .get("/graphql?query=%7Btownships(first%3A1)%7BtotalCount%7D%7D")
        .await;
    assert_eq!(ok.status(), 200);
    let body: serde_json::Value = ok.json().await.expect("JSON");
    assert_eq!(body["data"]["townships"]["totalCount"], 8);
    let refused = app.get("/graphql?query=mutation%7Bx%7D").await;
    assert_eq!(
        refused.status(),
        405,
        "GraphQL over HTTP: no mutation over GET"
    );
    let r: serde_json::Value = refused.json().await.expect("JSON");
    assert_eq!(error_code(&r), Some("BAD_INPUT"), "{r}");
}

#[tokio::test]
async fn a_request_another_site_could_send_unasked_runs_nothing() {
    let app = spawn_app().await;
    let url = format!("{}/graphql", app.address);
    let owner = rural_registry::graphql::common::ids::Kind::Party.id(1);
    let register = |code: &str| {
        json!({
            "query": "mutation ($i: RegisterIdleAssetInput!) { registerIdleAsset(input: $i) { idleAsset { code } } }",
            "variables": { "i": {
                "code": code, "kind": "IDLE_FARMHOUSE", "ownerId": owner,
                "longitude": 117.164953, "latitude": 28.16099,
            }},
        })
        .to_string()
    };
    // What a web page may POST to another site without a preflight: text/plain, a form, or
    // a body with no type; each a JSON mutation, with a token, as a forged request would be.
    for (n, content_type) in [
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        None,
    ]
    .into_iter()
    .enumerate()
    {
        let code = format!("SIMPLE-{n}");
        let mut req = app
            .client
            .post(&url)
            .bearer_auth(&app.admin)
            .body(register(&code));
        if let Some(t) = content_type {
            req = req.header("content-type", t);
        }
        let r = req.send().await.expect("sent");
        assert_eq!(r.status(), 415, "{content_type:?}");
        let body: serde_json::Value = r.json().await.expect("JSON");
        assert_eq!(error_code(&body), Some("BAD_INPUT"), "{body}");
        let found = app
            .graphql(
                "query ($c: String!) { idleAsset(code: $c) { code } }",
                json!({ "c": code }),
            )
            .await;
        assert!(
            found["data"]["idleAsset"].is_null(),
            "{content_type:?} ran: {found}"
        );
    }
    // Multipart is for uploads: a mutation without importFile is refused, unrun.
    let boundary = "rr-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{{}}\r\n\
         --{boundary}--\r\n",
        register("SIMPLE-MULTIPART")
    );
    let r = app
        .client
        .post(&url)
        .bearer_auth(&app.admin)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.expect("JSON");
    assert_eq!(error_code(&body), Some("BAD_INPUT"), "{body}");
    let found = app
        .graphql(
            "{ idleAsset(code: \"SIMPLE-MULTIPART\") { code } }",
            json!({}),
        )
        .await;
    assert!(found["data"]["idleAsset"].is_null(), "{found}");
    // application/json, with a charset, runs.
    let r = app
        .client
        .post(&url)
        .bearer_auth(&app.admin)
        .header("content-type", "application/json; charset=utf-8")
        .body(register("SIMPLE-JSON"))
        .send()
        .await
        .expect("sent");
    let body: serde_json::Value = r.json().await.expect("JSON");
    assert_eq!(
        body["data"]["registerIdleAsset"]["idleAsset"]["code"], "SIMPLE-JSON",
        "{body}"
    );
}

#[tokio::test]
async fn a_field_with_too_many_directives_is_refused() {
    let app = spawn_app().await;
    let skips = |n: usize| {
        format!(
            "{{ townships(first: 1) {{ totalCount {} }} }}",
            "@skip(if: false) ".repeat(n)
        )
    };
    let r = app.graphql(&skips(1000), json!({})).await;
    assert_eq!(error_code(&r), Some("LIMIT_EXCEEDED"), "{r}");
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("8 directives")),
        "{r}"
    );
    // Two different ones (a directive may not repeat on a field) are fine.
    let r = app
        .graphql(
            "{ townships(first: 1) { totalCount @skip(if: false) @include(if: true) } }",
            json!({}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    assert!(r["data"]["townships"]["totalCount"].is_number(), "{r}");
}
