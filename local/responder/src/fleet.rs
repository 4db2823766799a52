//! More member accounts, for the benchmarks: each reached through the remediation role as in
//! the estate (an ExternalId, a role trusting the security account), with one network and
//! many single-interface instances. Seeded beside the estate, which the demo and the tests
//! check; nothing here changes it.

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use aws_sdk_ec2::types::{
    InstanceNetworkInterfaceSpecification, InstanceType, ResourceType, Tag, TagSpecification,
};

use crate::estate::{self, SeededInstance, SeededInterface, EXTERNAL_ID, REMEDIATION_ROLE};

/// An AMI moto knows (as in the estate).
const AMI: &str = "ami-12c6146b";

/// RunInstances launches at most this many instances per call here (a seeding detail: moto
/// answers large batches slowly).
const BATCH: usize = 50;

/// The id of the `n`th benchmark member account (`300000000000`, `300000000001`, ...): apart
/// from the estate's accounts.
pub fn member_account_id(n: usize) -> String {
    format!("{:012}", 300_000_000_000u64 + n as u64)
}

/// One seeded member account.
#[derive(Debug, Clone)]
pub struct MemberAccount {
    /// The account id.
    pub account_id: String,
    /// SDK configuration acting in it through the remediation role (for reading back).
    pub config: SdkConfig,
    /// Its VPC.
    pub vpc_id: String,
    /// Its instances, one interface each.
    pub instances: Vec<SeededInstance>,
}

/// Seeds a member account: the remediation role trusting `security_account`, a VPC with a
/// subnet and a `web` group open on TCP 443, and `instances` instances named `<prefix>-N`.
/// `base` is the security account's configuration.
pub async fn seed_member(
    base: &SdkConfig,
    security_account: &str,
    account_id: &str,
    prefix: &str,
    instances: usize,
) -> Result<MemberAccount> {
    let config = estate::session_config(
        base,
        &format!("arn:aws:iam::{account_id}:role/{REMEDIATION_ROLE}"),
        Some(EXTERNAL_ID),
        "bench-member-account",
    )
    .await
    .with_context(|| format!("assuming the remediation role of {account_id}"))?;
    estate::remediation_role(&config, security_account).await?;
    let region = config
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| crate::moto::REGION.into());
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let net = estate::network(&ec2, &region, "10.40.0.0/16", "10.40.0.0/18", "web").await?;
    let mut seeded = Vec::with_capacity(instances);
    while seeded.len() < instances {
        let count = (instances - seeded.len()).min(BATCH);
        let out = ec2
            .run_instances()
            .image_id(AMI)
            .instance_type(InstanceType::T3Micro)
            .min_count(count as i32)
            .max_count(count as i32)
            .network_interfaces(
                InstanceNetworkInterfaceSpecification::builder()
                    .device_index(0)
                    .subnet_id(&net.subnet_id)
                    .groups(&net.group_id)
                    .build(),
            )
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::Instance)
                    .tags(Tag::builder().key("Role").value(prefix).build())
                    .build(),
            )
            .send()
            .await
            .with_context(|| format!("RunInstances in {account_id}"))?;
        for i in out.instances() {
            let instance_id = i.instance_id().context("no instance id")?.to_string();
            let name = format!("{prefix}-{}", seeded.len());
            seeded.push(SeededInstance {
                name,
                account_id: account_id.to_string(),
                instance_id,
                interfaces: i
                    .network_interfaces()
                    .iter()
                    .map(|n| SeededInterface {
                        network_interface_id: n
                            .network_interface_id()
                            .unwrap_or_default()
                            .to_string(),
                        vpc_id: net.vpc_id.clone(),
                        group_ids: vec![net.group_id.clone()],
                    })
                    .collect(),
                tags: [("Role".to_string(), prefix.to_string())].into(),
            });
        }
    }
    Ok(MemberAccount {
        account_id: account_id.to_string(),
        config,
        vpc_id: net.vpc_id,
        instances: seeded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn benchmark_accounts_are_twelve_digits_and_apart_from_the_estate() {
        assert_eq!(member_account_id(0), "300000000000");
        assert_eq!(member_account_id(19), "300000000019");
        assert_ne!(member_account_id(0), estate::MEMBER_ACCOUNT);
    }
}
