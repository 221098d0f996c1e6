//! A progress bar for the long commands (`import`, `gen-synthetic`).

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

/// A progress line on stderr (rows, rows/s, ETA), redrawn at most five times a second; silent
/// when stderr is not a terminal, so logs and CI output stay clean.
pub struct Progress {
    total: u64,
    /// What is counted: assets, rows.
    unit: &'static str,
    started: Instant,
    drawn: Option<Instant>,
    active: bool,
}

impl Progress {
    pub fn new(total: u64, unit: &'static str) -> Self {
        Self {
            total,
            unit,
            started: Instant::now(),
            drawn: None,
            active: std::io::stderr().is_terminal(),
        }
    }

    pub fn update(&mut self, done: u64) {
        if !self.active {
            return;
        }
        // The total may be an estimate (the lines of a GeoJSON file are not its features).
        self.total = self.total.max(done);
        let now = Instant::now();
        if done < self.total
            && self
                .drawn
                .is_some_and(|t| now - t < Duration::from_millis(200))
        {
            return;
        }
        self.drawn = Some(now);
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = done as f64 / secs;
        let eta = if rate > 0.0 {
            (self.total - done.min(self.total)) as f64 / rate
        } else {
            0.0
        };
        let width = 30;
        let filled = (width as u64 * done / self.total.max(1)) as usize;
        let _ = write!(
            std::io::stderr(),
            "\r[{}{}] {done}/{} {}  {rate:.0} rows/s  ETA {}:{:02}  ",
            "#".repeat(filled),
            " ".repeat(width - filled.min(width)),
            self.total,
            self.unit,
            (eta as u64) / 60,
            (eta as u64) % 60,
        );
    }

    pub fn finish(&mut self) {
        if self.active {
            let _ = writeln!(std::io::stderr());
        }
    }
}
