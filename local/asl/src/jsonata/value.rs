//! JSONata values: numbers, strings, booleans, null, arrays (with their sequence flags),
//! objects and functions.

use std::rc::Rc;
use std::sync::Arc;

use serde_json::Value;

use super::eval::Bindings;
use super::parser::Lambda;

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
    Lambda(Arc<Lambda>, Rc<Bindings>),
    /// A built-in function, by name.
    Builtin(&'static str),
    /// A regular expression literal (`/.../`), usable as a pattern argument.
    Regex(Arc<super::regex::Regex>),
}

/// A JSONata value (undefined is `None` where it can occur).
#[derive(Debug, Clone)]
pub enum JsonataValue {
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
    Arr(Rc<Vec<JsonataValue>>, Flags),
    /// An object, keys in insertion order.
    Obj(Rc<Vec<(String, JsonataValue)>>),
    /// A function.
    #[allow(private_interfaces)]
    Func(Rc<Func>),
}

impl JsonataValue {
    /// Converts a JSON value.
    pub fn from_json(v: &Value) -> JsonataValue {
        match v {
            Value::Null => JsonataValue::Null,
            Value::Bool(b) => JsonataValue::Bool(*b),
            Value::Number(n) => JsonataValue::Num(n.as_f64().unwrap_or(0.0)),
            Value::String(s) => JsonataValue::Str(s.as_str().into()),
            Value::Array(a) => JsonataValue::Arr(
                Rc::new(a.iter().map(JsonataValue::from_json).collect()),
                Flags::default(),
            ),
            Value::Object(m) => JsonataValue::Obj(Rc::new(
                m.iter()
                    .map(|(k, v)| (k.clone(), JsonataValue::from_json(v)))
                    .collect(),
            )),
        }
    }

    /// Converts to JSON; `None` for a function.
    pub fn to_json(&self) -> Option<Value> {
        Some(match self {
            JsonataValue::Null => Value::Null,
            JsonataValue::Bool(b) => Value::Bool(*b),
            JsonataValue::Num(n) => num_json(*n),
            JsonataValue::Str(s) => Value::String(s.to_string()),
            JsonataValue::Arr(a, _) => {
                Value::Array(a.iter().filter_map(JsonataValue::to_json).collect())
            }
            JsonataValue::Obj(m) => Value::Object(
                m.iter()
                    .filter_map(|(k, v)| v.to_json().map(|j| (k.clone(), j)))
                    .collect(),
            ),
            JsonataValue::Func(_) => return None,
        })
    }

    /// An object from key/value pairs.
    pub fn object(pairs: Vec<(String, JsonataValue)>) -> JsonataValue {
        JsonataValue::Obj(Rc::new(pairs))
    }

    pub(crate) fn str(s: &str) -> JsonataValue {
        JsonataValue::Str(s.into())
    }

    pub(crate) fn array(items: Vec<JsonataValue>) -> JsonataValue {
        JsonataValue::Arr(Rc::new(items), Flags::default())
    }

    pub(crate) fn seq(items: Vec<JsonataValue>) -> JsonataValue {
        JsonataValue::Arr(
            Rc::new(items),
            Flags {
                seq: true,
                ..Flags::default()
            },
        )
    }

    /// Looks a key up in an object.
    pub(crate) fn get(&self, key: &str) -> Option<&JsonataValue> {
        match self {
            JsonataValue::Obj(m) => m.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            JsonataValue::Null => "null",
            JsonataValue::Bool(_) => "boolean",
            JsonataValue::Num(_) => "number",
            JsonataValue::Str(_) => "string",
            JsonataValue::Arr(..) => "array",
            JsonataValue::Obj(_) => "object",
            JsonataValue::Func(_) => "function",
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
