//! Cross-account sessions.
//!
//! The pipeline runs in a security account. A finding from a member account is acted on through
//! `arn:<partition>:iam::<account>:role/<REMEDIATION_ROLE_NAME>`, assumed with an ExternalId in
//! the finding's region. Credentials are cached per (account, region) until shortly before they
//! expire, so a warm Lambda does not call STS for every finding.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_config::{Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use responder_core::{names, TaskError};
use tokio::sync::{Mutex, OnceCell};

use crate::errors::classify_sdk_error;

/// The default name of the role assumed in member accounts.
pub const DEFAULT_ROLE_NAME: &str = "SOAR-RemediationRole";
/// Services the tasks call only in the security account, with their own role.
pub const SECURITY_ACCOUNT_ONLY: &[&str] = &["dynamodb", "states", "sts", "sns"];

/// The session policy allowing exactly the member-account actions among `actions`. Every
/// statement is on `"*"`: the member role's own policy still bounds the resources.
pub fn session_policy(actions: &[&str]) -> String {
    let mut allowed: Vec<&str> = actions
        .iter()
        .copied()
        .filter(|a| !SECURITY_ACCOUNT_ONLY.contains(&a.split(':').next().unwrap_or("")))
        .collect();
    allowed.sort_unstable();
    allowed.dedup();
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":[{}],"Resource":"*"}}]}}"#,
        allowed
            .iter()
            .map(|a| format!("\"{a}\""))
            .collect::<Vec<_>>()
            .join(",")
    )
}

/// The actions a session policy allows (for tests and checks).
pub fn session_policy_actions(policy: &str) -> Vec<String> {
    serde_json::from_str::<serde_json::Value>(policy)
        .ok()
        .and_then(|v| v.pointer("/Statement/0/Action").cloned())
        .and_then(|a| a.as_array().cloned())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Cached credentials are dropped this long before they expire.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// How to reach member accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// The security account's own id; findings from it are handled with the task's own role.
    /// When `None` it is read once from `GetCallerIdentity`.
    pub own_account: Option<String>,
    /// The role name in member accounts (`REMEDIATION_ROLE_NAME`).
    pub role_name: String,
    /// The ExternalId the member role requires (`REMEDIATION_EXTERNAL_ID`).
    pub external_id: Option<String>,
    /// Session name, visible in the member account's CloudTrail.
    pub session_name: String,
    /// Requested session length (`REMEDIATION_SESSION_SECONDS`, 900 to 3600).
    pub duration_seconds: i32,
    /// The session policy passed with `AssumeRole`: it allows exactly the task's own actions,
    /// so each task's session holds only what that task calls, although every task assumes
    /// the same member role ("the resulting session's permissions are the intersection of the
    /// role's identity-based policy and the session policies", IAM User Guide, "Session
    /// policies"). `None`: the role's full permissions.
    pub session_policy: Option<String>,
}

impl SessionConfig {
    /// Reads the configuration from the environment; `task` names the session in CloudTrail.
    pub fn from_env(task: &str) -> Result<Self, TaskError> {
        Self::from_lookup(task, |k| std::env::var(k).ok())
    }

    /// Like [`SessionConfig::from_env`], reading variables through `get`.
    pub fn from_lookup(
        task: &str,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, TaskError> {
        let nonempty = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let own_account = nonempty("PIPELINE_ACCOUNT_ID");
        if let Some(a) = &own_account {
            if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                return Err(TaskError::config(format!(
                    "PIPELINE_ACCOUNT_ID is {a:?}; expected a 12-digit account id"
                )));
            }
        }
        let role_name =
            nonempty("REMEDIATION_ROLE_NAME").unwrap_or_else(|| DEFAULT_ROLE_NAME.into());
        if role_name.len() > 64
            || !role_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
        {
            return Err(TaskError::config(format!(
                "REMEDIATION_ROLE_NAME is {role_name:?}; expected an IAM role name"
            )));
        }
        let duration_seconds = match nonempty("REMEDIATION_SESSION_SECONDS") {
            None => 900,
            Some(v) => v
                .trim()
                .parse::<i32>()
                .ok()
                .filter(|s| (900..=3600).contains(s))
                .ok_or_else(|| {
                    TaskError::config(format!(
                        "REMEDIATION_SESSION_SECONDS is {v:?}; expected 900 to 3600"
                    ))
                })?,
        };
        Ok(SessionConfig {
            own_account,
            role_name,
            external_id: nonempty("REMEDIATION_EXTERNAL_ID"),
            session_name: format!("guardduty-responder-{task}"),
            duration_seconds,
            session_policy: None,
        })
    }

    /// The same configuration, with a session policy allowing exactly `actions` (a task's
    /// `IAM_ACTIONS`) in member accounts. Actions of services the tasks call only in the
    /// security account with their own role ([`SECURITY_ACCOUNT_ONLY`]) and `sts:AssumeRole`
    /// are left out: the member role does not grant them.
    pub fn with_session_policy(mut self, actions: &[&str]) -> Self {
        self.session_policy = Some(session_policy(actions));
        self
    }

    /// The remediation role's ARN in an account.
    pub fn role_arn(&self, partition: &str, account: &str) -> String {
        format!("arn:{partition}:iam::{account}:role/{}", self.role_name)
    }
}

#[derive(Clone)]
struct Cached {
    config: SdkConfig,
    expires: SystemTime,
}

/// Hands out SDK configurations for (account, region), assuming the remediation role where the
/// account is not the pipeline's own.
pub struct SessionProvider {
    base: SdkConfig,
    sts: aws_sdk_sts::Client,
    config: SessionConfig,
    own_account: OnceCell<String>,
    cache: Mutex<HashMap<(String, String), Cached>>,
}

impl std::fmt::Debug for SessionProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionProvider")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SessionProvider {
    /// A provider over the task's own configuration.
    pub fn new(base: SdkConfig, config: SessionConfig) -> Self {
        let sts = aws_sdk_sts::Client::new(&base);
        Self::with_sts(base, sts, config)
    }

    /// A provider with a given STS client (tests pass a mocked one).
    pub fn with_sts(base: SdkConfig, sts: aws_sdk_sts::Client, config: SessionConfig) -> Self {
        SessionProvider {
            base,
            sts,
            config,
            own_account: OnceCell::new(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The pipeline's own account id.
    pub async fn own_account(&self) -> Result<&str, TaskError> {
        if let Some(a) = &self.config.own_account {
            return Ok(a);
        }
        self.own_account
            .get_or_try_init(|| async {
                let out = self
                    .sts
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| classify_sdk_error("sts:GetCallerIdentity", &e))?;
                out.account().map(str::to_string).ok_or_else(|| {
                    TaskError::new(
                        names::REMEDIATION_FAILED,
                        "GetCallerIdentity returned no account",
                    )
                })
            })
            .await
            .map(String::as_str)
    }

    /// The SDK configuration for acting in `account` and `region`.
    pub async fn config_for(
        &self,
        partition: &str,
        account: &str,
        region: &str,
    ) -> Result<SdkConfig, TaskError> {
        if account == self.own_account().await? {
            return Ok(self
                .base
                .to_builder()
                .region(Region::new(region.to_string()))
                .build());
        }
        let key = (account.to_string(), region.to_string());
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.get(&key) {
            if SystemTime::now() + REFRESH_MARGIN < c.expires {
                return Ok(c.config.clone());
            }
        }
        let role_arn = self.config.role_arn(partition, account);
        let mut req = self
            .sts
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name(&self.config.session_name)
            .duration_seconds(self.config.duration_seconds);
        if let Some(ext) = &self.config.external_id {
            req = req.external_id(ext);
        }
        if let Some(policy) = &self.config.session_policy {
            req = req.policy(policy);
        }
        let out = req.send().await.map_err(|e| {
            let inner = classify_sdk_error("sts:AssumeRole", &e);
            // Throttling stays retryable; everything else means the role cannot be used.
            if inner.name == names::REMEDIATION_THROTTLED
                || inner.name == names::REMEDIATION_TRANSIENT
            {
                inner
            } else {
                TaskError::new(
                    names::SESSION_ASSUME_ROLE_FAILED,
                    format!("cannot assume {role_arn}: {}", inner.message),
                )
            }
        })?;
        let creds = out.credentials().ok_or_else(|| {
            TaskError::new(
                names::SESSION_ASSUME_ROLE_FAILED,
                format!("AssumeRole on {role_arn} returned no credentials"),
            )
        })?;
        let expires = SystemTime::try_from(*creds.expiration())
            .unwrap_or_else(|_| SystemTime::now() + Duration::from_secs(900));
        let credentials = Credentials::new(
            creds.access_key_id(),
            creds.secret_access_key(),
            Some(creds.session_token().to_string()),
            Some(expires),
            "remediation-role",
        );
        let config = self
            .base
            .to_builder()
            .region(Region::new(region.to_string()))
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build();
        tracing::info!(%role_arn, region, "assumed remediation role");
        cache.insert(
            key,
            Cached {
                config: config.clone(),
                expires,
            },
        );
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util;
    use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    fn cfg(own: Option<&str>) -> SessionConfig {
        SessionConfig {
            own_account: own.map(str::to_string),
            ..test_util::session_config("test")
        }
    }

    fn base() -> SdkConfig {
        test_util::base_config()
    }

    fn assume_ok() -> aws_smithy_mocks::Rule {
        test_util::assume_role_ok("test", "ASIAEXAMPLE")
    }

    #[tokio::test]
    async fn own_account_uses_base_credentials_in_the_findings_region() {
        let rule = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
            GetCallerIdentityOutput::builder()
                .account("111111111111")
                .build()
        });
        let sts = mock_client!(aws_sdk_sts, RuleMode::Sequential, [&rule]);
        let p = SessionProvider::with_sts(base(), sts, cfg(None));
        let c = p
            .config_for("aws", "111111111111", "eu-west-1")
            .await
            .expect("config");
        assert_eq!(c.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(rule.num_calls(), 1);
        // The account is read once.
        p.config_for("aws", "111111111111", "us-west-2")
            .await
            .expect("config");
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn member_account_assumes_role_with_external_id_and_caches() {
        let rule = assume_ok();
        let sts = mock_client!(aws_sdk_sts, RuleMode::MatchAny, [&rule]);
        let p = SessionProvider::with_sts(base(), sts, cfg(Some("111111111111")));
        let c = p
            .config_for("aws", "222222222222", "eu-west-1")
            .await
            .expect("config");
        assert_eq!(c.region().map(|r| r.as_ref()), Some("eu-west-1"));
        p.config_for("aws", "222222222222", "eu-west-1")
            .await
            .expect("cached");
        assert_eq!(
            rule.num_calls(),
            1,
            "credentials are cached per account and region"
        );
        p.config_for("aws", "222222222222", "us-east-2")
            .await
            .expect("other region");
        assert_eq!(rule.num_calls(), 2);
    }

    #[tokio::test]
    async fn access_denied_on_assume_role_is_a_named_error() {
        let rule = mock!(aws_sdk_sts::Client::assume_role).then_error(|| {
            aws_sdk_sts::operation::assume_role::AssumeRoleError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message("not authorized")
                    .build(),
            )
        });
        let sts = mock_client!(aws_sdk_sts, [&rule]);
        let p = SessionProvider::with_sts(base(), sts, cfg(Some("111111111111")));
        let e = p
            .config_for("aws", "222222222222", "eu-west-1")
            .await
            .expect_err("denied");
        assert_eq!(e.name, names::SESSION_ASSUME_ROLE_FAILED);
        assert!(e
            .message
            .contains("arn:aws:iam::222222222222:role/SOAR-RemediationRole"));
    }

    #[test]
    fn config_from_lookup_validates() {
        let c = SessionConfig::from_lookup("isolate", |_| None).expect("defaults");
        assert_eq!(c.role_name, DEFAULT_ROLE_NAME);
        assert_eq!(c.session_name, "guardduty-responder-isolate");
        let bad = SessionConfig::from_lookup("isolate", |k| {
            (k == "PIPELINE_ACCOUNT_ID").then(|| "12".to_string())
        });
        assert_eq!(bad.expect_err("bad").name, names::CONFIG_INVALID);
        let bad = SessionConfig::from_lookup("isolate", |k| {
            (k == "REMEDIATION_SESSION_SECONDS").then(|| "60".to_string())
        });
        assert!(bad.is_err());
    }
}

#[cfg(test)]
mod session_policy_tests {
    use super::*;

    #[test]
    fn the_session_policy_allows_exactly_the_member_actions_and_fits_sts() {
        let policy = session_policy(&[
            "sts:AssumeRole",
            "dynamodb:PutItem",
            "states:DescribeExecution",
            "iam:GetRole",
            "ec2:DescribeInstances",
            "iam:GetRole",
        ]);
        assert_eq!(
            session_policy_actions(&policy),
            ["ec2:DescribeInstances", "iam:GetRole"]
        );
        // STS refuses a packed session policy over 2,048 characters (AssumeRole, `Policy`).
        let many: Vec<String> = (0..40)
            .map(|i| format!("ec2:DescribeSomething{i:02}"))
            .collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(session_policy(&refs).len() <= 2048);
        let cfg = SessionConfig::from_lookup("isolate", |_| None)
            .expect("config")
            .with_session_policy(&["ec2:CreateTags"]);
        assert_eq!(
            cfg.session_policy.as_deref().map(session_policy_actions),
            Some(vec!["ec2:CreateTags".to_string()])
        );
    }
}
