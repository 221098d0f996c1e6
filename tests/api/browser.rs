//! A headless Chromium driven over the Chrome DevTools Protocol (JSON over a WebSocket) by the
//! few calls below, rather than through a WebDriver crate and a chromedriver binary, neither of
//! which Debian's Chromium package brings. Used by the GraphiQL and the map page tests.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, timeout, timeout_at};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The whole browser test, launch to last assertion; a stuck browser fails it, never hangs CI.
pub const BROWSER_TEST_LIMIT: Duration = Duration::from_secs(90);
/// One DevTools call, or the browser writing its DevTools port after launch.
pub const STEP_LIMIT: Duration = Duration::from_secs(15);
/// GraphiQL rendering, fetching the schema, or answering a query: 3.5 MB of JavaScript to parse
/// on a loaded two-core CI machine.
pub const WAIT_LIMIT: Duration = Duration::from_secs(30);

pub fn http_client() -> anyhow::Result<reqwest::Client> {
    // A proxy from the environment would carry loopback requests off the machine.
    Ok(reqwest::Client::builder()
        .no_proxy()
        .timeout(STEP_LIMIT)
        .build()?)
}

/// The browser to use, or `None` (with a loud message) when there is none and none is required.
///
/// A developer without Chromium still runs every other test; CI must not silently pass without
/// the one test that shows GraphiQL works, so there a missing browser is a failure.
pub fn chromium_or_skip() -> anyhow::Result<Option<PathBuf>> {
    let path = std::env::var_os("CHROMIUM")
        .filter(|value| !value.is_empty())
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if path.is_file() {
        return Ok(Some(path));
    }
    let is_set = |name| {
        std::env::var_os(name)
            .is_some_and(|value| !["", "0", "false"].contains(&value.to_string_lossy().as_ref()))
    };
    if is_set("CI") || is_set("REQUIRE_BROWSER") {
        bail!(
            "Chromium not found at {} (set CHROMIUM to another path). The GraphiQL browser test \
             is required here (CI or REQUIRE_BROWSER is set): run .ci/install-browser.sh",
            path.display()
        );
    }
    // Straight to the process's stderr: eprintln! would be captured, and so hidden, by the test
    // harness of a passing test. Failing to write a notice is no reason to fail the test.
    let _ = writeln!(
        std::io::stderr(),
        "\n********************************************************************************\n\
         skipped: chromium not found at {}: the GraphiQL browser test did NOT run.\n\
         Run .ci/install-browser.sh (or set CHROMIUM); set REQUIRE_BROWSER=1 to make this fail.\n\
         ********************************************************************************\n",
        path.display()
    );
    Ok(None)
}

/// A headless Chromium on a fresh profile, killed when dropped so that a failed assertion or a
/// timeout cannot leave a browser behind.
pub struct Browser {
    child: Child,
    devtools_port: u16,
    /// Removed on drop, after `drop` has killed the browser that writes into it.
    scratch: tempfile::TempDir,
}

impl Browser {
    pub async fn launch(chromium: &Path) -> anyhow::Result<Self> {
        let scratch = tempfile::tempdir()?;
        let profile = scratch.path().join("profile");
        let log_path = scratch.path().join("chromium.log");
        let log = std::fs::File::create(&log_path)?;
        let mut user_data_dir = OsString::from("--user-data-dir=");
        user_data_dir.push(&profile);
        let child = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                // WebGL (the map page) on the CPU: no GPU on CI machines.
                "--use-angle=swiftshader",
                "--enable-unsafe-swiftshader",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-proxy-server",
                "--window-size=1366,768",
            ])
            .arg(user_data_dir)
            .args(["--remote-debugging-port=0", "about:blank"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", chromium.display()))?;
        let mut browser = Browser {
            child,
            devtools_port: 0,
            scratch,
        };

        // With port 0 Chromium picks a free port and writes it, once listening, as the first
        // line of this file: no race for a port with other tests.
        let port_file = profile.join("DevToolsActivePort");
        let deadline = Instant::now() + STEP_LIMIT;
        loop {
            if let Ok(text) = std::fs::read_to_string(&port_file)
                && let Some(Ok(port)) = text.lines().next().map(str::parse)
            {
                browser.devtools_port = port;
                return Ok(browser);
            }
            if let Some(status) = browser.child.try_wait()? {
                bail!(
                    "Chromium exited ({status}) before listening:\n{}",
                    browser.log()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "Chromium wrote no DevTools port in {STEP_LIMIT:?}:\n{}",
                    browser.log()
                );
            }
            sleep(Duration::from_millis(50)).await;
        }
    }

    /// Asks Chromium to quit, so that it stops its own helper processes, and waits a little for
    /// it; `drop` kills whatever is left.
    pub async fn close(&mut self, page: &mut DevTools) {
        // The connection may close before the answer arrives: that is the expected outcome.
        let _ = page.call("Browser.close", json!({})).await;
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            sleep(Duration::from_millis(20)).await;
        }
    }

    /// The end of Chromium's own log, for failure messages.
    pub fn log(&self) -> String {
        let text =
            std::fs::read_to_string(self.scratch.path().join("chromium.log")).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// A DevTools connection to the tab Chromium opened on `about:blank`.
    pub async fn page(&self) -> anyhow::Result<DevTools> {
        let list_url = format!("http://127.0.0.1:{}/json/list", self.devtools_port);
        let client = http_client()?;
        let deadline = Instant::now() + STEP_LIMIT;
        let socket_url = loop {
            let targets: Vec<Value> = client.get(&list_url).send().await?.json().await?;
            if let Some(url) = targets
                .iter()
                .find(|target| target["type"] == "page")
                .and_then(|target| target["webSocketDebuggerUrl"].as_str())
            {
                break url.to_owned();
            }
            if Instant::now() > deadline {
                bail!(
                    "Chromium listed no page target: {targets:#?}\n{}",
                    self.log()
                );
            }
            sleep(Duration::from_millis(100)).await;
        };
        let (socket, _) = timeout(STEP_LIMIT, tokio_tungstenite::connect_async(&socket_url))
            .await
            .context("connecting to the DevTools WebSocket timed out")??;
        Ok(DevTools {
            socket,
            next_id: 0,
            events: Vec::new(),
        })
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Killing the browser process is enough: its renderer and utility processes watch it
        // and exit with it. Errors mean it is already gone.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One page's DevTools session. Calls are made one at a time; the events that arrive meanwhile
/// are kept for the assertions at the end.
pub struct DevTools {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    events: Vec<Value>,
}

impl DevTools {
    pub async fn call(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        let request = json!({ "id": id, "method": method, "params": params });
        self.socket.send(Message::text(request.to_string())).await?;
        let deadline = Instant::now() + STEP_LIMIT;
        loop {
            let message = timeout_at(deadline, self.socket.next())
                .await
                .with_context(|| format!("no answer to {method} in {STEP_LIMIT:?}"))?
                .context("Chromium closed the DevTools connection")??;
            let Message::Text(text) = message else {
                continue;
            };
            let mut message: Value = serde_json::from_str(&text)?;
            if message["id"] == id {
                if let Some(error) = message.get("error") {
                    bail!("{method} failed: {error}");
                }
                return Ok(message["result"].take());
            }
            if message.get("method").is_some() {
                self.events.push(message);
            }
        }
    }

    /// The value of a JavaScript expression in the page; a thrown exception is an error.
    pub async fn evaluate(&mut self, expression: &str) -> anyhow::Result<Value> {
        let mut result = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true }),
            )
            .await?;
        if let Some(exception) = result.get("exceptionDetails") {
            bail!("evaluating {expression} threw: {exception}");
        }
        Ok(result["result"]["value"].take())
    }

    /// Polls `expression` until it returns something other than null, false or "" and returns
    /// that; fails after `WAIT_LIMIT`, with what the page shows, to tell why.
    pub async fn wait_for(&mut self, what: &str, expression: &str) -> anyhow::Result<Value> {
        let deadline = Instant::now() + WAIT_LIMIT;
        loop {
            let value = self.evaluate(expression).await?;
            if !matches!(&value, Value::Null | Value::Bool(false)) && value.as_str() != Some("") {
                return Ok(value);
            }
            if Instant::now() > deadline {
                let shown = self
                    .evaluate("document.body ? document.body.innerText.slice(0, 2000) : ''")
                    .await
                    .unwrap_or_default();
                bail!(
                    "waited {WAIT_LIMIT:?} for {what}.\nThe page shows: {shown}\n\
                     Exceptions: {:#?}",
                    self.events("Runtime.exceptionThrown")
                );
            }
            sleep(Duration::from_millis(100)).await;
        }
    }

    /// A real mouse click at the centre of the element, as a person would make it: it also
    /// fails when something covers the element or it has no size.
    pub async fn click(&mut self, selector: &str) -> anyhow::Result<()> {
        let centre = self
            .evaluate(&format!(
                "(() => {{ const element = document.querySelector({});\
                    if (!element) return null;\
                    element.scrollIntoView({{ block: 'center' }});\
                    const box = element.getBoundingClientRect();\
                    const x = box.x + box.width / 2, y = box.y + box.height / 2;\
                    const hit = document.elementFromPoint(x, y);\
                    return {{ x, y, reachable: element === hit || element.contains(hit) }}; }})()",
                json!(selector)
            ))
            .await?;
        let (Some(x), Some(y)) = (centre["x"].as_f64(), centre["y"].as_f64()) else {
            bail!("no element matches {selector}");
        };
        ensure!(
            centre["reachable"] == true,
            "{selector} is covered by another element"
        );
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 }),
            )
            .await?;
        }
        Ok(())
    }

    /// Turns on what a page test watches: page, network and runtime events, and, installed
    /// before any page script runs, a record of every Content-Security-Policy violation in
    /// `window.__cspViolations` (so a blocked resource is recorded even when the page would work
    /// without it).
    pub async fn watch(&mut self) -> anyhow::Result<()> {
        self.call("Page.enable", json!({})).await?;
        self.call(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": "window.__cspViolations = [];\
                document.addEventListener('securitypolicyviolation', (e) =>\
                window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));" }),
        )
        .await?;
        self.call("Network.enable", json!({})).await?;
        self.call("Runtime.enable", json!({})).await?;
        Ok(())
    }

    /// Fails on any exception thrown, or error or warning logged, in the page so far.
    pub fn assert_quiet(&self) -> anyhow::Result<()> {
        let exceptions = self.events("Runtime.exceptionThrown");
        ensure!(exceptions.is_empty(), "{exceptions:#?}");
        let errors: Vec<_> = self
            .events("Runtime.consoleAPICalled")
            .into_iter()
            .filter(|e| matches!(e["params"]["type"].as_str(), Some("error" | "warning")))
            .collect();
        ensure!(errors.is_empty(), "console: {errors:#?}");
        Ok(())
    }

    /// Writes the page as it looks to `target/screenshots/NAME.png`, for a reviewer.
    pub async fn screenshot(&mut self, name: &str) -> anyhow::Result<()> {
        use base64::Engine as _;
        let shot = self
            .call("Page.captureScreenshot", json!({ "format": "png" }))
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

    pub fn events(&self, method: &str) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|event| event["method"] == method)
            .collect()
    }
}
