//! The object and array functions: `$keys` to `$zip`.

use super::*;

/// The functions of this group.
pub(super) const NAMES: &[&str] = &[
    "keys", "lookup", "merge", "append", "type", "each", "sift", "spread", "distinct", "reverse",
    "shuffle", "sort", "zip",
];

/// Calls `name`, one of [`NAMES`].
pub(super) fn call(
    name: &str,
    args: &[Option<JsonataValue>],
    input: Option<&JsonataValue>,
    cx: &mut EvalContext,
) -> Result<Option<JsonataValue>, JError> {
    let (a0, a1) = (&args[0], &args[1]);
    Ok(match name {
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
        _ => return Err(JError::new("T1006", "Attempted to invoke a non-function")),
    })
}
