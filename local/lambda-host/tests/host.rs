//! End-to-end tests: a real `lambda_runtime` function (`lambda-host-echo`) run
//! as processes behind the host's Runtime API. No AWS.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lambda_host::{
    ErrorKind, FunctionConfig, HostError, HostOptions, InvokeOptions, LambdaHost, LogLine,
    LogStream,
};
use serde_json::json;

const ECHO: &str = env!("CARGO_BIN_EXE_lambda-host-echo");

fn echo(name: &str) -> FunctionConfig {
    FunctionConfig::new(name, ECHO)
}

fn host_with(config: FunctionConfig, options: HostOptions) -> LambdaHost {
    let host = LambdaHost::new(options);
    host.register(config).expect("register");
    host
}

fn host(config: FunctionConfig) -> LambdaHost {
    host_with(config, HostOptions::default())
}

fn pid_alive(pid: u32) -> bool {
    // A reaped process has no /proc entry; a zombie would still show "Z".
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| !stat.contains(") Z "))
        .unwrap_or(false)
}

/// Waits (up to 3 s) until the process is gone.
async fn gone(pid: u32) -> bool {
    for _ in 0..150 {
        if !pid_alive(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn echo_round_trip_and_cold_start_report() -> anyhow::Result<()> {
    let host = host(echo("echo"));
    let payload = json!({"finding": {"id": "abc", "severity": 8.0}, "list": [1, 2, 3], "s": "é"});
    let run = host.invoke("echo", payload.clone()).await?;
    assert_eq!(run.result, Ok(payload));
    assert_eq!(run.function, "echo");
    assert_eq!(run.report.request_id, run.request_id);
    assert!(run.report.cold_start);
    assert!(run.report.init_duration.is_some());
    assert_eq!(run.report.memory_size_mb, 128);
    assert!(run.report.max_memory_used_mb > 0);
    assert!(run.report.billed_duration >= run.report.duration);
    assert!(run.report.status.is_none());
    host.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn warm_process_is_reused() -> anyhow::Result<()> {
    let host = host(echo("warm"));
    let first = host.invoke("warm", json!({"pid": true})).await?;
    let second = host.invoke("warm", json!({"pid": true})).await?;
    assert!(first.report.cold_start);
    assert!(!second.report.cold_start);
    assert_eq!(second.report.init_duration, None);
    assert_eq!(first.pid, second.pid);
    assert_eq!(second.result, Ok(json!({"pid": second.pid})));
    assert_ne!(first.request_id, second.request_id);
    let stats = host.stats("warm").expect("stats");
    assert_eq!(stats.processes_started, 1);
    assert_eq!(stats.invocations, 2);
    assert_eq!(stats.idle, 1);
    host.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn handler_error_type_reaches_the_caller_exactly() -> anyhow::Result<()> {
    let host = host(echo("fails"));
    let run = host
        .invoke(
            "fails",
            json!({"fail": {"type": "Remediation.Throttled", "message": "Rate exceeded"}}),
        )
        .await?;
    let error = run.result.expect_err("must fail");
    assert_eq!(error.error_type, "Remediation.Throttled");
    assert_eq!(error.error_message, "Rate exceeded");
    assert_eq!(error.kind, ErrorKind::Function);
    assert_eq!(
        error.to_payload(),
        json!({"errorType": "Remediation.Throttled", "errorMessage": "Rate exceeded"})
    );
    // A handled error keeps the environment warm, like Lambda.
    assert!(run.report.status.is_none());
    let next = host.invoke("fails", json!({"ok": 1})).await?;
    assert_eq!(next.result, Ok(json!({"ok": 1})));
    assert_eq!(next.pid, run.pid);
    host.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn timeout_kills_the_process_and_the_next_invocation_works() -> anyhow::Result<()> {
    let mut config = echo("slow");
    config.timeout = Duration::from_millis(500);
    let host = host(config);
    let timed_out = host.invoke("slow", json!({"sleep_ms": 10_000})).await?;
    let error = timed_out.result.expect_err("must time out");
    assert_eq!(error.error_type, "Sandbox.Timedout");
    assert_eq!(error.kind, ErrorKind::Timeout);
    assert_eq!(
        error.error_message,
        format!(
            "RequestId: {} Error: Task timed out after 0.50 seconds",
            timed_out.request_id
        )
    );
    assert_eq!(timed_out.report.status, Some("timeout"));
    assert!(timed_out.report.duration >= Duration::from_millis(500));
    assert!(timed_out.report.duration < Duration::from_secs(5));

    let next = host.invoke("slow", json!({"after": "timeout"})).await?;
    assert_eq!(next.result, Ok(json!({"after": "timeout"})));
    assert!(next.report.cold_start, "a new process must be started");
    assert_ne!(next.pid, timed_out.pid);
    assert!(
        gone(timed_out.pid).await,
        "the timed-out process must be killed"
    );
    host.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn crash_is_runtime_exit_error_and_recovers() -> anyhow::Result<()> {
    let host = host(echo("crashy"));
    let crashed = host
        .invoke("crashy", json!({"crash": 7, "log": ["about to crash"]}))
        .await?;
    let error = crashed.result.expect_err("must fail");
    assert_eq!(error.error_type, "Runtime.ExitError");
    assert_eq!(error.kind, ErrorKind::Crash);
    assert_eq!(
        error.error_message,
        format!(
            "RequestId: {} Error: Runtime exited with error: exit status 7",
            crashed.request_id
        )
    );
    assert_eq!(crashed.report.status, Some("error"));
    assert_eq!(
        crashed.report.error_type.as_deref(),
        Some("Runtime.ExitError")
    );
    assert!(crashed.logs.iter().any(|l| l.line == "about to crash"));

    let next = host.invoke("crashy", json!({"pid": true})).await?;
    assert_eq!(next.result, Ok(json!({"pid": next.pid})));
    assert!(next.report.cold_start);
    assert_ne!(next.pid, crashed.pid);
    host.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn init_failures_are_reported_with_their_error_type() -> anyhow::Result<()> {
    // Exits before asking for an event: Runtime.ExitError.
    let mut exits = echo("init-exit");
    exits.environment.insert("ECHO_INIT".into(), "exit".into());
    // Posts /init/error: the posted errorType.
    let mut posts = echo("init-post");
    posts.environment.insert("ECHO_INIT".into(), "post".into());
    // Never asks for an event: init timeout.
    let mut hangs = echo("init-hang");
    hangs.environment.insert("ECHO_INIT".into(), "hang".into());
    let host = LambdaHost::new(HostOptions {
        init_timeout: Duration::from_millis(500),
        ..HostOptions::default()
    });
    for config in [exits, posts, hangs] {
        host.register(config)?;
    }

    let run = host.invoke("init-exit", json!({})).await?;
    let error = run.result.expect_err("init must fail");
    assert_eq!(error.kind, ErrorKind::Init);
    assert_eq!(error.error_type, "Runtime.ExitError");
    assert!(
        error
            .error_message
            .ends_with("Runtime exited with error: exit status 3"),
        "{}",
        error.error_message
    );
    assert!(run.report.init_duration.is_some());
    assert!(run
        .logs
        .iter()
        .any(|l| l.line == "echo init: configured to exit" && l.stream == LogStream::Stderr));

    let run = host.invoke("init-post", json!({})).await?;
    let error = run.result.expect_err("init must fail");
    assert_eq!(error.kind, ErrorKind::Init);
    assert_eq!(error.error_type, "Echo.InitFailed");
    assert_eq!(error.error_message, "configured to fail init");

    let run = host.invoke("init-hang", json!({})).await?;
    let error = run.result.expect_err("init must time out");
    assert_eq!(error.kind, ErrorKind::Init);
    assert_eq!(error.error_type, "Sandbox.Timedout");
    assert!(gone(run.pid).await, "the hung process must be killed");

    // Every failed init started a process and none was kept.
    for name in ["init-exit", "init-post", "init-hang"] {
        assert_eq!(host.stats(name).map(|s| s.idle), Some(0), "{name}");
    }
    host.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn parallel_invocations_start_several_processes() -> anyhow::Result<()> {
    let host = Arc::new(host(echo("parallel")));
    let mut tasks = Vec::new();
    for i in 0..4 {
        let host = Arc::clone(&host);
        tasks.push(tokio::spawn(async move {
            host.invoke("parallel", json!({"sleep_ms": 300, "i": i}))
                .await
        }));
    }
    let mut pids = BTreeSet::new();
    for (i, task) in tasks.into_iter().enumerate() {
        let run = task.await??;
        assert_eq!(run.result, Ok(json!({"sleep_ms": 300, "i": i})));
        pids.insert(run.pid);
    }
    assert_eq!(
        pids.len(),
        4,
        "each concurrent invocation gets its own process"
    );
    let stats = host.stats("parallel").expect("stats");
    assert_eq!(stats.processes_started, 4);
    assert_eq!(stats.idle, 4);
    host.shutdown().await;
    for pid in pids {
        assert!(!pid_alive(pid), "shutdown must kill {pid}");
    }
    Ok(())
}

#[tokio::test]
async fn reserved_concurrency_throttles_like_lambda() -> anyhow::Result<()> {
    let mut config = echo("reserved");
    config.reserved_concurrency = Some(1);
    let host = Arc::new(host(config));
    let busy = {
        let host = Arc::clone(&host);
        tokio::spawn(async move { host.invoke("reserved", json!({"sleep_ms": 1000})).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let throttled = host.invoke("reserved", json!({})).await;
    match throttled {
        Err(ref e @ HostError::TooManyRequests { limit: 1, .. }) => {
            assert_eq!(e.aws_error_code(), "TooManyRequestsException");
        }
        other => panic!("expected throttling, got {other:?}"),
    }
    assert!(busy.await??.result.is_ok());
    assert!(host.invoke("reserved", json!({})).await?.result.is_ok());
    host.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn waiting_instead_of_throttling_queues_invocations() -> anyhow::Result<()> {
    let mut config = echo("queued");
    config.reserved_concurrency = Some(1);
    let options = HostOptions {
        wait_when_throttled: true,
        ..HostOptions::default()
    };
    let host = Arc::new(host_with(config, options));
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let host = Arc::clone(&host);
        tasks.push(tokio::spawn(async move {
            host.invoke("queued", json!({"pid": true})).await
        }));
    }
    let mut pids = BTreeSet::new();
    for task in tasks {
        pids.insert(task.await??.pid);
    }
    assert_eq!(pids.len(), 1, "one process serves them in turn");
    host.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn environment_is_cleared_except_lambdas_variables() -> anyhow::Result<()> {
    let mut config = echo("env");
    config
        .environment
        .insert("POLICY_DRY_RUN".into(), "true".into());
    config.memory_mb = 256;
    let mut options = HostOptions {
        region: "eu-central-1".into(),
        ..HostOptions::default()
    };
    options
        .environment
        .insert("AWS_ENDPOINT_URL".into(), "http://127.0.0.1:5000".into());
    let host = host_with(config, options);
    let run = host.invoke("env", json!({"env_all": true})).await?;
    let output = run.result.expect("env output");
    let env: BTreeMap<String, String> = serde_json::from_value(output["env_all"].clone())?;
    let keys: BTreeSet<&str> = env.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = [
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_REGION",
        "LAMBDA_RUNTIME_DIR",
        "LAMBDA_TASK_ROOT",
        "LANG",
        "PATH",
        "POLICY_DRY_RUN",
        "TZ",
        "_HANDLER",
        // Set by lambda_runtime itself for each invocation.
        "_X_AMZN_TRACE_ID",
    ]
    .into_iter()
    .collect();
    assert_eq!(keys, expected);
    let get = |k: &str| env.get(k).map(String::as_str);
    assert_eq!(get("AWS_LAMBDA_FUNCTION_NAME"), Some("env"));
    assert_eq!(get("AWS_LAMBDA_FUNCTION_VERSION"), Some("$LATEST"));
    assert_eq!(get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), Some("256"));
    assert_eq!(get("AWS_LAMBDA_LOG_GROUP_NAME"), Some("/aws/lambda/env"));
    assert_eq!(get("AWS_REGION"), Some("eu-central-1"));
    assert_eq!(get("AWS_DEFAULT_REGION"), Some("eu-central-1"));
    assert_eq!(get("AWS_EXECUTION_ENV"), Some("AWS_Lambda_provided.al2023"));
    assert_eq!(get("_HANDLER"), Some("bootstrap"));
    assert_eq!(get("POLICY_DRY_RUN"), Some("true"));
    assert_eq!(get("PATH"), std::env::var("PATH").ok().as_deref());
    let api = get("AWS_LAMBDA_RUNTIME_API").unwrap_or_default();
    assert!(api.starts_with("127.0.0.1:"), "{api}");
    let task_root = std::path::Path::new(ECHO)
        .canonicalize()?
        .parent()
        .map(|p| p.display().to_string());
    assert_eq!(get("LAMBDA_TASK_ROOT"), task_root.as_deref());
    assert_eq!(output["cwd"].as_str(), task_root.as_deref());
    host.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn reserved_variables_are_refused_in_a_function_config() {
    let mut config = echo("bad-env");
    config
        .environment
        .insert("AWS_LAMBDA_RUNTIME_API".into(), "x".into());
    let host = LambdaHost::new(HostOptions::default());
    let error = host.register(config).expect_err("must be refused");
    assert_eq!(error.aws_error_code(), "InvalidParameterValueException");
}

#[tokio::test]
async fn invocation_context_headers_reach_the_runtime() -> anyhow::Result<()> {
    let mut config = echo("ctx");
    config.timeout = Duration::from_secs(30);
    let options = HostOptions {
        region: "us-west-2".into(),
        account_id: "111122223333".into(),
        ..HostOptions::default()
    };
    let host = host_with(config, options);
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let run = host
        .invoke_with(
            "ctx",
            json!({"context": true}),
            InvokeOptions {
                client_context: Some(r#"{"custom":{"k":"v"}}"#.into()),
                cognito_identity: Some(
                    r#"{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}"#.into(),
                ),
                trace_id: None,
            },
        )
        .await?;
    let output = run.result.expect("context output");
    assert_eq!(output["request_id"], json!(run.request_id));
    assert_eq!(
        output["invoked_function_arn"],
        json!("arn:aws:lambda:us-west-2:111122223333:function:ctx")
    );
    let deadline = u128::from(output["deadline_ms"].as_u64().unwrap_or_default());
    assert!(
        deadline >= before + 29_000 && deadline <= before + 31_000,
        "{deadline}"
    );
    assert!(output["xray_trace_id"]
        .as_str()
        .is_some_and(|t| t.starts_with("Root=1-")));
    assert_eq!(output["client_context"], json!(true));
    assert_eq!(output["identity"], json!("id-1"));
    host.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn log_lines_go_to_the_sink_and_the_invocation() -> anyhow::Result<()> {
    let seen: Arc<Mutex<Vec<LogLine>>> = Arc::default();
    let sink_seen = Arc::clone(&seen);
    let options = HostOptions {
        log_tail_lines: 3,
        ..HostOptions::default()
    }
    .with_log_sink(move |line| sink_seen.lock().expect("lock").push(line));
    let host = host_with(echo("logs"), options);
    let first = host
        .invoke(
            "logs",
            json!({"log": [r#"{"level":"INFO","msg":"one"}"#, "two"], "log_stderr": ["three"]}),
        )
        .await?;
    // Cold start: the init line, then the invocation's, cut to the last 3.
    let tail: Vec<&str> = first.logs.iter().map(|l| l.line.as_str()).collect();
    assert_eq!(tail.len(), 3, "{tail:?}");
    assert!(tail.contains(&"three"), "{tail:?}");
    assert!(tail.contains(&"two"), "{tail:?}");
    let second = host.invoke("logs", json!({"log": ["four"]})).await?;
    let tail: Vec<&str> = second.logs.iter().map(|l| l.line.as_str()).collect();
    assert_eq!(tail, ["four"]);
    assert_eq!(
        second.logs[0].request_id.as_deref(),
        Some(second.request_id.as_str())
    );
    assert_eq!(second.logs[0].function, "logs");
    assert_eq!(second.logs[0].pid, second.pid);

    let seen = seen.lock().expect("lock").clone();
    let init = seen
        .iter()
        .find(|l| l.line.starts_with("echo init"))
        .expect("init line");
    assert_eq!(init.request_id, None);
    let one = seen
        .iter()
        .find(|l| l.line.contains(r#""msg":"one""#))
        .expect("json line");
    assert_eq!(one.request_id.as_deref(), Some(first.request_id.as_str()));
    assert_eq!(one.stream, LogStream::Stdout);
    let three = seen
        .iter()
        .find(|l| l.line == "three")
        .expect("stderr line");
    assert_eq!(three.stream, LogStream::Stderr);
    host.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_line_is_attributed_to_its_own_invocation() -> anyhow::Result<()> {
    let host = host(echo("attrib"));
    host.invoke("attrib", json!({})).await?;
    for i in 0..200 {
        let line = format!("line {i}");
        let run = host
            .invoke("attrib", json!({"log": [line], "log_stderr": [line]}))
            .await?;
        let lines: Vec<(&str, LogStream)> = run
            .logs
            .iter()
            .map(|l| (l.line.as_str(), l.stream))
            .collect();
        assert_eq!(lines.len(), 2, "invocation {i}: {lines:?}");
        assert!(
            lines.contains(&(line.as_str(), LogStream::Stdout)),
            "{lines:?}"
        );
        assert!(
            lines.contains(&(line.as_str(), LogStream::Stderr)),
            "{lines:?}"
        );
        assert!(run
            .logs
            .iter()
            .all(|l| l.request_id.as_deref() == Some(run.request_id.as_str())));
    }
    host.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn report_line_of_a_real_invocation() -> anyhow::Result<()> {
    let host = host(echo("report"));
    let cold = host.invoke("report", json!({})).await?;
    let warm = host.invoke("report", json!({})).await?;
    for (run, cold_start) in [(&cold, true), (&warm, false)] {
        let line = run.report.to_string();
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields[0], format!("REPORT RequestId: {}", run.request_id));
        assert!(
            fields[1].starts_with("Duration: ") && fields[1].ends_with(" ms"),
            "{line}"
        );
        let duration: f64 = fields[1]["Duration: ".len()..fields[1].len() - 3].parse()?;
        assert!((duration - run.report.duration.as_secs_f64() * 1000.0).abs() < 0.01);
        assert_eq!(
            fields[2],
            format!(
                "Billed Duration: {} ms",
                run.report.billed_duration.as_millis()
            )
        );
        assert_eq!(fields[3], "Memory Size: 128 MB");
        assert_eq!(
            fields[4],
            format!("Max Memory Used: {} MB", run.report.max_memory_used_mb)
        );
        assert_eq!(fields.len(), if cold_start { 6 } else { 5 }, "{line}");
        if cold_start {
            assert!(fields[5].starts_with("Init Duration: "), "{line}");
        }
    }
    host.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn memory_above_the_memory_size_is_out_of_memory() -> anyhow::Result<()> {
    let host = host(echo("hungry"));
    let run = host.invoke("hungry", json!({"alloc_mb": 200})).await?;
    assert!(run.report.max_memory_used_mb >= 200, "{}", run.report);
    let error = run.result.expect_err("must be out of memory");
    assert_eq!(error.error_type, "Runtime.OutOfMemory");
    assert_eq!(error.kind, ErrorKind::OutOfMemory);
    let next = host.invoke("hungry", json!({"alloc_mb": 1})).await?;
    assert!(next.result.is_ok());
    assert_ne!(next.pid, run.pid);
    host.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn unknown_function_is_resource_not_found() {
    let host = host(echo("known"));
    match host.invoke("unknown", json!({})).await {
        Err(ref e @ HostError::FunctionNotFound(ref name)) => {
            assert_eq!(name, "unknown");
            assert_eq!(e.aws_error_code(), "ResourceNotFoundException");
        }
        other => panic!("expected FunctionNotFound, got {other:?}"),
    }
}

#[tokio::test]
async fn oversized_request_is_refused() {
    let host = host(echo("big"));
    let payload = json!("x".repeat(lambda_host::MAX_PAYLOAD_BYTES));
    assert!(matches!(
        host.invoke("big", payload).await,
        Err(HostError::RequestTooLarge { .. })
    ));
    assert_eq!(host.stats("big").map(|s| s.processes_started), Some(0));
}

#[tokio::test]
async fn oversized_response_is_function_response_size_too_large() -> anyhow::Result<()> {
    let host = host(echo("bigout"));
    let run = host.invoke("bigout", json!({"response_mb": 7})).await?;
    let error = run.result.expect_err("must be refused");
    assert_eq!(error.error_type, "Function.ResponseSizeTooLarge");
    assert_eq!(error.kind, ErrorKind::ResponseTooLarge);
    // The runtime got a 413 and carries on: the process is still usable.
    let next = host.invoke("bigout", json!({"response_mb": 1})).await?;
    assert_eq!(
        next.result.map(|v| v.as_str().map(str::len)),
        Ok(Some(1024 * 1024))
    );
    assert_eq!(next.pid, run.pid);
    host.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn shutdown_ends_running_invocations_and_refuses_new_ones() -> anyhow::Result<()> {
    let host = Arc::new(host(echo("stop")));
    let warm = host.invoke("stop", json!({})).await?;
    let running = {
        let host = Arc::clone(&host);
        tokio::spawn(async move { host.invoke("stop", json!({"sleep_ms": 10_000})).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    host.shutdown().await;
    assert!(matches!(running.await?, Err(HostError::ShuttingDown)));
    assert!(!pid_alive(warm.pid));
    assert!(matches!(
        host.invoke("stop", json!({})).await,
        Err(HostError::ShuttingDown)
    ));
    Ok(())
}

#[tokio::test]
async fn idle_processes_are_stopped_after_the_idle_timeout() -> anyhow::Result<()> {
    let options = HostOptions {
        idle_timeout: Some(Duration::from_millis(200)),
        ..HostOptions::default()
    };
    let host = host_with(echo("idle"), options);
    let run = host.invoke("idle", json!({})).await?;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(host.stats("idle").map(|s| s.idle), Some(0));
    assert!(gone(run.pid).await);
    let again = host.invoke("idle", json!({})).await?;
    assert!(again.report.cold_start);
    host.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn dropping_the_host_kills_its_processes() -> anyhow::Result<()> {
    let host = host(echo("dropped"));
    let run = host.invoke("dropped", json!({})).await?;
    assert!(pid_alive(run.pid));
    drop(host);
    assert!(
        gone(run.pid).await,
        "dropping the host must kill {}",
        run.pid
    );
    Ok(())
}

#[tokio::test]
async fn non_json_looking_values_round_trip() -> anyhow::Result<()> {
    let host = host(echo("values"));
    for payload in [json!(null), json!("text"), json!(42), json!([1, "a"])] {
        let run = host.invoke("values", payload.clone()).await?;
        assert_eq!(run.result, Ok(payload));
    }
    host.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn direct_runtime_api_rejects_a_wrong_request_id() -> anyhow::Result<()> {
    // A function whose own environment tells us its Runtime API address.
    let host = host(echo("direct"));
    let run = host
        .invoke("direct", json!({"env": ["AWS_LAMBDA_RUNTIME_API"]}))
        .await?;
    let api = run.result.expect("env")["env"]["AWS_LAMBDA_RUNTIME_API"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let status = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&api)?;
        write!(
            stream,
            "POST /2018-06-01/runtime/invocation/not-the-id/response HTTP/1.1\r\nHost: {api}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response)
    })
    .await??;
    assert!(status.starts_with("HTTP/1.1 400"), "{status}");
    assert!(status.contains("InvalidRequestID"), "{status}");
    // The process is unaffected.
    assert!(host.invoke("direct", json!({})).await?.result.is_ok());
    host.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_kills_processes_without_answering_their_pending_next() -> anyhow::Result<()> {
    // Lambda never answers a pending `/invocation/next` when it stops an execution
    // environment: it freezes and kills it. An answer without a request id makes
    // `lambda_runtime` panic, which would show up in every function's log at shutdown.
    let seen: Arc<Mutex<Vec<LogLine>>> = Arc::default();
    let sink_seen = Arc::clone(&seen);
    let options = HostOptions::default()
        .with_log_sink(move |line| sink_seen.lock().expect("lock").push(line));
    let host = Arc::new(host_with(echo("quiet"), options));
    // Several warm processes, each waiting in `/invocation/next`, and one busy.
    let runs = warm_processes(&host, 3).await?;
    let busy = {
        let host = Arc::clone(&host);
        tokio::spawn(async move { host.invoke("quiet", json!({"sleep_ms": 10_000})).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    host.shutdown().await;
    assert!(matches!(busy.await?, Err(HostError::ShuttingDown)));
    for pid in runs.iter().map(|r| r.pid) {
        assert!(gone(pid).await, "shutdown must kill {pid}");
    }
    // Lines still in the pipes reach the sink once the processes are gone.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = seen.lock().expect("lock").clone();
    assert!(
        seen.iter().any(|l| l.line.starts_with("echo init")),
        "the sink captured the processes' output"
    );
    let panics: Vec<&str> = seen
        .iter()
        .map(|l| l.line.as_str())
        .filter(|l| l.contains("panicked"))
        .collect();
    assert!(panics.is_empty(), "{panics:?}");
    Ok(())
}

/// Runs `n` invocations at once, so the function ends up with `n` warm processes.
async fn warm_processes(
    host: &Arc<LambdaHost>,
    n: usize,
) -> anyhow::Result<Vec<lambda_host::Invocation>> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let host = Arc::clone(host);
            tokio::spawn(async move { host.invoke("quiet", json!({"sleep_ms": 200})).await })
        })
        .collect();
    let mut runs = Vec::new();
    for task in tasks {
        runs.push(task.await??);
    }
    let pids: BTreeSet<u32> = runs.iter().map(|r| r.pid).collect();
    assert_eq!(pids.len(), n, "one process per concurrent invocation");
    Ok(runs)
}

#[tokio::test]
async fn a_planned_crash_ends_the_nth_invocation_like_a_timeout() -> anyhow::Result<()> {
    let host = host(echo("planned"));
    host.plan_crash(
        "planned",
        lambda_host::CrashPlan {
            invocation: 2,
            after: Duration::from_millis(200),
            crash: lambda_host::Crash::Timeout,
        },
    )?;
    let first = host.invoke("planned", json!({"sleep_ms": 300})).await?;
    assert!(
        first.result.is_ok(),
        "the first invocation is not the planned one"
    );
    let crashed = host.invoke("planned", json!({"sleep_ms": 5_000})).await?;
    let error = crashed.result.expect_err("must be ended");
    assert_eq!(error.error_type, "Sandbox.Timedout");
    assert_eq!(error.kind, ErrorKind::Timeout);
    // Lambda names the configured timeout, whenever the environment was really stopped.
    assert_eq!(
        error.error_message,
        format!(
            "RequestId: {} Error: Task timed out after 3.00 seconds",
            crashed.request_id
        )
    );
    assert_eq!(crashed.report.status, Some("timeout"));
    assert!(crashed.report.duration >= Duration::from_millis(200));
    assert!(crashed.report.duration < Duration::from_secs(3));
    assert_eq!(
        crashed.pid, first.pid,
        "the warm process was the one killed"
    );
    assert!(
        !pid_alive(crashed.pid),
        "the process is dead before the invocation is reported"
    );
    let next = host.invoke("planned", json!({"pid": true})).await?;
    assert_eq!(next.result, Ok(json!({"pid": next.pid})));
    assert!(
        next.report.cold_start,
        "a fresh process serves the next invocation"
    );
    assert_ne!(next.pid, crashed.pid);
    host.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn planned_crashes_as_out_of_memory_and_exit() -> anyhow::Result<()> {
    let host = host(echo("kinds"));
    for (n, crash) in [
        (1, lambda_host::Crash::OutOfMemory),
        (2, lambda_host::Crash::Exit),
    ] {
        host.plan_crash(
            "kinds",
            lambda_host::CrashPlan {
                invocation: n,
                after: Duration::from_millis(100),
                crash,
            },
        )?;
    }
    let oom = host.invoke("kinds", json!({"sleep_ms": 2_000})).await?;
    let error = oom.result.expect_err("out of memory");
    assert_eq!(
        (error.error_type.as_str(), error.kind),
        ("Runtime.OutOfMemory", ErrorKind::OutOfMemory)
    );
    assert_eq!(oom.report.status, Some("error"));
    assert_eq!(
        oom.report.error_type.as_deref(),
        Some("Runtime.OutOfMemory")
    );
    let exit = host.invoke("kinds", json!({"sleep_ms": 2_000})).await?;
    let error = exit.result.expect_err("killed");
    assert_eq!(error.error_type, "Runtime.ExitError");
    assert_eq!(error.kind, ErrorKind::Crash);
    assert_eq!(
        error.error_message,
        format!(
            "RequestId: {} Error: Runtime exited with error: signal: killed",
            exit.request_id
        )
    );
    assert_ne!(exit.pid, oom.pid);
    host.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_plan_is_spent_when_the_invocation_answers_first() -> anyhow::Result<()> {
    let host = host(echo("spent"));
    host.plan_crash(
        "spent",
        lambda_host::CrashPlan {
            invocation: 1,
            after: Duration::from_secs(2),
            crash: lambda_host::Crash::Exit,
        },
    )?;
    let quick = host.invoke("spent", json!({"pid": true})).await?;
    assert!(quick.result.is_ok());
    let again = host.invoke("spent", json!({"pid": true})).await?;
    assert!(again.result.is_ok());
    assert_eq!(again.pid, quick.pid, "nothing was killed");
    assert!(matches!(
        host.plan_crash(
            "unknown",
            lambda_host::CrashPlan {
                invocation: 1,
                after: Duration::ZERO,
                crash: lambda_host::Crash::Exit
            }
        ),
        Err(HostError::FunctionNotFound(_))
    ));
    host.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn crash_running_kills_the_running_invocation_now() -> anyhow::Result<()> {
    let host = Arc::new(host(echo("victim")));
    let warm = host.invoke("victim", json!({"pid": true})).await?;
    assert_eq!(
        host.crash_running("victim", lambda_host::Crash::Exit)?,
        0,
        "nothing runs: nothing to kill"
    );
    let running = {
        let host = Arc::clone(&host);
        tokio::spawn(async move { host.invoke("victim", json!({"sleep_ms": 10_000})).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(host.crash_running("victim", lambda_host::Crash::Exit)?, 1);
    let killed = running.await??;
    let error = killed.result.expect_err("killed");
    assert_eq!(error.error_type, "Runtime.ExitError");
    assert!(killed.report.duration < Duration::from_secs(5));
    assert_eq!(killed.pid, warm.pid);
    assert!(!pid_alive(killed.pid));
    let next = host.invoke("victim", json!({"pid": true})).await?;
    assert!(next.report.cold_start);
    assert_ne!(next.pid, killed.pid);
    assert_eq!(host.stats("victim").map(|s| s.processes_started), Some(2));
    host.shutdown().await;
    Ok(())
}
