//! `responder false-positive`: the analysts' side of the false-positive ledger, through the
//! same library and DynamoDB adapter as the `feedback` task.

use anyhow::{Context, Result};
use chrono::Utc;
use clap::Subcommand;
use feedback::aws::DynamoLedger;
use feedback::{Ledger, Written};
use responder_core::false_positives::Verdict;
use responder_core::Policy;
use serde_json::json;

/// What to do with the ledger.
#[derive(Debug, Subcommand)]
pub enum Action {
    /// Mark a finding as a false positive (counts against its type's automatic containment).
    Mark {
        /// The finding type, as GuardDuty names it.
        #[arg(long)]
        finding_type: String,
        /// GuardDuty's finding id.
        #[arg(long)]
        finding_id: String,
        /// Who marks it.
        #[arg(long, env = "USER", default_value = "an unnamed analyst")]
        by: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Re-enable automatic containment of a finding type: its count starts over from now.
    Enable {
        /// The finding type.
        #[arg(long)]
        finding_type: String,
        /// Who re-enables it.
        #[arg(long, env = "USER", default_value = "an unnamed analyst")]
        by: String,
    },
    /// Show a finding type's false-positive rate and what the policy makes of it (read only;
    /// POLICY_FILE / POLICY_JSON as for classify).
    Status {
        /// The finding type.
        #[arg(long)]
        finding_type: String,
    },
}

/// Runs one ledger command against `table`; prints one JSON object.
pub async fn run(table: &str, action: Action) -> Result<i32> {
    let sdk = crate::approval::sdk_config().await?;
    let ledger = DynamoLedger::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    let now = Utc::now();
    let out = match action {
        Action::Mark {
            finding_type,
            finding_id,
            by,
            reason,
        } => {
            let request = json!({
                "findingType": finding_type, "findingId": finding_id,
                "by": by, "reason": reason, "source": "cli",
            });
            let mark = feedback::mark_of(&request, now).map_err(anyhow::Error::msg)?;
            let written = ledger.mark(&mark).await.map_err(anyhow::Error::msg)?;
            json!({"marked": written, "mark": mark, "new": written == Written::New})
        }
        Action::Enable { finding_type, by } => {
            ledger
                .reenable(&finding_type, &by, now)
                .await
                .map_err(anyhow::Error::msg)?;
            json!({"reenabled": finding_type, "by": by, "at": feedback::rfc3339(now)})
        }
        Action::Status { finding_type } => {
            let policy = Policy::from_env().map_err(anyhow::Error::msg)?;
            let (state, counts, since) = feedback::tally(&policy, &ledger, &finding_type, now)
                .await
                .map_err(anyhow::Error::msg)?;
            let fp = &policy.false_positives;
            let verdict: Verdict = fp.judge(counts.actions, counts.false_positives);
            json!({
                "findingType": finding_type,
                "actions": counts.actions,
                "falsePositives": counts.false_positives,
                "since": feedback::rfc3339(since),
                "verdict": verdict,
                "state": state,
                "policy": fp,
            })
        }
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&out).context("the answer")?
    );
    Ok(0)
}
