#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! `GET /api/v1/events`: read-token protected; the live audit events arrive as Server-Sent
//! Events with their chain seq as the id; a reader reconnecting with `Last-Event-ID` gets what
//! it missed from the store first, without repeats.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const READ: &str = "read-token-not-real";
const CONTROL: &str = "control-token-not-real";

/// An open event stream, read as raw bytes.
struct Stream {
    conn: TcpStream,
    seen: String,
}

impl Stream {
    async fn open_path(addr: SocketAddr, path: &str) -> Self {
        Self::request(addr, path, Some(READ), "").await
    }

    async fn open(addr: SocketAddr, token: Option<&str>, extra: &str) -> Self {
        Self::request(addr, "/api/v1/events", token, extra).await
    }

    async fn request(addr: SocketAddr, path: &str, token: Option<&str>, extra: &str) -> Self {
        let mut conn = TcpStream::connect(addr).await.unwrap();
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        conn.write_all(
            format!(
                "GET {path} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n{auth}{extra}\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        Self {
            conn,
            seen: String::new(),
        }
    }

    /// Reads until `needle` has arrived (a hang guard, not a timing check); everything so far.
    async fn until(&mut self, needle: &str) -> String {
        let read = async {
            let mut buf = [0u8; 8192];
            while !self.seen.contains(needle) {
                let n = self.conn.read(&mut buf).await.unwrap();
                assert!(n > 0, "stream closed before {needle:?}: {}", self.seen);
                self.seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        };
        tokio::time::timeout(Duration::from_secs(30), read)
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} in {}", self.seen));
        self.seen.clone()
    }
}

/// The `id:` of each audit event in `text`, in order.
fn ids(text: &str) -> Vec<i64> {
    text.lines()
        .filter_map(|l| l.strip_prefix("id: ").or_else(|| l.strip_prefix("id:")))
        .map(|v| v.trim().parse().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_events_need_a_token_arrive_as_they_happen_and_resume_from_the_last_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let config = common::demo_config_in(dir.path());
    let engine = common::start(config, store.clone(), &common::DEMO_ENV).await;
    let auth = common::auth(Some(READ), Some(CONTROL), true);
    let app = common::app(&engine, store.clone(), auth, None);
    let (addr, stop, server) = common::serve(app).await;

    let mut none = Stream::open(addr, None, "").await;
    assert!(none.until("\r\n\r\n").await.starts_with("HTTP/1.1 401"));
    let mut wrong = Stream::open(addr, Some("nope"), "").await;
    assert!(wrong.until("\r\n\r\n").await.starts_with("HTTP/1.1 401"));

    let mut live = Stream::open(addr, Some(READ), "").await;
    let head = live.until("\r\n\r\n").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{head}"
    );

    // An action elsewhere arrives on the stream.
    let (status, _) = tokio::task::spawn_blocking(move || {
        common::json_request(
            addr,
            "POST",
            "/api/v1/kill",
            Some(CONTROL),
            r#"{"action":"freeze","reason":"sse test"}"#,
        )
    })
    .await
    .unwrap();
    assert_eq!(status, 200);
    let text = live.until("\"kind\":\"kill_switch\"").await;
    assert!(text.contains("event: audit"), "{text}");
    assert!(text.contains("sse test"), "{text}");
    let last = *ids(&text).last().unwrap();

    // A reader that reconnects after the engine's start gets the start onwards from the store,
    // each event once, in chain order, then the live ones.
    let mut resumed = Stream::open(addr, Some(READ), "Last-Event-ID: 0\r\n").await;
    let text = resumed.until(&format!("id: {last}\n")).await;
    assert!(text.contains("\"kind\":\"engine_started\""), "{text}");
    let got = ids(&text);
    let mut sorted = got.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(got, sorted, "ids repeat or go backwards");
    assert_eq!(got.first(), Some(&1));

    let (status, _) = tokio::task::spawn_blocking(move || {
        common::json_request(addr, "DELETE", "/api/v1/kill", Some(CONTROL), "")
    })
    .await
    .unwrap();
    assert_eq!(status, 200);
    let text = resumed.until("\"released\"").await;
    let got = ids(&text);
    assert!(got.last().unwrap() > &last);

    // `history=N`: the newest N events, then the live ones.
    let mut recent = Stream::open_path(addr, "/api/v1/events?history=1").await;
    let text = recent.until("event: audit").await;
    // (The demo may have written more since the release, never less.)
    assert!(ids(&text)[0] >= *got.last().unwrap(), "{text}");

    let mut bad = Stream::open(addr, Some(READ), "Last-Event-ID: yesterday\r\n").await;
    assert!(bad.until("\r\n\r\n").await.starts_with("HTTP/1.1 400"));
    // An unknown parameter is refused in the API's JSON error shape, as documented (not
    // axum's plain-text rejection).
    let mut unknown = Stream::open_path(addr, "/api/v1/events?history=0&since=1").await;
    let text = unknown.until("}").await;
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{text}"
    );
    assert!(text.contains("\"error\""), "{text}");

    // The server's shutdown ends the open streams, so it does not wait on them forever.
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .expect("the server stops with streams open")
        .unwrap();
    drop((live, resumed, recent));
    engine.shutdown().await;
}
