//! Unit tests of the revoke logic against an in-memory IAM.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::TimeZone;
use responder_core::finding::Finding;

use super::*;

#[derive(Debug, Default, Clone)]
struct Entity {
    path: String,
    tags: Vec<(String, String)>,
    keys: Vec<AccessKey>,
    policies: BTreeMap<String, Value>,
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
}

fn not_found(what: &str) -> TaskError {
    TaskError::new(
        names::REMEDIATION_TARGET_NOT_FOUND,
        format!("NoSuchEntity: {what}"),
    )
}

impl FakeIam {
    fn with_user(self, name: &str, keys: &[(&str, KeyStatus)], tags: &[(&str, &str)]) -> Self {
        self.users.lock().unwrap().insert(
            name.into(),
            Entity {
                path: "/".into(),
                tags: tags
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                keys: keys
                    .iter()
                    .map(|(id, status)| AccessKey {
                        access_key_id: id.to_string(),
                        status: *status,
                    })
                    .collect(),
                policies: BTreeMap::new(),
            },
        );
        self
    }

    fn with_role(self, name: &str, path: &str, tags: &[(&str, &str)]) -> Self {
        self.roles.lock().unwrap().insert(
            name.into(),
            Entity {
                path: path.into(),
                tags: tags
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                ..Entity::default()
            },
        );
        self
    }

    fn with_policy(self, principal: &Principal, name: &str, doc: Value) -> Self {
        self.entity(principal, |e| {
            e.policies.insert(name.into(), doc);
            Ok(())
        })
        .unwrap();
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
    async fn tags(&self, principal: &Principal) -> Result<Vec<(String, String)>, TaskError> {
        self.reads
            .lock()
            .unwrap()
            .push(format!("tags {}", principal.label()));
        self.entity(principal, |e| Ok(e.tags.clone()))
    }

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
        self.entity(principal, |e| Ok(e.policies.get(name).cloned()))
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
    }
}

fn input(key: &str, user_type: &str, user: &str) -> TaskInput {
    input_from_event(&event(key, user_type, user, 8.0))
}

fn settings() -> Settings {
    Settings::new(&Policy::default(), "SOAR-RemediationRole")
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

#[tokio::test]
async fn akia_deactivates_the_key_attaches_an_unconditional_deny_and_verifies() {
    let iam = FakeIam::default().with_user(
        "ci-deployer",
        &[
            (AKIA, KeyStatus::Active),
            ("AKIAOTHERKEY000000000", KeyStatus::Active),
        ],
        &[],
    );
    let input = input(AKIA, "IAMUser", "ci-deployer");
    let report = revoke(&input, &iam, &settings(), now())
        .await
        .expect("report");
    let name = policy_name(&input.decision.idempotency_key);

    assert_eq!(report.task, "revoke");
    assert!(!report.dry_run);
    assert_eq!(iam.key_status("ci-deployer", AKIA), KeyStatus::Inactive);
    assert_eq!(
        iam.key_status("ci-deployer", "AKIAOTHERKEY000000000"),
        KeyStatus::Active,
        "only the named key is deactivated"
    );
    let user = Principal::User("ci-deployer".into());
    let doc = iam.policy(&user, &name).expect("policy attached");
    assert_eq!(doc, documents::deny_all_unconditionally());
    assert!(denies_everything(&doc, None));
    assert!(!doc.to_string().contains("Condition"));

    let key = action(&report, "deactivate-access-key");
    assert_eq!(key.outcome, Outcome::Changed);
    assert_eq!(key.target, format!("user/ci-deployer/{AKIA}"));
    assert_eq!(key.before.as_ref().unwrap()["status"], "Active");
    assert_eq!(key.after.as_ref().unwrap()["status"], "Inactive");
    let pol = action(&report, "attach-deny-policy");
    assert_eq!(pol.outcome, Outcome::Changed);
    assert_eq!(pol.before.as_ref().unwrap()["document"], Value::Null);
    assert_eq!(pol.after.as_ref().unwrap()["document"], doc);
    assert_eq!(pol.after.as_ref().unwrap()["policyName"], json!(name));

    assert_eq!(report.evidence["policyName"], json!(name));
    assert_eq!(report.evidence["principal"], "user/ci-deployer");
    assert_eq!(report.evidence["accessKeyId"], AKIA);
    assert_eq!(report.evidence["keyStatusBefore"], "Active");
    // Verification read both back after the writes.
    let reads = iam.reads();
    assert_eq!(
        reads.iter().filter(|r| *r == "keys ci-deployer").count(),
        2,
        "{reads:?}"
    );
    assert_eq!(
        iam.writes(),
        vec![
            format!("deactivate ci-deployer {AKIA}"),
            format!("put-policy user/ci-deployer {name}")
        ]
    );
}

#[tokio::test]
async fn akia_rerun_changes_nothing_and_reports_unchanged() {
    let input = input(AKIA, "IAMUser", "ci-deployer");
    let name = policy_name(&input.decision.idempotency_key);
    let user = Principal::User("ci-deployer".into());
    let iam = FakeIam::default()
        .with_user("ci-deployer", &[(AKIA, KeyStatus::Inactive)], &[])
        .with_policy(&user, &name, documents::deny_all_unconditionally());
    let report = revoke(&input, &iam, &settings(), now())
        .await
        .expect("report");
    assert!(iam.writes().is_empty(), "{:?}", iam.writes());
    assert_eq!(
        action(&report, "deactivate-access-key").outcome,
        Outcome::Unchanged
    );
    assert_eq!(
        action(&report, "attach-deny-policy").outcome,
        Outcome::Unchanged
    );
    assert_eq!(report.evidence["keyStatusBefore"], "Inactive");
    assert!(!report.changed());
}

#[tokio::test]
async fn akia_replaces_a_different_policy_of_the_same_name() {
    let input = input(AKIA, "IAMUser", "ci-deployer");
    let name = policy_name(&input.decision.idempotency_key);
    let user = Principal::User("ci-deployer".into());
    let stale = json!({"Version": "2012-10-17", "Statement": []});
    let iam = FakeIam::default()
        .with_user("ci-deployer", &[(AKIA, KeyStatus::Active)], &[])
        .with_policy(&user, &name, stale.clone());
    let report = revoke(&input, &iam, &settings(), now())
        .await
        .expect("report");
    let pol = action(&report, "attach-deny-policy");
    assert_eq!(pol.outcome, Outcome::Changed);
    assert!(pol.detail.contains("replaced"), "{}", pol.detail);
    assert_eq!(pol.before.as_ref().unwrap()["document"], stale);
    assert_eq!(
        iam.policy(&user, &name),
        Some(documents::deny_all_unconditionally())
    );
    assert_eq!(iam.users.lock().unwrap()["ci-deployer"].policies.len(), 1);
}

#[tokio::test]
async fn asia_role_session_revokes_sessions_issued_before_now() {
    let iam = FakeIam::default().with_role("web-tier-role", "/", &[]);
    let input = input(ASIA, "AssumedRole", "web-tier-role");
    let report = revoke(&input, &iam, &settings(), now())
        .await
        .expect("report");
    let name = policy_name(&input.decision.idempotency_key);
    let role = Principal::Role("web-tier-role".into());
    let doc = iam.policy(&role, &name).expect("role policy");
    assert_eq!(
        doc["Statement"][0]["Condition"],
        json!({"DateLessThan": {"aws:TokenIssueTime": "2024-05-01T10:20:30Z"}})
    );
    assert!(denies_everything(&doc, Some("2024-05-01T10:20:30Z")));
    assert_eq!(
        action(&report, "attach-deny-policy").outcome,
        Outcome::Changed
    );
    assert_eq!(report.evidence["principal"], "role/web-tier-role");
    assert_eq!(report.evidence["accessKeyId"], ASIA);
    assert_eq!(
        report.evidence["tokenIssueTimeCutoff"],
        "2024-05-01T10:20:30Z"
    );
    assert!(
        iam.writes().iter().all(|w| !w.starts_with("deactivate")),
        "no key is deactivated for a role session"
    );
}

#[tokio::test]
async fn asia_role_rerun_replaces_the_policy_with_a_later_cutoff() {
    let input = input(ASIA, "AssumedRole", "web-tier-role");
    let name = policy_name(&input.decision.idempotency_key);
    let role = Principal::Role("web-tier-role".into());
    let earlier = documents::deny_sessions_issued_before("2024-05-01T09:00:00Z");
    let iam = FakeIam::default()
        .with_role("web-tier-role", "/", &[])
        .with_policy(&role, &name, earlier.clone());
    let report = revoke(&input, &iam, &settings(), now())
        .await
        .expect("report");
    let pol = action(&report, "attach-deny-policy");
    assert_eq!(pol.outcome, Outcome::Changed);
    assert_eq!(pol.before.as_ref().unwrap()["document"], earlier);
    assert!(denies_everything(
        &iam.policy(&role, &name).unwrap(),
        Some("2024-05-01T10:20:30Z")
    ));
    assert_eq!(iam.roles.lock().unwrap()["web-tier-role"].policies.len(), 1);
}

#[tokio::test]
async fn asia_user_session_gets_a_time_conditioned_deny_and_a_key_review() {
    let iam = FakeIam::default().with_user(
        "alice",
        &[
            (AKIA, KeyStatus::Active),
            ("AKIAOTHERKEY000000000", KeyStatus::Inactive),
        ],
        &[],
    );
    let input = input(ASIA, "IAMUser", "alice");
    let report = revoke(&input, &iam, &settings(), now())
        .await
        .expect("report");
    let name = policy_name(&input.decision.idempotency_key);
    let user = Principal::User("alice".into());
    assert!(denies_everything(
        &iam.policy(&user, &name).unwrap(),
        Some("2024-05-01T10:20:30Z")
    ));
    assert_eq!(
        iam.key_status("alice", AKIA),
        KeyStatus::Active,
        "no key deactivated"
    );
    let review = action(&report, "review-long-term-keys");
    assert_eq!(review.outcome, Outcome::Skipped);
    assert!(review.detail.contains("review"), "{}", review.detail);
    assert_eq!(
        report.evidence["userAccessKeys"],
        json!([
            {"accessKeyId": AKIA, "status": "Active"},
            {"accessKeyId": "AKIAOTHERKEY000000000", "status": "Inactive"}
        ])
    );
    assert_eq!(iam.writes(), vec![format!("put-policy user/alice {name}")]);
}

/// Cases where nothing may change: the report has one Skipped action with the reason and no
/// write is made.
#[tokio::test]
async fn no_change_cases_skip_with_a_reason() {
    let exempt = [("AutoRemediation", "Disabled")];
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
                &[],
            ),
            "service-linked",
        ),
        (
            "identity center role",
            input(ASIA, "AssumedRole", "AWSReservedSSO_Admin_0123"),
            FakeIam::default().with_role(
                "AWSReservedSSO_Admin_0123",
                "/aws-reserved/sso.amazonaws.com/",
                &[],
            ),
            "reserved by AWS",
        ),
        (
            "remediation role",
            input(ASIA, "AssumedRole", "SOAR-RemediationRole"),
            FakeIam::default().with_role("SOAR-RemediationRole", "/", &[]),
            "remediation role",
        ),
        (
            "exempt user",
            input(AKIA, "IAMUser", "break-glass"),
            FakeIam::default().with_user("break-glass", &[(AKIA, KeyStatus::Active)], &exempt),
            "AutoRemediation=disabled",
        ),
        (
            "exempt user session",
            input(ASIA, "IAMUser", "break-glass"),
            FakeIam::default().with_user("break-glass", &[(AKIA, KeyStatus::Active)], &exempt),
            "exempt",
        ),
        (
            "exempt role",
            input(ASIA, "AssumedRole", "batch"),
            FakeIam::default().with_role("batch", "/", &exempt),
            "exempt",
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
        assert!(
            report.evidence["skippedReason"]
                .as_str()
                .unwrap()
                .contains(reason),
            "{case}"
        );
        assert!(!report.evidence.contains_key("policyName"), "{case}");
        assert!(iam.writes().is_empty(), "{case}: {:?}", iam.writes());
    }
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
async fn dry_run_reports_the_exact_policy_and_key_and_changes_nothing() {
    let mut key_input = input(AKIA, "IAMUser", "ci-deployer");
    key_input.decision.dry_run = true;
    let iam = FakeIam::default().with_user("ci-deployer", &[(AKIA, KeyStatus::Active)], &[]);
    let report = revoke(&key_input, &iam, &settings(), now())
        .await
        .expect("report");
    assert!(report.dry_run);
    assert!(iam.writes().is_empty());
    assert_eq!(iam.key_status("ci-deployer", AKIA), KeyStatus::Active);
    let key = action(&report, "deactivate-access-key");
    assert_eq!(key.outcome, Outcome::WouldChange);
    assert_eq!(key.after.as_ref().unwrap()["accessKeyId"], AKIA);
    assert_eq!(key.after.as_ref().unwrap()["status"], "Inactive");
    let pol = action(&report, "attach-deny-policy");
    assert_eq!(pol.outcome, Outcome::WouldChange);
    assert_eq!(
        pol.after.as_ref().unwrap()["document"],
        documents::deny_all_unconditionally()
    );

    // The task's own DRY_RUN forces a dry run too; for a role the document carries the cutoff.
    let role_input = input(ASIA, "AssumedRole", "web-tier-role");
    let iam = FakeIam::default().with_role("web-tier-role", "/", &[]);
    let forced = Settings {
        dry_run: true,
        ..settings()
    };
    let report = revoke(&role_input, &iam, &forced, now())
        .await
        .expect("report");
    assert!(report.dry_run);
    assert!(iam.writes().is_empty());
    let pol = action(&report, "attach-deny-policy");
    assert_eq!(pol.outcome, Outcome::WouldChange);
    assert_eq!(
        pol.after.as_ref().unwrap()["document"],
        documents::deny_sessions_issued_before("2024-05-01T10:20:30Z")
    );
}

#[tokio::test]
async fn missing_user_role_or_key_is_target_not_found() {
    let cases = [
        (
            "missing user",
            input(AKIA, "IAMUser", "gone"),
            FakeIam::default(),
        ),
        (
            "missing role",
            input(ASIA, "AssumedRole", "gone"),
            FakeIam::default(),
        ),
        (
            "key of another user",
            input(AKIA, "IAMUser", "ci-deployer"),
            FakeIam::default().with_user(
                "ci-deployer",
                &[("AKIAOTHERKEY000000000", KeyStatus::Active)],
                &[],
            ),
        ),
    ];
    for (case, input, iam) in cases {
        let err = revoke(&input, &iam, &settings(), now())
            .await
            .expect_err(case);
        assert_eq!(
            err.name,
            names::REMEDIATION_TARGET_NOT_FOUND,
            "{case}: {err}"
        );
        assert!(
            iam.writes().is_empty(),
            "{case}: nothing changed before the error"
        );
    }
}

#[tokio::test]
async fn verification_failures_are_named() {
    let key_input = input(AKIA, "IAMUser", "ci-deployer");
    let iam = FakeIam {
        ignore_deactivation: true,
        ..FakeIam::default()
    }
    .with_user("ci-deployer", &[(AKIA, KeyStatus::Active)], &[]);
    let err = revoke(&key_input, &iam, &settings(), now())
        .await
        .expect_err("key stays active");
    assert_eq!(err.name, names::REMEDIATION_VERIFICATION_FAILED);
    assert!(err.message.contains("Active"), "{}", err.message);

    let iam = FakeIam {
        drop_policies: true,
        ..FakeIam::default()
    }
    .with_role("web-tier-role", "/", &[]);
    let err = revoke(
        &input(ASIA, "AssumedRole", "web-tier-role"),
        &iam,
        &settings(),
        now(),
    )
    .await
    .expect_err("policy missing");
    assert_eq!(err.name, names::REMEDIATION_VERIFICATION_FAILED);
    assert!(err.message.contains("missing"), "{}", err.message);
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

/// The shared IAM fixtures (`fixtures/events/iam-*.json`) through the task: the AKIA user is
/// contained (and skipped when tagged exempt), the role session revoked, root left alone.
#[tokio::test]
async fn shared_fixtures() {
    let input = fixture("iam-high-akia-user.json");
    let key = "AKIA4EXAMPLEBUILDBOT";
    let iam = FakeIam::default().with_user("build-bot", &[(key, KeyStatus::Active)], &[]);
    let report = revoke(&input, &iam, &settings(), now())
        .await
        .expect("report");
    assert_eq!(iam.key_status("build-bot", key), KeyStatus::Inactive);
    assert_eq!(
        action(&report, "attach-deny-policy").outcome,
        Outcome::Changed
    );

    let iam = FakeIam::default().with_user(
        "build-bot",
        &[(key, KeyStatus::Active)],
        &[("AutoRemediation", "disabled")],
    );
    let report = revoke(&input, &iam, &settings(), now())
        .await
        .expect("report");
    assert_eq!(report.actions[0].outcome, Outcome::Skipped);
    assert!(iam.writes().is_empty());

    let input = fixture("iam-high-asia-role.json");
    let iam = FakeIam::default().with_role("web-app-role", "/", &[]);
    let report = revoke(&input, &iam, &settings(), now())
        .await
        .expect("report");
    assert_eq!(report.evidence["principal"], "role/web-app-role");
    assert!(denies_everything(
        &iam.policy(
            &Principal::Role("web-app-role".into()),
            &policy_name(&input.decision.idempotency_key)
        )
        .unwrap(),
        Some("2024-05-01T10:20:30Z")
    ));

    let input = fixture("iam-root.json");
    let iam = FakeIam::default();
    let report = revoke(&input, &iam, &settings(), now())
        .await
        .expect("report");
    assert_eq!(report.actions[0].outcome, Outcome::Skipped);
    assert!(report.actions[0].detail.contains("root"));
    assert!(iam.reads().is_empty() && iam.writes().is_empty());
}
