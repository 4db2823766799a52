//! Both directions of the contract between the tasks and the state machines:
//! - every error name the state machines match on is a name the tasks report (or one of the
//!   `States.*` / `Lambda.*` names AWS itself reports): a typo in a Retry or Catch would
//!   otherwise silently never match;
//! - every name a task can raise ([`ErrorName::ALL`]) is retried or caught by name somewhere,
//!   or is listed in [`CAUGHT_AS_ANY`] with the reason a `States.ALL` catch is the deliberate
//!   answer to it.

use responder_core::{names, ErrorName};
use serde_json::Value;

const MACHINES: &[(&str, &str)] = &[
    (
        "remediate-finding",
        include_str!("../../../statemachines/remediate-finding.asl.json"),
    ),
    (
        "restore-instance",
        include_str!("../../../statemachines/restore-instance.asl.json"),
    ),
];

/// Names AWS reports itself, which the machines may match on.
const AWS_NAMES: &[&str] = &[
    "States.ALL",
    "States.Timeout",
    "States.TaskFailed",
    "States.HeartbeatTimeout",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    // A function that ran out of time or whose process died (a timeout, out of memory):
    // the errors Lambda reports for them, retried where the task is idempotent.
    "Sandbox.Timedout",
    "Runtime.ExitError",
    "Lambda.Unknown",
];

fn collect_error_names(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "ErrorEquals" {
                    if let Some(list) = v.as_array() {
                        out.extend(list.iter().filter_map(|n| n.as_str().map(str::to_string)));
                    }
                } else {
                    collect_error_names(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_error_names(i, out)),
        _ => {}
    }
}

#[test]
fn every_error_name_in_the_state_machines_is_known() {
    for (machine, text) in MACHINES {
        let def: Value = serde_json::from_str(text).expect("state machine is JSON");
        let mut used = Vec::new();
        collect_error_names(&def, &mut used);
        assert!(!used.is_empty(), "{machine} matches no errors at all");
        for name in used {
            assert!(
                ErrorName::parse(&name).is_some() || AWS_NAMES.contains(&name.as_str()),
                "{machine} matches on {name:?}, which no task reports and AWS does not define"
            );
        }
    }
}

#[test]
fn every_retryable_name_is_retried_somewhere() {
    let def: Value = serde_json::from_str(MACHINES[0].1).expect("JSON");
    let text = def.to_string();
    for name in names::RETRYABLE.iter().chain(names::RETRYABLE_AFTER_CHANGE) {
        assert!(
            text.contains(&format!("\"{name}\"")),
            "retryable error {name} is never retried by remediate-finding"
        );
    }
}

/// Names no Retry or Catch matches by name, each with why a `States.ALL` catch (the failure
/// notification, or the caller's own error) is the right answer to it.
const CAUGHT_AS_ANY: &[(ErrorName, &str)] = &[
    (
        ErrorName::InputInvalid,
        "a task given an input it cannot read is a bug or a bad rollback request: never retried, the failure notified through States.ALL",
    ),
    (
        ErrorName::SessionAssumeRoleFailed,
        "the member role is missing or refuses the trust: a retry does not fix it, the failure notified through States.ALL",
    ),
    (
        ErrorName::RemediationAccessDenied,
        "a permission the role lacks: a retry does not fix it, the failure notified through States.ALL",
    ),
    (
        ErrorName::RemediationTargetNotFound,
        "the resource is gone: nothing to retry, the failure notified through States.ALL",
    ),
    (
        ErrorName::RemediationFailed,
        "any other AWS refusal: not retried blindly, the failure notified through States.ALL",
    ),
    (
        ErrorName::RemediationNetworkAclFull,
        "never raised: a shortfall in isolate's report (Shortfall.error), which the state machine routes on and notifies",
    ),
    (
        ErrorName::RemediationIncomplete,
        "credential containment stopped halfway: notified through States.ALL, and the name a Fail state ends a partial containment with",
    ),
    (
        ErrorName::RestoreNoRecord,
        "a rollback with nothing recorded: nothing to retry, notified through States.ALL",
    ),
    (
        ErrorName::SecurityHubUpdateFailed,
        "Security Hub's copy is best effort after containment: caught as any error there, the containment stands",
    ),
];

#[test]
fn every_name_a_task_can_raise_is_handled_somewhere() {
    let mut used = Vec::new();
    for (_, text) in MACHINES {
        let def: Value = serde_json::from_str(text).expect("state machine is JSON");
        collect_error_names(&def, &mut used);
    }
    for name in ErrorName::ALL {
        let by_name = used.iter().any(|u| *u == name.as_str());
        let listed = CAUGHT_AS_ANY.iter().any(|(n, _)| *n == name);
        assert!(
            by_name || listed,
            "{name} is matched by no Retry or Catch and not listed in CAUGHT_AS_ANY with a reason"
        );
        assert!(
            !(by_name && listed),
            "{name} is matched by name in a state machine: remove it from CAUGHT_AS_ANY"
        );
    }
}
