//! Stable error names: the contract between the tasks and the state machines.
//!
//! A task reports a failure as a Lambda error whose `errorType` is one of these names; the
//! `Retry` and `Catch` blocks in `statemachines/*.asl.json` match on them. Renaming one is a
//! breaking change to the state machines, so every name lives here once, as a variant of
//! [`ErrorName`]: a task can only raise a listed name, and a test checks both ways that the
//! state machines and this list agree.

use std::fmt;

/// A stable error name. Tasks construct errors only from these, so a name the state machines
/// do not know cannot be raised by a typo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorName {
    /// The event is not a well-formed GuardDuty finding (missing `detail.id`, `type`, `resource`...).
    FindingInvalid,
    /// The event is well formed but not a GuardDuty finding this pipeline accepts (another
    /// source, or a copy forwarded by Security Hub).
    FindingUnsupported,
    /// The event is larger than the pipeline accepts.
    FindingTooLarge,
    /// The finding comes from a region outside the deployment's allowed regions
    /// (`ALLOWED_REGIONS`): the pipeline refuses to act there and tells the team.
    FindingRegionNotAllowed,
    /// A task received an input document without the fields it needs.
    InputInvalid,
    /// The task's configuration (environment or policy file) is missing or invalid.
    ConfigInvalid,
    /// The cross-account remediation role could not be assumed.
    SessionAssumeRoleFailed,
    /// AWS throttled a call. Retryable.
    RemediationThrottled,
    /// A transient AWS failure (5xx, timeout, connection reset). Retryable.
    RemediationTransient,
    /// The role lacks a permission the action needs.
    RemediationAccessDenied,
    /// The instance, interface, user, role or key named by the finding does not exist.
    RemediationTargetNotFound,
    /// The change was made but reading it back did not show the contained state.
    RemediationVerificationFailed,
    /// Any other AWS error during a remediation call.
    RemediationFailed,
    /// A network ACL the contained instance's traffic crosses has no room for the per-address
    /// deny entries (its entry quota, or no free rule number below its first allow entry).
    /// Reported after every other containment step ran; the interfaces are quarantined.
    RemediationNetworkAclFull,
    /// A deny on IAM credentials could not be attached after their key was deactivated, or
    /// another step of credential containment stopped halfway: sessions already minted may
    /// still work. Never retried silently; always notified.
    RemediationIncomplete,
    /// The account's snapshot limit (or concurrent snapshot limit) was reached. Retryable.
    SnapshotLimitExceeded,
    /// A rollback was asked for but no record of the original state exists.
    RestoreNoRecord,
    /// An analyst rejected a containment request.
    ApprovalRejected,
    /// An analyst rejected a containment request and marked the finding as a false positive:
    /// the state machine records the mark in the false-positive ledger, then goes on as for a
    /// rejection.
    ApprovalFalsePositive,
    /// A notification could not be published.
    NotifyFailed,
    /// Security Hub has no copy of the finding (yet): GuardDuty sends a new finding to
    /// Security Hub on its own schedule, usually within five minutes, so a finding contained
    /// in seconds can be ahead of its copy. Retried with long intervals.
    SecurityHubFindingNotFound,
    /// The Security Hub copy of the finding could not be updated, for a reason a retry does
    /// not fix (Security Hub not enabled, no permission, an update Security Hub refused).
    SecurityHubUpdateFailed,
}

impl ErrorName {
    /// Every name, in the order of the enum.
    pub const ALL: [ErrorName; 22] = [
        ErrorName::FindingInvalid,
        ErrorName::FindingUnsupported,
        ErrorName::FindingTooLarge,
        ErrorName::FindingRegionNotAllowed,
        ErrorName::InputInvalid,
        ErrorName::ConfigInvalid,
        ErrorName::SessionAssumeRoleFailed,
        ErrorName::RemediationThrottled,
        ErrorName::RemediationTransient,
        ErrorName::RemediationAccessDenied,
        ErrorName::RemediationTargetNotFound,
        ErrorName::RemediationVerificationFailed,
        ErrorName::RemediationFailed,
        ErrorName::RemediationNetworkAclFull,
        ErrorName::RemediationIncomplete,
        ErrorName::SnapshotLimitExceeded,
        ErrorName::RestoreNoRecord,
        ErrorName::ApprovalRejected,
        ErrorName::ApprovalFalsePositive,
        ErrorName::NotifyFailed,
        ErrorName::SecurityHubFindingNotFound,
        ErrorName::SecurityHubUpdateFailed,
    ];

    /// The name as reported in the Lambda `errorType` and matched in the state machines.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorName::FindingInvalid => "Finding.Invalid",
            ErrorName::FindingUnsupported => "Finding.Unsupported",
            ErrorName::FindingTooLarge => "Finding.TooLarge",
            ErrorName::FindingRegionNotAllowed => "Finding.RegionNotAllowed",
            ErrorName::InputInvalid => "Input.Invalid",
            ErrorName::ConfigInvalid => "Config.Invalid",
            ErrorName::SessionAssumeRoleFailed => "Session.AssumeRoleFailed",
            ErrorName::RemediationThrottled => "Remediation.Throttled",
            ErrorName::RemediationTransient => "Remediation.Transient",
            ErrorName::RemediationAccessDenied => "Remediation.AccessDenied",
            ErrorName::RemediationTargetNotFound => "Remediation.TargetNotFound",
            ErrorName::RemediationVerificationFailed => "Remediation.VerificationFailed",
            ErrorName::RemediationFailed => "Remediation.Failed",
            ErrorName::RemediationNetworkAclFull => "Remediation.NetworkAclFull",
            ErrorName::RemediationIncomplete => "Remediation.Incomplete",
            ErrorName::SnapshotLimitExceeded => "Snapshot.LimitExceeded",
            ErrorName::RestoreNoRecord => "Restore.NoRecord",
            ErrorName::ApprovalRejected => "Approval.Rejected",
            ErrorName::ApprovalFalsePositive => "Approval.FalsePositive",
            ErrorName::NotifyFailed => "Notify.Failed",
            ErrorName::SecurityHubFindingNotFound => "SecurityHub.FindingNotFound",
            ErrorName::SecurityHubUpdateFailed => "SecurityHub.UpdateFailed",
        }
    }

    /// The name with this text, if there is one.
    pub fn parse(text: &str) -> Option<ErrorName> {
        ErrorName::ALL.into_iter().find(|n| n.as_str() == text)
    }
}

impl fmt::Display for ErrorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for ErrorName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ErrorName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl serde::Serialize for ErrorName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The error names, as constants of [`ErrorName`].
pub mod names {
    use super::ErrorName;

    /// `Finding.Invalid`.
    pub const FINDING_INVALID: ErrorName = ErrorName::FindingInvalid;
    /// `Finding.Unsupported`.
    pub const FINDING_UNSUPPORTED: ErrorName = ErrorName::FindingUnsupported;
    /// `Finding.TooLarge`.
    pub const FINDING_TOO_LARGE: ErrorName = ErrorName::FindingTooLarge;
    /// `Finding.RegionNotAllowed`.
    pub const FINDING_REGION_NOT_ALLOWED: ErrorName = ErrorName::FindingRegionNotAllowed;
    /// `Input.Invalid`.
    pub const INPUT_INVALID: ErrorName = ErrorName::InputInvalid;
    /// `Config.Invalid`.
    pub const CONFIG_INVALID: ErrorName = ErrorName::ConfigInvalid;
    /// `Session.AssumeRoleFailed`.
    pub const SESSION_ASSUME_ROLE_FAILED: ErrorName = ErrorName::SessionAssumeRoleFailed;
    /// `Remediation.Throttled`.
    pub const REMEDIATION_THROTTLED: ErrorName = ErrorName::RemediationThrottled;
    /// `Remediation.Transient`.
    pub const REMEDIATION_TRANSIENT: ErrorName = ErrorName::RemediationTransient;
    /// `Remediation.AccessDenied`.
    pub const REMEDIATION_ACCESS_DENIED: ErrorName = ErrorName::RemediationAccessDenied;
    /// `Remediation.TargetNotFound`.
    pub const REMEDIATION_TARGET_NOT_FOUND: ErrorName = ErrorName::RemediationTargetNotFound;
    /// `Remediation.VerificationFailed`.
    pub const REMEDIATION_VERIFICATION_FAILED: ErrorName = ErrorName::RemediationVerificationFailed;
    /// `Remediation.Failed`.
    pub const REMEDIATION_FAILED: ErrorName = ErrorName::RemediationFailed;
    /// `Remediation.NetworkAclFull`.
    pub const REMEDIATION_NETWORK_ACL_FULL: ErrorName = ErrorName::RemediationNetworkAclFull;
    /// `Remediation.Incomplete`.
    pub const REMEDIATION_INCOMPLETE: ErrorName = ErrorName::RemediationIncomplete;
    /// `Snapshot.LimitExceeded`.
    pub const SNAPSHOT_LIMIT_EXCEEDED: ErrorName = ErrorName::SnapshotLimitExceeded;
    /// `Restore.NoRecord`.
    pub const RESTORE_NO_RECORD: ErrorName = ErrorName::RestoreNoRecord;
    /// `Approval.Rejected`.
    pub const APPROVAL_REJECTED: ErrorName = ErrorName::ApprovalRejected;
    /// `Approval.FalsePositive`.
    pub const APPROVAL_FALSE_POSITIVE: ErrorName = ErrorName::ApprovalFalsePositive;
    /// `Notify.Failed`.
    pub const NOTIFY_FAILED: ErrorName = ErrorName::NotifyFailed;
    /// `SecurityHub.FindingNotFound`.
    pub const SECURITY_HUB_FINDING_NOT_FOUND: ErrorName = ErrorName::SecurityHubFindingNotFound;
    /// `SecurityHub.UpdateFailed`.
    pub const SECURITY_HUB_UPDATE_FAILED: ErrorName = ErrorName::SecurityHubUpdateFailed;

    /// Every name. The state machines may only use these (and the `States.*` names).
    pub const ALL: &[ErrorName] = &ErrorName::ALL;

    /// The names a state machine should retry with backoff.
    pub const RETRYABLE: &[ErrorName] = &[
        REMEDIATION_THROTTLED,
        REMEDIATION_TRANSIENT,
        SNAPSHOT_LIMIT_EXCEEDED,
    ];

    /// The names a state machine retries a few times after a change: a read-back that did not
    /// show the change yet (EC2 and IAM are eventually consistent), which a re-run converges.
    pub const RETRYABLE_AFTER_CHANGE: &[ErrorName] = &[REMEDIATION_VERIFICATION_FAILED];
}

/// A task failure as it leaves a task: a stable name and a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskError {
    /// Its stable name.
    pub name: ErrorName,
    /// What went wrong, for the analyst reading the failure notification.
    pub message: String,
    /// The AWS error code behind it (`InvalidGroup.NotFound`, `Throttling`...), when AWS
    /// answered one: the logic tells a resource it just created and cannot see yet apart from
    /// one that really is missing by this code, not by the message.
    pub aws_code: Option<String>,
}

impl TaskError {
    /// Builds a task error from a name and a message.
    pub fn new(name: ErrorName, message: impl Into<String>) -> Self {
        Self {
            name,
            message: message.into(),
            aws_code: None,
        }
    }

    /// The same error, carrying the AWS error code behind it.
    pub fn with_aws_code(mut self, code: impl Into<String>) -> Self {
        self.aws_code = Some(code.into());
        self
    }

    /// Whether AWS answered this error with `code`.
    pub fn has_aws_code(&self, code: &str) -> bool {
        self.aws_code.as_deref() == Some(code)
    }

    /// A bad input document.
    pub fn input(message: impl Into<String>) -> Self {
        Self::new(names::INPUT_INVALID, message)
    }

    /// A bad configuration.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(names::CONFIG_INVALID, message)
    }

    /// Whether a state machine should retry this error.
    pub fn is_retryable(&self) -> bool {
        names::RETRYABLE.contains(&self.name)
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

impl std::error::Error for TaskError {}

impl From<TaskError> for lambda_runtime::Diagnostic {
    fn from(e: TaskError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.name.as_str().to_string(),
            error_message: e.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_dotted() {
        let mut seen = std::collections::HashSet::new();
        for n in names::ALL.iter().map(|n| n.as_str()) {
            assert!(seen.insert(n), "duplicate error name {n}");
            let (family, rest) = n.split_once('.').expect("Family.Name");
            assert!(!family.is_empty() && !rest.is_empty(), "{n}");
            assert!(!n.starts_with("States."), "{n} would shadow an ASL name");
        }
        for r in names::RETRYABLE {
            assert!(names::ALL.contains(r));
        }
    }

    /// A finding from a region the deployment does not allow is refused with a name of its
    /// own, so the failure notification and the per-error metrics tell it apart from a
    /// malformed event, and it is never retried.
    #[test]
    fn a_refused_region_has_its_own_name_and_is_not_retried() {
        assert_eq!(
            names::FINDING_REGION_NOT_ALLOWED,
            "Finding.RegionNotAllowed"
        );
        assert!(names::ALL.contains(&names::FINDING_REGION_NOT_ALLOWED));
        let e = TaskError::new(names::FINDING_REGION_NOT_ALLOWED, "ap-east-1");
        assert!(!e.is_retryable());
        assert!(!names::RETRYABLE_AFTER_CHANGE.contains(&e.name));
    }

    #[test]
    fn diagnostic_carries_the_name_as_error_type() {
        let d: lambda_runtime::Diagnostic =
            TaskError::new(names::REMEDIATION_THROTTLED, "slow down").into();
        assert_eq!(d.error_type, "Remediation.Throttled");
        assert_eq!(d.error_message, "slow down");
        assert!(TaskError::new(names::REMEDIATION_THROTTLED, "").is_retryable());
        assert!(!TaskError::input("x").is_retryable());
    }
}
