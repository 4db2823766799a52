//! Wiring shared by every Lambda's `main.rs`.

/// Starts JSON logging to stdout (CloudWatch Logs), honouring `RUST_LOG` (default `info`).
/// Lambda already timestamps lines, so the time is not repeated.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Reads a required environment variable, or fails with a `Config.Invalid` error naming it.
pub fn required_env(name: &str) -> Result<String, crate::TaskError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(crate::TaskError::config(format!(
            "environment variable {name} is not set"
        ))),
    }
}

/// The finding id and execution of an invocation's document, for its metrics' properties.
pub fn invocation_ids(payload: &serde_json::Value) -> (Option<String>, Option<String>) {
    let text = |p: &str| {
        payload
            .pointer(p)
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    };
    (
        text("/finding/id").or_else(|| text("/detail/id")),
        text("/execution"),
    )
}

/// Runs one invocation, counts its failure under its stable name, and writes the invocation's
/// metrics (when a collector is installed).
pub async fn measured<T>(
    task: &'static str,
    ids: (Option<String>, Option<String>),
    invocation: impl std::future::Future<Output = Result<T, crate::TaskError>>,
) -> Result<T, crate::TaskError> {
    let emf = crate::emf::Emf::init();
    let result = invocation.await;
    if let Err(e) = &result {
        crate::emf::failure(task, e.name);
    }
    if let Some(m) = emf {
        m.flush(ids.0.as_deref(), ids.1.as_deref());
    }
    result
}

/// Runs a task's Lambda: each invocation's payload goes to `handler`, whose result is returned
/// (a `TaskError` as a Lambda error whose `errorType` is its stable name), measured by
/// [`measured`] with the ids of [`invocation_ids`].
pub async fn serve<T, F, Fut>(task: &'static str, handler: F) -> Result<(), lambda_runtime::Error>
where
    T: serde::Serialize,
    F: Fn(serde_json::Value) -> Fut,
    Fut: std::future::Future<Output = Result<T, crate::TaskError>>,
{
    let handler = &handler;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
            let ids = invocation_ids(&event.payload);
            // Boxed: the SDK's nested futures are too deep to lay out inline in `main`'s.
            measured(task, ids, Box::pin(handler(event.payload))).await
        },
    ))
    .await
}
