use std::sync::Mutex;

use approval_link::{LinkError, Secret};
use serde_json::json;

use super::*;

const TOKEN: &str = "AQCEAAAAKgAAAAMAAAAAAAAAAbC5+secret-task-token/with+plus==";
const NOW: i64 = 1_714_564_800; // 2024-05-01T12:00:00Z

fn config() -> Config {
    Config {
        base_url: "https://abc.lambda-url.us-east-1.on.aws".into(),
        signer: Signer::new(Secret::new(vec![42u8; 32]).expect("secret")),
    }
}

fn event() -> Value {
    json!({
        "taskToken": TOKEN,
        "timeoutSeconds": 3600,
        "finding": {
            "id": "5ec8b2c1f2a5d6e7", "type": "Backdoor:EC2/C&CActivity.B!DNS",
            "severity": 5.0, "accountId": "123456789012", "deliveredByAccount": "123456789012",
            "region": "us-east-1", "partition": "aws", "count": 3, "sample": false,
            "archived": false, "title": "EC2 instance querying a C&C domain",
            "resource": {"kind": "instance", "instanceId": "i-0123456789abcdef0"}
        },
        "decision": {
            "tier": "MEDIUM", "route": "ec2", "disposition": "request-approval",
            "reasons": ["severity 5 is MEDIUM; containment needs an analyst's approval"],
            "dryRun": false, "idempotencyKey": "gd-00112233445566778899"
        },
        "execution": "arn:aws:states:us-east-1:111122223333:execution:remediate-finding:abc"
    })
}

#[derive(Default)]
struct FakePublisher {
    sent: Mutex<Vec<ApprovalMessage>>,
    fail: Option<TaskError>,
}

#[async_trait]
impl Publisher for FakePublisher {
    async fn publish(&self, message: &ApprovalMessage) -> Result<String, TaskError> {
        if let Some(e) = &self.fail {
            return Err(e.clone());
        }
        let mut sent = self.sent.lock().expect("lock");
        sent.push(message.clone());
        Ok(format!("msg-{}", sent.len()))
    }
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(NOW, 0).expect("time")
}

fn links(body: &str) -> Vec<String> {
    body.lines()
        .filter(|l| l.starts_with("https://"))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn publishes_one_message_with_two_verifying_links_that_expire_with_the_timeout() {
    let input = ApprovalInput::from_value(event()).expect("input");
    let publisher = FakePublisher::default();
    let out = request_approval(&input, &config(), &publisher, now())
        .await
        .expect("published");
    assert_eq!(
        out,
        ApprovalOutput {
            message_id: "msg-1".into(),
            expires_at: "2024-05-01T13:00:00Z".into()
        }
    );
    let sent = publisher.sent.lock().expect("lock");
    assert_eq!(sent.len(), 1);
    let links = links(&sent[0].body);
    assert_eq!(links.len(), 2, "{}", sent[0].body);
    let mut intents = Vec::new();
    for link in &links {
        let token = link
            .strip_prefix("https://abc.lambda-url.us-east-1.on.aws/approval?a=")
            .expect("link shape");
        let p = config().signer.verify(token, NOW).expect("verifies");
        assert_eq!(p.task_token.expose(), TOKEN);
        assert_eq!(p.expires_at, NOW + 3600);
        assert_eq!(p.finding.id, "5ec8b2c1f2a5d6e7");
        assert_eq!(p.finding.resource, "Instance i-0123456789abcdef0");
        assert_eq!(
            config().signer.verify(token, NOW + 3600).map(|_| ()),
            Err(LinkError::Expired)
        );
        intents.push(p.intent);
    }
    assert_eq!(intents, [Intent::Approve, Intent::Reject]);
    // The approve link comes first, under its label.
    let approve_at = sent[0].body.find("Approve:\n").expect("label");
    let reject_at = sent[0].body.find("Reject:\n").expect("label");
    assert!(approve_at < reject_at);
}

#[tokio::test]
async fn subject_body_and_attributes_describe_the_request() {
    let input = ApprovalInput::from_value(event()).expect("input");
    let publisher = FakePublisher::default();
    request_approval(&input, &config(), &publisher, now())
        .await
        .expect("published");
    let m = &publisher.sent.lock().expect("lock")[0];
    assert_eq!(
        m.subject,
        "[APPROVAL NEEDED] MEDIUM 5.0 123456789012 i-0123456789abcdef0: Backdoor:EC2/C&CActivity.B!DNS"
    );
    for needle in [
        "Severity:     5.0 (MEDIUM)",
        "Account:      123456789012",
        "Region:       us-east-1",
        "Resource:     Instance i-0123456789abcdef0",
        "Finding id:   5ec8b2c1f2a5d6e7",
        "Title:        EC2 instance querying a C&C domain",
        "isolate instance i-0123456789abcdef0",
        "snapshot its EBS volumes",
        "Decide before 2024-05-01 13:00:00 UTC (60 minutes from now)",
        "execution:remediate-finding:abc",
        "opening a link decides nothing",
    ] {
        assert!(m.body.contains(needle), "missing {needle:?} in\n{}", m.body);
    }
    assert!(!m.body.contains("DRY RUN"));
    // The raw task token only travels inside the signed links, never in clear.
    assert!(!m.body.contains(TOKEN));
    assert!(!m.subject.contains(TOKEN));
    let attrs: Vec<(&str, &str, &str)> = m
        .attributes
        .iter()
        .map(|a| (a.name, a.data_type, a.value.as_str()))
        .collect();
    assert_eq!(
        attrs,
        [
            ("severity", "Number", "5"),
            ("tier", "String", "MEDIUM"),
            ("route", "String", "ec2"),
            ("account", "String", "123456789012"),
            ("outcome", "String", "approval-requested"),
        ]
    );
}

#[test]
fn subjects_are_ascii_and_at_most_100_characters() {
    let mut e = event();
    e["finding"]["type"] = json!(format!("Recon:EC2/Ünïcode\n{}", "X".repeat(200)));
    let input = ApprovalInput::from_value(e).expect("input");
    let m = build_message(&input.document, "https://a", "https://b", now(), now());
    assert!(m.subject.len() <= 100, "{}", m.subject.len());
    assert!(m.subject.starts_with(
        "[APPROVAL NEEDED] MEDIUM 5.0 123456789012 i-0123456789abcdef0: Recon:EC2/?n?code?XXX"
    ));
    assert!(m.subject.ends_with("..."));
    assert!(m.subject.bytes().all(|b| b.is_ascii_graphic() || b == b' '));
}

#[test]
fn the_plan_follows_the_route_and_the_dry_run() {
    let mut e = event();
    e["finding"]["resource"] = json!({
        "kind": "accessKey", "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "userName": "alice",
        "userType": "IAMUser", "credentialKind": "LongTermUserKey"
    });
    e["decision"]["route"] = json!("iam");
    e["decision"]["dryRun"] = json!(true);
    let input = ApprovalInput::from_value(e).expect("input");
    let m = build_message(&input.document, "https://a", "https://b", now(), now());
    assert!(m
        .body
        .contains("deactivate access key AKIAIOSFODNN7EXAMPLE of IAM user alice"));
    assert!(m.body.contains("DRY RUN"));
    assert!(m
        .subject
        .starts_with("[APPROVAL NEEDED] MEDIUM 5.0 123456789012 alice/AKIAIOSFODNN7EXAMPLE: "));
    assert_eq!(m.attributes[2].value, "iam");
}

/// An Aurora member's approval says the whole cluster is cut, and what stays open.
#[test]
fn the_database_plan_names_the_cluster_when_the_groups_are_its() {
    let mut e = event();
    e["finding"]["resource"] = json!({
        "kind": "database", "dbInstanceIdentifier": "ledger-db-1",
        "dbClusterIdentifier": "ledger-cluster", "engine": "aurora-postgresql"
    });
    e["decision"]["route"] = json!("rds");
    let input = ApprovalInput::from_value(e).expect("input");
    let m = build_message(&input.document, "https://a", "https://b", now(), now());
    assert!(
        m.body.contains(
            "isolate Aurora DB cluster ledger-cluster of DB instance ledger-db-1: replace the cluster's VPC security groups"
        ),
        "{}",
        m.body
    );
    assert!(m.body.contains("every instance of the cluster is cut"));
    assert!(m.body.contains("take a snapshot of it as evidence"));
    assert!(m.body.contains("security groups do not cut them"));
    assert_eq!(m.attributes[2].value, "rds");
}

/// An ECS task's approval says it is cut off at the network ACLs and left running, and that
/// approving also denies the role every task of the service shares.
#[test]
fn the_task_plan_says_the_shared_role_is_revoked_on_approval() {
    let mut e = event();
    e["finding"]["resource"] = json!({
        "kind": "task",
        "taskArn": "arn:aws:ecs:eu-west-1:123456789012:task/checkout/0123456789abcdef0123456789abcdef",
        "cluster": "checkout", "taskId": "0123456789abcdef0123456789abcdef"
    });
    e["decision"]["route"] = json!("ecs");
    e["decision"]["revokeTaskRole"] = json!(true);
    let input = ApprovalInput::from_value(e).expect("input");
    let m = build_message(&input.document, "https://a", "https://b", now(), now());
    assert!(
        m.body.contains(
            "cut ECS task 0123456789abcdef0123456789abcdef of cluster checkout off at its VPC's network ACLs"
        ),
        "{}",
        m.body
    );
    assert!(m.body.contains("leave the task running"));
    assert!(m.body.contains("deny every session of the task's role"));
    assert!(!m.body.contains("then stop the task"));
    assert_eq!(m.attributes[2].value, "ecs");
}

/// An attack sequence above the blast-radius limit: the request lists every item of the plan,
/// says one approval covers them all, and what is left for review.
#[test]
fn the_sequence_plan_is_approved_as_one() {
    let raw: Value = serde_json::from_str(include_str!(
        "../../../fixtures/events/attack-sequence-credentials.json"
    ))
    .expect("fixture");
    let finding = responder_core::Finding::from_event(&raw).expect("finding");
    let mut policy = responder_core::Policy::default();
    policy.sequence.max_resources = 2;
    let decision = policy.decide(&finding);
    let mut e = event();
    e["finding"] = serde_json::to_value(&finding).expect("finding");
    e["decision"] = serde_json::to_value(&decision).expect("decision");
    let input = ApprovalInput::from_value(e).expect("input");
    let m = build_message(&input.document, "https://a", "https://b", now(), now());
    for line in [
        "revoke credentials build-bot/AKIA4EXAMPLEBUILDBOT",
        "isolate instance i-0a1b2c3d4e5f60701",
        "isolate instance i-0a1b2c3d4e5f60702",
        "one approval covers these 3 resource(s) of attack sequence",
        "leave the 3 other resource(s) it names for review",
    ] {
        assert!(m.body.contains(line), "{line}\n{}", m.body);
    }
    assert_eq!(
        m.body
            .matches("isolate instance i-0a1b2c3d4e5f60701")
            .count(),
        1
    );
    assert_eq!(m.attributes[2].value, "sequence");
}

#[test]
fn bad_inputs_are_named_errors() {
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation)> = vec![
        ("taskToken", Box::new(|e| e["taskToken"] = json!(""))),
        (
            "taskToken",
            Box::new(|e| e["taskToken"] = json!("x".repeat(2049))),
        ),
        (
            "taskToken",
            Box::new(|e| drop(e.as_object_mut().map(|o| o.remove("taskToken")))),
        ),
        (
            "timeoutSeconds",
            Box::new(|e| e["timeoutSeconds"] = json!(59)),
        ),
        (
            "timeoutSeconds",
            Box::new(|e| e["timeoutSeconds"] = json!(7 * 24 * 3600 + 1)),
        ),
        (
            "timeoutSeconds",
            Box::new(|e| e["timeoutSeconds"] = json!("3600")),
        ),
        ("responder document", Box::new(|e| e["finding"] = json!({}))),
    ];
    for (what, mutate) in cases {
        let mut e = event();
        mutate(&mut e);
        let err = ApprovalInput::from_value(e).expect_err(what);
        assert_eq!(err.name, responder_core::names::INPUT_INVALID);
        assert!(err.message.contains(what), "{what}: {}", err.message);
        assert!(!err.message.contains(TOKEN));
    }
}

#[test]
fn the_input_debug_output_hides_the_task_token() {
    let input = ApprovalInput::from_value(event()).expect("input");
    assert!(!format!("{input:?}").contains(TOKEN));
}

#[tokio::test]
async fn a_publish_failure_is_returned_as_is() {
    let input = ApprovalInput::from_value(event()).expect("input");
    let publisher = FakePublisher {
        fail: Some(TaskError::new(
            responder_core::names::REMEDIATION_THROTTLED,
            "slow",
        )),
        ..FakePublisher::default()
    };
    let err = request_approval(&input, &config(), &publisher, now())
        .await
        .expect_err("fails");
    assert_eq!(err.name, responder_core::names::REMEDIATION_THROTTLED);
}

/// The whole approval request of a MEDIUM finding on each route, compared with its snapshot
/// under `src/snapshots/`: subject, attributes and body exactly (the plan's steps in order, the
/// links, the deadline). `UPDATE_EXPECT=1 cargo test -p await-approval` rewrites them after a
/// deliberate change.
#[test]
fn each_routes_approval_request_is_exactly_its_snapshot() {
    for (name, fixture) in [
        ("ec2", "ec2-high-single-eni.json"),
        ("iam", "iam-high-akia-user.json"),
        ("lambda", "lambda-medium-tor.json"),
        ("s3-object", "s3-object-malicious-file.json"),
        ("rds", "rds-high-malicious-login.json"),
        ("ecs", "ecs-task-reverse-shell.json"),
    ] {
        let path = format!(
            "{}/../../fixtures/events/{fixture}",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut event: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("JSON");
        event["detail"]["severity"] = json!(5.5);
        let finding = responder_core::Finding::from_event(&event).expect("finding");
        let input = responder_core::testing::task_input(finding, false, "exec-1");
        assert_eq!(
            input.decision.disposition,
            responder_core::Disposition::RequestApproval,
            "{name}"
        );
        let m = build_message(
            &input,
            "https://approve.example/link",
            "https://reject.example/link",
            now() + chrono::Duration::hours(1),
            now(),
        );
        let attributes: Vec<String> = m
            .attributes
            .iter()
            .map(|a| format!("{}={}", a.name, a.value))
            .collect();
        let text = format!("{}\n\n{}\n\n{}\n", m.subject, attributes.join("\n"), m.body);
        expect_test::expect_file![format!("snapshots/{name}.txt")].assert_eq(&text);
    }
}
