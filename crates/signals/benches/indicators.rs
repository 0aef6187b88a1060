//! Indicators over 100,000 candles: each indicator alone, both Ciphers together, the
//! last-candle snapshot a decision needs, and an `f64` vs `Decimal` EMA to show why indicator
//! math is `f64`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;
use tradeengine_signals::strategy::cipher::{compute, market_state};
use tradeengine_signals::strategy::indicators::{
    WaveTrendParams, atr, ema, mfi, rsi, sma, stoch_rsi, wavetrend,
};
use tradeengine_signals::strategy::{Candle, CipherAParams, CipherBParams};

const N: usize = 100_000;

/// A deterministic walk (SplitMix64), with ranges and volumes.
fn candles(n: usize) -> Vec<Candle> {
    let mut s: u64 = 7;
    let mut next = || {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut price = 100.0;
    (0..n)
        .map(|i| {
            let open = price;
            price *= 1.0 + (next() - 0.5) * 0.01;
            Candle {
                open_ms: i as i64 * 60_000,
                open,
                high: open.max(price) * (1.0 + next() * 0.002),
                low: open.min(price) * (1.0 - next() * 0.002),
                close: price,
                volume: 1.0 + next() * 100.0,
            }
        })
        .collect()
}

/// The same EMA in `Decimal`, for the comparison only.
fn ema_decimal(x: &[Decimal], n: usize) -> Vec<Decimal> {
    let alpha = Decimal::TWO / Decimal::from(n + 1);
    let mut out = Vec::with_capacity(x.len());
    let mut prev = x[..n].iter().sum::<Decimal>() / Decimal::from(n);
    for v in &x[n..] {
        prev += alpha * (*v - prev);
        out.push(prev);
    }
    out
}

fn bench(c: &mut Criterion) {
    let cs = candles(N);
    let h: Vec<f64> = cs.iter().map(|c| c.high).collect();
    let l: Vec<f64> = cs.iter().map(|c| c.low).collect();
    let cl: Vec<f64> = cs.iter().map(|c| c.close).collect();
    let v: Vec<f64> = cs.iter().map(|c| c.volume).collect();
    let cd: Vec<Decimal> = cl.iter().filter_map(|x| Decimal::from_f64(*x)).collect();
    let mut g = c.benchmark_group("indicators_100k");
    g.sample_size(20);
    g.bench_function("sma20", |b| b.iter(|| sma(black_box(&cl), 20)));
    g.bench_function("ema20_f64", |b| b.iter(|| ema(black_box(&cl), 20)));
    g.bench_function("ema20_decimal", |b| {
        b.iter(|| ema_decimal(black_box(&cd), 20))
    });
    g.bench_function("rsi14", |b| b.iter(|| rsi(black_box(&cl), 14)));
    g.bench_function("mfi14", |b| b.iter(|| mfi(&h, &l, black_box(&cl), &v, 14)));
    g.bench_function("atr14", |b| b.iter(|| atr(&h, &l, black_box(&cl), 14)));
    g.bench_function("stoch_rsi", |b| {
        b.iter(|| stoch_rsi(black_box(&cl), 14, 14, 3, 3))
    });
    let wt = WaveTrendParams {
        channel: 9,
        average: 12,
        ma: 3,
    };
    g.bench_function("wavetrend", |b| b.iter(|| wavetrend(black_box(&cl), wt)));
    let (a, bp) = (CipherAParams::default(), CipherBParams::default());
    g.bench_function("cipher_a_and_b", |b| {
        b.iter(|| compute(black_box(&cs), &a, &bp))
    });
    g.finish();
    // What a decision costs per candle: the snapshot over the default 200-candle window.
    let window = &cs[..200];
    c.bench_function("market_state_200", |b| {
        b.iter(|| market_state("BTCUSDT", 60, black_box(window), &a, &bp))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
