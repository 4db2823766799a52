//! Scenario files: what the proxy injects, as data (TOML). See the crate's README for the format.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::consistency;
use crate::latency::Latency;

/// The scenarios shipped in `scenarios/`, by name.
pub const NAMED: &[(&str, &str)] = &[
    ("calm", include_str!("../scenarios/calm.toml")),
    ("slow", include_str!("../scenarios/slow.toml")),
    ("bad-day", include_str!("../scenarios/bad-day.toml")),
    (
        "flaky-network",
        include_str!("../scenarios/flaky-network.toml"),
    ),
];

/// A scenario could not be read or is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// Not TOML, or fields the format does not have.
    #[error("{origin}: {reason}")]
    Parse {
        /// Where the text came from.
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// Well-formed, but a value is out of range or contradicts another.
    #[error("{0}")]
    Invalid(String),
    /// Neither a file nor a shipped scenario.
    #[error("no scenario file or named scenario {0:?} (named: {names})", names = NAMED.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "))]
    Unknown(String),
}

/// What to inject, and where.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A short name, shown in reports.
    #[serde(default)]
    pub name: String,
    /// What the scenario stands for.
    #[serde(default)]
    pub description: String,
    /// Seed of every random decision; the same seed gives the same faults to the same calls.
    #[serde(default)]
    pub seed: u64,
    /// Rates and latency of every service, unless the service or action says otherwise.
    #[serde(default)]
    pub defaults: ServiceFaults,
    /// Per service (by signing name: `ec2`, `iam`, `sts`, `sns`, `autoscaling`,
    /// `elasticloadbalancing`, `dynamodb`).
    #[serde(default)]
    pub services: BTreeMap<String, ServiceFaults>,
    /// Eventual-consistency windows: kind (`security-group`, `inline-policy`, `snapshot`) ->
    /// seconds during which what was just created is not found.
    #[serde(default)]
    pub consistency: BTreeMap<String, f64>,
    /// The quotas moto does not enforce.
    #[serde(default)]
    pub quotas: QuotaSettings,
    /// Named failures of chosen calls, in order; the first that fires wins.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// Rates (0 to 1) and latency of a service, or of all services in `defaults`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceFaults {
    /// Share of calls answered with the service's throttling error.
    pub throttle: Option<f64>,
    /// Share of calls answered with a server error (500 or 503, half each).
    pub server_error: Option<f64>,
    /// Share of calls whose connection is closed without an answer.
    pub reset: Option<f64>,
    /// Added latency.
    pub latency: Option<Latency>,
    /// The error used for throttling, when not the service's usual one (DynamoDB:
    /// `ProvisionedThroughputExceeded`).
    pub throttle_error: Option<String>,
    /// Per action (`DescribeInstances`, `PutItem`, ...).
    #[serde(default)]
    pub actions: BTreeMap<String, ActionFaults>,
}

/// Rates and latency of one action.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ActionFaults {
    /// Share of calls throttled.
    pub throttle: Option<f64>,
    /// Share of calls answered with a server error.
    pub server_error: Option<f64>,
    /// Share of calls reset.
    pub reset: Option<f64>,
    /// Added latency.
    pub latency: Option<Latency>,
}

/// What applies to one call after the defaults, the service and the action are layered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resolved {
    /// Throttling rate.
    pub throttle: f64,
    /// Server error rate.
    pub server_error: f64,
    /// Reset rate.
    pub reset: f64,
    /// Latency, if any.
    pub latency: Option<Latency>,
    /// The throttling error's logical name.
    pub throttle_error: String,
}

/// The quotas to enforce. `aws = true` turns on every one at AWS's default value; a number
/// sets (or, with 0, turns off) one quota.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaSettings {
    /// Every quota at AWS's default.
    #[serde(default)]
    pub aws: bool,
    /// Non-whitespace characters of all inline policies of a user (AWS: 2,048).
    pub user_inline_policy_chars: Option<u64>,
    /// ... of a role (AWS: 10,240).
    pub role_inline_policy_chars: Option<u64>,
    /// ... of a group (AWS: 5,120).
    pub group_inline_policy_chars: Option<u64>,
    /// Tags per EC2 resource (AWS: 50).
    pub tags_per_resource: Option<u64>,
    /// Entries per network ACL and direction, not counting the default rule (AWS: 20).
    pub network_acl_entries: Option<u64>,
    /// Rules per security group and direction (AWS: 60).
    pub rules_per_security_group: Option<u64>,
    /// Security groups per network interface (AWS: 5).
    pub security_groups_per_interface: Option<u64>,
}

/// The quotas in force (`None`: not enforced).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quotas {
    /// Per user.
    pub user_inline_policy_chars: Option<u64>,
    /// Per role.
    pub role_inline_policy_chars: Option<u64>,
    /// Per group.
    pub group_inline_policy_chars: Option<u64>,
    /// Per EC2 resource.
    pub tags_per_resource: Option<u64>,
    /// Per network ACL and direction.
    pub network_acl_entries: Option<u64>,
    /// Per security group and direction.
    pub rules_per_security_group: Option<u64>,
    /// Per network interface.
    pub security_groups_per_interface: Option<u64>,
}

impl QuotaSettings {
    /// The quotas in force.
    pub fn resolve(&self) -> Quotas {
        let pick = |set: Option<u64>, aws: u64| match set {
            Some(0) => None,
            Some(n) => Some(n),
            None if self.aws => Some(aws),
            None => None,
        };
        Quotas {
            user_inline_policy_chars: pick(self.user_inline_policy_chars, 2_048),
            role_inline_policy_chars: pick(self.role_inline_policy_chars, 10_240),
            group_inline_policy_chars: pick(self.group_inline_policy_chars, 5_120),
            tags_per_resource: pick(self.tags_per_resource, 50),
            network_acl_entries: pick(self.network_acl_entries, 20),
            rules_per_security_group: pick(self.rules_per_security_group, 60),
            security_groups_per_interface: pick(self.security_groups_per_interface, 5),
        }
    }
}

/// How a `crash` rule ends the caller's Lambda invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrashKind {
    /// As a timeout (`Sandbox.Timedout`).
    Timeout,
    /// As running out of memory (`Runtime.OutOfMemory`).
    OutOfMemory,
    /// As a process that died (`Runtime.ExitError`).
    Exit,
}

/// A named failure: which calls it applies to, when it fires, and what happens then.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Only this service (signing name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Only this action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Only calls of this task (learned from its role session name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// Only calls with a parameter (or JSON string) equal to this value, e.g. `eni-0abc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Only calls whose body contains this text.
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
    /// Fire from the nth matching call (1-based) only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nth: Option<u64>,
    /// How many times to fire (default: once with `nth`, else without end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// Fire for this many seconds from the first call it fires on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_seconds: Option<f64>,
    /// Fire on this share of the calls it would otherwise fire on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Answer this error (a logical name or a literal code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The HTTP status of a literal error (default 400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The message of the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Close the connection without answering.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reset: bool,
    /// Have the caller's Lambda invocation killed, as this kind of failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crash: Option<CrashKind>,
    /// Forward the call to the emulator first, then reset or crash: the change is made but the
    /// caller never learns it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub after_forward: bool,
    /// Extra latency before the outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

impl Rule {
    /// Checks the rule's fields and their combination.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let outcomes = [self.error.is_some(), self.reset, self.crash.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        let what = self.describe();
        if outcomes > 1 {
            return Err(ScenarioError::Invalid(format!(
                "rule {what}: only one of error, reset and crash"
            )));
        }
        if outcomes == 0 && self.delay_ms.is_none() {
            return Err(ScenarioError::Invalid(format!(
                "rule {what}: needs error, reset, crash or delay_ms"
            )));
        }
        if self.after_forward && !(self.reset || self.crash.is_some()) {
            return Err(ScenarioError::Invalid(format!(
                "rule {what}: after_forward applies to reset and crash only"
            )));
        }
        if self.nth == Some(0) || self.times == Some(0) {
            return Err(ScenarioError::Invalid(format!(
                "rule {what}: nth and times start at 1"
            )));
        }
        if let Some(p) = self.probability {
            check_rate(&format!("rule {what}: probability"), p)?;
        }
        if let Some(s) = self.for_seconds {
            if !(s.is_finite() && s > 0.0) {
                return Err(ScenarioError::Invalid(format!(
                    "rule {what}: for_seconds must be above 0"
                )));
            }
        }
        if let Some(status) = self.status {
            if !(400..=599).contains(&status) {
                return Err(ScenarioError::Invalid(format!(
                    "rule {what}: status must be 400 to 599"
                )));
            }
        }
        Ok(())
    }

    /// A one-line description (`isolate ec2:ModifyNetworkInterfaceAttribute eni-1 #2 ->
    /// InternalError`).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(t) = &self.task {
            parts.push(t.clone());
        }
        match (&self.service, &self.action) {
            (Some(s), Some(a)) => parts.push(format!("{s}:{a}")),
            (Some(s), None) => parts.push(format!("{s}:*")),
            (None, Some(a)) => parts.push(a.clone()),
            (None, None) => parts.push("*".into()),
        }
        if let Some(r) = &self.resource {
            parts.push(r.clone());
        }
        if let Some(m) = &self.matches {
            parts.push(format!("~{m:?}"));
        }
        if let Some(n) = self.nth {
            parts.push(format!("#{n}"));
        }
        let outcome = if let Some(e) = &self.error {
            e.clone()
        } else if self.reset {
            "reset".into()
        } else if let Some(c) = self.crash {
            format!("crash ({c:?})")
        } else {
            format!("delay {} ms", self.delay_ms.unwrap_or(0))
        };
        format!("{} -> {outcome}", parts.join(" "))
    }
}

fn check_rate(what: &str, value: f64) -> Result<(), ScenarioError> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(ScenarioError::Invalid(format!(
            "{what} is {value}; expected 0 to 1"
        )))
    }
}

impl Scenario {
    /// Parses a scenario's TOML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ScenarioError> {
        let scenario: Scenario = toml::from_str(text).map_err(|e| ScenarioError::Parse {
            origin: origin.to_owned(),
            reason: e.to_string(),
        })?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// A scenario shipped in `scenarios/`.
    pub fn named(name: &str) -> Result<Self, ScenarioError> {
        let (_, text) = NAMED
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| ScenarioError::Unknown(name.to_owned()))?;
        Self::parse(text, &format!("scenario {name}"))
    }

    /// A scenario file, or else a shipped scenario of that name.
    pub fn load(name_or_path: &str) -> Result<Self, ScenarioError> {
        let path = Path::new(name_or_path);
        if path.is_file() {
            let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::Parse {
                origin: name_or_path.to_owned(),
                reason: e.to_string(),
            })?;
            let mut scenario = Self::parse(&text, name_or_path)?;
            if scenario.name.is_empty() {
                scenario.name = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
            }
            return Ok(scenario);
        }
        Self::named(name_or_path)
    }

    /// Checks rates, latencies, consistency kinds and rules.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let mut layers: Vec<(String, &ServiceFaults)> = vec![("defaults".into(), &self.defaults)];
        layers.extend(
            self.services
                .iter()
                .map(|(k, v)| (format!("services.{k}"), v)),
        );
        for (name, faults) in layers {
            for (field, rate) in [
                ("throttle", faults.throttle),
                ("server_error", faults.server_error),
                ("reset", faults.reset),
            ] {
                if let Some(r) = rate {
                    check_rate(&format!("{name}.{field}"), r)?;
                }
            }
            if let Some(l) = &faults.latency {
                l.validate(&format!("{name}.latency"))?;
            }
            for (action, a) in &faults.actions {
                for (field, rate) in [
                    ("throttle", a.throttle),
                    ("server_error", a.server_error),
                    ("reset", a.reset),
                ] {
                    if let Some(r) = rate {
                        check_rate(&format!("{name}.actions.{action}.{field}"), r)?;
                    }
                }
                if let Some(l) = &a.latency {
                    l.validate(&format!("{name}.actions.{action}.latency"))?;
                }
            }
        }
        for (kind, seconds) in &self.consistency {
            if consistency::kind(kind).is_none() {
                let known: Vec<&str> = consistency::KINDS.iter().map(|k| k.name).collect();
                return Err(ScenarioError::Invalid(format!(
                    "consistency.{kind}: unknown kind; known: {}",
                    known.join(", ")
                )));
            }
            if !(seconds.is_finite() && *seconds >= 0.0) {
                return Err(ScenarioError::Invalid(format!(
                    "consistency.{kind} must be 0 or more seconds"
                )));
            }
        }
        for rule in &self.rules {
            rule.validate()?;
        }
        Ok(())
    }

    /// The rates and latency of one call: the action's, else the service's, else the defaults'
    /// action entry, else the defaults.
    pub fn resolve(&self, service: &str, action: &str) -> Resolved {
        let service_layer = self.services.get(service);
        let layers: [Option<&ActionFaults>; 2] = [
            service_layer.and_then(|s| s.actions.get(action)),
            self.defaults.actions.get(action),
        ];
        let pick = |from_action: fn(&ActionFaults) -> Option<f64>,
                    from_service: fn(&ServiceFaults) -> Option<f64>| {
            layers
                .iter()
                .flatten()
                .find_map(|a| from_action(a))
                .or_else(|| service_layer.and_then(from_service))
                .or_else(|| from_service(&self.defaults))
                .unwrap_or(0.0)
        };
        Resolved {
            throttle: pick(|a| a.throttle, |s| s.throttle),
            server_error: pick(|a| a.server_error, |s| s.server_error),
            reset: pick(|a| a.reset, |s| s.reset),
            latency: layers
                .iter()
                .flatten()
                .find_map(|a| a.latency.clone())
                .or_else(|| service_layer.and_then(|s| s.latency.clone()))
                .or_else(|| self.defaults.latency.clone()),
            throttle_error: service_layer
                .and_then(|s| s.throttle_error.clone())
                .or_else(|| self.defaults.throttle_error.clone())
                .unwrap_or_else(|| "Throttling".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_scenario_parses() {
        for (name, _) in NAMED {
            let s = Scenario::named(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(s.name, *name);
        }
        assert!(matches!(
            Scenario::named("nope"),
            Err(ScenarioError::Unknown(_))
        ));
    }

    #[test]
    fn calm_injects_nothing() {
        let calm = Scenario::named("calm").expect("calm");
        for service in ["ec2", "iam", "dynamodb"] {
            let r = calm.resolve(service, "Anything");
            assert_eq!((r.throttle, r.server_error, r.reset), (0.0, 0.0, 0.0));
            assert_eq!(r.latency, None);
        }
        assert!(calm.rules.is_empty() && calm.consistency.is_empty());
        assert_eq!(calm.quotas.resolve(), Quotas::default());
    }

    #[test]
    fn bad_day_throttles_every_service_and_enforces_quotas() {
        let bad = Scenario::named("bad-day").expect("bad-day");
        for service in [
            "ec2",
            "iam",
            "sts",
            "sns",
            "autoscaling",
            "elasticloadbalancing",
            "dynamodb",
        ] {
            let r = bad.resolve(service, "Anything");
            assert_eq!(r.throttle, 0.2, "{service}");
            assert_eq!(r.server_error, 0.02, "{service}");
            assert!(r.latency.is_some(), "{service}");
        }
        let q = bad.quotas.resolve();
        assert_eq!(q.user_inline_policy_chars, Some(2_048));
        assert_eq!(q.security_groups_per_interface, Some(5));
        for kind in ["security-group", "inline-policy", "snapshot"] {
            assert!(
                bad.consistency.get(kind).is_some_and(|s| *s > 0.0),
                "{kind}"
            );
        }
    }

    #[test]
    fn layers_resolve_action_then_service_then_defaults() {
        let s = Scenario::parse(
            r#"
            [defaults]
            throttle = 0.1
            latency = { fixed_ms = 5 }
            [defaults.actions.PutItem]
            throttle = 0.3
            [services.ec2]
            throttle = 0.2
            server_error = 0.05
            [services.ec2.actions.DescribeInstances]
            throttle = 0.9
            latency = { median_ms = 40, p99_ms = 200 }
            "#,
            "test",
        )
        .expect("parses");
        let r = s.resolve("ec2", "DescribeInstances");
        assert_eq!((r.throttle, r.server_error), (0.9, 0.05));
        assert_eq!(r.latency.and_then(|l| l.median_ms), Some(40.0));
        let r = s.resolve("ec2", "CreateTags");
        assert_eq!(r.throttle, 0.2);
        assert_eq!(r.latency.and_then(|l| l.fixed_ms), Some(5.0));
        assert_eq!(s.resolve("iam", "GetUser").throttle, 0.1);
        assert_eq!(s.resolve("dynamodb", "PutItem").throttle, 0.3);
        // An action entry of the service wins over the defaults' entry for the action.
        assert_eq!(s.resolve("ec2", "PutItem").throttle, 0.3);
    }

    #[test]
    fn invalid_scenarios_are_refused_with_the_field_named() {
        let cases = [
            ("[defaults]\nthrottle = 1.5", "defaults.throttle"),
            ("[services.ec2]\nreset = -0.1", "services.ec2.reset"),
            ("[consistency]\nqueue = 3", "consistency.queue"),
            (
                "[defaults]\nlatency = { median_ms = 50 }",
                "defaults.latency",
            ),
            ("[[rules]]\naction = \"X\"", "needs error"),
            ("[[rules]]\nerror = \"X\"\nreset = true", "only one of"),
            (
                "[[rules]]\nerror = \"X\"\nafter_forward = true",
                "after_forward",
            ),
            ("[[rules]]\nerror = \"X\"\nnth = 0", "start at 1"),
            ("[[rules]]\nerror = \"X\"\nprobability = 2", "probability"),
            ("[[rules]]\nerror = \"X\"\nstatus = 200", "status"),
        ];
        for (text, expected) in cases {
            let e = Scenario::parse(text, "t").expect_err(text).to_string();
            assert!(e.contains(expected), "{text}: {e}");
        }
        let e = Scenario::parse("[defaults]\nthrotle = 0.1", "t").expect_err("typo");
        assert!(matches!(e, ScenarioError::Parse { .. }), "{e}");
        assert!(e.to_string().contains("throtle"), "{e}");
    }

    #[test]
    fn rules_read_from_toml_and_json_alike() {
        let s = Scenario::parse(
            r#"
            [[rules]]
            action = "ModifyNetworkInterfaceAttribute"
            resource = "eni-1"
            nth = 2
            error = "InternalError"
            [[rules]]
            task = "isolate"
            match = "quarantine"
            crash = "timeout"
            after_forward = true
            "#,
            "t",
        )
        .expect("parses");
        assert_eq!(s.rules.len(), 2);
        assert_eq!(
            s.rules[0].describe(),
            "ModifyNetworkInterfaceAttribute eni-1 #2 -> InternalError"
        );
        assert_eq!(s.rules[1].crash, Some(CrashKind::Timeout));
        assert_eq!(
            s.rules[1].describe(),
            "isolate * ~\"quarantine\" -> crash (Timeout)"
        );
        let json: Rule = serde_json::from_str(
            r#"{"action":"ModifyNetworkInterfaceAttribute","resource":"eni-1","nth":2,"error":"InternalError"}"#,
        )
        .expect("json rule");
        assert_eq!(json, s.rules[0]);
        let back: Rule = serde_json::from_value(serde_json::to_value(&s.rules[1]).expect("ser"))
            .expect("round trip");
        assert_eq!(back, s.rules[1]);
    }

    #[test]
    fn quotas_aws_defaults_and_overrides() {
        let q = QuotaSettings {
            aws: true,
            tags_per_resource: Some(0),
            user_inline_policy_chars: Some(100),
            ..QuotaSettings::default()
        }
        .resolve();
        assert_eq!(q.tags_per_resource, None);
        assert_eq!(q.user_inline_policy_chars, Some(100));
        assert_eq!(q.role_inline_policy_chars, Some(10_240));
        let only = QuotaSettings {
            network_acl_entries: Some(20),
            ..QuotaSettings::default()
        }
        .resolve();
        assert_eq!(only.network_acl_entries, Some(20));
        assert_eq!(only.rules_per_security_group, None);
    }
}
