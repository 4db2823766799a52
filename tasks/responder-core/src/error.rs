//! Stable error names: the contract between the tasks and the state machines.
//!
//! A task reports a failure as a Lambda error whose `errorType` is one of these names; the
//! `Retry` and `Catch` blocks in `statemachines/*.asl.json` match on them. Renaming one is a
//! breaking change to the state machines, so every name lives here once, and a test checks that
//! every name the state machines use is listed in [`names::ALL`].

use std::fmt;

/// The error names, as constants.
pub mod names {
    /// The event is not a well-formed GuardDuty finding (missing `detail.id`, `type`, `resource`...).
    pub const FINDING_INVALID: &str = "Finding.Invalid";
    /// The event is well formed but not a GuardDuty finding this pipeline accepts (another
    /// source, or a copy forwarded by Security Hub).
    pub const FINDING_UNSUPPORTED: &str = "Finding.Unsupported";
    /// The event is larger than the pipeline accepts.
    pub const FINDING_TOO_LARGE: &str = "Finding.TooLarge";
    /// The finding comes from a region outside the deployment's allowed regions
    /// (`ALLOWED_REGIONS`): the pipeline refuses to act there and tells the team.
    pub const FINDING_REGION_NOT_ALLOWED: &str = "Finding.RegionNotAllowed";
    /// A task received an input document without the fields it needs.
    pub const INPUT_INVALID: &str = "Input.Invalid";
    /// The task's configuration (environment or policy file) is missing or invalid.
    pub const CONFIG_INVALID: &str = "Config.Invalid";
    /// The cross-account remediation role could not be assumed.
    pub const SESSION_ASSUME_ROLE_FAILED: &str = "Session.AssumeRoleFailed";
    /// AWS throttled a call. Retryable.
    pub const REMEDIATION_THROTTLED: &str = "Remediation.Throttled";
    /// A transient AWS failure (5xx, timeout, connection reset). Retryable.
    pub const REMEDIATION_TRANSIENT: &str = "Remediation.Transient";
    /// The role lacks a permission the action needs.
    pub const REMEDIATION_ACCESS_DENIED: &str = "Remediation.AccessDenied";
    /// The instance, interface, user, role or key named by the finding does not exist.
    pub const REMEDIATION_TARGET_NOT_FOUND: &str = "Remediation.TargetNotFound";
    /// The change was made but reading it back did not show the contained state.
    pub const REMEDIATION_VERIFICATION_FAILED: &str = "Remediation.VerificationFailed";
    /// Any other AWS error during a remediation call.
    pub const REMEDIATION_FAILED: &str = "Remediation.Failed";
    /// A network ACL the contained instance's traffic crosses has no room for the per-address
    /// deny entries (its entry quota, or no free rule number below its first allow entry).
    /// Reported after every other containment step ran; the interfaces are quarantined.
    pub const REMEDIATION_NETWORK_ACL_FULL: &str = "Remediation.NetworkAclFull";
    /// A deny on IAM credentials could not be attached after their key was deactivated, or
    /// another step of credential containment stopped halfway: sessions already minted may
    /// still work. Never retried silently; always notified.
    pub const REMEDIATION_INCOMPLETE: &str = "Remediation.Incomplete";
    /// The account's snapshot limit (or concurrent snapshot limit) was reached. Retryable.
    pub const SNAPSHOT_LIMIT_EXCEEDED: &str = "Snapshot.LimitExceeded";
    /// A rollback was asked for but no record of the original state exists.
    pub const RESTORE_NO_RECORD: &str = "Restore.NoRecord";
    /// An analyst rejected a containment request.
    pub const APPROVAL_REJECTED: &str = "Approval.Rejected";
    /// An analyst rejected a containment request and marked the finding as a false positive:
    /// the state machine records the mark in the false-positive ledger, then goes on as for a
    /// rejection.
    pub const APPROVAL_FALSE_POSITIVE: &str = "Approval.FalsePositive";
    /// A notification could not be published.
    pub const NOTIFY_FAILED: &str = "Notify.Failed";
    /// Security Hub has no copy of the finding (yet): GuardDuty sends a new finding to
    /// Security Hub on its own schedule, usually within five minutes, so a finding contained
    /// in seconds can be ahead of its copy. Retried with long intervals.
    pub const SECURITY_HUB_FINDING_NOT_FOUND: &str = "SecurityHub.FindingNotFound";
    /// The Security Hub copy of the finding could not be updated, for a reason a retry does
    /// not fix (Security Hub not enabled, no permission, an update Security Hub refused).
    pub const SECURITY_HUB_UPDATE_FAILED: &str = "SecurityHub.UpdateFailed";

    /// Every name above. The state machines may only use these (and the `States.*` names).
    pub const ALL: &[&str] = &[
        FINDING_INVALID,
        FINDING_UNSUPPORTED,
        FINDING_TOO_LARGE,
        FINDING_REGION_NOT_ALLOWED,
        INPUT_INVALID,
        CONFIG_INVALID,
        SESSION_ASSUME_ROLE_FAILED,
        REMEDIATION_THROTTLED,
        REMEDIATION_TRANSIENT,
        REMEDIATION_ACCESS_DENIED,
        REMEDIATION_TARGET_NOT_FOUND,
        REMEDIATION_VERIFICATION_FAILED,
        REMEDIATION_FAILED,
        REMEDIATION_NETWORK_ACL_FULL,
        REMEDIATION_INCOMPLETE,
        SNAPSHOT_LIMIT_EXCEEDED,
        RESTORE_NO_RECORD,
        APPROVAL_REJECTED,
        APPROVAL_FALSE_POSITIVE,
        NOTIFY_FAILED,
        SECURITY_HUB_FINDING_NOT_FOUND,
        SECURITY_HUB_UPDATE_FAILED,
    ];

    /// The names a state machine should retry with backoff.
    pub const RETRYABLE: &[&str] = &[
        REMEDIATION_THROTTLED,
        REMEDIATION_TRANSIENT,
        SNAPSHOT_LIMIT_EXCEEDED,
    ];

    /// The names a state machine retries a few times after a change: a read-back that did not
    /// show the change yet (EC2 and IAM are eventually consistent), which a re-run converges.
    pub const RETRYABLE_AFTER_CHANGE: &[&str] = &[REMEDIATION_VERIFICATION_FAILED];
}

/// An error with a stable name, as every task's own error enum implements it.
pub trait NamedError: std::error::Error {
    /// The stable name reported as the Lambda `errorType`.
    fn error_name(&self) -> &'static str;
}

/// A task failure as it leaves a task: a stable name and a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskError {
    /// One of [`names::ALL`].
    pub name: &'static str,
    /// What went wrong, for the analyst reading the failure notification.
    pub message: String,
    /// The AWS error code behind it (`InvalidGroup.NotFound`, `Throttling`...), when AWS
    /// answered one: the logic tells a resource it just created and cannot see yet apart from
    /// one that really is missing by this code, not by the message.
    pub aws_code: Option<String>,
}

impl TaskError {
    /// Builds a task error from a name and a message.
    pub fn new(name: &'static str, message: impl Into<String>) -> Self {
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

impl NamedError for TaskError {
    fn error_name(&self) -> &'static str {
        self.name
    }
}

impl From<TaskError> for lambda_runtime::Diagnostic {
    fn from(e: TaskError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.name.to_string(),
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
        for n in names::ALL {
            assert!(seen.insert(*n), "duplicate error name {n}");
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
