//! A Pratt parser turning JSONata tokens into an expression tree.

use std::sync::Arc;

use super::lexer::{tokenize, Tok};
use super::regex::Regex;
use super::JError;

/// One step of a path, with its predicates.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub node: Node,
    pub stages: Vec<Node>,
}

/// An expression.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Num(f64),
    Str(Arc<str>),
    Bool(bool),
    Null,
    Regex(Arc<Regex>),
    /// A field name (always inside a path).
    Name(String),
    /// `$name`; `""` is the context `$`, `"$"` is the root `$$`.
    Var(String),
    Wildcard,
    Descendants,
    Path {
        steps: Vec<Step>,
        keep: bool,
    },
    Neg(Box<Node>),
    Binary(&'static str, Box<Node>, Box<Node>),
    Array(Vec<Node>),
    Object(Vec<(Node, Node)>),
    Block(Vec<Node>),
    Cond(Box<Node>, Box<Node>, Option<Box<Node>>),
    Bind(String, Box<Node>),
    Lambda(Arc<Lambda>),
    Call(Box<Node>, Vec<Node>),
    Filter(Box<Node>, Box<Node>),
    KeepArray(Box<Node>),
    Apply(Box<Node>, Box<Node>),
}

/// A function defined in an expression.
#[derive(Debug)]
pub(crate) struct Lambda {
    pub params: Vec<String>,
    pub body: Node,
}

/// Parses an expression.
pub(crate) fn parse(src: &str) -> Result<Node, JError> {
    let toks = tokenize(src)?;
    let mut p = Parser { toks, pos: 0 };
    let n = p.expression(0)?;
    match p.peek() {
        Tok::End => Ok(n),
        t => Err(JError::new(
            "S0201",
            format!("Syntax error: {}", describe(t)),
        )),
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Num(n) => format!("\"{n}\""),
        Tok::Str(s) => format!("\"{s}\""),
        Tok::Name(s) | Tok::Var(s) => format!("\"{s}\""),
        Tok::Op(o) => format!("\"{o}\""),
        Tok::Regex(_) => "regex".into(),
        Tok::End => "(end)".into(),
    }
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

fn lbp(t: &Tok) -> u8 {
    match t {
        Tok::Op(o) => match *o {
            "." => 75,
            "[" | "(" | "@" | "#" => 80,
            "{" => 70,
            "?" | "|" | ".." => 20,
            "+" | "-" | "&" => 50,
            "*" | "/" | "%" | "**" => 60,
            "=" | "<" | ">" | "^" | "!=" | "<=" | ">=" | "~>" | "in" => 40,
            ":=" => 10,
            "and" => 30,
            "or" => 25,
            _ => 0,
        },
        _ => 0,
    }
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)].0
    }

    fn next(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Tok::Op(o) if *o == op)
    }

    fn expect(&mut self, op: &str) -> Result<(), JError> {
        if self.is_op(op) {
            self.pos += 1;
            Ok(())
        } else if matches!(self.peek(), Tok::End) {
            Err(JError::new(
                "S0203",
                format!("Expected \"{op}\" before end of expression"),
            ))
        } else {
            Err(JError::new(
                "S0202",
                format!("Expected \"{op}\", got {}", describe(self.peek())),
            ))
        }
    }

    fn expression(&mut self, rbp: u8) -> Result<Node, JError> {
        let t = self.next();
        let mut left = self.nud(t)?;
        while rbp < lbp(self.peek()) {
            let t = self.next();
            left = self.led(t, left)?;
        }
        Ok(left)
    }

    fn list(&mut self, close: &str) -> Result<Vec<Node>, JError> {
        let mut items = Vec::new();
        if !self.is_op(close) {
            loop {
                items.push(self.expression(0)?);
                if self.is_op(",") {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        self.expect(close)?;
        Ok(items)
    }

    fn pairs(&mut self) -> Result<Vec<(Node, Node)>, JError> {
        let mut out = Vec::new();
        if !self.is_op("}") {
            loop {
                let k = self.expression(0)?;
                self.expect(":")?;
                let v = self.expression(0)?;
                out.push((k, v));
                if self.is_op(",") {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        self.expect("}")?;
        Ok(out)
    }

    fn nud(&mut self, t: Tok) -> Result<Node, JError> {
        Ok(match t {
            Tok::Num(n) => Node::Num(n),
            Tok::Str(s) => Node::Str(s.into()),
            Tok::Regex(r) => Node::Regex(r),
            Tok::Var(v) => Node::Var(v),
            Tok::Name(n) => match n.as_str() {
                "true" => Node::Bool(true),
                "false" => Node::Bool(false),
                "null" => Node::Null,
                "function" | "λ" if self.is_op("(") => {
                    self.pos += 1;
                    let mut params = Vec::new();
                    if !self.is_op(")") {
                        loop {
                            match self.next() {
                                Tok::Var(v) => params.push(v),
                                t => {
                                    return Err(JError::new(
                                        "S0208",
                                        format!("Parameter {} of function definition must be a variable name (start with $)", describe(&t)),
                                    ))
                                }
                            }
                            if self.is_op(",") {
                                self.pos += 1;
                            } else {
                                break;
                            }
                        }
                    }
                    self.expect(")")?;
                    if self.is_op("<") {
                        // A type signature: accepted and ignored.
                        let mut depth = 0;
                        loop {
                            match self.next() {
                                Tok::Op("<") => depth += 1,
                                Tok::Op(">") => {
                                    depth -= 1;
                                    if depth == 0 {
                                        break;
                                    }
                                }
                                Tok::End => {
                                    return Err(JError::new(
                                        "S0203",
                                        "Expected \">\" before end of expression",
                                    ))
                                }
                                _ => {}
                            }
                        }
                    }
                    self.expect("{")?;
                    let body = self.expression(0)?;
                    self.expect("}")?;
                    Node::Lambda(Arc::new(Lambda { params, body }))
                }
                _ => Node::Path {
                    steps: vec![Step {
                        node: Node::Name(n),
                        stages: Vec::new(),
                    }],
                    keep: false,
                },
            },
            Tok::Op("and") | Tok::Op("or") | Tok::Op("in") => {
                let Tok::Op(o) = t else { unreachable!() };
                Node::Path {
                    steps: vec![Step {
                        node: Node::Name(o.to_string()),
                        stages: Vec::new(),
                    }],
                    keep: false,
                }
            }
            Tok::Op("-") => Node::Neg(Box::new(self.expression(70)?)),
            Tok::Op("*") => Node::Wildcard,
            Tok::Op("**") => Node::Descendants,
            Tok::Op("(") => {
                let mut items = Vec::new();
                while !self.is_op(")") {
                    items.push(self.expression(0)?);
                    if self.is_op(";") {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                self.expect(")")?;
                Node::Block(items)
            }
            Tok::Op("[") => Node::Array(self.list("]")?),
            Tok::Op("{") => Node::Object(self.pairs()?),
            Tok::End => {
                return Err(JError::new("S0207", "Unexpected end of expression"));
            }
            t => {
                return Err(JError::new(
                    "S0211",
                    format!(
                        "The symbol {} cannot be used as a unary operator",
                        describe(&t)
                    ),
                ))
            }
        })
    }

    fn led(&mut self, t: Tok, left: Node) -> Result<Node, JError> {
        let Tok::Op(op) = t else {
            return Err(JError::new(
                "S0201",
                format!("Syntax error: {}", describe(&t)),
            ));
        };
        Ok(match op {
            "." => {
                let right = self.expression(75)?;
                let (mut steps, mut keep) = into_steps(left);
                let (more, k2) = into_steps(right);
                steps.extend(more);
                keep |= k2;
                Node::Path { steps, keep }
            }
            "[" => {
                if self.is_op("]") {
                    self.pos += 1;
                    match left {
                        Node::Path { steps, .. } => Node::Path { steps, keep: true },
                        other => Node::KeepArray(Box::new(other)),
                    }
                } else {
                    let pred = self.expression(0)?;
                    self.expect("]")?;
                    match left {
                        Node::Path { mut steps, keep } => {
                            if let Some(last) = steps.last_mut() {
                                last.stages.push(pred);
                            }
                            Node::Path { steps, keep }
                        }
                        other => Node::Filter(Box::new(other), Box::new(pred)),
                    }
                }
            }
            "(" => {
                let args = self.list(")")?;
                Node::Call(Box::new(left), args)
            }
            "?" => {
                let then = self.expression(0)?;
                let els = if self.is_op(":") {
                    self.pos += 1;
                    Some(Box::new(self.expression(0)?))
                } else {
                    None
                };
                Node::Cond(Box::new(left), Box::new(then), els)
            }
            ":=" => {
                let Node::Var(name) = left else {
                    return Err(JError::new(
                        "S0212",
                        "The left side of := must be a variable name (start with $)",
                    ));
                };
                let value = self.expression(9)?;
                Node::Bind(name, Box::new(value))
            }
            "~>" => {
                let right = self.expression(40)?;
                Node::Apply(Box::new(left), Box::new(right))
            }
            "{" | "@" | "#" | "^" | "|" => {
                return Err(JError::new(
                    "S0201",
                    format!("Syntax error: the operator \"{op}\" is not supported here"),
                ))
            }
            _ => {
                let right = self.expression(lbp(&Tok::Op(op)))?;
                Node::Binary(op, Box::new(left), Box::new(right))
            }
        })
    }
}

fn into_steps(n: Node) -> (Vec<Step>, bool) {
    match n {
        Node::Path { steps, keep } => (steps, keep),
        other => (
            vec![Step {
                node: other,
                stages: Vec::new(),
            }],
            false,
        ),
    }
}
