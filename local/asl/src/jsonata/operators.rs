//! JSONata's binary operators: arithmetic, comparison, `and`/`or`, `&`, `in` and ranges.

use std::rc::Rc;

use super::eval::*;
use super::functions;
use super::parser::Node;
use super::JError;

pub(super) fn num_err(code: &str, side: &str, op: &str) -> JError {
    JError::new(
        code,
        format!("The {side} side of the \"{op}\" operator must evaluate to a number"),
    )
}

pub(super) fn binary(
    op: &str,
    l: &Node,
    r: &Node,
    input: Option<&JsonataValue>,
    env: &Rc<Bindings>,
    cx: &mut EvalContext,
) -> Result<Option<JsonataValue>, JError> {
    match op {
        "and" => {
            let lv = eval(l, input, env, cx)?;
            if !lv.as_ref().is_some_and(truthy) {
                return Ok(Some(JsonataValue::Bool(false)));
            }
            let rv = eval(r, input, env, cx)?;
            return Ok(Some(JsonataValue::Bool(rv.as_ref().is_some_and(truthy))));
        }
        "or" => {
            let lv = eval(l, input, env, cx)?;
            if lv.as_ref().is_some_and(truthy) {
                return Ok(Some(JsonataValue::Bool(true)));
            }
            let rv = eval(r, input, env, cx)?;
            return Ok(Some(JsonataValue::Bool(rv.as_ref().is_some_and(truthy))));
        }
        _ => {}
    }
    let lv = eval(l, input, env, cx)?;
    let rv = eval(r, input, env, cx)?;
    Ok(match op {
        "+" | "-" | "*" | "/" | "%" => {
            let a = match &lv {
                None => None,
                Some(JsonataValue::Num(n)) => Some(*n),
                Some(_) => return Err(num_err("T2001", "left", op)),
            };
            let b = match &rv {
                None => None,
                Some(JsonataValue::Num(n)) => Some(*n),
                Some(_) => return Err(num_err("T2002", "right", op)),
            };
            let (Some(a), Some(b)) = (a, b) else {
                return Ok(None);
            };
            let n = match op {
                "+" => a + b,
                "-" => a - b,
                "*" => a * b,
                "/" => a / b,
                _ => a % b,
            };
            if !n.is_finite() {
                return Err(JError::new("D1001", format!("Number out of range: {n}")));
            }
            Some(JsonataValue::Num(n))
        }
        "=" | "!=" => {
            let eq = match (&lv, &rv) {
                (Some(a), Some(b)) => deep_equal(a, b),
                _ => return Ok(Some(JsonataValue::Bool(false))),
            };
            Some(JsonataValue::Bool(if op == "=" { eq } else { !eq }))
        }
        "<" | ">" | "<=" | ">=" => {
            let comparable = |v: &Option<JsonataValue>| {
                matches!(
                    v,
                    None | Some(JsonataValue::Num(_)) | Some(JsonataValue::Str(_))
                )
            };
            if !comparable(&lv) || !comparable(&rv) {
                return Err(JError::new(
                    "T2010",
                    format!("The expressions either side of operator \"{op}\" must evaluate to numeric or string values"),
                ));
            }
            let ord = match (&lv, &rv) {
                (Some(JsonataValue::Num(a)), Some(JsonataValue::Num(b))) => a.partial_cmp(b),
                (Some(JsonataValue::Str(a)), Some(JsonataValue::Str(b))) => Some(a.cmp(b)),
                (Some(a), Some(b)) => {
                    return Err(JError::new(
                        "T2009",
                        format!(
                            "The values {} and {} either side of operator \"{op}\" must be of the same data type",
                            functions::to_string(a),
                            functions::to_string(b)
                        ),
                    ))
                }
                _ => return Ok(None),
            };
            let Some(ord) = ord else {
                return Ok(Some(JsonataValue::Bool(false)));
            };
            use std::cmp::Ordering::*;
            Some(JsonataValue::Bool(match op {
                "<" => ord == Less,
                ">" => ord == Greater,
                "<=" => ord != Greater,
                _ => ord != Less,
            }))
        }
        "&" => {
            let s =
                |v: &Option<JsonataValue>| v.as_ref().map(functions::to_string).unwrap_or_default();
            Some(JsonataValue::str(&(s(&lv) + &s(&rv))))
        }
        "in" => {
            let Some(a) = lv else {
                return Ok(Some(JsonataValue::Bool(false)));
            };
            let found = match &rv {
                None => false,
                Some(JsonataValue::Arr(items, _)) => items.iter().any(|x| deep_equal(&a, x)),
                Some(b) => deep_equal(&a, b),
            };
            Some(JsonataValue::Bool(found))
        }
        ".." => {
            let int = |v: &Option<JsonataValue>,
                       code: &str,
                       side: &str|
             -> Result<Option<i64>, JError> {
                match v {
                    None => Ok(None),
                    Some(JsonataValue::Num(n)) if n.fract() == 0.0 => Ok(Some(*n as i64)),
                    Some(_) => Err(JError::new(
                        code,
                        format!("The {side} side of the range operator (..) must evaluate to an integer"),
                    )),
                }
            };
            let a = int(&lv, "T2003", "left")?;
            let b = int(&rv, "T2004", "right")?;
            let (Some(a), Some(b)) = (a, b) else {
                return Ok(None);
            };
            if a > b {
                return Ok(None);
            }
            if b - a >= 10_000_000 {
                return Err(JError::new(
                    "D2014",
                    format!("The size of the sequence allocated by the range operator (..) must not exceed 1e7.  Attempted to allocate {}.", b - a + 1),
                ));
            }
            Some(JsonataValue::seq(
                (a..=b).map(|i| JsonataValue::Num(i as f64)).collect(),
            ))
        }
        _ => {
            return Err(JError::new(
                "S0201",
                format!("Syntax error: unsupported operator \"{op}\""),
            ))
        }
    })
}
