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

use responder_core::{names, ActionRecord, Outcome, TaskError, TaskReport};
use serde_json::json;

use super::groups::{session_manager, SessionManager, VpcPlan};
use super::{change, Run};
use crate::caps::Ec2Isolation;
use crate::config::IsolateConfig;
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
                for addr in iface.address_cidrs() {
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
                        // Only an entry this resource's record names is reused: an identical
                        // entry someone else made (the customer, or the containment of another
                        // resource that had this address before) is theirs to keep or remove,
                        // and a rollback of this one must not delete it.
                        if let Some(found) = entries.iter().find(|e| {
                            e.same_rule(&want)
                                && is_ours(e)
                                && e.rule_number < limit
                                && e.rule_number >= floor
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

/// Whose addresses the entries are for, as the report names it.
#[derive(Debug, Clone, Copy)]
pub struct AclSubject<'a> {
    /// The resource's id or ARN.
    pub id: &'a str,
    /// What it is: `instance`, `task`.
    pub noun: &'a str,
    /// What holds its traffic meanwhile, where an ACL has no room for its entries.
    pub meanwhile: &'a str,
}

impl AclSubject<'_> {
    const INSTANCE_MEANWHILE: &'static str = "The interfaces are in the quarantine group, but connections AWS tracks automatically through that ACL's subnets survive until idle.";
}

/// Adds the deny entries for every interface, VPC by VPC.
pub(super) async fn deny_addresses(
    run: &mut Run<'_>,
    interfaces: &[Interface],
    plans: &BTreeMap<String, VpcPlan>,
) -> Result<(), TaskError> {
    let vpcs = plans
        .iter()
        .map(|(vpc, p)| (vpc.clone(), session_manager_subnets(&p.session_manager)))
        .collect();
    let subject = AclSubject {
        id: &run.target.instance_id,
        noun: "instance",
        meanwhile: AclSubject::INSTANCE_MEANWHILE,
    };
    let dry = run.dry();
    deny_in_vpcs(
        run.ec2,
        run.cfg.network_acl_deny,
        subject,
        dry,
        &mut run.report,
        interfaces,
        &vpcs,
    )
    .await
}

fn session_manager_subnets(sm: &SessionManager) -> BTreeSet<String> {
    match sm {
        SessionManager::Available { subnets, .. } => subnets.iter().cloned().collect(),
        SessionManager::Unavailable(_) => BTreeSet::new(),
    }
}

/// The network ACL step alone, for interfaces whose security groups cannot be changed (an ECS
/// task's interface is requester-managed: "you can't change other properties of a
/// requester-managed network interface", EC2 User Guide, "Requester-managed network
/// interfaces"; only its tags can be written). Per-address deny entries in the ACLs of the
/// VPC's other subnets, Session Manager's HTTPS allowed first where the VPC has its endpoints,
/// each recorded on the interface (tags) before it is made, so
/// [`remove_address_denies`] deletes exactly them. Idempotent: entries in place are reused.
pub async fn deny_interface_addresses(
    ec2: &dyn Ec2Isolation,
    cfg: &IsolateConfig,
    subject: AclSubject<'_>,
    interfaces: &[Interface],
    dry: bool,
    report: &mut TaskReport,
) -> Result<(), TaskError> {
    let mut vpcs = BTreeMap::new();
    for iface in interfaces {
        if !vpcs.contains_key(&iface.vpc_id) {
            let sm = session_manager(ec2, &iface.vpc_id).await?;
            vpcs.insert(iface.vpc_id.clone(), session_manager_subnets(&sm));
        }
    }
    deny_in_vpcs(
        ec2,
        cfg.network_acl_deny,
        subject,
        dry,
        report,
        interfaces,
        &vpcs,
    )
    .await
}

/// The deny entries of the interfaces in each VPC, with the subnets of its Session Manager
/// endpoints.
async fn deny_in_vpcs(
    ec2: &dyn Ec2Isolation,
    enabled: bool,
    subject: AclSubject<'_>,
    dry: bool,
    report: &mut TaskReport,
    interfaces: &[Interface],
    vpcs: &BTreeMap<String, BTreeSet<String>>,
) -> Result<(), TaskError> {
    let noun = subject.noun;
    if !enabled {
        report.push(ActionRecord::new(
            "deny-in-network-acls",
            subject.id.to_string(),
            Outcome::Skipped,
            "network ACL entries are turned off (NETWORK_ACL_DENY=false)",
        ));
        return Ok(());
    }
    let mut evidence = serde_json::Map::new();
    for (vpc, sm_subnets) in vpcs {
        let in_vpc: Vec<&Interface> = interfaces.iter().filter(|i| &i.vpc_id == vpc).collect();
        let acls = ec2.network_acls(vpc).await?;
        let p = plan(&acls, &in_vpc, sm_subnets);
        if p.acls.is_empty() {
            report.push(ActionRecord::new(
                "deny-in-network-acls",
                vpc,
                Outcome::Skipped,
                format!("the VPC has no subnet other than the {noun}'s: there is no network ACL its traffic crosses"),
            ));
            report.caveat(format!(
                "No network ACL entry was added in {vpc}: the {noun}'s subnets are the VPC's only subnets, so connections AWS tracks automatically (through a NAT gateway, load balancer or endpoint in the same subnet) and ICMP continue until idle."
            ));
            continue;
        }
        evidence.insert(vpc.clone(), json!(p.acls));
        apply(ec2, report, dry, subject, &in_vpc, &p).await?;
        for (acl, egress, why) in &p.full {
            report.fall_short(
                names::REMEDIATION_NETWORK_ACL_FULL,
                "deny-in-network-acls",
                format!(
                    "network ACL {acl} has no room for the {} deny entries of {noun} {}: {why}. {} Free rule numbers below its first allow entry or raise its entry quota, then run containment again.",
                    direction(*egress),
                    subject.id,
                    subject.meanwhile,
                ),
            );
        }
    }
    report
        .evidence
        .insert("networkAcls".into(), serde_json::Value::Object(evidence));
    Ok(())
}

/// Records, then creates, the planned entries of each interface.
async fn apply(
    ec2: &dyn Ec2Isolation,
    report: &mut TaskReport,
    dry: bool,
    subject: AclSubject<'_>,
    interfaces: &[&Interface],
    p: &AclPlan,
) -> Result<(), TaskError> {
    for iface in interfaces {
        let present = p.present.get(&iface.id).cloned().unwrap_or_default();
        let create = p.create.get(&iface.id).cloned().unwrap_or_default();
        if create.is_empty() {
            if !present.is_empty() {
                report.push(
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
        ec2.create_tags(&iface.id, &record::encode_acl_entries(&recorded), dry)
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
            match ec2.create_acl_entry(acl, entry, false).await {
                Ok(()) => made.push(json!({ "networkAclId": acl, "entry": entry })),
                Err(e) if e.has_aws_code("NetworkAclEntryLimitExceeded") => {
                    report.fall_short(
                        names::REMEDIATION_NETWORK_ACL_FULL,
                        "deny-in-network-acls",
                        format!(
                            "network ACL {acl} is at its entry quota ({}): the {} entry for {} was not added. {} Free entries or raise the quota (20 per direction by default, 40 at most), then run containment again.",
                            e.message,
                            direction(entry.egress),
                            entry.cidr,
                            subject.meanwhile,
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
        report.push(
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

/// Whether an ACL entry is one isolation adds for one of these addresses: a deny of all
/// traffic, or the Session Manager allows (TCP 443 in, TCP ephemeral ports out). An entry that
/// is something else now (someone replaced it) is left alone.
fn is_isolation_entry(e: &AclEntry, addresses: &[String]) -> bool {
    if !addresses.contains(&e.cidr) {
        return false;
    }
    let all = e.protocol == "-1" && !e.allow;
    let https_in = e.allow && !e.egress && e.protocol == "6" && e.ports == Some((443, 443));
    let replies_out = e.allow && e.egress && e.protocol == "6" && e.ports == Some((1024, 65535));
    all || https_in || replies_out
}

/// Deletes the network ACL entries recorded on the interfaces, after checking each is still
/// one containment added for that interface's addresses, then reads the ACLs back. The
/// rollback of [`deny_interface_addresses`] and of the instance containment's ACL step; the
/// records themselves are left for the caller to remove with its other records.
pub async fn remove_address_denies(
    report: &mut TaskReport,
    ec2: &dyn Ec2Isolation,
    recorded: &[&Interface],
    dry: bool,
) -> Result<(), TaskError> {
    let mut by_vpc: BTreeMap<&str, Vec<NetworkAcl>> = BTreeMap::new();
    for iface in recorded {
        let Some(entries) = record::decode_acl_entries(&iface.tags) else {
            continue;
        };
        if entries.is_empty() {
            continue;
        }
        if !by_vpc.contains_key(iface.vpc_id.as_str()) {
            by_vpc.insert(&iface.vpc_id, ec2.network_acls(&iface.vpc_id).await?);
        }
        let acls = &by_vpc[iface.vpc_id.as_str()];
        let addresses = iface.address_cidrs();
        let mut deleted = Vec::new();
        let mut gone = 0;
        let mut foreign = Vec::new();
        for r in &entries {
            let found = acls.iter().find(|a| a.id == r.acl_id).and_then(|a| {
                a.entries
                    .iter()
                    .find(|e| e.egress == r.egress && e.rule_number == r.rule_number)
            });
            match found {
                None => gone += 1,
                Some(e) if is_isolation_entry(e, &addresses) => {
                    if !dry {
                        ec2.delete_acl_entry(&r.acl_id, r.egress, r.rule_number)
                            .await?;
                    }
                    deleted.push(json!({ "networkAclId": r.acl_id, "entry": e }));
                }
                Some(e) => foreign.push(json!({ "networkAclId": r.acl_id, "entry": e })),
            }
        }
        let outcome = if deleted.is_empty() {
            Outcome::Unchanged
        } else {
            change(dry)
        };
        let mut detail = format!(
            "{} {} network ACL entries isolation added for its addresses ({gone} already gone)",
            if dry { "would delete" } else { "deleted" },
            deleted.len()
        );
        if !foreign.is_empty() {
            detail.push_str(&format!(
                "; {} recorded rule number(s) now hold other entries, left alone",
                foreign.len()
            ));
        }
        report.push(
            ActionRecord::new("remove-network-acl-entries", &iface.id, outcome, detail)
                .with_states(json!(deleted), json!([])),
        );
    }
    if dry || by_vpc.is_empty() {
        return Ok(());
    }
    // Read back: none of the deleted entries is there any more.
    for (vpc, before) in &by_vpc {
        let after = ec2.network_acls(vpc).await?;
        for iface in recorded.iter().filter(|i| i.vpc_id == *vpc) {
            for r in record::decode_acl_entries(&iface.tags).unwrap_or_default() {
                let was_ours = before
                    .iter()
                    .find(|a| a.id == r.acl_id)
                    .and_then(|a| {
                        a.entries
                            .iter()
                            .find(|e| e.egress == r.egress && e.rule_number == r.rule_number)
                    })
                    .is_some_and(|e| is_isolation_entry(e, &iface.address_cidrs()));
                let still = after.iter().find(|a| a.id == r.acl_id).is_some_and(|a| {
                    a.entries
                        .iter()
                        .any(|e| e.egress == r.egress && e.rule_number == r.rule_number)
                });
                if was_ours && still {
                    return Err(TaskError::new(
                        names::REMEDIATION_VERIFICATION_FAILED,
                        format!(
                            "network ACL {} still holds rule {} ({}) after the rollback deleted it",
                            r.acl_id,
                            r.rule_number,
                            if r.egress { "outbound" } else { "inbound" }
                        ),
                    ));
                }
            }
        }
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

    /// An identical deny someone else made for the address (the customer, or the containment
    /// of a resource that had the address before) is not adopted: this resource gets entries
    /// of its own, so its rollback never deletes theirs.
    #[test]
    fn an_identical_entry_not_in_the_record_is_not_adopted() {
        let mut acl = default_acl("acl-x", &["subnet-b"]);
        acl.entries.push(entry(false, 1, false, "10.0.1.5/32"));
        let i = iface("subnet-a", &["10.0.1.5"], &[]);
        let p = plan(&[acl], &[&i], &BTreeSet::new());
        assert!(p.present.is_empty(), "{:?}", p.present);
        assert_eq!(
            summary(&p),
            vec![
                "acl-x in 2 deny -1 10.0.1.5/32",
                "acl-x out 1 deny -1 10.0.1.5/32"
            ]
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
