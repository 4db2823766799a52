//! The IAM denies credential containment puts on principals, shared by `revoke` (which puts
//! them) and `check-exemption` (which reads them to tell real containment from a claim of it).
//!
//! One deny per principal and kind, never one per finding: a second finding on the same user
//! or role updates the same policy, so IAM's inline policy quota (2,048 characters in total per
//! user, 10,240 per role, whitespace not counted: IAM User Guide, "IAM and AWS STS quotas")
//! is never eaten up finding by finding.
//!
//! - A user whose long-term key leaked gets AWS's managed policy `AWSDenyAll` attached
//!   (`{"Effect":"Deny","Action":["*"],"Resource":"*"}`; AWS owns its content, so nobody in the
//!   account can weaken it, and it takes no inline characters). When the user already has its
//!   quota of managed policies, the inline policy [`DENY_ALL_POLICY`] instead.
//! - A role's (or a user's) sessions issued before a cutoff: the inline policy
//!   [`REVOKE_SESSIONS_POLICY`], with the latest cutoff.
//! - A role's sessions delivered to given EC2 instances (stolen instance credentials): the
//!   inline policy [`DENY_INSTANCE_SESSIONS_POLICY`], naming each instance's session
//!   (`aws:userid` is `ROLE-ID:INSTANCE-ID` for instance role credentials) and each instance
//!   (`ec2:SourceInstanceARN`, present on every request signed with credentials an instance
//!   received). Other instances using the role keep working.
//!
//! - An S3 bucket read or written by a caller of an S3 finding: the bucket policy statement
//!   [`DENY_BUCKET_CALLERS_SID`], one per bucket, naming each caller's `aws:userid` (an IAM
//!   user's id, or one role session's `ROLE-ID:SESSION`), merged into the bucket's own policy.
//!
//! - Objects Malware Protection for S3 found malicious: the bucket policy statement
//!   [`QUARANTINE_OBJECTS_SID`], one per bucket, naming each object's ARN and denying everyone
//!   reading, overwriting, deleting, re-tagging or re-publishing it ([`QUARANTINED_OBJECT_ACTIONS`]).
//!
//! IAM returns inline policy documents URL-encoded (RFC 3986), so a read-back is decoded with
//! [`parse_returned_document`] before it is parsed. Checks are semantic, not textual.

pub use crate::encoding::percent_decode;
use serde_json::{json, Value};

/// The AWS managed policy that denies everything.
pub const AWS_DENY_ALL: &str = "AWSDenyAll";
/// The inline policy denying everything to a user, when no managed policy can be attached.
pub const DENY_ALL_POLICY: &str = "guardduty-responder-deny-all";
/// The inline policy denying a principal's sessions issued before a cutoff.
pub const REVOKE_SESSIONS_POLICY: &str = "guardduty-responder-revoke-sessions";
/// The inline policy denying a role's sessions delivered to given instances.
pub const DENY_INSTANCE_SESSIONS_POLICY: &str = "guardduty-responder-deny-instance-sessions";

/// The `Sid` of the statement that denies every action.
pub const DENY_ALL_SID: &str = "GuardDutyResponderDenyAll";
/// The `Sid` of the statement that names the STS calls minting new sessions from a user's key.
pub const DENY_NEW_SESSIONS_SID: &str = "GuardDutyResponderDenyNewSessions";
/// The `Sid` of the statement naming stolen instance sessions by `aws:userid`.
pub const DENY_INSTANCE_SESSIONS_SID: &str = "GuardDutyResponderDenyInstanceSessions";
/// The `Sid` of the statement naming the source instances by `ec2:SourceInstanceARN`.
pub const DENY_SOURCE_INSTANCES_SID: &str = "GuardDutyResponderDenySourceInstances";
/// The `Sid` of the bucket policy statement denying the callers of S3 findings by `aws:userid`.
pub const DENY_BUCKET_CALLERS_SID: &str = "GuardDutyResponderDenyCallers";

/// The `Sid` of the bucket policy statement quarantining objects found malicious.
pub const QUARANTINE_OBJECTS_SID: &str = "GuardDutyResponderQuarantineObjects";

/// What the quarantine denies on an object, to every principal: reading it (`GetObject` also
/// authorises `HeadObject` and is the source permission `CopyObject` needs), overwriting or
/// deleting it (the evidence stays), changing its tags (Malware Protection's scan-result tag
/// `GuardDutyMalwareScanStatus` stays as GuardDuty wrote it) and its ACL (it cannot be
/// published). Service Authorization Reference, Amazon S3: each is an object-level action.
pub const QUARANTINED_OBJECT_ACTIONS: [&str; 14] = [
    "s3:DeleteObject",
    "s3:DeleteObjectTagging",
    "s3:DeleteObjectVersion",
    "s3:DeleteObjectVersionTagging",
    "s3:GetObject",
    "s3:GetObjectAttributes",
    "s3:GetObjectVersion",
    "s3:GetObjectVersionAttributes",
    "s3:PutObject",
    "s3:PutObjectAcl",
    "s3:PutObjectTagging",
    "s3:PutObjectVersionAcl",
    "s3:PutObjectVersionTagging",
    "s3:RestoreObject",
];

/// An object key as it must appear in a policy's `Resource` to name exactly that object: `*`,
/// `?` and `$` written as the policy variables `${*}`, `${?}` and `${$}` (IAM User Guide,
/// "IAM policy elements: Variables and tags", special characters). Without them a key such as
/// `*`, which anyone who can upload may choose, would quarantine the whole bucket. The
/// variables are read only in a policy whose `Version` is `2012-10-17`.
pub fn object_arn(partition: &str, bucket: &str, key: &str) -> String {
    let mut out = format!("arn:{partition}:s3:::{bucket}/");
    for c in key.chars() {
        match c {
            '*' => out.push_str("${*}"),
            '?' => out.push_str("${?}"),
            '$' => out.push_str("${$}"),
            c => out.push(c),
        }
    }
    out
}

/// The key an [`object_arn`] of `bucket` names, when it is one.
fn object_key(arn: &str, bucket: &str) -> Option<String> {
    let arn = crate::arn::Arn::parse(arn)
        .filter(|a| a.service == "s3" && a.region.is_empty() && a.account.is_empty())?;
    let escaped = arn.resource.strip_prefix(bucket)?.strip_prefix('/')?;
    let mut out = String::new();
    let mut i = 0;
    while i < escaped.len() {
        let tail = &escaped[i..];
        let special = ["${*}", "${?}", "${$}"]
            .into_iter()
            .find(|v| tail.starts_with(v));
        match special {
            Some(v) => {
                out.push_str(&v[2..3]);
                i += v.len();
            }
            None => {
                let c = tail.chars().next()?;
                if c == '*' || c == '?' {
                    // A wildcard this pipeline never writes.
                    return None;
                }
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    Some(out)
}

/// Whether a key needs the policy variables of [`object_arn`].
pub fn key_needs_policy_variables(key: &str) -> bool {
    key.contains(['*', '?', '$'])
}

/// The bucket policy statement quarantining `keys` of `bucket`.
pub fn quarantine_objects_statement(partition: &str, bucket: &str, keys: &[String]) -> Value {
    let arns: Vec<String> = keys
        .iter()
        .map(|k| object_arn(partition, bucket, k))
        .collect();
    json!({
        "Sid": QUARANTINE_OBJECTS_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": QUARANTINED_OBJECT_ACTIONS,
        "Resource": arns,
    })
}

/// Whether a statement is this pipeline's object quarantine, as
/// [`quarantine_objects_statement`] writes it (the `Sid` alone is not enough).
fn is_quarantine_objects_statement(s: &Value) -> bool {
    s.get("Sid").and_then(Value::as_str) == Some(QUARANTINE_OBJECTS_SID)
        && s.get("Effect").and_then(Value::as_str) == Some("Deny")
        && is_wildcard(s.get("Principal"))
        && strings(s.get("Action")) == QUARANTINED_OBJECT_ACTIONS
        && s.get("NotAction").is_none()
        && s.get("NotResource").is_none()
        && s.get("Condition").is_none()
}

/// The keys of `bucket` a bucket policy quarantines through this pipeline's statement.
pub fn quarantined_objects(policy: &Value, bucket: &str) -> Vec<String> {
    statements(policy)
        .into_iter()
        .filter(|s| is_quarantine_objects_statement(s))
        .flat_map(|s| strings(s.get("Resource")))
        .filter_map(|arn| object_key(&arn, bucket))
        .collect()
}

/// `policy` (or an empty one) with this pipeline's object quarantine naming `keys` too, the
/// other statements untouched and in their order. A new policy is written with `Version`
/// `2012-10-17`; the bucket's own `Version` is kept.
pub fn with_quarantined_objects(
    policy: Option<&Value>,
    partition: &str,
    bucket: &str,
    keys: &[String],
) -> Value {
    let held = policy
        .map(|p| quarantined_objects(p, bucket))
        .unwrap_or_default();
    replace_quarantine(policy, partition, bucket, &union(held, keys))
}

/// `policy` with `keys` out of this pipeline's object quarantine (every key when `keys` is
/// `None`); the statement goes when it names nothing more, and `None` is returned when no
/// statement would be left (the bucket had no policy of its own).
pub fn without_quarantined_objects(
    policy: &Value,
    partition: &str,
    bucket: &str,
    keys: Option<&[String]>,
) -> Option<Value> {
    let left: Vec<String> = match keys {
        None => Vec::new(),
        Some(keys) => quarantined_objects(policy, bucket)
            .into_iter()
            .filter(|k| !keys.contains(k))
            .collect(),
    };
    unless_empty(replace_quarantine(Some(policy), partition, bucket, &left))
}

/// `policy` with its quarantine statement naming exactly `keys` (none: no statement).
fn replace_quarantine(
    policy: Option<&Value>,
    partition: &str,
    bucket: &str,
    keys: &[String],
) -> Value {
    let statement =
        (!keys.is_empty()).then(|| quarantine_objects_statement(partition, bucket, keys));
    with_own_statement(policy, is_quarantine_objects_statement, statement)
}

/// `policy` (or an empty one, `Version` 2012-10-17) with every statement `ours` recognises
/// replaced by `statement` (none: removed), put last; the other statements untouched and in
/// their order.
fn with_own_statement(
    policy: Option<&Value>,
    ours: fn(&Value) -> bool,
    statement: Option<Value>,
) -> Value {
    let mut out = policy
        .cloned()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({"Version": "2012-10-17"}));
    let mut list: Vec<Value> = statements(&out)
        .into_iter()
        .filter(|s| !ours(s))
        .cloned()
        .collect();
    list.extend(statement);
    out["Statement"] = Value::Array(list);
    out
}

/// A policy document, or `None` when it has no statement left (a bucket policy cannot be
/// empty: it is deleted instead).
fn unless_empty(policy: Value) -> Option<Value> {
    (!statements(&policy).is_empty()).then_some(policy)
}

/// `held` with each of `more` that it lacks appended, in order.
fn union(mut held: Vec<String>, more: &[String]) -> Vec<String> {
    for m in more {
        if !held.contains(m) {
            held.push(m.clone());
        }
    }
    held
}

/// The ARN of `AWSDenyAll` in a partition.
pub fn aws_deny_all_arn(partition: &str) -> String {
    format!("arn:{partition}:iam::aws:policy/{AWS_DENY_ALL}")
}

/// Deny everything, unconditionally: the inline fallback for a user whose key leaked.
///
/// A Deny conditioned on `aws:TokenIssueTime` would never bind requests signed with the
/// long-term key itself (those carry no token issue time), so there is no condition. The second
/// statement names the STS calls that mint sessions from the key, for the reader.
pub fn deny_all() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            { "Sid": DENY_ALL_SID, "Effect": "Deny", "Action": "*", "Resource": "*" },
            {
                "Sid": DENY_NEW_SESSIONS_SID,
                "Effect": "Deny",
                "Action": ["sts:GetSessionToken", "sts:GetFederationToken"],
                "Resource": "*"
            }
        ]
    })
}

/// Deny every session issued before `cutoff` (RFC 3339, UTC): the statement the IAM console's
/// "revoke active sessions" attaches to a role.
pub fn revoke_sessions(cutoff: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": DENY_ALL_SID,
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": token_issue_time_condition(cutoff)
            }
        ]
    })
}

fn token_issue_time_condition(cutoff: &str) -> Value {
    json!({ "DateLessThan": { "aws:TokenIssueTime": cutoff } })
}

/// Deny every request made with the role's sessions delivered to these instances.
/// `sessions` are `ROLE-ID:INSTANCE-ID` (the `aws:userid` of instance role credentials: IAM
/// User Guide, "Policy variables", table of `aws:userid` values); `instance_arns` are the same
/// instances for `ec2:SourceInstanceARN` ("included in the request context whenever the role
/// session is created by an Amazon EC2 instance", IAM User Guide, global condition keys).
/// Either statement alone denies the stolen session wherever it is used; both are kept so the
/// deny holds if one key is ever absent from a request.
pub fn deny_instance_sessions(sessions: &[String], instance_arns: &[String]) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": DENY_INSTANCE_SESSIONS_SID,
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": { "StringEquals": { "aws:userid": sessions } }
            },
            {
                "Sid": DENY_SOURCE_INSTANCES_SID,
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": { "ArnEquals": { "ec2:SourceInstanceARN": instance_arns } }
            }
        ]
    })
}

/// The bucket policy statement denying `callers` (by `aws:userid`) every S3 action on
/// `bucket` and its objects. A Deny is never "public" (S3 User Guide, "The meaning of
/// public"), so Block Public Access does not refuse it.
pub fn bucket_callers_statement(partition: &str, bucket: &str, callers: &[String]) -> Value {
    json!({
        "Sid": DENY_BUCKET_CALLERS_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [
            format!("arn:{partition}:s3:::{bucket}"),
            format!("arn:{partition}:s3:::{bucket}/*"),
        ],
        "Condition": { "StringEquals": { "aws:userid": callers } }
    })
}

/// Whether a statement is this pipeline's callers deny, as [`bucket_callers_statement`]
/// writes it: the `Sid` alone is not enough (anyone who can write the policy can copy it).
fn is_bucket_callers_statement(s: &Value) -> bool {
    s.get("Sid").and_then(Value::as_str) == Some(DENY_BUCKET_CALLERS_SID)
        && s.get("Effect").and_then(Value::as_str) == Some("Deny")
        && is_wildcard(s.get("Principal"))
        && strings(s.get("Action")) == ["s3:*"]
        && s.get("NotAction").is_none()
        && s.get("NotResource").is_none()
        && s.get("Condition")
            .and_then(Value::as_object)
            .is_some_and(|c| c.len() == 1 && c.contains_key("StringEquals"))
}

/// The callers a bucket policy denies through this pipeline's statement.
pub fn bucket_callers(policy: &Value) -> Vec<String> {
    statements(policy)
        .into_iter()
        .filter(|s| is_bucket_callers_statement(s))
        .flat_map(|s| strings(s.pointer("/Condition/StringEquals/aws:userid")))
        .collect()
}

/// `policy` (or an empty one) with this pipeline's callers deny naming `callers` too, the
/// other statements untouched and in their order.
pub fn with_bucket_callers(
    policy: Option<&Value>,
    partition: &str,
    bucket: &str,
    callers: &[String],
) -> Value {
    let all = union(policy.map(bucket_callers).unwrap_or_default(), callers);
    let statement = bucket_callers_statement(partition, bucket, &all);
    with_own_statement(policy, is_bucket_callers_statement, Some(statement))
}

/// `policy` without this pipeline's callers deny; `None` when no statement would be left
/// (the bucket had no policy of its own).
pub fn without_bucket_callers(policy: &Value) -> Option<Value> {
    unless_empty(with_own_statement(
        Some(policy),
        is_bucket_callers_statement,
        None,
    ))
}

/// The statements of a policy, whether `Statement` is a list or a single object.
fn statements(document: &Value) -> Vec<&Value> {
    match document.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

fn is_wildcard(v: Option<&Value>) -> bool {
    match v {
        Some(Value::String(s)) => s == "*",
        Some(Value::Array(list)) => list.iter().any(|x| x.as_str() == Some("*")),
        _ => false,
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// The deny-everything statements of a document (every action, every resource).
fn deny_all_statements(document: &Value) -> impl Iterator<Item = &Value> {
    statements(document).into_iter().filter(|s| {
        s.get("Effect").and_then(Value::as_str) == Some("Deny")
            && is_wildcard(s.get("Action"))
            && is_wildcard(s.get("Resource"))
            && s.get("NotAction").is_none()
            && s.get("NotResource").is_none()
    })
}

/// Whether `document` denies every action on every resource without any condition.
pub fn denies_everything(document: &Value) -> bool {
    deny_all_statements(document).any(|s| s.get("Condition").is_none())
}

/// The `aws:TokenIssueTime` cutoff of a revoke-sessions document, if it has the statement.
pub fn sessions_cutoff(document: &Value) -> Option<String> {
    deny_all_statements(document).find_map(|s| {
        let c = s.get("Condition")?.as_object()?;
        if c.len() != 1 {
            return None;
        }
        let t = c.get("DateLessThan")?.get("aws:TokenIssueTime")?;
        strings(Some(t)).into_iter().next()
    })
}

/// The instance sessions and instance ARNs a deny-instance-sessions document names (each
/// only when its statement denies everything under exactly that one condition).
pub fn instance_sessions(document: &Value) -> (Vec<String>, Vec<String>) {
    let mut sessions = Vec::new();
    let mut arns = Vec::new();
    for s in deny_all_statements(document) {
        let Some(c) = s.get("Condition").and_then(Value::as_object) else {
            continue;
        };
        if c.len() != 1 {
            continue;
        }
        if let Some(v) = c.get("StringEquals").and_then(|o| o.get("aws:userid")) {
            sessions.extend(strings(Some(v)));
        }
        if let Some(v) = c
            .get("ArnEquals")
            .and_then(|o| o.get("ec2:SourceInstanceARN"))
        {
            arns.extend(strings(Some(v)));
        }
    }
    (sessions, arns)
}

/// Parses a policy document as IAM returns it: URL-encoded JSON. A document that is plain JSON
/// (some emulators return it so) is accepted too. `None` when neither parses.
pub fn parse_returned_document(text: &str) -> Option<Value> {
    serde_json::from_str(&percent_decode(text))
        .ok()
        .or_else(|| serde_json::from_str(text).ok())
}

/// Characters IAM counts against the inline quota: everything but whitespace.
pub fn quota_size(document: &Value) -> usize {
    document
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_all_has_no_condition_and_names_the_sts_calls() {
        let doc = deny_all();
        assert!(denies_everything(&doc));
        assert_eq!(sessions_cutoff(&doc), None);
        let text = doc.to_string();
        assert!(!text.contains("TokenIssueTime"));
        assert!(text.contains("sts:GetSessionToken") && text.contains("sts:GetFederationToken"));
        assert!(quota_size(&doc) < 300, "fits any user's inline quota");
    }

    #[test]
    fn revoke_sessions_carries_its_cutoff_and_is_not_an_unconditional_deny() {
        let doc = revoke_sessions("2024-05-01T10:20:30Z");
        assert_eq!(
            sessions_cutoff(&doc).as_deref(),
            Some("2024-05-01T10:20:30Z")
        );
        assert!(!denies_everything(&doc));
    }

    #[test]
    fn instance_sessions_round_trip_and_other_conditions_do_not_count() {
        let s = vec![
            "AROAEXAMPLE:i-0aaa".to_string(),
            "AROAEXAMPLE:i-0bbb".to_string(),
        ];
        let a = vec!["arn:aws:ec2:eu-west-1:222222222222:instance/i-0aaa".to_string()];
        assert_eq!(instance_sessions(&deny_instance_sessions(&s, &a)), (s, a));
        let allow = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:userid": "AROAEXAMPLE:i-0aaa"}}}]});
        assert_eq!(instance_sessions(&allow), (vec![], vec![]));
        let narrowed = json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:userid": "AROAEXAMPLE:i-0aaa"}, "Bool": {"aws:ViaAWSService": "true"}}}]});
        assert_eq!(instance_sessions(&narrowed), (vec![], vec![]));
    }

    #[test]
    fn partial_statements_do_not_count_as_deny_all() {
        for doc in [
            json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
            json!({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}),
            json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "arn:aws:s3:::b"}]}),
            json!({"Statement": [{"Effect": "Deny", "NotAction": "iam:*", "Action": "*", "Resource": "*"}]}),
            json!({}),
        ] {
            assert!(!denies_everything(&doc), "{doc}");
        }
        let one = json!({"Statement": {"Effect": "Deny", "Action": ["*"], "Resource": ["*"]}});
        assert!(denies_everything(&one));
    }

    #[test]
    fn decodes_url_encoded_documents_as_iam_returns_them() {
        let doc = revoke_sessions("2024-05-01T10:20:30Z");
        let encoded: String = doc
            .to_string()
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        assert_eq!(parse_returned_document(&encoded), Some(doc.clone()));
        assert_eq!(parse_returned_document(&doc.to_string()), Some(doc));
        assert_eq!(parse_returned_document("%7Bnot json"), None);
        assert_eq!(percent_decode("a+b%20c"), "a+b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%e2%9c%93"), "\u{2713}");
    }
}

#[cfg(test)]
mod bucket_tests {
    use super::*;

    const OWN: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::orders/*"}]}"#;

    /// The deny is merged after the bucket's own statements, grows by caller without
    /// repeating one, and comes out leaving exactly the bucket's own policy.
    #[test]
    fn the_callers_deny_is_merged_and_removed_exactly() {
        let own: Value = serde_json::from_str(OWN).expect("json");
        let one = with_bucket_callers(Some(&own), "aws", "orders", &["AIDAEXAMPLEUSER0001".into()]);
        assert_eq!(one["Statement"][0], own["Statement"][0]);
        assert_eq!(bucket_callers(&one), ["AIDAEXAMPLEUSER0001"]);
        let two = with_bucket_callers(
            Some(&one),
            "aws",
            "orders",
            &[
                "AIDAEXAMPLEUSER0001".into(),
                "AROAEXAMPLEROLE0001:s1".into(),
            ],
        );
        assert_eq!(
            bucket_callers(&two),
            ["AIDAEXAMPLEUSER0001", "AROAEXAMPLEROLE0001:s1"]
        );
        assert_eq!(two["Statement"].as_array().map(Vec::len), Some(2));
        assert_eq!(without_bucket_callers(&two), Some(own));
        // No policy of its own: the deny alone, and nothing left after it.
        let alone = with_bucket_callers(None, "aws", "orders", &["AIDAEXAMPLEUSER0001".into()]);
        assert_eq!(without_bucket_callers(&alone), None);
    }

    /// A statement that only borrows the Sid (an Allow, another action) is not ours: it is
    /// neither read as a deny nor removed.
    #[test]
    fn a_copied_sid_is_not_taken_for_the_deny() {
        let forged = json!({"Statement": [{
            "Sid": DENY_BUCKET_CALLERS_SID, "Effect": "Allow", "Principal": "*",
            "Action": "s3:*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:userid": ["AIDAEXAMPLEUSER0001"]}}}]});
        assert!(bucket_callers(&forged).is_empty());
        assert_eq!(without_bucket_callers(&forged), Some(forged.clone()));
    }

    /// Object keys are the uploader's: a key of `*` or `?` must name that one object, never
    /// the whole bucket, and reads back as itself; a quarantine grows by key without repeats
    /// and comes out one key at a time, leaving exactly the bucket's own policy.
    #[test]
    fn quarantined_objects_are_named_exactly_and_removed_exactly() {
        let cases = [
            (
                "malware/dropper.exe",
                "arn:aws:s3:::orders/malware/dropper.exe",
            ),
            ("*", "arn:aws:s3:::orders/${*}"),
            ("a?b$c", "arn:aws:s3:::orders/a${?}b${$}c"),
            (
                "uploads/\u{e9}t\u{e9} 1.zip",
                "arn:aws:s3:::orders/uploads/\u{e9}t\u{e9} 1.zip",
            ),
        ];
        for (key, arn) in cases {
            assert_eq!(object_arn("aws", "orders", key), arn, "{key}");
            assert_eq!(object_key(arn, "orders").as_deref(), Some(key), "{key}");
            assert_eq!(key_needs_policy_variables(key), arn.contains("${"), "{key}");
        }
        // Wildcards and other buckets' ARNs are not this pipeline's keys.
        assert_eq!(object_key("arn:aws:s3:::orders/*", "orders"), None);
        assert_eq!(object_key("arn:aws:s3:::other/x", "orders"), None);

        let own: Value = serde_json::from_str(OWN).expect("json");
        let one = with_quarantined_objects(Some(&own), "aws", "orders", &["*".into()]);
        assert_eq!(one["Statement"][0], own["Statement"][0]);
        assert_eq!(
            one["Statement"][1]["Resource"],
            json!(["arn:aws:s3:::orders/${*}"])
        );
        let two =
            with_quarantined_objects(Some(&one), "aws", "orders", &["*".into(), "b.exe".into()]);
        assert_eq!(quarantined_objects(&two, "orders"), ["*", "b.exe"]);
        let back = without_quarantined_objects(&two, "aws", "orders", Some(&["*".into()]))
            .expect("policy left");
        assert_eq!(quarantined_objects(&back, "orders"), ["b.exe"]);
        assert_eq!(
            without_quarantined_objects(&two, "aws", "orders", None),
            Some(own)
        );
        // No policy of its own: the quarantine alone, and nothing left after it.
        let alone = with_quarantined_objects(None, "aws", "orders", &["b.exe".into()]);
        assert_eq!(alone["Version"], "2012-10-17");
        assert_eq!(
            without_quarantined_objects(&alone, "aws", "orders", Some(&["b.exe".into()])),
            None
        );
        // The callers deny and the quarantine live side by side, each removed on its own.
        let both = with_bucket_callers(
            Some(&alone),
            "aws",
            "orders",
            &["AIDAEXAMPLEUSER0001".into()],
        );
        assert_eq!(quarantined_objects(&both, "orders"), ["b.exe"]);
        let callers_gone = without_bucket_callers(&both).expect("quarantine left");
        assert_eq!(quarantined_objects(&callers_gone, "orders"), ["b.exe"]);
        assert!(bucket_callers(&callers_gone).is_empty());
    }

    /// A statement borrowing the quarantine's Sid with a condition or other actions is not
    /// ours: not read, not removed.
    #[test]
    fn a_copied_quarantine_sid_is_not_taken_for_ours() {
        let forged = json!({"Version": "2012-10-17", "Statement": [{
            "Sid": QUARANTINE_OBJECTS_SID, "Effect": "Deny", "Principal": "*",
            "Action": QUARANTINED_OBJECT_ACTIONS, "Resource": ["arn:aws:s3:::orders/x"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]});
        assert!(quarantined_objects(&forged, "orders").is_empty());
        assert_eq!(
            without_quarantined_objects(&forged, "aws", "orders", None),
            Some(forged.clone())
        );
    }
}
