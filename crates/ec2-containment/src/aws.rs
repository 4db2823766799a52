//! The AWS adapters behind the capability traits, one per SDK client.
//!
//! Each adapter is built from the `SdkConfig` the `SessionProvider` hands out for the finding's
//! account and region, so every call runs as the remediation role in the member account.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_ec2 as ec2;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use ec2::types::{
    AttributeBooleanValue, AttributeValue, ConnectionTrackingSpecificationRequest, Filter,
    InstanceAttributeName, IpPermission, IpRange, Ipv6Range, PortRange, PrefixListId, ResourceType,
    RuleAction, Tag, TagSpecification, UserIdGroupPair,
};
use responder_aws::classify_sdk_error;
use responder_aws::errors::{error_code, is_dry_run_success};
use responder_core::{markers, names, TaskError};

use crate::caps::Ec2Isolation;
use crate::model::{
    AclEntry, ConnTracking, GroupRole, GroupRule, Instance, InstanceAttributes, Interface,
    MetadataOptions, NetworkAcl, Peer, SecurityGroup, VpcEndpoint,
};

/// Maps the result of a call that may run with `DryRun=true`: `Ok(None)` when EC2 answered
/// `DryRunOperation` (permitted, nothing changed); `UnauthorizedOperation` becomes
/// `Remediation.AccessDenied` through [`classify_sdk_error`].
fn dry_run_result<T, E, R>(
    what: &str,
    dry_run: bool,
    res: Result<T, SdkError<E, R>>,
) -> Result<Option<T>, TaskError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match res {
        Ok(v) => Ok(Some(v)),
        Err(e) if dry_run && is_dry_run_success(&e) => Ok(None),
        Err(e) => Err(classify_sdk_error(what, &e)),
    }
}

fn tags_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

fn flatten_rules(egress: bool, perms: &[IpPermission]) -> Vec<GroupRule> {
    let mut out = Vec::new();
    for p in perms {
        let protocol = p.ip_protocol().unwrap_or("-1").to_string();
        let mut push = |peer: Peer| {
            out.push(GroupRule {
                egress,
                protocol: protocol.clone(),
                from_port: p.from_port(),
                to_port: p.to_port(),
                peer,
            })
        };
        for r in p.ip_ranges() {
            if let Some(c) = r.cidr_ip() {
                push(Peer::Cidr(c.to_string()));
            }
        }
        for r in p.ipv6_ranges() {
            if let Some(c) = r.cidr_ipv6() {
                push(Peer::Cidr6(c.to_string()));
            }
        }
        for g in p.user_id_group_pairs() {
            if let Some(id) = g.group_id() {
                push(Peer::Group(id.to_string()));
            }
        }
        for l in p.prefix_list_ids() {
            if let Some(id) = l.prefix_list_id() {
                push(Peer::PrefixList(id.to_string()));
            }
        }
    }
    out
}

fn permission(rule: &GroupRule) -> IpPermission {
    let mut b = IpPermission::builder()
        .ip_protocol(&rule.protocol)
        .set_from_port(rule.from_port)
        .set_to_port(rule.to_port);
    b = match &rule.peer {
        Peer::Cidr(c) => b.ip_ranges(IpRange::builder().cidr_ip(c).build()),
        Peer::Cidr6(c) => b.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(c).build()),
        Peer::Group(g) => b.user_id_group_pairs(UserIdGroupPair::builder().group_id(g).build()),
        Peer::PrefixList(l) => b.prefix_list_ids(PrefixListId::builder().prefix_list_id(l).build()),
    };
    b.build()
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// [`Ec2Isolation`] over the EC2 client.
#[derive(Debug, Clone)]
pub struct Ec2Adapter {
    client: ec2::Client,
}

impl Ec2Adapter {
    /// An adapter over a client.
    pub fn new(client: ec2::Client) -> Self {
        Ec2Adapter { client }
    }

    /// An adapter for a session's configuration.
    pub fn from_conf(conf: &SdkConfig) -> Self {
        Self::new(ec2::Client::new(conf))
    }

    async fn groups_where(
        &self,
        filters: Vec<Filter>,
    ) -> Result<Vec<(String, SecurityGroup)>, TaskError> {
        let out = self
            .client
            .describe_security_groups()
            .set_filters(Some(filters))
            .send()
            .await
            .map_err(|e| classify_sdk_error("ec2:DescribeSecurityGroups", &e))?;
        Ok(out
            .security_groups()
            .iter()
            .filter_map(|g| {
                let mut rules = flatten_rules(false, g.ip_permissions());
                rules.extend(flatten_rules(true, g.ip_permissions_egress()));
                Some((
                    g.group_name().unwrap_or_default().to_string(),
                    SecurityGroup {
                        id: g.group_id()?.to_string(),
                        vpc_id: g.vpc_id().unwrap_or_default().to_string(),
                        rules,
                    },
                ))
            })
            .collect())
    }
}

#[async_trait]
impl Ec2Isolation for Ec2Adapter {
    async fn describe_instance(&self, instance_id: &str) -> Result<Option<Instance>, TaskError> {
        let Some(inst) = responder_aws::ec2::describe_instance(&self.client, instance_id).await?
        else {
            return Ok(None);
        };
        let mut enis: Vec<(i32, String)> = inst
            .network_interfaces()
            .iter()
            .filter_map(|n| {
                let index = n
                    .attachment()
                    .and_then(|a| a.device_index())
                    .unwrap_or(i32::MAX);
                Some((index, n.network_interface_id()?.to_string()))
            })
            .collect();
        enis.sort();
        Ok(Some(Instance {
            id: instance_id.to_string(),
            state: inst
                .state()
                .and_then(|s| s.name())
                .map(|n| n.as_str().to_string()),
            interface_ids: enis.into_iter().map(|(_, id)| id).collect(),
            tags: tags_map(inst.tags()),
            metadata: inst.metadata_options().map(|m| MetadataOptions {
                http_tokens: m
                    .http_tokens()
                    .map(|t| t.as_str().to_string())
                    .unwrap_or_else(|| "optional".into()),
                hop_limit: m.http_put_response_hop_limit().unwrap_or(1),
            }),
        }))
    }

    async fn instance_attributes(
        &self,
        instance_id: &str,
    ) -> Result<InstanceAttributes, TaskError> {
        let what = "ec2:DescribeInstanceAttribute";
        let dat = self
            .client
            .describe_instance_attribute()
            .instance_id(instance_id)
            .attribute(InstanceAttributeName::DisableApiTermination)
            .send()
            .await
            .map_err(|e| classify_sdk_error(what, &e))?;
        let isb = self
            .client
            .describe_instance_attribute()
            .instance_id(instance_id)
            .attribute(InstanceAttributeName::InstanceInitiatedShutdownBehavior)
            .send()
            .await
            .map_err(|e| classify_sdk_error(what, &e))?;
        Ok(InstanceAttributes {
            termination_protection: dat
                .disable_api_termination()
                .and_then(|v| v.value())
                .unwrap_or(false),
            // EC2's default for EBS-backed instances.
            shutdown_behavior: isb
                .instance_initiated_shutdown_behavior()
                .and_then(|v| v.value())
                .unwrap_or("stop")
                .to_string(),
        })
    }

    async fn instance_interfaces(&self, instance_id: &str) -> Result<Vec<Interface>, TaskError> {
        let out = self
            .client
            .describe_network_interfaces()
            .filters(
                Filter::builder()
                    .name("attachment.instance-id")
                    .values(instance_id)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| classify_sdk_error("ec2:DescribeNetworkInterfaces", &e))?;
        Ok(interfaces_of(&out))
    }

    async fn describe_interfaces(&self, ids: &[String]) -> Result<Vec<Interface>, TaskError> {
        let out = self
            .client
            .describe_network_interfaces()
            .set_network_interface_ids(Some(ids.to_vec()))
            .send()
            .await
            .map_err(|e| classify_sdk_error("ec2:DescribeNetworkInterfaces", &e))?;
        Ok(interfaces_of(&out))
    }

    async fn find_group(
        &self,
        vpc_id: &str,
        role: GroupRole,
    ) -> Result<Option<SecurityGroup>, TaskError> {
        // By name only: a group name is unique in its VPC and cannot be changed, whereas a
        // role tag can be put on any group by whoever may tag, and the quarantine group's
        // rules are rewritten by containment.
        let by_name = self
            .groups_where(vec![
                filter("vpc-id", vpc_id),
                filter("group-name", role.group_name()),
            ])
            .await?;
        Ok(by_name.into_iter().map(|(_, g)| g).next())
    }

    async fn find_groups(
        &self,
        vpc_id: &str,
    ) -> Result<(Option<SecurityGroup>, Option<SecurityGroup>), TaskError> {
        // Both roles in one call: a filter's values are ORed ("Filter", EC2 API Reference).
        let found = self
            .groups_where(vec![
                filter("vpc-id", vpc_id),
                Filter::builder()
                    .name("group-name")
                    .values(GroupRole::Quarantine.group_name())
                    .values(GroupRole::Untrack.group_name())
                    .build(),
            ])
            .await?;
        let of = |role: GroupRole| {
            found
                .iter()
                .find(|(name, g)| name == role.group_name() && g.vpc_id == vpc_id)
                .map(|(_, g)| g.clone())
        };
        Ok((of(GroupRole::Quarantine), of(GroupRole::Untrack)))
    }

    async fn create_group(
        &self,
        vpc_id: &str,
        role: GroupRole,
        dry_run: bool,
    ) -> Result<Option<String>, TaskError> {
        let res = self
            .client
            .create_security_group()
            .group_name(role.group_name())
            .description(role.description())
            .vpc_id(vpc_id)
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::SecurityGroup)
                    .tags(Tag::builder().key("Name").value(role.group_name()).build())
                    .tags(
                        Tag::builder()
                            .key(markers::TAG_GROUP_ROLE)
                            .value(role.tag_value())
                            .build(),
                    )
                    .build(),
            )
            .dry_run(dry_run)
            .send()
            .await;
        if let Err(e) = &res {
            // A concurrent execution isolating another instance of the VPC created it first.
            if error_code(e) == Some("InvalidGroup.Duplicate") {
                return Ok(self.find_group(vpc_id, role).await?.map(|g| g.id));
            }
        }
        match dry_run_result("ec2:CreateSecurityGroup", dry_run, res)? {
            None => Ok(None),
            Some(out) => out
                .group_id()
                .map(|id| Some(id.to_string()))
                .ok_or_else(|| {
                    TaskError::new(
                        names::REMEDIATION_FAILED,
                        "CreateSecurityGroup returned no group id",
                    )
                }),
        }
    }

    async fn revoke_rules(&self, group_id: &str, rules: &[GroupRule]) -> Result<(), TaskError> {
        for rule in rules {
            let res = if rule.egress {
                self.client
                    .revoke_security_group_egress()
                    .group_id(group_id)
                    .ip_permissions(permission(rule))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        (
                            error_code(&e) == Some("InvalidPermission.NotFound"),
                            classify_sdk_error("ec2:RevokeSecurityGroupEgress", &e),
                        )
                    })
            } else {
                self.client
                    .revoke_security_group_ingress()
                    .group_id(group_id)
                    .ip_permissions(permission(rule))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        (
                            error_code(&e) == Some("InvalidPermission.NotFound"),
                            classify_sdk_error("ec2:RevokeSecurityGroupIngress", &e),
                        )
                    })
            };
            match res {
                // Already gone: a repeat of an interrupted run.
                Ok(()) | Err((true, _)) => {}
                Err((false, e)) => return Err(e),
            }
        }
        Ok(())
    }

    async fn authorize_rules(&self, group_id: &str, rules: &[GroupRule]) -> Result<(), TaskError> {
        let (egress, ingress): (Vec<&GroupRule>, Vec<&GroupRule>) =
            rules.iter().partition(|r| r.egress);
        if !ingress.is_empty() {
            let res = self
                .client
                .authorize_security_group_ingress()
                .group_id(group_id)
                .set_ip_permissions(Some(ingress.iter().map(|r| permission(r)).collect()))
                .send()
                .await;
            if let Err(e) = res {
                if error_code(&e) != Some("InvalidPermission.Duplicate") {
                    return Err(classify_sdk_error("ec2:AuthorizeSecurityGroupIngress", &e));
                }
            }
        }
        if !egress.is_empty() {
            let res = self
                .client
                .authorize_security_group_egress()
                .group_id(group_id)
                .set_ip_permissions(Some(egress.iter().map(|r| permission(r)).collect()))
                .send()
                .await;
            if let Err(e) = res {
                if error_code(&e) != Some("InvalidPermission.Duplicate") {
                    return Err(classify_sdk_error("ec2:AuthorizeSecurityGroupEgress", &e));
                }
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
        let res = self
            .client
            .modify_network_interface_attribute()
            .network_interface_id(interface_id)
            .set_groups(Some(group_ids.to_vec()))
            .dry_run(dry_run)
            .send()
            .await;
        dry_run_result("ec2:ModifyNetworkInterfaceAttribute", dry_run, res).map(|_| ())
    }

    async fn set_termination_protection(
        &self,
        instance_id: &str,
        enabled: bool,
        dry_run: bool,
    ) -> Result<(), TaskError> {
        let res = self
            .client
            .modify_instance_attribute()
            .instance_id(instance_id)
            .disable_api_termination(AttributeBooleanValue::builder().value(enabled).build())
            .dry_run(dry_run)
            .send()
            .await;
        dry_run_result("ec2:ModifyInstanceAttribute", dry_run, res).map(|_| ())
    }

    async fn set_shutdown_behavior(
        &self,
        instance_id: &str,
        behavior: &str,
        dry_run: bool,
    ) -> Result<(), TaskError> {
        let res = self
            .client
            .modify_instance_attribute()
            .instance_id(instance_id)
            .instance_initiated_shutdown_behavior(AttributeValue::builder().value(behavior).build())
            .dry_run(dry_run)
            .send()
            .await;
        dry_run_result("ec2:ModifyInstanceAttribute", dry_run, res).map(|_| ())
    }

    async fn create_tags(
        &self,
        resource_id: &str,
        tags: &[(String, String)],
        dry_run: bool,
    ) -> Result<(), TaskError> {
        let res = self
            .client
            .create_tags()
            .resources(resource_id)
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .dry_run(dry_run)
            .send()
            .await;
        dry_run_result("ec2:CreateTags", dry_run, res).map(|_| ())
    }

    async fn delete_tags(
        &self,
        resource_id: &str,
        keys: &[String],
        dry_run: bool,
    ) -> Result<(), TaskError> {
        let res = self
            .client
            .delete_tags()
            .resources(resource_id)
            .set_tags(Some(
                keys.iter().map(|k| Tag::builder().key(k).build()).collect(),
            ))
            .dry_run(dry_run)
            .send()
            .await;
        dry_run_result("ec2:DeleteTags", dry_run, res).map(|_| ())
    }

    async fn network_acls(&self, vpc_id: &str) -> Result<Vec<NetworkAcl>, TaskError> {
        let mut acls = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_network_acls()
                .filters(filter("vpc-id", vpc_id))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify_sdk_error("ec2:DescribeNetworkAcls", &e))?;
            for a in out.network_acls() {
                let Some(id) = a.network_acl_id() else {
                    continue;
                };
                acls.push(NetworkAcl {
                    id: id.to_string(),
                    vpc_id: a.vpc_id().unwrap_or(vpc_id).to_string(),
                    subnet_ids: a
                        .associations()
                        .iter()
                        .filter_map(|s| s.subnet_id().map(str::to_string))
                        .collect(),
                    entries: a
                        .entries()
                        .iter()
                        .filter_map(|e| {
                            Some(AclEntry {
                                egress: e.egress().unwrap_or(false),
                                rule_number: e.rule_number()?,
                                allow: e.rule_action() == Some(&RuleAction::Allow),
                                protocol: e.protocol().unwrap_or("-1").to_string(),
                                cidr: e.cidr_block().or_else(|| e.ipv6_cidr_block())?.to_string(),
                                ports: e.port_range().and_then(|p| Some((p.from()?, p.to()?))),
                            })
                        })
                        .collect(),
                });
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(acls)
    }

    async fn create_acl_entry(
        &self,
        acl_id: &str,
        entry: &AclEntry,
        dry_run: bool,
    ) -> Result<(), TaskError> {
        let mut req = self
            .client
            .create_network_acl_entry()
            .network_acl_id(acl_id)
            .rule_number(entry.rule_number)
            .egress(entry.egress)
            .protocol(&entry.protocol)
            .rule_action(if entry.allow {
                RuleAction::Allow
            } else {
                RuleAction::Deny
            })
            .dry_run(dry_run);
        req = if entry.cidr.contains(':') {
            req.ipv6_cidr_block(&entry.cidr)
        } else {
            req.cidr_block(&entry.cidr)
        };
        if let Some((from, to)) = entry.ports {
            req = req.port_range(PortRange::builder().from(from).to(to).build());
        }
        let res = req.send().await;
        dry_run_result("ec2:CreateNetworkAclEntry", dry_run, res).map(|_| ())
    }

    async fn delete_acl_entry(
        &self,
        acl_id: &str,
        egress: bool,
        rule_number: i32,
    ) -> Result<(), TaskError> {
        match self
            .client
            .delete_network_acl_entry()
            .network_acl_id(acl_id)
            .egress(egress)
            .rule_number(rule_number)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Already gone: a repeat of an interrupted rollback.
            Err(e) if error_code(&e) == Some("InvalidNetworkAclEntry.NotFound") => Ok(()),
            Err(e) => Err(classify_sdk_error("ec2:DeleteNetworkAclEntry", &e)),
        }
    }

    async fn vpc_endpoints(&self, vpc_id: &str) -> Result<Vec<VpcEndpoint>, TaskError> {
        let mut endpoints = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_vpc_endpoints()
                .filters(filter("vpc-id", vpc_id))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify_sdk_error("ec2:DescribeVpcEndpoints", &e))?;
            for e in out.vpc_endpoints() {
                let Some(id) = e.vpc_endpoint_id() else {
                    continue;
                };
                endpoints.push(VpcEndpoint {
                    id: id.to_string(),
                    service_name: e.service_name().unwrap_or_default().to_string(),
                    endpoint_type: e
                        .vpc_endpoint_type()
                        .map(|t| t.as_str().to_string())
                        .unwrap_or_default(),
                    state: e
                        .state()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    group_ids: e
                        .groups()
                        .iter()
                        .filter_map(|g| g.group_id().map(str::to_string))
                        .collect(),
                    subnet_ids: e.subnet_ids().to_vec(),
                    interface_ids: e.network_interface_ids().to_vec(),
                });
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(endpoints)
    }

    async fn set_metadata_options(
        &self,
        instance_id: &str,
        options: &MetadataOptions,
        dry_run: bool,
    ) -> Result<(), TaskError> {
        let res = self
            .client
            .modify_instance_metadata_options()
            .instance_id(instance_id)
            .http_tokens(ec2::types::HttpTokensState::from(
                options.http_tokens.as_str(),
            ))
            .http_put_response_hop_limit(options.hop_limit)
            .dry_run(dry_run)
            .send()
            .await;
        dry_run_result("ec2:ModifyInstanceMetadataOptions", dry_run, res).map(|_| ())
    }

    async fn set_connection_tracking(
        &self,
        interface_id: &str,
        timeouts: &ConnTracking,
        dry_run: bool,
    ) -> Result<(), TaskError> {
        let res = self
            .client
            .modify_network_interface_attribute()
            .network_interface_id(interface_id)
            .connection_tracking_specification(
                ConnectionTrackingSpecificationRequest::builder()
                    .set_tcp_established_timeout(timeouts.tcp_established)
                    .set_udp_stream_timeout(timeouts.udp_stream)
                    .set_udp_timeout(timeouts.udp)
                    .build(),
            )
            .dry_run(dry_run)
            .send()
            .await;
        dry_run_result("ec2:ModifyNetworkInterfaceAttribute", dry_run, res).map(|_| ())
    }
}

/// The interfaces of a `DescribeNetworkInterfaces` answer, with their groups, tags and
/// addresses (the primary private address first).
fn interfaces_of(
    out: &ec2::operation::describe_network_interfaces::DescribeNetworkInterfacesOutput,
) -> Vec<Interface> {
    out.network_interfaces()
        .iter()
        .filter_map(|n| {
            let mut ipv4: Vec<(bool, String)> = n
                .private_ip_addresses()
                .iter()
                .filter_map(|a| {
                    Some((
                        !a.primary().unwrap_or(false),
                        a.private_ip_address()?.to_string(),
                    ))
                })
                .collect();
            if ipv4.is_empty() {
                ipv4.extend(n.private_ip_address().map(|a| (false, a.to_string())));
            }
            ipv4.sort();
            Some(Interface {
                id: n.network_interface_id()?.to_string(),
                vpc_id: n.vpc_id().unwrap_or_default().to_string(),
                subnet_id: n.subnet_id().unwrap_or_default().to_string(),
                group_ids: n
                    .groups()
                    .iter()
                    .filter_map(|g| g.group_id().map(str::to_string))
                    .collect(),
                tags: tags_map(n.tag_set()),
                ipv4: ipv4.into_iter().map(|(_, a)| a).collect(),
                ipv6: n
                    .ipv6_addresses()
                    .iter()
                    .filter_map(|a| a.ipv6_address().map(str::to_string))
                    .collect(),
                conntrack: n.connection_tracking_configuration().map(|c| ConnTracking {
                    tcp_established: c.tcp_established_timeout(),
                    udp_stream: c.udp_stream_timeout(),
                    udp: c.udp_timeout(),
                }),
            })
        })
        .collect()
}

#[cfg(feature = "fleet")]
mod fleet;
#[cfg(feature = "fleet")]
pub use fleet::{AutoScalingAdapter, LoadBalancingAdapter, TargetGroupIndex};

#[cfg(test)]
mod tests;
