//! Which Security Hub finding to update: its identifiers, and only from what can be trusted.
//!
//! Security Hub names GuardDuty's copy of a finding by the GuardDuty finding ARN (the ASFF
//! `Id`) and GuardDuty's product ARN, `arn:<partition>:securityhub:<region>::product/aws/guardduty`
//! (GuardDuty user guide, "Typical finding from GuardDuty":
//! <https://docs.aws.amazon.com/guardduty/latest/ug/securityhub-integration.html>). Both are
//! needed in `FindingIdentifiers`, and the product ARN decides whose finding is updated: a
//! custom integration's finding with a GuardDuty-looking `Id` has another product ARN.
//!
//! So the `Id` is the finding ARN `classify` read from GuardDuty's event (or from the ASFF `Id`
//! of a custom action, which `classify` accepts only for GuardDuty's product ARN), checked to
//! be a GuardDuty finding ARN that agrees with the finding's partition, region, account and
//! id; the product ARN is built here from that partition and region, never read from the
//! document. Nothing else of the finding (title, resource names, tags) goes into an
//! identifier. A restore request, which comes from a person in the security account, may name
//! the finding by `findingArn`; it is checked against the request's account and region.

use responder_core::finding::FindingArn;
use responder_core::Finding;
use serde::Serialize;
use serde_json::Value;

/// The finding to update, in Security Hub's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// The ASFF `Id`: the GuardDuty finding ARN.
    pub finding_arn: String,
    /// GuardDuty's product ARN in the finding's partition and region.
    pub product_arn: String,
    /// The region whose Security Hub holds the finding (the finding's own region; with
    /// cross-region aggregation an update there is also seen in the aggregation region).
    pub region: String,
}

/// Why there is nothing to update: said in the report, never an error (nothing a retry fixes).
pub type NoTarget = String;

/// GuardDuty's product ARN in a partition and region.
pub fn guardduty_product_arn(partition: &str, region: &str) -> String {
    format!("arn:{partition}:securityhub:{region}::product/aws/guardduty")
}

/// The target of a finding of the remediation pipeline.
pub fn from_finding(f: &Finding) -> Result<Target, NoTarget> {
    let arn = f
        .arn
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| format!("finding {} carries no finding ARN (detail.arn)", f.id))?;
    let parts = FindingArn::parse(arn)
        .ok_or_else(|| format!("the finding ARN {arn:?} is not a GuardDuty finding ARN"))?;
    agree(
        arn,
        &[
            ("partition", &parts.partition, &f.partition),
            ("region", &parts.region, &f.region),
            ("account", &parts.account, &f.account_id),
            ("finding id", &parts.finding_id, &f.id),
        ],
    )?;
    Ok(target(&parts, arn))
}

/// The target named by a restore request that is not a task input document: `findingArn`
/// beside `accountId`, `region` and `partition` (default `aws`).
pub fn from_request(request: &Value) -> Result<Target, NoTarget> {
    let text = |k: &str| request.get(k).and_then(Value::as_str).map(str::trim);
    let arn = text("findingArn")
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            "the restore request names no finding (add findingArn to update its Security Hub copy)"
                .to_string()
        })?;
    let parts = FindingArn::parse(arn)
        .ok_or_else(|| format!("findingArn {arn:?} is not a GuardDuty finding ARN"))?;
    let partition = text("partition").filter(|p| !p.is_empty()).unwrap_or("aws");
    agree(
        arn,
        &[
            ("partition", &parts.partition, partition),
            ("region", &parts.region, text("region").unwrap_or_default()),
            (
                "account",
                &parts.account,
                text("accountId").unwrap_or_default(),
            ),
        ],
    )?;
    Ok(target(&parts, arn))
}

/// Checks each part of the ARN (`what`, the ARN's value, the finding's or request's value).
fn agree(arn: &str, parts: &[(&str, &str, &str)]) -> Result<(), NoTarget> {
    for (what, got, want) in parts {
        if got != want {
            return Err(format!(
                "the finding ARN {arn:?} has {what} {got:?} where {want:?} was expected: it does not identify this finding"
            ));
        }
    }
    Ok(())
}

fn target(parts: &FindingArn, arn: &str) -> Target {
    Target {
        finding_arn: arn.to_string(),
        product_arn: guardduty_product_arn(&parts.partition, &parts.region),
        region: parts.region.clone(),
    }
}
