//! Eventual consistency through the proxy, with real SDK clients and a real moto: what was just
//! created is not found for the scenario's window, then is.
//! <https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html>

mod support;

use std::time::Duration;

use anyhow::Result;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use fault_proxy::FaultProxy;
use support::{scenario, sdk_no_retries, Moto};

const WINDOW: &str = r#"
[consistency]
security-group = 1.5
inline-policy = 1.5
snapshot = 1.5
"#;

#[tokio::test]
async fn a_new_security_group_is_not_found_during_its_window_then_found() -> Result<()> {
    let moto = Moto::start().await?;
    let proxy = FaultProxy::start(scenario(WINDOW), &moto.url).await?;
    let ec2 = aws_sdk_ec2::Client::new(&sdk_no_retries(&proxy.url()).await);
    let vpc = ec2.create_vpc().cidr_block("10.9.0.0/16").send().await?;
    let vpc_id = vpc.vpc().and_then(|v| v.vpc_id()).unwrap_or_default();
    let group = ec2
        .create_security_group()
        .group_name("quarantine")
        .description("quarantine")
        .vpc_id(vpc_id)
        .send()
        .await?;
    let group_id = group.group_id().unwrap_or_default().to_owned();
    let e = ec2
        .describe_security_groups()
        .group_ids(&group_id)
        .send()
        .await
        .expect_err("hidden");
    assert_eq!(e.code(), Some("InvalidGroup.NotFound"));
    assert_eq!(
        e.message(),
        Some(format!("The security group '{group_id}' does not exist").as_str())
    );
    let e = ec2
        .revoke_security_group_egress()
        .group_id(&group_id)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("-1")
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip("0.0.0.0/0")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect_err("hidden");
    assert_eq!(e.code(), Some("InvalidGroup.NotFound"));
    // Other groups are visible all along.
    ec2.describe_security_groups().send().await?;

    tokio::time::sleep(Duration::from_millis(1_700)).await;
    let found = ec2
        .describe_security_groups()
        .group_ids(&group_id)
        .send()
        .await?;
    assert_eq!(found.security_groups().len(), 1);
    let counts = proxy.counts();
    assert_eq!(counts.windows_opened.get("security-group"), Some(&1));
    assert_eq!(counts.errors("InvalidGroup.NotFound"), 2);
    proxy.stop();
    Ok(())
}

#[tokio::test]
async fn a_new_snapshot_cannot_be_tagged_during_its_window() -> Result<()> {
    let moto = Moto::start().await?;
    let proxy = FaultProxy::start(scenario(WINDOW), &moto.url).await?;
    let ec2 = aws_sdk_ec2::Client::new(&sdk_no_retries(&proxy.url()).await);
    let volume = ec2
        .create_volume()
        .availability_zone("eu-west-1a")
        .size(8)
        .send()
        .await?;
    let snapshot = ec2
        .create_snapshot()
        .volume_id(volume.volume_id().unwrap_or_default())
        .send()
        .await?;
    let snapshot_id = snapshot.snapshot_id().unwrap_or_default().to_owned();
    let tag = aws_sdk_ec2::types::Tag::builder()
        .key("finding")
        .value("f-1")
        .build();
    let e = ec2
        .create_tags()
        .resources(&snapshot_id)
        .tags(tag.clone())
        .send()
        .await
        .expect_err("hidden");
    assert_eq!(e.code(), Some("InvalidSnapshot.NotFound"));
    tokio::time::sleep(Duration::from_millis(1_700)).await;
    ec2.create_tags()
        .resources(&snapshot_id)
        .tags(tag)
        .send()
        .await?;
    let described = ec2
        .describe_snapshots()
        .snapshot_ids(&snapshot_id)
        .send()
        .await?;
    assert_eq!(described.snapshots().len(), 1);
    proxy.stop();
    Ok(())
}

#[tokio::test]
async fn a_new_inline_policy_is_no_such_entity_during_its_window() -> Result<()> {
    let moto = Moto::start().await?;
    let proxy = FaultProxy::start(scenario(WINDOW), &moto.url).await?;
    let iam = aws_sdk_iam::Client::new(&sdk_no_retries(&proxy.url()).await);
    iam.create_user().user_name("build-bot").send().await?;
    iam.put_user_policy()
        .user_name("build-bot")
        .policy_name("deny-all")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#)
        .send()
        .await?;
    let e = iam
        .get_user_policy()
        .user_name("build-bot")
        .policy_name("deny-all")
        .send()
        .await
        .expect_err("hidden");
    assert_eq!(e.code(), Some("NoSuchEntity"));
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(404));
    assert!(e
        .as_service_error()
        .is_some_and(|s| s.is_no_such_entity_exception()));
    tokio::time::sleep(Duration::from_millis(1_700)).await;
    let policy = iam
        .get_user_policy()
        .user_name("build-bot")
        .policy_name("deny-all")
        .send()
        .await?;
    assert_eq!(policy.policy_name(), "deny-all");
    proxy.stop();
    Ok(())
}
