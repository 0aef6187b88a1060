//! A paper session on the seeded random walk, saved to a JSON state file: shows the venue
//! end to end and measures what a call costs (each state change is an atomic, fsynced save).
//!
//! `cargo run -p tradeengine-venues --example paper_session -- [STATE_FILE] [STEPS]`
//!
//! Run it twice with the same file: the second run continues the first account.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeZone;
use rust_decimal::Decimal;
use tradeengine_model::{ClientOrderId, ManualClock, OrderKind, OrderRequest, Side, Symbol};
use tradeengine_venues::Venue;
use tradeengine_venues::feed::{RandomWalkConfig, RandomWalkFeed};
use tradeengine_venues::paper::{JsonFileStore, PaperConfig, PaperVenue};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "paper-session.json".into());
    let steps: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(600);

    let origin = chrono::Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .ok_or("bad origin")?;
    let feed = Arc::new(RandomWalkFeed::new(RandomWalkConfig::demo(7, origin))?);
    let store = JsonFileStore::open(&path)?;
    let clock = Arc::new(ManualClock::new(origin));
    let venue = PaperVenue::open(PaperConfig::default(), feed, clock.clone(), Box::new(store))?;
    // Continue the clock after the last fill of an earlier run.
    if let Some(last) = venue.fills()?.last() {
        clock.set(last.filled_at + chrono::TimeDelta::seconds(1));
    }
    let btc = Symbol::new("BTCUSDT")?;
    venue.set_leverage(&btc, Decimal::from(3)).await?;

    // Client ids must be unique per account across runs.
    let run = tradeengine_model::Clock::now(&*clock).timestamp();
    let (mut writes, mut reads) = (Vec::new(), Vec::new());
    for step in 0..steps {
        if step % 10 == 0 {
            // Target flips between +0.1 and −0.1 BTC every 10 s: close and reopen.
            let held = venue.positions().await?.first().map(|p| p.size.get());
            let target = if (step / 10) % 2 == 0 {
                Decimal::new(1, 1)
            } else {
                Decimal::new(-1, 1)
            };
            let delta = target - held.unwrap_or_default();
            if let Some(side) = Side::for_delta(delta) {
                let order = OrderRequest {
                    client_order_id: ClientOrderId::new(&format!("s{run}-{step}"))?,
                    symbol: btc.clone(),
                    side,
                    qty: delta.abs(),
                    kind: OrderKind::Market,
                    reduce_only: false,
                };
                let t = Instant::now();
                venue.place_order(&order).await?;
                writes.push(t.elapsed());
            }
        }
        let t = Instant::now();
        venue.account_value().await?;
        reads.push(t.elapsed());
        clock.advance(chrono::TimeDelta::seconds(1));
    }
    let pnl = venue.pnl()?;
    println!("state file   {path}");
    println!("fills        {}", venue.fills()?.len());
    println!(
        "positions    {:?}",
        venue
            .positions()
            .await?
            .iter()
            .map(|p| (p.symbol.to_string(), p.size.to_string()))
            .collect::<Vec<_>>()
    );
    println!("wallet       {} USDT", pnl.wallet_balance.round_dp(4));
    println!("realised     {} USDT", pnl.realised_pnl.round_dp(4));
    println!("unrealised   {} USDT", pnl.unrealised_pnl.round_dp(4));
    println!("fees         {} USDT", pnl.fees_paid.round_dp(4));
    println!("equity (V)   {} USDT", pnl.equity.round_dp(4));
    println!(
        "place_order  {} (fill + atomic fsynced save)",
        stats(&mut writes)
    );
    println!("account_value {} (no save)", stats(&mut reads));
    Ok(())
}

fn stats(samples: &mut [Duration]) -> String {
    if samples.is_empty() {
        return "no samples".into();
    }
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    format!(
        "n={} p50={:?} p99={:?} max={:?}",
        samples.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    )
}
