//! The note written on the finding: the outcome, why, what changed, and the execution.
//!
//! Security Hub limits a note's `Text` to 512 characters (ASFF `Note`:
//! <https://docs.aws.amazon.com/securityhub/latest/userguide/asff-top-level-attributes.html#asff-note>).
//! The limit is kept in bytes of UTF-8, which is never fewer than characters or UTF-16 units,
//! so the note fits however Security Hub counts. The execution ARN is never cut (it is how an
//! analyst gets from the finding to everything else); the reason and the list of changes give
//! way to it, each ending with `...` or `+N more` when cut.
//!
//! The note is one line of plain text. Parts of it come from the member account (resource
//! names, error messages quoting them, the exemption reason), so every such part has control
//! characters, line breaks and the invisible Unicode formatting characters (zero-width and
//! bidirectional controls, which can make text display differently from what it says)
//! replaced by spaces, and runs of spaces collapsed. The API's text pattern is `.*\S.*`, and
//! `.` matches no line break, so a note with a line break could be refused outright.

use serde_json::Value;

use crate::outcome::PipelineOutcome;

/// Security Hub's limit on a note's text.
pub const MAX_NOTE_BYTES: usize = 512;

/// The most the reason (the detail after the headline) may take, so a long error cause
/// leaves room for the list of changes.
const MAX_DETAIL_BYTES: usize = 200;

/// The most one change (`action target`) may take in the list.
const MAX_CHANGE_BYTES: usize = 80;

/// Composes the note for an outcome from the execution's state document.
pub fn compose(outcome: PipelineOutcome, state: &Value, execution: Option<&str>) -> String {
    let headline = headline(outcome);
    let execution = sanitize(execution.unwrap_or("unknown"));
    let tail = fit(
        &format!("Execution: {execution}"),
        MAX_NOTE_BYTES - headline.len() - 1,
    );
    // Space left between the headline and the tail, with one separating space per part.
    let mut room = MAX_NOTE_BYTES - headline.len() - 1 - tail.len();
    let mut parts = vec![headline.to_string()];
    if let Some(detail) = detail(outcome, state) {
        let detail = fit(
            &sentence(detail),
            MAX_DETAIL_BYTES.min(room.saturating_sub(1)),
        );
        if !detail.is_empty() {
            room -= detail.len() + 1;
            parts.push(detail);
        }
    }
    let changes = changes(&changed_actions(state), room.saturating_sub(1));
    if !changes.is_empty() {
        parts.push(changes);
    }
    parts.push(tail);
    let note = parts.join(" ");
    // The budget above keeps to the limit; this only guards it against a mistake there.
    fit(&note, MAX_NOTE_BYTES)
}

/// The first sentence: who and what, for every outcome the same words.
fn headline(outcome: PipelineOutcome) -> &'static str {
    match outcome {
        PipelineOutcome::Contained => "GuardDuty Responder: contained.",
        PipelineOutcome::PartiallyContained => "GuardDuty Responder: partially contained.",
        PipelineOutcome::ContainedEvidenceIncomplete => {
            "GuardDuty Responder: contained, evidence incomplete."
        }
        PipelineOutcome::Skipped => "GuardDuty Responder: skipped.",
        PipelineOutcome::Recorded => "GuardDuty Responder: recorded.",
        PipelineOutcome::Failed => "GuardDuty Responder: failed.",
        PipelineOutcome::ApprovalRejected => {
            "GuardDuty Responder: an analyst rejected containment."
        }
        PipelineOutcome::ApprovalTimedOut => {
            "GuardDuty Responder: no analyst answered the approval request in time."
        }
        PipelineOutcome::Restored => "GuardDuty Responder: isolation rolled back.",
    }
}

/// The reason, where the outcome has one in the state document.
fn detail(outcome: PipelineOutcome, state: &Value) -> Option<String> {
    let text = |p: &str| state.pointer(p).and_then(Value::as_str).map(sanitize);
    let detail = match outcome {
        PipelineOutcome::PartiallyContained => reports(state).find_map(|r| {
            let s = r.get("incomplete")?.as_array()?.first()?;
            let field = |k: &str| s.get(k).and_then(Value::as_str).map(sanitize);
            Some(format!(
                "Fell short: {} in {}: {}",
                field("error")?,
                field("action").unwrap_or_default(),
                field("detail").unwrap_or_default()
            ))
        })?,
        PipelineOutcome::ContainedEvidenceIncomplete => format!(
            "Evidence snapshots failed: {}",
            text("/containment/snapshot/error")?
        ),
        PipelineOutcome::Skipped => format!("Why: {}", text("/results/exemption/reason")?),
        PipelineOutcome::Recorded => {
            let tier = text("/decision/tier").unwrap_or_else(|| "-".into());
            let reason = text("/decision/reasons/0").unwrap_or_default();
            format!("Tier {tier}: {reason}")
        }
        PipelineOutcome::Failed => {
            // The task's error as Step Functions caught it (`Error`/`Cause`), or, when
            // isolation failed inside the parallel containment, the failure it kept there.
            let (error, cause) = match text("/error/Error") {
                Some(e) => (e, text("/error/Cause")),
                None => (
                    text("/containment/isolate/error")?,
                    text("/containment/isolate/cause"),
                ),
            };
            match cause.filter(|c| !c.is_empty()) {
                Some(c) => format!("Error {error}: {c}"),
                None => format!("Error {error}"),
            }
        }
        PipelineOutcome::Restored => match text("/requestedBy") {
            Some(who) => format!("Requested by {who}."),
            None => return None,
        },
        PipelineOutcome::Contained
        | PipelineOutcome::ApprovalRejected
        | PipelineOutcome::ApprovalTimedOut => return None,
    };
    Some(detail)
}

/// The task reports in a state document: `results.*` (check-exemption, revoke, harden...),
/// `containment.*` (isolate, snapshot, tag, secure) and `restore`.
fn reports(state: &Value) -> impl Iterator<Item = &Value> {
    let values = |k: &str| {
        state
            .get(k)
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.values())
    };
    values("results")
        .chain(values("containment"))
        .chain(state.get("restore"))
        .filter(|r| r.is_object())
}

/// `action target` of every action that changed something, each once, in report order.
pub fn changed_actions(state: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for report in reports(state) {
        let actions = report.get("actions").and_then(Value::as_array);
        for a in actions.into_iter().flatten() {
            if a.get("outcome").and_then(Value::as_str) != Some("changed") {
                continue;
            }
            let field = |k: &str| a.get(k).and_then(Value::as_str).map(sanitize);
            let Some(action) = field("action").filter(|s| !s.is_empty()) else {
                continue;
            };
            let item = match field("target").filter(|s| !s.is_empty()) {
                Some(target) => format!("{action} {target}"),
                None => action,
            };
            let item = fit(&item, MAX_CHANGE_BYTES);
            if !out.contains(&item) {
                out.push(item);
            }
        }
    }
    out
}

/// `Changed: a; b; c.` within `max` bytes, ending `+N more.` when not all fit; `Nothing
/// changed.` when the list is empty.
fn changes(items: &[String], max: usize) -> String {
    if items.is_empty() {
        let none = "Nothing changed.";
        return if none.len() <= max {
            none.to_string()
        } else {
            String::new()
        };
    }
    let mut out = String::from("Changed:");
    for (i, item) in items.iter().enumerate() {
        let separator = if i == 0 { " " } else { "; " };
        let left = items.len() - i - 1;
        // What must still fit after this item: the final period, or the count of the rest.
        let after = if left == 0 {
            1
        } else {
            format!("; +{left} more.").len()
        };
        if out.len() + separator.len() + item.len() + after > max {
            // The previous item was added only if this ending fitted after it.
            let rest = items.len() - i;
            let ending = if i == 0 {
                format!(" {rest} actions.")
            } else {
                format!("; +{rest} more.")
            };
            return if out.len() + ending.len() <= max {
                out + &ending
            } else {
                String::new()
            };
        }
        out.push_str(separator);
        out.push_str(item);
    }
    out.push('.');
    out
}

/// Ends a sentence with a period unless it ends with punctuation already.
fn sentence(text: String) -> String {
    if text.ends_with(['.', '!', '?']) {
        text
    } else {
        text + "."
    }
}

/// One line of plain text: control characters, line breaks and invisible formatting
/// characters become spaces; runs of whitespace become one space.
pub fn sanitize(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if is_unsafe(c) { ' ' } else { c })
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Characters that must not reach the note: controls (C0, DEL, C1), the Unicode line and
/// paragraph separators, zero-width characters and the bidirectional controls.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// `text` within `max` bytes, cut at a character boundary and ending `...` when cut.
pub fn fit(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    if max < 4 {
        return String::new();
    }
    let mut end = max - 3;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", text[..end].trim_end())
}
