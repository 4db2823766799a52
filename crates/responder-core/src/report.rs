//! What a task did: the audit record every task returns and the notification reports.
//!
//! Every change is recorded with what it changed from and to, so an analyst can audit it and
//! the rollback can undo it. A dry run records the same actions with [`Outcome::WouldChange`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The outcome of one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The change was made.
    Changed,
    /// The target was already in the wanted state; nothing was changed.
    Unchanged,
    /// Dry run: the change would have been made (EC2's `DryRun` proved the permission where it exists).
    WouldChange,
    /// The action did not apply (for example no Auto Scaling group), with the reason in `detail`.
    Skipped,
}

/// One action on one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionRecord {
    /// A short stable name, e.g. `set-interface-groups`, `create-snapshots`, `deactivate-key`.
    pub action: String,
    /// The resource acted on, e.g. `eni-0abc`, `i-0abc`, `user/alice`.
    pub target: String,
    /// What happened.
    pub outcome: Outcome,
    /// One sentence for a human.
    pub detail: String,
    /// The state before, where it matters for rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// The state after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

impl ActionRecord {
    /// A record with no before/after state.
    pub fn new(
        action: impl Into<String>,
        target: impl Into<String>,
        outcome: Outcome,
        detail: impl Into<String>,
    ) -> Self {
        ActionRecord {
            action: action.into(),
            target: target.into(),
            outcome,
            detail: detail.into(),
            before: None,
            after: None,
        }
    }

    /// Adds the before and after states.
    pub fn with_states(mut self, before: Value, after: Value) -> Self {
        self.before = Some(before);
        self.after = Some(after);
        self
    }
}

/// A step a task could not complete although it succeeded overall: what it did holds, this
/// part does not. The state machine notifies it and fails the execution with `error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shortfall {
    /// The stable error name (`responder_core::names`).
    pub error: String,
    /// The action that fell short, as in [`ActionRecord::action`].
    pub action: String,
    /// What is missing and what to do about it, for the analyst.
    pub detail: String,
}

/// A task's result document, stored by the state machine under `results.<task>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskReport {
    /// The task's name (`isolate`, `snapshot`, ...).
    pub task: String,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Every action, in order.
    pub actions: Vec<ActionRecord>,
    /// Evidence ids for the analyst: snapshot ids, original groups, policy names.
    #[serde(default)]
    pub evidence: Map<String, Value>,
    /// Steps that could not be completed (empty when everything held).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<Shortfall>,
    /// What this containment does not cut, said plainly (for example DNS to the Route 53
    /// Resolver), so nobody believes more than holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caveats: Vec<String>,
}

impl TaskReport {
    /// An empty report for a task.
    pub fn new(task: impl Into<String>, dry_run: bool) -> Self {
        TaskReport {
            task: task.into(),
            dry_run,
            actions: Vec::new(),
            evidence: Map::new(),
            incomplete: Vec::new(),
            caveats: Vec::new(),
        }
    }

    /// Records a step that fell short.
    pub fn fall_short(
        &mut self,
        error: crate::ErrorName,
        action: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.incomplete.push(Shortfall {
            error: error.as_str().to_string(),
            action: action.into(),
            detail: detail.into(),
        });
    }

    /// Adds a caveat once.
    pub fn caveat(&mut self, text: impl Into<String>) {
        let text = text.into();
        if !self.caveats.contains(&text) {
            self.caveats.push(text);
        }
    }

    /// Appends an action.
    pub fn push(&mut self, record: ActionRecord) {
        self.actions.push(record);
    }

    /// Whether any action changed something.
    pub fn changed(&self) -> bool {
        self.actions.iter().any(|a| a.outcome == Outcome::Changed)
    }
}
