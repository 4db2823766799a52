//! The numeric, date and random functions: `$round` to `$range`, `$now`, `$millis`,
//! `$uuid`, `$partition`.

use super::*;

/// The functions of this group.
pub(super) const NAMES: &[&str] = &[
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
];

/// Calls `name`, one of [`NAMES`].
pub(super) fn call(
    name: &str,
    args: &[Option<JsonataValue>],
    cx: &mut EvalContext,
) -> Result<Option<JsonataValue>, JError> {
    let (a0, a1, a2) = (&args[0], &args[1], &args[2]);
    Ok(match name {
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
        _ => return Err(JError::new("T1006", "Attempted to invoke a non-function")),
    })
}
