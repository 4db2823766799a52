//! Runs any `lambda_runtime` binary once (or several times) through the host and
//! prints the result, the `REPORT` line and the captured log lines.
//!
//! ```text
//! cargo run -p lambda-host --example invoke -- <executable> '<payload json>' [times] [KEY=VALUE ...]
//! ```

use std::time::Duration;

use lambda_host::{FunctionConfig, HostOptions, LambdaHost};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(executable), Some(payload)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: invoke <executable> '<payload json>' [times] [KEY=VALUE ...]");
    };
    let times: usize = args.next().map(|t| t.parse()).transpose()?.unwrap_or(1);
    let payload: serde_json::Value = serde_json::from_str(&payload)?;
    let name = std::path::Path::new(&executable)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "function".into());
    let mut config = FunctionConfig::new(name.clone(), executable);
    config.timeout = Duration::from_secs(30);
    for pair in args {
        if let Some((key, value)) = pair.split_once('=') {
            config.environment.insert(key.into(), value.into());
        }
    }
    let host = LambdaHost::new(HostOptions::default());
    host.register(config)?;
    for _ in 0..times {
        let run = host.invoke(&name, payload.clone()).await?;
        for line in &run.logs {
            println!("[{:?}] {}", line.stream, line.line);
        }
        match &run.result {
            Ok(value) => println!("result: {value}"),
            Err(error) => println!("error ({:?}): {}", error.kind, error.to_payload()),
        }
        println!("{}", run.report);
    }
    host.shutdown().await;
    Ok(())
}
