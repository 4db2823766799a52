//! EC2 containment: one and two interfaces, member account, Auto Scaling and target group,
//! exempt and already-contained instances.

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use end_to_end::{
    assert_unchanged, fixture, notifications_for, outcomes_for, with_harness, world, Options,
};
use responder::readback;
use responder::scenario::{for_access_key, for_instance};
use responder_core::markers;

/// HIGH finding on an instance with one interface: isolated, protected, marked, evidence
/// taken, incident tags written, analysts told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn high_ec2_finding_on_one_interface_is_contained() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let id = "e2e0001high";
        let event = for_instance(fixture("ec2-high-single-eni.json")?, id, &e.web, &e.region);
        let s = h.run("high", &event).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "contained"),
            "{s:#?}"
        );
        let arn = s.execution_arn.clone().context("no execution")?;

        let st = readback::instance(&h.security, &e.web.instance_id).await?;
        assert_eq!(st.state, "running", "kept running for forensics");
        assert_eq!(st.interfaces.len(), 1);
        let eni = &st.interfaces[0];
        assert_eq!(eni.group_names, [markers::QUARANTINE_GROUP_NAME]);
        let groups = readback::security_groups(&h.security).await?;
        let q = groups
            .iter()
            .find(|g| g.group_id == eni.group_ids[0])
            .context("quarantine group not found")?;
        assert_eq!(q.vpc_id, e.web.interfaces[0].vpc_id);
        assert_eq!(q.ingress_rules, 0, "the quarantine group admits nothing");
        assert_eq!(
            eni.tags.get(markers::TAG_ORIGINAL_GROUPS),
            Some(&e.web.interfaces[0].group_ids.join(" ")),
            "original groups recorded on the interface"
        );
        assert_eq!(
            eni.tags.get(markers::TAG_FINDING_ID).map(String::as_str),
            Some(id)
        );
        assert!(st.termination_protection);
        assert_eq!(
            st.tags.get(markers::TAG_STATUS).map(String::as_str),
            Some(markers::STATUS_QUARANTINED)
        );
        // The quarantine group's only egress: TCP 443 to the Session Manager endpoints' group.
        assert_eq!(
            q.egress,
            [format!("tcp 443-443 -> {}", e.main_vpc.endpoint_group_id)],
            "quarantine egress"
        );
        // Deny entries both ways for the instance's address in the ACLs its traffic crosses:
        // the default ACL (shared with the NAT gateway's subnet) and the endpoints' ACL, where
        // Session Manager's HTTPS and its replies are allowed just before the deny.
        let addr = format!("{}/32", eni.private_ips[0]);
        let acls = readback::network_acls(&h.security, &e.vpc_id).await?;
        let for_addr = |acl: &str| -> Vec<String> {
            acls.get(acl)
                .map(|l| l.iter().filter(|l| l.ends_with(&addr)).cloned().collect())
                .unwrap_or_default()
        };
        assert_eq!(
            for_addr(&e.main_vpc.default_acl_id),
            [
                format!("in 1 deny -1 {addr}"),
                format!("out 1 deny -1 {addr}")
            ]
        );
        assert_eq!(
            for_addr(&e.main_vpc.endpoint_acl_id),
            [
                format!("in 1 allow 6 443-443 {addr}"),
                format!("in 2 deny -1 {addr}"),
                format!("out 1 allow 6 1024-65535 {addr}"),
                format!("out 2 deny -1 {addr}")
            ]
        );
        assert!(
            eni.tags.contains_key(markers::TAG_NETWORK_ACL_ENTRIES),
            "the entries are recorded on the interface for the rollback"
        );
        // Incident tags.
        assert_eq!(
            st.tags.get(markers::TAG_FINDING_ID).map(String::as_str),
            Some(id)
        );
        assert_eq!(
            st.tags.get(markers::TAG_FINDING_TYPE).map(String::as_str),
            Some("Backdoor:EC2/C&CActivity.B")
        );
        assert!(
            st.tags
                .get(markers::TAG_SEVERITY)
                .is_some_and(|v| v.contains("HIGH")),
            "severity tag: {:?}",
            st.tags.get(markers::TAG_SEVERITY)
        );
        assert_eq!(
            st.tags.get(markers::TAG_EXECUTION).map(String::as_str),
            Some(arn.as_str())
        );
        assert!(st.tags.contains_key(markers::TAG_TIME));
        // Evidence: one snapshot per attached volume, tagged.
        let volumes = readback::attached_volumes(&h.security, &e.web.instance_id).await?;
        assert!(!volumes.is_empty());
        let snaps = readback::evidence_snapshots(&h.security, &e.web.instance_id).await?;
        let snapped: Vec<String> = {
            let mut v: Vec<String> = snaps.iter().map(|s| s.volume_id.clone()).collect();
            v.sort();
            v
        };
        assert_eq!(snapped, volumes, "one evidence snapshot per volume");
        for snap in &snaps {
            assert_eq!(
                snap.tags.get(markers::TAG_PURPOSE).map(String::as_str),
                Some(markers::PURPOSE_EVIDENCE)
            );
            assert_eq!(
                snap.tags.get(markers::TAG_FINDING_ID).map(String::as_str),
                Some(id)
            );
        }
        // Notification.
        let notes = notifications_for(&h, id).await?;
        assert_eq!(notes.len(), 1, "{notes:#?}");
        assert_eq!(end_to_end::outcome(&notes[0]), "contained");
        let body = notes[0].json().context("notification is JSON")?;
        assert_eq!(body["finding"]["id"], id);
        assert_eq!(body["outcome"], "contained");
        // Metrics, as CloudWatch would extract them from the tasks' EMF lines: the time to
        // contain from the execution's start, and the changes by action and finding type.
        // One series per route, and the dimensionless total the alarm watches.
        let all = h.metrics.of("TimeToContain");
        let dims: Vec<_> = all.iter().map(|(k, _)| k.dimensions.clone()).collect();
        assert_eq!(
            dims,
            [vec![], vec![("Route".to_string(), "ec2".to_string())]],
            "{all:?}"
        );
        assert_eq!(
            all[0].1.values, all[1].1.values,
            "the total counts the same value"
        );
        let ttc = &all[1..];
        assert_eq!(ttc[0].1.unit.as_deref(), Some("Milliseconds"));
        assert_eq!(ttc[0].1.values.len(), 1);
        assert!(
            ttc[0].1.values[0] > 0.0 && ttc[0].1.values[0] < 120_000.0,
            "{ttc:?}"
        );
        let isolations = h
            .metrics
            .of("RemediationActions")
            .into_iter()
            .filter(|(k, _)| {
                k.dimensions
                    .contains(&("Action".into(), "deny-in-network-acls".into()))
                    && k.dimensions
                        .contains(&("FindingType".into(), "Backdoor:EC2/C&CActivity.B".into()))
            })
            .map(|(_, s)| s.sum())
            .sum::<f64>();
        assert_eq!(isolations, 1.0);
        assert_eq!(h.metrics.total("Failures"), 0.0, "{}", h.metrics.render());
        Ok(())
    })
    .await
}

/// Two interfaces in two VPCs: each gets the quarantine group of its own VPC.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_interfaces_in_two_vpcs_each_get_their_vpcs_quarantine_group() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let id = "e2e0002multi";
        let event = for_instance(fixture("ec2-high-multi-eni.json")?, id, &e.multi, &e.region);
        let s = h.run("multi", &event).await?;
        assert_eq!(s.outcome, "contained", "{s:#?}");
        let st = readback::instance(&h.security, &e.multi.instance_id).await?;
        assert_eq!(st.interfaces.len(), 2);
        let groups = readback::security_groups(&h.security).await?;
        let mut quarantine_groups = BTreeSet::new();
        for seeded in &e.multi.interfaces {
            let eni = st
                .interfaces
                .iter()
                .find(|i| i.network_interface_id == seeded.network_interface_id)
                .context("interface gone")?;
            assert_eq!(eni.group_names, [markers::QUARANTINE_GROUP_NAME]);
            let g = groups
                .iter()
                .find(|g| g.group_id == eni.group_ids[0])
                .context("group not found")?;
            assert_eq!(
                g.vpc_id, seeded.vpc_id,
                "the quarantine group of the ENI's VPC"
            );
            assert_eq!(g.ingress_rules, 0);
            assert_eq!(
                eni.tags.get(markers::TAG_ORIGINAL_GROUPS),
                Some(&seeded.group_ids.join(" "))
            );
            quarantine_groups.insert(g.group_id.clone());
        }
        assert_eq!(quarantine_groups.len(), 2, "one quarantine group per VPC");
        // Session Manager egress only where the VPC has its endpoints; nothing elsewhere.
        for g in groups
            .iter()
            .filter(|g| quarantine_groups.contains(&g.group_id))
        {
            if g.vpc_id == e.vpc_id {
                assert_eq!(
                    g.egress,
                    [format!("tcp 443-443 -> {}", e.main_vpc.endpoint_group_id)]
                );
            } else {
                assert!(
                    g.egress.is_empty(),
                    "no egress without endpoints: {:?}",
                    g.egress
                );
            }
        }
        let notes = notifications_for(&h, id).await?;
        let body = notes[0].json().context("JSON")?;
        let caveats = body["caveats"].to_string();
        assert!(
            caveats.contains("Session Manager is unavailable in")
                && caveats.contains("DNS is not cut"),
            "{caveats}"
        );
        assert!(st.termination_protection);
        assert_eq!(outcomes_for(&h, id).await?, ["contained"]);
        Ok(())
    })
    .await
}

/// A member account's instance is contained through the remediation role, in that account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_account_instance_is_contained_through_the_remediation_role() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let id = "e2e0003member";
        let before_security_groups = readback::security_groups(&h.security).await?;
        let event = for_instance(
            fixture("ec2-high-cross-account.json")?,
            id,
            &e.member,
            &e.region,
        );
        assert_eq!(event["detail"]["accountId"], e.member_account);
        // The member account is a separate account in the emulator: the security account's
        // credentials do not see its instance.
        assert!(
            readback::instance(&h.security, &e.member.instance_id)
                .await
                .is_err(),
            "the member instance is visible from the security account: accounts not isolated"
        );
        let s = h.run("member", &event).await?;
        assert_eq!(s.outcome, "contained", "{s:#?}");
        let st = readback::instance(&h.member, &e.member.instance_id).await?;
        assert!(st
            .interfaces
            .iter()
            .all(|i| i.group_names == [markers::QUARANTINE_GROUP_NAME]));
        assert!(st.termination_protection);
        assert_eq!(
            st.tags.get(markers::TAG_STATUS).map(String::as_str),
            Some(markers::STATUS_QUARANTINED)
        );
        let member_groups = readback::security_groups(&h.member).await?;
        assert!(member_groups
            .iter()
            .any(|g| g.group_name == markers::QUARANTINE_GROUP_NAME
                && g.vpc_id == e.member.interfaces[0].vpc_id));
        let snaps = readback::evidence_snapshots(&h.member, &e.member.instance_id).await?;
        let volumes = readback::attached_volumes(&h.member, &e.member.instance_id).await?;
        assert_eq!(snaps.len(), volumes.len(), "evidence in the member account");
        assert!(!snaps.is_empty());
        // Nothing was created in the security account.
        assert_eq!(
            readback::security_groups(&h.security).await?,
            before_security_groups
        );
        assert_eq!(outcomes_for(&h, id).await?, ["contained"]);
        Ok(())
    })
    .await
}

/// An instance in an Auto Scaling group behind a target group: detached without lowering the
/// desired capacity (the group replaces it), deregistered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_scaling_instance_is_detached_and_deregistered_keeping_desired_capacity() -> Result<()>
{
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let id = "e2e0004asg";
        let asg_before = readback::auto_scaling_group(&h.security, &e.auto_scaling_group).await?;
        assert!(asg_before.instance_ids.contains(&e.scaled.instance_id));
        assert!(
            readback::target_group_members(&h.security, &e.target_group_arn)
                .await?
                .contains(&e.scaled.instance_id)
        );
        let event = for_instance(
            fixture("ec2-high-single-eni.json")?,
            id,
            &e.scaled,
            &e.region,
        );
        let s = h.run("asg", &event).await?;
        assert_eq!(s.outcome, "contained", "{s:#?}");
        // Out of the group's hands before any interface moved: a quarantined instance fails
        // its health checks, and the group would terminate it with the evidence.
        let actions: Vec<String> = s
            .actions
            .iter()
            .filter(|a| a.get("task").and_then(serde_json::Value::as_str) == Some("isolate"))
            .filter_map(|a| {
                a.get("action")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_string)
            })
            .collect();
        let protect = actions
            .iter()
            .position(|a| a == "protect-from-auto-scaling");
        let moved = actions.iter().position(|a| a == "set-interface-groups");
        assert!(
            matches!((protect, moved), (Some(p), Some(m)) if p < m),
            "{actions:?}"
        );
        let st = readback::instance(&h.security, &e.scaled.instance_id).await?;
        assert_eq!(st.auto_scaling_group, None, "detached");
        let asg = readback::auto_scaling_group(&h.security, &e.auto_scaling_group).await?;
        assert!(!asg.instance_ids.contains(&e.scaled.instance_id));
        assert_eq!(
            asg.desired_capacity, asg_before.desired_capacity,
            "desired capacity unchanged"
        );
        assert!(
            !readback::target_group_members(&h.security, &e.target_group_arn)
                .await?
                .contains(&e.scaled.instance_id)
        );
        assert!(st
            .interfaces
            .iter()
            .all(|i| i.group_names == [markers::QUARANTINE_GROUP_NAME]));
        assert_eq!(st.state, "running");
        Ok(())
    })
    .await
}

/// Targets tagged exempt are left alone: nothing changed, `skipped` notified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exempt_targets_are_skipped_and_left_unchanged() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let before = world(&h).await?;
        let s = h
            .run(
                "exempt instance",
                &for_instance(
                    fixture("ec2-high-single-eni.json")?,
                    "e2e0005exempt",
                    &e.exempt,
                    &e.region,
                ),
            )
            .await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "skipped"),
            "{s:#?}"
        );
        let s = h
            .run(
                "exempt user",
                &for_access_key(
                    fixture("iam-high-akia-user.json")?,
                    "e2e0005exemptuser",
                    &e.security_account,
                    &e.region,
                    &e.exempt_user_name,
                    &e.exempt_access_key_id,
                ),
            )
            .await?;
        assert_eq!(s.outcome, "skipped", "{s:#?}");
        assert_unchanged(&before, &world(&h).await?, "exempt targets");
        assert_eq!(outcomes_for(&h, "e2e0005exempt").await?, ["skipped"]);
        assert_eq!(outcomes_for(&h, "e2e0005exemptuser").await?, ["skipped"]);
        Ok(())
    })
    .await
}

/// A second finding on an instance already in quarantine changes nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_finding_on_a_quarantined_instance_changes_nothing() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let first = h
            .run(
                "first",
                &for_instance(
                    fixture("ec2-high-single-eni.json")?,
                    "e2e0006first",
                    &e.web,
                    &e.region,
                ),
            )
            .await?;
        assert_eq!(first.outcome, "contained", "{first:#?}");
        let after_first = world(&h).await?;
        let second = h
            .run(
                "second",
                &for_instance(
                    fixture("ec2-critical.json")?,
                    "e2e0006second",
                    &e.web,
                    &e.region,
                ),
            )
            .await?;
        assert_eq!(
            (second.status.as_str(), second.outcome.as_str()),
            ("SUCCEEDED", "skipped"),
            "{second:#?}"
        );
        assert_unchanged(&after_first, &world(&h).await?, "second finding");
        assert_eq!(outcomes_for(&h, "e2e0006second").await?, ["skipped"]);
        Ok(())
    })
    .await
}
