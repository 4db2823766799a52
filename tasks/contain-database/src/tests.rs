//! The logic against an in-memory RDS and `isolate`'s fake EC2.

use std::sync::Mutex;

use ec2_containment::fakes::FakeEc2;
use responder_aws::rds::ClusterState;

use super::*;

#[derive(Default)]
struct FakeRds {
    db: Mutex<Option<DatabaseState>>,
    calls: Mutex<Vec<String>>,
    /// Snapshots taken, by name.
    snapshots: Mutex<Vec<String>>,
    /// `CreateDBSnapshot` answers `InvalidDBInstanceState` this many times first.
    busy_for: Mutex<u32>,
}

impl FakeRds {
    fn standalone(groups: &[&str]) -> Self {
        let db = DatabaseState {
            identifier: "billing-db".into(),
            arn: "arn:aws:rds:eu-west-1:222222222222:db:billing-db".into(),
            status: Some("available".into()),
            engine: Some("postgres".into()),
            vpc_id: Some("vpc-1".into()),
            security_groups: groups.iter().map(|g| g.to_string()).collect(),
            tags: vec![("team".into(), "billing".into())],
            ..Default::default()
        };
        FakeRds {
            db: Mutex::new(Some(db)),
            ..Default::default()
        }
    }

    fn aurora(groups: &[&str]) -> Self {
        let f = Self::standalone(&[]);
        {
            let mut db = f.db.lock().expect("lock");
            let db = db.as_mut().expect("db");
            db.identifier = "ledger-db-1".into();
            db.arn = "arn:aws:rds:eu-west-1:222222222222:db:ledger-db-1".into();
            db.engine = Some("aurora-postgresql".into());
            db.cluster = Some(ClusterState {
                identifier: "ledger-cluster".into(),
                arn: "arn:aws:rds:eu-west-1:222222222222:cluster:ledger-cluster".into(),
                security_groups: groups.iter().map(|g| g.to_string()).collect(),
                members: vec!["ledger-db-1".into(), "ledger-db-2".into()],
                tags: Vec::new(),
            });
        }
        f
    }

    fn now(&self) -> DatabaseState {
        self.db.lock().expect("lock").clone().expect("db")
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("lock").clone()
    }

    fn call(&self, c: String) {
        self.calls.lock().expect("lock").push(c);
    }
}

fn set_tags(list: &mut Vec<(String, String)>, tags: &[(String, String)]) {
    for (k, v) in tags {
        list.retain(|(key, _)| key != k);
        list.push((k.clone(), v.clone()));
    }
}

#[async_trait]
impl Databases for FakeRds {
    async fn database(&self, _: &str) -> Result<Option<DatabaseState>, TaskError> {
        Ok(self.db.lock().expect("lock").clone())
    }
    async fn set_instance_groups(&self, id: &str, groups: &[String]) -> Result<(), TaskError> {
        self.call(format!("modify-instance {id} {}", groups.join(",")));
        let mut db = self.db.lock().expect("lock");
        db.as_mut().expect("db").security_groups = groups.to_vec();
        Ok(())
    }
    async fn set_cluster_groups(&self, id: &str, groups: &[String]) -> Result<(), TaskError> {
        self.call(format!("modify-cluster {id} {}", groups.join(",")));
        let mut db = self.db.lock().expect("lock");
        let c = db
            .as_mut()
            .and_then(|d| d.cluster.as_mut())
            .expect("cluster");
        c.security_groups = groups.to_vec();
        Ok(())
    }
    async fn tag(&self, arn: &str, tags: &[(String, String)]) -> Result<(), TaskError> {
        let keys: Vec<&str> = tags.iter().map(|(k, _)| k.as_str()).collect();
        self.call(format!("tag {arn} {}", keys.join(",")));
        let mut db = self.db.lock().expect("lock");
        let db = db.as_mut().expect("db");
        if arn.contains(":cluster:") {
            set_tags(&mut db.cluster.as_mut().expect("cluster").tags, tags);
        } else {
            set_tags(&mut db.tags, tags);
        }
        Ok(())
    }
    async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), TaskError> {
        self.call(format!("untag {arn} {}", keys.join(",")));
        let mut db = self.db.lock().expect("lock");
        let db = db.as_mut().expect("db");
        let list = if arn.contains(":cluster:") {
            &mut db.cluster.as_mut().expect("cluster").tags
        } else {
            &mut db.tags
        };
        list.retain(|(k, _)| !keys.contains(k));
        Ok(())
    }
    async fn snapshot(
        &self,
        of: &Holder,
        name: &str,
        _: &[(String, String)],
    ) -> Result<bool, TaskError> {
        self.call(format!("snapshot {} {name}", of.identifier()));
        {
            let mut busy = self.busy_for.lock().expect("lock");
            if *busy > 0 {
                *busy -= 1;
                return Err(TaskError::new(
                    names::REMEDIATION_FAILED,
                    "InvalidDBInstanceState: modifying",
                )
                .with_aws_code("InvalidDBInstanceState"));
            }
        }
        let mut s = self.snapshots.lock().expect("lock");
        if s.iter().any(|n| n == name) {
            return Ok(false);
        }
        s.push(name.to_string());
        Ok(true)
    }
}

fn target(dry_run: bool) -> Target {
    Target {
        identifier: "billing-db".into(),
        finding_id: "1d3f5b7d9f1b3d5f7b9d1f3b5d7f9b31".into(),
        idempotency_key: "gd-0123456789abcdef0123".into(),
        dry_run,
    }
}

fn outcome(report: &TaskReport, action: &str) -> Outcome {
    report
        .actions
        .iter()
        .find(|a| a.action == action)
        .unwrap_or_else(|| panic!("no {action} in {:?}", report.actions))
        .outcome
}

fn quarantine_of(ec2: &FakeEc2) -> String {
    ec2.state()
        .groups
        .iter()
        .find(|g| g.name == markers::QUARANTINE_GROUP_NAME)
        .expect("quarantine group")
        .group
        .id
        .clone()
}

#[tokio::test]
async fn a_standalone_instance_is_recorded_then_isolated_snapshotted_and_marked() {
    let rds = FakeRds::standalone(&["sg-app", "sg-admin"]);
    let ec2 = FakeEc2::default();
    let r = contain(&target(false), &IsolateConfig::default(), &rds, &ec2)
        .await
        .expect("contained");
    let q = quarantine_of(&ec2);
    let db = rds.now();
    assert_eq!(db.security_groups, vec![q.clone()]);
    let tags: BTreeMap<String, String> = db.tags.iter().cloned().collect();
    assert_eq!(
        decode_groups(&tags),
        Some(vec!["sg-app".to_string(), "sg-admin".to_string()])
    );
    assert_eq!(tags[markers::TAG_STATUS], markers::STATUS_QUARANTINED);
    // The record went out before the change.
    let calls = rds.calls();
    let tag_at = calls
        .iter()
        .position(|c| c.starts_with("tag "))
        .expect("tag");
    let modify_at = calls
        .iter()
        .position(|c| c.starts_with("modify-instance"))
        .expect("modify");
    assert!(tag_at < modify_at, "{calls:?}");
    assert_eq!(
        *rds.snapshots.lock().expect("lock"),
        vec!["guardduty-responder-0123456789abcdef0123".to_string()]
    );
    assert_eq!(outcome(&r, "set-security-groups"), Outcome::Changed);
    assert_eq!(outcome(&r, "snapshot-database"), Outcome::Changed);
    assert_eq!(r.evidence["originalGroups"], json!(["sg-app", "sg-admin"]));
    assert_eq!(r.evidence["quarantineGroup"], json!(q));
    assert!(r.incomplete.is_empty());
    assert!(r.caveats.iter().any(|c| c.contains("pg_terminate_backend")));
}

#[tokio::test]
async fn a_repeat_changes_nothing_and_keeps_the_true_originals() {
    let rds = FakeRds::standalone(&["sg-app"]);
    let ec2 = FakeEc2::default();
    let cfg = IsolateConfig::default();
    contain(&target(false), &cfg, &rds, &ec2)
        .await
        .expect("first");
    let r = contain(&target(false), &cfg, &rds, &ec2)
        .await
        .expect("again");
    assert_eq!(outcome(&r, "set-security-groups"), Outcome::Unchanged);
    assert_eq!(outcome(&r, "snapshot-database"), Outcome::Unchanged);
    let tags: BTreeMap<String, String> = rds.now().tags.iter().cloned().collect();
    assert_eq!(decode_groups(&tags), Some(vec!["sg-app".to_string()]));
    assert_eq!(
        rds.calls()
            .iter()
            .filter(|c| c.starts_with("modify"))
            .count(),
        1
    );
}

#[tokio::test]
async fn an_aurora_member_isolates_its_cluster_and_says_every_member_is_cut() {
    let rds = FakeRds::aurora(&["sg-ledger"]);
    let ec2 = FakeEc2::default();
    let mut t = target(false);
    t.identifier = "ledger-db-1".into();
    let r = contain(&t, &IsolateConfig::default(), &rds, &ec2)
        .await
        .expect("contained");
    let q = quarantine_of(&ec2);
    let db = rds.now();
    let cluster = db.cluster.as_ref().expect("cluster");
    assert_eq!(cluster.security_groups, vec![q]);
    let tags: BTreeMap<String, String> = cluster.tags.iter().cloned().collect();
    assert_eq!(decode_groups(&tags), Some(vec!["sg-ledger".to_string()]));
    assert!(rds
        .calls()
        .iter()
        .any(|c| c.starts_with("modify-cluster ledger-cluster")));
    assert!(!rds.calls().iter().any(|c| c.starts_with("modify-instance")));
    let set = r
        .actions
        .iter()
        .find(|a| a.action == "set-security-groups")
        .expect("set");
    assert!(
        set.detail.contains("ledger-db-1, ledger-db-2"),
        "{}",
        set.detail
    );
    assert_eq!(r.evidence["cluster"], json!("ledger-cluster"));
    assert!(rds
        .calls()
        .iter()
        .any(|c| c.starts_with("snapshot ledger-cluster")));

    // Rollback puts the cluster's groups back.
    let back = restore("ledger-db-1", false, &rds, &ec2)
        .await
        .expect("restored");
    assert_eq!(outcome(&back, "restore-security-groups"), Outcome::Changed);
    let cluster = rds.now().cluster.expect("cluster");
    assert_eq!(cluster.security_groups, vec!["sg-ledger".to_string()]);
    assert!(!cluster
        .tags
        .iter()
        .any(|(k, _)| k == markers::TAG_ORIGINAL_GROUPS));
}

#[tokio::test]
async fn a_dry_run_changes_nothing_in_rds() {
    let rds = FakeRds::standalone(&["sg-app"]);
    let ec2 = FakeEc2::default();
    let r = contain(&target(true), &IsolateConfig::default(), &rds, &ec2)
        .await
        .expect("dry run");
    assert!(rds.calls().is_empty(), "{:?}", rds.calls());
    assert_eq!(rds.now().security_groups, vec!["sg-app".to_string()]);
    assert_eq!(outcome(&r, "set-security-groups"), Outcome::WouldChange);
}

#[tokio::test]
async fn a_snapshot_refused_while_modifying_is_asked_again_and_a_lasting_refusal_is_a_shortfall() {
    let rds = FakeRds::standalone(&["sg-app"]);
    *rds.busy_for.lock().expect("lock") = 2;
    let ec2 = FakeEc2::default();
    let r = contain(&target(false), &IsolateConfig::default(), &rds, &ec2)
        .await
        .expect("contained");
    assert_eq!(outcome(&r, "snapshot-database"), Outcome::Changed);
    assert!(r.incomplete.is_empty());

    let rds = FakeRds::standalone(&["sg-app"]);
    *rds.busy_for.lock().expect("lock") = 10;
    let r = contain(&target(false), &IsolateConfig::default(), &rds, &ec2)
        .await
        .expect("contained without the snapshot");
    assert_eq!(rds.now().security_groups, vec![quarantine_of(&ec2)]);
    assert_eq!(r.incomplete.len(), 1, "{:?}", r.incomplete);
    assert!(r.incomplete[0].detail.contains("create-db-snapshot"));
}

#[tokio::test]
async fn restore_puts_back_exactly_the_record_and_leaves_a_later_change_alone() {
    let rds = FakeRds::standalone(&["sg-app", "sg-admin"]);
    let ec2 = FakeEc2::default();
    contain(&target(false), &IsolateConfig::default(), &rds, &ec2)
        .await
        .expect("contained");
    let r = restore("billing-db", false, &rds, &ec2)
        .await
        .expect("restored");
    assert_eq!(outcome(&r, "restore-security-groups"), Outcome::Changed);
    let db = rds.now();
    assert_eq!(
        db.security_groups,
        vec!["sg-app".to_string(), "sg-admin".to_string()]
    );
    let tags: BTreeMap<String, String> = db.tags.iter().cloned().collect();
    assert!(decode_groups(&tags).is_none());
    assert_eq!(tags[markers::TAG_STATUS], markers::STATUS_RESTORED);
    // Nothing left to undo.
    let again = restore("billing-db", false, &rds, &ec2)
        .await
        .expect("again");
    assert_eq!(
        outcome(&again, "restore-security-groups"),
        Outcome::Unchanged
    );

    // Someone set other groups after containment: left alone, the record kept.
    let rds = FakeRds::standalone(&["sg-app"]);
    contain(&target(false), &IsolateConfig::default(), &rds, &ec2)
        .await
        .expect("contained");
    rds.db
        .lock()
        .expect("lock")
        .as_mut()
        .expect("db")
        .security_groups = vec!["sg-new".into()];
    let r = restore("billing-db", false, &rds, &ec2)
        .await
        .expect("restore");
    assert_eq!(outcome(&r, "restore-security-groups"), Outcome::Skipped);
    assert_eq!(rds.now().security_groups, vec!["sg-new".to_string()]);
    let tags: BTreeMap<String, String> = rds.now().tags.iter().cloned().collect();
    assert_eq!(decode_groups(&tags), Some(vec!["sg-app".to_string()]));
}

/// A rollback retried after the groups went back but before the record was removed finishes
/// the job instead of reporting someone else's change.
#[tokio::test]
async fn a_retried_rollback_whose_groups_are_back_removes_the_record() {
    let rds = FakeRds::standalone(&["sg-app", "sg-admin"]);
    let ec2 = FakeEc2::default();
    contain(&target(false), &IsolateConfig::default(), &rds, &ec2)
        .await
        .expect("contained");
    // The first attempt put the groups back (in another order) and stopped.
    rds.db
        .lock()
        .expect("lock")
        .as_mut()
        .expect("db")
        .security_groups = vec!["sg-admin".into(), "sg-app".into()];
    let r = restore("billing-db", false, &rds, &ec2)
        .await
        .expect("restored");
    assert_eq!(outcome(&r, "restore-security-groups"), Outcome::Unchanged);
    let tags: BTreeMap<String, String> = rds.now().tags.iter().cloned().collect();
    assert!(decode_groups(&tags).is_none(), "{tags:?}");
    assert_eq!(tags[markers::TAG_STATUS], markers::STATUS_RESTORED);
    assert!(!rds
        .calls()
        .iter()
        .any(|c| c.starts_with("modify-instance billing-db sg-admin")));
}

#[tokio::test]
async fn a_missing_instance_is_target_not_found_and_a_full_tag_set_still_isolates() {
    let rds = FakeRds::default();
    let e = contain(
        &target(false),
        &IsolateConfig::default(),
        &rds,
        &FakeEc2::default(),
    )
    .await
    .expect_err("missing");
    assert_eq!(e.name, names::REMEDIATION_TARGET_NOT_FOUND);

    let rds = FakeRds::standalone(&["sg-app"]);
    rds.db.lock().expect("lock").as_mut().expect("db").tags = (0..50)
        .map(|i| (format!("k{i}"), "v".to_string()))
        .collect();
    let ec2 = FakeEc2::default();
    let r = contain(&target(false), &IsolateConfig::default(), &rds, &ec2)
        .await
        .expect("contained");
    assert_eq!(outcome(&r, "record-original-groups"), Outcome::Skipped);
    assert_eq!(outcome(&r, "mark-database"), Outcome::Skipped);
    assert_eq!(rds.now().security_groups, vec![quarantine_of(&ec2)]);
    assert_eq!(r.evidence["originalGroups"], json!(["sg-app"]));
}

#[test]
fn snapshot_ids_are_rds_identifiers() {
    let id = snapshot_id("gd-0a1b2c3d4e5f60718293");
    assert_eq!(id, "guardduty-responder-0a1b2c3d4e5f60718293");
    assert!(responder_core::finding::is_db_identifier(
        &id[..63.min(id.len())]
    ));
}
