//! Executions through the SDK: `StartExecution`'s idempotency, the fields `DescribeExecution`
//! and `ListExecutions` give for each status, ARN and timestamp formats, and `StopExecution`.

use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::primitives::DateTime;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};

use super::{Local, ACCOUNT, REGION};

/// "StartExecution is idempotent for STANDARD workflows. [...] if you call StartExecution with
/// the same name and input as a running execution, the call succeeds and return the same
/// response as the original request. If the execution is closed or if the input is different,
/// it returns a 400 ExecutionAlreadyExists error" (API reference, StartExecution).
#[tokio::test]
async fn start_execution_is_idempotent_while_the_execution_runs() {
    let mut l = Local::start().await;
    let (arn, token) = l.waiting("once").await;
    let start = |input: &str| {
        l.sfn
            .start_execution()
            .state_machine_arn(l.machine("wait"))
            .name("once")
            .input(input)
            .send()
    };
    let first = describe(&l, &arn).await;
    let again = start("{}").await.expect("the same start succeeds");
    assert_eq!(again.execution_arn(), arn);
    assert_eq!(
        again.start_date(),
        first.start_date(),
        "the same response as the original request"
    );
    let listed = l
        .sfn
        .list_executions()
        .state_machine_arn(l.machine("wait"))
        .send()
        .await
        .expect("lists");
    assert_eq!(listed.executions().len(), 1, "no second execution started");
    let other = start(r#"{"a":1}"#).await.expect_err("another input");
    assert!(other
        .as_service_error()
        .is_some_and(|e| e.is_execution_already_exists()));

    l.sfn
        .send_task_success()
        .task_token(token)
        .output("{}")
        .send()
        .await
        .expect("answered");
    l.engine.wait_for_execution(&arn).await.expect("ends");
    let closed = start("{}").await.expect_err("a closed execution's name");
    assert!(closed
        .as_service_error()
        .is_some_and(|e| e.is_execution_already_exists()));
}

/// A name is what the API reference allows, not only `[0-9A-Za-z_-]`: Step Functions starts
/// an execution named `state.machine.execution_...` (recorded against the service).
#[tokio::test]
async fn execution_names_with_dots_and_accents_are_valid() {
    let l = Local::start().await;
    for name in ["state.machine.execution_1", "exécution", "a+b=c@d!"] {
        let arn = l.start_execution("pass", name, "{}").await;
        assert_eq!(arn, l.execution("pass", name));
    }
}

/// The input limit is 256 KiB in UTF-8 bytes ("Length constraints apply to the payload size,
/// and are expressed as bytes in UTF-8 encoding"): exactly 262,144 bytes start, one more is
/// refused (see the error table), and multi-byte characters count by their bytes.
#[tokio::test]
async fn an_input_of_exactly_256_kib_starts() {
    let l = Local::start().await;
    let input = format!("{{\"a\":\"{}\"}}", "x".repeat(262_144 - 8));
    assert_eq!(input.len(), 262_144);
    let arn = l.start_execution("pass", "largest", &input).await;
    assert_eq!(describe(&l, &arn).await.input(), Some(input.as_str()));
    // 131,069 two-byte characters: far fewer than 262,144 characters, but 262,146 bytes.
    let wide = format!("{{\"a\":\"{}\"}}", "é".repeat(131_069));
    assert!(wide.chars().count() < 262_144 && wide.len() > 262_144);
    let refused = l
        .sfn
        .start_execution()
        .state_machine_arn(l.machine("pass"))
        .input(wide)
        .send()
        .await
        .expect_err("over the limit in bytes");
    assert!(refused
        .as_service_error()
        .is_some_and(|e| e.is_validation_exception()));
}

async fn describe(l: &Local, arn: &str) -> DescribeExecutionOutput {
    l.sfn
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .expect("described")
}

/// What `DescribeExecution` gives for each status: `output` only when SUCCEEDED ("This field
/// is set only if the execution succeeds"), `error` and `cause` when it failed or was stopped
/// with them, `stopDate` once it ended; ARNs in their documented shapes; timestamps in epoch
/// seconds with the milliseconds the engine keeps.
#[tokio::test]
async fn describe_execution_gives_the_fields_of_each_status() {
    let mut l = Local::start().await;
    let (running, _) = l.waiting("running").await;
    let succeeded = l.finished("pass", "succeeded").await;
    let failed = l.finished("fail", "failed").await;
    let (aborted, _) = l.waiting("aborted").await;
    let stopped = l
        .sfn
        .stop_execution()
        .execution_arn(&aborted)
        .error("Operator.Cancelled")
        .cause("a false positive")
        .send()
        .await
        .expect("stops");

    let d = describe(&l, &running).await;
    assert_eq!(d.status(), &ExecutionStatus::Running);
    assert_eq!(
        d.execution_arn(),
        format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:wait:running")
    );
    assert_eq!(
        d.state_machine_arn(),
        format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:wait")
    );
    assert_eq!(d.name(), Some("running"));
    assert_eq!(d.input(), Some("{}"));
    assert_eq!(d.input_details().map(|i| i.included()), Some(true));
    assert_eq!(d.redrive_count(), Some(0));
    assert_eq!(
        (d.stop_date(), d.output(), d.error(), d.cause()),
        (None, None, None, None)
    );
    // The SDK reads the number as a float: compare with what it makes of the engine's time.
    let engine_start = l
        .engine
        .describe_execution(&running)
        .expect("exists")
        .start_date;
    assert_eq!(
        d.start_date(),
        &DateTime::from_secs_f64(engine_start.timestamp_millis() as f64 / 1000.0),
        "epoch seconds with milliseconds"
    );

    let d = describe(&l, &succeeded).await;
    assert_eq!(d.status(), &ExecutionStatus::Succeeded);
    assert_eq!(d.output(), Some(r#"{"done":true}"#));
    assert_eq!(d.output_details().map(|o| o.included()), Some(true));
    assert_eq!((d.error(), d.cause()), (None, None));
    assert!(d.stop_date().is_some_and(|s| s >= d.start_date()));

    let d = describe(&l, &failed).await;
    assert_eq!(d.status(), &ExecutionStatus::Failed);
    assert_eq!(d.output(), None);
    assert_eq!(
        (d.error(), d.cause()),
        (Some("Remediation.Failed"), Some("it broke"))
    );
    assert!(d.stop_date().is_some());

    let d = describe(&l, &aborted).await;
    assert_eq!(d.status(), &ExecutionStatus::Aborted);
    assert_eq!(d.output(), None);
    assert_eq!(
        (d.error(), d.cause()),
        (Some("Operator.Cancelled"), Some("a false positive"))
    );
    assert_eq!(d.stop_date(), Some(stopped.stop_date()));

    // ListExecutions gives the same status and dates, and none of the data.
    let listed = l
        .sfn
        .list_executions()
        .state_machine_arn(l.machine("wait"))
        .send()
        .await
        .expect("lists");
    let statuses: Vec<(&str, &ExecutionStatus, bool)> = listed
        .executions()
        .iter()
        .map(|x| (x.name(), x.status(), x.stop_date().is_some()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("aborted", &ExecutionStatus::Aborted, true),
            ("running", &ExecutionStatus::Running, false)
        ],
        "newest first"
    );
}

/// `StopExecution` ends a running execution `ABORTED` with the given error and cause, and its
/// history with `ExecutionAborted`; without them, `DescribeExecution` has no `error` or
/// `cause`. Stopping an execution that has already ended changes nothing and answers with the
/// date it ended.
#[tokio::test]
async fn stop_execution_aborts_a_running_execution_and_leaves_an_ended_one() {
    let mut l = Local::start().await;
    let (arn, token) = l.waiting("to-stop").await;
    let stop = |arn: &str| l.sfn.stop_execution().execution_arn(arn).send();
    let stopped = stop(&arn).await.expect("stops");
    let d = describe(&l, &arn).await;
    assert_eq!(d.status(), &ExecutionStatus::Aborted);
    assert_eq!((d.error(), d.cause()), (None, None));
    assert_eq!(d.stop_date(), Some(stopped.stop_date()));
    let history = l
        .sfn
        .get_execution_history()
        .execution_arn(&arn)
        .reverse_order(true)
        .max_results(1)
        .send()
        .await
        .expect("history");
    assert_eq!(
        history.events().first().map(|e| e.r#type()),
        Some(&HistoryEventType::ExecutionAborted)
    );
    let answer = l
        .sfn
        .send_task_success()
        .task_token(token)
        .output("{}")
        .send()
        .await
        .expect_err("the task ended with its execution");
    assert!(answer
        .as_service_error()
        .is_some_and(|e| e.is_task_timed_out()));

    let again = stop(&arn).await.expect("stopping again is no error");
    assert_eq!(again.stop_date(), stopped.stop_date());

    let succeeded = l.finished("pass", "done").await;
    let ended = describe(&l, &succeeded).await;
    let answer = stop(&succeeded).await.expect("no error");
    assert_eq!(Some(answer.stop_date()), ended.stop_date());
    assert_eq!(
        describe(&l, &succeeded).await.status(),
        &ExecutionStatus::Succeeded
    );
}
