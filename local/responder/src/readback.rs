//! Reading the effects back from AWS (the emulator locally): what the demo reports and what the
//! end-to-end tests assert on. Nothing here trusts a task's own report.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use serde::Serialize;
use serde_json::Value;

/// One network interface as EC2 has it now.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InterfaceState {
    /// The interface id.
    pub network_interface_id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// Its group ids.
    pub group_ids: Vec<String>,
    /// Its group names.
    pub group_names: Vec<String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Its private IPv4 addresses.
    pub private_ips: Vec<String>,
}

/// An instance as EC2, Auto Scaling and ELBv2 have it now.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InstanceState {
    /// The instance id.
    pub instance_id: String,
    /// `running`, `stopped`, ...
    pub state: String,
    /// Its interfaces.
    pub interfaces: Vec<InterfaceState>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// `DisableApiTermination`.
    pub termination_protection: bool,
    /// `InstanceInitiatedShutdownBehavior`.
    pub shutdown_behavior: String,
    /// The Auto Scaling group it is in, if any.
    pub auto_scaling_group: Option<String>,
    /// Its metadata service options as `TOKENS/HOP` (`required/1`), when reported.
    pub metadata: Option<String>,
}

fn ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Reads an instance.
pub async fn instance(cfg: &SdkConfig, instance_id: &str) -> Result<InstanceState> {
    let ec2 = aws_sdk_ec2::Client::new(cfg);
    let out = ec2
        .describe_instances()
        .instance_ids(instance_id)
        .send()
        .await
        .context("DescribeInstances")?;
    let i = out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .next()
        .with_context(|| format!("{instance_id} not found"))?;
    let enis = ec2
        .describe_network_interfaces()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("attachment.instance-id")
                .values(instance_id)
                .build(),
        )
        .send()
        .await
        .context("DescribeNetworkInterfaces")?;
    let mut interfaces: Vec<InterfaceState> = enis
        .network_interfaces()
        .iter()
        .map(|n| InterfaceState {
            network_interface_id: n.network_interface_id().unwrap_or_default().to_string(),
            vpc_id: n.vpc_id().unwrap_or_default().to_string(),
            group_ids: n
                .groups()
                .iter()
                .map(|g| g.group_id().unwrap_or_default().to_string())
                .collect(),
            group_names: n
                .groups()
                .iter()
                .map(|g| g.group_name().unwrap_or_default().to_string())
                .collect(),
            private_ips: n
                .private_ip_addresses()
                .iter()
                .filter_map(|a| a.private_ip_address().map(str::to_string))
                .collect(),
            tags: ec2_tags(n.tag_set()),
        })
        .collect();
    interfaces.sort_by(|a, b| a.network_interface_id.cmp(&b.network_interface_id));
    let termination = ec2
        .describe_instance_attribute()
        .instance_id(instance_id)
        .attribute(aws_sdk_ec2::types::InstanceAttributeName::DisableApiTermination)
        .send()
        .await
        .context("DescribeInstanceAttribute disableApiTermination")?
        .disable_api_termination()
        .and_then(|v| v.value())
        .unwrap_or(false);
    let shutdown = ec2
        .describe_instance_attribute()
        .instance_id(instance_id)
        .attribute(aws_sdk_ec2::types::InstanceAttributeName::InstanceInitiatedShutdownBehavior)
        .send()
        .await
        .context("DescribeInstanceAttribute instanceInitiatedShutdownBehavior")?
        .instance_initiated_shutdown_behavior()
        .and_then(|v| v.value())
        .unwrap_or("stop")
        .to_string();
    let asg = aws_sdk_autoscaling::Client::new(cfg)
        .describe_auto_scaling_instances()
        .instance_ids(instance_id)
        .send()
        .await
        .context("DescribeAutoScalingInstances")?
        .auto_scaling_instances()
        .first()
        .and_then(|a| a.auto_scaling_group_name())
        .map(str::to_string);
    Ok(InstanceState {
        instance_id: instance_id.to_string(),
        state: i
            .state()
            .and_then(|s| s.name())
            .map(|n| n.as_str().to_string())
            .unwrap_or_default(),
        interfaces,
        metadata: i.metadata_options().map(|m| {
            format!(
                "{}/{}",
                m.http_tokens().map(|t| t.as_str()).unwrap_or("?"),
                m.http_put_response_hop_limit().unwrap_or_default()
            )
        }),
        tags: ec2_tags(i.tags()),
        termination_protection: termination,
        shutdown_behavior: shutdown,
        auto_scaling_group: asg,
    })
}

/// The volumes attached to an instance, sorted.
pub async fn attached_volumes(cfg: &SdkConfig, instance_id: &str) -> Result<Vec<String>> {
    let out = aws_sdk_ec2::Client::new(cfg)
        .describe_volumes()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("attachment.instance-id")
                .values(instance_id)
                .build(),
        )
        .send()
        .await
        .context("DescribeVolumes")?;
    let mut ids: Vec<String> = out
        .volumes()
        .iter()
        .filter_map(|v| v.volume_id().map(str::to_string))
        .collect();
    ids.sort();
    Ok(ids)
}

/// The instance ids registered in a target group.
pub async fn target_group_members(cfg: &SdkConfig, target_group_arn: &str) -> Result<Vec<String>> {
    let out = aws_sdk_elasticloadbalancingv2::Client::new(cfg)
        .describe_target_health()
        .target_group_arn(target_group_arn)
        .send()
        .await
        .context("DescribeTargetHealth")?;
    Ok(out
        .target_health_descriptions()
        .iter()
        .filter_map(|d| d.target().and_then(|t| t.id()).map(str::to_string))
        .collect())
}

/// An evidence snapshot.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotState {
    /// The snapshot id.
    pub snapshot_id: String,
    /// The volume it copies.
    pub volume_id: String,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

/// The snapshots tagged as evidence of an instance.
pub async fn evidence_snapshots(cfg: &SdkConfig, instance_id: &str) -> Result<Vec<SnapshotState>> {
    let out = aws_sdk_ec2::Client::new(cfg)
        .describe_snapshots()
        .owner_ids("self")
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name(format!("tag:{}", responder_core::markers::TAG_INSTANCE))
                .values(instance_id)
                .build(),
        )
        .send()
        .await
        .context("DescribeSnapshots")?;
    Ok(out
        .snapshots()
        .iter()
        .map(|s| SnapshotState {
            snapshot_id: s.snapshot_id().unwrap_or_default().to_string(),
            volume_id: s.volume_id().unwrap_or_default().to_string(),
            tags: ec2_tags(s.tags()),
        })
        .collect())
}

/// An IAM user's keys and inline policies.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserState {
    /// Key id -> `Active` / `Inactive`.
    pub keys: BTreeMap<String, String>,
    /// Inline policy names.
    pub inline_policies: Vec<String>,
    /// The ARNs of its attached managed policies.
    pub attached_policies: Vec<String>,
}

/// A Lambda function as the emulator holds it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FunctionState {
    /// Its reserved concurrency; `None` when it has none.
    pub reserved_concurrency: Option<i32>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Its code's SHA-256.
    pub code_sha256: String,
}

/// Reads a function.
pub async fn function(cfg: &SdkConfig, name: &str) -> Result<FunctionState> {
    let lambda = aws_sdk_lambda::Client::new(cfg);
    let f = lambda
        .get_function()
        .function_name(name)
        .send()
        .await
        .context("GetFunction")?;
    let reserved = lambda
        .get_function_concurrency()
        .function_name(name)
        .send()
        .await
        .context("GetFunctionConcurrency")?
        .reserved_concurrent_executions();
    Ok(FunctionState {
        reserved_concurrency: reserved,
        tags: f
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        code_sha256: f
            .configuration()
            .and_then(|c| c.code_sha256())
            .unwrap_or_default()
            .to_string(),
    })
}

/// An S3 bucket as the emulator holds it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BucketState {
    /// Its own Block Public Access settings by name; `None` when it has no configuration.
    pub public_access_block: Option<BTreeMap<String, bool>>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Its policy document, as stored.
    pub policy: Option<String>,
}

/// Reads a bucket (path-style, as the emulator serves it).
pub async fn bucket(cfg: &SdkConfig, name: &str) -> Result<BucketState> {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(cfg)
            .force_path_style(true)
            .build(),
    );
    let code = |e: &dyn aws_sdk_s3::error::ProvideErrorMetadata| e.code().map(str::to_string);
    let public_access_block = match s3.get_public_access_block().bucket(name).send().await {
        Ok(o) => o.public_access_block_configuration().map(|c| {
            BTreeMap::from([
                (
                    "BlockPublicAcls".to_string(),
                    c.block_public_acls() == Some(true),
                ),
                (
                    "IgnorePublicAcls".to_string(),
                    c.ignore_public_acls() == Some(true),
                ),
                (
                    "BlockPublicPolicy".to_string(),
                    c.block_public_policy() == Some(true),
                ),
                (
                    "RestrictPublicBuckets".to_string(),
                    c.restrict_public_buckets() == Some(true),
                ),
            ])
        }),
        Err(e) if code(&e).as_deref() == Some("NoSuchPublicAccessBlockConfiguration") => None,
        Err(e) => return Err(anyhow::Error::new(e).context("GetPublicAccessBlock")),
    };
    let tags = match s3.get_bucket_tagging().bucket(name).send().await {
        Ok(o) => o
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
        Err(e) if code(&e).as_deref() == Some("NoSuchTagSet") => BTreeMap::new(),
        Err(e) => return Err(anyhow::Error::new(e).context("GetBucketTagging")),
    };
    let policy = match s3.get_bucket_policy().bucket(name).send().await {
        Ok(o) => o.policy().map(str::to_string),
        Err(e) if code(&e).as_deref() == Some("NoSuchBucketPolicy") => None,
        Err(e) => return Err(anyhow::Error::new(e).context("GetBucketPolicy")),
    };
    Ok(BucketState {
        public_access_block,
        tags,
        policy,
    })
}

/// An RDS DB instance as RDS shows it now.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseState {
    /// The groups in force: the cluster's for an Aurora member, else the instance's own.
    pub group_ids: Vec<String>,
    /// Their names, read from EC2.
    pub group_names: Vec<String>,
    /// The tags of what holds the groups (the cluster, or the instance).
    pub holder_tags: BTreeMap<String, String>,
    /// The instance's tags.
    pub tags: BTreeMap<String, String>,
    /// The manual snapshots of the instance (or its cluster), by identifier (automated ones,
    /// named `rds:...`, left out).
    pub snapshots: Vec<String>,
}

/// Reads a DB instance, its cluster's groups and tags when it has one, and its snapshots.
pub async fn database(cfg: &SdkConfig, identifier: &str) -> Result<DatabaseState> {
    let rds = aws_sdk_rds::Client::new(cfg);
    let out = rds
        .describe_db_instances()
        .db_instance_identifier(identifier)
        .send()
        .await
        .context("DescribeDBInstances")?;
    let db = out
        .db_instances()
        .first()
        .with_context(|| format!("no DB instance {identifier}"))?;
    let tags_of = |list: &[aws_sdk_rds::types::Tag]| -> BTreeMap<String, String> {
        list.iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
            .collect()
    };
    let groups_of = |list: &[aws_sdk_rds::types::VpcSecurityGroupMembership]| -> Vec<String> {
        list.iter()
            .filter(|g| g.status() != Some("removing"))
            .filter_map(|g| g.vpc_security_group_id().map(str::to_string))
            .collect()
    };
    let tags = tags_of(db.tag_list());
    let mut state = match db.db_cluster_identifier() {
        Some(cluster) => {
            let out = rds
                .describe_db_clusters()
                .db_cluster_identifier(cluster)
                .send()
                .await
                .context("DescribeDBClusters")?;
            let c = out.db_clusters().first().context("no cluster")?;
            let snapshots = rds
                .describe_db_cluster_snapshots()
                .db_cluster_identifier(cluster)
                .send()
                .await
                .context("DescribeDBClusterSnapshots")?
                .db_cluster_snapshots()
                .iter()
                .filter_map(|s| s.db_cluster_snapshot_identifier().map(str::to_string))
                .filter(|s| !s.starts_with("rds:"))
                .collect();
            DatabaseState {
                group_ids: groups_of(c.vpc_security_groups()),
                group_names: Vec::new(),
                holder_tags: tags_of(c.tag_list()),
                tags,
                snapshots,
            }
        }
        None => {
            let snapshots = rds
                .describe_db_snapshots()
                .db_instance_identifier(identifier)
                .send()
                .await
                .context("DescribeDBSnapshots")?
                .db_snapshots()
                .iter()
                .filter_map(|s| s.db_snapshot_identifier().map(str::to_string))
                .filter(|s| !s.starts_with("rds:"))
                .collect();
            DatabaseState {
                group_ids: groups_of(db.vpc_security_groups()),
                group_names: Vec::new(),
                holder_tags: tags.clone(),
                tags,
                snapshots,
            }
        }
    };
    let groups = aws_sdk_ec2::Client::new(cfg)
        .describe_security_groups()
        .set_group_ids(Some(state.group_ids.clone()))
        .send()
        .await
        .context("DescribeSecurityGroups")?;
    state.group_names = state
        .group_ids
        .iter()
        .map(|id| {
            groups
                .security_groups()
                .iter()
                .find(|g| g.group_id() == Some(id.as_str()))
                .and_then(|g| g.group_name())
                .unwrap_or("?")
                .to_string()
        })
        .collect();
    Ok(state)
}

/// Reads a user.
pub async fn user(cfg: &SdkConfig, user_name: &str) -> Result<UserState> {
    let iam = aws_sdk_iam::Client::new(cfg);
    let keys = iam
        .list_access_keys()
        .user_name(user_name)
        .send()
        .await
        .context("ListAccessKeys")?
        .access_key_metadata()
        .iter()
        .map(|k| {
            (
                k.access_key_id().unwrap_or_default().to_string(),
                k.status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
    let inline_policies = iam
        .list_user_policies()
        .user_name(user_name)
        .send()
        .await
        .context("ListUserPolicies")?
        .policy_names()
        .to_vec();
    let attached_policies = iam
        .list_attached_user_policies()
        .user_name(user_name)
        .send()
        .await
        .context("ListAttachedUserPolicies")?
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect();
    Ok(UserState {
        keys,
        inline_policies,
        attached_policies,
    })
}

/// A role's inline policies with their (decoded) documents.
pub async fn role_policies(cfg: &SdkConfig, role_name: &str) -> Result<BTreeMap<String, Value>> {
    inline_policies(cfg, Principal::Role(role_name)).await
}

/// A user's inline policies with their (decoded) documents.
pub async fn user_policies(cfg: &SdkConfig, user_name: &str) -> Result<BTreeMap<String, Value>> {
    inline_policies(cfg, Principal::User(user_name)).await
}

/// An IAM principal with inline policies.
#[derive(Debug, Clone, Copy)]
enum Principal<'a> {
    User(&'a str),
    Role(&'a str),
}

async fn inline_policies(cfg: &SdkConfig, who: Principal<'_>) -> Result<BTreeMap<String, Value>> {
    let iam = aws_sdk_iam::Client::new(cfg);
    let names = match who {
        Principal::User(u) => iam
            .list_user_policies()
            .user_name(u)
            .send()
            .await
            .context("ListUserPolicies")?
            .policy_names()
            .to_vec(),
        Principal::Role(r) => iam
            .list_role_policies()
            .role_name(r)
            .send()
            .await
            .context("ListRolePolicies")?
            .policy_names()
            .to_vec(),
    };
    let mut out = BTreeMap::new();
    for n in names {
        let doc = match who {
            Principal::User(u) => iam
                .get_user_policy()
                .user_name(u)
                .policy_name(&n)
                .send()
                .await
                .context("GetUserPolicy")?
                .policy_document()
                .to_string(),
            Principal::Role(r) => iam
                .get_role_policy()
                .role_name(r)
                .policy_name(&n)
                .send()
                .await
                .context("GetRolePolicy")?
                .policy_document()
                .to_string(),
        };
        let decoded = percent_decode(&doc);
        out.insert(
            n,
            serde_json::from_str(&decoded).unwrap_or(Value::String(decoded)),
        );
    }
    Ok(out)
}

/// An Auto Scaling group's capacity and members.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AutoScalingGroupState {
    /// The desired capacity.
    pub desired_capacity: i32,
    /// The minimum size.
    pub min_size: i32,
    /// The maximum size.
    pub max_size: i32,
    /// The instances in the group.
    pub instance_ids: Vec<String>,
}

/// Reads an Auto Scaling group.
pub async fn auto_scaling_group(cfg: &SdkConfig, name: &str) -> Result<AutoScalingGroupState> {
    let out = aws_sdk_autoscaling::Client::new(cfg)
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(name)
        .send()
        .await
        .context("DescribeAutoScalingGroups")?;
    let g = out
        .auto_scaling_groups()
        .first()
        .with_context(|| format!("Auto Scaling group {name} not found"))?;
    let mut instance_ids: Vec<String> = g
        .instances()
        .iter()
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect();
    instance_ids.sort();
    Ok(AutoScalingGroupState {
        desired_capacity: g.desired_capacity().unwrap_or_default(),
        min_size: g.min_size().unwrap_or_default(),
        max_size: g.max_size().unwrap_or_default(),
        instance_ids,
    })
}

/// A security group as EC2 has it now.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SecurityGroupState {
    /// The group id.
    pub group_id: String,
    /// The group name.
    pub group_name: String,
    /// Its VPC.
    pub vpc_id: String,
    /// How many inbound rules it has.
    pub ingress_rules: usize,
    /// How many outbound rules it has.
    pub egress_rules: usize,
    /// Its outbound rules, one line per peer: `tcp 443-443 -> sg-0abc`, `-1 -> 0.0.0.0/0`.
    pub egress: Vec<String>,
    /// Its inbound rules, one line per peer, in the same form.
    pub ingress: Vec<String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

/// Every security group of the account, sorted by id.
pub async fn security_groups(cfg: &SdkConfig) -> Result<Vec<SecurityGroupState>> {
    let out = aws_sdk_ec2::Client::new(cfg)
        .describe_security_groups()
        .send()
        .await
        .context("DescribeSecurityGroups")?;
    let mut groups: Vec<SecurityGroupState> = out
        .security_groups()
        .iter()
        .map(|g| SecurityGroupState {
            group_id: g.group_id().unwrap_or_default().to_string(),
            group_name: g.group_name().unwrap_or_default().to_string(),
            vpc_id: g.vpc_id().unwrap_or_default().to_string(),
            ingress_rules: g.ip_permissions().len(),
            egress_rules: g.ip_permissions_egress().len(),
            egress: rule_lines(g.ip_permissions_egress()),
            ingress: rule_lines(g.ip_permissions()),
            tags: ec2_tags(g.tags()),
        })
        .collect();
    groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    Ok(groups)
}

/// One line per peer of a list of group permissions.
fn rule_lines(perms: &[aws_sdk_ec2::types::IpPermission]) -> Vec<String> {
    let mut out = Vec::new();
    for p in perms {
        let proto = p.ip_protocol().unwrap_or("-1");
        let ports = match (p.from_port(), p.to_port()) {
            (Some(f), Some(t)) if proto != "-1" => format!(" {f}-{t}"),
            _ => String::new(),
        };
        let peers = p
            .ip_ranges()
            .iter()
            .filter_map(|r| r.cidr_ip().map(str::to_string))
            .chain(
                p.ipv6_ranges()
                    .iter()
                    .filter_map(|r| r.cidr_ipv6().map(str::to_string)),
            )
            .chain(
                p.user_id_group_pairs()
                    .iter()
                    .filter_map(|g| g.group_id().map(str::to_string)),
            )
            .chain(
                p.prefix_list_ids()
                    .iter()
                    .filter_map(|l| l.prefix_list_id().map(str::to_string)),
            );
        for peer in peers {
            out.push(format!("{proto}{ports} -> {peer}"));
        }
    }
    out.sort();
    out
}

/// An ECS task as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EcsTaskState {
    /// `RUNNING`, `STOPPED`, ...
    pub last_status: String,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Its network interface's tags.
    pub interface_tags: BTreeMap<String, String>,
}

/// An ECS task's status and tags, and its network interface's tags.
pub async fn ecs_task(
    cfg: &SdkConfig,
    cluster: &str,
    task_arn: &str,
    network_interface_id: &str,
) -> Result<EcsTaskState> {
    let out = aws_sdk_ecs::Client::new(cfg)
        .describe_tasks()
        .cluster(cluster)
        .tasks(task_arn)
        .include(aws_sdk_ecs::types::TaskField::Tags)
        .send()
        .await
        .context("DescribeTasks")?;
    let t = out.tasks().first().context("no such task")?;
    let interface = aws_sdk_ec2::Client::new(cfg)
        .describe_network_interfaces()
        .network_interface_ids(network_interface_id)
        .send()
        .await
        .context("DescribeNetworkInterfaces")?;
    Ok(EcsTaskState {
        last_status: t.last_status().unwrap_or_default().to_string(),
        tags: t
            .tags()
            .iter()
            .filter_map(|tag| Some((tag.key()?.to_string(), tag.value()?.to_string())))
            .collect(),
        interface_tags: interface
            .network_interfaces()
            .iter()
            .flat_map(|n| n.tag_set())
            .filter_map(|tag| Some((tag.key()?.to_string(), tag.value()?.to_string())))
            .collect(),
    })
}

/// Every network ACL of a VPC with its entries, one line each, sorted:
/// `in 1 deny -1 10.10.1.5/32`, `out 100 allow -1 0.0.0.0/0`, `in 1 allow 6 443-443 10.10.1.5/32`.
pub async fn network_acls(cfg: &SdkConfig, vpc_id: &str) -> Result<BTreeMap<String, Vec<String>>> {
    let out = aws_sdk_ec2::Client::new(cfg)
        .describe_network_acls()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(vpc_id)
                .build(),
        )
        .send()
        .await
        .context("DescribeNetworkAcls")?;
    let mut acls = BTreeMap::new();
    for a in out.network_acls() {
        let mut lines: Vec<(bool, i32, String)> = a
            .entries()
            .iter()
            .map(|e| {
                let egress = e.egress().unwrap_or(false);
                let n = e.rule_number().unwrap_or_default();
                let ports = e
                    .port_range()
                    .and_then(|p| Some(format!(" {}-{}", p.from()?, p.to()?)))
                    .unwrap_or_default();
                let line = format!(
                    "{} {n} {} {}{ports} {}",
                    if egress { "out" } else { "in" },
                    e.rule_action().map(|r| r.as_str()).unwrap_or("?"),
                    e.protocol().unwrap_or("?"),
                    e.cidr_block().or(e.ipv6_cidr_block()).unwrap_or("?")
                );
                (egress, n, line)
            })
            .collect();
        lines.sort();
        acls.insert(
            a.network_acl_id().unwrap_or_default().to_string(),
            lines.into_iter().map(|(_, _, l)| l).collect(),
        );
    }
    Ok(acls)
}

/// Decodes a URL-encoded policy document (IAM returns them encoded as RFC 3986 says: a space
/// is `%20`, and `+` is a literal plus, as in a `+00:00` time offset).
pub use responder_core::encoding::percent_decode;

/// One notification as a subscriber receives it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Notification {
    /// The subject.
    pub subject: String,
    /// The message body (JSON when the publisher sent JSON).
    pub message: String,
    /// Message attributes.
    pub attributes: BTreeMap<String, String>,
}

impl Notification {
    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.message).ok()
    }
}

/// Drains the analysts' inbox queue (an SQS subscription of the topic).
pub async fn drain_inbox(cfg: &SdkConfig, queue_url: &str) -> Result<Vec<Notification>> {
    let sqs = aws_sdk_sqs::Client::new(cfg);
    let mut all = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .context("ReceiveMessage")?;
        let msgs = out.messages();
        if msgs.is_empty() {
            return Ok(all);
        }
        for m in msgs {
            let envelope: Value =
                serde_json::from_str(m.body().unwrap_or("{}")).unwrap_or(Value::Null);
            let attributes = envelope
                .get("MessageAttributes")
                .and_then(Value::as_object)
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                v.get("Value")
                                    .and_then(Value::as_str)
                                    .unwrap_or("")
                                    .to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            all.push(Notification {
                subject: envelope
                    .get("Subject")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                message: envelope
                    .get("Message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                attributes,
            });
            if let Some(h) = m.receipt_handle() {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(h)
                    .send()
                    .await
                    .context("DeleteMessage")?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn decodes_policy_documents() {
        assert_eq!(
            percent_decode("%7B%22Effect%22%3A%22Deny%22%7D"),
            "{\"Effect\":\"Deny\"}"
        );
        assert_eq!(percent_decode("a%2"), "a%2");
        // RFC 3986, not form encoding: `+` stays a plus.
        assert_eq!(
            percent_decode("2025-01-01T00:00:00+00:00%20x"),
            "2025-01-01T00:00:00+00:00 x"
        );
    }
}
