//! The errors the proxy answers, each in the exact shape its service sends, so the AWS SDK
//! parses the code and classifies it as it would classify AWS's own answer.
//!
//! - EC2 (its own query protocol): `<Response><Errors><Error><Code/><Message/></Error></Errors>
//!   <RequestID/></Response>`; throttling is `RequestLimitExceeded` with HTTP 503.
//!   <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html>
//! - IAM, STS, SNS, Auto Scaling, ELBv2 (the AWS query protocol): `<ErrorResponse><Error>
//!   <Type>Sender|Receiver</Type><Code/><Message/></Error><RequestId/></ErrorResponse>`;
//!   throttling is `Throttling`, HTTP 400 ("Rate exceeded").
//!   <https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html>
//! - DynamoDB (JSON 1.0): `{"__type":"com.amazonaws.dynamodb.v20120810#Code","message":...}`,
//!   HTTP 400 for throttling (`ThrottlingException`, `ProvisionedThroughputExceededException`),
//!   500 `InternalServerError`, 503 `ServiceUnavailable`.
//!   <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html>
//!
//! The SDK for Rust retries `Throttling`, `ThrottlingException`, `RequestLimitExceeded` and
//! `ProvisionedThroughputExceededException` as throttling errors (`aws-runtime`'s
//! `THROTTLING_ERRORS`) and any 500/502/503/504 answer as a transient error.

use std::fmt::Write as _;

use crate::request::Protocol;

/// An AWS error: its code, HTTP status and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    /// The error code (`Throttling`, `InvalidGroup.NotFound`, ...).
    pub code: String,
    /// The HTTP status.
    pub status: u16,
    /// The message.
    pub message: String,
}

impl AwsError {
    /// An error with this code, status and message.
    pub fn new(code: &str, status: u16, message: impl Into<String>) -> Self {
        AwsError {
            code: code.to_owned(),
            status,
            message: message.into(),
        }
    }
}

/// The throttling error of a service.
pub fn throttling(service: &str) -> AwsError {
    match service {
        "ec2" => AwsError::new("RequestLimitExceeded", 503, "Request limit exceeded."),
        "dynamodb" => AwsError::new(
            "ThrottlingException",
            400,
            "Rate of requests exceeds the allowed throughput.",
        ),
        "lambda" => AwsError::new("TooManyRequestsException", 429, "Rate exceeded"),
        "s3" => AwsError::new("SlowDown", 503, "Please reduce your request rate."),
        _ => AwsError::new("Throttling", 400, "Rate exceeded"),
    }
}

/// DynamoDB's provisioned-throughput throttling (other services: their throttling error).
pub fn provisioned_throughput_exceeded(service: &str) -> AwsError {
    match service {
        "dynamodb" => AwsError::new(
            "ProvisionedThroughputExceededException",
            400,
            "The level of configured provisioned throughput for the table was exceeded. \
             Consider increasing your provisioning level with the UpdateTable API.",
        ),
        other => throttling(other),
    }
}

/// The internal server error of a service (HTTP 500).
pub fn internal_error(service: &str) -> AwsError {
    match service {
        "ec2" => AwsError::new("InternalError", 500, "An internal error has occurred."),
        "dynamodb" => AwsError::new("InternalServerError", 500, "Internal server error"),
        "iam" => AwsError::new(
            "ServiceFailure",
            500,
            "The request processing has failed because of an unknown error, exception or failure.",
        ),
        "sns" => AwsError::new("InternalError", 500, "Internal Error"),
        "lambda" => AwsError::new(
            "ServiceException",
            500,
            "The Lambda service encountered an internal error.",
        ),
        _ => AwsError::new(
            "InternalFailure",
            500,
            "The request processing has failed because of an unknown error, exception or failure.",
        ),
    }
}

/// The "try again later" error of a service (HTTP 503).
pub fn service_unavailable(service: &str) -> AwsError {
    match service {
        "dynamodb" => AwsError::new(
            "ServiceUnavailable",
            503,
            "The service is currently unavailable or busy.",
        ),
        _ => AwsError::new(
            "ServiceUnavailable",
            503,
            "The request has failed due to a temporary failure of the server.",
        ),
    }
}

/// The error a rule names: a logical name (`Throttling`, `ProvisionedThroughputExceeded`,
/// `InternalError`, `ServiceUnavailable`), rendered as that service's own code, or any other
/// code taken literally (status 400 unless given). `status` and `message` override.
pub fn named(service: &str, name: &str, status: Option<u16>, message: Option<&str>) -> AwsError {
    let mut error = match name {
        "Throttling" => throttling(service),
        "ProvisionedThroughputExceeded" | "ProvisionedThroughputExceededException" => {
            provisioned_throughput_exceeded(service)
        }
        "InternalError" => internal_error(service),
        "ServiceUnavailable" => service_unavailable(service),
        other => AwsError::new(other, 400, ""),
    };
    if let Some(status) = status {
        error.status = status;
    }
    if let Some(message) = message {
        error.message = message.to_owned();
    }
    error
}

/// An error answer ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(&'static str, String)>,
    /// Body.
    pub body: String,
}

/// The XML namespace AWS puts on a query-protocol service's answers.
fn query_namespace(service: &str) -> Option<&'static str> {
    Some(match service {
        "iam" => "https://iam.amazonaws.com/doc/2010-05-08/",
        "sts" => "https://sts.amazonaws.com/doc/2011-06-15/",
        "sns" => "http://sns.amazonaws.com/doc/2010-03-31/",
        "autoscaling" => "http://autoscaling.amazonaws.com/doc/2011-01-01/",
        "elasticloadbalancing" => "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
        "rds" => "http://rds.amazonaws.com/doc/2014-10-31/",
        _ => return None,
    })
}

/// The `__type` prefix of a JSON-protocol service.
fn json_prefix(service: &str) -> &'static str {
    match service {
        "dynamodb" => "com.amazonaws.dynamodb.v20120810#",
        _ => "",
    }
}

/// Renders an error in the shape of `protocol` for `service`.
pub fn render(protocol: Protocol, service: &str, error: &AwsError, request_id: &str) -> Rendered {
    let code = xml_escape(&error.code);
    let message = xml_escape(&error.message);
    let id = xml_escape(request_id);
    match protocol {
        Protocol::Ec2Query => Rendered {
            status: error.status,
            headers: vec![("content-type", "text/xml;charset=UTF-8".to_owned())],
            body: format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>{id}</RequestID></Response>"
            ),
        },
        Protocol::AwsQuery => {
            let mut body = String::from("<ErrorResponse");
            if let Some(ns) = query_namespace(service) {
                let _ = write!(body, " xmlns=\"{ns}\"");
            }
            let kind = if error.status >= 500 {
                "Receiver"
            } else {
                "Sender"
            };
            let _ = write!(
                body,
                ">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{code}</Code>\n    <Message>{message}</Message>\n  </Error>\n  <RequestId>{id}</RequestId>\n</ErrorResponse>\n"
            );
            Rendered {
                status: error.status,
                headers: vec![
                    ("content-type", "text/xml".to_owned()),
                    ("x-amzn-requestid", request_id.to_owned()),
                ],
                body,
            }
        }
        // Lambda's REST-JSON errors: the code in `x-amzn-ErrorType`, `Type` User or Service.
        Protocol::RestJson => Rendered {
            status: error.status,
            headers: vec![
                ("content-type", "application/json".to_owned()),
                ("x-amzn-requestid", request_id.to_owned()),
                ("x-amzn-errortype", error.code.clone()),
            ],
            body: serde_json::json!({
                "Type": if error.status >= 500 { "Service" } else { "User" },
                "message": error.message,
            })
            .to_string(),
        },
        // S3's REST-XML errors: a bare `<Error>` with the request id inside.
        Protocol::RestXml => Rendered {
            status: error.status,
            headers: vec![
                ("content-type", "application/xml".to_owned()),
                ("x-amz-request-id", request_id.to_owned()),
            ],
            body: format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{id}</RequestId></Error>"
            ),
        },
        Protocol::AwsJson => Rendered {
            status: error.status,
            headers: vec![
                ("content-type", "application/x-amz-json-1.0".to_owned()),
                ("x-amzn-requestid", request_id.to_owned()),
                ("x-amzn-errortype", error.code.clone()),
            ],
            body: serde_json::json!({
                "__type": format!("{}{}", json_prefix(service), error.code),
                "message": error.message,
            })
            .to_string(),
        },
    }
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};

    const ID: &str = "11111111-2222-4333-8444-555555555555";

    fn check(protocol: Protocol, service: &str, error: AwsError, expected: Expect) {
        let r = render(protocol, service, &error, ID);
        let headers: Vec<String> = r.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        expected.assert_eq(&format!(
            "{}\n{}\n\n{}",
            r.status,
            headers.join("\n"),
            r.body
        ));
    }

    #[test]
    fn s3_throttling() {
        check(
            Protocol::RestXml,
            "s3",
            throttling("s3"),
            expect![[r#"
                503
                content-type: application/xml
                x-amz-request-id: 11111111-2222-4333-8444-555555555555

                <?xml version="1.0" encoding="UTF-8"?>
                <Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>11111111-2222-4333-8444-555555555555</RequestId></Error>"#]],
        );
    }

    #[test]
    fn lambda_throttling() {
        check(
            Protocol::RestJson,
            "lambda",
            throttling("lambda"),
            expect![[r#"
                429
                content-type: application/json
                x-amzn-requestid: 11111111-2222-4333-8444-555555555555
                x-amzn-errortype: TooManyRequestsException

                {"Type":"User","message":"Rate exceeded"}"#]],
        );
    }

    #[test]
    fn ec2_throttling() {
        check(
            Protocol::Ec2Query,
            "ec2",
            throttling("ec2"),
            expect![[r#"
                503
                content-type: text/xml;charset=UTF-8

                <?xml version="1.0" encoding="UTF-8"?>
                <Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>11111111-2222-4333-8444-555555555555</RequestID></Response>"#]],
        );
    }

    #[test]
    fn ec2_server_errors() {
        check(
            Protocol::Ec2Query,
            "ec2",
            internal_error("ec2"),
            expect![[r#"
                500
                content-type: text/xml;charset=UTF-8

                <?xml version="1.0" encoding="UTF-8"?>
                <Response><Errors><Error><Code>InternalError</Code><Message>An internal error has occurred.</Message></Error></Errors><RequestID>11111111-2222-4333-8444-555555555555</RequestID></Response>"#]],
        );
        check(
            Protocol::Ec2Query,
            "ec2",
            service_unavailable("ec2"),
            expect![[r#"
                503
                content-type: text/xml;charset=UTF-8

                <?xml version="1.0" encoding="UTF-8"?>
                <Response><Errors><Error><Code>ServiceUnavailable</Code><Message>The request has failed due to a temporary failure of the server.</Message></Error></Errors><RequestID>11111111-2222-4333-8444-555555555555</RequestID></Response>"#]],
        );
    }

    #[test]
    fn query_protocol_throttling() {
        check(
            Protocol::AwsQuery,
            "iam",
            throttling("iam"),
            expect![[r#"
                400
                content-type: text/xml
                x-amzn-requestid: 11111111-2222-4333-8444-555555555555

                <ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
                  <Error>
                    <Type>Sender</Type>
                    <Code>Throttling</Code>
                    <Message>Rate exceeded</Message>
                  </Error>
                  <RequestId>11111111-2222-4333-8444-555555555555</RequestId>
                </ErrorResponse>
            "#]],
        );
    }

    #[test]
    fn query_protocol_server_error_is_the_receivers_fault() {
        check(
            Protocol::AwsQuery,
            "autoscaling",
            internal_error("autoscaling"),
            expect![[r#"
                500
                content-type: text/xml
                x-amzn-requestid: 11111111-2222-4333-8444-555555555555

                <ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">
                  <Error>
                    <Type>Receiver</Type>
                    <Code>InternalFailure</Code>
                    <Message>The request processing has failed because of an unknown error, exception or failure.</Message>
                  </Error>
                  <RequestId>11111111-2222-4333-8444-555555555555</RequestId>
                </ErrorResponse>
            "#]],
        );
    }

    #[test]
    fn dynamodb_throttling() {
        check(
            Protocol::AwsJson,
            "dynamodb",
            throttling("dynamodb"),
            expect![[r#"
                400
                content-type: application/x-amz-json-1.0
                x-amzn-requestid: 11111111-2222-4333-8444-555555555555
                x-amzn-errortype: ThrottlingException

                {"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#]],
        );
        check(
            Protocol::AwsJson,
            "dynamodb",
            named("dynamodb", "ProvisionedThroughputExceeded", None, None),
            expect![[r#"
                400
                content-type: application/x-amz-json-1.0
                x-amzn-requestid: 11111111-2222-4333-8444-555555555555
                x-amzn-errortype: ProvisionedThroughputExceededException

                {"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."}"#]],
        );
    }

    #[test]
    fn named_errors_map_logical_names_per_service_and_keep_literal_codes() {
        assert_eq!(
            named("iam", "InternalError", None, None).code,
            "ServiceFailure"
        );
        assert_eq!(
            named("sts", "InternalError", None, None).code,
            "InternalFailure"
        );
        assert_eq!(
            named("dynamodb", "InternalError", None, None).code,
            "InternalServerError"
        );
        assert_eq!(named("sns", "Throttling", None, None).code, "Throttling");
        let literal = named("ec2", "IncorrectState", Some(409), Some("busy"));
        assert_eq!(literal, AwsError::new("IncorrectState", 409, "busy"));
        assert_eq!(named("ec2", "Custom", None, None).status, 400);
    }

    #[test]
    fn text_is_escaped() {
        let r = render(
            Protocol::Ec2Query,
            "ec2",
            &AwsError::new("X", 400, "a <b> & 'c'"),
            ID,
        );
        assert!(r
            .body
            .contains("<Message>a &lt;b&gt; &amp; &apos;c&apos;</Message>"));
    }
}
