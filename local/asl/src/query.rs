//! JSON templates of JSONata states (`Arguments`, `Output`, `Assign`, `Items`...): any string
//! written as `{% expression %}` is evaluated, everything else is copied as it is.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::jsonata::{Expression, Host, JError, JsonataValue, Outcome};

/// A compiled JSONata template.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonataTemplate {
    /// A value without expressions.
    Literal(Value),
    /// A `{% ... %}` string.
    Expr(Arc<Expression>),
    /// An object with at least one expression inside.
    Object(Vec<(String, JsonataTemplate)>),
    /// An array with at least one expression inside.
    Array(Vec<JsonataTemplate>),
}

/// Why evaluating a template failed; [`QueryError::message`] gives AWS's wording.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryError {
    /// The expression returned nothing.
    Undefined {
        /// The expression text.
        expr: String,
        /// The field (`Output/result`).
        field: String,
    },
    /// The expression returned a function.
    Unsupported {
        /// The expression text.
        expr: String,
        /// The field.
        field: String,
    },
    /// The expression raised an error.
    Failed {
        /// The expression text.
        expr: String,
        /// The field.
        field: String,
        /// The JSONata error.
        error: JError,
    },
}

impl QueryError {
    /// The cause text, as Step Functions words it.
    pub fn message(&self) -> String {
        match self {
            QueryError::Undefined { expr, field } => format!(
                "The JSONata expression '{expr}' specified for the field '{field}' returned nothing (undefined)."
            ),
            QueryError::Unsupported { expr, field } => format!(
                "The JSONata expression '{expr}' specified for the field '{field}' returned an unsupported result type."
            ),
            QueryError::Failed { expr, field, error } => format!(
                "The JSONata expression '{expr}' specified for the field '{field}' threw an error during evaluation. {}: {}",
                error.code, error.message
            ),
        }
    }
}

/// The expression inside a `{% ... %}` string, if the string is one.
pub fn expression_text(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("{%")?.strip_suffix("%}")?;
    Some(inner.trim())
}

impl JsonataTemplate {
    /// Compiles a template; an error gives the JSON-pointer suffix and the message.
    pub fn compile(v: &Value) -> Result<JsonataTemplate, (String, String)> {
        match v {
            Value::String(s) => match expression_text(s) {
                Some(text) => match Expression::parse(text) {
                    Ok(e) => Ok(JsonataTemplate::Expr(Arc::new(e))),
                    Err(e) => Err((
                        String::new(),
                        format!("The JSONata expression '{text}' is invalid: {e}"),
                    )),
                },
                None => Ok(JsonataTemplate::Literal(v.clone())),
            },
            Value::Object(m) => {
                let mut out = Vec::with_capacity(m.len());
                let mut dynamic = false;
                for (k, x) in m {
                    let c = JsonataTemplate::compile(x).map_err(|(l, e)| {
                        (
                            format!("/{}{l}", k.replace('~', "~0").replace('/', "~1")),
                            e,
                        )
                    })?;
                    dynamic |= !matches!(c, JsonataTemplate::Literal(_));
                    out.push((k.clone(), c));
                }
                Ok(if dynamic {
                    JsonataTemplate::Object(out)
                } else {
                    JsonataTemplate::Literal(v.clone())
                })
            }
            Value::Array(a) => {
                let mut out = Vec::with_capacity(a.len());
                let mut dynamic = false;
                for (i, x) in a.iter().enumerate() {
                    let c =
                        JsonataTemplate::compile(x).map_err(|(l, e)| (format!("/{i}{l}"), e))?;
                    dynamic |= !matches!(c, JsonataTemplate::Literal(_));
                    out.push(c);
                }
                Ok(if dynamic {
                    JsonataTemplate::Array(out)
                } else {
                    JsonataTemplate::Literal(v.clone())
                })
            }
            other => Ok(JsonataTemplate::Literal(other.clone())),
        }
    }

    /// The expression, when the whole template is one.
    pub fn as_expression(&self) -> Option<&Expression> {
        match self {
            JsonataTemplate::Expr(e) => Some(e),
            _ => None,
        }
    }

    /// Evaluates the template. `field` names it in error messages (`Output`, `Arguments`).
    pub fn eval(
        &self,
        field: &str,
        vars: &[(&str, JsonataValue)],
        host: &dyn Host,
    ) -> Result<Value, QueryError> {
        match self {
            JsonataTemplate::Literal(v) => Ok(v.clone()),
            JsonataTemplate::Expr(e) => {
                let err = |f: fn(String, String) -> QueryError| {
                    f(e.text().to_string(), field.to_string())
                };
                match e.evaluate(None, vars, host) {
                    Ok(Outcome::Value(v)) => Ok(v),
                    Ok(Outcome::Undefined) => {
                        Err(err(|expr, field| QueryError::Undefined { expr, field }))
                    }
                    Ok(Outcome::Function) => {
                        Err(err(|expr, field| QueryError::Unsupported { expr, field }))
                    }
                    Err(error) => Err(QueryError::Failed {
                        expr: e.text().to_string(),
                        field: field.to_string(),
                        error,
                    }),
                }
            }
            JsonataTemplate::Object(pairs) => {
                let mut m = Map::new();
                for (k, x) in pairs {
                    m.insert(k.clone(), x.eval(&format!("{field}/{k}"), vars, host)?);
                }
                Ok(Value::Object(m))
            }
            JsonataTemplate::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, x)| x.eval(&format!("{field}[{i}]"), vars, host))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
        }
    }
}
