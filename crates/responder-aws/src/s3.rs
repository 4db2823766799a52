//! The S3 bucket reads shared by the tasks that judge and contain buckets (cargo feature `s3`,
//! so the other tasks do not link its SDK).
//!
//! Every call names the bucket's expected owner (`ExpectedBucketOwner`): bucket names are
//! global, and a bucket deleted and re-created under the same name in another account must
//! never be read or changed in its place (S3 User Guide, "Verifying bucket ownership with
//! bucket owner condition": the request fails with 403 when the owner differs).

use aws_config::SdkConfig;
use aws_sdk_s3::types::PublicAccessBlockConfiguration;
use responder_core::TaskError;
use serde::Serialize;

use crate::errors::{classify_sdk_error, error_code};

/// An S3 client for a configuration already in the right account and region. Against a
/// local endpoint (`AWS_ENDPOINT_URL`) the bucket goes in the path, since the emulator's
/// host has no per-bucket names; against AWS it goes in the host, as AWS recommends.
pub fn client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let local = config.endpoint_url().is_some();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(local)
            .build(),
    )
}

/// A bucket's own Block Public Access settings (`GetPublicAccessBlock`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublicAccessBlock {
    /// Refuse requests that set a public ACL.
    pub block_public_acls: bool,
    /// Ignore public ACLs on the bucket and its objects.
    pub ignore_public_acls: bool,
    /// Refuse a bucket policy that grants public access.
    pub block_public_policy: bool,
    /// Only the owner's account and AWS services reach a bucket whose policy is public.
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// All four settings on: what containment applies.
    pub const ALL: PublicAccessBlock = PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };

    /// The settings as the SDK takes them.
    pub fn to_sdk(self) -> PublicAccessBlockConfiguration {
        PublicAccessBlockConfiguration::builder()
            .block_public_acls(self.block_public_acls)
            .ignore_public_acls(self.ignore_public_acls)
            .block_public_policy(self.block_public_policy)
            .restrict_public_buckets(self.restrict_public_buckets)
            .build()
    }

    fn from_sdk(c: &PublicAccessBlockConfiguration) -> Self {
        // An unset setting is off (S3 API Reference, `PublicAccessBlockConfiguration`).
        PublicAccessBlock {
            block_public_acls: c.block_public_acls().unwrap_or(false),
            ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
            block_public_policy: c.block_public_policy().unwrap_or(false),
            restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
        }
    }
}

/// A bucket as S3 shows it now: its own Block Public Access settings (`None`: the bucket has
/// none), its tags and its policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketState {
    /// `GetPublicAccessBlock`; `None` when the bucket has no configuration.
    pub public_access_block: Option<PublicAccessBlock>,
    /// `GetBucketTagging`, sorted by key; empty when the bucket has no tags.
    pub tags: Vec<(String, String)>,
    /// `GetBucketPolicy`: the document as stored, `Ok(None)` when the bucket has none. Kept
    /// apart as a result: a policy can deny this pipeline its own read (a bucket policy binds
    /// every principal of the account), which must not keep Block Public Access off.
    pub policy: Result<Option<String>, TaskError>,
}

/// Reads a bucket's Block Public Access settings, tags and policy at once. `Ok(None)` when the
/// bucket does not exist (`NoSuchBucket`); any other error of the first two is classified under
/// a stable name, and the policy's is kept in [`BucketState::policy`].
pub async fn bucket(
    client: &aws_sdk_s3::Client,
    name: &str,
    owner: &str,
) -> Result<Option<BucketState>, TaskError> {
    let (pab, tags, policy) = tokio::join!(
        client
            .get_public_access_block()
            .bucket(name)
            .expected_bucket_owner(owner)
            .send(),
        client
            .get_bucket_tagging()
            .bucket(name)
            .expected_bucket_owner(owner)
            .send(),
        client
            .get_bucket_policy()
            .bucket(name)
            .expected_bucket_owner(owner)
            .send()
    );
    let policy = match policy {
        Ok(o) => Ok(o.policy().map(str::to_string)),
        Err(e) if error_code(&e) == Some("NoSuchBucketPolicy") => Ok(None),
        Err(e) => Err(classify_sdk_error("s3:GetBucketPolicy", &e)),
    };
    let public_access_block = match pab {
        Ok(o) => o
            .public_access_block_configuration()
            .map(PublicAccessBlock::from_sdk),
        Err(e) if error_code(&e) == Some("NoSuchBucket") => return Ok(None),
        Err(e) if error_code(&e) == Some("NoSuchPublicAccessBlockConfiguration") => None,
        Err(e) => return Err(classify_sdk_error("s3:GetBucketPublicAccessBlock", &e)),
    };
    let mut tags: Vec<(String, String)> = match tags {
        Ok(o) => o
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
        Err(e) if error_code(&e) == Some("NoSuchBucket") => return Ok(None),
        // A bucket without tags answers NoSuchTagSet.
        Err(e) if error_code(&e) == Some("NoSuchTagSet") => Vec::new(),
        Err(e) => return Err(classify_sdk_error("s3:GetBucketTagging", &e)),
    };
    tags.sort();
    Ok(Some(BucketState {
        public_access_block,
        tags,
        policy,
    }))
}
