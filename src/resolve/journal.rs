//! The journal: a JSONL file of answers, one per line, keyed by the blake3
//! of the question as sent ([`Question::key`](super::Question::key)) and the
//! resolver that gave it (name and model). A dream with a journal replays a
//! recorded answer instead of asking again and appends every new one, so a
//! re-run with the same journal sends nothing and produces byte-identical
//! output and report.
//!
//! Line format (extra fields are ignored):
//! `{"key":"<64 hex>","resolver":"exec","model":"","answer":{…an answer…},"usage":{…}}`;
//! `model` and `usage` may be absent. `usage` is the answer's share of what
//! the server reported for its request, so a replay reports the same usage.
//!
//! Which answer a resolver gets for a question:
//! 1. the latest entry of a person (resolver [`REVIEW`]) if it settles the
//!    question (has outputs): what a person decided stands for every backend;
//! 2. else the first entry with the resolver's own name and model.
//!
//! So an answer journaled by `local` is never replayed for `exec` or
//! `anthropic` (a local "unresolved" never blocks a remote run), and a model
//! is never handed another model's answer.
//!
//! Recovery: a last line without its newline that does not parse is the
//! torn tail of an interrupted append; it is cut off when the journal is
//! opened. Any other line that does not parse is an error naming the file
//! and the line.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Answer, Answered, ResolveError, ResolverName, Usage, Verdict};
use crate::memory::ContentHash;

/// The resolver name of answers a person gave (`dreamwork review`).
pub const REVIEW: ResolverName = ResolverName::Review;

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The question's key (64 hex digits).
    pub key: String,
    /// The resolver's name.
    pub resolver: ResolverName,
    /// The resolver's model (`""` when it has none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model: String,
    /// The answer as the resolver gave it.
    pub answer: Answer,
    /// The answer's share of the server's usage.
    #[serde(default, skip_serializing_if = "Usage::is_zero")]
    pub usage: Usage,
}

/// A journal file, open for replay and append.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    /// First entry per (key, resolver, model).
    own: BTreeMap<(String, ResolverName, String), JournalEntry>,
    /// Latest [`REVIEW`] entry per key.
    review: BTreeMap<String, JournalEntry>,
    recorded: usize,
}

impl Journal {
    /// Opens (or creates) the journal at `path`, cutting off a torn tail.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ResolveError> {
        let path = path.as_ref().to_path_buf();
        let io = |source| ResolveError::Io { path: path.clone(), source };
        let mut file = OpenOptions::new().read(true).append(true).create(true).open(&path).map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let (entries, keep) = parse(&path, &bytes)?;
        if keep < bytes.len() {
            file.set_len(keep as u64).map_err(io)?;
            file.sync_data().map_err(io)?;
        }
        let mut journal = Self { path, file, own: BTreeMap::new(), review: BTreeMap::new(), recorded: 0 };
        entries.into_iter().for_each(|e| journal.remember(e));
        Ok(journal)
    }

    fn remember(&mut self, e: JournalEntry) {
        if e.resolver == REVIEW {
            self.review.insert(e.key.clone(), e.clone());
        }
        self.own.entry((e.key.clone(), e.resolver.clone(), e.model.clone())).or_insert(e);
    }

    /// The answer to replay for the question with `key` asked of the
    /// resolver `name`/`model` (see the module doc), if any.
    pub fn lookup(&self, key: &ContentHash, name: &ResolverName, model: &str) -> Option<&JournalEntry> {
        let hex = key.to_hex();
        if let Some(e) = self.review.get(&hex)
            && matches!(e.answer.verdict, Verdict::Outputs(_))
        {
            return Some(e);
        }
        self.own.get(&(hex, name.clone(), model.to_owned()))
    }

    /// Appends an answer (written at once; [`sync`](Self::sync) makes it durable).
    pub fn record(
        &mut self,
        key: &ContentHash,
        name: &ResolverName,
        model: &str,
        answered: &Answered,
    ) -> Result<(), ResolveError> {
        let entry = JournalEntry {
            key: key.to_hex(),
            resolver: name.clone(),
            model: model.to_owned(),
            answer: answered.answer.clone(),
            usage: answered.usage,
        };
        let mut line = serde_json::to_string(&entry).expect("serialising plain data to JSON cannot fail");
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .map_err(|source| ResolveError::Io { path: self.path.clone(), source })?;
        self.remember(entry);
        self.recorded += 1;
        Ok(())
    }

    /// Makes every recorded answer durable.
    pub fn sync(&mut self) -> Result<(), ResolveError> {
        self.file.sync_data().map_err(|source| ResolveError::Io { path: self.path.clone(), source })
    }

    /// How many answers were recorded since it was opened.
    pub fn recorded(&self) -> usize {
        self.recorded
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Parses a journal's bytes (`path` only names it in errors); returns the
/// entries in file order and the length of the valid prefix (shorter than
/// `bytes` when a torn last line is to be cut off).
pub fn parse(path: &Path, bytes: &[u8]) -> Result<(Vec<JournalEntry>, usize), ResolveError> {
    let mut entries = Vec::new();
    let mut offset = 0;
    let mut line_no = 0;
    while offset < bytes.len() {
        line_no += 1;
        let rest = &bytes[offset..];
        let (line, complete) = match rest.iter().position(|&b| b == b'\n') {
            Some(n) => (&rest[..n], true),
            None => (rest, false),
        };
        let corrupt = |message: String| ResolveError::JournalCorrupt {
            path: path.to_path_buf(),
            line: line_no,
            message,
        };
        let parsed = std::str::from_utf8(line)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<JournalEntry>(text).map_err(|e| e.to_string()));
        match parsed {
            Ok(entry) => {
                if ContentHash::from_hex(&entry.key).is_none() {
                    return Err(corrupt(format!("key {:?} is not a 64-digit hex hash", entry.key)));
                }
                entries.push(entry);
            }
            Err(_) if !complete => return Ok((entries, offset)),
            Err(_) if line.iter().all(u8::is_ascii_whitespace) => {}
            Err(message) => return Err(corrupt(message)),
        }
        offset += line.len() + usize::from(complete);
    }
    Ok((entries, bytes.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::{Output, OutputAction, port_question};

    fn keep_b(id: &str) -> Answered {
        Answer::outputs(
            id,
            vec![Output {
                path: "/b".into(),
                content: "port 2".into(),
                sources: vec!["/a".into(), "/b".into()],
                action: OutputAction::Superseded,
            }],
            "newer",
        )
        .into()
    }

    #[test]
    fn replays_by_resolver_and_model() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let q = port_question("2");
        let mut j = Journal::open(&path).unwrap();
        j.record(&q.key(), &"local".into(), "", &Answer::unresolved(q.id.clone(), "unsure").into()).unwrap();
        let mut remote = keep_b(&q.id);
        remote.usage.input_tokens = 7;
        j.record(&q.key(), &"anthropic".into(), "m1", &remote).unwrap();
        j.sync().unwrap();
        drop(j);
        let j = Journal::open(&path).unwrap();
        assert!(matches!(
            j.lookup(&q.key(), &"local".into(), "").unwrap().answer.verdict,
            Verdict::Unresolved
        ));
        // A local answer never blocks a remote one, nor one model another's.
        assert!(j.lookup(&q.key(), &"exec".into(), "").is_none());
        assert!(j.lookup(&q.key(), &"anthropic".into(), "m2").is_none());
        assert_eq!(j.lookup(&q.key(), &"anthropic".into(), "m1").unwrap().usage.input_tokens, 7);
    }

    #[test]
    fn a_persons_settled_answer_wins_for_everyone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let q = port_question("2");
        let mut j = Journal::open(&path).unwrap();
        j.record(&q.key(), &"local".into(), "", &Answer::unresolved(q.id.clone(), "unsure").into()).unwrap();
        j.record(&q.key(), &REVIEW, "", &keep_b(&q.id)).unwrap();
        assert_eq!(j.lookup(&q.key(), &"local".into(), "").unwrap().resolver, REVIEW);
        assert_eq!(j.lookup(&q.key(), &"exec".into(), "").unwrap().resolver, REVIEW);
        // Reopened by the person: the resolver's own answer counts again.
        j.record(&q.key(), &REVIEW, "", &Answer::unresolved(q.id.clone(), "reopened").into()).unwrap();
        assert_eq!(j.lookup(&q.key(), &"local".into(), "").unwrap().resolver, ResolverName::Local);
        assert_eq!(j.recorded(), 3);
    }

    #[test]
    fn corrupt_line_names_its_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let q = port_question("2");
        let mut j = Journal::open(&path).unwrap();
        j.record(&q.key(), &"local".into(), "", &keep_b(&q.id)).unwrap();
        drop(j);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{not json}\n");
        std::fs::write(&path, &text).unwrap();
        let err = Journal::open(&path).unwrap_err();
        assert!(matches!(err, ResolveError::JournalCorrupt { line: 2, .. }), "{err}");
        assert!(err.to_string().contains("j.jsonl:2"));
    }

    #[test]
    fn torn_tail_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let q = port_question("2");
        let mut j = Journal::open(&path).unwrap();
        j.record(&q.key(), &"local".into(), "", &keep_b(&q.id)).unwrap();
        drop(j);
        let good = std::fs::read(&path).unwrap();
        let mut torn = good.clone();
        torn.extend_from_slice(b"{\"key\":\"ab");
        std::fs::write(&path, &torn).unwrap();
        let j = Journal::open(&path).unwrap();
        assert!(j.lookup(&q.key(), &"local".into(), "").is_some());
        drop(j);
        assert_eq!(std::fs::read(&path).unwrap(), good);
    }
}
