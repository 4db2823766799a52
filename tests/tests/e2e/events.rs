//! Events the pipeline cannot act on, and a task that fails: the execution fails with the
//! stable error name, the team is told, and nothing is changed.

use anyhow::Result;
use end_to_end::{
    assert_unchanged, fixture, fixture_text, new_notifications, outcome, with_harness, world,
    Options,
};
use responder::estate::SeededInstance;
use responder::scenario::for_instance;
use responder_core::error::names;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_non_guardduty_events_fail_with_named_errors() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let before = world(&h).await?;
        let mut seen = 0;

        // Not JSON: Step Functions refuses the input; no execution starts.
        let s = h
            .run_text("not json", &fixture_text("malformed-not-json.txt")?)
            .await?;
        assert_eq!(s.status, "FAILED", "{s:#?}");
        assert_eq!(
            s.error.as_deref(),
            Some(names::FINDING_INVALID.as_str()),
            "{s:#?}"
        );
        assert_eq!(s.execution_arn, None);
        assert!(new_notifications(&h, &mut seen).await?.is_empty());

        // JSON, but not a finding the pipeline can read: classify fails it, the team is told.
        let cases = [
            ("malformed-missing-id.json", names::FINDING_INVALID),
            ("securityhub-imported.json", names::FINDING_UNSUPPORTED),
            ("other-source-ec2.json", names::FINDING_UNSUPPORTED),
        ];
        for (file, error) in cases {
            let s = h.run(file, &fixture(file)?).await?;
            assert_eq!(
                (s.status.as_str(), s.outcome.as_str()),
                ("FAILED", "rejected-event"),
                "{file}: {s:#?}"
            );
            assert_eq!(s.error.as_deref(), Some(error.as_str()), "{file}: {s:#?}");
            assert!(s.execution_arn.is_some(), "{file}");
            let notes = new_notifications(&h, &mut seen).await?;
            assert_eq!(notes.len(), 1, "{file}: {notes:#?}");
            assert_eq!(outcome(&notes[0]), "failed", "{file}");
            let body = notes[0].json().unwrap_or_default();
            assert_eq!(body["error"]["error"], error.as_str(), "{file}: {body:#}");
        }
        assert_unchanged(&before, &world(&h).await?, "rejected events");
        Ok(())
    })
    .await
}

/// A finding for an instance that does not exist: the execution fails with
/// `Remediation.TargetNotFound`, and the failure notification carries the error and cause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_for_a_missing_instance_fails_with_target_not_found() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let id = "e2e0301ghost";
        let ghost = SeededInstance {
            name: "ghost".into(),
            account_id: e.security_account.clone(),
            instance_id: "i-0123456789abcdef0".into(),
            interfaces: Vec::new(),
            tags: Default::default(),
        };
        let before = world(&h).await?;
        let mut seen = 0;
        let s = h
            .run(
                "ghost",
                &for_instance(fixture("ec2-high-single-eni.json")?, id, &ghost, &e.region),
            )
            .await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("FAILED", "failed"),
            "{s:#?}"
        );
        assert_eq!(
            s.error.as_deref(),
            Some(names::REMEDIATION_TARGET_NOT_FOUND.as_str()),
            "{s:#?}"
        );
        let notes = new_notifications(&h, &mut seen).await?;
        assert_eq!(notes.len(), 1, "{notes:#?}");
        assert_eq!(outcome(&notes[0]), "failed");
        let body = notes[0].json().unwrap_or_default();
        assert_eq!(body["finding"]["id"], id);
        assert_eq!(
            body["error"]["error"],
            names::REMEDIATION_TARGET_NOT_FOUND.as_str(),
            "{body:#}"
        );
        let cause = body["error"]["cause"].to_string();
        assert!(
            cause.contains("i-0123456789abcdef0"),
            "the cause names the instance: {body:#}"
        );
        assert_unchanged(&before, &world(&h).await?, "missing instance");
        Ok(())
    })
    .await
}
