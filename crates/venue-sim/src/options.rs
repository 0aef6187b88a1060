//! What a simulator starts with: the keys it accepts, the account's balance, instruments and
//! prices, and the latency it adds to every request.

use std::collections::BTreeMap;
use std::time::Duration;

use rust_decimal::Decimal;
use tradeengine_model::VenueId;

pub use crate::instruments::{
    SimInstrument, binance_instruments, blofin_instruments, bybit_instruments, kucoin_instruments,
    mexc_instruments,
};

/// The simulator's former name for [`VenueId`], the one venue enum; kept so code written
/// against it still compiles.
pub type SimVenue = VenueId;

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

/// The Hyperliquid simulator's master account (obviously fake).
pub const HYPERLIQUID_TEST_MASTER: &str = "0x00000000000000000000000000000000000000aa";
/// The private key of the API wallet the Hyperliquid simulator approves for
/// [`HYPERLIQUID_TEST_MASTER`] (obviously fake).
pub const HYPERLIQUID_TEST_AGENT_KEY: &str =
    "0x0000000000000000000000000000000000000000000000000000000000000a11";

fn d(v: &str) -> Decimal {
    v.parse().unwrap_or_default()
}

impl SimOptions {
    /// Test keys; the default Bybit instruments; 100 000 USDT; no latency.
    pub fn new(venue: VenueId) -> Self {
        let instruments = crate::instruments::of(venue);
        let prices = [
            ("BTCUSDT", "60000"),
            ("ETHUSDT", "3000"),
            ("SOLUSDT", "150"),
        ]
        .into_iter()
        .map(|(s, p)| (s.to_string(), d(p)))
        .collect();
        Self {
            // Hyperliquid's account is an address and its key an Ethereum private key.
            api_key: match venue {
                VenueId::Hyperliquid => HYPERLIQUID_TEST_MASTER.into(),
                _ => "sim-test-key".into(),
            },
            api_secret: match venue {
                VenueId::Hyperliquid => HYPERLIQUID_TEST_AGENT_KEY.into(),
                _ => "sim-test-secret".into(),
            },
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
