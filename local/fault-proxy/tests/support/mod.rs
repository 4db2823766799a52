//! A moto server per test, and SDK configurations pointed at a proxy in front of it.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use tokio::process::{Child, Command};

/// The region of the tests.
pub const REGION: &str = "eu-west-1";

/// The moto server: `MOTO_SERVER`, or `.venv/bin/moto_server` in this crate's folder or a parent.
/// Missing, the test fails with a message saying how to install it (it is never skipped).
pub fn locate_moto() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("MOTO_SERVER").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        bail!(
            "MOTO_SERVER is {}, which does not exist; run `make setup`",
            p.display()
        );
    }
    let mut dir = Some(Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf());
    while let Some(d) = dir {
        let candidate = d.join(".venv/bin/moto_server");
        if candidate.is_file() {
            return Ok(candidate);
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    bail!(
        "these tests need the moto server: run `make setup` (installs moto into .venv) or set \
         MOTO_SERVER to a moto_server executable"
    )
}

/// A moto server on a free loopback port, killed on drop.
pub struct Moto {
    _child: Child,
    /// Its URL.
    pub url: String,
}

impl Moto {
    /// Starts moto and waits until it answers.
    pub async fn start() -> Result<Self> {
        async fn answers_http(port: u16) -> bool {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
                return false;
            };
            if stream
                .write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                .await
                .is_err()
            {
                return false;
            }
            let mut head = [0u8; 5];
            stream.read_exact(&mut head).await.is_ok() && &head == b"HTTP/"
        }
        let exe = locate_moto()?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut child = Command::new(&exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env_remove("MOTO_ACCOUNT_ID")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                bail!("moto_server exited at start with {status}");
            }
            // Listening is not answering: wait for an HTTP answer, so the first request of a
            // test never meets a server still starting up.
            if answers_http(port).await {
                return Ok(Moto {
                    _child: child,
                    url: format!("http://127.0.0.1:{port}"),
                });
            }
            if Instant::now() > deadline {
                bail!("moto_server did not listen on port {port} within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The SDK against `endpoint` with static test credentials (moto's default account) and the
/// standard retry strategy with short backoffs.
pub async fn sdk(endpoint: &str) -> SdkConfig {
    sdk_with(
        endpoint,
        RetryConfig::standard().with_initial_backoff(Duration::from_millis(5)),
        "testing",
    )
    .await
}

/// The SDK without retries: every injected error reaches the caller.
pub async fn sdk_no_retries(endpoint: &str) -> SdkConfig {
    sdk_with(endpoint, RetryConfig::disabled(), "testing").await
}

/// The SDK with a retry configuration and an access key id of its own.
pub async fn sdk_with(endpoint: &str, retry: RetryConfig, access_key_id: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .retry_config(retry)
        .credentials_provider(Credentials::new(
            access_key_id,
            "testing",
            None,
            None,
            "test",
        ))
        .load()
        .await
}

/// A scenario from TOML text.
pub fn scenario(text: &str) -> fault_proxy::Scenario {
    fault_proxy::Scenario::parse(text, "test").expect("scenario")
}
