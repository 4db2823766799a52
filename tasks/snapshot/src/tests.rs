//! Unit tests of the snapshot logic against an in-memory [`SnapshotStore`].

use std::sync::Mutex;

use responder_core::finding::Resource;
use responder_core::testing;

use super::*;

/// What the fake's `CreateSnapshots` does.
#[derive(Clone)]
enum Multi {
    Works,
    /// `TagLimitExceeded` while volume tags are copied, then works.
    TooManyTags,
    Unsupported(&'static str),
    Fails(TaskError),
}

/// A snapshot and its tags.
type Stored = (SnapshotRef, Vec<(String, String)>);

struct Fake {
    evidence: Mutex<Vec<Stored>>,
    volumes: Option<Vec<VolumeRef>>,
    multi: Multi,
    calls: Mutex<Vec<String>>,
    next: Mutex<u32>,
}

impl Fake {
    fn new(volumes: Option<Vec<VolumeRef>>, multi: Multi) -> Self {
        Fake {
            evidence: Mutex::new(Vec::new()),
            volumes,
            multi,
            calls: Mutex::new(Vec::new()),
            next: Mutex::new(0),
        }
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("lock").clone()
    }

    fn snap(&self, volume_id: &str, spec: &SnapshotSpec) -> SnapshotRef {
        let mut n = self.next.lock().expect("lock");
        *n += 1;
        let s = SnapshotRef {
            snapshot_id: format!("snap-{:04}", *n),
            volume_id: Some(volume_id.to_string()),
            state: Some("pending".into()),
        };
        self.evidence
            .lock()
            .expect("lock")
            .push((s.clone(), spec.tags.clone()));
        s
    }
}

fn tag<'a>(tags: &'a [(String, String)], key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[async_trait]
impl SnapshotStore for Fake {
    async fn find_evidence(
        &self,
        finding_id: &str,
        instance_id: &str,
    ) -> Result<Vec<SnapshotRef>, TaskError> {
        self.calls.lock().expect("lock").push("find".into());
        Ok(self
            .evidence
            .lock()
            .expect("lock")
            .iter()
            .filter(|(_, t)| {
                tag(t, markers::TAG_FINDING_ID) == Some(finding_id)
                    && tag(t, markers::TAG_INSTANCE) == Some(instance_id)
            })
            .map(|(s, _)| s.clone())
            .collect())
    }

    async fn instance_volumes(
        &self,
        _instance_id: &str,
    ) -> Result<Option<Vec<VolumeRef>>, TaskError> {
        self.calls.lock().expect("lock").push("volumes".into());
        Ok(self.volumes.clone())
    }

    async fn create_snapshots(
        &self,
        spec: &SnapshotSpec,
        dry_run: bool,
    ) -> Result<Call<Vec<SnapshotRef>>, CreateError> {
        self.calls
            .lock()
            .expect("lock")
            .push(format!("multi dry_run={dry_run}"));
        match &self.multi {
            Multi::Unsupported(code) => Err(CreateError::Unsupported(code.to_string())),
            Multi::Fails(e) => Err(CreateError::Failed(e.clone())),
            Multi::TooManyTags if spec.copy_volume_tags => {
                Err(CreateError::TagLimit("TagLimitExceeded".into()))
            }
            Multi::Works | Multi::TooManyTags if dry_run => Ok(Call::WouldSucceed),
            Multi::Works | Multi::TooManyTags => Ok(Call::Done(
                self.volumes
                    .clone()
                    .unwrap_or_default()
                    .iter()
                    .map(|v| self.snap(&v.volume_id, spec))
                    .collect(),
            )),
        }
    }

    async fn create_volume_snapshot(
        &self,
        volume_id: &str,
        spec: &SnapshotSpec,
        dry_run: bool,
    ) -> Result<Call<SnapshotRef>, TaskError> {
        self.calls
            .lock()
            .expect("lock")
            .push(format!("single {volume_id} dry_run={dry_run}"));
        if dry_run {
            return Ok(Call::WouldSucceed);
        }
        Ok(Call::Done(self.snap(volume_id, spec)))
    }
}

fn vols(ids: &[&str]) -> Vec<VolumeRef> {
    ids.iter()
        .enumerate()
        .map(|(i, v)| VolumeRef {
            volume_id: v.to_string(),
            device: Some(format!("/dev/xvd{}", (b'a' + i as u8) as char)),
        })
        .collect()
}

fn input(dry_run: bool) -> TaskInput {
    testing::task_input(
        testing::instance_finding("i-0abc1234def567890"),
        dry_run,
        "arn:aws:states:eu-west-1:111111111111:execution:responder:exec-1",
    )
}

fn ids(report: &TaskReport, key: &str) -> Vec<String> {
    report.evidence[key]
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_str().expect("string").to_string())
        .collect()
}

#[tokio::test]
async fn happy_path_snapshots_every_volume_in_one_call() {
    let store = Fake::new(Some(vols(&["vol-root", "vol-data"])), Multi::Works);
    let report = run(&input(false), &store).await.expect("report");
    assert_eq!(report.task, "snapshot");
    assert!(!report.dry_run);
    assert_eq!(store.calls(), ["find", "volumes", "multi dry_run=false"]);
    assert_eq!(report.actions.len(), 2);
    assert!(report.actions.iter().all(|a| a.outcome == Outcome::Changed));
    assert_eq!(report.actions[0].target, "vol-root");
    assert_eq!(
        report.actions[0].after.as_ref().expect("after")["snapshotId"],
        "snap-0001"
    );
    assert_eq!(
        report.actions[0].after.as_ref().expect("after")["device"],
        "/dev/xvda"
    );
    assert_eq!(ids(&report, "snapshotIds"), ["snap-0001", "snap-0002"]);
    assert_eq!(ids(&report, "volumeIds"), ["vol-root", "vol-data"]);
    assert_eq!(report.evidence["snapshotApi"], "CreateSnapshots");
}

#[tokio::test]
async fn redelivery_reuses_the_evidence_and_takes_no_second_set() {
    let store = Fake::new(Some(vols(&["vol-root", "vol-data"])), Multi::Works);
    let first = run(&input(false), &store).await.expect("first");
    // A GuardDuty update of the same finding: same id, higher count, another execution.
    let mut again = input(false);
    again.finding.count = 7;
    again.execution = Some("exec-2".into());
    let second = run(&again, &store).await.expect("second");
    assert_eq!(
        store.evidence.lock().expect("lock").len(),
        2,
        "no second set"
    );
    assert!(second
        .actions
        .iter()
        .all(|a| a.outcome == Outcome::Unchanged));
    assert_eq!(
        ids(&second, "snapshotIds"),
        ids(&first, "snapshotIds"),
        "the same snapshots are reported"
    );
    assert_eq!(second.evidence["snapshotApi"], "existing");
    assert!(!second.changed());
}

#[tokio::test]
async fn evidence_of_another_finding_is_not_reused() {
    let store = Fake::new(Some(vols(&["vol-root"])), Multi::Works);
    run(&input(false), &store).await.expect("first");
    let mut other = input(false);
    other.finding.id = "ffffffffffffffffffffffffffffffff".into();
    let r = run(&other, &store).await.expect("other finding");
    assert_eq!(r.actions[0].outcome, Outcome::Changed);
    assert_eq!(store.evidence.lock().expect("lock").len(), 2);
}

#[tokio::test]
async fn an_incomplete_set_is_completed_per_volume() {
    let store = Fake::new(Some(vols(&["vol-root", "vol-new"])), Multi::Works);
    let spec = snapshot_spec(&input(false), "i-0abc1234def567890");
    store.snap("vol-root", &spec);
    let r = run(&input(false), &store).await.expect("report");
    assert_eq!(r.actions[0].outcome, Outcome::Unchanged);
    assert_eq!(r.actions[1].outcome, Outcome::Changed);
    assert_eq!(r.actions[1].target, "vol-new");
    assert!(store
        .calls()
        .contains(&"single vol-new dry_run=false".to_string()));
    assert!(!store.calls().iter().any(|c| c.starts_with("multi")));
    assert_eq!(ids(&r, "volumeIds"), ["vol-root", "vol-new"]);
}

#[tokio::test]
async fn evidence_survives_a_terminated_instance() {
    let store = Fake::new(None, Multi::Works);
    let spec = snapshot_spec(&input(false), "i-0abc1234def567890");
    store.snap("vol-root", &spec);
    let r = run(&input(false), &store).await.expect("reused");
    assert_eq!(r.actions[0].outcome, Outcome::Unchanged);
}

#[tokio::test]
async fn dry_run_lists_the_volumes_and_changes_nothing() {
    let store = Fake::new(Some(vols(&["vol-root", "vol-data"])), Multi::Works);
    let r = run(&input(true), &store).await.expect("report");
    assert!(r.dry_run);
    assert_eq!(store.calls(), ["find", "volumes", "multi dry_run=true"]);
    assert!(store.evidence.lock().expect("lock").is_empty());
    assert_eq!(r.actions.len(), 2);
    assert!(r.actions.iter().all(|a| a.outcome == Outcome::WouldChange));
    assert_eq!(ids(&r, "wouldSnapshotVolumeIds"), ["vol-root", "vol-data"]);
    assert!(ids(&r, "snapshotIds").is_empty());
}

#[tokio::test]
async fn no_volumes_is_skipped_with_a_reason() {
    let store = Fake::new(Some(vec![]), Multi::Works);
    let r = run(&input(false), &store).await.expect("report");
    assert_eq!(r.actions.len(), 1);
    assert_eq!(r.actions[0].outcome, Outcome::Skipped);
    assert!(r.actions[0].detail.contains("no attached EBS volumes"));
    assert!(!store.calls().iter().any(|c| c.starts_with("multi")));
}

#[tokio::test]
async fn missing_instance_is_target_not_found() {
    let store = Fake::new(None, Multi::Works);
    let e = run(&input(false), &store).await.expect_err("not found");
    assert_eq!(e.name, names::REMEDIATION_TARGET_NOT_FOUND);
}

#[tokio::test]
async fn limit_errors_keep_their_retryable_name() {
    for name in [names::SNAPSHOT_LIMIT_EXCEEDED, names::REMEDIATION_THROTTLED] {
        let store = Fake::new(
            Some(vols(&["vol-root"])),
            Multi::Fails(TaskError::new(name, "limit")),
        );
        let e = run(&input(false), &store).await.expect_err("limit");
        assert_eq!(e.name, name);
        assert!(e.is_retryable());
    }
}

#[tokio::test]
async fn unsupported_create_snapshots_falls_back_per_volume() {
    for dry_run in [false, true] {
        let store = Fake::new(
            Some(vols(&["vol-root", "vol-data"])),
            Multi::Unsupported("InvalidAction"),
        );
        let r = run(&input(dry_run), &store).await.expect("report");
        assert_eq!(r.evidence["snapshotApi"], "CreateSnapshot");
        assert!(store
            .calls()
            .contains(&format!("single vol-data dry_run={dry_run}")));
        let want = if dry_run {
            Outcome::WouldChange
        } else {
            Outcome::Changed
        };
        assert!(r.actions.iter().all(|a| a.outcome == want));
        assert!(r.actions[0].detail.contains("InvalidAction"));
        if !dry_run {
            assert_eq!(ids(&r, "volumeIds"), ["vol-root", "vol-data"]);
        }
    }
}

#[tokio::test]
async fn access_key_findings_are_bad_input() {
    let mut i = input(false);
    i.finding.resource = Resource::Other {
        resource_type: "S3Bucket".into(),
    };
    let store = Fake::new(Some(vols(&["vol-root"])), Multi::Works);
    let e = run(&i, &store).await.expect_err("bad input");
    assert_eq!(e.name, names::INPUT_INVALID);
}

#[test]
fn spec_tags_mark_the_evidence_within_limits() {
    let mut i = input(false);
    i.execution = Some("x".repeat(400));
    i.finding.finding_type = "T".repeat(400);
    let spec = snapshot_spec(&i, "i-0abc1234def567890");
    assert_eq!(
        tag(&spec.tags, markers::TAG_PURPOSE),
        Some("incident-evidence")
    );
    assert_eq!(
        tag(&spec.tags, markers::TAG_FINDING_ID),
        Some("5ab0f1c3d2e4a6b8c0d2e4f6a8b0c2d4")
    );
    assert_eq!(
        tag(&spec.tags, markers::TAG_INSTANCE),
        Some("i-0abc1234def567890")
    );
    assert_eq!(
        tag(&spec.tags, "Name"),
        Some("evidence i-0abc1234def567890 5ab0f1c3")
    );
    assert_eq!(
        tag(&spec.tags, markers::TAG_EXECUTION).map(str::len),
        Some(256)
    );
    for (k, v) in &spec.tags {
        assert!(k.len() <= markers::limits::KEY_MAX, "{k}");
        assert!(v.chars().count() <= markers::limits::VALUE_MAX, "{k}");
    }
    assert_eq!(spec.description.chars().count(), DESCRIPTION_MAX);
}

#[tokio::test]
async fn too_many_tags_retries_without_copying_volume_tags() {
    let store = Fake::new(Some(vols(&["vol-root"])), Multi::TooManyTags);
    let r = run(&input(false), &store).await.expect("report");
    assert_eq!(
        store.calls(),
        [
            "find",
            "volumes",
            "multi dry_run=false",
            "multi dry_run=false"
        ]
    );
    assert_eq!(r.actions[0].outcome, Outcome::Changed);
    assert!(r.actions[0].detail.contains("not copied"));
}
