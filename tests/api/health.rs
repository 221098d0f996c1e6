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
