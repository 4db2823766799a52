//! A fault-injecting AWS endpoint: an HTTP proxy between AWS SDK callers and the moto emulator
//! that plays AWS's failure modes, as a scenario file describes them.
//!
//! - throttling and server errors per service and action, each in the service's own error shape
//!   (EC2 XML, query-protocol XML, DynamoDB JSON), so the real SDK classifies and retries them as
//!   it would AWS's;
//! - connections closed without an answer, latency drawn from a distribution;
//! - eventual consistency: what was just created is not found for a while;
//! - quotas moto does not enforce, checked against moto's state;
//! - named failures of chosen calls (the nth call, for some seconds, of a task, on a resource),
//!   also added at run time, and `crash` rules that have the calling Lambda killed;
//! - every call counted by task, service and action, and, when asked, kept in order with its
//!   timing (the journal).
//!
//! ```no_run
//! # async fn demo() -> Result<(), fault_proxy::ProxyError> {
//! use fault_proxy::{FaultProxy, Rule, Scenario};
//! let proxy = FaultProxy::start(Scenario::named("bad-day")?, "http://127.0.0.1:5000").await?;
//! // Point the SDK's AWS_ENDPOINT_URL at proxy.url() ...
//! proxy.add_rule(Rule {
//!     action: Some("ModifyNetworkInterfaceAttribute".into()),
//!     resource: Some("eni-0abc".into()),
//!     nth: Some(2),
//!     error: Some("InternalError".into()),
//!     ..Rule::default()
//! })?;
//! println!("{}", proxy.report());
//! proxy.stop();
//! # Ok(()) }
//! ```

mod attribution;
mod consistency;
mod control;
mod counts;
mod engine;
mod journal;
mod latency;
mod quotas;
mod request;
mod rng;
mod rules;
mod scenario;
mod server;
mod shapes;
mod upstream;
mod xml;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;

pub use consistency::{Kind as ConsistencyKind, KINDS as CONSISTENCY_KINDS};
pub use counts::{Counts, Row, UNATTRIBUTED};
pub use engine::{CrashHook, CrashRequest};
pub use journal::{Call, Journal};
pub use latency::Latency;
pub use request::{AwsRequest, Protocol};
pub use scenario::{
    ActionFaults, CrashKind, QuotaSettings, Quotas, Rule, Scenario, ScenarioError, ServiceFaults,
    NAMED,
};
pub use shapes::{render as render_error, AwsError, Rendered};
pub use upstream::UpstreamError;

use engine::Engine;

/// The session-name prefix of the project's tasks (`guardduty-responder-isolate`).
pub const SESSION_PREFIX: &str = "guardduty-responder-";

/// The proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The scenario is not valid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The upstream URL is not usable.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Only loopback addresses are served: the control API has no authentication.
    #[error("{0} is not a loopback address; the proxy listens on 127.0.0.1 only")]
    NotLoopback(SocketAddr),
}

/// How to start a proxy.
#[derive(Debug, Clone)]
pub struct ProxyOptions {
    /// Where to listen (loopback; port 0 picks a free one).
    pub listen: SocketAddr,
    /// Role session names starting with this name the task after it.
    pub session_prefix: String,
    /// How long a call whose caller is being killed is held before its connection is closed.
    /// The caller's process is normally gone long before; holding the answer keeps the caller's
    /// SDK from seeing a closed connection, and retrying, in the moment before the kill lands.
    pub crash_hold: Duration,
}

impl Default for ProxyOptions {
    fn default() -> Self {
        ProxyOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            session_prefix: SESSION_PREFIX.to_owned(),
            crash_hold: Duration::from_secs(10),
        }
    }
}

/// A running proxy. Its listeners stop when it is stopped or dropped.
pub struct FaultProxy {
    engine: Arc<Engine>,
    addr: SocketAddr,
    loops: Mutex<Vec<JoinHandle<()>>>,
    task_urls: tokio::sync::Mutex<BTreeMap<String, String>>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("url", &self.url())
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port in front of `upstream` (`http://HOST:PORT`), on
    /// the current Tokio runtime.
    pub async fn start(scenario: Scenario, upstream: &str) -> Result<Self, ProxyError> {
        Self::start_with(scenario, upstream, ProxyOptions::default()).await
    }

    /// [`FaultProxy::start`] with options.
    pub async fn start_with(
        scenario: Scenario,
        upstream: &str,
        options: ProxyOptions,
    ) -> Result<Self, ProxyError> {
        scenario.validate()?;
        if !options.listen.ip().is_loopback() {
            return Err(ProxyError::NotLoopback(options.listen));
        }
        let upstream = upstream::Upstream::new(upstream)?;
        let engine = Arc::new(Engine::new(
            scenario,
            upstream,
            &options.session_prefix,
            options.crash_hold,
        ));
        let listener = server::bind(options.listen)
            .await
            .map_err(|source| ProxyError::Bind {
                addr: options.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ProxyError::Bind {
            addr: options.listen,
            source,
        })?;
        let main = server::serve(listener, Arc::clone(&engine), None);
        Ok(FaultProxy {
            engine,
            addr,
            loops: Mutex::new(vec![main]),
            task_urls: tokio::sync::Mutex::new(BTreeMap::new()),
        })
    }

    /// The proxy's URL, for `AWS_ENDPOINT_URL` (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The URL of a listener whose every call is attributed to `task`, whatever credentials it
    /// is signed with (one listener per task, created on first use). Calls in the pipeline's
    /// own account carry the Lambda's own credentials, which no `AssumeRole` through the proxy
    /// names; giving each task its own endpoint attributes them all the same.
    pub async fn task_url(&self, task: &str) -> Result<String, ProxyError> {
        let mut urls = self.task_urls.lock().await;
        if let Some(url) = urls.get(task) {
            return Ok(url.clone());
        }
        let addr = SocketAddr::new(self.addr.ip(), 0);
        let listener = server::bind(addr)
            .await
            .map_err(|source| ProxyError::Bind { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| ProxyError::Bind { addr, source })?;
        let handle = server::serve(listener, Arc::clone(&self.engine), Some(task.to_owned()));
        self.loops
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(handle);
        let url = format!("http://{bound}");
        urls.insert(task.to_owned(), url.clone());
        Ok(url)
    }

    /// The scenario played.
    pub fn scenario(&self) -> &Scenario {
        self.engine.scenario()
    }

    /// The emulator's URL.
    pub fn upstream_url(&self) -> &str {
        self.engine.upstream().url()
    }

    /// Every figure so far.
    pub fn counts(&self) -> Counts {
        self.engine.counts()
    }

    /// The counts as a table, headed by the scenario's name.
    pub fn report(&self) -> String {
        let name = match self.scenario().name.as_str() {
            "" => "(unnamed)",
            n => n,
        };
        format!(
            "fault-proxy scenario {name} (seed {})\n{}",
            self.scenario().seed,
            self.counts().render()
        )
    }

    /// Adds a rule, tried after the scenario's rules and those added before.
    pub fn add_rule(&self, rule: Rule) -> Result<(), ScenarioError> {
        self.engine.add_rule(rule)
    }

    /// Forgets the counts, the journal, the rules added at run time and the open windows.
    pub fn reset(&self) {
        self.engine.reset();
    }

    /// Keeps every call in order from now on, at most `limit` of them ([`FaultProxy::journal`]).
    pub fn keep_journal(&self, limit: usize) {
        self.engine.keep_journal(limit);
    }

    /// The calls kept so far, in order of arrival (empty unless [`FaultProxy::keep_journal`]
    /// was called).
    pub fn journal(&self) -> Journal {
        self.engine.journal()
    }

    /// The instant the journal's times count from (`Call::at_us`).
    pub fn origin(&self) -> std::time::Instant {
        self.engine.origin()
    }

    /// Attributes calls signed with `access_key_id` to `task`.
    pub fn name_key(&self, access_key_id: &str, task: &str) {
        self.engine.name_key(access_key_id, task);
    }

    /// Installs what a `crash` rule calls: it must kill the running invocation of the task
    /// named in the request and resolve to `true` once it did (`false`: nothing to kill).
    pub fn set_crash_hook<F, Fut>(&self, hook: F)
    where
        F: Fn(CrashRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        let hook: CrashHook = Arc::new(move |request| Box::pin(hook(request)));
        self.engine.set_crash_hook(hook);
    }

    /// Stops every listener and closes every connection.
    pub fn stop(&self) {
        for handle in self
            .loops
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            handle.abort();
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop();
    }
}
