//! The write-back: from the folder as read and the dream's output memories
//! and report, every file of the new folder and what changed.

use std::collections::{BTreeMap, BTreeSet};

use super::frontmatter::Frontmatter;
use super::read::{Role, Topic, fact_of_path, fact_path};
use super::record::{ChangeKind, FileChange, IndexSummary};
use super::{Folder, FolderError, INDEX_FILE, Layout, OVERFLOW_FILE, index};
use crate::memory::{Memory, MemoryPath};
use crate::report::{Action, DroppedEntry, MemoryEntry, Report};

/// Longest description written for a rewritten or new file.
const DESCRIPTION_CHARS: usize = 150;
/// Longest name written for a new file.
const NAME_CHARS: usize = 60;

/// A file of the new folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlannedFile {
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Whether they are the old file's, unchanged (it keeps its time).
    pub unchanged: bool,
}

/// The new folder and how it differs from the old.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Every file of the new folder, by relative path.
    pub(crate) files: BTreeMap<String, PlannedFile>,
    /// Files added, rewritten or removed, in path order.
    pub changes: Vec<FileChange>,
    /// The index after the dream, if the folder has one.
    pub index: Option<IndexSummary>,
}

/// What the report says about the memories.
struct Said<'r> {
    entries: BTreeMap<&'r MemoryPath, &'r MemoryEntry>,
    dropped: BTreeMap<&'r MemoryPath, &'r DroppedEntry>,
}

impl Said<'_> {
    fn why_kept(&self, path: &MemoryPath) -> String {
        match self.entries.get(path) {
            Some(e) => format!("{}: {}", e.action.as_str(), e.reason),
            None => "written by the dream".to_owned(),
        }
    }

    fn why_dropped(&self, path: &MemoryPath) -> String {
        match self.dropped.get(path) {
            Some(DroppedEntry { into: Some(into), reason, .. }) => format!("into {into}: {reason}"),
            Some(DroppedEntry { reason, .. }) => reason.clone(),
            None => "not in the dream's output".to_owned(),
        }
    }

    fn sources(&self, path: &MemoryPath) -> Vec<MemoryPath> {
        self.entries.get(path).map(|e| e.sources.clone()).unwrap_or_default()
    }
}

/// Plans the new folder (see the module doc of [`super`]).
pub(crate) fn plan(folder: &Folder, outputs: &[Memory], report: &Report) -> Result<Plan, FolderError> {
    let said = Said {
        entries: report.memories.iter().map(|e| (&e.path, e)).collect(),
        dropped: report.dropped.iter().map(|d| (&d.path, d)).collect(),
    };
    let topic = |rel: &str| match folder.files.get(rel).map(|f| &f.role) {
        Some(Role::Topic(t)) => Some(t),
        _ => None,
    };
    let convention = folder.layout == Layout::ClaudeCode
        || folder.files.values().any(|f| matches!(&f.role, Role::Topic(t) if t.frontmatter.is_some()));
    let mut files: BTreeMap<String, PlannedFile> = BTreeMap::new();
    for f in folder.files.values() {
        if matches!(f.role, Role::Context | Role::Other) {
            files.insert(f.path.clone(), PlannedFile { bytes: f.bytes.clone(), unchanged: true });
        }
    }
    // Topic files of the output, with their name and description for the index.
    let mut shown: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut memory_of: BTreeMap<String, MemoryPath> = BTreeMap::new();
    // Facts of the index that grew to several lines: their new file.
    let mut fact_files: BTreeMap<MemoryPath, String> = BTreeMap::new();
    for m in outputs {
        let rel = match fact_of_path(&m.path) {
            Some(_) if !m.content.contains('\n') => continue,
            Some((file, line)) => free_name(&files, file.trim_end_matches(".md"), line),
            None => m.path.as_str()[1..].to_owned(),
        };
        if files.contains_key(&rel) || rel == INDEX_FILE || rel == OVERFLOW_FILE {
            return Err(FolderError::Invariant(format!(
                "the dream's memory {} would overwrite {rel}, which is not a memory file",
                m.path
            )));
        }
        let sources: Vec<&Topic> =
            said.sources(&m.path).iter().filter_map(|s| topic(&s.as_str()[1..])).collect();
        let (bytes, unchanged, fm) = match topic(&rel) {
            Some(t) if t.content == m.content => {
                let bytes = folder.files.get(&rel).map(|f| f.bytes.clone()).unwrap_or_default();
                (bytes, true, t.frontmatter.clone())
            }
            Some(t) => {
                let fm = t.frontmatter.clone().map(|mut f| {
                    if f.get("description").is_some() {
                        f.set("description", &description_for(&m.content, &sources));
                    }
                    f
                });
                (render(fm.as_ref(), &t.gap, &m.content), false, fm)
            }
            None => {
                let fm = match sources.iter().find_map(|t| t.frontmatter.clone()) {
                    Some(mut f) => {
                        f.set("description", &description_for(&m.content, &sources));
                        Some(f)
                    }
                    None if convention => {
                        let kind = match said.entries.get(&m.path).map(|e| e.action) {
                            Some(Action::Pattern) => "feedback".to_owned(),
                            _ => sources
                                .iter()
                                .find_map(|t| t.frontmatter.as_ref().and_then(|f| f.get("type")))
                                .unwrap_or_else(|| "project".to_owned()),
                        };
                        Some(Frontmatter::new([
                            ("name", cut(&first_line(&m.content), NAME_CHARS).as_str()),
                            ("description", description_for(&m.content, &sources).as_str()),
                            ("type", kind.as_str()),
                        ]))
                    }
                    None => None,
                };
                (render(fm.as_ref(), "\n", &m.content), false, fm)
            }
        };
        let name = fm
            .as_ref()
            .and_then(|f| f.get("name"))
            .unwrap_or_else(|| cut(&first_line(&m.content), NAME_CHARS));
        let description = fm
            .as_ref()
            .and_then(|f| f.get("description"))
            .unwrap_or_else(|| description_for(&m.content, &[]));
        shown.insert(rel.clone(), (name, description));
        memory_of.insert(rel.clone(), m.path.clone());
        if fact_of_path(&m.path).is_some() {
            fact_files.insert(m.path.clone(), rel.clone());
        }
        files.insert(rel, PlannedFile { bytes, unchanged });
    }

    let index = match folder.files.get(INDEX_FILE) {
        Some(_) => Some(plan_index(folder, outputs, &said, &shown, &fact_files, &mut files)?),
        None => None,
    };

    let mut changes = Vec::new();
    let paths: BTreeSet<&String> = folder.files.keys().chain(files.keys()).collect();
    for rel in paths {
        let old = folder.files.get(rel);
        let new = files.get(rel);
        let is_index = rel == INDEX_FILE || rel == OVERFLOW_FILE;
        let index_reason = || match &index {
            Some(i) if rel == INDEX_FILE => format!("the index ({} notes below)", i.notes.len()),
            _ => "index lines that do not fit in MEMORY.md".to_owned(),
        };
        let (change, memories, reason) = match (old, new) {
            (Some(o), Some(n)) if o.bytes != n.bytes => {
                let m = memory_of.get(rel).cloned();
                let reason = match (&m, is_index) {
                    (_, true) => index_reason(),
                    (Some(p), _) => said.why_kept(p),
                    (None, _) => "rewritten".to_owned(),
                };
                let memories = m.map(|p| [said.sources(&p), vec![p]].concat()).unwrap_or_default();
                (ChangeKind::Rewritten, dedup(memories), reason)
            }
            (Some(_), Some(_)) => continue,
            (None, Some(_)) => {
                let m = memory_of.get(rel).cloned();
                let reason = match &m {
                    Some(p) if fact_files.contains_key(p) => {
                        format!("the index fact {p} grew to several lines; {}", said.why_kept(p))
                    }
                    Some(p) => said.why_kept(p),
                    None => index_reason(),
                };
                let memories = m.map(|p| [said.sources(&p), vec![p]].concat()).unwrap_or_default();
                (ChangeKind::Added, dedup(memories), reason)
            }
            (Some(_), None) if rel == OVERFLOW_FILE => {
                (ChangeKind::Removed, Vec::new(), "the whole index fits in MEMORY.md now".to_owned())
            }
            (Some(o), None) => {
                let path = MemoryPath::new(&format!("/{}", o.path))
                    .map_err(|e| FolderError::Invariant(format!("input path: {e}")))?;
                (ChangeKind::Removed, vec![path.clone()], said.why_dropped(&path))
            }
            (None, None) => continue,
        };
        changes.push(FileChange { file: rel.clone(), change, memories, reason });
    }
    Ok(Plan { files, changes, index })
}

fn dedup(mut v: Vec<MemoryPath>) -> Vec<MemoryPath> {
    v.sort();
    v.dedup();
    v
}

/// The index after the dream (see the module doc of [`super`]): its lines
/// in the old order, entries of removed files retargeted or removed, facts
/// rewritten or removed, entries for new files added at the end, and what
/// does not fit moved to [`OVERFLOW_FILE`]. Writes the index files into
/// `files` and checks that every link resolves.
fn plan_index(
    folder: &Folder,
    outputs: &[Memory],
    said: &Said<'_>,
    shown: &BTreeMap<String, (String, String)>,
    fact_files: &BTreeMap<MemoryPath, String>,
    files: &mut BTreeMap<String, PlannedFile>,
) -> Result<IndexSummary, FolderError> {
    let out_by: BTreeMap<&MemoryPath, &Memory> = outputs.iter().map(|m| (&m.path, m)).collect();
    let is_topic = |rel: &str| matches!(folder.files.get(rel).map(|f| &f.role), Some(Role::Topic(_)));
    let mut sources_of: Vec<(&str, &Vec<index::IndexLine>)> = Vec::new();
    let mut head = None;
    for name in [INDEX_FILE, OVERFLOW_FILE] {
        if let Some(Role::Index { head: h, lines }) = folder.files.get(name).map(|f| &f.role) {
            if name == INDEX_FILE {
                head = Some(h.clone());
            }
            sources_of.push((name, lines));
        }
    }
    let head = head.unwrap_or_default();
    // Files that had an entry in the old index.
    let indexed: BTreeSet<&str> = sources_of
        .iter()
        .flat_map(|(_, lines)| lines.iter())
        .filter_map(|l| match &l.kind {
            index::LineKind::Link { target, .. } if folder.files.contains_key(target) => {
                Some(target.as_str())
            }
            _ => None,
        })
        .collect();
    let entry = |rel: &str| {
        let (name, description) = shown.get(rel).cloned().unwrap_or_default();
        index::entry_line(&name, rel, &description)
    };
    let mut lines: Vec<String> = head.lines().map(str::to_owned).collect();
    let mut notes = Vec::new();
    let mut entered: BTreeSet<String> = BTreeSet::new();
    let mut facts_seen: BTreeSet<MemoryPath> = BTreeSet::new();
    for (file, old) in &sources_of {
        for line in old.iter() {
            let at = format!("{file} line {}", line.number);
            let (fact, is_link) = match &line.kind {
                index::LineKind::Fact(f) => (Some(f), false),
                index::LineKind::Link { target, as_fact }
                    if !folder.files.contains_key(target) && target != OVERFLOW_FILE =>
                {
                    (Some(as_fact), true)
                }
                _ => (None, false),
            };
            if let Some(fact) = fact {
                let path = fact_path(file, line.number)?;
                facts_seen.insert(path.clone());
                match (out_by.get(&path), fact_files.get(&path)) {
                    (Some(_), Some(rel)) => {
                        entered.insert(rel.clone());
                        lines.push(entry(rel));
                        notes.push(format!("{at}: the fact grew to several lines and moved to {rel}"));
                    }
                    (Some(m), None) if m.content == fact.text && !is_link => lines.push(line.raw.clone()),
                    (Some(m), None) => {
                        lines.push(format!("{}{}", fact.prefix, m.content));
                        if is_link {
                            notes.push(format!(
                                "{at}: its link led to no file; the link was removed, the text kept"
                            ));
                        }
                        if m.content != fact.text {
                            notes.push(format!("{at}: rewritten ({})", said.why_kept(&path)));
                        }
                    }
                    (None, _) => notes.push(format!("{at}: removed ({})", said.why_dropped(&path))),
                }
                continue;
            }
            match &line.kind {
                index::LineKind::Link { target, .. } if target == OVERFLOW_FILE => {}
                index::LineKind::Link { target, .. } if is_topic(target) => {
                    let path = topic_path(target)?;
                    if out_by.contains_key(&path) {
                        if entered.insert(target.clone()) {
                            lines.push(updated_hook(folder, shown, target, &line.raw));
                        } else {
                            notes.push(format!("{at}: a second entry for {target}, removed"));
                        }
                        continue;
                    }
                    let into = said.dropped.get(&path).and_then(|d| d.into.as_ref());
                    let heir = into
                        .filter(|p| fact_of_path(p).is_none())
                        .map(|p| p.as_str()[1..].to_owned())
                        .filter(|g| shown.contains_key(g) && !indexed.contains(g.as_str()));
                    match heir {
                        Some(g) if entered.insert(g.clone()) => {
                            lines.push(entry(&g));
                            notes.push(format!(
                                "{at}: the entry for {target} now links {g} ({target} went {})",
                                said.why_dropped(&path)
                            ));
                        }
                        _ => notes.push(format!(
                            "{at}: the entry for {target} removed ({target} went {})",
                            said.why_dropped(&path)
                        )),
                    }
                }
                // Structure, and links to files that are not memories.
                _ => lines.push(line.raw.clone()),
            }
        }
    }
    for (rel, _) in shown.iter() {
        if entered.contains(rel) {
            continue;
        }
        let Ok(path) = topic_path(rel) else { continue };
        let memory = fact_files.iter().find(|(_, r)| *r == rel).map(|(p, _)| p.clone()).unwrap_or(path);
        let new = !is_topic(rel);
        let absorbed = said.sources(&memory).iter().any(|s| indexed.contains(&s.as_str()[1..]));
        if new || absorbed {
            lines.push(entry(rel));
            entered.insert(rel.clone());
            let why = if new { "a new file" } else { "it took in memories that had entries" };
            notes.push(format!("entry added for {rel} ({why})"));
        }
    }
    for m in outputs {
        if fact_of_path(&m.path).is_some()
            && !facts_seen.contains(&m.path)
            && !fact_files.contains_key(&m.path)
        {
            lines.push(format!("- {}", index::one_line(&m.content)));
            notes.push(format!("fact {} added", m.path));
        }
    }

    let pointer = index::entry_line(
        "More of this index",
        OVERFLOW_FILE,
        "entries moved out of MEMORY.md to keep it within what is loaded",
    );
    let (mut kept, moved) = index::fit(lines, &pointer);
    let original = folder.files.get(INDEX_FILE).map(|f| f.bytes.as_slice()).unwrap_or_default();
    let old_lines: Vec<&str> = std::str::from_utf8(original).unwrap_or("").lines().collect();
    let had_overflow = folder.files.contains_key(OVERFLOW_FILE);
    if !moved.is_empty() {
        notes.push(format!(
            "{} lines from \"{}\" on did not fit and moved to {OVERFLOW_FILE}",
            moved.len(),
            moved[0]
        ));
        kept.push(pointer);
        let fm = Frontmatter::new([
            ("name", "MEMORY.md, continued"),
            ("description", "Index entries that did not fit in MEMORY.md (200 lines, 25 KB)"),
            ("type", "reference"),
        ]);
        let text = format!("{}\n{}\n", fm.render(), moved.join("\n"));
        let unchanged = folder.files.get(OVERFLOW_FILE).is_some_and(|f| f.bytes == text.as_bytes());
        files.insert(OVERFLOW_FILE.to_owned(), PlannedFile { bytes: text.into_bytes(), unchanged });
    }
    let same =
        !had_overflow && moved.is_empty() && kept.iter().map(String::as_str).eq(old_lines.iter().copied());
    let (bytes, unchanged) =
        if same { (original.to_vec(), true) } else { (format!("{}\n", kept.join("\n")).into_bytes(), false) };
    let summary = IndexSummary {
        file: INDEX_FILE.to_owned(),
        lines: kept.len(),
        bytes: bytes.len(),
        moved: moved.len(),
        notes,
    };
    files.insert(INDEX_FILE.to_owned(), PlannedFile { bytes, unchanged });
    check_links(files)?;
    if summary.lines > index::MAX_LINES || summary.bytes > index::MAX_BYTES {
        return Err(FolderError::Invariant(format!(
            "the index would be {} lines, {} bytes",
            summary.lines, summary.bytes
        )));
    }
    Ok(summary)
}

fn topic_path(rel: &str) -> Result<MemoryPath, FolderError> {
    MemoryPath::new(&format!("/{rel}")).map_err(|e| FolderError::Invariant(format!("topic path: {e}")))
}

/// The entry line for `target`, with the file's old description replaced by
/// its new one where the line quotes it.
fn updated_hook(
    folder: &Folder,
    shown: &BTreeMap<String, (String, String)>,
    target: &str,
    raw: &str,
) -> String {
    let old = match folder.files.get(target).map(|f| &f.role) {
        Some(Role::Topic(t)) => t.frontmatter.as_ref().and_then(|f| f.get("description")),
        _ => None,
    };
    match (old, shown.get(target)) {
        (Some(old), Some((_, new))) if !old.is_empty() && old != *new && raw.contains(&old) => {
            raw.replacen(&old, &index::one_line(new), 1)
        }
        _ => raw.to_owned(),
    }
}

/// Checks that every link of the new index files leads to a file of the new folder.
fn check_links(files: &BTreeMap<String, PlannedFile>) -> Result<(), FolderError> {
    for name in [INDEX_FILE, OVERFLOW_FILE] {
        let Some(f) = files.get(name) else { continue };
        let text = String::from_utf8_lossy(&f.bytes);
        for line in index::parse(&text) {
            if let index::LineKind::Link { target, .. } = &line.kind
                && !files.contains_key(target)
            {
                return Err(FolderError::Invariant(format!(
                    "{name} line {} would link {target}, which would not exist",
                    line.number
                )));
            }
        }
    }
    Ok(())
}

/// A file name for an index fact that grew to several lines: `STEM-L<line>.md`.
fn free_name(files: &BTreeMap<String, PlannedFile>, stem: &str, line: usize) -> String {
    let mut n = 1;
    loop {
        let name = if n == 1 { format!("{stem}-L{line}.md") } else { format!("{stem}-L{line}-{n}.md") };
        if !files.contains_key(&name) {
            return name;
        }
        n += 1;
    }
}

/// A topic file: frontmatter, the gap after it, the content.
fn render(fm: Option<&Frontmatter>, gap: &str, content: &str) -> Vec<u8> {
    let mut text = match fm {
        Some(f) => format!("{}{}", f.render(), if gap.is_empty() { "\n" } else { gap }),
        None => String::new(),
    };
    text.push_str(content.trim_end());
    text.push('\n');
    text.into_bytes()
}

/// The description of a text: that of a source file with the very same
/// text, else the text's first line, shortened.
fn description_for(content: &str, sources: &[&Topic]) -> String {
    sources
        .iter()
        .filter(|t| t.content == content)
        .find_map(|t| t.frontmatter.as_ref().and_then(|f| f.get("description")))
        .unwrap_or_else(|| cut(&first_line(content), DESCRIPTION_CHARS))
}

/// The first line holding text, without Markdown markers.
fn first_line(content: &str) -> String {
    let line = content.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let line = line.trim_start_matches(['#', '-', '*', '>', '+', ' ']);
    index::one_line(&line.replace("**", ""))
}

/// `text` cut to at most `max` characters at a word boundary, with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let head: String = text.chars().take(max - 1).collect();
    let at = head.rfind(' ').filter(|&i| i > max / 2).unwrap_or(head.len());
    format!("{}…", head[..at].trim_end())
}
