//! The `contain-function` task: stops a compromised Lambda function from running, and rolls
//! that back.
//!
//! Containment sets the function's reserved concurrency to 0: "a function with a reserved
//! concurrency of 0 is throttled: no events are processed until you remove the limit" (Lambda
//! Developer Guide, "Configuring reserved concurrency"). Invocations already running finish;
//! no new one starts, whichever event source calls it. The code and configuration are kept
//! untouched for the investigation, and recorded as evidence in the report: the code's
//! SHA-256, the revision, the execution role, the runtime, the layers. GuardDuty's own advice
//! for a compromised function is to disable its execution triggers (GuardDuty User Guide,
//! "Remediating a potentially compromised Lambda function"); a reserved concurrency of 0 does
//! that for every trigger at once, and is undone by one call.
//!
//! The order is the instances' rule: the previous reserved concurrency (or its absence) is
//! recorded on the function as a tag BEFORE the change, so `restore` puts back exactly it and
//! a retried execution never records 0 as the original. Every step is idempotent.
//!
//! Rollback (`mode: restore`) puts back the recorded value, or removes the limit when there
//! was none, only while the function is still at 0: a value someone set since is theirs and
//! is left alone, and said so.
//!
//! Not done here: the execution role's sessions. The role's credentials live in the
//! function's environment, so the attacker's code may have sent them away; with the policy's
//! `lambda.revoke_role_sessions` the state machine has `revoke` deny the role's sessions issued
//! before now after this task. Lambda has no dry-run parameter: a dry run reads and reports what it
//! would change without proving the permission.
//!
//! The logic talks to Lambda only through [`Functions`]; [`aws`] implements it with the SDK.

pub mod aws;

#[cfg(test)]
mod tests;

use async_trait::async_trait;
use responder_core::{markers, names, ActionRecord, Outcome, TaskError, TaskReport};
use serde::Serialize;
use serde_json::{json, Value};

/// The task's name, as reported and as used for the session name.
pub const TASK: &str = "contain-function";

/// The value of [`markers::TAG_ORIGINAL_CONCURRENCY`] for a function that had no reserved
/// concurrency.
pub const NO_RESERVED_CONCURRENCY: &str = "none";

/// A function as Lambda shows it now (`GetFunction`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionNow {
    /// The function's ARN (unqualified).
    pub arn: String,
    /// Its reserved concurrency; `None` when it has none.
    pub reserved_concurrency: Option<i32>,
    /// Its tags.
    #[serde(skip)]
    pub tags: Vec<(String, String)>,
    /// Evidence: the code's SHA-256 and the configuration, as Lambda answered them.
    pub evidence: Value,
}

impl FunctionNow {
    fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The Lambda calls of containment and rollback.
#[async_trait]
pub trait Functions: Send + Sync {
    /// `GetFunction`: `None` when the function does not exist.
    async fn function(&self, name: &str) -> Result<Option<FunctionNow>, TaskError>;
    /// `PutFunctionConcurrency`.
    async fn set_reserved_concurrency(&self, name: &str, value: i32) -> Result<(), TaskError>;
    /// `DeleteFunctionConcurrency`: no reserved concurrency.
    async fn remove_reserved_concurrency(&self, name: &str) -> Result<(), TaskError>;
    /// `TagResource` (adds or overwrites the given keys).
    async fn tag(&self, arn: &str, tags: &[(String, String)]) -> Result<(), TaskError>;
    /// `UntagResource` of the given keys.
    async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), TaskError>;
}

/// The function to act on, and for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The function's name.
    pub name: String,
    /// The finding id recorded on the function (containment).
    pub finding_id: String,
    /// Report only; change nothing.
    pub dry_run: bool,
}

/// How a reserved concurrency is recorded.
pub fn encode(reserved: Option<i32>) -> String {
    reserved.map_or_else(|| NO_RESERVED_CONCURRENCY.to_string(), |n| n.to_string())
}

/// A recorded reserved concurrency: `Some(None)` for "none", `None` when unreadable.
pub fn decode(text: &str) -> Option<Option<i32>> {
    let t = text.trim();
    if t == NO_RESERVED_CONCURRENCY {
        return Some(None);
    }
    t.parse::<i32>().ok().filter(|n| *n >= 0).map(Some)
}

fn label(reserved: Option<i32>) -> String {
    reserved.map_or_else(
        || "no reserved concurrency".to_string(),
        |n| format!("a reserved concurrency of {n}"),
    )
}

/// Whether the keys not yet on the function fit within its tag quota.
fn room_for(f: &FunctionNow, keys: &[&str]) -> bool {
    markers::limits::room_for(f.tags.iter().map(|(k, _)| k.as_str()), keys)
}

/// Tags the function's status ([`markers::TAG_STATUS`]).
async fn mark(fx: &dyn Functions, arn: &str, status: &str) -> Result<(), TaskError> {
    fx.tag(
        arn,
        &[(markers::TAG_STATUS.to_string(), status.to_string())],
    )
    .await
}

async fn read(fx: &dyn Functions, name: &str) -> Result<FunctionNow, TaskError> {
    fx.function(name).await?.ok_or_else(|| {
        TaskError::new(
            names::REMEDIATION_TARGET_NOT_FOUND,
            format!("function {name} does not exist"),
        )
    })
}

/// Reads the reserved concurrency back until it is `want` (Lambda answers the change at once;
/// a second read covers a lagging one). Returns the record and the function as last read.
async fn verify(
    fx: &dyn Functions,
    name: &str,
    want: Option<i32>,
) -> Result<(ActionRecord, FunctionNow), TaskError> {
    let mut last = None;
    for attempt in 0..3 {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(200 * attempt)).await;
        }
        let now = read(fx, name).await?;
        if now.reserved_concurrency == want {
            let record = ActionRecord::new(
                "verify-reserved-concurrency",
                name,
                Outcome::Unchanged,
                format!("read back: {}", label(want)),
            );
            return Ok((record, now));
        }
        last = Some(now.reserved_concurrency);
    }
    Err(TaskError::new(
        names::REMEDIATION_VERIFICATION_FAILED,
        format!(
            "function {name}: read back {}, expected {}",
            label(last.flatten()),
            label(want)
        ),
    ))
}

/// Contains the function: reserved concurrency 0, the previous value recorded first.
pub async fn contain(target: &Target, fx: &dyn Functions) -> Result<TaskReport, TaskError> {
    let name = target.name.as_str();
    let dry = target.dry_run;
    let mut report = TaskReport::new(TASK, dry);
    let now = read(fx, name).await?;
    report.evidence.insert("function".into(), json!(now));
    report.evidence.insert(
        "originalConcurrency".into(),
        json!(now.reserved_concurrency),
    );
    if now.reserved_concurrency == Some(0) {
        report.push(
            ActionRecord::new(
                "set-reserved-concurrency",
                name,
                Outcome::Unchanged,
                "already at a reserved concurrency of 0: no invocation can start",
            )
            .with_states(json!(0), json!(0)),
        );
        return Ok(report);
    }
    let would = |o: Outcome| if dry { Outcome::WouldChange } else { o };
    // 1. The record, before the change.
    match now.tag(markers::TAG_ORIGINAL_CONCURRENCY).map(decode) {
        Some(Some(recorded)) => report.push(
            ActionRecord::new(
                "record-original-concurrency",
                name,
                Outcome::Unchanged,
                format!("kept the existing record ({})", label(recorded)),
            )
            .with_states(json!(encode(recorded)), json!(encode(recorded))),
        ),
        _ if !room_for(
            &now,
            &[markers::TAG_ORIGINAL_CONCURRENCY, markers::TAG_FINDING_ID],
        ) =>
        {
            // A full set of tags must not keep the function running: the cut goes ahead and
            // the previous value is kept in this report (evidence.originalConcurrency) only.
            report.push(ActionRecord::new(
                "record-original-concurrency",
                name,
                Outcome::Skipped,
                format!(
                    "the function has {} tags; the record does not fit within the {} an AWS resource may carry: it is kept in this report only ({}), and a rollback is by hand",
                    now.tags.len(),
                    markers::limits::TAGS_PER_RESOURCE,
                    label(now.reserved_concurrency)
                ),
            ));
        }
        _ => {
            let record = encode(now.reserved_concurrency);
            if !dry {
                fx.tag(
                    &now.arn,
                    &[
                        (
                            markers::TAG_ORIGINAL_CONCURRENCY.to_string(),
                            record.clone(),
                        ),
                        (
                            markers::TAG_FINDING_ID.to_string(),
                            markers::tag_value(&target.finding_id),
                        ),
                    ],
                )
                .await?;
            }
            report.push(
                ActionRecord::new(
                    "record-original-concurrency",
                    name,
                    would(Outcome::Changed),
                    format!("tagged {} = {record}", markers::TAG_ORIGINAL_CONCURRENCY),
                )
                .with_states(Value::Null, json!(record)),
            );
        }
    }
    // 2. The cut.
    if !dry {
        fx.set_reserved_concurrency(name, 0).await?;
    }
    report.push(
        ActionRecord::new(
            "set-reserved-concurrency",
            name,
            would(Outcome::Changed),
            if dry {
                "would set the reserved concurrency to 0 (Lambda has no dry run: the permission is not proven)".to_string()
            } else {
                "reserved concurrency set to 0: no new invocation starts; running ones finish".to_string()
            },
        )
        .with_states(json!(now.reserved_concurrency), json!(0)),
    );
    if dry {
        return Ok(report);
    }
    // 3. Read back, then mark (when there is room for the marker).
    let (verified, marked) = verify(fx, name, Some(0)).await?;
    report.push(verified);
    if !room_for(&marked, &[markers::TAG_STATUS]) {
        report.push(ActionRecord::new(
            "mark-function",
            name,
            Outcome::Skipped,
            format!(
                "no room for {} within the {} tags an AWS resource may carry",
                markers::TAG_STATUS,
                markers::limits::TAGS_PER_RESOURCE
            ),
        ));
        return Ok(report);
    }
    mark(fx, &now.arn, markers::STATUS_QUARANTINED).await?;
    report.push(ActionRecord::new(
        "mark-function",
        name,
        Outcome::Changed,
        format!(
            "tagged {}={}",
            markers::TAG_STATUS,
            markers::STATUS_QUARANTINED
        ),
    ));
    Ok(report)
}

/// Rolls the containment back: the recorded reserved concurrency (or none) while the function
/// is still at 0, then the record removed.
pub async fn restore(name: &str, dry: bool, fx: &dyn Functions) -> Result<TaskReport, TaskError> {
    let mut report = TaskReport::new("restore", dry);
    let now = read(fx, name).await?;
    report.evidence.insert("function".into(), json!(now));
    let Some(recorded) = now.tag(markers::TAG_ORIGINAL_CONCURRENCY) else {
        report.push(ActionRecord::new(
            "restore-reserved-concurrency",
            name,
            Outcome::Unchanged,
            format!(
                "no {} record on the function: nothing of this pipeline's to undo",
                markers::TAG_ORIGINAL_CONCURRENCY
            ),
        ));
        return Ok(report);
    };
    let original = decode(recorded).ok_or_else(|| {
        TaskError::new(
            names::REMEDIATION_FAILED,
            format!(
                "function {name}: the record {}={recorded:?} is not a reserved concurrency; set it by hand",
                markers::TAG_ORIGINAL_CONCURRENCY
            ),
        )
    })?;
    if now.reserved_concurrency != Some(0) {
        report.push(
            ActionRecord::new(
                "restore-reserved-concurrency",
                name,
                Outcome::Skipped,
                format!(
                    "the function has {} now, not 0: someone changed it since containment; left alone, and the record ({}) kept",
                    label(now.reserved_concurrency),
                    label(original)
                ),
            )
            .with_states(json!(now.reserved_concurrency), json!(now.reserved_concurrency)),
        );
        return Ok(report);
    }
    let outcome = if dry {
        Outcome::WouldChange
    } else {
        match original {
            None => fx.remove_reserved_concurrency(name).await?,
            Some(n) => fx.set_reserved_concurrency(name, n).await?,
        }
        Outcome::Changed
    };
    report.push(
        ActionRecord::new(
            "restore-reserved-concurrency",
            name,
            outcome,
            format!("back to {}", label(original)),
        )
        .with_states(json!(0), json!(original)),
    );
    if dry {
        return Ok(report);
    }
    report.push(verify(fx, name, original).await?.0);
    fx.untag(&now.arn, &[markers::TAG_ORIGINAL_CONCURRENCY.to_string()])
        .await?;
    mark(fx, &now.arn, markers::STATUS_RESTORED).await?;
    report.push(ActionRecord::new(
        "mark-function",
        name,
        Outcome::Changed,
        format!(
            "record removed; tagged {}={}",
            markers::TAG_STATUS,
            markers::STATUS_RESTORED
        ),
    ));
    Ok(report)
}
