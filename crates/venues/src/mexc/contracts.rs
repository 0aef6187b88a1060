//! The MEXC contract cache: instrument rules by symbol, contract sizes by MEXC symbol (the
//! private stream converts pushed contracts to base units synchronously), and the contracts
//! MEXC closes to API orders.
//!
//! `contract/detail` allows one request per 5 s, so fetches are serialised and a cache younger
//! than the asked age is served as is.

use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;
use std::time::Duration;

use rust_decimal::Decimal;
use tokio::time::Instant;
use tradeengine_model::{Instrument, Symbol};

use super::http::{MexcHttp, scope};
use super::json::rows;
use super::models::{CONTRACT_DETAIL, ContractRow};
use crate::http::Query;
use crate::parse::in_reply;
use crate::{VenueError, VenueErrorKind};

/// Contract rules change rarely; an hour bounds how long a change can go unseen.
pub const INSTRUMENT_TTL: Duration = Duration::from_secs(3600);
/// `contract/detail` allows one request per 5 s: an unknown symbol is refetched only when the
/// cache is older than that, instead of waiting on the budget.
pub const DETAIL_INTERVAL: Duration = Duration::from_secs(5);

/// One fetch of `contract/detail`.
#[derive(Debug, Default, Clone)]
pub struct Contracts {
    pub by_symbol: HashMap<Symbol, Instrument>,
    /// Contract size by MEXC symbol, for stream pushes.
    pub size_by_venue: HashMap<String, Decimal>,
    /// Contracts whose detail says `apiAllowed = false`.
    pub api_disallowed: BTreeSet<Symbol>,
    fetched_at: Option<Instant>,
}

/// The cached contract details, shared by the venue and its private stream.
#[derive(Debug, Default)]
pub struct ContractBook {
    inner: RwLock<Contracts>,
    /// Serialises detail fetches (one at a time, within the 1-per-5 s budget).
    fetching: tokio::sync::Mutex<()>,
}

impl ContractBook {
    pub(super) fn read(&self) -> std::sync::RwLockReadGuard<'_, Contracts> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Base units per contract of a MEXC symbol (`BTC_USDT`), if known.
    pub fn contract_size(&self, venue_symbol: &str) -> Option<Decimal> {
        self.read().size_by_venue.get(venue_symbol).copied()
    }

    /// Makes the next read fetch again (after a reply that suggests the rules changed).
    pub fn invalidate(&self) {
        self.inner
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .fetched_at = None;
    }

    /// The contracts, fetched when the cache is older than `max_age`.
    pub async fn get(&self, http: &MexcHttp, max_age: Duration) -> Result<Contracts, VenueError> {
        let fresh = |c: &Contracts| c.fetched_at.is_some_and(|t| t.elapsed() < max_age);
        {
            let c = self.read();
            if fresh(&c) {
                return Ok(c.clone());
            }
        }
        let _one_at_a_time = self.fetching.lock().await;
        {
            let c = self.read();
            if fresh(&c) {
                return Ok(c.clone());
            }
        }
        let data = http
            .public_get("/api/v1/contract/detail", &Query::new(), scope::DETAIL)
            .await?;
        let mut next = Contracts::default();
        for row in rows::<ContractRow>(data, CONTRACT_DETAIL)? {
            if let Some((i, allowed)) = row.to_instrument().map_err(in_reply(CONTRACT_DETAIL))? {
                next.size_by_venue
                    .insert(i.venue_symbol.clone(), i.contract_size);
                if !allowed {
                    next.api_disallowed.insert(i.symbol.clone());
                }
                next.by_symbol.insert(i.symbol.clone(), i);
            }
        }
        next.fetched_at = Some(Instant::now());
        *self.inner.write().unwrap_or_else(|p| p.into_inner()) = next.clone();
        Ok(next)
    }

    /// One symbol's rules: from the hourly cache, refetched (within the detail budget) when the
    /// symbol is not in it.
    pub async fn instrument(
        &self,
        http: &MexcHttp,
        symbol: &Symbol,
    ) -> Result<Instrument, VenueError> {
        let mut c = self.get(http, INSTRUMENT_TTL).await?;
        if !c.by_symbol.contains_key(symbol) {
            c = self.get(http, DETAIL_INTERVAL).await?;
        }
        c.by_symbol.remove(symbol).ok_or_else(|| unknown(symbol))
    }
}

/// The refusal of a symbol MEXC does not list as an enabled USDT perpetual.
pub(super) fn unknown(symbol: &Symbol) -> VenueError {
    VenueError::new(
        super::VENUE,
        VenueErrorKind::Rejected,
        format!("{symbol} is not an enabled USDT perpetual on MEXC"),
    )
    .with_code("unknown_symbol")
}
