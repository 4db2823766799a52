//! The DynamoDB adapter of [`Ledger`], in the security account (the task's own credentials,
//! never a member-account session).
//!
//! The table's key is `findingType` (partition) and `entry` (sort). One item per finding acted
//! on (`finding#<id>`: when, which execution, what, and the mark when an analyst made one),
//! expiring [`RETENTION_DAYS`](responder_core::false_positives::RETENTION_DAYS) days after the
//! action through the table's time to live (`expiresAt`); one item per type (`state`: when it
//! was re-enabled, when it last crossed its threshold), kept. Every write is conditional, so
//! re-deliveries and concurrent executions converge on one item per finding.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use responder_aws::classify_sdk_error;
use responder_core::TaskError;

use crate::{expires_at, rfc3339, Action, Entry, Ledger, Mark, TypeState, Written};

/// The IAM actions of every AWS call this task makes (the deploy template's least-privilege
/// test compares the task's role against this list). All on the ledger table, in the
/// security account.
pub const IAM_ACTIONS: &[&str] = &[
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
];

/// The partition key.
pub const PK: &str = "findingType";
/// The sort key.
pub const SK: &str = "entry";
/// The sort key of a type's state item.
pub const STATE_ENTRY: &str = "state";
/// The prefix of the sort key of a finding's item.
pub const FINDING_ENTRY: &str = "finding#";
/// The time-to-live attribute (Unix seconds).
pub const TTL_ATTRIBUTE: &str = "expiresAt";

/// [`Ledger`] over a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoLedger {
    client: Client,
    table: String,
}

impl DynamoLedger {
    /// The ledger in `table`, through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoLedger {
            client,
            table: table.into(),
        }
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key(finding_type: &str, entry: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([(PK.into(), s(finding_type)), (SK.into(), s(entry))])
}

/// Times are kept in milliseconds: a re-enabling and the next action can fall in one second.
fn millis_of(item: &HashMap<String, AttributeValue>, k: &str) -> Option<DateTime<Utc>> {
    let v = item.get(k)?.as_n().ok()?.parse::<i64>().ok()?;
    DateTime::from_timestamp_millis(v)
}

fn conditional_failed<E: aws_sdk_dynamodb::error::ProvideErrorMetadata, R>(
    e: &SdkError<E, R>,
) -> bool {
    e.as_service_error()
        .and_then(|s| s.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}

#[async_trait]
impl Ledger for DynamoLedger {
    async fn entries(
        &self,
        finding_type: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<Entry>, TaskError> {
        let mut entries = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .key_condition_expression("#pk = :t AND begins_with(#sk, :p)")
                .filter_expression("#ae >= :since")
                .projection_expression("#ae, #m")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_names("#ae", "atMillis")
                .expression_attribute_names("#m", "marked")
                .expression_attribute_values(":t", s(finding_type))
                .expression_attribute_values(":p", s(FINDING_ENTRY))
                .expression_attribute_values(":since", n(since.timestamp_millis()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| classify_sdk_error("dynamodb:Query", &e))?;
            for item in out.items() {
                let Some(at) = millis_of(item, "atMillis") else {
                    continue;
                };
                let marked = item.get("marked").and_then(|m| m.as_bool().ok()) == Some(&true);
                entries.push(Entry { at, marked });
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(entries),
            }
        }
    }

    async fn type_state(&self, finding_type: &str) -> Result<TypeState, TaskError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .consistent_read(true)
            .set_key(Some(key(finding_type, STATE_ENTRY)))
            .send()
            .await
            .map_err(|e| classify_sdk_error("dynamodb:GetItem", &e))?;
        let Some(item) = out.item else {
            return Ok(TypeState::default());
        };
        Ok(TypeState {
            reenabled_at: millis_of(&item, "reenabledMillis"),
            reenabled_by: item.get("reenabledBy").and_then(|v| v.as_s().ok()).cloned(),
            turned_down_at: millis_of(&item, "turnedDownMillis"),
        })
    }

    async fn claim_crossing(
        &self,
        finding_type: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, TaskError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(finding_type, STATE_ENTRY)))
            .update_expression("SET #td = :now, #tda = :nows")
            .condition_expression(
                "attribute_not_exists(#td) OR (attribute_exists(#re) AND #td < #re)",
            )
            .expression_attribute_names("#td", "turnedDownMillis")
            .expression_attribute_names("#tda", "turnedDownAt")
            .expression_attribute_names("#re", "reenabledMillis")
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .expression_attribute_values(":nows", s(rfc3339(now)))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if conditional_failed(&e) => Ok(false),
            Err(e) => Err(classify_sdk_error("dynamodb:UpdateItem", &e)),
        }
    }

    async fn record_action(&self, a: &Action) -> Result<Written, TaskError> {
        let mut item = key(&a.finding_type, &format!("{FINDING_ENTRY}{}", a.finding_id));
        item.insert("findingId".into(), s(&a.finding_id));
        item.insert("at".into(), s(rfc3339(a.at)));
        item.insert("atMillis".into(), n(a.at.timestamp_millis()));
        item.insert("account".into(), s(&a.account));
        item.insert("resource".into(), s(&a.resource));
        item.insert("disposition".into(), s(&a.disposition));
        if let Some(e) = &a.execution {
            item.insert("execution".into(), s(e));
        }
        item.insert(TTL_ATTRIBUTE.into(), n(expires_at(a.at)));
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        match res {
            Ok(_) => Ok(Written::New),
            Err(e) if conditional_failed(&e) => Ok(Written::Already),
            Err(e) => Err(classify_sdk_error("dynamodb:PutItem", &e)),
        }
    }

    async fn mark(&self, m: &Mark) -> Result<Written, TaskError> {
        let mut update = String::from(
            "SET #m = :true, #ma = :at, #mb = :by, #ms = :src, #fid = :fid, \
             #at = if_not_exists(#at, :at), #ae = if_not_exists(#ae, :ae), \
             #exp = if_not_exists(#exp, :exp), #d = if_not_exists(#d, :unrecorded)",
        );
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                &m.finding_type,
                &format!("{FINDING_ENTRY}{}", m.finding_id),
            )))
            .condition_expression("attribute_not_exists(#m) OR #m = :false")
            .expression_attribute_names("#m", "marked")
            .expression_attribute_names("#ma", "markedAt")
            .expression_attribute_names("#mb", "markedBy")
            .expression_attribute_names("#ms", "markSource")
            .expression_attribute_names("#fid", "findingId")
            .expression_attribute_names("#at", "at")
            .expression_attribute_names("#ae", "atMillis")
            .expression_attribute_names("#exp", TTL_ATTRIBUTE)
            .expression_attribute_names("#d", "disposition")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":at", s(rfc3339(m.at)))
            .expression_attribute_values(":ae", n(m.at.timestamp_millis()))
            .expression_attribute_values(":exp", n(expires_at(m.at)))
            .expression_attribute_values(":by", s(&m.by))
            .expression_attribute_values(":src", s(&m.source))
            .expression_attribute_values(":fid", s(&m.finding_id))
            .expression_attribute_values(":unrecorded", s("not-recorded"));
        if let Some(r) = &m.reason {
            update.push_str(", #r = :r");
            req = req
                .expression_attribute_names("#r", "reason")
                .expression_attribute_values(":r", s(r));
        }
        match req.update_expression(update).send().await {
            Ok(_) => Ok(Written::New),
            Err(e) if conditional_failed(&e) => Ok(Written::Already),
            Err(e) => Err(classify_sdk_error("dynamodb:UpdateItem", &e)),
        }
    }

    async fn reenable(
        &self,
        finding_type: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), TaskError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(finding_type, STATE_ENTRY)))
            .update_expression("SET #re = :now, #rea = :nows, #reb = :by")
            .expression_attribute_names("#re", "reenabledMillis")
            .expression_attribute_names("#rea", "reenabledAt")
            .expression_attribute_names("#reb", "reenabledBy")
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .expression_attribute_values(":nows", s(rfc3339(now)))
            .expression_attribute_values(":by", s(by))
            .send()
            .await
            .map_err(|e| classify_sdk_error("dynamodb:UpdateItem", &e))?;
        Ok(())
    }
}
