//! A small estate seeded into the emulator: what the demo and the end-to-end tests act on.
//!
//! Two accounts: the security account that runs the pipeline (moto's default account for the
//! static test credentials) and a member account reached through the remediation role. In the
//! security account: instances with one and two network interfaces (two VPCs), one in an Auto
//! Scaling group behind a target group, one tagged exempt; in the main VPC a NAT gateway's
//! subnet sharing the default network ACL and an endpoints subnet with its own ACL and the
//! Session Manager endpoints; an IAM user with an access key, an exempt user, a role; an SNS
//! topic with an SQS subscriber the demo reads; the claims table.
//! In the member account: one instance, a Lambda function, a public bucket, a standalone RDS
//! instance and an Aurora cluster.

use anyhow::{Context, Result};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_ec2::types::{
    InstanceNetworkInterfaceSpecification, InstanceType, IpPermission, IpRange, ResourceType, Tag,
    TagSpecification,
};
use serde::Serialize;

use crate::moto::{TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY};

/// The member account of the local estate.
pub const MEMBER_ACCOUNT: &str = "222222222222";
/// The remediation role name used locally (the default).
pub const REMEDIATION_ROLE: &str = "SOAR-RemediationRole";
/// The ExternalId the local member role expects.
pub const EXTERNAL_ID: &str = "local-external-id";
/// The DynamoDB table where executions claim findings (`CLAIMS_TABLE`), in the security
/// account.
pub const CLAIMS_TABLE: &str = "guardduty-responder-claims";

/// The false-positive ledger (`FALSE_POSITIVES_TABLE`), in the security account.
pub const FALSE_POSITIVES_TABLE: &str = "guardduty-responder-false-positives";
/// An AMI moto knows.
const AMI: &str = "ami-12c6146b";

/// One seeded instance.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeededInstance {
    /// A short name (also the `Name` tag).
    pub name: String,
    /// The account it lives in.
    pub account_id: String,
    /// The instance id.
    pub instance_id: String,
    /// Its interfaces with their VPC and groups.
    pub interfaces: Vec<SeededInterface>,
    /// Its tags at seed time (what GuardDuty's record of it would carry).
    pub tags: std::collections::BTreeMap<String, String>,
}

/// One seeded network interface.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeededInterface {
    /// The interface id.
    pub network_interface_id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// Its security groups at seed time.
    pub group_ids: Vec<String>,
}

/// A seeded RDS DB instance.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeededDatabase {
    /// The DB instance identifier.
    pub identifier: String,
    /// Its Aurora cluster, if any.
    pub cluster: Option<String>,
    /// Its VPC.
    pub vpc_id: String,
    /// The security groups in force at seed time (the cluster's for an Aurora member).
    pub group_ids: Vec<String>,
}

/// A seeded ECS task: Fargate, `awsvpc`, in a VPC of its own with a second subnet (a NAT
/// gateway's, say) its traffic crosses.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeededTask {
    /// The task's ARN.
    pub task_arn: String,
    /// Its cluster.
    pub cluster: String,
    /// Its task id.
    pub task_id: String,
    /// Its network interface.
    pub network_interface_id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// Its task role's name.
    pub role_name: String,
}

/// What was seeded, with the ids the emulator assigned.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Estate {
    /// The region.
    pub region: String,
    /// The security account.
    pub security_account: String,
    /// The member account.
    pub member_account: String,
    /// An instance with one interface.
    pub web: SeededInstance,
    /// An instance with two interfaces in two VPCs.
    pub multi: SeededInstance,
    /// An instance in an Auto Scaling group behind a target group.
    pub scaled: SeededInstance,
    /// An instance tagged `AutoRemediation=disabled`.
    pub exempt: SeededInstance,
    /// An instance in the member account.
    pub member: SeededInstance,
    /// The Auto Scaling group of `scaled`.
    pub auto_scaling_group: String,
    /// The target group `scaled` is registered in.
    pub target_group_arn: String,
    /// An IAM user with an active access key.
    pub user_name: String,
    /// Its key.
    pub access_key_id: String,
    /// An IAM user tagged exempt, with a key.
    pub exempt_user_name: String,
    /// Its key.
    pub exempt_access_key_id: String,
    /// A role whose sessions can be revoked.
    pub role_name: String,
    /// A Lambda function in the member account, with a tag and no reserved concurrency.
    pub function_name: String,
    /// An S3 bucket in the member account opened to the public: a policy granting everyone
    /// reads, a tag, and no Block Public Access configuration of its own.
    pub bucket_name: String,
    /// An object of that bucket as Malware Protection for S3 leaves a malicious upload: tagged
    /// `GuardDutyMalwareScanStatus=THREATS_FOUND` (its key holds a space, as uploads do).
    pub malicious_object_key: String,
    /// A standalone PostgreSQL DB instance in the member account's VPC, in two security groups
    /// of its own.
    pub database: SeededDatabase,
    /// An Aurora PostgreSQL cluster with one instance in the member account's VPC: its groups
    /// are the cluster's.
    pub aurora: SeededDatabase,
    /// A Fargate task of service `checkout-api` in cluster `checkout` of the member account,
    /// with a task role.
    pub task: SeededTask,
    /// The notification topic.
    pub topic_arn: String,
    /// The queue subscribed to the topic: the analysts' inbox.
    pub inbox_queue_url: String,
    /// The subnet of the main VPC, for instances added later.
    pub subnet_id: String,
    /// The main VPC.
    pub vpc_id: String,
    /// The `web` group of the main VPC.
    pub web_group_id: String,
    /// The claims table (`CLAIMS_TABLE`).
    pub claims_table: String,
    /// The false-positive ledger (`FALSE_POSITIVES_TABLE`).
    pub false_positives_table: String,
    /// The main VPC's network around its instances: the subnets, ACLs and Session Manager
    /// endpoints containment works with.
    pub main_vpc: VpcNetwork,
}

/// The main VPC's network beyond the instances' subnet: a NAT gateway's subnet that shares the
/// default network ACL with the instances' subnet, and an endpoints subnet with its own ACL and
/// the Session Manager interface endpoints (`ssm`, `ssmmessages`, `ec2messages`) behind their
/// own security group. The second VPC has neither.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VpcNetwork {
    /// The VPC's default network ACL (the instances' and the NAT gateway's subnets).
    pub default_acl_id: String,
    /// The NAT gateway's subnet.
    pub nat_subnet_id: String,
    /// The endpoints' subnet.
    pub endpoint_subnet_id: String,
    /// The endpoints' subnet's network ACL.
    pub endpoint_acl_id: String,
    /// The security group of the Session Manager endpoints.
    pub endpoint_group_id: String,
    /// The endpoint ids.
    pub endpoint_ids: Vec<String>,
}

/// Adds the main VPC's NAT and endpoint subnets, the endpoints' ACL and the Session Manager
/// endpoints.
async fn vpc_network(ec2: &aws_sdk_ec2::Client, region: &str, net: &Network) -> Result<VpcNetwork> {
    use aws_sdk_ec2::types::{Filter, RuleAction, VpcEndpointType};
    let subnet = |cidr: &'static str| async move {
        ec2.create_subnet()
            .vpc_id(&net.vpc_id)
            .cidr_block(cidr)
            .availability_zone(format!("{region}a"))
            .send()
            .await
            .with_context(|| format!("CreateSubnet {cidr}"))?
            .subnet()
            .and_then(|s| s.subnet_id())
            .map(str::to_string)
            .context("CreateSubnet returned no id")
    };
    let nat_subnet_id = subnet("10.10.2.0/24").await?;
    let endpoint_subnet_id = subnet("10.10.3.0/24").await?;
    let acls = ec2
        .describe_network_acls()
        .filters(Filter::builder().name("vpc-id").values(&net.vpc_id).build())
        .send()
        .await
        .context("DescribeNetworkAcls")?;
    let default = acls
        .network_acls()
        .iter()
        .find(|a| a.is_default() == Some(true))
        .context("the VPC has no default network ACL")?;
    let default_acl_id = default.network_acl_id().unwrap_or_default().to_string();
    let association = default
        .associations()
        .iter()
        .find(|a| a.subnet_id() == Some(endpoint_subnet_id.as_str()))
        .and_then(|a| a.network_acl_association_id())
        .context("the endpoints' subnet is not associated with the default ACL")?
        .to_string();
    // The endpoints' subnet gets an ACL of its own, as many estates have: allow all at 100.
    let endpoint_acl_id = ec2
        .create_network_acl()
        .vpc_id(&net.vpc_id)
        .send()
        .await
        .context("CreateNetworkAcl")?
        .network_acl()
        .and_then(|a| a.network_acl_id())
        .context("CreateNetworkAcl returned no id")?
        .to_string();
    for egress in [false, true] {
        ec2.create_network_acl_entry()
            .network_acl_id(&endpoint_acl_id)
            .rule_number(100)
            .protocol("-1")
            .rule_action(RuleAction::Allow)
            .egress(egress)
            .cidr_block("0.0.0.0/0")
            .send()
            .await
            .context("CreateNetworkAclEntry")?;
    }
    ec2.replace_network_acl_association()
        .association_id(association)
        .network_acl_id(&endpoint_acl_id)
        .send()
        .await
        .context("ReplaceNetworkAclAssociation")?;
    let endpoint_group_id = ec2
        .create_security_group()
        .group_name("ssm-endpoints")
        .description("Systems Manager interface endpoints")
        .vpc_id(&net.vpc_id)
        .send()
        .await
        .context("CreateSecurityGroup (endpoints)")?
        .group_id()
        .context("CreateSecurityGroup returned no id")?
        .to_string();
    let mut endpoint_ids = Vec::new();
    for service in ["ssm", "ssmmessages", "ec2messages"] {
        let id = ec2
            .create_vpc_endpoint()
            .vpc_id(&net.vpc_id)
            .vpc_endpoint_type(VpcEndpointType::Interface)
            .service_name(format!("com.amazonaws.{region}.{service}"))
            .subnet_ids(&endpoint_subnet_id)
            .security_group_ids(&endpoint_group_id)
            .private_dns_enabled(true)
            .send()
            .await
            .with_context(|| format!("CreateVpcEndpoint {service}"))?
            .vpc_endpoint()
            .and_then(|e| e.vpc_endpoint_id())
            .context("CreateVpcEndpoint returned no id")?
            .to_string();
        endpoint_ids.push(id);
    }
    Ok(VpcNetwork {
        default_acl_id,
        nat_subnet_id,
        endpoint_subnet_id,
        endpoint_acl_id,
        endpoint_group_id,
        endpoint_ids,
    })
}

/// The local pipeline's policy: the defaults, with the estate's exempt user in the policy's
/// exemptions (a tag on a principal never exempts it).
pub fn local_policy(estate: &Estate) -> serde_json::Value {
    serde_json::json!({
        "exemptions": {
            "users": [{ "id": estate.exempt_user_name, "reason": "break-glass user of the local estate" }]
        }
    })
}

/// Adds an instance with one interface in the main VPC of the security account.
pub async fn extra_instance(
    base: &SdkConfig,
    estate: &Estate,
    name: &str,
) -> Result<SeededInstance> {
    let net = Network {
        vpc_id: estate.vpc_id.clone(),
        subnet_id: estate.subnet_id.clone(),
        group_id: estate.web_group_id.clone(),
    };
    instance(
        &aws_sdk_ec2::Client::new(base),
        &estate.security_account,
        name,
        &net,
        &[],
    )
    .await
}

/// Adds an instance with one interface in a new VPC of the security account in another
/// `region`; returns it with the SDK configuration of that region.
pub async fn instance_in_region(
    base: &SdkConfig,
    estate: &Estate,
    region: &str,
    name: &str,
) -> Result<(SeededInstance, SdkConfig)> {
    let cfg = base
        .to_builder()
        .region(Region::new(region.to_string()))
        .build();
    let ec2 = aws_sdk_ec2::Client::new(&cfg);
    let net = network(&ec2, region, "10.30.0.0/16", "10.30.1.0/24", "remote").await?;
    let i = instance(&ec2, &estate.security_account, name, &net, &[]).await?;
    Ok((i, cfg))
}

/// SDK configuration for the emulator with the static test credentials: moto's default account
/// (123456789012), not the security account; see [`security_config`].
pub async fn emulator_config(endpoint: &str, region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new(
            TEST_ACCESS_KEY_ID,
            TEST_SECRET_ACCESS_KEY,
            None,
            None,
            "static-test-credentials",
        ))
        .load()
        .await
}

/// The role whose session is the local security account's identity (moto needs no such role
/// to exist; the account of the ARN is what counts).
pub const SECURITY_ROLE: &str = "guardduty-responder-local";

/// SDK configuration of the security account against the emulator: a session of a role in
/// `account`, so requests land in that account (the static credentials are moto's default
/// account, 123456789012).
pub async fn security_config(endpoint: &str, region: &str, account: &str) -> Result<SdkConfig> {
    let base = emulator_config(endpoint, region).await;
    session_config(
        &base,
        &format!("arn:aws:iam::{account}:role/{SECURITY_ROLE}"),
        None,
        "security-account",
    )
    .await
    .context("assuming the local security account's role")
}

/// The credentials of a configuration (for the environment of processes that act as it).
pub async fn credentials_of(cfg: &SdkConfig) -> Result<Credentials> {
    use aws_credential_types::provider::ProvideCredentials;
    cfg.credentials_provider()
        .context("the configuration has no credentials")?
        .provide_credentials()
        .await
        .context("reading the configuration's credentials")
}

/// SDK configuration for the member account, through its remediation role.
pub async fn member_config(base: &SdkConfig) -> Result<SdkConfig> {
    session_config(
        base,
        &format!("arn:aws:iam::{MEMBER_ACCOUNT}:role/{REMEDIATION_ROLE}"),
        Some(EXTERNAL_ID),
        "member-account",
    )
    .await
    .context("assuming the member account's role")
}

pub(crate) async fn session_config(
    base: &SdkConfig,
    role_arn: &str,
    external_id: Option<&str>,
    label: &'static str,
) -> Result<SdkConfig> {
    let out = aws_sdk_sts::Client::new(base)
        .assume_role()
        .role_arn(role_arn)
        .role_session_name("guardduty-responder-seed")
        .set_external_id(external_id.map(str::to_string))
        .send()
        .await
        .with_context(|| format!("AssumeRole {role_arn}"))?;
    let c = out
        .credentials()
        .context("AssumeRole returned no credentials")?;
    Ok(base
        .to_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                c.access_key_id(),
                c.secret_access_key(),
                Some(c.session_token().to_string()),
                None,
                label,
            )),
        )
        .build())
}

pub(crate) struct Network {
    pub(crate) vpc_id: String,
    pub(crate) subnet_id: String,
    pub(crate) group_id: String,
}

pub(crate) async fn network(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    cidr: &str,
    subnet: &str,
    name: &str,
) -> Result<Network> {
    let vpc_id = ec2
        .create_vpc()
        .cidr_block(cidr)
        .send()
        .await
        .context("CreateVpc")?
        .vpc()
        .and_then(|v| v.vpc_id())
        .context("CreateVpc returned no id")?
        .to_string();
    let subnet_id = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block(subnet)
        .availability_zone(format!("{region}a"))
        .send()
        .await
        .context("CreateSubnet")?
        .subnet()
        .and_then(|s| s.subnet_id())
        .context("CreateSubnet returned no id")?
        .to_string();
    let group_id = ec2
        .create_security_group()
        .group_name(name)
        .description(format!("{name} tier"))
        .vpc_id(&vpc_id)
        .send()
        .await
        .context("CreateSecurityGroup")?
        .group_id()
        .context("CreateSecurityGroup returned no id")?
        .to_string();
    ec2.authorize_security_group_ingress()
        .group_id(&group_id)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .context("AuthorizeSecurityGroupIngress")?;
    Ok(Network {
        vpc_id,
        subnet_id,
        group_id,
    })
}

async fn instance(
    ec2: &aws_sdk_ec2::Client,
    account_id: &str,
    name: &str,
    net: &Network,
    extra_tags: &[(&str, &str)],
) -> Result<SeededInstance> {
    let mut tags = TagSpecification::builder()
        .resource_type(ResourceType::Instance)
        .tags(Tag::builder().key("Name").value(name).build());
    for (k, v) in extra_tags {
        tags = tags.tags(Tag::builder().key(*k).value(*v).build());
    }
    let out = ec2
        .run_instances()
        .image_id(AMI)
        .instance_type(InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .network_interfaces(
            InstanceNetworkInterfaceSpecification::builder()
                .device_index(0)
                .subnet_id(&net.subnet_id)
                .groups(&net.group_id)
                .build(),
        )
        .tag_specifications(tags.build())
        .send()
        .await
        .with_context(|| format!("RunInstances {name}"))?;
    let i = out
        .instances()
        .first()
        .context("RunInstances returned no instance")?;
    let instance_id = i.instance_id().context("no instance id")?.to_string();
    let interfaces = i
        .network_interfaces()
        .iter()
        .map(|n| SeededInterface {
            network_interface_id: n.network_interface_id().unwrap_or_default().to_string(),
            vpc_id: net.vpc_id.clone(),
            group_ids: vec![net.group_id.clone()],
        })
        .collect();
    let mut seeded_tags: std::collections::BTreeMap<String, String> = extra_tags
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    seeded_tags.insert("Name".into(), name.to_string());
    Ok(SeededInstance {
        name: name.to_string(),
        account_id: account_id.to_string(),
        instance_id,
        interfaces,
        tags: seeded_tags,
    })
}

/// Seeds the estate. The emulator should be freshly reset.
pub async fn seed(base: &SdkConfig, security_account: &str) -> Result<Estate> {
    let region = base
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| crate::moto::REGION.into());
    let ec2 = aws_sdk_ec2::Client::new(base);
    let net_a = network(&ec2, &region, "10.10.0.0/16", "10.10.1.0/24", "web").await?;
    let net_b = network(&ec2, &region, "10.20.0.0/16", "10.20.1.0/24", "mgmt").await?;
    let main_vpc = vpc_network(&ec2, &region, &net_a).await?;

    let web = instance(&ec2, security_account, "web-1", &net_a, &[("env", "prod")]).await?;
    let mut multi = instance(&ec2, security_account, "bastion-multi", &net_a, &[]).await?;
    // The second interface lives in another VPC (a multi-VPC attachment).
    let eni = ec2
        .create_network_interface()
        .subnet_id(&net_b.subnet_id)
        .groups(&net_b.group_id)
        .description("management interface")
        .send()
        .await
        .context("CreateNetworkInterface")?
        .network_interface()
        .and_then(|n| n.network_interface_id())
        .context("CreateNetworkInterface returned no id")?
        .to_string();
    ec2.attach_network_interface()
        .network_interface_id(&eni)
        .instance_id(&multi.instance_id)
        .device_index(1)
        .send()
        .await
        .context("AttachNetworkInterface")?;
    multi.interfaces.push(SeededInterface {
        network_interface_id: eni,
        vpc_id: net_b.vpc_id.clone(),
        group_ids: vec![net_b.group_id.clone()],
    });
    let scaled = instance(&ec2, security_account, "web-asg-1", &net_a, &[]).await?;
    let exempt = instance(
        &ec2,
        security_account,
        "payments-db",
        &net_a,
        &[("AutoRemediation", "disabled")],
    )
    .await?;

    // Auto Scaling group and target group around `scaled`.
    let template_id = ec2
        .create_launch_template()
        .launch_template_name("web-template")
        .launch_template_data(
            aws_sdk_ec2::types::RequestLaunchTemplateData::builder()
                .image_id(AMI)
                .instance_type(InstanceType::T3Micro)
                .build(),
        )
        .send()
        .await
        .context("CreateLaunchTemplate")?
        .launch_template()
        .and_then(|t| t.launch_template_id())
        .context("CreateLaunchTemplate returned no id")?
        .to_string();
    let asg = aws_sdk_autoscaling::Client::new(base);
    let asg_name = "web-asg".to_string();
    asg.create_auto_scaling_group()
        .auto_scaling_group_name(&asg_name)
        .launch_template(
            aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder()
                .launch_template_id(&template_id)
                .version("$Latest")
                .build(),
        )
        .min_size(0)
        .max_size(3)
        .desired_capacity(0)
        .vpc_zone_identifier(&net_a.subnet_id)
        .send()
        .await
        .context("CreateAutoScalingGroup")?;
    asg.attach_instances()
        .auto_scaling_group_name(&asg_name)
        .instance_ids(&scaled.instance_id)
        .send()
        .await
        .context("AttachInstances")?;
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(base);
    let tg = elb
        .create_target_group()
        .name("web-tg")
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(80)
        .vpc_id(&net_a.vpc_id)
        .target_type(aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum::Instance)
        .send()
        .await
        .context("CreateTargetGroup")?;
    let target_group_arn = tg
        .target_groups()
        .first()
        .and_then(|t| t.target_group_arn())
        .context("CreateTargetGroup returned no ARN")?
        .to_string();
    elb.register_targets()
        .target_group_arn(&target_group_arn)
        .targets(
            aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                .id(&scaled.instance_id)
                .port(80)
                .build(),
        )
        .send()
        .await
        .context("RegisterTargets")?;

    // IAM: a user with a key, an exempt user with a key, a role.
    let iam = aws_sdk_iam::Client::new(base);
    let user_name = "build-bot".to_string();
    iam.create_user()
        .user_name(&user_name)
        .send()
        .await
        .context("CreateUser")?;
    let access_key_id = iam
        .create_access_key()
        .user_name(&user_name)
        .send()
        .await
        .context("CreateAccessKey")?
        .access_key()
        .map(|k| k.access_key_id().to_string())
        .context("CreateAccessKey returned no key")?;
    let exempt_user_name = "break-glass-admin".to_string();
    iam.create_user()
        .user_name(&exempt_user_name)
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("AutoRemediation")
                .value("disabled")
                .build()
                .context("tag")?,
        )
        .send()
        .await
        .context("CreateUser (exempt)")?;
    let exempt_access_key_id = iam
        .create_access_key()
        .user_name(&exempt_user_name)
        .send()
        .await
        .context("CreateAccessKey (exempt)")?
        .access_key()
        .map(|k| k.access_key_id().to_string())
        .context("CreateAccessKey returned no key")?;
    let role_name = "web-app-role".to_string();
    iam.create_role()
        .role_name(&role_name)
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .context("CreateRole")?;

    // Notifications: a topic and the analysts' inbox.
    let sns = aws_sdk_sns::Client::new(base);
    let topic_arn = sns
        .create_topic()
        .name("guardduty-responder-notifications")
        .send()
        .await
        .context("CreateTopic")?
        .topic_arn()
        .context("CreateTopic returned no ARN")?
        .to_string();
    let sqs = aws_sdk_sqs::Client::new(base);
    let inbox_queue_url = sqs
        .create_queue()
        .queue_name("analyst-inbox")
        .send()
        .await
        .context("CreateQueue")?
        .queue_url()
        .context("CreateQueue returned no URL")?
        .to_string();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&inbox_queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .context("GetQueueAttributes")?
        .attributes()
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .context("queue has no ARN")?;
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .context("Subscribe")?;

    let claims_table = claims_table(base).await?;
    let false_positives_table = false_positives_table(base).await?;

    // The member account: the remediation role and one instance.
    let member_cfg = member_config(base).await?;
    remediation_role(&member_cfg, security_account).await?;
    let member_ec2 = aws_sdk_ec2::Client::new(&member_cfg);
    let net_m = network(&member_ec2, &region, "10.30.0.0/16", "10.30.1.0/24", "app").await?;
    let member = instance(&member_ec2, MEMBER_ACCOUNT, "member-app-1", &net_m, &[]).await?;
    let function_name = function(&member_cfg, "thumbnailer").await?;
    let bucket_name = public_bucket(&member_cfg, &region, "orders-exports").await?;
    let (database, aurora) = databases(&member_cfg, &member_ec2, &net_m).await?;
    let task = ecs_task(base, &member_cfg, &member_ec2, &region).await?;

    Ok(Estate {
        region,
        security_account: security_account.to_string(),
        member_account: MEMBER_ACCOUNT.to_string(),
        web,
        multi,
        scaled,
        exempt,
        member,
        auto_scaling_group: asg_name,
        target_group_arn,
        user_name,
        access_key_id,
        exempt_user_name,
        exempt_access_key_id,
        role_name,
        function_name,
        bucket_name,
        malicious_object_key: MALICIOUS_OBJECT_KEY.to_string(),
        database,
        aurora,
        task,
        topic_arn,
        inbox_queue_url,
        subnet_id: net_a.subnet_id.clone(),
        vpc_id: net_a.vpc_id.clone(),
        web_group_id: net_a.group_id.clone(),
        claims_table,
        false_positives_table,
        main_vpc,
    })
}

/// A Fargate task `checkout-api` with task role `checkout-api-task` in cluster `checkout`, in a
/// VPC of its own whose second subnet its traffic crosses. The emulator moves a task it is
/// asked about straight to `STOPPED` unless told otherwise: its task lifecycle is set to advance
/// only when asked, as a running task's does not.
async fn ecs_task(
    base: &SdkConfig,
    cfg: &SdkConfig,
    ec2: &aws_sdk_ec2::Client,
    region: &str,
) -> Result<SeededTask> {
    let endpoint = base
        .endpoint_url()
        .context("the emulator's endpoint is not set")?;
    let r = crate::http_client::request(
        "POST",
        &format!("{endpoint}/moto-api/state-manager/set-transition"),
        &[("content-type", "application/json")],
        br#"{"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1000000000}}"#,
    )
    .await?;
    anyhow::ensure!(
        r.status == 201 || r.status == 200,
        "the emulator answered {} to set-transition",
        r.status
    );
    let net = network(ec2, region, "10.40.0.0/16", "10.40.1.0/24", "checkout").await?;
    // As ECS VPCs have it; the emulator names a task's interface only with it on.
    ec2.modify_vpc_attribute()
        .vpc_id(&net.vpc_id)
        .enable_dns_hostnames(
            aws_sdk_ec2::types::AttributeBooleanValue::builder()
                .value(true)
                .build(),
        )
        .send()
        .await
        .context("ModifyVpcAttribute")?;
    ec2.create_subnet()
        .vpc_id(&net.vpc_id)
        .cidr_block("10.40.2.0/24")
        .availability_zone(format!("{region}a"))
        .send()
        .await
        .context("CreateSubnet (egress)")?;
    let role_name = "checkout-api-task".to_string();
    let role_arn = aws_sdk_iam::Client::new(cfg)
        .create_role()
        .role_name(&role_name)
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .context("CreateRole (task)")?
        .role()
        .map(|r| r.arn().to_string())
        .context("CreateRole returned no role")?;
    let ecs = aws_sdk_ecs::Client::new(cfg);
    let cluster = "checkout".to_string();
    ecs.create_cluster()
        .cluster_name(&cluster)
        .send()
        .await
        .context("CreateCluster")?;
    let definition = ecs
        .register_task_definition()
        .family("checkout-api")
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .task_role_arn(role_arn)
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("api")
                .image("222222222222.dkr.ecr.eu-west-1.amazonaws.com/checkout-api:1.8.2")
                .cpu(256)
                .memory(512)
                .build(),
        )
        .send()
        .await
        .context("RegisterTaskDefinition")?
        .task_definition()
        .and_then(|d| d.task_definition_arn().map(str::to_string))
        .context("RegisterTaskDefinition returned no ARN")?;
    let out = ecs
        .run_task()
        .cluster(&cluster)
        .task_definition(definition)
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .network_configuration(
            aws_sdk_ecs::types::NetworkConfiguration::builder()
                .awsvpc_configuration(
                    aws_sdk_ecs::types::AwsVpcConfiguration::builder()
                        .subnets(&net.subnet_id)
                        .security_groups(&net.group_id)
                        .build()
                        .context("AwsVpcConfiguration")?,
                )
                .build(),
        )
        .tags(
            aws_sdk_ecs::types::Tag::builder()
                .key("team")
                .value("payments")
                .build(),
        )
        .send()
        .await
        .context("RunTask")?;
    let task = out.tasks().first().context("RunTask started no task")?;
    let task_arn = task.task_arn().context("no task ARN")?.to_string();
    let network_interface_id = task
        .attachments()
        .iter()
        .flat_map(|a| a.details())
        .find(|d| d.name() == Some("networkInterfaceId"))
        .and_then(|d| d.value())
        .context("the task has no network interface")?
        .to_string();
    let task_id = task_arn.rsplit('/').next().unwrap_or_default().to_string();
    Ok(SeededTask {
        task_arn,
        cluster,
        task_id,
        network_interface_id,
        vpc_id: net.vpc_id,
        role_name,
    })
}

/// A Lambda function with its execution role, tagged `team=media`, with no reserved
/// concurrency. The code is an empty zip archive: the emulator stores it and never runs it.
async fn function(cfg: &SdkConfig, name: &str) -> Result<String> {
    let role_arn = aws_sdk_iam::Client::new(cfg)
        .create_role()
        .role_name(format!("{name}-role"))
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .context("CreateRole (function)")?
        .role()
        .map(|r| r.arn().to_string())
        .context("CreateRole returned no role")?;
    // The end-of-central-directory record alone: an empty zip archive.
    let mut empty_zip = b"PK\x05\x06".to_vec();
    empty_zip.extend([0u8; 18]);
    aws_sdk_lambda::Client::new(cfg)
        .create_function()
        .function_name(name)
        .runtime(aws_sdk_lambda::types::Runtime::Python312)
        .role(role_arn)
        .handler("app.handler")
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(empty_zip))
                .build(),
        )
        .tags("team", "media")
        .send()
        .await
        .context("CreateFunction")?;
    Ok(name.to_string())
}

/// A standalone PostgreSQL instance `billing-db` in the app group and a second group of its
/// own, and an Aurora PostgreSQL cluster `ledger-cluster` with one instance `ledger-db-1` in
/// the app group: both in a DB subnet group of the member account's VPC, tagged `team`.
async fn databases(
    cfg: &SdkConfig,
    ec2: &aws_sdk_ec2::Client,
    net: &Network,
) -> Result<(SeededDatabase, SeededDatabase)> {
    let rds = aws_sdk_rds::Client::new(cfg);
    let admin = ec2
        .create_security_group()
        .group_name("billing-admin")
        .description("billing database administration")
        .vpc_id(&net.vpc_id)
        .send()
        .await
        .context("CreateSecurityGroup (billing-admin)")?
        .group_id()
        .context("no group id")?
        .to_string();
    rds.create_db_subnet_group()
        .db_subnet_group_name("app-databases")
        .db_subnet_group_description("the app VPC's databases")
        .subnet_ids(&net.subnet_id)
        .send()
        .await
        .context("CreateDBSubnetGroup")?;
    let tag = |v: &str| {
        aws_sdk_rds::types::Tag::builder()
            .key("team")
            .value(v)
            .build()
    };
    let standalone = vec![net.group_id.clone(), admin];
    rds.create_db_instance()
        .db_instance_identifier("billing-db")
        .db_instance_class("db.t4g.micro")
        .engine("postgres")
        .allocated_storage(20)
        .master_username("billing_admin")
        .master_user_password("local-emulator-only")
        .db_subnet_group_name("app-databases")
        .set_vpc_security_group_ids(Some(standalone.clone()))
        .tags(tag("billing"))
        .send()
        .await
        .context("CreateDBInstance (billing-db)")?;
    rds.create_db_cluster()
        .db_cluster_identifier("ledger-cluster")
        .engine("aurora-postgresql")
        .master_username("ledger_admin")
        .master_user_password("local-emulator-only")
        .db_subnet_group_name("app-databases")
        .vpc_security_group_ids(&net.group_id)
        .tags(tag("ledger"))
        .send()
        .await
        .context("CreateDBCluster (ledger-cluster)")?;
    rds.create_db_instance()
        .db_instance_identifier("ledger-db-1")
        .db_cluster_identifier("ledger-cluster")
        .db_instance_class("db.r6g.large")
        .engine("aurora-postgresql")
        .db_subnet_group_name("app-databases")
        .tags(tag("ledger"))
        .send()
        .await
        .context("CreateDBInstance (ledger-db-1)")?;
    Ok((
        SeededDatabase {
            identifier: "billing-db".into(),
            cluster: None,
            vpc_id: net.vpc_id.clone(),
            group_ids: standalone,
        },
        SeededDatabase {
            identifier: "ledger-db-1".into(),
            cluster: Some("ledger-cluster".into()),
            vpc_id: net.vpc_id.clone(),
            group_ids: vec![net.group_id.clone()],
        },
    ))
}

/// A bucket opened to the public as a mistake or an attacker leaves it: a policy granting
/// everyone `s3:GetObject`, a tag `team=orders`, no Block Public Access configuration of its
/// own (the emulator has no account-level setting either).
async fn public_bucket(cfg: &SdkConfig, region: &str, name: &str) -> Result<String> {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(cfg)
            .force_path_style(true)
            .build(),
    );
    let mut create = s3.create_bucket().bucket(name);
    // us-east-1 takes no location constraint; every other region needs its own.
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                .build(),
        );
    }
    create.send().await.context("CreateBucket")?;
    s3.put_bucket_policy()
        .bucket(name)
        .policy(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{name}/*"}}]}}"#
        ))
        .send()
        .await
        .context("PutBucketPolicy")?;
    s3.put_bucket_tagging()
        .bucket(name)
        .tagging(
            aws_sdk_s3::types::Tagging::builder()
                .tag_set(
                    aws_sdk_s3::types::Tag::builder()
                        .key("team")
                        .value("orders")
                        .build()
                        .context("tag")?,
                )
                .build()
                .context("tagging")?,
        )
        .send()
        .await
        .context("PutBucketTagging")?;
    // A stand-in for an upload Malware Protection flagged (harmless bytes: nothing scans
    // the emulator, and no scanner on a developer's machine should trip on the repository).
    s3.put_object()
        .bucket(name)
        .key(MALICIOUS_OBJECT_KEY)
        .body(aws_sdk_s3::primitives::ByteStream::from_static(
            b"stand-in for a file Malware Protection for S3 found malicious",
        ))
        .tagging("GuardDutyMalwareScanStatus=THREATS_FOUND")
        .send()
        .await
        .context("PutObject")?;
    Ok(name.to_string())
}

/// The key of the seeded malicious object.
pub const MALICIOUS_OBJECT_KEY: &str = "uploads/2025/03/invoice 0311.pdf.exe";

/// Creates the false-positive ledger as the deployment does: key `findingType` + `entry`
/// (strings), on demand, TTL on `expiresAt`.
async fn false_positives_table(base: &SdkConfig) -> Result<String> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let ddb = aws_sdk_dynamodb::Client::new(base);
    let mut create = ddb
        .create_table()
        .table_name(FALSE_POSITIVES_TABLE)
        .billing_mode(BillingMode::PayPerRequest);
    for (name, kind) in [("findingType", KeyType::Hash), ("entry", KeyType::Range)] {
        create = create
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .context("attribute definition")?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(name)
                    .key_type(kind)
                    .build()
                    .context("key schema")?,
            );
    }
    create
        .send()
        .await
        .context("CreateTable (false positives)")?;
    expire_on(&ddb, FALSE_POSITIVES_TABLE).await?;
    Ok(FALSE_POSITIVES_TABLE.to_string())
}

/// Turns on a table's time to live on `expiresAt`, as the deployment does.
async fn expire_on(ddb: &aws_sdk_dynamodb::Client, table: &str) -> Result<()> {
    use aws_sdk_dynamodb::types::TimeToLiveSpecification;
    ddb.update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("expiresAt")
                .enabled(true)
                .build()
                .context("TTL specification")?,
        )
        .send()
        .await
        .with_context(|| format!("UpdateTimeToLive ({table})"))?;
    Ok(())
}

/// Creates the remediation role in the account of `member_cfg`, assumable from the security
/// account with the ExternalId, as the member-account StackSet does.
pub(crate) async fn remediation_role(member_cfg: &SdkConfig, security_account: &str) -> Result<()> {
    aws_sdk_iam::Client::new(member_cfg)
        .create_role()
        .role_name(REMEDIATION_ROLE)
        .assume_role_policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{security_account}:root"}},"Action":"sts:AssumeRole","Condition":{{"StringEquals":{{"sts:ExternalId":"{EXTERNAL_ID}"}}}}}}]}}"#
        ))
        .send()
        .await
        .context("CreateRole (member remediation role)")?;
    Ok(())
}

/// Creates the claims table as the deployment does: key `pk` (string), on demand, TTL on
/// `expiresAt`.
async fn claims_table(base: &SdkConfig) -> Result<String> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let ddb = aws_sdk_dynamodb::Client::new(base);
    ddb.create_table()
        .table_name(CLAIMS_TABLE)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .context("attribute definition")?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .context("key schema")?,
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .context("CreateTable (claims)")?;
    expire_on(&ddb, CLAIMS_TABLE).await?;
    Ok(CLAIMS_TABLE.to_string())
}
