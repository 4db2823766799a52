//! Runs a conformance corpus (one JSON case per line: definition, input, recorded outcome)
//! through the interpreter and compares the results.
//!
//! ```text
//! cargo run --release -p asl --example conformance -- cases.jsonl [--min-passed N]
//!     [--threshold-file FILE] [--jsonpath-only] [--verbose] [--filter TEXT]
//! ```
//!
//! Prints the pass count per category, then `N passed, M failed` alone on the last line.
//! Exits non-zero when fewer than the threshold pass.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use asl::{
    Engine, EngineConfig, ExecutionStatus, SeededRandom, TaskContext, TaskFailure, TaskHandler,
    VirtualClock,
};
use serde_json::Value;

struct Replay {
    entries: Mutex<Vec<(Value, bool)>>,
    placeholders: Vec<String>,
}

#[async_trait::async_trait]
impl TaskHandler for Replay {
    async fn invoke(
        &self,
        _resource: &str,
        input: Value,
        ctx: TaskContext,
    ) -> Result<Value, TaskFailure> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let candidates: Vec<usize> = entries
            .iter()
            .enumerate()
            .filter(|(_, (e, used))| {
                !used && e.get("state").and_then(Value::as_str) == Some(ctx.state_name.as_str())
            })
            .map(|(i, _)| i)
            .collect();
        let pick = candidates
            .iter()
            .copied()
            .find(|&i| {
                entries[i]
                    .0
                    .get("input")
                    .is_some_and(|exp| matches(exp, &input, &self.placeholders))
            })
            .or_else(|| candidates.first().copied());
        let Some(i) = pick else {
            return Err(TaskFailure::new(
                "Replay.Missing",
                format!("no recorded call for state {}", ctx.state_name),
            ));
        };
        entries[i].1 = true;
        let e = &entries[i].0;
        match e.get("outcome").and_then(Value::as_str) {
            Some("succeeded") => Ok(e.get("output").cloned().unwrap_or(Value::Null)),
            _ => Err(TaskFailure {
                error: e
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("States.Timeout")
                    .to_string(),
                cause: e.get("cause").and_then(Value::as_str).map(String::from),
            }),
        }
    }
}

fn glob(pattern_parts: &[&str], actual: &str) -> bool {
    // pattern_parts are the literal pieces between wildcards.
    let Some((first, rest)) = pattern_parts.split_first() else {
        return actual.is_empty();
    };
    let Some(mut s) = actual.strip_prefix(first) else {
        return false;
    };
    if rest.is_empty() {
        return s.is_empty();
    }
    let (last, middle) = match rest.split_last() {
        Some(x) => x,
        None => return true,
    };
    for m in middle {
        match s.find(m) {
            Some(p) => s = &s[p + m.len()..],
            None => return false,
        }
    }
    s.len() >= last.len() && s.ends_with(last)
}

fn string_matches(exp: &str, act: &str, ph: &[String]) -> bool {
    if exp == act {
        return true;
    }
    // Cut the expected string into literal pieces at every placeholder (longest first).
    let mut sorted: Vec<&String> = ph.iter().filter(|p| !p.is_empty()).collect();
    sorted.sort_by_key(|p| std::cmp::Reverse(p.len()));
    let mut pieces: Vec<String> = vec![String::new()];
    let mut i = 0;
    while i < exp.len() {
        if let Some(p) = sorted.iter().find(|p| exp[i..].starts_with(p.as_str())) {
            pieces.push(String::new());
            i += p.len();
            continue;
        }
        let Some(c) = exp[i..].chars().next() else {
            break;
        };
        if let Some(last) = pieces.last_mut() {
            last.push(c);
        }
        i += c.len_utf8();
    }
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    refs.len() > 1 && glob(&refs, act)
}

fn matches(exp: &Value, act: &Value, ph: &[String]) -> bool {
    match (exp, act) {
        (Value::String(e), _) if ph.iter().any(|p| p == e) => true,
        (Value::String(e), Value::String(a)) => string_matches(e, a, ph),
        (Value::Number(e), Value::Number(a)) => e.as_f64() == a.as_f64(),
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| matches(x, y, ph))
        }
        (Value::Object(e), Value::Object(a)) => {
            e.len() == a.len()
                && e.iter().all(|(k, v)| {
                    if ph.iter().any(|p| p == "timestamp") && k.to_lowercase().contains("timestamp")
                    {
                        return a.contains_key(k);
                    }
                    a.get(k).is_some_and(|av| matches(v, av, ph))
                })
        }
        _ => exp == act,
    }
}

fn cause_matches(exp: &str, act: &str, ph: &[String], reformatted: bool) -> bool {
    if let (Ok(e), Ok(a)) = (
        serde_json::from_str::<Value>(exp),
        serde_json::from_str::<Value>(act),
    ) {
        if e.is_object() || reformatted {
            return matches(&e, &a, ph);
        }
    }
    string_matches(exp, act, ph)
}

struct Outcome {
    ok: bool,
    why: String,
}

async fn run_case(case: &Value) -> Outcome {
    let fail = |why: String| Outcome { ok: false, why };
    let ph: Vec<String> = case
        .get("placeholders")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let definition = case
        .get("definition")
        .cloned()
        .unwrap_or(Value::Null)
        .to_string();
    let input = case
        .get("input")
        .cloned()
        .unwrap_or(Value::Null)
        .to_string();
    let entries = case
        .get("task_results")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|e| (e.clone(), false)).collect())
        .unwrap_or_default();
    let handler = Arc::new(Replay {
        entries: Mutex::new(entries),
        placeholders: ph.clone(),
    });
    let engine = Engine::new(EngineConfig {
        clock: Arc::new(VirtualClock::new()),
        random: Arc::new(SeededRandom::new(7)),
        ..EngineConfig::default()
    });
    let sm = match engine.create_state_machine(
        "conformance",
        &definition,
        "arn:aws:iam::123456789012:role/conformance",
    ) {
        Ok(sm) => sm,
        Err(e) => return fail(format!("definition refused: {e}")),
    };
    let started = match engine.start_execution(&sm.state_machine_arn, Some("case"), &input, handler)
    {
        Ok(s) => s,
        Err(e) => return fail(format!("start refused: {e}")),
    };
    let done = match tokio::time::timeout(
        std::time::Duration::from_secs(20),
        engine.wait_for_execution(&started.execution_arn),
    )
    .await
    {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => return fail(format!("wait failed: {e}")),
        Err(_) => return fail("execution did not finish within 20 s".into()),
    };
    let exp = &case["expected"];
    let exp_status = exp.get("status").and_then(Value::as_str).unwrap_or("");
    if done.status.as_str() != exp_status {
        return fail(format!(
            "status {} (error {:?}, cause {:?}, output {:?}), expected {exp_status}",
            done.status.as_str(),
            done.error,
            done.cause,
            done.output
        ));
    }
    if done.status == ExecutionStatus::Succeeded {
        let out = done.output_json().unwrap_or(Value::Null);
        if let Some(e) = exp.get("output") {
            if !matches(e, &out, &ph) {
                return fail(format!("output {out}, expected {e}"));
            }
        }
    } else {
        let e_err = exp.get("error").and_then(Value::as_str);
        if e_err.is_some() || done.error.is_some() {
            let ok = match (e_err, done.error.as_deref()) {
                (Some(e), Some(a)) => string_matches(e, a, &ph),
                _ => false,
            };
            if !ok {
                return fail(format!("error {:?}, expected {e_err:?}", done.error));
            }
        }
        let e_cause = exp.get("cause").and_then(Value::as_str);
        let reformatted = exp
            .get("cause_reformatted")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if e_cause.is_some() || done.cause.is_some() {
            let ok = match (e_cause, done.cause.as_deref()) {
                (Some(e), Some(a)) => cause_matches(e, a, &ph, reformatted),
                _ => false,
            };
            if !ok {
                return fail(format!("cause {:?}, expected {e_cause:?}", done.cause));
            }
        }
    }
    if let Some(states) = exp.get("states").and_then(Value::as_array) {
        let history = engine
            .get_execution_history(&started.execution_arn)
            .unwrap_or_default();
        let actual: Vec<Value> = history
            .iter()
            .filter(|e| {
                e.event_type.ends_with("StateEntered") || e.event_type.ends_with("StateExited")
            })
            .map(|e| {
                let name = match &e.details {
                    Some(asl::EventDetails::StateEnteredEventDetails(d)) => d.name.clone(),
                    Some(asl::EventDetails::StateExitedEventDetails(d)) => d.name.clone(),
                    _ => String::new(),
                };
                serde_json::json!([e.event_type, name])
            })
            .collect();
        if &actual != states {
            return fail(format!(
                "states {}, expected {}",
                Value::Array(actual),
                Value::Array(states.clone())
            ));
        }
    }
    Outcome {
        ok: true,
        why: String::new(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut file = None;
    let mut min_passed: Option<usize> = None;
    let mut jsonpath_only = false;
    let mut verbose = false;
    let mut filter: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--min-passed" => min_passed = it.next().and_then(|v| v.trim().parse().ok()),
            "--threshold-file" => {
                min_passed = it
                    .next()
                    .and_then(|f| std::fs::read_to_string(f).ok())
                    .and_then(|s| s.trim().parse().ok())
            }
            "--jsonpath-only" => jsonpath_only = true,
            "--verbose" | "-v" => verbose = true,
            "--filter" => filter = it.next().cloned(),
            other => file = Some(other.to_string()),
        }
    }
    let Some(file) = file else {
        eprintln!("usage: conformance <cases.jsonl> [--min-passed N] [--threshold-file F] [--jsonpath-only] [--verbose] [--filter TEXT]");
        std::process::exit(2);
    };
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {file}: {e}");
            std::process::exit(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start tokio: {e}");
            std::process::exit(2);
        }
    };
    let mut per_cat: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let (mut passed, mut failed) = (0usize, 0usize);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(case) = serde_json::from_str::<Value>(line) else {
            failed += 1;
            continue;
        };
        if jsonpath_only && case.get("query_language").and_then(Value::as_str) != Some("JSONPath") {
            continue;
        }
        let id = case
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        if let Some(f) = &filter {
            if !id.contains(f.as_str()) {
                continue;
            }
        }
        let cat = case
            .get("category")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let out = rt.block_on(run_case(&case));
        let e = per_cat.entry(cat.clone()).or_default();
        if out.ok {
            passed += 1;
            e.0 += 1;
        } else {
            failed += 1;
            e.1 += 1;
            if verbose {
                println!("FAIL [{cat}] {id}\n     {}", out.why);
            }
        }
    }
    for (cat, (p, f)) in &per_cat {
        println!("{cat:>14}: {p:>4} passed, {f:>4} failed");
    }
    println!("{passed} passed, {failed} failed");
    if let Some(min) = min_passed {
        if passed < min {
            eprintln!("fewer than {min} cases passed");
            std::process::exit(1);
        }
    }
}
