//! The `contain-database` task: cuts an RDS DB instance off the network after a login that
//! should not have happened, keeps a snapshot as evidence, and rolls the cut back.
//!
//! Containment replaces the security groups in force with the VPC's quarantine group, the
//! same group `isolate` moves instances to (made by [`ec2_containment::contain::quarantine_group`]):
//! it admits nothing, so no new connection reaches the database. For a standalone instance the
//! groups are its own (`ModifyDBInstance`); for an Aurora instance they are the cluster's, "managed
//! by the DB cluster" (RDS API Reference, `ModifyDBInstance`, `VpcSecurityGroupIds`), so the
//! cluster's are swapped (`ModifyDBCluster`) and every instance of the cluster is cut: the
//! approval plan and the notification say so. Both calls apply at once (`ApplyImmediately`).
//!
//! The order is the instances' rule: the groups in force are recorded as a tag on the resource
//! that holds them (the instance, or the cluster) BEFORE the change, and a record already there
//! is never overwritten, so `restore` puts back exactly the originals and a retried execution
//! never records the quarantine group as the original. Then the swap, a read-back, the
//! snapshot (`CreateDBSnapshot`, or `CreateDBClusterSnapshot` for a cluster) named after the
//! finding so a repeat finds it, and the marker.
//!
//! What this does not cut, said in the report: sessions opened before the change (security
//! groups do not end tracked connections; they are ended from inside the database), and the
//! database user's password, which the attacker holds.
//!
//! Rollback (`mode: restore`) puts back the recorded groups only while the quarantine group is
//! still the only one in force: groups someone set since are theirs and left alone, and said so.
//!
//! RDS has no dry-run parameter: a dry run reads and reports what it would change (the
//! quarantine group's creation is proven with EC2's `DryRun`).

pub mod aws;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use ec2_containment::caps::Ec2Isolation;
use ec2_containment::record::{decode_groups, encode_groups, present_keys};
use ec2_containment::IsolateConfig;
use responder_aws::rds::DatabaseState;
use responder_core::{markers, names, ActionRecord, Outcome, TaskError, TaskReport};
use serde_json::{json, Value};

/// The task's name, as reported and as used for the session name.
pub const TASK: &str = "contain-database";

/// The RDS calls of containment and rollback.
#[async_trait]
pub trait Databases: Send + Sync {
    /// `DescribeDBInstances` (and `DescribeDBClusters` for a cluster member); `None` when the
    /// instance does not exist.
    async fn database(&self, identifier: &str) -> Result<Option<DatabaseState>, TaskError>;
    /// `ModifyDBInstance(VpcSecurityGroupIds, ApplyImmediately)`.
    async fn set_instance_groups(
        &self,
        identifier: &str,
        groups: &[String],
    ) -> Result<(), TaskError>;
    /// `ModifyDBCluster(VpcSecurityGroupIds, ApplyImmediately)`.
    async fn set_cluster_groups(
        &self,
        identifier: &str,
        groups: &[String],
    ) -> Result<(), TaskError>;
    /// `AddTagsToResource` (adds or overwrites the given keys).
    async fn tag(&self, arn: &str, tags: &[(String, String)]) -> Result<(), TaskError>;
    /// `RemoveTagsFromResource` of the given keys.
    async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), TaskError>;
    /// `CreateDBSnapshot` of an instance, or `CreateDBClusterSnapshot` of a cluster, tagged.
    /// `Ok(false)` when a snapshot of that name already exists.
    async fn snapshot(
        &self,
        of: &Holder,
        snapshot_id: &str,
        tags: &[(String, String)],
    ) -> Result<bool, TaskError>;
}

/// The resource whose security groups are in force: the instance, or its Aurora cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A standalone DB instance.
    Instance {
        /// Its identifier.
        identifier: String,
        /// Its ARN.
        arn: String,
    },
    /// The DB cluster of an Aurora instance.
    Cluster {
        /// Its identifier.
        identifier: String,
        /// Its ARN.
        arn: String,
        /// Its instances' identifiers.
        members: Vec<String>,
    },
}

impl Holder {
    fn of(db: &DatabaseState) -> Holder {
        match &db.cluster {
            Some(c) => Holder::Cluster {
                identifier: c.identifier.clone(),
                arn: c.arn.clone(),
                members: c.members.clone(),
            },
            None => Holder::Instance {
                identifier: db.identifier.clone(),
                arn: db.arn.clone(),
            },
        }
    }

    /// Its identifier.
    pub fn identifier(&self) -> &str {
        match self {
            Holder::Instance { identifier, .. } | Holder::Cluster { identifier, .. } => identifier,
        }
    }

    fn arn(&self) -> &str {
        match self {
            Holder::Instance { arn, .. } | Holder::Cluster { arn, .. } => arn,
        }
    }

    fn label(&self) -> String {
        match self {
            Holder::Instance { identifier, .. } => format!("DB instance {identifier}"),
            Holder::Cluster { identifier, .. } => format!("DB cluster {identifier}"),
        }
    }

    /// The holder's tags, as the read found them.
    fn tags(db: &DatabaseState) -> BTreeMap<String, String> {
        let list = match &db.cluster {
            Some(c) => &c.tags,
            None => &db.tags,
        };
        list.iter().cloned().collect()
    }
}

/// The DB instance to act on, and for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The DB instance identifier.
    pub identifier: String,
    /// The finding id recorded on the resource (containment).
    pub finding_id: String,
    /// The finding's idempotency key: names the evidence snapshot, so a repeat finds it.
    pub idempotency_key: String,
    /// Report only; change nothing.
    pub dry_run: bool,
}

/// The evidence snapshot's identifier for a finding: letters, digits and single hyphens,
/// beginning with a letter (RDS API Reference, `CreateDBSnapshot`, `DBSnapshotIdentifier`).
pub fn snapshot_id(idempotency_key: &str) -> String {
    let key: String = idempotency_key
        .trim_start_matches("gd-")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    format!("guardduty-responder-{key}")
}

/// Whether the keys not yet among the tags fit within the resource's tag quota.
fn room_for(tags: &BTreeMap<String, String>, keys: &[String]) -> bool {
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    markers::limits::room_for(tags.keys().map(String::as_str), &keys)
}

async fn read(rds: &dyn Databases, identifier: &str) -> Result<DatabaseState, TaskError> {
    rds.database(identifier).await?.ok_or_else(|| {
        TaskError::new(
            names::REMEDIATION_TARGET_NOT_FOUND,
            format!("DB instance {identifier} does not exist"),
        )
    })
}

fn vpc_of(db: &DatabaseState) -> Result<&str, TaskError> {
    db.vpc_id.as_deref().ok_or_else(|| {
        TaskError::new(
            names::REMEDIATION_FAILED,
            format!(
                "DB instance {} has no DB subnet group in a VPC: there is no security group to swap",
                db.identifier
            ),
        )
    })
}

async fn set_groups(
    rds: &dyn Databases,
    holder: &Holder,
    groups: &[String],
) -> Result<(), TaskError> {
    match holder {
        Holder::Instance { identifier, .. } => rds.set_instance_groups(identifier, groups).await,
        Holder::Cluster { identifier, .. } => rds.set_cluster_groups(identifier, groups).await,
    }
}

/// Reads the groups in force back until they are `want` (RDS lists a group being removed as
/// `removing` for a moment; the read leaves those out). Returns the record and the instance as
/// last read.
async fn verify(
    rds: &dyn Databases,
    identifier: &str,
    want: &[String],
) -> Result<(ActionRecord, DatabaseState), TaskError> {
    let mut last = Vec::new();
    for attempt in 0..4u64 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(250 * attempt)).await;
        }
        let now = read(rds, identifier).await?;
        let mut got = now.groups_in_force().to_vec();
        got.sort();
        let mut wanted = want.to_vec();
        wanted.sort();
        if got == wanted {
            let record = ActionRecord::new(
                "verify-security-groups",
                identifier,
                Outcome::Unchanged,
                format!("read back: {}", want.join(", ")),
            );
            return Ok((record, now));
        }
        last = got;
    }
    Err(TaskError::new(
        names::REMEDIATION_VERIFICATION_FAILED,
        format!(
            "DB instance {identifier}: read back groups [{}], expected [{}]",
            last.join(", "),
            want.join(", ")
        ),
    ))
}

/// Contains the DB instance: the groups in force recorded, then swapped for the VPC's
/// quarantine group, read back, a snapshot kept, marked.
pub async fn contain(
    target: &Target,
    cfg: &IsolateConfig,
    rds: &dyn Databases,
    ec2: &dyn Ec2Isolation,
) -> Result<TaskReport, TaskError> {
    let id = target.identifier.as_str();
    let dry = target.dry_run;
    let would = |o: Outcome| if dry { Outcome::WouldChange } else { o };
    let mut report = TaskReport::new(TASK, dry);
    let db = read(rds, id).await?;
    let holder = Holder::of(&db);
    let vpc = vpc_of(&db)?.to_string();
    let original = db.groups_in_force().to_vec();
    evidence(&mut report, &db, &holder);

    // 1. The VPC's quarantine group (read beside nothing else: the instance had to be read
    // first to know its VPC).
    let quarantine =
        ec2_containment::contain::quarantine_group(ec2, cfg, &vpc, dry, &mut report).await?;
    let already = quarantine
        .as_ref()
        .is_some_and(|q| original.as_slice() == std::slice::from_ref(q));
    if already {
        report.push(
            ActionRecord::new(
                "set-security-groups",
                holder.identifier(),
                Outcome::Unchanged,
                format!(
                    "{} already holds only the quarantine group: no connection can be opened to it",
                    holder.label()
                ),
            )
            .with_states(json!(original), json!(original)),
        );
    } else {
        // 2. The record, before the change.
        record(&mut report, target, &db, &holder, rds).await?;
        // 3. The cut.
        let to = quarantine.clone().into_iter().collect::<Vec<_>>();
        if !dry {
            set_groups(rds, &holder, &to).await?;
        }
        report.push(
            ActionRecord::new(
                "set-security-groups",
                holder.identifier(),
                would(Outcome::Changed),
                format!(
                    "{} {}: groups [{}] replaced by the quarantine group{}",
                    if dry { "would isolate" } else { "isolated" },
                    holder.label(),
                    original.join(", "),
                    match &holder {
                        Holder::Cluster { members, .. } => format!(
                            " (the cluster's groups: every instance of it is cut: {})",
                            members.join(", ")
                        ),
                        Holder::Instance { .. } => String::new(),
                    }
                ),
            )
            .with_states(json!(original), json!(to)),
        );
    }
    report.caveat(
        "Sessions opened before the change stay open: security groups do not end tracked connections. End them from inside the database (PostgreSQL: pg_terminate_backend; MySQL: KILL) and change the password of the database user that logged in.",
    );
    if dry {
        return Ok(report);
    }
    let quarantine = quarantine.ok_or_else(|| {
        TaskError::new(
            names::REMEDIATION_FAILED,
            format!("no quarantine group in {vpc} after it was made"),
        )
    })?;
    // 4. Read back.
    let (verified, now) = verify(rds, id, std::slice::from_ref(&quarantine)).await?;
    report.push(verified);
    // 5. Evidence: a snapshot named after the finding.
    snapshot(&mut report, target, &holder, rds).await;
    // 6. The marker, on the finding's instance, when there is room.
    let tags: BTreeMap<String, String> = now.tags.iter().cloned().collect();
    if room_for(&tags, &[markers::TAG_STATUS.to_string()]) {
        // The database is contained and read back: a marker RDS refuses now is reported, not
        // a failure of the containment.
        let marked = rds
            .tag(
                &now.arn,
                &[(
                    markers::TAG_STATUS.to_string(),
                    markers::STATUS_QUARANTINED.to_string(),
                )],
            )
            .await;
        report.push(match marked {
            Ok(()) => ActionRecord::new(
                "mark-database",
                id,
                Outcome::Changed,
                format!(
                    "tagged {}={}",
                    markers::TAG_STATUS,
                    markers::STATUS_QUARANTINED
                ),
            ),
            Err(e) => ActionRecord::new(
                "mark-database",
                id,
                Outcome::Skipped,
                format!(
                    "the marker was refused ({}: {}); the database is contained",
                    e.name, e.message
                ),
            ),
        });
    } else {
        report.push(ActionRecord::new(
            "mark-database",
            id,
            Outcome::Skipped,
            format!(
                "no room for {} within the {} tags an AWS resource may carry",
                markers::TAG_STATUS,
                markers::limits::TAGS_PER_RESOURCE
            ),
        ));
    }
    report
        .evidence
        .insert("quarantineGroup".into(), json!(quarantine));
    Ok(report)
}

fn evidence(report: &mut TaskReport, db: &DatabaseState, holder: &Holder) {
    let ev = &mut report.evidence;
    ev.insert("dbInstanceIdentifier".into(), json!(db.identifier));
    ev.insert("dbInstanceArn".into(), json!(db.arn));
    ev.insert("engine".into(), json!(db.engine));
    ev.insert("status".into(), json!(db.status));
    ev.insert("vpcId".into(), json!(db.vpc_id));
    ev.insert("publiclyAccessible".into(), json!(db.publicly_accessible));
    ev.insert("originalGroups".into(), json!(db.groups_in_force()));
    if let Holder::Cluster {
        identifier,
        members,
        ..
    } = holder
    {
        ev.insert("cluster".into(), json!(identifier));
        ev.insert("clusterMembers".into(), json!(members));
    }
}

/// Records the groups in force on their holder, unless a record is already there.
async fn record(
    report: &mut TaskReport,
    target: &Target,
    db: &DatabaseState,
    holder: &Holder,
    rds: &dyn Databases,
) -> Result<(), TaskError> {
    let tags = Holder::tags(db);
    let original = db.groups_in_force().to_vec();
    if let Some(recorded) = decode_groups(&tags) {
        report.push(
            ActionRecord::new(
                "record-original-groups",
                holder.identifier(),
                Outcome::Unchanged,
                format!("kept the existing record ({})", recorded.join(", ")),
            )
            .with_states(json!(recorded), json!(recorded)),
        );
        return Ok(());
    }
    let mut items = encode_groups(&original);
    items.push((
        markers::TAG_FINDING_ID.to_string(),
        markers::tag_value(&target.finding_id),
    ));
    let keys: Vec<String> = items.iter().map(|(k, _)| k.clone()).collect();
    if !room_for(&tags, &keys) {
        // A full set of tags must not keep the database reachable: the cut goes ahead and the
        // originals are kept in this report (evidence.originalGroups) only.
        report.push(ActionRecord::new(
            "record-original-groups",
            holder.identifier(),
            Outcome::Skipped,
            format!(
                "{} has {} tags; the record does not fit within the {} an AWS resource may carry: the original groups ({}) are kept in this report only, and a rollback is by hand",
                holder.label(),
                tags.len(),
                markers::limits::TAGS_PER_RESOURCE,
                original.join(", ")
            ),
        ));
        return Ok(());
    }
    if !target.dry_run {
        rds.tag(holder.arn(), &items).await?;
    }
    report.push(
        ActionRecord::new(
            "record-original-groups",
            holder.identifier(),
            if target.dry_run {
                Outcome::WouldChange
            } else {
                Outcome::Changed
            },
            format!(
                "tagged {} = {}",
                markers::TAG_ORIGINAL_GROUPS,
                original.join(" ")
            ),
        )
        .with_states(Value::Null, json!(original)),
    );
    Ok(())
}

/// The evidence snapshot. Containment holds without it, so a refusal is a shortfall of the
/// report, not a failure. "The source DB instance must be in the available or
/// storage-optimization state" (RDS API Reference, `CreateDBSnapshot`; otherwise
/// `InvalidDBInstanceState`): right after the swap the instance may show `modifying` for a
/// moment, so that refusal is asked again a few times first (the emulator never refuses; the
/// fault proxy's `InvalidDBInstanceState` plays it in the end-to-end tests).
async fn snapshot(report: &mut TaskReport, target: &Target, holder: &Holder, rds: &dyn Databases) {
    let name = snapshot_id(&target.idempotency_key);
    let tags = vec![
        (
            markers::TAG_FINDING_ID.to_string(),
            markers::tag_value(&target.finding_id),
        ),
        (markers::TAG_PURPOSE.to_string(), "evidence".to_string()),
    ];
    let mut last = None;
    for attempt in 0..5u64 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
        }
        match rds.snapshot(holder, &name, &tags).await {
            Ok(created) => {
                report.push(ActionRecord::new(
                    "snapshot-database",
                    holder.identifier(),
                    if created {
                        Outcome::Changed
                    } else {
                        Outcome::Unchanged
                    },
                    if created {
                        format!("snapshot {name} of {} started", holder.label())
                    } else {
                        format!("snapshot {name} already exists")
                    },
                ));
                report.evidence.insert("snapshot".into(), json!(name));
                return;
            }
            Err(e) if attempt < 4 && snapshot_retryable(&e) => last = Some(e),
            Err(e) => {
                last = Some(e);
                break;
            }
        }
    }
    let e = last.unwrap_or_else(|| TaskError::new(names::REMEDIATION_FAILED, "no answer"));
    report.fall_short(
        e.name,
        "snapshot-database",
        format!(
            "no evidence snapshot of {} ({}: {}): take it by hand ({} {})",
            holder.label(),
            e.name,
            e.message,
            match holder {
                Holder::Instance { .. } => "aws rds create-db-snapshot --db-instance-identifier",
                Holder::Cluster { .. } =>
                    "aws rds create-db-cluster-snapshot --db-cluster-identifier",
            },
            holder.identifier()
        ),
    );
}

/// Whether a refused snapshot is worth asking again within this invocation: the instance or
/// cluster in a state that does not take snapshots for a moment (`modifying` after the swap),
/// throttling, a transient failure.
fn snapshot_retryable(e: &TaskError) -> bool {
    matches!(
        e.aws_code.as_deref(),
        Some("InvalidDBInstanceState" | "InvalidDBClusterStateFault")
    ) || e.name == names::REMEDIATION_THROTTLED
        || e.name == names::REMEDIATION_TRANSIENT
}

/// Rolls the containment back: the recorded groups while the VPC's quarantine group is still
/// the only one in force, then the record removed.
pub async fn restore(
    identifier: &str,
    dry: bool,
    rds: &dyn Databases,
    ec2: &dyn Ec2Isolation,
) -> Result<TaskReport, TaskError> {
    let mut report = TaskReport::new("restore", dry);
    let db = read(rds, identifier).await?;
    let holder = Holder::of(&db);
    evidence(&mut report, &db, &holder);
    let tags = Holder::tags(&db);
    let Some(recorded) = decode_groups(&tags) else {
        report.push(ActionRecord::new(
            "restore-security-groups",
            holder.identifier(),
            Outcome::Unchanged,
            format!(
                "no {} record on {}: nothing of this pipeline's to undo",
                markers::TAG_ORIGINAL_GROUPS,
                holder.label()
            ),
        ));
        return Ok(report);
    };
    let vpc = vpc_of(&db)?;
    let quarantine = ec2
        .find_group(vpc, ec2_containment::model::GroupRole::Quarantine)
        .await?
        .map(|g| g.id);
    let now = db.groups_in_force().to_vec();
    let still = quarantine
        .as_ref()
        .is_some_and(|q| now.as_slice() == std::slice::from_ref(q));
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    // A retried rollback whose groups were put back before a later step failed: finish it.
    let already_back = sorted(&now) == sorted(&recorded);
    if !still && !already_back {
        report.push(
            ActionRecord::new(
                "restore-security-groups",
                holder.identifier(),
                Outcome::Skipped,
                format!(
                    "{} holds [{}] now, not only the quarantine group: someone changed it since containment; left alone, and the record ({}) kept",
                    holder.label(),
                    now.join(", "),
                    recorded.join(", ")
                ),
            )
            .with_states(json!(now), json!(now)),
        );
        return Ok(report);
    }
    if !dry && !already_back {
        set_groups(rds, &holder, &recorded).await?;
    }
    report.push(
        ActionRecord::new(
            "restore-security-groups",
            holder.identifier(),
            match (dry, already_back) {
                (_, true) => Outcome::Unchanged,
                (true, false) => Outcome::WouldChange,
                (false, false) => Outcome::Changed,
            },
            if already_back {
                format!(
                    "already back to [{}]: the record is removed",
                    recorded.join(", ")
                )
            } else {
                format!("back to [{}]", recorded.join(", "))
            },
        )
        .with_states(json!(now), json!(recorded)),
    );
    if dry {
        return Ok(report);
    }
    let (verified, after) = verify(rds, identifier, &recorded).await?;
    report.push(verified);
    let mut keys = present_keys(&tags, markers::TAG_ORIGINAL_GROUPS);
    keys.push(markers::TAG_FINDING_ID.to_string());
    rds.untag(holder.arn(), &keys).await?;
    let after_tags: BTreeMap<String, String> = after.tags.iter().cloned().collect();
    if room_for(&after_tags, &[markers::TAG_STATUS.to_string()]) {
        rds.tag(
            &after.arn,
            &[(
                markers::TAG_STATUS.to_string(),
                markers::STATUS_RESTORED.to_string(),
            )],
        )
        .await?;
    }
    report.push(ActionRecord::new(
        "mark-database",
        identifier,
        Outcome::Changed,
        format!(
            "record removed; tagged {}={}",
            markers::TAG_STATUS,
            markers::STATUS_RESTORED
        ),
    ));
    Ok(report)
}
