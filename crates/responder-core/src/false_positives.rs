//! The false-positive feedback loop, the part that decides.
//!
//! Analysts mark findings the pipeline acted on as false positives (from the approval page, the
//! rollback, or the command line); the marks are kept in a ledger in the security account. Before
//! `classify`, the `feedback` task reads the ledger for the finding's type: how many automatic
//! actions (containments and approval requests) the pipeline recorded for that type over the
//! policy's window, and how many of them were marked. The state machine hands that reading to
//! `classify` in the event (at [`EVENT_KEY`]); [`FalsePositivePolicy::judge`] turns it into a
//! [`Verdict`], and the decision turns a `contain` of a type above the threshold into a request
//! for approval. Never into silence: a type with too many false positives is still contained,
//! once an analyst agrees.
//!
//! The ledger is written only by the pipeline's own `feedback` task and by analysts (through the
//! approval page's signed links, the rollback state machine, or the command line with the
//! security account's credentials); nothing in a member account can write it. A reading that
//! cannot be had (the ledger unavailable after retries) never holds containment back: the
//! decision proceeds as automatic and says so (fail-open; see [`LedgerInput::Unavailable`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The top-level key of the event where the state machine puts the ledger reading before
/// `classify` (the `ReadFalsePositives` state's `ResultPath`). The state always writes it, with
/// the reading or with the error it caught, so a value already in the event never reaches
/// `classify`.
pub const EVENT_KEY: &str = "falsePositives";

/// How long the ledger keeps its entries, in days (the table's time to live): longer than the
/// longest window the policy accepts.
pub const RETENTION_DAYS: u32 = 35;

/// The longest window the policy accepts, in days: the ledger keeps at least this long.
pub const MAX_WINDOW_DAYS: u32 = 30;

/// The policy's settings of the loop (`false_positives` in the policy document).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "snake_case")]
pub struct FalsePositivePolicy {
    /// How many days of actions count. Default 7; at most [`MAX_WINDOW_DAYS`].
    pub window_days: u32,
    /// Above this share of false positives (percent of the actions in the window), automatic
    /// containment of the type turns to approval first. Default 10.
    pub threshold_percent: f64,
    /// Fewer actions than this in the window are too few to judge: automatic containment
    /// stays. Default 5.
    pub min_actions: u32,
}

impl Default for FalsePositivePolicy {
    fn default() -> Self {
        FalsePositivePolicy {
            window_days: 7,
            threshold_percent: 10.0,
            min_actions: 5,
        }
    }
}

/// What the rate of a type calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// At or under the threshold: automatic containment stays.
    Automatic,
    /// Fewer actions than `min_actions` in the window: too few to judge, automatic stays.
    TooFewActions,
    /// Above the threshold: automatic containment of the type turns to approval first.
    ApprovalFirst,
    /// The ledger could not be read: automatic containment proceeds without it.
    LedgerUnavailable,
}

impl FalsePositivePolicy {
    /// The verdict on `false_positives` marked among `actions` in the window. Above means
    /// strictly above: exactly the threshold keeps automatic containment.
    pub fn judge(&self, actions: u32, false_positives: u32) -> Verdict {
        if actions < self.min_actions {
            Verdict::TooFewActions
        } else if f64::from(false_positives) * 100.0 > self.threshold_percent * f64::from(actions) {
            Verdict::ApprovalFirst
        } else {
            Verdict::Automatic
        }
    }

    /// The problems of these settings, each naming its field.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(1..=MAX_WINDOW_DAYS).contains(&self.window_days) {
            out.push(format!(
                "false_positives.window_days is {}; expected 1 to {MAX_WINDOW_DAYS} (the ledger keeps {RETENTION_DAYS} days)",
                self.window_days
            ));
        }
        if !(0.0..=100.0).contains(&self.threshold_percent) {
            out.push(format!(
                "false_positives.threshold_percent is {}; expected 0 to 100",
                self.threshold_percent
            ));
        }
        if self.min_actions == 0 {
            out.push("false_positives.min_actions is 0; expected at least 1".to_string());
        }
        out
    }
}

/// What the `feedback` task read from the ledger for one finding type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerReading {
    /// The finding type read.
    pub finding_type: String,
    /// Automatic actions (containments and approval requests) recorded since `since`.
    pub actions: u32,
    /// Of those, the ones an analyst marked as false positives.
    pub false_positives: u32,
    /// The policy's window, in days.
    pub window_days: u32,
    /// The start of the count (RFC 3339): the window's start, or the type's re-enabling when
    /// that is later (a re-enabled type starts over).
    pub since: String,
    /// When an analyst last re-enabled automatic containment of the type (RFC 3339), if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reenabled_at: Option<String>,
    /// This execution is the first to find the type above its threshold since it was last
    /// re-enabled (the ledger's conditional write said so): its notifications tell the team.
    #[serde(default)]
    pub first_crossing: bool,
}

/// What `classify` finds at [`EVENT_KEY`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerInput {
    /// The ledger was read.
    Reading(LedgerReading),
    /// The ledger could not be read (after the state machine's retries), or the reading does
    /// not fit the finding: why. Automatic containment proceeds without it.
    Unavailable(String),
}

impl LedgerInput {
    /// The ledger input of an event for a finding of `finding_type`: `None` when the event
    /// carries none (the state machine did not read the ledger, or the event was not a finding
    /// the feedback task could read).
    pub fn from_event(event: &Value, finding_type: &str) -> Option<LedgerInput> {
        let v = event.get(EVENT_KEY).filter(|v| !v.is_null())?;
        if let Some(error) = v.get("Error").and_then(Value::as_str) {
            let cause = v.get("Cause").and_then(Value::as_str).unwrap_or("");
            // A Lambda failure's cause is JSON with the message; a state timeout's is text.
            let cause = serde_json::from_str::<Value>(cause)
                .ok()
                .and_then(|c| {
                    c.get("errorMessage")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .unwrap_or_else(|| cause.to_string());
            return Some(LedgerInput::Unavailable(if cause.is_empty() {
                error.to_string()
            } else {
                format!("{error}: {cause}")
            }));
        }
        Some(match serde_json::from_value::<LedgerReading>(v.clone()) {
            Ok(r) if r.finding_type == finding_type => LedgerInput::Reading(r),
            Ok(r) => LedgerInput::Unavailable(format!(
                "the reading is for finding type {:?}, not {finding_type:?}",
                r.finding_type
            )),
            Err(e) => LedgerInput::Unavailable(format!("the reading is not readable: {e}")),
        })
    }
}

/// The false-positive check of a decision: the verdict with its numbers, for the reasons, the
/// approval request and the notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FalsePositiveCheck {
    /// What the rate called for.
    pub verdict: Verdict,
    /// The reading, when the ledger was read.
    #[serde(default, skip_serializing_if = "Option::is_none", flatten)]
    pub reading: Option<LedgerReading>,
    /// The policy's threshold, in percent.
    pub threshold_percent: f64,
    /// The policy's minimum of actions to judge.
    pub min_actions: u32,
    /// Why the ledger could not be read, when it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl FalsePositiveCheck {
    /// Whether this execution is the one to tell the team that automatic containment of the
    /// type turned to approval first.
    pub fn tells_the_team(&self) -> bool {
        self.verdict == Verdict::ApprovalFirst
            && self.reading.as_ref().is_some_and(|r| r.first_crossing)
    }

    /// The headline of the notification that tells the team, with the numbers.
    pub fn headline(&self) -> Option<String> {
        let r = self.reading.as_ref().filter(|_| self.tells_the_team())?;
        Some(format!(
            "automatic containment of {} turned to approval-first: {} ({}); review the suppression rules",
            r.finding_type,
            rate_text(r),
            above_text(self.threshold_percent),
        ))
    }
}

impl FalsePositivePolicy {
    /// The check of the ledger input, and the reason for the decision, naming its sources.
    pub fn check(&self, input: &LedgerInput) -> (FalsePositiveCheck, String) {
        let ledger =
            "false-positive ledger of the security account, written by the pipeline and analysts";
        match input {
            LedgerInput::Unavailable(why) => (
                FalsePositiveCheck {
                    verdict: Verdict::LedgerUnavailable,
                    reading: None,
                    threshold_percent: self.threshold_percent,
                    min_actions: self.min_actions,
                    error: Some(why.clone()),
                },
                format!(
                    "the {ledger} could not be read ({why}): automatic containment proceeds without it (a ledger outage never holds containment back)"
                ),
            ),
            LedgerInput::Reading(r) => {
                let verdict = self.judge(r.actions, r.false_positives);
                let numbers = format!("false positives of {}: {}", r.finding_type, rate_text(r));
                let reason = match verdict {
                    Verdict::ApprovalFirst => format!(
                        "{numbers}, {} ({ledger}; policy: false_positives.threshold_percent {}, window_days {}, min_actions {}): approval first",
                        above_text(self.threshold_percent),
                        number_text(self.threshold_percent),
                        self.window_days,
                        self.min_actions
                    ),
                    Verdict::TooFewActions => format!(
                        "{numbers}, fewer than {} actions to judge ({ledger}; policy: false_positives.min_actions {}): automatic containment stays",
                        self.min_actions, self.min_actions
                    ),
                    _ => format!(
                        "{numbers}, not above {}% ({ledger}; policy: false_positives.threshold_percent {}): automatic containment stays",
                        number_text(self.threshold_percent),
                        number_text(self.threshold_percent)
                    ),
                };
                (
                    FalsePositiveCheck {
                        verdict,
                        reading: Some(r.clone()),
                        threshold_percent: self.threshold_percent,
                        min_actions: self.min_actions,
                        error: None,
                    },
                    reason,
                )
            }
        }
    }
}

/// "2 of 8 automatic actions (25%) over 7 days", or "... since re-enabled at T".
fn rate_text(r: &LedgerReading) -> String {
    let rate = if r.actions == 0 {
        String::new()
    } else {
        format!(
            " ({}%)",
            number_text(f64::from(r.false_positives) * 100.0 / f64::from(r.actions))
        )
    };
    let span = match &r.reenabled_at {
        Some(at) if *at == r.since => format!("since automatic containment was re-enabled at {at}"),
        _ => format!("over {} days", r.window_days),
    };
    format!(
        "{} of {} automatic action{}{rate} {span}",
        r.false_positives,
        r.actions,
        if r.actions == 1 { "" } else { "s" }
    )
}

fn above_text(threshold: f64) -> String {
    format!("above {}%", number_text(threshold))
}

/// A number as a person writes it: `25`, `33.3`, `12.5`.
fn number_text(v: f64) -> String {
    let rounded = (v * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

#[cfg(test)]
mod tests;
