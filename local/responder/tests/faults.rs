//! The pipeline behind the fault proxy: every task's calls are attributed to it, the harness's
//! own calls are not counted, and a crash rule kills the calling task's invocation, which Step
//! Functions sees as Lambda reports it. Needs the task binaries (`cargo build --workspace
//! --bins`) and moto (`make setup`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use fault_proxy::{Scenario, UNATTRIBUTED};
use responder::harness::{Harness, HarnessOptions};
use responder::scenario::for_instance;

/// `target/<profile>`, where the task binaries are.
fn bin_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .context("no target folder above the test executable")?;
    for (name, _, _) in responder::runtime::FUNCTIONS {
        if !dir.join(name).is_file() {
            bail!(
                "task binary {} is missing: run `cargo build --workspace --bins` first",
                dir.join(name).display()
            );
        }
    }
    Ok(dir)
}

fn options() -> Result<HarnessOptions> {
    Ok(HarnessOptions {
        clock: None,
        bin_dir: bin_dir()?,
        statemachines_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../statemachines"),
        approval_timeout_seconds: 3600,
        extra_env: Default::default(),
        log_sink: None,
    })
}

fn fixture(name: &str) -> Result<serde_json::Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/events");
    responder::scenario::load(&dir, name)
}

#[tokio::test]
async fn a_crash_rule_kills_the_task_mid_call_and_step_functions_sees_a_timeout() -> Result<()> {
    responder::moto::Moto::locate().context("these tests need moto: run `make setup`")?;
    // The second interface change of isolate (after the untracking swap) is where the
    // invocation dies, as if it had run out of time.
    let scenario = Scenario::parse(
        r#"
        name = "crash-isolate"
        [[rules]]
        task = "isolate"
        action = "ModifyNetworkInterfaceAttribute"
        nth = 2
        crash = "timeout"
        "#,
        "test",
    )?;
    let h = Harness::start_with(options()?, Some(scenario)).await?;
    let result = async {
        let faults = h.faults.as_ref().context("faults")?;
        let e = &h.estate;
        let event = for_instance(
            fixture("ec2-high-single-eni.json")?,
            "crash0001web",
            &e.web,
            &e.region,
        );
        let summary = h.run("crash", &event).await?;
        let arn = summary.execution_arn.clone().context("execution")?;
        let isolate: Vec<_> = h
            .runtime
            .tasks
            .invocations(&arn)
            .into_iter()
            .filter(|i| i.function == "isolate")
            .collect();
        assert_eq!(
            isolate.first().and_then(|i| i.error.as_deref()),
            Some("Sandbox.Timedout"),
            "{isolate:?}"
        );
        assert_eq!(isolate[0].report.status, Some("timeout"));
        let history =
            serde_json::to_string(&responder::pipeline::history_values(&h.runtime, &arn)?)?;
        assert!(
            history.contains("Sandbox.Timedout"),
            "Step Functions received the timeout as the task's error"
        );
        let row = faults
            .proxy
            .counts()
            .row("isolate", "ec2", "ModifyNetworkInterfaceAttribute")
            .cloned()
            .context("isolate's interface calls")?;
        assert_eq!(row.crashes, 1);
        // The state machine retries a timed-out isolate (every step is idempotent): the retry
        // finds the interface in the untrack group, moves it on, and containment converges.
        assert_eq!(summary.outcome, "contained", "{summary:#?}");
        assert!(isolate.len() >= 2, "retried after the crash: {isolate:?}");
        assert!(
            isolate[1].report.cold_start,
            "the retry runs in a new process"
        );
        let st = responder::readback::instance(&h.security, &e.web.instance_id).await?;
        assert!(
            st.interfaces
                .iter()
                .all(|i| i.group_names == [responder_core::markers::QUARANTINE_GROUP_NAME]),
            "no interface left in the untrack group: {st:?}"
        );

        // The next finding is contained normally.
        let second = for_instance(
            fixture("ec2-high-multi-eni.json")?,
            "crash0002multi",
            &e.multi,
            &e.region,
        );
        let summary = h.run("after the crash", &second).await?;
        let arn = summary.execution_arn.clone().context("execution")?;
        let next = h
            .runtime
            .tasks
            .invocations(&arn)
            .into_iter()
            .find(|i| i.function == "isolate")
            .context("isolate ran")?;
        assert_eq!(next.error, None, "{:?}", next.logs);
        Ok::<_, anyhow::Error>(())
    }
    .await;
    h.stop().await;
    result
}

#[tokio::test]
async fn every_call_of_the_pipeline_is_a_tasks_and_the_harness_is_not_counted() -> Result<()> {
    responder::moto::Moto::locate().context("these tests need moto: run `make setup`")?;
    let h = Harness::start_with(options()?, Some(Scenario::named("calm")?)).await?;
    let result = async {
        let e = &h.estate;
        let event = for_instance(
            fixture("ec2-high-cross-account.json")?,
            "count0001member",
            &e.member,
            &e.region,
        );
        let summary = h.run("member", &event).await?;
        assert_eq!(summary.outcome, "contained", "{summary:?}");
        let counts = h.faults.as_ref().context("faults")?.proxy.counts();
        assert!(
            counts.rows.iter().all(|r| r.task != UNATTRIBUTED),
            "every call is a task's: {:?}",
            counts.rows
        );
        for task in ["check-exemption", "isolate", "snapshot", "tag", "notify"] {
            assert!(
                counts.rows.iter().any(|r| r.task == task),
                "{task} made calls"
            );
        }
        // The member account is reached through AssumeRole, from each task that acts there.
        assert_eq!(
            counts.row("isolate", "sts", "AssumeRole").map(|r| r.calls),
            Some(1)
        );
        // Nothing of the harness's seeding went through the proxy.
        assert_eq!(counts.calls("ec2", "RunInstances"), 0);
        assert_eq!(counts.calls("iam", "CreateUser"), 0);
        Ok::<_, anyhow::Error>(())
    }
    .await;
    h.stop().await;
    result
}
