//! The layering written down is the layering built: every crate's `Cargo.toml` names only the
//! workspace crates its row of the table in ARCHITECTURE.md ("Crates") allows. A new edge is a
//! design decision, so it is made in the document first, with its reason.
//!
//! Pure file reads from the workspace root: no network, no build, no clock.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The workspace root (this crate lives in `crates/cli`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// One row of the table: package name → (folder, allowed normal deps, allowed test/bench deps).
#[derive(Debug)]
struct Row {
    folder: String,
    normal: BTreeSet<String>,
    dev: BTreeSet<String>,
}

/// The backticked names in one table cell (`—` or nothing: none).
fn names(cell: &str) -> BTreeSet<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// Reads the "Crates" table: rows whose first cell is a backticked `tradeengine…` package.
fn table() -> BTreeMap<String, Row> {
    let doc = read("ARCHITECTURE.md");
    let mut rows = BTreeMap::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        if cells.len() != 5 || !cells[0].starts_with("`tradeengine") {
            continue;
        }
        let name = cells[0].trim_matches('`').to_owned();
        let folder = cells[1].trim_matches('`').to_owned();
        let row = Row {
            folder,
            normal: names(cells[3]),
            dev: names(cells[4]),
        };
        assert!(
            rows.insert(name.clone(), row).is_none(),
            "{name} has two rows"
        );
    }
    rows
}

/// The workspace members, from the root `Cargo.toml`.
fn members() -> Vec<String> {
    let manifest: toml::Table = read("Cargo.toml").parse().unwrap();
    manifest["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_owned())
        .collect()
}

/// A manifest's dependency tables of one kind, including `[target.'cfg(…)'.<kind>]`.
fn dep_names(manifest: &toml::Table, kind: &str) -> BTreeSet<String> {
    let mut tables: Vec<&toml::Table> = manifest
        .get(kind)
        .and_then(|t| t.as_table())
        .into_iter()
        .collect();
    if let Some(targets) = manifest.get("target").and_then(|t| t.as_table()) {
        for t in targets.values() {
            tables.extend(t.get(kind).and_then(|d| d.as_table()));
        }
    }
    let mut out = BTreeSet::new();
    for t in tables {
        for (key, spec) in t {
            // `foo = { package = "tradeengine-x", … }` renames: the package is what counts.
            let package = spec
                .get("package")
                .and_then(|p| p.as_str())
                .unwrap_or(key.as_str());
            out.insert(package.to_owned());
        }
    }
    out
}

#[test]
fn every_crate_depends_only_on_what_the_architecture_table_allows() {
    let table = table();
    let members = members();
    let mut by_folder = BTreeMap::new();
    for (name, row) in &table {
        by_folder.insert(row.folder.clone(), name.clone());
    }
    let ours: BTreeSet<String> = table.keys().cloned().collect();
    let mut wrong = Vec::new();
    for folder in &members {
        let Some(name) = by_folder.get(folder) else {
            wrong.push(format!(
                "{folder}: a workspace member with no row in ARCHITECTURE.md"
            ));
            continue;
        };
        let manifest: toml::Table = read(&format!("{folder}/Cargo.toml")).parse().unwrap();
        let declared = manifest["package"]["name"].as_str().unwrap();
        if declared != name {
            wrong.push(format!(
                "{folder}: package is {declared}, the table says {name}"
            ));
        }
        let row = &table[name];
        for kind in ["dependencies", "build-dependencies"] {
            for dep in dep_names(&manifest, kind).intersection(&ours) {
                if !row.normal.contains(dep) {
                    wrong.push(format!(
                        "{name} [{kind}] names {dep}, which its row does not allow"
                    ));
                }
            }
        }
        for dep in dep_names(&manifest, "dev-dependencies").intersection(&ours) {
            if !row.normal.contains(dep) && !row.dev.contains(dep) {
                wrong.push(format!(
                    "{name} [dev-dependencies] names {dep}, which its row does not allow"
                ));
            }
        }
    }
    for folder in by_folder.keys() {
        if !members.contains(folder) {
            wrong.push(format!(
                "{folder}: in ARCHITECTURE.md but not a workspace member"
            ));
        }
    }
    assert!(!table.is_empty(), "no crate table found in ARCHITECTURE.md");
    assert!(
        wrong.is_empty(),
        "crate layering differs from ARCHITECTURE.md:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_dependency_check_sees_a_forbidden_edge() {
    // The check above must be able to fail: a manifest naming a crate its row leaves out.
    let manifest: toml::Table = "[package]\nname = \"x\"\n[dependencies]\ntradeengine-venues = { workspace = true }\n[target.'cfg(unix)'.dev-dependencies]\nsim = { package = \"tradeengine-venue-sim\", path = \"../venue-sim\" }\n"
        .parse()
        .unwrap();
    assert!(dep_names(&manifest, "dependencies").contains("tradeengine-venues"));
    assert!(dep_names(&manifest, "dev-dependencies").contains("tradeengine-venue-sim"));
    let core = &table()["tradeengine-core"];
    assert!(!core.normal.contains("tradeengine-venues"));
}
