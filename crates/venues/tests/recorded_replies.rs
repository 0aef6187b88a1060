//! Every venue model conversion and stream handler, run on replies recorded in each exchange's
//! own documented shape (`crates/venues/testdata/<venue>/`, sources in its README.md):
//! - each recorded reply converts to the expected engine values;
//! - dropping any field the venue documents as always present (and the conversion reads) is an
//!   error that names the field and the endpoint, never a silent zero;
//! - dropping any other field changes nothing, so the models refuse only what they need.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod recorded;

use recorded::{Case, cases, load};
use serde_json::Value;

/// Every object key under `v`, as JSON pointers.
fn key_paths(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                key_paths(child, &p, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                key_paths(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// `v` without the key at `pointer`; `None` when there is no such key.
fn without(v: &Value, pointer: &str) -> Option<Value> {
    let (parent, key) = pointer.rsplit_once('/')?;
    let key = key.replace("~1", "/").replace("~0", "~");
    let mut copy = v.clone();
    let removed = copy.pointer_mut(parent)?.as_object_mut()?.remove(&key);
    removed.map(|_| copy)
}

fn label(case: &Case) -> String {
    format!("{}/{}", case.venue, case.file)
}

#[test]
fn every_recorded_reply_converts_to_the_expected_values() {
    for case in cases() {
        let reply = load(case.venue, case.file);
        let got = (case.convert)(&reply).unwrap_or_else(|e| panic!("{}: {e}", label(&case)));
        assert_eq!(got, case.expect, "{}", label(&case));
    }
}

#[test]
fn every_testdata_file_is_in_the_table() {
    let listed: Vec<String> = cases().iter().map(label).collect();
    for venue in ["bybit", "binance", "blofin", "kucoin", "mexc"] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(venue);
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") {
                files += 1;
                let l = format!("{venue}/{name}");
                assert!(listed.contains(&l), "{l} has no conversion case");
            }
        }
        assert!(files >= 5, "{venue}: only {files} recorded replies");
    }
}

#[test]
fn dropping_a_required_field_is_an_error_naming_it_and_the_endpoint() {
    let mut checked = 0;
    for case in cases() {
        let reply = load(case.venue, case.file);
        assert!(!case.required.is_empty(), "{}", label(&case));
        for (pointer, name) in case.required {
            let cut = without(&reply, pointer)
                .unwrap_or_else(|| panic!("{}: no field at {pointer}", label(&case)));
            let err = match (case.convert)(&cut) {
                Ok(got) => panic!(
                    "{}: without {pointer} it still converts: {got}",
                    label(&case)
                ),
                Err(e) => e.to_string(),
            };
            assert!(
                err.contains(name),
                "{}: without {pointer} the error does not name {name}: {err}",
                label(&case)
            );
            assert!(
                err.contains(case.endpoint),
                "{}: without {pointer} the error does not name {}: {err}",
                label(&case),
                case.endpoint
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} required fields checked");
}

#[test]
fn dropping_any_other_field_changes_nothing() {
    for case in cases() {
        let reply = load(case.venue, case.file);
        let mut paths = Vec::new();
        key_paths(&reply, "", &mut paths);
        for path in paths {
            // A required field, or an object holding one, is checked by the test above.
            let needed = case
                .required
                .iter()
                .any(|(r, _)| *r == path || r.starts_with(&format!("{path}/")));
            if needed {
                continue;
            }
            let cut = without(&reply, &path).unwrap();
            let got = (case.convert)(&cut)
                .unwrap_or_else(|e| panic!("{}: without {path}: {e}", label(&case)));
            if !case.optional.contains(&path.as_str()) {
                assert_eq!(got, case.expect, "{}: without {path}", label(&case));
            }
        }
    }
}
