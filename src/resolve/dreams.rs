//! The `dreams` resolver: the hosted Dreams API over a temporary memory
//! store that holds only the questions.
//!
//! One dream per batch (by default all questions): create a temporary
//! memory store, write the batch's questions in the compact
//! [`wire`](super::wire) form (each memory and excerpt once, then one short
//! line per question) as `/questions/part-<n>.jsonl` memories, each under
//! the hosted size limit, so the evidence travels inside the store; create
//! a dream over it and the hosted sessions the questions cite, poll it to
//! a terminal status, read the answers it wrote into its output store at
//! `/answers/<q id>.json` (one JSON answer each, as [`INSTRUCTIONS`] asks),
//! then archive the dream and delete both stores.
//!
//! Promises:
//! - the clean-up runs whatever happened: on success, on a failed or
//!   canceled dream, on an HTTP error, and on Ctrl-C (the dream is canceled
//!   first). It uses a client Ctrl-C does not stop, so only a second Ctrl-C
//!   skips it; what it could not delete is listed by
//!   [`leftovers`](DreamsResolver::leftovers) with the request to finish
//!   the job by hand;
//! - a dream needs 1–100 hosted session ids: those of the Managed Agents
//!   sessions the questions cite (the most cited first). When no question
//!   cites one, nothing is sent and the error points to `--resolver
//!   anthropic`;
//! - an answer memory is read only at `/answers/<id>.json` for an id that
//!   was asked, and must carry that id; anything else the dream wrote is
//!   ignored. A question without a valid answer stays open with the reason;
//! - memory-store calls carry only the `agent-memory` beta (with the
//!   managed-agents one they are refused), dream calls the `managed-agents`
//!   and `dreaming` betas.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::session::SessionFormat;

use super::http::{Call, Client, HttpError, Method, ReportedUsage};
use super::wire::Encoder;
use super::{Answered, OpenReason, Question, Reply, ResolveError, Resolver, Sent, Usage, Watch};

/// The default model (a dream runs on Opus 4.7 or Sonnet 4.6).
pub const DEFAULT_MODEL: &str = "claude-sonnet-4-6";
/// The instructions every dream gets (≤ 4,096 characters).
pub const INSTRUCTIONS: &str = include_str!("dreams.md");
/// Beta headers of the memory-store calls.
pub const MEMORY_BETA: &[&str] = &["agent-memory-2026-07-22"];
/// Beta headers of the dream calls.
pub const DREAMS_BETA: &[&str] = &["managed-agents-2026-04-01", "dreaming-2026-04-21"];
/// Session ids a dream takes at most.
pub const MAX_SESSIONS: usize = 100;
/// The largest memory content the hosted stores take.
const MAX_MEMORY_BYTES: usize = 102_400;
/// Where the questions go in the temporary store.
const QUESTIONS_DIR: &str = "/questions/";
/// Where the dream writes its answers.
const ANSWERS_DIR: &str = "/answers/";
const NAME: &str = "dreams";

/// How often to poll a dream, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Polling {
    /// The first wait between polls (grows by half each poll).
    pub first: Duration,
    /// The longest wait between polls.
    pub max: Duration,
    /// Polls before the dream is given up on (and canceled).
    pub max_polls: u32,
}

impl Polling {
    /// Waits from `first` growing to `max` between polls, for at most
    /// `max_polls` polls.
    pub fn new(first: Duration, max: Duration, max_polls: u32) -> Self {
        Polling { first, max, max_polls }
    }
}

impl Default for Polling {
    fn default() -> Self {
        // 2 s growing to 20 s: about two hours of polling in all.
        Polling { first: Duration::from_secs(2), max: Duration::from_secs(20), max_polls: 400 }
    }
}

/// The hosted Dreams API as a [`Resolver`] (see the module doc).
#[derive(Debug)]
pub struct DreamsResolver {
    client: Client,
    model: String,
    hosted: BTreeSet<String>,
    polling: Polling,
    usage: Mutex<Usage>,
    sent: Mutex<Sent>,
    leftovers: Leftovers,
}

/// What a [`DreamsResolver`]'s clean-up could not remove, one sentence
/// each naming the request that would remove it. A handle: clones share
/// the list, so it can be read after the resolver was handed on.
#[derive(Debug, Clone, Default)]
pub struct Leftovers(Arc<Mutex<Vec<String>>>);

impl Leftovers {
    /// The sentences so far (empty when every clean-up succeeded).
    pub fn list(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn extend(&self, more: Vec<String>) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend(more);
    }
}

impl DreamsResolver {
    /// A resolver sending dreams through `client`, run by `model`, over the
    /// `hosted` session ids the questions may cite (the Managed Agents
    /// sessions known to the store).
    pub fn new(client: Client, model: impl Into<String>, hosted: BTreeSet<String>) -> Self {
        DreamsResolver {
            client,
            model: model.into(),
            hosted,
            polling: Polling::default(),
            usage: Mutex::new(Usage::default()),
            sent: Mutex::new(Sent::default()),
            leftovers: Leftovers::default(),
        }
    }

    /// The same with another polling schedule.
    pub fn with_polling(mut self, polling: Polling) -> Self {
        self.polling = polling;
        self
    }

    /// A handle on what the clean-up could not remove.
    pub fn leftovers(&self) -> Leftovers {
        self.leftovers.clone()
    }

    /// The hosted session ids to pass for `questions`: those the excerpts
    /// cite, most cited first (ties by id), at most [`MAX_SESSIONS`].
    pub fn sessions_for(&self, questions: &[Question]) -> Vec<String> {
        let mut cited: BTreeMap<&str, usize> = BTreeMap::new();
        for e in questions.iter().flat_map(|q| &q.excerpts) {
            if self.hosted.contains(&e.session) {
                *cited.entry(e.session.as_str()).or_default() += 1;
            }
        }
        let mut ranked: Vec<(&str, usize)> = cited.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        ranked.into_iter().take(MAX_SESSIONS).map(|(id, _)| id.to_owned()).collect()
    }
}

/// The hosted session ids among sessions given as (format, external id):
/// the external ids of those imported from Managed Agents events.
pub fn hosted_ids<'a>(
    sessions: impl IntoIterator<Item = (SessionFormat, Option<&'a str>)>,
) -> BTreeSet<String> {
    sessions
        .into_iter()
        .filter(|(format, _)| *format == SessionFormat::ManagedAgents)
        .filter_map(|(_, id)| id.filter(|id| !id.is_empty()).map(str::to_owned))
        .collect()
}

impl Resolver for DreamsResolver {
    fn name(&self) -> super::ResolverName {
        super::ResolverName::Dreams
    }

    fn model(&self) -> String {
        self.model.clone()
    }

    fn resolve(&self, batch: &[Question], watch: &Watch<'_>) -> Result<Vec<Reply>, ResolveError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let sessions = self.sessions_for(batch);
        if sessions.is_empty() {
            return Err(ResolveError::Backend(format!(
                "the hosted Dreams API needs 1-{MAX_SESSIONS} Managed Agents session ids, and none of the {} \
                 questions cites a session imported from Managed Agents events (with its session id); \
                 use --resolver anthropic, which needs none",
                batch.len()
            )));
        }
        let mut run = Run {
            client: &self.client,
            model: &self.model,
            polling: self.polling,
            stores: Vec::new(),
            dream: None,
            sent: Sent::default(),
        };
        let result = run.go(batch, &sessions, watch);
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).add(&run.sent);
        let (usage, left) = run.clean_up(&self.client.detached());
        self.usage.lock().unwrap_or_else(|p| p.into_inner()).add(&usage);
        self.leftovers.extend(left);
        let mut replies = result?;
        let answered = replies.iter().filter(|r| r.is_ok()).count();
        let mut shares = usage.split(answered).into_iter();
        for reply in replies.iter_mut().flatten() {
            reply.usage = shares.next().unwrap_or_default();
        }
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

/// A dream as the API shows it (the fields used).
#[derive(Debug, Deserialize)]
struct DreamState {
    id: String,
    status: String,
    #[serde(default)]
    outputs: Vec<OutputRef>,
    #[serde(default)]
    usage: Option<ReportedUsage>,
    #[serde(default)]
    error: Option<DreamFailure>,
}

#[derive(Debug, Deserialize)]
struct OutputRef {
    #[serde(default)]
    memory_store_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DreamFailure {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    message: String,
}

#[derive(Debug, Deserialize)]
struct Created {
    id: String,
}

/// One page of a memory list.
#[derive(Debug, Deserialize)]
pub(crate) struct ListPage {
    /// The memories (and, with a depth, prefixes) of the page.
    pub data: Vec<ListedMemory>,
    /// The next page's token, if any.
    #[serde(default)]
    pub next_page: Option<String>,
}

/// A listed memory (`view=full`): its path and content.
#[derive(Debug, Deserialize)]
pub(crate) struct ListedMemory {
    /// `memory`, or `memory_prefix` for a folder.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Its path.
    #[serde(default)]
    pub path: String,
    /// Its content (null in the `basic` view).
    #[serde(default)]
    pub content: Option<String>,
}

fn is_terminal(status: &str) -> bool {
    matches!(status, "completed" | "failed" | "canceled")
}

/// The temporary things of one dream, to be removed at the end.
struct Run<'a> {
    client: &'a Client,
    model: &'a str,
    polling: Polling,
    /// Every store created for or by the dream, input first.
    stores: Vec<String>,
    /// The dream, once created, with its last known state.
    dream: Option<DreamState>,
    /// What was written for the model (question parts, instructions).
    sent: Sent,
}

/// A failure of the run: stop the dream (cancelled, key refused) or leave
/// every question open with the message.
enum Stop {
    Dream(ResolveError),
    Open(String),
}

impl From<HttpError> for Stop {
    fn from(e: HttpError) -> Self {
        if e.stops_dream() { Stop::Dream(e.into()) } else { Stop::Open(e.to_string()) }
    }
}

fn backend(message: impl Into<String>) -> OpenReason {
    OpenReason::Backend { resolver: NAME.into(), message: message.into() }
}

impl Run<'_> {
    fn go(
        &mut self,
        batch: &[Question],
        sessions: &[String],
        watch: &Watch<'_>,
    ) -> Result<Vec<Reply>, ResolveError> {
        match self.ask(batch, sessions, watch) {
            Ok(replies) => Ok(replies),
            Err(Stop::Dream(e)) => Err(e),
            Err(Stop::Open(message)) => Ok(batch.iter().map(|_| Err(backend(message.clone()))).collect()),
        }
    }

    fn ask(
        &mut self,
        batch: &[Question],
        sessions: &[String],
        watch: &Watch<'_>,
    ) -> Result<Vec<Reply>, Stop> {
        let first = &batch[0].id;
        let store: Created = self.client.json(&Call::post_json(
            "/v1/memory_stores",
            MEMORY_BETA,
            &json!({
                "name": format!("dreamwork questions {first} (temporary)"),
                "description": "Temporary: questions dreamwork could not settle on the device. Deleted when the dream ends.",
                "metadata": {"created_by": "dreamwork", "questions": batch.len().to_string()},
            }),
        ))?;
        self.stores.push(store.id.clone());
        let mut replies: Vec<Option<Reply>> = batch.iter().map(|_| None).collect();
        let mut encoder = Encoder::new();
        let mut parts: Vec<String> = Vec::new();
        let mut part = String::new();
        for (q, reply) in batch.iter().zip(&mut replies) {
            let lines = encoder.encode(q);
            if let Some(long) = lines.iter().find(|l| l.len() + 1 > MAX_MEMORY_BYTES) {
                *reply = Some(Err(backend(format!(
                    "a line of the question is {} bytes, more than a hosted memory holds ({MAX_MEMORY_BYTES})",
                    long.len()
                ))));
                continue;
            }
            for line in lines {
                if part.len() + line.len() + 1 > MAX_MEMORY_BYTES {
                    parts.push(std::mem::take(&mut part));
                }
                part.push_str(&line);
                part.push('\n');
            }
        }
        if !part.is_empty() {
            parts.push(part);
        }
        for (n, content) in parts.iter().enumerate() {
            let path = format!("/v1/memory_stores/{}/memories", store.id);
            let memory = json!({"path": format!("{QUESTIONS_DIR}part-{}.jsonl", n + 1), "content": content});
            self.sent.add_text(content);
            self.client.send(&Call::post_json(path, MEMORY_BETA, &memory))?;
        }
        if !parts.is_empty() {
            let answers = self.dream(&store.id, sessions, watch)?;
            let mapped = map_answers(batch, &encoder, &answers);
            for (slot, answer) in replies.iter_mut().zip(mapped) {
                if slot.is_none() {
                    *slot = Some(answer);
                }
            }
        }
        Ok(replies
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(OpenReason::NoAnswer { resolver: NAME.into() })))
            .collect())
    }

    /// Creates the dream over `store`, polls it to its end and returns the
    /// memories of its output store (path, content).
    fn dream(
        &mut self,
        store: &str,
        sessions: &[String],
        watch: &Watch<'_>,
    ) -> Result<Vec<(String, String)>, Stop> {
        let body = json!({
            "inputs": [{"type": "memory_store", "memory_store_id": store},
                       {"type": "sessions", "session_ids": sessions}],
            "model": self.model,
            "instructions": INSTRUCTIONS,
            "output_behavior": {"type": "create_new"},
        });
        self.sent.add_request(INSTRUCTIONS);
        let created: DreamState = self.client.json(&Call::post_json("/v1/dreams", DREAMS_BETA, &body))?;
        let id = created.id.clone();
        self.note(created);
        let mut delay = self.polling.first;
        for poll in 0.. {
            if watch.is_cancelled() {
                return Err(Stop::Dream(ResolveError::Cancelled));
            }
            let state: DreamState =
                self.client.json(&Call::new(Method::Get, format!("/v1/dreams/{id}"), DREAMS_BETA))?;
            let status = state.status.clone();
            let failure = state.error.as_ref().map(|e| format!("{}: {}", e.kind, e.message));
            self.note(state);
            match status.as_str() {
                "completed" => break,
                "failed" => {
                    let why = failure.unwrap_or_else(|| "no reason given".into());
                    return Err(Stop::Open(format!("the hosted dream {id} failed ({why})")));
                }
                "canceled" => return Err(Stop::Open(format!("the hosted dream {id} was canceled"))),
                _ => {}
            }
            if poll + 1 >= self.polling.max_polls {
                return Err(Stop::Open(format!(
                    "the hosted dream {id} did not finish after {} polls",
                    self.polling.max_polls
                )));
            }
            if self.client.pause(delay).is_err() || watch.is_cancelled() {
                return Err(Stop::Dream(ResolveError::Cancelled));
            }
            delay = (delay + delay / 2).min(self.polling.max);
        }
        let Some(output) = self.stores.get(1).cloned() else {
            return Err(Stop::Open(format!("the hosted dream {id} completed without an output store")));
        };
        self.list(&output)
    }

    /// Keeps the dream's latest state and any new output store.
    fn note(&mut self, state: DreamState) {
        for out in state.outputs.iter().filter_map(|o| o.memory_store_id.as_ref()) {
            if !self.stores.contains(out) {
                self.stores.push(out.clone());
            }
        }
        self.dream = Some(state);
    }

    /// Every answer memory of `store` (path, content), page by page.
    fn list(&self, store: &str) -> Result<Vec<(String, String)>, Stop> {
        let mut out = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let mut path =
                format!("/v1/memory_stores/{store}/memories?view=full&limit=20&path_prefix={ANSWERS_DIR}");
            if let Some(p) = &page {
                path.push_str("&page=");
                path.push_str(p);
            }
            let listed: ListPage = self.client.json(&Call::new(Method::Get, path, MEMORY_BETA))?;
            out.extend(
                listed
                    .data
                    .into_iter()
                    .filter(|m| m.kind != "memory_prefix")
                    .map(|m| (m.path, m.content.unwrap_or_default())),
            );
            match listed.next_page {
                Some(next) if page.as_deref() != Some(next.as_str()) && !next.is_empty() => page = Some(next),
                _ => return Ok(out),
            }
        }
    }

    /// Cancels the dream if it still runs, archives it, deletes the stores.
    /// Returns the dream's last reported usage and what could not be removed.
    fn clean_up(mut self, client: &Client) -> (Usage, Vec<String>) {
        let mut left = Vec::new();
        if let Some(id) = self.dream.as_ref().map(|d| d.id.clone()) {
            if !self.dream.as_ref().is_some_and(|d| is_terminal(&d.status)) {
                let cancel = client.json::<DreamState>(&Call::new(
                    Method::Post,
                    format!("/v1/dreams/{id}/cancel"),
                    DREAMS_BETA,
                ));
                match cancel {
                    Ok(state) => self.note(state),
                    Err(e) => left.push(format!("could not cancel the hosted dream {id} ({e}); cancel it with POST /v1/dreams/{id}/cancel")),
                }
                let mut delay = self.polling.first;
                for _ in 0..10 {
                    if self.dream.as_ref().is_some_and(|d| is_terminal(&d.status)) {
                        break;
                    }
                    let _ = client.pause(delay);
                    delay = (delay * 2).min(self.polling.max);
                    match client.json::<DreamState>(&Call::new(
                        Method::Get,
                        format!("/v1/dreams/{id}"),
                        DREAMS_BETA,
                    )) {
                        Ok(state) => self.note(state),
                        Err(_) => break,
                    }
                }
            }
            if self.dream.as_ref().is_some_and(|d| is_terminal(&d.status)) {
                let archive =
                    client.send(&Call::new(Method::Post, format!("/v1/dreams/{id}/archive"), DREAMS_BETA));
                if let Err(e) = archive {
                    left.push(format!("could not archive the hosted dream {id} ({e}); archive it with POST /v1/dreams/{id}/archive"));
                }
            } else {
                left.push(format!(
                    "the hosted dream {id} did not stop; cancel it with POST /v1/dreams/{id}/cancel"
                ));
            }
        }
        // Outputs first: they were cloned from the input.
        for store in self.stores.iter().rev() {
            if let Err(e) =
                client.send(&Call::new(Method::Delete, format!("/v1/memory_stores/{store}"), MEMORY_BETA))
            {
                left.push(format!(
                    "could not delete the temporary memory store {store} ({e}); delete it with DELETE /v1/memory_stores/{store}"
                ));
            }
        }
        let usage = self.dream.as_ref().and_then(|d| d.usage).map(Usage::from).unwrap_or_default();
        (usage, left)
    }
}

/// Maps the memories of a dream's output store (path, content) to replies
/// for `asked` (put with `encoder`), in order: the answer at
/// `/answers/<id>.json` of each asked id (short or full), parsed, carrying
/// that id and expanded ([`Encoder::answer`]). Other memories are ignored.
pub(crate) fn map_answers(
    asked: &[Question],
    encoder: &Encoder,
    memories: &[(String, String)],
) -> Vec<Reply> {
    let mut found: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for (path, content) in memories {
        let id = path.strip_prefix(ANSWERS_DIR).and_then(|rest| rest.strip_suffix(".json"));
        if let Some((full, named)) = id.and_then(|id| Some((encoder.question_id(id)?, id))) {
            found.entry(full).or_insert((named, content));
        }
    }
    asked
        .iter()
        .map(|q| {
            let Some((named, content)) = found.get(q.id.as_str()) else {
                return Err(OpenReason::NoAnswer { resolver: NAME.into() });
            };
            let malformed =
                |e: String| OpenReason::Malformed { message: format!("{ANSWERS_DIR}{named}.json: {e}") };
            let value: serde_json::Value =
                serde_json::from_str(content.trim()).map_err(|e| malformed(e.to_string()))?;
            let id = value.get("id").and_then(serde_json::Value::as_str).unwrap_or_default();
            if encoder.question_id(id) != Some(q.id.as_str()) {
                return Err(OpenReason::WrongId { found: id.to_owned() });
            }
            encoder.answer(q, &value).map(Answered::from).map_err(malformed)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_fit_a_dream() {
        assert!(INSTRUCTIONS.chars().count() <= 4096, "{} characters", INSTRUCTIONS.chars().count());
        assert!(INSTRUCTIONS.contains(ANSWERS_DIR) && INSTRUCTIONS.contains(QUESTIONS_DIR));
    }
}
