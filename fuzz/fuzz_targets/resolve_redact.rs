//! Fuzzes redaction: arbitrary text is redacted without a panic, redacting
//! the result again changes nothing, and restoring it from the original
//! gives the original back byte for byte.
#![no_main]

use dreamwork::fuzzing::resolve::Secrets;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut secrets = Secrets::default();
    let red = secrets.redact(text);
    assert_eq!(secrets.clone().redact(&red), red, "redaction is idempotent");
    if !text.contains("[REDACTED:") {
        assert_eq!(secrets.restore(&red, &[text]).as_deref(), Ok(text));
    }
});
