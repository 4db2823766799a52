//! Adapter tests: the EC2 calls and their parameters, against mocked SDK clients.

use std::sync::{Arc, Mutex};

use aws_sdk_ec2::operation::create_snapshots::{CreateSnapshotsError, CreateSnapshotsOutput};
use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
use aws_sdk_ec2::operation::describe_snapshots::DescribeSnapshotsOutput;
use aws_sdk_ec2::types::{
    EbsInstanceBlockDevice, Instance, InstanceBlockDeviceMapping, Reservation, SnapshotInfo,
};
use aws_sdk_ec2::Client;
use aws_smithy_mocks::{mock, mock_client, MockResponseInterceptor, Rule, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use responder_aws::test_util;
use responder_core::testing;
use responder_core::{names, Outcome};

use super::*;

const INSTANCE: &str = "i-0abc1234def567890";
const FINDING: &str = "5ab0f1c3d2e4a6b8c0d2e4f6a8b0c2d4";

fn input_json(account: &str, dry_run: bool) -> serde_json::Value {
    testing::instance_input_json(INSTANCE, FINDING, account, dry_run)
}

fn no_evidence() -> Rule {
    mock!(Client::describe_snapshots)
        .match_requests(|r| {
            let filters = r.filters();
            r.owner_ids() == ["self"]
                && filters.iter().any(|f| {
                    f.name() == Some("tag:guardduty-responder:finding-id")
                        && f.values() == [FINDING]
                })
                && filters.iter().any(|f| {
                    f.name() == Some("tag:guardduty-responder:instance-id")
                        && f.values() == [INSTANCE]
                })
        })
        .then_output(|| DescribeSnapshotsOutput::builder().build())
}

fn instance_with(volumes: &'static [(&'static str, &'static str)]) -> Rule {
    mock!(Client::describe_instances)
        .match_requests(|r| r.instance_ids() == [INSTANCE])
        .then_output(move || {
            let mut i = Instance::builder().instance_id(INSTANCE);
            for (dev, vol) in volumes {
                i = i.block_device_mappings(
                    InstanceBlockDeviceMapping::builder()
                        .device_name(*dev)
                        .ebs(EbsInstanceBlockDevice::builder().volume_id(*vol).build())
                        .build(),
                );
            }
            DescribeInstancesOutput::builder()
                .reservations(Reservation::builder().instances(i.build()).build())
                .build()
        })
}

const TWO: &[(&str, &str)] = &[("/dev/xvda", "vol-root"), ("/dev/sdf", "vol-data")];

fn snapshots_out() -> CreateSnapshotsOutput {
    CreateSnapshotsOutput::builder()
        .snapshots(
            SnapshotInfo::builder()
                .snapshot_id("snap-1")
                .volume_id("vol-root")
                .build(),
        )
        .snapshots(
            SnapshotInfo::builder()
                .snapshot_id("snap-2")
                .volume_id("vol-data")
                .build(),
        )
        .build()
}

fn code_error(code: &str) -> CreateSnapshotsError {
    CreateSnapshotsError::generic(ErrorMetadata::builder().code(code).message(code).build())
}

/// Clients for the pipeline's own account whose EC2 calls hit `rules`.
fn own_account_clients(rules: &[&Rule]) -> Clients<Client> {
    let sessions = test_util::sessions("snapshot", test_util::base_config(), &[]);
    // The SDK's own retries are off so each error reaches the task as the state machine sees
    // it after the SDK gave up.
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules, |b| b
        .retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled()));
    Clients::new(sessions, move |_| ec2.clone())
}

#[tokio::test]
async fn create_snapshots_is_one_call_with_the_evidence_tags() {
    let create = mock!(Client::create_snapshots)
        .match_requests(|r| {
            let spec = r.instance_specification();
            let tags: Vec<(&str, &str)> = r
                .tag_specifications()
                .iter()
                .filter(|t| t.resource_type() == Some(&ResourceType::Snapshot))
                .flat_map(|t| t.tags())
                .filter_map(|t| Some((t.key()?, t.value()?)))
                .collect();
            spec.and_then(|s| s.instance_id()) == Some(INSTANCE)
                && spec.and_then(|s| s.exclude_boot_volume()) == Some(false)
                && r.copy_tags_from_source() == Some(&CopyTagsFromSource::Volume)
                && r.dry_run() != Some(true)
                && tags.contains(&("guardduty-responder:purpose", "incident-evidence"))
                && tags.contains(&("guardduty-responder:finding-id", FINDING))
                && tags.contains(&("guardduty-responder:instance-id", INSTANCE))
                && tags.contains(&("guardduty-responder:execution", "exec-1"))
                && tags.contains(&("Name", "evidence i-0abc1234def567890 5ab0f1c3"))
                && r.description()
                    .is_some_and(|d| d.contains(FINDING) && d.len() <= 255)
        })
        .then_output(snapshots_out);
    let (ev, inst) = (no_evidence(), instance_with(TWO));
    let clients = own_account_clients(&[&ev, &inst, &create]);
    let report = handle(&clients, input_json("111111111111", false))
        .await
        .expect("report");
    assert_eq!(create.num_calls(), 1, "one CreateSnapshots call");
    assert_eq!(report.actions.len(), 2);
    assert_eq!(report.actions[1].target, "vol-data");
    assert_eq!(report.actions[1].outcome, Outcome::Changed);
    assert_eq!(
        report.actions[1].after.as_ref().expect("after")["device"],
        "/dev/sdf"
    );
    assert_eq!(
        report.evidence["snapshotIds"],
        serde_json::json!(["snap-1", "snap-2"])
    );
    assert_eq!(
        report.evidence["volumeIds"],
        serde_json::json!(["vol-root", "vol-data"])
    );
}

#[tokio::test]
async fn existing_evidence_is_reused_without_creating() {
    let found = mock!(Client::describe_snapshots).then_output(|| {
        DescribeSnapshotsOutput::builder()
            .snapshots(
                aws_sdk_ec2::types::Snapshot::builder()
                    .snapshot_id("snap-old")
                    .volume_id("vol-root")
                    .state(aws_sdk_ec2::types::SnapshotState::Completed)
                    .build(),
            )
            .build()
    });
    const ONE: &[(&str, &str)] = &[("/dev/xvda", "vol-root")];
    let inst = instance_with(ONE);
    let create = mock!(Client::create_snapshots).then_output(snapshots_out);
    let clients = own_account_clients(&[&found, &inst, &create]);
    let report = handle(&clients, input_json("111111111111", false))
        .await
        .expect("report");
    assert_eq!(create.num_calls(), 0);
    assert_eq!(report.actions[0].outcome, Outcome::Unchanged);
    assert_eq!(
        report.evidence["snapshotIds"],
        serde_json::json!(["snap-old"])
    );
}

#[tokio::test]
async fn throttling_is_retryable_and_the_next_invocation_succeeds() {
    let create = mock!(Client::create_snapshots)
        .sequence()
        .error(|| code_error("RequestLimitExceeded"))
        .output(snapshots_out)
        .build();
    let (ev, inst) = (no_evidence(), instance_with(TWO));
    let clients = own_account_clients(&[&ev, &inst, &create]);
    let e = handle(&clients, input_json("111111111111", false))
        .await
        .expect_err("throttled");
    assert_eq!(e.name, names::REMEDIATION_THROTTLED);
    assert!(e.is_retryable());
    // The state machine's Retry invokes the task again.
    let report = handle(&clients, input_json("111111111111", false))
        .await
        .expect("second invocation");
    assert_eq!(create.num_calls(), 2);
    assert_eq!(report.actions.len(), 2);
}

#[tokio::test]
async fn snapshot_limit_errors_are_named() {
    for code in [
        "SnapshotLimitExceeded",
        "SnapshotCreationPerVolumeRateExceeded",
        "ConcurrentSnapshotLimitExceeded",
    ] {
        let create = mock!(Client::create_snapshots).then_error(move || code_error(code));
        let (ev, inst) = (no_evidence(), instance_with(TWO));
        let clients = own_account_clients(&[&ev, &inst, &create]);
        let e = handle(&clients, input_json("111111111111", false))
            .await
            .expect_err("limit");
        assert_eq!(e.name, names::SNAPSHOT_LIMIT_EXCEEDED, "{code}");
        assert!(e.is_retryable());
    }
}

#[tokio::test]
async fn dry_run_operation_is_would_change() {
    let create = mock!(Client::create_snapshots)
        .match_requests(|r| r.dry_run() == Some(true))
        .then_error(|| code_error("DryRunOperation"));
    let (ev, inst) = (no_evidence(), instance_with(TWO));
    let clients = own_account_clients(&[&ev, &inst, &create]);
    let report = handle(&clients, input_json("111111111111", true))
        .await
        .expect("report");
    assert!(report.dry_run);
    assert_eq!(create.num_calls(), 1);
    assert!(report
        .actions
        .iter()
        .all(|a| a.outcome == Outcome::WouldChange));
    assert_eq!(
        report.evidence["wouldSnapshotVolumeIds"],
        serde_json::json!(["vol-root", "vol-data"])
    );
}

#[tokio::test]
async fn invalid_action_falls_back_to_one_snapshot_per_volume() {
    let create = mock!(Client::create_snapshots).then_error(|| code_error("InvalidAction"));
    let single = mock!(Client::create_snapshot)
        .match_requests(|r| {
            r.tag_specifications().iter().any(|t| {
                t.tags().iter().any(|t| {
                    t.key() == Some("guardduty-responder:finding-id") && t.value() == Some(FINDING)
                })
            })
        })
        .then_compute_output(|r| {
            aws_sdk_ec2::operation::create_snapshot::CreateSnapshotOutput::builder()
                .snapshot_id(format!("snap-of-{}", r.volume_id().unwrap_or("?")))
                .volume_id(r.volume_id().unwrap_or("?"))
                .build()
        });
    let (ev, inst) = (no_evidence(), instance_with(TWO));
    let clients = own_account_clients(&[&ev, &inst, &create, &single]);
    let report = handle(&clients, input_json("111111111111", false))
        .await
        .expect("report");
    assert_eq!(single.num_calls(), 2);
    assert_eq!(report.evidence["snapshotApi"], "CreateSnapshot");
    assert_eq!(
        report.evidence["snapshotIds"],
        serde_json::json!(["snap-of-vol-root", "snap-of-vol-data"])
    );
}

#[tokio::test]
async fn tag_limit_retries_without_copy_tags_from_source() {
    let copying = mock!(Client::create_snapshots)
        .match_requests(|r| r.copy_tags_from_source().is_some())
        .then_error(|| code_error("TagLimitExceeded"));
    let plain = mock!(Client::create_snapshots)
        .match_requests(|r| {
            r.copy_tags_from_source().is_none() && !r.tag_specifications().is_empty()
        })
        .then_output(snapshots_out);
    let (ev, inst) = (no_evidence(), instance_with(TWO));
    let clients = own_account_clients(&[&ev, &inst, &copying, &plain]);
    let report = handle(&clients, input_json("111111111111", false))
        .await
        .expect("report");
    assert_eq!((copying.num_calls(), plain.num_calls()), (1, 1));
    assert_eq!(report.actions.len(), 2);
}

#[tokio::test]
async fn unknown_instance_is_target_not_found() {
    let inst = mock!(Client::describe_instances).then_error(|| {
        aws_sdk_ec2::operation::describe_instances::DescribeInstancesError::generic(
            ErrorMetadata::builder()
                .code("InvalidInstanceID.NotFound")
                .message("The instance ID 'i-0abc1234def567890' does not exist")
                .build(),
        )
    });
    let ev = no_evidence();
    let clients = own_account_clients(&[&ev, &inst]);
    let e = handle(&clients, input_json("111111111111", false))
        .await
        .expect_err("not found");
    assert_eq!(e.name, names::REMEDIATION_TARGET_NOT_FOUND);
}

#[tokio::test]
async fn member_account_is_reached_through_the_remediation_role() {
    let assume = test_util::assume_role_ok("snapshot", "ASIAMEMBER");
    let sessions = test_util::sessions("snapshot", test_util::base_config(), &[&assume]);
    let (ev, inst) = (no_evidence(), instance_with(TWO));
    let create = mock!(Client::create_snapshots).then_output(snapshots_out);
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen_in = Arc::clone(&seen);
    let rules = [ev, inst, create.clone()];
    let clients = Clients::new(sessions, move |config| {
        // Record where the client was pointed, then build it from that configuration with
        // the mocked transport, as production does without it.
        seen_in.lock().expect("lock").push(
            config
                .region()
                .map(|r| r.as_ref())
                .unwrap_or("")
                .to_string(),
        );
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
        for r in &rules {
            interceptor = interceptor.with_rule(r);
        }
        let conf = aws_sdk_ec2::config::Builder::from(config)
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .interceptor(interceptor)
            .build();
        Client::from_conf(conf)
    });
    let report = handle(&clients, input_json("222222222222", false))
        .await
        .expect("report");
    assert_eq!(assume.num_calls(), 1, "AssumeRole into the member account");
    assert_eq!(create.num_calls(), 1);
    assert_eq!(*seen.lock().expect("lock"), ["eu-west-1"]);
    assert_eq!(report.actions.len(), 2);
}

#[test]
fn iam_actions_are_sorted_and_cover_the_calls() {
    let mut sorted = IAM_ACTIONS.to_vec();
    sorted.sort_unstable();
    assert_eq!(sorted, IAM_ACTIONS);
    for a in [
        "ec2:CreateSnapshots",
        "ec2:CreateSnapshot",
        "ec2:CreateTags",
        "ec2:DescribeSnapshots",
        "ec2:DescribeInstances",
        "sts:AssumeRole",
    ] {
        assert!(IAM_ACTIONS.contains(&a), "{a}");
    }
}
