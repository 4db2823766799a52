//! The remediation policy: a data file with defaults, validated once at start.
//!
//! The policy decides the tier of a finding (by severity), its route (by resource type), whether
//! its type is allowed on that route, and the switches that keep the pipeline from acting (sample
//! and archived findings, account include/exclude lists, dry run). It is loaded from
//! `POLICY_FILE` (a path) or `POLICY_JSON` (inline), else the defaults apply; `DRY_RUN=true`
//! forces a global dry run on top of either. [`roles`] is the built-in table of finding types
//! whose instance is the target of the activity rather than its actor.

pub mod finding_types;
pub mod roles;

use serde::{Deserialize, Serialize};

use crate::error::TaskError;

/// The policy document. Unknown fields are refused, so a typo is an error, not a silent default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "snake_case")]
pub struct Policy {
    /// Severity at or above which a finding is HIGH (contain now). Default 7.0.
    pub high_severity: f64,
    /// Severity at or above which a finding is CRITICAL. Default 9.0.
    pub critical_severity: f64,
    /// Severity at or above which a finding is MEDIUM (ask a human). Default 4.0.
    pub medium_severity: f64,
    /// The EC2 route: instance findings.
    pub ec2: RoutePolicy,
    /// The IAM route: access key findings.
    pub iam: RoutePolicy,
    /// The Lambda route: Lambda Protection findings on a function (reserved concurrency 0).
    pub lambda: RoutePolicy,
    /// The S3 route: findings that a bucket was opened to the public (Block Public Access on
    /// the bucket, recorded for rollback).
    pub s3: RoutePolicy,
    /// The RDS route: logins to a DB instance by someone who should not have one (its VPC
    /// security groups swapped for the VPC's quarantine group, recorded for rollback; a
    /// snapshot kept as evidence).
    pub rds: RoutePolicy,
    /// The ECS route: Runtime Monitoring findings in an ECS task (per-address network ACL
    /// denies for the task's interfaces, recorded for rollback). With `revoke_role_sessions`
    /// (default on here) the task role's sessions are denied too, but only after an analyst
    /// approved: every task sharing the role loses its sessions.
    pub ecs: RoutePolicy,
    /// The attack-sequence route: Extended Threat Detection's findings, contained as one plan
    /// over the instances and credentials they name.
    pub sequence: SequencePolicy,
    /// Act on GuardDuty's generated sample findings. Default false.
    pub act_on_sample_findings: bool,
    /// Act on archived findings. Default false.
    pub act_on_archived_findings: bool,
    /// When not empty, only these accounts are acted on.
    pub include_accounts: Vec<String>,
    /// These accounts are never acted on.
    pub exclude_accounts: Vec<String>,
    /// A global dry run: every task reports what it would do and changes nothing.
    pub dry_run: bool,
    /// The tag that exempts a resource from automatic remediation, honoured only when
    /// GuardDuty's record of the resource at detection carried it too.
    pub exemption_tag: TagMatch,
    /// Accounts, instances, Auto Scaling groups, roles and users never changed automatically,
    /// each optionally until a date: owned by the security account, not grantable by a tag.
    pub exemptions: crate::exemptions::Exemptions,
    /// The false-positive feedback loop: above what share of false positives, over what
    /// window, automatic containment of a finding type turns to approval first.
    pub false_positives: crate::false_positives::FalsePositivePolicy,
}

/// The settings of one route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "snake_case")]
pub struct RoutePolicy {
    /// When false, findings on this route are only notified.
    pub enabled: bool,
    /// Finding types acted on: a type matches when it starts with one of these prefixes.
    pub finding_type_prefixes: Vec<String>,
    /// A dry run for this route only.
    pub dry_run: bool,
    /// On the IAM route: also isolate the EC2 instance whose role credentials were stolen,
    /// for findings contained at once. Default true.
    pub isolate_source_instance: bool,
    /// On the Lambda route: also deny every session of the function's execution role issued
    /// before now (code that runs in a function can read the role's credentials from its
    /// environment and send them away). Every holder of the role loses its current sessions,
    /// other functions sharing the role included, until they take new ones: default false.
    pub revoke_role_sessions: bool,
    /// On the ECS route: also stop the task once it is cut off (`ecs:StopTask`). Its memory
    /// and processes are lost, and its service may start a replacement: default false,
    /// evidence first.
    pub stop_task: bool,
}

/// The settings of the attack-sequence route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "snake_case")]
pub struct SequencePolicy {
    /// When false, attack sequences are only notified.
    pub enabled: bool,
    /// Sequence types acted on. Default `AttackSequence:` (every sequence type).
    pub finding_type_prefixes: Vec<String>,
    /// A dry run for this route only.
    pub dry_run: bool,
    /// The blast-radius limit: a plan that contains more resources than this asks an analyst
    /// first, whatever the severity. Default 10.
    pub max_resources: usize,
    /// How many of a plan's resources are contained at once. Default 4.
    pub max_concurrency: u32,
}

impl Default for SequencePolicy {
    fn default() -> Self {
        SequencePolicy {
            enabled: true,
            finding_type_prefixes: vec!["AttackSequence:".into()],
            dry_run: false,
            max_resources: 10,
            max_concurrency: 4,
        }
    }
}

impl SequencePolicy {
    /// The route settings the common gates read (enabled, types, dry run).
    pub fn route(&self) -> RoutePolicy {
        RoutePolicy {
            enabled: self.enabled,
            finding_type_prefixes: self.finding_type_prefixes.clone(),
            dry_run: self.dry_run,
            ..RoutePolicy::default()
        }
    }
}

/// A tag key and value to match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct TagMatch {
    /// The tag key, matched exactly.
    pub key: String,
    /// The tag value, matched case-insensitively.
    pub value: String,
}

/// The EC2 finding-type prefixes acted on by default.
pub const DEFAULT_EC2_PREFIXES: &[&str] = &[
    "UnauthorizedAccess:EC2/",
    "Recon:EC2/",
    "Trojan:EC2/",
    "Backdoor:EC2/",
    "Impact:EC2/",
    "CryptoCurrency:EC2/",
    "DefenseEvasion:EC2/",
    // Malware Protection for EC2 (`Execution:EC2/MaliciousFile`, `SuspiciousFile`).
    "Execution:EC2/",
    // Runtime Monitoring: on an `Instance` these reach instance containment, in an ECS task the
    // `ecs` route (the same families, `DEFAULT_ECS_PREFIXES`); elsewhere they are notify-only
    // (the route follows the resource type). They stay last: the ECS list is this tail.
    "Backdoor:Runtime/",
    "CryptoCurrency:Runtime/",
    "DefenseEvasion:Runtime/",
    "Discovery:Runtime/",
    "Execution:Runtime/",
    "Impact:Runtime/",
    "Persistence:Runtime/",
    "PrivilegeEscalation:Runtime/",
    "Trojan:Runtime/",
    "UnauthorizedAccess:Runtime/",
];

/// The IAM finding-type prefixes acted on by default.
pub const DEFAULT_IAM_PREFIXES: &[&str] = &[
    "UnauthorizedAccess:IAMUser/",
    "CredentialAccess:IAMUser/",
    "Exfiltration:IAMUser/",
    "Impact:IAMUser/",
    "Persistence:IAMUser/",
    "PrivilegeEscalation:IAMUser/",
    "InitialAccess:IAMUser/",
    "DefenseEvasion:IAMUser/",
    "Discovery:IAMUser/",
    "Recon:IAMUser/",
    "PenTest:IAMUser/",
    "Stealth:IAMUser/",
    "Policy:IAMUser/",
];

/// The Lambda finding-type prefixes acted on by default: every Lambda Protection type (the
/// function's own network activity: command and control, mining, drop points, Tor, a
/// malicious IP list).
pub const DEFAULT_LAMBDA_PREFIXES: &[&str] = &[
    "Backdoor:Lambda/",
    "CryptoCurrency:Lambda/",
    "Trojan:Lambda/",
    "UnauthorizedAccess:Lambda/",
];

/// The S3 finding types acted on by default.
///
/// - A bucket opened to the public (its Block Public Access turned off, a policy or ACL
///   granting the public or anonymous users access): Block Public Access closes exactly that
///   door.
/// - A bucket called from a known-bad place (a threat list, Tor, a penetration-testing
///   distribution): the caller's credentials are denied on the bucket by its policy.
/// - An object Malware Protection for S3 found malicious (`Object:S3/MaliciousFile`): the
///   object is quarantined where it is by the bucket's policy (nobody reads, overwrites or
///   deletes it), and kept as evidence.
///
/// The anomaly types (`...:S3/AnomalousBehavior...`) are the model's guesses about callers
/// that are often the bucket's own: they stay notify-only unless a policy lists them.
pub const DEFAULT_S3_PREFIXES: &[&str] = &[
    "Policy:S3/BucketAnonymousAccessGranted",
    "Policy:S3/BucketBlockPublicAccessDisabled",
    "Policy:S3/BucketPublicAccessGranted",
    "Discovery:S3/MaliciousIPCaller",
    "Discovery:S3/TorIPCaller",
    "Exfiltration:S3/MaliciousIPCaller",
    "Impact:S3/MaliciousIPCaller",
    "Object:S3/MaliciousFile",
    "PenTest:S3/",
    "UnauthorizedAccess:S3/MaliciousIPCaller.Custom",
    "UnauthorizedAccess:S3/TorIPCaller",
];

/// The RDS finding types acted on by default: a login that succeeded from a threat-listed
/// address or Tor, and a brute force that ended in a successful login. The database's
/// credentials are in the attacker's hands, and the network is the one lever AWS offers
/// outside the database.
///
/// The other anomaly types (`AnomalousBehavior.SuccessfulLogin` is often a new client of the
/// database's own), failed logins and discovery stay notify-only unless a policy lists them.
pub const DEFAULT_RDS_PREFIXES: &[&str] = &[
    "CredentialAccess:RDS/AnomalousBehavior.SuccessfulBruteForce",
    "CredentialAccess:RDS/MaliciousIPCaller.SuccessfulLogin",
    "CredentialAccess:RDS/TorIPCaller.SuccessfulLogin",
];

/// How many Runtime Monitoring families end [`DEFAULT_EC2_PREFIXES`].
const RUNTIME_FAMILIES: usize = 10;

/// The ECS finding types acted on by default: Runtime Monitoring's, the same families the
/// instance route contains (the tail of [`DEFAULT_EC2_PREFIXES`], so a new family is added
/// once). What runs in the task is the attacker's.
pub const DEFAULT_ECS_PREFIXES: &[&str] = DEFAULT_EC2_PREFIXES
    .split_at(DEFAULT_EC2_PREFIXES.len() - RUNTIME_FAMILIES)
    .1;

/// Finding types GuardDuty has retired and no longer generates. An event carrying one is a
/// replay of old data or a test, never a current threat, so it is notified and not acted on,
/// even when its prefix is allowed (e.g. `Stealth:IAMUser/LoggingConfigurationModified`).
pub const RETIRED_FINDING_TYPES: &[&str] = &[
    "Backdoor:EC2/XORDDOS",
    "Behavior:IAMUser/InstanceLaunchUnusual",
    "CryptoCurrency:EC2/BitcoinTool.A",
    "Discovery:S3/BucketEnumeration.Unusual",
    "Exfiltration:S3/ObjectRead.Unusual",
    "Impact:S3/ObjectDelete.Unusual",
    "Impact:S3/PermissionsModification.Unusual",
    "Persistence:Kubernetes/ContainerWithSensitiveMount",
    "Persistence:IAMUser/NetworkPermissions",
    "Persistence:IAMUser/ResourcePermissions",
    "Persistence:IAMUser/UserPermissions",
    "PrivilegeEscalation:IAMUser/AdministrativePermissions",
    "PrivilegeEscalation:Kubernetes/PrivilegedContainer",
    "Recon:IAMUser/NetworkPermissions",
    "Recon:IAMUser/ResourcePermissions",
    "Recon:IAMUser/UserPermissions",
    "ResourceConsumption:IAMUser/ComputeResources",
    "Stealth:IAMUser/LoggingConfigurationModified",
    "UnauthorizedAccess:EC2/TorIPCaller",
    "UnauthorizedAccess:IAMUser/ConsoleLogin",
    "UnauthorizedAccess:IAMUser/UnusualASNCaller",
];

impl Default for Policy {
    fn default() -> Self {
        Policy {
            high_severity: 7.0,
            critical_severity: 9.0,
            medium_severity: 4.0,
            ec2: RoutePolicy::with_prefixes(DEFAULT_EC2_PREFIXES),
            iam: RoutePolicy::with_prefixes(DEFAULT_IAM_PREFIXES),
            lambda: RoutePolicy::with_prefixes(DEFAULT_LAMBDA_PREFIXES),
            s3: RoutePolicy::with_prefixes(DEFAULT_S3_PREFIXES),
            rds: RoutePolicy::with_prefixes(DEFAULT_RDS_PREFIXES),
            ecs: RoutePolicy {
                revoke_role_sessions: true,
                ..RoutePolicy::with_prefixes(DEFAULT_ECS_PREFIXES)
            },
            sequence: SequencePolicy::default(),
            act_on_sample_findings: false,
            act_on_archived_findings: false,
            include_accounts: Vec::new(),
            exclude_accounts: Vec::new(),
            dry_run: false,
            exemption_tag: TagMatch::default(),
            exemptions: crate::exemptions::Exemptions::default(),
            false_positives: crate::false_positives::FalsePositivePolicy::default(),
        }
    }
}

impl Default for RoutePolicy {
    fn default() -> Self {
        RoutePolicy {
            enabled: true,
            finding_type_prefixes: Vec::new(),
            dry_run: false,
            isolate_source_instance: true,
            revoke_role_sessions: false,
            stop_task: false,
        }
    }
}

impl RoutePolicy {
    fn with_prefixes(prefixes: &[&str]) -> Self {
        RoutePolicy {
            finding_type_prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
            ..RoutePolicy::default()
        }
    }

    /// Whether this route acts on a finding type: it matches an allowed prefix and is not
    /// one of the [`RETIRED_FINDING_TYPES`].
    pub fn allows(&self, finding_type: &str) -> bool {
        !is_retired(finding_type) && self.matching_prefix(finding_type).is_some()
    }

    /// The first allowed prefix a finding type starts with, so a decision can name it.
    pub fn matching_prefix(&self, finding_type: &str) -> Option<&str> {
        self.finding_type_prefixes
            .iter()
            .map(String::as_str)
            .find(|p| finding_type.starts_with(p))
    }
}

impl Default for TagMatch {
    fn default() -> Self {
        TagMatch {
            key: "AutoRemediation".to_string(),
            value: "disabled".to_string(),
        }
    }
}

impl TagMatch {
    /// Whether a tag list carries this tag.
    pub fn matches<'a>(&self, mut tags: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
        tags.any(|(k, v)| k == self.key && v.eq_ignore_ascii_case(&self.value))
    }
}

impl Policy {
    /// Parses and validates a policy document.
    /// A route's section without `finding_type_prefixes` keeps the route's default list:
    /// `{"lambda": {"revoke_role_sessions": true}}` changes one setting, it does not empty the
    /// allow list (which would silently turn the route to notify-only).
    pub fn from_json(text: &str) -> Result<Self, TaskError> {
        let invalid = |e: serde_json::Error| TaskError::config(format!("policy is not valid: {e}"));
        let mut doc: serde_json::Value = serde_json::from_str(text).map_err(invalid)?;
        for (route, defaults) in [
            ("ec2", DEFAULT_EC2_PREFIXES),
            ("iam", DEFAULT_IAM_PREFIXES),
            ("lambda", DEFAULT_LAMBDA_PREFIXES),
            ("s3", DEFAULT_S3_PREFIXES),
            ("rds", DEFAULT_RDS_PREFIXES),
            ("ecs", DEFAULT_ECS_PREFIXES),
        ] {
            if let Some(section) = doc.get_mut(route).and_then(|r| r.as_object_mut()) {
                section
                    .entry("finding_type_prefixes")
                    .or_insert_with(|| serde_json::json!(defaults));
            }
        }
        let policy: Policy = serde_json::from_value(doc).map_err(invalid)?;
        policy.validate()?;
        Ok(policy)
    }

    /// Loads the policy from the environment: `POLICY_FILE`, else `POLICY_JSON`, else the
    /// defaults; then applies `DRY_RUN` and `EXEMPTION_TAG_KEY` / `EXEMPTION_TAG_VALUE`.
    pub fn from_env() -> Result<Self, TaskError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Like [`Policy::from_env`], reading variables through `get` (for tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, TaskError> {
        let mut policy = if let Some(path) = get("POLICY_FILE").filter(|p| !p.is_empty()) {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                TaskError::config(format!("POLICY_FILE {path:?} cannot be read: {e}"))
            })?;
            Self::from_json(&text)
                .map_err(|e| TaskError::config(format!("POLICY_FILE {path:?}: {}", e.message)))?
        } else if let Some(text) = get("POLICY_JSON").filter(|p| !p.is_empty()) {
            Self::from_json(&text)
                .map_err(|e| TaskError::config(format!("POLICY_JSON: {}", e.message)))?
        } else {
            Policy::default()
        };
        if let Some(v) = get("DRY_RUN") {
            policy.dry_run |= parse_bool("DRY_RUN", &v)?;
        }
        if let Some(k) = get("EXEMPTION_TAG_KEY").filter(|k| !k.is_empty()) {
            policy.exemption_tag.key = k;
        }
        if let Some(v) = get("EXEMPTION_TAG_VALUE").filter(|v| !v.is_empty()) {
            policy.exemption_tag.value = v;
        }
        policy.validate()?;
        Ok(policy)
    }

    /// Checks the policy's internal consistency, naming every problem.
    pub fn validate(&self) -> Result<(), TaskError> {
        let mut problems = Vec::new();
        for (name, v) in [
            ("medium_severity", self.medium_severity),
            ("high_severity", self.high_severity),
            ("critical_severity", self.critical_severity),
        ] {
            if !(0.0..=10.0).contains(&v) {
                problems.push(format!("{name} is {v}; expected 0.0 to 10.0"));
            }
        }
        if !(self.medium_severity <= self.high_severity
            && self.high_severity <= self.critical_severity)
        {
            problems.push(format!(
                "severities must rise: medium_severity ({}) <= high_severity ({}) <= critical_severity ({})",
                self.medium_severity, self.high_severity, self.critical_severity
            ));
        }
        for (route, r) in [
            ("ec2", &self.ec2),
            ("iam", &self.iam),
            ("lambda", &self.lambda),
            ("s3", &self.s3),
            ("rds", &self.rds),
            ("ecs", &self.ecs),
            ("sequence", &self.sequence.route()),
        ] {
            for p in &r.finding_type_prefixes {
                if p.trim().is_empty() || !p.contains(':') {
                    problems.push(format!(
                        "{route}.finding_type_prefixes has {p:?}; expected a type prefix such as \"Backdoor:EC2/\""
                    ));
                }
            }
        }
        for (name, list) in [
            ("include_accounts", &self.include_accounts),
            ("exclude_accounts", &self.exclude_accounts),
        ] {
            for a in list {
                if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                    problems.push(format!("{name} has {a:?}; expected a 12-digit account id"));
                }
            }
        }
        problems.extend(self.exemptions.problems());
        problems.extend(self.false_positives.problems());
        if self.exemption_tag.key.is_empty() || self.exemption_tag.key.len() > 128 {
            problems.push("exemption_tag.key must be 1 to 128 characters".to_string());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(TaskError::config(format!(
                "policy is not valid: {}",
                problems.join("; ")
            )))
        }
    }

    /// Whether the policy lets the pipeline act in an account.
    pub fn account_allowed(&self, account: &str) -> bool {
        !self.exclude_accounts.iter().any(|a| a == account)
            && (self.include_accounts.is_empty()
                || self.include_accounts.iter().any(|a| a == account))
    }
}

/// Whether GuardDuty has retired a finding type (see [`RETIRED_FINDING_TYPES`]).
pub fn is_retired(finding_type: &str) -> bool {
    RETIRED_FINDING_TYPES.contains(&finding_type)
}

/// Parses a boolean setting, naming the variable on error.
pub fn parse_bool(name: &str, value: &str) -> Result<bool, TaskError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "" | "0" | "false" | "no" | "off" => Ok(false),
        other => Err(TaskError::config(format!(
            "{name} is {other:?}; expected true or false"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ECS route's defaults are exactly the instance route's Runtime Monitoring families.
    #[test]
    fn the_ecs_defaults_are_the_runtime_families_of_the_instance_route() {
        let runtime: Vec<&str> = DEFAULT_EC2_PREFIXES
            .iter()
            .copied()
            .filter(|p| p.contains(":Runtime/"))
            .collect();
        assert_eq!(DEFAULT_ECS_PREFIXES, runtime.as_slice());
        assert!(DEFAULT_ECS_PREFIXES.contains(&"Execution:Runtime/"));
    }
    use crate::error::names;

    fn err(json: &str) -> String {
        let e = Policy::from_json(json).expect_err("invalid policy");
        assert_eq!(e.name, names::CONFIG_INVALID);
        e.message
    }

    /// A route section that changes one setting keeps the route's default allow list; one
    /// that lists prefixes replaces it, and an explicit empty list turns the route off.
    #[test]
    fn a_route_section_without_prefixes_keeps_the_defaults() {
        let p = Policy::from_json(
            r#"{"ec2": {"dry_run": true}, "lambda": {"revoke_role_sessions": true}}"#,
        )
        .expect("policy");
        assert!(p.ec2.dry_run);
        assert_eq!(
            p.ec2.finding_type_prefixes,
            Policy::default().ec2.finding_type_prefixes
        );
        assert!(p.lambda.revoke_role_sessions);
        assert!(p.lambda.allows("Backdoor:Lambda/C&CActivity.B"));
        assert_eq!(p.iam, Policy::default().iam);
        let p = Policy::from_json(r#"{"lambda": {"finding_type_prefixes": ["Trojan:Lambda/"]}}"#)
            .expect("policy");
        assert!(!p.lambda.allows("Backdoor:Lambda/C&CActivity.B"));
        assert!(p.lambda.allows("Trojan:Lambda/DropPoint"));
        let p = Policy::from_json(r#"{"lambda": {"finding_type_prefixes": []}}"#).expect("policy");
        assert!(!p.lambda.allows("Backdoor:Lambda/C&CActivity.B"));
    }

    #[test]
    fn defaults_are_valid_and_documented_values() {
        let p = Policy::from_json("{}").expect("empty document means defaults");
        assert_eq!(p, Policy::default());
        assert_eq!(p.high_severity, 7.0);
        assert_eq!(p.exemption_tag.key, "AutoRemediation");
        assert_eq!(p.exemption_tag.value, "disabled");
        assert!(!p.dry_run);
        p.validate().expect("defaults validate");
    }

    #[test]
    fn thresholds_out_of_range_or_out_of_order_are_named() {
        let m = err(r#"{"high_severity": 11}"#);
        assert!(m.contains("high_severity is 11"), "{m}");
        assert!(m.contains("severities must rise"), "{m}");
        let m = err(r#"{"medium_severity": 8, "high_severity": 7}"#);
        assert!(
            m.contains("medium_severity (8) <= high_severity (7)"),
            "{m}"
        );
        let m = err(r#"{"critical_severity": -1}"#);
        assert!(m.contains("critical_severity is -1"), "{m}");
    }

    #[test]
    fn unknown_fields_are_refused_at_every_level() {
        let m = err(r#"{"high_severty": 7}"#);
        assert!(m.contains("unknown field `high_severty`"), "{m}");
        let m = err(r#"{"ec2": {"enabled": true, "dryrun": true}}"#);
        assert!(m.contains("unknown field `dryrun`"), "{m}");
        let m = err(r#"{"exemption_tag": {"key": "a", "value": "b", "extra": 1}}"#);
        assert!(m.contains("unknown field `extra`"), "{m}");
    }

    #[test]
    fn account_ids_and_prefixes_are_checked() {
        let m = err(r#"{"include_accounts": ["12345"], "exclude_accounts": ["22222222222a"]}"#);
        assert!(m.contains(r#"include_accounts has "12345""#), "{m}");
        assert!(m.contains(r#"exclude_accounts has "22222222222a""#), "{m}");
        let m = err(r#"{"iam": {"finding_type_prefixes": ["IAMUser"]}}"#);
        assert!(
            m.contains(r#"iam.finding_type_prefixes has "IAMUser""#),
            "{m}"
        );
        let m = err(r#"{"ec2": {"finding_type_prefixes": ["  "]}}"#);
        assert!(m.contains("ec2.finding_type_prefixes"), "{m}");
        let m = err(r#"{"exemption_tag": {"key": "", "value": "x"}}"#);
        assert!(m.contains("exemption_tag.key"), "{m}");
    }

    #[test]
    fn false_positive_settings_are_read_and_checked() {
        let p =
            Policy::from_json(r#"{"false_positives": {"threshold_percent": 25}}"#).expect("policy");
        assert_eq!(p.false_positives.threshold_percent, 25.0);
        assert_eq!(
            p.false_positives.window_days, 7,
            "the others keep their defaults"
        );
        assert_eq!(p.false_positives.min_actions, 5);
        let m = err(r#"{"false_positives": {"window_days": 60}}"#);
        assert!(m.contains("false_positives.window_days is 60"), "{m}");
        let m = err(r#"{"false_positives": {"threshold": 10}}"#);
        assert!(m.contains("unknown field `threshold`"), "{m}");
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let m = err(r#"{"high_severity": 12, "include_accounts": ["1"]}"#);
        assert!(
            m.contains("high_severity") && m.contains("include_accounts"),
            "{m}"
        );
    }

    #[test]
    fn environment_sets_dry_run_and_exemption_tag() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let p = Policy::from_lookup(env(&[("DRY_RUN", "true")])).expect("policy");
        assert!(p.dry_run);
        let p = Policy::from_lookup(env(&[("DRY_RUN", "0")])).expect("policy");
        assert!(!p.dry_run);
        // DRY_RUN can only add a dry run; it never lifts one set by the policy document.
        let p = Policy::from_lookup(env(&[
            ("POLICY_JSON", r#"{"dry_run": true}"#),
            ("DRY_RUN", "false"),
        ]))
        .expect("policy");
        assert!(p.dry_run);
        let e = Policy::from_lookup(env(&[("DRY_RUN", "maybe")])).expect_err("bad bool");
        assert_eq!(e.name, names::CONFIG_INVALID);
        assert!(e.message.contains("DRY_RUN"), "{}", e.message);

        let p = Policy::from_lookup(env(&[
            ("EXEMPTION_TAG_KEY", "SecurityAutomation"),
            ("EXEMPTION_TAG_VALUE", "off"),
        ]))
        .expect("policy");
        assert_eq!(p.exemption_tag.key, "SecurityAutomation");
        assert_eq!(p.exemption_tag.value, "off");

        let e = Policy::from_lookup(env(&[("POLICY_JSON", r#"{"bogus": 1}"#)]))
            .expect_err("bad inline policy");
        assert!(e.message.starts_with("POLICY_JSON:"), "{}", e.message);
        let e = Policy::from_lookup(env(&[("POLICY_FILE", "/nonexistent/policy.json")]))
            .expect_err("missing file");
        assert!(
            e.message.contains("/nonexistent/policy.json"),
            "{}",
            e.message
        );
    }

    #[test]
    fn policy_file_is_read_and_validated() {
        let dir = std::env::temp_dir().join(format!("policy-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("policy.json");
        std::fs::write(&path, r#"{"exclude_accounts": ["222222222222"]}"#).expect("write");
        let path_s = path.to_string_lossy().into_owned();
        let p =
            Policy::from_lookup(|k| (k == "POLICY_FILE").then(|| path_s.clone())).expect("policy");
        assert_eq!(p.exclude_accounts, vec!["222222222222"]);
        std::fs::write(&path, r#"{"include_accounts": ["x"]}"#).expect("write");
        let e = Policy::from_lookup(|k| (k == "POLICY_FILE").then(|| path_s.clone()))
            .expect_err("invalid file");
        assert!(e.message.contains("include_accounts"), "{}", e.message);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn include_and_exclude_accounts() {
        let p = Policy::default();
        assert!(p.account_allowed("222222222222"));
        let p = Policy {
            include_accounts: vec!["111111111111".into()],
            ..Policy::default()
        };
        assert!(p.account_allowed("111111111111"));
        assert!(!p.account_allowed("222222222222"));
        // Exclusion wins over inclusion.
        let p = Policy {
            include_accounts: vec!["111111111111".into()],
            exclude_accounts: vec!["111111111111".into()],
            ..Policy::default()
        };
        assert!(!p.account_allowed("111111111111"));
    }

    #[test]
    fn type_prefixes_and_retired_types() {
        let p = Policy::default();
        assert!(p.ec2.allows("Backdoor:EC2/C&CActivity.B!DNS"));
        assert!(!p.ec2.allows("Behavior:EC2/NetworkPortUnusual"));
        assert!(
            !p.ec2.allows("backdoor:ec2/C&CActivity.B"),
            "prefixes are case-sensitive"
        );
        assert!(p.iam.allows("Stealth:IAMUser/CloudTrailLoggingDisabled"));
        assert!(!p.iam.allows("Stealth:IAMUser/LoggingConfigurationModified"));
        assert!(!p.ec2.allows("UnauthorizedAccess:EC2/TorIPCaller"));
        assert!(p.ec2.allows("UnauthorizedAccess:EC2/TorClient"));
    }

    #[test]
    fn exemption_tag_value_matches_case_insensitively_key_exactly() {
        let t = TagMatch::default();
        assert!(t.matches([("AutoRemediation", "DISABLED")].into_iter()));
        assert!(t.matches([("Name", "x"), ("AutoRemediation", "Disabled")].into_iter()));
        assert!(!t.matches([("autoremediation", "disabled")].into_iter()));
        assert!(!t.matches([("AutoRemediation", "enabled")].into_iter()));
        assert!(!t.matches(std::iter::empty()));
    }
}
