#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! README.md's command table and `tradeengine --help` stay in step: every command (and every
//! subcommand of a command that has them) that `--help` lists has a row in the table, and every
//! row names a command that exists. A new command needs one row in README.md's "Commands"
//! table, whose first cell starts with the command's words, e.g. `` `venue check --account A` ``
//! or `` `config accounts [...]` ``; alternatives go with `|` (`` `order place|cancel ...` ``).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_tradeengine");
const README: &str = include_str!("../../../README.md");

/// The names under "Commands:" in a clap help text (without `help`).
fn subcommands(help: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut inside = false;
    for line in help.lines() {
        if line.trim_end() == "Commands:" {
            inside = true;
            continue;
        }
        if inside {
            // Entries are indented; the section ends at the first line that is not.
            if !line.starts_with("  ") {
                break;
            }
            let name = line.split_whitespace().next().unwrap_or("");
            // A wrapped description line is indented further than the names.
            if !line.starts_with("   ") && !name.is_empty() && name != "help" {
                out.insert(name.to_string());
            }
        }
    }
    out
}

fn help(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .arg("--help")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?} --help failed");
    String::from_utf8(out.stdout).unwrap()
}

/// Each table row's command words: the first word, and the second split on `|` when it is a
/// word (not a flag, placeholder or bracket). A cell may hold several commands joined by ` / `.
fn readme_rows() -> Vec<(String, Vec<String>)> {
    let section = README
        .split("\n## Commands\n")
        .nth(1)
        .expect("README.md has a \"## Commands\" section");
    let section = section.split("\n## ").next().unwrap();
    let mut rows = Vec::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cell = line.trim_start_matches('|').split(" | ").next().unwrap();
        for code in cell.split('`').skip(1).step_by(2) {
            // Markdown tables escape `|` inside cells.
            let code = code.replace("\\|", "|");
            let mut words = code.split_whitespace();
            let Some(first) = words.next() else { continue };
            let second: Vec<String> = words
                .next()
                .filter(|w| w.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
                .map(|w| w.split('|').map(str::to_string).collect())
                .unwrap_or_default();
            rows.push((first.to_string(), second));
        }
    }
    rows
}

#[test]
fn the_command_table_and_help_list_the_same_commands() {
    let top = subcommands(&help(&[]));
    assert!(
        top.contains("run") && top.contains("status") && top.len() >= 10,
        "{top:?}"
    );
    let nested: BTreeMap<String, BTreeSet<String>> = top
        .iter()
        .map(|c| (c.clone(), subcommands(&help(&[c]))))
        .collect();
    let rows = readme_rows();
    let in_table: BTreeSet<&str> = rows.iter().map(|(c, _)| c.as_str()).collect();

    let missing: Vec<_> = top
        .iter()
        .filter(|c| !in_table.contains(c.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "commands in --help without a row in README.md's command table: {missing:?}"
    );
    let unknown: Vec<_> = in_table.iter().filter(|c| !top.contains(**c)).collect();
    assert!(
        unknown.is_empty(),
        "README.md's command table has rows for commands --help does not list: {unknown:?}"
    );
    for (command, subs) in &nested {
        let documented: BTreeSet<&str> = rows
            .iter()
            .filter(|(c, _)| c == command)
            .flat_map(|(_, s)| s.iter().map(String::as_str))
            .collect();
        for sub in subs {
            assert!(
                documented.contains(sub.as_str()),
                "`{command} {sub}` is in --help but has no row in README.md's command table"
            );
        }
        if !subs.is_empty() {
            for sub in &documented {
                assert!(
                    subs.contains(*sub),
                    "README.md's command table documents `{command} {sub}`, which --help does not list"
                );
            }
        }
    }
}

#[test]
fn the_parser_reads_clap_help_and_table_cells() {
    let text = "About\n\nUsage: x <COMMAND>\n\nCommands:\n  run     Run it\n          more words\n  config  Config\n  help    Print help\n\nOptions:\n  -h\n";
    assert_eq!(
        subcommands(text),
        ["config", "run"].iter().map(|s| s.to_string()).collect()
    );
    let rows = readme_rows();
    assert!(rows.contains(&(
        "order".to_string(),
        vec!["place".into(), "cancel".into(), "status".into()]
    )));
    assert!(rows.iter().any(|(c, s)| c == "run" && s.is_empty()));
    assert!(rows.iter().any(|(c, s)| c == "kill" && s.is_empty()));
}
