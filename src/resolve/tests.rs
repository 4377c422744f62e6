use super::*;
use crate::memory::Timestamp;

#[test]
fn id_derives_from_the_rest() {
    let q = port_question("2");
    assert!(q.id.starts_with("c-") && q.id.len() == 14, "{}", q.id);
    assert!(q.id_matches());
    let mut r = q.clone();
    r.instructions = "prefer production values".into();
    assert_ne!(q.key(), r.key());
    assert!(!r.id_matches());
    assert_eq!(q.key(), port_question("2").key());
}

#[test]
fn question_wire_form() {
    let mut q = port_question("2");
    q.excerpts.push(QuestionExcerpt {
        session: "sess-1".into(),
        turns: [3, 5],
        at: Some(Timestamp(0)),
        text: "user: port 2 now".into(),
    });
    let v: serde_json::Value = serde_json::from_str(&q.to_line()).unwrap();
    assert_eq!(v["kind"], "cluster");
    assert_eq!(v["members"][0]["updated_at"], "1970-01-01T00:00:00.001Z");
    assert_eq!(v["excerpts"][0]["turns"], serde_json::json!([3, 5]));
    assert_eq!(v["excerpts"][0]["session"], "sess-1");
    assert_eq!(v["id"], q.id.as_str());
    // Extra fields are ignored on the way in.
    let mut extra = v.clone();
    extra["something"] = serde_json::json!(1);
    extra["members"][0]["extra"] = serde_json::json!("x");
    let back: Question = serde_json::from_value(extra).unwrap();
    assert_eq!(back, q);
}

#[test]
fn answers_round_trip_and_ignore_extra_fields() {
    let a = Answer::outputs(
        "c-000000000000",
        vec![Output {
            path: "/a".into(),
            content: "port 2".into(),
            sources: vec!["/a".into(), "/b".into()],
            action: OutputAction::Superseded,
        }],
        "newer",
    );
    let line = a.to_line();
    assert_eq!(
        line,
        r#"{"id":"c-000000000000","outputs":[{"path":"/a","content":"port 2","sources":["/a","/b"],"action":"superseded"}],"reason":"newer"}"#
    );
    assert_eq!(Answer::parse_line(&line).unwrap(), a);
    let u = Answer::unresolved("c-1", "unsure");
    assert_eq!(u.to_line(), r#"{"id":"c-1","unresolved":true,"reason":"unsure"}"#);
    let extra = r#"{"id":"c-1","unresolved":true,"reason":"unsure","confidence":0.2}"#;
    assert_eq!(Answer::parse_line(extra).unwrap(), u);
    let p = r#"{"id":"c-2","outputs":[{"path":"/patterns/x.md","content":"c","sources":[],
            "action":"pattern","kind":"shared_preference","sessions":["s1","s2"]}],"reason":"r"}"#;
    let parsed = Answer::parse_line(&p.replace('\n', "")).unwrap();
    let Verdict::Outputs(o) = &parsed.verdict else { panic!("outputs expected") };
    assert_eq!(
        o[0].action,
        OutputAction::Pattern {
            kind: PatternKind::SharedPreference,
            sessions: vec!["s1".into(), "s2".into()]
        }
    );
    assert!(parsed.to_line().contains(r#""kind":"shared_preference","sessions":["s1","s2"]"#));
}

#[test]
fn malformed_answers_say_why_and_for_which_id() {
    let e = Answer::parse_line(r#"{"id":"c-1","outputs":[{"path":"/a","content":"x","action":"deleted"}]}"#)
        .unwrap_err();
    assert_eq!(e.id.as_deref(), Some("c-1"));
    assert!(e.to_string().contains("\"deleted\" is not kept"), "{e}");
    let e = Answer::parse_line(r#"{"id":"c-1","reason":"?"}"#).unwrap_err();
    assert!(e.message.contains("needs \"outputs\""), "{e}");
    let e = Answer::parse_line("not json").unwrap_err();
    assert_eq!(e.id, None);
    let e = Answer::parse_line(
        r#"{"id":"c-1","outputs":[{"path":"/p","content":"x","action":"pattern"}],"reason":""}"#,
    )
    .unwrap_err();
    assert!(e.message.contains("needs \"kind\""), "{e}");
}

#[test]
fn usage_splits_to_its_sum() {
    let u = Usage {
        input_tokens: 10,
        output_tokens: 3,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 7,
    };
    let parts = u.split(3);
    let mut sum = Usage::default();
    parts.iter().for_each(|p| sum.add(p));
    assert_eq!(sum, u);
    assert_eq!(parts[0].input_tokens, 4);
    assert_eq!(parts[2].input_tokens, 3);
}

#[test]
fn open_reasons_serialise_with_their_rule() {
    let r = OpenReason::MemberUncovered { path: "/b".into() };
    assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"rule":"member_uncovered","path":"/b"}"#);
    assert_eq!(r.to_string(), "member /b is in no output's sources");
}
