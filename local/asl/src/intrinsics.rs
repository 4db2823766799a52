//! Intrinsic functions: `States.Format('{}', $.a)` and the other 17.

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::path::Path;
use crate::template::{EvalError, Scope};

/// The names of every supported intrinsic function.
pub const FUNCTIONS: [&str; 18] = [
    "States.Format",
    "States.StringToJson",
    "States.JsonToString",
    "States.Array",
    "States.ArrayPartition",
    "States.ArrayContains",
    "States.ArrayRange",
    "States.ArrayGetItem",
    "States.ArrayLength",
    "States.ArrayUnique",
    "States.Base64Encode",
    "States.Base64Decode",
    "States.Hash",
    "States.JsonMerge",
    "States.MathRandom",
    "States.MathAdd",
    "States.StringSplit",
    "States.UUID",
];

/// An argument of an intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A literal: string, number, boolean or null. Strings keep their raw spelling for
    /// `States.Format`, which gives `\{` and `\}` a meaning of their own.
    Literal(Value, Option<String>),
    /// A path into the input, the context or a variable.
    Path(Path),
    /// A nested call.
    Call(Call),
}

/// A parsed intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Function name, e.g. `States.Format`.
    pub name: String,
    /// Arguments.
    pub args: Vec<Arg>,
}

/// Whether a string looks like an intrinsic call (as opposed to a path).
pub fn looks_like_call(s: &str) -> bool {
    s.starts_with("States.")
}

impl Call {
    /// Parses `States.Name(args...)`.
    pub fn parse(text: &str) -> Result<Call, String> {
        let mut p = IntrinsicParser {
            s: text.as_bytes(),
            t: text,
            i: 0,
        };
        let c = p.call()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(format!("unexpected text after the call in '{text}'"));
        }
        Ok(c)
    }

    /// Evaluates the call.
    pub fn eval(&self, scope: &dyn Scope) -> Result<Value, EvalError> {
        let mut args = Vec::with_capacity(self.args.len());
        for a in &self.args {
            args.push(match a {
                Arg::Literal(v, _) => v.clone(),
                Arg::Path(p) => scope.resolve(p)?,
                Arg::Call(c) => c.eval(scope)?,
            });
        }
        let fail = |m: String| EvalError::Intrinsic(m);
        let n = self.name.as_str();
        let want = |k: usize| -> Result<(), EvalError> {
            if args.len() == k {
                Ok(())
            } else {
                Err(fail(format!(
                    "Function {n} expects {k} argument(s) but received {}",
                    args.len()
                )))
            }
        };
        match n {
            "States.Format" => {
                let Some(Arg::Literal(Value::String(_), raw)) = self.args.first() else {
                    // The template may also come from a path.
                    let tpl = args
                        .first()
                        .and_then(Value::as_str)
                        .ok_or_else(|| fail(format!("{n}: the first argument must be a string")))?;
                    return format(tpl, &args[1..]).map_err(fail);
                };
                let tpl = raw.as_deref().unwrap_or("");
                format(tpl, &args[1..]).map_err(fail)
            }
            "States.StringToJson" => {
                want(1)?;
                let s = args[0]
                    .as_str()
                    .ok_or_else(|| fail(format!("{n}: the argument must be a string")))?;
                if s.trim().is_empty() {
                    return Ok(Value::Null);
                }
                serde_json::from_str(s).map_err(|e| fail(format!("{n}: invalid JSON: {e}")))
            }
            "States.JsonToString" => {
                want(1)?;
                Ok(Value::String(args[0].to_string()))
            }
            "States.Array" => Ok(Value::Array(args)),
            "States.ArrayPartition" => {
                want(2)?;
                let a = arr(&args[0], n)?;
                let size = int(&args[1], n)?;
                if size <= 0 {
                    return Err(fail(format!("{n}: the chunk size must be positive")));
                }
                let size = usize::try_from(size).unwrap_or(usize::MAX);
                Ok(Value::Array(
                    a.chunks(size).map(|c| Value::Array(c.to_vec())).collect(),
                ))
            }
            "States.ArrayContains" => {
                want(2)?;
                let a = arr(&args[0], n)?;
                Ok(Value::Bool(a.iter().any(|v| json_eq(v, &args[1]))))
            }
            "States.ArrayRange" => {
                want(3)?;
                let (s, e, st) = (int(&args[0], n)?, int(&args[1], n)?, int(&args[2], n)?);
                if st == 0 {
                    return Err(fail(format!("{n}: the step must not be zero")));
                }
                let mut out = Vec::new();
                let mut i = s;
                while (st > 0 && i <= e) || (st < 0 && i >= e) {
                    out.push(Value::from(i));
                    if out.len() > 1000 {
                        return Err(fail(format!("{n}: the range has more than 1000 items")));
                    }
                    i += st;
                }
                Ok(Value::Array(out))
            }
            "States.ArrayGetItem" => {
                want(2)?;
                let a = arr(&args[0], n)?;
                let i = int(&args[1], n)?;
                usize::try_from(i)
                    .ok()
                    .and_then(|i| a.get(i))
                    .cloned()
                    .ok_or_else(|| fail(format!("{n}: index {i} is out of bounds")))
            }
            "States.ArrayLength" => {
                want(1)?;
                Ok(Value::from(arr(&args[0], n)?.len()))
            }
            "States.ArrayUnique" => {
                want(1)?;
                let mut out: Vec<Value> = Vec::new();
                for v in arr(&args[0], n)? {
                    if !out.iter().any(|o| json_eq(o, v)) {
                        out.push(v.clone());
                    }
                }
                Ok(Value::Array(out))
            }
            "States.Base64Encode" => {
                want(1)?;
                let s = string(&args[0], n)?;
                Ok(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(s.as_bytes()),
                ))
            }
            "States.Base64Decode" => {
                want(1)?;
                let s = string(&args[0], n)?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(s.as_bytes())
                    .map_err(|e| fail(format!("{n}: invalid base64: {e}")))?;
                String::from_utf8(bytes)
                    .map(Value::String)
                    .map_err(|_| fail(format!("{n}: the decoded data is not UTF-8")))
            }
            "States.Hash" => {
                want(2)?;
                let data = match &args[0] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let alg = string(&args[1], n)?;
                let h = crate::digest::hex_digest(alg, data.as_bytes()).ok_or_else(|| {
                    fail(format!(
                        "{n}: unsupported algorithm '{alg}' (use MD5, SHA-1, SHA-256, SHA-384 or SHA-512)"
                    ))
                })?;
                Ok(Value::String(h))
            }
            "States.JsonMerge" => {
                want(3)?;
                let (Value::Object(a), Value::Object(b)) = (&args[0], &args[1]) else {
                    return Err(fail(format!(
                        "{n}: the first two arguments must be objects"
                    )));
                };
                if args[2] != Value::Bool(false) {
                    return Err(fail(format!(
                        "{n}: only a shallow merge (false) is supported"
                    )));
                }
                let mut out: Map<String, Value> = a.clone();
                for (k, v) in b {
                    out.insert(k.clone(), v.clone());
                }
                Ok(Value::Object(out))
            }
            "States.MathRandom" => {
                if args.len() != 2 && args.len() != 3 {
                    return Err(fail(format!("{n} expects 2 or 3 arguments")));
                }
                let s = int(&args[0], n)?;
                let e = int(&args[1], n)?;
                if e <= s {
                    return Err(fail(format!("{n}: the end must be greater than the start")));
                }
                let span = u64::try_from(e - s).unwrap_or(1).max(1);
                let r = if args.len() == 3 {
                    let seed = int(&args[2], n)?;
                    crate::rng::SplitMix64::new(seed as u64).next_u64()
                } else {
                    scope.random_u64()
                };
                Ok(Value::from(s + i64::try_from(r % span).unwrap_or(0)))
            }
            "States.MathAdd" => {
                want(2)?;
                let a = round_half_up(num(&args[0], n)?);
                let b = round_half_up(num(&args[1], n)?);
                Ok(Value::from(a.saturating_add(b)))
            }
            "States.StringSplit" => {
                want(2)?;
                let s = string(&args[0], n)?;
                let d = string(&args[1], n)?;
                Ok(Value::Array(
                    s.split(|c: char| d.contains(c))
                        .filter(|t| !t.is_empty())
                        .map(|t| Value::String(t.to_string()))
                        .collect(),
                ))
            }
            "States.UUID" => {
                want(0)?;
                Ok(Value::String(crate::rng::uuid_v4(
                    scope.random_u64(),
                    scope.random_u64(),
                )))
            }
            other => Err(fail(format!("Unknown intrinsic function '{other}'"))),
        }
    }
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn arr<'a>(v: &'a Value, n: &str) -> Result<&'a Vec<Value>, EvalError> {
    v.as_array()
        .ok_or_else(|| EvalError::Intrinsic(format!("{n}: expected an array but got {v}")))
}

fn string<'a>(v: &'a Value, n: &str) -> Result<&'a str, EvalError> {
    v.as_str()
        .ok_or_else(|| EvalError::Intrinsic(format!("{n}: expected a string but got {v}")))
}

fn num(v: &Value, n: &str) -> Result<f64, EvalError> {
    v.as_f64()
        .ok_or_else(|| EvalError::Intrinsic(format!("{n}: expected a number but got {v}")))
}

fn int(v: &Value, n: &str) -> Result<i64, EvalError> {
    if let Some(i) = v.as_i64() {
        return Ok(i);
    }
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        Some(f) => Ok(round_half_up(f)),
        None => Err(EvalError::Intrinsic(format!(
            "{n}: expected an integer but got {v}"
        ))),
    }
}

/// Rounds like Java's `Math.round`: half-way values go up.
fn round_half_up(f: f64) -> i64 {
    (f + 0.5).floor() as i64
}

fn format(tpl: &str, args: &[Value]) -> Result<Value, String> {
    let mut out = String::with_capacity(tpl.len() + 16);
    let mut it = args.iter();
    let mut chars = tpl.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                let v = it.next().ok_or_else(|| {
                    "States.Format: the template has more placeholders than arguments".to_string()
                })?;
                match v {
                    Value::String(s) => out.push_str(s),
                    other => out.push_str(&other.to_string()),
                }
            }
            other => out.push(other),
        }
    }
    if it.next().is_some() {
        return Err("States.Format: the template has fewer placeholders than arguments".into());
    }
    Ok(Value::String(out))
}

struct IntrinsicParser<'a> {
    s: &'a [u8],
    t: &'a str,
    i: usize,
}

impl IntrinsicParser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn err(&self, m: &str) -> String {
        format!("{m} at offset {} in '{}'", self.i, self.t)
    }

    fn call(&mut self) -> Result<Call, String> {
        self.ws();
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.')
        {
            self.i += 1;
        }
        let name = self.t[start..self.i].to_string();
        if !FUNCTIONS.contains(&name.as_str()) {
            return Err(format!("Unknown intrinsic function '{name}'"));
        }
        self.ws();
        if self.s.get(self.i) != Some(&b'(') {
            return Err(self.err("expected '('"));
        }
        self.i += 1;
        let mut args = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b')') {
            self.i += 1;
            return Ok(Call { name, args });
        }
        loop {
            args.push(self.arg()?);
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b')') => {
                    self.i += 1;
                    return Ok(Call { name, args });
                }
                _ => return Err(self.err("expected ',' or ')'")),
            }
        }
    }

    fn arg(&mut self) -> Result<Arg, String> {
        self.ws();
        match self.s.get(self.i) {
            Some(b'\'') => {
                self.i += 1;
                let mut raw = String::new();
                let mut val = String::new();
                let rest = &self.t[self.i..];
                let mut chars = rest.char_indices();
                loop {
                    let Some((off, c)) = chars.next() else {
                        return Err(self.err("unterminated string literal"));
                    };
                    match c {
                        '\\' => {
                            let Some((_, n)) = chars.next() else {
                                return Err(self.err("unterminated string literal"));
                            };
                            raw.push('\\');
                            raw.push(n);
                            val.push(n);
                        }
                        '\'' => {
                            self.i += off + 1;
                            break;
                        }
                        other => {
                            raw.push(other);
                            val.push(other);
                        }
                    }
                }
                Ok(Arg::Literal(Value::String(val), Some(raw)))
            }
            Some(b'$') => {
                let start = self.i;
                let mut depth = 0i32;
                let mut quote: Option<u8> = None;
                while let Some(&c) = self.s.get(self.i) {
                    if let Some(q) = quote {
                        if c == b'\\' {
                            self.i += 1;
                        } else if c == q {
                            quote = None;
                        }
                    } else {
                        match c {
                            b'[' | b'(' => depth += 1,
                            b']' => depth -= 1,
                            b')' if depth == 0 => break,
                            b')' => depth -= 1,
                            b',' if depth == 0 => break,
                            b'\'' | b'"' => quote = Some(c),
                            b' ' if depth == 0 => break,
                            _ => {}
                        }
                    }
                    self.i += 1;
                }
                let text = &self.t[start..self.i];
                Path::parse(text).map(Arg::Path)
            }
            Some(b'S') => Ok(Arg::Call(self.call()?)),
            _ => {
                let start = self.i;
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|c| !matches!(c, b',' | b')') && !c.is_ascii_whitespace())
                {
                    self.i += 1;
                }
                let lit = &self.t[start..self.i];
                let v: Value = serde_json::from_str(lit)
                    .map_err(|_| self.err(&format!("invalid literal '{lit}'")))?;
                if v.is_object() || v.is_array() {
                    return Err(
                        self.err("literal arguments must be strings, numbers, booleans or null")
                    );
                }
                Ok(Arg::Literal(v, None))
            }
        }
    }
}
