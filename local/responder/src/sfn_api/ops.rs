//! One function per served operation. Each runs after the request passed the model's
//! constraints ([`super::shape`]), so a required member is present and every member has its
//! documented type and size.

use std::sync::Arc;

use asl::{Engine, ExecutionDescription, ExecutionStatus, TaskHandler};
use serde_json::{json, Value};

use super::arn::{self, Resource};
use super::epoch;
use super::error::ApiError;
use super::page::{self, page_size};

/// A request body that passed validation.
#[derive(Debug, Clone, Copy)]
pub(super) struct Request<'a> {
    pub req: &'a Value,
}

impl Request<'_> {
    fn text(&self, member: &str) -> Option<&str> {
        self.req.get(member).and_then(Value::as_str)
    }

    /// A required member (validation guarantees it is there).
    fn required(&self, member: &str) -> &str {
        self.text(member).unwrap_or_default()
    }

    fn flag(&self, member: &str) -> Option<bool> {
        self.req.get(member).and_then(Value::as_bool)
    }
}

fn with_token(mut body: Value, token: Option<String>) -> Value {
    if let Some(t) = token {
        body["nextToken"] = Value::String(t);
    }
    body
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or_default()
}

pub(super) fn list_state_machines(engine: &Engine, r: Request) -> Result<Value, ApiError> {
    let machines = engine.list_state_machines();
    let p = page::page(
        &machines,
        |m| m.name.clone(),
        |_| true,
        "ListStateMachines",
        r.text("nextToken"),
        page_size(r.req),
    )?;
    let items: Vec<Value> = p
        .items
        .iter()
        .map(|m| {
            json!({
                "stateMachineArn": m.state_machine_arn,
                "name": m.name,
                "type": m.machine_type,
                "creationDate": epoch(m.creation_date),
            })
        })
        .collect();
    Ok(with_token(json!({ "stateMachines": items }), p.next_token))
}

pub(super) fn describe_state_machine(engine: &Engine, r: Request) -> Result<Value, ApiError> {
    let sm = r.required("stateMachineArn");
    arn::check(sm, Resource::StateMachine)?;
    Ok(to_json(&engine.describe_state_machine(sm)?))
}

pub(super) fn start_execution(
    engine: &Engine,
    handler: &Arc<dyn TaskHandler>,
    r: Request,
) -> Result<Value, ApiError> {
    let sm = r.required("stateMachineArn");
    arn::check(sm, Resource::StateMachine)?;
    // Without an input, AWS starts the execution with `{}`.
    let input = r.text("input").unwrap_or("{}");
    let started = engine.start_execution(sm, r.text("name"), input, handler.clone())?;
    Ok(to_json(&started))
}

pub(super) fn describe_execution(engine: &Engine, r: Request) -> Result<Value, ApiError> {
    let exec = r.required("executionArn");
    arn::check(exec, Resource::Execution)?;
    let d = engine.describe_execution(exec)?;
    let mut v = to_json(&d);
    // The engine keeps no data out of a response, and redrives nothing.
    v["inputDetails"] = json!({ "included": true });
    if d.output.is_some() {
        v["outputDetails"] = json!({ "included": true });
    }
    v["redriveCount"] = json!(0);
    Ok(v)
}

/// An `ExecutionListItem`: what `DescribeExecution` says but the data, error and cause.
fn list_item(d: &ExecutionDescription) -> Value {
    let mut v = json!({
        "executionArn": d.execution_arn,
        "stateMachineArn": d.state_machine_arn,
        "name": d.name,
        "status": d.status,
        "startDate": epoch(d.start_date),
        "redriveCount": 0,
    });
    if let Some(stop) = d.stop_date {
        v["stopDate"] = json!(epoch(stop));
    }
    v
}

pub(super) fn list_executions(engine: &Engine, r: Request) -> Result<Value, ApiError> {
    let status = r.text("statusFilter");
    let redrive = r.text("redriveFilter");
    let sm = match (r.text("stateMachineArn"), r.text("mapRunArn")) {
        (Some(sm), None) => sm,
        // "You can specify either a mapRunArn or a stateMachineArn, but not both" (API
        // reference, ListExecutions).
        (Some(_), Some(_)) | (None, None) => {
            return Err(ApiError::service(
                "ValidationException",
                "Specify either a stateMachineArn or a mapRunArn, but not both",
            ))
        }
        // Map Runs are children of Distributed Map states, which this engine does not run.
        (None, Some(map_run)) => {
            return Err(ApiError::service(
                "ResourceNotFound",
                format!("Resource not found: '{map_run}'"),
            ))
        }
    };
    // "If you provide a stateMachineArn and a PENDING_REDRIVE statusFilter, the API returns a
    // validation exception" (API reference, ListExecutions).
    if status == Some("PENDING_REDRIVE") {
        return Err(ApiError::service(
            "ValidationException",
            "The PENDING_REDRIVE statusFilter requires a mapRunArn",
        ));
    }
    arn::check(sm, Resource::StateMachine)?;
    engine.describe_state_machine(sm)?;
    let wanted = status.and_then(ExecutionStatus::from_name);
    // Nothing is ever redriven here: REDRIVEN matches no execution.
    let redriven_only = redrive == Some("REDRIVEN");
    let all = engine.list_executions(Some(sm), None);
    let p = page::page(
        &all,
        |d| d.execution_arn.clone(),
        |d| !redriven_only && wanted.is_none_or(|s| d.status == s),
        &format!("ListExecutions\n{sm}\n{status:?}\n{redrive:?}"),
        r.text("nextToken"),
        page_size(r.req),
    )?;
    let items: Vec<Value> = p.items.into_iter().map(list_item).collect();
    Ok(with_token(json!({ "executions": items }), p.next_token))
}

pub(super) fn get_execution_history(engine: &Engine, r: Request) -> Result<Value, ApiError> {
    let exec = r.required("executionArn");
    arn::check(exec, Resource::Execution)?;
    let mut events = engine.get_execution_history(exec)?;
    let reverse = r.flag("reverseOrder").unwrap_or(false);
    let include_data = r.flag("includeExecutionData").unwrap_or(true);
    if reverse {
        events.reverse();
    }
    let p = page::page(
        &events,
        |e| e.id.to_string(),
        |_| true,
        &format!("GetExecutionHistory\n{exec}\n{reverse}\n{include_data}"),
        r.text("nextToken"),
        page_size(r.req),
    )?;
    let page: Vec<Value> = p
        .items
        .into_iter()
        .map(|e| {
            let mut v = to_json(e);
            if !include_data {
                without_data(&mut v);
            }
            v
        })
        .collect();
    Ok(with_token(json!({ "events": page }), p.next_token))
}

/// Drops an event's input and output, for `includeExecutionData: false`.
fn without_data(event: &mut Value) {
    let Some(fields) = event.as_object_mut() else {
        return;
    };
    for (key, details) in fields.iter_mut() {
        if let (true, Some(d)) = (key.ends_with("EventDetails"), details.as_object_mut()) {
            d.remove("input");
            d.remove("output");
        }
    }
}

pub(super) fn stop_execution(engine: &Engine, r: Request) -> Result<Value, ApiError> {
    let exec = r.required("executionArn");
    arn::check(exec, Resource::Execution)?;
    // Stopping an execution that has already ended changes nothing and answers with the date
    // it ended; the API reference documents no error for this case.
    let stopped = engine.stop_execution(exec, r.text("error"), r.text("cause"))?;
    Ok(json!({ "stopDate": epoch(stopped) }))
}

pub(super) fn send_task_success(engine: &Engine, r: Request) -> Result<Value, ApiError> {
    engine.send_task_success(r.required("taskToken"), r.required("output"))?;
    Ok(json!({}))
}

pub(super) fn send_task_failure(engine: &Engine, r: Request) -> Result<Value, ApiError> {
    engine.send_task_failure(r.required("taskToken"), r.text("error"), r.text("cause"))?;
    Ok(json!({}))
}

pub(super) fn send_task_heartbeat(engine: &Engine, r: Request) -> Result<Value, ApiError> {
    engine.send_task_heartbeat(r.required("taskToken"))?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::super::shape;
    use super::*;

    #[test]
    fn every_status_of_the_model_but_pending_redrive_is_one_of_the_engine() {
        for s in shape::EXECUTION_STATUSES {
            assert_eq!(
                ExecutionStatus::from_name(s).map(|st| st.as_str()),
                (*s != "PENDING_REDRIVE").then_some(*s)
            );
        }
    }
}
