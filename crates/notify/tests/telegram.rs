#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! The Telegram channel and command loop against a local stand-in of the Bot API: commands from
//! allowed and refused chats, confirmation, a flood of events under the rate limit, a wrong
//! token, and the token kept out of everything printable.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{TimeDelta, TimeZone, Utc};
use rust_decimal_macros::dec;
use secrecy::SecretString;
use tokio::sync::watch;
use tradeengine_model::ManualClock;
use tradeengine_notify::bot::serve_commands;
use tradeengine_notify::channel::Channel;
use tradeengine_notify::config::ChannelLimits;
use tradeengine_notify::config::KindSwitches;
use tradeengine_notify::telegram::Telegram;
use tradeengine_notify::{
    CommandRecord, Control, ControlAction, ControlError, Desk, Event, Notifier, Outcome,
};

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

fn fill(i: u32) -> Event {
    Event::Fill {
        account: "main".into(),
        symbol: "ETHUSDT".into(),
        side: "buy".into(),
        qty: dec!(0.01),
        price: dec!(3000.25) + rust_decimal::Decimal::from(i),
        fee: None,
        at: t0(),
    }
}

#[tokio::test]
async fn a_flood_of_events_is_held_to_the_rate_limit_and_said_in_one_line() {
    let (url, api) = common::serve().await;
    let clock = Arc::new(ManualClock::new(t0()));
    let mut notifier = Notifier::new(clock.clone());
    let limits = ChannelLimits {
        per_minute: 5,
        refusal_summary_secs: 60,
        notify: KindSwitches::default(),
    };
    notifier.add(
        Arc::new(bot(&url, common::TOKEN, vec![TRADER, TRADER + 1])),
        limits,
    );

    for i in 0..100 {
        notifier.notify(&fill(i)).await;
    }
    for i in 0..40 {
        let reason = if i % 4 == 0 {
            "unknown symbol"
        } else {
            "bad secret"
        };
        notifier
            .notify(&Event::SignalRefused {
                source: "tv".into(),
                reason: reason.into(),
                at: t0(),
            })
            .await;
    }
    // The kill switch is never held back, even with the bucket empty.
    notifier
        .notify(&Event::KillSwitch {
            action: "freeze".into(),
            scope: "all".into(),
            by: "api".into(),
            at: t0(),
        })
        .await;
    let sent = api.sent();
    // Five fills to each of the two chats, then the kill switch to both.
    assert_eq!(sent.len(), 12, "{sent:#?}");
    assert!(
        sent[..10]
            .iter()
            .all(|(_, t)| t.starts_with("BOUGHT 0.01 ETHUSDT @ 300"))
    );
    assert!(
        sent[10]
            .1
            .starts_with("Kill switch ENGAGED: FREEZE all by api")
    );

    // A minute on: the refusal summary and the held-back note, once each per chat.
    clock.advance(TimeDelta::seconds(60));
    notifier.tick().await;
    let sent = api.sent();
    assert_eq!(sent.len(), 16, "{sent:#?}");
    assert_eq!(
        sent[12].1,
        "40 signals refused in the last 1 min: tv 40 (bad secret x30; unknown symbol x10)"
    );
    assert_eq!(
        sent[14].1,
        "95 notification(s) held back by the rate limit: 95 fill"
    );
    // Nothing more is due.
    clock.advance(TimeDelta::seconds(120));
    notifier.tick().await;
    assert_eq!(api.sent().len(), 16);
}

#[tokio::test]
async fn a_switched_off_kind_is_never_sent() {
    let (url, api) = common::serve().await;
    let clock = Arc::new(ManualClock::new(t0()));
    let mut notifier = Notifier::new(clock);
    let notify = KindSwitches {
        fill: false,
        ..KindSwitches::default()
    };
    notifier.add(
        Arc::new(bot(&url, common::TOKEN, vec![TRADER])),
        ChannelLimits {
            per_minute: 30,
            refusal_summary_secs: 60,
            notify,
        },
    );
    notifier.notify(&fill(1)).await;
    notifier
        .notify(&Event::SourceFresh {
            source: "sn8".into(),
            at: t0(),
        })
        .await;
    assert_eq!(
        api.sent(),
        vec![(TRADER, "Source sn8 is fresh again".to_string())]
    );
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
