//! `fault-proxy`: a fault-injecting AWS endpoint in front of an emulator. See the README.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use clap::Parser;
use fault_proxy::{FaultProxy, ProxyOptions, Scenario};

/// Plays AWS's failure modes (throttling, server errors, resets, latency, eventual consistency,
/// quotas, named failures) between AWS SDK callers and an emulator such as moto.
#[derive(Debug, Parser)]
#[command(name = "fault-proxy", version)]
struct Cli {
    /// A scenario file, or the name of a shipped one (calm, slow, bad-day, flaky-network).
    #[arg(long, default_value = "calm")]
    scenario: String,
    /// The emulator's URL.
    #[arg(long)]
    upstream: String,
    /// Where to listen (loopback only).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let cli = Cli::parse();
    let scenario = Scenario::load(&cli.scenario)?;
    let options = ProxyOptions {
        listen: cli.listen,
        ..ProxyOptions::default()
    };
    let proxy = FaultProxy::start_with(scenario, &cli.upstream, options).await?;
    println!("{}", proxy.url());
    eprintln!(
        "fault-proxy: scenario {} in front of {}; control API under {}/__faults/ (counts, report, rules, keys, reset); Ctrl-C prints the counts",
        proxy.scenario().name,
        proxy.upstream_url(),
        proxy.url()
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    eprint!("{}", proxy.report());
    proxy.stop();
    Ok(())
}
