//! Technical indicators over candle series: EMA, SMA, RSI, MFI, Stochastic RSI, ATR, WaveTrend.
//!
//! **Why `f64`.** Indicators only rank and compare market states; none of their values is a
//! price, a quantity or a balance, and none reaches the order path as a number: a decision
//! becomes a `Decimal` account fraction and `Decimal` protective fractions at the signal boundary
//! (see [`super::decision`]). `f64` keeps 100,000-candle runs in the low milliseconds
//! (BENCHMARKS.md) where `Decimal` exponentials would cost ~50×.
//!
//! **Conventions** (the same as TA-Lib, which the golden tests compare against):
//! - every output has the input's length; bars before an indicator has enough data are `NaN`;
//! - leading `NaN`s in an input are skipped: an indicator of an indicator starts where its input
//!   starts (WaveTrend is EMAs of EMAs);
//! - EMA is seeded with the SMA of its first `n` values, then `α = 2 / (n + 1)`;
//! - RSI and ATR use Wilder's smoothing (`α = 1 / n`) seeded with a plain mean.
//!
//! Every function is pure and `O(len)`.

/// Index of the first non-NaN value, or `len` when there is none.
fn first_valid(x: &[f64]) -> usize {
    x.iter().position(|v| !v.is_nan()).unwrap_or(x.len())
}

/// Simple moving average over `n` bars (`n ≥ 1`); `NaN` until `n` valid values were seen.
/// A `NaN` after the start poisons the windows containing it, as it should.
pub fn sma(x: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; x.len()];
    let start = first_valid(x);
    if n == 0 || x.len() < start + n {
        return out;
    }
    let mut sum: f64 = x[start..start + n].iter().sum();
    out[start + n - 1] = sum / n as f64;
    for i in start + n..x.len() {
        sum += x[i] - x[i - n];
        out[i] = sum / n as f64;
    }
    out
}

/// Exponential moving average, `α = 2 / (n + 1)`, seeded with the SMA of the first `n` values.
pub fn ema(x: &[f64], n: usize) -> Vec<f64> {
    let alpha = 2.0 / (n as f64 + 1.0);
    smoothed(x, n, alpha)
}

/// Wilder's moving average (RMA), `α = 1 / n`, seeded with the SMA of the first `n` values.
pub fn rma(x: &[f64], n: usize) -> Vec<f64> {
    smoothed(x, n, 1.0 / n as f64)
}

fn smoothed(x: &[f64], n: usize, alpha: f64) -> Vec<f64> {
    let mut out = vec![f64::NAN; x.len()];
    let start = first_valid(x);
    if n == 0 || x.len() < start + n {
        return out;
    }
    let mut prev: f64 = x[start..start + n].iter().sum::<f64>() / n as f64;
    out[start + n - 1] = prev;
    for i in start + n..x.len() {
        prev += alpha * (x[i] - prev);
        out[i] = prev;
    }
    out
}

/// Relative Strength Index (Wilder), in `[0, 100]`. The first value is at bar `n` (it needs `n`
/// changes). A window with no movement at all reads 50 (neither side dominates); TA-Lib prints 0
/// there, which would read as "maximally oversold" on a halted market.
pub fn rsi(close: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; close.len()];
    let start = first_valid(close);
    if n == 0 || close.len() <= start + n {
        return out;
    }
    let (mut gain, mut loss) = (0.0, 0.0);
    for i in start + 1..=start + n {
        let d = close[i] - close[i - 1];
        if d > 0.0 {
            gain += d;
        } else {
            loss -= d;
        }
    }
    let nf = n as f64;
    gain /= nf;
    loss /= nf;
    out[start + n] = rsi_value(gain, loss);
    for i in start + n + 1..close.len() {
        let d = close[i] - close[i - 1];
        gain = (gain * (nf - 1.0) + d.max(0.0)) / nf;
        loss = (loss * (nf - 1.0) + (-d).max(0.0)) / nf;
        out[i] = rsi_value(gain, loss);
    }
    out
}

fn rsi_value(gain: f64, loss: f64) -> f64 {
    let total = gain + loss;
    if total <= 0.0 {
        50.0
    } else {
        (100.0 * gain / total).clamp(0.0, 100.0)
    }
}

/// Money Flow Index over `n` bars, in `[0, 100]`: RSI's idea on typical price × volume. The first
/// value is at bar `n`. With no money flow in the window (zero volume, as in a paper feed built
/// from prices only) it reads 50, the neutral value.
pub fn mfi(high: &[f64], low: &[f64], close: &[f64], volume: &[f64], n: usize) -> Vec<f64> {
    let len = close.len().min(high.len()).min(low.len()).min(volume.len());
    let mut out = vec![f64::NAN; len];
    if n == 0 || len <= n {
        return out;
    }
    let tp: Vec<f64> = (0..len)
        .map(|i| (high[i] + low[i] + close[i]) / 3.0)
        .collect();
    // Signed flow of bar i (i ≥ 1): positive when the typical price rose.
    let flow = |i: usize| -> (f64, f64) {
        let f = tp[i] * volume[i];
        if tp[i] > tp[i - 1] {
            (f, 0.0)
        } else if tp[i] < tp[i - 1] {
            (0.0, f)
        } else {
            (0.0, 0.0)
        }
    };
    let (mut pos, mut neg) = (0.0, 0.0);
    for i in 1..=n {
        let (p, q) = flow(i);
        pos += p;
        neg += q;
    }
    out[n] = mfi_value(pos, neg);
    for (i, slot) in out.iter_mut().enumerate().skip(n + 1) {
        let (p, q) = flow(i);
        let (op, oq) = flow(i - n);
        pos += p - op;
        neg += q - oq;
        *slot = mfi_value(pos, neg);
    }
    out
}

fn mfi_value(pos: f64, neg: f64) -> f64 {
    // Running sums can drift a hair below zero after subtracting what they added.
    let (pos, neg) = (pos.max(0.0), neg.max(0.0));
    let total = pos + neg;
    if total <= f64::EPSILON * 16.0 {
        50.0
    } else {
        (100.0 * pos / total).clamp(0.0, 100.0)
    }
}

/// Highest and lowest of the last `n` values ending at each bar (`NaN` until `n` valid values).
fn rolling_min_max(x: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut lo = vec![f64::NAN; x.len()];
    let mut hi = vec![f64::NAN; x.len()];
    let start = first_valid(x);
    if n == 0 || x.len() < start + n {
        return (lo, hi);
    }
    // Monotonic deques: O(len) whatever n is.
    let mut qmin: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
    let mut qmax: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
    for i in start..x.len() {
        while qmin.back().is_some_and(|&j| x[j] >= x[i]) {
            qmin.pop_back();
        }
        qmin.push_back(i);
        while qmax.back().is_some_and(|&j| x[j] <= x[i]) {
            qmax.pop_back();
        }
        qmax.push_back(i);
        while qmin.front().is_some_and(|&j| j + n <= i) {
            qmin.pop_front();
        }
        while qmax.front().is_some_and(|&j| j + n <= i) {
            qmax.pop_front();
        }
        if i + 1 >= start + n
            && let (Some(&a), Some(&b)) = (qmin.front(), qmax.front())
        {
            lo[i] = x[a];
            hi[i] = x[b];
        }
    }
    (lo, hi)
}

/// Stochastic RSI as TradingView (and VuManChu Cipher A) draw it: `rsi = RSI(close, rsi_len)`,
/// `%K = SMA(100 × (rsi − min) / (max − min) over stoch_len, k)`, `%D = SMA(%K, d)`. Both in
/// `[0, 100]`; a flat RSI window counts as 0, as TA-Lib's STOCH does.
pub fn stoch_rsi(
    close: &[f64],
    rsi_len: usize,
    stoch_len: usize,
    k: usize,
    d: usize,
) -> (Vec<f64>, Vec<f64>) {
    let r = rsi(close, rsi_len);
    let (lo, hi) = rolling_min_max(&r, stoch_len);
    let raw: Vec<f64> = (0..r.len())
        .map(|i| {
            let range = hi[i] - lo[i];
            if range.is_nan() {
                f64::NAN
            } else if range <= 0.0 {
                0.0
            } else {
                (100.0 * (r[i] - lo[i]) / range).clamp(0.0, 100.0)
            }
        })
        .collect();
    // A running sum can land a few ulps outside [0, 100]; the bound is part of the contract.
    let bound = |v: Vec<f64>| -> Vec<f64> { v.into_iter().map(|x| x.clamp(0.0, 100.0)).collect() };
    let k_line = bound(sma(&raw, k));
    let d_line = bound(sma(&k_line, d));
    (k_line, d_line)
}

/// True range per bar; bar 0 has no previous close and is `NaN` (TA-Lib's convention).
pub fn true_range(high: &[f64], low: &[f64], close: &[f64]) -> Vec<f64> {
    let len = close.len().min(high.len()).min(low.len());
    let mut out = vec![f64::NAN; len];
    for i in 1..len {
        let pc = close[i - 1];
        out[i] = (high[i] - low[i])
            .max((high[i] - pc).abs())
            .max((low[i] - pc).abs());
    }
    out
}

/// Average True Range (Wilder) over `n` bars; the first value is at bar `n`. Never negative.
pub fn atr(high: &[f64], low: &[f64], close: &[f64], n: usize) -> Vec<f64> {
    rma(&true_range(high, low, close), n)
}

/// WaveTrend (LazyBear), the oscillator under both Ciphers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaveTrendParams {
    /// Channel length: the EMA of the source and of its distance from that EMA.
    pub channel: usize,
    /// Average length: the EMA of the channel index, giving `wt1`.
    pub average: usize,
    /// Signal length: the SMA of `wt1`, giving `wt2`.
    pub ma: usize,
}

/// `wt1` (the fast wave) and `wt2` (its signal line), one value per bar.
#[derive(Debug, Clone, PartialEq)]
pub struct WaveTrend {
    pub wt1: Vec<f64>,
    pub wt2: Vec<f64>,
}

/// WaveTrend of `src` (VuManChu uses hlc3, and so do we; a close-based
/// WaveTrend drifts from the Pine original):
/// `esa = EMA(src, ch)`, `de = EMA(|src − esa|, ch)`, `ci = (src − esa) / (0.015 × de)`
/// (0 when `de = 0`), `wt1 = EMA(ci, avg)`, `wt2 = SMA(wt1, ma)`. Unitless, so its levels
/// (±53, ±60) mean the same on every symbol, unlike a price-unit "wave".
pub fn wavetrend(src: &[f64], p: WaveTrendParams) -> WaveTrend {
    let esa = ema(src, p.channel);
    let dist: Vec<f64> = src.iter().zip(&esa).map(|(s, e)| (s - e).abs()).collect();
    let de = ema(&dist, p.channel);
    let ci: Vec<f64> = (0..src.len())
        .map(|i| {
            if de[i].is_nan() {
                f64::NAN
            } else if de[i] == 0.0 {
                0.0
            } else {
                (src[i] - esa[i]) / (0.015 * de[i])
            }
        })
        .collect();
    let wt1 = ema(&ci, p.average);
    let wt2 = sma(&wt1, p.ma);
    WaveTrend { wt1, wt2 }
}

/// `a` crossed above `b` at bar `i` (was at or below, is now above).
pub fn crossed_over(a: &[f64], b: &[f64], i: usize) -> bool {
    i >= 1 && a[i - 1] <= b[i - 1] && a[i] > b[i]
}

/// `a` crossed below `b` at bar `i`.
pub fn crossed_under(a: &[f64], b: &[f64], i: usize) -> bool {
    i >= 1 && a[i - 1] >= b[i - 1] && a[i] < b[i]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn sma_by_hand() {
        let s = sma(&[1.0, 2.0, 3.0, 4.0, 5.0], 3);
        assert!(s[0].is_nan() && s[1].is_nan());
        assert_eq!(&s[2..], &[2.0, 3.0, 4.0]);
    }

    #[test]
    fn ema_seeds_with_sma_then_recurses() {
        let e = ema(&[1.0, 2.0, 3.0, 4.0, 5.0], 3);
        // seed = 2, α = 0.5: 2 + 0.5·(4−2) = 3, 3 + 0.5·(5−3) = 4.
        assert!(e[1].is_nan());
        assert_eq!(&e[2..], &[2.0, 3.0, 4.0]);
    }

    #[test]
    fn ema_skips_leading_nan() {
        let e = ema(&[f64::NAN, f64::NAN, 1.0, 2.0, 3.0], 2);
        assert!(e[2].is_nan());
        assert!(close(e[3], 1.5));
        assert!(close(e[4], 1.5 + (2.0 / 3.0) * 1.5));
    }

    #[test]
    fn rsi_all_up_is_100_all_down_is_0_flat_is_50() {
        let up: Vec<f64> = (0..30).map(f64::from).collect();
        let down: Vec<f64> = up.iter().rev().copied().collect();
        assert_eq!(rsi(&up, 14)[20], 100.0);
        assert_eq!(rsi(&down, 14)[20], 0.0);
        assert_eq!(rsi(&[5.0; 30], 14)[20], 50.0);
        assert!(rsi(&up, 14)[13].is_nan());
    }

    #[test]
    fn mfi_without_volume_is_neutral() {
        let c: Vec<f64> = (0..30).map(|i| 100.0 + f64::from(i % 7)).collect();
        let m = mfi(&c, &c, &c, &[0.0; 30], 14);
        assert!(m[13].is_nan());
        assert_eq!(m[14], 50.0);
    }

    #[test]
    fn atr_of_constant_range_is_that_range() {
        let h = [11.0; 20];
        let l = [9.0; 20];
        let c = [10.0; 20];
        let a = atr(&h, &l, &c, 5);
        assert!(a[4].is_nan());
        assert!(close(a[5], 2.0) && close(a[19], 2.0));
    }

    #[test]
    fn rolling_extremes_by_hand() {
        let (lo, hi) = rolling_min_max(&[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0], 3);
        assert_eq!(&lo[2..], &[1.0, 1.0, 1.0, 1.0, 2.0]);
        assert_eq!(&hi[2..], &[4.0, 4.0, 5.0, 9.0, 9.0]);
    }

    #[test]
    fn crosses() {
        let a = [1.0, 3.0, 1.0];
        let b = [2.0, 2.0, 2.0];
        assert!(crossed_over(&a, &b, 1) && !crossed_under(&a, &b, 1));
        assert!(crossed_under(&a, &b, 2) && !crossed_over(&a, &b, 2));
        assert!(!crossed_over(&a, &b, 0));
    }

    #[test]
    fn short_inputs_are_all_nan_not_panics() {
        for n in [0, 1, 5, 50] {
            assert!(sma(&[1.0, 2.0], n).iter().all(|v| v.is_nan() || n <= 2));
            let _ = ema(&[], n);
            let _ = rsi(&[1.0], n);
            let _ = atr(&[1.0], &[1.0], &[1.0], n);
            let _ = mfi(&[1.0], &[1.0], &[1.0], &[1.0], n);
            let _ = stoch_rsi(&[1.0, 2.0], n, n, n, n);
        }
    }
}
