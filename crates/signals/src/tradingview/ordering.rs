//! Ordering a close and an open that arrive together (a strategy's reversal sends both).
//!
//! A strategy that reverses sends "flat" and "long" within milliseconds, and they can arrive in
//! either order. Only the final state per symbol matters, so getting the pair backwards leaves the
//! sleeve flat when it should be long. sirouk/trade-engine's rules, kept:
//!
//! 1. Per symbol, alerts are sorted by `(received time, seq rank, seq value, arrival order)`,
//!    where seq rank is 0 for a numeric `signal_seq`, 1 for a non-numeric one, 2 for an
//!    `event_id` only, 3 for neither.
//! 2. Consecutive pairs at most `pair_window` apart (seed: 5 s) in which exactly one alert is
//!    flat are a *transition pair*, resolved by the first rule that applies:
//!    - **explicit sequence**: both carry the same kind of key with different values → ascending
//!      by it (numbers numerically);
//!    - **prior state open** → flat first, then the position (close, then open);
//!    - **prior state flat** → the position first, then flat (a flat while already flat can only
//!      have come after an open);
//!    - otherwise keep chronological order.
//!
//!    The prior state is the alert resolved just before the pair in this batch, else the
//!    caller's lookup (earlier batches, then the engine's sleeves).
//! 3. A reordered pair, or one whose times are not strictly increasing, gets times
//!    `min + 0 ms` and `min + 1 ms` and is marked adjusted.
//! 4. The last alert per symbol in the resolved order is that symbol's state.
//!
//! Unlike sirouk/trade-engine, a pair whose two alerts use different key kinds (one `signal_seq`,
//! one `event_id`) is never ordered by comparing unlike keys; it falls through to the state rules.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::Duration;
use rust_decimal::Decimal;
use tradeengine_model::{Symbol, Timestamp};

use crate::num::parse_decimal;

use super::parse::TvAlert;
use super::size::Direction;

/// sirouk/trade-engine's transition-pair window.
pub const DEFAULT_PAIR_WINDOW: Duration = Duration::seconds(5);

/// What the ordering needs to know about one alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequenced {
    pub symbol: Symbol,
    pub direction: Direction,
    /// When the alert was received.
    pub at: Timestamp,
    pub signal_seq: Option<String>,
    pub event_id: Option<String>,
}

impl From<&TvAlert> for Sequenced {
    fn from(a: &TvAlert) -> Self {
        Self {
            symbol: a.signal.symbol.clone(),
            direction: a.direction,
            at: a.signal.received_at,
            signal_seq: a.signal_seq.clone(),
            event_id: a.event_id.clone(),
        }
    }
}

/// Whether the source held a position in the symbol before the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriorState {
    Open,
    Flat,
}

/// Why an alert sits where it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderingBasis {
    Chronological,
    ExplicitSequence,
    StatefulCloseThenOpen,
    StatefulOpenThenClose,
    /// The alert says it was sent before the alert already applied for its symbol (its own
    /// time is earlier): it arrived late and must not undo the newer one. Not produced by
    /// [`resolve_order`]; the webhook source checks it against the last applied alert.
    SentBeforeApplied,
}

/// One alert in its resolved place, with the audit facts sirouk/trade-engine recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ordered {
    /// Index into the input batch.
    pub index: usize,
    /// Time after adjustment (equal to the input time unless `adjusted`).
    pub at: Timestamp,
    pub adjusted: bool,
    pub basis: OrderingBasis,
    pub prior_state_used: Option<PriorState>,
}

/// The batch in resolved order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resolution {
    /// Per symbol (in symbol order), the alerts in resolved order.
    pub by_symbol: BTreeMap<Symbol, Vec<Ordered>>,
}

impl Resolution {
    /// The input index of the alert that decides each symbol's state.
    pub fn latest(&self) -> BTreeMap<&Symbol, usize> {
        self.by_symbol
            .iter()
            .filter_map(|(s, v)| v.last().map(|o| (s, o.index)))
            .collect()
    }
}

/// The kind and value of an alert's explicit ordering key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum SeqKey {
    Numeric(Decimal),
    Text(String),
    Event(String),
    None,
}

impl SeqKey {
    fn of(a: &Sequenced) -> Self {
        match (&a.signal_seq, &a.event_id) {
            (Some(s), _) => match parse_decimal(s) {
                Some(n) => Self::Numeric(n),
                None => Self::Text(s.clone()),
            },
            (None, Some(e)) => Self::Event(e.clone()),
            (None, None) => Self::None,
        }
    }

    /// Orders two keys of the same kind; `None` when they are of different kinds or absent.
    fn compare(&self, other: &Self) -> Option<Ordering> {
        match (self, other) {
            (Self::Numeric(a), Self::Numeric(b)) => Some(a.cmp(b)),
            (Self::Text(a), Self::Text(b)) | (Self::Event(a), Self::Event(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

/// Resolves the order of a batch of alerts. `prior` answers for symbols whose state before the
/// batch is known (`None`: unknown).
pub fn resolve_order(
    batch: &[Sequenced],
    prior: impl Fn(&Symbol) -> Option<PriorState>,
    pair_window: Duration,
) -> Resolution {
    let mut groups: BTreeMap<Symbol, Vec<usize>> = BTreeMap::new();
    for (i, a) in batch.iter().enumerate() {
        groups.entry(a.symbol.clone()).or_default().push(i);
    }
    let keys: Vec<SeqKey> = batch.iter().map(SeqKey::of).collect();
    let mut out = Resolution::default();
    for (symbol, mut idx) in groups {
        idx.sort_by(|&x, &y| {
            batch[x]
                .at
                .cmp(&batch[y].at)
                .then_with(|| keys[x].cmp(&keys[y]))
                .then_with(|| x.cmp(&y))
        });
        let mut ordered: Vec<Ordered> = idx
            .iter()
            .map(|&i| Ordered {
                index: i,
                at: batch[i].at,
                adjusted: false,
                basis: OrderingBasis::Chronological,
                prior_state_used: None,
            })
            .collect();
        let mut i = 0;
        while i + 1 < ordered.len() {
            let (a, b) = (ordered[i].index, ordered[i + 1].index);
            let (ea, eb) = (&batch[a], &batch[b]);
            let close = eb.at.signed_duration_since(ea.at) <= pair_window;
            let one_flat = (ea.direction == Direction::Flat) != (eb.direction == Direction::Flat);
            if !(close && one_flat) {
                i += 1;
                continue;
            }
            let state_before = if i > 0 {
                Some(state_of(batch[ordered[i - 1].index].direction))
            } else {
                prior(&symbol)
            };
            let (first_is_a, basis, used) = pair_order(&keys[a], &keys[b], ea, state_before);
            if !first_is_a {
                ordered.swap(i, i + 1);
            }
            let min = ea.at.min(eb.at);
            let increasing = ordered[i].at < ordered[i + 1].at;
            let adjust = !first_is_a || !increasing;
            for (k, o) in ordered[i..=i + 1].iter_mut().enumerate() {
                o.basis = basis;
                o.prior_state_used = used;
                if adjust {
                    o.adjusted = true;
                    o.at = min
                        .checked_add_signed(Duration::milliseconds(k as i64))
                        .unwrap_or(min);
                }
            }
            i += 2;
        }
        out.by_symbol.insert(symbol, ordered);
    }
    out
}

/// Which of a close pair of alerts (`a` before `b` in time, one of them flat) goes first: by
/// explicit sequence when both carry one that differs, else by the symbol's state before the pair
/// (close-then-open when open, open-then-close when flat), else as they came. Returns whether
/// `a` goes first, the basis, and the prior state used.
fn pair_order(
    key_a: &SeqKey,
    key_b: &SeqKey,
    ea: &Sequenced,
    state_before: Option<PriorState>,
) -> (bool, OrderingBasis, Option<PriorState>) {
    match key_a.compare(key_b) {
        Some(ord) if ord != Ordering::Equal => {
            (ord == Ordering::Less, OrderingBasis::ExplicitSequence, None)
        }
        _ => match state_before {
            Some(PriorState::Open) => (
                ea.direction == Direction::Flat,
                OrderingBasis::StatefulCloseThenOpen,
                state_before,
            ),
            Some(PriorState::Flat) => (
                ea.direction != Direction::Flat,
                OrderingBasis::StatefulOpenThenClose,
                state_before,
            ),
            None => (true, OrderingBasis::Chronological, None),
        },
    }
}

fn state_of(d: Direction) -> PriorState {
    match d {
        Direction::Flat => PriorState::Flat,
        Direction::Long | Direction::Short => PriorState::Open,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(ms: i64) -> Timestamp {
        chrono::Utc
            .timestamp_millis_opt(1_750_000_000_000 + ms)
            .unwrap()
    }

    fn alert(sym: &str, d: Direction, ms: i64) -> Sequenced {
        Sequenced {
            symbol: Symbol::new(sym).unwrap(),
            direction: d,
            at: at(ms),
            signal_seq: None,
            event_id: None,
        }
    }

    fn final_direction(batch: &[Sequenced], r: &Resolution, sym: &str) -> Direction {
        let s = Symbol::new(sym).unwrap();
        batch[r.latest()[&s]].direction
    }

    #[test]
    fn prior_open_means_close_then_open() {
        // The open arrived first, the close 3 ms later; the source was long before.
        let batch = vec![
            alert("ETHUSDT", Direction::Short, 0),
            alert("ETHUSDT", Direction::Flat, 3),
        ];
        let r = resolve_order(&batch, |_| Some(PriorState::Open), DEFAULT_PAIR_WINDOW);
        assert_eq!(final_direction(&batch, &r, "ETHUSDT"), Direction::Short);
        let v = &r.by_symbol[&Symbol::new("ETHUSDT").unwrap()];
        assert_eq!(v[0].index, 1);
        assert!(v.iter().all(|o| o.adjusted));
        assert_eq!(v[0].at, at(0));
        assert_eq!(v[1].at, at(1));
        assert_eq!(v[0].basis, OrderingBasis::StatefulCloseThenOpen);
        assert_eq!(v[0].prior_state_used, Some(PriorState::Open));
    }

    #[test]
    fn prior_flat_means_open_then_close() {
        let batch = vec![
            alert("ETHUSDT", Direction::Flat, 0),
            alert("ETHUSDT", Direction::Long, 2),
        ];
        let r = resolve_order(&batch, |_| Some(PriorState::Flat), DEFAULT_PAIR_WINDOW);
        assert_eq!(final_direction(&batch, &r, "ETHUSDT"), Direction::Flat);
        let v = &r.by_symbol[&Symbol::new("ETHUSDT").unwrap()];
        assert_eq!(v[0].basis, OrderingBasis::StatefulOpenThenClose);
    }

    #[test]
    fn unknown_prior_or_far_apart_keeps_chronology() {
        let batch = vec![
            alert("BTCUSDT", Direction::Long, 0),
            alert("BTCUSDT", Direction::Flat, 2),
        ];
        let r = resolve_order(&batch, |_| None, DEFAULT_PAIR_WINDOW);
        assert_eq!(final_direction(&batch, &r, "BTCUSDT"), Direction::Flat);
        let v = &r.by_symbol[&Symbol::new("BTCUSDT").unwrap()];
        assert!(!v[0].adjusted);

        let far = vec![
            alert("BTCUSDT", Direction::Long, 0),
            alert("BTCUSDT", Direction::Flat, 6_000),
        ];
        let r = resolve_order(&far, |_| Some(PriorState::Open), DEFAULT_PAIR_WINDOW);
        assert_eq!(final_direction(&far, &r, "BTCUSDT"), Direction::Flat);
    }

    #[test]
    fn explicit_sequence_beats_arrival_and_state() {
        let mut open = alert("SOLUSDT", Direction::Long, 0);
        open.signal_seq = Some("10".into());
        let mut close = alert("SOLUSDT", Direction::Flat, 1);
        close.signal_seq = Some("9".into());
        let batch = vec![open, close];
        // State says open-then-close would be the answer; the sequence says close (9) first.
        let r = resolve_order(&batch, |_| Some(PriorState::Flat), DEFAULT_PAIR_WINDOW);
        assert_eq!(final_direction(&batch, &r, "SOLUSDT"), Direction::Long);
        let v = &r.by_symbol[&Symbol::new("SOLUSDT").unwrap()];
        assert_eq!(v[0].basis, OrderingBasis::ExplicitSequence);

        // "10" > "9" numerically even though it sorts first as text.
        let mut a = alert("SOLUSDT", Direction::Flat, 5);
        a.signal_seq = Some("10".into());
        let mut b = alert("SOLUSDT", Direction::Long, 5);
        b.signal_seq = Some("9".into());
        let batch = vec![a, b];
        let r = resolve_order(&batch, |_| None, DEFAULT_PAIR_WINDOW);
        assert_eq!(final_direction(&batch, &r, "SOLUSDT"), Direction::Flat);
    }

    #[test]
    fn mixed_key_kinds_fall_back_to_state() {
        let mut a = alert("SOLUSDT", Direction::Long, 0);
        a.signal_seq = Some("1".into());
        let mut b = alert("SOLUSDT", Direction::Flat, 1);
        b.event_id = Some("zzz".into());
        let batch = vec![a, b];
        let r = resolve_order(&batch, |_| Some(PriorState::Open), DEFAULT_PAIR_WINDOW);
        assert_eq!(final_direction(&batch, &r, "SOLUSDT"), Direction::Long);
    }

    #[test]
    fn in_batch_state_precedes_the_lookup_and_symbols_are_separate() {
        // long, then (flat, short) together: the state before the pair is the long → close first.
        let batch = vec![
            alert("ETHUSDT", Direction::Long, 0),
            alert("ETHUSDT", Direction::Short, 10_000),
            alert("ETHUSDT", Direction::Flat, 10_001),
            alert("BTCUSDT", Direction::Long, 10_000),
        ];
        let r = resolve_order(&batch, |_| Some(PriorState::Flat), DEFAULT_PAIR_WINDOW);
        assert_eq!(final_direction(&batch, &r, "ETHUSDT"), Direction::Short);
        assert_eq!(final_direction(&batch, &r, "BTCUSDT"), Direction::Long);
        assert_eq!(r.by_symbol.len(), 2);
    }
}
