//! Per-finding SDK clients.
//!
//! Every task that acts on a finding's resources needs a client of its service in the
//! finding's account and region, through the remediation role for a member account.
//! [`Clients`] pairs the [`SessionProvider`] with the function that builds the client from the
//! session's configuration: the SDK's `Client::new` in production, a client with mock
//! interceptors in tests.

use std::sync::Arc;

use aws_config::SdkConfig;
use responder_core::{Finding, TaskError};

use crate::SessionProvider;

/// Builds a service client from an SDK configuration.
pub type ClientFactory<C> = Box<dyn Fn(&SdkConfig) -> C + Send + Sync>;

/// Hands out clients of type `C` for a finding's account and region.
pub struct Clients<C> {
    sessions: Arc<SessionProvider>,
    build: ClientFactory<C>,
}

impl<C> std::fmt::Debug for Clients<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clients")
            .field("sessions", &self.sessions)
            .finish_non_exhaustive()
    }
}

impl<C> Clients<C> {
    /// Clients built by `build` from the configurations `sessions` hands out. `sessions` may be
    /// shared (an `Arc`) between the clients of several services, so they share one credential
    /// cache.
    pub fn new(
        sessions: impl Into<Arc<SessionProvider>>,
        build: impl Fn(&SdkConfig) -> C + Send + Sync + 'static,
    ) -> Self {
        Clients {
            sessions: sessions.into(),
            build: Box::new(build),
        }
    }

    /// The client acting in the finding's account (through the remediation role for a member
    /// account) and region.
    pub async fn for_finding(&self, f: &Finding) -> Result<C, TaskError> {
        self.for_account(&f.partition, &f.account_id, &f.region)
            .await
    }

    /// The client acting in `account` of `partition`, in `region`.
    pub async fn for_account(
        &self,
        partition: &str,
        account: &str,
        region: &str,
    ) -> Result<C, TaskError> {
        let config = self.sessions.config_for(partition, account, region).await?;
        Ok((self.build)(&config))
    }
}
