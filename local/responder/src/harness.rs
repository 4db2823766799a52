//! Everything local at once: the emulator, a seeded estate, the runtime, the endpoint and the
//! approval pages. The demo and the end-to-end tests drive the pipeline through it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use aws_config::SdkConfig;
use fault_proxy::Scenario;
use serde_json::Value;

use crate::estate::{self, Estate};
use crate::faults::Faults;
use crate::moto::{self, Moto};
use crate::pipeline::{self, RunSummary};
use crate::readback::{self, Notification};
use crate::runtime::{LocalRuntime, RuntimeConfig};
use crate::server::{self, Endpoint, Server};

/// Options of a local stack.
#[derive(Clone)]
pub struct HarnessOptions {
    /// Where the task binaries are.
    pub bin_dir: PathBuf,
    /// Where the state machines are.
    pub statemachines_dir: PathBuf,
    /// The approval wait.
    pub approval_timeout_seconds: u64,
    /// Extra task environment (e.g. `DRY_RUN`, `POLICY_JSON`).
    pub extra_env: BTreeMap<String, String>,
    /// Task log lines go here, if set.
    pub log_sink: Option<crate::runtime::TaskLogSink>,
    /// The executions' clock (default: the wall clock).
    pub clock: Option<Arc<dyn asl::Clock>>,
}

impl std::fmt::Debug for HarnessOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HarnessOptions")
            .field("bin_dir", &self.bin_dir)
            .field("statemachines_dir", &self.statemachines_dir)
            .finish_non_exhaustive()
    }
}

/// A running local stack.
pub struct Harness {
    /// The emulator.
    pub moto: Moto,
    /// SDK configuration of the security account against the emulator.
    pub security: SdkConfig,
    /// SDK configuration of the member account against the emulator.
    pub member: SdkConfig,
    /// What was seeded.
    pub estate: Estate,
    /// The runtime.
    pub runtime: LocalRuntime,
    /// The endpoint (Step Functions API and approval pages).
    pub server: Server,
    /// The fault proxy between the tasks and the emulator, when faults are injected.
    pub faults: Option<Faults>,
    /// The metrics the tasks wrote (EMF), as CloudWatch would extract them.
    pub metrics: crate::metrics::MetricsTally,
    inbox: tokio::sync::Mutex<Vec<Notification>>,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("endpoint", &self.server.url())
            .finish_non_exhaustive()
    }
}

/// A random secret for the local approval links (64 hex characters from the OS).
fn local_secret() -> Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom for the local approval secret")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl Harness {
    /// Starts moto, seeds the estate, starts the runtime and the endpoint.
    pub async fn start(opts: HarnessOptions) -> Result<Self> {
        Self::start_with(opts, None).await
    }

    /// [`Harness::start`], with the tasks calling AWS through a fault proxy playing `faults`
    /// (the harness's own seeding and reading back still go straight to the emulator).
    pub async fn start_with(opts: HarnessOptions, faults: Option<Scenario>) -> Result<Self> {
        let moto = Moto::start().await?;
        let endpoint = moto.endpoint();
        let security =
            estate::security_config(&endpoint, moto::REGION, moto::SECURITY_ACCOUNT).await?;
        let estate = estate::seed(&security, moto::SECURITY_ACCOUNT)
            .await
            .context("seeding the estate")?;
        let member = estate::member_config(&security).await?;

        let listener = server::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let secret = local_secret()?;
        let mut environment: BTreeMap<String, String> =
            moto::sdk_environment(&endpoint, moto::REGION)
                .into_iter()
                .collect();
        // The tasks act as the security account: the same session as `security`.
        let creds = estate::credentials_of(&security).await?;
        environment.insert("AWS_ACCESS_KEY_ID".into(), creds.access_key_id().into());
        environment.insert(
            "AWS_SECRET_ACCESS_KEY".into(),
            creds.secret_access_key().into(),
        );
        if let Some(token) = creds.session_token() {
            environment.insert("AWS_SESSION_TOKEN".into(), token.into());
        }
        environment.insert("SNS_TOPIC_ARN".into(), estate.topic_arn.clone());
        environment.insert("CLAIMS_TABLE".into(), estate.claims_table.clone());
        environment.insert(
            "FALSE_POSITIVES_TABLE".into(),
            estate.false_positives_table.clone(),
        );
        environment.insert("APPROVAL_SECRET".into(), secret.clone());
        environment.insert("APPROVAL_BASE_URL".into(), url.clone());
        environment.insert(crate::runtime::SFN_ENDPOINT_ENV.into(), url.clone());
        // The security account's policy: the exempt user is exempt here, not by its tag.
        environment.insert(
            "POLICY_JSON".into(),
            estate::local_policy(&estate).to_string(),
        );
        environment.insert(
            "REMEDIATION_ROLE_NAME".into(),
            estate::REMEDIATION_ROLE.into(),
        );
        environment.insert("REMEDIATION_EXTERNAL_ID".into(), estate::EXTERNAL_ID.into());
        environment.insert("PIPELINE_ACCOUNT_ID".into(), moto::SECURITY_ACCOUNT.into());
        environment.insert("RUST_LOG".into(), "info".into());
        // moto has no Security Hub BatchUpdateFindings (it answers 404), so the task reports
        // the update skipped instead of failing every execution's last step; a test that
        // wants the failure path sets SECURITY_HUB_UPDATES=true in extra_env.
        environment.insert("SECURITY_HUB_UPDATES".into(), "false".into());
        environment.extend(opts.extra_env.clone());
        let faults = match faults {
            Some(scenario) => Some(Faults::start(scenario, &endpoint).await?),
            None => None,
        };
        let metrics = crate::metrics::MetricsTally::new();
        let config = RuntimeConfig {
            bin_dir: opts.bin_dir.clone(),
            statemachines_dir: opts.statemachines_dir.clone(),
            region: moto::REGION.into(),
            account_id: moto::SECURITY_ACCOUNT.into(),
            environment,
            approval_timeout_seconds: opts.approval_timeout_seconds,
            clock: opts
                .clock
                .clone()
                .unwrap_or_else(|| Arc::new(asl::RealClock)),
            log_sink: Some({
                let outer = opts.log_sink.clone();
                let tally = metrics.clone();
                Arc::new(move |function: &str, line: &str| {
                    tally.observe(line);
                    if let Some(sink) = &outer {
                        sink(function, line);
                    }
                })
            }),
            faults: faults.clone(),
        };
        let runtime = LocalRuntime::start(config)?;
        let approval = crate::approval::pages(&secret, &security, &url)?;
        let server = server::serve_on(listener, Endpoint::local(&runtime, approval))?;
        Ok(Harness {
            moto,
            security,
            member,
            estate,
            runtime,
            server,
            faults,
            metrics,
            inbox: tokio::sync::Mutex::new(Vec::new()),
        })
    }

    /// Runs one event through `remediate-finding`.
    pub async fn run(&self, label: &str, event: &Value) -> Result<RunSummary> {
        pipeline::run_event(&self.runtime, label, &event.to_string(), None).await
    }

    /// Runs a rollback request through `restore-instance`, as execution `name`, to its end;
    /// returns the execution's ARN and how it ended.
    pub async fn restore(
        &self,
        name: &str,
        request: &Value,
    ) -> Result<(String, asl::ExecutionDescription)> {
        let arn =
            self.runtime
                .start_execution("restore-instance", Some(name), &request.to_string())?;
        let ended = self.runtime.wait(&arn).await?;
        Ok((arn, ended))
    }

    /// Runs an event text as it is (for malformed input).
    pub async fn run_text(&self, label: &str, text: &str) -> Result<RunSummary> {
        pipeline::run_event(&self.runtime, label, text, None).await
    }

    /// Every notification received so far (the inbox is drained into memory).
    pub async fn notifications(&self) -> Result<Vec<Notification>> {
        let fresh = readback::drain_inbox(&self.security, &self.estate.inbox_queue_url).await?;
        let mut all = self.inbox.lock().await;
        all.extend(fresh);
        Ok(all.clone())
    }

    /// The approval request sent for a finding (waits for it to reach the inbox).
    pub async fn approval_request(&self, finding_id: &str) -> Result<Notification> {
        for _ in 0..50 {
            let found = self
                .notifications()
                .await?
                .into_iter()
                .filter(|n| {
                    n.attributes.get("outcome").map(String::as_str) == Some("approval-requested")
                })
                .find(|n| n.message.contains(finding_id));
            if let Some(n) = found {
                return Ok(n);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("no approval request for {finding_id} reached the inbox")
    }

    /// The approve and reject links of the approval request for a finding.
    pub async fn approval_links(&self, finding_id: &str) -> Result<(String, String)> {
        let n = self.approval_request(finding_id).await?;
        crate::scenario::approval_links(&n.message)
            .context("the approval request has no approve/reject links")
    }

    /// What an analyst does: opens the link (a page; nothing is decided), then confirms with
    /// the form. Returns the HTTP status of the page and of the decision.
    pub async fn decide(&self, link: &str, approve: bool, analyst: &str) -> Result<(u16, u16)> {
        let decision = if approve { "approve" } else { "reject" };
        self.decide_as(link, decision, analyst).await
    }

    /// As [`Harness::decide`], with the form's decision named (`approve`, `reject`,
    /// `false-positive`).
    pub async fn decide_as(&self, link: &str, decision: &str, analyst: &str) -> Result<(u16, u16)> {
        let page = crate::http_client::request("GET", link, &[], b"").await?;
        let form = format!(
            "decision={decision}&analyst={}&comment=reviewed+in+the+local+demo",
            analyst.replace('@', "%40")
        );
        let decided = crate::http_client::request(
            "POST",
            link,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            form.as_bytes(),
        )
        .await?;
        Ok((page.status, decided.status))
    }

    /// Waits for an execution to settle and summarizes it again (after a decision).
    pub async fn resume(&self, summary: &RunSummary) -> Result<RunSummary> {
        let arn = summary
            .execution_arn
            .as_deref()
            .context("the run started no execution")?;
        // The decision reaches the execution asynchronously: wait until it moves on.
        for _ in 0..200 {
            if !pipeline::waiting_for_token(&self.runtime, arn)? {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        pipeline::wait_settled(&self.runtime, arn).await?;
        pipeline::summarize(
            &self.runtime,
            &summary.source,
            arn,
            summary.finding_id.clone(),
        )
    }

    /// Stops the task processes, the endpoint, the fault proxy and the emulator.
    pub async fn stop(self) {
        self.runtime.shutdown().await;
        self.server.stop();
        if let Some(faults) = &self.faults {
            faults.stop();
        }
        self.moto.stop().await;
    }
}
