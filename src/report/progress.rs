//! The live progress bar, on a terminal only; it consumes events as they arrive.
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::runner::event::{Event, Status};
use crate::runner::run::Observer;

pub struct Progress {
    bar: ProgressBar,
    /// Whether the bar draws nowhere, asked once: asking the bar takes its lock, once per
    /// event of a run of thousands of tests.
    hidden: bool,
    problems: u64,
}

impl Progress {
    /// `expected` is the static estimate; the bar grows if imports find more.
    pub fn new(expected: u64, enabled: bool) -> Self {
        let target = if enabled {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(expected), target);
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
        {
            bar.set_style(style);
        }
        Progress {
            hidden: bar.is_hidden(),
            bar,
            problems: 0,
        }
    }

    pub fn on_event(&mut self, event: &Event) {
        if self.hidden {
            return;
        }
        match event {
            Event::TestStarted(_)
            | Event::BenchHarness(_)
            | Event::FileStarted { .. }
            | Event::HookStarted { .. }
            | Event::FileDone { .. } => {}
            Event::BenchGroupFinished(g) => self.bar.set_message(format!("benchmarked {}", g.name)),
            Event::TestFinished(r) | Event::FileError(r) => {
                if self.bar.position() >= self.bar.length().unwrap_or(0) {
                    self.bar.inc_length(1);
                }
                self.bar.inc(1);
                if matches!(r.status, Status::Failed | Status::Error) {
                    self.problems += 1;
                    self.bar.set_message(format!("{} failing", self.problems));
                }
            }
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// The live view follows the run through its events.
impl Observer for Progress {
    fn on_event(&mut self, event: &Event) {
        Progress::on_event(self, event);
    }

    fn on_end(&mut self) {
        self.finish();
    }
}
