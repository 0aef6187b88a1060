//! A lost SQLite file is noticed and stops every write; read-only opens never harm a database;
//! the data dir and the database files are private.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use tradeengine_store::{
    SQLITE_FILE_NAME, SignalRecordOutcome, StoreError, open_read_only, open_sqlite_in,
};

use crate::fixtures::{plan, signal};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_database_file_stops_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_sqlite_in(dir.path()).await.unwrap();
    store.check_health().await.unwrap();
    assert_eq!(store.fault(), None);

    std::fs::remove_file(dir.path().join(SQLITE_FILE_NAME)).unwrap();
    // Before the check, SQLite happily writes to the deleted file: that is the danger.
    assert!(
        store
            .record_signal(&signal("s1", "tv", "k1", 1), None)
            .await
            .is_ok()
    );
    let checked = store.check_health().await;
    assert!(
        matches!(checked, Err(StoreError::Unavailable(_))),
        "{checked:?}"
    );
    let fault = store.fault().unwrap();
    assert!(fault.contains("deleted"), "{fault}");
    // From now on nothing is written: not a signal, not a plan.
    let refused = store
        .record_signal(&signal("s2", "tv", "k2", 2), None)
        .await;
    assert!(
        matches!(refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
    let refused = store.record_plan(&plan("p1", "acct", 3)).await;
    assert!(
        matches!(refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_database_file_stops_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_sqlite_in(dir.path()).await.unwrap();
    let path = dir.path().join(SQLITE_FILE_NAME);
    let other = dir.path().join("restored.sqlite");
    std::fs::copy(&path, &other).unwrap();
    std::fs::rename(&other, &path).unwrap();
    assert!(matches!(
        store.check_health().await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(store.fault().unwrap().contains("replaced"));
    assert!(matches!(
        store.put_state("k", &serde_json::json!(1)).await,
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_open_of_a_missing_file_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(SQLITE_FILE_NAME);
    let got = open_read_only(&format!("sqlite://{}", path.display())).await;
    assert!(matches!(got, Err(StoreError::Missing(_))), "{got:?}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    let missing_dir = dir.path().join("nope").join(SQLITE_FILE_NAME);
    let got = open_read_only(&format!("sqlite://{}", missing_dir.display())).await;
    assert!(matches!(got, Err(StoreError::Missing(_))), "{got:?}");
    assert!(!dir.path().join("nope").exists());
}

/// The incident: the database deleted under a running engine, then `tradeengine orders`. The
/// read-write open created a new file and SQLite reset the live WAL to 0 bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_open_never_touches_a_live_wal() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_sqlite_in(dir.path()).await.unwrap();
    for i in 0..5 {
        store
            .record_signal(&signal(&format!("s{i}"), "tv", &format!("k{i}"), i), None)
            .await
            .unwrap();
    }
    let path = dir.path().join(SQLITE_FILE_NAME);
    let wal = dir.path().join(format!("{SQLITE_FILE_NAME}-wal"));
    let wal_len = std::fs::metadata(&wal).unwrap().len();
    assert!(wal_len > 0);
    let url = format!("sqlite://{}", path.display());

    // With the file there: reads work, writes are refused, the WAL is untouched.
    let reader = open_read_only(&url).await.unwrap();
    assert_eq!(reader.recent_signals(10, 0).await.unwrap().len(), 5);
    assert!(reader.verify_audit().await.unwrap().is_ok());
    assert!(reader.put_state("k", &serde_json::json!(1)).await.is_err());
    drop(reader);
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), wal_len);

    // With the file deleted under the engine: refused, nothing created, the WAL kept.
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(
        open_read_only(&url).await,
        Err(StoreError::Missing(_))
    ));
    assert!(!path.exists());
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), wal_len);
    // The engine's own connection still has its data.
    assert_eq!(
        store
            .record_signal(&signal("s1", "tv", "k1", 1), None)
            .await
            .unwrap(),
        SignalRecordOutcome::Duplicate
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_dir_and_database_files_are_private() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let store = open_sqlite_in(&dir).await.unwrap();
    store
        .record_signal(&signal("s1", "tv", "k1", 1), None)
        .await
        .unwrap();
    assert_eq!(mode(&dir), 0o700);
    for name in ["", "-wal", "-shm"] {
        let file = dir.join(format!("{SQLITE_FILE_NAME}{name}"));
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    // A database left world-readable by an older version is tightened when opened.
    drop(store);
    let file = dir.join(SQLITE_FILE_NAME);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let _store = open_sqlite_in(&dir).await.unwrap();
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&dir), 0o700);
}
