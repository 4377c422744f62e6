//! Helpers of the remote-resolver tests: the loopback stand-in for
//! Anthropic's API, and a clock that never sleeps.

pub mod standin;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dreamwork::resolve::http::Wait;
use dreamwork::{CancelToken, Cancelled};

/// Records the waits a client asks for and returns at once; jitter is
/// fixed at 1, so the delays are exact.
#[derive(Clone, Default)]
pub struct Waits(Arc<Mutex<Vec<Duration>>>);

impl Wait for Waits {
    fn wait(&self, delay: Duration, cancel: &CancelToken) -> Result<(), Cancelled> {
        self.0.lock().expect("waits lock").push(delay);
        cancel.check()
    }
    fn jitter(&self) -> f64 {
        1.0
    }
}

impl Waits {
    /// The waits asked for so far, in order.
    pub fn taken(&self) -> Vec<Duration> {
        self.0.lock().expect("waits lock").clone()
    }
}
