//! Which account a source's candles come from (ATR stops, strategies), and the load-time check of
//! a source's `stops`, which needs it: both read only the configuration.

use rust_decimal::Decimal;
use tradeengine_venues::market::KlineInterval;

use super::{AccountConfig, Config, StopsConfig, VenueKind};

/// The account named `name` (else the first paper account, else the first account) and, for a
/// live venue, the kline interval `interval_secs` must be. Checked at config load and start.
pub fn candle_account<'a>(
    config: &'a Config,
    name: Option<&str>,
    interval_secs: u64,
) -> Result<&'a AccountConfig, String> {
    let account = match name {
        Some(n) => config
            .accounts
            .iter()
            .find(|a| a.name == n)
            .ok_or_else(|| format!("account {n:?} is not configured"))?,
        None => config
            .accounts
            .iter()
            .find(|a| a.venue == VenueKind::Paper)
            .or_else(|| config.accounts.first())
            .ok_or("no account to read candles from")?,
    };
    if account.venue != VenueKind::Paper && KlineInterval::from_secs(interval_secs).is_none() {
        let names: Vec<&str> = KlineInterval::ALL.iter().map(|i| i.as_str()).collect();
        return Err(format!(
            "account {} is a {} account: its candles come from the venue's klines, which have \
             no {interval_secs} s interval; use one of {}",
            account.name,
            account.venue.as_str(),
            names.join(", ")
        ));
    }
    Ok(account)
}

/// Checks a source's `stops` (see [`crate::stops`]) at config load; `Err((field, reason))`.
pub fn validate_stops(config: &Config, stops: &StopsConfig) -> Result<(), (String, String)> {
    let StopsConfig::Atr {
        period,
        stop_multiple,
        take_multiple,
        interval,
        account,
    } = stops
    else {
        return Ok(());
    };
    let bad = |field: &str, reason: String| (field.to_string(), reason);
    if !(2..=500).contains(period) {
        return Err(bad(
            "period",
            format!("{period} must be between 2 and 500 candles"),
        ));
    }
    for (field, m) in [
        ("stop_multiple", stop_multiple),
        ("take_multiple", take_multiple),
    ] {
        if *m <= Decimal::ZERO || *m > Decimal::from(50) {
            return Err(bad(field, format!("{m} must be above 0 and at most 50")));
        }
    }
    let interval = KlineInterval::parse(interval).map_err(|e| bad("interval", e))?;
    candle_account(config, account.as_deref(), interval.minutes() * 60)
        .map(|_| ())
        .map_err(|e| bad("account", e))
}
