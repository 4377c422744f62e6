//! Store benchmarks at 10k and 100k memories: batched and single puts (with
//! and without an fsync per put), get,
//! list, and reopen (from a snapshot and by replaying the log).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dreamwork::store::{Durability, Store, StoreOptions};
use dreamwork::{Memory, MemoryPath, Timestamp};

const SIZES: [usize; 2] = [10_000, 100_000];

/// `n` memories of about 200 bytes under 100 topics.
fn memories(n: usize) -> Vec<Memory> {
    (0..n)
        .map(|i| {
            let path = MemoryPath::new(&format!("/topic{:03}/note-{i:07}.md", i % 100)).expect("valid path");
            let content = format!(
                "Memory {i}: the user prefers {} and asked to remember it. {}",
                i % 7,
                "x".repeat(120)
            );
            Memory::new(path, content, Timestamp(1_700_000_000_000 + i as i64))
        })
        .collect()
}

fn filled(dir: &std::path::Path, memories: &[Memory], compact: bool) -> Store {
    let options = StoreOptions::new().snapshot_after_log_bytes(None);
    let mut store = options.create(dir).expect("create");
    let mut batch = store.batch();
    for m in memories {
        batch.put_memory(m.clone()).expect("put");
    }
    batch.commit().expect("commit");
    if compact {
        store.compact().expect("compact");
    }
    store
}

fn put_batched(c: &mut Criterion) {
    let mut group = c.benchmark_group("store/put_batched");
    group.sample_size(10).measurement_time(Duration::from_secs(8));
    for n in SIZES {
        let input = memories(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &input, |b, input| {
            b.iter_batched(
                || {
                    let dir = tempfile::tempdir().expect("tempdir");
                    let store = StoreOptions::new()
                        .snapshot_after_log_bytes(None)
                        .create(dir.path())
                        .expect("create");
                    (dir, store, input.clone())
                },
                |(dir, mut store, input)| {
                    let mut batch = store.batch();
                    for m in input {
                        batch.put_memory(m).expect("put");
                    }
                    black_box(batch.commit().expect("commit"));
                    (dir, store)
                },
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

fn put_single(c: &mut Criterion) {
    for (name, durability) in [
        ("store/put_single_fsync", Durability::Immediate),
        ("store/put_single_no_fsync", Durability::Batched),
    ] {
        put_single_with(c, name, durability);
    }
}

fn put_single_with(c: &mut Criterion, name: &str, durability: Durability) {
    let mut group = c.benchmark_group(name);
    group.sample_size(20).measurement_time(Duration::from_secs(6));
    for n in SIZES {
        let dir = tempfile::tempdir().expect("tempdir");
        drop(filled(dir.path(), &memories(n), true));
        let options = StoreOptions::new().durability(durability).snapshot_after_log_bytes(None);
        let mut store = options.open(dir.path()).expect("open");
        let path = MemoryPath::new("/topic000/new.md").expect("valid path");
        let mut i = 0u64;
        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                i += 1;
                black_box(store.put_at(&path, &format!("edit {i}"), Timestamp(i as i64)).expect("put"))
            });
        });
    }
    group.finish();
}

fn get(c: &mut Criterion) {
    let mut group = c.benchmark_group("store/get");
    for n in SIZES {
        let dir = tempfile::tempdir().expect("tempdir");
        let input = memories(n);
        let store = filled(dir.path(), &input, true);
        let paths: Vec<MemoryPath> = input.iter().step_by(97).map(|m| m.path.clone()).collect();
        group.throughput(Throughput::Elements(paths.len() as u64));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                for p in &paths {
                    black_box(store.get(p).expect("present"));
                }
            });
        });
    }
    group.finish();
}

fn list(c: &mut Criterion) {
    let mut group = c.benchmark_group("store/list_prefix");
    for n in SIZES {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = filled(dir.path(), &memories(n), true);
        let listed = store.list("/topic042/").count();
        group.throughput(Throughput::Elements(listed as u64));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| black_box(store.list("/topic042/").count()));
        });
    }
    group.finish();
}

fn reopen(c: &mut Criterion) {
    for (name, compact) in [("store/reopen_snapshot", true), ("store/reopen_log_replay", false)] {
        let mut group = c.benchmark_group(name);
        group.sample_size(10).measurement_time(Duration::from_secs(8));
        for n in SIZES {
            let dir = tempfile::tempdir().expect("tempdir");
            drop(filled(dir.path(), &memories(n), compact));
            group.throughput(Throughput::Elements(n as u64));
            group.bench_function(BenchmarkId::from_parameter(n), |b| {
                b.iter(|| black_box(Store::open_read_only(dir.path()).expect("open").len()));
            });
        }
        group.finish();
    }
}

criterion_group!(benches, put_batched, put_single, get, list, reopen);
criterion_main!(benches);
