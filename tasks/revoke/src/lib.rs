//! The `revoke` task: contains leaked IAM credentials named by a GuardDuty finding.
//!
//! - A long-term user key (`AKIA...`): the key is deactivated and an inline policy denying
//!   everything, unconditionally, is put on the user; both are read back.
//! - A role session (`ASIA...` of an assumed role): an inline policy on the role denies every
//!   session issued before now (`aws:TokenIssueTime`), as the console's "revoke active sessions".
//! - A user session (`ASIA...` of a user, from `GetSessionToken`): the same time-conditioned deny on
//!   the user. No key is deactivated: the session's parent key is not named by the finding, and
//!   deactivating every key of the user could stop production. The report asks the analyst to
//!   review the user's long-term keys (listed as evidence), since minting the session needed one.
//! - Root credentials, service-linked and AWS-reserved roles, the remediation role itself,
//!   unrecognised key shapes and principals tagged exempt: nothing is changed; the report says why.
//!
//! Every effect is named after the finding (`guardduty-responder-deny-<idempotency key>`), so a
//! re-run replaces the same policy instead of adding one, and a key already inactive is
//! `Unchanged`. In a dry run only read calls are made and the report holds the exact document
//! that would be attached.

pub mod aws;
pub mod documents;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use responder_core::policy::TagMatch;
use responder_core::{
    names, ActionRecord, CredentialKind, Outcome, Policy, Resource, TaskError, TaskInput,
    TaskReport,
};
use serde_json::{json, Value};

use documents::{denies_everything, policy_name};

/// The task name, as it appears in reports and under `results.revoke`.
pub const TASK: &str = "revoke";

/// An IAM principal the task acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An IAM user, by name.
    User(String),
    /// An IAM role, by name.
    Role(String),
}

impl Principal {
    /// `user/NAME` or `role/NAME`, as reports and `ExemptionResult::target` name principals.
    pub fn label(&self) -> String {
        match self {
            Principal::User(n) => format!("user/{n}"),
            Principal::Role(n) => format!("role/{n}"),
        }
    }
}

/// The status of an access key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// The key authenticates requests.
    Active,
    /// The key is deactivated.
    Inactive,
    /// A status this code does not know; treated as "not inactive".
    Other,
}

impl KeyStatus {
    /// The status as IAM spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
            KeyStatus::Other => "Unknown",
        }
    }
}

/// An access key of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    /// The key id.
    pub access_key_id: String,
    /// Its status.
    pub status: KeyStatus,
}

/// The IAM calls `revoke` needs. Errors are already named (`Remediation.*`).
#[async_trait]
pub trait Iam: Send + Sync {
    /// The tags of a user or role. A missing principal is `Remediation.TargetNotFound`.
    async fn tags(&self, principal: &Principal) -> Result<Vec<(String, String)>, TaskError>;
    /// The path of a role (`/`, `/aws-service-role/...`). A missing role is
    /// `Remediation.TargetNotFound`.
    async fn role_path(&self, role: &str) -> Result<String, TaskError>;
    /// The access keys of a user.
    async fn access_keys(&self, user: &str) -> Result<Vec<AccessKey>, TaskError>;
    /// Sets a key of a user to `Inactive`.
    async fn deactivate_key(&self, user: &str, access_key_id: &str) -> Result<(), TaskError>;
    /// The inline policy `name` of a principal, decoded and parsed; `None` when it does not exist.
    async fn inline_policy(
        &self,
        principal: &Principal,
        name: &str,
    ) -> Result<Option<Value>, TaskError>;
    /// Creates or replaces the inline policy `name` of a principal.
    async fn put_inline_policy(
        &self,
        principal: &Principal,
        name: &str,
        document: &str,
    ) -> Result<(), TaskError>;
}

/// Settings read once at start.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The tag that exempts a principal.
    pub exemption_tag: TagMatch,
    /// Roles never acted on: the remediation role the pipeline itself uses.
    pub protected_roles: Vec<String>,
    /// A dry run forced by this task's own configuration, on top of the decision's.
    pub dry_run: bool,
}

impl Settings {
    /// Settings from the policy and the remediation role's name.
    pub fn new(policy: &Policy, remediation_role: &str) -> Self {
        Settings {
            exemption_tag: policy.exemption_tag.clone(),
            protected_roles: vec![remediation_role.to_string()],
            dry_run: policy.dry_run,
        }
    }
}

/// What the finding asks to revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    UserKey { user: String, key: String },
    RoleSessions { role: String, key: Option<String> },
    UserSessions { user: String, key: Option<String> },
}

/// Why nothing is done, before any AWS call.
#[derive(Debug)]
struct NoAction {
    target: String,
    reason: String,
}

/// Runs the task. `now` is the cutoff for session revocation (passed in so tests can fix it).
pub async fn revoke(
    input: &TaskInput,
    iam: &dyn Iam,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<TaskReport, TaskError> {
    let dry_run = input.decision.dry_run || settings.dry_run;
    let mut report = TaskReport::new(TASK, dry_run);
    let plan = match plan(input) {
        Ok(p) => p,
        Err(skip) => return Ok(skipped(report, &skip.target, skip.reason, None)),
    };
    let name = policy_name(&input.decision.idempotency_key);
    report.evidence.insert("policyName".into(), json!(name));

    match plan {
        Plan::UserKey { user, key } => {
            let principal = Principal::User(user.clone());
            report.evidence.insert("accessKeyId".into(), json!(key));
            if let Some(reason) = exempt(iam, &principal, settings).await? {
                return Ok(skipped(
                    report,
                    &principal.label(),
                    reason,
                    Some(&principal),
                ));
            }
            report
                .evidence
                .insert("principal".into(), json!(principal.label()));
            let before = find_key(iam, &user, &key).await?;
            report
                .evidence
                .insert("keyStatusBefore".into(), json!(before.as_str()));
            let document = documents::deny_all_unconditionally();
            let key_target = format!("{}/{key}", principal.label());
            match (before, dry_run) {
                (KeyStatus::Inactive, _) => report.push(ActionRecord::new(
                    "deactivate-access-key",
                    &key_target,
                    Outcome::Unchanged,
                    format!("access key {key} of user {user} is already Inactive"),
                )),
                (status, true) => report.push(
                    ActionRecord::new(
                        "deactivate-access-key",
                        &key_target,
                        Outcome::WouldChange,
                        format!("would set access key {key} of user {user} to Inactive"),
                    )
                    .with_states(
                        key_state(&key, status),
                        key_state(&key, KeyStatus::Inactive),
                    ),
                ),
                (status, false) => {
                    iam.deactivate_key(&user, &key).await?;
                    report.push(
                        ActionRecord::new(
                            "deactivate-access-key",
                            &key_target,
                            Outcome::Changed,
                            format!("set access key {key} of user {user} to Inactive"),
                        )
                        .with_states(
                            key_state(&key, status),
                            key_state(&key, KeyStatus::Inactive),
                        ),
                    );
                }
            }
            attach_policy(iam, &mut report, &principal, &name, &document, dry_run).await?;
            if !dry_run {
                let after = find_key(iam, &user, &key).await?;
                if after != KeyStatus::Inactive {
                    return Err(verification_failed(format!(
                        "access key {key} of user {user} reads back as {} after deactivation",
                        after.as_str()
                    )));
                }
                verify_policy(iam, &principal, &name, None).await?;
            }
        }
        Plan::RoleSessions { role, key } => {
            let principal = Principal::Role(role.clone());
            if let Some(k) = &key {
                report.evidence.insert("accessKeyId".into(), json!(k));
            }
            if let Some(reason) = role_exclusion(iam, &role, settings).await? {
                return Ok(skipped(
                    report,
                    &principal.label(),
                    reason,
                    Some(&principal),
                ));
            }
            report
                .evidence
                .insert("principal".into(), json!(principal.label()));
            revoke_sessions(iam, &mut report, &principal, &name, now, dry_run).await?;
        }
        Plan::UserSessions { user, key } => {
            let principal = Principal::User(user.clone());
            if let Some(k) = &key {
                report.evidence.insert("accessKeyId".into(), json!(k));
            }
            if let Some(reason) = exempt(iam, &principal, settings).await? {
                return Ok(skipped(
                    report,
                    &principal.label(),
                    reason,
                    Some(&principal),
                ));
            }
            report
                .evidence
                .insert("principal".into(), json!(principal.label()));
            // The session was minted with one of the user's long-term keys, which the finding
            // does not name: list them for the analyst instead of guessing. Read before writing,
            // so a failed read leaves nothing half done.
            let keys = iam.access_keys(&user).await?;
            revoke_sessions(iam, &mut report, &principal, &name, now, dry_run).await?;
            let listed: Vec<Value> = keys
                .iter()
                .map(|k| json!({"accessKeyId": k.access_key_id, "status": k.status.as_str()}))
                .collect();
            report
                .evidence
                .insert("userAccessKeys".into(), Value::Array(listed.clone()));
            let mut review = ActionRecord::new(
                "review-long-term-keys",
                Principal::User(user.clone()).label(),
                Outcome::Skipped,
                format!(
                    "temporary credentials of user {user} were revoked, but no long-term key was deactivated: the session's parent key is unknown; review and rotate the user's {} access key(s)",
                    keys.len()
                ),
            );
            review.before = Some(Value::Array(listed));
            report.push(review);
        }
    }
    Ok(report)
}

/// Decides what the finding asks for, or why nothing is done, from the finding alone.
fn plan(input: &TaskInput) -> Result<Plan, NoAction> {
    let finding = &input.finding;
    let k = match &finding.resource {
        Resource::AccessKey(k) => k,
        other => {
            return Err(NoAction {
                target: other.identity(),
                reason: format!(
                    "resource type {:?} has no IAM credentials to revoke",
                    other.resource_type()
                ),
            })
        }
    };
    let target = k
        .access_key_id
        .clone()
        .or_else(|| k.user_name.clone())
        .unwrap_or_else(|| "-".into());
    let skip = |reason: String| NoAction {
        target: target.clone(),
        reason,
    };
    let name = match k.user_name.as_deref() {
        Some(n) if is_iam_name(n) => Some(n.to_string()),
        _ => None,
    };
    let key = k.access_key_id.clone().filter(|id| is_key_id(id));
    match (k.credential_kind, name) {
        (CredentialKind::Root, _) => Err(skip(
            "root credentials are never changed automatically; secure the root user by hand (rotate its password, remove any root access key, check MFA)".into(),
        )),
        (CredentialKind::Unknown, _) => Err(skip(format!(
            "access key {:?} of user type {:?} is not a credential this task recognises",
            k.access_key_id.as_deref().unwrap_or(""),
            k.user_type.as_deref().unwrap_or("")
        ))),
        (_, None) => Err(skip(format!(
            "the finding names no valid IAM user or role (userName {:?})",
            k.user_name.as_deref().unwrap_or("")
        ))),
        (CredentialKind::LongTermUserKey, Some(user)) => match key {
            Some(key) => Ok(Plan::UserKey { user, key }),
            None => Err(skip(format!(
                "access key id {:?} is not a valid key id",
                k.access_key_id.as_deref().unwrap_or("")
            ))),
        },
        (CredentialKind::RoleSession, Some(role)) => Ok(Plan::RoleSessions { role, key }),
        (CredentialKind::UserSession, Some(user)) => Ok(Plan::UserSessions { user, key }),
    }
}

/// The exemption reason for a principal, if tagged exempt.
async fn exempt(
    iam: &dyn Iam,
    principal: &Principal,
    settings: &Settings,
) -> Result<Option<String>, TaskError> {
    let tags = iam.tags(principal).await?;
    let tag = &settings.exemption_tag;
    Ok(tag
        .matches(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .then(|| {
            format!(
                "{} is tagged {}={}: exempt from automatic remediation",
                principal.label(),
                tag.key,
                tag.value
            )
        }))
}

/// Why a role must not be changed, if it must not.
async fn role_exclusion(
    iam: &dyn Iam,
    role: &str,
    settings: &Settings,
) -> Result<Option<String>, TaskError> {
    if settings.protected_roles.iter().any(|r| r == role) {
        return Ok(Some(format!(
            "role/{role} is the pipeline's own remediation role; revoking its sessions would stop containment, so it is left to an analyst"
        )));
    }
    let path = iam.role_path(role).await?;
    if path.starts_with("/aws-service-role/") {
        return Ok(Some(format!(
            "role/{role} is a service-linked role (path {path}); AWS manages it and its policies cannot be changed"
        )));
    }
    if path.starts_with("/aws-reserved/") {
        return Ok(Some(format!(
            "role/{role} is reserved by AWS (path {path}, e.g. IAM Identity Center); revoke its sessions where it is managed"
        )));
    }
    exempt(iam, &Principal::Role(role.to_string()), settings).await
}

/// Attaches the time-conditioned deny to a principal and verifies it.
async fn revoke_sessions(
    iam: &dyn Iam,
    report: &mut TaskReport,
    principal: &Principal,
    name: &str,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<(), TaskError> {
    let cutoff = now.to_rfc3339_opts(SecondsFormat::Secs, true);
    report
        .evidence
        .insert("tokenIssueTimeCutoff".into(), json!(cutoff));
    let document = documents::deny_sessions_issued_before(&cutoff);
    attach_policy(iam, report, principal, name, &document, dry_run).await?;
    if !dry_run {
        verify_policy(iam, principal, name, Some(&cutoff)).await?;
    }
    Ok(())
}

/// Puts the deny policy (or reports it would), recording the document before and after.
async fn attach_policy(
    iam: &dyn Iam,
    report: &mut TaskReport,
    principal: &Principal,
    name: &str,
    document: &Value,
    dry_run: bool,
) -> Result<(), TaskError> {
    let existing = iam.inline_policy(principal, name).await?;
    let label = principal.label();
    let state = |doc: Option<&Value>| json!({"policyName": name, "document": doc});
    let (outcome, detail) = if existing.as_ref() == Some(document) {
        (
            Outcome::Unchanged,
            format!("inline policy {name} on {label} is already in place"),
        )
    } else if dry_run {
        (
            Outcome::WouldChange,
            format!("would put inline deny policy {name} on {label}"),
        )
    } else {
        iam.put_inline_policy(principal, name, &document.to_string())
            .await?;
        let verb = if existing.is_some() {
            "replaced"
        } else {
            "attached"
        };
        (
            Outcome::Changed,
            format!("{verb} inline deny policy {name} on {label}"),
        )
    };
    report.push(
        ActionRecord::new("attach-deny-policy", label, outcome, detail)
            .with_states(state(existing.as_ref()), state(Some(document))),
    );
    Ok(())
}

/// Reads the policy back and checks that it denies everything under the expected condition.
async fn verify_policy(
    iam: &dyn Iam,
    principal: &Principal,
    name: &str,
    cutoff: Option<&str>,
) -> Result<(), TaskError> {
    match iam.inline_policy(principal, name).await? {
        Some(doc) if denies_everything(&doc, cutoff) => Ok(()),
        Some(doc) => Err(verification_failed(format!(
            "inline policy {name} on {} reads back without the expected deny statement: {doc}",
            principal.label()
        ))),
        None => Err(verification_failed(format!(
            "inline policy {name} on {} is missing after it was put",
            principal.label()
        ))),
    }
}

async fn find_key(iam: &dyn Iam, user: &str, key: &str) -> Result<KeyStatus, TaskError> {
    iam.access_keys(user)
        .await?
        .into_iter()
        .find(|k| k.access_key_id == key)
        .map(|k| k.status)
        .ok_or_else(|| {
            TaskError::new(
                names::REMEDIATION_TARGET_NOT_FOUND,
                format!("access key {key} does not belong to user {user} (deleted, or the finding names another user)"),
            )
        })
}

fn key_state(key: &str, status: KeyStatus) -> Value {
    json!({"accessKeyId": key, "status": status.as_str()})
}

fn verification_failed(message: String) -> TaskError {
    TaskError::new(names::REMEDIATION_VERIFICATION_FAILED, message)
}

/// A report that changes nothing, with the reason.
fn skipped(
    mut report: TaskReport,
    target: &str,
    reason: String,
    principal: Option<&Principal>,
) -> TaskReport {
    if let Some(p) = principal {
        report.evidence.insert("principal".into(), json!(p.label()));
    }
    report.evidence.remove("policyName");
    report
        .evidence
        .insert("skippedReason".into(), json!(reason));
    report.push(ActionRecord::new(
        "revoke-credentials",
        target,
        Outcome::Skipped,
        format!("{reason}; nothing was changed (notify only)"),
    ));
    report
}

/// Whether `s` is a valid IAM user or role name (1 to 64 of `[A-Za-z0-9+=,.@_-]`).
fn is_iam_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

/// Whether `s` looks like an access key id (`AKIA`/`ASIA` and 16 to 124 more of `[A-Z0-9]`).
fn is_key_id(s: &str) -> bool {
    (s.starts_with("AKIA") || s.starts_with("ASIA"))
        && (20..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests;
