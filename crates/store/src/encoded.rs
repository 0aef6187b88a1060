//! Signals encoded for the store before they reach the one writer.
//!
//! Storing a signal writes its intent and raw payload as JSON and a `SignalAccepted` audit event
//! whose payload is the canonical JSON of the whole signal; a sleeve it moves gets a
//! `SleeveChanged` event with the sleeve's canonical JSON. Encoded inside
//! [`crate::Store::record_signals`], all of that ran on the intake's single writer, one batch
//! after the other, while the handlers that had already parsed the signals sat waiting.
//!
//! [`EncodedSignal::new`] does a signal's share where the signal is read (each request on its
//! own runtime thread), and [`SignalBatch::new`] the sleeves' share once the intake has decided
//! them, before it waits for the batch ahead to commit. [`crate::Store::record_batch`] then
//! only binds the prepared text. The bytes stored are the same as `record_signals` writes.

use std::sync::Arc;

use tradeengine_model::{Signal, Sleeve};

use crate::StoreError;
use crate::codec::{json, payload};

/// A signal with its stored text: intent, raw payload and audit payload.
#[derive(Debug, Clone)]
pub struct EncodedSignal {
    signal: Signal,
    pub(crate) intent: String,
    pub(crate) raw: String,
    /// Canonical JSON of the signal (its `SignalAccepted` event).
    pub(crate) payload: String,
}

impl EncodedSignal {
    /// Encodes `signal`; refuses one the store would refuse (an empty idempotency key).
    pub fn new(signal: Signal) -> Result<Self, StoreError> {
        if signal.idempotency_key.is_empty() {
            return Err(StoreError::invalid(
                format!("signal {}", signal.id),
                "idempotency key is empty",
            ));
        }
        Ok(Self {
            intent: json("signal intent", &signal.intent)?,
            raw: json("signal raw payload", &signal.raw)?,
            payload: payload("signal", &signal)?,
            signal,
        })
    }

    pub fn signal(&self) -> &Signal {
        &self.signal
    }
}

/// One entry of a batch: the signal, the sleeve it moves to (if it moves one) and that sleeve's
/// audit payload.
#[derive(Debug, Clone)]
pub(crate) struct BatchEntry {
    pub signal: Arc<EncodedSignal>,
    pub sleeve: Option<Sleeve>,
    pub sleeve_payload: Option<String>,
}

/// The signals of one group commit, encoded, in the order they are stored.
#[derive(Debug, Clone, Default)]
pub struct SignalBatch {
    pub(crate) entries: Vec<BatchEntry>,
}

impl SignalBatch {
    /// Encodes the sleeves; refuses a sleeve of another source or symbol than its signal.
    pub fn new(entries: Vec<(Arc<EncodedSignal>, Option<Sleeve>)>) -> Result<Self, StoreError> {
        let entries = entries
            .into_iter()
            .map(|(signal, sleeve)| {
                let s = signal.signal();
                let sleeve_payload = match &sleeve {
                    Some(v) if v.source != s.source || v.symbol != s.symbol => {
                        return Err(StoreError::invalid(
                            format!("signal {}", s.id),
                            format!(
                                "its sleeve is {}/{}, not {}/{}",
                                v.source, v.symbol, s.source, s.symbol
                            ),
                        ));
                    }
                    Some(v) => Some(payload("sleeve", v)?),
                    None => None,
                };
                Ok(BatchEntry {
                    signal,
                    sleeve,
                    sleeve_payload,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { entries })
    }

    /// Encodes plain signals (what [`crate::Store::record_signals`] takes).
    pub fn of_signals(batch: &[(Signal, Option<Sleeve>)]) -> Result<Self, StoreError> {
        let entries = batch
            .iter()
            .map(|(signal, sleeve)| {
                EncodedSignal::new(signal.clone()).map(|e| (Arc::new(e), sleeve.clone()))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Self::new(entries)
    }

    /// The batch as plain signals and sleeves (for a store that encodes them itself).
    pub fn plain(&self) -> Vec<(Signal, Option<Sleeve>)> {
        self.entries
            .iter()
            .map(|e| (e.signal.signal().clone(), e.sleeve.clone()))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
