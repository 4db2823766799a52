//! Headless Chromium for the browser tests, driven over the DevTools protocol (CDP) on a
//! WebSocket: open a page, wait for it to load, read the DOM with an expression, click, take a
//! screenshot, and collect every Content Security Policy violation.
//!
//! The tests use six protocol methods; the CDP client crates generate the whole protocol (a
//! long build for CI), so the few messages are written here over `tokio-tungstenite`.
//! Chromium is Debian's package (`make setup-browser`); where none is installed,
//! [`Browser::launch`] answers `None` and the tests skip with a message.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long one protocol answer or page load may take.
const WAIT: Duration = Duration::from_secs(30);

/// Runs in every page before its own content: records the page's CSP violations. Scripts the
/// DevTools protocol adds are not subject to the page's policy, which forbids every script.
const CSP_RECORDER: &str =
    "window.__csp = []; document.addEventListener('securitypolicyviolation', \
     e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || '')));";

/// Where Chromium is: `CHROMIUM`, or the first of Debian's and Google's names on `PATH`.
pub fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM").map(PathBuf::from) {
        return p.exists().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
    .find(|p| p.is_file())
}

/// One headless Chromium with one page.
pub struct Browser {
    child: Child,
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    session: String,
    next_id: u64,
    events: VecDeque<Value>,
    profile: PathBuf,
}

impl Browser {
    /// Starts Chromium with a new profile and opens a blank page; `None` when no Chromium is
    /// installed (the caller skips, saying so).
    pub async fn launch() -> Result<Option<Browser>> {
        let Some(exe) = chromium() else {
            return Ok(None);
        };
        let profile = std::env::temp_dir().join(format!(
            "responder-chromium-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        // Without the background-networking flags, Chromium keeps trying Google's hosts,
        // which a closed network refuses.
        let mut child = Command::new(&exe)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--hide-scrollbars",
                "--window-size=1400,1000",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let stderr = child.stderr.take().context("Chromium's stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let url = tokio::time::timeout(WAIT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(u) = line.split("DevTools listening on ").nth(1) {
                    return Ok(u.trim().to_string());
                }
            }
            bail!("Chromium exited before it listened")
        })
        .await
        .context("Chromium did not start within 30 s")??;
        // Keep draining stderr (bytes, whatever their encoding) so Chromium never blocks on a
        // full pipe.
        let mut rest = lines.into_inner();
        tokio::spawn(async move {
            let _ = tokio::io::copy(&mut rest, &mut tokio::io::sink()).await;
        });
        let (ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .context("connecting to Chromium's DevTools")?;
        let mut b = Browser {
            child,
            ws,
            session: String::new(),
            next_id: 0,
            events: VecDeque::new(),
            profile,
        };
        let target = b
            .call("Target.createTarget", json!({ "url": "about:blank" }))
            .await?;
        let target_id = target["targetId"].as_str().unwrap_or_default().to_string();
        let attached = b
            .call(
                "Target.attachToTarget",
                json!({ "targetId": target_id, "flatten": true }),
            )
            .await?;
        b.session = attached["sessionId"]
            .as_str()
            .context("no session for the page")?
            .to_string();
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
            b.call(domain, json!({})).await?;
        }
        // Loads are told apart by their loader: a late event of an earlier page never ends
        // the wait for the next one.
        b.call("Page.setLifecycleEventsEnabled", json!({ "enabled": true }))
            .await?;
        b.call(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": CSP_RECORDER }),
        )
        .await?;
        Ok(Some(b))
    }

    /// Sends one command (to the page once attached) and returns its result.
    async fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if !self.session.is_empty() {
            msg["sessionId"] = json!(self.session);
        }
        self.ws
            .send(Message::Text(msg.to_string().into()))
            .await
            .with_context(|| format!("sending {method}"))?;
        tokio::time::timeout(WAIT, async {
            loop {
                let v = self.read().await?;
                if v.get("id").and_then(Value::as_u64) == Some(id) {
                    if let Some(e) = v.get("error") {
                        bail!("{method}: {e}");
                    }
                    return Ok(v.get("result").cloned().unwrap_or(Value::Null));
                }
                self.keep(v);
            }
        })
        .await
        .with_context(|| format!("{method} got no answer within 30 s"))?
    }

    async fn read(&mut self) -> Result<Value> {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(t))) => return Ok(serde_json::from_str(t.as_str())?),
                Some(Ok(_)) => continue,
                Some(Err(e)) => bail!("DevTools connection: {e}"),
                None => bail!("Chromium closed the DevTools connection"),
            }
        }
    }

    /// Keeps an event the waits or the CSP check may need; the page's other events go.
    fn keep(&mut self, v: Value) {
        let ours = v.get("sessionId").and_then(Value::as_str) == Some(self.session.as_str());
        let wanted = match v["method"].as_str().unwrap_or("") {
            "Page.lifecycleEvent" => v["params"]["name"] == "load",
            "Page.frameNavigated" => v["params"]["frame"].get("parentId").is_none(),
            "Log.entryAdded" => v["params"]["entry"]["text"]
                .as_str()
                .is_some_and(|t| t.contains("Content Security Policy")),
            _ => false,
        };
        if ours && wanted {
            self.events.push_back(v);
        }
    }

    /// Takes the first kept event `matches` accepts, reading more until one comes.
    async fn wait_for(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Result<Value> {
        tokio::time::timeout(WAIT, async {
            loop {
                if let Some(pos) = self.events.iter().position(&matches) {
                    return Ok(self.events.remove(pos).unwrap_or_default());
                }
                let v = self.read().await?;
                self.keep(v);
            }
        })
        .await
        .with_context(|| format!("no {what} within 30 s"))?
    }

    /// Waits until the document of `loader` has loaded.
    async fn wait_for_load(&mut self, loader: &str) -> Result<()> {
        self.wait_for("page load", |e| {
            e["method"] == "Page.lifecycleEvent" && e["params"]["loaderId"] == loader
        })
        .await
        .map(|_| ())
    }

    /// Opens `url` and waits until it has loaded.
    pub async fn goto(&mut self, url: &str) -> Result<()> {
        let r = self.call("Page.navigate", json!({ "url": url })).await?;
        if let Some(err) = r.get("errorText").and_then(Value::as_str) {
            bail!("opening {url}: {err}");
        }
        let loader = r["loaderId"].as_str().unwrap_or_default().to_string();
        self.wait_for_load(&loader).await
    }

    /// Evaluates a JavaScript expression in the page and returns its value.
    pub async fn eval(&mut self, expression: &str) -> Result<Value> {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            )
            .await?;
        if let Some(e) = r.get("exceptionDetails") {
            bail!("evaluating {expression}: {e}");
        }
        Ok(r["result"].get("value").cloned().unwrap_or(Value::Null))
    }

    /// Evaluates an expression that navigates (a click on a submit button) and waits for the
    /// next page to load.
    pub async fn eval_and_wait(&mut self, expression: &str) -> Result<()> {
        // Every earlier navigation was waited for until its load, after its frameNavigated.
        self.events.retain(|e| e["method"] != "Page.frameNavigated");
        self.eval(expression).await?;
        let nav = self
            .wait_for("navigation", |e| e["method"] == "Page.frameNavigated")
            .await?;
        let loader = nav["params"]["frame"]["loaderId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        self.wait_for_load(&loader).await
    }

    /// The text of the first element matching a CSS selector (`None` when none matches).
    pub async fn text(&mut self, selector: &str) -> Result<Option<String>> {
        let v = self
            .eval(&format!(
                "(() => {{ const e = document.querySelector({}); return e ? e.textContent : null; }})()",
                json!(selector)
            ))
            .await?;
        Ok(v.as_str().map(str::to_string))
    }

    /// An attribute of every element matching a CSS selector, in document order.
    pub async fn attributes(&mut self, selector: &str, attribute: &str) -> Result<Vec<String>> {
        let v = self
            .eval(&format!(
                "Array.from(document.querySelectorAll({})).map(e => e.getAttribute({}))",
                json!(selector),
                json!(attribute)
            ))
            .await?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect())
    }

    /// The CSP violations of the current page, and the console's CSP messages so far.
    pub async fn csp_violations(&mut self) -> Result<Vec<String>> {
        // Give the page's own violation events a moment to be dispatched.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut found: Vec<String> = self
            .eval("window.__csp || []")
            .await?
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect();
        found.extend(
            self.events
                .iter()
                .filter(|e| e["method"] == "Log.entryAdded")
                .filter_map(|e| e["params"]["entry"]["text"].as_str())
                .map(str::to_string),
        );
        Ok(found)
    }

    /// Saves a PNG of the page, from its top, at most `max_height` pixels high.
    pub async fn screenshot(&mut self, path: &Path, max_height: f64) -> Result<()> {
        let metrics = self.call("Page.getLayoutMetrics", json!({})).await?;
        let size = &metrics["cssContentSize"];
        let width = size["width"].as_f64().unwrap_or(1400.0);
        let height = size["height"].as_f64().unwrap_or(1000.0).min(max_height);
        let r = self
            .call(
                "Page.captureScreenshot",
                json!({
                    "format": "png",
                    "captureBeyondViewport": true,
                    "clip": { "x": 0, "y": 0, "width": width, "height": height, "scale": 1 }
                }),
            )
            .await?;
        let data = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap_or_default())
            .context("the screenshot is not base64")?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, data).with_context(|| format!("writing {}", path.display()))
    }

    /// Closes Chromium (and, on drop, its profile goes).
    pub async fn close(mut self) {
        self.session.clear();
        let _ = self.call("Browser.close", json!({})).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}

impl Drop for Browser {
    /// Also on a failed test: Chromium is killed (its helper processes follow their parent)
    /// and its profile removed.
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
