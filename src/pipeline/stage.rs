//! The pipeline's stages as a type, and the one helper that owns what every stage does around its
//! work: skip what an earlier run finished, report the start, record the completion in the
//! validator's state file, report it, and (test builds only) offer the crash point.

use std::fmt;

use serde::Serialize;

use super::{PipelineError, context::Ctx};
use crate::journal::{Stage, StateFile};

/// A stage of `ssv-agent run`, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StageId {
    /// Everything that can refuse before anything starts.
    Preflight,
    /// The DKG ceremonies.
    Dkg,
    /// The ceremony outputs checked.
    Verify,
    /// The deposit, once.
    Deposit,
    /// Waiting for the beacon chain.
    Activation,
    /// SSV registration.
    Register,
    /// The cluster's runway.
    Fund,
}

impl StageId {
    /// Every stage, in order.
    pub const ALL: [Self; 7] = [
        Self::Preflight,
        Self::Dkg,
        Self::Verify,
        Self::Deposit,
        Self::Activation,
        Self::Register,
        Self::Fund,
    ];

    /// The name shown in the stage list and events.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Preflight => "preflight",
            Self::Dkg => "dkg",
            Self::Verify => "verify",
            Self::Deposit => "deposit",
            Self::Activation => "activation",
            Self::Register => "register",
            Self::Fund => "fund",
        }
    }

    /// The validator state recorded when this stage completes (`None` for preflight).
    pub const fn completes(self) -> Option<Stage> {
        match self {
            Self::Preflight => None,
            Self::Dkg => Some(Stage::Ceremony),
            Self::Verify => Some(Stage::Verified),
            Self::Deposit => Some(Stage::Deposited),
            Self::Activation => Some(Stage::Active),
            Self::Register => Some(Stage::Registered),
            Self::Fund => Some(Stage::Funded),
        }
    }
}

impl fmt::Display for StageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a test run may SIGKILL itself: after a stage's state is persisted, or right after the
/// deposit is journaled as signed but before it is broadcast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillPoint {
    /// After this stage completed.
    After(StageId),
    /// Between journaling the signed deposit and broadcasting it.
    DepositSigned,
}

impl fmt::Display for KillPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::After(id) => f.write_str(id.name()),
            Self::DepositSigned => f.write_str("deposit.signed"),
        }
    }
}

impl std::str::FromStr for KillPoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "deposit.signed" {
            return Ok(Self::DepositSigned);
        }
        StageId::ALL
            .into_iter()
            .filter(|id| *id != StageId::Preflight)
            .find(|id| id.name() == s)
            .map(Self::After)
            .ok_or_else(|| format!("unknown kill point `{s}`"))
    }
}

/// SIGKILLs this process when `wanted` is `here` (builds with the `test-hooks` feature only: the
/// crash tests simulate a power cut at each boundary).
pub fn kill_point(wanted: Option<KillPoint>, here: KillPoint) {
    #[cfg(all(unix, feature = "test-hooks"))]
    if wanted == Some(here) {
        eprintln!("test hook: killing the process at {here}");
        // SAFETY: kill(2) on our own pid; SIGKILL is what the crash tests simulate.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
    #[cfg(not(all(unix, feature = "test-hooks")))]
    let _ = (wanted, here);
}

/// One stage of one validator (`label`) or of the cluster, started.
#[must_use = "finish the stage with done()"]
#[derive(Debug)]
pub struct StageRun {
    id: StageId,
    label: Option<String>,
}

impl StageRun {
    /// Starts `id` unless `state` shows an earlier run completed it (then reports `skipped`).
    pub fn begin(
        ctx: &Ctx,
        id: StageId,
        label: Option<&str>,
        state: Option<&StateFile>,
        skipped: &str,
    ) -> Option<Self> {
        let done = match (id.completes(), state) {
            (Some(stage), Some(s)) => s.get().stage >= stage,
            _ => false,
        };
        if done {
            ctx.ui.stage_skipped(id.name(), label, skipped);
            return None;
        }
        ctx.ui.stage_started(id.name(), label);
        Some(Self {
            id,
            label: label.map(str::to_string),
        })
    }

    /// The stage.
    pub fn id(&self) -> StageId {
        self.id
    }

    /// Wraps a failure of this stage with its name and validator.
    pub fn fail(&self, e: impl Into<super::error::Cause>) -> PipelineError {
        PipelineError::stage(self.id, self.label.as_deref().unwrap_or("cluster"), e)
    }

    /// A failure that is only a sentence.
    pub fn refuse(&self, reason: impl Into<String>) -> PipelineError {
        PipelineError::stage_reason(self.id, self.label.as_deref().unwrap_or("cluster"), reason)
    }

    /// Records the completion in each state file, reports it, and offers the crash point.
    pub fn done<'a>(
        self,
        ctx: &Ctx,
        states: impl IntoIterator<Item = &'a mut StateFile>,
        detail: impl Into<String>,
    ) -> Result<(), PipelineError> {
        if let Some(stage) = self.id.completes() {
            for s in states {
                s.update(|st| st.advance(stage))?;
            }
        }
        ctx.ui
            .stage_done(self.id.name(), self.label.as_deref(), detail);
        kill_point(ctx.opts.kill_at, KillPoint::After(self.id));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_points_parse_from_their_names() {
        assert_eq!("dkg".parse(), Ok(KillPoint::After(StageId::Dkg)));
        assert_eq!("deposit.signed".parse(), Ok(KillPoint::DepositSigned));
        assert!("preflight".parse::<KillPoint>().is_err());
        assert!("nope".parse::<KillPoint>().is_err());
        for p in ["fund", "deposit.signed"] {
            assert_eq!(p.parse::<KillPoint>().unwrap().to_string(), p);
        }
        assert!(StageId::ALL.windows(2).all(|w| w[0] < w[1]));
    }
}
