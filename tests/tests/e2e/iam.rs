//! Leaked IAM credentials: a long-term key (AKIA) is deactivated and its user denied
//! everything (AWSDenyAll, no inline quota used); a role session (ASIA) is revoked by token issue
//! time; stolen instance credentials are denied for that instance only, and the instance is
//! isolated with IMDSv2 required.

use anyhow::{Context, Result};
use end_to_end::{fixture, outcomes_for, with_harness, world, Options};
use responder::readback;
use responder::scenario::for_access_key;
use responder_core::denies;
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
        // AWS's deny-all is attached: no inline policy, so no inline quota spent.
        assert_eq!(
            user.attached_policies,
            ["arn:aws:iam::aws:policy/AWSDenyAll"],
            "{user:?}"
        );
        assert!(user.inline_policies.is_empty(), "{user:?}");
        assert_eq!(
            s.evidence["revoke"]["deny"], "AWSDenyAll",
            "{:#?}",
            s.evidence
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
        let mut event = for_access_key(
            fixture("iam-high-asia-role.json")?,
            id,
            &e.security_account,
            &e.region,
            &e.role_name,
            "ASIA4EXAMPLEWEBAPP01",
        );
        // A session of the role assumed by a person or a pipeline, not an instance's.
        event["detail"]["resource"]["accessKeyDetails"]["principalId"] =
            serde_json::json!("AROA4EXAMPLEWEBAPPRL:deploy-pipeline");
        let s = h.run("asia", &event).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "contained"),
            "{s:#?}"
        );
        let ended = chrono::Utc::now();
        let policies = readback::role_policies(&h.security, &e.role_name).await?;
        assert_eq!(policies.len(), 1, "{policies:#?}");
        let doc = &policies[denies::REVOKE_SESSIONS_POLICY];
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

/// Credentials an instance received for its role, used from elsewhere: only that instance's
/// sessions are denied (the deny names its session and its ARN, not the role's other holders),
/// the instance is isolated, and its metadata service answers only IMDSv2, one hop away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stolen_instance_credentials_are_denied_for_that_instance_only() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let id = "e2e0203exfil";
        let source = &e.web;
        let mut event = for_access_key(
            fixture("iam-high-asia-role.json")?,
            id,
            &e.security_account,
            &e.region,
            &e.role_name,
            "ASIA4EXAMPLEWEBAPP01",
        );
        event["detail"]["type"] = serde_json::json!(
            "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"
        );
        let session = format!("AROA4EXAMPLEWEBAPPRL:{}", source.instance_id);
        event["detail"]["resource"]["accessKeyDetails"]["principalId"] = serde_json::json!(session);
        let other = readback::instance(&h.security, &e.multi.instance_id).await?;
        let s = h.run("exfil", &event).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "contained"),
            "{s:#?}"
        );
        let policies = readback::role_policies(&h.security, &e.role_name).await?;
        assert!(
            !policies.contains_key(denies::REVOKE_SESSIONS_POLICY),
            "no role-wide revoke: {policies:#?}"
        );
        let doc = &policies[denies::DENY_INSTANCE_SESSIONS_POLICY];
        let (sessions, arns) = denies::instance_sessions(doc);
        assert_eq!(sessions, std::slice::from_ref(&session));
        assert_eq!(
            arns,
            [format!(
                "arn:aws:ec2:{}:{}:instance/{}",
                e.region, e.security_account, source.instance_id
            )]
        );
        // The second instance of the estate, whatever role it uses, is named nowhere.
        assert!(!doc.to_string().contains(&e.multi.instance_id));
        // The source instance: isolated, IMDSv2 only.
        let st = readback::instance(&h.security, &source.instance_id).await?;
        assert_eq!(st.metadata.as_deref(), Some("required/1"), "{st:?}");
        assert!(st
            .interfaces
            .iter()
            .all(|i| i.group_names == [responder_core::markers::QUARANTINE_GROUP_NAME]));
        assert_eq!(
            readback::instance(&h.security, &e.multi.instance_id).await?,
            other,
            "the other instance is untouched"
        );
        assert_eq!(outcomes_for(&h, id).await?, ["contained"]);
        Ok(())
    })
    .await
}
