//! Engine behaviour: virtual time, task tokens, stop, history shape, concurrency.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use asl::{
    Clock, Engine, EngineConfig, EngineError, ExecutionStatus, SeededRandom, TaskContext,
    TaskFailure, TaskHandler, TokenError, VirtualClock,
};
use serde_json::{json, Value};
use tokio::sync::mpsc;

const ROLE: &str = "arn:aws:iam::123456789012:role/test";

fn engine(clock: &VirtualClock) -> Engine {
    Engine::new(EngineConfig {
        clock: Arc::new(clock.clone()),
        random: Arc::new(SeededRandom::new(42)),
        ..EngineConfig::default()
    })
}

/// Echoes the input; reports each call (resource, token) on a channel.
struct Recorder {
    tx: mpsc::UnboundedSender<(String, Option<String>)>,
}

#[async_trait::async_trait]
impl TaskHandler for Recorder {
    async fn invoke(
        &self,
        resource: &str,
        input: Value,
        ctx: TaskContext,
    ) -> Result<Value, TaskFailure> {
        let _ = self.tx.send((resource.to_string(), ctx.task_token.clone()));
        Ok(json!({ "submitted": input }))
    }
}

fn recorder() -> (
    Arc<Recorder>,
    mpsc::UnboundedReceiver<(String, Option<String>)>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Arc::new(Recorder { tx }), rx)
}

const APPROVAL: &str = r#"{
  "StartAt": "Approve",
  "States": {
    "Approve": {
      "Type": "Task",
      "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
      "Parameters": {"Message": {"token.$": "$$.Task.Token", "who.$": "$.who"}},
      "TimeoutSeconds": 3600,
      "HeartbeatSeconds": 600,
      "Catch": [{"ErrorEquals": ["Rejected"], "ResultPath": "$.rejection", "Next": "Rejected"}],
      "ResultPath": "$.approval",
      "End": true
    },
    "Rejected": {"Type": "Pass", "End": true}
  }
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hour_wait_finishes_instantly() {
    let clock = VirtualClock::new();
    let e = engine(&clock);
    let t0 = clock.now();
    let real = Instant::now();
    let (h, _rx) = recorder();
    let d = e
        .run_definition(
            r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}"#,
            "{}",
            h,
        )
        .await
        .expect("runs");
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!((clock.now() - t0).num_seconds(), 3600);
    assert!(real.elapsed() < Duration::from_secs(2));
    assert_eq!(
        d.stop_date.map(|s| (s - d.start_date).num_seconds()),
        Some(3600)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_success() {
    let clock = VirtualClock::new();
    let e = engine(&clock);
    let sm = e
        .create_state_machine("approval", APPROVAL, ROLE)
        .expect("valid");
    let (h, mut rx) = recorder();
    // Keep virtual time still while this test acts.
    let hold = clock.hold();
    let started = e
        .start_execution(&sm.state_machine_arn, Some("ok"), r#"{"who":"ann"}"#, h)
        .expect("starts");
    let (resource, token) = rx.recv().await.expect("handler called");
    assert_eq!(resource, "arn:aws:states:::sns:publish.waitForTaskToken");
    let token = token.expect("a token");
    assert_eq!(e.send_task_heartbeat(&token), Ok(()));
    assert_eq!(e.send_task_success(&token, r#"{"approved":true}"#), Ok(()));
    drop(hold);
    let d = e
        .wait_for_execution(&started.execution_arn)
        .await
        .expect("exists");
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(
        d.output_json(),
        Some(json!({"who": "ann", "approval": {"approved": true}}))
    );
    // The token is spent now.
    assert_eq!(
        e.send_task_success(&token, "{}"),
        Err(TokenError::TaskTimedOut)
    );
    let types: Vec<String> = e
        .get_execution_history(&started.execution_arn)
        .expect("history")
        .into_iter()
        .map(|ev| ev.event_type)
        .collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_failure_is_caught() {
    let clock = VirtualClock::new();
    let e = engine(&clock);
    let sm = e
        .create_state_machine("approval", APPROVAL, ROLE)
        .expect("valid");
    let (h, mut rx) = recorder();
    let hold = clock.hold();
    let started = e
        .start_execution(&sm.state_machine_arn, None, r#"{"who":"bob"}"#, h)
        .expect("starts");
    let (_, token) = rx.recv().await.expect("handler called");
    let token = token.expect("a token");
    assert_eq!(
        e.send_task_failure(&token, Some("Rejected"), Some("no way")),
        Ok(())
    );
    drop(hold);
    let d = e
        .wait_for_execution(&started.execution_arn)
        .await
        .expect("exists");
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(
        d.output_json(),
        Some(json!({"who": "bob", "rejection": {"Error": "Rejected", "Cause": "no way"}}))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_heartbeat_timeout_and_token_errors() {
    let clock = VirtualClock::new();
    let e = engine(&clock);
    let sm = e
        .create_state_machine("approval", APPROVAL, ROLE)
        .expect("valid");
    let (h, mut rx) = recorder();
    let t0 = clock.now();
    let started = e
        .start_execution(&sm.state_machine_arn, None, r#"{"who":"cy"}"#, h)
        .expect("starts");
    let (_, token) = rx.recv().await.expect("handler called");
    let token = token.expect("a token");
    let d = e
        .wait_for_execution(&started.execution_arn)
        .await
        .expect("exists");
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(d.error.as_deref(), Some("States.HeartbeatTimeout"));
    assert_eq!((clock.now() - t0).num_seconds(), 600);
    assert_eq!(
        e.send_task_success(&token, "{}"),
        Err(TokenError::TaskTimedOut)
    );
    assert_eq!(e.send_task_heartbeat(&token), Err(TokenError::TaskTimedOut));
    let unknown = format!("AQB{}", "0".repeat(64));
    assert_eq!(
        e.send_task_success(&unknown, "{}"),
        Err(TokenError::TaskDoesNotExist)
    );
    assert_eq!(
        e.send_task_failure("garbage", None, None),
        Err(TokenError::InvalidToken)
    );
    assert_eq!(TokenError::TaskDoesNotExist.code(), "TaskDoesNotExist");
    assert!(matches!(
        e.send_task_success(&token, "not json"),
        Err(TokenError::InvalidOutput(_))
    ));
    let history = e
        .get_execution_history(&started.execution_arn)
        .expect("history");
    let timed_out = history
        .iter()
        .find(|ev| ev.event_type == "TaskTimedOut")
        .expect("a TaskTimedOut event");
    let j = serde_json::to_value(timed_out).expect("serializes");
    assert_eq!(
        j["taskTimedOutEventDetails"]["error"],
        "States.HeartbeatTimeout"
    );
    assert_eq!(j["taskTimedOutEventDetails"]["resourceType"], "sns");
    assert_eq!(
        j["taskTimedOutEventDetails"]["resource"],
        "publish.waitForTaskToken"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_overall_timeout() {
    let clock = VirtualClock::new();
    let e = engine(&clock);
    let def = APPROVAL.replace("\"HeartbeatSeconds\": 600,", "");
    let (h, _rx) = recorder();
    let t0 = clock.now();
    let d = e
        .run_definition(&def, r#"{"who":"x"}"#, h)
        .await
        .expect("runs");
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(d.error.as_deref(), Some("States.Timeout"));
    assert_eq!((clock.now() - t0).num_seconds(), 3600);
}

/// Fails `failures` times, then succeeds; counts calls.
struct Flaky {
    failures: u32,
    calls: Mutex<u32>,
}

#[async_trait::async_trait]
impl TaskHandler for Flaky {
    async fn invoke(
        &self,
        _r: &str,
        _input: Value,
        ctx: TaskContext,
    ) -> Result<Value, TaskFailure> {
        let mut c = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        *c += 1;
        assert_eq!(ctx.retry_count + 1, *c);
        if *c <= self.failures {
            Err(TaskFailure::new("Lambda.ServiceException", "try again"))
        } else {
            Ok(json!(*c))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_backoff_counts_and_jitter() {
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
        "Retry":[{"ErrorEquals":["Lambda.ServiceException"],"IntervalSeconds":3,"BackoffRate":2,"MaxAttempts":4}],"End":true}}}"#;
    let clock = VirtualClock::new();
    let e = engine(&clock);
    let flaky = Arc::new(Flaky {
        failures: 3,
        calls: Mutex::new(0),
    });
    let t0 = clock.now();
    let d = e
        .run_definition(def, "{}", flaky.clone())
        .await
        .expect("runs");
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(d.output_json(), Some(json!(4)));
    assert_eq!(*flaky.calls.lock().unwrap_or_else(|e| e.into_inner()), 4);
    // 3 + 6 + 12 seconds of backoff.
    assert_eq!((clock.now() - t0).num_seconds(), 21);

    // With full jitter every delay is at most the nominal one.
    let jitter = def.replace(
        "\"MaxAttempts\":4",
        "\"MaxAttempts\":4,\"JitterStrategy\":\"FULL\"",
    );
    let clock = VirtualClock::new();
    let e = engine(&clock);
    let t0 = clock.now();
    let flaky = Arc::new(Flaky {
        failures: 3,
        calls: Mutex::new(0),
    });
    let d = e.run_definition(&jitter, "{}", flaky).await.expect("runs");
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert!((clock.now() - t0).num_milliseconds() <= 21_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_execution_aborts() {
    let clock = VirtualClock::new();
    let e = engine(&clock);
    let sm = e
        .create_state_machine(
            "waiter",
            r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}"#,
            ROLE,
        )
        .expect("valid");
    let hold = clock.hold();
    let (h, _rx) = recorder();
    let started = e
        .start_execution(&sm.state_machine_arn, Some("to-stop"), "{}", h)
        .expect("starts");
    // Let the execution reach its Wait state.
    for _ in 0..100 {
        if clock.pending() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        e.describe_execution(&started.execution_arn)
            .map(|d| d.status),
        Ok(ExecutionStatus::Running)
    );
    e.stop_execution(&started.execution_arn, Some("Cancelled"), Some("by test"))
        .expect("stops");
    drop(hold);
    let d = e
        .wait_for_execution(&started.execution_arn)
        .await
        .expect("exists");
    assert_eq!(d.status, ExecutionStatus::Aborted);
    assert_eq!(d.error.as_deref(), Some("Cancelled"));
    let history = e
        .get_execution_history(&started.execution_arn)
        .expect("history");
    let last = history.last().expect("events");
    assert_eq!(last.event_type, "ExecutionAborted");
    let j = serde_json::to_value(last).expect("json");
    assert_eq!(
        j["executionAbortedEventDetails"],
        json!({"error": "Cancelled", "cause": "by test"})
    );
    assert_eq!(
        e.list_executions(Some(&sm.state_machine_arn), Some(ExecutionStatus::Aborted))
            .len(),
        1
    );
    assert!(matches!(
        e.describe_execution("arn:aws:states:us-east-1:123456789012:execution:waiter:nope"),
        Err(EngineError::ExecutionDoesNotExist(_))
    ));
    assert!(matches!(
        e.start_execution(
            &sm.state_machine_arn,
            Some("to-stop"),
            "{}",
            Arc::new(Flaky {
                failures: 0,
                calls: Mutex::new(0)
            })
        ),
        Err(EngineError::ExecutionAlreadyExists(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_json_shape() {
    let clock = VirtualClock::new();
    let e = engine(&clock);
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
        "Parameters":{"FunctionName":"f","Payload.$":"$"},"TimeoutSeconds":30,"Next":"M"},
        "M":{"Type":"Map","ItemsPath":"$.items","ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}"#;
    let sm = e.create_state_machine("shape", def, ROLE).expect("valid");
    struct Items;
    #[async_trait::async_trait]
    impl TaskHandler for Items {
        async fn invoke(&self, _r: &str, _i: Value, _c: TaskContext) -> Result<Value, TaskFailure> {
            Ok(json!({"items": [1, 2]}))
        }
    }
    let started = e
        .start_execution(
            &sm.state_machine_arn,
            Some("shape-1"),
            r#"{"a":1}"#,
            Arc::new(Items),
        )
        .expect("starts");
    let d = e
        .wait_for_execution(&started.execution_arn)
        .await
        .expect("exists");
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    let events: Vec<Value> = e
        .get_execution_history(&started.execution_arn)
        .expect("history")
        .iter()
        .map(|ev| serde_json::to_value(ev).expect("json"))
        .collect();
    assert_eq!(events[0]["type"], "ExecutionStarted");
    assert_eq!(events[0]["id"], 1);
    assert_eq!(events[0]["previousEventId"], 0);
    assert!(events[0]["timestamp"].is_f64());
    assert_eq!(
        events[0]["executionStartedEventDetails"]["input"],
        r#"{"a":1}"#
    );
    assert_eq!(events[0]["executionStartedEventDetails"]["roleArn"], ROLE);
    assert_eq!(
        events[1]["stateEnteredEventDetails"],
        json!({"name": "T", "input": "{\"a\":1}", "inputDetails": {"truncated": false}})
    );
    assert_eq!(
        events[2]["taskScheduledEventDetails"],
        json!({"resourceType": "lambda", "resource": "invoke", "region": "us-east-1",
               "parameters": "{\"FunctionName\":\"f\",\"Payload\":{\"a\":1}}", "timeoutInSeconds": 30})
    );
    assert_eq!(
        events[4]["taskSucceededEventDetails"]["output"],
        r#"{"items":[1,2]}"#
    );
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(types.contains(&"MapStateStarted"));
    assert_eq!(
        types
            .iter()
            .filter(|t| **t == "MapIterationStarted")
            .count(),
        2
    );
    assert_eq!(
        types
            .iter()
            .filter(|t| **t == "MapIterationSucceeded")
            .count(),
        2
    );
    assert_eq!(types.last(), Some(&"ExecutionSucceeded"));
    let map_started = events
        .iter()
        .find(|e| e["type"] == "MapStateStarted")
        .expect("event");
    assert_eq!(map_started["mapStateStartedEventDetails"]["length"], 2);
    // ids are sequential and every previousEventId points backwards.
    for (i, ev) in events.iter().enumerate() {
        assert_eq!(ev["id"], i as u64 + 1);
        assert!(ev["previousEventId"].as_u64() < ev["id"].as_u64());
    }
    let desc = serde_json::to_value(&d).expect("json");
    assert_eq!(desc["status"], "SUCCEEDED");
    assert_eq!(desc["name"], "shape-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_executions_at_once() {
    let clock = VirtualClock::new();
    let e = engine(&clock);
    let def = r#"{"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$.s","Next":"T"},
        "T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}}}"#;
    let sm = e.create_state_machine("many", def, ROLE).expect("valid");
    let (h, _rx) = recorder();
    let mut arns = Vec::new();
    for i in 0..200 {
        let s = e
            .start_execution(
                &sm.state_machine_arn,
                Some(&format!("e{i}")),
                &format!(r#"{{"s":{}}}"#, i % 7 * 60),
                h.clone(),
            )
            .expect("starts");
        arns.push(s.execution_arn);
    }
    for a in &arns {
        let d = e.wait_for_execution(a).await.expect("exists");
        assert_eq!(d.status, ExecutionStatus::Succeeded);
    }
    assert_eq!(
        e.list_executions(Some(&sm.state_machine_arn), None).len(),
        200
    );
    assert_eq!(
        e.list_executions(None, Some(ExecutionStatus::Running))
            .len(),
        0
    );
}

#[tokio::test]
async fn invalid_definition_is_refused() {
    let e = Engine::default();
    let err = e
        .create_state_machine(
            "bad",
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}"#,
            ROLE,
        )
        .expect_err("refused");
    match err {
        EngineError::InvalidDefinition(v) => {
            assert!(v.diagnostics.iter().any(|d| d.location == "/States/A/Next"));
            assert!(v.to_string().contains("MISSING_TRANSITION_TARGET"));
        }
        other => panic!("unexpected {other}"),
    }
    assert!(Engine::validate_definition("{").is_err());
}

#[tokio::test]
async fn data_limit_exceeded() {
    let clock = VirtualClock::new();
    let e = engine(&clock);
    let big = "x".repeat(150_000);
    let input = json!({ "s": big }).to_string();
    let def = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"a.$":"$.s","b.$":"$.s"},
        "End":true}}}"#;
    let (h, _rx) = recorder();
    let d = e.run_definition(def, &input, h).await.expect("runs");
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(d.error.as_deref(), Some("States.DataLimitExceeded"));
}

#[tokio::test]
async fn random_intrinsics_are_seeded() {
    let def = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"u.$":"States.UUID()","r.$":"States.MathRandom(1, 10)"},"End":true}}}"#;
    let mut outs = Vec::new();
    for _ in 0..2 {
        let clock = VirtualClock::new();
        let e = engine(&clock);
        let (h, _rx) = recorder();
        let d = e.run_definition(def, "{}", h).await.expect("runs");
        outs.push(d.output_json().unwrap_or(Value::Null));
    }
    assert_eq!(outs[0], outs[1]);
    let u = outs[0]["u"].as_str().unwrap_or("");
    assert_eq!(u.len(), 36);
    assert_eq!(&u[14..15], "4");
    let r = outs[0]["r"].as_i64().unwrap_or(0);
    assert!((1..10).contains(&r));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_while_waiting_for_token() {
    let clock = VirtualClock::new();
    let e = engine(&clock);
    let sm = e
        .create_state_machine("approval", APPROVAL, ROLE)
        .expect("valid");
    let (h, mut rx) = recorder();
    let hold = clock.hold();
    let started = e
        .start_execution(&sm.state_machine_arn, None, r#"{"who":"dee"}"#, h)
        .expect("starts");
    let (_, token) = rx.recv().await.expect("handler called");
    let token = token.expect("a token");
    e.stop_execution(&started.execution_arn, None, None)
        .expect("stops");
    drop(hold);
    let d = e
        .wait_for_execution(&started.execution_arn)
        .await
        .expect("exists");
    assert_eq!(d.status, ExecutionStatus::Aborted);
    assert_eq!(
        e.send_task_success(&token, "{}"),
        Err(TokenError::TaskTimedOut)
    );
    // Stopping again changes nothing.
    assert!(e
        .stop_execution(&started.execution_arn, Some("x"), None)
        .is_ok());
    assert_eq!(
        e.describe_execution(&started.execution_arn)
            .map(|d| d.error),
        Ok(None)
    );
}

#[tokio::test]
async fn parallel_event_sequence() {
    let clock = VirtualClock::new();
    let e = engine(&clock);
    let def = r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","Next":"Done","Branches":[
        {"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}]},"Done":{"Type":"Succeed"}}}"#;
    let sm = e.create_state_machine("par", def, ROLE).expect("valid");
    let (h, _rx) = recorder();
    let s = e
        .start_execution(&sm.state_machine_arn, None, "{}", h)
        .expect("starts");
    let d = e
        .wait_for_execution(&s.execution_arn)
        .await
        .expect("exists");
    assert_eq!(d.output_json(), Some(json!([{}])));
    let types: Vec<String> = e
        .get_execution_history(&s.execution_arn)
        .expect("history")
        .into_iter()
        .map(|ev| ev.event_type)
        .collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "ParallelStateEntered",
            "ParallelStateStarted",
            "PassStateEntered",
            "PassStateExited",
            "ParallelStateSucceeded",
            "ParallelStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[tokio::test]
async fn manual_clock_moves_only_when_told() {
    let clock = VirtualClock::manual(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH);
    let e = engine(&clock);
    let sm = e
        .create_state_machine(
            "w",
            r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"End":true}}}"#,
            ROLE,
        )
        .expect("valid");
    let (h, _rx) = recorder();
    let s = e
        .start_execution(&sm.state_machine_arn, None, "{}", h)
        .expect("starts");
    for _ in 0..100 {
        if clock.pending() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    clock.advance(Duration::from_secs(59));
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        e.describe_execution(&s.execution_arn).map(|d| d.status),
        Ok(ExecutionStatus::Running)
    );
    clock.advance(Duration::from_secs(1));
    let d = e
        .wait_for_execution(&s.execution_arn)
        .await
        .expect("exists");
    assert_eq!(d.status, ExecutionStatus::Succeeded);
}

/// The name rule of the Step Functions API reference (`StartExecution`, `name`): 1 to 80
/// characters, none of them white space, brackets, wildcards, the listed special characters or
/// control characters. Dots and letters outside ASCII are allowed.
#[tokio::test]
async fn execution_names_follow_the_api_reference() {
    let clock = VirtualClock::new();
    let e = engine(&clock);
    let sm = e
        .create_state_machine(
            "names",
            r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"End":true}}}"#,
            ROLE,
        )
        .expect("valid");
    let long = "n".repeat(80);
    let too_long = "n".repeat(81);
    let cases: &[(&str, bool)] = &[
        ("run-1_a", true),
        ("state.machine.execution", true),
        ("café", true),
        ("a+b=c@d!", true),
        (&long, true),
        ("", false),
        (&too_long, false),
        ("white space", false),
        ("tab\there", false),
        ("a<b", false),
        ("a}b", false),
        ("a[b", false),
        ("wild*", false),
        ("wild?", false),
        ("quote\"", false),
        ("hash#", false),
        ("pct%", false),
        ("back\\slash", false),
        ("caret^", false),
        ("pipe|", false),
        ("tilde~", false),
        ("tick`", false),
        ("dollar$", false),
        ("amp&", false),
        ("comma,", false),
        ("semi;", false),
        ("colon:", false),
        ("slash/", false),
        ("ctl\u{1}", false),
        ("del\u{7f}", false),
        ("c1\u{85}", false),
        ("nonchar\u{fffe}", false),
    ];
    let hold = clock.hold();
    for (name, valid) in cases {
        let (h, _rx) = recorder();
        let got = e.start_execution(&sm.state_machine_arn, Some(name), "{}", h);
        match (valid, got) {
            (true, Ok(s)) => assert!(s.execution_arn.ends_with(&format!(":names:{name}"))),
            (false, Err(EngineError::InvalidName(_))) => {}
            (_, other) => panic!("{name:?}: expected valid={valid}, got {other:?}"),
        }
    }
    drop(hold);
}

/// `StartExecution` is idempotent for STANDARD workflows (API reference, StartExecution): the
/// same name and input as a running execution answer with that execution; another input, or
/// the same input once the execution has closed, is `ExecutionAlreadyExists`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_a_running_name_again_is_idempotent() {
    let clock = VirtualClock::new();
    let e = engine(&clock);
    let sm = e
        .create_state_machine(
            "idem",
            r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"End":true}}}"#,
            ROLE,
        )
        .expect("valid");
    let hold = clock.hold();
    let (h, _rx) = recorder();
    let first = e
        .start_execution(&sm.state_machine_arn, Some("once"), r#"{"a":1}"#, h.clone())
        .expect("starts");
    let again = e
        .start_execution(&sm.state_machine_arn, Some("once"), r#"{"a":1}"#, h.clone())
        .expect("the same start is idempotent");
    assert_eq!(again.execution_arn, first.execution_arn);
    assert_eq!(again.start_date, first.start_date);
    assert_eq!(
        e.list_executions(Some(&sm.state_machine_arn), None).len(),
        1,
        "no second execution"
    );
    assert!(matches!(
        e.start_execution(&sm.state_machine_arn, Some("once"), r#"{"a":2}"#, h.clone()),
        Err(EngineError::ExecutionAlreadyExists(_))
    ));
    drop(hold);
    let done = e
        .wait_for_execution(&first.execution_arn)
        .await
        .expect("exists");
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert!(matches!(
        e.start_execution(&sm.state_machine_arn, Some("once"), r#"{"a":1}"#, h),
        Err(EngineError::ExecutionAlreadyExists(_))
    ));
}
