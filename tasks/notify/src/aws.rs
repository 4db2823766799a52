//! The SNS adapter, the topic configuration and the Lambda handler wiring.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;
use responder_aws::classify_sdk_error;
use responder_aws::errors::error_code;
use responder_core::{names, TaskError};
use serde_json::Value;

use crate::{Publisher, Settings};

/// Exactly the IAM actions of the calls this task makes.
pub const IAM_ACTIONS: &[&str] = &["sns:Publish"];

/// SNS error codes that mean "slow down" (SNS says `Throttled`; a KMS-encrypted topic can answer
/// `KMSThrottling`).
const SNS_THROTTLING_CODES: &[&str] = &["Throttled", "Throttling", "KMSThrottling"];

/// A validated SNS topic ARN (`arn:<partition>:sns:<region>:<account>:<name>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicArn {
    /// The whole ARN.
    pub arn: String,
    /// The topic's region: the SNS client must call that region.
    pub region: String,
}

impl TopicArn {
    /// Parses `SNS_TOPIC_ARN`, naming the problem on error (`Config.Invalid`).
    pub fn parse(arn: &str) -> Result<Self, TaskError> {
        let arn = arn.trim();
        match responder_core::arn::Arn::parse(arn) {
            Some(a)
                if a.service == "sns"
                    && !a.region.is_empty()
                    && a.has_account()
                    && !a.resource.contains(':') =>
            {
                Ok(TopicArn {
                    arn: arn.to_string(),
                    region: a.region.to_string(),
                })
            }
            _ => Err(TaskError::config(format!(
                "SNS_TOPIC_ARN is {arn:?}; expected arn:<partition>:sns:<region>:<account>:<topic>"
            ))),
        }
    }
}

/// [`Publisher`] over SNS.
#[derive(Debug, Clone)]
pub struct SnsPublisher {
    client: aws_sdk_sns::Client,
    topic: String,
}

impl SnsPublisher {
    /// Publishes to `topic` with `client`.
    pub fn new(client: aws_sdk_sns::Client, topic: &TopicArn) -> Self {
        SnsPublisher {
            client,
            topic: topic.arn.clone(),
        }
    }
}

#[async_trait]
impl Publisher for SnsPublisher {
    async fn publish(
        &self,
        subject: &str,
        body: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<String, TaskError> {
        let mut req = self
            .client
            .publish()
            .topic_arn(&self.topic)
            .subject(subject)
            .message(body);
        for (k, v) in attributes {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .map_err(|e| TaskError::new(names::NOTIFY_FAILED, format!("attribute {k}: {e}")))?;
            req = req.message_attributes(k, value);
        }
        let out = req.send().await.map_err(|e| {
            let classified = classify_sdk_error("sns:Publish", &e);
            let throttled = classified.name == names::REMEDIATION_THROTTLED
                || error_code(&e).is_some_and(|c| SNS_THROTTLING_CODES.contains(&c));
            if throttled {
                TaskError::new(names::REMEDIATION_THROTTLED, classified.message)
            } else {
                TaskError::new(names::NOTIFY_FAILED, classified.message)
            }
        })?;
        Ok(out.message_id().unwrap_or_default().to_string())
    }
}

/// Handles one invocation: any JSON document in, `{messageId, subject, bytes, trimmed}` out.
pub async fn handle(
    payload: &Value,
    publisher: &dyn Publisher,
    settings: &Settings,
) -> Result<Value, TaskError> {
    let out = crate::notify(payload, publisher, settings).await?;
    serde_json::to_value(&out).map_err(|e| {
        TaskError::new(
            names::NOTIFY_FAILED,
            format!("output not serialisable: {e}"),
        )
    })
}

#[cfg(test)]
mod tests;
