#![allow(clippy::unwrap_used)]
//! Golden tests: the strategy indicators against TA-Lib's values for the same series, computed
//! by `scripts/indicators_reference.py` and committed as `tests/golden/indicators.csv`.

use tradeengine_signals::strategy::indicators::{
    WaveTrendParams, atr, ema, mfi, rsi, sma, stoch_rsi, wavetrend,
};

struct Golden {
    header: Vec<String>,
    rows: Vec<Vec<f64>>,
}

impl Golden {
    fn load() -> Self {
        let text = include_str!("golden/indicators.csv");
        let mut lines = text.lines();
        let header: Vec<String> = lines
            .next()
            .unwrap()
            .split(',')
            .map(str::to_string)
            .collect();
        let rows = lines
            .map(|l| {
                l.split(',')
                    .map(|f| {
                        if f.is_empty() {
                            f64::NAN
                        } else {
                            f.parse().unwrap()
                        }
                    })
                    .collect()
            })
            .collect();
        Self { header, rows }
    }

    fn col(&self, name: &str) -> Vec<f64> {
        let i = self.header.iter().position(|h| h == name).unwrap();
        self.rows.iter().map(|r| r[i]).collect()
    }
}

/// Same definedness bar by bar, and values within 1e-9 relative (TA-Lib sums in another order).
fn assert_matches(name: &str, ours: &[f64], theirs: &[f64]) {
    assert_eq!(ours.len(), theirs.len(), "{name}: length");
    let mut compared = 0;
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        assert_eq!(
            a.is_nan(),
            b.is_nan(),
            "{name}[{i}]: ours {a}, TA-Lib {b} (definedness differs)"
        );
        if b.is_nan() {
            continue;
        }
        let tol = 1e-9 * b.abs().max(1.0);
        assert!((a - b).abs() <= tol, "{name}[{i}]: ours {a}, TA-Lib {b}");
        compared += 1;
    }
    assert!(compared > 400, "{name}: only {compared} defined values");
}

#[test]
fn moving_averages_match_talib() {
    let g = Golden::load();
    let c = g.col("close");
    assert_matches("sma10", &sma(&c, 10), &g.col("sma10"));
    assert_matches("ema10", &ema(&c, 10), &g.col("ema10"));
}

#[test]
fn oscillators_match_talib() {
    let g = Golden::load();
    let (h, l, c, v) = (g.col("high"), g.col("low"), g.col("close"), g.col("volume"));
    assert_matches("rsi14", &rsi(&c, 14), &g.col("rsi14"));
    assert_matches("mfi14", &mfi(&h, &l, &c, &v, 14), &g.col("mfi14"));
    assert_matches("atr14", &atr(&h, &l, &c, 14), &g.col("atr14"));
    let (k, d) = stoch_rsi(&c, 14, 14, 3, 3);
    // TA-Lib starts %K where %D starts (one lookback for both outputs); ours, like
    // TradingView's, starts %K `d − 1 = 2` bars earlier. Same values from there on.
    let theirs = g.col("stoch_k");
    let first = |v: &[f64]| v.iter().position(|x| !x.is_nan()).unwrap();
    assert_eq!(first(&k) + 2, first(&theirs));
    let masked: Vec<f64> = k
        .iter()
        .zip(&theirs)
        .map(|(a, b)| if b.is_nan() { f64::NAN } else { *a })
        .collect();
    assert_matches("stoch_k", &masked, &theirs);
    assert_matches("stoch_d", &d, &g.col("stoch_d"));
}

#[test]
fn wavetrend_and_money_flow_match_talib_composition() {
    let g = Golden::load();
    let (o, h, l, c) = (g.col("open"), g.col("high"), g.col("low"), g.col("close"));
    let hlc3: Vec<f64> = (0..c.len()).map(|i| (h[i] + l[i] + c[i]) / 3.0).collect();
    let wt = wavetrend(
        &hlc3,
        WaveTrendParams {
            channel: 9,
            average: 12,
            ma: 3,
        },
    );
    assert_matches("wt1", &wt.wt1, &g.col("wt1"));
    assert_matches("wt2", &wt.wt2, &g.col("wt2"));
    let raw: Vec<f64> = (0..c.len())
        .map(|i| {
            let r = h[i] - l[i];
            if r > 0.0 {
                (c[i] - o[i]) / r * 150.0
            } else {
                0.0
            }
        })
        .collect();
    assert_matches("money_flow", &sma(&raw, 60), &g.col("money_flow"));
}
