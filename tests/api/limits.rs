//! Depth, complexity, batch and body limits, and the introspection GraphiQL needs passing them.

use serde_json::json;

use crate::helpers::{error_code, spawn_app};

/// The introspection query GraphiQL sends (graphql-js `getIntrospectionQuery` with descriptions,
/// `specifiedByURL`, directive repeatability and deprecated input values): 13 levels deep.
pub const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives { name description isRepeatable locations args(includeDeprecated: true) { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description specifiedByURL
  fields(includeDeprecated: true) {
    name description
    args(includeDeprecated: true) { ...InputValue }
    type { ...TypeRef }
    isDeprecated deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name description type { ...TypeRef } defaultValue isDeprecated deprecationReason
}
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }
}"#;

#[tokio::test]
async fn graphiqls_introspection_passes_the_limits() {
    let app = spawn_app().await;
    let r = app.graphql(INTROSPECTION, json!({})).await;
    assert!(r["errors"].is_null(), "{r}");
    let types = r["data"]["__schema"]["types"].as_array().expect("types");
    let asset = types
        .iter()
        .find(|t| t["name"] == "IdleAsset")
        .expect("IdleAsset is in the schema");
    assert!(
        asset["description"]
            .as_str()
            .expect("described")
            .contains("闲置农房"),
        "docs carry the Chinese term"
    );
}

#[tokio::test]
async fn too_deep_and_too_complex_queries_are_refused_with_the_limit() {
    let app = spawn_app().await;
    let deep = "{ idleAssets(first: 1) { nodes { village { township { villages(first: 1) { nodes { township { villages(first: 1) { nodes { township { villages(first: 1) { nodes { idleAssets(first: 1) { nodes { village { township { name } } } } } } } } } } } } } } } } }";
    let r = app.graphql(deep, json!({})).await;
    assert_eq!(error_code(&r), Some("LIMIT_EXCEEDED"), "{r}");
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("16"),
        "names the limit: {r}"
    );

    let wide = "{ townships(first: 100) { nodes { idleAssets(first: 100) { nodes { code owner { name } village { name } } } } } }";
    let r = app.graphql(wide, json!({})).await;
    assert_eq!(
        error_code(&r),
        Some("LIMIT_EXCEEDED"),
        "page sizes multiply: {r}"
    );
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("complexity"),
        "{r}"
    );

    let fine = "{ townships(first: 8) { nodes { idleAssets(first: 20) { nodes { code owner { name } } } } } }";
    let r = app.graphql(fine, json!({})).await;
    assert!(
        r["errors"].is_null(),
        "an ordinary nested query passes: {r}"
    );
}

#[tokio::test]
async fn batches_run_up_to_the_cap() {
    let app = spawn_app().await;
    let op = json!({ "query": "{ townships(first: 1) { totalCount } }" });
    let ok = app.post_json(&json!(vec![op.clone(); 3])).await;
    assert_eq!(ok.as_array().map(Vec::len), Some(3), "{ok}");
    assert_eq!(ok[2]["data"]["townships"]["totalCount"], 8);
    let too_many = app.post_json(&json!(vec![op; 11])).await;
    assert_eq!(error_code(&too_many), Some("LIMIT_EXCEEDED"), "{too_many}");
}

#[tokio::test]
async fn an_oversized_body_is_refused_before_parsing() {
    let app = spawn_app().await;
    let padding = " ".repeat(1024 * 1024 + 1);
    let r = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"query": "{{ townships {{ totalCount }} }}{padding}"}}"#
        ))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 413);
    let body: serde_json::Value = r.json().await.expect("JSON");
    assert_eq!(error_code(&body), Some("LIMIT_EXCEEDED"));
}

#[tokio::test]
async fn too_many_aliases_and_too_long_queries_are_refused_with_the_limit() {
    let app = spawn_app().await;
    let aliased: String = (0..51)
        .map(|i| format!("a{i}: townships(first: 1) {{ totalCount }} "))
        .collect();
    let r = app.graphql(&format!("{{ {aliased} }}"), json!({})).await;
    assert_eq!(error_code(&r), Some("LIMIT_EXCEEDED"), "{r}");
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("50"),
        "names the limit: {r}"
    );
    let fifty: String = (0..50)
        .map(|i| format!("a{i}: townships(first: 1) {{ totalCount }} "))
        .collect();
    assert!(app.graphql(&format!("{{ {fifty} }}"), json!({})).await["errors"].is_null());

    let long = format!(
        "{{ townships(first: 1) {{ totalCount }} }} #{}",
        "x".repeat(20_000)
    );
    let r = app.graphql(&long, json!({})).await;
    assert_eq!(error_code(&r), Some("LIMIT_EXCEEDED"), "{r}");
}

#[tokio::test]
async fn each_token_has_its_own_rate_budget_reported_with_every_answer() {
    let app = crate::helpers::spawn_app_with(|s| s.rate_limit_per_minute = 5).await;
    let q = "{ townships(first: 1) { totalCount } }";
    for left in (0..5).rev() {
        let r = app.graphql(q, json!({})).await;
        assert_eq!(r["extensions"]["rateLimit"]["remaining"], left, "{r}");
        assert_eq!(r["extensions"]["rateLimit"]["limitPerMinute"], 5);
    }
    let refused = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&app.admin)
        .json(&json!({ "query": q }))
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let body: serde_json::Value = refused.json().await.expect("JSON");
    assert_eq!(error_code(&body), Some("RATE_LIMITED"), "{body}");
    let budget = &body["extensions"]["rateLimit"];
    assert_eq!(
        budget["limitPerMinute"], 5,
        "the refusal reports the budget too: {body}"
    );
    assert_eq!(budget["remaining"], 0, "{body}");
    assert!(
        budget["retryAfterSeconds"].as_u64().is_some_and(|s| s >= 1),
        "{body}"
    );
    let other = app
        .token(
            rural_registry::domain::access::Role::Bank,
            None,
            Some("QLRCB"),
        )
        .await;
    let r = app.graphql_as(Some(&other), q, json!({})).await;
    assert!(
        r["errors"].is_null(),
        "another token has its own budget: {r}"
    );
}

/// The limits hold on every way in: a GET, each operation of a batch on its own (a refused
/// one does not take the others down), a subscription over WebSocket, and a query that does
/// not parse is BAD_INPUT.
#[tokio::test]
async fn every_transport_holds_the_same_limits() {
    use futures_util::StreamExt;

    let app = spawn_app().await;
    let deep = "{ idleAssets(first: 1) { nodes { village { township { villages(first: 1) { nodes { township { villages(first: 1) { nodes { township { villages(first: 1) { nodes { idleAssets(first: 1) { nodes { village { township { name } } } } } } } } } } } } } } } } }";
    let r: serde_json::Value = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", deep)])
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(error_code(&r), Some("LIMIT_EXCEEDED"), "GET: {r}");

    let aliased: String = (0..51)
        .map(|i| format!("a{i}: townships(first: 1) {{ totalCount }} "))
        .collect();
    let batch = json!([
        { "query": format!("{{ {aliased} }}") },
        { "query": "{ townships(first: 1) { totalCount } }" },
        { "query": "{ townships(first: 1) { totalCount }" },
    ]);
    let r = app.post_json(&batch).await;
    assert_eq!(error_code(&r[0]), Some("LIMIT_EXCEEDED"), "{r}");
    assert_eq!(r[1]["data"]["townships"]["totalCount"], 8, "{r}");
    assert_eq!(error_code(&r[2]), Some("BAD_INPUT"), "{r}");

    let fields: String = (0..51)
        .map(|i| format!("e{i}: mortgageEvents {{ action }} "))
        .collect();
    let mut ws = app
        .subscribe(None, &format!("subscription {{ {fields} }}"))
        .await;
    let answer = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
        .await
        .expect("an answer in time")
        .expect("a message")
        .expect("readable");
    let answer: serde_json::Value =
        serde_json::from_str(&answer.to_string()).expect("JSON message");
    // async-graphql answers a refused subscription with its errors in a `next` message.
    let errors = match answer["type"].as_str() {
        Some("error") => &answer["payload"],
        _ => &answer["payload"]["errors"],
    };
    assert_eq!(
        errors[0]["extensions"]["code"], "LIMIT_EXCEEDED",
        "{answer}"
    );
}

/// An app allowing one request a minute per caller, behind proxies at `trusted_proxies`. A
/// budget refills in a minute, far longer than any of these tests takes.
async fn one_a_minute(trusted_proxies: &str) -> crate::helpers::TestApp {
    let trusted_proxies = trusted_proxies.parse().expect("a network");
    crate::helpers::spawn_app_with(|s| {
        s.rate_limit_per_minute = 1;
        s.trusted_proxies = trusted_proxies;
    })
    .await
}

/// An anonymous GraphQL query from the test client (at 127.0.0.1), which says it forwards
/// `forwarded_for`; the status and the answer.
async fn anonymous_query(
    app: &crate::helpers::TestApp,
    forwarded_for: &str,
) -> (u16, serde_json::Value) {
    let r = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "query": "{ townships(first: 1) { totalCount } }" }))
        .send()
        .await
        .expect("sent");
    (r.status().as_u16(), r.json().await.expect("JSON"))
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget() {
    let app = one_a_minute("127.0.0.0/8").await;
    let (status, r) = anonymous_query(&app, "203.0.113.1").await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["extensions"]["rateLimit"]["remaining"], 0, "{r}");
    let (status, r) = anonymous_query(&app, "203.0.113.1").await;
    assert_eq!((status, error_code(&r)), (429, Some("RATE_LIMITED")), "{r}");
    let (status, r) = anonymous_query(&app, "203.0.113.2").await;
    assert_eq!(status, 200, "another client behind the proxy: {r}");
    let (status, r) = anonymous_query(&app, "198.51.100.7, 203.0.113.1").await;
    assert_eq!(
        status, 429,
        "what a client writes left of the address the proxy saw buys no budget: {r}"
    );
    let (status, r) = anonymous_query(&app, "198.51.100.8, 127.0.0.1").await;
    assert_eq!(status, 200, "trusted hops are skipped: {r}");
}

#[tokio::test]
async fn behind_an_untrusted_proxy_forwarded_clients_share_its_budget() {
    let app = one_a_minute("10.0.0.0/8").await;
    let (status, r) = anonymous_query(&app, "203.0.113.1").await;
    assert_eq!(status, 200, "{r}");
    let (status, r) = anonymous_query(&app, "203.0.113.2").await;
    assert_eq!(
        (status, error_code(&r)),
        (429, Some("RATE_LIMITED")),
        "X-Forwarded-For from a peer not in TRUSTED_PROXIES is ignored: {r}"
    );
}

#[tokio::test]
async fn every_route_but_the_health_probes_is_limited() {
    let app = one_a_minute("10.0.0.0/8").await;
    assert_eq!(app.get("/ogc").await.status(), 200);
    for path in [
        "/ogc",
        "/ogc/collections/townships/items",
        "/tiles/all.json",
        "/tiles/all/10/852/422.mvt",
        "/download/townships.geojson",
        "/export/townships.csv",
        "/graphql/ws",
        "/graphiql",
        "/map",
        "/dashboard",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 429, "{path}");
        let wait: u64 = r
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .expect("Retry-After in seconds");
        assert!((1..=60).contains(&wait), "{path}: {wait}");
        let body: serde_json::Value = r.json().await.expect("JSON");
        assert_eq!(body["code"], "RATE_LIMITED", "{path}: {body}");
        assert!(body["description"].is_string(), "{path}: {body}");
    }
    let r = app
        .client
        .get(format!("{}/ogc", app.address))
        .bearer_auth("rr_not-a-token")
        .send()
        .await
        .expect("sent");
    assert_eq!(
        r.status(),
        429,
        "a token that is not one buys no budget: its address pays"
    );
    for probe in ["/healthz", "/readyz"] {
        assert_eq!(app.get(probe).await.status(), 200, "{probe}");
    }
    let r = app
        .graphql("{ townships(first: 1) { totalCount } }", json!({}))
        .await;
    assert!(
        r["errors"].is_null(),
        "a valid token has its own budget, whatever its address spent: {r}"
    );
}
