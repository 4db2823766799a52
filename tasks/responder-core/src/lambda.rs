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
