//! The local Step Functions endpoint through the real `aws-sdk-sfn` client: what the CLI and
//! the approval callback rely on.

use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use end_to_end::{fixture, outcomes_for, with_harness, Options};
use responder::scenario::for_instance;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_step_functions_endpoint_serves_the_sdk() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let conf = aws_sdk_sfn::config::Builder::from(&h.security)
            .endpoint_url(h.server.url())
            .build();
        let sfn = aws_sdk_sfn::Client::from_conf(conf);

        let machines = sfn.list_state_machines().send().await?;
        let names: Vec<&str> = machines.state_machines().iter().map(|m| m.name()).collect();
        assert!(names.contains(&"remediate-finding"), "{names:?}");
        assert!(names.contains(&"restore-instance"), "{names:?}");
        let arn = machines
            .state_machines()
            .iter()
            .find(|m| m.name() == "remediate-finding")
            .map(|m| m.state_machine_arn().to_string())
            .context("no remediate-finding")?;

        let id = "e2e0601sdk";
        let event = for_instance(fixture("ec2-low.json")?, id, &e.web, &e.region);
        let started = sfn
            .start_execution()
            .state_machine_arn(&arn)
            .name("e2e-sdk-low")
            .input(event.to_string())
            .send()
            .await?;
        let exec = started.execution_arn().to_string();
        let described = loop {
            let d = sfn.describe_execution().execution_arn(&exec).send().await?;
            if d.status() != &ExecutionStatus::Running {
                break d;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(described.status(), &ExecutionStatus::Succeeded);
        assert_eq!(described.state_machine_arn(), arn);
        assert!(described.output().is_some_and(|o| o.contains(id)));

        // The whole history, in pages.
        let mut events = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = sfn
                .get_execution_history()
                .execution_arn(&exec)
                .max_results(3)
                .set_next_token(token.clone())
                .send()
                .await?;
            events.extend(page.events().iter().map(|e| e.r#type().clone()));
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let whole = sfn
            .get_execution_history()
            .execution_arn(&exec)
            .send()
            .await?;
        assert_eq!(events.len(), whole.events().len(), "pages add up");
        assert_eq!(events.first(), Some(&HistoryEventType::ExecutionStarted));
        assert_eq!(events.last(), Some(&HistoryEventType::ExecutionSucceeded));
        assert!(events.contains(&HistoryEventType::TaskStateEntered));
        assert_eq!(
            outcomes_for(&h, id).await?,
            ["recorded"],
            "the run had its effect"
        );

        let listed = sfn.list_executions().state_machine_arn(&arn).send().await?;
        assert!(listed
            .executions()
            .iter()
            .any(|x| x.execution_arn() == exec));

        // Answers with a token no execution issued are refused with the API's error codes.
        let bad = "AQCEAAAAKgAAAAMAAAAAAAAAAe2e-not-a-token";
        let err = sfn
            .send_task_success()
            .task_token(bad)
            .output("{}")
            .send()
            .await
            .expect_err("a bad token is refused");
        let code = err.as_service_error().and_then(|e| e.meta().code());
        assert!(
            matches!(code, Some("InvalidToken" | "TaskDoesNotExist")),
            "SendTaskSuccess: {err:?}"
        );
        let err = sfn
            .send_task_failure()
            .task_token(bad)
            .error("Approval.Rejected")
            .send()
            .await
            .expect_err("a bad token is refused");
        let code = err.as_service_error().and_then(|e| e.meta().code());
        assert!(
            matches!(code, Some("InvalidToken" | "TaskDoesNotExist")),
            "SendTaskFailure: {err:?}"
        );
        let err = sfn
            .describe_execution()
            .execution_arn(format!(
                "{}:does-not-exist",
                arn.replace(":stateMachine:", ":execution:")
            ))
            .send()
            .await
            .expect_err("unknown execution");
        assert_eq!(
            err.as_service_error().and_then(|e| e.meta().code()),
            Some("ExecutionDoesNotExist"),
            "{err:?}"
        );
        Ok(())
    })
    .await
}
