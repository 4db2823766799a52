//! The EC2, Auto Scaling and load balancing state the containment logic reads and writes,
//! independent of the SDK types so the logic can run against in-memory fakes.

use std::collections::BTreeMap;

use serde::Serialize;

/// An instance as `DescribeInstances` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Instance {
    /// The instance id.
    pub id: String,
    /// The state name (`running`, `stopped`, ...), when given.
    pub state: Option<String>,
    /// The ids of the interfaces attached to it, primary first.
    pub interface_ids: Vec<String>,
    /// The instance's tags.
    pub tags: BTreeMap<String, String>,
}

/// A network interface as `DescribeNetworkInterfaces` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Interface {
    /// The interface id.
    pub id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// Its security group ids, in the order EC2 returns them.
    pub group_ids: Vec<String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

impl Interface {
    /// Whether the interface holds exactly these groups (order does not matter).
    pub fn holds_exactly(&self, groups: &[String]) -> bool {
        same_groups(&self.group_ids, groups)
    }
}

/// Whether two lists name the same set of groups.
pub fn same_groups(a: &[String], b: &[String]) -> bool {
    let mut a: Vec<&String> = a.iter().collect();
    let mut b: Vec<&String> = b.iter().collect();
    a.sort();
    a.dedup();
    b.sort();
    b.dedup();
    a == b
}

/// The two instance attributes isolation changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceAttributes {
    /// `DisableApiTermination`.
    pub termination_protection: bool,
    /// `InstanceInitiatedShutdownBehavior` (`stop` or `terminate`).
    pub shutdown_behavior: String,
}

/// The two security groups this project keeps in each VPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupRole {
    /// No inbound rules; outbound only to configured destinations.
    Quarantine,
    /// Allows all traffic both ways, so tracked connections become untracked for one step.
    Untrack,
}

impl GroupRole {
    /// The group name (unique per VPC).
    pub fn group_name(self) -> &'static str {
        match self {
            GroupRole::Quarantine => responder_core::markers::QUARANTINE_GROUP_NAME,
            GroupRole::Untrack => responder_core::markers::UNTRACK_GROUP_NAME,
        }
    }

    /// The value of the `markers::TAG_GROUP_ROLE` tag.
    pub fn tag_value(self) -> &'static str {
        match self {
            GroupRole::Quarantine => "quarantine",
            GroupRole::Untrack => "untrack",
        }
    }

    /// The group description.
    pub fn description(self) -> &'static str {
        match self {
            GroupRole::Quarantine => {
                "GuardDuty Responder quarantine: no inbound, outbound only to forensics destinations"
            }
            GroupRole::Untrack => {
                "GuardDuty Responder: allows all traffic for one step so tracked connections become untracked"
            }
        }
    }
}

/// The other side of a security group rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Peer {
    /// An IPv4 range.
    Cidr(String),
    /// An IPv6 range.
    Cidr6(String),
    /// Another security group.
    Group(String),
    /// A managed prefix list.
    PrefixList(String),
}

/// One security group rule, flattened to a single peer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRule {
    /// Outbound (`true`) or inbound.
    pub egress: bool,
    /// `-1` for all protocols, or `tcp`, `udp`, `icmp`, a number.
    pub protocol: String,
    /// First port, when the protocol has ports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_port: Option<i32>,
    /// Last port, when the protocol has ports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_port: Option<i32>,
    /// The peer.
    pub peer: Peer,
}

impl GroupRule {
    /// A rule allowing all protocols and ports to or from a CIDR (IPv4 or IPv6).
    pub fn all_traffic(egress: bool, cidr: &str) -> Self {
        let peer = if cidr.contains(':') {
            Peer::Cidr6(cidr.to_string())
        } else {
            Peer::Cidr(cidr.to_string())
        };
        GroupRule {
            egress,
            protocol: "-1".into(),
            from_port: None,
            to_port: None,
            peer,
        }
    }

    /// Whether two rules allow the same traffic. EC2 reports all-protocol rules with no ports
    /// or with `-1`/`0..65535`, so ports are ignored for protocol `-1`.
    pub fn same_as(&self, other: &GroupRule) -> bool {
        if self.egress != other.egress || self.peer != other.peer || self.protocol != other.protocol
        {
            return false;
        }
        self.protocol == "-1"
            || (self.from_port == other.from_port && self.to_port == other.to_port)
    }
}

/// A security group with its rules.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityGroup {
    /// The group id.
    pub id: String,
    /// The VPC.
    pub vpc_id: String,
    /// Inbound and outbound rules.
    pub rules: Vec<GroupRule>,
}

/// An instance's membership of an Auto Scaling group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsgMembership {
    /// The group name.
    pub group: String,
    /// The lifecycle state (`InService`, `Standby`, `Detaching`, ...).
    pub lifecycle_state: String,
}

impl AsgMembership {
    /// Whether the instance is on its way out of the group already (a detach in progress).
    pub fn is_leaving(&self) -> bool {
        let s = self.lifecycle_state.as_str();
        s.starts_with("Detach") || s.starts_with("Terminat")
    }
}

/// An instance registered in a target group, with the ports it is registered on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    /// The target group ARN.
    pub target_group_arn: String,
    /// The ports the instance is registered on, sorted.
    pub ports: Vec<i32>,
}
