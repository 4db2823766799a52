//! The two security groups of each VPC: the quarantine group (no inbound; outbound only TCP
//! 443 to the VPC's Session Manager endpoints and to the operator's override) and the
//! untrack group (everything, both ways, for one step).
//!
//! The quarantine group's egress is worked out again on every containment, since endpoints
//! come and go. Session Manager needs the `ssm` and `ssmmessages` interface endpoints
//! (`ec2messages` only for older agents in Regions launched before 2024: Systems Manager User
//! Guide, "Improve the security of EC2 instances by using VPC endpoints for Systems
//! Manager"). The egress names the endpoints' security groups when those groups serve only
//! these endpoints; when they also front other endpoints (STS, S3, Secrets Manager...), a
//! rule to the group would open those too, so the egress names the Session Manager endpoints'
//! own addresses instead.

use std::collections::{BTreeMap, BTreeSet};

use responder_aws::consistency::{self, not_visible};
use responder_core::{ActionRecord, Outcome, TaskError, TaskReport};
use serde_json::{json, Value};

use super::{change, Run};
use crate::caps::Ec2Isolation;
use crate::config::IsolateConfig;
use crate::model::{GroupRole, GroupRule, Interface, Peer, SecurityGroup, VpcEndpoint};

/// What the quarantine group of a VPC lets through for Session Manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionManager {
    /// TCP 443 to these endpoints.
    Available {
        /// The endpoint ids.
        endpoints: Vec<String>,
        /// The subnets of their interfaces (the network ACL step lets TCP 443 into them).
        subnets: Vec<String>,
        /// The peers the egress rules name (groups or addresses).
        peers: Vec<Peer>,
    },
    /// Why not.
    Unavailable(String),
}

impl SessionManager {
    /// A sentence for the report.
    pub fn describe(&self) -> String {
        match self {
            SessionManager::Available {
                endpoints, peers, ..
            } => format!(
                "available: egress TCP 443 to {} (endpoints {})",
                peers.iter().map(peer_label).collect::<Vec<_>>().join(", "),
                endpoints.join(", ")
            ),
            SessionManager::Unavailable(why) => format!("unavailable: {why}"),
        }
    }
}

fn peer_label(p: &Peer) -> String {
    match p {
        Peer::Cidr(c) | Peer::Cidr6(c) => c.clone(),
        Peer::Group(g) => g.clone(),
        Peer::PrefixList(l) => l.clone(),
    }
}

/// What containment uses in one VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpcPlan {
    /// The quarantine group (`None` in a dry run before it exists).
    pub quarantine: Option<String>,
    /// The untrack group, where an interface still has to move through it.
    pub untrack: Option<String>,
    /// Session Manager through the quarantine group.
    pub session_manager: SessionManager,
}

/// The Session Manager endpoint services, by the last part of their service name
/// (`com.amazonaws.<region>.<name>`), and whether each is required.
const SESSION_MANAGER_SERVICES: &[(&str, bool)] =
    &[("ssm", true), ("ssmmessages", true), ("ec2messages", false)];

fn service_suffix(service_name: &str) -> &str {
    service_name.rsplit('.').next().unwrap_or("")
}

/// Works out Session Manager's egress in a VPC from its endpoints.
pub(crate) async fn session_manager(
    ec2: &dyn Ec2Isolation,
    vpc_id: &str,
) -> Result<SessionManager, TaskError> {
    let endpoints = ec2.vpc_endpoints(vpc_id).await?;
    let usable = |e: &&VpcEndpoint| {
        e.endpoint_type.eq_ignore_ascii_case("interface")
            && e.state.eq_ignore_ascii_case("available")
    };
    let ssm: Vec<&VpcEndpoint> = endpoints
        .iter()
        .filter(usable)
        .filter(|e| {
            SESSION_MANAGER_SERVICES
                .iter()
                .any(|(s, _)| service_suffix(&e.service_name) == *s)
        })
        .collect();
    let missing: Vec<&str> = SESSION_MANAGER_SERVICES
        .iter()
        .filter(|(s, required)| {
            *required && !ssm.iter().any(|e| service_suffix(&e.service_name) == *s)
        })
        .map(|(s, _)| *s)
        .collect();
    if !missing.is_empty() {
        return Ok(SessionManager::Unavailable(format!(
            "the VPC has no available interface endpoint for {} (Session Manager needs ssm and ssmmessages)",
            missing.join(" and ")
        )));
    }
    let groups: BTreeSet<&String> = ssm.iter().flat_map(|e| e.group_ids.iter()).collect();
    let ids: BTreeSet<&String> = ssm.iter().map(|e| &e.id).collect();
    let shared = endpoints
        .iter()
        .filter(|e| !ids.contains(&e.id))
        .any(|e| e.group_ids.iter().any(|g| groups.contains(g)));
    let peers = if !shared && !groups.is_empty() {
        groups.iter().map(|g| Peer::Group((*g).clone())).collect()
    } else {
        // The groups also front other endpoints: name the Session Manager endpoints' own
        // addresses, so the quarantine group does not open STS, S3 or others with them.
        let eni_ids: Vec<String> = ssm.iter().flat_map(|e| e.interface_ids.clone()).collect();
        if eni_ids.is_empty() {
            return Ok(SessionManager::Unavailable(
                "the endpoints' security groups also serve other endpoints and EC2 lists no network interfaces for the Session Manager endpoints".into(),
            ));
        }
        let enis: Vec<Interface> = ec2.describe_interfaces(&eni_ids).await?;
        let mut peers: Vec<Peer> = enis
            .iter()
            .flat_map(|i| i.ipv4.iter().map(|a| Peer::Cidr(format!("{a}/32"))))
            .collect();
        peers.sort();
        peers.dedup();
        peers
    };
    let mut subnets: Vec<String> = ssm.iter().flat_map(|e| e.subnet_ids.clone()).collect();
    subnets.sort();
    subnets.dedup();
    Ok(SessionManager::Available {
        endpoints: ids.into_iter().cloned().collect(),
        subnets,
        peers,
    })
}

/// The rules a group of a role must hold. Only the quarantine group loses rules it should not
/// have: extra rules in the allow-all group allow nothing more.
fn wanted_rules(role: GroupRole, cfg: &IsolateConfig, sm: &SessionManager) -> Vec<GroupRule> {
    match role {
        GroupRole::Quarantine => {
            let mut rules: Vec<GroupRule> = Vec::new();
            if let SessionManager::Available { peers, .. } = sm {
                rules.extend(peers.iter().cloned().map(GroupRule::https_egress));
            }
            rules.extend(
                cfg.egress_cidrs
                    .iter()
                    .map(|c| GroupRule::https_egress(GroupRule::cidr_peer(c))),
            );
            rules
        }
        GroupRole::Untrack => ["0.0.0.0/0", "::/0"]
            .iter()
            .flat_map(|c| {
                [
                    GroupRule::all_traffic(false, c),
                    GroupRule::all_traffic(true, c),
                ]
            })
            .collect(),
    }
}

/// Finds or creates the group of a role in a VPC and brings its rules to the wanted set.
/// Returns its id (`None` in a dry run when it does not exist yet).
/// `found` is the group as `find_group` read it moments ago (read beside the other lookups,
/// so the calls before the move run at once rather than one after another).
async fn ensure_group(
    at: GroupsAt<'_>,
    report: &mut TaskReport,
    role: GroupRole,
    found: Option<SecurityGroup>,
    wanted: Vec<GroupRule>,
) -> Result<Option<String>, TaskError> {
    let GroupsAt {
        ec2,
        cfg,
        vpc_id,
        dry_run: dry,
    } = at;
    let action = match role {
        GroupRole::Quarantine => "ensure-quarantine-group",
        GroupRole::Untrack => "ensure-untrack-group",
    };
    let (group, created) = match found {
        Some(g) => (g, false),
        None => {
            let Some(id) = ec2.create_group(vpc_id, role, dry).await? else {
                report.push(
                    ActionRecord::new(
                        action,
                        vpc_id,
                        Outcome::WouldChange,
                        format!(
                            "would create security group {} in {vpc_id}",
                            role.group_name()
                        ),
                    )
                    .with_states(Value::Null, json!({ "rules": wanted })),
                );
                return Ok(None);
            };
            // A new group comes with EC2's default allow-all egress rule. Reading it back
            // right after creation may not find it yet (eventual consistency): assume that
            // rule, which revoking then removes.
            let g = ec2
                .find_group(vpc_id, role)
                .await?
                .filter(|g| g.id == id)
                .unwrap_or(SecurityGroup {
                    id: id.clone(),
                    vpc_id: vpc_id.to_string(),
                    rules: vec![GroupRule::all_traffic(true, "0.0.0.0/0")],
                });
            (g, true)
        }
    };
    let to_revoke: Vec<GroupRule> = if role == GroupRole::Quarantine {
        group
            .rules
            .iter()
            .filter(|r| !wanted.iter().any(|w| w.same_as(r)))
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    let to_add: Vec<GroupRule> = wanted
        .iter()
        .filter(|w| !group.rules.iter().any(|r| w.same_as(r)))
        .cloned()
        .collect();
    let changes_rules = !to_revoke.is_empty() || !to_add.is_empty();
    if changes_rules && !dry {
        let backoff = cfg.backoff;
        // A group this run created, or one another run created moments ago and this run just
        // found by name, may answer InvalidGroup.NotFound for a few seconds: EC2's reads and
        // writes converge separately. A group that really is gone fails after the bound.
        let retry_on = not_visible;
        if !to_revoke.is_empty() {
            consistency::retry(backoff, retry_on, || {
                ec2.revoke_rules(&group.id, &to_revoke)
            })
            .await
            .0?;
        }
        if !to_add.is_empty() {
            consistency::retry(backoff, retry_on, || {
                ec2.authorize_rules(&group.id, &to_add)
            })
            .await
            .0?;
        }
    }
    let outcome = if created || changes_rules {
        change(dry)
    } else {
        Outcome::Unchanged
    };
    let detail = match (created, changes_rules) {
        (true, _) => format!("created {} ({}) in {vpc_id}", role.group_name(), group.id),
        (false, true) => format!(
            "{} {} rule(s) and {} {} rule(s) of {} ({})",
            if dry { "would revoke" } else { "revoked" },
            to_revoke.len(),
            if dry { "would add" } else { "added" },
            to_add.len(),
            role.group_name(),
            group.id
        ),
        (false, false) => format!("{} ({}) is in place", role.group_name(), group.id),
    };
    let before_rules = if created {
        Vec::new()
    } else {
        group.rules.clone()
    };
    let after_rules: Vec<GroupRule> = if role == GroupRole::Quarantine {
        wanted
    } else {
        group.rules.iter().chain(to_add.iter()).cloned().collect()
    };
    report.push(
        ActionRecord::new(action, vpc_id, outcome, detail).with_states(
            json!({ "groupId": group.id, "rules": before_rules }),
            json!({ "groupId": group.id, "rules": after_rules }),
        ),
    );
    Ok(Some(group.id))
}

/// What containment reads in a VPC before it acts: the Session Manager endpoints and both
/// groups.
pub(super) struct Lookup {
    sm: SessionManager,
    quarantine: Option<SecurityGroup>,
    untrack: Option<SecurityGroup>,
}

/// The reads of a VPC at once: its Session Manager endpoints, and both groups in one call
/// (the untrack group is read even when no interface needs it: it costs no extra call).
///
/// The groups are read on every containment, never kept by a warm process: their rules are
/// writable from the member account (an attacker can open the quarantine group), so what
/// must be checked before the move is the read itself, and a kept id would save no call.
async fn look_up(
    ec2: &dyn Ec2Isolation,
    cfg: &IsolateConfig,
    vpc: &str,
) -> Result<Lookup, TaskError> {
    let (sm, groups) = tokio::join!(session_manager(ec2, vpc), async {
        if cfg.cut_tracked_connections {
            ec2.find_groups(vpc).await
        } else {
            Ok((ec2.find_group(vpc, GroupRole::Quarantine).await?, None))
        }
    });
    let (quarantine, untrack) = groups?;
    Ok(Lookup {
        sm: sm?,
        quarantine,
        untrack,
    })
}

/// The reads of several VPCs at once, read beside the instance itself. A VPC whose reads
/// failed is left out, and read again where it is needed.
pub(super) async fn look_up_all(
    ec2: &dyn Ec2Isolation,
    cfg: &IsolateConfig,
    vpcs: &BTreeSet<String>,
) -> BTreeMap<String, Lookup> {
    let found = futures::future::join_all(vpcs.iter().map(|v| look_up(ec2, cfg, v))).await;
    vpcs.iter()
        .cloned()
        .zip(found)
        .filter_map(|(v, l)| l.ok().map(|l| (v, l)))
        .collect()
}

/// The quarantine group of every VPC of the interfaces, and the untrack group where an
/// interface still has to move. `prefetched` holds the reads made beside the instance's (for
/// the VPCs GuardDuty recorded); any other VPC is read here.
pub(super) async fn prepare(
    run: &mut Run<'_>,
    interfaces: &[Interface],
    mut prefetched: BTreeMap<String, Lookup>,
) -> Result<BTreeMap<String, VpcPlan>, TaskError> {
    let vpcs: BTreeSet<String> = interfaces.iter().map(|i| i.vpc_id.clone()).collect();
    let mut plans = BTreeMap::new();
    for vpc in vpcs {
        let lookup = match prefetched.remove(&vpc) {
            Some(l) => l,
            None => look_up(run.ec2, run.cfg, &vpc).await?,
        };
        let (sm, found_quarantine, found_untrack) = (lookup.sm, lookup.quarantine, lookup.untrack);
        let wanted = wanted_rules(GroupRole::Quarantine, run.cfg, &sm);
        let at = GroupsAt {
            ec2: run.ec2,
            cfg: run.cfg,
            vpc_id: &vpc,
            dry_run: run.dry(),
        };
        let quarantine = ensure_group(
            at,
            &mut run.report,
            GroupRole::Quarantine,
            found_quarantine,
            wanted,
        )
        .await?;
        let pending = interfaces.iter().any(|i| {
            i.vpc_id == vpc
                && quarantine
                    .as_ref()
                    .is_none_or(|q| !i.holds_exactly(std::slice::from_ref(q)))
        });
        let mut untrack = None;
        if run.cfg.cut_tracked_connections && pending {
            let wanted = wanted_rules(GroupRole::Untrack, run.cfg, &sm);
            untrack = ensure_group(
                at,
                &mut run.report,
                GroupRole::Untrack,
                found_untrack,
                wanted,
            )
            .await?;
        }
        plans.insert(
            vpc,
            VpcPlan {
                quarantine,
                untrack,
                session_manager: sm,
            },
        );
    }
    Ok(plans)
}

/// Where the groups of a VPC are made, and how.
#[derive(Clone, Copy)]
struct GroupsAt<'a> {
    ec2: &'a dyn Ec2Isolation,
    cfg: &'a IsolateConfig,
    vpc_id: &'a str,
    dry_run: bool,
}

/// The quarantine group of a VPC, found or created and its rules brought to the wanted set,
/// for a resource other than an instance whose groups are set by its own service (an RDS DB
/// instance or cluster): the same group and rules instances are moved to. Records the step in
/// `report`. Returns its id (`None` in a dry run when it does not exist yet).
pub async fn quarantine_group(
    ec2: &dyn Ec2Isolation,
    cfg: &IsolateConfig,
    vpc_id: &str,
    dry_run: bool,
    report: &mut TaskReport,
) -> Result<Option<String>, TaskError> {
    let (sm, found) = tokio::join!(
        session_manager(ec2, vpc_id),
        ec2.find_group(vpc_id, GroupRole::Quarantine)
    );
    let wanted = wanted_rules(GroupRole::Quarantine, cfg, &sm?);
    let at = GroupsAt {
        ec2,
        cfg,
        vpc_id,
        dry_run,
    };
    ensure_group(at, report, GroupRole::Quarantine, found?, wanted).await
}

/// The id of the untrack group of a VPC, if it exists: for [`super::Mode::Secure`].
pub(super) async fn existing(
    run: &Run<'_>,
    vpc_id: &str,
    role: GroupRole,
) -> Result<Option<SecurityGroup>, TaskError> {
    run.ec2.find_group(vpc_id, role).await
}
