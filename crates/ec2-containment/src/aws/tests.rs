//! Adapter tests: the SDK calls the adapters make and how their answers and errors map,
//! against aws-smithy-mocks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ec2 as ec2;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::ErrorMetadata;
use ec2::operation::create_security_group::{CreateSecurityGroupError, CreateSecurityGroupOutput};
use ec2::operation::describe_instances::DescribeInstancesOutput;
use ec2::operation::describe_network_interfaces::DescribeNetworkInterfacesOutput;
use ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput;
use ec2::operation::modify_network_interface_attribute::{
    ModifyNetworkInterfaceAttributeError, ModifyNetworkInterfaceAttributeOutput,
};
use ec2::types::{
    GroupIdentifier, Instance as SdkInstance, InstanceNetworkInterface,
    InstanceNetworkInterfaceAttachment, NetworkInterface, Reservation, Tag,
};
use responder_aws::test_util;
use responder_core::{markers, names};

use crate::aws::Ec2Adapter;
use crate::caps::Ec2Isolation;
use crate::model::GroupRole;

const I: &str = "i-0123456789abcdef0";

fn ec2_error(code: &'static str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(code).build()
}

fn no_retries(b: ec2::config::Builder) -> ec2::config::Builder {
    b.retry_config(aws_smithy_types::retry::RetryConfig::disabled())
}

fn describe_instances_ok() -> aws_smithy_mocks::Rule {
    mock!(ec2::Client::describe_instances)
        .match_requests(|r| r.instance_ids() == [I.to_string()])
        .then_output(|| {
            let eni = |id: &str, index: i32| {
                InstanceNetworkInterface::builder()
                    .network_interface_id(id)
                    .attachment(
                        InstanceNetworkInterfaceAttachment::builder()
                            .device_index(index)
                            .build(),
                    )
                    .build()
            };
            DescribeInstancesOutput::builder()
                .reservations(
                    Reservation::builder()
                        .instances(
                            SdkInstance::builder()
                                .instance_id(I)
                                // Listed out of order: the primary interface comes first.
                                .network_interfaces(eni("eni-b", 1))
                                .network_interfaces(eni("eni-a", 0))
                                .tags(Tag::builder().key("Name").value("web-1").build())
                                .build(),
                        )
                        .build(),
                )
                .build()
        })
}

#[tokio::test]
async fn describe_then_modify_interface_groups() {
    let describe = describe_instances_ok();
    let enis = mock!(ec2::Client::describe_network_interfaces)
        .match_requests(|r| r.network_interface_ids() == ["eni-a".to_string(), "eni-b".to_string()])
        .then_output(|| {
            DescribeNetworkInterfacesOutput::builder()
                .network_interfaces(
                    NetworkInterface::builder()
                        .network_interface_id("eni-a")
                        .vpc_id("vpc-1")
                        .groups(GroupIdentifier::builder().group_id("sg-web").build())
                        .groups(GroupIdentifier::builder().group_id("sg-ssh").build())
                        .tag_set(
                            Tag::builder()
                                .key(markers::TAG_ORIGINAL_GROUPS)
                                .value("sg-web sg-ssh")
                                .build(),
                        )
                        .build(),
                )
                .network_interfaces(
                    NetworkInterface::builder()
                        .network_interface_id("eni-b")
                        .vpc_id("vpc-2")
                        .groups(GroupIdentifier::builder().group_id("sg-db").build())
                        .build(),
                )
                .build()
        });
    let modify = mock!(ec2::Client::modify_network_interface_attribute)
        .match_requests(|r| {
            r.network_interface_id() == Some("eni-a")
                && r.groups() == ["sg-q".to_string()]
                && r.dry_run() == Some(false)
        })
        .then_output(|| ModifyNetworkInterfaceAttributeOutput::builder().build());
    let client = mock_client!(ec2, RuleMode::MatchAny, [&describe, &enis, &modify]);
    let a = Ec2Adapter::new(client);

    let inst = a
        .describe_instance(I)
        .await
        .expect("described")
        .expect("exists");
    assert_eq!(inst.interface_ids, vec!["eni-a", "eni-b"]);
    assert_eq!(inst.tags.get("Name").map(String::as_str), Some("web-1"));
    let ifaces = a
        .describe_interfaces(&inst.interface_ids)
        .await
        .expect("interfaces");
    assert_eq!(ifaces[0].group_ids, vec!["sg-web", "sg-ssh"]);
    assert_eq!(ifaces[1].vpc_id, "vpc-2");
    assert_eq!(
        crate::record::decode_groups(&ifaces[0].tags),
        Some(vec!["sg-web".to_string(), "sg-ssh".to_string()])
    );
    a.set_interface_groups("eni-a", &["sg-q".to_string()], false)
        .await
        .expect("modified");
    assert_eq!(modify.num_calls(), 1);
}

#[tokio::test]
async fn a_missing_instance_is_none() {
    let rule = mock!(ec2::Client::describe_instances).then_error(|| {
        ec2::operation::describe_instances::DescribeInstancesError::generic(ec2_error(
            "InvalidInstanceID.NotFound",
        ))
    });
    let a = Ec2Adapter::new(mock_client!(ec2, [&rule]));
    assert_eq!(a.describe_instance(I).await.expect("answered"), None);
}

#[tokio::test]
async fn dry_run_operation_means_permitted_and_unauthorized_means_access_denied() {
    let permitted = mock!(ec2::Client::modify_network_interface_attribute)
        .match_requests(|r| r.dry_run() == Some(true))
        .then_error(|| ModifyNetworkInterfaceAttributeError::generic(ec2_error("DryRunOperation")));
    let denied = mock!(ec2::Client::modify_network_interface_attribute)
        .match_requests(|r| r.dry_run() == Some(true))
        .then_error(|| {
            ModifyNetworkInterfaceAttributeError::generic(ec2_error("UnauthorizedOperation"))
        });
    let client = mock_client!(ec2, RuleMode::Sequential, [&permitted, &denied]);
    let a = Ec2Adapter::new(client);
    let groups = ["sg-q".to_string()];
    a.set_interface_groups("eni-a", &groups, true)
        .await
        .expect("DryRunOperation is success");
    let e = a
        .set_interface_groups("eni-a", &groups, true)
        .await
        .expect_err("denied");
    assert_eq!(e.name, names::REMEDIATION_ACCESS_DENIED);
    assert!(
        e.message.contains("ec2:ModifyNetworkInterfaceAttribute"),
        "{}",
        e.message
    );

    // A dry-run CreateSecurityGroup answers "would create" with no id.
    let create = mock!(ec2::Client::create_security_group)
        .match_requests(|r| {
            r.dry_run() == Some(true)
                && r.group_name() == Some(markers::QUARANTINE_GROUP_NAME)
                && r.vpc_id() == Some("vpc-1")
        })
        .then_error(|| CreateSecurityGroupError::generic(ec2_error("DryRunOperation")));
    let a = Ec2Adapter::new(mock_client!(ec2, [&create]));
    assert_eq!(
        a.create_group("vpc-1", GroupRole::Quarantine, true)
            .await
            .expect("would create"),
        None
    );
}

#[tokio::test]
async fn throttling_is_retryable_and_the_next_call_succeeds() {
    let rule = mock!(ec2::Client::modify_network_interface_attribute)
        .sequence()
        .error(|| ModifyNetworkInterfaceAttributeError::generic(ec2_error("RequestLimitExceeded")))
        .output(|| ModifyNetworkInterfaceAttributeOutput::builder().build())
        .build();
    // SDK retries off: the task reports the throttle and the state machine retries it.
    let client = mock_client!(ec2, RuleMode::Sequential, [&rule], no_retries);
    let a = Ec2Adapter::new(client);
    let groups = ["sg-q".to_string()];
    let e = a
        .set_interface_groups("eni-a", &groups, false)
        .await
        .expect_err("throttled");
    assert_eq!(e.name, names::REMEDIATION_THROTTLED);
    assert!(e.is_retryable());
    a.set_interface_groups("eni-a", &groups, false)
        .await
        .expect("the repeat succeeds");
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn the_sdk_retries_a_throttle_within_one_invocation() {
    let rule = mock!(ec2::Client::modify_network_interface_attribute)
        .sequence()
        .error(|| ModifyNetworkInterfaceAttributeError::generic(ec2_error("RequestLimitExceeded")))
        .output(|| ModifyNetworkInterfaceAttributeOutput::builder().build())
        .build();
    let client = mock_client!(ec2, RuleMode::Sequential, [&rule], |b| b.retry_config(
        aws_smithy_types::retry::RetryConfig::standard()
            .with_initial_backoff(Duration::from_millis(1))
            .with_max_attempts(3)
    ));
    Ec2Adapter::new(client)
        .set_interface_groups("eni-a", &["sg-q".to_string()], false)
        .await
        .expect("retried by the SDK");
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn a_concurrently_created_group_is_found_instead() {
    let create = mock!(ec2::Client::create_security_group)
        .then_error(|| CreateSecurityGroupError::generic(ec2_error("InvalidGroup.Duplicate")));
    let find = mock!(ec2::Client::describe_security_groups)
        .match_requests(|r| {
            r.filters().iter().any(|f| {
                f.name() == Some("group-name")
                    && f.values() == [markers::QUARANTINE_GROUP_NAME.to_string()]
            })
        })
        .then_output(|| {
            DescribeSecurityGroupsOutput::builder()
                .security_groups(
                    ec2::types::SecurityGroup::builder()
                        .group_id("sg-existing")
                        .vpc_id("vpc-1")
                        .build(),
                )
                .build()
        });
    let a = Ec2Adapter::new(mock_client!(ec2, RuleMode::MatchAny, [&create, &find]));
    assert_eq!(
        a.create_group("vpc-1", GroupRole::Quarantine, false)
            .await
            .expect("found"),
        Some("sg-existing".to_string())
    );
    let created = mock!(ec2::Client::create_security_group)
        .match_requests(|r| {
            r.tag_specifications().iter().any(|s| {
                s.tags().iter().any(|t| {
                    t.key() == Some(markers::TAG_GROUP_ROLE) && t.value() == Some("untrack")
                })
            })
        })
        .then_output(|| {
            CreateSecurityGroupOutput::builder()
                .group_id("sg-new")
                .build()
        });
    let a = Ec2Adapter::new(mock_client!(ec2, [&created]));
    assert_eq!(
        a.create_group("vpc-1", GroupRole::Untrack, false)
            .await
            .expect("created"),
        Some("sg-new".to_string())
    );
}

/// Both groups of a VPC in one call; each answer is taken only for its own name and VPC.
#[tokio::test]
async fn both_groups_of_a_vpc_are_read_in_one_call() {
    let group = |id: &str, name: &str, vpc: &str| {
        ec2::types::SecurityGroup::builder()
            .group_id(id)
            .group_name(name)
            .vpc_id(vpc)
            .build()
    };
    let find = mock!(ec2::Client::describe_security_groups)
        .match_requests(|r| {
            r.filters().iter().any(|f| {
                f.name() == Some("group-name")
                    && f.values()
                        == [
                            markers::QUARANTINE_GROUP_NAME.to_string(),
                            GroupRole::Untrack.group_name().to_string(),
                        ]
            }) && r
                .filters()
                .iter()
                .any(|f| f.name() == Some("vpc-id") && f.values() == ["vpc-1".to_string()])
        })
        .then_output(move || {
            DescribeSecurityGroupsOutput::builder()
                .security_groups(group("sg-other", markers::QUARANTINE_GROUP_NAME, "vpc-2"))
                .security_groups(group("sg-u", GroupRole::Untrack.group_name(), "vpc-1"))
                .security_groups(group("sg-q", markers::QUARANTINE_GROUP_NAME, "vpc-1"))
                .build()
        });
    let a = Ec2Adapter::new(mock_client!(ec2, [&find]));
    let (q, u) = a.find_groups("vpc-1").await.expect("read");
    assert_eq!(q.map(|g| g.id).as_deref(), Some("sg-q"));
    assert_eq!(u.map(|g| g.id).as_deref(), Some("sg-u"));
    assert_eq!(find.num_calls(), 1);
}

/// Keeps the Authorization header of every signed request.
#[derive(Debug, Clone, Default)]
struct CaptureAuthorization(Arc<Mutex<Vec<String>>>);

impl Intercept for CaptureAuthorization {
    fn name(&self) -> &'static str {
        "CaptureAuthorization"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(v) = context.request().headers().get("authorization") {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(v.to_string());
        }
        Ok(())
    }
}

#[tokio::test]
async fn cross_account_calls_use_the_assumed_role_in_the_findings_region() {
    let assume = test_util::assume_role_ok("isolate", "ASIAMEMBERACCOUNT");
    let sessions = test_util::sessions(
        "isolate",
        test_util::base_config_with_key("AKIAPIPELINE"),
        &[&assume],
    );
    let conf = sessions
        .config_for("aws", "222222222222", "eu-west-1")
        .await
        .expect("assumed");

    let describe = describe_instances_ok();
    let capture = CaptureAuthorization::default();
    let client = ec2::Client::from_conf(
        ec2::config::Builder::from(&conf)
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .interceptor(aws_smithy_mocks::MockResponseInterceptor::new().with_rule(&describe))
            .interceptor(capture.clone())
            .build(),
    );
    let inst = Ec2Adapter::new(client)
        .describe_instance(I)
        .await
        .expect("described");
    assert!(inst.is_some());
    assert_eq!(assume.num_calls(), 1);
    let auth = capture.0.lock().expect("lock").clone();
    assert_eq!(auth.len(), 1);
    assert!(
        auth[0].contains("Credential=ASIAMEMBERACCOUNT/"),
        "{}",
        auth[0]
    );
    assert!(
        auth[0].contains("/eu-west-1/ec2/aws4_request"),
        "{}",
        auth[0]
    );
}
