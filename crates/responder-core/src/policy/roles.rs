//! Victim or actor: for some finding types the instance is the target of the activity, not its
//! actor. Someone on the internet probing an open port, or guessing SSH passwords, says that the
//! instance is exposed, not that it is compromised; isolating it would take a healthy service
//! down and leave the exposure as it was. Such an instance is notified with the fix instead.
//!
//! [`ROLES`] is the table, finding type x resource role -> part, built from GuardDuty's EC2
//! finding types (<https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_finding-types-ec2.html>):
//!
//! - `Recon:EC2/PortProbeUnprotectedPort` and `Recon:EC2/PortProbeEMRUnprotectedPort`: "a port
//!   ... is not blocked by a security group, access control list (ACL), or an on-host firewall
//!   ..., and known scanners on the internet are actively probing it". Always a victim.
//! - `UnauthorizedAccess:EC2/SSHBruteForce`, `UnauthorizedAccess:EC2/RDPBruteForce` and
//!   `Impact:EC2/WinRMBruteForce`: low severity "if your EC2 instance was the target of a brute
//!   force attack", high "if your EC2 instance is the actor being used to perform the brute force
//!   attack". The resource role decides: `TARGET` is a victim, `ACTOR` an attacker; without a
//!   role the table does not guess.
//! - Outbound activity by nature (port scans and sweeps, denial of service, spam, Tor client
//!   and relay): actor, whatever the role says. Containment is right, and a role that says
//!   otherwise must not turn an attacker into a victim.
//!
//! Everything else is [`Part::Unknown`] and decided as before, by severity. That includes
//! `UnauthorizedAccess:EC2/MetadataDNSRebind` (the instance "may be the target" of DNS
//! rebinding, but its role credentials may already be exposed) and
//! `UnauthorizedAccess:EC2/MaliciousIPCaller.Custom` (the direction is not in the type).

use serde::{Deserialize, Serialize};

use crate::finding::ResourceRole;

/// An instance's part in the activity a finding reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Part {
    /// Someone else probed or attacked the instance: fix the exposure, do not isolate.
    Victim,
    /// The instance attacked others: containment is right.
    Actor,
    /// The table does not know: decided as any other finding.
    Unknown,
}

/// Which resource roles a row of [`ROLES`] covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleMatch {
    /// Any role, or none: the finding type alone decides.
    Any,
    /// Only findings whose `service.resourceRole` is this role.
    Is(ResourceRole),
}

/// One row of [`ROLES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleRow {
    /// The GuardDuty finding type, exactly.
    pub finding_type: &'static str,
    /// The resource roles the row covers.
    pub role: RoleMatch,
    /// The instance's part.
    pub part: Part,
    /// For a victim, what to fix instead of isolating it. `{ports}` becomes the ports the
    /// finding names ("port 22", "ports 9200 and 9300"), or [`RoleRow::default_ports`].
    pub fix: Option<&'static str>,
    /// What `{ports}` says when the finding names no port.
    pub default_ports: &'static str,
}

const fn victim(
    finding_type: &'static str,
    role: RoleMatch,
    fix: &'static str,
    default_ports: &'static str,
) -> RoleRow {
    RoleRow {
        finding_type,
        role,
        part: Part::Victim,
        fix: Some(fix),
        default_ports,
    }
}

const fn actor(finding_type: &'static str, role: RoleMatch) -> RoleRow {
    RoleRow {
        finding_type,
        role,
        part: Part::Actor,
        fix: None,
        default_ports: "",
    }
}

const TARGET: RoleMatch = RoleMatch::Is(ResourceRole::Target);
const ACTOR: RoleMatch = RoleMatch::Is(ResourceRole::Actor);

/// Finding type x resource role -> the instance's part, with the fix for a victim.
pub const ROLES: &[RoleRow] = &[
    victim(
        "Recon:EC2/PortProbeUnprotectedPort",
        RoleMatch::Any,
        "close {ports} to the internet in the instance's security groups and network ACLs, or restrict access to known addresses; review what listens there, and if the exposure is intended (a public service), suppress this finding type for the instance in GuardDuty",
        "the probed ports",
    ),
    victim(
        "Recon:EC2/PortProbeEMRUnprotectedPort",
        RoleMatch::Any,
        "close {ports} to the internet in the EMR cluster's security groups (and keep Amazon EMR block public access on), or restrict access to the addresses that need it; review what listens there",
        "the probed EMR ports",
    ),
    victim(
        "UnauthorizedAccess:EC2/SSHBruteForce",
        TARGET,
        "restrict SSH ({ports}) to known addresses in the instance's security groups and network ACLs, or close it and connect through Session Manager; check the instance's SSH log for a login that succeeded",
        "port 22",
    ),
    actor("UnauthorizedAccess:EC2/SSHBruteForce", ACTOR),
    victim(
        "UnauthorizedAccess:EC2/RDPBruteForce",
        TARGET,
        "restrict RDP ({ports}) to known addresses in the instance's security groups and network ACLs, or close it and connect through Session Manager; check the instance's Windows logon events for a logon that succeeded",
        "port 3389",
    ),
    actor("UnauthorizedAccess:EC2/RDPBruteForce", ACTOR),
    victim(
        "Impact:EC2/WinRMBruteForce",
        TARGET,
        "restrict WinRM ({ports}) to known addresses in the instance's security groups and network ACLs, or close it; check the instance's Windows logon events for a logon that succeeded",
        "ports 5985 and 5986",
    ),
    actor("Impact:EC2/WinRMBruteForce", ACTOR),
    actor("Recon:EC2/Portscan", RoleMatch::Any),
    actor("Impact:EC2/PortSweep", RoleMatch::Any),
    actor("Backdoor:EC2/DenialOfService.Dns", RoleMatch::Any),
    actor("Backdoor:EC2/DenialOfService.Tcp", RoleMatch::Any),
    actor("Backdoor:EC2/DenialOfService.Udp", RoleMatch::Any),
    actor("Backdoor:EC2/DenialOfService.UdpOnTcpPorts", RoleMatch::Any),
    actor("Backdoor:EC2/DenialOfService.UnusualProtocol", RoleMatch::Any),
    actor("Backdoor:EC2/Spambot", RoleMatch::Any),
    actor("UnauthorizedAccess:EC2/TorClient", RoleMatch::Any),
    actor("UnauthorizedAccess:EC2/TorRelay", RoleMatch::Any),
];

/// What [`judge`] found for a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    /// The instance's part.
    pub part: Part,
    /// The row that decided it, if one did.
    pub row: Option<&'static RoleRow>,
    /// Whether the table has rows for the finding type at all (a type keyed on the role, seen
    /// without one, is in the table but [`Part::Unknown`]).
    pub type_in_table: bool,
    /// For a victim, the fix with the ports filled in.
    pub fix: Option<String>,
}

/// Looks a finding up in [`ROLES`]: the first row for its type whose role matches.
pub fn judge(finding_type: &str, role: Option<ResourceRole>, ports: &[u16]) -> Judgement {
    let mut rows = ROLES.iter().filter(|r| r.finding_type == finding_type);
    let type_in_table = rows.clone().next().is_some();
    let row = rows.find(|r| match r.role {
        RoleMatch::Any => true,
        RoleMatch::Is(want) => role == Some(want),
    });
    Judgement {
        part: row.map_or(Part::Unknown, |r| r.part),
        row,
        type_in_table,
        fix: row.and_then(|r| {
            let ports = if ports.is_empty() {
                r.default_ports.to_string()
            } else {
                port_list(ports)
            };
            r.fix.map(|f| f.replace("{ports}", &ports))
        }),
    }
}

/// "port 22", "ports 22 and 3389", "ports 22, 80 and 3389"; at most five ports are named.
pub fn port_list(ports: &[u16]) -> String {
    const SHOWN: usize = 5;
    let mut named: Vec<String> = ports.iter().take(SHOWN).map(u16::to_string).collect();
    if ports.len() > SHOWN {
        named.push(format!("{} more", ports.len() - SHOWN));
    }
    match named.as_slice() {
        [one] => format!("port {one}"),
        [init @ .., last] => format!("ports {} and {last}", init.join(", ")),
        [] => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{is_retired, DEFAULT_EC2_PREFIXES};
    use ResourceRole::{Actor, Target};

    /// Finding type, resource role -> part, and words the fix must hold (ports: 9200).
    #[rustfmt::skip]
    const CASES: &[(&str, Option<ResourceRole>, Part, &[&str])] = &[
        ("Recon:EC2/PortProbeUnprotectedPort",    Some(Target), Part::Victim, &["close port 9200 to the internet"]),
        ("Recon:EC2/PortProbeUnprotectedPort",    None,         Part::Victim, &["close port 9200"]),
        ("Recon:EC2/PortProbeEMRUnprotectedPort", Some(Target), Part::Victim, &["EMR cluster's security groups"]),
        ("UnauthorizedAccess:EC2/SSHBruteForce",  Some(Target), Part::Victim, &["restrict SSH (port 9200)", "Session Manager"]),
        ("UnauthorizedAccess:EC2/SSHBruteForce",  Some(Actor),  Part::Actor,  &[]),
        ("UnauthorizedAccess:EC2/SSHBruteForce",  None,         Part::Unknown, &[]),
        ("UnauthorizedAccess:EC2/RDPBruteForce",  Some(Target), Part::Victim, &["restrict RDP"]),
        ("UnauthorizedAccess:EC2/RDPBruteForce",  Some(Actor),  Part::Actor,  &[]),
        ("UnauthorizedAccess:EC2/RDPBruteForce",  None,         Part::Unknown, &[]),
        ("Impact:EC2/WinRMBruteForce",            Some(Target), Part::Victim, &["restrict WinRM"]),
        ("Impact:EC2/WinRMBruteForce",            Some(Actor),  Part::Actor,  &[]),
        // Outbound by nature: a TARGET role does not make the instance a victim.
        ("Recon:EC2/Portscan",                    Some(Target), Part::Actor,  &[]),
        ("Impact:EC2/PortSweep",                  None,         Part::Actor,  &[]),
        ("Backdoor:EC2/DenialOfService.Tcp",      Some(Target), Part::Actor,  &[]),
        ("Backdoor:EC2/DenialOfService.UnusualProtocol", Some(Actor), Part::Actor, &[]),
        ("Backdoor:EC2/Spambot",                  Some(Actor),  Part::Actor,  &[]),
        ("UnauthorizedAccess:EC2/TorClient",      Some(Target), Part::Actor,  &[]),
        ("UnauthorizedAccess:EC2/TorRelay",       Some(Target), Part::Actor,  &[]),
        // Not in the table: decided as before.
        ("Backdoor:EC2/C&CActivity.B",            Some(Target), Part::Unknown, &[]),
        ("UnauthorizedAccess:EC2/MetadataDNSRebind", Some(Target), Part::Unknown, &[]),
        ("UnauthorizedAccess:EC2/MaliciousIPCaller.Custom", Some(Target), Part::Unknown, &[]),
        ("Execution:Runtime/ReverseShell",        None,         Part::Unknown, &[]),
        // Types are matched exactly.
        ("recon:ec2/portprobeunprotectedport",    Some(Target), Part::Unknown, &[]),
        ("Recon:EC2/PortProbeUnprotectedPort.Custom", Some(Target), Part::Unknown, &[]),
    ];

    #[test]
    fn every_case_gets_its_part_and_fix() {
        let mut failures = Vec::new();
        for (ty, role, part, words) in CASES {
            let j = judge(ty, *role, &[9200]);
            if j.part != *part {
                failures.push(format!("{ty} {role:?}: {:?}, expected {part:?}", j.part));
            }
            if (j.part == Part::Victim) != j.fix.is_some() {
                failures.push(format!("{ty} {role:?}: fix {:?}", j.fix));
            }
            let fix = j.fix.unwrap_or_default();
            for w in *words {
                if !fix.contains(w) {
                    failures.push(format!("{ty} {role:?}: fix lacks {w:?}: {fix}"));
                }
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    #[test]
    fn a_type_keyed_on_the_role_is_in_the_table_but_unknown_without_one() {
        let j = judge("UnauthorizedAccess:EC2/SSHBruteForce", None, &[]);
        assert_eq!(
            (j.part, j.type_in_table, j.row.is_none()),
            (Part::Unknown, true, true)
        );
        let j = judge("Backdoor:EC2/C&CActivity.B", None, &[]);
        assert!(!j.type_in_table);
    }

    #[test]
    fn the_table_is_well_formed() {
        for (i, r) in ROLES.iter().enumerate() {
            // Only EC2 types the default policy acts on: a row for another type would never
            // change a containment.
            assert!(
                DEFAULT_EC2_PREFIXES
                    .iter()
                    .any(|p| r.finding_type.starts_with(p))
                    && !is_retired(r.finding_type),
                "{}",
                r.finding_type
            );
            match r.part {
                Part::Victim => assert!(
                    r.fix.is_some_and(|f| f.contains("{ports}")) && !r.default_ports.is_empty(),
                    "{}: a victim row needs a fix naming the ports",
                    r.finding_type
                ),
                _ => assert!(
                    r.fix.is_none(),
                    "{}: only victims get a fix",
                    r.finding_type
                ),
            }
            assert_ne!(
                r.part,
                Part::Unknown,
                "{}: unknown is the absence of a row",
                r.finding_type
            );
            // No two rows cover the same type and role: the first would silently win.
            for other in &ROLES[i + 1..] {
                let overlap = r.finding_type == other.finding_type
                    && (r.role == RoleMatch::Any
                        || other.role == RoleMatch::Any
                        || r.role == other.role);
                assert!(!overlap, "{} is covered twice", r.finding_type);
            }
        }
    }

    #[test]
    fn ports_are_named_from_the_finding_or_the_row() {
        let fix = |ports: &[u16]| {
            judge("UnauthorizedAccess:EC2/SSHBruteForce", Some(Target), ports)
                .fix
                .unwrap_or_default()
        };
        assert!(fix(&[]).starts_with("restrict SSH (port 22) to known addresses"));
        assert!(fix(&[2222]).starts_with("restrict SSH (port 2222) to known"));
        assert_eq!(port_list(&[22, 3389]), "ports 22 and 3389");
        assert_eq!(port_list(&[22, 80, 3389]), "ports 22, 80 and 3389");
        assert_eq!(
            port_list(&[1, 2, 3, 4, 5, 6, 7]),
            "ports 1, 2, 3, 4, 5 and 2 more"
        );
        let probe = judge("Recon:EC2/PortProbeUnprotectedPort", None, &[]);
        assert!(probe
            .fix
            .is_some_and(|f| f.starts_with("close the probed ports to the internet")));
    }
}
