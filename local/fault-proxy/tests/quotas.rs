//! Quotas moto does not enforce, refused by the proxy with AWS's codes, through real SDK
//! clients and a real moto. Sources: "IAM and AWS STS quotas"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>) and "Amazon
//! VPC quotas" (<https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html>).

mod support;

use anyhow::Result;
use aws_sdk_ec2::types::{IpPermission, IpRange, RuleAction, Tag};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use fault_proxy::FaultProxy;
use support::{scenario, sdk_no_retries, Moto};

/// A policy document of exactly `size` non-whitespace characters (with white space that must
/// not count).
fn policy_of_size(size: usize) -> String {
    let head = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*", "Sid": ""#;
    let tail = r#""}]}"#;
    let fixed = head.chars().filter(|c| !c.is_whitespace()).count() + tail.len();
    format!("{head}{}{tail}", "A".repeat(size - fixed))
}

#[tokio::test]
async fn inline_policies_of_a_user_share_2048_characters() -> Result<()> {
    let moto = Moto::start().await?;
    let proxy = FaultProxy::start(scenario("[quotas]\naws = true"), &moto.url).await?;
    let iam = aws_sdk_iam::Client::new(&sdk_no_retries(&proxy.url()).await);
    iam.create_user().user_name("build-bot").send().await?;
    let put = |name: &'static str, size: usize| {
        iam.put_user_policy()
            .user_name("build-bot")
            .policy_name(name)
            .policy_document(policy_of_size(size))
            .send()
    };
    put("first", 1_500).await?;
    let e = put("second", 549).await.expect_err("over the quota");
    assert_eq!(e.code(), Some("LimitExceeded"));
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(409));
    assert_eq!(
        e.message(),
        Some("Maximum policy size of 2048 bytes exceeded for user build-bot")
    );
    assert!(e
        .as_service_error()
        .is_some_and(|s| s.is_limit_exceeded_exception()));
    put("second", 548).await?;
    // A new version of a policy replaces it: it is not counted twice.
    put("first", 1_500).await?;
    let e = put("first", 1_501).await.expect_err("over the quota");
    assert_eq!(e.code(), Some("LimitExceeded"));
    assert_eq!(
        proxy.counts().quota_refusals.get("inline-policy-size"),
        Some(&2)
    );
    proxy.stop();
    Ok(())
}

#[tokio::test]
async fn inline_policies_of_a_role_share_10240_characters() -> Result<()> {
    let moto = Moto::start().await?;
    let proxy = FaultProxy::start(scenario("[quotas]\naws = true"), &moto.url).await?;
    let iam = aws_sdk_iam::Client::new(&sdk_no_retries(&proxy.url()).await);
    iam.create_role()
        .role_name("web-app-role")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await?;
    for (name, size) in [("a", 5_000), ("b", 5_000)] {
        iam.put_role_policy()
            .role_name("web-app-role")
            .policy_name(name)
            .policy_document(policy_of_size(size))
            .send()
            .await?;
    }
    let e = iam
        .put_role_policy()
        .role_name("web-app-role")
        .policy_name("c")
        .policy_document(policy_of_size(241))
        .send()
        .await
        .expect_err("over the quota");
    assert_eq!(e.code(), Some("LimitExceeded"));
    assert_eq!(
        e.message(),
        Some("Maximum policy size of 10240 bytes exceeded for role web-app-role")
    );
    proxy.stop();
    Ok(())
}

/// A VPC, a subnet and an interface in it.
async fn network(ec2: &aws_sdk_ec2::Client) -> Result<(String, String)> {
    let vpc = ec2.create_vpc().cidr_block("10.8.0.0/16").send().await?;
    let vpc_id = vpc
        .vpc()
        .and_then(|v| v.vpc_id())
        .unwrap_or_default()
        .to_owned();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.8.1.0/24")
        .send()
        .await?;
    let subnet_id = subnet
        .subnet()
        .and_then(|s| s.subnet_id())
        .unwrap_or_default();
    let eni = ec2
        .create_network_interface()
        .subnet_id(subnet_id)
        .send()
        .await?;
    let eni_id = eni
        .network_interface()
        .and_then(|n| n.network_interface_id())
        .unwrap_or_default()
        .to_owned();
    Ok((vpc_id, eni_id))
}

#[tokio::test]
async fn an_interface_holds_at_most_five_security_groups() -> Result<()> {
    let moto = Moto::start().await?;
    let proxy = FaultProxy::start(scenario("[quotas]\naws = true"), &moto.url).await?;
    let ec2 = aws_sdk_ec2::Client::new(&sdk_no_retries(&proxy.url()).await);
    let (vpc_id, eni_id) = network(&ec2).await?;
    let mut groups = Vec::new();
    for i in 0..6 {
        let g = ec2
            .create_security_group()
            .group_name(format!("g{i}"))
            .description("test")
            .vpc_id(&vpc_id)
            .send()
            .await?;
        groups.push(g.group_id().unwrap_or_default().to_owned());
    }
    ec2.modify_network_interface_attribute()
        .network_interface_id(&eni_id)
        .set_groups(Some(groups[..5].to_vec()))
        .send()
        .await?;
    let e = ec2
        .modify_network_interface_attribute()
        .network_interface_id(&eni_id)
        .set_groups(Some(groups.clone()))
        .send()
        .await
        .expect_err("six groups");
    assert_eq!(e.code(), Some("SecurityGroupsPerInterfaceLimitExceeded"));
    proxy.stop();
    Ok(())
}

#[tokio::test]
async fn a_network_acl_holds_twenty_entries_per_direction() -> Result<()> {
    let moto = Moto::start().await?;
    let proxy = FaultProxy::start(scenario("[quotas]\naws = true"), &moto.url).await?;
    let ec2 = aws_sdk_ec2::Client::new(&sdk_no_retries(&proxy.url()).await);
    let (vpc_id, _) = network(&ec2).await?;
    let acl = ec2.create_network_acl().vpc_id(&vpc_id).send().await?;
    let acl_id = acl
        .network_acl()
        .and_then(|a| a.network_acl_id())
        .unwrap_or_default()
        .to_owned();
    let entry = |rule: i32, egress: bool| {
        ec2.create_network_acl_entry()
            .network_acl_id(&acl_id)
            .rule_number(rule)
            .protocol("-1")
            .rule_action(RuleAction::Deny)
            .egress(egress)
            .cidr_block(format!("10.{rule}.0.0/16"))
            .send()
    };
    for rule in 1..=20 {
        entry(rule, false).await?;
    }
    let e = entry(21, false).await.expect_err("the 21st inbound entry");
    assert_eq!(e.code(), Some("NetworkAclEntryLimitExceeded"));
    // The other direction has its own 20.
    entry(21, true).await?;
    proxy.stop();
    Ok(())
}

#[tokio::test]
async fn tags_and_security_group_rules_are_refused_by_the_proxy_itself() -> Result<()> {
    let moto = Moto::start().await?;
    // Lower limits than AWS's, so that the proxy, not moto (which knows AWS's), refuses.
    let proxy = FaultProxy::start(
        scenario("[quotas]\ntags_per_resource = 3\nrules_per_security_group = 2"),
        &moto.url,
    )
    .await?;
    let ec2 = aws_sdk_ec2::Client::new(&sdk_no_retries(&proxy.url()).await);
    let (vpc_id, eni_id) = network(&ec2).await?;
    let tag = |k: &str| Tag::builder().key(k).value("v").build();
    ec2.create_tags()
        .resources(&eni_id)
        .tags(tag("a"))
        .tags(tag("b"))
        .send()
        .await?;
    // Re-tagging an existing key adds no tag.
    ec2.create_tags()
        .resources(&eni_id)
        .tags(tag("b"))
        .tags(tag("c"))
        .send()
        .await?;
    let e = ec2
        .create_tags()
        .resources(&eni_id)
        .tags(tag("d"))
        .send()
        .await
        .expect_err("a fourth tag");
    assert_eq!(e.code(), Some("TagLimitExceeded"));

    let group = ec2
        .create_security_group()
        .group_name("web")
        .description("web")
        .vpc_id(&vpc_id)
        .send()
        .await?;
    let group_id = group.group_id().unwrap_or_default().to_owned();
    let rule = |cidrs: &[&str]| {
        let mut p = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443);
        for c in cidrs {
            p = p.ip_ranges(IpRange::builder().cidr_ip(*c).build());
        }
        ec2.authorize_security_group_ingress()
            .group_id(&group_id)
            .ip_permissions(p.build())
            .send()
    };
    rule(&["10.0.0.0/8", "172.16.0.0/12"]).await?;
    let e = rule(&["192.168.0.0/16"]).await.expect_err("a third rule");
    assert_eq!(e.code(), Some("RulesPerSecurityGroupLimitExceeded"));
    let counts = proxy.counts();
    assert_eq!(counts.quota_refusals.get("tags-per-resource"), Some(&1));
    assert_eq!(
        counts.quota_refusals.get("rules-per-security-group"),
        Some(&1)
    );
    assert!(counts.quota_reads >= 4, "{}", counts.quota_reads);
    proxy.stop();
    Ok(())
}
