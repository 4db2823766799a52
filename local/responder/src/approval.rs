//! The approval pages, served locally by the same handler code as the approval-callback
//! Lambda. Decisions go to the Step Functions endpoint through `aws-sdk-sfn`, exactly the path
//! they take in AWS.

use std::sync::Arc;

use anyhow::{Context, Result};
use approval_callback::aws::SfnCallbacks;
use approval_callback::Deps;
use approval_link::{Secret, Signer};
use aws_config::SdkConfig;

use crate::server::ApprovalHandler;

/// The handler for `/approval`: verifies links with `secret` and answers task tokens through
/// the Step Functions API at `sfn_endpoint`.
pub fn pages(secret: &str, base: &SdkConfig, sfn_endpoint: &str) -> Result<ApprovalHandler> {
    let signer = Signer::new(
        Secret::new(secret.as_bytes().to_vec())
            .map_err(|e| anyhow::anyhow!("APPROVAL_SECRET: {e}"))?,
    );
    let sfn_config = aws_sdk_sfn::config::Builder::from(base)
        .endpoint_url(sfn_endpoint)
        .build();
    let client = aws_sdk_sfn::Client::from_conf(sfn_config);
    let deps = Arc::new(Deps::new(signer, Arc::new(SfnCallbacks::new(client))));
    Ok(Arc::new(move |req| {
        let deps = deps.clone();
        Box::pin(async move { approval_callback::handle(&req, &deps).await })
    }))
}

/// The SDK configuration for answering tokens from the runtime's own environment.
pub async fn sdk_config() -> Result<SdkConfig> {
    Ok(aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await)
}

/// Reads the approval secret from the environment, with a clear message.
pub fn secret_from_env() -> Result<String> {
    std::env::var("APPROVAL_SECRET")
        .ok()
        .filter(|s| !s.is_empty())
        .context("APPROVAL_SECRET is not set (at least 32 bytes; the same value the await-approval task signs with)")
}
