//! GraphiQL works with no internet: the page and its assets come from our binary, and a real
//! headless Chromium (`browser.rs`) loads the page, fetches the schema and runs the example query
//! through it.

use std::path::Path;

use anyhow::{Context as _, bail, ensure};
use serde_json::{Value, json};
use tokio::time::{Instant, timeout};

use crate::browser::{BROWSER_TEST_LIMIT, Browser, DevTools, chromium_or_skip, http_client};
use crate::helpers::spawn_app;
use rural_registry::http::graphiql::EXAMPLE_QUERY;

/// The values of every `src="…"` and `href="…"` attribute in `html`, but inline `data:` ones.
fn linked_paths(html: &str) -> Vec<&str> {
    ["src=\"", "href=\""]
        .iter()
        .flat_map(|attribute| html.split(attribute).skip(1))
        .filter_map(|rest| rest.split('"').next())
        .filter(|link| !link.starts_with("data:"))
        .collect()
}

#[tokio::test]
async fn graphiql_page_and_every_asset_it_links_are_served_with_their_content_type()
-> anyhow::Result<()> {
    let app = spawn_app().await;
    let client = http_client()?;

    let page = client
        .get(format!("{}/graphiql", app.address))
        .send()
        .await?;
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    let content_type = |response: &reqwest::Response| {
        response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(content_type(&page), "text/html; charset=utf-8");
    let html = page.text().await?;
    assert!(html.contains("<title>rural-registry · GraphiQL</title>"));

    let links = linked_paths(&html);
    // React, ReactDOM, GraphiQL's script and stylesheet, and our start-up script.
    assert_eq!(links.len(), 5, "unexpected links: {links:?}");
    for path in links {
        assert!(path.starts_with("/graphiql/"), "{path} is not ours");
        let response = client.get(format!("{}{path}", app.address)).send().await?;
        assert_eq!(response.status(), reqwest::StatusCode::OK, "{path}");
        let expected = if path.ends_with(".css") {
            "text/css; charset=utf-8"
        } else {
            "text/javascript; charset=utf-8"
        };
        assert_eq!(content_type(&response), expected, "{path}");
        if path.starts_with("/graphiql/assets/") {
            let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok());
            assert_eq!(
                header(reqwest::header::CACHE_CONTROL),
                Some("public, max-age=31536000, immutable"),
                "{path}"
            );
            assert!(
                header(reqwest::header::ETAG).is_some(),
                "{path} has no ETag"
            );
        }
        assert!(!response.bytes().await?.is_empty(), "{path} is empty");
    }
    Ok(())
}

#[tokio::test]
async fn graphiql_page_names_no_other_host() -> anyhow::Result<()> {
    let app = spawn_app().await;
    let html = http_client()?
        .get(format!("{}/graphiql", app.address))
        .send()
        .await?
        .text()
        .await?;
    for needle in ["http://", "https://", "\"//"] {
        assert!(!html.contains(needle), "the page contains {needle}");
    }
    Ok(())
}

#[tokio::test]
async fn graphiql_unknown_asset_is_not_found() -> anyhow::Result<()> {
    let app = spawn_app().await;
    let response = http_client()?
        .get(format!(
            "{}/graphiql/assets/graphiql@0.0.0/graphiql.min.js",
            app.address
        ))
        .send()
        .await?;
    assert_eq!(response.status(), reqwest::StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_runs_the_example_query_in_headless_chromium_without_internet()
-> anyhow::Result<()> {
    let Some(chromium) = chromium_or_skip()? else {
        return Ok(());
    };
    let app = spawn_app().await;
    let started = Instant::now();
    timeout(
        BROWSER_TEST_LIMIT,
        run_example_query(&chromium, &app.address),
    )
    .await
    .with_context(|| format!("the browser test took more than {BROWSER_TEST_LIMIT:?}"))??;
    eprintln!("graphiql browser test: passed in {:.1?}", started.elapsed());
    Ok(())
}

async fn run_example_query(chromium: &Path, address: &str) -> anyhow::Result<()> {
    let mut browser = Browser::launch(chromium).await?;
    let mut page = browser.page().await?;
    let outcome = use_graphiql(&mut page, address).await;
    browser.close(&mut page).await;
    outcome
}

/// What a cadre does: open GraphiQL, look at the docs, press ▶; and what a cadre cannot see: no
/// request leaves for another host, and the page's security policy is never hit.
async fn use_graphiql(page: &mut DevTools, address: &str) -> anyhow::Result<()> {
    page.watch().await?;
    let navigation = page
        .call(
            "Page.navigate",
            json!({ "url": format!("{address}/graphiql") }),
        )
        .await?;
    if let Some(error) = navigation.get("errorText") {
        bail!("navigating to {address}/graphiql failed: {error}");
    }

    page.wait_for(
        "GraphiQL to render its execute button",
        "document.querySelector('.graphiql-execute-button') !== null",
    )
    .await?;
    let query = page
        .evaluate(&editor_value(".graphiql-query-editor"))
        .await?;
    assert_eq!(
        query.as_str(),
        Some(EXAMPLE_QUERY),
        "a fresh browser should open on the example query"
    );

    // The documentation explorer shows the root types only once the introspection query has
    // succeeded and its result is a valid schema; on failure it shows an error instead.
    page.click("button[aria-label='Show Documentation Explorer']")
        .await?;
    let schema = page
        .wait_for(
            "the documentation explorer to show the schema's query type",
            "(() => {\
                const error = document.querySelector('.graphiql-doc-explorer-error');\
                if (error) return 'error: ' + error.textContent;\
                return [...document.querySelectorAll('.graphiql-doc-explorer-root-type')]\
                    .some((e) => e.textContent === 'query') ? 'loaded' : null;\
            })()",
        )
        .await?;
    ensure!(
        schema == "loaded",
        "GraphiQL could not load the schema: {schema}"
    );

    page.click(".graphiql-execute-button").await?;
    let response = page
        .wait_for(
            "the result pane to show a JSON response",
            &format!(
                "(() => {{ const text = {};\
                    try {{ JSON.parse(text); return text; }} catch {{ return null; }} }})()",
                editor_value(".graphiql-response")
            ),
        )
        .await?;
    let text = response.as_str().context("the response is not text")?;
    assert!(text.contains("\"totalCount\""), "no totalCount in {text}");
    let response: Value = serde_json::from_str(text)?;
    assert!(response.get("errors").is_none(), "errors in {text}");
    assert!(
        response["data"]["townships"]["totalCount"].is_u64()
            && response["data"]["idleAssets"]["totalCount"].is_u64(),
        "no data in {text}"
    );

    let violations = page.evaluate("window.__cspViolations").await?;
    assert_eq!(violations, json!([]), "Content-Security-Policy violations");
    let exceptions = page.events("Runtime.exceptionThrown");
    assert!(
        exceptions.is_empty(),
        "uncaught exceptions: {exceptions:#?}"
    );

    let origin = format!("{address}/");
    let requested: Vec<String> = page
        .events("Network.requestWillBeSent")
        .iter()
        .filter_map(|event| event["params"]["request"]["url"].as_str())
        .map(str::to_owned)
        .collect();
    assert!(
        requested
            .iter()
            .any(|url| url == &format!("{address}/graphql")),
        "the query never reached /graphql: {requested:#?}"
    );
    let elsewhere: Vec<&String> = requested
        .iter()
        .filter(|url| !url.starts_with(&origin) && !url.starts_with("data:"))
        .collect();
    assert!(
        elsewhere.is_empty(),
        "GraphiQL requested something other than the test server: {elsewhere:#?}"
    );
    Ok(())
}

/// JavaScript for the full text of the CodeMirror editor inside `container` (GraphiQL 3 uses
/// CodeMirror 5, which keeps its instance on its wrapper element): its DOM holds only the lines
/// in view, so a long response would read as truncated.
fn editor_value(container: &str) -> String {
    format!(
        "(() => {{ const editor = document.querySelector({});\
            return editor && editor.CodeMirror ? editor.CodeMirror.getValue() : ''; }})()",
        json!(format!("{container} .CodeMirror"))
    )
}
