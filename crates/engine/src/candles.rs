//! Candles for sources that need market data: the strategy source's indicators and ATR-based
//! default stops ([`crate::stops`]).
//!
//! A [`CandleSource`] answers "the closed candles of a symbol between two open times": on a
//! paper account they are sampled from its price feed ([`FeedCandles`], a pure function of
//! time), on a live venue account they come from the venue's public kline endpoint
//! ([`VenueCandles`], any of the five adapters, no keys). A [`CandleBook`] keeps a bounded,
//! time-ordered [`CandleWindow`] per symbol, brings it up to the last closed candle on each
//! poll, and when a poll finds a hole (a missed poll, a venue outage) refills the whole window
//! by fetching again; whatever hole remains is never bridged: callers only get the contiguous
//! run that ends at the last closed candle.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use tradeengine_model::Symbol;
use tradeengine_signals::strategy::{Candle, CandleWindow, PushOutcome};
use tradeengine_venues::VenueId;
use tradeengine_venues::connect::public_market;
use tradeengine_venues::market::{Kline, KlineInterval, PublicMarket};
use tradeengine_venues::{PriceFeed, Venue};

use crate::config::{AccountConfig, Config, VenueKind};

/// Where candles come from.
#[async_trait]
pub trait CandleSource: Send + Sync + std::fmt::Debug {
    /// The closed candles of `symbol` opening in `[from_ms, last_open_ms]`, oldest first (fewer
    /// when the source has no data for some). Errors are for the log: the caller retries.
    async fn closed(
        &self,
        symbol: &Symbol,
        interval_ms: i64,
        from_ms: i64,
        last_open_ms: i64,
    ) -> Result<Vec<Candle>, String>;

    /// The symbol's price tick on this account (stop distances are rounded to it).
    async fn tick_size(&self, symbol: &Symbol) -> Result<Decimal, String>;

    /// For logs and the CLI: `paper feed of account X`, `bybit klines at URL`.
    fn describe(&self) -> String;
}

/// Candles sampled from a price feed: open at the open time, close at the candle's last
/// millisecond, high and low over `samples` evenly spaced prices. No volume (MFI reads neutral).
#[derive(Debug, Clone)]
pub struct FeedCandles {
    pub feed: Arc<dyn PriceFeed>,
    pub samples: u32,
    /// The account's venue, for tick sizes (`None`: no ticks, e.g. the CLI's replay).
    pub instruments: Option<Arc<dyn Venue>>,
    pub name: String,
}

impl FeedCandles {
    /// The candle of `symbol` opening at `open_ms`, or `None` when the feed has no price for
    /// all of it.
    pub fn candle(&self, symbol: &Symbol, open_ms: i64, interval_ms: i64) -> Option<Candle> {
        let at = |ms: i64| -> Option<f64> {
            let t = chrono::DateTime::from_timestamp_millis(ms)?;
            self.feed.price(symbol, t)?.get().to_f64()
        };
        let open = at(open_ms)?;
        let close = at(open_ms + interval_ms - 1)?;
        let (mut high, mut low) = (open.max(close), open.min(close));
        let n = i64::from(self.samples.max(1));
        for k in 1..n {
            let p = at(open_ms + interval_ms * k / n)?;
            high = high.max(p);
            low = low.min(p);
        }
        Some(Candle {
            open_ms,
            open,
            high,
            low,
            close,
            volume: 0.0,
        })
    }
}

async fn tick_of(venue: &dyn Venue, symbol: &Symbol) -> Result<Decimal, String> {
    let instruments = venue
        .instruments(std::slice::from_ref(symbol))
        .await
        .map_err(|e| e.to_string())?;
    instruments
        .iter()
        .find(|i| i.symbol == *symbol)
        .map(|i| i.tick_size)
        .filter(|t| *t > Decimal::ZERO)
        .ok_or_else(|| format!("no tick size for {symbol}"))
}

#[async_trait]
impl CandleSource for FeedCandles {
    async fn closed(
        &self,
        symbol: &Symbol,
        interval_ms: i64,
        from_ms: i64,
        last_open_ms: i64,
    ) -> Result<Vec<Candle>, String> {
        let step = interval_ms.max(1);
        let mut out = Vec::new();
        let mut t = from_ms;
        while t <= last_open_ms {
            out.extend(self.candle(symbol, t, step));
            t += step;
        }
        Ok(out)
    }

    async fn tick_size(&self, symbol: &Symbol) -> Result<Decimal, String> {
        match &self.instruments {
            Some(v) => tick_of(&**v, symbol).await,
            None => Err(format!("{} knows no tick sizes", self.name)),
        }
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

/// Candles from a live venue's public kline endpoint. Connects on first use (one public
/// request), so building it never blocks the start; a failed connection is retried next poll.
#[derive(Debug)]
pub struct VenueCandles {
    venue: VenueId,
    base_url: String,
    interval: KlineInterval,
    market: tokio::sync::OnceCell<PublicMarket>,
}

impl VenueCandles {
    pub fn new(venue: VenueId, base_url: &str, interval: KlineInterval) -> Self {
        Self {
            venue,
            base_url: base_url.to_string(),
            interval,
            market: tokio::sync::OnceCell::new(),
        }
    }

    async fn market(&self) -> Result<&PublicMarket, String> {
        self.market
            .get_or_try_init(|| public_market(self.venue, &self.base_url))
            .await
            .map_err(|e| e.to_string())
    }
}

/// A venue's candle in indicator units. Prices the venue sent are exact decimals; `f64` is
/// what the indicators compute in (they never feed an order directly).
fn to_candle(k: &Kline) -> Option<Candle> {
    Some(Candle {
        open_ms: k.open_ms,
        open: k.open.to_f64()?,
        high: k.high.to_f64()?,
        low: k.low.to_f64()?,
        close: k.close.to_f64()?,
        volume: k.volume.to_f64()?,
    })
}

#[async_trait]
impl CandleSource for VenueCandles {
    async fn closed(
        &self,
        symbol: &Symbol,
        interval_ms: i64,
        from_ms: i64,
        last_open_ms: i64,
    ) -> Result<Vec<Candle>, String> {
        if interval_ms != self.interval.millis() {
            return Err(format!(
                "asked for {interval_ms} ms candles from {} {} klines",
                self.venue,
                self.interval.as_str()
            ));
        }
        let market = self.market().await?;
        let wanted = (last_open_ms - from_ms).div_euclid(interval_ms) + 1;
        let limit = u32::try_from(wanted.max(1))
            .unwrap_or(u32::MAX)
            .min(market.candles.max_candles());
        let klines = market
            .candles
            .candles(symbol, self.interval, limit, last_open_ms + interval_ms)
            .await
            .map_err(|e| e.to_string())?;
        Ok(klines
            .iter()
            .filter(|k| (from_ms..=last_open_ms).contains(&k.open_ms))
            .filter_map(to_candle)
            .collect())
    }

    async fn tick_size(&self, symbol: &Symbol) -> Result<Decimal, String> {
        let market = self.market().await?;
        tick_of(&*market.venue, symbol).await
    }

    fn describe(&self) -> String {
        format!(
            "{} {} klines at {}",
            self.venue,
            self.interval.as_str(),
            self.base_url
        )
    }
}

/// The REST base URL an account's adapter uses (the same rule as the engine's connection).
pub fn account_base_url(config: &Config, account: &AccountConfig) -> Result<String, String> {
    crate::config::modes::base_url(config, account)
}

pub use crate::config::candle_account::candle_account;

/// The candle source of `account`: its paper feed (from `paper`, the running paper venues) or
/// its venue's public klines.
pub fn source_for(
    config: &Config,
    account: &AccountConfig,
    interval_secs: u64,
    samples: u32,
    paper: &std::collections::BTreeMap<
        tradeengine_model::AccountName,
        Arc<tradeengine_venues::PaperVenue>,
    >,
) -> Result<Arc<dyn CandleSource>, String> {
    let VenueKind::Exchange(exchange) = account.venue else {
        let venue = paper
            .iter()
            .find(|(a, _)| a.as_str() == account.name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("paper account {} is not running", account.name))?;
        return Ok(Arc::new(FeedCandles {
            feed: venue.feed(),
            samples,
            instruments: Some(venue),
            name: format!("paper feed of account {}", account.name),
        }));
    };
    let interval = KlineInterval::from_secs(interval_secs)
        .ok_or_else(|| format!("no kline interval of {interval_secs} s"))?;
    let base = account_base_url(config, account)?;
    Ok(Arc::new(VenueCandles::new(exchange, &base, interval)))
}

/// What one refresh found.
#[derive(Debug, Clone, PartialEq)]
pub enum Refresh {
    /// The contiguous run of candles ending with the last closed one.
    Ready(Vec<Candle>),
    /// The last closed candle is missing, or only a hole-split run reaches it: nothing to
    /// decide on yet (the reason is for the log).
    NotReady(&'static str),
}

/// Bounded candle windows per symbol over one source and interval.
#[derive(Debug)]
pub struct CandleBook {
    source: Arc<dyn CandleSource>,
    interval_ms: i64,
    capacity: usize,
    windows: tokio::sync::Mutex<HashMap<Symbol, CandleWindow>>,
}

impl CandleBook {
    /// `interval_ms ≥ 1`, `capacity ≥ 1` (clamped up).
    pub fn new(source: Arc<dyn CandleSource>, interval_ms: i64, capacity: usize) -> Self {
        Self {
            source,
            interval_ms: interval_ms.max(1),
            capacity: capacity.max(1),
            windows: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    pub fn source(&self) -> &Arc<dyn CandleSource> {
        &self.source
    }

    pub fn interval_ms(&self) -> i64 {
        self.interval_ms
    }

    /// Brings `symbol`'s window up to the last candle closed at `now_ms` and returns the
    /// contiguous run when it ends with that candle. A hole found on the way triggers one
    /// refill of the whole window from the source.
    pub async fn refresh(&self, symbol: &Symbol, now_ms: i64) -> Result<Refresh, String> {
        let i = self.interval_ms;
        let last_closed = now_ms.div_euclid(i) * i - i;
        let span = i64::try_from(self.capacity).unwrap_or(i64::MAX / i) - 1;
        let oldest = last_closed - i * span;
        let mut windows = self.windows.lock().await;
        let w = windows
            .entry(symbol.clone())
            .or_insert_with(|| CandleWindow::new(i, self.capacity));
        let from = match w.last() {
            Some(c) => (c.open_ms + i).max(oldest),
            None => oldest,
        };
        if from <= last_closed {
            let fresh = w.is_empty();
            let candles = self.source.closed(symbol, i, from, last_closed).await?;
            let mut hole = false;
            for c in candles {
                hole |= matches!(w.push(c), PushOutcome::Gap { .. });
            }
            let behind = w.last().map(|c| c.open_ms) != Some(last_closed);
            if !fresh && (hole || behind) {
                tracing::info!(%symbol, source = %self.source.describe(), "candle window has a hole; refilling");
                let mut refill = CandleWindow::new(i, self.capacity);
                for c in self.source.closed(symbol, i, oldest, last_closed).await? {
                    refill.push(c);
                }
                *w = refill;
            }
        }
        let run = w.contiguous();
        Ok(match run.last().map(|c| c.open_ms) {
            Some(t) if t == last_closed => Refresh::Ready(run),
            Some(_) => Refresh::NotReady("the last closed candle is not in yet"),
            None => Refresh::NotReady("no candles yet"),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Candles every minute except the listed holes; counts requests.
    #[derive(Debug, Default)]
    struct Scripted {
        holes: Mutex<Vec<i64>>,
        requests: Mutex<Vec<(i64, i64)>>,
    }

    #[async_trait]
    impl CandleSource for Scripted {
        async fn closed(
            &self,
            _symbol: &Symbol,
            interval_ms: i64,
            from_ms: i64,
            last_open_ms: i64,
        ) -> Result<Vec<Candle>, String> {
            self.requests
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((from_ms, last_open_ms));
            let holes = self.holes.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let mut out = Vec::new();
            let mut t = from_ms;
            while t <= last_open_ms {
                if !holes.contains(&t) {
                    out.push(Candle {
                        open_ms: t,
                        open: 10.0,
                        high: 11.0,
                        low: 9.0,
                        close: 10.0,
                        volume: 1.0,
                    });
                }
                t += interval_ms;
            }
            Ok(out)
        }

        async fn tick_size(&self, _symbol: &Symbol) -> Result<Decimal, String> {
            Ok(Decimal::new(1, 2))
        }

        fn describe(&self) -> String {
            "scripted".into()
        }
    }

    fn sym() -> Symbol {
        Symbol::new("BTCUSDT").unwrap_or_else(|_| unreachable!())
    }

    #[tokio::test]
    async fn a_hole_is_refilled_and_a_lasting_one_is_never_bridged() {
        let source = Arc::new(Scripted::default());
        let book = CandleBook::new(source.clone(), 60_000, 10);
        // At 10:00.5 the last closed candle opened at 9:00 (540 000 ms).
        let Refresh::Ready(run) = book
            .refresh(&sym(), 600_500)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
        else {
            panic!("not ready")
        };
        assert_eq!(
            (run.len(), run[0].open_ms, run[9].open_ms),
            (10, 0, 540_000)
        );
        // The candle at 10:00 is missing when first asked for, then the venue has it: the
        // hole is seen at 12:00 and the window is refilled from the source.
        source
            .holes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(600_000);
        let r = book
            .refresh(&sym(), 660_500)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r, Refresh::NotReady("the last closed candle is not in yet"));
        source
            .holes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        let Refresh::Ready(run) = book
            .refresh(&sym(), 720_500)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
        else {
            panic!("not ready after the refill")
        };
        assert_eq!(run.len(), 10);
        assert!(
            run.windows(2)
                .all(|w| w[1].open_ms - w[0].open_ms == 60_000)
        );
        // A hole the venue keeps: the run after it is all a caller gets.
        source
            .holes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(720_000);
        let Refresh::Ready(run) = book
            .refresh(&sym(), 840_500)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
        else {
            panic!("not ready")
        };
        assert_eq!(
            run.iter().map(|c| c.open_ms).collect::<Vec<_>>(),
            vec![780_000]
        );
    }
}
