#![allow(clippy::unwrap_used)]
//! Property tests: indicator bounds on arbitrary candle series, and the snapshot never panics.

use proptest::prelude::*;
use tradeengine_signals::strategy::cipher::{self, MIN_CANDLES};
use tradeengine_signals::strategy::indicators::{atr, mfi, rsi, stoch_rsi};
use tradeengine_signals::strategy::{Candle, CandleWindow, CipherAParams, CipherBParams};

/// Random but sane candles: a walk of closes with ranges and volumes (sometimes zero).
fn candles() -> impl Strategy<Value = Vec<Candle>> {
    prop::collection::vec(
        (-0.05f64..0.05, 0.0f64..0.02, 0.0f64..0.02, 0.0f64..100.0),
        1..300,
    )
    .prop_map(|steps| {
        let mut price = 100.0;
        steps
            .into_iter()
            .enumerate()
            .map(|(i, (ret, up, down, vol))| {
                let open = price;
                price *= 1.0 + ret;
                let close = price;
                Candle {
                    open_ms: i as i64 * 60_000,
                    open,
                    high: open.max(close) * (1.0 + up),
                    low: open.min(close) * (1.0 - down),
                    close,
                    volume: if vol < 10.0 { 0.0 } else { vol },
                }
            })
            .collect()
    })
}

fn in_0_100(v: &[f64]) -> bool {
    v.iter().all(|x| x.is_nan() || (0.0..=100.0).contains(x))
}

proptest! {
    #[test]
    fn oscillators_stay_in_bounds(cs in candles(), n in 1usize..30) {
        let h: Vec<f64> = cs.iter().map(|c| c.high).collect();
        let l: Vec<f64> = cs.iter().map(|c| c.low).collect();
        let c: Vec<f64> = cs.iter().map(|c| c.close).collect();
        let v: Vec<f64> = cs.iter().map(|c| c.volume).collect();
        prop_assert!(in_0_100(&rsi(&c, n)), "rsi {:?}", rsi(&c, n));
        prop_assert!(in_0_100(&mfi(&h, &l, &c, &v, n)), "mfi");
        let (k, d) = stoch_rsi(&c, n, n, 3, 3);
        prop_assert!(in_0_100(&k) && in_0_100(&d), "stoch {:?} {:?}", k, d);
        prop_assert!(atr(&h, &l, &c, n).iter().all(|x| x.is_nan() || *x >= 0.0));
    }

    #[test]
    fn snapshot_is_total_and_finite(cs in candles()) {
        let r = cipher::market_state("BTCUSDT", 60, &cs, &CipherAParams::default(), &CipherBParams::default());
        match r {
            Ok(s) => {
                prop_assert!(cs.len() >= MIN_CANDLES);
                prop_assert!(s.wave.is_finite() && s.mfi.is_finite() && s.atr >= 0.0);
                prop_assert!((0.0..=100.0).contains(&s.rsi));
                prop_assert!([-1, 0, 1].contains(&s.trend_dot));
            }
            Err(_) => prop_assert!(cs.len() < MIN_CANDLES + 40),
        }
    }

    #[test]
    fn window_is_always_strictly_ordered_and_bounded(
        times in prop::collection::vec(0i64..200, 0..300),
        cap in 1usize..50,
    ) {
        let mut w = CandleWindow::new(60_000, cap);
        for t in times {
            w.push(Candle { open_ms: t * 60_000, open: 1.0, high: 1.0, low: 1.0, close: 1.0, volume: 0.0 });
        }
        prop_assert!(w.len() <= cap);
        let ts: Vec<i64> = w.iter().map(|c| c.open_ms).collect();
        prop_assert!(ts.windows(2).all(|p| p[0] < p[1]));
    }
}
