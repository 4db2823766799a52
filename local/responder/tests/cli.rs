//! The `responder` command line against the moto emulator: `run --json` gives one line per
//! event, whatever the event is, and `history` reads a saved `GetExecutionHistory` document.
//! Needs the task binaries next to `responder` (`cargo build --workspace --bins`, which
//! `make test` does first) and moto (`make setup`).

use std::path::PathBuf;
use std::process::Command;

use responder::estate;
use responder::moto::{self, Moto};
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn responder_command(endpoint: &str, topic: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_responder"));
    cmd.current_dir(repo());
    for (k, v) in moto::sdk_environment(endpoint, moto::REGION) {
        cmd.env(k, v);
    }
    cmd.env("SNS_TOPIC_ARN", topic)
        .env(
            "APPROVAL_SECRET",
            "0123456789abcdef0123456789abcdef-test-only",
        )
        .env("PIPELINE_ACCOUNT_ID", moto::SECURITY_ACCOUNT)
        .env("REMEDIATION_EXTERNAL_ID", estate::EXTERNAL_ID)
        .env_remove("APPROVAL_BASE_URL")
        .env_remove("POLICY_FILE")
        .env_remove("POLICY_JSON")
        .env_remove("DRY_RUN");
    cmd
}

#[tokio::test]
async fn run_json_prints_one_line_per_event_even_for_bad_ones() {
    let moto = Moto::start().await.expect("moto (run `make setup`)");
    let base = estate::emulator_config(&moto.endpoint(), moto::REGION).await;
    let seeded = estate::seed(&base, moto::SECURITY_ACCOUNT)
        .await
        .expect("seed");
    let files = [
        "fixtures/events/ec2-low.json",
        "fixtures/events/s3-notify-only.json",
        "fixtures/events/malformed-not-json.txt",
        "fixtures/events/securityhub-imported.json",
        "fixtures/events/malformed-missing-id.json",
        "fixtures/events/does-not-exist.json",
    ];
    let out = responder_command(&moto.endpoint(), &seeded.topic_arn)
        .arg("run")
        .arg("--json")
        .args(files)
        .output()
        .expect("responder runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{stderr}"))
        })
        .collect();
    assert_eq!(
        lines.len(),
        files.len(),
        "one line per event:\n{stdout}\n{stderr}"
    );
    let field = |i: usize, k: &str| lines[i].get(k).cloned().unwrap_or(Value::Null);

    assert_eq!(field(0, "status"), "SUCCEEDED");
    assert_eq!(field(0, "outcome"), "recorded");
    assert_eq!(field(0, "tier"), "LOW");
    assert!(field(0, "finding_id").is_string());
    // An anomaly type on a bucket: the s3 route, recorded only.
    assert_eq!(field(1, "route"), "s3");
    assert_eq!(field(1, "outcome"), "recorded");

    assert_eq!(field(2, "status"), "FAILED");
    assert_eq!(field(2, "error"), "Finding.Invalid");
    assert_eq!(field(2, "finding_id"), Value::Null);

    assert_eq!(field(3, "status"), "FAILED");
    assert_eq!(field(3, "error"), "Finding.Unsupported");
    assert_eq!(field(4, "error"), "Finding.Invalid");
    assert_eq!(field(5, "error"), "Input.Unreadable");
    // Some events failed, so the exit code says so.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    moto.stop().await;
}

#[tokio::test]
async fn missing_settings_are_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_responder"))
        .current_dir(repo())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_REGION", "eu-west-1")
        .env("APPROVAL_SECRET", "short")
        .args(["run", "fixtures/events/ec2-low.json"])
        .output()
        .expect("responder runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("SNS_TOPIC_ARN is not set"), "{stderr}");
    assert!(stderr.contains("APPROVAL_SECRET is 5 bytes"), "{stderr}");
}

#[test]
fn history_reads_a_saved_history_file() {
    let dir = std::env::temp_dir().join(format!("responder-history-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("history.json");
    std::fs::write(
        &file,
        r#"{"events":[
          {"id":1,"previousEventId":0,"timestamp":10.0,"type":"ExecutionStarted","executionStartedEventDetails":{"input":"{}"}},
          {"id":2,"previousEventId":1,"timestamp":10.0,"type":"TaskStateEntered","stateEnteredEventDetails":{"name":"Classify","input":"{}"}},
          {"id":3,"previousEventId":2,"timestamp":10.1,"type":"TaskStateExited","stateExitedEventDetails":{"name":"Classify","output":"{\"ok\":1}"}},
          {"id":4,"previousEventId":3,"timestamp":10.2,"type":"ExecutionFailed","executionFailedEventDetails":{"error":"Finding.Invalid","cause":"bad"}}]}"#,
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_responder"))
        .args(["history", "--file"])
        .arg(&file)
        .output()
        .expect("responder runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Status    FAILED"), "{stdout}");
    assert!(stdout.contains("Classify"), "{stdout}");
    assert!(stdout.contains("Error     Finding.Invalid"), "{stdout}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn run_with_faults_keeps_json_lines_on_stdout_and_reports_on_stderr() {
    let moto = Moto::start().await.expect("moto (run `make setup`)");
    let base = estate::emulator_config(&moto.endpoint(), moto::REGION).await;
    let seeded = estate::seed(&base, moto::SECURITY_ACCOUNT)
        .await
        .expect("seed");
    let out = responder_command(&moto.endpoint(), &seeded.topic_arn)
        .args([
            "run",
            "--json",
            "--faults",
            "calm",
            "fixtures/events/ec2-low.json",
        ])
        .output()
        .expect("responder runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert_eq!(lines[0]["outcome"], "recorded", "{stderr}");
    assert!(
        stderr.contains("fault-proxy scenario calm"),
        "the report goes to stderr: {stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("notify ") && l.contains("Publish")),
        "notify's Publish is counted: {stderr}"
    );
}

#[test]
fn faults_need_an_emulator_and_a_known_scenario() {
    let run = |extra: &[(&str, &str)], scenario: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_responder"));
        cmd.current_dir(repo())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_REGION", "eu-west-1");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.args(["run", "--faults", scenario, "fixtures/events/ec2-low.json"])
            .output()
            .expect("responder runs")
    };
    let out = run(&[], "calm");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--faults needs AWS_ENDPOINT_URL"),
        "{stderr}"
    );
    let out = run(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:9")], "no-such-day");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no scenario file or named scenario \"no-such-day\"")
            && stderr.contains("bad-day"),
        "{stderr}"
    );
}
