//! Adapter tests: the SDK calls, in order, against `aws-smithy-mocks`.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use aws_sdk_iam::operation::get_role::GetRoleOutput;
use aws_sdk_iam::operation::get_role_policy::{GetRolePolicyError, GetRolePolicyOutput};
use aws_sdk_iam::operation::get_user_policy::{GetUserPolicyError, GetUserPolicyOutput};
use aws_sdk_iam::operation::list_access_keys::ListAccessKeysOutput;
use aws_sdk_iam::operation::list_role_tags::ListRoleTagsOutput;
use aws_sdk_iam::operation::list_user_tags::{ListUserTagsError, ListUserTagsOutput};
use aws_sdk_iam::operation::put_role_policy::PutRolePolicyOutput;
use aws_sdk_iam::operation::put_user_policy::{PutUserPolicyError, PutUserPolicyOutput};
use aws_sdk_iam::operation::update_access_key::UpdateAccessKeyOutput;
use aws_sdk_iam::types::error::NoSuchEntityException;
use aws_sdk_iam::types::{AccessKeyMetadata, Role};
use aws_sdk_iam::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use chrono::{DateTime, Utc};
use responder_aws::test_util;
use responder_core::{Outcome, Policy, TaskReport};
use serde_json::json;

use super::*;
use crate::documents::{denies_everything, deny_all_unconditionally, policy_name};

const AKIA: &str = "AKIAIOSFODNN7EXAMPLE";

fn payload(key: &str, user_type: &str, user: &str) -> Value {
    let event = json!({
        "version": "0", "id": "evt-1", "detail-type": "GuardDuty Finding",
        "source": "aws.guardduty", "account": "222222222222", "region": "eu-west-1",
        "detail": {
            "accountId": "222222222222", "region": "eu-west-1", "partition": "aws",
            "id": "f29cf54659174c928155d527a4f2eb2b",
            "type": "UnauthorizedAccess:IAMUser/MaliciousIPCaller", "severity": 8,
            "resource": {"resourceType": "AccessKey", "accessKeyDetails": {
                "accessKeyId": key, "userType": user_type, "userName": user}},
            "service": {"count": 1}
        }
    });
    let finding = responder_core::Finding::from_event(&event).expect("finding");
    let decision = Policy::default().decide(&finding);
    json!({"finding": finding, "decision": decision, "execution": "arn:aws:states:eu-west-1:111111111111:execution:respond:e1"})
}

fn input(key: &str, user_type: &str, user: &str) -> TaskInput {
    TaskInput::from_value(payload(key, user_type, user)).expect("input")
}

fn settings() -> Settings {
    Settings::new(&Policy::default(), "SOAR-RemediationRole")
}

/// Encodes like IAM does when it returns a policy document (RFC 3986 unreserved kept).
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn no_such_entity() -> NoSuchEntityException {
    NoSuchEntityException::builder()
        .message("The user with name gone cannot be found.")
        .meta(
            ErrorMetadata::builder()
                .code("NoSuchEntity")
                .message("cannot be found")
                .build(),
        )
        .build()
}

fn keys(status: StatusType) -> Rule {
    mock!(Client::list_access_keys)
        .match_requests(|r| r.user_name() == Some("ci-deployer"))
        .then_output(move || {
            ListAccessKeysOutput::builder()
                .access_key_metadata(
                    AccessKeyMetadata::builder()
                        .user_name("ci-deployer")
                        .access_key_id(AKIA)
                        .status(status.clone())
                        .build(),
                )
                .build()
                .expect("output")
        })
}

fn user_tags(tags: &[(&'static str, &'static str)]) -> Rule {
    let tags = tags.to_vec();
    mock!(Client::list_user_tags).then_output(move || {
        let mut b = ListUserTagsOutput::builder().set_tags(Some(Vec::new()));
        for (k, v) in &tags {
            b = b.tags(
                aws_sdk_iam::types::Tag::builder()
                    .key(*k)
                    .value(*v)
                    .build()
                    .expect("tag"),
            );
        }
        b.build().expect("output")
    })
}

async fn run(client: Client, input: &TaskInput) -> Result<TaskReport, TaskError> {
    crate::revoke(input, &IamClient::new(client), &settings(), Utc::now()).await
}

#[tokio::test]
async fn akia_deactivates_puts_unconditional_deny_and_reads_back_url_encoded() {
    let input = input(AKIA, "IAMUser", "ci-deployer");
    let name = policy_name(&input.decision.idempotency_key);
    let tags = user_tags(&[("team", "ci")]);
    let before = keys(StatusType::Active);
    let no_policy = mock!(Client::get_user_policy)
        .then_error(|| GetUserPolicyError::NoSuchEntityException(no_such_entity()));
    let deactivate = mock!(Client::update_access_key)
        .match_requests(|r| {
            r.user_name() == Some("ci-deployer")
                && r.access_key_id() == Some(AKIA)
                && r.status() == Some(&StatusType::Inactive)
        })
        .then_output(|| UpdateAccessKeyOutput::builder().build());
    let expected_name = name.clone();
    let put = mock!(Client::put_user_policy)
        .match_requests(move |r| {
            let doc: Value =
                serde_json::from_str(r.policy_document().unwrap_or("")).unwrap_or_default();
            r.user_name() == Some("ci-deployer")
                && r.policy_name() == Some(expected_name.as_str())
                && doc == deny_all_unconditionally()
        })
        .then_output(|| PutUserPolicyOutput::builder().build());
    let after = keys(StatusType::Inactive);
    let read_back_name = name.clone();
    let read_back = mock!(Client::get_user_policy).then_output(move || {
        GetUserPolicyOutput::builder()
            .user_name("ci-deployer")
            .policy_name(read_back_name.clone())
            .policy_document(url_encode(&deny_all_unconditionally().to_string()))
            .build()
            .expect("output")
    });
    let client = mock_client!(
        aws_sdk_iam,
        RuleMode::Sequential,
        [
            &tags,
            &before,
            &deactivate,
            &no_policy,
            &put,
            &after,
            &read_back
        ]
    );
    let report = run(client, &input).await.expect("report");
    for rule in [
        &tags,
        &before,
        &deactivate,
        &no_policy,
        &put,
        &after,
        &read_back,
    ] {
        assert_eq!(rule.num_calls(), 1);
    }
    assert!(report.actions.iter().all(|a| a.outcome == Outcome::Changed));
    assert_eq!(report.evidence["policyName"], json!(name));
    assert_eq!(report.evidence["keyStatusBefore"], "Active");
}

#[tokio::test]
async fn read_back_with_a_conditioned_deny_fails_verification_for_a_long_term_key() {
    let input = input(AKIA, "IAMUser", "ci-deployer");
    let tags = user_tags(&[]);
    let before = keys(StatusType::Active);
    let no_policy = mock!(Client::get_user_policy)
        .then_error(|| GetUserPolicyError::NoSuchEntityException(no_such_entity()));
    let deactivate =
        mock!(Client::update_access_key).then_output(|| UpdateAccessKeyOutput::builder().build());
    let put = mock!(Client::put_user_policy).then_output(|| PutUserPolicyOutput::builder().build());
    let after = keys(StatusType::Inactive);
    // What IAM holds is a deny conditioned on the token issue time: it would not bind the key.
    let read_back = mock!(Client::get_user_policy).then_output(|| {
        GetUserPolicyOutput::builder()
            .user_name("ci-deployer")
            .policy_name("p")
            .policy_document(url_encode(
                &crate::documents::deny_sessions_issued_before("2024-01-01T00:00:00Z").to_string(),
            ))
            .build()
            .expect("output")
    });
    let client = mock_client!(
        aws_sdk_iam,
        RuleMode::Sequential,
        [
            &tags,
            &before,
            &deactivate,
            &no_policy,
            &put,
            &after,
            &read_back
        ]
    );
    let err = run(client, &input).await.expect_err("verification");
    assert_eq!(err.name, names::REMEDIATION_VERIFICATION_FAILED);
}

#[tokio::test]
async fn key_still_active_after_update_fails_verification() {
    let input = input(AKIA, "IAMUser", "ci-deployer");
    let tags = user_tags(&[]);
    let before = keys(StatusType::Active);
    let no_policy = mock!(Client::get_user_policy)
        .then_error(|| GetUserPolicyError::NoSuchEntityException(no_such_entity()));
    let deactivate =
        mock!(Client::update_access_key).then_output(|| UpdateAccessKeyOutput::builder().build());
    let put = mock!(Client::put_user_policy).then_output(|| PutUserPolicyOutput::builder().build());
    let after = keys(StatusType::Active);
    let client = mock_client!(
        aws_sdk_iam,
        RuleMode::Sequential,
        [&tags, &before, &deactivate, &no_policy, &put, &after]
    );
    let err = run(client, &input).await.expect_err("verification");
    assert_eq!(err.name, names::REMEDIATION_VERIFICATION_FAILED);
    assert!(err.message.contains("Active"));
}

/// The role's policy: what was put is what is read back (URL-encoded), so the cutoff written
/// from the real clock is checked end to end.
#[tokio::test]
async fn role_session_puts_a_token_issue_time_deny_at_the_current_time() {
    let input = input("ASIAIOSFODNN7EXAMPLE", "AssumedRole", "web-tier-role");
    let stored: Arc<Mutex<Option<String>>> = Arc::default();
    let get_role = mock!(Client::get_role)
        .match_requests(|r| r.role_name() == Some("web-tier-role"))
        .then_output(|| {
            GetRoleOutput::builder()
                .role(
                    Role::builder()
                        .path("/")
                        .role_name("web-tier-role")
                        .role_id("AROAEXAMPLE")
                        .arn("arn:aws:iam::222222222222:role/web-tier-role")
                        .create_date(aws_smithy_types::DateTime::from_secs(0))
                        .build()
                        .expect("role"),
                )
                .build()
        });
    let tags = mock!(Client::list_role_tags).then_output(|| {
        ListRoleTagsOutput::builder()
            .set_tags(Some(vec![]))
            .build()
            .expect("tags")
    });
    let none = mock!(Client::get_role_policy)
        .then_error(|| GetRolePolicyError::NoSuchEntityException(no_such_entity()));
    let sink = stored.clone();
    let put = mock!(Client::put_role_policy)
        .match_requests(move |r| {
            *sink.lock().unwrap() = r.policy_document().map(str::to_string);
            r.role_name() == Some("web-tier-role")
        })
        .then_output(|| PutRolePolicyOutput::builder().build());
    let source = stored.clone();
    let read_back = mock!(Client::get_role_policy).then_output(move || {
        let doc = source.lock().unwrap().clone().unwrap_or_default();
        GetRolePolicyOutput::builder()
            .role_name("web-tier-role")
            .policy_name("p")
            .policy_document(url_encode(&doc))
            .build()
            .expect("output")
    });
    let client = mock_client!(
        aws_sdk_iam,
        RuleMode::Sequential,
        [&get_role, &tags, &none, &put, &read_back]
    );
    let started = Utc::now();
    let report = run(client, &input).await.expect("report");
    assert_eq!(put.num_calls(), 1);
    assert_eq!(read_back.num_calls(), 1);
    let put_doc: Value =
        serde_json::from_str(stored.lock().unwrap().as_deref().unwrap()).expect("json");
    let cutoff = put_doc["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
        .as_str()
        .expect("cutoff")
        .to_string();
    let at: DateTime<Utc> = cutoff.parse().expect("RFC 3339");
    assert!(cutoff.ends_with('Z'), "{cutoff}");
    assert!(
        (at - started).num_seconds().abs() <= 5,
        "{cutoff} vs {started}"
    );
    assert!(denies_everything(&put_doc, Some(&cutoff)));
    assert_eq!(report.evidence["tokenIssueTimeCutoff"], json!(cutoff));
}

#[tokio::test]
async fn service_linked_role_is_left_alone() {
    let input = input(
        "ASIAIOSFODNN7EXAMPLE",
        "AssumedRole",
        "AWSServiceRoleForECS",
    );
    let get_role = mock!(Client::get_role).then_output(|| {
        GetRoleOutput::builder()
            .role(
                Role::builder()
                    .path("/aws-service-role/ecs.amazonaws.com/")
                    .role_name("AWSServiceRoleForECS")
                    .role_id("AROAEXAMPLE")
                    .arn("arn:aws:iam::222222222222:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS")
                    .create_date(aws_smithy_types::DateTime::from_secs(0))
                    .build()
                    .expect("role"),
            )
            .build()
    });
    let put = mock!(Client::put_role_policy).then_output(|| PutRolePolicyOutput::builder().build());
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&get_role, &put]);
    let report = run(client, &input).await.expect("report");
    assert_eq!(put.num_calls(), 0);
    assert_eq!(report.actions[0].outcome, Outcome::Skipped);
    assert!(report.actions[0].detail.contains("service-linked"));
}

#[tokio::test]
async fn missing_user_is_target_not_found() {
    let input = input(AKIA, "IAMUser", "gone");
    let tags = mock!(Client::list_user_tags)
        .then_error(|| ListUserTagsError::NoSuchEntityException(no_such_entity()));
    let client = mock_client!(aws_sdk_iam, [&tags]);
    let err = run(client, &input).await.expect_err("missing");
    assert_eq!(err.name, names::REMEDIATION_TARGET_NOT_FOUND);
    assert!(err.message.contains("iam:ListUserTags"), "{}", err.message);
}

#[tokio::test]
async fn throttling_is_named_for_the_state_machine_to_retry() {
    let input = input(AKIA, "IAMUser", "ci-deployer");
    let tags = user_tags(&[]);
    let before = keys(StatusType::Inactive);
    let no_policy = mock!(Client::get_user_policy)
        .then_error(|| GetUserPolicyError::NoSuchEntityException(no_such_entity()));
    let put = mock!(Client::put_user_policy).then_error(|| {
        PutUserPolicyError::generic(
            ErrorMetadata::builder()
                .code("Throttling")
                .message("Rate exceeded")
                .build(),
        )
    });
    let client = mock_client!(
        aws_sdk_iam,
        RuleMode::Sequential,
        [&tags, &before, &no_policy, &put],
        |c| c.retry_config(aws_smithy_types::retry::RetryConfig::disabled())
    );
    let err = run(client, &input).await.expect_err("throttled");
    assert_eq!(err.name, names::REMEDIATION_THROTTLED);
}

/// A finding from a member account: the remediation role is assumed there (with the
/// ExternalId), and the IAM client is configured for the finding's region with those
/// credentials.
#[tokio::test]
async fn cross_account_uses_the_remediation_role_of_the_findings_account() {
    let assume = test_util::assume_role_ok("revoke", "ASIAREMEDIATION00000");
    let sessions = test_util::sessions("revoke", test_util::base_config(), &[&assume]);

    let tags = user_tags(&[]);
    let before = keys(StatusType::Inactive);
    let input = input(AKIA, "IAMUser", "ci-deployer");
    let name = policy_name(&input.decision.idempotency_key);
    let existing_name = name.clone();
    let existing = mock!(Client::get_user_policy).then_output(move || {
        GetUserPolicyOutput::builder()
            .user_name("ci-deployer")
            .policy_name(existing_name.clone())
            .policy_document(url_encode(&deny_all_unconditionally().to_string()))
            .build()
            .expect("output")
    });
    let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&tags, &before, &existing]);
    // (region, has credentials) of each configuration the IAM client was built from.
    type Seen = Arc<Mutex<Vec<(Option<String>, bool)>>>;
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let clients = Clients::new(sessions, move |c| {
        record.lock().unwrap().push((
            c.region().map(|r| r.to_string()),
            c.credentials_provider().is_some(),
        ));
        iam.clone()
    });
    let out = handle(
        payload(AKIA, "IAMUser", "ci-deployer"),
        &clients,
        &settings(),
    )
    .await
    .expect("report");
    assert_eq!(assume.num_calls(), 1);
    assert_eq!(
        *seen.lock().unwrap(),
        vec![(Some("eu-west-1".to_string()), true)]
    );
    // A re-run on a contained user: nothing to change, and the JSON report says so.
    assert_eq!(out["task"], "revoke");
    assert_eq!(out["actions"][0]["outcome"], "unchanged");
    assert_eq!(out["actions"][1]["outcome"], "unchanged");
    assert_eq!(out["evidence"]["policyName"], json!(name));
}

#[tokio::test]
async fn bad_input_is_input_invalid() {
    let sessions = test_util::sessions("revoke", test_util::base_config(), &[]);
    let clients = Clients::new(sessions, Client::new);
    let err = handle(json!({"finding": 1}), &clients, &settings())
        .await
        .expect_err("invalid");
    assert_eq!(err.name, names::INPUT_INVALID);
}

#[test]
fn iam_actions_match_the_calls_made() {
    let mut sorted = IAM_ACTIONS.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), IAM_ACTIONS.len(), "no duplicates");
    assert!(IAM_ACTIONS
        .iter()
        .all(|a| a.starts_with("iam:") || *a == "sts:AssumeRole"));
    // The source of the adapter calls exactly these operations.
    let source = include_str!("../aws.rs");
    for action in IAM_ACTIONS.iter().filter(|a| a.starts_with("iam:")) {
        assert!(
            source.contains(&format!("classify_sdk_error(\"{action}\"")),
            "{action} is listed but not called"
        );
    }
}
