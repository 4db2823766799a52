//! The SDK adapters against aws-smithy-mocks, through the real `check` logic.

use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_ec2::operation::describe_instances::{DescribeInstancesError, DescribeInstancesOutput};
use aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput;
use aws_sdk_ec2::types::{GroupIdentifier, InstanceNetworkInterface, IpPermission, SecurityGroup};
use aws_sdk_ec2::types::{Instance, InstanceState, InstanceStateName, Reservation};
use aws_sdk_iam::operation::get_role::GetRoleOutput;
use aws_sdk_iam::operation::get_role_policy::{GetRolePolicyError, GetRolePolicyOutput};
use aws_sdk_iam::operation::list_access_keys::ListAccessKeysOutput;
use aws_sdk_iam::operation::list_attached_user_policies::ListAttachedUserPoliciesOutput;
use aws_sdk_iam::operation::list_role_tags::ListRoleTagsOutput;
use aws_sdk_iam::operation::list_user_tags::{ListUserTagsError, ListUserTagsOutput};
use aws_sdk_iam::types::{AccessKeyMetadata, AttachedPolicy, Role, StatusType};
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
use responder_core::denies;

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
        execution_start_time: None,
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
    instance_in(id, state, tags, &[("sg-web", "web")])
}

fn instance_in(
    id: &str,
    state: InstanceStateName,
    tags: &[(&str, &str)],
    groups: &[(&str, &str)],
) -> DescribeInstancesOutput {
    let mut eni = InstanceNetworkInterface::builder()
        .network_interface_id("eni-1")
        .vpc_id("vpc-1");
    for (gid, name) in groups {
        eni = eni.groups(
            GroupIdentifier::builder()
                .group_id(*gid)
                .group_name(*name)
                .build(),
        );
    }
    let mut i = Instance::builder()
        .instance_id(id)
        .network_interfaces(eni.build())
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
    crate::check(
        &Policy::default(),
        input,
        crate::Readers::all(t),
        None,
        chrono::Utc::now(),
    )
    .await
}

#[tokio::test]
async fn a_plain_instance_is_eligible_in_the_own_account_without_assuming_a_role() {
    let (sts, assume) = no_sts();
    let (t, seen) = targets(
        sts,
        vec![describe("i-0a1b2c3d4e5f60701", &[("Name", "web-01")])],
        vec![],
    );
    let r = run(&t, &input(EC2_HIGH)).await.expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    assert_eq!(assume.num_calls(), 0);
    assert_eq!(
        seen_scopes(&seen).await,
        [("eu-west-1".to_string(), "AKIDSECURITYACCOUNT".to_string())]
    );
}

#[tokio::test]
async fn the_real_state_of_the_groups_decides_already_contained() {
    let q = markers::QUARANTINE_GROUP_NAME;
    let describe_q = mock!(aws_sdk_ec2::Client::describe_instances).then_output(move || {
        instance_in(
            "i-0a1b2c3d4e5f60701",
            InstanceStateName::Running,
            &[],
            &[("sg-q", q)],
        )
    });
    let rules = mock!(aws_sdk_ec2::Client::describe_security_groups)
        .match_requests(|r| r.group_ids() == ["sg-q"])
        .then_output(move || {
            DescribeSecurityGroupsOutput::builder()
                .security_groups(
                    SecurityGroup::builder()
                        .group_id("sg-q")
                        .group_name(q)
                        .vpc_id("vpc-1")
                        .ip_permissions_egress(
                            IpPermission::builder()
                                .ip_protocol("tcp")
                                .from_port(443)
                                .to_port(443)
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
    let (sts, _) = no_sts();
    let (t, _) = targets(sts, vec![describe_q, rules], vec![]);
    let r = run(&t, &input(EC2_HIGH)).await.expect("ok");
    assert_eq!(r.status, Eligibility::AlreadyContained, "{r:?}");
}

#[tokio::test]
async fn a_forged_marker_is_ignored() {
    let (sts, _) = no_sts();
    let (t, _) = targets(
        sts,
        vec![describe(
            "i-0a1b2c3d4e5f60701",
            &[(markers::TAG_STATUS, markers::STATUS_QUARANTINED)],
        )],
        vec![],
    );
    let r = run(&t, &input(EC2_HIGH)).await.expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    assert_eq!(r.ignored.len(), 1, "{r:?}");
}

#[tokio::test]
async fn missing_or_terminated_instance_is_target_not_found() {
    let gone = mock!(aws_sdk_ec2::Client::describe_instances)
        .then_output(|| instance("i-0a1b2c3d4e5f60701", InstanceStateName::Terminated, &[]));
    let (sts, _) = no_sts();
    let (t, _) = targets(sts, vec![gone], vec![]);
    assert_eq!(
        run(&t, &input(EC2_HIGH)).await.expect_err("gone").name,
        names::REMEDIATION_TARGET_NOT_FOUND
    );
    let unknown = mock!(aws_sdk_ec2::Client::describe_instances).then_error(|| {
        DescribeInstancesError::generic(
            ErrorMetadata::builder()
                .code("InvalidInstanceID.NotFound")
                .build(),
        )
    });
    let (sts, _) = no_sts();
    let (t, _) = targets(sts, vec![unknown], vec![]);
    assert_eq!(
        run(&t, &input(EC2_HIGH)).await.expect_err("unknown").name,
        names::REMEDIATION_TARGET_NOT_FOUND
    );
}

#[tokio::test]
async fn throttling_is_a_retryable_named_error() {
    let throttled = mock!(aws_sdk_ec2::Client::describe_instances).then_error(|| {
        DescribeInstancesError::generic(
            ErrorMetadata::builder()
                .code("RequestLimitExceeded")
                .message("slow down")
                .build(),
        )
    });
    let (sts, _) = no_sts();
    let (t, _) = targets(sts, vec![throttled], vec![]);
    let e = run(&t, &input(EC2_HIGH)).await.expect_err("throttled");
    assert_eq!(e.name, names::REMEDIATION_THROTTLED);
    assert!(e.is_retryable());
}

#[tokio::test]
async fn member_account_is_read_through_the_assumed_remediation_role() {
    let assume = test_util::assume_role_ok("check-exemption", "ASIAMEMBER");
    let sts = test_util::sts(&[&assume]);
    let (t, seen) = targets(sts, vec![describe("i-0b2c3d4e5f6a70804", &[])], vec![]);
    let r = run(&t, &input(EC2_CROSS)).await.expect("ok");
    assert_eq!(r.status, Eligibility::Eligible);
    assert_eq!(assume.num_calls(), 1);
    assert_eq!(seen_scopes(&seen).await[0].1, "ASIAMEMBER");
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
        .message("cannot be found")
        .build()
}

fn user_tags(tags: &'static [(&'static str, &'static str)]) -> Rule {
    mock!(aws_sdk_iam::Client::list_user_tags).then_output(move || {
        ListUserTagsOutput::builder()
            .set_tags(Some(tags.iter().map(|(k, v)| iam_tag(k, v)).collect()))
            .build()
            .expect("output")
    })
}

#[tokio::test]
async fn a_user_key_is_contained_when_inactive_with_aws_deny_all_attached() {
    let keys = mock!(aws_sdk_iam::Client::list_access_keys).then_output(|| {
        ListAccessKeysOutput::builder()
            .access_key_metadata(
                AccessKeyMetadata::builder()
                    .access_key_id("AKIA4EXAMPLEBUILDBOT")
                    .status(StatusType::Inactive)
                    .build(),
            )
            .build()
            .expect("output")
    });
    let attached = mock!(aws_sdk_iam::Client::list_attached_user_policies).then_output(|| {
        ListAttachedUserPoliciesOutput::builder()
            .attached_policies(
                AttachedPolicy::builder()
                    .policy_arn("arn:aws:iam::aws:policy/AWSDenyAll")
                    .policy_name("AWSDenyAll")
                    .build(),
            )
            .is_truncated(false)
            .build()
    });
    let (sts, _) = no_sts();
    let (t, _) = targets(
        sts,
        vec![],
        vec![
            user_tags(&[("AutoRemediation", "disabled")]),
            keys,
            attached,
        ],
    );
    let r = run(&t, &input(IAM_USER)).await.expect("ok");
    assert_eq!(r.status, Eligibility::AlreadyContained, "{r:?}");
    assert_eq!(
        r.ignored.len(),
        1,
        "the principal's tag is reported as not honoured"
    );
}

#[tokio::test]
async fn a_missing_user_is_target_not_found() {
    let missing = mock!(aws_sdk_iam::Client::list_user_tags)
        .then_error(|| ListUserTagsError::generic(no_such_entity()));
    let (sts, _) = no_sts();
    let (t, _) = targets(sts, vec![], vec![missing]);
    assert_eq!(
        run(&t, &input(IAM_USER)).await.expect_err("missing").name,
        names::REMEDIATION_TARGET_NOT_FOUND
    );
}

fn get_role(path: &'static str) -> Rule {
    mock!(aws_sdk_iam::Client::get_role).then_output(move || {
        GetRoleOutput::builder()
            .role(
                Role::builder()
                    .path(path)
                    .role_name("web-app-role")
                    .role_id("AROA4EXAMPLEWEBAPPRL")
                    .arn("arn:aws:iam::111111111111:role/web-app-role")
                    .create_date(aws_smithy_types::DateTime::from_secs(0))
                    .build()
                    .expect("role"),
            )
            .build()
    })
}

#[tokio::test]
async fn an_instance_session_named_in_the_roles_deny_is_contained_and_a_service_linked_role_exempt()
{
    let tags = mock!(aws_sdk_iam::Client::list_role_tags).then_output(|| {
        ListRoleTagsOutput::builder()
            .set_tags(Some(vec![]))
            .build()
            .expect("output")
    });
    let deny = mock!(aws_sdk_iam::Client::get_role_policy)
        .match_requests(|r| r.policy_name() == Some(denies::DENY_INSTANCE_SESSIONS_POLICY))
        .then_output(|| {
            let doc = denies::deny_instance_sessions(
                &["AROA4EXAMPLEWEBAPPRL:i-0a1b2c3d4e5f60701".into()],
                &[],
            );
            let encoded: String = doc
                .to_string()
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            GetRolePolicyOutput::builder()
                .role_name("web-app-role")
                .policy_name(denies::DENY_INSTANCE_SESSIONS_POLICY)
                .policy_document(encoded)
                .build()
                .expect("output")
        });
    let (sts, _) = no_sts();
    let (t, _) = targets(sts, vec![], vec![get_role("/"), tags, deny]);
    assert_eq!(
        run(&t, &input(IAM_ROLE)).await.expect("ok").status,
        Eligibility::AlreadyContained
    );

    let none = mock!(aws_sdk_iam::Client::get_role_policy)
        .then_error(|| GetRolePolicyError::generic(no_such_entity()));
    let tags = mock!(aws_sdk_iam::Client::list_role_tags).then_output(|| {
        ListRoleTagsOutput::builder()
            .set_tags(Some(vec![]))
            .build()
            .expect("output")
    });
    let (sts, _) = no_sts();
    let (t, _) = targets(sts, vec![], vec![get_role("/"), tags, none]);
    assert_eq!(
        run(&t, &input(IAM_ROLE)).await.expect("ok").status,
        Eligibility::Eligible
    );

    let (sts, _) = no_sts();
    let (t, _) = targets(
        sts,
        vec![],
        vec![get_role("/aws-service-role/ecs.amazonaws.com/")],
    );
    assert_eq!(
        run(&t, &input(IAM_ROLE)).await.expect("ok").status,
        Eligibility::Exempt
    );
}

#[tokio::test]
async fn a_policy_read_error_other_than_no_such_entity_is_not_taken_as_absent() {
    let denied = mock!(aws_sdk_iam::Client::get_role_policy).then_error(|| {
        GetRolePolicyError::generic(ErrorMetadata::builder().code("AccessDenied").build())
    });
    let tags = mock!(aws_sdk_iam::Client::list_role_tags).then_output(|| {
        ListRoleTagsOutput::builder()
            .set_tags(Some(vec![]))
            .build()
            .expect("output")
    });
    let (sts, _) = no_sts();
    let (t, _) = targets(sts, vec![], vec![get_role("/"), tags, denied]);
    assert_eq!(
        run(&t, &input(IAM_ROLE)).await.expect_err("denied").name,
        names::REMEDIATION_ACCESS_DENIED
    );
}

#[test]
fn iam_actions_are_sorted_unique_and_cover_the_calls() {
    let mut sorted = IAM_ACTIONS.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), IAM_ACTIONS.len(), "unique");
    // The Lambda read is shared with contain-function, in responder-aws.
    let source = [
        include_str!("../aws.rs"),
        include_str!("../../../../crates/responder-aws/src/lambda.rs"),
    ]
    .concat();
    for (op, action) in [
        (".put_item()", "dynamodb:PutItem"),
        (".describe_execution()", "states:DescribeExecution"),
        (".describe_instances()", "ec2:DescribeInstances"),
        (".describe_security_groups()", "ec2:DescribeSecurityGroups"),
        (".list_user_tags()", "iam:ListUserTags"),
        (".list_role_tags()", "iam:ListRoleTags"),
        (".get_role()", "iam:GetRole"),
        (".get_user_policy()", "iam:GetUserPolicy"),
        (".get_role_policy()", "iam:GetRolePolicy"),
        (".list_access_keys()", "iam:ListAccessKeys"),
        (
            ".list_attached_user_policies()",
            "iam:ListAttachedUserPolicies",
        ),
        (".get_function()", "lambda:GetFunction"),
        (
            ".get_function_concurrency()",
            "lambda:GetFunctionConcurrency",
        ),
    ] {
        assert!(source.contains(op), "{op}");
        assert!(IAM_ACTIONS.contains(&action), "{action}");
    }
    // The bucket read is shared with contain-bucket (responder_aws::s3::bucket).
    let shared = include_str!("../../../../crates/responder-aws/src/s3.rs");
    for (op, action) in [
        (
            ".get_public_access_block()",
            "s3:GetBucketPublicAccessBlock",
        ),
        (".get_bucket_tagging()", "s3:GetBucketTagging"),
        (".get_bucket_policy()", "s3:GetBucketPolicy"),
    ] {
        assert!(shared.contains(op), "{op}");
        assert!(IAM_ACTIONS.contains(&action), "{action}");
    }
    // The DB instance read is shared with contain-database (responder_aws::rds::instance).
    let shared = include_str!("../../../../crates/responder-aws/src/rds.rs");
    assert!(shared.contains(".describe_db_instances()"));
    assert!(IAM_ACTIONS.contains(&"rds:DescribeDBInstances"));
    assert_eq!(IAM_ACTIONS.len(), 18);
}

// ---------------------------------------------------------------------------------------------
// Claims (DynamoDB) and executions (Step Functions), in the security account
// ---------------------------------------------------------------------------------------------

mod claims {
    use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
    use aws_sdk_sfn::operation::describe_execution::{
        DescribeExecutionError, DescribeExecutionOutput,
    };
    use aws_sdk_sfn::types::ExecutionStatus;
    use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
    use aws_smithy_types::error::ErrorMetadata;
    use aws_smithy_types::retry::RetryConfig;
    use responder_core::names;

    use super::{input, EC2_HIGH};
    use crate::aws::{AwsClaims, AwsExecutions, CLAIM_CONDITION, TAKE_OVER_CONDITION};
    use crate::claim::{Claim, ClaimOutcome, Claims, Executions};

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
    async fn the_claim_is_a_conditional_put_keyed_by_the_resource() {
        let c = claim("arn:aws:states:eu-west-1:111111111111:execution:rf:a");
        let put = mock!(aws_sdk_dynamodb::Client::put_item)
            .match_requests(move |r| {
                let item = r.item().expect("item");
                r.table_name() == Some(TABLE)
                    && r.condition_expression() == Some(CLAIM_CONDITION)
                    && r.return_values_on_condition_check_failure()
                        == Some(&ReturnValuesOnConditionCheckFailure::AllOld)
                    && s(item, "pk").as_deref()
                        == Some("resource#aws#111111111111#eu-west-1#i-0a1b2c3d4e5f60701")
                    && s(item, "claimedAt").as_deref() == Some("2025-02-03T16:00:00Z")
                    && item
                        .get("expiresAt")
                        .and_then(|v| v.as_n().ok())
                        .map(String::as_str)
                        == Some("1738609200")
            })
            .then_output(|| PutItemOutput::builder().build());
        let claims = AwsClaims::new(dynamodb(&[&put]), TABLE);
        assert_eq!(claims.claim(&c).await.expect("ok"), ClaimOutcome::Claimed);
        assert_eq!(put.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_failed_condition_names_the_holder_and_a_take_over_names_it_in_the_condition() {
        let refused = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
            PutItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder()
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
        let take = mock!(aws_sdk_dynamodb::Client::put_item)
            .match_requests(|r| {
                r.condition_expression() == Some(TAKE_OVER_CONDITION)
                    && r.expression_attribute_values()
                        .and_then(|v| v.get(":holder"))
                        .and_then(|v| v.as_s().ok())
                        .map(String::as_str)
                        == Some("arn:exec:first")
            })
            .then_output(|| PutItemOutput::builder().build());
        let claims = AwsClaims::new(dynamodb(&[&take]), TABLE);
        assert_eq!(
            claims
                .take_over(&claim("arn:exec:second"), "arn:exec:first")
                .await
                .expect("ok"),
            ClaimOutcome::Claimed
        );
    }

    #[tokio::test]
    async fn throttling_is_retryable() {
        let put = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
            PutItemError::generic(
                ErrorMetadata::builder()
                    .code("ProvisionedThroughputExceededException")
                    .build(),
            )
        });
        let claims = AwsClaims::new(dynamodb(&[&put]), TABLE);
        let e = claims.claim(&claim("a")).await.expect_err("throttled");
        assert_eq!(e.name, names::REMEDIATION_THROTTLED);
    }

    fn sfn(rules: &[&Rule]) -> aws_sdk_sfn::Client {
        mock_client!(aws_sdk_sfn, RuleMode::Sequential, rules, |c| c
            .retry_config(RetryConfig::disabled()))
    }

    #[tokio::test]
    async fn an_execution_runs_until_it_has_a_final_status_or_is_gone() {
        const ARN: &str = "arn:aws:states:eu-west-1:111111111111:execution:rf:a";
        let describe = |status: ExecutionStatus| {
            mock!(aws_sdk_sfn::Client::describe_execution)
                .match_requests(|r| r.execution_arn() == Some(ARN))
                .then_output(move || {
                    DescribeExecutionOutput::builder()
                        .execution_arn(ARN)
                        .state_machine_arn("arn:aws:states:eu-west-1:111111111111:stateMachine:rf")
                        .status(status.clone())
                        .start_date(aws_smithy_types::DateTime::from_secs(0))
                        .build()
                        .expect("output")
                })
        };
        let running = describe(ExecutionStatus::Running);
        assert_eq!(
            AwsExecutions::new(sfn(&[&running])).running(ARN).await,
            Ok(Some(true))
        );
        let failed = describe(ExecutionStatus::Failed);
        assert_eq!(
            AwsExecutions::new(sfn(&[&failed])).running(ARN).await,
            Ok(Some(false))
        );
        let gone = mock!(aws_sdk_sfn::Client::describe_execution).then_error(|| {
            DescribeExecutionError::generic(
                ErrorMetadata::builder()
                    .code("ExecutionDoesNotExist")
                    .build(),
            )
        });
        assert_eq!(
            AwsExecutions::new(sfn(&[&gone])).running(ARN).await,
            Ok(Some(false))
        );
        let denied = mock!(aws_sdk_sfn::Client::describe_execution).then_error(|| {
            DescribeExecutionError::generic(
                ErrorMetadata::builder()
                    .code("AccessDeniedException")
                    .build(),
            )
        });
        assert_eq!(
            AwsExecutions::new(sfn(&[&denied])).running(ARN).await,
            Ok(None)
        );
        assert_eq!(
            AwsExecutions::new(sfn(&[])).running("manual").await,
            Ok(None)
        );
    }
}

/// The session check-exemption takes in member accounts allows only its reads: it can never
/// write an IAM policy or change an instance, whatever the shared member role grants.
#[test]
fn the_member_session_policy_is_read_only() {
    let policy = responder_aws::session::session_policy(IAM_ACTIONS);
    let actions = responder_aws::session::session_policy_actions(&policy);
    assert!(!actions.is_empty());
    for a in &actions {
        let verb = a.split(':').nth(1).unwrap_or("");
        assert!(
            ["Describe", "Get", "List"]
                .iter()
                .any(|p| verb.starts_with(p)),
            "{a} is not a read"
        );
    }
    assert!(!actions
        .iter()
        .any(|a| a.starts_with("dynamodb:") || a.starts_with("states:")));
}
