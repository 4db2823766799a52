//! Quotas AWS enforces and moto does not, checked against moto's state before a call is
//! forwarded. The proxy reads that state with its own query calls to moto, signed with the
//! caller's `Authorization` header so moto resolves the caller's account.
//!
//! - IAM inline policies: the non-whitespace characters of all of a principal's inline
//!   policies together, at most 2,048 for a user, 10,240 for a role, 5,120 for a group
//!   (`LimitExceeded`, HTTP 409). "IAM and AWS STS quotas":
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>; the error:
//!   <https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutUserPolicy.html>.
//! - EC2 tags: 50 per resource (`TagLimitExceeded`).
//!   <https://docs.aws.amazon.com/ec2/latest/devguide/Using_Tags.html#tag-restrictions>
//! - VPC: 20 entries per network ACL and direction (`NetworkAclEntryLimitExceeded`), 60 rules
//!   per security group and direction, IPv4 and IPv6 counted apart, a rule naming a group or a
//!   prefix list counting for both (`RulesPerSecurityGroupLimitExceeded`), 5 security groups per
//!   network interface (`SecurityGroupsPerInterfaceLimitExceeded`).
//!   <https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html>; the codes:
//!   <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html>.

use std::collections::BTreeSet;

use http::HeaderMap;

use crate::request::{name_matches, AwsRequest};
use crate::scenario::Quotas;
use crate::shapes::AwsError;
use crate::upstream::{Upstream, UpstreamError};
use crate::xml;

const IAM_VERSION: &str = "2010-05-08";
const EC2_VERSION: &str = "2016-11-15";

/// A quota refusal: the quota's name (for the counts) and the error.
pub type Refusal = (&'static str, AwsError);

/// Checks the call against the quotas in force. `Ok(None)`: within the quotas, or not a call
/// any quota applies to. An error: the state could not be read (the call is then forwarded and
/// moto answers it).
pub async fn check(
    request: &AwsRequest,
    headers: &HeaderMap,
    quotas: &Quotas,
    upstream: &Upstream,
) -> Result<Option<Refusal>, UpstreamError> {
    let reads = Reads { headers, upstream };
    match (request.service.as_str(), request.action.as_str()) {
        ("iam", "PutUserPolicy") => match quotas.user_inline_policy_chars {
            Some(limit) => inline_policies(request, &reads, &USER, limit).await,
            None => Ok(None),
        },
        ("iam", "PutRolePolicy") => match quotas.role_inline_policy_chars {
            Some(limit) => inline_policies(request, &reads, &ROLE, limit).await,
            None => Ok(None),
        },
        ("iam", "PutGroupPolicy") => match quotas.group_inline_policy_chars {
            Some(limit) => inline_policies(request, &reads, &GROUP, limit).await,
            None => Ok(None),
        },
        ("ec2", "CreateTags") => match quotas.tags_per_resource {
            Some(limit) => tags(request, &reads, limit).await,
            None => Ok(None),
        },
        ("ec2", "CreateNetworkAclEntry") => match quotas.network_acl_entries {
            Some(limit) => network_acl_entries(request, &reads, limit).await,
            None => Ok(None),
        },
        ("ec2", "AuthorizeSecurityGroupIngress" | "AuthorizeSecurityGroupEgress") => {
            match quotas.rules_per_security_group {
                Some(limit) => security_group_rules(request, &reads, limit).await,
                None => Ok(None),
            }
        }
        ("ec2", "ModifyNetworkInterfaceAttribute" | "CreateNetworkInterface") => Ok(quotas
            .security_groups_per_interface
            .and_then(|limit| groups_per_interface(request, limit))),
        _ => Ok(None),
    }
}

/// The proxy's reads, signed as the caller's call.
struct Reads<'a> {
    headers: &'a HeaderMap,
    upstream: &'a Upstream,
}

impl Reads<'_> {
    async fn query(&self, form: &[(&str, &str)]) -> Result<String, UpstreamError> {
        self.upstream.query(self.headers, form).await
    }
}

/// The IAM calls of one kind of principal.
struct Principal {
    kind: &'static str,
    field: &'static str,
    list: &'static str,
    get: &'static str,
}

const USER: Principal = Principal {
    kind: "user",
    field: "UserName",
    list: "ListUserPolicies",
    get: "GetUserPolicy",
};
const ROLE: Principal = Principal {
    kind: "role",
    field: "RoleName",
    list: "ListRolePolicies",
    get: "GetRolePolicy",
};
const GROUP: Principal = Principal {
    kind: "group",
    field: "GroupName",
    list: "ListGroupPolicies",
    get: "GetGroupPolicy",
};

/// The size IAM counts for a policy: its characters, white space excluded.
pub fn policy_size(document: &str) -> u64 {
    document.chars().filter(|c| !c.is_whitespace()).count() as u64
}

async fn inline_policies(
    request: &AwsRequest,
    reads: &Reads<'_>,
    principal: &Principal,
    limit: u64,
) -> Result<Option<Refusal>, UpstreamError> {
    let (Some(name), Some(policy), Some(document)) = (
        request.param(principal.field),
        request.param("PolicyName"),
        request.param("PolicyDocument"),
    ) else {
        return Ok(None);
    };
    let mut names = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let mut form = vec![
            ("Action", principal.list),
            ("Version", IAM_VERSION),
            (principal.field, name),
        ];
        if let Some(m) = &marker {
            form.push(("Marker", m));
        }
        let answer = reads.query(&form).await?;
        names.extend(xml::texts(&answer, "member"));
        marker = match xml::first_text(&answer, "IsTruncated").as_deref() {
            Some("true") => xml::first_text(&answer, "Marker"),
            _ => None,
        };
        if marker.is_none() {
            break;
        }
    }
    // The new document replaces one of the same name.
    let mut total = policy_size(document);
    for other in names.iter().filter(|n| n.as_str() != policy) {
        let answer = reads
            .query(&[
                ("Action", principal.get),
                ("Version", IAM_VERSION),
                (principal.field, name),
                ("PolicyName", other),
            ])
            .await?;
        let stored = xml::first_text(&answer, "PolicyDocument").unwrap_or_default();
        total += policy_size(&percent_decode(&stored));
    }
    if total <= limit {
        return Ok(None);
    }
    Ok(Some((
        "inline-policy-size",
        AwsError::new(
            "LimitExceeded",
            409,
            format!(
                "Maximum policy size of {limit} bytes exceeded for {} {name}",
                principal.kind
            ),
        ),
    )))
}

async fn tags(
    request: &AwsRequest,
    reads: &Reads<'_>,
    limit: u64,
) -> Result<Option<Refusal>, UpstreamError> {
    let new_keys: BTreeSet<&str> = request
        .params
        .iter()
        .filter(|(k, _)| name_matches("Tag.N.Key", k))
        .map(|(_, v)| v.as_str())
        .filter(|k| !k.starts_with("aws:"))
        .collect();
    if new_keys.is_empty() {
        return Ok(None);
    }
    for resource in request.params_like("ResourceId.N") {
        let mut keys: BTreeSet<String> = new_keys.iter().map(|k| (*k).to_owned()).collect();
        let mut token: Option<String> = None;
        loop {
            let mut form = vec![
                ("Action", "DescribeTags"),
                ("Version", EC2_VERSION),
                ("Filter.1.Name", "resource-id"),
                ("Filter.1.Value.1", resource),
                ("MaxResults", "1000"),
            ];
            if let Some(t) = &token {
                form.push(("NextToken", t));
            }
            let answer = reads.query(&form).await?;
            keys.extend(
                xml::texts(&answer, "key")
                    .into_iter()
                    .filter(|k| !k.starts_with("aws:")),
            );
            token = xml::first_text(&answer, "nextToken").filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        if keys.len() as u64 > limit {
            return Ok(Some((
                "tags-per-resource",
                AwsError::new(
                    "TagLimitExceeded",
                    400,
                    "The maximum number of Tags for a resource has been reached.",
                ),
            )));
        }
    }
    Ok(None)
}

/// AWS's default rules (the last, unchangeable deny of each family) do not count.
const DEFAULT_ACL_RULES: &[&str] = &["32767", "32768"];

async fn network_acl_entries(
    request: &AwsRequest,
    reads: &Reads<'_>,
    limit: u64,
) -> Result<Option<Refusal>, UpstreamError> {
    let Some(acl) = request.param("NetworkAclId") else {
        return Ok(None);
    };
    let egress = request.param("Egress") == Some("true");
    let ipv6 = request.param("Ipv6CidrBlock").is_some();
    let answer = reads
        .query(&[
            ("Action", "DescribeNetworkAcls"),
            ("Version", EC2_VERSION),
            ("NetworkAclId.1", acl),
        ])
        .await?;
    let Ok(doc) = roxmltree::Document::parse(&answer) else {
        return Ok(None);
    };
    let existing = doc
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "entrySet")
        .flat_map(|set| set.children().filter(|n| n.is_element()))
        .filter(|entry| {
            let rule = xml::child_text(*entry, "ruleNumber").unwrap_or_default();
            let entry_egress = xml::child_text(*entry, "egress").as_deref() == Some("true");
            let entry_ipv6 = xml::child(*entry, "ipv6CidrBlock").is_some();
            !DEFAULT_ACL_RULES.contains(&rule.as_str())
                && entry_egress == egress
                && entry_ipv6 == ipv6
        })
        .count() as u64;
    if existing < limit {
        return Ok(None);
    }
    Ok(Some((
        "network-acl-entries",
        AwsError::new(
            "NetworkAclEntryLimitExceeded",
            400,
            "The maximum number of network ACL entries has been reached.",
        ),
    )))
}

/// Rules counted against the IPv4 and the IPv6 quota.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RuleCount {
    /// IPv4 CIDRs, plus group and prefix-list references.
    pub ipv4: u64,
    /// IPv6 CIDRs, plus group and prefix-list references.
    pub ipv6: u64,
}

/// How many distinct list entries `pattern` (e.g. `IpPermissions.N.Groups.M`) has among the
/// parameter names (each entry has one or more fields below it).
fn entries(request: &AwsRequest, pattern: &str) -> u64 {
    let depth = pattern.split('.').count();
    request
        .params
        .iter()
        .filter_map(|(k, _)| {
            let prefix: Vec<&str> = k.split('.').take(depth).collect();
            let prefix = prefix.join(".");
            (k.len() > prefix.len() && name_matches(pattern, &prefix)).then_some(prefix)
        })
        .collect::<BTreeSet<_>>()
        .len() as u64
}

/// The rules an Authorize call adds.
pub fn requested_rules(request: &AwsRequest) -> RuleCount {
    let both = entries(request, "IpPermissions.N.Groups.M")
        + entries(request, "IpPermissions.N.PrefixListIds.M")
        + u64::from(request.param("SourceSecurityGroupName").is_some());
    RuleCount {
        ipv4: entries(request, "IpPermissions.N.IpRanges.M")
            + u64::from(request.param("CidrIp").is_some())
            + both,
        ipv6: entries(request, "IpPermissions.N.Ipv6Ranges.M") + both,
    }
}

/// The rules of one direction (`ipPermissions` or `ipPermissionsEgress`) of a group in a
/// `DescribeSecurityGroups` answer.
pub fn existing_rules(answer: &str, group_id: &str, list: &str) -> RuleCount {
    let Ok(doc) = roxmltree::Document::parse(answer) else {
        return RuleCount::default();
    };
    let Some(group) = doc.descendants().find(|n| {
        n.is_element()
            && n.tag_name().name() == "item"
            && xml::child_text(*n, "groupId").as_deref() == Some(group_id)
    }) else {
        return RuleCount::default();
    };
    let mut count = RuleCount::default();
    for permission in xml::items(group, list) {
        let len = |tag: &str| xml::items(permission, tag).len() as u64;
        let both = len("groups") + len("prefixListIds");
        count.ipv4 += len("ipRanges") + both;
        count.ipv6 += len("ipv6Ranges") + both;
    }
    count
}

async fn security_group_rules(
    request: &AwsRequest,
    reads: &Reads<'_>,
    limit: u64,
) -> Result<Option<Refusal>, UpstreamError> {
    let Some(group) = request.param("GroupId") else {
        return Ok(None);
    };
    let new = requested_rules(request);
    if new == RuleCount::default() {
        return Ok(None);
    }
    let answer = reads
        .query(&[
            ("Action", "DescribeSecurityGroups"),
            ("Version", EC2_VERSION),
            ("GroupId.1", group),
        ])
        .await?;
    let list = if request.action == "AuthorizeSecurityGroupEgress" {
        "ipPermissionsEgress"
    } else {
        "ipPermissions"
    };
    let existing = existing_rules(&answer, group, list);
    if (new.ipv4 > 0 && existing.ipv4 + new.ipv4 > limit)
        || (new.ipv6 > 0 && existing.ipv6 + new.ipv6 > limit)
    {
        return Ok(Some((
            "rules-per-security-group",
            AwsError::new(
                "RulesPerSecurityGroupLimitExceeded",
                400,
                "The maximum number of rules per security group has been reached.",
            ),
        )));
    }
    Ok(None)
}

fn groups_per_interface(request: &AwsRequest, limit: u64) -> Option<Refusal> {
    let groups: BTreeSet<&str> = request.params_like("SecurityGroupId.N").collect();
    (groups.len() as u64 > limit).then(|| {
        (
            "security-groups-per-interface",
            AwsError::new(
                "SecurityGroupsPerInterfaceLimitExceeded",
                400,
                "The maximum number of security groups per interface has been reached.",
            ),
        )
    })
}

/// Decodes `%XX` escapes (IAM answers policy documents URL-encoded, RFC 3986); malformed
/// escapes stay as they are.
pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::HeaderValue;

    fn ec2(body: &str) -> AwsRequest {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/ec2/aws4_request, SignedHeaders=host, Signature=x",
            ),
        );
        AwsRequest::parse(&h, None, Bytes::from(body.to_owned()))
    }

    #[test]
    fn policy_size_ignores_white_space_and_decoding_restores_the_document() {
        assert_eq!(policy_size("{ \"a\" :\n\t1 }"), 7);
        assert_eq!(percent_decode("%7B%22a%22%3A%201%7D"), "{\"a\": 1}");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn requested_rules_count_ipv4_and_ipv6_apart() {
        let r = ec2(
            "Action=AuthorizeSecurityGroupIngress&GroupId=sg-1\
             &IpPermissions.1.IpProtocol=tcp&IpPermissions.1.IpRanges.1.CidrIp=10.0.0.0/8\
             &IpPermissions.1.IpRanges.2.CidrIp=10.1.0.0/16&IpPermissions.1.IpRanges.2.Description=x\
             &IpPermissions.1.Ipv6Ranges.1.CidrIpv6=::/0\
             &IpPermissions.2.Groups.1.GroupId=sg-2",
        );
        assert_eq!(requested_rules(&r), RuleCount { ipv4: 3, ipv6: 2 });
        let legacy = ec2(
            "Action=AuthorizeSecurityGroupIngress&GroupId=sg-1&CidrIp=0.0.0.0/0&IpProtocol=tcp",
        );
        assert_eq!(requested_rules(&legacy), RuleCount { ipv4: 1, ipv6: 0 });
    }

    #[test]
    fn existing_rules_are_read_from_describe_security_groups() {
        let answer = r#"<DescribeSecurityGroupsResponse><securityGroupInfo><item><groupId>sg-1</groupId>
            <ipPermissions>
              <item><ipProtocol>tcp</ipProtocol><groups><item><groupId>sg-2</groupId></item></groups>
                <ipRanges><item><cidrIp>10.0.0.0/8</cidrIp></item><item><cidrIp>10.1.0.0/16</cidrIp></item></ipRanges>
                <ipv6Ranges/><prefixListIds/></item>
            </ipPermissions>
            <ipPermissionsEgress>
              <item><ipProtocol>-1</ipProtocol><groups/><ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges>
                <ipv6Ranges><item><cidrIpv6>::/0</cidrIpv6></item></ipv6Ranges><prefixListIds/></item>
            </ipPermissionsEgress></item></securityGroupInfo></DescribeSecurityGroupsResponse>"#;
        assert_eq!(
            existing_rules(answer, "sg-1", "ipPermissions"),
            RuleCount { ipv4: 3, ipv6: 1 }
        );
        assert_eq!(
            existing_rules(answer, "sg-1", "ipPermissionsEgress"),
            RuleCount { ipv4: 1, ipv6: 1 }
        );
        assert_eq!(
            existing_rules(answer, "sg-9", "ipPermissions"),
            RuleCount::default()
        );
    }

    #[test]
    fn more_than_five_groups_on_an_interface_is_refused() {
        let five = (1..=5)
            .map(|i| format!("&SecurityGroupId.{i}=sg-{i}"))
            .collect::<String>();
        let r = ec2(&format!(
            "Action=ModifyNetworkInterfaceAttribute&NetworkInterfaceId=eni-1{five}"
        ));
        assert!(groups_per_interface(&r, 5).is_none());
        let r = ec2(&format!("Action=ModifyNetworkInterfaceAttribute&NetworkInterfaceId=eni-1{five}&SecurityGroupId.6=sg-6"));
        let (quota, error) = groups_per_interface(&r, 5).expect("refused");
        assert_eq!(quota, "security-groups-per-interface");
        assert_eq!(error.code, "SecurityGroupsPerInterfaceLimitExceeded");
    }
}
