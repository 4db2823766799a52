//! A compromised ECS task in a member account: a HIGH Runtime Monitoring finding cuts it off
//! at its VPC's network ACLs at once (its interface is ECS's, so its security groups stay),
//! records the entries on its interface, keeps it running and its shared role untouched; a
//! MEDIUM finding, once approved, also denies the task role's older sessions; and
//! `restore-instance` with `taskArn` deletes exactly the entries.

use anyhow::{Context, Result};
use end_to_end::{fixture, outcomes_for, restored, with_harness, Options};
use responder::readback;
use responder::scenario::for_task;
use responder_core::markers;

/// The entries naming an address, over every ACL of the VPC.
fn entries_naming(
    acls: &std::collections::BTreeMap<String, Vec<String>>,
    cidr: &str,
) -> Vec<String> {
    acls.values()
        .flatten()
        .filter(|l| l.ends_with(cidr))
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_high_runtime_finding_cuts_the_task_off_at_the_network_acls_and_restore_undoes_exactly_it(
) -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let t = &e.task;
        let before = readback::network_acls(&h.member, &t.vpc_id).await?;
        let id = "e2e1701task";
        let event = for_task(
            fixture("ecs-task-reverse-shell.json")?,
            id,
            &e.member_account,
            &e.region,
            &t.cluster,
            &t.task_arn,
        );
        let s = h.run("task-high", &event).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "contained"),
            "{s:#?}"
        );
        let reported = &s.evidence["contain-task"];
        assert_eq!(
            reported["taskRoleName"], "checkout-api-task",
            "{:#?}",
            s.evidence
        );
        let task =
            readback::ecs_task(&h.member, &t.cluster, &t.task_arn, &t.network_interface_id).await?;
        // Kept running for the evidence, marked, its own tags kept.
        assert_eq!(task.last_status, "RUNNING");
        assert_eq!(
            task.tags.get(markers::TAG_STATUS).map(String::as_str),
            Some(markers::STATUS_QUARANTINED)
        );
        assert_eq!(task.tags.get("team").map(String::as_str), Some("payments"));
        // A copy of the record on the task, for a rollback after the task has stopped.
        assert!(
            task.tags.contains_key("guardduty-responder:task-network"),
            "{task:?}"
        );
        // Its address is denied both ways, recorded on its interface.
        let after = readback::network_acls(&h.member, &t.vpc_id).await?;
        let recorded = task
            .interface_tags
            .get(markers::TAG_NETWORK_ACL_ENTRIES)
            .cloned()
            .unwrap_or_default();
        assert_eq!(recorded.split_whitespace().count(), 2, "{task:?}");
        let added: Vec<String> = after
            .values()
            .flatten()
            .filter(|l| l.contains(" deny -1 ") && l.ends_with("/32") && !l.ends_with("0.0.0.0/0"))
            .cloned()
            .collect();
        assert_eq!(added.len(), 2, "{after:#?}");
        assert!(
            added[0].starts_with("in 1 deny") && added[1].starts_with("out 1 deny"),
            "{added:?}"
        );
        let cidr = added[0].rsplit(' ').next().unwrap_or_default().to_string();
        assert_eq!(entries_naming(&before, &cidr), Vec::<String>::new());
        // The shared role keeps its sessions: a HIGH finding is contained without an analyst.
        let policies = readback::role_policies(&h.member, &t.role_name).await?;
        assert!(policies.is_empty(), "{policies:?}");
        assert_eq!(outcomes_for(&h, id).await?, ["contained"]);

        // The rollback deletes exactly the entries and the record.
        let request = serde_json::json!({
            "accountId": e.member_account, "region": e.region, "taskArn": t.task_arn,
            "reason": "false positive", "requestedBy": "analyst@example.com"
        });
        restored(&h, "e2e-restore-task", &request).await?;
        assert_eq!(readback::network_acls(&h.member, &t.vpc_id).await?, before);
        let back =
            readback::ecs_task(&h.member, &t.cluster, &t.task_arn, &t.network_interface_id).await?;
        assert!(!back
            .interface_tags
            .contains_key(markers::TAG_NETWORK_ACL_ENTRIES));
        assert!(!back.tags.contains_key("guardduty-responder:task-network"));
        assert!(!back.tags.contains_key(markers::TAG_NETWORK_ACL_ENTRIES));
        assert_eq!(
            back.tags.get(markers::TAG_STATUS).map(String::as_str),
            Some(markers::STATUS_RESTORED)
        );
        Ok(())
    })
    .await
}

/// MEDIUM: nothing changes until an analyst approves; the approved plan also denies the task
/// role's sessions issued before now, which a HIGH finding never does on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_medium_finding_also_denies_the_task_roles_older_sessions() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let t = &e.task;
        let before = readback::network_acls(&h.member, &t.vpc_id).await?;
        let id = "e2e1702task";
        let mut event = for_task(
            fixture("ecs-task-reverse-shell.json")?,
            id,
            &e.member_account,
            &e.region,
            &t.cluster,
            &t.task_arn,
        );
        event["detail"]["severity"] = serde_json::json!(5);
        let s = h.run("task-medium", &event).await?;
        assert_eq!(s.status, "WAITING_FOR_APPROVAL", "{s:#?}");
        assert_eq!(readback::network_acls(&h.member, &t.vpc_id).await?, before);
        let request = h.approval_request(id).await?;
        assert!(
            request
                .message
                .contains("deny every session of the task's role"),
            "{}",
            request.message
        );
        let (approve, _) = h.approval_links(id).await?;
        let (page, decided) = h.decide(&approve, true, "analyst@example.com").await?;
        assert_eq!((page, decided), (200, 200));
        let done = h.resume(&s).await?;
        assert_eq!(
            (done.status.as_str(), done.outcome.as_str()),
            ("SUCCEEDED", "contained"),
            "{done:#?}"
        );
        assert_ne!(readback::network_acls(&h.member, &t.vpc_id).await?, before);
        let policies = readback::role_policies(&h.member, &t.role_name).await?;
        let deny = policies
            .get(responder_core::denies::REVOKE_SESSIONS_POLICY)
            .unwrap_or_else(|| panic!("no session deny on {}: {policies:?}", t.role_name));
        assert!(
            responder_core::denies::sessions_cutoff(deny).is_some(),
            "{deny}"
        );
        assert_eq!(
            done.evidence["revoke"]["principal"],
            format!("role/{}", t.role_name)
        );
        Ok(())
    })
    .await
}

/// Through the fault proxy: ECS throttles the task's read twice (the SDK and the state
/// machine's retries absorb it), and the network ACL is at its entry quota for the inbound deny
/// (`NetworkAclEntryLimitExceeded`): the outbound entry is made, the inbound is a shortfall,
/// and the execution ends `partially-contained`, failed, with `Remediation.NetworkAclFull`
/// named in the notification; the rollback still deletes exactly what was made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_network_acl_leaves_the_task_partially_contained_and_says_so() -> Result<()> {
    let opts = Options {
        faults: Some(
            r#"
            name = "task-acl-full"
            [[rules]]
            task = "contain-task"
            service = "ecs"
            action = "DescribeTasks"
            times = 2
            error = "Throttling"
            [[rules]]
            task = "contain-task"
            service = "ec2"
            action = "CreateNetworkAclEntry"
            times = 1
            error = "NetworkAclEntryLimitExceeded"
            "#
            .to_string(),
        ),
        ..Options::default()
    };
    with_harness(opts, |h| async move {
        let e = &h.estate;
        let t = &e.task;
        let before = readback::network_acls(&h.member, &t.vpc_id).await?;
        let id = "e2e1703task";
        let event = for_task(
            fixture("ecs-task-reverse-shell.json")?,
            id,
            &e.member_account,
            &e.region,
            &t.cluster,
            &t.task_arn,
        );
        let s = h.run("task-acl-full", &event).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("FAILED", "partially-contained"),
            "{s:#?}"
        );
        let notifications = end_to_end::notifications_for(&h, id).await?;
        assert!(
            notifications
                .iter()
                .any(|n| n.message.contains("Remediation.NetworkAclFull")),
            "{notifications:#?}"
        );
        let after = readback::network_acls(&h.member, &t.vpc_id).await?;
        let made: Vec<String> = after
            .values()
            .flatten()
            .filter(|l| l.contains(" deny -1 ") && l.ends_with("/32"))
            .cloned()
            .collect();
        assert_eq!(made.len(), 1, "{after:#?}");
        assert!(made[0].starts_with("out "), "{made:?}");
        let report = h.faults.as_ref().context("faults")?.report();
        assert!(
            report.lines().any(|l| l.starts_with("contain-task")
                && l.contains("DescribeTasks")
                && l.contains("Throttling=2")),
            "{report}"
        );

        let request = serde_json::json!({
            "accountId": e.member_account, "region": e.region, "taskArn": t.task_arn,
        });
        restored(&h, "e2e-restore-task-partial", &request).await?;
        assert_eq!(readback::network_acls(&h.member, &t.vpc_id).await?, before);
        Ok(())
    })
    .await
}
