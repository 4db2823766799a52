//! The JSONata function library, with the Step Functions extras (`$partition`, `$range`,
//! `$hash`, `$random`, `$uuid`, `$parse`). This module holds the shared helpers, the core
//! functions (`$string`, `$number`, `$boolean`, `$count`, the aggregates) and the higher-order
//! ones (`$map`, `$filter`, `$single`, `$reduce`), `$error` and `$assert`; `strings`,
//! `collections` and `numbers` the rest.

use std::cell::RefCell;
use std::rc::Rc;

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};

use super::eval::{arity, call, deep_equal, lookup, truthy, EvalContext, Func, JsonataValue};
use super::JError;

mod collections;
mod numbers;
mod strings;

const NAMES: &[&str] = &[
    "string",
    "number",
    "boolean",
    "not",
    "exists",
    "count",
    "sum",
    "max",
    "min",
    "average",
    "length",
    "substring",
    "substringBefore",
    "substringAfter",
    "uppercase",
    "lowercase",
    "trim",
    "pad",
    "contains",
    "split",
    "join",
    "replace",
    "keys",
    "lookup",
    "merge",
    "append",
    "type",
    "each",
    "sift",
    "spread",
    "distinct",
    "sort",
    "reverse",
    "shuffle",
    "zip",
    "round",
    "floor",
    "ceil",
    "abs",
    "sqrt",
    "power",
    "now",
    "millis",
    "fromMillis",
    "toMillis",
    "random",
    "uuid",
    "partition",
    "range",
    "hash",
    "parse",
    "base64encode",
    "base64decode",
    "map",
    "filter",
    "reduce",
    "single",
    "error",
    "assert",
    "encodeUrlComponent",
    "decodeUrlComponent",
];

/// The canonical name of a built-in function, if `name` is one.
pub(crate) fn builtin(name: &str) -> Option<&'static str> {
    NAMES.iter().copied().find(|n| *n == name)
}

fn sig(i: usize, name: &str) -> JError {
    JError::new(
        "T0410",
        format!("Argument {i} of function \"{name}\" does not match function signature"),
    )
}

/// Formats a number as JSONata does: rounded to 15 significant digits (`toPrecision(15)`),
/// then JavaScript's `Number.prototype.toString` (exponent form below 1e-6 and from 1e21, as
/// `5e-7` and `1e+21`), which `ryu-js` implements exactly.
pub(crate) fn num_string(n: f64) -> String {
    let rounded: f64 = format!("{n:.14e}").parse().unwrap_or(n);
    ryu_js::Buffer::new().format(rounded).to_string()
}

fn json_string(s: &str, out: &mut String) {
    out.push_str(&serde_json::Value::String(s.to_string()).to_string());
}

fn stringify(v: &JsonataValue, out: &mut String) {
    match v {
        JsonataValue::Null => out.push_str("null"),
        JsonataValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        JsonataValue::Num(n) => out.push_str(&num_string(*n)),
        JsonataValue::Str(s) => json_string(s, out),
        JsonataValue::Arr(a, _) => {
            out.push('[');
            let mut first = true;
            for it in a.iter() {
                if matches!(it, JsonataValue::Func(_)) {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                stringify(it, out);
            }
            out.push(']');
        }
        JsonataValue::Obj(m) => {
            out.push('{');
            let mut first = true;
            for (k, it) in m.iter() {
                if matches!(it, JsonataValue::Func(_)) {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                json_string(k, out);
                out.push(':');
                stringify(it, out);
            }
            out.push('}');
        }
        JsonataValue::Func(_) => out.push_str("\"\""),
    }
}

/// `$string`: strings as they are, everything else as compact JSON.
pub(crate) fn to_string(v: &JsonataValue) -> String {
    match v {
        JsonataValue::Str(s) => s.to_string(),
        JsonataValue::Func(_) => String::new(),
        other => {
            let mut s = String::new();
            stringify(other, &mut s);
            s
        }
    }
}

fn items(v: &JsonataValue) -> Vec<JsonataValue> {
    match v {
        JsonataValue::Arr(a, _) => a.to_vec(),
        other => vec![other.clone()],
    }
}

fn numbers(v: &Option<JsonataValue>, name: &str) -> Result<Option<Vec<f64>>, JError> {
    let Some(v) = v else { return Ok(None) };
    items(v)
        .iter()
        .map(|x| match x {
            JsonataValue::Num(n) => Ok(*n),
            _ => Err(JError::new(
                "T0412",
                format!("Argument 1 of function \"{name}\" must be an array of numbers"),
            )),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn string_arg<'a>(
    v: &'a Option<JsonataValue>,
    i: usize,
    name: &str,
) -> Result<Option<&'a str>, JError> {
    match v {
        None => Ok(None),
        Some(JsonataValue::Str(s)) => Ok(Some(s)),
        Some(_) => Err(sig(i, name)),
    }
}

fn num_arg(v: &Option<JsonataValue>, i: usize, name: &str) -> Result<Option<f64>, JError> {
    match v {
        None => Ok(None),
        Some(JsonataValue::Num(n)) => Ok(Some(*n)),
        Some(_) => Err(sig(i, name)),
    }
}

fn fmt_millis(ms: i64) -> Option<String> {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn cast_number(s: &str) -> Option<f64> {
    let t = s.trim();
    let parsed = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok().map(|n| n as f64)
    } else if let Some(b) = t.strip_prefix("0b").or_else(|| t.strip_prefix("0B")) {
        i64::from_str_radix(b, 2).ok().map(|n| n as f64)
    } else if let Some(o) = t.strip_prefix("0o").or_else(|| t.strip_prefix("0O")) {
        i64::from_str_radix(o, 8).ok().map(|n| n as f64)
    } else {
        match serde_json::from_str::<serde_json::Value>(t) {
            Ok(serde_json::Value::Number(n)) => n.as_f64(),
            _ => None,
        }
    };
    parsed.filter(|n| n.is_finite())
}

/// Calls `f` with as many of `args` as it takes.
fn apply(
    f: &Rc<Func>,
    args: &[JsonataValue],
    input: Option<&JsonataValue>,
    cx: &mut EvalContext,
) -> Result<Option<JsonataValue>, JError> {
    let n = arity(f).min(args.len()).max(1);
    let a: Vec<Option<JsonataValue>> = args.iter().take(n).cloned().map(Some).collect();
    call(f, a, input, cx)
}

fn func_arg(v: &Option<JsonataValue>, i: usize, name: &str) -> Result<Rc<Func>, JError> {
    match v {
        Some(JsonataValue::Func(f)) => Ok(f.clone()),
        _ => Err(sig(i, name)),
    }
}

fn split_with(s: &str, sep: &JsonataValue, name: &str) -> Result<Vec<String>, JError> {
    Ok(match sep {
        JsonataValue::Str(p) if p.is_empty() => s.chars().map(|c| c.to_string()).collect(),
        JsonataValue::Str(p) => s.split(p.as_ref()).map(String::from).collect(),
        JsonataValue::Func(f) => match f.as_ref() {
            Func::Regex(re) => {
                let chars: Vec<char> = s.chars().collect();
                let subject = super::regex::Subject::new(s);
                let mut out = Vec::new();
                let mut last = 0;
                let mut pos = 0;
                while pos <= chars.len() {
                    match re.find_at(&subject, pos) {
                        Some((a, b)) => {
                            out.push(chars[last..a].iter().collect());
                            last = b;
                            pos = if b > a { b } else { b + 1 };
                        }
                        None => break,
                    }
                }
                out.push(chars[last.min(chars.len())..].iter().collect());
                out
            }
            _ => return Err(sig(2, name)),
        },
        _ => return Err(sig(2, name)),
    })
}

/// Calls a built-in function.
pub(crate) fn call_builtin(
    name: &str,
    mut args: Vec<Option<JsonataValue>>,
    input: Option<&JsonataValue>,
    cx: &mut EvalContext,
) -> Result<Option<JsonataValue>, JError> {
    // Functions that default their first argument to the context.
    if args.is_empty()
        && matches!(
            name,
            "string"
                | "number"
                | "boolean"
                | "length"
                | "uppercase"
                | "lowercase"
                | "trim"
                | "base64encode"
                | "base64decode"
                | "keys"
                | "count"
                | "exists"
        )
        && !matches!(name, "count" | "exists")
    {
        args.push(input.cloned());
    }
    while args.len() < 4 {
        args.push(None);
    }
    if strings::NAMES.contains(&name) {
        return strings::call(name, &args);
    }
    if collections::NAMES.contains(&name) {
        return collections::call(name, &args, input, cx);
    }
    if numbers::NAMES.contains(&name) {
        return numbers::call(name, &args, cx);
    }
    let a0 = &args[0];
    let a1 = &args[1];
    let a2 = &args[2];
    Ok(match name {
        "string" => a0.as_ref().map(|v| JsonataValue::str(&to_string(v))),
        "number" => match a0 {
            None => None,
            Some(JsonataValue::Num(n)) => Some(JsonataValue::Num(*n)),
            Some(JsonataValue::Bool(b)) => Some(JsonataValue::Num(if *b { 1.0 } else { 0.0 })),
            Some(JsonataValue::Str(s)) => match cast_number(s) {
                Some(n) => Some(JsonataValue::Num(n)),
                None => {
                    return Err(JError::new(
                        "D3030",
                        format!("Unable to cast value to a number: \"{s}\""),
                    ))
                }
            },
            Some(v) => {
                return Err(JError::new(
                    "D3030",
                    format!("Unable to cast value to a number: {}", to_string(v)),
                ))
            }
        },
        "boolean" => a0.as_ref().map(|v| JsonataValue::Bool(truthy(v))),
        "not" => a0.as_ref().map(|v| JsonataValue::Bool(!truthy(v))),
        "exists" => Some(JsonataValue::Bool(a0.is_some())),
        "count" => Some(JsonataValue::Num(match a0 {
            None => 0.0,
            Some(JsonataValue::Arr(a, _)) => a.len() as f64,
            Some(_) => 1.0,
        })),
        "sum" => numbers(a0, name)?.map(|v| JsonataValue::Num(v.iter().sum())),
        "max" => numbers(a0, name)?
            .filter(|v| !v.is_empty())
            .map(|v| JsonataValue::Num(v.iter().copied().fold(f64::NEG_INFINITY, f64::max))),
        "min" => numbers(a0, name)?
            .filter(|v| !v.is_empty())
            .map(|v| JsonataValue::Num(v.iter().copied().fold(f64::INFINITY, f64::min))),
        "average" => numbers(a0, name)?
            .filter(|v| !v.is_empty())
            .map(|v| JsonataValue::Num(v.iter().sum::<f64>() / v.len() as f64)),
        "map" | "filter" => {
            let Some(v) = a0 else { return Ok(None) };
            let f = func_arg(a1, 2, name)?;
            let arr = items(v);
            let whole = JsonataValue::array(arr.clone());
            let mut out = Vec::new();
            for (i, it) in arr.iter().enumerate() {
                let r = apply(
                    &f,
                    &[it.clone(), JsonataValue::Num(i as f64), whole.clone()],
                    input,
                    cx,
                )?;
                if name == "map" {
                    if let Some(r) = r {
                        out.push(r);
                    }
                } else if r.as_ref().is_some_and(truthy) {
                    out.push(it.clone());
                }
            }
            Some(JsonataValue::seq(out))
        }
        "single" => {
            let Some(v) = a0 else { return Ok(None) };
            let arr = items(v);
            let mut found = None;
            for (i, it) in arr.iter().enumerate() {
                let hit = match a1 {
                    None => true,
                    Some(_) => {
                        let f = func_arg(a1, 2, name)?;
                        apply(
                            &f,
                            &[
                                it.clone(),
                                JsonataValue::Num(i as f64),
                                JsonataValue::array(arr.clone()),
                            ],
                            input,
                            cx,
                        )?
                        .as_ref()
                        .is_some_and(truthy)
                    }
                };
                if hit {
                    if found.is_some() {
                        return Err(JError::new("D3138", "The $single() function expected exactly 1 matching result.  Instead it matched more."));
                    }
                    found = Some(it.clone());
                }
            }
            match found {
                Some(f) => Some(f),
                None => return Err(JError::new("D3139", "The $single() function expected exactly 1 matching result.  Instead it matched 0.")),
            }
        }
        "reduce" => {
            let Some(v) = a0 else { return Ok(None) };
            let f = func_arg(a1, 2, name)?;
            if arity(&f) < 2 {
                return Err(JError::new("D3050", "The second argument of reduce function must be a function with at least two arguments"));
            }
            let arr = items(v);
            let (mut acc, start) = match a2 {
                Some(init) => (Some(init.clone()), 0),
                None => (arr.first().cloned(), 1),
            };
            for (i, it) in arr.iter().enumerate().skip(start) {
                let a: Vec<Option<JsonataValue>> = vec![
                    acc,
                    Some(it.clone()),
                    Some(JsonataValue::Num(i as f64)),
                    Some(JsonataValue::array(arr.clone())),
                ];
                let n = arity(&f).min(4);
                acc = call(&f, a.into_iter().take(n).collect(), input, cx)?;
            }
            acc
        }
        "error" => {
            let msg = string_arg(a0, 1, name)?.unwrap_or("$error() function evaluated");
            return Err(JError::new("D3137", msg));
        }
        "assert" => {
            let ok = match a0 {
                Some(JsonataValue::Bool(b)) => *b,
                _ => {
                    return Err(JError::new(
                        "T0410",
                        "Argument 1 of function \"assert\" does not match function signature",
                    ))
                }
            };
            if !ok {
                let msg = string_arg(a1, 2, name)?.unwrap_or("$assert() statement failed");
                return Err(JError::new("D3141", msg));
            }
            None
        }
        _ => return Err(JError::new("T1006", "Attempted to invoke a non-function")),
    })
}

#[cfg(test)]
mod tests {
    use super::strings::{decode_uri_component, URI_COMPONENT};

    /// Every function a group answers is a known built-in, and no two groups answer one.
    #[test]
    fn the_groups_answer_known_functions_once() {
        let groups = [
            super::strings::NAMES,
            super::collections::NAMES,
            super::numbers::NAMES,
        ];
        let mut seen = std::collections::HashSet::new();
        for name in groups.iter().flat_map(|g| g.iter()) {
            assert!(NAMES.contains(name), "{name} is not in NAMES");
            assert!(seen.insert(*name), "{name} is in two groups");
        }
    }
    use super::*;

    /// Numbers print as JSONata prints them, JavaScript's forms included.
    #[test]
    fn numbers_print_as_javascript_does() {
        for (n, want) in [
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-42.5, "-42.5"),
            (0.1 + 0.2, "0.3"),
            (0.000001, "0.000001"),
            (5e-7, "5e-7"),
            (1.5e-10, "1.5e-10"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (123456789012345678.0, "123456789012346000"),
            (1.0 / 3.0, "0.333333333333333"),
        ] {
            assert_eq!(num_string(n), want, "{n:e}");
        }
    }

    /// `$encodeUrlComponent` and `$decodeUrlComponent` behave as JavaScript's functions: the
    /// unreserved set left alone, UTF-8 escaped in upper case, and malformed input refused.
    #[test]
    fn url_components_follow_javascript() {
        let enc = |s: &str| percent_encoding::utf8_percent_encode(s, URI_COMPONENT).to_string();
        assert_eq!(enc("a-b_c.d!e~f*g'h(i)j"), "a-b_c.d!e~f*g'h(i)j");
        assert_eq!(enc("a b/c?d=é"), "a%20b%2Fc%3Fd%3D%C3%A9");
        assert_eq!(
            decode_uri_component("a%20b%2Fc%3Fd%3D%C3%A9").as_deref(),
            Some("a b/c?d=é")
        );
        assert_eq!(decode_uri_component("plain").as_deref(), Some("plain"));
        for bad in ["%", "%4", "abc%zz", "%C3"] {
            assert_eq!(decode_uri_component(bad), None, "{bad}");
        }
    }
}
