//! Which engine a command means. Every command finds its configuration as `run` does
//! (`--config`, else `TRADEENGINE_CONFIG`, else `./tradeengine.toml`, else the embedded demo),
//! and the configuration resolves its relative paths against its own folder. Only `run` creates
//! a data dir: a command run from the wrong folder must say so, not act on a new, empty store
//! no engine reads (the kill switch "engaged" in a folder nobody trades from).

use std::path::{Path, PathBuf};

use tradeengine_engine::config::{Config, Origin, Overrides};

use super::load_config;
use crate::args::Global;

/// The command found nothing to act on (no configuration and no data dir, or a data dir that
/// does not exist). The binary exits with code 2, as for a configuration error.
#[derive(Debug)]
pub struct NothingToActOn(pub String);

impl std::fmt::Display for NothingToActOn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NothingToActOn {}

/// The configuration and store a control command (`kill`, `risk reset`, `positions adopt|flatten`)
/// acts on. Fails with [`NothingToActOn`] when the store it would write is not there: no
/// configuration found and no data dir here, or a configuration whose data dir does not exist.
pub fn control_target(global: &Global) -> anyhow::Result<(Config, Origin)> {
    let (config, origin) = load_config(global, Overrides::default())?;
    // `--data-dir` named the folder, not the file: say so rather than blame the file.
    let named_by = match (&global.data_dir, &origin) {
        (Some(_), _) => None,
        (None, origin) => Some(origin),
    };
    check_store_exists(&config, named_by)?;
    Ok((config, origin))
}

/// Fails with [`NothingToActOn`] unless the SQLite database's folder exists (a PostgreSQL store
/// is always "there"; connecting tells).
pub fn check_store_exists(config: &Config, origin: Option<&Origin>) -> Result<(), NothingToActOn> {
    let Some(folder) = sqlite_folder(config) else {
        return Ok(());
    };
    if folder.is_dir() {
        return Ok(());
    }
    let shown = absolute(&folder);
    Err(NothingToActOn(match origin {
        None => format!(
            "the data dir {} does not exist: nothing to read or act on (only `tradeengine run` \
             creates a data dir; check --config, --data-dir and [engine] data_dir)",
            shown.display()
        ),
        Some(Origin::EmbeddedDemo) => format!(
            "no configuration found (no --config, no TRADEENGINE_CONFIG, no ./{} in {}) and no \
             data dir {}: nothing to act on. Run this from the engine's folder or name its \
             configuration with --config (only `tradeengine run` creates a data dir)",
            super::DEFAULT_CONFIG_FILE,
            absolute(Path::new(".")).display(),
            shown.display()
        ),
        Some(Origin::File(p)) => format!(
            "the data dir {} that {} names does not exist: no engine has run with this \
             configuration, nothing to act on (only `tradeengine run` creates a data dir; check \
             --config, --data-dir and [engine] data_dir)",
            shown.display(),
            p.display()
        ),
    }))
}

/// The folder of the SQLite database file, when the store is SQLite on a file.
fn sqlite_folder(config: &Config) -> Option<PathBuf> {
    if config.engine.database_url.is_empty() {
        return Some(config.engine.data_dir.clone());
    }
    let rest = config.engine.database_url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let file = rest.split('?').next().unwrap_or(rest);
    if file.is_empty() || file.starts_with(':') {
        return None;
    }
    Some(match Path::new(file).parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    })
}

/// `path` made absolute for messages (the operator must see which folder was meant).
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// What a control command names as the store it acted on: the data dir, and the database when
/// it is not the data dir's SQLite file (password hidden).
pub fn acted_on(config: &Config) -> String {
    let dir = absolute(&config.engine.data_dir);
    if config.engine.database_url.is_empty() {
        format!("data dir {}", dir.display())
    } else {
        format!(
            "data dir {}, store {}",
            dir.display(),
            super::redact_url(&config.engine.database_url)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sqlite_folder_is_the_data_dir_or_the_urls_file_folder() {
        let mut c = Config::empty();
        c.engine.data_dir = PathBuf::from("/srv/te/data");
        assert_eq!(sqlite_folder(&c), Some(PathBuf::from("/srv/te/data")));
        c.engine.database_url = "sqlite:///srv/db/te.sqlite?mode=rwc".into();
        assert_eq!(sqlite_folder(&c), Some(PathBuf::from("/srv/db")));
        c.engine.database_url = "sqlite::memory:".into();
        assert_eq!(sqlite_folder(&c), None);
        c.engine.database_url = "postgres://u:p@h/db".into();
        assert_eq!(sqlite_folder(&c), None);
    }
}
