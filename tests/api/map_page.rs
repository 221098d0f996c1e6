//! The registry's own map (/map) works with no internet: the page and MapLibre come from our
//! binary, compressed, and a real headless Chromium (`browser.rs`) draws the registry's tiles,
//! with a demo asset at the pixel its coordinates project to, and a card that shows a signed-in
//! caller the asset's code and an anonymous one only its kind and status. A screenshot of each
//! run is written to `target/screenshots/`.

use std::io::{Read as _, Write as _};
use std::path::Path;

use anyhow::{Context as _, bail, ensure};
use serde_json::json;
use tokio::time::timeout;

use crate::browser::{BROWSER_TEST_LIMIT, Browser, DevTools, chromium_or_skip, http_client};
use crate::helpers::{TestApp, spawn_app};

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
async fn the_map_page_and_its_files_come_from_the_server_compressed_and_cached()
-> anyhow::Result<()> {
    let app = spawn_app().await;
    let client = http_client()?;
    let page = client.get(format!("{}/map", app.address)).send().await?;
    ensure!(page.status() == 200, "{}", page.status());
    let policy = page.headers()["content-security-policy"]
        .to_str()?
        .to_owned();
    ensure!(
        policy.starts_with("default-src 'none'") && policy.contains("connect-src 'self';"),
        "{policy}"
    );
    let html = page.text().await?;
    let links = linked_paths(&html);
    ensure!(
        links.len() == 5 && links.iter().all(|l| l.starts_with('/')),
        "{links:?}"
    );
    let mut transferred = html.len();
    let mut gzipped = html.len();
    for link in links.iter().filter(|l| l.starts_with("/map/assets/")) {
        let url = format!("{}{link}", app.address);
        let squeezed = client
            .get(&url)
            .header("Accept-Encoding", "gzip, deflate, br")
            .send()
            .await?;
        ensure!(squeezed.headers()["content-encoding"] == "br", "{link}");
        let squeezed = squeezed.bytes().await?;
        transferred += squeezed.len();
        let mut unsqueezed = Vec::new();
        brotli_decompressor::Decompressor::new(&squeezed[..], 4096).read_to_end(&mut unsqueezed)?;
        let zipped = client
            .get(&url)
            .header("Accept-Encoding", "gzip")
            .send()
            .await?;
        ensure!(zipped.status() == 200, "{link}: {}", zipped.status());
        ensure!(zipped.headers()["content-encoding"] == "gzip", "{link}");
        ensure!(
            zipped.headers()["cache-control"] == "public, max-age=31536000, immutable",
            "{link}"
        );
        let etag = zipped.headers()["etag"].to_str()?.to_owned();
        let compressed = zipped.bytes().await?;
        gzipped += compressed.len();
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&compressed[..]).read_to_end(&mut unzipped)?;
        let plain = client.get(&url).send().await?;
        ensure!(plain.headers().get("content-encoding").is_none(), "{link}");
        let plain = plain.bytes().await?;
        ensure!(plain == unzipped, "{link}: the same file gzipped");
        ensure!(plain == unsqueezed, "{link}: the same file with brotli");
        let again = client
            .get(&url)
            .header("If-None-Match", &etag)
            .send()
            .await?;
        ensure!(again.status() == 304, "{link}: {}", again.status());
    }
    // What a first visit costs: the page and its files, compressed (the tiles come after).
    ensure!(
        transferred < gzipped && transferred < 400_000,
        "{transferred} bytes with brotli, {gzipped} gzipped"
    );
    let missing = client
        .get(format!(
            "{}/map/assets/maplibre-gl@0.0.1/maplibre-gl.js",
            app.address
        ))
        .send()
        .await?;
    ensure!(missing.status() == 404, "{}", missing.status());
    Ok(())
}

#[tokio::test]
async fn the_map_draws_a_demo_asset_where_it_lies_and_its_card_shows_what_the_caller_may_see()
-> anyhow::Result<()> {
    let Some(chromium) = chromium_or_skip()? else {
        return Ok(());
    };
    let app = spawn_app().await;
    timeout(BROWSER_TEST_LIMIT, use_the_map(&chromium, &app))
        .await
        .with_context(|| format!("the browser test took more than {BROWSER_TEST_LIMIT:?}"))?
}

async fn use_the_map(chromium: &Path, app: &TestApp) -> anyhow::Result<()> {
    let mut browser = Browser::launch(chromium).await?;
    let mut page = browser.page().await?;
    let outcome = look(&mut page, app).await;
    browser.close(&mut page).await;
    outcome
}

/// Opens the page (with `token` in the tab's session when given), waits for the map to draw.
async fn open(page: &mut DevTools, app: &TestApp, token: Option<&str>) -> anyhow::Result<()> {
    let navigation = page
        .call(
            "Page.navigate",
            json!({ "url": format!("{}/map", app.address) }),
        )
        .await?;
    if let Some(error) = navigation.get("errorText") {
        bail!("navigating to /map failed: {error}");
    }
    if let Some(token) = token {
        page.wait_for("the page", "document.readyState === 'complete'")
            .await?;
        page.evaluate(&format!(
            "sessionStorage.setItem('rr-map-token', {}); location.reload(); true",
            json!(token)
        ))
        .await?;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    page.wait_for(
        "the map to load its tiles",
        "window.rrMap && rrMap.loaded() && rrMap.areTilesLoaded()",
    )
    .await?;
    Ok(())
}

/// Moves the map to `centre` at `zoom` and waits until it has drawn there.
async fn go(page: &mut DevTools, centre: [f64; 2], zoom: f64) -> anyhow::Result<()> {
    page.evaluate(&format!(
        "window.__idle = false; rrMap.once('idle', () => {{ window.__idle = true; }}); \
         rrMap.jumpTo({{ center: {}, zoom: {zoom} }}); true",
        json!(centre)
    ))
    .await?;
    page.wait_for("the map to settle", "window.__idle === true")
        .await?;
    Ok(())
}

async fn look(page: &mut DevTools, app: &TestApp) -> anyhow::Result<()> {
    page.watch().await?;

    // A demo asset and its true position, as the district office sees it.
    let r = app
        .graphql(
            "{ idleAsset(code: \"369901102203-0001\") { code longitude latitude } }",
            json!({}),
        )
        .await;
    let asset = &r["data"]["idleAsset"];
    let at = [
        asset["longitude"].as_f64().context("a longitude")?,
        asset["latitude"].as_f64().context("a latitude")?,
    ];

    // Anonymous: assets are drawn, with kind and status only; the card shows no code.
    open(page, app, None).await?;
    // The first load, tiles of the district included, fits 3 s of a 2 Mbit/s link (750 kB).
    let bytes: f64 = page
        .events("Network.loadingFinished")
        .iter()
        .filter_map(|e| e["params"]["encodedDataLength"].as_f64())
        .sum();
    ensure!(bytes > 100_000.0 && bytes < 750_000.0, "{bytes} bytes");
    let _ = writeln!(
        std::io::stderr(),
        "/map first load: {bytes:.0} bytes over the wire"
    );
    go(page, at, 15.0).await?;
    let shown = page
        .evaluate(
            "rrMap.queryRenderedFeatures({ layers: ['assets'] }).map(f => \
             ({ p: f.properties, at: rrMap.project(f.geometry.coordinates) }))",
        )
        .await?;
    let shown = shown.as_array().context("features")?;
    ensure!(!shown.is_empty(), "no asset drawn near {at:?}");
    ensure!(
        shown
            .iter()
            .all(|f| f["p"].get("code").is_none() && f["p"]["status"].is_string()),
        "{shown:?}"
    );
    let first = &shown[0]["at"];
    click_at(
        page,
        first["x"].as_f64().context("x")?,
        first["y"].as_f64().context("y")?,
    )
    .await?;
    let card = page
        .wait_for(
            "the card",
            "!document.getElementById('card').hidden && document.getElementById('card').innerText",
        )
        .await?;
    let card = card.as_str().unwrap_or_default().to_owned();
    ensure!(
        !card.contains("369901") && card.contains("状态"),
        "anonymous card: {card}"
    );
    let who = page
        .evaluate("document.getElementById('who').innerText")
        .await?;
    ensure!(who.as_str().is_some_and(|w| w.contains("未登录")), "{who}");
    page.screenshot("map-anonymous").await?;

    // Signed in: the asset at the pixel its true coordinates project to, and its code.
    open(page, app, Some(&app.admin)).await?;
    go(page, at, 17.0).await?;
    let pixel = page
        .evaluate(&format!("rrMap.project({})", json!(at)))
        .await?;
    let (x, y) = (
        pixel["x"].as_f64().context("x")?,
        pixel["y"].as_f64().context("y")?,
    );
    let there = page
        .evaluate(&format!(
            "rrMap.queryRenderedFeatures([[{} , {}], [{}, {}]], {{ layers: ['assets'] }})\
             .map(f => f.properties.code)",
            x - 2.0,
            y - 2.0,
            x + 2.0,
            y + 2.0
        ))
        .await?;
    ensure!(
        there
            .as_array()
            .is_some_and(|codes| codes.iter().any(|c| c == "369901102203-0001")),
        "at ({x}, {y}) the map draws {there}"
    );
    click_at(page, x, y).await?;
    let card = page
        .wait_for(
            "the card with the asset's owner",
            "(() => { const c = document.getElementById('card'); \
               return !c.hidden && c.innerText.includes('权利人') && c.innerText; })()",
        )
        .await?;
    ensure!(
        card.as_str()
            .is_some_and(|c| c.contains("369901102203-0001")),
        "signed-in card: {card}"
    );
    let who = page
        .wait_for(
            "the signed-in line",
            "(() => { const w = document.getElementById('who').innerText; \
               return w.includes('ADMIN') && w; })()",
        )
        .await?;
    ensure!(who.as_str().is_some_and(|w| w.contains("已登录")), "{who}");
    page.screenshot("map-signed-in").await?;

    // Nothing left for another host, and the policy was never hit.
    let violations = page.evaluate("window.__cspViolations").await?;
    ensure!(
        violations.as_array().is_some_and(Vec::is_empty),
        "{violations}"
    );
    let elsewhere: Vec<String> = page
        .events("Network.requestWillBeSent")
        .iter()
        .filter_map(|e| e["params"]["request"]["url"].as_str())
        .filter(|url| {
            !url.starts_with(&app.address) && !url.starts_with("blob:") && !url.starts_with("data:")
        })
        .map(str::to_owned)
        .collect();
    ensure!(elsewhere.is_empty(), "requests elsewhere: {elsewhere:?}");
    page.assert_quiet()?;
    Ok(())
}

/// A real mouse click at a point of the page.
async fn click_at(page: &mut DevTools, x: f64, y: f64) -> anyhow::Result<()> {
    // The map's canvas sits below the header: `project` gives the canvas's pixels.
    let offset = page
        .evaluate("(() => { const b = rrMap.getCanvas().getBoundingClientRect(); return { x: b.x, y: b.y }; })()")
        .await?;
    let (x, y) = (
        x + offset["x"].as_f64().unwrap_or(0.0),
        y + offset["y"].as_f64().unwrap_or(0.0),
    );
    for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
        page.call(
            "Input.dispatchMouseEvent",
            json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 }),
        )
        .await?;
    }
    Ok(())
}

#[tokio::test]
async fn on_a_gcj02_base_map_the_asset_moves_by_the_gcj02_offset() -> anyhow::Result<()> {
    use rural_registry::domain::datum::Crs;
    let Some(chromium) = chromium_or_skip()? else {
        return Ok(());
    };
    let app = crate::helpers::spawn_app_with(|s| s.map_base_datum = Crs::Gcj02).await;
    timeout(BROWSER_TEST_LIMIT, async {
        let mut browser = Browser::launch(&chromium).await?;
        let mut page = browser.page().await?;
        let outcome = async {
            let r = app
                .graphql(
                    "{ idleAsset(code: \"369901102203-0001\") { longitude latitude } }",
                    json!({}),
                )
                .await;
            let asset = &r["data"]["idleAsset"];
            let wgs84 = [
                asset["longitude"].as_f64().context("a longitude")?,
                asset["latitude"].as_f64().context("a latitude")?,
            ];
            let (lon, lat) = Crs::Gcj02.from_wgs84(wgs84[0], wgs84[1]);
            open(&mut page, &app, Some(&app.admin)).await?;
            go(&mut page, [lon, lat], 17.0).await?;
            let found = |at: [f64; 2]| {
                format!(
                    "(() => {{ const p = rrMap.project({}); \
                       return rrMap.queryRenderedFeatures([[p.x - 2, p.y - 2], [p.x + 2, p.y + 2]], \
                         {{ layers: ['assets'] }}).map(f => f.properties.code); }})()",
                    json!(at)
                )
            };
            let at_gcj02 = page.evaluate(&found([lon, lat])).await?;
            ensure!(
                at_gcj02
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c == "369901102203-0001")),
                "at its GCJ-02 point the map draws {at_gcj02}"
            );
            // Hundreds of metres from where a WGS84 map would draw it: many pixels at z17.
            let shift = page
                .evaluate(&format!(
                    "(() => {{ const a = rrMap.project({}), b = rrMap.project({}); \
                       return Math.hypot(a.x - b.x, a.y - b.y); }})()",
                    json!([lon, lat]),
                    json!(wgs84)
                ))
                .await?;
            ensure!(shift.as_f64().is_some_and(|d| d > 100.0), "{shift}");
            let at_wgs84 = page.evaluate(&found(wgs84)).await?;
            ensure!(
                !at_wgs84
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c == "369901102203-0001")),
                "the asset is also at its WGS84 point: {at_wgs84}"
            );
            page.screenshot("map-gcj02").await
        }
        .await;
        browser.close(&mut page).await;
        outcome
    })
    .await
    .with_context(|| format!("the browser test took more than {BROWSER_TEST_LIMIT:?}"))?
}

/// A vector base map's server on another origin, as a district GIS server would be: its style
/// (whose source names its data by a relative URL) and that data, a square around `at`, with
/// the CORS header such servers send. Answers until the test ends.
async fn base_map_server(at: [f64; 2]) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = format!("http://{}", listener.local_addr()?);
    let style = json!({
        "version": 8,
        "sources": { "land": { "type": "geojson", "data": "data/land.geojson" } },
        "layers": [
            { "id": "background", "type": "background", "paint": { "background-color": "#123456" } },
            { "id": "land", "type": "fill", "source": "land", "paint": { "fill-color": "#2e7d32" } },
        ],
    })
    .to_string();
    let d = 0.01;
    let land = json!({ "type": "FeatureCollection", "features": [{ "type": "Feature",
        "properties": { "name": "耕地" },
        "geometry": { "type": "Polygon", "coordinates": [[
            [at[0] - d, at[1] - d], [at[0] + d, at[1] - d], [at[0] + d, at[1] + d],
            [at[0] - d, at[1] + d], [at[0] - d, at[1] - d]]] } }] })
    .to_string();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        while let Ok((mut stream, _)) = listener.accept().await {
            let (style, land) = (style.clone(), land.clone());
            tokio::spawn(async move {
                let mut request = vec![0; 4096];
                let n = stream.read(&mut request).await.unwrap_or(0);
                let line = String::from_utf8_lossy(&request[..n]);
                let path = line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                let (status, body) = match path.as_str() {
                    "/styles/basic/style.json" => ("200 OK", style),
                    "/styles/basic/data/land.geojson" => ("200 OK", land),
                    _ => ("404 Not Found", String::new()),
                };
                let answer = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\
                     Access-Control-Allow-Origin: *\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    Ok(address)
}

#[tokio::test]
async fn a_vector_base_map_from_another_origin_draws_under_the_registrys_layers()
-> anyhow::Result<()> {
    let Some(chromium) = chromium_or_skip()? else {
        return Ok(());
    };
    // Where the demo asset lies: the base map's land is drawn around it.
    let probe = spawn_app().await;
    let r = probe
        .graphql(
            "{ idleAsset(code: \"369901102203-0001\") { longitude latitude } }",
            json!({}),
        )
        .await;
    let asset = &r["data"]["idleAsset"];
    let at = [
        asset["longitude"].as_f64().context("a longitude")?,
        asset["latitude"].as_f64().context("a latitude")?,
    ];
    let base = base_map_server(at).await?;
    let style = format!("{base}/styles/basic/style.json");
    let app = crate::helpers::spawn_app_with(|s| s.map_base_style = Some(style)).await;
    let page = http_client()?
        .get(format!("{}/map", app.address))
        .send()
        .await?;
    let policy = page.headers()["content-security-policy"].to_str()?;
    ensure!(
        policy.contains(&format!("connect-src 'self' {base};")),
        "{policy}"
    );
    timeout(BROWSER_TEST_LIMIT, async {
        let mut browser = Browser::launch(&chromium).await?;
        let mut page = browser.page().await?;
        let outcome = async {
            page.watch().await?;
            open(&mut page, &app, Some(&app.admin)).await?;
            page.wait_for(
                "the base map's style",
                "rrMap.getStyle().layers.some(l => l.id === 'base:land') && rrMap.loaded()",
            )
            .await?;
            go(&mut page, at, 16.0).await?;
            let order = page
                .evaluate("rrMap.getStyle().layers.map(l => l.id)")
                .await?;
            let ids: Vec<&str> = order
                .as_array()
                .context("layer ids")?
                .iter()
                .filter_map(|v| v.as_str())
                .collect();
            let index = |id: &str| ids.iter().position(|l| *l == id);
            ensure!(
                index("base:background") == Some(0)
                    && index("base:land") < index("townships-fill")
                    && index("assets").is_some(),
                "layers: {ids:?}"
            );
            let here = |layer: &str| {
                format!(
                    "(() => {{ const p = rrMap.project({}); \
                       return rrMap.queryRenderedFeatures([[p.x - 2, p.y - 2], [p.x + 2, p.y + 2]], \
                         {{ layers: ['{layer}'] }}).map(f => f.properties.code || f.properties.name); }})()",
                    json!(at)
                )
            };
            let land = page.evaluate(&here("base:land")).await?;
            ensure!(land == json!(["耕地"]), "the base map's land at the asset: {land}");
            let assets = page.evaluate(&here("assets")).await?;
            ensure!(
                assets
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c == "369901102203-0001")),
                "the asset over the base map: {assets}"
            );
            page.assert_quiet()?;
            page.screenshot("map-vector-base").await
        }
        .await;
        browser.close(&mut page).await;
        outcome
    })
    .await
    .with_context(|| format!("the browser test took more than {BROWSER_TEST_LIMIT:?}"))?
}

/// A key pressed and released, as the keyboard sends it; `shift` held when asked.
async fn press(page: &mut DevTools, key: &str, shift: bool) -> anyhow::Result<()> {
    let (code, vk, text) = match key {
        "Tab" => ("Tab", 9, ""),
        "Enter" => ("Enter", 13, "\r"),
        "Escape" => ("Escape", 27, ""),
        " " => ("Space", 32, " "),
        other => bail!("no key {other:?} here"),
    };
    let modifiers = if shift { 8 } else { 0 };
    for kind in ["keyDown", "keyUp"] {
        let mut event = json!({ "type": kind, "key": key, "code": code,
            "windowsVirtualKeyCode": vk, "modifiers": modifiers });
        if kind == "keyDown" && !text.is_empty() {
            event["text"] = json!(text);
        }
        page.call("Input.dispatchKeyEvent", event).await?;
    }
    Ok(())
}

/// What has the keyboard's focus: its id, else its accessible name, else its tag; and whether
/// it has a name a screen reader would say.
const FOCUSED: &str = "(() => { const e = document.activeElement; if (!e || e === document.body) return null; \
    const name = (e.labels && e.labels.length ? e.labels[0].textContent : '') || e.getAttribute('aria-label') \
      || e.textContent || e.title || ''; \
    return { what: e.id || e.getAttribute('aria-label') || e.tagName, named: name.trim().length > 0 }; })()";

/// Tabs until `id` has the focus (at most a lap of the page's controls).
async fn tab_to(page: &mut DevTools, id: &str) -> anyhow::Result<()> {
    for _ in 0..40 {
        if page.evaluate(FOCUSED).await?["what"] == id {
            return Ok(());
        }
        press(page, "Tab", false).await?;
    }
    bail!("Tab never reaches #{id}")
}

#[tokio::test]
async fn every_control_of_the_map_is_reached_and_worked_with_the_keyboard() -> anyhow::Result<()> {
    let Some(chromium) = chromium_or_skip()? else {
        return Ok(());
    };
    let app = spawn_app().await;
    let village = app
        .graphql("{ villages(first: 1) { nodes { name } } }", json!({}))
        .await["data"]["villages"]["nodes"][0]["name"]
        .as_str()
        .context("a village")?
        .to_owned();
    timeout(BROWSER_TEST_LIMIT, async {
        let mut browser = Browser::launch(&chromium).await?;
        let mut page = browser.page().await?;
        let outcome = async {
            page.watch().await?;
            open(&mut page, &app, None).await?;
            // A lap with Tab: every control comes, each with a name; Shift+Tab goes back.
            let mut lap = Vec::new();
            for _ in 0..40 {
                press(&mut page, "Tab", false).await?;
                let focused = page.evaluate(FOCUSED).await?;
                if focused.is_null() || lap.first() == Some(&focused) {
                    break;
                }
                lap.push(focused);
            }
            let reached: Vec<&str> = lap.iter().filter_map(|f| f["what"].as_str()).collect();
            for control in [
                "q",
                "search-go",
                "token",
                "lang",
                "toggle-townships",
                "toggle-villages",
                "toggle-assets",
                "toggle-sites",
                "toggle-zones",
                "地图 Map",
                "放大 Zoom in",
                "缩小 Zoom out",
            ] {
                ensure!(reached.contains(&control), "Tab never reaches {control}: {reached:?}");
            }
            let unnamed: Vec<&serde_json::Value> =
                lap.iter().filter(|f| f["named"] != true).collect();
            ensure!(unnamed.is_empty(), "controls without a name: {unnamed:?}");
            let here = page.evaluate(FOCUSED).await?;
            press(&mut page, "Tab", false).await?;
            press(&mut page, "Tab", true).await?;
            ensure!(page.evaluate(FOCUSED).await? == here, "Shift+Tab goes back");

            // Space on a layer's box hides the layer.
            tab_to(&mut page, "toggle-assets").await?;
            press(&mut page, " ", false).await?;
            let hidden = page
                .evaluate("[document.getElementById('toggle-assets').checked, rrMap.getLayoutProperty('assets', 'visibility')]")
                .await?;
            ensure!(hidden == json!([false, "none"]), "{hidden}");
            press(&mut page, " ", false).await?;

            // Enter searches for a village.
            tab_to(&mut page, "q").await?;
            page.call("Input.insertText", json!({ "text": village })).await?;
            press(&mut page, "Enter", false).await?;
            page.wait_for(
                "the village found",
                &format!("document.getElementById('search-said').textContent.includes({})", json!(village)),
            )
            .await?;

            // Enter signs in with a pasted token; then an asset found by its code opens its
            // card with the focus on its close button, and Escape closes it, giving the focus
            // back to the search field.
            tab_to(&mut page, "token").await?;
            page.call("Input.insertText", json!({ "text": app.admin })).await?;
            press(&mut page, "Enter", false).await?;
            page.wait_for("signing in", "document.getElementById('who').textContent.includes('ADMIN')")
                .await?;
            tab_to(&mut page, "q").await?;
            page.evaluate("document.getElementById('q').value = ''; true").await?;
            page.call("Input.insertText", json!({ "text": "369901102203-0001" })).await?;
            press(&mut page, "Enter", false).await?;
            page.wait_for(
                "the asset's card",
                "!document.getElementById('card').hidden && document.activeElement.classList.contains('close')",
            )
            .await?;
            press(&mut page, "Escape", false).await?;
            let after = page
                .evaluate("[document.getElementById('card').hidden, document.activeElement.id]")
                .await?;
            ensure!(after == json!([true, "q"]), "after Escape: {after}");
            page.assert_quiet()?;
            page.screenshot("map-keyboard").await
        }
        .await;
        browser.close(&mut page).await;
        outcome
    })
    .await
    .with_context(|| format!("the browser test took more than {BROWSER_TEST_LIMIT:?}"))?
}
