//! The string functions: `$length` to `$replace`, `$hash`, `$parse`, base64 and URI
//! components.

use super::*;

/// The functions of this group.
pub(super) const NAMES: &[&str] = &[
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
    "hash",
    "parse",
    "base64encode",
    "base64decode",
    "encodeUrlComponent",
    "decodeUrlComponent",
];

/// Calls `name`, one of [`NAMES`].
pub(super) fn call(
    name: &str,
    args: &[Option<JsonataValue>],
) -> Result<Option<JsonataValue>, JError> {
    let (a0, a1, a2) = (&args[0], &args[1], &args[2]);
    Ok(match name {
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
                    let subject = crate::jsonata::regex::Subject::new(s);
                    let mut out = String::new();
                    let mut pos = 0;
                    let mut count = 0;
                    while pos <= chars.len() && limit.is_none_or(|l| count < l) {
                        let Some(found) = re.captures_at(&subject, pos) else {
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
                        out.push_str(&crate::jsonata::regex::expand(rep, &found, &m));
                        pos = b;
                        count += 1;
                    }
                    out.extend(&chars[pos.min(chars.len())..]);
                    Some(JsonataValue::str(&out))
                }
                _ => return Err(sig(2, name)),
            }
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
        _ => return Err(JError::new("T1006", "Attempted to invoke a non-function")),
    })
}

/// What JavaScript's `encodeURIComponent` leaves as it is: letters, digits and `-_.!~*'()`
/// (ECMA-262, "encodeURIComponent": the unreserved URI characters).
pub(super) const URI_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
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
pub(super) fn decode_uri_component(s: &str) -> Option<String> {
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
