//! Relations go through per-request DataLoaders: a page of 100 costs as many SQL statements as
//! a page of 5.

use serde_json::json;

use crate::helpers::spawn_apps;

const QUERY: &str = "query ($n: Int!) { idleAssets(first: $n) { totalCount edges { node {
    code village { name township { name } } township { name statusCounts { count } } owner { name }
    revitalizations { mode counterparty { name } } } } } }";

#[tokio::test]
async fn statement_count_does_not_grow_with_page_size() {
    for app in spawn_apps().await {
        let mut counts = Vec::new();
        for n in [5, 100] {
            let before = app.queries.get();
            let r = app.graphql(QUERY, json!({ "n": n })).await;
            assert!(r["errors"].is_null(), "{}: {r}", app.engine);
            assert_eq!(
                r["data"]["idleAssets"]["edges"].as_array().map(Vec::len),
                Some(n)
            );
            counts.push(app.queries.get() - before);
        }
        assert_eq!(
            counts[0], counts[1],
            "{}: statements for 5 vs 100 assets: {counts:?}",
            app.engine
        );
        assert!(
            counts[1] <= 10,
            "{}: a handful of batched statements, got {}",
            app.engine,
            counts[1]
        );
    }
}
