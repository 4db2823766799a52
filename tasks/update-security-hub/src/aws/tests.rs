//! Adapter tests: the `BatchUpdateFindings` call against `aws-smithy-mocks`, down to the JSON
//! the SDK puts on the wire.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use aws_sdk_securityhub::operation::batch_update_findings::BatchUpdateFindingsError;
use aws_sdk_securityhub::types::{
    AwsSecurityFindingIdentifier, BatchUpdateFindingsUnprocessedFinding,
};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use serde_json::json;

use super::*;
use crate::Target;

const FINDING_ARN: &str = "arn:aws:guardduty:eu-west-1:222222222222:detector/4e6f8a0b2c4d6e8f0a1b3c5d7e9f1a2b/finding/9a1c3e5a7c9e1b3d5f7a9c1e3b5d7f44";
const PRODUCT_ARN: &str = "arn:aws:securityhub:eu-west-1::product/aws/guardduty";

fn finding_update(status: Option<WorkflowStatus>, note: &str) -> FindingUpdate {
    FindingUpdate {
        target: Target {
            finding_arn: FINDING_ARN.into(),
            product_arn: PRODUCT_ARN.into(),
            region: "eu-west-1".into(),
        },
        status,
        note: note.into(),
    }
}

fn identifier() -> AwsSecurityFindingIdentifier {
    AwsSecurityFindingIdentifier::builder()
        .id(FINDING_ARN)
        .product_arn(PRODUCT_ARN)
        .build()
}

fn processed_output() -> BatchUpdateFindingsOutput {
    BatchUpdateFindingsOutput::builder()
        .processed_findings(identifier())
        .build()
}

fn unprocessed_output(code: &str) -> BatchUpdateFindingsOutput {
    BatchUpdateFindingsOutput::builder()
        .unprocessed_findings(
            BatchUpdateFindingsUnprocessedFinding::builder()
                .finding_identifier(identifier())
                .error_code(code)
                .error_message("no")
                .build(),
        )
        .build()
}

/// Keeps the HTTP request the SDK serialized, as it would be sent.
#[derive(Debug, Clone, Default)]
struct Wire(Arc<Mutex<Vec<(String, String, Value)>>>);

impl Intercept for Wire {
    fn name(&self) -> &'static str {
        "Wire"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let r = context.request();
        let body: Value = serde_json::from_slice(r.body().bytes().unwrap_or_default())?;
        self.0
            .lock()
            .unwrap()
            .push((r.method().to_string(), r.uri().to_string(), body));
        Ok(())
    }
}

impl Wire {
    fn one(&self) -> (String, String, Value) {
        let sent = self.0.lock().unwrap();
        assert_eq!(sent.len(), 1);
        sent[0].clone()
    }
}

#[tokio::test]
async fn sends_one_identifier_the_workflow_status_and_the_note() {
    let note = "GuardDuty Responder: contained. Changed: set-interface-groups eni-0aaa. Execution: arn:aws:states:eu-west-1:111111111111:execution:m:e";
    let rule = mock!(Client::batch_update_findings)
        .match_requests(move |r| {
            let ids = r.finding_identifiers();
            let n = r.note().unwrap();
            ids.len() == 1
                && ids[0].id() == Some(FINDING_ARN)
                && ids[0].product_arn() == Some(PRODUCT_ARN)
                && r.workflow().and_then(|w| w.status()) == Some(&SdkWorkflowStatus::Resolved)
                && n.text() == Some(note)
                && n.updated_by() == Some(UPDATED_BY)
                // Nothing else of the finding is touched.
                && r.severity().is_none()
                && r.verification_state().is_none()
                && r.types().is_empty()
                && r.user_defined_fields().is_none()
                && r.confidence().is_none()
                && r.criticality().is_none()
                && r.related_findings().is_empty()
        })
        .then_output(processed_output);
    let wire = Wire::default();
    let w = wire.clone();
    let client = mock_client!(aws_sdk_securityhub, RuleMode::Sequential, [&rule], |c| c
        .interceptor(w.clone()));
    SecurityHubUpdater::with_client(client)
        .update(&finding_update(Some(WorkflowStatus::Resolved), note))
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
    let (method, uri, body) = wire.one();
    assert_eq!(method, "PATCH");
    assert!(uri.ends_with("/findings/batchupdate"), "{uri}");
    assert_eq!(
        body,
        json!({
            "FindingIdentifiers": [{"Id": FINDING_ARN, "ProductArn": PRODUCT_ARN}],
            "Note": {"Text": note, "UpdatedBy": "guardduty-responder"},
            "Workflow": {"Status": "RESOLVED"}
        })
    );
}

#[tokio::test]
async fn a_kept_status_sends_no_workflow_and_the_note_is_escaped_json() {
    // Characters JSON must escape, and text outside ASCII, arrive exactly as composed.
    let note = r#"GuardDuty Responder: skipped. Why: tag "AutoRemediation" = \disabled\ {"k":1} ünï 漢 🙂. Execution: arn:aws:states:eu-west-1:111111111111:execution:m:e"#;
    let rule = mock!(Client::batch_update_findings)
        .match_requests(|r| r.workflow().is_none())
        .then_output(processed_output);
    let wire = Wire::default();
    let w = wire.clone();
    let client = mock_client!(aws_sdk_securityhub, RuleMode::Sequential, [&rule], |c| c
        .interceptor(w.clone()));
    SecurityHubUpdater::with_client(client)
        .update(&finding_update(None, note))
        .await
        .unwrap();
    let (_, _, body) = wire.one();
    assert_eq!(body["Note"]["Text"], note);
    assert!(body.get("Workflow").is_none(), "{body}");
    assert_eq!(body["FindingIdentifiers"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn notified_is_sent_as_notified() {
    let rule = mock!(Client::batch_update_findings)
        .match_requests(|r| {
            r.workflow().and_then(|w| w.status()) == Some(&SdkWorkflowStatus::Notified)
        })
        .then_output(processed_output);
    let client = mock_client!(aws_sdk_securityhub, [&rule]);
    SecurityHubUpdater::with_client(client)
        .update(&finding_update(Some(WorkflowStatus::Notified), "n"))
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn service_errors_get_their_names() {
    let cases = [
        ("LimitExceededException", names::REMEDIATION_THROTTLED),
        ("TooManyRequestsException", names::REMEDIATION_THROTTLED),
        ("ThrottlingException", names::REMEDIATION_THROTTLED),
        ("InternalException", names::REMEDIATION_TRANSIENT),
        ("InvalidAccessException", names::SECURITY_HUB_UPDATE_FAILED),
        ("InvalidInputException", names::SECURITY_HUB_UPDATE_FAILED),
        ("AccessDeniedException", names::SECURITY_HUB_UPDATE_FAILED),
        (
            "ResourceNotFoundException",
            names::SECURITY_HUB_UPDATE_FAILED,
        ),
    ];
    for (code, name) in cases {
        let rule = mock!(Client::batch_update_findings).then_error(move || {
            BatchUpdateFindingsError::generic(
                ErrorMetadata::builder().code(code).message("no").build(),
            )
        });
        let client = mock_client!(aws_sdk_securityhub, RuleMode::Sequential, [&rule], |c| c
            .retry_config(RetryConfig::disabled()));
        let e = SecurityHubUpdater::with_client(client)
            .update(&finding_update(Some(WorkflowStatus::Notified), "n"))
            .await
            .unwrap_err();
        assert_eq!(e.name, name, "{code}");
        assert!(e.message.contains(code), "{}", e.message);
    }
    // Security Hub not enabled: the message says what to do.
    let rule = mock!(Client::batch_update_findings).then_error(|| {
        BatchUpdateFindingsError::generic(
            ErrorMetadata::builder()
                .code("InvalidAccessException")
                .message("Account 111111111111 is not subscribed to AWS Security Hub")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_securityhub, [&rule]);
    let e = SecurityHubUpdater::with_client(client)
        .update(&finding_update(None, "n"))
        .await
        .unwrap_err();
    assert!(
        e.message.contains("SECURITY_HUB_UPDATES=false"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn an_unprocessed_finding_is_an_error_named_by_its_code() {
    let cases = [
        ("FindingNotFound", names::SECURITY_HUB_FINDING_NOT_FOUND),
        ("ConcurrentUpdateError", names::REMEDIATION_TRANSIENT),
        ("InternalFailure", names::REMEDIATION_TRANSIENT),
        ("InvalidInput", names::SECURITY_HUB_UPDATE_FAILED),
        (
            "DuplicatedFindingIdentifier",
            names::SECURITY_HUB_UPDATE_FAILED,
        ),
        ("FindingSizeExceeded", names::SECURITY_HUB_UPDATE_FAILED),
    ];
    for (code, name) in cases {
        let rule =
            mock!(Client::batch_update_findings).then_output(move || unprocessed_output(code));
        let client = mock_client!(aws_sdk_securityhub, [&rule]);
        let e = SecurityHubUpdater::with_client(client)
            .update(&finding_update(Some(WorkflowStatus::Resolved), "n"))
            .await
            .unwrap_err();
        assert_eq!(e.name, name, "{code}");
        assert!(e.has_aws_code(code), "{code}");
        assert!(e.message.contains(FINDING_ARN), "{}", e.message);
    }
    // An answer that lists neither is not taken for a success.
    let rule = mock!(Client::batch_update_findings)
        .then_output(|| BatchUpdateFindingsOutput::builder().build());
    let client = mock_client!(aws_sdk_securityhub, [&rule]);
    let e = SecurityHubUpdater::with_client(client)
        .update(&finding_update(None, "n"))
        .await
        .unwrap_err();
    assert_eq!(e.name, names::SECURITY_HUB_UPDATE_FAILED);
}

#[tokio::test]
async fn a_finding_security_hub_has_not_received_yet_succeeds_on_a_later_attempt() {
    // GuardDuty sends a new finding to Security Hub within about five minutes; the state
    // machine retries SecurityHub.FindingNotFound, and the next invocation finds it.
    let rule = mock!(Client::batch_update_findings)
        .sequence()
        .output(|| unprocessed_output("FindingNotFound"))
        .output(processed_output)
        .build();
    let client = mock_client!(aws_sdk_securityhub, RuleMode::Sequential, [&rule]);
    let updater = SecurityHubUpdater::with_client(client);
    let u = finding_update(Some(WorkflowStatus::Resolved), "n");
    let e = updater.update(&u).await.unwrap_err();
    assert_eq!(e.name, names::SECURITY_HUB_FINDING_NOT_FOUND);
    updater.update(&u).await.unwrap();
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn the_handler_returns_the_report() {
    let rule = mock!(Client::batch_update_findings).then_output(processed_output);
    let client = mock_client!(aws_sdk_securityhub, [&rule]);
    let updater = SecurityHubUpdater::with_client(client);
    let out = handle(
        &json!({"outcome": "restored", "execution": "arn:aws:states:eu-west-1:111111111111:execution:r:e",
                "state": {"accountId": "222222222222", "region": "eu-west-1",
                          "instanceId": "i-0b2c3d4e5f6a70804", "findingArn": FINDING_ARN}}),
        &updater,
        &Settings::default(),
    )
    .await
    .unwrap();
    assert_eq!(out["task"], "update-security-hub");
    assert_eq!(out["actions"][0]["outcome"], "changed");
    assert_eq!(out["actions"][0]["after"]["workflowStatus"], "RESOLVED");
    assert_eq!(out["evidence"]["findingId"], FINDING_ARN);
    assert_eq!(rule.num_calls(), 1);
}

#[test]
fn the_client_calls_the_finding_s_region() {
    let base = aws_config::SdkConfig::builder()
        .region(Region::new("us-east-1"))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let updater = SecurityHubUpdater::new(base);
    for region in ["eu-west-1", "ap-southeast-2"] {
        assert_eq!(
            updater
                .client_for(region)
                .config()
                .region()
                .map(|r| r.as_ref()),
            Some(region)
        );
    }
}

#[test]
fn iam_actions_are_exact() {
    assert_eq!(IAM_ACTIONS, &["securityhub:BatchUpdateFindings"]);
    let source = include_str!("../aws.rs");
    assert_eq!(source.matches(".batch_update_findings()").count(), 1);
    assert_eq!(
        source.matches("Client::").count(),
        1,
        "one client call site"
    );
}
