//! JSONata, the query language of `QueryLanguage: "JSONata"` states.
//!
//! A self-contained evaluator for the JSONata 2.0 expression language as Step Functions uses
//! it: path navigation with JSONata's sequence rules (singleton sequences collapse, `[]` keeps
//! arrays, arrays flatten along a path), predicates and indexes, wildcards, object and array
//! constructors, arithmetic, comparison, boolean and string operators, conditionals, ranges,
//! variables and `:=` bindings, blocks, user-defined functions and closures, the standard
//! function library, and the Step Functions extras (`$partition`, `$range`, `$hash`,
//! `$random`, `$uuid`, `$parse`).
//!
//! Randomness and time come from the caller through [`Host`], so executions stay
//! reproducible under a seeded random source and a virtual clock.

mod eval;
mod functions;
mod lexer;
mod parser;
mod regex;

use serde_json::Value;

pub(crate) use eval::Val;

/// A JSONata error: its code (`T1006`, `D3001`...) and message, as JSONata reports them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct JError {
    /// The JSONata error code.
    pub code: String,
    /// The message.
    pub message: String,
}

impl JError {
    pub(crate) fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_string(),
            message: message.into(),
        }
    }
}

/// What an expression may ask of its surroundings: time and randomness.
pub trait Host {
    /// A uniformly distributed number in `[0, 1)`.
    fn random(&self) -> f64;
    /// Milliseconds since the Unix epoch, the same for the whole evaluation.
    fn now_millis(&self) -> i64;
    /// A random (version 4) UUID.
    fn uuid(&self) -> String;
}

/// What an expression produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A JSON value.
    Value(Value),
    /// Nothing: JSONata's `undefined`.
    Undefined,
    /// A function, which has no JSON form.
    Function,
}

/// A parsed JSONata expression.
#[derive(Debug, Clone)]
pub struct Expression {
    text: String,
    ast: std::sync::Arc<parser::Node>,
}

impl PartialEq for Expression {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Expression {
    /// Parses an expression (the text between `{%` and `%}`).
    pub fn parse(text: &str) -> Result<Expression, JError> {
        let ast = parser::parse(text)?;
        Ok(Expression {
            text: text.to_string(),
            ast: std::sync::Arc::new(ast),
        })
    }

    /// The expression as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Evaluates the expression with `input` as the context (`$`) and the given variables.
    pub fn evaluate(
        &self,
        input: Option<&Value>,
        vars: &[(&str, Val)],
        host: &dyn Host,
    ) -> Result<Outcome, JError> {
        eval::evaluate(&self.ast, input, vars, host)
    }
}
