//! The decision: what the pipeline does with a finding, and why.

use serde::{Deserialize, Serialize};

use crate::finding::{CredentialKind, Finding, Resource};
use crate::policy::Policy;

/// Severity tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Tier {
    /// 9.0 and above by default: contain now.
    Critical,
    /// 7.0 to 8.9 by default: contain now.
    High,
    /// 4.0 to 6.9 by default: ask a human first.
    Medium,
    /// Below 4.0 by default: record only.
    Low,
}

/// Which containment a finding's resource calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Route {
    /// An EC2 instance: isolate, snapshot, tag.
    Ec2,
    /// IAM credentials: revoke.
    Iam,
    /// Anything else: notify only.
    NotifyOnly,
}

/// What the state machine does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Disposition {
    /// Contain at once.
    Contain,
    /// Ask an analyst; contain only when approved.
    RequestApproval,
    /// Record and notify; change nothing.
    Notify,
}

/// The classification of one finding under a policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// The severity tier.
    pub tier: Tier,
    /// The route by resource type.
    pub route: Route,
    /// What to do.
    pub disposition: Disposition,
    /// Why, in plain sentences, in the order the rules applied.
    pub reasons: Vec<String>,
    /// Whether tasks must only report what they would change.
    pub dry_run: bool,
    /// The idempotency key of this finding's effects on its resource.
    pub idempotency_key: String,
}

impl Policy {
    /// The tier of a severity.
    pub fn tier(&self, severity: f64) -> Tier {
        if severity >= self.critical_severity {
            Tier::Critical
        } else if severity >= self.high_severity {
            Tier::High
        } else if severity >= self.medium_severity {
            Tier::Medium
        } else {
            Tier::Low
        }
    }

    /// Decides what to do with a finding. Pure: reads nothing but its arguments.
    pub fn decide(&self, finding: &Finding) -> Decision {
        let tier = self.tier(finding.severity);
        let mut reasons = Vec::new();
        let route = match &finding.resource {
            Resource::Instance(_) => Route::Ec2,
            Resource::AccessKey(_) => Route::Iam,
            Resource::Other { resource_type } => {
                reasons.push(format!(
                    "resource type {resource_type:?} has no automatic containment; notify only"
                ));
                Route::NotifyOnly
            }
        };
        let route_policy = match route {
            Route::Ec2 => Some(&self.ec2),
            Route::Iam => Some(&self.iam),
            Route::NotifyOnly => None,
        };
        let mut act = route_policy.is_some();
        if let Some(rp) = route_policy {
            if !rp.enabled {
                reasons.push(format!(
                    "the {} route is disabled by policy",
                    route_name(route)
                ));
                act = false;
            }
            if !rp.allows(&finding.finding_type) {
                reasons.push(format!(
                    "finding type {:?} is not in the {} route's allow list",
                    finding.finding_type,
                    route_name(route)
                ));
                act = false;
            }
        }
        if let Some(k) = finding.access_key() {
            match k.credential_kind {
                CredentialKind::Root => {
                    reasons.push(
                        "root credentials are never changed automatically; notify only".into(),
                    );
                    act = false;
                }
                CredentialKind::Unknown => {
                    reasons.push(format!(
                        "access key {:?} of user type {:?} is not a recognised credential; notify only",
                        k.access_key_id.as_deref().unwrap_or(""),
                        k.user_type.as_deref().unwrap_or("")
                    ));
                    act = false;
                }
                _ => {}
            }
        }
        if finding.sample && !self.act_on_sample_findings {
            reasons.push("sample finding; policy does not act on samples".into());
            act = false;
        }
        if finding.archived && !self.act_on_archived_findings {
            reasons.push("archived finding; policy does not act on archived findings".into());
            act = false;
        }
        if !self.account_allowed(&finding.account_id) {
            reasons.push(format!(
                "account {} is excluded by policy",
                finding.account_id
            ));
            act = false;
        }
        let disposition = match (act, tier) {
            (false, _) | (true, Tier::Low) => {
                if act {
                    reasons.push(format!("severity {} is LOW; record only", finding.severity));
                }
                Disposition::Notify
            }
            (true, Tier::Medium) => {
                reasons.push(format!(
                    "severity {} is MEDIUM; containment needs an analyst's approval",
                    finding.severity
                ));
                Disposition::RequestApproval
            }
            (true, Tier::High | Tier::Critical) => {
                reasons.push(format!(
                    "severity {} is {}; contain now",
                    finding.severity,
                    if tier == Tier::Critical {
                        "CRITICAL"
                    } else {
                        "HIGH"
                    }
                ));
                Disposition::Contain
            }
        };
        let dry_run = self.dry_run || route_policy.is_some_and(|r| r.dry_run);
        if dry_run && disposition != Disposition::Notify {
            reasons.push("dry run: actions report what they would change".into());
        }
        Decision {
            tier,
            route,
            disposition,
            reasons,
            dry_run,
            idempotency_key: finding.idempotency_key(),
        }
    }
}

fn route_name(route: Route) -> &'static str {
    match route {
        Route::Ec2 => "ec2",
        Route::Iam => "iam",
        Route::NotifyOnly => "notify-only",
    }
}
