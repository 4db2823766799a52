//! Unit tests of the rollback against the fakes of the `isolate` library.

use ec2_containment::fakes::{FakeAutoScaling, FakeEc2, FakeLoadBalancing};
use ec2_containment::record::ArnScope;
use ec2_containment::{isolate, IsolateConfig, Target};
use responder_core::{markers, names, Outcome};
use serde_json::json;

use crate::{restore, RestoreRequest};

const I: &str = "i-0123456789abcdef0";
const TG: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:222222222222:targetgroup/web/73e2d6bc24d8a067";

fn scope() -> ArnScope {
    ArnScope {
        partition: "aws".into(),
        region: "eu-west-1".into(),
        account: "222222222222".into(),
    }
}

fn request(dry_run: bool) -> RestoreRequest {
    RestoreRequest::from_value(json!({
        "accountId": "222222222222", "region": "eu-west-1", "instanceId": I,
        "reason": "false positive: pen test", "requestedBy": "analyst@example.com", "dryRun": dry_run
    }))
    .expect("request")
}

fn world() -> (FakeEc2, FakeAutoScaling, FakeLoadBalancing) {
    let ec2 = FakeEc2::default()
        .with_instance(
            I,
            &[
                ("eni-a", "vpc-1", &["sg-web", "sg-ssh"][..]),
                ("eni-b", "vpc-2", &["sg-db"][..]),
            ],
        )
        .with_acl("acl-shared", "vpc-1", &["subnet-vpc-1", "subnet-nat"])
        .with_acl("acl-2", "vpc-2", &["subnet-other"]);
    {
        let mut s = ec2.state();
        let a = s.attributes.get_mut(I).expect("attrs");
        a.termination_protection = false;
        a.shutdown_behavior = "terminate".into();
    }
    (
        ec2,
        FakeAutoScaling::default().with_member(I, "web-asg"),
        FakeLoadBalancing::default().with_registration(TG, "vpc-1", I, &[80, 443]),
    )
}

async fn isolated() -> (FakeEc2, FakeAutoScaling, FakeLoadBalancing) {
    let (ec2, asg, elb) = world();
    let t = Target {
        instance_id: I.into(),
        finding_id: "f-1".into(),
        scope: scope(),
        dry_run: false,
        mode: ec2_containment::Mode::Contain,
        credential_source: false,

        vpc_hint: Vec::new(),
    };
    let cfg = IsolateConfig {
        backoff: responder_aws::consistency::Backoff::NONE,
        ..IsolateConfig::default()
    };
    isolate(&t, &cfg, &ec2, &asg, &elb).await.expect("isolated");
    (ec2, asg, elb)
}

#[tokio::test]
async fn isolate_then_restore_gives_back_the_exact_original_state() {
    let (ec2, asg, elb) = isolated().await;
    assert_ne!(ec2.groups_of("eni-a"), vec!["sg-web", "sg-ssh"]);
    let r = restore(&request(false), &ec2, &asg, &elb)
        .await
        .expect("restored");
    assert_eq!(r.task, "restore");
    assert_eq!(ec2.groups_of("eni-a"), vec!["sg-web", "sg-ssh"]);
    assert_eq!(ec2.groups_of("eni-b"), vec!["sg-db"]);
    // The network ACLs hold exactly their default entries again.
    for acl in ["acl-shared", "acl-2"] {
        let numbers: Vec<i32> = ec2.acl_entries(acl).iter().map(|e| e.rule_number).collect();
        assert_eq!(numbers, vec![100, 32767, 100, 32767], "{acl}");
    }
    // Connection tracking back to EC2's documented defaults (none was reported before).
    assert_eq!(
        ec2.state().interfaces["eni-a"].conntrack,
        Some(ec2_containment::model::ConnTracking {
            tcp_established: Some(432_000),
            udp_stream: Some(180),
            udp: Some(30)
        })
    );
    // No rollback record is left on the interfaces.
    for eni in ["eni-a", "eni-b"] {
        let tags = ec2.interface_tags(eni);
        for key in [
            markers::TAG_ORIGINAL_GROUPS,
            markers::TAG_NETWORK_ACL_ENTRIES,
            markers::TAG_ORIGINAL_CONNTRACK,
        ] {
            assert!(!tags.contains_key(key), "{eni}: {tags:?}");
        }
    }
    {
        let s = ec2.state();
        let a = &s.attributes[I];
        assert!(!a.termination_protection);
        assert_eq!(a.shutdown_behavior, "terminate");
        let tags = &s.instances[I].tags;
        assert_eq!(
            tags.get(markers::TAG_STATUS).map(String::as_str),
            Some("restored")
        );
        assert_eq!(
            tags.get(markers::TAG_FINDING_ID).map(String::as_str),
            Some("f-1"),
            "kept for audit"
        );
        assert!(!tags.contains_key(markers::TAG_ORIGINAL_ATTRIBUTES));
        assert!(s
            .interfaces
            .values()
            .all(|i| !i.tags.contains_key(markers::TAG_ORIGINAL_GROUPS)));
    }
    assert_eq!(
        asg.state().attached,
        vec![(I.to_string(), "web-asg".to_string())]
    );
    assert_eq!(elb.ports(TG, I), vec![80, 443]);
    assert_eq!(
        r.evidence["restoredGroups"],
        json!({ "eni-a": ["sg-web", "sg-ssh"], "eni-b": ["sg-db"] })
    );
    assert_eq!(r.evidence["requestedBy"], json!("analyst@example.com"));
    // Nothing left to roll back.
    let e = restore(&request(false), &ec2, &asg, &elb)
        .await
        .expect_err("no record");
    assert_eq!(e.name, names::RESTORE_NO_RECORD);
}

#[tokio::test]
async fn restore_without_a_record_is_refused() {
    let (ec2, asg, elb) = world();
    let e = restore(&request(false), &ec2, &asg, &elb)
        .await
        .expect_err("no record");
    assert_eq!(e.name, names::RESTORE_NO_RECORD);
    assert!(ec2.mutations().is_empty());
}

#[tokio::test]
async fn a_missing_instance_is_target_not_found() {
    let ec2 = FakeEc2::default();
    let e = restore(
        &request(false),
        &ec2,
        &FakeAutoScaling::default(),
        &FakeLoadBalancing::default(),
    )
    .await
    .expect_err("missing");
    assert_eq!(e.name, names::REMEDIATION_TARGET_NOT_FOUND);
}

#[tokio::test]
async fn dry_run_restore_changes_nothing() {
    let (ec2, asg, elb) = isolated().await;
    let before = ec2.mutations().len();
    let r = restore(&request(true), &ec2, &asg, &elb)
        .await
        .expect("dry run");
    assert!(r.dry_run);
    assert_eq!(ec2.mutations().len(), before);
    assert!(asg.state().attached.is_empty());
    assert!(elb.ports(TG, I).is_empty());
    assert!(r.actions.iter().any(|a| a.outcome == Outcome::WouldChange));
    assert!(!r.changed());
}

#[tokio::test]
async fn a_vanished_auto_scaling_group_or_target_group_is_skipped_not_fatal() {
    let (ec2, asg, elb) = isolated().await;
    asg.state().groups.clear();
    elb.groups.lock().expect("lock").clear();
    let r = restore(&request(false), &ec2, &asg, &elb)
        .await
        .expect("restored");
    let skipped: Vec<&str> = r
        .actions
        .iter()
        .filter(|a| a.outcome == Outcome::Skipped)
        .map(|a| a.action.as_str())
        .collect();
    assert!(
        skipped.contains(&"attach-to-auto-scaling-group"),
        "{skipped:?}"
    );
    assert!(skipped.contains(&"register-in-target-group"), "{skipped:?}");
    assert_eq!(ec2.groups_of("eni-a"), vec!["sg-web", "sg-ssh"]);
}

#[tokio::test]
async fn a_group_change_that_does_not_take_fails_verification_and_keeps_the_records() {
    let (ec2, asg, elb) = isolated().await;
    ec2.state().ignore_group_changes = true;
    let e = restore(&request(false), &ec2, &asg, &elb)
        .await
        .expect_err("unverified");
    assert_eq!(e.name, names::REMEDIATION_VERIFICATION_FAILED);
    assert!(ec2.state().interfaces["eni-a"]
        .tags
        .contains_key(markers::TAG_ORIGINAL_GROUPS));
}

#[tokio::test]
async fn a_throttled_restore_can_be_repeated() {
    let (ec2, asg, elb) = isolated().await;
    ec2.fail_next(
        "set_termination_protection",
        responder_core::TaskError::new(names::REMEDIATION_THROTTLED, "Rate exceeded"),
    );
    let e = restore(&request(false), &ec2, &asg, &elb)
        .await
        .expect_err("throttled");
    assert!(e.is_retryable());
    restore(&request(false), &ec2, &asg, &elb)
        .await
        .expect("repeat finishes");
    assert!(!ec2.state().attributes[I].termination_protection);
    assert_eq!(ec2.groups_of("eni-a"), vec!["sg-web", "sg-ssh"]);
}

/// The capacity review of a rollback that re-attached the instance, and its evidence note.
fn capacity_review(r: &responder_core::TaskReport) -> (&responder_core::ActionRecord, &str) {
    let review = r
        .actions
        .iter()
        .find(|a| a.action == "review-desired-capacity")
        .expect("capacity review");
    let note = r.evidence[crate::restore::DESIRED_CAPACITY_NOTE]
        .as_str()
        .expect("note");
    (review, note)
}

#[tokio::test]
async fn reattaching_tells_analysts_the_desired_capacity_went_up_by_one() {
    let (ec2, asg, elb) = isolated().await;
    // Isolation detached without decrementing: the group still wants 1 (and launched a
    // replacement); attaching the instance back makes it 2.
    assert_eq!(asg.state().desired["web-asg"], 1);
    let r = restore(&request(false), &ec2, &asg, &elb)
        .await
        .expect("restored");
    assert_eq!(asg.state().desired["web-asg"], 2);
    let (review, note) = capacity_review(&r);
    assert_eq!(review.outcome, Outcome::Skipped);
    assert_eq!(review.target, "web-asg");
    assert_eq!(review.before, Some(json!({"desiredCapacity": 1})));
    assert_eq!(review.after, Some(json!({"desiredCapacity": 2})));
    assert!(note.contains("raised the desired capacity"), "{note}");
    assert!(note.contains("to 2"), "{note}");
    assert!(note.contains("replacement"), "{note}");
    assert!(note.contains("scale the group in"), "{note}");
    assert_eq!(review.detail, note);
    // Recorded right after the attach it is about.
    let attach = r
        .actions
        .iter()
        .position(|a| a.action == "attach-to-auto-scaling-group")
        .expect("attach");
    assert_eq!(r.actions[attach + 1].action, "review-desired-capacity");
}

#[tokio::test]
async fn a_dry_run_says_what_the_desired_capacity_would_become() {
    let (ec2, asg, elb) = isolated().await;
    let r = restore(&request(true), &ec2, &asg, &elb)
        .await
        .expect("dry run");
    assert_eq!(asg.state().desired["web-asg"], 1);
    let (review, note) = capacity_review(&r);
    assert_eq!(review.outcome, Outcome::Skipped);
    assert!(note.contains("would raise"), "{note}");
    assert!(note.contains("to 2"), "{note}");
    assert_eq!(review.after, Some(json!({"desiredCapacity": 2})));
}

#[tokio::test]
async fn no_capacity_note_when_the_instance_was_not_attached() {
    // The group is gone (nothing attached), or the instance is back in it already (a repeated
    // rollback): nothing was added to the group by this run.
    let gone = |asg: &FakeAutoScaling| asg.state().groups.clear();
    let member = |asg: &FakeAutoScaling| {
        asg.state().members.insert(
            I.into(),
            ec2_containment::model::AsgMembership {
                group: "web-asg".into(),
                lifecycle_state: "InService".into(),
                protected_from_scale_in: false,
            },
        );
    };
    for (case, set_up) in [
        ("group gone", &gone as &dyn Fn(&FakeAutoScaling)),
        ("member", &member),
    ] {
        let (ec2, asg, elb) = isolated().await;
        set_up(&asg);
        let r = restore(&request(false), &ec2, &asg, &elb)
            .await
            .expect("restored");
        assert!(asg.state().attached.is_empty(), "{case}");
        assert!(
            r.actions
                .iter()
                .all(|a| a.action != "review-desired-capacity"),
            "{case}"
        );
        assert!(
            r.evidence
                .get(crate::restore::DESIRED_CAPACITY_NOTE)
                .is_none(),
            "{case}"
        );
    }
}

/// Auto Scaling whose `DescribeAutoScalingGroups` is throttled.
struct CapacityUnreadable(FakeAutoScaling);

#[async_trait::async_trait]
impl ec2_containment::caps::AutoScaling for CapacityUnreadable {
    async fn membership(
        &self,
        instance_id: &str,
    ) -> Result<Option<ec2_containment::model::AsgMembership>, responder_core::TaskError> {
        self.0.membership(instance_id).await
    }
    async fn detach(
        &self,
        instance_id: &str,
        group: &str,
    ) -> Result<(), responder_core::TaskError> {
        self.0.detach(instance_id, group).await
    }
    async fn group_exists(&self, group: &str) -> Result<bool, responder_core::TaskError> {
        self.0.group_exists(group).await
    }
    async fn set_scale_in_protection(
        &self,
        instance_id: &str,
        group: &str,
        protected: bool,
    ) -> Result<(), responder_core::TaskError> {
        self.0
            .set_scale_in_protection(instance_id, group, protected)
            .await
    }
    async fn enter_standby(
        &self,
        instance_id: &str,
        group: &str,
    ) -> Result<(), responder_core::TaskError> {
        self.0.enter_standby(instance_id, group).await
    }
    async fn exit_standby(
        &self,
        instance_id: &str,
        group: &str,
    ) -> Result<(), responder_core::TaskError> {
        self.0.exit_standby(instance_id, group).await
    }
    async fn attach(
        &self,
        instance_id: &str,
        group: &str,
    ) -> Result<(), responder_core::TaskError> {
        self.0.attach(instance_id, group).await
    }
    async fn desired_capacity(&self, _: &str) -> Result<Option<i32>, responder_core::TaskError> {
        Err(responder_core::TaskError::new(
            names::REMEDIATION_THROTTLED,
            "Rate exceeded",
        ))
    }
}

#[tokio::test]
async fn an_unreadable_desired_capacity_still_gives_the_note_and_does_not_fail_the_rollback() {
    let (ec2, asg, elb) = isolated().await;
    let asg = CapacityUnreadable(asg);
    let r = restore(&request(false), &ec2, &asg, &elb)
        .await
        .expect("restored");
    assert_eq!(asg.0.state().attached.len(), 1);
    let (review, note) = capacity_review(&r);
    assert_eq!(review.outcome, Outcome::Skipped);
    assert!(review.after.is_none());
    assert!(note.contains("by one"), "{note}");
    assert!(
        note.contains(names::REMEDIATION_THROTTLED.as_str()),
        "{note}"
    );
    assert!(note.contains("scale the group in"), "{note}");
}

#[test]
fn input_shapes() {
    let direct = RestoreRequest::from_value(json!({
        "accountId": "222222222222", "region": "eu-west-1", "instanceId": I
    }))
    .expect("direct");
    assert_eq!(direct.partition, "aws");
    assert!(!direct.dry_run);
    let doc = RestoreRequest::from_value(json!({
        "finding": {
            "id": "f-1", "type": "Backdoor:EC2/C&CActivity.B!DNS", "severity": 8.0,
            "accountId": "222222222222", "deliveredByAccount": "222222222222",
            "region": "eu-west-1", "partition": "aws-us-gov", "count": 1, "sample": false, "archived": false,
            "resource": { "kind": "instance", "instanceId": I }
        },
        "decision": { "tier": "HIGH", "route": "ec2", "disposition": "contain", "reasons": [],
                      "dryRun": true, "idempotencyKey": "gd-1" },
        "requestedBy": "analyst"
    }))
    .expect("task input");
    assert_eq!(doc.instance_id, I);
    assert_eq!(doc.partition, "aws-us-gov");
    assert!(doc.dry_run);
    assert_eq!(doc.requested_by.as_deref(), Some("analyst"));
    for bad in [
        json!({ "accountId": "2222", "region": "eu-west-1", "instanceId": I }),
        json!({ "accountId": "222222222222", "region": "eu-west-1", "instanceId": "vol-1" }),
        json!({ "accountId": "222222222222", "instanceId": I }),
        json!("restore please"),
    ] {
        assert_eq!(
            RestoreRequest::from_value(bad).expect_err("bad").name,
            names::INPUT_INVALID
        );
    }
}

#[tokio::test]
async fn an_acl_entry_replaced_by_someone_else_is_left_alone() {
    let (ec2, asg, elb) = isolated().await;
    // Someone replaced the inbound deny with an entry of their own at the same number.
    {
        let mut s = ec2.state();
        let acl = s
            .acls
            .iter_mut()
            .find(|a| a.id == "acl-shared")
            .expect("acl");
        let e = acl
            .entries
            .iter_mut()
            .find(|e| !e.egress && e.rule_number < 100)
            .expect("ours");
        e.cidr = "198.51.100.0/24".into();
    }
    let r = restore(&request(false), &ec2, &asg, &elb)
        .await
        .expect("restored");
    assert!(ec2
        .acl_entries("acl-shared")
        .iter()
        .any(|e| e.cidr == "198.51.100.0/24"));
    let rec = r
        .actions
        .iter()
        .find(|a| a.action == "remove-network-acl-entries" && a.target == "eni-a")
        .expect("reported");
    assert!(rec.detail.contains("left alone"), "{}", rec.detail);
}

#[tokio::test]
async fn an_instance_put_in_standby_returns_to_service_with_its_protection() {
    let (ec2, _, elb) = world();
    let asg = FakeAutoScaling::default()
        .with_member(I, "web-asg")
        .refusing(
            "detach",
            responder_core::TaskError::new(names::REMEDIATION_FAILED, "ValidationError"),
        );
    let t = Target {
        instance_id: I.into(),
        finding_id: "f-1".into(),
        scope: scope(),
        dry_run: false,
        mode: ec2_containment::Mode::Contain,
        credential_source: false,

        vpc_hint: Vec::new(),
    };
    let cfg = IsolateConfig {
        backoff: responder_aws::consistency::Backoff::NONE,
        ..IsolateConfig::default()
    };
    isolate(&t, &cfg, &ec2, &asg, &elb).await.expect("isolated");
    assert_eq!(asg.state().members[I].lifecycle_state, "Standby");
    let r = restore(&request(false), &ec2, &asg, &elb)
        .await
        .expect("restored");
    assert_eq!(asg.state().members[I].lifecycle_state, "InService");
    assert!(asg.state().attached.is_empty(), "not attached twice");
    assert!(r.actions.iter().any(|a| a.action == "exit-standby"));
}

#[tokio::test]
async fn hardened_metadata_options_are_put_back() {
    let (ec2, asg, elb) = world();
    let t = Target {
        instance_id: I.into(),
        finding_id: "f-1".into(),
        scope: scope(),
        dry_run: false,
        mode: ec2_containment::Mode::Harden,
        credential_source: true,

        vpc_hint: Vec::new(),
    };
    let cfg = IsolateConfig {
        backoff: responder_aws::consistency::Backoff::NONE,
        ..IsolateConfig::default()
    };
    isolate(&t, &cfg, &ec2, &asg, &elb).await.expect("hardened");
    // The rollback needs an interface record; a full containment would have written one.
    isolate(
        &Target {
            mode: ec2_containment::Mode::Contain,
            ..t.clone()
        },
        &cfg,
        &ec2,
        &asg,
        &elb,
    )
    .await
    .expect("contained");
    restore(&request(false), &ec2, &asg, &elb)
        .await
        .expect("restored");
    assert_eq!(
        ec2.state().instances[I].metadata,
        Some(ec2_containment::model::MetadataOptions {
            http_tokens: "optional".into(),
            hop_limit: 2
        })
    );
}
