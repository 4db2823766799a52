//! Adapter tests: the SNS call against `aws-smithy-mocks`.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use aws_sdk_sns::operation::publish::{PublishError, PublishOutput};
use aws_sdk_sns::types::error::AuthorizationErrorException;
use aws_sdk_sns::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use serde_json::json;

use super::*;

const TOPIC: &str = "arn:aws:sns:eu-west-1:111111111111:guardduty-responder";

fn topic() -> TopicArn {
    TopicArn::parse(TOPIC).unwrap()
}

fn attrs() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("outcome".to_string(), "contained".to_string()),
        ("tier".to_string(), "HIGH".to_string()),
    ])
}

#[tokio::test]
async fn publishes_subject_body_and_string_attributes_to_the_topic() {
    let rule = mock!(Client::publish)
        .match_requests(|r| {
            let a = r.message_attributes().unwrap();
            r.topic_arn() == Some(TOPIC)
                && r.subject() == Some("[HIGH] contained i-0abc")
                && r.message() == Some("{\"a\":1}")
                && a.len() == 2
                && a["outcome"].data_type() == "String"
                && a["outcome"].string_value() == Some("contained")
                && a["tier"].string_value() == Some("HIGH")
        })
        .then_output(|| PublishOutput::builder().message_id("mid-1").build());
    let client = mock_client!(aws_sdk_sns, [&rule]);
    let p = SnsPublisher::new(client, &topic());
    let id = p
        .publish("[HIGH] contained i-0abc", "{\"a\":1}", &attrs())
        .await
        .unwrap();
    assert_eq!(id, "mid-1");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn the_handler_returns_the_output_document() {
    let rule = mock!(Client::publish)
        .match_requests(|r| {
            r.message_attributes().is_some_and(|a| a.len() == 5)
                && r.subject()
                    .is_some_and(|s| s.starts_with("[UNKNOWN] failed"))
        })
        .then_output(|| PublishOutput::builder().message_id("mid-2").build());
    let client = mock_client!(aws_sdk_sns, [&rule]);
    let p = SnsPublisher::new(client, &topic());
    let out = handle(
        &json!({"outcome": "failed", "error": {"Error": "States.Timeout", "Cause": "late"}}),
        &p,
        &Settings::default(),
    )
    .await
    .unwrap();
    assert_eq!(out["messageId"], "mid-2");
    assert_eq!(out["subject"], "[UNKNOWN] failed: States.Timeout");
    assert_eq!(out["trimmed"], false);
    assert!(out["bytes"].as_u64().unwrap() > 100);
}

#[tokio::test]
async fn throttling_is_retryable_and_other_errors_are_notify_failed() {
    let cases = [
        ("Throttled", names::REMEDIATION_THROTTLED),
        ("Throttling", names::REMEDIATION_THROTTLED),
        ("KMSThrottling", names::REMEDIATION_THROTTLED),
        ("InvalidParameter", names::NOTIFY_FAILED),
        ("NotFound", names::NOTIFY_FAILED),
    ];
    for (code, name) in cases {
        let rule = mock!(Client::publish).then_error(move || {
            PublishError::generic(ErrorMetadata::builder().code(code).message("no").build())
        });
        let client = mock_client!(aws_sdk_sns, RuleMode::Sequential, [&rule], |c| c
            .retry_config(RetryConfig::disabled()));
        let err = SnsPublisher::new(client, &topic())
            .publish("s", "b", &attrs())
            .await
            .expect_err(code);
        assert_eq!(err.name, name, "{code}");
        assert!(err.message.contains(code), "{}", err.message);
    }
    // A modeled error, as SNS sends for a topic policy that refuses the publisher.
    let rule = mock!(Client::publish).then_error(|| {
        PublishError::AuthorizationErrorException(
            AuthorizationErrorException::builder()
                .message("not authorized")
                .meta(ErrorMetadata::builder().code("AuthorizationError").build())
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_sns, [&rule]);
    let err = SnsPublisher::new(client, &topic())
        .publish("s", "b", &attrs())
        .await
        .expect_err("denied");
    assert_eq!(err.name, names::NOTIFY_FAILED);
}

#[test]
fn topic_arn_is_validated_and_gives_the_region() {
    let t = topic();
    assert_eq!(t.region, "eu-west-1");
    assert_eq!(t.arn, TOPIC);
    for bad in [
        "",
        "guardduty-responder",
        "arn:aws:sqs:eu-west-1:111111111111:q",
        "arn:aws:sns::111111111111:t",
        "arn:aws:sns:eu-west-1:1111:t",
        "arn:aws:sns:eu-west-1:111111111111:",
    ] {
        let e = TopicArn::parse(bad).expect_err(bad);
        assert_eq!(e.name, names::CONFIG_INVALID);
        assert!(e.message.contains("SNS_TOPIC_ARN"));
    }
}

#[test]
fn iam_actions_are_exact() {
    assert_eq!(IAM_ACTIONS, &["sns:Publish"]);
    let source = include_str!("../aws.rs");
    assert_eq!(source.matches(".publish()").count(), 1);
}
