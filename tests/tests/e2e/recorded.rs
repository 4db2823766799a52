//! Findings that are only recorded: LOW severity, notify-only resource types, sample findings,
//! root credentials. Each ends `recorded`, is notified, and changes nothing.

use anyhow::Result;
use end_to_end::{
    actions_with, assert_unchanged, fixture, outcomes_for, with_harness, world, Options,
};
use responder::estate::Estate;
use responder::scenario::{for_instance, retarget};
use serde_json::Value;

/// Runs the cases built from the estate; each must end `recorded` and change nothing.
async fn recorded_without_change_on<F>(cases: F) -> Result<()>
where
    F: FnOnce(&Estate) -> Result<Vec<(&'static str, Value)>> + Send + 'static,
{
    with_harness(Options::default(), |h| async move {
        let cases = cases(&h.estate)?;
        let before = world(&h).await?;
        for (id, event) in &cases {
            let s = h.run(id, event).await?;
            assert_eq!(
                (s.status.as_str(), s.outcome.as_str()),
                ("SUCCEEDED", "recorded"),
                "{id}: {s:#?}"
            );
            assert!(actions_with(&s, "changed").is_empty(), "{id}: {s:#?}");
            assert_eq!(outcomes_for(&h, id).await?, ["recorded"], "{id}");
        }
        assert_unchanged(&before, &world(&h).await?, "recorded findings");
        Ok(())
    })
    .await
}

/// LOW: recorded, nothing changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn low_finding_is_recorded_and_changes_nothing() -> Result<()> {
    recorded_without_change_on(|e| {
        Ok(vec![(
            "e2e0007low",
            for_instance(fixture("ec2-low.json")?, "e2e0007low", &e.web, &e.region),
        )])
    })
    .await
}

/// S3 and EKS findings are notify-only: recorded, nothing changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_only_types_are_recorded_and_change_nothing() -> Result<()> {
    recorded_without_change_on(|e| {
        Ok(vec![
            (
                "e2e0008s3",
                retarget(
                    fixture("s3-notify-only.json")?,
                    "e2e0008s3",
                    &e.security_account,
                    &e.region,
                ),
            ),
            (
                "e2e0008eks",
                retarget(
                    fixture("eks-notify-only.json")?,
                    "e2e0008eks",
                    &e.security_account,
                    &e.region,
                ),
            ),
        ])
    })
    .await
}

/// GuardDuty's sample findings (pointed at a real instance) are recorded, nothing changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_finding_is_recorded_and_changes_nothing() -> Result<()> {
    recorded_without_change_on(|e| {
        Ok(vec![(
            "e2e0009sample",
            for_instance(
                fixture("ec2-sample.json")?,
                "e2e0009sample",
                &e.web,
                &e.region,
            ),
        )])
    })
    .await
}

/// Root credentials are never changed automatically: recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_credentials_are_recorded_and_never_changed() -> Result<()> {
    recorded_without_change_on(|e| {
        Ok(vec![(
            "e2e0010root",
            retarget(
                fixture("iam-root.json")?,
                "e2e0010root",
                &e.security_account,
                &e.region,
            ),
        )])
    })
    .await
}

/// An EKS workload finding is recorded with the Kubernetes steps to contain it by hand: the
/// notification's next steps name the pod, its namespace and the commands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eks_workload_finding_is_notified_with_the_kubernetes_steps() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let id = "e2e1305eks";
        let s = h
            .run(
                id,
                &retarget(
                    fixture("eks-notify-only.json")?,
                    id,
                    &e.security_account,
                    &e.region,
                ),
            )
            .await?;
        assert_eq!(s.outcome, "recorded", "{s:#?}");
        let notes = end_to_end::notifications_for(&h, id).await?;
        let body = notes
            .first()
            .and_then(|n| n.json())
            .ok_or_else(|| anyhow::anyhow!("no JSON notification: {notes:#?}"))?;
        let steps = body["nextSteps"].to_string();
        for part in [
            "Not contained automatically",
            "kubectl -n default label pod debug-shell guardduty-responder/quarantine=true",
            "kubectl cordon",
            "revoke that role's active sessions",
        ] {
            assert!(steps.contains(part), "{part}: {steps}");
        }
        Ok(())
    })
    .await
}
