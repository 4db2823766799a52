//! What a finding says about the activity itself: whether the affected resource was its target
//! or its actor (`service.resourceRole`), and which of the instance's own ports it touched.
//!
//! GuardDuty's finding details: "Resource role can be `Target`, meaning the resource was the
//! target of suspicious activity. For instance type findings, resource role can also be `Actor`,
//! which means that your resource was the actor carrying out suspicious activity." Runtime
//! Monitoring and Malware Protection for S3 findings leave it out, so an absent role is normal
//! and means "unknown", never "target".
//! (<https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_findings-summary.html>)

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{number, text};

/// The affected resource's part in the activity, as GuardDuty reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResourceRole {
    /// The resource was the target of the activity (someone probed or attacked it).
    Target,
    /// The resource carried the activity out (it attacked or contacted others).
    Actor,
}

impl ResourceRole {
    /// Reads a role as GuardDuty writes it (`TARGET`, `ACTOR`), in any letter case. Any other
    /// value is no role at all: an unknown word must not be read as either part.
    pub fn parse(v: Option<&Value>) -> Option<Self> {
        match text(v)?.to_ascii_uppercase().as_str() {
            "TARGET" => Some(ResourceRole::Target),
            "ACTOR" => Some(ResourceRole::Actor),
            _ => None,
        }
    }

    /// The role as GuardDuty writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceRole::Target => "TARGET",
            ResourceRole::Actor => "ACTOR",
        }
    }
}

/// The instance's own ports named by GuardDuty's `service.action`: every probed port of a
/// `PORT_PROBE`, and the local port of an `INBOUND` `NETWORK_CONNECTION` (an outbound
/// connection's local port is an ephemeral one and says nothing about what to close).
/// Sorted, without duplicates.
pub(super) fn local_ports(action: Option<&Value>) -> Vec<u16> {
    let probes = action
        .and_then(|a| a.get("portProbeAction"))
        .and_then(|p| p.get("portProbeDetails"));
    let connection = action.and_then(|a| a.get("networkConnectionAction"));
    ports(
        probes,
        "localPortDetails",
        connection,
        "connectionDirection",
        "port",
    )
}

/// [`local_ports`] for the ASFF `Action` object, whose keys are capitalised
/// (`PortProbeAction.PortProbeDetails[].LocalPortDetails.Port`).
pub(super) fn asff_local_ports(action: Option<&Value>) -> Vec<u16> {
    let probes = action
        .and_then(|a| a.get("PortProbeAction"))
        .and_then(|p| p.get("PortProbeDetails"));
    let connection = action.and_then(|a| a.get("NetworkConnectionAction"));
    ports(
        probes,
        "LocalPortDetails",
        connection,
        "ConnectionDirection",
        "Port",
    )
}

fn ports(
    probes: Option<&Value>,
    local_key: &str,
    connection: Option<&Value>,
    direction_key: &str,
    port_key: &str,
) -> Vec<u16> {
    let port = |details: Option<&Value>| {
        details
            .and_then(|d| d.get(port_key))
            .and_then(number)
            .filter(|p| p.fract() == 0.0 && (1.0..=65535.0).contains(p))
            .map(|p| p as u16)
    };
    let mut out: Vec<u16> = probes
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(|d| port(d.get(local_key))).collect())
        .unwrap_or_default();
    if let Some(c) = connection {
        let inbound = text(c.get(direction_key)).is_some_and(|d| d.eq_ignore_ascii_case("INBOUND"));
        if inbound {
            out.extend(port(c.get(local_key)));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn roles_are_read_in_any_case_and_nothing_else_is_a_role() {
        for (v, want) in [
            (json!("TARGET"), Some(ResourceRole::Target)),
            (json!("Target"), Some(ResourceRole::Target)),
            (json!(" actor "), Some(ResourceRole::Actor)),
            (json!("OBSERVER"), None),
            (json!(""), None),
            (json!(null), None),
            (json!(1), None),
        ] {
            assert_eq!(ResourceRole::parse(Some(&v)), want, "{v}");
        }
        assert_eq!(ResourceRole::parse(None), None);
        assert_eq!(
            serde_json::to_value(ResourceRole::Target).expect("json"),
            "TARGET"
        );
    }

    #[test]
    fn ports_come_from_probes_and_inbound_connections_only() {
        let probe = json!({"actionType": "PORT_PROBE", "portProbeAction": {"portProbeDetails": [
            {"localPortDetails": {"port": 9200, "portName": "Elasticsearch"}},
            {"localPortDetails": {"port": "22"}},
            {"localPortDetails": {"port": 9200}},
            {"localPortDetails": {"port": 70000}},
            {"localPortDetails": {}},
        ]}});
        assert_eq!(local_ports(Some(&probe)), vec![22, 9200]);
        let inbound = json!({"networkConnectionAction": {"connectionDirection": "INBOUND",
            "localPortDetails": {"port": 3389}, "remotePortDetails": {"port": 50123}}});
        assert_eq!(local_ports(Some(&inbound)), vec![3389]);
        let outbound = json!({"networkConnectionAction": {"connectionDirection": "OUTBOUND",
            "localPortDetails": {"port": 50123}, "remotePortDetails": {"port": 22}}});
        assert!(local_ports(Some(&outbound)).is_empty());
        assert!(local_ports(None).is_empty());
        let asff = json!({"ActionType": "PORT_PROBE", "PortProbeAction": {"PortProbeDetails": [
            {"LocalPortDetails": {"Port": 8088, "PortName": "YARN"}}]}});
        assert_eq!(asff_local_ports(Some(&asff)), vec![8088]);
    }
}
