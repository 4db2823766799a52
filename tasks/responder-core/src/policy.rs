//! The remediation policy: a data file with defaults, validated once at start.
//!
//! The policy decides the tier of a finding (by severity), its route (by resource type), whether
//! its type is allowed on that route, and the switches that keep the pipeline from acting (sample
//! and archived findings, account include/exclude lists, dry run). It is loaded from
//! `POLICY_FILE` (a path) or `POLICY_JSON` (inline), else the defaults apply; `DRY_RUN=true`
//! forces a global dry run on top of either.

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
    /// The tag that exempts a resource from automatic remediation.
    pub exemption_tag: TagMatch,
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

impl Default for Policy {
    fn default() -> Self {
        Policy {
            high_severity: 7.0,
            critical_severity: 9.0,
            medium_severity: 4.0,
            ec2: RoutePolicy::with_prefixes(DEFAULT_EC2_PREFIXES),
            iam: RoutePolicy::with_prefixes(DEFAULT_IAM_PREFIXES),
            act_on_sample_findings: false,
            act_on_archived_findings: false,
            include_accounts: Vec::new(),
            exclude_accounts: Vec::new(),
            dry_run: false,
            exemption_tag: TagMatch::default(),
        }
    }
}

impl Default for RoutePolicy {
    fn default() -> Self {
        RoutePolicy {
            enabled: true,
            finding_type_prefixes: Vec::new(),
            dry_run: false,
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

    /// Whether this route acts on a finding type.
    pub fn allows(&self, finding_type: &str) -> bool {
        self.finding_type_prefixes
            .iter()
            .any(|p| finding_type.starts_with(p.as_str()))
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
    pub fn from_json(text: &str) -> Result<Self, TaskError> {
        let policy: Policy = serde_json::from_str(text)
            .map_err(|e| TaskError::config(format!("policy is not valid: {e}")))?;
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
        for (route, r) in [("ec2", &self.ec2), ("iam", &self.iam)] {
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
