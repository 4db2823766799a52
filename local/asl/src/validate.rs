//! Validation diagnostics and the graph checks (transition targets, reachability, terminal
//! states) run on a parsed definition.

use std::collections::{HashSet, VecDeque};
use std::fmt;

use serde::Serialize;

use crate::definition::{Kind, StateMachine};

/// The kind of problem, named like `ValidateStateMachineDefinition` codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DiagnosticCode {
    /// The text is not JSON.
    InvalidJsonDescription,
    /// A field is missing, unknown, of the wrong type, or in a forbidden combination.
    SchemaValidationFailed,
    /// A `Next`, `Default` or `StartAt` names a state that does not exist.
    MissingTransitionTarget,
    /// A state cannot be reached from `StartAt`.
    UnreachableState,
    /// No state ends the machine.
    NoTerminalState,
    /// A feature this interpreter does not implement (JSONata, ItemReader...).
    UnsupportedFeature,
}

impl DiagnosticCode {
    /// The code as AWS spells it.
    pub fn as_str(&self) -> &'static str {
        match self {
            DiagnosticCode::InvalidJsonDescription => "INVALID_JSON_DESCRIPTION",
            DiagnosticCode::SchemaValidationFailed => "SCHEMA_VALIDATION_FAILED",
            DiagnosticCode::MissingTransitionTarget => "MISSING_TRANSITION_TARGET",
            DiagnosticCode::UnreachableState => "UNREACHABLE_STATE",
            DiagnosticCode::NoTerminalState => "NO_TERMINAL_STATE",
            DiagnosticCode::UnsupportedFeature => "UNSUPPORTED_FEATURE",
        }
    }
}

/// One problem in a definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// What kind of problem.
    pub code: DiagnosticCode,
    /// JSON pointer to the offending field, e.g. `/States/Foo/Next`.
    pub location: String,
    /// Human-readable explanation.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at {}: {}",
            self.code.as_str(),
            self.location,
            self.message
        )
    }
}

/// Every problem found in an invalid definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    /// The problems, in the order found.
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Invalid State Machine Definition: ")?;
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "'{d}'")?;
        }
        Ok(())
    }
}

/// Checks transitions, reachability and terminal states of one level of a machine.
pub fn check_graph(sm: &StateMachine, loc: &str, diags: &mut Vec<Diagnostic>) {
    let mut push = |code, location: String, message: String| {
        diags.push(Diagnostic {
            code,
            location,
            message,
        })
    };
    let esc = |k: &str| k.replace('~', "~0").replace('/', "~1");
    let mut has_terminal = false;
    for name in &sm.order {
        let Some(st) = sm.states.get(name) else {
            continue;
        };
        let sloc = format!("{loc}/States/{}", esc(name));
        let mut targets: Vec<(String, &str)> = Vec::new();
        if let Some(n) = &st.next {
            targets.push((format!("{sloc}/Next"), n));
        }
        for (i, c) in st.catch.iter().enumerate() {
            targets.push((format!("{sloc}/Catch/{i}/Next"), &c.next));
        }
        match &st.kind {
            Kind::Choice { rules, default } => {
                for (i, r) in rules.iter().enumerate() {
                    targets.push((format!("{sloc}/Choices/{i}/Next"), &r.next));
                }
                if let Some(d) = default {
                    targets.push((format!("{sloc}/Default"), d));
                }
            }
            Kind::Succeed | Kind::Fail { .. } => has_terminal = true,
            _ => {
                if st.next.is_none() {
                    has_terminal = true;
                }
            }
        }
        for (l, t) in targets {
            if !sm.states.contains_key(t) {
                push(
                    crate::validate::DiagnosticCode::MissingTransitionTarget,
                    l,
                    format!("Missing 'Next' target: {t}"),
                );
            }
        }
    }
    if !has_terminal && !sm.states.is_empty() {
        push(
            DiagnosticCode::NoTerminalState,
            format!("{loc}/States"),
            "Workflow has no terminal state".into(),
        );
    }
    // Reachability from StartAt.
    let mut seen: HashSet<&str> = HashSet::new();
    let mut queue: VecDeque<&str> = VecDeque::new();
    if sm.states.contains_key(&sm.start_at) {
        queue.push_back(&sm.start_at);
    }
    while let Some(n) = queue.pop_front() {
        if !seen.insert(n) {
            continue;
        }
        let Some(st) = sm.states.get(n) else { continue };
        let mut visit = |t: &str| {
            if let Some((k, _)) = sm.states.get_key_value(t) {
                queue.push_back(k.as_str());
            }
        };
        if let Some(nx) = &st.next {
            visit(nx);
        }
        for c in &st.catch {
            visit(&c.next);
        }
        if let Kind::Choice { rules, default } = &st.kind {
            for r in rules {
                visit(&r.next);
            }
            if let Some(d) = default {
                visit(d);
            }
        }
    }
    if sm.states.contains_key(&sm.start_at) {
        for name in &sm.order {
            if !seen.contains(name.as_str()) {
                push(
                    DiagnosticCode::UnreachableState,
                    format!("{loc}/States/{}", esc(name)),
                    format!("State '{name}' is not reachable"),
                );
            }
        }
    }
}
