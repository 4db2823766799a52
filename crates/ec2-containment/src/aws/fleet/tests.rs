//! Adapter tests of the Auto Scaling and ELBv2 adapters, against mocked SDK clients.

use aws_smithy_mocks::{mock, mock_client, RuleMode};

use super::*;

const I: &str = "i-0123456789abcdef0";

#[tokio::test]
async fn detach_keeps_the_desired_capacity() {
    use aws_sdk_autoscaling as asg;
    let describe = mock!(asg::Client::describe_auto_scaling_instances).then_output(|| {
        asg::operation::describe_auto_scaling_instances::DescribeAutoScalingInstancesOutput::builder()
            .auto_scaling_instances(
                asg::types::AutoScalingInstanceDetails::builder()
                    .instance_id(I)
                    .auto_scaling_group_name("web-asg")
                    .lifecycle_state("InService")
                    .build(),
            )
            .build()
    });
    let detach = mock!(asg::Client::detach_instances)
        .match_requests(|r| {
            r.should_decrement_desired_capacity() == Some(false)
                && r.auto_scaling_group_name() == Some("web-asg")
                && r.instance_ids() == [I.to_string()]
        })
        .then_output(|| asg::operation::detach_instances::DetachInstancesOutput::builder().build());
    let a = AutoScalingAdapter::new(mock_client!(asg, RuleMode::MatchAny, [&describe, &detach]));
    let m = a.membership(I).await.expect("described").expect("member");
    assert_eq!(m.group, "web-asg");
    a.detach(I, &m.group).await.expect("detached");
    assert_eq!(detach.num_calls(), 1);
}

#[tokio::test]
async fn desired_capacity_is_read_for_the_named_group_only() {
    use asg::operation::describe_auto_scaling_groups::DescribeAutoScalingGroupsOutput;
    use aws_sdk_autoscaling as asg;
    let group = |name: &str, desired: i32| {
        asg::types::AutoScalingGroup::builder()
            .auto_scaling_group_name(name)
            .desired_capacity(desired)
            .build()
    };
    let found = mock!(asg::Client::describe_auto_scaling_groups)
        .match_requests(|r| r.auto_scaling_group_names() == ["web-asg".to_string()])
        .then_output(move || {
            DescribeAutoScalingGroupsOutput::builder()
                .auto_scaling_groups(group("web-asg-2", 7))
                .auto_scaling_groups(group("web-asg", 3))
                .build()
        });
    let missing = mock!(asg::Client::describe_auto_scaling_groups)
        .then_output(|| DescribeAutoScalingGroupsOutput::builder().build());
    let a = AutoScalingAdapter::new(mock_client!(asg, RuleMode::Sequential, [&found, &missing]));
    assert_eq!(a.desired_capacity("web-asg").await.expect("read"), Some(3));
    assert_eq!(a.desired_capacity("gone-asg").await.expect("read"), None);
}

#[tokio::test]
async fn registrations_cover_instance_target_groups_in_the_vpcs_and_skip_draining() {
    use aws_sdk_elasticloadbalancingv2 as elb;
    use elb::types::{
        TargetDescription, TargetGroup, TargetHealth, TargetHealthDescription,
        TargetHealthStateEnum, TargetTypeEnum,
    };
    let tg = |arn: &str, vpc: &str, kind: TargetTypeEnum| {
        TargetGroup::builder()
            .target_group_arn(arn)
            .vpc_id(vpc)
            .target_type(kind)
            .build()
    };
    let groups = mock!(elb::Client::describe_target_groups).then_output(move || {
        elb::operation::describe_target_groups::DescribeTargetGroupsOutput::builder()
            .target_groups(tg("arn:tg/web", "vpc-1", TargetTypeEnum::Instance))
            .target_groups(tg("arn:tg/ips", "vpc-1", TargetTypeEnum::Ip))
            .target_groups(tg("arn:tg/other-vpc", "vpc-9", TargetTypeEnum::Instance))
            .build()
    });
    let health = mock!(elb::Client::describe_target_health)
        .match_requests(|r| r.target_group_arn() == Some("arn:tg/web"))
        .then_output(|| {
            let d = |id: &str, port: i32, state: TargetHealthStateEnum| {
                TargetHealthDescription::builder()
                    .target(TargetDescription::builder().id(id).port(port).build())
                    .target_health(TargetHealth::builder().state(state).build())
                    .build()
            };
            elb::operation::describe_target_health::DescribeTargetHealthOutput::builder()
                .target_health_descriptions(d(I, 443, TargetHealthStateEnum::Healthy))
                .target_health_descriptions(d(I, 80, TargetHealthStateEnum::Unhealthy))
                .target_health_descriptions(d(I, 8080, TargetHealthStateEnum::Draining))
                .target_health_descriptions(d("i-other", 80, TargetHealthStateEnum::Healthy))
                .build()
        });
    let deregister = mock!(elb::Client::deregister_targets)
        .match_requests(|r| {
            r.target_group_arn() == Some("arn:tg/web")
                && r.targets()
                    .iter()
                    .map(|t| (t.id(), t.port()))
                    .collect::<Vec<_>>()
                    == vec![(Some(I), Some(80)), (Some(I), Some(443))]
        })
        .then_output(|| {
            elb::operation::deregister_targets::DeregisterTargetsOutput::builder().build()
        });
    let a = LoadBalancingAdapter::new(mock_client!(
        elb,
        RuleMode::MatchAny,
        [&groups, &health, &deregister]
    ));
    let regs = a
        .registrations(I, &["vpc-1".to_string()])
        .await
        .expect("listed");
    assert_eq!(regs.len(), 1);
    assert_eq!(regs[0].target_group_arn, "arn:tg/web");
    assert_eq!(regs[0].ports, vec![80, 443]);
    assert_eq!(
        health.num_calls(),
        1,
        "only instance target groups of the VPC are read"
    );
    a.deregister("arn:tg/web", I, &regs[0].ports)
        .await
        .expect("deregistered");
    assert_eq!(deregister.num_calls(), 1);
}
