//! GraphiQL works with no internet: the page and its assets come from our binary, and a real
//! headless Chromium loads the page, fetches the schema and runs the example query through it.
//!
//! The browser is driven over the Chrome DevTools Protocol (JSON over a WebSocket) by the few
//! calls below, rather than through a WebDriver crate and a chromedriver binary, neither of which
//! Debian's Chromium package brings.

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

use crate::helpers::spawn_app;
use rural_registry::http::graphiql::EXAMPLE_QUERY;

/// The whole browser test, launch to last assertion; a stuck browser fails it, never hangs CI.
const BROWSER_TEST_LIMIT: Duration = Duration::from_secs(90);
/// One DevTools call, or the browser writing its DevTools port after launch.
const STEP_LIMIT: Duration = Duration::from_secs(15);
/// GraphiQL rendering, fetching the schema, or answering a query: 3.5 MB of JavaScript to parse
/// on a loaded two-core CI machine.
const WAIT_LIMIT: Duration = Duration::from_secs(30);

fn http_client() -> anyhow::Result<reqwest::Client> {
    // A proxy from the environment would carry loopback requests off the machine.
    Ok(reqwest::Client::builder()
        .no_proxy()
        .timeout(STEP_LIMIT)
        .build()?)
}

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

/// The browser to use, or `None` (with a loud message) when there is none and none is required.
///
/// A developer without Chromium still runs every other test; CI must not silently pass without
/// the one test that shows GraphiQL works, so there a missing browser is a failure.
fn chromium_or_skip() -> anyhow::Result<Option<PathBuf>> {
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
    page.call("Page.enable", json!({})).await?;
    // Installed before any page script runs, so that a resource the policy blocks is recorded
    // even when GraphiQL would work without it.
    page.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": "window.__cspViolations = [];\
            document.addEventListener('securitypolicyviolation', (e) =>\
            window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));" }),
    )
    .await?;
    page.call("Network.enable", json!({})).await?;
    page.call("Runtime.enable", json!({})).await?;
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

/// A headless Chromium on a fresh profile, killed when dropped so that a failed assertion or a
/// timeout cannot leave a browser behind.
struct Browser {
    child: Child,
    devtools_port: u16,
    /// Removed on drop, after `drop` has killed the browser that writes into it.
    scratch: tempfile::TempDir,
}

impl Browser {
    async fn launch(chromium: &Path) -> anyhow::Result<Self> {
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
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-proxy-server",
                "--window-size=1280,900",
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
    async fn close(&mut self, page: &mut DevTools) {
        // The connection may close before the answer arrives: that is the expected outcome.
        let _ = page.call("Browser.close", json!({})).await;
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            sleep(Duration::from_millis(20)).await;
        }
    }

    /// The end of Chromium's own log, for failure messages.
    fn log(&self) -> String {
        let text =
            std::fs::read_to_string(self.scratch.path().join("chromium.log")).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// A DevTools connection to the tab Chromium opened on `about:blank`.
    async fn page(&self) -> anyhow::Result<DevTools> {
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
struct DevTools {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    events: Vec<Value>,
}

impl DevTools {
    async fn call(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
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
    async fn evaluate(&mut self, expression: &str) -> anyhow::Result<Value> {
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
    async fn wait_for(&mut self, what: &str, expression: &str) -> anyhow::Result<Value> {
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
    async fn click(&mut self, selector: &str) -> anyhow::Result<()> {
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

    fn events(&self, method: &str) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|event| event["method"] == method)
            .collect()
    }
}
