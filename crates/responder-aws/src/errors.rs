//! Maps AWS SDK errors to the stable error names of `responder_core::names`.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use responder_core::{names, TaskError};

/// Error codes AWS uses for throttling, across services.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    "BandwidthLimitExceeded",
];

const ACCESS_DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    "AuthFailure",
    "InvalidClientTokenId",
    "ExpiredToken",
];

const NOT_FOUND_CODES: &[&str] = &[
    "NoSuchBucket",
    "NoSuchEntity",
    "InvalidInstanceID.NotFound",
    "InvalidInstanceID.Malformed",
    "InvalidNetworkInterfaceID.NotFound",
    "InvalidGroup.NotFound",
    "InvalidVolume.NotFound",
    "InvalidSnapshot.NotFound",
    "DBInstanceNotFound",
    "DBClusterNotFoundFault",
    "ValidationError",
];

const SNAPSHOT_LIMIT_CODES: &[&str] = &[
    "SnapshotLimitExceeded",
    "SnapshotCreationPerVolumeRateExceeded",
    "ConcurrentSnapshotLimitExceeded",
    "SnapshotQuotaExceeded",
    "ResourceLimitExceeded",
];

/// The error code of an SDK error, if the service returned one.
pub fn error_code<E, R>(err: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(se) => se.err().code(),
        _ => None,
    }
}

/// Whether an SDK error is EC2's `DryRunOperation` answer ("the request would have succeeded").
pub fn is_dry_run_success<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    error_code(err) == Some("DryRunOperation")
}

/// Classifies an SDK error under a stable name; `what` says which call failed.
pub fn classify_sdk_error<E, R>(what: &str, err: &SdkError<E, R>) -> TaskError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let (name, detail) = match err {
        SdkError::ServiceError(se) => {
            let e = se.err();
            let code = e.code().unwrap_or("Unknown");
            let message = e.message().unwrap_or("");
            let name = if THROTTLING_CODES.contains(&code) {
                names::REMEDIATION_THROTTLED
            } else if SNAPSHOT_LIMIT_CODES.contains(&code) {
                names::SNAPSHOT_LIMIT_EXCEEDED
            } else if ACCESS_DENIED_CODES.contains(&code) {
                names::REMEDIATION_ACCESS_DENIED
            } else if NOT_FOUND_CODES.contains(&code)
                || code.ends_with(".NotFound")
                || code.ends_with("NotFoundException")
            {
                names::REMEDIATION_TARGET_NOT_FOUND
            } else if code.starts_with("InternalError")
                || code == "InternalFailure"
                || code == "ServiceUnavailable"
                || code == "Unavailable"
                || code == "ServiceFailure"
            {
                names::REMEDIATION_TRANSIENT
            } else {
                names::REMEDIATION_FAILED
            };
            (name, format!("{code}: {message}"))
        }
        SdkError::TimeoutError(_) => (names::REMEDIATION_TRANSIENT, "timed out".to_string()),
        SdkError::DispatchFailure(d) => (
            names::REMEDIATION_TRANSIENT,
            format!("could not reach AWS: {d:?}"),
        ),
        SdkError::ResponseError(r) => (
            names::REMEDIATION_TRANSIENT,
            format!("unreadable response: {r:?}"),
        ),
        other => (names::REMEDIATION_FAILED, format!("{other}")),
    };
    let task_error = TaskError::new(name, format!("{what} failed: {detail}"));
    match error_code(err) {
        Some(code) => task_error.with_aws_code(code),
        None => task_error,
    }
}
