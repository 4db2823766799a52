//! The table of every active GuardDuty finding type and what the default policy does with it
//! (`finding_types.tsv`, from the GuardDuty User Guide). The tests decide a finding of every
//! row on every listed resource type and hold the decision to the table, so a finding type
//! GuardDuty adds cannot fall through to a route nobody chose.

/// The table, as shipped.
pub const TABLE: &str = include_str!("finding_types.tsv");

/// What the default policy does with a finding type (the table's `handling` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Contained by severity tier on an instance or access key; notify-only elsewhere.
    Contain,
    /// The instance is the target: notified with the fix, never isolated.
    Victim,
    /// Victim when the finding's resource role is TARGET, contained when ACTOR.
    ByRole,
    /// Recorded and notified only.
    Notify,
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The finding type.
    pub finding_type: &'static str,
    /// The resource types GuardDuty reports it on.
    pub resource_types: Vec<&'static str>,
    /// GuardDuty's data source.
    pub data_source: &'static str,
    /// What the default policy does with it.
    pub handling: Handling,
}

/// The table's rows; a malformed row is a panic naming it (the table is built in).
pub fn rows() -> Vec<Row> {
    TABLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 4, "finding_types.tsv: {l:?} has not 4 columns");
            let handling = match cols[3] {
                "contain" => Handling::Contain,
                "victim" => Handling::Victim,
                "by-role" => Handling::ByRole,
                "notify" => Handling::Notify,
                other => panic!("finding_types.tsv: {l:?}: unknown handling {other:?}"),
            };
            Row {
                finding_type: cols[0],
                resource_types: cols[1].split('|').collect(),
                data_source: cols[2],
                handling,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{Disposition, Route};
    use crate::{Finding, Policy};
    use serde_json::{json, Value};

    fn finding(ty: &str, resource_type: &str, role: Option<&str>) -> Finding {
        let resource = match resource_type {
            "Instance" => json!({"resourceType": "Instance",
                "instanceDetails": {"instanceId": "i-0123456789abcdef0"}}),
            "AccessKey" => json!({"resourceType": "AccessKey", "accessKeyDetails": {
                "accessKeyId": "AKIAEXAMPLEEXAMPLE01", "userType": "IAMUser", "userName": "build-bot"}}),
            "Lambda" => json!({"resourceType": "Lambda", "lambdaDetails": {
                "functionName": "orders-api",
                "functionArn": "arn:aws:lambda:eu-west-1:111111111111:function:orders-api"}}),
            "S3Bucket" => json!({"resourceType": "S3Bucket", "s3BucketDetails": [{
                "name": "orders-exports", "arn": "arn:aws:s3:::orders-exports"}],
                "accessKeyDetails": {"accessKeyId": "AKIAEXAMPLEEXAMPLE01", "userType": "IAMUser",
                    "userName": "build-bot", "principalId": "AIDAEXAMPLEBUILDBOT1"}}),
            "S3Object" => json!({"resourceType": "S3Object", "s3BucketDetails": [{
                "name": "orders-exports", "arn": "arn:aws:s3:::orders-exports",
                "s3ObjectDetails": [{"key": "uploads/invoice.pdf.exe", "versionId": "v1",
                    "objectArn": "arn:aws:s3:::orders-exports/uploads/invoice.pdf.exe"}]}]}),
            "RDSDBInstance" => json!({"resourceType": "RDSDBInstance", "rdsDbInstanceDetails": {
                "dbInstanceIdentifier": "orders-db", "engine": "postgres",
                "dbInstanceArn": "arn:aws:rds:eu-west-1:111111111111:db:orders-db"}}),
            "ECSCluster" => json!({"resourceType": "ECSCluster", "ecsClusterDetails": {
                "name": "checkout", "arn": "arn:aws:ecs:eu-west-1:111111111111:cluster/checkout",
                "taskDetails": {"arn": "arn:aws:ecs:eu-west-1:111111111111:task/checkout/0123456789abcdef0123456789abcdef"}}}),
            other => json!({"resourceType": other}),
        };
        let mut service = json!({"count": 1, "archived": false});
        if resource_type == "AttackSequence" {
            service["detection"] = json!({"sequence": {"uid": "seq-1", "signals": [{}],
                "resources": [{"uid": "i-0123456789abcdef0", "resourceType": "EC2_INSTANCE"}]}});
        }
        if let Some(r) = role {
            service["resourceRole"] = json!(r);
        }
        let detail: Value = json!({
            "accountId": "111111111111", "region": "eu-west-1", "partition": "aws",
            "id": "0123456789abcdef0123456789abcdef", "type": ty, "severity": 8.0,
            "resource": resource, "service": service,
        });
        Finding::from_event(&json!({
            "version": "0", "id": "6a7b8c9d-0000-4000-8000-000000000001",
            "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
            "account": "111111111111", "region": "eu-west-1", "detail": detail,
        }))
        .unwrap_or_else(|e| panic!("{ty} on {resource_type}: {e}"))
    }

    #[test]
    fn every_listed_type_gets_the_handling_the_table_says() {
        let policy = Policy::default();
        let mut wrong = Vec::new();
        for row in rows() {
            let mut contained_somewhere = false;
            for rt in &row.resource_types {
                let route = match *rt {
                    "Instance" => Route::Ec2,
                    "Lambda" => Route::Lambda,
                    "S3Bucket" | "S3Object" => Route::S3,
                    "RDSDBInstance" => Route::Rds,
                    "ECSCluster" => Route::Ecs,
                    "AttackSequence" => Route::Sequence,
                    "AccessKey" => Route::Iam,
                    _ => Route::NotifyOnly,
                };
                // A type is containable on a resource type when that route's default list
                // names it; the table's `contain` says it is on at least one of them.
                let containable = match route {
                    Route::Ec2 => policy.ec2.allows(row.finding_type),
                    Route::Iam => policy.iam.allows(row.finding_type),
                    Route::Lambda => policy.lambda.allows(row.finding_type),
                    Route::S3 => policy.s3.allows(row.finding_type),
                    Route::Rds => policy.rds.allows(row.finding_type),
                    Route::Ecs => policy.ecs.allows(row.finding_type),
                    Route::Sequence => policy.sequence.route().allows(row.finding_type),
                    Route::NotifyOnly => false,
                } || (row.handling == Handling::ByRole && route == Route::Ec2);
                let cases: Vec<(Option<&str>, bool)> = match (row.handling, containable) {
                    (Handling::Contain, true) => vec![(None, true)],
                    (Handling::ByRole, true) => {
                        vec![(Some("TARGET"), false), (Some("ACTOR"), true)]
                    }
                    _ => vec![(None, false)],
                };
                for (role, contained) in cases {
                    let d = policy.decide(&finding(row.finding_type, rt, role));
                    let ok = if contained {
                        contained_somewhere = true;
                        d.disposition == Disposition::Contain && d.route == route
                    } else {
                        d.disposition == Disposition::Notify
                            && (row.handling != Handling::Victim || d.recommended_fix.is_some())
                    };
                    if !ok {
                        wrong.push(format!(
                            "{} on {rt} (role {role:?}): {:?}/{:?}, table says {:?}",
                            row.finding_type, d.route, d.disposition, row.handling
                        ));
                    }
                }
            }
            if matches!(row.handling, Handling::Contain | Handling::ByRole) && !contained_somewhere
            {
                wrong.push(format!(
                    "{} is contained on none of {:?}, table says {:?}",
                    row.finding_type, row.resource_types, row.handling
                ));
            }
        }
        assert!(
            wrong.is_empty(),
            "{} mismatches:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    }

    #[test]
    fn the_table_lists_each_type_once_and_no_retired_type() {
        let rows = rows();
        assert!(rows.len() > 200, "{} rows", rows.len());
        let mut seen = std::collections::BTreeSet::new();
        for r in &rows {
            assert!(seen.insert(r.finding_type), "{} twice", r.finding_type);
            assert!(
                !crate::policy::is_retired(r.finding_type),
                "{} is listed active and retired",
                r.finding_type
            );
            assert!(r.finding_type.contains(':') && r.finding_type.contains('/'));
        }
    }

    #[test]
    fn instance_and_task_findings_from_runtime_monitoring_and_malware_protection_are_contained() {
        let policy = Policy::default();
        for ty in [
            "Execution:Runtime/ReverseShell",
            "Impact:Runtime/CryptoMinerExecuted",
            "Backdoor:Runtime/C&CActivity.B",
            "Execution:EC2/MaliciousFile",
        ] {
            let d = policy.decide(&finding(ty, "Instance", None));
            assert_eq!(
                (d.route, d.disposition),
                (Route::Ec2, Disposition::Contain),
                "{ty}"
            );
            if !ty.contains(":Runtime/") {
                continue;
            }
            let d = policy.decide(&finding(ty, "ECSCluster", None));
            assert_eq!(
                (d.route, d.disposition),
                (Route::Ecs, Disposition::Contain),
                "{ty} in an ECS task"
            );
        }
    }
}
