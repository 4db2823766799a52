//! MEDIUM findings wait for an analyst: approved through the signed link, rejected, or left
//! unanswered until the wait times out.

use std::time::Duration;

use anyhow::{Context, Result};
use end_to_end::{
    assert_unchanged, fixture, open_link, outcomes_for, post_decision, waiting_for_approval,
    with_harness, world, Options,
};
use responder::readback;
use responder::scenario::for_instance;
use responder_core::markers;

/// Opening the link decides nothing; confirming with the form approves, and the instance is
/// contained.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medium_finding_approved_through_the_link_is_contained() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let id = "e2e0101approve";
        let before = world(&h).await?;
        let s = h
            .run(
                "medium",
                &for_instance(fixture("ec2-medium.json")?, id, &e.web, &e.region),
            )
            .await?;
        assert_eq!(s.status, "WAITING_FOR_APPROVAL", "{s:#?}");
        assert_eq!(s.tier.as_deref(), Some("MEDIUM"));
        assert_unchanged(&before, &world(&h).await?, "waiting for an analyst");
        let (approve, _) = h.approval_links(id).await?;

        let (status, page) = open_link(&approve).await?;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains(id), "the page names the finding");
        assert!(
            page.contains("If you approve, the pipeline will:")
                && page.contains("into the quarantine security group"),
            "the page shows the plan: {page}"
        );
        // Give a wrongly deciding GET every chance to reach the execution.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            waiting_for_approval(&h, &s)?,
            "the GET decided: the execution no longer waits"
        );
        assert_unchanged(&before, &world(&h).await?, "after opening the link");

        assert_eq!(post_decision(&approve, true).await?, 200);
        let s = h.resume(&s).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "contained"),
            "{s:#?}"
        );
        let st = readback::instance(&h.security, &e.web.instance_id).await?;
        assert!(st
            .interfaces
            .iter()
            .all(|i| i.group_names == [markers::QUARANTINE_GROUP_NAME]));
        assert!(st.termination_protection);
        assert!(
            !readback::evidence_snapshots(&h.security, &e.web.instance_id)
                .await?
                .is_empty()
        );
        assert_eq!(
            outcomes_for(&h, id).await?,
            ["approval-requested", "contained"]
        );
        Ok(())
    })
    .await
}

/// A rejection changes nothing and is notified; the spent link then refuses any answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medium_finding_rejected_changes_nothing_and_the_link_is_spent() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let id = "e2e0102reject";
        let before = world(&h).await?;
        let s = h
            .run(
                "medium",
                &for_instance(fixture("ec2-medium.json")?, id, &e.web, &e.region),
            )
            .await?;
        assert_eq!(s.status, "WAITING_FOR_APPROVAL", "{s:#?}");
        let (approve, reject) = h.approval_links(id).await?;
        assert_eq!(open_link(&reject).await?.0, 200);
        assert_eq!(post_decision(&reject, false).await?, 200);
        let s = h.resume(&s).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "approval-rejected"),
            "{s:#?}"
        );
        assert_unchanged(&before, &world(&h).await?, "rejected");
        assert_eq!(
            outcomes_for(&h, id).await?,
            ["approval-requested", "approval-rejected"]
        );
        // Replayed: the same reject, then the approve link of the same request.
        for (link, approve_it) in [(&reject, false), (&approve, true)] {
            let status = post_decision(link, approve_it).await?;
            assert!(
                status == 409 || status == 410,
                "a replayed link answered {status}"
            );
        }
        assert_unchanged(&before, &world(&h).await?, "after the replays");
        assert_eq!(
            outcomes_for(&h, id).await?,
            ["approval-requested", "approval-rejected"],
            "a replay sent nothing"
        );
        Ok(())
    })
    .await
}

/// Nobody answers: the wait times out, nothing is changed, the timeout is notified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medium_finding_without_an_answer_times_out_and_changes_nothing() -> Result<()> {
    let opts = Options {
        approval_timeout_seconds: 60,
        ..Options::default()
    };
    with_harness(opts, |h| async move {
        let e = &h.estate;
        let id = "e2e0103timeout";
        let before = world(&h).await?;
        let s = h
            .run(
                "medium",
                &for_instance(fixture("ec2-medium.json")?, id, &e.web, &e.region),
            )
            .await?;
        assert_eq!(s.status, "WAITING_FOR_APPROVAL", "{s:#?}");
        let (approve, _) = h.approval_links(id).await?;
        let arn = s.execution_arn.clone().context("no execution")?;
        h.runtime.wait(&arn).await?;
        let s = h.resume(&s).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "approval-timed-out"),
            "{s:#?}"
        );
        assert_unchanged(&before, &world(&h).await?, "timed out");
        assert_eq!(
            outcomes_for(&h, id).await?,
            ["approval-requested", "approval-timed-out"]
        );
        // A late approval is refused and changes nothing.
        let status = post_decision(&approve, true).await?;
        assert!(
            status == 409 || status == 410,
            "a late approval answered {status}"
        );
        assert_unchanged(&before, &world(&h).await?, "after a late approval");
        Ok(())
    })
    .await
}
