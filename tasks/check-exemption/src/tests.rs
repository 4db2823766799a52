//! The exemption rules against in-memory fakes of the capabilities: what an attacker in the
//! member account can write never decides.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::TimeZone;
use responder_core::finding::Tag;
use serde_json::{json, Value};

use super::*;

fn input_from(event: &Value, policy: &Policy) -> TaskInput {
    let finding = Finding::from_event(event).expect("fixture parses");
    let decision = policy.decide(&finding);
    TaskInput {
        finding,
        decision,
        execution: Some(
            "arn:aws:states:eu-west-1:111111111111:execution:remediate-finding:exec-1".into(),
        ),
        results: None,
        approval_timeout_seconds: None,
        execution_start_time: None,
    }
}

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

const EC2_HIGH: &str = include_str!("../../../fixtures/events/ec2-high-single-eni.json");
const EC2_CROSS: &str = include_str!("../../../fixtures/events/ec2-high-cross-account.json");
const IAM_USER: &str = include_str!("../../../fixtures/events/iam-high-akia-user.json");
const IAM_ROLE: &str = include_str!("../../../fixtures/events/iam-high-asia-role.json");
const IAM_ROOT: &str = include_str!("../../../fixtures/events/iam-root.json");
const EKS: &str = include_str!("../../../fixtures/events/eks-notify-only.json");
const LAMBDA: &str = include_str!("../../../fixtures/events/lambda-high-c2.json");
const BUCKET: &str = include_str!("../../../fixtures/events/s3-high-anonymous-access.json");
const DATABASE: &str = include_str!("../../../fixtures/events/rds-high-malicious-login.json");

const I: &str = "i-0a1b2c3d4e5f60701";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 5, 10, 0, 0)
        .single()
        .expect("time")
}

fn tag(k: &str, v: &str) -> Tag {
    Tag {
        key: k.into(),
        value: v.into(),
    }
}

/// The EC2 finding with these tags in GuardDuty's record of the instance.
fn ec2_with_detection_tags(tags: &[(&str, &str)]) -> Value {
    let mut e = fixture(EC2_HIGH);
    e["detail"]["resource"]["instanceDetails"]["tags"] = json!(tags
        .iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect::<Vec<_>>());
    e
}

#[derive(Default)]
struct Fake {
    instances: HashMap<String, InstanceNow>,
    groups: Vec<GroupRules>,
    users: HashMap<String, Vec<Tag>>,
    roles: HashMap<String, String>,
    keys: HashMap<(String, String), bool>,
    attached: HashMap<String, Vec<String>>,
    inline: HashMap<(String, String), Value>,
    functions: HashMap<String, FunctionNow>,
    buckets: HashMap<String, BucketNow>,
    databases: HashMap<String, DatabaseNow>,
    calls: Mutex<Vec<String>>,
}

impl Fake {
    fn record(&self, what: String) {
        self.calls.lock().expect("lock").push(what);
    }
    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("lock").clone()
    }
    fn with_instance(mut self, tags: Vec<Tag>, groups: &[(&str, &str)]) -> Self {
        self.instances.insert(
            I.into(),
            InstanceNow {
                tags,
                interfaces: vec![InterfaceNow {
                    id: "eni-1".into(),
                    vpc_id: "vpc-1".into(),
                    groups: groups
                        .iter()
                        .map(|(i, n)| (i.to_string(), n.to_string()))
                        .collect(),
                }],
            },
        );
        self
    }
    fn with_group(mut self, id: &str, name: &str, ingress: usize, egress: &[(&str, i32)]) -> Self {
        self.groups.push(GroupRules {
            id: id.into(),
            name: name.into(),
            vpc_id: "vpc-1".into(),
            ingress,
            egress: egress
                .iter()
                .map(|(p, port)| (p.to_string(), Some(*port), Some(*port)))
                .collect(),
        });
        self
    }
}

fn not_found(what: &str) -> TaskError {
    TaskError::new(
        names::REMEDIATION_TARGET_NOT_FOUND,
        format!("{what} not found"),
    )
}

#[async_trait]
impl Functions for Fake {
    async fn function(&self, _: Scope<'_>, name: &str) -> Result<Option<FunctionNow>, TaskError> {
        self.record(format!("function {name}"));
        Ok(self.functions.get(name).cloned())
    }
}

#[async_trait]
impl Databases for Fake {
    async fn database(&self, _: Scope<'_>, id: &str) -> Result<Option<DatabaseNow>, TaskError> {
        self.record(format!("database {id}"));
        Ok(self.databases.get(id).cloned())
    }
}

#[async_trait]
impl Buckets for Fake {
    async fn bucket(&self, _: Scope<'_>, name: &str) -> Result<Option<BucketNow>, TaskError> {
        self.record(format!("bucket {name}"));
        Ok(self.buckets.get(name).cloned())
    }
}

#[async_trait]
impl Instances for Fake {
    async fn instance(&self, _: Scope<'_>, id: &str) -> Result<Option<InstanceNow>, TaskError> {
        self.record(format!("instance {id}"));
        Ok(self.instances.get(id).cloned())
    }
    async fn group_rules(
        &self,
        _: Scope<'_>,
        ids: &[String],
    ) -> Result<Vec<GroupRules>, TaskError> {
        self.record(format!("group_rules {}", ids.join(",")));
        Ok(self
            .groups
            .iter()
            .filter(|g| ids.contains(&g.id))
            .cloned()
            .collect())
    }
}

#[async_trait]
impl Principals for Fake {
    async fn principal_tags(&self, _: Scope<'_>, p: Principal<'_>) -> Result<Vec<Tag>, TaskError> {
        self.record(format!("tags {}", p.label()));
        match p {
            Principal::User(u) => self.users.get(u).cloned().ok_or_else(|| not_found(u)),
            Principal::Role(r) => self
                .roles
                .get(r)
                .map(|_| Vec::new())
                .ok_or_else(|| not_found(r)),
        }
    }
    async fn role_path(&self, _: Scope<'_>, role: &str) -> Result<String, TaskError> {
        self.record(format!("role_path {role}"));
        self.roles.get(role).cloned().ok_or_else(|| not_found(role))
    }
    async fn key_active(
        &self,
        _: Scope<'_>,
        user: &str,
        key: &str,
    ) -> Result<Option<bool>, TaskError> {
        self.record(format!("key {user}"));
        Ok(self.keys.get(&(user.to_string(), key.to_string())).copied())
    }
    async fn attached_user_policies(
        &self,
        _: Scope<'_>,
        user: &str,
    ) -> Result<Vec<String>, TaskError> {
        self.record(format!("attached {user}"));
        Ok(self.attached.get(user).cloned().unwrap_or_default())
    }
    async fn inline_policy(
        &self,
        _: Scope<'_>,
        p: Principal<'_>,
        name: &str,
    ) -> Result<Option<Value>, TaskError> {
        self.record(format!("inline {} {name}", p.label()));
        Ok(self.inline.get(&(p.label(), name.to_string())).cloned())
    }
}

async fn run(
    policy: &Policy,
    input: &TaskInput,
    fake: &Fake,
) -> Result<ExemptionResult, TaskError> {
    check(policy, input, Readers::all(fake), None, now()).await
}

#[tokio::test]
async fn an_untagged_instance_is_eligible_and_says_what_decided() {
    let p = Policy::default();
    let fake = Fake::default().with_instance(vec![tag("Name", "web-01")], &[("sg-web", "web")]);
    let r = run(&p, &input_from(&fixture(EC2_HIGH), &p), &fake)
        .await
        .expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    assert_eq!(r.target, I);
    assert!(r.source.contains("real state"), "{}", r.source);
    assert!(r.ignored.is_empty());
    // The VPCs EC2 answered, passed on to isolate (it reads their groups beside the instance).
    assert_eq!(r.vpcs, ["vpc-1"]);
    let out = serde_json::to_value(&r).expect("json");
    assert_eq!(out["vpcs"], serde_json::json!(["vpc-1"]));
}

#[tokio::test]
async fn an_exemption_tag_added_after_detection_is_ignored() {
    let p = Policy::default();
    // Not in GuardDuty's record; on the instance now (the attacker tagged it).
    let fake = Fake::default().with_instance(
        vec![tag("AutoRemediation", "disabled")],
        &[("sg-web", "web")],
    );
    let r = run(&p, &input_from(&fixture(EC2_HIGH), &p), &fake)
        .await
        .expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    assert_eq!(r.ignored.len(), 1);
    assert!(
        r.ignored[0].contains("was not in GuardDuty's record"),
        "{:?}",
        r.ignored
    );
}

#[tokio::test]
async fn an_exemption_tag_present_at_detection_and_now_is_honoured() {
    let p = Policy::default();
    let event = ec2_with_detection_tags(&[("AutoRemediation", "Disabled")]);
    let fake = Fake::default().with_instance(
        vec![tag("AutoRemediation", "DISABLED")],
        &[("sg-web", "web")],
    );
    let r = run(&p, &input_from(&event, &p), &fake).await.expect("ok");
    assert_eq!(r.status, Eligibility::Exempt);
    assert!(
        r.source.contains("at detection and on it now"),
        "{}",
        r.source
    );
    // Removed since detection: no longer exempt.
    let fake = Fake::default().with_instance(vec![], &[("sg-web", "web")]);
    let r = run(&p, &input_from(&event, &p), &fake).await.expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    assert!(r.ignored[0].contains("is not any more"));
}

#[tokio::test]
async fn policy_exemptions_by_instance_group_account_with_expiry() {
    let policy = |exemptions: Value| -> Policy {
        Policy::from_json(&json!({ "exemptions": exemptions }).to_string()).expect("policy")
    };
    let fake = Fake::default().with_instance(
        vec![tag(AUTO_SCALING_GROUP_TAG, "payments-asg")],
        &[("sg-web", "web")],
    );
    let cases = [
        (
            json!({"instances": [{"id": I, "reason": "load test"}]}),
            Eligibility::Exempt,
            "exemptions.instances",
        ),
        (
            json!({"instances": [{"id": I, "expires": "2026-12-04"}]}),
            Eligibility::Eligible,
            "",
        ),
        (
            json!({"auto_scaling_groups": [{"id": "payments-asg"}]}),
            Eligibility::Exempt,
            "only AWS writes",
        ),
        (
            json!({"accounts": [{"id": "111111111111", "expires": "2027-01-01"}]}),
            Eligibility::Exempt,
            "exemptions.accounts",
        ),
    ];
    for (ex, status, source) in cases {
        let p = policy(ex.clone());
        let r = run(&p, &input_from(&fixture(EC2_HIGH), &p), &fake)
            .await
            .expect("ok");
        assert_eq!(r.status, status, "{ex}");
        assert!(r.source.contains(source), "{ex}: {}", r.source);
    }
    // A group named in a tag anyone can write does not exempt: only the aws: tag counts.
    let p = policy(json!({"auto_scaling_groups": [{"id": "payments-asg"}]}));
    let fake = Fake::default().with_instance(
        vec![tag("autoscaling:groupName", "payments-asg")],
        &[("sg-web", "web")],
    );
    let r = run(&p, &input_from(&fixture(EC2_HIGH), &p), &fake)
        .await
        .expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
}

#[tokio::test]
async fn already_contained_comes_from_the_real_state_never_the_marker() {
    let p = Policy::default();
    let q = markers::QUARANTINE_GROUP_NAME;
    let input = input_from(&fixture(EC2_HIGH), &p);
    // Really contained: the only group is the quarantine group, admitting nothing, 443 out.
    let fake = Fake::default()
        .with_instance(vec![], &[("sg-q", q)])
        .with_group("sg-q", q, 0, &[("tcp", 443)]);
    let r = run(&p, &input, &fake).await.expect("ok");
    assert_eq!(r.status, Eligibility::AlreadyContained);
    assert!(r.source.starts_with("real state"));

    // A forged marker on an instance still in its own groups: containment proceeds.
    let marker = vec![tag(markers::TAG_STATUS, markers::STATUS_QUARANTINED)];
    let fake = Fake::default().with_instance(marker.clone(), &[("sg-web", "web")]);
    let r = run(&p, &input, &fake).await.expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    assert!(
        r.ignored.iter().any(|i| i.contains("stale or forged")),
        "{:?}",
        r.ignored
    );

    // A group named like the quarantine group but letting everything out does not count.
    let fake = Fake::default()
        .with_instance(marker.clone(), &[("sg-fake", q)])
        .with_group("sg-fake", q, 0, &[("-1", 0)]);
    assert_eq!(
        run(&p, &input, &fake).await.expect("ok").status,
        Eligibility::Eligible
    );
    // Nor one that admits traffic in, nor the quarantine group next to another group.
    let fake = Fake::default()
        .with_instance(vec![], &[("sg-q", q)])
        .with_group("sg-q", q, 1, &[("tcp", 443)]);
    assert_eq!(
        run(&p, &input, &fake).await.expect("ok").status,
        Eligibility::Eligible
    );
    let fake = Fake::default()
        .with_instance(vec![], &[("sg-q", q), ("sg-web", "web")])
        .with_group("sg-q", q, 0, &[]);
    assert_eq!(
        run(&p, &input, &fake).await.expect("ok").status,
        Eligibility::Eligible
    );
}

#[tokio::test]
async fn a_missing_instance_is_target_not_found_and_member_accounts_are_read_there() {
    let p = Policy::default();
    let e = run(&p, &input_from(&fixture(EC2_HIGH), &p), &Fake::default())
        .await
        .expect_err("missing");
    assert_eq!(e.name, names::REMEDIATION_TARGET_NOT_FOUND);
    let input = input_from(&fixture(EC2_CROSS), &p);
    assert_ne!(input.finding.account_id, "111111111111");
}

#[tokio::test]
async fn excluded_accounts_and_notify_only_make_no_call() {
    let p = Policy {
        exclude_accounts: vec!["111111111111".into()],
        ..Policy::default()
    };
    let fake = Fake::default();
    let r = run(&p, &input_from(&fixture(EC2_HIGH), &p), &fake)
        .await
        .expect("ok");
    assert_eq!(r.status, Eligibility::Exempt);
    let p = Policy::default();
    let r = run(&p, &input_from(&fixture(EKS), &p), &fake)
        .await
        .expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
}

#[tokio::test]
async fn principals_are_exempt_by_policy_never_by_tag() {
    let p = Policy::default();
    let input = input_from(&fixture(IAM_USER), &p);
    let mut fake = Fake::default();
    fake.users
        .insert("build-bot".into(), vec![tag("AutoRemediation", "disabled")]);
    let r = run(&p, &input, &fake).await.expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    assert!(r.ignored[0].contains("exemptions.users"), "{:?}", r.ignored);

    let p = Policy::from_json(
        r#"{"exemptions": {"users": [{"id": "build-bot", "reason": "break-glass"}]}}"#,
    )
    .expect("policy");
    let r = run(&p, &input_from(&fixture(IAM_USER), &p), &fake)
        .await
        .expect("ok");
    assert_eq!(r.status, Eligibility::Exempt);
    assert_eq!(r.source, "policy exemptions.users: build-bot (break-glass)");
}

#[tokio::test]
async fn roots_service_linked_and_identity_center_roles_are_never_changed() {
    let p = Policy::default();
    let r = run(&p, &input_from(&fixture(IAM_ROOT), &p), &Fake::default())
        .await
        .expect("ok");
    assert_eq!(r.status, Eligibility::Exempt);
    assert!(r.reason.contains("root"));
    for (path, says) in [
        ("/aws-service-role/ecs.amazonaws.com/", "service-linked"),
        (
            "/aws-reserved/sso.amazonaws.com/",
            "remove the account assignment",
        ),
    ] {
        let mut fake = Fake::default();
        fake.roles.insert("web-app-role".into(), path.into());
        let r = run(&p, &input_from(&fixture(IAM_ROLE), &p), &fake)
            .await
            .expect("ok");
        assert_eq!(r.status, Eligibility::Exempt, "{path}");
        assert!(r.reason.contains(says), "{}", r.reason);
    }
}

#[tokio::test]
async fn credentials_are_already_contained_only_when_iam_says_so() {
    let p = Policy::default();
    let input = input_from(&fixture(IAM_USER), &p);
    let key = ("build-bot".to_string(), "AKIA4EXAMPLEBUILDBOT".to_string());
    let mut fake = Fake::default();
    fake.users.insert("build-bot".into(), vec![]);
    fake.keys.insert(key.clone(), false);
    // Inactive key but no deny: not contained (sessions minted from it still work).
    assert_eq!(
        run(&p, &input, &fake).await.expect("ok").status,
        Eligibility::Eligible
    );
    fake.attached.insert(
        "build-bot".into(),
        vec!["arn:aws:iam::aws:policy/AWSDenyAll".into()],
    );
    assert_eq!(
        run(&p, &input, &fake).await.expect("ok").status,
        Eligibility::AlreadyContained
    );
    // Active key with the deny: not contained.
    fake.keys.insert(key, true);
    assert_eq!(
        run(&p, &input, &fake).await.expect("ok").status,
        Eligibility::Eligible
    );

    // The instance's stolen session named in the role's deny.
    let input = input_from(&fixture(IAM_ROLE), &p);
    let mut fake = Fake::default();
    fake.roles.insert("web-app-role".into(), "/".into());
    assert_eq!(
        run(&p, &input, &fake).await.expect("ok").status,
        Eligibility::Eligible
    );
    fake.inline.insert(
        (
            "role/web-app-role".into(),
            denies::DENY_INSTANCE_SESSIONS_POLICY.into(),
        ),
        denies::deny_instance_sessions(&["AROA4EXAMPLEWEBAPPRL:i-0a1b2c3d4e5f60701".into()], &[]),
    );
    assert_eq!(
        run(&p, &input, &fake).await.expect("ok").status,
        Eligibility::AlreadyContained
    );
}

/// An in-memory claims table with DynamoDB's conditional semantics.
#[derive(Default)]
struct FakeClaims {
    held: Mutex<HashMap<String, Claim>>,
}

#[async_trait]
impl Claims for FakeClaims {
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, TaskError> {
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
    async fn take_over(&self, claim: &Claim, holder: &str) -> Result<ClaimOutcome, TaskError> {
        let mut held = self.held.lock().expect("lock");
        match held.get(&claim.key) {
            Some(h) if h.execution != holder => Ok(ClaimOutcome::Held {
                execution: Some(h.execution.clone()),
                claimed_at: None,
            }),
            _ => {
                held.insert(claim.key.clone(), claim.clone());
                Ok(ClaimOutcome::Claimed)
            }
        }
    }
}

/// Executions that are running or not, by ARN.
#[derive(Default)]
struct FakeExecutions {
    ended: HashSet<String>,
}

#[async_trait]
impl Executions for FakeExecutions {
    async fn running(&self, arn: &str) -> Result<Option<bool>, TaskError> {
        Ok(Some(!self.ended.contains(arn)))
    }
}

fn exec(input: &TaskInput, name: &str) -> TaskInput {
    TaskInput {
        execution: Some(format!(
            "arn:aws:states:eu-west-1:111111111111:execution:remediate-finding:{name}"
        )),
        ..input.clone()
    }
}

#[tokio::test]
async fn two_findings_on_one_instance_act_once_while_the_first_runs() {
    let p = Policy::default();
    let fake = Fake::default().with_instance(vec![], &[("sg-web", "web")]);
    let claims = FakeClaims::default();
    let executions = FakeExecutions::default();
    let first = exec(&input_from(&fixture(EC2_HIGH), &p), "first");
    // Another finding (another id, another type) on the same instance.
    let mut other = fixture(EC2_HIGH);
    other["detail"]["id"] = json!("another-finding-on-the-same-instance");
    other["detail"]["type"] = json!("CryptoCurrency:EC2/BitcoinTool.B!DNS");
    let second = exec(&input_from(&other, &p), "second");
    assert_eq!(claim::resource_key(&first), claim::resource_key(&second));
    assert_eq!(
        claim::resource_key(&first),
        "resource#aws#111111111111#eu-west-1#i-0a1b2c3d4e5f60701"
    );

    let c = Some((&claims as &dyn Claims, &executions as &dyn Executions));
    let (a, b) = tokio::join!(
        check(&p, &first, Readers::all(&fake), c, now()),
        check(&p, &second, Readers::all(&fake), c, now())
    );
    let statuses = [a.expect("a").status, b.expect("b").status];
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == Eligibility::Eligible)
            .count(),
        1,
        "{statuses:?}"
    );
    // The same execution again (a Lambda retry) keeps its claim.
    let again = check(&p, &first, Readers::all(&fake), c, now())
        .await
        .expect("retry");
    let holder = claims.held.lock().expect("lock")[&claim::resource_key(&first)]
        .execution
        .clone();
    assert_eq!(
        again.status == Eligibility::Eligible,
        holder == first.execution_name()
    );
}

#[tokio::test]
async fn a_claim_whose_holder_ended_is_taken_over_at_once() {
    let p = Policy::default();
    let fake = Fake::default().with_instance(vec![], &[("sg-web", "web")]);
    let claims = FakeClaims::default();
    let first = exec(&input_from(&fixture(EC2_HIGH), &p), "failed-one");
    let second = exec(&input_from(&fixture(EC2_HIGH), &p), "next-one");
    let running = FakeExecutions::default();
    let c = Some((&claims as &dyn Claims, &running as &dyn Executions));
    assert_eq!(
        check(&p, &first, Readers::all(&fake), c, now())
            .await
            .expect("a")
            .status,
        Eligibility::Eligible
    );
    let held = check(&p, &second, Readers::all(&fake), c, now())
        .await
        .expect("b");
    assert_eq!(held.status, Eligibility::AlreadyContained);
    assert!(
        held.reason.contains("failed-one") && held.reason.contains("still running"),
        "{}",
        held.reason
    );
    // The first execution ended (failed): the next one takes the resource over.
    let ended = FakeExecutions {
        ended: [first.execution_name().to_string()].into(),
    };
    let c = Some((&claims as &dyn Claims, &ended as &dyn Executions));
    assert_eq!(
        check(&p, &second, Readers::all(&fake), c, now())
            .await
            .expect("b")
            .status,
        Eligibility::Eligible
    );
}

#[tokio::test]
async fn a_dry_run_takes_no_claim() {
    let p = Policy {
        dry_run: true,
        ..Policy::default()
    };
    let fake = Fake::default().with_instance(vec![], &[("sg-web", "web")]);
    let claims = FakeClaims::default();
    let executions = FakeExecutions::default();
    let c = Some((&claims as &dyn Claims, &executions as &dyn Executions));
    let r = check(
        &p,
        &input_from(&fixture(EC2_HIGH), &p),
        Readers::all(&fake),
        c,
        now(),
    )
    .await
    .expect("ok");
    assert!(
        r.reason.contains("dry run: would claim resource#"),
        "{}",
        r.reason
    );
    assert!(claims.held.lock().expect("lock").is_empty());
}

#[test]
fn the_lease_outlasts_the_worst_case_of_the_state_machines_retries() {
    // Every attempt of every task from CheckExemption to the end of containment, each bounded
    // by its TimeoutSeconds, plus the retry intervals: the claim must still hold at the end.
    let machine: Value = serde_json::from_str(include_str!(
        "../../../statemachines/remediate-finding.asl.json"
    ))
    .expect("JSON");
    fn worst(state: &Value) -> u64 {
        let timeout = state["TimeoutSeconds"].as_u64().unwrap_or(0);
        let mut attempts = 1;
        let mut waits = 0;
        for r in state["Retry"].as_array().into_iter().flatten() {
            let n = r["MaxAttempts"].as_u64().unwrap_or(3);
            attempts += n;
            let max_delay = r["MaxDelaySeconds"].as_u64().unwrap_or(3600);
            let (mut d, rate) = (
                r["IntervalSeconds"].as_f64().unwrap_or(1.0),
                r["BackoffRate"].as_f64().unwrap_or(2.0),
            );
            for _ in 0..n {
                waits += (d as u64).min(max_delay);
                d *= rate;
            }
        }
        attempts * timeout + waits
    }
    let states = &machine["States"];
    let branches = states["ContainInstance"]["Branches"]
        .as_array()
        .expect("branches");
    let contain = branches
        .iter()
        .map(|b| {
            let start = b["StartAt"].as_str().expect("start");
            worst(&b["States"][start])
        })
        .max()
        .unwrap_or(0)
        + worst(&states["SecureInterfaces"]);
    // The instance and the credential routes are alternatives.
    let total = worst(&states["CheckExemption"]) + contain.max(worst(&states["Revoke"]));
    assert!(
        claim::CLAIM_LEASE_MINUTES * 60 >= total as i64,
        "the lease ({} min) is shorter than the worst case ({} s)",
        claim::CLAIM_LEASE_MINUTES,
        total
    );
}

#[test]
fn the_claims_table_setting() {
    assert_eq!(claim::table_from_lookup(|_| None), Ok(None));
    assert_eq!(
        claim::table_from_lookup(|_| Some("guardduty-responder-claims".into())),
        Ok(Some("guardduty-responder-claims".into()))
    );
    assert!(claim::table_from_lookup(|_| Some("no spaces".into())).is_err());
}

/// A function: exempt by policy or by a tag present at detection and now; already contained
/// only when its reserved concurrency really is 0 (a forged marker is ignored); a missing
/// function is named.
#[tokio::test]
async fn a_function_is_judged_by_the_policy_its_record_and_its_real_concurrency() {
    let fun = |tags: Vec<Tag>, reserved: Option<i32>| {
        let mut f = Fake::default();
        f.functions.insert(
            "thumbnailer".into(),
            FunctionNow {
                tags,
                reserved_concurrency: reserved,
            },
        );
        f
    };
    let p = Policy::default();
    let event = fixture(LAMBDA);
    let r = run(&p, &input_from(&event, &p), &fun(vec![], None))
        .await
        .expect("ok");
    assert_eq!(r.status, Eligibility::Eligible, "{}", r.reason);
    assert_eq!(r.target, "function/thumbnailer");

    let r = run(&p, &input_from(&event, &p), &fun(vec![], Some(0)))
        .await
        .expect("ok");
    assert_eq!(r.status, Eligibility::AlreadyContained, "{}", r.reason);

    // The marker alone, with the function still able to run: ignored, and contained.
    let forged = vec![tag(markers::TAG_STATUS, markers::STATUS_QUARANTINED)];
    let r = run(&p, &input_from(&event, &p), &fun(forged, Some(5)))
        .await
        .expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    assert!(r.ignored[0].contains("stale or forged"), "{:?}", r.ignored);

    // The exemption tag added after detection does not exempt; with it in GuardDuty's record
    // too, it does.
    let tagged = || vec![tag("AutoRemediation", "disabled")];
    let r = run(&p, &input_from(&event, &p), &fun(tagged(), None))
        .await
        .expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    assert!(
        r.ignored[0].contains("not in GuardDuty's record"),
        "{:?}",
        r.ignored
    );
    let mut at_detection = event.clone();
    at_detection["detail"]["resource"]["lambdaDetails"]["tags"] =
        json!([{"key": "AutoRemediation", "value": "disabled"}]);
    let r = run(&p, &input_from(&at_detection, &p), &fun(tagged(), None))
        .await
        .expect("ok");
    assert_eq!(r.status, Eligibility::Exempt);

    // By policy, with no call.
    let p2 = Policy::from_json(r#"{"exemptions": {"functions": [{"id": "thumbnailer"}]}}"#)
        .expect("policy");
    let f = fun(vec![], None);
    let r = run(&p2, &input_from(&event, &p2), &f).await.expect("ok");
    assert_eq!(r.status, Eligibility::Exempt);
    assert!(r.source.contains("exemptions.functions"), "{}", r.source);
    assert!(f.calls().is_empty());

    let e = run(&p, &input_from(&event, &p), &Fake::default())
        .await
        .expect_err("missing");
    assert_eq!(e.name, names::REMEDIATION_TARGET_NOT_FOUND);
}

/// A bucket: exempt by policy or by a tag present at detection and now; already contained
/// only when all four of its Block Public Access settings really are on (a forged marker is
/// ignored); a missing bucket is named; the claim is keyed by the bucket.
#[tokio::test]
async fn a_bucket_is_judged_by_the_policy_its_record_and_its_real_settings() {
    use responder_aws::s3::PublicAccessBlock;
    let bucket = |tags: Vec<Tag>, pab: Option<PublicAccessBlock>| {
        let mut f = Fake::default();
        f.buckets.insert(
            "orders-exports".into(),
            BucketNow {
                tags,
                public_access_block: pab,
                policy: None,
            },
        );
        f
    };
    let p = Policy::default();
    let event = fixture(BUCKET);
    let r = run(&p, &input_from(&event, &p), &bucket(vec![], None))
        .await
        .expect("ok");
    assert_eq!(r.status, Eligibility::Eligible, "{}", r.reason);
    assert_eq!(r.target, "bucket/orders-exports");
    assert_eq!(
        claim::resource_key(&input_from(&event, &p)),
        "resource#aws#111111111111#eu-west-1#bucket/orders-exports"
    );

    let r = run(
        &p,
        &input_from(&event, &p),
        &bucket(vec![], Some(PublicAccessBlock::ALL)),
    )
    .await
    .expect("ok");
    assert_eq!(r.status, Eligibility::AlreadyContained, "{}", r.reason);

    // Three of four on is not contained.
    let three = PublicAccessBlock {
        restrict_public_buckets: false,
        ..PublicAccessBlock::ALL
    };
    let forged = vec![tag(markers::TAG_STATUS, markers::STATUS_QUARANTINED)];
    let r = run(&p, &input_from(&event, &p), &bucket(forged, Some(three)))
        .await
        .expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    assert!(r.ignored[0].contains("stale or forged"), "{:?}", r.ignored);

    // The exemption tag added after detection does not exempt; with it in GuardDuty's record
    // too, it does.
    let tagged = || vec![tag("AutoRemediation", "disabled")];
    let r = run(&p, &input_from(&event, &p), &bucket(tagged(), None))
        .await
        .expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    let mut at_detection = event.clone();
    at_detection["detail"]["resource"]["s3BucketDetails"][0]["tags"] =
        json!([{"key": "AutoRemediation", "value": "disabled"}]);
    let r = run(&p, &input_from(&at_detection, &p), &bucket(tagged(), None))
        .await
        .expect("ok");
    assert_eq!(r.status, Eligibility::Exempt);

    // By policy, with no call.
    let p2 = Policy::from_json(r#"{"exemptions": {"buckets": [{"id": "orders-exports"}]}}"#)
        .expect("policy");
    let f = bucket(vec![], None);
    let r = run(&p2, &input_from(&event, &p2), &f).await.expect("ok");
    assert_eq!(r.status, Eligibility::Exempt);
    assert!(r.source.contains("exemptions.buckets"), "{}", r.source);
    assert!(f.calls().is_empty());

    let e = run(&p, &input_from(&event, &p), &Fake::default())
        .await
        .expect_err("missing");
    assert_eq!(e.name, names::REMEDIATION_TARGET_NOT_FOUND);
}

/// A finding about a caller: the bucket is already contained when its policy denies that
/// caller through this pipeline's statement, whatever its Block Public Access says.
#[tokio::test]
async fn a_caller_already_denied_on_the_bucket_is_already_contained() {
    let p = Policy::default();
    let event = fixture(include_str!(
        "../../../fixtures/events/s3-high-malicious-caller.json"
    ));
    let input = input_from(&event, &p);
    assert_eq!(
        input.decision.deny_caller.as_deref(),
        Some("AIDA4EXAMPLEREPORTS1")
    );
    let with_policy = |policy: Option<String>| {
        let mut f = Fake::default();
        f.buckets.insert(
            "orders-exports".into(),
            BucketNow {
                tags: vec![],
                public_access_block: Some(responder_aws::s3::PublicAccessBlock::ALL),
                policy: policy.map(Ok),
            },
        );
        f
    };
    let r = run(&p, &input, &with_policy(None)).await.expect("ok");
    assert_eq!(r.status, Eligibility::Eligible, "{}", r.reason);
    let denied = responder_core::denies::with_bucket_callers(
        None,
        "aws",
        "orders-exports",
        &["AIDA4EXAMPLEREPORTS1".into()],
    );
    let r = run(&p, &input, &with_policy(Some(denied.to_string())))
        .await
        .expect("ok");
    assert_eq!(r.status, Eligibility::AlreadyContained, "{}", r.reason);
}

fn with_database(fake: Fake, tags: Vec<Tag>, groups: &[&str]) -> Fake {
    let mut fake = fake;
    fake.databases.insert(
        "billing-db".into(),
        DatabaseNow {
            tags,
            vpc_id: Some("vpc-1".into()),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        },
    );
    fake
}

#[tokio::test]
async fn a_database_is_judged_by_policy_tag_and_the_groups_in_force() {
    let p = Policy::default();
    let input = input_from(&fixture(DATABASE), &p);
    assert_eq!(input.decision.route, Route::Rds);
    // Untagged, in its own groups: eligible, read from RDS.
    let fake = with_database(Fake::default(), vec![tag("team", "billing")], &["sg-app"]);
    let r = run(&p, &input, &fake).await.expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    assert_eq!(r.target, "db/billing-db");
    assert!(fake.calls().contains(&"database billing-db".to_string()));

    // Only its VPC's sound quarantine group: already contained.
    let fake = with_database(Fake::default(), vec![], &["sg-q"]).with_group(
        "sg-q",
        markers::QUARANTINE_GROUP_NAME,
        0,
        &[("tcp", 443)],
    );
    let r = run(&p, &input, &fake).await.expect("ok");
    assert_eq!(r.status, Eligibility::AlreadyContained);
    // A group of that name someone opened does not count, and a marker alone is ignored.
    let fake = with_database(
        Fake::default(),
        vec![tag(markers::TAG_STATUS, markers::STATUS_QUARANTINED)],
        &["sg-q"],
    )
    .with_group("sg-q", markers::QUARANTINE_GROUP_NAME, 1, &[("tcp", 443)]);
    let r = run(&p, &input, &fake).await.expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    assert_eq!(r.ignored.len(), 1, "{:?}", r.ignored);

    // The exemption tag now alone does not exempt (GuardDuty saw it without); the policy does.
    let fake = with_database(
        Fake::default(),
        vec![tag("AutoRemediation", "disabled")],
        &["sg-app"],
    );
    let r = run(&p, &input, &fake).await.expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    let exempt: Policy = Policy::from_json(
        r#"{"exemptions": {"databases": [{"id": "billing-db", "reason": "load test"}]}}"#,
    )
    .expect("policy");
    let fake = with_database(Fake::default(), vec![], &["sg-app"]);
    let r = run(&exempt, &input_from(&fixture(DATABASE), &exempt), &fake)
        .await
        .expect("ok");
    assert_eq!(r.status, Eligibility::Exempt);
    assert!(r.source.contains("exemptions.databases"), "{}", r.source);
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());

    // Gone: named error.
    let e = run(&p, &input, &Fake::default())
        .await
        .expect_err("missing");
    assert_eq!(e.name, names::REMEDIATION_TARGET_NOT_FOUND);
}

/// An Aurora member is claimed by its cluster (its containment moves the cluster), an exempt
/// cluster exempts its members, and an attack sequence is claimed by its uid (GuardDuty's
/// updates of it do not ask for the same plan twice).
#[test]
fn clusters_and_sequences_are_claimed_as_what_is_acted_on() {
    let p = Policy::default();
    let aurora = input_from(
        &fixture(include_str!(
            "../../../fixtures/events/rds-aurora-high-brute-force.json"
        )),
        &p,
    );
    assert_eq!(
        claim::resource_key(&aurora),
        "resource#aws#222222222222#eu-west-1#cluster/ledger-cluster"
    );
    let seq = input_from(
        &fixture(include_str!(
            "../../../fixtures/events/attack-sequence-credentials.json"
        )),
        &p,
    );
    assert_eq!(
        claim::resource_key(&seq),
        "resource#aws#111111111111#eu-west-1#sequence/7a0c2e4f6a8c0e2a4c6e8a0c2e4a6c41"
    );
}

#[tokio::test]
async fn an_exempt_cluster_exempts_its_members() {
    let p = Policy::from_json(r#"{"exemptions": {"databases": [{"id": "ledger-cluster"}]}}"#)
        .expect("policy");
    let input = input_from(
        &fixture(include_str!(
            "../../../fixtures/events/rds-aurora-high-brute-force.json"
        )),
        &p,
    );
    let fake = Fake::default();
    let r = run(&p, &input, &fake).await.expect("ok");
    assert_eq!(r.status, Eligibility::Exempt);
    assert!(r.reason.contains("cluster ledger-cluster"), "{}", r.reason);
    assert!(fake.calls().is_empty());
}

/// An ECS task: exempt by its cluster in the policy, or by the exemption tag in GuardDuty's
/// record of it at detection; otherwise eligible with no call (this check has no ECS client),
/// and claimed as the task.
#[tokio::test]
async fn a_task_is_judged_by_its_cluster_and_its_record_and_claimed_as_the_task() {
    let event = fixture(include_str!(
        "../../../fixtures/events/ecs-task-reverse-shell.json"
    ));
    let p = Policy::default();
    let input = input_from(&event, &p);
    assert_eq!(input.decision.route, Route::Ecs);
    let fake = Fake::default();
    let r = run(&p, &input, &fake).await.expect("ok");
    assert_eq!(r.status, Eligibility::Eligible, "{}", r.reason);
    assert_eq!(r.target, "task/checkout/4f1c2a7e9b3d4c5e8a6b0d1f2e3c4b5a");
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
    assert_eq!(
        claim::resource_key(&input),
        "resource#aws#222222222222#eu-west-1#task/checkout/4f1c2a7e9b3d4c5e8a6b0d1f2e3c4b5a"
    );

    let exempt = Policy::from_json(
        r#"{"exemptions": {"clusters": [{"id": "checkout", "reason": "game day"}]}}"#,
    )
    .expect("policy");
    let r = run(&exempt, &input_from(&event, &exempt), &Fake::default())
        .await
        .expect("ok");
    assert_eq!(r.status, Eligibility::Exempt);
    assert!(
        r.reason.contains("ECS cluster checkout is exempt"),
        "{}",
        r.reason
    );

    let mut tagged = event.clone();
    tagged["detail"]["resource"]["ecsClusterDetails"]["taskDetails"]["tags"] =
        serde_json::json!([{"key": "AutoRemediation", "value": "disabled"}]);
    let r = run(&p, &input_from(&tagged, &p), &Fake::default())
        .await
        .expect("ok");
    assert_eq!(r.status, Eligibility::Exempt);
    assert!(
        r.source.contains("GuardDuty's record of the task"),
        "{}",
        r.source
    );

    let bad = Policy::from_json(r#"{"exemptions": {"clusters": [{"id": "no/such"}]}}"#)
        .expect_err("not a cluster name");
    assert!(
        bad.message.contains("expected an ECS cluster name"),
        "{}",
        bad.message
    );
}
