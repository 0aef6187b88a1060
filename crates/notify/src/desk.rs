//! Answering Telegram commands: only the allow-listed chats, a confirmation before anything
//! that changes trading, and an audit record of every command (refused ones included) written
//! before the command is answered or acted on. A command whose record cannot be written is not
//! carried out.
//!
//! The engine does the work behind the [`Control`] trait; this module decides who may ask and
//! when it is confirmed, so the rules are tested without an engine.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::TimeDelta;
use serde::Serialize;
use tradeengine_model::{Clock, Timestamp};

use crate::commands::{Command, parse};

/// What a confirmed control command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlAction {
    /// Engage the kill switch, freeze: send nothing.
    Kill,
    /// Engage the kill switch, flatten: close everything reduce-only.
    Flatten,
    /// Release the kill switch.
    Release,
}

impl ControlAction {
    fn describe(self) -> &'static str {
        match self {
            Self::Kill => "FREEZE every account (send no order until /release)",
            Self::Flatten => "FLATTEN every account (close all positions, reduce-only)",
            Self::Release => "RELEASE the kill switch",
        }
    }
}

/// What became of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The chat is not on the allow-list: nothing answered, nothing done.
    RefusedChat,
    Answered,
    AwaitingConfirmation,
    /// Confirmed; the action is about to run.
    Confirmed,
    /// The action ran and failed.
    Failed,
    Expired,
    NothingToConfirm,
    Cancelled,
    Unknown,
}

/// One command as the audit trail keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandRecord {
    pub chat_id: i64,
    pub command: String,
    pub outcome: Outcome,
    /// The control action a confirmation is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<ControlAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Why the engine could not do or say what was asked.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ControlError(pub String);

/// What the engine does for the desk.
#[async_trait]
pub trait Control: Send + Sync + std::fmt::Debug {
    async fn status(&self) -> Result<String, ControlError>;
    async fn positions(&self) -> Result<String, ControlError>;
    async fn pnl(&self) -> Result<String, ControlError>;
    /// Carries out a confirmed action; `by` names who asked (`telegram:CHAT`).
    async fn act(&self, action: ControlAction, by: &str) -> Result<String, ControlError>;
    /// Appends the record to the audit trail.
    async fn audit(&self, record: &CommandRecord) -> Result<(), ControlError>;
}

/// The command desk of one bot.
#[derive(Debug)]
pub struct Desk {
    allowed: BTreeSet<i64>,
    confirm_within: TimeDelta,
    /// Per chat: the action awaiting `/confirm` and until when.
    pending: BTreeMap<i64, (ControlAction, Timestamp)>,
    control: Arc<dyn Control>,
    clock: Arc<dyn Clock>,
}

pub const HELP: &str = "Commands: /status, /positions, /pnl; /kill (freeze), /flatten, /release \
     (each needs /confirm); /cancel drops a pending one.";

impl Desk {
    pub fn new(
        allowed: impl IntoIterator<Item = i64>,
        confirm_secs: u64,
        control: Arc<dyn Control>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            allowed: allowed.into_iter().collect(),
            confirm_within: TimeDelta::seconds(i64::try_from(confirm_secs).unwrap_or(60)),
            pending: BTreeMap::new(),
            control,
            clock,
        }
    }

    /// The reply to `text` from `chat_id`, if any. Text that is not a command gets none, and
    /// neither does a chat off the allow-list (a stranger learns nothing, not even that the
    /// bot is alive), though its attempt is audited.
    pub async fn handle(&mut self, chat_id: i64, text: &str) -> Option<String> {
        let cmd = parse(text)?;
        let now = self.clock.now();
        let mut record = CommandRecord {
            chat_id,
            command: cmd.name().to_string(),
            outcome: Outcome::Answered,
            action: None,
            detail: None,
        };
        if !self.allowed.contains(&chat_id) {
            record.outcome = Outcome::RefusedChat;
            if let Err(e) = self.control.audit(&record).await {
                tracing::warn!(chat_id, error = %e, "refused Telegram command not audited");
            }
            tracing::warn!(chat_id, command = %record.command, "Telegram command from a chat not in chat_ids refused");
            return None;
        }
        let reply = match cmd {
            Command::Status | Command::Positions | Command::Pnl | Command::Help => {
                if let Err(e) = self.control.audit(&record).await {
                    return Some(not_audited(&e));
                }
                let answer = match cmd {
                    Command::Status => self.control.status().await,
                    Command::Positions => self.control.positions().await,
                    Command::Pnl => self.control.pnl().await,
                    _ => Ok(HELP.to_string()),
                };
                answer.unwrap_or_else(|e| format!("Cannot answer: {e}"))
            }
            Command::Kill | Command::Flatten | Command::Release => {
                let action = match cmd {
                    Command::Kill => ControlAction::Kill,
                    Command::Flatten => ControlAction::Flatten,
                    _ => ControlAction::Release,
                };
                record.outcome = Outcome::AwaitingConfirmation;
                record.action = Some(action);
                if let Err(e) = self.control.audit(&record).await {
                    return Some(not_audited(&e));
                }
                self.pending
                    .insert(chat_id, (action, now + self.confirm_within));
                format!(
                    "Reply /confirm within {} s to {}. /cancel to drop it.",
                    self.confirm_within.num_seconds(),
                    action.describe()
                )
            }
            Command::Confirm => self.confirm(chat_id, now, record).await,
            Command::Cancel => {
                let dropped = self.pending.remove(&chat_id);
                record.outcome = Outcome::Cancelled;
                record.action = dropped.map(|(a, _)| a);
                if let Err(e) = self.control.audit(&record).await {
                    return Some(not_audited(&e));
                }
                match dropped {
                    Some((a, _)) => format!("Cancelled: {}.", a.describe()),
                    None => "Nothing to cancel.".to_string(),
                }
            }
            Command::Unknown(ref name) => {
                record.outcome = Outcome::Unknown;
                if let Err(e) = self.control.audit(&record).await {
                    return Some(not_audited(&e));
                }
                format!("Unknown command /{name}. {HELP}")
            }
        };
        Some(reply)
    }

    async fn confirm(&mut self, chat_id: i64, now: Timestamp, mut record: CommandRecord) -> String {
        let Some((action, until)) = self.pending.remove(&chat_id) else {
            record.outcome = Outcome::NothingToConfirm;
            return match self.control.audit(&record).await {
                Ok(()) => "Nothing to confirm.".to_string(),
                Err(e) => not_audited(&e),
            };
        };
        record.action = Some(action);
        if now > until {
            record.outcome = Outcome::Expired;
            return match self.control.audit(&record).await {
                Ok(()) => format!("Too late: /{} expired; send it again.", command_of(action)),
                Err(e) => not_audited(&e),
            };
        }
        record.outcome = Outcome::Confirmed;
        if let Err(e) = self.control.audit(&record).await {
            return not_audited(&e);
        }
        let by = format!("telegram:{chat_id}");
        match self.control.act(action, &by).await {
            Ok(done) => done,
            Err(e) => {
                record.outcome = Outcome::Failed;
                record.detail = Some(e.0.clone());
                if let Err(ae) = self.control.audit(&record).await {
                    tracing::warn!(error = %ae, "failed Telegram command not audited");
                }
                format!("FAILED: {e}")
            }
        }
    }
}

fn command_of(a: ControlAction) -> &'static str {
    match a {
        ControlAction::Kill => "kill",
        ControlAction::Flatten => "flatten",
        ControlAction::Release => "release",
    }
}

fn not_audited(e: &ControlError) -> String {
    format!("Not done: the audit trail cannot be written ({e}).")
}
