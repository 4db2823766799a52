//! Unit tests of the decision: tiers, dispositions, and the reasons with their sources.

use super::*;
use crate::finding::{CredentialKind, Finding, Resource};
use serde_json::{json, Value};

fn event(detail: Value) -> Value {
    json!({
        "version": "0",
        "id": "6a7b8c9d-0000-4000-8000-000000000001",
        "detail-type": "GuardDuty Finding",
        "source": "aws.guardduty",
        "account": "111111111111",
        "region": "eu-west-1",
        "detail": detail,
    })
}

fn ec2(severity: f64, ty: &str, account: &str) -> Finding {
    Finding::from_event(&event(json!({
        "accountId": account, "region": "eu-west-1", "partition": "aws",
        "id": "0123456789abcdef0123456789abcdef", "type": ty, "severity": severity,
        "resource": {"resourceType": "Instance", "instanceDetails": {"instanceId": "i-0123456789abcdef0"}},
        "service": {"count": 1, "archived": false},
    })))
    .expect("finding")
}

fn iam(key: &str, user_type: &str) -> Finding {
    Finding::from_event(&event(json!({
        "accountId": "111111111111", "region": "eu-west-1",
        "id": "fedcba9876543210fedcba9876543210",
        "type": "UnauthorizedAccess:IAMUser/MaliciousIPCaller", "severity": 8,
        "resource": {"resourceType": "AccessKey", "accessKeyDetails": {
            "accessKeyId": key, "userType": user_type, "userName": "build-bot"}},
    })))
    .expect("finding")
}

const BACKDOOR: &str = "Backdoor:EC2/C&CActivity.B";

#[test]
fn tiers_follow_thresholds_at_their_bounds() {
    let p = Policy::default();
    assert_eq!(p.tier(10.0), Tier::Critical);
    assert_eq!(p.tier(9.0), Tier::Critical);
    assert_eq!(p.tier(8.9), Tier::High);
    assert_eq!(p.tier(7.0), Tier::High);
    assert_eq!(p.tier(6.9), Tier::Medium);
    assert_eq!(p.tier(4.0), Tier::Medium);
    assert_eq!(p.tier(3.9), Tier::Low);
    assert_eq!(p.tier(0.0), Tier::Low);
}

#[test]
fn dispositions_by_tier() {
    let p = Policy::default();
    let d = |s| p.decide(&ec2(s, BACKDOOR, "111111111111")).disposition;
    assert_eq!(d(9.5), Disposition::Contain);
    assert_eq!(d(8.0), Disposition::Contain);
    assert_eq!(d(5.0), Disposition::RequestApproval);
    assert_eq!(d(2.0), Disposition::Notify);
}

#[test]
fn excluded_and_not_included_accounts_are_notified_only() {
    let f = ec2(8.0, BACKDOOR, "222222222222");
    let p = Policy {
        exclude_accounts: vec!["222222222222".into()],
        ..Policy::default()
    };
    let d = p.decide(&f);
    assert_eq!(d.disposition, Disposition::Notify);
    assert!(d.reasons.iter().any(|r| r
        == "account 222222222222 from the finding (detail.accountId) is excluded (policy: exclude_accounts); notify only"));
    let p = Policy {
        include_accounts: vec!["111111111111".into()],
        ..Policy::default()
    };
    let d = p.decide(&f);
    assert_eq!(d.disposition, Disposition::Notify);
    assert!(d.reasons.iter().any(|r| r
        == "account 222222222222 from the finding (detail.accountId) is not among the included accounts (policy: include_accounts); notify only"));
    assert_eq!(
        p.decide(&ec2(8.0, BACKDOOR, "111111111111")).disposition,
        Disposition::Contain
    );
}

#[test]
fn dry_run_is_global_or_per_route() {
    let f_ec2 = ec2(8.0, BACKDOOR, "111111111111");
    let f_iam = iam("AKIA4EXAMPLEBUILDBOT", "IAMUser");
    let mut p = Policy::default();
    p.ec2.dry_run = true;
    let d = p.decide(&f_ec2);
    assert!(d.dry_run);
    assert_eq!(
        d.disposition,
        Disposition::Contain,
        "a dry run still decides"
    );
    assert!(d.reasons.iter().any(|r| r.contains("dry run")));
    assert!(
        !p.decide(&f_iam).dry_run,
        "the ec2 route's dry run does not reach iam"
    );
    let p = Policy {
        dry_run: true,
        ..Policy::default()
    };
    assert!(p.decide(&f_ec2).dry_run && p.decide(&f_iam).dry_run);
    // A notify-only decision carries the flag but no dry-run reason (nothing would change).
    let d = p.decide(&ec2(2.0, BACKDOOR, "111111111111"));
    assert!(d.dry_run && !d.reasons.iter().any(|r| r.contains("dry run")));
}

#[test]
fn disabled_route_notifies() {
    let mut p = Policy::default();
    p.iam.enabled = false;
    let d = p.decide(&iam("AKIA4EXAMPLEBUILDBOT", "IAMUser"));
    assert_eq!(d.route, Route::Iam);
    assert_eq!(d.disposition, Disposition::Notify);
    assert!(d
        .reasons
        .iter()
        .any(|r| r.contains("iam route is disabled")));
}

#[test]
fn credential_kinds_decide_iam_actions() {
    let p = Policy::default();
    let kind = |k, t| {
        iam(k, t)
            .access_key()
            .map(|a| a.credential_kind)
            .expect("access key")
    };
    assert_eq!(
        kind("AKIA4EXAMPLE", "IAMUser"),
        CredentialKind::LongTermUserKey
    );
    assert_eq!(kind("ASIA4EXAMPLE", "IAMUser"), CredentialKind::UserSession);
    assert_eq!(
        kind("ASIA4EXAMPLE", "AssumedRole"),
        CredentialKind::RoleSession
    );
    assert_eq!(kind("ASIA4EXAMPLE", "Root"), CredentialKind::Root);
    assert_eq!(
        kind("GeneratedFindingAccessKeyId", "IAMUser"),
        CredentialKind::Unknown
    );
    assert_eq!(
        kind("ASIA4EXAMPLE", "FederatedUser"),
        CredentialKind::Unknown
    );
    let d = p.decide(&iam("GeneratedFindingAccessKeyId", "IAMUser"));
    assert_eq!(d.disposition, Disposition::Notify);
    assert!(d
        .reasons
        .iter()
        .any(|r| r.contains("not a recognised credential")));
    let d = p.decide(&iam("ASIA4EXAMPLE", "Root"));
    assert_eq!(d.disposition, Disposition::Notify);
}

#[test]
fn an_analyst_request_keeps_the_rules_and_says_who_asked() {
    use crate::finding::SecurityHubOrigin;
    let origin = |mapped: bool| SecurityHubOrigin {
        action_name: "Contain (responder)".into(),
        asff_type: "TTPs/Command and Control/Backdoor:EC2-C&CActivity.B".into(),
        type_mapped: mapped,
    };
    let requested = |severity: f64, mapped: bool| Finding {
        requested_by_analyst: true,
        security_hub: Some(origin(mapped)),
        host_evidence: None,
        kubernetes: None,
        sequence: None,
        ..ec2(severity, BACKDOOR, "111111111111")
    };
    let p = Policy::default();
    let d = p.decide(&requested(5.0, true));
    assert_eq!(
        d.disposition,
        Disposition::RequestApproval,
        "MEDIUM still asks"
    );
    assert_eq!(
        d.reasons[0],
        "requested through the Security Hub custom action \"Contain (responder)\" (detail.actionName)"
    );
    assert!(d
        .reasons
        .iter()
        .any(|r| r.contains("rebuilt from the Security Hub type")));
    assert_eq!(
        p.decide(&requested(8.0, true)).disposition,
        Disposition::Contain
    );
    assert_eq!(
        p.decide(&requested(2.0, true)).disposition,
        Disposition::Notify
    );
    // A type that could not be rebuilt is never acted on, whatever the severity.
    let d = p.decide(&requested(8.0, false));
    assert_eq!(d.disposition, Disposition::Notify);
    assert!(d
        .reasons
        .iter()
        .any(|r| r.contains("does not map to a GuardDuty finding type")));
    // GuardDuty's own events carry none of these reasons.
    let d = p.decide(&ec2(8.0, BACKDOOR, "111111111111"));
    assert!(!d.reasons.iter().any(|r| r.contains("Security Hub")));
}

#[test]
fn decision_serializes_with_the_names_the_state_machine_matches() {
    let d = Policy::default().decide(&ec2(5.0, BACKDOOR, "111111111111"));
    let v = serde_json::to_value(&d).expect("json");
    assert_eq!(v["tier"], "MEDIUM");
    assert_eq!(v["route"], "ec2");
    assert_eq!(v["disposition"], "request-approval");
    assert_eq!(v["dryRun"], false);
    assert!(v["idempotencyKey"]
        .as_str()
        .is_some_and(|k| k.starts_with("gd-")));
    let n = Policy::default().decide(
        &Finding::from_event(&event(json!({
            "accountId": "111111111111", "region": "eu-west-1", "id": "abc", "type": "Execution:Runtime/ReverseShell",
            "severity": 5, "resource": {"resourceType": "ECSCluster"}})))
        .expect("finding"),
    );
    assert_eq!(serde_json::to_value(n.route).expect("json"), "notify-only");
}

/// An instance finding with the given `service` object.
fn ec2_service(severity: f64, ty: &str, service: Value) -> Finding {
    Finding::from_event(&event(json!({
        "accountId": "111111111111", "region": "eu-west-1", "partition": "aws",
        "id": "0123456789abcdef0123456789abcdef", "type": ty, "severity": severity,
        "resource": {"resourceType": "Instance", "instanceDetails": {"instanceId": "i-0123456789abcdef0"}},
        "service": service,
    })))
    .expect("finding")
}

const SSH: &str = "UnauthorizedAccess:EC2/SSHBruteForce";

fn ssh_connection(direction: &str, local: u16) -> Value {
    json!({"actionType": "NETWORK_CONNECTION", "networkConnectionAction": {
        "connectionDirection": direction, "localPortDetails": {"port": local}}})
}

#[test]
fn a_contain_decision_names_every_input() {
    let d = Policy::default().decide(&ec2(8.0, BACKDOOR, "111111111111"));
    assert_eq!(
        d.reasons,
        [
            "resource type \"Instance\" from the finding (detail.resource.resourceType): route ec2",
            "finding type \"Backdoor:EC2/C&CActivity.B\" from the finding (detail.type) is in the ec2 route's allow list (policy: ec2.finding_type_prefixes \"Backdoor:EC2/\")",
            "severity 8.0 from the finding (detail.severity) is HIGH (policy: high_severity 7.0); contain now",
        ]
    );
    assert_eq!(d.recommended_fix, None);
    let d = Policy::default().decide(&ec2(2.5, BACKDOOR, "111111111111"));
    assert_eq!(
        d.reasons.last().map(String::as_str),
        Some("severity 2.5 from the finding (detail.severity) is LOW (below policy: medium_severity 4.0); record only")
    );
}

/// A severity just under a threshold must not be printed as the threshold.
#[test]
fn severities_are_printed_unrounded() {
    assert_eq!(severity_text(8.0), "8.0");
    assert_eq!(severity_text(6.95), "6.95");
    assert_eq!(severity_text(10.0), "10.0");
    let d = Policy::default().decide(&ec2(6.95, BACKDOOR, "111111111111"));
    assert!(d
        .reasons
        .iter()
        .any(|r| r.starts_with("severity 6.95 from the finding")));
}

#[test]
fn the_target_of_a_brute_force_is_notified_with_the_fix_not_isolated() {
    let f = ec2_service(
        8.0,
        SSH,
        json!({"resourceRole": "TARGET", "action": ssh_connection("INBOUND", 22)}),
    );
    let d = Policy::default().decide(&f);
    assert_eq!(
        (d.tier, d.route, d.disposition),
        (Tier::High, Route::NotifyOnly, Disposition::Notify),
        "{:?}",
        d.reasons
    );
    let fix = "restrict SSH (port 22) to known addresses in the instance's security groups and network ACLs, or close it and connect through Session Manager; check the instance's SSH log for a login that succeeded";
    assert_eq!(d.recommended_fix.as_deref(), Some(fix));
    assert_eq!(
        d.reasons,
        [
            "resource role TARGET from the finding (detail.service.resourceRole)".to_string(),
            "instance port 22 from the finding (detail.service.action)".to_string(),
            format!("the instance is the target of {SSH}, not its actor: {fix}"),
            "built-in victim table: the target of an attack is notified with the fix, not isolated; route notify-only".to_string(),
        ]
    );
    // The fix reaches the task document.
    let v = serde_json::to_value(&d).expect("json");
    assert_eq!(v["recommendedFix"], fix);
    assert_eq!(v["route"], "notify-only");
}

#[test]
fn the_actor_of_a_brute_force_is_contained_and_an_unknown_role_decides_nothing() {
    let actor = ec2_service(
        8.0,
        SSH,
        json!({"resourceRole": "actor", "action": ssh_connection("OUTBOUND", 50123)}),
    );
    let d = Policy::default().decide(&actor);
    assert_eq!((d.route, d.disposition), (Route::Ec2, Disposition::Contain));
    assert_eq!(d.recommended_fix, None);
    assert_eq!(
        d.reasons[1..3],
        [
            "resource role ACTOR from the finding (detail.service.resourceRole)",
            "built-in victim table: the instance is the actor of UnauthorizedAccess:EC2/SSHBruteForce, not its target; the usual rules decide",
        ]
    );
    // Without a role the table does not guess: decided by severity, as before.
    let unknown = ec2_service(8.0, SSH, json!({"count": 1}));
    let d = Policy::default().decide(&unknown);
    assert_eq!((d.route, d.disposition), (Route::Ec2, Disposition::Contain));
    assert_eq!(
        d.reasons[1],
        "no resource role from the finding (detail.service.resourceRole): the built-in victim table cannot tell whether the instance is the target or the actor of UnauthorizedAccess:EC2/SSHBruteForce; decided by severity"
    );
    // A type outside the table says nothing about roles, whatever the finding carries.
    let d = Policy::default().decide(&ec2_service(
        8.0,
        BACKDOOR,
        json!({"resourceRole": "TARGET"}),
    ));
    assert!(
        !d.reasons.iter().any(|r| r.contains("role")),
        "{:?}",
        d.reasons
    );
}

#[test]
fn a_port_probe_is_a_victim_whatever_its_severity_and_role() {
    let probe = |severity: f64, role: Value| {
        ec2_service(
            severity,
            "Recon:EC2/PortProbeUnprotectedPort",
            json!({"resourceRole": role, "action": {"actionType": "PORT_PROBE", "portProbeAction": {
                "portProbeDetails": [{"localPortDetails": {"port": 9300}}, {"localPortDetails": {"port": 9200}}]}}}),
        )
    };
    for (severity, role) in [
        (8.0, json!("TARGET")),
        (2.0, json!(null)),
        (9.5, json!("ACTOR")),
    ] {
        let d = Policy::default().decide(&probe(severity, role.clone()));
        assert_eq!(
            (d.route, d.disposition),
            (Route::NotifyOnly, Disposition::Notify),
            "{severity} {role}"
        );
        assert!(
            d.recommended_fix
                .as_deref()
                .is_some_and(|f| f.starts_with("close ports 9200 and 9300 to the internet")),
            "{:?}",
            d.recommended_fix
        );
        // The role is not what decided, so it is not named.
        assert!(
            !d.reasons.iter().any(|r| r.starts_with("resource role")),
            "{:?}",
            d.reasons
        );
        assert!(d.reasons.contains(
            &"instance ports 9200 and 9300 from the finding (detail.service.action)".to_string()
        ));
    }
}

#[test]
fn dry_run_and_disabled_routes_name_their_setting() {
    let mut p = Policy::default();
    p.ec2.dry_run = true;
    let d = p.decide(&ec2(8.0, BACKDOOR, "111111111111"));
    assert_eq!(
        d.reasons.last().map(String::as_str),
        Some("dry run (policy: ec2.dry_run): actions report what they would change")
    );
    let p = Policy {
        dry_run: true,
        ..Policy::default()
    };
    let d = p.decide(&ec2(8.0, BACKDOOR, "111111111111"));
    assert_eq!(
        d.reasons.last().map(String::as_str),
        Some("dry run (policy: dry_run, or DRY_RUN): actions report what they would change")
    );
    let mut p = Policy::default();
    p.ec2.enabled = false;
    let d = p.decide(&ec2(8.0, BACKDOOR, "111111111111"));
    assert!(d
        .reasons
        .contains(&"the ec2 route is disabled (policy: ec2.enabled); notify only".to_string()));
}

#[test]
fn credential_reasons_name_the_key_and_its_source() {
    let d = Policy::default().decide(&iam("AKIA4EXAMPLEBUILDBOT", "IAMUser"));
    assert!(d.reasons.contains(&"access key \"AKIA4EXAMPLEBUILDBOT\" of user type \"IAMUser\" from the finding (detail.resource.accessKeyDetails): a long-term key of an IAM user".to_string()), "{:?}", d.reasons);
    let d = Policy::default().decide(&iam("ASIA4EXAMPLE", "Root"));
    assert!(d.reasons.contains(&"access key \"ASIA4EXAMPLE\" of user type \"Root\" from the finding (detail.resource.accessKeyDetails): root credentials are never changed automatically; notify only".to_string()), "{:?}", d.reasons);
}

mod false_positives {
    use super::*;
    use crate::false_positives::{LedgerInput, LedgerReading, Verdict};

    fn reading(actions: u32, false_positives: u32, first_crossing: bool) -> LedgerInput {
        LedgerInput::Reading(LedgerReading {
            finding_type: BACKDOOR.into(),
            actions,
            false_positives,
            window_days: 7,
            since: "2025-02-01T16:00:00Z".into(),
            reenabled_at: None,
            first_crossing,
        })
    }

    /// name, severity, ledger, disposition, verdict kept in the decision
    type GateCase = (
        &'static str,
        f64,
        Option<LedgerInput>,
        Disposition,
        Option<Verdict>,
    );

    /// Above the threshold a `contain` becomes a request for approval, never anything less;
    /// at or under it, with too few actions, or without a readable ledger, containment stays
    /// automatic; other dispositions are left as they are.
    #[test]
    fn the_gate_turns_contain_into_approval_and_never_less() {
        let unavailable = LedgerInput::Unavailable("Remediation.Transient: timeout".into());
        let cases: &[GateCase] = &[
            // name, severity, ledger, disposition, verdict kept in the decision
            ("HIGH, no ledger", 8.0, None, Disposition::Contain, None),
            (
                "HIGH, above",
                8.0,
                Some(reading(8, 2, false)),
                Disposition::RequestApproval,
                Some(Verdict::ApprovalFirst),
            ),
            (
                "CRITICAL, above",
                9.5,
                Some(reading(8, 2, true)),
                Disposition::RequestApproval,
                Some(Verdict::ApprovalFirst),
            ),
            (
                "HIGH, exactly the threshold",
                8.0,
                Some(reading(10, 1, false)),
                Disposition::Contain,
                Some(Verdict::Automatic),
            ),
            (
                "HIGH, under",
                8.0,
                Some(reading(20, 1, false)),
                Disposition::Contain,
                Some(Verdict::Automatic),
            ),
            (
                "HIGH, too few actions",
                8.0,
                Some(reading(4, 4, false)),
                Disposition::Contain,
                Some(Verdict::TooFewActions),
            ),
            (
                "HIGH, ledger unavailable",
                8.0,
                Some(unavailable.clone()),
                Disposition::Contain,
                Some(Verdict::LedgerUnavailable),
            ),
            (
                "MEDIUM, above",
                5.0,
                Some(reading(8, 2, false)),
                Disposition::RequestApproval,
                None,
            ),
            (
                "MEDIUM, unavailable",
                5.0,
                Some(unavailable),
                Disposition::RequestApproval,
                None,
            ),
            (
                "LOW, above",
                2.0,
                Some(reading(8, 2, false)),
                Disposition::Notify,
                None,
            ),
            // The first execution after the crossing tells the team, whatever its own finding.
            (
                "LOW, above, first crossing",
                2.0,
                Some(reading(8, 2, true)),
                Disposition::Notify,
                Some(Verdict::ApprovalFirst),
            ),
        ];
        let p = Policy::default();
        for (name, severity, ledger, disposition, verdict) in cases {
            let f = ec2(*severity, BACKDOOR, "111111111111");
            let d = p.decide_with(&f, ledger.as_ref());
            assert_eq!(d.disposition, *disposition, "{name}: {:?}", d.reasons);
            assert_eq!(
                d.false_positives.as_ref().map(|c| c.verdict),
                *verdict,
                "{name}"
            );
            let named = d
                .reasons
                .iter()
                .filter(|r| r.contains("false-positive ledger"))
                .count();
            assert_eq!(
                named,
                usize::from(verdict.is_some()),
                "{name}: {:?}",
                d.reasons
            );
            // The rest of the decision is the one without the ledger.
            let plain = p.decide(&f);
            assert_eq!((d.tier, d.route), (plain.tier, plain.route), "{name}");
        }
    }

    #[test]
    fn the_numbers_come_last_after_the_tier_they_override() {
        let d = Policy::default().decide_with(
            &ec2(8.0, BACKDOOR, "111111111111"),
            Some(&reading(8, 2, false)),
        );
        let n = d.reasons.len();
        assert_eq!(
            d.reasons[n - 2],
            "severity 8.0 from the finding (detail.severity) is HIGH (policy: high_severity 7.0); contain now"
        );
        assert_eq!(
            d.reasons[n - 1],
            "false positives of Backdoor:EC2/C&CActivity.B: 2 of 8 automatic actions (25%) over 7 days, above 10% (false-positive ledger of the security account, written by the pipeline and analysts; policy: false_positives.threshold_percent 10, window_days 7, min_actions 5): approval first"
        );
        let json = serde_json::to_value(&d).expect("json");
        assert_eq!(json["disposition"], "request-approval");
        assert_eq!(json["falsePositives"]["verdict"], "approval-first");
        assert_eq!(json["falsePositives"]["falsePositives"], 2);
        // Without a reading the document is as before: no key at all.
        let plain =
            serde_json::to_value(Policy::default().decide(&ec2(8.0, BACKDOOR, "111111111111")))
                .expect("json");
        assert!(plain.get("falsePositives").is_none());
    }

    /// Stolen instance credentials whose type turned to approval first: the instance is no
    /// longer isolated at once (that follows the disposition), only asked for.
    #[test]
    fn a_turned_type_no_longer_isolates_the_source_instance_at_once() {
        let ty = "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS";
        let f = Finding::from_event(&event(json!({
            "accountId": "111111111111", "region": "eu-west-1",
            "id": "00112233445566778899aabbccddeeff", "type": ty, "severity": 8,
            "resource": {"resourceType": "AccessKey", "accessKeyDetails": {
                "accessKeyId": "ASIA4EXAMPLEROLE", "userType": "AssumedRole", "userName": "web",
                "principalId": "AROA4EXAMPLEROLEID:i-0123456789abcdef0"}},
        })))
        .expect("finding");
        let p = Policy::default();
        assert!(p.decide(&f).isolate_source);
        let above = LedgerInput::Reading(LedgerReading {
            finding_type: ty.into(),
            actions: 5,
            false_positives: 1,
            window_days: 7,
            since: "2025-02-01T16:00:00Z".into(),
            reenabled_at: None,
            first_crossing: false,
        });
        let d = p.decide_with(&f, Some(&above));
        assert_eq!(d.disposition, Disposition::RequestApproval);
        assert!(!d.isolate_source);
        assert_eq!(d.source_instance.as_deref(), Some("i-0123456789abcdef0"));
    }
}

fn function(severity: f64, role: &str) -> Finding {
    Finding::from_event(&event(json!({
        "accountId": "111111111111", "region": "eu-west-1", "partition": "aws",
        "id": "0123456789abcdef0123456789abcdee", "type": "Backdoor:Lambda/C&CActivity.B",
        "severity": severity,
        "resource": {"resourceType": "Lambda", "lambdaDetails": {
            "functionName": "thumbnailer", "role": role}},
        "service": {"count": 1, "archived": false},
    })))
    .expect("finding")
}

/// The execution role is named only with lambda.revoke_role_sessions, for a contained (or
/// approval-first) function, and only when it is a role of the function's own account.
#[test]
fn a_functions_execution_role_is_revoked_only_when_the_policy_says_so() {
    let on = Policy::from_json(r#"{"lambda": {"revoke_role_sessions": true}}"#).expect("policy");
    let own = "arn:aws:iam::111111111111:role/service/thumbnailer-role";
    let d = on.decide(&function(8.0, own));
    assert_eq!(
        (d.route, d.disposition),
        (Route::Lambda, Disposition::Contain)
    );
    assert_eq!(d.revoke_role.as_deref(), Some("thumbnailer-role"));
    assert!(d
        .reasons
        .iter()
        .any(|r| r.contains("lambda.revoke_role_sessions")));
    let medium = on.decide(&function(5.0, own));
    assert_eq!(medium.disposition, Disposition::RequestApproval);
    assert_eq!(medium.revoke_role.as_deref(), Some("thumbnailer-role"));
    // LOW: recorded only, nothing revoked.
    assert_eq!(on.decide(&function(2.0, own)).revoke_role, None);
    // A role of another account, or no role ARN: not revoked, and said so.
    let other = on.decide(&function(
        8.0,
        "arn:aws:iam::999999999999:role/thumbnailer-role",
    ));
    assert_eq!(other.revoke_role, None);
    assert!(other
        .reasons
        .iter()
        .any(|r| r.contains("is not a role of account")));
    assert_eq!(
        on.decide(&function(8.0, "thumbnailer-role")).revoke_role,
        None
    );
    // The default policy: never.
    let d = Policy::default().decide(&function(8.0, own));
    assert_eq!(d.revoke_role, None);
    assert!(d
        .reasons
        .iter()
        .any(|r| r.contains("lambda.revoke_role_sessions is off")));
    let v = serde_json::to_value(on.decide(&function(8.0, own))).expect("json");
    assert_eq!(v["revokeRole"], "thumbnailer-role");
}

fn task(severity: f64, task_arn: &str) -> Result<Finding, crate::TaskError> {
    Finding::from_event(&event(json!({
        "accountId": "111111111111", "region": "eu-west-1", "partition": "aws",
        "id": "0123456789abcdef0123456789abcded", "type": "Execution:Runtime/ReverseShell",
        "severity": severity,
        "resource": {"resourceType": "ECSCluster", "ecsClusterDetails": {
            "name": "checkout", "taskDetails": {"arn": task_arn}}},
        "service": {"count": 1, "archived": false},
    })))
}

const TASK_ARN: &str =
    "arn:aws:ecs:eu-west-1:111111111111:task/checkout/0123456789abcdef0123456789abcdef";

/// An ECS task's role is shared by its whole service: its sessions are denied only when an
/// analyst approves (MEDIUM), never for a task contained at once; stopping the task is a
/// policy option, off by default. A task ARN naming another cluster, or no task, is refused.
#[test]
fn a_tasks_role_is_revoked_only_with_approval_and_stopping_is_opt_in() {
    let p = Policy::default();
    let high = p.decide(&task(8.0, TASK_ARN).expect("finding"));
    assert_eq!(
        (high.route, high.disposition),
        (Route::Ecs, Disposition::Contain)
    );
    assert!(!high.revoke_task_role && !high.stop_task);
    assert!(high
        .reasons
        .iter()
        .any(|r| r.contains("only with an analyst's approval")));
    let medium = p.decide(&task(5.0, TASK_ARN).expect("finding"));
    assert_eq!(medium.disposition, Disposition::RequestApproval);
    assert!(medium.revoke_task_role);
    let v = serde_json::to_value(&medium).expect("json");
    assert_eq!(v["revokeTaskRole"], true);
    assert!(v.get("stopTask").is_none(), "{v}");
    // LOW: recorded only.
    assert!(
        !p.decide(&task(2.0, TASK_ARN).expect("finding"))
            .revoke_task_role
    );

    let off = Policy::from_json(r#"{"ecs": {"revoke_role_sessions": false, "stop_task": true}}"#)
        .expect("policy");
    let d = off.decide(&task(5.0, TASK_ARN).expect("finding"));
    assert!(!d.revoke_task_role && d.stop_task);
    assert_eq!(
        d.route,
        Route::Ecs,
        "the section keeps the route's default types"
    );
    assert!(d.reasons.iter().any(|r| r.contains("ecs.stop_task")));

    for bad in [
        "arn:aws:ecs:eu-west-1:111111111111:task/other/0123456789abcdef0123456789abcdef",
        "arn:aws:ecs:eu-west-1:111111111111:task/0123456789abcdef0123456789abcdef",
        "arn:aws:ecs:eu-west-1:111111111111:task/checkout/*",
    ] {
        let e = task(8.0, bad).expect_err(bad);
        assert_eq!(e.name, crate::names::FINDING_INVALID, "{bad}");
    }
}

fn bucket(severity: f64, ty: &str, buckets: &[&str]) -> Finding {
    let details: Vec<Value> = buckets
        .iter()
        .map(|b| json!({"name": b, "arn": format!("arn:aws:s3:::{b}"), "type": "Destination"}))
        .collect();
    Finding::from_event(&event(json!({
        "accountId": "111111111111", "region": "eu-west-1", "partition": "aws",
        "id": "0123456789abcdef0123456789abcded", "type": ty, "severity": severity,
        "resource": {"resourceType": "S3Bucket", "s3BucketDetails": details,
            "accessKeyDetails": {"accessKeyId": "AKIAEXAMPLEEXAMPLE01", "userType": "IAMUser",
                "userName": "build-bot"}},
        "service": {"count": 1, "archived": false},
    })))
    .expect("finding")
}

/// A bucket opened to the public is contained by tier on the s3 route; what Block Public
/// Access cannot stop (a caller with credentials) and a finding about several buckets only
/// notify, each saying why.
#[test]
fn a_bucket_opened_to_the_public_is_contained_on_the_s3_route() {
    let p = Policy::default();
    let d = p.decide(&bucket(
        8.0,
        "Policy:S3/BucketAnonymousAccessGranted",
        &["orders-exports"],
    ));
    assert_eq!((d.route, d.disposition), (Route::S3, Disposition::Contain));
    assert_eq!(serde_json::to_value(d.route).expect("json"), "s3");
    let d = p.decide(&bucket(
        5.0,
        "Policy:S3/BucketPublicAccessGranted",
        &["orders-exports"],
    ));
    assert_eq!(d.disposition, Disposition::RequestApproval);
    assert_eq!(d.deny_caller, None, "Block Public Access, not a deny");
    let d = p.decide(&bucket(
        8.0,
        "Exfiltration:S3/AnomalousBehavior",
        &["orders-exports"],
    ));
    assert_eq!((d.route, d.disposition), (Route::S3, Disposition::Notify));
    assert!(d
        .reasons
        .iter()
        .any(|r| r.contains("not in the s3 route's allow list")));
    let d = p.decide(&bucket(
        8.0,
        "Policy:S3/BucketAnonymousAccessGranted",
        &["orders-exports", "orders-archive"],
    ));
    assert_eq!(
        (d.route, d.disposition),
        (Route::NotifyOnly, Disposition::Notify)
    );
    assert!(d
        .reasons
        .iter()
        .any(|r| r.contains("2 buckets from the finding (detail.resource.s3BucketDetails): orders-exports, orders-archive")));
    let off = Policy::from_json(r#"{"s3": {"enabled": false}}"#).expect("policy");
    let d = off.decide(&bucket(
        8.0,
        "Policy:S3/BucketAnonymousAccessGranted",
        &["orders-exports"],
    ));
    assert_eq!(d.disposition, Disposition::Notify);
}

/// What a bucket finding must name: a bucket name, agreeing with its ARN.
#[test]
fn a_bucket_finding_names_a_real_bucket_or_is_refused_by_name() {
    let parse = |details: Value| {
        Finding::from_event(&event(json!({
            "accountId": "111111111111", "region": "eu-west-1", "id": "abc",
            "type": "Policy:S3/BucketAnonymousAccessGranted", "severity": 8,
            "resource": {"resourceType": "S3Bucket", "s3BucketDetails": details}})))
    };
    let f = parse(json!([{"arn": "arn:aws:s3:::orders.exports-1"}])).expect("from the ARN");
    assert_eq!(
        f.bucket().map(|b| b.bucket_name.as_str()),
        Some("orders.exports-1")
    );
    for bad in [
        json!([]),
        json!([{"name": "Orders"}]),
        json!([{"name": "ab"}]),
        json!([{"name": "orders..x"}]),
        json!([{"name": "orders", "arn": "arn:aws:s3:::other"}]),
        json!([{"arn": "arn:aws:s3:eu-west-1:111111111111:orders"}]),
        json!([{"name": "orders/../x"}]),
    ] {
        let e = parse(bad.clone()).expect_err(&bad.to_string());
        assert_eq!(e.name, crate::names::FINDING_INVALID, "{bad}");
    }
}

/// A bucket finding about a caller denies that caller on the bucket: an IAM user by its id,
/// a role session by its session (the role's other sessions keep working); root, unknown
/// principals and a missing caller only notify, and say why.
#[test]
fn a_known_bad_caller_is_denied_on_the_bucket_when_its_id_can_be_named() {
    let p = Policy::default();
    let with_caller = |caller: Value| {
        let mut f = bucket(
            8.0,
            "Exfiltration:S3/MaliciousIPCaller",
            &["orders-exports"],
        );
        if let Resource::Bucket(b) = &mut f.resource {
            b.caller = Some(serde_json::from_value(caller).expect("caller"));
        }
        f
    };
    let user = with_caller(
        json!({"accessKeyId": "AKIAEXAMPLEEXAMPLE01", "principalId": "AIDAEXAMPLEBUILDBOT1",
        "userName": "build-bot", "userType": "IAMUser", "credentialKind": "LongTermUserKey"}),
    );
    let d = p.decide(&user);
    assert_eq!((d.route, d.disposition), (Route::S3, Disposition::Contain));
    assert_eq!(d.deny_caller.as_deref(), Some("AIDAEXAMPLEBUILDBOT1"));
    assert_eq!(
        serde_json::to_value(&d).expect("json")["denyCaller"],
        "AIDAEXAMPLEBUILDBOT1"
    );
    let session = with_caller(
        json!({"accessKeyId": "ASIAEXAMPLEEXAMPLE01", "principalId": "AROAEXAMPLEWEBAPP01:i-0123456789abcdef0",
        "userName": "web-app-role", "userType": "AssumedRole", "credentialKind": "RoleSession"}),
    );
    assert_eq!(
        p.decide(&session).deny_caller.as_deref(),
        Some("AROAEXAMPLEWEBAPP01:i-0123456789abcdef0")
    );
    for caller in [
        json!({"principalId": "111111111111", "userType": "Root", "credentialKind": "Root"}),
        json!({"principalId": "AIDA\"*", "userType": "IAMUser", "accessKeyId": "AKIAEXAMPLEEXAMPLE01", "credentialKind": "LongTermUserKey"}),
        json!({"principalId": "AROAEXAMPLEWEBAPP01:*", "userType": "AssumedRole", "accessKeyId": "ASIAEXAMPLEEXAMPLE01", "credentialKind": "RoleSession"}),
    ] {
        let d = p.decide(&with_caller(caller.clone()));
        assert_eq!(d.disposition, Disposition::Notify, "{caller}");
        assert_eq!(d.deny_caller, None);
        assert!(
            d.reasons
                .iter()
                .any(|r| r.contains("no caller a bucket policy can deny")),
            "{:?}",
            d.reasons
        );
    }
}

fn sequence(severity: f64) -> Finding {
    let text = include_str!("../../../../fixtures/events/attack-sequence-credentials.json");
    let mut event: serde_json::Value = serde_json::from_str(text).expect("fixture");
    event["detail"]["severity"] = serde_json::json!(severity);
    Finding::from_event(&event).expect("parses")
}

/// An attack sequence is one plan: each instance and key it names once, decided as a finding
/// of its own would be on that resource; what it cannot contain is listed with why.
#[test]
fn an_attack_sequence_is_one_plan_with_each_resource_once() {
    let p = Policy::default();
    let d = p.decide(&sequence(9.0));
    assert_eq!(
        (d.route, d.disposition),
        (Route::Sequence, Disposition::Contain)
    );
    let plan = d.plan.expect("plan");
    let targets: Vec<(Route, String)> = plan
        .items
        .iter()
        .map(|i| (i.decision.route, i.finding.resource.identity()))
        .collect();
    assert_eq!(
        targets,
        [
            (Route::Iam, "build-bot/AKIA4EXAMPLEBUILDBOT".to_string()),
            (Route::Ec2, "i-0a1b2c3d4e5f60701".to_string()),
            (Route::Ec2, "i-0a1b2c3d4e5f60702".to_string()),
        ]
    );
    for i in &plan.items {
        assert_eq!(i.decision.disposition, Disposition::Contain);
        assert_eq!(i.decision.idempotency_key, i.finding.idempotency_key());
        assert!(i.finding.sequence.is_none());
        assert!(i.decision.reasons[0].contains("of attack sequence 7a0c2e4f"));
    }
    let keys: std::collections::BTreeSet<&str> = plan
        .items
        .iter()
        .map(|i| i.decision.idempotency_key.as_str())
        .collect();
    assert_eq!(keys.len(), 3, "one key per resource");
    let skipped: Vec<(&str, &str)> = plan
        .not_contained
        .iter()
        .map(|n| (n.resource_type.as_str(), n.why.as_str()))
        .collect();
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    for want in [
        "credentials the sequence names",
        "root credentials are never changed",
        "account 333333333333",
    ] {
        assert!(
            skipped.iter().any(|(_, why)| why.contains(want)),
            "{want}: {skipped:?}"
        );
    }
    assert_eq!(plan.max_concurrency, 4);
}

/// Above the blast-radius limit, and below HIGH, the whole plan waits for one approval; a plan
/// with nothing to contain, or a sequence route turned off, only notifies.
#[test]
fn the_plan_asks_first_above_the_blast_radius_or_below_high() {
    let mut p = Policy::default();
    p.sequence.max_resources = 2;
    let d = p.decide(&sequence(9.0));
    assert_eq!(d.disposition, Disposition::RequestApproval);
    assert_eq!(d.plan.as_ref().map(|p| p.items.len()), Some(3));
    assert!(
        d.reasons
            .iter()
            .any(|r| r
                .contains("more than the blast-radius limit 2 (policy: sequence.max_resources)"))
    );

    let d = Policy::default().decide(&sequence(5.0));
    assert_eq!(d.disposition, Disposition::RequestApproval);
    assert!(d.plan.is_some());
    assert_eq!(
        Policy::default().decide(&sequence(2.0)).disposition,
        Disposition::Notify
    );

    let mut f = sequence(9.0);
    if let Some(s) = f.sequence.as_mut() {
        s.resources.retain(|r| r.resource_type == "S3_BUCKET");
    }
    let d = Policy::default().decide(&f);
    assert_eq!(d.disposition, Disposition::Notify);
    assert!(d.plan.is_none());
    assert!(d
        .reasons
        .iter()
        .any(|r| r.contains("names no instance or credentials")));

    let mut off = Policy::default();
    off.sequence.enabled = false;
    assert_eq!(off.decide(&sequence(9.0)).disposition, Disposition::Notify);
    // A dry run of the route reaches every item.
    let mut dry = Policy::default();
    dry.sequence.dry_run = true;
    let d = dry.decide(&sequence(9.0));
    assert!(d.dry_run);
    assert!(d
        .plan
        .expect("plan")
        .items
        .iter()
        .all(|i| i.decision.dry_run));
}
