//! `kill -9` right after a fill loses nothing from the paper account's file.
//!
//! Kept in its own test binary: it forks a child, and a fork taken while another test in the
//! same process holds a state-file lock keeps that lock alive in the child until it execs, so a
//! test that drops and reopens a venue there would see it still locked.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::*;
use rust_decimal_macros::dec;
use tradeengine_model::{ManualClock, OrderState, OrderStatus, Side};
use tradeengine_venues::Venue;

const CHILD_ENV: &str = "TRADEENGINE_PAPER_KILL9_STATE";

/// The child half of `kill_9_right_after_a_fill_loses_nothing`: places one order, reports its
/// status on stdout, then waits to be killed. Does nothing unless the parent started it.
#[tokio::test]
#[ignore = "run by kill_9_right_after_a_fill_loses_nothing in a child process"]
async fn kill9_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let clock = Arc::new(ManualClock::new(t0()));
    let venue = open_on_file(Path::new(&path), clock).unwrap();
    let s = venue
        .place_order(&market("k1", "BTCUSDT", Side::Buy, dec!(0.020)))
        .await
        .unwrap();
    println!("PLACED {}", serde_json::to_string(&s).unwrap());
    std::thread::sleep(std::time::Duration::from_secs(120));
}

#[test]
fn kill_9_right_after_a_fill_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("paper.json");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "kill9_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut placed = None;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        // The harness may have written "test kill9_child ... " on the same line first.
        if let Some((_, json)) = line.unwrap().split_once("PLACED ") {
            placed = Some(json.to_string());
            break;
        }
    }
    // SIGKILL the moment the reply is out: no destructor, no flush, no chance to save late.
    child.kill().unwrap();
    child.wait().unwrap();
    let placed: OrderStatus = serde_json::from_str(&placed.expect("child reported")).unwrap();
    assert_eq!(placed.state, OrderState::Filled);

    // The kernel released the dead process's lock; the fill is on disk.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let venue = open_on_file(&path, Arc::new(ManualClock::new(t0()))).unwrap();
        let q = venue
            .order_by_client_id(&sym("BTCUSDT"), &cid("k1"))
            .await
            .unwrap();
        assert_eq!(q, Some(placed));
        assert_eq!(venue.positions().await.unwrap()[0].size.get(), dec!(0.020));
        assert_eq!(venue.fills().unwrap().len(), 1);
    });
}
