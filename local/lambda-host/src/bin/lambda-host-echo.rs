//! A Lambda function for the tests and the latency example of `lambda-host`.
//!
//! It echoes its input, unless the input asks for something else:
//! `{"log": [..]}` / `{"log_stderr": [..]}` print lines first;
//! `{"alloc_mb": n}` allocates and touches n MB; `{"sleep_ms": n}` sleeps;
//! `{"crash": code}` exits; `{"response_mb": n}` answers with an n MB string; `{"fail": {"type", "message"}}` returns that error;
//! `{"pid": true}`, `{"env": [names]}`, `{"env_all": true}`, `{"context": true}`
//! answer with the process id, environment variables or the invocation context.
//!
//! `ECHO_INIT=exit|post|hang` makes the init phase fail: exit 3, post
//! `/init/error` then exit, or never ask for an event.

use std::io::{Read, Write};

use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use serde_json::{json, Map, Value};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    println!("echo init pid={}", std::process::id());
    match std::env::var("ECHO_INIT").as_deref() {
        Ok("exit") => {
            eprintln!("echo init: configured to exit");
            std::process::exit(3);
        }
        Ok("post") => {
            post_init_error()?;
            std::process::exit(1);
        }
        Ok("hang") => loop {
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        },
        _ => {}
    }
    lambda_runtime::run(service_fn(handle)).await
}

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let (input, context) = event.into_parts();
    let strings = |key: &str| -> Vec<String> {
        input
            .get(key)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    for line in strings("log") {
        println!("{line}");
    }
    for line in strings("log_stderr") {
        eprintln!("{line}");
    }
    if let Some(mb) = input.get("alloc_mb").and_then(Value::as_u64) {
        let size = usize::try_from(mb).unwrap_or(0) * 1024 * 1024;
        // Non-zero fill, so every page is touched and counts in the RSS.
        let block = vec![1_u8; size];
        std::hint::black_box(&block);
    }
    if let Some(ms) = input.get("sleep_ms").and_then(Value::as_u64) {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    if let Some(code) = input.get("crash").and_then(Value::as_i64) {
        std::process::exit(i32::try_from(code).unwrap_or(1));
    }
    if let Some(fail) = input.get("fail") {
        let field = |k: &str| fail.get(k).and_then(Value::as_str).unwrap_or_default();
        return Err(Diagnostic {
            error_type: field("type").to_owned(),
            error_message: field("message").to_owned(),
        });
    }
    if let Some(mb) = input.get("response_mb").and_then(Value::as_u64) {
        let size = usize::try_from(mb).unwrap_or(0) * 1024 * 1024;
        return Ok(Value::String("x".repeat(size)));
    }
    if input.get("pid").is_some() {
        return Ok(json!({"pid": std::process::id()}));
    }
    if input.get("env").is_some() {
        let env: Map<String, Value> = strings("env")
            .into_iter()
            .map(|name| {
                let value = std::env::var(&name).map_or(Value::Null, Value::String);
                (name, value)
            })
            .collect();
        return Ok(json!({ "env": env }));
    }
    if input.get("env_all").is_some() {
        let env: Map<String, Value> = std::env::vars()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        return Ok(json!({ "env_all": env, "cwd": std::env::current_dir().ok() }));
    }
    if input.get("context").is_some() {
        return Ok(json!({
            "request_id": context.request_id,
            "deadline_ms": context.deadline,
            "invoked_function_arn": context.invoked_function_arn,
            "xray_trace_id": context.xray_trace_id,
            "client_context": context.client_context.is_some(),
            "identity": context.identity.map(|i| i.identity_id),
        }));
    }
    Ok(input)
}

/// Posts `/init/error` by hand, as a runtime that failed to initialize does.
fn post_init_error() -> Result<(), Error> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API")?;
    let body = json!({"errorType": "Echo.InitFailed", "errorMessage": "configured to fail init"})
        .to_string();
    let mut stream = std::net::TcpStream::connect(&api)?;
    write!(
        stream,
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\n\
         Lambda-Runtime-Function-Error-Type: Runtime.InitError\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    eprintln!(
        "init error posted: {}",
        response.lines().next().unwrap_or_default()
    );
    Ok(())
}
