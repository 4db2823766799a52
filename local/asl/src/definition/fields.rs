//! The fields every state may carry, by type and query language, and the parsers of single
//! fields: paths, templates, numbers or paths, JSONata expressions, `ErrorEquals`.

use super::*;

pub(super) const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];

/// Fields that only JSONPath states may use.
pub(super) const JSONPATH_ONLY: &[&str] = &[
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

pub(super) fn allowed_fields(t: &str) -> &'static [&'static str] {
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

pub(super) fn path_field(
    obj: &Map<String, Value>,
    key: &str,
    loc: &str,
    cx: &mut ParseContext,
) -> PathField {
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

pub(super) fn template_field(
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

pub(super) fn num_or_path(
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

pub(super) fn string_or_dynamic(
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

pub(super) fn error_equals(v: Option<&Value>, loc: &str, cx: &mut ParseContext) -> Vec<String> {
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

pub(super) fn jsonata_template_field(
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
    compile_jsonata_template(v, &format!("{loc}/{key}"), cx)
}

pub(super) fn compile_jsonata_template(
    v: &Value,
    loc: &str,
    cx: &mut ParseContext,
) -> Option<JsonataTemplate> {
    match JsonataTemplate::compile(v) {
        Ok(j) => Some(j),
        Err((l, m)) => {
            cx.schema(format!("{loc}{l}"), m);
            None
        }
    }
}

/// A JSONata field that takes an integer (at least `min`) or an expression.
pub(super) fn jsonata_number(
    obj: &Map<String, Value>,
    key: &str,
    loc: &str,
    cx: &mut ParseContext,
    min: u64,
) -> Option<NumberOrPath> {
    match obj.get(key)? {
        Value::String(s) if crate::query::expression_text(s).is_some() => {
            compile_jsonata_template(&Value::String(s.clone()), &format!("{loc}/{key}"), cx)
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

pub(super) fn jsonata_string(
    obj: &Map<String, Value>,
    key: &str,
    loc: &str,
    cx: &mut ParseContext,
) -> Option<StringOrDynamic> {
    match obj.get(key)? {
        Value::String(s) => match crate::query::expression_text(s) {
            Some(_) => {
                compile_jsonata_template(&Value::String(s.clone()), &format!("{loc}/{key}"), cx)
                    .map(StringOrDynamic::Expr)
            }
            None => Some(StringOrDynamic::Value(s.clone())),
        },
        _ => {
            cx.schema(format!("{loc}/{key}"), format!("'{key}' must be a string"));
            None
        }
    }
}

pub(super) fn is_expression(v: &Value) -> bool {
    v.as_str().and_then(crate::query::expression_text).is_some()
}
