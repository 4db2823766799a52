//! AWS's failure modes in local runs: the fault proxy (`local/fault-proxy`) between the task
//! binaries and the emulator, and its crash rules wired to the Lambda host.
//!
//! Each task gets its own endpoint on the proxy (`AWS_ENDPOINT_URL` of that function only), so
//! every call is attributed to the task that made it, in the member accounts and in the
//! security account alike; the proxy also learns the member sessions from their `AssumeRole`
//! calls. What the harness itself does (seeding, reading back) goes straight to the emulator:
//! it is neither counted nor faulted, so the checks read the truth.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use fault_proxy::{CrashKind, FaultProxy, Scenario};
use lambda_host::{Crash, LambdaHost};

use crate::runtime::FUNCTIONS;

/// A running proxy and the endpoint of each function.
#[derive(Clone)]
pub struct Faults {
    /// The proxy.
    pub proxy: Arc<FaultProxy>,
    /// `AWS_ENDPOINT_URL` of each function, by function name.
    pub endpoints: BTreeMap<String, String>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults")
            .field("proxy", &self.proxy.url())
            .field("scenario", &self.proxy.scenario().name)
            .finish()
    }
}

impl Faults {
    /// Starts the proxy playing `scenario` in front of `upstream`, with one endpoint per
    /// function.
    pub async fn start(scenario: Scenario, upstream: &str) -> Result<Self> {
        if !upstream.starts_with("http://") {
            bail!(
                "faults are injected in front of an emulator: the endpoint must be http://HOST:PORT (got {upstream:?})"
            );
        }
        let proxy = FaultProxy::start(scenario, upstream)
            .await
            .context("starting the fault proxy")?;
        let mut endpoints = BTreeMap::new();
        for (name, _, _) in FUNCTIONS {
            endpoints.insert((*name).to_owned(), proxy.task_url(name).await?);
        }
        Ok(Faults {
            proxy: Arc::new(proxy),
            endpoints,
        })
    }

    /// A scenario by file or shipped name, then [`Faults::start`].
    pub async fn load(scenario: &str, upstream: &str) -> Result<Self> {
        let scenario = Scenario::load(scenario)?;
        Self::start(scenario, upstream).await
    }

    /// Has the proxy's `crash` rules kill the running invocation of the calling task through
    /// the Lambda host.
    pub fn connect_crashes(&self, host: Arc<LambdaHost>) {
        self.proxy.set_crash_hook(move |request| {
            let host = Arc::clone(&host);
            async move {
                let Some(function) = request.task else {
                    return false;
                };
                let crash = match request.kind {
                    CrashKind::Timeout => Crash::Timeout,
                    CrashKind::OutOfMemory => Crash::OutOfMemory,
                    CrashKind::Exit => Crash::Exit,
                };
                match host.crash_running(&function, crash) {
                    Ok(n) => n > 0,
                    Err(e) => {
                        tracing::warn!(function = %function, error = %e, "crash rule: no such function");
                        false
                    }
                }
            }
        });
    }

    /// What was injected, as a table.
    pub fn report(&self) -> String {
        self.proxy.report()
    }

    /// Stops the proxy.
    pub fn stop(&self) {
        self.proxy.stop();
    }
}
