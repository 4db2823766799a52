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
mod operators;
mod parser;
mod regex;
mod value;

use serde_json::Value;

pub(crate) use eval::JsonataValue;

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
        vars: &[(&str, JsonataValue)],
        host: &dyn Host,
    ) -> Result<Outcome, JError> {
        eval::evaluate(&self.ast, input, vars, host)
    }
}

#[cfg(test)]
mod tests {
    use super::{Expression, Host, JsonataValue, Outcome};
    use serde_json::{json, Value};

    struct Fixed;

    impl Host for Fixed {
        fn random(&self) -> f64 {
            0.25
        }
        fn now_millis(&self) -> i64 {
            1_700_000_000_000
        }
        fn uuid(&self) -> String {
            "00000000-0000-4000-8000-000000000000".into()
        }
    }

    fn run(expr: &str) -> Result<Outcome, String> {
        let input = json!({
            "order": {"items": [
                {"name": "a", "price": 2, "qty": 3, "tags": ["x", "y"]},
                {"name": "b", "price": 5, "qty": 1, "tags": ["z"]},
                {"name": "c", "price": 1, "qty": 10, "tags": []}
            ]},
            "one": [7],
            "empty": [],
            "nested": [[1, 2], [3]],
            "s": "Hello World"
        });
        let e = Expression::parse(expr).map_err(|e| e.to_string())?;
        let vars = [(
            "states",
            JsonataValue::object(vec![("input".into(), JsonataValue::from_json(&input))]),
        )];
        e.evaluate(Some(&input), &vars, &Fixed)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn expressions_evaluate_like_jsonata() {
        let cases: Vec<(&str, Value)> = vec![
            ("order.items.name", json!(["a", "b", "c"])),
            ("order.items[0].name", json!("a")),
            ("order.items[-1].name", json!("c")),
            ("order.items[price > 1].name", json!(["a", "b"])),
            ("order.items[price > 4].name", json!("b")),
            ("order.items[price > 4][].name", json!(["b"])),
            ("order.items.tags", json!(["x", "y", "z"])),
            ("one", json!([7])),
            ("empty", json!([])),
            ("nested", json!([[1, 2], [3]])),
            ("nested[0]", json!([1, 2])),
            ("$sum(order.items.(price * qty))", json!(21)),
            (
                "(order.items.{'n': name, 'total': price * qty})[1]",
                json!({"n": "b", "total": 5}),
            ),
            ("$states.input.order.items[qty = 10].name", json!("c")),
            ("[1..4]", json!([1, 2, 3, 4])),
            ("[1, [2, 3], 4..5]", json!([1, [2, 3], 4, 5])),
            ("1 + 2 * 3 - 4 / 2", json!(5)),
            ("7 % 3", json!(1)),
            ("'a' & 1 & true & null", json!("a1truenull")),
            ("3 > 2 and 'b' < 'a' or 1 = 1", json!(true)),
            ("2 in [1, 2] ? 'yes' : 'no'", json!("yes")),
            ("(\"x\" = 'x') != false", json!(true)),
            ("($a := 2; $b := $a * 3; $a + $b)", json!(8)),
            ("($f := function($x, $y) { $x * $y }; $f(6, 7))", json!(42)),
            (
                "($fact := function($n) { $n <= 1 ? 1 : $n * $fact($n - 1) }; $fact(10))",
                json!(3_628_800),
            ),
            (
                "$map([1, 2, 3], function($v, $i) { $v + $i })",
                json!([1, 3, 5]),
            ),
            (
                "$filter([1, 2, 3, 4], function($v) { $v % 2 = 0 })",
                json!([2, 4]),
            ),
            (
                "$reduce([1, 2, 3, 4], function($a, $b) { $a + $b })",
                json!(10),
            ),
            ("[3, 1, 2] ~> $sort()", json!([1, 2, 3])),
            (
                "$sort(order.items, function($l, $r) { $l.price < $r.price }).name",
                json!(["b", "a", "c"]),
            ),
            (
                "$string(1.5) & $string(100) & $string([1, 'a'])",
                json!("1.5100[1,\"a\"]"),
            ),
            ("$number('0x10') + $number('2.5')", json!(18.5)),
            (
                "$count(order.items) + $count(empty) + $count(nope)",
                json!(3),
            ),
            (
                "[$max(order.items.price), $min(order.items.price), $average([1, 2])]",
                json!([5, 1, 1.5]),
            ),
            (
                "$length(s) & $substring(s, 6) & $substring(s, -5, 2)",
                json!("11WorldWo"),
            ),
            (
                "$uppercase(s) & $lowercase('X') & $trim('  a   b ')",
                json!("HELLO WORLDxa b"),
            ),
            (
                "$substringBefore(s, ' ') & $substringAfter(s, ' ')",
                json!("HelloWorld"),
            ),
            ("$join($split('a,b,c', ','), '-')", json!("a-b-c")),
            (
                "$contains(s, 'World') and $contains(s, /^hel+o/i)",
                json!(true),
            ),
            ("$replace('a-b-c', '-', '+')", json!("a+b+c")),
            // Capture groups in the replacement (`$1`, `$$`), and in a regex's match object.
            (
                "$replace('John Smith', /(\\w+)\\s(\\w+)/, '$2, $1 ($$)')",
                json!("Smith, John ($)"),
            ),
            ("/(a)(x)?(b)/('cab').groups", json!(["a", "", "b"])),
            ("$keys({'a': 1, 'b': 2})", json!(["a", "b"])),
            ("$lookup({'a': 1}, 'a')", json!(1)),
            (
                "$merge([{'a': 1}, {'b': 2}, {'a': 3}])",
                json!({"a": 3, "b": 2}),
            ),
            ("$append([1], 2)", json!([1, 2])),
            (
                "[$type(1), $type('s'), $type(null), $type([]), $type({}), $type(true)]",
                json!(["number", "string", "null", "array", "object", "boolean"]),
            ),
            (
                "[$not(0), $boolean('x'), $exists(nope), $exists(s)]",
                json!([true, true, false, true]),
            ),
            (
                "[$round(2.5), $round(3.5), $round(1.255, 2), $floor(-1.5), $ceil(1.2), $abs(-3)]",
                json!([2, 4, 1.26, -2, 2, 3]),
            ),
            ("$distinct([1, 2, 1, 'a', 'a'])", json!([1, 2, "a"])),
            ("$reverse([1, 2, 3])", json!([3, 2, 1])),
            ("$zip([1, 2], ['a', 'b', 'c'])", json!([[1, "a"], [2, "b"]])),
            ("$each({'a': 1}, function($v, $k) { $k & $v })", json!("a1")),
            (
                "$sift({'a': 1, 'b': 2}, function($v) { $v > 1 })",
                json!({"b": 2}),
            ),
            (
                "$partition([1, 2, 3, 4, 5], 2)",
                json!([[1, 2], [3, 4], [5]]),
            ),
            ("$range(0, 10, 5)", json!([0, 5, 10])),
            (
                "$hash('abc', 'SHA-256')",
                json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            ),
            (
                "$hash('abc', 'MD5')",
                json!("900150983cd24fb0d6963f7d28e17f72"),
            ),
            ("$parse('{\"a\": [1, 2]}').a[1]", json!(2)),
            ("$base64decode($base64encode('guard'))", json!("guard")),
            ("$now()", json!("2023-11-14T22:13:20.000Z")),
            ("$millis()", json!(1_700_000_000_000_i64)),
            ("$random()", json!(0.25)),
            ("$uuid()", json!("00000000-0000-4000-8000-000000000000")),
            ("order.items[0].*", json!(["a", 2, 3, "x", "y"])),
            ("$$.s", json!("Hello World")),
            ("/* comment */ `one`", json!([7])),
        ];
        let mut wrong = Vec::new();
        for (expr, want) in cases {
            match run(expr) {
                Ok(Outcome::Value(v)) if v == want => {}
                other => wrong.push(format!("{expr}: got {other:?}, want {want}")),
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn undefined_functions_and_errors() {
        assert_eq!(run("nope"), Ok(Outcome::Undefined));
        assert_eq!(run("order.items[price > 100]"), Ok(Outcome::Undefined));
        assert_eq!(run("function($x) { $x }"), Ok(Outcome::Function));
        let errors = [
            ("$nope(1)", "T1006: Attempted to invoke a non-function"),
            ("'a' + 1", "T2001: The left side of the \"+\" operator must evaluate to a number"),
            ("1 < 'a'", "T2009: The values 1 and a either side of operator \"<\" must be of the same data type"),
            ("$number('abc')", "D3030: Unable to cast value to a number: \"abc\""),
            ("$error('stop')", "D3137: stop"),
            ("{'a': 1, 'a': 2}", "D1009: Multiple key definitions evaluate to same key: \"a\""),
        ];
        for (expr, want) in errors {
            assert_eq!(run(expr), Err(want.to_string()), "{expr}");
        }
        for bad in ["1 +", "(1", "[1, 2", "'open", "a.", "$x :="] {
            assert!(Expression::parse(bad).is_err(), "{bad} should not parse");
        }
    }
}
