//! Names of the tags and groups this project puts on AWS resources.
//!
//! They are how a later run recognises earlier work (already contained, original groups,
//! snapshots of this finding), so they are stable like error names.

/// Prefix of every tag key this project writes.
pub const TAG_PREFIX: &str = "guardduty-responder:";
/// On an instance: `quarantined`, `restored`. Its presence with `quarantined` means a
/// re-delivered finding must not act again.
pub const TAG_STATUS: &str = "guardduty-responder:status";
/// On an instance or snapshot: the finding id.
pub const TAG_FINDING_ID: &str = "guardduty-responder:finding-id";
/// On an instance: the finding type.
pub const TAG_FINDING_TYPE: &str = "guardduty-responder:finding-type";
/// On an instance or snapshot: the execution that acted.
pub const TAG_EXECUTION: &str = "guardduty-responder:execution";
/// On an instance: when the pipeline acted (RFC 3339, UTC).
pub const TAG_TIME: &str = "guardduty-responder:time";
/// On an instance: the severity and tier, e.g. `8.0 HIGH`.
pub const TAG_SEVERITY: &str = "guardduty-responder:severity";
/// On a network interface: its security group ids before isolation, space-separated.
pub const TAG_ORIGINAL_GROUPS: &str = "guardduty-responder:original-groups";
/// On an instance: attributes changed by isolation, as a compact record for rollback
/// (termination protection, shutdown behaviour, Auto Scaling group, target groups).
pub const TAG_ORIGINAL_ATTRIBUTES: &str = "guardduty-responder:original-attributes";
/// On a network interface: the network ACL entries isolation added for its addresses
/// (`acl-ID:in|out:RULE`, space-separated), which rollback deletes.
pub const TAG_NETWORK_ACL_ENTRIES: &str = "guardduty-responder:network-acl-entries";
/// On a network interface: its connection-tracking idle timeouts before isolation.
pub const TAG_ORIGINAL_CONNTRACK: &str = "guardduty-responder:original-conntrack";
/// On a Lambda function: its reserved concurrency before containment (`none` or a number).
pub const TAG_ORIGINAL_CONCURRENCY: &str = "guardduty-responder:original-concurrency";
/// On an S3 bucket: its Block Public Access settings before containment (`none`, or the four
/// settings as `BlockPublicAcls=true IgnorePublicAcls=false ...`).
pub const TAG_ORIGINAL_PUBLIC_ACCESS_BLOCK: &str =
    "guardduty-responder:original-public-access-block";
/// On a snapshot: its purpose.
pub const TAG_PURPOSE: &str = "guardduty-responder:purpose";
/// On a snapshot: the instance it was taken from.
pub const TAG_INSTANCE: &str = "guardduty-responder:instance-id";
/// On a quarantine security group: its role (`quarantine` or `untrack`).
pub const TAG_GROUP_ROLE: &str = "guardduty-responder:group-role";

/// Value of [`TAG_STATUS`] while contained.
pub const STATUS_QUARANTINED: &str = "quarantined";
/// Value of [`TAG_STATUS`] after a rollback.
pub const STATUS_RESTORED: &str = "restored";
/// Value of [`TAG_PURPOSE`] on evidence snapshots.
pub const PURPOSE_EVIDENCE: &str = "incident-evidence";

/// Name of the quarantine security group in each VPC (no inbound rules).
pub const QUARANTINE_GROUP_NAME: &str = "guardduty-responder-quarantine";
/// Name of the group that allows all traffic, used for one step to turn tracked connections
/// into untracked ones so the quarantine group then cuts them.
pub const UNTRACK_GROUP_NAME: &str = "guardduty-responder-untrack";

/// Prefix of the inline deny policy `revoke` puts on a user or role; see [`deny_policy_name`].
pub const DENY_POLICY_PREFIX: &str = "guardduty-responder-deny-";

/// The name of the inline deny policy `revoke` attaches for a finding (from
/// `Decision::idempotency_key`). A principal carrying it is already contained; the rollback
/// deletes it.
pub fn deny_policy_name(idempotency_key: &str) -> String {
    format!("{DENY_POLICY_PREFIX}{idempotency_key}")
}

/// AWS limits on tags.
pub mod limits {
    /// Maximum tag key length.
    pub const KEY_MAX: usize = 128;
    /// Maximum tag value length.
    pub const VALUE_MAX: usize = 256;
    /// Maximum tags per resource.
    pub const TAGS_PER_RESOURCE: usize = 50;

    /// Whether the keys not yet among a resource's tag keys fit within the 50 user tags an AWS
    /// resource may carry ("Tagging AWS resources", tag naming limits; tags AWS writes, `aws:*`,
    /// do not count).
    pub fn room_for<'a>(present: impl IntoIterator<Item = &'a str>, keys: &[&str]) -> bool {
        let present: Vec<&str> = present.into_iter().collect();
        let new = keys.iter().filter(|k| !present.contains(k)).count();
        let user = present.iter().filter(|k| !k.starts_with("aws:")).count();
        user + new <= TAGS_PER_RESOURCE
    }
}

/// Cuts a tag value to AWS's limit on a character boundary.
pub fn tag_value(s: &str) -> String {
    if s.len() <= limits::VALUE_MAX {
        return s.to_string();
    }
    let mut end = limits::VALUE_MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}
