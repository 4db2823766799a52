//! In-memory fakes of the capability traits, for unit tests of the logic (here and in the
//! `restore` task). They keep EC2, Auto Scaling and ELB state the way AWS would change it, log
//! every call, and can inject one failure per call name.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use responder_core::{markers, names, TaskError};

use crate::caps::{AutoScaling, Ec2Isolation, LoadBalancing};
use crate::model::{
    AclEntry, AsgMembership, ConnTracking, GroupRole, GroupRule, Instance, InstanceAttributes,
    Interface, MetadataOptions, NetworkAcl, Registration, SecurityGroup, VpcEndpoint,
};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A security group held by the fake, with its name and tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeGroup {
    /// The group and its rules.
    pub group: SecurityGroup,
    /// Its name.
    pub name: String,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

/// EC2 state.
#[derive(Debug, Default)]
pub struct Ec2State {
    /// Instances by id.
    pub instances: BTreeMap<String, Instance>,
    /// Attributes by instance id.
    pub attributes: BTreeMap<String, InstanceAttributes>,
    /// Interfaces by id.
    pub interfaces: BTreeMap<String, Interface>,
    /// Security groups.
    pub groups: Vec<FakeGroup>,
    /// Every call, as `name resource` (`dry:` prefixed for dry runs).
    pub calls: Vec<String>,
    /// Errors returned once by the next call of the given name.
    pub fail_once: Vec<(String, TaskError)>,
    /// Errors returned by calls of a name whose resource contains a string, while the count
    /// lasts: `(call, needle, count, error)`.
    pub fail_when: Vec<(String, String, u32, TaskError)>,
    /// When set, `set_interface_groups` answers success but changes nothing.
    pub ignore_group_changes: bool,
    /// When set, dry runs answer `UnauthorizedOperation` (access denied).
    pub deny: bool,
    /// Network ACLs.
    pub acls: Vec<NetworkAcl>,
    /// VPC endpoints, by VPC.
    pub endpoints: BTreeMap<String, Vec<VpcEndpoint>>,
    /// Entries per ACL direction beyond which `CreateNetworkAclEntry` answers
    /// `NetworkAclEntryLimitExceeded` (AWS's default quota is 20), when set.
    pub acl_entry_limit: Option<usize>,
    /// Groups created by the fake that stay invisible to the next N calls naming them
    /// (`InvalidGroup.NotFound`), as EC2's eventual consistency can.
    pub invisible_for: BTreeMap<String, u32>,
    /// When set, groups created from now on stay invisible for this many calls.
    pub new_groups_invisible_for: u32,
    /// When set, tag writes and group moves give way to other work first, as a call to AWS
    /// does while it waits on the network: concurrent steps then interleave.
    pub writes_yield: bool,
    next_id: u32,
}

/// A fake EC2.
#[derive(Debug, Default)]
pub struct FakeEc2 {
    /// The state, open for tests to arrange and inspect.
    pub state: Mutex<Ec2State>,
}

impl FakeEc2 {
    /// Adds an instance with its interfaces `(id, vpc, groups)`.
    pub fn with_instance(self, instance_id: &str, interfaces: &[(&str, &str, &[&str])]) -> Self {
        {
            let mut s = lock(&self.state);
            s.instances.insert(
                instance_id.into(),
                Instance {
                    id: instance_id.into(),
                    state: Some("running".into()),
                    interface_ids: interfaces.iter().map(|(i, _, _)| i.to_string()).collect(),
                    tags: BTreeMap::new(),
                    metadata: Some(MetadataOptions {
                        http_tokens: "optional".into(),
                        hop_limit: 2,
                    }),
                },
            );
            s.attributes.insert(
                instance_id.into(),
                InstanceAttributes {
                    termination_protection: false,
                    shutdown_behavior: "terminate".into(),
                },
            );
            for (id, vpc, groups) in interfaces {
                let n = s.interfaces.len();
                s.interfaces.insert(
                    id.to_string(),
                    Interface {
                        id: id.to_string(),
                        vpc_id: vpc.to_string(),
                        subnet_id: format!("subnet-{vpc}"),
                        group_ids: groups.iter().map(|g| g.to_string()).collect(),
                        tags: BTreeMap::new(),
                        ipv4: vec![format!("10.0.{n}.{}", 10 + n)],
                        ..Default::default()
                    },
                );
            }
        }
        self
    }

    /// The state, locked.
    pub fn state(&self) -> MutexGuard<'_, Ec2State> {
        lock(&self.state)
    }

    /// Makes the next call named `call` fail with `error`.
    pub fn fail_next(&self, call: &str, error: TaskError) {
        self.state().fail_once.push((call.into(), error));
    }

    /// Makes the next `times` calls named `call` whose resource contains `needle` fail.
    pub fn fail_when(&self, call: &str, needle: &str, times: u32, error: TaskError) {
        self.state()
            .fail_when
            .push((call.into(), needle.into(), times, error));
    }

    /// Adds a network ACL of a VPC with AWS's default entries (allow all at 100, deny at
    /// 32767, both ways), associated with the given subnets.
    pub fn with_acl(self, acl_id: &str, vpc_id: &str, subnets: &[&str]) -> Self {
        {
            let mut s = lock(&self.state);
            let entry = |egress, n, allow| AclEntry {
                egress,
                rule_number: n,
                allow,
                protocol: "-1".into(),
                cidr: "0.0.0.0/0".into(),
                ports: None,
            };
            s.acls.push(NetworkAcl {
                id: acl_id.into(),
                vpc_id: vpc_id.into(),
                subnet_ids: subnets.iter().map(|x| x.to_string()).collect(),
                entries: vec![
                    entry(false, 100, true),
                    entry(false, 32767, false),
                    entry(true, 100, true),
                    entry(true, 32767, false),
                ],
            });
        }
        self
    }

    /// Adds an interface endpoint to a VPC.
    pub fn with_endpoint(self, vpc_id: &str, endpoint: VpcEndpoint) -> Self {
        lock(&self.state)
            .endpoints
            .entry(vpc_id.into())
            .or_default()
            .push(endpoint);
        self
    }

    /// The entries of a network ACL now.
    pub fn acl_entries(&self, acl_id: &str) -> Vec<AclEntry> {
        self.state()
            .acls
            .iter()
            .find(|a| a.id == acl_id)
            .map(|a| a.entries.clone())
            .unwrap_or_default()
    }

    /// The tags of an interface now.
    pub fn interface_tags(&self, interface_id: &str) -> BTreeMap<String, String> {
        self.state()
            .interfaces
            .get(interface_id)
            .map(|i| i.tags.clone())
            .unwrap_or_default()
    }

    /// The groups an interface holds now.
    pub fn groups_of(&self, interface_id: &str) -> Vec<String> {
        self.state()
            .interfaces
            .get(interface_id)
            .map(|i| i.group_ids.clone())
            .unwrap_or_default()
    }

    /// The calls that changed something (not dry runs, not reads).
    pub fn mutations(&self) -> Vec<String> {
        self.state()
            .calls
            .iter()
            .filter(|c| {
                !c.starts_with("dry:") && !c.starts_with("describe") && !c.starts_with("find")
            })
            .cloned()
            .collect()
    }

    async fn give_way(&self) {
        let yields = self.state().writes_yield;
        if yields {
            tokio::task::yield_now().await;
        }
    }

    fn enter(
        &self,
        call: &str,
        resource: &str,
        dry_run: bool,
    ) -> Result<MutexGuard<'_, Ec2State>, TaskError> {
        let mut s = self.state();
        let prefix = if dry_run { "dry:" } else { "" };
        s.calls.push(format!("{prefix}{call} {resource}"));
        if let Some(i) = s.fail_once.iter().position(|(c, _)| c == call) {
            let (_, e) = s.fail_once.remove(i);
            return Err(e);
        }
        if let Some(rule) = s
            .fail_when
            .iter_mut()
            .find(|(c, needle, n, _)| c == call && *n > 0 && resource.contains(needle.as_str()))
        {
            rule.2 -= 1;
            return Err(rule.3.clone());
        }
        if dry_run && s.deny {
            return Err(TaskError::new(
                names::REMEDIATION_ACCESS_DENIED,
                format!("{call} failed: UnauthorizedOperation"),
            ));
        }
        // A group created moments ago is not visible yet to calls naming it.
        let named: Vec<String> = s
            .invisible_for
            .keys()
            .filter(|g| resource.contains(g.as_str()))
            .cloned()
            .collect();
        for g in named {
            if let Some(n) = s.invisible_for.get_mut(&g) {
                if *n > 0 {
                    *n -= 1;
                    return Err(TaskError::new(
                        names::REMEDIATION_TARGET_NOT_FOUND,
                        format!("{call} failed: InvalidGroup.NotFound: The security group '{g}' does not exist"),
                    )
                    .with_aws_code("InvalidGroup.NotFound"));
                }
            }
        }
        Ok(s)
    }
}

fn not_found(what: &str) -> TaskError {
    TaskError::new(
        names::REMEDIATION_TARGET_NOT_FOUND,
        format!("{what} not found"),
    )
}

#[async_trait]
impl Ec2Isolation for FakeEc2 {
    async fn describe_instance(&self, instance_id: &str) -> Result<Option<Instance>, TaskError> {
        let s = self.enter("describe_instance", instance_id, false)?;
        Ok(s.instances.get(instance_id).cloned())
    }

    async fn instance_attributes(
        &self,
        instance_id: &str,
    ) -> Result<InstanceAttributes, TaskError> {
        let s = self.enter("describe_instance_attributes", instance_id, false)?;
        s.attributes
            .get(instance_id)
            .cloned()
            .ok_or_else(|| not_found(instance_id))
    }

    async fn describe_interfaces(&self, ids: &[String]) -> Result<Vec<Interface>, TaskError> {
        let s = self.enter("describe_interfaces", &ids.join(","), false)?;
        Ok(ids
            .iter()
            .filter_map(|i| s.interfaces.get(i).cloned())
            .collect())
    }

    async fn instance_interfaces(&self, instance_id: &str) -> Result<Vec<Interface>, TaskError> {
        let s = self.enter("describe_instance_interfaces", instance_id, false)?;
        let ids = s
            .instances
            .get(instance_id)
            .map(|i| i.interface_ids.clone())
            .unwrap_or_default();
        Ok(ids
            .iter()
            .filter_map(|i| s.interfaces.get(i).cloned())
            .collect())
    }

    async fn find_group(
        &self,
        vpc_id: &str,
        role: GroupRole,
    ) -> Result<Option<SecurityGroup>, TaskError> {
        let s = self.enter("find_group", vpc_id, false)?;
        Ok(s.groups
            .iter()
            .find(|g| g.group.vpc_id == vpc_id && g.name == role.group_name())
            .map(|g| g.group.clone()))
    }

    async fn create_group(
        &self,
        vpc_id: &str,
        role: GroupRole,
        dry_run: bool,
    ) -> Result<Option<String>, TaskError> {
        let mut s = self.enter("create_group", vpc_id, dry_run)?;
        if dry_run {
            return Ok(None);
        }
        s.next_id += 1;
        let id = format!("sg-{}{:04}", role.tag_value(), s.next_id);
        let invisible = s.new_groups_invisible_for;
        if invisible > 0 {
            s.invisible_for.insert(id.clone(), invisible);
        }
        s.groups.push(FakeGroup {
            group: SecurityGroup {
                id: id.clone(),
                vpc_id: vpc_id.into(),
                rules: vec![GroupRule::all_traffic(true, "0.0.0.0/0")],
            },
            name: role.group_name().into(),
            tags: [(
                markers::TAG_GROUP_ROLE.to_string(),
                role.tag_value().to_string(),
            )]
            .into(),
        });
        Ok(Some(id))
    }

    async fn revoke_rules(&self, group_id: &str, rules: &[GroupRule]) -> Result<(), TaskError> {
        let mut s = self.enter("revoke_rules", group_id, false)?;
        let g = s
            .groups
            .iter_mut()
            .find(|g| g.group.id == group_id)
            .ok_or_else(|| not_found(group_id))?;
        g.group
            .rules
            .retain(|r| !rules.iter().any(|x| x.same_as(r)));
        Ok(())
    }

    async fn authorize_rules(&self, group_id: &str, rules: &[GroupRule]) -> Result<(), TaskError> {
        let mut s = self.enter("authorize_rules", group_id, false)?;
        let g = s
            .groups
            .iter_mut()
            .find(|g| g.group.id == group_id)
            .ok_or_else(|| not_found(group_id))?;
        for r in rules {
            if !g.group.rules.iter().any(|x| x.same_as(r)) {
                g.group.rules.push(r.clone());
            }
        }
        Ok(())
    }

    async fn set_interface_groups(
        &self,
        interface_id: &str,
        group_ids: &[String],
        dry_run: bool,
    ) -> Result<(), TaskError> {
        self.give_way().await;
        let mut s = self.enter(
            "set_interface_groups",
            &format!("{interface_id}={}", group_ids.join(",")),
            dry_run,
        )?;
        let ignore = s.ignore_group_changes;
        let iface = s
            .interfaces
            .get_mut(interface_id)
            .ok_or_else(|| not_found(interface_id))?;
        if !dry_run && !ignore {
            iface.group_ids = group_ids.to_vec();
        }
        Ok(())
    }

    async fn set_termination_protection(
        &self,
        instance_id: &str,
        enabled: bool,
        dry_run: bool,
    ) -> Result<(), TaskError> {
        let mut s = self.enter("set_termination_protection", instance_id, dry_run)?;
        let a = s
            .attributes
            .get_mut(instance_id)
            .ok_or_else(|| not_found(instance_id))?;
        if !dry_run {
            a.termination_protection = enabled;
        }
        Ok(())
    }

    async fn set_shutdown_behavior(
        &self,
        instance_id: &str,
        behavior: &str,
        dry_run: bool,
    ) -> Result<(), TaskError> {
        let mut s = self.enter("set_shutdown_behavior", instance_id, dry_run)?;
        let a = s
            .attributes
            .get_mut(instance_id)
            .ok_or_else(|| not_found(instance_id))?;
        if !dry_run {
            a.shutdown_behavior = behavior.into();
        }
        Ok(())
    }

    async fn create_tags(
        &self,
        resource_id: &str,
        tags: &[(String, String)],
        dry_run: bool,
    ) -> Result<(), TaskError> {
        self.give_way().await;
        let mut s = self.enter("create_tags", resource_id, dry_run)?;
        if dry_run {
            return Ok(());
        }
        let target = if let Some(i) = s.instances.get_mut(resource_id) {
            &mut i.tags
        } else if let Some(i) = s.interfaces.get_mut(resource_id) {
            &mut i.tags
        } else {
            return Err(not_found(resource_id));
        };
        for (k, v) in tags {
            target.insert(k.clone(), v.clone());
        }
        Ok(())
    }

    async fn delete_tags(
        &self,
        resource_id: &str,
        keys: &[String],
        dry_run: bool,
    ) -> Result<(), TaskError> {
        let mut s = self.enter("delete_tags", resource_id, dry_run)?;
        if dry_run {
            return Ok(());
        }
        let target = if let Some(i) = s.instances.get_mut(resource_id) {
            &mut i.tags
        } else if let Some(i) = s.interfaces.get_mut(resource_id) {
            &mut i.tags
        } else {
            return Err(not_found(resource_id));
        };
        for k in keys {
            target.remove(k);
        }
        Ok(())
    }

    async fn network_acls(&self, vpc_id: &str) -> Result<Vec<NetworkAcl>, TaskError> {
        let s = self.enter("describe_network_acls", vpc_id, false)?;
        Ok(s.acls
            .iter()
            .filter(|a| a.vpc_id == vpc_id)
            .cloned()
            .collect())
    }

    async fn create_acl_entry(
        &self,
        acl_id: &str,
        entry: &AclEntry,
        dry_run: bool,
    ) -> Result<(), TaskError> {
        let mut s = self.enter(
            "create_acl_entry",
            &format!(
                "{acl_id}:{}:{}",
                if entry.egress { "out" } else { "in" },
                entry.rule_number
            ),
            dry_run,
        )?;
        let limit = s.acl_entry_limit;
        let acl = s
            .acls
            .iter_mut()
            .find(|a| a.id == acl_id)
            .ok_or_else(|| not_found(acl_id))?;
        if acl
            .entries
            .iter()
            .any(|e| e.egress == entry.egress && e.rule_number == entry.rule_number)
        {
            return Err(TaskError::new(
                names::REMEDIATION_FAILED,
                format!("NetworkAclEntryAlreadyExists: {}", entry.rule_number),
            )
            .with_aws_code("NetworkAclEntryAlreadyExists"));
        }
        let count = acl
            .entries
            .iter()
            .filter(|e| e.egress == entry.egress && e.rule_number < 32767)
            .count();
        if limit.is_some_and(|l| count >= l) {
            return Err(TaskError::new(
                names::REMEDIATION_FAILED,
                format!("NetworkAclEntryLimitExceeded: {count} entries"),
            )
            .with_aws_code("NetworkAclEntryLimitExceeded"));
        }
        if !dry_run {
            acl.entries.push(entry.clone());
        }
        Ok(())
    }

    async fn delete_acl_entry(
        &self,
        acl_id: &str,
        egress: bool,
        rule_number: i32,
    ) -> Result<(), TaskError> {
        let mut s = self.enter(
            "delete_acl_entry",
            &format!(
                "{acl_id}:{}:{rule_number}",
                if egress { "out" } else { "in" }
            ),
            false,
        )?;
        if let Some(acl) = s.acls.iter_mut().find(|a| a.id == acl_id) {
            acl.entries
                .retain(|e| !(e.egress == egress && e.rule_number == rule_number));
        }
        Ok(())
    }

    async fn vpc_endpoints(&self, vpc_id: &str) -> Result<Vec<VpcEndpoint>, TaskError> {
        let s = self.enter("describe_vpc_endpoints", vpc_id, false)?;
        Ok(s.endpoints.get(vpc_id).cloned().unwrap_or_default())
    }

    async fn set_metadata_options(
        &self,
        instance_id: &str,
        options: &MetadataOptions,
        dry_run: bool,
    ) -> Result<(), TaskError> {
        let mut s = self.enter("set_metadata_options", instance_id, dry_run)?;
        let i = s
            .instances
            .get_mut(instance_id)
            .ok_or_else(|| not_found(instance_id))?;
        if !dry_run {
            i.metadata = Some(options.clone());
        }
        Ok(())
    }

    async fn set_connection_tracking(
        &self,
        interface_id: &str,
        timeouts: &ConnTracking,
        dry_run: bool,
    ) -> Result<(), TaskError> {
        let mut s = self.enter("set_connection_tracking", interface_id, dry_run)?;
        let iface = s
            .interfaces
            .get_mut(interface_id)
            .ok_or_else(|| not_found(interface_id))?;
        if !dry_run {
            iface.conntrack = Some(*timeouts);
        }
        Ok(())
    }
}

/// Auto Scaling state.
#[derive(Debug, Default)]
pub struct AsgState {
    /// Membership by instance id.
    pub members: BTreeMap<String, AsgMembership>,
    /// Existing groups.
    pub groups: BTreeSet<String>,
    /// Detach calls as `(instance, group)`; the fake never decrements the desired capacity,
    /// as the adapter asks.
    pub detached: Vec<(String, String)>,
    /// Attach calls as `(instance, group)`.
    pub attached: Vec<(String, String)>,
    /// Desired capacity by group; an attach raises it by one, as on AWS.
    pub desired: BTreeMap<String, i32>,
    /// Every call, in order, as `name instance`.
    pub calls: Vec<String>,
    /// Calls that answer with an error instead, by name (`detach`, `enter_standby`, ...).
    pub refuse: BTreeMap<String, TaskError>,
}

/// A fake Auto Scaling.
#[derive(Debug, Default)]
pub struct FakeAutoScaling {
    /// The state.
    pub state: Mutex<AsgState>,
}

impl FakeAutoScaling {
    /// Puts an instance in service in a group.
    pub fn with_member(self, instance_id: &str, group: &str) -> Self {
        {
            let mut s = lock(&self.state);
            s.groups.insert(group.into());
            *s.desired.entry(group.into()).or_default() += 1;
            s.members.insert(
                instance_id.into(),
                AsgMembership {
                    group: group.into(),
                    lifecycle_state: "InService".into(),
                    protected_from_scale_in: false,
                },
            );
        }
        self
    }

    /// Makes every call named `call` answer `error`.
    pub fn refusing(self, call: &str, error: TaskError) -> Self {
        lock(&self.state).refuse.insert(call.into(), error);
        self
    }

    fn enter(&self, call: &str, instance_id: &str) -> Result<MutexGuard<'_, AsgState>, TaskError> {
        let mut s = self.state();
        s.calls.push(format!("{call} {instance_id}"));
        if let Some(e) = s.refuse.get(call) {
            return Err(e.clone());
        }
        Ok(s)
    }

    /// The state, locked.
    pub fn state(&self) -> MutexGuard<'_, AsgState> {
        lock(&self.state)
    }
}

#[async_trait]
impl AutoScaling for FakeAutoScaling {
    async fn membership(&self, instance_id: &str) -> Result<Option<AsgMembership>, TaskError> {
        Ok(self
            .enter("membership", instance_id)?
            .members
            .get(instance_id)
            .cloned())
    }

    async fn detach(&self, instance_id: &str, group: &str) -> Result<(), TaskError> {
        let mut s = self.enter("detach", instance_id)?;
        s.detached.push((instance_id.into(), group.into()));
        s.members.remove(instance_id);
        Ok(())
    }

    async fn set_scale_in_protection(
        &self,
        instance_id: &str,
        _group: &str,
        protected: bool,
    ) -> Result<(), TaskError> {
        let mut s = self.enter("set_scale_in_protection", instance_id)?;
        let m = s
            .members
            .get_mut(instance_id)
            .ok_or_else(|| not_found(instance_id))?;
        m.protected_from_scale_in = protected;
        Ok(())
    }

    async fn enter_standby(&self, instance_id: &str, _group: &str) -> Result<(), TaskError> {
        let mut s = self.enter("enter_standby", instance_id)?;
        let m = s
            .members
            .get_mut(instance_id)
            .ok_or_else(|| not_found(instance_id))?;
        m.lifecycle_state = "Standby".into();
        Ok(())
    }

    async fn exit_standby(&self, instance_id: &str, _group: &str) -> Result<(), TaskError> {
        let mut s = self.enter("exit_standby", instance_id)?;
        let m = s
            .members
            .get_mut(instance_id)
            .ok_or_else(|| not_found(instance_id))?;
        m.lifecycle_state = "InService".into();
        Ok(())
    }

    async fn group_exists(&self, group: &str) -> Result<bool, TaskError> {
        Ok(self.state().groups.contains(group))
    }

    async fn attach(&self, instance_id: &str, group: &str) -> Result<(), TaskError> {
        let mut s = self.state();
        if !s.groups.contains(group) {
            return Err(not_found(group));
        }
        s.attached.push((instance_id.into(), group.into()));
        *s.desired.entry(group.into()).or_default() += 1;
        s.members.insert(
            instance_id.into(),
            AsgMembership {
                group: group.into(),
                lifecycle_state: "InService".into(),
                protected_from_scale_in: false,
            },
        );
        Ok(())
    }

    async fn desired_capacity(&self, group: &str) -> Result<Option<i32>, TaskError> {
        let s = self.state();
        if !s.groups.contains(group) {
            return Ok(None);
        }
        Ok(Some(s.desired.get(group).copied().unwrap_or_default()))
    }
}

/// A target group held by the fake.
#[derive(Debug, Default, Clone)]
pub struct FakeTargetGroup {
    /// Its VPC.
    pub vpc_id: String,
    /// Registered ports per instance.
    pub targets: BTreeMap<String, BTreeSet<i32>>,
}

/// A fake Elastic Load Balancing.
#[derive(Debug, Default)]
pub struct FakeLoadBalancing {
    /// Target groups by ARN.
    pub groups: Mutex<BTreeMap<String, FakeTargetGroup>>,
}

impl FakeLoadBalancing {
    /// Registers an instance in a target group (created if new).
    pub fn with_registration(
        self,
        arn: &str,
        vpc_id: &str,
        instance_id: &str,
        ports: &[i32],
    ) -> Self {
        {
            let mut g = lock(&self.groups);
            let tg = g.entry(arn.into()).or_default();
            tg.vpc_id = vpc_id.into();
            tg.targets
                .entry(instance_id.into())
                .or_default()
                .extend(ports.iter().copied());
        }
        self
    }

    /// The ports of an instance in a target group.
    pub fn ports(&self, arn: &str, instance_id: &str) -> Vec<i32> {
        lock(&self.groups)
            .get(arn)
            .and_then(|g| g.targets.get(instance_id))
            .map(|p| p.iter().copied().collect())
            .unwrap_or_default()
    }
}

#[async_trait]
impl LoadBalancing for FakeLoadBalancing {
    async fn registrations(
        &self,
        instance_id: &str,
        vpc_ids: &[String],
    ) -> Result<Vec<Registration>, TaskError> {
        Ok(lock(&self.groups)
            .iter()
            .filter(|(_, g)| vpc_ids.contains(&g.vpc_id))
            .filter_map(|(arn, g)| {
                let ports = g.targets.get(instance_id).filter(|p| !p.is_empty())?;
                Some(Registration {
                    target_group_arn: arn.clone(),
                    ports: ports.iter().copied().collect(),
                })
            })
            .collect())
    }

    async fn registered_ports(
        &self,
        target_group_arn: &str,
        instance_id: &str,
    ) -> Result<Option<Vec<i32>>, TaskError> {
        Ok(lock(&self.groups).get(target_group_arn).map(|g| {
            g.targets
                .get(instance_id)
                .map(|p| p.iter().copied().collect())
                .unwrap_or_default()
        }))
    }

    async fn deregister(
        &self,
        target_group_arn: &str,
        instance_id: &str,
        ports: &[i32],
    ) -> Result<(), TaskError> {
        let mut g = lock(&self.groups);
        let tg = g
            .get_mut(target_group_arn)
            .ok_or_else(|| not_found(target_group_arn))?;
        if let Some(p) = tg.targets.get_mut(instance_id) {
            for port in ports {
                p.remove(port);
            }
        }
        Ok(())
    }

    async fn register(
        &self,
        target_group_arn: &str,
        instance_id: &str,
        ports: &[i32],
    ) -> Result<(), TaskError> {
        let mut g = lock(&self.groups);
        let tg = g
            .get_mut(target_group_arn)
            .ok_or_else(|| not_found(target_group_arn))?;
        tg.targets
            .entry(instance_id.into())
            .or_default()
            .extend(ports.iter().copied());
        Ok(())
    }
}
