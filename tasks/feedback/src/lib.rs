//! The `feedback` task: the false-positive ledger, in the security account.
//!
//! Three operations, chosen by the request's `op`:
//!
//! - `read` (the first state of `remediate-finding`, before `classify`): how many automatic
//!   actions the pipeline recorded for the finding's type over the policy's window, and how many
//!   of them analysts marked as false positives. Above the threshold, the first execution to
//!   find it claims the crossing with a conditional write, so the team is told once
//!   ([`responder_core::false_positives::LedgerReading::first_crossing`]). `classify` judges the
//!   reading ([`responder_core::false_positives`]); this task decides nothing.
//! - `record`: an automatic action (a containment, or a request for approval) for a finding.
//!   Keyed by finding type and id, so a re-delivered finding counts once.
//! - `mark`: an analyst's false-positive mark (from the approval page, the rollback, or the
//!   command line). A mark on a finding with no recorded action records the action too: every
//!   false positive was an action.
//!
//! `reenable` and `status` are for the command line (`responder false-positive`), through the
//! same [`Ledger`].
//!
//! Nothing in a member account can write the ledger: it is written with the security account's
//! credentials only, by this task and by analysts.

pub mod aws;

use async_trait::async_trait;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use responder_core::false_positives::{LedgerReading, Verdict, RETENTION_DAYS};
use responder_core::{names, Finding, Policy, TaskError, TaskInput};
use serde::Serialize;
use serde_json::{json, Value};

/// The task name.
pub const TASK: &str = "feedback";

/// The setting naming the ledger table.
pub const TABLE_SETTING: &str = "FALSE_POSITIVES_TABLE";

/// An automatic action on a finding, as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    /// The finding type.
    pub finding_type: String,
    /// GuardDuty's finding id.
    pub finding_id: String,
    /// When the action was taken.
    pub at: DateTime<Utc>,
    /// The execution that took it.
    pub execution: Option<String>,
    /// The finding's account.
    pub account: String,
    /// The resource acted on (`Instance i-...`, `AccessKey AKIA...`).
    pub resource: String,
    /// What was done (`contain`, `request-approval`).
    pub disposition: String,
}

/// An analyst's false-positive mark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mark {
    /// The finding type.
    pub finding_type: String,
    /// GuardDuty's finding id.
    pub finding_id: String,
    /// When it was marked.
    pub at: DateTime<Utc>,
    /// Who marked it (self-declared on the approval page; the caller's name elsewhere).
    pub by: String,
    /// Where it was marked: `approval-page`, `restore`, `cli`.
    pub source: String,
    /// Why, when given.
    pub reason: Option<String>,
}

/// Whether a write changed the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Written {
    /// Newly written.
    New,
    /// Already there (a re-delivery, or a second mark): unchanged.
    Already,
}

/// The counts of a finding type since a time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Automatic actions recorded since then.
    pub actions: u32,
    /// Of those, the ones marked as false positives.
    pub false_positives: u32,
}

/// The ledger's state of one finding type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeState {
    /// When an analyst last re-enabled automatic containment of the type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reenabled_at: Option<DateTime<Utc>>,
    /// Who re-enabled it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reenabled_by: Option<String>,
    /// When the type last crossed its threshold (the execution that found it told the team).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turned_down_at: Option<DateTime<Utc>>,
}

/// One recorded action, as the count reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// When the action was taken.
    pub at: DateTime<Utc>,
    /// Whether an analyst marked it as a false positive.
    pub marked: bool,
}

/// The counts of the entries at or after `since`.
pub fn count(entries: &[Entry], since: DateTime<Utc>) -> Counts {
    let mut c = Counts::default();
    for e in entries.iter().filter(|e| e.at >= since) {
        c.actions += 1;
        c.false_positives += u32::from(e.marked);
    }
    c
}

/// The false-positive ledger.
#[async_trait]
pub trait Ledger: Send + Sync {
    /// The actions of a type recorded at or after `since`.
    async fn entries(
        &self,
        finding_type: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<Entry>, TaskError>;
    /// The actions of a type recorded at or after `since`, and the marked ones among them.
    async fn counts(&self, finding_type: &str, since: DateTime<Utc>) -> Result<Counts, TaskError> {
        Ok(count(&self.entries(finding_type, since).await?, since))
    }
    /// The type's re-enabling and crossing times.
    async fn type_state(&self, finding_type: &str) -> Result<TypeState, TaskError>;
    /// Claims the crossing of the threshold at `now`: true for the first claim since the type
    /// was last re-enabled (or ever), false when another execution claimed it already.
    async fn claim_crossing(
        &self,
        finding_type: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, TaskError>;
    /// Records an action, once per finding type and id.
    async fn record_action(&self, action: &Action) -> Result<Written, TaskError>;
    /// Records a mark (and the action, when none was recorded), once per finding.
    async fn mark(&self, mark: &Mark) -> Result<Written, TaskError>;
    /// Re-enables automatic containment of a type from `now`: the count starts over.
    async fn reenable(
        &self,
        finding_type: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), TaskError>;
}

/// When ledger entries expire (the table's time to live): [`RETENTION_DAYS`] after `at`.
pub fn expires_at(at: DateTime<Utc>) -> i64 {
    (at + Duration::days(i64::from(RETENTION_DAYS))).timestamp()
}

/// A time as the ledger and the reading write it.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A finding type's numbers: its state, the counts over the policy's window (or since the
/// type was re-enabled, when later) and the start of that count. Reads only.
pub async fn tally(
    policy: &Policy,
    ledger: &dyn Ledger,
    finding_type: &str,
    now: DateTime<Utc>,
) -> Result<(TypeState, Counts, DateTime<Utc>), TaskError> {
    let window_start = now - Duration::days(i64::from(policy.false_positives.window_days));
    // Both reads at once (this is on every finding's way to classify); the re-enabling time
    // then narrows the window's entries.
    let (state, entries) = tokio::join!(
        ledger.type_state(finding_type),
        ledger.entries(finding_type, window_start)
    );
    let (state, entries) = (state?, entries?);
    let since = match state.reenabled_at {
        Some(r) if r > window_start => r,
        _ => window_start,
    };
    let counts = count(&entries, since);
    Ok((state, counts, since))
}

/// Reads the ledger for a finding type ([`tally`]) and, when the type is above its
/// threshold, whether this execution is the first to find it so.
pub async fn read(
    policy: &Policy,
    ledger: &dyn Ledger,
    finding_type: &str,
    now: DateTime<Utc>,
) -> Result<LedgerReading, TaskError> {
    let fp = &policy.false_positives;
    let (state, counts, since) = tally(policy, ledger, finding_type, now).await?;
    let first_crossing = fp.judge(counts.actions, counts.false_positives) == Verdict::ApprovalFirst
        && ledger.claim_crossing(finding_type, now).await?;
    if first_crossing {
        responder_core::emf::automation_turned_down(finding_type);
    }
    Ok(LedgerReading {
        finding_type: finding_type.to_string(),
        actions: counts.actions,
        false_positives: counts.false_positives,
        window_days: fp.window_days,
        since: rfc3339(since),
        reenabled_at: state.reenabled_at.map(rfc3339),
        first_crossing,
    })
}

/// The action an execution took on its finding, from its task input document: `None` when
/// the decision was not to act (nothing to count).
pub fn action_of(input: &TaskInput, now: DateTime<Utc>) -> Option<Action> {
    use responder_core::decision::Disposition;
    let disposition = match input.decision.disposition {
        Disposition::Contain => "contain",
        Disposition::RequestApproval => "request-approval",
        _ => return None,
    };
    Some(Action {
        finding_type: input.finding.finding_type.clone(),
        finding_id: input.finding.id.clone(),
        at: now,
        execution: input.execution.clone(),
        account: input.finding.account_id.clone(),
        resource: input.finding.resource.identity(),
        disposition: disposition.to_string(),
    })
}

/// The longest reason kept with a mark, in characters.
pub const MAX_REASON_CHARS: usize = 1000;

/// Reads a mark request: the finding from a task input document (`state`, or the request
/// itself), or `findingType` with `findingId` or `findingArn`; `by`, `reason` and `source`
/// beside it.
pub fn mark_of(request: &Value, now: DateTime<Utc>) -> Result<Mark, TaskError> {
    let text = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let doc = request.get("state").unwrap_or(request);
    let field = |k: &str| text(request, k).or_else(|| text(doc, k));
    let (finding_type, finding_id) = match doc.get("finding") {
        Some(f) => {
            let f: Finding = serde_json::from_value(f.clone()).map_err(|e| {
                TaskError::new(
                    names::INPUT_INVALID,
                    format!("the mark's finding is not readable: {e}"),
                )
            })?;
            (f.finding_type, f.id)
        }
        None => {
            let ty = field("findingType");
            let id = field("findingId").or_else(|| {
                field("findingArn")
                    .and_then(|a| a.rsplit('/').next().map(str::to_string))
                    .filter(|s| !s.is_empty())
            });
            match (ty, id) {
                (Some(t), Some(i)) => (t, i),
                _ => {
                    return Err(TaskError::new(
                        names::INPUT_INVALID,
                        "a false-positive mark names its finding: a task input document, or findingType with findingId or findingArn",
                    ))
                }
            }
        }
    };
    if !finding_type.contains(':') || !finding_type.contains('/') {
        return Err(TaskError::new(
            names::INPUT_INVALID,
            format!("{finding_type:?} is not a GuardDuty finding type (such as \"Backdoor:EC2/C&CActivity.B\")"),
        ));
    }
    let reason = field("reason").map(|r| r.chars().take(MAX_REASON_CHARS).collect());
    Ok(Mark {
        finding_type,
        finding_id,
        at: now,
        by: field("by")
            .or_else(|| field("requestedBy"))
            .unwrap_or_else(|| "an unnamed analyst".into()),
        source: field("source").unwrap_or_else(|| "cli".into()),
        reason,
    })
}

/// Serves one task request.
pub async fn handle(
    request: &Value,
    policy: &Policy,
    ledger: &dyn Ledger,
    now: DateTime<Utc>,
) -> Result<Value, TaskError> {
    let op = request.get("op").and_then(Value::as_str).unwrap_or("");
    match op {
        "read" => {
            let event = request.get("event").unwrap_or(&Value::Null);
            // An event that is not a readable finding gets no reading; classify refuses it
            // with its own named error.
            let Ok(finding) = Finding::from_event(event) else {
                return Ok(Value::Null);
            };
            let reading = read(policy, ledger, &finding.finding_type, now).await?;
            tracing::info!(
                finding_type = %reading.finding_type,
                actions = reading.actions,
                false_positives = reading.false_positives,
                first_crossing = reading.first_crossing,
                "ledger read"
            );
            Ok(serde_json::to_value(reading).expect("a reading serializes"))
        }
        "record" => {
            let state = request.get("state").cloned().unwrap_or(Value::Null);
            let input = TaskInput::from_value(state)?;
            let Some(action) = action_of(&input, now) else {
                return Ok(json!({"recorded": "nothing-to-record"}));
            };
            let written = ledger.record_action(&action).await?;
            tracing::info!(finding_type = %action.finding_type, finding_id = %action.finding_id, written = ?written, "action recorded");
            Ok(json!({"recorded": written, "action": action}))
        }
        "mark" => {
            let mark = mark_of(request, now)?;
            let written = ledger.mark(&mark).await?;
            if written == Written::New {
                responder_core::emf::false_positive(&mark.finding_type);
            }
            tracing::info!(finding_type = %mark.finding_type, finding_id = %mark.finding_id, source = %mark.source, written = ?written, "false positive marked");
            Ok(json!({"marked": written, "mark": mark}))
        }
        other => Err(TaskError::new(
            names::INPUT_INVALID,
            format!("op is {other:?}; expected read, record or mark"),
        )),
    }
}

#[cfg(test)]
mod tests;
