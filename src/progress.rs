//! Progress events and cancellation for long jobs (import, embedding, dream).
//!
//! Library code never prints: it reports [`Progress`] to an [`Observer`] and
//! checks a [`CancelToken`] between batches. The CLI turns events into
//! progress bars.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// How far a stage of a long job has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// A short, stable name of the stage (`"import"`, `"embed"`, `"clusters"`...).
    pub stage: &'static str,
    /// Units of work done so far.
    pub done: u64,
    /// Units of work in all (0 when unknown).
    pub total: u64,
}

/// Receives progress events. Implementations must be cheap: they are called
/// from inside the work loops (at most once per batch).
pub trait Observer: Sync {
    /// A stage advanced.
    fn progress(&self, event: Progress);
}

/// An observer that ignores every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Observer for Silent {
    fn progress(&self, _event: Progress) {}
}

impl<F: Fn(Progress) + Sync> Observer for F {
    fn progress(&self, event: Progress) {
        self(event)
    }
}

/// A shared flag that asks a long job to stop at its next batch boundary.
#[derive(Debug, Default, Clone)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token that has not been cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every job holding a clone of this token to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A job stopped because its [`CancelToken`] was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cancelled")]
pub struct Cancelled;

impl CancelToken {
    /// `Err(Cancelled)` once [`cancel`](Self::cancel) was called.
    pub fn check(&self) -> Result<(), Cancelled> {
        if self.is_cancelled() { Err(Cancelled) } else { Ok(()) }
    }
}
