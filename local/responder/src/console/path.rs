//! The path an execution took through its graph, read from its history: which states it
//! entered and how each ended, and which transitions it followed.

use std::collections::{BTreeMap, HashSet};

use crate::history_view::{ExecutionView, StateVisit};

use super::graph::{EdgeKind, Graph, NodeKind};

/// How a state ended, over all its visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mark {
    /// Never entered.
    NotEntered,
    /// Entered, and left unfinished when the execution ended (another branch failed).
    Cancelled,
    /// Every visit succeeded at the first attempt.
    Succeeded,
    /// A visit succeeded after failed attempts that Retry repeated.
    Retried,
    /// A visit failed and a Catch led on.
    Caught,
    /// Still running (waiting for a token, a Wait, a task).
    InProgress,
    /// A visit failed the execution.
    Failed,
}

impl Mark {
    /// The CSS class and `data-status` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::NotEntered => "not-entered",
            Mark::Cancelled => "cancelled",
            Mark::Succeeded => "succeeded",
            Mark::Retried => "retried",
            Mark::Caught => "caught",
            Mark::InProgress => "in-progress",
            Mark::Failed => "failed",
        }
    }

    /// Every mark, in the legend's order.
    pub const ALL: [Mark; 7] = [
        Mark::Succeeded,
        Mark::Retried,
        Mark::Caught,
        Mark::Failed,
        Mark::InProgress,
        Mark::Cancelled,
        Mark::NotEntered,
    ];
}

/// What one state did.
#[derive(Debug, Clone, PartialEq)]
pub struct StateMark {
    /// How it ended.
    pub mark: Mark,
    /// Times entered.
    pub visits: u32,
    /// Task attempts.
    pub attempts: u32,
    /// Errors seen in it (retried, caught or fatal).
    pub errors: Vec<(String, String)>,
}

/// The marks of one execution.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Path {
    /// Per state name.
    pub states: BTreeMap<String, StateMark>,
    /// Transitions followed: (from state, to state, through a Catch); from `""` is the
    /// execution's start. A state may name one target in both `Next` and a `Catch`: the
    /// flag tells which was followed.
    pub transitions: HashSet<(String, String, bool)>,
    /// Whether the execution has ended.
    pub ended: bool,
    /// Whether it ended failed, timed out or aborted.
    pub failed: bool,
}

fn visit_mark(v: &StateVisit, running: bool, failed_it: bool) -> Mark {
    if v.exited.is_some() {
        // Left after its last outcome was a failure: a Catch led on.
        return if v.failed_last {
            Mark::Caught
        } else if v.errors.is_empty() {
            Mark::Succeeded
        } else {
            Mark::Retried
        };
    }
    if v.failed_last || failed_it {
        return Mark::Failed;
    }
    if running {
        Mark::InProgress
    } else {
        // Stopped unfinished: another branch failed, or the execution was stopped.
        Mark::Cancelled
    }
}

impl Path {
    /// Reads the path from a reconstructed history.
    pub fn of(view: &ExecutionView) -> Path {
        let running = view.status == "RUNNING";
        let mut path = Path {
            ended: !running,
            failed: matches!(view.status.as_str(), "FAILED" | "TIMED_OUT" | "ABORTED"),
            ..Path::default()
        };
        let marks: Vec<Mark> = view
            .states
            .iter()
            .enumerate()
            .map(|(i, v)| visit_mark(v, running, view.failed_by == Some(i)))
            .collect();
        for (v, &mark) in view.states.iter().zip(&marks) {
            let m = path.states.entry(v.name.clone()).or_insert(StateMark {
                mark,
                visits: 0,
                attempts: 0,
                errors: Vec::new(),
            });
            m.mark = m.mark.max(mark);
            m.visits += 1;
            m.attempts += v.attempts;
            m.errors.extend(v.errors.iter().cloned());
            let (from, caught) = v
                .from
                .and_then(|f| Some((view.states.get(f)?, marks[f])))
                .map(|(f, m)| (f.name.clone(), m == Mark::Caught && !v.branch_start))
                .unwrap_or_default();
            path.transitions.insert((from, v.name.clone(), caught));
        }
        path
    }

    /// The mark of a state (not entered when absent).
    pub fn mark(&self, name: &str) -> Mark {
        self.states
            .get(name)
            .map(|m| m.mark)
            .unwrap_or(Mark::NotEntered)
    }

    /// The graph cut to the path: the states entered, and those one transition away from
    /// them (unmarked), for a machine too large to read whole.
    pub fn neighbourhood(&self, g: &Graph) -> Graph {
        let entered = |i: usize| {
            let n = &g.nodes[i];
            matches!(n.kind, NodeKind::State(_) | NodeKind::Join(_))
                && self.mark(&n.name) != Mark::NotEntered
        };
        let keep: Vec<bool> = (0..g.nodes.len())
            .map(|i| entered(i) || g.edges.iter().any(|e| e.to == i && entered(e.from)))
            .collect();
        g.subgraph(|i| keep[i])
    }

    /// Whether the execution followed edge `e` of `g`.
    pub fn took(&self, g: &Graph, e: usize) -> bool {
        let edge = g.edges[e];
        let (from, to) = (&g.nodes[edge.from], &g.nodes[edge.to]);
        match &to.kind {
            NodeKind::State(_) => {
                let source = match from.kind {
                    NodeKind::Start => "",
                    _ => from.name.as_str(),
                };
                // A Parallel or Map state's own node leads into its branches and its join node,
                // which bears the same name, leads on: the target tells the two apart.
                self.transitions.contains(&(
                    source.to_string(),
                    to.name.clone(),
                    edge.kind == EdgeKind::Catch,
                ))
            }
            // Out of a branch, or out of the machine: the state ended without a failure.
            NodeKind::Join(_) | NodeKind::End => match from.kind {
                NodeKind::State(ref t) if t == "Fail" => self.mark(&from.name) == Mark::Failed,
                NodeKind::State(_) | NodeKind::Join(_) => {
                    matches!(self.mark(&from.name), Mark::Succeeded | Mark::Retried)
                        && (self.ended || matches!(to.kind, NodeKind::Join(_)))
                }
                _ => false,
            },
            NodeKind::Start => false,
        }
    }
}
