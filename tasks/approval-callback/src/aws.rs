//! The Step Functions adapter of [`TaskCallbacks`].

use approval_link::TaskToken;
use async_trait::async_trait;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::{CallbackError, TaskCallbacks};

/// The IAM actions of the calls below: the task's least privilege.
pub const IAM_ACTIONS: &[&str] = &["states:SendTaskSuccess", "states:SendTaskFailure"];

/// Answers task tokens through the Step Functions API (AWS, or a local endpoint).
#[derive(Debug, Clone)]
pub struct SfnCallbacks {
    client: aws_sdk_sfn::Client,
}

impl SfnCallbacks {
    /// An adapter over a client.
    pub fn new(client: aws_sdk_sfn::Client) -> Self {
        SfnCallbacks { client }
    }
}

#[async_trait]
impl TaskCallbacks for SfnCallbacks {
    async fn send_task_success(
        &self,
        token: &TaskToken,
        output: &str,
    ) -> Result<(), CallbackError> {
        self.client
            .send_task_success()
            .task_token(token.expose())
            .output(output)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(&e))
    }

    async fn send_task_failure(
        &self,
        token: &TaskToken,
        error: &str,
        cause: &str,
    ) -> Result<(), CallbackError> {
        self.client
            .send_task_failure()
            .task_token(token.expose())
            .error(error)
            .cause(cause)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(&e))
    }
}

/// Maps an SDK error to a [`CallbackError`]. Only error codes are kept: the service's messages
/// may quote the task token, and these errors are logged.
pub fn classify<E>(err: &SdkError<E, HttpResponse>) -> CallbackError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = responder_aws::errors::error_code(err).unwrap_or("");
    match code {
        "TaskTimedOut" => return CallbackError::TaskTimedOut,
        "InvalidToken" => return CallbackError::InvalidToken,
        "TaskDoesNotExist" => return CallbackError::TaskDoesNotExist,
        _ => {}
    }
    let server_error =
        matches!(err, SdkError::ServiceError(se) if se.raw().status().is_server_error());
    let retryable = responder_aws::classify_sdk_error("states:SendTask", err).is_retryable()
        || code.contains("Throttl")
        || server_error;
    let what = if code.is_empty() {
        match err {
            SdkError::TimeoutError(_) => "timeout",
            SdkError::DispatchFailure(_) => "connection failure",
            SdkError::ResponseError(_) => "unreadable response",
            _ => "unknown error",
        }
        .to_string()
    } else {
        code.to_string()
    };
    if retryable {
        CallbackError::Unavailable(what)
    } else {
        CallbackError::Failed(what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sfn::operation::send_task_failure::{SendTaskFailureError, SendTaskFailureOutput};
    use aws_sdk_sfn::operation::send_task_success::{SendTaskSuccessError, SendTaskSuccessOutput};
    use aws_sdk_sfn::types::error::{InvalidToken, TaskDoesNotExist, TaskTimedOut};
    use aws_sdk_sfn::Client;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};
    use aws_smithy_types::error::ErrorMetadata;

    const TOKEN: &str = "AQCEAAAAKgAAAAMAAAAA-raw-token";

    fn meta(code: &str) -> ErrorMetadata {
        ErrorMetadata::builder()
            .code(code)
            .message(format!("Invalid Token: '{TOKEN}'"))
            .build()
    }

    #[tokio::test]
    async fn success_sends_the_token_and_output() {
        let rule = mock!(Client::send_task_success)
            .match_requests(|r| {
                r.task_token() == Some(TOKEN) && r.output() == Some("{\"approved\":true}")
            })
            .then_output(|| SendTaskSuccessOutput::builder().build());
        let sfn = SfnCallbacks::new(mock_client!(aws_sdk_sfn, [&rule]));
        assert_eq!(
            sfn.send_task_success(&TaskToken::new(TOKEN), "{\"approved\":true}")
                .await,
            Ok(())
        );
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn failure_sends_the_error_name_and_cause() {
        let rule = mock!(Client::send_task_failure)
            .match_requests(|r| {
                r.task_token() == Some(TOKEN)
                    && r.error() == Some("Approval.Rejected")
                    && r.cause() == Some("Rejected by alice")
            })
            .then_output(|| SendTaskFailureOutput::builder().build());
        let sfn = SfnCallbacks::new(mock_client!(aws_sdk_sfn, [&rule]));
        assert_eq!(
            sfn.send_task_failure(
                &TaskToken::new(TOKEN),
                "Approval.Rejected",
                "Rejected by alice"
            )
            .await,
            Ok(())
        );
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn step_functions_error_codes_map_to_callback_errors() {
        let timed_out = mock!(Client::send_task_success).then_error(|| {
            SendTaskSuccessError::TaskTimedOut(
                TaskTimedOut::builder().meta(meta("TaskTimedOut")).build(),
            )
        });
        let invalid = mock!(Client::send_task_success).then_error(|| {
            SendTaskSuccessError::InvalidToken(
                InvalidToken::builder().meta(meta("InvalidToken")).build(),
            )
        });
        let missing = mock!(Client::send_task_failure).then_error(|| {
            SendTaskFailureError::TaskDoesNotExist(
                TaskDoesNotExist::builder()
                    .meta(meta("TaskDoesNotExist"))
                    .build(),
            )
        });
        let throttled = mock!(Client::send_task_success)
            .then_error(|| SendTaskSuccessError::generic(meta("ThrottlingException")));
        let unavailable = mock!(Client::send_task_success).then_http_response(|| {
            HttpResponse::new(
                http::StatusCode::SERVICE_UNAVAILABLE
                    .as_u16()
                    .try_into()
                    .expect("status"),
                aws_smithy_types::body::SdkBody::from("{\"__type\":\"ServiceUnavailable\"}"),
            )
        });
        let denied = mock!(Client::send_task_success)
            .then_error(|| SendTaskSuccessError::generic(meta("AccessDeniedException")));
        let client = mock_client!(
            aws_sdk_sfn,
            RuleMode::Sequential,
            [
                &timed_out,
                &invalid,
                &missing,
                &throttled,
                &unavailable,
                &denied
            ]
        );
        let sfn = SfnCallbacks::new(client);
        let token = TaskToken::new(TOKEN);
        let mut got = vec![
            sfn.send_task_success(&token, "{}").await,
            sfn.send_task_success(&token, "{}").await,
            sfn.send_task_failure(&token, "Approval.Rejected", "c")
                .await,
        ];
        got.push(sfn.send_task_success(&token, "{}").await);
        got.push(sfn.send_task_success(&token, "{}").await);
        got.push(sfn.send_task_success(&token, "{}").await);
        assert_eq!(got[0], Err(CallbackError::TaskTimedOut));
        assert_eq!(got[1], Err(CallbackError::InvalidToken));
        assert_eq!(got[2], Err(CallbackError::TaskDoesNotExist));
        assert!(
            matches!(&got[3], Err(CallbackError::Unavailable(c)) if c == "ThrottlingException"),
            "{:?}",
            got[3]
        );
        assert!(
            matches!(&got[4], Err(CallbackError::Unavailable(_))),
            "{:?}",
            got[4]
        );
        assert_eq!(
            got[5],
            Err(CallbackError::Failed("AccessDeniedException".into()))
        );
        // The service's message (which may quote the token) is never kept.
        for g in &got {
            assert!(!format!("{g:?}").contains(TOKEN));
        }
    }
}
