//! Every documented error of the served operations, as the SDK receives it: HTTP 400, the
//! error code, and the operation's modeled error variant. Then what only raw HTTP can send (a
//! missing required member, a member of the wrong type, an unknown operation, a body too big),
//! with the exact `__type` and, where AWS's text is on record, the exact message.

use std::fmt::Debug;

use aws_sdk_sfn::config::http::HttpResponse;
use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionError as DescribeExec;
use aws_sdk_sfn::operation::describe_state_machine::DescribeStateMachineError as DescribeSm;
use aws_sdk_sfn::operation::get_execution_history::GetExecutionHistoryError as History;
use aws_sdk_sfn::operation::list_executions::ListExecutionsError as ListExec;
use aws_sdk_sfn::operation::list_state_machines::ListStateMachinesError as ListSm;
use aws_sdk_sfn::operation::send_task_failure::SendTaskFailureError as Failure;
use aws_sdk_sfn::operation::send_task_heartbeat::SendTaskHeartbeatError as Heartbeat;
use aws_sdk_sfn::operation::send_task_success::SendTaskSuccessError as Success;
use aws_sdk_sfn::operation::start_execution::StartExecutionError as Start;
use aws_sdk_sfn::operation::stop_execution::StopExecutionError as Stop;
use aws_sdk_sfn::types::ExecutionStatus;
use responder::http_client;

use super::{unknown_token, Local};

/// Why a refused call is not what the row expects, if it is not.
fn judge<O: Debug, E: ProvideErrorMetadata + Debug>(
    label: &str,
    code: &str,
    result: Result<O, SdkError<E, HttpResponse>>,
    variant: fn(&E) -> bool,
) -> Option<String> {
    let err = match result {
        Ok(out) => return Some(format!("{label}: expected {code}, got {out:?}")),
        Err(e) => e,
    };
    let status = err.raw_response().map(|r| r.status().as_u16());
    let Some(service) = err.as_service_error() else {
        return Some(format!("{label}: not a service error: {err:?}"));
    };
    if status != Some(400) || service.code() != Some(code) || !variant(service) {
        return Some(format!(
            "{label}: expected HTTP 400 {code} (its modeled variant), got HTTP {status:?} {service:?}"
        ));
    }
    None
}

/// A code the operation's model does not list: the SDK gives it as an unhandled error that
/// still carries the code.
fn unmodeled<E>(_: &E) -> bool {
    true
}

/// One row: a label, the expected code, the expected modeled variant, and the call.
macro_rules! row {
    ($rows:ident, $label:expr, $code:expr, $variant:expr, $call:expr) => {
        $rows.push(judge($label, $code, $call.send().await, $variant));
    };
}

#[tokio::test]
async fn every_documented_error_reaches_the_sdk_as_its_modeled_variant() {
    let mut l = Local::start().await;
    let (running, live) = l.waiting("running").await;
    let (answered, closed) = l.waiting("answered").await;
    l.sfn
        .send_task_success()
        .task_token(&closed)
        .output("{}")
        .send()
        .await
        .expect("the first answer is taken");
    l.engine.wait_for_execution(&answered).await.expect("ends");
    let unknown = unknown_token(&live);
    let c = &l.sfn;
    let no_machine = l.machine("nope");
    let no_execution = l.execution("pass", "nope");
    let wait = l.machine("wait");
    let not_arn = "not_a_valid_arn";
    let big = format!("{{\"a\":\"{}\"}}", "x".repeat(262_144 - 8 + 1));
    let mut rows = Vec::new();

    row!(
        rows,
        "ListStateMachines maxResults 1001",
        "ValidationException",
        unmodeled,
        c.list_state_machines().max_results(1001)
    );
    row!(
        rows,
        "ListStateMachines foreign token",
        "InvalidToken",
        ListSm::is_invalid_token,
        c.list_state_machines().next_token("bm90IGEgdG9rZW4")
    );
    row!(
        rows,
        "ListStateMachines empty token",
        "ValidationException",
        unmodeled,
        c.list_state_machines().next_token("")
    );

    row!(
        rows,
        "DescribeStateMachine not an ARN",
        "InvalidArn",
        DescribeSm::is_invalid_arn,
        c.describe_state_machine().state_machine_arn(not_arn)
    );
    row!(
        rows,
        "DescribeStateMachine execution ARN",
        "InvalidArn",
        DescribeSm::is_invalid_arn,
        c.describe_state_machine().state_machine_arn(&running)
    );
    row!(
        rows,
        "DescribeStateMachine unknown",
        "StateMachineDoesNotExist",
        DescribeSm::is_state_machine_does_not_exist,
        c.describe_state_machine().state_machine_arn(&no_machine)
    );

    row!(
        rows,
        "StartExecution unknown machine",
        "StateMachineDoesNotExist",
        Start::is_state_machine_does_not_exist,
        c.start_execution().state_machine_arn(&no_machine)
    );
    row!(
        rows,
        "StartExecution not an ARN",
        "InvalidArn",
        Start::is_invalid_arn,
        c.start_execution().state_machine_arn(not_arn)
    );
    row!(
        rows,
        "StartExecution name with a space",
        "InvalidName",
        Start::is_invalid_name,
        c.start_execution()
            .state_machine_arn(&wait)
            .name("two words")
    );
    row!(
        rows,
        "StartExecution name with a slash",
        "InvalidName",
        Start::is_invalid_name,
        c.start_execution().state_machine_arn(&wait).name("a/b")
    );
    row!(
        rows,
        "StartExecution name of 81 characters",
        "ValidationException",
        Start::is_validation_exception,
        c.start_execution()
            .state_machine_arn(&wait)
            .name("n".repeat(81))
    );
    row!(
        rows,
        "StartExecution empty name",
        "ValidationException",
        Start::is_validation_exception,
        c.start_execution().state_machine_arn(&wait).name("")
    );
    row!(
        rows,
        "StartExecution input not JSON",
        "InvalidExecutionInput",
        Start::is_invalid_execution_input,
        c.start_execution()
            .state_machine_arn(&wait)
            .input("not json")
    );
    row!(
        rows,
        "StartExecution empty input",
        "InvalidExecutionInput",
        Start::is_invalid_execution_input,
        c.start_execution().state_machine_arn(&wait).input("")
    );
    row!(
        rows,
        "StartExecution input over 256 KiB",
        "ValidationException",
        Start::is_validation_exception,
        c.start_execution().state_machine_arn(&wait).input(&big)
    );
    row!(
        rows,
        "StartExecution running name, other input",
        "ExecutionAlreadyExists",
        Start::is_execution_already_exists,
        c.start_execution()
            .state_machine_arn(&wait)
            .name("running")
            .input(r#"{"other":1}"#)
    );
    row!(
        rows,
        "StartExecution closed name, same input",
        "ExecutionAlreadyExists",
        Start::is_execution_already_exists,
        c.start_execution()
            .state_machine_arn(&wait)
            .name("answered")
            .input("{}")
    );

    row!(
        rows,
        "DescribeExecution unknown",
        "ExecutionDoesNotExist",
        DescribeExec::is_execution_does_not_exist,
        c.describe_execution().execution_arn(&no_execution)
    );
    row!(
        rows,
        "DescribeExecution not an ARN",
        "InvalidArn",
        DescribeExec::is_invalid_arn,
        c.describe_execution().execution_arn(not_arn)
    );
    row!(
        rows,
        "DescribeExecution state machine ARN",
        "InvalidArn",
        DescribeExec::is_invalid_arn,
        c.describe_execution().execution_arn(&wait)
    );

    row!(
        rows,
        "ListExecutions unknown machine",
        "StateMachineDoesNotExist",
        ListExec::is_state_machine_does_not_exist,
        c.list_executions().state_machine_arn(&no_machine)
    );
    row!(
        rows,
        "ListExecutions not an ARN",
        "InvalidArn",
        ListExec::is_invalid_arn,
        c.list_executions().state_machine_arn(not_arn)
    );
    row!(
        rows,
        "ListExecutions status not in the enum",
        "ValidationException",
        ListExec::is_validation_exception,
        c.list_executions()
            .state_machine_arn(&wait)
            .status_filter(ExecutionStatus::from("succeeded"))
    );
    row!(
        rows,
        "ListExecutions PENDING_REDRIVE of a machine",
        "ValidationException",
        ListExec::is_validation_exception,
        c.list_executions()
            .state_machine_arn(&wait)
            .status_filter(ExecutionStatus::PendingRedrive)
    );
    row!(
        rows,
        "ListExecutions maxResults 1001",
        "ValidationException",
        ListExec::is_validation_exception,
        c.list_executions()
            .state_machine_arn(&wait)
            .max_results(1001)
    );
    row!(
        rows,
        "ListExecutions maxResults -1",
        "ValidationException",
        ListExec::is_validation_exception,
        c.list_executions().state_machine_arn(&wait).max_results(-1)
    );
    row!(
        rows,
        "ListExecutions foreign token",
        "InvalidToken",
        ListExec::is_invalid_token,
        c.list_executions()
            .state_machine_arn(&wait)
            .next_token("0123456789abcdef00")
    );
    row!(
        rows,
        "ListExecutions neither machine nor Map Run",
        "ValidationException",
        ListExec::is_validation_exception,
        c.list_executions()
    );
    row!(
        rows,
        "ListExecutions unknown Map Run",
        "ResourceNotFound",
        ListExec::is_resource_not_found,
        c.list_executions().map_run_arn(format!("{wait}/map:run"))
    );

    row!(
        rows,
        "GetExecutionHistory unknown",
        "ExecutionDoesNotExist",
        History::is_execution_does_not_exist,
        c.get_execution_history().execution_arn(&no_execution)
    );
    row!(
        rows,
        "GetExecutionHistory not an ARN",
        "InvalidArn",
        History::is_invalid_arn,
        c.get_execution_history().execution_arn(not_arn)
    );
    row!(
        rows,
        "GetExecutionHistory foreign token",
        "InvalidToken",
        History::is_invalid_token,
        c.get_execution_history()
            .execution_arn(&running)
            .next_token("ffff")
    );
    row!(
        rows,
        "GetExecutionHistory maxResults 1001",
        "ValidationException",
        unmodeled,
        c.get_execution_history()
            .execution_arn(&running)
            .max_results(1001)
    );

    row!(
        rows,
        "StopExecution unknown",
        "ExecutionDoesNotExist",
        Stop::is_execution_does_not_exist,
        c.stop_execution().execution_arn(&no_execution)
    );
    row!(
        rows,
        "StopExecution not an ARN",
        "InvalidArn",
        Stop::is_invalid_arn,
        c.stop_execution().execution_arn(not_arn)
    );
    row!(
        rows,
        "StopExecution error of 257 characters",
        "ValidationException",
        Stop::is_validation_exception,
        c.stop_execution()
            .execution_arn(&running)
            .error("e".repeat(257))
    );
    row!(
        rows,
        "StopExecution cause over 32768 characters",
        "ValidationException",
        Stop::is_validation_exception,
        c.stop_execution()
            .execution_arn(&running)
            .cause("c".repeat(32_769))
    );

    row!(
        rows,
        "SendTaskSuccess malformed token",
        "InvalidToken",
        Success::is_invalid_token,
        c.send_task_success().task_token("not-a-token").output("{}")
    );
    row!(
        rows,
        "SendTaskSuccess unknown token",
        "TaskDoesNotExist",
        Success::is_task_does_not_exist,
        c.send_task_success().task_token(&unknown).output("{}")
    );
    row!(
        rows,
        "SendTaskSuccess answered token",
        "TaskTimedOut",
        Success::is_task_timed_out,
        c.send_task_success().task_token(&closed).output("{}")
    );
    row!(
        rows,
        "SendTaskSuccess output not JSON",
        "InvalidOutput",
        Success::is_invalid_output,
        c.send_task_success().task_token(&live).output("not json")
    );
    row!(
        rows,
        "SendTaskSuccess output over 256 KiB",
        "ValidationException",
        unmodeled,
        c.send_task_success().task_token(&live).output(&big)
    );
    row!(
        rows,
        "SendTaskSuccess token over 2048 characters",
        "ValidationException",
        unmodeled,
        c.send_task_success()
            .task_token("t".repeat(2049))
            .output("{}")
    );

    row!(
        rows,
        "SendTaskFailure malformed token",
        "InvalidToken",
        Failure::is_invalid_token,
        c.send_task_failure().task_token("not-a-token")
    );
    row!(
        rows,
        "SendTaskFailure unknown token",
        "TaskDoesNotExist",
        Failure::is_task_does_not_exist,
        c.send_task_failure().task_token(&unknown)
    );
    row!(
        rows,
        "SendTaskFailure answered token",
        "TaskTimedOut",
        Failure::is_task_timed_out,
        c.send_task_failure().task_token(&closed)
    );
    row!(
        rows,
        "SendTaskFailure error of 257 characters",
        "ValidationException",
        unmodeled,
        c.send_task_failure()
            .task_token(&live)
            .error("e".repeat(257))
    );

    row!(
        rows,
        "SendTaskHeartbeat malformed token",
        "InvalidToken",
        Heartbeat::is_invalid_token,
        c.send_task_heartbeat().task_token("not-a-token")
    );
    row!(
        rows,
        "SendTaskHeartbeat unknown token",
        "TaskDoesNotExist",
        Heartbeat::is_task_does_not_exist,
        c.send_task_heartbeat().task_token(&unknown)
    );
    row!(
        rows,
        "SendTaskHeartbeat answered token",
        "TaskTimedOut",
        Heartbeat::is_task_timed_out,
        c.send_task_heartbeat().task_token(&closed)
    );

    let wrong: Vec<String> = rows.into_iter().flatten().collect();
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
    // None of the refused calls changed anything.
    let d = l.engine.describe_execution(&running).expect("exists");
    assert_eq!(d.status, asl::ExecutionStatus::Running);
}

/// A request the SDK would not send as is, and what AWS answers to it.
struct Raw {
    label: &'static str,
    target: &'static str,
    body: String,
    status: u16,
    error_type: String,
    /// The whole message, where AWS's text is on record.
    message: Option<String>,
}

#[tokio::test]
async fn what_the_sdk_would_not_send_is_refused_as_aws_refuses_it() {
    let l = Local::start().await;
    let wait = l.machine("wait");
    let missing = l.execution("wait", "missing");
    let validate = "com.amazon.coral.validate#ValidationException";
    let serialization = "com.amazon.coral.service#SerializationException";
    let service = |code: &str| format!("com.amazonaws.swf.service.v2.model#{code}");
    let rows = [
        Raw {
            label: "a required member is missing",
            target: "StartExecution",
            body: "{}".into(),
            status: 400,
            error_type: validate.into(),
            message: Some("1 validation error detected: Value null at 'stateMachineArn' failed to satisfy constraint: Member must not be null".into()),
        },
        Raw {
            label: "two members break constraints",
            target: "SendTaskSuccess",
            body: format!(r#"{{"output": "{}"}}"#, "x".repeat(262_145)),
            status: 400,
            error_type: validate.into(),
            message: Some("2 validation errors detected: Value null at 'taskToken' failed to satisfy constraint: Member must not be null; Value at 'output' failed to satisfy constraint: Member must have length less than or equal to 262144".into()),
        },
        // The three texts below are AWS's own, as recorded from the service.
        Raw {
            label: "maxResults over 1000",
            target: "ListStateMachines",
            body: r#"{"maxResults": 1001}"#.into(),
            status: 400,
            error_type: validate.into(),
            message: Some("1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000".into()),
        },
        Raw {
            label: "a status outside the enum",
            target: "ListExecutions",
            body: format!(r#"{{"stateMachineArn": "{wait}", "statusFilter": "succeeded"}}"#),
            status: 400,
            error_type: validate.into(),
            message: Some("1 validation error detected: Value 'succeeded' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]".into()),
        },
        Raw {
            label: "not an ARN",
            target: "DescribeStateMachine",
            body: r#"{"stateMachineArn": "not_a_valid_arn"}"#.into(),
            status: 400,
            error_type: service("InvalidArn"),
            message: Some("Invalid Arn: 'Invalid ARN prefix: not_a_valid_arn'".into()),
        },
        Raw {
            label: "an execution that does not exist",
            target: "DescribeExecution",
            body: format!(r#"{{"executionArn": "{missing}"}}"#),
            status: 400,
            error_type: service("ExecutionDoesNotExist"),
            message: Some(format!("Execution Does Not Exist: '{missing}'")),
        },
        Raw {
            label: "input that is not JSON",
            target: "StartExecution",
            body: format!(r#"{{"stateMachineArn": "{wait}", "input": "not json"}}"#),
            status: 400,
            error_type: service("InvalidExecutionInput"),
            message: None,
        },
        Raw {
            label: "a member of the wrong type",
            target: "GetExecutionHistory",
            body: r#"{"executionArn": 5}"#.into(),
            status: 400,
            error_type: serialization.into(),
            message: None,
        },
        Raw {
            label: "a body that is not JSON",
            target: "ListStateMachines",
            body: "{not json".into(),
            status: 400,
            error_type: serialization.into(),
            message: None,
        },
        Raw {
            label: "an operation not served",
            target: "CreateActivity",
            body: "{}".into(),
            status: 400,
            error_type: "com.amazon.coral.service#UnknownOperationException".into(),
            message: None,
        },
    ];
    let mut wrong = Vec::new();
    for row in rows {
        let target = format!("AWSStepFunctions.{}", row.target);
        let resp = post(&l, &target, row.body.as_bytes()).await;
        let body: serde_json::Value = serde_json::from_str(&resp.body).unwrap_or_default();
        let got = (
            resp.status,
            body["__type"].as_str().unwrap_or_default().to_string(),
            resp.header("content-type").map(str::to_string),
        );
        let expected = (
            row.status,
            row.error_type,
            Some("application/x-amz-json-1.0".to_string()),
        );
        let message = body["message"].as_str().unwrap_or_default();
        if got != expected || row.message.as_deref().is_some_and(|m| m != message) {
            wrong.push(format!("{}: got {got:?} {message:?}", row.label));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

/// A body over 1,049,600 bytes is refused before it is read, in plain text, as Step Functions
/// refuses it (aws/aws-sdk-js-v3#4184 records AWS's answer).
#[tokio::test]
async fn a_body_over_the_service_limit_is_refused_unread() {
    let l = Local::start().await;
    let body = vec![b' '; 1_049_601];
    let resp = post(&l, "AWSStepFunctions.ListStateMachines", &body).await;
    assert_eq!(resp.status, 413);
    assert_eq!(resp.body, "HTTP content length exceeded 1049600 bytes.");
    let mut at_limit = b"{}".to_vec();
    at_limit.resize(1_049_600, b' ');
    let resp = post(&l, "AWSStepFunctions.ListStateMachines", &at_limit).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
}

async fn post(l: &Local, target: &str, body: &[u8]) -> http_client::HttpResponse {
    http_client::request(
        "POST",
        &l.server.url(),
        &[
            ("X-Amz-Target", target),
            ("Content-Type", "application/x-amz-json-1.0"),
        ],
        body,
    )
    .await
    .expect("the endpoint answers")
}
