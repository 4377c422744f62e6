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
    let mut res = turn(Role::User, None, "");
    res.tool_results.push(ToolResult { call_id: Some(id.into()), content: out.into(), is_error: error });
    vec![call, res]
}

fn user(author: &str, text: &str) -> Vec<Turn> {
    vec![turn(Role::User, Some(author), text), turn(Role::Assistant, None, "Understood.")]
}

fn session(name: &str, turns: Vec<Turn>) -> Session {
    Session::new(SessionFormat::Text, Some(name.into()), None, turns)
}

fn run(sessions: &[Session]) -> Found {
    let embedder = LexicalEmbedder::default();
    let thresholds = crate::dream::Thresholds::for_model(embedder.model_id()).expect("lexical is calibrated");
    find(sessions, &embedder, &thresholds, &Lexicon::default(), 2).expect("finds")
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
fn recurring_tool_errors_surface_and_one_offs_do_not() {
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
    assert_eq!(p.sessions.len(), 2);
    assert!(p.body.contains("Seen 2 times in 2 sessions"), "{}", p.body);
    assert!(p.slug.starts_with("bash-fails-enoent"), "{}", p.slug);
    assert!(found.candidates.is_empty(), "{:#?}", found.candidates);
}

/// A tool error and the user's correction of it are one mistake, reported once.
#[test]
fn an_error_and_its_correction_are_one_pattern() {
    let s1 = session(
        "ana.md",
        [
            bash("a", "npm run test:unit", "npm ERR! Missing script: \"test:unit\"", true),
            user("ana", "No, use pnpm, not npm."),
            bash("b", "pnpm test", "PASS 42 tests", false),
        ]
        .concat(),
    );
    let s2 = session(
        "ben.md",
        [
            bash("c", "npm run test:unit", "npm ERR! Missing script: \"test:unit\"", true),
            user("ben", "Don't use npm here, we use pnpm."),
            bash("d", "pnpm test", "PASS 42 tests", false),
        ]
        .concat(),
    );
    let found = run(&[s1, s2]);
    assert_eq!(kinds(&found), [PatternKind::RecurringMistake], "{found:#?}");
    let body = &found.patterns[0].body;
    assert!(body.contains("Missing script") && body.contains("No, use pnpm, not npm."), "{body}");
    assert!(body.starts_with("# Recurring mistake: `npm` used where `pnpm` was needed"), "{body}");
    assert_eq!(names(&found.patterns[0]), ["ana.md", "ben.md"]);
}

/// "npm install fails on a pnpm workspace", "corepack refuses yarn" and
/// "npm ci in the Dockerfile" are one mistake: the wrong package manager.
#[test]
fn different_errors_of_one_mistake_are_one_pattern() {
    let s1 = session(
        "ana.md",
        [
            bash("a", "npm install", "npm error code EUNSUPPORTEDPROTOCOL\nnpm error Unsupported URL Type \"workspace:\": workspace:*", true),
            bash("b", "pnpm install", "Done in 3.2s", false),
        ]
        .concat(),
    );
    let s2 = session(
        "ben.md",
        [
            bash("c", "yarn add zod", "Usage Error: This project is configured to use pnpm because /home/ben/shop/package.json has a \"packageManager\" field", true),
            bash("d", "pnpm add zod", "+ zod 3.23.8", false),
        ]
        .concat(),
    );
    let s3 = session(
        "carla.md",
        [
            bash("e", "docker build -t shop .", "npm ERR! The `npm ci` command can only install with an existing package-lock.json", true),
            user("carla", "We have no package-lock here: the Dockerfile must run pnpm install --frozen-lockfile, not npm ci."),
            bash("f", "docker build -t shop .", "Successfully built 1f2e3d", false),
        ]
        .concat(),
    );
    let found = run(&[s1, s2, s3]);
    assert_eq!(kinds(&found), [PatternKind::RecurringMistake], "{found:#?}");
    assert_eq!(found.patterns[0].sessions.len(), 3, "{}", found.patterns[0].body);
    assert!(found.candidates.is_empty());
}

#[test]
fn preferences_need_two_people() {
    let found = run(&[
        session("1", user("alice", "I prefer tabs for indentation")),
        session("2", user("bob", "We like tabs for indentation here")),
        session("3", user("carol", "I prefer small pull requests")),
        session("4", user("carol", "I prefer small pull requests, please")),
    ]);
    assert_eq!(kinds(&found), [PatternKind::SharedPreference], "{found:#?}");
    assert!(found.patterns[0].body.contains("alice, bob"));
}

#[test]
fn paraphrased_preferences_of_different_people_are_one() {
    let found = run(&[
        session("dana.md", user("dana", "please keep PRs small")),
        session("eli.md", user("eli", "Can you split this? We like small pull requests here.")),
    ]);
    assert_eq!(kinds(&found), [PatternKind::SharedPreference], "{found:#?}");
    assert_eq!(names(&found.patterns[0]), ["dana.md", "eli.md"]);
}

#[test]
fn thanks_are_never_a_shared_preference() {
    let found = run(&[
        session("a", user("joanna", "Thanks, Nate! Your support is greatly appreciated.")),
        session("b", user("nate", "Thanks, Joanna! Your support is greatly appreciated.")),
        session("c", user("joanna", "Thank you so much, I really appreciate the help with the tests.")),
    ]);
    assert_eq!(found, Found::default());
}

#[test]
fn opposite_preferences_are_not_shared() {
    let found = run(&[
        session("a", user("ana", "We always indent with tabs, not spaces.")),
        session("b", user("ben", "We always indent with spaces, not tabs.")),
    ]);
    assert!(found.patterns.is_empty() && found.candidates.is_empty(), "{found:#?}");
}

#[test]
fn corrections_recur_across_sessions() {
    let found = run(&[
        session("1", user("ana", "No, use pnpm, not npm.")),
        session("2", user("ben", "Don't use npm here, use pnpm")),
    ]);
    assert_eq!(kinds(&found), [PatternKind::RecurringMistake]);
    assert!(found.patterns[0].body.contains("Users corrected the agent"));
}

#[test]
fn loosely_related_occurrences_become_a_candidate() {
    // Two corrections sharing only one term: perhaps one mistake, not proven.
    let found = run(&sessions_of_candidate_test());
    assert!(found.patterns.is_empty(), "{found:#?}");
    assert_eq!(found.candidates.len(), 1, "{found:#?}");
    let c = &found.candidates[0];
    assert_eq!(c.kind, PatternKind::RecurringMistake);
    let mut at: Vec<&str> = c.occurrences.iter().map(|o| o.session.as_str()).collect();
    at.sort_unstable();
    assert_eq!(at, ["1", "2"]);
    assert!(c.why.contains("may be one recurring mistake"), "{}", c.why);
    // It becomes one `pattern` question quoting both occurrences by session name.
    let mut sessions = sessions_of_candidate_test();
    sessions.sort_by_key(|s| s.id);
    let plan = crate::dream::plan::pattern_questions(&[c.to_plan()], &sessions, "").expect("plans");
    let q = &plan[0].prepared.question;
    assert_eq!(q.kind, crate::resolve::QuestionKind::Pattern);
    let mut named: Vec<&str> = q.excerpts.iter().map(|e| e.session.as_str()).collect();
    named.sort_unstable();
    assert_eq!(named, ["1", "2"]);
    assert!(q.members.is_empty());
}

fn sessions_of_candidate_test() -> Vec<Session> {
    vec![
        session("1", user("ana", "Don't bump the version.")),
        session("2", user("ben", "Stop editing version numbers by hand.")),
    ]
}

#[test]
fn the_evidence_names_sessions_by_their_own_id() {
    let found = run(&[
        session("4f1c2a9e-7b3d.jsonl", user("ana", "No, use pnpm, not npm.")),
        session("pairing.md", user("ben", "Don't use npm here, use pnpm")),
    ]);
    let body = &found.patterns[0].body;
    assert!(
        body.contains("session 4f1c2a9e-7b3d.jsonl turns") && body.contains("session pairing.md turns"),
        "{body}"
    );
}

#[test]
fn slugs_are_path_safe() {
    let l = Lexicon::default();
    assert_eq!(slug("The npm ERR! missing script: <s>", 4, &l), "npm-err-missing-script");
    assert_eq!(slug("!!!", 3, &l), "item");
}
