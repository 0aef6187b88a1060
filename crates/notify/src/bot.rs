//! The Telegram command loop: long-poll `getUpdates`, hand each message to the [`Desk`], send
//! its reply to the chat it came from. A failed poll is logged and retried after a pause; the
//! loop ends when `stop` turns true.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::desk::Desk;
use crate::telegram::Telegram;

/// Pause after a failed poll (the Bot API down, the network gone).
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Serves commands until `stop` says so.
pub async fn serve_commands(
    telegram: Arc<Telegram>,
    mut desk: Desk,
    poll_timeout_secs: u32,
    mut stop: watch::Receiver<bool>,
) {
    let mut offset = None;
    loop {
        if *stop.borrow() {
            return;
        }
        let polled = tokio::select! {
            r = telegram.updates(offset, poll_timeout_secs) => r,
            _ = stop.changed() => return,
        };
        match polled {
            Ok((messages, next)) => {
                offset = next;
                for m in messages {
                    if let Some(reply) = desk.handle(m.chat_id, &m.text).await
                        && let Err(e) = telegram.send_to(m.chat_id, &reply).await
                    {
                        tracing::warn!(chat_id = m.chat_id, error = %e, "Telegram reply not sent");
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "Telegram getUpdates failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(RETRY_AFTER) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    }
}
