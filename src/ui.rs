//! Progress output for people and machines. One [`Reporter`] per run, cheap to clone and shared by
//! the pipeline and the stages; it renders the same [`Event`]s three ways:
//! * `Terminal` (stderr is a TTY): a stage list with the current stage, spinners and progress bars
//!   (indicatif) for the ceremony, confirmations and the activation queue with its ETA;
//! * `Plain` (not a TTY, e.g. CI logs): one readable line per event on stderr;
//! * `Json` (`--json`): one JSON object per line on stdout, nothing else there.
//!
//! Events never carry secrets: callers pass public facts (stage names, pubkeys, hashes, amounts).

use std::{
    collections::HashMap,
    io::{IsTerminal, Write},
    sync::{Arc, Mutex},
    time::Duration,
};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

/// How events are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// Spinners and bars on stderr.
    Terminal,
    /// Plain lines on stderr.
    Plain,
    /// One JSON object per line on stdout.
    Json,
}

impl OutputMode {
    /// `Json` when asked, else `Terminal` when stderr is a TTY, else `Plain`.
    pub fn detect(json: bool) -> Self {
        if json {
            Self::Json
        } else if std::io::stderr().is_terminal() {
            Self::Terminal
        } else {
            Self::Plain
        }
    }
}

/// Something a person or a machine may want to know about a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The stage list of the run, in order.
    Plan {
        /// Stage names.
        stages: Vec<String>,
        /// Validators in this run.
        validators: usize,
        /// True for a dry run against a fork.
        dry_run: bool,
    },
    /// A stage began (for one validator, or for the run when `validator` is `None`).
    StageStarted {
        /// Stage name.
        stage: String,
        /// Validator label (`#<nonce> 0x<pubkey prefix>`), if per validator.
        validator: Option<String>,
    },
    /// A stage finished.
    StageDone {
        /// Stage name.
        stage: String,
        /// Validator label.
        validator: Option<String>,
        /// What was found or done.
        detail: String,
    },
    /// A stage had nothing to do (already done in an earlier run, or skipped in a dry run).
    StageSkipped {
        /// Stage name.
        stage: String,
        /// Validator label.
        validator: Option<String>,
        /// Why.
        reason: String,
    },
    /// A stage failed; the run stops.
    StageFailed {
        /// Stage name.
        stage: String,
        /// Validator label.
        validator: Option<String>,
        /// The error and what to do next.
        error: String,
    },
    /// Progress of a long task (ceremonies, confirmations, activation queue).
    Progress {
        /// Task key, stable across updates.
        task: String,
        /// Units done.
        done: u64,
        /// Units in total, when known.
        total: Option<u64>,
        /// Current state in words.
        message: String,
        /// Estimated seconds left, when known.
        eta_secs: Option<u64>,
    },
    /// A long task ended (its bar is cleared).
    ProgressDone {
        /// Task key.
        task: String,
        /// Final message.
        message: String,
    },
    /// A transaction moved (signed, broadcast, confirmed, reverted, or simulated in a dry run).
    Transaction {
        /// What it does (`deposit`, `register`, `topup`, ...).
        kind: String,
        /// Validator label, if the transaction is for one validator.
        validator: Option<String>,
        /// Status word.
        status: String,
        /// 0x hash.
        hash: String,
        /// Gas used (or estimated).
        gas: Option<u64>,
        /// ETH moved, in wei (decimal string).
        eth_wei: String,
        /// SSV moved, in SSV wei (decimal string).
        ssv_wei: String,
    },
    /// A note.
    Info {
        /// Text.
        message: String,
    },
    /// Something the user should look at, the run continues.
    Warning {
        /// Text.
        message: String,
    },
    /// The end of a run with its key facts.
    Summary {
        /// Free-form key facts (validators, cluster balance, runway...).
        facts: serde_json::Value,
    },
}

/// Renders events; clone it freely (all clones share one output).
#[derive(Clone)]
pub struct Reporter {
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter").finish_non_exhaustive()
    }
}

struct Inner {
    mode: OutputMode,
    sink: Box<dyn Write + Send>,
    stages: Vec<String>,
    // Index in `stages` of the furthest stage started, for the stage list.
    current: Option<usize>,
    multi: Option<MultiProgress>,
    header: Option<ProgressBar>,
    bars: HashMap<String, ProgressBar>,
    // Last plain line per progress task: polls repeat the same state, print only changes.
    last_progress: HashMap<String, String>,
    // Events kept for tests and summaries (bounded by the run's size: a few per stage and tx).
    recorded: Vec<Event>,
}

impl Reporter {
    /// A reporter for `mode` writing to the process's stderr (Terminal, Plain) or stdout (Json).
    pub fn new(mode: OutputMode) -> Self {
        let sink: Box<dyn Write + Send> = match mode {
            OutputMode::Json => Box::new(std::io::stdout()),
            _ => Box::new(std::io::stderr()),
        };
        let multi = (mode == OutputMode::Terminal)
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10)));
        Self::build(mode, sink, multi)
    }

    /// A reporter writing plain lines or JSON into `sink` (tests, log files). `Terminal` becomes
    /// `Plain` here: bars need a real terminal.
    pub fn to_writer(mode: OutputMode, sink: Box<dyn Write + Send>) -> Self {
        let mode = if mode == OutputMode::Terminal {
            OutputMode::Plain
        } else {
            mode
        };
        Self::build(mode, sink, None)
    }

    /// A reporter that only records (library callers that do not want output).
    pub fn silent() -> Self {
        Self::build(OutputMode::Plain, Box::new(std::io::sink()), None)
    }

    fn build(mode: OutputMode, sink: Box<dyn Write + Send>, multi: Option<MultiProgress>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                mode,
                sink,
                stages: Vec::new(),
                current: None,
                multi,
                header: None,
                bars: HashMap::new(),
                last_progress: HashMap::new(),
                recorded: Vec::new(),
            })),
        }
    }

    /// The rendering mode.
    pub fn mode(&self) -> OutputMode {
        self.lock().mode
    }

    /// Every event emitted so far, in order.
    pub fn events(&self) -> Vec<Event> {
        self.lock().recorded.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock only loses output; keep reporting.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Emits one event.
    pub fn emit(&self, event: Event) {
        let mut inner = self.lock();
        inner.render(&event);
        inner.recorded.push(event);
    }

    /// Announces the stage list.
    pub fn plan(&self, stages: &[&str], validators: usize, dry_run: bool) {
        self.emit(Event::Plan {
            stages: stages.iter().map(|s| s.to_string()).collect(),
            validators,
            dry_run,
        });
    }

    /// A stage began.
    pub fn stage_started(&self, stage: &str, validator: Option<&str>) {
        self.emit(Event::StageStarted {
            stage: stage.into(),
            validator: validator.map(Into::into),
        });
    }

    /// A stage finished.
    pub fn stage_done(&self, stage: &str, validator: Option<&str>, detail: impl Into<String>) {
        self.emit(Event::StageDone {
            stage: stage.into(),
            validator: validator.map(Into::into),
            detail: detail.into(),
        });
    }

    /// A stage was skipped.
    pub fn stage_skipped(&self, stage: &str, validator: Option<&str>, reason: impl Into<String>) {
        self.emit(Event::StageSkipped {
            stage: stage.into(),
            validator: validator.map(Into::into),
            reason: reason.into(),
        });
    }

    /// A stage failed.
    pub fn stage_failed(&self, stage: &str, validator: Option<&str>, error: impl Into<String>) {
        self.emit(Event::StageFailed {
            stage: stage.into(),
            validator: validator.map(Into::into),
            error: error.into(),
        });
    }

    /// Progress of a long task.
    pub fn progress(
        &self,
        task: &str,
        done: u64,
        total: Option<u64>,
        message: impl Into<String>,
        eta_secs: Option<u64>,
    ) {
        self.emit(Event::Progress {
            task: task.into(),
            done,
            total,
            message: message.into(),
            eta_secs,
        });
    }

    /// A long task ended.
    pub fn progress_done(&self, task: &str, message: impl Into<String>) {
        self.emit(Event::ProgressDone {
            task: task.into(),
            message: message.into(),
        });
    }

    /// A note.
    pub fn info(&self, message: impl Into<String>) {
        self.emit(Event::Info {
            message: message.into(),
        });
    }

    /// A warning.
    pub fn warn(&self, message: impl Into<String>) {
        self.emit(Event::Warning {
            message: message.into(),
        });
    }
}

/// `#<nonce> 0x<first 8 hex digits>…`: short enough for a stage line, unique within a run.
pub fn validator_label(nonce: u64, pubkey: Option<&[u8; 48]>) -> String {
    match pubkey {
        Some(pk) => format!("#{nonce} 0x{}…", hex::encode(&pk[..4])),
        None => format!("#{nonce}"),
    }
}

/// Seconds as `1h02m`, `3m05s` or `42s`.
pub fn fmt_duration(secs: u64) -> String {
    match secs {
        s if s >= 3600 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        s if s >= 60 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

/// Wei as ETH with up to 6 decimals (display only; amounts are kept in wei everywhere else).
pub fn fmt_eth(wei: alloy::primitives::U256) -> String {
    let unit = alloy::primitives::U256::from(1_000_000_000_000_000_000u128);
    let whole = wei / unit;
    let micro = (wei % unit) / alloy::primitives::U256::from(1_000_000_000_000u64);
    format!("{whole}.{micro:0>6}")
}

impl Inner {
    fn render(&mut self, e: &Event) {
        if let Event::Plan { stages, .. } = e {
            self.stages = stages.clone();
        }
        if let Event::StageStarted { stage, .. } = e
            && let Some(i) = self.stages.iter().position(|s| s == stage)
        {
            self.current = Some(self.current.map_or(i, |c| c.max(i)));
        }
        match self.mode {
            OutputMode::Json => {
                // serde_json cannot fail on these plain types; a write error (closed pipe) is not
                // worth stopping a run that moves money.
                if let Ok(line) = serde_json::to_string(e) {
                    let _ = writeln!(self.sink, "{line}");
                    let _ = self.sink.flush();
                }
            }
            OutputMode::Plain => {
                if let Event::Progress { task, message, .. } = e {
                    if self.last_progress.get(task) == Some(message) {
                        return;
                    }
                    self.last_progress.insert(task.clone(), message.clone());
                }
                if let Some(line) = plain_line(e) {
                    let _ = writeln!(self.sink, "{line}");
                    let _ = self.sink.flush();
                }
            }
            OutputMode::Terminal => self.render_terminal(e),
        }
    }

    fn stage_list(&self) -> String {
        self.stages
            .iter()
            .enumerate()
            .map(|(i, s)| match self.current {
                Some(c) if i < c => format!("✓ {s}"),
                Some(c) if i == c => format!("▶ {s}"),
                _ => format!("· {s}"),
            })
            .collect::<Vec<_>>()
            .join("  ")
    }

    fn println(&self, line: &str) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(line);
            }
            None => eprintln!("{line}"),
        }
    }

    fn render_terminal(&mut self, e: &Event) {
        let Some(multi) = self.multi.clone() else {
            return;
        };
        match e {
            Event::Plan { .. } | Event::StageStarted { .. } => {
                let list = self.stage_list();
                let header = self.header.get_or_insert_with(|| {
                    let pb = multi.insert(0, ProgressBar::new_spinner());
                    pb.set_style(
                        ProgressStyle::with_template("{spinner:.cyan} {msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    pb.enable_steady_tick(Duration::from_millis(120));
                    pb
                });
                let mut msg = String::new();
                if let Event::StageStarted { stage, validator } = e {
                    msg = match validator {
                        Some(v) => format!("{stage} {v}"),
                        None => stage.clone(),
                    };
                }
                header.set_message(format!("{list}\n  {msg}"));
            }
            Event::Progress {
                task,
                done,
                total,
                message,
                eta_secs,
            } => {
                let pb = self.bars.entry(task.clone()).or_insert_with(|| {
                    let pb = match total {
                        Some(t) => {
                            let pb = multi.add(ProgressBar::new(*t));
                            pb.set_style(
                                ProgressStyle::with_template(
                                    "  {spinner:.green} {prefix} [{bar:30.cyan/blue}] {pos}/{len} {msg}",
                                )
                                .unwrap_or_else(|_| ProgressStyle::default_bar())
                                .progress_chars("=> "),
                            );
                            pb
                        }
                        None => {
                            let pb = multi.add(ProgressBar::new_spinner());
                            pb.set_style(
                                ProgressStyle::with_template("  {spinner:.green} {prefix} {msg}")
                                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                            );
                            pb
                        }
                    };
                    pb.set_prefix(task.clone());
                    pb.enable_steady_tick(Duration::from_millis(120));
                    pb
                });
                pb.set_position(*done);
                let eta = eta_secs
                    .map(|s| format!(" (ETA {})", fmt_duration(s)))
                    .unwrap_or_default();
                pb.set_message(format!("{message}{eta}"));
            }
            Event::ProgressDone { task, message } => {
                if let Some(pb) = self.bars.remove(task) {
                    pb.finish_and_clear();
                    multi.remove(&pb);
                }
                self.println(&format!("  ✓ {task}: {message}"));
            }
            Event::Summary { .. } => {
                if let Some(h) = self.header.take() {
                    h.finish_and_clear();
                }
                if let Some(line) = plain_line(e) {
                    self.println(&line);
                }
            }
            other => {
                if let Some(line) = plain_line(other) {
                    self.println(&line);
                }
            }
        }
    }
}

fn with_validator(v: &Option<String>) -> String {
    v.as_ref().map(|v| format!(" [{v}]")).unwrap_or_default()
}

/// The plain-text line for an event (`None` for events that only drive bars).
pub fn plain_line(e: &Event) -> Option<String> {
    Some(match e {
        Event::Plan {
            stages,
            validators,
            dry_run,
        } => format!(
            "plan: {} for {validators} validator(s){}",
            stages.join(" -> "),
            if *dry_run {
                " (dry run on a fork: nothing reaches the real chain)"
            } else {
                ""
            }
        ),
        Event::StageStarted { stage, validator } => {
            format!("▶ {stage}{}", with_validator(validator))
        }
        Event::StageDone {
            stage,
            validator,
            detail,
        } => format!("✓ {stage}{}: {detail}", with_validator(validator)),
        Event::StageSkipped {
            stage,
            validator,
            reason,
        } => format!("- {stage}{}: skipped, {reason}", with_validator(validator)),
        Event::StageFailed {
            stage,
            validator,
            error,
        } => format!("✗ {stage}{}: {error}", with_validator(validator)),
        Event::Progress {
            task,
            done,
            total,
            message,
            eta_secs,
        } => {
            let of = total.map(|t| format!("{done}/{t} ")).unwrap_or_default();
            let eta = eta_secs
                .map(|s| format!(" (ETA {})", fmt_duration(s)))
                .unwrap_or_default();
            format!("  … {task}: {of}{message}{eta}")
        }
        Event::ProgressDone { task, message } => format!("  ✓ {task}: {message}"),
        Event::Transaction {
            kind,
            validator,
            status,
            hash,
            gas,
            eth_wei,
            ssv_wei,
        } => {
            let gas = gas.map(|g| format!(" gas {g}")).unwrap_or_default();
            let eth = eth_wei
                .parse::<alloy::primitives::U256>()
                .map(fmt_eth)
                .unwrap_or_else(|_| eth_wei.clone());
            let ssv = if ssv_wei != "0" {
                let s = ssv_wei
                    .parse::<alloy::primitives::U256>()
                    .map(fmt_eth)
                    .unwrap_or_else(|_| ssv_wei.clone());
                format!(" SSV {s}")
            } else {
                String::new()
            };
            format!(
                "  tx {kind}{} {status} {hash}{gas} ETH {eth}{ssv}",
                with_validator(validator)
            )
        }
        Event::Info { message } => format!("  {message}"),
        Event::Warning { message } => format!("! {message}"),
        Event::Summary { facts } => {
            let mut out = String::from("summary:");
            if let Some(map) = facts.as_object() {
                for (k, v) in map {
                    let v = match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    out.push_str(&format!("\n  {k}: {v}"));
                }
            }
            out
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cloneable in-memory sink.
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Buf {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn json_mode_writes_one_parsable_event_per_line() {
        let buf = Buf::default();
        let r = Reporter::to_writer(OutputMode::Json, Box::new(buf.clone()));
        r.plan(&["preflight", "dkg"], 2, false);
        r.stage_started("dkg", Some("#0 0xabcd…"));
        r.progress("activation", 3, Some(10), "pending_queued", Some(90));
        let text = buf.text();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["event"], "plan");
        assert_eq!(lines[0]["validators"], 2);
        assert_eq!(lines[1]["event"], "stage_started");
        assert_eq!(lines[1]["validator"], "#0 0xabcd…");
        assert_eq!(lines[2]["eta_secs"], 90);
        assert_eq!(r.events().len(), 3);
    }

    #[test]
    fn plain_mode_says_what_and_why() {
        let buf = Buf::default();
        let r = Reporter::to_writer(OutputMode::Terminal, Box::new(buf.clone()));
        assert_eq!(r.mode(), OutputMode::Plain);
        r.stage_skipped("activation", None, "dry run: the wait is not simulated");
        r.stage_failed("deposit", Some("#3"), "balance too low; top up the wallet");
        // Repeated polls with the same state print once; a new state prints again.
        r.progress("activation #3", 1, None, "pending_queued", Some(60));
        r.progress("activation #3", 2, None, "pending_queued", Some(48));
        r.progress("activation #3", 3, None, "active_ongoing", None);
        let text = buf.text();
        assert_eq!(text.matches("pending_queued").count(), 1, "{text}");
        assert!(text.contains("active_ongoing"), "{text}");
        assert!(
            text.contains("- activation: skipped, dry run: the wait is not simulated"),
            "{text}"
        );
        assert!(
            text.contains("✗ deposit [#3]: balance too low; top up the wallet"),
            "{text}"
        );
    }

    #[test]
    fn stage_list_marks_done_current_and_pending() {
        let r = Reporter::silent();
        r.plan(&["a", "b", "c"], 1, false);
        r.stage_started("b", None);
        // A later event for an earlier stage (another validator) does not move the cursor back.
        r.stage_started("a", None);
        assert_eq!(r.lock().stage_list(), "✓ a  ▶ b  · c");
    }

    #[test]
    fn amounts_and_durations_format() {
        use alloy::primitives::U256;
        assert_eq!(
            fmt_eth(U256::from(32_000_000_000_000_000_000u128)),
            "32.000000"
        );
        assert_eq!(fmt_eth(U256::from(1_500_000_000_000_000u128)), "0.001500");
        assert_eq!(fmt_duration(3725), "1h02m");
        assert_eq!(fmt_duration(185), "3m05s");
        assert_eq!(fmt_duration(9), "9s");
        assert_eq!(validator_label(7, Some(&[0xab; 48])), "#7 0xabababab…");
    }
}
