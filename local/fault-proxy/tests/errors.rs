//! Injected errors as the real AWS SDK for Rust sees them, through the proxy to a real moto:
//! throttling is classified as throttling and retried by the standard retry strategy, server
//! errors and resets are retried as transient, and every call is counted.

mod support;

use std::time::{Duration, Instant};

use anyhow::Result;
use aws_runtime::retries::classifiers::THROTTLING_ERRORS;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use fault_proxy::{FaultProxy, Scenario, UNATTRIBUTED};
use support::{scenario, sdk, sdk_no_retries, Moto};

/// The status and code of a failed call.
fn status_and_code<E: ProvideErrorMetadata>(
    e: &aws_sdk_iam::error::SdkError<E>,
) -> (Option<u16>, Option<String>) {
    (
        e.raw_response().map(|r| r.status().as_u16()),
        e.code().map(str::to_owned),
    )
}

#[tokio::test]
async fn throttling_is_throttling_to_the_sdk_in_every_shape() -> Result<()> {
    let moto = Moto::start().await?;
    // Every first call of each action is throttled; the second goes through.
    let proxy = FaultProxy::start(
        scenario(
            r#"
            [[rules]]
            action = "ListUsers"
            nth = 1
            error = "Throttling"
            [[rules]]
            action = "DescribeVpcs"
            nth = 1
            error = "Throttling"
            [[rules]]
            action = "ListTables"
            nth = 1
            error = "Throttling"
            [[rules]]
            action = "GetItem"
            nth = 1
            error = "ProvisionedThroughputExceeded"
            "#,
        ),
        &moto.url,
    )
    .await?;

    // Without retries the SDK sees each service's own throttling error.
    let bare = sdk_no_retries(&proxy.url()).await;
    let e = aws_sdk_iam::Client::new(&bare)
        .list_users()
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(status_and_code(&e), (Some(400), Some("Throttling".into())));
    assert_eq!(e.message(), Some("Rate exceeded"));
    let e = aws_sdk_ec2::Client::new(&bare)
        .describe_vpcs()
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(e.code(), Some("RequestLimitExceeded"));
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(503));
    let e = aws_sdk_dynamodb::Client::new(&bare)
        .list_tables()
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(e.code(), Some("ThrottlingException"));
    assert!(
        e.as_service_error().is_some(),
        "parsed as a modeled error: {e:?}"
    );
    let e = aws_sdk_dynamodb::Client::new(&bare)
        .get_item()
        .table_name("missing")
        .key("pk", AttributeValue::S("x".into()))
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(e.code(), Some("ProvisionedThroughputExceededException"));
    assert!(e
        .as_service_error()
        .is_some_and(|s| s.is_provisioned_throughput_exceeded_exception()));
    for code in [
        "Throttling",
        "RequestLimitExceeded",
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
    ] {
        assert!(
            THROTTLING_ERRORS.contains(&code),
            "{code} is not one of the SDK's throttling codes"
        );
    }

    // With the standard retry strategy the same errors are retried and the calls succeed.
    proxy.reset();
    let retrying = sdk(&proxy.url()).await;
    aws_sdk_iam::Client::new(&retrying)
        .list_users()
        .send()
        .await?;
    aws_sdk_ec2::Client::new(&retrying)
        .describe_vpcs()
        .send()
        .await?;
    aws_sdk_dynamodb::Client::new(&retrying)
        .list_tables()
        .send()
        .await?;
    let counts = proxy.counts();
    for (service, action, code) in [
        ("iam", "ListUsers", "Throttling"),
        ("ec2", "DescribeVpcs", "RequestLimitExceeded"),
        ("dynamodb", "ListTables", "ThrottlingException"),
    ] {
        let row = counts
            .row(UNATTRIBUTED, service, action)
            .unwrap_or_else(|| panic!("no row for {service}:{action}"));
        assert_eq!(
            (row.calls, row.forwarded, row.errors.get(code).copied()),
            (2, 1, Some(1)),
            "{service}:{action}"
        );
    }
    proxy.stop();
    Ok(())
}

#[tokio::test]
async fn server_errors_and_resets_are_retried_as_transient() -> Result<()> {
    let moto = Moto::start().await?;
    let proxy = FaultProxy::start(
        scenario(
            r#"
            [[rules]]
            action = "GetCallerIdentity"
            nth = 1
            error = "InternalError"
            [[rules]]
            action = "GetCallerIdentity"
            nth = 2
            error = "ServiceUnavailable"
            [[rules]]
            action = "DescribeRegions"
            nth = 1
            reset = true
            "#,
        ),
        &moto.url,
    )
    .await?;
    let bare = sdk_no_retries(&proxy.url()).await;
    let sts = aws_sdk_sts::Client::new(&bare);
    let e = sts.get_caller_identity().send().await.expect_err("500");
    assert_eq!(e.code(), Some("InternalFailure"));
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(500));
    let e = sts.get_caller_identity().send().await.expect_err("503");
    assert_eq!(e.code(), Some("ServiceUnavailable"));
    let e = aws_sdk_ec2::Client::new(&bare)
        .describe_regions()
        .send()
        .await
        .expect_err("reset");
    assert!(
        matches!(e, aws_sdk_ec2::error::SdkError::DispatchFailure(_)),
        "a closed connection is a dispatch failure: {e:?}"
    );

    proxy.reset();
    let retrying = sdk(&proxy.url()).await;
    let identity = aws_sdk_sts::Client::new(&retrying)
        .get_caller_identity()
        .send()
        .await?;
    assert_eq!(identity.account(), Some("123456789012"));
    aws_sdk_ec2::Client::new(&retrying)
        .describe_regions()
        .send()
        .await?;
    let counts = proxy.counts();
    let sts_row = counts
        .row(UNATTRIBUTED, "sts", "GetCallerIdentity")
        .expect("sts row");
    assert_eq!((sts_row.calls, sts_row.forwarded), (3, 1));
    assert_eq!(sts_row.errors.get("InternalFailure"), Some(&1));
    assert_eq!(sts_row.errors.get("ServiceUnavailable"), Some(&1));
    let ec2_row = counts
        .row(UNATTRIBUTED, "ec2", "DescribeRegions")
        .expect("ec2 row");
    assert_eq!(
        (ec2_row.calls, ec2_row.forwarded, ec2_row.resets),
        (2, 1, 1)
    );
    proxy.stop();
    Ok(())
}

#[tokio::test]
async fn latency_is_added_and_counted() -> Result<()> {
    let moto = Moto::start().await?;
    let proxy = FaultProxy::start(
        scenario("[services.sts]\nlatency = { fixed_ms = 120 }"),
        &moto.url,
    )
    .await?;
    let config = sdk(&proxy.url()).await;
    let started = Instant::now();
    aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await?;
    assert!(started.elapsed() >= Duration::from_millis(120));
    let fast = Instant::now();
    aws_sdk_iam::Client::new(&config)
        .list_users()
        .send()
        .await?;
    let iam_time = fast.elapsed();
    let counts = proxy.counts();
    assert_eq!(
        counts
            .row(UNATTRIBUTED, "sts", "GetCallerIdentity")
            .map(|r| r.latency_ms),
        Some(120)
    );
    assert_eq!(
        counts
            .row(UNATTRIBUTED, "iam", "ListUsers")
            .map(|r| r.latency_ms),
        Some(0),
        "other services get no latency ({iam_time:?})"
    );
    proxy.stop();
    Ok(())
}

#[tokio::test]
async fn dynamodb_calls_are_forwarded_and_throttled_puts_retried() -> Result<()> {
    let moto = Moto::start().await?;
    let proxy = FaultProxy::start(
        scenario(
            r#"
            [[rules]]
            action = "PutItem"
            nth = 1
            times = 2
            error = "ProvisionedThroughputExceeded"
            "#,
        ),
        &moto.url,
    )
    .await?;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk(&proxy.url()).await);
    ddb.create_table()
        .table_name("claims")
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()?,
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()?,
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await?;
    ddb.put_item()
        .table_name("claims")
        .item("pk", AttributeValue::S("finding-1".into()))
        .send()
        .await?;
    let item = ddb
        .get_item()
        .table_name("claims")
        .key("pk", AttributeValue::S("finding-1".into()))
        .send()
        .await?;
    assert!(item.item().is_some(), "the retried put reached moto");
    let row = proxy
        .counts()
        .row(UNATTRIBUTED, "dynamodb", "PutItem")
        .cloned()
        .expect("row");
    assert_eq!((row.calls, row.forwarded), (3, 1));
    assert_eq!(
        row.errors.get("ProvisionedThroughputExceededException"),
        Some(&2)
    );
    proxy.stop();
    Ok(())
}

/// The same calls under the same seed meet the same faults.
#[tokio::test]
async fn a_seed_makes_a_run_repeatable() -> Result<()> {
    let moto = Moto::start().await?;
    let text = "seed = 42\n[defaults]\nthrottle = 0.3\nserver_error = 0.1";
    let mut runs = Vec::new();
    for _ in 0..2 {
        let proxy = FaultProxy::start(scenario(text), &moto.url).await?;
        let iam = aws_sdk_iam::Client::new(&sdk_no_retries(&proxy.url()).await);
        let mut fates = Vec::new();
        for _ in 0..30 {
            let fate = match iam.list_users().send().await {
                Ok(_) => "ok".to_owned(),
                Err(e) => e.code().unwrap_or("?").to_owned(),
            };
            fates.push(fate);
        }
        runs.push(fates);
        proxy.stop();
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].iter().any(|f| f == "Throttling"), "{:?}", runs[0]);
    assert!(runs[0].iter().any(|f| f == "ok"), "{:?}", runs[0]);
    let other_seed = FaultProxy::start(scenario(&text.replace("42", "43")), &moto.url).await?;
    let iam = aws_sdk_iam::Client::new(&sdk_no_retries(&other_seed.url()).await);
    let mut fates = Vec::new();
    for _ in 0..30 {
        fates.push(match iam.list_users().send().await {
            Ok(_) => "ok".to_owned(),
            Err(e) => e.code().unwrap_or("?").to_owned(),
        });
    }
    assert_ne!(fates, runs[0], "another seed, other fates");
    Ok(())
}

#[tokio::test]
async fn the_shipped_calm_scenario_only_counts() -> Result<()> {
    let moto = Moto::start().await?;
    let proxy = FaultProxy::start(Scenario::named("calm")?, &moto.url).await?;
    let config = sdk_no_retries(&proxy.url()).await;
    let iam = aws_sdk_iam::Client::new(&config);
    for _ in 0..5 {
        iam.list_users().send().await?;
    }
    aws_sdk_ec2::Client::new(&config)
        .describe_vpcs()
        .send()
        .await?;
    let counts = proxy.counts();
    assert_eq!(counts.calls("iam", "ListUsers"), 5);
    assert_eq!(counts.calls("ec2", "DescribeVpcs"), 1);
    let total = counts.total();
    assert_eq!((total.calls, total.forwarded, total.resets), (6, 6, 0));
    assert!(total.errors.is_empty());
    assert!(proxy.report().starts_with("fault-proxy scenario calm"));
    proxy.stop();
    Ok(())
}
