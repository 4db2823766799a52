//! Decisions an attacker in the member account cannot steer: tags written after detection,
//! forged quarantine markers, a Security Hub finding from another product, a victim that is
//! not an attacker, and two findings racing on one instance.

use anyhow::{Context, Result};
use aws_sdk_ec2::types::Tag;
use end_to_end::{
    assert_unchanged, fixture, notifications_for, outcome, with_harness, world, Options,
};
use responder::readback;
use responder::scenario::for_instance;
use responder_core::{markers, names};

/// Tags an instance as the attacker would, with the credentials of the member account.
async fn tag_instance(
    h: &responder::harness::Harness,
    id: &str,
    key: &str,
    value: &str,
) -> Result<()> {
    aws_sdk_ec2::Client::new(&h.security)
        .create_tags()
        .resources(id)
        .tags(Tag::builder().key(key).value(value).build())
        .send()
        .await
        .context("CreateTags")?;
    Ok(())
}

/// The attacker tags the instance exempt, and as already quarantined, after GuardDuty saw it:
/// neither tag decides anything, the instance is contained, and the result says what was not
/// trusted and why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_written_after_detection_neither_exempt_nor_mark_an_instance_contained() -> Result<()>
{
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let id = "e2e0501forged";
        // GuardDuty's record of the instance (the finding) is taken first...
        let event = for_instance(fixture("ec2-high-single-eni.json")?, id, &e.web, &e.region);
        // ...then the attacker writes the published keys.
        tag_instance(&h, &e.web.instance_id, "AutoRemediation", "disabled").await?;
        tag_instance(
            &h,
            &e.web.instance_id,
            markers::TAG_STATUS,
            markers::STATUS_QUARANTINED,
        )
        .await?;
        let s = h.run("forged", &event).await?;
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
        let notes = notifications_for(&h, id).await?;
        let body = notes[0].json().context("JSON")?;
        let ignored = body["exemption"]["ignored"].to_string();
        assert!(
            ignored.contains("was not in GuardDuty's record of it at detection")
                && ignored.contains("stale or forged"),
            "{ignored}"
        );
        Ok(())
    })
    .await
}

/// The exemption tag that was on the instance when GuardDuty saw it, and still is: honoured,
/// and the result names that source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_present_at_detection_and_now_exempts() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let id = "e2e0502exempt";
        let before = world(&h).await?;
        let event = for_instance(
            fixture("ec2-high-single-eni.json")?,
            id,
            &e.exempt,
            &e.region,
        );
        let s = h.run("exempt", &event).await?;
        assert_eq!(s.outcome, "skipped", "{s:#?}");
        assert_unchanged(&before, &world(&h).await?, "exempt instance");
        let body = notifications_for(&h, id).await?[0].json().context("JSON")?;
        assert!(
            body["exemption"]["source"]
                .as_str()
                .is_some_and(|s| s.contains("at detection and on it now")),
            "{body:#}"
        );
        Ok(())
    })
    .await
}

/// A Security Hub custom action on a finding that calls itself GuardDuty but comes from a
/// custom integration's product is refused; nothing changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_security_hub_finding_of_another_product_is_refused() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let before = world(&h).await?;
        for file in [
            "securityhub-custom-action-custom-product.json",
            "securityhub-custom-action-account-mismatch.json",
        ] {
            let s = h.run(file, &fixture(file)?).await?;
            assert_eq!(
                (s.status.as_str(), s.outcome.as_str()),
                ("FAILED", "rejected-event"),
                "{file}: {s:#?}"
            );
            assert_eq!(
                s.error.as_deref(),
                Some(names::FINDING_UNSUPPORTED.as_str()),
                "{file}"
            );
        }
        assert_unchanged(&before, &world(&h).await?, "refused Security Hub findings");
        Ok(())
    })
    .await
}

/// Someone probes an open port of the instance: it is the victim, so it is not isolated; the
/// team gets the recommended fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_probe_victim_is_notified_not_isolated() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let id = "e2e0503victim";
        let before = world(&h).await?;
        let event = for_instance(
            fixture("ec2-victim-port-probe.json")?,
            id,
            &e.web,
            &e.region,
        );
        let s = h.run("victim", &event).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "recorded"),
            "{s:#?}"
        );
        assert_unchanged(&before, &world(&h).await?, "victim");
        let notes = notifications_for(&h, id).await?;
        assert_eq!(notes.len(), 1);
        assert_eq!(outcome(&notes[0]), "recorded");
        let steps = notes[0].json().context("JSON")?["nextSteps"].to_string();
        assert!(steps.contains("Recommended fix"), "{steps}");
        Ok(())
    })
    .await
}

/// Two different findings on the same instance at the same moment: one execution contains
/// it, the other sees it handled; one set of evidence snapshots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_findings_on_one_instance_at_once_isolate_it_once() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let a = for_instance(
            fixture("ec2-high-single-eni.json")?,
            "e2e0504a",
            &e.web,
            &e.region,
        );
        let b = for_instance(fixture("ec2-critical.json")?, "e2e0504b", &e.web, &e.region);
        let (ra, rb) = tokio::join!(h.run("a", &a), h.run("b", &b));
        let (ra, rb) = (ra?, rb?);
        let mut outcomes = [ra.outcome.clone(), rb.outcome.clone()];
        outcomes.sort();
        assert_eq!(outcomes, ["contained", "skipped"], "{ra:#?}\n{rb:#?}");
        let volumes = readback::attached_volumes(&h.security, &e.web.instance_id).await?;
        let snaps = readback::evidence_snapshots(&h.security, &e.web.instance_id).await?;
        assert_eq!(snaps.len(), volumes.len(), "one evidence set: {snaps:#?}");
        let skipped = if ra.outcome == "skipped" { &ra } else { &rb };
        // Either it found the other execution holding the instance, or (if it came second)
        // the instance already contained in EC2.
        assert!(
            skipped
                .reasons
                .iter()
                .any(|r| r.contains("is being handled by execution")
                    || r.contains("holds only its VPC's quarantine group")),
            "{skipped:#?}"
        );
        Ok(())
    })
    .await
}
