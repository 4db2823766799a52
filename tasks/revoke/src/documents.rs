//! The deny policies `revoke` attaches, and how their read-back is checked.
//!
//! IAM returns inline policy documents URL-encoded (RFC 3986), so a read-back is percent-decoded
//! before it is parsed. Checks are semantic (a Deny of every action on every resource, with or
//! without the expected `aws:TokenIssueTime` condition), not textual, so key order or spacing
//! in what IAM returns does not matter.

use serde_json::{json, Value};

/// The `Sid` of the statement that denies every action.
pub const DENY_ALL_SID: &str = "GuardDutyResponderDenyAll";
/// The `Sid` of the statement that names the STS calls minting new sessions from a user's key.
pub const DENY_NEW_SESSIONS_SID: &str = "GuardDutyResponderDenyNewSessions";

/// The name of the inline policy for a finding. `check-exemption` looks for this exact name to
/// recognise a finding that is already contained.
pub fn policy_name(idempotency_key: &str) -> String {
    responder_core::markers::deny_policy_name(idempotency_key)
}

/// The policy for a user whose long-term key leaked: deny everything, unconditionally.
///
/// A Deny conditioned on `aws:TokenIssueTime` would never bind requests signed with the long-term
/// key itself (those requests carry no token issue time), so the deny has no condition. It also
/// blocks `sts:GetSessionToken` and `sts:GetFederationToken`; the second statement names them so a
/// reader sees that minting new sessions from the key is covered.
pub fn deny_all_unconditionally() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": DENY_ALL_SID,
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*"
            },
            {
                "Sid": DENY_NEW_SESSIONS_SID,
                "Effect": "Deny",
                "Action": ["sts:GetSessionToken", "sts:GetFederationToken"],
                "Resource": "*"
            }
        ]
    })
}

/// The policy that revokes every session issued before `cutoff` (RFC 3339, UTC): the same
/// statement the IAM console's "revoke active sessions" attaches to a role. Sessions issued later,
/// and requests signed with long-term keys, are not affected.
pub fn deny_sessions_issued_before(cutoff: &str) -> Value {
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

/// Whether `document` denies every action on every resource, under exactly `condition`
/// (`None`: without any condition).
pub fn denies_everything(document: &Value, condition: Option<&str>) -> bool {
    let wanted = condition.map(token_issue_time_condition);
    statements(document).iter().any(|s| {
        s.get("Effect").and_then(Value::as_str) == Some("Deny")
            && is_wildcard(s.get("Action"))
            && is_wildcard(s.get("Resource"))
            && s.get("NotAction").is_none()
            && s.get("NotResource").is_none()
            && s.get("Condition") == wanted.as_ref()
    })
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

/// Percent-decodes a string as IAM encodes policy documents (RFC 3986: `+` is a literal plus).
/// Malformed escapes are kept as they are; invalid UTF-8 is replaced.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Parses a policy document as IAM returns it: URL-encoded JSON. A document that is plain JSON
/// (some emulators return it so) is accepted too. `None` when neither parses.
pub fn parse_returned_document(text: &str) -> Option<Value> {
    serde_json::from_str(&percent_decode(text))
        .ok()
        .or_else(|| serde_json::from_str(text).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_name_is_derived_from_the_idempotency_key() {
        assert_eq!(
            policy_name("gd-0123456789abcdef0123"),
            "guardduty-responder-deny-gd-0123456789abcdef0123"
        );
        // IAM policy names: at most 128 characters of [\w+=,.@-].
        let name = policy_name("gd-0123456789abcdef0123");
        assert!(name.len() <= 128);
        assert!(name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)));
    }

    #[test]
    fn unconditional_deny_has_no_condition_and_names_the_sts_calls() {
        let doc = deny_all_unconditionally();
        assert!(denies_everything(&doc, None));
        assert!(!denies_everything(&doc, Some("2024-01-01T00:00:00Z")));
        let text = doc.to_string();
        assert!(!text.contains("TokenIssueTime"));
        assert!(text.contains("sts:GetSessionToken") && text.contains("sts:GetFederationToken"));
    }

    #[test]
    fn session_deny_carries_the_cutoff() {
        let doc = deny_sessions_issued_before("2024-05-01T10:20:30Z");
        assert!(denies_everything(&doc, Some("2024-05-01T10:20:30Z")));
        assert!(!denies_everything(&doc, Some("2024-05-01T10:20:31Z")));
        assert!(!denies_everything(&doc, None));
        assert_eq!(
            doc["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
            "2024-05-01T10:20:30Z"
        );
    }

    #[test]
    fn allow_or_partial_statements_do_not_count_as_deny_all() {
        for doc in [
            json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
            json!({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}),
            json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "arn:aws:s3:::b"}]}),
            json!({"Statement": [{"Effect": "Deny", "NotAction": "iam:*", "Action": "*", "Resource": "*"}]}),
            json!({}),
        ] {
            assert!(!denies_everything(&doc, None), "{doc}");
        }
        // A single statement object and list forms of Action/Resource are accepted.
        let one = json!({"Statement": {"Effect": "Deny", "Action": ["*"], "Resource": ["*"]}});
        assert!(denies_everything(&one, None));
    }

    #[test]
    fn decodes_url_encoded_documents_as_iam_returns_them() {
        let doc = deny_sessions_issued_before("2024-05-01T10:20:30Z");
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
        assert!(encoded.starts_with("%7B%22Version%22"));
        assert_eq!(parse_returned_document(&encoded), Some(doc.clone()));
        // Plain JSON is accepted as well.
        assert_eq!(parse_returned_document(&doc.to_string()), Some(doc));
        assert_eq!(parse_returned_document("%7Bnot json"), None);
    }

    #[test]
    fn percent_decode_keeps_plus_and_malformed_escapes() {
        assert_eq!(percent_decode("a+b%20c"), "a+b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%e2%9c%93"), "\u{2713}");
    }
}
