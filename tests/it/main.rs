//! The integration tests: one binary, one module per area, so that the
//! crate and its dependencies are linked once rather than once per file.
//!
//! Run one module with `cargo test --test it store_crash::`, one test with
//! its full name (`cargo test --test it store_crash::zero_filled_tail_is_a_torn_write`).
//! Tests that need the MiniLM model are `#[ignore]`d with that reason;
//! `bash scripts/test.sh` runs them (`--include-ignored`). Fixtures live in
//! `tests/fixtures/`; proptest keeps its regressions in
//! `tests/proptest-regressions/` (beside this binary's source directory).
//!
//! Every test shares one process with the others, on parallel threads:
//! take MiniLM from [`common::minilm`] (ONNX Runtime allows one environment
//! per process), change no environment variable or working directory (pass
//! them to the child `Command` instead), and expect that another test may
//! be starting a process at any moment — its child holds copies of this
//! process's open files, and their locks, until its `exec`.

mod common;
#[cfg(feature = "remote")]
mod support;

mod agent_cli;
mod agent_mcp;
mod dream_cache;
mod dream_certain_or_ask;
mod dream_cli;
mod dream_patterns;
mod dream_pipeline;
mod dream_quality;
mod dream_team_patterns;
mod embed_cache;
mod embed_cli;
mod embed_determinism;
mod embed_minilm;
mod folder_cli;
mod hosted_sync;
mod remote_cli;
mod remote_http;
mod remote_resolvers;
mod resolve_exec;
mod resolve_quality;
mod review_options;
mod review_pty;
mod sessions_cli;
mod sessions_import;
mod sessions_store;
mod store_cli;
mod store_corruption;
mod store_crash;
mod store_import;
mod store_lock;
mod store_model;
mod store_read_only;
