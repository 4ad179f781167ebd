//! Step-by-step progress of a devnet start, for the person waiting on `demo` or `devnet up`: a
//! start takes tens of seconds (most of it Lodestar loading and reaching its first slots), and one
//! silent line for all of it reads like a hang.

use std::{fmt, sync::Arc, time::Instant};

type Sink = Arc<dyn Fn(&str) + Send + Sync>;

/// Where [`super::Devnet::start`] reports its steps as one-line messages, each prefixed with the
/// seconds since the start began. The default reports to tracing only.
#[derive(Clone)]
pub struct StartProgress {
    sink: Option<Sink>,
    started: Instant,
}

impl StartProgress {
    /// Reports each step to `sink` (and to tracing).
    pub fn new(sink: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self {
            sink: Some(Arc::new(sink)),
            started: Instant::now(),
        }
    }

    /// Reports one step.
    pub fn step(&self, message: &str) {
        let secs = self.started.elapsed().as_secs_f64();
        tracing::info!(elapsed_s = secs, "{message}");
        if let Some(sink) = &self.sink {
            sink(&format!("[{secs:5.1} s] {message}"));
        }
    }

    /// Seconds since the start began.
    pub fn elapsed_secs(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

impl Default for StartProgress {
    fn default() -> Self {
        Self {
            sink: None,
            started: Instant::now(),
        }
    }
}

impl fmt::Debug for StartProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StartProgress")
            .field("reporting", &self.sink.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn steps_reach_the_sink_with_elapsed_seconds() {
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = Arc::clone(&seen);
        let p = StartProgress::new(move |m| sink.lock().unwrap().push(m.to_string()));
        // Clones (the devnet's tasks hold them) report to the same sink.
        let clone = p.clone();
        clone.step("anvil up");
        p.step("Lodestar ready");
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert!(seen[0].ends_with("s] anvil up"), "{}", seen[0]);
        assert!(seen[1].starts_with('['), "{}", seen[1]);
        StartProgress::default().step("nobody listens");
    }
}
