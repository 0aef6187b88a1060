//! A local stand-in of the Telegram Bot API (https://core.telegram.org/bots/api): `getUpdates`
//! long polling over a queue the test fills, `sendMessage` recorded (or refused: 429 while
//! flooded, 403 for a chat that blocked the bot); any other token is answered 401 as Telegram
//! does.

#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (team rule)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::sync::Notify;

pub const TOKEN: &str = "123456:TEST-token-never-logged";

#[derive(Debug, Default)]
pub struct BotApi {
    /// Updates not yet taken, as (update_id, chat, text).
    queue: Mutex<Vec<(i64, i64, String)>>,
    next_id: Mutex<i64>,
    /// Every sendMessage: (chat, text).
    pub sent: Mutex<Vec<(i64, String)>>,
    arrived: Notify,
    sent_changed: Notify,
    /// Answer sendMessage with 429 while true.
    pub flooded: Mutex<bool>,
    /// Chats that blocked the bot: sendMessage to them is answered 403, as Telegram does.
    pub blocked: Mutex<Vec<i64>>,
}

impl BotApi {
    /// A chat sends the bot `text`.
    pub fn say(&self, chat: i64, text: &str) {
        let mut id = self.next_id.lock().unwrap();
        *id += 1;
        self.queue
            .lock()
            .unwrap()
            .push((*id, chat, text.to_string()));
        self.arrived.notify_waiters();
    }

    pub fn sent(&self) -> Vec<(i64, String)> {
        self.sent.lock().unwrap().clone()
    }

    /// Waits until at least `n` messages were sent (a hang guard, not a timing check).
    pub async fn wait_sent(&self, n: usize) -> Vec<(i64, String)> {
        let wait = async {
            loop {
                let notified = self.sent_changed.notified();
                if self.sent.lock().unwrap().len() >= n {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), wait)
            .await
            .expect("the bot should have sent the messages");
        self.sent()
    }
}

fn message(id: i64, chat: i64, text: &str) -> Value {
    json!({
        "message_id": id,
        "date": 1_700_000_000,
        "chat": {"id": chat, "type": "private", "first_name": "T"},
        "text": text,
    })
}

async fn method(
    State(api): State<Arc<BotApi>>,
    Path((bot, method)): Path<(String, String)>,
    body: Option<Json<Value>>,
) -> (StatusCode, Json<Value>) {
    if bot != format!("bot{TOKEN}") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"ok": false, "error_code": 401, "description": "Unauthorized"})),
        );
    }
    let body = body.map(|Json(v)| v).unwrap_or(Value::Null);
    match method.as_str() {
        "sendMessage" => {
            if *api.flooded.lock().unwrap() {
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(json!({"ok": false, "error_code": 429,
                        "description": "Too Many Requests: retry after 3",
                        "parameters": {"retry_after": 3}})),
                );
            }
            let chat = body["chat_id"].as_i64().unwrap_or_default();
            if api.blocked.lock().unwrap().contains(&chat) {
                return (
                    StatusCode::FORBIDDEN,
                    Json(json!({"ok": false, "error_code": 403,
                        "description": "Forbidden: bot was blocked by the user"})),
                );
            }
            let text = body["text"].as_str().unwrap_or_default().to_string();
            let n = {
                let mut sent = api.sent.lock().unwrap();
                sent.push((chat, text.clone()));
                sent.len() as i64
            };
            api.sent_changed.notify_waiters();
            (
                StatusCode::OK,
                Json(json!({"ok": true, "result": message(n, chat, &text)})),
            )
        }
        "getUpdates" => {
            let offset = body["offset"].as_i64().unwrap_or(0);
            let timeout = body["timeout"].as_u64().unwrap_or(0);
            let take = || {
                let mut q = api.queue.lock().unwrap();
                q.retain(|(id, _, _)| *id >= offset);
                q.clone()
            };
            let mut ready = take();
            if ready.is_empty() && timeout > 0 {
                let notified = api.arrived.notified();
                let _ = tokio::time::timeout(Duration::from_secs(timeout.min(2)), notified).await;
                ready = take();
            }
            let result: Vec<Value> = ready
                .iter()
                .map(|(id, chat, text)| json!({"update_id": id, "message": message(*id, *chat, text)}))
                .collect();
            (StatusCode::OK, Json(json!({"ok": true, "result": result})))
        }
        _ => (
            StatusCode::NOT_FOUND,
            Json(json!({"ok": false, "error_code": 404, "description": "Not Found"})),
        ),
    }
}

/// Serves the stand-in on a free local port; returns its base URL (what `api_url` takes).
pub async fn serve() -> (String, Arc<BotApi>) {
    let api = Arc::new(BotApi::default());
    let app = Router::new()
        .route("/{bot}/{method}", post(method))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), api)
}
