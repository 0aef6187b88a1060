#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! The README's replay worked example, run as printed: its output is the README's, to the last
//! digit, and a replay logs no line per simulated fill (a year of prices made thousands).

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_tradeengine");
const COMMAND: &str = "$ tradeengine --config examples/replay-two-sources.toml replay \\";

/// The first console block of the README that runs [`COMMAND`]: its arguments and the output
/// it shows.
fn readme_example(readme: &str) -> (Vec<String>, Vec<String>) {
    let start = readme.find(COMMAND).unwrap();
    let block = &readme[start..];
    let block = &block[..block.find("```").unwrap()];
    let mut args = vec![
        "--config".to_string(),
        "examples/replay-two-sources.toml".to_string(),
    ];
    args.push("replay".to_string());
    let mut output = Vec::new();
    for line in block.lines().skip(1) {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("--") {
            let rest = rest.trim_end_matches('\\').trim();
            let mut parts = rest.split_whitespace();
            args.push(format!("--{}", parts.next().unwrap()));
            args.extend(parts.map(str::to_string));
        } else if !trimmed.is_empty() {
            output.push(line.to_string());
        }
    }
    (args, output)
}

#[test]
fn the_readme_replay_example_prints_what_the_readme_shows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let (args, shown) = readme_example(&readme);
    assert!(shown.len() >= 6, "{shown:?}");
    let out = Command::new(BIN)
        .args(&args)
        .current_dir(&root)
        .env_remove("TRADEENGINE_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let printed: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        printed, shown,
        "the README's example output is not what the command prints"
    );
    assert!(
        !stderr.contains("paper fill"),
        "a replay logged its simulated fills:\n{stderr}"
    );
}
