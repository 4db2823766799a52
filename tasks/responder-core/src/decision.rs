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
        // An analyst's request goes through the same rules (a MEDIUM finding still asks for
        // approval); the reasons say who asked and how the finding was read.
        let mut type_unmapped = false;
        if finding.requested_by_analyst {
            if let Some(origin) = &finding.security_hub {
                reasons.push(format!(
                    "requested through the Security Hub custom action {:?}",
                    origin.action_name
                ));
                if origin.type_mapped {
                    reasons.push(format!(
                        "finding type {:?} rebuilt from the Security Hub type {:?}",
                        finding.finding_type, origin.asff_type
                    ));
                } else {
                    reasons.push(format!(
                        "the Security Hub type {:?} does not map to a GuardDuty finding type; notify only",
                        origin.asff_type
                    ));
                    type_unmapped = true;
                }
            } else {
                reasons.push("requested by an analyst".into());
            }
        }
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
        let mut act = route_policy.is_some() && !type_unmapped;
        if let Some(rp) = route_policy {
            if !rp.enabled {
                reasons.push(format!(
                    "the {} route is disabled by policy",
                    route_name(route)
                ));
                act = false;
            }
            if crate::policy::is_retired(&finding.finding_type) {
                reasons.push(format!(
                    "finding type {:?} is retired by GuardDuty (a replay or a test); notify only",
                    finding.finding_type
                ));
                act = false;
            } else if !rp.allows(&finding.finding_type) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Finding;
    use serde_json::{json, Value};

    fn event(detail: Value) -> Value {
        json!({
            "version": "0",
            "id": "6a7b8c9d-0000-4000-8000-000000000001",
            "detail-type": "GuardDuty Finding",
            "source": "aws.guardduty",
            "account": "111111111111",
            "region": "eu-west-1",
            "detail": detail,
        })
    }

    fn ec2(severity: f64, ty: &str, account: &str) -> Finding {
        Finding::from_event(&event(json!({
            "accountId": account, "region": "eu-west-1", "partition": "aws",
            "id": "0123456789abcdef0123456789abcdef", "type": ty, "severity": severity,
            "resource": {"resourceType": "Instance", "instanceDetails": {"instanceId": "i-0123456789abcdef0"}},
            "service": {"count": 1, "archived": false},
        })))
        .expect("finding")
    }

    fn iam(key: &str, user_type: &str) -> Finding {
        Finding::from_event(&event(json!({
            "accountId": "111111111111", "region": "eu-west-1",
            "id": "fedcba9876543210fedcba9876543210",
            "type": "UnauthorizedAccess:IAMUser/MaliciousIPCaller", "severity": 8,
            "resource": {"resourceType": "AccessKey", "accessKeyDetails": {
                "accessKeyId": key, "userType": user_type, "userName": "build-bot"}},
        })))
        .expect("finding")
    }

    const BACKDOOR: &str = "Backdoor:EC2/C&CActivity.B";

    #[test]
    fn tiers_follow_thresholds_at_their_bounds() {
        let p = Policy::default();
        assert_eq!(p.tier(10.0), Tier::Critical);
        assert_eq!(p.tier(9.0), Tier::Critical);
        assert_eq!(p.tier(8.9), Tier::High);
        assert_eq!(p.tier(7.0), Tier::High);
        assert_eq!(p.tier(6.9), Tier::Medium);
        assert_eq!(p.tier(4.0), Tier::Medium);
        assert_eq!(p.tier(3.9), Tier::Low);
        assert_eq!(p.tier(0.0), Tier::Low);
    }

    #[test]
    fn dispositions_by_tier() {
        let p = Policy::default();
        let d = |s| p.decide(&ec2(s, BACKDOOR, "111111111111")).disposition;
        assert_eq!(d(9.5), Disposition::Contain);
        assert_eq!(d(8.0), Disposition::Contain);
        assert_eq!(d(5.0), Disposition::RequestApproval);
        assert_eq!(d(2.0), Disposition::Notify);
    }

    #[test]
    fn excluded_and_not_included_accounts_are_notified_only() {
        let f = ec2(8.0, BACKDOOR, "222222222222");
        let p = Policy {
            exclude_accounts: vec!["222222222222".into()],
            ..Policy::default()
        };
        let d = p.decide(&f);
        assert_eq!(d.disposition, Disposition::Notify);
        assert!(d
            .reasons
            .iter()
            .any(|r| r == "account 222222222222 is excluded by policy"));
        let p = Policy {
            include_accounts: vec!["111111111111".into()],
            ..Policy::default()
        };
        assert_eq!(p.decide(&f).disposition, Disposition::Notify);
        assert_eq!(
            p.decide(&ec2(8.0, BACKDOOR, "111111111111")).disposition,
            Disposition::Contain
        );
    }

    #[test]
    fn dry_run_is_global_or_per_route() {
        let f_ec2 = ec2(8.0, BACKDOOR, "111111111111");
        let f_iam = iam("AKIA4EXAMPLEBUILDBOT", "IAMUser");
        let mut p = Policy::default();
        p.ec2.dry_run = true;
        let d = p.decide(&f_ec2);
        assert!(d.dry_run);
        assert_eq!(
            d.disposition,
            Disposition::Contain,
            "a dry run still decides"
        );
        assert!(d.reasons.iter().any(|r| r.contains("dry run")));
        assert!(
            !p.decide(&f_iam).dry_run,
            "the ec2 route's dry run does not reach iam"
        );
        let p = Policy {
            dry_run: true,
            ..Policy::default()
        };
        assert!(p.decide(&f_ec2).dry_run && p.decide(&f_iam).dry_run);
        // A notify-only decision carries the flag but no dry-run reason (nothing would change).
        let d = p.decide(&ec2(2.0, BACKDOOR, "111111111111"));
        assert!(d.dry_run && !d.reasons.iter().any(|r| r.contains("dry run")));
    }

    #[test]
    fn disabled_route_notifies() {
        let mut p = Policy::default();
        p.iam.enabled = false;
        let d = p.decide(&iam("AKIA4EXAMPLEBUILDBOT", "IAMUser"));
        assert_eq!(d.route, Route::Iam);
        assert_eq!(d.disposition, Disposition::Notify);
        assert!(d
            .reasons
            .iter()
            .any(|r| r.contains("iam route is disabled")));
    }

    #[test]
    fn credential_kinds_decide_iam_actions() {
        let p = Policy::default();
        let kind = |k, t| {
            iam(k, t)
                .access_key()
                .map(|a| a.credential_kind)
                .expect("access key")
        };
        assert_eq!(
            kind("AKIA4EXAMPLE", "IAMUser"),
            CredentialKind::LongTermUserKey
        );
        assert_eq!(kind("ASIA4EXAMPLE", "IAMUser"), CredentialKind::UserSession);
        assert_eq!(
            kind("ASIA4EXAMPLE", "AssumedRole"),
            CredentialKind::RoleSession
        );
        assert_eq!(kind("ASIA4EXAMPLE", "Root"), CredentialKind::Root);
        assert_eq!(
            kind("GeneratedFindingAccessKeyId", "IAMUser"),
            CredentialKind::Unknown
        );
        assert_eq!(
            kind("ASIA4EXAMPLE", "FederatedUser"),
            CredentialKind::Unknown
        );
        let d = p.decide(&iam("GeneratedFindingAccessKeyId", "IAMUser"));
        assert_eq!(d.disposition, Disposition::Notify);
        assert!(d
            .reasons
            .iter()
            .any(|r| r.contains("not a recognised credential")));
        let d = p.decide(&iam("ASIA4EXAMPLE", "Root"));
        assert_eq!(d.disposition, Disposition::Notify);
    }

    #[test]
    fn an_analyst_request_keeps_the_rules_and_says_who_asked() {
        use crate::finding::SecurityHubOrigin;
        let origin = |mapped: bool| SecurityHubOrigin {
            action_name: "Contain (responder)".into(),
            asff_type: "TTPs/Command and Control/Backdoor:EC2-C&CActivity.B".into(),
            type_mapped: mapped,
        };
        let requested = |severity: f64, mapped: bool| Finding {
            requested_by_analyst: true,
            security_hub: Some(origin(mapped)),
            ..ec2(severity, BACKDOOR, "111111111111")
        };
        let p = Policy::default();
        let d = p.decide(&requested(5.0, true));
        assert_eq!(
            d.disposition,
            Disposition::RequestApproval,
            "MEDIUM still asks"
        );
        assert_eq!(
            d.reasons[0],
            "requested through the Security Hub custom action \"Contain (responder)\""
        );
        assert!(d
            .reasons
            .iter()
            .any(|r| r.contains("rebuilt from the Security Hub type")));
        assert_eq!(
            p.decide(&requested(8.0, true)).disposition,
            Disposition::Contain
        );
        assert_eq!(
            p.decide(&requested(2.0, true)).disposition,
            Disposition::Notify
        );
        // A type that could not be rebuilt is never acted on, whatever the severity.
        let d = p.decide(&requested(8.0, false));
        assert_eq!(d.disposition, Disposition::Notify);
        assert!(d
            .reasons
            .iter()
            .any(|r| r.contains("does not map to a GuardDuty finding type")));
        // GuardDuty's own events carry none of these reasons.
        let d = p.decide(&ec2(8.0, BACKDOOR, "111111111111"));
        assert!(!d.reasons.iter().any(|r| r.contains("Security Hub")));
    }

    #[test]
    fn decision_serializes_with_the_names_the_state_machine_matches() {
        let d = Policy::default().decide(&ec2(5.0, BACKDOOR, "111111111111"));
        let v = serde_json::to_value(&d).expect("json");
        assert_eq!(v["tier"], "MEDIUM");
        assert_eq!(v["route"], "ec2");
        assert_eq!(v["disposition"], "request-approval");
        assert_eq!(v["dryRun"], false);
        assert!(v["idempotencyKey"]
            .as_str()
            .is_some_and(|k| k.starts_with("gd-")));
        let n = Policy::default().decide(
            &Finding::from_event(&event(json!({
                "accountId": "111111111111", "region": "eu-west-1", "id": "abc", "type": "PenTest:S3/KaliLinux",
                "severity": 5, "resource": {"resourceType": "S3Bucket"}})))
            .expect("finding"),
        );
        assert_eq!(serde_json::to_value(n.route).expect("json"), "notify-only");
    }
}
