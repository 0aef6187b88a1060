//! One symbol that cannot be priced, described or sized must not stop an account: the demo
//! configuration plus a `DOGEUSDT` the paper feed has no price for used to fail every cycle
//! (`no price for DOGEUSDT`) and send nothing for BTCUSDT. Here a batch that fails is asked
//! again symbol by symbol, and only the symbols that still fail are left out, each with its
//! reason (the cycle reports them in `symbol_errors`). A venue that fails for every symbol, or
//! that is down or rate limiting, still fails the cycle as a whole.

use std::collections::BTreeMap;

use tradeengine_core::blend::BlendPolicy;
use tradeengine_core::size::{AccountSizing, SizeInput, SizedTarget, account_targets};
use tradeengine_model::{Instrument, Price, Symbol};
use tradeengine_venues::{Venue, VenueError, VenueErrorKind};

use super::outcome::SkipReason;

/// Symbols left out of this cycle, with why.
pub type Skipped = Vec<(Symbol, SkipReason)>;

/// A failure that says nothing about a single symbol: asking per symbol would only multiply
/// requests to a venue that is down or limiting us.
fn venue_wide(e: &VenueError) -> bool {
    matches!(
        e.kind,
        VenueErrorKind::RateLimited | VenueErrorKind::Auth | VenueErrorKind::Ambiguous
    ) || (e.kind == VenueErrorKind::Retryable && e.code.is_none())
}

/// Prices of `symbols`; the ones that cannot be priced are returned apart.
pub async fn prices(
    venue: &dyn Venue,
    symbols: &[Symbol],
) -> Result<(BTreeMap<Symbol, Price>, Skipped), VenueError> {
    let batch_error = match venue.prices(symbols).await {
        Ok(p) => {
            let skipped = symbols
                .iter()
                .filter(|s| !p.contains_key(*s))
                .map(|s| (s.clone(), SkipReason::NoPrice { detail: None }))
                .collect();
            return Ok((p, skipped));
        }
        Err(e) if venue_wide(&e) || symbols.len() <= 1 => return Err(e),
        Err(e) => e,
    };
    let mut out = BTreeMap::new();
    let mut skipped = Vec::new();
    for s in symbols {
        match venue.prices(std::slice::from_ref(s)).await {
            Ok(p) => match p.get(s) {
                Some(price) => {
                    out.insert(s.clone(), *price);
                }
                None => skipped.push((s.clone(), SkipReason::NoPrice { detail: None })),
            },
            Err(e) if venue_wide(&e) => return Err(e),
            Err(e) => skipped.push((
                s.clone(),
                SkipReason::NoPrice {
                    detail: Some(e.to_string()),
                },
            )),
        }
    }
    if out.is_empty() {
        return Err(batch_error);
    }
    Ok((out, skipped))
}

/// Instruments of `missing` symbols; the ones the venue cannot describe are returned apart.
pub async fn instruments(
    venue: &dyn Venue,
    missing: &[Symbol],
) -> Result<(Vec<Instrument>, Skipped), VenueError> {
    match venue.instruments(missing).await {
        Ok(i) => return Ok((i, Vec::new())),
        Err(e) if venue_wide(&e) => return Err(e),
        Err(_) => {}
    }
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for s in missing {
        match venue.instruments(std::slice::from_ref(s)).await {
            Ok(mut i) => out.append(&mut i),
            Err(e) if venue_wide(&e) => return Err(e),
            Err(e) => skipped.push((
                s.clone(),
                SkipReason::NoInstrument {
                    detail: Some(e.to_string()),
                },
            )),
        }
    }
    Ok((out, skipped))
}

/// Sizes every input together; if that fails, finds the inputs that fail alone and sizes the
/// rest together (the account-wide budget still applies to them).
pub fn size(
    inputs: &[SizeInput<'_>],
    sizing: &AccountSizing,
    policy: &BlendPolicy,
) -> Result<(Vec<SizedTarget>, Skipped), tradeengine_core::CoreError> {
    let error = match account_targets(inputs, sizing, policy) {
        Ok(t) => return Ok((t, Vec::new())),
        Err(e) => e,
    };
    let mut good = Vec::new();
    let mut skipped = Vec::new();
    for input in inputs {
        match account_targets(std::slice::from_ref(input), sizing, policy) {
            Ok(_) => good.push(*input),
            Err(e) => skipped.push((
                input.blend.symbol.clone(),
                SkipReason::CannotSize(e.to_string()),
            )),
        }
    }
    if skipped.is_empty() {
        return Err(error);
    }
    let targets = account_targets(&good, sizing, policy)?;
    Ok((targets, skipped))
}
