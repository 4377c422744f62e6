//! The journal: a JSONL file of past resolutions, one per line, keyed by the
//! blake3 of the canonical question. Wrapped around another resolver, it
//! replays a recorded answer when the same question comes again and records
//! (appends) every new one, so a re-run with the same journal makes the same
//! decisions and produces byte-identical output.
//!
//! Line format: `{"key":"<64 hex>","resolver":"local","answer":{"decision":"keep","path":"/x","reason":"..."}}`.
//!
//! Recovery: a last line without its newline that does not parse is the
//! torn tail of an interrupted append; it is cut off when the journal is
//! opened. Any other line that does not parse is an error naming the file
//! and the line. When a key appears twice, the first answer counts.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Answer, Question, ResolveError, Resolver};

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    key: String,
    resolver: String,
    answer: Answer,
}

/// A resolver that replays recorded answers and records new ones.
#[derive(Debug)]
pub struct Journal<R> {
    inner: R,
    path: PathBuf,
    answers: BTreeMap<String, Answer>,
    file: File,
    replayed: usize,
    recorded: usize,
}

impl<R: Resolver> Journal<R> {
    /// Opens (or creates) the journal at `path`, in front of `inner`.
    pub fn open(path: impl AsRef<Path>, inner: R) -> Result<Self, ResolveError> {
        let path = path.as_ref().to_path_buf();
        let io = |source| ResolveError::Io { path: path.clone(), source };
        let mut file = OpenOptions::new().read(true).append(true).create(true).open(&path).map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let (answers, keep) = parse(&path, &bytes)?;
        if keep < bytes.len() {
            file.set_len(keep as u64).map_err(io)?;
            file.sync_data().map_err(io)?;
        }
        Ok(Self { inner, path, answers, file, replayed: 0, recorded: 0 })
    }

    /// How many answers were replayed from the file so far.
    pub fn replayed(&self) -> usize {
        self.replayed
    }

    /// How many new answers were recorded so far.
    pub fn recorded(&self) -> usize {
        self.recorded
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Parses a journal's bytes (`path` only names it in errors); returns the
/// answers by key and the length of the valid prefix (shorter than `bytes`
/// when a torn last line is to be cut off).
pub fn parse(path: &Path, bytes: &[u8]) -> Result<(BTreeMap<String, Answer>, usize), ResolveError> {
    let mut answers = BTreeMap::new();
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
            .and_then(|text| serde_json::from_str::<Entry>(text).map_err(|e| e.to_string()));
        match parsed {
            Ok(entry) => {
                if crate::memory::ContentHash::from_hex(&entry.key).is_none() {
                    return Err(corrupt(format!("key {:?} is not a 64-digit hex hash", entry.key)));
                }
                answers.entry(entry.key).or_insert(entry.answer);
            }
            Err(_) if !complete => return Ok((answers, offset)),
            Err(_) if line.iter().all(u8::is_ascii_whitespace) => {}
            Err(message) => return Err(corrupt(message)),
        }
        offset += line.len() + usize::from(complete);
    }
    Ok((answers, bytes.len()))
}

impl<R: Resolver> Resolver for Journal<R> {
    fn name(&self) -> String {
        format!("journal({})", self.inner.name())
    }

    fn resolve(&mut self, question: &Question) -> Result<Answer, ResolveError> {
        let key = question.key().to_hex();
        if let Some(answer) = self.answers.get(&key) {
            answer.validate(question)?;
            self.replayed += 1;
            return Ok(answer.clone());
        }
        let answer = self.inner.resolve(question)?;
        let entry = Entry { key: key.clone(), resolver: self.inner.name(), answer: answer.clone() };
        let mut line = serde_json::to_string(&entry).expect("serialising plain data to JSON cannot fail");
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .map_err(|source| ResolveError::Io { path: self.path.clone(), source })?;
        self.answers.insert(key, answer.clone());
        self.recorded += 1;
        Ok(answer)
    }

    fn finish(&mut self) -> Result<(), ResolveError> {
        self.inner.finish()?;
        self.file.sync_data().map_err(|source| ResolveError::Io { path: self.path.clone(), source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryPath;
    use crate::resolve::{Decision, LocalResolver};

    fn question(v: &str) -> Question {
        crate::resolve::port_question(v)
    }

    /// A resolver that always keeps `/a`, to tell replays from fresh answers.
    #[derive(Debug)]
    struct KeepA;
    impl Resolver for KeepA {
        fn name(&self) -> String {
            "keep-a".into()
        }
        fn resolve(&mut self, _q: &Question) -> Result<Answer, ResolveError> {
            Ok(Answer {
                decision: Decision::Keep { path: MemoryPath::new("/a").unwrap() },
                reason: "a".into(),
            })
        }
    }

    #[test]
    fn records_then_replays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j = Journal::open(&path, KeepA).unwrap();
        let first = j.resolve(&question("2")).unwrap();
        j.finish().unwrap();
        assert_eq!(j.recorded(), 1);
        drop(j);
        // Replayed even though the inner resolver would now answer otherwise.
        let mut j = Journal::open(&path, LocalResolver).unwrap();
        assert_eq!(j.resolve(&question("2")).unwrap(), first);
        assert_eq!(j.replayed(), 1);
        let fresh = j.resolve(&question("3")).unwrap();
        assert_eq!(fresh.decision, Decision::Unresolved);
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
    }

    #[test]
    fn corrupt_line_names_its_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j = Journal::open(&path, KeepA).unwrap();
        j.resolve(&question("2")).unwrap();
        drop(j);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{not json}\n");
        std::fs::write(&path, &text).unwrap();
        let err = Journal::open(&path, KeepA).unwrap_err();
        assert!(matches!(err, ResolveError::JournalCorrupt { line: 2, .. }), "{err}");
        assert!(err.to_string().contains("j.jsonl:2"));
    }

    #[test]
    fn torn_tail_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j = Journal::open(&path, KeepA).unwrap();
        j.resolve(&question("2")).unwrap();
        drop(j);
        let good = std::fs::read(&path).unwrap();
        let mut torn = good.clone();
        torn.extend_from_slice(b"{\"key\":\"ab");
        std::fs::write(&path, &torn).unwrap();
        let j = Journal::open(&path, KeepA).unwrap();
        drop(j);
        assert_eq!(std::fs::read(&path).unwrap(), good);
    }
}
