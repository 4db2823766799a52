//! The JSONata function library, with the Step Functions extras (`$partition`, `$range`,
//! `$hash`, `$random`, `$uuid`, `$parse`).

use std::cell::RefCell;
use std::rc::Rc;

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};

use super::eval::{arity, call, deep_equal, lookup, truthy, EvalContext, Func, JsonataValue};
use super::JError;

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
                let mut out = Vec::new();
                let mut last = 0;
                let mut pos = 0;
                while pos <= chars.len() {
                    match re.find_at(&chars, pos) {
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
        "length" => string_arg(a0, 1, name)?.map(|s| JsonataValue::Num(s.chars().count() as f64)),
        "substring" => {
            let Some(s) = string_arg(a0, 1, name)? else {
                return Ok(None);
            };
            let chars: Vec<char> = s.chars().collect();
            let len = chars.len() as i64;
            let Some(start) = num_arg(a1, 2, name)? else {
                return Err(sig(2, name));
            };
            let mut start = start.floor() as i64;
            if start < 0 {
                start = (len + start).max(0);
            }
            let start = start.min(len);
            let end = match num_arg(a2, 3, name)? {
                None => len,
                Some(l) if l <= 0.0 => start,
                Some(l) => (start + l.floor() as i64).min(len),
            };
            Some(JsonataValue::str(
                &chars[start as usize..end as usize]
                    .iter()
                    .collect::<String>(),
            ))
        }
        "substringBefore" | "substringAfter" => {
            let Some(s) = string_arg(a0, 1, name)? else {
                return Ok(None);
            };
            let Some(c) = string_arg(a1, 2, name)? else {
                return Ok(Some(JsonataValue::str(s)));
            };
            Some(JsonataValue::str(match s.find(c) {
                None => s,
                Some(i) if name == "substringBefore" => &s[..i],
                Some(i) => &s[i + c.len()..],
            }))
        }
        "uppercase" => string_arg(a0, 1, name)?.map(|s| JsonataValue::str(&s.to_uppercase())),
        "lowercase" => string_arg(a0, 1, name)?.map(|s| JsonataValue::str(&s.to_lowercase())),
        "trim" => string_arg(a0, 1, name)?
            .map(|s| JsonataValue::str(&s.split_whitespace().collect::<Vec<_>>().join(" "))),
        "pad" => {
            let Some(s) = string_arg(a0, 1, name)? else {
                return Ok(None);
            };
            let Some(w) = num_arg(a1, 2, name)? else {
                return Err(sig(2, name));
            };
            let ch = string_arg(a2, 3, name)?
                .filter(|c| !c.is_empty())
                .unwrap_or(" ");
            let len = s.chars().count() as i64;
            let target = w.abs().floor() as i64;
            if target <= len {
                return Ok(Some(JsonataValue::str(s)));
            }
            let padding: String = ch.chars().cycle().take((target - len) as usize).collect();
            Some(JsonataValue::str(&if w < 0.0 {
                padding + s
            } else {
                s.to_string() + &padding
            }))
        }
        "contains" => {
            let Some(s) = string_arg(a0, 1, name)? else {
                return Ok(None);
            };
            Some(JsonataValue::Bool(match a1 {
                Some(JsonataValue::Str(p)) => s.contains(p.as_ref()),
                Some(JsonataValue::Func(f)) => match f.as_ref() {
                    Func::Regex(re) => re.is_match(s),
                    _ => return Err(sig(2, name)),
                },
                _ => return Err(sig(2, name)),
            }))
        }
        "split" => {
            let Some(s) = string_arg(a0, 1, name)? else {
                return Ok(None);
            };
            let Some(sep) = a1 else {
                return Err(sig(2, name));
            };
            let mut parts = split_with(s, sep, name)?;
            if let Some(l) = num_arg(a2, 3, name)? {
                if l < 0.0 {
                    return Err(JError::new(
                        "D3020",
                        "Third argument of split function must evaluate to a positive number",
                    ));
                }
                parts.truncate(l as usize);
            }
            Some(JsonataValue::array(
                parts.iter().map(|p| JsonataValue::str(p)).collect(),
            ))
        }
        "join" => {
            let Some(v) = a0 else { return Ok(None) };
            let sep = string_arg(a1, 2, name)?.unwrap_or("");
            let mut parts = Vec::new();
            for it in items(v) {
                match it {
                    JsonataValue::Str(s) => parts.push(s.to_string()),
                    _ => return Err(sig(1, name)),
                }
            }
            Some(JsonataValue::str(&parts.join(sep)))
        }
        "replace" => {
            let Some(s) = string_arg(a0, 1, name)? else {
                return Ok(None);
            };
            let Some(rep) = string_arg(a2, 3, name)? else {
                return Err(sig(3, name));
            };
            let limit = num_arg(&args[3], 4, name)?.map(|l| l as usize);
            match a1 {
                Some(JsonataValue::Str(p)) if p.is_empty() => {
                    return Err(JError::new(
                        "D3010",
                        "Second argument of replace function cannot be an empty string",
                    ))
                }
                Some(JsonataValue::Str(p)) => Some(JsonataValue::str(&match limit {
                    Some(l) => s.replacen(p.as_ref(), rep, l),
                    None => s.replace(p.as_ref(), rep),
                })),
                Some(JsonataValue::Func(f)) if matches!(f.as_ref(), Func::Regex(_)) => {
                    let Func::Regex(re) = f.as_ref() else {
                        return Ok(None);
                    };
                    let chars: Vec<char> = s.chars().collect();
                    let mut out = String::new();
                    let mut pos = 0;
                    let mut count = 0;
                    while pos <= chars.len() && limit.is_none_or(|l| count < l) {
                        let Some(found) = re.captures_at(&chars, pos) else {
                            break;
                        };
                        let (a, b) = (found.start, found.end);
                        if b == a {
                            return Err(JError::new(
                                "D1004",
                                "Regular expression matches zero length string",
                            ));
                        }
                        out.extend(&chars[pos..a]);
                        let m: String = chars[a..b].iter().collect();
                        out.push_str(&super::regex::expand(rep, &found, &m));
                        pos = b;
                        count += 1;
                    }
                    out.extend(&chars[pos.min(chars.len())..]);
                    Some(JsonataValue::str(&out))
                }
                _ => return Err(sig(2, name)),
            }
        }
        "keys" => {
            let Some(v) = a0 else { return Ok(None) };
            let mut keys: Vec<String> = Vec::new();
            for it in items(v) {
                if let JsonataValue::Obj(m) = it {
                    for (k, _) in m.iter() {
                        if !keys.contains(k) {
                            keys.push(k.clone());
                        }
                    }
                }
            }
            Some(JsonataValue::seq(
                keys.iter().map(|k| JsonataValue::str(k)).collect(),
            ))
        }
        "lookup" => {
            let Some(v) = a0 else { return Ok(None) };
            let Some(k) = string_arg(a1, 2, name)? else {
                return Err(sig(2, name));
            };
            lookup(v, k)
        }
        "merge" => {
            let Some(v) = a0 else { return Ok(None) };
            let mut out: Vec<(String, JsonataValue)> = Vec::new();
            for it in items(v) {
                let JsonataValue::Obj(m) = it else {
                    return Err(sig(1, name));
                };
                for (k, x) in m.iter() {
                    match out.iter_mut().find(|(k2, _)| k2 == k) {
                        Some(slot) => slot.1 = x.clone(),
                        None => out.push((k.clone(), x.clone())),
                    }
                }
            }
            Some(JsonataValue::object(out))
        }
        "append" => match (a0, a1) {
            (None, b) => b.clone(),
            (a, None) => a.clone(),
            (Some(a), Some(b)) => {
                let mut v = items(a);
                v.extend(items(b));
                Some(JsonataValue::array(v))
            }
        },
        "type" => a0.as_ref().map(|v| JsonataValue::str(v.type_name())),
        "each" => {
            let Some(JsonataValue::Obj(m)) = a0 else {
                return if a0.is_none() {
                    Ok(None)
                } else {
                    Err(sig(1, name))
                };
            };
            let f = func_arg(a1, 2, name)?;
            let mut out = Vec::new();
            for (k, v) in m.iter() {
                if let Some(r) = apply(
                    &f,
                    &[
                        v.clone(),
                        JsonataValue::str(k),
                        JsonataValue::Obj(m.clone()),
                    ],
                    input,
                    cx,
                )? {
                    out.push(r);
                }
            }
            Some(JsonataValue::seq(out))
        }
        "sift" => {
            let Some(JsonataValue::Obj(m)) = a0 else {
                return if a0.is_none() {
                    Ok(None)
                } else {
                    Err(sig(1, name))
                };
            };
            let f = func_arg(a1, 2, name)?;
            let mut out = Vec::new();
            for (k, v) in m.iter() {
                let r = apply(
                    &f,
                    &[
                        v.clone(),
                        JsonataValue::str(k),
                        JsonataValue::Obj(m.clone()),
                    ],
                    input,
                    cx,
                )?;
                if r.as_ref().is_some_and(truthy) {
                    out.push((k.clone(), v.clone()));
                }
            }
            if out.is_empty() {
                None
            } else {
                Some(JsonataValue::object(out))
            }
        }
        "spread" => {
            let Some(v) = a0 else { return Ok(None) };
            let mut out = Vec::new();
            for it in items(v) {
                match it {
                    JsonataValue::Obj(m) => {
                        for (k, x) in m.iter() {
                            out.push(JsonataValue::object(vec![(k.clone(), x.clone())]));
                        }
                    }
                    other => out.push(other),
                }
            }
            Some(JsonataValue::seq(out))
        }
        "distinct" => {
            let Some(v) = a0 else { return Ok(None) };
            let JsonataValue::Arr(..) = v else {
                return Ok(Some(v.clone()));
            };
            let mut out: Vec<JsonataValue> = Vec::new();
            for it in items(v) {
                if !out.iter().any(|x| deep_equal(x, &it)) {
                    out.push(it);
                }
            }
            Some(JsonataValue::seq(out))
        }
        "reverse" => a0.as_ref().map(|v| {
            let mut v = items(v);
            v.reverse();
            JsonataValue::array(v)
        }),
        "shuffle" => a0.as_ref().map(|v| {
            let mut v = items(v);
            for i in (1..v.len()).rev() {
                let j = ((cx.host.random() * (i + 1) as f64) as usize).min(i);
                v.swap(i, j);
            }
            JsonataValue::array(v)
        }),
        "sort" => {
            let Some(v) = a0 else { return Ok(None) };
            let mut v = items(v);
            let err: RefCell<Option<JError>> = RefCell::new(None);
            match a1 {
                None => {
                    if v.iter().all(|x| matches!(x, JsonataValue::Num(_))) {
                        v.sort_by(|a, b| match (a, b) {
                            (JsonataValue::Num(x), JsonataValue::Num(y)) => {
                                x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal)
                            }
                            _ => std::cmp::Ordering::Equal,
                        });
                    } else if v.iter().all(|x| matches!(x, JsonataValue::Str(_))) {
                        v.sort_by(|a, b| match (a, b) {
                            (JsonataValue::Str(x), JsonataValue::Str(y)) => x.cmp(y),
                            _ => std::cmp::Ordering::Equal,
                        });
                    } else {
                        return Err(JError::new("D3070", "The single argument form of the sort function can only be applied to an array of strings or an array of numbers.  Use the second argument to specify a comparison function"));
                    }
                }
                Some(_) => {
                    let f = func_arg(a1, 2, name)?;
                    let mut cmp = |a: &JsonataValue, b: &JsonataValue| -> std::cmp::Ordering {
                        if err.borrow().is_some() {
                            return std::cmp::Ordering::Equal;
                        }
                        match apply(&f, &[a.clone(), b.clone()], input, cx) {
                            Ok(r) if r.as_ref().is_some_and(truthy) => std::cmp::Ordering::Greater,
                            Ok(_) => std::cmp::Ordering::Less,
                            Err(e) => {
                                *err.borrow_mut() = Some(e);
                                std::cmp::Ordering::Equal
                            }
                        }
                    };
                    // A stable insertion-based merge: the comparator only says "a after b".
                    let mut sorted: Vec<JsonataValue> = Vec::with_capacity(v.len());
                    for it in v {
                        let pos = sorted
                            .iter()
                            .position(|x| cmp(x, &it) == std::cmp::Ordering::Greater)
                            .unwrap_or(sorted.len());
                        sorted.insert(pos, it);
                    }
                    v = sorted;
                }
            }
            if let Some(e) = err.into_inner() {
                return Err(e);
            }
            Some(JsonataValue::array(v))
        }
        "zip" => {
            let arrays: Vec<Vec<JsonataValue>> = args.iter().flatten().map(items).collect();
            let n = arrays.iter().map(Vec::len).min().unwrap_or(0);
            Some(JsonataValue::array(
                (0..n)
                    .map(|i| JsonataValue::array(arrays.iter().map(|a| a[i].clone()).collect()))
                    .collect(),
            ))
        }
        "round" => {
            let Some(n) = num_arg(a0, 1, name)? else {
                return Ok(None);
            };
            let p = num_arg(a1, 2, name)?.unwrap_or(0.0) as i32;
            // Shift the decimal point in text, as JSONata does, so 1.255 is 125.5 exactly.
            let shifted: f64 = format!("{n}e{p}").parse().unwrap_or(n);
            let r = shifted.round_ties_even();
            Some(JsonataValue::Num(
                format!("{r}e{}", -p).parse().unwrap_or(r),
            ))
        }
        "floor" => num_arg(a0, 1, name)?.map(|n| JsonataValue::Num(n.floor())),
        "ceil" => num_arg(a0, 1, name)?.map(|n| JsonataValue::Num(n.ceil())),
        "abs" => num_arg(a0, 1, name)?.map(|n| JsonataValue::Num(n.abs())),
        "sqrt" => match num_arg(a0, 1, name)? {
            None => None,
            Some(n) if n < 0.0 => {
                return Err(JError::new(
                    "D3060",
                    format!(
                        "The sqrt function cannot be applied to a negative number: {}",
                        num_string(n)
                    ),
                ))
            }
            Some(n) => Some(JsonataValue::Num(n.sqrt())),
        },
        "power" => {
            let Some(b) = num_arg(a0, 1, name)? else {
                return Ok(None);
            };
            let Some(e) = num_arg(a1, 2, name)? else {
                return Err(sig(2, name));
            };
            let r = b.powf(e);
            if !r.is_finite() {
                return Err(JError::new("D3061", format!("The power function has resulted in a value that cannot be represented as a JSON number: base={}, exponent={}", num_string(b), num_string(e))));
            }
            Some(JsonataValue::Num(r))
        }
        "now" => fmt_millis(cx.now).map(|s| JsonataValue::str(&s)),
        "millis" => Some(JsonataValue::Num(cx.now as f64)),
        "fromMillis" => num_arg(a0, 1, name)?
            .and_then(|n| fmt_millis(n as i64))
            .map(|s| JsonataValue::str(&s)),
        "toMillis" => match string_arg(a0, 1, name)? {
            None => None,
            Some(s) => match DateTime::parse_from_rfc3339(s) {
                Ok(t) => Some(JsonataValue::Num(t.timestamp_millis() as f64)),
                Err(_) => {
                    return Err(JError::new(
                        "D3110",
                        format!("Unable to parse date/time: {s}"),
                    ))
                }
            },
        },
        "random" => match num_arg(a0, 1, name)? {
            None => Some(JsonataValue::Num(cx.host.random())),
            Some(seed) => {
                let mut g = crate::rng::SplitMix64::new(seed.to_bits());
                Some(JsonataValue::Num(
                    (g.next_u64() >> 11) as f64 / (1u64 << 53) as f64,
                ))
            }
        },
        "uuid" => Some(JsonataValue::str(&cx.host.uuid())),
        "partition" => {
            let Some(v) = a0 else { return Ok(None) };
            let size = match num_arg(a1, 2, name)? {
                Some(s) if s >= 1.0 && s.fract() == 0.0 => s as usize,
                _ => {
                    return Err(JError::new(
                        "D3040",
                        "The second argument of $partition must be a positive integer",
                    ))
                }
            };
            let v = items(v);
            Some(JsonataValue::array(
                v.chunks(size)
                    .map(|c| JsonataValue::array(c.to_vec()))
                    .collect(),
            ))
        }
        "range" => {
            let (Some(start), Some(end)) = (num_arg(a0, 1, name)?, num_arg(a1, 2, name)?) else {
                return Err(sig(1, name));
            };
            let step = num_arg(a2, 3, name)?.unwrap_or(1.0);
            if step == 0.0 || !step.is_finite() {
                return Err(JError::new("D3041", "The step of $range must not be zero"));
            }
            let mut out = Vec::new();
            let mut x = start;
            while (step > 0.0 && x <= end) || (step < 0.0 && x >= end) {
                out.push(JsonataValue::Num(x));
                if out.len() > 1000 {
                    return Err(JError::new(
                        "D3042",
                        "$range can produce at most 1000 items",
                    ));
                }
                x += step;
            }
            Some(JsonataValue::seq(out))
        }
        "hash" => {
            let Some(v) = a0 else { return Ok(None) };
            let data = to_string(v);
            let alg = string_arg(a1, 2, name)?.unwrap_or("SHA-256");
            let hex = crate::digest::hex_digest(alg, data.as_bytes()).ok_or_else(|| {
                JError::new(
                    "D3043",
                    format!(
                        "Unsupported hash algorithm: {alg}. Use one of {}",
                        crate::digest::ALGORITHMS
                    ),
                )
            })?;
            Some(JsonataValue::str(&hex))
        }
        "parse" => match string_arg(a0, 1, name)? {
            None => None,
            Some(s) => match serde_json::from_str::<serde_json::Value>(s) {
                Ok(v) => Some(JsonataValue::from_json(&v)),
                Err(e) => return Err(JError::new("D3044", format!("Unable to parse JSON: {e}"))),
            },
        },
        "base64encode" => string_arg(a0, 1, name)?.map(|s| {
            JsonataValue::str(&base64::engine::general_purpose::STANDARD.encode(s.as_bytes()))
        }),
        "base64decode" => match string_arg(a0, 1, name)? {
            None => None,
            Some(s) => match base64::engine::general_purpose::STANDARD.decode(s.trim()) {
                Ok(b) => Some(JsonataValue::str(&String::from_utf8_lossy(&b))),
                Err(_) => return Err(JError::new("D3045", "Invalid base64 string")),
            },
        },
        "encodeUrlComponent" => string_arg(a0, 1, name)?.map(|s| {
            JsonataValue::str(&percent_encoding::utf8_percent_encode(s, URI_COMPONENT).to_string())
        }),
        "decodeUrlComponent" => match string_arg(a0, 1, name)? {
            None => None,
            Some(s) => Some(JsonataValue::str(&decode_uri_component(s).ok_or_else(
                || {
                    JError::new(
                        "D3140",
                        format!("Malformed URL passed to $decodeUrlComponent(): \"{s}\""),
                    )
                },
            )?)),
        },
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

/// What JavaScript's `encodeURIComponent` leaves as it is: letters, digits and `-_.!~*'()`
/// (ECMA-262, "encodeURIComponent": the unreserved URI characters).
const URI_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// JavaScript's `decodeURIComponent`: `None` where it throws a URIError, for a `%` not followed
/// by two hexadecimal digits or escapes that do not decode to UTF-8.
fn decode_uri_component(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let well_formed = b.iter().enumerate().all(|(i, c)| {
        *c != b'%'
            || (b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

#[cfg(test)]
mod tests {
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
