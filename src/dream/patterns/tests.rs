use super::*;
use crate::embed::LexicalEmbedder;
use crate::session::{Role, SessionFormat, ToolCall, ToolResult, Turn};

fn turn(role: Role, author: Option<&str>, text: &str) -> Turn {
    Turn {
        role,
        author: author.map(str::to_owned),
        text: text.into(),
        tool_calls: vec![],
        tool_results: vec![],
        timestamp: None,
        sidechain: false,
    }
}

fn bash(id: &str, cmd: &str, out: &str, error: bool) -> Vec<Turn> {
    let mut call = turn(Role::Assistant, None, "");
    call.tool_calls.push(ToolCall {
        id: Some(id.into()),
        name: "Bash".into(),
        input: serde_json::json!({ "command": cmd }).to_string(),
    });
    let mut res = turn(Role::Tool, None, "");
    res.tool_results.push(ToolResult { call_id: Some(id.into()), content: out.into(), is_error: error });
    vec![call, res]
}

/// A user turn after the agent did some work, and the agent's reply.
fn user(author: &str, text: &str) -> Vec<Turn> {
    vec![
        turn(Role::Assistant, None, "I made the change in the handler."),
        turn(Role::User, Some(author), text),
        turn(Role::Assistant, None, "Understood."),
    ]
}

fn session(name: &str, turns: Vec<Turn>) -> Session {
    Session::new(SessionFormat::Text, Some(name.into()), None, turns)
}

/// Embeds by topic: a text's vector counts the topic words it holds, so
/// that paraphrases in other words are alike, as with a sentence model.
struct Topics;

const TOPICS: &[&[&str]] = &[
    &["mock", "magicmock", "postgres", "database"],
    &["pr", "prs", "pull", "small", "smaller"],
    &["force", "rebase", "push"],
    &["version", "bump"],
];

impl Embedder for Topics {
    fn model_id(&self) -> &str {
        "topics-test"
    }
    fn dimension(&self) -> usize {
        TOPICS.len() + 1
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts
            .iter()
            .map(|t| {
                let words = plain_words(t);
                let mut v: Vec<f32> = TOPICS
                    .iter()
                    .map(|topic| words.iter().filter(|w| topic.contains(&w.as_str())).count() as f32)
                    .collect();
                v.push(0.2);
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.iter().map(|x| x / norm).collect()
            })
            .collect())
    }
    fn word_vectors(&self, _: &[&str]) -> Result<Option<Vec<crate::embed::WordVectors>>, EmbedError> {
        Ok(None)
    }
}

fn run(sessions: &[Session]) -> Found {
    let embedder = LexicalEmbedder::default();
    let thresholds = crate::dream::Thresholds::for_model(embedder.model_id()).expect("lexical is calibrated");
    find(sessions, &[], &embedder, &thresholds, &Lexicon::default(), 2).expect("finds")
}

/// With MiniLM's calibrated thresholds: `Topics` stands in for a sentence model.
fn run_topics(sessions: &[Session]) -> Found {
    let judge = crate::judge::Judge::from_json("minilm.json", include_str!("../../judge/models/minilm.json"))
        .expect("the built-in judge parses");
    let thresholds = crate::dream::Thresholds::for_model(&judge.model_id).expect("MiniLM is calibrated");
    find(sessions, &[], &Topics, &thresholds, &Lexicon::default(), 2).expect("finds")
}

fn names(p: &Pattern) -> Vec<&str> {
    let mut n: Vec<&str> = p.session_names.iter().map(String::as_str).collect();
    n.sort_unstable();
    n
}

fn kinds(found: &Found) -> Vec<PatternKind> {
    found.patterns.iter().map(|p| p.kind).collect()
}

#[test]
fn recurring_tool_errors_are_settled_and_one_offs_are_not() {
    let s1 = session(
        "one.md",
        [
            bash("a", "cat /a/x.json", "ENOENT: no such file '/a/x.json'", true),
            bash("b", "make", "make: *** No rule to make target 'all'", true),
        ]
        .concat(),
    );
    let s2 = session("two.md", bash("c", "cat /b/y.json", "ENOENT: no such file '/b/y.json'", true));
    let found = run(&[s1, s2]);
    assert_eq!(kinds(&found), [PatternKind::RecurringMistake], "{found:#?}");
    let p = &found.patterns[0];
    assert_eq!(names(p), ["one.md", "two.md"]);
    assert!(p.body.starts_with("# `Bash` keeps failing with \"ENOENT"), "{}", p.body);
    assert!(p.body.contains("Recurring mistake (the agent was set right), seen in 2 sessions"), "{}", p.body);
    assert!(found.candidates.is_empty(), "{:#?}", found.candidates);
}

/// A tool error and the user's correction of it are one occurrence, and the
/// same fix in two sessions proves one mistake: one pattern, with the rule.
#[test]
fn an_error_and_its_correction_are_one_pattern() {
    let s1 = session(
        "ana.md",
        [
            bash("a", "npm run test:unit", "npm ERR! Missing script: \"test:unit\"", true),
            vec![turn(Role::User, Some("ana"), "No, use pnpm, not npm.")],
            bash("b", "pnpm test", "PASS 42 tests", false),
        ]
        .concat(),
    );
    let s2 = session(
        "ben.md",
        [
            bash("c", "npm install", "npm error Unsupported URL Type \"workspace:\": workspace:*", true),
            vec![turn(Role::User, Some("ben"), "This is a pnpm workspace, npm can't install it.")],
            bash("d", "pnpm install", "Done", false),
        ]
        .concat(),
    );
    let found = run(&[s1, s2]);
    assert_eq!(kinds(&found), [PatternKind::RecurringMistake], "{found:#?}");
    let body = &found.patterns[0].body;
    assert!(body.starts_with("# Use `pnpm` here, not `npm`."), "{body}");
    assert!(body.contains("Missing script") && body.contains("ana: \"No, use pnpm, not npm.\""), "{body}");
    assert!(body.contains("- session ana.md (ana): turns"), "{body}");
    assert!(found.candidates.is_empty(), "{:#?}", found.candidates);
}

/// Preferences in other words, from two people: one question, with the
/// excerpts of both and a draft; nothing settled on the device.
#[test]
fn paraphrased_preferences_become_one_question() {
    let found = run_topics(&[
        session(
            "ruth.md",
            user("ruth", "no mocks for the repo please. we test against a real postgres here"),
        ),
        session(
            "lukas.md",
            user(
                "lukas",
                "can we not MagicMock the repository? I want these tests hitting the actual database",
            ),
        ),
        session("mia.md", user("mia", "smaller PRs pls. just the profile flag in this one")),
        session(
            "ruth-2.md",
            user("ruth", "keep this PR to the migration; small PRs get reviewed the same day"),
        ),
        session("ina.md", user("ina", "Thanks, that looks great!")),
    ]);
    assert!(found.patterns.is_empty(), "{found:#?}");
    assert_eq!(found.candidates.len(), 2, "{found:#?}");
    for c in &found.candidates {
        assert_eq!(c.kind, PatternKind::SharedPreference);
        assert_eq!(c.occurrences.len(), 2);
        assert!(c.why.contains("may be one shared preference"), "{}", c.why);
        assert!(c.draft.path.as_str().starts_with("/patterns/preferences/"), "{}", c.draft.path);
        assert!(
            c.draft.content.contains("\nShared preference, seen in 2 sessions, by "),
            "{}",
            c.draft.content
        );
    }
    let mocks = &found.candidates.iter().find(|c| c.draft.content.contains("postgres")).expect("mocks");
    let mut at: Vec<&str> = mocks.occurrences.iter().map(|o| o.session.as_str()).collect();
    at.sort_unstable();
    assert_eq!(at, ["lukas.md", "ruth.md"]);
}

#[test]
fn one_question_per_group_not_per_pair() {
    let found = run_topics(&[
        session("1", user("ana", "Don't bump the version.")),
        session("2", user("ben", "Stop editing version numbers by hand.")),
        session("3", user("cy", "leave the version alone, release tooling bumps it")),
    ]);
    assert_eq!(found.candidates.len(), 1, "{found:#?}");
    let c = &found.candidates[0];
    assert_eq!(c.occurrences.len(), 3);
    assert_eq!(c.kind, PatternKind::RecurringMistake, "most of it corrects the agent");
    // It becomes one `pattern` question quoting every occurrence by session name, with the draft.
    let mut sessions = vec![
        session("1", user("ana", "Don't bump the version.")),
        session("2", user("ben", "Stop editing version numbers by hand.")),
        session("3", user("cy", "leave the version alone, release tooling bumps it")),
    ];
    sessions.sort_by_key(|s| s.id);
    let plan = crate::dream::plan::pattern_questions(&[c.to_plan()], &sessions, "").expect("plans");
    let q = &plan[0].prepared.question;
    assert_eq!(q.kind, crate::resolve::QuestionKind::Pattern);
    let mut named: Vec<&str> = q.excerpts.iter().map(|e| e.session.as_str()).collect();
    named.sort_unstable();
    assert_eq!(named, ["1", "2", "3"]);
    assert_eq!(q.draft.as_ref().map(|d| d.content.as_str()), Some(c.draft.content.as_str()));
}

#[test]
fn the_same_words_of_two_people_are_settled() {
    let found = run(&[
        session("1", user("alice", "Please use conventional commit messages.")),
        session("2", user("bob", "please use conventional commit messages")),
    ]);
    assert_eq!(kinds(&found), [PatternKind::SharedPreference], "{found:#?}");
    assert!(found.patterns[0].body.contains("by alice, bob"), "{}", found.patterns[0].body);
}

#[test]
fn one_persons_preference_is_not_shared() {
    let found = run_topics(&[
        session("3", user("carol", "I prefer small pull requests")),
        session("4", user("carol", "I prefer small pull requests, please")),
    ]);
    assert_eq!(found, Found::default());
}

#[test]
fn thanks_and_opening_requests_are_never_patterns() {
    let found = run(&[
        session("a", user("joanna", "Thanks, Nate! Your support is greatly appreciated.")),
        session("b", user("nate", "Thanks, Joanna! Your support is greatly appreciated.")),
        session("c", vec![turn(Role::User, Some("ana"), "Please check the failing billing tests.")]),
        session("d", vec![turn(Role::User, Some("ben"), "Please check the failing billing tests.")]),
    ]);
    assert_eq!(found, Found::default());
}

#[test]
fn a_session_person_comes_from_its_home_directory() {
    let mk = |cwd: &str, text: &str| {
        Session::new(
            SessionFormat::ClaudeCode,
            Some(format!("{cwd}-{text}")),
            Some(cwd.into()),
            user_unknown(text),
        )
    };
    fn user_unknown(text: &str) -> Vec<Turn> {
        let mut t = user("x", text);
        t[1].author = None;
        t
    }
    // The same person twice: not shared.
    let same = run(&[
        mk("/home/ada/shop", "please use conventional commit messages"),
        mk("/home/ada/shop", "Please use conventional commit messages."),
        mk("/home/bo/shop", "what does this do?"),
    ]);
    assert!(same.patterns.is_empty(), "{same:#?}");
    let two = run(&[
        mk("/home/ada/shop", "please use conventional commit messages"),
        mk("/home/bo/shop", "Please use conventional commit messages."),
    ]);
    assert_eq!(kinds(&two), [PatternKind::SharedPreference]);
    assert!(two.patterns[0].body.contains("by ada, bo"), "{}", two.patterns[0].body);
}

#[test]
fn slugs_are_path_safe() {
    let l = Lexicon::default();
    assert_eq!(slug("The npm ERR! missing script: <s>", 4, &l), "npm-err-missing-script");
    assert_eq!(slug("!!!", 3, &l), "item");
}
