//! The S3 adapter of [`Buckets`], the invocation's input, and the handler.

use async_trait::async_trait;
use responder_aws::{classify_sdk_error, SessionProvider};
use responder_core::document::{RequestTarget, ResourceRequest, RollbackTarget};
use responder_core::finding::{is_bucket_name, ObjectRef};
use responder_core::{names, TaskError, TaskInput, TaskReport};
use serde_json::{json, Value};

use crate::{contain, restore, BucketNow, Buckets, PublicAccessBlock, Target, TASK};

/// The IAM actions of every API call this task makes.
/// `DeletePublicAccessBlock` is authorised by `s3:PutBucketPublicAccessBlock`, and
/// `GetPublicAccessBlock` by `s3:GetBucketPublicAccessBlock` (Service Authorization
/// Reference, Amazon S3: the API operations and the actions that authorise them).
pub const IAM_ACTIONS: &[&str] = &[
    "s3:DeleteBucketPolicy",
    "s3:GetBucketAcl",
    "s3:GetBucketPolicy",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketTagging",
    "s3:GetObjectTagging",
    "s3:GetObjectVersionTagging",
    "s3:PutBucketPolicy",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketTagging",
    "sts:AssumeRole",
];

/// What one invocation is asked to do, and where (the account is the bucket's expected owner):
/// a task input document about a bucket finding, or a rollback request naming `bucketName`.
pub type Request = ResourceRequest<Target>;

impl RequestTarget for Target {
    const TASK: &'static str = TASK;
    const KEY: &'static str = "bucketName";
    const KIND: &'static str = "an S3 bucket name";

    fn valid(name: &str) -> bool {
        is_bucket_name(name)
    }

    fn from_input(input: &TaskInput, restore: bool) -> Result<Self, TaskError> {
        let f = &input.finding;
        let bucket = f.bucket().ok_or_else(|| {
            TaskError::input(format!(
                "finding {} is about a {} resource, not an S3 bucket",
                f.id,
                f.resource.resource_type()
            ))
        })?;
        Ok(Target {
            name: bucket.bucket_name.clone(),
            finding_id: f.id.clone(),
            dry_run: input.decision.dry_run,
            partition: f.partition.clone(),
            // A rollback removes whatever deny of this pipeline's is on the bucket.
            deny_caller: if restore {
                None
            } else {
                input.decision.deny_caller.clone()
            },
            // Rolling back an object finding lifts exactly its objects' quarantine.
            objects: bucket.objects_to_contain().to_vec(),
        })
    }

    fn from_rollback(r: &RollbackTarget) -> Self {
        Target {
            name: r.name.clone(),
            finding_id: String::new(),
            dry_run: r.dry_run,
            partition: r.partition.clone(),
            deny_caller: None,
            objects: r
                .object_keys
                .iter()
                .map(|k| ObjectRef {
                    key: k.clone(),
                    version_id: None,
                    e_tag: None,
                    hash: None,
                })
                .collect(),
        }
    }
}

/// One invocation: reads the request, acts in its account and region through the remediation
/// role, and returns the report.
pub async fn handle(event: Value, sessions: &SessionProvider) -> Result<TaskReport, TaskError> {
    let req = Request::from_value(event)?;
    let (t, owner) = (&req.target, req.account_id.as_str());
    responder_aws::run_resource_request(&req, sessions, "s3", &t.name, |conf| async move {
        let bx = S3Buckets::new(responder_aws::s3::client(&conf), owner);
        if req.restore {
            restore(t, &bx).await
        } else {
            contain(t, &bx).await
        }
    })
    .await
}

/// [`Buckets`] over the S3 API, every call naming the bucket's expected owner.
#[derive(Debug, Clone)]
pub struct S3Buckets {
    client: aws_sdk_s3::Client,
    owner: String,
}

impl S3Buckets {
    /// An adapter over a client already in the right account and region; `owner` is that
    /// account.
    pub fn new(client: aws_sdk_s3::Client, owner: &str) -> Self {
        S3Buckets {
            client,
            owner: owner.to_string(),
        }
    }
}

#[async_trait]
impl Buckets for S3Buckets {
    async fn bucket(&self, name: &str) -> Result<Option<BucketNow>, TaskError> {
        let Some(state) = responder_aws::s3::bucket(&self.client, name, &self.owner).await? else {
            return Ok(None);
        };
        let policy = match &state.policy {
            Ok(p) => json!(p),
            Err(e) => json!({"unreadable": e.to_string()}),
        };
        Ok(Some(BucketNow {
            public_access_block: state.public_access_block,
            tags: state.tags,
            policy: state.policy.transpose(),
            evidence: json!({ "bucketPolicy": policy }),
        }))
    }

    async fn public_grants(&self, name: &str) -> Value {
        let acl = self
            .client
            .get_bucket_acl()
            .bucket(name)
            .expected_bucket_owner(&self.owner)
            .send()
            .await;
        match acl {
            Ok(o) => json!(o
                .grants()
                .iter()
                .filter_map(|g| {
                    let uri = g.grantee()?.uri()?;
                    uri.ends_with("/global/AllUsers")
                        .then_some("everyone")
                        .or(uri.ends_with("/global/AuthenticatedUsers").then_some("any AWS account"))
                        .map(|who| {
                            json!({"grantee": who, "permission": g.permission().map(|p| p.as_str().to_string())})
                        })
                })
                .collect::<Vec<_>>()),
            Err(e) => json!({"unreadable": classify_sdk_error("s3:GetBucketAcl", &e).to_string()}),
        }
    }

    async fn put_policy(&self, name: &str, policy: &str) -> Result<(), TaskError> {
        self.client
            .put_bucket_policy()
            .bucket(name)
            .expected_bucket_owner(&self.owner)
            .policy(policy)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_sdk_error("s3:PutBucketPolicy", &e))
    }

    async fn object_tags(&self, name: &str, key: &str, version: Option<&str>) -> Value {
        let tags = self
            .client
            .get_object_tagging()
            .bucket(name)
            .key(key)
            .set_version_id(version.map(str::to_string))
            .expected_bucket_owner(&self.owner)
            .send()
            .await;
        let action = if version.is_some() {
            "s3:GetObjectVersionTagging"
        } else {
            "s3:GetObjectTagging"
        };
        match tags {
            Ok(o) => Value::Object(
                o.tag_set()
                    .iter()
                    .map(|t| (t.key().to_string(), json!(t.value())))
                    .collect(),
            ),
            Err(e) => json!({"unreadable": classify_sdk_error(action, &e).to_string()}),
        }
    }

    async fn delete_policy(&self, name: &str) -> Result<(), TaskError> {
        self.client
            .delete_bucket_policy()
            .bucket(name)
            .expected_bucket_owner(&self.owner)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_sdk_error("s3:DeleteBucketPolicy", &e))
    }

    async fn put_public_access_block(
        &self,
        name: &str,
        settings: PublicAccessBlock,
    ) -> Result<(), TaskError> {
        self.client
            .put_public_access_block()
            .bucket(name)
            .expected_bucket_owner(&self.owner)
            .public_access_block_configuration(settings.to_sdk())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_sdk_error("s3:PutBucketPublicAccessBlock", &e))
    }

    async fn delete_public_access_block(&self, name: &str) -> Result<(), TaskError> {
        self.client
            .delete_public_access_block()
            .bucket(name)
            .expected_bucket_owner(&self.owner)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_sdk_error("s3:PutBucketPublicAccessBlock", &e))
    }

    async fn put_tags(&self, name: &str, tags: &[(String, String)]) -> Result<(), TaskError> {
        let set = tags
            .iter()
            .map(|(k, v)| {
                aws_sdk_s3::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .map_err(|e| TaskError::new(names::REMEDIATION_FAILED, format!("tag {k}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let tagging = aws_sdk_s3::types::Tagging::builder()
            .set_tag_set(Some(set))
            .build()
            .map_err(|e| TaskError::new(names::REMEDIATION_FAILED, format!("tag set: {e}")))?;
        self.client
            .put_bucket_tagging()
            .bucket(name)
            .expected_bucket_owner(&self.owner)
            .tagging(tagging)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_sdk_error("s3:PutBucketTagging", &e))
    }
}

#[cfg(test)]
mod tests;
