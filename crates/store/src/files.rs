//! Private files: the data dir is `0700`, the files the engine writes in it `0600`.
//!
//! Outside systemd (whose `StateDirectory=` is `0700` already) the usual umask `022` made the
//! data dir `0755` and `tradeengine.sqlite` `0644`: every local user could read the orders,
//! positions and audit trail. Modes are set explicitly here rather than through the process
//! umask, so they hold for every caller (the binary, tests, a library user) and cannot be undone
//! by an inherited umask. SQLite gives its `-wal` and `-shm` files the main file's mode, so a
//! `0600` database keeps them `0600` too.

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of the data dir.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file in it.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) with mode `0700`. An existing directory that group or
/// others can enter or read is tightened to `0700` (it holds the database and its keys to the
/// audit trail); parents that already exist are left alone.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)?;
    tighten(dir, DIR_MODE)
}

/// Sets `path` to `mode` when it grants group or others anything. A missing file is not an error.
pub fn tighten(path: &Path, mode: u32) -> io::Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
            std::fs::set_permissions(path, Permissions::from_mode(mode))
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates `path` empty with mode `0600` if it does not exist, and tightens it if it does: run
/// before SQLite opens a database file, so the file (and its `-wal`/`-shm`) is never readable
/// by others, not even for a moment.
pub fn ensure_private_file(path: &Path) -> io::Result<()> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => tighten(path, FILE_MODE),
        Err(e) => Err(e),
    }
}

/// Replaces `path` with `bytes` atomically: a `0600` temp file beside it, fsynced, renamed over
/// `path`, then the directory fsynced so the rename itself survives a power loss. A reader sees
/// the old content or the new, never a half-written file.
pub fn write_private_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let written = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(FILE_MODE)
            .open(&tmp)?;
        // An existing temp file (a crash mid-write) keeps its old mode through `open`.
        f.set_permissions(Permissions::from_mode(FILE_MODE))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0)
    }

    #[test]
    fn dirs_and_files_are_private() {
        let Ok(root) = tempfile::tempdir() else {
            panic!("no temp dir")
        };
        let dir = root.path().join("a/b");
        assert!(create_private_dir(&dir).is_ok());
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&root.path().join("a")), 0o700);

        let loose = root.path().join("loose");
        assert!(std::fs::create_dir(&loose).is_ok());
        assert!(std::fs::set_permissions(&loose, Permissions::from_mode(0o755)).is_ok());
        assert!(create_private_dir(&loose).is_ok());
        assert_eq!(mode(&loose), 0o700);

        let file = dir.join("f");
        assert!(ensure_private_file(&file).is_ok());
        assert_eq!(mode(&file), 0o600);
        assert!(std::fs::set_permissions(&file, Permissions::from_mode(0o644)).is_ok());
        assert!(ensure_private_file(&file).is_ok());
        assert_eq!(mode(&file), 0o600);

        let atomic = dir.join("anchor.json");
        assert!(write_private_atomic(&atomic, b"one").is_ok());
        assert!(write_private_atomic(&atomic, b"two").is_ok());
        assert_eq!(std::fs::read(&atomic).ok().as_deref(), Some(&b"two"[..]));
        assert_eq!(mode(&atomic), 0o600);
        let names: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert_eq!(names.len(), 2, "no temp file left behind: {names:?}");
    }
}
