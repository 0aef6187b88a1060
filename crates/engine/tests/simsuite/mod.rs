//! The deterministic fault-survival suite (RELIABILITY.md): seeded scenarios drive the engine's
//! account workers against `venue-sim` with latency, 5xx, 429, timeouts and 5xx answers after
//! accept, dropped connections and streams, partial fills, rejects, clock skew, store failures on
//! the faulted account's store handle ([`storefault`]) and in-process `kill -9` at
//! random await points followed by a restart on the same store; after each scenario the
//! order-path invariants of ARCHITECTURE.md are checked ([`invariants`]).
//!
//! Knobs: `SIM_SCENARIOS` (default 1000), `SIM_FIRST_SEED` (default 1; seeds run from it
//! upward), `SIM_SEED` (run that one seed only), `SIM_PARALLEL` (scenarios at once, default 16:
//! most of a scenario's time is spent waiting out timeouts and retry pauses), `SIM_STRICT=1` (known
//! issues fail too), `SIM_REPORT` (write the counts as Markdown to that file).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod crash;
pub mod invariants;
pub mod rng;
pub mod scenario;
pub mod storefault;
pub mod world;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tradeengine_engine::worker::cycle::{CycleError, CycleReport};
use tradeengine_venue_sim::Fault;

use invariants::AccountFigures;
use scenario::{FaultKind, FaultSpec, Scenario};
use world::{Engine, World, fault_path};

/// A defect the suite found outside the engine's worker and recovery code, reported and not
/// fixed here: a scenario that fails with exactly this signature is counted as a known issue
/// (listed in the report and RELIABILITY.md) instead of failing the run. `SIM_STRICT=1` fails
/// them too.
pub struct KnownIssue {
    pub id: &'static str,
    pub what: &'static str,
    pub matches: fn(&Scenario, &str) -> bool,
}

pub const KNOWN_ISSUES: &[KnownIssue] = &[KnownIssue {
    id: "bybit-rate-limit-reset-after-clock-jump",
    what: "Bybit adapter: a rate-limit answer whose `X-Bapi-Limit-Reset-Timestamp` is read with a clock offset made stale by a venue clock jump pauses the account for the size of the jump (up to the 60 s cap), so the first cycle after the faults fails as rate limited",
    matches: |sc, failure| {
        let kinds = || {
            sc.rounds
                .iter()
                .flat_map(|r| r.faults.iter().map(|f| f.kind))
        };
        sc.venue_a == tradeengine_venue_sim::VenueId::Bybit
            && kinds().any(|k| k == FaultKind::ClockSkew)
            && kinds().any(|k| k == FaultKind::RateLimit)
            && failure.contains("RateLimited")
            && failure.contains("rate limited by the venue for another")
    },
}];

/// Longest one scenario may take before it counts as hung (a failure, with its seed).
const SCENARIO_LIMIT: Duration = Duration::from_secs(60);

/// What one scenario did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub seed: u64,
    pub failure: Option<String>,
    /// The known issue this scenario's failure is (then `failure` is `None`).
    pub known_issue: Option<&'static str>,
    pub faults: BTreeMap<FaultKind, u64>,
    pub crashes: u64,
    /// Crash points armed past the end of their round's cycle (no crash happened).
    pub crashes_missed: u64,
    pub died_in: BTreeMap<String, u64>,
    pub boots: u32,
    pub cycles: u64,
    /// Cycles of the faulted account that failed outright (the venue could not be read).
    pub failed_cycles_a: u64,
    /// Symbols the faulted account could not reconcile in a faulted cycle.
    pub symbol_errors_a: u64,
    /// Store calls of the faulted account refused by an injected store failure, by call.
    pub store_refused: BTreeMap<String, u64>,
    pub a: AccountFigures,
    pub b: AccountFigures,
    pub elapsed: Duration,
}

fn reproduce(seed: u64) -> String {
    format!("SIM_SEED={seed} cargo test -p tradeengine-engine --test simulation -- --nocapture")
}

fn inject(world: &World, engine: &Engine, venue: tradeengine_venue_sim::VenueId, f: &FaultSpec) {
    if let Some(failure) = f.kind.store_failure() {
        engine
            .store_faults_a
            .inject(failure, f.param as u32, f.times);
        return;
    }
    let faults = world.sim_a.faults();
    let path = fault_path(venue, f.path);
    let ms = |v: i64| Duration::from_millis(v.unsigned_abs());
    match f.kind {
        FaultKind::Latency => faults.inject(path, f.times, Fault::Delay(ms(f.param))),
        FaultKind::ServerError => faults.inject(path, f.times, Fault::Status(f.param as u16)),
        FaultKind::RateLimit => faults.inject(
            path,
            f.times,
            Fault::RateLimit {
                retry_after: ms(f.param),
            },
        ),
        FaultKind::TimeoutAfterAccept => faults.inject(
            path,
            f.times,
            Fault::TimeoutAfterAccept { hold: ms(f.param) },
        ),
        FaultKind::ReadTimeout => faults.inject(path, f.times, Fault::Delay(ms(f.param))),
        FaultKind::DropAfterAccept => faults.inject(path, f.times, Fault::DropAfterAccept),
        FaultKind::DropBeforeAccept => faults.inject(path, f.times, Fault::DropBeforeAccept),
        FaultKind::PartialFill => faults.partial_fill_next(rust_decimal::Decimal::new(f.param, 2)),
        FaultKind::Reject => faults.inject(path, f.times, Fault::Reject),
        FaultKind::StreamDrop => faults.drop_streams(),
        FaultKind::ClockSkew => faults.set_clock_skew_ms(f.param),
        FaultKind::StatusAfterAccept => {
            faults.inject(path, f.times, Fault::StatusAfterAccept(f.param as u16))
        }
        FaultKind::StoreLocked | FaultKind::StoreDiskFull | FaultKind::StoreReadOnly => {}
    }
}

fn merge(into: &mut BTreeMap<String, u64>, from: BTreeMap<String, u64>) {
    for (k, v) in from {
        *into.entry(k).or_insert(0) += v;
    }
}

type Cycles = (
    Result<CycleReport, CycleError>,
    Result<CycleReport, CycleError>,
);

/// Runs one cycle of each account, `a` then `b`, in one "process": if the crash switch fires,
/// the whole thing is dropped where it stands and `None` is returned.
async fn run_cycles(engine: &mut Engine) -> Option<Cycles> {
    let switch = engine.switch.clone();
    let a = &mut engine.a;
    let b = &mut engine.b;
    tokio::select! {
        biased;
        _ = switch.fired() => None,
        r = async {
            let ra = a.cycle().await;
            let rb = b.cycle().await;
            (ra, rb)
        } => Some(r),
    }
}

/// The clean account must see nothing of the other's trouble.
fn check_b(round: &str, rb: &Result<CycleReport, CycleError>) -> Result<(), String> {
    match rb {
        Ok(r) if r.symbol_errors.is_empty() && r.rejected == 0 => Ok(()),
        Ok(r) => Err(format!(
            "account b (no faults) was affected in {round}: {:?}",
            r.symbol_errors
        )),
        Err(e) => Err(format!(
            "account b (no faults) failed its cycle in {round}: {e}"
        )),
    }
}

async fn scenario_body(sc: &Scenario, out: &mut Outcome) -> Result<(), String> {
    let mut world = World::new(sc).await?;
    let mut engine = world.boot().await?;
    for (i, d) in sc.initial.iter().enumerate() {
        world.signal(&engine, i, *d).await?;
    }
    for (n, round) in sc.rounds.iter().enumerate() {
        let label = format!("round {}", n + 1);
        for (i, d) in &round.depths {
            world.signal(&engine, *i, *d).await?;
        }
        for (i, m) in &round.price_moves {
            world.move_price(*i, *m);
        }
        for f in &round.faults {
            inject(&world, &engine, sc.venue_a, f);
            *out.faults.entry(f.kind).or_insert(0) += 1;
        }
        if let Some(point) = round.crash {
            engine.switch.arm(point);
        }
        let ran = run_cycles(&mut engine).await;
        engine.switch.disarm();
        match ran {
            None => {
                out.crashes += 1;
                let what = engine.switch.died_in.lock().unwrap().clone();
                *out.died_in.entry(what.unwrap_or_default()).or_insert(0) += 1;
                // The process is gone: its cycle, adapters, streams and store handle with it.
                merge(
                    &mut out.store_refused,
                    engine.store_faults_a.refused_by_call(),
                );
                drop(engine);
                world.quiesce().await;
                engine = world.boot().await?;
            }
            Some((ra, rb)) => {
                out.cycles += 2;
                if round.crash.is_some() {
                    out.crashes_missed += 1;
                }
                match &ra {
                    Ok(r) => out.symbol_errors_a += r.symbol_errors.len() as u64,
                    Err(_) => out.failed_cycles_a += 1,
                }
                check_b(&label, &rb)?;
            }
        }
    }

    // The faults stop. Within one cycle each account is at its target (or halted, saying why).
    world.sim_a.faults().clear();
    engine.store_faults_a.clear();
    merge(
        &mut out.store_refused,
        engine.store_faults_a.refused_by_call(),
    );
    world.quiesce().await;
    // A venue's business refusal backs its symbol off (1 s, doubling) until the target or an
    // operator changes something. The refusals are over: act as an operator
    // would and reload the configuration, which ends every refusal episode.
    engine.state.set_config((*engine.state.config()).clone());
    let (ra, rb) = run_cycles(&mut engine)
        .await
        .ok_or("the engine died with no crash armed")?;
    out.cycles += 2;
    if let Err(e) = &ra {
        return Err(format!(
            "account a: the first cycle after the faults failed: {e}"
        ));
    }
    check_b("the clean cycle", &rb)?;
    out.a = invariants::check_account(&engine, "a", &world.sim_a)
        .await
        .map_err(|e| format!("after the clean cycle: {e}"))?;
    out.b = invariants::check_account(&engine, "b", &world.sim_b)
        .await
        .map_err(|e| format!("after the clean cycle: {e}"))?;
    if out.b.resubmissions > 0 {
        return Err(format!(
            "account b (no faults) re-sent {} orders",
            out.b.resubmissions
        ));
    }
    // Invariant 7: the audit chain over everything both boots wrote verifies.
    let audit = engine
        .store
        .verify_audit()
        .await
        .map_err(|e| format!("verify audit: {e}"))?;
    if let Some((seq, why)) = audit.first_bad {
        return Err(format!("the audit chain breaks at event {seq}: {why}"));
    }
    if audit.events == 0 {
        return Err("the audit chain is empty".into());
    }
    out.boots = world.boots;
    Ok(())
}

/// Runs one seed to its outcome; never panics (a panic inside is caught as a failure).
pub async fn run_one(seed: u64) -> Outcome {
    let sc = Scenario::generate(seed);
    let started = Instant::now();
    let task = tokio::spawn(async move {
        let mut out = Outcome {
            seed,
            ..Outcome::default()
        };
        let result = tokio::time::timeout(SCENARIO_LIMIT, scenario_body(&sc, &mut out)).await;
        out.failure = match result {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(_) => Some(format!("hung for {SCENARIO_LIMIT:?}")),
        };
        out
    });
    let mut out = match task.await {
        Ok(out) => out,
        Err(e) => Outcome {
            seed,
            failure: Some(format!("panicked: {e}")),
            ..Outcome::default()
        },
    };
    out.elapsed = started.elapsed();
    let strict = std::env::var("SIM_STRICT").is_ok_and(|v| v == "1");
    if !strict
        && let Some(f) = &out.failure
        && let Some(k) = KNOWN_ISSUES
            .iter()
            .find(|k| (k.matches)(&Scenario::generate(seed), f))
    {
        out.known_issue = Some(k.id);
        out.failure = None;
    }
    out
}

fn env_u64(key: &str) -> Option<u64> {
    std::env::var(key).ok().and_then(|v| v.trim().parse().ok())
}

/// The suite: every seed, a few at a time, then the report and one assertion over all.
pub async fn run_suite() {
    let seeds: Vec<u64> = match env_u64("SIM_SEED") {
        Some(seed) => vec![seed],
        None => {
            let n = env_u64("SIM_SCENARIOS").unwrap_or(1000);
            let first = env_u64("SIM_FIRST_SEED").unwrap_or(1);
            (first..first + n).collect()
        }
    };
    let parallel = env_u64("SIM_PARALLEL").unwrap_or(16).max(1) as usize;
    if seeds.len() == 1 {
        println!(
            "scenario {}: {}",
            seeds[0],
            Scenario::generate(seeds[0]).describe()
        );
    }
    let started = Instant::now();
    let outcomes: Vec<Outcome> = futures::stream::iter(seeds)
        .map(run_one)
        .buffer_unordered(parallel)
        .collect()
        .await;
    let report = report(&outcomes, started.elapsed(), parallel);
    println!("{report}");
    if let Ok(path) = std::env::var("SIM_REPORT") {
        std::fs::write(&path, &report).unwrap();
    }
    let mut failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.failure.is_some()).collect();
    failed.sort_by_key(|o| o.seed);
    if !failed.is_empty() {
        let mut msg = format!("{} of {} scenarios failed:\n", failed.len(), outcomes.len());
        for o in failed.iter().take(20) {
            let _ = writeln!(
                msg,
                "- seed {}: {}\n  scenario: {}\n  reproduce: {}",
                o.seed,
                o.failure.as_deref().unwrap_or_default(),
                Scenario::generate(o.seed).describe(),
                reproduce(o.seed)
            );
        }
        panic!("{msg}");
    }
}

/// The counts, as Markdown (pasted into RELIABILITY.md).
pub fn report(outcomes: &[Outcome], elapsed: Duration, parallel: usize) -> String {
    let n = outcomes.len() as u64;
    let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
    let sum = |f: &dyn Fn(&Outcome) -> u64| outcomes.iter().map(f).sum::<u64>();
    let mut faults: BTreeMap<FaultKind, u64> = BTreeMap::new();
    let mut scenarios_with: BTreeMap<FaultKind, u64> = BTreeMap::new();
    let mut died_in: BTreeMap<String, u64> = BTreeMap::new();
    let mut halted = 0;
    for o in outcomes {
        for (k, v) in &o.faults {
            *faults.entry(*k).or_insert(0) += v;
            *scenarios_with.entry(*k).or_insert(0) += 1;
        }
        for (k, v) in &o.died_in {
            *died_in.entry(k.clone()).or_insert(0) += v;
        }
        if o.a.halted.is_some() || o.b.halted.is_some() {
            halted += 1;
        }
    }
    let mut known_seeds: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for o in outcomes {
        if let Some(k) = o.known_issue {
            known_seeds.entry(k).or_default().push(o.seed);
        }
    }
    let known_count: usize = known_seeds.values().map(Vec::len).sum();
    let slowest = outcomes.iter().map(|o| o.elapsed).max().unwrap_or_default();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| scenarios | passed | failed | known issues | ended halted (with reason) | wall time | parallel | slowest scenario |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
    let _ = writeln!(
        s,
        "| {n} | {} | {failed} | {} | {halted} | {:.1} s | {parallel} | {:.2} s |",
        n as usize - failed - known_count,
        known_count,
        elapsed.as_secs_f64(),
        slowest.as_secs_f64()
    );
    if !known_seeds.is_empty() {
        let _ = writeln!(s, "\n| known issue | scenarios | seeds |");
        let _ = writeln!(s, "|---|---|---|");
        for (k, seeds) in &mut known_seeds {
            seeds.sort_unstable();
            let list: Vec<String> = seeds.iter().map(u64::to_string).collect();
            let _ = writeln!(s, "| {k} | {} | {} |", seeds.len(), list.join(", "));
        }
    }
    let _ = writeln!(
        s,
        "\n| fault injected (account a) | injections | scenarios |"
    );
    let _ = writeln!(s, "|---|---|---|");
    for (k, v) in &faults {
        let _ = writeln!(s, "| {} | {v} | {} |", k.name(), scenarios_with[k]);
    }
    let _ = writeln!(s, "\n| engine runs | count |");
    let _ = writeln!(s, "|---|---|");
    let _ = writeln!(
        s,
        "| in-process kill -9 (crash + restart on the same store) | {} |",
        sum(&|o| o.crashes)
    );
    let _ = writeln!(
        s,
        "| crash points armed past the end of the cycle (no crash) | {} |",
        sum(&|o| o.crashes_missed)
    );
    let _ = writeln!(s, "| engine boots | {} |", sum(&|o| u64::from(o.boots)));
    let _ = writeln!(
        s,
        "| completed cycles (both accounts) | {} |",
        sum(&|o| o.cycles)
    );
    let _ = writeln!(
        s,
        "| faulted cycles of account a that failed outright | {} |",
        sum(&|o| o.failed_cycles_a)
    );
    let _ = writeln!(
        s,
        "| symbols account a could not reconcile in a faulted cycle | {} |",
        sum(&|o| o.symbol_errors_a)
    );
    let _ = writeln!(
        s,
        "| store calls of account a refused (locked / disk full / read-only) | {} |",
        sum(&|o| o.store_refused.values().sum())
    );
    let _ = writeln!(
        s,
        "| orders accepted by the venues (a / b) | {} / {} |",
        sum(&|o| o.a.orders_at_venue as u64),
        sum(&|o| o.b.orders_at_venue as u64)
    );
    let _ = writeln!(
        s,
        "| order-entry HTTP requests (a / b) | {} / {} |",
        sum(&|o| o.a.create_requests),
        sum(&|o| o.b.create_requests)
    );
    let _ = writeln!(
        s,
        "| orders reaching the matching engine (a / b) | {} / {} |",
        sum(&|o| o.a.submissions),
        sum(&|o| o.b.submissions)
    );
    let _ = writeln!(
        s,
        "| a client id reaching the matching engine a second time (a / b) | {} / {} |",
        sum(&|o| o.a.resubmissions),
        sum(&|o| o.b.resubmissions)
    );
    let _ = writeln!(s, "\n| where the engine was killed | count |");
    let _ = writeln!(s, "|---|---|");
    for (k, v) in &died_in {
        let _ = writeln!(s, "| {k} (before or after the call) | {v} |");
    }
    let mut refused: BTreeMap<&str, u64> = BTreeMap::new();
    for o in outcomes {
        for (k, v) in &o.store_refused {
            *refused.entry(k.as_str()).or_insert(0) += v;
        }
    }
    let _ = writeln!(
        s,
        "\n| account a's store call refused (injected store failure) | count |"
    );
    let _ = writeln!(s, "|---|---|");
    for (k, v) in &refused {
        let _ = writeln!(s, "| {k} | {v} |");
    }
    let mut states: BTreeMap<&str, u64> = BTreeMap::new();
    for o in outcomes {
        for (k, v) in &o.a.store_orders {
            *states.entry(*k).or_insert(0) += v;
        }
    }
    let _ = writeln!(
        s,
        "\n| final state of account a's orders in the store | count |"
    );
    let _ = writeln!(s, "|---|---|");
    for (k, v) in &states {
        let _ = writeln!(s, "| {k} | {v} |");
    }
    s
}
