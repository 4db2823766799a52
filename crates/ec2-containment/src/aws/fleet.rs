//! The Auto Scaling and Elastic Load Balancing v2 adapters: an instance's group and target
//! groups, which only instance containment and its rollback act on (feature `fleet`, so the
//! tasks that contain other resources do not link these clients).

use aws_sdk_autoscaling as asg;
use aws_sdk_elasticloadbalancingv2 as elb;
use elb::types::{TargetDescription, TargetHealthStateEnum, TargetTypeEnum};

use super::*;
use crate::caps::{AutoScaling, LoadBalancing};
use crate::model::{AsgMembership, Registration};

/// [`AutoScaling`] over the Auto Scaling client.
#[derive(Debug, Clone)]
pub struct AutoScalingAdapter {
    client: asg::Client,
}

impl AutoScalingAdapter {
    /// An adapter over a client.
    pub fn new(client: asg::Client) -> Self {
        AutoScalingAdapter { client }
    }

    /// An adapter for a session's configuration.
    pub fn from_conf(conf: &SdkConfig) -> Self {
        Self::new(asg::Client::new(conf))
    }
}

#[async_trait]
impl AutoScaling for AutoScalingAdapter {
    async fn membership(&self, instance_id: &str) -> Result<Option<AsgMembership>, TaskError> {
        let out = self
            .client
            .describe_auto_scaling_instances()
            .instance_ids(instance_id)
            .send()
            .await
            .map_err(|e| classify_sdk_error("autoscaling:DescribeAutoScalingInstances", &e))?;
        Ok(out
            .auto_scaling_instances()
            .iter()
            .find(|i| i.instance_id() == Some(instance_id))
            .and_then(|i| {
                Some(AsgMembership {
                    group: i.auto_scaling_group_name()?.to_string(),
                    lifecycle_state: i.lifecycle_state().unwrap_or("").to_string(),
                    protected_from_scale_in: i.protected_from_scale_in().unwrap_or(false),
                })
            }))
    }

    async fn detach(&self, instance_id: &str, group: &str) -> Result<(), TaskError> {
        self.client
            .detach_instances()
            .auto_scaling_group_name(group)
            .instance_ids(instance_id)
            .should_decrement_desired_capacity(false)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_sdk_error("autoscaling:DetachInstances", &e))
    }

    async fn set_scale_in_protection(
        &self,
        instance_id: &str,
        group: &str,
        protected: bool,
    ) -> Result<(), TaskError> {
        self.client
            .set_instance_protection()
            .auto_scaling_group_name(group)
            .instance_ids(instance_id)
            .protected_from_scale_in(protected)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_sdk_error("autoscaling:SetInstanceProtection", &e))
    }

    async fn enter_standby(&self, instance_id: &str, group: &str) -> Result<(), TaskError> {
        self.client
            .enter_standby()
            .auto_scaling_group_name(group)
            .instance_ids(instance_id)
            .should_decrement_desired_capacity(false)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_sdk_error("autoscaling:EnterStandby", &e))
    }

    async fn exit_standby(&self, instance_id: &str, group: &str) -> Result<(), TaskError> {
        self.client
            .exit_standby()
            .auto_scaling_group_name(group)
            .instance_ids(instance_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_sdk_error("autoscaling:ExitStandby", &e))
    }

    async fn group_exists(&self, group: &str) -> Result<bool, TaskError> {
        let out = self
            .client
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(group)
            .send()
            .await
            .map_err(|e| classify_sdk_error("autoscaling:DescribeAutoScalingGroups", &e))?;
        Ok(out
            .auto_scaling_groups()
            .iter()
            .any(|g| g.auto_scaling_group_name() == Some(group)))
    }

    async fn attach(&self, instance_id: &str, group: &str) -> Result<(), TaskError> {
        self.client
            .attach_instances()
            .auto_scaling_group_name(group)
            .instance_ids(instance_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_sdk_error("autoscaling:AttachInstances", &e))
    }

    async fn desired_capacity(&self, group: &str) -> Result<Option<i32>, TaskError> {
        let out = self
            .client
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(group)
            .send()
            .await
            .map_err(|e| classify_sdk_error("autoscaling:DescribeAutoScalingGroups", &e))?;
        Ok(out
            .auto_scaling_groups()
            .iter()
            .find(|g| g.auto_scaling_group_name() == Some(group))
            .and_then(|g| g.desired_capacity()))
    }
}

/// [`LoadBalancing`] over the Elastic Load Balancing v2 client.
#[derive(Debug, Clone)]
pub struct LoadBalancingAdapter {
    client: elb::Client,
    /// The account and region whose target-group index a warm process keeps (see
    /// [`TargetGroupIndex`]); `None`: every lookup scans.
    index_key: Option<String>,
}

impl LoadBalancingAdapter {
    /// An adapter over a client; every lookup scans the account's target groups.
    pub fn new(client: elb::Client) -> Self {
        LoadBalancingAdapter {
            client,
            index_key: None,
        }
    }

    /// An adapter for a session's configuration.
    pub fn from_conf(conf: &SdkConfig) -> Self {
        Self::new(elb::Client::new(conf))
    }

    /// Keeps the target-group index of this account and region (`key`) in the process, so
    /// the findings a warm process handles share one scan ([`TARGET_GROUP_INDEX_TTL`]).
    pub fn with_index(mut self, key: impl Into<String>) -> Self {
        self.index_key = Some(key.into());
        self
    }
}

/// How long a warm process trusts its index of an account's target groups. ELBv2 has no
/// "which target groups hold this instance" call: `DescribeTargetHealth` answers for one
/// target group at a time. Without an index, every finding costs one call per instance-type
/// target group in the instance's VPCs, which an incident touching many instances multiplies
/// into throttling. With it, the scan is made at most once per account and region per process
/// and period, and each finding confirms only the target groups the index names
/// (`registered_ports`). The price: an instance registered in a target group after the scan
/// and less than this long before containment is not deregistered; the quarantine group
/// admits no load balancer traffic, so such a target fails its health checks instead.
pub const TARGET_GROUP_INDEX_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// At most this many `DescribeTargetHealth` calls in flight while an index is built.
pub const TARGET_GROUP_SCAN_CONCURRENCY: usize = 8;

/// Which instance-type target groups held which instances, at one time.
#[derive(Debug, Clone)]
pub struct TargetGroupIndex {
    built: std::time::Instant,
    /// Instance id -> (target group ARN, its VPC).
    holders: std::collections::HashMap<String, Vec<(String, String)>>,
}

type Indexes = std::sync::Mutex<std::collections::HashMap<String, TargetGroupIndex>>;

/// The indexes of this process, by account and region.
fn indexes() -> &'static Indexes {
    static INDEXES: std::sync::OnceLock<Indexes> = std::sync::OnceLock::new();
    INDEXES.get_or_init(Default::default)
}

impl LoadBalancingAdapter {
    /// Every instance-type target group of the account and region, with its VPC.
    async fn instance_target_groups(&self) -> Result<Vec<(String, String)>, TaskError> {
        let mut groups = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_target_groups()
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| classify_elb("elasticloadbalancing:DescribeTargetGroups", &e))?;
            for tg in out.target_groups() {
                if tg.target_type() != Some(&TargetTypeEnum::Instance) {
                    continue;
                }
                if let (Some(arn), Some(vpc)) = (tg.target_group_arn(), tg.vpc_id()) {
                    groups.push((arn.to_string(), vpc.to_string()));
                }
            }
            match out.next_marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                _ => return Ok(groups),
            }
        }
    }

    /// `DescribeTargetHealth` of one target group: its targets (`None` when it no longer
    /// exists).
    async fn target_health(
        &self,
        arn: &str,
    ) -> Result<Option<Vec<elb::types::TargetHealthDescription>>, TaskError> {
        match self
            .client
            .describe_target_health()
            .target_group_arn(arn)
            .send()
            .await
        {
            Ok(o) => Ok(Some(o.target_health_descriptions.unwrap_or_default())),
            Err(e) if error_code(&e) == Some("TargetGroupNotFound") => Ok(None),
            Err(e) => Err(classify_elb(
                "elasticloadbalancing:DescribeTargetHealth",
                &e,
            )),
        }
    }

    /// The ids of the targets of one target group (`None` when it no longer exists).
    async fn target_ids(&self, arn: &str) -> Result<Option<Vec<String>>, TaskError> {
        Ok(self.target_health(arn).await?.map(|targets| {
            targets
                .iter()
                .filter_map(|d| d.target().and_then(|t| t.id()).map(str::to_string))
                .collect()
        }))
    }

    /// Scans every instance-type target group, [`TARGET_GROUP_SCAN_CONCURRENCY`] at a time.
    async fn build_index(&self) -> Result<TargetGroupIndex, TaskError> {
        let groups = self.instance_target_groups().await?;
        let mut holders: std::collections::HashMap<String, Vec<(String, String)>> =
            Default::default();
        for chunk in groups.chunks(TARGET_GROUP_SCAN_CONCURRENCY) {
            let answers =
                futures::future::join_all(chunk.iter().map(|(arn, _)| self.target_ids(arn))).await;
            for ((arn, vpc), ids) in chunk.iter().zip(answers) {
                for id in ids?.unwrap_or_default() {
                    let entry = holders.entry(id).or_default();
                    if !entry.iter().any(|(a, _)| a == arn) {
                        entry.push((arn.clone(), vpc.clone()));
                    }
                }
            }
        }
        Ok(TargetGroupIndex {
            built: std::time::Instant::now(),
            holders,
        })
    }

    /// The instance-type target groups in `vpc_ids` that may hold the instance: from the
    /// process's index when it is fresh (building it otherwise), or every one without an
    /// index key.
    async fn candidates(
        &self,
        instance_id: &str,
        vpc_ids: &[String],
    ) -> Result<Vec<String>, TaskError> {
        let in_vpcs =
            |(arn, vpc): &(String, String)| vpc_ids.iter().any(|v| v == vpc).then(|| arn.clone());
        let Some(key) = &self.index_key else {
            let groups = self.instance_target_groups().await?;
            return Ok(groups.iter().filter_map(in_vpcs).collect());
        };
        let cached = indexes()
            .lock()
            .ok()
            .and_then(|m| m.get(key).cloned())
            .filter(|i| i.built.elapsed() < TARGET_GROUP_INDEX_TTL);
        let index = match cached {
            Some(i) => i,
            None => {
                let i = self.build_index().await?;
                if let Ok(mut m) = indexes().lock() {
                    m.insert(key.clone(), i.clone());
                }
                i
            }
        };
        Ok(index
            .holders
            .get(instance_id)
            .map(|h| h.iter().filter_map(in_vpcs).collect())
            .unwrap_or_default())
    }
}

/// ELB names a missing target group `TargetGroupNotFound`, which the shared classification
/// does not know as "not found".
fn classify_elb<E, R>(what: &str, e: &SdkError<E, R>) -> TaskError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let err = classify_sdk_error(what, e);
    if error_code(e) == Some("TargetGroupNotFound") {
        TaskError::new(names::REMEDIATION_TARGET_NOT_FOUND, err.message)
    } else {
        err
    }
}

fn targets(instance_id: &str, ports: &[i32]) -> Vec<TargetDescription> {
    ports
        .iter()
        .map(|p| {
            TargetDescription::builder()
                .id(instance_id)
                .port(*p)
                .build()
        })
        .collect()
}

#[async_trait]
impl LoadBalancing for LoadBalancingAdapter {
    async fn registrations(
        &self,
        instance_id: &str,
        vpc_ids: &[String],
    ) -> Result<Vec<Registration>, TaskError> {
        // Each candidate is confirmed with its own DescribeTargetHealth: the ports, and no
        // deregistration of a target that has left since the index was built.
        let arns = self.candidates(instance_id, vpc_ids).await?;
        let mut regs = Vec::new();
        for arn in arns {
            match self.registered_ports(&arn, instance_id).await? {
                Some(ports) if !ports.is_empty() => regs.push(Registration {
                    target_group_arn: arn,
                    ports,
                }),
                _ => {}
            }
        }
        Ok(regs)
    }

    async fn registered_ports(
        &self,
        target_group_arn: &str,
        instance_id: &str,
    ) -> Result<Option<Vec<i32>>, TaskError> {
        let Some(targets) = self.target_health(target_group_arn).await? else {
            return Ok(None);
        };
        let mut ports: Vec<i32> = targets
            .iter()
            .filter(|d| {
                // A draining target is already on its way out.
                d.target_health().and_then(|h| h.state()) != Some(&TargetHealthStateEnum::Draining)
            })
            .filter_map(|d| d.target())
            .filter(|t| t.id() == Some(instance_id))
            .filter_map(|t| t.port())
            .collect();
        ports.sort_unstable();
        ports.dedup();
        Ok(Some(ports))
    }

    async fn deregister(
        &self,
        target_group_arn: &str,
        instance_id: &str,
        ports: &[i32],
    ) -> Result<(), TaskError> {
        self.client
            .deregister_targets()
            .target_group_arn(target_group_arn)
            .set_targets(Some(targets(instance_id, ports)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_elb("elasticloadbalancing:DeregisterTargets", &e))
    }

    async fn register(
        &self,
        target_group_arn: &str,
        instance_id: &str,
        ports: &[i32],
    ) -> Result<(), TaskError> {
        self.client
            .register_targets()
            .target_group_arn(target_group_arn)
            .set_targets(Some(targets(instance_id, ports)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_elb("elasticloadbalancing:RegisterTargets", &e))
    }
}

#[cfg(test)]
mod tests;
