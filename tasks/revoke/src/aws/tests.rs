//! Adapter tests: the SDK calls, in order, against `aws-smithy-mocks`.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use aws_sdk_iam::operation::attach_user_policy::{AttachUserPolicyError, AttachUserPolicyOutput};
use aws_sdk_iam::operation::get_role::GetRoleOutput;
use aws_sdk_iam::operation::get_role_policy::{GetRolePolicyError, GetRolePolicyOutput};
use aws_sdk_iam::operation::get_user_policy::{GetUserPolicyError, GetUserPolicyOutput};
use aws_sdk_iam::operation::list_access_keys::ListAccessKeysError;
use aws_sdk_iam::operation::list_access_keys::ListAccessKeysOutput;
use aws_sdk_iam::operation::list_attached_user_policies::ListAttachedUserPoliciesOutput;
use aws_sdk_iam::operation::put_role_policy::PutRolePolicyOutput;
use aws_sdk_iam::operation::put_user_policy::{PutUserPolicyError, PutUserPolicyOutput};
use aws_sdk_iam::operation::update_access_key::UpdateAccessKeyOutput;
use aws_sdk_iam::types::error::NoSuchEntityException;
use aws_sdk_iam::types::{AccessKeyMetadata, AttachedPolicy, Role};
use aws_sdk_iam::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use chrono::{DateTime, Utc};
use responder_aws::test_util;
use responder_core::{Outcome, Policy, TaskReport};
use serde_json::json;

use super::*;
use responder_core::denies;

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
    Settings {
        backoff: responder_aws::consistency::Backoff::NONE,
        ..Settings::new(&Policy::default(), "SOAR-RemediationRole")
    }
}

/// Encodes like IAM does when it returns a policy document (RFC 3986 unreserved kept).
fn url_encode(s: &str) -> String {
    responder_core::encoding::percent_encode(s)
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

const DENY_ALL_ARN: &str = "arn:aws:iam::aws:policy/AWSDenyAll";

fn attached(arns: &'static [&'static str]) -> Rule {
    mock!(Client::list_attached_user_policies).then_output(move || {
        let mut b = ListAttachedUserPoliciesOutput::builder().is_truncated(false);
        for arn in arns {
            b = b.attached_policies(
                AttachedPolicy::builder()
                    .policy_arn(*arn)
                    .policy_name("p")
                    .build(),
            );
        }
        b.build()
    })
}

fn role(path: &'static str) -> Rule {
    mock!(Client::get_role).then_output(move || {
        GetRoleOutput::builder()
            .role(
                Role::builder()
                    .path(path)
                    .role_name("r")
                    .role_id("AROAEXAMPLE")
                    .arn("arn:aws:iam::222222222222:role/r")
                    .create_date(aws_smithy_types::DateTime::from_secs(0))
                    .build()
                    .expect("role"),
            )
            .build()
    })
}

async fn run(client: Client, input: &TaskInput) -> Result<TaskReport, TaskError> {
    crate::revoke(input, &IamClient::new(client), &settings(), Utc::now()).await
}

#[tokio::test]
async fn akia_deactivates_then_attaches_aws_deny_all_and_reads_both_back() {
    let input = input(AKIA, "IAMUser", "ci-deployer");
    let before = keys(StatusType::Active);
    let update = mock!(Client::update_access_key)
        .match_requests(|r| {
            r.user_name() == Some("ci-deployer")
                && r.access_key_id() == Some(AKIA)
                && r.status() == Some(&StatusType::Inactive)
        })
        .then_output(|| UpdateAccessKeyOutput::builder().build());
    let none_attached = attached(&[]);
    let no_inline = mock!(Client::get_user_policy)
        .match_requests(|r| r.policy_name() == Some(denies::DENY_ALL_POLICY))
        .then_error(|| GetUserPolicyError::NoSuchEntityException(no_such_entity()));
    let attach = mock!(Client::attach_user_policy)
        .match_requests(|r| {
            r.user_name() == Some("ci-deployer") && r.policy_arn() == Some(DENY_ALL_ARN)
        })
        .then_output(|| AttachUserPolicyOutput::builder().build());
    let after = keys(StatusType::Inactive);
    let now_attached = attached(&[DENY_ALL_ARN]);
    let client = mock_client!(
        aws_sdk_iam,
        RuleMode::Sequential,
        [
            &before,
            &update,
            &none_attached,
            &no_inline,
            &attach,
            &after,
            &now_attached
        ]
    );
    let report = run(client, &input).await.expect("report");
    assert_eq!(attach.num_calls(), 1);
    assert_eq!(report.evidence["deny"], "AWSDenyAll");
    assert!(report.actions.iter().all(|a| a.outcome == Outcome::Changed));
}

#[tokio::test]
async fn a_user_at_its_managed_policy_quota_gets_the_inline_deny_read_back_url_encoded() {
    let input = input(AKIA, "IAMUser", "ci-deployer");
    let before = keys(StatusType::Inactive);
    let none_attached = attached(&[]);
    let no_inline = mock!(Client::get_user_policy)
        .then_error(|| GetUserPolicyError::NoSuchEntityException(no_such_entity()));
    let attach = mock!(Client::attach_user_policy).then_error(|| {
        AttachUserPolicyError::generic(
            ErrorMetadata::builder()
                .code("LimitExceeded")
                .message("Cannot exceed quota for PoliciesPerUser: 10")
                .build(),
        )
    });
    let put = mock!(Client::put_user_policy)
        .match_requests(|r| {
            let doc: Value =
                serde_json::from_str(r.policy_document().unwrap_or("")).unwrap_or_default();
            r.policy_name() == Some(denies::DENY_ALL_POLICY) && doc == denies::deny_all()
        })
        .then_output(|| PutUserPolicyOutput::builder().build());
    let after = keys(StatusType::Inactive);
    let read_back = mock!(Client::get_user_policy).then_output(|| {
        GetUserPolicyOutput::builder()
            .user_name("ci-deployer")
            .policy_name(denies::DENY_ALL_POLICY)
            .policy_document(url_encode(&denies::deny_all().to_string()))
            .build()
            .expect("output")
    });
    let client = mock_client!(
        aws_sdk_iam,
        RuleMode::Sequential,
        [
            &before,
            &none_attached,
            &no_inline,
            &attach,
            &put,
            &after,
            &read_back
        ]
    );
    let report = run(client, &input).await.expect("contained");
    assert_eq!(put.num_calls(), 1);
    assert_eq!(report.evidence["deny"], denies::DENY_ALL_POLICY);
}

#[tokio::test]
async fn a_key_inactive_with_both_quotas_full_is_incomplete() {
    let input = input(AKIA, "IAMUser", "ci-deployer");
    let before = keys(StatusType::Inactive);
    let none_attached = attached(&[]);
    let no_inline = mock!(Client::get_user_policy)
        .then_error(|| GetUserPolicyError::NoSuchEntityException(no_such_entity()));
    let attach = mock!(Client::attach_user_policy).then_error(|| {
        AttachUserPolicyError::generic(
            ErrorMetadata::builder()
                .code("LimitExceeded")
                .message("PoliciesPerUser")
                .build(),
        )
    });
    let put = mock!(Client::put_user_policy).then_error(|| {
        PutUserPolicyError::generic(
            ErrorMetadata::builder()
                .code("LimitExceeded")
                .message("Maximum policy size of 2048 bytes exceeded for user ci-deployer")
                .build(),
        )
    });
    let client = mock_client!(
        aws_sdk_iam,
        RuleMode::Sequential,
        [&before, &none_attached, &no_inline, &attach, &put]
    );
    let err = run(client, &input).await.expect_err("incomplete");
    assert_eq!(err.name, names::REMEDIATION_INCOMPLETE);
    assert!(
        err.message.contains("Maximum policy size"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn instance_credentials_put_the_instance_session_deny_on_the_role() {
    let mut p = payload("ASIAIOSFODNN7EXAMPLE", "AssumedRole", "web-tier-role");
    p["finding"]["resource"]["principalId"] = json!("AROAJQABLZS4A3QDU576Q:i-0f1e2d3c4b5a69788");
    let input = TaskInput::from_value(p).expect("input");
    let get_role = role("/");
    let none = mock!(Client::get_role_policy)
        .then_error(|| GetRolePolicyError::NoSuchEntityException(no_such_entity()));
    let put = mock!(Client::put_role_policy)
        .match_requests(|r| {
            let doc: Value =
                serde_json::from_str(r.policy_document().unwrap_or("")).unwrap_or_default();
            r.role_name() == Some("web-tier-role")
                && r.policy_name() == Some(denies::DENY_INSTANCE_SESSIONS_POLICY)
                && denies::instance_sessions(&doc).0
                    == ["AROAJQABLZS4A3QDU576Q:i-0f1e2d3c4b5a69788"]
        })
        .then_output(|| PutRolePolicyOutput::builder().build());
    let read_back = mock!(Client::get_role_policy).then_output(|| {
        let doc = denies::deny_instance_sessions(
            &["AROAJQABLZS4A3QDU576Q:i-0f1e2d3c4b5a69788".to_string()],
            &["arn:aws:ec2:eu-west-1:222222222222:instance/i-0f1e2d3c4b5a69788".to_string()],
        );
        GetRolePolicyOutput::builder()
            .role_name("web-tier-role")
            .policy_name(denies::DENY_INSTANCE_SESSIONS_POLICY)
            .policy_document(url_encode(&doc.to_string()))
            .build()
            .expect("output")
    });
    let client = mock_client!(
        aws_sdk_iam,
        RuleMode::Sequential,
        [&get_role, &none, &put, &read_back]
    );
    let report = run(client, &input).await.expect("report");
    assert_eq!(put.num_calls(), 1, "{report:?}");
    assert_eq!(report.evidence["sourceInstance"], "i-0f1e2d3c4b5a69788");
}

#[tokio::test]
async fn role_session_puts_a_token_issue_time_deny_at_the_current_time() {
    let input = input("ASIAIOSFODNN7EXAMPLE", "AssumedRole", "web-app-role");
    let seen: Arc<Mutex<Option<Value>>> = Arc::default();
    let put_seen = seen.clone();
    let get_role = role("/");
    let none = mock!(Client::get_role_policy)
        .then_error(|| GetRolePolicyError::NoSuchEntityException(no_such_entity()));
    let put = mock!(Client::put_role_policy)
        .match_requests(move |r| {
            *put_seen.lock().unwrap() = r
                .policy_document()
                .and_then(|d| serde_json::from_str(d).ok());
            r.policy_name() == Some(denies::REVOKE_SESSIONS_POLICY)
        })
        .then_output(|| PutRolePolicyOutput::builder().build());
    let read_seen = seen.clone();
    let read_back = mock!(Client::get_role_policy).then_output(move || {
        let doc = read_seen.lock().unwrap().clone().unwrap_or_default();
        GetRolePolicyOutput::builder()
            .role_name("web-app-role")
            .policy_name(denies::REVOKE_SESSIONS_POLICY)
            .policy_document(url_encode(&doc.to_string()))
            .build()
            .expect("output")
    });
    let start: DateTime<Utc> = Utc::now();
    let client = mock_client!(
        aws_sdk_iam,
        RuleMode::Sequential,
        [&get_role, &none, &put, &read_back]
    );
    let report = run(client, &input).await.expect("report");
    let doc = seen.lock().unwrap().clone().expect("put");
    let cutoff = denies::sessions_cutoff(&doc).expect("cutoff");
    let t = DateTime::parse_from_rfc3339(&cutoff).expect("rfc3339");
    assert!((t.timestamp() - start.timestamp()).abs() <= 2, "{cutoff}");
    assert_eq!(report.evidence["tokenIssueTimeCutoff"], json!(cutoff));
}

#[tokio::test]
async fn service_linked_role_is_left_alone() {
    let input = input(
        "ASIAIOSFODNN7EXAMPLE",
        "AssumedRole",
        "AWSServiceRoleForECS",
    );
    let get_role = role("/aws-service-role/ecs.amazonaws.com/");
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
    let keys = mock!(Client::list_access_keys)
        .then_error(|| ListAccessKeysError::NoSuchEntityException(no_such_entity()));
    let client = mock_client!(aws_sdk_iam, [&keys]);
    let err = run(client, &input).await.expect_err("missing");
    assert_eq!(err.name, names::REMEDIATION_TARGET_NOT_FOUND);
    assert!(
        err.message.contains("iam:ListAccessKeys"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn throttling_is_named_for_the_state_machine_to_retry() {
    let input = input(AKIA, "IAMUser", "ci-deployer");
    let before = keys(StatusType::Inactive);
    let none_attached = attached(&[]);
    let no_policy = mock!(Client::get_user_policy)
        .then_error(|| GetUserPolicyError::NoSuchEntityException(no_such_entity()));
    let attach = mock!(Client::attach_user_policy).then_error(|| {
        AttachUserPolicyError::generic(
            ErrorMetadata::builder()
                .code("Throttling")
                .message("Rate exceeded")
                .build(),
        )
    });
    let client = mock_client!(
        aws_sdk_iam,
        RuleMode::Sequential,
        [&before, &none_attached, &no_policy, &attach],
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
    let before = keys(StatusType::Inactive);
    let contained = attached(&[DENY_ALL_ARN]);
    let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&before, &contained]);
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
    assert_eq!(out["evidence"]["deny"], "AWSDenyAll");
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
