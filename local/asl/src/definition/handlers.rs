//! `Retry` and `Catch`: their entries parsed and checked.

use super::*;

/// What a retrier and a catcher (`noun`) check alike: the entry is an object with only
/// `allowed` fields and a valid `ErrorEquals`, where `States.ALL` may only stand in the
/// `last` entry. Gives the object and its error names, `None` when it is not an object.
pub(super) fn handler_entry<'v>(
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

pub(super) fn parse_retry(v: &Value, loc: &str, cx: &mut ParseContext) -> Vec<Retrier> {
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

pub(super) fn parse_catch(
    v: &Value,
    loc: &str,
    jsonata: bool,
    cx: &mut ParseContext,
) -> Vec<Catcher> {
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
                output: jsonata_template_field(o, "Output", &cloc, cx),
                assign: jsonata_template_field(o, "Assign", &cloc, cx),
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

/// The `Retry` and `Catch` fields of a state (`jsonata`: the catchers take JSONata fields).
pub(super) fn retry_and_catch(
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
