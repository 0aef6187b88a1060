//! Relative paths written in a configuration file are relative to the file's folder, not to the
//! shell's: `tradeengine --config /srv/te/tradeengine.toml kill` from `/home/me` must reach the
//! data dir the engine started in `/srv/te` uses, not create a new one in `/home/me`.
//!
//! Resolved here, in the parsed tree, before environment variables and flags are applied: a
//! path given on the command line or in a `TRADEENGINE_…` variable follows the shell's folder,
//! as any command-line path does. The embedded demo has no file, so its paths stay relative to
//! the current folder (as they always were).
//!
//! Keys resolved: `engine.data_dir`, a `sqlite:` `engine.database_url`, `file:` account
//! `credentials`, a source's `file:` `api_key_credentials`, `csv:` paper `price_source` and a
//! Hyperliquid account's `nonce_file`.

use std::path::{Path, PathBuf};

/// The folder relative paths in `file` are resolved against: the file's own folder, absolute.
pub fn base_dir(file: &Path) -> PathBuf {
    let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    match absolute.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Rewrites every relative path of the tree as `base`-relative (absolute when `base` is).
pub(crate) fn resolve_tree(tree: &mut toml::Table, base: &Path) {
    if let Some(toml::Value::Table(engine)) = tree.get_mut("engine") {
        if let Some(toml::Value::String(dir)) = engine.get_mut("data_dir") {
            *dir = join(base, dir);
        }
        if let Some(toml::Value::String(url)) = engine.get_mut("database_url")
            && let Some(resolved) = sqlite_url(base, url)
        {
            *url = resolved;
        }
    }
    if let Some(toml::Value::Table(sources)) = tree.get_mut("sources") {
        for (_, source) in sources.iter_mut() {
            let Some(source) = source.as_table_mut() else {
                continue;
            };
            if let Some(toml::Value::Table(settings)) = source.get_mut("settings")
                && let Some(toml::Value::String(c)) = settings.get_mut("api_key_credentials")
                && let Some(path) = c.strip_prefix("file:")
            {
                *c = format!("file:{}", join(base, path));
            }
        }
    }
    if let Some(toml::Value::Array(accounts)) = tree.get_mut("accounts") {
        for account in accounts.iter_mut().filter_map(toml::Value::as_table_mut) {
            if let Some(toml::Value::String(c)) = account.get_mut("credentials")
                && let Some(path) = c.strip_prefix("file:")
            {
                *c = format!("file:{}", join(base, path));
            }
            if let Some(toml::Value::Table(hl)) = account.get_mut("hyperliquid")
                && let Some(toml::Value::String(f)) = hl.get_mut("nonce_file")
            {
                *f = join(base, f);
            }
            if let Some(toml::Value::Table(paper)) = account.get_mut("paper")
                && let Some(toml::Value::String(p)) = paper.get_mut("price_source")
                && let Some(path) = p.strip_prefix("csv:")
            {
                *p = format!("csv:{}", join(base, path));
            }
        }
    }
}

/// `path` joined to `base` when relative; unchanged when absolute or empty.
fn join(base: &Path, path: &str) -> String {
    if path.is_empty() || Path::new(path).is_absolute() {
        return path.to_string();
    }
    base.join(path).display().to_string()
}

/// A `sqlite:PATH` / `sqlite://PATH` URL with a relative file, resolved; `None` for anything
/// else (another scheme, an in-memory database, an absolute file).
fn sqlite_url(base: &Path, url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (file, query) = match rest.split_once('?') {
        Some((f, q)) => (f, Some(q)),
        None => (rest, None),
    };
    if file.is_empty() || file.starts_with(':') || Path::new(file).is_absolute() {
        return None;
    }
    let mut out = format!("sqlite://{}", join(base, file));
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> toml::Table {
        text.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn relative_paths_follow_the_file_and_absolute_ones_stay() {
        let mut t = tree(
            r#"
[engine]
data_dir = "data"
database_url = "sqlite:db/te.sqlite?mode=rwc"
[[accounts]]
name = "a"
venue = "bybit"
credentials = "file:credentials.age"
[[accounts]]
name = "p"
venue = "paper"
credentials = "env:P"
[accounts.paper]
price_source = "csv:klines/btc.csv"
[[accounts]]
name = "q"
venue = "paper"
credentials = "file:/etc/te/creds.age"
[accounts.paper]
price_source = "walk"
"#,
        );
        resolve_tree(&mut t, Path::new("/srv/te"));
        let engine = t["engine"].as_table().unwrap();
        assert_eq!(engine["data_dir"].as_str(), Some("/srv/te/data"));
        assert_eq!(
            engine["database_url"].as_str(),
            Some("sqlite:///srv/te/db/te.sqlite?mode=rwc")
        );
        let accounts = t["accounts"].as_array().unwrap();
        assert_eq!(
            accounts[0]["credentials"].as_str(),
            Some("file:/srv/te/credentials.age")
        );
        assert_eq!(accounts[1]["credentials"].as_str(), Some("env:P"));
        assert_eq!(
            accounts[1]["paper"]["price_source"].as_str(),
            Some("csv:/srv/te/klines/btc.csv")
        );
        assert_eq!(
            accounts[2]["credentials"].as_str(),
            Some("file:/etc/te/creds.age")
        );
        assert_eq!(accounts[2]["paper"]["price_source"].as_str(), Some("walk"));
    }

    #[test]
    fn other_databases_are_left_alone() {
        for url in [
            "postgres://u:p@h/db",
            "sqlite::memory:",
            "sqlite:///abs/te.sqlite",
            "sqlite://:memory:",
        ] {
            assert_eq!(sqlite_url(Path::new("/srv"), url), None, "{url}");
        }
    }

    #[test]
    fn the_base_of_a_bare_file_name_is_the_current_folder_made_absolute() {
        let base = base_dir(Path::new("tradeengine.toml"));
        assert!(base.is_absolute(), "{}", base.display());
        assert_eq!(base, std::env::current_dir().unwrap());
    }
}
