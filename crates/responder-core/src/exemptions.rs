//! Exemptions owned by the security account's policy: accounts, instances, Auto Scaling groups,
//! roles and users that are never changed automatically, each optionally until a date.
//!
//! These live in the policy document (deployed from the security account), so nobody in a
//! member account can grant one. A tag on the resource is honoured only when GuardDuty's own
//! record of the resource at detection carried it too (see `check-exemption`): a tag written
//! after the attack began is the attacker's.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The exemption lists of the policy (`"exemptions": { ... }`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "snake_case")]
pub struct Exemptions {
    /// Accounts, by 12-digit id.
    pub accounts: Vec<Exemption>,
    /// Instances, by id.
    pub instances: Vec<Exemption>,
    /// Auto Scaling groups, by name (their instances are exempt).
    pub auto_scaling_groups: Vec<Exemption>,
    /// IAM roles, by name.
    pub roles: Vec<Exemption>,
    /// IAM users, by name.
    pub users: Vec<Exemption>,
    /// Lambda functions, by name.
    pub functions: Vec<Exemption>,
    /// S3 buckets, by name.
    pub buckets: Vec<Exemption>,
    /// RDS DB instances, by identifier (lowercase, as RDS stores it).
    pub databases: Vec<Exemption>,
    /// ECS clusters, by name (their tasks are exempt).
    pub clusters: Vec<Exemption>,
}

/// One exemption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exemption {
    /// The account id, instance id, or group, role or user name.
    pub id: String,
    /// Until when: a date (`2027-01-31`, through the end of that day, UTC) or an RFC 3339 time.
    /// Absent: no end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// Why, for the audit trail and the notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The kinds of exemption, named as in the policy document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExemptionKind {
    /// `exemptions.accounts`.
    Account,
    /// `exemptions.instances`.
    Instance,
    /// `exemptions.auto_scaling_groups`.
    AutoScalingGroup,
    /// `exemptions.roles`.
    Role,
    /// `exemptions.users`.
    User,
    /// `exemptions.functions`.
    Function,
    /// `exemptions.buckets`.
    Bucket,
    /// `exemptions.databases`.
    Database,
    /// `exemptions.clusters`.
    Cluster,
}

impl ExemptionKind {
    /// The policy field.
    pub fn field(self) -> &'static str {
        match self {
            ExemptionKind::Account => "exemptions.accounts",
            ExemptionKind::Instance => "exemptions.instances",
            ExemptionKind::AutoScalingGroup => "exemptions.auto_scaling_groups",
            ExemptionKind::Role => "exemptions.roles",
            ExemptionKind::User => "exemptions.users",
            ExemptionKind::Function => "exemptions.functions",
            ExemptionKind::Bucket => "exemptions.buckets",
            ExemptionKind::Database => "exemptions.databases",
            ExemptionKind::Cluster => "exemptions.clusters",
        }
    }
}

impl Exemption {
    /// When it ends; `Ok(None)`: never. A date ends at the end of that day, UTC.
    pub fn expires_at(&self) -> Result<Option<DateTime<Utc>>, String> {
        let Some(raw) = self.expires.as_deref().map(str::trim) else {
            return Ok(None);
        };
        if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
            return Ok(Some(t.with_timezone(&Utc)));
        }
        NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(23, 59, 59))
            .map(|t| Some(t.and_utc()))
            .ok_or_else(|| {
                format!(
                    "exemption {:?} expires {raw:?}; expected a date (2027-01-31) or an RFC 3339 time",
                    self.id
                )
            })
    }

    /// Whether it holds at `now`.
    pub fn active(&self, now: DateTime<Utc>) -> bool {
        match self.expires_at() {
            Ok(None) => true,
            Ok(Some(end)) => now <= end,
            // Refused by validation at start; never silently honoured.
            Err(_) => false,
        }
    }

    /// A sentence for the report: the source of the decision.
    pub fn describe(&self, kind: ExemptionKind) -> String {
        let until = self
            .expires
            .as_deref()
            .map(|e| format!(" until {e}"))
            .unwrap_or_default();
        let why = self
            .reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        format!("policy {}: {}{until}{why}", kind.field(), self.id)
    }
}

impl Exemptions {
    fn list(&self, kind: ExemptionKind) -> &[Exemption] {
        match kind {
            ExemptionKind::Account => &self.accounts,
            ExemptionKind::Instance => &self.instances,
            ExemptionKind::AutoScalingGroup => &self.auto_scaling_groups,
            ExemptionKind::Role => &self.roles,
            ExemptionKind::User => &self.users,
            ExemptionKind::Function => &self.functions,
            ExemptionKind::Bucket => &self.buckets,
            ExemptionKind::Database => &self.databases,
            ExemptionKind::Cluster => &self.clusters,
        }
    }

    /// The active exemption of `kind` for `id`, if any.
    pub fn find(&self, kind: ExemptionKind, id: &str, now: DateTime<Utc>) -> Option<&Exemption> {
        self.list(kind).iter().find(|e| e.id == id && e.active(now))
    }

    /// Every problem with the lists: empty ids, unreadable dates, malformed account ids.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for kind in [
            ExemptionKind::Account,
            ExemptionKind::Instance,
            ExemptionKind::AutoScalingGroup,
            ExemptionKind::Role,
            ExemptionKind::User,
            ExemptionKind::Function,
            ExemptionKind::Bucket,
            ExemptionKind::Database,
            ExemptionKind::Cluster,
        ] {
            for e in self.list(kind) {
                if e.id.trim().is_empty() {
                    out.push(format!("{} has an empty id", kind.field()));
                }
                if let Err(p) = e.expires_at() {
                    out.push(format!("{}: {p}", kind.field()));
                }
                if kind == ExemptionKind::Account
                    && (e.id.len() != 12 || !e.id.bytes().all(|b| b.is_ascii_digit()))
                {
                    out.push(format!(
                        "{} has {:?}; expected a 12-digit account id",
                        kind.field(),
                        e.id
                    ));
                }
                if kind == ExemptionKind::Function && !crate::finding::is_function_name(&e.id) {
                    out.push(format!(
                        "{} has {:?}; expected a Lambda function name",
                        kind.field(),
                        e.id
                    ));
                }
                if kind == ExemptionKind::Bucket && !crate::finding::is_bucket_name(&e.id) {
                    out.push(format!(
                        "{} has {:?}; expected an S3 bucket name",
                        kind.field(),
                        e.id
                    ));
                }
                if kind == ExemptionKind::Database
                    && !(crate::finding::is_db_identifier(&e.id)
                        && e.id == e.id.to_ascii_lowercase())
                {
                    out.push(format!(
                        "{} has {:?}; expected an RDS DB instance identifier in lowercase",
                        kind.field(),
                        e.id
                    ));
                }
                if kind == ExemptionKind::Cluster && !crate::finding::is_cluster_name(&e.id) {
                    out.push(format!(
                        "{} has {:?}; expected an ECS cluster name",
                        kind.field(),
                        e.id
                    ));
                }
                if kind == ExemptionKind::Instance && !crate::finding::is_resource_id(&e.id, "i-") {
                    out.push(format!(
                        "{} has {:?}; expected an instance id",
                        kind.field(),
                        e.id
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn exemptions_hold_until_they_expire() {
        let ex: Exemptions = serde_json::from_str(
            r#"{"instances": [
                {"id": "i-0123456789abcdef0", "expires": "2027-01-31", "reason": "load test"},
                {"id": "i-0fedcba9876543210"}
            ], "users": [{"id": "break-glass", "expires": "2027-01-31T12:00:00Z"}]}"#,
        )
        .expect("parses");
        assert!(ex.problems().is_empty(), "{:?}", ex.problems());
        let k = ExemptionKind::Instance;
        assert!(ex
            .find(k, "i-0123456789abcdef0", at("2027-01-31T23:00:00Z"))
            .is_some());
        assert!(ex
            .find(k, "i-0123456789abcdef0", at("2027-02-01T00:00:00Z"))
            .is_none());
        assert!(ex
            .find(k, "i-0fedcba9876543210", at("2099-01-01T00:00:00Z"))
            .is_some());
        assert!(ex
            .find(
                ExemptionKind::User,
                "break-glass",
                at("2027-01-31T12:00:01Z")
            )
            .is_none());
        assert_eq!(
            ex.instances[0].describe(k),
            "policy exemptions.instances: i-0123456789abcdef0 until 2027-01-31 (load test)"
        );
    }

    #[test]
    fn bad_entries_are_named() {
        let ex: Exemptions = serde_json::from_str(
            r#"{"accounts": [{"id": "12345"}], "instances": [{"id": "web-1"}],
                "roles": [{"id": "r", "expires": "next week"}], "users": [{"id": " "}]}"#,
        )
        .expect("parses");
        let p = ex.problems();
        assert_eq!(p.len(), 4, "{p:?}");
        assert!(p.iter().any(|x| x.contains("12-digit")));
        assert!(p.iter().any(|x| x.contains("expected an instance id")));
        assert!(p.iter().any(|x| x.contains("\"next week\"")));
        assert!(p.iter().any(|x| x.contains("empty id")));
        assert!(serde_json::from_str::<Exemptions>(r#"{"instance": []}"#).is_err());
    }
}
