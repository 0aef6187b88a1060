//! VuManChu Cipher A and Cipher B over a candle window, with their parameters documented, and the
//! [`MarketState`] snapshot the decision makers (LLM prompt, fallback rules) read.
//!
//! The formulas follow Angleito/Single-Agent-Trader's with two deliberate changes, both fixing
//! weaknesses of its version:
//! - WaveTrend runs on hlc3, as the Pine original does, not on close;
//! - the "wave" the decision makers see is WaveTrend (unitless, comparable across symbols), not
//!   that bot's `(EMA10 − EMA20) × 3.7`, which is in price units and made the prompt's "> 60"
//!   bands meaningless. Diamonds, yellow crosses and divergences are passed on, not dropped.

use serde::Serialize;

use super::candles::Candle;
use super::indicators::{
    WaveTrendParams, atr, crossed_over, crossed_under, ema, mfi, rsi, sma, stoch_rsi, wavetrend,
};

/// Cipher A parameters (defaults: Single-Agent-Trader's).
#[derive(Debug, Clone, PartialEq)]
pub struct CipherAParams {
    /// WaveTrend channel / average / signal lengths: 9 / 13 / 3.
    pub wavetrend: WaveTrendParams,
    /// Overbought levels 1..3: 60, 53, 100.
    pub overbought: [f64; 3],
    /// Oversold levels 1..3: −60, −53, −100.
    pub oversold: [f64; 3],
    /// RSI length: 14.
    pub rsi_len: usize,
    /// The eight-EMA ribbon: 5, 11, 15, 18, 21, 24, 28, 34.
    pub ribbon: [usize; 8],
    /// Stochastic RSI: RSI 14, stochastic 14, %K 3, %D 3.
    pub stoch: (usize, usize, usize, usize),
}

impl Default for CipherAParams {
    fn default() -> Self {
        Self {
            wavetrend: WaveTrendParams {
                channel: 9,
                average: 13,
                ma: 3,
            },
            overbought: [60.0, 53.0, 100.0],
            oversold: [-60.0, -53.0, -100.0],
            rsi_len: 14,
            ribbon: [5, 11, 15, 18, 21, 24, 28, 34],
            stoch: (14, 14, 3, 3),
        }
    }
}

/// Cipher B parameters (defaults: Single-Agent-Trader's).
#[derive(Debug, Clone, PartialEq)]
pub struct CipherBParams {
    /// WaveTrend channel / average / signal lengths: 9 / 12 / 3.
    pub wavetrend: WaveTrendParams,
    /// Overbought levels 1..3: 53, 60, 100 (level 1 gates the sell circle).
    pub overbought: [f64; 3],
    /// Oversold levels 1..3: −53, −60, −75 (level 1 gates the buy circle, 3 the gold buy).
    pub oversold: [f64; 3],
    /// A WaveTrend top above this can start a bearish divergence: 45.
    pub wt_div_top: f64,
    /// A WaveTrend bottom below this can start a bullish divergence: −65.
    pub wt_div_bottom: f64,
    /// RSI under this two bars before a WT bottom makes a divergence "gold": 30.
    pub gold_rsi: f64,
    /// RSI length: 14. MFI length: 14.
    pub rsi_len: usize,
    pub mfi_len: usize,
    /// The VuManChu money-flow area `SMA(((close − open) / (high − low)) × multiplier, period)`:
    /// period 60, multiplier 150.
    pub money_flow_period: usize,
    pub money_flow_multiplier: f64,
}

impl Default for CipherBParams {
    fn default() -> Self {
        Self {
            wavetrend: WaveTrendParams {
                channel: 9,
                average: 12,
                ma: 3,
            },
            overbought: [53.0, 60.0, 100.0],
            oversold: [-53.0, -60.0, -75.0],
            wt_div_top: 45.0,
            wt_div_bottom: -65.0,
            gold_rsi: 30.0,
            rsi_len: 14,
            mfi_len: 14,
            money_flow_period: 60,
            money_flow_multiplier: 150.0,
        }
    }
}

/// Cipher A's marks on one bar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CipherAMarks {
    /// WaveTrend crossed down (wt1 under wt2).
    pub red_diamond: bool,
    /// WaveTrend crossed up.
    pub green_diamond: bool,
    /// Red diamond deep in the lower band with RSI in (15, 30): exhaustion, a bullish warning.
    pub yellow_cross_up: bool,
    /// Green diamond high in the upper band with RSI < 70: a bearish warning.
    pub yellow_cross_down: bool,
    /// EMA5 crossed under EMA11.
    pub red_cross: bool,
    /// EMA11 crossed over EMA34.
    pub green_cross: bool,
    /// Red diamond together with a red cross.
    pub dump_diamond: bool,
    /// Green diamond together with a green cross.
    pub moon_diamond: bool,
    /// Open above EMA11 and EMA34, this and the previous candle green, no red diamond or cross.
    pub bull_candle: bool,
    /// The mirror of the bull candle.
    pub bear_candle: bool,
}

impl CipherAMarks {
    /// −1, 0 or +1: strong marks (moon/dump diamond, yellow crosses) and moderate ones (bull/bear
    /// candle, green/red diamond) vote; a bar with votes both ways is 0.
    pub fn composite(&self) -> i8 {
        let bull =
            self.moon_diamond || self.yellow_cross_up || self.bull_candle || self.green_diamond;
        let bear =
            self.dump_diamond || self.yellow_cross_down || self.bear_candle || self.red_diamond;
        match (bull, bear) {
            (true, false) => 1,
            (false, true) => -1,
            _ => 0,
        }
    }
}

/// Cipher B's marks on one bar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CipherBMarks {
    /// WaveTrend crossed up at or below oversold level 1.
    pub buy_circle: bool,
    /// WaveTrend crossed down at or above overbought level 1.
    pub sell_circle: bool,
    /// Any WaveTrend cross (the small circles).
    pub small_circle: bool,
    /// A WT bottom below the divergence level, higher than the previous bottom while price made
    /// a lower low.
    pub bullish_divergence: bool,
    /// A WT top above the divergence level, lower than the previous top while price made a
    /// higher high.
    pub bearish_divergence: bool,
    /// A bullish divergence above oversold level 3 with RSI under `gold_rsi` two bars before the
    /// bottom.
    pub gold_buy: bool,
}

/// Every series, one value per candle.
#[derive(Debug, Clone)]
pub struct CipherSeries {
    pub a_wt1: Vec<f64>,
    pub a_wt2: Vec<f64>,
    pub ribbon: Vec<Vec<f64>>,
    pub rsi: Vec<f64>,
    pub stoch_k: Vec<f64>,
    pub stoch_d: Vec<f64>,
    pub b_wt1: Vec<f64>,
    pub b_wt2: Vec<f64>,
    pub mfi: Vec<f64>,
    pub money_flow: Vec<f64>,
    pub atr: Vec<f64>,
    pub a_marks: Vec<CipherAMarks>,
    pub b_marks: Vec<CipherBMarks>,
}

/// ATR length used for stops: 14.
pub const ATR_LEN: usize = 14;

/// Computes both ciphers over `candles` (oldest first).
pub fn compute(candles: &[Candle], a: &CipherAParams, b: &CipherBParams) -> CipherSeries {
    let open: Vec<f64> = candles.iter().map(|c| c.open).collect();
    let high: Vec<f64> = candles.iter().map(|c| c.high).collect();
    let low: Vec<f64> = candles.iter().map(|c| c.low).collect();
    let close: Vec<f64> = candles.iter().map(|c| c.close).collect();
    let volume: Vec<f64> = candles.iter().map(|c| c.volume).collect();
    let hlc3: Vec<f64> = candles
        .iter()
        .map(|c| (c.high + c.low + c.close) / 3.0)
        .collect();
    let wa = wavetrend(&hlc3, a.wavetrend);
    let ribbon: Vec<Vec<f64>> = a.ribbon.iter().map(|&len| ema(&close, len)).collect();
    let rsi_a = rsi(&close, a.rsi_len);
    let (stoch_k, stoch_d) = stoch_rsi(&close, a.stoch.0, a.stoch.1, a.stoch.2, a.stoch.3);
    let a_marks = cipher_a_marks(&wa.wt1, &wa.wt2, &ribbon, &rsi_a, &open, &close, a);

    let wb = wavetrend(&hlc3, b.wavetrend);
    let rsi_b = if b.rsi_len == a.rsi_len {
        rsi_a.clone()
    } else {
        rsi(&close, b.rsi_len)
    };
    let mfi_b = mfi(&high, &low, &close, &volume, b.mfi_len);
    let raw_flow: Vec<f64> = candles
        .iter()
        .map(|c| {
            let range = c.high - c.low;
            if range > 0.0 {
                (c.close - c.open) / range * b.money_flow_multiplier
            } else {
                0.0
            }
        })
        .collect();
    let money_flow = sma(&raw_flow, b.money_flow_period);
    let b_marks = cipher_b_marks(&wb.wt1, &wb.wt2, &high, &low, &rsi_b, b);
    CipherSeries {
        a_wt1: wa.wt1,
        a_wt2: wa.wt2,
        ribbon,
        rsi: rsi_a,
        stoch_k,
        stoch_d,
        b_wt1: wb.wt1,
        b_wt2: wb.wt2,
        mfi: mfi_b,
        money_flow,
        atr: atr(&high, &low, &close, ATR_LEN),
        a_marks,
        b_marks,
    }
}

/// Cipher A's marks at each bar: diamonds, crosses and candles (none at the first bar).
fn cipher_a_marks(
    wt1: &[f64],
    wt2: &[f64],
    ribbon: &[Vec<f64>],
    rsi_a: &[f64],
    open: &[f64],
    close: &[f64],
    a: &CipherAParams,
) -> Vec<CipherAMarks> {
    let n = close.len();
    let mut a_marks = vec![CipherAMarks::default(); n];
    for i in 1..n {
        let m = &mut a_marks[i];
        m.red_diamond = crossed_under(wt1, wt2, i);
        m.green_diamond = crossed_over(wt1, wt2, i);
        let wt2_i = wt2[i];
        m.yellow_cross_up = m.red_diamond
            && wt2_i < 45.0
            && wt2_i > a.oversold[2]
            && rsi_a[i] > 15.0
            && rsi_a[i] < 30.0;
        m.yellow_cross_down =
            m.green_diamond && wt2_i > 55.0 && wt2_i < a.overbought[2] && rsi_a[i] < 70.0;
        m.red_cross = crossed_under(&ribbon[0], &ribbon[1], i);
        m.green_cross = crossed_over(&ribbon[1], &ribbon[7], i);
        m.dump_diamond = m.red_diamond && m.red_cross;
        m.moon_diamond = m.green_diamond && m.green_cross;
        let green = |j: usize| close[j] > open[j];
        let red = |j: usize| close[j] < open[j];
        m.bull_candle = open[i] > ribbon[1][i]
            && open[i] > ribbon[7][i]
            && green(i - 1)
            && green(i)
            && !m.red_diamond
            && !m.red_cross;
        m.bear_candle = open[i] < ribbon[1][i]
            && open[i] < ribbon[7][i]
            && red(i - 1)
            && red(i)
            && !m.green_diamond
            && !m.green_cross;
    }
    a_marks
}

/// A fractal top of `x` at bar `i − 2`: higher than the two bars on each side.
fn fractal_top(x: &[f64], i: usize) -> bool {
    i >= 4 && x[i - 4] < x[i - 2] && x[i - 3] < x[i - 2] && x[i - 2] > x[i - 1] && x[i - 2] > x[i]
}

fn fractal_bottom(x: &[f64], i: usize) -> bool {
    i >= 4 && x[i - 4] > x[i - 2] && x[i - 3] > x[i - 2] && x[i - 2] < x[i - 1] && x[i - 2] < x[i]
}

/// Cipher B's circles and divergences. A divergence is marked on the bar that confirms the
/// fractal (two bars after its extreme), never before: nothing here looks ahead.
fn cipher_b_marks(
    wt1: &[f64],
    wt2: &[f64],
    high: &[f64],
    low: &[f64],
    rsi: &[f64],
    b: &CipherBParams,
) -> Vec<CipherBMarks> {
    let n = wt2.len();
    let mut out = vec![CipherBMarks::default(); n];
    // (wt2 at the extreme, price at the extreme) of the previous qualifying fractal.
    let mut last_top: Option<(f64, f64)> = None;
    let mut last_bottom: Option<(f64, f64)> = None;
    for i in 1..n {
        let m = &mut out[i];
        let up = crossed_over(wt1, wt2, i);
        let down = crossed_under(wt1, wt2, i);
        m.small_circle = up || down;
        m.buy_circle = up && wt2[i] <= b.oversold[0];
        m.sell_circle = down && wt2[i] >= b.overbought[0];
        if fractal_top(wt2, i) && wt2[i - 2] >= b.wt_div_top {
            let (w, p) = (wt2[i - 2], high[i - 2]);
            if let Some((pw, pp)) = last_top {
                m.bearish_divergence = p > pp && w < pw;
            }
            last_top = Some((w, p));
        }
        if fractal_bottom(wt2, i) && wt2[i - 2] <= b.wt_div_bottom {
            let (w, p) = (wt2[i - 2], low[i - 2]);
            if let Some((pw, pp)) = last_bottom {
                m.bullish_divergence = p < pp && w > pw;
            }
            last_bottom = Some((w, p));
            m.gold_buy =
                m.bullish_divergence && wt2[i] > b.oversold[2] && i >= 4 && rsi[i - 4] < b.gold_rsi;
        }
    }
    out
}

/// Where the WaveTrend lines stand relative to each other on the last bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaveCross {
    CrossedUp,
    CrossedDown,
    Above,
    Below,
}

/// The last closed candle's indicator values, and recent marks: what the prompt shows and the
/// fallback rules decide from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarketState {
    pub symbol: String,
    pub interval_secs: u64,
    /// Close of the last candle.
    pub price: f64,
    /// Open time of the last candle, Unix ms.
    pub candle_open_ms: i64,
    /// sign(EMA11 − EMA34): Cipher A's trend dot.
    pub trend_dot: i8,
    pub ema_fast: f64,
    pub ema_slow: f64,
    /// Cipher B WaveTrend: wt1, wt2 and their relation.
    pub wave: f64,
    pub wave_signal: f64,
    pub wave_cross: WaveCross,
    /// MFI(14), 50 without volume.
    pub mfi: f64,
    /// The VuManChu money-flow area (positive = buying pressure).
    pub money_flow: f64,
    pub rsi: f64,
    pub stoch_k: f64,
    pub stoch_d: f64,
    /// ATR(14) in price units, and as a fraction of price.
    pub atr: f64,
    pub atr_fraction: f64,
    /// Cipher A's −1/0/+1 on the last bar.
    pub cipher_a: i8,
    /// Marks seen in the last [`RECENT_BARS`] bars, newest first, as "name@bars_ago".
    pub recent_marks: Vec<String>,
    /// The last five candles (open, high, low, close, volume), oldest first.
    pub last_candles: Vec<[f64; 5]>,
}

/// How far back [`MarketState::recent_marks`] looks.
pub const RECENT_BARS: usize = 5;

/// Why a market state cannot be built yet.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WarmupError {
    #[error("{have} candles, indicators need at least {need}")]
    TooFew { have: usize, need: usize },
    #[error("indicator {0} is not defined on the last candle")]
    Undefined(&'static str),
}

/// Candles the default parameters need before every value on the last bar is defined: the
/// money-flow SMA (60) dominates.
pub const MIN_CANDLES: usize = 61;

/// Builds the snapshot of the last candle.
pub fn market_state(
    symbol: &str,
    interval_secs: u64,
    candles: &[Candle],
    a: &CipherAParams,
    b: &CipherBParams,
) -> Result<MarketState, WarmupError> {
    if candles.len() < MIN_CANDLES {
        return Err(WarmupError::TooFew {
            have: candles.len(),
            need: MIN_CANDLES,
        });
    }
    let s = compute(candles, a, b);
    let i = candles.len() - 1;
    let get = |v: &[f64], name: &'static str| -> Result<f64, WarmupError> {
        let x = v[i];
        if x.is_finite() {
            Ok(x)
        } else {
            Err(WarmupError::Undefined(name))
        }
    };
    let ema_fast = get(&s.ribbon[1], "ema11")?;
    let ema_slow = get(&s.ribbon[7], "ema34")?;
    let wave = get(&s.b_wt1, "wt1")?;
    let wave_signal = get(&s.b_wt2, "wt2")?;
    let wave_cross = if crossed_over(&s.b_wt1, &s.b_wt2, i) {
        WaveCross::CrossedUp
    } else if crossed_under(&s.b_wt1, &s.b_wt2, i) {
        WaveCross::CrossedDown
    } else if wave >= wave_signal {
        WaveCross::Above
    } else {
        WaveCross::Below
    };
    let price = candles[i].close;
    let atr = get(&s.atr, "atr")?;
    let mut recent_marks = Vec::new();
    for ago in 0..RECENT_BARS.min(candles.len()) {
        let j = i - ago;
        let am = serde_json::to_value(s.a_marks[j]).unwrap_or_default();
        let bm = serde_json::to_value(s.b_marks[j]).unwrap_or_default();
        for map in [am, bm].iter().filter_map(|v| v.as_object()) {
            for (name, on) in map {
                if on.as_bool() == Some(true) && name != "small_circle" {
                    recent_marks.push(format!("{name}@{ago}"));
                }
            }
        }
    }
    Ok(MarketState {
        symbol: symbol.to_string(),
        interval_secs,
        price,
        candle_open_ms: candles[i].open_ms,
        trend_dot: sign(ema_fast - ema_slow),
        ema_fast,
        ema_slow,
        wave,
        wave_signal,
        wave_cross,
        mfi: get(&s.mfi, "mfi")?,
        money_flow: get(&s.money_flow, "money_flow")?,
        rsi: get(&s.rsi, "rsi")?,
        stoch_k: get(&s.stoch_k, "stoch_k")?,
        stoch_d: get(&s.stoch_d, "stoch_d")?,
        atr,
        atr_fraction: if price > 0.0 { atr / price } else { 0.0 },
        cipher_a: s.a_marks[i].composite(),
        recent_marks,
        last_candles: candles[candles.len().saturating_sub(5)..]
            .iter()
            .map(|c| [c.open, c.high, c.low, c.close, c.volume])
            .collect(),
    })
}

fn sign(x: f64) -> i8 {
    if x > 0.0 {
        1
    } else if x < 0.0 {
        -1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slide of `down` bars at 1 % with a short pause 20 bars before its end, then 2 % bars
    /// (so the wave is falling under its signal line at the turn), then a rally of `up` bars at
    /// 1 % per bar, with some range.
    fn v_shape(down: usize, up: usize) -> Vec<Candle> {
        let mut price = 100.0;
        let mut out = Vec::new();
        for i in 0..down + up {
            let open = price;
            price *= if i >= down {
                1.01
            } else if i + 20 >= down {
                0.98
            } else if i + 23 >= down {
                1.002
            } else {
                0.99
            };
            out.push(Candle {
                open_ms: i as i64 * 60_000,
                open,
                high: open.max(price) * 1.001,
                low: open.min(price) * 0.999,
                close: price,
                volume: 10.0,
            });
        }
        out
    }

    #[test]
    fn slide_then_rally_gives_a_buy_circle_and_flips_the_trend_dot() {
        let cs = v_shape(80, 40);
        let s = compute(&cs, &CipherAParams::default(), &CipherBParams::default());
        // The wave bottoms and turns up deep in oversold while the slide slows (its momentum
        // fades before the price turns): the buy circle comes before the rally, as it should.
        let buy = (60..95).any(|i| s.b_marks[i].buy_circle);
        assert!(buy, "a cross up from deep oversold");
        assert!((0..95).all(|i| !s.b_marks[i].sell_circle));
        let down =
            market_state("X", 60, &cs[..80], &Default::default(), &Default::default()).unwrap();
        assert_eq!(down.trend_dot, -1);
        assert!(down.wave_signal < -53.0 && down.rsi < 30.0);
        let up = market_state("X", 60, &cs, &Default::default(), &Default::default()).unwrap();
        assert_eq!(up.trend_dot, 1);
        assert!(up.wave > 0.0 && up.mfi > 50.0 && up.money_flow > 0.0);
        assert!((up.atr_fraction - up.atr / up.price).abs() < 1e-12);
        assert_eq!(up.last_candles.len(), 5);
    }

    #[test]
    fn too_few_candles_is_a_warmup_error() {
        let cs = v_shape(30, 0);
        assert_eq!(
            market_state("X", 60, &cs, &Default::default(), &Default::default()),
            Err(WarmupError::TooFew {
                have: 30,
                need: MIN_CANDLES
            })
        );
    }

    #[test]
    fn bullish_divergence_needs_lower_price_low_and_higher_wave_low() {
        // wt2 bottoms at −80 then −70 (higher), price lows 90 then 85 (lower).
        let wt2 = [0.0, -60.0, -80.0, -60.0, -50.0, -60.0, -70.0, -60.0, -50.0];
        let wt1 = wt2;
        let low = [99.0, 95.0, 90.0, 95.0, 97.0, 92.0, 85.0, 90.0, 95.0];
        let high = low.map(|x| x + 1.0);
        let rsi = [25.0; 9];
        let m = cipher_b_marks(&wt1, &wt2, &high, &low, &rsi, &CipherBParams::default());
        assert!(
            m[8].bullish_divergence,
            "confirmed two bars after the second bottom"
        );
        assert!(m[8].gold_buy, "above OS3 with RSI < 30 before the bottom");
        assert!(
            !m[4].bullish_divergence,
            "the first bottom has nothing to compare to"
        );
    }
}
