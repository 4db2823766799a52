//! The claim: the first execution to pass the checks for a RESOURCE claims it, atomically.
//!
//! The real state only tells a later execution that an earlier one acted once the earlier one
//! has acted. Two executions for the same instance or principal running at the same time (a
//! duplicate delivery, or two different findings on one instance) would both pass the checks
//! and both act: two isolations, two evidence sets. So right before answering `eligible`,
//! `check-exemption` writes a claim keyed by the resource ([`resource_key`]), on the condition
//! that no other execution holds an unexpired claim; the loser answers `already-contained`
//! and names the holder. The same execution retrying its own claim (a Lambda retry) succeeds.
//!
//! A claim is a lease long enough to outlast the worst case of the state machine's retries
//! ([`CLAIM_LEASE_MINUTES`], plus the approval wait when an analyst is asked; a test derives
//! the worst case from the state machine), so it never lapses while its holder still acts.
//! It also never blocks for long after its holder ended: a claim whose holder is no longer
//! running (read with `states:DescribeExecution`) is taken over at once, so a failed, rejected
//! or timed-out attempt does not hold up the next finding on the resource.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use responder_core::{TaskError, TaskInput};

/// The environment variable naming the claims table (in the security account).
pub const CLAIMS_TABLE_ENV: &str = "CLAIMS_TABLE";

/// How long a claim on a resource to contain at once lasts: longer than the worst case of the
/// state machine's retries of every task between the claim and the end of containment (each
/// attempt bounded by its state's `TimeoutSeconds`), so it cannot lapse while its execution is
/// still acting. A holder that ended is taken over before the lease ends.
pub const CLAIM_LEASE_MINUTES: i64 = 180;

/// The approval wait assumed when the document does not say (the state machine's default).
pub const DEFAULT_APPROVAL_TIMEOUT_SECONDS: u64 = 3600;

/// One claim: the item written to the claims table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The resource's key ([`resource_key`]): the table's key `pk`.
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
            key: resource_key(input),
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

/// The claim key of the resource a finding's containment acts on:
/// `resource#PARTITION#ACCOUNT#REGION#TARGET`, the target being the instance id,
/// `function/NAME`, `bucket/NAME`, `db/IDENTIFIER` (`cluster/IDENTIFIER` for an Aurora member), `sequence/UID`, `user/NAME`, `role/NAME`, or `role/NAME/i-...` for one instance's sessions of a role (containing those
/// does not touch the role's other sessions, so it does not wait for them).
pub fn resource_key(input: &TaskInput) -> String {
    use responder_core::finding::{CredentialKind, Resource};
    let f = &input.finding;
    let target = match &f.resource {
        Resource::Instance(i) => i.instance_id.clone(),
        Resource::AccessKey(k) => {
            let name = k.user_name.as_deref().unwrap_or("-");
            match k.credential_kind {
                CredentialKind::RoleSession => match k
                    .principal_id
                    .as_deref()
                    .and_then(|p| p.split_once(':'))
                    .filter(|(_, i)| i.starts_with("i-"))
                {
                    Some((_, instance)) => format!("role/{name}/{instance}"),
                    None => format!("role/{name}"),
                },
                CredentialKind::Root => "root".to_string(),
                _ => format!("user/{name}"),
            }
        }
        Resource::Function(fun) => format!("function/{}", fun.function_name),
        Resource::Bucket(b) => format!("bucket/{}", b.bucket_name),
        // An Aurora member's containment moves its cluster: two findings on two members of one
        // cluster act on one resource.
        Resource::Database(d) => match &d.db_cluster_identifier {
            Some(c) => format!("cluster/{c}"),
            None => format!("db/{}", d.db_instance_identifier),
        },
        Resource::Task(t) => format!("task/{}/{}", t.cluster, t.task_id),
        // An attack sequence: GuardDuty's updates of it must not ask for the same plan twice.
        Resource::Other { resource_type } => match &f.sequence {
            Some(s) => format!("sequence/{}", s.uid),
            None => resource_type.clone(),
        },
    };
    format!(
        "resource#{}#{}#{}#{target}",
        f.partition, f.account_id, f.region
    )
}

/// The lease of a claim on `input`'s resource.
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
    /// Claims `claim.key` for `claim.execution` if `holder` still holds it (a holder that
    /// ended); another execution that took it over meanwhile wins.
    async fn take_over(&self, claim: &Claim, holder: &str) -> Result<ClaimOutcome, TaskError>;
}

/// Tells whether an execution still runs.
#[async_trait]
pub trait Executions: Send + Sync {
    /// `Some(true)` while the execution runs, `Some(false)` once it ended (succeeded, failed,
    /// timed out, aborted), `None` when that cannot be told (the claim then stands).
    async fn running(&self, execution_arn: &str) -> Result<Option<bool>, TaskError>;
}

/// Claims the resource for this execution, taking over a claim whose holder has ended.
pub async fn take(
    claims: &dyn Claims,
    executions: &dyn Executions,
    claim: &Claim,
) -> Result<ClaimOutcome, TaskError> {
    let outcome = claims.claim(claim).await?;
    let ClaimOutcome::Held {
        execution: Some(holder),
        ..
    } = &outcome
    else {
        return Ok(outcome);
    };
    if holder == &claim.execution {
        return Ok(ClaimOutcome::Claimed);
    }
    match executions.running(holder).await? {
        Some(false) => {
            tracing::info!(holder = %holder, key = %claim.key, "the claim's holder has ended: taking it over");
            claims.take_over(claim, holder).await
        }
        _ => Ok(outcome),
    }
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
