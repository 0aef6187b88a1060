//! A venue self-test an operator runs before trusting an account with the engine
//! (`tradeengine venue check`): one scripted, safe round trip against the account's venue.
//!
//! In order: the venue's clock against ours (above the venue's receive-window tolerance a
//! signed request can be refused), the key's permissions (a key that can withdraw fails),
//! the account mode (one-way, as the venue answered at connect, hedge mode fails; each
//! configured symbol's margin mode as the venue reports it, see [`mode`]), balances, positions (those on symbols the
//! account does not trade are a warning), the rules of every configured symbol (a symbol the
//! venue does not list fails), the private stream (connected and authenticated within a
//! bound), and one order ([`order`]).
//!
//! The order is a **far-from-market limit buy** (a fixed fraction below the mark, at the
//! smallest size the venue accepts) rather than a post-only one: every adapter places limit
//! orders the same way, and an order that cannot cross cannot fill even where a venue has no
//! post-only flag. It is read back by its client order id and cancelled; an ambiguous place or
//! cancel is settled by asking the venue for that client id, as the engine does. If it fills
//! anyway, the check fails loudly with the position it left, and does **not** close it: the
//! operator decides.
//!
//! Every check reports the venue's own answer; nothing secret is ever in it (errors from the
//! adapters never carry keys).

mod mode;
mod order;
pub mod probe;

use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde::Serialize;
use tradeengine_model::{ClientOrderId, Symbol, VenueId};

use crate::AdapterConfig;
use crate::permissions::{WITHDRAWAL_ENABLED, WithdrawalPermission};
pub use order::FAR_FROM_MARK;
pub use probe::{Probe, clock_tolerance_ms, connect_probe};

/// How one check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    /// Not a failure, but the operator should look.
    Warn,
    Fail,
    /// Not run, because an earlier check failed or it does not apply.
    Skip,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Warn => "WARN",
            Self::Fail => "FAIL",
            Self::Skip => "SKIP",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// `server_time`, `key_permissions`, `account_mode`, `balance`, `positions`,
    /// `instrument BTCUSDT`, `private_stream`, `order_round_trip`.
    pub name: String,
    pub outcome: Outcome,
    /// What the venue answered (or what we measured from its answers).
    pub answer: String,
    /// What to do about a failure or warning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn new(name: impl Into<String>, outcome: Outcome, answer: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            outcome,
            answer: answer.into(),
            fix: None,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// Every check, in the order run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    /// True when no check failed (warnings pass).
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.outcome != Outcome::Fail)
    }

    pub fn get(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    fn push(&mut self, check: Check) {
        self.checks.push(check);
    }

    fn skip_rest(&mut self, names: &[&str], why: &str) {
        for n in names {
            self.push(Check::new(*n, Outcome::Skip, why));
        }
    }
}

/// One configured symbol and the leverage the configuration asks for on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredSymbol {
    pub symbol: Symbol,
    pub leverage: Option<Decimal>,
}

/// What to test.
#[derive(Debug, Clone)]
pub struct SelfTest {
    pub venue: VenueId,
    /// As the engine would connect (credentials required).
    pub config: AdapterConfig,
    /// The account's symbols; the test order goes to the first one the venue lists.
    pub symbols: Vec<ConfiguredSymbol>,
    /// How long the private stream may take to connect and authenticate.
    pub stream_wait: Duration,
    /// The test order's client id: a prefix the engine never uses (its own ids start `te`).
    pub client_order_id: ClientOrderId,
}

const AFTER_CONNECT: [&str; 5] = [
    "account_mode",
    "balance",
    "positions",
    "private_stream",
    "order_round_trip",
];

/// Runs every check and returns the report (never an error: failures are in the report).
pub async fn run(test: &SelfTest) -> Report {
    let mut report = Report::default();
    server_time(test, &mut report).await;
    let started = Instant::now();
    let probe = match connect_probe(test.venue, test.config.clone()).await {
        Ok(p) => p,
        Err(e) => {
            connect_failed(&mut report, &e);
            for s in &test.symbols {
                report.push(Check::new(
                    format!("instrument {}", s.symbol),
                    Outcome::Skip,
                    "not connected",
                ));
            }
            return report;
        }
    };
    report.push(permissions(&probe.withdrawal));
    // Read once: the account mode line shows each symbol's margin mode from it.
    let positions = probe.venue.positions().await;
    report.push(mode::account_mode(&positions, &test.symbols));
    account(&probe, test, positions, &mut report).await;
    let listed = instruments(&probe, test, &mut report).await;
    stream(&probe, test, started, &mut report).await;
    match listed.first() {
        Some(instrument) => {
            report.push(order::round_trip(&*probe.venue, instrument, &test.client_order_id).await)
        }
        None => report.push(Check::new(
            "order_round_trip",
            Outcome::Skip,
            "no configured symbol is listed on the venue",
        )),
    }
    report
}

/// The checks that need no key (server time, instruments), for an account that trades on paper
/// against the venue's public data: nothing private is used, so nothing else can be checked.
pub async fn run_public(test: &SelfTest) -> Report {
    let mut report = Report::default();
    server_time(test, &mut report).await;
    let mut public = test.config.clone();
    public.credentials = None;
    public.stream = crate::stream_setting::StreamSetting::Off;
    match connect_probe(test.venue, public).await {
        Ok(probe) => {
            instruments(&probe, test, &mut report).await;
        }
        Err(e) => {
            for s in &test.symbols {
                report.push(Check::new(
                    format!("instrument {}", s.symbol),
                    Outcome::Skip,
                    format!("not connected: {e}"),
                ));
            }
        }
    }
    report
}

/// Measured on a keyless connection, so a refused key still gets its clock checked.
async fn server_time(test: &SelfTest, report: &mut Report) {
    let mut public = test.config.clone();
    public.credentials = None;
    public.stream = crate::stream_setting::StreamSetting::Off;
    let tolerance = clock_tolerance_ms(test.venue, test.config.recv_window_ms);
    let check = match connect_probe(test.venue, public).await {
        Ok(p) => {
            let offset = p.clock_offset_ms();
            let answer = format!(
                "the venue's clock is {offset} ms {} ours (tolerance {tolerance} ms)",
                if offset >= 0 { "ahead of" } else { "behind" }
            );
            if offset.unsigned_abs() > tolerance {
                Check::new("server_time", Outcome::Fail, answer).fix(
                    "synchronise this machine's clock (systemd-timesyncd, chrony or ntpd) and \
                     run the check again",
                )
            } else {
                Check::new("server_time", Outcome::Pass, answer)
            }
        }
        Err(e) => Check::new("server_time", Outcome::Fail, format!("no server time: {e}"))
            .fix("check base_url and that this machine can reach the venue (firewall, proxy, DNS)"),
    };
    report.push(check);
}

fn connect_failed(report: &mut Report, e: &crate::VenueError) {
    let code = e.code.as_deref();
    if code == Some(WITHDRAWAL_ENABLED) {
        report.push(
            Check::new("key_permissions", Outcome::Fail, e.message.clone()).fix(
                "create a new API key with trading permission only (withdrawals off), put it \
                 in the account's credentials, and delete the old one",
            ),
        );
        report.skip_rest(&AFTER_CONNECT, "not run: the key was refused");
        return;
    }
    if code == Some("hedge_mode") {
        report.push(Check::new(
            "key_permissions",
            Outcome::Pass,
            "the key was accepted (withdrawal permission checked before the account mode)",
        ));
        report.push(
            Check::new("account_mode", Outcome::Fail, e.message.clone())
                .fix("switch the account to one-way position mode (no open positions) and run the check again"),
        );
        report.skip_rest(&AFTER_CONNECT[1..], "not run: the account mode was refused");
        return;
    }
    let fix = match e.kind {
        crate::VenueErrorKind::Auth => {
            "check the account's API key, secret and passphrase, the key's IP allow-list, and \
             that it is a key for this network (testnet keys only work on testnet)"
        }
        _ => "check base_url / ws_url and that the venue is reachable, then run the check again",
    };
    report.push(
        Check::new(
            "key_permissions",
            Outcome::Fail,
            format!("connect failed: {e}"),
        )
        .fix(fix),
    );
    report.skip_rest(&AFTER_CONNECT, "not run: not connected");
}

fn permissions(w: &WithdrawalPermission) -> Check {
    let trade = "trading is proved by the order round trip below";
    match w {
        WithdrawalPermission::Disabled => Check::new(
            "key_permissions",
            Outcome::Pass,
            format!("the venue says the key cannot withdraw; {trade}"),
        ),
        // Connect refuses this already; kept so a change there cannot make it pass.
        WithdrawalPermission::Enabled => Check::new(
            "key_permissions",
            Outcome::Fail,
            "the venue says the key can withdraw",
        )
        .fix("create a key with trading permission only (withdrawals off) and use that"),
        WithdrawalPermission::Unknown(why) => Check::new(
            "key_permissions",
            Outcome::Warn,
            format!("withdrawal permission not verifiable ({why}); {trade}"),
        )
        .fix("make sure in the venue's API management page that this key cannot withdraw"),
    }
}

async fn account(
    probe: &Probe,
    test: &SelfTest,
    positions: Result<Vec<tradeengine_model::Position>, crate::VenueError>,
    report: &mut Report,
) {
    report.push(match probe.venue.account_balance().await {
        Ok(b) if b.value > Decimal::ZERO => Check::new(
            "balance",
            Outcome::Pass,
            format!(
                "account value {} USDT, free margin {}",
                b.value,
                b.available_margin
                    .map_or_else(|| "not reported".to_string(), |m| format!("{m} USDT"))
            ),
        ),
        Ok(b) => Check::new(
            "balance",
            Outcome::Fail,
            format!("account value {}", b.value),
        )
        .fix("fund the account's USDT futures wallet before running the engine"),
        Err(e) => Check::new(
            "balance",
            Outcome::Fail,
            format!("cannot read the balance: {e}"),
        )
        .fix("check that the key may read the futures account"),
    });
    report.push(match positions {
        Ok(positions) => {
            let list: Vec<String> = positions
                .iter()
                .map(|p| format!("{} {}", p.symbol, p.size.get()))
                .collect();
            let foreign: Vec<String> = positions
                .iter()
                .filter(|p| !test.symbols.iter().any(|s| s.symbol == p.symbol))
                .map(|p| p.symbol.to_string())
                .collect();
            let answer = if list.is_empty() {
                "no open positions".to_string()
            } else {
                format!("open positions: {}", list.join(", "))
            };
            if foreign.is_empty() {
                Check::new("positions", Outcome::Pass, answer)
            } else {
                Check::new("positions", Outcome::Warn, answer).fix(format!(
                    "{} not among the account's symbols: the engine will not manage them; close \
                     them or move them to another account",
                    foreign.join(", ")
                ))
            }
        }
        Err(e) => Check::new(
            "positions",
            Outcome::Fail,
            format!("cannot read positions: {e}"),
        )
        .fix("check that the key may read positions"),
    });
}

/// One check per configured symbol; returns the instruments the venue lists.
async fn instruments(
    probe: &Probe,
    test: &SelfTest,
    report: &mut Report,
) -> Vec<tradeengine_model::Instrument> {
    let mut listed = Vec::new();
    for s in &test.symbols {
        let name = format!("instrument {}", s.symbol);
        match probe
            .venue
            .instruments(std::slice::from_ref(&s.symbol))
            .await
        {
            Ok(mut found) if !found.is_empty() => {
                let i = found.remove(0);
                let answer = format!(
                    "{} on the venue: tick {}, step {} (contract {} base), min qty {}, min notional {}, max leverage {}",
                    i.venue_symbol,
                    i.tick_size,
                    i.qty_step,
                    i.contract_size,
                    i.min_qty,
                    i.min_notional,
                    i.max_leverage
                );
                match s.leverage {
                    Some(l) if l > i.max_leverage => {
                        report.push(Check::new(name, Outcome::Fail, answer).fix(format!(
                            "the configured leverage {l} is above the venue's maximum {}; lower it",
                            i.max_leverage
                        )))
                    }
                    _ => report.push(Check::new(name, Outcome::Pass, answer)),
                }
                listed.push(i);
            }
            Ok(_) => report.push(
                Check::new(name, Outcome::Fail, "the venue does not list it").fix(format!(
                    "remove {} from the configuration or correct its name",
                    s.symbol
                )),
            ),
            Err(e) => report.push(Check::new(name, Outcome::Fail, format!("{e}")).fix(format!(
                "remove {} from the configuration or correct its name",
                s.symbol
            ))),
        }
    }
    listed
}

async fn stream(probe: &Probe, test: &SelfTest, started: Instant, report: &mut Report) {
    let off = test.config.stream == crate::stream_setting::StreamSetting::Off;
    if off {
        report.push(
            Check::new(
                "private_stream",
                Outcome::Warn,
                "ws_url = \"off\": no private stream (fills are confirmed over REST, slower)",
            )
            .fix("remove ws_url = \"off\" unless the stream is blocked on purpose"),
        );
        return;
    }
    let check = if probe.wait_stream_ready(test.stream_wait).await {
        Check::new(
            "private_stream",
            Outcome::Pass,
            format!(
                "connected, authenticated and subscribed within {} ms of connecting",
                started.elapsed().as_millis()
            ),
        )
    } else {
        Check::new(
            "private_stream",
            Outcome::Fail,
            format!(
                "not connected and authenticated within {} s",
                test.stream_wait.as_secs()
            ),
        )
        .fix("check ws_url, that websockets are not blocked by a proxy or firewall, and the key")
    };
    report.push(check);
}
