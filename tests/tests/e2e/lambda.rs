//! A compromised Lambda function in a member account: a HIGH finding stops it (reserved
//! concurrency 0, the previous value recorded on it first, its code untouched), a second
//! finding finds it contained, and `restore-instance` with `functionName` puts back exactly
//! what it had; a MEDIUM finding waits for an analyst with the function unchanged.

use anyhow::Result;
use end_to_end::{fixture, outcomes_for, restored, waiting_for_approval, with_harness, Options};
use responder::readback;
use responder::scenario::for_function;
use responder_core::markers;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_high_lambda_finding_stops_the_function_and_restore_undoes_exactly_it() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let name = e.function_name.as_str();
        let before = readback::function(&h.member, name).await?;
        assert_eq!(before.reserved_concurrency, None, "{before:?}");

        let id = "e2e1301lambda";
        let event = for_function(
            fixture("lambda-high-c2.json")?,
            id,
            &e.member_account,
            &e.region,
            name,
        );
        let s = h.run("lambda-high", &event).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "contained"),
            "{s:#?}"
        );
        let after = readback::function(&h.member, name).await?;
        assert_eq!(after.reserved_concurrency, Some(0), "{after:?}");
        assert_eq!(
            after
                .tags
                .get(markers::TAG_ORIGINAL_CONCURRENCY)
                .map(String::as_str),
            Some("none")
        );
        assert_eq!(
            after.tags.get(markers::TAG_STATUS).map(String::as_str),
            Some(markers::STATUS_QUARANTINED)
        );
        assert_eq!(after.tags.get("team").map(String::as_str), Some("media"));
        // Evidence: the code, untouched, named by its hash.
        assert_eq!(after.code_sha256, before.code_sha256);
        assert_eq!(
            s.evidence["contain-function"]["function"]["evidence"]["codeSha256"],
            before.code_sha256.as_str(),
            "{:#?}",
            s.evidence
        );
        assert_eq!(outcomes_for(&h, id).await?, ["contained"]);

        // GuardDuty sends it again: the real state says contained; nothing changes.
        let again = h
            .run(
                "lambda-again",
                &for_function(
                    fixture("lambda-high-c2.json")?,
                    "e2e1302lambda",
                    &e.member_account,
                    &e.region,
                    name,
                ),
            )
            .await?;
        assert_eq!(again.outcome, "skipped", "{again:#?}");
        assert_eq!(readback::function(&h.member, name).await?, after);

        // The rollback puts back exactly what it had: no reserved concurrency.
        let request = serde_json::json!({
            "accountId": e.member_account, "region": e.region, "functionName": name,
            "reason": "false positive", "requestedBy": "analyst@example.com"
        });
        restored(&h, "e2e-restore-function", &request).await?;
        let restored = readback::function(&h.member, name).await?;
        assert_eq!(restored.reserved_concurrency, None, "{restored:?}");
        assert!(!restored
            .tags
            .contains_key(markers::TAG_ORIGINAL_CONCURRENCY));
        assert_eq!(
            restored.tags.get(markers::TAG_STATUS).map(String::as_str),
            Some(markers::STATUS_RESTORED)
        );
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_medium_lambda_finding_waits_for_an_analyst_and_changes_nothing() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let name = e.function_name.as_str();
        let before = readback::function(&h.member, name).await?;
        let id = "e2e1303lambda";
        let s = h
            .run(
                "lambda-medium",
                &for_function(
                    fixture("lambda-medium-tor.json")?,
                    id,
                    &e.member_account,
                    &e.region,
                    name,
                ),
            )
            .await?;
        assert_eq!(s.status, "WAITING_FOR_APPROVAL", "{s:#?}");
        assert!(waiting_for_approval(&h, &s)?);
        assert_eq!(readback::function(&h.member, name).await?, before);
        let (approve, _) = h.approval_links(id).await?;
        assert!(!approve.is_empty());
        assert_eq!(outcomes_for(&h, id).await?, ["approval-requested"]);
        Ok(())
    })
    .await
}

/// With lambda.revoke_role_sessions, the contained function's execution role denies every
/// session issued before now (one policy on the role), and the notification says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_policy_the_execution_roles_older_sessions_are_denied_too() -> Result<()> {
    let mut opts = Options::default();
    opts.extra_env.insert(
        "POLICY_JSON".into(),
        r#"{"lambda": {"revoke_role_sessions": true}}"#.into(),
    );
    with_harness(opts, |h| async move {
        let e = &h.estate;
        let name = e.function_name.as_str();
        let role = format!("{name}-role");
        let mut event = for_function(
            fixture("lambda-high-c2.json")?,
            "e2e1304lambda",
            &e.member_account,
            &e.region,
            name,
        );
        event["detail"]["resource"]["lambdaDetails"]["role"] =
            serde_json::json!(format!("arn:aws:iam::{}:role/{role}", e.member_account));
        let s = h.run("lambda-role", &event).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "contained"),
            "{s:#?}"
        );
        assert_eq!(
            readback::function(&h.member, name)
                .await?
                .reserved_concurrency,
            Some(0)
        );
        let policies = readback::role_policies(&h.member, &role).await?;
        let deny = policies
            .get(responder_core::denies::REVOKE_SESSIONS_POLICY)
            .unwrap_or_else(|| panic!("no session deny on {role}: {policies:?}"));
        assert!(
            responder_core::denies::sessions_cutoff(deny).is_some(),
            "{deny}"
        );
        assert_eq!(s.evidence["revoke"]["principal"], format!("role/{role}"));
        Ok(())
    })
    .await
}
