//! Adapter tests: the S3 calls and their answers, against mocked SDK clients.

use aws_sdk_s3::operation::get_bucket_acl::GetBucketAclOutput;
use aws_sdk_s3::operation::get_bucket_policy::{GetBucketPolicyError, GetBucketPolicyOutput};
use aws_sdk_s3::operation::get_bucket_tagging::{GetBucketTaggingError, GetBucketTaggingOutput};
use aws_sdk_s3::operation::get_public_access_block::{
    GetPublicAccessBlockError, GetPublicAccessBlockOutput,
};
use aws_sdk_s3::operation::put_bucket_tagging::PutBucketTaggingOutput;
use aws_sdk_s3::operation::put_public_access_block::{
    PutPublicAccessBlockError, PutPublicAccessBlockOutput,
};
use aws_sdk_s3::types::{Grant, Grantee, Permission, PublicAccessBlockConfiguration, Tag, Type};
use aws_sdk_s3::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use responder_core::names;
use serde_json::json;

use super::*;

const OWNER: &str = "222222222222";

fn error(code: &'static str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(code).build()
}

fn no_retries(b: aws_sdk_s3::config::Builder) -> aws_sdk_s3::config::Builder {
    b.retry_config(aws_smithy_types::retry::RetryConfig::disabled())
}

/// The settings, the tags and the evidence come from four reads made at once, every one
/// naming the expected owner; the evidence keeps the policy and the ACL's public grants.
#[tokio::test]
async fn a_bucket_is_read_with_its_settings_tags_and_evidence() {
    let owned = |o: Option<&str>| o == Some(OWNER);
    let pab = mock!(Client::get_public_access_block)
        .match_requests(move |r| {
            r.bucket() == Some("orders-exports") && owned(r.expected_bucket_owner())
        })
        .then_output(|| {
            GetPublicAccessBlockOutput::builder()
                .public_access_block_configuration(
                    PublicAccessBlockConfiguration::builder()
                        .block_public_acls(true)
                        .build(),
                )
                .build()
        });
    let tags = mock!(Client::get_bucket_tagging)
        .match_requests(move |r| owned(r.expected_bucket_owner()))
        .then_output(|| {
            GetBucketTaggingOutput::builder()
                .tag_set(
                    Tag::builder()
                        .key("team")
                        .value("orders")
                        .build()
                        .expect("tag"),
                )
                .build()
                .expect("tagging")
        });
    let policy = mock!(Client::get_bucket_policy)
        .match_requests(move |r| owned(r.expected_bucket_owner()))
        .then_output(|| {
            GetBucketPolicyOutput::builder()
                .policy(r#"{"Statement":[{"Effect":"Allow","Principal":"*"}]}"#)
                .build()
        });
    let acl = mock!(Client::get_bucket_acl)
        .match_requests(move |r| owned(r.expected_bucket_owner()))
        .then_output(|| {
            GetBucketAclOutput::builder()
                .grants(
                    Grant::builder()
                        .grantee(
                            Grantee::builder()
                                .r#type(Type::Group)
                                .uri("http://acs.amazonaws.com/groups/global/AllUsers")
                                .build()
                                .expect("grantee"),
                        )
                        .permission(Permission::Read)
                        .build(),
                )
                .grants(
                    Grant::builder()
                        .grantee(
                            Grantee::builder()
                                .r#type(Type::CanonicalUser)
                                .id("owner")
                                .build()
                                .expect("grantee"),
                        )
                        .permission(Permission::FullControl)
                        .build(),
                )
                .build()
        });
    let bx = S3Buckets::new(
        mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&pab, &tags, &policy, &acl]),
        OWNER,
    );
    let b = bx
        .bucket("orders-exports")
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        b.public_access_block,
        Some(PublicAccessBlock {
            block_public_acls: true,
            ..PublicAccessBlock::default()
        })
    );
    assert_eq!(b.tags, [("team".to_string(), "orders".to_string())]);
    assert_eq!(
        bx.public_grants("orders-exports").await,
        json!([{"grantee": "everyone", "permission": "READ"}])
    );
    assert!(b.evidence["bucketPolicy"]
        .as_str()
        .is_some_and(|p| p.contains("\"Principal\":\"*\"")));
}

/// No configuration, no tags and no policy are answers, not errors; a missing bucket is
/// `None`.
#[tokio::test]
async fn absent_settings_tags_and_policy_read_as_none() {
    let pab = mock!(Client::get_public_access_block).then_error(|| {
        GetPublicAccessBlockError::generic(error("NoSuchPublicAccessBlockConfiguration"))
    });
    let tags = mock!(Client::get_bucket_tagging)
        .then_error(|| GetBucketTaggingError::generic(error("NoSuchTagSet")));
    let policy = mock!(Client::get_bucket_policy)
        .then_error(|| GetBucketPolicyError::generic(error("NoSuchBucketPolicy")));
    let acl = mock!(Client::get_bucket_acl).then_output(|| GetBucketAclOutput::builder().build());
    let bx = S3Buckets::new(
        mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&pab, &tags, &policy, &acl]),
        OWNER,
    );
    let b = bx
        .bucket("orders-exports")
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(b.public_access_block, None);
    assert!(b.tags.is_empty());
    assert_eq!(b.evidence["bucketPolicy"], serde_json::Value::Null);

    let gone = mock!(Client::get_public_access_block)
        .then_error(|| GetPublicAccessBlockError::generic(error("NoSuchBucket")));
    let bx = S3Buckets::new(
        mock_client!(
            aws_sdk_s3,
            RuleMode::MatchAny,
            [&gone, &tags, &policy, &acl]
        ),
        OWNER,
    );
    assert_eq!(bx.bucket("gone").await.expect("read"), None);
}

/// Throttling and access denied keep their stable names; the settings and the whole tag set
/// go out as given.
#[tokio::test]
async fn writes_send_what_they_are_given_and_errors_keep_stable_names() {
    for (code, name) in [
        ("SlowDown", names::REMEDIATION_THROTTLED),
        ("AccessDenied", names::REMEDIATION_ACCESS_DENIED),
    ] {
        let put = mock!(Client::put_public_access_block)
            .then_error(move || PutPublicAccessBlockError::generic(error(code)));
        let bx = S3Buckets::new(
            mock_client!(aws_sdk_s3, RuleMode::Sequential, [&put], no_retries),
            OWNER,
        );
        let e = bx
            .put_public_access_block("orders-exports", PublicAccessBlock::ALL)
            .await
            .expect_err(code);
        assert_eq!(e.name, name, "{code}");
    }
    let put = mock!(Client::put_public_access_block)
        .match_requests(|r| {
            r.expected_bucket_owner() == Some(OWNER)
                && r.public_access_block_configuration().is_some_and(|c| {
                    c.block_public_acls() == Some(true)
                        && c.ignore_public_acls() == Some(true)
                        && c.block_public_policy() == Some(true)
                        && c.restrict_public_buckets() == Some(true)
                })
        })
        .then_output(|| PutPublicAccessBlockOutput::builder().build());
    let tagging = mock!(Client::put_bucket_tagging)
        .match_requests(|r| {
            r.tagging().is_some_and(|t| {
                t.tag_set().len() == 2 && t.tag_set().iter().any(|x| x.key() == "team")
            })
        })
        .then_output(|| PutBucketTaggingOutput::builder().build());
    let bx = S3Buckets::new(
        mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&put, &tagging]),
        OWNER,
    );
    bx.put_public_access_block("orders-exports", PublicAccessBlock::ALL)
        .await
        .expect("put");
    bx.put_tags(
        "orders-exports",
        &[
            ("team".into(), "orders".into()),
            ("guardduty-responder:status".into(), "quarantined".into()),
        ],
    )
    .await
    .expect("tags");
    assert_eq!((put.num_calls(), tagging.num_calls()), (1, 1));
}

/// The rollback's own input is checked by name before any call.
#[test]
fn a_restore_request_names_a_bucket_an_account_and_a_region() {
    let ok = Request::from_value(json!({"mode": "restore", "request": {
        "accountId": OWNER, "region": "eu-west-1", "bucketName": "orders-exports"}}))
    .expect("request");
    assert!(ok.restore);
    assert_eq!(ok.target.name, "orders-exports");
    for bad in [
        json!({"accountId": OWNER, "region": "eu-west-1"}),
        json!({"accountId": OWNER, "region": "eu-west-1", "bucketName": "Orders/../x"}),
        json!({"accountId": "2222", "region": "eu-west-1", "bucketName": "orders-exports"}),
    ] {
        let e = Request::from_value(json!({"mode": "restore", "request": bad.clone()}))
            .expect_err(&bad.to_string());
        assert_eq!(e.name, names::INPUT_INVALID, "{bad}");
    }
}
