//! The SNS adapter of [`Publisher`].

use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;
use responder_core::{names, TaskError};

use crate::{ApprovalMessage, Publisher};

/// The IAM actions of the calls below: the task's least privilege.
pub const IAM_ACTIONS: &[&str] = &["sns:Publish"];

/// Publishes approval requests to one topic (`SNS_TOPIC_ARN`).
#[derive(Debug, Clone)]
pub struct SnsPublisher {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsPublisher {
    /// A publisher to a topic.
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        SnsPublisher {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

#[async_trait]
impl Publisher for SnsPublisher {
    async fn publish(&self, message: &ApprovalMessage) -> Result<String, TaskError> {
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&message.subject)
            .message(&message.body);
        for a in &message.attributes {
            let value = MessageAttributeValue::builder()
                .data_type(a.data_type)
                .string_value(&a.value)
                .build()
                .map_err(|e| {
                    TaskError::new(
                        names::NOTIFY_FAILED,
                        format!("message attribute {}: {e}", a.name),
                    )
                })?;
            request = request.message_attributes(a.name, value);
        }
        let out = request.send().await.map_err(|e| {
            // Throttling and transient failures keep their retryable names; anything else
            // (missing topic, access denied, bad attribute) means the request was not sent.
            let err = responder_aws::classify_sdk_error("sns:Publish", &e);
            if err.is_retryable() {
                err
            } else {
                TaskError::new(names::NOTIFY_FAILED, err.message)
            }
        })?;
        Ok(out.message_id().unwrap_or_default().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Attribute;
    use aws_sdk_sns::operation::publish::{PublishError, PublishOutput};
    use aws_sdk_sns::types::error::NotFoundException;
    use aws_sdk_sns::Client;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    fn message() -> ApprovalMessage {
        ApprovalMessage {
            subject: "[APPROVAL NEEDED] x".into(),
            body: "body".into(),
            attributes: vec![
                Attribute {
                    name: "severity",
                    data_type: "Number",
                    value: "5".into(),
                },
                Attribute {
                    name: "outcome",
                    data_type: "String",
                    value: "approval-requested".into(),
                },
            ],
        }
    }

    #[tokio::test]
    async fn publishes_subject_body_and_typed_attributes_to_the_topic() {
        let rule = mock!(Client::publish)
            .match_requests(|r| {
                let attrs = r.message_attributes().cloned().unwrap_or_default();
                let sev = attrs.get("severity");
                let outcome = attrs.get("outcome");
                r.topic_arn() == Some("arn:aws:sns:us-east-1:111122223333:approvals")
                    && r.subject() == Some("[APPROVAL NEEDED] x")
                    && r.message() == Some("body")
                    && sev.map(|v| (v.data_type(), v.string_value())) == Some(("Number", Some("5")))
                    && outcome.map(|v| (v.data_type(), v.string_value()))
                        == Some(("String", Some("approval-requested")))
            })
            .then_output(|| PublishOutput::builder().message_id("m-1").build());
        let client = mock_client!(aws_sdk_sns, [&rule]);
        let p = SnsPublisher::new(client, "arn:aws:sns:us-east-1:111122223333:approvals");
        assert_eq!(p.publish(&message()).await, Ok("m-1".to_string()));
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn throttling_stays_retryable_and_a_missing_topic_is_notify_failed() {
        let throttled = mock!(Client::publish).then_error(|| {
            PublishError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("Throttling")
                    .message("Rate exceeded")
                    .build(),
            )
        });
        let missing = mock!(Client::publish).then_error(|| {
            PublishError::NotFoundException(
                NotFoundException::builder()
                    .meta(
                        aws_smithy_types::error::ErrorMetadata::builder()
                            .code("NotFound")
                            .message("Topic does not exist")
                            .build(),
                    )
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_sns, RuleMode::Sequential, [&throttled, &missing]);
        let p = SnsPublisher::new(client, "arn:aws:sns:us-east-1:111122223333:approvals");
        let first = p.publish(&message()).await.expect_err("throttled");
        assert_eq!(first.name, names::REMEDIATION_THROTTLED);
        let second = p.publish(&message()).await.expect_err("missing");
        assert_eq!(second.name, names::NOTIFY_FAILED);
        assert!(second.message.contains("sns:Publish"), "{}", second.message);
    }
}
