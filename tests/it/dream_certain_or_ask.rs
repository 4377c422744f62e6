//! Certain or ask, through a whole dream: every case that once destroyed a
//! fact or left a stale one standing (issue "The dream merges only what it
//! can prove, and asks about the rest") gets the right outcome — never
//! merged when the meaning may differ; asked, or settled on evidence.

use dreamwork::dream::{Dream, DreamInput, DreamOptions, DreamOutput};
use dreamwork::embed::LexicalEmbedder;
use dreamwork::report::Action;
use dreamwork::resolve::LocalResolver;
use dreamwork::{CancelToken, Memory, MemoryPath, Silent, Timestamp};

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// One output memory carries both, as the same fact.
    Merged,
    /// `newer` replaced the other on evidence.
    Superseded { winner: &'static str },
    /// Both kept, in one open cluster of the report.
    Asked,
    /// Both kept, not asked about.
    Apart,
}

fn dream(memories: &[(&'static str, &str, i64)]) -> DreamOutput {
    let memories: Vec<Memory> = memories
        .iter()
        .map(|(p, c, t)| Memory::new(MemoryPath::new(p).expect("a valid path"), *c, Timestamp(*t)))
        .collect();
    let input = DreamInput { memories, sessions: Vec::new() };
    Dream::new(DreamOptions::default())
        .run(input, &LexicalEmbedder::default(), &LocalResolver, &Silent, &CancelToken::new())
        .expect("the dream runs")
}

fn outcome(out: &DreamOutput, a: &'static str, b: &'static str) -> Outcome {
    let p = |s: &str| MemoryPath::new(s).expect("a valid path");
    let (pa, pb) = (p(a), p(b));
    for e in &out.report.memories {
        if e.sources.contains(&pa) && e.sources.contains(&pb) {
            return match e.action {
                Action::Superseded if e.path == pa => Outcome::Superseded { winner: a },
                Action::Superseded => Outcome::Superseded { winner: b },
                _ => Outcome::Merged,
            };
        }
    }
    let asked = out.report.unresolved.iter().any(|u| u.sources.contains(&pa) && u.sources.contains(&pb));
    if asked { Outcome::Asked } else { Outcome::Apart }
}

fn pair(a: &str, b: &str) -> Outcome {
    let out = dream(&[("/a.md", a, 1), ("/b.md", b, 1)]);
    outcome(&out, "/a.md", "/b.md")
}

#[test]
fn opposite_facts_are_asked_never_merged() {
    assert_eq!(pair("Use tabs, not spaces.", "Use spaces, not tabs."), Outcome::Asked);
    assert_eq!(pair("Prefer pnpm over npm.", "Prefer npm over pnpm."), Outcome::Asked);
    assert_eq!(pair("Run migrations after the deploy.", "Run migrations before the deploy."), Outcome::Asked);
    assert_eq!(pair("The auth service uses JWT.", "The auth library uses JWT."), Outcome::Asked);
    assert_ne!(pair("MAX_CONN=10", "MAXCONN=10"), Outcome::Merged);
}

#[test]
fn containment_of_words_is_not_entailment() {
    assert_eq!(pair("Who invented sex?", "Who invented heterosexual anal sex?"), Outcome::Asked);
    assert_eq!(pair("A boy is standing in the water", "A boy is standing outside the water"), Outcome::Asked);
    assert_eq!(pair("Use tabs", "Use tabs in Go files"), Outcome::Asked);
}

#[test]
fn stated_changes_flag_what_they_make_stale() {
    let out = dream(&[
        ("/billing/python.md", "billing targets Python 3.11", 1),
        ("/billing/upgrade.md", "billing was upgraded from Python 3.11 to 3.12", 2),
        ("/catalog/contact.md", "Ask Priya about anything in catalog", 1),
        ("/catalog/owner.md", "Ownership of catalog passed from Priya to Dana", 2),
    ]);
    // The change is about exactly what the older note states: settled.
    assert_eq!(
        outcome(&out, "/billing/python.md", "/billing/upgrade.md"),
        Outcome::Superseded { winner: "/billing/upgrade.md" }
    );
    // Asking Priya may or may not be stale once ownership passed: asked.
    assert_eq!(outcome(&out, "/catalog/contact.md", "/catalog/owner.md"), Outcome::Asked);
}

#[test]
fn value_changes_settle_on_evidence_and_ask_without() {
    let out = dream(&[("/a.md", "The staging port is 5433.", 1), ("/b.md", "The staging port is 5434.", 2)]);
    assert_eq!(outcome(&out, "/a.md", "/b.md"), Outcome::Superseded { winner: "/b.md" });
    let out = dream(&[("/a.md", "We deploy on Fridays.", 1), ("/b.md", "We now deploy on Thursdays.", 2)]);
    assert_eq!(outcome(&out, "/a.md", "/b.md"), Outcome::Superseded { winner: "/b.md" });
    // Written at the same time: nothing tells which is current.
    assert_eq!(pair("The staging port is 5433.", "The staging port is 5434."), Outcome::Asked);
    // A different environment is a different subject.
    assert_eq!(pair("The staging port is 5433.", "The production port is 5432."), Outcome::Apart);
}

#[test]
fn wording_that_does_not_change_meaning_merges() {
    assert_eq!(
        pair("The staging DB listens on port 5433.", "Staging database listens on port 5433"),
        Outcome::Merged
    );
    assert_eq!(pair("Please don't deploy on Fridays!", "Do not deploy on Fridays."), Outcome::Merged);
    // A paraphrase the wording cannot prove is asked, not dropped.
    assert_eq!(
        pair("Deploys of billing happen on Fridays.", "Billing deploys happen on Fridays."),
        Outcome::Asked
    );
}

#[test]
fn memories_are_documents() {
    let long = "Billing service notes.\n\n- Billing runs Python 3.11.\n- Billing deploys on Fridays.\n- Billing is owned by Priya.";
    let out = dream(&[
        ("/billing/notes.md", long, 1),
        // A short note repeating one fact of the long one folds into it.
        ("/inbox/deploy-day.md", "Billing deploys on Fridays.", 1),
        // A newer note changing one fact of it is a question: the rest still holds.
        ("/inbox/python.md", "Billing runs Python 3.12.", 2),
    ]);
    assert_eq!(outcome(&out, "/billing/notes.md", "/inbox/deploy-day.md"), Outcome::Merged);
    assert_eq!(outcome(&out, "/billing/notes.md", "/inbox/python.md"), Outcome::Asked);
    let notes =
        out.memories.iter().find(|m| m.path.as_str() == "/billing/notes.md").expect("the long note stays");
    assert_eq!(notes.content, long);
}
