use super::*;

fn headers(should: Option<&str>, ms: Option<&str>, after: Option<&str>) -> RetryHeaders {
    RetryHeaders {
        should_retry: should.map(Into::into),
        retry_after_ms: ms.map(Into::into),
        retry_after: after.map(Into::into),
    }
}

#[test]
fn statuses_retried_as_the_sdks_do() {
    let none = RetryHeaders::default();
    for status in [408, 409, 429, 500, 502, 503, 529] {
        assert!(none.retryable(status), "{status}");
    }
    for status in [400, 401, 402, 403, 404, 413, 422] {
        assert!(!none.retryable(status), "{status}");
    }
    assert!(!headers(Some("false"), None, None).retryable(429));
    assert!(headers(Some("true"), None, None).retryable(400));
    assert!(headers(Some("maybe"), None, None).retryable(500));
}

#[test]
fn backoff_doubles_to_a_cap_with_jitter() {
    let p = RetryPolicy::default();
    let none = RetryHeaders::default();
    let now = SystemTime::UNIX_EPOCH;
    assert_eq!(p.delay(0, &none, now, 1.0), Duration::from_millis(500));
    assert_eq!(p.delay(1, &none, now, 1.0), Duration::from_secs(1));
    assert_eq!(p.delay(3, &none, now, 1.0), Duration::from_secs(4));
    assert_eq!(p.delay(4, &none, now, 1.0), Duration::from_secs(8));
    assert_eq!(p.delay(40, &none, now, 1.0), Duration::from_secs(8));
    assert_eq!(p.delay(0, &none, now, 0.75), Duration::from_millis(375));
    // A jitter source out of range is clamped.
    assert_eq!(p.delay(0, &none, now, 0.1), Duration::from_millis(375));
    let j = RealWait.jitter();
    assert!((0.75..=1.0).contains(&j), "{j}");
}

#[test]
fn server_waits_win_when_sensible() {
    let p = RetryPolicy::default();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
    let d = |h: RetryHeaders| p.delay(0, &h, now, 1.0);
    assert_eq!(d(headers(None, Some("1200"), Some("30"))), Duration::from_millis(1200));
    assert_eq!(d(headers(None, None, Some("3"))), Duration::from_secs(3));
    assert_eq!(d(headers(None, None, Some("0.25"))), Duration::from_millis(250));
    // Out of range or unreadable: the backoff.
    assert_eq!(d(headers(None, None, Some("120"))), Duration::from_millis(500));
    assert_eq!(d(headers(None, None, Some("0"))), Duration::from_millis(500));
    assert_eq!(d(headers(None, None, Some("soon"))), Duration::from_millis(500));
    assert_eq!(d(headers(None, Some("-5"), None)), Duration::from_millis(500));
    // An HTTP date, 7 s after `now` (Sun, 06 Nov 1994 08:49:37 GMT).
    assert_eq!(d(headers(None, None, Some("Sun, 06 Nov 1994 08:49:44 GMT"))), Duration::from_secs(7));
}

#[test]
fn the_key_never_shows() {
    let key = ApiKey::new(" sk-ant-api03-secret ").unwrap();
    assert_eq!(format!("{key:?}"), "ApiKey([hidden])");
    assert_eq!(key.scrub("bad key sk-ant-api03-secret!"), "bad key [api key]!");
    let config = ClientConfig::new("http://127.0.0.1:9/", key).unwrap();
    assert_eq!(config.base_url, "http://127.0.0.1:9");
    let client = Client::new(config, CancelToken::new());
    assert!(!format!("{client:?}").contains("secret"));
    assert!(ApiKey::new("  ").is_none());
    assert!(ApiKey::new("a\nb").is_none());
}

#[test]
fn base_urls_must_be_http() {
    let key = ApiKey::new("k").unwrap();
    assert!(matches!(ClientConfig::new("ftp://x", key.clone()), Err(HttpError::BadBaseUrl(_))));
    assert!(matches!(ClientConfig::new("https://u:p@x", key.clone()), Err(HttpError::BadBaseUrl(_))));
    assert!(ClientConfig::new("https://api.anthropic.com", key).is_ok());
}

#[test]
fn error_bodies_are_read_and_shortened() {
    let body =
        br#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"},"request_id":"req_1"}"#;
    assert_eq!(
        error_fields(body),
        (Some("rate_limit_error".into()), Some("slow down".into()), Some("req_1".into()))
    );
    assert_eq!(error_fields(b"<html>"), (None, None, None));
    let long = "x".repeat(1000);
    assert_eq!(shorten(&long).chars().count(), MAX_QUOTED + 1);
    let e = HttpError::Status {
        endpoint: "POST http://h/v1/messages".into(),
        status: 429,
        kind: Some("rate_limit_error".into()),
        message: Some("slow down".into()),
        request_id: Some("req_1".into()),
    };
    assert_eq!(
        e.to_string(),
        "POST http://h/v1/messages: HTTP 429 rate_limit_error: slow down (request id req_1)"
    );
}

#[test]
fn a_cancelled_client_sends_nothing() {
    let cancel = CancelToken::new();
    cancel.cancel();
    let client =
        Client::new(ClientConfig::new("http://127.0.0.1:9", ApiKey::new("k").unwrap()).unwrap(), cancel);
    let err = client.send(&Call::new(Method::Get, "/v1/dreams/drm_1", &[])).unwrap_err();
    assert_eq!(err.to_string(), "cancelled before GET http://127.0.0.1:9/v1/dreams/drm_1");
}
