//! Regions: the tasks act in the finding's region, whatever region the pipeline runs in, and
//! `ALLOWED_REGIONS` refuses findings from any other.

use anyhow::{Context, Result};
use end_to_end::{
    assert_unchanged, fixture, new_notifications, outcome, with_harness, world, Options,
};
use responder::scenario::for_instance;
use responder::{estate, readback};
use responder_core::error::names;
use responder_core::markers;

/// A finding from another region than the pipeline's: the instance is contained in its own
/// region (its VPC's quarantine group, its snapshots), and nothing is created in the
/// pipeline's region.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finding_from_another_region_is_contained_in_that_region() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let remote_region = "us-east-2";
        assert_ne!(remote_region, h.estate.region);
        let (remote, remote_cfg) =
            estate::instance_in_region(&h.security, &h.estate, remote_region, "remote-1").await?;
        let home_groups = readback::security_groups(&h.security).await?;
        let id = "e2e0304remote";
        let event = for_instance(
            fixture("ec2-high-single-eni.json")?,
            id,
            &remote,
            remote_region,
        );
        let s = h.run("remote region", &event).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "contained"),
            "{s:#?}"
        );
        let st = readback::instance(&remote_cfg, &remote.instance_id).await?;
        assert_eq!(
            st.interfaces[0].group_names,
            [markers::QUARANTINE_GROUP_NAME],
            "moved to the quarantine group in {remote_region}"
        );
        let groups = readback::security_groups(&remote_cfg).await?;
        let q = groups
            .iter()
            .find(|g| g.group_id == st.interfaces[0].group_ids[0])
            .context("the quarantine group is not in the finding's region")?;
        assert_eq!(q.vpc_id, remote.interfaces[0].vpc_id);
        assert_eq!(
            st.tags.get(markers::TAG_FINDING_ID).map(String::as_str),
            Some(id)
        );
        assert!(st.termination_protection);
        let snaps = readback::evidence_snapshots(&remote_cfg, &remote.instance_id).await?;
        assert!(!snaps.is_empty(), "evidence snapshots in {remote_region}");
        assert_eq!(
            readback::security_groups(&h.security).await?,
            home_groups,
            "nothing created in the pipeline's region"
        );
        Ok(())
    })
    .await
}

/// `ALLOWED_REGIONS`: a finding from a region outside the list is refused by classify with
/// `Finding.RegionNotAllowed`, the team is told and nothing changes; a finding from a listed
/// region is contained as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_from_regions_outside_the_allowed_list_are_refused() -> Result<()> {
    let opts = Options {
        extra_env: [(
            "ALLOWED_REGIONS".to_string(),
            format!("us-east-1, {}", responder::moto::REGION),
        )]
        .into(),
        ..Options::default()
    };
    with_harness(opts, |h| async move {
        let e = &h.estate;
        let before = world(&h).await?;
        let mut seen = 0;
        let elsewhere = "ap-southeast-2";
        let id = "e2e0302region";
        let event = for_instance(fixture("ec2-high-single-eni.json")?, id, &e.web, elsewhere);
        let s = h.run("other region", &event).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("FAILED", "rejected-event"),
            "{s:#?}"
        );
        assert_eq!(
            s.error.as_deref(),
            Some(names::FINDING_REGION_NOT_ALLOWED.as_str()),
            "{s:#?}"
        );
        let notes = new_notifications(&h, &mut seen).await?;
        assert_eq!(notes.len(), 1, "{notes:#?}");
        assert_eq!(outcome(&notes[0]), "failed");
        let body = notes[0].json().unwrap_or_default();
        assert_eq!(
            body["error"]["error"],
            names::FINDING_REGION_NOT_ALLOWED.as_str()
        );
        let cause = body["error"]["cause"].as_str().unwrap_or_default();
        assert!(cause.contains(elsewhere), "{cause}");
        assert_unchanged(&before, &world(&h).await?, "a finding from another region");

        // The same finding from the pipeline's own (listed) region is contained.
        let event = for_instance(
            fixture("ec2-high-single-eni.json")?,
            "e2e0303region",
            &e.web,
            &e.region,
        );
        let s = h.run("listed region", &event).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "contained"),
            "{s:#?}"
        );
        Ok(())
    })
    .await
}
