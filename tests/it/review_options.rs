//! A dream made through the library's [`DreamRun`] with options other than
//! the CLI's — its own thresholds, excerpt budget, pattern support, no
//! judge, exact search and a cap on the questions sent — is reproduced by
//! `dreamwork review`, which reads those options from the report: reviewed
//! with no answers, OUT comes back byte for byte.

use std::path::Path;

use assert_cmd::Command;
use dreamwork::dream::{ExcerptBudget, Thresholds};
use dreamwork::index::IndexKind;
use dreamwork::resolve::Limits;
use dreamwork::{DreamOptions, DreamRun, Embedder, LexicalEmbedder};

use crate::common::tree;

const MEMORIES: &str = r#"{"path":"/infra/billing-db.md","content":"The billing service stores invoices in Postgres.","created_at":"2026-01-05T10:00:00Z","updated_at":"2026-01-05T10:00:00Z"}
{"path":"/notes/billing-db.md","content":"The billing service stores invoices in MySQL.","created_at":"2026-02-10T10:00:00Z","updated_at":"2026-02-10T10:00:00Z"}
{"path":"/team/ci.md","content":"The shop CI runs on Buildkite.","created_at":"2026-01-06T10:00:00Z","updated_at":"2026-01-06T10:00:00Z"}
{"path":"/notes/ci.md","content":"The shop CI runs on Jenkins.","created_at":"2026-02-11T10:00:00Z","updated_at":"2026-02-11T10:00:00Z"}
{"path":"/ops/port.md","content":"The staging database listens on port 5432.","created_at":"2026-01-08T10:00:00Z","updated_at":"2026-01-08T10:00:00Z"}
{"path":"/notes/port.md","content":"The staging database listens on port 5433 now.","created_at":"2026-02-13T10:00:00Z","updated_at":"2026-02-13T10:00:00Z"}
{"path":"/a/deploys.md","content":"Deploys are on Tuesdays.","created_at":"2026-01-09T10:00:00Z","updated_at":"2026-01-09T10:00:00Z"}
{"path":"/b/deploys.md","content":"Deploys are on Tuesdays.","created_at":"2026-01-10T10:00:00Z","updated_at":"2026-01-10T10:00:00Z"}
"#;

fn dreamwork() -> Command {
    Command::cargo_bin("dreamwork").expect("the binary is built")
}

fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("runs");
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn report(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("dream/report.json")).unwrap()).unwrap()
}

/// Options that change this dream's output, none of them the CLI's.
fn options() -> (DreamOptions, Limits) {
    let lexical = LexicalEmbedder::default();
    let mut thresholds = Thresholds::for_model(lexical.model_id()).expect("lexical is calibrated");
    thresholds.min_similarity -= 0.05;
    let options = DreamOptions::default()
        .with_thresholds(thresholds)
        .with_min_pattern_sessions(3)
        .with_excerpts(ExcerptBudget::default().with_max_excerpts(1).with_max_tokens(80))
        .with_instructions("Prefer the newer note.")
        .with_judge(false)
        .with_index(IndexKind::Exact);
    (options, Limits::default().with_max_questions(1))
}

#[test]
fn review_reproduces_a_library_dream_with_its_own_options() {
    let dir = tempfile::tempdir().unwrap();
    let (store, out, plain) = (dir.path().join("store"), dir.path().join("out"), dir.path().join("plain"));
    std::fs::write(dir.path().join("memories.jsonl"), MEMORIES).unwrap();
    ok(dreamwork().arg("init").arg(&store));
    ok(dreamwork().arg("import").arg(&store).arg(dir.path().join("memories.jsonl")));

    let (options, limits) = options();
    let dream = DreamRun::new(options).limits(limits).run(&store, &out).unwrap();
    assert!(dream.report.unresolved.len() >= 2, "{:?}", dream.report.unresolved);
    let saved = &report(&out)["options"];
    assert_eq!(saved["max_questions"], 1, "{saved}");
    assert_eq!(saved["judge"], false, "{saved}");
    assert_eq!(saved["index"], "exact", "{saved}");
    assert_eq!(saved["min_pattern_sessions"], 3, "{saved}");
    assert_eq!(saved["max_excerpts"], 1, "{saved}");
    assert_eq!(saved["excerpt_tokens"], 80, "{saved}");
    assert!(saved["thresholds"]["min_similarity"].is_number(), "{saved}");
    assert!(saved.get("lexicon").is_none(), "the built-in lexicon is not kept: {saved}");
    // The options matter: with the CLI's, this store dreams differently.
    DreamRun::default().run(&store, &plain).unwrap();
    assert!(report(&plain).get("options").is_none(), "default options are not written");
    assert_ne!(report(&plain)["unresolved"], report(&out)["unresolved"]);

    let before = tree(&out);
    let empty = dir.path().join("answers.jsonl");
    std::fs::write(&empty, "").unwrap();
    ok(dreamwork().arg("review").arg(&store).arg(&out).arg("--answers").arg(&empty));
    let mut after = tree(&out);
    after.remove(Path::new("dream/journal.jsonl"));
    assert_eq!(after.keys().collect::<Vec<_>>(), before.keys().collect::<Vec<_>>());
    for (file, bytes) in &before {
        assert!(after[file] == *bytes, "review changed {}", file.display());
    }
}
