//! The typed model of a state machine definition, and its parser.
//!
//! [`StateMachine::parse`] reads the JSON text, checks every field the way
//! `ValidateStateMachineDefinition` does and returns either a ready-to-run model or every
//! problem found, each with its JSON-pointer location (see [`crate::validate`]).
//!
//! This module holds the model and the machine-level parse; `fields` the fields each state may
//! carry and the parsers of single fields, `handlers` `Retry` and `Catch`, `states` each kind
//! of state.

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

mod fields;
mod handlers;
mod states;

use fields::*;
use handlers::*;
use states::*;

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
