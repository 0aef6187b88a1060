#!/usr/bin/env python3
"""Reference values for tradeengine's strategy indicators, computed independently with TA-Lib.

Writes crates/signals/tests/golden/indicators.csv: a seeded synthetic OHLCV series (input
columns) and, per bar, SMA/EMA/RSI/MFI/ATR/Stochastic RSI/WaveTrend/money flow computed by
TA-Lib (empty = undefined). The Rust golden test reads this file; it never runs Python.

Usage (any Python >= 3.9):
    python3 -m venv /tmp/ta && /tmp/ta/bin/pip install TA-Lib numpy
    /tmp/ta/bin/python scripts/indicators_reference.py

Parameters match crates/signals/src/strategy (Cipher B WaveTrend 9/12/3 on hlc3, RSI 14,
MFI 14, ATR 14, Stochastic RSI 14/14/3/3, money flow SMA 60 x 150).
"""
import csv
import math
import os

import numpy as np
import talib

N = 600
SEED = 20240611
OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "signals", "tests", "golden",
                   "indicators.csv")


def series():
    """A log-normal random walk with intrabar ranges and volumes; one flat stretch to exercise
    zero ranges."""
    rng = np.random.default_rng(SEED)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.004, N)))
    opn = np.empty(N)
    opn[0] = 100.0
    opn[1:] = close[:-1]
    wiggle = np.abs(rng.normal(0.0, 0.002, N)) * close
    high = np.maximum(opn, close) + wiggle
    low = np.minimum(opn, close) - np.abs(rng.normal(0.0, 0.002, N)) * close
    volume = rng.uniform(5.0, 50.0, N)
    # Bars 300..309: a halted market (flat candles, no range), still with volume.
    for i in range(300, 310):
        opn[i] = high[i] = low[i] = close[i] = close[299]
    return opn, high, low, close, volume


def main():
    o, h, l, c, v = series()
    hlc3 = (h + l + c) / 3.0
    # WaveTrend (LazyBear), composed from TA-Lib's EMA/SMA; TA-Lib skips leading NaNs itself.
    esa = talib.EMA(hlc3, 9)
    de = talib.EMA(np.abs(hlc3 - esa), 9)
    with np.errstate(invalid="ignore", divide="ignore"):
        ci = np.where(de == 0.0, 0.0, (hlc3 - esa) / (0.015 * de))
    ci[np.isnan(de)] = np.nan
    wt1 = talib.EMA(ci, 12)
    wt2 = talib.SMA(wt1, 3)
    rsi = talib.RSI(c, 14)
    sk, sd = talib.STOCH(rsi, rsi, rsi, fastk_period=14, slowk_period=3, slowk_matype=0,
                         slowd_period=3, slowd_matype=0)
    rng_ = h - l
    with np.errstate(invalid="ignore", divide="ignore"):
        raw_flow = np.where(rng_ > 0.0, (c - o) / rng_ * 150.0, 0.0)
    cols = {
        "open_ms": np.arange(N) * 60_000 + 1_700_000_000_000,
        "open": o, "high": h, "low": l, "close": c, "volume": v,
        "sma10": talib.SMA(c, 10),
        "ema10": talib.EMA(c, 10),
        "rsi14": rsi,
        "mfi14": talib.MFI(h, l, c, v, 14),
        "atr14": talib.ATR(h, l, c, 14),
        "stoch_k": sk,
        "stoch_d": sd,
        "wt1": wt1,
        "wt2": wt2,
        "money_flow": talib.SMA(raw_flow, 60),
    }
    with open(OUT, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols.keys())
        for i in range(N):
            row = []
            for name, col in cols.items():
                x = col[i]
                if name == "open_ms":
                    row.append(str(int(x)))
                elif isinstance(x, float) and math.isnan(x):
                    row.append("")
                else:
                    row.append(repr(float(x)))
            w.writerow(row)
    print(f"wrote {N} rows to {os.path.normpath(OUT)} (TA-Lib {talib.__version__})")


if __name__ == "__main__":
    main()
