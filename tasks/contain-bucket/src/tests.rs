//! The containment and its rollback against an in-memory S3.

use std::sync::Mutex;

use async_trait::async_trait;
use responder_core::{markers, names, Outcome, TaskError};
use serde_json::json;

use crate::{contain, decode, encode, restore, BucketNow, Buckets, PublicAccessBlock, Target};

const OPEN: PublicAccessBlock = PublicAccessBlock {
    block_public_acls: false,
    ignore_public_acls: false,
    block_public_policy: false,
    restrict_public_buckets: false,
};

const PARTIAL: PublicAccessBlock = PublicAccessBlock {
    block_public_acls: true,
    ignore_public_acls: true,
    block_public_policy: false,
    restrict_public_buckets: false,
};

#[derive(Default)]
struct Fake {
    bucket: Mutex<Option<BucketNow>>,
    calls: Mutex<Vec<String>>,
    /// `PutPublicAccessBlock` answers success and changes nothing.
    ignore_writes: bool,
    /// `PutBucketTagging` fails with this error name.
    refuse_tags: Option<responder_core::ErrorName>,
    /// How many times the ACL evidence was read.
    acl_reads: std::sync::atomic::AtomicUsize,
}

impl Fake {
    fn with(settings: Option<PublicAccessBlock>, tags: &[(&str, &str)]) -> Self {
        Fake {
            bucket: Mutex::new(Some(BucketNow {
                public_access_block: settings,
                tags: tags
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                policy: None,
                evidence: json!({"bucketPolicy": "{\"Statement\":[]}"}),
            })),
            ..Fake::default()
        }
    }
    fn now(&self) -> BucketNow {
        self.bucket.lock().expect("lock").clone().expect("bucket")
    }
    fn tag(&self, key: &str) -> Option<String> {
        self.now()
            .tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }
    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("lock").clone()
    }
    fn call(&self, c: String) {
        self.calls.lock().expect("lock").push(c);
    }
}

#[async_trait]
impl Buckets for Fake {
    async fn bucket(&self, _: &str) -> Result<Option<BucketNow>, TaskError> {
        self.call("get".into());
        Ok(self.bucket.lock().expect("lock").clone())
    }
    async fn put_public_access_block(
        &self,
        _: &str,
        settings: PublicAccessBlock,
    ) -> Result<(), TaskError> {
        self.call(format!("put-pab {}", encode(Some(settings))));
        if !self.ignore_writes {
            if let Some(b) = self.bucket.lock().expect("lock").as_mut() {
                b.public_access_block = Some(settings);
            }
        }
        Ok(())
    }
    async fn delete_public_access_block(&self, _: &str) -> Result<(), TaskError> {
        self.call("delete-pab".into());
        if let Some(b) = self.bucket.lock().expect("lock").as_mut() {
            b.public_access_block = None;
        }
        Ok(())
    }
    async fn public_grants(&self, _: &str) -> serde_json::Value {
        self.acl_reads
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        json!([])
    }
    async fn put_policy(&self, _: &str, policy: &str) -> Result<(), TaskError> {
        self.call("put-policy".into());
        if let Some(b) = self.bucket.lock().expect("lock").as_mut() {
            b.policy = Some(Ok(policy.to_string()));
        }
        Ok(())
    }
    async fn delete_policy(&self, _: &str) -> Result<(), TaskError> {
        self.call("delete-policy".into());
        if let Some(b) = self.bucket.lock().expect("lock").as_mut() {
            b.policy = None;
        }
        Ok(())
    }
    async fn object_tags(&self, _: &str, key: &str, _: Option<&str>) -> serde_json::Value {
        self.call(format!("get-object-tags {key}"));
        json!({"GuardDutyMalwareScanStatus": "THREATS_FOUND"})
    }
    async fn put_tags(&self, _: &str, tags: &[(String, String)]) -> Result<(), TaskError> {
        self.call(format!("put-tags {}", tags.len()));
        if let Some(name) = self.refuse_tags {
            return Err(TaskError::new(name, "tags refused"));
        }
        if let Some(b) = self.bucket.lock().expect("lock").as_mut() {
            b.tags = tags.to_vec();
        }
        Ok(())
    }
}

fn target() -> Target {
    Target {
        name: "orders-exports".into(),
        finding_id: "2e4a6c8e0a2c4e6a8c0e2a4c6e8a0c31".into(),
        dry_run: false,
        partition: "aws".into(),
        deny_caller: None,
        objects: Vec::new(),
    }
}

/// A rollback request naming the bucket alone.
fn whole() -> Target {
    Target {
        finding_id: String::new(),
        ..target()
    }
}

fn kinds(calls: &[String]) -> Vec<&str> {
    calls
        .iter()
        .map(|c| c.split(' ').next().unwrap_or(""))
        .collect()
}

#[test]
fn settings_are_recorded_in_a_form_that_reads_back_exactly() {
    for s in [
        None,
        Some(OPEN),
        Some(PARTIAL),
        Some(PublicAccessBlock::ALL),
    ] {
        assert_eq!(decode(&encode(s)), Some(s), "{}", encode(s));
    }
    assert_eq!(
        encode(Some(PARTIAL)),
        "BlockPublicAcls=true IgnorePublicAcls=true BlockPublicPolicy=false RestrictPublicBuckets=false"
    );
    // Every character is one a tag value may hold.
    assert!(encode(Some(PARTIAL))
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || " +-=._:/@".contains(c)));
    for bad in [
        "",
        "all",
        "BlockPublicAcls=true",
        "BlockPublicAcls=yes IgnorePublicAcls=true BlockPublicPolicy=true RestrictPublicBuckets=true",
        "BlockPublicAcls=true BlockPublicAcls=true BlockPublicPolicy=true RestrictPublicBuckets=true",
        "Other=true IgnorePublicAcls=true BlockPublicPolicy=true RestrictPublicBuckets=true",
    ] {
        assert_eq!(decode(bad), None, "{bad:?}");
    }
}

/// The record goes on the bucket before the change, with the bucket's own tags written back;
/// then the settings, the read-back and the marker.
#[tokio::test]
async fn an_open_bucket_is_closed_with_its_settings_recorded_first() {
    let fx = Fake::with(Some(PARTIAL), &[("team", "orders")]);
    let report = contain(&target(), &fx).await.expect("contained");
    assert_eq!(
        kinds(&fx.calls()),
        ["get", "put-tags", "put-pab", "get", "put-tags"]
    );
    // The evidence is read once, beside the first read, not again on the read-back.
    assert_eq!(fx.acl_reads.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(
        report.evidence["bucket"]["evidence"]["aclPublicGrants"],
        json!([])
    );
    assert_eq!(fx.now().public_access_block, Some(PublicAccessBlock::ALL));
    assert_eq!(
        fx.tag(markers::TAG_ORIGINAL_PUBLIC_ACCESS_BLOCK),
        Some(encode(Some(PARTIAL)))
    );
    assert_eq!(fx.tag("team").as_deref(), Some("orders"));
    assert_eq!(
        fx.tag(markers::TAG_STATUS).as_deref(),
        Some(markers::STATUS_QUARANTINED)
    );
    assert!(report.changed());
    assert_eq!(
        report.evidence["originalPublicAccessBlock"]["BlockPublicPolicy"],
        false
    );
    assert_eq!(
        report.evidence["bucket"]["evidence"]["bucketPolicy"],
        "{\"Statement\":[]}"
    );
}

/// Contain, then restore: the bucket is back exactly as it was (settings and tags but the
/// status marker), with and without a configuration of its own.
#[tokio::test]
async fn restore_undoes_exactly_the_containment() {
    for before in [None, Some(OPEN), Some(PARTIAL)] {
        let fx = Fake::with(before, &[("team", "orders")]);
        contain(&target(), &fx).await.expect("contained");
        let report = restore(&whole(), &fx).await.expect("restored");
        assert_eq!(fx.now().public_access_block, before, "{}", encode(before));
        assert_eq!(fx.tag(markers::TAG_ORIGINAL_PUBLIC_ACCESS_BLOCK), None);
        assert_eq!(
            fx.tag(markers::TAG_STATUS).as_deref(),
            Some(markers::STATUS_RESTORED)
        );
        assert_eq!(fx.tag("team").as_deref(), Some("orders"));
        assert!(report.changed());
        let calls = fx.calls();
        assert_eq!(
            calls.iter().any(|c| c == "delete-pab"),
            before.is_none(),
            "no configuration before: the configuration is removed, not set to all-off"
        );
        // Again: nothing of ours left to undo.
        let again = restore(&whole(), &fx).await.expect("again");
        assert!(!again.changed());
    }
}

/// A retried execution keeps the first record, so "all on" is never recorded as the original.
#[tokio::test]
async fn a_retry_keeps_the_first_record() {
    let recorded = encode(Some(OPEN));
    let fx = Fake::with(
        Some(PARTIAL),
        &[(markers::TAG_ORIGINAL_PUBLIC_ACCESS_BLOCK, recorded.as_str())],
    );
    let report = contain(&target(), &fx).await.expect("contained");
    assert_eq!(
        fx.tag(markers::TAG_ORIGINAL_PUBLIC_ACCESS_BLOCK),
        Some(recorded)
    );
    assert_eq!(report.actions[0].outcome, Outcome::Unchanged);
    // Already closed: nothing written at all.
    let fx = Fake::with(Some(PublicAccessBlock::ALL), &[]);
    let report = contain(&target(), &fx).await.expect("contained");
    assert_eq!(fx.calls(), ["get"]);
    assert!(!report.changed());
}

/// A tag set the task may not write back (tags AWS wrote, or no room) does not keep the bucket
/// open: the settings go on, the record is in the report only, and nothing else is tagged.
#[tokio::test]
async fn an_unwritable_tag_set_still_closes_the_bucket() {
    let full: Vec<(String, String)> = (0..50).map(|i| (format!("k{i}"), "v".into())).collect();
    let full: Vec<(&str, &str)> = full.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    for tags in [vec![("aws:cloudformation:stack-name", "orders")], full] {
        let fx = Fake::with(Some(OPEN), &tags);
        let report = contain(&target(), &fx).await.expect("contained");
        assert_eq!(fx.now().public_access_block, Some(PublicAccessBlock::ALL));
        assert!(!fx.calls().iter().any(|c| c.starts_with("put-tags")));
        assert_eq!(report.actions[0].outcome, Outcome::Skipped);
        assert!(report.actions[0].detail.contains("rollback is by hand"));
        assert_eq!(
            report.evidence["originalPublicAccessBlock"]["BlockPublicAcls"],
            false
        );
        // No record: a rollback changes nothing and says why.
        let r = restore(&whole(), &fx).await.expect("restore");
        assert!(!r.changed());
        assert_eq!(fx.now().public_access_block, Some(PublicAccessBlock::ALL));
    }
}

/// A rollback leaves alone settings someone changed since, and refuses an unreadable record
/// by name.
#[tokio::test]
async fn restore_leaves_later_changes_and_refuses_a_forged_record() {
    let fx = Fake::with(
        Some(PARTIAL),
        &[(markers::TAG_ORIGINAL_PUBLIC_ACCESS_BLOCK, "none")],
    );
    let report = restore(&whole(), &fx).await.expect("restore");
    assert_eq!(report.actions[0].outcome, Outcome::Skipped);
    assert_eq!(fx.now().public_access_block, Some(PARTIAL));
    assert_eq!(fx.calls(), ["get"]);

    let fx = Fake::with(
        Some(PublicAccessBlock::ALL),
        &[(markers::TAG_ORIGINAL_PUBLIC_ACCESS_BLOCK, "open please")],
    );
    let e = restore(&whole(), &fx).await.expect_err("forged");
    assert_eq!(e.name, names::REMEDIATION_FAILED);
    assert_eq!(fx.now().public_access_block, Some(PublicAccessBlock::ALL));
}

/// A dry run reads and reports; it writes nothing.
#[tokio::test]
async fn a_dry_run_changes_nothing() {
    let fx = Fake::with(Some(OPEN), &[]);
    let mut t = target();
    t.dry_run = true;
    let report = contain(&t, &fx).await.expect("dry run");
    assert_eq!(fx.calls(), ["get"]);
    assert!(report
        .actions
        .iter()
        .all(|a| a.outcome == Outcome::WouldChange));
}

/// Settings that do not read back fail by name; a missing bucket is named too.
#[tokio::test]
async fn a_change_that_does_not_hold_or_a_missing_bucket_fails_by_name() {
    let fx = Fake {
        ignore_writes: true,
        ..Fake::with(Some(OPEN), &[])
    };
    let e = contain(&target(), &fx).await.expect_err("not held");
    assert_eq!(e.name, names::REMEDIATION_VERIFICATION_FAILED);
    let fx = Fake::default();
    let e = contain(&target(), &fx).await.expect_err("missing");
    assert_eq!(e.name, names::REMEDIATION_TARGET_NOT_FOUND);
}

/// S3 refusing the tags (a bucket under attribute-based access control, a policy) does not
/// keep the bucket open: the cut is made, the record is in the report, and the task succeeds.
/// Throttling of the record fails the task before any change, for the state machine to retry.
#[tokio::test]
async fn a_refused_record_still_closes_the_bucket_but_throttling_is_retried() {
    let fx = Fake {
        refuse_tags: Some(names::REMEDIATION_FAILED),
        ..Fake::with(Some(OPEN), &[])
    };
    let report = contain(&target(), &fx).await.expect("contained");
    assert_eq!(fx.now().public_access_block, Some(PublicAccessBlock::ALL));
    assert_eq!(report.actions[0].outcome, Outcome::Skipped);
    assert!(report.actions[0].detail.contains("could not be written"));
    let marked = report.actions.last().expect("mark");
    assert_eq!(
        (marked.action.as_str(), marked.outcome),
        ("mark-bucket", Outcome::Skipped)
    );

    let fx = Fake {
        refuse_tags: Some(names::REMEDIATION_THROTTLED),
        ..Fake::with(Some(OPEN), &[])
    };
    let e = contain(&target(), &fx).await.expect_err("throttled");
    assert_eq!(e.name, names::REMEDIATION_THROTTLED);
    assert_eq!(
        fx.now().public_access_block,
        Some(OPEN),
        "nothing changed yet"
    );
}

const OWN_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReportsRead","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:role/reports"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::orders-exports/*"}]}"#;

fn caller(id: &str) -> Target {
    Target {
        deny_caller: Some(id.into()),
        ..target()
    }
}

/// A caller is denied by one statement merged into the bucket's own policy; a second caller
/// joins it; the same caller again changes nothing; rollback leaves exactly the bucket's own
/// policy, and Block Public Access is never touched on this path.
#[tokio::test]
async fn a_caller_is_denied_in_the_policy_and_restore_leaves_exactly_the_bucket_s_own() {
    let fx = Fake::with(Some(OPEN), &[("team", "orders")]);
    fx.bucket
        .lock()
        .expect("lock")
        .as_mut()
        .expect("bucket")
        .policy = Some(Ok(OWN_POLICY.to_string()));
    let report = contain(&caller("AIDAEXAMPLEREPORTS01"), &fx)
        .await
        .expect("denied");
    assert!(report.changed());
    let policy = || -> serde_json::Value {
        serde_json::from_str(
            fx.now()
                .policy
                .expect("policy")
                .as_deref()
                .expect("readable"),
        )
        .expect("json")
    };
    assert_eq!(
        responder_core::denies::bucket_callers(&policy()),
        ["AIDAEXAMPLEREPORTS01"]
    );
    assert_eq!(fx.now().public_access_block, Some(OPEN), "BPA untouched");
    assert_eq!(
        fx.tag(markers::TAG_STATUS).as_deref(),
        Some(markers::STATUS_QUARANTINED)
    );
    contain(&caller("AROAEXAMPLEROLE00001:s1"), &fx)
        .await
        .expect("second");
    assert_eq!(responder_core::denies::bucket_callers(&policy()).len(), 2);
    let again = contain(&caller("AIDAEXAMPLEREPORTS01"), &fx)
        .await
        .expect("again");
    assert!(!again.changed());

    let r = restore(&whole(), &fx).await.expect("restored");
    assert!(r.changed());
    let own: serde_json::Value = serde_json::from_str(OWN_POLICY).expect("json");
    assert_eq!(policy(), own);
    assert_eq!(
        fx.tag(markers::TAG_STATUS).as_deref(),
        Some(markers::STATUS_RESTORED)
    );
    assert_eq!(fx.now().public_access_block, Some(OPEN));
}

/// A bucket with no policy of its own gets the deny alone, and rollback deletes the policy;
/// an unreadable policy fails the deny by its name before anything is written.
#[tokio::test]
async fn without_a_policy_the_deny_stands_alone_and_an_unreadable_one_fails_by_name() {
    let fx = Fake::with(None, &[]);
    contain(&caller("AIDAEXAMPLEREPORTS01"), &fx)
        .await
        .expect("denied");
    restore(&whole(), &fx).await.expect("restored");
    assert!(fx.now().policy.is_none());
    assert!(fx.calls().contains(&"delete-policy".to_string()));

    let fx = Fake::with(None, &[]);
    fx.bucket
        .lock()
        .expect("lock")
        .as_mut()
        .expect("bucket")
        .policy = Some(Err(TaskError::new(
        names::REMEDIATION_ACCESS_DENIED,
        "GetBucketPolicy denied",
    )));
    let e = contain(&caller("AIDAEXAMPLEREPORTS01"), &fx)
        .await
        .expect_err("unreadable");
    assert_eq!(e.name, names::REMEDIATION_ACCESS_DENIED);
    assert!(!fx.calls().iter().any(|c| c.starts_with("put")));
}

fn objects(keys: &[&str]) -> Target {
    Target {
        objects: keys
            .iter()
            .map(|k| crate::ObjectRef {
                key: k.to_string(),
                version_id: Some("v1".into()),
                e_tag: None,
                hash: Some("0123abcd".into()),
            })
            .collect(),
        ..target()
    }
}

/// A malicious object is quarantined by one statement merged into the bucket's own policy,
/// its scan-result tag read as evidence; a second finding's object joins the statement; the
/// same object again changes nothing; rolling back one finding lifts exactly its object, and
/// Block Public Access and the bucket's tags are never touched on this path.
#[tokio::test]
async fn malicious_objects_are_quarantined_and_released_one_by_one() {
    let fx = Fake::with(Some(OPEN), &[("team", "orders")]);
    fx.bucket.lock().expect("lock").as_mut().expect("bucket").policy = Some(Ok(
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"Own","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::orders-exports/*"}]}"#.into(),
    ));
    let report = contain(&objects(&["uploads/a.exe"]), &fx)
        .await
        .expect("quarantined");
    assert_eq!(
        report.evidence["objects"][0]["tags"]["GuardDutyMalwareScanStatus"],
        "THREATS_FOUND"
    );
    assert_eq!(report.evidence["objects"][0]["threatHash"], "0123abcd");
    let policy = |fx: &Fake| -> serde_json::Value {
        match fx.now().policy {
            Some(Ok(text)) => serde_json::from_str(&text).expect("json"),
            _ => serde_json::Value::Null,
        }
    };
    let held =
        |fx: &Fake| responder_core::denies::quarantined_objects(&policy(fx), "orders-exports");
    assert_eq!(held(&fx), ["uploads/a.exe"]);
    assert_eq!(policy(&fx)["Statement"][0]["Sid"], "Own");
    contain(&objects(&["*"]), &fx).await.expect("second");
    assert_eq!(held(&fx), ["uploads/a.exe", "*"]);
    // The key `*` is named exactly, never as the bucket's every object.
    assert_eq!(
        policy(&fx)["Statement"][1]["Resource"][1],
        "arn:aws:s3:::orders-exports/${*}"
    );
    let again = contain(&objects(&["*"]), &fx).await.expect("again");
    assert!(!again.changed());
    let released = restore(&objects(&["uploads/a.exe"]), &fx)
        .await
        .expect("released");
    assert!(released.changed());
    assert_eq!(held(&fx), ["*"]);
    restore(&objects(&["*"]), &fx).await.expect("released");
    assert!(held(&fx).is_empty());
    assert_eq!(policy(&fx)["Statement"].as_array().map(Vec::len), Some(1));
    assert_eq!(fx.now().public_access_block, Some(OPEN));
    assert!(!kinds(&fx.calls())
        .iter()
        .any(|c| *c == "put-pab" || *c == "put-tags"));
}

/// A bucket with no policy of its own: the quarantine is its whole policy, and a rollback of
/// the bucket as a whole lifts it with the rest, deleting the policy.
#[tokio::test]
async fn a_bucket_rollback_lifts_every_quarantine() {
    let fx = Fake::with(Some(OPEN), &[]);
    contain(&objects(&["a.exe", "b.exe"]), &fx)
        .await
        .expect("quarantined");
    assert!(fx.now().policy.is_some());
    let report = restore(&whole(), &fx).await.expect("restored");
    assert!(report.changed());
    assert!(fx.now().policy.is_none(), "{:?}", fx.calls());
    assert!(fx.calls().iter().any(|c| c == "delete-policy"));
}

/// A bucket holding both a quarantine and a callers deny of this pipeline's: a rollback of the
/// bucket as a whole lifts both in one write of its policy, each recorded, and leaves exactly
/// the bucket's own statement.
#[tokio::test]
async fn a_bucket_rollback_lifts_the_quarantine_and_the_deny_in_one_write() {
    let own = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Own","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::orders-exports/*"}]}"#;
    let fx = Fake::with(Some(OPEN), &[]);
    fx.bucket
        .lock()
        .expect("lock")
        .as_mut()
        .expect("bucket")
        .policy = Some(Ok(own.into()));
    contain(&objects(&["a.exe"]), &fx)
        .await
        .expect("quarantined");
    contain(&caller("AIDAEXAMPLEUSER0001"), &fx)
        .await
        .expect("denied");
    let writes_before = fx.calls().iter().filter(|c| *c == "put-policy").count();
    let report = restore(&whole(), &fx).await.expect("restored");
    let writes = fx.calls().iter().filter(|c| *c == "put-policy").count() - writes_before;
    assert_eq!(writes, 1, "{:?}", fx.calls());
    let actions: Vec<&str> = report.actions.iter().map(|a| a.action.as_str()).collect();
    assert!(actions.contains(&"release-objects"), "{actions:?}");
    assert!(actions.contains(&"lift-deny-caller"), "{actions:?}");
    let Some(Ok(left)) = fx.now().policy else {
        panic!("the bucket's own policy is kept");
    };
    let left: serde_json::Value = serde_json::from_str(&left).expect("json");
    let own: serde_json::Value = serde_json::from_str(own).expect("json");
    assert_eq!(left, own);
}

/// A key holding `*` cannot be named exactly in a policy of the old version: the task says
/// so and changes nothing, rather than writing a statement that would hold nothing.
#[tokio::test]
async fn a_wildcard_key_in_an_old_version_policy_is_refused_by_name() {
    let fx = Fake::with(Some(OPEN), &[]);
    fx.bucket.lock().expect("lock").as_mut().expect("bucket").policy = Some(Ok(
        r#"{"Version":"2008-10-17","Statement":[{"Sid":"Own","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::orders-exports/*"}]}"#.into(),
    ));
    let e = contain(&objects(&["*"]), &fx).await.expect_err("refused");
    assert_eq!(e.name, names::REMEDIATION_FAILED);
    assert!(e.message.contains("2008-10-17"), "{}", e.message);
    assert!(!fx.calls().iter().any(|c| c == "put-policy"));
    // A plain key is fine in the old version.
    contain(&objects(&["plain.exe"]), &fx)
        .await
        .expect("plain key");
}
