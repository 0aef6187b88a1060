//! A session as the store recorded it: its signals, and the prices each of the account's
//! cycles planned and marked at with the signals each had blended (`mark_readings`, see
//! `worker::cycle`). Replaying them with the account's settings cycles where the live engine
//! did, on the sleeves it blended, at the prices it saw, so the paper venue fills where the live
//! one filled and the books come out the same to the last decimal.

use std::collections::BTreeMap;

use tradeengine_model::{AccountName, Price, Signal, Symbol, Timestamp};
use tradeengine_store::{FillPrice, RecordedReading, SeenSignal, Store};
use tradeengine_venues::PriceFeed;

use super::ReplayError;

/// Rows read per store call.
const PAGE: i64 = 5_000;

/// Prices known only at reading times: a symbol's price at `t` is its last reading at or before
/// `t` (none before its first), as the live engine held it between cycles.
#[derive(Debug, Clone, Default)]
pub struct StepFeed {
    series: BTreeMap<Symbol, Vec<(i64, Price)>>,
}

impl StepFeed {
    /// Adds a reading; readings of one symbol must come in time order (a reading older than the
    /// symbol's last is refused, since the price it would hide is the newer one).
    pub fn push(
        &mut self,
        symbol: &Symbol,
        at: Timestamp,
        price: Price,
    ) -> Result<(), ReplayError> {
        let ms = at.timestamp_millis();
        let series = self.series.entry(symbol.clone()).or_default();
        match series.last_mut() {
            Some((last, p)) if *last == ms => *p = price,
            Some((last, _)) if *last > ms => {
                return Err(ReplayError::Input(format!(
                    "{symbol}: a price at {at} after one at a later time"
                )));
            }
            _ => series.push((ms, price)),
        }
        Ok(())
    }
}

impl PriceFeed for StepFeed {
    fn price(&self, symbol: &Symbol, at: Timestamp) -> Option<Price> {
        let series = self.series.get(symbol)?;
        let ms = at.timestamp_millis();
        let n = series.partition_point(|(t, _)| *t <= ms);
        series.get(n.checked_sub(1)?).map(|(_, p)| *p)
    }

    fn symbols(&self) -> Vec<Symbol> {
        self.series.keys().cloned().collect()
    }
}

/// What a replay of a stored session needs.
#[derive(Debug, Clone)]
pub struct StoredSession {
    /// Every stored signal, in the order the intake stored and applied them.
    pub signals: Vec<Signal>,
    pub feed: StepFeed,
    /// The account's cycle times that have readings, in order: one per reading (two cycles
    /// in one millisecond are two times).
    pub times: Vec<Timestamp>,
    /// Per time, the signals its cycle had blended that the previous reading did not list
    /// (`None`: a reading stored without them, replayed by receive time). See
    /// [`super::replay_recorded`].
    pub seen: Vec<Option<Vec<SeenSignal>>>,
    /// Per time, the market price at each of its cycle's fills, in the order filled (empty:
    /// none recorded; the replay fills at the reading).
    pub fill_prices: Vec<Vec<FillPrice>>,
}

/// Reads `account`'s session from `store`.
pub async fn stored_session(
    store: &dyn Store,
    account: &AccountName,
) -> Result<StoredSession, ReplayError> {
    let store_error = |e: tradeengine_store::StoreError| ReplayError::Input(e.to_string());
    let mut feed = StepFeed::default();
    let mut times: Vec<Timestamp> = Vec::new();
    let mut seen: Vec<Option<Vec<SeenSignal>>> = Vec::new();
    let mut fills: Vec<Vec<FillPrice>> = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .marks_with_signals(Some(account), after, PAGE)
            .await
            .map_err(store_error)?;
        let Some(last) = page.last() else { break };
        after = last.reading.seq;
        for RecordedReading {
            reading,
            seen: signals,
            fill_prices,
        } in page
        {
            for (symbol, price) in &reading.prices {
                feed.push(symbol, reading.at, *price)?;
            }
            // One cycle per reading, even two in one millisecond (or on a manual clock):
            // each was a live cycle that acted or saw something new.
            times.push(reading.at);
            seen.push(signals);
            fills.push(fill_prices);
        }
    }
    if times.windows(2).any(|w| w[0] > w[1]) {
        return Err(ReplayError::Input(format!(
            "the mark readings of {account} go back in time (the clock moved back?)"
        )));
    }
    Ok(StoredSession {
        signals: stored_signals(store).await?,
        feed,
        times,
        seen,
        fill_prices: fills,
    })
}

/// Every stored signal, in the order the intake stored (and applied) them.
pub async fn stored_signals(store: &dyn Store) -> Result<Vec<Signal>, ReplayError> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .signals_in_order(after, PAGE)
            .await
            .map_err(|e| ReplayError::Input(e.to_string()))?;
        let Some((last, _)) = page.last() else { break };
        after = *last;
        out.extend(page.into_iter().map(|(_, s)| s));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn a_price_holds_from_its_reading_to_the_next() {
        let btc = Symbol::new("BTCUSDT").unwrap();
        let t = |ms| chrono::DateTime::from_timestamp_millis(ms).unwrap();
        let mut f = StepFeed::default();
        f.push(&btc, t(1_000), Price::new(dec!(100)).unwrap())
            .unwrap();
        f.push(&btc, t(3_000), Price::new(dec!(101.50)).unwrap())
            .unwrap();
        assert_eq!(f.price(&btc, t(999)), None);
        assert_eq!(f.price(&btc, t(1_000)).unwrap().get(), dec!(100));
        assert_eq!(f.price(&btc, t(2_999)).unwrap().get(), dec!(100));
        assert_eq!(f.price(&btc, t(3_000)).unwrap().get().to_string(), "101.50");
        assert!(
            f.push(&btc, t(2_000), Price::new(dec!(1)).unwrap())
                .is_err()
        );
    }
}
