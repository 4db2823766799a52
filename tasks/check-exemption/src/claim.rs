//! The claim: the first execution of a finding to pass the checks claims it, atomically.
//!
//! The quarantine tag and the deny policy only tell a later delivery that an earlier one acted
//! once the earlier one has written them. Two deliveries of the same finding running at the
//! same time would both pass those checks and both act (two isolations, two evidence sets). So
//! right before answering `eligible`, `check-exemption` writes a claim keyed by the finding's
//! idempotency key, on the condition that no other execution holds it; the loser answers
//! `already-contained`. The same execution retrying its own claim (a Lambda retry) succeeds.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use responder_core::{TaskError, TaskInput};

/// The environment variable naming the claims table (in the security account).
pub const CLAIMS_TABLE_ENV: &str = "CLAIMS_TABLE";

/// How long a claim is kept (the table's TTL attribute `expiresAt` removes it afterwards):
/// longer than GuardDuty keeps updating a finding, so an update never acts twice.
pub const CLAIM_TTL_DAYS: i64 = 30;

/// One claim: the item written to the claims table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The finding's idempotency key (finding id and resource): the table's key `pk`.
    pub key: String,
    /// The execution that claims it.
    pub execution: String,
    /// The GuardDuty finding id.
    pub finding_id: String,
    /// The resource's identity (instance id, access key).
    pub resource: String,
    /// The account the resource lives in.
    pub account: String,
    /// When the claim was taken.
    pub claimed_at: DateTime<Utc>,
}

impl Claim {
    /// The claim of `input`'s finding by `input`'s execution, taken at `now`.
    pub fn of(input: &TaskInput, now: DateTime<Utc>) -> Self {
        Claim {
            key: input.decision.idempotency_key.clone(),
            execution: input.execution_name().to_string(),
            finding_id: input.finding.id.clone(),
            resource: input.finding.resource.identity(),
            account: input.finding.account_id.clone(),
            claimed_at: now,
        }
    }

    /// `claimedAt`, RFC 3339 in UTC.
    pub fn claimed_at_rfc3339(&self) -> String {
        self.claimed_at.to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// `expiresAt`: epoch seconds, [`CLAIM_TTL_DAYS`] after the claim (the TTL attribute).
    pub fn expires_at(&self) -> i64 {
        (self.claimed_at + chrono::Duration::days(CLAIM_TTL_DAYS)).timestamp()
    }
}

/// What happened to a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// This execution holds the claim now (newly, or again on a retry of its own).
    Claimed,
    /// Another execution holds it.
    Held {
        /// The execution holding it, when the table returned it.
        execution: Option<String>,
        /// When it was claimed, when the table returned it.
        claimed_at: Option<String>,
    },
}

/// Takes claims, atomically.
#[async_trait]
pub trait Claims: Send + Sync {
    /// Claims `claim.key` for `claim.execution`, unless another execution holds it.
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, TaskError>;
}

/// Reads `CLAIMS_TABLE` through `get`: `None` when unset or blank (claims are then not taken),
/// else a valid DynamoDB table name (3 to 255 of `a-z A-Z 0-9 _ . -`), else `Config.Invalid`.
pub fn table_from_lookup(
    get: impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, TaskError> {
    let Some(name) = get(CLAIMS_TABLE_ENV).filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let valid = (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !valid {
        return Err(TaskError::config(format!(
            "{CLAIMS_TABLE_ENV} is {name:?}; expected a DynamoDB table name (3-255 characters of a-z, A-Z, 0-9, _ . -)"
        )));
    }
    Ok(Some(name))
}

/// [`table_from_lookup`] over the process environment.
pub fn table_from_env() -> Result<Option<String>, TaskError> {
    table_from_lookup(|k| std::env::var(k).ok())
}
