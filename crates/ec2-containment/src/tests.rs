//! Unit tests of the isolation logic against the in-memory fakes.

use responder_core::{markers, names, Outcome, TaskError, TaskReport};
use serde_json::json;

use crate::fakes::{FakeAutoScaling, FakeEc2, FakeLoadBalancing};
use crate::model::{GroupRole, GroupRule, Peer};
use crate::record::{self, ArnScope, OriginalAttributes};
use crate::{isolate, IsolateConfig, Target};

pub(crate) const I: &str = "i-0123456789abcdef0";
const TG: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:222222222222:targetgroup/web/73e2d6bc24d8a067";

pub(crate) fn target(dry_run: bool) -> Target {
    Target {
        instance_id: I.into(),
        finding_id: "f-1".into(),
        scope: ArnScope {
            partition: "aws".into(),
            region: "eu-west-1".into(),
            account: "222222222222".into(),
        },
        dry_run,
        mode: crate::Mode::Contain,
        credential_source: false,

        vpc_hint: Vec::new(),
    }
}

/// The default configuration, without waiting between tries.
pub(crate) fn cfg() -> IsolateConfig {
    IsolateConfig {
        backoff: responder_aws::consistency::Backoff::NONE,
        ..IsolateConfig::default()
    }
}

struct World {
    ec2: FakeEc2,
    asg: FakeAutoScaling,
    elb: FakeLoadBalancing,
}

impl World {
    fn new(ec2: FakeEc2) -> Self {
        World {
            ec2,
            asg: FakeAutoScaling::default(),
            elb: FakeLoadBalancing::default(),
        }
    }

    /// One instance with one interface, in a VPC with a second subnet (a NAT gateway's)
    /// that shares the default network ACL.
    fn single() -> Self {
        Self::new(
            FakeEc2::default()
                .with_instance(I, &[("eni-a", "vpc-1", &["sg-web", "sg-ssh"][..])])
                .with_acl("acl-default", "vpc-1", &["subnet-vpc-1", "subnet-nat"]),
        )
    }

    async fn run(&self, t: &Target, cfg: &IsolateConfig) -> Result<TaskReport, TaskError> {
        isolate(t, cfg, &self.ec2, &self.asg, &self.elb).await
    }

    fn quarantine_of(&self, vpc: &str) -> String {
        self.ec2
            .state()
            .groups
            .iter()
            .find(|g| g.group.vpc_id == vpc && g.name == GroupRole::Quarantine.group_name())
            .map(|g| g.group.id.clone())
            .expect("quarantine group")
    }
}

fn outcome(report: &TaskReport, action: &str, target: &str) -> Outcome {
    report
        .actions
        .iter()
        .find(|a| a.action == action && a.target == target)
        .unwrap_or_else(|| panic!("no {action} on {target} in {:#?}", report.actions))
        .outcome
}

#[tokio::test]
async fn single_interface_is_quarantined_through_the_untrack_group() {
    let w = World::single();
    let cfg = IsolateConfig {
        egress_cidrs: vec!["10.0.9.10/32".into()],
        ..cfg()
    };
    let r = w.run(&target(false), &cfg).await.expect("isolated");
    let q = w.quarantine_of("vpc-1");
    assert_eq!(w.ec2.groups_of("eni-a"), vec![q.clone()]);
    // The untrack step comes first, then the quarantine group.
    let swaps: Vec<String> = w
        .ec2
        .mutations()
        .into_iter()
        .filter(|c| c.starts_with("set_interface_groups"))
        .collect();
    assert_eq!(swaps.len(), 2);
    assert!(swaps[0].contains("sg-untrack"), "{swaps:?}");
    assert_eq!(swaps[1], format!("set_interface_groups eni-a={q}"));
    // The quarantine group: no inbound, outbound only to the forensics host.
    let s = w.ec2.state();
    let qg = s.groups.iter().find(|g| g.group.id == q).expect("group");
    assert_eq!(
        qg.group.rules,
        vec![GroupRule::https_egress(Peer::Cidr("10.0.9.10/32".into()))]
    );
    assert_eq!(
        qg.tags.get(markers::TAG_GROUP_ROLE).map(String::as_str),
        Some("quarantine")
    );
    let ug = s
        .groups
        .iter()
        .find(|g| g.name == markers::UNTRACK_GROUP_NAME)
        .expect("untrack");
    assert!(ug
        .group
        .rules
        .iter()
        .any(|r| !r.egress && r.peer == Peer::Cidr("0.0.0.0/0".into())));
    // Records, attributes and marker.
    let eni = s.interfaces.get("eni-a").expect("eni");
    assert_eq!(
        eni.tags
            .get(markers::TAG_ORIGINAL_GROUPS)
            .map(String::as_str),
        Some("sg-web sg-ssh")
    );
    let inst = s.instances.get(I).expect("instance");
    assert_eq!(
        inst.tags
            .get(markers::TAG_ORIGINAL_ATTRIBUTES)
            .map(String::as_str),
        Some("dat=false;isb=terminate")
    );
    assert_eq!(
        inst.tags.get(markers::TAG_STATUS).map(String::as_str),
        Some("quarantined")
    );
    assert_eq!(
        inst.tags.get(markers::TAG_FINDING_ID).map(String::as_str),
        Some("f-1")
    );
    let a = s.attributes.get(I).expect("attributes");
    assert!(a.termination_protection);
    assert_eq!(a.shutdown_behavior, "stop");
    drop(s);
    assert_eq!(
        outcome(&r, "set-interface-groups", "eni-a"),
        Outcome::Changed
    );
    assert_eq!(r.task, "isolate");
    assert_eq!(
        r.evidence["originalGroups"],
        json!({ "eni-a": ["sg-web", "sg-ssh"] })
    );
    assert_eq!(r.evidence["quarantineGroups"], json!({ "vpc-1": q }));
    assert_eq!(r.evidence["autoScalingGroup"], json!(null));
    assert_eq!(r.evidence["targetGroups"], json!([]));
    // Never stopped or terminated: no such call exists on the capability, and no state change.
    assert_eq!(w.ec2.state().instances[I].state.as_deref(), Some("running"));
}

#[tokio::test]
async fn two_interfaces_in_two_vpcs_get_the_quarantine_group_of_their_own_vpc() {
    let w = World::new(FakeEc2::default().with_instance(
        I,
        &[
            ("eni-a", "vpc-1", &["sg-1"][..]),
            ("eni-b", "vpc-2", &["sg-2", "sg-3"][..]),
        ],
    ));
    let r = w.run(&target(false), &cfg()).await.expect("isolated");
    let (q1, q2) = (w.quarantine_of("vpc-1"), w.quarantine_of("vpc-2"));
    assert_ne!(q1, q2);
    assert_eq!(w.ec2.groups_of("eni-a"), vec![q1.clone()]);
    assert_eq!(w.ec2.groups_of("eni-b"), vec![q2.clone()]);
    assert_eq!(
        r.evidence["quarantineGroups"],
        json!({ "vpc-1": q1, "vpc-2": q2 })
    );
    assert_eq!(
        r.evidence["originalGroups"],
        json!({ "eni-a": ["sg-1"], "eni-b": ["sg-2", "sg-3"] })
    );
    // With no egress configured, the quarantine groups allow nothing at all.
    assert!(w
        .ec2
        .state()
        .groups
        .iter()
        .filter(|g| g.name == markers::QUARANTINE_GROUP_NAME)
        .all(|g| g.group.rules.is_empty()));
    // Interfaces change one by one (ModifyNetworkInterfaceAttribute), never the instance's groups.
    assert!(w
        .ec2
        .mutations()
        .iter()
        .all(|c| !c.contains("instance_groups")));
}

#[tokio::test]
async fn interfaces_come_from_ec2_not_from_the_finding() {
    // The task input's finding lists no interfaces; the target carries only the instance id,
    // and the interfaces EC2 reports are the ones contained.
    let input: responder_core::TaskInput = serde_json::from_value(json!({
        "finding": {
            "id": "f-1", "type": "Backdoor:EC2/C&CActivity.B!DNS", "severity": 8.0,
            "accountId": "222222222222", "deliveredByAccount": "222222222222",
            "region": "eu-west-1", "partition": "aws", "count": 1, "sample": false, "archived": false,
            "resource": { "kind": "instance", "instanceId": I, "networkInterfaces": [] }
        },
        "decision": { "tier": "HIGH", "route": "ec2", "disposition": "contain", "reasons": [],
                      "dryRun": false, "idempotencyKey": "gd-1" }
    }))
    .expect("input");
    let t = Target::from_input(&input).expect("target");
    assert_eq!(t, target(false));
    let w = World::new(FakeEc2::default().with_instance(
        I,
        &[
            ("eni-primary", "vpc-1", &["sg-1"][..]),
            ("eni-extra", "vpc-1", &["sg-9"][..]),
        ],
    ));
    w.run(&t, &cfg()).await.expect("isolated");
    let q = w.quarantine_of("vpc-1");
    assert_eq!(w.ec2.groups_of("eni-primary"), vec![q.clone()]);
    assert_eq!(w.ec2.groups_of("eni-extra"), vec![q]);
}

/// The VPCs read beside the instance: those check-exemption read from EC2 when it passed them
/// on, else those GuardDuty recorded; never a malformed id.
#[test]
fn the_vpc_hint_prefers_what_check_exemption_read() {
    let input = |results: serde_json::Value| -> responder_core::TaskInput {
        serde_json::from_value(json!({
            "finding": {
                "id": "f-1", "type": "Backdoor:EC2/C&CActivity.B!DNS", "severity": 8.0,
                "accountId": "222222222222", "deliveredByAccount": "222222222222",
                "region": "eu-west-1", "partition": "aws", "count": 1, "sample": false,
                "archived": false,
                "resource": { "kind": "instance", "instanceId": I, "networkInterfaces": [
                    { "networkInterfaceId": "eni-1", "vpcId": "vpc-recorded" }
                ] }
            },
            "decision": { "tier": "HIGH", "route": "ec2", "disposition": "contain",
                          "reasons": [], "dryRun": false, "idempotencyKey": "gd-1" },
            "results": results
        }))
        .expect("input")
    };
    let hint = |results| {
        Target::from_input(&input(results))
            .expect("target")
            .vpc_hint
    };
    for (results, want) in [
        (json!({}), vec!["vpc-recorded"]),
        (
            json!({ "exemption": { "status": "eligible" } }),
            vec!["vpc-recorded"],
        ),
        (
            json!({ "exemption": { "vpcs": ["vpc-b", "vpc-a", "vpc-b"] } }),
            vec!["vpc-a", "vpc-b"],
        ),
        (
            json!({ "exemption": { "vpcs": ["vpc-a", "sg-1", "vpc-a/../x", 7] } }),
            vec!["vpc-a"],
        ),
    ] {
        assert_eq!(hint(results.clone()), want, "{results}");
    }
}

#[tokio::test]
async fn missing_instance_is_target_not_found() {
    let w = World::new(FakeEc2::default());
    let e = w.run(&target(false), &cfg()).await.expect_err("missing");
    assert_eq!(e.name, names::REMEDIATION_TARGET_NOT_FOUND);
}

#[tokio::test]
async fn a_rerun_on_an_isolated_instance_changes_nothing() {
    let w = World::single();
    let w = World {
        asg: FakeAutoScaling::default().with_member(I, "web-asg"),
        elb: FakeLoadBalancing::default().with_registration(TG, "vpc-1", I, &[80]),
        ..w
    };
    w.run(&target(false), &cfg()).await.expect("first");
    let before = w.ec2.mutations().len();
    let r = w.run(&target(false), &cfg()).await.expect("again");
    assert_eq!(
        w.ec2.mutations().len(),
        before,
        "{:?}",
        &w.ec2.mutations()[before..]
    );
    assert!(
        r.actions.iter().all(|a| a.outcome == Outcome::Unchanged),
        "{:#?}",
        r.actions
    );
    assert_eq!(w.asg.state().detached.len(), 1);
    // The evidence still tells the true originals.
    assert_eq!(
        r.evidence["originalGroups"],
        json!({ "eni-a": ["sg-web", "sg-ssh"] })
    );
    assert_eq!(r.evidence["autoScalingGroup"], json!("web-asg"));
    assert_eq!(
        r.evidence["targetGroups"],
        json!([{ "targetGroupArn": TG, "ports": [80] }])
    );
}

#[tokio::test]
async fn dry_run_changes_nothing_and_reports_what_would_change() {
    let w = World {
        asg: FakeAutoScaling::default().with_member(I, "web-asg"),
        elb: FakeLoadBalancing::default().with_registration(TG, "vpc-1", I, &[443]),
        ..World::single()
    };
    let r = w.run(&target(true), &cfg()).await.expect("dry run");
    assert!(r.dry_run);
    assert!(w.ec2.mutations().is_empty(), "{:?}", w.ec2.mutations());
    assert!(w.ec2.state().groups.is_empty());
    assert_eq!(w.ec2.groups_of("eni-a"), vec!["sg-web", "sg-ssh"]);
    assert!(w.asg.state().detached.is_empty());
    assert_eq!(w.elb.ports(TG, I), vec![443]);
    // EC2 was asked with DryRun for every change it can check.
    let dry: Vec<String> = w
        .ec2
        .state()
        .calls
        .iter()
        .filter(|c| c.starts_with("dry:"))
        .cloned()
        .collect();
    for call in [
        "create_group",
        "set_interface_groups",
        "create_tags",
        "set_termination_protection",
        "set_shutdown_behavior",
    ] {
        assert!(
            dry.iter().any(|c| c.starts_with(&format!("dry:{call}"))),
            "{call} in {dry:?}"
        );
    }
    for (action, t) in [
        ("ensure-quarantine-group", "vpc-1"),
        ("set-interface-groups", "eni-a"),
        ("enable-termination-protection", I),
        ("protect-from-auto-scaling", "web-asg"),
        ("deregister-from-target-groups", TG),
        ("mark-instance", I),
    ] {
        assert_eq!(outcome(&r, action, t), Outcome::WouldChange, "{action}");
    }
    assert!(!r.changed());
    assert_eq!(r.evidence["autoScalingGroup"], json!("web-asg"));
    assert_eq!(r.evidence["quarantineGroups"], json!({ "vpc-1": null }));
}

#[tokio::test]
async fn dry_run_without_permission_is_access_denied() {
    let w = World::single();
    w.ec2.state().deny = true;
    let e = w.run(&target(true), &cfg()).await.expect_err("denied");
    assert_eq!(e.name, names::REMEDIATION_ACCESS_DENIED);
    assert!(w.ec2.mutations().is_empty());
}

#[tokio::test]
async fn throttling_is_retryable_and_a_repeat_finishes_the_job() {
    // Throttle at each step in turn: the error is retryable, and running again (as the state
    // machine's Retry does) ends in the same contained state as a clean run.
    for step in [
        "create_group",
        "set_interface_groups",
        "create_tags",
        "set_termination_protection",
        "describe_interfaces",
    ] {
        for nth in 0..2 {
            let w = World {
                asg: FakeAutoScaling::default().with_member(I, "web-asg"),
                ..World::single()
            };
            // Let `nth` calls of the step through before the throttle.
            let mut passed = 0;
            let e = loop {
                w.ec2.fail_next(
                    step,
                    TaskError::new(names::REMEDIATION_THROTTLED, "Rate exceeded"),
                );
                if passed == nth {
                    break w.run(&target(false), &cfg()).await;
                }
                w.ec2.state().fail_once.clear();
                passed += 1;
            };
            if step == "set_interface_groups" {
                // The moves are retried within the invocation: an interface must not wait
                // in the allow-all group for the state machine's next attempt.
                e.expect("the task retried the move itself");
            } else {
                let e = e.expect_err("throttled");
                assert_eq!(e.name, names::REMEDIATION_THROTTLED);
                assert!(e.is_retryable());
                w.run(&target(false), &cfg()).await.expect("retry finishes");
            }
            let q = w.quarantine_of("vpc-1");
            assert_eq!(w.ec2.groups_of("eni-a"), vec![q], "step {step}");
            let s = w.ec2.state();
            assert_eq!(
                s.interfaces["eni-a"]
                    .tags
                    .get(markers::TAG_ORIGINAL_GROUPS)
                    .map(String::as_str),
                Some("sg-web sg-ssh"),
                "the record keeps the true originals after a throttled {step}"
            );
            let rec = s.instances[I]
                .tags
                .get(markers::TAG_ORIGINAL_ATTRIBUTES)
                .cloned()
                .unwrap_or_default();
            assert!(
                rec.starts_with("dat=false;isb=terminate;asg=web-asg;")
                    && rec.ends_with("sip=false"),
                "step {step}: {rec}"
            );
            assert_eq!(
                s.groups
                    .iter()
                    .filter(|g| g.name == markers::QUARANTINE_GROUP_NAME)
                    .count(),
                1
            );
        }
    }
}

#[tokio::test]
async fn a_group_change_that_does_not_take_fails_verification() {
    let w = World::single();
    w.ec2.state().ignore_group_changes = true;
    let e = w.run(&target(false), &cfg()).await.expect_err("unverified");
    assert_eq!(e.name, names::REMEDIATION_VERIFICATION_FAILED);
    assert!(e.message.contains("eni-a"), "{}", e.message);
    // Not marked as contained.
    assert!(!w.ec2.state().instances[I]
        .tags
        .contains_key(markers::TAG_STATUS));
}

#[tokio::test]
async fn an_existing_original_groups_record_is_not_overwritten() {
    let w = World::single();
    // A run interrupted after the untrack step: the record holds the true originals and the
    // interface sits in some other group now.
    w.ec2
        .state()
        .interfaces
        .get_mut("eni-a")
        .expect("eni")
        .tags
        .insert(
            markers::TAG_ORIGINAL_GROUPS.into(),
            "sg-true-1 sg-true-2".into(),
        );
    let r = w.run(&target(false), &cfg()).await.expect("isolated");
    assert_eq!(
        w.ec2.state().interfaces["eni-a"]
            .tags
            .get(markers::TAG_ORIGINAL_GROUPS)
            .map(String::as_str),
        Some("sg-true-1 sg-true-2")
    );
    assert_eq!(
        outcome(&r, "record-original-groups", "eni-a"),
        Outcome::Unchanged
    );
    assert_eq!(
        r.evidence["originalGroups"],
        json!({ "eni-a": ["sg-true-1", "sg-true-2"] })
    );
}

#[tokio::test]
async fn auto_scaling_detach_keeps_the_desired_capacity() {
    let w = World {
        asg: FakeAutoScaling::default().with_member(I, "web-asg"),
        ..World::single()
    };
    let r = w.run(&target(false), &cfg()).await.expect("isolated");
    assert_eq!(
        w.asg.state().detached,
        vec![(I.to_string(), "web-asg".to_string())]
    );
    assert_eq!(
        outcome(&r, "protect-from-auto-scaling", "web-asg"),
        Outcome::Changed
    );
    assert_eq!(r.evidence["autoScalingGroup"], json!("web-asg"));
}

#[tokio::test]
async fn target_groups_are_deregistered_and_recorded() {
    let other =
        "arn:aws:elasticloadbalancing:eu-west-1:222222222222:targetgroup/api/0123456789abcdef";
    let elsewhere =
        "arn:aws:elasticloadbalancing:eu-west-1:222222222222:targetgroup/x/1111111111111111";
    let w = World {
        elb: FakeLoadBalancing::default()
            .with_registration(TG, "vpc-1", I, &[80, 443])
            .with_registration(other, "vpc-1", I, &[8080])
            .with_registration(elsewhere, "vpc-9", "i-other", &[80]),
        ..World::single()
    };
    let r = w.run(&target(false), &cfg()).await.expect("isolated");
    assert!(w.elb.ports(TG, I).is_empty());
    assert!(w.elb.ports(other, I).is_empty());
    assert_eq!(w.elb.ports(elsewhere, "i-other"), vec![80]);
    assert_eq!(
        outcome(&r, "deregister-from-target-groups", TG),
        Outcome::Changed
    );
    let rec = OriginalAttributes::decode(&w.ec2.state().instances[I].tags, &target(false).scope)
        .expect("record");
    assert_eq!(rec.target_groups.len(), 2);
    assert!(rec
        .target_groups
        .iter()
        .any(|t| t.target_group_arn == TG && t.ports == vec![80, 443]));
    assert_eq!(
        r.evidence["targetGroups"],
        json!([{ "targetGroupArn": other, "ports": [8080] }, { "targetGroupArn": TG, "ports": [80, 443] }])
    );
}

#[tokio::test]
async fn extra_rules_in_an_existing_quarantine_group_are_revoked() {
    let w = World::single();
    w.run(&target(false), &cfg()).await.expect("first");
    let q = w.quarantine_of("vpc-1");
    // Someone opened the quarantine group.
    w.ec2
        .state()
        .groups
        .iter_mut()
        .find(|g| g.group.id == q)
        .expect("group")
        .group
        .rules
        .push(GroupRule::all_traffic(false, "0.0.0.0/0"));
    let r = w.run(&target(false), &cfg()).await.expect("again");
    assert_eq!(
        outcome(&r, "ensure-quarantine-group", "vpc-1"),
        Outcome::Changed
    );
    assert!(w
        .ec2
        .state()
        .groups
        .iter()
        .find(|g| g.group.id == q)
        .expect("g")
        .group
        .rules
        .is_empty());
}

#[tokio::test]
async fn without_cutting_tracked_connections_the_swap_is_direct() {
    let w = World::single();
    let cfg = IsolateConfig {
        cut_tracked_connections: false,
        ..cfg()
    };
    w.run(&target(false), &cfg).await.expect("isolated");
    let swaps = w
        .ec2
        .mutations()
        .into_iter()
        .filter(|c| c.starts_with("set_interface_groups"))
        .count();
    assert_eq!(swaps, 1);
    assert!(w
        .ec2
        .state()
        .groups
        .iter()
        .all(|g| g.name != markers::UNTRACK_GROUP_NAME));
}

#[test]
fn records_used_by_restore_are_the_documented_tags() {
    assert_eq!(
        record::encode_groups(&["sg-1".into()]),
        vec![(markers::TAG_ORIGINAL_GROUPS.to_string(), "sg-1".to_string())]
    );
}

#[tokio::test]
async fn an_instance_that_cannot_stop_is_still_isolated() {
    let w = World::single();
    w.ec2.fail_next(
        "set_shutdown_behavior",
        TaskError::new(
            names::REMEDIATION_FAILED,
            "UnsupportedOperation: instance store",
        ),
    );
    let r = w.run(&target(false), &cfg()).await.expect("isolated");
    assert_eq!(outcome(&r, "set-shutdown-behavior", I), Outcome::Skipped);
    assert_eq!(w.ec2.groups_of("eni-a"), vec![w.quarantine_of("vpc-1")]);
    // Throttling and denial still fail the task.
    let w = World::single();
    w.ec2.fail_next(
        "set_shutdown_behavior",
        TaskError::new(names::REMEDIATION_ACCESS_DENIED, "UnauthorizedOperation"),
    );
    let e = w.run(&target(false), &cfg()).await.expect_err("denied");
    assert_eq!(e.name, names::REMEDIATION_ACCESS_DENIED);
}
