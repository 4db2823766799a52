//! Adapter tests: the Lambda calls and their answers, against mocked SDK clients.

use aws_sdk_lambda::operation::get_function::{GetFunctionError, GetFunctionOutput};
use aws_sdk_lambda::operation::get_function_concurrency::GetFunctionConcurrencyOutput;
use aws_sdk_lambda::operation::put_function_concurrency::{
    PutFunctionConcurrencyError, PutFunctionConcurrencyOutput,
};
use aws_sdk_lambda::types::{FunctionCodeLocation, FunctionConfiguration, Runtime};
use aws_sdk_lambda::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use responder_core::names;

use super::*;

const ARN: &str = "arn:aws:lambda:eu-west-1:222222222222:function:thumbnailer";

fn error(code: &'static str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(code).build()
}

fn no_retries(b: aws_sdk_lambda::config::Builder) -> aws_sdk_lambda::config::Builder {
    b.retry_config(aws_smithy_types::retry::RetryConfig::disabled())
}

/// The configuration, the tags and the reserved concurrency come from two calls made at once;
/// the evidence names the code by its hash.
#[tokio::test]
async fn a_function_is_read_with_its_reserved_concurrency_and_evidence() {
    let get = mock!(Client::get_function)
        .match_requests(|r| r.function_name() == Some("thumbnailer"))
        .then_output(|| {
            GetFunctionOutput::builder()
                .configuration(
                    FunctionConfiguration::builder()
                        .function_arn(ARN)
                        .code_sha256("c0de")
                        .revision_id("rev-1")
                        .runtime(Runtime::Python312)
                        .role("arn:aws:iam::222222222222:role/thumbnailer-role")
                        .build(),
                )
                .code(
                    FunctionCodeLocation::builder()
                        .location("https://x")
                        .build(),
                )
                .tags("team", "media")
                .build()
        });
    let reserved = mock!(Client::get_function_concurrency).then_output(|| {
        GetFunctionConcurrencyOutput::builder()
            .reserved_concurrent_executions(5)
            .build()
    });
    let fx = LambdaFunctions::new(mock_client!(
        aws_sdk_lambda,
        RuleMode::MatchAny,
        [&get, &reserved]
    ));
    let f = fx
        .function("thumbnailer")
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(f.arn, ARN);
    assert_eq!(f.reserved_concurrency, Some(5));
    assert_eq!(f.tags, [("team".to_string(), "media".to_string())]);
    assert_eq!(f.evidence["codeSha256"], "c0de");
    assert_eq!(f.evidence["runtime"], "python3.12");
}

/// A missing function is `None`, not an error; throttling and access denied keep their
/// stable names, so the state machine retries the first and fails loudly on the second.
#[tokio::test]
async fn errors_map_to_stable_names() {
    let missing = mock!(Client::get_function)
        .then_error(|| GetFunctionError::generic(error("ResourceNotFoundException")));
    let reserved = mock!(Client::get_function_concurrency)
        .then_output(|| GetFunctionConcurrencyOutput::builder().build());
    let fx = LambdaFunctions::new(mock_client!(
        aws_sdk_lambda,
        RuleMode::MatchAny,
        [&missing, &reserved]
    ));
    assert_eq!(fx.function("gone").await.expect("read"), None);

    for (code, name) in [
        ("TooManyRequestsException", names::REMEDIATION_THROTTLED),
        ("AccessDeniedException", names::REMEDIATION_ACCESS_DENIED),
    ] {
        let put = mock!(Client::put_function_concurrency)
            .then_error(move || PutFunctionConcurrencyError::generic(error(code)));
        let fx = LambdaFunctions::new(mock_client!(
            aws_sdk_lambda,
            RuleMode::Sequential,
            [&put],
            no_retries
        ));
        let e = fx
            .set_reserved_concurrency("thumbnailer", 0)
            .await
            .expect_err(code);
        assert_eq!(e.name, name, "{code}");
    }
    let ok = mock!(Client::put_function_concurrency)
        .match_requests(|r| r.reserved_concurrent_executions() == Some(0))
        .then_output(|| PutFunctionConcurrencyOutput::builder().build());
    let fx = LambdaFunctions::new(mock_client!(aws_sdk_lambda, [&ok]));
    fx.set_reserved_concurrency("thumbnailer", 0)
        .await
        .expect("set");
    assert_eq!(ok.num_calls(), 1);
}
