//! The JSON document the state machine passes from task to task.
//!
//! `classify` turns the EventBridge event into `{ "finding": ..., "decision": ... }`; the state
//! machine adds the execution id and hands the same document to every later task, which add
//! their own results under `results.<task>`. Tasks read only the fields they need.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::decision::Decision;
use crate::error::TaskError;
use crate::finding::Finding;

/// The input every task after `classify` receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskInput {
    /// The normalized finding.
    pub finding: Finding,
    /// The decision taken by `classify`.
    pub decision: Decision,
    /// The Step Functions execution id (`$$.Execution.Id`), recorded on every change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
    /// Results of earlier tasks, by task name, for the tasks that report on them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<Value>,
    /// How long a MEDIUM finding waits for an analyst (set by the state machine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_timeout_seconds: Option<u64>,
    /// When the execution started (`$$.Execution.StartTime`, RFC 3339), for the time to
    /// contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_start_time: Option<String>,
}

impl TaskInput {
    /// Reads a task input document, with a named error that says which field is wrong.
    pub fn from_value(v: Value) -> Result<Self, TaskError> {
        serde_json::from_value(v)
            .map_err(|e| TaskError::input(format!("task input is not a responder document: {e}")))
    }

    /// The EC2 instance the EC2 tasks act on: the finding's instance, or the source instance
    /// of stolen instance credentials.
    pub fn instance_id(&self) -> Option<&str> {
        self.finding
            .instance()
            .map(|i| i.instance_id.as_str())
            .or(self.decision.source_instance.as_deref())
    }

    /// [`TaskInput::instance_id`], or `Input.Invalid` naming the resource the finding is about.
    pub fn require_instance_id(&self) -> Result<String, TaskError> {
        self.instance_id().map(str::to_string).ok_or_else(|| {
            TaskError::input(format!(
                "finding {} names a {} resource, not an EC2 instance",
                self.finding.id,
                self.finding.resource.resource_type()
            ))
        })
    }

    /// The execution id, or a placeholder naming a run outside Step Functions.
    pub fn execution_name(&self) -> &str {
        self.execution.as_deref().unwrap_or("manual")
    }

    /// A tracing span carrying the finding id and execution, entered for the whole task.
    pub fn span(&self, task: &'static str) -> tracing::Span {
        tracing::info_span!(
            "task",
            task,
            finding_id = %self.finding.id,
            execution = %self.execution_name(),
            account = %self.finding.account_id,
        )
    }
}

/// A rollback request naming its resource directly, as `restore-instance` receives it:
/// `{ accountId, region, partition?, <key>, objectKeys?, dryRun? }`. Shared by the tasks that roll back
/// in `restore` mode, so each checks the same things and names the same errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackTarget {
    /// The partition (`aws` when absent).
    pub partition: String,
    /// The account (12 digits).
    pub account_id: String,
    /// The region.
    pub region: String,
    /// The resource named under `key`.
    pub name: String,
    /// `objectKeys`: the objects of a bucket whose quarantine alone is to be lifted (empty:
    /// the request is about the resource as a whole).
    pub object_keys: Vec<String>,
    /// Report only; change nothing.
    pub dry_run: bool,
}

impl RollbackTarget {
    /// Reads the request: `key` is the resource's field, `kind` what it must be (for the
    /// error, e.g. "an S3 bucket name"), `valid` the check of it.
    pub fn from_value(
        body: &Value,
        key: &str,
        kind: &str,
        valid: impl Fn(&str) -> bool,
    ) -> Result<Self, TaskError> {
        let text = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let need = |k: &str| {
            text(k).ok_or_else(|| {
                TaskError::input(format!(
                    "restore input needs accountId, region and {key}: {k} is missing"
                ))
            })
        };
        let (account_id, region, name) = (need("accountId")?, need("region")?, need(key)?);
        check_account_and_region(&account_id, &region)?;
        if !valid(&name) {
            return Err(TaskError::input(format!("{key} {name:?} is not {kind}")));
        }
        let object_keys = match body.get("objectKeys") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list))
                if (1..=crate::finding::MAX_OBJECTS).contains(&list.len()) =>
            {
                list.iter()
                    .map(|k| match k.as_str() {
                        Some(k) if crate::finding::is_object_key(k) => Ok(k.to_string()),
                        _ => Err(TaskError::input(format!(
                            "objectKeys holds {k}, which is not an S3 object key (1 to 1,024 bytes, no control characters)"
                        ))),
                    })
                    .collect::<Result<_, _>>()?
            }
            Some(_) => {
                return Err(TaskError::input(format!(
                    "objectKeys must be a list of 1 to {} S3 object keys",
                    crate::finding::MAX_OBJECTS
                )))
            }
        };
        Ok(RollbackTarget {
            partition: text("partition").unwrap_or_else(|| "aws".into()),
            account_id,
            region,
            name,
            object_keys,
            dry_run: body.get("dryRun").and_then(Value::as_bool).unwrap_or(false),
        })
    }
}

/// The resource a task that contains one named resource acts on, read from either kind of
/// request it takes ([`ResourceRequest`]).
pub trait RequestTarget: Sized {
    /// The task's name, for the error naming an input it cannot read.
    const TASK: &'static str;
    /// The rollback request's field naming the resource (`functionName`, ...).
    const KEY: &'static str;
    /// What that field must be, for its error ("a Lambda function name").
    const KIND: &'static str;
    /// Whether a name is one.
    fn valid(name: &str) -> bool;
    /// The target of a task input document; `restore` when it came as a rollback.
    fn from_input(input: &TaskInput, restore: bool) -> Result<Self, TaskError>;
    /// The target of a rollback request named by hand.
    fn from_rollback(r: &RollbackTarget) -> Self;
}

/// What one invocation of a task that contains one named resource (and rolls it back) is asked
/// to do, and where: a task input document about a finding (containment), or
/// `{ mode: "restore", request: { accountId, region, partition?, <key>, dryRun? } }` (rollback),
/// or `mode: "restore"` with a task input document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRequest<T> {
    /// The resource's partition.
    pub partition: String,
    /// The account (12 digits).
    pub account_id: String,
    /// The region.
    pub region: String,
    /// The resource, the finding and the dry run.
    pub target: T,
    /// Containment, or its rollback.
    pub restore: bool,
    /// Execution start (RFC 3339), for the time to contain.
    pub execution_start_time: Option<String>,
    /// The finding type, for the metrics (`rollback` for a rollback).
    pub finding_type: String,
}

impl<T: RequestTarget> ResourceRequest<T> {
    /// Reads either kind of request, with a named error for anything else.
    pub fn from_value(v: Value) -> Result<Self, TaskError> {
        let restore = v.get("mode").and_then(Value::as_str) == Some("restore");
        let body = if restore {
            v.get("request").cloned().unwrap_or(Value::Null)
        } else {
            v
        };
        if body.get("finding").is_some() {
            let input = TaskInput::from_value(body)?;
            let target = T::from_input(&input, restore)?;
            let f = input.finding;
            return Ok(ResourceRequest {
                partition: f.partition,
                account_id: f.account_id,
                region: f.region,
                target,
                restore,
                execution_start_time: input.execution_start_time,
                finding_type: if restore {
                    "rollback".into()
                } else {
                    f.finding_type
                },
            });
        }
        if !restore {
            return Err(TaskError::input(format!(
                "{} input is not a responder document",
                T::TASK
            )));
        }
        let r = RollbackTarget::from_value(&body, T::KEY, T::KIND, T::valid)?;
        Ok(ResourceRequest {
            target: T::from_rollback(&r),
            partition: r.partition,
            account_id: r.account_id,
            region: r.region,
            restore: true,
            execution_start_time: None,
            finding_type: "rollback".into(),
        })
    }
}

/// The account and region of a request made by hand: a 12-digit account id and a region code.
pub fn check_account_and_region(account_id: &str, region: &str) -> Result<(), TaskError> {
    if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TaskError::input(format!(
            "accountId {account_id:?} is not a 12-digit account id"
        )));
    }
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok {
        return Err(TaskError::input(format!(
            "region {region:?} is not a region name"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every field is checked, each failure named; the partition and dry run have defaults.
    #[test]
    fn a_rollback_request_is_read_and_checked_by_name() {
        let ok = RollbackTarget::from_value(
            &json!({"accountId": " 222222222222 ", "region": "eu-west-1", "bucketName": "b1-x"}),
            "bucketName",
            "a bucket",
            |n| n.len() > 2,
        )
        .expect("valid");
        assert_eq!(
            ok,
            RollbackTarget {
                partition: "aws".into(),
                account_id: "222222222222".into(),
                region: "eu-west-1".into(),
                name: "b1-x".into(),
                object_keys: Vec::new(),
                dry_run: false,
            }
        );
        let keys = RollbackTarget::from_value(
            &json!({"accountId": "222222222222", "region": "eu-west-1", "bucketName": "b1-x",
                "objectKeys": ["uploads/a b.exe", "*"]}),
            "bucketName",
            "a bucket",
            |n| n.len() > 2,
        )
        .expect("valid");
        assert_eq!(keys.object_keys, ["uploads/a b.exe", "*"]);
        for (body, says) in [
            (
                json!({"region": "eu-west-1", "bucketName": "b1-x"}),
                "accountId is missing",
            ),
            (
                json!({"accountId": "2222", "region": "eu-west-1", "bucketName": "b1-x"}),
                "not a 12-digit account id",
            ),
            (
                json!({"accountId": "222222222222", "region": "EU west", "bucketName": "b1-x"}),
                "not a region name",
            ),
            (
                json!({"accountId": "222222222222", "region": "eu-west-1", "bucketName": "b"}),
                "bucketName \"b\" is not a bucket",
            ),
            (
                json!({"accountId": "222222222222", "region": "eu-west-1", "bucketName": "b1-x",
                    "objectKeys": []}),
                "objectKeys must be a list of 1 to 20",
            ),
            (
                json!({"accountId": "222222222222", "region": "eu-west-1", "bucketName": "b1-x",
                    "objectKeys": ["ok", "bad\u{7}"]}),
                "not an S3 object key",
            ),
        ] {
            let e = RollbackTarget::from_value(&body, "bucketName", "a bucket", |n| n.len() > 2)
                .expect_err(&body.to_string());
            assert_eq!(e.name, crate::names::INPUT_INVALID);
            assert!(e.message.contains(says), "{}: {}", body, e.message);
        }
    }
}
