//! The exemption rules against in-memory fakes of the capabilities.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use super::*;
use responder_core::finding::Tag;
use serde_json::Value;

fn input_from(event: &str, policy: &Policy) -> TaskInput {
    let event: Value = serde_json::from_str(event).expect("fixture is JSON");
    let finding = Finding::from_event(&event).expect("fixture parses");
    let decision = policy.decide(&finding);
    TaskInput {
        finding,
        decision,
        execution: Some("exec-1".into()),
        results: None,
        approval_timeout_seconds: None,
    }
}

const EC2_HIGH: &str = include_str!("../../../fixtures/events/ec2-high-single-eni.json");
const EC2_CROSS: &str = include_str!("../../../fixtures/events/ec2-high-cross-account.json");
const IAM_USER: &str = include_str!("../../../fixtures/events/iam-high-akia-user.json");
const IAM_ROLE: &str = include_str!("../../../fixtures/events/iam-high-asia-role.json");
const IAM_ROOT: &str = include_str!("../../../fixtures/events/iam-root.json");
const S3: &str = include_str!("../../../fixtures/events/s3-notify-only.json");
const EKS: &str = include_str!("../../../fixtures/events/eks-notify-only.json");

fn tag(k: &str, v: &str) -> Tag {
    Tag {
        key: k.into(),
        value: v.into(),
    }
}

#[derive(Default)]
struct Fake {
    instances: HashMap<String, Vec<Tag>>,
    users: HashMap<String, Vec<Tag>>,
    roles: HashMap<String, (String, Vec<Tag>)>,
    inline_policies: HashSet<(String, String)>,
    calls: Mutex<Vec<String>>,
}

impl Fake {
    fn record(&self, scope: Scope<'_>, what: String) {
        self.calls
            .lock()
            .expect("lock")
            .push(format!("{}/{}: {what}", scope.account, scope.region));
    }
    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("lock").clone()
    }
    fn not_found(what: &str) -> TaskError {
        TaskError::new(
            names::REMEDIATION_TARGET_NOT_FOUND,
            format!("{what} not found"),
        )
    }
}

#[async_trait]
impl InstanceTags for Fake {
    async fn instance_tags(
        &self,
        scope: Scope<'_>,
        instance_id: &str,
    ) -> Result<Option<Vec<Tag>>, TaskError> {
        self.record(scope, format!("instance_tags {instance_id}"));
        Ok(self.instances.get(instance_id).cloned())
    }
}

#[async_trait]
impl PrincipalTags for Fake {
    async fn principal_tags(
        &self,
        scope: Scope<'_>,
        principal: Principal<'_>,
    ) -> Result<Vec<Tag>, TaskError> {
        self.record(scope, format!("principal_tags {}", principal.label()));
        match principal {
            Principal::User(u) => self.users.get(u).cloned(),
            Principal::Role(r) => self.roles.get(r).map(|(_, t)| t.clone()),
        }
        .ok_or_else(|| Self::not_found(&principal.label()))
    }

    async fn role_path(&self, scope: Scope<'_>, role: &str) -> Result<String, TaskError> {
        self.record(scope, format!("role_path {role}"));
        self.roles
            .get(role)
            .map(|(p, _)| p.clone())
            .ok_or_else(|| Self::not_found(role))
    }

    async fn has_inline_policy(
        &self,
        scope: Scope<'_>,
        principal: Principal<'_>,
        policy_name: &str,
    ) -> Result<bool, TaskError> {
        self.record(scope, format!("has_inline_policy {}", principal.label()));
        Ok(self
            .inline_policies
            .contains(&(principal.label(), policy_name.to_string())))
    }
}

async fn run(
    policy: &Policy,
    input: &TaskInput,
    fake: &Fake,
) -> Result<ExemptionResult, TaskError> {
    check(policy, input, fake, fake, None).await
}

fn with_instance(id: &str, tags: Vec<Tag>) -> Fake {
    let mut f = Fake::default();
    f.instances.insert(id.into(), tags);
    f
}

#[tokio::test]
async fn untagged_instance_is_eligible() {
    let p = Policy::default();
    let input = input_from(EC2_HIGH, &p);
    let fake = with_instance("i-0a1b2c3d4e5f60701", vec![tag("Name", "web-01")]);
    let r = run(&p, &input, &fake).await.expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    assert_eq!(r.target, "i-0a1b2c3d4e5f60701");
    assert_eq!(
        fake.calls(),
        ["111111111111/eu-west-1: instance_tags i-0a1b2c3d4e5f60701"]
    );
}

#[tokio::test]
async fn exemption_tag_value_matches_case_insensitively() {
    let p = Policy::default();
    let input = input_from(EC2_HIGH, &p);
    for value in ["disabled", "DISABLED", "Disabled"] {
        let fake = with_instance("i-0a1b2c3d4e5f60701", vec![tag("AutoRemediation", value)]);
        let r = run(&p, &input, &fake).await.expect("ok");
        assert_eq!(r.status, Eligibility::Exempt, "{value}");
        assert!(
            r.reason.contains("AutoRemediation=disabled"),
            "{}",
            r.reason
        );
    }
    let fake = with_instance(
        "i-0a1b2c3d4e5f60701",
        vec![tag("AutoRemediation", "enabled")],
    );
    assert_eq!(
        run(&p, &input, &fake).await.expect("ok").status,
        Eligibility::Eligible
    );
    // The key is matched exactly.
    let fake = with_instance(
        "i-0a1b2c3d4e5f60701",
        vec![tag("autoremediation", "disabled")],
    );
    assert_eq!(
        run(&p, &input, &fake).await.expect("ok").status,
        Eligibility::Eligible
    );
}

#[tokio::test]
async fn exemption_tag_is_configurable() {
    let p = Policy::from_lookup(|k| match k {
        "EXEMPTION_TAG_KEY" => Some("SecurityAutomation".into()),
        "EXEMPTION_TAG_VALUE" => Some("off".into()),
        _ => None,
    })
    .expect("policy");
    let input = input_from(EC2_HIGH, &p);
    let fake = with_instance(
        "i-0a1b2c3d4e5f60701",
        vec![tag("SecurityAutomation", "OFF")],
    );
    let r = run(&p, &input, &fake).await.expect("ok");
    assert_eq!(r.status, Eligibility::Exempt);
    assert!(r.reason.contains("SecurityAutomation=off"), "{}", r.reason);
    let fake = with_instance(
        "i-0a1b2c3d4e5f60701",
        vec![tag("AutoRemediation", "disabled")],
    );
    assert_eq!(
        run(&p, &input, &fake).await.expect("ok").status,
        Eligibility::Eligible
    );
}

#[tokio::test]
async fn the_current_tags_count_not_the_ones_in_the_finding() {
    // The finding saw no exemption tag; the instance has one now.
    let p = Policy::default();
    let input = input_from(EC2_HIGH, &p);
    assert!(!input
        .finding
        .instance()
        .expect("instance")
        .tags
        .iter()
        .any(|t| t.key == "AutoRemediation"));
    let fake = with_instance(
        "i-0a1b2c3d4e5f60701",
        vec![tag("AutoRemediation", "disabled")],
    );
    assert_eq!(
        run(&p, &input, &fake).await.expect("ok").status,
        Eligibility::Exempt
    );
}

#[tokio::test]
async fn quarantined_instance_is_already_contained() {
    let p = Policy::default();
    let input = input_from(EC2_HIGH, &p);
    let fake = with_instance(
        "i-0a1b2c3d4e5f60701",
        vec![
            tag(markers::TAG_STATUS, markers::STATUS_QUARANTINED),
            tag(markers::TAG_FINDING_ID, "3e1a5c7b9d2f4a6c8e0b1d3f5a7c9e11"),
        ],
    );
    let r = run(&p, &input, &fake).await.expect("ok");
    assert_eq!(r.status, Eligibility::AlreadyContained);
    assert!(
        r.reason.contains("3e1a5c7b9d2f4a6c8e0b1d3f5a7c9e11"),
        "{}",
        r.reason
    );
    // A restored instance may be contained again.
    let fake = with_instance(
        "i-0a1b2c3d4e5f60701",
        vec![tag(markers::TAG_STATUS, markers::STATUS_RESTORED)],
    );
    assert_eq!(
        run(&p, &input, &fake).await.expect("ok").status,
        Eligibility::Eligible
    );
}

#[tokio::test]
async fn exemption_wins_over_containment() {
    let p = Policy::default();
    let input = input_from(EC2_HIGH, &p);
    let fake = with_instance(
        "i-0a1b2c3d4e5f60701",
        vec![
            tag(markers::TAG_STATUS, markers::STATUS_QUARANTINED),
            tag("AutoRemediation", "disabled"),
        ],
    );
    assert_eq!(
        run(&p, &input, &fake).await.expect("ok").status,
        Eligibility::Exempt
    );
}

#[tokio::test]
async fn missing_instance_is_target_not_found() {
    let p = Policy::default();
    let input = input_from(EC2_HIGH, &p);
    let e = run(&p, &input, &Fake::default())
        .await
        .expect_err("not found");
    assert_eq!(e.name, names::REMEDIATION_TARGET_NOT_FOUND);
    assert!(e.message.contains("i-0a1b2c3d4e5f60701"), "{}", e.message);
}

#[tokio::test]
async fn cross_account_reads_in_the_member_account() {
    let p = Policy::default();
    let input = input_from(EC2_CROSS, &p);
    let fake = with_instance("i-0b2c3d4e5f6a70804", vec![]);
    let r = run(&p, &input, &fake).await.expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    assert_eq!(
        fake.calls(),
        ["222222222222/eu-west-1: instance_tags i-0b2c3d4e5f6a70804"]
    );
}

#[tokio::test]
async fn excluded_account_is_exempt_without_any_call() {
    let p = Policy {
        exclude_accounts: vec!["222222222222".into()],
        ..Policy::default()
    };
    let input = input_from(EC2_CROSS, &p);
    let fake = Fake::default();
    let r = run(&p, &input, &fake).await.expect("ok");
    assert_eq!(r.status, Eligibility::Exempt);
    assert_eq!(r.reason, "account 222222222222 is excluded by policy");
    assert_eq!(r.target, "i-0b2c3d4e5f6a70804");
    assert!(fake.calls().is_empty());
    let p = Policy {
        include_accounts: vec!["111111111111".into()],
        ..Policy::default()
    };
    assert_eq!(
        run(&p, &input, &fake).await.expect("ok").status,
        Eligibility::Exempt
    );
}

#[tokio::test]
async fn notify_only_is_eligible_without_any_call() {
    let p = Policy::default();
    for event in [S3, EKS] {
        let input = input_from(event, &p);
        let fake = Fake::default();
        let r = run(&p, &input, &fake).await.expect("ok");
        assert_eq!(r.status, Eligibility::Eligible);
        assert!(r.reason.contains("notify-only"), "{}", r.reason);
        assert!(fake.calls().is_empty());
    }
}

fn user_fake(tags: Vec<Tag>) -> Fake {
    let mut f = Fake::default();
    f.users.insert("build-bot".into(), tags);
    f
}

fn role_fake(path: &str, tags: Vec<Tag>) -> Fake {
    let mut f = Fake::default();
    f.roles.insert("web-app-role".into(), (path.into(), tags));
    f
}

#[tokio::test]
async fn iam_user_rules() {
    let p = Policy::default();
    let input = input_from(IAM_USER, &p);
    let r = run(&p, &input, &user_fake(vec![])).await.expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    assert_eq!(r.target, "user/build-bot");

    let r = run(
        &p,
        &input,
        &user_fake(vec![tag("AutoRemediation", "Disabled")]),
    )
    .await
    .expect("ok");
    assert_eq!(r.status, Eligibility::Exempt);

    let mut fake = user_fake(vec![]);
    fake.inline_policies.insert((
        "user/build-bot".into(),
        format!(
            "guardduty-responder-deny-{}",
            input.decision.idempotency_key
        ),
    ));
    let r = run(&p, &input, &fake).await.expect("ok");
    assert_eq!(r.status, Eligibility::AlreadyContained);
    assert!(
        r.reason.contains("guardduty-responder-deny-gd-"),
        "{}",
        r.reason
    );

    // A deny policy of another finding does not count.
    let mut fake = user_fake(vec![]);
    fake.inline_policies.insert((
        "user/build-bot".into(),
        "guardduty-responder-deny-gd-0000".into(),
    ));
    assert_eq!(
        run(&p, &input, &fake).await.expect("ok").status,
        Eligibility::Eligible
    );

    let e = run(&p, &input, &Fake::default())
        .await
        .expect_err("no user");
    assert_eq!(e.name, names::REMEDIATION_TARGET_NOT_FOUND);
}

#[tokio::test]
async fn iam_role_rules() {
    let p = Policy::default();
    let input = input_from(IAM_ROLE, &p);
    let fake = role_fake("/", vec![]);
    let r = run(&p, &input, &fake).await.expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    assert_eq!(r.target, "role/web-app-role");
    assert_eq!(
        fake.calls(),
        [
            "111111111111/eu-west-1: role_path web-app-role",
            "111111111111/eu-west-1: principal_tags role/web-app-role",
            "111111111111/eu-west-1: has_inline_policy role/web-app-role",
        ]
    );

    let r = run(
        &p,
        &input,
        &role_fake("/", vec![tag("AutoRemediation", "disabled")]),
    )
    .await
    .expect("ok");
    assert_eq!(r.status, Eligibility::Exempt);

    let r = run(
        &p,
        &input,
        &role_fake("/aws-service-role/elasticbeanstalk.amazonaws.com/", vec![]),
    )
    .await
    .expect("ok");
    assert_eq!(r.status, Eligibility::Exempt);
    assert!(r.reason.contains("service-linked role"), "{}", r.reason);

    let mut fake = role_fake("/app/", vec![]);
    fake.inline_policies.insert((
        "role/web-app-role".into(),
        deny_policy_name(&input.decision.idempotency_key),
    ));
    assert_eq!(
        run(&p, &input, &fake).await.expect("ok").status,
        Eligibility::AlreadyContained
    );
}

#[tokio::test]
async fn root_is_exempt_without_any_call() {
    let p = Policy::default();
    let input = input_from(IAM_ROOT, &p);
    let fake = Fake::default();
    let r = run(&p, &input, &fake).await.expect("ok");
    assert_eq!(r.status, Eligibility::Exempt);
    assert_eq!(r.reason, "root credentials are never changed automatically");
    assert_eq!(r.target, "root");
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn unknown_credentials_and_missing_names() {
    let p = Policy::default();
    let mut input = input_from(IAM_USER, &p);
    if let Resource::AccessKey(k) = &mut input.finding.resource {
        k.credential_kind = CredentialKind::Unknown;
    }
    let r = run(&p, &input, &Fake::default()).await.expect("ok");
    assert_eq!(r.status, Eligibility::Exempt);

    let mut input = input_from(IAM_USER, &p);
    if let Resource::AccessKey(k) = &mut input.finding.resource {
        k.user_name = None;
    }
    let e = run(&p, &input, &Fake::default())
        .await
        .expect_err("no name");
    assert_eq!(e.name, names::REMEDIATION_TARGET_NOT_FOUND);
}

#[tokio::test]
async fn capability_errors_pass_through_with_their_names() {
    struct Throttled;
    #[async_trait]
    impl InstanceTags for Throttled {
        async fn instance_tags(
            &self,
            _: Scope<'_>,
            _: &str,
        ) -> Result<Option<Vec<Tag>>, TaskError> {
            Err(TaskError::new(names::REMEDIATION_THROTTLED, "slow down"))
        }
    }
    let p = Policy::default();
    let input = input_from(EC2_HIGH, &p);
    let e = check(&p, &input, &Throttled, &Fake::default(), None)
        .await
        .expect_err("throttled");
    assert_eq!(e.name, names::REMEDIATION_THROTTLED);
    assert!(e.is_retryable());
}

#[test]
fn result_serializes_as_the_state_machine_reads_it() {
    let r = result(Eligibility::AlreadyContained, "x", "i-1");
    let v = serde_json::to_value(&r).expect("json");
    assert_eq!(
        v,
        serde_json::json!({"status": "already-contained", "reason": "x", "target": "i-1"})
    );
}

/// Claims in memory, with the table's condition: absent, or held by the same execution.
#[derive(Default)]
struct FakeClaims {
    held: Mutex<HashMap<String, Claim>>,
    attempts: Mutex<Vec<String>>,
}

impl FakeClaims {
    fn holding(claim: Claim) -> Self {
        let f = FakeClaims::default();
        f.held
            .lock()
            .expect("lock")
            .insert(claim.key.clone(), claim);
        f
    }
    fn held(&self) -> Vec<Claim> {
        self.held.lock().expect("lock").values().cloned().collect()
    }
    fn attempts(&self) -> Vec<String> {
        self.attempts.lock().expect("lock").clone()
    }
}

#[async_trait]
impl Claims for FakeClaims {
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, TaskError> {
        self.attempts
            .lock()
            .expect("lock")
            .push(format!("{} by {}", claim.key, claim.execution));
        let mut held = self.held.lock().expect("lock");
        match held.get(&claim.key) {
            Some(h) if h.execution != claim.execution && h.expires_at() >= claim.now_epoch() => {
                Ok(ClaimOutcome::Held {
                    execution: Some(h.execution.clone()),
                    claimed_at: Some(h.claimed_at_rfc3339()),
                })
            }
            _ => {
                held.insert(claim.key.clone(), claim.clone());
                Ok(ClaimOutcome::Claimed)
            }
        }
    }
}

async fn run_claiming(
    policy: &Policy,
    input: &TaskInput,
    fake: &Fake,
    claims: &FakeClaims,
) -> Result<ExemptionResult, TaskError> {
    check(policy, input, fake, fake, Some(claims)).await
}

fn with_execution(mut input: TaskInput, execution: &str) -> TaskInput {
    input.execution = Some(execution.into());
    input
}

#[tokio::test]
async fn an_eligible_instance_is_claimed_for_the_execution() {
    let p = Policy::default();
    let input = input_from(EC2_HIGH, &p);
    let fake = with_instance("i-0a1b2c3d4e5f60701", vec![]);
    let claims = FakeClaims::default();
    let r = run_claiming(&p, &input, &fake, &claims).await.expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    assert!(r.reason.contains("claimed gd-"), "{}", r.reason);
    let held = claims.held();
    assert_eq!(held.len(), 1);
    let c = &held[0];
    assert_eq!(c.key, input.decision.idempotency_key);
    assert_eq!(c.execution, "exec-1");
    assert_eq!(c.finding_id, input.finding.id);
    assert_eq!(c.resource, "i-0a1b2c3d4e5f60701");
    assert_eq!(c.account, "111111111111");
}

#[tokio::test]
async fn a_claim_held_by_another_execution_is_already_contained() {
    let p = Policy::default();
    let first = with_execution(input_from(EC2_HIGH, &p), "arn:exec:first");
    let second = with_execution(input_from(EC2_HIGH, &p), "arn:exec:second");
    let fake = with_instance("i-0a1b2c3d4e5f60701", vec![]);
    let claims = FakeClaims::holding(Claim::of(&first, chrono::Utc::now()));
    let r = run_claiming(&p, &second, &fake, &claims).await.expect("ok");
    assert_eq!(r.status, Eligibility::AlreadyContained);
    assert_eq!(r.target, "i-0a1b2c3d4e5f60701");
    assert!(r.reason.contains("arn:exec:first"), "{}", r.reason);
    assert!(r.reason.contains("claimed by execution"), "{}", r.reason);
    assert_eq!(
        claims.held()[0].execution,
        "arn:exec:first",
        "the claim stays"
    );
}

#[tokio::test]
async fn the_same_execution_claims_again_on_a_retry() {
    let p = Policy::default();
    let input = input_from(EC2_HIGH, &p);
    let fake = with_instance("i-0a1b2c3d4e5f60701", vec![]);
    let claims = FakeClaims::default();
    for _ in 0..2 {
        let r = run_claiming(&p, &input, &fake, &claims).await.expect("ok");
        assert_eq!(r.status, Eligibility::Eligible);
    }
    assert_eq!(claims.attempts().len(), 2);
    assert_eq!(claims.held().len(), 1);
}

#[tokio::test]
async fn concurrent_deliveries_yield_one_eligible() {
    let p = Policy::default();
    let a = with_execution(input_from(EC2_HIGH, &p), "exec-a");
    let b = with_execution(input_from(EC2_HIGH, &p), "exec-b");
    let fake = with_instance("i-0a1b2c3d4e5f60701", vec![]);
    let claims = FakeClaims::default();
    let (ra, rb) = tokio::join!(
        run_claiming(&p, &a, &fake, &claims),
        run_claiming(&p, &b, &fake, &claims)
    );
    let statuses = [ra.expect("a").status, rb.expect("b").status];
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == Eligibility::Eligible)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(statuses.contains(&Eligibility::AlreadyContained));
}

#[tokio::test]
async fn a_dry_run_takes_no_claim() {
    let p = Policy {
        dry_run: true,
        ..Policy::default()
    };
    let input = input_from(EC2_HIGH, &p);
    assert!(input.decision.dry_run);
    let fake = with_instance("i-0a1b2c3d4e5f60701", vec![]);
    let claims = FakeClaims::default();
    let r = run_claiming(&p, &input, &fake, &claims).await.expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    assert!(
        r.reason.contains("dry run: would claim gd-"),
        "{}",
        r.reason
    );
    assert!(claims.attempts().is_empty());
}

#[tokio::test]
async fn without_a_claims_table_no_claim_is_taken() {
    let p = Policy::default();
    let input = input_from(EC2_HIGH, &p);
    let fake = with_instance("i-0a1b2c3d4e5f60701", vec![]);
    let r = run(&p, &input, &fake).await.expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    assert!(!r.reason.contains("claim"), "{}", r.reason);
}

#[tokio::test]
async fn iam_credentials_are_claimed_too() {
    let p = Policy::default();
    let input = input_from(IAM_USER, &p);
    let claims = FakeClaims::default();
    let r = run_claiming(&p, &input, &user_fake(vec![]), &claims)
        .await
        .expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    assert_eq!(claims.held().len(), 1);
    assert_eq!(claims.held()[0].key, input.decision.idempotency_key);
}

#[tokio::test]
async fn answers_before_the_claim_take_none() {
    let p = Policy::default();
    let claims = FakeClaims::default();
    // Exempt and quarantined instances, root, notify-only, excluded account.
    let input = input_from(EC2_HIGH, &p);
    for tags in [
        vec![tag("AutoRemediation", "disabled")],
        vec![tag(markers::TAG_STATUS, markers::STATUS_QUARANTINED)],
    ] {
        let fake = with_instance("i-0a1b2c3d4e5f60701", tags);
        let r = run_claiming(&p, &input, &fake, &claims).await.expect("ok");
        assert_ne!(r.status, Eligibility::Eligible);
    }
    for event in [IAM_ROOT, S3, EKS] {
        let input = input_from(event, &p);
        run_claiming(&p, &input, &Fake::default(), &claims)
            .await
            .expect("ok");
    }
    let excluded = Policy {
        exclude_accounts: vec!["222222222222".into()],
        ..Policy::default()
    };
    let input = input_from(EC2_CROSS, &excluded);
    let r = run_claiming(&excluded, &input, &Fake::default(), &claims)
        .await
        .expect("ok");
    assert_eq!(r.status, Eligibility::Exempt);
    assert!(claims.attempts().is_empty(), "{:?}", claims.attempts());
}

#[tokio::test]
async fn claim_errors_pass_through_with_their_names() {
    struct Slow;
    #[async_trait]
    impl Claims for Slow {
        async fn claim(&self, _: &Claim) -> Result<ClaimOutcome, TaskError> {
            Err(TaskError::new(names::REMEDIATION_THROTTLED, "slow down"))
        }
    }
    let p = Policy::default();
    let input = input_from(EC2_HIGH, &p);
    let fake = with_instance("i-0a1b2c3d4e5f60701", vec![]);
    let e = check(&p, &input, &fake, &fake, Some(&Slow))
        .await
        .expect_err("throttled");
    assert_eq!(e.name, names::REMEDIATION_THROTTLED);
}

#[test]
fn a_claim_is_a_lease_covering_containment_or_the_approval_wait() {
    let p = Policy::default();
    let input = input_from(EC2_HIGH, &p);
    let at = chrono::DateTime::parse_from_rfc3339("2025-02-03T16:00:00Z")
        .expect("time")
        .with_timezone(&chrono::Utc);
    let c = Claim::of(&input, at);
    assert_eq!(c.claimed_at_rfc3339(), "2025-02-03T16:00:00Z");
    assert_eq!(c.expires_at() - at.timestamp(), 15 * 60);

    let mut medium = input.clone();
    medium.decision.disposition = responder_core::Disposition::RequestApproval;
    medium.approval_timeout_seconds = Some(7200);
    assert_eq!(
        Claim::of(&medium, at).expires_at() - at.timestamp(),
        7200 + 15 * 60
    );
    medium.approval_timeout_seconds = None;
    assert_eq!(
        Claim::of(&medium, at).expires_at() - at.timestamp(),
        3600 + 15 * 60
    );
}

/// A failed or rejected attempt must not block the finding for good: once the holder's lease
/// has lapsed, a later delivery takes the claim over.
#[tokio::test]
async fn a_lapsed_claim_is_taken_over_by_a_later_delivery() {
    let p = Policy::default();
    let fake = with_instance("i-0a1b2c3d4e5f60701", vec![]);
    let claims = FakeClaims::default();
    let first = with_execution(input_from(EC2_HIGH, &p), "arn:exec:first");
    let stale = Claim::of(&first, chrono::Utc::now() - chrono::Duration::minutes(16));
    claims
        .held
        .lock()
        .expect("lock")
        .insert(stale.key.clone(), stale);
    let later = with_execution(input_from(EC2_HIGH, &p), "arn:exec:later");
    let r = run_claiming(&p, &later, &fake, &claims).await.expect("ok");
    assert_eq!(r.status, Eligibility::Eligible, "{r:?}");
    // A claim still within its lease keeps holding.
    let third = with_execution(input_from(EC2_HIGH, &p), "arn:exec:third");
    let r = run_claiming(&p, &third, &fake, &claims).await.expect("ok");
    assert_eq!(r.status, Eligibility::AlreadyContained, "{r:?}");
}

#[test]
fn the_claims_table_setting() {
    use crate::claim::table_from_lookup;
    let lookup = |v: String| move |k: &str| (k == "CLAIMS_TABLE").then(|| v.clone());
    assert_eq!(table_from_lookup(|_| None).expect("unset"), None);
    assert_eq!(table_from_lookup(lookup("  ".into())).expect("blank"), None);
    assert_eq!(
        table_from_lookup(lookup("guardduty-responder-claims".into())).expect("valid"),
        Some("guardduty-responder-claims".to_string())
    );
    assert!(table_from_lookup(lookup("a.b_C-9".into())).is_ok());
    assert!(table_from_lookup(lookup("t".repeat(255))).is_ok());
    for bad in [
        "ab".to_string(),
        "claims table".into(),
        "claims/x".into(),
        "cl\u{e4}ims".into(),
        "t".repeat(256),
    ] {
        let e = table_from_lookup(lookup(bad.clone())).expect_err(&bad);
        assert_eq!(e.name, names::CONFIG_INVALID, "{bad}");
        assert!(e.message.contains("CLAIMS_TABLE"), "{}", e.message);
    }
}
