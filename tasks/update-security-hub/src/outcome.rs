//! The pipeline's outcomes and the Security Hub workflow status each one sets.
//!
//! Security Hub's workflow statuses, as its API reference defines them
//! (<https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_WorkflowUpdate.html>):
//! `NEW` (not reviewed yet), `NOTIFIED` ("you notified the resource owner about the security
//! issue ... needs intervention"), `RESOLVED` ("the finding was reviewed and remediated and is
//! now considered resolved") and `SUPPRESSED` ("you reviewed the finding and don't believe that
//! any action is needed. The finding is no longer updated").
//!
//! So: `RESOLVED` only where the pipeline remediated the finding completely and nothing is
//! left for a person to do; `NOTIFIED` wherever the team was told and a person must act (the
//! pipeline changed nothing, fell short, or failed). `RESOLVED` also takes the finding out of
//! the console's default view (workflow status `NEW` or `NOTIFIED`), so anything short of full
//! containment must stay `NOTIFIED`. The pipeline never sets `SUPPRESSED` (that would stop
//! Security Hub from reflecting GuardDuty's later updates of a finding that may still be live)
//! nor `NEW` (that would reopen a finding an analyst closed).

use serde::Serialize;

/// How an execution ended, as the state machines name it in their `outcome` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PipelineOutcome {
    /// Contained completely: isolation held, or the credentials were revoked.
    Contained,
    /// Contained, but a step fell short (for example a network ACL with no room).
    PartiallyContained,
    /// Contained; the evidence snapshots failed.
    ContainedEvidenceIncomplete,
    /// Not acted on: the resource is exempt or already contained.
    Skipped,
    /// Recorded and notified only (low severity, notify-only routes, samples...).
    Recorded,
    /// A task failed after its retries.
    Failed,
    /// An analyst rejected containment.
    ApprovalRejected,
    /// No analyst answered the approval request in time.
    ApprovalTimedOut,
    /// The isolation was rolled back (`restore-instance`).
    Restored,
}

impl PipelineOutcome {
    /// Every outcome, for tables and tests.
    pub const ALL: [PipelineOutcome; 9] = [
        PipelineOutcome::Contained,
        PipelineOutcome::PartiallyContained,
        PipelineOutcome::ContainedEvidenceIncomplete,
        PipelineOutcome::Skipped,
        PipelineOutcome::Recorded,
        PipelineOutcome::Failed,
        PipelineOutcome::ApprovalRejected,
        PipelineOutcome::ApprovalTimedOut,
        PipelineOutcome::Restored,
    ];

    /// The name the state machines use.
    pub fn as_str(self) -> &'static str {
        match self {
            PipelineOutcome::Contained => "contained",
            PipelineOutcome::PartiallyContained => "partially-contained",
            PipelineOutcome::ContainedEvidenceIncomplete => "contained-evidence-incomplete",
            PipelineOutcome::Skipped => "skipped",
            PipelineOutcome::Recorded => "recorded",
            PipelineOutcome::Failed => "failed",
            PipelineOutcome::ApprovalRejected => "approval-rejected",
            PipelineOutcome::ApprovalTimedOut => "approval-timed-out",
            PipelineOutcome::Restored => "restored",
        }
    }

    /// Reads a state machine's `outcome` parameter.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// The workflow statuses the pipeline sets (never `NEW` or `SUPPRESSED`; see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowStatus {
    /// A person must act; the team was notified.
    Notified,
    /// Remediated completely; nothing left to do.
    Resolved,
}

impl WorkflowStatus {
    /// Security Hub's name.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowStatus::Notified => "NOTIFIED",
            WorkflowStatus::Resolved => "RESOLVED",
        }
    }
}

/// The exemption status `check-exemption` reports for a resource that an earlier execution
/// contained (or is containing).
pub const ALREADY_CONTAINED: &str = "already-contained";

/// The workflow status for an outcome; `None` leaves the finding's status as it is.
///
/// `exemption_status` is `results.exemption.status` of a skipped execution: a skip because
/// the resource is already contained is a re-delivery of a finding an earlier execution
/// handled (GuardDuty re-sends a finding as its count grows), and that execution set the
/// status; writing `NOTIFIED` over its `RESOLVED` would put a contained finding back in front
/// of the analysts. An exempt resource, on the other hand, was left alone on purpose and a
/// person must decide what to do about the finding.
pub fn workflow_status(
    outcome: PipelineOutcome,
    exemption_status: Option<&str>,
) -> Option<WorkflowStatus> {
    match outcome {
        // Remediated completely: contained with its evidence, or rolled back at an analyst's
        // request (restore is started by a person who has decided, so the case is closed).
        PipelineOutcome::Contained | PipelineOutcome::Restored => Some(WorkflowStatus::Resolved),
        PipelineOutcome::Skipped if exemption_status == Some(ALREADY_CONTAINED) => None,
        // Something is left for a person: nothing was changed (skipped, recorded, rejected,
        // timed out), containment fell short or lacks its evidence, or a task failed.
        PipelineOutcome::PartiallyContained
        | PipelineOutcome::ContainedEvidenceIncomplete
        | PipelineOutcome::Skipped
        | PipelineOutcome::Recorded
        | PipelineOutcome::Failed
        | PipelineOutcome::ApprovalRejected
        | PipelineOutcome::ApprovalTimedOut => Some(WorkflowStatus::Notified),
    }
}
