//! The JSONata evaluator: values, sequences and the evaluation of every expression kind.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use serde_json::Value;

use super::functions;
use super::parser::{Lambda, Node, Step};
use super::{Host, JError, Outcome};

/// Flags of an array value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Flags {
    /// A sequence (the result of a path or a function), collapsed when it has one item.
    pub seq: bool,
    /// A sequence that keeps its singleton (`[]`).
    pub keep: bool,
    /// Built by an array constructor: not flattened along a path.
    pub cons: bool,
}

/// A function value.
#[derive(Debug)]
pub(crate) enum Func {
    /// A `function($x){...}` with the scope it closes over.
    Lambda(Arc<Lambda>, Rc<Env>),
    /// A built-in function, by name.
    Builtin(&'static str),
    /// A regular expression literal (`/.../`), usable as a pattern argument.
    Regex(Arc<super::regex::Regex>),
}

/// A JSONata value (undefined is `None` where it can occur).
#[derive(Debug, Clone)]
pub enum Val {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number.
    Num(f64),
    /// A string.
    Str(Rc<str>),
    /// An array or a sequence.
    #[allow(private_interfaces)]
    Arr(Rc<Vec<Val>>, Flags),
    /// An object, keys in insertion order.
    Obj(Rc<Vec<(String, Val)>>),
    /// A function.
    #[allow(private_interfaces)]
    Func(Rc<Func>),
}

impl Val {
    /// Converts a JSON value.
    pub fn from_json(v: &Value) -> Val {
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => Val::Num(n.as_f64().unwrap_or(0.0)),
            Value::String(s) => Val::Str(s.as_str().into()),
            Value::Array(a) => Val::Arr(
                Rc::new(a.iter().map(Val::from_json).collect()),
                Flags::default(),
            ),
            Value::Object(m) => Val::Obj(Rc::new(
                m.iter()
                    .map(|(k, v)| (k.clone(), Val::from_json(v)))
                    .collect(),
            )),
        }
    }

    /// Converts to JSON; `None` for a function.
    pub fn to_json(&self) -> Option<Value> {
        Some(match self {
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(*b),
            Val::Num(n) => num_json(*n),
            Val::Str(s) => Value::String(s.to_string()),
            Val::Arr(a, _) => Value::Array(a.iter().filter_map(Val::to_json).collect()),
            Val::Obj(m) => Value::Object(
                m.iter()
                    .filter_map(|(k, v)| v.to_json().map(|j| (k.clone(), j)))
                    .collect(),
            ),
            Val::Func(_) => return None,
        })
    }

    /// An object from key/value pairs.
    pub fn object(pairs: Vec<(String, Val)>) -> Val {
        Val::Obj(Rc::new(pairs))
    }

    pub(crate) fn str(s: &str) -> Val {
        Val::Str(s.into())
    }

    pub(crate) fn array(items: Vec<Val>) -> Val {
        Val::Arr(Rc::new(items), Flags::default())
    }

    pub(crate) fn seq(items: Vec<Val>) -> Val {
        Val::Arr(
            Rc::new(items),
            Flags {
                seq: true,
                ..Flags::default()
            },
        )
    }

    /// Looks a key up in an object.
    pub(crate) fn get(&self, key: &str) -> Option<&Val> {
        match self {
            Val::Obj(m) => m.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Val::Null => "null",
            Val::Bool(_) => "boolean",
            Val::Num(_) => "number",
            Val::Str(_) => "string",
            Val::Arr(..) => "array",
            Val::Obj(_) => "object",
            Val::Func(_) => "function",
        }
    }
}

/// A number as JSON: integral values are written as integers.
pub(crate) fn num_json(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// A scope of variables.
#[derive(Debug, Default)]
pub(crate) struct Env {
    vars: RefCell<HashMap<String, Val>>,
    parent: Option<Rc<Env>>,
}

impl Env {
    pub(crate) fn child(parent: &Rc<Env>) -> Rc<Env> {
        Rc::new(Env {
            vars: RefCell::new(HashMap::new()),
            parent: Some(parent.clone()),
        })
    }

    fn lookup(&self, name: &str) -> Option<Val> {
        if let Some(v) = self.vars.borrow().get(name) {
            return Some(v.clone());
        }
        self.parent.as_ref().and_then(|p| p.lookup(name))
    }

    pub(crate) fn bind(&self, name: &str, v: Val) {
        self.vars.borrow_mut().insert(name.to_string(), v);
    }
}

/// What an evaluation carries along.
pub(crate) struct Cx<'a> {
    pub host: &'a dyn Host,
    pub root: Option<Val>,
    depth: usize,
    pub now: i64,
}

const MAX_DEPTH: usize = 400;

/// Evaluates a whole expression.
pub(crate) fn evaluate(
    ast: &Node,
    input: Option<&Value>,
    vars: &[(&str, Val)],
    host: &dyn Host,
) -> Result<Outcome, JError> {
    let root = input.map(Val::from_json);
    let env = Rc::new(Env::default());
    for (k, v) in vars {
        env.bind(k, v.clone());
    }
    let mut cx = Cx {
        host,
        root: root.clone(),
        depth: 0,
        now: host.now_millis(),
    };
    let r = eval(ast, root.as_ref(), &env, &mut cx)?;
    Ok(match r {
        None => Outcome::Undefined,
        Some(Val::Func(_)) => Outcome::Function,
        Some(v) => match v.to_json() {
            Some(j) => Outcome::Value(j),
            None => Outcome::Function,
        },
    })
}

/// Collapses a sequence: empty is undefined, a singleton is its item.
pub(crate) fn collapse(v: Option<Val>) -> Option<Val> {
    match v {
        Some(Val::Arr(items, f)) if f.seq => {
            if items.is_empty() {
                None
            } else if items.len() == 1 && !f.keep {
                Some(items[0].clone())
            } else {
                Some(Val::Arr(items, f))
            }
        }
        other => other,
    }
}

/// JSONata's boolean cast; `None` for undefined.
pub(crate) fn truthy(v: &Val) -> bool {
    match v {
        Val::Null => false,
        Val::Bool(b) => *b,
        Val::Num(n) => *n != 0.0,
        Val::Str(s) => !s.is_empty(),
        Val::Arr(a, _) => match a.len() {
            0 => false,
            1 => truthy(&a[0]),
            _ => a.iter().any(truthy),
        },
        Val::Obj(m) => !m.is_empty(),
        Val::Func(_) => false,
    }
}

pub(crate) fn eval(
    node: &Node,
    input: Option<&Val>,
    env: &Rc<Env>,
    cx: &mut Cx,
) -> Result<Option<Val>, JError> {
    cx.depth += 1;
    if cx.depth > MAX_DEPTH {
        cx.depth -= 1;
        return Err(JError::new(
            "U1001",
            "Stack overflow error: Check for non-terminating recursive function.  Consider rewriting as tail-recursive.",
        ));
    }
    let r = eval_inner(node, input, env, cx);
    cx.depth -= 1;
    Ok(collapse(r?))
}

fn eval_inner(
    node: &Node,
    input: Option<&Val>,
    env: &Rc<Env>,
    cx: &mut Cx,
) -> Result<Option<Val>, JError> {
    Ok(match node {
        Node::Num(n) => Some(Val::Num(*n)),
        Node::Str(s) => Some(Val::Str(s.as_ref().into())),
        Node::Bool(b) => Some(Val::Bool(*b)),
        Node::Null => Some(Val::Null),
        Node::Regex(r) => Some(Val::Func(Rc::new(Func::Regex(r.clone())))),
        Node::Name(n) => input.and_then(|i| lookup(i, n)),
        Node::Var(name) => match name.as_str() {
            "" => input.cloned(),
            "$" => cx.root.clone(),
            _ => env
                .lookup(name)
                .or_else(|| functions::builtin(name).map(|b| Val::Func(Rc::new(Func::Builtin(b))))),
        },
        Node::Wildcard => input.map(wildcard),
        Node::Descendants => input.map(|i| {
            let mut out = Vec::new();
            descendants(i, &mut out);
            Val::seq(out)
        }),
        Node::Path { steps, keep } => {
            let r = eval_path(steps, input, env, cx)?;
            match (r, keep) {
                (Some(Val::Arr(a, mut f)), true) => {
                    f.keep = true;
                    f.seq = true;
                    Some(Val::Arr(a, f))
                }
                (Some(v), true) => Some(Val::Arr(
                    Rc::new(vec![v]),
                    Flags {
                        seq: true,
                        keep: true,
                        cons: false,
                    },
                )),
                (r, _) => r,
            }
        }
        Node::KeepArray(inner) => match eval(inner, input, env, cx)? {
            Some(Val::Arr(a, mut f)) => {
                f.keep = true;
                f.seq = true;
                Some(Val::Arr(a, f))
            }
            Some(v) => Some(Val::Arr(
                Rc::new(vec![v]),
                Flags {
                    seq: true,
                    keep: true,
                    cons: false,
                },
            )),
            None => None,
        },
        Node::Neg(inner) => match eval(inner, input, env, cx)? {
            None => None,
            Some(Val::Num(n)) => Some(Val::Num(-n)),
            Some(_) => return Err(JError::new("D1002", "Cannot negate a non-numeric value")),
        },
        Node::Binary(op, l, r) => binary(op, l, r, input, env, cx)?,
        Node::Array(items) => {
            let mut out = Vec::new();
            for it in items {
                if let Some(v) = eval(it, input, env, cx)? {
                    match (&v, it) {
                        (_, Node::Array(_)) => out.push(v),
                        (Val::Arr(a, _), _) => out.extend(a.iter().cloned()),
                        _ => out.push(v),
                    }
                }
            }
            Some(Val::Arr(
                Rc::new(out),
                Flags {
                    cons: true,
                    ..Flags::default()
                },
            ))
        }
        Node::Object(pairs) => Some(object(pairs, input, env, cx)?),
        Node::Block(items) => {
            let scope = Env::child(env);
            let mut last = None;
            for it in items {
                last = eval(it, input, &scope, cx)?;
            }
            last
        }
        Node::Cond(c, t, e) => {
            let cv = eval(c, input, env, cx)?;
            if cv.as_ref().is_some_and(truthy) {
                eval(t, input, env, cx)?
            } else if let Some(e) = e {
                eval(e, input, env, cx)?
            } else {
                None
            }
        }
        Node::Bind(name, value) => {
            let v = eval(value, input, env, cx)?;
            if let Some(v) = &v {
                env.bind(name, v.clone());
            }
            v
        }
        Node::Lambda(l) => Some(Val::Func(Rc::new(Func::Lambda(l.clone(), env.clone())))),
        Node::Call(callee, args) => {
            let f = eval(callee, input, env, cx)?;
            let mut vals = Vec::with_capacity(args.len());
            for a in args {
                vals.push(eval(a, input, env, cx)?);
            }
            match f {
                Some(Val::Func(f)) => call(&f, vals, input, cx)?,
                _ => {
                    return Err(JError::new("T1006", "Attempted to invoke a non-function"));
                }
            }
        }
        Node::Apply(l, r) => {
            let lv = eval(l, input, env, cx)?;
            match r.as_ref() {
                Node::Call(callee, args) => {
                    let f = eval(callee, input, env, cx)?;
                    let mut vals = vec![lv];
                    for a in args {
                        vals.push(eval(a, input, env, cx)?);
                    }
                    match f {
                        Some(Val::Func(f)) => call(&f, vals, input, cx)?,
                        _ => {
                            return Err(JError::new("T1006", "Attempted to invoke a non-function"))
                        }
                    }
                }
                other => match eval(other, input, env, cx)? {
                    Some(Val::Func(f)) => call(&f, vec![lv], input, cx)?,
                    _ => return Err(JError::new(
                        "T2006",
                        "The right side of the function application operator ~> must be a function",
                    )),
                },
            }
        }
        Node::Filter(l, pred) => {
            let lv = eval(l, input, env, cx)?;
            match lv {
                None => None,
                Some(v) => Some(filter(pred, v, env, cx)?),
            }
        }
    })
}

/// Looks a field up: in an object, or in every object of an array (flattening arrays).
pub(crate) fn lookup(input: &Val, key: &str) -> Option<Val> {
    match input {
        Val::Arr(items, _) => {
            let mut out = Vec::new();
            for it in items.iter() {
                match lookup(it, key) {
                    Some(Val::Arr(a, _)) => out.extend(a.iter().cloned()),
                    Some(v) => out.push(v),
                    None => {}
                }
            }
            Some(Val::seq(out))
        }
        Val::Obj(_) => input.get(key).cloned(),
        _ => None,
    }
}

fn flatten_into(v: &Val, out: &mut Vec<Val>) {
    match v {
        Val::Arr(a, _) => {
            for it in a.iter() {
                flatten_into(it, out);
            }
        }
        other => out.push(other.clone()),
    }
}

fn wildcard(input: &Val) -> Val {
    let mut out = Vec::new();
    let target = match input {
        Val::Arr(a, _) if !a.is_empty() => a[0].clone(),
        other => other.clone(),
    };
    if let Val::Obj(m) = &target {
        for (_, v) in m.iter() {
            flatten_into(v, &mut out);
        }
    }
    Val::seq(out)
}

fn descendants(v: &Val, out: &mut Vec<Val>) {
    match v {
        Val::Arr(a, _) => {
            for it in a.iter() {
                descendants(it, out);
            }
        }
        Val::Obj(m) => {
            out.push(v.clone());
            for (_, x) in m.iter() {
                descendants(x, out);
            }
        }
        other => out.push(other.clone()),
    }
}

fn eval_path(
    steps: &[Step],
    input: Option<&Val>,
    env: &Rc<Env>,
    cx: &mut Cx,
) -> Result<Option<Val>, JError> {
    let first_is_var = matches!(steps.first().map(|s| &s.node), Some(Node::Var(_)));
    let mut seq: Vec<Option<Val>> = match input {
        Some(Val::Arr(a, _)) if !first_is_var => a.iter().cloned().map(Some).collect(),
        other => vec![other.cloned()],
    };
    let n = steps.len();
    let mut result: Option<Val> = None;
    for (i, step) in steps.iter().enumerate() {
        let last = i + 1 == n;
        let mut results: Vec<Val> = Vec::new();
        for item in &seq {
            let mut r = eval(&step.node, item.as_ref(), env, cx)?;
            for stage in &step.stages {
                r = match r {
                    None => None,
                    Some(v) => collapse(Some(filter(stage, v, env, cx)?)),
                };
            }
            if let Some(v) = r {
                results.push(v);
            }
        }
        let out: Val =
            if last && results.len() == 1 && matches!(&results[0], Val::Arr(_, f) if !f.seq) {
                results.pop().unwrap_or(Val::Null)
            } else {
                let mut flat = Vec::new();
                for r in results {
                    match r {
                        Val::Arr(a, f) if !f.cons => flat.extend(a.iter().cloned()),
                        other => flat.push(other),
                    }
                }
                Val::seq(flat)
            };
        if let Val::Arr(a, f) = &out {
            if a.is_empty() {
                // An empty array from the data is a value; an empty sequence is nothing.
                return Ok(if f.seq { None } else { Some(out) });
            }
        }
        if last {
            result = Some(out);
        } else {
            seq = match out {
                Val::Arr(a, _) => a.iter().cloned().map(Some).collect(),
                other => vec![Some(other)],
            };
        }
    }
    Ok(result)
}

/// Applies a predicate (`[expr]`) to a value: an index, or a filter.
fn filter(pred: &Node, v: Val, env: &Rc<Env>, cx: &mut Cx) -> Result<Val, JError> {
    let items: Rc<Vec<Val>> = match &v {
        Val::Arr(a, _) => a.clone(),
        other => Rc::new(vec![other.clone()]),
    };
    let mut out = Vec::new();
    if let Node::Num(n) = pred {
        let len = items.len() as i64;
        let mut idx = n.floor() as i64;
        if idx < 0 {
            idx += len;
        }
        if idx >= 0 && idx < len {
            match &items[idx as usize] {
                Val::Arr(a, _) => return Ok(Val::seq(a.to_vec())),
                it => out.push(it.clone()),
            }
        }
        return Ok(Val::seq(out));
    }
    let len = items.len() as i64;
    for (i, item) in items.iter().enumerate() {
        let r = eval(pred, Some(item), env, cx)?;
        let nums: Option<Vec<f64>> = match &r {
            Some(Val::Num(n)) => Some(vec![*n]),
            Some(Val::Arr(a, _)) if !a.is_empty() && a.iter().all(|x| matches!(x, Val::Num(_))) => {
                Some(
                    a.iter()
                        .map(|x| if let Val::Num(n) = x { *n } else { 0.0 })
                        .collect(),
                )
            }
            _ => None,
        };
        match nums {
            Some(ns) => {
                if ns.iter().any(|n| {
                    let mut k = n.floor() as i64;
                    if k < 0 {
                        k += len;
                    }
                    k == i as i64
                }) {
                    out.push(item.clone());
                }
            }
            None => {
                if r.as_ref().is_some_and(truthy) {
                    out.push(item.clone());
                }
            }
        }
    }
    Ok(Val::seq(out))
}

fn object(
    pairs: &[(Node, Node)],
    input: Option<&Val>,
    env: &Rc<Env>,
    cx: &mut Cx,
) -> Result<Val, JError> {
    let mut out: Vec<(String, Val)> = Vec::new();
    for (k, v) in pairs {
        let key = match eval(k, input, env, cx)? {
            Some(Val::Str(s)) => s.to_string(),
            other => {
                return Err(JError::new(
                    "T1003",
                    format!(
                        "Key in object structure must evaluate to a string; got: {}",
                        other.map(|v| functions::to_string(&v)).unwrap_or_default()
                    ),
                ))
            }
        };
        if let Some(val) = eval(v, input, env, cx)? {
            if out.iter().any(|(k2, _)| *k2 == key) {
                return Err(JError::new(
                    "D1009",
                    format!("Multiple key definitions evaluate to same key: \"{key}\""),
                ));
            }
            out.push((key, val));
        }
    }
    Ok(Val::object(out))
}

fn num_err(code: &str, side: &str, op: &str) -> JError {
    JError::new(
        code,
        format!("The {side} side of the \"{op}\" operator must evaluate to a number"),
    )
}

fn binary(
    op: &str,
    l: &Node,
    r: &Node,
    input: Option<&Val>,
    env: &Rc<Env>,
    cx: &mut Cx,
) -> Result<Option<Val>, JError> {
    match op {
        "and" => {
            let lv = eval(l, input, env, cx)?;
            if !lv.as_ref().is_some_and(truthy) {
                return Ok(Some(Val::Bool(false)));
            }
            let rv = eval(r, input, env, cx)?;
            return Ok(Some(Val::Bool(rv.as_ref().is_some_and(truthy))));
        }
        "or" => {
            let lv = eval(l, input, env, cx)?;
            if lv.as_ref().is_some_and(truthy) {
                return Ok(Some(Val::Bool(true)));
            }
            let rv = eval(r, input, env, cx)?;
            return Ok(Some(Val::Bool(rv.as_ref().is_some_and(truthy))));
        }
        _ => {}
    }
    let lv = eval(l, input, env, cx)?;
    let rv = eval(r, input, env, cx)?;
    Ok(match op {
        "+" | "-" | "*" | "/" | "%" => {
            let a = match &lv {
                None => None,
                Some(Val::Num(n)) => Some(*n),
                Some(_) => return Err(num_err("T2001", "left", op)),
            };
            let b = match &rv {
                None => None,
                Some(Val::Num(n)) => Some(*n),
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
            Some(Val::Num(n))
        }
        "=" | "!=" => {
            let eq = match (&lv, &rv) {
                (Some(a), Some(b)) => deep_equal(a, b),
                _ => return Ok(Some(Val::Bool(false))),
            };
            Some(Val::Bool(if op == "=" { eq } else { !eq }))
        }
        "<" | ">" | "<=" | ">=" => {
            let comparable =
                |v: &Option<Val>| matches!(v, None | Some(Val::Num(_)) | Some(Val::Str(_)));
            if !comparable(&lv) || !comparable(&rv) {
                return Err(JError::new(
                    "T2010",
                    format!("The expressions either side of operator \"{op}\" must evaluate to numeric or string values"),
                ));
            }
            let ord = match (&lv, &rv) {
                (Some(Val::Num(a)), Some(Val::Num(b))) => a.partial_cmp(b),
                (Some(Val::Str(a)), Some(Val::Str(b))) => Some(a.cmp(b)),
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
                return Ok(Some(Val::Bool(false)));
            };
            use std::cmp::Ordering::*;
            Some(Val::Bool(match op {
                "<" => ord == Less,
                ">" => ord == Greater,
                "<=" => ord != Greater,
                _ => ord != Less,
            }))
        }
        "&" => {
            let s = |v: &Option<Val>| v.as_ref().map(functions::to_string).unwrap_or_default();
            Some(Val::str(&(s(&lv) + &s(&rv))))
        }
        "in" => {
            let Some(a) = lv else {
                return Ok(Some(Val::Bool(false)));
            };
            let found = match &rv {
                None => false,
                Some(Val::Arr(items, _)) => items.iter().any(|x| deep_equal(&a, x)),
                Some(b) => deep_equal(&a, b),
            };
            Some(Val::Bool(found))
        }
        ".." => {
            let int = |v: &Option<Val>, code: &str, side: &str| -> Result<Option<i64>, JError> {
                match v {
                    None => Ok(None),
                    Some(Val::Num(n)) if n.fract() == 0.0 => Ok(Some(*n as i64)),
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
            Some(Val::seq((a..=b).map(|i| Val::Num(i as f64)).collect()))
        }
        _ => {
            return Err(JError::new(
                "S0201",
                format!("Syntax error: unsupported operator \"{op}\""),
            ))
        }
    })
}

/// Deep equality of two values.
pub(crate) fn deep_equal(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Null, Val::Null) => true,
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::Num(x), Val::Num(y)) => x == y,
        (Val::Str(x), Val::Str(y)) => x == y,
        (Val::Arr(x, _), Val::Arr(y, _)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| deep_equal(p, q))
        }
        (Val::Obj(x), Val::Obj(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        (Val::Func(x), Val::Func(y)) => Rc::ptr_eq(x, y),
        _ => false,
    }
}

/// Calls a function value.
pub(crate) fn call(
    f: &Rc<Func>,
    args: Vec<Option<Val>>,
    input: Option<&Val>,
    cx: &mut Cx,
) -> Result<Option<Val>, JError> {
    match f.as_ref() {
        Func::Builtin(name) => functions::call_builtin(name, args, input, cx),
        Func::Regex(re) => Ok(match args.first() {
            Some(Some(Val::Str(s))) => {
                let chars: Vec<char> = s.chars().collect();
                re.find_at(&chars, 0).map(|(a, b)| {
                    Val::object(vec![
                        (
                            "match".into(),
                            Val::str(&chars[a..b].iter().collect::<String>()),
                        ),
                        ("start".into(), Val::Num(a as f64)),
                        ("end".into(), Val::Num(b as f64)),
                    ])
                })
            }
            _ => None,
        }),
        Func::Lambda(l, closure) => {
            let scope = Env::child(closure);
            for (i, p) in l.params.iter().enumerate() {
                if let Some(Some(v)) = args.get(i) {
                    scope.bind(p, v.clone());
                }
            }
            eval(&l.body, input, &scope, cx)
        }
    }
}

/// How many parameters a function takes (for the higher-order functions).
pub(crate) fn arity(f: &Func) -> usize {
    match f {
        Func::Lambda(l, _) => l.params.len(),
        Func::Builtin(_) | Func::Regex(_) => 1,
    }
}
