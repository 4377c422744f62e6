//! The hosted endpoints dreamwork syncs with, over the shared
//! [`Client`](crate::resolve::http::Client): memory stores and their
//! memories (`/v1/memory_stores/…`, beta `agent-memory-2026-07-22`) and the
//! events of Managed Agents sessions (`/v1/sessions/{id}/events`, beta
//! `managed-agents-2026-04-01`).
//!
//! Every response body goes through one of the `decode_*` functions, which
//! check what the rest of the module relies on (ids usable in a URL, a
//! 64-digit lower-case `content_sha256` that matches the content when the
//! content is there, unique ids and paths in a page) and say what is wrong
//! with a body rather than panic. Ids are checked before they are put into
//! a URL; query values are percent-encoded.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::{Value, json};

use super::HostedError;
use crate::memory::{Timestamp, content_sha256};
use crate::resolve::http::{Call, Client, HttpError, Method};

/// Beta header of the memory-store calls (alone: adding the managed-agents
/// one is refused).
pub const MEMORY_BETA: &[&str] = &["agent-memory-2026-07-22"];
/// Beta header of the session calls.
pub const SESSIONS_BETA: &[&str] = &["managed-agents-2026-04-01"];
/// Memories a `view=full` list page holds at most (the API's cap).
pub const FULL_PAGE: usize = 20;
/// Memories a `view=basic` list page holds at most.
pub const BASIC_PAGE: usize = 100;
/// Events asked for per page.
pub const EVENTS_PAGE: usize = 100;
/// The longest id accepted from a user or a server.
const MAX_ID: usize = 256;

/// A memory as the API shows it (the fields dreamwork uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedMemory {
    /// `mem_…`, kept across renames.
    pub id: String,
    /// Its path, as the server spells it.
    pub path: String,
    /// SHA-256 of the content's UTF-8 bytes, lower-case hex.
    pub content_sha256: String,
    /// The content (`None` in the `basic` view).
    pub content: Option<String>,
    /// `created_at`, when present and readable.
    pub created_at: Option<Timestamp>,
    /// `updated_at`, when present and readable.
    pub updated_at: Option<Timestamp>,
}

/// One page of a memory list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryPage {
    /// The memories of the page (folder entries left out), in the server's order.
    pub memories: Vec<HostedMemory>,
    /// The token of the next page, if any.
    pub next_page: Option<String>,
}

/// One page of session events.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPage {
    /// The events, each a JSON object, in the server's order.
    pub events: Vec<Value>,
    /// The token of the next page, if any.
    pub next_page: Option<String>,
}

/// How much of each memory a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListView {
    /// Path and `content_sha256`, no content; pages of [`BASIC_PAGE`].
    Basic,
    /// With content; pages of [`FULL_PAGE`].
    Full,
}

#[derive(Deserialize)]
struct RawPage {
    data: Vec<Value>,
    #[serde(default)]
    next_page: Option<String>,
}

#[derive(Deserialize)]
struct RawMemory {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    content_sha256: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

#[derive(Deserialize)]
struct RawCreated {
    id: String,
}

/// Whether `id` can be put into a URL path as it is: 1–256 ASCII letters,
/// digits, `_` and `-`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn valid_sha(sha: &str) -> bool {
    sha.len() == 64 && sha.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Decodes a memory object (`GET`/`POST …/memories/{id}`, `POST …/memories`).
pub fn decode_memory(bytes: &[u8]) -> Result<HostedMemory, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    memory_of(value)
}

fn memory_of(value: Value) -> Result<HostedMemory, String> {
    let raw: RawMemory = serde_json::from_value(value).map_err(|e| e.to_string())?;
    if raw.kind != "memory" {
        return Err(format!("expected a memory, found type {:?}", raw.kind));
    }
    let id = raw.id.ok_or("a memory without an \"id\"")?;
    if !valid_id(&id) {
        return Err(format!("memory id {id:?} is not an id"));
    }
    let path = raw.path.ok_or_else(|| format!("memory {id} has no \"path\""))?;
    let sha = raw.content_sha256.ok_or_else(|| format!("memory {id} ({path}) has no \"content_sha256\""))?;
    if !valid_sha(&sha) {
        return Err(format!("memory {id} ({path}): content_sha256 {sha:?} is not 64 lower-case hex digits"));
    }
    if let Some(content) = &raw.content
        && content_sha256(content) != sha
    {
        return Err(format!("memory {id} ({path}): content_sha256 does not match its content"));
    }
    // Times only order memories by recency: one the client cannot read is
    // left out rather than failing the whole answer.
    let time = |t: Option<String>| t.as_deref().and_then(Timestamp::parse_rfc3339);
    Ok(HostedMemory {
        id,
        path,
        content_sha256: sha,
        content: raw.content,
        created_at: time(raw.created_at),
        updated_at: time(raw.updated_at),
    })
}

/// Decodes a page of a memory list: `{data, next_page}`; `memory_prefix`
/// entries are skipped; an id or a path twice in the page is an error.
pub fn decode_memory_page(bytes: &[u8]) -> Result<MemoryPage, String> {
    let raw: RawPage = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let mut memories = Vec::with_capacity(raw.data.len());
    let (mut ids, mut paths) = (BTreeSet::new(), BTreeSet::new());
    for (i, item) in raw.data.into_iter().enumerate() {
        if item.get("type").and_then(Value::as_str) == Some("memory_prefix") {
            continue;
        }
        let memory = memory_of(item).map_err(|e| format!("data[{i}]: {e}"))?;
        if !ids.insert(memory.id.clone()) || !paths.insert(memory.path.clone()) {
            return Err(format!("data[{i}]: memory {} ({}) is listed twice", memory.id, memory.path));
        }
        memories.push(memory);
    }
    Ok(MemoryPage { memories, next_page: raw.next_page.filter(|p| !p.is_empty()) })
}

/// Decodes the id of a created memory store.
pub fn decode_created_store(bytes: &[u8]) -> Result<String, String> {
    let raw: RawCreated = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if !valid_id(&raw.id) {
        return Err(format!("memory store id {:?} is not an id", raw.id));
    }
    Ok(raw.id)
}

/// Decodes a page of session events: `{data, next_page}`, every event an
/// object with a string `type`.
pub fn decode_event_page(bytes: &[u8]) -> Result<EventPage, String> {
    let raw: RawPage = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    for (i, event) in raw.data.iter().enumerate() {
        if event.get("type").and_then(Value::as_str).is_none() {
            return Err(format!("data[{i}]: an event must be an object with a string \"type\""));
        }
    }
    Ok(EventPage { events: raw.data, next_page: raw.next_page.filter(|p| !p.is_empty()) })
}

/// `value` percent-encoded for a query string (unreserved bytes kept).
fn query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The memory-store and session endpoints over a [`Client`].
#[derive(Debug, Clone)]
pub struct Hosted {
    client: Client,
}

/// An update of a memory: new content and/or path, on the condition that
/// its content is still `expected` (the `content_sha256` precondition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update<'a> {
    /// The new content, if it changes.
    pub content: Option<&'a str>,
    /// The new path, if it moves.
    pub path: Option<&'a str>,
    /// The `content_sha256` the memory must still have.
    pub expected: &'a str,
}

impl Hosted {
    /// The endpoints over `client`.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    fn get<T>(
        &self,
        what: impl Fn() -> String,
        call: &Call<'_>,
        decode: fn(&[u8]) -> Result<T, String>,
    ) -> Result<T, HostedError> {
        let body = self
            .client
            .send(call)
            .map_err(|source| HostedError::Api { what: what(), source: Box::new(source) })?;
        decode(&body).map_err(|message| HostedError::BadAnswer {
            endpoint: format!(
                "{} {}{}",
                verb(call.method),
                self.client.base_url(),
                call.path.split('?').next().unwrap_or("")
            ),
            message,
        })
    }

    /// Every memory of `store`, page after page, in the server's order;
    /// `on_page` sees the count so far after each page.
    pub fn list_memories(
        &self,
        store: &str,
        view: ListView,
        on_page: &mut dyn FnMut(usize),
    ) -> Result<Vec<HostedMemory>, HostedError> {
        check_id("memory store", store)?;
        let (name, limit) = match view {
            ListView::Basic => ("basic", BASIC_PAGE),
            ListView::Full => ("full", FULL_PAGE),
        };
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let mut page: Option<String> = None;
        loop {
            let mut path = format!("/v1/memory_stores/{store}/memories?view={name}&limit={limit}");
            if let Some(p) = &page {
                path.push_str(&format!("&page={}", query_value(p)));
            }
            let call = Call::new(Method::Get, path, MEMORY_BETA);
            let listed = self.get(
                || format!("listing the memories of memory store {store}"),
                &call,
                decode_memory_page,
            )?;
            out.extend(listed.memories);
            on_page(out.len());
            match listed.next_page {
                Some(next) if !seen.insert(next.clone()) => {
                    return Err(HostedError::BadAnswer {
                        endpoint: format!("GET {}/v1/memory_stores/{store}/memories", self.client.base_url()),
                        message: format!(
                            "the page token {next:?} came back twice: the listing would never end"
                        ),
                    });
                }
                Some(next) => page = Some(next),
                None => return Ok(out),
            }
        }
    }

    /// One memory with its content; `None` when it no longer exists.
    pub fn memory(&self, store: &str, id: &str) -> Result<Option<HostedMemory>, HostedError> {
        check_id("memory store", store)?;
        check_id("memory", id)?;
        let call =
            Call::new(Method::Get, format!("/v1/memory_stores/{store}/memories/{id}?view=full"), MEMORY_BETA);
        match self.get(|| format!("reading memory {id} of memory store {store}"), &call, decode_memory) {
            Err(HostedError::Api { source, .. }) if source.status() == Some(404) => Ok(None),
            other => other.map(Some),
        }
    }

    /// Creates a memory at `path`.
    pub fn create_memory(&self, store: &str, path: &str, content: &str) -> Result<HostedMemory, HostedError> {
        check_id("memory store", store)?;
        let call = Call::post_json(
            format!("/v1/memory_stores/{store}/memories"),
            MEMORY_BETA,
            &json!({"path": path, "content": content}),
        );
        self.get(|| format!("creating {path} in memory store {store}"), &call, decode_memory)
    }

    /// Updates memory `id` under the `content_sha256` precondition.
    pub fn update_memory(
        &self,
        store: &str,
        id: &str,
        update: &Update<'_>,
    ) -> Result<HostedMemory, HostedError> {
        check_id("memory store", store)?;
        check_id("memory", id)?;
        let mut body = json!({"precondition": {"type": "content_sha256", "content_sha256": update.expected}});
        if let Some(content) = update.content {
            body["content"] = json!(content);
        }
        if let Some(path) = update.path {
            body["path"] = json!(path);
        }
        let call = Call::post_json(format!("/v1/memory_stores/{store}/memories/{id}"), MEMORY_BETA, &body);
        self.get(|| format!("updating memory {id} of memory store {store}"), &call, decode_memory)
    }

    /// Deletes memory `id` if its content is still `expected`.
    pub fn delete_memory(&self, store: &str, id: &str, expected: &str) -> Result<(), HostedError> {
        check_id("memory store", store)?;
        check_id("memory", id)?;
        let path = format!(
            "/v1/memory_stores/{store}/memories/{id}?expected_content_sha256={}",
            query_value(expected)
        );
        self.client.send(&Call::new(Method::Delete, path, MEMORY_BETA)).map(drop).map_err(|source| {
            HostedError::Api {
                what: format!("deleting memory {id} of memory store {store}"),
                source: Box::new(source),
            }
        })
    }

    /// Creates a memory store; returns its id.
    pub fn create_store(&self, name: &str, description: &str) -> Result<String, HostedError> {
        let body = json!({"name": name, "description": description, "metadata": {"created_by": "dreamwork"}});
        let call = Call::post_json("/v1/memory_stores", MEMORY_BETA, &body);
        self.get(|| format!("creating the memory store {name:?}"), &call, decode_created_store)
    }

    /// Every event of session `id`, oldest first, page after page.
    pub fn session_events(&self, id: &str) -> Result<Vec<Value>, HostedError> {
        check_id("session", id)?;
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let mut page: Option<String> = None;
        loop {
            let mut path = format!("/v1/sessions/{id}/events?order=asc&limit={EVENTS_PAGE}");
            if let Some(p) = &page {
                path.push_str(&format!("&page={}", query_value(p)));
            }
            let call = Call::new(Method::Get, path, SESSIONS_BETA);
            let listed =
                self.get(|| format!("reading the events of session {id}"), &call, decode_event_page)?;
            out.extend(listed.events);
            match listed.next_page {
                Some(next) if !seen.insert(next.clone()) => {
                    return Err(HostedError::BadAnswer {
                        endpoint: format!("GET {}/v1/sessions/{id}/events", self.client.base_url()),
                        message: format!(
                            "the page token {next:?} came back twice: the listing would never end"
                        ),
                    });
                }
                Some(next) => page = Some(next),
                None => return Ok(out),
            }
        }
    }
}

fn verb(method: Method) -> &'static str {
    match method {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Delete => "DELETE",
    }
}

fn check_id(what: &'static str, id: &str) -> Result<(), HostedError> {
    if valid_id(id) { Ok(()) } else { Err(HostedError::BadId { what, id: id.to_owned() }) }
}

/// Whether `e` is the API's answer to a stale `content_sha256` precondition.
pub fn is_precondition_failed(e: &HttpError) -> bool {
    matches!(e, HttpError::Status { status: 409, kind: Some(k), .. } if k == "memory_precondition_failed_error")
}

/// Whether `e` is the API's answer to a create or rename onto a taken path.
pub fn is_path_conflict(e: &HttpError) -> bool {
    matches!(e, HttpError::Status { status: 409, kind: Some(k), .. } if k == "memory_path_conflict_error")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(id: &str, path: &str, content: Option<&str>) -> Value {
        let sha = content_sha256(content.unwrap_or("x"));
        json!({"type": "memory", "id": id, "path": path, "content": content, "content_sha256": sha})
    }

    #[test]
    fn pages_decode_and_skip_folders() {
        let body = json!({"data": [memory("mem_1", "/a.md", Some("x")), {"type": "memory_prefix", "path": "/d/"},
                                   memory("mem_2", "/b.md", None)], "next_page": "page_2"});
        let page = decode_memory_page(body.to_string().as_bytes()).unwrap();
        assert_eq!(page.memories.len(), 2);
        assert_eq!(page.memories[1].content, None);
        assert_eq!(page.next_page.as_deref(), Some("page_2"));
        let last = json!({"data": [], "next_page": ""});
        assert_eq!(decode_memory_page(last.to_string().as_bytes()).unwrap().next_page, None);
    }

    #[test]
    fn bad_pages_say_what_is_wrong() {
        let bad = |v: Value| decode_memory_page(v.to_string().as_bytes()).unwrap_err();
        assert!(bad(json!({"data": "x"})).contains("invalid type"));
        assert!(
            bad(json!({"data": [{"type": "memory", "id": "mem_1", "path": "/a"}]}))
                .contains("no \"content_sha256\"")
        );
        let mut wrong = memory("mem_1", "/a.md", Some("x"));
        wrong["content"] = json!("y");
        assert_eq!(
            bad(json!({"data": [wrong]})),
            "data[0]: memory mem_1 (/a.md): content_sha256 does not match its content"
        );
        let twice = json!({"data": [memory("mem_1", "/a.md", None), memory("mem_1", "/b.md", None)]});
        assert!(bad(twice).contains("listed twice"));
        assert!(bad(json!({"data": [memory("../x", "/a.md", None)]})).contains("is not an id"));
        let mut upper = memory("mem_1", "/a.md", None);
        upper["content_sha256"] = json!("AB");
        assert!(bad(json!({"data": [upper]})).contains("64 lower-case hex"));
        assert!(decode_event_page(br#"{"data": [{"id": 1}]}"#).unwrap_err().contains("string \"type\""));
        assert!(decode_created_store(br#"{"id": "a/b"}"#).is_err());
    }

    #[test]
    fn ids_and_query_values_are_safe_in_urls() {
        assert!(valid_id("memstore_01ABC-x"));
        assert!(!valid_id("") && !valid_id("a/b") && !valid_id("a?b") && !valid_id(&"a".repeat(257)));
        assert_eq!(query_value("page_1/+= é"), "page_1%2F%2B%3D%20%C3%A9");
    }
}
