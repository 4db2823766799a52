//! Per-address deny entries in the network ACLs the instance's traffic crosses: the control
//! that cuts connections the security groups cannot.
//!
//! "When you change a security group rule, its tracked connections are not immediately
//! interrupted [...] To ensure that traffic is immediately interrupted [...] you can use a
//! network ACL for your subnet. Network ACLs are stateless [...] Adding a network ACL that
//! blocks traffic in either direction breaks existing connections" (EC2 User Guide, "Security
//! group connection tracking"). Connections through NAT gateways, load balancers, transit
//! gateway attachments, Network Firewall and VPC endpoints are tracked whatever the rules, so
//! a reverse shell through a NAT gateway survives the group swap; a deny entry stops its very
//! next packet.
//!
//! Where the entries go: a network ACL entry matches the address on the far side of the
//! subnet boundary (the source of inbound traffic, the destination of outbound traffic), and
//! ACLs are evaluated "when traffic enters and leaves the subnet, not as it is routed within a
//! subnet" (VPC User Guide, "Control subnet traffic with network access control lists"). An
//! entry naming the instance's own address in its own subnet's ACL therefore never matches
//! its traffic. The entries go into the ACLs of the VPC's OTHER subnets, which the instance's
//! packets enter and its replies leave: the subnets of the NAT gateways, load balancers,
//! transit gateway attachments, endpoints and every other instance. One inbound entry (source
//! = the address) and one outbound entry (destination = the address) per address; they touch
//! only the contained instance, even in an ACL shared by many subnets.
//!
//! Where the VPC has Session Manager endpoints, the ACLs of their subnets first allow the
//! instance's TCP 443 in and the replies out, so Session Manager keeps working.
//!
//! The entries take the lowest free rule numbers, below the ACL's first allow entry, so they
//! are evaluated first ("starting with the lowest numbered rule [...] If the traffic matches
//! a rule, the rule is applied"). An ACL with no free number there, or at its entry quota (20
//! per direction by default, `NetworkAclEntryLimitExceeded`), is reported as
//! `Remediation.NetworkAclFull`, never skipped in silence.

use std::collections::{BTreeMap, BTreeSet};

use responder_core::{names, ActionRecord, Outcome, TaskError};
use serde_json::json;

use super::groups::{SessionManager, VpcPlan};
use super::{change, Run};
use crate::model::{AclEntry, Interface, NetworkAcl};
use crate::record::{self, AclEntryRef};

/// The highest rule number an entry may have (32767 is the default entry).
const MAX_RULE: i32 = 32766;
/// TCP, as network ACLs name it.
const TCP: &str = "6";

/// The entries one address needs in one ACL, in the order they must be evaluated.
fn wanted_for(address: &str, session_manager: bool) -> Vec<AclEntry> {
    let entry = |egress: bool, allow: bool, protocol: &str, ports: Option<(i32, i32)>| AclEntry {
        egress,
        rule_number: 0,
        allow,
        protocol: protocol.to_string(),
        cidr: address.to_string(),
        ports,
    };
    let mut out = Vec::new();
    if session_manager {
        // Into the endpoints' subnet: the instance's HTTPS. Out of it: the replies, to the
        // instance's ephemeral ports.
        out.push(entry(false, true, TCP, Some((443, 443))));
        out.push(entry(true, true, TCP, Some((1024, 65535))));
    }
    out.push(entry(false, false, "-1", None));
    out.push(entry(true, false, "-1", None));
    out
}

/// Whether an ACL entry's CIDR covers an address given as a host CIDR (`a/32`, `a/128`).
fn cidr_contains(cidr: &str, host: &str) -> bool {
    let addr = host.split('/').next().unwrap_or(host);
    match (
        cidr.parse::<ipnet::IpNet>(),
        addr.parse::<std::net::IpAddr>(),
    ) {
        (Ok(net), Ok(ip)) => net.contains(&ip),
        // An entry this code cannot read is assumed to match: the deny must come first.
        _ => true,
    }
}

/// The addresses of an interface as ACL CIDRs.
fn addresses(iface: &Interface) -> Vec<String> {
    iface
        .ipv4
        .iter()
        .map(|a| format!("{a}/32"))
        .chain(iface.ipv6.iter().map(|a| format!("{a}/128")))
        .collect()
}

/// What to add to the ACLs of one VPC.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct AclPlan {
    /// Entries to create, per interface.
    pub create: BTreeMap<String, Vec<(String, AclEntry)>>,
    /// Entries already in place, per interface.
    pub present: BTreeMap<String, Vec<AclEntryRef>>,
    /// ACL directions without room: `(acl, egress, why)`.
    pub full: Vec<(String, bool, String)>,
    /// The ACLs the entries go into.
    pub acls: Vec<String>,
}

/// Works out the entries for the interfaces of one VPC. Pure: the tests drive it directly.
pub(crate) fn plan(
    acls: &[NetworkAcl],
    interfaces: &[&Interface],
    session_manager_subnets: &BTreeSet<String>,
) -> AclPlan {
    let own: BTreeSet<&str> = interfaces.iter().map(|i| i.subnet_id.as_str()).collect();
    let mut out = AclPlan::default();
    // Entries recorded by this instance's interfaces are this project's own, not the
    // customer's allow entries the denies must precede.
    let ours: BTreeSet<AclEntryRef> = interfaces
        .iter()
        .flat_map(|i| record::decode_acl_entries(&i.tags).unwrap_or_default())
        .collect();
    for acl in acls {
        if !acl.subnet_ids.iter().any(|s| !own.contains(s.as_str())) {
            continue;
        }
        out.acls.push(acl.id.clone());
        let sm_here = acl
            .subnet_ids
            .iter()
            .any(|s| session_manager_subnets.contains(s));
        for egress in [false, true] {
            let entries: Vec<&AclEntry> =
                acl.entries.iter().filter(|e| e.egress == egress).collect();
            let mut taken: BTreeSet<i32> = entries.iter().map(|e| e.rule_number).collect();
            let is_ours = |e: &AclEntry| {
                ours.contains(&AclEntryRef {
                    acl_id: acl.id.clone(),
                    egress,
                    rule_number: e.rule_number,
                })
            };
            for iface in interfaces {
                for addr in addresses(iface) {
                    // Every entry of the address must come before the customer's first allow
                    // entry that matches the address...
                    let limit = entries
                        .iter()
                        .filter(|e| e.allow && !is_ours(e) && e.rule_number <= MAX_RULE)
                        .filter(|e| cidr_contains(&e.cidr, &addr))
                        .map(|e| e.rule_number)
                        .min()
                        .unwrap_or(MAX_RULE + 1);
                    // ...and after the address's entry before it (the allows before the deny).
                    let mut floor = 1;
                    for want in wanted_for(&addr, sm_here)
                        .into_iter()
                        .filter(|w| w.egress == egress)
                    {
                        if let Some(found) = entries.iter().find(|e| {
                            e.same_rule(&want) && e.rule_number < limit && e.rule_number >= floor
                        }) {
                            floor = found.rule_number + 1;
                            out.present
                                .entry(iface.id.clone())
                                .or_default()
                                .push(AclEntryRef {
                                    acl_id: acl.id.clone(),
                                    egress,
                                    rule_number: found.rule_number,
                                });
                            continue;
                        }
                        let Some(n) = (floor..limit).find(|n| !taken.contains(n)) else {
                            let why = if limit <= MAX_RULE {
                                format!("no free rule number below its first allow entry ({limit})")
                            } else {
                                "no free rule number".to_string()
                            };
                            if !out
                                .full
                                .iter()
                                .any(|(a, e, _)| a == &acl.id && *e == egress)
                            {
                                out.full.push((acl.id.clone(), egress, why));
                            }
                            break;
                        };
                        taken.insert(n);
                        floor = n + 1;
                        out.create.entry(iface.id.clone()).or_default().push((
                            acl.id.clone(),
                            AclEntry {
                                rule_number: n,
                                ..want
                            },
                        ));
                    }
                }
            }
        }
    }
    out
}

fn direction(egress: bool) -> &'static str {
    if egress {
        "outbound"
    } else {
        "inbound"
    }
}

/// Adds the deny entries for every interface, VPC by VPC.
pub(super) async fn deny_addresses(
    run: &mut Run<'_>,
    interfaces: &[Interface],
    plans: &BTreeMap<String, VpcPlan>,
) -> Result<(), TaskError> {
    if !run.cfg.network_acl_deny {
        run.report.push(ActionRecord::new(
            "deny-in-network-acls",
            run.id().to_string(),
            Outcome::Skipped,
            "network ACL entries are turned off (NETWORK_ACL_DENY=false)",
        ));
        return Ok(());
    }
    let mut evidence = serde_json::Map::new();
    for (vpc, vpc_plan) in plans {
        let in_vpc: Vec<&Interface> = interfaces.iter().filter(|i| &i.vpc_id == vpc).collect();
        let acls = run.ec2.network_acls(vpc).await?;
        let sm_subnets: BTreeSet<String> = match &vpc_plan.session_manager {
            SessionManager::Available { subnets, .. } => subnets.iter().cloned().collect(),
            SessionManager::Unavailable(_) => BTreeSet::new(),
        };
        let p = plan(&acls, &in_vpc, &sm_subnets);
        if p.acls.is_empty() {
            run.report.push(ActionRecord::new(
                "deny-in-network-acls",
                vpc,
                Outcome::Skipped,
                "the VPC has no subnet other than the instance's: there is no network ACL its traffic crosses",
            ));
            run.report.caveat(format!(
                "No network ACL entry was added in {vpc}: the instance's subnets are the VPC's only subnets, so connections AWS tracks automatically (through a NAT gateway, load balancer or endpoint in the same subnet) and ICMP continue until idle."
            ));
            continue;
        }
        evidence.insert(vpc.clone(), json!(p.acls));
        apply(run, &in_vpc, &p).await?;
        for (acl, egress, why) in &p.full {
            run.report.fall_short(
                names::REMEDIATION_NETWORK_ACL_FULL,
                "deny-in-network-acls",
                format!(
                    "network ACL {acl} has no room for the {} deny entries of instance {}: {why}. The interfaces are in the quarantine group, but connections AWS tracks automatically through that ACL's subnets survive until idle. Free rule numbers below its first allow entry or raise its entry quota, then run containment again.",
                    direction(*egress),
                    run.id()
                ),
            );
        }
    }
    run.report
        .evidence
        .insert("networkAcls".into(), serde_json::Value::Object(evidence));
    Ok(())
}

/// Records, then creates, the planned entries of each interface.
async fn apply(run: &mut Run<'_>, interfaces: &[&Interface], p: &AclPlan) -> Result<(), TaskError> {
    let dry = run.dry();
    for iface in interfaces {
        let present = p.present.get(&iface.id).cloned().unwrap_or_default();
        let create = p.create.get(&iface.id).cloned().unwrap_or_default();
        if create.is_empty() {
            if !present.is_empty() {
                run.report.push(
                    ActionRecord::new(
                        "deny-in-network-acls",
                        &iface.id,
                        Outcome::Unchanged,
                        format!("{} entries for its addresses are in place", present.len()),
                    )
                    .with_states(json!(present), json!(present)),
                );
            }
            continue;
        }
        // The record first, so a rollback finds every entry even if this run stops halfway.
        let mut recorded = record::decode_acl_entries(&iface.tags).unwrap_or_default();
        let new_refs: Vec<AclEntryRef> = create
            .iter()
            .map(|(acl, e)| AclEntryRef {
                acl_id: acl.clone(),
                egress: e.egress,
                rule_number: e.rule_number,
            })
            .collect();
        for r in present.iter().chain(new_refs.iter()) {
            if !recorded.contains(r) {
                recorded.push(r.clone());
            }
        }
        run.ec2
            .create_tags(&iface.id, &record::encode_acl_entries(&recorded), dry)
            .await?;
        let mut made = Vec::new();
        if dry {
            // Reported, not probed: not every implementation of CreateNetworkAclEntry honours
            // DryRun, and a dry run must change nothing whatever the endpoint does.
            made.extend(
                create
                    .iter()
                    .map(|(acl, entry)| json!({ "networkAclId": acl, "entry": entry })),
            );
        }
        for (acl, entry) in create.iter().filter(|_| !dry) {
            match run.ec2.create_acl_entry(acl, entry, false).await {
                Ok(()) => made.push(json!({ "networkAclId": acl, "entry": entry })),
                Err(e) if e.has_aws_code("NetworkAclEntryLimitExceeded") => {
                    run.report.fall_short(
                        names::REMEDIATION_NETWORK_ACL_FULL,
                        "deny-in-network-acls",
                        format!(
                            "network ACL {acl} is at its entry quota ({}): the {} entry for {} was not added. The interfaces are in the quarantine group, but connections AWS tracks automatically through that ACL's subnets survive until idle. Free entries or raise the quota (20 per direction by default, 40 at most), then run containment again.",
                            e.message,
                            direction(entry.egress),
                            entry.cidr
                        ),
                    );
                }
                // Another containment in the VPC took the number meanwhile: the next attempt
                // plans again from what is there.
                Err(e) if e.has_aws_code("NetworkAclEntryAlreadyExists") => {
                    return Err(TaskError::new(
                        names::REMEDIATION_TRANSIENT,
                        format!(
                            "rule {} of network ACL {acl} was taken meanwhile: {}",
                            entry.rule_number, e.message
                        ),
                    ))
                }
                Err(e) => return Err(e),
            }
        }
        run.report.push(
            ActionRecord::new(
                "deny-in-network-acls",
                &iface.id,
                change(dry),
                format!(
                    "{} {} network ACL entries for its addresses ({} in place already)",
                    if dry { "would add" } else { "added" },
                    made.len(),
                    present.len()
                ),
            )
            .with_states(json!(present), json!(made)),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(egress: bool, n: i32, allow: bool, cidr: &str) -> AclEntry {
        AclEntry {
            egress,
            rule_number: n,
            allow,
            protocol: "-1".into(),
            cidr: cidr.into(),
            ports: None,
        }
    }

    fn default_acl(id: &str, subnets: &[&str]) -> NetworkAcl {
        NetworkAcl {
            id: id.into(),
            vpc_id: "vpc-1".into(),
            subnet_ids: subnets.iter().map(|s| s.to_string()).collect(),
            entries: vec![
                entry(false, 100, true, "0.0.0.0/0"),
                entry(false, 32767, false, "0.0.0.0/0"),
                entry(true, 100, true, "0.0.0.0/0"),
                entry(true, 32767, false, "0.0.0.0/0"),
            ],
        }
    }

    fn iface(subnet: &str, ipv4: &[&str], ipv6: &[&str]) -> Interface {
        Interface {
            id: "eni-1".into(),
            vpc_id: "vpc-1".into(),
            subnet_id: subnet.into(),
            ipv4: ipv4.iter().map(|s| s.to_string()).collect(),
            ipv6: ipv6.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn summary(p: &AclPlan) -> Vec<String> {
        p.create
            .values()
            .flatten()
            .map(|(acl, e)| {
                format!(
                    "{acl} {} {} {} {} {}",
                    if e.egress { "out" } else { "in" },
                    e.rule_number,
                    if e.allow { "allow" } else { "deny" },
                    e.protocol,
                    e.cidr
                )
            })
            .collect()
    }

    #[test]
    fn entries_go_into_the_acls_of_other_subnets_below_the_first_allow() {
        let acls = vec![
            // Only the instance's own subnet: its entries would never match the instance.
            default_acl("acl-own", &["subnet-a"]),
            // Shared by the instance's subnet and the NAT gateway's.
            default_acl("acl-shared", &["subnet-a", "subnet-nat"]),
        ];
        let i = iface("subnet-a", &["10.0.1.5"], &["2001:db8::5"]);
        let p = plan(&acls, &[&i], &BTreeSet::new());
        assert_eq!(p.acls, vec!["acl-shared"]);
        assert_eq!(
            summary(&p),
            vec![
                "acl-shared in 1 deny -1 10.0.1.5/32",
                "acl-shared in 2 deny -1 2001:db8::5/128",
                "acl-shared out 1 deny -1 10.0.1.5/32",
                "acl-shared out 2 deny -1 2001:db8::5/128",
            ]
        );
        assert!(p.full.is_empty());
    }

    #[test]
    fn session_manager_subnets_allow_https_before_the_deny() {
        let acls = vec![default_acl("acl-ep", &["subnet-endpoints"])];
        let i = iface("subnet-a", &["10.0.1.5"], &[]);
        let sm: BTreeSet<String> = ["subnet-endpoints".to_string()].into();
        let p = plan(&acls, &[&i], &sm);
        let created: Vec<String> = p.create["eni-1"]
            .iter()
            .map(|(_, e)| format!("{} {} {} {:?}", e.rule_number, e.egress, e.allow, e.ports))
            .collect();
        assert_eq!(
            created,
            vec![
                "1 false true Some((443, 443))",
                "2 false false None",
                "1 true true Some((1024, 65535))",
                "2 true false None",
            ]
        );
    }

    #[test]
    fn taken_numbers_are_skipped_and_existing_entries_are_reused() {
        let mut acl = default_acl("acl-x", &["subnet-b"]);
        acl.entries.push(entry(false, 1, false, "192.0.2.0/24"));
        // A previous run's entry, recorded on the interface.
        acl.entries.push(entry(true, 3, false, "10.0.1.5/32"));
        let mut i = iface("subnet-a", &["10.0.1.5"], &[]);
        i.tags = record::encode_acl_entries(&[AclEntryRef {
            acl_id: "acl-x".into(),
            egress: true,
            rule_number: 3,
        }])
        .into_iter()
        .collect();
        let p = plan(&[acl], &[&i], &BTreeSet::new());
        assert_eq!(summary(&p), vec!["acl-x in 2 deny -1 10.0.1.5/32"]);
        assert_eq!(
            p.present["eni-1"],
            vec![AclEntryRef {
                acl_id: "acl-x".into(),
                egress: true,
                rule_number: 3
            }]
        );
    }

    #[test]
    fn only_allow_entries_covering_the_address_bound_the_rule_numbers() {
        let mut acl = default_acl("acl-x", &["subnet-b"]);
        // Another instance's Session Manager allow: it cannot match 10.0.1.5.
        acl.entries.push(entry(false, 1, true, "10.0.9.9/32"));
        let i = iface("subnet-a", &["10.0.1.5"], &[]);
        let p = plan(&[acl], &[&i], &BTreeSet::new());
        assert_eq!(
            summary(&p),
            vec![
                "acl-x in 2 deny -1 10.0.1.5/32",
                "acl-x out 1 deny -1 10.0.1.5/32"
            ]
        );
        assert!(p.full.is_empty());
        assert!(cidr_contains("10.0.0.0/8", "10.0.1.5/32"));
        assert!(!cidr_contains("10.0.9.9/32", "10.0.1.5/32"));
        assert!(cidr_contains("::/0", "2001:db8::5/128"));
        assert!(!cidr_contains("0.0.0.0/0", "2001:db8::5/128"));
    }

    #[test]
    fn no_room_below_the_first_allow_is_reported_not_skipped() {
        let mut acl = default_acl("acl-tight", &["subnet-b"]);
        acl.entries.push(entry(false, 1, true, "10.0.0.0/8"));
        let i = iface("subnet-a", &["10.0.1.5"], &[]);
        let p = plan(&[acl], &[&i], &BTreeSet::new());
        assert_eq!(summary(&p), vec!["acl-tight out 1 deny -1 10.0.1.5/32"]);
        assert_eq!(p.full.len(), 1);
        assert_eq!(p.full[0].0, "acl-tight");
        assert!(!p.full[0].1, "inbound is full");
        assert!(
            p.full[0].2.contains("below its first allow entry (1)"),
            "{:?}",
            p.full
        );
    }
}
