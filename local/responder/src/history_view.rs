//! An execution history, readable: the states in order with their inputs, outputs, errors and
//! durations, as an engineer reads it in the Step Functions console. It reads the JSON of
//! `GetExecutionHistory` (events in AWS's shape), so it shows local and AWS histories alike.

use std::fmt::Write;

use serde_json::Value;

/// One state visit reconstructed from the events.
#[derive(Debug, Clone, PartialEq)]
pub struct StateVisit {
    /// The state name.
    pub name: String,
    /// The state type (`Task`, `Choice`, ...), from the event type.
    pub state_type: String,
    /// Entered, in epoch seconds.
    pub entered: f64,
    /// Exited, in epoch seconds, if it did.
    pub exited: Option<f64>,
    /// Effective input (JSON text).
    pub input: Option<String>,
    /// Output (JSON text).
    pub output: Option<String>,
    /// Errors seen while in the state (task failures, retried or not), as `error: cause`.
    pub errors: Vec<(String, String)>,
    /// Number of task attempts scheduled in this state.
    pub attempts: u32,
    /// The visit this one followed (its `...StateEntered` event chains back to it), if any:
    /// the transition the execution took into this state.
    pub from: Option<usize>,
    /// Whether it was entered as the first state of a branch of `from` (a Parallel or Map
    /// state), rather than after `from` was left.
    pub branch_start: bool,
    /// Whether the last outcome seen in it was a failure (a task's, or a Parallel or Map
    /// state's own, which carries no error name), not followed by a success.
    pub failed_last: bool,
}

/// The execution as a whole.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExecutionView {
    /// Final status from the last execution event (`SUCCEEDED`, `FAILED`, ...), or `RUNNING`.
    pub status: String,
    /// Started, epoch seconds.
    pub started: Option<f64>,
    /// Ended, epoch seconds.
    pub ended: Option<f64>,
    /// Execution input.
    pub input: Option<String>,
    /// Execution output.
    pub output: Option<String>,
    /// Execution error and cause.
    pub error: Option<(String, String)>,
    /// State visits in the order they were entered.
    pub states: Vec<StateVisit>,
    /// For each event, in order, the visit it belongs to (`None` before the first state; the
    /// execution's last event belongs to the state it followed).
    pub event_owner: Vec<Option<usize>>,
    /// The visit the execution's `ExecutionFailed` event followed: the state that failed it.
    pub failed_by: Option<usize>,
}

fn details<'a>(e: &'a Value, key: &str) -> Option<&'a Value> {
    e.get(key)
}

fn text(v: Option<&Value>, key: &str) -> Option<String> {
    v.and_then(|d| d.get(key))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Rebuilds the execution from its events.
pub fn reconstruct(events: &[Value]) -> ExecutionView {
    let mut view = ExecutionView {
        status: "RUNNING".into(),
        ..ExecutionView::default()
    };
    // Each event follows another (`previousEventId`); an event belongs to the state whose
    // `...StateEntered` event its chain leads back to. This keeps parallel branches apart.
    let mut owner: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
    let mut branch_starts: std::collections::HashSet<u64> = std::collections::HashSet::new();
    for e in events {
        let ty = e.get("type").and_then(Value::as_str).unwrap_or("");
        let ts = e.get("timestamp").and_then(Value::as_f64).unwrap_or(0.0);
        let id = e.get("id").and_then(Value::as_u64).unwrap_or(0);
        let prev = e
            .get("previousEventId")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let inherited = owner.get(&prev).copied();
        match ty {
            "ExecutionStarted" => {
                view.started = Some(ts);
                view.input = text(details(e, "executionStartedEventDetails"), "input");
            }
            "ExecutionSucceeded" => {
                view.status = "SUCCEEDED".into();
                view.ended = Some(ts);
                view.output = text(details(e, "executionSucceededEventDetails"), "output");
            }
            "ExecutionFailed" | "ExecutionAborted" | "ExecutionTimedOut" => {
                if ty == "ExecutionFailed" {
                    view.failed_by = inherited;
                }
                view.status = match ty {
                    "ExecutionFailed" => "FAILED",
                    "ExecutionAborted" => "ABORTED",
                    _ => "TIMED_OUT",
                }
                .into();
                view.ended = Some(ts);
                let key = format!("{}{}", lower_first(ty), "EventDetails");
                let d = details(e, &key);
                if let Some(err) = text(d, "error") {
                    view.error = Some((err, text(d, "cause").unwrap_or_default()));
                }
            }
            t if t.ends_with("StateEntered") => {
                let d = details(e, "stateEnteredEventDetails");
                view.states.push(StateVisit {
                    name: text(d, "name").unwrap_or_default(),
                    state_type: t.trim_end_matches("StateEntered").to_string(),
                    entered: ts,
                    exited: None,
                    input: text(d, "input"),
                    output: None,
                    errors: Vec::new(),
                    attempts: 0,
                    from: inherited,
                    branch_start: branch_starts.contains(&prev),
                    failed_last: false,
                });
                owner.insert(id, view.states.len() - 1);
                view.event_owner.push(Some(view.states.len() - 1));
                continue;
            }
            t if t.ends_with("StateExited") => {
                let d = details(e, "stateExitedEventDetails");
                let name = text(d, "name").unwrap_or_default();
                let idx = inherited
                    .filter(|i| view.states[*i].name == name)
                    .or_else(|| {
                        view.states
                            .iter()
                            .rposition(|s| s.name == name && s.exited.is_none())
                    });
                if let Some(i) = idx {
                    view.states[i].exited = Some(ts);
                    view.states[i].output = text(d, "output");
                }
            }
            "TaskScheduled" | "LambdaFunctionScheduled" => {
                if let Some(i) = inherited {
                    view.states[i].attempts += 1;
                }
            }
            t if t.ends_with("Failed") || t.ends_with("TimedOut") => {
                let key = format!("{}EventDetails", lower_first(t));
                let d = details(e, &key);
                if let Some(i) = inherited {
                    view.states[i].failed_last = true;
                    if let Some(err) = text(d, "error") {
                        view.states[i]
                            .errors
                            .push((err, text(d, "cause").unwrap_or_default()));
                    }
                }
            }
            t if t.ends_with("Succeeded") => {
                if let Some(i) = inherited {
                    view.states[i].failed_last = false;
                }
            }
            "ParallelStateStarted" | "MapIterationStarted" => {
                branch_starts.insert(id);
            }
            _ => {}
        }
        if let Some(i) = inherited {
            owner.insert(id, i);
        }
        view.event_owner.push(inherited);
    }
    view
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn clip(s: &str, max: usize) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if max == 0 || one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max).collect();
        format!("{cut}... ({} chars)", one_line.chars().count())
    }
}

/// Renders the history; `width` caps inputs and outputs (0: no cap).
pub fn render(title: &str, events: &[Value], width: usize) -> String {
    let view = reconstruct(events);
    let mut out = String::new();
    let total = match (view.started, view.ended) {
        (Some(s), Some(e)) => format!("{:.0} ms", (e - s) * 1000.0),
        _ => "still running".into(),
    };
    let _ = writeln!(out, "Execution {title}");
    let _ = writeln!(out, "Status    {}  ({total})", view.status);
    if let Some(i) = &view.input {
        let _ = writeln!(out, "Input     {}", clip(i, width));
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  #  {:<26} {:<9} {:>9} {:>9}  result",
        "state", "type", "start", "duration"
    );
    let origin = view.started.unwrap_or(0.0);
    for (n, s) in view.states.iter().enumerate() {
        // A Fail state has no exit event: it ends the execution.
        let end = s.exited.or(view.ended.filter(|_| s.state_type == "Fail"));
        let dur = end
            .map(|x| format!("{:.0} ms", (x - s.entered) * 1000.0))
            .unwrap_or_else(|| "...".into());
        let result = if s.state_type == "Fail" && view.ended.is_some() {
            "failed the execution".to_string()
        } else if s.exited.is_none() {
            if s.errors.is_empty() {
                "in progress".to_string()
            } else {
                "failed".to_string()
            }
        } else if s.errors.is_empty() {
            "ok".to_string()
        } else {
            format!("ok after {} error(s)", s.errors.len())
        };
        let attempts = if s.attempts > 1 {
            format!(", {} attempts", s.attempts)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{:>3}  {:<26} {:<9} {:>9} {:>9}  {result}{attempts}",
            n + 1,
            s.name,
            s.state_type,
            format!("+{:.0}ms", (s.entered - origin) * 1000.0),
            dur
        );
        if let Some(i) = &s.input {
            let _ = writeln!(out, "       in:  {}", clip(i, width));
        }
        for (err, cause) in &s.errors {
            let _ = writeln!(out, "       err: {err}: {}", clip(cause, width));
        }
        if let Some(o) = &s.output {
            let _ = writeln!(out, "       out: {}", clip(o, width));
        }
    }
    let _ = writeln!(out);
    match (&view.error, &view.output) {
        (Some((e, c)), _) => {
            let _ = writeln!(out, "Error     {e}");
            let _ = writeln!(out, "Cause     {}", clip(c, width));
        }
        (None, Some(o)) => {
            let _ = writeln!(out, "Output    {}", clip(o, width));
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn events() -> Vec<Value> {
        vec![
            json!({"id":1,"previousEventId":0,"timestamp":100.0,"type":"ExecutionStarted","executionStartedEventDetails":{"input":"{\"a\":1}"}}),
            json!({"id":2,"previousEventId":1,"timestamp":100.0,"type":"TaskStateEntered","stateEnteredEventDetails":{"name":"Isolate","input":"{\"a\":1}"}}),
            json!({"id":3,"previousEventId":2,"timestamp":100.0,"type":"LambdaFunctionScheduled","lambdaFunctionScheduledEventDetails":{"resource":"arn"}}),
            json!({"id":4,"previousEventId":3,"timestamp":100.1,"type":"LambdaFunctionFailed","lambdaFunctionFailedEventDetails":{"error":"Remediation.Throttled","cause":"slow down"}}),
            json!({"id":5,"previousEventId":4,"timestamp":100.3,"type":"LambdaFunctionScheduled","lambdaFunctionScheduledEventDetails":{"resource":"arn"}}),
            json!({"id":6,"previousEventId":5,"timestamp":100.4,"type":"TaskStateExited","stateExitedEventDetails":{"name":"Isolate","output":"{\"ok\":true}"}}),
            json!({"id":7,"previousEventId":6,"timestamp":100.5,"type":"ExecutionSucceeded","executionSucceededEventDetails":{"output":"{\"ok\":true}"}}),
        ]
    }

    #[test]
    fn reconstructs_states_retries_and_outcome() {
        let v = reconstruct(&events());
        assert_eq!(v.status, "SUCCEEDED");
        assert_eq!(v.states.len(), 1);
        let s = &v.states[0];
        assert_eq!(s.name, "Isolate");
        assert_eq!(s.state_type, "Task");
        assert_eq!(s.attempts, 2);
        assert_eq!(
            s.errors,
            vec![("Remediation.Throttled".to_string(), "slow down".to_string())]
        );
        assert_eq!(s.output.as_deref(), Some("{\"ok\":true}"));
    }

    /// Regression: in a Parallel state both branches' tasks are open at once; a task's events
    /// must count for its own state, not for whichever state was entered last.
    #[test]
    fn parallel_branches_keep_their_own_attempts() {
        let events = vec![
            json!({"id":1,"previousEventId":0,"timestamp":1.0,"type":"ExecutionStarted","executionStartedEventDetails":{"input":"{}"}}),
            json!({"id":2,"previousEventId":1,"timestamp":1.0,"type":"TaskStateEntered","stateEnteredEventDetails":{"name":"Snapshot","input":"{}"}}),
            json!({"id":3,"previousEventId":1,"timestamp":1.0,"type":"TaskStateEntered","stateEnteredEventDetails":{"name":"Tag","input":"{}"}}),
            json!({"id":4,"previousEventId":2,"timestamp":1.0,"type":"LambdaFunctionScheduled"}),
            json!({"id":5,"previousEventId":3,"timestamp":1.0,"type":"LambdaFunctionScheduled"}),
            json!({"id":6,"previousEventId":5,"timestamp":1.1,"type":"TaskStateExited","stateExitedEventDetails":{"name":"Tag","output":"{}"}}),
            json!({"id":7,"previousEventId":4,"timestamp":1.2,"type":"TaskStateExited","stateExitedEventDetails":{"name":"Snapshot","output":"{}"}}),
        ];
        let v = reconstruct(&events);
        assert_eq!(v.states[0].name, "Snapshot");
        assert_eq!(v.states[0].attempts, 1);
        assert_eq!(v.states[1].attempts, 1);
        assert_eq!(v.states[0].exited, Some(1.2));
        assert_eq!(v.states[1].exited, Some(1.1));
    }

    #[test]
    fn renders_a_readable_table() {
        let text = render("arn:x", &events(), 80);
        assert!(text.contains("Status    SUCCEEDED  (500 ms)"), "{text}");
        assert!(text.contains("Isolate"));
        assert!(text.contains("ok after 1 error(s), 2 attempts"), "{text}");
        assert!(text.contains("err: Remediation.Throttled: slow down"));
    }
}
