//! Claude Code's layout: `CLAUDE_CONFIG_DIR` (else `~/.claude`) holds
//! `projects/<slug>/` per project — its transcripts (`*.jsonl`) and its
//! memory folder `memory/` — and the user's `CLAUDE.md`. A project's slug
//! is its absolute path with every character outside `[A-Za-z0-9]`
//! replaced by `-`, one for one.
//!
//! `CLAUDE.md` files (the user's, the project's, and any inside the memory
//! folder) are context: [`repeats`] names the memories that say what one of
//! their lines says (the same text for a reader, as the dream's exact
//! stage decides); nothing is removed for it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Folder, FolderError, Layout, index};
use crate::dream::exact::exact_key;
use crate::memory::{Memory, MemoryPath};
use crate::session::Session;

/// Environment variable that moves Claude Code's folder.
pub const CONFIG_DIR_VAR: &str = "CLAUDE_CONFIG_DIR";

/// Claude Code's folder: `$CLAUDE_CONFIG_DIR`, else `~/.claude`.
pub fn config_dir() -> Result<PathBuf, FolderError> {
    match std::env::var_os(CONFIG_DIR_VAR) {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
        _ => dirs::home_dir().map(|h| h.join(".claude")).ok_or(FolderError::NoHome),
    }
}

/// The slug of an absolute project path.
pub fn slug(project: &Path) -> String {
    project.to_string_lossy().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}

/// The memory folder of the project at `project` (made absolute; symbolic
/// links resolved where it exists, as the running agent sees its directory).
pub fn memory_dir(project: &Path) -> Result<PathBuf, FolderError> {
    let absolute =
        project.canonicalize().or_else(|_| std::path::absolute(project)).map_err(super::io(project))?;
    Ok(config_dir()?.join("projects").join(slug(&absolute)).join("memory"))
}

/// The layout of the folder at `root`: Claude Code's when it is named
/// `memory` and its parent holds transcripts or sits in a `projects` folder.
pub fn layout_of(root: &Path) -> Layout {
    let named = root.file_name().is_some_and(|n| n == "memory");
    let parent = root.parent();
    let in_projects =
        parent.and_then(Path::parent).and_then(Path::file_name).is_some_and(|n| n == "projects");
    let has_transcripts = parent
        .and_then(|p| std::fs::read_dir(p).ok())
        .is_some_and(|mut d| d.any(|e| e.is_ok_and(|e| e.path().extension().is_some_and(|x| x == "jsonl"))));
    if named && (in_projects || has_transcripts) { Layout::ClaudeCode } else { Layout::Plain }
}

/// Where the transcripts of a Claude Code memory folder are (its parent);
/// `None` for another layout.
pub fn transcripts_dir(folder: &Folder) -> Option<PathBuf> {
    match folder.layout() {
        Layout::ClaudeCode => folder.root().parent().map(Path::to_owned),
        Layout::Plain => None,
    }
}

/// A memory that repeats a line of a `CLAUDE.md`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Repeat {
    /// The memory.
    pub memory: MemoryPath,
    /// The `CLAUDE.md` file.
    pub file: String,
    /// The 1-based line of the rule in it.
    pub line: usize,
    /// The rule, as written there.
    pub rule: String,
}

/// The context files a dream of `folder` reads, as (path, text): the
/// `CLAUDE.md` files inside it and, for a Claude Code folder, the user's
/// and the project's (the project found as the `cwd` of a session whose
/// slug is the folder's project). Files that cannot be read are skipped.
pub fn context(folder: &Folder, sessions: &[Session]) -> Vec<(PathBuf, String)> {
    let mut out = folder.context_inside();
    if folder.layout() == Layout::ClaudeCode {
        let mut candidates = Vec::new();
        if let Ok(dir) = config_dir() {
            candidates.push(dir.join("CLAUDE.md"));
        }
        let project_slug =
            folder.root().parent().and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned());
        let project = sessions
            .iter()
            .filter_map(|s| s.cwd.as_deref())
            .find(|cwd| Some(slug(Path::new(cwd))) == project_slug);
        if let Some(p) = project {
            let p = Path::new(p);
            for name in ["CLAUDE.md", "CLAUDE.local.md", ".claude/CLAUDE.md"] {
                candidates.push(p.join(name));
            }
        }
        for c in candidates {
            if let Ok(text) = std::fs::read_to_string(&c) {
                out.push((c, text));
            }
        }
    }
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// The memories that repeat a line of a context file: a memory whose text,
/// or one of whose lines, reads the same as the line (of three words or
/// more). Sorted.
pub fn repeats(memories: &[Memory], context: &[(PathBuf, String)]) -> Vec<Repeat> {
    let mut keyed: std::collections::BTreeMap<String, Vec<&MemoryPath>> = Default::default();
    for m in memories {
        let mut keys = vec![exact_key(&m.content)];
        keys.extend(m.content.lines().map(exact_key));
        keys.sort();
        keys.dedup();
        for k in keys.into_iter().filter(|k| !k.is_empty()) {
            keyed.entry(k).or_default().push(&m.path);
        }
    }
    let mut out = Vec::new();
    for (file, text) in context {
        for line in index::parse(text) {
            let index::LineKind::Fact(fact) = &line.kind else { continue };
            let key = exact_key(&fact.text);
            if key.split_whitespace().count() < 3 {
                continue;
            }
            for m in keyed.get(&key).into_iter().flatten() {
                out.push(Repeat {
                    memory: (*m).clone(),
                    file: file.display().to_string(),
                    line: line.number,
                    rule: fact.text.clone(),
                });
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::Timestamp;

    #[test]
    fn slug_replaces_every_other_character() {
        assert_eq!(slug(Path::new("/home/ana/my_shop.v2")), "-home-ana-my-shop-v2");
        assert_eq!(slug(Path::new("/tmp/é x")), "-tmp---x");
    }

    #[test]
    fn repeats_are_exact_for_a_reader() {
        let m = |p: &str, c: &str| Memory::new(MemoryPath::new(p).unwrap(), c, Timestamp(0));
        let memories = [
            m("/a.md", "Always run `cargo fmt` before committing."),
            m("/b.md", "Intro line\n- never push to main"),
            m("/c.md", "run cargo fmt"),
        ];
        let ctx = vec![(
            PathBuf::from("CLAUDE.md"),
            "# Rules\n- always run cargo fmt before committing\n- Never push to main.\n- fmt\n".to_owned(),
        )];
        let r = repeats(&memories, &ctx);
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!((r[0].memory.as_str(), r[0].line), ("/a.md", 2));
        assert_eq!((r[1].memory.as_str(), r[1].line), ("/b.md", 3));
    }
}
