//! The dream report: the machine-readable contract (`report.json`) and the
//! same story for a person (`report.md`).
//!
//! Contract (JSON field names are stable):
//! - `input` `{store_hash, memories, sessions}`, `output` `{store_hash, memories}`;
//! - `memories`: one entry per output memory, sorted by path:
//!   `{path, action, sources, reason, evidence}`; `action` is one of `kept`,
//!   `merged`, `superseded`, `pattern`, `unresolved`; `sources` are the input
//!   memory paths it stands for; `evidence` the session excerpts
//!   `{session, turns: [start, end)}` that support it;
//! - `dropped`: input memories whose path is absent from the output,
//!   `{path, into, reason}`, `into` being the output memory whose `sources`
//!   name it (null only if no output carries it);
//! - `patterns`: `{kind, path, sessions, session_hashes, support}`
//!   (`sessions` by the transcripts' own ids, `session_hashes` beside them);
//! - `unresolved`: `{cluster, kind, sources, why, open}`: the question's id
//!   (as in `dream/questions.jsonl`), `cluster` or `pattern`, the input paths
//!   it is about, why in words, and `open`, the typed reason
//!   ([`OpenReason`]: `{"rule": "declined" | "member_twice" | …, …}`);
//! - `tokens`: `{tokenizer, naive, sent, usage}`; `usage` sums what the
//!   server reported for the answers applied (each answer's share of its
//!   request, journaled with it, so a replay reports the same):
//!   `{input_tokens, output_tokens, cache_creation_input_tokens,
//!   cache_read_input_tokens}`;
//! - `resolver`: `{name, model}` of the resolver asked (`local`, `exec`
//!   with a hash of its command line, `anthropic` or `dreams` with the model,
//!   `review`), as in the journal key;
//! - `instructions`: the user's instructions to the resolver
//!   (`--instructions`), absent when there were none — part of every
//!   question, so what a re-run of the dream (`review`) needs;
//! - `options`: the other options the dream ran with that can change its
//!   output ([`SavedOptions`]), each absent when it had its default, and
//!   the whole object absent when all did — so `review` re-runs any dream,
//!   one made through the library with other thresholds as well as one of
//!   `dreamwork dream`. A report written before this field existed reads
//!   as a dream with every default, which is how the CLI made them.
//!
//! Promises: every input path is in the `sources` of at most one output
//! memory, and is either there or in `dropped` with `into: null`; `dropped`
//! lists exactly the input paths absent from the output. Nothing in the
//! report depends on the clock, the machine or the thread count.

mod markdown;

use serde::{Deserialize, Serialize};

use crate::embed::Thresholds;
use crate::index::IndexKind;
use crate::memory::{Memory, MemoryPath};
pub use crate::resolve::PatternKind;
use crate::resolve::{Limits, OpenReason, QuestionKind, ResolverName, Usage};
use crate::text::Lexicon;

/// Version of the report format.
pub const REPORT_FORMAT: u32 = 1;

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// [`REPORT_FORMAT`].
    pub format: u32,
    /// What went in.
    pub input: InputSummary,
    /// What came out.
    pub output: OutputSummary,
    /// The embedder's model id (thresholds depend on it).
    pub embedder: String,
    /// The resolver asked the dream's questions.
    #[serde(default)]
    pub resolver: ResolverId,
    /// The user's instructions to the resolver (`--instructions`; part of
    /// every question, so a re-run that reproduces OUT needs them). Absent
    /// from the JSON when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub instructions: String,
    /// The options the dream ran with, besides the embedder and the
    /// instructions (see [`SavedOptions`]). Absent from the JSON when all
    /// had their defaults.
    #[serde(default, skip_serializing_if = "SavedOptions::is_default")]
    pub options: SavedOptions,
    /// One entry per output memory, sorted by path.
    pub memories: Vec<MemoryEntry>,
    /// Input memories absent from the output, sorted by path.
    pub dropped: Vec<DroppedEntry>,
    /// Patterns surfaced from sessions, sorted by path.
    pub patterns: Vec<PatternEntry>,
    /// Clusters left for review, in cluster order.
    pub unresolved: Vec<UnresolvedEntry>,
    /// Open pairs not asked about, because the clusters they would join
    /// already hold the most memories one question may
    /// (`dream::conflict::MAX_CLUSTER_GROUPS`). Both memories are kept.
    #[serde(default)]
    pub not_asked: usize,
    /// Pairs the judge settled (merged as the same meaning, or kept as
    /// different facts without asking), most doubtful first. Absent from
    /// the JSON when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub judged: Vec<JudgedPair>,
    /// Token accounting.
    pub tokens: Tokens,
}

/// A pair of input memories the judge settled, with its verdict and the
/// probability behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgedPair {
    /// One memory.
    pub a: MemoryPath,
    /// The other.
    pub b: MemoryPath,
    /// `same` (merged) or `different` (both kept, not asked).
    pub verdict: crate::judge::PairVerdict,
    /// The judge's calibrated probability for the verdict.
    pub probability: f64,
}

// Probabilities are finite numbers (checked when a judge is loaded), so
// equality is an equivalence.
impl Eq for JudgedPair {}

/// A resolver as the journal keys it: its name and model.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResolverId {
    /// The backend.
    pub name: ResolverName,
    /// Its model (for `exec`, a hash of the command line); empty if none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model: String,
}

impl std::fmt::Display for ResolverId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.model.is_empty() {
            write!(f, "{}", self.name)
        } else {
            write!(f, "{} ({})", self.name, self.model)
        }
    }
}

/// The options of a dream that can change its output, as its report keeps
/// them so that a re-run (`review`) reproduces it: each is `None` (and
/// absent from the JSON) when the dream had the default, so a dream with
/// every default — any made by `dreamwork dream` — writes no `options` at
/// all. The embedder is the report's `embedder` and the instructions its
/// `instructions`; worker threads and batch size are not kept, as they never
/// change the output. `crate::dream::DreamOptions` reads and makes them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SavedOptions {
    /// Similarity settings given instead of the embedder's calibration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Thresholds>,
    /// Sessions a pattern needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_pattern_sessions: Option<usize>,
    /// Most excerpts per question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_excerpts: Option<usize>,
    /// Most tokens of excerpts per question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt_tokens: Option<u64>,
    /// Whether pairs the wording leaves open went to the embedder's judge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<bool>,
    /// The similarity search that found candidates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<IndexKind>,
    /// The word lists of the text analysis, when not the built-in ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lexicon: Option<Lexicon>,
    /// The caps on what the dream could send to its resolver
    /// (`max_questions`, `max_tokens`).
    #[serde(default, flatten)]
    pub limits: Limits,
}

// Thresholds are finite numbers (a dream compares cosines with them), so
// equality is an equivalence.
impl Eq for SavedOptions {}

impl SavedOptions {
    /// Whether every option had its default (nothing to keep).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// The input side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputSummary {
    /// Digest of the input's live (path, content) pairs.
    pub store_hash: String,
    /// Number of input memories.
    pub memories: usize,
    /// Number of sessions read.
    pub sessions: usize,
}

/// The output side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputSummary {
    /// Digest of the output's (path, content) pairs.
    pub store_hash: String,
    /// Number of output memories.
    pub memories: usize,
}

/// What the dream did to produce an output memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Action {
    /// Unchanged from the input.
    Kept,
    /// Exact or near duplicates folded into one.
    Merged,
    /// Stale memories replaced by a newer one.
    Superseded,
    /// A pattern surfaced from sessions.
    Pattern,
    /// Part of a cluster left for review (kept as it was).
    Unresolved,
}

impl Action {
    /// The word used in the JSON and Markdown.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Kept => "kept",
            Action::Merged => "merged",
            Action::Superseded => "superseded",
            Action::Pattern => "pattern",
            Action::Unresolved => "unresolved",
        }
    }
}

/// A session excerpt cited as evidence.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EvidenceRef {
    /// The session id (hex).
    pub session: String,
    /// Turn range `[start, end)`.
    pub turns: [u32; 2],
}

/// One output memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryEntry {
    /// Its path in the output.
    pub path: MemoryPath,
    /// What happened.
    pub action: Action,
    /// The input memory paths it stands for, sorted.
    pub sources: Vec<MemoryPath>,
    /// Why, in a sentence or two.
    pub reason: String,
    /// Session excerpts supporting it.
    pub evidence: Vec<EvidenceRef>,
}

/// An input memory absent from the output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DroppedEntry {
    /// Its input path.
    pub path: MemoryPath,
    /// The output memory that carries its fact, if any.
    pub into: Option<MemoryPath>,
    /// Why it was dropped.
    pub reason: String,
}

/// A pattern surfaced from sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatternEntry {
    /// Its kind.
    pub kind: PatternKind,
    /// The output memory that describes it.
    pub path: MemoryPath,
    /// The sessions it was seen in, by the transcript's own id (Claude
    /// Code `sessionId`, Managed Agents session id, the file name of a text
    /// transcript; the start of the content hash where a session has none),
    /// in the order of `session_hashes`.
    pub sessions: Vec<String>,
    /// The same sessions' content hashes (hex, ascending): `dreamwork
    /// sessions show HASH` finds each.
    #[serde(default)]
    pub session_hashes: Vec<String>,
    /// Number of distinct sessions supporting it.
    pub support: usize,
    /// Whether `path` is a memory the store already had that states the
    /// pattern's rule: cited, and no pattern memory written.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stated: bool,
}

/// A question left open, for review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnresolvedEntry {
    /// The question's id (`c-` and the start of its hash).
    pub cluster: String,
    /// What the question is about.
    #[serde(default)]
    pub kind: QuestionKind,
    /// The input paths in the cluster, sorted (none for a pattern).
    pub sources: Vec<MemoryPath>,
    /// Why it could not be settled, in words.
    pub why: String,
    /// Why it is still open, typed.
    pub open: OpenReason,
}

/// Token accounting: what a whole-store dream would send versus what the
/// plan sends to a remote resolver, counted with one tokenizer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    /// The tokenizer's name (`cl100k_base`).
    pub tokenizer: String,
    /// Every memory and every session transcript in full.
    pub naive: u64,
    /// What needs a model: the questions the local rules leave open, in
    /// the compact wire form (`resolve::wire`), each memory and excerpt
    /// counted once over the dream. What a run actually sent, fixed
    /// prompts included, is the resolver's [`Sent`](crate::resolve::Sent).
    pub sent: u64,
    /// What the server reported for the answers applied (zero for local ones).
    #[serde(default)]
    pub usage: Usage,
}

/// The [store hash](crate::Store::store_hash) of a set of memories, in hex.
pub fn memories_hash(memories: &[Memory]) -> String {
    crate::memory::store_hash(memories).to_hex()
}

impl Report {
    /// Pretty JSON with a trailing newline (stable field order).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("serialising plain data to JSON cannot fail");
        s.push('\n');
        s
    }

    /// Parses a report written by [`to_json`](Self::to_json).
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// How many output memories have `action`.
    pub fn count(&self, action: Action) -> usize {
        self.memories.iter().filter(|m| m.action == action).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::Timestamp;

    fn p(s: &str) -> MemoryPath {
        MemoryPath::new(s).unwrap()
    }

    pub(super) fn sample() -> Report {
        Report {
            format: REPORT_FORMAT,
            input: InputSummary { store_hash: "ab".repeat(32), memories: 2, sessions: 0 },
            output: OutputSummary { store_hash: "cd".repeat(32), memories: 1 },
            embedder: "lexical-v1-512".into(),
            resolver: ResolverId { name: "local".into(), model: String::new() },
            instructions: String::new(),
            options: SavedOptions::default(),
            memories: vec![MemoryEntry {
                path: p("/a"),
                action: Action::Merged,
                sources: vec![p("/a"), p("/b")],
                reason: "same fact".into(),
                evidence: vec![],
            }],
            dropped: vec![DroppedEntry { path: p("/b"), into: Some(p("/a")), reason: "same fact".into() }],
            patterns: vec![],
            unresolved: vec![],
            not_asked: 0,
            judged: Vec::new(),
            tokens: Tokens { tokenizer: "cl100k_base".into(), naive: 100, sent: 0, usage: Usage::default() },
        }
    }

    #[test]
    fn json_round_trips_with_contract_names() {
        let r = sample();
        let json = r.to_json();
        for field in [
            "\"input\"",
            "\"output\"",
            "\"memories\"",
            "\"dropped\"",
            "\"patterns\"",
            "\"unresolved\"",
            "\"tokens\"",
            "\"action\": \"merged\"",
            "\"into\": \"/a\"",
        ] {
            assert!(json.contains(field), "{field} missing in {json}");
        }
        assert_eq!(Report::from_json(&json).unwrap(), r);
    }

    #[test]
    fn options_are_absent_when_default_and_kept_otherwise() {
        let mut r = sample();
        let json = r.to_json();
        assert!(!json.contains("\"options\""), "{json}");
        // A report from before options were kept reads as every default.
        assert_eq!(Report::from_json(&json).unwrap().options, SavedOptions::default());
        r.options.judge = Some(false);
        r.options.index = Some(IndexKind::Exact);
        r.options.limits.max_tokens = Some(500);
        let json = r.to_json();
        for field in ["\"judge\": false", "\"index\": \"exact\"", "\"max_tokens\": 500"] {
            assert!(json.contains(field), "{field} missing in {json}");
        }
        assert!(!json.contains("max_questions") && !json.contains("thresholds"), "{json}");
        assert_eq!(Report::from_json(&json).unwrap(), r);
    }

    #[test]
    fn store_hash_is_the_stores() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::store::Store::create(dir.path()).unwrap();
        let ms = vec![Memory::new(p("/b"), "y", Timestamp(5)), Memory::new(p("/a"), "x", Timestamp(0))];
        for m in &ms {
            store.put_memory(m.clone()).unwrap();
        }
        assert_eq!(memories_hash(&ms), store.store_hash().to_hex());
    }

    #[test]
    fn store_hash_ignores_order_and_metadata() {
        let a = Memory::new(p("/a"), "x", Timestamp(0));
        let mut b = Memory::new(p("/b"), "y", Timestamp(5));
        assert_eq!(memories_hash(&[a.clone(), b.clone()]), memories_hash(&[b.clone(), a.clone()]));
        b.content = "z".into();
        assert_ne!(
            memories_hash(&[a.clone(), b]),
            memories_hash(&[a, Memory::new(p("/b"), "y", Timestamp(0))])
        );
    }
}
