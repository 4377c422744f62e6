//! The `anthropic` and `dreams` resolvers through the library API against
//! the loopback stand-in: request shapes and headers, batching, polling,
//! paging the output store, mapping answers back, clean-up and usage.

#![cfg(feature = "remote")]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use crate::support::Waits;
use crate::support::standin::{DreamEnd, DreamScript, KEY, StandIn, wire_questions};
use dreamwork::resolve::anthropic::{AnthropicOptions, AnthropicResolver};
use dreamwork::resolve::dreams::{DreamsResolver, Polling};
use dreamwork::resolve::http::{ApiKey, Client, ClientConfig, Wait};
use dreamwork::resolve::wire::Encoder;
use dreamwork::resolve::{
    OpenReason, Question, QuestionExcerpt, QuestionKind, QuestionMemory, Resolver, Watch,
};
use dreamwork::{CancelToken, Cancelled, MemoryPath, Silent, Timestamp};
use serde_json::{Value, json};

fn client(standin: &StandIn, cancel: &CancelToken) -> (Client, Waits) {
    let config = ClientConfig::new(&standin.url, ApiKey::new(KEY).unwrap()).unwrap();
    let waits = Waits::default();
    (Client::with_wait(config, cancel.clone(), Arc::new(waits.clone())), waits)
}

fn question(n: usize, sessions: &[&str]) -> Question {
    let member = |p: String, c: String, t| QuestionMemory {
        path: MemoryPath::new(&p).unwrap(),
        content: c,
        updated_at: Timestamp(t),
    };
    let excerpts = sessions
        .iter()
        .map(|s| QuestionExcerpt {
            session: (*s).into(),
            turns: [1, 2],
            at: None,
            text: format!("we moved service {n}"),
        })
        .collect();
    Question::new(
        QuestionKind::Cluster,
        "the values differ",
        vec![
            member(format!("/svc{n}/a.md"), format!("svc{n} port 1"), 1),
            member(format!("/svc{n}/b.md"), format!("svc{n} port 2"), 2),
        ],
        excerpts,
        "",
    )
}

/// Keeps `/b.md`, superseding `/a.md`.
fn answer(q: &Value) -> Value {
    let paths: Vec<&Value> = q["members"].as_array().unwrap().iter().map(|m| &m["path"]).collect();
    json!({"id": q["id"], "outputs": [{"path": paths[1], "content": q["members"][1]["content"], "sources": paths, "action": "superseded"}], "reason": "newer"})
}

fn ask(resolver: &dyn Resolver, batch: &[Question]) -> Vec<Result<dreamwork::resolve::Answered, OpenReason>> {
    let cancel = CancelToken::new();
    resolver.resolve(batch, &Watch::new(&Silent, &cancel, batch.len())).unwrap()
}

#[test]
fn anthropic_batches_questions_and_maps_answers_by_id() {
    let standin = StandIn::start();
    // Answers in reverse order, plus one for a cluster not asked.
    standin.answer_with(|qs| {
        let mut a: Vec<Value> = qs.iter().rev().map(answer).collect();
        a.push(json!({"id": "c-000000000000", "unresolved": true, "reason": "?"}));
        a
    });
    let cancel = CancelToken::new();
    let (client, _) = client(&standin, &cancel);
    let options = AnthropicOptions::default().with_budget(1000).with_max_questions(3);
    let resolver = AnthropicResolver::new(client, options);
    let batch: Vec<Question> = (0..7).map(|n| question(n, &[])).collect();
    let tokens = vec![100; batch.len()];
    let ranges = resolver.batches(&batch, &tokens);
    assert_eq!(ranges, vec![0..3, 3..6, 6..7]);
    assert_eq!(resolver.parallelism(), 4);
    assert_eq!((resolver.name(), resolver.model()), ("anthropic".into(), "claude-sonnet-4-6".into()));
    let replies = ask(&resolver, &batch[0..3]);
    for (q, r) in batch.iter().zip(&replies) {
        assert_eq!(r.as_ref().unwrap().answer.id, q.id);
    }
    let request = &standin.requests()[0];
    assert_eq!(request.route(), "POST /v1/messages");
    assert_eq!(request.header("anthropic-beta"), None);
    assert_eq!(request.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_str(&request.body).unwrap();
    let lines: Vec<&str> = body["messages"][0]["content"][0]["text"].as_str().unwrap().lines().collect();
    let mut encoder = Encoder::new();
    assert_eq!(lines, batch[0..3].iter().flat_map(|q| encoder.encode(q)).collect::<Vec<_>>());
    // The server's usage is split over the answers and summed by the resolver.
    let total: u64 = replies.iter().map(|r| r.as_ref().unwrap().usage.input_tokens).sum();
    assert_eq!(total, resolver.usage().input_tokens);
    assert!(resolver.usage().cache_creation_input_tokens > 0, "the prompt is long enough to be cached");
    ask(&resolver, &batch[3..6]);
    assert!(resolver.usage().cache_read_input_tokens > 0);
    let sent = resolver.sent();
    let bodies: u64 = standin.requests().iter().map(|r| r.body.len() as u64).sum();
    assert_eq!((sent.requests, sent.bytes), (2, bodies), "every byte sent is counted");
}

#[test]
fn anthropic_reply_without_an_answer_or_with_a_bad_one_leaves_the_question_open() {
    let standin = StandIn::start();
    standin.answer_with(|qs| vec![json!({"id": qs[0]["id"], "outputs": "nonsense", "reason": "?"})]);
    let cancel = CancelToken::new();
    let resolver = AnthropicResolver::new(client(&standin, &cancel).0, AnthropicOptions::default());
    let batch = vec![question(1, &[]), question(2, &[])];
    let replies = ask(&resolver, &batch);
    assert!(
        matches!(&replies[0], Err(OpenReason::Malformed { message }) if message.contains(&batch[0].id)),
        "{replies:?}"
    );
    assert!(matches!(&replies[1], Err(OpenReason::NoAnswer { resolver }) if resolver == "anthropic"));
}

#[test]
fn anthropic_refused_key_stops_the_dream() {
    let standin = StandIn::start();
    let config = ClientConfig::new(&standin.url, ApiKey::new("sk-ant-api03-wrong").unwrap()).unwrap();
    let resolver =
        AnthropicResolver::new(Client::new(config, CancelToken::new()), AnthropicOptions::default());
    let cancel = CancelToken::new();
    let err = resolver.resolve(&[question(1, &[])], &Watch::new(&Silent, &cancel, 1)).unwrap_err();
    assert!(err.to_string().contains("HTTP 401 authentication_error"), "{err}");
    assert!(!err.to_string().contains("wrong"));
}

fn answering_dream(running_polls: u32, end: DreamEnd) -> DreamScript {
    DreamScript {
        running_polls,
        end,
        writer: Box::new(|memories| {
            let text: String = memories.iter().map(|(_, c)| c.as_str()).collect();
            let mut out: Vec<(String, String)> = wire_questions(&text)
                .iter()
                .map(|q| (format!("/answers/{}.json", q["id"].as_str().unwrap()), answer(q).to_string()))
                .collect();
            // Noise the resolver must ignore.
            out.push((
                "/answers/c-000000000000.json".into(),
                "{\"id\": \"c-000000000000\", \"unresolved\": true}".into(),
            ));
            out.push(("/notes/summary.md".into(), "I dreamed.".into()));
            out
        }),
    }
}

fn hosted(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn dreams_poll_read_every_page_map_answers_and_clean_up() {
    let standin = StandIn::start();
    standin.dream_with(answering_dream(2, DreamEnd::Completed));
    let cancel = CancelToken::new();
    let (client, waits) = client(&standin, &cancel);
    let resolver = DreamsResolver::new(client, "claude-opus-4-7", hosted(&["sesn_a", "sesn_b"]));
    let batch: Vec<Question> = (0..5).map(|n| question(n, &["sesn_b", "local-uuid"])).collect();
    let replies = ask(&resolver, &batch);
    for (q, r) in batch.iter().zip(&replies) {
        assert_eq!(r.as_ref().unwrap().answer.id, q.id);
    }
    // Two polls answered `running`: two waits, growing.
    assert_eq!(waits.taken(), vec![Duration::from_secs(2), Duration::from_secs(3)]);
    let requests = standin.requests();
    let routes: Vec<String> = requests.iter().map(|r| r.route()).collect();
    let memory_posts = routes.iter().filter(|r| r.ends_with("/memories") && r.starts_with("POST")).count();
    assert_eq!(memory_posts, 1, "the questions travel as one part");
    // Six answers at two per page: three pages.
    assert_eq!(routes.iter().filter(|r| r.starts_with("GET /v1/memory_stores/")).count(), 3);
    for r in &requests {
        let beta = r.header("anthropic-beta").unwrap();
        if r.path.starts_with("/v1/dreams") {
            assert_eq!(beta, "managed-agents-2026-04-01,dreaming-2026-04-21");
        } else {
            assert_eq!(beta, "agent-memory-2026-07-22");
        }
    }
    let create: Value =
        serde_json::from_str(&requests.iter().find(|r| r.route() == "POST /v1/dreams").unwrap().body)
            .unwrap();
    assert_eq!(create["inputs"][1], json!({"type": "sessions", "session_ids": ["sesn_b"]}));
    assert_eq!(create["model"], "claude-opus-4-7");
    assert_eq!(create["output_behavior"], json!({"type": "create_new"}));
    assert!(standin.stores().is_empty());
    assert!(standin.dreams()[0]["archived_at"].is_string());
    assert!(resolver.leftovers().list().is_empty());
    assert_eq!(resolver.usage().input_tokens, 1200);
    let shares: u64 = replies.iter().map(|r| r.as_ref().unwrap().usage.input_tokens).sum();
    assert_eq!(shares, 1200);
}

#[test]
fn dreams_take_the_most_cited_hundred_sessions() {
    let standin = StandIn::start();
    let cancel = CancelToken::new();
    let ids: Vec<String> = (0..150).map(|i| format!("sesn_{i:03}")).collect();
    let resolver = DreamsResolver::new(client(&standin, &cancel).0, "m", ids.iter().cloned().collect());
    let mut batch = vec![question(0, &ids.iter().map(String::as_str).collect::<Vec<_>>())];
    batch.push(question(1, &["sesn_149", "sesn_148"]));
    let chosen = resolver.sessions_for(&batch);
    assert_eq!(chosen.len(), 100);
    assert_eq!(&chosen[..3], ["sesn_148", "sesn_149", "sesn_000"]);
    assert!(standin.requests().is_empty());
}

#[test]
fn dreams_answers_for_another_id_or_unreadable_stay_open() {
    let standin = StandIn::start();
    standin.dream_with(DreamScript {
        running_polls: 0,
        end: DreamEnd::Completed,
        writer: Box::new(|memories| {
            let text: String = memories.iter().map(|(_, c)| c.as_str()).collect();
            let ids: Vec<String> =
                wire_questions(&text).iter().map(|q| q["id"].as_str().unwrap().to_owned()).collect();
            vec![
                (
                    format!("/answers/{}.json", ids[0]),
                    format!("{{\"id\": \"{}\", \"unresolved\": true, \"reason\": \"r\"}}", ids[1]),
                ),
                (format!("/answers/{}.json", ids[1]), "not json".into()),
            ]
        }),
    });
    let cancel = CancelToken::new();
    let resolver = DreamsResolver::new(client(&standin, &cancel).0, "m", hosted(&["sesn_a"]));
    let batch = vec![question(1, &["sesn_a"]), question(2, &[]), question(3, &[])];
    let mut sorted = batch.clone();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    let replies = ask(&resolver, &sorted);
    assert!(matches!(&replies[0], Err(OpenReason::WrongId { found }) if found == "q2"), "{replies:?}");
    assert!(
        matches!(&replies[1], Err(OpenReason::Malformed { message }) if message.starts_with("/answers/q2.json"))
    );
    assert!(matches!(&replies[2], Err(OpenReason::NoAnswer { .. })));
}

#[test]
fn a_cancelled_dream_is_canceled_archived_and_deleted() {
    let standin = StandIn::start();
    standin.dream_with(answering_dream(0, DreamEnd::Forever));
    let cancel = CancelToken::new();
    // Ctrl-C during the first wait between polls.
    struct CancelOnWait(CancelToken);
    impl Wait for CancelOnWait {
        fn wait(&self, _: Duration, cancel: &CancelToken) -> Result<(), Cancelled> {
            self.0.cancel();
            cancel.check()
        }
        fn jitter(&self) -> f64 {
            1.0
        }
    }
    let config = ClientConfig::new(&standin.url, ApiKey::new(KEY).unwrap()).unwrap();
    let client = Client::with_wait(config, cancel.clone(), Arc::new(CancelOnWait(cancel.clone())));
    let resolver = DreamsResolver::new(client, "m", hosted(&["sesn_a"])).with_polling(Polling::new(
        Duration::from_millis(1),
        Duration::from_millis(2),
        5,
    ));
    let err = resolver.resolve(&[question(1, &["sesn_a"])], &Watch::new(&Silent, &cancel, 1)).unwrap_err();
    assert_eq!(err.to_string(), "cancelled");
    let dream = &standin.dreams()[0];
    assert_eq!(dream["status"], "canceled");
    assert!(dream["archived_at"].is_string());
    assert!(standin.stores().is_empty());
}

#[test]
fn a_dream_that_never_ends_is_given_up_and_cleaned_up() {
    let standin = StandIn::start();
    standin.dream_with(answering_dream(0, DreamEnd::Forever));
    let cancel = CancelToken::new();
    let (client, _) = client(&standin, &cancel);
    let resolver = DreamsResolver::new(client, "m", hosted(&["sesn_a"])).with_polling(Polling::new(
        Duration::from_millis(1),
        Duration::from_millis(2),
        3,
    ));
    let replies = ask(&resolver, &[question(1, &["sesn_a"])]);
    assert!(
        matches!(&replies[0], Err(OpenReason::Backend { message, .. }) if message.contains("did not finish after 3 polls")),
        "{replies:?}"
    );
    assert_eq!(standin.dreams()[0]["status"], "canceled");
    assert!(standin.stores().is_empty());
}

/// A hundred questions go in at most five requests, each far under the
/// model's context; the first goes alone and writes the prompt cache, which
/// every later one reads.
#[test]
fn a_hundred_questions_take_five_requests_that_read_the_cache() {
    let standin = StandIn::start();
    standin.answer_with(|qs| qs.iter().map(answer).collect());
    let cancel = CancelToken::new();
    let resolver = AnthropicResolver::new(client(&standin, &cancel).0, AnthropicOptions::default());
    let questions: Vec<Question> = (0..100).map(|n| question(n, &["sesn_a"])).collect();
    let prepared: Vec<dreamwork::resolve::Prepared> = questions
        .iter()
        .map(|q| {
            let tokens =
                dreamwork::dream::count_tokens(&dreamwork::resolve::wire::joined(&Encoder::new().encode(q)))
                    .unwrap();
            dreamwork::resolve::Prepared { question: q.clone(), raw: q.clone(), tokens }
        })
        .collect();
    let mut asking = dreamwork::resolve::Asking::new(&resolver);
    let replies = asking.ask(&prepared, &Silent, &cancel).unwrap();
    asking.finish().unwrap();
    assert!(replies.iter().all(Result::is_ok));
    let requests = standin.requests();
    assert!(requests.len() <= 5, "{} requests", requests.len());
    for r in &requests {
        let tokens = dreamwork::dream::count_tokens(&r.body).unwrap();
        assert!(tokens < 100_000, "a request of {tokens} tokens");
    }
    let usage = resolver.usage();
    let prefix = usage.cache_creation_input_tokens;
    assert!(prefix > 0);
    assert_eq!(usage.cache_read_input_tokens, prefix * (requests.len() as u64 - 1), "{usage:?}");
    assert_eq!(asking.stats().wire.requests, requests.len() as u64);
}
