//! A venue's public market data for paper trading: an exchange account run in paper mode fills
//! on the paper venue against the real venue's instruments (steps, minimums, leverage caps) and
//! prices, read from its public endpoints with no keys, so no private request ever leaves.

use std::sync::Arc;
use std::time::Duration;

use tradeengine_model::{Instrument, Symbol, VenueId};

use crate::feed::live::LivePriceFeed;
use crate::{PriceFeed, VenueError, VenueErrorKind};

/// What a paper account needs from the real venue.
#[derive(Debug)]
pub struct PublicMarket {
    /// Prices of the symbols in `instruments`, refreshed in the background.
    pub feed: Arc<dyn PriceFeed>,
    /// The venue's rules for every symbol it lists, converted to base units (the paper venue
    /// counts in base units: steps and minimums are multiplied by the contract size).
    pub instruments: Vec<Instrument>,
    /// Symbols the venue does not list (left out: they cannot be traded on paper either).
    pub unknown: Vec<(Symbol, String)>,
}

/// Connects to `venue`'s public endpoints at `base_url` without keys (no private stream) and
/// reads the rules and prices of `symbols`. A symbol the venue does not list is reported in
/// [`PublicMarket::unknown`] instead of failing the rest; a venue that cannot be read at all
/// fails (the caller retries).
pub async fn public_market(
    venue: VenueId,
    base_url: &str,
    symbols: &[Symbol],
    every: Duration,
) -> Result<PublicMarket, VenueError> {
    let source = crate::connect::public_market(venue, base_url).await?.venue;
    let mut instruments = Vec::new();
    let mut unknown = Vec::new();
    match source.instruments(symbols).await {
        Ok(all) => instruments = all,
        Err(e) if is_transient(&e) => return Err(e),
        // One unlisted symbol fails the batch on most adapters: ask one by one.
        Err(_) => {
            for s in symbols {
                match source.instruments(std::slice::from_ref(s)).await {
                    Ok(mut one) => instruments.append(&mut one),
                    Err(e) if is_transient(&e) => return Err(e),
                    Err(e) => unknown.push((s.clone(), e.to_string())),
                }
            }
        }
    }
    let instruments: Vec<Instrument> = instruments
        .into_iter()
        .map(Instrument::in_base_units)
        .collect();
    let priced: Vec<Symbol> = instruments.iter().map(|i| i.symbol.clone()).collect();
    let feed = LivePriceFeed::start(source, priced, every).await?;
    Ok(PublicMarket {
        feed: Arc::new(feed),
        instruments,
        unknown,
    })
}

/// Errors worth retrying later rather than treating as "this symbol is not listed".
pub fn is_transient(e: &VenueError) -> bool {
    matches!(
        e.kind,
        VenueErrorKind::Retryable | VenueErrorKind::RateLimited | VenueErrorKind::Ambiguous
    )
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;

    #[test]
    fn contracts_become_base_units() {
        let mut i = Instrument::linear(
            Symbol::new("BTCUSDT").unwrap_or_else(|_| unreachable!()),
            Decimal::ONE,
            Decimal::new(1, 1),
        );
        i.contract_size = Decimal::new(1, 3);
        i.min_qty = Decimal::from(2);
        i.max_market_qty = Some(Decimal::from(1000));
        let b = i.in_base_units();
        assert_eq!(b.contract_size, Decimal::ONE);
        assert_eq!(b.qty_step, Decimal::new(1, 3));
        assert_eq!(b.min_qty, Decimal::new(2, 3));
        assert_eq!(b.max_market_qty, Some(Decimal::ONE));
    }
}
