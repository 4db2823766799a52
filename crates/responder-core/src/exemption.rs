//! The result of `check-exemption`, which the state machine's Choice reads.

use serde::{Deserialize, Serialize};

/// Whether the pipeline may act on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Eligibility {
    /// Act.
    Eligible,
    /// Never act: exempt by the policy, or by a tag present at detection and now.
    Exempt,
    /// The resource's containment is in place, read from its real state (or another
    /// execution that is still running holds the resource).
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
    /// What decided: the policy entry, the tag present at detection and now, the real state
    /// read from AWS, the claim table.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// What was looked at and deliberately not trusted (a tag added after detection, a
    /// quarantine marker the real state contradicts), for the analyst.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
    /// The VPCs of the instance's interfaces as EC2 answered at the check, for an eligible
    /// instance: `isolate` reads their groups and endpoints beside the instance instead of
    /// after it. Only a hint: what `isolate` acts on is what EC2 answers it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vpcs: Vec<String>,
}
