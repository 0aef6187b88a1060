//! The browser side of the dashboard test: a minimal WebDriver client over chromedriver, the
//! canvas-pixel probes the charts are checked with, and the helpers around them.

use std::process::{Child, Command};
use std::time::Duration;

use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_tradeengine");
pub const READ_TOKEN: &str = "dash-read-token-not-real";
pub const CONTROL_TOKEN: &str = "dash-control-token-not-real";
pub const TV_SECRET: &str = "dash-tv-secret-not-real";
/// A hash of a chart's canvas pixels (every fourth pixel), and how many of them are painted
/// (differ from the panel's background), as `[hash, painted]`; `CHART` is the chart's id.
pub const PIXELS: &str = r##"let h = 0, painted = 0;
  for (const c of document.querySelectorAll("#CHART canvas")) {
    if (!c.width || !c.height) continue;
    const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < px.length; i += 16) {
      h = (h * 31 + px[i] + px[i + 1] * 3 + px[i + 2] * 7 + px[i + 3] * 11) % 1000000007;
      if (px[i + 3] > 0 && (Math.abs(px[i] - 22) + Math.abs(px[i + 1] - 29) + Math.abs(px[i + 2] - 38)) > 30) painted++;
    }
  }
  return [h, painted];"##;
/// A script returning [`PIXELS`] of the chart with this id.
pub fn pixels(chart: &str) -> String {
    format!("return (() => {{ {} }})();", PIXELS.replace("CHART", chart))
}

/// A script that is true once the chart's pixels differ from `before` (a [`pixels`] result).
pub fn pixels_changed(chart: &str, before: &Value) -> String {
    format!(
        "return (() => {{ {} }})()[0] !== {};",
        PIXELS.replace("CHART", chart),
        before[0]
    )
}

/// WebDriver's key for an element reference in JSON.
pub const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub fn tools() -> Option<(&'static str, &'static str)> {
    let browser = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())?;
    let driver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())?;
    Some((browser, driver))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills a child process when the test ends, pass or fail.
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// A minimal WebDriver client: one session, JSON over HTTP.
pub struct Driver {
    pub http: reqwest::Client,
    pub base: String,
}

impl Driver {
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let v: Value = resp.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {v}");
        v["value"].clone()
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn script(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": []}))
            .await
    }

    pub async fn element(&self, css: &str) -> String {
        let v = self
            .post("/element", json!({"using": "css selector", "value": css}))
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    pub async fn text(&self, css: &str) -> String {
        let id = self.element(css).await;
        self.get(&format!("/element/{id}/text"))
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Polls `check` until it returns true (about 60 s at most).
    pub async fn until(&self, what: &str, check: &str) {
        for _ in 0..300 {
            if self.script(check).await == Value::Bool(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let body = self.script("return document.body.innerText").await;
        panic!("the page never showed {what}: {body}");
    }
}

/// Writes the page as WebDriver renders it to `path` (PNG).
pub async fn screenshot(d: &Driver, path: &std::path::Path) {
    use base64::Engine as _;
    let png = d.get("/screenshot").await;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(png.as_str().unwrap())
        .unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(path, bytes).unwrap();
    eprintln!("dashboard screenshot: {}", path.display());
}

// One scenario whose steps build on each other's state, so it stays one sequence.
