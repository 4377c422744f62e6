//! Progress bars on a terminal for the library's progress events.

use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use dreamwork::{Observer, Progress};

/// Shows one bar per stage on stderr when it is a terminal; silent
/// otherwise (cron, pipes, tests).
pub(crate) struct Bars {
    current: Mutex<Option<(&'static str, ProgressBar)>>,
}

impl Bars {
    /// A new, idle set of bars.
    pub(crate) fn new() -> Self {
        Self { current: Mutex::new(None) }
    }

    /// Finishes the bar on screen, if any.
    pub(crate) fn finish(&self) {
        if let Ok(mut current) = self.current.lock()
            && let Some((_, bar)) = current.take()
        {
            bar.finish_and_clear();
        }
    }
}

impl Observer for Bars {
    fn progress(&self, event: Progress) {
        let Ok(mut current) = self.current.lock() else { return };
        let same_stage = matches!(&*current, Some((stage, _)) if *stage == event.stage);
        if !same_stage {
            if let Some((_, bar)) = current.take() {
                bar.finish_and_clear();
            }
            let bar = ProgressBar::with_draw_target(Some(event.total), ProgressDrawTarget::stderr());
            let style =
                ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(event.stage);
            *current = Some((event.stage, bar));
        }
        if let Some((_, bar)) = &*current {
            if event.total > 0 {
                bar.set_length(event.total);
            }
            bar.set_position(event.done);
        }
    }
}
