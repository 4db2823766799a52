//! AWS wiring shared by the tasks that call AWS: the base SDK configuration, cross-account
//! sessions through the remediation role, and the mapping of SDK errors to stable error names.

pub mod clients;
pub mod consistency;
#[cfg(feature = "ec2")]
pub mod ec2;
pub mod errors;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "s3")]
pub mod s3;
pub mod session;
#[cfg(any(test, feature = "test-util"))]
pub mod test_util;

pub use clients::{ClientFactory, Clients};
pub use errors::classify_sdk_error;
pub use session::{SessionConfig, SessionProvider};

/// Loads the SDK configuration from the standard environment (region, credentials,
/// `AWS_ENDPOINT_URL` and the per-service endpoint variables).
pub async fn load_base_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}
