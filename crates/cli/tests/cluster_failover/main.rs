#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Three `tradeengine run` processes (the real binary) share six accounts through one PostgreSQL
//! database (`engine.cluster = true`, 3 s leases), each account on its own venue simulator;
//! signals are posted to whichever process, standby or not.
//!
//! 1. All three start; the first takes every account, the others stand by (ready, holding none).
//! 2. A signal posted to a standby reaches all six accounts (the holder plans from it).
//! 3. `kill -9` the holder; a signal posted at once: the standbys take the accounts over,
//!    reconcile, and trade to the new target.
//! 4. SIGSTOP the process holding the most accounts past its lease, post a signal to the
//!    other one, which takes them over; SIGCONT the stopped one, post the last signal to it.
//!
//! Then: every account is at the last target; no client id twice at any simulator; no order at
//! any simulator from the stopped process after it was stopped (its lease lapsed while it
//! was); every accepted signal is stored once and the sleeve carries the last one.
//!
//! Needs PostgreSQL (`TRADEENGINE_TEST_PG_URL`, default the local `test` database): skipped
//! loudly without it, failed under `CI=true`.

mod cluster;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

use tradeengine_store::OrderFilter;
use tradeengine_venue_sim::{SimOptions, VenueId, serve};

use cluster::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_fail_over_six_accounts() {
    let Some((url, options)) = pg_schema("failover").await else {
        return;
    };
    let started = Instant::now();
    let mut sims = Vec::new();
    for _ in 0..ACCOUNTS {
        sims.push(
            serve(
                VenueId::Bybit,
                "127.0.0.1:0".parse().unwrap(),
                SimOptions::new(VenueId::Bybit),
            )
            .await
            .unwrap(),
        );
    }
    let root = tempfile::tempdir().unwrap();
    // Started one after the other (each ready before the next): boot numbers 1, 2, 3.
    let mut nodes: Vec<Node> = Vec::new();
    for i in 0..3 {
        let port = free_port();
        let node = Node::start(
            root.path().join(format!("n{i}")),
            port,
            &config(i, port, &url, &sims),
            &sims,
        );
        let all: Vec<&Node> = nodes.iter().chain([&node]).collect();
        wait_until(
            &format!("n{i} ready"),
            &all,
            Duration::from_secs(20),
            || node.ready().is_some(),
        );
        drop(all);
        nodes.push(node);
    }
    let all: Vec<&Node> = nodes.iter().collect();
    wait_until("every account held", &all, Duration::from_secs(15), || {
        nodes.iter().map(|n| n.holds().len()).sum::<usize>() == ACCOUNTS
    });
    // A standby is ready and says it trades nothing.
    let first = nodes[0].holds().len();
    assert_eq!(first, ACCOUNTS, "the first process takes every account");
    let standby = nodes[1].ready().expect("a standby is ready");
    assert_eq!(standby["standby"], true, "{standby}");

    // 2. A signal to a standby moves every account.
    nodes[1].signal("s1", "long", "0.2");
    wait_until("all long after s1", &all, Duration::from_secs(20), || {
        signs(&sims).iter().all(|s| *s == 1)
    });

    // 3. kill -9 the holder; a signal right away, to the other standby.
    signal_stop(nodes[0].pid(), "-KILL");
    let killed_at = Instant::now();
    nodes[2].signal("s2", "short", "0.1");
    let live: Vec<&Node> = nodes[1..].iter().collect();
    wait_until(
        "all short after the kill",
        &live,
        Duration::from_secs(30),
        || signs(&sims).iter().all(|s| *s == -1),
    );
    let takeover = killed_at.elapsed();
    wait_until(
        "accounts held after the kill",
        &live,
        Duration::from_secs(10),
        || nodes[1].holds().len() + nodes[2].holds().len() == ACCOUNTS,
    );

    // 4. SIGSTOP the busier survivor past its lease; the other takes its accounts over.
    let (stopped, other) = if nodes[1].holds().len() >= nodes[2].holds().len() {
        (1, 2)
    } else {
        (2, 1)
    };
    let before_stop: BTreeSet<String> = sims
        .iter()
        .flat_map(|s| s.orders().into_iter().map(|o| o.client_id))
        .collect();
    eprintln!(
        "after the kill: n1 trades {:?}, n2 trades {:?}; stopping n{stopped}",
        nodes[1].holds(),
        nodes[2].holds()
    );
    signal_stop(nodes[stopped].pid(), "-STOP");
    let stopped_at = Instant::now();
    let survivor = [&nodes[other]];
    wait_until(
        "the survivor holds every account",
        &survivor,
        Duration::from_secs(20),
        || nodes[other].holds().len() == ACCOUNTS,
    );
    // Its last renewal ran at most one renewal tick (a second) before the stop.
    let moved = stopped_at.elapsed();
    assert!(
        moved >= Duration::from_secs(TTL_SECS - 1),
        "a suspended holder's accounts were taken before its lease could expire ({moved:?})"
    );
    nodes[other].signal("s3", "long", "0.3");
    wait_until(
        "all long after s3",
        &survivor,
        Duration::from_secs(20),
        || signs(&sims).iter().all(|s| *s == 1),
    );
    let traded = stopped_at.elapsed();
    signal_stop(nodes[stopped].pid(), "-CONT");
    // Resumed: it finds its leases gone and stands by (ready, holding nothing).
    wait_until(
        "the resumed process stands by",
        &live,
        Duration::from_secs(15),
        || {
            nodes[stopped]
                .ready()
                .is_some_and(|r| r["holds_accounts"].as_array().is_some_and(Vec::is_empty))
        },
    );
    // The last signal goes to it: a standby takes signals for the holder.
    nodes[stopped].signal("s4", "flat", "0");
    wait_until("all flat after s4", &live, Duration::from_secs(20), || {
        signs(&sims).iter().all(|s| *s == 0)
    });
    // A redelivery to any process is a duplicate.
    let again = nodes[other].signal("s4", "flat", "0");
    assert_eq!(again["status"], "duplicate", "{again}");

    // Visible: the API and the CLI name the processes and every account's holder and token.
    let (code, cluster) = http(
        nodes[other].port,
        "GET",
        "/api/v1/cluster",
        Some(READ_TOKEN),
        "",
    );
    assert_eq!(code, 200, "{cluster}");
    assert_eq!(cluster["cluster"], true);
    let leases = cluster["leases"].as_array().unwrap();
    assert_eq!(leases.len(), ACCOUNTS, "{cluster}");
    // What the dashboard shows per account: the holder's own API names itself as the process
    // trading each account it holds.
    let (code, accounts) = http(
        nodes[other].port,
        "GET",
        "/api/v1/accounts",
        Some(READ_TOKEN),
        "",
    );
    assert_eq!(code, 200, "{accounts}");
    for (name, view) in accounts.as_object().unwrap() {
        assert_eq!(
            view["lease_holder"],
            format!("n{other}"),
            "{name}: {accounts}"
        );
    }
    for l in leases {
        assert_eq!(l["holder"], format!("n{other}"), "{cluster}");
        assert!(
            l["token"].as_i64().unwrap() >= 3,
            "two take-overs at least: {cluster}"
        );
        assert!(l["expires_in_ms"].as_i64().unwrap() > 0, "{cluster}");
    }
    // The two live ones beat within 5 s; n0 has not beaten since it was killed (judged by the
    // time since the kill, not by the 5 s: on a loaded machine the take-over and this read can
    // come before n0's last beat is 5 s old).
    let since_kill = i64::try_from(killed_at.elapsed().as_millis()).unwrap();
    for n in cluster["nodes"].as_array().unwrap() {
        let age = n["heartbeat_age_ms"].as_i64().unwrap();
        if n["node_id"] == "n0" {
            assert!(
                age + 500 >= since_kill,
                "n0 beat after it was killed: {cluster}"
            );
        } else {
            assert!(age < 5_000, "the other two beat: {cluster}");
        }
    }
    let out = Command::new(BIN)
        .args(["--config", "tradeengine.toml", "cluster", "status"])
        .current_dir(&nodes[other].dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!("a0  held by n{other}")) && text.contains("standby"),
        "{text}"
    );

    // The store as all processes wrote it.
    let store = tradeengine_store::open_postgres(options, 2).await.unwrap();
    let orders = store
        .orders(&OrderFilter {
            limit: Some(10_000),
            ..OrderFilter::default()
        })
        .await
        .unwrap();
    let plan_of: BTreeMap<String, String> = orders
        .iter()
        .map(|o| (o.client_order_id.to_string(), o.plan_id.to_string()))
        .collect();
    let stopped_boot = u64::try_from(stopped + 1).unwrap();
    let mut sent = 0;
    let mut from_stopped_before = 0;
    for (i, sim) in sims.iter().enumerate() {
        let mut seen = BTreeSet::new();
        for o in sim.orders() {
            sent += 1;
            assert!(
                seen.insert(o.client_id.clone()),
                "account a{i}: client id {} reached the venue twice",
                o.client_id
            );
            let plan = plan_of
                .get(&o.client_id)
                .unwrap_or_else(|| panic!("{} is not in the store", o.client_id));
            if before_stop.contains(&o.client_id) {
                from_stopped_before += usize::from(boot_of(plan) == stopped_boot);
            } else {
                assert_ne!(
                    boot_of(plan),
                    stopped_boot,
                    "account a{i}: order {} came from the stopped process after its lease lapsed",
                    o.client_id
                );
            }
        }
    }
    assert!(
        from_stopped_before > 0,
        "the stopped process traded before it was stopped (else the check above proves nothing)"
    );
    // Each accepted signal stored once, and the sleeve moved by the last one.
    let signals = store.recent_signals(100, 0).await.unwrap();
    let mut posted: Vec<&str> = signals
        .iter()
        .filter_map(|s| s.raw["id"].as_str())
        .collect();
    posted.sort_unstable();
    assert_eq!(posted, ["s1", "s2", "s3", "s4"], "{signals:?}");
    let sleeves = store.sleeves().await.unwrap();
    assert_eq!(sleeves.len(), 1);
    let last = signals.iter().find(|s| s.raw["id"] == "s4").unwrap();
    assert_eq!(
        sleeves[0].last_signal.as_ref(),
        Some(&last.id),
        "{sleeves:?}"
    );
    eprintln!(
        "cluster failover: {sent} orders; kill -9 -> all six accounts at the new target {takeover:?}; SIGSTOP -> accounts taken over {moved:?}, at the next target {traded:?}; test wall time {:?}",
        started.elapsed()
    );
    if std::env::var("CLUSTER_TEST_LOGS").is_ok() {
        for n in &nodes {
            eprintln!(
                "---- log of the process on port {} ----\n{}",
                n.port,
                n.log()
            );
        }
    }
}

/// `engine.accounts = "shared"`: the accounts spread over the live processes (at most one more
/// each than the fair share) as processes join and leave, each move a clean hand-over; trading
/// goes on throughout, with no client id twice at any simulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_accounts_spread_over_the_live_processes() {
    let Some((url, _)) = pg_schema("shared").await else {
        return;
    };
    let mut sims = Vec::new();
    for _ in 0..ACCOUNTS {
        sims.push(
            serve(
                VenueId::Bybit,
                "127.0.0.1:0".parse().unwrap(),
                SimOptions::new(VenueId::Bybit),
            )
            .await
            .unwrap(),
        );
    }
    let root = tempfile::tempdir().unwrap();
    let mut nodes: Vec<Node> = Vec::new();
    let spread = |nodes: &[Node]| -> Vec<usize> { nodes.iter().map(|n| n.holds().len()).collect() };
    let mut signal = 0;
    let mut sign = 1;
    for i in 0..3 {
        let port = free_port();
        nodes.push(Node::start(
            root.path().join(format!("n{i}")),
            port,
            &config_with(i, port, &url, &sims, "shared"),
            &sims,
        ));
        let all: Vec<&Node> = nodes.iter().collect();
        let fair = ACCOUNTS.div_ceil(nodes.len());
        wait_until(
            &format!("{} processes sharing", nodes.len()),
            &all,
            Duration::from_secs(30),
            || {
                let held = spread(&nodes);
                held.iter().sum::<usize>() == ACCOUNTS
                    && held.iter().all(|h| *h <= fair && *h + 1 >= fair)
            },
        );
        // Trading goes on after every move: a signal to the newest process reaches all six.
        signal += 1;
        sign = -sign;
        let side = if sign > 0 { "long" } else { "short" };
        nodes[i].signal(&format!("x{signal}"), side, "0.1");
        wait_until(
            &format!("all {side} after x{signal}"),
            &all,
            Duration::from_secs(20),
            || signs(&sims).iter().all(|s| *s == sign),
        );
    }
    assert_eq!(spread(&nodes), [2, 2, 2]);
    // One leaves (kill -9): the other two take its accounts, three each.
    signal_stop(nodes[0].pid(), "-KILL");
    let live: Vec<&Node> = nodes[1..].iter().collect();
    wait_until(
        "two processes sharing",
        &live,
        Duration::from_secs(30),
        || nodes[1].holds().len() == 3 && nodes[2].holds().len() == 3,
    );
    nodes[1].signal("x9", "flat", "0");
    wait_until("all flat", &live, Duration::from_secs(20), || {
        signs(&sims).iter().all(|s| *s == 0)
    });
    for (i, sim) in sims.iter().enumerate() {
        let mut seen = BTreeSet::new();
        for o in sim.orders() {
            assert!(
                seen.insert(o.client_id.clone()),
                "account a{i}: client id {} reached the venue twice",
                o.client_id
            );
        }
    }
}
