//! The one HTTP client the remote resolvers and the hosted memory stores
//! ([`crate::hosted`]) share: JSON over HTTPS to Anthropic's API (or
//! whatever `ANTHROPIC_BASE_URL` points at), with the official SDKs' retry
//! policy.
//!
//! Promises:
//! - retries as the Python and TypeScript SDKs do: a response header
//!   `x-should-retry: true|false` decides when present; otherwise 408, 409,
//!   429, every status ≥ 500, timeouts and connection errors are retried
//!   (except a 409 whose error type says a memory's precondition or path is
//!   stale: asking again cannot change that answer), at
//!   most [`RetryPolicy::max_retries`] times (2 by default). The wait is
//!   `retry-after-ms`, else `retry-after` (seconds or an HTTP date, honoured
//!   when 0 < wait ≤ 60 s), else `min(0.5 s × 2^n, 8 s)` times a jitter
//!   factor in [0.75, 1];
//! - waits and jitter come from a [`Wait`], so tests neither sleep nor
//!   depend on chance; a wait returns early, and no new request starts,
//!   once the [`CancelToken`] is cancelled (Ctrl-C);
//! - every error names the endpoint (`POST https://…/v1/messages`) and, for
//!   an HTTP error, the status, the API's error type and message and its
//!   request id;
//! - the API key travels only in the `x-api-key` header: [`ApiKey`]'s
//!   `Debug` hides it, and any text the server sends back is scrubbed of it
//!   before it can reach an error message;
//! - redirects are not followed (the API never redirects; following one
//!   could carry the key to another host).

use std::fmt;
use std::io::Read as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{ResolveError, Usage};
use crate::progress::{CancelToken, Cancelled};

mod retry;

pub use retry::{RealWait, RetryHeaders, RetryPolicy, Wait};

/// The public API endpoint (`ANTHROPIC_BASE_URL` overrides it).
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
/// The `anthropic-version` header every request carries.
pub const API_VERSION: &str = "2023-06-01";
/// A whole request may take this long by default (the SDKs' 10 minutes).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// The longest response body read (a larger one is an error).
const MAX_BODY: u64 = 64 << 20;
/// The longest piece of a server's error message quoted in an error.
const MAX_QUOTED: usize = 300;

/// An API key. Its `Debug` never shows it; it is only ever written into the
/// `x-api-key` header.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// A key from its text (surrounding whitespace removed); `None` when
    /// empty or when it could not be a header value.
    pub fn new(text: &str) -> Option<Self> {
        let key = text.trim();
        let printable = key.bytes().all(|b| b.is_ascii_graphic());
        (!key.is_empty() && printable).then(|| Self(key.to_owned()))
    }

    /// The key in `ANTHROPIC_API_KEY`.
    pub fn from_env() -> Result<Self, HttpError> {
        let text = std::env::var("ANTHROPIC_API_KEY").map_err(|_| HttpError::MissingKey)?;
        Self::new(&text).ok_or(HttpError::MissingKey)
    }

    /// `text` with every occurrence of the key replaced by `[api key]`.
    fn scrub(&self, text: &str) -> String {
        text.replace(&self.0, "[api key]")
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([hidden])")
    }
}

/// Token counts as the server reported them (`usage` of a message or a
/// dream); a missing count reads as 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedUsage {
    /// Input tokens not read from or written to the cache.
    #[serde(default)]
    pub input_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: u64,
    /// Input tokens written to the prompt cache.
    #[serde(default)]
    pub cache_creation_input_tokens: u64,
    /// Input tokens read from the prompt cache.
    #[serde(default)]
    pub cache_read_input_tokens: u64,
}

impl ReportedUsage {
    /// The field-wise sum.
    pub fn add(&mut self, other: ReportedUsage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_creation_input_tokens += other.cache_creation_input_tokens;
        self.cache_read_input_tokens += other.cache_read_input_tokens;
    }
}

impl From<ReportedUsage> for Usage {
    fn from(u: ReportedUsage) -> Self {
        Usage {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            cache_creation_input_tokens: u.cache_creation_input_tokens,
            cache_read_input_tokens: u.cache_read_input_tokens,
        }
    }
}

/// Why a request failed (after its retries).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// `ANTHROPIC_API_KEY` is not set (or empty).
    #[error("ANTHROPIC_API_KEY is not set: export your Anthropic API key to use Anthropic's API")]
    MissingKey,
    /// The base URL is not an http(s) URL.
    #[error("ANTHROPIC_BASE_URL {0:?} is not an http:// or https:// URL")]
    BadBaseUrl(String),
    /// The server answered with an error status.
    #[error("{endpoint}: HTTP {status}{}{}{}", kind.as_deref().map(|k| format!(" {k}")).unwrap_or_default(),
        message.as_deref().map(|m| format!(": {m}")).unwrap_or_default(),
        request_id.as_deref().map(|r| format!(" (request id {r})")).unwrap_or_default())]
    Status {
        /// Method and URL.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// The API's error type (`rate_limit_error`…), when the body said.
        kind: Option<String>,
        /// The API's error message (shortened), when the body said.
        message: Option<String>,
        /// The `request-id` header or body field.
        request_id: Option<String>,
    },
    /// The request did not complete in time.
    #[error("{endpoint}: no complete answer within {timeout:?}")]
    Timeout {
        /// Method and URL.
        endpoint: String,
        /// The configured timeout.
        timeout: Duration,
    },
    /// The connection failed or broke.
    #[error("{endpoint}: connection failed: {message}")]
    Connection {
        /// Method and URL.
        endpoint: String,
        /// What failed.
        message: String,
    },
    /// A 2xx response whose body is not the JSON expected.
    #[error("{endpoint}: unexpected response body: {message}")]
    Decode {
        /// Method and URL.
        endpoint: String,
        /// What is wrong with it.
        message: String,
    },
    /// Cancelled (Ctrl-C) before or between requests.
    #[error("cancelled before {endpoint}")]
    Cancelled {
        /// The request that was not sent (or not retried).
        endpoint: String,
    },
}

impl HttpError {
    /// Whether the error must stop the whole dream rather than leave the
    /// questions of one request open: Ctrl-C, or an API that refuses the
    /// key (401, 403) and would refuse every other request too.
    pub fn stops_dream(&self) -> bool {
        matches!(
            self,
            HttpError::Cancelled { .. }
                | HttpError::MissingKey
                | HttpError::BadBaseUrl(_)
                | HttpError::Status { status: 401 | 403, .. }
        )
    }

    /// The HTTP status, for an error response.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl From<HttpError> for ResolveError {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::Cancelled { .. } => ResolveError::Cancelled,
            other => ResolveError::Backend(other.to_string()),
        }
    }
}

/// The HTTP method of a [`Call`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// DELETE.
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// One API call: method, path (with its query), beta headers, JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call<'a> {
    /// The method.
    pub method: Method,
    /// The path below the base URL, with its query (`/v1/messages`).
    pub path: String,
    /// The `anthropic-beta` values (joined by commas), none for stable APIs.
    pub beta: &'a [&'a str],
    /// The JSON body, if any.
    pub body: Option<Vec<u8>>,
}

impl<'a> Call<'a> {
    /// A call without a body.
    pub fn new(method: Method, path: impl Into<String>, beta: &'a [&'a str]) -> Self {
        Self { method, path: path.into(), beta, body: None }
    }

    /// A POST of `body` as JSON.
    pub fn post_json(path: impl Into<String>, beta: &'a [&'a str], body: &impl Serialize) -> Self {
        let body = serde_json::to_vec(body).expect("serialising plain data to JSON cannot fail");
        Self { method: Method::Post, path: path.into(), beta, body: Some(body) }
    }
}

/// Where and how to reach the API.
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The base URL, without a trailing slash.
    pub base_url: String,
    /// The API key.
    pub key: ApiKey,
    /// The longest a single attempt may take.
    pub timeout: Duration,
    /// The retry policy.
    pub retry: RetryPolicy,
}

impl ClientConfig {
    /// The key from `ANTHROPIC_API_KEY`, the base URL from
    /// `ANTHROPIC_BASE_URL` (or the public endpoint), default timeout and
    /// retries.
    pub fn from_env() -> Result<Self, HttpError> {
        let base = std::env::var("ANTHROPIC_BASE_URL").ok().filter(|v| !v.trim().is_empty());
        Self::new(base.as_deref().unwrap_or(DEFAULT_BASE_URL), ApiKey::from_env()?)
    }

    /// A configuration for `base_url` with default timeout and retries.
    pub fn new(base_url: &str, key: ApiKey) -> Result<Self, HttpError> {
        let base = base_url.trim().trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) || base.contains('@') {
            return Err(HttpError::BadBaseUrl(base_url.to_owned()));
        }
        Ok(Self { base_url: base.to_owned(), key, timeout: DEFAULT_TIMEOUT, retry: RetryPolicy::default() })
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("key", &self.key)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

/// The client: a connection pool, the configuration, how to wait, and the
/// token that stops it. Cheap to share between threads.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    config: ClientConfig,
    wait: Arc<dyn Wait>,
    cancel: CancelToken,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").field("config", &self.config).finish_non_exhaustive()
    }
}

/// What a failed attempt leaves: the error, and whether (and after which
/// headers) to retry.
struct Failure {
    error: HttpError,
    retry: Option<RetryHeaders>,
}

impl Client {
    /// A client that waits in real time.
    pub fn new(config: ClientConfig, cancel: CancelToken) -> Self {
        Self::with_wait(config, cancel, Arc::new(RealWait))
    }

    /// A client that waits (and draws jitter) through `wait`.
    pub fn with_wait(config: ClientConfig, cancel: CancelToken, wait: Arc<dyn Wait>) -> Self {
        let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::PlatformVerifier).build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(config.timeout))
            .user_agent(concat!("dreamwork/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self { agent, config, wait, cancel }
    }

    /// The token that stops the client between requests.
    pub fn cancel_token(&self) -> &CancelToken {
        &self.cancel
    }

    /// The same client with a token of its own that nothing cancels: for
    /// the clean-up that must still run after Ctrl-C (deleting temporary
    /// stores). A second Ctrl-C still ends the process.
    pub fn detached(&self) -> Client {
        Client { cancel: CancelToken::new(), ..self.clone() }
    }

    /// Waits `delay` (between polls) the client's way; `Err` once cancelled.
    pub fn pause(&self, delay: Duration) -> Result<(), Cancelled> {
        self.wait.wait(delay, &self.cancel)
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    /// Sends `call` (with retries) and decodes the JSON answer as `T`.
    pub fn json<T: DeserializeOwned>(&self, call: &Call<'_>) -> Result<T, HttpError> {
        let body = self.send(call)?;
        serde_json::from_slice(&body).map_err(|e| HttpError::Decode {
            endpoint: self.endpoint(call),
            message: self.config.key.scrub(&e.to_string()),
        })
    }

    /// Sends `call` (with retries) and returns the body of the 2xx answer.
    pub fn send(&self, call: &Call<'_>) -> Result<Vec<u8>, HttpError> {
        let endpoint = self.endpoint(call);
        let mut retry = 0;
        loop {
            if self.cancel.is_cancelled() {
                return Err(HttpError::Cancelled { endpoint });
            }
            let failure = match self.attempt(call, &endpoint) {
                Ok(body) => return Ok(body),
                Err(failure) => failure,
            };
            let Some(headers) = failure.retry.filter(|_| retry < self.config.retry.max_retries) else {
                return Err(failure.error);
            };
            let delay = self.config.retry.delay(retry, &headers, SystemTime::now(), self.wait.jitter());
            if self.wait.wait(delay, &self.cancel).is_err() {
                return Err(HttpError::Cancelled { endpoint });
            }
            retry += 1;
        }
    }

    fn endpoint(&self, call: &Call<'_>) -> String {
        let path = call.path.split('?').next().unwrap_or(&call.path);
        format!("{} {}{}", call.method.as_str(), self.config.base_url, path)
    }

    fn attempt(&self, call: &Call<'_>, endpoint: &str) -> Result<Vec<u8>, Box<Failure>> {
        let url = format!("{}{}", self.config.base_url, call.path);
        let beta = call.beta.join(",");
        let headers = |mut h: ureq::http::request::Builder| {
            h = h.header("x-api-key", &self.config.key.0).header("anthropic-version", API_VERSION);
            if !beta.is_empty() {
                h = h.header("anthropic-beta", &beta);
            }
            h
        };
        let mut builder = headers(ureq::http::Request::builder().method(call.method.as_str()).uri(&url));
        if call.body.is_some() {
            builder = builder.header("content-type", "application/json");
        }
        let sent = match &call.body {
            Some(body) => builder.body(body.clone()).map(|r| self.agent.run(r)),
            None => builder.body(()).map(|r| self.agent.run(r)),
        };
        let response = match sent {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => return Err(self.transport_failure(e, endpoint)),
            Err(e) => {
                let message = format!("cannot build the request: {e}");
                let error = HttpError::Connection { endpoint: endpoint.into(), message };
                return Err(Box::new(Failure { error, retry: None }));
            }
        };
        let status = response.status().as_u16();
        let retry_headers = RetryHeaders::of(&response);
        let header_id = response.headers().get("request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let mut body = Vec::new();
        let read = response.into_body().into_reader().take(MAX_BODY + 1).read_to_end(&mut body);
        if let Err(e) = read {
            let error = match e.kind() {
                std::io::ErrorKind::TimedOut => {
                    HttpError::Timeout { endpoint: endpoint.into(), timeout: self.config.timeout }
                }
                _ => HttpError::Connection {
                    endpoint: endpoint.into(),
                    message: self.config.key.scrub(&format!("reading the response: {e}")),
                },
            };
            return Err(Box::new(Failure { error, retry: Some(RetryHeaders::default()) }));
        }
        if body.len() as u64 > MAX_BODY {
            let message = format!("the response is larger than {MAX_BODY} bytes");
            let error = HttpError::Decode { endpoint: endpoint.into(), message };
            return Err(Box::new(Failure { error, retry: None }));
        }
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let (kind, message, body_id) = error_fields(&body);
        let scrub = |s: Option<String>| s.map(|s| shorten(&self.config.key.scrub(&s)));
        let error = HttpError::Status {
            endpoint: endpoint.into(),
            status,
            kind: scrub(kind),
            message: scrub(message),
            request_id: scrub(header_id.or(body_id)),
        };
        let settled = retry_headers.should_retry.is_none() && settled_conflict(status, &error);
        let retry = (retry_headers.retryable(status) && !settled).then_some(retry_headers);
        Err(Box::new(Failure { error, retry }))
    }

    fn transport_failure(&self, e: ureq::Error, endpoint: &str) -> Box<Failure> {
        let endpoint = endpoint.to_owned();
        let (error, retryable) = match e {
            ureq::Error::Timeout(_) => (HttpError::Timeout { endpoint, timeout: self.config.timeout }, true),
            ureq::Error::BadUri(_) | ureq::Error::Http(_) | ureq::Error::InvalidProxyUrl => {
                let message = self.config.key.scrub(&e.to_string());
                (HttpError::Connection { endpoint, message }, false)
            }
            other => {
                let message = self.config.key.scrub(&other.to_string());
                (HttpError::Connection { endpoint, message }, true)
            }
        };
        Box::new(Failure { error, retry: retryable.then(RetryHeaders::default) })
    }
}

/// `error.type`, `error.message` and `request_id` of an API error body.
fn error_fields(body: &[u8]) -> (Option<String>, Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return (None, None, None);
    };
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_owned);
    let error = value.get("error");
    (
        text(error.and_then(|e| e.get("type"))),
        text(error.and_then(|e| e.get("message"))),
        text(value.get("request_id")),
    )
}

/// Whether `error` is a 409 that a retry cannot change: a memory's
/// `content_sha256` precondition failed, or its path is taken.
fn settled_conflict(status: u16, error: &HttpError) -> bool {
    let kind = match error {
        HttpError::Status { kind, .. } => kind.as_deref(),
        _ => None,
    };
    status == 409 && matches!(kind, Some("memory_precondition_failed_error" | "memory_path_conflict_error"))
}

/// `text` cut to [`MAX_QUOTED`] characters.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTED) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
