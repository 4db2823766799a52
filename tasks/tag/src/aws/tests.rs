//! Adapter tests: the EC2 calls and their parameters, against mocked SDK clients.

use aws_sdk_ec2::operation::create_tags::{CreateTagsError, CreateTagsOutput};
use aws_sdk_ec2::operation::describe_instances::{DescribeInstancesError, DescribeInstancesOutput};
use aws_sdk_ec2::operation::describe_tags::DescribeTagsOutput;
use aws_sdk_ec2::types::{
    EbsInstanceBlockDevice, Instance, InstanceBlockDeviceMapping, InstanceNetworkInterface,
    Reservation, TagDescription,
};
use aws_sdk_ec2::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use responder_aws::test_util;
use responder_core::testing;
use responder_core::{markers, names, Outcome};

use super::*;

const INSTANCE: &str = "i-0abc1234def567890";
const FINDING: &str = "5ab0f1c3d2e4a6b8c0d2e4f6a8b0c2d4";

fn input_json(account: &str, dry_run: bool) -> serde_json::Value {
    testing::instance_input_json(INSTANCE, FINDING, account, dry_run)
}

fn instance() -> Rule {
    mock!(Client::describe_instances)
        .match_requests(|r| r.instance_ids() == [INSTANCE])
        .then_output(|| {
            let i = Instance::builder()
                .instance_id(INSTANCE)
                .tags(Tag::builder().key("Name").value("web-1").build())
                .block_device_mappings(
                    InstanceBlockDeviceMapping::builder()
                        .device_name("/dev/xvda")
                        .ebs(
                            EbsInstanceBlockDevice::builder()
                                .volume_id("vol-root")
                                .build(),
                        )
                        .build(),
                )
                .network_interfaces(
                    InstanceNetworkInterface::builder()
                        .network_interface_id("eni-1")
                        .build(),
                )
                .build();
            DescribeInstancesOutput::builder()
                .reservations(Reservation::builder().instances(i).build())
                .build()
        })
}

fn sub_tags() -> Rule {
    mock!(Client::describe_tags)
        .match_requests(|r| {
            r.filters()
                .iter()
                .any(|f| f.name() == Some("resource-id") && f.values() == ["vol-root", "eni-1"])
        })
        .then_output(|| {
            DescribeTagsOutput::builder()
                .tags(
                    TagDescription::builder()
                        .resource_id("eni-1")
                        .key("Owner")
                        .value("net")
                        .build(),
                )
                .build()
        })
}

fn instance_write() -> Rule {
    mock!(Client::create_tags)
        .match_requests(|r| {
            let tags: Vec<(&str, &str)> = r
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?, t.value()?)))
                .collect();
            r.resources() == [INSTANCE]
                && r.dry_run() != Some(true)
                && tags.contains(&(markers::TAG_FINDING_ID, FINDING))
                && tags.contains(&(markers::TAG_SEVERITY, "8.0 HIGH"))
                && tags.contains(&(markers::TAG_FINDING_TYPE, "Backdoor:EC2/C&CActivity.B!DNS"))
                && tags.contains(&(markers::TAG_EXECUTION, "exec-1"))
                && tags
                    .iter()
                    .any(|(k, v)| *k == markers::TAG_TIME && v.ends_with('Z'))
                && !tags.iter().any(|(k, _)| *k == markers::TAG_STATUS)
        })
        .then_output(|| CreateTagsOutput::builder().build())
}

fn sub_write() -> Rule {
    mock!(Client::create_tags)
        .match_requests(|r| {
            r.resources() == ["vol-root", "eni-1"]
                && r.tags().len() == 1
                && r.tags()[0].key() == Some(markers::TAG_FINDING_ID)
                && r.tags()[0].value() == Some(FINDING)
        })
        .then_output(|| CreateTagsOutput::builder().build())
}

fn code_error(code: &str) -> CreateTagsError {
    CreateTagsError::generic(ErrorMetadata::builder().code(code).message(code).build())
}

fn ec2(rules: &[&Rule]) -> Client {
    // The SDK's own retries are off so each error reaches the task as the state machine sees
    // it after the SDK gave up.
    mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules, |b| b
        .retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled()))
}

fn own_account_clients(rules: &[&Rule]) -> Clients<Client> {
    let sessions = test_util::sessions("tag", test_util::base_config(), &[]);
    let client = ec2(rules);
    Clients::new(sessions, move |_| client.clone())
}

#[tokio::test]
async fn writes_incident_tags_and_the_finding_id_on_volumes_and_interfaces() {
    let (inst, subs, iw, sw) = (instance(), sub_tags(), instance_write(), sub_write());
    let clients = own_account_clients(&[&inst, &subs, &iw, &sw]);
    let r = handle(&clients, input_json("111111111111", false))
        .await
        .expect("report");
    assert_eq!(iw.num_calls(), 1);
    assert_eq!(sw.num_calls(), 1);
    assert_eq!(r.actions.len(), 3);
    assert!(r.actions.iter().all(|a| a.outcome == Outcome::Changed));
    assert_eq!(
        r.evidence["taggedResources"],
        serde_json::json!(["vol-root", "eni-1"])
    );
}

#[tokio::test]
async fn dry_run_operation_is_would_change() {
    let dry = mock!(Client::create_tags)
        .match_requests(|r| r.dry_run() == Some(true))
        .then_error(|| code_error("DryRunOperation"));
    let (inst, subs) = (instance(), sub_tags());
    let clients = own_account_clients(&[&inst, &subs, &dry]);
    let r = handle(&clients, input_json("111111111111", true))
        .await
        .expect("report");
    assert_eq!(dry.num_calls(), 2);
    assert!(r.actions.iter().all(|a| a.outcome == Outcome::WouldChange));
}

#[tokio::test]
async fn throttling_is_retryable_and_the_next_invocation_succeeds() {
    let throttled_then_ok = mock!(Client::create_tags)
        .sequence()
        .error(|| code_error("RequestLimitExceeded"))
        .output(|| CreateTagsOutput::builder().build())
        .repeatedly()
        .build();
    let (inst, subs) = (instance(), sub_tags());
    let clients = own_account_clients(&[&inst, &subs, &throttled_then_ok]);
    let e = handle(&clients, input_json("111111111111", false))
        .await
        .expect_err("throttled");
    assert_eq!(e.name, names::REMEDIATION_THROTTLED);
    assert!(e.is_retryable());
    let r = handle(&clients, input_json("111111111111", false))
        .await
        .expect("second invocation");
    assert_eq!(r.actions.len(), 3);
}

#[tokio::test]
async fn unknown_instance_is_target_not_found() {
    let missing = mock!(Client::describe_instances).then_error(|| {
        DescribeInstancesError::generic(
            ErrorMetadata::builder()
                .code("InvalidInstanceID.NotFound")
                .build(),
        )
    });
    let clients = own_account_clients(&[&missing]);
    let e = handle(&clients, input_json("111111111111", false))
        .await
        .expect_err("missing");
    assert_eq!(e.name, names::REMEDIATION_TARGET_NOT_FOUND);
}

#[tokio::test]
async fn member_account_is_reached_through_the_remediation_role() {
    let assume = test_util::assume_role_ok("tag", "ASIAMEMBER");
    let sessions = test_util::sessions("tag", test_util::base_config(), &[&assume]);
    let (inst, subs, iw, sw) = (instance(), sub_tags(), instance_write(), sub_write());
    let client = ec2(&[&inst, &subs, &iw, &sw]);
    let clients = Clients::new(sessions, move |config| {
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        client.clone()
    });
    let r = handle(&clients, input_json("222222222222", false))
        .await
        .expect("report");
    assert_eq!(assume.num_calls(), 1);
    assert_eq!(iw.num_calls(), 1);
    assert!(r.changed());
}

#[test]
fn iam_actions_are_sorted_and_cover_the_calls() {
    let mut sorted = IAM_ACTIONS.to_vec();
    sorted.sort_unstable();
    assert_eq!(sorted, IAM_ACTIONS);
    assert_eq!(
        IAM_ACTIONS,
        [
            "ec2:CreateTags",
            "ec2:DescribeInstances",
            "ec2:DescribeTags",
            "sts:AssumeRole"
        ]
    );
}
