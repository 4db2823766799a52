//! The JSONPath dialect of Step Functions.
//!
//! A path starts at the state input (`$`), the context object (`$$`) or a variable
//! (`$name`). A *definite* path (fields and indexes only) yields one value, and fails when the
//! value is missing. An *indefinite* path (wildcards, slices, unions, filters, deep scans)
//! yields an array of every match, possibly empty.

use std::fmt::Write as _;

use serde_json::{Map, Value};

mod parser;

use parser::Parser;

/// Where a path starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Root {
    /// `$`: the state input (or the value a field is applied to).
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a workflow variable.
    Variable(String),
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// `.name` or `['name']`.
    Field(String),
    /// `[3]` or `[-1]`.
    Index(i64),
    /// `.*` or `[*]`.
    Wildcard,
    /// `[start:end:step]`.
    Slice(Option<i64>, Option<i64>, Option<i64>),
    /// `['a','b']` or `[0,2]`.
    Union(Vec<Segment>),
    /// `..name` (or `..*` with `None`).
    Deep(Option<String>),
    /// `[?(expr)]`.
    Filter(Filter),
}

/// A filter expression `?(...)`.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `@.a.b` exists (and is not `false`/`null`).
    Exists(Vec<Segment>),
    /// `@.a op literal-or-path`.
    Compare(Operand, CmpOp, Operand),
    /// `a && b`.
    And(Box<Filter>, Box<Filter>),
    /// `a || b`.
    Or(Box<Filter>, Box<Filter>),
    /// `!a`.
    Not(Box<Filter>),
}

/// A side of a filter comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// `@...`: relative to the current element.
    Current(Vec<Segment>),
    /// `$...`: relative to the document root.
    Root(Vec<Segment>),
    /// A literal value.
    Literal(Value),
}

/// Comparison operators allowed in filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// The path as written.
    pub text: String,
    /// Where it starts.
    pub root: Root,
    /// Its steps.
    pub segments: Vec<Segment>,
    /// Whether it yields a single value.
    pub definite: bool,
}

/// Why a definite path found nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// `true` when an intermediate step was missing, `false` when the last one was.
    pub intermediate: bool,
    /// The path up to the missing step, written as `$['a']['b']`.
    pub at: String,
}

impl Missing {
    /// AWS's wording for paths applied with `InputPath`, `OutputPath`, `ItemsPath`...:
    /// `Invalid path '$.a' : No results for path: $['a']`.
    pub fn invalid_path_message(&self, text: &str) -> String {
        if self.intermediate {
            format!(
                "Invalid path '{text}' : Missing property in path {}",
                self.at
            )
        } else {
            format!("Invalid path '{text}' : No results for path: {}", self.at)
        }
    }
}

impl Path {
    /// Parses a path. Fails with a message when the text is not a valid path.
    pub fn parse(text: &str) -> Result<Path, String> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
            text,
        };
        let root = p.root()?;
        let segments = p.segments(false)?;
        if p.i != p.s.len() {
            return Err(format!(
                "unexpected character at offset {} in '{text}'",
                p.i
            ));
        }
        let definite = segments
            .iter()
            .all(|s| matches!(s, Segment::Field(_) | Segment::Index(_)));
        Ok(Path {
            text: text.to_string(),
            root,
            segments,
            definite,
        })
    }

    /// Whether this is the bare root `$`.
    pub fn is_root(&self) -> bool {
        self.root == Root::Input && self.segments.is_empty()
    }

    /// Reads a definite path.
    pub fn get<'a>(&self, value: &'a Value) -> Result<&'a Value, Missing> {
        get_definite(&self.segments, value)
    }

    /// Evaluates the path: a definite path returns its value, an indefinite one an array.
    pub fn eval(&self, value: &Value) -> Result<Value, Missing> {
        if self.definite {
            self.get(value).cloned()
        } else {
            let mut out = Vec::new();
            select(&self.segments, value, value, &mut out);
            Ok(Value::Array(out.into_iter().cloned().collect()))
        }
    }

    /// Writes `new` at this (definite) path inside `target`, creating missing objects.
    pub fn set(&self, target: &mut Value, new: Value) -> Result<(), String> {
        if !self.definite || self.root != Root::Input {
            return Err(format!("Invalid path '{}'", self.text));
        }
        set_at(&self.segments, target, new, &self.text)
    }
}

fn get_definite<'a>(segments: &[Segment], value: &'a Value) -> Result<&'a Value, Missing> {
    let mut cur = value;
    for (i, seg) in segments.iter().enumerate() {
        let next = match seg {
            Segment::Field(name) => cur.as_object().and_then(|m| m.get(name)),
            Segment::Index(idx) => cur.as_array().and_then(|a| index(a, *idx)),
            _ => None,
        };
        match next {
            Some(v) => cur = v,
            None => {
                return Err(Missing {
                    intermediate: i + 1 < segments.len(),
                    at: jayway(&segments[..=i]),
                })
            }
        }
    }
    Ok(cur)
}

fn index(a: &[Value], idx: i64) -> Option<&Value> {
    let len = i64::try_from(a.len()).ok()?;
    let i = if idx < 0 { len + idx } else { idx };
    if i < 0 {
        return None;
    }
    a.get(usize::try_from(i).ok()?)
}

/// Writes a path the way AWS echoes it in error messages: `$['a']['b'][0]`.
pub fn jayway(segments: &[Segment]) -> String {
    let mut s = String::from("$");
    for seg in segments {
        match seg {
            Segment::Field(n) => {
                let _ = write!(s, "['{n}']");
            }
            Segment::Index(i) => {
                let _ = write!(s, "[{i}]");
            }
            Segment::Wildcard => s.push_str("[*]"),
            _ => s.push_str("[?]"),
        }
    }
    s
}

fn set_at(segments: &[Segment], target: &mut Value, new: Value, text: &str) -> Result<(), String> {
    let Some((first, rest)) = segments.split_first() else {
        *target = new;
        return Ok(());
    };
    match first {
        Segment::Field(name) => {
            if target.is_null() {
                *target = Value::Object(Map::new());
            }
            let Some(obj) = target.as_object_mut() else {
                return Err(format!(
                    "Unable to apply ResultPath \"{text}\" to input: the value at {} is not an object",
                    name
                ));
            };
            if rest.is_empty() {
                obj.insert(name.clone(), new);
                return Ok(());
            }
            let child = obj
                .entry(name.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            set_at(rest, child, new, text)
        }
        Segment::Index(i) => {
            let Some(arr) = target.as_array_mut() else {
                return Err(format!("Unable to apply ResultPath \"{text}\" to input"));
            };
            let len = i64::try_from(arr.len()).unwrap_or(i64::MAX);
            let idx = if *i < 0 { len + i } else { *i };
            let slot = usize::try_from(idx)
                .ok()
                .and_then(|u| arr.get_mut(u))
                .ok_or_else(|| format!("Unable to apply ResultPath \"{text}\" to input"))?;
            set_at(rest, slot, new, text)
        }
        _ => Err(format!("Invalid path '{text}'")),
    }
}

fn select<'a>(segments: &[Segment], root: &'a Value, cur: &'a Value, out: &mut Vec<&'a Value>) {
    let Some((seg, rest)) = segments.split_first() else {
        out.push(cur);
        return;
    };
    match seg {
        Segment::Field(name) => {
            if let Some(v) = cur.as_object().and_then(|m| m.get(name)) {
                select(rest, root, v, out);
            }
        }
        Segment::Index(i) => {
            if let Some(v) = cur.as_array().and_then(|a| index(a, *i)) {
                select(rest, root, v, out);
            }
        }
        Segment::Wildcard => match cur {
            Value::Array(a) => a.iter().for_each(|v| select(rest, root, v, out)),
            Value::Object(m) => m.values().for_each(|v| select(rest, root, v, out)),
            _ => {}
        },
        Segment::Slice(start, end, step) => {
            if let Value::Array(a) = cur {
                for i in slice_indexes(a.len(), *start, *end, *step) {
                    if let Some(v) = a.get(i) {
                        select(rest, root, v, out);
                    }
                }
            }
        }
        Segment::Union(items) => {
            for item in items {
                let one = std::slice::from_ref(item);
                let mut tmp = Vec::new();
                select(one, root, cur, &mut tmp);
                for v in tmp {
                    select(rest, root, v, out);
                }
            }
        }
        Segment::Deep(name) => {
            let mut found = Vec::new();
            deep_collect(cur, name.as_deref(), &mut found);
            for v in found {
                select(rest, root, v, out);
            }
        }
        Segment::Filter(f) => match cur {
            Value::Array(a) => {
                for v in a {
                    if filter_matches(f, root, v) {
                        select(rest, root, v, out);
                    }
                }
            }
            Value::Object(_) if filter_matches(f, root, cur) => select(rest, root, cur, out),
            _ => {}
        },
    }
}

fn deep_collect<'a>(cur: &'a Value, name: Option<&str>, out: &mut Vec<&'a Value>) {
    match cur {
        Value::Object(m) => {
            for (k, v) in m {
                if name.is_none_or(|n| n == k) {
                    out.push(v);
                }
            }
            for v in m.values() {
                deep_collect(v, name, out);
            }
        }
        Value::Array(a) => {
            if name.is_none() {
                out.extend(a.iter());
            }
            for v in a {
                deep_collect(v, name, out);
            }
        }
        _ => {}
    }
}

fn slice_indexes(
    len: usize,
    start: Option<i64>,
    end: Option<i64>,
    step: Option<i64>,
) -> Vec<usize> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let step = step.unwrap_or(1);
    if step <= 0 {
        return Vec::new();
    }
    let norm = |v: i64| if v < 0 { (len + v).max(0) } else { v.min(len) };
    let s = start.map(norm).unwrap_or(0);
    let e = end.map(norm).unwrap_or(len);
    let mut out = Vec::new();
    let mut i = s;
    while i < e {
        if let Ok(u) = usize::try_from(i) {
            out.push(u);
        }
        i += step;
    }
    out
}

fn filter_matches(f: &Filter, root: &Value, cur: &Value) -> bool {
    match f {
        Filter::Exists(segs) => get_definite(segs, cur).is_ok(),
        Filter::And(a, b) => filter_matches(a, root, cur) && filter_matches(b, root, cur),
        Filter::Or(a, b) => filter_matches(a, root, cur) || filter_matches(b, root, cur),
        Filter::Not(a) => !filter_matches(a, root, cur),
        Filter::Compare(l, op, r) => {
            let (Some(l), Some(r)) = (operand(l, root, cur), operand(r, root, cur)) else {
                return false;
            };
            compare(&l, *op, &r)
        }
    }
}

fn operand(o: &Operand, root: &Value, cur: &Value) -> Option<Value> {
    match o {
        Operand::Current(s) => get_definite(s, cur).ok().cloned(),
        Operand::Root(s) => get_definite(s, root).ok().cloned(),
        Operand::Literal(v) => Some(v.clone()),
    }
}

fn compare(l: &Value, op: CmpOp, r: &Value) -> bool {
    use std::cmp::Ordering;
    let ord = match (l, r) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            a.partial_cmp(&b)
        }
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => {
            if l == r {
                Some(Ordering::Equal)
            } else {
                None
            }
        }
    };
    match op {
        CmpOp::Eq => ord == Some(Ordering::Equal),
        CmpOp::Ne => ord != Some(Ordering::Equal),
        CmpOp::Lt => ord == Some(Ordering::Less),
        CmpOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => ord == Some(Ordering::Greater),
        CmpOp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(p: &str, v: &Value) -> Result<Value, Missing> {
        Path::parse(p)
            .map_err(|_| Missing {
                intermediate: false,
                at: String::new(),
            })?
            .eval(v)
    }

    #[test]
    fn definite_and_indefinite() {
        let doc = json!({"a": {"b": [1, 2, 3]}, "users": [{"s": 0, "n": "x"}, {"s": 1, "n": "y"}]});
        assert_eq!(eval("$.a.b[1]", &doc), Ok(json!(2)));
        assert_eq!(eval("$.a.b[-1]", &doc), Ok(json!(3)));
        assert_eq!(eval("$.a.b[*]", &doc), Ok(json!([1, 2, 3])));
        assert_eq!(eval("$.a.b[1:]", &doc), Ok(json!([2, 3])));
        assert_eq!(eval("$.users[?(@.s == 0)].n", &doc), Ok(json!(["x"])));
        assert_eq!(eval("$..n", &doc), Ok(json!(["x", "y"])));
        assert_eq!(eval("$['a']['b'][0]", &doc), Ok(json!(1)));
        assert_eq!(eval("$.nope[*]", &doc), Ok(json!([])));
        let m = eval("$.nope.x", &doc).err();
        assert_eq!(
            m.map(|m| m.invalid_path_message("$.nope.x")),
            Some("Invalid path '$.nope.x' : Missing property in path $['nope']".to_string())
        );
    }

    #[test]
    fn set_creates_objects() {
        let mut v = json!({"a": 1});
        Path::parse("$.b.c")
            .and_then(|p| p.set(&mut v, json!(2)))
            .ok();
        assert_eq!(v, json!({"a": 1, "b": {"c": 2}}));
    }

    #[test]
    fn roots() {
        assert_eq!(
            Path::parse("$$.Execution.Id").map(|p| p.root),
            Ok(Root::Context)
        );
        assert_eq!(
            Path::parse("$var.x").map(|p| p.root),
            Ok(Root::Variable("var".into()))
        );
        assert!(Path::parse("a.b").is_err());
    }
}
