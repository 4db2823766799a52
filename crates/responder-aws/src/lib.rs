//! AWS wiring shared by the tasks that call AWS: the base SDK configuration, cross-account
//! sessions through the remediation role, and the mapping of SDK errors to stable error names.

pub mod clients;
pub mod consistency;
#[cfg(feature = "ec2")]
pub mod ec2;
pub mod errors;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "rds")]
pub mod rds;
#[cfg(feature = "s3")]
pub mod s3;
pub mod session;
#[cfg(any(test, feature = "test-util"))]
pub mod test_util;

pub use clients::{ClientFactory, Clients};
pub use errors::classify_sdk_error;
pub use session::{SessionConfig, SessionProvider};

/// The sessions a task acts through in the member accounts: the role its environment names,
/// under a session policy of exactly `actions` (its `IAM_ACTIONS`). A missing or bad setting
/// fails here, at cold start, naming the variable, rather than on the first finding.
pub async fn task_sessions(
    task: &str,
    actions: &[&str],
) -> Result<SessionProvider, responder_core::TaskError> {
    let session = SessionConfig::from_env(task)?.with_session_policy(actions);
    Ok(SessionProvider::new(load_base_config().await, session))
}

/// Runs one request of a task that contains one named resource (or rolls it back): `act`
/// gets the SDK configuration of the request's account and region (through the remediation
/// role), and its report is logged and counted (`RemediationActions`, and for a containment
/// `TimeToContain` under `route`).
pub async fn run_resource_request<T, F, Fut>(
    req: &responder_core::document::ResourceRequest<T>,
    sessions: &SessionProvider,
    route: &'static str,
    resource: &str,
    act: F,
) -> Result<responder_core::TaskReport, responder_core::TaskError>
where
    T: responder_core::document::RequestTarget,
    F: FnOnce(aws_config::SdkConfig) -> Fut,
    Fut:
        std::future::Future<Output = Result<responder_core::TaskReport, responder_core::TaskError>>,
{
    use tracing::Instrument;
    let span = tracing::info_span!(
        "task",
        task = T::TASK,
        resource = %resource,
        account = %req.account_id,
        restore = req.restore,
    );
    async {
        let conf = sessions
            .config_for(&req.partition, &req.account_id, &req.region)
            .await?;
        let report = act(conf).await?;
        tracing::info!(
            changed = report.changed(),
            dry_run = report.dry_run,
            "{} done",
            if req.restore {
                "restore"
            } else {
                "containment"
            }
        );
        responder_core::emf::actions(&report, &req.finding_type);
        if !req.restore {
            responder_core::emf::contained(&report, route, req.execution_start_time.as_deref());
        }
        Ok(report)
    }
    .instrument(span)
    .await
}

/// Loads the SDK configuration from the standard environment (region, credentials,
/// `AWS_ENDPOINT_URL` and the per-service endpoint variables), with [`https_client`].
pub async fn load_base_config() -> aws_config::SdkConfig {
    base_loader().load().await
}

/// The loader [`load_base_config`] uses: the standard environment, with [`https_client`].
pub fn base_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(https_client())
}

/// The tasks' HTTP client: hyper 1 and rustls over ring. The SDK's default is rustls over
/// aws-lc, which adds several MB to every binary, downloaded and paged in on each cold start;
/// the tasks need TLS 1.2/1.3 to AWS endpoints and nothing aws-lc adds (FIPS is not offered by
/// the default client either). The trust store is the platform's (the Lambda runtime's).
pub fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

#[cfg(test)]
mod tests {
    /// The tasks' configuration carries the ring client, so no task relies on the SDK's
    /// default client (which the task builds leave out).
    #[tokio::test]
    async fn the_base_configuration_carries_the_tasks_https_client() {
        // A region and static credentials, so loading probes nothing.
        let config = super::base_loader()
            .region(aws_config::Region::new("eu-west-1"))
            .credentials_provider(aws_credential_types::Credentials::for_tests())
            .load()
            .await;
        assert!(config.http_client().is_some());
    }
}
