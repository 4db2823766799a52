//! Unit tests of the logic against a fake updater: the outcome table, the identifiers, the
//! note, the settings, and the state machines' wiring of the task.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::Mutex;

use expect_test::{expect, Expect};
use responder_core::{names, Finding, Policy};
use serde_json::json;

use super::*;
use crate::note::{sanitize, MAX_NOTE_BYTES};

/// Records the updates; can be told to fail.
#[derive(Default)]
struct FakeUpdater {
    sent: Mutex<Vec<FindingUpdate>>,
    fail_with: Option<responder_core::ErrorName>,
}

#[async_trait]
impl FindingUpdater for FakeUpdater {
    async fn update(&self, update: &FindingUpdate) -> Result<(), TaskError> {
        if let Some(name) = self.fail_with {
            return Err(TaskError::new(
                name,
                "securityhub:BatchUpdateFindings failed",
            ));
        }
        self.sent.lock().unwrap().push(update.clone());
        Ok(())
    }
}

impl FakeUpdater {
    fn sent(&self) -> Vec<FindingUpdate> {
        self.sent.lock().unwrap().clone()
    }
}

const EXECUTION: &str =
    "arn:aws:states:eu-west-1:111111111111:execution:guardduty-responder-remediate-finding:9a1c3e5a7c9e";
const CROSS_ACCOUNT: &str = include_str!("../../../fixtures/events/ec2-high-cross-account.json");
const FINDING_ARN: &str = "arn:aws:guardduty:eu-west-1:222222222222:detector/4e6f8a0b2c4d6e8f0a1b3c5d7e9f1a2b/finding/9a1c3e5a7c9e1b3d5f7a9c1e3b5d7f44";
const GUARDDUTY_PRODUCT: &str = "arn:aws:securityhub:eu-west-1::product/aws/guardduty";

/// The state document of remediate-finding for the cross-account instance finding.
fn state() -> Value {
    let event: Value = serde_json::from_str(CROSS_ACCOUNT).unwrap();
    let finding = Finding::from_event(&event).unwrap();
    let decision = Policy::default().decide(&finding);
    json!({
        "finding": finding, "decision": decision, "execution": EXECUTION,
        "approvalTimeoutSeconds": 3600, "results": {},
        "notification": {"messageId": "m-1", "subject": "s", "bytes": 10, "trimmed": false}
    })
}

fn input(outcome: &str, state: Value) -> Value {
    json!({ "outcome": outcome, "execution": EXECUTION, "state": state })
}

fn report(task: &str, actions: &[(&str, &str, &str)]) -> Value {
    let actions: Vec<Value> = actions
        .iter()
        .map(|(action, target, outcome)| {
            json!({"action": action, "target": target, "outcome": outcome, "detail": "d"})
        })
        .collect();
    json!({"task": task, "dryRun": false, "actions": actions, "evidence": {}})
}

/// A contained instance: isolate, snapshot and tag reports under `containment`.
fn contained_state() -> Value {
    let mut s = state();
    s["results"]["exemption"] = json!({"status": "eligible", "reason": "no exemption"});
    s["containment"] = json!({
        "isolate": report("isolate", &[
            ("detach-from-auto-scaling-group", "i-0b2c3d4e5f6a70804", "skipped"),
            ("set-interface-groups", "eni-0b2c3d4e5f6a70801", "changed"),
            ("create-network-acl-entries", "acl-0aa", "changed"),
            ("set-termination-protection", "i-0b2c3d4e5f6a70804", "changed"),
            ("set-interface-groups", "eni-0b2c3d4e5f6a70801", "changed"),
        ]),
        "snapshot": report("snapshot", &[("create-snapshots", "i-0b2c3d4e5f6a70804", "changed")]),
        "tag": report("tag", &[("tag-resources", "i-0b2c3d4e5f6a70804", "unchanged")]),
    });
    s
}

async fn run(input: &Value) -> (TaskReport, FakeUpdater) {
    let fake = FakeUpdater::default();
    let r = update(input, &fake, &Settings::default()).await.unwrap();
    (r, fake)
}

// -------------------------------------------------------------------------------------------
// The outcome table
// -------------------------------------------------------------------------------------------

/// (outcome, `results.exemption.status`, workflow status set).
const STATUS_TABLE: &[(&str, Option<&str>, Option<WorkflowStatus>)] = &[
    (
        "contained",
        Some("eligible"),
        Some(WorkflowStatus::Resolved),
    ),
    ("restored", None, Some(WorkflowStatus::Resolved)),
    (
        "partially-contained",
        Some("eligible"),
        Some(WorkflowStatus::Notified),
    ),
    (
        "contained-evidence-incomplete",
        Some("eligible"),
        Some(WorkflowStatus::Notified),
    ),
    ("skipped", Some("exempt"), Some(WorkflowStatus::Notified)),
    // A re-delivery of a finding an earlier execution contained keeps that execution's status.
    ("skipped", Some("already-contained"), None),
    ("recorded", None, Some(WorkflowStatus::Notified)),
    ("failed", None, Some(WorkflowStatus::Notified)),
    ("failed", Some("eligible"), Some(WorkflowStatus::Notified)),
    (
        "approval-rejected",
        Some("eligible"),
        Some(WorkflowStatus::Notified),
    ),
    (
        "approval-timed-out",
        Some("eligible"),
        Some(WorkflowStatus::Notified),
    ),
];

#[test]
fn every_outcome_has_a_row_in_the_status_table() {
    for o in PipelineOutcome::ALL {
        assert_eq!(PipelineOutcome::parse(o.as_str()), Some(o));
        assert!(
            STATUS_TABLE.iter().any(|(name, _, _)| *name == o.as_str()),
            "{o:?} has no row"
        );
    }
    for bad in [
        "",
        "Contained",
        "contained ",
        "rejected-event",
        "notification-failed",
    ] {
        assert_eq!(PipelineOutcome::parse(bad), None, "{bad:?}");
    }
}

#[tokio::test]
async fn each_outcome_sets_its_workflow_status() {
    for (outcome, exemption, want) in STATUS_TABLE {
        let o = PipelineOutcome::parse(outcome).unwrap();
        assert_eq!(
            workflow_status(o, *exemption),
            *want,
            "{outcome} {exemption:?}"
        );
        // And through the task, with the exemption read from the state document.
        let mut s = state();
        if let Some(status) = exemption {
            s["results"]["exemption"] = json!({"status": status, "reason": "r"});
        }
        let (r, fake) = run(&input(outcome, s)).await;
        let sent = fake.sent();
        assert_eq!(sent.len(), 1, "{outcome}");
        assert_eq!(sent[0].status, *want, "{outcome} {exemption:?}");
        assert_eq!(r.actions[0].outcome, Outcome::Changed);
        let shown = want.map_or("unchanged", WorkflowStatus::as_str);
        assert_eq!(
            r.actions[0].after.as_ref().unwrap()["workflowStatus"],
            shown
        );
    }
}

#[tokio::test]
async fn an_unknown_outcome_is_input_invalid() {
    let fake = FakeUpdater::default();
    let e = update(&input("conatined", state()), &fake, &Settings::default())
        .await
        .unwrap_err();
    assert_eq!(e.name, names::INPUT_INVALID);
    assert!(e.message.contains("conatined"), "{}", e.message);
    assert!(fake.sent().is_empty());
}

// -------------------------------------------------------------------------------------------
// The identifiers
// -------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_identifiers_are_the_finding_arn_and_guardduty_s_product_arn() {
    let (r, fake) = run(&input("contained", contained_state())).await;
    let sent = fake.sent();
    assert_eq!(
        sent[0].target,
        Target {
            finding_arn: FINDING_ARN.into(),
            product_arn: GUARDDUTY_PRODUCT.into(),
            region: "eu-west-1".into(),
        }
    );
    assert_eq!(r.evidence["findingId"], FINDING_ARN);
    assert_eq!(r.evidence["productArn"], GUARDDUTY_PRODUCT);
    assert_eq!(r.actions[0].target, FINDING_ARN);
    assert_eq!(r.task, TASK);
}

#[test]
fn the_product_arn_follows_the_partition_and_region() {
    assert_eq!(
        target::guardduty_product_arn("aws-us-gov", "us-gov-west-1"),
        "arn:aws-us-gov:securityhub:us-gov-west-1::product/aws/guardduty"
    );
}

/// A finding ARN that does not identify the finding, or is not GuardDuty's, updates nothing:
/// (what is changed in the state document, the reason reported).
#[tokio::test]
async fn only_a_finding_arn_that_agrees_with_the_finding_is_used() {
    let arn = |s: &str| json!(s);
    let cases: &[(&str, Option<Value>, &str)] = &[
        ("no ARN", None, "carries no finding ARN"),
        ("empty", Some(arn(" ")), "carries no finding ARN"),
        (
            "another service",
            Some(arn("arn:aws:securityhub:eu-west-1:222222222222:subscription/x/finding/9a1c3e5a7c9e1b3d5f7a9c1e3b5d7f44")),
            "not a GuardDuty finding ARN",
        ),
        (
            "a detector, not a finding",
            Some(arn("arn:aws:guardduty:eu-west-1:222222222222:detector/4e6f8a0b2c4d6e8f0a1b3c5d7e9f1a2b")),
            "not a GuardDuty finding ARN",
        ),
        (
            "an extra segment",
            Some(arn(&format!("{FINDING_ARN}/x"))),
            "not a GuardDuty finding ARN",
        ),
        (
            "another account",
            Some(arn(&FINDING_ARN.replace("222222222222", "666666666666"))),
            "has account \"666666666666\" where \"222222222222\" was expected",
        ),
        (
            "another region",
            Some(arn(&FINDING_ARN.replace("eu-west-1", "us-east-1"))),
            "has region \"us-east-1\" where \"eu-west-1\" was expected",
        ),
        (
            "another partition",
            Some(arn(&FINDING_ARN.replace("arn:aws:", "arn:aws-cn:"))),
            "has partition \"aws-cn\"",
        ),
        (
            "another finding",
            Some(arn(&FINDING_ARN.replace("9a1c3e5a7c9e1b3d5f7a9c1e3b5d7f44", "0000"))),
            "has finding id \"0000\"",
        ),
    ];
    for (what, value, reason) in cases {
        let mut s = state();
        match value {
            Some(v) => s["finding"]["arn"] = v.clone(),
            None => {
                s["finding"].as_object_mut().unwrap().remove("arn");
            }
        }
        let (r, fake) = run(&input("contained", s)).await;
        assert!(fake.sent().is_empty(), "{what}: nothing is updated");
        let a = &r.actions[0];
        assert_eq!(a.outcome, Outcome::Skipped, "{what}");
        assert!(a.detail.contains(reason), "{what}: {}", a.detail);
    }
}

#[tokio::test]
async fn fields_an_attacker_can_write_never_reach_the_identifiers() {
    // Names, titles and tags of the member account, and product-looking fields anywhere in
    // the document, are not read for the identifiers: the product ARN is built, not read.
    let mut s = contained_state();
    s["finding"]["title"] =
        json!("arn:aws:securityhub:eu-west-1:666666666666:product/666666666666/default");
    s["ProductArn"] =
        json!("arn:aws:securityhub:eu-west-1:666666666666:product/666666666666/default");
    s["finding"]["productArn"] =
        json!("arn:aws:securityhub:eu-west-1:666666666666:product/666666666666/default");
    s["finding"]["resource"]["tags"] = json!([{"key": "FindingArn", "value": "arn:aws:guardduty:eu-west-1:666666666666:detector/d/finding/f"}]);
    let (_, fake) = run(&input("contained", s)).await;
    let t = &fake.sent()[0].target;
    assert_eq!(t.finding_arn, FINDING_ARN);
    assert_eq!(t.product_arn, GUARDDUTY_PRODUCT);
}

#[tokio::test]
async fn a_document_without_a_finding_updates_nothing() {
    for s in [
        json!({}),
        json!({"event": {"detail": {"arn": FINDING_ARN}}}),
        Value::Null,
    ] {
        let (r, fake) = run(&input("failed", s.clone())).await;
        assert!(fake.sent().is_empty(), "{s}");
        assert_eq!(r.actions[0].outcome, Outcome::Skipped);
        assert_eq!(r.actions[0].detail, "the state document names no finding");
    }
    let mut s = state();
    s["finding"] = json!({"id": "x"});
    let (r, _) = run(&input("failed", s)).await;
    assert!(
        r.actions[0]
            .detail
            .starts_with("the state document's finding is not a finding"),
        "{}",
        r.actions[0].detail
    );
}

#[tokio::test]
async fn a_restore_request_names_its_finding_by_finding_arn() {
    let request = |extra: Value| {
        let mut r = json!({
            "accountId": "222222222222", "region": "eu-west-1", "instanceId": "i-0b2c3d4e5f6a70804",
            "reason": "false positive", "requestedBy": "analyst@example.com",
            "restore": report("restore", &[("set-interface-groups", "eni-0b2c3d4e5f6a70801", "changed")]),
        });
        r.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        r
    };
    let (r, fake) = run(&input(
        "restored",
        request(json!({"findingArn": FINDING_ARN})),
    ))
    .await;
    let sent = fake.sent();
    assert_eq!(sent[0].target.finding_arn, FINDING_ARN);
    assert_eq!(sent[0].target.product_arn, GUARDDUTY_PRODUCT);
    assert_eq!(sent[0].status, Some(WorkflowStatus::Resolved));
    assert_eq!(r.actions[0].outcome, Outcome::Changed);

    let (r, fake) = run(&input("restored", request(json!({})))).await;
    assert!(fake.sent().is_empty());
    assert!(
        r.actions[0].detail.contains("add findingArn"),
        "{}",
        r.actions[0].detail
    );

    // The ARN must be of the request's account.
    let (r, fake) = run(&input(
        "failed",
        request(json!({"findingArn": FINDING_ARN, "accountId": "333333333333"})),
    ))
    .await;
    assert!(fake.sent().is_empty());
    assert!(
        r.actions[0].detail.contains("has account"),
        "{}",
        r.actions[0].detail
    );

    // A restore started with a task input document names the finding itself.
    let mut s = state();
    s["restore"] = report("restore", &[]);
    let (_, fake) = run(&input("restored", s)).await;
    assert_eq!(fake.sent()[0].target.finding_arn, FINDING_ARN);
}

// -------------------------------------------------------------------------------------------
// The note
// -------------------------------------------------------------------------------------------

fn note_for(outcome: &str, state: Value) -> String {
    note::compose(
        PipelineOutcome::parse(outcome).unwrap(),
        &state,
        Some(EXECUTION),
    )
}

fn check(outcome: &str, state: Value, want: Expect) {
    let note = note_for(outcome, state);
    assert!(note.len() <= MAX_NOTE_BYTES);
    want.assert_eq(&note);
}

#[test]
fn the_note_of_a_contained_instance() {
    check(
        "contained",
        contained_state(),
        expect![[
            r#"GuardDuty Responder: contained. Changed: set-interface-groups eni-0b2c3d4e5f6a70801; create-network-acl-entries acl-0aa; set-termination-protection i-0b2c3d4e5f6a70804; create-snapshots i-0b2c3d4e5f6a70804. Execution: arn:aws:states:eu-west-1:111111111111:execution:guardduty-responder-remediate-finding:9a1c3e5a7c9e"#
        ]],
    );
}

#[test]
fn the_note_of_a_failure_keeps_the_error_on_one_line() {
    let mut s = state();
    s["error"] = json!({
        "Error": "Remediation.AccessDenied",
        "Cause": "ec2:DescribeInstances failed:\n  AccessDenied:\tnot authorized \u{202E}gnp.exe"
    });
    s["results"]["revoke"] = report("revoke", &[("deactivate-key", "AKIAEXAMPLE", "changed")]);
    check(
        "failed",
        s,
        expect!["GuardDuty Responder: failed. Error Remediation.AccessDenied: ec2:DescribeInstances failed: AccessDenied: not authorized gnp.exe. Changed: deactivate-key AKIAEXAMPLE. Execution: arn:aws:states:eu-west-1:111111111111:execution:guardduty-responder-remediate-finding:9a1c3e5a7c9e"],
    );
    // Isolation's failure is kept inside the containment's results.
    let mut s = contained_state();
    s["containment"]["isolate"] =
        json!({"task": "isolate", "error": "Remediation.Throttled", "cause": "slow down"});
    check(
        "failed",
        s,
        expect!["GuardDuty Responder: failed. Error Remediation.Throttled: slow down. Changed: create-snapshots i-0b2c3d4e5f6a70804. Execution: arn:aws:states:eu-west-1:111111111111:execution:guardduty-responder-remediate-finding:9a1c3e5a7c9e"],
    );
}

#[test]
fn the_notes_of_the_outcomes_that_change_nothing() {
    let mut s = state();
    s["results"]["exemption"] = json!({"status": "exempt", "reason": "policy: exemptions.instances i-0b2c3d4e5f6a70804 (load test)"});
    check(
        "skipped",
        s,
        expect!["GuardDuty Responder: skipped. Why: policy: exemptions.instances i-0b2c3d4e5f6a70804 (load test). Nothing changed. Execution: arn:aws:states:eu-west-1:111111111111:execution:guardduty-responder-remediate-finding:9a1c3e5a7c9e"],
    );
    check(
        "approval-timed-out",
        state(),
        expect!["GuardDuty Responder: no analyst answered the approval request in time. Nothing changed. Execution: arn:aws:states:eu-west-1:111111111111:execution:guardduty-responder-remediate-finding:9a1c3e5a7c9e"],
    );
}

#[test]
fn the_note_of_a_partial_containment_names_the_shortfall() {
    let mut s = contained_state();
    s["containment"]["isolate"]["incomplete"] = json!([{
        "error": "Remediation.NetworkAclFull", "action": "create-network-acl-entries",
        "detail": "acl-0bb has no free rule number below its first allow entry"
    }]);
    check(
        "partially-contained",
        s,
        expect!["GuardDuty Responder: partially contained. Fell short: Remediation.NetworkAclFull in create-network-acl-entries: acl-0bb has no free rule number below its first allow entry. Changed: set-interface-groups eni-0b2c3d4e5f6a70801; create-network-acl-entries acl-0aa; set-termination-protection i-0b2c3d4e5f6a70804; create-snapshots i-0b2c3d4e5f6a70804. Execution: arn:aws:states:eu-west-1:111111111111:execution:guardduty-responder-remediate-finding:9a1c3e5a7c9e"],
    );
}

#[test]
fn a_long_list_of_changes_ends_with_how_many_did_not_fit() {
    let many: Vec<(String, String, String)> = (0..40)
        .map(|i| {
            (
                "set-interface-groups".into(),
                format!("eni-{i:017}"),
                "changed".into(),
            )
        })
        .collect();
    let refs: Vec<(&str, &str, &str)> = many
        .iter()
        .map(|(a, t, o)| (a.as_str(), t.as_str(), o.as_str()))
        .collect();
    let mut s = state();
    s["containment"] = json!({ "isolate": report("isolate", &refs) });
    let note = note_for("contained", s);
    assert!(note.len() <= MAX_NOTE_BYTES, "{}", note.len());
    let listed = note.matches("set-interface-groups eni-").count();
    assert!(listed > 3, "{note}");
    assert!(
        note.contains(&format!("; +{} more. Execution: {EXECUTION}", 40 - listed)),
        "{note}"
    );
}

/// The note stays within Security Hub's 512 characters, on one line, and keeps the execution,
/// for every outcome and whatever the state document holds.
#[test]
fn the_note_never_exceeds_the_limit() {
    let long = "é漢🙂".repeat(400);
    let control =
        "line\nbreak\r\ttab\u{0}\u{7f}\u{85}\u{2028}\u{200B}\u{202E}\u{2066}end ".repeat(100);
    let targets: Vec<String> = (0..300).map(|i| format!("{long}-{i}")).collect();
    let actions: Vec<(&str, &str, &str)> = targets
        .iter()
        .map(|t| (long.as_str(), t.as_str(), "changed"))
        .collect();
    let mut huge = contained_state();
    huge["results"]["exemption"] = json!({"status": "exempt", "reason": control});
    huge["results"]["revoke"] = report("revoke", &actions);
    huge["error"] = json!({"Error": long, "Cause": control});
    huge["decision"]["reasons"] = json!([long]);
    huge["containment"]["snapshot"] = json!({"error": control});
    huge["containment"]["isolate"]["incomplete"] =
        json!([{"error": long, "action": control, "detail": long}]);
    huge["requestedBy"] = json!(control);
    let states = [Value::Null, json!({}), state(), contained_state(), huge];
    for outcome in PipelineOutcome::ALL {
        for (i, s) in states.iter().enumerate() {
            let note = note::compose(outcome, s, Some(EXECUTION));
            let case = format!("{outcome:?} state {i}: {note}");
            assert!(note.len() <= MAX_NOTE_BYTES, "{} bytes: {case}", note.len());
            assert!(note.chars().count() <= MAX_NOTE_BYTES, "{case}");
            assert!(note.encode_utf16().count() <= MAX_NOTE_BYTES, "{case}");
            assert_eq!(sanitize(&note), note, "one clean line: {case}");
            assert!(note.ends_with(&format!("Execution: {EXECUTION}")), "{case}");
            assert!(note.starts_with("GuardDuty Responder: "), "{case}");
        }
        // Even an execution ARN longer than the limit gives a note within it.
        let absurd = format!("arn:aws:states:eu-west-1:111111111111:execution:m:{}", long);
        let note = note::compose(outcome, &contained_state(), Some(&absurd));
        assert!(note.len() <= MAX_NOTE_BYTES, "{}", note.len());
        let note = note::compose(outcome, &state(), None);
        assert!(note.ends_with("Execution: unknown"), "{note}");
    }
}

#[test]
fn sanitize_makes_one_line_of_plain_text_and_keeps_the_rest_verbatim() {
    let cases = [
        ("a\nb\r\nc\td", "a b c d"),
        ("  spaced   out  ", "spaced out"),
        (
            "quote \" backslash \\ json {\"k\": 1}",
            "quote \" backslash \\ json {\"k\": 1}",
        ),
        (
            "bidi \u{202E}txt.exe\u{202C} zero\u{200B}width",
            "bidi txt.exe zero width",
        ),
        ("nul\u{0}del\u{7f}c1\u{85}", "nul del c1"),
        ("ünïcödé 漢字 🙂", "ünïcödé 漢字 🙂"),
    ];
    for (raw, want) in cases {
        assert_eq!(sanitize(raw), want, "{raw:?}");
    }
}

#[test]
fn fit_cuts_at_a_character_boundary() {
    assert_eq!(note::fit("abcdef", 6), "abcdef");
    assert_eq!(note::fit("abcdefg", 6), "abc...");
    assert_eq!(note::fit("ab🙂cdef", 7), "ab...");
    assert_eq!(note::fit("abcdef", 3), "");
}

// -------------------------------------------------------------------------------------------
// Settings, dry runs, failures
// -------------------------------------------------------------------------------------------

#[test]
fn settings_read_the_environment() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    assert_eq!(
        Settings::from_lookup(env(&[])).unwrap(),
        Settings::default()
    );
    assert!(Settings::default().enabled && !Settings::default().dry_run);
    let off = Settings::from_lookup(env(&[(SETTING, "false"), ("DRY_RUN", "true")])).unwrap();
    assert_eq!((off.enabled, off.dry_run), (false, true));
    assert!(
        Settings::from_lookup(env(&[(SETTING, " ")]))
            .unwrap()
            .enabled
    );
    let e = Settings::from_lookup(env(&[(SETTING, "maybe")])).unwrap_err();
    assert_eq!(e.name, names::CONFIG_INVALID);
    assert!(e.message.contains(SETTING), "{}", e.message);
}

#[tokio::test]
async fn turned_off_it_reports_skipped_and_calls_nothing() {
    let fake = FakeUpdater::default();
    let settings = Settings {
        enabled: false,
        dry_run: false,
    };
    let r = update(&input("contained", contained_state()), &fake, &settings)
        .await
        .unwrap();
    assert!(fake.sent().is_empty());
    assert_eq!(r.actions.len(), 1);
    assert_eq!(r.actions[0].outcome, Outcome::Skipped);
    assert_eq!(r.actions[0].detail, "SECURITY_HUB_UPDATES is false");
}

#[tokio::test]
async fn a_dry_run_reports_what_it_would_write_and_calls_nothing() {
    let mut by_decision = contained_state();
    by_decision["decision"]["dryRun"] = json!(true);
    let mut by_request = json!({
        "accountId": "222222222222", "region": "eu-west-1", "instanceId": "i-0b2c3d4e5f6a70804",
        "findingArn": FINDING_ARN, "dryRun": true,
    });
    by_request["restore"] = report("restore", &[]);
    let cases = [
        ("the decision", input("contained", by_decision), false),
        ("the restore request", input("restored", by_request), false),
        ("DRY_RUN", input("contained", contained_state()), true),
    ];
    for (what, doc, setting) in cases {
        let fake = FakeUpdater::default();
        let settings = Settings {
            enabled: true,
            dry_run: setting,
        };
        let r = update(&doc, &fake, &settings).await.unwrap();
        assert!(fake.sent().is_empty(), "{what}");
        assert!(r.dry_run, "{what}");
        let a = &r.actions[0];
        assert_eq!(a.outcome, Outcome::WouldChange, "{what}");
        assert_eq!(
            a.after.as_ref().unwrap()["workflowStatus"],
            "RESOLVED",
            "{what}"
        );
        assert!(
            a.after.as_ref().unwrap()["note"]
                .as_str()
                .unwrap()
                .starts_with("GuardDuty Responder: "),
            "{what}"
        );
    }
}

#[tokio::test]
async fn an_update_failure_is_passed_on_with_its_name() {
    for name in [
        names::SECURITY_HUB_FINDING_NOT_FOUND,
        names::REMEDIATION_THROTTLED,
        names::SECURITY_HUB_UPDATE_FAILED,
    ] {
        let fake = FakeUpdater {
            fail_with: Some(name),
            ..FakeUpdater::default()
        };
        let e = update(
            &input("contained", contained_state()),
            &fake,
            &Settings::default(),
        )
        .await
        .unwrap_err();
        assert_eq!(e.name, name);
    }
}

// -------------------------------------------------------------------------------------------
// The state machines' wiring
// -------------------------------------------------------------------------------------------

const MACHINES: &[(&str, &str)] = &[
    (
        "remediate-finding",
        include_str!("../../../statemachines/remediate-finding.asl.json"),
    ),
    (
        "restore-instance",
        include_str!("../../../statemachines/restore-instance.asl.json"),
    ),
];

const RESOURCE: &str = "${UpdateSecurityHubFunctionArn}";

/// Where an update may take its outcome from: the notification's answer.
const NOTIFIED_OUTCOME: &str = "$.notification.outcome";

/// The states an update goes on to: `next` itself, or, when `next` is a choice on the
/// notification's outcome, each of its branches.
fn ends_after<'a>(states: &'a serde_json::Map<String, Value>, next: &'a str) -> Vec<&'a str> {
    let s = &states[next];
    if s["Type"] != "Choice" {
        return vec![next];
    }
    let choices = s["Choices"].as_array().expect("choices");
    assert!(
        choices.iter().all(|c| c["Variable"] == NOTIFIED_OUTCOME),
        "{next} chooses on the notified outcome only"
    );
    choices
        .iter()
        .filter_map(|c| c["Next"].as_str())
        .chain(s["Default"].as_str())
        .collect()
}

/// Every notification of an outcome with a finding is followed by the Security Hub update of
/// the same outcome, which goes on to the end state the notification went to before, whether
/// it succeeds or fails: its result and its failure land in `$.securityHub` only.
#[test]
fn every_notified_outcome_is_recorded_in_security_hub_without_changing_its_end() {
    for (machine, text) in MACHINES {
        let def: Value = serde_json::from_str(text).unwrap();
        let states = def["States"].as_object().unwrap();
        let mut updates = 0;
        for (name, state) in states {
            if state["Resource"] != RESOURCE {
                continue;
            }
            updates += 1;
            let p = &state["Parameters"];
            // The outcome is the update's own, or (an attack sequence's plan, whose items decide
            // it) the one the notification before it announced and answered.
            let outcome = p["outcome"].as_str();
            match outcome {
                Some(o) => assert!(PipelineOutcome::parse(o).is_some(), "{machine}.{name}: {o}"),
                None => assert_eq!(
                    p["outcome.$"], NOTIFIED_OUTCOME,
                    "{machine}.{name}: an outcome of its own or the notification's"
                ),
            }
            assert_eq!(p["execution.$"], "$$.Execution.Id", "{machine}.{name}");
            assert_eq!(p["state.$"], "$", "{machine}.{name}");
            assert_eq!(state["ResultPath"], "$.securityHub", "{machine}.{name}");
            let next = state["Next"].as_str().unwrap();
            for end in ends_after(states, next) {
                assert!(
                    matches!(states[end]["Type"].as_str(), Some("Succeed" | "Fail")),
                    "{machine}.{name} goes on to an end state, not {end}"
                );
            }
            let catches = state["Catch"].as_array().unwrap();
            assert_eq!(catches.len(), 1, "{machine}.{name}");
            assert_eq!(catches[0]["ErrorEquals"], json!(["States.ALL"]));
            assert_eq!(
                catches[0]["ResultPath"], "$.securityHub",
                "{machine}.{name}"
            );
            assert_eq!(
                catches[0]["Next"], next,
                "{machine}.{name}: same end either way"
            );
            let retried: Vec<&str> = state["Retry"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|r| r["ErrorEquals"].as_array().unwrap())
                .filter_map(Value::as_str)
                .collect();
            for n in [
                names::REMEDIATION_THROTTLED,
                names::REMEDIATION_TRANSIENT,
                names::SECURITY_HUB_FINDING_NOT_FOUND,
            ] {
                assert!(
                    retried.contains(&n.as_str()),
                    "{machine}.{name} retries {n}"
                );
            }
            // Every notification leading here announced the same outcome.
            let notifies: Vec<(&String, &Value)> = states
                .iter()
                .filter(|(_, s)| s["Next"] == name.as_str())
                .collect();
            assert!(!notifies.is_empty(), "{machine}.{name} is reached");
            for (n, s) in notifies {
                match outcome {
                    Some(o) => assert_eq!(s["Parameters"]["outcome"], o, "{machine}.{n} -> {name}"),
                    None => assert_eq!(
                        s["Resource"], "${NotifyFunctionArn}",
                        "{machine}.{n} -> {name}: the outcome comes from a notification"
                    ),
                }
            }
        }
        // Every end state but those of an event without a finding and of a failed
        // notification is reached through an update.
        for (name, state) in states {
            let end = matches!(state["Type"].as_str(), Some("Succeed" | "Fail"));
            if !end || name == "EventRejected" || name == "NotificationFailed" {
                continue;
            }
            let via_update = states.values().any(|s| {
                s["Resource"] == RESOURCE
                    && s["Next"]
                        .as_str()
                        .is_some_and(|n| ends_after(states, n).contains(&name.as_str()))
            });
            assert!(
                via_update,
                "{machine}: {name} is not reached through an update"
            );
            let other = states.iter().find(|(_, s)| {
                s["Resource"] != RESOURCE && s["Next"] == name.as_str() && s["Type"] == "Task"
            });
            assert!(
                other.is_none(),
                "{machine}: {name} is also reached directly from {:?}",
                other.map(|(n, _)| n)
            );
        }
        assert!(updates > 0, "{machine} updates Security Hub");
    }
}
