//! Unit tests of the revoke logic against an in-memory IAM.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::TimeZone;
use responder_core::finding::Finding;

use super::*;
use responder_aws::consistency::Backoff;

#[derive(Debug, Default, Clone)]
struct Entity {
    path: String,
    keys: Vec<AccessKey>,
    policies: BTreeMap<String, Value>,
    attached: Vec<String>,
}

/// An in-memory IAM with fault switches.
#[derive(Debug, Default)]
struct FakeIam {
    users: Mutex<BTreeMap<String, Entity>>,
    roles: Mutex<BTreeMap<String, Entity>>,
    writes: Mutex<Vec<String>>,
    reads: Mutex<Vec<String>>,
    /// UpdateAccessKey succeeds but the key stays Active.
    ignore_deactivation: bool,
    /// PutUserPolicy/PutRolePolicy succeed but nothing is stored.
    drop_policies: bool,
    /// AttachUserPolicy answers LimitExceeded (the user has its quota of managed policies).
    managed_quota_full: bool,
    /// PutUserPolicy/PutRolePolicy answer LimitExceeded (the inline quota).
    inline_quota_full: bool,
    /// Reads of a policy answer "missing" this many times after it was put (IAM's eventual
    /// consistency).
    invisible_reads: Mutex<u32>,
}

fn not_found(what: &str) -> TaskError {
    TaskError::new(
        names::REMEDIATION_TARGET_NOT_FOUND,
        format!("NoSuchEntity: {what}"),
    )
}

impl FakeIam {
    fn with_user(self, name: &str, keys: &[(&str, KeyStatus)]) -> Self {
        self.users.lock().unwrap().insert(
            name.into(),
            Entity {
                path: "/".into(),
                keys: keys
                    .iter()
                    .map(|(id, status)| AccessKey {
                        access_key_id: id.to_string(),
                        status: *status,
                    })
                    .collect(),
                ..Entity::default()
            },
        );
        self
    }

    fn with_role(self, name: &str, path: &str) -> Self {
        self.roles.lock().unwrap().insert(
            name.into(),
            Entity {
                path: path.into(),
                ..Entity::default()
            },
        );
        self
    }

    fn entity<T>(
        &self,
        principal: &Principal,
        f: impl FnOnce(&mut Entity) -> Result<T, TaskError>,
    ) -> Result<T, TaskError> {
        let (map, name) = match principal {
            Principal::User(n) => (&self.users, n),
            Principal::Role(n) => (&self.roles, n),
        };
        let mut map = map.lock().unwrap();
        let e = map
            .get_mut(name)
            .ok_or_else(|| not_found(&principal.label()))?;
        f(e)
    }

    fn policy(&self, principal: &Principal, name: &str) -> Option<Value> {
        self.entity(principal, |e| Ok(e.policies.get(name).cloned()))
            .unwrap()
    }

    fn key_status(&self, user: &str, key: &str) -> KeyStatus {
        self.users.lock().unwrap()[user]
            .keys
            .iter()
            .find(|k| k.access_key_id == key)
            .unwrap()
            .status
    }

    fn writes(&self) -> Vec<String> {
        self.writes.lock().unwrap().clone()
    }

    fn reads(&self) -> Vec<String> {
        self.reads.lock().unwrap().clone()
    }
}

#[async_trait]
impl Iam for FakeIam {
    async fn role_path(&self, role: &str) -> Result<String, TaskError> {
        self.reads.lock().unwrap().push(format!("get-role {role}"));
        self.entity(&Principal::Role(role.into()), |e| Ok(e.path.clone()))
    }

    async fn access_keys(&self, user: &str) -> Result<Vec<AccessKey>, TaskError> {
        self.reads.lock().unwrap().push(format!("keys {user}"));
        self.entity(&Principal::User(user.into()), |e| Ok(e.keys.clone()))
    }

    async fn deactivate_key(&self, user: &str, key: &str) -> Result<(), TaskError> {
        self.writes
            .lock()
            .unwrap()
            .push(format!("deactivate {user} {key}"));
        let ignore = self.ignore_deactivation;
        self.entity(&Principal::User(user.into()), |e| {
            let k = e
                .keys
                .iter_mut()
                .find(|k| k.access_key_id == key)
                .ok_or_else(|| not_found(key))?;
            if !ignore {
                k.status = KeyStatus::Inactive;
            }
            Ok(())
        })
    }

    async fn inline_policy(
        &self,
        principal: &Principal,
        name: &str,
    ) -> Result<Option<Value>, TaskError> {
        self.reads
            .lock()
            .unwrap()
            .push(format!("policy {} {name}", principal.label()));
        {
            let mut n = self.invisible_reads.lock().unwrap();
            if *n > 0 {
                *n -= 1;
                return Ok(None);
            }
        }
        self.entity(principal, |e| Ok(e.policies.get(name).cloned()))
    }

    async fn attached_user_policies(&self, user: &str) -> Result<Vec<String>, TaskError> {
        self.reads.lock().unwrap().push(format!("attached {user}"));
        self.entity(&Principal::User(user.into()), |e| Ok(e.attached.clone()))
    }

    async fn attach_user_policy(&self, user: &str, arn: &str) -> Result<(), TaskError> {
        self.writes
            .lock()
            .unwrap()
            .push(format!("attach {user} {arn}"));
        if self.managed_quota_full {
            return Err(TaskError::new(
                names::REMEDIATION_FAILED,
                "LimitExceeded: Cannot exceed quota for PoliciesPerUser: 10",
            )
            .with_aws_code("LimitExceeded"));
        }
        self.entity(&Principal::User(user.into()), |e| {
            e.attached.push(arn.into());
            Ok(())
        })
    }

    async fn put_inline_policy(
        &self,
        principal: &Principal,
        name: &str,
        document: &str,
    ) -> Result<(), TaskError> {
        self.writes
            .lock()
            .unwrap()
            .push(format!("put-policy {} {name}", principal.label()));
        let doc: Value = serde_json::from_str(document).expect("the task puts JSON");
        if self.inline_quota_full {
            return Err(TaskError::new(
                names::REMEDIATION_FAILED,
                "LimitExceeded: Maximum policy size of 2048 bytes exceeded for user",
            )
            .with_aws_code("LimitExceeded"));
        }
        let drop = self.drop_policies;
        self.entity(principal, |e| {
            if !drop {
                e.policies.insert(name.into(), doc);
            }
            Ok(())
        })
    }
}

const ACCOUNT: &str = "222222222222";
const AKIA: &str = "AKIAIOSFODNN7EXAMPLE";
const ASIA: &str = "ASIAIOSFODNN7EXAMPLE";

fn event(key: &str, user_type: &str, user: &str, severity: f64) -> Value {
    json!({
        "version": "0",
        "id": "evt-1",
        "detail-type": "GuardDuty Finding",
        "source": "aws.guardduty",
        "account": ACCOUNT,
        "region": "eu-west-1",
        "detail": {
            "accountId": ACCOUNT,
            "region": "eu-west-1",
            "partition": "aws",
            "id": "f29cf54659174c928155d527a4f2eb2b",
            "type": "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
            "severity": severity,
            "resource": {
                "resourceType": "AccessKey",
                "accessKeyDetails": {
                    "accessKeyId": key,
                    "principalId": "AIDACKCEVSQ6C2EXAMPLE",
                    "userType": user_type,
                    "userName": user
                }
            },
            "service": {"count": 1, "archived": false}
        }
    })
}

fn input_from_event(event: &Value) -> TaskInput {
    let finding = Finding::from_event(event).expect("finding");
    let decision = Policy::default().decide(&finding);
    TaskInput {
        finding,
        decision,
        execution: Some("arn:aws:states:eu-west-1:111111111111:execution:respond:abc".into()),
        results: None,
        approval_timeout_seconds: None,
        execution_start_time: None,
    }
}

fn input(key: &str, user_type: &str, user: &str) -> TaskInput {
    input_from_event(&event(key, user_type, user, 8.0))
}

fn settings() -> Settings {
    Settings {
        backoff: Backoff::NONE,
        ..Settings::new(&Policy::default(), "SOAR-RemediationRole")
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 10, 20, 30).unwrap()
}

fn action<'a>(report: &'a TaskReport, name: &str) -> &'a ActionRecord {
    report
        .actions
        .iter()
        .find(|a| a.action == name)
        .unwrap_or_else(|| panic!("no action {name} in {report:?}"))
}

const DENY_ALL_ARN: &str = "arn:aws:iam::aws:policy/AWSDenyAll";

#[tokio::test]
async fn akia_deactivates_the_key_attaches_aws_deny_all_and_verifies() {
    let iam = FakeIam::default().with_user(
        "ci-deployer",
        &[
            (AKIA, KeyStatus::Active),
            ("AKIAOTHERKEY000000000", KeyStatus::Active),
        ],
    );
    let report = revoke(
        &input(AKIA, "IAMUser", "ci-deployer"),
        &iam,
        &settings(),
        now(),
    )
    .await
    .expect("report");
    assert_eq!(iam.key_status("ci-deployer", AKIA), KeyStatus::Inactive);
    assert_eq!(
        iam.key_status("ci-deployer", "AKIAOTHERKEY000000000"),
        KeyStatus::Active,
        "only the named key is deactivated"
    );
    // The key first, then the deny: a key left active while the deny is attached would mint
    // new sessions meanwhile.
    assert_eq!(
        iam.writes(),
        vec![
            format!("deactivate ci-deployer {AKIA}"),
            format!("attach ci-deployer {DENY_ALL_ARN}")
        ]
    );
    let user = Principal::User("ci-deployer".into());
    assert_eq!(
        iam.policy(&user, DENY_ALL_POLICY),
        None,
        "no inline policy needed"
    );
    let key = action(&report, "deactivate-access-key");
    assert_eq!(key.outcome, Outcome::Changed);
    assert_eq!(key.target, format!("user/ci-deployer/{AKIA}"));
    assert_eq!(
        action(&report, "attach-deny-policy").outcome,
        Outcome::Changed
    );
    assert_eq!(report.evidence["deny"], "AWSDenyAll");
    assert_eq!(report.evidence["principal"], "user/ci-deployer");
    assert_eq!(report.evidence["keyStatusBefore"], "Active");
    // Both were read back after the writes.
    let reads = iam.reads();
    assert_eq!(
        reads.iter().filter(|r| *r == "keys ci-deployer").count(),
        2,
        "{reads:?}"
    );
    assert_eq!(
        reads
            .iter()
            .filter(|r| *r == "attached ci-deployer")
            .count(),
        2,
        "{reads:?}"
    );

    // Again (a re-delivery, or another finding on the same user): nothing more.
    let before = iam.writes().len();
    let other = input_from_event(&{
        let mut e = event(AKIA, "IAMUser", "ci-deployer", 8.0);
        e["detail"]["id"] = json!("another-finding-on-the-same-user");
        e
    });
    let report = revoke(&other, &iam, &settings(), now())
        .await
        .expect("again");
    assert_eq!(iam.writes().len(), before);
    assert!(
        report
            .actions
            .iter()
            .all(|a| a.outcome == Outcome::Unchanged),
        "{report:?}"
    );
}

#[tokio::test]
async fn a_user_at_its_managed_policy_quota_gets_the_inline_deny() {
    let iam = FakeIam {
        managed_quota_full: true,
        ..FakeIam::default()
    }
    .with_user("ci-deployer", &[(AKIA, KeyStatus::Active)]);
    let report = revoke(
        &input(AKIA, "IAMUser", "ci-deployer"),
        &iam,
        &settings(),
        now(),
    )
    .await
    .expect("contained");
    let user = Principal::User("ci-deployer".into());
    let doc = iam.policy(&user, DENY_ALL_POLICY).expect("inline deny");
    assert_eq!(doc, denies::deny_all());
    assert!(denies::denies_everything(&doc));
    assert_eq!(report.evidence["deny"], DENY_ALL_POLICY);
    assert!(action(&report, "attach-deny-policy")
        .detail
        .contains("LimitExceeded"));
}

#[tokio::test]
async fn a_key_deactivated_without_any_deny_fails_loudly() {
    let iam = FakeIam {
        managed_quota_full: true,
        inline_quota_full: true,
        ..FakeIam::default()
    }
    .with_user("ci-deployer", &[(AKIA, KeyStatus::Active)]);
    let e = revoke(
        &input(AKIA, "IAMUser", "ci-deployer"),
        &iam,
        &settings(),
        now(),
    )
    .await
    .expect_err("not contained");
    assert_eq!(e.name, names::REMEDIATION_INCOMPLETE);
    assert!(
        e.message.contains("is Inactive") && e.message.contains("sessions already minted"),
        "{}",
        e.message
    );
    assert_eq!(
        iam.key_status("ci-deployer", AKIA),
        KeyStatus::Inactive,
        "the key still went first"
    );
}

#[tokio::test]
async fn a_role_session_denies_sessions_issued_before_now_in_one_policy_per_role() {
    let iam = FakeIam::default().with_role("web-app-role", "/");
    let report = revoke(
        &input(ASIA, "AssumedRole", "web-app-role"),
        &iam,
        &settings(),
        now(),
    )
    .await
    .expect("report");
    let role = Principal::Role("web-app-role".into());
    let doc = iam.policy(&role, REVOKE_SESSIONS_POLICY).expect("deny");
    assert_eq!(doc, denies::revoke_sessions("2024-05-01T10:20:30Z"));
    assert_eq!(
        report.evidence["tokenIssueTimeCutoff"],
        "2024-05-01T10:20:30Z"
    );
    assert_eq!(report.evidence["policyName"], REVOKE_SESSIONS_POLICY);

    // A later finding moves the cutoff on, in the same policy.
    let later = now() + chrono::Duration::hours(1);
    revoke(
        &input(ASIA, "AssumedRole", "web-app-role"),
        &iam,
        &settings(),
        later,
    )
    .await
    .expect("later");
    assert_eq!(
        denies::sessions_cutoff(&iam.policy(&role, REVOKE_SESSIONS_POLICY).unwrap()).as_deref(),
        Some("2024-05-01T11:20:30Z")
    );
    // An earlier cutoff never replaces a later one.
    revoke(
        &input(ASIA, "AssumedRole", "web-app-role"),
        &iam,
        &settings(),
        now(),
    )
    .await
    .expect("earlier");
    assert_eq!(
        denies::sessions_cutoff(&iam.policy(&role, REVOKE_SESSIONS_POLICY).unwrap()).as_deref(),
        Some("2024-05-01T11:20:30Z")
    );
    let policies = iam.roles.lock().unwrap()["web-app-role"].policies.len();
    assert_eq!(policies, 1, "one policy per role, not one per finding");
}

fn instance_event(instance: &str) -> TaskInput {
    let mut e = event(ASIA, "AssumedRole", "web-tier-role", 8.0);
    e["detail"]["type"] =
        json!("UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS");
    e["detail"]["resource"]["accessKeyDetails"]["principalId"] =
        json!(format!("AROAJQABLZS4A3QDU576Q:{instance}"));
    input_from_event(&e)
}

#[tokio::test]
async fn stolen_instance_credentials_deny_only_that_instances_sessions() {
    let iam = FakeIam::default().with_role("web-tier-role", "/");
    let report = revoke(
        &instance_event("i-0f1e2d3c4b5a69788"),
        &iam,
        &settings(),
        now(),
    )
    .await
    .expect("report");
    let role = Principal::Role("web-tier-role".into());
    assert_eq!(
        iam.policy(&role, REVOKE_SESSIONS_POLICY),
        None,
        "no role-wide revoke: the other instances keep working"
    );
    let doc = iam
        .policy(&role, DENY_INSTANCE_SESSIONS_POLICY)
        .expect("deny");
    assert_eq!(
        denies::instance_sessions(&doc),
        (
            vec!["AROAJQABLZS4A3QDU576Q:i-0f1e2d3c4b5a69788".to_string()],
            vec!["arn:aws:ec2:eu-west-1:222222222222:instance/i-0f1e2d3c4b5a69788".to_string()]
        )
    );
    assert_eq!(report.evidence["sourceInstance"], "i-0f1e2d3c4b5a69788");

    // A second instance of the same role joins the same policy.
    revoke(
        &instance_event("i-0aaaaaaaaaaaaaaaa"),
        &iam,
        &settings(),
        now(),
    )
    .await
    .expect("second");
    let (sessions, arns) =
        denies::instance_sessions(&iam.policy(&role, DENY_INSTANCE_SESSIONS_POLICY).unwrap());
    assert_eq!(sessions.len(), 2);
    assert_eq!(arns.len(), 2);
    // The principal id must be a role id and an instance id; anything else is a plain role
    // session.
    assert_eq!(
        instance_session(Some("AROAJQABLZS4A3QDU576Q:i-0f1e2d3c4b5a69788")).map(|s| s.1),
        Some("i-0f1e2d3c4b5a69788".into())
    );
    for not in [
        "AIDACKCEVSQ6C2EXAMPLE",
        "AROAJQABLZS4A3QDU576Q:alice",
        "AROAX:i-0f1e2d3c4b5a69788",
        "aroajqablzs4a3qdu576q:i-0f1e2d3c4b5a69788",
    ] {
        assert_eq!(instance_session(Some(not)), None, "{not}");
    }
}

#[tokio::test]
async fn a_user_session_gets_the_time_conditioned_deny_and_a_key_review() {
    let iam = FakeIam::default().with_user("alice", &[(AKIA, KeyStatus::Active)]);
    let report = revoke(&input(ASIA, "IAMUser", "alice"), &iam, &settings(), now())
        .await
        .expect("report");
    let user = Principal::User("alice".into());
    assert!(iam.policy(&user, REVOKE_SESSIONS_POLICY).is_some());
    assert_eq!(
        iam.key_status("alice", AKIA),
        KeyStatus::Active,
        "no key guessed"
    );
    assert_eq!(
        action(&report, "review-long-term-keys").outcome,
        Outcome::Skipped
    );
}

#[tokio::test]
async fn no_change_cases_skip_with_a_reason() {
    let cases: Vec<(&str, TaskInput, FakeIam, &str)> = vec![
        (
            "root",
            input(AKIA, "Root", "root"),
            FakeIam::default(),
            "root credentials",
        ),
        (
            "unknown key shape",
            input(
                "GeneratedFindingAccessKeyId",
                "IAMUser",
                "GeneratedFindingUserName",
            ),
            FakeIam::default(),
            "not a credential this task recognises",
        ),
        (
            "federated user",
            input(ASIA, "FederatedUser", "bob"),
            FakeIam::default(),
            "not a credential this task recognises",
        ),
        (
            "service-linked role",
            input(ASIA, "AssumedRole", "AWSServiceRoleForECS"),
            FakeIam::default().with_role(
                "AWSServiceRoleForECS",
                "/aws-service-role/ecs.amazonaws.com/",
            ),
            "service-linked",
        ),
        (
            "identity center role",
            input(ASIA, "AssumedRole", "AWSReservedSSO_Admin_0123"),
            FakeIam::default().with_role(
                "AWSReservedSSO_Admin_0123",
                "/aws-reserved/sso.amazonaws.com/",
            ),
            "IAM Identity Center, disable the user or remove the account assignment",
        ),
        (
            "remediation role",
            input(ASIA, "AssumedRole", "SOAR-RemediationRole"),
            FakeIam::default().with_role("SOAR-RemediationRole", "/"),
            "remediation role",
        ),
        (
            "invalid user name",
            input(AKIA, "IAMUser", "not a name"),
            FakeIam::default(),
            "no valid IAM user",
        ),
    ];
    for (case, input, iam, reason) in cases {
        let report = revoke(&input, &iam, &settings(), now())
            .await
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(report.actions.len(), 1, "{case}: {report:?}");
        let a = &report.actions[0];
        assert_eq!(a.outcome, Outcome::Skipped, "{case}");
        assert!(a.detail.contains(reason), "{case}: {}", a.detail);
        assert!(a.detail.contains("nothing was changed"), "{case}");
        assert!(iam.writes().is_empty(), "{case}: {:?}", iam.writes());
    }
}

#[tokio::test]
async fn tags_decide_nothing_here() {
    // Exemption is check-exemption's decision, from sources the attacker cannot write; this
    // task reads no tags at all (the fake has none to offer).
    let iam = FakeIam::default().with_user("ci-deployer", &[(AKIA, KeyStatus::Active)]);
    revoke(
        &input(AKIA, "IAMUser", "ci-deployer"),
        &iam,
        &settings(),
        now(),
    )
    .await
    .expect("report");
    assert!(iam.reads().iter().all(|r| !r.starts_with("tags")));
}

#[tokio::test]
async fn a_non_iam_resource_is_skipped() {
    let mut input = input(AKIA, "IAMUser", "ci-deployer");
    input.finding.resource = Resource::Other {
        resource_type: "S3Bucket".into(),
    };
    let report = revoke(&input, &FakeIam::default(), &settings(), now())
        .await
        .expect("report");
    assert_eq!(report.actions[0].outcome, Outcome::Skipped);
    assert_eq!(report.actions[0].target, "S3Bucket");
}

#[tokio::test]
async fn dry_run_changes_nothing_and_says_what_would() {
    for (input, iam) in [
        (
            input(AKIA, "IAMUser", "ci-deployer"),
            FakeIam::default().with_user("ci-deployer", &[(AKIA, KeyStatus::Active)]),
        ),
        (
            input(ASIA, "AssumedRole", "web-app-role"),
            FakeIam::default().with_role("web-app-role", "/"),
        ),
        (
            instance_event("i-0f1e2d3c4b5a69788"),
            FakeIam::default().with_role("web-tier-role", "/"),
        ),
    ] {
        let mut input = input;
        input.decision.dry_run = true;
        let report = revoke(&input, &iam, &settings(), now()).await.expect("dry");
        assert!(report.dry_run);
        assert!(iam.writes().is_empty(), "{:?}", iam.writes());
        assert!(
            report
                .actions
                .iter()
                .any(|a| a.outcome == Outcome::WouldChange),
            "{report:?}"
        );
    }
}

#[tokio::test]
async fn missing_user_role_or_key_is_target_not_found() {
    let e = revoke(
        &input(AKIA, "IAMUser", "ghost"),
        &FakeIam::default(),
        &settings(),
        now(),
    )
    .await
    .expect_err("missing user");
    assert_eq!(e.name, names::REMEDIATION_TARGET_NOT_FOUND);
    let e = revoke(
        &input(ASIA, "AssumedRole", "ghost"),
        &FakeIam::default(),
        &settings(),
        now(),
    )
    .await
    .expect_err("missing role");
    assert_eq!(e.name, names::REMEDIATION_TARGET_NOT_FOUND);
    let iam = FakeIam::default().with_user(
        "ci-deployer",
        &[("AKIAOTHERKEY000000000", KeyStatus::Active)],
    );
    let e = revoke(
        &input(AKIA, "IAMUser", "ci-deployer"),
        &iam,
        &settings(),
        now(),
    )
    .await
    .expect_err("missing key");
    assert_eq!(e.name, names::REMEDIATION_TARGET_NOT_FOUND);
    assert!(iam.writes().is_empty());
}

#[tokio::test]
async fn changes_that_do_not_read_back_are_verification_failures_and_a_slow_read_is_waited_for() {
    let iam = FakeIam {
        ignore_deactivation: true,
        ..FakeIam::default()
    }
    .with_user("ci-deployer", &[(AKIA, KeyStatus::Active)]);
    let e = revoke(
        &input(AKIA, "IAMUser", "ci-deployer"),
        &iam,
        &settings(),
        now(),
    )
    .await
    .expect_err("key still active");
    assert_eq!(e.name, names::REMEDIATION_VERIFICATION_FAILED);

    let iam = FakeIam {
        drop_policies: true,
        ..FakeIam::default()
    }
    .with_role("web-app-role", "/");
    let e = revoke(
        &input(ASIA, "AssumedRole", "web-app-role"),
        &iam,
        &settings(),
        now(),
    )
    .await
    .expect_err("policy missing");
    assert_eq!(e.name, names::REMEDIATION_VERIFICATION_FAILED);

    // IAM shows the policy only on the third read: still verified.
    let iam = FakeIam::default().with_role("web-app-role", "/");
    *iam.invisible_reads.lock().unwrap() = 0;
    let input = input(ASIA, "AssumedRole", "web-app-role");
    // The first read (before the put) sees nothing anyway; make the two reads after it miss.
    let run = async {
        *iam.invisible_reads.lock().unwrap() = 3;
        revoke(&input, &iam, &settings(), now()).await
    };
    run.await.expect("verified after waiting");
    assert!(
        iam.reads()
            .iter()
            .filter(|r| r.starts_with("policy role/web-app-role"))
            .count()
            >= 4
    );
}

#[test]
fn name_and_key_validation() {
    assert!(is_iam_name("ci-deployer"));
    assert!(is_iam_name("svc+a=b,c.d@e_f"));
    assert!(!is_iam_name(""));
    assert!(!is_iam_name("a/b"));
    assert!(!is_iam_name(&"a".repeat(65)));
    assert!(is_key_id(AKIA));
    assert!(is_key_id(ASIA));
    assert!(!is_key_id("AKIA"));
    assert!(!is_key_id("GeneratedFindingAccessKeyId"));
    assert!(!is_key_id("AKIAiosfodnn7example"));
}

fn fixture(name: &str) -> TaskInput {
    let path = format!(
        "{}/../../fixtures/events/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    input_from_event(&serde_json::from_str(&text).expect("json"))
}

/// The shared IAM fixtures (`fixtures/events/iam-*.json`) through the task.
#[tokio::test]
async fn shared_fixtures() {
    let input = fixture("iam-high-akia-user.json");
    let key = "AKIA4EXAMPLEBUILDBOT";
    let iam = FakeIam::default().with_user("build-bot", &[(key, KeyStatus::Active)]);
    revoke(&input, &iam, &settings(), now())
        .await
        .expect("report");
    assert_eq!(iam.key_status("build-bot", key), KeyStatus::Inactive);

    let input = fixture("iam-high-asia-role.json");
    let iam = FakeIam::default().with_role("web-app-role", "/");
    let report = revoke(&input, &iam, &settings(), now())
        .await
        .expect("report");
    assert_eq!(report.evidence["principal"], "role/web-app-role");

    let input = fixture("iam-root.json");
    let iam = FakeIam::default();
    let report = revoke(&input, &iam, &settings(), now())
        .await
        .expect("report");
    assert_eq!(report.actions[0].outcome, Outcome::Skipped);
    assert!(iam.reads().is_empty() && iam.writes().is_empty());
}

/// A contained Lambda function whose decision names its execution role (policy
/// lambda.revoke_role_sessions): every session of the role issued before now is denied, unless
/// the policy exempts the role; without the policy, nothing is done.
#[tokio::test]
async fn a_contained_functions_execution_role_loses_its_older_sessions_when_the_policy_says_so() {
    let on = Policy::from_json(r#"{"lambda": {"revoke_role_sessions": true}}"#).expect("policy");
    let event =
        serde_json::from_str::<Value>(include_str!("../../../fixtures/events/lambda-high-c2.json"))
            .expect("json");
    let finding = Finding::from_event(&event).expect("finding");
    let with = |policy: &Policy| TaskInput {
        decision: policy.decide(&finding),
        ..input_from_event(&event)
    };
    let input = with(&on);
    assert_eq!(
        input.decision.revoke_role.as_deref(),
        Some("thumbnailer-role")
    );
    let iam = FakeIam::default().with_role("thumbnailer-role", "/");
    revoke(
        &input,
        &iam,
        &Settings::new(&on, "SOAR-RemediationRole"),
        now(),
    )
    .await
    .expect("revoked");
    let role = Principal::Role("thumbnailer-role".into());
    assert_eq!(
        iam.policy(&role, REVOKE_SESSIONS_POLICY),
        Some(denies::revoke_sessions("2024-05-01T10:20:30Z"))
    );

    // The role is exempt by policy: left alone, and said so.
    let exempt = Policy::from_json(
        r#"{"lambda": {"revoke_role_sessions": true}, "exemptions": {"roles": [{"id": "thumbnailer-role"}]}}"#,
    )
    .expect("policy");
    let iam = FakeIam::default().with_role("thumbnailer-role", "/");
    let r = revoke(
        &with(&exempt),
        &iam,
        &Settings::new(&exempt, "SOAR-RemediationRole"),
        now(),
    )
    .await
    .expect("skipped");
    assert_eq!(r.actions[0].outcome, Outcome::Skipped);
    assert!(
        r.actions[0].detail.contains("exempt"),
        "{}",
        r.actions[0].detail
    );
    assert_eq!(iam.policy(&role, REVOKE_SESSIONS_POLICY), None);

    // The default policy: the decision names no role, and revoke does nothing.
    let off = with(&Policy::default());
    assert_eq!(off.decision.revoke_role, None);
    let iam = FakeIam::default().with_role("thumbnailer-role", "/");
    let r = revoke(&off, &iam, &settings(), now())
        .await
        .expect("skipped");
    assert_eq!(r.actions[0].outcome, Outcome::Skipped);
    assert_eq!(iam.policy(&role, REVOKE_SESSIONS_POLICY), None);
}

/// An ECS task's role, put in the decision by the state machine from what `contain-task` read:
/// denied only when the decision carries the analyst's approval flag (a MEDIUM finding's plan),
/// never for a task contained at once, whatever role the decision names.
#[tokio::test]
async fn a_tasks_role_loses_its_older_sessions_only_with_approval() {
    let event = serde_json::from_str::<Value>(include_str!(
        "../../../fixtures/events/ecs-task-reverse-shell.json"
    ))
    .expect("json");
    let role = Principal::Role("checkout-api-task".into());
    let high = {
        let mut input = input_from_event(&event);
        input.decision.revoke_role = Some("checkout-api-task".into());
        input
    };
    assert!(!high.decision.revoke_task_role);
    let iam = FakeIam::default().with_role("checkout-api-task", "/");
    let r = revoke(&high, &iam, &settings(), now())
        .await
        .expect("skipped");
    assert_eq!(r.actions[0].outcome, Outcome::Skipped);
    assert!(
        r.actions[0].detail.contains("approved"),
        "{}",
        r.actions[0].detail
    );
    assert_eq!(iam.policy(&role, REVOKE_SESSIONS_POLICY), None);

    let approved = TaskInput {
        decision: responder_core::Decision {
            revoke_task_role: true,
            ..high.decision.clone()
        },
        ..high.clone()
    };
    revoke(&approved, &iam, &settings(), now())
        .await
        .expect("revoked");
    assert_eq!(
        iam.policy(&role, REVOKE_SESSIONS_POLICY),
        Some(denies::revoke_sessions("2024-05-01T10:20:30Z"))
    );

    // A task role the policy exempts is left alone, approval or not.
    let exempt = Policy::from_json(r#"{"exemptions": {"roles": [{"id": "checkout-api-task"}]}}"#)
        .expect("policy");
    let iam = FakeIam::default().with_role("checkout-api-task", "/");
    let r = revoke(
        &approved,
        &iam,
        &Settings::new(&exempt, "SOAR-RemediationRole"),
        now(),
    )
    .await
    .expect("skipped");
    assert_eq!(r.actions[0].outcome, Outcome::Skipped);
    assert!(
        r.actions[0].detail.contains("the task's role, is exempt"),
        "{}",
        r.actions[0].detail
    );
    assert_eq!(iam.policy(&role, REVOKE_SESSIONS_POLICY), None);
}
