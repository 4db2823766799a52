//! The console and the approval page in headless Chromium: the demo runs on a stack, then a
//! browser reads every execution's page and checks the graph's marks against the history, and
//! an analyst approves a MEDIUM finding through the real form, and rejects another. No page may
//! trip its Content Security Policy. Skipped, with a message, where no Chromium is installed
//! (`make setup-browser` installs Debian's).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use end_to_end::browser::{self, Browser};
use end_to_end::{repo_root, with_harness, Options};
use responder::harness::Harness;
use responder::history_view;
use responder::pipeline::RunSummary;
use responder::scenario::for_instance;
use serde_json::Value;

fn screenshots() -> PathBuf {
    repo_root().join("target").join("console-screenshots")
}

/// The console's page of an execution (`:` is the only reserved character of an ARN).
fn execution_page(base: &str, arn: &str) -> String {
    format!("{base}/console/execution?arn={}", arn.replace(':', "%3A"))
}

/// A MEDIUM finding on a fresh instance, left waiting for an analyst.
async fn waiting_medium(h: &Harness, instance: &str, id: &str) -> Result<RunSummary> {
    let e = &h.estate;
    let fresh = responder::estate::extra_instance(&h.security, e, instance).await?;
    let event = for_instance(
        end_to_end::fixture("ec2-medium.json")?,
        id,
        &fresh,
        &e.region,
    );
    let s = h.run(instance, &event).await?;
    assert_eq!(s.status, "WAITING_FOR_APPROVAL", "{s:#?}");
    Ok(s)
}

/// The analyst types a name on the approval page and presses the `decision` button.
async fn decide(b: &mut Browser, decision: &str) -> Result<()> {
    b.eval_and_wait(&format!(
        "document.querySelector('input[name=analyst]').value = 'analyst@example.com'; \
         document.querySelector('button[value={decision}]').click()"
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_every_demo_execution_and_an_analyst_approves_in_the_browser(
) -> Result<()> {
    let Some(mut b) = Browser::launch().await? else {
        eprintln!(
            "SKIPPED the browser test: no Chromium (looked for $CHROMIUM, chromium, chromium-browser, \
             google-chrome on PATH). `make setup-browser` installs Debian's chromium package."
        );
        return Ok(());
    };
    eprintln!("browser test with {:?}", browser::chromium());
    // The whole demo runs first: give it room on a loaded machine.
    let opts = Options {
        timeout: Duration::from_secs(480),
        ..Options::default()
    };
    with_harness(opts, |h| async move {
        let checks = responder::demo::run_on(&h, Instant::now()).await?;
        assert_eq!(checks.failed(), 0, "the demo's own checks");
        let base = h.server.url();
        let engine = &h.runtime.engine;
        let executions = engine.list_executions(None, None);

        // The list: every execution, and no CSP violation.
        b.goto(&format!("{base}/console")).await?;
        let listed = b.attributes("tr[data-execution]", "data-execution").await?;
        assert_eq!(listed.len(), executions.len(), "{listed:?}");
        assert!(b.csp_violations().await?.is_empty());
        b.screenshot(&screenshots().join("executions.png"), 1000.0).await?;

        // Every execution's graph agrees with its history.
        let machines: std::collections::BTreeMap<String, String> = engine
            .list_state_machines()
            .into_iter()
            .map(|m| (m.state_machine_arn, m.name))
            .collect();
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        // The oldest contained HIGH instance (the list is newest first).
        let mut contained = None;
        for d in &executions {
            let summary = responder::pipeline::summarize_on(engine, "", &d.execution_arn, None)?;
            let machine = machines[&d.state_machine_arn].as_str();
            let kind = match (
                machine,
                d.status.as_str(),
                summary.tier.as_deref(),
                summary.outcome.as_str(),
            ) {
                ("restore-instance", "SUCCEEDED", _, _) => "restore",
                (_, "FAILED", _, _) => "failed",
                (_, _, Some("MEDIUM"), "contained") => "approved MEDIUM",
                (_, _, Some("MEDIUM"), "approval-rejected") => "rejected MEDIUM",
                (_, _, Some("HIGH"), "contained") if summary.route.as_deref() == Some("ec2") => {
                    "contained HIGH instance"
                }
                _ => "other",
            };
            seen.insert(kind);
            if kind == "contained HIGH instance" {
                contained = Some(d.execution_arn.clone());
            }
            b.goto(&execution_page(&base, &d.execution_arn)).await?;
            let status = b.text("#status").await?;
            assert_eq!(status.as_deref(), Some(d.status.as_str()), "{}", d.name);
            let view = history_view::reconstruct(&responder::pipeline::history_on(
                engine,
                &d.execution_arn,
            )?);
            let entered: BTreeSet<&str> = view.states.iter().map(|s| s.name.as_str()).collect();
            let not_entered: BTreeSet<String> = b
                .attributes("g.state[data-status='not-entered']", "data-state")
                .await?
                .into_iter()
                .collect();
            for s in &entered {
                assert!(!not_entered.contains(*s), "{}: {s} was entered", d.name);
            }
            let failed = b
                .attributes("g.state[data-status='failed']", "data-state")
                .await?;
            let last = view.states.last().map(|s| s.name.clone()).unwrap_or_default();
            if d.status == asl::ExecutionStatus::Failed {
                assert!(failed.contains(&last), "{}: {last} failed it: {failed:?}", d.name);
            } else {
                assert!(failed.is_empty(), "{}: {failed:?}", d.name);
                let marked = b
                    .attributes(&format!("g.state[data-state='{last}']"), "data-status")
                    .await?;
                assert!(
                    marked.iter().all(|m| m == "succeeded" || m == "retried"),
                    "{}: {last} {marked:?}",
                    d.name
                );
            }
            // What each kind of execution must show, state by state.
            let expected: &[(&str, &str)] = match kind {
                "approved MEDIUM" => &[("AwaitApproval", "succeeded"), ("ContainInstance", "succeeded")],
                "rejected MEDIUM" => &[("AwaitApproval", "caught"), ("ContainInstance", "not-entered")],
                "contained HIGH instance" => &[("AwaitApproval", "not-entered"), ("ContainInstance", "succeeded")],
                _ => &[],
            };
            for (state, status) in expected {
                let marked = b
                    .attributes(&format!("g.state[data-state='{state}']"), "data-status")
                    .await?;
                assert_eq!(marked, [*status], "{} ({kind}): {state}", d.name);
            }
            if kind == "rejected MEDIUM" {
                let caught = b.attributes("path.edge.catch.taken", "data-from").await?;
                assert_eq!(caught, ["AwaitApproval"], "{}: the Catch taken", d.name);
            }
            assert!(
                !b.attributes("path.edge.taken", "data-to").await?.is_empty(),
                "{}: no transition marked",
                d.name
            );
            assert!(b.csp_violations().await?.is_empty(), "{}", d.name);
        }
        for wanted in [
            "contained HIGH instance",
            "approved MEDIUM",
            "rejected MEDIUM",
            "failed",
            "restore",
        ] {
            assert!(seen.contains(wanted), "the demo has no {wanted} execution: {seen:?}");
        }

        // The first contained instance's page: its REPORT figures, and the README's picture.
        let contained = contained.context("a contained instance")?;
        b.goto(&execution_page(&base, &contained)).await?;
        let report = b.text("#events td code").await?;
        assert!(report.is_some(), "the events table shows the tasks' REPORT figures");
        let text = b.eval("document.querySelector('#events').textContent").await?;
        assert!(text.as_str().unwrap_or("").contains("REPORT RequestId"));
        b.screenshot(&screenshots().join("execution.png"), 1150.0).await?;
        // Cut to the path, every state it entered is still there, marked.
        b.goto(&format!("{}&view=path", execution_page(&base, &contained)))
            .await?;
        let near = b.attributes("g.state[data-status='succeeded']", "data-state").await?;
        for s in ["Classify", "Isolate", "NotifyInstanceContained"] {
            assert!(near.iter().any(|n| n == s), "{s} in {near:?}");
        }
        // The README's picture.
        b.screenshot(&screenshots().join("execution-path.png"), 1700.0).await?;

        // Findings.
        b.goto(&format!("{base}/console/findings")).await?;
        assert!(!b.attributes("section.finding", "data-finding").await?.is_empty());
        // Every rollback of the demo is listed under the finding whose change it undid.
        let listed: Vec<Value> = b
            .eval(
                "Array.from(document.querySelectorAll('section.finding')).map(s => \
                 [s.dataset.finding, Array.from(s.querySelectorAll('ul.rollbacks a')).map(a => a.textContent)])",
            )
            .await?
            .as_array()
            .cloned()
            .unwrap_or_default();
        let under = |name: &str| -> Vec<String> {
            listed
                .iter()
                .filter(|f| f[1].as_array().is_some_and(|l| l.iter().any(|n| n == name)))
                .filter_map(|f| f[0].as_str().map(str::to_string))
                .collect()
        };
        assert_eq!(under("demo-restore-web-1"), ["demo0001web1"], "{listed:?}");
        for d in executions.iter().filter(|d| machines[&d.state_machine_arn] == "restore-instance") {
            assert!(!under(&d.name).is_empty(), "{} is under no finding: {listed:?}", d.name);
        }
        assert!(b.csp_violations().await?.is_empty());

        // An analyst approves a MEDIUM finding in the browser, through the real form.
        let s = waiting_medium(&h, "browser-approved", "e2e1601browser").await?;
        b.goto(&execution_page(&base, s.execution_arn.as_deref().unwrap_or("")))
            .await?;
        assert_eq!(
            b.attributes("g.state[data-status='in-progress']", "data-state").await?.len(),
            1,
            "the approval wait is marked in progress"
        );
        let (approve, _) = h.approval_links("e2e1601browser").await?;
        b.goto(&approve).await?;
        let plan = b.eval("Array.from(document.querySelectorAll('ul li')).map(l => l.textContent)").await?;
        let plan: Vec<&str> = plan.as_array().into_iter().flatten().filter_map(|v| v.as_str()).collect();
        assert!(
            plan.iter().any(|p| p.contains("quarantine security group")),
            "the approval page shows the plan: {plan:?}"
        );
        assert!(b.csp_violations().await?.is_empty());
        b.screenshot(&screenshots().join("approval.png"), 1000.0).await?;
        decide(&mut b, "approve").await?;
        let title = b.text("h1").await?.unwrap_or_default();
        assert!(title.to_lowercase().contains("approved"), "{title}");
        assert!(b.csp_violations().await?.is_empty());
        let s = h.resume(&s).await?;
        assert_eq!((s.status.as_str(), s.outcome.as_str()), ("SUCCEEDED", "contained"), "{s:#?}");
        b.goto(&execution_page(&base, s.execution_arn.as_deref().unwrap_or("")))
            .await?;
        assert!(b
            .attributes("g.state[data-status='in-progress']", "data-state")
            .await?
            .is_empty());

        // And one rejects another: nothing is contained, and the console shows the Catch.
        let s = waiting_medium(&h, "browser-rejected", "e2e1602browser").await?;
        let (_, reject) = h.approval_links("e2e1602browser").await?;
        b.goto(&reject).await?;
        decide(&mut b, "reject").await?;
        let title = b.text("h1").await?.unwrap_or_default();
        assert_eq!(title, "Containment rejected");
        let s = h.resume(&s).await?;
        assert_eq!(s.outcome, "approval-rejected", "{s:#?}");
        b.goto(&execution_page(&base, s.execution_arn.as_deref().unwrap_or("")))
            .await?;
        assert_eq!(
            b.attributes("g.state[data-state='AwaitApproval']", "data-status")
                .await?,
            ["caught"]
        );
        assert!(b.csp_violations().await?.is_empty());

        // The violation recorder itself: an image from elsewhere is refused and recorded.
        b.eval("const i = document.createElement('img'); i.src = 'http://192.0.2.1/x.png'; document.body.appendChild(i); 1")
            .await?;
        let v = b.csp_violations().await?;
        assert!(v.iter().any(|x| x.contains("img-src")), "{v:?}");

        if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
            std::fs::copy(
                screenshots().join("execution-path.png"),
                repo_root().join("docs").join("console.png"),
            )?;
        }
        b.close().await;
        Ok(())
    })
    .await
}
