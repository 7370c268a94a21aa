//! The progress bar on stderr: rows read, rows per second, and an ETA
//! when the inputs' sizes are known (regular files; their bytes read,
//! compressed or not, measure how far the run is). Silent when stderr is
//! not a terminal, so logs and pipes get only the summary.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar that is drawn only on a terminal.
pub struct Progress {
    bar: ProgressBar,
    started: Instant,
}

impl Progress {
    /// A bar for `total` bytes of input, or a spinner when it is unknown
    /// (standard input).
    pub fn new(total: Option<u64>) -> Progress {
        let target = ProgressDrawTarget::stderr_with_hz(4);
        let (bar, template) = match total {
            Some(len) => (
                ProgressBar::with_draw_target(Some(len), target),
                "{elapsed_precise} [{bar:28}] {percent:>3}% {msg}, ETA {eta}",
            ),
            None => (
                ProgressBar::with_draw_target(None, target),
                "{spinner} {elapsed_precise} {msg}",
            ),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(250));
        Progress {
            bar,
            started: Instant::now(),
        }
    }

    /// Rows judged and bytes read so far.
    pub fn update(&self, rows: u64, bytes: u64) {
        if self.bar.is_hidden() {
            return;
        }
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        self.bar.set_position(bytes);
        self.bar
            .set_message(format!("{rows} rows, {:.0} rows/s", rows as f64 / secs));
    }

    /// Clears the bar before the summary is printed.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
