//! Payload templates: `Parameters`, `ResultSelector`, `ItemSelector`, `Assign`.
//!
//! A key ending in `.$` takes its value from a path (`$.a`, `$$.Execution.Id`, `$var`) or an
//! intrinsic call; the suffix is dropped from the output key. Other values are copied as is.

use serde_json::{Map, Value};

use crate::intrinsics::{looks_like_call, Call};
use crate::path::{Missing, Path, Root};

/// What a template or path can read while it is evaluated.
pub trait Scope {
    /// The value `$` refers to.
    fn input(&self) -> &Value;
    /// The context object (`$$`), built on demand.
    fn context(&self) -> Value;
    /// A workflow variable.
    fn variable(&self, name: &str) -> Option<&Value>;
    /// A random number (for `States.UUID` and `States.MathRandom`).
    fn random_u64(&self) -> u64;

    /// Evaluates a path against the right root.
    fn resolve(&self, path: &Path) -> Result<Value, EvalError> {
        let missing = |m: Missing| EvalError::PathNotFound {
            field: None,
            path: path.text.clone(),
            missing: m,
        };
        match &path.root {
            Root::Input => path.eval(self.input()).map_err(missing),
            Root::Context => path.eval(&self.context()).map_err(missing),
            Root::Variable(name) => match self.variable(name) {
                Some(v) => path.eval(v).map_err(missing),
                None => Err(EvalError::VariableNotFound {
                    field: None,
                    path: path.text.clone(),
                    name: name.clone(),
                }),
            },
        }
    }
}

/// Why evaluating a template, a path or an intrinsic failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// A definite path found nothing.
    #[error("the JSONPath '{path}' could not be found")]
    PathNotFound {
        /// The template field (`name.$`) being evaluated, if any.
        field: Option<String>,
        /// The path as written.
        path: String,
        /// Where it stopped.
        missing: Missing,
    },
    /// A variable is not defined.
    #[error("the variable in '{path}' is not defined")]
    VariableNotFound {
        /// The template field (`name.$`) being evaluated, if any.
        field: Option<String>,
        /// The path as written.
        path: String,
        /// The variable name.
        name: String,
    },
    /// An intrinsic function failed.
    #[error("{0}")]
    Intrinsic(String),
}

impl EvalError {
    fn with_field(self, f: &str) -> Self {
        match self {
            EvalError::PathNotFound {
                field: None,
                path,
                missing,
            } => EvalError::PathNotFound {
                field: Some(f.to_string()),
                path,
                missing,
            },
            EvalError::VariableNotFound {
                field: None,
                path,
                name,
            } => EvalError::VariableNotFound {
                field: Some(f.to_string()),
                path,
                name,
            },
            other => other,
        }
    }
}

/// A compiled payload template.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    /// An object whose entries are templates.
    Object(Vec<(String, Template)>),
    /// An array whose items are templates.
    Array(Vec<Template>),
    /// A constant.
    Literal(Value),
    /// `"key.$": "$.path"`.
    Path {
        /// The key as written (with `.$`).
        field: String,
        /// The path.
        path: Path,
    },
    /// `"key.$": "States.Fn(...)"`.
    Call {
        /// The key as written (with `.$`).
        field: String,
        /// The call.
        call: Call,
    },
}

/// A problem found while compiling a template: a JSON-pointer suffix and a message.
#[derive(Debug, Clone, PartialEq)]
pub struct CompileError {
    /// Location below the template, e.g. `/a/b.$`.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl Template {
    /// Compiles a JSON value into a template.
    pub fn compile(v: &Value) -> Result<Template, CompileError> {
        compile_at(v, "")
    }

    /// Whether the template is a constant.
    pub fn is_literal(&self) -> bool {
        matches!(self, Template::Literal(_))
    }

    /// Evaluates the template.
    pub fn eval(&self, scope: &dyn Scope) -> Result<Value, EvalError> {
        match self {
            Template::Literal(v) => Ok(v.clone()),
            Template::Object(entries) => {
                let mut m = Map::with_capacity(entries.len());
                for (k, t) in entries {
                    m.insert(k.clone(), t.eval(scope)?);
                }
                Ok(Value::Object(m))
            }
            Template::Array(items) => items
                .iter()
                .map(|t| t.eval(scope))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Template::Path { field, path } => scope.resolve(path).map_err(|e| e.with_field(field)),
            Template::Call { field, call } => call.eval(scope).map_err(|e| e.with_field(field)),
        }
    }
}

fn escape_pointer(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

fn compile_at(v: &Value, loc: &str) -> Result<Template, CompileError> {
    match v {
        Value::Object(m) => {
            let mut entries = Vec::with_capacity(m.len());
            let mut all_literal = true;
            for (k, child) in m {
                let here = format!("{loc}/{}", escape_pointer(k));
                if let Some(stripped) = k.strip_suffix(".$") {
                    let Some(s) = child.as_str() else {
                        return Err(CompileError {
                            location: here,
                            message: format!(
                                "The value for the field '{k}' must be a STRING that contains a JSONPath or an intrinsic function"
                            ),
                        });
                    };
                    all_literal = false;
                    let t = compile_dynamic(k, s).map_err(|message| CompileError {
                        location: here.clone(),
                        message,
                    })?;
                    entries.push((stripped.to_string(), t));
                } else {
                    let t = compile_at(child, &here)?;
                    all_literal &= t.is_literal();
                    entries.push((k.clone(), t));
                }
            }
            if all_literal {
                Ok(Template::Literal(v.clone()))
            } else {
                Ok(Template::Object(entries))
            }
        }
        Value::Array(a) => {
            let mut items = Vec::with_capacity(a.len());
            let mut all_literal = true;
            for (i, child) in a.iter().enumerate() {
                let t = compile_at(child, &format!("{loc}/{i}"))?;
                all_literal &= t.is_literal();
                items.push(t);
            }
            if all_literal {
                Ok(Template::Literal(v.clone()))
            } else {
                Ok(Template::Array(items))
            }
        }
        other => Ok(Template::Literal(other.clone())),
    }
}

/// Compiles the string value of a `.$` field: a path or an intrinsic call.
pub fn compile_dynamic(field: &str, s: &str) -> Result<Template, String> {
    if looks_like_call(s) {
        Call::parse(s)
            .map(|call| Template::Call {
                field: field.to_string(),
                call,
            })
            .map_err(|e| {
                format!("The value for the field '{field}' must be a valid intrinsic function: {e}")
            })
    } else {
        Path::parse(s)
            .map(|path| Template::Path {
                field: field.to_string(),
                path,
            })
            .map_err(|e| format!("The value for the field '{field}' must be a valid JSONPath: {e}"))
    }
}
