//! Rewriting a dream output with the answers of a review, atomically.
//!
//! The answers live in the journal, so the reviewed output is simply the
//! dream run again from STORE with the journal in front of the local
//! resolver and the first run's options (from the report: its instructions,
//! thresholds, caps and the rest, see [`SavedOptions`](crate::report::SavedOptions)),
//! whether that run was `dreamwork dream` or a library call with other
//! options — for the former, the same run a user makes with `dreamwork
//! dream STORE --out OUT2 --journal FILE`, which therefore gives the same
//! bytes. The re-run reads the sessions and
//! vectors that OUT recorded (see [`DiskRequest::replay_of`]), so it sees
//! exactly the first run's input; the judge's word vectors, which OUT does
//! not keep, come from the user cache when one is given.
//!
//! Promises:
//! - STORE is only read; if its memories changed since OUT was dreamed, the
//!   rewrite refuses ([`DreamError::StoreChanged`]): the answers stay in the
//!   journal for a new dream.
//! - OUT is never half-written: the new output is built whole in a sibling
//!   directory `.NAME.reviewed`, fsynced, and then swapped for OUT — in one
//!   step on Linux (`renameat2` with `RENAME_EXCHANGE`), elsewhere by two
//!   renames (OUT moves aside to `.NAME.old`, the new output takes its
//!   place; a crash between them leaves both whole). The old output is then
//!   removed.
//! - Files of `OUT/dream/` the re-run does not write (the review journal
//!   `journal.jsonl`, anything a user put there) are carried over.

use std::fs;
use std::path::{Path, PathBuf};

use super::ReviewError;
use crate::dream::disk::{self, DiskDream, DiskRequest, REPORT_DIR};
use crate::dream::{Dream, DreamError, DreamOptions};
use crate::embed::{CacheDir, Embedder};
use crate::progress::{CancelToken, Observer};
use crate::resolve::{Asking, Journal, LocalResolver};
use crate::store::Store;

/// Dreams STORE again with the journal at `journal` in front of the local
/// resolver and swaps the result in for `out` (see the module doc).
/// `embedder` must be the one OUT was dreamed with; `cache` is the user
/// cache the re-run reads (and fills) like a dream (`None`: none).
pub fn rewrite_output(
    store: &Path,
    out: &Path,
    journal: &Path,
    embedder: &dyn Embedder,
    cache: Option<&CacheDir>,
    observer: &dyn Observer,
    cancel: &CancelToken,
) -> Result<DiskDream, ReviewError> {
    let report = disk::read_report(out)?;
    if embedder.model_id() != report.embedder {
        return Err(ReviewError::Embedder {
            out: out.to_owned(),
            dreamed: report.embedder,
            given: embedder.model_id().to_owned(),
        });
    }
    let now = Store::open_read_only(store).map_err(DreamError::from)?.store_hash().to_hex();
    if now != report.input.store_hash {
        return Err(DreamError::StoreChanged {
            store: store.to_owned(),
            dreamed: report.input.store_hash,
            now,
        }
        .into());
    }
    // The options the first run saved in its report (every default for a
    // report from before they were saved, as `dreamwork dream` made them).
    let dream = Dream::new(DreamOptions::of_report(&report));
    let fresh = sibling(out, "reviewed")?;
    if fresh.exists() {
        fs::remove_dir_all(&fresh).map_err(io(&fresh))?;
    }
    let request = DiskRequest {
        store: store.to_owned(),
        out: fresh.clone(),
        extra_sessions: Vec::new(),
        replay_of: Some(out.to_owned()),
        // OUT's cache holds every pooled vector the first run used; the
        // user cache holds the word vectors it computed.
        vector_cache: cache.cloned(),
    };
    let mut journal = Journal::open(journal)?;
    let mut asking = Asking::new(&LocalResolver).limits(report.options.limits).journal(&mut journal);
    let mut done = disk::dream_store(&dream, request, embedder, &mut asking, observer, cancel)?;
    drop(asking);
    journal.sync()?;
    drop(journal);
    let result = carry_over(&out.join(REPORT_DIR), &fresh.join(REPORT_DIR)).and_then(|()| swap(&fresh, out));
    if let Err(e) = result {
        let _ = fs::remove_dir_all(&fresh);
        return Err(e.into());
    }
    done.report_dir = out.join(REPORT_DIR);
    Ok(done)
}

/// `.NAME.TAG` next to `out`.
fn sibling(out: &Path, tag: &str) -> Result<PathBuf, DreamError> {
    let name = out.file_name().ok_or_else(|| DreamError::NotADreamOutput(out.to_owned()))?;
    Ok(out.with_file_name(format!(".{}.{tag}", name.to_string_lossy())))
}

/// Copies the files of `from` that `to` lacks (fsynced).
fn carry_over(from: &Path, to: &Path) -> Result<(), DreamError> {
    let entries = fs::read_dir(from).map_err(io(from))?;
    let mut names: Vec<_> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io(from))?;
        if entry.file_type().map_err(io(from))?.is_file() {
            names.push(entry.file_name());
        }
    }
    names.sort();
    for name in names {
        let target = to.join(&name);
        if target.exists() {
            continue;
        }
        let source = from.join(&name);
        fs::copy(&source, &target).map_err(io(&source))?;
        fs::File::open(&target).and_then(|f| f.sync_all()).map_err(io(&target))?;
    }
    sync_dir(to)
}

/// Puts `fresh` where `out` is and removes the old output.
fn swap(fresh: &Path, out: &Path) -> Result<(), DreamError> {
    // No process may have OUT open as a store meanwhile.
    let lock = Store::open(out)?;
    let old = match exchange(fresh, out) {
        Ok(()) => fresh.to_owned(),
        Err(_) => {
            let aside = sibling(out, "old")?;
            if aside.exists() {
                fs::remove_dir_all(&aside).map_err(io(&aside))?;
            }
            fs::rename(out, &aside).map_err(io(out))?;
            if let Err(source) = fs::rename(fresh, out) {
                let _ = fs::rename(&aside, out);
                return Err(DreamError::Io { path: fresh.to_owned(), source });
            }
            aside
        }
    };
    drop(lock);
    match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => sync_dir(p)?,
        _ => sync_dir(Path::new("."))?,
    }
    fs::remove_dir_all(&old).map_err(io(&old))
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(std::io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

fn sync_dir(dir: &Path) -> Result<(), DreamError> {
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> DreamError + '_ {
    move |source| DreamError::Io { path: path.to_owned(), source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_puts_the_new_output_in_place_and_carries_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let (out, fresh) = (dir.path().join("out"), dir.path().join(".out.reviewed"));
        drop(Store::create(&out).unwrap());
        drop(Store::create(&fresh).unwrap());
        for (d, name, text) in
            [(&out, "journal.jsonl", "answers"), (&out, "report.json", "old"), (&fresh, "report.json", "new")]
        {
            fs::create_dir_all(d.join(REPORT_DIR)).unwrap();
            fs::write(d.join(REPORT_DIR).join(name), text).unwrap();
        }
        carry_over(&out.join(REPORT_DIR), &fresh.join(REPORT_DIR)).unwrap();
        swap(&fresh, &out).unwrap();
        assert!(!fresh.exists() && !sibling(&out, "old").unwrap().exists());
        assert_eq!(fs::read_to_string(out.join("dream/report.json")).unwrap(), "new");
        assert_eq!(fs::read_to_string(out.join("dream/journal.jsonl")).unwrap(), "answers");
        assert!(Store::open_read_only(&out).is_ok());
    }
}
