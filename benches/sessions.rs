//! Session import and storage throughput: Claude Code lines parsed per
//! second, format detection, and sessions stored / read per second.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use dreamwork::fuzzing::session_file as storage;
use dreamwork::session::SessionStore;
use dreamwork::session::{FormatChoice, OnError, SessionFormat, parse, parse_as};
use dreamwork::{CancelToken, Silent};

/// A Claude Code transcript of `lines` lines for session `seed`: a user
/// prompt, an assistant text + tool call, a tool result (every fifth one an
/// error), repeated.
fn claude_code(seed: usize, lines: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..lines {
        let ts = format!("2026-05-04T09:{:02}:{:02}.000Z", (i / 60) % 60, i % 60);
        let line = match i % 3 {
            0 => format!(
                r#"{{"parentUuid":null,"isSidechain":false,"userType":"external","cwd":"/home/ana/shop","sessionId":"s{seed}","version":"2.0.14","type":"user","uuid":"u{i}","timestamp":"{ts}","message":{{"role":"user","content":"Please run the checkout tests again, step {i}, and keep the Zürich prices in CHF."}}}}"#
            ),
            1 => format!(
                r#"{{"parentUuid":"u{p}","isSidechain":false,"cwd":"/home/ana/shop","sessionId":"s{seed}","type":"assistant","uuid":"u{i}","timestamp":"{ts}","message":{{"id":"msg_{i}","role":"assistant","model":"claude-sonnet-4-5","content":[{{"type":"thinking","thinking":"Run it.","signature":"x"}},{{"type":"text","text":"Running the tests now."}},{{"type":"tool_use","id":"toolu_{i}","name":"Bash","input":{{"command":"pnpm test checkout","description":"Run checkout tests"}}}}],"usage":{{"input_tokens":4,"output_tokens":61}}}}}}"#,
                p = i - 1
            ),
            _ => format!(
                r#"{{"parentUuid":"u{p}","isSidechain":false,"cwd":"/home/ana/shop","sessionId":"s{seed}","type":"user","uuid":"u{i}","timestamp":"{ts}","message":{{"role":"user","content":[{{"type":"tool_result","tool_use_id":"toolu_{p}","is_error":{err},"content":"PASS src/checkout/total.test.ts\n  formats 1’234.50 CHF (12 ms)"}}]}}}}"#,
                p = i - 1,
                err = i % 15 == 2
            ),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out.into_bytes()
}

fn import(c: &mut Criterion) {
    let mut group = c.benchmark_group("import");
    for lines in [1_000usize, 10_000] {
        let bytes = claude_code(0, lines);
        group.throughput(Throughput::Elements(lines as u64));
        group.bench_with_input(BenchmarkId::new("claude_code_lines", lines), &bytes, |b, bytes| {
            b.iter(|| parse(black_box(bytes), SessionFormat::ClaudeCode, "bench").map(|s| s.len()))
        });
        group.bench_with_input(BenchmarkId::new("auto_claude_code_lines", lines), &bytes, |b, bytes| {
            b.iter(|| parse_as(black_box(bytes), FormatChoice::Auto, "bench").map(|s| s.len()))
        });
    }
    group.finish();
}

fn store(c: &mut Criterion) {
    let sessions: Vec<_> = (0..100)
        .map(|i| {
            let bytes = claude_code(i, 30);
            let mut s = parse(&bytes, SessionFormat::ClaudeCode, "bench").expect("generated input parses");
            s.remove(0)
        })
        .collect();
    let mut group = c.benchmark_group("session_store");
    group.throughput(Throughput::Elements(sessions.len() as u64));
    group.sample_size(10);
    group.bench_function("put_new_100", |b| {
        b.iter_with_setup(
            || tempfile::tempdir().expect("temp dir"),
            |dir| {
                let store = SessionStore::open(dir.path()).expect("open");
                for s in &sessions {
                    store.put(s).expect("put");
                }
                dir
            },
        )
    });
    let transcripts = tempfile::tempdir().expect("temp dir");
    for i in 0..sessions.len() {
        std::fs::write(transcripts.path().join(format!("{i:03}.jsonl")), claude_code(i, 30)).expect("write");
    }
    let inputs = [transcripts.path().to_path_buf()];
    group.bench_function("import_paths_new_100_files", |b| {
        b.iter_with_setup(
            || tempfile::tempdir().expect("temp dir"),
            |dir| {
                let store = SessionStore::open(dir.path()).expect("open");
                let cancel = CancelToken::new();
                let summary = store
                    .import_paths(&inputs, FormatChoice::Auto, OnError::Stop, &Silent, &cancel)
                    .expect("import");
                assert_eq!(summary.new, 100);
                dir
            },
        )
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SessionStore::open(dir.path()).expect("open");
    for s in &sessions {
        store.put(s).expect("put");
    }
    group.bench_function("import_paths_existing_100_files", |b| {
        let cancel = CancelToken::new();
        b.iter(|| {
            store
                .import_paths(&inputs, FormatChoice::Auto, OnError::Stop, &Silent, &cancel)
                .expect("import")
                .new
        })
    });
    group.bench_function("put_existing_100", |b| {
        b.iter(|| sessions.iter().filter(|s| store.put(s).expect("put")).count())
    });
    group.bench_function("summaries_100", |b| b.iter(|| store.summaries().expect("summaries").len()));
    group.finish();

    let encoded: Vec<Vec<u8>> = sessions.iter().map(storage::encode).collect();
    let mut group = c.benchmark_group("session_codec");
    group.throughput(Throughput::Elements(encoded.len() as u64));
    group.bench_function("decode_100", |b| {
        b.iter(|| {
            encoded
                .iter()
                .filter(|e| storage::decode(black_box(e), std::path::Path::new("b")).is_ok())
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, import, store);
criterion_main!(benches);
