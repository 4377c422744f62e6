//! The dream pipeline: reads memories and sessions, writes a new, cleaner
//! set of memories and a [`Report`] saying why each one is what it is.
//!
//! Stages, one module each, each a function with typed input and output:
//! 1. `exact`: exact duplicates (blake3 of normalised text);
//! 2. `near`: near-duplicate clusters (embedding candidates, plus pairs
//!    sharing a rare word and another word, confirmed by a lexical check that
//!    never folds two subjects together);
//! 3. `conflict`: contradictions and supersession, settled by explicit
//!    update cues; the rest is open;
//! 4. `patterns`: recurring mistakes and shared preferences from sessions;
//! 5. `plan`: open clusters become questions with their most relevant
//!    session excerpts under a token budget; tokens counted;
//! 6. resolve: a [`Resolver`] answers the questions through [`Asking`]
//!    (journal, caps, dry run); each answer is checked against its question
//!    ([`check()`](crate::resolve::check())) and one that breaks a rule leaves the question open (the
//!    local resolver settles value-only conflicts by recency and flags the
//!    rest). Stages 5 and 6 run in rounds: open value changes first, then
//!    the other questions between what still stands, so a doubtful
//!    look-alike never blocks a settled change; then, while answers settle
//!    something, the pairs a full cluster left out, between what the
//!    answers left standing (at most `conflict::MAX_ROUNDS`);
//! 7. `apply`: the output memories and the report.
//!
//! Promises: the input is only read; the output and report are a pure
//! function of the memories' and sessions' contents (not of their order, the
//! thread count, the clock or the machine) given the same resolver answers;
//! every input memory is carried by exactly one output memory. Progress is
//! reported per stage; a cancelled dream stops at the next batch with
//! [`DreamError::Cancelled`] and produces nothing.

mod apply;
pub(crate) mod calibration;
pub(crate) mod conflict;
pub mod disk;
pub(crate) mod exact;
pub(crate) mod near;
mod options;
pub(crate) mod patterns;
pub(crate) mod plan;
mod rounds;
mod run;

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use crate::embed::{EmbedError, Embedder, cosine};
use crate::index::{CandidatePair, HnswParams, Index};
use crate::judge::Judge;
use crate::memory::{Memory, MemoryPath};
use crate::progress::{CancelToken, Observer, Progress};
use crate::report::{Report, Tokens};
use crate::resolve::{Asking, Outcome, Question, ResolveError, Resolver};
use crate::session::Session;
use crate::text::Document;

// Defined once, in `embed` (the settings come with an embedder); named here too for the
// dream's callers.
#[doc(no_inline)]
pub use crate::embed::Thresholds;
pub use options::DreamOptions;
pub use plan::{ExcerptBudget, count_tokens};
pub use run::DreamRun;

use rounds::Rounds;

/// Why a dream failed. Nothing is produced when it does.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DreamError {
    /// Two input memories have the same path.
    #[error("two input memories have the path {0}")]
    DuplicatePath(MemoryPath),
    /// Embedding failed.
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// The embedder returned the wrong number of vectors or a wrong length.
    #[error("the embedder returned {found} vectors of the expected shape for {expected} texts")]
    EmbedderShape {
        /// Texts sent.
        expected: usize,
        /// Well-formed vectors received.
        found: usize,
    },
    /// Resolving failed.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// The tokenizer could not be loaded.
    #[error("cannot load the cl100k_base tokenizer: {0}")]
    Tokenizer(String),
    /// The thread pool could not be built.
    #[error("cannot start {threads} worker threads: {message}")]
    Threads {
        /// Threads asked for.
        threads: usize,
        /// Why it failed.
        message: String,
    },
    /// The embedder is not in the calibration file and no thresholds were given.
    #[error(
        "no calibrated thresholds for the embedder {0:?} (see src/dream/calibration.toml); \
         pass DreamOptions::thresholds"
    )]
    Uncalibrated(String),
    /// The dream was cancelled.
    #[error("the dream was cancelled")]
    Cancelled,
    /// An internal consistency check failed (a bug; nothing was written).
    #[error("internal check failed: {0}")]
    Invariant(String),
    /// Reading the input store or writing the output store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Reading or writing sessions failed.
    #[error(transparent)]
    Session(#[from] crate::session::SessionError),
    /// An I/O error on the named file or directory.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The output directory exists already (a dream never overwrites).
    #[error("{0} already exists; choose a new --out directory or discard the old output")]
    OutputExists(std::path::PathBuf),
    /// The directory is not a dream output (a store with `dream/report.json`).
    #[error("{0} is not a dream output (no store with dream/report.json there); refusing")]
    NotADreamOutput(std::path::PathBuf),
    /// A report file does not parse.
    #[error("{path}: not a dream report: {message}")]
    BadReport {
        /// The report file.
        path: std::path::PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The input store changed after the dream was made: accepting it would
    /// lose those changes.
    #[error(
        "{store} changed since this dream was made (store hash {now}, dreamed over {dreamed}); dream again"
    )]
    StoreChanged {
        /// The store.
        store: std::path::PathBuf,
        /// The store hash the dream read.
        dreamed: String,
        /// The store hash now.
        now: String,
    },
}

impl From<crate::progress::Cancelled> for DreamError {
    fn from(_: crate::progress::Cancelled) -> Self {
        DreamError::Cancelled
    }
}

/// Where the dream writes the patterns it finds (`/patterns/mistakes/…`,
/// `/patterns/preferences/…`).
pub const PATTERNS_DIR: &str = "/patterns/";

/// What a dream reads.
#[derive(Debug, Clone, Default)]
pub struct DreamInput {
    /// The memories of the input store (any order; paths must be unique).
    pub memories: Vec<Memory>,
    /// The sessions to learn from (any order; repeats are ignored).
    pub sessions: Vec<Session>,
}

/// What a dream produces.
#[derive(Debug, Clone)]
pub struct DreamOutput {
    /// The output memories, sorted by path.
    pub memories: Vec<Memory>,
    /// The report.
    pub report: Report,
    /// The input memories, sorted by path (for rendering the Markdown report).
    pub input: Vec<Memory>,
    /// The sessions read, sorted by id, without repeats.
    pub sessions: Vec<Session>,
    /// The questions for `dream/questions.jsonl`, as sent (redacted): every
    /// question left open, in the report's order; in a dry run instead the
    /// questions a real run would send.
    pub questions: Vec<Question>,
}

impl DreamOutput {
    /// The Markdown report.
    pub fn report_markdown(&self) -> String {
        self.report.to_markdown(&self.input, &self.memories)
    }
}

/// A configured dream.
#[derive(Debug, Clone, Default)]
pub struct Dream {
    options: DreamOptions,
}

impl Dream {
    /// A dream with `options`.
    pub fn new(options: DreamOptions) -> Self {
        Self { options }
    }

    /// Its options.
    pub fn options(&self) -> &DreamOptions {
        &self.options
    }

    /// Runs the pipeline (see the module doc), asking `resolver` without
    /// journal or caps.
    pub fn run(
        &self,
        input: DreamInput,
        embedder: &dyn Embedder,
        resolver: &dyn Resolver,
        observer: &dyn Observer,
        cancel: &CancelToken,
    ) -> Result<DreamOutput, DreamError> {
        self.run_asking(input, embedder, &mut Asking::new(resolver), observer, cancel)
    }

    /// Runs the pipeline, asking through `asking` (its journal, caps and
    /// dry-run switch); [`Asking::stats`] tells afterwards what was sent.
    pub fn run_asking(
        &self,
        input: DreamInput,
        embedder: &dyn Embedder,
        asking: &mut Asking<'_>,
        observer: &dyn Observer,
        cancel: &CancelToken,
    ) -> Result<DreamOutput, DreamError> {
        match self.options.threads {
            None => self.run_inner(input, embedder, asking, observer, cancel),
            Some(threads) => {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads.max(1))
                    .build()
                    .map_err(|e| DreamError::Threads { threads, message: e.to_string() })?;
                pool.install(|| self.run_inner(input, embedder, asking, observer, cancel))
            }
        }
    }

    /// The similarity settings for `embedder`: the options', else its
    /// calibration.
    fn thresholds(&self, embedder: &dyn Embedder) -> Result<Thresholds, DreamError> {
        self.options
            .thresholds
            .or_else(|| Thresholds::for_model(embedder.model_id()))
            .ok_or_else(|| DreamError::Uncalibrated(embedder.model_id().to_owned()))
    }

    fn run_inner(
        &self,
        input: DreamInput,
        embedder: &dyn Embedder,
        asking: &mut Asking<'_>,
        observer: &dyn Observer,
        cancel: &CancelToken,
    ) -> Result<DreamOutput, DreamError> {
        let opts = &self.options;
        let track = Tracker { observer, cancel };
        let thresholds = self.thresholds(embedder)?;
        let DreamInput { mut memories, mut sessions } = input;
        memories.sort_by(|a, b| a.path.cmp(&b.path));
        if let Some(w) = memories.windows(2).find(|w| w[0].path == w[1].path) {
            return Err(DreamError::DuplicatePath(w[0].path.clone()));
        }
        sessions.sort_by_key(|s| s.id);
        sessions.dedup_by_key(|s| s.id);

        // 1. Exact duplicates.
        track.step("exact", 0, memories.len())?;
        let exact = exact::group(&memories);
        track.step("exact", memories.len(), memories.len())?;

        // 2. Near duplicates.
        let (vectors, near) = self.near_duplicates(&memories, &exact, embedder, &thresholds, &track)?;

        // 3. Conflicts between merge groups.
        let groups = Groups::new(&memories, &exact, &near.groups, &vectors);
        track.step("conflicts", 0, near.unsettled.len())?;
        let decided = conflict::resolve(&groups.units, &near.unsettled);
        track.step("conflicts", near.unsettled.len(), near.unsettled.len())?;

        // 4. Patterns.
        track.step("patterns", 0, sessions.len())?;
        let known: Vec<patterns::cite::Known<'_>> = exact
            .groups
            .iter()
            .zip(&vectors)
            .map(|(g, v)| patterns::cite::Known { memory: &memories[g.representative], vector: v })
            .collect();
        let found = patterns::find(
            &sessions,
            &known,
            embedder,
            &thresholds,
            &opts.lexicon,
            opts.min_pattern_sessions,
        )?;
        track.step("patterns", sessions.len(), sessions.len())?;

        // 5–6. Plan and resolve, in rounds.
        let naive = plan::naive_tokens(&memories, &sessions)?;
        let candidates: Vec<plan::PatternCandidate> = found.candidates.iter().map(|c| c.to_plan()).collect();
        let rounds = Rounds {
            groups: &groups,
            decided: &decided,
            patterns: &candidates,
            sessions: &sessions,
            embedder,
            options: opts,
        };
        let asked = rounds.ask(asking, &track)?;
        asking.finish()?;
        let not_asked = rounds.not_asked(&asked)?;
        let questions: Vec<Question> = if asking.is_dry_run() {
            asking.stats().would_send.clone()
        } else {
            asked
                .resolved
                .iter()
                .filter(|r| matches!(r.outcome, Outcome::Open(_)))
                .map(|r| r.question.clone())
                .collect()
        };
        let tokens =
            Tokens { tokenizer: plan::TOKENIZER.to_owned(), naive, sent: asked.sent, usage: asked.usage };

        // 7. Apply.
        track.step("apply", 0, 1)?;
        let resolver =
            crate::report::ResolverId { name: asking.resolver().name(), model: asking.resolver().model() };
        let (output, report) = apply::apply(&apply::Decisions {
            memories: &memories,
            sessions: sessions.len(),
            exact: &exact,
            groups: &near.groups,
            apart: &near.apart,
            settled: &decided.settled,
            patterns: &found.patterns,
            resolved: &asked.resolved,
            tokens: &tokens,
            not_asked,
            embedder: embedder.model_id(),
            resolver: &resolver,
            instructions: &opts.instructions,
            options: &opts.saved(asking.caps()),
        })?;
        track.step("apply", 1, 1)?;
        Ok(DreamOutput { memories: output, report, input: memories, sessions, questions })
    }

    /// Stage 2: analyses and embeds one text per exact group; returns the
    /// vectors (by exact group) and the near-duplicate groups.
    fn near_duplicates(
        &self,
        memories: &[Memory],
        exact: &exact::ExactGroups,
        embedder: &dyn Embedder,
        thresholds: &Thresholds,
        track: &Tracker<'_>,
    ) -> Result<(Vec<Vec<f32>>, near::NearOutput), DreamError> {
        let opts = &self.options;
        let texts: Vec<&str> =
            exact.groups.iter().map(|g| memories[g.representative].content.as_str()).collect();
        let documents: Vec<Document> = texts.par_iter().map(|t| Document::parse(t, &opts.lexicon)).collect();
        let vectors = embed_all(embedder, &texts, opts.batch_size.max(1), track)?;
        let index = Index::build_watched(
            vectors.clone(),
            opts.index,
            HnswParams::default(),
            track.observer,
            track.cancel,
        )?;
        let mut by_pair: BTreeMap<(usize, usize), CandidatePair> = index
            .candidate_pairs_watched(
                thresholds.candidate_k,
                thresholds.min_similarity,
                track.observer,
                track.cancel,
            )?
            .into_iter()
            .map(|p| ((p.a, p.b), p))
            .collect();
        for (a, b) in near::blocking_pairs(&documents, &opts.lexicon) {
            by_pair.entry((a, b)).or_insert_with(|| CandidatePair {
                a,
                b,
                similarity: cosine(&vectors[a], &vectors[b]),
            });
        }
        // Pattern memories of an earlier dream belong to stage 4, which
        // derives them again from the sessions: never merged or asked about.
        let is_pattern =
            |e: usize| memories[exact.groups[e].representative].path.as_str().starts_with(PATTERNS_DIR);
        let pairs: Vec<CandidatePair> =
            by_pair.into_values().filter(|p| !is_pattern(p.a) && !is_pattern(p.b)).collect();
        let judge = if opts.judge { Judge::for_model(embedder.model_id()) } else { None };
        let mut judging = near::Judging::new(&documents, &vectors, judge.as_ref(), thresholds, &opts.lexicon);
        let needed = judging.needs_words(&pairs);
        track.step("judge", 0, needed.len())?;
        let batch = opts.batch_size.max(1);
        for (k, chunk) in needed.chunks(batch).enumerate() {
            let chunk_texts: Vec<&str> = chunk.iter().map(|&d| texts[d]).collect();
            let Some(words) = embedder.word_vectors(&chunk_texts)? else { break };
            for (&d, w) in chunk.iter().zip(words) {
                judging.words[d] = Some(w);
            }
            track.step("judge", (k * batch + chunk.len()).min(needed.len()), needed.len())?;
        }
        track.step("near", 0, pairs.len())?;
        let near = near::cluster(&judging, &pairs);
        track.step("near", pairs.len(), pairs.len())?;
        drop(judging);
        Ok((vectors, near))
    }
}

/// Reports a stage's progress and stops a cancelled dream between steps.
struct Tracker<'a> {
    observer: &'a dyn Observer,
    cancel: &'a CancelToken,
}

impl Tracker<'_> {
    fn step(&self, stage: &'static str, done: usize, total: usize) -> Result<(), DreamError> {
        self.observer.progress(Progress { stage, done: done as u64, total: total as u64 });
        if self.cancel.is_cancelled() { Err(DreamError::Cancelled) } else { Ok(()) }
    }
}

/// The merge groups of stage 2 as the later stages see them, by group: the
/// path its memory would have, its text, its vector, and the memory and
/// latest update stage 3 weighs.
struct Groups<'a> {
    paths: Vec<&'a MemoryPath>,
    texts: Vec<&'a str>,
    vectors: Vec<&'a [f32]>,
    units: Vec<conflict::Unit<'a>>,
}

impl<'a> Groups<'a> {
    fn new(
        memories: &'a [Memory],
        exact: &'a exact::ExactGroups,
        groups: &'a [near::NearGroup],
        vectors: &'a [Vec<f32>],
    ) -> Self {
        let memory_of = |g: &near::NearGroup| &memories[exact.groups[g.representative].representative];
        let units = groups
            .iter()
            .map(|g| {
                let updated_at = g
                    .members
                    .iter()
                    .flat_map(|&e| exact.groups[e].members.iter().map(|&i| memories[i].updated_at))
                    .max()
                    .unwrap_or_default();
                conflict::Unit { path: &memory_of(g).path, updated_at }
            })
            .collect();
        Groups {
            paths: (0..groups.len()).map(|g| apply::group_path(memories, exact, groups, g)).collect(),
            texts: groups.iter().map(|g| memory_of(g).content.as_str()).collect(),
            vectors: groups.iter().map(|g| vectors[g.representative].as_slice()).collect(),
            units,
        }
    }

    fn len(&self) -> usize {
        self.paths.len()
    }
}

/// Embeds `texts` in batches, reporting progress and honouring cancellation
/// between batches; each distinct text is embedded once.
fn embed_all(
    embedder: &dyn Embedder,
    texts: &[&str],
    batch: usize,
    track: &Tracker<'_>,
) -> Result<Vec<Vec<f32>>, DreamError> {
    let distinct: Vec<&str> = texts.iter().copied().collect::<BTreeSet<_>>().into_iter().collect();
    track.step("embed", 0, distinct.len())?;
    let mut vectors: Vec<Vec<f32>> = Vec::with_capacity(distinct.len());
    for chunk in distinct.chunks(batch) {
        let got = embedder.embed(chunk)?;
        let dim = embedder.dimension();
        let good = got.iter().filter(|v| v.len() == dim).count();
        if got.len() != chunk.len() || good != chunk.len() {
            return Err(DreamError::EmbedderShape { expected: chunk.len(), found: good });
        }
        vectors.extend(got);
        track.step("embed", vectors.len(), distinct.len())?;
    }
    Ok(texts
        .iter()
        .map(|t| {
            let i = distinct.binary_search(t).expect("every text is among the distinct texts");
            vectors[i].clone()
        })
        .collect())
}
