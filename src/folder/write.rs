//! Writing a dream back into its folder ([`accept`]) and the small atomic
//! file writes the record needs.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::record::{FileChange, FolderRecord};
use super::{Folder, FolderError, io, plan};
use crate::dream::DreamError;
use crate::dream::disk;
use crate::store::Store;

/// What [`accept`] did.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The folder, now holding the dream (symbolic links resolved).
    pub folder: PathBuf,
    /// Where the old folder is kept, byte for byte (`FOLDER.bak-N`).
    pub backup: PathBuf,
    /// The files added, rewritten and removed.
    pub changes: Vec<FileChange>,
}

/// Writes the dream in `out` back into `folder`: refuses ([`FolderError::Changed`],
/// naming the files, nothing written) when the folder differs from what
/// the dream read; otherwise builds the new folder beside it, keeps the
/// old one as `FOLDER.bak-N` and puts the new one in its place. OUT is left
/// as it is (the record of the dream; `discard` removes it).
pub fn accept(folder: &Path, out: &Path) -> Result<Accepted, FolderError> {
    if !disk::is_dream_output(out) {
        return Err(DreamError::NotADreamOutput(out.to_owned()).into());
    }
    let record = FolderRecord::read(out)?;
    let root = folder.canonicalize().map_err(io(folder))?;
    let unchanged = |dir: &Path| -> Result<Folder, FolderError> {
        let now = Folder::read(dir)?;
        let files = now.differences(&record.files);
        if files.is_empty() {
            Ok(now)
        } else {
            Err(FolderError::Changed { folder: folder.to_owned(), files })
        }
    };
    let current = unchanged(&root)?;
    let plan = {
        // Read under OUT's shared lock: nobody rewrites it meanwhile.
        let store = Store::open_read_only(out)?;
        let outputs: Vec<_> = store.iter().cloned().collect();
        let report = disk::read_report(out)?;
        plan::plan(&current, &outputs, &report)?
    };
    let name = root
        .file_name()
        .ok_or_else(|| FolderError::Invariant(format!("{} has no name", root.display())))?
        .to_string_lossy()
        .into_owned();
    let staging = root.with_file_name(format!(".{name}.accepting"));
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    let built = build(&root, &staging, &plan);
    let backup = (1..)
        .map(|n| root.with_file_name(format!("{name}.bak-{n}")))
        .find(|p| !p.exists() && fs::symlink_metadata(p).is_err())
        .ok_or_else(|| FolderError::Invariant("no free backup name".into()))?;
    let swapped = built.and_then(|()| {
        // Checked again just before the swap, and after it in the backup: a
        // write that raced in puts everything back.
        unchanged(&root)?;
        fs::rename(&root, &backup).map_err(io(&root))?;
        if let Err(e) = unchanged(&backup) {
            fs::rename(&backup, &root).map_err(io(&backup))?;
            return Err(e);
        }
        if let Err(source) = fs::rename(&staging, &root) {
            fs::rename(&backup, &root).map_err(io(&backup))?;
            return Err(FolderError::Io { path: staging.clone(), source });
        }
        sync_parent(&root)
    });
    if let Err(e) = swapped {
        if staging.exists() {
            let _ = fs::remove_dir_all(&staging);
        }
        return Err(e);
    }
    Ok(Accepted { folder: root, backup, changes: plan.changes })
}

/// Writes every file of `plan` under `staging` (synced), with the old
/// folder's permissions (and each old file's), and the old times on files
/// kept unchanged.
fn build(root: &Path, staging: &Path, plan: &plan::Plan) -> Result<(), FolderError> {
    fs::create_dir(staging).map_err(io(staging))?;
    let perms = fs::metadata(root).map_err(io(root))?.permissions();
    let mut dirs = vec![staging.to_owned()];
    for (rel, file) in &plan.files {
        let target = staging.join(rel);
        if let Some(parent) = target.parent()
            && !parent.exists()
        {
            fs::create_dir_all(parent).map_err(io(parent))?;
            dirs.push(parent.to_owned());
        }
        let mut f = fs::File::create(&target).map_err(io(&target))?;
        f.write_all(&file.bytes).map_err(io(&target))?;
        let old = root.join(rel);
        if let Ok(meta) = fs::metadata(&old) {
            f.set_permissions(meta.permissions()).map_err(io(&target))?;
            if file.unchanged {
                f.set_modified(meta.modified().map_err(io(&old))?).map_err(io(&target))?;
            }
        }
        f.sync_all().map_err(io(&target))?;
    }
    for d in dirs.iter().rev() {
        sync_dir(d)?;
    }
    fs::set_permissions(staging, perms).map_err(io(staging))
}

/// Replaces `path` with `bytes` atomically (temporary file, fsync, rename,
/// fsync of the directory).
pub(crate) fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), FolderError> {
    let tmp = path.with_extension("tmp");
    let mut f = fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    drop(f);
    fs::rename(&tmp, path).map_err(io(path))?;
    sync_parent(path)
}

fn sync_dir(dir: &Path) -> Result<(), FolderError> {
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Flushes the directory holding `path`.
pub(crate) fn sync_parent(path: &Path) -> Result<(), FolderError> {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => sync_dir(p),
        _ => sync_dir(Path::new(".")),
    }
}
