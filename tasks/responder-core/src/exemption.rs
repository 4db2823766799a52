//! The result of `check-exemption`, which the state machine's Choice reads.

use serde::{Deserialize, Serialize};

/// Whether the pipeline may act on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Eligibility {
    /// Act.
    Eligible,
    /// Never act: tagged exempt, or in an excluded account.
    Exempt,
    /// This finding's containment is already in place (a re-delivery or an update).
    AlreadyContained,
}

/// The output of `check-exemption`, stored under `results.exemption`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExemptionResult {
    /// The verdict; the state machine's Choice matches on its kebab-case string.
    pub status: Eligibility,
    /// Why, in one sentence.
    pub reason: String,
    /// The target that was checked (instance id, `user/NAME`, `role/NAME`).
    pub target: String,
}
