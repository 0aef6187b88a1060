#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! The Telegram channel and command loop against a local stand-in of the Bot API: commands from
//! allowed and refused chats, confirmation, a wrong token, and the token kept out of everything
//! printable. Delivery (rate limit, retries, restarts) is in `courier.rs`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use secrecy::SecretString;
use tokio::sync::watch;
use tradeengine_model::ManualClock;
use tradeengine_notify::bot::serve_commands;
use tradeengine_notify::channel::Channel;
use tradeengine_notify::telegram::Telegram;
use tradeengine_notify::{CommandRecord, Control, ControlAction, ControlError, Desk, Outcome};

const TRADER: i64 = 4242;
const STRANGER: i64 = 999;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn bot(url: &str, token: &str, chats: Vec<i64>) -> Telegram {
    Telegram::new(url, &SecretString::from(token.to_string()), chats, http())
}

#[derive(Debug, Default)]
struct Engine {
    acted: Mutex<Vec<ControlAction>>,
    audited: Mutex<Vec<CommandRecord>>,
}

#[async_trait]
impl Control for Engine {
    async fn status(&self) -> Result<String, ControlError> {
        Ok("main: trading, equity 10000".into())
    }
    async fn positions(&self) -> Result<String, ControlError> {
        Ok("main BTCUSDT 0.5".into())
    }
    async fn pnl(&self) -> Result<String, ControlError> {
        Ok("main: realised 1.5".into())
    }
    async fn act(&self, action: ControlAction, _by: &str) -> Result<String, ControlError> {
        self.acted.lock().unwrap().push(action);
        Ok("Kill switch engaged: freeze".into())
    }
    async fn audit(&self, record: &CommandRecord) -> Result<(), ControlError> {
        self.audited.lock().unwrap().push(record.clone());
        Ok(())
    }
}

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 8, 0, 0).unwrap()
}

#[tokio::test]
async fn commands_from_the_allow_list_are_answered_and_confirmed_others_get_nothing() {
    let (url, api) = common::serve().await;
    let telegram = Arc::new(bot(&url, common::TOKEN, vec![TRADER]));
    let engine = Arc::new(Engine::default());
    let clock = Arc::new(ManualClock::new(t0()));
    let desk = Desk::new([TRADER], 60, engine.clone(), clock.clone());
    let (stop_tx, stop) = watch::channel(false);
    let loop_ = tokio::spawn(serve_commands(telegram, desk, 1, stop));

    api.say(STRANGER, "/status");
    api.say(STRANGER, "/kill");
    api.say(TRADER, "/status");
    let sent = api.wait_sent(1).await;
    assert_eq!(
        sent,
        vec![(TRADER, "main: trading, equity 10000".to_string())]
    );

    api.say(TRADER, "/kill");
    let sent = api.wait_sent(2).await;
    assert!(sent[1].1.contains("/confirm"), "{:?}", sent[1]);
    assert!(engine.acted.lock().unwrap().is_empty());
    api.say(STRANGER, "/confirm");
    api.say(TRADER, "/confirm");
    let sent = api.wait_sent(3).await;
    assert_eq!(sent[2], (TRADER, "Kill switch engaged: freeze".to_string()));
    assert_eq!(*engine.acted.lock().unwrap(), vec![ControlAction::Kill]);
    // Nothing ever went to the stranger.
    assert!(api.sent().iter().all(|(chat, _)| *chat == TRADER));
    let audited: Vec<(i64, Outcome)> = engine
        .audited
        .lock()
        .unwrap()
        .iter()
        .map(|r| (r.chat_id, r.outcome))
        .collect();
    assert_eq!(
        audited,
        vec![
            (STRANGER, Outcome::RefusedChat),
            (STRANGER, Outcome::RefusedChat),
            (TRADER, Outcome::Answered),
            (TRADER, Outcome::AwaitingConfirmation),
            (STRANGER, Outcome::RefusedChat),
            (TRADER, Outcome::Confirmed),
        ]
    );
    stop_tx.send(true).unwrap();
    loop_.await.unwrap();
}

#[tokio::test]
async fn a_wrong_token_or_a_429_is_an_error_that_never_shows_the_token() {
    let (url, api) = common::serve().await;
    let wrong = bot(&url, "111:WRONG-secret-token", vec![TRADER]);
    let err = wrong.send("hi", None).await.unwrap_err().to_string();
    assert!(err.contains("401"), "{err}");
    assert!(!err.contains("WRONG-secret-token"), "{err}");
    assert!(!format!("{wrong:?}").contains("WRONG-secret-token"));

    *api.flooded.lock().unwrap() = true;
    let right = bot(&url, common::TOKEN, vec![TRADER]);
    let err = right.send("hi", None).await.unwrap_err().to_string();
    assert!(err.contains("429"), "{err}");
    assert!(!err.contains(common::TOKEN));

    // Unreachable: the transport error has no URL in it either.
    let gone = bot("http://127.0.0.1:9", common::TOKEN, vec![TRADER]);
    let err = gone.send("hi", None).await.unwrap_err().to_string();
    assert!(!err.contains("TEST-token"), "{err}");
}
