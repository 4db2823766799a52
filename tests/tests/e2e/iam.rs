//! Leaked IAM credentials: a long-term key (AKIA) is deactivated and its user denied
//! everything unconditionally; a role session (ASIA) is revoked by token issue time.

use anyhow::{Context, Result};
use end_to_end::{fixture, outcomes_for, with_harness, world, Options};
use responder::readback;
use responder::scenario::for_access_key;
use responder_core::markers;
use serde_json::Value;

/// The statements of a policy document, whether `Statement` is a list or one object.
fn statements(doc: &Value) -> Vec<&Value> {
    match doc.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

/// The values of `Action` or `Resource`, as a list.
fn names(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether a statement denies `action` on every resource, with no condition.
fn denies_unconditionally(s: &Value, action: &str) -> bool {
    let service = action.split(':').next().unwrap_or("");
    s.get("Effect").and_then(Value::as_str) == Some("Deny")
        && s.get("Condition").is_none()
        && s.get("NotAction").is_none()
        && s.get("NotResource").is_none()
        && names(s.get("Resource")).contains(&"*")
        && names(s.get("Action"))
            .iter()
            .any(|a| *a == "*" || *a == action || *a == format!("{service}:*"))
}

/// The responder's deny policy among a principal's inline policies (there must be exactly one).
fn deny_policy(policies: &std::collections::BTreeMap<String, Value>) -> (&String, &Value) {
    let ours: Vec<_> = policies
        .iter()
        .filter(|(name, _)| name.starts_with(markers::DENY_POLICY_PREFIX))
        .collect();
    assert_eq!(ours.len(), 1, "one deny policy: {policies:#?}");
    ours[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaked_long_term_key_is_deactivated_and_its_user_denied_everything() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let id = "e2e0201akia";
        let before = world(&h).await?;
        let event = for_access_key(
            fixture("iam-high-akia-user.json")?,
            id,
            &e.security_account,
            &e.region,
            &e.user_name,
            &e.access_key_id,
        );
        let s = h.run("akia", &event).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "contained"),
            "{s:#?}"
        );
        let user = readback::user(&h.security, &e.user_name).await?;
        assert_eq!(
            user.keys.get(&e.access_key_id).map(String::as_str),
            Some("Inactive")
        );
        let policies = readback::user_policies(&h.security, &e.user_name).await?;
        let (name, doc) = deny_policy(&policies);
        assert!(doc.is_object(), "{name} is not a JSON document: {doc}");
        let stmts = statements(doc);
        assert!(!stmts.is_empty(), "{doc}");
        for st in &stmts {
            assert!(
                st.get("Condition").is_none(),
                "a key's deny must not be conditional (requests signed with the key carry no \
                 token issue time): {st}"
            );
            assert_eq!(st.get("Effect").and_then(Value::as_str), Some("Deny"));
        }
        assert!(
            stmts
                .iter()
                .any(|s| denies_unconditionally(s, "ec2:RunInstances")
                    && names(s.get("Action")).contains(&"*")),
            "every action denied: {doc}"
        );
        assert!(
            stmts
                .iter()
                .any(|s| denies_unconditionally(s, "sts:GetSessionToken")),
            "sts:GetSessionToken denied: {doc}"
        );
        // Nothing else touched: the exempt user, the role, the instances.
        let after = world(&h).await?;
        assert_eq!(
            after.users[&e.exempt_user_name],
            before.users[&e.exempt_user_name]
        );
        assert_eq!(after.role_policies, before.role_policies);
        assert_eq!(after.instances, before.instances);
        assert_eq!(outcomes_for(&h, id).await?, ["contained"]);
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stolen_role_session_is_revoked_by_token_issue_time() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let id = "e2e0202asia";
        let before = world(&h).await?;
        let started = chrono::Utc::now();
        let event = for_access_key(
            fixture("iam-high-asia-role.json")?,
            id,
            &e.security_account,
            &e.region,
            &e.role_name,
            "ASIA4EXAMPLEWEBAPP01",
        );
        let s = h.run("asia", &event).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "contained"),
            "{s:#?}"
        );
        let ended = chrono::Utc::now();
        let policies = readback::role_policies(&h.security, &e.role_name).await?;
        let (_, doc) = deny_policy(&policies);
        let stmts = statements(doc);
        let revoking = stmts
            .iter()
            .find(|s| {
                s.get("Effect").and_then(Value::as_str) == Some("Deny")
                    && names(s.get("Action")).contains(&"*")
                    && names(s.get("Resource")).contains(&"*")
            })
            .with_context(|| format!("no deny-all statement: {doc}"))?;
        let cutoff = revoking
            .pointer("/Condition/DateLessThan/aws:TokenIssueTime")
            .and_then(Value::as_str)
            .with_context(|| format!("not conditioned on aws:TokenIssueTime: {revoking}"))?;
        let cutoff = chrono::DateTime::parse_from_rfc3339(cutoff)
            .with_context(|| format!("cutoff {cutoff:?} is not RFC 3339"))?
            .with_timezone(&chrono::Utc);
        let slack = chrono::Duration::seconds(5);
        assert!(
            cutoff >= started - slack && cutoff <= ended + slack,
            "cutoff {cutoff} is not the time of the run ({started} .. {ended})"
        );
        // The role keeps working for sessions issued later; keys and users are untouched.
        let after = world(&h).await?;
        assert_eq!(after.users, before.users);
        assert_eq!(after.user_policies, before.user_policies);
        assert_eq!(after.instances, before.instances);
        assert_eq!(outcomes_for(&h, id).await?, ["contained"]);
        Ok(())
    })
    .await
}
