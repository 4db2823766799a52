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
//!   - `asg=NAME`: the Auto Scaling group the instance was detached from;
//!   - `tg=NAME/ID@PORT,PORT`: a target group it was deregistered from, by the last part of its
//!     ARN (`targetgroup/NAME/ID`; the rest is the instance's partition, region and account),
//!     with the ports; `tga=ARN@PORTS` holds a full ARN that does not fit that pattern.
//!
//!   Values escape `%`, `;`, `=`, `@`, `,` and space as `%XX`. Example:
//!   `dat=false;isb=terminate;asg=web-prod;tg=web/73e2d6bc24d8a067@80,443`.
//!
//! A record is written before the change it records and never overwritten, so a re-run keeps
//! the true originals; rollback removes it.

use std::collections::BTreeMap;

use responder_core::markers::{self, limits};
use serde::Serialize;

use crate::model::Registration;

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
    /// The Auto Scaling group the instance was detached from.
    pub auto_scaling_group: Option<String>,
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
            "dat=false;isb=terminate;asg=web%20prod%3Ba%3Db%40c%2Cd%25;tg=web/73e2d6bc24d8a067@80,443;tga="
        ));
        assert_eq!(OriginalAttributes::decode(&tags(enc), &scope()), Some(rec));
    }

    #[test]
    fn many_target_groups_spill_into_continuation_tags() {
        let rec = OriginalAttributes {
            termination_protection: Some(true),
            shutdown_behavior: Some("stop".into()),
            auto_scaling_group: None,
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
    fn merge_keeps_recorded_values_and_adds_new_ones() {
        let recorded = OriginalAttributes {
            termination_protection: Some(false),
            shutdown_behavior: Some("terminate".into()),
            auto_scaling_group: None,
            target_groups: vec![Registration {
                target_group_arn: "a".into(),
                ports: vec![80],
            }],
        };
        let now = OriginalAttributes {
            termination_protection: Some(true),
            shutdown_behavior: Some("stop".into()),
            auto_scaling_group: Some("asg".into()),
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
        assert_eq!(m.target_groups[0].ports, vec![80, 443]);
        assert_eq!(m.target_groups.len(), 2);
        assert_eq!(m.merged_with(&now), m, "merging again changes nothing");
    }
}
