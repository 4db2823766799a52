//! Data-driven tests: every `tests/cases/*.json` file holds a definition, an input, scripted
//! task outcomes and the expected result (status, output, error, cause, event types), or the
//! validation diagnostics an invalid definition must produce.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use asl::{
    Engine, EngineConfig, SeededRandom, StateMachine, TaskContext, TaskFailure, TaskHandler,
    VirtualClock,
};
use serde_json::{json, Value};

/// Replays scripted outcomes per resource, in order; echoes the input once they run out.
struct Scripted {
    script: Mutex<HashMap<String, Vec<Value>>>,
}

#[async_trait::async_trait]
impl TaskHandler for Scripted {
    async fn invoke(
        &self,
        resource: &str,
        input: Value,
        _ctx: TaskContext,
    ) -> Result<Value, TaskFailure> {
        let mut s = self.script.lock().unwrap_or_else(|e| e.into_inner());
        let next = s.get_mut(resource).and_then(|v| {
            if v.is_empty() {
                None
            } else {
                Some(v.remove(0))
            }
        });
        match next {
            Some(o) if o.get("error").is_some() => Err(TaskFailure {
                error: o["error"].as_str().unwrap_or("Error").to_string(),
                cause: o.get("cause").and_then(Value::as_str).map(String::from),
            }),
            Some(o) => Ok(o.get("result").cloned().unwrap_or(Value::Null)),
            None => Ok(input),
        }
    }
}

async fn run_file(path: &std::path::Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let case: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let definition = case["definition"].to_string();
    let expected = &case["expected"];

    if let Some(diags) = expected.get("invalid").and_then(Value::as_array) {
        let err = match StateMachine::parse(&definition) {
            Ok(_) => return Err("definition was accepted but should be refused".into()),
            Err(e) => e,
        };
        for d in diags {
            let loc = d["location"].as_str().unwrap_or("");
            let code = d["code"].as_str().unwrap_or("");
            if !err
                .diagnostics
                .iter()
                .any(|x| x.location == loc && x.code.as_str() == code)
            {
                return Err(format!("missing diagnostic {code} at {loc}; got {err}"));
            }
        }
        return Ok(());
    }

    let script: HashMap<String, Vec<Value>> = case
        .get("tasks")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_array().cloned().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let clock = VirtualClock::new();
    let engine = Engine::new(EngineConfig {
        clock: Arc::new(clock.clone()),
        random: Arc::new(SeededRandom::new(1)),
        ..EngineConfig::default()
    });
    let start = asl::Clock::now(&clock);
    let input = case.get("input").cloned().unwrap_or(json!({})).to_string();
    let handler = Arc::new(Scripted {
        script: Mutex::new(script),
    });
    let sm = engine
        .create_state_machine("case", &definition, "arn:aws:iam::123456789012:role/test")
        .map_err(|e| e.to_string())?;
    let started = engine
        .start_execution(&sm.state_machine_arn, Some("exec"), &input, handler)
        .map_err(|e| e.to_string())?;
    let done = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        engine.wait_for_execution(&started.execution_arn),
    )
    .await
    .map_err(|_| "execution did not finish".to_string())?
    .map_err(|e| e.to_string())?;
    if let Some(s) = expected.get("status").and_then(Value::as_str) {
        if done.status.as_str() != s {
            return Err(format!(
                "status {} (error {:?}, cause {:?}), expected {s}",
                done.status.as_str(),
                done.error,
                done.cause
            ));
        }
    }
    if let Some(o) = expected.get("output") {
        let got = done.output_json().unwrap_or(Value::Null);
        if &got != o {
            return Err(format!("output {got}, expected {o}"));
        }
    }
    for (k, got) in [("error", &done.error), ("cause", &done.cause)] {
        if let Some(e) = expected.get(k) {
            if got.as_deref() != e.as_str() {
                return Err(format!("{k} {got:?}, expected {e}"));
            }
        }
    }
    if let Some(e) = expected.get("virtual_seconds").and_then(Value::as_i64) {
        let elapsed = (asl::Clock::now(&clock) - start).num_seconds();
        if elapsed != e {
            return Err(format!("virtual time advanced {elapsed} s, expected {e}"));
        }
    }
    if let Some(events) = expected.get("events").and_then(Value::as_array) {
        let history = engine
            .get_execution_history(&started.execution_arn)
            .map_err(|e| e.to_string())?;
        let got: Vec<Value> = history
            .iter()
            .map(|e| Value::String(e.event_type.clone()))
            .collect();
        if &got != events {
            return Err(format!(
                "events {}, expected {}",
                Value::Array(got),
                Value::Array(events.clone())
            ));
        }
    }
    Ok(())
}

#[tokio::test]
async fn data_driven_cases() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    assert!(!files.is_empty(), "no cases in {}", dir.display());
    let mut failures = Vec::new();
    for f in &files {
        if let Err(e) = run_file(f).await {
            failures.push(format!(
                "{}: {e}",
                f.file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
