//! `check-exemption`: decides whether the pipeline may act on a finding's target, from inputs
//! an attacker in the member account cannot steer.
//!
//! The trust model (ARCHITECTURE.md, "Trust model"): the event's `detail` (GuardDuty's record
//! at detection), the policy (owned by the security account) and the real state of resources
//! are trusted; tags and other attributes writable from the member account never decide alone.
//!
//! - **Exempt** when the policy says so (`exclude_accounts`, `exemptions.*`, each with an
//!   optional end date), or when the exemption tag is on the resource now AND was in
//!   GuardDuty's record of it at detection (`resource.instanceDetails.tags`). A tag added after
//!   detection is reported as ignored. GuardDuty records no tags for IAM principals, so a tag
//!   never exempts a user or role: the policy does. Root credentials, service-linked roles and
//!   roles reserved by IAM Identity Center are never changed automatically either.
//! - **Already contained** only when the real state says so: every interface of the instance
//!   holds exactly its VPC's quarantine group with no inbound rule and nothing outbound but
//!   TCP 443; the user's key inactive with a deny-all attached; the instance's stolen session
//!   named in the role's deny. A quarantine marker tag the real state contradicts is reported
//!   as ignored and containment proceeds.
//! - Otherwise **eligible**, once this execution holds the claim on the RESOURCE (see
//!   [`claim`]): two findings on one instance at once act once.
//!
//! Every result names its `source`, and what it looked at and did not trust (`ignored`).

pub mod aws;
pub mod claim;
pub mod state;

pub use claim::{Claim, ClaimOutcome, Claims, Executions};
pub use state::{
    BucketNow, Buckets, DatabaseNow, Databases, FunctionNow, Functions, GroupRules, InstanceNow,
    Instances, InterfaceNow, Principals,
};

use chrono::{DateTime, Utc};
use responder_core::denies::{self, DENY_ALL_POLICY, DENY_INSTANCE_SESSIONS_POLICY};
use responder_core::exemptions::ExemptionKind;
use responder_core::finding::{
    AccessKeyTarget, BucketTarget, CredentialKind, DatabaseTarget, Finding, FunctionTarget,
    InstanceTarget, Resource, Tag, TaskTarget,
};
use responder_core::policy::TagMatch;
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

/// The path prefix of service-linked roles, which only their AWS service may change.
pub const SERVICE_LINKED_ROLE_PATH: &str = "/aws-service-role/";
/// The path prefix of the roles IAM Identity Center owns and overwrites.
pub const IDENTITY_CENTER_ROLE_PATH: &str = "/aws-reserved/sso.amazonaws.com/";
/// The key of the tag only Auto Scaling writes on its instances (`aws:` tags cannot be created,
/// changed or deleted by users: EC2 User Guide, "Tag restrictions").
pub const AUTO_SCALING_GROUP_TAG: &str = "aws:autoscaling:groupName";

/// A result under construction.
struct Verdict {
    target: String,
    ignored: Vec<String>,
}

impl Verdict {
    fn new(target: impl Into<String>) -> Self {
        Verdict {
            target: target.into(),
            ignored: Vec::new(),
        }
    }

    /// The exemption tag's rule for a resource whose tags GuardDuty records: it exempts only
    /// when it was in GuardDuty's record at detection AND is on the resource now. Returns the
    /// exempt verdict's reason and source; a tag on one side only is reported as ignored.
    fn exemption_tag(
        &mut self,
        wanted: &TagMatch,
        kind: &str,
        id: &str,
        now: &[Tag],
        at_detection: &[Tag],
    ) -> Option<(String, String)> {
        let carries =
            |tags: &[Tag]| wanted.matches(tags.iter().map(|t| (t.key.as_str(), t.value.as_str())));
        let (key, value) = (&wanted.key, &wanted.value);
        match (carries(now), carries(at_detection)) {
            (true, true) => {
                return Some((
                    format!(
                        "{kind} {id} is tagged {key}={value}; automatic remediation is disabled for it"
                    ),
                    format!(
                        "tag {key}={value} in GuardDuty's record of the {kind} at detection and on it now"
                    ),
                ))
            }
            (true, false) => self.ignored.push(format!(
                "tag {key}={value} is on {kind} {id} now but was not in GuardDuty's record of it at detection: it may have been added by the attacker, so it does not exempt the {kind}"
            )),
            (false, true) => self.ignored.push(format!(
                "tag {key}={value} was on {kind} {id} at detection but is not any more: it no longer exempts the {kind}"
            )),
            (false, false) => {}
        }
        None
    }

    fn is(
        self,
        status: Eligibility,
        reason: impl Into<String>,
        source: impl Into<String>,
    ) -> ExemptionResult {
        ExemptionResult {
            status,
            reason: reason.into(),
            target: self.target,
            source: source.into(),
            ignored: self.ignored,
            vpcs: Vec::new(),
        }
    }
}

/// What the target is read through: one capability per kind of resource.
#[derive(Clone, Copy)]
pub struct Readers<'a> {
    /// Instances and security groups (EC2).
    pub instances: &'a dyn Instances,
    /// Users and roles (IAM).
    pub principals: &'a dyn Principals,
    /// Functions (Lambda).
    pub functions: &'a dyn Functions,
    /// Buckets (S3).
    pub buckets: &'a dyn Buckets,
    /// DB instances (RDS).
    pub databases: &'a dyn Databases,
}

impl<'a> Readers<'a> {
    /// Every capability from one value that has them all (the AWS adapter, a test fake).
    pub fn all<T: Instances + Principals + Functions + Buckets + Databases>(t: &'a T) -> Self {
        Readers {
            instances: t,
            principals: t,
            functions: t,
            buckets: t,
            databases: t,
        }
    }
}

/// Decides whether the pipeline may act on the input's target. An `eligible` target whose
/// containment changes something is claimed for this execution through `claims` first (a
/// claim held by an execution that has ended is taken over, checked through `executions`);
/// `None` (no `CLAIMS_TABLE`) takes no claim. A dry run takes none either and says it would.
pub async fn check(
    policy: &Policy,
    input: &TaskInput,
    readers: Readers<'_>,
    claims: Option<(&dyn Claims, &dyn Executions)>,
    now: DateTime<Utc>,
) -> Result<ExemptionResult, TaskError> {
    let r = assess(policy, input, readers, now).await?;
    let acts = matches!(
        input.finding.resource,
        Resource::Instance(_)
            | Resource::AccessKey(_)
            | Resource::Function(_)
            | Resource::Bucket(_)
            | Resource::Database(_)
    ) && input.decision.route != Route::NotifyOnly
        || input.decision.route == Route::Sequence;
    if r.status != Eligibility::Eligible || !acts {
        return Ok(r);
    }
    let claim = Claim::of(input, now);
    let execution = input.execution_name();
    if input.decision.dry_run {
        return Ok(ExemptionResult {
            reason: format!(
                "{}; dry run: would claim {} for execution {execution} (no claim taken)",
                r.reason, claim.key
            ),
            ..r
        });
    }
    let Some((claims, executions)) = claims else {
        return Ok(r);
    };
    match claim::take(claims, executions, &claim).await? {
        ClaimOutcome::Claimed => Ok(ExemptionResult {
            reason: format!(
                "{}; claimed {} for execution {execution}",
                r.reason, claim.key
            ),
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
            Ok(ExemptionResult {
                status: Eligibility::AlreadyContained,
                reason: format!(
                    "{} is being handled by execution {holder}{since}, which is still running ({}); this finding does not act on it twice",
                    r.target, claim.key
                ),
                source: format!("claims table: {}", claim.key),
                ..r
            })
        }
    }
}

/// The checks of the target, without the claim.
async fn assess(
    policy: &Policy,
    input: &TaskInput,
    readers: Readers<'_>,
    now: DateTime<Utc>,
) -> Result<ExemptionResult, TaskError> {
    let Readers {
        instances,
        principals,
        functions,
        buckets,
        databases,
    } = readers;
    let finding = &input.finding;
    let identity = finding.resource.identity();
    // No AWS call for a target the pipeline must never touch.
    if policy
        .exclude_accounts
        .iter()
        .any(|a| a == &finding.account_id)
        || !policy.account_allowed(&finding.account_id)
    {
        return Ok(Verdict::new(identity).is(
            Eligibility::Exempt,
            format!("account {} is excluded by policy", finding.account_id),
            "policy exclude_accounts / include_accounts",
        ));
    }
    if let Some(e) = policy
        .exemptions
        .find(ExemptionKind::Account, &finding.account_id, now)
    {
        return Ok(Verdict::new(identity).is(
            Eligibility::Exempt,
            format!("account {} is exempt", finding.account_id),
            e.describe(ExemptionKind::Account),
        ));
    }
    if input.decision.route == Route::NotifyOnly {
        return Ok(Verdict::new(identity).is(
            Eligibility::Eligible,
            format!(
                "resource type {} is notify-only; nothing would be changed",
                finding.resource.resource_type()
            ),
            "decision route notify-only",
        ));
    }
    if input.decision.route == Route::Sequence {
        return Ok(Verdict::new(identity).is(
            Eligibility::Eligible,
            "an attack sequence is contained resource by resource: each item of its plan is checked (policy, tags, real state, claim) before it is contained",
            "decision route sequence",
        ));
    }
    let scope = Scope::of(finding);
    match &finding.resource {
        Resource::Instance(target) => instance(policy, target, scope, instances, now).await,
        Resource::AccessKey(key) => credentials(policy, key, scope, principals, now).await,
        Resource::Function(target) => function(policy, target, scope, functions, now).await,
        Resource::Bucket(target) => {
            let caller = input.decision.deny_caller.as_deref();
            bucket(policy, target, caller, scope, buckets, now).await
        }
        Resource::Database(target) => {
            database(policy, target, scope, databases, instances, now).await
        }
        Resource::Task(target) => Ok(task(policy, target, now)),
        Resource::Other { resource_type } => Ok(Verdict::new(identity).is(
            Eligibility::Eligible,
            format!("resource type {resource_type} has no automatic containment"),
            "finding resource type",
        )),
    }
}

/// An ECS task: its cluster's exemption, and the exemption tag as GuardDuty recorded the task
/// at detection. The live task is not read here (this check has no ECS client, to stay small):
/// the tag in GuardDuty's record was on the task before the activity was reported, so the
/// attacker cannot have added it afterwards. `contain-task` is idempotent, so a task contained
/// already converges without a change.
fn task(policy: &Policy, target: &TaskTarget, now: DateTime<Utc>) -> ExemptionResult {
    let id = format!("task/{}/{}", target.cluster, target.task_id);
    let v = Verdict::new(id.clone());
    let cluster = target.cluster.as_str();
    if let Some(e) = policy.exemptions.find(ExemptionKind::Cluster, cluster, now) {
        return v.is(
            Eligibility::Exempt,
            format!("ECS cluster {cluster} is exempt"),
            e.describe(ExemptionKind::Cluster),
        );
    }
    let wanted = &policy.exemption_tag;
    if wanted.matches(
        target
            .tags
            .iter()
            .map(|t| (t.key.as_str(), t.value.as_str())),
    ) {
        return v.is(
            Eligibility::Exempt,
            format!(
                "task {} is tagged {}={}; automatic remediation is disabled for it",
                target.task_id, wanted.key, wanted.value
            ),
            format!(
                "tag {}={} in GuardDuty's record of the task at detection",
                wanted.key, wanted.value
            ),
        );
    }
    v.is(
        Eligibility::Eligible,
        format!("task {} is not exempt", target.task_id),
        "policy, and GuardDuty's record of the task",
    )
}

/// An instance: policy, tag at detection and now, real containment.
async fn instance(
    policy: &Policy,
    target: &InstanceTarget,
    scope: Scope<'_>,
    instances: &dyn Instances,
    now: DateTime<Utc>,
) -> Result<ExemptionResult, TaskError> {
    let id = target.instance_id.as_str();
    let mut v = Verdict::new(id);
    if let Some(e) = policy.exemptions.find(ExemptionKind::Instance, id, now) {
        return Ok(v.is(
            Eligibility::Exempt,
            format!("instance {id} is exempt"),
            e.describe(ExemptionKind::Instance),
        ));
    }
    let state = instances.instance(scope, id).await?.ok_or_else(|| {
        TaskError::new(
            names::REMEDIATION_TARGET_NOT_FOUND,
            format!(
                "instance {id} was not found in account {} region {}",
                scope.account, scope.region
            ),
        )
    })?;
    let tag = |key: &str| {
        state
            .tags
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.value.as_str())
    };
    if let Some(group) = tag(AUTO_SCALING_GROUP_TAG) {
        if let Some(e) = policy
            .exemptions
            .find(ExemptionKind::AutoScalingGroup, group, now)
        {
            return Ok(v.is(
                Eligibility::Exempt,
                format!("instance {id} belongs to Auto Scaling group {group}, which is exempt"),
                format!(
                    "{} (group read from the instance's {AUTO_SCALING_GROUP_TAG} tag, which only AWS writes)",
                    e.describe(ExemptionKind::AutoScalingGroup)
                ),
            ));
        }
    }
    if let Some((reason, source)) = v.exemption_tag(
        &policy.exemption_tag,
        "instance",
        id,
        &state.tags,
        &target.tags,
    ) {
        return Ok(v.is(Eligibility::Exempt, reason, source));
    }
    let held = state::quarantined(scope, &state, instances).await?;
    if let Some(groups) = held {
        return Ok(v.is(
            Eligibility::AlreadyContained,
            format!(
                "every interface of instance {id} holds only its VPC's quarantine group ({})",
                groups.join(", ")
            ),
            "real state: the interfaces' groups and the quarantine groups' rules, read from EC2",
        ));
    }
    if tag(markers::TAG_STATUS).is_some_and(|s| s.eq_ignore_ascii_case(markers::STATUS_QUARANTINED))
    {
        v.ignored.push(format!(
            "instance {id} is tagged {}={} but its interfaces are not all in a quarantine group: the marker is stale or forged, and containment proceeds",
            markers::TAG_STATUS,
            markers::STATUS_QUARANTINED
        ));
    }
    let mut vpcs: Vec<String> = state.interfaces.iter().map(|i| i.vpc_id.clone()).collect();
    vpcs.sort();
    vpcs.dedup();
    Ok(ExemptionResult {
        vpcs,
        ..v.is(
            Eligibility::Eligible,
            format!("instance {id} is not exempt and not contained"),
            "policy, GuardDuty's record of the instance, and its real state in EC2",
        )
    })
}

/// A Lambda function: the policy, the exemption tag at detection and now, and its real
/// reserved concurrency (0: no invocation can run, whoever set it).
async fn function(
    policy: &Policy,
    target: &FunctionTarget,
    scope: Scope<'_>,
    functions: &dyn Functions,
    now: DateTime<Utc>,
) -> Result<ExemptionResult, TaskError> {
    let name = target.function_name.as_str();
    let mut v = Verdict::new(format!("function/{name}"));
    if let Some(e) = policy.exemptions.find(ExemptionKind::Function, name, now) {
        return Ok(v.is(
            Eligibility::Exempt,
            format!("function {name} is exempt"),
            e.describe(ExemptionKind::Function),
        ));
    }
    let state = functions.function(scope, name).await?.ok_or_else(|| {
        TaskError::new(
            names::REMEDIATION_TARGET_NOT_FOUND,
            format!(
                "function {name} was not found in account {} region {}",
                scope.account, scope.region
            ),
        )
    })?;
    if let Some((reason, source)) = v.exemption_tag(
        &policy.exemption_tag,
        "function",
        name,
        &state.tags,
        &target.tags,
    ) {
        return Ok(v.is(Eligibility::Exempt, reason, source));
    }
    if state.reserved_concurrency == Some(0) {
        return Ok(v.is(
            Eligibility::AlreadyContained,
            format!("function {name} has a reserved concurrency of 0: no invocation can run"),
            "real state: the function's reserved concurrency, read from Lambda",
        ));
    }
    if state.tags.iter().any(|t| {
        t.key == markers::TAG_STATUS && t.value.eq_ignore_ascii_case(markers::STATUS_QUARANTINED)
    }) {
        v.ignored.push(format!(
            "function {name} is tagged {}={} but its reserved concurrency is not 0: the marker is stale or forged, and containment proceeds",
            markers::TAG_STATUS,
            markers::STATUS_QUARANTINED
        ));
    }
    Ok(v.is(
        Eligibility::Eligible,
        format!("function {name} is not exempt and not contained"),
        "policy, GuardDuty's record of the function, and its real state in Lambda",
    ))
}

/// An RDS DB instance: the policy, the exemption tag at detection and now, and its real state:
/// the only group in force is its VPC's sound quarantine group (already contained, whoever put
/// it there).
async fn database(
    policy: &Policy,
    target: &DatabaseTarget,
    scope: Scope<'_>,
    databases: &dyn Databases,
    instances: &dyn Instances,
    now: DateTime<Utc>,
) -> Result<ExemptionResult, TaskError> {
    let id = target.db_instance_identifier.as_str();
    let mut v = Verdict::new(format!("db/{id}"));
    if let Some(e) = policy.exemptions.find(ExemptionKind::Database, id, now) {
        return Ok(v.is(
            Eligibility::Exempt,
            format!("DB instance {id} is exempt"),
            e.describe(ExemptionKind::Database),
        ));
    }
    // An Aurora member's containment moves its whole cluster: an exempt cluster exempts it.
    if let Some(cluster) = target.db_cluster_identifier.as_deref() {
        if let Some(e) = policy
            .exemptions
            .find(ExemptionKind::Database, cluster, now)
        {
            return Ok(v.is(
                Eligibility::Exempt,
                format!("DB instance {id} is a member of cluster {cluster}, which is exempt"),
                e.describe(ExemptionKind::Database),
            ));
        }
    }
    let state = databases.database(scope, id).await?.ok_or_else(|| {
        TaskError::new(
            names::REMEDIATION_TARGET_NOT_FOUND,
            format!(
                "DB instance {id} was not found in account {} region {}",
                scope.account, scope.region
            ),
        )
    })?;
    if let Some((reason, source)) = v.exemption_tag(
        &policy.exemption_tag,
        "DB instance",
        id,
        &state.tags,
        &target.tags,
    ) {
        return Ok(v.is(Eligibility::Exempt, reason, source));
    }
    if let Some(group) = state::database_quarantined(scope, &state, instances).await? {
        return Ok(v.is(
            Eligibility::AlreadyContained,
            format!("DB instance {id} holds only its VPC's quarantine group ({group})"),
            "real state: the groups in force on the instance and the quarantine group's rules, read from RDS and EC2",
        ));
    }
    if state.tags.iter().any(|t| {
        t.key == markers::TAG_STATUS && t.value.eq_ignore_ascii_case(markers::STATUS_QUARANTINED)
    }) {
        v.ignored.push(format!(
            "DB instance {id} is tagged {}={} but does not hold only its VPC's quarantine group: the marker is stale or forged, and containment proceeds",
            markers::TAG_STATUS,
            markers::STATUS_QUARANTINED
        ));
    }
    Ok(v.is(
        Eligibility::Eligible,
        format!("DB instance {id} is not exempt and not contained"),
        "policy, GuardDuty's record of the DB instance, and its real state in RDS",
    ))
}

/// An S3 bucket: the policy, the exemption tag at detection and now, and its real state: for
/// a bucket opened to the public, its Block Public Access settings (all four on: the public
/// cannot reach it, whoever turned them on); for a finding about a caller, whether its policy
/// already denies that caller through this pipeline's statement.
async fn bucket(
    policy: &Policy,
    target: &BucketTarget,
    deny_caller: Option<&str>,
    scope: Scope<'_>,
    buckets: &dyn Buckets,
    now: DateTime<Utc>,
) -> Result<ExemptionResult, TaskError> {
    let name = target.bucket_name.as_str();
    let mut v = Verdict::new(if target.objects.is_empty() {
        format!("bucket/{name}")
    } else {
        Resource::Bucket(target.clone()).identity()
    });
    if let Some(e) = policy.exemptions.find(ExemptionKind::Bucket, name, now) {
        return Ok(v.is(
            Eligibility::Exempt,
            format!("bucket {name} is exempt"),
            e.describe(ExemptionKind::Bucket),
        ));
    }
    let state = buckets.bucket(scope, name).await?.ok_or_else(|| {
        TaskError::new(
            names::REMEDIATION_TARGET_NOT_FOUND,
            format!(
                "bucket {name} was not found in account {} (its owner per the finding)",
                scope.account
            ),
        )
    })?;
    if let Some((reason, source)) = v.exemption_tag(
        &policy.exemption_tag,
        "bucket",
        name,
        &state.tags,
        &target.tags,
    ) {
        return Ok(v.is(Eligibility::Exempt, reason, source));
    }
    if !target.objects.is_empty() {
        let keys: Vec<&str> = target
            .objects_to_contain()
            .iter()
            .map(|o| o.key.as_str())
            .collect();
        let held = policy_document(&state.policy)?
            .map(|p| denies::quarantined_objects(&p, name))
            .unwrap_or_default();
        if keys.iter().all(|k| held.iter().any(|h| h == k)) {
            return Ok(v.is(
                Eligibility::AlreadyContained,
                format!(
                    "bucket {name}'s policy already quarantines the finding's {} object(s)",
                    keys.len()
                ),
                "real state: the bucket's policy, read from S3",
            ));
        }
        return Ok(v.is(
            Eligibility::Eligible,
            format!("bucket {name} is not exempt and its policy does not quarantine the finding's objects yet"),
            "policy, GuardDuty's record of the bucket, and its real policy in S3",
        ));
    }
    if let Some(caller) = deny_caller {
        let denied = policy_document(&state.policy)?
            .is_some_and(|p| denies::bucket_callers(&p).iter().any(|c| c == caller));
        if denied {
            return Ok(v.is(
                Eligibility::AlreadyContained,
                format!("bucket {name}'s policy already denies {caller} every S3 action on it"),
                "real state: the bucket's policy, read from S3",
            ));
        }
        return Ok(v.is(
            Eligibility::Eligible,
            format!("bucket {name} is not exempt and its policy does not deny {caller} yet"),
            "policy, GuardDuty's record of the bucket, and its real policy in S3",
        ));
    }
    if state.public_access_block == Some(responder_aws::s3::PublicAccessBlock::ALL) {
        return Ok(v.is(
            Eligibility::AlreadyContained,
            format!("bucket {name} has all four Block Public Access settings on: the public cannot reach it"),
            "real state: the bucket's Block Public Access settings, read from S3",
        ));
    }
    if state.tags.iter().any(|t| {
        t.key == markers::TAG_STATUS && t.value.eq_ignore_ascii_case(markers::STATUS_QUARANTINED)
    }) {
        v.ignored.push(format!(
            "bucket {name} is tagged {}={} but its Block Public Access settings are not all on: the marker is stale or forged, and containment proceeds",
            markers::TAG_STATUS,
            markers::STATUS_QUARANTINED
        ));
    }
    Ok(v.is(
        Eligibility::Eligible,
        format!("bucket {name} is not exempt and not contained"),
        "policy, GuardDuty's record of the bucket, and its real state in S3",
    ))
}

/// A bucket's policy as a document: `None` when it has none or it is not JSON (then it holds
/// nothing of this pipeline's); the read's error when S3 refused to show it.
fn policy_document(
    policy: &Option<Result<String, TaskError>>,
) -> Result<Option<serde_json::Value>, TaskError> {
    match policy {
        None => Ok(None),
        Some(Ok(text)) => Ok(serde_json::from_str(text).ok()),
        Some(Err(e)) => Err(e.clone()),
    }
}

/// IAM credentials: what may never be changed, the policy, real containment.
async fn credentials(
    policy: &Policy,
    key: &AccessKeyTarget,
    scope: Scope<'_>,
    principals: &dyn Principals,
    now: DateTime<Utc>,
) -> Result<ExemptionResult, TaskError> {
    let principal = match key.credential_kind {
        CredentialKind::Root => {
            return Ok(Verdict::new("root").is(
                Eligibility::Exempt,
                "root credentials are never changed automatically: secure the root user by hand (rotate its password, delete any root access key, check its MFA)",
                "rule: the root user is never changed automatically",
            ))
        }
        CredentialKind::Unknown => {
            return Ok(Verdict::new(key.access_key_id.clone().unwrap_or_default()).is(
                Eligibility::Exempt,
                format!(
                    "access key {:?} of user type {:?} is not a credential the pipeline changes",
                    key.access_key_id.as_deref().unwrap_or(""),
                    key.user_type.as_deref().unwrap_or("")
                ),
                "finding accessKeyDetails (key prefix and user type)",
            ))
        }
        CredentialKind::LongTermUserKey | CredentialKind::UserSession => {
            Principal::User(named(key.user_name.as_deref(), "user")?)
        }
        CredentialKind::RoleSession => Principal::Role(named(key.user_name.as_deref(), "role")?),
    };
    let label = principal.label();
    let mut v = Verdict::new(label.clone());
    let (kind, name) = match principal {
        Principal::User(n) => (ExemptionKind::User, n),
        Principal::Role(n) => (ExemptionKind::Role, n),
    };
    if let Principal::Role(role) = principal {
        let path = principals.role_path(scope, role).await?;
        if path.starts_with(SERVICE_LINKED_ROLE_PATH) {
            return Ok(v.is(
                Eligibility::Exempt,
                format!("{label} is a service-linked role (path {path}); only its AWS service may change it"),
                "real state: the role's path, read from IAM",
            ));
        }
        if path.starts_with(IDENTITY_CENTER_ROLE_PATH) {
            return Ok(v.is(
                Eligibility::Exempt,
                format!("{label} belongs to IAM Identity Center (path {path}), which overwrites changes made to it. By hand: disable the user or remove the account assignment of the permission set in IAM Identity Center and revoke its active sessions, or deny the role's ARN with a service control policy"),
                "real state: the role's path, read from IAM",
            ));
        }
    }
    if let Some(e) = policy.exemptions.find(kind, name, now) {
        return Ok(v.is(
            Eligibility::Exempt,
            format!("{label} is exempt"),
            e.describe(kind),
        ));
    }
    let tags = principals.principal_tags(scope, principal).await?;
    let wanted = &policy.exemption_tag;
    if wanted.matches(tags.iter().map(|t| (t.key.as_str(), t.value.as_str()))) {
        v.ignored.push(format!(
            "{label} is tagged {}={}, but GuardDuty's record of a finding carries no tags for IAM principals and whoever may tag the principal may have added it: exempt it in the policy ({}) instead",
            wanted.key,
            wanted.value,
            kind.field()
        ));
    }
    if let Some(why) = credentials_contained(key, principal, scope, principals).await? {
        return Ok(v.is(
            Eligibility::AlreadyContained,
            why,
            "real state: the key's status and the principal's policies, read from IAM",
        ));
    }
    Ok(v.is(
        Eligibility::Eligible,
        format!("{label} is not exempt and not contained"),
        "policy, GuardDuty's record of the credentials, and their real state in IAM",
    ))
}

/// Whether the credentials' containment is in place, read from IAM. A role-wide or user-wide
/// "sessions before a cutoff" deny never counts: sessions issued after its cutoff are not
/// covered, so containment runs again and moves the cutoff on.
async fn credentials_contained(
    key: &AccessKeyTarget,
    principal: Principal<'_>,
    scope: Scope<'_>,
    principals: &dyn Principals,
) -> Result<Option<String>, TaskError> {
    match (key.credential_kind, principal) {
        (CredentialKind::LongTermUserKey, Principal::User(user)) => {
            let Some(key_id) = key.access_key_id.as_deref() else {
                return Ok(None);
            };
            if principals.key_active(scope, user, key_id).await? != Some(false) {
                return Ok(None);
            }
            let arn = denies::aws_deny_all_arn(scope.partition);
            let managed = principals
                .attached_user_policies(scope, user)
                .await?
                .contains(&arn);
            let inline = !managed
                && principals
                    .inline_policy(scope, principal, DENY_ALL_POLICY)
                    .await?
                    .is_some_and(|d| denies::denies_everything(&d));
            Ok((managed || inline).then(|| {
                format!(
                    "access key {key_id} of user {user} is Inactive and {} denies the user everything",
                    if managed { "AWSDenyAll" } else { DENY_ALL_POLICY }
                )
            }))
        }
        (CredentialKind::RoleSession, Principal::Role(role)) => {
            let Some(session) = key
                .principal_id
                .as_deref()
                .filter(|p| p.split_once(':').is_some_and(|(_, i)| i.starts_with("i-")))
            else {
                return Ok(None);
            };
            let doc = principals
                .inline_policy(scope, principal, DENY_INSTANCE_SESSIONS_POLICY)
                .await?;
            let named = doc
                .as_ref()
                .map(denies::instance_sessions)
                .is_some_and(|(s, _)| s.iter().any(|x| x == session));
            Ok(named.then(|| {
                format!("the sessions of role {role} on {session} are denied by {DENY_INSTANCE_SESSIONS_POLICY}")
            }))
        }
        _ => Ok(None),
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
