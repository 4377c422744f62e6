//! The remote resolvers' HTTP client against the loopback stand-in: the
//! SDKs' retry policy (statuses, `retry-after`, `x-should-retry`, timeouts,
//! connection errors), clear errors, and the key only in its header.

#![cfg(feature = "remote")]

use std::sync::Arc;
use std::time::Duration;

use crate::support::Waits;
use crate::support::standin::{Fault, KEY, StandIn};
use dreamwork::resolve::http::{ApiKey, Call, Client, ClientConfig, HttpError, Method, Wait};
use dreamwork::{CancelToken, Cancelled};
use serde_json::{Value, json};

fn client(standin: &StandIn, timeout: Duration) -> (Client, Waits) {
    let mut config = ClientConfig::new(&standin.url, ApiKey::new(KEY).unwrap()).unwrap();
    config.timeout = timeout;
    let waits = Waits::default();
    (Client::with_wait(config, CancelToken::new(), Arc::new(waits.clone())), waits)
}

fn create_store() -> Call<'static> {
    Call::post_json("/v1/memory_stores", &["agent-memory-2026-07-22"], &json!({"name": "t"}))
}

const ROUTE: &str = "POST /v1/memory_stores";

#[test]
fn retries_429_and_5xx_with_the_servers_wait_then_backoff() {
    let standin = StandIn::start();
    let (client, waits) = client(&standin, Duration::from_secs(5));
    standin.fault(ROUTE, Fault::Status(429, vec![("retry-after", "3".into())]));
    standin.fault(ROUTE, Fault::Status(529, vec![]));
    let store: Value = client.json(&create_store()).unwrap();
    assert_eq!(store["type"], "memory_store");
    assert_eq!(waits.taken(), vec![Duration::from_secs(3), Duration::from_secs(1)]);

    standin.fault(ROUTE, Fault::Status(500, vec![("retry-after-ms", "250".into())]));
    standin.fault(ROUTE, Fault::Status(409, vec![]));
    let _: Value = client.json(&create_store()).unwrap();
    assert_eq!(waits.taken()[2..], [Duration::from_millis(250), Duration::from_secs(1)]);
    assert_eq!(standin.requests().len(), 6);
}

#[test]
fn gives_up_after_two_retries_naming_endpoint_status_and_request() {
    let standin = StandIn::start();
    let (client, waits) = client(&standin, Duration::from_secs(5));
    for _ in 0..3 {
        standin.fault(ROUTE, Fault::Status(500, vec![]));
    }
    let err = client.json::<Value>(&create_store()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "POST {}/v1/memory_stores: HTTP 500 api_error: injected fault (request id req_standin)",
            standin.url
        )
    );
    assert_eq!(waits.taken(), vec![Duration::from_millis(500), Duration::from_secs(1)]);
    assert_eq!(standin.requests().len(), 3);
}

#[test]
fn x_should_retry_decides_and_4xx_is_final() {
    let standin = StandIn::start();
    let (client, waits) = client(&standin, Duration::from_secs(5));
    standin.fault(ROUTE, Fault::Status(429, vec![("x-should-retry", "false".into())]));
    assert_eq!(client.json::<Value>(&create_store()).unwrap_err().status(), Some(429));
    standin.fault(ROUTE, Fault::Status(400, vec![("x-should-retry", "true".into())]));
    let _: Value = client.json(&create_store()).unwrap();
    // A plain 400 (here: the managed-agents beta on a memory-store call) is final.
    let wrong_beta = Call::post_json(
        "/v1/memory_stores",
        &["agent-memory-2026-07-22", "managed-agents-2026-04-01"],
        &json!({"name": "t"}),
    );
    let err = client.json::<Value>(&wrong_beta).unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains("invalid_request_error"), "{err}");
    assert_eq!(waits.taken().len(), 1);
    assert_eq!(standin.requests().len(), 4);
}

#[test]
fn a_timeout_is_retried_and_named() {
    let standin = StandIn::start();
    let (client, waits) = client(&standin, Duration::from_millis(300));
    standin.fault(ROUTE, Fault::Delay(Duration::from_secs(2)));
    let _: Value = client.json(&create_store()).unwrap();
    assert_eq!(waits.taken(), vec![Duration::from_millis(500)]);
    for _ in 0..3 {
        standin.fault(ROUTE, Fault::Delay(Duration::from_secs(2)));
    }
    let err = client.json::<Value>(&create_store()).unwrap_err();
    assert!(matches!(err, HttpError::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("/v1/memory_stores: no complete answer within 300ms"), "{err}");
}

#[test]
fn a_malformed_body_is_a_decode_error_not_retried() {
    let standin = StandIn::start();
    let (client, waits) = client(&standin, Duration::from_secs(5));
    standin.fault(ROUTE, Fault::Malformed);
    let err = client.json::<Value>(&create_store()).unwrap_err();
    assert!(matches!(err, HttpError::Decode { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("POST {}/v1/memory_stores: unexpected response body", standin.url))
    );
    assert!(waits.taken().is_empty());
}

#[test]
fn connection_errors_are_retried_then_reported() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = ClientConfig::new(&format!("http://127.0.0.1:{port}"), ApiKey::new(KEY).unwrap()).unwrap();
    let waits = Waits::default();
    let client = Client::with_wait(config, CancelToken::new(), Arc::new(waits.clone()));
    let err = client.send(&Call::new(Method::Get, "/v1/dreams/drm_1", &["dreaming-2026-04-21"])).unwrap_err();
    assert!(matches!(err, HttpError::Connection { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("GET http://127.0.0.1:{port}/v1/dreams/drm_1: connection failed"))
    );
    assert_eq!(waits.taken().len(), 2);
}

#[test]
fn cancel_stops_between_attempts() {
    let standin = StandIn::start();
    let config = ClientConfig::new(&standin.url, ApiKey::new(KEY).unwrap()).unwrap();
    let cancel = CancelToken::new();
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
    let client = Client::with_wait(config, cancel.clone(), Arc::new(CancelOnWait(cancel.clone())));
    standin.fault(ROUTE, Fault::Status(503, vec![]));
    let err = client.json::<Value>(&create_store()).unwrap_err();
    assert!(matches!(err, HttpError::Cancelled { .. }), "{err}");
    assert_eq!(standin.requests().len(), 1);
}

#[test]
fn the_key_travels_only_in_its_header() {
    let standin = StandIn::start();
    let (client, _) = client(&standin, Duration::from_secs(5));
    let _: Value = client.json(&create_store()).unwrap();
    let wrong = ClientConfig::new(&standin.url, ApiKey::new("sk-ant-wrong-key").unwrap()).unwrap();
    let err = Client::new(wrong, CancelToken::new()).json::<Value>(&create_store()).unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(!err.to_string().contains("sk-ant-wrong-key"));
    for r in standin.requests() {
        assert!(!r.body.contains("sk-ant") && !r.path.contains("sk-ant") && !r.query.contains("sk-ant"));
        for (name, value) in &r.headers {
            assert!(name == "x-api-key" || !value.contains("sk-ant"), "{name}: {value}");
        }
        assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
    }
    assert!(!format!("{client:?}").contains(KEY));
}
