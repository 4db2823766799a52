//! Adapter tests: the ECS calls and their answers, against mocked SDK clients.

use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::types::{Attachment, Failure, KeyValuePair, Task, TaskOverride};
use aws_smithy_mocks::{mock, mock_client, RuleMode};

use super::*;

fn detail(name: &str, value: &str) -> KeyValuePair {
    KeyValuePair::builder().name(name).value(value).build()
}

const ARN: &str =
    "arn:aws:ecs:eu-west-1:222222222222:task/checkout/4f1c2a7e9b3d4c5e8a6b0d1f2e3c4b5a";

/// The task's interfaces come from its `ElasticNetworkInterface` attachments only, its role
/// override and tags are read, and a task ECS reports as a failure (`MISSING`) is `None`.
#[tokio::test]
async fn a_task_is_read_with_its_interfaces_role_override_and_tags() {
    let found = mock!(Client::describe_tasks)
        .match_requests(|r| {
            r.cluster() == Some("checkout")
                && r.tasks() == [ARN.to_string()]
                && r.include() == [TaskField::Tags]
        })
        .then_output(|| {
            DescribeTasksOutput::builder()
                .tasks(
                    Task::builder()
                        .task_arn(ARN)
                        .last_status("RUNNING")
                        .group("service:checkout-api")
                        .attachments(
                            Attachment::builder()
                                .r#type("ElasticNetworkInterface")
                                .details(detail("subnetId", "subnet-tasks"))
                                .details(detail("networkInterfaceId", "eni-0task"))
                                .details(detail("privateIPv4Address", "10.0.1.25"))
                                .build(),
                        )
                        .attachments(
                            Attachment::builder()
                                .r#type("ServiceConnect")
                                .details(detail("networkInterfaceId", "eni-not-the-tasks"))
                                .build(),
                        )
                        .overrides(
                            TaskOverride::builder()
                                .task_role_arn("arn:aws:iam::222222222222:role/override")
                                .build(),
                        )
                        .tags(Tag::builder().key("team").value("payments").build())
                        .build(),
                )
                .build()
        });
    let missing = mock!(Client::describe_tasks).then_output(|| {
        DescribeTasksOutput::builder()
            .failures(Failure::builder().arn(ARN).reason("MISSING").build())
            .build()
    });
    let client = mock_client!(aws_sdk_ecs, RuleMode::Sequential, &[&found, &missing]);
    let ecs = EcsTasks::new(client);
    let state = ecs
        .task("checkout", ARN)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(state.interfaces, vec!["eni-0task"]);
    assert_eq!(
        state.role_override.as_deref(),
        Some("arn:aws:iam::222222222222:role/override")
    );
    assert_eq!(state.group.as_deref(), Some("service:checkout-api"));
    assert_eq!(
        state.tags,
        vec![("team".to_string(), "payments".to_string())]
    );
    assert_eq!(ecs.task("checkout", ARN).await.expect("read"), None);
}

/// Every call's action is listed, and nothing else: the ECS calls here, the EC2 calls of the
/// network ACL step and its rollback in `ec2-containment`'s adapter.
#[test]
fn iam_actions_are_exactly_the_calls() {
    let ecs = include_str!("../aws.rs");
    let ec2 = include_str!("../../../../crates/ec2-containment/src/aws.rs");
    let calls = [
        (ecs, ".describe_tasks()", "ecs:DescribeTasks"),
        (
            ecs,
            ".describe_task_definition()",
            "ecs:DescribeTaskDefinition",
        ),
        (
            ecs,
            ".describe_container_instances()",
            "ecs:DescribeContainerInstances",
        ),
        (ecs, ".tag_resource()", "ecs:TagResource"),
        (ecs, ".untag_resource()", "ecs:UntagResource"),
        (ecs, ".stop_task()", "ecs:StopTask"),
        (
            ec2,
            ".describe_network_interfaces()",
            "ec2:DescribeNetworkInterfaces",
        ),
        (ec2, ".describe_network_acls()", "ec2:DescribeNetworkAcls"),
        (
            ec2,
            ".create_network_acl_entry()",
            "ec2:CreateNetworkAclEntry",
        ),
        (
            ec2,
            ".delete_network_acl_entry()",
            "ec2:DeleteNetworkAclEntry",
        ),
        (ec2, ".create_tags()", "ec2:CreateTags"),
        (ec2, ".delete_tags()", "ec2:DeleteTags"),
        (ec2, ".describe_vpc_endpoints()", "ec2:DescribeVpcEndpoints"),
    ];
    for (source, op, action) in calls {
        assert!(source.contains(op), "{op}");
        assert!(IAM_ACTIONS.contains(&action), "{action}");
    }
    assert_eq!(IAM_ACTIONS.len(), calls.len() + 1);
    assert!(IAM_ACTIONS.contains(&"sts:AssumeRole"));
    let mut sorted = IAM_ACTIONS.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, IAM_ACTIONS);
}
