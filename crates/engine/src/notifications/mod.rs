//! Wiring `[notifications]` to the engine: the channels built from the configuration (the bot
//! token and the webhook URL resolved from the environment or the encrypted credentials file),
//! the live events turned into notifications ([`translate`]), and the Telegram commands served
//! through [`control::EngineControl`].
//!
//! Notifications never hold up trading: they read the live broadcast, and a channel that is
//! slow or down only delays or loses its own messages (logged).

pub mod control;
pub mod translate;

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tradeengine_model::Clock;
use tradeengine_notify::channel::Webhook;
use tradeengine_notify::telegram::Telegram;
use tradeengine_notify::{Desk, Notifier};
use tradeengine_store::Store;

use crate::state::SharedState;

/// How often the notifier sends what is due (summaries, the held-back note).
const TICK: Duration = Duration::from_secs(1);
/// Events waiting for the notifier before new ones are dropped (and counted in the log).
const QUEUE: usize = 1024;

/// Why notifications could not be set up (a configuration problem: the engine does not start).
#[derive(Debug, thiserror::Error)]
pub enum NotifySetupError {
    #[error("notifications.telegram: {0}")]
    Telegram(String),
    #[error("notifications.webhook: {0}")]
    Webhook(String),
}

/// The running notification tasks.
#[derive(Debug)]
pub struct Notifications {
    tasks: JoinSet<()>,
    stop_bot: watch::Sender<bool>,
    stop_forward: CancellationToken,
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
        let mut notifier = Notifier::new(clock.clone());
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
            notifier.add(telegram.clone(), t.limits());
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
            notifier.add(
                Arc::new(Webhook::new(SecretString::from(url), w.format, client)),
                w.limits(),
            );
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        tasks.spawn(notifier.run(rx, TICK));
        let stop_forward = CancellationToken::new();
        tasks.spawn(forward(state.subscribe_live(), tx, stop_forward.clone()));
        Ok(Some(Self {
            tasks,
            stop_bot,
            stop_forward,
        }))
    }

    /// Stops the command bot at once, and the notifications once every event published so far
    /// is handed over (call after the engine's stop is recorded and the live feed has said
    /// it); waits at most `within` for the last messages to go.
    pub async fn stop(mut self, within: Duration) {
        let _ = self.stop_bot.send(true);
        self.stop_forward.cancel();
        let drain = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(within, drain).await.is_err() {
            tracing::warn!("notifications did not finish sending in time");
            self.tasks.abort_all();
        }
    }
}

/// Hands live events to the notifier until `stop`, then what is already published.
async fn forward(
    mut live: broadcast::Receiver<crate::state::live::LiveEvent>,
    tx: mpsc::Sender<tradeengine_notify::Event>,
    stop: CancellationToken,
) {
    let mut dropped: u64 = 0;
    let mut hand = |e: &crate::state::live::LiveEvent| {
        if let Some(n) = translate::notice_of(e)
            && tx.try_send(n).is_err()
        {
            dropped += 1;
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, "notification queue full; events dropped");
            }
        }
    };
    loop {
        tokio::select! {
            r = live.recv() => match r {
                Ok(e) => hand(&e),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "notifications fell behind the live events");
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
