//! `responder demo`: real GuardDuty findings through the real state machines and the real task
//! binaries, against the moto emulator, then a report read back from the emulator.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use anyhow::{Context, Result};
use fault_proxy::Scenario;
use serde_json::Value;

use crate::harness::{Harness, HarnessOptions};
use crate::pipeline::{render, RunSummary};
use crate::readback;
use crate::scenario::{self, for_access_key, for_instance};

/// A check the demo makes on what it reads back; a failed one makes the demo exit non-zero.
#[derive(Debug, Default)]
pub struct Checks {
    /// (passed, what).
    pub results: Vec<(bool, String)>,
}

impl Checks {
    fn check(&mut self, ok: bool, what: impl Into<String>) {
        self.results.push((ok, what.into()));
    }

    /// How many failed.
    pub fn failed(&self) -> usize {
        self.results.iter().filter(|(ok, _)| !ok).count()
    }
}

fn header(title: &str) {
    println!("\n== {title}");
}

/// Runs the demo and prints its report. Returns the checks made. With `faults`, the tasks
/// call AWS through a fault proxy playing that scenario, and the report ends with what it
/// injected.
///
/// With `keep_serving`, the stack stays up after the report, with the console's address
/// printed, until Ctrl-C.
pub async fn run(
    opts: HarnessOptions,
    faults: Option<Scenario>,
    keep_serving: bool,
) -> Result<Checks> {
    let started = Instant::now();
    header("Starting the AWS emulator (moto), seeding the estate, starting the local runtime");
    let h = Harness::start_with(opts, faults).await?;
    let checks = run_on(&h, started).await;
    let console = format!("{}{}", h.server.url(), crate::console::PREFIX);
    if keep_serving && checks.is_ok() {
        println!("\nConsole: {console}  (the executions above, their graphs and events; Ctrl-C stops it)");
        if let Err(e) = tokio::signal::ctrl_c().await {
            eprintln!("waiting for Ctrl-C: {e}");
        }
    } else {
        println!("\nThe console ({console}) closed with the demo; `make demo KEEP_SERVING=1` keeps it up.");
    }
    h.stop().await;
    checks
}

/// The demo on a started stack: the findings, the rollbacks, the checks and the report. The
/// stack is left running (the browser tests read the console after it).
pub async fn run_on(h: &Harness, started: Instant) -> Result<Checks> {
    let e = &h.estate;
    println!("emulator        {}", h.moto.endpoint());
    if let Some(f) = &h.faults {
        let s = f.proxy.scenario();
        println!(
            "fault proxy     {}  scenario {} (seed {}): {}",
            f.proxy.url(),
            s.name,
            s.seed,
            s.description
        );
    }
    println!(
        "step functions  {}  (aws stepfunctions --endpoint-url {} list-executions ...)",
        h.server.url(),
        h.server.url()
    );
    println!(
        "security account {}  member account {}  region {}",
        e.security_account, e.member_account, e.region
    );
    for i in [&e.web, &e.multi, &e.scaled, &e.exempt, &e.member] {
        println!(
            "  instance {:<14} {}  account {}  interfaces {}",
            i.name,
            i.instance_id,
            i.account_id,
            i.interfaces.len()
        );
    }
    println!(
        "  user {} key {}; exempt user {}; role {}",
        e.user_name, e.access_key_id, e.exempt_user_name, e.role_name
    );
    println!(
        "  auto scaling group {}, target group {}",
        e.auto_scaling_group, e.target_group_arn
    );
    println!("  topic {} -> analysts' inbox (SQS)", e.topic_arn);

    let dir = scenario::fixtures_dir()?;
    let region = e.region.clone();
    let mut checks = Checks::default();
    let mut summaries: Vec<RunSummary> = Vec::new();
    let before_web = readback::instance(&h.security, &e.web.instance_id).await?;

    let ec2_high = scenario::load(&dir, "ec2-high-single-eni.json")?;
    let runs: Vec<(&str, &str, Value)> = vec![
        (
            "HIGH: C&C activity on web-1 (one interface)",
            "demo-web",
            for_instance(ec2_high.clone(), "demo0001web1", &e.web, &region),
        ),
        (
            "HIGH: two interfaces in two VPCs",
            "demo-multi",
            for_instance(
                scenario::load(&dir, "ec2-high-multi-eni.json")?,
                "demo0002multi",
                &e.multi,
                &region,
            ),
        ),
        (
            "HIGH: instance in an Auto Scaling group behind a target group",
            "demo-asg",
            for_instance(ec2_high.clone(), "demo0003asg", &e.scaled, &region),
        ),
        (
            "HIGH: member account (cross-account role)",
            "demo-member",
            for_instance(
                scenario::load(&dir, "ec2-high-cross-account.json")?,
                "demo0004member",
                &e.member,
                &region,
            ),
        ),
        (
            "HIGH: instance tagged AutoRemediation=disabled",
            "demo-exempt",
            for_instance(ec2_high.clone(), "demo0005exempt", &e.exempt, &region),
        ),
        (
            "re-delivery of the first finding (EventBridge at-least-once)",
            "demo-web-again",
            for_instance(ec2_high.clone(), "demo0001web1", &e.web, &region),
        ),
        (
            "LOW: recorded only",
            "demo-low",
            for_instance(
                scenario::load(&dir, "ec2-low.json")?,
                "demo0006low",
                &e.web,
                &region,
            ),
        ),
        (
            "S3 finding, a malicious caller: notify only",
            "demo-s3",
            scenario::retarget(
                scenario::load(&dir, "s3-notify-only.json")?,
                "demo0007s3",
                &e.security_account,
                &region,
            ),
        ),
        (
            "HIGH: leaked long-term key (AKIA) of build-bot",
            "demo-akia",
            for_access_key(
                scenario::load(&dir, "iam-high-akia-user.json")?,
                "demo0008akia",
                &e.security_account,
                &region,
                &e.user_name,
                &e.access_key_id,
            ),
        ),
        (
            "HIGH: stolen role session (ASIA) of web-app-role",
            "demo-asia",
            {
                let mut event = for_access_key(
                    scenario::load(&dir, "iam-high-asia-role.json")?,
                    "demo0009asia",
                    &e.security_account,
                    &region,
                    &e.role_name,
                    "ASIAEXAMPLESESSION01",
                );
                // A session a person or a pipeline assumed: every session of the role issued
                // before now is revoked.
                event["detail"]["type"] =
                    serde_json::json!("UnauthorizedAccess:IAMUser/MaliciousIPCaller");
                event["detail"]["resource"]["accessKeyDetails"]["principalId"] =
                    serde_json::json!("AROA4EXAMPLEWEBAPPRL:deploy-pipeline");
                event
            },
        ),
        (
            "HIGH: bastion-multi's instance credentials used from outside AWS",
            "demo-exfil",
            {
                let mut event = for_access_key(
                    scenario::load(&dir, "iam-high-asia-role.json")?,
                    "demo0009exfil",
                    &e.security_account,
                    &region,
                    &e.role_name,
                    "ASIAEXAMPLESESSION02",
                );
                // The session of the role delivered to bastion-multi: only it is denied, the
                // instance is isolated and its metadata service hardened.
                event["detail"]["resource"]["accessKeyDetails"]["principalId"] =
                    serde_json::json!(format!("AROA4EXAMPLEWEBAPPRL:{}", e.multi.instance_id));
                event
            },
        ),
        (
            "HIGH: a Lambda function in the member account calling a command-and-control server",
            "demo-lambda",
            scenario::for_function(
                scenario::load(&dir, "lambda-high-c2.json")?,
                "demo0012lambda",
                &e.member_account,
                &region,
                &e.function_name,
            ),
        ),
        (
            "HIGH: an S3 bucket in the member account opened to anonymous users",
            "demo-bucket",
            scenario::for_bucket(
                scenario::load(&dir, "s3-high-anonymous-access.json")?,
                "demo0013bucket",
                &e.member_account,
                &region,
                &e.bucket_name,
            ),
        ),
        (
            "HIGH: a malicious file uploaded to that bucket (Malware Protection for S3)",
            "demo-object",
            scenario::for_object(
                scenario::load(&dir, "s3-object-malicious-file.json")?,
                "demo0016object",
                &e.member_account,
                &region,
                &e.bucket_name,
                &e.malicious_object_key,
            ),
        ),
        (
            "HIGH: a database in the member account logged in to from a threat-listed address",
            "demo-database",
            scenario::for_database(
                scenario::load(&dir, "rds-high-malicious-login.json")?,
                "demo0014database",
                &e.member_account,
                &region,
                &e.database.identifier,
                None,
            ),
        ),
        (
            "HIGH: a reverse shell in an ECS task of the member account (Runtime Monitoring)",
            "demo-task",
            scenario::for_task(
                scenario::load(&dir, "ecs-task-reverse-shell.json")?,
                "demo0019task",
                &e.member_account,
                &region,
                &e.task.cluster,
                &e.task.task_arn,
            ),
        ),
        (
            "root credentials: never changed automatically",
            "demo-root",
            scenario::retarget(
                scenario::load(&dir, "iam-root.json")?,
                "demo0010root",
                &e.security_account,
                &region,
            ),
        ),
        (
            "a Security Hub copy of a finding: refused",
            "demo-securityhub",
            scenario::load(&dir, "securityhub-imported.json")?,
        ),
    ];
    for (title, _label, event) in &runs {
        header(title);
        let s = h.run(title, event).await?;
        print!("{}", render(&s));
        summaries.push(s);
    }

    header("MEDIUM: an analyst approves through the signed link");
    let medium = scenario::load(&dir, "ec2-medium.json")?;
    let fresh = crate::estate::extra_instance(&h.security, e, "medium-approved").await?;
    let s = h
        .run(
            "MEDIUM approved",
            &for_instance(medium.clone(), "demo0012approve", &fresh, &region),
        )
        .await?;
    print!("{}", render(&s));
    checks.check(
        s.status == "WAITING_FOR_APPROVAL",
        "MEDIUM finding waits for an analyst",
    );
    let (approve, _) = h.approval_links("demo0012approve").await?;
    println!(
        "  approval request received in the inbox; approve link: {}...",
        &approve[..approve.len().min(60)]
    );
    let (page, decided) = h.decide(&approve, true, "analyst@example.com").await?;
    println!("  GET link -> {page} (a confirmation page; nothing decided), POST decision=approve -> {decided}");
    let s = h.resume(&s).await?;
    print!("{}", render(&s));
    checks.check(
        s.outcome == "contained",
        "approved MEDIUM finding is contained",
    );
    if let Some(arn) = &s.execution_arn {
        println!("\n  Its execution history, as the Step Functions console shows it (responder history):");
        let events = crate::pipeline::history_values(&h.runtime, arn)?;
        for line in crate::history_view::render(arn, &events, 110).lines() {
            println!("    {line}");
        }
    }
    let st = readback::instance(&h.security, &fresh.instance_id).await?;
    checks.check(
        st.interfaces
            .iter()
            .all(|i| i.group_names == [responder_core::markers::QUARANTINE_GROUP_NAME]),
        "approved instance's interfaces hold only the quarantine group",
    );
    summaries.push(s);

    header("MEDIUM: an analyst rejects");
    let fresh2 = crate::estate::extra_instance(&h.security, e, "medium-rejected").await?;
    let s = h
        .run(
            "MEDIUM rejected",
            &for_instance(medium, "demo0013reject", &fresh2, &region),
        )
        .await?;
    let (_, reject) = h.approval_links("demo0013reject").await?;
    let (page, decided) = h.decide(&reject, false, "analyst@example.com").await?;
    println!("  GET link -> {page}, POST decision=reject -> {decided}");
    let s = h.resume(&s).await?;
    print!("{}", render(&s));
    checks.check(
        s.outcome == "approval-rejected",
        "rejected MEDIUM finding ends approval-rejected",
    );
    let st = readback::instance(&h.security, &fresh2.instance_id).await?;
    checks.check(
        st.interfaces
            .iter()
            .all(|i| i.group_names != [responder_core::markers::QUARANTINE_GROUP_NAME]),
        "rejected instance keeps its groups",
    );
    summaries.push(s);

    header("CRITICAL: an attack sequence naming a key and two instances, contained as one plan");
    let seq_a = crate::estate::extra_instance(&h.security, e, "sequence-app-1").await?;
    let seq_b = crate::estate::extra_instance(&h.security, e, "sequence-app-2").await?;
    let s = h
        .run(
            "CRITICAL: an attack sequence",
            &scenario::for_sequence(
                scenario::load(&dir, "attack-sequence-credentials.json")?,
                "demo0015sequence",
                &e.security_account,
                &region,
                (&e.exempt_user_name, &e.exempt_access_key_id),
                (&seq_a.instance_id, &seq_b.instance_id),
            ),
        )
        .await?;
    print!("{}", render(&s));
    let mut both = true;
    for i in [&seq_a, &seq_b] {
        let st = readback::instance(&h.security, &i.instance_id).await?;
        both &= st
            .interfaces
            .iter()
            .all(|n| n.group_names == [responder_core::markers::QUARANTINE_GROUP_NAME]);
    }
    checks.check(
        s.outcome == "contained" && both,
        "the sequence's plan isolates both instances it names, each once (one is named twice)",
    );
    let exempt_user = readback::user(&h.security, &e.exempt_user_name).await?;
    checks.check(
        exempt_user.keys.get(&e.exempt_access_key_id).map(String::as_str) == Some("Active"),
        "the sequence's key belongs to an exempt user: that item alone is skipped (policy exemptions.users)",
    );

    header("False positive: roll back web-1 with restore-instance");
    let restore_input = serde_json::json!({
        "accountId": e.security_account, "region": region, "instanceId": e.web.instance_id,
        "reason": "false positive confirmed by the analyst", "requestedBy": "analyst@example.com"
    });
    print_restore(h.restore("demo-restore-web-1", &restore_input).await?);
    let after_restore = readback::instance(&h.security, &e.web.instance_id).await?;
    checks.check(
        after_restore
            .interfaces
            .iter()
            .map(|i| &i.group_ids)
            .collect::<Vec<_>>()
            == before_web
                .interfaces
                .iter()
                .map(|i| &i.group_ids)
                .collect::<Vec<_>>(),
        "restore puts web-1's interfaces back to their original groups",
    );

    header("False positive: roll back the thumbnailer function with restore-instance");
    let contained_fn = readback::function(&h.member, &e.function_name).await?;
    checks.check(
        contained_fn.reserved_concurrency == Some(0),
        "the thumbnailer function is stopped: reserved concurrency 0",
    );
    let restore_fn = serde_json::json!({
        "accountId": e.member_account, "region": region, "functionName": e.function_name,
        "reason": "false positive confirmed by the analyst", "requestedBy": "analyst@example.com"
    });
    print_restore(h.restore("demo-restore-thumbnailer", &restore_fn).await?);
    let restored_fn = readback::function(&h.member, &e.function_name).await?;
    checks.check(
        restored_fn.reserved_concurrency.is_none()
            && !restored_fn
                .tags
                .contains_key(responder_core::markers::TAG_ORIGINAL_CONCURRENCY),
        "restore gives the thumbnailer function back exactly what it had: no reserved concurrency",
    );

    header("False positive: release the quarantined object with restore-instance");
    let quarantined = |b: &readback::BucketState| {
        b.policy
            .as_deref()
            .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
            .map(|p| responder_core::denies::quarantined_objects(&p, &e.bucket_name))
            .unwrap_or_default()
    };
    let held = readback::bucket(&h.member, &e.bucket_name).await?;
    checks.check(
        quarantined(&held) == [e.malicious_object_key.clone()],
        "the malicious object is quarantined where it is: one statement of the bucket's policy names exactly it",
    );
    let release = serde_json::json!({
        "accountId": e.member_account, "region": region, "bucketName": e.bucket_name,
        "objectKeys": [e.malicious_object_key],
        "reason": "false positive confirmed by the analyst", "requestedBy": "analyst@example.com"
    });
    print_restore(h.restore("demo-release-object", &release).await?);
    let released = readback::bucket(&h.member, &e.bucket_name).await?;
    checks.check(
        quarantined(&released).is_empty()
            && released.public_access_block == held.public_access_block,
        "restore with objectKeys lifts exactly that object's quarantine; the bucket's own containment stays",
    );

    header("False positive: roll back the orders-exports bucket with restore-instance");
    let closed = readback::bucket(&h.member, &e.bucket_name).await?;
    checks.check(
        closed
            .public_access_block
            .as_ref()
            .is_some_and(|p| p.len() == 4 && p.values().all(|on| *on)),
        "the orders-exports bucket is closed to the public: all four Block Public Access settings on, its policy kept as evidence",
    );
    let restore_bucket = serde_json::json!({
        "accountId": e.member_account, "region": region, "bucketName": e.bucket_name,
        "reason": "false positive confirmed by the analyst", "requestedBy": "analyst@example.com"
    });
    print_restore(
        h.restore("demo-restore-orders-exports", &restore_bucket)
            .await?,
    );
    let reopened = readback::bucket(&h.member, &e.bucket_name).await?;
    checks.check(
        reopened.public_access_block.is_none()
            && reopened.policy == closed.policy
            && !reopened
                .tags
                .contains_key(responder_core::markers::TAG_ORIGINAL_PUBLIC_ACCESS_BLOCK),
        "restore gives the orders-exports bucket back exactly what it had: no Block Public Access configuration of its own",
    );

    header("False positive: roll back the billing-db database with restore-instance");
    let isolated = readback::database(&h.member, &e.database.identifier).await?;
    checks.check(
        isolated.group_names == [responder_core::markers::QUARANTINE_GROUP_NAME]
            && isolated.snapshots.len() == 1,
        "the billing-db database is isolated: only its VPC's quarantine group, a snapshot kept as evidence",
    );
    let restore_db = serde_json::json!({
        "accountId": e.member_account, "region": region,
        "dbInstanceIdentifier": e.database.identifier,
        "reason": "false positive confirmed by the analyst", "requestedBy": "analyst@example.com"
    });
    print_restore(h.restore("demo-restore-billing-db", &restore_db).await?);
    let reopened_db = readback::database(&h.member, &e.database.identifier).await?;
    checks.check(
        reopened_db.group_ids == e.database.group_ids
            && !reopened_db
                .tags
                .contains_key(responder_core::markers::TAG_ORIGINAL_GROUPS),
        "restore gives billing-db back exactly its two security groups; the snapshot stays",
    );

    header("False positive: roll back the checkout task with restore-instance");
    let denied = |acls: &BTreeMap<String, Vec<String>>| -> Vec<String> {
        acls.values()
            .flatten()
            .filter(|l| l.contains(" deny -1 ") && l.ends_with("/32"))
            .cloned()
            .collect()
    };
    let cut = readback::network_acls(&h.member, &e.task.vpc_id).await?;
    checks.check(
        denied(&cut).len() == 2,
        "the checkout task is cut off: its address denied in and out in the network ACL of its VPC's other subnet; it keeps running",
    );
    let restore_task = serde_json::json!({
        "accountId": e.member_account, "region": region, "taskArn": e.task.task_arn,
        "reason": "false positive confirmed by the analyst", "requestedBy": "analyst@example.com"
    });
    print_restore(
        h.restore("demo-restore-checkout-task", &restore_task)
            .await?,
    );
    let uncut = readback::network_acls(&h.member, &e.task.vpc_id).await?;
    checks.check(
        denied(&uncut).is_empty(),
        "restore deletes exactly the checkout task's two network ACL entries",
    );

    // What the emulator holds now.
    header("Read back from the emulator");
    let mut report = String::new();
    for (inst, cfg) in [
        (&e.multi, &h.security),
        (&e.scaled, &h.security),
        (&e.member, &h.member),
        (&e.exempt, &h.security),
        (&e.web, &h.security),
    ] {
        let st = readback::instance(cfg, &inst.instance_id).await?;
        let snaps = readback::evidence_snapshots(cfg, &inst.instance_id).await?;
        let _ = writeln!(
            report,
            "{:<14} {} state={} termination-protection={} shutdown={} asg={} status-tag={} snapshots={}",
            inst.name,
            inst.instance_id,
            st.state,
            st.termination_protection,
            st.shutdown_behavior,
            st.auto_scaling_group.as_deref().unwrap_or("-"),
            st.tags.get(responder_core::markers::TAG_STATUS).map(String::as_str).unwrap_or("-"),
            snaps.len()
        );
        for i in &st.interfaces {
            let _ = writeln!(
                report,
                "    {} in {}: groups {:?}, original groups recorded {:?}",
                i.network_interface_id,
                i.vpc_id,
                i.group_names,
                i.tags.get(responder_core::markers::TAG_ORIGINAL_GROUPS)
            );
        }
        let quarantined = st
            .interfaces
            .iter()
            .all(|i| i.group_names == [responder_core::markers::QUARANTINE_GROUP_NAME]);
        match inst.name.as_str() {
            "payments-db" => checks.check(
                !quarantined && snaps.is_empty(),
                "exempt instance untouched",
            ),
            "web-1" => {}
            _ => {
                checks.check(
                    quarantined,
                    format!("{} isolated on every interface", inst.name),
                );
                checks.check(
                    st.state == "running",
                    format!("{} still running (kept for forensics)", inst.name),
                );
                checks.check(
                    !snaps.is_empty(),
                    format!("{} has evidence snapshots", inst.name),
                );
            }
        }
    }
    let web_snaps = readback::evidence_snapshots(&h.security, &e.web.instance_id).await?;
    let vols = web_snaps
        .iter()
        .map(|s| s.volume_id.clone())
        .collect::<std::collections::BTreeSet<_>>();
    checks.check(
        web_snaps.len() == vols.len(),
        "re-delivery created no second set of snapshots for web-1",
    );
    let scaled = readback::instance(&h.security, &e.scaled.instance_id).await?;
    checks.check(
        scaled.auto_scaling_group.is_none(),
        "web-asg-1 detached from its Auto Scaling group",
    );
    let members = readback::target_group_members(&h.security, &e.target_group_arn).await?;
    checks.check(
        !members.contains(&e.scaled.instance_id),
        "web-asg-1 deregistered from its target group",
    );
    let user = readback::user(&h.security, &e.user_name).await?;
    let _ = writeln!(
        report,
        "user {}: keys {:?}, inline policies {:?}",
        e.user_name, user.keys, user.inline_policies
    );
    checks.check(
        user.keys.get(&e.access_key_id).map(String::as_str) == Some("Inactive"),
        "build-bot's key is inactive",
    );
    checks.check(
        user.attached_policies
            .iter()
            .any(|p| p.ends_with(":policy/AWSDenyAll")),
        "build-bot is denied everything (AWSDenyAll attached, no inline quota used)",
    );
    let role = readback::role_policies(&h.security, &e.role_name).await?;
    let _ = writeln!(
        report,
        "role {}: inline policies {:?}",
        e.role_name,
        role.keys().collect::<Vec<_>>()
    );
    checks.check(
        role.get(responder_core::denies::REVOKE_SESSIONS_POLICY)
            .is_some_and(|d| d.to_string().contains("aws:TokenIssueTime")),
        "web-app-role's sessions issued before now are revoked",
    );
    checks.check(
        role.get(responder_core::denies::DENY_INSTANCE_SESSIONS_POLICY)
            .is_some_and(|d| {
                responder_core::denies::instance_sessions(d)
                    .0
                    .iter()
                    .any(|x| x.ends_with(&e.multi.instance_id))
            }),
        "bastion-multi's stolen instance session is denied, and only it",
    );
    let bastion = readback::instance(&h.security, &e.multi.instance_id).await?;
    checks.check(
        bastion.metadata.as_deref() == Some("required/1"),
        "bastion-multi's metadata service answers only IMDSv2, one hop",
    );
    print!("{report}");

    header("Notifications the analysts received");
    let notes = h.notifications().await?;
    let mut by_outcome: BTreeMap<String, usize> = BTreeMap::new();
    for n in &notes {
        *by_outcome
            .entry(n.attributes.get("outcome").cloned().unwrap_or_default())
            .or_default() += 1;
        println!("  {}", n.subject);
    }
    println!("  by outcome: {by_outcome:?}");
    checks.check(
        notes.len() >= summaries.len(),
        "every run sent a notification",
    );

    header("Lambda invocations (like Lambda's REPORT lines)");
    let mut per_fn: BTreeMap<String, (usize, usize, f64, u64)> = BTreeMap::new();
    for i in h.runtime.tasks.all_invocations() {
        let s = per_fn.entry(i.function.clone()).or_default();
        s.0 += 1;
        if i.report.cold_start {
            s.1 += 1;
        }
        s.2 += i.report.duration.as_secs_f64() * 1000.0;
        s.3 = s.3.max(i.report.max_memory_used_mb as u64);
    }
    println!(
        "  {:<16} {:>6} {:>6} {:>12} {:>10}",
        "function", "calls", "cold", "avg ms", "max MB"
    );
    for (f, (n, cold, total, mem)) in &per_fn {
        println!(
            "  {f:<16} {n:>6} {cold:>6} {:>12.1} {mem:>10}",
            total / *n as f64
        );
    }

    header("Metrics the tasks wrote (CloudWatch embedded metric format, tallied locally)");
    print!("{}", h.metrics.render());
    let ttc = |route: &str| {
        h.metrics
            .of("TimeToContain")
            .iter()
            .filter(|(k, _)| k.dimensions.iter().any(|(n, v)| n == "Route" && v == route))
            .map(|(_, s)| s.values.len())
            .sum::<usize>()
    };
    checks.check(
        ttc("ec2") >= 3 && ttc("iam") >= 2,
        format!(
            "TimeToContain recorded for each containment (ec2 {}, iam {})",
            ttc("ec2"),
            ttc("iam")
        ),
    );
    checks.check(
        h.metrics.total("RemediationActions") > 0.0 && h.metrics.total("Skipped") >= 3.0,
        format!(
            "RemediationActions {} and Skipped {} counted",
            h.metrics.total("RemediationActions"),
            h.metrics.total("Skipped")
        ),
    );

    if let Some(f) = &h.faults {
        header("Faults injected between the tasks and the emulator (fault-proxy)");
        print!("{}", f.report());
    }

    header("Summary");
    for s in &summaries {
        println!(
            "  {:<62} {:<22} {}",
            s.source.chars().take(62).collect::<String>(),
            s.status,
            s.outcome
        );
    }
    let expected: &[(&str, &str)] = &[
        ("HIGH: C&C activity", "contained"),
        ("HIGH: two interfaces", "contained"),
        ("HIGH: instance in an Auto Scaling", "contained"),
        ("HIGH: member account", "contained"),
        ("HIGH: instance tagged", "skipped"),
        ("re-delivery", "skipped"),
        ("LOW", "recorded"),
        ("S3", "recorded"),
        ("HIGH: leaked long-term key", "contained"),
        ("HIGH: stolen role session", "contained"),
        ("HIGH: bastion-multi's instance credentials", "contained"),
        ("HIGH: a Lambda function", "contained"),
        ("HIGH: an S3 bucket", "contained"),
        ("HIGH: a malicious file", "contained"),
        ("HIGH: a database", "contained"),
        ("HIGH: a reverse shell in an ECS task", "contained"),
        ("root credentials", "recorded"),
        ("a Security Hub copy", "rejected-event"),
    ];
    for (prefix, outcome) in expected {
        let got = summaries
            .iter()
            .find(|s| s.source.starts_with(prefix))
            .map(|s| s.outcome.as_str());
        checks.check(
            got == Some(*outcome),
            format!("{prefix}... ends {outcome} (got {got:?})"),
        );
    }
    println!();
    for (ok, what) in &checks.results {
        println!("  [{}] {what}", if *ok { "ok" } else { "FAILED" });
    }
    println!(
        "\n{} checks, {} failed; demo took {:.1} s. `responder serve` keeps an endpoint up; `responder history <execution-arn>` shows any execution.",
        checks.results.len(),
        checks.failed(),
        started.elapsed().as_secs_f64(),
    );
    Ok(checks)
}

/// Loads a fixture by name (for tests and the demo).
pub fn fixture(name: &str) -> Result<Value> {
    scenario::load(&scenario::fixtures_dir()?, name).with_context(|| format!("fixture {name}"))
}

/// Prints how a rollback execution ended, with its error when it failed.
fn print_restore((arn, d): (String, asl::ExecutionDescription)) {
    println!("  restore-instance {} ({})", d.status.as_str(), arn);
    if let Some(err) = &d.error {
        println!("  error: {err}: {}", d.cause.as_deref().unwrap_or(""));
    }
}
