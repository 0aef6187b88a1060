//! The self-test's entry to a venue: connecting a [`Probe`] through the venue's registry row,
//! and the clock skew the venue tolerates.

use tradeengine_model::VenueId;

use crate::AdapterConfig;
use crate::VenueError;
use crate::registry::ClockTolerance;
pub use crate::venue_probe::Probe;

/// How far a signed request's timestamp may be from the venue's clock before it is refused
/// (the registry row's [`ClockTolerance`]).
pub fn clock_tolerance_ms(venue: VenueId, recv_window_ms: u64) -> u64 {
    match crate::registry::entry(venue).clock_tolerance {
        ClockTolerance::ReceiveWindow => recv_window_ms,
        ClockTolerance::Fixed { ms } => ms,
    }
}

/// Connects exactly as [`crate::connect::connect`] (the withdrawal and one-way checks and the
/// private stream included), then asks the key's withdrawal permission where the venue reports
/// it, for the report (connect already refused an enabled one). The per-venue part is the
/// registry row's `probe` ([`crate::registry::VenueEntry`]).
pub async fn connect_probe(venue: VenueId, config: AdapterConfig) -> Result<Probe, VenueError> {
    (crate::registry::entry(venue).probe)(config).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_is_the_receive_window_where_the_client_sets_it() {
        assert_eq!(clock_tolerance_ms(VenueId::Bybit, 5000), 5000);
        assert_eq!(clock_tolerance_ms(VenueId::Binance, 10_000), 10_000);
        assert_eq!(clock_tolerance_ms(VenueId::Mexc, 7000), 7000);
        assert_eq!(clock_tolerance_ms(VenueId::Kucoin, 60_000), 5000);
        assert_eq!(clock_tolerance_ms(VenueId::Blofin, 5000), 60_000);
    }
}
