//! Helpers for the tasks' adapter tests (cargo feature `test-util`): sessions over a mocked STS,
//! in a pipeline account [`OWN_ACCOUNT`] that reaches the member account [`MEMBER_ACCOUNT`]
//! through the default remediation role with ExternalId [`EXTERNAL_ID`].

use std::time::{Duration, SystemTime};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_sts::operation::assume_role::AssumeRoleOutput;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};

use crate::session::DEFAULT_ROLE_NAME;
use crate::{SessionConfig, SessionProvider};

/// The pipeline's own account.
pub const OWN_ACCOUNT: &str = "111111111111";
/// A member account, reached through the remediation role.
pub const MEMBER_ACCOUNT: &str = "222222222222";
/// The ExternalId the member account's role requires.
pub const EXTERNAL_ID: &str = "ext-123";

/// The pipeline's base configuration: region `us-east-1`, no credentials.
pub fn base_config() -> SdkConfig {
    SdkConfig::builder()
        .region(Region::new("us-east-1"))
        .behavior_version(BehaviorVersion::latest())
        .build()
}

/// [`base_config`] with static credentials whose access key id is `access_key_id`, so a test
/// can tell the pipeline's own credentials from an assumed role's.
pub fn base_config_with_key(access_key_id: &str) -> SdkConfig {
    base_config()
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            access_key_id,
            "secret",
            None,
            None,
            "base",
        )))
        .build()
}

/// The session configuration of `task` in [`OWN_ACCOUNT`]: the default role name,
/// [`EXTERNAL_ID`], session name `guardduty-responder-<task>`, 900 seconds.
pub fn session_config(task: &str) -> SessionConfig {
    SessionConfig {
        own_account: Some(OWN_ACCOUNT.into()),
        role_name: DEFAULT_ROLE_NAME.into(),
        external_id: Some(EXTERNAL_ID.into()),
        session_name: format!("guardduty-responder-{task}"),
        duration_seconds: 900,
        session_policy: None,
    }
}

/// A mocked `AssumeRole` that answers only a request for the remediation role of
/// [`MEMBER_ACCOUNT`] with [`EXTERNAL_ID`] and `task`'s session name, with credentials whose
/// access key id is `access_key_id`, valid for an hour.
pub fn assume_role_ok(task: &str, access_key_id: &'static str) -> Rule {
    let session_name = format!("guardduty-responder-{task}");
    mock!(aws_sdk_sts::Client::assume_role)
        .match_requests(move |r| {
            r.role_arn() == Some("arn:aws:iam::222222222222:role/SOAR-RemediationRole")
                && r.external_id() == Some(EXTERNAL_ID)
                && r.role_session_name() == Some(session_name.as_str())
        })
        .then_output(move || {
            AssumeRoleOutput::builder()
                .credentials(
                    aws_sdk_sts::types::Credentials::builder()
                        .access_key_id(access_key_id)
                        .secret_access_key("secret")
                        .session_token("token")
                        .expiration(aws_smithy_types::DateTime::from(
                            SystemTime::now() + Duration::from_secs(3600),
                        ))
                        .build()
                        .expect("credentials"),
                )
                .build()
        })
}

/// A mocked STS client answering from `rules` (any rule that matches a request).
pub fn sts(rules: &[&Rule]) -> aws_sdk_sts::Client {
    mock_client!(aws_sdk_sts, RuleMode::MatchAny, rules)
}

/// Sessions of `task` over `base` (see [`session_config`]) whose STS answers from `rules`:
/// none for a test that stays in [`OWN_ACCOUNT`], [`assume_role_ok`] to reach
/// [`MEMBER_ACCOUNT`].
pub fn sessions(task: &str, base: SdkConfig, rules: &[&Rule]) -> SessionProvider {
    SessionProvider::with_sts(base, sts(rules), session_config(task))
}
