//! Unit tests of the notification against a fake publisher.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::Mutex;

use responder_core::{names, Finding, Policy};
use serde_json::json;

use super::*;
use crate::message::{ascii_subject, execution_console_link, SNS_MESSAGE_LIMIT, SUBJECT_MAX};

type Published = (String, String, BTreeMap<String, String>);

/// Records what would be published; can be told to fail.
#[derive(Default)]
struct FakePublisher {
    sent: Mutex<Vec<Published>>,
    fail_with: Option<responder_core::ErrorName>,
}

#[async_trait]
impl Publisher for FakePublisher {
    async fn publish(
        &self,
        subject: &str,
        body: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<String, TaskError> {
        if let Some(name) = self.fail_with {
            return Err(TaskError::new(name, "sns:Publish failed"));
        }
        let mut sent = self.sent.lock().unwrap();
        sent.push((subject.into(), body.into(), attributes.clone()));
        Ok(format!("msg-{}", sent.len()))
    }
}

impl FakePublisher {
    fn one(&self) -> (String, Value, BTreeMap<String, String>) {
        let sent = self.sent.lock().unwrap();
        assert_eq!(sent.len(), 1);
        let (s, b, a) = sent[0].clone();
        (s, serde_json::from_str(&b).expect("body is JSON"), a)
    }
}

const EXECUTION: &str = "arn:aws:states:eu-west-1:111111111111:execution:remediate-finding:gd-1234";

fn event(resource: Value, severity: f64, ty: &str) -> Value {
    json!({
        "version": "0", "id": "evt-1", "detail-type": "GuardDuty Finding",
        "source": "aws.guardduty", "account": "222222222222", "region": "eu-west-1",
        "detail": {
            "accountId": "222222222222", "region": "eu-west-1", "partition": "aws",
            "id": "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6", "type": ty, "severity": severity,
            "title": "C&C activity", "resource": resource, "service": {"count": 3}
        }
    })
}

fn ec2_event() -> Value {
    event(
        json!({"resourceType": "Instance", "instanceDetails": {"instanceId": "i-0abc1234def567890"}}),
        8.0,
        "Backdoor:EC2/C&CActivity.B",
    )
}

fn iam_event(key: &str, user_type: &str, user: &str) -> Value {
    event(
        json!({"resourceType": "AccessKey", "accessKeyDetails": {
            "accessKeyId": key, "userType": user_type, "userName": user}}),
        8.0,
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
    )
}

/// The state document as the state machine builds it, for an outcome and results.
fn document(event: &Value, outcome: &str, results: Value) -> Value {
    let finding = Finding::from_event(event).unwrap();
    let decision = Policy::default().decide(&finding);
    json!({
        "outcome": outcome,
        "finding": finding,
        "decision": decision,
        "execution": EXECUTION,
        "results": results,
    })
}

fn isolate_report() -> Value {
    json!({
        "task": "isolate", "dryRun": false,
        "actions": [{
            "action": "set-interface-groups", "target": "eni-0aaa", "outcome": "changed",
            "detail": "moved eni-0aaa to the quarantine group",
            "before": {"groups": ["sg-0111", "sg-0222"]}, "after": {"groups": ["sg-0q"]}
        }],
        "evidence": {"originalGroups": {"eni-0aaa": ["sg-0111", "sg-0222"]}}
    })
}

async fn send(doc: &Value) -> (NotifyOutput, FakePublisher) {
    let p = FakePublisher::default();
    let out = notify(doc, &p, &Settings::default())
        .await
        .expect("published");
    (out, p)
}

#[tokio::test]
async fn contained_instance_message_has_summary_actions_evidence_link_and_rollback() {
    let doc = document(
        &ec2_event(),
        "contained",
        json!({
            "exemption": {"status": "eligible", "reason": "no exemption tag", "target": "i-0abc1234def567890"},
            "isolate": isolate_report(),
            "snapshot": {"task": "snapshot", "dryRun": false, "actions": [
                {"action": "create-snapshots", "target": "i-0abc1234def567890", "outcome": "changed", "detail": "1 snapshot"}],
                "evidence": {"snapshotIds": ["snap-0123"]}}
        }),
    );
    let (out, p) = send(&doc).await;
    let (subject, body, attrs) = p.one();
    assert_eq!(
        subject,
        "[HIGH] contained i-0abc1234def567890 in 222222222222: Backdoor:EC2/C&CActivity.B"
    );
    assert_eq!(out.subject, subject);
    assert_eq!(out.message_id, "msg-1");
    assert!(!out.trimmed);
    assert_eq!(
        attrs,
        BTreeMap::from([
            ("account".to_string(), "222222222222".to_string()),
            ("outcome".to_string(), "contained".to_string()),
            ("route".to_string(), "ec2".to_string()),
            ("severity".to_string(), "8.0".to_string()),
            ("tier".to_string(), "HIGH".to_string()),
        ])
    );
    assert_eq!(body["schema"], "guardduty-responder/notification/v1");
    assert_eq!(body["outcome"], "contained");
    let f = &body["finding"];
    assert_eq!(f["id"], "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6");
    assert_eq!(f["type"], "Backdoor:EC2/C&CActivity.B");
    assert_eq!(f["severity"], 8.0);
    assert_eq!(f["tier"], "HIGH");
    assert_eq!(f["account"], "222222222222");
    assert_eq!(f["region"], "eu-west-1");
    assert_eq!(f["resource"]["instanceId"], "i-0abc1234def567890");
    assert_eq!(body["decision"]["disposition"], "contain");
    assert!(!body["decision"]["reasons"].as_array().unwrap().is_empty());
    // Every action, tagged with its task, with before/after for the audit.
    let actions = body["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 2);
    assert_eq!(actions[0]["task"], "isolate");
    assert_eq!(actions[0]["outcome"], "changed");
    assert_eq!(actions[0]["before"]["groups"][1], "sg-0222");
    assert_eq!(actions[1]["task"], "snapshot");
    assert_eq!(body["evidence"]["snapshot"]["snapshotIds"][0], "snap-0123");
    assert_eq!(
        body["evidence"]["isolate"]["originalGroups"]["eni-0aaa"][0],
        "sg-0111"
    );
    assert_eq!(body["exemption"]["status"], "eligible");
    assert_eq!(body["execution"]["arn"], EXECUTION);
    assert_eq!(
        body["execution"]["console"],
        format!("https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/{EXECUTION}")
    );
    let steps = body["nextSteps"].as_array().unwrap();
    let rollback = steps
        .iter()
        .filter_map(Value::as_str)
        .find(|s| s.contains("restore-instance"))
        .expect("rollback step");
    assert!(
        rollback.contains(r#"{"accountId":"222222222222","region":"eu-west-1","instanceId":"i-0abc1234def567890"}"#),
        "{rollback}"
    );
    assert_eq!(body["trimmed"], false);
    assert_eq!(
        out.bytes,
        p.sent.lock().unwrap()[0].1.len()
            + subject.len()
            + attrs
                .iter()
                .map(|(k, v)| k.len() + 6 + v.len())
                .sum::<usize>()
    );
}

#[tokio::test]
async fn revoked_user_key_message_names_the_policy_and_the_rollback() {
    let doc = document(
        &iam_event("AKIAIOSFODNN7EXAMPLE", "IAMUser", "ci-deployer"),
        "contained",
        json!({"revoke": {
            "task": "revoke", "dryRun": false,
            "actions": [
                {"action": "deactivate-access-key", "target": "user/ci-deployer/AKIAIOSFODNN7EXAMPLE", "outcome": "changed", "detail": "set Inactive"},
                {"action": "attach-deny-policy", "target": "user/ci-deployer", "outcome": "changed", "detail": "attached"}
            ],
            "evidence": {"deny": "AWSDenyAll", "principal": "user/ci-deployer",
                         "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "keyStatusBefore": "Active"}
        }}),
    );
    let (_, p) = send(&doc).await;
    let (subject, body, attrs) = p.one();
    assert_eq!(
        subject,
        "[HIGH] contained user/ci-deployer in 222222222222: UnauthorizedAccess:IAMUser/MaliciousIPCaller"
    );
    assert_eq!(attrs["route"], "iam");
    assert_eq!(body["evidence"]["revoke"]["deny"], "AWSDenyAll");
    let steps = body["nextSteps"].to_string();
    assert!(steps.contains("aws iam detach-user-policy --user-name ci-deployer --policy-arn arn:aws:iam::aws:policy/AWSDenyAll"), "{steps}");
    assert!(steps.contains("aws iam update-access-key --user-name ci-deployer --access-key-id AKIAIOSFODNN7EXAMPLE --status Active"), "{steps}");
}

#[tokio::test]
async fn revoked_role_sessions_warn_that_removing_the_policy_reenables_old_sessions() {
    let ev = iam_event("ASIAIOSFODNN7EXAMPLE", "AssumedRole", "web-tier-role");
    // Without a revoke report (e.g. it was lost), the policy name is still the role's one.
    let doc = document(&ev, "contained", json!({}));
    let (_, p) = send(&doc).await;
    let (subject, body, _) = p.one();
    assert!(subject.contains("role/web-tier-role"), "{subject}");
    let steps = body["nextSteps"].to_string();
    assert!(
        steps.contains(
            "aws iam delete-role-policy --role-name web-tier-role --policy-name guardduty-responder-revoke-sessions"
        ),
        "{steps}"
    );
    assert!(steps.contains("re-enables the old sessions"), "{steps}");
}

#[test]
fn subjects_are_ascii_single_line_and_short() {
    for raw in [
        "[HIGH] contained i-0abc in 222222222222: Backdoor:EC2/C&CActivity.B".to_string(),
        format!(
            "[HIGH] contained user/ren\u{e9}\u{2603} in 1: {}",
            "X".repeat(300)
        ),
        "  line\nbreak\r\tand\u{7}bell  ".to_string(),
        "\u{1F600}".to_string(),
        String::new(),
    ] {
        let s = ascii_subject(&raw);
        assert!(!s.is_empty(), "{raw:?}");
        assert!(s.len() <= SUBJECT_MAX && s.len() < 100, "{s}");
        assert!(s.bytes().all(|b| (0x20..0x7f).contains(&b)), "{s:?}");
        assert!(
            !s.starts_with(' ') && !s.ends_with(' ') && !s.contains("  "),
            "{s:?}"
        );
    }
    assert_eq!(ascii_subject("a\nb"), "a b");
    assert_eq!(ascii_subject("user/ren\u{e9}"), "user/ren?");
    let long = ascii_subject(&"y".repeat(200));
    assert!(long.ends_with("...") && long.len() == SUBJECT_MAX);
}

#[tokio::test]
async fn a_huge_report_is_trimmed_to_fit_and_still_says_what_to_do() {
    let big_state = json!({"groups": (0..20).map(|i| format!("sg-{i:017}")).collect::<Vec<_>>(), "note": "n".repeat(2_000)});
    let actions: Vec<Value> = (0..2_000)
        .map(|i| json!({"action": "set-interface-groups", "target": format!("eni-{i:017}"), "outcome": "changed",
                        "detail": "d".repeat(300), "before": big_state, "after": big_state}))
        .collect();
    let doc = document(
        &ec2_event(),
        "contained",
        json!({"isolate": {"task": "isolate", "dryRun": false, "actions": actions,
                           "evidence": {"snapshotIds": (0..5_000).map(|i| format!("snap-{i:017}")).collect::<Vec<_>>()}}}),
    );
    assert!(
        doc.to_string().len() > 2 * SNS_MESSAGE_LIMIT,
        "the input really is too big"
    );
    let (out, p) = send(&doc).await;
    assert!(out.trimmed);
    assert!(out.bytes <= SNS_MESSAGE_LIMIT, "{}", out.bytes);
    let (_, body, _) = p.one();
    assert_eq!(body["trimmed"], true);
    assert!(body["trimNote"].as_str().unwrap().contains("256 KiB"));
    assert!(
        body["actions"][0].get("before").is_none(),
        "before/after go first"
    );
    assert_eq!(body["actions"][0]["target"], "eni-00000000000000000");
    assert_eq!(body["finding"]["id"], "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6");
    assert!(body["nextSteps"].to_string().contains("restore-instance"));
    assert!(body["execution"]["console"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
}

/// The document `NotifyRejectedEvent` sends: the raw event (which classify refused) and the
/// error, no finding, no decision.
#[tokio::test]
async fn failure_before_classify_reports_the_raw_event_and_the_error() {
    let mut ev = ec2_event();
    ev["detail"].as_object_mut().unwrap().remove("id");
    ev["error"] = json!({"Error": "Finding.Invalid", "Cause": "{\"errorType\":\"Finding.Invalid\",\"errorMessage\":\"`detail.id` is missing or empty\"}"});
    let doc = json!({
        "outcome": "failed",
        "event": ev,
        "error": ev["error"],
        "execution": EXECUTION,
    });
    let (_, p) = send(&doc).await;
    let (subject, body, attrs) = p.one();
    assert_eq!(
        subject,
        "[HIGH] failed i-0abc1234def567890 in 222222222222: Backdoor:EC2/C&CActivity.B"
    );
    assert_eq!(attrs["outcome"], "failed");
    assert_eq!(attrs["account"], "222222222222");
    assert_eq!(
        attrs["tier"], "HIGH",
        "tier from GuardDuty's own severity bands"
    );
    assert_eq!(body["error"]["error"], "Finding.Invalid");
    assert_eq!(body["error"]["cause"], "`detail.id` is missing or empty");
    assert_eq!(body["error"]["causeType"], "Finding.Invalid");
    assert!(body["nextSteps"][0]
        .as_str()
        .unwrap()
        .contains("FAILED (Finding.Invalid"));
    assert!(body.get("decision").is_none());
}

#[tokio::test]
async fn failure_with_nothing_readable_still_publishes() {
    for doc in [
        json!({"outcome": "failed", "error": {"Error": "States.Timeout", "Cause": ""}}),
        json!({}),
        json!("not an object"),
        json!({"finding": {"id": 7}, "decision": "nonsense", "results": [1, 2]}),
    ] {
        let (out, p) = send(&doc).await;
        let (subject, body, attrs) = p.one();
        assert!(!subject.is_empty() && subject.len() <= SUBJECT_MAX);
        assert_eq!(attrs.len(), 5);
        assert!(attrs.values().all(|v| !v.is_empty()), "{attrs:?}");
        assert!(body["nextSteps"].as_array().is_some_and(|s| !s.is_empty()));
        assert!(!out.trimmed);
    }
    // Oversized values from the input are cut, never a reason to fail.
    let (out, p) =
        send(&json!({"outcome": "x".repeat(300_000), "decision": {"tier": "T".repeat(300_000)}}))
            .await;
    let (_, _, attrs) = p.one();
    assert!(attrs.values().all(|v| v.len() <= 256));
    assert!(out.trimmed && out.bytes <= SNS_MESSAGE_LIMIT);

    let (_, p) = send(&json!({"error": {"Error": "States.Timeout"}})).await;
    let (subject, _, attrs) = p.one();
    assert_eq!(subject, "[UNKNOWN] failed: States.Timeout");
    assert_eq!(
        attrs["outcome"], "failed",
        "an error without an outcome is a failure"
    );
}

#[tokio::test]
async fn skipped_and_rejected_outcomes_explain_that_nothing_changed() {
    let doc = json!({
        "outcome": "skipped",
        "finding": Finding::from_event(&ec2_event()).unwrap(),
        "reason": "i-0abc1234def567890 is tagged AutoRemediation=disabled",
        "results": {"exemption": {"status": "exempt", "reason": "tagged", "target": "i-0abc1234def567890"}},
        "execution": EXECUTION
    });
    let (_, p) = send(&doc).await;
    let (subject, body, _) = p.one();
    assert!(
        subject.starts_with("[HIGH] skipped i-0abc1234def567890"),
        "{subject}"
    );
    let first = body["nextSteps"][0].as_str().unwrap();
    assert!(
        first.contains("Nothing was changed") && first.contains("AutoRemediation=disabled"),
        "{first}"
    );
    assert!(
        !body["nextSteps"].to_string().contains("restore-instance"),
        "no rollback when nothing changed"
    );

    let doc = document(&ec2_event(), "approval-rejected", json!({}));
    let (_, p) = send(&doc).await;
    let (_, body, attrs) = p.one();
    assert_eq!(attrs["outcome"], "approval-rejected");
    assert!(body["nextSteps"][0].as_str().unwrap().contains("rejected"));
}

#[tokio::test]
async fn dry_run_is_visible_and_offers_no_rollback() {
    let mut doc = document(
        &ec2_event(),
        "contained",
        json!({"isolate": isolate_report()}),
    );
    doc["decision"]["dryRun"] = json!(true);
    let (_, p) = send(&doc).await;
    let (subject, body, _) = p.one();
    assert!(
        subject.starts_with("[HIGH][DRY RUN] contained"),
        "{subject}"
    );
    assert_eq!(body["dryRun"], true);
    assert!(body["nextSteps"][0]
        .as_str()
        .unwrap()
        .starts_with("Dry run"));
    assert!(!body["nextSteps"].to_string().contains("restore-instance"));
}

#[tokio::test]
async fn publish_errors_pass_through_with_their_names() {
    for name in [names::REMEDIATION_THROTTLED, names::NOTIFY_FAILED] {
        let p = FakePublisher {
            fail_with: Some(name),
            ..FakePublisher::default()
        };
        let err = notify(&json!({}), &p, &Settings::default())
            .await
            .expect_err("fails");
        assert_eq!(err.name, name);
    }
}

#[test]
fn console_links_by_partition() {
    assert_eq!(
        execution_console_link(EXECUTION).unwrap(),
        format!("https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/{EXECUTION}")
    );
    assert!(execution_console_link(
        "arn:aws-us-gov:states:us-gov-west-1:111111111111:execution:m:n"
    )
    .unwrap()
    .starts_with("https://console.amazonaws-us-gov.com/states/home?region=us-gov-west-1#"));
    assert_eq!(execution_console_link("manual"), None);
    assert_eq!(
        execution_console_link("arn:aws:states:eu-west-1:111111111111:stateMachine:m"),
        None
    );
}

#[test]
fn output_shape() {
    let out = NotifyOutput {
        message_id: "m".into(),
        subject: "s".into(),
        bytes: 10,
        trimmed: false,
        outcome: "contained".into(),
    };
    assert_eq!(
        serde_json::to_value(&out).unwrap(),
        json!({"messageId": "m", "subject": "s", "bytes": 10, "trimmed": false, "outcome": "contained"})
    );
}

/// Regression: a rollback's notification named no instance ("finding not readable"), because
/// `restore-instance` passes its request, not a finding.
#[tokio::test]
async fn a_rollback_names_the_restored_instance() {
    let doc = json!({
        "outcome": "restored",
        "request": {"accountId": "222222222222", "region": "eu-west-1", "instanceId": "i-0abc1234def567890",
                    "reason": "false positive", "requestedBy": "analyst@example.com"},
        "execution": "arn:aws:states:eu-west-1:111111111111:execution:restore-instance:r1",
        "results": {"restore": {"task": "restore", "dryRun": false, "actions": [
            {"action": "set-interface-groups", "target": "eni-0aaa", "outcome": "changed", "detail": "back to sg-0111"}],
            "evidence": {}}}
    });
    let (out, p) = send(&doc).await;
    assert_eq!(
        out.subject,
        "[ROLLBACK] restored i-0abc1234def567890 in 222222222222"
    );
    let published = p.sent.lock().expect("lock");
    let (_, body, attrs) = published.first().expect("one message");
    let body: Value = serde_json::from_str(body).expect("json");
    assert_eq!(body["outcome"], "restored");
    assert_eq!(
        attrs.get("account").map(String::as_str),
        Some("222222222222")
    );
}

/// A rollback that re-attached the instance to its Auto Scaling group raised the group's desired
/// capacity: the restore report's note reaches the next steps, right after the restore line.
#[tokio::test]
async fn a_rollback_passes_on_the_desired_capacity_note() {
    let note = "Attaching the instance raised the desired capacity of Auto Scaling group web-asg by one, to 3; the replacement the group launched while the instance was contained is still running: scale the group in if the extra instance is not wanted.";
    let doc = |evidence: Value| {
        json!({
            "outcome": "restored",
            "request": {"accountId": "222222222222", "region": "eu-west-1", "instanceId": "i-0abc1234def567890"},
            "results": {"restore": {"task": "restore", "dryRun": false, "actions": [
                {"action": "attach-to-auto-scaling-group", "target": "web-asg", "outcome": "changed", "detail": "attached the instance"},
                {"action": "review-desired-capacity", "target": "web-asg", "outcome": "skipped", "detail": note}],
                "evidence": evidence}}
        })
    };
    let body: Value = serde_json::from_str(
        &compose(
            &doc(json!({"desiredCapacityNote": note})),
            &Settings::default(),
        )
        .body,
    )
    .expect("json");
    let steps = body["nextSteps"].as_array().expect("steps");
    assert!(steps[0]
        .as_str()
        .is_some_and(|s| s.contains("was restored from quarantine")));
    assert_eq!(steps[1], note);

    // Without the note (no group, or nothing attached) there is no such step.
    let body: Value =
        serde_json::from_str(&compose(&doc(json!({})), &Settings::default()).body).expect("json");
    assert!(!body["nextSteps"].to_string().contains("desired capacity"));
}

#[tokio::test]
async fn a_partial_containment_names_each_shortfall_and_the_caveats() {
    let mut isolate = isolate_report();
    isolate["incomplete"] = json!([{
        "error": names::REMEDIATION_NETWORK_ACL_FULL,
        "action": "deny-in-network-acls",
        "detail": "network ACL acl-0nat has no room for the inbound deny entries"
    }]);
    isolate["caveats"] = json!(["DNS is not cut: queries to the Route 53 Resolver still work."]);
    let doc = document(
        &ec2_event(),
        "partially-contained",
        json!({ "isolate": isolate.clone(), "tag": { "task": "tag", "actions": [], "caveats": ["DNS is not cut: queries to the Route 53 Resolver still work."] } }),
    );
    let (_, p) = send(&doc).await;
    let (subject, body, attrs) = p.one();
    assert!(subject.contains("partially-contained"), "{subject}");
    assert_eq!(attrs["outcome"], "partially-contained");
    assert_eq!(
        body["incomplete"],
        json!([{
            "error": "Remediation.NetworkAclFull",
            "action": "deny-in-network-acls",
            "detail": "network ACL acl-0nat has no room for the inbound deny entries",
            "task": "isolate"
        }])
    );
    // Each caveat once, however many reports carry it.
    assert_eq!(
        body["caveats"],
        json!(["DNS is not cut: queries to the Route 53 Resolver still work."])
    );
    let steps = body["nextSteps"].to_string();
    assert!(
        steps.contains("INCOMPLETE (Remediation.NetworkAclFull): network ACL acl-0nat"),
        "{steps}"
    );
    assert!(steps.contains("To roll back"), "rollback offered: {steps}");
}

#[tokio::test]
async fn contained_without_evidence_says_to_take_the_snapshots_by_hand() {
    let doc = document(
        &ec2_event(),
        "contained-evidence-incomplete",
        json!({
            "isolate": isolate_report(),
            "snapshot": {"task": "snapshot", "error": "Snapshot.LimitExceeded", "cause": "{\"errorType\":\"Snapshot.LimitExceeded\",\"errorMessage\":\"too many pending snapshots\"}"}
        }),
    );
    let (_, p) = send(&doc).await;
    let (_, body, _) = p.one();
    let steps = body["nextSteps"].to_string();
    assert!(
        steps.contains(
            "evidence snapshots FAILED (Snapshot.LimitExceeded: too many pending snapshots)"
        ) && steps.contains("aws ec2 create-snapshots --instance-specification InstanceId=i-"),
        "{steps}"
    );
}

/// The target of an attack is recorded, not isolated: the next steps say why and give the fix
/// from the decision, and offer no rollback (nothing was changed).
#[tokio::test]
async fn a_victim_is_told_the_fix_instead_of_a_rollback() {
    let event: Value = serde_json::from_str(include_str!(
        "../../../fixtures/events/ec2-victim-port-probe.json"
    ))
    .unwrap();
    let doc = document(&event, "recorded", json!({}));
    let (_, p) = send(&doc).await;
    let (subject, body, attrs) = p.one();
    assert_eq!(
        subject,
        "[HIGH] recorded i-0a1b2c3d4e5f60731 in 111111111111: Recon:EC2/PortProbeUnprotectedPort"
    );
    assert_eq!(attrs["route"], "notify-only");
    let fix = "close port 9200 to the internet in the instance's security groups and network ACLs, or restrict access to known addresses; review what listens there, and if the exposure is intended (a public service), suppress this finding type for the instance in GuardDuty";
    assert_eq!(body["decision"]["recommendedFix"], fix);
    assert_eq!(body["decision"]["disposition"], "notify");
    assert_eq!(
        body["nextSteps"],
        json!([
            "Not isolated: i-0a1b2c3d4e5f60731 is the target of Recon:EC2/PortProbeUnprotectedPort, not its actor. Recommended fix: Close port 9200 to the internet in the instance's security groups and network ACLs, or restrict access to known addresses; review what listens there, and if the exposure is intended (a public service), suppress this finding type for the instance in GuardDuty.",
            "Nothing was changed. Review the finding in GuardDuty once the fix is in place, and archive it if the exposure is intended.",
            format!("Execution: https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/{EXECUTION}"),
        ])
    );
}

/// A recorded finding that is not a victim keeps the plain next step, and its decision carries
/// no fix.
#[tokio::test]
async fn a_recorded_finding_without_a_fix_keeps_the_plain_step() {
    let low = event(
        json!({"resourceType": "Instance", "instanceDetails": {"instanceId": "i-0abc1234def567890"}}),
        2.0,
        "Backdoor:EC2/C&CActivity.B",
    );
    let (_, p) = send(&document(&low, "recorded", json!({}))).await;
    let (_, body, _) = p.one();
    assert!(body["decision"].get("recommendedFix").is_none());
    let first = body["nextSteps"][0].as_str().unwrap();
    assert!(
        first.starts_with("Recorded only (resource type \"Instance\" from the finding"),
        "{first}"
    );
    assert!(!body["nextSteps"].to_string().contains("Not isolated"));
}

/// A bucket closed to the public: the subject names it, the next steps say what Block Public
/// Access does and does not stop, and the rollback names the bucket; a rollback request
/// naming a bucket is summarised as one.
#[tokio::test]
async fn a_closed_bucket_says_what_is_closed_and_how_to_roll_back() {
    let doc = document(
        &event(
            json!({"resourceType": "S3Bucket", "s3BucketDetails": [
                {"name": "orders-exports", "arn": "arn:aws:s3:::orders-exports"}]}),
            8.0,
            "Policy:S3/BucketAnonymousAccessGranted",
        ),
        "contained",
        json!({"containBucket": {"task": "contain-bucket", "dryRun": false, "actions": [
            {"action": "put-public-access-block", "target": "orders-exports", "outcome": "changed",
             "detail": "all four Block Public Access settings on"}], "evidence": {}}}),
    );
    let (out, p) = send(&doc).await;
    assert_eq!(
        out.subject,
        "[HIGH] contained orders-exports in 222222222222: Policy:S3/BucketAnonymousAccessGranted"
    );
    let (_, body, _) = p.one();
    let steps = next_steps(&body);
    assert!(
        steps[0].starts_with(
            "S3 bucket orders-exports in 222222222222 (eu-west-1) is closed to the public"
        ),
        "{steps:?}"
    );
    assert!(steps.iter().any(|s| s.contains(
        r#"start the restore-instance state machine with {"accountId":"222222222222","region":"eu-west-1","bucketName":"orders-exports"}"#
    )));
    assert!(steps
        .iter()
        .any(|s| s.contains("not stopped by Block Public Access")));

    let rollback = json!({
        "outcome": "restored",
        "request": {"accountId": "222222222222", "region": "eu-west-1", "bucketName": "orders-exports"},
        "execution": "arn:aws:states:eu-west-1:111111111111:execution:restore-instance:r2",
        "results": {"restore": {"task": "restore", "dryRun": false, "actions": [], "evidence": {}}}
    });
    let (out, _) = send(&rollback).await;
    assert_eq!(
        out.subject,
        "[ROLLBACK] restored orders-exports in 222222222222"
    );
}

/// A quarantined object: the steps name the key quoted, and the rollback names the bucket and
/// exactly that key. The key is the uploader's: a `'` in it cannot end the shell quoting of the
/// suggested command.
#[tokio::test]
async fn a_quarantined_object_is_named_and_its_rollback_quoted_for_the_shell() {
    let key = "uploads/it's here.exe";
    let doc = document(
        &event(
            json!({"resourceType": "S3Object", "s3BucketDetails": [
                {"name": "orders-exports", "arn": "arn:aws:s3:::orders-exports",
                 "s3ObjectDetails": [{"key": key}]}]}),
            8.0,
            "Object:S3/MaliciousFile",
        ),
        "contained",
        json!({"containBucket": {"task": "contain-bucket", "dryRun": false, "actions": [
            {"action": "quarantine-objects", "target": "orders-exports", "outcome": "changed",
             "detail": "quarantined"}], "evidence": {"objects": [{"key": key}]}}}),
    );
    let (_, p) = send(&doc).await;
    let (_, body, _) = p.one();
    let steps = next_steps(&body);
    assert!(
        steps[0].contains(r#"object "uploads/it's here.exe" quarantined"#),
        "{steps:?}"
    );
    let request = r#"{"accountId":"222222222222","region":"eu-west-1","bucketName":"orders-exports","objectKeys":["uploads/it's here.exe"]}"#;
    let shell = r#"--input '{"accountId":"222222222222","region":"eu-west-1","bucketName":"orders-exports","objectKeys":["uploads/it'\''s here.exe"]}'"#;
    assert!(
        steps
            .iter()
            .any(|s| s.contains(request) && s.contains(shell)),
        "{steps:?}"
    );
}

/// A caller denied on a bucket: the steps name the caller and the statement, say that its
/// credentials still work elsewhere, and the rollback names the bucket.
#[tokio::test]
async fn a_denied_caller_is_named_with_what_the_deny_does_not_cover() {
    let doc = document(
        &event(
            json!({"resourceType": "S3Bucket", "s3BucketDetails": [
                {"name": "orders-exports", "arn": "arn:aws:s3:::orders-exports"}],
                "accessKeyDetails": {"accessKeyId": "AKIAEXAMPLEEXAMPLE01", "userType": "IAMUser",
                    "userName": "reports-exporter", "principalId": "AIDAEXAMPLEREPORTS01"}}),
            8.0,
            "Exfiltration:S3/MaliciousIPCaller",
        ),
        "contained",
        json!({"containBucket": {"task": "contain-bucket", "dryRun": false, "actions": [
            {"action": "deny-caller", "target": "orders-exports", "outcome": "changed",
             "detail": "denied AIDAEXAMPLEREPORTS01"}],
            "evidence": {"deniedCaller": "AIDAEXAMPLEREPORTS01"}}}),
    );
    let (_, p) = send(&doc).await;
    let (_, body, _) = p.one();
    let steps = next_steps(&body);
    assert!(
        steps[0].starts_with(
            "Caller AIDAEXAMPLEREPORTS01 is denied every S3 action on bucket orders-exports"
        ),
        "{steps:?}"
    );
    assert!(steps[1].starts_with("Its credentials still work everywhere else"));
    assert!(steps[2].contains(r#""bucketName":"orders-exports""#));
}

/// An isolated Aurora member: the steps say the whole cluster is cut, that open sessions are
/// not, name the database user escaped (it is whatever the login used), and the rollback names
/// the instance; a rollback request naming it is summarised as one.
#[tokio::test]
async fn an_isolated_database_says_what_is_cut_and_what_is_not() {
    let doc = document(
        &event(
            json!({"resourceType": "RDSDBInstance", "rdsDbInstanceDetails": {
                "dbInstanceIdentifier": "ledger-db-1", "dbClusterIdentifier": "ledger-cluster",
                "engine": "aurora-postgresql",
                "dbInstanceArn": "arn:aws:rds:eu-west-1:222222222222:db:ledger-db-1"},
                "rdsDbUserDetails": {"user": "ledger_admin\"; DROP"}}),
            8.0,
            "CredentialAccess:RDS/AnomalousBehavior.SuccessfulBruteForce",
        ),
        "contained",
        json!({"containDatabase": {"task": "contain-database", "dryRun": false, "actions": [
            {"action": "set-security-groups", "target": "ledger-cluster", "outcome": "changed",
             "detail": "isolated"}],
            "evidence": {"cluster": "ledger-cluster", "originalGroups": ["sg-ledger"]}}}),
    );
    let (out, p) = send(&doc).await;
    assert_eq!(
        out.subject,
        "[HIGH] contained ledger-db-1 in 222222222222: CredentialAccess:RDS/AnomalousBehavior.SuccessfulB..."
    );
    let (_, body, _) = p.one();
    let steps = next_steps(&body);
    assert!(
        steps[0].starts_with(
            "DB cluster ledger-cluster in 222222222222 (eu-west-1) is isolated, ledger-db-1 and every other instance of it"
        ),
        "{steps:?}"
    );
    assert!(
        steps[1].contains(r#"end the sessions of "ledger_admin\"; DROP""#),
        "{steps:?}"
    );
    assert!(steps[2].contains(
        r#"{"accountId":"222222222222","region":"eu-west-1","dbInstanceIdentifier":"ledger-db-1"}"#
    ));

    let rollback = json!({
        "outcome": "restored",
        "request": {"accountId": "222222222222", "region": "eu-west-1", "dbInstanceIdentifier": "ledger-db-1"},
        "execution": "arn:aws:states:eu-west-1:111111111111:execution:restore-instance:r3",
        "results": {"restore": {"task": "restore", "dryRun": false, "actions": [], "evidence": {}}}
    });
    let (out, _) = send(&rollback).await;
    assert_eq!(
        out.subject,
        "[ROLLBACK] restored ledger-db-1 in 222222222222"
    );
}

/// A task cut off at the network ACLs: the steps say what is cut and what is not (its own
/// subnet, its role shared by the service), that stopping it loses the record, and give the
/// rollback naming the task ARN; a rollback request naming it is summarised as one.
#[tokio::test]
async fn a_contained_task_says_what_is_cut_and_that_its_role_is_shared() {
    let arn = "arn:aws:ecs:eu-west-1:222222222222:task/checkout/4f1c2a7e9b3d4c5e8a6b0d1f2e3c4b5a";
    let doc = document(
        &event(
            json!({"resourceType": "ECSCluster", "ecsClusterDetails": {
                "name": "checkout", "arn": "arn:aws:ecs:eu-west-1:222222222222:cluster/checkout",
                "taskDetails": {"arn": arn, "launchType": "FARGATE",
                    "containers": [{"name": "api", "image": "checkout-api:1.8.2"}]}}}),
            8.0,
            "Execution:Runtime/ReverseShell",
        ),
        "contained",
        json!({"containTask": {"task": "contain-task", "dryRun": false, "actions": [
            {"action": "deny-in-network-acls", "target": "eni-1", "outcome": "changed",
             "detail": "added 2 network ACL entries"}],
            "evidence": {"taskArn": arn, "taskRoleName": "checkout-api-task"}}}),
    );
    let (out, p) = send(&doc).await;
    assert_eq!(
        out.subject,
        "[HIGH] contained checkout/4f1c2a7e9b3d4c5e8a6b0d1f2e3c4b5a in 222222222222: Execution:Runtime/Re..."
    );
    let (_, body, _) = p.one();
    let steps = next_steps(&body);
    assert!(
        steps[0].starts_with(&format!(
            "ECS task {arn} in 222222222222 (eu-west-1) is cut off at the VPC's network ACLs"
        )),
        "{steps:?}"
    );
    assert!(
        steps[1].starts_with("The task role checkout-api-task keeps its sessions"),
        "{steps:?}"
    );
    assert!(steps[2].starts_with("Stopping the task deletes its network interface"));
    assert!(
        steps[3].contains(&format!(
            r#"{{"accountId":"222222222222","region":"eu-west-1","taskArn":"{arn}"}}"#
        )),
        "{steps:?}"
    );

    let rollback = json!({
        "outcome": "restored",
        "request": {"accountId": "222222222222", "region": "eu-west-1", "taskArn": arn},
        "execution": "arn:aws:states:eu-west-1:111111111111:execution:restore-instance:r4",
        "results": {"restore": {"task": "contain-task", "dryRun": false, "actions": [], "evidence": {}}}
    });
    let (out, _) = send(&rollback).await;
    assert_eq!(
        out.subject,
        "[ROLLBACK] restored checkout/4f1c2a7e9b3d4c5e8a6b0d1f2e3c4b5a in 222222222222"
    );
}

/// An attack sequence's plan: one message, a line per item as it ended (a failed one named
/// with its error), the resources left for review, a rollback per isolated instance; one
/// failed item makes the outcome partially-contained, which the state machine routes on.
#[tokio::test]
async fn a_sequence_plan_is_one_message_whose_items_make_the_outcome() {
    let event: Value = serde_json::from_str(include_str!(
        "../../../fixtures/events/attack-sequence-credentials.json"
    ))
    .expect("fixture");
    let item = |outcome: &str, resource: Value, extra: Value| {
        let mut v = json!({"outcome": outcome, "resource": resource});
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        v
    };
    let web = json!({"kind": "instance", "instanceId": "i-0a1b2c3d4e5f60701"});
    let bastion = json!({"kind": "instance", "instanceId": "i-0a1b2c3d4e5f60702"});
    let key = json!({"kind": "accessKey", "accessKeyId": "AKIA4EXAMPLEBUILDBOT",
        "userName": "build-bot", "credentialKind": "LongTermUserKey"});
    let all = json!({"sequence": [
        item("contained", web.clone(), json!({})),
        item("contained", bastion.clone(), json!({})),
        item("contained", key.clone(), json!({})),
    ]});
    let mut doc = document(&event, "contained", all);
    let (out, p) = send(&doc).await;
    assert_eq!(out.outcome, "contained");
    let (_, body, _) = p.one();
    let steps = next_steps(&body);
    assert!(steps.contains(&"Plan item, instance i-0a1b2c3d4e5f60701: contained"));
    assert!(steps.contains(&"Plan item, credentials build-bot/AKIA4EXAMPLEBUILDBOT: contained"));
    assert_eq!(
        steps
            .iter()
            .filter(|s| s.starts_with("Not contained automatically"))
            .count(),
        3,
        "{steps:#?}"
    );
    assert_eq!(
        steps
            .iter()
            .filter(|s| s.contains(r#""instanceId":"i-0a1b2c3d4e5f60702""#))
            .count(),
        1
    );

    doc["results"]["sequence"][1] = item(
        "failed",
        bastion,
        json!({"error": {"Error": "Remediation.AccessDenied", "Cause": "denied"}}),
    );
    let (out, p) = send(&doc).await;
    assert_eq!(out.outcome, "partially-contained");
    let (_, body, attributes) = p.one();
    assert_eq!(attributes["outcome"], "partially-contained");
    assert!(next_steps(&body).iter().any(|s| s
        .starts_with("Plan item, instance i-0a1b2c3d4e5f60702: failed")
        && s.contains("Remediation.AccessDenied")));
}

/// A database contained without its snapshot says so, with the command the task left.
#[tokio::test]
async fn a_database_without_its_snapshot_says_to_take_it() {
    let doc = document(
        &event(
            json!({"resourceType": "RDSDBInstance", "rdsDbInstanceDetails": {
                "dbInstanceIdentifier": "billing-db", "engine": "postgres"}}),
            8.0,
            "CredentialAccess:RDS/MaliciousIPCaller.SuccessfulLogin",
        ),
        "contained-evidence-incomplete",
        json!({"containDatabase": {"task": "contain-database", "dryRun": false, "actions": [
            {"action": "set-security-groups", "target": "billing-db", "outcome": "changed", "detail": "isolated"}],
            "evidence": {},
            "incomplete": [{"error": "Remediation.Failed", "action": "snapshot-database",
                "detail": "no evidence snapshot of DB instance billing-db: take it by hand (aws rds create-db-snapshot --db-instance-identifier billing-db)"}]}}),
    );
    let (_, p) = send(&doc).await;
    let (_, body, attributes) = p.one();
    assert_eq!(attributes["outcome"], "contained-evidence-incomplete");
    let steps = next_steps(&body);
    assert!(
        steps[0].starts_with("The database is contained, but its evidence snapshot FAILED")
            && steps[0].contains("aws rds create-db-snapshot --db-instance-identifier billing-db"),
        "{steps:#?}"
    );
}

/// The next steps of a published message, as text.
fn next_steps(body: &Value) -> Vec<&str> {
    body["nextSteps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

/// The whole notification of each route's containment, compared with its snapshot under
/// `src/snapshots/`: subject, attributes and body exactly, so reordered or extra text fails
/// (the tests above check single facts). `UPDATE_EXPECT=1 cargo test -p notify` rewrites them
/// after a deliberate change.
#[tokio::test]
async fn each_routes_notification_is_exactly_its_snapshot() {
    let fixture = |name: &str| -> Value {
        let path = format!(
            "{}/../../fixtures/events/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("JSON")
    };
    let report = |task: &str, actions: Value, evidence: Value| json!({"task": task, "dryRun": false, "actions": actions, "evidence": evidence});
    let action = |action: &str, target: &str, detail: &str| json!({"action": action, "target": target, "outcome": "changed", "detail": detail});
    let cases: Vec<(&str, Value, &str, Value)> = vec![
        (
            "ec2-contained",
            ec2_event(),
            "contained",
            json!({"isolate": isolate_report()}),
        ),
        (
            "iam-contained",
            iam_event("AKIAEXAMPLEEXAMPLE01", "IAMUser", "build-bot"),
            "contained",
            json!({"revoke": report("revoke",
                json!([action("deactivate-access-key", "AKIAEXAMPLEEXAMPLE01", "deactivated")]),
                json!({"principal": "user/build-bot", "accessKeyId": "AKIAEXAMPLEEXAMPLE01"}))}),
        ),
        (
            "lambda-contained",
            fixture("lambda-high-c2.json"),
            "contained",
            json!({"containFunction": report("contain-function",
                json!([action("set-reserved-concurrency", "thumbnailer", "0 (was none)")]),
                json!({"codeSha256": "abc=", "role": "arn:aws:iam::222222222222:role/thumbnailer-role"}))}),
        ),
        (
            "s3-object-quarantined",
            fixture("s3-object-malicious-file.json"),
            "contained",
            json!({"containBucket": report("contain-bucket",
                json!([action("quarantine-objects", "orders-exports", "1 object")]),
                json!({"objects": [{"key": "uploads/invoice.pdf.exe"}]}))}),
        ),
        (
            "rds-contained",
            fixture("rds-high-malicious-login.json"),
            "contained",
            json!({"containDatabase": report("contain-database",
                json!([action("set-security-groups", "billing-db", "isolated")]),
                json!({"originalGroups": ["sg-app"], "snapshot": "guardduty-responder-1d3f"}))}),
        ),
        (
            "ecs-contained",
            fixture("ecs-task-reverse-shell.json"),
            "contained",
            json!({"containTask": report("contain-task",
                json!([action("deny-in-network-acls", "eni-0task", "added 2 network ACL entries")]),
                json!({"taskRoleName": "checkout-api-task"}))}),
        ),
        (
            "ec2-failed",
            ec2_event(),
            "failed",
            json!({"isolate": {"error": "Remediation.AccessDenied",
                "cause": "{\"errorType\":\"Remediation.AccessDenied\",\"errorMessage\":\"ec2:ModifyNetworkInterfaceAttribute denied\"}"}}),
        ),
    ];
    for (name, event, outcome, results) in cases {
        let doc = document(&event, outcome, results);
        let (_, p) = send(&doc).await;
        let sent = p.sent.lock().unwrap().clone();
        let (subject, body, attributes) = sent.first().cloned().expect("one message");
        let body: Value = serde_json::from_str(&body).expect("JSON body");
        let text = format!(
            "{subject}\n\n{}\n\n{}\n",
            serde_json::to_string_pretty(&attributes).expect("JSON"),
            serde_json::to_string_pretty(&body).expect("JSON")
        );
        expect_test::expect_file![format!("snapshots/{name}.txt")].assert_eq(&text);
    }
}
