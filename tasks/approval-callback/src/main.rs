//! The `approval-callback` Lambda: `lambda_http` glue over the library's handler, for a Lambda
//! function URL or API Gateway (REST or HTTP API).

use std::convert::Infallible;
use std::sync::Arc;

use approval_callback::aws::SfnCallbacks;
use approval_callback::{approval_link::Signer, handle, Deps};
use lambda_http::{service_fn, Request};
use responder_core::lambda::init_tracing;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_tracing();
    let signer = Signer::from_env()?;
    let sdk = responder_aws::load_base_config().await;
    let callbacks = SfnCallbacks::new(aws_sdk_sfn::Client::new(&sdk));
    let deps = Deps::new(signer, Arc::new(callbacks));
    let deps = &deps;
    lambda_http::run(service_fn(move |req: Request| async move {
        let emf = responder_core::emf::Emf::init();
        let response = handle(&req, deps).await;
        if let Some(m) = emf {
            m.flush(None, None);
        }
        Ok::<_, Infallible>(response)
    }))
    .await
}
