#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! At-least-once delivery to the local Telegram stand-in: a flood held to the rate limit and
//! said in one line, a chat that blocked the bot skipped without stalling the others, a Bot API
//! that refuses for a while then takes every message once, and a courier killed in the middle
//! whose successor sends what was left and nothing that was already delivered.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{TimeDelta, TimeZone, Utc};
use rust_decimal_macros::dec;
use secrecy::SecretString;
use tokio::sync::{Notify, mpsc, watch};
use tradeengine_model::ManualClock;
use tradeengine_notify::Event;
use tradeengine_notify::config::{ChannelLimits, KindSwitches};
use tradeengine_notify::courier::{Courier, Item, Outbox, OutboxError, Progress, Step};
use tradeengine_notify::telegram::Telegram;

const TRADER: i64 = 4242;
const DESK: i64 = 4343;
const BLOCKED: i64 = 777;

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 8, 0, 0).unwrap()
}

fn bot(url: &str, chats: Vec<i64>) -> Arc<Telegram> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    Arc::new(Telegram::new(
        url,
        &SecretString::from(common::TOKEN.to_string()),
        chats,
        http,
    ))
}

fn limits(per_minute: u32) -> ChannelLimits {
    ChannelLimits {
        per_minute,
        refusal_summary_secs: 60,
        notify: KindSwitches::default(),
    }
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

/// An outbox in memory: items 1..=n, and the saved progress per channel (what a restart reads).
#[derive(Debug, Default)]
struct MemOutbox {
    items: Mutex<Vec<Option<Event>>>,
    saved: Mutex<BTreeMap<String, Progress>>,
}

impl MemOutbox {
    fn push(&self, e: Option<Event>) {
        self.items.lock().unwrap().push(e);
    }
    fn saved(&self, channel: &str) -> Progress {
        self.saved.lock().unwrap()[channel].clone()
    }
}

#[async_trait]
impl Outbox for MemOutbox {
    async fn head(&self) -> Result<i64, OutboxError> {
        Ok(self.items.lock().unwrap().len() as i64)
    }
    async fn after(&self, after: i64, limit: usize) -> Result<Vec<Item>, OutboxError> {
        let items = self.items.lock().unwrap();
        Ok(items
            .iter()
            .enumerate()
            .skip(after as usize)
            .take(limit)
            .map(|(i, e)| Item {
                seq: i as i64 + 1,
                event: e.clone(),
            })
            .collect())
    }
    async fn load(&self, channel: &str) -> Result<Option<Progress>, OutboxError> {
        Ok(self.saved.lock().unwrap().get(channel).cloned())
    }
    async fn save(&self, channel: &str, progress: &Progress) -> Result<(), OutboxError> {
        self.saved
            .lock()
            .unwrap()
            .insert(channel.to_string(), progress.clone());
        Ok(())
    }
}

/// Steps until the courier has nothing left; the steps taken.
async fn drain(c: &mut Courier) -> Vec<Step> {
    let mut steps = Vec::new();
    loop {
        let s = c.step().await.unwrap();
        steps.push(s);
        if matches!(s, Step::Idle | Step::Failed(_)) {
            return steps;
        }
        assert!(steps.len() < 10_000, "the courier never settles");
    }
}

#[tokio::test]
async fn a_flood_is_held_to_the_rate_limit_and_said_in_one_line() {
    let (url, api) = common::serve().await;
    let clock = Arc::new(ManualClock::new(t0()));
    let outbox = Arc::new(MemOutbox::default());
    let mut c = Courier::open(
        bot(&url, vec![TRADER, DESK]),
        limits(5),
        outbox.clone(),
        clock.clone(),
    )
    .await
    .unwrap();
    for i in 0..100 {
        outbox.push(Some(fill(i)));
    }
    for i in 0..40 {
        let reason = if i % 4 == 0 {
            "unknown symbol"
        } else {
            "bad secret"
        };
        outbox.push(Some(Event::SignalRefused {
            source: "tv".into(),
            reason: reason.into(),
            at: t0(),
        }));
        // What the trail holds but a phone does not hear about.
        outbox.push(None);
    }
    // The kill switch is never held back, even with the bucket empty.
    outbox.push(Some(Event::KillSwitch {
        action: "freeze".into(),
        scope: "all".into(),
        by: "api".into(),
        at: t0(),
    }));
    drain(&mut c).await;
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
    // Everything is settled and saved, the counts with it.
    assert_eq!(outbox.saved("telegram").after, 181);

    // A restart here would not forget the counts: a new courier from the saved progress says
    // the summary and the held-back note a minute on, once each per chat.
    drop(c);
    let mut c = Courier::open(
        bot(&url, vec![TRADER, DESK]),
        limits(5),
        outbox.clone(),
        clock.clone(),
    )
    .await
    .unwrap();
    clock.advance(TimeDelta::seconds(60));
    drain(&mut c).await;
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
    drain(&mut c).await;
    assert_eq!(api.sent().len(), 16);
}

#[tokio::test]
async fn a_switched_off_kind_is_never_sent() {
    let (url, api) = common::serve().await;
    let clock = Arc::new(ManualClock::new(t0()));
    let outbox = Arc::new(MemOutbox::default());
    let mut l = limits(30);
    l.notify = KindSwitches {
        fill: false,
        ..KindSwitches::default()
    };
    let mut c = Courier::open(bot(&url, vec![TRADER]), l, outbox.clone(), clock)
        .await
        .unwrap();
    outbox.push(Some(fill(1)));
    c.queue(Event::SourceFresh {
        source: "sn8".into(),
        at: t0(),
    });
    drain(&mut c).await;
    assert_eq!(
        api.sent(),
        vec![(TRADER, "Source sn8 is fresh again".to_string())]
    );
    assert_eq!(outbox.saved("telegram").after, 1);
    assert!(outbox.saved("telegram").waiting.is_empty());
}

#[tokio::test]
async fn a_chat_that_blocked_the_bot_is_skipped_and_the_others_get_everything() {
    let (url, api) = common::serve().await;
    api.blocked.lock().unwrap().push(BLOCKED);
    let clock = Arc::new(ManualClock::new(t0()));
    let outbox = Arc::new(MemOutbox::default());
    let mut c = Courier::open(
        bot(&url, vec![BLOCKED, TRADER]),
        limits(30),
        outbox.clone(),
        clock,
    )
    .await
    .unwrap();
    for i in 0..3 {
        outbox.push(Some(fill(i)));
    }
    let steps = drain(&mut c).await;
    // No retry: a 403 will not turn into a 200.
    assert_eq!(steps, [Step::Sent, Step::Sent, Step::Sent, Step::Idle]);
    let sent = api.sent();
    assert_eq!(sent.len(), 3, "{sent:#?}");
    assert!(sent.iter().all(|(chat, _)| *chat == TRADER));
    assert_eq!(outbox.saved("telegram").after, 3);
}

#[tokio::test]
async fn a_refusing_api_is_retried_with_back_off_and_each_message_goes_once() {
    let (url, api) = common::serve().await;
    let clock = Arc::new(ManualClock::new(t0()));
    let outbox = Arc::new(MemOutbox::default());
    let mut c = Courier::open(bot(&url, vec![TRADER]), limits(30), outbox.clone(), clock)
        .await
        .unwrap()
        .with_backoff(Duration::from_millis(100), Duration::from_millis(400));
    outbox.push(Some(fill(1)));
    outbox.push(Some(fill(2)));
    *api.flooded.lock().unwrap() = true;
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(c.step().await.unwrap());
    }
    // Doubling waits up to the cap; nothing is marked sent meanwhile.
    assert_eq!(
        got,
        [100, 200, 400, 400].map(|ms| Step::Failed(Duration::from_millis(ms)))
    );
    assert_eq!(outbox.saved("telegram").after, 0);
    assert!(api.sent().is_empty());
    *api.flooded.lock().unwrap() = false;
    drain(&mut c).await;
    let texts: Vec<String> = api.sent().into_iter().map(|(_, t)| t).collect();
    assert_eq!(texts.len(), 2, "{texts:#?}");
    assert!(
        texts[0].contains("3001.25") && texts[1].contains("3002.25"),
        "{texts:#?}"
    );
    assert_eq!(outbox.saved("telegram").after, 2);
}

/// A courier running as the engine runs it, from the outbox's saved progress.
async fn run_courier(
    url: &str,
    clock: Arc<ManualClock>,
    outbox: Arc<MemOutbox>,
) -> tokio::task::JoinHandle<()> {
    let c = Courier::open(bot(url, vec![TRADER]), limits(1000), outbox, clock)
        .await
        .unwrap();
    let (tx, rx) = mpsc::channel(8);
    let (stop_tx, stop) = watch::channel(false);
    let wake = Arc::new(Notify::new());
    tokio::spawn(async move {
        // Keep the senders alive with the task.
        let _keep = (tx, stop_tx);
        c.run(rx, wake, stop, Duration::from_millis(20)).await;
    })
}

#[tokio::test]
async fn a_courier_killed_in_the_middle_is_resumed_without_loss_or_repeats() {
    let (url, api) = common::serve().await;
    let clock = Arc::new(ManualClock::new(t0()));
    let outbox = Arc::new(MemOutbox::default());
    // The courier starts at the head: what came before it was configured is not sent.
    outbox.push(Some(fill(9999)));
    let first = run_courier(&url, clock.clone(), outbox.clone()).await;
    for i in 0..200 {
        outbox.push(Some(fill(i)));
    }
    api.wait_sent(60).await;
    // Killed mid-flight (an abort drops the task wherever it is, as a crash would).
    first.abort();
    let _ = first.await;
    let before = api.sent().len();
    let second = run_courier(&url, clock.clone(), outbox.clone()).await;
    api.wait_sent(200).await;
    // Let an idle poll or two pass: nothing more may come.
    tokio::time::sleep(Duration::from_millis(100)).await;
    second.abort();
    let sent = api.sent();
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for (_, t) in &sent {
        *count.entry(t.clone()).or_default() += 1;
    }
    // Every message at least once; at most the one in flight at the kill twice.
    assert_eq!(count.len(), 200, "{count:#?}");
    assert!(!count.keys().any(|t| t.contains("12999.25")));
    let repeated: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.len() <= 1 && repeated.iter().all(|(_, n)| **n == 2),
        "{repeated:#?} (first courier sent {before})"
    );
    assert_eq!(sent.len(), 200 + repeated.len());
    assert_eq!(outbox.saved("telegram").after, 201);
}

#[tokio::test]
async fn events_waiting_for_a_channel_that_is_down_are_bounded_and_the_one_in_flight_stays() {
    let (url, api) = common::serve().await;
    let clock = Arc::new(ManualClock::new(t0()));
    let outbox = Arc::new(MemOutbox::default());
    let mut c = Courier::open(
        bot(&url, vec![TRADER]),
        limits(10_000),
        outbox.clone(),
        clock,
    )
    .await
    .unwrap()
    .with_backoff(Duration::from_millis(1), Duration::from_millis(1));
    *api.flooded.lock().unwrap() = true;
    let stale = |i: u32| Event::SourceStale {
        source: format!("s{i}"),
        since: t0(),
        error: None,
    };
    c.queue(stale(0));
    assert!(matches!(c.step().await.unwrap(), Step::Failed(_)));
    for i in 1..=1005 {
        c.queue(stale(i));
    }
    let waiting = &c.progress().waiting;
    assert_eq!(waiting.len(), tradeengine_notify::courier::MAX_WAITING);
    // The one being sent, then the newest: s1 … s6 made room.
    assert_eq!(waiting[0], stale(0));
    assert_eq!(waiting[1], stale(7));
    *api.flooded.lock().unwrap() = false;
    assert_eq!(c.step().await.unwrap(), Step::Sent);
    assert!(api.sent()[0].1.contains("s0"), "{:?}", api.sent());
    assert_eq!(c.progress().waiting[0], stale(7));
}
