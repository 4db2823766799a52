//! Two dozen findings on a bad day on AWS: 20% of the calls throttled on every service, 2%
//! server errors, new security groups, policies and snapshots invisible for seconds, AWS's
//! quotas enforced, AWS-like latency, and one isolate invocation killed between its two
//! interface moves. The pipeline must converge: every execution ends contained (or with a named
//! error and a failure notification), no interface is left in an allow-all group, one evidence
//! snapshot per volume per finding, the user at the inline quota ends inactive and denied, and
//! nothing outside the findings' resources changes.
//!
//! Seventeen instances of one VPC are contained: every contained address takes a network ACL
//! entry per direction, so the ACLs reach AWS's default quota of 20 entries and the last
//! containments end `partially-contained` with `Remediation.NetworkAclFull`, notified: the
//! quota is part of the bad day.
//!
//! The executions see time run ten times faster (the state machine's retry waits shortened):
//! the same retries happen, only sooner, so the suite fits the test budget.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use end_to_end::{fixture, notifications_for, outcome, with_harness, world, Options};
use responder::estate::{self, SeededInstance};
use responder::pipeline::RunSummary;
use responder::readback;
use responder::scenario::{for_access_key, for_instance, retarget};
use responder_core::markers;
use serde_json::{json, Value};

const BAD_DAY: &str = include_str!("../../../local/fault-proxy/scenarios/bad-day.toml");

/// One finding of the suite and the outcomes it may end with.
struct Case {
    label: String,
    event: Value,
    finding_id: String,
    allowed: &'static [&'static str],
}

fn case(label: &str, finding_id: &str, event: Value, allowed: &'static [&'static str]) -> Case {
    Case {
        label: label.to_string(),
        event,
        finding_id: finding_id.to_string(),
        allowed,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_dozen_findings_converge_on_a_bad_day() -> Result<()> {
    // The shipped bad day, plus one isolate invocation killed as a timeout right before its
    // second interface move reaches AWS: the interface is then in the allow-all group.
    let scenario = format!(
        "{BAD_DAY}\n[[rules]]\ntask = \"isolate\"\naction = \"ModifyNetworkInterfaceAttribute\"\nnth = 2\ncrash = \"timeout\"\n"
    );
    let opts = Options {
        faults: Some(scenario),
        time_factor: Some(10),
        ..Options::default()
    };
    with_harness(opts, |h| async move {
        let e = &h.estate;
        let region = e.region.clone();
        // A dozen more instances in the main VPC.
        let mut extras: Vec<SeededInstance> = Vec::new();
        for n in 0..12 {
            extras.push(estate::extra_instance(&h.security, e, &format!("batch-{n:02}")).await?);
        }
        // A user whose inline policies use almost all of IAM's 2,048 characters.
        let iam = aws_sdk_iam::Client::new(&h.security);
        iam.put_user_policy()
            .user_name(&e.user_name)
            .policy_name("existing-access")
            .policy_document(format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{}/*"}}]}}"#,
                "b".repeat(1_850)
            ))
            .send()
            .await
            .context("PutUserPolicy (seed)")?;
        let before = world(&h).await?;

        let mut cases = Vec::new();
        let contained: &[&str] = &["contained"];
        let single = fixture("ec2-high-single-eni.json")?;
        for (i, inst) in [&e.web, &e.scaled, &e.member].into_iter().chain(extras.iter()).enumerate() {
            let id = format!("bad{i:02}{}", inst.name.replace('-', ""));
            cases.push(case(&inst.name, &id, for_instance(single.clone(), &id, inst, &region), contained));
        }
        cases.push(case(
            &e.multi.name,
            "bad99multi",
            for_instance(fixture("ec2-high-multi-eni.json")?, "bad99multi", &e.multi, &region),
            contained,
        ));
        // Four duplicate deliveries of findings already in the list, delivered alongside.
        for dup in 0..4 {
            let original = &cases[dup + 1];
            cases.push(Case {
                label: format!("duplicate of {}", original.label),
                event: original.event.clone(),
                finding_id: original.finding_id.clone(),
                allowed: &["contained", "skipped"],
            });
        }
        cases.push(case(
            "exempt instance",
            "bad90exempt",
            for_instance(single.clone(), "bad90exempt", &e.exempt, &region),
            &["skipped"],
        ));
        cases.push(case(
            "LOW",
            "bad91low",
            retarget(fixture("ec2-low.json")?, "bad91low", &e.security_account, &region),
            &["recorded"],
        ));
        cases.push(case(
            "S3",
            "bad92s3",
            retarget(fixture("s3-notify-only.json")?, "bad92s3", &e.security_account, &region),
            &["recorded"],
        ));
        cases.push(case(
            "AKIA user at the inline quota",
            "bad93akia",
            for_access_key(
                fixture("iam-high-akia-user.json")?,
                "bad93akia",
                &e.security_account,
                &region,
                &e.user_name,
                &e.access_key_id,
            ),
            contained,
        ));
        let mut asia = for_access_key(
            fixture("iam-high-asia-role.json")?,
            "bad94asia",
            &e.security_account,
            &region,
            &e.role_name,
            "ASIA4EXAMPLEWEBAPP01",
        );
        asia["detail"]["type"] = json!("UnauthorizedAccess:IAMUser/MaliciousIPCaller");
        asia["detail"]["resource"]["accessKeyDetails"]["principalId"] =
            json!("AROA4EXAMPLEWEBAPPRL:deploy-pipeline");
        cases.push(case("ASIA role session", "bad94asia", asia, contained));
        cases.push(case(
            "root",
            "bad95root",
            retarget(fixture("iam-root.json")?, "bad95root", &e.security_account, &region),
            &["recorded"],
        ));
        assert!(cases.len() >= 24, "{} findings", cases.len());

        // Six at a time, as a burst of findings arrives.
        let mut summaries: Vec<(usize, RunSummary)> = Vec::new();
        for chunk in (0..cases.len()).collect::<Vec<_>>().chunks(6) {
            let runs = chunk.iter().map(|&i| {
                let h = h.clone();
                let c = &cases[i];
                let (label, event) = (c.label.clone(), c.event.clone());
                async move { (i, h.run(&label, &event).await) }
            });
            for (i, s) in futures::future::join_all(runs).await {
                summaries.push((i, s?));
            }
        }

        // Every execution ended, with an allowed outcome or a named error and a notification.
        for (i, s) in &summaries {
            let c = &cases[*i];
            assert!(s.execution_arn.is_some(), "{}: no execution", c.label);
            assert!(
                s.status == "SUCCEEDED" || s.status == "FAILED",
                "{}: not ended: {s:#?}",
                c.label
            );
            if s.status == "FAILED" {
                let error = s.error.as_deref().unwrap_or("");
                assert!(
                    responder_core::ErrorName::parse(error).is_some() || error.starts_with("States."),
                    "{}: unnamed error {error:?}",
                    c.label
                );
                // A failure, or a containment that fell short (a network ACL at its entry
                // quota: every contained address takes an entry per direction), is notified.
                let notes = notifications_for(&h, &c.finding_id).await?;
                assert!(
                    notes
                        .iter()
                        .any(|n| matches!(outcome(n), "failed" | "partially-contained")),
                    "{}: failed without a failure notification: {s:#?}",
                    c.label
                );
            } else {
                assert!(c.allowed.contains(&s.outcome.as_str()), "{}: {s:#?}", c.label);
            }
        }
        let held = summaries
            .iter()
            .filter(|(_, s)| matches!(s.outcome.as_str(), "contained" | "partially-contained"))
            .count();
        assert!(held >= 18, "only {held} contained: {summaries:#?}");

        // No interface in the untrack group or any group that admits everything.
        let groups = readback::security_groups(&h.security).await?;
        let allow_all: BTreeSet<&str> = groups
            .iter()
            .filter(|g| {
                g.group_name == markers::UNTRACK_GROUP_NAME
                    || g.ingress.iter().any(|r| r.starts_with("-1 -> 0.0.0.0/0"))
            })
            .map(|g| g.group_id.as_str())
            .collect();
        let mut all: Vec<&SeededInstance> = vec![&e.web, &e.multi, &e.scaled, &e.exempt];
        all.extend(extras.iter());
        for inst in &all {
            let st = readback::instance(&h.security, &inst.instance_id).await?;
            for i in &st.interfaces {
                assert!(
                    !i.group_ids.iter().any(|g| allow_all.contains(g.as_str())),
                    "{}: {} is in an allow-all group: {:?}",
                    inst.name,
                    i.network_interface_id,
                    i.group_names
                );
            }
            // One evidence snapshot per volume per finding.
            let snaps = readback::evidence_snapshots(&h.security, &inst.instance_id).await?;
            let mut per: BTreeMap<(String, String), usize> = BTreeMap::new();
            for s in &snaps {
                let finding = s.tags.get(markers::TAG_FINDING_ID).cloned().unwrap_or_default();
                *per.entry((finding, s.volume_id.clone())).or_default() += 1;
            }
            assert!(per.values().all(|n| *n == 1), "{}: {per:?}", inst.name);
        }

        // The user at the quota: inactive and denied, without an inline character.
        let user = readback::user(&h.security, &e.user_name).await?;
        assert_eq!(user.keys.get(&e.access_key_id).map(String::as_str), Some("Inactive"));
        assert_eq!(user.attached_policies, ["arn:aws:iam::aws:policy/AWSDenyAll"]);

        // Nothing outside the findings' resources changed.
        let after = world(&h).await?;
        assert_eq!(after.instances[&e.exempt.name], before.instances[&e.exempt.name]);
        assert_eq!(
            after.users[&e.exempt_user_name], before.users[&e.exempt_user_name],
            "the exempt user"
        );
        assert_eq!(after.snapshots[&e.exempt.name], before.snapshots[&e.exempt.name]);

        let faults = h.faults.as_ref().context("faults")?;
        println!("{}", faults.proxy.report());
        Ok(())
    })
    .await
}
