//! The `revoke` task: contains leaked IAM credentials named by a GuardDuty finding, precisely:
//! the attacker's credentials, not everyone who shares a role.
//!
//! - A long-term user key (`AKIA...`): the key is deactivated, then AWS's managed `AWSDenyAll`
//!   is attached to the user (the inline `guardduty-responder-deny-all` when the user already
//!   has its quota of managed policies), and both are read back. Sessions minted from the key
//!   before it was deactivated still carry the user's permissions, so a key deactivated
//!   without a deny is not contained: when no deny can be attached the task fails with
//!   `Remediation.Incomplete`, loudly, rather than reporting success.
//! - Stolen EC2 instance credentials (`ASIA...` of an assumed role whose principal is
//!   `ROLE-ID:i-...`, as in `InstanceCredentialExfiltration` findings): only THAT instance's
//!   sessions of the role are denied (`aws:userid` and `ec2:SourceInstanceARN`, see
//!   [`responder_core::denies`]), including credentials it receives later; every other
//!   instance using the role keeps working. A role-wide "revoke older sessions" would cut the
//!   whole fleet while the source instance simply fetches fresh credentials.
//! - Other role sessions (`ASIA...`): every session of the role issued before now is denied
//!   (`aws:TokenIssueTime`), as the console's "revoke active sessions".
//! - A user session (`ASIA...` of a user): the same time-conditioned deny on the user; the
//!   report asks the analyst to review the user's long-term keys (listed as evidence).
//! - Root credentials, service-linked roles, roles reserved by AWS (IAM Identity Center's
//!   `/aws-reserved/sso.amazonaws.com/`), the remediation role itself and unrecognised key
//!   shapes: nothing is changed; the report gives the exact manual steps.
//!
//! One deny per principal and kind (see [`responder_core::denies`]), never one per finding, so
//! repeated findings never exhaust IAM's inline policy quota. Whether to act at all was decided
//! by `check-exemption`; this task reads no tags (anything writable from the member account may
//! be written by the attacker). In a dry run only read calls are made and the report holds the
//! exact documents that would be attached.

pub mod aws;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use responder_aws::consistency::{self, Backoff};
use responder_core::denies::{
    self, DENY_ALL_POLICY, DENY_INSTANCE_SESSIONS_POLICY, REVOKE_SESSIONS_POLICY,
};
use responder_core::exemptions::ExemptionKind;
use responder_core::{
    names, ActionRecord, CredentialKind, Outcome, Policy, Resource, TaskError, TaskInput,
    TaskReport,
};
use serde_json::{json, Value};

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

/// The IAM calls `revoke` needs. Errors are already named (`Remediation.*`), with the AWS code.
#[async_trait]
pub trait Iam: Send + Sync {
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
    /// The ARNs of the managed policies attached to a user.
    async fn attached_user_policies(&self, user: &str) -> Result<Vec<String>, TaskError>;
    /// Attaches a managed policy to a user (`LimitExceeded` when it has its quota of them).
    async fn attach_user_policy(&self, user: &str, policy_arn: &str) -> Result<(), TaskError>;
}

/// Settings read once at start.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Roles never acted on: the remediation role the pipeline itself uses.
    pub protected_roles: Vec<String>,
    /// The policy's exemptions: a Lambda function's execution role is checked against
    /// `exemptions.roles` here (`check-exemption` judged the function, not its role).
    pub exemptions: responder_core::exemptions::Exemptions,
    /// A dry run forced by this task's own configuration, on top of the decision's.
    pub dry_run: bool,
    /// How long a read-back waits for IAM to show a change just made.
    pub backoff: Backoff,
}

impl Settings {
    /// Settings from the policy and the remediation role's name.
    pub fn new(policy: &Policy, remediation_role: &str) -> Self {
        Settings {
            protected_roles: vec![remediation_role.to_string()],
            exemptions: policy.exemptions.clone(),
            dry_run: policy.dry_run,
            backoff: Backoff::EVENTUAL_CONSISTENCY,
        }
    }
}

/// What the finding asks to revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    UserKey {
        user: String,
        key: String,
    },
    RoleSessions {
        role: String,
        key: Option<String>,
    },
    /// Credentials an EC2 instance received for its role: `session` is `ROLE-ID:INSTANCE-ID`.
    InstanceSessions {
        role: String,
        key: Option<String>,
        session: String,
        instance_id: String,
    },
    UserSessions {
        user: String,
        key: Option<String>,
    },
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
    let run = Run {
        iam,
        settings,
        dry_run,
    };
    match plan {
        Plan::UserKey { user, key } => {
            let principal = Principal::User(user.clone());
            report.evidence.insert("accessKeyId".into(), json!(key));
            report
                .evidence
                .insert("principal".into(), json!(principal.label()));
            run.user_key(&mut report, &input.finding.partition, &user, &key)
                .await?;
        }
        Plan::RoleSessions { role, key } => {
            let principal = Principal::Role(role.clone());
            if let Some(k) = &key {
                report.evidence.insert("accessKeyId".into(), json!(k));
            }
            let exempt = matches!(
                input.finding.resource,
                Resource::Function(_) | Resource::Task(_)
            )
            .then(|| {
                settings
                    .exemptions
                    .find(ExemptionKind::Role, &role, now)
                    .map(|e| {
                        format!(
                            "role/{role}, the {} role, is exempt ({}): its sessions are left alone",
                            if matches!(input.finding.resource, Resource::Task(_)) {
                                "task's"
                            } else {
                                "function's execution"
                            },
                            e.describe(ExemptionKind::Role)
                        )
                    })
            })
            .flatten();
            let excluded = match exempt {
                Some(reason) => Some(reason),
                None => role_exclusion(iam, &role, settings).await?,
            };
            if let Some(reason) = excluded {
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
            run.sessions_before(&mut report, &principal, now).await?;
        }
        Plan::InstanceSessions {
            role,
            key,
            session,
            instance_id,
        } => {
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
            let f = &input.finding;
            let instance_arn = format!(
                "arn:{}:ec2:{}:{}:instance/{instance_id}",
                f.partition, f.region, f.account_id
            );
            report
                .evidence
                .insert("principal".into(), json!(principal.label()));
            report
                .evidence
                .insert("sourceInstance".into(), json!(instance_id));
            report
                .evidence
                .insert("instanceSession".into(), json!(session));
            run.instance_sessions(&mut report, &role, &session, &instance_arn)
                .await?;
        }
        Plan::UserSessions { user, key } => {
            let principal = Principal::User(user.clone());
            if let Some(k) = &key {
                report.evidence.insert("accessKeyId".into(), json!(k));
            }
            report
                .evidence
                .insert("principal".into(), json!(principal.label()));
            // The session was minted with one of the user's long-term keys, which the finding
            // does not name: list them for the analyst instead of guessing. Read before writing,
            // so a failed read leaves nothing half done.
            let keys = iam.access_keys(&user).await?;
            run.sessions_before(&mut report, &principal, now).await?;
            let listed: Vec<Value> = keys
                .iter()
                .map(|k| json!({"accessKeyId": k.access_key_id, "status": k.status.as_str()}))
                .collect();
            report
                .evidence
                .insert("userAccessKeys".into(), Value::Array(listed.clone()));
            let mut review = ActionRecord::new(
                "review-long-term-keys",
                principal.label(),
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

/// One invocation's collaborators.
struct Run<'a> {
    iam: &'a dyn Iam,
    settings: &'a Settings,
    dry_run: bool,
}

/// Decides what the finding asks for, or why nothing is done, from the finding alone.
fn plan(input: &TaskInput) -> Result<Plan, NoAction> {
    let finding = &input.finding;
    let k = match &finding.resource {
        Resource::AccessKey(k) => k,
        // A contained function's execution role, when the decision names it (policy
        // lambda.revoke_role_sessions): every session issued before now.
        Resource::Function(f) => {
            return match input.decision.revoke_role.as_deref() {
                Some(role) if is_iam_name(role) => Ok(Plan::RoleSessions {
                    role: role.to_string(),
                    key: None,
                }),
                _ => Err(NoAction {
                    target: format!("function/{}", f.function_name),
                    reason: "the decision names no execution role to revoke (policy: lambda.revoke_role_sessions)".into(),
                }),
            }
        }
        // An approved ECS task's role (policy ecs.revoke_role_sessions): `contain-task` read
        // the role from the task, and the state machine put it in the decision. Only with the
        // decision's approval flag: the role is every task's of the definition.
        Resource::Task(t) => {
            return match (
                input.decision.revoke_task_role,
                input.decision.revoke_role.as_deref(),
            ) {
                (true, Some(role)) if is_iam_name(role) => Ok(Plan::RoleSessions {
                    role: role.to_string(),
                    key: None,
                }),
                (false, _) => Err(NoAction {
                    target: format!("task/{}/{}", t.cluster, t.task_id),
                    reason: "the task role's sessions are denied only when an analyst approved it (policy: ecs.revoke_role_sessions)".into(),
                }),
                (true, _) => Err(NoAction {
                    target: format!("task/{}/{}", t.cluster, t.task_id),
                    reason: "no task role of the task's own account was read from it".into(),
                }),
            };
        }
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
        (CredentialKind::RoleSession, Some(role)) => match instance_session(k.principal_id.as_deref()) {
            Some((session, instance_id)) => Ok(Plan::InstanceSessions {
                role,
                key,
                session,
                instance_id,
            }),
            None => Ok(Plan::RoleSessions { role, key }),
        },
        (CredentialKind::UserSession, Some(user)) => Ok(Plan::UserSessions { user, key }),
    }
}

/// The session of stolen EC2 instance credentials: a principal id `ROLE-ID:i-...` (the role's
/// unique id, `AROA...`, and the instance id as the session name). Returns the session and the
/// instance id.
fn instance_session(principal_id: Option<&str>) -> Option<(String, String)> {
    let (role_id, instance) = principal_id?.split_once(':')?;
    let role_id_ok = role_id.starts_with("AROA")
        && (16..=128).contains(&role_id.len())
        && role_id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    (role_id_ok && responder_core::finding::is_resource_id(instance, "i-"))
        .then(|| (format!("{role_id}:{instance}"), instance.to_string()))
}

/// Why a role must not be changed, if it must not, with what to do by hand instead.
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
            "role/{role} is a service-linked role (path {path}); only its AWS service may change it, and its sessions cannot be revoked"
        )));
    }
    if path.starts_with("/aws-reserved/sso.amazonaws.com/") {
        return Ok(Some(format!(
            "role/{role} belongs to IAM Identity Center (path {path}), which overwrites changes made to it here. By hand: in IAM Identity Center, disable the user or remove the account assignment of the permission set, then revoke the permission set's active sessions; or deny the role's ARN with a service control policy until the investigation ends"
        )));
    }
    if path.starts_with("/aws-reserved/") {
        return Ok(Some(format!(
            "role/{role} is reserved by AWS (path {path}); revoke its sessions where it is managed, or deny it with a service control policy"
        )));
    }
    Ok(None)
}

impl Run<'_> {
    /// Puts (or reports) an inline policy, recording the document before and after.
    async fn put(
        &self,
        report: &mut TaskReport,
        principal: &Principal,
        name: &str,
        existing: Option<&Value>,
        document: &Value,
        what: &str,
    ) -> Result<(), TaskError> {
        let label = principal.label();
        let state = |doc: Option<&Value>| json!({"policyName": name, "document": doc});
        let (outcome, detail) = if existing == Some(document) {
            (
                Outcome::Unchanged,
                format!("{what}: inline policy {name} on {label} is already in place"),
            )
        } else if self.dry_run {
            (
                Outcome::WouldChange,
                format!("{what}: would put inline policy {name} on {label}"),
            )
        } else {
            self.iam
                .put_inline_policy(principal, name, &document.to_string())
                .await?;
            let verb = if existing.is_some() {
                "replaced"
            } else {
                "put"
            };
            (
                Outcome::Changed,
                format!("{what}: {verb} inline policy {name} on {label}"),
            )
        };
        report.push(
            ActionRecord::new("attach-deny-policy", label, outcome, detail)
                .with_states(state(existing), state(Some(document))),
        );
        Ok(())
    }

    /// Reads an inline policy back until `holds` accepts it, for a few seconds (IAM is
    /// eventually consistent: a policy just put may read as missing).
    async fn read_back(
        &self,
        principal: &Principal,
        name: &str,
        holds: impl Fn(&Value) -> bool,
    ) -> Result<(), TaskError> {
        let iam = self.iam;
        let found = consistency::poll(self.settings.backoff, || async {
            Ok(iam
                .inline_policy(principal, name)
                .await?
                .filter(|d| holds(d))
                .map(|_| ()))
        })
        .await?;
        found.ok_or_else(|| {
            verification_failed(format!(
                "inline policy {name} on {} does not read back with the expected deny",
                principal.label()
            ))
        })
    }

    /// Deactivates a user's key, then denies the user everything; both read back.
    async fn user_key(
        &self,
        report: &mut TaskReport,
        partition: &str,
        user: &str,
        key: &str,
    ) -> Result<(), TaskError> {
        let before = find_key(self.iam, user, key).await?;
        report
            .evidence
            .insert("keyStatusBefore".into(), json!(before.as_str()));
        let key_target = format!("user/{user}/{key}");
        match (before, self.dry_run) {
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
                .with_states(key_state(key, status), key_state(key, KeyStatus::Inactive)),
            ),
            (status, false) => {
                self.iam.deactivate_key(user, key).await?;
                report.push(
                    ActionRecord::new(
                        "deactivate-access-key",
                        &key_target,
                        Outcome::Changed,
                        format!("set access key {key} of user {user} to Inactive"),
                    )
                    .with_states(key_state(key, status), key_state(key, KeyStatus::Inactive)),
                );
            }
        }
        let how = self.deny_user(report, partition, user).await?;
        report.evidence.insert("deny".into(), json!(how));
        if self.dry_run {
            return Ok(());
        }
        let iam = self.iam;
        let inactive = consistency::poll(self.settings.backoff, || async {
            Ok((find_key(iam, user, key).await? == KeyStatus::Inactive).then_some(()))
        })
        .await?;
        if inactive.is_none() {
            return Err(verification_failed(format!(
                "access key {key} of user {user} does not read back as Inactive after deactivation"
            )));
        }
        let principal = Principal::User(user.to_string());
        if how == denies::AWS_DENY_ALL {
            let arn = denies::aws_deny_all_arn(partition);
            let attached = consistency::poll(self.settings.backoff, || async {
                Ok(iam
                    .attached_user_policies(user)
                    .await?
                    .contains(&arn)
                    .then_some(()))
            })
            .await?;
            if attached.is_none() {
                return Err(verification_failed(format!(
                    "{arn} does not read back as attached to user {user}"
                )));
            }
        } else {
            self.read_back(&principal, DENY_ALL_POLICY, denies::denies_everything)
                .await?;
        }
        Ok(())
    }

    /// Denies a user everything: `AWSDenyAll` attached, or the inline deny when the user has
    /// its quota of managed policies. Returns which. Fails loudly when neither can be put.
    async fn deny_user(
        &self,
        report: &mut TaskReport,
        partition: &str,
        user: &str,
    ) -> Result<&'static str, TaskError> {
        let principal = Principal::User(user.to_string());
        let arn = denies::aws_deny_all_arn(partition);
        let attached = self.iam.attached_user_policies(user).await?;
        if attached.contains(&arn) {
            report.push(ActionRecord::new(
                "attach-deny-policy",
                principal.label(),
                Outcome::Unchanged,
                format!("{arn} is attached"),
            ));
            return Ok(denies::AWS_DENY_ALL);
        }
        let inline = self.iam.inline_policy(&principal, DENY_ALL_POLICY).await?;
        if inline.as_ref().is_some_and(denies::denies_everything) {
            report.push(ActionRecord::new(
                "attach-deny-policy",
                principal.label(),
                Outcome::Unchanged,
                format!("inline policy {DENY_ALL_POLICY} denies everything"),
            ));
            return Ok(DENY_ALL_POLICY);
        }
        if self.dry_run {
            report.push(
                ActionRecord::new(
                    "attach-deny-policy",
                    principal.label(),
                    Outcome::WouldChange,
                    format!("would attach {arn} (the inline policy {DENY_ALL_POLICY} if the user has its quota of managed policies)"),
                )
                .with_states(json!({ "attached": attached }), json!({ "attached": [arn] })),
            );
            return Ok(denies::AWS_DENY_ALL);
        }
        let managed_refused = match self.iam.attach_user_policy(user, &arn).await {
            Ok(()) => {
                report.push(
                    ActionRecord::new(
                        "attach-deny-policy",
                        principal.label(),
                        Outcome::Changed,
                        format!("attached {arn}: every action of the user is denied"),
                    )
                    .with_states(
                        json!({ "attached": attached }),
                        json!({ "attached": [arn] }),
                    ),
                );
                return Ok(denies::AWS_DENY_ALL);
            }
            // The user's quota of managed policies (10 by default), or no such managed
            // policy in this partition: the inline deny takes no managed-policy slot.
            Err(e) if e.has_aws_code("LimitExceeded") || e.has_aws_code("NoSuchEntity") => e,
            Err(e) => return Err(incomplete_after_key(user, &e, None)),
        };
        let document = denies::deny_all();
        match self
            .iam
            .put_inline_policy(&principal, DENY_ALL_POLICY, &document.to_string())
            .await
        {
            Ok(()) => {
                report.push(
                    ActionRecord::new(
                        "attach-deny-policy",
                        principal.label(),
                        Outcome::Changed,
                        format!(
                            "put inline policy {DENY_ALL_POLICY}: every action of the user is denied ({arn} could not be attached: {})",
                            managed_refused.message
                        ),
                    )
                    .with_states(
                        json!({"policyName": DENY_ALL_POLICY, "document": inline}),
                        json!({"policyName": DENY_ALL_POLICY, "document": document}),
                    ),
                );
                Ok(DENY_ALL_POLICY)
            }
            Err(e) => Err(incomplete_after_key(user, &e, Some(&managed_refused))),
        }
    }

    /// Denies a principal's sessions issued before `now`, keeping a later cutoff already there.
    async fn sessions_before(
        &self,
        report: &mut TaskReport,
        principal: &Principal,
        now: DateTime<Utc>,
    ) -> Result<(), TaskError> {
        let now = now.to_rfc3339_opts(SecondsFormat::Secs, true);
        let existing = self
            .iam
            .inline_policy(principal, REVOKE_SESSIONS_POLICY)
            .await?;
        let kept = existing.as_ref().and_then(denies::sessions_cutoff);
        // RFC 3339 UTC timestamps of one format compare as text.
        let cutoff = match kept {
            Some(k) if k >= now => k,
            _ => now,
        };
        report
            .evidence
            .insert("tokenIssueTimeCutoff".into(), json!(cutoff));
        report
            .evidence
            .insert("policyName".into(), json!(REVOKE_SESSIONS_POLICY));
        let document = denies::revoke_sessions(&cutoff);
        self.put(
            report,
            principal,
            REVOKE_SESSIONS_POLICY,
            existing.as_ref(),
            &document,
            "sessions issued before the cutoff are denied",
        )
        .await
        .map_err(|e| incomplete_policy(principal, &e))?;
        if !self.dry_run {
            self.read_back(principal, REVOKE_SESSIONS_POLICY, |d| {
                denies::sessions_cutoff(d).as_deref() == Some(cutoff.as_str())
            })
            .await?;
        }
        Ok(())
    }

    /// Denies the role's sessions delivered to one instance, next to those already denied.
    async fn instance_sessions(
        &self,
        report: &mut TaskReport,
        role: &str,
        session: &str,
        instance_arn: &str,
    ) -> Result<(), TaskError> {
        let principal = Principal::Role(role.to_string());
        let existing = self
            .iam
            .inline_policy(&principal, DENY_INSTANCE_SESSIONS_POLICY)
            .await?;
        let (mut sessions, mut arns) = existing
            .as_ref()
            .map(denies::instance_sessions)
            .unwrap_or_default();
        if !sessions.iter().any(|s| s == session) {
            sessions.push(session.to_string());
        }
        if !arns.iter().any(|a| a == instance_arn) {
            arns.push(instance_arn.to_string());
        }
        sessions.sort();
        arns.sort();
        report
            .evidence
            .insert("policyName".into(), json!(DENY_INSTANCE_SESSIONS_POLICY));
        let document = denies::deny_instance_sessions(&sessions, &arns);
        self.put(
            report,
            &principal,
            DENY_INSTANCE_SESSIONS_POLICY,
            existing.as_ref(),
            &document,
            &format!(
                "the role's sessions on {} are denied; its other holders are not",
                session.split(':').nth(1).unwrap_or(session)
            ),
        )
        .await
        .map_err(|e| incomplete_policy(&principal, &e))?;
        if !self.dry_run {
            self.read_back(&principal, DENY_INSTANCE_SESSIONS_POLICY, |d| {
                let (s, a) = denies::instance_sessions(d);
                s.iter().any(|x| x == session) && a.iter().any(|x| x == instance_arn)
            })
            .await?;
        }
        Ok(())
    }
}

/// A deny that could not be put after the key was deactivated: containment stopped halfway.
fn incomplete_after_key(user: &str, e: &TaskError, managed: Option<&TaskError>) -> TaskError {
    if e.name == names::REMEDIATION_THROTTLED || e.name == names::REMEDIATION_TRANSIENT {
        // Worth the state machine's retry: the re-run finds the key inactive and tries again.
        return e.clone();
    }
    let managed = managed
        .map(|m| format!("AWSDenyAll could not be attached ({}) and ", m.message))
        .unwrap_or_default();
    TaskError::new(
        names::REMEDIATION_INCOMPLETE,
        format!(
            "the leaked key of user {user} is Inactive, but {managed}no deny could be put on the user ({}): sessions already minted from the key keep the user's permissions until they expire. By hand now: detach a managed policy or delete an inline policy of user {user}, then run containment again, or attach AWSDenyAll yourself",
            e.message
        ),
    )
}

/// A session deny that could not be put (the role's inline quota, most likely).
fn incomplete_policy(principal: &Principal, e: &TaskError) -> TaskError {
    if e.name == names::REMEDIATION_THROTTLED || e.name == names::REMEDIATION_TRANSIENT {
        return e.clone();
    }
    TaskError::new(
        names::REMEDIATION_INCOMPLETE,
        format!(
            "no session deny could be put on {} ({}): the stolen credentials still work. By hand now: make room in its inline policies and run containment again, or attach AWSDenyAll to it if its holders can be stopped",
            principal.label(),
            e.message
        ),
    )
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
