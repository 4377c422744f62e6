//! What dreamwork's integration tests (`tests/it/`), benches and examples
//! share, as a crate of its own rather than files pulled in with `#[path]`:
//!
//! - [`corpus`]: a seeded generator of a team's memory store and session
//!   transcripts with ground truth, and the scoring of a dream against it;
//! - [`oracle`]: a resolver that answers every question from that truth, as
//!   a perfect model would.
//!
//! Not published; a dev-dependency of `dreamwork`, on which it depends in
//! turn (by path, so both sides link the same crate).

pub mod corpus;
pub mod oracle;
