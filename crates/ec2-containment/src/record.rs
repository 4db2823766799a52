//! The rollback records isolation writes as tags, and their formats.
//!
//! * On each network interface, [`markers::TAG_ORIGINAL_GROUPS`]: its security group ids before
//!   isolation, space-separated, e.g. `sg-0a1b2c sg-0d4e5f`. The record lives on the interface
//!   itself so every interface carries its own rollback. An interface may hold up to 16 groups
//!   (336 characters), more than one tag value holds, so a long list continues in
//!   `<key>:2`, `<key>:3`, ... (each value at most 256 characters, split between ids).
//! * On the instance, [`markers::TAG_ORIGINAL_ATTRIBUTES`]: `;`-separated `name=value` items,
//!   continued the same way in `<key>:2`, ... when longer than one value, split between items:
//!   - `dat=true|false`: `DisableApiTermination` before isolation;
//!   - `isb=stop|terminate`: `InstanceInitiatedShutdownBehavior` before isolation;
//!   - `asg=NAME`: the Auto Scaling group the instance was taken out of;
//!   - `asgm=detached|standby`: how it was taken out (detached, or put in standby when the
//!     group refused the detach);
//!   - `sip=true|false`: its scale-in protection in that group before isolation;
//!   - `imds=TOKENS/HOP`: its metadata options before they were hardened, e.g. `optional/2`;
//!   - `tg=NAME/ID@PORT,PORT`: a target group it was deregistered from, by the last part of its
//!     ARN (`targetgroup/NAME/ID`; the rest is the instance's partition, region and account),
//!     with the ports; `tga=ARN@PORTS` holds a full ARN that does not fit that pattern.
//!
//!   Values escape `%`, `;`, `=`, `@`, `,` and space as `%XX`. Example:
//!   `dat=false;isb=terminate;asg=web-prod;tg=web/73e2d6bc24d8a067@80,443`.
//!
//! * On each network interface, [`markers::TAG_NETWORK_ACL_ENTRIES`]: the network ACL entries
//!   isolation added for its addresses, space-separated `ACL:in|out:RULE`, e.g.
//!   `acl-0a1b:in:3 acl-0a1b:out:3`, continued like the groups; rollback deletes exactly these
//!   (after checking each still matches what isolation adds).
//! * On each network interface, [`markers::TAG_ORIGINAL_CONNTRACK`]: its connection-tracking
//!   idle timeouts before isolation, `tcp=432000;udps=180;udp=30`, an absent item meaning
//!   EC2's default.
//!
//! A record is written before the change it records and never overwritten, so a re-run keeps
//! the true originals; rollback removes it.

use std::collections::BTreeMap;

use responder_core::markers::{self, limits};
use serde::Serialize;

use crate::model::{ConnTracking, Registration};

/// The most continuation tags read for one record.
const MAX_CHUNKS: usize = 16;

/// The tag key of chunk `n` (1-based) of a record.
pub fn chunk_key(base: &str, n: usize) -> String {
    if n <= 1 {
        base.to_string()
    } else {
        format!("{base}:{n}")
    }
}

/// Splits items into tag values of at most 256 bytes, joined by `sep`, under `base`, `base:2`...
/// An item longer than a tag value is cut (it cannot be stored whole in any tag).
fn to_chunks(base: &str, items: &[String], sep: char) -> Vec<(String, String)> {
    let mut values: Vec<String> = Vec::new();
    let mut current = String::new();
    for item in items {
        let item = markers::tag_value(item);
        let needed = if current.is_empty() {
            item.len()
        } else {
            current.len() + 1 + item.len()
        };
        if needed > limits::VALUE_MAX && !current.is_empty() {
            values.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(sep);
        }
        current.push_str(&item);
    }
    if !current.is_empty() || values.is_empty() {
        values.push(current);
    }
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| (chunk_key(base, i + 1), v))
        .collect()
}

/// Reads a chunked record: the values of `base`, `base:2`, ... joined by `sep`; `None` when
/// `base` is absent.
fn from_chunks(tags: &BTreeMap<String, String>, base: &str, sep: char) -> Option<String> {
    let mut out = tags.get(base)?.clone();
    for n in 2..=MAX_CHUNKS {
        match tags.get(&chunk_key(base, n)) {
            Some(v) => {
                out.push(sep);
                out.push_str(v);
            }
            None => break,
        }
    }
    Some(out)
}

/// The keys of a chunked record present in `tags`, for removal.
pub fn present_keys(tags: &BTreeMap<String, String>, base: &str) -> Vec<String> {
    (1..=MAX_CHUNKS)
        .map(|n| chunk_key(base, n))
        .filter(|k| tags.contains_key(k))
        .collect()
}

/// The tags recording an interface's original groups.
pub fn encode_groups(groups: &[String]) -> Vec<(String, String)> {
    to_chunks(markers::TAG_ORIGINAL_GROUPS, groups, ' ')
}

/// An interface's recorded original groups, if it has a record. An empty record (an interface
/// that had no groups cannot exist in a VPC) still counts as a record.
pub fn decode_groups(tags: &BTreeMap<String, String>) -> Option<Vec<String>> {
    from_chunks(tags, markers::TAG_ORIGINAL_GROUPS, ' ')
        .map(|v| v.split_whitespace().map(str::to_string).collect())
}

/// One network ACL entry isolation added, as recorded on the interface.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AclEntryRef {
    /// The ACL.
    pub acl_id: String,
    /// Outbound (`true`) or inbound.
    pub egress: bool,
    /// The rule number.
    pub rule_number: i32,
}

impl AclEntryRef {
    fn encode(&self) -> String {
        let dir = if self.egress { "out" } else { "in" };
        format!("{}:{dir}:{}", self.acl_id, self.rule_number)
    }

    fn decode(s: &str) -> Option<Self> {
        let mut parts = s.split(':');
        let (acl, dir, rule) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || !acl.starts_with("acl-") {
            return None;
        }
        let egress = match dir {
            "in" => false,
            "out" => true,
            _ => return None,
        };
        let rule_number: i32 = rule.parse().ok()?;
        (1..=32766).contains(&rule_number).then(|| AclEntryRef {
            acl_id: acl.to_string(),
            egress,
            rule_number,
        })
    }
}

/// The tags recording the ACL entries added for an interface.
pub fn encode_acl_entries(entries: &[AclEntryRef]) -> Vec<(String, String)> {
    let items: Vec<String> = entries.iter().map(AclEntryRef::encode).collect();
    to_chunks(markers::TAG_NETWORK_ACL_ENTRIES, &items, ' ')
}

/// The ACL entries recorded on an interface; items that do not parse are left out.
pub fn decode_acl_entries(tags: &BTreeMap<String, String>) -> Option<Vec<AclEntryRef>> {
    from_chunks(tags, markers::TAG_NETWORK_ACL_ENTRIES, ' ').map(|v| {
        v.split_whitespace()
            .filter_map(AclEntryRef::decode)
            .collect()
    })
}

/// The tag recording an interface's connection-tracking timeouts before isolation.
pub fn encode_conntrack(c: &ConnTracking) -> (String, String) {
    let mut items = Vec::new();
    if let Some(v) = c.tcp_established {
        items.push(format!("tcp={v}"));
    }
    if let Some(v) = c.udp_stream {
        items.push(format!("udps={v}"));
    }
    if let Some(v) = c.udp {
        items.push(format!("udp={v}"));
    }
    (markers::TAG_ORIGINAL_CONNTRACK.to_string(), items.join(";"))
}

/// An interface's recorded connection-tracking timeouts, if it has a record.
pub fn decode_conntrack(tags: &BTreeMap<String, String>) -> Option<ConnTracking> {
    let raw = tags.get(markers::TAG_ORIGINAL_CONNTRACK)?;
    let mut c = ConnTracking::default();
    for item in raw.split(';') {
        match item.split_once('=') {
            Some(("tcp", v)) => c.tcp_established = v.parse().ok(),
            Some(("udps", v)) => c.udp_stream = v.parse().ok(),
            Some(("udp", v)) => c.udp = v.parse().ok(),
            _ => {}
        }
    }
    Some(c)
}

/// How an instance was taken out of its Auto Scaling group's hands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AsgRemoval {
    /// `DetachInstances`: the instance left the group; rollback attaches it again.
    Detached,
    /// `EnterStandby`: the instance stays in the group, not health-checked; rollback exits
    /// standby.
    Standby,
}

/// Where target group ARNs live, to shorten them in the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnScope {
    /// `aws`, `aws-us-gov`, `aws-cn`.
    pub partition: String,
    /// The region.
    pub region: String,
    /// The account.
    pub account: String,
}

impl ArnScope {
    fn target_group_prefix(&self) -> String {
        format!(
            "arn:{}:elasticloadbalancing:{}:{}:targetgroup/",
            self.partition, self.region, self.account
        )
    }
}

/// What isolation changed on the instance, for rollback.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OriginalAttributes {
    /// Termination protection before isolation.
    pub termination_protection: Option<bool>,
    /// Shutdown behaviour before isolation.
    pub shutdown_behavior: Option<String>,
    /// The Auto Scaling group the instance was taken out of.
    pub auto_scaling_group: Option<String>,
    /// How it was taken out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_scaling_removal: Option<AsgRemoval>,
    /// Its scale-in protection in the group before isolation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_in_protection: Option<bool>,
    /// Its metadata options before they were hardened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<crate::model::MetadataOptions>,
    /// The target groups the instance was deregistered from.
    pub target_groups: Vec<Registration>,
}

impl OriginalAttributes {
    /// Adds what `current` knows and `self` does not; what `self` recorded wins, so a re-run
    /// never replaces a true original with the contained state.
    pub fn merged_with(&self, current: &OriginalAttributes) -> OriginalAttributes {
        let mut out = self.clone();
        if out.termination_protection.is_none() {
            out.termination_protection = current.termination_protection;
        }
        if out.shutdown_behavior.is_none() {
            out.shutdown_behavior.clone_from(&current.shutdown_behavior);
        }
        if out.auto_scaling_group.is_none() {
            out.auto_scaling_group
                .clone_from(&current.auto_scaling_group);
        }
        if out.auto_scaling_removal.is_none() {
            out.auto_scaling_removal = current.auto_scaling_removal;
        }
        if out.scale_in_protection.is_none() {
            out.scale_in_protection = current.scale_in_protection;
        }
        if out.metadata.is_none() {
            out.metadata.clone_from(&current.metadata);
        }
        for reg in &current.target_groups {
            match out
                .target_groups
                .iter_mut()
                .find(|r| r.target_group_arn == reg.target_group_arn)
            {
                Some(known) => {
                    for p in &reg.ports {
                        if !known.ports.contains(p) {
                            known.ports.push(*p);
                        }
                    }
                    known.ports.sort_unstable();
                }
                None => out.target_groups.push(reg.clone()),
            }
        }
        out
    }

    /// The tags holding this record.
    pub fn encode(&self, scope: &ArnScope) -> Vec<(String, String)> {
        let mut items = Vec::new();
        if let Some(dat) = self.termination_protection {
            items.push(format!("dat={dat}"));
        }
        if let Some(isb) = &self.shutdown_behavior {
            items.push(format!("isb={}", escape(isb)));
        }
        if let Some(asg) = &self.auto_scaling_group {
            items.push(format!("asg={}", escape(asg)));
        }
        match self.auto_scaling_removal {
            Some(AsgRemoval::Detached) => items.push("asgm=detached".into()),
            Some(AsgRemoval::Standby) => items.push("asgm=standby".into()),
            None => {}
        }
        if let Some(sip) = self.scale_in_protection {
            items.push(format!("sip={sip}"));
        }
        if let Some(m) = &self.metadata {
            items.push(format!("imds={}/{}", escape(&m.http_tokens), m.hop_limit));
        }
        let prefix = scope.target_group_prefix();
        for tg in &self.target_groups {
            let ports: Vec<String> = tg.ports.iter().map(i32::to_string).collect();
            let ports = ports.join(",");
            match tg.target_group_arn.strip_prefix(&prefix) {
                Some(short) => items.push(format!("tg={}@{ports}", escape(short))),
                None => items.push(format!("tga={}@{ports}", escape(&tg.target_group_arn))),
            }
        }
        to_chunks(markers::TAG_ORIGINAL_ATTRIBUTES, &items, ';')
    }

    /// Reads the record from the instance's tags; `None` when there is none. Items this
    /// version does not know are ignored.
    pub fn decode(tags: &BTreeMap<String, String>, scope: &ArnScope) -> Option<Self> {
        let raw = from_chunks(tags, markers::TAG_ORIGINAL_ATTRIBUTES, ';')?;
        let mut out = OriginalAttributes::default();
        let prefix = scope.target_group_prefix();
        for item in raw.split(';').filter(|i| !i.is_empty()) {
            let Some((name, value)) = item.split_once('=') else {
                continue;
            };
            match name {
                "dat" => out.termination_protection = value.parse().ok(),
                "isb" => out.shutdown_behavior = Some(unescape(value)),
                "asg" => out.auto_scaling_group = Some(unescape(value)),
                "asgm" => {
                    out.auto_scaling_removal = match value {
                        "detached" => Some(AsgRemoval::Detached),
                        "standby" => Some(AsgRemoval::Standby),
                        _ => None,
                    }
                }
                "sip" => out.scale_in_protection = value.parse().ok(),
                "imds" => {
                    out.metadata = value.split_once('/').and_then(|(t, h)| {
                        let tokens = unescape(t);
                        let hop: i32 = h.parse().ok()?;
                        (matches!(tokens.as_str(), "optional" | "required")
                            && (1..=64).contains(&hop))
                        .then_some(crate::model::MetadataOptions {
                            http_tokens: tokens,
                            hop_limit: hop,
                        })
                    })
                }
                "tg" | "tga" => {
                    let (arn, ports) = value.split_once('@').unwrap_or((value, ""));
                    let arn = unescape(arn);
                    let arn = if name == "tg" {
                        format!("{prefix}{arn}")
                    } else {
                        arn
                    };
                    let mut ports: Vec<i32> =
                        ports.split(',').filter_map(|p| p.parse().ok()).collect();
                    ports.sort_unstable();
                    out.target_groups.push(Registration {
                        target_group_arn: arn,
                        ports,
                    });
                }
                _ => {}
            }
        }
        Some(out)
    }
}

const ESCAPED: &[char] = &['%', ';', '=', '@', ',', ' '];

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if ESCAPED.contains(&c) {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let code = rest
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match code {
            Some(b) => {
                out.push(char::from(b));
                rest = &rest[i + 3..];
            }
            None => {
                out.push('%');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> ArnScope {
        ArnScope {
            partition: "aws".into(),
            region: "eu-west-1".into(),
            account: "222222222222".into(),
        }
    }

    fn tags(pairs: Vec<(String, String)>) -> BTreeMap<String, String> {
        pairs.into_iter().collect()
    }

    #[test]
    fn groups_round_trip_and_long_lists_continue_in_a_second_tag() {
        let few = vec!["sg-0a".to_string(), "sg-0b".to_string()];
        let enc = encode_groups(&few);
        assert_eq!(
            enc,
            vec![(
                markers::TAG_ORIGINAL_GROUPS.to_string(),
                "sg-0a sg-0b".into()
            )]
        );
        assert_eq!(decode_groups(&tags(enc)), Some(few));

        let many: Vec<String> = (0..16).map(|i| format!("sg-{i:017x}")).collect();
        let enc = encode_groups(&many);
        assert_eq!(enc.len(), 2);
        assert!(enc.iter().all(|(_, v)| v.len() <= limits::VALUE_MAX));
        assert_eq!(enc[1].0, format!("{}:2", markers::TAG_ORIGINAL_GROUPS));
        let t = tags(enc);
        assert_eq!(decode_groups(&t), Some(many));
        assert_eq!(present_keys(&t, markers::TAG_ORIGINAL_GROUPS).len(), 2);
        assert_eq!(decode_groups(&BTreeMap::new()), None);
    }

    #[test]
    fn attributes_round_trip_with_short_and_full_arns_and_escaped_names() {
        let rec = OriginalAttributes {
            termination_protection: Some(false),
            shutdown_behavior: Some("terminate".into()),
            auto_scaling_group: Some("web prod;a=b@c,d%".into()),
            auto_scaling_removal: Some(AsgRemoval::Standby),
            scale_in_protection: Some(false),
            metadata: Some(crate::model::MetadataOptions {
                http_tokens: "optional".into(),
                hop_limit: 2,
            }),
            target_groups: vec![
                Registration {
                    target_group_arn:
                        "arn:aws:elasticloadbalancing:eu-west-1:222222222222:targetgroup/web/73e2d6bc24d8a067"
                            .into(),
                    ports: vec![80, 443],
                },
                Registration {
                    target_group_arn:
                        "arn:aws:elasticloadbalancing:us-east-1:333333333333:targetgroup/x/0123456789abcdef"
                            .into(),
                    ports: vec![8080],
                },
            ],
        };
        let enc = rec.encode(&scope());
        assert_eq!(enc.len(), 1);
        assert!(enc[0].1.starts_with(
            "dat=false;isb=terminate;asg=web%20prod%3Ba%3Db%40c%2Cd%25;asgm=standby;sip=false;imds=optional/2;tg=web/73e2d6bc24d8a067@80,443;tga="
        ));
        assert_eq!(OriginalAttributes::decode(&tags(enc), &scope()), Some(rec));
    }

    #[test]
    fn many_target_groups_spill_into_continuation_tags() {
        let rec = OriginalAttributes {
            termination_protection: Some(true),
            shutdown_behavior: Some("stop".into()),
            auto_scaling_group: None,
            auto_scaling_removal: None,
            scale_in_protection: None,
            metadata: None,
            target_groups: (0..12)
                .map(|i| Registration {
                    target_group_arn: format!(
                        "arn:aws:elasticloadbalancing:eu-west-1:222222222222:targetgroup/group-with-a-long-name-{i:04}/{i:016x}"
                    ),
                    ports: vec![80, 443, 8443],
                })
                .collect(),
        };
        let enc = rec.encode(&scope());
        assert!(enc.len() > 1);
        assert!(enc.iter().all(|(_, v)| v.len() <= limits::VALUE_MAX));
        assert_eq!(OriginalAttributes::decode(&tags(enc), &scope()), Some(rec));
    }

    #[test]
    fn acl_entries_and_conntrack_round_trip_and_forged_items_are_dropped() {
        let entries = vec![
            AclEntryRef {
                acl_id: "acl-0a1b".into(),
                egress: false,
                rule_number: 3,
            },
            AclEntryRef {
                acl_id: "acl-0a1b".into(),
                egress: true,
                rule_number: 3,
            },
        ];
        let enc = encode_acl_entries(&entries);
        assert_eq!(enc[0].1, "acl-0a1b:in:3 acl-0a1b:out:3");
        assert_eq!(decode_acl_entries(&tags(enc)), Some(entries));
        // A value written by someone else: only well-formed items within the rule range count.
        let forged = tags(vec![(
            markers::TAG_NETWORK_ACL_ENTRIES.to_string(),
            "acl-1:in:0 acl-1:in:32767 sg-1:in:5 acl-1:sideways:5 acl-1:out:7".into(),
        )]);
        assert_eq!(
            decode_acl_entries(&forged),
            Some(vec![AclEntryRef {
                acl_id: "acl-1".into(),
                egress: true,
                rule_number: 7
            }])
        );
        let c = ConnTracking {
            tcp_established: Some(432000),
            udp_stream: None,
            udp: Some(30),
        };
        let (k, v) = encode_conntrack(&c);
        assert_eq!(v, "tcp=432000;udp=30");
        assert_eq!(decode_conntrack(&tags(vec![(k, v)])), Some(c));
    }

    #[test]
    fn merge_keeps_recorded_values_and_adds_new_ones() {
        let recorded = OriginalAttributes {
            termination_protection: Some(false),
            shutdown_behavior: Some("terminate".into()),
            auto_scaling_group: None,
            auto_scaling_removal: None,
            scale_in_protection: None,
            metadata: None,
            target_groups: vec![Registration {
                target_group_arn: "a".into(),
                ports: vec![80],
            }],
        };
        let now = OriginalAttributes {
            termination_protection: Some(true),
            shutdown_behavior: Some("stop".into()),
            auto_scaling_group: Some("asg".into()),
            auto_scaling_removal: Some(AsgRemoval::Detached),
            scale_in_protection: Some(true),
            metadata: None,
            target_groups: vec![
                Registration {
                    target_group_arn: "a".into(),
                    ports: vec![443],
                },
                Registration {
                    target_group_arn: "b".into(),
                    ports: vec![80],
                },
            ],
        };
        let m = recorded.merged_with(&now);
        assert_eq!(m.termination_protection, Some(false));
        assert_eq!(m.shutdown_behavior.as_deref(), Some("terminate"));
        assert_eq!(m.auto_scaling_group.as_deref(), Some("asg"));
        assert_eq!(m.auto_scaling_removal, Some(AsgRemoval::Detached));
        assert_eq!(m.target_groups[0].ports, vec![80, 443]);
        assert_eq!(m.target_groups.len(), 2);
        assert_eq!(m.merged_with(&now), m, "merging again changes nothing");
    }
}
