//! Answers: what a resolver says about a question, and their JSON-line form
//! (read leniently: extra fields are ignored).

use serde::{Deserialize, Serialize};

use super::PatternKind;

/// What a resolver says about a question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "WireAnswer", into = "WireAnswer")]
pub struct Answer {
    /// The question's id.
    pub id: String,
    /// The outputs, or unresolved.
    pub verdict: Verdict,
    /// Why, in a sentence (copied into the report).
    pub reason: String,
}

/// An answer's substance.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// The memories the question's members become (a pattern: one new memory).
    Outputs(Vec<Output>),
    /// Nothing can be settled: the members stay as they are, flagged.
    Unresolved,
}

/// One output memory of an answer, as the resolver wrote it (checked
/// against its question by [`check()`](super::check())).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Its path.
    pub path: String,
    /// Its text.
    pub content: String,
    /// The member paths it stands for (empty for a pattern).
    pub sources: Vec<String>,
    /// What it is.
    pub action: OutputAction,
}

/// What an output memory is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutputAction {
    /// Its one source, unchanged.
    Kept,
    /// Its sources state the same fact.
    Merged,
    /// It replaces stale facts among its sources.
    Superseded,
    /// A new pattern memory.
    Pattern {
        /// Which kind.
        kind: PatternKind,
        /// The sessions it rests on (as named in the question's excerpts).
        sessions: Vec<String>,
    },
    /// A pattern that a member of the question (a memory the store already
    /// has) states: the member is cited, unchanged, and no memory is written.
    Stated {
        /// Which kind.
        kind: PatternKind,
        /// The sessions it rests on (as named in the question's excerpts).
        sessions: Vec<String>,
    },
}

impl OutputAction {
    /// The word used on the wire.
    pub fn as_str(&self) -> &'static str {
        match self {
            OutputAction::Kept => "kept",
            OutputAction::Merged => "merged",
            OutputAction::Superseded => "superseded",
            OutputAction::Pattern { .. } => "pattern",
            OutputAction::Stated { .. } => "stated",
        }
    }
}

impl Answer {
    /// An answer leaving the question open.
    pub fn unresolved(id: impl Into<String>, reason: impl Into<String>) -> Self {
        Answer { id: id.into(), verdict: Verdict::Unresolved, reason: reason.into() }
    }

    /// An answer with outputs.
    pub fn outputs(id: impl Into<String>, outputs: Vec<Output>, reason: impl Into<String>) -> Self {
        Answer { id: id.into(), verdict: Verdict::Outputs(outputs), reason: reason.into() }
    }

    /// Parses one answer line. The error names what is wrong and, when the
    /// line has one, the id it was meant for.
    pub fn parse_line(line: &str) -> Result<Answer, AnswerError> {
        serde_json::from_str::<Answer>(line.trim()).map_err(|e| {
            let id = serde_json::from_str::<IdOnly>(line.trim()).ok().map(|i| i.id);
            AnswerError { id, message: e.to_string() }
        })
    }

    /// The answer as one JSON line (no trailing newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("serialising plain data to JSON cannot fail")
    }
}

/// An answer line that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed answer{}: {message}", id.as_ref().map(|i| format!(" for {i}")).unwrap_or_default())]
#[non_exhaustive]
pub struct AnswerError {
    /// The id the line names, if it has one.
    pub id: Option<String>,
    /// What is wrong.
    pub message: String,
}

#[derive(Deserialize)]
struct IdOnly {
    id: String,
}

#[derive(Serialize, Deserialize)]
struct WireAnswer {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outputs: Option<Vec<WireOutput>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    unresolved: bool,
    #[serde(default)]
    reason: String,
}

#[derive(Serialize, Deserialize)]
struct WireOutput {
    path: String,
    content: String,
    #[serde(default)]
    sources: Vec<String>,
    action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<PatternKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sessions: Option<Vec<String>>,
}

impl TryFrom<WireAnswer> for Answer {
    type Error = String;

    fn try_from(w: WireAnswer) -> Result<Self, String> {
        let verdict = match (w.unresolved, w.outputs) {
            (true, Some(o)) if !o.is_empty() => {
                return Err("an answer has either \"outputs\" or \"unresolved\": true, not both".into());
            }
            (true, _) => Verdict::Unresolved,
            (false, None) => return Err("an answer needs \"outputs\" or \"unresolved\": true".into()),
            (false, Some(outputs)) => {
                Verdict::Outputs(outputs.into_iter().map(Output::try_from).collect::<Result<_, _>>()?)
            }
        };
        Ok(Answer { id: w.id, verdict, reason: w.reason })
    }
}

impl TryFrom<WireOutput> for Output {
    type Error = String;

    fn try_from(w: WireOutput) -> Result<Self, String> {
        let action = match w.action.as_str() {
            "kept" => OutputAction::Kept,
            "merged" => OutputAction::Merged,
            "superseded" => OutputAction::Superseded,
            "pattern" | "stated" => {
                let kind = w.kind.ok_or_else(|| {
                    format!(
                        "output {}: a {} pattern needs \"kind\": \"recurring_mistake\" or \"shared_preference\"",
                        w.path, w.action
                    )
                })?;
                let sessions = w.sessions.unwrap_or_default();
                if w.action == "pattern" {
                    OutputAction::Pattern { kind, sessions }
                } else {
                    OutputAction::Stated { kind, sessions }
                }
            }
            other => {
                return Err(format!(
                    "output {}: action {other:?} is not kept, merged, superseded, pattern or stated",
                    w.path
                ));
            }
        };
        Ok(Output { path: w.path, content: w.content, sources: w.sources, action })
    }
}

impl From<Answer> for WireAnswer {
    fn from(a: Answer) -> Self {
        match a.verdict {
            Verdict::Unresolved => WireAnswer { id: a.id, outputs: None, unresolved: true, reason: a.reason },
            Verdict::Outputs(outputs) => WireAnswer {
                id: a.id,
                outputs: Some(outputs.into_iter().map(WireOutput::from).collect()),
                unresolved: false,
                reason: a.reason,
            },
        }
    }
}

impl From<Output> for WireOutput {
    fn from(o: Output) -> Self {
        let action = o.action.as_str().to_owned();
        let (kind, sessions) = match o.action {
            OutputAction::Pattern { kind, sessions } | OutputAction::Stated { kind, sessions } => {
                (Some(kind), Some(sessions))
            }
            _ => (None, None),
        };
        WireOutput { path: o.path, content: o.content, sources: o.sources, action, kind, sessions }
    }
}
