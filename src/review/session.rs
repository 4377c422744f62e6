//! The state of a review, without a terminal: the open clusters in order,
//! the answers given, and the undo stack. A front end shows
//! [`Review::current`], reads one key, and hands it to [`Review::press`];
//! every answer goes to the [`AnswerLog`] (the journal) at once.

use super::ReviewError;
use super::answer::{Choice, answer};
use super::editor::{Edited, EditorError};
use super::render::{self, MEMBERS_PER_PAGE};
use crate::memory::{MemoryPath, check_content};
use crate::resolve::{Answer, Outcome as Checked, Question, QuestionKind, check};

/// Where answers are written as they are given, and taken back from on undo.
pub trait AnswerLog {
    /// What [`retract`](Self::retract) needs to take an answer back.
    type Receipt;

    /// Makes `answer` to `question` durable.
    fn record(&mut self, question: &Question, answer: &Answer) -> Result<Self::Receipt, ReviewError>;

    /// Takes back the answer recorded last (its receipt).
    fn retract(&mut self, receipt: Self::Receipt) -> Result<(), ReviewError>;
}

/// A key the reviewer pressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Key {
    /// `1`…`9`: keep that member of the page shown (0-based here); for a
    /// pattern question, that member already states it.
    Member(usize),
    /// `]`: the next page of a cluster's members.
    NextPage,
    /// `[`: the previous page.
    PreviousPage,
    /// `k`: keep all.
    KeepAll,
    /// `e`: write the merged memory (a pattern: edit the proposed one) in the editor.
    Edit,
    /// `y`: a pattern question: write the proposed memory.
    Yes,
    /// `n`: a pattern question: no pattern.
    No,
    /// `s`: skip.
    Skip,
    /// `u`: undo the last answer.
    Undo,
    /// `q`: save and quit.
    Quit,
    /// `?`: help.
    Help,
    /// Anything else.
    Other(char),
}

impl Key {
    /// The key a character stands for.
    pub fn from_char(c: char) -> Key {
        match c {
            '1'..='9' => Key::Member(c as usize - '1' as usize),
            ']' => Key::NextPage,
            '[' => Key::PreviousPage,
            'k' | 'K' => Key::KeepAll,
            'e' | 'E' => Key::Edit,
            'y' | 'Y' => Key::Yes,
            'n' | 'N' => Key::No,
            's' | 'S' => Key::Skip,
            'u' | 'U' => Key::Undo,
            'q' | 'Q' => Key::Quit,
            '?' | 'h' => Key::Help,
            other => Key::Other(other),
        }
    }
}

/// What a key did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyOutcome {
    /// The cluster was answered (and the answer journaled).
    Answered {
        /// The cluster id.
        id: String,
        /// The answer's reason, e.g. "reviewed: /a.md superseded by /b.md".
        summary: String,
    },
    /// The cluster was skipped (it stays open).
    Skipped {
        /// The cluster id.
        id: String,
    },
    /// The last answer was taken back; its cluster is current again.
    Undone {
        /// The cluster id.
        id: String,
    },
    /// `u` with no answer given in this review.
    NothingToUndo,
    /// A member number the page shown does not have (1-based).
    NoSuchMember(usize),
    /// The page of members shown is now this one (0-based; see
    /// [`Review::page`]).
    Paged(usize),
    /// `]` on the last page or `[` on the first.
    NoOtherPage,
    /// The editor gave no text, or a text the store cannot hold; nothing recorded.
    EditAbandoned(String),
    /// The answer fails the contract's check (see [`check()`]); nothing recorded.
    Refused(String),
    /// `?`.
    Help,
    /// `q`: the review stops here.
    Quit,
    /// A key with no meaning.
    Unknown(char),
    /// Every cluster has been answered or skipped.
    Finished,
}

/// A review in progress.
#[derive(Debug)]
pub struct Review<L: AnswerLog> {
    questions: Vec<Question>,
    answers: Vec<Option<Answer>>,
    pos: usize,
    /// The page of the current cluster's members shown (0-based).
    page: usize,
    history: Vec<(usize, L::Receipt)>,
    log: L,
}

impl<L: AnswerLog> Review<L> {
    /// A review of `questions` (in the order shown), writing to `log`.
    pub fn new(questions: Vec<Question>, log: L) -> Self {
        let answers = vec![None; questions.len()];
        Review { questions, answers, pos: 0, page: 0, history: Vec::new(), log }
    }

    /// The cluster to show now (its 0-based place and question), `None` when
    /// every cluster has been answered or skipped.
    pub fn current(&self) -> Option<(usize, &Question)> {
        (self.pos..self.questions.len()).find(|&i| self.answers[i].is_none()).map(|i| (i, &self.questions[i]))
    }

    /// The page of the current cluster's members shown (0-based): keys
    /// `1`…`9` pick members of this page; a new cluster starts on page 0.
    pub fn page(&self) -> usize {
        self.page
    }

    /// How many clusters the review holds.
    pub fn len(&self) -> usize {
        self.questions.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.questions.is_empty()
    }

    /// The answers given so far (in cluster order).
    pub fn answers(&self) -> impl Iterator<Item = &Answer> {
        self.answers.iter().flatten()
    }

    /// The answer log.
    pub fn log(&self) -> &L {
        &self.log
    }

    /// Acts on a key. `edit` runs the editor on a starting text (only called
    /// for [`Key::Edit`]).
    pub fn press(
        &mut self,
        key: Key,
        edit: &mut dyn FnMut(&str) -> Result<Edited, EditorError>,
    ) -> Result<KeyOutcome, ReviewError> {
        if key == Key::Undo {
            return self.undo();
        }
        let Some(i) = self.current().map(|(i, _)| i) else { return Ok(KeyOutcome::Finished) };
        let question = &self.questions[i];
        let members = question.members.len();
        let pattern = question.kind == QuestionKind::Pattern;
        let pages = render::pages(members);
        let key = match key {
            Key::Member(m) if m < MEMBERS_PER_PAGE => Key::Member(self.page * MEMBERS_PER_PAGE + m),
            Key::Member(m) => return Ok(KeyOutcome::NoSuchMember(m + 1)),
            Key::NextPage if self.page + 1 < pages => {
                self.page += 1;
                return Ok(KeyOutcome::Paged(self.page));
            }
            Key::PreviousPage if self.page > 0 => {
                self.page -= 1;
                return Ok(KeyOutcome::Paged(self.page));
            }
            Key::NextPage | Key::PreviousPage => return Ok(KeyOutcome::NoOtherPage),
            other => other,
        };
        let choice = match key {
            Key::Yes | Key::No | Key::Edit | Key::Member(_) | Key::KeepAll if pattern => {
                match pattern_choice(question, key, edit) {
                    Ok(choice) => choice,
                    Err(outcome) => return Ok(outcome),
                }
            }
            Key::Yes => return Ok(KeyOutcome::Unknown('y')),
            Key::No => return Ok(KeyOutcome::Unknown('n')),
            Key::Member(m) if m < members => Choice::Keep(m),
            Key::Member(m) => return Ok(KeyOutcome::NoSuchMember(m - self.page * MEMBERS_PER_PAGE + 1)),
            Key::KeepAll => Choice::KeepAll,
            Key::Edit => {
                // Start from the newest member (the last of equals).
                let Some(at) = (0..members).max_by_key(|&m| question.members[m].updated_at) else {
                    return Ok(KeyOutcome::EditAbandoned("the cluster has no members".into()));
                };
                let content = match edit(&question.members[at].content) {
                    Ok(Edited::Text(t)) => t,
                    Ok(Edited::Empty) => {
                        return Ok(KeyOutcome::EditAbandoned(
                            "the text was left empty; nothing recorded".into(),
                        ));
                    }
                    Err(e) => return Ok(KeyOutcome::EditAbandoned(e.to_string())),
                };
                let path: &MemoryPath = &question.members[at].path;
                if let Err(e) = check_content(path, &content) {
                    return Ok(KeyOutcome::EditAbandoned(format!("{e}; nothing recorded")));
                }
                Choice::Write { at, content }
            }
            Key::Skip => {
                let id = question.id.clone();
                self.pos = i + 1;
                self.page = 0;
                return Ok(KeyOutcome::Skipped { id });
            }
            Key::Quit => return Ok(KeyOutcome::Quit),
            Key::Help => return Ok(KeyOutcome::Help),
            Key::Other(c) => return Ok(KeyOutcome::Unknown(c)),
            Key::Undo | Key::NextPage | Key::PreviousPage => unreachable!("handled above"),
        };
        let answer = answer(question, &choice)
            .ok_or_else(|| ReviewError::Invariant(format!("choice {choice:?} names no member")))?;
        if let Checked::Open(why) = check(question, &answer) {
            return Err(ReviewError::Invariant(format!(
                "the answer to {} breaks the contract: {why}",
                question.id
            )));
        }
        let receipt = self.log.record(question, &answer)?;
        let outcome = KeyOutcome::Answered { id: question.id.clone(), summary: answer.reason.clone() };
        self.answers[i] = Some(answer);
        self.history.push((i, receipt));
        self.pos = i + 1;
        self.page = 0;
        Ok(outcome)
    }

    fn undo(&mut self) -> Result<KeyOutcome, ReviewError> {
        let Some((i, receipt)) = self.history.pop() else { return Ok(KeyOutcome::NothingToUndo) };
        self.log.retract(receipt)?;
        self.answers[i] = None;
        self.pos = i;
        self.page = 0;
        Ok(KeyOutcome::Undone { id: self.questions[i].id.clone() })
    }
}

/// What a key chooses for a pattern question, or what to tell the reviewer.
fn pattern_choice(
    question: &Question,
    key: Key,
    edit: &mut dyn FnMut(&str) -> Result<Edited, EditorError>,
) -> Result<Choice, KeyOutcome> {
    let draft = question.draft.as_ref();
    match key {
        Key::No => Ok(Choice::NoPattern),
        Key::Yes => match draft {
            Some(d) => Ok(Choice::Pattern { content: d.content.clone() }),
            None => Err(KeyOutcome::Refused("this question proposes no memory; n rejects it".into())),
        },
        Key::Edit => {
            let Some(d) = draft else {
                return Err(KeyOutcome::Refused("this question proposes no memory; n rejects it".into()));
            };
            let content = match edit(&d.content) {
                Ok(Edited::Text(t)) => t,
                Ok(Edited::Empty) => {
                    return Err(KeyOutcome::EditAbandoned(
                        "the text was left empty; nothing recorded".into(),
                    ));
                }
                Err(e) => return Err(KeyOutcome::EditAbandoned(e.to_string())),
            };
            if let Err(e) = check_content(&d.path, &content) {
                return Err(KeyOutcome::EditAbandoned(format!("{e}; nothing recorded")));
            }
            Ok(Choice::Pattern { content })
        }
        Key::Member(i) if i < question.members.len() && draft.is_some() => Ok(Choice::Stated(i)),
        Key::Member(_) if !question.members.is_empty() => Err(KeyOutcome::Refused(format!(
            "no such memory: 1-{} cites the one that states it",
            question.members.len().min(9)
        ))),
        Key::Member(_) | Key::KeepAll => {
            Err(KeyOutcome::Refused("a pattern has no members to keep: y writes it, n rejects it".into()))
        }
        other => Err(KeyOutcome::Refused(format!("{other:?} does not answer a pattern"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::{QuestionKind, QuestionMemory, Verdict};
    use crate::{MemoryPath, Timestamp};

    /// Answers kept in memory; a receipt is the index.
    #[derive(Debug, Default)]
    struct Memory(Vec<(String, Answer)>);

    impl AnswerLog for Memory {
        type Receipt = usize;
        fn record(&mut self, q: &Question, a: &Answer) -> Result<usize, ReviewError> {
            self.0.push((q.id.clone(), a.clone()));
            Ok(self.0.len() - 1)
        }
        fn retract(&mut self, r: usize) -> Result<(), ReviewError> {
            assert_eq!(r + 1, self.0.len(), "only the last answer is taken back");
            self.0.pop();
            Ok(())
        }
    }

    fn question(topic: &str) -> Question {
        let m = |p: &str, c: String, t| QuestionMemory {
            path: MemoryPath::new(p).unwrap(),
            content: c,
            updated_at: Timestamp(t),
        };
        Question::new(
            QuestionKind::Cluster,
            "differ in more than values",
            vec![
                m(&format!("/a/{topic}"), format!("{topic} runs on Buildkite"), 1),
                m(&format!("/b/{topic}"), format!("{topic} runs on Jenkins"), 2),
            ],
            vec![],
            "",
        )
    }

    fn no_editor(_: &str) -> Result<Edited, EditorError> {
        panic!("the editor is not expected here")
    }

    #[test]
    fn keys_answer_skip_undo_and_finish() {
        let mut r = Review::new(vec![question("ci"), question("cd"), question("qa")], Memory::default());
        let first = r.current().unwrap().1.id.clone();
        assert!(
            matches!(r.press(Key::Member(1), &mut no_editor).unwrap(), KeyOutcome::Answered { ref id, .. } if *id == first)
        );
        assert_eq!(r.press(Key::Member(4), &mut no_editor).unwrap(), KeyOutcome::NoSuchMember(5));
        assert_eq!(r.press(Key::Help, &mut no_editor).unwrap(), KeyOutcome::Help);
        assert_eq!(r.press(Key::Other('x'), &mut no_editor).unwrap(), KeyOutcome::Unknown('x'));
        assert!(matches!(r.press(Key::KeepAll, &mut no_editor).unwrap(), KeyOutcome::Answered { .. }));
        // Undo takes the second answer back and shows its cluster again.
        let second = r.questions[1].id.clone();
        assert_eq!(r.press(Key::Undo, &mut no_editor).unwrap(), KeyOutcome::Undone { id: second.clone() });
        assert_eq!(r.current().unwrap().1.id, second);
        assert_eq!(r.log().0.len(), 1);
        assert!(matches!(r.press(Key::Skip, &mut no_editor).unwrap(), KeyOutcome::Skipped { .. }));
        // The editor: an empty text records nothing, a text is an answer at the newest member.
        let mut empty = |_: &str| Ok(Edited::Empty);
        assert!(matches!(r.press(Key::Edit, &mut empty).unwrap(), KeyOutcome::EditAbandoned(_)));
        let mut write = |start: &str| {
            assert_eq!(start, "qa runs on Jenkins");
            Ok(Edited::Text("qa runs on Jenkins since May".into()))
        };
        assert!(matches!(r.press(Key::Edit, &mut write).unwrap(), KeyOutcome::Answered { .. }));
        assert!(r.current().is_none());
        assert_eq!(r.press(Key::Skip, &mut no_editor).unwrap(), KeyOutcome::Finished);
        let (_, written) = &r.log().0[1];
        let Verdict::Outputs(o) = &written.verdict else { panic!("settled") };
        assert_eq!((o[0].path.as_str(), o[0].content.as_str()), ("/b/qa", "qa runs on Jenkins since May"));
        // Undo reaches back past a skip.
        assert!(matches!(r.press(Key::Undo, &mut no_editor).unwrap(), KeyOutcome::Undone { .. }));
        assert!(
            matches!(r.press(Key::Undo, &mut no_editor).unwrap(), KeyOutcome::Undone { ref id } if *id == first)
        );
        assert_eq!(r.press(Key::Undo, &mut no_editor).unwrap(), KeyOutcome::NothingToUndo);
        assert_eq!(r.current().unwrap().0, 0);
        assert_eq!(r.press(Key::Quit, &mut no_editor).unwrap(), KeyOutcome::Quit);
    }

    #[test]
    fn a_large_cluster_is_paged_and_its_keys_pick_from_the_page_shown() {
        let members = (1..=12)
            .map(|n| QuestionMemory {
                path: MemoryPath::new(&format!("/m/{n}")).unwrap(),
                content: format!("the service listens on port {n}"),
                updated_at: Timestamp(n),
            })
            .collect();
        let big = Question::new(QuestionKind::Cluster, "look-alikes", members, vec![], "");
        let mut r = Review::new(vec![big, question("ci")], Memory::default());
        assert_eq!(r.press(Key::PreviousPage, &mut no_editor).unwrap(), KeyOutcome::NoOtherPage);
        assert_eq!(r.press(Key::NextPage, &mut no_editor).unwrap(), KeyOutcome::Paged(1));
        assert_eq!(r.page(), 1);
        assert_eq!(r.press(Key::NextPage, &mut no_editor).unwrap(), KeyOutcome::NoOtherPage);
        // Page 2 holds members 10-12: key 4 names none of them.
        assert_eq!(r.press(Key::Member(3), &mut no_editor).unwrap(), KeyOutcome::NoSuchMember(4));
        // Key 3 on page 2 keeps member 12; the next cluster starts on page 1.
        assert!(matches!(r.press(Key::Member(2), &mut no_editor).unwrap(), KeyOutcome::Answered { .. }));
        assert_eq!(r.page(), 0);
        let (_, kept) = &r.log().0[0];
        let Verdict::Outputs(o) = &kept.verdict else { panic!("settled") };
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].path.as_str(), "/m/12");
        // Undo shows the large cluster again from its first page.
        assert!(matches!(r.press(Key::Undo, &mut no_editor).unwrap(), KeyOutcome::Undone { .. }));
        assert_eq!(r.page(), 0);
        assert!(matches!(r.press(Key::Member(0), &mut no_editor).unwrap(), KeyOutcome::Answered { .. }));
        let (_, kept) = &r.log().0[0];
        let Verdict::Outputs(o) = &kept.verdict else { panic!("settled") };
        assert_eq!(o[0].path.as_str(), "/m/1");
    }

    #[test]
    fn an_overlong_edit_is_refused() {
        let mut r = Review::new(vec![question("ci")], Memory::default());
        let mut huge = |_: &str| Ok(Edited::Text("x".repeat(200_000)));
        assert!(matches!(r.press(Key::Edit, &mut huge).unwrap(), KeyOutcome::EditAbandoned(_)));
        assert!(r.log().0.is_empty());
    }
}
