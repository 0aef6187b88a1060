//! Property tests of P&L attribution: over random signal, price, fill, funding and outside-trade
//! sequences run through the real blend, size and plan, the sources' P&L plus the unattributed
//! bucket equal the account's P&L from its fills exactly, after every event.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::{check_seeded, signed, sym, t0};
use proptest::prelude::*;
use rust_decimal::Decimal;
use tradeengine_core::attribution::{Bucket, BucketBook, Event, SymbolBook, desired_positions};
use tradeengine_core::{
    AccountSizing, BlendPolicy, PlanInput, SizeInput, SymbolConfig, blend, plan, size_target,
};
use tradeengine_model::{
    AccountName, Instrument, MarginMode, OrderKind, PlanId, Position, Price, Quantity, Sleeve,
    SleeveOrigin, SleeveState, SourceId,
};

const SOURCES: [&str; 3] = ["alpha", "beta", "gamma"];

#[derive(Debug, Clone)]
enum Step {
    /// Each source's depth in thousandths (`None`: flat), the price in cents, the share of each
    /// leg that fills (percent), the fill's distance from the price (bps) and its fee (bps).
    Cycle {
        depths: [Option<i64>; 3],
        cents: i64,
        fill_pct: i64,
        offset_bps: i64,
        fee_bps: i64,
    },
    /// A manual trade on the venue: base units in thousandths, price in cents.
    Outside {
        milli: i64,
        cents: i64,
    },
    Funding {
        cents: i64,
    },
    Drift {
        milli: i64,
        cents: i64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (
            prop::array::uniform3(prop::option::of(-1000i64..=1000)),
            1_000_000i64..=9_000_000,
            prop::sample::select(vec![0i64, 37, 50, 100, 100, 100]),
            -30i64..=30,
            0i64..=10,
        )
            .prop_map(|(depths, cents, fill_pct, offset_bps, fee_bps)| Step::Cycle {
                depths,
                cents,
                fill_pct,
                offset_bps,
                fee_bps,
            }),
        1 => (-500i64..=500, 1_000_000i64..=9_000_000)
            .prop_map(|(milli, cents)| Step::Outside { milli, cents }),
        1 => (-5_000i64..=5_000).prop_map(|cents| Step::Funding { cents }),
        1 => (-500i64..=500, 1_000_000i64..=9_000_000)
            .prop_map(|(milli, cents)| Step::Drift { milli, cents }),
    ]
}

fn instrument() -> Instrument {
    Instrument {
        symbol: sym(),
        venue_symbol: "BTCUSDT".into(),
        qty_step: Decimal::new(1, 3),
        min_qty: Decimal::new(1, 3),
        max_market_qty: Some(Decimal::from(2)),
        tick_size: Decimal::new(1, 2),
        min_notional: Decimal::ZERO,
        contract_size: Decimal::ONE,
        max_leverage: Decimal::from(50),
    }
}

fn config() -> SymbolConfig {
    let weights = SOURCES
        .iter()
        .zip([Decimal::new(5, 1), Decimal::new(3, 1), Decimal::new(2, 1)])
        .map(|(s, w)| (SourceId::new(s).unwrap(), w))
        .collect();
    SymbolConfig::new(sym(), Decimal::from(3), weights)
}

fn sleeves(depths: &[Option<i64>; 3]) -> Vec<Sleeve> {
    SOURCES
        .iter()
        .zip(depths)
        .filter_map(|(s, d)| {
            let d = (*d)?;
            let mut sl = Sleeve::flat(SourceId::new(s).unwrap(), sym(), t0());
            sl.state = SleeveState::Open;
            sl.exposure = SleeveOrigin::Depth(Decimal::new(d, 3));
            Some(sl)
        })
        .collect()
}

/// The account's own P&L, straight from the list of cash flows and the position.
#[derive(Debug, Default)]
struct Account {
    qty: Decimal,
    cash: Decimal,
}

impl Account {
    fn pnl(&self, mark: Decimal) -> Decimal {
        self.cash + self.qty * mark
    }
}

struct Run {
    book: SymbolBook,
    account: Account,
    plans: u32,
}

impl Run {
    fn apply(&mut self, event: &Event) {
        self.book.apply(event).unwrap();
        match event {
            Event::Fill {
                qty, price, fee, ..
            } => {
                self.account.qty += qty;
                self.account.cash -= qty * price.get() + fee;
            }
            Event::Drift { qty, price } => {
                self.account.qty += qty;
                self.account.cash -= qty * price.get();
            }
            Event::Funding { amount } => self.account.cash += amount,
            Event::Rebalance { .. } => {}
        }
    }

    /// One engine cycle at `price`; returns whether every source reached its desired position
    /// (a plan that was not held back and filled in full), with the desired positions.
    fn cycle(
        &mut self,
        depths: &[Option<i64>; 3],
        price: Decimal,
        fill_pct: i64,
        offset_bps: i64,
        fee_bps: i64,
    ) -> Option<BTreeMap<SourceId, Decimal>> {
        let instrument = instrument();
        let p = Price::new(price).unwrap();
        let policy = BlendPolicy::default();
        let b = blend(&config(), &sleeves(depths), &policy, t0()).unwrap();
        let account = AccountSizing {
            value: Decimal::from(10_000),
            leverage_override: None,
        };
        let input = SizeInput {
            blend: &b,
            price: p,
            instrument: &instrument,
        };
        let target = size_target(&input, &account, &policy).unwrap();
        let desired = desired_positions(&b, &target, account.value).unwrap();
        self.plans += 1;
        let plan_id = PlanId::new(&format!("p{}", self.plans)).unwrap();
        let current = Position {
            symbol: sym(),
            size: Quantity::new(self.account.qty),
            entry_price: None,
            leverage: Decimal::from(3),
            margin_mode: MarginMode::Cross,
        };
        let made = plan(&PlanInput {
            plan_id: &plan_id,
            account: &AccountName::new("acct").unwrap(),
            now: t0(),
            current: &current,
            target: target.qty,
            unrounded_target: target.unrounded_qty,
            target_leverage: target.leverage,
            margin_mode: MarginMode::Cross,
            instrument: &instrument,
            price: p,
            drift_band: Decimal::new(1, 3),
            min_notional: Decimal::ZERO,
            kind: OrderKind::Market,
        })
        .unwrap();
        let legs: Vec<_> = made.legs().cloned().collect();
        self.apply(&Event::Rebalance {
            desired: desired.clone(),
            target: made.target.get(),
            reference: p,
            orders: legs.iter().map(|l| l.client_order_id.clone()).collect(),
        });
        let fill_price =
            (price * (Decimal::from(10_000 + offset_bps)) / Decimal::from(10_000)).round_dp(2);
        for leg in &legs {
            let qty = (leg.qty * Decimal::from(fill_pct) / Decimal::from(100))
                .round_dp_with_strategy(3, rust_decimal::RoundingStrategy::ToZero);
            if qty.is_zero() {
                continue;
            }
            let fee =
                (qty * fill_price * Decimal::from(fee_bps) / Decimal::from(10_000)).round_dp(8);
            self.apply(&Event::Fill {
                client_order_id: Some(leg.client_order_id.clone()),
                qty: signed(leg.side, qty),
                price: Price::new(fill_price).unwrap(),
                fee,
            });
        }
        (made.skipped.is_none() && fill_pct == 100 && !legs.is_empty()).then_some(desired)
    }
}

fn check_identity(run: &Run, mark: Decimal) -> Result<(), TestCaseError> {
    prop_assert_eq!(run.book.identity_gap().unwrap(), BucketBook::default());
    let marked = run.book.mark(Price::new(mark).unwrap()).unwrap();
    prop_assert_eq!(marked.rounding, Decimal::ZERO);
    let sum: Decimal = marked.buckets.iter().map(|(_, l)| l.pnl).sum();
    prop_assert_eq!(sum, marked.account.pnl);
    prop_assert_eq!(marked.account.pnl, run.account.pnl(mark));
    Ok(())
}

#[test]
fn sources_plus_unattributed_equal_the_account_after_every_event() {
    check_seeded(
        19,
        Some(256),
        prop::collection::vec(step(), 1..40),
        |steps| {
            let mut run = Run {
                book: SymbolBook::new(),
                account: Account::default(),
                plans: 0,
            };
            let mut mark = Decimal::from(50_000);
            for s in &steps {
                match s {
                    Step::Cycle {
                        depths,
                        cents,
                        fill_pct,
                        offset_bps,
                        fee_bps,
                    } => {
                        mark = Decimal::new(*cents, 2);
                        let outside_free = run.book.bucket(&Bucket::Unattributed).is_none();
                        if let Some(desired) =
                            run.cycle(depths, mark, *fill_pct, *offset_bps, *fee_bps)
                            && outside_free
                        {
                            // A plan filled in full puts every source on its desired position,
                            // to the split precision.
                            for (source, want) in desired {
                                let held = run
                                    .book
                                    .bucket(&Bucket::Source(source.clone()))
                                    .map_or(Decimal::ZERO, |b| b.qty);
                                prop_assert!(
                                    (held - want).abs() <= Decimal::new(1, 9),
                                    "{source}: held {held}, wanted {want}"
                                );
                            }
                        }
                    }
                    Step::Outside { milli, cents } => {
                        if *milli != 0 {
                            run.apply(&Event::Fill {
                                client_order_id: None,
                                qty: Decimal::new(*milli, 3),
                                price: Price::new(Decimal::new(*cents, 2)).unwrap(),
                                fee: Decimal::new(milli.abs(), 4),
                            });
                        }
                    }
                    Step::Funding { cents } => run.apply(&Event::Funding {
                        amount: Decimal::new(*cents, 2),
                    }),
                    Step::Drift { milli, cents } => run.apply(&Event::Drift {
                        qty: Decimal::new(*milli, 3),
                        price: Price::new(Decimal::new(*cents, 2)).unwrap(),
                    }),
                }
                check_identity(&run, mark)?;
                // Any other mark too: the identity does not depend on the price.
                check_identity(&run, mark * Decimal::new(13, 1))?;
            }
            Ok(())
        },
    );
}

#[test]
fn rebuilding_from_the_stored_events_gives_the_same_books() {
    check_seeded(
        20,
        Some(64),
        prop::collection::vec(step(), 1..30),
        |steps| {
            let mut events = Vec::new();
            let mut book = SymbolBook::new();
            for (k, s) in steps.iter().enumerate() {
                let event = match s {
                    Step::Cycle { cents, .. } | Step::Outside { cents, .. } => Event::Fill {
                        client_order_id: None,
                        qty: Decimal::from(k as i64 % 3 - 1),
                        price: Price::new(Decimal::new(*cents, 2)).unwrap(),
                        fee: Decimal::new(1, 2),
                    },
                    Step::Funding { cents } => Event::Funding {
                        amount: Decimal::new(*cents, 2),
                    },
                    Step::Drift { milli, cents } => Event::Drift {
                        qty: Decimal::new(*milli, 3),
                        price: Price::new(Decimal::new(*cents, 2)).unwrap(),
                    },
                };
                let json = serde_json::to_string(&event).unwrap();
                events.push(serde_json::from_str::<Event>(&json).unwrap());
                book.apply(&event).unwrap();
            }
            let mut rebuilt = SymbolBook::new();
            for e in &events {
                rebuilt.apply(e).unwrap();
            }
            prop_assert_eq!(rebuilt, book);
            Ok(())
        },
    );
}
