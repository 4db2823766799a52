//! The narrow capabilities containment and rollback need, one trait per AWS service, so the
//! logic runs against in-memory fakes in tests and against the SDK in [`crate::aws`].
//!
//! Every method that changes something and takes `dry_run` asks EC2 with `DryRun=true` when it
//! is set: `Ok(())` then means "permitted, would succeed", and nothing is changed.

use async_trait::async_trait;
use responder_core::TaskError;

use crate::model::{
    AclEntry, AsgMembership, ConnTracking, GroupRole, GroupRule, Instance, InstanceAttributes,
    Interface, MetadataOptions, NetworkAcl, Registration, SecurityGroup, VpcEndpoint,
};

/// The EC2 calls of containment and rollback.
#[async_trait]
pub trait Ec2Isolation: Send + Sync {
    /// `DescribeInstances` for one instance; `None` when it does not exist.
    async fn describe_instance(&self, instance_id: &str) -> Result<Option<Instance>, TaskError>;
    /// `DescribeInstanceAttribute` for termination protection and shutdown behaviour.
    async fn instance_attributes(&self, instance_id: &str)
        -> Result<InstanceAttributes, TaskError>;
    /// `DescribeNetworkInterfaces` for the given ids, with their groups and tags.
    async fn describe_interfaces(&self, ids: &[String]) -> Result<Vec<Interface>, TaskError>;
    /// `DescribeNetworkInterfaces` of the interfaces attached to an instance (filter
    /// `attachment.instance-id`): read beside `DescribeInstances`, not after it.
    async fn instance_interfaces(&self, instance_id: &str) -> Result<Vec<Interface>, TaskError>;
    /// The group of this role in a VPC, found by name or by role tag.
    async fn find_group(
        &self,
        vpc_id: &str,
        role: GroupRole,
    ) -> Result<Option<SecurityGroup>, TaskError>;
    /// The quarantine group and the untrack group of a VPC, found by name: one
    /// `DescribeSecurityGroups` on AWS (the default asks once per role).
    async fn find_groups(
        &self,
        vpc_id: &str,
    ) -> Result<(Option<SecurityGroup>, Option<SecurityGroup>), TaskError> {
        let (q, u) = tokio::join!(
            self.find_group(vpc_id, GroupRole::Quarantine),
            self.find_group(vpc_id, GroupRole::Untrack)
        );
        Ok((q?, u?))
    }
    /// `CreateSecurityGroup` with the role's name, description and tags. Returns the group id,
    /// or `None` in a dry run. A group created meanwhile by a concurrent run is returned as is.
    async fn create_group(
        &self,
        vpc_id: &str,
        role: GroupRole,
        dry_run: bool,
    ) -> Result<Option<String>, TaskError>;
    /// Removes rules from a group (`RevokeSecurityGroupIngress`/`Egress`).
    async fn revoke_rules(&self, group_id: &str, rules: &[GroupRule]) -> Result<(), TaskError>;
    /// Adds rules to a group (`AuthorizeSecurityGroupIngress`/`Egress`).
    async fn authorize_rules(&self, group_id: &str, rules: &[GroupRule]) -> Result<(), TaskError>;
    /// `ModifyNetworkInterfaceAttribute(Groups)`: replaces the interface's groups.
    async fn set_interface_groups(
        &self,
        interface_id: &str,
        group_ids: &[String],
        dry_run: bool,
    ) -> Result<(), TaskError>;
    /// `ModifyInstanceAttribute(DisableApiTermination)`.
    async fn set_termination_protection(
        &self,
        instance_id: &str,
        enabled: bool,
        dry_run: bool,
    ) -> Result<(), TaskError>;
    /// `ModifyInstanceAttribute(InstanceInitiatedShutdownBehavior)`.
    async fn set_shutdown_behavior(
        &self,
        instance_id: &str,
        behavior: &str,
        dry_run: bool,
    ) -> Result<(), TaskError>;
    /// `CreateTags` on one resource (adds or overwrites the given keys).
    async fn create_tags(
        &self,
        resource_id: &str,
        tags: &[(String, String)],
        dry_run: bool,
    ) -> Result<(), TaskError>;
    /// `DeleteTags` of the given keys on one resource.
    async fn delete_tags(
        &self,
        resource_id: &str,
        keys: &[String],
        dry_run: bool,
    ) -> Result<(), TaskError>;
    /// `DescribeNetworkAcls` of a VPC: every ACL with its entries and associations.
    async fn network_acls(&self, vpc_id: &str) -> Result<Vec<NetworkAcl>, TaskError>;
    /// `CreateNetworkAclEntry`.
    async fn create_acl_entry(
        &self,
        acl_id: &str,
        entry: &AclEntry,
        dry_run: bool,
    ) -> Result<(), TaskError>;
    /// `DeleteNetworkAclEntry`; an entry already gone is not an error.
    async fn delete_acl_entry(
        &self,
        acl_id: &str,
        egress: bool,
        rule_number: i32,
    ) -> Result<(), TaskError>;
    /// `DescribeVpcEndpoints` of a VPC.
    async fn vpc_endpoints(&self, vpc_id: &str) -> Result<Vec<VpcEndpoint>, TaskError>;
    /// `ModifyInstanceMetadataOptions`: the tokens setting and the hop limit.
    async fn set_metadata_options(
        &self,
        instance_id: &str,
        options: &MetadataOptions,
        dry_run: bool,
    ) -> Result<(), TaskError>;
    /// `ModifyNetworkInterfaceAttribute(ConnectionTrackingSpecification)`.
    async fn set_connection_tracking(
        &self,
        interface_id: &str,
        timeouts: &ConnTracking,
        dry_run: bool,
    ) -> Result<(), TaskError>;
}

/// The Auto Scaling calls of containment and rollback.
#[async_trait]
pub trait AutoScaling: Send + Sync {
    /// `DescribeAutoScalingInstances`: the group the instance belongs to, if any.
    async fn membership(&self, instance_id: &str) -> Result<Option<AsgMembership>, TaskError>;
    /// `DetachInstances` with `ShouldDecrementDesiredCapacity=false`: the group launches a
    /// replacement and the instance stays for forensics.
    async fn detach(&self, instance_id: &str, group: &str) -> Result<(), TaskError>;
    /// `SetInstanceProtection`: scale-in protection on or off.
    async fn set_scale_in_protection(
        &self,
        instance_id: &str,
        group: &str,
        protected: bool,
    ) -> Result<(), TaskError>;
    /// `EnterStandby` with `ShouldDecrementDesiredCapacity=false`.
    async fn enter_standby(&self, instance_id: &str, group: &str) -> Result<(), TaskError>;
    /// `ExitStandby`.
    async fn exit_standby(&self, instance_id: &str, group: &str) -> Result<(), TaskError>;
    /// `DescribeAutoScalingGroups`: whether the group still exists.
    async fn group_exists(&self, group: &str) -> Result<bool, TaskError>;
    /// `AttachInstances`: raises the group's desired capacity by one.
    async fn attach(&self, instance_id: &str, group: &str) -> Result<(), TaskError>;
    /// `DescribeAutoScalingGroups`: the group's desired capacity, `None` when the group does not
    /// exist.
    async fn desired_capacity(&self, group: &str) -> Result<Option<i32>, TaskError>;
}

/// The Elastic Load Balancing (v2) calls of containment and rollback.
#[async_trait]
pub trait LoadBalancing: Send + Sync {
    /// The instance-type target groups in the given VPCs where the instance is registered (and
    /// not already draining), with its ports.
    async fn registrations(
        &self,
        instance_id: &str,
        vpc_ids: &[String],
    ) -> Result<Vec<Registration>, TaskError>;
    /// The ports the instance is registered on in one target group (draining excluded), or
    /// `None` when the target group no longer exists.
    async fn registered_ports(
        &self,
        target_group_arn: &str,
        instance_id: &str,
    ) -> Result<Option<Vec<i32>>, TaskError>;
    /// `DeregisterTargets` of the instance on the given ports.
    async fn deregister(
        &self,
        target_group_arn: &str,
        instance_id: &str,
        ports: &[i32],
    ) -> Result<(), TaskError>;
    /// `RegisterTargets` of the instance on the given ports.
    async fn register(
        &self,
        target_group_arn: &str,
        instance_id: &str,
        ports: &[i32],
    ) -> Result<(), TaskError>;
}
