//! Containment against AWS's failure modes, through the fault-injecting endpoint: a move to the
//! quarantine group that fails, security groups that are not visible yet, and IAM's inline
//! policy quota.

use anyhow::{Context, Result};
use end_to_end::{fixture, notifications_for, with_harness, Options};
use responder::readback;
use responder::scenario::{for_access_key, for_instance};
use responder_core::markers;

fn faults(toml: &str) -> Options {
    Options {
        faults: Some(toml.to_string()),
        ..Options::default()
    }
}

/// The move from the allow-all untrack group to the quarantine group is refused: the interface
/// goes back to its own groups at once, never stays in the allow-all group, and the team is
/// told where it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_second_move_never_leaves_an_interface_in_the_untrack_group() -> Result<()> {
    let opts = faults(
        r#"
        name = "second-move-refused"
        [[rules]]
        task = "isolate"
        action = "ModifyNetworkInterfaceAttribute"
        nth = 2
        times = 1
        error = "UnauthorizedOperation"
        status = 403
        message = "You are not authorized to perform this operation."
        "#,
    );
    with_harness(opts, |h| async move {
        let e = &h.estate;
        let id = "e2e0601refused";
        let event = for_instance(fixture("ec2-high-single-eni.json")?, id, &e.web, &e.region);
        let s = h.run("refused", &event).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("FAILED", "failed"),
            "{s:#?}"
        );
        let st = readback::instance(&h.security, &e.web.instance_id).await?;
        assert_eq!(
            st.interfaces[0].group_ids, e.web.interfaces[0].group_ids,
            "back in its own groups"
        );
        assert!(st.interfaces.iter().all(|i| !i
            .group_names
            .iter()
            .any(|n| n == markers::UNTRACK_GROUP_NAME)));
        let notes = notifications_for(&h, id).await?;
        assert_eq!(notes.len(), 1, "{notes:#?}");
        let body = notes[0].json().context("JSON")?;
        assert!(
            body["error"]
                .to_string()
                .contains("was put back in its original groups"),
            "{body:#}"
        );
        Ok(())
    })
    .await
}

/// Every security group just created answers InvalidGroup.NotFound for three seconds, as
/// EC2's eventual consistency allows: containment waits for it and succeeds at the first try.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containment_succeeds_while_a_new_group_is_not_visible_yet() -> Result<()> {
    let opts = faults(
        r#"
        name = "consistency"
        [consistency]
        security-group = 3
        "#,
    );
    with_harness(opts, |h| async move {
        let e = &h.estate;
        let event = for_instance(
            fixture("ec2-high-single-eni.json")?,
            "e2e0602consistent",
            &e.web,
            &e.region,
        );
        let s = h.run("consistency", &event).await?;
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
        let faults = h.faults.as_ref().context("faults")?;
        let report = faults.proxy.report();
        assert!(
            report.contains("InvalidGroup.NotFound"),
            "the window was hit: {report}"
        );
        Ok(())
    })
    .await
}

/// A user whose inline policies already use almost all of IAM's 2,048 characters (the proxy
/// enforces the quota moto does not): the key ends inactive and the user denied, without a
/// single inline character.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_near_the_inline_quota_ends_inactive_and_denied() -> Result<()> {
    let opts = faults(
        r#"
        name = "quotas"
        [quotas]
        aws = true
        "#,
    );
    with_harness(opts, |h| async move {
        let e = &h.estate;
        let iam = aws_sdk_iam::Client::new(&h.security);
        // About 1,950 non-whitespace characters of inline policy, as a busy user may have.
        let filler = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Filler","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{}/*"}}]}}"#,
            "b".repeat(1_820)
        );
        iam.put_user_policy()
            .user_name(&e.user_name)
            .policy_name("existing-access")
            .policy_document(filler)
            .send()
            .await
            .context("PutUserPolicy (seed)")?;
        let event = for_access_key(
            fixture("iam-high-akia-user.json")?,
            "e2e0603quota",
            &e.security_account,
            &e.region,
            &e.user_name,
            &e.access_key_id,
        );
        let s = h.run("quota", &event).await?;
        assert_eq!((s.status.as_str(), s.outcome.as_str()), ("SUCCEEDED", "contained"), "{s:#?}");
        let user = readback::user(&h.security, &e.user_name).await?;
        assert_eq!(user.keys.get(&e.access_key_id).map(String::as_str), Some("Inactive"));
        assert_eq!(user.attached_policies, ["arn:aws:iam::aws:policy/AWSDenyAll"]);
        assert_eq!(user.inline_policies, ["existing-access"], "no inline policy added");
        Ok(())
    })
    .await
}

/// Lambda's own throttling, in its REST-JSON shape, on the cut of a function's containment:
/// the task's retries absorb it and the function is contained, its record written once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_function_containment_is_retried_and_holds() -> Result<()> {
    let opts = faults(
        r#"
        name = "lambda-throttled"
        [[rules]]
        task = "contain-function"
        service = "lambda"
        action = "PutFunctionConcurrency"
        times = 2
        error = "Throttling"
        "#,
    );
    with_harness(opts, |h| async move {
        let e = &h.estate;
        let id = "e2e0610lambda";
        let event = responder::scenario::for_function(
            fixture("lambda-high-c2.json")?,
            id,
            &e.member_account,
            &e.region,
            &e.function_name,
        );
        let s = h.run("lambda-throttled", &event).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "contained"),
            "{s:#?}"
        );
        let f = readback::function(&h.member, &e.function_name).await?;
        assert_eq!(f.reserved_concurrency, Some(0), "{f:?}");
        assert_eq!(
            f.tags
                .get(markers::TAG_ORIGINAL_CONCURRENCY)
                .map(String::as_str),
            Some("none")
        );
        let report = h.faults.as_ref().context("faults")?.report();
        // Named by its action, throttled twice in Lambda's own shape, then let through.
        let row = report
            .lines()
            .find(|l| l.starts_with("contain-function") && l.contains("PutFunctionConcurrency"))
            .with_context(|| format!("no PutFunctionConcurrency row: {report}"))?;
        assert!(row.contains("TooManyRequestsException=2"), "{row}");
        Ok(())
    })
    .await
}

/// S3's own throttling, in its REST-XML shape (`SlowDown`, 503), on the cut of a bucket's
/// containment: the retries absorb it and the bucket is closed, its record written once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_bucket_containment_is_retried_and_holds() -> Result<()> {
    let opts = faults(
        r#"
        name = "s3-throttled"
        [[rules]]
        task = "contain-bucket"
        service = "s3"
        action = "PutPublicAccessBlock"
        times = 2
        error = "Throttling"
        "#,
    );
    with_harness(opts, |h| async move {
        let e = &h.estate;
        let event = responder::scenario::for_bucket(
            fixture("s3-high-anonymous-access.json")?,
            "e2e0611bucket",
            &e.member_account,
            &e.region,
            &e.bucket_name,
        );
        let s = h.run("s3-throttled", &event).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "contained"),
            "{s:#?}"
        );
        let b = readback::bucket(&h.member, &e.bucket_name).await?;
        assert!(
            b.public_access_block
                .as_ref()
                .is_some_and(|p| p.values().all(|on| *on)),
            "{b:?}"
        );
        assert_eq!(
            b.tags
                .get(markers::TAG_ORIGINAL_PUBLIC_ACCESS_BLOCK)
                .map(String::as_str),
            Some("none")
        );
        let report = h.faults.as_ref().context("faults")?.report();
        // Named by its action, throttled twice in S3's own shape, then let through.
        let row = report
            .lines()
            .find(|l| l.starts_with("contain-bucket") && l.contains("PutPublicAccessBlock"))
            .with_context(|| format!("no PutPublicAccessBlock row: {report}"))?;
        assert!(row.contains("SlowDown=2"), "{row}");
        Ok(())
    })
    .await
}

/// RDS's throttling on the swap of a database's groups, and a snapshot refused while the
/// instance is still `modifying` after the swap (`InvalidDBInstanceState`): the state machine's
/// retries absorb the first, the task's own bounded retries the second, and the database ends
/// isolated with its true originals recorded and the evidence snapshot taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_database_containment_is_retried_and_its_snapshot_waits_for_the_instance(
) -> Result<()> {
    let opts = faults(
        r#"
        name = "rds-throttled"
        [[rules]]
        task = "contain-database"
        service = "rds"
        action = "ModifyDBInstance"
        times = 2
        error = "Throttling"
        [[rules]]
        task = "contain-database"
        service = "rds"
        action = "CreateDBSnapshot"
        times = 2
        error = "InvalidDBInstanceState"
        "#,
    );
    with_harness(opts, |h| async move {
        let e = &h.estate;
        let db = &e.database;
        let event = responder::scenario::for_database(
            fixture("rds-high-malicious-login.json")?,
            "e2e0612database",
            &e.member_account,
            &e.region,
            &db.identifier,
            None,
        );
        let s = h.run("rds-throttled", &event).await?;
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
                .tags
                .get(markers::TAG_ORIGINAL_GROUPS)
                .map(String::as_str),
            Some(db.group_ids.join(" ").as_str())
        );
        assert_eq!(after.snapshots.len(), 1, "{after:?}");
        let report = h.faults.as_ref().context("faults")?.report();
        let row = |action: &str| {
            report
                .lines()
                .find(|l| l.starts_with("contain-database") && l.contains(action))
                .map(str::to_string)
                .with_context(|| format!("no {action} row: {report}"))
        };
        assert!(
            row("ModifyDBInstance")?.contains("Throttling=2"),
            "{report}"
        );
        assert!(
            row("CreateDBSnapshot")?.contains("InvalidDBInstanceState=2"),
            "{report}"
        );
        Ok(())
    })
    .await
}

/// RDS refuses the evidence snapshot every time: the database is contained all the same, and
/// the execution ends contained without evidence, the notification saying how to take it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_whose_snapshot_is_refused_is_contained_without_evidence() -> Result<()> {
    let opts = faults(
        r#"
        name = "rds-snapshot-refused"
        [[rules]]
        task = "contain-database"
        service = "rds"
        action = "CreateDBSnapshot"
        times = 1000
        error = "InvalidDBInstanceState"
        "#,
    );
    with_harness(opts, |h| async move {
        let e = &h.estate;
        let db = &e.database;
        let event = responder::scenario::for_database(
            fixture("rds-high-malicious-login.json")?,
            "e2e0613database",
            &e.member_account,
            &e.region,
            &db.identifier,
            None,
        );
        let s = h.run("rds-no-snapshot", &event).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "contained-evidence-incomplete"),
            "{s:#?}"
        );
        let after = readback::database(&h.member, &db.identifier).await?;
        assert_eq!(
            after.group_names,
            [markers::QUARANTINE_GROUP_NAME],
            "{after:?}"
        );
        assert!(after.snapshots.is_empty(), "{after:?}");
        Ok(())
    })
    .await
}
