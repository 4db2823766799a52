//! Choice rules: comparisons, `And`/`Or`/`Not`, `Is*` tests and their `...Path` variants.

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use crate::path::Path;
use crate::template::{EvalError, Scope, Template};

/// Comparison operators (the `...Path` variants share the operator and read the right-hand
/// side from a path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `StringEquals`
    StringEquals,
    /// `StringLessThan`
    StringLessThan,
    /// `StringGreaterThan`
    StringGreaterThan,
    /// `StringLessThanEquals`
    StringLessThanEquals,
    /// `StringGreaterThanEquals`
    StringGreaterThanEquals,
    /// `StringMatches` (no path variant)
    StringMatches,
    /// `NumericEquals`
    NumericEquals,
    /// `NumericLessThan`
    NumericLessThan,
    /// `NumericGreaterThan`
    NumericGreaterThan,
    /// `NumericLessThanEquals`
    NumericLessThanEquals,
    /// `NumericGreaterThanEquals`
    NumericGreaterThanEquals,
    /// `BooleanEquals`
    BooleanEquals,
    /// `TimestampEquals`
    TimestampEquals,
    /// `TimestampLessThan`
    TimestampLessThan,
    /// `TimestampGreaterThan`
    TimestampGreaterThan,
    /// `TimestampLessThanEquals`
    TimestampLessThanEquals,
    /// `TimestampGreaterThanEquals`
    TimestampGreaterThanEquals,
}

const OPS: [(&str, Op); 17] = [
    ("StringEquals", Op::StringEquals),
    ("StringLessThan", Op::StringLessThan),
    ("StringGreaterThan", Op::StringGreaterThan),
    ("StringLessThanEquals", Op::StringLessThanEquals),
    ("StringGreaterThanEquals", Op::StringGreaterThanEquals),
    ("StringMatches", Op::StringMatches),
    ("NumericEquals", Op::NumericEquals),
    ("NumericLessThan", Op::NumericLessThan),
    ("NumericGreaterThan", Op::NumericGreaterThan),
    ("NumericLessThanEquals", Op::NumericLessThanEquals),
    ("NumericGreaterThanEquals", Op::NumericGreaterThanEquals),
    ("BooleanEquals", Op::BooleanEquals),
    ("TimestampEquals", Op::TimestampEquals),
    ("TimestampLessThan", Op::TimestampLessThan),
    ("TimestampGreaterThan", Op::TimestampGreaterThan),
    ("TimestampLessThanEquals", Op::TimestampLessThanEquals),
    ("TimestampGreaterThanEquals", Op::TimestampGreaterThanEquals),
];

/// Type tests, named as the ASL operators are (`IsNull`, `IsPresent`, ...).
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test {
    /// `IsNull`
    IsNull,
    /// `IsPresent`
    IsPresent,
    /// `IsNumeric`
    IsNumeric,
    /// `IsString`
    IsString,
    /// `IsBoolean`
    IsBoolean,
    /// `IsTimestamp`
    IsTimestamp,
}

const TESTS: [(&str, Test); 6] = [
    ("IsNull", Test::IsNull),
    ("IsPresent", Test::IsPresent),
    ("IsNumeric", Test::IsNumeric),
    ("IsString", Test::IsString),
    ("IsBoolean", Test::IsBoolean),
    ("IsTimestamp", Test::IsTimestamp),
];

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Rhs {
    /// A literal value.
    Value(Value),
    /// A path (`...Path` operators).
    Path(Path),
}

/// A boolean condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// All must hold.
    And(Vec<Condition>),
    /// One must hold.
    Or(Vec<Condition>),
    /// Negation.
    Not(Box<Condition>),
    /// `Variable` compared with a value or path.
    Compare {
        /// The value tested.
        variable: Path,
        /// The operator.
        op: Op,
        /// The other side.
        rhs: Rhs,
    },
    /// `Variable` tested for a type or presence.
    Test {
        /// The value tested.
        variable: Path,
        /// The test.
        test: Test,
        /// The expected outcome (`"IsNull": false` inverts the test).
        expected: bool,
    },
}

/// A top-level rule of a Choice state.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceRule {
    /// The condition.
    pub condition: Condition,
    /// Where to go when it holds.
    pub next: String,
    /// Variables to assign when the rule is taken.
    pub assign: Option<Template>,
    /// The JSONata form of the rule (`Condition`, `Assign`, `Output`), in JSONata states.
    pub jsonata: Option<JsonataRule>,
}

/// A Choice rule of a JSONata state.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonataRule {
    /// `Condition`: must evaluate to a boolean.
    pub condition: crate::query::JsonataTemplate,
    /// `Assign`.
    pub assign: Option<crate::query::JsonataTemplate>,
    /// `Output`.
    pub output: Option<crate::query::JsonataTemplate>,
}

/// Parses a condition at JSON-pointer `loc`; problems are pushed to `errs`.
pub fn parse_condition(
    v: &Value,
    loc: &str,
    errs: &mut Vec<(String, String)>,
) -> Option<Condition> {
    let Some(obj) = v.as_object() else {
        errs.push((loc.to_string(), "A choice rule must be an object".into()));
        return None;
    };
    let mut found: Vec<Condition> = Vec::new();
    let mut ops = 0usize;
    if let Some(a) = obj.get("And").or_else(|| obj.get("Or")) {
        ops += 1;
        let key = if obj.contains_key("And") { "And" } else { "Or" };
        match a.as_array() {
            Some(items) if !items.is_empty() => {
                let subs: Vec<Condition> = items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, it)| parse_condition(it, &format!("{loc}/{key}/{i}"), errs))
                    .collect();
                found.push(if key == "And" {
                    Condition::And(subs)
                } else {
                    Condition::Or(subs)
                });
            }
            _ => errs.push((
                format!("{loc}/{key}"),
                format!("'{key}' must be a non-empty array of choice rules"),
            )),
        }
    }
    if let Some(n) = obj.get("Not") {
        ops += 1;
        if let Some(c) = parse_condition(n, &format!("{loc}/Not"), errs) {
            found.push(Condition::Not(Box::new(c)));
        }
    }
    let variable = obj.get("Variable");
    for (name, op) in OPS {
        for (key, is_path) in [(name.to_string(), false), (format!("{name}Path"), true)] {
            let Some(val) = obj.get(&key) else { continue };
            ops += 1;
            if is_path && op == Op::StringMatches {
                errs.push((format!("{loc}/{key}"), format!("Unknown operator '{key}'")));
                continue;
            }
            let rhs = if is_path {
                match val.as_str().map(Path::parse) {
                    Some(Ok(p)) => Rhs::Path(p),
                    _ => {
                        errs.push((
                            format!("{loc}/{key}"),
                            format!("The value of '{key}' must be a valid JSONPath"),
                        ));
                        continue;
                    }
                }
            } else {
                let ok = match op {
                    Op::BooleanEquals => val.is_boolean(),
                    Op::NumericEquals
                    | Op::NumericLessThan
                    | Op::NumericGreaterThan
                    | Op::NumericLessThanEquals
                    | Op::NumericGreaterThanEquals => val.is_number(),
                    Op::TimestampEquals
                    | Op::TimestampLessThan
                    | Op::TimestampGreaterThan
                    | Op::TimestampLessThanEquals
                    | Op::TimestampGreaterThanEquals => {
                        val.as_str().and_then(parse_timestamp).is_some()
                    }
                    _ => val.is_string(),
                };
                if !ok {
                    errs.push((
                        format!("{loc}/{key}"),
                        format!("The value of '{key}' has the wrong type"),
                    ));
                    continue;
                }
                Rhs::Value(val.clone())
            };
            if let Some(var) = variable_path(variable, loc, errs) {
                found.push(Condition::Compare {
                    variable: var,
                    op,
                    rhs,
                });
            }
        }
    }
    for (name, test) in TESTS {
        let Some(val) = obj.get(name) else { continue };
        ops += 1;
        let Some(expected) = val.as_bool() else {
            errs.push((
                format!("{loc}/{name}"),
                format!("'{name}' must be a boolean"),
            ));
            continue;
        };
        if let Some(var) = variable_path(variable, loc, errs) {
            found.push(Condition::Test {
                variable: var,
                test,
                expected,
            });
        }
    }
    if ops != 1 {
        errs.push((
            loc.to_string(),
            if ops == 0 {
                "A choice rule must have exactly one comparison operator, 'And', 'Or' or 'Not'"
                    .into()
            } else {
                "A choice rule must not have more than one comparison operator".into()
            },
        ));
        return None;
    }
    found.pop()
}

fn variable_path(v: Option<&Value>, loc: &str, errs: &mut Vec<(String, String)>) -> Option<Path> {
    match v.and_then(Value::as_str).map(Path::parse) {
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            errs.push((format!("{loc}/Variable"), e));
            None
        }
        None => {
            errs.push((
                format!("{loc}/Variable"),
                "A comparison must have a 'Variable' field with a JSONPath".into(),
            ));
            None
        }
    }
}

/// Parses an ISO-8601 extended offset date-time (`2016-03-14T01:59:00Z`).
pub fn parse_timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    let b = s.as_bytes();
    if b.len() < 20 || b[10] != b'T' {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok()
}

impl Condition {
    /// Evaluates the condition.
    pub fn eval(&self, scope: &dyn Scope) -> Result<bool, EvalError> {
        match self {
            Condition::And(cs) => {
                for c in cs {
                    if !c.eval(scope)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Condition::Or(cs) => {
                for c in cs {
                    if c.eval(scope)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Condition::Not(c) => Ok(!c.eval(scope)?),
            Condition::Test {
                variable,
                test,
                expected,
            } => {
                let v = scope.resolve(variable);
                let r = match (test, v) {
                    (Test::IsPresent, v) => v.is_ok(),
                    (_, Err(_)) => false,
                    (Test::IsNull, Ok(v)) => v.is_null(),
                    (Test::IsNumeric, Ok(v)) => v.is_number(),
                    (Test::IsString, Ok(v)) => v.is_string(),
                    (Test::IsBoolean, Ok(v)) => v.is_boolean(),
                    (Test::IsTimestamp, Ok(v)) => v.as_str().and_then(parse_timestamp).is_some(),
                };
                Ok(r == *expected)
            }
            Condition::Compare { variable, op, rhs } => {
                let l = scope.resolve(variable)?;
                let r = match rhs {
                    Rhs::Value(v) => v.clone(),
                    Rhs::Path(p) => scope.resolve(p)?,
                };
                Ok(compare(&l, *op, &r))
            }
        }
    }
}

fn compare(l: &Value, op: Op, r: &Value) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Op::StringMatches => match (l.as_str(), r.as_str()) {
            (Some(s), Some(p)) => string_matches(s, p),
            _ => false,
        },
        Op::StringEquals
        | Op::StringLessThan
        | Op::StringGreaterThan
        | Op::StringLessThanEquals
        | Op::StringGreaterThanEquals => {
            let (Some(a), Some(b)) = (l.as_str(), r.as_str()) else {
                return false;
            };
            let o = a.cmp(b);
            match op {
                Op::StringEquals => o == Equal,
                Op::StringLessThan => o == Less,
                Op::StringGreaterThan => o == Greater,
                Op::StringLessThanEquals => o != Greater,
                _ => o != Less,
            }
        }
        Op::NumericEquals
        | Op::NumericLessThan
        | Op::NumericGreaterThan
        | Op::NumericLessThanEquals
        | Op::NumericGreaterThanEquals => {
            let (Value::Number(a), Value::Number(b)) = (l, r) else {
                return false;
            };
            let o = match (a.as_i64(), b.as_i64()) {
                (Some(x), Some(y)) => Some(x.cmp(&y)),
                _ => a
                    .as_f64()
                    .zip(b.as_f64())
                    .and_then(|(x, y)| x.partial_cmp(&y)),
            };
            let Some(o) = o else { return false };
            match op {
                Op::NumericEquals => o == Equal,
                Op::NumericLessThan => o == Less,
                Op::NumericGreaterThan => o == Greater,
                Op::NumericLessThanEquals => o != Greater,
                _ => o != Less,
            }
        }
        Op::BooleanEquals => match (l, r) {
            (Value::Bool(a), Value::Bool(b)) => a == b,
            _ => false,
        },
        Op::TimestampEquals
        | Op::TimestampLessThan
        | Op::TimestampGreaterThan
        | Op::TimestampLessThanEquals
        | Op::TimestampGreaterThanEquals => {
            let (Some(a), Some(b)) = (
                l.as_str().and_then(parse_timestamp),
                r.as_str().and_then(parse_timestamp),
            ) else {
                return false;
            };
            let o = a.cmp(&b);
            match op {
                Op::TimestampEquals => o == Equal,
                Op::TimestampLessThan => o == Less,
                Op::TimestampGreaterThan => o == Greater,
                Op::TimestampLessThanEquals => o != Greater,
                _ => o != Less,
            }
        }
    }
}

/// `StringMatches`: `*` matches any run of characters; `\*` and `\\` are literal.
pub fn string_matches(s: &str, pattern: &str) -> bool {
    #[derive(PartialEq)]
    enum Tok {
        Star,
        Ch(char),
    }
    let mut toks = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next() {
                Some(n) => toks.push(Tok::Ch(n)),
                None => toks.push(Tok::Ch('\\')),
            },
            '*' => toks.push(Tok::Star),
            o => toks.push(Tok::Ch(o)),
        }
    }
    let chars: Vec<char> = s.chars().collect();
    // Classic wildcard matching with backtracking on the last star.
    let (mut si, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < chars.len() {
        match toks.get(pi) {
            Some(Tok::Ch(c)) if *c == chars[si] => {
                si += 1;
                pi += 1;
            }
            Some(Tok::Star) => {
                star = Some((pi, si));
                pi += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    toks[pi..].iter().all(|t| *t == Tok::Star)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(string_matches("log-2024.txt", "log-*.txt"));
        assert!(string_matches("a*b", "a\\*b"));
        assert!(!string_matches("axb", "a\\*b"));
        assert!(string_matches("", "*"));
        assert!(!string_matches("abc", "ab"));
    }

    #[test]
    fn timestamps() {
        assert!(parse_timestamp("2016-12-05T21:29:29Z").is_some());
        assert!(parse_timestamp("2016-12-05 21:29:29Z").is_none());
        assert!(parse_timestamp("2016-12-05T21:29:29").is_none());
        assert!(parse_timestamp("2016-13-05T21:29:29Z").is_none());
    }
}
