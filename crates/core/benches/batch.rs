//! One engine cycle of the money core: blend + size + plan for 5 accounts × 100 symbols ×
//! 4 sources. Run with `cargo bench -p tradeengine-core`; figures go to
//! BENCHMARKS.md at the repository root.
//!
//! Groups:
//! - `cycle/full`: blend every symbol once, then per account size all symbols (gross budget on)
//!   and plan each symbol from its actual position — what the engine does each cycle;
//! - `cycle/without_plan`: the same minus planning, to show what planning costs;
//! - `cycle/naive_reblend`: the full batch but re-blending each symbol for every account, the
//!   shape a per-account loop would take; the ratio to `full` is what sharing blends saves;
//! - `cycle/full_settled`: the full batch one cycle later, positions at target (the steady
//!   state): plans are computed and come out empty;
//! - `stage/*`: blend, size and plan alone on the same batch.
//!
//! Inputs are generated from a fixed linear congruential sequence, so every run measures the
//! same batch: about a third of positions sit at target (no order), the rest need an increase,
//! a reduction or a flip, and some orders split at the market maximum.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group};
use rust_decimal::Decimal;
use tradeengine_core::{
    AccountSizing, Blend, BlendPolicy, OnStale, PlanInput, SizeInput, SizedTarget, SourceStaleness,
    SymbolConfig, account_targets, blend, plan,
};
use tradeengine_model::{
    AccountName, Instrument, MarginMode, OrderKind, PlanId, Position, Price, Quantity, Sleeve,
    SleeveOrigin, SleeveState, SourceId, Symbol, Timestamp,
};

const ACCOUNTS: usize = 5;
const SYMBOLS: usize = 100;
const SOURCES: [&str; 4] = ["tradingview", "sn8", "ta-bot", "rest"];

/// Deterministic pseudo-random numbers (Knuth's MMIX LCG); no RNG crate needed for a fixture.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }

    /// A signed decimal in [−range, range] with `scale` decimal places.
    fn dec(&mut self, range: i64, scale: u32) -> Decimal {
        let v = self.next(2 * range as u64 + 1) as i64 - range;
        Decimal::new(v, scale)
    }
}

struct Account {
    name: AccountName,
    sizing: AccountSizing,
    instruments: Vec<Instrument>,
    prices: Vec<Price>,
    positions: Vec<Position>,
}

struct Fixture {
    now: Timestamp,
    policy: BlendPolicy,
    configs: Vec<SymbolConfig>,
    sleeves: Vec<Vec<Sleeve>>,
    accounts: Vec<Account>,
    plan_id: PlanId,
}

// The whole fixture from one seeded generator, in one pass: the order of the draws fixes the data.
fn fixture() -> Fixture {
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let mut rng = Lcg(42);
    let sources: Vec<SourceId> = SOURCES.iter().map(|s| SourceId::new(s).unwrap()).collect();
    let symbols: Vec<Symbol> = (0..SYMBOLS)
        .map(|k| Symbol::new(&format!("COIN{k}USDT")).unwrap())
        .collect();
    let base_prices: Vec<Decimal> = (0..SYMBOLS)
        .map(|_| Decimal::new(rng.next(6_000_000) as i64 + 100, 2))
        .collect();

    let configs = symbols
        .iter()
        .map(|s| {
            let weights: BTreeMap<SourceId, Decimal> = sources
                .iter()
                .zip([
                    Decimal::new(3, 1),
                    Decimal::new(2, 1),
                    Decimal::new(25, 2),
                    Decimal::new(15, 2),
                ])
                .map(|(src, w)| (src.clone(), w))
                .collect();
            SymbolConfig {
                depth_cap: Some(Decimal::ONE),
                leverage_cap: Some(Decimal::from(20)),
                max_notional: Some(Decimal::from(250_000)),
                ..SymbolConfig::new(s.clone(), Decimal::from(3), weights)
            }
        })
        .collect();

    let sleeves = symbols
        .iter()
        .zip(&base_prices)
        .map(|(s, p)| {
            sources
                .iter()
                .enumerate()
                .map(|(k, src)| {
                    let mut sl = Sleeve::flat(src.clone(), s.clone(), now);
                    sl.state = SleeveState::Open;
                    sl.exposure = if k == 2 {
                        // An order-intent sleeve sized in base units: ~ 200 USDT worth.
                        SleeveOrigin::Base((Decimal::from(200) / p).round_dp(6) * rng.dec(1, 0))
                    } else {
                        SleeveOrigin::Depth(rng.dec(5000, 4))
                    };
                    sl.leverage = (k == 0).then(|| Decimal::from(rng.next(15) as i64 + 1));
                    sl.updated_at = now - chrono::TimeDelta::minutes(rng.next(90) as i64);
                    sl
                })
                .collect()
        })
        .collect();

    let mut staleness = BTreeMap::new();
    staleness.insert(
        sources[1].clone(),
        SourceStaleness {
            ttl: Some(chrono::TimeDelta::minutes(60)),
            on_stale: OnStale::Flat,
        },
    );
    let policy = BlendPolicy {
        depth_cap: Some(Decimal::new(8, 1)),
        leverage_cap: Some(Decimal::from(25)),
        apply_leverage_override_to_sizing: true,
        gross_exposure_budget: Some(Decimal::from(10)),
        staleness,
    };

    let accounts = (0..ACCOUNTS)
        .map(|a| {
            // Venue shapes: base-unit steps (Bybit/Binance), lots (KuCoin), contracts of ten
            // lots (BloFin-like); one step is worth 1–100 USDT, one market order up to ~2,000
            // steps.
            let instruments: Vec<Instrument> = symbols
                .iter()
                .zip(&base_prices)
                .map(|(s, p)| {
                    // floor(log10 p), p ≥ 1 (mantissa has two decimals).
                    let exp = p.mantissa().ilog10() - 2;
                    let tenth_power = Decimal::new(1, exp);
                    let (qty_step, contract_size) = match a % 3 {
                        0 => (tenth_power, Decimal::ONE),
                        1 => (Decimal::ONE, tenth_power),
                        _ => (Decimal::ONE, tenth_power * Decimal::TEN),
                    };
                    Instrument {
                        symbol: s.clone(),
                        venue_symbol: s.as_str().to_string(),
                        qty_step,
                        min_qty: qty_step,
                        max_market_qty: Some(qty_step * Decimal::from(2_000)),
                        tick_size: Decimal::new(1, 2),
                        min_notional: Decimal::from(5),
                        contract_size,
                        max_leverage: Decimal::from(50),
                    }
                })
                .collect();
            let prices: Vec<Price> = base_prices
                .iter()
                .map(|p| Price::new(*p * (Decimal::ONE + rng.dec(20, 4))).unwrap())
                .collect();
            let positions = symbols
                .iter()
                .zip(&prices)
                .map(|(s, p)| Position {
                    symbol: s.clone(),
                    size: Quantity::new((rng.dec(4000, 0) / p.get()).round_dp(3)),
                    entry_price: Some(*p),
                    leverage: Decimal::from(rng.next(20) as i64 + 1),
                    margin_mode: MarginMode::Cross,
                })
                .collect();
            Account {
                name: AccountName::new(&format!("acct-{a}")).unwrap(),
                sizing: AccountSizing {
                    value: Decimal::from(10_000 * (a as i64 + 1)),
                    leverage_override: (a == 4).then(|| Decimal::from(5)),
                },
                instruments,
                prices,
                positions,
            }
        })
        .collect();

    Fixture {
        now,
        policy,
        configs,
        sleeves,
        accounts,
        plan_id: PlanId::new("20260301T120000-000001").unwrap(),
    }
}

impl Fixture {
    fn blends(&self) -> Vec<Blend> {
        self.configs
            .iter()
            .zip(&self.sleeves)
            .map(|(c, s)| blend(c, s, &self.policy, self.now).unwrap())
            .collect()
    }

    fn size_account(&self, account: &Account, blends: &[Blend]) -> Vec<SizedTarget> {
        let inputs: Vec<SizeInput<'_>> = blends
            .iter()
            .zip(&account.instruments)
            .zip(&account.prices)
            .map(|((b, i), p)| SizeInput {
                blend: b,
                price: *p,
                instrument: i,
            })
            .collect();
        account_targets(&inputs, &account.sizing, &self.policy).unwrap()
    }

    fn plan_targets(&self, account: &Account, targets: &[SizedTarget]) -> usize {
        let mut legs = 0;
        for ((t, pos), i) in targets
            .iter()
            .zip(&account.positions)
            .zip(&account.instruments)
        {
            let p = plan(&PlanInput {
                plan_id: &self.plan_id,
                account: &account.name,
                now: self.now,
                current: pos,
                target: t.qty,
                unrounded_target: t.unrounded_qty,
                target_leverage: t.leverage,
                margin_mode: MarginMode::Cross,
                instrument: i,
                price: t.price,
                drift_band: Decimal::new(1, 3),
                min_notional: Decimal::from(5),
                kind: OrderKind::Market,
            })
            .unwrap();
            legs += p.legs().count();
        }
        legs
    }

    fn plan_account(&self, account: &Account, blends: &[Blend], with_plan: bool) -> usize {
        let targets = self.size_account(account, blends);
        if with_plan {
            self.plan_targets(account, &targets)
        } else {
            targets.len()
        }
    }

    /// The same batch one cycle later, every plan filled: positions and leverage at target.
    /// This is the steady state the engine spends most cycles in.
    fn settled(&self) -> Fixture {
        let blends = self.blends();
        let accounts = self
            .accounts
            .iter()
            .map(|a| {
                let targets = self.size_account(a, &blends);
                Account {
                    name: a.name.clone(),
                    sizing: a.sizing,
                    instruments: a.instruments.clone(),
                    prices: a.prices.clone(),
                    positions: a
                        .positions
                        .iter()
                        .zip(&targets)
                        .map(|(p, t)| Position {
                            size: t.qty,
                            leverage: t.leverage,
                            ..p.clone()
                        })
                        .collect(),
                }
            })
            .collect();
        Fixture {
            now: self.now,
            policy: self.policy.clone(),
            configs: self.configs.clone(),
            sleeves: self.sleeves.clone(),
            accounts,
            plan_id: self.plan_id.clone(),
        }
    }

    fn cycle(&self, with_plan: bool) -> usize {
        let blends = self.blends();
        self.accounts
            .iter()
            .map(|a| self.plan_account(a, &blends, with_plan))
            .sum()
    }

    fn naive_cycle(&self) -> usize {
        self.accounts
            .iter()
            .map(|a| {
                let blends = self.blends();
                self.plan_account(a, &blends, true)
            })
            .sum()
    }
}

fn bench(c: &mut Criterion) {
    let f = fixture();
    // Describe the batch once so the figure can be read against it.
    let legs = f.cycle(true);
    eprintln!(
        "batch: {ACCOUNTS} accounts × {SYMBOLS} symbols × {} sources, {legs} order legs",
        SOURCES.len()
    );
    let mut g = c.benchmark_group("cycle");
    g.bench_function("full", |b| b.iter(|| black_box(f.cycle(black_box(true)))));
    g.bench_function("without_plan", |b| {
        b.iter(|| black_box(f.cycle(black_box(false))))
    });
    g.bench_function("naive_reblend", |b| b.iter(|| black_box(f.naive_cycle())));
    let quiet = f.settled();
    eprintln!("settled batch: {} order legs", quiet.cycle(true));
    g.bench_function("full_settled", |b| {
        b.iter(|| black_box(quiet.cycle(black_box(true))))
    });
    g.finish();

    // Each stage alone, on the same batch.
    let blends = f.blends();
    let targets: Vec<Vec<SizedTarget>> = f
        .accounts
        .iter()
        .map(|a| f.size_account(a, &blends))
        .collect();
    let mut g = c.benchmark_group("stage");
    g.bench_function("blend_100_symbols", |b| b.iter(|| black_box(f.blends())));
    g.bench_function("size_500_targets", |b| {
        b.iter(|| {
            for a in &f.accounts {
                black_box(f.size_account(a, black_box(&blends)));
            }
        })
    });
    g.bench_function("plan_500", |b| {
        b.iter(|| {
            for (a, t) in f.accounts.iter().zip(&targets) {
                black_box(f.plan_targets(a, black_box(t)));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);

/// `TE_BENCH_CASE=digest`: a BLAKE3 digest of the JSON of every blend, target and plan of the
/// full and settled batches. JSON shows each decimal's scale, so two builds whose digests agree
/// produced the same outputs to the last digit and trailing zero: the check that an optimisation
/// changed nothing but time.
fn digest() -> String {
    let f = fixture();
    let settled = f.settled();
    let mut h = blake3::Hasher::new();
    for fx in [&f, &settled] {
        let blends = fx.blends();
        h.update(serde_json::to_string(&blends).unwrap().as_bytes());
        for a in &fx.accounts {
            let targets = fx.size_account(a, &blends);
            h.update(serde_json::to_string(&targets).unwrap().as_bytes());
            for ((t, pos), i) in targets.iter().zip(&a.positions).zip(&a.instruments) {
                let p = plan(&PlanInput {
                    plan_id: &fx.plan_id,
                    account: &a.name,
                    now: fx.now,
                    current: pos,
                    target: t.qty,
                    unrounded_target: t.unrounded_qty,
                    target_leverage: t.leverage,
                    margin_mode: MarginMode::Cross,
                    instrument: i,
                    price: t.price,
                    drift_band: Decimal::new(1, 3),
                    min_notional: Decimal::from(5),
                    kind: OrderKind::Market,
                })
                .unwrap();
                h.update(serde_json::to_string(&p).unwrap().as_bytes());
            }
        }
    }
    h.finalize().to_hex().to_string()
}

/// `TE_BENCH_ITERS=N TE_BENCH_CASE=full|without_plan|settled|naive|blend|size|plan` runs one case
/// N times and exits, without criterion (the last three are the `stage/*` groups). On a shared
/// machine, `perf stat -e task-clock` over that run gives the CPU time per batch, which other
/// processes' load does not inflate the way it inflates wall-clock samples (see BENCHMARKS.md).
fn fixed_iterations(iters: u64, case: &str) {
    let f = fixture();
    let settled = f.settled();
    let blends = f.blends();
    let targets: Vec<Vec<SizedTarget>> = f
        .accounts
        .iter()
        .map(|a| f.size_account(a, &blends))
        .collect();
    let mut legs = 0;
    for _ in 0..iters {
        legs += match case {
            "without_plan" => f.cycle(black_box(false)),
            "settled" => settled.cycle(black_box(true)),
            "naive" => f.naive_cycle(),
            "blend" => black_box(f.blends()).len(),
            "size" => f
                .accounts
                .iter()
                .map(|a| black_box(f.size_account(a, black_box(&blends))).len())
                .sum(),
            "plan" => f
                .accounts
                .iter()
                .zip(&targets)
                .map(|(a, t)| f.plan_targets(a, black_box(t)))
                .sum(),
            _ => f.cycle(black_box(true)),
        };
    }
    eprintln!("{iters} batches of case {case}: {legs} results");
}

fn main() {
    if let Some(iters) = std::env::var("TE_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        let case = std::env::var("TE_BENCH_CASE").unwrap_or_else(|_| "full".into());
        if case == "digest" {
            println!("{}", digest());
            return;
        }
        fixed_iterations(iters, &case);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
