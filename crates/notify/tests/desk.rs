#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! The command desk's rules: allow-list, confirmation within the window, audit before acting,
//! nothing done when the audit cannot be written.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{TimeDelta, TimeZone, Utc};
use tradeengine_model::ManualClock;
use tradeengine_notify::{CommandRecord, Control, ControlAction, ControlError, Desk, Outcome};

#[derive(Debug, Default)]
struct FakeEngine {
    acted: Mutex<Vec<(ControlAction, String)>>,
    audited: Mutex<Vec<CommandRecord>>,
    audit_broken: Mutex<bool>,
}

#[async_trait]
impl Control for FakeEngine {
    async fn status(&self) -> Result<String, ControlError> {
        Ok("running: 1 account".into())
    }
    async fn positions(&self) -> Result<String, ControlError> {
        Ok("BTCUSDT +0.5".into())
    }
    async fn pnl(&self) -> Result<String, ControlError> {
        Ok("realised 12.5".into())
    }
    async fn act(&self, action: ControlAction, by: &str) -> Result<String, ControlError> {
        self.acted.lock().unwrap().push((action, by.to_string()));
        Ok(format!("done: {action:?}"))
    }
    async fn audit(&self, record: &CommandRecord) -> Result<(), ControlError> {
        if *self.audit_broken.lock().unwrap() {
            return Err(ControlError("database is locked".into()));
        }
        self.audited.lock().unwrap().push(record.clone());
        Ok(())
    }
}

const TRADER: i64 = 1001;
const STRANGER: i64 = 666;

fn desk() -> (Desk, Arc<FakeEngine>, Arc<ManualClock>) {
    let engine = Arc::new(FakeEngine::default());
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2025, 5, 1, 9, 0, 0).unwrap(),
    ));
    let desk = Desk::new([TRADER], 60, engine.clone(), clock.clone());
    (desk, engine, clock)
}

fn outcomes(engine: &FakeEngine) -> Vec<(i64, String, Outcome)> {
    engine
        .audited
        .lock()
        .unwrap()
        .iter()
        .map(|r| (r.chat_id, r.command.clone(), r.outcome))
        .collect()
}

#[tokio::test]
async fn a_chat_off_the_allow_list_gets_no_answer_and_nothing_happens_but_is_audited() {
    let (mut desk, engine, _) = desk();
    assert_eq!(desk.handle(STRANGER, "/status").await, None);
    assert_eq!(desk.handle(STRANGER, "/kill").await, None);
    assert_eq!(desk.handle(STRANGER, "/confirm").await, None);
    assert!(engine.acted.lock().unwrap().is_empty());
    assert_eq!(
        outcomes(&engine),
        vec![
            (STRANGER, "status".into(), Outcome::RefusedChat),
            (STRANGER, "kill".into(), Outcome::RefusedChat),
            (STRANGER, "confirm".into(), Outcome::RefusedChat),
        ]
    );
}

#[tokio::test]
async fn reads_are_answered_and_audited() {
    let (mut desk, engine, _) = desk();
    assert_eq!(
        desk.handle(TRADER, "/positions").await.unwrap(),
        "BTCUSDT +0.5"
    );
    assert_eq!(
        desk.handle(TRADER, "/pnl@Bot").await.unwrap(),
        "realised 12.5"
    );
    assert_eq!(desk.handle(TRADER, "hello there").await, None);
    assert_eq!(
        outcomes(&engine),
        vec![
            (TRADER, "positions".into(), Outcome::Answered),
            (TRADER, "pnl".into(), Outcome::Answered),
        ]
    );
}

#[tokio::test]
async fn a_control_command_acts_only_after_confirm_from_the_same_chat() {
    let (mut desk, engine, clock) = desk();
    let ask = desk.handle(TRADER, "/flatten").await.unwrap();
    assert!(ask.contains("/confirm within 60 s"), "{ask}");
    assert!(engine.acted.lock().unwrap().is_empty());
    clock.advance(TimeDelta::seconds(59));
    let done = desk.handle(TRADER, "/confirm").await.unwrap();
    assert_eq!(done, "done: Flatten");
    assert_eq!(
        *engine.acted.lock().unwrap(),
        vec![(ControlAction::Flatten, format!("telegram:{TRADER}"))]
    );
    // The confirmation is used up.
    assert_eq!(
        desk.handle(TRADER, "/confirm").await.unwrap(),
        "Nothing to confirm."
    );
    assert_eq!(engine.acted.lock().unwrap().len(), 1);
    assert_eq!(
        outcomes(&engine)
            .into_iter()
            .map(|o| o.2)
            .collect::<Vec<_>>(),
        vec![
            Outcome::AwaitingConfirmation,
            Outcome::Confirmed,
            Outcome::NothingToConfirm
        ]
    );
}

#[tokio::test]
async fn a_late_confirmation_does_nothing() {
    let (mut desk, engine, clock) = desk();
    desk.handle(TRADER, "/kill").await.unwrap();
    clock.advance(TimeDelta::seconds(61));
    let late = desk.handle(TRADER, "/confirm").await.unwrap();
    assert!(late.starts_with("Too late"), "{late}");
    assert!(engine.acted.lock().unwrap().is_empty());
    assert_eq!(outcomes(&engine).last().unwrap().2, Outcome::Expired);
}

#[tokio::test]
async fn cancel_drops_the_pending_action_and_a_new_command_replaces_the_old() {
    let (mut desk, engine, _) = desk();
    desk.handle(TRADER, "/kill").await.unwrap();
    assert!(
        desk.handle(TRADER, "/cancel")
            .await
            .unwrap()
            .starts_with("Cancelled")
    );
    assert_eq!(
        desk.handle(TRADER, "/confirm").await.unwrap(),
        "Nothing to confirm."
    );
    desk.handle(TRADER, "/kill").await.unwrap();
    desk.handle(TRADER, "/release").await.unwrap();
    desk.handle(TRADER, "/confirm").await.unwrap();
    assert_eq!(
        *engine.acted.lock().unwrap(),
        vec![(ControlAction::Release, format!("telegram:{TRADER}"))]
    );
}

#[tokio::test]
async fn nothing_is_done_when_the_audit_cannot_be_written() {
    let (mut desk, engine, _) = desk();
    desk.handle(TRADER, "/kill").await.unwrap();
    *engine.audit_broken.lock().unwrap() = true;
    let reply = desk.handle(TRADER, "/confirm").await.unwrap();
    assert!(
        reply.starts_with("Not done: the audit trail cannot be written"),
        "{reply}"
    );
    assert!(engine.acted.lock().unwrap().is_empty());
    let read = desk.handle(TRADER, "/status").await.unwrap();
    assert!(read.starts_with("Not done"), "{read}");
}

#[tokio::test]
async fn unknown_commands_get_help() {
    let (mut desk, engine, _) = desk();
    let r = desk.handle(TRADER, "/sell_everything").await.unwrap();
    assert!(r.starts_with("Unknown command /sell_everything"), "{r}");
    assert_eq!(outcomes(&engine)[0].2, Outcome::Unknown);
}
