//! A stand-in for the subset of Anthropic's API the remote resolvers and
//! the hosted sync use, on a loopback port: `POST /v1/messages`, memory
//! stores and their memories (list, create, retrieve, update and delete
//! with `content_sha256` preconditions), dreams (create, get, cancel,
//! archive) and the events of sessions.
//!
//! It answers from scripts the test sets (an answerer for the Messages
//! API, a [`DreamScript`] for dreams), injects [`Fault`]s per route, and
//! records every request (method, path, headers, body) so a test can check
//! what left the "machine". It checks what the real API checks where a
//! client could get it wrong: the API key, `anthropic-version`, the beta
//! headers of each API (a memory-store call carrying the managed-agents
//! beta is a 400, as the docs say), the dream's inputs and the size of its
//! instructions.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};

/// The key the stand-in accepts.
pub const KEY: &str = "sk-ant-api03-standin-KEY-0123456789";

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET`, `POST`, `DELETE`.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query (after `?`), or empty.
    pub query: String,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl Recorded {
    /// The value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// `METHOD /path`, as faults are keyed.
    pub fn route(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// A fault injected into the next request of a route.
#[derive(Debug, Clone)]
pub enum Fault {
    /// An error status with the API's error body and optional headers
    /// (`retry-after`, `retry-after-ms`, `x-should-retry`).
    Status(u16, Vec<(&'static str, String)>),
    /// Wait this long, then answer normally (a client with a shorter
    /// timeout gives up first).
    Delay(Duration),
    /// A 200 whose body is not JSON.
    Malformed,
    /// A 200 with this body.
    Body(String),
}

/// How the dreams the stand-in runs end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DreamEnd {
    /// Writes the answers and completes.
    Completed,
    /// Fails (after cloning its input: the failed dream has an output store).
    Failed,
    /// Is canceled by someone else.
    Canceled,
    /// Runs until the client cancels it.
    Forever,
}

/// What a dream does: how many polls it stays running, how it ends, and
/// which memories it writes into its output store given the input store's
/// memories (path, content).
pub struct DreamScript {
    /// GETs answered `running` before the end.
    pub running_polls: u32,
    /// How it ends.
    pub end: DreamEnd,
    /// The memories the dream writes (path, content), from the input's.
    pub writer: Writer,
}

/// Memories (path, content) a dream writes, from its input's.
pub type Writer = Box<dyn Fn(&[(String, String)]) -> Vec<(String, String)> + Send>;

/// Computes the `resolve_clusters` answers from the questions of one
/// Messages request (the JSON lines of its user message).
pub type Answerer = Box<dyn Fn(&[Value]) -> Vec<Value> + Send>;

struct Store {
    name: String,
    /// path -> (id, content).
    memories: BTreeMap<String, (String, String)>,
}

impl Store {
    /// The path of memory `id`.
    fn path_of(&self, id: &str) -> Option<String> {
        self.memories.iter().find(|(_, (mid, _))| mid == id).map(|(p, _)| p.clone())
    }
}

struct DreamRun {
    dream: Value,
    polls: u32,
}

struct State {
    requests: Vec<Recorded>,
    faults: BTreeMap<String, VecDeque<Fault>>,
    always: BTreeMap<String, Fault>,
    undeletable: bool,
    answerer: Answerer,
    script: DreamScript,
    stores: BTreeMap<String, Store>,
    dreams: BTreeMap<String, DreamRun>,
    next: u64,
    page_size: usize,
    /// Session id -> events.
    sessions: BTreeMap<String, Vec<Value>>,
    /// Prompt prefixes (tools and system) written to the simulated cache.
    cached: std::collections::BTreeSet<String>,
}

/// The running stand-in; stops when dropped.
pub struct StandIn {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl StandIn {
    /// Starts a stand-in that answers every question unresolved and runs
    /// dreams that complete at once writing nothing.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let state = Arc::new(Mutex::new(State {
            requests: Vec::new(),
            faults: BTreeMap::new(),
            always: BTreeMap::new(),
            undeletable: false,
            answerer: Box::new(|questions| {
                questions
                    .iter()
                    .map(|q| json!({"id": q["id"], "unresolved": true, "reason": "no script"}))
                    .collect()
            }),
            script: DreamScript {
                running_polls: 0,
                end: DreamEnd::Completed,
                writer: Box::new(|_| Vec::new()),
            },
            stores: BTreeMap::new(),
            dreams: BTreeMap::new(),
            next: 0,
            page_size: 2,
            sessions: BTreeMap::new(),
            cached: Default::default(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let state = state.clone();
                            std::thread::spawn(move || serve(stream, &state));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        Self { url, state, stop, thread: Some(thread) }
    }

    /// Sets the Messages answerer.
    pub fn answer_with(&self, answerer: impl Fn(&[Value]) -> Vec<Value> + Send + 'static) {
        lock(&self.state).answerer = Box::new(answerer);
    }

    /// Sets the dream script.
    pub fn dream_with(&self, script: DreamScript) {
        lock(&self.state).script = script;
    }

    /// Queues `fault` for the next request of `route` (`POST /v1/messages`;
    /// `{id}` segments are written as `*`: `GET /v1/dreams/*`).
    pub fn fault(&self, route: &str, fault: Fault) {
        lock(&self.state).faults.entry(route.to_owned()).or_default().push_back(fault);
    }

    /// Injects `fault` into every request of `route` (after the queued ones).
    pub fn fault_always(&self, route: &str, fault: Fault) {
        lock(&self.state).always.insert(route.to_owned(), fault);
    }

    /// Makes every memory-store deletion fail (500, then still 500…).
    pub fn refuse_deletes(&self) {
        lock(&self.state).undeletable = true;
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.state).requests.clone()
    }

    /// The ids of the memory stores that exist now.
    pub fn stores(&self) -> Vec<String> {
        lock(&self.state).stores.keys().cloned().collect()
    }

    /// Pages hold at most `n` items (and at most what `limit` and the
    /// view allow: 20 with contents, 100 without).
    pub fn page_size(&self, n: usize) {
        lock(&self.state).page_size = n;
    }

    /// Creates a memory store named `name` as the Console would; its id.
    pub fn add_store(&self, name: &str) -> String {
        let mut s = lock(&self.state);
        let id = new_id(&mut s, "memstore");
        s.stores.insert(id.clone(), Store { name: name.to_owned(), memories: BTreeMap::new() });
        id
    }

    /// An agent writes `content` at `path` of `store` (creating or
    /// replacing); returns the memory's id.
    pub fn agent_write(&self, store: &str, path: &str, content: &str) -> String {
        let mut s = lock(&self.state);
        let existing = s.stores.get(store).and_then(|st| st.memories.get(path)).map(|(id, _)| id.clone());
        let id = match existing {
            Some(id) => id,
            None => new_id(&mut s, "mem"),
        };
        let st = s.stores.get_mut(store).expect("the store exists");
        st.memories.insert(path.to_owned(), (id.clone(), content.to_owned()));
        id
    }

    /// An agent moves the memory at `from` to `to`.
    pub fn agent_rename(&self, store: &str, from: &str, to: &str) {
        let mut s = lock(&self.state);
        let st = s.stores.get_mut(store).expect("the store exists");
        let memory = st.memories.remove(from).expect("the memory exists");
        st.memories.insert(to.to_owned(), memory);
    }

    /// An agent deletes the memory at `path`.
    pub fn agent_delete(&self, store: &str, path: &str) {
        let mut s = lock(&self.state);
        s.stores.get_mut(store).expect("the store exists").memories.remove(path);
    }

    /// The memories of `store`: path -> content.
    pub fn memories(&self, store: &str) -> BTreeMap<String, String> {
        let s = lock(&self.state);
        s.stores
            .get(store)
            .map(|st| st.memories.iter().map(|(p, (_, c))| (p.clone(), c.clone())).collect())
            .unwrap_or_default()
    }

    /// The ids of the memories of `store`: path -> id.
    pub fn memory_ids(&self, store: &str) -> BTreeMap<String, String> {
        let s = lock(&self.state);
        s.stores
            .get(store)
            .map(|st| st.memories.iter().map(|(p, (id, _))| (p.clone(), id.clone())).collect())
            .unwrap_or_default()
    }

    /// The name of `store`.
    pub fn store_name(&self, store: &str) -> Option<String> {
        lock(&self.state).stores.get(store).map(|st| st.name.clone())
    }

    /// Sets the events of session `id`.
    pub fn add_session(&self, id: &str, events: Vec<Value>) {
        lock(&self.state).sessions.insert(id.to_owned(), events);
    }

    /// The dreams as they stand now.
    pub fn dreams(&self) -> Vec<Value> {
        lock(&self.state).dreams.values().map(|d| d.dream.clone()).collect()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The route a request's faults are filed under: ids (`memstore_…`,
/// `drm_…`, `mem_…`) become `*`.
fn route_key(method: &str, path: &str) -> String {
    let is_id = |s: &str| ["memstore_", "drm_", "mem_", "sesn_"].iter().any(|p| s.starts_with(p));
    let segments: Vec<&str> = path.split('/').map(|s| if is_id(s) { "*" } else { s }).collect();
    format!("{method} {}", segments.join("/"))
}

struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

fn reply(status: u16, body: Value) -> Reply {
    Reply { status, headers: Vec::new(), body: body.to_string().into_bytes() }
}

fn error(status: u16, kind: &str, message: &str) -> Reply {
    reply(
        status,
        json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_standin"}),
    )
}

fn serve(stream: TcpStream, state: &Mutex<State>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    let Some(request) = read_request(&mut reader) else { return };
    let fault = {
        let mut s = lock(state);
        s.requests.push(request.clone());
        let route = route_key(&request.method, &request.path);
        let queued = s.faults.get_mut(&route).and_then(VecDeque::pop_front);
        queued.or_else(|| s.always.get(&route).cloned())
    };
    let answer = match fault {
        Some(Fault::Status(status, headers)) => {
            let kind = match status {
                429 => "rate_limit_error",
                529 => "overloaded_error",
                409 => "conflict_error",
                s if s >= 500 => "api_error",
                _ => "invalid_request_error",
            };
            let mut r = error(status, kind, "injected fault");
            r.headers = headers;
            r
        }
        Some(Fault::Malformed) => {
            Reply { status: 200, headers: Vec::new(), body: b"{\"id\": \"msg_1\", \"content\": [".to_vec() }
        }
        Some(Fault::Body(body)) => Reply { status: 200, headers: Vec::new(), body: body.into_bytes() },
        Some(Fault::Delay(d)) => {
            std::thread::sleep(d);
            handle(&request, state)
        }
        None => handle(&request, state),
    };
    let mut head = format!(
        "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nrequest-id: req_standin\r\nconnection: close\r\n",
        answer.status,
        answer.body.len()
    );
    for (name, value) in &answer.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = writer.write_all(head.as_bytes()).and_then(|()| writer.write_all(&answer.body));
    let _ = writer.flush();
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Recorded> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (name, value) = h.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length: usize =
        headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    Some(Recorded {
        method,
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|kv| kv.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
}

const MEMORY_BETA: &str = "agent-memory-2026-07-22";
const AGENTS_BETA: &str = "managed-agents-2026-04-01";
const DREAMS_BETA: &str = "dreaming-2026-04-21";

fn handle(r: &Recorded, state: &Mutex<State>) -> Reply {
    if r.header("x-api-key") != Some(KEY) {
        return error(401, "authentication_error", "invalid x-api-key");
    }
    if r.header("anthropic-version") != Some("2023-06-01") {
        return error(400, "invalid_request_error", "anthropic-version header is required");
    }
    let betas: Vec<&str> = r.header("anthropic-beta").unwrap_or("").split(',').map(str::trim).collect();
    let body: Value = if r.body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_str(&r.body) {
            Ok(v) => v,
            Err(e) => return error(400, "invalid_request_error", &format!("body is not JSON: {e}")),
        }
    };
    let segments: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
    let mut s = lock(state);
    match (r.method.as_str(), segments.as_slice()) {
        ("POST", ["v1", "messages"]) => messages(&body, &mut s),
        (_, ["v1", "memory_stores", ..]) => {
            if !betas.contains(&MEMORY_BETA) || betas.contains(&AGENTS_BETA) {
                return error(
                    400,
                    "invalid_request_error",
                    "memory stores need exactly the agent-memory beta",
                );
            }
            memory_stores(r, &segments[2..], &body, &mut s)
        }
        ("GET", ["v1", "sessions", id, "events"]) => {
            if !betas.contains(&AGENTS_BETA) {
                return error(400, "invalid_request_error", "sessions need the managed-agents beta");
            }
            session_events(r, id, &s)
        }
        (_, ["v1", "dreams", ..]) => {
            if !betas.contains(&DREAMS_BETA) {
                return error(400, "invalid_request_error", "dreams need the dreaming beta");
            }
            dreams(r.method.as_str(), &segments[2..], &body, &mut s)
        }
        _ => error(404, "not_found_error", "no such route in the stand-in"),
    }
}

/// Smallest prefix the API caches (Sonnet), in tokens.
pub const MIN_CACHED_TOKENS: u64 = 1024;

/// Answers a Messages request. Usage is simulated (about four bytes a
/// token): the tools and system blocks, when marked for caching and at
/// least [`MIN_CACHED_TOKENS`] long, are a cache write the first time and a
/// cache read after; the user message is input.
fn messages(body: &Value, s: &mut State) -> Reply {
    let forced = body["tool_choice"]["type"] == "tool" && body["tool_choice"]["name"] == "resolve_clusters";
    let has_tool =
        body["tools"].as_array().is_some_and(|t| t.iter().any(|t| t["name"] == "resolve_clusters"));
    if !forced || !has_tool || body["model"].as_str().is_none() || body["max_tokens"].as_u64().is_none() {
        return error(
            400,
            "invalid_request_error",
            "expected a forced resolve_clusters tool, a model and max_tokens",
        );
    }
    let text = match &body["messages"][0]["content"] {
        Value::String(t) => t.clone(),
        Value::Array(blocks) => {
            blocks.iter().filter_map(|b| b["text"].as_str()).collect::<Vec<_>>().join("\n")
        }
        _ => String::new(),
    };
    let questions = wire_questions(&text);
    let answers = (s.answerer)(&questions);
    let prefix = format!("{}{}", body["tools"], body["system"]);
    let prefix_tokens = prefix.len() as u64 / 4;
    let cacheable =
        body["system"].to_string().contains("cache_control") && prefix_tokens >= MIN_CACHED_TOKENS;
    let (written, read, uncached) = match (cacheable, s.cached.contains(&prefix)) {
        (false, _) => (0, 0, prefix_tokens),
        (true, true) => (0, prefix_tokens, 0),
        (true, false) => {
            s.cached.insert(prefix);
            (prefix_tokens, 0, 0)
        }
    };
    let input = json!({"answers": answers});
    reply(
        200,
        json!({
            "id": "msg_standin", "type": "message", "role": "assistant", "model": body["model"],
            "content": [{"type": "tool_use", "id": "toolu_standin", "name": "resolve_clusters", "input": input}],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": text.len() as u64 / 4 + uncached, "output_tokens": input.to_string().len() as u64 / 4,
                      "cache_creation_input_tokens": written, "cache_read_input_tokens": read}
        }),
    )
}

/// The questions of wire lines (`dreamwork::resolve::wire`: memory and
/// excerpt lines, then question lines naming them) in the contract's form,
/// as a test answers them: `id` (the short id), `kind`, `members` (`path`,
/// `content`, `updated_at`) and `excerpts` (`session`, `at`, `text`).
pub fn wire_questions(text: &str) -> Vec<Value> {
    let mut table: BTreeMap<String, Value> = BTreeMap::new();
    let mut questions = Vec::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else { continue };
        if let Some(id) = v["m"].as_str().or(v["e"].as_str()) {
            table.insert(id.to_owned(), v.clone());
            continue;
        }
        let (kind, id) = match (v["cluster"].as_str(), v["pattern"].as_str()) {
            (Some(id), _) => ("cluster", id),
            (None, Some(id)) => ("pattern", id),
            _ => continue,
        };
        let look = |key: &str| -> Vec<Value> {
            v[key].as_array().into_iter().flatten().filter_map(|i| table.get(i.as_str()?).cloned()).collect()
        };
        let members: Vec<Value> = look("members")
            .into_iter()
            .map(|m| json!({"path": m["path"], "content": m["text"], "updated_at": m["at"]}))
            .collect();
        let excerpts: Vec<Value> = look("excerpts")
            .into_iter()
            .map(|e| json!({"session": e["s"], "at": e["at"], "text": e["text"]}))
            .collect();
        questions.push(json!({"id": id, "kind": kind, "members": members, "excerpts": excerpts,
                              "open": v["open"], "differ": v["differ"]}));
    }
    questions
}

fn new_id(s: &mut State, prefix: &str) -> String {
    s.next += 1;
    format!("{prefix}_{:04}", s.next)
}

fn store_json(id: &str, store: &Store) -> Value {
    json!({"id": id, "type": "memory_store", "name": store.name, "description": "", "metadata": {},
           "created_at": "2026-08-01T00:00:00Z", "updated_at": "2026-08-01T00:00:00Z", "archived_at": null})
}

fn memory_json(store: &str, path: &str, id: &str, content: &str) -> Value {
    json!({"id": id, "type": "memory", "memory_store_id": store, "path": path, "content": content,
           "content_size_bytes": content.len(), "content_sha256": dreamwork::fuzzing::content_sha256(content),
           "memory_version_id": format!("memver_{id}"),
           "created_at": "2026-08-01T00:00:00Z", "updated_at": "2026-08-01T00:00:00Z"})
}

fn memory_stores(r: &Recorded, rest: &[&str], body: &Value, s: &mut State) -> Reply {
    match (r.method.as_str(), rest) {
        ("POST", []) => {
            let Some(name) = body["name"].as_str().filter(|n| !n.is_empty() && n.len() <= 255) else {
                return error(400, "invalid_request_error", "name must be 1-255 characters");
            };
            let id = new_id(s, "memstore");
            let store = Store { name: name.to_owned(), memories: BTreeMap::new() };
            let out = store_json(&id, &store);
            s.stores.insert(id, store);
            reply(200, out)
        }
        ("DELETE", [id]) => {
            if s.undeletable {
                return error(500, "api_error", "injected: the store cannot be deleted");
            }
            match s.stores.remove(*id) {
                Some(_) => reply(200, json!({"type": "memory_store_deleted", "id": id})),
                None => error(404, "not_found_error", "no such memory store"),
            }
        }
        ("POST", [id, "memories"]) => {
            let (Some(path), Some(content)) = (body["path"].as_str(), body["content"].as_str()) else {
                return error(400, "invalid_request_error", "path and content are required");
            };
            if !path.starts_with('/') || path.len() > 1024 || content.len() > 102_400 {
                return error(400, "invalid_request_error", "bad path or content too large");
            }
            let mem_id = new_id(s, "mem");
            let Some(store) = s.stores.get_mut(*id) else {
                return error(404, "not_found_error", "no such store");
            };
            if store.memories.contains_key(path) {
                return error(409, "memory_path_conflict_error", "path is taken");
            }
            store.memories.insert(path.to_owned(), (mem_id.clone(), content.to_owned()));
            reply(200, memory_json(id, path, &mem_id, content))
        }
        ("GET", [id, "memories"]) => {
            let Some(store) = s.stores.get(*id) else {
                return error(404, "not_found_error", "no such store");
            };
            let full = query_param(&r.query, "view") == Some("full");
            let start: usize = query_param(&r.query, "page")
                .and_then(|p| p.strip_prefix("page_"))
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            let prefix = query_param(&r.query, "path_prefix").unwrap_or("/");
            let all: Vec<_> = store.memories.iter().filter(|(p, _)| p.starts_with(prefix)).collect();
            let end = (start + page_len(r, full, s.page_size)).min(all.len());
            let data: Vec<Value> = all[start.min(end)..end]
                .iter()
                .map(|(path, (mid, content))| {
                    let mut m = memory_json(id, path, mid, content);
                    if !full {
                        m["content"] = Value::Null;
                    }
                    m
                })
                .collect();
            let next = (end < all.len()).then(|| format!("page_{end}"));
            reply(200, json!({"data": data, "next_page": next}))
        }
        ("GET", [id]) => match s.stores.get(*id) {
            Some(store) => reply(200, store_json(id, store)),
            None => error(404, "not_found_error", "no such memory store"),
        },
        ("GET", [id, "memories", mem]) => {
            let Some(store) = s.stores.get(*id) else {
                return error(404, "not_found_error", "no such store");
            };
            match store.path_of(mem) {
                Some(path) => reply(200, memory_json(id, &path, mem, &store.memories[&path].1)),
                None => error(404, "not_found_error", "no such memory"),
            }
        }
        ("POST", [id, "memories", mem]) => update_memory(id, mem, body, s),
        ("DELETE", [id, "memories", mem]) => {
            let Some(store) = s.stores.get_mut(*id) else {
                return error(404, "not_found_error", "no such store");
            };
            let Some(path) = store.path_of(mem) else {
                return error(404, "not_found_error", "no such memory");
            };
            let sha = dreamwork::fuzzing::content_sha256(&store.memories[&path].1);
            if query_param(&r.query, "expected_content_sha256").is_some_and(|e| e != sha) {
                return error(409, "memory_precondition_failed_error", "the memory changed");
            }
            store.memories.remove(&path);
            reply(200, json!({"type": "memory_deleted", "id": mem}))
        }
        _ => error(404, "not_found_error", "no such memory-store route in the stand-in"),
    }
}

/// Items on a page: the `limit` asked (20 by default), at most 20 with
/// contents or 100 without, and at most the stand-in's page size.
fn page_len(r: &Recorded, full: bool, page_size: usize) -> usize {
    let limit: usize = query_param(&r.query, "limit").and_then(|l| l.parse().ok()).unwrap_or(20);
    limit.min(if full { 20 } else { 100 }).min(page_size).max(1)
}

/// `POST /v1/memory_stores/{id}/memories/{mem}`: content and/or path under
/// an optional `content_sha256` precondition, as the API does it (a stale
/// precondition is a 409 unless the memory already is as asked).
fn update_memory(id: &str, mem: &str, body: &Value, s: &mut State) -> Reply {
    let Some(store) = s.stores.get_mut(id) else {
        return error(404, "not_found_error", "no such store");
    };
    let Some(old_path) = store.path_of(mem) else {
        return error(404, "not_found_error", "no such memory");
    };
    let content = store.memories[&old_path].1.clone();
    let new_path = body["path"].as_str().unwrap_or(&old_path).to_owned();
    let new_content = body["content"].as_str().unwrap_or(&content).to_owned();
    if !body["precondition"].is_null() {
        if body["precondition"]["type"] != "content_sha256" {
            return error(400, "invalid_request_error", "precondition.type must be content_sha256");
        }
        let stale = body["precondition"]["content_sha256"].as_str()
            != Some(&dreamwork::fuzzing::content_sha256(&content));
        if stale && !(new_path == old_path && new_content == content) {
            return error(
                409,
                "memory_precondition_failed_error",
                "the memory changed since the precondition",
            );
        }
    }
    if !new_path.starts_with('/') || new_path.len() > 1024 || new_content.len() > 102_400 {
        return error(400, "invalid_request_error", "bad path or content too large");
    }
    if new_path != old_path && store.memories.contains_key(&new_path) {
        return error(409, "memory_path_conflict_error", "path is taken");
    }
    store.memories.remove(&old_path);
    store.memories.insert(new_path.clone(), (mem.to_owned(), new_content.clone()));
    reply(200, memory_json(id, &new_path, mem, &new_content))
}

/// `GET /v1/sessions/{id}/events`, paged like the other lists.
fn session_events(r: &Recorded, id: &str, s: &State) -> Reply {
    let Some(events) = s.sessions.get(id) else {
        return error(404, "not_found_error", "no such session");
    };
    let start: usize = query_param(&r.query, "page")
        .and_then(|p| p.strip_prefix("page_"))
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let end = (start + page_len(r, false, s.page_size)).min(events.len());
    let next = (end < events.len()).then(|| format!("page_{end}"));
    reply(200, json!({"data": events[start.min(end)..end], "next_page": next}))
}

fn terminal(status: &str) -> bool {
    matches!(status, "completed" | "failed" | "canceled")
}

fn dreams(method: &str, rest: &[&str], body: &Value, s: &mut State) -> Reply {
    match (method, rest) {
        ("POST", []) => {
            let inputs = body["inputs"].as_array().cloned().unwrap_or_default();
            let stores: Vec<&Value> = inputs.iter().filter(|i| i["type"] == "memory_store").collect();
            let sessions: Vec<&Value> = inputs.iter().filter(|i| i["type"] == "sessions").collect();
            let ids = sessions.first().and_then(|x| x["session_ids"].as_array()).map_or(0, Vec::len);
            if stores.len() != 1 || sessions.len() != 1 || !(1..=100).contains(&ids) {
                return error(
                    400,
                    "invalid_request_error",
                    "inputs: one memory_store and one sessions (1-100 ids)",
                );
            }
            if body["instructions"].as_str().is_some_and(|i| i.chars().count() > 4096) {
                return error(400, "invalid_request_error", "instructions: at most 4,096 characters");
            }
            let Some(input) = stores[0]["memory_store_id"].as_str().filter(|id| s.stores.contains_key(*id))
            else {
                return error(404, "not_found_error", "no such input memory store");
            };
            let _ = input;
            let id = new_id(s, "drm");
            let model = match &body["model"] {
                Value::String(m) => json!({"id": m}),
                other => other.clone(),
            };
            let dream = json!({
                "id": id, "type": "dream", "status": "pending", "inputs": inputs, "outputs": [],
                "output_behavior": {"type": "create_new"}, "model": model, "instructions": body["instructions"],
                "session_id": "sesn_pipeline", "error": null,
                "usage": {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
                "created_at": "2026-08-01T00:00:00Z", "ended_at": null, "archived_at": null
            });
            s.dreams.insert(id, DreamRun { dream: dream.clone(), polls: 0 });
            reply(200, dream)
        }
        ("GET", [id]) => {
            if !s.dreams.contains_key(*id) {
                return error(404, "not_found_error", "no such dream");
            }
            advance(id, s);
            reply(200, s.dreams[*id].dream.clone())
        }
        ("POST", [id, "cancel"]) => {
            let Some(run) = s.dreams.get_mut(*id) else {
                return error(404, "not_found_error", "no such dream");
            };
            match run.dream["status"].as_str() {
                Some("pending" | "running") => {
                    run.dream["status"] = json!("canceled");
                    run.dream["ended_at"] = json!("2026-08-01T00:05:00Z");
                    reply(200, run.dream.clone())
                }
                Some("canceled") => reply(200, run.dream.clone()),
                _ => error(400, "invalid_request_error", "a finished dream cannot be canceled"),
            }
        }
        ("POST", [id, "archive"]) => {
            let Some(run) = s.dreams.get_mut(*id) else {
                return error(404, "not_found_error", "no such dream");
            };
            if !run.dream["status"].as_str().is_some_and(terminal) {
                return error(400, "invalid_request_error", "only a finished dream can be archived");
            }
            run.dream["archived_at"] = json!("2026-08-01T00:06:00Z");
            reply(200, run.dream.clone())
        }
        _ => error(404, "not_found_error", "no such dream route in the stand-in"),
    }
}

/// One poll of dream `id`: pending → running (cloning the input into the
/// output store) → the script's end after its running polls.
fn advance(id: &str, s: &mut State) {
    let status = s.dreams[id].dream["status"].as_str().unwrap_or("").to_owned();
    if terminal(&status) {
        return;
    }
    if status == "pending" {
        let input = s.dreams[id].dream["inputs"]
            .as_array()
            .and_then(|i| i.iter().find(|x| x["type"] == "memory_store"))
            .and_then(|x| x["memory_store_id"].as_str())
            .unwrap_or("")
            .to_owned();
        let memories: Vec<(String, String)> = s
            .stores
            .get(&input)
            .map(|st| st.memories.iter().map(|(p, (_, c))| (p.clone(), c.clone())).collect())
            .unwrap_or_default();
        let out = new_id(s, "memstore");
        let mut cloned = BTreeMap::new();
        for (path, content) in &memories {
            let mid = new_id(s, "mem");
            cloned.insert(path.clone(), (mid, content.clone()));
        }
        s.stores.insert(out.clone(), Store { name: "dream output".into(), memories: cloned });
        let run = s.dreams.get_mut(id).expect("dream exists");
        run.dream["status"] = json!("running");
        run.dream["outputs"] = json!([{"type": "memory_store", "memory_store_id": out}]);
        run.dream["usage"] = json!({"input_tokens": 100, "output_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0});
    }
    let polls = s.dreams[id].polls;
    s.dreams.get_mut(id).expect("dream exists").polls += 1;
    if polls < s.script.running_polls {
        return;
    }
    let out = s.dreams[id].dream["outputs"][0]["memory_store_id"].as_str().unwrap_or("").to_owned();
    match s.script.end {
        DreamEnd::Forever => {}
        DreamEnd::Failed => {
            let run = s.dreams.get_mut(id).expect("dream exists");
            run.dream["status"] = json!("failed");
            run.dream["error"] = json!({"type": "model_error", "message": "injected: the dream failed"});
            run.dream["ended_at"] = json!("2026-08-01T00:05:00Z");
        }
        DreamEnd::Canceled => {
            let run = s.dreams.get_mut(id).expect("dream exists");
            run.dream["status"] = json!("canceled");
            run.dream["ended_at"] = json!("2026-08-01T00:05:00Z");
        }
        DreamEnd::Completed => {
            let memories: Vec<(String, String)> = s
                .stores
                .get(&out)
                .map(|st| st.memories.iter().map(|(p, (_, c))| (p.clone(), c.clone())).collect())
                .unwrap_or_default();
            let written = (s.script.writer)(&memories);
            for (path, content) in written {
                let mid = new_id(s, "mem");
                if let Some(store) = s.stores.get_mut(&out) {
                    store.memories.insert(path, (mid, content));
                }
            }
            let run = s.dreams.get_mut(id).expect("dream exists");
            run.dream["status"] = json!("completed");
            run.dream["ended_at"] = json!("2026-08-01T00:05:00Z");
            run.dream["usage"] = json!({"input_tokens": 1200, "output_tokens": 300, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 800});
        }
    }
}
