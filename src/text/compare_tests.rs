use super::*;

fn rel(a: &str, b: &str) -> Relation {
    let l = Lexicon::default();
    compare(&Document::parse(a, &l), &Document::parse(b, &l), &l)
}

fn is_open(r: &Relation) -> bool {
    matches!(r, Relation::Open(_))
}

#[test]
fn only_meaning_preserving_edits_are_the_same() {
    assert_eq!(
        rel("The staging DB listens on port 5433.", "staging database listens on port 5433"),
        Relation::Same
    );
    assert_eq!(rel("Please don't deploy on Fridays!", "Do not deploy on Fridays."), Relation::Same);
    assert_eq!(rel("Request timeout: 30 seconds", "request timeout: 30s"), Relation::Same);
}

#[test]
fn the_issue_cases_are_never_merged() {
    // Word order and roles.
    assert_eq!(rel("Use tabs, not spaces.", "Use spaces, not tabs."), Relation::Open(Doubt::WordOrder));
    assert_eq!(rel("Prefer pnpm over npm.", "Prefer npm over pnpm."), Relation::Open(Doubt::WordOrder));
    // Prepositions and modifiers.
    assert!(is_open(&rel("Run migrations after the deploy.", "Run migrations before the deploy.")));
    assert!(is_open(&rel("The auth service uses JWT.", "The auth library uses JWT.")));
    assert!(!rel("MAX_CONN=10", "MAXCONN=10").merges());
    assert!(is_open(&rel("Who invented sex?", "Who invented heterosexual anal sex?")));
    assert!(is_open(&rel("A boy is standing in the water", "A boy is standing outside the water")));
    assert!(is_open(&rel("Use tabs", "Use tabs in Go files")));
    // Stated changes against a stale statement.
    assert_eq!(
        rel("billing was upgraded from Python 3.11 to 3.12", "billing targets Python 3.11"),
        Relation::ValueChange { changes: vec![("3.12".into(), "3.11".into())], cue: Some(Side::A) }
    );
    assert!(matches!(
        rel("Ownership of catalog passed from Priya to Dana", "Ask Priya about anything in catalog"),
        Relation::Open(Doubt::StatedChange { .. })
    ));
}

#[test]
fn values_negations_and_subjects() {
    assert_eq!(
        rel("staging port is 5433", "staging port is 5434"),
        Relation::ValueChange { changes: vec![("5433".into(), "5434".into())], cue: None }
    );
    assert_eq!(
        rel("We deploy on Fridays", "We now deploy on Thursdays"),
        Relation::ValueChange { changes: vec![("fridays".into(), "thursdays".into())], cue: Some(Side::B) }
    );
    assert_eq!(rel("We deploy on Fridays", "We do not deploy on Fridays"), Relation::Open(Doubt::Negation));
    assert_eq!(
        rel("We deploy on Fridays", "We no longer deploy on Fridays"),
        Relation::ValueChange { changes: vec![], cue: Some(Side::B) }
    );
    assert!(matches!(rel("staging port is 5433", "production port is 5432"), Relation::Distinct(_)));
    // A stated change about exactly the other text's subject.
    assert_eq!(
        rel(
            "The search service runs on Python 3.11.",
            "The search service was upgraded from Python 3.11 to 3.12."
        ),
        Relation::ValueChange { changes: vec![("3.11".into(), "3.12".into())], cue: Some(Side::B) }
    );
    assert!(matches!(
        rel(
            "The checkout service runs on Python 3.11.",
            "The search service was upgraded from Python 3.11 to 3.12."
        ),
        Relation::Open(Doubt::StatedChange { side: Side::B, .. })
    ));
}

#[test]
fn documents_compare_fact_by_fact() {
    let long = "# Billing\n- Runs Python 3.11.\n- Deploys on Fridays.\n- Owner: Priya";
    let short = "Deploys on Fridays.";
    // A heading scopes the long note's fact: the short note may mean another service.
    assert!(is_open(&rel(short, long)));
    let plain = "Billing runs Python 3.11. Billing deploys on Fridays. Billing is owned by Priya.";
    assert_eq!(rel("Billing deploys on Fridays.", plain), Relation::Contains { wider: Side::B });
    assert_eq!(rel(plain, "Billing deploys on Fridays."), Relation::Contains { wider: Side::A });
    let changed = "Billing runs Python 3.12. Billing deploys on Fridays. Billing is owned by Priya.";
    assert!(matches!(rel(plain, changed), Relation::ValueChange { .. }));
    let partly = "Billing runs Python 3.12. Billing deploys on Fridays.";
    assert_eq!(rel(plain, partly), Relation::Open(Doubt::PartChanged));
    assert_eq!(rel("Use tabs.", "Use tabs."), Relation::Same);
}

#[test]
fn huge_facts_are_compared_whole() {
    let l = Lexicon::default();
    let blob = |x: &str| (0..3000).map(|i| format!("{x}{i}")).collect::<Vec<_>>().join(" ");
    let (a, b) = (Document::parse(&blob("k"), &l), Document::parse(&blob("v"), &l));
    assert_eq!(compare(&a, &b, &l), Relation::Open(Doubt::Reworded));
    assert_eq!(compare(&a, &a.clone(), &l), Relation::Same);
    assert_eq!(share(&a.facts[0].words, &a.facts[0].words), 1.0);
}

#[test]
fn hunks_cover_every_difference() {
    let l = Lexicon::default();
    let a = super::super::words("use tabs not spaces", &l);
    let b = super::super::words("use spaces not tabs", &l);
    let h = hunks(&a, &b);
    let removed: usize = h.iter().map(|(x, _)| x.len()).sum();
    let added: usize = h.iter().map(|(_, y)| y.len()).sum();
    assert_eq!(a.len() - removed, b.len() - added);
}

/// Words that steer the rules.
const VOCABULARY: &[&str] = &[
    "from",
    "to",
    "instead",
    "of",
    "now",
    "no",
    "longer",
    "not",
    "billing",
    "search",
    "port",
    "staging",
    "production",
    "5432",
    "5433",
    "3.11",
    "friday",
    "monday",
    "enabled",
    "disabled",
    "the",
    "uses",
    "priya",
    ".",
    "\n",
    "# h",
    "- ",
];

proptest::proptest! {
    #[test]
    fn compare_is_symmetric(
        a in proptest::collection::vec(proptest::sample::select(VOCABULARY), 0..10),
        b in proptest::collection::vec(proptest::sample::select(VOCABULARY), 0..10),
    ) {
        let (a, b) = (a.join(" "), b.join(" "));
        let ab = rel(&a, &b);
        let ba = rel(&b, &a);
        proptest::prop_assert_eq!(ab.flipped(), ba);
    }
}
