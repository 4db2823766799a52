//! One event through `remediate-finding`, and what happened, as the CLI reports it.

use std::time::Duration;

use anyhow::Result;
use asl::{Engine, ExecutionStatus};
use serde::Serialize;
use serde_json::{json, Value};

use crate::runtime::LocalRuntime;

/// What one event led to.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunSummary {
    /// The file (or label) the event came from.
    pub source: String,
    /// `detail.id`, or null when the event has none.
    pub finding_id: Option<String>,
    /// The finding type, when known.
    pub finding_type: Option<String>,
    /// The execution, when one was started.
    pub execution_arn: Option<String>,
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`, `RUNNING` or `WAITING_FOR_APPROVAL`.
    pub status: String,
    /// The severity tier, when classified.
    pub tier: Option<String>,
    /// The route, when classified.
    pub route: Option<String>,
    /// The disposition, when classified.
    pub disposition: Option<String>,
    /// How the execution ended: `contained`, `skipped`, `recorded`, `approval-rejected`,
    /// `approval-timed-out`, `rejected-event`, `failed`, or `waiting-for-approval`.
    pub outcome: String,
    /// Why, when skipped or recorded.
    pub reasons: Vec<String>,
    /// Every action the tasks report, flattened: `task`, `action`, `target`, `outcome`, `detail`.
    pub actions: Vec<Value>,
    /// Evidence ids by task.
    pub evidence: Value,
    /// From the start of the execution to the end of isolation or revocation.
    pub time_to_contain_ms: Option<u64>,
    /// Execution error.
    pub error: Option<String>,
    /// Execution cause.
    pub cause: Option<String>,
}

/// Terminal states of `remediate-finding` and the outcome each stands for.
const TERMINALS: &[(&str, &str)] = &[
    ("Contained", "contained"),
    ("ContainedWithoutEvidence", "contained-evidence-incomplete"),
    ("ContainedIncompletely", "partially-contained"),
    ("SequenceContainedIncompletely", "partially-contained"),
    ("ContainmentFailed", "failed"),
    ("Skipped", "skipped"),
    ("Recorded", "recorded"),
    ("ApprovalRejected", "approval-rejected"),
    ("ApprovalTimedOut", "approval-timed-out"),
    ("EventRejected", "rejected-event"),
    ("RemediationFailed", "failed"),
    ("NotificationFailed", "notification-failed"),
];

impl RunSummary {
    fn rejected(source: &str, error: &str, cause: String) -> Self {
        RunSummary {
            source: source.to_string(),
            finding_id: None,
            finding_type: None,
            execution_arn: None,
            status: "FAILED".into(),
            tier: None,
            route: None,
            disposition: None,
            outcome: "rejected-event".into(),
            reasons: Vec::new(),
            actions: Vec::new(),
            evidence: json!({}),
            time_to_contain_ms: None,
            error: Some(error.to_string()),
            cause: Some(cause),
        }
    }
}

/// Starts `remediate-finding` for an event text and waits until it ends or waits for an
/// analyst. `name` is the execution name (AWS's rules apply).
pub async fn run_event(
    rt: &LocalRuntime,
    source: &str,
    event_text: &str,
    name: Option<&str>,
) -> Result<RunSummary> {
    let event: Value = match serde_json::from_str(event_text) {
        Ok(v) => v,
        Err(e) => {
            // Step Functions refuses input that is not JSON before any state runs.
            return Ok(RunSummary::rejected(
                source,
                "Finding.Invalid",
                format!("event is not JSON: {e}"),
            ));
        }
    };
    let finding_id = event
        .pointer("/detail/id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let arn = match rt.start_execution("remediate-finding", name, event_text) {
        Ok(a) => a,
        Err(e) => {
            let mut s = RunSummary::rejected(source, "InvalidExecutionInput", e.to_string());
            s.finding_id = finding_id;
            return Ok(s);
        }
    };
    wait_settled(rt, &arn).await?;
    summarize(rt, source, &arn, finding_id)
}

/// Waits until the execution has finished or is parked waiting for a task token.
pub async fn wait_settled(rt: &LocalRuntime, arn: &str) -> Result<()> {
    loop {
        let d = rt
            .engine
            .describe_execution(arn)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if d.status != ExecutionStatus::Running || waiting_for_token(rt, arn)? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether the execution is parked in a `.waitForTaskToken` state whose call has returned.
pub fn waiting_for_token(rt: &LocalRuntime, arn: &str) -> Result<bool> {
    waiting_on(&rt.engine, arn)
}

/// [`waiting_for_token`] on an engine.
pub fn waiting_on(engine: &Engine, arn: &str) -> Result<bool> {
    Ok(waits_for_token(&history_on(engine, arn)?))
}

/// Whether a history ends parked in a `.waitForTaskToken` state whose call has returned.
fn waits_for_token(events: &[Value]) -> bool {
    events
        .last()
        .and_then(|e| e.get("type"))
        .and_then(Value::as_str)
        == Some("TaskSubmitted")
}

/// The history as AWS-shaped JSON values.
pub fn history_values(rt: &LocalRuntime, arn: &str) -> Result<Vec<Value>> {
    history_on(&rt.engine, arn)
}

/// [`history_values`] on an engine.
pub fn history_on(engine: &Engine, arn: &str) -> Result<Vec<Value>> {
    let events = engine
        .get_execution_history(arn)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
        .collect())
}

/// Builds the summary of an execution from its description and history.
pub fn summarize(
    rt: &LocalRuntime,
    source: &str,
    arn: &str,
    finding_id: Option<String>,
) -> Result<RunSummary> {
    summarize_on(&rt.engine, source, arn, finding_id)
}

/// [`summarize`] on an engine.
pub fn summarize_on(
    engine: &Engine,
    source: &str,
    arn: &str,
    finding_id: Option<String>,
) -> Result<RunSummary> {
    let d = engine
        .describe_execution(arn)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let events = history_on(engine, arn)?;
    let view = crate::history_view::reconstruct(&events);
    Ok(summary_of(&d, &events, &view, source, finding_id))
}

/// [`summarize`] from what was read already: the description, the history and its
/// reconstruction (the console reads them for its own views too).
pub fn summary_of(
    d: &asl::ExecutionDescription,
    events: &[Value],
    view: &crate::history_view::ExecutionView,
    source: &str,
    finding_id: Option<String>,
) -> RunSummary {
    let arn = d.execution_arn.as_str();
    let waiting = d.status == ExecutionStatus::Running && waits_for_token(events);
    let status = if waiting {
        "WAITING_FOR_APPROVAL".to_string()
    } else {
        d.status.as_str().to_string()
    };
    // The richest document: the input of the last state that saw the finding.
    let doc: Value = view
        .states
        .iter()
        .rev()
        .filter_map(|s| s.input.as_deref())
        .filter_map(|i| serde_json::from_str::<Value>(i).ok())
        .find(|v| v.get("decision").is_some())
        .unwrap_or(Value::Null);
    let last_state = view.states.last().map(|s| s.name.as_str()).unwrap_or("");
    let outcome = if waiting {
        "waiting-for-approval".to_string()
    } else {
        TERMINALS
            .iter()
            .find(|(state, _)| *state == last_state)
            .map(|(_, o)| o.to_string())
            .unwrap_or_else(|| d.status.as_str().to_ascii_lowercase())
    };
    let s = |p: &str| doc.pointer(p).and_then(Value::as_str).map(str::to_string);
    let mut reasons: Vec<String> = doc
        .pointer("/decision/reasons")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if let Some(r) = s("/results/exemption/reason") {
        if outcome == "skipped" {
            reasons.push(r);
        }
    }
    let mut actions = Vec::new();
    let mut evidence = serde_json::Map::new();
    let mut reports: Vec<&Value> = Vec::new();
    if let Some(results) = doc.get("results").and_then(Value::as_object) {
        reports.extend(results.values().filter(|v| v.is_object()));
        // An attack sequence's plan: the reports of each item.
        for item in results
            .get("sequence")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(r) = item.get("results").and_then(Value::as_object) {
                reports.extend(r.values());
            }
        }
    }
    if let Some(ev) = doc.get("evidence").and_then(Value::as_object) {
        reports.extend(ev.values());
    }
    // The instance route's parallel containment: isolate, snapshot, tag (and secure).
    if let Some(c) = doc.get("containment").and_then(Value::as_object) {
        reports.extend(c.values().filter(|v| v.is_object()));
    }
    for r in reports {
        let task = r
            .get("task")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if let Some(list) = r.get("actions").and_then(Value::as_array) {
            for a in list {
                actions.push(json!({
                    "task": task,
                    "action": a.get("action"),
                    "target": a.get("target"),
                    "outcome": a.get("outcome"),
                    "detail": a.get("detail"),
                }));
            }
        }
        if let Some(e) = r
            .get("evidence")
            .filter(|e| e.as_object().is_some_and(|o| !o.is_empty()))
        {
            evidence.insert(task.clone(), e.clone());
        }
        if let Some(err) = r.get("error") {
            actions.push(json!({ "task": task, "action": "failed", "outcome": "failed", "detail": err, "cause": r.get("cause") }));
        }
    }
    let time_to_contain_ms = view
        .states
        .iter()
        .find(|st| (st.name == "Isolate" || st.name == "Revoke") && st.exited.is_some())
        .and_then(|st| Some(((st.exited? - view.started?) * 1000.0).max(0.0) as u64));
    RunSummary {
        source: source.to_string(),
        finding_id: finding_id.or_else(|| s("/finding/id")),
        finding_type: s("/finding/type"),
        execution_arn: Some(arn.to_string()),
        status,
        tier: s("/decision/tier"),
        route: s("/decision/route"),
        disposition: s("/decision/disposition"),
        outcome,
        reasons,
        actions,
        evidence: Value::Object(evidence),
        time_to_contain_ms,
        error: d.error.clone(),
        cause: d.cause.clone(),
    }
}

/// The human-readable block for one summary.
pub fn render(s: &RunSummary) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}  {}  {}",
        s.source,
        s.finding_id.as_deref().unwrap_or("(no finding id)"),
        s.finding_type.as_deref().unwrap_or("")
    );
    let _ = writeln!(
        out,
        "  status {}  outcome {}  tier {}  route {}{}",
        s.status,
        s.outcome,
        s.tier.as_deref().unwrap_or("-"),
        s.route.as_deref().unwrap_or("-"),
        s.time_to_contain_ms
            .map(|t| format!("  contained in {t} ms"))
            .unwrap_or_default()
    );
    for r in &s.reasons {
        let _ = writeln!(out, "  why: {r}");
    }
    for a in &s.actions {
        let get = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or("");
        let _ = writeln!(
            out,
            "  - [{}] {} {} {}: {}",
            get("task"),
            get("outcome"),
            get("action"),
            get("target"),
            get("detail")
        );
    }
    if let Some(e) = &s.error {
        let _ = writeln!(out, "  error: {e}");
        if let Some(c) = &s.cause {
            let short: String = c.chars().take(300).collect();
            let _ = writeln!(out, "  cause: {short}");
        }
    }
    if let Some(a) = &s.execution_arn {
        let _ = writeln!(out, "  execution: {a}");
    }
    out
}
