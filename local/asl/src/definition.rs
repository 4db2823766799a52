//! The typed model of a state machine definition, and its parser.
//!
//! [`StateMachine::parse`] reads the JSON text, checks every field the way
//! `ValidateStateMachineDefinition` does and returns either a ready-to-run model or every
//! problem found, each with its JSON-pointer location (see [`crate::validate`]).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};

use crate::choice::JsonataRule;
use crate::choice::{parse_condition, parse_timestamp, ChoiceRule};
use crate::errors;
use crate::path::Path;
use crate::query::JsonataTemplate;
use crate::template::{compile_dynamic, Template};
use crate::validate::{Diagnostic, DiagnosticCode, ValidationError};

/// A parsed, valid state machine (or a branch / item processor inside one).
#[derive(Debug, Clone)]
pub struct StateMachine {
    /// `Comment`.
    pub comment: Option<String>,
    /// `StartAt`.
    pub start_at: String,
    /// The states by name.
    pub states: HashMap<String, Arc<State>>,
    /// State names in definition order.
    pub order: Vec<String>,
    /// The execution-level `TimeoutSeconds` (top level only).
    pub timeout_seconds: Option<u64>,
}

/// How a path-valued field was given.
#[derive(Debug, Clone, PartialEq)]
pub enum PathField {
    /// Absent: `$`.
    Default,
    /// Explicit `null`.
    Null,
    /// A path.
    Path(Path),
}

/// A value given literally or through a `...Path` field.
#[derive(Debug, Clone, PartialEq)]
pub enum NumberOrPath {
    /// Literal.
    Value(u64),
    /// From a path.
    Path(Path),
    /// From a JSONata expression.
    Expr(JsonataTemplate),
}

/// A string given literally or through a `...Path` field (path or intrinsic).
#[derive(Debug, Clone, PartialEq)]
pub enum StringOrDynamic {
    /// Literal.
    Value(String),
    /// A path or intrinsic call.
    Dynamic(Template),
    /// A JSONata expression.
    Expr(JsonataTemplate),
}

/// A `Retry` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrier {
    /// `ErrorEquals`.
    pub error_equals: Vec<String>,
    /// `IntervalSeconds` (default 1).
    pub interval_seconds: f64,
    /// `MaxAttempts` (default 3; 0 means never retry).
    pub max_attempts: u32,
    /// `BackoffRate` (default 2.0).
    pub backoff_rate: f64,
    /// `MaxDelaySeconds`.
    pub max_delay_seconds: Option<f64>,
    /// `JitterStrategy: FULL`.
    pub jitter_full: bool,
}

/// A `Catch` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Catcher {
    /// `ErrorEquals`.
    pub error_equals: Vec<String>,
    /// `Next`.
    pub next: String,
    /// `ResultPath` (default `$`).
    pub result_path: PathField,
    /// `Assign`.
    pub assign: Option<Template>,
    /// `Output` and `Assign` of a catcher in a JSONata state.
    pub jsonata: Option<JsonataFields>,
}

/// The data-flow fields of a JSONata state (or catcher).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JsonataFields {
    /// `Arguments`.
    pub arguments: Option<JsonataTemplate>,
    /// `Output`.
    pub output: Option<JsonataTemplate>,
    /// `Assign`.
    pub assign: Option<JsonataTemplate>,
}

/// Wait state timing.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitFor {
    /// `Seconds`.
    Seconds(u64),
    /// `Timestamp`.
    Timestamp(DateTime<FixedOffset>),
    /// `SecondsPath`.
    SecondsPath(Path),
    /// `TimestampPath`.
    TimestampPath(Path),
    /// `Seconds` as a JSONata expression.
    SecondsExpr(JsonataTemplate),
    /// `Timestamp` as a JSONata expression.
    TimestampExpr(JsonataTemplate),
}

/// A Task state's own fields.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSpec {
    /// `Resource`, as written.
    pub resource: String,
    /// `TimeoutSeconds(Path)`.
    pub timeout: Option<NumberOrPath>,
    /// `HeartbeatSeconds(Path)`.
    pub heartbeat: Option<NumberOrPath>,
    /// Whether the resource ends with `.waitForTaskToken`.
    pub wait_for_token: bool,
}

/// A Map state's own fields.
#[derive(Debug, Clone)]
pub struct MapSpec {
    /// `ItemsPath`.
    pub items_path: PathField,
    /// `ItemSelector` or the legacy `Parameters`.
    pub item_selector: Option<Template>,
    /// `MaxConcurrency(Path)`; 0 means unlimited.
    pub max_concurrency: Option<NumberOrPath>,
    /// `ItemProcessor` or the legacy `Iterator`.
    pub processor: Arc<StateMachine>,
    /// `ToleratedFailureCount(Path)`.
    pub tolerated_failure_count: Option<Value>,
    /// `ToleratedFailureCountPath`.
    pub tolerated_failure_count_path: Option<Path>,
    /// `ToleratedFailurePercentage`.
    pub tolerated_failure_percentage: Option<Value>,
    /// `ToleratedFailurePercentagePath`.
    pub tolerated_failure_percentage_path: Option<Path>,
    /// `Items` (JSONata).
    pub items: Option<JsonataTemplate>,
    /// `ItemSelector` (JSONata).
    pub jsonata_item_selector: Option<JsonataTemplate>,
}

/// What kind of state, with the fields only that kind has.
#[derive(Debug, Clone)]
pub enum Kind {
    /// `Pass`, with its optional `Result`.
    Pass {
        /// `Result`.
        result: Option<Value>,
    },
    /// `Task`.
    Task(TaskSpec),
    /// `Choice`.
    Choice {
        /// `Choices`.
        rules: Vec<ChoiceRule>,
        /// `Default`.
        default: Option<String>,
    },
    /// `Wait`.
    Wait(WaitFor),
    /// `Succeed`.
    Succeed,
    /// `Fail`.
    Fail {
        /// `Error` / `ErrorPath`.
        error: Option<StringOrDynamic>,
        /// `Cause` / `CausePath`.
        cause: Option<StringOrDynamic>,
    },
    /// `Parallel`.
    Parallel {
        /// `Branches`.
        branches: Vec<Arc<StateMachine>>,
    },
    /// `Map`.
    Map(Box<MapSpec>),
}

impl Kind {
    /// The `Type` name, as used in event names (`PassStateEntered`...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Pass { .. } => "Pass",
            Kind::Task(_) => "Task",
            Kind::Choice { .. } => "Choice",
            Kind::Wait(_) => "Wait",
            Kind::Succeed => "Succeed",
            Kind::Fail { .. } => "Fail",
            Kind::Parallel { .. } => "Parallel",
            Kind::Map(_) => "Map",
        }
    }
}

/// One state.
#[derive(Debug, Clone)]
pub struct State {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// `Next` (None when `End`, or for Choice/Succeed/Fail).
    pub next: Option<String>,
    /// `InputPath`.
    pub input_path: PathField,
    /// `OutputPath`.
    pub output_path: PathField,
    /// `ResultPath`.
    pub result_path: PathField,
    /// `Parameters`.
    pub parameters: Option<Template>,
    /// `ResultSelector`.
    pub result_selector: Option<Template>,
    /// `Retry`.
    pub retry: Vec<Retrier>,
    /// `Catch`.
    pub catch: Vec<Catcher>,
    /// `Assign`.
    pub assign: Option<Template>,
    /// Set when the state uses JSONata (`QueryLanguage`, its own or inherited).
    pub jsonata: Option<Box<JsonataFields>>,
}

const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];

/// Fields that only JSONPath states may use.
const JSONPATH_ONLY: &[&str] = &[
    "InputPath",
    "OutputPath",
    "ResultPath",
    "Parameters",
    "ResultSelector",
    "Result",
    "ItemsPath",
    "Iterator",
    "SecondsPath",
    "TimestampPath",
    "ErrorPath",
    "CausePath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "MaxConcurrencyPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
];

fn allowed_fields(t: &str) -> &'static [&'static str] {
    match t {
        "Pass" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "Result",
            "Assign",
        ],
        "Task" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Resource",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Credentials",
            "Assign",
        ],
        "Choice" => &["InputPath", "OutputPath", "Choices", "Default", "Assign"],
        "Wait" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Seconds",
            "Timestamp",
            "SecondsPath",
            "TimestampPath",
            "Assign",
        ],
        "Succeed" => &["InputPath", "OutputPath"],
        "Fail" => &["Error", "ErrorPath", "Cause", "CausePath"],
        "Parallel" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Branches",
            "Assign",
        ],
        "Map" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "ItemsPath",
            "ItemSelector",
            "Iterator",
            "ItemProcessor",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "ItemBatcher",
            "ItemReader",
            "ResultWriter",
            "Label",
            "Assign",
        ],
        _ => &[],
    }
}

struct ParseContext {
    diags: Vec<Diagnostic>,
    /// The query language inherited by the states being parsed.
    jsonata: bool,
}

impl ParseContext {
    fn err(&mut self, code: DiagnosticCode, loc: impl Into<String>, msg: impl Into<String>) {
        self.diags.push(Diagnostic {
            code,
            location: loc.into(),
            message: msg.into(),
        });
    }
    fn schema(&mut self, loc: impl Into<String>, msg: impl Into<String>) {
        self.err(DiagnosticCode::SchemaValidationFailed, loc, msg);
    }
}

fn esc(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

impl StateMachine {
    /// Parses and validates a definition given as JSON text.
    pub fn parse(text: &str) -> Result<StateMachine, ValidationError> {
        let v: Value = serde_json::from_str(text).map_err(|e| ValidationError {
            diagnostics: vec![Diagnostic {
                code: DiagnosticCode::InvalidJsonDescription,
                location: String::new(),
                message: format!("The definition is not valid JSON: {e}"),
            }],
        })?;
        Self::from_value(&v)
    }

    /// Parses and validates a definition given as a JSON value.
    pub fn from_value(v: &Value) -> Result<StateMachine, ValidationError> {
        let mut cx = ParseContext {
            diags: Vec::new(),
            jsonata: false,
        };
        let sm = parse_machine(v, "", true, &mut cx);
        if let Some(sm) = &sm {
            crate::validate::check_graph(sm, "", &mut cx.diags);
        }
        match sm {
            Some(sm) if cx.diags.is_empty() => Ok(sm),
            _ => Err(ValidationError {
                diagnostics: cx.diags,
            }),
        }
    }
}

fn parse_machine(v: &Value, loc: &str, top: bool, cx: &mut ParseContext) -> Option<StateMachine> {
    let Some(obj) = v.as_object() else {
        cx.schema(loc, "A state machine definition must be a JSON object");
        return None;
    };
    let mut allowed = vec!["StartAt", "States", "Comment", "QueryLanguage", "Version"];
    if top {
        allowed.push("TimeoutSeconds");
    } else {
        allowed.push("ProcessorConfig");
    }
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            cx.schema(
                format!("{loc}/{}", esc(k)),
                format!("The field '{k}' is not supported"),
            );
        }
    }
    let outer_lang = cx.jsonata;
    if let Some(j) = check_query_language(obj, loc, cx) {
        cx.jsonata = j;
    }
    let sm = parse_machine_body(obj, loc, cx);
    cx.jsonata = outer_lang;
    sm
}

fn parse_machine_body(
    obj: &Map<String, Value>,
    loc: &str,
    cx: &mut ParseContext,
) -> Option<StateMachine> {
    if let Some(pc) = obj.get("ProcessorConfig") {
        if let Some(mode) = pc.get("Mode").and_then(Value::as_str) {
            if mode != "INLINE" && mode != "DISTRIBUTED" {
                cx.schema(
                    format!("{loc}/ProcessorConfig/Mode"),
                    format!("Unknown processor mode '{mode}'"),
                );
            }
        }
    }
    let comment = obj.get("Comment").and_then(Value::as_str).map(String::from);
    let start_at = match obj.get("StartAt").and_then(Value::as_str) {
        Some(s) => s.to_string(),
        None => {
            cx.schema(
                format!("{loc}/StartAt"),
                "The field 'StartAt' is required and must be a string",
            );
            String::new()
        }
    };
    let timeout_seconds = match obj.get("TimeoutSeconds") {
        None => None,
        Some(t) => match t.as_u64() {
            Some(n) if n > 0 => Some(n),
            _ => {
                cx.schema(
                    format!("{loc}/TimeoutSeconds"),
                    "TimeoutSeconds must be a positive integer",
                );
                None
            }
        },
    };
    let mut states = HashMap::new();
    let mut order = Vec::new();
    match obj.get("States").and_then(Value::as_object) {
        Some(m) if !m.is_empty() => {
            for (name, sv) in m {
                let sloc = format!("{loc}/States/{}", esc(name));
                if name.is_empty() || name.chars().count() > 80 {
                    cx.schema(&sloc, "A state name must have between 1 and 80 characters");
                }
                if let Some(st) = parse_state(name, sv, &sloc, cx) {
                    order.push(name.clone());
                    states.insert(name.clone(), Arc::new(st));
                }
            }
        }
        _ => cx.schema(
            format!("{loc}/States"),
            "The field 'States' is required and must be a non-empty object",
        ),
    }
    if !start_at.is_empty()
        && obj.contains_key("States")
        && !states.contains_key(&start_at)
        && cx.diags.iter().all(|d| {
            !d.location
                .starts_with(&format!("{loc}/States/{}", esc(&start_at)))
        })
    {
        cx.err(
            DiagnosticCode::MissingTransitionTarget,
            format!("{loc}/StartAt"),
            format!("Missing 'StartAt' target: {start_at}"),
        );
    }
    Some(StateMachine {
        comment,
        start_at,
        states,
        order,
        timeout_seconds,
    })
}

/// The `QueryLanguage` an object sets: `Some(true)` for JSONata, `Some(false)` for JSONPath.
fn check_query_language(
    obj: &Map<String, Value>,
    loc: &str,
    cx: &mut ParseContext,
) -> Option<bool> {
    match obj.get("QueryLanguage") {
        None => None,
        Some(Value::String(s)) if s == "JSONPath" => Some(false),
        Some(Value::String(s)) if s == "JSONata" => Some(true),
        Some(_) => {
            cx.schema(
                format!("{loc}/QueryLanguage"),
                "QueryLanguage must be 'JSONPath' or 'JSONata'",
            );
            None
        }
    }
}

fn path_field(obj: &Map<String, Value>, key: &str, loc: &str, cx: &mut ParseContext) -> PathField {
    match obj.get(key) {
        None => PathField::Default,
        Some(Value::Null) => PathField::Null,
        Some(Value::String(s)) => match Path::parse(s) {
            Ok(p) => PathField::Path(p),
            Err(e) => {
                cx.schema(
                    format!("{loc}/{key}"),
                    format!("The value for the field '{key}' must be a valid JSONPath: {e}"),
                );
                PathField::Default
            }
        },
        Some(_) => {
            cx.schema(
                format!("{loc}/{key}"),
                format!("The value for the field '{key}' must be a string or null"),
            );
            PathField::Default
        }
    }
}

fn template_field(
    obj: &Map<String, Value>,
    key: &str,
    loc: &str,
    cx: &mut ParseContext,
) -> Option<Template> {
    let v = obj.get(key)?;
    if key == "Assign" && !v.is_object() {
        cx.schema(format!("{loc}/{key}"), "Assign must be an object");
        return None;
    }
    match Template::compile(v) {
        Ok(t) => Some(t),
        Err(e) => {
            cx.schema(format!("{loc}/{key}{}", e.location), e.message);
            None
        }
    }
}

fn num_or_path(
    obj: &Map<String, Value>,
    key: &str,
    loc: &str,
    cx: &mut ParseContext,
    min: u64,
) -> Option<NumberOrPath> {
    let pkey = format!("{key}Path");
    match (obj.get(key), obj.get(&pkey)) {
        (Some(_), Some(_)) => {
            cx.schema(
                loc,
                format!("The fields '{key}' and '{pkey}' cannot be used together"),
            );
            None
        }
        (Some(v), None) => match v.as_u64() {
            Some(n) if n >= min => Some(NumberOrPath::Value(n)),
            _ => {
                cx.schema(
                    format!("{loc}/{key}"),
                    format!("'{key}' must be an integer of at least {min}"),
                );
                None
            }
        },
        (None, Some(p)) => match p.as_str().map(Path::parse) {
            Some(Ok(p)) => Some(NumberOrPath::Path(p)),
            _ => {
                cx.schema(
                    format!("{loc}/{pkey}"),
                    format!("'{pkey}' must be a valid JSONPath"),
                );
                None
            }
        },
        (None, None) => None,
    }
}

fn string_or_dynamic(
    obj: &Map<String, Value>,
    key: &str,
    loc: &str,
    cx: &mut ParseContext,
) -> Option<StringOrDynamic> {
    let pkey = format!("{key}Path");
    match (obj.get(key), obj.get(&pkey)) {
        (Some(_), Some(_)) => {
            cx.schema(
                loc,
                format!("The fields '{key}' and '{pkey}' cannot be used together"),
            );
            None
        }
        (Some(Value::String(s)), None) => Some(StringOrDynamic::Value(s.clone())),
        (Some(_), None) => {
            cx.schema(format!("{loc}/{key}"), format!("'{key}' must be a string"));
            None
        }
        (None, Some(Value::String(s))) => match compile_dynamic(&pkey, s) {
            Ok(t) => Some(StringOrDynamic::Dynamic(t)),
            Err(e) => {
                cx.schema(format!("{loc}/{pkey}"), e);
                None
            }
        },
        (None, Some(_)) => {
            cx.schema(
                format!("{loc}/{pkey}"),
                format!("'{pkey}' must be a string"),
            );
            None
        }
        (None, None) => None,
    }
}

fn error_equals(v: Option<&Value>, loc: &str, cx: &mut ParseContext) -> Vec<String> {
    let list: Vec<String> = match v.and_then(Value::as_array) {
        Some(a) if !a.is_empty() => a
            .iter()
            .filter_map(|e| e.as_str().map(String::from))
            .collect(),
        _ => {
            cx.schema(
                format!("{loc}/ErrorEquals"),
                "ErrorEquals must be a non-empty array of strings",
            );
            return Vec::new();
        }
    };
    if list.iter().any(|e| e == errors::ALL) && list.len() > 1 {
        cx.schema(
            format!("{loc}/ErrorEquals"),
            "'States.ALL' must appear alone in ErrorEquals",
        );
    }
    list
}

/// What a retrier and a catcher (`noun`) check alike: the entry is an object with only
/// `allowed` fields and a valid `ErrorEquals`, where `States.ALL` may only stand in the
/// `last` entry. Gives the object and its error names, `None` when it is not an object.
fn handler_entry<'v>(
    v: &'v Value,
    loc: &str,
    noun: &str,
    allowed: &[&str],
    last: bool,
    cx: &mut ParseContext,
) -> Option<(&'v Map<String, Value>, Vec<String>)> {
    let Some(o) = v.as_object() else {
        cx.schema(loc, format!("A {noun} must be an object"));
        return None;
    };
    for k in o.keys() {
        if !allowed.contains(&k.as_str()) {
            cx.schema(
                format!("{loc}/{}", esc(k)),
                format!("The field '{k}' is not supported in a {noun}"),
            );
        }
    }
    let ee = error_equals(o.get("ErrorEquals"), loc, cx);
    if ee.iter().any(|e| e == errors::ALL) && !last {
        cx.schema(
            format!("{loc}/ErrorEquals"),
            format!("A {noun} with 'States.ALL' must be the last one"),
        );
    }
    Some((o, ee))
}

fn parse_retry(v: &Value, loc: &str, cx: &mut ParseContext) -> Vec<Retrier> {
    let Some(arr) = v.as_array() else {
        cx.schema(loc, "Retry must be an array");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, r) in arr.iter().enumerate() {
        let rloc = format!("{loc}/{i}");
        let allowed = [
            "ErrorEquals",
            "IntervalSeconds",
            "MaxAttempts",
            "BackoffRate",
            "MaxDelaySeconds",
            "JitterStrategy",
            "Comment",
        ];
        let last = i + 1 == arr.len();
        let Some((o, ee)) = handler_entry(r, &rloc, "retrier", &allowed, last, cx) else {
            continue;
        };
        let interval = match o.get("IntervalSeconds") {
            None => 1.0,
            Some(v) => match v.as_u64() {
                Some(n) if n >= 1 => n as f64,
                _ => {
                    cx.schema(
                        format!("{rloc}/IntervalSeconds"),
                        "IntervalSeconds must be a positive integer",
                    );
                    1.0
                }
            },
        };
        let max_attempts = match o.get("MaxAttempts") {
            None => 3,
            Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) => n,
                None => {
                    cx.schema(
                        format!("{rloc}/MaxAttempts"),
                        "MaxAttempts must be a non-negative integer",
                    );
                    3
                }
            },
        };
        let backoff = match o.get("BackoffRate") {
            None => 2.0,
            Some(v) => match v.as_f64() {
                Some(f) if f >= 1.0 => f,
                _ => {
                    cx.schema(
                        format!("{rloc}/BackoffRate"),
                        "BackoffRate must be a number of at least 1.0",
                    );
                    2.0
                }
            },
        };
        let max_delay = match o.get("MaxDelaySeconds") {
            None => None,
            Some(v) => match v.as_u64() {
                Some(n) if n >= 1 => Some(n as f64),
                _ => {
                    cx.schema(
                        format!("{rloc}/MaxDelaySeconds"),
                        "MaxDelaySeconds must be a positive integer",
                    );
                    None
                }
            },
        };
        let jitter = match o.get("JitterStrategy").map(|v| v.as_str()) {
            None | Some(Some("NONE")) => false,
            Some(Some("FULL")) => true,
            _ => {
                cx.schema(
                    format!("{rloc}/JitterStrategy"),
                    "JitterStrategy must be FULL or NONE",
                );
                false
            }
        };
        out.push(Retrier {
            error_equals: ee,
            interval_seconds: interval,
            max_attempts,
            backoff_rate: backoff,
            max_delay_seconds: max_delay,
            jitter_full: jitter,
        });
    }
    out
}

fn parse_catch(v: &Value, loc: &str, jsonata: bool, cx: &mut ParseContext) -> Vec<Catcher> {
    let Some(arr) = v.as_array() else {
        cx.schema(loc, "Catch must be an array");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, c) in arr.iter().enumerate() {
        let cloc = format!("{loc}/{i}");
        let allowed = [
            "ErrorEquals",
            "Next",
            "ResultPath",
            "Assign",
            "Comment",
            "Output",
        ];
        let last = i + 1 == arr.len();
        let Some((o, ee)) = handler_entry(c, &cloc, "catcher", &allowed, last, cx) else {
            continue;
        };
        let next = match o.get("Next").and_then(Value::as_str) {
            Some(n) => n.to_string(),
            None => {
                cx.schema(format!("{cloc}/Next"), "A catcher must have a 'Next' field");
                String::new()
            }
        };
        if jsonata && o.contains_key("ResultPath") {
            cx.schema(
                format!("{cloc}/ResultPath"),
                "The field 'ResultPath' is not supported with QueryLanguage JSONata",
            );
        }
        if !jsonata && o.contains_key("Output") {
            cx.schema(
                format!("{cloc}/Output"),
                "The field 'Output' is only supported with QueryLanguage JSONata",
            );
        }
        let result_path = path_field(o, "ResultPath", &cloc, cx);
        let assign = if jsonata {
            None
        } else {
            template_field(o, "Assign", &cloc, cx)
        };
        let jsonata = if jsonata {
            Some(JsonataFields {
                arguments: None,
                output: jvalue_field(o, "Output", &cloc, cx),
                assign: jvalue_field(o, "Assign", &cloc, cx),
            })
        } else {
            None
        };
        out.push(Catcher {
            error_equals: ee,
            next,
            result_path,
            assign,
            jsonata,
        });
    }
    out
}

fn parse_state(name: &str, v: &Value, loc: &str, cx: &mut ParseContext) -> Option<State> {
    let Some(obj) = v.as_object() else {
        cx.schema(loc, "A state must be a JSON object");
        return None;
    };
    let Some(t) = obj.get("Type").and_then(Value::as_str) else {
        cx.schema(format!("{loc}/Type"), "The field 'Type' is required");
        return None;
    };
    let allowed = allowed_fields(t);
    if allowed.is_empty() {
        cx.schema(format!("{loc}/Type"), format!("Unknown state type '{t}'"));
        return None;
    }
    let jsonata = check_query_language(obj, loc, cx).unwrap_or(cx.jsonata);
    let jsonata_extra: &[&str] = match t {
        "Task" | "Parallel" => &["Arguments", "Output"],
        "Map" => &["Output", "Items"],
        "Fail" => &[],
        _ => &["Output"],
    };
    for k in obj.keys() {
        let k = k.as_str();
        if COMMON.contains(&k) {
            continue;
        }
        if jsonata {
            if JSONPATH_ONLY.contains(&k) && allowed.contains(&k) {
                cx.schema(
                    format!("{loc}/{}", esc(k)),
                    format!("The field '{k}' is not supported with QueryLanguage JSONata"),
                );
            } else if !allowed.contains(&k) && !jsonata_extra.contains(&k) {
                cx.schema(
                    format!("{loc}/{}", esc(k)),
                    format!("The field '{k}' is not supported by a {t} state"),
                );
            }
        } else if !allowed.contains(&k) {
            let msg = if ["Arguments", "Output", "Items"].contains(&k) {
                format!("The field '{k}' is only supported with QueryLanguage JSONata")
            } else {
                format!("The field '{k}' is not supported by a {t} state")
            };
            cx.schema(format!("{loc}/{}", esc(k)), msg);
        }
    }

    // Transitions.
    let terminal_kind = matches!(t, "Choice" | "Succeed" | "Fail");
    let next = obj.get("Next");
    let end = obj.get("End");
    let next = if terminal_kind {
        None
    } else {
        match (next, end) {
            (Some(_), Some(Value::Bool(true))) => {
                cx.schema(loc, "A state cannot have both 'Next' and 'End': true");
                None
            }
            (Some(Value::String(n)), _) => Some(n.clone()),
            (Some(_), _) => {
                cx.schema(format!("{loc}/Next"), "'Next' must be a string");
                None
            }
            (None, Some(Value::Bool(true))) => None,
            (None, Some(_)) => {
                cx.schema(
                    format!("{loc}/End"),
                    "'End' must be true when there is no 'Next'",
                );
                None
            }
            (None, None) => {
                cx.schema(
                    loc,
                    "A non-terminal state must have a 'Next' field or 'End': true",
                );
                None
            }
        }
    };
    if jsonata {
        return parse_jsonata_state(name, t, obj, loc, next, cx);
    }
    let input_path = path_field(obj, "InputPath", loc, cx);
    let output_path = path_field(obj, "OutputPath", loc, cx);
    let result_path = path_field(obj, "ResultPath", loc, cx);
    if let PathField::Path(p) = &result_path {
        if !p.definite || p.root != crate::path::Root::Input {
            cx.schema(
                format!("{loc}/ResultPath"),
                "ResultPath must be a reference path (no wildcards, filters, '$$' or variables)",
            );
        }
    }
    let parameters = if t == "Map" {
        None
    } else {
        template_field(obj, "Parameters", loc, cx)
    };
    let result_selector = template_field(obj, "ResultSelector", loc, cx);
    let (retry, catch) = retry_and_catch(obj, loc, false, cx);
    let assign = template_field(obj, "Assign", loc, cx);

    let kind = match t {
        "Pass" => Kind::Pass {
            result: obj.get("Result").cloned(),
        },
        "Succeed" => Kind::Succeed,
        "Fail" => Kind::Fail {
            error: string_or_dynamic(obj, "Error", loc, cx),
            cause: string_or_dynamic(obj, "Cause", loc, cx),
        },
        "Task" => {
            let resource = match obj.get("Resource").and_then(Value::as_str) {
                Some(r) if r.starts_with("arn:") => r.to_string(),
                Some(r) => {
                    cx.schema(
                        format!("{loc}/Resource"),
                        format!("Resource '{r}' is not a valid ARN"),
                    );
                    r.to_string()
                }
                None => {
                    cx.schema(
                        format!("{loc}/Resource"),
                        "A Task state must have a 'Resource' string",
                    );
                    String::new()
                }
            };
            let timeout = num_or_path(obj, "TimeoutSeconds", loc, cx, 1);
            let heartbeat = num_or_path(obj, "HeartbeatSeconds", loc, cx, 1);
            task_kind(resource, timeout, heartbeat, loc, cx)
        }
        "Choice" => choice_kind(obj, loc, cx, jsonpath_choice_rule),
        "Wait" => wait_kind(
            obj,
            loc,
            &["Seconds", "Timestamp", "SecondsPath", "TimestampPath"],
            "A Wait state must have exactly one of 'Seconds', 'Timestamp', 'SecondsPath' or 'TimestampPath'",
            cx,
            |k, v, _| match k {
                "Seconds" => v.as_u64().map(WaitFor::Seconds),
                "Timestamp" => v.as_str().and_then(parse_timestamp).map(WaitFor::Timestamp),
                "SecondsPath" => v
                    .as_str()
                    .and_then(|s| Path::parse(s).ok())
                    .map(WaitFor::SecondsPath),
                _ => v
                    .as_str()
                    .and_then(|s| Path::parse(s).ok())
                    .map(WaitFor::TimestampPath),
            },
        )?,
        "Parallel" => parallel_kind(obj, loc, cx),
        "Map" => {
            let (proc_key, proc) = match (obj.get("ItemProcessor"), obj.get("Iterator")) {
                (Some(_), Some(_)) => {
                    cx.schema(
                        loc,
                        "The fields 'ItemProcessor' and 'Iterator' cannot be used together",
                    );
                    return None;
                }
                (Some(p), None) => ("ItemProcessor", p),
                (None, Some(p)) => ("Iterator", p),
                (None, None) => {
                    cx.schema(
                        loc,
                        "A Map state must have an 'ItemProcessor' (or 'Iterator') field",
                    );
                    return None;
                }
            };
            let ploc = format!("{loc}/{proc_key}");
            let processor = parse_machine(proc, &ploc, false, cx)?;
            crate::validate::check_graph(&processor, &ploc, &mut cx.diags);
            let item_selector = match (obj.get("ItemSelector"), obj.get("Parameters")) {
                (Some(_), Some(_)) => {
                    cx.schema(
                        loc,
                        "The fields 'ItemSelector' and 'Parameters' cannot be used together",
                    );
                    None
                }
                (Some(_), None) => template_field(obj, "ItemSelector", loc, cx),
                (None, Some(_)) => template_field(obj, "Parameters", loc, cx),
                (None, None) => None,
            };
            unsupported_map_fields(obj, loc, cx);
            let max_concurrency = num_or_path(obj, "MaxConcurrency", loc, cx, 0);
            let tfc_path = obj
                .get("ToleratedFailureCountPath")
                .and_then(Value::as_str)
                .and_then(|s| Path::parse(s).ok());
            let tfp_path = obj
                .get("ToleratedFailurePercentagePath")
                .and_then(Value::as_str)
                .and_then(|s| Path::parse(s).ok());
            Kind::Map(Box::new(MapSpec {
                items_path: path_field(obj, "ItemsPath", loc, cx),
                item_selector,
                max_concurrency,
                processor: Arc::new(processor),
                tolerated_failure_count: obj.get("ToleratedFailureCount").cloned(),
                tolerated_failure_count_path: tfc_path,
                tolerated_failure_percentage: obj.get("ToleratedFailurePercentage").cloned(),
                tolerated_failure_percentage_path: tfp_path,
                items: None,
                jsonata_item_selector: None,
            }))
        }
        _ => return None,
    };
    Some(State {
        name: name.to_string(),
        kind,
        next,
        input_path,
        output_path,
        result_path,
        parameters,
        result_selector,
        retry,
        catch,
        assign,
        jsonata: None,
    })
}

/// The `Retry` and `Catch` fields of a state (`jsonata`: the catchers take JSONata fields).
fn retry_and_catch(
    obj: &Map<String, Value>,
    loc: &str,
    jsonata: bool,
    cx: &mut ParseContext,
) -> (Vec<Retrier>, Vec<Catcher>) {
    let retry = obj
        .get("Retry")
        .map(|r| parse_retry(r, &format!("{loc}/Retry"), cx))
        .unwrap_or_default();
    let catch = obj
        .get("Catch")
        .map(|c| parse_catch(c, &format!("{loc}/Catch"), jsonata, cx))
        .unwrap_or_default();
    (retry, catch)
}

/// A Task state's spec once its fields are read; a heartbeat must be shorter than the timeout.
fn task_kind(
    resource: String,
    timeout: Option<NumberOrPath>,
    heartbeat: Option<NumberOrPath>,
    loc: &str,
    cx: &mut ParseContext,
) -> Kind {
    if let (Some(NumberOrPath::Value(t)), Some(NumberOrPath::Value(h))) = (&timeout, &heartbeat) {
        if h >= t {
            cx.schema(
                format!("{loc}/HeartbeatSeconds"),
                "HeartbeatSeconds must be smaller than TimeoutSeconds",
            );
        }
    }
    Kind::Task(TaskSpec {
        wait_for_token: resource.ends_with(".waitForTaskToken"),
        resource,
        timeout,
        heartbeat,
    })
}

/// A Parallel state's branches (the same in both query languages).
fn parallel_kind(obj: &Map<String, Value>, loc: &str, cx: &mut ParseContext) -> Kind {
    let mut branches = Vec::new();
    match obj.get("Branches").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => {
            for (i, b) in a.iter().enumerate() {
                let bloc = format!("{loc}/Branches/{i}");
                if let Some(m) = parse_machine(b, &bloc, false, cx) {
                    crate::validate::check_graph(&m, &bloc, &mut cx.diags);
                    branches.push(Arc::new(m));
                }
            }
        }
        _ => cx.schema(
            format!("{loc}/Branches"),
            "Branches must be a non-empty array",
        ),
    }
    Kind::Parallel { branches }
}

/// A Choice state: `rule` reads one rule of `Choices` in the state's query language and
/// gives `None` to skip it (already reported), else the rule without its `next` (`None`
/// when it did not parse); the `Next` of each rule and the `Default` are read here.
fn choice_kind(
    obj: &Map<String, Value>,
    loc: &str,
    cx: &mut ParseContext,
    rule: fn(&Value, &str, &mut ParseContext) -> Option<Option<ChoiceRule>>,
) -> Kind {
    let mut rules = Vec::new();
    match obj.get("Choices").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => {
            for (i, r) in a.iter().enumerate() {
                let rloc = format!("{loc}/Choices/{i}");
                let Some(parsed) = rule(r, &rloc, cx) else {
                    continue;
                };
                match (parsed, r.get("Next").and_then(Value::as_str)) {
                    (Some(c), Some(n)) => rules.push(ChoiceRule {
                        next: n.to_string(),
                        ..c
                    }),
                    (_, None) => cx.schema(
                        format!("{rloc}/Next"),
                        "A choice rule must have a 'Next' field",
                    ),
                    _ => {}
                }
            }
        }
        _ => cx.schema(
            format!("{loc}/Choices"),
            "Choices must be a non-empty array",
        ),
    }
    let default = match obj.get("Default") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            cx.schema(format!("{loc}/Default"), "Default must be a string");
            None
        }
    };
    Kind::Choice { rules, default }
}

/// One JSONPath choice rule (see [`choice_kind`]).
fn jsonpath_choice_rule(
    r: &Value,
    rloc: &str,
    cx: &mut ParseContext,
) -> Option<Option<ChoiceRule>> {
    let mut errs = Vec::new();
    let mut rule_obj = r.clone();
    let mut rule_assign = None;
    if let Some(m) = rule_obj.as_object_mut() {
        m.remove("Next");
        m.remove("Comment");
        if let Some(a) = m.remove("Assign") {
            match Template::compile(&a) {
                Ok(t) => rule_assign = Some(t),
                Err(e) => cx.schema(format!("{rloc}/Assign{}", e.location), e.message),
            }
        }
    }
    let cond = parse_condition(&rule_obj, rloc, &mut errs);
    for (l, m) in errs {
        cx.schema(l, m);
    }
    Some(cond.map(|condition| ChoiceRule {
        condition,
        next: String::new(),
        assign: rule_assign,
        jsonata: None,
    }))
}

/// One JSONata choice rule (see [`choice_kind`]).
fn jsonata_choice_rule(r: &Value, rloc: &str, cx: &mut ParseContext) -> Option<Option<ChoiceRule>> {
    let Some(ro) = r.as_object() else {
        cx.schema(rloc, "A choice rule must be an object");
        return None;
    };
    for k in ro.keys() {
        if !["Condition", "Next", "Assign", "Output", "Comment"].contains(&k.as_str()) {
            cx.schema(
                format!("{rloc}/{}", esc(k)),
                format!("The field '{k}' is not supported in a JSONata choice rule"),
            );
        }
    }
    let condition = match ro.get("Condition") {
        Some(v @ Value::Bool(_)) => Some(JsonataTemplate::Literal(v.clone())),
        Some(v) if is_expression(v) => compile_jvalue(v, &format!("{rloc}/Condition"), cx),
        Some(_) => {
            cx.schema(
                format!("{rloc}/Condition"),
                "Condition must be a boolean or a JSONata expression",
            );
            None
        }
        None => {
            cx.schema(
                format!("{rloc}/Condition"),
                "A JSONata choice rule must have a 'Condition' field",
            );
            None
        }
    };
    let assign = jvalue_field(ro, "Assign", rloc, cx);
    let output = jvalue_field(ro, "Output", rloc, cx);
    Some(condition.map(|c| ChoiceRule {
        condition: crate::choice::Condition::And(Vec::new()),
        next: String::new(),
        assign: None,
        jsonata: Some(JsonataRule {
            condition: c,
            assign,
            output,
        }),
    }))
}

/// A Wait state: exactly one of `keys` must be present (else `missing` is reported);
/// `read` turns that field's value into what to wait for, `None` when it is invalid.
fn wait_kind(
    obj: &Map<String, Value>,
    loc: &str,
    keys: &[&str],
    missing: &str,
    cx: &mut ParseContext,
    read: impl FnOnce(&str, &Value, &mut ParseContext) -> Option<WaitFor>,
) -> Option<Kind> {
    let present: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| obj.contains_key(*k))
        .collect();
    if present.len() != 1 {
        cx.schema(loc, missing);
        return None;
    }
    let k = present[0];
    match read(k, &obj[k], cx) {
        Some(w) => Some(Kind::Wait(w)),
        None => {
            cx.schema(format!("{loc}/{k}"), format!("Invalid value for '{k}'"));
            None
        }
    }
}

/// Reports the distributed-map fields this interpreter does not run.
fn unsupported_map_fields(obj: &Map<String, Value>, loc: &str, cx: &mut ParseContext) {
    for k in ["ItemReader", "ResultWriter", "ItemBatcher"] {
        if obj.contains_key(k) {
            cx.err(
                DiagnosticCode::UnsupportedFeature,
                format!("{loc}/{k}"),
                format!("'{k}' is not supported by this interpreter"),
            );
        }
    }
}

fn jvalue_field(
    obj: &Map<String, Value>,
    key: &str,
    loc: &str,
    cx: &mut ParseContext,
) -> Option<JsonataTemplate> {
    let v = obj.get(key)?;
    if key == "Assign" && !v.is_object() {
        cx.schema(format!("{loc}/{key}"), "Assign must be an object");
        return None;
    }
    compile_jvalue(v, &format!("{loc}/{key}"), cx)
}

fn compile_jvalue(v: &Value, loc: &str, cx: &mut ParseContext) -> Option<JsonataTemplate> {
    match JsonataTemplate::compile(v) {
        Ok(j) => Some(j),
        Err((l, m)) => {
            cx.schema(format!("{loc}{l}"), m);
            None
        }
    }
}

/// A JSONata field that takes an integer (at least `min`) or an expression.
fn jsonata_number(
    obj: &Map<String, Value>,
    key: &str,
    loc: &str,
    cx: &mut ParseContext,
    min: u64,
) -> Option<NumberOrPath> {
    match obj.get(key)? {
        Value::String(s) if crate::query::expression_text(s).is_some() => {
            compile_jvalue(&Value::String(s.clone()), &format!("{loc}/{key}"), cx)
                .map(NumberOrPath::Expr)
        }
        v => match v.as_u64() {
            Some(n) if n >= min => Some(NumberOrPath::Value(n)),
            _ => {
                cx.schema(
                    format!("{loc}/{key}"),
                    format!("'{key}' must be an integer of at least {min} or a JSONata expression"),
                );
                None
            }
        },
    }
}

fn jsonata_string(
    obj: &Map<String, Value>,
    key: &str,
    loc: &str,
    cx: &mut ParseContext,
) -> Option<StringOrDynamic> {
    match obj.get(key)? {
        Value::String(s) => match crate::query::expression_text(s) {
            Some(_) => compile_jvalue(&Value::String(s.clone()), &format!("{loc}/{key}"), cx)
                .map(StringOrDynamic::Expr),
            None => Some(StringOrDynamic::Value(s.clone())),
        },
        _ => {
            cx.schema(format!("{loc}/{key}"), format!("'{key}' must be a string"));
            None
        }
    }
}

fn is_expression(v: &Value) -> bool {
    v.as_str().and_then(crate::query::expression_text).is_some()
}

/// Parses a state that uses JSONata (the common fields are already checked).
fn parse_jsonata_state(
    name: &str,
    t: &str,
    obj: &Map<String, Value>,
    loc: &str,
    next: Option<String>,
    cx: &mut ParseContext,
) -> Option<State> {
    let fields = JsonataFields {
        arguments: jvalue_field(obj, "Arguments", loc, cx),
        output: jvalue_field(obj, "Output", loc, cx),
        assign: jvalue_field(obj, "Assign", loc, cx),
    };
    let (retry, catch) = retry_and_catch(obj, loc, true, cx);
    let kind = match t {
        "Pass" => Kind::Pass { result: None },
        "Succeed" => Kind::Succeed,
        "Fail" => Kind::Fail {
            error: jsonata_string(obj, "Error", loc, cx),
            cause: jsonata_string(obj, "Cause", loc, cx),
        },
        "Task" => {
            let resource = match obj.get("Resource").and_then(Value::as_str) {
                Some(r) if r.starts_with("arn:") => r.to_string(),
                _ => {
                    cx.schema(
                        format!("{loc}/Resource"),
                        "A Task state must have a 'Resource' ARN",
                    );
                    String::new()
                }
            };
            let timeout = jsonata_number(obj, "TimeoutSeconds", loc, cx, 1);
            let heartbeat = jsonata_number(obj, "HeartbeatSeconds", loc, cx, 1);
            task_kind(resource, timeout, heartbeat, loc, cx)
        }
        "Choice" => choice_kind(obj, loc, cx, jsonata_choice_rule),
        "Wait" => wait_kind(
            obj,
            loc,
            &["Seconds", "Timestamp"],
            "A Wait state must have exactly one of 'Seconds' or 'Timestamp'",
            cx,
            |k, v, cx| {
                if is_expression(v) {
                    compile_jvalue(v, &format!("{loc}/{k}"), cx).map(|j| {
                        if k == "Seconds" {
                            WaitFor::SecondsExpr(j)
                        } else {
                            WaitFor::TimestampExpr(j)
                        }
                    })
                } else if k == "Seconds" {
                    v.as_u64().map(WaitFor::Seconds)
                } else {
                    v.as_str().and_then(parse_timestamp).map(WaitFor::Timestamp)
                }
            },
        )?,
        "Parallel" => parallel_kind(obj, loc, cx),
        "Map" => {
            let Some(proc) = obj.get("ItemProcessor") else {
                cx.schema(loc, "A Map state must have an 'ItemProcessor' field");
                return None;
            };
            let ploc = format!("{loc}/ItemProcessor");
            let processor = parse_machine(proc, &ploc, false, cx)?;
            crate::validate::check_graph(&processor, &ploc, &mut cx.diags);
            unsupported_map_fields(obj, loc, cx);
            let items = match obj.get("Items") {
                None => None,
                Some(v) if v.is_array() || is_expression(v) => {
                    compile_jvalue(v, &format!("{loc}/Items"), cx)
                }
                Some(_) => {
                    cx.schema(
                        format!("{loc}/Items"),
                        "Items must be an array or a JSONata expression",
                    );
                    None
                }
            };
            let tolerated = |key: &str, cx: &mut ParseContext| -> Option<Value> {
                let v = obj.get(key)?;
                if is_expression(v) || v.is_number() {
                    Some(v.clone())
                } else {
                    cx.schema(
                        format!("{loc}/{key}"),
                        format!("'{key}' must be a number or a JSONata expression"),
                    );
                    None
                }
            };
            let tfc = tolerated("ToleratedFailureCount", cx);
            let tfp = tolerated("ToleratedFailurePercentage", cx);
            Kind::Map(Box::new(MapSpec {
                items_path: PathField::Default,
                item_selector: None,
                max_concurrency: jsonata_number(obj, "MaxConcurrency", loc, cx, 0),
                processor: Arc::new(processor),
                tolerated_failure_count: tfc,
                tolerated_failure_count_path: None,
                tolerated_failure_percentage: tfp,
                tolerated_failure_percentage_path: None,
                items,
                jsonata_item_selector: jvalue_field(obj, "ItemSelector", loc, cx),
            }))
        }
        _ => return None,
    };
    Some(State {
        name: name.to_string(),
        kind,
        next,
        input_path: PathField::Default,
        output_path: PathField::Default,
        result_path: PathField::Default,
        parameters: None,
        result_selector: None,
        retry,
        catch,
        assign: None,
        jsonata: Some(Box::new(fields)),
    })
}
