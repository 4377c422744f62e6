//! Asking: how the dream puts its questions to a [`Resolver`]. In order:
//! 1. the [`Journal`] replays what it holds for this resolver;
//! 2. the caps ([`Limits`]) pick, in question order, what may be sent; the
//!    rest stays open ([`OpenReason::OverCap`]);
//! 3. in a dry run nothing is sent ([`OpenReason::DryRun`]) and the
//!    questions that would have been are kept in [`AskStats::would_send`];
//! 4. otherwise the backend's [batches](Resolver::batches) are answered, up
//!    to [`parallelism`](Resolver::parallelism) at once, and the replies put
//!    back in question order (so concurrency never changes a byte); every
//!    answer received is journaled, failures are not (a re-run asks again).
//!
//! A backend that reads secrets ([`Resolver::reads_secrets`]) is handed the
//! unredacted form of each question; every other one only the redacted
//! form, which is also what is journaled, counted and written to
//! `questions.jsonl`.

use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Answered, Journal, OpenReason, Question, Reply, ResolveError, Resolver, Sent, Watch};
use crate::progress::{CancelToken, Observer};

/// Caps on what a dream may send (`None`: no cap). In a report's options
/// (`max_questions`, `max_tokens`), absent when there is no cap.
///
/// ```
/// let limits = dreamwork::resolve::Limits::default().with_max_questions(10);
/// assert_eq!(limits.max_questions, Some(10));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Limits {
    /// Most questions sent (`--max-questions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_questions: Option<usize>,
    /// Most prompt tokens of the questions sent (`--max-tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
}

impl Limits {
    /// Sends at most this many questions (`None`: no cap).
    pub fn with_max_questions(mut self, max_questions: impl Into<Option<usize>>) -> Self {
        self.max_questions = max_questions.into();
        self
    }

    /// Sends questions of at most this many prompt tokens in all (`None`: no cap).
    pub fn with_max_tokens(mut self, max_tokens: impl Into<Option<u64>>) -> Self {
        self.max_tokens = max_tokens.into();
        self
    }
}

/// One question ready to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The question as it leaves the machine (redacted); its id and key.
    pub question: Question,
    /// The same question unredacted (same id), for backends that read secrets.
    pub raw: Question,
    /// Tokens of its prompt.
    pub tokens: u64,
}

/// What asking did, summed over the dream's rounds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AskStats {
    /// Questions put (replayed, sent or left out).
    pub asked: usize,
    /// Answers replayed from the journal.
    pub replayed: usize,
    /// Questions sent to the backend.
    pub sent: usize,
    /// Tokens of the questions sent, each as if sent alone (or, in a dry
    /// run, that would be): what the caps count.
    pub sent_tokens: u64,
    /// Questions a cap left out.
    pub capped: usize,
    /// Answers recorded in the journal.
    pub recorded: usize,
    /// In a dry run: the questions a real run would send, as sent.
    pub would_send: Vec<Question>,
    /// What the backend sent off the machine, every byte (known once
    /// asking [finished](Asking::finish)).
    pub wire: Sent,
}

/// A resolver with its journal, caps and dry-run switch (see the module doc).
pub struct Asking<'a> {
    resolver: &'a dyn Resolver,
    journal: Option<&'a mut Journal>,
    limits: Limits,
    dry_run: bool,
    stats: AskStats,
}

impl std::fmt::Debug for Asking<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Asking")
            .field("resolver", &self.resolver.name())
            .field("journal", &self.journal.as_ref().map(|j| j.path().to_path_buf()))
            .field("limits", &self.limits)
            .field("dry_run", &self.dry_run)
            .field("stats", &self.stats)
            .finish()
    }
}

impl<'a> Asking<'a> {
    /// Asks `resolver`, without journal, caps or dry run.
    pub fn new(resolver: &'a dyn Resolver) -> Self {
        Asking {
            resolver,
            journal: None,
            limits: Limits::default(),
            dry_run: false,
            stats: AskStats::default(),
        }
    }

    /// Replays from and records into `journal`.
    pub fn journal(mut self, journal: &'a mut Journal) -> Self {
        self.journal = Some(journal);
        self
    }

    /// Caps what may be sent.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sends nothing; keeps what would be sent in [`AskStats::would_send`].
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// The caps set with [`limits`](Self::limits).
    pub fn caps(&self) -> Limits {
        self.limits
    }

    /// Whether this is a dry run.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    /// The resolver asked.
    pub fn resolver(&self) -> &dyn Resolver {
        self.resolver
    }

    /// What asking did so far.
    pub fn stats(&self) -> &AskStats {
        &self.stats
    }

    /// Asks one round of questions: one reply per question, in order.
    pub fn ask(
        &mut self,
        questions: &[Prepared],
        observer: &dyn Observer,
        cancel: &CancelToken,
    ) -> Result<Vec<Reply>, ResolveError> {
        let watch = Watch::new(observer, cancel, questions.len());
        let (name, model) = (self.resolver.name(), self.resolver.model());
        let mut replies: Vec<Option<Reply>> = vec![None; questions.len()];
        let mut to_send: Vec<usize> = Vec::new();
        let mut replayed = 0;
        for (i, p) in questions.iter().enumerate() {
            let hit = self.journal.as_ref().and_then(|j| j.lookup(&p.question.key(), &name, &model));
            match hit {
                Some(e) => {
                    replies[i] = Some(Ok(Answered { answer: e.answer.clone(), usage: e.usage }));
                    replayed += 1;
                }
                None => to_send.push(i),
            }
        }
        self.stats.asked += questions.len();
        self.stats.replayed += replayed;
        watch.answered(replayed);

        let mut sending: Vec<usize> = Vec::new();
        for i in to_send {
            let t = questions[i].tokens;
            let over_count = self.limits.max_questions.filter(|&m| self.stats.sent + sending.len() >= m);
            let tokens_so_far = self.stats.sent_tokens;
            let over_tokens = self.limits.max_tokens.filter(|&m| tokens_so_far + t > m);
            let cap = match (over_count, over_tokens) {
                (Some(m), _) => Some(format!("--max-questions {m}")),
                (None, Some(m)) => Some(format!("--max-tokens {m}")),
                (None, None) => None,
            };
            match cap {
                Some(cap) => {
                    replies[i] = Some(Err(OpenReason::OverCap { cap }));
                    self.stats.capped += 1;
                }
                None => {
                    self.stats.sent_tokens += t;
                    sending.push(i);
                }
            }
        }
        if self.dry_run {
            for &i in &sending {
                replies[i] = Some(Err(OpenReason::DryRun));
                self.stats.would_send.push(questions[i].question.clone());
            }
        } else if !sending.is_empty() {
            self.stats.sent += sending.len();
            let reads_secrets = self.resolver.reads_secrets();
            let batch: Vec<Question> = sending
                .iter()
                .map(
                    |&i| if reads_secrets { questions[i].raw.clone() } else { questions[i].question.clone() },
                )
                .collect();
            let tokens: Vec<u64> = sending.iter().map(|&i| questions[i].tokens).collect();
            let got = answer_batches(self.resolver, &batch, &tokens, &watch)?;
            for (&i, reply) in sending.iter().zip(got) {
                if let (Ok(answered), Some(journal)) = (&reply, self.journal.as_deref_mut()) {
                    journal.record(&questions[i].question.key(), &name, &model, answered)?;
                    self.stats.recorded += 1;
                }
                replies[i] = Some(reply);
            }
        }
        if cancel.is_cancelled() {
            return Err(ResolveError::Cancelled);
        }
        Ok(replies
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(OpenReason::NoAnswer { resolver: name.to_string() })))
            .collect())
    }

    /// Lets the backend finish and makes the journal durable.
    pub fn finish(&mut self) -> Result<(), ResolveError> {
        self.resolver.finish()?;
        self.stats.wire = self.resolver.sent();
        match self.journal.as_deref_mut() {
            Some(j) => j.sync(),
            None => Ok(()),
        }
    }
}

/// Answers `questions` in the backend's batches, up to its parallelism at
/// once; the replies come back in question order whatever finished first.
fn answer_batches(
    resolver: &dyn Resolver,
    questions: &[Question],
    tokens: &[u64],
    watch: &Watch<'_>,
) -> Result<Vec<Reply>, ResolveError> {
    let name = resolver.name();
    let mut batches = resolver.batches(questions, tokens);
    if !is_partition(&batches, questions.len()) {
        batches = std::iter::once(0..questions.len()).collect();
    }
    type BatchResult = Option<Result<Vec<Reply>, ResolveError>>;
    let results: Mutex<Vec<BatchResult>> = Mutex::new((0..batches.len()).map(|_| None).collect());
    let next = AtomicUsize::new(0);
    let workers = resolver.parallelism().clamp(1, batches.len().max(1));
    let work = || {
        loop {
            let b = next.fetch_add(1, Ordering::Relaxed);
            let Some(range) = batches.get(b) else { break };
            if watch.is_cancelled() {
                break;
            }
            let got = resolver.resolve(&questions[range.clone()], watch);
            if let Ok(mut r) = results.lock() {
                r[b] = Some(got);
            }
        }
    };
    if workers == 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(work);
            }
        });
    }
    let results =
        results.into_inner().map_err(|_| ResolveError::Backend(format!("{name}: a worker panicked")))?;
    let mut replies = Vec::with_capacity(questions.len());
    for (range, result) in batches.iter().zip(results) {
        let mut got = match result {
            Some(r) => r?,
            None => Vec::new(),
        };
        got.truncate(range.len());
        while got.len() < range.len() {
            got.push(Err(OpenReason::NoAnswer { resolver: name.to_string() }));
        }
        replies.extend(got);
    }
    Ok(replies)
}

/// Whether `batches` are consecutive, non-empty ranges covering `0..n`.
fn is_partition(batches: &[Range<usize>], n: usize) -> bool {
    let mut at = 0;
    for b in batches {
        if b.start != at || b.end <= b.start {
            return false;
        }
        at = b.end;
    }
    at == n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Silent;
    use crate::resolve::{Answer, LocalResolver, QuestionKind, Verdict};

    fn prepared(n: usize) -> Vec<Prepared> {
        (0..n)
            .map(|i| {
                let q = Question::new(QuestionKind::Pattern, format!("q{i}"), vec![], vec![], "");
                Prepared { question: q.clone(), raw: q, tokens: 10 }
            })
            .collect()
    }

    /// Answers in batches of 2, three at once, finishing in reverse order.
    struct Slow;
    impl Resolver for Slow {
        fn name(&self) -> crate::resolve::ResolverName {
            "slow".into()
        }
        fn batches(&self, q: &[Question], _: &[u64]) -> Vec<Range<usize>> {
            (0..q.len()).step_by(2).map(|s| s..(s + 2).min(q.len())).collect()
        }
        fn parallelism(&self) -> usize {
            3
        }
        fn resolve(&self, batch: &[Question], watch: &Watch<'_>) -> Result<Vec<Reply>, ResolveError> {
            let n: usize = batch[0].why[1..].parse().unwrap_or(0);
            std::thread::sleep(std::time::Duration::from_millis(20u64.saturating_sub(n as u64 * 2)));
            watch.answered(batch.len());
            Ok(batch.iter().map(|q| Ok(Answer::unresolved(q.id.clone(), q.why.clone()).into())).collect())
        }
    }

    #[test]
    fn parallel_batches_keep_question_order() {
        let qs = prepared(7);
        let replies = Asking::new(&Slow).ask(&qs, &Silent, &CancelToken::new()).unwrap();
        let reasons: Vec<String> = replies.into_iter().map(|r| r.unwrap().answer.reason).collect();
        assert_eq!(reasons, (0..7).map(|i| format!("q{i}")).collect::<Vec<_>>());
    }

    #[test]
    fn caps_leave_the_rest_open_and_dry_runs_send_nothing() {
        let qs = prepared(5);
        let mut asking =
            Asking::new(&LocalResolver).limits(Limits { max_questions: Some(2), max_tokens: None });
        let replies = asking.ask(&qs, &Silent, &CancelToken::new()).unwrap();
        assert!(replies[..2].iter().all(Result::is_ok));
        assert!(matches!(&replies[2], Err(OpenReason::OverCap { cap }) if cap == "--max-questions 2"));
        assert_eq!(asking.stats().capped, 3);
        let mut asking =
            Asking::new(&LocalResolver).limits(Limits { max_questions: None, max_tokens: Some(25) });
        let replies = asking.ask(&qs, &Silent, &CancelToken::new()).unwrap();
        assert_eq!(replies.iter().filter(|r| r.is_ok()).count(), 2);
        assert_eq!(asking.stats().sent_tokens, 20);
        let mut asking = Asking::new(&LocalResolver).dry_run(true);
        let replies = asking.ask(&qs, &Silent, &CancelToken::new()).unwrap();
        assert!(replies.iter().all(|r| matches!(r, Err(OpenReason::DryRun))));
        assert_eq!(asking.stats().would_send.len(), 5);
        assert_eq!(asking.stats().sent, 0);
    }

    #[test]
    fn the_journal_answers_first_and_records_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::open(dir.path().join("j.jsonl")).unwrap();
        let qs = prepared(3);
        let mut asking = Asking::new(&LocalResolver).journal(&mut journal);
        asking.ask(&qs, &Silent, &CancelToken::new()).unwrap();
        asking.finish().unwrap();
        assert_eq!(asking.stats().recorded, 3);
        let mut asking = Asking::new(&LocalResolver).journal(&mut journal);
        let replies = asking.ask(&qs, &Silent, &CancelToken::new()).unwrap();
        assert_eq!(asking.stats().replayed, 3);
        assert_eq!(asking.stats().sent, 0);
        assert!(replies.iter().all(|r| matches!(&r.as_ref().unwrap().answer.verdict, Verdict::Unresolved)));
        // Another backend is asked afresh.
        let mut asking = Asking::new(&Slow).journal(&mut journal);
        asking.ask(&qs, &Silent, &CancelToken::new()).unwrap();
        assert_eq!(asking.stats().replayed, 0);
        assert_eq!(asking.stats().sent, 3);
    }
}
