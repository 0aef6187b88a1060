#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! `allow_ips` behind the TLS proxy the README recommends: the forwarded header
//! is believed only from a listed proxy, the sender is its right-most untrusted address, and
//! TradingView's client certificate (the subject the proxy verified, in a named header) is
//! required when configured. Only the alert that passes every check is stored.

mod common;

use std::net::SocketAddr;

use tradeengine_server::api::auth::ApiAuth;

const SECRET: &str = "test-secret-not-real-0002";
const TV_IP: &str = "52.89.214.238";

/// `behind_proxy`: the proxy on loopback is trusted and the certificate required; `direct`:
/// the same allow-list with no trusted proxy.
const CONFIG: &str = r#"
[engine]
drift_check_interval_secs = 3600
data_dir = "DATA"
hot_reload = false
[[accounts]]
name = "paper"
venue = "paper"
[sources.behind_proxy]
type = "tradingview"
[sources.behind_proxy.settings]
secret_env = "TV_TEST_SECRET"
allow_ips = ["tradingview"]
trusted_proxies = ["127.0.0.1", "10.0.0.0/8"]
client_cert_header = "X-Client-Subject"
[sources.direct]
type = "tradingview"
[sources.direct.settings]
secret_env = "TV_TEST_SECRET"
allow_ips = ["tradingview"]
[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = { behind_proxy = 0.5, direct = 0.5 }
"#;

fn post(addr: SocketAddr, path: &str, headers: &[(&str, &str)], body: &str) -> u16 {
    common::request(addr, "POST", path, headers, "text/plain", body).0
}

fn alert(id: &str) -> String {
    format!(
        r#"{{"secret":"{SECRET}","symbol":"BTCUSDT","direction":"long","action":"buy","size":"0.1","event_id":"{id}"}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_sender_and_client_certificate_only_from_a_trusted_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let config = common::config_in(CONFIG, dir.path());
    let engine = common::start(config, store.clone(), &[("TV_TEST_SECRET", SECRET)]).await;
    let app = common::app(&engine, store.clone(), ApiAuth::default(), None);
    let (addr, stop, server) = common::serve(app).await;

    let cert = ("X-Client-Subject", "CN=TradingView Webhooks,O=TradingView");
    let answers = tokio::task::spawn_blocking(move || {
        let proxy = "/webhook/behind_proxy";
        vec![
            // The proxy itself is no TradingView address.
            post(addr, proxy, &[cert], &alert("a")),
            // The sender wrote TradingView's address; nginx appended the real one.
            post(
                addr,
                proxy,
                &[("X-Forwarded-For", &format!("{TV_IP}, 198.51.100.7")), cert],
                &alert("b"),
            ),
            // Right sender, no certificate.
            post(addr, proxy, &[("X-Forwarded-For", TV_IP)], &alert("c")),
            // Right sender, another certificate.
            post(
                addr,
                proxy,
                &[
                    ("X-Forwarded-For", TV_IP),
                    ("X-Client-Subject", "CN=TradingView Webhooks Evil"),
                ],
                &alert("d"),
            ),
            // Right sender through two proxies, right certificate: accepted.
            post(
                addr,
                proxy,
                &[("X-Forwarded-For", &format!("{TV_IP}, 10.1.2.3")), cert],
                &alert("e"),
            ),
            // No trusted proxy on this source: the header is the sender's word, ignored.
            post(
                addr,
                "/webhook/direct",
                &[("X-Forwarded-For", TV_IP)],
                &alert("f"),
            ),
        ]
    })
    .await
    .unwrap();
    assert_eq!(answers, [401, 401, 401, 401, 200, 401]);

    let stored = store.recent_signals(100, 0).await.unwrap();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].source.as_str(), "behind_proxy");

    stop.cancel();
    let _ = server.await;
    engine.shutdown().await;
}
