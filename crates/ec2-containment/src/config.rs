//! The isolate task's configuration, read from the environment once per cold start.

use std::net::IpAddr;

use responder_aws::consistency::Backoff;
use responder_core::TaskError;

/// How isolation behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsolateConfig {
    /// CIDRs the quarantine group allows outbound TCP 443 to (`QUARANTINE_EGRESS_CIDRS`,
    /// comma-separated; default none): an operator's override, e.g. a forensics proxy. Only
    /// TCP 443, never other protocols.
    pub egress_cidrs: Vec<String>,
    /// Whether to swap through the untrack group first so tracked connections are cut
    /// (`CUT_TRACKED_CONNECTIONS`, default true).
    pub cut_tracked_connections: bool,
    /// Whether to add per-address deny entries to the network ACLs the instance's traffic
    /// crosses (`NETWORK_ACL_DENY`, default true).
    pub network_acl_deny: bool,
    /// Whether to shorten the interfaces' connection-tracking idle timeouts
    /// (`SHORTEN_CONNECTION_TRACKING`, default true).
    pub shorten_connection_tracking: bool,
    /// How long to wait for resources this run just created or changed to become visible.
    pub backoff: Backoff,
}

impl Default for IsolateConfig {
    fn default() -> Self {
        IsolateConfig {
            egress_cidrs: Vec::new(),
            cut_tracked_connections: true,
            network_acl_deny: true,
            shorten_connection_tracking: true,
            backoff: Backoff::EVENTUAL_CONSISTENCY,
        }
    }
}

/// A boolean setting: unset or empty is `default`.
fn flag(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: bool,
) -> Result<bool, TaskError> {
    match get(name).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") => Ok(default),
        Some("true") | Some("1") | Some("yes") => Ok(true),
        Some("false") | Some("0") | Some("no") => Ok(false),
        Some(other) => Err(TaskError::config(format!(
            "{name} is {other:?}; expected true or false"
        ))),
    }
}

impl IsolateConfig {
    /// Reads the configuration from the environment.
    pub fn from_env() -> Result<Self, TaskError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Like [`IsolateConfig::from_env`], reading variables through `get`.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, TaskError> {
        let mut egress_cidrs = Vec::new();
        if let Some(raw) = get("QUARANTINE_EGRESS_CIDRS") {
            for c in raw.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                if !is_cidr(c) {
                    return Err(TaskError::config(format!(
                        "QUARANTINE_EGRESS_CIDRS holds {c:?}; expected CIDRs such as 10.0.9.10/32"
                    )));
                }
                if !egress_cidrs.iter().any(|e| e == c) {
                    egress_cidrs.push(c.to_string());
                }
            }
        }
        Ok(IsolateConfig {
            egress_cidrs,
            cut_tracked_connections: flag(&get, "CUT_TRACKED_CONNECTIONS", true)?,
            network_acl_deny: flag(&get, "NETWORK_ACL_DENY", true)?,
            shorten_connection_tracking: flag(&get, "SHORTEN_CONNECTION_TRACKING", true)?,
            backoff: Backoff::EVENTUAL_CONSISTENCY,
        })
    }
}

/// Whether `s` is an IPv4 or IPv6 CIDR with a prefix length in range.
fn is_cidr(s: &str) -> bool {
    let Some((addr, len)) = s.split_once('/') else {
        return false;
    };
    let Ok(len) = len.parse::<u8>() else {
        return false;
    };
    match addr.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => len <= 32,
        Ok(IpAddr::V6(_)) => len <= 128,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_parsing() {
        assert_eq!(
            IsolateConfig::from_lookup(|_| None).expect("defaults"),
            IsolateConfig::default()
        );
        let c = IsolateConfig::from_lookup(|k| match k {
            "QUARANTINE_EGRESS_CIDRS" => Some(" 10.0.9.10/32, 2001:db8::/64,10.0.9.10/32".into()),
            "CUT_TRACKED_CONNECTIONS" => Some("false".into()),
            "NETWORK_ACL_DENY" => Some("no".into()),
            "SHORTEN_CONNECTION_TRACKING" => Some("0".into()),
            _ => None,
        })
        .expect("valid");
        assert_eq!(c.egress_cidrs, vec!["10.0.9.10/32", "2001:db8::/64"]);
        assert!(!c.cut_tracked_connections);
        assert!(!c.network_acl_deny);
        assert!(!c.shorten_connection_tracking);
        for bad in ["10.0.0.1", "10.0.0.0/33", "host/32", "::/129"] {
            let e = IsolateConfig::from_lookup(|k| {
                (k == "QUARANTINE_EGRESS_CIDRS").then(|| bad.to_string())
            })
            .expect_err(bad);
            assert_eq!(e.name, responder_core::names::CONFIG_INVALID);
        }
        assert!(IsolateConfig::from_lookup(|k| {
            (k == "CUT_TRACKED_CONNECTIONS").then(|| "maybe".to_string())
        })
        .is_err());
    }
}
