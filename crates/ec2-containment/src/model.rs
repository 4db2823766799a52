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
    /// Its instance metadata service options, when EC2 reports them.
    pub metadata: Option<MetadataOptions>,
}

/// An instance's metadata service options (`MetadataOptions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetadataOptions {
    /// `optional` (IMDSv1 allowed) or `required` (IMDSv2 only).
    pub http_tokens: String,
    /// How many network hops a metadata response may travel (1 to 64).
    pub hop_limit: i32,
}

impl MetadataOptions {
    /// IMDSv2 only, one hop: credentials are served only to a caller on the instance that
    /// first asks for a session token with a PUT (which most SSRF paths cannot send), and not
    /// to containers behind an extra hop (EC2 User Guide, "Configure the instance metadata
    /// options").
    pub fn hardened() -> Self {
        MetadataOptions {
            http_tokens: "required".into(),
            hop_limit: 1,
        }
    }
}

/// A network interface as `DescribeNetworkInterfaces` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Interface {
    /// The interface id.
    pub id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// Its subnet.
    pub subnet_id: String,
    /// Its security group ids, in the order EC2 returns them.
    pub group_ids: Vec<String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Its private IPv4 addresses, primary first.
    pub ipv4: Vec<String>,
    /// Its IPv6 addresses.
    pub ipv6: Vec<String>,
    /// Its connection-tracking idle timeouts, as EC2 reports them (`None`: EC2 reported none,
    /// the defaults apply).
    pub conntrack: Option<ConnTracking>,
}

/// An interface's connection-tracking idle timeouts, in seconds
/// (`ConnectionTrackingSpecification`). `None` in a field: EC2's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnTracking {
    /// Established TCP flows (default 432,000 s, five days; 60 to 432,000).
    pub tcp_established: Option<i32>,
    /// UDP flows that saw traffic both ways more than once (default 180 s; 60 to 180).
    pub udp_stream: Option<i32>,
    /// Other UDP flows (default 30 s; 30 to 60).
    pub udp: Option<i32>,
}

impl ConnTracking {
    /// The shortest idle timeouts EC2 accepts: an established flow that the groups cannot cut
    /// ends a minute after it goes quiet instead of five days later.
    pub const SHORTEST: ConnTracking = ConnTracking {
        tcp_established: Some(60),
        udp_stream: Some(60),
        udp: Some(30),
    };
}

/// A network ACL with its entries and the subnets it is associated with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkAcl {
    /// The ACL id.
    pub id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// The subnets it is associated with.
    pub subnet_ids: Vec<String>,
    /// Its entries, both directions (the default `*` entries, rule number 32767, included).
    pub entries: Vec<AclEntry>,
}

/// One network ACL entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AclEntry {
    /// Outbound (`true`) or inbound.
    pub egress: bool,
    /// 1 to 32766 (32767 is the default entry).
    pub rule_number: i32,
    /// `allow` (`true`) or `deny`.
    pub allow: bool,
    /// `-1` for all protocols, or a protocol number (`6` is TCP).
    pub protocol: String,
    /// The other side: an IPv4 or IPv6 CIDR. In an inbound entry it is the source, in an
    /// outbound entry the destination.
    pub cidr: String,
    /// The destination port range, for TCP and UDP entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ports: Option<(i32, i32)>,
}

impl AclEntry {
    /// Whether two entries match the same traffic with the same action (rule number aside).
    pub fn same_rule(&self, other: &AclEntry) -> bool {
        self.egress == other.egress
            && self.allow == other.allow
            && self.protocol == other.protocol
            && self.cidr == other.cidr
            && (self.protocol == "-1" || self.ports == other.ports)
    }
}

/// A VPC endpoint as `DescribeVpcEndpoints` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VpcEndpoint {
    /// The endpoint id.
    pub id: String,
    /// `com.amazonaws.<region>.ssm`, ...
    pub service_name: String,
    /// `Interface`, `Gateway`, `GatewayLoadBalancer`.
    pub endpoint_type: String,
    /// `available`, `pending`, ...
    pub state: String,
    /// The security groups of an interface endpoint.
    pub group_ids: Vec<String>,
    /// The subnets of an interface endpoint.
    pub subnet_ids: Vec<String>,
    /// The network interfaces of an interface endpoint.
    pub interface_ids: Vec<String>,
}

impl Interface {
    /// Its addresses as host CIDRs (`a/32`, `a/128`), as network ACL entries name them.
    pub fn address_cidrs(&self) -> Vec<String> {
        self.ipv4
            .iter()
            .map(|a| format!("{a}/32"))
            .chain(self.ipv6.iter().map(|a| format!("{a}/128")))
            .collect()
    }

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

    /// An outbound rule allowing only TCP 443 to a peer.
    pub fn https_egress(peer: Peer) -> Self {
        GroupRule {
            egress: true,
            protocol: "tcp".into(),
            from_port: Some(443),
            to_port: Some(443),
            peer,
        }
    }

    /// A peer for a CIDR, IPv4 or IPv6.
    pub fn cidr_peer(cidr: &str) -> Peer {
        if cidr.contains(':') {
            Peer::Cidr6(cidr.to_string())
        } else {
            Peer::Cidr(cidr.to_string())
        }
    }

    /// Whether two rules allow the same traffic. EC2 reports all-protocol rules with no ports
    /// or with `-1`/`0..65535`, so ports are ignored for protocol `-1`.
    pub fn same_as(&self, other: &GroupRule) -> bool {
        let proto = |p: &str| match p {
            "6" => "tcp".to_string(),
            "17" => "udp".to_string(),
            "1" => "icmp".to_string(),
            other => other.to_ascii_lowercase(),
        };
        if self.egress != other.egress
            || self.peer != other.peer
            || proto(&self.protocol) != proto(&other.protocol)
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
    /// Whether the instance is protected from scale in.
    pub protected_from_scale_in: bool,
}

impl AsgMembership {
    /// Whether the instance is on its way out of the group already (a detach in progress).
    pub fn is_leaving(&self) -> bool {
        let s = self.lifecycle_state.as_str();
        s.starts_with("Detach") || s.starts_with("Terminat")
    }

    /// Whether the group no longer health-checks or replaces the instance: in standby
    /// ("Amazon EC2 Auto Scaling does not perform health checks on instances that are in a
    /// standby state", Auto Scaling User Guide, "Temporarily remove instances from your Auto
    /// Scaling group").
    pub fn is_standby(&self) -> bool {
        self.lifecycle_state.starts_with("Standby")
            || self.lifecycle_state.starts_with("EnteringStandby")
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
