//! Relations go through per-request DataLoaders: a page of 100 costs no more SQL statements
//! than a page of 5. The query below has nine fetches (the page, its count, and seven relation
//! loads); without batching a page of 100 would run hundreds. DataLoader batches are formed in
//! a time window, so on a loaded machine a load may split in two: the bound allows for that,
//! not for growth with the page.

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
        for c in &counts {
            assert!(
                *c <= 12,
                "{}: statements for 5 vs 100 assets: {counts:?}",
                app.engine
            );
        }
    }
}
