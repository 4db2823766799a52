//! The SDK adapters against aws-smithy-mocks, through the real `check` logic.

use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_ec2::operation::describe_instances::{DescribeInstancesError, DescribeInstancesOutput};
use aws_sdk_ec2::types::{Instance, InstanceState, InstanceStateName, Reservation};
use aws_sdk_iam::operation::get_role::GetRoleOutput;
use aws_sdk_iam::operation::get_role_policy::{GetRolePolicyError, GetRolePolicyOutput};
use aws_sdk_iam::operation::get_user_policy::{GetUserPolicyError, GetUserPolicyOutput};
use aws_sdk_iam::operation::list_role_tags::ListRoleTagsOutput;
use aws_sdk_iam::operation::list_user_tags::{ListUserTagsError, ListUserTagsOutput};
use aws_sdk_iam::types::Role;
use aws_sdk_sts::operation::assume_role::AssumeRoleOutput;
use aws_smithy_mocks::{create_mock_http_client, mock, MockResponseInterceptor, Rule, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use responder_aws::{test_util, SessionProvider};
use responder_core::{
    markers, names, Eligibility, ExemptionResult, Finding, Policy, TaskError, TaskInput,
};
use serde_json::Value;

use super::{AwsTargets, IAM_ACTIONS};

const EC2_HIGH: &str = include_str!("../../../../fixtures/events/ec2-high-single-eni.json");
const EC2_CROSS: &str = include_str!("../../../../fixtures/events/ec2-high-cross-account.json");
const IAM_USER: &str = include_str!("../../../../fixtures/events/iam-high-akia-user.json");
const IAM_ROLE: &str = include_str!("../../../../fixtures/events/iam-high-asia-role.json");

fn input(event: &str) -> TaskInput {
    let event: Value = serde_json::from_str(event).expect("fixture is JSON");
    let finding = Finding::from_event(&event).expect("fixture parses");
    let decision = Policy::default().decide(&finding);
    TaskInput {
        finding,
        decision,
        execution: None,
        results: None,
        approval_timeout_seconds: None,
    }
}

/// The SDK configurations the client factories were given.
type Seen = Arc<Mutex<Vec<SdkConfig>>>;

fn interceptor(rules: &[Rule]) -> MockResponseInterceptor {
    rules.iter().fold(
        MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny),
        |i, r| i.with_rule(r),
    )
}

fn record(seen: &Seen, cfg: &SdkConfig) {
    seen.lock().expect("lock").push(cfg.clone());
}

/// The region and access key id of every configuration a factory was given.
async fn seen_scopes(seen: &Seen) -> Vec<(String, String)> {
    let configs = seen.lock().expect("lock").clone();
    let mut out = Vec::new();
    for cfg in configs {
        let region = cfg.region().map(|r| r.to_string()).unwrap_or_default();
        let creds = cfg
            .credentials_provider()
            .expect("credentials provider")
            .provide_credentials()
            .await
            .expect("credentials");
        out.push((region, creds.access_key_id().to_string()));
    }
    out
}

/// Adapters whose clients answer from `ec2_rules` / `iam_rules`, with SDK retries off so a
/// throttle reaches the task (the state machine retries it).
fn targets(
    sts: aws_sdk_sts::Client,
    ec2_rules: Vec<Rule>,
    iam_rules: Vec<Rule>,
) -> (AwsTargets, Seen) {
    let seen: Seen = Arc::default();
    let (seen_ec2, seen_iam) = (seen.clone(), seen.clone());
    let sessions = SessionProvider::with_sts(
        test_util::base_config_with_key("AKIDSECURITYACCOUNT"),
        sts,
        test_util::session_config("check-exemption"),
    );
    let t = AwsTargets::with_factories(
        sessions,
        Box::new(move |cfg| {
            record(&seen_ec2, cfg);
            aws_sdk_ec2::Client::from_conf(
                aws_sdk_ec2::config::Builder::from(cfg)
                    .retry_config(RetryConfig::disabled())
                    .interceptor(interceptor(&ec2_rules))
                    .http_client(create_mock_http_client())
                    .build(),
            )
        }),
        Box::new(move |cfg| {
            record(&seen_iam, cfg);
            aws_sdk_iam::Client::from_conf(
                aws_sdk_iam::config::Builder::from(cfg)
                    .retry_config(RetryConfig::disabled())
                    .interceptor(interceptor(&iam_rules))
                    .http_client(create_mock_http_client())
                    .build(),
            )
        }),
    );
    (t, seen)
}

fn no_sts() -> (aws_sdk_sts::Client, Rule) {
    let rule =
        mock!(aws_sdk_sts::Client::assume_role).then_output(|| AssumeRoleOutput::builder().build());
    (test_util::sts(&[&rule]), rule)
}

fn instance(id: &str, state: InstanceStateName, tags: &[(&str, &str)]) -> DescribeInstancesOutput {
    let mut i = Instance::builder()
        .instance_id(id)
        .state(InstanceState::builder().name(state).build());
    for (k, v) in tags {
        i = i.tags(aws_sdk_ec2::types::Tag::builder().key(*k).value(*v).build());
    }
    DescribeInstancesOutput::builder()
        .reservations(Reservation::builder().instances(i.build()).build())
        .build()
}

fn describe(id: &'static str, tags: &'static [(&'static str, &'static str)]) -> Rule {
    mock!(aws_sdk_ec2::Client::describe_instances)
        .match_requests(move |r| {
            r.filters()
                .iter()
                .any(|f| f.name() == Some("instance-id") && f.values() == [id])
        })
        .then_output(move || instance(id, InstanceStateName::Running, tags))
}

async fn run(t: &AwsTargets, input: &TaskInput) -> Result<ExemptionResult, TaskError> {
    crate::check(&Policy::default(), input, t, t, None).await
}

#[tokio::test]
async fn tagged_instance_is_exempt_in_the_own_account_without_assuming_a_role() {
    let (sts, assume) = no_sts();
    let (t, seen) = targets(
        sts,
        vec![describe(
            "i-0a1b2c3d4e5f60701",
            &[("AutoRemediation", "Disabled")],
        )],
        vec![],
    );
    let r = run(&t, &input(EC2_HIGH)).await.expect("ok");
    assert_eq!(r.status, Eligibility::Exempt);
    assert_eq!(assume.num_calls(), 0);
    assert_eq!(
        seen_scopes(&seen).await,
        [("eu-west-1".to_string(), "AKIDSECURITYACCOUNT".to_string())]
    );
}

#[tokio::test]
async fn quarantined_instance_is_already_contained() {
    let (sts, _) = no_sts();
    let (t, _) = targets(
        sts,
        vec![describe(
            "i-0a1b2c3d4e5f60701",
            &[(markers::TAG_STATUS, markers::STATUS_QUARANTINED)],
        )],
        vec![],
    );
    assert_eq!(
        run(&t, &input(EC2_HIGH)).await.expect("ok").status,
        Eligibility::AlreadyContained
    );
}

#[tokio::test]
async fn plain_instance_is_eligible() {
    let (sts, _) = no_sts();
    let (t, _) = targets(
        sts,
        vec![describe("i-0a1b2c3d4e5f60701", &[("Name", "web-01")])],
        vec![],
    );
    let r = run(&t, &input(EC2_HIGH)).await.expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    assert_eq!(r.target, "i-0a1b2c3d4e5f60701");
}

#[tokio::test]
async fn missing_or_terminated_instance_is_target_not_found() {
    let empty = mock!(aws_sdk_ec2::Client::describe_instances)
        .then_output(|| DescribeInstancesOutput::builder().build());
    let not_found = mock!(aws_sdk_ec2::Client::describe_instances).then_error(|| {
        DescribeInstancesError::generic(
            ErrorMetadata::builder()
                .code("InvalidInstanceID.NotFound")
                .message("The instance ID 'i-0a1b2c3d4e5f60701' does not exist")
                .build(),
        )
    });
    let terminated = mock!(aws_sdk_ec2::Client::describe_instances)
        .then_output(|| instance("i-0a1b2c3d4e5f60701", InstanceStateName::Terminated, &[]));
    for rule in [empty, not_found, terminated] {
        let (sts, _) = no_sts();
        let (t, _) = targets(sts, vec![rule], vec![]);
        let e = run(&t, &input(EC2_HIGH)).await.expect_err("not found");
        assert_eq!(e.name, names::REMEDIATION_TARGET_NOT_FOUND, "{e}");
    }
}

#[tokio::test]
async fn throttling_is_a_retryable_named_error_then_the_retry_succeeds() {
    let rule = mock!(aws_sdk_ec2::Client::describe_instances)
        .sequence()
        .error(|| {
            DescribeInstancesError::generic(
                ErrorMetadata::builder()
                    .code("RequestLimitExceeded")
                    .message("Request limit exceeded.")
                    .build(),
            )
        })
        .output(|| instance("i-0a1b2c3d4e5f60701", InstanceStateName::Running, &[]))
        .build();
    let (sts, _) = no_sts();
    let (t, _) = targets(sts, vec![rule.clone()], vec![]);
    let e = run(&t, &input(EC2_HIGH)).await.expect_err("throttled");
    assert_eq!(e.name, names::REMEDIATION_THROTTLED);
    assert!(e.message.contains("ec2:DescribeInstances"), "{}", e.message);
    // The state machine's retry calls the task again.
    let r = run(&t, &input(EC2_HIGH)).await.expect("retry succeeds");
    assert_eq!(r.status, Eligibility::Eligible);
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn access_denied_is_named() {
    let rule = mock!(aws_sdk_ec2::Client::describe_instances).then_error(|| {
        DescribeInstancesError::generic(
            ErrorMetadata::builder()
                .code("UnauthorizedOperation")
                .build(),
        )
    });
    let (sts, _) = no_sts();
    let (t, _) = targets(sts, vec![rule], vec![]);
    assert_eq!(
        run(&t, &input(EC2_HIGH)).await.expect_err("denied").name,
        names::REMEDIATION_ACCESS_DENIED
    );
}

#[tokio::test]
async fn member_account_is_read_through_the_assumed_remediation_role() {
    let assume = test_util::assume_role_ok("check-exemption", "ASIAMEMBERSESSION");
    let sts = test_util::sts(&[&assume]);
    let (t, seen) = targets(sts, vec![describe("i-0b2c3d4e5f6a70804", &[])], vec![]);
    let r = run(&t, &input(EC2_CROSS)).await.expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    assert_eq!(assume.num_calls(), 1);
    assert_eq!(
        seen_scopes(&seen).await,
        [("eu-west-1".to_string(), "ASIAMEMBERSESSION".to_string())]
    );
}

fn iam_tag(k: &str, v: &str) -> aws_sdk_iam::types::Tag {
    aws_sdk_iam::types::Tag::builder()
        .key(k)
        .value(v)
        .build()
        .expect("tag")
}

fn no_such_entity() -> ErrorMetadata {
    ErrorMetadata::builder()
        .code("NoSuchEntity")
        .message("The user policy with name x cannot be found.")
        .build()
}

fn user_tags(tags: &'static [(&'static str, &'static str)]) -> Rule {
    mock!(aws_sdk_iam::Client::list_user_tags)
        .match_requests(|r| r.user_name() == Some("build-bot"))
        .then_output(move || {
            tags.iter()
                .fold(
                    ListUserTagsOutput::builder().set_tags(Some(vec![])),
                    |b, (k, v)| b.tags(iam_tag(k, v)),
                )
                .is_truncated(false)
                .build()
                .expect("output")
        })
}

#[tokio::test]
async fn iam_user_tagged_is_exempt() {
    let (sts, _) = no_sts();
    let (t, _) = targets(
        sts,
        vec![],
        vec![user_tags(&[("AutoRemediation", "disabled")])],
    );
    let r = run(&t, &input(IAM_USER)).await.expect("ok");
    assert_eq!(r.status, Eligibility::Exempt);
    assert_eq!(r.target, "user/build-bot");
}

#[tokio::test]
async fn iam_user_without_the_deny_policy_is_eligible_and_with_it_contained() {
    let inp = input(IAM_USER);
    let name = markers::deny_policy_name(&inp.decision.idempotency_key);
    let wanted = name.clone();
    let missing = mock!(aws_sdk_iam::Client::get_user_policy)
        .match_requests(move |r| {
            r.user_name() == Some("build-bot") && r.policy_name() == Some(wanted.as_str())
        })
        .then_error(|| GetUserPolicyError::generic(no_such_entity()));
    let (sts, _) = no_sts();
    let (t, _) = targets(sts, vec![], vec![user_tags(&[("team", "ci")]), missing]);
    assert_eq!(
        run(&t, &inp).await.expect("ok").status,
        Eligibility::Eligible
    );

    let present = mock!(aws_sdk_iam::Client::get_user_policy).then_output(move || {
        GetUserPolicyOutput::builder()
            .user_name("build-bot")
            .policy_name(name.clone())
            .policy_document("%7B%7D")
            .build()
            .expect("output")
    });
    let (sts, _) = no_sts();
    let (t, _) = targets(sts, vec![], vec![user_tags(&[]), present]);
    assert_eq!(
        run(&t, &inp).await.expect("ok").status,
        Eligibility::AlreadyContained
    );
}

#[tokio::test]
async fn iam_user_not_found_and_throttled() {
    let gone = mock!(aws_sdk_iam::Client::list_user_tags)
        .then_error(|| ListUserTagsError::generic(no_such_entity()));
    let (sts, _) = no_sts();
    let (t, _) = targets(sts, vec![], vec![gone]);
    assert_eq!(
        run(&t, &input(IAM_USER)).await.expect_err("gone").name,
        names::REMEDIATION_TARGET_NOT_FOUND
    );
    let slow = mock!(aws_sdk_iam::Client::list_user_tags).then_error(|| {
        ListUserTagsError::generic(ErrorMetadata::builder().code("Throttling").build())
    });
    let (sts, _) = no_sts();
    let (t, _) = targets(sts, vec![], vec![slow]);
    assert_eq!(
        run(&t, &input(IAM_USER)).await.expect_err("slow").name,
        names::REMEDIATION_THROTTLED
    );
}

fn get_role(path: &'static str) -> Rule {
    mock!(aws_sdk_iam::Client::get_role)
        .match_requests(|r| r.role_name() == Some("web-app-role"))
        .then_output(move || {
            GetRoleOutput::builder()
                .role(
                    Role::builder()
                        .role_name("web-app-role")
                        .path(path)
                        .role_id("AROA4EXAMPLEWEBAPPRL")
                        .arn(format!("arn:aws:iam::111111111111:role{path}web-app-role"))
                        .create_date(aws_smithy_types::DateTime::from_secs(1_700_000_000))
                        .build()
                        .expect("role"),
                )
                .build()
        })
}

#[tokio::test]
async fn service_linked_role_is_exempt_without_reading_tags() {
    let tags = mock!(aws_sdk_iam::Client::list_role_tags).then_output(|| {
        ListRoleTagsOutput::builder()
            .set_tags(Some(vec![]))
            .build()
            .expect("output")
    });
    let (sts, _) = no_sts();
    let (t, _) = targets(
        sts,
        vec![],
        vec![
            get_role("/aws-service-role/ecs.amazonaws.com/"),
            tags.clone(),
        ],
    );
    let r = run(&t, &input(IAM_ROLE)).await.expect("ok");
    assert_eq!(r.status, Eligibility::Exempt);
    assert!(r.reason.contains("service-linked role"), "{}", r.reason);
    assert_eq!(tags.num_calls(), 0);
}

#[tokio::test]
async fn role_rules_read_tags_and_the_deny_policy() {
    let tagged = mock!(aws_sdk_iam::Client::list_role_tags)
        .match_requests(|r| r.role_name() == Some("web-app-role"))
        .then_output(|| {
            ListRoleTagsOutput::builder()
                .tags(iam_tag("AutoRemediation", "DISABLED"))
                .build()
                .expect("output")
        });
    let (sts, _) = no_sts();
    let (t, _) = targets(sts, vec![], vec![get_role("/"), tagged]);
    assert_eq!(
        run(&t, &input(IAM_ROLE)).await.expect("ok").status,
        Eligibility::Exempt
    );

    let untagged = mock!(aws_sdk_iam::Client::list_role_tags).then_output(|| {
        ListRoleTagsOutput::builder()
            .set_tags(Some(vec![]))
            .build()
            .expect("output")
    });
    let no_policy = mock!(aws_sdk_iam::Client::get_role_policy)
        .then_error(|| GetRolePolicyError::generic(no_such_entity()));
    let (sts, _) = no_sts();
    let (t, _) = targets(
        sts,
        vec![],
        vec![get_role("/app/"), untagged.clone(), no_policy],
    );
    assert_eq!(
        run(&t, &input(IAM_ROLE)).await.expect("ok").status,
        Eligibility::Eligible
    );

    let has_policy = mock!(aws_sdk_iam::Client::get_role_policy).then_output(|| {
        GetRolePolicyOutput::builder()
            .role_name("web-app-role")
            .policy_name("guardduty-responder-deny-x")
            .policy_document("%7B%7D")
            .build()
            .expect("output")
    });
    let (sts, _) = no_sts();
    let (t, _) = targets(sts, vec![], vec![get_role("/app/"), untagged, has_policy]);
    assert_eq!(
        run(&t, &input(IAM_ROLE)).await.expect("ok").status,
        Eligibility::AlreadyContained
    );
}

#[tokio::test]
async fn a_policy_read_error_other_than_no_such_entity_is_not_taken_as_absent() {
    let denied = mock!(aws_sdk_iam::Client::get_user_policy).then_error(|| {
        GetUserPolicyError::generic(ErrorMetadata::builder().code("AccessDenied").build())
    });
    let (sts, _) = no_sts();
    let (t, _) = targets(sts, vec![], vec![user_tags(&[]), denied]);
    assert_eq!(
        run(&t, &input(IAM_USER)).await.expect_err("denied").name,
        names::REMEDIATION_ACCESS_DENIED
    );
}

#[test]
fn iam_actions_are_sorted_unique_and_cover_the_calls() {
    let mut sorted = IAM_ACTIONS.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, IAM_ACTIONS, "keep IAM_ACTIONS sorted and unique");
    for a in [
        "dynamodb:PutItem",
        "ec2:DescribeInstances",
        "iam:ListUserTags",
        "iam:ListRoleTags",
        "iam:GetRole",
        "iam:GetUserPolicy",
        "iam:GetRolePolicy",
        "sts:AssumeRole",
    ] {
        assert!(IAM_ACTIONS.contains(&a), "{a}");
    }
    assert_eq!(IAM_ACTIONS.len(), 8);
    // The source makes exactly these calls: every SDK operation named in this adapter
    // appears in the list.
    let source = include_str!("../aws.rs");
    for (op, action) in [
        (".put_item()", "dynamodb:PutItem"),
        (".describe_instances()", "ec2:DescribeInstances"),
        (".list_user_tags()", "iam:ListUserTags"),
        (".list_role_tags()", "iam:ListRoleTags"),
        (".get_role()", "iam:GetRole"),
        (".get_user_policy()", "iam:GetUserPolicy"),
        (".get_role_policy()", "iam:GetRolePolicy"),
    ] {
        assert!(source.contains(op), "{op}");
        assert!(IAM_ACTIONS.contains(&action));
    }
}

// ---------------------------------------------------------------------------------------------
// Claims (DynamoDB, in the security account)
// ---------------------------------------------------------------------------------------------

mod claims {
    use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
    use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
    use aws_smithy_types::error::ErrorMetadata;
    use aws_smithy_types::retry::RetryConfig;
    use responder_core::{names, Eligibility, Policy};

    use super::{describe, input, targets, EC2_CROSS, EC2_HIGH};
    use crate::aws::{AwsClaims, CLAIM_CONDITION};
    use crate::claim::{Claim, ClaimOutcome, Claims};

    const TABLE: &str = "guardduty-responder-claims";

    fn dynamodb(rules: &[&Rule]) -> aws_sdk_dynamodb::Client {
        mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, rules, |c| c
            .retry_config(RetryConfig::disabled()))
    }

    fn claim(execution: &str) -> Claim {
        let at = chrono::DateTime::parse_from_rfc3339("2025-02-03T16:00:00Z")
            .expect("time")
            .with_timezone(&chrono::Utc);
        let mut input = input(EC2_HIGH);
        input.execution = Some(execution.into());
        Claim::of(&input, at)
    }

    fn s(item: &std::collections::HashMap<String, AttributeValue>, k: &str) -> Option<String> {
        item.get(k).and_then(|v| v.as_s().ok()).cloned()
    }

    #[tokio::test]
    async fn the_claim_is_a_conditional_put_of_the_documented_item() {
        let c = claim("arn:aws:states:eu-west-1:111111111111:execution:rf:a");
        let key = c.key.clone();
        let put = mock!(aws_sdk_dynamodb::Client::put_item)
            .match_requests(move |r| {
                let item = r.item().expect("item");
                let names = r.expression_attribute_names().expect("names");
                let values = r.expression_attribute_values().expect("values");
                r.table_name() == Some(TABLE)
                    && r.condition_expression()
                        == Some("attribute_not_exists(pk) OR #e = :me OR #x < :now")
                    && names.get("#e").map(String::as_str) == Some("execution")
                    && names.get("#x").map(String::as_str) == Some("expiresAt")
                    && values
                        .get(":now")
                        .and_then(|v| v.as_n().ok())
                        .map(String::as_str)
                        == Some("1738598400")
                    && values
                        .get(":me")
                        .and_then(|v| v.as_s().ok())
                        .map(String::as_str)
                        == Some("arn:aws:states:eu-west-1:111111111111:execution:rf:a")
                    && r.return_values_on_condition_check_failure()
                        == Some(&ReturnValuesOnConditionCheckFailure::AllOld)
                    && s(item, "pk") == Some(key.clone())
                    && s(item, "execution").as_deref()
                        == Some("arn:aws:states:eu-west-1:111111111111:execution:rf:a")
                    && s(item, "findingId").as_deref() == Some("3e1a5c7b9d2f4a6c8e0b1d3f5a7c9e11")
                    && s(item, "resource").as_deref() == Some("i-0a1b2c3d4e5f60701")
                    && s(item, "account").as_deref() == Some("111111111111")
                    && s(item, "claimedAt").as_deref() == Some("2025-02-03T16:00:00Z")
                    && item
                        .get("expiresAt")
                        .and_then(|v| v.as_n().ok())
                        .map(String::as_str)
                        == Some("1738599300")
                    && item.len() == 7
            })
            .then_output(|| PutItemOutput::builder().build());
        let claims = AwsClaims::new(dynamodb(&[&put]), TABLE);
        assert_eq!(claims.claim(&c).await.expect("ok"), ClaimOutcome::Claimed);
        assert_eq!(put.num_calls(), 1);
        assert_eq!(
            CLAIM_CONDITION,
            "attribute_not_exists(pk) OR #e = :me OR #x < :now"
        );
    }

    #[tokio::test]
    async fn a_failed_condition_is_a_claim_held_by_the_returned_execution() {
        let refused = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
            PutItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder()
                    .message("The conditional request failed")
                    .item("pk", AttributeValue::S("gd-x".into()))
                    .item("execution", AttributeValue::S("arn:exec:first".into()))
                    .item(
                        "claimedAt",
                        AttributeValue::S("2025-02-03T15:59:58Z".into()),
                    )
                    .build(),
            )
        });
        let claims = AwsClaims::new(dynamodb(&[&refused]), TABLE);
        assert_eq!(
            claims.claim(&claim("arn:exec:second")).await.expect("ok"),
            ClaimOutcome::Held {
                execution: Some("arn:exec:first".into()),
                claimed_at: Some("2025-02-03T15:59:58Z".into()),
            }
        );
        // Without the old item (a table that does not return it), still held.
        let bare = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
            PutItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder().build(),
            )
        });
        let claims = AwsClaims::new(dynamodb(&[&bare]), TABLE);
        assert_eq!(
            claims.claim(&claim("arn:exec:second")).await.expect("ok"),
            ClaimOutcome::Held {
                execution: None,
                claimed_at: None
            }
        );
    }

    #[tokio::test]
    async fn throttling_is_retryable_then_the_retry_claims() {
        let put = mock!(aws_sdk_dynamodb::Client::put_item)
            .sequence()
            .error(|| {
                PutItemError::generic(
                    ErrorMetadata::builder()
                        .code("ProvisionedThroughputExceededException")
                        .message("slow down")
                        .build(),
                )
            })
            .output(|| PutItemOutput::builder().build())
            .build();
        let claims = AwsClaims::new(dynamodb(&[&put]), TABLE);
        let e = claims.claim(&claim("a")).await.expect_err("throttled");
        assert_eq!(e.name, names::REMEDIATION_THROTTLED);
        assert!(e.is_retryable());
        assert!(e.message.contains("dynamodb:PutItem"), "{}", e.message);
        assert_eq!(
            claims.claim(&claim("a")).await.expect("retry"),
            ClaimOutcome::Claimed
        );
    }

    #[tokio::test]
    async fn access_denied_is_named() {
        let put = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
            PutItemError::generic(
                ErrorMetadata::builder()
                    .code("AccessDeniedException")
                    .build(),
            )
        });
        let claims = AwsClaims::new(dynamodb(&[&put]), TABLE);
        assert_eq!(
            claims.claim(&claim("a")).await.expect_err("denied").name,
            names::REMEDIATION_ACCESS_DENIED
        );
    }

    #[tokio::test]
    async fn a_member_account_finding_is_read_there_and_claimed_in_the_security_account() {
        // The targets assume the member role; the claims client is the task's own, so the
        // only AssumeRole is the targets'.
        let assume = responder_aws::test_util::assume_role_ok("check-exemption", "ASIAMEMBER");
        let sts = responder_aws::test_util::sts(&[&assume]);
        let (t, _) = targets(sts, vec![describe("i-0b2c3d4e5f6a70804", &[])], vec![]);
        let put = mock!(aws_sdk_dynamodb::Client::put_item)
            .match_requests(|r| {
                r.item()
                    .and_then(|i| i.get("account"))
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                    == Some("222222222222")
            })
            .then_output(|| PutItemOutput::builder().build());
        let claims = AwsClaims::new(dynamodb(&[&put]), TABLE);
        let mut inp = input(EC2_CROSS);
        inp.execution = Some("exec-1".into());
        let r = crate::check(&Policy::default(), &inp, &t, &t, Some(&claims))
            .await
            .expect("ok");
        assert_eq!(r.status, Eligibility::Eligible);
        assert_eq!(put.num_calls(), 1);
        assert_eq!(assume.num_calls(), 1);
    }
}
