#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! README.md's status box (the quoted block at its top, "what works today") and the `venue-sim`
//! command keep up with the venue registry: every venue `tradeengine_venues::registry` has is
//! named in the status box, in the `venue-sim` row of the command table and in
//! `tradeengine venue-sim --help`. A new venue is not done until all three say so.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_tradeengine");
const README: &str = include_str!("../../../README.md");

/// The status box: the first block of `>` lines, from the one that opens with "**Status.**".
fn status_box() -> String {
    let start = README
        .find("> **Status.**")
        .expect("README.md has a status box");
    README[start..]
        .lines()
        .take_while(|l| l.starts_with('>'))
        .collect::<Vec<_>>()
        .join("\n")
        .to_lowercase()
}

fn venues() -> Vec<&'static str> {
    let names: Vec<&'static str> = tradeengine_venues::registry::all()
        .map(|e| e.id.as_str())
        .collect();
    assert!(names.len() >= 6, "{names:?}");
    names
}

#[test]
fn the_status_box_names_every_venue_of_the_registry() {
    let text = status_box();
    for venue in venues() {
        assert!(
            text.contains(venue),
            "the status box omits {venue}:\n{text}"
        );
    }
    for command in [
        "venue check",
        "config accounts",
        "config symbols",
        "venue-sim",
    ] {
        assert!(
            text.contains(command),
            "the status box omits `{command}`:\n{text}"
        );
    }
}

#[test]
fn venue_sim_lists_every_venue_in_the_table_and_its_help() {
    let row = README
        .lines()
        .find(|l| l.starts_with("| `venue-sim "))
        .expect("a venue-sim row in the command table");
    let cell = row.split('`').nth(1).unwrap().replace("\\|", "|");
    let listed: Vec<&str> = cell.split_whitespace().nth(1).unwrap().split('|').collect();
    let out = Command::new(BIN)
        .args(["venue-sim", "--help"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout).to_lowercase();
    for venue in venues() {
        assert!(
            listed.contains(&venue),
            "the venue-sim row omits {venue}: {row}"
        );
        assert!(
            help.contains(venue),
            "venue-sim --help omits {venue}:\n{help}"
        );
    }
}
