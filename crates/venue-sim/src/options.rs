//! What a simulator starts with: the keys it accepts, the account's balance, instruments and
//! prices, and the latency it adds to every request.

use std::collections::BTreeMap;
use std::time::Duration;

use rust_decimal::Decimal;

/// Which protocol a simulator speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimVenue {
    Bybit,
    Binance,
    Blofin,
    Kucoin,
    Mexc,
}

impl SimVenue {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bybit => "bybit",
            Self::Binance => "binance",
            Self::Blofin => "blofin",
            Self::Kucoin => "kucoin",
            Self::Mexc => "mexc",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "bybit" => Some(Self::Bybit),
            "binance" => Some(Self::Binance),
            "blofin" => Some(Self::Blofin),
            "kucoin" => Some(Self::Kucoin),
            "mexc" => Some(Self::Mexc),
            _ => None,
        }
    }
}

/// One tradable USDT perpetual: sizes in base units, prices and notionals in USDT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimInstrument {
    pub symbol: String,
    pub qty_step: Decimal,
    pub min_qty: Decimal,
    pub max_qty: Decimal,
    /// Largest market order.
    pub max_market_qty: Decimal,
    pub tick_size: Decimal,
    /// Smallest order value (Bybit `minNotionalValue`, Binance `MIN_NOTIONAL`); reduce-only
    /// orders are exempt, as on both venues.
    pub min_notional: Decimal,
    pub max_leverage: Decimal,
}

/// Everything a simulator is started with.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The only key the simulator accepts. Test keys only: the simulator is no place for real
    /// ones.
    pub api_key: String,
    pub api_secret: String,
    /// The passphrase BloFin and KuCoin keys carry.
    pub passphrase: String,
    /// USDT wallet balance at start.
    pub balance: Decimal,
    pub instruments: Vec<SimInstrument>,
    /// Starting prices by symbol (mark = last = fill price).
    pub prices: BTreeMap<String, Decimal>,
    /// Added to every HTTP request before it is answered.
    pub latency: Duration,
    /// Taker fee rate charged on fills (0.00055 = Bybit's non-VIP rate).
    pub taker_fee_rate: Decimal,
    /// Leverage of a symbol never set.
    pub default_leverage: Decimal,
    /// Start in hedge mode (the adapters must refuse it).
    pub hedge_mode: bool,
    /// Per-second order limit the Bybit simulator reports in `X-Bapi-Limit` and enforces
    /// (Bybit's default tier is 10; PRO tiers are 200 and up).
    pub order_rate_limit: u32,
    /// MEXC: answer order submission and cancels with code 1002 ("Contract not allow place
    /// order!"), as MEXC does while API order entry is under maintenance.
    pub order_entry_restricted: bool,
    /// The key has withdrawal permission (Bybit `query-api` lists `Withdraw`, Binance
    /// `apiRestrictions` says `enableWithdrawals`): the adapters must refuse it.
    pub withdrawals_enabled: bool,
}

fn d(v: &str) -> Decimal {
    v.parse().unwrap_or_default()
}

impl SimOptions {
    /// Test keys; the default Bybit instruments; 100 000 USDT; no latency.
    pub fn new(venue: SimVenue) -> Self {
        let instruments = match venue {
            SimVenue::Bybit => bybit_instruments(),
            SimVenue::Binance => binance_instruments(),
            SimVenue::Blofin => crate::blofin::instruments(),
            SimVenue::Kucoin => crate::kucoin::instruments(),
            SimVenue::Mexc => mexc_instruments(),
        };
        let prices = [
            ("BTCUSDT", "60000"),
            ("ETHUSDT", "3000"),
            ("SOLUSDT", "150"),
        ]
        .into_iter()
        .map(|(s, p)| (s.to_string(), d(p)))
        .collect();
        Self {
            api_key: "sim-test-key".into(),
            api_secret: "sim-test-secret".into(),
            passphrase: "sim-test-passphrase".into(),
            balance: Decimal::from(100_000),
            instruments,
            prices,
            latency: Duration::ZERO,
            taker_fee_rate: Decimal::new(55, 5),
            default_leverage: Decimal::ONE,
            hedge_mode: false,
            order_rate_limit: 10,
            order_entry_restricted: false,
            withdrawals_enabled: false,
        }
    }

    /// Adds `n` synthetic symbols `S001USDT`, `S002USDT`, … (step 0.1, tick 0.001, minimum
    /// notional 5, priced 10 + i USDT) for many-symbol tests and benchmarks.
    pub fn with_synthetic(mut self, n: usize) -> Self {
        for i in 1..=n {
            let symbol = format!("S{i:03}USDT");
            self.instruments.push(SimInstrument {
                symbol: symbol.clone(),
                qty_step: d("0.1"),
                min_qty: d("0.1"),
                max_qty: d("1000000"),
                max_market_qty: d("100000"),
                tick_size: d("0.001"),
                min_notional: d("5"),
                max_leverage: d("50"),
            });
            self.prices.insert(symbol, Decimal::from(10 + i));
        }
        self
    }

    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }
}

/// Bybit's BTCUSDT, ETHUSDT and SOLUSDT linear perpetual rules (instruments-info, 2026).
pub fn bybit_instruments() -> Vec<SimInstrument> {
    vec![
        SimInstrument {
            symbol: "BTCUSDT".into(),
            qty_step: d("0.001"),
            min_qty: d("0.001"),
            max_qty: d("1190"),
            max_market_qty: d("119"),
            tick_size: d("0.1"),
            min_notional: d("5"),
            max_leverage: d("100"),
        },
        SimInstrument {
            symbol: "ETHUSDT".into(),
            qty_step: d("0.01"),
            min_qty: d("0.01"),
            max_qty: d("7240"),
            max_market_qty: d("724"),
            tick_size: d("0.01"),
            min_notional: d("5"),
            max_leverage: d("100"),
        },
        SimInstrument {
            symbol: "SOLUSDT".into(),
            qty_step: d("0.1"),
            min_qty: d("0.1"),
            max_qty: d("79770"),
            max_market_qty: d("7977"),
            tick_size: d("0.01"),
            min_notional: d("5"),
            max_leverage: d("100"),
        },
    ]
}

/// Binance USDⓈ-M BTCUSDT, ETHUSDT and SOLUSDT rules (exchangeInfo filters; MIN_NOTIONAL is
/// 100 USDT for BTC, 20 for ETH, 5 for SOL).
pub fn binance_instruments() -> Vec<SimInstrument> {
    vec![
        SimInstrument {
            symbol: "BTCUSDT".into(),
            qty_step: d("0.001"),
            min_qty: d("0.001"),
            max_qty: d("1000"),
            max_market_qty: d("120"),
            tick_size: d("0.1"),
            min_notional: d("100"),
            max_leverage: d("125"),
        },
        SimInstrument {
            symbol: "ETHUSDT".into(),
            qty_step: d("0.001"),
            min_qty: d("0.001"),
            max_qty: d("10000"),
            max_market_qty: d("2000"),
            tick_size: d("0.01"),
            min_notional: d("20"),
            max_leverage: d("125"),
        },
        SimInstrument {
            symbol: "SOLUSDT".into(),
            qty_step: d("1"),
            min_qty: d("1"),
            max_qty: d("1000000"),
            max_market_qty: d("5000"),
            tick_size: d("0.01"),
            min_notional: d("5"),
            max_leverage: d("75"),
        },
    ]
}

/// MEXC BTC_USDT, ETH_USDT and SOL_USDT in base units: one contract is one `qty_step`, so the
/// contract sizes are MEXC's (0.0001 BTC, 0.01 ETH, 1 SOL; `volUnit` 1, `minVol` 1). MEXC has
/// no minimum order value.
pub fn mexc_instruments() -> Vec<SimInstrument> {
    vec![
        SimInstrument {
            symbol: "BTCUSDT".into(),
            qty_step: d("0.0001"),
            min_qty: d("0.0001"),
            max_qty: d("100"),
            max_market_qty: d("100"),
            tick_size: d("0.1"),
            min_notional: Decimal::ZERO,
            max_leverage: d("200"),
        },
        SimInstrument {
            symbol: "ETHUSDT".into(),
            qty_step: d("0.01"),
            min_qty: d("0.01"),
            max_qty: d("10000"),
            max_market_qty: d("10000"),
            tick_size: d("0.01"),
            min_notional: Decimal::ZERO,
            max_leverage: d("200"),
        },
        SimInstrument {
            symbol: "SOLUSDT".into(),
            qty_step: d("1"),
            min_qty: d("1"),
            max_qty: d("100000"),
            max_market_qty: d("100000"),
            tick_size: d("0.001"),
            min_notional: Decimal::ZERO,
            max_leverage: d("100"),
        },
    ]
}
