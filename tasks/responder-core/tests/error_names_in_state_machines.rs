//! Every error name the state machines match on must be a name the tasks report (or one of the
//! `States.*` / `Lambda.*` names AWS itself reports). A typo in a Retry or Catch would otherwise
//! silently never match.

use responder_core::names;
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
                names::ALL.contains(&name.as_str()) || AWS_NAMES.contains(&name.as_str()),
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
