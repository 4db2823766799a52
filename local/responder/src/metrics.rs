//! The metrics CloudWatch would extract from the tasks' logs, tallied locally.
//!
//! The tasks write CloudWatch embedded metric format (EMF) documents to standard output; on AWS
//! CloudWatch Logs turns them into metrics. Locally every task log line passes through a
//! [`MetricsTally`], which reads the same documents the same way: each member of
//! `_aws.CloudWatchMetrics[].Metrics` names a value in the document, its dimensions are the
//! members named in `Dimensions`, and a value is a number or an array of numbers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// One metric with one set of dimension values.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SeriesKey {
    /// The namespace.
    pub namespace: String,
    /// The metric name.
    pub name: String,
    /// Dimension name and value, sorted by name.
    pub dimensions: Vec<(String, String)>,
}

/// Every value of one series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    /// The unit, as written.
    pub unit: Option<String>,
    /// Every value, in arrival order.
    pub values: Vec<f64>,
}

impl Series {
    /// The sum of the values (CloudWatch's `Sum` statistic).
    pub fn sum(&self) -> f64 {
        self.values.iter().sum()
    }

    /// The `p`th percentile (nearest rank), if there is a value.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let mut v = self.values.clone();
        v.sort_by(f64::total_cmp);
        let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
        v.get(rank.min(v.len()).checked_sub(1)?).copied()
    }
}

/// A shared tally of the EMF documents seen in log lines.
#[derive(Debug, Clone, Default)]
pub struct MetricsTally {
    series: Arc<Mutex<BTreeMap<SeriesKey, Series>>>,
}

impl MetricsTally {
    /// An empty tally.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads one log line; lines that are not EMF documents are ignored. Returns how many
    /// values were taken.
    pub fn observe(&self, line: &str) -> usize {
        let line = line.trim();
        if !line.starts_with('{') || !line.contains("\"_aws\"") {
            return 0;
        }
        let Ok(doc) = serde_json::from_str::<Value>(line) else {
            return 0;
        };
        let taken = parse(&doc);
        let n = taken.iter().map(|(_, _, v)| v.len()).sum();
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        for (key, unit, values) in taken {
            let s = series.entry(key).or_default();
            if s.unit.is_none() {
                s.unit = unit;
            }
            s.values.extend(values);
        }
        n
    }

    /// Every series so far.
    pub fn snapshot(&self) -> BTreeMap<SeriesKey, Series> {
        self.series
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The series of one metric, whatever its dimensions.
    pub fn of(&self, name: &str) -> Vec<(SeriesKey, Series)> {
        self.snapshot()
            .into_iter()
            .filter(|(k, _)| k.name == name)
            .collect()
    }

    /// The sum over every series of one metric.
    pub fn total(&self, name: &str) -> f64 {
        self.of(name).iter().map(|(_, s)| s.sum()).sum()
    }

    /// A table: one line per series; counts as sums, timings as count, p50 and max.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (k, s) in self.snapshot() {
            let dims = k
                .dimensions
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join(" ");
            let unit = s.unit.as_deref().unwrap_or("None");
            let figure = if unit == "Count" || unit == "None" {
                format!("{}", s.sum())
            } else {
                format!(
                    "n={} p50={:.0} max={:.0} {}",
                    s.values.len(),
                    s.percentile(50.0).unwrap_or(0.0),
                    s.values.iter().copied().fold(f64::MIN, f64::max),
                    unit.to_lowercase()
                )
            };
            out.push_str(&format!("  {}/{} {dims}: {figure}\n", k.namespace, k.name));
        }
        out
    }
}

/// The values of one EMF document, as CloudWatch reads them.
fn parse(doc: &Value) -> Vec<(SeriesKey, Option<String>, Vec<f64>)> {
    let mut out = Vec::new();
    let Some(directives) = doc
        .pointer("/_aws/CloudWatchMetrics")
        .and_then(Value::as_array)
    else {
        return out;
    };
    for d in directives {
        let namespace = d
            .get("Namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let dimension_sets: Vec<Vec<String>> = d
            .get("Dimensions")
            .and_then(Value::as_array)
            .map(|sets| {
                sets.iter()
                    .filter_map(Value::as_array)
                    .map(|set| {
                        set.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let dimension_sets = if dimension_sets.is_empty() {
            vec![Vec::new()]
        } else {
            dimension_sets
        };
        for m in d
            .get("Metrics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(name) = m.get("Name").and_then(Value::as_str) else {
                continue;
            };
            let values: Vec<f64> = match doc.get(name) {
                Some(Value::Number(n)) => n.as_f64().into_iter().collect(),
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_f64).collect(),
                _ => continue,
            };
            let unit = m.get("Unit").and_then(Value::as_str).map(str::to_string);
            for set in &dimension_sets {
                let mut dimensions: Vec<(String, String)> = set
                    .iter()
                    .filter_map(|n| {
                        doc.get(n)
                            .and_then(Value::as_str)
                            .map(|v| (n.clone(), v.to_string()))
                    })
                    .collect();
                // The specification requires every dimension to be a member of the document.
                if dimensions.len() != set.len() {
                    continue;
                }
                dimensions.sort();
                out.push((
                    SeriesKey {
                        namespace: namespace.to_string(),
                        name: name.to_string(),
                        dimensions,
                    },
                    unit.clone(),
                    values.clone(),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_documents_are_tallied_by_metric_and_dimensions() {
        let t = MetricsTally::new();
        let line = r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"GuardDutyResponder","Dimensions":[["Action","FindingType"]],"Metrics":[{"Name":"RemediationActions","Unit":"Count"}]}]},"Action":"isolate","FindingType":"Backdoor:EC2/C&CActivity.B","RemediationActions":2,"FindingId":"f"}"#;
        assert_eq!(t.observe(line), 1);
        assert_eq!(t.observe(line), 1);
        let timing = r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"GuardDutyResponder","Dimensions":[["Route"]],"Metrics":[{"Name":"TimeToContain","Unit":"Milliseconds"}]}]},"Route":"instance","TimeToContain":[300.0,500.0]}"#;
        assert_eq!(t.observe(timing), 2);
        assert_eq!(t.total("RemediationActions"), 4.0);
        let ttc = t.of("TimeToContain");
        assert_eq!(ttc.len(), 1);
        assert_eq!(
            ttc[0].0.dimensions,
            vec![("Route".to_string(), "instance".to_string())]
        );
        assert_eq!(ttc[0].1.percentile(50.0), Some(300.0));
        assert_eq!(ttc[0].1.unit.as_deref(), Some("Milliseconds"));
        let table = t.render();
        assert!(
            table.contains("RemediationActions Action=isolate"),
            "{table}"
        );
        assert!(
            table.contains("n=2 p50=300 max=500 milliseconds"),
            "{table}"
        );
    }

    #[test]
    fn other_lines_and_incomplete_documents_are_ignored() {
        let t = MetricsTally::new();
        for line in [
            "plain text",
            r#"{"level":"INFO","fields":{"message":"isolate done"}}"#,
            r#"{"_aws": not json"#,
            // A declared dimension without a value: CloudWatch extracts nothing.
            r#"{"_aws":{"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["Task"]],"Metrics":[{"Name":"Failures"}]}]},"Failures":1}"#,
            // A declared metric without a value.
            r#"{"_aws":{"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"Failures"}]}]}}"#,
        ] {
            assert_eq!(t.observe(line), 0, "{line}");
        }
        assert!(t.snapshot().is_empty());
    }
}
