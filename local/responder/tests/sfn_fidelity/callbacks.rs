//! Task tokens through the SDK: a heartbeat keeps a task, `SendTaskSuccess` ends it with its
//! output, `SendTaskFailure` fails it with the error and cause given; a token is answered once.

use aws_sdk_sfn::types::ExecutionStatus;

use super::Local;

#[tokio::test]
async fn answers_to_a_task_token_end_the_task_once() {
    let mut l = Local::start().await;
    let (approved, token) = l.waiting("approved").await;
    l.sfn
        .send_task_heartbeat()
        .task_token(&token)
        .send()
        .await
        .expect("a live task takes heartbeats");
    l.sfn
        .send_task_success()
        .task_token(&token)
        .output(r#"{"approved":true}"#)
        .send()
        .await
        .expect("answered");
    let d = l.engine.wait_for_execution(&approved).await.expect("ends");
    assert_eq!(d.status, asl::ExecutionStatus::Succeeded);
    assert_eq!(d.output.as_deref(), Some(r#"{"approved":true}"#));
    let late = l
        .sfn
        .send_task_failure()
        .task_token(&token)
        .send()
        .await
        .expect_err("answered already");
    assert!(late
        .as_service_error()
        .is_some_and(|e| e.is_task_timed_out()));

    let (rejected, token) = l.waiting("rejected").await;
    l.sfn
        .send_task_failure()
        .task_token(&token)
        .error("Approval.Rejected")
        .cause("not this one")
        .send()
        .await
        .expect("answered");
    l.engine.wait_for_execution(&rejected).await.expect("ends");
    let d = l
        .sfn
        .describe_execution()
        .execution_arn(&rejected)
        .send()
        .await
        .expect("described");
    assert_eq!(d.status(), &ExecutionStatus::Failed);
    assert_eq!(
        (d.error(), d.cause()),
        (Some("Approval.Rejected"), Some("not this one"))
    );
}
