//! After a false positive, `restore-instance` puts the instance back as it was before
//! isolation.

use anyhow::{Context, Result};
use end_to_end::{fixture, new_notifications, outcome, restored, with_harness, Options};
use responder::readback;
use responder::scenario::for_instance;
use responder_core::markers;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_after_a_false_positive_puts_the_instance_back() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let id = "e2e0401restore";
        let before = readback::instance(&h.security, &e.scaled.instance_id).await?;
        assert_eq!(
            before.auto_scaling_group.as_deref(),
            Some(e.auto_scaling_group.as_str())
        );
        let s = h
            .run(
                "contain",
                &for_instance(
                    fixture("ec2-high-single-eni.json")?,
                    id,
                    &e.scaled,
                    &e.region,
                ),
            )
            .await?;
        assert_eq!(s.outcome, "contained", "{s:#?}");
        let contained = readback::instance(&h.security, &e.scaled.instance_id).await?;
        assert!(contained.termination_protection);
        assert_eq!(contained.auto_scaling_group, None);
        let addr = format!("{}/32", contained.interfaces[0].private_ips[0]);
        let entries_for_addr = |acls: &std::collections::BTreeMap<String, Vec<String>>| {
            acls.values()
                .flatten()
                .filter(|l| l.ends_with(&addr))
                .cloned()
                .collect::<Vec<_>>()
        };
        let acls = readback::network_acls(&h.security, &e.vpc_id).await?;
        assert_eq!(entries_for_addr(&acls).len(), 6, "{acls:#?}");
        let snaps = readback::evidence_snapshots(&h.security, &e.scaled.instance_id).await?;
        assert!(!snaps.is_empty());

        let mut seen = h.notifications().await?.len();
        let input = json!({
            "accountId": e.security_account, "region": e.region,
            "instanceId": e.scaled.instance_id,
            "reason": "false positive confirmed by the analyst",
            "requestedBy": "analyst@example.com"
        });
        restored(&h, "e2e-restore", &input).await?;

        let after = readback::instance(&h.security, &e.scaled.instance_id).await?;
        let groups = |s: &readback::InstanceState| {
            s.interfaces
                .iter()
                .map(|i| (i.network_interface_id.clone(), i.group_ids.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(groups(&after), groups(&before), "original groups back");
        let acls = readback::network_acls(&h.security, &e.vpc_id).await?;
        assert!(
            entries_for_addr(&acls).is_empty(),
            "every ACL entry for the instance removed: {acls:#?}"
        );
        assert!(after
            .interfaces
            .iter()
            .all(|i| !i.tags.contains_key(markers::TAG_NETWORK_ACL_ENTRIES)));
        assert_eq!(after.termination_protection, before.termination_protection);
        assert_eq!(after.shutdown_behavior, before.shutdown_behavior);
        assert_eq!(
            after.auto_scaling_group.as_deref(),
            Some(e.auto_scaling_group.as_str()),
            "back in its Auto Scaling group"
        );
        let asg = readback::auto_scaling_group(&h.security, &e.auto_scaling_group).await?;
        assert!(asg.instance_ids.contains(&e.scaled.instance_id));
        assert!(
            readback::target_group_members(&h.security, &e.target_group_arn)
                .await?
                .contains(&e.scaled.instance_id),
            "registered in its target group again"
        );
        assert_eq!(after.state, "running");
        assert_eq!(
            after.tags.get(markers::TAG_STATUS).map(String::as_str),
            Some(markers::STATUS_RESTORED)
        );
        assert!(!after.tags.contains_key(markers::TAG_ORIGINAL_ATTRIBUTES));
        for i in &after.interfaces {
            assert!(
                !i.tags.contains_key(markers::TAG_ORIGINAL_GROUPS),
                "the rollback record is removed: {i:?}"
            );
        }
        assert_eq!(
            after.tags.get(markers::TAG_FINDING_ID).map(String::as_str),
            Some(id),
            "the finding id stays for the audit trail"
        );
        assert_eq!(
            readback::evidence_snapshots(&h.security, &e.scaled.instance_id).await?,
            snaps,
            "evidence is kept"
        );
        let notes = new_notifications(&h, &mut seen).await?;
        let restored: Vec<_> = notes.iter().filter(|n| outcome(n) == "restored").collect();
        assert_eq!(restored.len(), 1, "{notes:#?}");
        assert!(
            restored[0].subject.contains(&e.scaled.instance_id)
                || restored[0].message.contains(&e.scaled.instance_id),
            "{:#?}",
            restored[0]
        );
        // For the report: AttachInstances counts the instance in again.
        eprintln!(
            "desired capacity after restore: {} ({} instances)",
            asg.desired_capacity,
            asg.instance_ids.len()
        );
        let _ = s.execution_arn.context("no execution")?;
        Ok(())
    })
    .await
}
