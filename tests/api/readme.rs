//! The README's example queries and mutations answer without errors, in order, so the docs
//! cannot drift from the code.

use rural_registry::domain::access::Role;
use serde_json::json;

use crate::helpers::{next_message, spawn_apps};

/// A step of the README, in its order: a GraphQL example, or a command of a `sh` block.
enum Step {
    Graphql(String),
    /// The arguments of a `rural-registry import …` line.
    Import(Vec<String>),
}

fn readme_steps() -> Vec<Step> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let mut steps = Vec::new();
    for block in readme.split("```").skip(1).step_by(2) {
        if let Some(query) = block.strip_prefix("graphql") {
            steps.push(Step::Graphql(query.to_owned()));
        } else if let Some(lines) = block.strip_prefix("sh") {
            // The walkthroughs' imports; the other commands start servers or need a file of
            // the reader's own.
            for line in lines.lines() {
                if let Some(args) = line.trim().strip_prefix("rural-registry import ")
                    && !args.contains("--template")
                {
                    steps.push(Step::Import(
                        args.split_whitespace().map(str::to_owned).collect(),
                    ));
                }
            }
        }
    }
    steps
}

#[tokio::test]
async fn every_example_query_in_the_readme_answers() {
    let steps = readme_steps();
    let queries = steps
        .iter()
        .filter(|s| matches!(s, Step::Graphql(_)))
        .count();
    assert!(queries >= 3, "the README shows three example queries");
    assert!(
        steps.iter().any(|s| matches!(s, Step::Import(_))),
        "the README's walkthrough imports a roster"
    );
    for app in spawn_apps().await {
        for step in &steps {
            let q = match step {
                Step::Graphql(q) => q,
                Step::Import(args) => {
                    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rural-registry"))
                        .current_dir(env!("CARGO_MANIFEST_DIR"))
                        .arg("--database-url")
                        .arg(&app.database_url)
                        .arg("import")
                        .args(args)
                        .output()
                        .expect("the binary runs");
                    assert!(
                        out.status.success(),
                        "{}: import {args:?}: {}",
                        app.engine,
                        String::from_utf8_lossy(&out.stderr)
                    );
                    continue;
                }
            };
            // A block that starts `# as bank CODE` is run with a token of that bank, one that
            // starts `# as cadre CODE` with a cadre's of that township.
            let first = q.trim_start().lines().next().unwrap_or_default();
            let token = if let Some(code) = first.strip_prefix("# as bank ") {
                app.token(Role::Bank, None, Some(code.trim())).await
            } else if let Some(code) = first.strip_prefix("# as cadre ") {
                app.token(Role::Cadre, Some(code.trim()), None).await
            } else {
                app.admin.clone()
            };
            if q.trim_start().starts_with("subscription") {
                // Over WebSocket: accepted, so no error comes back (a refusal comes at once).
                let mut ws = app.subscribe(Some(&token), q).await;
                let answer = next_message(&mut ws, 1_000).await;
                assert_eq!(answer, None, "{}: {q}", app.engine);
                continue;
            }
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
