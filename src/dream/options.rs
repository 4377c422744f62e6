//! The options of a dream, and how its report keeps them
//! ([`SavedOptions`]) so that a re-run reproduces it.

use super::{ExcerptBudget, Thresholds};
use crate::index::IndexKind;
use crate::report::{Report, SavedOptions};
use crate::resolve::Limits;
use crate::text::Lexicon;

/// Options of a dream.
///
/// Built from its [`Default`] with `with_…` methods (new options may come
/// in a minor release):
///
/// ```
/// use dreamwork::{DreamOptions, index::IndexKind};
/// let options = DreamOptions::default().with_judge(false).with_index(IndexKind::Exact);
/// assert!(!options.judge);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DreamOptions {
    /// Similarity settings; `None` looks the embedder up in the calibration
    /// file ([`Thresholds::for_model`]), and a dream with an embedder it does
    /// not know fails with [`DreamError::Uncalibrated`](super::DreamError::Uncalibrated).
    pub thresholds: Option<Thresholds>,
    /// Sessions a pattern needs (at least 2).
    pub min_pattern_sessions: usize,
    /// Excerpts per question.
    pub excerpts: ExcerptBudget,
    /// Extra instructions passed to the resolver with every question.
    pub instructions: String,
    /// Worker threads (`None`: rayon's default, all cores). Never changes the output.
    pub threads: Option<usize>,
    /// Texts per embedding batch (progress and cancellation granularity).
    pub batch_size: usize,
    /// Whether pairs the wording rules leave open go to the embedder's
    /// judge (default); `false` leaves every such pair a question.
    pub judge: bool,
    /// Which similarity search finds candidates (exact for small stores,
    /// hnsw for large ones by default).
    pub index: IndexKind,
    /// The word lists of the text analysis, the pattern stage's included
    /// (default: `src/text/lexicon.toml`).
    pub lexicon: Lexicon,
}

impl Default for DreamOptions {
    fn default() -> Self {
        Self {
            thresholds: None,
            min_pattern_sessions: 2,
            excerpts: ExcerptBudget::default(),
            instructions: String::new(),
            threads: None,
            batch_size: 256,
            judge: true,
            index: IndexKind::Auto,
            lexicon: Lexicon::default(),
        }
    }
}

impl DreamOptions {
    /// Uses these similarity settings (`None`: the embedder's calibration).
    pub fn with_thresholds(mut self, thresholds: impl Into<Option<Thresholds>>) -> Self {
        self.thresholds = thresholds.into();
        self
    }

    /// Sessions a pattern needs (at least 2).
    pub fn with_min_pattern_sessions(mut self, min_pattern_sessions: usize) -> Self {
        self.min_pattern_sessions = min_pattern_sessions;
        self
    }

    /// Excerpts per question.
    pub fn with_excerpts(mut self, excerpts: ExcerptBudget) -> Self {
        self.excerpts = excerpts;
        self
    }

    /// Extra instructions passed to the resolver with every question.
    pub fn with_instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = instructions.into();
        self
    }

    /// Worker threads (`None`: all cores); never changes the output.
    pub fn with_threads(mut self, threads: impl Into<Option<usize>>) -> Self {
        self.threads = threads.into();
        self
    }

    /// Texts per embedding batch.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Whether pairs the wording rules leave open go to the embedder's judge.
    pub fn with_judge(mut self, judge: bool) -> Self {
        self.judge = judge;
        self
    }

    /// Which similarity search finds candidates.
    pub fn with_index(mut self, index: IndexKind) -> Self {
        self.index = index;
        self
    }

    /// The word lists of the text analysis.
    pub fn with_lexicon(mut self, lexicon: Lexicon) -> Self {
        self.lexicon = lexicon;
        self
    }

    /// The options as a report keeps them ([`SavedOptions`]), with the caps
    /// `limits` the dream asked its resolver under: each one that differs
    /// from the default. The instructions are kept apart (the report's
    /// `instructions`); threads and batch size are not kept.
    pub fn saved(&self, limits: Limits) -> SavedOptions {
        let default = Self::default();
        SavedOptions {
            thresholds: self.thresholds,
            min_pattern_sessions: differs(self.min_pattern_sessions, default.min_pattern_sessions),
            max_excerpts: differs(self.excerpts.max_excerpts, default.excerpts.max_excerpts),
            excerpt_tokens: differs(self.excerpts.max_tokens, default.excerpts.max_tokens),
            judge: differs(self.judge, default.judge),
            index: differs(self.index, default.index),
            lexicon: (self.lexicon != *Lexicon::built_in()).then(|| self.lexicon.clone()),
            limits,
        }
    }

    /// The options of the dream that wrote `report`, so that running them
    /// again (with the same embedder, input and answers, under the caps
    /// `report.options.limits`) reproduces its output: the report's
    /// instructions and [`SavedOptions`], the default for each option it
    /// does not name (a report written before reports kept options names
    /// none: it reads as a dream of `dreamwork dream`, with every default).
    pub fn of_report(report: &Report) -> Self {
        let saved = &report.options;
        let default = Self::default();
        Self {
            thresholds: saved.thresholds,
            min_pattern_sessions: saved.min_pattern_sessions.unwrap_or(default.min_pattern_sessions),
            excerpts: ExcerptBudget::default()
                .with_max_excerpts(saved.max_excerpts.unwrap_or(default.excerpts.max_excerpts))
                .with_max_tokens(saved.excerpt_tokens.unwrap_or(default.excerpts.max_tokens)),
            instructions: report.instructions.clone(),
            judge: saved.judge.unwrap_or(default.judge),
            index: saved.index.unwrap_or(default.index),
            lexicon: saved.lexicon.clone().unwrap_or(default.lexicon),
            ..default
        }
    }
}

/// `value`, if it is not `default`.
fn differs<T: PartialEq>(value: T, default: T) -> Option<T> {
    (value != default).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_options_name_what_differs_and_read_back() {
        let limits = Limits { max_questions: Some(3), max_tokens: None };
        assert_eq!(DreamOptions::default().saved(Limits::default()), SavedOptions::default());
        let options = DreamOptions {
            thresholds: Thresholds::for_model("lexical-v1-512"),
            min_pattern_sessions: 4,
            excerpts: ExcerptBudget::default().with_max_tokens(90),
            instructions: "be brief".into(),
            threads: Some(1),
            batch_size: 7,
            judge: false,
            index: IndexKind::Hnsw,
            lexicon: Lexicon::default(),
        };
        let saved = options.saved(limits);
        assert_eq!(
            (saved.max_excerpts, saved.excerpt_tokens, saved.lexicon.as_ref()),
            (None, Some(90), None)
        );
        assert_eq!(saved.limits, limits);
        let mut report = crate::report::Report::from_json(SAMPLE).unwrap();
        report.options = saved;
        report.instructions = options.instructions.clone();
        // Threads and batch size never change the output, so are not kept.
        let expected =
            DreamOptions { threads: None, batch_size: DreamOptions::default().batch_size, ..options };
        assert_eq!(DreamOptions::of_report(&report), expected);
    }

    const SAMPLE: &str = r#"{"format": 1,
        "input": {"store_hash": "", "memories": 0, "sessions": 0},
        "output": {"store_hash": "", "memories": 0},
        "embedder": "lexical-v1-512", "memories": [], "dropped": [], "patterns": [], "unresolved": [],
        "tokens": {"tokenizer": "cl100k_base", "naive": 0, "sent": 0,
                   "usage": {"input_tokens": 0, "output_tokens": 0,
                             "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}}"#;
}
