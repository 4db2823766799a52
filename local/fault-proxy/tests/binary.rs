//! The `fault-proxy` binary: prints its URL, proxies, answers its control API.

mod support;

use std::process::Stdio;

use anyhow::{Context, Result};
use support::{sdk_no_retries, Moto};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

#[tokio::test]
async fn the_binary_prints_its_url_and_serves() -> Result<()> {
    let moto = Moto::start().await?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_fault-proxy"))
        .args(["--scenario", "slow", "--upstream", &moto.url])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let url = lines.next_line().await?.context("the URL line")?;
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    aws_sdk_iam::Client::new(&sdk_no_retries(&url).await)
        .list_users()
        .send()
        .await
        .map_err(|e| {
            let raw = e.raw_response().map(|r| {
                format!(
                    "{} {:?} {:?}",
                    r.status().as_u16(),
                    r.headers().iter().collect::<Vec<_>>(),
                    r.body().bytes().map(String::from_utf8_lossy)
                )
            });
            anyhow::anyhow!("ListUsers through the proxy: {e:?}; answer: {raw:?}")
        })?;
    let authority = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(authority).await?;
    stream
        .write_all(
            format!(
                "GET /__faults/report HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .await?;
    let mut report = String::new();
    stream.read_to_string(&mut report).await?;
    assert!(report.starts_with("HTTP/1.1 200"), "{report}");
    assert!(report.contains("ListUsers"), "{report}");
    // `slow` adds at least 30 ms to every call.
    let row = report
        .lines()
        .find(|l| l.contains("ListUsers"))
        .context("the ListUsers row")?;
    let added: u64 = row
        .split_whitespace()
        .nth(7)
        .and_then(|s| s.parse().ok())
        .context("added ms")?;
    assert!(added >= 30, "{row}");
    child.kill().await?;
    Ok(())
}

#[tokio::test]
async fn the_binary_refuses_a_non_loopback_address_and_an_unknown_scenario() -> Result<()> {
    let out = Command::new(env!("CARGO_BIN_EXE_fault-proxy"))
        .args(["--upstream", "http://127.0.0.1:9", "--listen", "0.0.0.0:0"])
        .output()
        .await?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a loopback address"));
    let out = Command::new(env!("CARGO_BIN_EXE_fault-proxy"))
        .args(["--upstream", "http://127.0.0.1:9", "--scenario", "sunny"])
        .output()
        .await?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"sunny\""));
    Ok(())
}
