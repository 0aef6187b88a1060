#![allow(clippy::unwrap_used)]
//! The LLM agent against a local OpenAI-compatible stub that answers good, malformed, invalid,
//! slow, refused and failing replies: the good one decides, every other one falls back to the
//! rules with the reason recorded, and the key never shows in an error.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tradeengine_signals::strategy::cipher::{MarketState, WaveCross};
use tradeengine_signals::strategy::{
    Action, Agent, DecisionRules, FallbackParams, LlmClient, LlmConfig, Origin, Position,
};

#[derive(Clone, Copy, Debug)]
enum Mode {
    Good,
    Fenced,
    Malformed,
    Invalid,
    Slow,
    Refused,
    ServerError,
}

const KEY: &str = "sk-test-obviously-fake-0000";

/// Serves chat completions on a local port; records each request's head and body.
async fn stub(mode: Mode) -> (String, Arc<Mutex<Vec<(String, Value)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head, body) = loop {
                    let n = sock.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let head = text[..end].to_string();
                        let len: usize = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap())
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break (head, buf[end + 4..end + 4 + len].to_vec());
                        }
                    }
                };
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                log.lock().unwrap().push((head, body));
                let decision = r#"{"action":"LONG","size_pct":8,"take_profit_pct":3,"stop_loss_pct":1.5,"leverage":2,"rationale":"wave crossed up from oversold","reduce_only":false}"#;
                let content = |c: &str| json!({"choices":[{"index":0,"message":{"role":"assistant","content":c},"finish_reason":"stop"}]});
                let (status, reply) = match mode {
                    Mode::Good => (200, content(decision)),
                    Mode::Fenced => (
                        200,
                        content(&format!("Here you go:\n```json\n{decision}\n```")),
                    ),
                    Mode::Malformed => (200, content("{\"action\": \"LONG\", size_pct: lots")),
                    Mode::Invalid => (
                        200,
                        content(
                            r#"{"action":"LONG","size_pct":500,"take_profit_pct":3,"stop_loss_pct":1}"#,
                        ),
                    ),
                    Mode::Slow => {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        (200, content(decision))
                    }
                    Mode::Refused => (
                        200,
                        json!({"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I cannot give financial advice."},"finish_reason":"stop"}]}),
                    ),
                    Mode::ServerError => (503, json!({"error":{"message":"overloaded"}})),
                };
                let body = reply.to_string();
                let resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}/v1"), seen)
}

/// A bullish market: the fallback would go LONG 10 % too, so tests tell the paths apart by the
/// origin and the size (the stub asks for 8 %).
fn bullish() -> MarketState {
    MarketState {
        symbol: "BTCUSDT".into(),
        interval_secs: 60,
        price: 100.0,
        candle_open_ms: 0,
        trend_dot: 1,
        ema_fast: 101.0,
        ema_slow: 100.0,
        wave: 12.0,
        wave_signal: 4.0,
        wave_cross: WaveCross::CrossedUp,
        mfi: 62.0,
        money_flow: 3.0,
        rsi: 48.0,
        stoch_k: 40.0,
        stoch_d: 30.0,
        atr: 0.5,
        atr_fraction: 0.005,
        cipher_a: 1,
        recent_marks: vec!["green_diamond@0".into()],
        last_candles: vec![[99.0, 100.5, 98.5, 100.0, 12.0]],
    }
}

fn agent(base_url: String) -> Agent {
    let llm = LlmClient::new(LlmConfig {
        base_url,
        model: "stub-model".into(),
        api_key: Some(SecretString::from(KEY)),
        timeout: Duration::from_millis(500),
        temperature: Some(0.1),
        max_tokens: 300,
    })
    .unwrap();
    Agent {
        llm: Some(llm),
        rules: DecisionRules::default(),
        fallback: FallbackParams::default(),
    }
}

#[tokio::test]
async fn good_reply_decides_and_the_request_is_openai_shaped() {
    let (url, seen) = stub(Mode::Good).await;
    let out = agent(url).decide(&bullish(), Position::Flat).await;
    assert_eq!(
        out.origin,
        Origin::Llm {
            model: "stub-model".into()
        }
    );
    assert_eq!(out.decision.action, Action::Long);
    assert_eq!(out.decision.size_pct.to_string(), "8");
    assert_eq!(out.decision.rationale, "wave crossed up from oversold");
    let seen = seen.lock().unwrap();
    let (head, body) = &seen[0];
    assert!(head.starts_with("POST /v1/chat/completions "), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("authorization: bearer {KEY}").to_ascii_lowercase())
    );
    assert_eq!(body["model"], "stub-model");
    assert_eq!(body["messages"][0]["role"], "system");
    let user = body["messages"][1]["content"].as_str().unwrap();
    assert!(
        user.contains("BTCUSDT") && user.contains("Current position: Flat"),
        "{user}"
    );
}

#[tokio::test]
async fn fenced_reply_is_sanitised_and_used() {
    let (url, _) = stub(Mode::Fenced).await;
    let out = agent(url).decide(&bullish(), Position::Flat).await;
    assert!(matches!(out.origin, Origin::Llm { .. }));
    assert_eq!(out.decision.size_pct.to_string(), "8");
}

#[tokio::test]
async fn the_llm_is_held_to_the_single_position_rule() {
    let (url, _) = stub(Mode::Good).await;
    let out = agent(url).decide(&bullish(), Position::Long).await;
    assert!(matches!(out.origin, Origin::Llm { .. }));
    assert_eq!(out.decision.action, Action::Hold);
    assert_eq!(out.adjustments.len(), 1, "{:?}", out.adjustments);
}

#[tokio::test]
async fn every_bad_answer_falls_back_with_its_reason() {
    let cases = [
        (Mode::Malformed, "invalid LLM reply"),
        (Mode::Invalid, "size_pct"),
        (Mode::Slow, "did not answer within"),
        (Mode::Refused, "refused"),
        (Mode::ServerError, "HTTP 503"),
    ];
    for (mode, expect) in cases {
        let (url, _) = stub(mode).await;
        let out = agent(url).decide(&bullish(), Position::Flat).await;
        let Origin::Fallback { reason } = &out.origin else {
            panic!("{mode:?}: decided by the LLM");
        };
        assert!(reason.contains(expect), "{mode:?}: {reason}");
        assert!(!reason.contains(KEY), "{mode:?}: key leaked");
        assert_eq!(
            out.decision.action,
            Action::Long,
            "{mode:?}: the rules' decision"
        );
        assert_eq!(out.decision.size_pct.to_string(), "10");
        assert!(out.decision.rationale.starts_with("Fallback rules"));
    }
}

#[tokio::test]
async fn unreachable_and_unconfigured_fall_back() {
    // A port nothing listens on: bind, read the port, drop the listener.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let out = agent(format!("http://127.0.0.1:{port}/v1"))
        .decide(&bullish(), Position::Flat)
        .await;
    let Origin::Fallback { reason } = &out.origin else {
        panic!("decided by the LLM");
    };
    assert!(reason.contains("unreachable"), "{reason}");

    let none = Agent {
        llm: None,
        rules: DecisionRules::default(),
        fallback: FallbackParams::default(),
    };
    let out = none.decide(&bullish(), Position::Flat).await;
    assert_eq!(
        out.origin,
        Origin::Fallback {
            reason: "no LLM configured".into()
        }
    );
}
