//! The `anthropic` resolver: asks Claude through the Messages API.
//!
//! Each request carries the fixed instructions ([`INSTRUCTIONS`], a
//! Markdown template beside this file) as a system block marked for prompt
//! caching, forces the one tool [`TOOL`] whose input is
//! `{"answers": [answer, …]}` ([`tool_schema`]), and sends the questions in
//! the user message in the compact [`wire`](super::wire) form: the table of
//! the memories and excerpts the request's questions cite, each once, then
//! one short line per question. Questions are packed in their order into
//! requests up to a token budget and a number of questions
//! ([`Resolver::batches`]); the first request of a dream goes alone, so
//! that it writes the prompt cache every later one reads; then the
//! dream's [`Asking`](super::Asking) runs up to
//! [`AnthropicOptions::parallel`] of them at once, and answers are matched
//! back by id, so neither the limit nor the order replies arrive in
//! changes an output byte.
//!
//! Promises: an answer naming a cluster that was not asked is dropped; a
//! question the reply does not answer (or answers with something that is no
//! answer) stays open with the reason, and the dream's
//! [`check`](super::check()) leaves open one that breaks the contract's
//! rules; a request that fails after its retries leaves its questions open
//! with the error, except a refused key (401/403), which stops the dream;
//! Ctrl-C stops new requests. Each answer carries its share of its
//! request's usage.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Mutex;

use serde::Deserialize;
use serde_json::{Value, json};

use super::http::{Call, Client, ReportedUsage};
use super::wire::{Encoder, joined};
use super::{Answered, OpenReason, Question, Reply, ResolveError, Resolver, Sent, Usage, Watch};

/// The default model: a current Sonnet.
pub const DEFAULT_MODEL: &str = "claude-sonnet-4-6";
/// The one tool every request forces.
pub const TOOL: &str = "resolve_clusters";
/// The fixed instructions (the system prompt), cached across requests.
pub const INSTRUCTIONS: &str = include_str!("anthropic.md");
/// The tool's description, as the model sees it.
const TOOL_DESCRIPTION: &str = "Records one answer per question of the user message (by its q id): how the \
members of each cluster (by their m ids) map onto output memories (kept, merged, superseded), the pattern a \
pattern question shows, or that a question stays unresolved, each with a one-sentence reason.";
const SCHEMA: &str = include_str!("resolve_clusters.schema.json");

/// The tool's input schema (`{"answers": [answer, …]}`).
pub fn tool_schema() -> Value {
    serde_json::from_str(SCHEMA).expect("resolve_clusters.schema.json is valid JSON (checked by a unit test)")
}

/// The body of one Messages request: `model`, `max_tokens`, the cached
/// system instructions, the forced tool, and `lines` (the wire lines of
/// the request's questions) as the user message.
pub fn request_body(model: &str, max_tokens: u32, lines: &[String]) -> Value {
    json!({
        "model": model,
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "system": [{"type": "text", "text": INSTRUCTIONS, "cache_control": {"type": "ephemeral"}}],
        "tools": [{"name": TOOL, "description": TOOL_DESCRIPTION, "input_schema": tool_schema()}],
        "tool_choice": {"type": "tool", "name": TOOL, "disable_parallel_tool_use": true},
        "messages": [{"role": "user", "content": [{"type": "text", "text": joined(lines)}]}],
    })
}

/// What a Messages reply holds for us.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ToolReply {
    /// The tool input's `answers`, each still raw JSON (one malformed answer
    /// must not sink the others).
    pub answers: Vec<Value>,
    /// The usage the server reported.
    pub usage: ReportedUsage,
    /// Why the model stopped (`tool_use`, `max_tokens`…), where given.
    pub stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Vec<Value>,
    #[serde(default)]
    usage: ReportedUsage,
    #[serde(default)]
    stop_reason: Option<String>,
}

/// Decodes a Messages reply: the input of its `resolve_clusters` tool call.
/// An error says what is missing (the usage, when readable, is kept).
pub(crate) fn decode_reply(bytes: &[u8]) -> Result<ToolReply, (String, ReportedUsage)> {
    let message: Message = serde_json::from_slice(bytes)
        .map_err(|e| (format!("the reply is not a Messages response: {e}"), ReportedUsage::default()))?;
    let usage = message.usage;
    let stop = message.stop_reason.clone();
    let fail = |what: String| {
        let why = match stop.as_deref() {
            Some(s) if s != "tool_use" => format!("{what} (the model stopped: {s})"),
            _ => what,
        };
        (why, usage)
    };
    let call = message
        .content
        .iter()
        .find(|b| {
            b.get("type").and_then(Value::as_str) == Some("tool_use")
                && b.get("name").and_then(Value::as_str) == Some(TOOL)
        })
        .ok_or_else(|| fail(format!("the reply holds no {TOOL} tool call")))?;
    let answers = match call.get("input").and_then(|i| i.get("answers")) {
        Some(Value::Array(answers)) => answers.clone(),
        // Models now and then send the list as a JSON string.
        Some(Value::String(text)) => match serde_json::from_str(text) {
            Ok(Value::Array(answers)) => answers,
            _ => return Err(fail(format!("the {TOOL} input has no \"answers\" list"))),
        },
        _ => return Err(fail(format!("the {TOOL} input has no \"answers\" list"))),
    };
    Ok(ToolReply { answers, usage, stop_reason: message.stop_reason })
}

/// Packs items of the given token sizes, in order, into batches of at most
/// `max_items` whose sizes add up to at most `budget` (an item larger than
/// the budget goes alone). Returns index ranges.
pub fn batches(sizes: &[u64], budget: u64, max_items: usize) -> Vec<Range<usize>> {
    let max_items = max_items.max(1);
    let mut out = Vec::new();
    let (mut start, mut used) = (0, 0u64);
    for (i, &size) in sizes.iter().enumerate() {
        if i > start && (used + size > budget || i - start >= max_items) {
            out.push(start..i);
            (start, used) = (i, 0);
        }
        used += size;
    }
    if start < sizes.len() {
        out.push(start..sizes.len());
    }
    out
}

/// How the `anthropic` resolver sends its questions.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AnthropicOptions {
    /// The model (`--model`).
    pub model: String,
    /// `max_tokens` of each request: room for the answers.
    pub max_tokens: u32,
    /// Question tokens per request at most, counting each question as if
    /// alone (a larger question goes alone): far under the model's context.
    pub budget: u64,
    /// Questions per request at most.
    pub max_questions: usize,
    /// Requests in flight at most.
    pub parallel: usize,
}

impl Default for AnthropicOptions {
    fn default() -> Self {
        AnthropicOptions {
            model: DEFAULT_MODEL.into(),
            max_tokens: 16_000,
            budget: 60_000,
            max_questions: 25,
            parallel: 4,
        }
    }
}

impl AnthropicOptions {
    /// The model.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// `max_tokens` of each request.
    pub fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = max_tokens;
        self
    }

    /// Question tokens per request at most.
    pub fn with_budget(mut self, budget: u64) -> Self {
        self.budget = budget;
        self
    }

    /// Questions per request at most.
    pub fn with_max_questions(mut self, max_questions: usize) -> Self {
        self.max_questions = max_questions;
        self
    }

    /// Requests in flight at most.
    pub fn with_parallel(mut self, parallel: usize) -> Self {
        self.parallel = parallel;
        self
    }
}

/// The Messages API as a [`Resolver`] (see the module doc).
#[derive(Debug)]
pub struct AnthropicResolver {
    client: Client,
    options: AnthropicOptions,
    usage: Mutex<Usage>,
    sent: Mutex<Sent>,
    /// Held while the first request is in flight; `true` once one answered.
    warm: Mutex<bool>,
}

impl AnthropicResolver {
    /// A resolver sending through `client`.
    pub fn new(client: Client, options: AnthropicOptions) -> Self {
        AnthropicResolver {
            client,
            options,
            usage: Mutex::new(Usage::default()),
            sent: Mutex::new(Sent::default()),
            warm: Mutex::new(false),
        }
    }

    fn add_usage(&self, usage: Usage) {
        self.usage.lock().unwrap_or_else(|p| p.into_inner()).add(&usage);
    }
}

const NAME: &str = "anthropic";

impl Resolver for AnthropicResolver {
    fn name(&self) -> super::ResolverName {
        super::ResolverName::Anthropic
    }

    fn model(&self) -> String {
        self.options.model.clone()
    }

    fn batches(&self, _questions: &[Question], tokens: &[u64]) -> Vec<Range<usize>> {
        batches(tokens, self.options.budget, self.options.max_questions)
    }

    fn parallelism(&self) -> usize {
        self.options.parallel.max(1)
    }

    fn resolve(&self, batch: &[Question], watch: &Watch<'_>) -> Result<Vec<Reply>, ResolveError> {
        if batch.is_empty() || watch.is_cancelled() {
            return Ok(Vec::new());
        }
        let mut encoder = Encoder::new();
        let lines: Vec<String> = batch.iter().flat_map(|q| encoder.encode(q)).collect();
        let body = request_body(&self.options.model, self.options.max_tokens, &lines);
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).add_request(&body.to_string());
        let all_open = |reason: OpenReason| batch.iter().map(|_| Err(reason.clone())).collect::<Vec<Reply>>();
        // Until a request has answered, the others wait: it writes the
        // prompt cache they read.
        let call = Call::post_json("/v1/messages", &[], &body);
        let mut warm = self.warm.lock().unwrap_or_else(|p| p.into_inner());
        let sent = if *warm {
            drop(warm);
            self.client.send(&call)
        } else {
            let sent = self.client.send(&call);
            *warm = sent.is_ok();
            drop(warm);
            sent
        };
        let replies = match sent {
            Err(e) if e.stops_dream() => return Err(e.into()),
            Err(e) => all_open(OpenReason::Backend { resolver: NAME.into(), message: e.to_string() }),
            Ok(bytes) => match decode_reply(&bytes) {
                Err((message, usage)) => {
                    self.add_usage(usage.into());
                    all_open(OpenReason::Malformed { message })
                }
                Ok(reply) => {
                    let usage = Usage::from(reply.usage);
                    self.add_usage(usage);
                    map_answers(batch, &encoder, &reply, usage)
                }
            },
        };
        watch.answered(batch.len());
        Ok(replies)
    }

    fn usage(&self) -> Usage {
        *self.usage.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sent(&self) -> Sent {
        *self.sent.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Maps the answers of one reply onto the questions of its request (put
/// with `encoder`), in order, expanding their short ids
/// ([`Encoder::answer`]). An answer whose id was not asked is dropped; the
/// first answer for an id counts; one that does not parse leaves its
/// question open with the reason; a question without one stays open
/// (saying so when the model ran out of tokens). The request's usage is
/// split over the answers.
pub(crate) fn map_answers(
    batch: &[Question],
    encoder: &Encoder,
    reply: &ToolReply,
    usage: Usage,
) -> Vec<Reply> {
    let mut by_id: BTreeMap<&str, &Value> = BTreeMap::new();
    for raw in &reply.answers {
        if let Some(id) = raw.get("id").and_then(Value::as_str).and_then(|id| encoder.question_id(id)) {
            by_id.entry(id).or_insert(raw);
        }
    }
    let mut replies: Vec<Reply> = batch
        .iter()
        .map(|q| match by_id.get(q.id.as_str()) {
            Some(raw) => encoder
                .answer(q, raw)
                .map(Answered::from)
                .map_err(|e| OpenReason::Malformed { message: format!("the answer for {}: {e}", q.id) }),
            None if reply.stop_reason.as_deref() == Some("max_tokens") => Err(OpenReason::Backend {
                resolver: NAME.into(),
                message: "the reply was cut off at max_tokens before answering it".into(),
            }),
            None => Err(OpenReason::NoAnswer { resolver: NAME.into() }),
        })
        .collect();
    let answered = replies.iter().filter(|r| r.is_ok()).count();
    let mut shares = usage.split(answered).into_iter();
    for a in replies.iter_mut().flatten() {
        a.usage = shares.next().unwrap_or_default();
    }
    replies
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_and_request_are_well_formed() {
        let schema = tool_schema();
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["required"][0], "answers");
        let body = request_body(DEFAULT_MODEL, 1000, &["{\"id\":\"c-1\"}".into(), "{\"id\":\"c-2\"}".into()]);
        assert_eq!(
            body["tool_choice"],
            json!({"type": "tool", "name": TOOL, "disable_parallel_tool_use": true})
        );
        assert_eq!(body["system"][0]["cache_control"]["type"], "ephemeral");
        assert_eq!(body["messages"][0]["content"][0]["text"], "{\"id\":\"c-1\"}\n{\"id\":\"c-2\"}\n");
        assert!(INSTRUCTIONS.contains(TOOL));
    }

    #[test]
    fn replies_decode_to_their_tool_input() {
        let reply = json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "m",
            "content": [{"type": "text", "text": "thinking aloud"},
                        {"type": "tool_use", "id": "t", "name": TOOL, "input": {"answers": [{"id": "c-1"}, 7]}}],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 900}
        });
        let r = decode_reply(reply.to_string().as_bytes()).unwrap();
        assert_eq!(r.answers, vec![json!({"id": "c-1"}), json!(7)]);
        assert_eq!(
            r.usage,
            ReportedUsage {
                input_tokens: 10,
                output_tokens: 5,
                cache_creation_input_tokens: 0,
                cache_read_input_tokens: 900
            }
        );

        let cut = json!({"content": [{"type": "text", "text": "…"}], "stop_reason": "max_tokens", "usage": {"input_tokens": 3}});
        let (why, usage) = decode_reply(cut.to_string().as_bytes()).unwrap_err();
        assert_eq!(why, "the reply holds no resolve_clusters tool call (the model stopped: max_tokens)");
        assert_eq!(usage.input_tokens, 3);
        assert!(decode_reply(b"{\"content\": [").is_err());
        let no_list = json!({"content": [{"type": "tool_use", "name": TOOL, "input": {"answers": {}}}]});
        assert!(decode_reply(no_list.to_string().as_bytes()).unwrap_err().0.contains("no \"answers\" list"));
    }

    #[test]
    fn batches_respect_budget_and_count() {
        assert_eq!(batches(&[], 10, 3), Vec::<Range<usize>>::new());
        assert_eq!(batches(&[4, 4, 4, 4], 10, 5), vec![0..2, 2..4]);
        assert_eq!(batches(&[1, 1, 1, 1, 1], 100, 2), vec![0..2, 2..4, 4..5]);
        assert_eq!(batches(&[50, 1, 50], 10, 5), vec![0..1, 1..2, 2..3]);
    }
}
