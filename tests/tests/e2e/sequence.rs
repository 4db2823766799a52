//! An attack sequence naming several resources: one plan, each instance and key it names
//! contained exactly once through the same tasks as a finding of its own (the instance it names
//! twice, by id and by ARN, once), what it cannot contain listed, one notification for the
//! whole plan; above the blast-radius limit the whole plan waits for one approval, and that
//! approval contains all of it.

use anyhow::Result;
use end_to_end::{
    assert_unchanged, fixture, notifications_for, post_decision, with_harness, world, Options,
};
use responder::harness::Harness;
use responder::readback;
use responder::scenario::for_sequence;
use responder_core::markers;
use serde_json::Value;

fn event(h: &Harness, id: &str) -> Result<Value> {
    let e = &h.estate;
    Ok(for_sequence(
        fixture("attack-sequence-credentials.json")?,
        id,
        &e.security_account,
        &e.region,
        (&e.user_name, &e.access_key_id),
        (&e.web.instance_id, &e.multi.instance_id),
    ))
}

/// What the plan did, read back: both instances isolated on every interface, the key inactive.
async fn contained(h: &Harness) -> Result<()> {
    let e = &h.estate;
    for i in [&e.web, &e.multi] {
        let st = readback::instance(&h.security, &i.instance_id).await?;
        assert!(
            st.interfaces
                .iter()
                .all(|n| n.group_names == [markers::QUARANTINE_GROUP_NAME]),
            "{st:#?}"
        );
        assert_eq!(st.state, "running");
    }
    let user = readback::user(&h.security, &e.user_name).await?;
    assert_eq!(
        user.keys.get(&e.access_key_id).map(String::as_str),
        Some("Inactive"),
        "{user:?}"
    );
    Ok(())
}

/// The plan's lines of the one notification about the sequence.
async fn plan_lines(h: &Harness, id: &str) -> Result<(String, Vec<String>)> {
    let notes = notifications_for(h, id).await?;
    let n = notes
        .iter()
        .find(|n| end_to_end::outcome(n) != "approval-requested")
        .expect("a notification of the outcome");
    let body = n.json().expect("json body");
    let steps = body["nextSteps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    Ok((end_to_end::outcome(n).to_string(), steps))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_critical_sequence_contains_each_resource_it_names_exactly_once() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let id = "e2e1601sequence";
        let s = h.run("sequence-critical", &event(&h, id)?).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str(), s.route.as_deref()),
            ("SUCCEEDED", "contained", Some("sequence")),
            "{s:#?}"
        );
        contained(&h).await?;
        // Each resource once: one set of evidence snapshots per instance, one plan line each.
        for i in [&e.web, &e.multi] {
            let snaps = readback::evidence_snapshots(&h.security, &i.instance_id).await?;
            let volumes = readback::attached_volumes(&h.security, &i.instance_id)
                .await?
                .len();
            assert_eq!(snaps.len(), volumes, "{} {snaps:?}", i.instance_id);
        }
        let (outcome, steps) = plan_lines(&h, id).await?;
        assert_eq!(outcome, "contained");
        let items: Vec<&String> = steps
            .iter()
            .filter(|l| l.starts_with("Plan item"))
            .collect();
        assert_eq!(items.len(), 3, "{steps:#?}");
        for want in [
            format!("Plan item, instance {}: contained", e.web.instance_id),
            format!("Plan item, instance {}: contained", e.multi.instance_id),
            format!(
                "Plan item, credentials {}/{}: contained",
                e.user_name, e.access_key_id
            ),
        ] {
            assert!(steps.contains(&want), "{want}\n{steps:#?}");
        }
        let left: Vec<&String> = steps
            .iter()
            .filter(|l| l.starts_with("Not contained automatically"))
            .collect();
        assert_eq!(left.len(), 3, "{steps:#?}");
        assert!(left.iter().any(|l| l.contains("root credentials")));
        assert!(left.iter().any(|l| l.contains("333333333333")));

        // Delivered again: every item finds its resource contained; nothing changes twice.
        let again = h
            .run("sequence-again", &event(&h, "e2e1602sequence")?)
            .await?;
        assert_eq!(again.outcome, "contained", "{again:#?}");
        let (_, steps) = plan_lines(&h, "e2e1602sequence").await?;
        assert_eq!(
            steps
                .iter()
                .filter(|l| l.starts_with("Plan item") && l.contains(": skipped"))
                .count(),
            3,
            "{steps:#?}"
        );
        for i in [&e.web, &e.multi] {
            let snaps = readback::evidence_snapshots(&h.security, &i.instance_id).await?;
            let volumes = readback::attached_volumes(&h.security, &i.instance_id)
                .await?
                .len();
            assert_eq!(snaps.len(), volumes, "no second set for {}", i.instance_id);
        }
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn above_the_blast_radius_one_approval_covers_the_whole_plan() -> Result<()> {
    let mut opts = Options::default();
    opts.extra_env.insert(
        "POLICY_JSON".into(),
        r#"{"sequence": {"max_resources": 2}}"#.into(),
    );
    with_harness(opts, |h| async move {
        let before = world(&h).await?;
        let id = "e2e1603sequence";
        let s = h.run("sequence-wide", &event(&h, id)?).await?;
        assert_eq!(s.status, "WAITING_FOR_APPROVAL", "{s:#?}");
        assert!(
            s.reasons
                .iter()
                .any(|r| r.contains("more than the blast-radius limit 2")),
            "{:#?}",
            s.reasons
        );
        assert_unchanged(&before, &world(&h).await?, "waiting for an analyst");
        let (approve, _) = h.approval_links(id).await?;
        assert_eq!(post_decision(&approve, true).await?, 200);
        let s = h.resume(&s).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "contained"),
            "{s:#?}"
        );
        contained(&h).await?;
        Ok(())
    })
    .await
}

/// One item of the plan cannot be contained (IAM refuses the key's deactivation every time):
/// the other items are contained all the same, the one notification names the failed item with
/// its error, and the execution ends failed so the failed-execution alarm fires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_item_leaves_the_others_contained_and_ends_the_plan_failed() -> Result<()> {
    let opts = Options {
        faults: Some(
            r#"
            name = "sequence-key-refused"
            [[rules]]
            task = "revoke"
            service = "iam"
            action = "UpdateAccessKey"
            times = 1000
            error = "AccessDenied"
            status = 403
            "#
            .into(),
        ),
        ..Options::default()
    };
    with_harness(opts, |h| async move {
        let e = &h.estate;
        let id = "e2e1604sequence";
        let s = h.run("sequence-partial", &event(&h, id)?).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("FAILED", "partially-contained"),
            "{s:#?}"
        );
        for i in [&e.web, &e.multi] {
            let st = readback::instance(&h.security, &i.instance_id).await?;
            assert!(
                st.interfaces
                    .iter()
                    .all(|n| n.group_names == [markers::QUARANTINE_GROUP_NAME]),
                "{st:#?}"
            );
        }
        let (outcome, steps) = plan_lines(&h, id).await?;
        assert_eq!(outcome, "partially-contained");
        let failed: Vec<&String> = steps
            .iter()
            .filter(|l| l.starts_with("Plan item, credentials") && l.contains(": failed"))
            .collect();
        assert_eq!(failed.len(), 1, "{steps:#?}");
        assert!(
            failed[0].contains("Remediation.AccessDenied"),
            "{}",
            failed[0]
        );
        Ok(())
    })
    .await
}
