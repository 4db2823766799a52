//! Eventual consistency: for a while after a resource is created, AWS may answer that it does
//! not exist. moto is immediately consistent, so the proxy plays the window.
//!
//! One table drives it: each [`Kind`] names the actions that create its resources, how to find
//! the new resource's key in the creating call (its request or moto's answer), how to find the
//! keys a later call names, and the error such a call gets while the window is open.
//!
//! - EC2: "Eventual consistency in the Amazon EC2 API" — a security group or snapshot just
//!   created may answer `InvalidGroup.NotFound` / `InvalidSnapshot.NotFound`.
//!   <https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html>
//! - IAM: "Changes that I make are not always immediately visible" — a policy just put may not
//!   be found yet (`NoSuchEntity`, 404).
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency>

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::request::AwsRequest;
use crate::shapes::AwsError;
use crate::xml;

/// One kind of resource with an eventual-consistency window.
#[derive(Debug)]
pub struct Kind {
    /// The name used in scenario files.
    pub name: &'static str,
    /// The service (signing name).
    pub service: &'static str,
    /// The actions that create it.
    pub creates: &'static [&'static str],
    /// The keys a successful creating call made: (request, moto's answer) -> keys.
    pub created: fn(&AwsRequest, &str) -> Vec<String>,
    /// The keys a later call names.
    pub named: fn(&AwsRequest) -> Vec<String>,
    /// The error a call naming a hidden key gets.
    pub error: fn(&str) -> AwsError,
}

/// Every kind the proxy knows.
pub const KINDS: &[Kind] = &[
    Kind {
        name: "security-group",
        service: "ec2",
        creates: &["CreateSecurityGroup"],
        created: |_, answer| xml::texts(answer, "groupId"),
        named: ec2_values,
        error: |id| {
            AwsError::new(
                "InvalidGroup.NotFound",
                400,
                format!("The security group '{id}' does not exist"),
            )
        },
    },
    Kind {
        name: "inline-policy",
        service: "iam",
        creates: &["PutUserPolicy", "PutRolePolicy", "PutGroupPolicy"],
        created: |request, _| inline_policy_key(request).into_iter().collect(),
        named: |request| match request.action.as_str() {
            "GetUserPolicy" | "GetRolePolicy" | "GetGroupPolicy" => {
                inline_policy_key(request).into_iter().collect()
            }
            _ => Vec::new(),
        },
        error: |key| {
            // The key is `<principal kind>/<principal>/<policy>`.
            let mut parts = key.splitn(3, '/');
            let principal = parts.next().unwrap_or_default();
            let _name = parts.next();
            let policy = parts.next().unwrap_or_default();
            AwsError::new(
                "NoSuchEntity",
                404,
                format!("The {principal} policy with name {policy} cannot be found."),
            )
        },
    },
    Kind {
        name: "snapshot",
        service: "ec2",
        creates: &["CreateSnapshot", "CreateSnapshots"],
        created: |_, answer| xml::texts(answer, "snapshotId"),
        named: ec2_values,
        error: |id| {
            AwsError::new(
                "InvalidSnapshot.NotFound",
                400,
                format!("The snapshot '{id}' does not exist."),
            )
        },
    },
];

/// The kind of this name.
pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

/// The ids an EC2 call names: every parameter value except filters. A filter that names a
/// resource still in its window returns an empty list on AWS rather than an error, which the
/// proxy cannot play without rewriting moto's answer; such calls are forwarded.
fn ec2_values(request: &AwsRequest) -> Vec<String> {
    request
        .params
        .iter()
        .filter(|(k, _)| !k.starts_with("Filter.") && k != "Action" && k != "Version")
        .map(|(_, v)| v.clone())
        .collect()
}

/// `user/<UserName>/<PolicyName>` (or `role/...`, `group/...`) of an inline-policy call.
fn inline_policy_key(request: &AwsRequest) -> Option<String> {
    let (principal, field) = if request.action.contains("User") {
        ("user", "UserName")
    } else if request.action.contains("Role") {
        ("role", "RoleName")
    } else {
        ("group", "GroupName")
    };
    let name = request.param(field)?;
    let policy = request.param("PolicyName")?;
    Some(format!("{principal}/{name}/{policy}"))
}

/// The open windows.
#[derive(Debug, Default)]
pub struct Windows {
    hidden: HashMap<(&'static str, String), Instant>,
}

impl Windows {
    /// Opens windows for what a successful call created, when its kind has a window in
    /// `durations` (kind name -> seconds). Returns how many were opened, by kind.
    pub fn record(
        &mut self,
        request: &AwsRequest,
        answer: &str,
        durations: &std::collections::BTreeMap<String, f64>,
        now: Instant,
    ) -> Vec<(&'static str, u64)> {
        let mut opened = Vec::new();
        for kind in KINDS {
            if kind.service != request.service || !kind.creates.contains(&request.action.as_str()) {
                continue;
            }
            let Some(seconds) = durations.get(kind.name).copied().filter(|s| *s > 0.0) else {
                continue;
            };
            let until = now + Duration::from_secs_f64(seconds);
            let keys = (kind.created)(request, answer);
            if !keys.is_empty() {
                opened.push((kind.name, keys.len() as u64));
            }
            for key in keys {
                self.hidden.insert((kind.name, key), until);
            }
        }
        opened
    }

    /// The error for a call that names something still hidden, and the kind's name.
    pub fn hides(
        &mut self,
        request: &AwsRequest,
        now: Instant,
    ) -> Option<(&'static str, AwsError)> {
        self.hidden.retain(|_, until| *until > now);
        if self.hidden.is_empty() {
            return None;
        }
        for kind in KINDS {
            // The creating call itself may repeat a name (a retried PutUserPolicy names the
            // same policy); it is never refused for it.
            if kind.service != request.service || kind.creates.contains(&request.action.as_str()) {
                continue;
            }
            for key in (kind.named)(request) {
                if self.hidden.contains_key(&(kind.name, key.clone())) {
                    return Some((kind.name, (kind.error)(&key)));
                }
            }
        }
        None
    }

    /// Forgets every window.
    pub fn clear(&mut self) {
        self.hidden.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use bytes::Bytes;
    use http::{HeaderMap, HeaderValue};

    fn request(service: &str, body: &str) -> AwsRequest {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(&format!(
                "AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/{service}/aws4_request, SignedHeaders=host, Signature=x"
            ))
            .expect("header"),
        );
        AwsRequest::parse(&h, None, Bytes::from(body.to_owned()))
    }

    fn durations(kind: &str, seconds: f64) -> BTreeMap<String, f64> {
        BTreeMap::from([(kind.to_owned(), seconds)])
    }

    #[test]
    fn extractors_find_the_new_ids() {
        let sg = kind("security-group").expect("kind");
        let answer = r#"<CreateSecurityGroupResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>1</requestId><return>true</return><groupId>sg-0abc</groupId></CreateSecurityGroupResponse>"#;
        assert_eq!(
            (sg.created)(&request("ec2", "Action=CreateSecurityGroup"), answer),
            ["sg-0abc"]
        );
        let snap = kind("snapshot").expect("kind");
        let many = "<CreateSnapshotsResponse><snapshotSet><item><snapshotId>snap-1</snapshotId></item><item><snapshotId>snap-2</snapshotId></item></snapshotSet></CreateSnapshotsResponse>";
        assert_eq!(
            (snap.created)(&request("ec2", "Action=CreateSnapshots"), many),
            ["snap-1", "snap-2"]
        );
        let policy = kind("inline-policy").expect("kind");
        let put = request(
            "iam",
            "Action=PutRolePolicy&RoleName=web&PolicyName=deny&PolicyDocument=%7B%7D",
        );
        assert_eq!((policy.created)(&put, ""), ["role/web/deny"]);
    }

    #[test]
    fn a_new_group_is_hidden_for_its_window_then_shown() {
        let mut w = Windows::default();
        let t0 = Instant::now();
        let created = w.record(
            &request("ec2", "Action=CreateSecurityGroup&GroupName=q"),
            "<r><groupId>sg-1</groupId></r>",
            &durations("security-group", 2.0),
            t0,
        );
        assert_eq!(created, [("security-group", 1)]);
        let modify = request(
            "ec2",
            "Action=ModifyNetworkInterfaceAttribute&NetworkInterfaceId=eni-1&SecurityGroupId.1=sg-1",
        );
        let (kind, error) = w
            .hides(&modify, t0 + Duration::from_secs(1))
            .expect("hidden");
        assert_eq!(kind, "security-group");
        assert_eq!(
            error,
            AwsError::new(
                "InvalidGroup.NotFound",
                400,
                "The security group 'sg-1' does not exist"
            )
        );
        // Filters are not refused, other groups are not hidden, and the window closes.
        let filtered = request(
            "ec2",
            "Action=DescribeSecurityGroups&Filter.1.Name=group-id&Filter.1.Value.1=sg-1",
        );
        assert!(w.hides(&filtered, t0).is_none());
        assert!(w
            .hides(&request("ec2", "Action=X&GroupId=sg-2"), t0)
            .is_none());
        assert!(w.hides(&modify, t0 + Duration::from_secs(3)).is_none());
    }

    #[test]
    fn a_new_inline_policy_is_not_found_by_get_only() {
        let mut w = Windows::default();
        let t0 = Instant::now();
        let put = request(
            "iam",
            "Action=PutUserPolicy&UserName=bot&PolicyName=deny-all&PolicyDocument=%7B%7D",
        );
        w.record(&put, "", &durations("inline-policy", 5.0), t0);
        let get = request(
            "iam",
            "Action=GetUserPolicy&UserName=bot&PolicyName=deny-all",
        );
        let (_, error) = w.hides(&get, t0).expect("hidden");
        assert_eq!(
            error,
            AwsError::new(
                "NoSuchEntity",
                404,
                "The user policy with name deny-all cannot be found."
            )
        );
        assert!(w.hides(&put, t0).is_none(), "a repeated put is not refused");
        let other_user = request(
            "iam",
            "Action=GetUserPolicy&UserName=other&PolicyName=deny-all",
        );
        assert!(w.hides(&other_user, t0).is_none());
    }

    #[test]
    fn no_window_without_a_duration() {
        let mut w = Windows::default();
        let n = w.record(
            &request("ec2", "Action=CreateSnapshot&VolumeId=vol-1"),
            "<r><snapshotId>snap-1</snapshotId></r>",
            &durations("security-group", 5.0),
            Instant::now(),
        );
        assert!(n.is_empty());
    }
}
