use crate::helpers::spawn_apps;

#[tokio::test]
async fn health_and_readiness_answer_ok() {
    for app in spawn_apps().await {
        let live = app.get("/healthz").await;
        assert_eq!(live.status(), 200, "{}", app.engine);
        let ready = app.get("/readyz").await;
        assert_eq!(ready.status(), 200, "{}", app.engine);
        assert_eq!(ready.text().await.expect("body"), "ready");
    }
}

#[tokio::test]
async fn only_configured_origins_may_call_from_a_browser() {
    let app =
        crate::helpers::spawn_app_with(|s| s.cors_origins = vec!["https://map.example.cn".into()])
            .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.address))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let allowed = preflight("https://map.example.cn").await.expect("sent");
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.as_bytes()),
        Some(&b"https://map.example.cn"[..])
    );
    let refused = preflight("https://elsewhere.example").await.expect("sent");
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "{:?}",
        refused.headers()
    );

    let closed = crate::helpers::spawn_app().await;
    let r = closed
        .client
        .get(format!("{}/healthz", closed.address))
        .header("origin", "https://map.example.cn")
        .send()
        .await
        .expect("sent");
    assert!(
        r.headers().get("access-control-allow-origin").is_none(),
        "no origins configured, no CORS"
    );
}

#[tokio::test]
async fn map_answers_vary_by_caller_even_behind_open_cors() {
    let app = crate::helpers::spawn_app_with(|s| s.cors_origins = vec!["*".into()]).await;
    for path in [
        "/tiles/townships/0/0/0.mvt",
        "/ogc/collections/idle-assets/items",
        "/download/demo-sites.geojson",
    ] {
        let r = app
            .client
            .get(format!("{}{path}", app.address))
            .header("origin", "https://map.example.cn")
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), 200, "{path}");
        let vary: Vec<String> = r
            .headers()
            .get_all("vary")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|v| v.trim().to_ascii_lowercase())
            .collect();
        assert!(
            vary.contains(&"authorization".to_owned()),
            "{path}: Vary {vary:?}"
        );
    }
}
