//! Reading canonical fields out of an alert body through alias lists.
//!
//! An alias is a dotted path into nested objects (`strategy.market_position`). The first alias
//! present with a non-null, non-empty value wins; an alias holding an object or array is
//! skipped, so a later alias can read inside it.

use serde_json::{Map, Value};

/// Follows a dotted path.
pub(crate) fn get_path<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let first = parts.next()?;
    let mut cur = obj.get(first)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

/// Removes the value at a dotted path, if any.
pub(crate) fn remove_path(obj: &mut Map<String, Value>, path: &str) {
    match path.split_once('.') {
        None => {
            obj.remove(path);
        }
        Some((head, rest)) => {
            if let Some(Value::Object(inner)) = obj.get_mut(head) {
                remove_path(inner, rest);
            }
        }
    }
}

/// A scalar field as text: strings as they are, numbers and booleans printed.
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The first alias with a usable scalar value, as `(alias, text)`. Null, empty strings,
/// objects and arrays count as absent: sirouk/trade-engine's templates send `"leverage": ""` for
/// exits, and PTN's `trade_pair` may be an object whose `trade_pair_id` a later alias reads.
pub(crate) fn first_text(obj: &Map<String, Value>, aliases: &[String]) -> Option<(String, String)> {
    all_texts(obj, aliases).into_iter().next()
}

/// Every alias with a usable value, in alias order (for fields where one alias may hold
/// something we cannot use and a later one something we can).
pub(crate) fn all_texts(obj: &Map<String, Value>, aliases: &[String]) -> Vec<(String, String)> {
    aliases
        .iter()
        .filter_map(|a| {
            let t = scalar_text(get_path(obj, a)?)?;
            (!t.is_empty()).then(|| (a.clone(), t))
        })
        .collect()
}

/// The first alias holding an object or an array, as `(alias, "an object" | "an array")`: for
/// fields that must be scalars (ids), where skipping it silently would lose what the sender
/// meant.
pub(crate) fn first_non_scalar(
    obj: &Map<String, Value>,
    aliases: &[String],
) -> Option<(String, &'static str)> {
    aliases.iter().find_map(|a| match get_path(obj, a)? {
        Value::Object(_) => Some((a.clone(), "an object")),
        Value::Array(_) => Some((a.clone(), "an array")),
        _ => None,
    })
}

/// The path of the first string anywhere in the body that still holds a `{{` placeholder.
pub(crate) fn find_placeholder(v: &Value, path: &mut String) -> Option<String> {
    match v {
        Value::String(s) if s.contains("{{") => Some(path.clone()),
        Value::Object(m) => {
            for (k, v) in m {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                if let Some(found) = find_placeholder(v, path) {
                    return Some(found);
                }
                path.truncate(len);
            }
            None
        }
        Value::Array(a) => a.iter().find_map(|v| find_placeholder(v, path)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn names(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn dotted_paths_and_first_usable_alias() {
        let o = obj(json!({"a": "", "b": null, "s": {"mp": "long"}, "n": 3}));
        assert_eq!(get_path(&o, "s.mp"), Some(&json!("long")));
        assert_eq!(get_path(&o, "s.x"), None);
        assert_eq!(get_path(&o, "n.x"), None);
        let got = first_text(&o, &names(&["a", "b", "s", "s.mp"]));
        assert_eq!(got, Some(("s.mp".into(), "long".into())));
        assert_eq!(
            first_text(&o, &names(&["n"])),
            Some(("n".into(), "3".into()))
        );
        assert_eq!(first_text(&o, &names(&["zz"])), None);
    }

    #[test]
    fn remove_nested() {
        let mut o = obj(json!({"k": 1, "s": {"p": "x", "q": 2}}));
        remove_path(&mut o, "s.p");
        remove_path(&mut o, "k");
        remove_path(&mut o, "missing.deep");
        assert_eq!(Value::Object(o), json!({"s": {"q": 2}}));
    }

    #[test]
    fn placeholder_is_found_with_its_path() {
        let v = json!({"a": 1, "strategy": {"x": "ok", "y": "{{strategy.position_size}}"}});
        assert_eq!(
            find_placeholder(&v, &mut String::new()),
            Some("strategy.y".into())
        );
        assert_eq!(
            find_placeholder(&json!({"a": ["b"]}), &mut String::new()),
            None
        );
    }
}
