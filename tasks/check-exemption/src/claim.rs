//! The claim: the first execution of a finding to pass the checks claims it, atomically.
//!
//! The quarantine tag and the deny policy only tell a later delivery that an earlier one acted
//! once the earlier one has written them. Two deliveries of the same finding running at the
//! same time would both pass those checks and both act (two isolations, two evidence sets). So
//! right before answering `eligible`, `check-exemption` writes a claim keyed by the finding's
//! idempotency key, on the condition that no other execution holds an unexpired claim; the loser
//! answers `already-contained`. The same execution retrying its own claim (a Lambda retry)
//! succeeds. Claims are leases ([`CLAIM_LEASE_MINUTES`], plus the approval wait when an analyst
//! is asked), so a failed or rejected attempt does not block the finding's later updates.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use responder_core::{TaskError, TaskInput};

/// The environment variable naming the claims table (in the security account).
pub const CLAIMS_TABLE_ENV: &str = "CLAIMS_TABLE";

/// How long a claim on a finding to contain at once lasts. A claim guards the window in which
/// two deliveries run at the same time; containment takes seconds. Once it lapses, a later
/// delivery may act again: after a successful containment the quarantine marker, the evidence
/// tags and the deny policy make that a no-op; after a failed one, GuardDuty's next update of
/// the finding gets a fresh attempt instead of being skipped for good.
pub const CLAIM_LEASE_MINUTES: i64 = 15;

/// The approval wait assumed when the document does not say (the state machine's default).
pub const DEFAULT_APPROVAL_TIMEOUT_SECONDS: u64 = 3600;

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
    /// How long it lasts: [`CLAIM_LEASE_MINUTES`], plus the approval wait for a finding that
    /// waits for an analyst (so a duplicate does not send a second approval request).
    pub lease: chrono::Duration,
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
            lease: lease(input),
        }
    }

    /// `claimedAt`, RFC 3339 in UTC.
    pub fn claimed_at_rfc3339(&self) -> String {
        self.claimed_at.to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// `expiresAt`: epoch seconds when the lease ends. A lapsed claim can be taken over, and
    /// the table's TTL removes it later.
    pub fn expires_at(&self) -> i64 {
        (self.claimed_at + self.lease).timestamp()
    }

    /// `claimed_at` in epoch seconds: a held claim whose `expiresAt` is before it has lapsed.
    pub fn now_epoch(&self) -> i64 {
        self.claimed_at.timestamp()
    }
}

/// The lease of a claim on `input`'s finding.
pub fn lease(input: &TaskInput) -> chrono::Duration {
    let base = chrono::Duration::minutes(CLAIM_LEASE_MINUTES);
    if input.decision.disposition == responder_core::Disposition::RequestApproval {
        let wait = input
            .approval_timeout_seconds
            .unwrap_or(DEFAULT_APPROVAL_TIMEOUT_SECONDS)
            .min(7 * 24 * 3600);
        base + chrono::Duration::seconds(wait as i64)
    } else {
        base
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
