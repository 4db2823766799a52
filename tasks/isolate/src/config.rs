//! The isolate task's configuration, read from the environment once per cold start.

use std::net::IpAddr;

use responder_core::TaskError;

/// How isolation behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsolateConfig {
    /// CIDRs the quarantine group allows outbound traffic to (`QUARANTINE_EGRESS_CIDRS`,
    /// comma-separated; default none), e.g. a forensics host.
    pub egress_cidrs: Vec<String>,
    /// Whether to swap through the untrack group first so tracked connections are cut
    /// (`CUT_TRACKED_CONNECTIONS`, default true).
    pub cut_tracked_connections: bool,
}

impl Default for IsolateConfig {
    fn default() -> Self {
        IsolateConfig {
            egress_cidrs: Vec::new(),
            cut_tracked_connections: true,
        }
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
        let cut_tracked_connections = match get("CUT_TRACKED_CONNECTIONS")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("") | Some("true") | Some("1") | Some("yes") => true,
            Some("false") | Some("0") | Some("no") => false,
            Some(other) => {
                return Err(TaskError::config(format!(
                    "CUT_TRACKED_CONNECTIONS is {other:?}; expected true or false"
                )))
            }
        };
        Ok(IsolateConfig {
            egress_cidrs,
            cut_tracked_connections,
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
            _ => None,
        })
        .expect("valid");
        assert_eq!(c.egress_cidrs, vec!["10.0.9.10/32", "2001:db8::/64"]);
        assert!(!c.cut_tracked_connections);
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
