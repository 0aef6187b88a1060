#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Every metric `/metrics` exposes carries `# HELP` and `# TYPE`: a scrape of the paper demo
//! (with the binary's recorder) finds no metric family without them, and every metric name
//! recorded anywhere in the sources has a help row (so a metric that only appears on a rare
//! path, e.g. a broken audit chain, is covered too).

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;

use tradeengine_server::metrics_help::help_of;

fn get(addr: SocketAddr, path: &str) -> String {
    common::get_raw(addr, path)
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

/// Metric family names in a Prometheus text body (histogram series folded into their family),
/// and the names that have `# HELP` and `# TYPE` lines.
fn families(body: &str) -> (BTreeSet<String>, BTreeSet<String>, BTreeSet<String>) {
    let (mut names, mut help, mut types) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            help.insert(rest.split(' ').next().unwrap().to_string());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            types.insert(rest.split(' ').next().unwrap().to_string());
        } else if !line.is_empty() && !line.starts_with('#') {
            let name = line.split(['{', ' ']).next().unwrap();
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .filter(|base| body.contains(&format!("# TYPE {base} histogram")))
                .unwrap_or(name);
            names.insert(family.to_string());
        }
    }
    (names, help, types)
}

#[test]
fn families_parse_histograms_into_one_name() {
    let body = "# HELP a_seconds x\n# TYPE a_seconds histogram\na_seconds_bucket{le=\"1\"} 1\na_seconds_sum 1\na_seconds_count 1\nb_total 3\n";
    let (names, help, types) = families(body);
    assert_eq!(
        names,
        ["a_seconds", "b_total"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    assert!(help.contains("a_seconds") && !help.contains("b_total"));
    assert!(types.contains("a_seconds"));
}

/// `tradeengine_*` names passed to `counter!`, `gauge!` or `histogram!` in `dir`'s sources.
fn recorded_names(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            recorded_names(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for macro_name in ["counter!(", "gauge!(", "histogram!("] {
                let mut rest = text.as_str();
                while let Some(at) = rest.find(macro_name) {
                    rest = &rest[at + macro_name.len()..];
                    let arg = rest.trim_start();
                    if let Some(quoted) = arg.strip_prefix("\"tradeengine_") {
                        let len = quoted.find('"').unwrap();
                        out.insert(format!("tradeengine_{}", &quoted[..len]));
                    }
                }
            }
        }
    }
}

#[test]
fn every_metric_recorded_in_the_sources_has_help() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(&crates).unwrap() {
        let src = entry.unwrap().path().join("src");
        if src.is_dir() {
            recorded_names(&src, &mut names);
        }
    }
    assert!(names.len() >= 25, "found only {names:?}");
    let missing: Vec<_> = names.iter().filter(|n| help_of(n).is_none()).collect();
    assert!(
        missing.is_empty(),
        "metrics without a help row in crates/server/src/metrics_help.rs: {missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_of_the_demo_has_help_and_type_for_every_metric() {
    let handle = tradeengine_server::metrics::install().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let config = common::demo_config_in(dir.path());
    let engine = common::start(config, store.clone(), &common::DEMO_ENV).await;
    let auth = common::auth(None, None, true);
    let app = common::app(&engine, store.clone(), auth, Some(handle));
    let (addr, stop, server) = common::serve(app).await;

    // Wait (not a timed assertion) until the demo has cycled and filled an order, so the
    // engine's own counters and histograms are in the scrape beside the scrape-time gauges.
    let body = tokio::task::spawn_blocking(move || {
        let mut body = String::new();
        for _ in 0..120 {
            body = get(addr, "/metrics");
            if body.contains("tradeengine_cycles_total")
                && body.contains("tradeengine_orders_total")
                && body.contains("tradeengine_position_size")
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        body
    })
    .await
    .unwrap();
    stop.cancel();
    let _ = server.await;
    engine.shutdown().await;

    let (names, help, types) = families(&body);
    for wanted in [
        "tradeengine_cycles_total",
        "tradeengine_orders_total",
        "tradeengine_cycle_seconds",
        "tradeengine_account_equity",
        "tradeengine_position_size",
        "tradeengine_kill_switch_engaged",
    ] {
        assert!(
            names.contains(wanted),
            "{wanted} not in the scrape:\n{body}"
        );
    }
    let no_help: Vec<_> = names.iter().filter(|n| !help.contains(*n)).collect();
    assert!(
        no_help.is_empty(),
        "metrics without # HELP: {no_help:?}\n{body}"
    );
    let no_type: Vec<_> = names.iter().filter(|n| !types.contains(*n)).collect();
    assert!(
        no_type.is_empty(),
        "metrics without # TYPE: {no_type:?}\n{body}"
    );
}
