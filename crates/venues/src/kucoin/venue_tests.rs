//! Unit tests of the KuCoin adapter's order-size encoding.

use rust_decimal_macros::dec;

use super::*;
use crate::checks::to_venue_units;

fn xbt() -> Instrument {
    Instrument {
        venue_symbol: "XBTUSDTM".into(),
        contract_size: dec!(0.001),
        ..Instrument::linear(
            Symbol::new("BTCUSDT").unwrap_or_else(|e| panic!("{e}")),
            dec!(1),
            dec!(0.1),
        )
    }
}

#[test]
fn lot_counts_go_out_as_whole_json_numbers() {
    let i = xbt();
    assert_eq!(
        to_venue_units(VENUE, &i, dec!(0.012), "lots")
            .and_then(|l| whole(l, "size"))
            .ok(),
        Some(json!(12))
    );
    assert_eq!(whole(dec!(12), "size").ok(), Some(json!(12)));
    assert!(whole(dec!(12.5), "size").is_err());
}
