//! The instrument-rule cache the adapters share.
//!
//! Every venue lists its contracts in one request (or one short paged walk), and the rules
//! (steps, minimums, contract sizes, leverage caps) change rarely, so each adapter keeps them
//! for a TTL and refetches when the TTL ends, when a symbol it has not seen is asked for, or
//! when a venue reply suggests the rules moved ([`InstrumentCache::invalidate`]). The fetch
//! itself is the adapter's: this module only decides when it runs and keeps what it returned.
//!
//! The cache lock is held across a fetch, so callers arriving during one wait for its result
//! instead of each sending a request of their own (the listing endpoints have small budgets).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::time::Instant;
use tradeengine_model::{Instrument, Symbol};

use crate::VenueError;

/// The cached instruments by venue symbol (`BTC-USDT`, `XBTUSDTM`), readable without awaiting:
/// private streams convert pushed venue sizes to base units with it.
pub type VenueIndex = Arc<RwLock<HashMap<String, Instrument>>>;

#[derive(Debug, Default)]
struct Fetched {
    by_symbol: HashMap<Symbol, Instrument>,
    fetched_at: Option<Instant>,
}

/// One adapter's instrument rules.
#[derive(Debug)]
pub struct InstrumentCache {
    ttl: Duration,
    fetched: tokio::sync::Mutex<Fetched>,
    index: VenueIndex,
}

impl InstrumentCache {
    /// A cache whose entries live for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self::with_index(ttl, VenueIndex::default())
    }

    /// A cache that keeps `index` (shared with a private stream) in step with each fetch.
    pub fn with_index(ttl: Duration, index: VenueIndex) -> Self {
        Self {
            ttl,
            fetched: tokio::sync::Mutex::new(Fetched::default()),
            index,
        }
    }

    fn fresh(&self, cache: &Fetched) -> bool {
        cache.fetched_at.is_some_and(|t| t.elapsed() < self.ttl)
    }

    /// Forgets the cache; the next call fetches again.
    pub async fn invalidate(&self) {
        self.fetched.lock().await.fetched_at = None;
    }

    /// Every instrument: the cache while fresh, else what `fetch` returns (which replaces it).
    /// `fetch` is only awaited when needed; building it sends nothing.
    pub async fn all<F>(&self, fetch: F) -> Result<HashMap<Symbol, Instrument>, VenueError>
    where
        F: Future<Output = Result<Vec<Instrument>, VenueError>>,
    {
        let mut cache = self.fetched.lock().await;
        if !self.fresh(&cache) {
            let listed = fetch.await?;
            *self.index.write().unwrap_or_else(|p| p.into_inner()) = listed
                .iter()
                .map(|i| (i.venue_symbol.clone(), i.clone()))
                .collect();
            cache.by_symbol = listed.into_iter().map(|i| (i.symbol.clone(), i)).collect();
            cache.fetched_at = Some(Instant::now());
        }
        Ok(cache.by_symbol.clone())
    }

    /// The cached listing for `symbols`: fetched when stale, and fetched once more when any of
    /// them is missing (it may have been listed since), before the caller refuses what is
    /// still missing.
    pub async fn covering<F, Fut>(
        &self,
        symbols: &[Symbol],
        fetch: F,
    ) -> Result<HashMap<Symbol, Instrument>, VenueError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Vec<Instrument>, VenueError>>,
    {
        let map = self.all(fetch()).await?;
        if symbols.iter().all(|s| map.contains_key(s)) {
            return Ok(map);
        }
        self.invalidate().await;
        self.all(fetch()).await
    }

    /// One symbol's rules from the cache, fetched first when stale. `None`: the venue does not
    /// list it. A fresh cache without the symbol is not refetched: an unknown symbol asked for
    /// every cycle must not spend the listing endpoint's budget (a listing is at most one TTL
    /// old).
    pub async fn get<F>(&self, symbol: &Symbol, fetch: F) -> Result<Option<Instrument>, VenueError>
    where
        F: Future<Output = Result<Vec<Instrument>, VenueError>>,
    {
        {
            let cache = self.fetched.lock().await;
            if self.fresh(&cache)
                && let Some(i) = cache.by_symbol.get(symbol)
            {
                return Ok(Some(i.clone()));
            }
        }
        Ok(self.all(fetch).await?.remove(symbol))
    }

    /// Rules by venue symbol, fetching the listing when the symbol is not cached and the cache
    /// is stale.
    pub async fn by_venue_symbol<F>(
        &self,
        venue_symbol: &str,
        fetch: F,
    ) -> Result<Option<Instrument>, VenueError>
    where
        F: Future<Output = Result<Vec<Instrument>, VenueError>>,
    {
        if let Some(i) = self.cached_by_venue_symbol(venue_symbol) {
            return Ok(Some(i));
        }
        self.all(fetch).await?;
        Ok(self.cached_by_venue_symbol(venue_symbol))
    }

    /// Rules by venue symbol from the cache only.
    pub fn cached_by_venue_symbol(&self, venue_symbol: &str) -> Option<Instrument> {
        self.index
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(venue_symbol)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use rust_decimal_macros::dec;

    use super::*;

    fn btc() -> Instrument {
        Instrument {
            venue_symbol: "BTC-USDT".into(),
            ..Instrument::linear(
                Symbol::new("BTCUSDT").unwrap_or_else(|e| panic!("{e}")),
                dec!(0.001),
                dec!(0.1),
            )
        }
    }

    /// A listing that counts how often it was sent.
    async fn listing(sent: &AtomicUsize) -> Result<Vec<Instrument>, VenueError> {
        sent.fetch_add(1, Ordering::SeqCst);
        Ok(vec![btc()])
    }

    fn sym(s: &str) -> Symbol {
        Symbol::new(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test(start_paused = true)]
    async fn fetches_once_per_ttl_and_again_after_it_or_an_invalidation() {
        let cache = InstrumentCache::new(Duration::from_secs(3600));
        let sent = AtomicUsize::new(0);
        for _ in 0..3 {
            let got = cache.get(&sym("BTCUSDT"), listing(&sent)).await;
            assert_eq!(
                got.ok().flatten().map(|i| i.venue_symbol),
                Some("BTC-USDT".into())
            );
        }
        assert_eq!(
            sent.load(Ordering::SeqCst),
            1,
            "a fresh cache sends nothing"
        );
        tokio::time::advance(Duration::from_secs(3601)).await;
        cache.all(listing(&sent)).await.ok();
        assert_eq!(
            sent.load(Ordering::SeqCst),
            2,
            "a stale cache is fetched again"
        );
        cache.invalidate().await;
        cache.all(listing(&sent)).await.ok();
        assert_eq!(
            sent.load(Ordering::SeqCst),
            3,
            "an invalidated cache is fetched again"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_unknown_symbol_does_not_refetch_a_fresh_listing() {
        let cache = InstrumentCache::new(Duration::from_secs(3600));
        let sent = AtomicUsize::new(0);
        cache.all(listing(&sent)).await.ok();
        for _ in 0..5 {
            let got = cache.get(&sym("DOGEUSDT"), listing(&sent)).await;
            assert!(matches!(got, Ok(None)));
        }
        assert_eq!(sent.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_symbol_refetches_a_fresh_listing_once() {
        let cache = InstrumentCache::new(Duration::from_secs(3600));
        let sent = AtomicUsize::new(0);
        let known = cache.covering(&[sym("BTCUSDT")], || listing(&sent)).await;
        assert_eq!(known.map(|m| m.len()).ok(), Some(1));
        assert_eq!(sent.load(Ordering::SeqCst), 1);
        let got = cache
            .covering(&[sym("BTCUSDT"), sym("DOGEUSDT")], || listing(&sent))
            .await;
        assert!(got.is_ok_and(|m| !m.contains_key(&sym("DOGEUSDT"))));
        assert_eq!(
            sent.load(Ordering::SeqCst),
            2,
            "one refetch, then the caller refuses"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_venue_index_follows_each_fetch() {
        let index = VenueIndex::default();
        let cache = InstrumentCache::with_index(Duration::from_secs(60), index.clone());
        assert!(cache.cached_by_venue_symbol("BTC-USDT").is_none());
        let sent = AtomicUsize::new(0);
        let found = cache.by_venue_symbol("BTC-USDT", listing(&sent)).await;
        assert!(matches!(found, Ok(Some(_))));
        assert!(
            index
                .read()
                .map(|m| m.contains_key("BTC-USDT"))
                .unwrap_or(false)
        );
        assert_eq!(sent.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_fetch_keeps_nothing_and_is_retried() {
        let cache = InstrumentCache::new(Duration::from_secs(60));
        let failing = async {
            Err(VenueError::new(
                "test",
                crate::VenueErrorKind::Retryable,
                "listing unavailable",
            ))
        };
        assert!(cache.all(failing).await.is_err());
        let sent = AtomicUsize::new(0);
        assert_eq!(
            cache.all(listing(&sent)).await.map(|m| m.len()).ok(),
            Some(1)
        );
        assert_eq!(sent.load(Ordering::SeqCst), 1);
    }
}
