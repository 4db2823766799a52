//! The false-positive feedback loop: marks from the rollback and the approval page drive a
//! finding type's rate over the policy's threshold, the next finding of the type asks an
//! analyst first (the team told once, with the numbers), and re-enabling it from the command
//! line brings automatic containment back. The ledger is read back from the emulator's
//! DynamoDB through the same adapter the task uses.

use anyhow::{Context, Result};
use chrono::{Duration, Utc};
use end_to_end::{bin_dir, fixture, restored, waiting_for_approval, with_harness, Options};
use feedback::aws::DynamoLedger;
use feedback::Ledger;
use responder::estate::SeededInstance;
use responder::harness::Harness;
use responder::readback;
use responder::scenario::for_instance;
use responder_core::markers;
use serde_json::{json, Value};

const TYPE: &str = "Backdoor:EC2/C&CActivity.B";

fn ledger(h: &Harness) -> DynamoLedger {
    DynamoLedger::new(
        aws_sdk_dynamodb::Client::new(&h.security),
        h.estate.false_positives_table.clone(),
    )
}

/// (actions, false positives) of the type over the last day.
async fn counts(h: &Harness) -> Result<(u32, u32)> {
    let c = ledger(h)
        .counts(TYPE, Utc::now() - Duration::days(1))
        .await
        .map_err(anyhow::Error::msg)?;
    Ok((c.actions, c.false_positives))
}

fn high(id: &str, target: &SeededInstance, region: &str) -> Result<Value> {
    Ok(for_instance(
        fixture("ec2-high-single-eni.json")?,
        id,
        target,
        region,
    ))
}

/// The crossings told, per finding type (the dimensionless total is written beside it).
fn turned_down(h: &Harness) -> f64 {
    h.metrics
        .of("AutomationTurnedDown")
        .iter()
        .filter(|(k, _)| {
            k.dimensions
                .iter()
                .any(|(d, v)| d == "FindingType" && v == TYPE)
        })
        .map(|(_, s)| s.sum())
        .sum()
}

/// `responder false-positive <args>` against the emulator, as the security account; its JSON
/// answer.
async fn cli(h: &Harness, args: &[&str]) -> Result<Value> {
    let exe = bin_dir()?.join("responder");
    let creds = responder::estate::credentials_of(&h.security).await?;
    let mut cmd = tokio::process::Command::new(&exe);
    cmd.arg("false-positive")
        .args(["--table", &h.estate.false_positives_table])
        .args(args)
        .envs(responder::moto::sdk_environment(
            &h.moto.endpoint(),
            &h.estate.region,
        ))
        .env("AWS_ACCESS_KEY_ID", creds.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key())
        .env("POLICY_JSON", POLICY);
    if let Some(t) = creds.session_token() {
        cmd.env("AWS_SESSION_TOKEN", t);
    }
    let out = cmd
        .output()
        .await
        .with_context(|| format!("running {}", exe.display()))?;
    anyhow::ensure!(
        out.status.success(),
        "responder false-positive {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).context("the CLI's answer is JSON")
}

/// Two actions are enough to judge (the default is 5), above 10%.
const POLICY: &str = r#"{"false_positives": {"min_actions": 2, "threshold_percent": 10}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn false_positives_turn_a_types_containment_to_approval_first_until_re_enabled() -> Result<()>
{
    let opts = Options {
        extra_env: [("POLICY_JSON".to_string(), POLICY.to_string())].into(),
        ..Options::default()
    };
    with_harness(opts, |h| async move {
        let e = &h.estate;

        // 1. Contained at once; the containment is counted.
        let s = h
            .run("first", &high("e2e0901first", &e.web, &e.region)?)
            .await?;
        assert_eq!(s.outcome, "contained", "{s:#?}");
        assert_eq!(counts(&h).await?, (1, 0));

        // 2. Rolled back as a false positive: the mark is counted.
        let input = json!({
            "accountId": e.security_account, "region": e.region,
            "instanceId": e.web.instance_id,
            "reason": "the backup agent's update server", "requestedBy": "analyst@example.com",
            "falsePositive": true, "findingType": TYPE, "findingId": "e2e0901first",
        });
        restored(&h, "e2e-fp-restore", &input).await?;
        assert_eq!(counts(&h).await?, (1, 1), "the rollback marked it");
        assert_eq!(
            h.metrics.total("FalsePositives"),
            1.0,
            "{}",
            h.metrics.render()
        );

        // 3. One action is too few to judge (min_actions 2): still contained at once.
        let s = h
            .run("second", &high("e2e0902second", &e.multi, &e.region)?)
            .await?;
        assert_eq!(s.outcome, "contained", "{s:#?}");
        assert!(
            s.reasons
                .iter()
                .any(|r| r.contains("fewer than 2 actions to judge")),
            "{:#?}",
            s.reasons
        );
        assert_eq!(counts(&h).await?, (2, 1));

        // 4. 1 of 2 (50%) is above 10%: this HIGH finding waits for an analyst, and its request
        //    tells the team, with the numbers.
        let before = readback::instance(&h.security, &e.scaled.instance_id).await?;
        let s = h
            .run("third", &high("e2e0903third", &e.scaled, &e.region)?)
            .await?;
        assert_eq!(s.status, "WAITING_FOR_APPROVAL", "{s:#?}");
        assert_eq!(s.disposition.as_deref(), Some("request-approval"));
        let why = s
            .reasons
            .iter()
            .find(|r| r.contains("approval first"))
            .with_context(|| format!("{:#?}", s.reasons))?;
        assert!(why.contains("1 of 2 automatic actions (50%)"), "{why}");
        assert!(waiting_for_approval(&h, &s)?);
        let now = readback::instance(&h.security, &e.scaled.instance_id).await?;
        assert_eq!(
            now.interfaces[0].group_ids, before.interfaces[0].group_ids,
            "nothing contained before an analyst decides"
        );
        let request = h.approval_request("e2e0903third").await?;
        assert!(
            request.message.contains(
                "automatic containment of Backdoor:EC2/C&CActivity.B turned to approval-first"
            ),
            "{}",
            request.message
        );
        assert_eq!(turned_down(&h), 1.0);
        assert_eq!(counts(&h).await?, (3, 1), "the request is an action");

        //    The analyst rejects it as a false positive on the approval page.
        let (_, reject) = h.approval_links("e2e0903third").await?;
        let (page, decided) = h
            .decide_as(&reject, "false-positive", "ana@example.com")
            .await?;
        assert_eq!((page, decided), (200, 200));
        let s = h.resume(&s).await?;
        assert_eq!(s.outcome, "approval-rejected", "{s:#?}");
        assert_eq!(counts(&h).await?, (3, 2), "the page marked it");
        assert_eq!(h.metrics.total("FalsePositives"), 2.0);

        // 5. Still above: the next one asks first too, but the team was already told.
        let s = h
            .run("fourth", &high("e2e0904fourth", &e.web, &e.region)?)
            .await?;
        assert_eq!(s.status, "WAITING_FOR_APPROVAL", "{s:#?}");
        let request = h.approval_request("e2e0904fourth").await?;
        assert!(
            !request.message.contains("turned to approval-first"),
            "told once"
        );
        assert_eq!(turned_down(&h), 1.0, "told once");
        let (_, reject) = h.approval_links("e2e0904fourth").await?;
        h.decide(&reject, false, "ana@example.com").await?;
        assert_eq!(h.resume(&s).await?.outcome, "approval-rejected");
        assert_eq!(counts(&h).await?, (4, 2), "a plain rejection is no mark");

        // 6. The command line shows the rate, then re-enables the type: the count starts over
        //    and the next finding is contained at once.
        let status = cli(&h, &["status", "--finding-type", TYPE]).await?;
        assert_eq!(status["verdict"], "approval-first", "{status:#}");
        assert_eq!(
            (
                status["actions"].as_u64(),
                status["falsePositives"].as_u64()
            ),
            (Some(4), Some(2))
        );
        let marked = cli(
            &h,
            &[
                "mark",
                "--finding-type",
                TYPE,
                "--finding-id",
                "e2e0902second",
                "--by",
                "lead",
            ],
        )
        .await?;
        assert_eq!(marked["marked"], "new", "{marked:#}");
        let again = cli(
            &h,
            &[
                "mark",
                "--finding-type",
                TYPE,
                "--finding-id",
                "e2e0902second",
            ],
        )
        .await?;
        assert_eq!(again["marked"], "already", "a second mark changes nothing");
        cli(&h, &["enable", "--finding-type", TYPE, "--by", "lead"]).await?;
        let status = cli(&h, &["status", "--finding-type", TYPE]).await?;
        assert_eq!(status["actions"].as_u64(), Some(0), "{status:#}");
        let s = h
            .run(
                "after re-enabling",
                &high("e2e0905fifth", &e.member, &e.region)?,
            )
            .await?;
        assert_eq!(s.outcome, "contained", "{s:#?}");
        let st = readback::instance(&h.member, &e.member.instance_id).await?;
        assert_eq!(
            st.interfaces[0].group_names,
            [markers::QUARANTINE_GROUP_NAME]
        );
        Ok(())
    })
    .await
}
