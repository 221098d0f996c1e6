//! The map and the dashboard in Firefox as well as Chromium. Firefox ESR (Debian's `firefox-esr`)
//! is driven over WebDriver BiDi, which it speaks itself (`--remote-debugging-port`): no
//! geckodriver, which Debian does not package. It runs on an Xvfb display rather than
//! `--headless`, because headless Firefox refuses WebGL on a machine without a GPU while on a
//! display it draws with Mesa's software rasteriser. Screenshots go to `target/screenshots/`.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::browser::{BROWSER_TEST_LIMIT, STEP_LIMIT, WAIT_LIMIT};
use crate::helpers::{TestApp, spawn_app};

/// Firefox and Xvfb, or `None` (loudly) where they are missing and not required.
fn firefox_or_skip() -> anyhow::Result<Option<(PathBuf, PathBuf)>> {
    let firefox = std::env::var_os("FIREFOX")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("/usr/bin/firefox-esr"), PathBuf::from);
    let xvfb = PathBuf::from("/usr/bin/Xvfb");
    if firefox.is_file() && xvfb.is_file() {
        return Ok(Some((firefox, xvfb)));
    }
    let is_set = |name| {
        std::env::var_os(name)
            .is_some_and(|value| !["", "0", "false"].contains(&value.to_string_lossy().as_ref()))
    };
    if is_set("CI") || is_set("REQUIRE_BROWSER") {
        bail!(
            "Firefox ({}) or Xvfb ({}) not found, and the browser tests are required here: run \
             .ci/install-browser.sh",
            firefox.display(),
            xvfb.display()
        );
    }
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        b"\nskipped: firefox-esr or Xvfb not found: the Firefox tests did NOT run \
          (run .ci/install-browser.sh)\n",
    );
    Ok(None)
}

/// A display of its own and a Firefox on it with a fresh profile; both killed when dropped.
struct Firefox {
    xvfb: Child,
    firefox: Child,
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Every event received (log entries), in order.
    events: Vec<Value>,
    context: String,
    _profile: tempfile::TempDir,
}

impl Drop for Firefox {
    fn drop(&mut self) {
        let _ = self.firefox.kill();
        let _ = self.firefox.wait();
        let _ = self.xvfb.kill();
        let _ = self.xvfb.wait();
    }
}

/// The first line of `child`'s output `pick` finds something in, read on a thread, within the
/// step limit.
async fn line_of<R: std::io::Read + Send + 'static>(
    output: R,
    what: &'static str,
    pick: fn(&str) -> Option<String>,
) -> anyhow::Result<String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(output).lines().map_while(Result::ok) {
            if let Some(found) = pick(&line)
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(found);
            }
        }
    });
    timeout(STEP_LIMIT, rx)
        .await
        .with_context(|| format!("no {what} within {STEP_LIMIT:?}"))?
        .with_context(|| format!("the process ended before it gave its {what}"))
}

impl Firefox {
    async fn launch(firefox: &Path, xvfb: &Path) -> anyhow::Result<Self> {
        // Xvfb picks a free display and writes its number to the file descriptor given.
        let mut server = Command::new(xvfb)
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1366x768x24",
                "-nolisten",
                "tcp",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", xvfb.display()))?;
        let output = server.stdout.take().context("Xvfb's output")?;
        let display = match line_of(output, "display number", |l| {
            l.trim().parse::<u32>().ok().map(|n| format!(":{n}"))
        })
        .await
        {
            Ok(d) => d,
            Err(e) => {
                let _ = server.kill();
                return Err(e);
            }
        };
        let profile = tempfile::tempdir()?;
        // A quiet, local profile: no updates, telemetry or remote settings, no first-run pages.
        std::fs::write(
            profile.path().join("user.js"),
            [
                "user_pref(\"app.update.enabled\", false);",
                "user_pref(\"datareporting.policy.dataSubmissionEnabled\", false);",
                "user_pref(\"toolkit.telemetry.enabled\", false);",
                "user_pref(\"browser.shell.checkDefaultBrowser\", false);",
                "user_pref(\"browser.startup.homepage_override.mstone\", \"ignore\");",
                "user_pref(\"network.proxy.type\", 0);",
                "user_pref(\"services.settings.server\", \"http://127.0.0.1:9/\");",
            ]
            .join("\n"),
        )?;
        let mut child = Command::new(firefox)
            .env("DISPLAY", &display)
            .env("MOZ_CRASHREPORTER_DISABLE", "1")
            .args(["--no-remote", "--profile"])
            .arg(profile.path())
            .args(["--width", "1366", "--height", "768"])
            .args(["--remote-debugging-port", "0", "about:blank"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", firefox.display()))?;
        let errors = child.stderr.take().context("Firefox's output")?;
        let address = line_of(errors, "WebDriver BiDi address", |l| {
            l.split("WebDriver BiDi listening on ")
                .nth(1)
                .map(|a| a.trim().to_owned())
        })
        .await;
        let address = match address {
            Ok(a) => a,
            Err(e) => {
                let _ = child.kill();
                let _ = server.kill();
                return Err(e);
            }
        };
        let (socket, _) = tokio_tungstenite::connect_async(format!("{address}/session")).await?;
        let mut browser = Firefox {
            xvfb: server,
            firefox: child,
            socket,
            next_id: 0,
            events: Vec::new(),
            context: String::new(),
            _profile: profile,
        };
        browser
            .call("session.new", json!({ "capabilities": {} }))
            .await?;
        browser
            .call("session.subscribe", json!({ "events": ["log.entryAdded"] }))
            .await?;
        let tree = browser.call("browsingContext.getTree", json!({})).await?;
        browser.context = tree["contexts"][0]["context"]
            .as_str()
            .context("a browsing context")?
            .to_owned();
        Ok(browser)
    }

    /// One BiDi command; its result, or its error as a failure.
    async fn call(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        let message = json!({ "id": id, "method": method, "params": params });
        self.socket.send(Message::text(message.to_string())).await?;
        let deadline = Instant::now() + STEP_LIMIT;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .with_context(|| format!("{method}: no answer in {STEP_LIMIT:?}"))?
                .context("Firefox closed the connection")??;
            let Message::Text(text) = frame else {
                continue;
            };
            let value: Value = serde_json::from_str(&text)?;
            if value["id"] == id {
                if value["type"] == "error" {
                    bail!("{method}: {} {}", value["error"], value["message"]);
                }
                return Ok(value["result"].clone());
            }
            self.events.push(value);
        }
    }

    /// The value of `expression` in the page, passed through JSON.
    async fn evaluate(&mut self, expression: &str) -> anyhow::Result<Value> {
        let r = self
            .call(
                "script.evaluate",
                json!({
                    "expression": format!("(async () => JSON.stringify(await ({expression})))()"),
                    "target": { "context": self.context },
                    "awaitPromise": true,
                }),
            )
            .await?;
        if r["type"] == "exception" {
            bail!("{expression}: {}", r["exceptionDetails"]["text"]);
        }
        match r["result"]["value"].as_str() {
            Some(text) => Ok(serde_json::from_str(text)?),
            None => Ok(Value::Null),
        }
    }

    async fn wait_for(&mut self, what: &str, expression: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + WAIT_LIMIT;
        loop {
            if self.evaluate(expression).await.ok() == Some(Value::Bool(true)) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("waited {WAIT_LIMIT:?} for {what}: {:#?}", self.errors());
            }
            sleep(Duration::from_millis(200)).await;
        }
    }

    async fn open(&mut self, url: &str) -> anyhow::Result<()> {
        let context = self.context.clone();
        self.call(
            "browsingContext.navigate",
            json!({ "context": context, "url": url, "wait": "complete" }),
        )
        .await?;
        Ok(())
    }

    /// Errors logged by the page (exceptions included) so far.
    fn errors(&self) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| e["method"] == "log.entryAdded" && e["params"]["level"] == "error")
            .collect()
    }

    async fn screenshot(&mut self, name: &str) -> anyhow::Result<()> {
        use base64::Engine as _;
        let context = self.context.clone();
        let shot = self
            .call(
                "browsingContext.captureScreenshot",
                json!({ "context": context }),
            )
            .await?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().context("a screenshot")?)?;
        let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("screenshots");
        std::fs::create_dir_all(&folder)?;
        std::fs::write(folder.join(format!("{name}.png")), png)?;
        Ok(())
    }
}

#[tokio::test]
async fn the_map_and_the_dashboard_work_in_firefox() -> anyhow::Result<()> {
    let Some((firefox, xvfb)) = firefox_or_skip()? else {
        return Ok(());
    };
    let app = spawn_app().await;
    timeout(BROWSER_TEST_LIMIT, async {
        let mut browser = Firefox::launch(&firefox, &xvfb).await?;
        in_firefox(&mut browser, &app).await
    })
    .await
    .with_context(|| format!("the Firefox test took more than {BROWSER_TEST_LIMIT:?}"))?
}

async fn in_firefox(browser: &mut Firefox, app: &TestApp) -> anyhow::Result<()> {
    let r = app
        .graphql(
            "{ idleAsset(code: \"369901102203-0001\") { longitude latitude } }",
            json!({}),
        )
        .await;
    let at = json!([
        r["data"]["idleAsset"]["longitude"],
        r["data"]["idleAsset"]["latitude"]
    ]);
    ensure!(at[0].is_f64(), "{r}");

    // Anonymous: the district drawn, townships and asset cells.
    browser.open(&format!("{}/map", app.address)).await?;
    browser
        .wait_for(
            "the map to draw its tiles",
            "window.rrMap && rrMap.loaded() && rrMap.areTilesLoaded()",
        )
        .await?;
    let drawn = browser
        .evaluate(
            "['townships-fill', 'assets-cluster'].map(l => rrMap.queryRenderedFeatures({ layers: [l] }).length)",
        )
        .await?;
    ensure!(
        drawn
            .as_array()
            .is_some_and(|n| n.iter().all(|n| n.as_u64() > Some(0))),
        "drawn: {drawn}"
    );
    browser.screenshot("firefox-map-anonymous").await?;

    // Signed in: the demo asset at the pixel its coordinates project to, with its code.
    browser
        .evaluate(&format!(
            "(sessionStorage.setItem('rr-map-token', {}), true)",
            json!(app.admin)
        ))
        .await?;
    browser.open(&format!("{}/map", app.address)).await?;
    browser
        .wait_for(
            "the signed-in map",
            "window.rrMap && rrMap.loaded() && document.getElementById('who').textContent.includes('ADMIN')",
        )
        .await?;
    browser
        .evaluate(&format!(
            "(window.__idle = false, rrMap.once('idle', () => {{ window.__idle = true; }}), \
              rrMap.jumpTo({{ center: {at}, zoom: 16 }}), true)"
        ))
        .await?;
    browser
        .wait_for("the map to settle", "window.__idle === true")
        .await?;
    let codes = browser
        .evaluate(&format!(
            "(() => {{ const p = rrMap.project({at}); \
               return rrMap.queryRenderedFeatures([[p.x - 3, p.y - 3], [p.x + 3, p.y + 3]], \
                 {{ layers: ['assets'] }}).map(f => f.properties.code); }})()"
        ))
        .await?;
    ensure!(
        codes
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c == "369901102203-0001")),
        "at the asset's pixel Firefox draws {codes}"
    );
    browser.screenshot("firefox-map-signed-in").await?;

    // The dashboard, with the token the map keeps: a card per township.
    browser.open(&format!("{}/dashboard", app.address)).await?;
    browser
        .wait_for(
            "the dashboard's cards",
            "document.body.getAttribute('data-loaded') === 'true'",
        )
        .await?;
    let cards = browser
        .evaluate("document.querySelectorAll('.township').length")
        .await?;
    let townships = app
        .graphql("{ townships(first: 100) { totalCount } }", json!({}))
        .await["data"]["townships"]["totalCount"]
        .clone();
    ensure!(
        cards == townships,
        "{cards} cards for {townships} townships"
    );
    browser.screenshot("firefox-dashboard").await?;

    let errors = browser.errors();
    ensure!(errors.is_empty(), "Firefox logged errors: {errors:#?}");
    Ok(())
}
