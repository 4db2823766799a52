//! RDS DB instances in a member account after a login that should not have happened: a HIGH
//! finding swaps the groups in force (a standalone instance's own; an Aurora member's, which
//! are its cluster's) for the VPC's quarantine group, the originals recorded on the holder
//! first, a snapshot named after the finding kept; a repeat finds it contained; and
//! `restore-instance` with `dbInstanceIdentifier` puts back exactly the original groups.

use anyhow::Result;
use end_to_end::{fixture, outcomes_for, restored, with_harness, Options};
use responder::readback;
use responder::scenario::for_database;
use responder_core::markers;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_high_login_finding_isolates_the_database_and_restore_undoes_exactly_it() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let db = &e.database;
        let before = readback::database(&h.member, &db.identifier).await?;
        assert_eq!(before.group_ids, db.group_ids, "{before:?}");
        let event = |id: &str| -> Result<serde_json::Value> {
            Ok(for_database(
                fixture("rds-high-malicious-login.json")?,
                id,
                &e.member_account,
                &e.region,
                &db.identifier,
                None,
            ))
        };
        let id = "e2e1501database";
        let s = h.run("database-high", &event(id)?).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "contained"),
            "{s:#?}"
        );
        let after = readback::database(&h.member, &db.identifier).await?;
        assert_eq!(
            after.group_names,
            [markers::QUARANTINE_GROUP_NAME],
            "{after:?}"
        );
        // The originals, recorded on the instance; the marker; its own tags kept.
        assert_eq!(
            after
                .tags
                .get(markers::TAG_ORIGINAL_GROUPS)
                .map(String::as_str),
            Some(db.group_ids.join(" ").as_str())
        );
        assert_eq!(
            after.tags.get(markers::TAG_STATUS).map(String::as_str),
            Some(markers::STATUS_QUARANTINED)
        );
        assert_eq!(after.tags.get("team").map(String::as_str), Some("billing"));
        assert_eq!(after.snapshots.len(), 1, "{after:?}");
        assert!(
            after.snapshots[0].starts_with("guardduty-responder-"),
            "{after:?}"
        );
        let reported = &s.evidence["contain-database"];
        assert_eq!(
            reported["originalGroups"],
            serde_json::json!(db.group_ids),
            "{:#?}",
            s.evidence
        );
        assert_eq!(reported["snapshot"], serde_json::json!(after.snapshots[0]));
        assert_eq!(outcomes_for(&h, id).await?, ["contained"]);

        // GuardDuty sends it again: the real state says contained; nothing changes.
        let again = h.run("database-again", &event("e2e1502database")?).await?;
        assert_eq!(again.outcome, "skipped", "{again:#?}");
        let unchanged = readback::database(&h.member, &db.identifier).await?;
        assert_eq!(unchanged.group_ids, after.group_ids);
        assert_eq!(unchanged.snapshots, after.snapshots);

        // The rollback puts back exactly the two groups; the evidence stays.
        let request = serde_json::json!({
            "accountId": e.member_account, "region": e.region,
            "dbInstanceIdentifier": db.identifier,
            "reason": "false positive", "requestedBy": "analyst@example.com"
        });
        restored(&h, "e2e-restore-database", &request).await?;
        let back = readback::database(&h.member, &db.identifier).await?;
        assert_eq!(back.group_ids, db.group_ids, "{back:?}");
        assert!(!back.tags.contains_key(markers::TAG_ORIGINAL_GROUPS));
        assert_eq!(
            back.tags.get(markers::TAG_STATUS).map(String::as_str),
            Some(markers::STATUS_RESTORED)
        );
        assert_eq!(back.snapshots, after.snapshots);
        Ok(())
    })
    .await
}

/// An Aurora member: its groups are the cluster's, so the cluster is moved (and recorded), a
/// cluster snapshot is kept, and the rollback puts the cluster's group back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aurora_member_isolates_its_cluster_and_restore_undoes_exactly_it() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let db = &e.aurora;
        let before = readback::database(&h.member, &db.identifier).await?;
        assert_eq!(before.group_ids, db.group_ids, "{before:?}");
        let id = "e2e1503aurora";
        let s = h
            .run(
                "aurora-high",
                &for_database(
                    fixture("rds-aurora-high-brute-force.json")?,
                    id,
                    &e.member_account,
                    &e.region,
                    &db.identifier,
                    db.cluster.as_deref(),
                ),
            )
            .await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "contained"),
            "{s:#?}"
        );
        let after = readback::database(&h.member, &db.identifier).await?;
        assert_eq!(
            after.group_names,
            [markers::QUARANTINE_GROUP_NAME],
            "{after:?}"
        );
        assert_eq!(
            after
                .holder_tags
                .get(markers::TAG_ORIGINAL_GROUPS)
                .map(String::as_str),
            Some(db.group_ids.join(" ").as_str()),
            "the record is on the cluster: {after:?}"
        );
        assert_eq!(after.snapshots.len(), 1, "{after:?}");

        let request = serde_json::json!({
            "accountId": e.member_account, "region": e.region,
            "dbInstanceIdentifier": db.identifier,
        });
        restored(&h, "e2e-restore-aurora", &request).await?;
        let back = readback::database(&h.member, &db.identifier).await?;
        assert_eq!(back.group_ids, db.group_ids, "{back:?}");
        assert!(!back.holder_tags.contains_key(markers::TAG_ORIGINAL_GROUPS));
        Ok(())
    })
    .await
}
