//! `tradeengine config check --online`: asks each exchange account's venue, on its public
//! endpoints and without keys, whether it lists every configured symbol, so a typo in a symbol
//! (or a pair the venue does not trade) shows before `run`, not as orders refused later.
//!
//! The venue is reached where the account would reach it in its mode
//! ([`super::preflight::account_endpoint`]), through the same adapter `run` uses, so symbol
//! naming (`XBTUSDTM` on KuCoin, `BTC_USDT` on MEXC) is the adapter's own.

use tradeengine_model::Symbol;
use tradeengine_venues::connect_public::is_transient;

use super::{Config, ConfigError, VenueKind};

/// Every configured symbol some exchange account's venue does not list, and every venue that
/// could not be reached, each as a problem naming the account.
pub async fn venue_problems(config: &Config) -> Vec<ConfigError> {
    let mut problems = Vec::new();
    let symbols: Vec<Symbol> = config.symbols.iter().map(|s| s.symbol.clone()).collect();
    for (i, a) in config.accounts.iter().enumerate() {
        let VenueKind::Exchange(venue) = a.venue else {
            continue;
        };
        let key = |field: &str| format!("accounts[{i}].{field} (account {})", a.name);
        let problem = |key: String, reason: String| ConfigError {
            file: None,
            key,
            reason,
        };
        // A host the start refuses is reported by the offline checks already.
        let Ok(base) = super::preflight::account_endpoint(config, a) else {
            continue;
        };
        let market = match tradeengine_venues::connect::public_market(venue, &base).await {
            Ok(m) => m,
            Err(e) => {
                problems.push(problem(
                    key("base_url"),
                    format!("cannot read {venue}'s public instruments at {base}: {e}"),
                ));
                continue;
            }
        };
        for s in &symbols {
            match market.venue.instruments(std::slice::from_ref(s)).await {
                Ok(found) if found.iter().any(|i| &i.symbol == s) => {}
                Ok(_) => problems.push(problem(
                    "symbols".into(),
                    format!(
                        "{s} is not listed on {venue} ({base}), where account {} trades",
                        a.name
                    ),
                )),
                Err(e) if is_transient(&e) => problems.push(problem(
                    key("base_url"),
                    format!("cannot read {venue}'s instrument {s} at {base}: {e}"),
                )),
                Err(e) => problems.push(problem(
                    "symbols".into(),
                    format!(
                        "{s} is not listed on {venue} ({base}), where account {} trades: {e}",
                        a.name
                    ),
                )),
            }
        }
    }
    problems
}
