//! Corruption is detected and reported with file and offset; nothing panics,
//! nothing loads half-way, and `verify` says so.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use dreamwork::store::{LOG_FILE, SNAPSHOT_FILE, Store, StoreError};
use dreamwork::{MemoryPath, Timestamp};

fn p(s: &str) -> MemoryPath {
    MemoryPath::new(s).expect("valid test path")
}

/// A store with a few commits; returns the log length before the last commit.
fn build(dir: &Path, snapshot: bool) -> u64 {
    let mut store = Store::create(dir).expect("create");
    for i in 0..6 {
        store.put_at(&p(&format!("/m/{i}")), &format!("memory number {i}"), Timestamp(i)).expect("put");
    }
    if snapshot {
        store.compact().expect("compact");
    }
    let before_last = store.stats().log_bytes;
    store.put_at(&p("/last"), "the last one", Timestamp(99)).expect("put");
    before_last
}

#[test]
fn every_bit_flip_in_the_log_is_detected() {
    let origin = tempfile::tempdir().expect("tempdir");
    let last_frame = build(origin.path(), false);
    let log = fs::read(origin.path().join(LOG_FILE)).expect("read");
    for offset in 0..log.len() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut bytes = log.clone();
        bytes[offset] ^= 1 << (offset % 8);
        fs::write(dir.path().join(LOG_FILE), &bytes).expect("write");
        let report = Store::verify(dir.path()).expect("verify runs");
        assert!(!report.is_ok(), "flip at {offset} not reported");
        let opened = Store::open_read_only(dir.path());
        // The last frame's 12-byte header is checksummed on its own: a flip
        // there is corruption too; a torn write never leaves a complete but
        // wrong header.
        if (offset as u64) < last_frame + 12 {
            let err = opened.expect_err("a flip before the last frame must fail the open");
            let text = err.to_string();
            assert!(text.contains(LOG_FILE), "{text}");
            match err {
                StoreError::Corrupt { offset: at, .. } => {
                    assert!(at <= offset as u64, "reported offset {at} after the flip at {offset}")
                }
                StoreError::BadMagic { .. } | StoreError::UnsupportedVersion { .. } => assert!(offset < 16),
                other => panic!("flip at {offset}: unexpected {other}"),
            }
        } else {
            // Inside the last frame a flip cannot be told from a torn write:
            // the last commit is dropped, everything before it is intact.
            let store = opened.expect("open");
            assert_eq!(store.version(), 6, "flip at {offset}");
            assert!(store.torn_tail().is_some());
        }
    }
}

#[test]
fn every_bit_flip_in_the_snapshot_is_detected() {
    let origin = tempfile::tempdir().expect("tempdir");
    build(origin.path(), true);
    let log = fs::read(origin.path().join(LOG_FILE)).expect("read");
    let snap = fs::read(origin.path().join(SNAPSHOT_FILE)).expect("read");
    for offset in 0..snap.len() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut bytes = snap.clone();
        bytes[offset] ^= 1 << (offset % 8);
        fs::write(dir.path().join(LOG_FILE), &log).expect("write");
        fs::write(dir.path().join(SNAPSHOT_FILE), &bytes).expect("write");
        let err = Store::open_read_only(dir.path()).expect_err("flipped snapshot must not open");
        assert!(err.to_string().contains(SNAPSHOT_FILE), "{err}");
        assert!(!Store::verify(dir.path()).expect("verify runs").is_ok(), "flip at {offset}");
    }
}

#[test]
fn foreign_files_wrong_magic_and_wrong_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    build(dir.path(), true);
    let log_path = dir.path().join(LOG_FILE);
    let snap_path = dir.path().join(SNAPSHOT_FILE);
    let (log, snap) = (fs::read(&log_path).expect("read"), fs::read(&snap_path).expect("read"));

    fs::write(&log_path, "# my notes\nthis is not a store\n").expect("write");
    let err = Store::open_read_only(dir.path()).expect_err("foreign log");
    assert!(matches!(err, StoreError::BadMagic { kind: "log", .. }), "{err}");
    fs::write(&log_path, b"").expect("write");
    assert!(matches!(Store::open(dir.path()), Err(StoreError::BadMagic { .. })));

    // A future format version, with a correct header checksum.
    let mut future = log.clone();
    future[8..12].copy_from_slice(&2u32.to_le_bytes());
    let crc = crc32fast::hash(&future[..12]);
    future[12..16].copy_from_slice(&crc.to_le_bytes());
    fs::write(&log_path, &future).expect("write");
    let err = Store::open(dir.path()).expect_err("future log");
    assert!(matches!(err, StoreError::UnsupportedVersion { found: 2, expected: 1, .. }), "{err}");

    fs::write(&log_path, &log).expect("write");
    fs::write(&snap_path, "PK\x03\x04 a zip file").expect("write");
    let err = Store::open_read_only(dir.path()).expect_err("foreign snapshot");
    assert!(matches!(err, StoreError::BadMagic { kind: "snapshot", .. }), "{err}");

    let mut future = snap.clone();
    future[8..12].copy_from_slice(&7u32.to_le_bytes());
    let crc = crc32fast::hash(&future[..24]);
    future[24..28].copy_from_slice(&crc.to_le_bytes());
    fs::write(&snap_path, &future).expect("write");
    let err = Store::open_read_only(dir.path()).expect_err("future snapshot");
    assert!(matches!(err, StoreError::UnsupportedVersion { found: 7, .. }), "{err}");

    // Restored, it opens again; stray files and subdirectories are ignored.
    fs::write(&snap_path, &snap).expect("write");
    fs::create_dir(dir.path().join("sessions")).expect("mkdir");
    fs::write(dir.path().join("sessions").join("x.bin"), b"garbage").expect("write");
    fs::write(dir.path().join("README"), b"hello").expect("write");
    assert_eq!(Store::open(dir.path()).expect("open").len(), 7);
    assert!(Store::verify(dir.path()).expect("verify").is_ok());
}

#[test]
fn a_snapshot_beyond_the_log_is_corruption() {
    let dir = tempfile::tempdir().expect("tempdir");
    build(dir.path(), true);
    let log_path = dir.path().join(LOG_FILE);
    let log = fs::read(&log_path).expect("read");
    fs::write(&log_path, &log[..16]).expect("write");
    let err = Store::open(dir.path()).expect_err("log shorter than the snapshot");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
}

#[test]
fn cli_verify_fails_on_a_damaged_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    build(dir.path(), false);
    let log_path = dir.path().join(LOG_FILE);
    let mut log = fs::read(&log_path).expect("read");
    Command::cargo_bin("dreamwork").expect("binary").arg("verify").arg(dir.path()).assert().success();
    log[40] ^= 0x10;
    fs::write(&log_path, &log).expect("write");
    let out = Command::cargo_bin("dreamwork").expect("binary").arg("verify").arg(dir.path()).assert().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("corrupt at offset"), "{stderr}");
    let out = Command::cargo_bin("dreamwork").expect("binary").arg("ls").arg(dir.path()).assert().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains(LOG_FILE) && stderr.contains("offset"), "{stderr}");
    assert!(stderr.contains("dreamwork repair") && stderr.lines().count() == 1, "{stderr}");
}

#[test]
fn repair_sets_damage_aside_and_keeps_the_good_prefix() {
    let dir = tempfile::tempdir().expect("tempdir");
    build(dir.path(), false);
    let log_path = dir.path().join(LOG_FILE);
    let original = fs::read(&log_path).expect("read");
    // Damage the third commit: the first two survive.
    let (commits, _) = dreamwork::fuzzing::log::decode(&original, &log_path).expect("intact log");
    assert_eq!(commits.len(), 7);
    let third = commits[2].offset as usize;
    let mut damaged = original.clone();
    damaged[third + 20] ^= 0x40;
    fs::write(&log_path, &damaged).expect("write");
    assert!(matches!(Store::open(dir.path()), Err(StoreError::Corrupt { .. })));

    let report = Store::repair(dir.path()).expect("repair");
    assert_eq!(report.log_cut_at, Some(third as u64));
    let (saved, bytes) = report.log_saved_to.clone().expect("saved");
    assert_eq!(fs::read(&saved).expect("read"), &damaged[third..]);
    assert_eq!(bytes as usize, damaged.len() - third);
    let store = Store::open(dir.path()).expect("opens after repair");
    assert_eq!((store.version(), store.len()), (2, 2));
    drop(store);
    assert!(Store::verify(dir.path()).expect("verify").is_ok());
    assert!(Store::repair(dir.path()).expect("second repair").is_noop());
}

#[test]
fn repair_sets_a_damaged_snapshot_aside_and_replays_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    build(dir.path(), true);
    let snap_path = dir.path().join(SNAPSHOT_FILE);
    let mut snap = fs::read(&snap_path).expect("read");
    let last = snap.len() - 1;
    snap[last] ^= 1;
    fs::write(&snap_path, &snap).expect("write");
    assert!(Store::open(dir.path()).is_err());
    let out =
        Command::cargo_bin("dreamwork").expect("binary").arg("repair").arg(dir.path()).assert().success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("snapshot set aside"));
    assert_eq!(fs::read(dir.path().join("memories.snap.damaged")).expect("kept"), snap);
    let store = Store::open(dir.path()).expect("opens after repair");
    assert_eq!((store.version(), store.len()), (7, 7));
}

#[test]
fn repair_keeps_a_valid_snapshot_when_old_history_is_damaged() {
    let dir = tempfile::tempdir().expect("tempdir");
    build(dir.path(), true);
    let log_path = dir.path().join(LOG_FILE);
    let mut log = fs::read(&log_path).expect("read");
    log[40] ^= 0x02;
    fs::write(&log_path, &log).expect("write");
    // The snapshot covers the damage: the store still opens, history fails.
    let store = Store::open_read_only(dir.path()).expect("open");
    assert_eq!(store.len(), 7);
    assert!(matches!(store.history(&p("/m/0")), Err(StoreError::Corrupt { .. })));
    drop(store);
    assert!(Store::repair(dir.path()).expect("repair").is_noop());
    assert_eq!(Store::open(dir.path()).expect("open").len(), 7);
}
