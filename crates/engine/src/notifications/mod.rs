//! Wiring `[notifications]` to the engine: the channels built from the configuration (the bot
//! token and the webhook URL resolved from the environment or the encrypted credentials file),
//! the live events turned into notifications ([`translate`]), and the Telegram commands served
//! through [`control::EngineControl`].
//!
//! Notifications never hold up trading, and are never lost: each channel's
//! [`Courier`] reads the audit trail ([`outbox::AuditOutbox`]) from its saved place, woken by
//! the live broadcast, and a channel that is slow or down only delays its own messages, which
//! go once it is back (after a restart too). The events the trail does not hold (a source
//! going stale, a reconciliation error) reach the couriers from the live broadcast and wait in
//! their saved progress.

pub mod control;
pub mod outbox;
pub mod translate;

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::{Notify, broadcast, mpsc, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tradeengine_model::Clock;
use tradeengine_notify::channel::{Channel, Webhook};
use tradeengine_notify::config::ChannelLimits;
use tradeengine_notify::telegram::Telegram;
use tradeengine_notify::{Courier, Desk};
use tradeengine_store::Store;

use crate::state::SharedState;

/// How often an idle courier looks for what is due (summaries, the held-back note).
const TICK: Duration = Duration::from_secs(1);
/// Events from outside the audit trail waiting for a courier before new ones are dropped (and
/// counted in the log): a courier takes them as they come, even while its channel is down.
const QUEUE: usize = 1024;

/// Why notifications could not be set up (a configuration problem: the engine does not start).
#[derive(Debug, thiserror::Error)]
pub enum NotifySetupError {
    #[error("notifications.telegram: {0}")]
    Telegram(String),
    #[error("notifications.webhook: {0}")]
    Webhook(String),
    #[error("notifications: {0}")]
    Outbox(#[from] tradeengine_notify::courier::OutboxError),
}

/// The running notification tasks.
#[derive(Debug)]
pub struct Notifications {
    tasks: JoinSet<()>,
    stop_bot: watch::Sender<bool>,
    stop_forward: CancellationToken,
    stop_couriers: watch::Sender<bool>,
}

/// A courier's inputs, kept by the task that forwards live events.
#[derive(Debug)]
struct Inbox {
    waiting: mpsc::Sender<tradeengine_notify::Event>,
    wake: Arc<Notify>,
}

/// The bot token: the credentials file's `telegram` entry when `credentials` names one, else
/// the variable `bot_token_env` names.
async fn bot_token(
    t: &tradeengine_notify::config::TelegramConfig,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<SecretString, NotifySetupError> {
    if let Some(reference) = &t.credentials {
        let keys = crate::credentials::resolve_async(reference, "telegram", env)
            .await
            .map_err(|e| NotifySetupError::Telegram(e.to_string()))?;
        return Ok(keys.api_key);
    }
    let var = t.token_var();
    env(var)
        .filter(|v| !v.is_empty())
        .map(SecretString::from)
        .ok_or_else(|| {
            NotifySetupError::Telegram(format!("the bot token variable {var} is not set"))
        })
}

use tradeengine_notify::channel::http_client as http;

impl Notifications {
    /// Builds the configured channels and starts their tasks; `None` when nothing is
    /// configured. Call before the engine records its start, so the start is said.
    pub async fn start(
        state: &SharedState,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        env: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> Result<Option<Self>, NotifySetupError> {
        let config = state.config();
        let n = &config.notifications;
        if n.telegram.is_none() && n.webhook.is_none() {
            return Ok(None);
        }
        let mut channels: Vec<(Arc<dyn Channel>, ChannelLimits)> = Vec::new();
        let mut tasks = JoinSet::new();
        let (stop_bot, stop_bot_rx) = watch::channel(false);
        if let Some(t) = &n.telegram {
            let token = bot_token(t, env).await?;
            let client = http(Duration::from_secs(u64::from(t.poll_timeout_secs) + 15))
                .map_err(NotifySetupError::Telegram)?;
            let telegram = Arc::new(Telegram::new(
                &t.api_url,
                &token,
                t.chat_ids.clone(),
                client,
            ));
            channels.push((telegram.clone(), t.limits()));
            if t.commands {
                let control = control::EngineControl {
                    state: state.clone(),
                    store: store.clone(),
                    clock: clock.clone(),
                };
                let desk = Desk::new(
                    t.chat_ids.iter().copied(),
                    t.confirm_secs,
                    Arc::new(control),
                    clock.clone(),
                );
                tasks.spawn(tradeengine_notify::bot::serve_commands(
                    telegram,
                    desk,
                    t.poll_timeout_secs,
                    stop_bot_rx,
                ));
            }
        }
        if let Some(w) = &n.webhook {
            let var = w.url_var();
            let url = env(var).filter(|v| !v.is_empty()).ok_or_else(|| {
                NotifySetupError::Webhook(format!("the URL variable {var} is not set"))
            })?;
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(NotifySetupError::Webhook(format!(
                    "the URL in {var} must start with https:// or http://"
                )));
            }
            let client = http(Duration::from_secs(10)).map_err(NotifySetupError::Webhook)?;
            channels.push((
                Arc::new(Webhook::new(SecretString::from(url), w.format, client)),
                w.limits(),
            ));
        }
        // Subscribed before the couriers read their place, so no live event falls between.
        let live = state.subscribe_live();
        let outbox = Arc::new(outbox::AuditOutbox { store });
        let (stop_couriers, stop_rx) = watch::channel(false);
        let mut inboxes = Vec::new();
        for (channel, limits) in channels {
            let courier = Courier::open(channel, limits, outbox.clone(), clock.clone()).await?;
            let (waiting, rx) = mpsc::channel(QUEUE);
            let wake = Arc::new(Notify::new());
            tasks.spawn(courier.run(rx, wake.clone(), stop_rx.clone(), TICK));
            inboxes.push(Inbox { waiting, wake });
        }
        let stop_forward = CancellationToken::new();
        tasks.spawn(forward(live, inboxes, stop_forward.clone()));
        Ok(Some(Self {
            tasks,
            stop_bot,
            stop_forward,
            stop_couriers,
        }))
    }

    /// Stops the command bot at once, and the couriers once they have sent what the audit
    /// trail holds (call after the engine's stop is recorded); waits at most `within` for the
    /// last messages to go. What is not sent by then goes at the next start.
    pub async fn stop(mut self, within: Duration) {
        let _ = self.stop_bot.send(true);
        self.stop_forward.cancel();
        let _ = self.stop_couriers.send(true);
        let drain = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(within, drain).await.is_err() {
            tracing::warn!("notifications did not finish sending in time");
            self.tasks.abort_all();
        }
    }
}

/// Hands the couriers the live events the audit trail does not hold, and wakes them when it
/// grows, until `stop`.
async fn forward(
    mut live: broadcast::Receiver<crate::state::live::LiveEvent>,
    inboxes: Vec<Inbox>,
    stop: CancellationToken,
) {
    let mut dropped: u64 = 0;
    let mut hand = |e: &crate::state::live::LiveEvent| {
        if matches!(e, crate::state::live::LiveEvent::Audit { .. }) {
            for i in &inboxes {
                i.wake.notify_one();
            }
            return;
        }
        let Some(n) = translate::notice_of(e) else {
            return;
        };
        for i in &inboxes {
            if i.waiting.try_send(n.clone()).is_err() {
                dropped += 1;
                if dropped.is_power_of_two() {
                    tracing::warn!(dropped, "notification queue full; events dropped");
                }
            }
        }
    };
    loop {
        tokio::select! {
            r = live.recv() => match r {
                Ok(e) => hand(&e),
                // The couriers read the trail themselves: only a wake-up may have been missed.
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "notifications fell behind the live events");
                    for i in &inboxes {
                        i.wake.notify_one();
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = stop.cancelled() => {
                while let Ok(e) = live.try_recv() {
                    hand(&e);
                }
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use secrecy::ExposeSecret;
    use tradeengine_notify::config::TelegramConfig;

    use super::*;
    use crate::credentials::{CredentialsFile, PASSPHRASE_VAR, ResolvedCredentials};

    #[tokio::test]
    async fn the_bot_token_comes_from_the_credentials_file_when_named_else_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds.age");
        let passphrase = SecretString::from("a long enough passphrase".to_string());
        let mut file = CredentialsFile::new();
        file.set(
            "telegram",
            ResolvedCredentials {
                api_key: SecretString::from("111:FROM-FILE".to_string()),
                api_secret: SecretString::from("unused".to_string()),
                passphrase: None,
            },
        );
        file.save(&path, &passphrase, Some(2)).unwrap();
        let vars: BTreeMap<&str, &str> = [
            (PASSPHRASE_VAR, "a long enough passphrase"),
            ("TRADEENGINE_TELEGRAM_BOT_TOKEN", "222:FROM-ENV"),
        ]
        .into();
        let env = |k: &str| vars.get(k).map(|v| (*v).to_string());

        let from_file = TelegramConfig {
            credentials: Some(format!("file:{}", path.display())),
            ..TelegramConfig::default()
        };
        let token = bot_token(&from_file, &env).await.unwrap();
        assert_eq!(token.expose_secret(), "111:FROM-FILE");

        let from_env = TelegramConfig::default();
        assert_eq!(
            bot_token(&from_env, &env).await.unwrap().expose_secret(),
            "222:FROM-ENV"
        );

        let unset = TelegramConfig {
            bot_token_env: Some("NOT_SET_HERE".into()),
            ..TelegramConfig::default()
        };
        let err = bot_token(&unset, &env).await.unwrap_err().to_string();
        assert_eq!(
            err,
            "notifications.telegram: the bot token variable NOT_SET_HERE is not set"
        );
    }
}
