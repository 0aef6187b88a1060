//! Ranking 500 miners × 200 positions (target: under 5 ms, so a poll never
//! delays intake; sirouk/trade-engine's Python took 0.42 s). The payload is synthetic, PTN-shaped,
//! generated in code with a fixed seed.
#![allow(clippy::unwrap_used, missing_debug_implementations)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tradeengine_model::SourceId;
use tradeengine_signals::SymbolMap;
use tradeengine_signals::sn8::{Scoring, Sn8Config, Universe, parse_positions, rank};

fn bench(c: &mut Criterion) {
    let body = common::synthetic_payload(500, 200, 42).to_string();
    let doc = parse_positions(body.as_bytes()).unwrap();
    let mapping = SymbolMap::new([
        ("BTCUSD", "BTCUSDT"),
        ("ETHUSD", "ETHUSDT"),
        ("SOLUSD", "SOLUSDT"),
    ])
    .unwrap();
    let universe = Universe::from_mapping(&mapping);
    let mut cfg = Sn8Config::new(SourceId::new("sn8").unwrap());
    cfg.scoring = Scoring::Seed;
    let r = rank(&doc, None, &cfg, &universe, common::NOW_MS).unwrap();
    eprintln!(
        "payload {} MB, {} miners, {} ranked, excluded {:?}",
        body.len() / 1_000_000,
        r.considered,
        r.miners.len(),
        r.excluded
    );

    c.bench_function("sn8_rank_seed_500x200", |b| {
        b.iter(|| rank(black_box(&doc), None, &cfg, &universe, common::NOW_MS).unwrap())
    });
    let mut top = cfg.clone();
    top.top_n = Some(25);
    c.bench_function("sn8_rank_seed_500x200_top25", |b| {
        b.iter(|| rank(black_box(&doc), None, &top, &universe, common::NOW_MS).unwrap())
    });
    let mut g = c.benchmark_group("sn8_parse");
    g.sample_size(10);
    g.bench_function("parse_positions_500x200", |b| {
        b.iter(|| parse_positions(black_box(body.as_bytes())).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
