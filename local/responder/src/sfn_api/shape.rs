//! The request members of each served operation and the constraints the Step Functions API
//! model puts on them (`states-2016-11-23`: required members, string lengths, integer ranges,
//! enumerations), checked the way AWS's request validator checks them: before the operation
//! runs, every violation listed in one `ValidationException`, e.g. "1 validation error
//! detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value
//! less than or equal to 1000".

use serde_json::Value;

use super::error::ApiError;

/// The shape of a request member.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// A string of `min..=max` characters.
    Text { min: usize, max: usize },
    /// A sensitive string of at most `max` characters (`error`, `cause`): its value never
    /// appears in a message.
    Secret { max: usize },
    /// A sensitive JSON payload (`input`, `output`) of at most `max` bytes in UTF-8, as the API
    /// reference says of these members.
    Payload { max: usize },
    /// An integer in `min..=max`.
    Int { min: i64, max: i64 },
    /// A boolean.
    Bool,
    /// One of the listed strings, in the order AWS lists them in its message.
    Enum(&'static [&'static str]),
}

/// A request member.
#[derive(Debug, Clone, Copy)]
pub struct Member {
    /// Its name in the JSON body, e.g. `executionArn`.
    pub name: &'static str,
    /// Its shape.
    pub shape: Shape,
    /// Whether the model marks it required.
    pub required: bool,
}

const fn required(name: &'static str, shape: Shape) -> Member {
    Member {
        name,
        shape,
        required: true,
    }
}

const fn optional(name: &'static str, shape: Shape) -> Member {
    Member {
        name,
        shape,
        required: false,
    }
}

/// 256 KiB, the size limit of an execution's or a task's input and output.
pub const PAYLOAD_BYTES: usize = 262_144;

const ARN: Shape = Shape::Text { min: 1, max: 256 };
const NAME: Shape = Shape::Text { min: 1, max: 80 };
const PAGE_SIZE: Shape = Shape::Int { min: 0, max: 1000 };
const PAGE_TOKEN: Shape = Shape::Text { min: 1, max: 1024 };
const DATA: Shape = Shape::Payload { max: PAYLOAD_BYTES };
const ERROR: Shape = Shape::Secret { max: 256 };
const CAUSE: Shape = Shape::Secret { max: 32_768 };
const TASK_TOKEN: Shape = Shape::Text { min: 1, max: 2048 };
const INCLUDED_DATA: Shape = Shape::Enum(&["ALL_DATA", "METADATA_ONLY"]);

/// `ExecutionStatus`, in the order of AWS's own validation message.
pub const EXECUTION_STATUSES: &[&str] = &[
    "SUCCEEDED",
    "TIMED_OUT",
    "PENDING_REDRIVE",
    "ABORTED",
    "FAILED",
    "RUNNING",
];

const LIST_STATE_MACHINES: &[Member] = &[
    optional("maxResults", PAGE_SIZE),
    optional("nextToken", PAGE_TOKEN),
];

const DESCRIBE_STATE_MACHINE: &[Member] = &[
    required("stateMachineArn", ARN),
    optional("includedData", INCLUDED_DATA),
];

const START_EXECUTION: &[Member] = &[
    required("stateMachineArn", ARN),
    optional("name", NAME),
    optional("input", DATA),
    optional("traceHeader", Shape::Text { min: 0, max: 256 }),
];

const DESCRIBE_EXECUTION: &[Member] = &[
    required("executionArn", ARN),
    optional("includedData", INCLUDED_DATA),
];

const LIST_EXECUTIONS: &[Member] = &[
    optional("stateMachineArn", ARN),
    optional("statusFilter", Shape::Enum(EXECUTION_STATUSES)),
    optional("maxResults", PAGE_SIZE),
    optional("nextToken", Shape::Text { min: 1, max: 3096 }),
    optional("mapRunArn", Shape::Text { min: 1, max: 2000 }),
    optional("redriveFilter", Shape::Enum(&["REDRIVEN", "NOT_REDRIVEN"])),
];

const GET_EXECUTION_HISTORY: &[Member] = &[
    required("executionArn", ARN),
    optional("maxResults", PAGE_SIZE),
    optional("reverseOrder", Shape::Bool),
    optional("nextToken", PAGE_TOKEN),
    optional("includeExecutionData", Shape::Bool),
];

const STOP_EXECUTION: &[Member] = &[
    required("executionArn", ARN),
    optional("error", ERROR),
    optional("cause", CAUSE),
];

const SEND_TASK_SUCCESS: &[Member] = &[required("taskToken", TASK_TOKEN), required("output", DATA)];

const SEND_TASK_FAILURE: &[Member] = &[
    required("taskToken", TASK_TOKEN),
    optional("error", ERROR),
    optional("cause", CAUSE),
];

const SEND_TASK_HEARTBEAT: &[Member] = &[required("taskToken", TASK_TOKEN)];

/// The members of each served operation, as the API model declares them.
pub fn members(operation: &str) -> &'static [Member] {
    match operation {
        "ListStateMachines" => LIST_STATE_MACHINES,
        "DescribeStateMachine" => DESCRIBE_STATE_MACHINE,
        "StartExecution" => START_EXECUTION,
        "DescribeExecution" => DESCRIBE_EXECUTION,
        "ListExecutions" => LIST_EXECUTIONS,
        "GetExecutionHistory" => GET_EXECUTION_HISTORY,
        "StopExecution" => STOP_EXECUTION,
        "SendTaskSuccess" => SEND_TASK_SUCCESS,
        "SendTaskFailure" => SEND_TASK_FAILURE,
        "SendTaskHeartbeat" => SEND_TASK_HEARTBEAT,
        _ => &[],
    }
}

/// Checks a request body against the members of its operation. A member of the wrong JSON
/// type cannot be read at all (`SerializationException`); every broken constraint is listed
/// in one `ValidationException`. Members the model does not declare are ignored, as AWS
/// ignores them.
pub fn validate(members: &[Member], body: &Value) -> Result<(), ApiError> {
    let mut violations = Vec::new();
    for m in members {
        let value = body.get(m.name).filter(|v| !v.is_null());
        match value {
            None if m.required => violations.push(format!(
                "Value null at '{}' failed to satisfy constraint: Member must not be null",
                m.name
            )),
            None => {}
            Some(v) => {
                if let Some(v) = check(m, v)? {
                    violations.push(v);
                }
            }
        }
    }
    match violations.len() {
        0 => Ok(()),
        1 => Err(ApiError::validation(format!(
            "1 validation error detected: {}",
            violations[0]
        ))),
        n => Err(ApiError::validation(format!(
            "{n} validation errors detected: {}",
            violations.join("; ")
        ))),
    }
}

/// The violation of one present member, if any.
fn check(m: &Member, v: &Value) -> Result<Option<String>, ApiError> {
    let unreadable = || {
        ApiError::protocol(
            "SerializationException",
            format!("Unexpected value at '{}': {v}", m.name),
        )
    };
    let at = |shown: Option<&str>| match shown {
        Some(s) => format!("Value '{s}' at '{}' failed to satisfy constraint: ", m.name),
        None => format!("Value at '{}' failed to satisfy constraint: ", m.name),
    };
    let too_long = |shown: Option<&str>, max: usize| {
        format!(
            "{}Member must have length less than or equal to {max}",
            at(shown)
        )
    };
    Ok(match m.shape {
        Shape::Text { min, max } => {
            let s = v.as_str().ok_or_else(unreadable)?;
            let len = s.chars().count();
            if len > max {
                Some(too_long(Some(s), max))
            } else if len < min {
                Some(format!(
                    "{}Member must have length greater than or equal to {min}",
                    at(Some(s))
                ))
            } else {
                None
            }
        }
        Shape::Secret { max } => {
            let s = v.as_str().ok_or_else(unreadable)?;
            (s.chars().count() > max).then(|| too_long(None, max))
        }
        Shape::Payload { max } => {
            let s = v.as_str().ok_or_else(unreadable)?;
            (s.len() > max).then(|| too_long(None, max))
        }
        Shape::Int { min, max } => {
            let n = v.as_i64().ok_or_else(unreadable)?;
            if n > max {
                Some(format!(
                    "{}Member must have value less than or equal to {max}",
                    at(Some(&n.to_string()))
                ))
            } else if n < min {
                Some(format!(
                    "{}Member must have value greater than or equal to {min}",
                    at(Some(&n.to_string()))
                ))
            } else {
                None
            }
        }
        Shape::Bool => {
            v.as_bool().ok_or_else(unreadable)?;
            None
        }
        Shape::Enum(values) => {
            let s = v.as_str().ok_or_else(unreadable)?;
            (!values.contains(&s)).then(|| {
                format!(
                    "{}Member must satisfy enum value set: [{}]",
                    at(Some(s)),
                    values.join(", ")
                )
            })
        }
    })
}
