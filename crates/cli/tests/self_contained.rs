//! The repository explains itself from a user's clone:
//! - every relative link and every repository path (`crates/…`, `examples/…`, …) named in the
//!   root documents exists;
//! - no source, script, example or root document cites a file a user's clone does not have
//!   (a design note or specification kept beside the repository) or the project's own history
//!   (a predecessor's number, a tracker's issue number) where it should say why. Exchanges'
//!   documentation URLs and the repository's own documents are what comments cite.
//!
//! Pure file reads from the workspace root: no network, no build, no clock. Other work lands in
//! parallel, so this runs with every `cargo test --workspace` and names each offending line.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

/// The workspace root (this crate lives in `crates/cli`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The root documents whose links and paths must resolve.
const DOCS: [&str; 4] = [
    "README.md",
    "ARCHITECTURE.md",
    "RELIABILITY.md",
    "BENCHMARKS.md",
];

/// Top-level folders whose paths a document may name, and whose files are scanned for citations.
const TREES: [&str; 7] = [
    "crates", "deploy", "scripts", ".ci", "bench", "fuzz", "examples",
];

// ---------------------------------------------------------------------------------------------
// Links and paths in the root documents
// ---------------------------------------------------------------------------------------------

/// Targets of Markdown links `[text](target)` that point into the repository.
fn relative_links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("](") {
        rest = &rest[i + 2..];
        let Some(end) = rest.find(')') else { break };
        let target = rest[..end].split_whitespace().next().unwrap_or("");
        let target = target.split('#').next().unwrap_or("");
        let external = target.contains("://") || target.starts_with("mailto:");
        if !target.is_empty() && !external {
            out.push(target.to_owned());
        }
    }
    out
}

/// Words that name a path in one of [`TREES`], e.g. `crates/engine/tests/risk.rs`. Patterns
/// (`crates/<venue>/…`, `*.rs`, `{a,b}`) and elisions (`…`) are not paths and are skipped.
fn named_paths(text: &str) -> Vec<String> {
    let is_path_char = |c: char| c.is_ascii_alphanumeric() || "_-./<>*{},…".contains(c);
    let mut out = Vec::new();
    for word in text.split(|c: char| !is_path_char(c)) {
        let word = word.trim_end_matches(['.', ',']);
        let in_tree = TREES.iter().any(|t| word.starts_with(&format!("{t}/")));
        let pattern = word.contains(['<', '>', '*', '{', '}', '…']) || word.contains("...");
        if in_tree && !pattern {
            out.push(word.to_owned());
        }
    }
    out
}

#[test]
fn every_link_and_path_in_the_root_documents_exists() {
    let root = root();
    let mut missing = Vec::new();
    for doc in DOCS {
        let text = std::fs::read_to_string(root.join(doc)).unwrap_or_else(|e| panic!("{doc}: {e}"));
        for (n, line) in text.lines().enumerate() {
            let mut targets = relative_links(line);
            targets.extend(named_paths(line));
            for t in targets {
                if !root.join(&t).exists() {
                    missing.push(format!("{doc}:{}: {t}", n + 1));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "named in a document but not in the repository:\n{}",
        missing.join("\n")
    );
}

#[test]
fn links_and_paths_are_found() {
    // The check above must see what it checks.
    let line = "see [the docs](RELIABILITY.md#reproduce), `crates/engine/tests/risk.rs`, \
                crates/venues/src/<venue>/ and [site](https://example.invalid/a).";
    assert_eq!(relative_links(line), ["RELIABILITY.md"]);
    assert_eq!(named_paths(line), ["crates/engine/tests/risk.rs"]);
}

// ---------------------------------------------------------------------------------------------
// Citations of things outside the repository, and of project history
// ---------------------------------------------------------------------------------------------

/// What must not appear (case-insensitive). Spelt in pieces so this file does not match itself.
fn forbidden() -> Vec<String> {
    [
        ["design", ".md"],
        ["spec", "/"],
        ["../", "shared"],
        ["seed ", "00"],
        ["seed", "00"],
        ["seed-", "00"],
        ["seed ", "§"],
        ["spec ", "§"],
        ["spec", "'s "],
    ]
    .iter()
    .map(|p| p.concat())
    .collect()
}

/// A tracker's entry, a work session or a review finding followed by its number: a reference
/// to project history instead of a reason.
fn numbered_reference(lower: &str) -> bool {
    let words = [
        ["iss", "ue"].concat(),
        ["sess", "ion"].concat(),
        ["def", "ect"].concat(),
    ];
    words.iter().any(|word| word_then_number(lower, word))
}

/// `word` as a whole word (plural allowed), then spaces or `#`, then a digit.
fn word_then_number(lower: &str, word: &str) -> bool {
    let mut from = 0;
    while let Some(i) = lower[from..].find(word) {
        let start = from + i;
        from = start + word.len();
        // A whole word only: "reissue 5 times" is not a citation.
        if lower[..start].ends_with(|c: char| c.is_alphanumeric()) {
            continue;
        }
        let rest = &lower[from..];
        let tail = rest.strip_prefix('s').unwrap_or(rest);
        let tail = tail.trim_start_matches([' ', '#']);
        if tail.len() < rest.len() && tail.starts_with(|c: char| c.is_ascii_digit()) {
            return true;
        }
    }
    false
}

/// Texts allowed although they match, because they are not a citation: (path, or `*` for any
/// file; text on the line; why).
const ALLOWED: &[(&str, &str, &str)] = &[
    // The RabbitMQ format name users already type in their configuration stays as it is.
    ("*", "\"seed004\"", "a config value users type"),
    ("*", "`seed004`", "that config value, quoted in prose"),
    (
        "crates/engine/src/sources/bus.rs",
        "or seed004 (amount)",
        "an error message naming that config value",
    ),
    (
        "crates/cli/tests/self_contained.rs",
        "seed004",
        "this allow-list and its test",
    ),
];

fn allowed(rel: &str, line: &str) -> bool {
    ALLOWED
        .iter()
        .any(|(p, text, _)| (*p == "*" || *p == rel) && line.contains(text))
}

/// Every text file under [`TREES`] and the root's documents and manifest, build output skipped.
fn scanned_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = TREES.iter().map(|t| root.join(t)).collect();
    for entry in std::fs::read_dir(root).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_file() && (name.ends_with(".md") || name == "Cargo.toml") {
            out.push(p);
        }
    }
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let p = entry.unwrap().path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if p.is_dir() {
                if !matches!(
                    name,
                    "target" | "corpus" | "artifacts" | "coverage" | ".git"
                ) {
                    stack.push(p);
                }
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn nothing_cites_files_outside_the_repository_or_project_history() {
    let root = root();
    let patterns = forbidden();
    let mut found = Vec::new();
    for path in scanned_files(&root) {
        // Binary and non-UTF-8 files (recorded data, images) carry no comments.
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let rel = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        for (n, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            let hit =
                patterns.iter().any(|p| lower.contains(p.as_str())) || numbered_reference(&lower);
            if hit && !allowed(&rel, line) {
                found.push(format!("{rel}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "{} line(s) cite something a user's clone does not have, or project history; say what \
         it is and why instead (cite ARCHITECTURE.md, README.md, RELIABILITY.md or the exchange's \
         documentation URL):\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn the_citation_check_can_fail() {
    let patterns = forbidden();
    let hits = |line: &str| {
        let lower = line.to_lowercase();
        patterns.iter().any(|p| lower.contains(p.as_str())) || numbered_reference(&lower)
    };
    for bad in [
        ["// see ", "design", ".md §3"].concat(),
        ["//! (", "spec", "/exchanges.md)"].concat(),
        ["# as in ", "Seed", " 004"].concat(),
        ["// fixed for ", "Issue", " #15"].concat(),
        ["// (", "issues", " 3 and 4)"].concat(),
        ["//! as measured in ", "session", " 2"].concat(),
        ["// the worked example (", "spec", " §4.4)"].concat(),
    ] {
        assert!(hits(&bad), "{bad}");
    }
    for fine in [
        "// the venue documents this issue: https://example.invalid/x",
        "// a seed of 42 makes the scenario repeatable",
        "// reissue 5 times",
    ] {
        assert!(!hits(fine), "{fine}");
    }
    assert!(allowed(
        "crates/engine/src/sources/bus.rs",
        "#[serde(rename = \"seed004\")]"
    ));
}
