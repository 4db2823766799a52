//! Named failures, attribution to tasks, crash requests and the control API, through real SDK
//! clients and a real moto.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use aws_config::retry::RetryConfig;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use fault_proxy::{CrashKind, CrashRequest, FaultProxy, ProxyOptions, Rule, UNATTRIBUTED};
use serde_json::{json, Value};
use support::{scenario, sdk_no_retries, sdk_with, Moto};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A plain HTTP/1.1 request to the control API: (status, body).
async fn control(url: &str, method: &str, path: &str, body: &str) -> Result<(u16, String)> {
    let authority = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(authority).await?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no status")?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// A VPC with a subnet, an interface, and a security group.
async fn interface(ec2: &aws_sdk_ec2::Client) -> Result<(String, String)> {
    let vpc = ec2.create_vpc().cidr_block("10.7.0.0/16").send().await?;
    let vpc_id = vpc.vpc().and_then(|v| v.vpc_id()).unwrap_or_default();
    let subnet = ec2
        .create_subnet()
        .vpc_id(vpc_id)
        .cidr_block("10.7.1.0/24")
        .send()
        .await?;
    let eni = ec2
        .create_network_interface()
        .subnet_id(
            subnet
                .subnet()
                .and_then(|s| s.subnet_id())
                .unwrap_or_default(),
        )
        .send()
        .await?;
    let group = ec2
        .create_security_group()
        .group_name("quarantine")
        .description("q")
        .vpc_id(vpc_id)
        .send()
        .await?;
    Ok((
        eni.network_interface()
            .and_then(|n| n.network_interface_id())
            .unwrap_or_default()
            .to_owned(),
        group.group_id().unwrap_or_default().to_owned(),
    ))
}

#[tokio::test]
async fn a_named_failure_fires_on_the_nth_call_of_its_resource_only() -> Result<()> {
    let moto = Moto::start().await?;
    let proxy = FaultProxy::start(scenario(""), &moto.url).await?;
    let ec2 = aws_sdk_ec2::Client::new(&sdk_no_retries(&proxy.url()).await);
    let (eni, group) = interface(&ec2).await?;
    // Resource ids are known only now: the rule is added at run time.
    proxy.add_rule(Rule {
        action: Some("ModifyNetworkInterfaceAttribute".into()),
        resource: Some(eni.clone()),
        nth: Some(2),
        error: Some("InternalError".into()),
        ..Rule::default()
    })?;
    let modify = || {
        ec2.modify_network_interface_attribute()
            .network_interface_id(&eni)
            .groups(&group)
            .send()
    };
    modify().await?;
    let e = modify().await.expect_err("the second call fails");
    assert_eq!(e.code(), Some("InternalError"));
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(500));
    modify().await?;
    modify().await?;
    let row = proxy
        .counts()
        .row(UNATTRIBUTED, "ec2", "ModifyNetworkInterfaceAttribute")
        .cloned()
        .context("row")?;
    assert_eq!((row.calls, row.forwarded), (4, 3));
    assert_eq!(
        proxy
            .counts()
            .rules_fired
            .values()
            .copied()
            .collect::<Vec<_>>(),
        [1]
    );
    proxy.stop();
    Ok(())
}

#[tokio::test]
async fn a_time_boxed_failure_lasts_its_seconds() -> Result<()> {
    let moto = Moto::start().await?;
    let proxy = FaultProxy::start(
        scenario(
            "[[rules]]\naction = \"ListUsers\"\nfor_seconds = 1\nerror = \"ServiceUnavailable\"",
        ),
        &moto.url,
    )
    .await?;
    let iam = aws_sdk_iam::Client::new(&sdk_no_retries(&proxy.url()).await);
    for _ in 0..3 {
        let e = iam.list_users().send().await.expect_err("in the window");
        assert_eq!(e.code(), Some("ServiceUnavailable"));
    }
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    iam.list_users().send().await?;
    proxy.stop();
    Ok(())
}

#[tokio::test]
async fn assume_role_attributes_later_calls_to_the_task() -> Result<()> {
    let moto = Moto::start().await?;
    let proxy = FaultProxy::start(
        scenario(
            r#"
            [[rules]]
            task = "isolate"
            action = "DescribeInstances"
            error = "Throttling"
            "#,
        ),
        &moto.url,
    )
    .await?;
    let base = sdk_no_retries(&proxy.url()).await;
    let assumed = aws_sdk_sts::Client::new(&base)
        .assume_role()
        .role_arn("arn:aws:iam::222222222222:role/SOAR-RemediationRole")
        .role_session_name("guardduty-responder-isolate")
        .external_id("local-external-id")
        .send()
        .await?;
    let creds = assumed.credentials().context("credentials")?;
    let member = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(proxy.url())
        .region(aws_config::Region::new(support::REGION))
        .retry_config(RetryConfig::disabled())
        .credentials_provider(aws_credential_types::Credentials::new(
            creds.access_key_id(),
            creds.secret_access_key(),
            Some(creds.session_token().to_owned()),
            None,
            "assumed",
        ))
        .load()
        .await;
    // The member session's calls are isolate's: the rule scoped to isolate fires for them.
    let e = aws_sdk_ec2::Client::new(&member)
        .describe_instances()
        .send()
        .await
        .expect_err("isolate is throttled");
    assert_eq!(e.code(), Some("RequestLimitExceeded"));
    let vpcs = aws_sdk_ec2::Client::new(&member)
        .describe_vpcs()
        .send()
        .await?;
    assert!(!vpcs.vpcs().is_empty(), "moto resolved the member account");
    // The base credentials are nobody's: the same call goes through.
    aws_sdk_ec2::Client::new(&base)
        .describe_instances()
        .send()
        .await?;
    let counts = proxy.counts();
    assert_eq!(
        counts
            .row("isolate", "ec2", "DescribeInstances")
            .map(|r| (r.calls, r.forwarded)),
        Some((1, 0))
    );
    assert_eq!(
        counts
            .row("isolate", "ec2", "DescribeVpcs")
            .map(|r| r.forwarded),
        Some(1)
    );
    assert_eq!(
        counts
            .row(UNATTRIBUTED, "ec2", "DescribeInstances")
            .map(|r| r.forwarded),
        Some(1)
    );
    assert_eq!(
        counts
            .row(UNATTRIBUTED, "sts", "AssumeRole")
            .map(|r| r.calls),
        Some(1)
    );
    proxy.stop();
    Ok(())
}

#[tokio::test]
async fn a_task_listener_and_a_named_key_attribute_calls() -> Result<()> {
    let moto = Moto::start().await?;
    let proxy = FaultProxy::start(scenario(""), &moto.url).await?;
    let notify_url = proxy.task_url("notify").await?;
    assert_eq!(proxy.task_url("notify").await?, notify_url, "one per task");
    assert_ne!(notify_url, proxy.url());
    aws_sdk_sns::Client::new(&sdk_no_retries(&notify_url).await)
        .list_topics()
        .send()
        .await?;
    proxy.name_key("AKIDTAG", "tag");
    let tagger = sdk_with(&proxy.url(), RetryConfig::disabled(), "AKIDTAG").await;
    aws_sdk_sts::Client::new(&tagger)
        .get_caller_identity()
        .send()
        .await?;
    let counts = proxy.counts();
    assert_eq!(
        counts.row("notify", "sns", "ListTopics").map(|r| r.calls),
        Some(1)
    );
    assert_eq!(
        counts
            .row("tag", "sts", "GetCallerIdentity")
            .map(|r| r.calls),
        Some(1)
    );
    proxy.stop();
    Ok(())
}

#[tokio::test]
async fn a_crash_rule_asks_the_hook_to_kill_the_caller() -> Result<()> {
    let moto = Moto::start().await?;
    let proxy = FaultProxy::start_with(
        scenario(
            r#"
            [[rules]]
            task = "isolate"
            action = "ListUsers"
            nth = 2
            crash = "timeout"
            after_forward = true
            "#,
        ),
        &moto.url,
        ProxyOptions {
            crash_hold: Duration::from_millis(200),
            ..ProxyOptions::default()
        },
    )
    .await?;
    let asked: Arc<Mutex<Vec<CrashRequest>>> = Arc::default();
    let seen = Arc::clone(&asked);
    proxy.set_crash_hook(move |request| {
        seen.lock().expect("lock").push(request);
        async { true }
    });
    let url = proxy.task_url("isolate").await?;
    let iam = aws_sdk_iam::Client::new(&sdk_no_retries(&url).await);
    iam.list_users().send().await?;
    let e = iam.list_users().send().await.expect_err("no answer");
    assert!(
        matches!(
            e,
            aws_sdk_iam::error::SdkError::DispatchFailure(_)
                | aws_sdk_iam::error::SdkError::ResponseError(_)
        ),
        "{e:?}"
    );
    assert_eq!(
        *asked.lock().expect("lock"),
        [CrashRequest {
            task: Some("isolate".into()),
            service: "iam".into(),
            action: "ListUsers".into(),
            kind: CrashKind::Timeout,
        }]
    );
    let row = proxy
        .counts()
        .row("isolate", "iam", "ListUsers")
        .cloned()
        .context("row")?;
    assert_eq!((row.calls, row.forwarded, row.crashes), (2, 2, 1));

    // Nobody to kill: the connection is reset instead.
    proxy.set_crash_hook(|_| async { false });
    proxy.add_rule(Rule {
        action: Some("ListRoles".into()),
        crash: Some(CrashKind::Exit),
        ..Rule::default()
    })?;
    iam.list_roles().send().await.expect_err("reset");
    let row = proxy
        .counts()
        .row("isolate", "iam", "ListRoles")
        .cloned()
        .context("row")?;
    assert_eq!((row.resets, row.crashes), (1, 0));
    proxy.stop();
    Ok(())
}

#[tokio::test]
async fn the_control_api_adds_rules_reports_counts_and_resets() -> Result<()> {
    let moto = Moto::start().await?;
    let proxy = FaultProxy::start(scenario(""), &moto.url).await?;
    let url = proxy.url();
    let (status, body) = control(
        &url,
        "POST",
        "/__faults/rules",
        &json!([{"action": "ListUsers", "nth": 1, "error": "Throttling"},
                {"action": "ListRoles", "error": "AccessDenied", "status": 403, "message": "no"}])
        .to_string(),
    )
    .await?;
    assert_eq!((status, body.as_str()), (200, r#"{"added":2}"#));
    let (status, body) = control(
        &url,
        "POST",
        "/__faults/rules",
        r#"{"action": "X", "error": "Y", "reset": true}"#,
    )
    .await?;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("only one of"), "{body}");

    let iam = aws_sdk_iam::Client::new(&sdk_no_retries(&url).await);
    assert_eq!(
        iam.list_users().send().await.expect_err("throttled").code(),
        Some("Throttling")
    );
    iam.list_users().send().await?;
    let e = iam.list_roles().send().await.expect_err("denied");
    assert_eq!(
        (
            e.code(),
            e.message(),
            e.raw_response().map(|r| r.status().as_u16())
        ),
        (Some("AccessDenied"), Some("no"), Some(403))
    );

    let (status, body) = control(&url, "GET", "/__faults/counts", "").await?;
    assert_eq!(status, 200);
    let counts: Value = serde_json::from_str(&body)?;
    let list_users = counts["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["action"] == "ListUsers"))
        .cloned()
        .context("ListUsers row")?;
    assert_eq!(list_users["calls"], 2);
    assert_eq!(list_users["errors"], json!({"Throttling": 1}));
    let (_, rules) = control(&url, "GET", "/__faults/rules", "").await?;
    let rules: Value = serde_json::from_str(&rules)?;
    assert_eq!(rules[0]["fired"], 1);
    assert_eq!(rules[0]["matched"], 2);
    let (_, report) = control(&url, "GET", "/__faults/report", "").await?;
    assert!(report.contains("ListUsers"), "{report}");

    let (status, _) = control(&url, "POST", "/__faults/reset", "").await?;
    assert_eq!(status, 200);
    assert!(proxy.counts().rows.is_empty());
    iam.list_roles().send().await?;
    let (status, _) = control(&url, "GET", "/__faults/nothing", "").await?;
    assert_eq!(status, 404);
    proxy.stop();
    Ok(())
}
