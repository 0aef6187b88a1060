//! Late canonical signals: a signal whose sender says it sent it (`ts`, the signal's
//! `emitted_at`) before the newest signal already taken for the same source and symbol is
//! **superseded**: recorded as refused and never applied. Without it, a JetStream redelivery
//! after a crash, or a client's retry of an older request, applied after a newer signal and put
//! the account on the side the strategy had already left (red team: a redelivered "short"
//! flipped a newer "long" and stayed there).
//!
//! The TradingView webhook has its own, richer ordering rules (`sources::tradingview`); this
//! guard is for the canonical schema on REST (`POST /api/v1/signals`), NATS and RabbitMQ.
//! Signals without `ts` are not ordered by it. The newest sender time per source and symbol is
//! learned, the first time a source is seen, from the store's newest signals (so the rule holds
//! across a restart, for signals within the last [`LEARN_SCAN`] stored), then kept in memory.
//! Broker sources take their messages one after another, in order; concurrent REST requests for
//! one symbol race, and the later-sent of two that arrive together may be the one refused.

use std::collections::{BTreeMap, BTreeSet};

use tokio::sync::Mutex;
use tradeengine_model::{Signal, SourceId, Symbol, Timestamp};
use tradeengine_store::{Store, StoreError};

/// How many of the store's newest signals a source's first signal reads back.
pub const LEARN_SCAN: i64 = 10_000;

#[derive(Debug, Default)]
struct Book {
    learned: BTreeSet<SourceId>,
    newest: BTreeMap<(SourceId, Symbol), Timestamp>,
}

/// The newest sender time taken per source and symbol.
#[derive(Debug, Default)]
pub struct SentOrder(Mutex<Book>);

impl SentOrder {
    /// Takes `signal` in its turn: `Err(newest)` when it was sent before `newest`, the sender
    /// time of a signal already taken for its source and symbol (it is then superseded and
    /// changes nothing here); else notes its time. A store that cannot be read leaves the
    /// source to be learned at its next signal, and judges this one by what is known.
    pub async fn take(&self, store: &dyn Store, signal: &Signal) -> Result<(), Timestamp> {
        let Some(sent) = signal.emitted_at else {
            return Ok(());
        };
        let mut book = self.0.lock().await;
        if !book.learned.contains(&signal.source) {
            match learn(store, &signal.source).await {
                Ok(newest) => {
                    for (symbol, at) in newest {
                        let slot = book
                            .newest
                            .entry((signal.source.clone(), symbol))
                            .or_insert(at);
                        *slot = (*slot).max(at);
                    }
                    book.learned.insert(signal.source.clone());
                }
                Err(e) => {
                    tracing::warn!(source = %signal.source, error = %e, "cannot read the newest stored signals; a late signal is judged by this run's signals only");
                }
            }
        }
        let key = (signal.source.clone(), signal.symbol.clone());
        match book.newest.get(&key) {
            Some(newest) if sent < *newest => Err(*newest),
            _ => {
                book.newest.insert(key, sent);
                Ok(())
            }
        }
    }
}

/// The newest sender time per symbol among `source`'s signals in the store's newest
/// [`LEARN_SCAN`].
async fn learn(
    store: &dyn Store,
    source: &SourceId,
) -> Result<BTreeMap<Symbol, Timestamp>, StoreError> {
    let page = tradeengine_store::MAX_PAGE;
    let mut newest: BTreeMap<Symbol, Timestamp> = BTreeMap::new();
    let mut offset = 0;
    while offset < LEARN_SCAN {
        let signals = store.recent_signals(page, offset).await?;
        for s in signals.iter().filter(|s| &s.source == source) {
            if let Some(at) = s.emitted_at {
                let slot = newest.entry(s.symbol.clone()).or_insert(at);
                *slot = (*slot).max(at);
            }
        }
        if i64::try_from(signals.len()).unwrap_or(page) < page {
            break;
        }
        offset += page;
    }
    Ok(newest)
}

/// The refusal's reason in words.
pub fn superseded_reason(signal: &Signal, newest: Timestamp) -> String {
    format!(
        "superseded: sent at {} ({}), before the signal already taken for {} from this source, sent at {}",
        signal
            .emitted_at
            .map(|t| t.to_rfc3339())
            .unwrap_or_default(),
        signal.id,
        signal.symbol,
        newest.to_rfc3339()
    )
}
