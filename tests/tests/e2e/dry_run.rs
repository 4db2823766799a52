//! `DRY_RUN=true`: the run reports what it would change and changes nothing.

use std::collections::BTreeMap;

use anyhow::Result;
use end_to_end::{
    actions_with, assert_unchanged, fixture, notifications_for, with_harness, world, Options,
};
use responder::scenario::{for_access_key, for_instance};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_changes_nothing_and_reports_what_would_change() -> Result<()> {
    let opts = Options {
        extra_env: BTreeMap::from([("DRY_RUN".to_string(), "true".to_string())]),
        ..Options::default()
    };
    with_harness(opts, |h| async move {
        let e = &h.estate;
        let before = world(&h).await?;
        let cases = [
            (
                "e2e0501dryec2",
                for_instance(
                    fixture("ec2-high-single-eni.json")?,
                    "e2e0501dryec2",
                    &e.scaled,
                    &e.region,
                ),
                "isolate/set-interface-groups",
            ),
            (
                "e2e0501dryiam",
                for_access_key(
                    fixture("iam-high-akia-user.json")?,
                    "e2e0501dryiam",
                    &e.security_account,
                    &e.region,
                    &e.user_name,
                    &e.access_key_id,
                ),
                "revoke/",
            ),
        ];
        for (id, event, expected) in &cases {
            let s = h.run(id, event).await?;
            assert_eq!(s.status, "SUCCEEDED", "{id}: {s:#?}");
            let would = actions_with(&s, "would-change");
            assert!(
                would.iter().any(|a| a.starts_with(expected)),
                "{id}: no {expected} would-change action: {s:#?}"
            );
            assert!(
                actions_with(&s, "changed").is_empty(),
                "{id}: a dry run reported changes: {s:#?}"
            );
            let notes = notifications_for(&h, id).await?;
            assert_eq!(notes.len(), 1, "{id}: {notes:#?}");
            assert_eq!(
                notes[0].json().unwrap_or_default()["dryRun"],
                true,
                "{id}: the notification says dry run"
            );
        }
        assert_unchanged(&before, &world(&h).await?, "dry run");
        Ok(())
    })
    .await
}
