//! The district at a glance (/dashboard): a headless Chromium (`browser.rs`) shows, for every
//! township, the progress figures the GraphQL API gives, and a screenshot is written to
//! `target/screenshots/`.

use anyhow::{Context as _, bail, ensure};
use serde_json::json;
use tokio::time::timeout;

use crate::browser::{BROWSER_TEST_LIMIT, Browser, DevTools, chromium_or_skip, http_client};
use crate::helpers::{TestApp, spawn_app};

#[tokio::test]
async fn the_dashboard_page_names_only_its_own_files() -> anyhow::Result<()> {
    let app = spawn_app().await;
    let client = http_client()?;
    let page = client
        .get(format!("{}/dashboard", app.address))
        .send()
        .await?;
    ensure!(page.status() == 200, "{}", page.status());
    let policy = page.headers()["content-security-policy"]
        .to_str()?
        .to_owned();
    ensure!(policy.starts_with("default-src 'none'"), "{policy}");
    let html = page.text().await?;
    for link in ["src=\"", "href=\""]
        .iter()
        .flat_map(|a| html.split(a).skip(1))
        .filter_map(|rest| rest.split('"').next())
        .filter(|l| !l.starts_with("data:"))
    {
        ensure!(link.starts_with('/'), "{link}");
        let r = client.get(format!("{}{link}", app.address)).send().await?;
        ensure!(r.status() == 200, "{link}: {}", r.status());
    }
    Ok(())
}

#[tokio::test]
async fn the_dashboard_shows_each_townships_progress_as_the_api_gives_it() -> anyhow::Result<()> {
    let Some(chromium) = chromium_or_skip()? else {
        return Ok(());
    };
    let app = spawn_app().await;
    timeout(BROWSER_TEST_LIMIT, async {
        let mut browser = Browser::launch(&chromium).await?;
        let mut page = browser.page().await?;
        let outcome = compare(&mut page, &app).await;
        browser.close(&mut page).await;
        outcome
    })
    .await
    .with_context(|| format!("the browser test took more than {BROWSER_TEST_LIMIT:?}"))?
}

async fn compare(page: &mut DevTools, app: &TestApp) -> anyhow::Result<()> {
    page.watch().await?;
    let navigation = page
        .call(
            "Page.navigate",
            json!({ "url": format!("{}/dashboard", app.address) }),
        )
        .await?;
    if let Some(error) = navigation.get("errorText") {
        bail!("navigating to /dashboard failed: {error}");
    }
    page.wait_for("the page", "document.readyState === 'complete'")
        .await?;
    page.evaluate(&format!(
        "sessionStorage.setItem('rr-map-token', {}); location.reload(); true",
        json!(app.admin)
    ))
    .await?;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    page.wait_for(
        "the cards",
        "document.body.getAttribute('data-loaded') === 'true'",
    )
    .await?;
    let shown = page
        .evaluate(
            "[...document.querySelectorAll('.township')].map(c => [c.dataset.township, \
               [...c.querySelectorAll('.target')].map(t => [t.dataset.measure, \
                 Number(t.dataset.value), Number(t.dataset.actual), t.dataset.status])])",
        )
        .await?;
    let year = page.evaluate("new Date().getFullYear()").await?;
    let r = app
        .graphql(
            "query ($year: Int!) { townships(first: 100) { nodes { code statistics { \
               targets(year: $year) { measure value progress { actual status } } } } } }",
            json!({ "year": year }),
        )
        .await;
    ensure!(r["errors"].is_null(), "{r}");
    // (township, [(measure, value, actual, status)]), numbers as f64 on both sides.
    type Card = (String, Vec<(String, f64, f64, String)>);
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let number = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    let api: Vec<Card> = r["data"]["townships"]["nodes"]
        .as_array()
        .context("townships")?
        .iter()
        .map(|t| {
            let targets = t["statistics"]["targets"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let rows = targets
                .iter()
                .map(|x| {
                    (
                        text(&x["measure"]),
                        number(&x["value"]),
                        number(&x["progress"]["actual"]),
                        text(&x["progress"]["status"]),
                    )
                })
                .collect();
            (text(&t["code"]), rows)
        })
        .collect();
    let page_cards: Vec<Card> = shown
        .as_array()
        .context("cards")?
        .iter()
        .map(|c| {
            let rows = c[1]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|x| (text(&x[0]), number(&x[1]), number(&x[2]), text(&x[3])))
                .collect();
            (text(&c[0]), rows)
        })
        .collect();
    ensure!(
        page_cards == api,
        "the page shows {page_cards:?}\nthe API gives {api:?}"
    );
    let with_targets = api.iter().filter(|t| !t.1.is_empty()).count();
    ensure!(with_targets > 0, "the demo sets targets for {year}");
    page.screenshot("dashboard").await?;
    page.assert_quiet()?;
    Ok(())
}
