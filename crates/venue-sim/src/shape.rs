//! Keeping a rendered reply to the keys an exchange documents for it, so a simulator's row has
//! exactly the fields of the exchange's own example (checked against the recorded replies in
//! `crates/venues/testdata/` by `tests/reply_shapes.rs`).

use serde_json::{Map, Value};

/// `full` (an object with every field the simulator can fill) cut down to `keys`, in that
/// order; a documented key the simulator has no value for is an error in the simulator, so it
/// panics in tests and is left out otherwise.
pub fn pick(full: &Value, keys: &[&str]) -> Value {
    let mut out = Map::new();
    for k in keys {
        match full.get(*k) {
            Some(v) => {
                out.insert((*k).to_string(), v.clone());
            }
            None => debug_assert!(false, "the simulator renders no `{k}`"),
        }
    }
    Value::Object(out)
}
