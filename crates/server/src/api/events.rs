//! `GET /api/v1/events`: the engine's live events as Server-Sent Events
//! (https://html.spec.whatwg.org/multipage/server-sent-events.html), for the dashboard.
//!
//! Each event's name is its type (`audit`, `freshness`, `account_error`, `prices`) and its data
//! the JSON of `tradeengine_engine::state::live::LiveEvent`. An audit event carries its chain
//! `seq` as the SSE id, so a reader that reconnects with `Last-Event-ID` (or `?after=SEQ`) gets
//! what it missed from the store, then the live events, without a gap or a repeat; a new
//! reader may ask for the newest `?history=N` events first, to draw what came before. A reader
//! too slow for the live broadcast is caught up from the store the same way (or, before it
//! has had an audit event, told `lagged` so it reloads what it shows).
//!
//! Read scope, like the rest of the API; the browser sends the token in the `Authorization`
//! header through `fetch` (an `EventSource` cannot set headers, and a token in the URL would
//! end up in access logs).

use std::convert::Infallible;
use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tradeengine_engine::state::live::LiveEvent;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Query;

/// Events read from the store at once when catching up.
const PAGE: i64 = 500;
/// Events queued for one reader before the sender waits for it.
const QUEUE: usize = 256;

/// The server's shutdown, which ends every stream (an endless response would otherwise hold
/// the graceful shutdown open for as long as a dashboard is open). Set by `crate::serve`.
#[derive(Debug, Clone)]
pub struct ServerStopping(pub CancellationToken);

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Replay the audit events after this sequence number first (as `Last-Event-ID` does).
    #[param(minimum = 0)]
    after: Option<i64>,
    /// Replay the newest this many audit events first (at most 5000): the history a page
    /// draws before the live events.
    #[param(minimum = 0, maximum = 5000)]
    history: Option<i64>,
}

/// One event of the stream as its fields arrive (the per-event schema of `text/event-stream`,
/// which OpenAPI 3.0/3.1 tools read from `schema` and 3.2 from `itemSchema`). Keep-alive
/// comments carry no data and are not events.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)] // documents the wire shape; `axum::response::sse::Event` writes it
pub struct SseFrame {
    /// The JSON of one live event; its `type` field repeats the event name.
    data: String,
    /// `audit`, `freshness`, `account_error`, `prices` or `lagged`.
    event: Option<String>,
    /// The audit chain `seq` (audit events only): the `Last-Event-ID` to resume after.
    id: Option<String>,
    /// Reconnect delay in milliseconds, when the server sets one.
    retry: Option<i64>,
}

/// Most events `history` replays.
const MAX_HISTORY: i64 = 5000;

fn sse_event(e: &LiveEvent) -> Option<Event> {
    let data = serde_json::to_string(e).ok()?;
    let mut out = Event::default().event(e.name()).data(data);
    if let LiveEvent::Audit { seq, .. } = e {
        out = out.id(seq.to_string());
    }
    Some(out)
}

/// `GET /api/v1/events`.
#[utoipa::path(get, path = "/api/v1/events", tag = "read",
    security(("bearer" = [])),
    params(EventsQuery),
    responses(
        (status = 200, description = "An endless text/event-stream", content_type = "text/event-stream", body = SseFrame),
        (status = 400, description = "A bad `after` or `Last-Event-ID`", body = crate::schema::ErrorBody),
        (status = 401, description = "No or unknown token", body = crate::schema::ErrorBody),
    ))]
pub async fn events(
    State(app): State<AppState>,
    stopping: Option<Extension<ServerStopping>>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let last_id = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    ApiError::BadRequest("Last-Event-ID must be a sequence number".into())
                })?,
        ),
        None => None,
    };
    if q.after.is_some_and(|a| a < 0) {
        return Err(ApiError::BadRequest("after must be at least 0".into()));
    }
    let after = match (last_id.or(q.after), q.history) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest(
                "give after (or Last-Event-ID) or history, not both".into(),
            ));
        }
        (None, Some(h)) if !(0..=MAX_HISTORY).contains(&h) => {
            return Err(ApiError::BadRequest(format!(
                "history must be between 0 and {MAX_HISTORY}"
            )));
        }
        (None, Some(h)) => {
            let head = tradeengine_engine::sources::events::chain_head(&*app.store).await?;
            Some((head - h).max(0))
        }
        (after, None) => after,
    };
    // Subscribe before reading the store, so nothing falls between the two.
    let live = app.engine.subscribe_live();
    let (tx, rx) = mpsc::channel(QUEUE);
    let stopping = stopping.map_or_else(CancellationToken::new, |Extension(s)| s.0);
    tokio::spawn(async move {
        tokio::select! {
            () = pump(app, live, after, tx) => {}
            () = stopping.cancelled() => {}
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok::<_, Infallible>(e), rx))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Sends the store's audit events after `*last` to the reader; false when the reader is gone
/// or the store failed (the reader then reconnects with its last id).
async fn catch_up(app: &AppState, last: &mut i64, tx: &mpsc::Sender<Event>) -> bool {
    loop {
        let page = match app.store.audit_events(*last, PAGE).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "event stream cannot read the audit trail");
                return false;
            }
        };
        let n = page.len();
        for e in &page {
            *last = e.seq;
            if let Some(ev) = sse_event(&LiveEvent::from_audit(e))
                && tx.send(ev).await.is_err()
            {
                return false;
            }
        }
        if i64::try_from(n).unwrap_or(i64::MAX) < PAGE {
            return true;
        }
    }
}

async fn pump(
    app: AppState,
    mut live: broadcast::Receiver<LiveEvent>,
    after: Option<i64>,
    tx: mpsc::Sender<Event>,
) {
    // The last audit seq the reader has (none: it wants only what comes from now on).
    let mut last: Option<i64> = after;
    if let Some(l) = last.as_mut()
        && !catch_up(&app, l, &tx).await
    {
        return;
    }
    loop {
        let got = tokio::select! {
            r = live.recv() => r,
            () = tx.closed() => return,
        };
        match got {
            Ok(e) => {
                if let LiveEvent::Audit { seq, .. } = &e {
                    if last.is_some_and(|l| *seq <= l) {
                        continue;
                    }
                    last = Some(*seq);
                }
                if let Some(ev) = sse_event(&e)
                    && tx.send(ev).await.is_err()
                {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::debug!(
                    missed,
                    "event stream reader lagged; catching up from the store"
                );
                match last.as_mut() {
                    Some(l) => {
                        if !catch_up(&app, l, &tx).await {
                            return;
                        }
                    }
                    // Nothing to catch up from: the reader reloads what it shows.
                    None => {
                        let ev = Event::default().event("lagged").data(missed.to_string());
                        if tx.send(ev).await.is_err() {
                            return;
                        }
                    }
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
