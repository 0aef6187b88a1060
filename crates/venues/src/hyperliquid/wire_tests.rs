use rust_decimal_macros::dec;

use super::*;

#[test]
fn wire_strings_drop_trailing_zeros_and_refuse_rounding() {
    // The SDK's float_to_wire on the values its tests and examples use.
    assert_eq!(decimal_to_wire(dec!(1670.1)), Ok("1670.1".into()));
    assert_eq!(decimal_to_wire(dec!(0.0147)), Ok("0.0147".into()));
    assert_eq!(decimal_to_wire(dec!(100)), Ok("100".into()));
    assert_eq!(decimal_to_wire(dec!(100.000)), Ok("100".into()));
    assert_eq!(decimal_to_wire(dec!(1.23450000)), Ok("1.2345".into()));
    assert_eq!(decimal_to_wire(dec!(0.00000001)), Ok("0.00000001".into()));
    assert_eq!(decimal_to_wire(dec!(-0.0)), Ok("0".into()));
    assert_eq!(decimal_to_wire(dec!(-2.50)), Ok("-2.5".into()));
    assert_eq!(
        decimal_to_wire(dec!(0.000000001)),
        Err(WireError::TooManyDecimals {
            value: dec!(0.000000001)
        })
    );
    // Trailing zeros beyond 8 decimals are not rounding.
    assert_eq!(decimal_to_wire(dec!(1.0000000000)), Ok("1".into()));
}

#[test]
fn sizes_round_toward_zero_at_sz_decimals() {
    assert_eq!(round_size(dec!(0.01479), 4), dec!(0.0147));
    assert_eq!(round_size(dec!(1.99), 0), dec!(1));
    assert_eq!(round_size(dec!(-1.99), 1), dec!(-1.9));
    assert_eq!(round_size(dec!(3.50), 2), dec!(3.5));
}

#[test]
fn prices_keep_five_significant_figures_and_six_minus_sz_decimals() {
    // BTC (szDecimals 5): at most 1 decimal, 5 figures.
    assert_eq!(round_price(dec!(1234.5678), 5, true), Ok(dec!(1234.5)));
    assert_eq!(round_price(dec!(1234.5678), 5, false), Ok(dec!(1234.6)));
    // Integer prices keep every digit whatever their figures.
    assert_eq!(round_price(dec!(123456), 5, true), Ok(dec!(123456)));
    assert_eq!(round_price(dec!(123456.7), 5, true), Ok(dec!(123456)));
    assert_eq!(round_price(dec!(123456.7), 5, false), Ok(dec!(123457)));
    // ETH (szDecimals 4): 2 decimals allowed, but 5 figures win at 1670.12.
    assert_eq!(round_price(dec!(1670.129), 4, true), Ok(dec!(1670.1)));
    assert_eq!(round_price(dec!(16.70129), 4, true), Ok(dec!(16.7)));
    assert_eq!(round_price(dec!(16.70129), 2, true), Ok(dec!(16.701)));
    // Under 1: leading zeros are free, the decimals limit still holds.
    assert_eq!(round_price(dec!(0.0123456), 0, true), Ok(dec!(0.012345)));
    assert_eq!(round_price(dec!(0.0123456), 0, false), Ok(dec!(0.012346)));
    assert_eq!(round_price(dec!(0.0123456), 2, true), Ok(dec!(0.0123)));
    // Rounding up may carry into a new digit.
    assert_eq!(round_price(dec!(99999.5), 0, false), Ok(dec!(100000)));
    assert_eq!(round_price(dec!(9.99995), 1, false), Ok(dec!(10)));
    // Already valid: unchanged.
    assert_eq!(round_price(dec!(1670.1), 4, true), Ok(dec!(1670.1)));
}

#[test]
fn impossible_prices_are_refused() {
    assert!(matches!(
        round_price(dec!(0), 2, true),
        Err(WireError::NotPositive { .. })
    ));
    assert!(matches!(
        round_price(dec!(0.0000001), 0, true),
        Err(WireError::NotPositive { .. })
    ));
    assert_eq!(
        round_price(dec!(10), 7, true),
        Err(WireError::BadSzDecimals(7))
    );
}

#[test]
fn market_orders_are_limits_at_the_slippage_and_never_beyond_it() {
    // 5 % from a 2000 mark, ETH: buy at 2100, sell at 1900.
    assert_eq!(
        slippage_price(dec!(2000), dec!(0.05), 4, true),
        Ok(dec!(2100))
    );
    assert_eq!(
        slippage_price(dec!(2000), dec!(0.05), 4, false),
        Ok(dec!(1900))
    );
    // 1 % from 1234.567: 1246.91267 buy → 1246.9 (down), 1222.22133 sell → 1222.3 (up).
    let buy = slippage_price(dec!(1234.567), dec!(0.01), 4, true).unwrap_or_default();
    let sell = slippage_price(dec!(1234.567), dec!(0.01), 4, false).unwrap_or_default();
    assert_eq!((buy, sell), (dec!(1246.9), dec!(1222.3)));
    assert!(buy <= dec!(1234.567) * dec!(1.01));
    assert!(sell >= dec!(1234.567) * dec!(0.99));
}

#[test]
fn cloids_are_deterministic_128_bit_hex() {
    let a = cloid_for("te3f9a0c1d2b4e5f60718293a4-0");
    assert_eq!(a, cloid_for("te3f9a0c1d2b4e5f60718293a4-0"));
    assert_ne!(a, cloid_for("te3f9a0c1d2b4e5f60718293a4-1"));
    assert!(is_cloid(&a), "{a}");
    assert_eq!(a.len(), 34);
    assert_eq!(a, a.to_lowercase());
    // The first 16 bytes of keccak-256 of the id.
    let hash = keccak256(b"te3f9a0c1d2b4e5f60718293a4-0");
    assert_eq!(a, format!("0x{}", hex::encode(&hash[..16])));
    assert!(!is_cloid("0x1234"));
    assert!(!is_cloid("00000000000000000000000000000001"));
    assert!(is_cloid("0x00000000000000000000000000000001"));
}
