//! The JSONata evaluator: values, sequences and the evaluation of every expression kind.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde_json::Value;

use super::functions;
use super::parser::{Node, Step};
use super::{Host, JError, Outcome};

use super::operators::binary;
pub(crate) use super::value::{Flags, Func, JsonataValue};

/// A scope of variables.
#[derive(Debug, Default)]
pub(crate) struct Bindings {
    vars: RefCell<HashMap<String, JsonataValue>>,
    parent: Option<Rc<Bindings>>,
}

impl Bindings {
    pub(crate) fn child(parent: &Rc<Bindings>) -> Rc<Bindings> {
        Rc::new(Bindings {
            vars: RefCell::new(HashMap::new()),
            parent: Some(parent.clone()),
        })
    }

    fn lookup(&self, name: &str) -> Option<JsonataValue> {
        if let Some(v) = self.vars.borrow().get(name) {
            return Some(v.clone());
        }
        self.parent.as_ref().and_then(|p| p.lookup(name))
    }

    pub(crate) fn bind(&self, name: &str, v: JsonataValue) {
        self.vars.borrow_mut().insert(name.to_string(), v);
    }
}

/// What an evaluation carries along.
pub(crate) struct EvalContext<'a> {
    pub host: &'a dyn Host,
    pub root: Option<JsonataValue>,
    depth: usize,
    pub now: i64,
}

const MAX_DEPTH: usize = 400;

/// Evaluates a whole expression.
pub(crate) fn evaluate(
    ast: &Node,
    input: Option<&Value>,
    vars: &[(&str, JsonataValue)],
    host: &dyn Host,
) -> Result<Outcome, JError> {
    let root = input.map(JsonataValue::from_json);
    let env = Rc::new(Bindings::default());
    for (k, v) in vars {
        env.bind(k, v.clone());
    }
    let mut cx = EvalContext {
        host,
        root: root.clone(),
        depth: 0,
        now: host.now_millis(),
    };
    let r = eval(ast, root.as_ref(), &env, &mut cx)?;
    Ok(match r {
        None => Outcome::Undefined,
        Some(JsonataValue::Func(_)) => Outcome::Function,
        Some(v) => match v.to_json() {
            Some(j) => Outcome::Value(j),
            None => Outcome::Function,
        },
    })
}

/// Collapses a sequence: empty is undefined, a singleton is its item.
pub(crate) fn collapse(v: Option<JsonataValue>) -> Option<JsonataValue> {
    match v {
        Some(JsonataValue::Arr(items, f)) if f.seq => {
            if items.is_empty() {
                None
            } else if items.len() == 1 && !f.keep {
                Some(items[0].clone())
            } else {
                Some(JsonataValue::Arr(items, f))
            }
        }
        other => other,
    }
}

/// JSONata's boolean cast; `None` for undefined.
pub(crate) fn truthy(v: &JsonataValue) -> bool {
    match v {
        JsonataValue::Null => false,
        JsonataValue::Bool(b) => *b,
        JsonataValue::Num(n) => *n != 0.0,
        JsonataValue::Str(s) => !s.is_empty(),
        JsonataValue::Arr(a, _) => match a.len() {
            0 => false,
            1 => truthy(&a[0]),
            _ => a.iter().any(truthy),
        },
        JsonataValue::Obj(m) => !m.is_empty(),
        JsonataValue::Func(_) => false,
    }
}

pub(crate) fn eval(
    node: &Node,
    input: Option<&JsonataValue>,
    env: &Rc<Bindings>,
    cx: &mut EvalContext,
) -> Result<Option<JsonataValue>, JError> {
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
    input: Option<&JsonataValue>,
    env: &Rc<Bindings>,
    cx: &mut EvalContext,
) -> Result<Option<JsonataValue>, JError> {
    Ok(match node {
        Node::Num(n) => Some(JsonataValue::Num(*n)),
        Node::Str(s) => Some(JsonataValue::Str(s.as_ref().into())),
        Node::Bool(b) => Some(JsonataValue::Bool(*b)),
        Node::Null => Some(JsonataValue::Null),
        Node::Regex(r) => Some(JsonataValue::Func(Rc::new(Func::Regex(r.clone())))),
        Node::Name(n) => input.and_then(|i| lookup(i, n)),
        Node::Var(name) => match name.as_str() {
            "" => input.cloned(),
            "$" => cx.root.clone(),
            _ => env.lookup(name).or_else(|| {
                functions::builtin(name).map(|b| JsonataValue::Func(Rc::new(Func::Builtin(b))))
            }),
        },
        Node::Wildcard => input.map(wildcard),
        Node::Descendants => input.map(|i| {
            let mut out = Vec::new();
            descendants(i, &mut out);
            JsonataValue::seq(out)
        }),
        Node::Path { steps, keep } => {
            let r = eval_path(steps, input, env, cx)?;
            match (r, keep) {
                (Some(JsonataValue::Arr(a, mut f)), true) => {
                    f.keep = true;
                    f.seq = true;
                    Some(JsonataValue::Arr(a, f))
                }
                (Some(v), true) => Some(JsonataValue::Arr(
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
            Some(JsonataValue::Arr(a, mut f)) => {
                f.keep = true;
                f.seq = true;
                Some(JsonataValue::Arr(a, f))
            }
            Some(v) => Some(JsonataValue::Arr(
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
            Some(JsonataValue::Num(n)) => Some(JsonataValue::Num(-n)),
            Some(_) => return Err(JError::new("D1002", "Cannot negate a non-numeric value")),
        },
        Node::Binary(op, l, r) => binary(op, l, r, input, env, cx)?,
        Node::Array(items) => {
            let mut out = Vec::new();
            for it in items {
                if let Some(v) = eval(it, input, env, cx)? {
                    match (&v, it) {
                        (_, Node::Array(_)) => out.push(v),
                        (JsonataValue::Arr(a, _), _) => out.extend(a.iter().cloned()),
                        _ => out.push(v),
                    }
                }
            }
            Some(JsonataValue::Arr(
                Rc::new(out),
                Flags {
                    cons: true,
                    ..Flags::default()
                },
            ))
        }
        Node::Object(pairs) => Some(object(pairs, input, env, cx)?),
        Node::Block(items) => {
            let scope = Bindings::child(env);
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
        Node::Lambda(l) => Some(JsonataValue::Func(Rc::new(Func::Lambda(
            l.clone(),
            env.clone(),
        )))),
        Node::Call(callee, args) => {
            let f = eval(callee, input, env, cx)?;
            let mut vals = Vec::with_capacity(args.len());
            for a in args {
                vals.push(eval(a, input, env, cx)?);
            }
            match f {
                Some(JsonataValue::Func(f)) => call(&f, vals, input, cx)?,
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
                        Some(JsonataValue::Func(f)) => call(&f, vals, input, cx)?,
                        _ => {
                            return Err(JError::new("T1006", "Attempted to invoke a non-function"))
                        }
                    }
                }
                other => match eval(other, input, env, cx)? {
                    Some(JsonataValue::Func(f)) => call(&f, vec![lv], input, cx)?,
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
pub(crate) fn lookup(input: &JsonataValue, key: &str) -> Option<JsonataValue> {
    match input {
        JsonataValue::Arr(items, _) => {
            let mut out = Vec::new();
            for it in items.iter() {
                match lookup(it, key) {
                    Some(JsonataValue::Arr(a, _)) => out.extend(a.iter().cloned()),
                    Some(v) => out.push(v),
                    None => {}
                }
            }
            Some(JsonataValue::seq(out))
        }
        JsonataValue::Obj(_) => input.get(key).cloned(),
        _ => None,
    }
}

fn flatten_into(v: &JsonataValue, out: &mut Vec<JsonataValue>) {
    match v {
        JsonataValue::Arr(a, _) => {
            for it in a.iter() {
                flatten_into(it, out);
            }
        }
        other => out.push(other.clone()),
    }
}

fn wildcard(input: &JsonataValue) -> JsonataValue {
    let mut out = Vec::new();
    let target = match input {
        JsonataValue::Arr(a, _) if !a.is_empty() => a[0].clone(),
        other => other.clone(),
    };
    if let JsonataValue::Obj(m) = &target {
        for (_, v) in m.iter() {
            flatten_into(v, &mut out);
        }
    }
    JsonataValue::seq(out)
}

fn descendants(v: &JsonataValue, out: &mut Vec<JsonataValue>) {
    match v {
        JsonataValue::Arr(a, _) => {
            for it in a.iter() {
                descendants(it, out);
            }
        }
        JsonataValue::Obj(m) => {
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
    input: Option<&JsonataValue>,
    env: &Rc<Bindings>,
    cx: &mut EvalContext,
) -> Result<Option<JsonataValue>, JError> {
    let first_is_var = matches!(steps.first().map(|s| &s.node), Some(Node::Var(_)));
    let mut seq: Vec<Option<JsonataValue>> = match input {
        Some(JsonataValue::Arr(a, _)) if !first_is_var => a.iter().cloned().map(Some).collect(),
        other => vec![other.cloned()],
    };
    let n = steps.len();
    let mut result: Option<JsonataValue> = None;
    for (i, step) in steps.iter().enumerate() {
        let last = i + 1 == n;
        let mut results: Vec<JsonataValue> = Vec::new();
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
        let out: JsonataValue = if last
            && results.len() == 1
            && matches!(&results[0], JsonataValue::Arr(_, f) if !f.seq)
        {
            results.pop().unwrap_or(JsonataValue::Null)
        } else {
            let mut flat = Vec::new();
            for r in results {
                match r {
                    JsonataValue::Arr(a, f) if !f.cons => flat.extend(a.iter().cloned()),
                    other => flat.push(other),
                }
            }
            JsonataValue::seq(flat)
        };
        if let JsonataValue::Arr(a, f) = &out {
            if a.is_empty() {
                // An empty array from the data is a value; an empty sequence is nothing.
                return Ok(if f.seq { None } else { Some(out) });
            }
        }
        if last {
            result = Some(out);
        } else {
            seq = match out {
                JsonataValue::Arr(a, _) => a.iter().cloned().map(Some).collect(),
                other => vec![Some(other)],
            };
        }
    }
    Ok(result)
}

/// Applies a predicate (`[expr]`) to a value: an index, or a filter.
fn filter(
    pred: &Node,
    v: JsonataValue,
    env: &Rc<Bindings>,
    cx: &mut EvalContext,
) -> Result<JsonataValue, JError> {
    let items: Rc<Vec<JsonataValue>> = match &v {
        JsonataValue::Arr(a, _) => a.clone(),
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
                JsonataValue::Arr(a, _) => return Ok(JsonataValue::seq(a.to_vec())),
                it => out.push(it.clone()),
            }
        }
        return Ok(JsonataValue::seq(out));
    }
    let len = items.len() as i64;
    for (i, item) in items.iter().enumerate() {
        let r = eval(pred, Some(item), env, cx)?;
        let nums: Option<Vec<f64>> = match &r {
            Some(JsonataValue::Num(n)) => Some(vec![*n]),
            Some(JsonataValue::Arr(a, _))
                if !a.is_empty() && a.iter().all(|x| matches!(x, JsonataValue::Num(_))) =>
            {
                Some(
                    a.iter()
                        .map(|x| {
                            if let JsonataValue::Num(n) = x {
                                *n
                            } else {
                                0.0
                            }
                        })
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
    Ok(JsonataValue::seq(out))
}

fn object(
    pairs: &[(Node, Node)],
    input: Option<&JsonataValue>,
    env: &Rc<Bindings>,
    cx: &mut EvalContext,
) -> Result<JsonataValue, JError> {
    let mut out: Vec<(String, JsonataValue)> = Vec::new();
    for (k, v) in pairs {
        let key = match eval(k, input, env, cx)? {
            Some(JsonataValue::Str(s)) => s.to_string(),
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
    Ok(JsonataValue::object(out))
}

/// Deep equality of two values.
pub(crate) fn deep_equal(a: &JsonataValue, b: &JsonataValue) -> bool {
    match (a, b) {
        (JsonataValue::Null, JsonataValue::Null) => true,
        (JsonataValue::Bool(x), JsonataValue::Bool(y)) => x == y,
        (JsonataValue::Num(x), JsonataValue::Num(y)) => x == y,
        (JsonataValue::Str(x), JsonataValue::Str(y)) => x == y,
        (JsonataValue::Arr(x, _), JsonataValue::Arr(y, _)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| deep_equal(p, q))
        }
        (JsonataValue::Obj(x), JsonataValue::Obj(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        (JsonataValue::Func(x), JsonataValue::Func(y)) => Rc::ptr_eq(x, y),
        _ => false,
    }
}

/// Calls a function value.
pub(crate) fn call(
    f: &Rc<Func>,
    args: Vec<Option<JsonataValue>>,
    input: Option<&JsonataValue>,
    cx: &mut EvalContext,
) -> Result<Option<JsonataValue>, JError> {
    match f.as_ref() {
        Func::Builtin(name) => functions::call_builtin(name, args, input, cx),
        Func::Regex(re) => Ok(match args.first() {
            Some(Some(JsonataValue::Str(s))) => {
                let chars: Vec<char> = s.chars().collect();
                re.captures_at(&super::regex::Subject::new(s), 0)
                    .map(|found| {
                        let (a, b) = (found.start, found.end);
                        JsonataValue::object(vec![
                            (
                                "match".into(),
                                JsonataValue::str(&chars[a..b].iter().collect::<String>()),
                            ),
                            ("start".into(), JsonataValue::Num(a as f64)),
                            ("end".into(), JsonataValue::Num(b as f64)),
                            (
                                "groups".into(),
                                JsonataValue::seq(
                                    found
                                        .groups
                                        .iter()
                                        .map(|g| JsonataValue::str(g.as_deref().unwrap_or("")))
                                        .collect(),
                                ),
                            ),
                        ])
                    })
            }
            _ => None,
        }),
        Func::Lambda(l, closure) => {
            let scope = Bindings::child(closure);
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
