use super::*;

fn docs(texts: &[&str]) -> Vec<Document> {
    let l = Lexicon::default();
    texts.iter().map(|t| Document::parse(t, &l)).collect()
}

fn pair(a: usize, b: usize) -> CandidatePair {
    CandidatePair { a, b, similarity: 0.9 }
}

fn minilm_thresholds() -> Thresholds {
    let judge = crate::judge::Judge::from_json("minilm.json", include_str!("../judge/models/minilm.json"))
        .expect("the built-in judge parses");
    Thresholds::for_model(&judge.model_id).expect("MiniLM is calibrated")
}

#[test]
fn cover_never_folds_two_subjects_through_a_shared_narrow_text() {
    let d = docs(&[
        "The port is 5433.",
        "The port is 5433. Billing owns it.",
        "The port is 5433. Search owns it.",
    ]);
    let (t, l) = (minilm_thresholds(), Lexicon::default());
    let v = vec![vec![1.0]; d.len()];
    let out = cluster(&Judging::new(&d, &v, None, &t, &l), &[pair(0, 1), pair(0, 2), pair(1, 2)]);
    assert_eq!(out.groups.len(), 2);
    assert!(out.groups.iter().all(|g| !(g.members.contains(&1) && g.members.contains(&2))));
    assert!(out.groups.iter().any(|g| g.contained == vec![0]));
    assert_eq!(out.unsettled.len(), 1);
}

/// A judge that finds every pair it sees the same meaning.
fn credulous_judge() -> Judge {
    let booster = |base: f64| judge::Booster { base, trees: vec![], scale: 1.0, shift: 0.0 };
    Judge {
        format: judge::FORMAT.into(),
        model_id: "test".into(),
        features: judge::features::NAMES.iter().map(|s| (*s).to_owned()).collect(),
        entails: booster(8.0),
        different: booster(-8.0),
        conflict: booster(-8.0),
        cutoffs: judge::Cutoffs { same: 0.99, different: 0.99, conflict: 0.5 },
        command: String::new(),
        sources: vec![],
        training: judge::Training {
            folds: 5,
            fit_folds: vec![],
            test_fold: 0,
            params: judge::boost::Params::default(),
            targets: judge::Targets { false_same: Default::default(), false_different: 0.0 },
        },
    }
}

fn words_of(text: &str) -> WordVectors {
    let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
    WordVectors { dimension: 1, data: vec![1.0; words.len()], words, sentence: vec![1.0] }
}

#[test]
fn the_judge_merges_what_the_rules_leave_open_but_never_past_a_veto() {
    let texts =
        ["A man is playing a guitar", "A guitar is being played by a man", "A man is not playing a guitar"];
    let d = docs(&texts);
    let (t, l, j) = (minilm_thresholds(), Lexicon::default(), credulous_judge());
    let v = vec![vec![1.0]; d.len()];
    let mut judging = Judging::new(&d, &v, Some(&j), &t, &l);
    let pairs = [pair(0, 1), pair(0, 2), pair(1, 2)];
    assert_eq!(judging.needs_words(&pairs), vec![0, 1, 2]);
    // Without word vectors the rules alone decide: nothing merges.
    assert!(cluster(&judging, &pairs).groups.iter().all(|g| g.members.len() == 1));
    for (i, text) in texts.iter().enumerate() {
        judging.words[i] = Some(words_of(text));
    }
    let out = cluster(&judging, &pairs);
    let merged = out.groups.iter().find(|g| g.members.len() > 1).unwrap();
    assert_eq!(merged.members, vec![0, 1]);
    assert_eq!(merged.judged.len(), 1);
    assert!(merged.judged[0].1 > 0.99);
    // The negation stays a question, with the judge's verdict on it.
    assert_eq!(out.unsettled.len(), 1);
    assert_eq!(out.unsettled[0].judgement.map(|j| j.verdict), Some(PairVerdict::Conflict));
    // No judge, no word vectors needed.
    assert!(Judging::new(&d, &v, None, &t, &l).needs_words(&pairs).is_empty());
}

#[test]
fn far_apart_rewordings_are_different_topics() {
    let (t, l) = (minilm_thresholds(), Lexicon::default());
    let d = docs(&["Deploys happen on Fridays", "The cafeteria closes at noon"]);
    let none = BTreeSet::new();
    let apart = SubjectOverlap { a: &none, b: &none };
    assert_eq!(
        rules(&d[0], &d[1], t.topic_floor - 0.01, apart, &t, &l),
        Relation::Distinct(DistinctProof::DifferentTopics)
    );
    assert_eq!(rules(&d[0], &d[1], t.topic_floor + 0.01, apart, &t, &l), Relation::Open(Doubt::Reworded));
    // Sharing a subject's name, a rewording is a question however far apart.
    let fridays: BTreeSet<&str> = ["fridays"].into();
    let shared = SubjectOverlap { a: &fridays, b: &fridays };
    assert_eq!(rules(&d[0], &d[1], 0.0, shared, &t, &l), Relation::Open(Doubt::Reworded));
}

#[test]
fn two_subjects_notes_are_distinct_but_a_changed_value_is_asked() {
    let (t, l) = (minilm_thresholds(), Lexicon::default());
    let d = docs(&[
        "In production, poca runs on port 3641.",
        "In production, povel runs on port 47946.",
        "Owner of audit: Diego",
        "audit is owned by Priya",
        "povel now runs on port 3641 in production.",
    ]);
    let subjects = subject_words(&d, &l);
    let pair = |i: usize, j: usize| {
        rules(&d[i], &d[j], 0.9, SubjectOverlap { a: &subjects[i], b: &subjects[j] }, &t, &l)
    };
    assert!(
        matches!(pair(0, 1), Relation::Distinct(DistinctProof::OwnSubjects { .. })),
        "{:?} ({:?} / {:?})",
        pair(0, 1),
        subjects[0],
        subjects[1]
    );
    // One own word each (the value): the same attribute, perhaps changed.
    let none = BTreeSet::new();
    let (diego, priya): (BTreeSet<&str>, BTreeSet<&str>) = (["diego"].into(), ["priya"].into());
    let changed = rules(&d[2], &d[3], 0.9, SubjectOverlap { a: &diego, b: &priya }, &t, &l);
    assert!(matches!(changed, Relation::Open(_)), "{changed:?}");
    assert!(matches!(
        rules(&d[2], &d[3], 0.9, SubjectOverlap { a: &none, b: &none }, &t, &l),
        Relation::Open(_)
    ));
    // A text stating a change is never settled as another subject's note.
    let (poca, povel): (BTreeSet<&str>, BTreeSet<&str>) =
        (["poca", "3641"].into(), ["povel", "47946"].into());
    assert!(!matches!(
        rules(&d[0], &d[4], 0.9, SubjectOverlap { a: &poca, b: &povel }, &t, &l),
        Relation::Distinct(_)
    ));
}

#[test]
fn blocking_finds_rewordings_sharing_a_rare_word() {
    let d = docs(&[
        "Replica count for analytics in production: 9",
        "The production analytics deployment is scaled to 6 replicas.",
        "analytics is owned by Priya",
    ]);
    assert_eq!(blocking_pairs(&d, &Lexicon::default()), vec![(0, 1)]);
    // One rare word (the subject) and a short common one (the attribute).
    let mut texts: Vec<String> = vec!["linfa CI runs on Drone.".into(), "CI for linfa: CircleCI".into()];
    texts.extend((0..20).map(|i| format!("CI for svc{i}: Jenkins")));
    texts.extend((0..180).map(|i| format!("The svc{i} service listens on port {i}.")));
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let d = docs(&refs);
    assert!(blocking_pairs(&d, &Lexicon::default()).contains(&(0, 1)));
    // Grammar is no second key.
    let d = docs(&["linfa is fast", "linfa is owned by Mei"]);
    assert!(blocking_pairs(&d, &Lexicon::default()).is_empty());
}

#[test]
fn union_find_roots_are_smallest() {
    let mut uf = UnionFind::new(5);
    uf.union(4, 2);
    uf.union(2, 3);
    assert_eq!(uf.find(4), 2);
    uf.union(3, 0);
    assert_eq!(uf.find(4), 0);
}
