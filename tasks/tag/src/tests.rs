//! Unit tests of the tag logic against an in-memory [`InstanceTagger`].

use std::sync::Mutex;

use chrono::TimeZone;
use responder_core::{testing, Finding};

use super::*;

/// One CreateTags call: resources, tags, dry run.
type Write = (Vec<String>, Vec<TagPair>, bool);

struct Fake {
    exists: bool,
    tags: Mutex<HashMap<String, Vec<TagPair>>>,
    volumes: Vec<String>,
    interfaces: Vec<String>,
    writes: Mutex<Vec<Write>>,
}

const INSTANCE: &str = "i-0abc1234def567890";
const FINDING: &str = "5ab0f1c3d2e4a6b8c0d2e4f6a8b0c2d4";

impl Fake {
    fn new(instance_tags: Vec<TagPair>) -> Self {
        let mut tags = HashMap::new();
        tags.insert(INSTANCE.to_string(), instance_tags);
        Fake {
            exists: true,
            tags: Mutex::new(tags),
            volumes: vec!["vol-root".into(), "vol-data".into()],
            interfaces: vec!["eni-1".into()],
            writes: Mutex::new(Vec::new()),
        }
    }

    fn tags_of(&self, id: &str) -> Vec<TagPair> {
        self.tags
            .lock()
            .expect("lock")
            .get(id)
            .cloned()
            .unwrap_or_default()
    }

    fn writes(&self) -> usize {
        self.writes.lock().expect("lock").len()
    }
}

#[async_trait]
impl InstanceTagger for Fake {
    async fn describe_instance(
        &self,
        _instance_id: &str,
    ) -> Result<Option<InstanceResources>, TaskError> {
        Ok(self.exists.then(|| InstanceResources {
            tags: self.tags_of(INSTANCE),
            volume_ids: self.volumes.clone(),
            interface_ids: self.interfaces.clone(),
        }))
    }

    async fn resource_tags(
        &self,
        resource_ids: &[String],
    ) -> Result<HashMap<String, Vec<TagPair>>, TaskError> {
        let all = self.tags.lock().expect("lock");
        Ok(resource_ids
            .iter()
            .filter_map(|id| Some((id.clone(), all.get(id)?.clone())))
            .collect())
    }

    async fn create_tags(
        &self,
        resource_ids: &[String],
        tags: &[TagPair],
        dry_run: bool,
    ) -> Result<Written, TaskError> {
        self.writes
            .lock()
            .expect("lock")
            .push((resource_ids.to_vec(), tags.to_vec(), dry_run));
        if dry_run {
            return Ok(Written::WouldSucceed);
        }
        let mut all = self.tags.lock().expect("lock");
        for id in resource_ids {
            let current = all.entry(id.clone()).or_default();
            for (k, v) in tags {
                match current.iter_mut().find(|(ck, _)| ck == k) {
                    Some(slot) => slot.1 = v.clone(),
                    None => current.push((k.clone(), v.clone())),
                }
            }
            assert!(
                current.len() <= markers::limits::TAGS_PER_RESOURCE,
                "EC2 would refuse more than 50 tags on {id}"
            );
        }
        Ok(Written::Done)
    }
}

fn input(dry_run: bool) -> TaskInput {
    let finding = Finding {
        id: FINDING.into(),
        ..testing::instance_finding(INSTANCE)
    };
    testing::task_input(finding, dry_run, "exec-1")
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 30, 0)
        .single()
        .expect("time")
}

fn pair(k: &str, v: &str) -> TagPair {
    (k.to_string(), v.to_string())
}

#[tokio::test]
async fn tags_the_instance_its_volumes_and_interfaces() {
    let fake = Fake::new(vec![pair("Name", "web-1")]);
    let r = run(&input(false), &fake, now()).await.expect("report");
    let tags = fake.tags_of(INSTANCE);
    assert_eq!(get(&tags, markers::TAG_FINDING_ID), Some(FINDING));
    assert_eq!(get(&tags, markers::TAG_SEVERITY), Some("8.0 HIGH"));
    assert_eq!(
        get(&tags, markers::TAG_FINDING_TYPE),
        Some("Backdoor:EC2/C&CActivity.B!DNS")
    );
    assert_eq!(get(&tags, markers::TAG_TIME), Some("2026-03-01T12:30:00Z"));
    assert_eq!(get(&tags, markers::TAG_EXECUTION), Some("exec-1"));
    assert_eq!(
        get(&tags, markers::TAG_STATUS),
        None,
        "isolate owns the status"
    );
    for id in ["vol-root", "vol-data", "eni-1"] {
        assert_eq!(
            get(&fake.tags_of(id), markers::TAG_FINDING_ID),
            Some(FINDING),
            "{id}"
        );
    }
    assert_eq!(
        fake.writes(),
        2,
        "one CreateTags for the instance, one for the rest"
    );
    assert_eq!(r.actions[0].action, "tag-instance");
    assert_eq!(r.actions[0].outcome, Outcome::Changed);
    assert_eq!(
        r.actions[0].before.as_ref().expect("before")[markers::TAG_FINDING_ID],
        Value::Null
    );
    assert_eq!(
        r.actions
            .iter()
            .filter(|a| a.outcome == Outcome::Changed)
            .count(),
        4
    );
    assert_eq!(
        r.evidence["taggedResources"],
        json!(["vol-root", "vol-data", "eni-1"])
    );
}

#[tokio::test]
async fn retagging_the_same_finding_is_unchanged() {
    let fake = Fake::new(vec![]);
    run(&input(false), &fake, now()).await.expect("first");
    let writes = fake.writes();
    // A re-delivery, later, from another execution: the first stamps stay.
    let mut again = input(false);
    again.execution = Some("exec-2".into());
    let later = now() + chrono::Duration::hours(2);
    let r = run(&again, &fake, later).await.expect("second");
    assert_eq!(fake.writes(), writes, "nothing written");
    assert!(r.actions.iter().all(|a| a.outcome == Outcome::Unchanged));
    assert!(!r.changed());
    assert_eq!(
        get(&fake.tags_of(INSTANCE), markers::TAG_TIME),
        Some("2026-03-01T12:30:00Z")
    );
}

#[tokio::test]
async fn a_severity_update_changes_only_the_severity() {
    let fake = Fake::new(vec![]);
    run(&input(false), &fake, now()).await.expect("first");
    let mut update = input(false);
    update.finding.severity = 9.5;
    update.decision.tier = Tier::Critical;
    let r = run(&update, &fake, now()).await.expect("update");
    let inst = &r.actions[0];
    assert_eq!(inst.outcome, Outcome::Changed);
    let after = inst
        .after
        .as_ref()
        .expect("after")
        .as_object()
        .expect("map");
    assert_eq!(after.keys().collect::<Vec<_>>(), [markers::TAG_SEVERITY]);
    assert_eq!(after[markers::TAG_SEVERITY], "9.5 CRITICAL");
    assert_eq!(
        inst.before.as_ref().expect("before")[markers::TAG_SEVERITY],
        "8.0 HIGH"
    );
}

#[tokio::test]
async fn another_finding_restamps_the_instance() {
    let fake = Fake::new(vec![
        pair(markers::TAG_FINDING_ID, "older"),
        pair(markers::TAG_TIME, "2025-01-01T00:00:00Z"),
    ]);
    run(&input(false), &fake, now()).await.expect("report");
    let tags = fake.tags_of(INSTANCE);
    assert_eq!(get(&tags, markers::TAG_FINDING_ID), Some(FINDING));
    assert_eq!(get(&tags, markers::TAG_TIME), Some("2026-03-01T12:30:00Z"));
}

#[tokio::test]
async fn dry_run_writes_nothing() {
    let fake = Fake::new(vec![]);
    let r = run(&input(true), &fake, now()).await.expect("report");
    assert!(r.dry_run);
    assert!(fake.writes.lock().expect("lock").iter().all(|w| w.2));
    assert_eq!(get(&fake.tags_of(INSTANCE), markers::TAG_FINDING_ID), None);
    assert!(r.actions.iter().all(|a| a.outcome == Outcome::WouldChange));
    assert_eq!(r.evidence["taggedResources"], json!([]));
}

#[tokio::test]
async fn long_values_are_cut_to_256_characters() {
    let fake = Fake::new(vec![]);
    let mut i = input(false);
    i.finding.finding_type = format!("Backdoor:EC2/{}", "x".repeat(400));
    i.execution = Some("é".repeat(300));
    run(&i, &fake, now()).await.expect("report");
    let tags = fake.tags_of(INSTANCE);
    let ty = get(&tags, markers::TAG_FINDING_TYPE).expect("type");
    assert_eq!(ty.len(), 256);
    assert!(ty.starts_with("Backdoor:EC2/xxx"));
    let exec = get(&tags, markers::TAG_EXECUTION).expect("execution");
    assert!(exec.chars().count() <= markers::limits::VALUE_MAX);
    assert!(
        exec.chars().all(|c| c == 'é'),
        "cut on a character boundary"
    );
    for (k, v) in &tags {
        assert!(k.chars().count() <= markers::limits::KEY_MAX);
        assert!(v.chars().count() <= markers::limits::VALUE_MAX);
    }
}

fn filler(n: usize) -> Vec<TagPair> {
    (0..n).map(|i| pair(&format!("team:{i}"), "x")).collect()
}

#[tokio::test]
async fn the_fifty_tag_limit_keeps_the_essential_tags() {
    // 45 tags, isolate's status already there: 5 free slots, but the quarantine record key is
    // not there yet and keeps one, so 4 of the 5 incident tags fit.
    let mut tags = filler(44);
    tags.push(pair(markers::TAG_STATUS, "quarantined"));
    let fake = Fake::new(tags);
    let r = run(&input(false), &fake, now()).await.expect("report");
    let after = fake.tags_of(INSTANCE);
    assert_eq!(after.len(), 49);
    assert_eq!(get(&after, markers::TAG_FINDING_ID), Some(FINDING));
    assert_eq!(get(&after, markers::TAG_SEVERITY), Some("8.0 HIGH"));
    assert_eq!(get(&after, markers::TAG_EXECUTION), None);
    assert_eq!(
        r.evidence["droppedTags"][INSTANCE],
        json!([markers::TAG_EXECUTION])
    );
    assert!(r.actions[0].detail.contains("left out"));
    assert!(r.evidence["tags"].get(markers::TAG_EXECUTION).is_none());
}

#[tokio::test]
async fn a_full_instance_is_skipped_with_the_dropped_keys() {
    let fake = Fake::new(filler(50));
    let r = run(&input(false), &fake, now()).await.expect("report");
    assert_eq!(r.actions[0].outcome, Outcome::Skipped);
    assert_eq!(
        r.evidence["droppedTags"][INSTANCE]
            .as_array()
            .expect("dropped")
            .len(),
        5
    );
    assert_eq!(fake.tags_of(INSTANCE).len(), 50);
}

#[tokio::test]
async fn a_full_volume_is_skipped() {
    let fake = Fake::new(vec![]);
    fake.tags
        .lock()
        .expect("lock")
        .insert("vol-data".into(), filler(50));
    let r = run(&input(false), &fake, now()).await.expect("report");
    let vol = r
        .actions
        .iter()
        .find(|a| a.target == "vol-data")
        .expect("volume record");
    assert_eq!(vol.outcome, Outcome::Skipped);
    assert_eq!(
        r.evidence["droppedTags"]["vol-data"],
        json!([markers::TAG_FINDING_ID])
    );
    assert_eq!(r.evidence["taggedResources"], json!(["vol-root", "eni-1"]));
}

#[test]
fn plan_counts_only_new_keys_against_the_limit() {
    let mut current = filler(49);
    current.push(pair("k", "old"));
    let wanted = vec![pair("k", "new"), pair("a", "1"), pair("b", "2")];
    let p = plan_tags(&current, &wanted, &[]);
    assert_eq!(p.write, vec![pair("k", "new")]);
    assert_eq!(p.dropped, vec!["a".to_string(), "b".to_string()]);
    let p = plan_tags(&filler(48), &wanted, &[]);
    assert_eq!(p.write.len(), 2);
    assert_eq!(p.dropped, vec!["b".to_string()]);
    let p = plan_tags(&filler(48), &wanted, &["reserved"]);
    assert_eq!(p.write.len(), 1, "one slot kept for the reserved key");
}

#[tokio::test]
async fn missing_instance_is_target_not_found() {
    let mut fake = Fake::new(vec![]);
    fake.exists = false;
    let e = run(&input(false), &fake, now()).await.expect_err("missing");
    assert_eq!(e.name, names::REMEDIATION_TARGET_NOT_FOUND);
}

#[test]
fn tag_keys_are_within_the_key_limit() {
    for (k, _) in instance_tags(&input(false), &[], now()) {
        assert!(k.len() <= markers::limits::KEY_MAX, "{k}");
        assert_ne!(k, markers::TAG_STATUS);
    }
}
