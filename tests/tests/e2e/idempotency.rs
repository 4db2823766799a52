//! GuardDuty re-sends a finding (EventBridge delivers at least once, and an update carries the
//! same id with a higher count): the pipeline acts once.

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use end_to_end::{assert_unchanged, fixture, outcomes_for, with_harness, world, Options};
use responder::readback;
use responder::scenario::for_instance;
use responder_core::markers;

/// The same finding id in all three fixtures (a: first delivery, b: re-delivery, update: count
/// 2 -> 11).
const FINDING: &str = "8c0e2a4c6e8a0c2e4a6c8e0a2c4e6a12";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_delivery_and_update_of_a_finding_act_once() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let events: Vec<serde_json::Value> = [
            "ec2-duplicate-delivery-a.json",
            "ec2-duplicate-delivery-b.json",
            "ec2-update-same-finding.json",
        ]
        .iter()
        .map(|f| fixture(f).map(|ev| for_instance(ev, FINDING, &e.web, &e.region)))
        .collect::<Result<_>>()?;
        assert!(
            events[2]["detail"]["service"]["count"].as_i64()
                > events[0]["detail"]["service"]["count"].as_i64(),
            "the update carries a higher count"
        );
        let first = h.run("a", &events[0]).await?;
        assert_eq!(first.outcome, "contained", "{first:#?}");
        let first_arn = first.execution_arn.clone().context("no execution")?;
        let after_first = world(&h).await?;
        for (label, ev) in [("b", &events[1]), ("update", &events[2])] {
            let s = h.run(label, ev).await?;
            assert_eq!(
                (s.status.as_str(), s.outcome.as_str()),
                ("SUCCEEDED", "skipped"),
                "{label}: {s:#?}"
            );
        }
        assert_unchanged(&after_first, &world(&h).await?, "re-deliveries");
        let volumes = readback::attached_volumes(&h.security, &e.web.instance_id).await?;
        let snaps = readback::evidence_snapshots(&h.security, &e.web.instance_id).await?;
        assert_eq!(snaps.len(), volumes.len(), "exactly one set: {snaps:#?}");
        let st = readback::instance(&h.security, &e.web.instance_id).await?;
        assert_eq!(
            st.interfaces[0].tags.get(markers::TAG_ORIGINAL_GROUPS),
            Some(&e.web.interfaces[0].group_ids.join(" ")),
            "the record of the original groups is the first one"
        );
        assert_eq!(
            st.tags.get(markers::TAG_EXECUTION),
            Some(&first_arn),
            "the incident tags name the execution that acted"
        );
        assert_eq!(
            outcomes_for(&h, FINDING).await?,
            ["contained", "skipped", "skipped"]
        );
        Ok(())
    })
    .await
}

/// Two deliveries of the same finding at the same moment (EventBridge may deliver a duplicate
/// while the first execution runs): one set of evidence, the true original groups recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicate_deliveries_act_once() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let a = for_instance(
            fixture("ec2-duplicate-delivery-a.json")?,
            FINDING,
            &e.web,
            &e.region,
        );
        let b = for_instance(
            fixture("ec2-duplicate-delivery-b.json")?,
            FINDING,
            &e.web,
            &e.region,
        );
        let (ra, rb) = tokio::join!(h.run("a", &a), h.run("b", &b));
        let (ra, rb) = (ra?, rb?);
        let outcomes: BTreeSet<&str> = [ra.outcome.as_str(), rb.outcome.as_str()].into();
        assert!(
            outcomes.contains("contained"),
            "one of them contains: {ra:#?} {rb:#?}"
        );
        assert_eq!(ra.status, "SUCCEEDED", "{ra:#?}");
        assert_eq!(rb.status, "SUCCEEDED", "{rb:#?}");
        let st = readback::instance(&h.security, &e.web.instance_id).await?;
        assert!(st
            .interfaces
            .iter()
            .all(|i| i.group_names == [markers::QUARANTINE_GROUP_NAME]));
        assert_eq!(
            st.interfaces[0].tags.get(markers::TAG_ORIGINAL_GROUPS),
            Some(&e.web.interfaces[0].group_ids.join(" ")),
            "the recorded original groups are the instance's, not the quarantine group"
        );
        let volumes = readback::attached_volumes(&h.security, &e.web.instance_id).await?;
        let snaps = readback::evidence_snapshots(&h.security, &e.web.instance_id).await?;
        assert_eq!(
            snaps.len(),
            volumes.len(),
            "exactly one set: {snaps:#?}\nfirst run: {}\nsecond run: {}",
            responder::pipeline::render(&ra),
            responder::pipeline::render(&rb)
        );
        Ok(())
    })
    .await
}
