//! The moto server: a real AWS API emulator on loopback, started on a free port.
//!
//! Local runs and the end-to-end tests talk to it with the real AWS SDK through
//! `AWS_ENDPOINT_URL`, with static test credentials and a region set in the environment, so
//! the SDK never probes the instance metadata address.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::process::{Child, Command};

/// Static credentials used against the emulator.
pub const TEST_ACCESS_KEY_ID: &str = "testing";
/// Static secret used against the emulator.
pub const TEST_SECRET_ACCESS_KEY: &str = "testing";
/// The local "security account" (the fixtures' account). moto serves the static credentials
/// as its default account (123456789012); the security account's credentials are a session of
/// a role in it (`estate::security_config`). moto keys every request's account off its access
/// key, so the member account stays a separate account only if `MOTO_ACCOUNT_ID` is unset:
/// that variable forces one account for every request.
pub const SECURITY_ACCOUNT: &str = "111111111111";
/// The region of local runs (the fixtures' region).
pub const REGION: &str = "eu-west-1";

/// A running moto server, stopped on drop.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    /// Finds the `moto_server` executable: `MOTO_SERVER`, else `.venv/bin/moto_server` in the
    /// current directory or any parent, else `moto_server` on `PATH`.
    pub fn locate() -> Result<PathBuf> {
        if let Ok(p) = std::env::var("MOTO_SERVER") {
            if !p.is_empty() {
                let p = PathBuf::from(p);
                if p.is_file() {
                    return Ok(p);
                }
                bail!(
                    "MOTO_SERVER is {}, which does not exist; run `make setup`",
                    p.display()
                );
            }
        }
        let mut dir = std::env::current_dir().ok();
        while let Some(d) = dir {
            let candidate = d.join(".venv/bin/moto_server");
            if candidate.is_file() {
                return Ok(candidate);
            }
            dir = d.parent().map(Path::to_path_buf);
        }
        if let Some(paths) = std::env::var_os("PATH") {
            for p in std::env::split_paths(&paths) {
                let candidate = p.join("moto_server");
                if candidate.is_file() {
                    return Ok(candidate);
                }
            }
        }
        bail!(
            "moto_server not found: run `make setup` (installs moto into .venv) or set MOTO_SERVER"
        )
    }

    /// Starts moto on a free loopback port and waits until it answers.
    pub async fn start() -> Result<Self> {
        let exe = Self::locate()?;
        let port = free_port()?;
        let child = Command::new(&exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // Set, it would put every request in one account (no cross-account isolation).
            .env_remove("MOTO_ACCOUNT_ID")
            // AWS's managed policies (AWSDenyAll among them) exist in every account on AWS;
            // moto loads them only when asked.
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let mut moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = moto.child.try_wait() {
                bail!("moto_server exited at start with {status}");
            }
            if moto.request("GET", "/moto-api/").await.is_ok() {
                return Ok(moto);
            }
            if Instant::now() > deadline {
                bail!("moto_server did not answer on port {port} within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The endpoint URL for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's process id (for its CPU time), while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Clears all emulated state.
    pub async fn reset(&self) -> Result<()> {
        self.request("POST", "/moto-api/reset").await.map(|_| ())
    }

    /// Stops the server.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }

    async fn request(&self, method: &str, path: &str) -> Result<String> {
        let r =
            crate::http_client::request(method, &format!("{}{path}", self.endpoint()), &[], b"")
                .await?;
        if r.status != 200 {
            bail!("moto answered {} to {method} {path}", r.status);
        }
        Ok(r.body)
    }
}

/// The environment every process that talks to the emulator gets.
pub fn sdk_environment(endpoint: &str, region: &str) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", TEST_SECRET_ACCESS_KEY),
        ("AWS_REGION", region),
        ("AWS_DEFAULT_REGION", region),
        // Never read ~/.aws or the instance metadata service.
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("binding a loopback port")?;
    Ok(l.local_addr()?.port())
}
