//! An S3 bucket opened to the public in a member account: a HIGH finding closes it (all four
//! Block Public Access settings on, the previous settings recorded on it first, its policy
//! and tags untouched), a second finding finds it contained, and `restore-instance` with
//! `bucketName` puts back exactly what it had; a MEDIUM finding waits for an analyst with the
//! bucket unchanged. An object Malware Protection for S3 found malicious is quarantined by the
//! bucket's policy and released exactly.

use anyhow::Result;
use end_to_end::{fixture, outcomes_for, restored, waiting_for_approval, with_harness, Options};
use responder::readback;
use responder::scenario::{for_bucket, for_object};
use responder_core::markers;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_high_bucket_finding_closes_it_to_the_public_and_restore_undoes_exactly_it() -> Result<()>
{
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let name = e.bucket_name.as_str();
        let before = readback::bucket(&h.member, name).await?;
        assert_eq!(before.public_access_block, None, "{before:?}");
        assert!(before.policy.is_some(), "{before:?}");

        let id = "e2e1401bucket";
        let event = for_bucket(
            fixture("s3-high-anonymous-access.json")?,
            id,
            &e.member_account,
            &e.region,
            name,
        );
        let s = h.run("bucket-high", &event).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "contained"),
            "{s:#?}"
        );
        let after = readback::bucket(&h.member, name).await?;
        let all_on = |b: &readback::BucketState| {
            b.public_access_block
                .as_ref()
                .is_some_and(|p| p.len() == 4 && p.values().all(|on| *on))
        };
        assert!(all_on(&after), "{after:?}");
        assert_eq!(
            after
                .tags
                .get(markers::TAG_ORIGINAL_PUBLIC_ACCESS_BLOCK)
                .map(String::as_str),
            Some("none")
        );
        assert_eq!(
            after.tags.get(markers::TAG_STATUS).map(String::as_str),
            Some(markers::STATUS_QUARANTINED)
        );
        assert_eq!(after.tags.get("team").map(String::as_str), Some("orders"));
        // Evidence: the policy that opened it, untouched on the bucket and in the report.
        assert_eq!(after.policy, before.policy);
        let reported = s.evidence["contain-bucket"]["bucket"]["evidence"]["bucketPolicy"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(reported.contains("PublicRead"), "{:#?}", s.evidence);
        assert_eq!(outcomes_for(&h, id).await?, ["contained"]);

        // GuardDuty sends it again: the real state says contained; nothing changes.
        let again = h
            .run(
                "bucket-again",
                &for_bucket(
                    fixture("s3-high-anonymous-access.json")?,
                    "e2e1402bucket",
                    &e.member_account,
                    &e.region,
                    name,
                ),
            )
            .await?;
        assert_eq!(again.outcome, "skipped", "{again:#?}");
        assert_eq!(readback::bucket(&h.member, name).await?, after);

        // The rollback puts back exactly what it had: no configuration of its own.
        let request = serde_json::json!({
            "accountId": e.member_account, "region": e.region, "bucketName": name,
            "reason": "false positive", "requestedBy": "analyst@example.com"
        });
        restored(&h, "e2e-restore-bucket", &request).await?;
        let restored = readback::bucket(&h.member, name).await?;
        assert_eq!(restored.public_access_block, None, "{restored:?}");
        assert_eq!(restored.policy, before.policy);
        assert!(!restored
            .tags
            .contains_key(markers::TAG_ORIGINAL_PUBLIC_ACCESS_BLOCK));
        assert_eq!(
            restored.tags.get(markers::TAG_STATUS).map(String::as_str),
            Some(markers::STATUS_RESTORED)
        );
        assert_eq!(
            restored.tags.get("team").map(String::as_str),
            Some("orders")
        );
        Ok(())
    })
    .await
}

/// Below the HIGH threshold the bucket is only closed after an analyst approves: it stays as
/// it is while the execution waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_medium_bucket_finding_waits_for_an_analyst_and_changes_nothing() -> Result<()> {
    let mut opts = Options::default();
    opts.extra_env.insert(
        "POLICY_JSON".into(),
        r#"{"high_severity": 9.0, "critical_severity": 9.5}"#.into(),
    );
    with_harness(opts, |h| async move {
        let e = &h.estate;
        let name = e.bucket_name.as_str();
        let before = readback::bucket(&h.member, name).await?;
        let id = "e2e1403bucket";
        let s = h
            .run(
                "bucket-medium",
                &for_bucket(
                    fixture("s3-high-anonymous-access.json")?,
                    id,
                    &e.member_account,
                    &e.region,
                    name,
                ),
            )
            .await?;
        assert_eq!(s.status, "WAITING_FOR_APPROVAL", "{s:#?}");
        assert!(waiting_for_approval(&h, &s)?);
        assert_eq!(readback::bucket(&h.member, name).await?, before);
        assert_eq!(outcomes_for(&h, id).await?, ["approval-requested"]);
        Ok(())
    })
    .await
}

/// A bucket read from a threat-listed address: the caller is denied on the bucket by one
/// statement merged into its policy (the public-read statement kept, Block Public Access not
/// touched), a repeat is skipped, and the rollback leaves exactly the bucket's own policy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malicious_caller_is_denied_on_the_bucket_and_restore_removes_exactly_the_deny(
) -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let name = e.bucket_name.as_str();
        let before = readback::bucket(&h.member, name).await?;
        let event = |id: &str| -> Result<serde_json::Value> {
            Ok(for_bucket(
                fixture("s3-high-malicious-caller.json")?,
                id,
                &e.member_account,
                &e.region,
                name,
            ))
        };
        let s = h.run("bucket-caller", &event("e2e1404bucket")?).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "contained"),
            "{s:#?}"
        );
        let after = readback::bucket(&h.member, name).await?;
        let policy: serde_json::Value =
            serde_json::from_str(after.policy.as_deref().unwrap_or("{}"))?;
        assert_eq!(
            responder_core::denies::bucket_callers(&policy),
            ["AIDA4EXAMPLEREPORTS1"],
            "{policy}"
        );
        assert!(policy.to_string().contains("PublicRead"), "{policy}");
        assert_eq!(after.public_access_block, before.public_access_block);

        let again = h
            .run("bucket-caller-again", &event("e2e1405bucket")?)
            .await?;
        assert_eq!(again.outcome, "skipped", "{again:#?}");

        let request = serde_json::json!({
            "accountId": e.member_account, "region": e.region, "bucketName": name,
            "reason": "false positive", "requestedBy": "analyst@example.com"
        });
        restored(&h, "e2e-restore-bucket-caller", &request).await?;
        let restored = readback::bucket(&h.member, name).await?;
        let own: serde_json::Value =
            serde_json::from_str(before.policy.as_deref().unwrap_or("{}"))?;
        let now: serde_json::Value =
            serde_json::from_str(restored.policy.as_deref().unwrap_or("{}"))?;
        assert_eq!(now["Statement"], own["Statement"]);
        assert_eq!(
            restored.tags.get(markers::TAG_STATUS).map(String::as_str),
            Some(markers::STATUS_RESTORED)
        );
        Ok(())
    })
    .await
}

/// An object Malware Protection for S3 found malicious: a HIGH finding quarantines it where it
/// is (one statement merged into the bucket's policy, naming exactly its ARN, the bucket's own
/// statement, tags and Block Public Access untouched), its scan-result tag read as evidence; a
/// repeat finds it quarantined; `restore-instance` with `bucketName` and `objectKeys` leaves
/// exactly the bucket's own policy. The emulator does not evaluate bucket policies, so the
/// test reads the statement back; that S3 denies the reads is AWS's part (the statement's
/// actions are checked against the documented object-level actions in responder-core).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malicious_object_is_quarantined_by_the_bucket_policy_and_released_exactly() -> Result<()>
{
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let name = e.bucket_name.as_str();
        let key = e.malicious_object_key.as_str();
        let before = readback::bucket(&h.member, name).await?;
        let id = "e2e1405object";
        let s = h
            .run(
                "object-high",
                &for_object(
                    fixture("s3-object-malicious-file.json")?,
                    id,
                    &e.member_account,
                    &e.region,
                    name,
                    key,
                ),
            )
            .await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "contained"),
            "{s:#?}"
        );
        let after = readback::bucket(&h.member, name).await?;
        let policy: serde_json::Value =
            serde_json::from_str(after.policy.as_deref().unwrap_or("null"))?;
        assert_eq!(
            responder_core::denies::quarantined_objects(&policy, name),
            [key],
            "{policy:#}"
        );
        let statements = policy["Statement"].as_array().cloned().unwrap_or_default();
        assert_eq!(statements.len(), 2, "{policy:#}");
        assert_eq!(statements[0]["Sid"], "PublicRead");
        assert_eq!(
            statements[1]["Resource"],
            serde_json::json!([format!("arn:aws:s3:::{name}/{key}")])
        );
        assert_eq!(after.public_access_block, before.public_access_block);
        assert_eq!(after.tags, before.tags);
        // Evidence: GuardDuty's scan-result tag as the object carries it.
        assert_eq!(
            s.evidence["contain-bucket"]["objects"][0]["tags"]["GuardDutyMalwareScanStatus"],
            "THREATS_FOUND",
            "{:#?}",
            s.evidence
        );
        assert_eq!(outcomes_for(&h, id).await?, ["contained"]);

        // Sent again: the bucket's policy already quarantines it; nothing changes.
        let again = h
            .run(
                "object-again",
                &for_object(
                    fixture("s3-object-malicious-file.json")?,
                    "e2e1406object",
                    &e.member_account,
                    &e.region,
                    name,
                    key,
                ),
            )
            .await?;
        assert_eq!(again.outcome, "skipped", "{again:#?}");
        assert_eq!(readback::bucket(&h.member, name).await?, after);

        // Lifting the quarantine of exactly this object leaves the bucket's own policy.
        let request = serde_json::json!({
            "accountId": e.member_account, "region": e.region, "bucketName": name,
            "objectKeys": [key],
            "reason": "false positive", "requestedBy": "analyst@example.com"
        });
        restored(&h, "e2e-restore-object", &request).await?;
        let released = readback::bucket(&h.member, name).await?;
        let doc = |b: &readback::BucketState| -> Result<serde_json::Value> {
            Ok(serde_json::from_str(b.policy.as_deref().unwrap_or("null"))?)
        };
        assert_eq!(doc(&released)?, doc(&before)?);
        assert_eq!(released.public_access_block, before.public_access_block);
        assert_eq!(released.tags, before.tags);
        Ok(())
    })
    .await
}
