//! The compact form questions take on the wire, shared by every backend
//! that sends them off the machine (`exec`, `anthropic`, `dreams`).
//!
//! A [`Question`] is the contract's full object (what the journal keys,
//! `questions.jsonl` holds and a person reviews). On the wire it is split
//! into a **table** of what it refers to and a short **question line**
//! that refers to it by ids, so that each memory text and each excerpt is
//! sent once per [`Encoder`] however many questions cite it. Lines, one
//! JSON object each, a table line always before the first line naming it:
//!
//! ```text
//! {"instructions":"prefer production values"}
//! {"m":"m1","path":"/infra/db.md","at":"2026-01-05T10:00:00.000Z","text":"The DB listens on 5432."}
//! {"e":"e1","s":"s1","at":"2026-02-01T09:30:00.000Z","text":"user: we moved the DB to 5433"}
//! {"cluster":"q1","members":["m1","m2"],"excerpts":["e1"],"open":["no_evidence"],"differ":["5432","5433"]}
//! {"pattern":"q2","excerpts":["e2","e3"],"draft":{"path":"/patterns/mistakes/npm.md","kind":"recurring_mistake","text":"Use pnpm …"}}
//! ```
//!
//! - `m` lines: a memory (`m…` id, path, last update, text). The same path,
//!   time and text keep their id, so a later round names a memory the
//!   model has already read by its id alone.
//! - `e` lines: a session excerpt (`e…` id, `s…` session id — excerpts of
//!   one session share it — time where known, text).
//! - `instructions`: the user's, when set (sent again only if they change).
//! - `cluster` / `pattern` lines: a question (`q…` id), its `members` and
//!   `excerpts` by id, and for a cluster the short reason the device left it
//!   open: `open`, the rules (`replaced`, `no_evidence`, `reworded`, …), and
//!   `differ`, the words that tell the members apart; for a pattern the
//!   device's `draft` memory, when it has one, and as `members` the memories
//!   that may already state its rule (an answer cites one with `"action":
//!   "stated"` and its `m…` id as `path`).
//!
//! An answer is the contract's [`Answer`] with three shortenings, which
//! [`Encoder::answer`] expands before it is checked, journaled or applied:
//! `id` may be the short `q…` id; an output's `path` and `sources` may be
//! member ids (`m…`); `content` may be left out, meaning the text of the
//! member its `path` names (an output that keeps a member's text as it
//! is) or, at the draft's path, the draft's text; a pattern's `sessions`
//! may be `s…` ids.
//!
//! An encoder's scope is what the reader remembers: one per dream for a
//! process that keeps state (`exec`), one per request for a stateless API
//! (`anthropic`), one per temporary store (`dreams`).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::{Answer, Question, QuestionKind};
use crate::memory::Timestamp;

/// What identifies a memory entry: path, time and text.
type MemoryKey = (String, Timestamp, String);
/// What identifies an excerpt: session name, turns and text.
type ExcerptKey = (String, [u32; 2], String);

/// Turns questions into wire lines and their answers back (see the module
/// doc). Ids are given in the order things are first encoded, so the same
/// questions in the same order always give the same lines.
#[derive(Debug, Clone, Default)]
pub struct Encoder {
    memories: BTreeMap<MemoryKey, String>,
    excerpts: BTreeMap<ExcerptKey, String>,
    sessions: BTreeMap<String, String>,
    /// Full question id → short id, and back.
    short: BTreeMap<String, String>,
    full: BTreeMap<String, String>,
    instructions: String,
}

#[derive(Serialize)]
struct MemoryLine<'a> {
    m: &'a str,
    path: &'a str,
    at: String,
    text: &'a str,
}

#[derive(Serialize)]
struct ExcerptLine<'a> {
    e: &'a str,
    s: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    at: Option<String>,
    text: &'a str,
}

#[derive(Serialize)]
struct QuestionLine<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pattern: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    members: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    excerpts: Vec<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    open: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    differ: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    draft: Option<DraftLine<'a>>,
}

#[derive(Serialize)]
struct DraftLine<'a> {
    path: &'a str,
    kind: crate::resolve::PatternKind,
    text: &'a str,
}

#[derive(Serialize)]
struct InstructionsLine<'a> {
    instructions: &'a str,
}

fn line(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("serialising plain data to JSON cannot fail")
}

impl Encoder {
    /// An encoder that has sent nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The lines that put `question` to a reader of everything this encoder
    /// encoded before: the table lines it needs that were not sent yet,
    /// then its question line.
    pub fn encode(&mut self, question: &Question) -> Vec<String> {
        let mut lines = Vec::new();
        if !question.instructions.is_empty() && question.instructions != self.instructions {
            self.instructions = question.instructions.clone();
            lines.push(line(&InstructionsLine { instructions: &question.instructions }));
        }
        let mut members = Vec::with_capacity(question.members.len());
        for m in &question.members {
            let key = (m.path.to_string(), m.updated_at, m.content.clone());
            let next = format!("m{}", self.memories.len() + 1);
            let id = self.memories.entry(key).or_insert_with(|| {
                lines.push(line(&MemoryLine {
                    m: &next,
                    path: m.path.as_str(),
                    at: m.updated_at.to_rfc3339(),
                    text: &m.content,
                }));
                next.clone()
            });
            members.push(id.clone());
        }
        let mut excerpts = Vec::with_capacity(question.excerpts.len());
        for e in &question.excerpts {
            let next = format!("s{}", self.sessions.len() + 1);
            let session = self.sessions.entry(e.session.clone()).or_insert(next).clone();
            let key = (e.session.clone(), e.turns, e.text.clone());
            let next = format!("e{}", self.excerpts.len() + 1);
            let id = self.excerpts.entry(key).or_insert_with(|| {
                lines.push(line(&ExcerptLine {
                    e: &next,
                    s: &session,
                    at: e.at.map(|t| t.to_rfc3339()),
                    text: &e.text,
                }));
                next.clone()
            });
            excerpts.push(id.clone());
        }
        let next = format!("q{}", self.short.len() + 1);
        let short = self.short.entry(question.id.clone()).or_insert(next).clone();
        self.full.insert(short.clone(), question.id.clone());
        let (cluster, pattern) = match question.kind {
            QuestionKind::Cluster => (Some(short.as_str()), None),
            QuestionKind::Pattern => (None, Some(short.as_str())),
        };
        lines.push(line(&QuestionLine {
            cluster,
            pattern,
            members: members.iter().map(String::as_str).collect(),
            excerpts: excerpts.iter().map(String::as_str).collect(),
            open: &question.open,
            differ: &question.differ,
            draft: question.draft.as_ref().map(|d| DraftLine {
                path: d.path.as_str(),
                kind: d.kind,
                text: &d.content,
            }),
        }));
        lines
    }

    /// The full id of the question an answer names by `id` (its short or
    /// its full id), if this encoder sent it.
    pub fn question_id<'a>(&'a self, id: &'a str) -> Option<&'a str> {
        match self.full.get(id) {
            Some(full) => Some(full),
            None => self.short.contains_key(id).then_some(id),
        }
    }

    /// The short id this encoder gave `question`, if it encoded it.
    pub fn short_id(&self, question: &Question) -> Option<&str> {
        self.short.get(&question.id).map(String::as_str)
    }

    /// Expands a wire answer to `question` (which this encoder encoded)
    /// into the contract's [`Answer`] (see the module doc). The error says
    /// what is wrong.
    pub fn answer(&self, question: &Question, raw: &Value) -> Result<Answer, String> {
        let Value::Object(fields) = raw else { return Err("an answer is a JSON object".into()) };
        let mut out = fields.clone();
        out.insert("id".into(), Value::String(question.id.clone()));
        // Member ids and paths → paths; paths → texts.
        let mut path_of: BTreeMap<String, String> = BTreeMap::new();
        let mut text_of: BTreeMap<String, &str> = BTreeMap::new();
        for m in &question.members {
            let key = (m.path.to_string(), m.updated_at, m.content.clone());
            if let Some(id) = self.memories.get(&key) {
                path_of.insert(id.clone(), m.path.to_string());
            }
            text_of.insert(m.path.to_string(), m.content.as_str());
        }
        if let Some(d) = &question.draft {
            text_of.insert(d.path.to_string(), d.content.as_str());
        }
        let session_of: BTreeMap<&str, &str> = question
            .excerpts
            .iter()
            .filter_map(|e| self.sessions.get(&e.session).map(|s| (s.as_str(), e.session.as_str())))
            .collect();
        let resolve = |v: &Value| match v {
            Value::String(s) => Value::String(path_of.get(s).cloned().unwrap_or_else(|| s.clone())),
            other => other.clone(),
        };
        if let Some(Value::Array(outputs)) = out.get_mut("outputs") {
            for o in outputs.iter_mut() {
                let Value::Object(o) = o else { continue };
                if let Some(p) = o.get("path").map(resolve) {
                    o.insert("path".into(), p);
                }
                if let Some(Value::Array(sources)) = o.get("sources") {
                    let sources = sources.iter().map(resolve).collect();
                    o.insert("sources".into(), Value::Array(sources));
                }
                if let Some(Value::Array(sessions)) = o.get("sessions") {
                    let names = sessions
                        .iter()
                        .map(|s| match s.as_str().and_then(|s| session_of.get(s)) {
                            Some(name) => Value::String((*name).to_owned()),
                            None => s.clone(),
                        })
                        .collect();
                    o.insert("sessions".into(), Value::Array(names));
                }
                if matches!(o.get("content"), None | Some(Value::Null)) {
                    let path = o.get("path").and_then(Value::as_str).unwrap_or_default();
                    let text = text_of.get(path).ok_or_else(|| {
                        format!("output {path:?} has no \"content\" and its path names no member")
                    })?;
                    o.insert("content".into(), Value::String((*text).to_owned()));
                }
            }
        }
        serde_json::from_value::<Answer>(Value::Object(out)).map_err(|e| e.to_string())
    }
}

/// The tokens of `lines` joined by newlines, as they are sent.
pub fn joined(lines: &[String]) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::{OutputAction, QuestionExcerpt, Verdict, port_question};
    use serde_json::json;

    fn excerpt(session: &str, text: &str) -> QuestionExcerpt {
        QuestionExcerpt { session: session.into(), turns: [0, 1], at: Some(Timestamp(0)), text: text.into() }
    }

    #[test]
    fn each_memory_and_excerpt_is_sent_once() {
        let mut enc = Encoder::new();
        let mut a = port_question("2");
        a.excerpts.push(excerpt("sess-1", "user: port 2 now"));
        let mut b = port_question("3");
        b.excerpts.push(excerpt("sess-1", "user: port 2 now"));
        b.instructions = "prefer production".into();
        let first = enc.encode(&a);
        assert_eq!(
            first,
            vec![
                r#"{"m":"m1","path":"/a","at":"1970-01-01T00:00:00.001Z","text":"port 1"}"#,
                r#"{"m":"m2","path":"/b","at":"1970-01-01T00:00:00.002Z","text":"port 2"}"#,
                r#"{"e":"e1","s":"s1","at":"1970-01-01T00:00:00.000Z","text":"user: port 2 now"}"#,
                r#"{"cluster":"q1","members":["m1","m2"],"excerpts":["e1"]}"#,
            ]
        );
        let second = enc.encode(&b);
        assert_eq!(
            second,
            vec![
                r#"{"instructions":"prefer production"}"#,
                r#"{"m":"m3","path":"/b","at":"1970-01-01T00:00:00.002Z","text":"port 3"}"#,
                r#"{"cluster":"q2","members":["m1","m3"],"excerpts":["e1"]}"#,
            ]
        );
        assert_eq!(enc.question_id("q2"), Some(b.id.as_str()));
        assert_eq!(enc.question_id(&a.id), Some(a.id.as_str()));
        assert_eq!(enc.question_id("q9"), None);
        assert_eq!(enc.short_id(&a), Some("q1"));
    }

    #[test]
    fn short_answers_expand_to_the_contract() {
        let mut enc = Encoder::new();
        let q = port_question("2");
        enc.encode(&q);
        let wire = json!({"id": "q1", "outputs": [{"path": "m2", "sources": ["m1", "/b"], "action": "superseded"}],
                          "reason": "newer"});
        let a = enc.answer(&q, &wire).unwrap();
        assert_eq!(a.id, q.id);
        let Verdict::Outputs(o) = &a.verdict else { panic!("outputs expected") };
        assert_eq!((o[0].path.as_str(), o[0].content.as_str()), ("/b", "port 2"));
        assert_eq!(o[0].sources, vec!["/a", "/b"]);
        assert_eq!(o[0].action, OutputAction::Superseded);
        let open = enc.answer(&q, &json!({"id": "q1", "unresolved": true, "reason": "?"})).unwrap();
        assert_eq!(open.verdict, Verdict::Unresolved);
        let bad =
            json!({"id": "q1", "outputs": [{"path": "/new", "sources": ["m1", "m2"], "action": "merged"}]});
        assert!(enc.answer(&q, &bad).unwrap_err().contains("no \"content\""));
        assert!(enc.answer(&q, &json!([1])).is_err());
    }

    #[test]
    fn pattern_sessions_map_back_to_their_names() {
        let mut enc = Encoder::new();
        let q = Question::new(
            QuestionKind::Pattern,
            "may be one pattern",
            vec![],
            vec![excerpt("alpha", "npm fails"), excerpt("beta", "npm fails again")],
            "",
        );
        let lines = enc.encode(&q);
        assert_eq!(lines.last().unwrap(), r#"{"pattern":"q1","excerpts":["e1","e2"]}"#);
        let wire = json!({"id": "q1", "outputs": [{"path": "/patterns/npm.md", "content": "Use pnpm.",
            "sources": [], "action": "pattern", "kind": "recurring_mistake", "sessions": ["s1", "s2"]}], "reason": "r"});
        let a = enc.answer(&q, &wire).unwrap();
        let Verdict::Outputs(o) = &a.verdict else { panic!("outputs expected") };
        assert_eq!(
            o[0].action,
            OutputAction::Pattern {
                kind: crate::resolve::PatternKind::RecurringMistake,
                sessions: vec!["alpha".into(), "beta".into()]
            }
        );
    }

    #[test]
    fn a_pattern_answer_cites_a_member_by_its_id() {
        let mut enc = Encoder::new();
        let member = crate::resolve::QuestionMemory {
            path: crate::memory::MemoryPath::new("/tools/pnpm.md").unwrap(),
            content: "Use pnpm in this repo, not npm.".into(),
            updated_at: Timestamp(1),
        };
        let q = Question::new(
            QuestionKind::Pattern,
            "one mistake; a memory may state it",
            vec![member],
            vec![excerpt("alpha", "npm fails"), excerpt("beta", "npm fails again")],
            "",
        );
        let lines = enc.encode(&q);
        assert_eq!(lines.last().unwrap(), r#"{"pattern":"q1","members":["m1"],"excerpts":["e1","e2"]}"#);
        let wire = json!({"id": "q1", "outputs": [{"path": "m1", "sources": [], "action": "stated",
            "kind": "recurring_mistake", "sessions": ["s1", "s2"]}], "reason": "m1 states it"});
        let a = enc.answer(&q, &wire).unwrap();
        let crate::resolve::Outcome::Patterns(p) = crate::resolve::check(&q, &a) else { panic!("{a:?}") };
        assert_eq!((p[0].path.as_str(), p[0].stated), ("/tools/pnpm.md", true));
        assert_eq!(p[0].sessions, ["alpha", "beta"]);
        assert_eq!(Answer::parse_line(&a.to_line()).unwrap(), a, "journaled as it reads back");
        let no_kind = json!({"id": "q1", "outputs": [{"path": "m1", "sources": [], "action": "stated"}], "reason": "r"});
        assert!(enc.answer(&q, &no_kind).unwrap_err().contains("stated pattern needs \"kind\""));
    }
}
