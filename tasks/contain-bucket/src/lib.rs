//! The `contain-bucket` task: closes an S3 bucket that was opened to the public, and rolls that
//! back.
//!
//! Containment turns on all four of the bucket's own Block Public Access settings. S3 then
//! ignores public ACLs, refuses new public ACLs and public policies, and lets only the bucket
//! owner's account and AWS services reach a bucket whose policy is public (S3 User Guide,
//! "Blocking public access to your Amazon S3 storage"). The bucket's policy and ACLs are left
//! exactly as the attacker or the mistake left them: they are the evidence, recorded in the
//! report (the policy document and the ACL's public grants), and Block Public Access makes
//! them inert without deleting anything.
//!
//! The order is the instances' rule: the previous settings (or their absence) are recorded on
//! the bucket as a tag BEFORE the change, so `restore` puts back exactly them and a retried
//! execution never records "all on" as the original. Every step is idempotent.
//!
//! Bucket tags are written as a whole set (`PutBucketTagging` replaces every tag), so the task
//! writes the set it read plus its own keys. A set it cannot write back unchanged is left
//! alone, and the containment goes ahead with the previous settings kept in this report only:
//! tags AWS wrote (`aws:*`, such as CloudFormation's), which a caller may not write, and a set
//! with no room for the record within the 50 tags a resource may carry. The same holds when S3
//! refuses the tags for any reason but throttling or a transient error.
//!
//! A finding about a caller (a threat-listed address, Tor, a penetration-testing distribution
//! reading or changing the bucket) is answered differently: Block Public Access does not stop
//! a caller holding credentials. The decision names the caller's `aws:userid`
//! (`Decision::deny_caller`: an IAM user's id, or one role session's), and the task merges one
//! statement into the bucket's policy denying those callers every S3 action on the bucket and
//! its objects ([`responder_core::denies::with_bucket_callers`]). The statement is its own
//! record: rollback removes exactly it (checked by its shape, not only its `Sid`) and leaves
//! the rest of the policy as it is, or deletes the policy when nothing of the bucket's own is
//! left. The credentials elsewhere are the access key route's.
//!
//! An object Malware Protection for S3 found malicious (`Object:S3/MaliciousFile`) is
//! quarantined where it is: one statement merged into the bucket's policy
//! ([`responder_core::denies::with_quarantined_objects`]) denies every principal reading,
//! overwriting, deleting, re-tagging or re-publishing it. Nothing is moved or deleted: the
//! object is the evidence, and GuardDuty's scan-result tag (`GuardDutyMalwareScanStatus`,
//! GuardDuty User Guide, "Monitoring S3 object scans with GuardDuty managed tags") is read
//! into the report and then kept as GuardDuty wrote it. A tag is not the quarantine: anyone
//! who may tag objects could rewrite it, which is why the deny names the object itself. The
//! statement is its own record; rolling back the finding removes exactly its objects.
//!
//! Rollback (`mode: restore`) puts back the recorded settings, or removes the configuration
//! when there was none, only while all four settings are still on: a change someone made
//! since is theirs and is left alone, and said so. It removes the callers deny too.
//!
//! Not done here: the account's Block Public Access is not changed (it covers every bucket of
//! the account). A bucket policy can deny this pipeline too (a policy binds every principal of
//! the account): the calls then fail with `Remediation.AccessDenied`, and only the account's
//! root user can remove such a policy.
//!
//! The logic talks to S3 only through [`Buckets`]; [`aws`] implements it with the SDK.

pub mod aws;

#[cfg(test)]
mod tests;

use async_trait::async_trait;
pub use responder_aws::s3::PublicAccessBlock;
pub use responder_core::finding::ObjectRef;
use responder_core::{denies, markers, names, ActionRecord, Outcome, TaskError, TaskReport};
use serde::Serialize;
use serde_json::{json, Value};

/// The task's name, as reported and as used for the session name.
pub const TASK: &str = "contain-bucket";

/// The value of [`markers::TAG_ORIGINAL_PUBLIC_ACCESS_BLOCK`] for a bucket that had no Block
/// Public Access configuration of its own.
pub const NO_CONFIGURATION: &str = "none";

/// A bucket as S3 shows it now.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketNow {
    /// Its own Block Public Access settings; `None` when it has no configuration.
    pub public_access_block: Option<PublicAccessBlock>,
    /// Its tags, sorted by key.
    #[serde(skip)]
    pub tags: Vec<(String, String)>,
    /// Its policy as stored (`None`: it has none); `Err` when S3 refused to show it.
    #[serde(skip)]
    pub policy: Option<Result<String, TaskError>>,
    /// Evidence: the bucket policy and the ACL's public grants, as S3 answered them.
    pub evidence: Value,
}

impl BucketNow {
    /// The policy as a document: `Ok(None)` when there is none, a named error when it cannot
    /// be read or is not JSON.
    fn policy_document(&self, name: &str) -> Result<Option<Value>, TaskError> {
        match &self.policy {
            None => Ok(None),
            Some(Err(e)) => Err(e.clone()),
            Some(Ok(text)) => serde_json::from_str(text).map(Some).map_err(|e| {
                TaskError::new(
                    names::REMEDIATION_FAILED,
                    format!("bucket {name}: its policy is not JSON ({e})"),
                )
            }),
        }
    }
}

/// The largest bucket policy S3 accepts, in bytes (S3 User Guide, "Bucket policies": "Bucket
/// policies are limited to 20 KB in size").
pub const MAX_POLICY_BYTES: usize = 20 * 1024;

impl BucketNow {
    fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The tag set with `set` written over it and `remove` taken out, when it can be written
    /// back: `None` when it carries tags AWS wrote (the `aws:` prefix is reserved for AWS and a
    /// caller cannot write such keys: "Tagging AWS resources", tag naming limits) or would
    /// exceed the tags a resource may carry.
    fn tags_with(&self, set: &[(&str, String)], remove: &[&str]) -> Option<Vec<(String, String)>> {
        if self.tags.iter().any(|(k, _)| k.starts_with("aws:")) {
            return None;
        }
        let mut out: Vec<(String, String)> = self
            .tags
            .iter()
            .filter(|(k, _)| !remove.contains(&k.as_str()) && !set.iter().any(|(s, _)| s == k))
            .cloned()
            .collect();
        out.extend(set.iter().map(|(k, v)| (k.to_string(), v.clone())));
        out.sort();
        (out.len() <= markers::limits::TAGS_PER_RESOURCE).then_some(out)
    }
}

/// The S3 calls of containment and rollback.
#[async_trait]
pub trait Buckets: Send + Sync {
    /// `GetPublicAccessBlock`, `GetBucketTagging` and `GetBucketPolicy`: `None` when the
    /// bucket does not exist.
    async fn bucket(&self, name: &str) -> Result<Option<BucketNow>, TaskError>;
    /// Evidence: the ACL's grants to everyone or to any AWS account (`GetBucketAcl`). Read
    /// once per invocation, beside the first read; unreadable evidence is said, not fatal.
    async fn public_grants(&self, name: &str) -> Value;
    /// `PutPublicAccessBlock`.
    async fn put_public_access_block(
        &self,
        name: &str,
        settings: PublicAccessBlock,
    ) -> Result<(), TaskError>;
    /// `DeletePublicAccessBlock`: no configuration of the bucket's own.
    async fn delete_public_access_block(&self, name: &str) -> Result<(), TaskError>;
    /// `PutBucketTagging`: replaces the whole tag set.
    async fn put_tags(&self, name: &str, tags: &[(String, String)]) -> Result<(), TaskError>;
    /// `PutBucketPolicy`: replaces the policy.
    async fn put_policy(&self, name: &str, policy: &str) -> Result<(), TaskError>;
    /// `DeleteBucketPolicy`.
    async fn delete_policy(&self, name: &str) -> Result<(), TaskError>;
    /// Evidence: an object's tags (`GetObjectTagging`, of `version` when given), among them
    /// Malware Protection's scan result. Unreadable evidence is said, not fatal.
    async fn object_tags(&self, name: &str, key: &str, version: Option<&str>) -> Value;
}

/// Quarantines the target's objects: one statement of the bucket's policy denies everyone
/// reading, overwriting, deleting, re-tagging or re-publishing them; read back. The bucket is
/// not marked: it is not contained, its objects are, and the statement says which.
async fn quarantine(target: &Target, bx: &dyn Buckets) -> Result<TaskReport, TaskError> {
    let name = target.name.as_str();
    let dry = target.dry_run;
    let keys = &target.keys();
    let mut report = TaskReport::new(TASK, dry);
    let now = read_with_evidence(bx, name).await?;
    let mut objects = Vec::new();
    for o in &target.objects {
        objects.push(json!({
            "key": o.key,
            "versionId": o.version_id,
            "eTag": o.e_tag,
            "threatHash": o.hash,
            "tags": bx.object_tags(name, &o.key, o.version_id.as_deref()).await,
        }));
    }
    report.evidence.insert("bucket".into(), json!(now));
    report
        .evidence
        .insert("objects".into(), Value::Array(objects));
    let policy = now.policy_document(name)?;
    let before = policy
        .as_ref()
        .map(|p| denies::quarantined_objects(p, name))
        .unwrap_or_default();
    if keys.iter().all(|k| before.contains(k)) {
        report.push(
            ActionRecord::new(
                "quarantine-objects",
                name,
                Outcome::Unchanged,
                format!(
                    "the bucket's policy already quarantines {}",
                    describe_keys(keys)
                ),
            )
            .with_states(json!(before), json!(before)),
        );
        return Ok(report);
    }
    // A key holding `*`, `?` or `$` is named through policy variables, which S3 reads only in
    // a policy of version 2012-10-17: in an older one the key would not match, and the
    // quarantine would hold nothing while saying it does.
    let version = policy
        .as_ref()
        .and_then(|p| p.get("Version"))
        .and_then(Value::as_str);
    if policy.is_some()
        && version != Some("2012-10-17")
        && keys.iter().any(|k| denies::key_needs_policy_variables(k))
    {
        return Err(TaskError::new(
            names::REMEDIATION_FAILED,
            format!(
                "bucket {name}: its policy's Version is {}, not 2012-10-17, so a key holding * ? or $ cannot be named exactly in it; quarantine {} by hand",
                version.map(|v| format!("{v:?}")).unwrap_or_else(|| "absent".into()),
                describe_keys(keys)
            ),
        ));
    }
    let merged = denies::with_quarantined_objects(policy.as_ref(), &target.partition, name, keys);
    put_merged(
        bx,
        name,
        &merged,
        dry,
        &format!("the quarantine of {}", describe_keys(keys)),
        "quarantine them by hand (or lift older quarantines first)",
    )
    .await?;
    let after = denies::quarantined_objects(&merged, name);
    report.push(
        ActionRecord::new(
            "quarantine-objects",
            name,
            changed(dry),
            format!(
                "{} {}: nobody may read, overwrite, delete, re-tag or re-publish {} (statement {} of the bucket's policy; its other statements unchanged). Nothing is moved or deleted",
                if dry { "would quarantine" } else { "quarantined" },
                describe_keys(keys),
                if keys.len() == 1 { "it" } else { "them" },
                denies::QUARANTINE_OBJECTS_SID
            ),
        )
        .with_states(json!(before), json!(after)),
    );
    if dry {
        return Ok(report);
    }
    let holds = |p: &Value| {
        let held = denies::quarantined_objects(p, name);
        keys.iter().all(|k| held.contains(k))
    };
    if read_back_policy(bx, name, holds).await?.is_some() {
        report.push(ActionRecord::new(
            "verify-quarantine-objects",
            name,
            Outcome::Unchanged,
            format!("read back: the policy quarantines {}", describe_keys(keys)),
        ));
        return Ok(report);
    }
    Err(TaskError::new(
        names::REMEDIATION_VERIFICATION_FAILED,
        format!(
            "bucket {name}: the policy read back does not quarantine {}",
            describe_keys(keys)
        ),
    ))
}

/// Writes a policy with a statement of this pipeline's merged in (unless `dry`): refused by
/// name, with what to do by hand, when it would be larger than S3 accepts.
async fn put_merged(
    bx: &dyn Buckets,
    name: &str,
    merged: &Value,
    dry: bool,
    what: &str,
    by_hand: &str,
) -> Result<(), TaskError> {
    let text = merged.to_string();
    if text.len() > MAX_POLICY_BYTES {
        return Err(TaskError::new(
            names::REMEDIATION_FAILED,
            format!(
                "bucket {name}: its policy with {what} would be {} bytes, over the {MAX_POLICY_BYTES} S3 accepts; {by_hand}",
                text.len()
            ),
        ));
    }
    if !dry {
        bx.put_policy(name, &text).await?;
    }
    Ok(())
}

/// Reads the bucket back until its policy `holds` (S3 answers a change at once; later reads
/// cover a lagging one): the bucket as last read, or `None` when it never did.
async fn read_back_policy(
    bx: &dyn Buckets,
    name: &str,
    holds: impl Fn(&Value) -> bool,
) -> Result<Option<BucketNow>, TaskError> {
    for attempt in 0..3u64 {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(200 * attempt)).await;
        }
        let last = read(bx, name).await?;
        if last.policy_document(name)?.as_ref().is_some_and(&holds) {
            return Ok(Some(last));
        }
    }
    Ok(None)
}

/// The keys, quoted (they are the uploader's choice: quoting shows spaces and escapes the
/// rest), for reports.
fn describe_keys(keys: &[String]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
    match quoted.len() {
        1 => format!("object {}", quoted[0]),
        n => format!("{n} objects ({})", quoted.join(", ")),
    }
}

/// The bucket to act on, and for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The bucket's name.
    pub name: String,
    /// The finding id recorded on the bucket (containment).
    pub finding_id: String,
    /// Report only; change nothing.
    pub dry_run: bool,
    /// The partition, for the ARNs of the callers deny.
    pub partition: String,
    /// The caller to deny on the bucket (`aws:userid`), for a finding about a caller; `None`
    /// for a bucket opened to the public (Block Public Access).
    pub deny_caller: Option<String>,
    /// The objects to quarantine (containment) or release (rollback), for a Malware
    /// Protection for S3 finding or a rollback naming `objectKeys`; empty otherwise.
    pub objects: Vec<ObjectRef>,
}

impl Target {
    /// The keys of the objects to quarantine or release.
    pub fn keys(&self) -> Vec<String> {
        self.objects.iter().map(|o| o.key.clone()).collect()
    }
}

const KEYS: [&str; 4] = [
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
];

fn values(s: PublicAccessBlock) -> [bool; 4] {
    [
        s.block_public_acls,
        s.ignore_public_acls,
        s.block_public_policy,
        s.restrict_public_buckets,
    ]
}

/// How a bucket's settings are recorded: `none`, or the four settings by name
/// (`BlockPublicAcls=true IgnorePublicAcls=false ...`), in characters a tag value may hold.
pub fn encode(settings: Option<PublicAccessBlock>) -> String {
    match settings {
        None => NO_CONFIGURATION.to_string(),
        Some(s) => KEYS
            .iter()
            .zip(values(s))
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// A recorded setting: `Some(None)` for "none", `None` when unreadable (every one of the four
/// must be there, once, as `true` or `false`).
pub fn decode(text: &str) -> Option<Option<PublicAccessBlock>> {
    let t = text.trim();
    if t == NO_CONFIGURATION {
        return Some(None);
    }
    let mut got: [Option<bool>; 4] = [None; 4];
    for part in t.split_whitespace() {
        let (k, v) = part.split_once('=')?;
        let i = KEYS.iter().position(|x| *x == k)?;
        if got[i].is_some() {
            return None;
        }
        got[i] = Some(match v {
            "true" => true,
            "false" => false,
            _ => return None,
        });
    }
    Some(Some(PublicAccessBlock {
        block_public_acls: got[0]?,
        ignore_public_acls: got[1]?,
        block_public_policy: got[2]?,
        restrict_public_buckets: got[3]?,
    }))
}

fn label(settings: Option<PublicAccessBlock>) -> String {
    match settings {
        None => "no Block Public Access configuration of its own".to_string(),
        Some(s) if s == PublicAccessBlock::ALL => "all four Block Public Access settings on".into(),
        Some(s) => {
            let on: Vec<&str> = KEYS
                .iter()
                .zip(values(s))
                .filter(|(_, v)| *v)
                .map(|(k, _)| *k)
                .collect();
            if on.is_empty() {
                "every Block Public Access setting off".into()
            } else {
                format!("Block Public Access with only {} on", on.join(", "))
            }
        }
    }
}

/// The first read of an invocation: the bucket and, at the same time, the ACL evidence, kept
/// in [`BucketNow::evidence`]. The read-backs after a change use [`read`] alone.
async fn read_with_evidence(bx: &dyn Buckets, name: &str) -> Result<BucketNow, TaskError> {
    let (now, grants) = tokio::join!(read(bx, name), bx.public_grants(name));
    let mut now = now?;
    if let Some(e) = now.evidence.as_object_mut() {
        e.insert("aclPublicGrants".into(), grants);
    } else {
        now.evidence = json!({ "aclPublicGrants": grants });
    }
    Ok(now)
}

async fn read(bx: &dyn Buckets, name: &str) -> Result<BucketNow, TaskError> {
    bx.bucket(name).await?.ok_or_else(|| {
        TaskError::new(
            names::REMEDIATION_TARGET_NOT_FOUND,
            format!("bucket {name} does not exist in the finding's account"),
        )
    })
}

/// Reads the settings back until they are `want` (S3 answers the change at once; a second
/// read covers a lagging one). Returns the record and the bucket as last read.
async fn verify(
    bx: &dyn Buckets,
    name: &str,
    want: Option<PublicAccessBlock>,
) -> Result<(ActionRecord, BucketNow), TaskError> {
    let mut last = None;
    for attempt in 0..3u64 {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(200 * attempt)).await;
        }
        let now = read(bx, name).await?;
        if now.public_access_block == want {
            let record = ActionRecord::new(
                "verify-public-access-block",
                name,
                Outcome::Unchanged,
                format!("read back: {}", label(want)),
            );
            return Ok((record, now));
        }
        last = Some(now.public_access_block);
    }
    Err(TaskError::new(
        names::REMEDIATION_VERIFICATION_FAILED,
        format!(
            "bucket {name}: read back {}, expected {}",
            label(last.flatten()),
            label(want)
        ),
    ))
}

/// Why a tag set cannot be written back, for the report.
fn unwritable(now: &BucketNow) -> String {
    if now.tags.iter().any(|(k, _)| k.starts_with("aws:")) {
        "the bucket carries tags AWS wrote (aws:*), which a caller may not write back".into()
    } else {
        format!(
            "the bucket has {} tags; one more does not fit within the {} an AWS resource may carry",
            now.tags.len(),
            markers::limits::TAGS_PER_RESOURCE
        )
    }
}

/// Contains the bucket: the caller denied when the finding is about a caller, else all four
/// Block Public Access settings on, the previous ones recorded first.
pub async fn contain(target: &Target, bx: &dyn Buckets) -> Result<TaskReport, TaskError> {
    if !target.objects.is_empty() {
        return quarantine(target, bx).await;
    }
    if let Some(caller) = &target.deny_caller {
        return deny(target, caller, bx).await;
    }
    let name = target.name.as_str();
    let dry = target.dry_run;
    let mut report = TaskReport::new(TASK, dry);
    let now = read_with_evidence(bx, name).await?;
    report.evidence.insert("bucket".into(), json!(now));
    report.evidence.insert(
        "originalPublicAccessBlock".into(),
        json!(now.public_access_block),
    );
    if now.public_access_block == Some(PublicAccessBlock::ALL) {
        report.push(
            ActionRecord::new(
                "put-public-access-block",
                name,
                Outcome::Unchanged,
                "all four Block Public Access settings already on: the public cannot reach the bucket",
            )
            .with_states(json!(encode(now.public_access_block)), json!(encode(now.public_access_block))),
        );
        return Ok(report);
    }
    let would = |o: Outcome| if dry { Outcome::WouldChange } else { o };
    // 1. The record, before the change.
    match now
        .tag(markers::TAG_ORIGINAL_PUBLIC_ACCESS_BLOCK)
        .map(decode)
    {
        Some(Some(recorded)) => report.push(
            ActionRecord::new(
                "record-original-public-access-block",
                name,
                Outcome::Unchanged,
                format!("kept the existing record ({})", label(recorded)),
            )
            .with_states(json!(encode(recorded)), json!(encode(recorded))),
        ),
        _ => {
            let record = encode(now.public_access_block);
            let set = [
                (markers::TAG_ORIGINAL_PUBLIC_ACCESS_BLOCK, record.clone()),
                (
                    markers::TAG_FINDING_ID,
                    markers::tag_value(&target.finding_id),
                ),
            ];
            match now.tags_with(&set, &[]) {
                None => {
                    // The door is closed anyway; the previous settings stay in this report
                    // (evidence.originalPublicAccessBlock) and a rollback is by hand.
                    report.push(ActionRecord::new(
                        "record-original-public-access-block",
                        name,
                        Outcome::Skipped,
                        format!(
                            "{}: the record is kept in this report only ({}), and a rollback is by hand",
                            unwritable(&now),
                            label(now.public_access_block)
                        ),
                    ));
                }
                Some(tags) => match if dry { Ok(()) } else { bx.put_tags(name, &tags).await } {
                    Ok(()) => report.push(
                        ActionRecord::new(
                            "record-original-public-access-block",
                            name,
                            would(Outcome::Changed),
                            format!(
                                "tagged {} = {record} (the bucket's other tags written back unchanged)",
                                markers::TAG_ORIGINAL_PUBLIC_ACCESS_BLOCK
                            ),
                        )
                        .with_states(Value::Null, json!(record)),
                    ),
                    // Throttling and transient errors are retried (the state machine retries
                    // the task). Any other refusal of the tags (a bucket whose tags are managed
                    // through attribute-based access control refuses PutBucketTagging, S3 API
                    // Reference) must not keep the bucket open: the cut goes ahead and the
                    // record stays in this report.
                    Err(e) if retryable(&e) => return Err(e),
                    Err(e) => report.push(ActionRecord::new(
                        "record-original-public-access-block",
                        name,
                        Outcome::Skipped,
                        format!(
                            "the record could not be written ({}: {}): it is kept in this report only ({}), and a rollback is by hand",
                            e.name,
                            e.message,
                            label(now.public_access_block)
                        ),
                    )),
                },
            }
        }
    }
    // 2. The cut.
    if !dry {
        bx.put_public_access_block(name, PublicAccessBlock::ALL)
            .await?;
    }
    report.push(
        ActionRecord::new(
            "put-public-access-block",
            name,
            would(Outcome::Changed),
            if dry {
                "would turn on all four Block Public Access settings (S3 has no dry run: the permission is not proven)".to_string()
            } else {
                "all four Block Public Access settings on: public ACLs ignored, public policies refused and restricted to the owner's account".to_string()
            },
        )
        .with_states(
            json!(encode(now.public_access_block)),
            json!(encode(Some(PublicAccessBlock::ALL))),
        ),
    );
    if dry {
        return Ok(report);
    }
    // 3. Read back, then mark (when the tag set can be written).
    let (verified, marked) = verify(bx, name, Some(PublicAccessBlock::ALL)).await?;
    report.push(verified);
    report.push(mark(bx, name, &marked, markers::STATUS_QUARANTINED, &[]).await?);
    Ok(report)
}

/// `changed`, or `would-change` in a dry run.
fn changed(dry: bool) -> Outcome {
    if dry {
        Outcome::WouldChange
    } else {
        Outcome::Changed
    }
}

fn retryable(e: &TaskError) -> bool {
    e.name == names::REMEDIATION_THROTTLED || e.name == names::REMEDIATION_TRANSIENT
}

/// Lifts this pipeline's statements from the bucket's policy in one write: the quarantine of
/// `keys` (of every object, when `None`), and the callers deny when `callers` is set; the
/// policy is deleted when nothing of the bucket's own is left. Returns whether anything was
/// lifted.
async fn lift(
    target: &Target,
    keys: Option<&[String]>,
    callers: bool,
    now: &BucketNow,
    bx: &dyn Buckets,
    report: &mut TaskReport,
) -> Result<bool, TaskError> {
    let (name, dry) = (target.name.as_str(), target.dry_run);
    let policy = match now.policy_document(name) {
        Ok(p) => p,
        // For given objects the quarantine is the whole rollback: an unreadable policy fails
        // it. For the bucket as a whole, the Block Public Access part does not depend on it.
        Err(e) if keys.is_some() => return Err(e),
        Err(e) => {
            for (action, what) in [
                ("release-objects", "a quarantine"),
                ("lift-deny-caller", "a deny"),
            ] {
                report.push(ActionRecord::new(
                    action,
                    name,
                    Outcome::Skipped,
                    format!("the bucket's policy could not be read ({}: {}): {what} of this pipeline's, if any, is left", e.name, e.message),
                ));
            }
            return Ok(false);
        }
    };
    let held = policy
        .as_ref()
        .map(|p| denies::quarantined_objects(p, name))
        .unwrap_or_default();
    let releasing: Vec<String> = match keys {
        Some(keys) => keys.iter().filter(|k| held.contains(k)).cloned().collect(),
        None => held.clone(),
    };
    let denied = match (&policy, callers) {
        (Some(p), true) => denies::bucket_callers(p),
        _ => Vec::new(),
    };
    let Some(policy) = policy.filter(|_| !releasing.is_empty() || !denied.is_empty()) else {
        if let Some(keys) = keys {
            report.push(ActionRecord::new(
                "release-objects",
                name,
                Outcome::Unchanged,
                format!(
                    "the bucket's policy does not quarantine {}: nothing to lift",
                    describe_keys(keys)
                ),
            ));
        }
        return Ok(false);
    };
    let mut remaining = Some(policy);
    if !releasing.is_empty() {
        remaining = remaining
            .and_then(|p| denies::without_quarantined_objects(&p, &target.partition, name, keys));
    }
    if !denied.is_empty() {
        remaining = remaining.and_then(|p| denies::without_bucket_callers(&p));
    }
    if !dry {
        match &remaining {
            None => bx.delete_policy(name).await?,
            Some(p) => bx.put_policy(name, &p.to_string()).await?,
        }
    }
    let rest = if remaining.is_none() {
        " (the bucket's policy held nothing of its own, so it is deleted)"
    } else {
        "; the policy's other statements unchanged"
    };
    if !releasing.is_empty() {
        let after: Vec<String> = remaining
            .as_ref()
            .map(|p| denies::quarantined_objects(p, name))
            .unwrap_or_default();
        report.push(
            ActionRecord::new(
                "release-objects",
                name,
                changed(dry),
                format!(
                    "lifted the quarantine of {}{rest}",
                    describe_keys(&releasing)
                ),
            )
            .with_states(json!(held), json!(after)),
        );
    }
    if !denied.is_empty() {
        report.push(
            ActionRecord::new(
                "lift-deny-caller",
                name,
                changed(dry),
                format!("removed the deny of {}{rest}", denied.join(", ")),
            )
            .with_states(json!(denied), json!([])),
        );
    }
    Ok(true)
}

/// Tags the bucket's status ([`markers::TAG_STATUS`]) over the tags as last read, removing
/// `remove`; skipped, and said so, when the set cannot be written back or S3 refuses it. The
/// change is made and read back by then: a marker is information, and failing the task for it
/// would have a retry report the changed state as the original.
async fn mark(
    bx: &dyn Buckets,
    name: &str,
    now: &BucketNow,
    status: &str,
    remove: &[&str],
) -> Result<ActionRecord, TaskError> {
    let Some(tags) = now.tags_with(&[(markers::TAG_STATUS, status.to_string())], remove) else {
        return Ok(ActionRecord::new(
            "mark-bucket",
            name,
            Outcome::Skipped,
            format!(
                "{}: not tagged {}={status}",
                unwritable(now),
                markers::TAG_STATUS
            ),
        ));
    };
    if let Err(e) = bx.put_tags(name, &tags).await {
        return Ok(ActionRecord::new(
            "mark-bucket",
            name,
            Outcome::Skipped,
            format!(
                "not tagged {}={status}: {}: {}{}",
                markers::TAG_STATUS,
                e.name,
                e.message,
                if remove.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; the record {} is still on the bucket, remove it by hand",
                        markers::TAG_ORIGINAL_PUBLIC_ACCESS_BLOCK
                    )
                }
            ),
        ));
    }
    let removed = if remove.is_empty() {
        String::new()
    } else {
        "record removed; ".to_string()
    };
    Ok(ActionRecord::new(
        "mark-bucket",
        name,
        Outcome::Changed,
        format!("{removed}tagged {}={status}", markers::TAG_STATUS),
    ))
}

/// Denies `caller` every S3 action on the bucket through the bucket's policy, merged with the
/// policy's own statements; read back, then marked.
async fn deny(target: &Target, caller: &str, bx: &dyn Buckets) -> Result<TaskReport, TaskError> {
    let name = target.name.as_str();
    let dry = target.dry_run;
    let mut report = TaskReport::new(TASK, dry);
    let now = read_with_evidence(bx, name).await?;
    report.evidence.insert("bucket".into(), json!(now));
    report.evidence.insert("deniedCaller".into(), json!(caller));
    let policy = now.policy_document(name)?;
    let before = policy
        .as_ref()
        .map(denies::bucket_callers)
        .unwrap_or_default();
    if before.iter().any(|c| c == caller) {
        report.push(
            ActionRecord::new(
                "deny-caller",
                name,
                Outcome::Unchanged,
                format!("the bucket's policy already denies {caller} every S3 action on it"),
            )
            .with_states(json!(before), json!(before)),
        );
        return Ok(report);
    }
    let merged = denies::with_bucket_callers(
        policy.as_ref(),
        &target.partition,
        name,
        &[caller.to_string()],
    );
    put_merged(
        bx,
        name,
        &merged,
        dry,
        &format!("the deny of {caller}"),
        "deny the caller by hand (its access key, or a shorter policy)",
    )
    .await?;
    let after = denies::bucket_callers(&merged);
    report.push(
        ActionRecord::new(
            "deny-caller",
            name,
            changed(dry),
            format!(
                "{} {caller} every S3 action on the bucket and its objects (statement {} of its policy; its other statements unchanged)",
                if dry { "would deny" } else { "denied" },
                denies::DENY_BUCKET_CALLERS_SID
            ),
        )
        .with_states(json!(before), json!(after)),
    );
    if dry {
        return Ok(report);
    }
    let holds = |p: &Value| denies::bucket_callers(p).iter().any(|c| c == caller);
    if let Some(last) = read_back_policy(bx, name, holds).await? {
        report.push(ActionRecord::new(
            "verify-deny-caller",
            name,
            Outcome::Unchanged,
            format!("read back: the policy denies {caller}"),
        ));
        report.push(mark(bx, name, &last, markers::STATUS_QUARANTINED, &[]).await?);
        return Ok(report);
    }
    Err(TaskError::new(
        names::REMEDIATION_VERIFICATION_FAILED,
        format!("bucket {name}: the policy read back does not deny {caller}"),
    ))
}

/// Rolls the containment back. For given objects, only their quarantine is lifted. For the
/// bucket as a whole: the callers deny and every object quarantine removed from the policy,
/// the recorded settings (or no configuration) put back while all four are still on, then the
/// record removed and the bucket marked.
pub async fn restore(target: &Target, bx: &dyn Buckets) -> Result<TaskReport, TaskError> {
    let (name, dry) = (target.name.as_str(), target.dry_run);
    let mut report = TaskReport::new("restore", dry);
    let now = read_with_evidence(bx, name).await?;
    report.evidence.insert("bucket".into(), json!(now));
    if !target.objects.is_empty() {
        lift(target, Some(&target.keys()), false, &now, bx, &mut report).await?;
        return Ok(report);
    }
    let lifted = lift(target, None, true, &now, bx, &mut report).await?;
    let Some(recorded) = now.tag(markers::TAG_ORIGINAL_PUBLIC_ACCESS_BLOCK) else {
        report.push(ActionRecord::new(
            "restore-public-access-block",
            name,
            Outcome::Unchanged,
            format!(
                "no {} record on the bucket: no Block Public Access of this pipeline's to undo (a containment that could not record keeps the previous settings in its report)",
                markers::TAG_ORIGINAL_PUBLIC_ACCESS_BLOCK
            ),
        ));
        if lifted && !dry {
            let after = read(bx, name).await?;
            report.push(mark(bx, name, &after, markers::STATUS_RESTORED, &[]).await?);
        }
        return Ok(report);
    };
    let original = decode(recorded).ok_or_else(|| {
        TaskError::new(
            names::REMEDIATION_FAILED,
            format!(
                "bucket {name}: the record {}={recorded:?} is not a Block Public Access setting; set it by hand",
                markers::TAG_ORIGINAL_PUBLIC_ACCESS_BLOCK
            ),
        )
    })?;
    if now.public_access_block != Some(PublicAccessBlock::ALL) {
        report.push(
            ActionRecord::new(
                "restore-public-access-block",
                name,
                Outcome::Skipped,
                format!(
                    "the bucket has {} now, not all four on: someone changed it since containment; left alone, and the record ({}) kept",
                    label(now.public_access_block),
                    label(original)
                ),
            )
            .with_states(
                json!(encode(now.public_access_block)),
                json!(encode(now.public_access_block)),
            ),
        );
        return Ok(report);
    }
    let outcome = if dry {
        Outcome::WouldChange
    } else {
        match original {
            None => bx.delete_public_access_block(name).await?,
            Some(s) => bx.put_public_access_block(name, s).await?,
        }
        Outcome::Changed
    };
    report.push(
        ActionRecord::new(
            "restore-public-access-block",
            name,
            outcome,
            format!("back to {}", label(original)),
        )
        .with_states(
            json!(encode(Some(PublicAccessBlock::ALL))),
            json!(encode(original)),
        ),
    );
    if dry {
        return Ok(report);
    }
    let (verified, after) = verify(bx, name, original).await?;
    report.push(verified);
    report.push(
        mark(
            bx,
            name,
            &after,
            markers::STATUS_RESTORED,
            &[markers::TAG_ORIGINAL_PUBLIC_ACCESS_BLOCK],
        )
        .await?,
    );
    Ok(report)
}
