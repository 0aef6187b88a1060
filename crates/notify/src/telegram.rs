//! The Telegram Bot API through `frankenstein` (https://docs.rs/frankenstein): `sendMessage` to
//! the configured chats and `getUpdates` long polling for commands
//! (https://core.telegram.org/bots/api#getupdates).
//!
//! The client's URL holds the bot token (`{api_url}/bot{token}`), so nothing here prints it:
//! `Debug` is redacted, and `frankenstein` strips the URL from its HTTP errors.

use std::collections::BTreeSet;

use async_trait::async_trait;
use frankenstein::AsyncTelegramApi;
use frankenstein::client_reqwest::Bot;
use frankenstein::methods::{GetUpdatesParams, SendMessageParams};
use frankenstein::types::AllowedUpdate;
use frankenstein::updates::UpdateContent;
use secrecy::{ExposeSecret, SecretString};

use crate::channel::{Channel, SendError};
use crate::event::Event;
use crate::format::clip;

/// A text message a chat sent the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub update_id: i64,
    pub chat_id: i64,
    pub text: String,
}

/// The bot: sends to the configured chats and reads what chats send it.
pub struct Telegram {
    bot: Bot,
    chat_ids: Vec<i64>,
}

impl std::fmt::Debug for Telegram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telegram")
            .field("token", &"[redacted]")
            .field("chat_ids", &self.chat_ids)
            .finish()
    }
}

fn api_error(e: frankenstein::Error) -> SendError {
    match e {
        frankenstein::Error::Api(r) => SendError::Api {
            code: i32::try_from(r.error_code).unwrap_or(i32::MAX),
            description: r.description,
        },
        other => SendError::Http(other.to_string()),
    }
}

impl Telegram {
    /// `http` must allow a request to last longer than the long poll's wait.
    pub fn new(
        api_url: &str,
        token: &SecretString,
        chat_ids: Vec<i64>,
        http: reqwest::Client,
    ) -> Self {
        let url = format!(
            "{}/bot{}",
            api_url.trim_end_matches('/'),
            token.expose_secret()
        );
        Self {
            bot: Bot::builder().api_url(url).client(http).build(),
            chat_ids,
        }
    }

    /// Sends `text` to one chat.
    pub async fn send_to(&self, chat_id: i64, text: &str) -> Result<(), SendError> {
        let params = SendMessageParams::builder()
            .chat_id(chat_id)
            .text(clip(text))
            .build();
        self.bot.send_message(&params).await.map_err(api_error)?;
        Ok(())
    }

    /// The messages after `offset` (the last update id seen plus one), waiting up to
    /// `timeout_secs` for one to arrive. Updates other than text messages are skipped but
    /// still move the offset on.
    pub async fn updates(
        &self,
        offset: Option<i64>,
        timeout_secs: u32,
    ) -> Result<(Vec<Incoming>, Option<i64>), SendError> {
        let params = GetUpdatesParams::builder()
            .maybe_offset(offset)
            .timeout(timeout_secs)
            .allowed_updates(vec![AllowedUpdate::Message])
            .build();
        let resp = self.bot.get_updates(&params).await.map_err(api_error)?;
        let mut next = offset;
        let mut out = Vec::new();
        for u in resp.result {
            let id = i64::from(u.update_id);
            next = Some(next.map_or(id + 1, |n| n.max(id + 1)));
            if let UpdateContent::Message(m) = u.content
                && let Some(text) = m.text.clone()
            {
                out.push(Incoming {
                    update_id: id,
                    chat_id: m.chat.id,
                    text,
                });
            }
        }
        Ok((out, next))
    }
}

#[async_trait]
impl Channel for Telegram {
    fn name(&self) -> &'static str {
        "telegram"
    }

    /// Sends to every configured chat; the first failure is returned after trying them all.
    async fn send(&self, text: &str, _event: Option<&Event>) -> Result<(), SendError> {
        let mut first = None;
        for chat in &self.chat_ids {
            if let Err(e) = self.send_to(*chat, text).await {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Per chat: a chat that has the message or refused it for good (blocked the bot, does not
    /// exist) is done; the first failure worth retrying is returned after trying the rest.
    async fn deliver(
        &self,
        text: &str,
        _event: Option<&Event>,
        done: &mut BTreeSet<i64>,
    ) -> Result<(), SendError> {
        let mut retry = None;
        for chat in &self.chat_ids {
            if done.contains(chat) {
                continue;
            }
            match self.send_to(*chat, text).await {
                Ok(()) => {
                    done.insert(*chat);
                }
                Err(e) if e.is_permanent() => {
                    tracing::error!(chat, error = %e, "Telegram chat refused the notification for good; skipped");
                    done.insert(*chat);
                }
                Err(e) => {
                    retry.get_or_insert(e);
                }
            }
        }
        retry.map_or(Ok(()), Err)
    }
}
