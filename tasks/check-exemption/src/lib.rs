//! `check-exemption`: decides whether the pipeline may act on a finding's target.
//!
//! It reads the target's CURRENT state (tags change after GuardDuty saw them): an instance
//! tagged with the policy's exemption tag, or a user or role tagged with it, is `exempt`; so are
//! excluded accounts, root credentials and service-linked roles. A target that already carries
//! this pipeline's containment (an instance tagged quarantined, a principal with the deny
//! policy named after this finding) is `already-contained`, so a re-delivered finding does not
//! act twice. Everything else is `eligible`, once this execution has claimed the finding (see
//! [`claim`]): a concurrent delivery of the same finding that loses the claim is
//! `already-contained` too.
//!
//! The logic reads AWS through two narrow capabilities, [`InstanceTags`] and
//! [`PrincipalTags`]; [`aws::AwsTargets`] implements both with the SDK. Claims go through
//! [`Claims`]; [`aws::AwsClaims`] writes them to the DynamoDB table `CLAIMS_TABLE`.

pub mod aws;
pub mod claim;

pub use claim::{Claim, ClaimOutcome, Claims};

use async_trait::async_trait;
use responder_core::finding::{CredentialKind, Finding, Resource, Tag};
use responder_core::{
    markers, names, Eligibility, ExemptionResult, Policy, Route, TaskError, TaskInput,
};

/// Where a target lives: the finding's partition, account and region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope<'a> {
    /// `aws`, `aws-us-gov`, `aws-cn`.
    pub partition: &'a str,
    /// The account that owns the target.
    pub account: &'a str,
    /// The target's region.
    pub region: &'a str,
}

impl<'a> Scope<'a> {
    /// The scope of a finding's resource.
    pub fn of(finding: &'a Finding) -> Self {
        Scope {
            partition: &finding.partition,
            account: &finding.account_id,
            region: &finding.region,
        }
    }
}

/// An IAM principal whose credentials a finding names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal<'a> {
    /// An IAM user, by name.
    User(&'a str),
    /// An IAM role, by name.
    Role(&'a str),
}

impl Principal<'_> {
    /// `user/NAME` or `role/NAME`, as reported in [`ExemptionResult::target`].
    pub fn label(&self) -> String {
        match self {
            Principal::User(n) => format!("user/{n}"),
            Principal::Role(n) => format!("role/{n}"),
        }
    }
}

/// Reads an instance's current tags.
#[async_trait]
pub trait InstanceTags: Send + Sync {
    /// The instance's tags now, or `None` when the instance does not exist (or is terminated).
    async fn instance_tags(
        &self,
        scope: Scope<'_>,
        instance_id: &str,
    ) -> Result<Option<Vec<Tag>>, TaskError>;
}

/// Reads an IAM principal's current tags, role path and inline policies.
#[async_trait]
pub trait PrincipalTags: Send + Sync {
    /// The principal's tags. A principal that does not exist is `Remediation.TargetNotFound`.
    async fn principal_tags(
        &self,
        scope: Scope<'_>,
        principal: Principal<'_>,
    ) -> Result<Vec<Tag>, TaskError>;

    /// A role's path (`/aws-service-role/...` for service-linked roles).
    async fn role_path(&self, scope: Scope<'_>, role: &str) -> Result<String, TaskError>;

    /// Whether the principal has an inline policy of this name.
    async fn has_inline_policy(
        &self,
        scope: Scope<'_>,
        principal: Principal<'_>,
        policy_name: &str,
    ) -> Result<bool, TaskError>;
}

/// The path prefix of service-linked roles, which only their AWS service may change.
pub const SERVICE_LINKED_ROLE_PATH: &str = "/aws-service-role/";

/// The name of the inline deny policy the `revoke` task attaches for a finding; its presence
/// means this finding's credentials are already contained.
pub use responder_core::markers::deny_policy_name;

fn result(
    status: Eligibility,
    reason: impl Into<String>,
    target: impl Into<String>,
) -> ExemptionResult {
    ExemptionResult {
        status,
        reason: reason.into(),
        target: target.into(),
    }
}

fn tags_iter(tags: &[Tag]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter().map(|t| (t.key.as_str(), t.value.as_str()))
}

fn exemption_reason(policy: &Policy, what: &str) -> String {
    format!(
        "{what} is tagged {}={}; automatic remediation is disabled for it",
        policy.exemption_tag.key, policy.exemption_tag.value
    )
}

/// Decides whether the pipeline may act on the input's target. An `eligible` target whose
/// containment changes something (an instance, credentials) is claimed for this execution
/// through `claims` first; `None` (no `CLAIMS_TABLE`) takes no claim. A dry run takes none
/// either (it must not block the real run) and says it would.
pub async fn check(
    policy: &Policy,
    input: &TaskInput,
    instances: &dyn InstanceTags,
    principals: &dyn PrincipalTags,
    claims: Option<&dyn Claims>,
) -> Result<ExemptionResult, TaskError> {
    let r = assess(policy, input, instances, principals).await?;
    let acts = matches!(
        input.finding.resource,
        Resource::Instance(_) | Resource::AccessKey(_)
    ) && input.decision.route != Route::NotifyOnly;
    if r.status != Eligibility::Eligible || !acts {
        return Ok(r);
    }
    let key = &input.decision.idempotency_key;
    let execution = input.execution_name();
    if input.decision.dry_run {
        return Ok(ExemptionResult {
            reason: format!(
                "{}; dry run: would claim {key} for execution {execution} (no claim taken)",
                r.reason
            ),
            ..r
        });
    }
    let Some(claims) = claims else {
        return Ok(r);
    };
    let claim = Claim::of(input, chrono::Utc::now());
    match claims.claim(&claim).await? {
        ClaimOutcome::Claimed => Ok(ExemptionResult {
            reason: format!("{}; claimed {key} for execution {execution}", r.reason),
            ..r
        }),
        ClaimOutcome::Held {
            execution: holder,
            claimed_at,
        } => {
            let holder = holder.as_deref().unwrap_or("another execution");
            let since = claimed_at
                .map(|t| format!(" since {t}"))
                .unwrap_or_default();
            Ok(result(
                Eligibility::AlreadyContained,
                format!(
                    "{} is claimed by execution {holder}{since} ({key}); that execution acts on this finding, this delivery does not",
                    r.target
                ),
                r.target,
            ))
        }
    }
}

/// The checks of the target's current state, without the claim.
async fn assess(
    policy: &Policy,
    input: &TaskInput,
    instances: &dyn InstanceTags,
    principals: &dyn PrincipalTags,
) -> Result<ExemptionResult, TaskError> {
    let finding = &input.finding;
    let scope = Scope::of(finding);
    let identity = finding.resource.identity();
    // No AWS call for a target the pipeline must never touch.
    if !policy.account_allowed(&finding.account_id) {
        return Ok(result(
            Eligibility::Exempt,
            format!("account {} is excluded by policy", finding.account_id),
            identity,
        ));
    }
    if input.decision.route == Route::NotifyOnly {
        return Ok(result(
            Eligibility::Eligible,
            format!(
                "resource type {} is notify-only; nothing would be changed",
                finding.resource.resource_type()
            ),
            identity,
        ));
    }
    match &finding.resource {
        Resource::Instance(target) => {
            let id = &target.instance_id;
            let tags = instances.instance_tags(scope, id).await?.ok_or_else(|| {
                TaskError::new(
                    names::REMEDIATION_TARGET_NOT_FOUND,
                    format!(
                        "instance {id} was not found in account {} region {}",
                        scope.account, scope.region
                    ),
                )
            })?;
            if policy.exemption_tag.matches(tags_iter(&tags)) {
                return Ok(result(
                    Eligibility::Exempt,
                    exemption_reason(policy, &format!("instance {id}")),
                    id.as_str(),
                ));
            }
            let quarantined = tags.iter().any(|t| {
                t.key == markers::TAG_STATUS
                    && t.value.eq_ignore_ascii_case(markers::STATUS_QUARANTINED)
            });
            if quarantined {
                let by = tags
                    .iter()
                    .find(|t| t.key == markers::TAG_FINDING_ID)
                    .map(|t| format!(" (by finding {})", t.value))
                    .unwrap_or_default();
                return Ok(result(
                    Eligibility::AlreadyContained,
                    format!("instance {id} is already quarantined{by}"),
                    id.as_str(),
                ));
            }
            Ok(result(
                Eligibility::Eligible,
                format!("instance {id} is not exempt and not contained"),
                id.as_str(),
            ))
        }
        Resource::AccessKey(key) => {
            let principal = match key.credential_kind {
                CredentialKind::Root => {
                    return Ok(result(
                        Eligibility::Exempt,
                        "root credentials are never changed automatically",
                        "root",
                    ))
                }
                CredentialKind::Unknown => {
                    return Ok(result(
                        Eligibility::Exempt,
                        format!(
                            "access key {:?} of user type {:?} is not a credential the pipeline changes",
                            key.access_key_id.as_deref().unwrap_or(""),
                            key.user_type.as_deref().unwrap_or("")
                        ),
                        identity,
                    ))
                }
                CredentialKind::LongTermUserKey | CredentialKind::UserSession => {
                    Principal::User(named(key.user_name.as_deref(), "user")?)
                }
                CredentialKind::RoleSession => {
                    Principal::Role(named(key.user_name.as_deref(), "role")?)
                }
            };
            let label = principal.label();
            if let Principal::Role(role) = principal {
                let path = principals.role_path(scope, role).await?;
                if path.starts_with(SERVICE_LINKED_ROLE_PATH) {
                    return Ok(result(
                        Eligibility::Exempt,
                        format!("{label} is a service-linked role (path {path}); only its AWS service may change it"),
                        label,
                    ));
                }
            }
            let tags = principals.principal_tags(scope, principal).await?;
            if policy.exemption_tag.matches(tags_iter(&tags)) {
                return Ok(result(
                    Eligibility::Exempt,
                    exemption_reason(policy, &label),
                    label,
                ));
            }
            let policy_name = deny_policy_name(&input.decision.idempotency_key);
            if principals
                .has_inline_policy(scope, principal, &policy_name)
                .await?
            {
                return Ok(result(
                    Eligibility::AlreadyContained,
                    format!("{label} already has the deny policy {policy_name}"),
                    label,
                ));
            }
            Ok(result(
                Eligibility::Eligible,
                format!("{label} is not exempt and not contained"),
                label,
            ))
        }
        Resource::Other { resource_type } => Ok(result(
            Eligibility::Eligible,
            format!("resource type {resource_type} has no automatic containment"),
            identity,
        )),
    }
}

fn named<'a>(name: Option<&'a str>, what: &str) -> Result<&'a str, TaskError> {
    name.filter(|n| !n.is_empty()).ok_or_else(|| {
        TaskError::new(
            names::REMEDIATION_TARGET_NOT_FOUND,
            format!("the finding names no {what}: accessKeyDetails.userName is missing"),
        )
    })
}

#[cfg(test)]
mod tests;
