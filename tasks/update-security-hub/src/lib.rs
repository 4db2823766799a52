//! The `update-security-hub` task: records the outcome of a finding's handling on the
//! finding's Security Hub copy, where analysts work.
//!
//! The state machines run it after the notification on every path that ends with a finding
//! (contained, partially contained, contained without evidence, skipped, recorded, failed,
//! approval rejected or timed out, restored), with the outcome and the whole state document.
//! It sets the copy's workflow status (`outcome::workflow_status`: `RESOLVED` only when the
//! pipeline remediated the finding completely, `NOTIFIED` when a person must act) and a note
//! (`note::compose`: the outcome, why, what changed, the execution), through
//! `BatchUpdateFindings` in the security account, which Security Hub accepts for the findings
//! of its member accounts when it is their Security Hub administrator.
//!
//! It never decides the outcome of an execution: the state machines keep its result or its
//! failure under `$.securityHub` and go on to the same end state either way. Nothing to
//! update (updates turned off with `SECURITY_HUB_UPDATES=false`, no trustworthy finding ARN)
//! is reported as a skipped action, not an error; a dry run reports what it would write.

pub mod aws;
pub mod note;
pub mod outcome;
pub mod target;

use async_trait::async_trait;
use responder_core::policy::parse_bool;
use responder_core::{ActionRecord, Finding, Outcome, TaskError, TaskReport};
use serde_json::{json, Value};
use tracing::Instrument;

pub use outcome::{workflow_status, PipelineOutcome, WorkflowStatus};
pub use target::Target;

/// The task name.
pub const TASK: &str = "update-security-hub";

/// The action it reports.
pub const ACTION: &str = "update-security-hub-finding";

/// Who the note says wrote it (`Note.UpdatedBy`).
pub const UPDATED_BY: &str = "guardduty-responder";

/// The setting that turns the updates off, for accounts without Security Hub.
pub const SETTING: &str = "SECURITY_HUB_UPDATES";

/// The task's settings, from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `SECURITY_HUB_UPDATES` (default `true`).
    pub enabled: bool,
    /// `DRY_RUN` (default `false`): report what would be written, write nothing.
    pub dry_run: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enabled: true,
            dry_run: false,
        }
    }
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, TaskError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the settings through `get`; an unreadable value is `Config.Invalid`, naming it.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, TaskError> {
        let flag = |name: &str, default: bool| match get(name) {
            Some(v) if !v.trim().is_empty() => parse_bool(name, &v),
            _ => Ok(default),
        };
        Ok(Settings {
            enabled: flag(SETTING, true)?,
            dry_run: flag("DRY_RUN", false)?,
        })
    }
}

/// What to write on one finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingUpdate {
    /// Which finding, and in which region.
    pub target: Target,
    /// The workflow status to set; `None` keeps the finding's.
    pub status: Option<WorkflowStatus>,
    /// The note's text, at most [`note::MAX_NOTE_BYTES`].
    pub note: String,
}

/// Updates one finding in Security Hub. Errors are already named: `Remediation.Throttled` and
/// `Remediation.Transient` (retried), `SecurityHub.FindingNotFound` (retried: GuardDuty has
/// not sent the finding yet), `SecurityHub.UpdateFailed`.
#[async_trait]
pub trait FindingUpdater: Send + Sync {
    /// Writes the update.
    async fn update(&self, update: &FindingUpdate) -> Result<(), TaskError>;
}

/// Records an execution's outcome on its finding's Security Hub copy.
///
/// `input` is `{ "outcome": ..., "execution": ..., "state": <the state document> }`, as the
/// state machines pass it. An unknown outcome is `Input.Invalid` (a state machine typo).
pub async fn update(
    input: &Value,
    updater: &dyn FindingUpdater,
    settings: &Settings,
) -> Result<TaskReport, TaskError> {
    let text = |p: &str| input.pointer(p).and_then(Value::as_str).unwrap_or("-");
    // Every log line carries the finding and the execution, as in the other tasks.
    let span = tracing::info_span!(
        "task",
        task = TASK,
        finding_id = %text("/state/finding/id"),
        execution = %text("/execution"),
    );
    record(input, updater, settings).instrument(span).await
}

async fn record(
    input: &Value,
    updater: &dyn FindingUpdater,
    settings: &Settings,
) -> Result<TaskReport, TaskError> {
    let outcome_name = input.get("outcome").and_then(Value::as_str).unwrap_or("");
    let outcome = PipelineOutcome::parse(outcome_name).ok_or_else(|| {
        TaskError::input(format!(
            "outcome {outcome_name:?} is not one of the pipeline's outcomes"
        ))
    })?;
    let null = Value::Null;
    let state = input.get("state").unwrap_or(&null);
    let execution = input
        .get("execution")
        .or_else(|| state.get("execution"))
        .and_then(Value::as_str);
    let dry_run = settings.dry_run || requested_dry_run(state);
    let mut report = TaskReport::new(TASK, dry_run);

    if !settings.enabled {
        report.push(skipped("-", format!("{SETTING} is false")));
        return Ok(report);
    }
    let target = match find_target(state) {
        Ok(t) => t,
        Err(why) => {
            report.push(skipped("-", why));
            return Ok(report);
        }
    };
    let exemption = state
        .pointer("/results/exemption/status")
        .and_then(Value::as_str);
    let update = FindingUpdate {
        status: workflow_status(outcome, exemption),
        note: note::compose(outcome, state, execution),
        target,
    };
    let status = update.status.map_or("unchanged", WorkflowStatus::as_str);
    let after = json!({ "workflowStatus": status, "note": update.note });
    report
        .evidence
        .insert("findingId".into(), json!(update.target.finding_arn));
    report
        .evidence
        .insert("productArn".into(), json!(update.target.product_arn));

    if dry_run {
        report.push(
            ActionRecord::new(
                ACTION,
                &update.target.finding_arn,
                Outcome::WouldChange,
                format!("dry run: would set workflow status {status} and the note"),
            )
            .with_states(Value::Null, after),
        );
        return Ok(report);
    }
    if let Err(e) = updater.update(&update).await {
        // Retried errors are expected while GuardDuty has not sent the finding yet or
        // Security Hub throttles; the others need a person (see the task's alarm).
        if retried(&e) {
            tracing::warn!(error = e.name.as_str(), message = %e.message, finding = %update.target.finding_arn, "security hub update failed; the state machine retries");
        } else {
            tracing::error!(error = e.name.as_str(), message = %e.message, finding = %update.target.finding_arn, "security hub update failed");
        }
        return Err(e);
    }
    tracing::info!(outcome = outcome.as_str(), workflow_status = status, finding = %update.target.finding_arn, "security hub finding updated");
    report.push(
        ActionRecord::new(
            ACTION,
            &update.target.finding_arn,
            Outcome::Changed,
            format!("workflow status {status}, note written"),
        )
        .with_states(Value::Null, after),
    );
    Ok(report)
}

/// Whether the state machines retry this error.
fn retried(e: &TaskError) -> bool {
    e.is_retryable() || e.name == responder_core::names::SECURITY_HUB_FINDING_NOT_FOUND
}

/// The finding's target from the state document of either state machine: its `finding` (the
/// remediation, or a restore started with a task input document), or a restore request's
/// `findingArn`.
fn find_target(state: &Value) -> Result<Target, target::NoTarget> {
    match state.get("finding") {
        Some(finding) => {
            let f: Finding = serde_json::from_value(finding.clone())
                .map_err(|e| format!("the state document's finding is not a finding: {e}"))?;
            target::from_finding(&f)
        }
        None if state.get("instanceId").is_some() || state.get("findingArn").is_some() => {
            target::from_request(state)
        }
        None => Err("the state document names no finding".to_string()),
    }
}

/// A dry run asked for by the execution: the decision's (remediation) or the request's or
/// report's (restore, which follows the request, not the stack's setting).
fn requested_dry_run(state: &Value) -> bool {
    ["/decision/dryRun", "/dryRun", "/restore/dryRun"]
        .iter()
        .any(|p| state.pointer(p).and_then(Value::as_bool) == Some(true))
}

fn skipped(target: &str, why: String) -> ActionRecord {
    ActionRecord::new(ACTION, target, Outcome::Skipped, why)
}

#[cfg(test)]
mod tests;
