//! The README's example queries and mutations answer without errors, in order, so the docs
//! cannot drift from the code.

use rural_registry::domain::access::Role;
use serde_json::json;

use crate::helpers::spawn_apps;

fn readme_queries() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    readme
        .split("```graphql")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn every_example_query_in_the_readme_answers() {
    let queries = readme_queries();
    assert!(queries.len() >= 3, "the README shows three example queries");
    for app in spawn_apps().await {
        for q in &queries {
            // A block that starts `# as bank CODE` is run with a token of that bank.
            let bank = q
                .trim_start()
                .strip_prefix("# as bank ")
                .and_then(|rest| rest.split_whitespace().next());
            let token = match bank {
                Some(code) => app.token(Role::Bank, None, Some(code)).await,
                None => app.admin.clone(),
            };
            let r = app.graphql_as(Some(&token), q, json!({})).await;
            assert!(r["errors"].is_null(), "{}: {q}\n{r}", app.engine);
            let data = r["data"].as_object().expect("data");
            assert!(
                data.values().all(|v| !v.is_null()),
                "{}: every root field found something: {r}",
                app.engine
            );
        }
    }
}
