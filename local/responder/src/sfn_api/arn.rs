//! The ARNs the served operations take, checked before anything is looked up: a malformed ARN,
//! or one of another resource type, is `InvalidArn`; a well-formed ARN of nothing that exists
//! is the operation's `...DoesNotExist`.
//!
//! Shapes: `arn:<partition>:states:<region>:<account>:stateMachine:<name>[:<version or alias>]`
//! and `arn:<partition>:states:<region>:<account>:execution:<machine>:<name>`.

use super::error::ApiError;

/// The resource type an operation expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// `stateMachine`.
    StateMachine,
    /// `execution`.
    Execution,
}

impl Resource {
    fn type_name(self) -> &'static str {
        match self {
            Resource::StateMachine => "stateMachine",
            Resource::Execution => "execution",
        }
    }

    /// How many `:`-separated parts follow the resource type.
    fn parts(self) -> std::ops::RangeInclusive<usize> {
        match self {
            // A version or alias qualifier may follow the name.
            Resource::StateMachine => 1..=2,
            Resource::Execution => 2..=2,
        }
    }
}

/// Checks that `arn` is a Step Functions ARN of the `expected` resource type.
pub fn check(arn: &str, expected: Resource) -> Result<(), ApiError> {
    let invalid = |why: String| ApiError::service("InvalidArn", format!("Invalid Arn: '{why}'"));
    // AWS's message for a string that is no ARN at all, e.g. "Invalid Arn: 'Invalid ARN
    // prefix: not_a_valid_arn'".
    let Some(rest) = arn.strip_prefix("arn:") else {
        return Err(invalid(format!("Invalid ARN prefix: {arn}")));
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let well_formed = parts.len() >= 6
        && !parts[0].is_empty()
        && parts[1] == "states"
        && !parts[2].is_empty()
        && parts[3].len() == 12
        && parts[3].bytes().all(|b| b.is_ascii_digit());
    if !well_formed {
        return Err(invalid(arn.to_string()));
    }
    let resource_type = parts[4];
    if resource_type != expected.type_name() {
        return Err(invalid(format!(
            "Resource type not valid in this context: {}",
            resource_type.to_lowercase()
        )));
    }
    let tail = &parts[5..];
    if !expected.parts().contains(&tail.len()) || tail.iter().any(|p| p.is_empty()) {
        return Err(invalid(arn.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_are_checked_by_shape_and_resource_type() {
        let sm = "arn:aws:states:us-east-1:111111111111:stateMachine:remediate";
        let ex = "arn:aws:states:us-east-1:111111111111:execution:remediate:run-1";
        let cases: &[(&str, Resource, Option<&str>)] = &[
            (sm, Resource::StateMachine, None),
            (
                "arn:aws:states:us-east-1:111111111111:stateMachine:remediate:PROD",
                Resource::StateMachine,
                None,
            ),
            (ex, Resource::Execution, None),
            (
                "not_a_valid_arn",
                Resource::StateMachine,
                Some("Invalid Arn: 'Invalid ARN prefix: not_a_valid_arn'"),
            ),
            (
                sm,
                Resource::Execution,
                Some("Invalid Arn: 'Resource type not valid in this context: statemachine'"),
            ),
            (
                ex,
                Resource::StateMachine,
                Some("Invalid Arn: 'Resource type not valid in this context: execution'"),
            ),
            (
                "arn:aws:lambda:us-east-1:111111111111:function:f",
                Resource::StateMachine,
                Some("Invalid Arn: 'arn:aws:lambda:us-east-1:111111111111:function:f'"),
            ),
            (
                "arn:aws:states:us-east-1:1111:stateMachine:m",
                Resource::StateMachine,
                Some("Invalid Arn: 'arn:aws:states:us-east-1:1111:stateMachine:m'"),
            ),
            (
                "arn:aws:states:us-east-1:111111111111:execution:remediate",
                Resource::Execution,
                Some("Invalid Arn: 'arn:aws:states:us-east-1:111111111111:execution:remediate'"),
            ),
        ];
        for (arn, resource, expected) in cases {
            let got = check(arn, *resource).err();
            assert_eq!(
                got.as_ref().map(|e| e.message.as_str()),
                *expected,
                "{arn} as {resource:?}"
            );
            if let Some(e) = got {
                assert_eq!(e.code, "InvalidArn");
            }
        }
    }
}
