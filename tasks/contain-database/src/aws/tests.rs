//! Adapter tests: the RDS calls and their answers, against mocked SDK clients.

use aws_sdk_rds::operation::create_db_snapshot::CreateDBSnapshotError;
use aws_sdk_rds::operation::describe_db_clusters::DescribeDbClustersOutput;
use aws_sdk_rds::operation::describe_db_instances::{
    DescribeDBInstancesError, DescribeDbInstancesOutput,
};
use aws_sdk_rds::operation::modify_db_instance::ModifyDbInstanceOutput;
use aws_sdk_rds::types::{
    DbCluster, DbClusterMember, DbInstance, DbSubnetGroup, VpcSecurityGroupMembership,
};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use responder_core::names;
use serde_json::json;

use super::*;

fn error(code: &'static str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(code).build()
}

fn membership(id: &str, status: &str) -> VpcSecurityGroupMembership {
    VpcSecurityGroupMembership::builder()
        .vpc_security_group_id(id)
        .status(status)
        .build()
}

/// An Aurora member is read with its cluster, whose groups are the ones in force; a group RDS
/// shows as `removing` is not.
#[tokio::test]
async fn an_aurora_member_is_read_with_its_clusters_groups() {
    let instances = mock!(Client::describe_db_instances)
        .match_requests(|r| r.db_instance_identifier() == Some("ledger-db-1"))
        .then_output(|| {
            DescribeDbInstancesOutput::builder()
                .db_instances(
                    DbInstance::builder()
                        .db_instance_identifier("ledger-db-1")
                        .db_instance_arn("arn:aws:rds:eu-west-1:222222222222:db:ledger-db-1")
                        .db_cluster_identifier("ledger-cluster")
                        .db_subnet_group(DbSubnetGroup::builder().vpc_id("vpc-1").build())
                        .vpc_security_groups(membership("sg-ledger", "active"))
                        .build(),
                )
                .build()
        });
    let clusters = mock!(Client::describe_db_clusters)
        .match_requests(|r| r.db_cluster_identifier() == Some("ledger-cluster"))
        .then_output(|| {
            DescribeDbClustersOutput::builder()
                .db_clusters(
                    DbCluster::builder()
                        .db_cluster_identifier("ledger-cluster")
                        .db_cluster_arn("arn:aws:rds:eu-west-1:222222222222:cluster:ledger-cluster")
                        .vpc_security_groups(membership("sg-q", "adding"))
                        .vpc_security_groups(membership("sg-ledger", "removing"))
                        .db_cluster_members(
                            DbClusterMember::builder()
                                .db_instance_identifier("ledger-db-1")
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
    let rds = RdsDatabases::new(mock_client!(
        aws_sdk_rds,
        RuleMode::MatchAny,
        [&instances, &clusters]
    ));
    let db = rds
        .database("ledger-db-1")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(db.vpc_id.as_deref(), Some("vpc-1"));
    assert_eq!(db.groups_in_force(), ["sg-q".to_string()]);
    let c = db.cluster.as_ref().expect("cluster");
    assert_eq!(c.members, vec!["ledger-db-1".to_string()]);
    assert_eq!(
        Holder::of(&db),
        Holder::Cluster {
            identifier: "ledger-cluster".into(),
            arn: c.arn.clone(),
            members: c.members.clone()
        }
    );
}

#[tokio::test]
async fn a_missing_instance_reads_as_none_and_a_refusal_keeps_its_name() {
    let missing = mock!(Client::describe_db_instances)
        .then_error(|| DescribeDBInstancesError::generic(error("DBInstanceNotFound")));
    let rds = RdsDatabases::new(mock_client!(aws_sdk_rds, [&missing]));
    assert_eq!(rds.database("gone").await.expect("read"), None);

    let denied = mock!(Client::describe_db_instances)
        .then_error(|| DescribeDBInstancesError::generic(error("AccessDenied")));
    let rds = RdsDatabases::new(mock_client!(aws_sdk_rds, [&denied]));
    let e = rds.database("billing-db").await.expect_err("denied");
    assert_eq!(e.name, names::REMEDIATION_ACCESS_DENIED);
}

/// The swap applies at once: a change waiting for the maintenance window contains nothing.
#[tokio::test]
async fn the_swap_applies_immediately_with_exactly_the_groups() {
    let modify = mock!(Client::modify_db_instance)
        .match_requests(|r| {
            r.db_instance_identifier() == Some("billing-db")
                && r.apply_immediately() == Some(true)
                && r.vpc_security_group_ids() == ["sg-q".to_string()]
        })
        .then_output(|| ModifyDbInstanceOutput::builder().build());
    let rds = RdsDatabases::new(mock_client!(aws_sdk_rds, [&modify]));
    rds.set_instance_groups("billing-db", &["sg-q".to_string()])
        .await
        .expect("modified");
    assert_eq!(modify.num_calls(), 1);
}

#[tokio::test]
async fn an_existing_snapshot_of_the_finding_is_not_an_error() {
    let exists = mock!(Client::create_db_snapshot)
        .then_error(|| CreateDBSnapshotError::generic(error("DBSnapshotAlreadyExists")));
    let rds = RdsDatabases::new(mock_client!(aws_sdk_rds, [&exists]));
    let holder = Holder::Instance {
        identifier: "billing-db".into(),
        arn: "arn:aws:rds:eu-west-1:222222222222:db:billing-db".into(),
    };
    assert!(!rds
        .snapshot(&holder, "guardduty-responder-0a1b", &[])
        .await
        .expect("existing"));

    let busy = mock!(Client::create_db_snapshot)
        .then_error(|| CreateDBSnapshotError::generic(error("InvalidDBInstanceState")));
    let rds = RdsDatabases::new(mock_client!(aws_sdk_rds, [&busy]));
    let e = rds
        .snapshot(&holder, "guardduty-responder-0a1b", &[])
        .await
        .expect_err("busy");
    assert_eq!(e.aws_code.as_deref(), Some("InvalidDBInstanceState"));
}

#[test]
fn requests_name_the_instance_from_the_finding_or_the_rollback() {
    let restore = Request::from_value(json!({"mode": "restore", "request": {
        "accountId": "222222222222", "region": "eu-west-1", "dbInstanceIdentifier": "Billing-DB"}}))
    .expect("restore");
    assert!(restore.restore);
    assert_eq!(restore.target.identifier, "billing-db");
    let bad = Request::from_value(json!({"mode": "restore", "request": {
        "accountId": "222222222222", "region": "eu-west-1", "dbInstanceIdentifier": "billing_db;drop"}}))
    .expect_err("bad");
    assert_eq!(bad.name, names::INPUT_INVALID);
    let not_a_document = Request::from_value(json!({"dbInstanceIdentifier": "billing-db"}))
        .expect_err("containment needs a finding");
    assert_eq!(not_a_document.name, names::INPUT_INVALID);
}

/// Every call's action is listed, and nothing else: the RDS calls here and in the shared read,
/// the EC2 calls of the quarantine group in `isolate`'s adapter.
#[test]
fn iam_actions_are_exactly_the_calls() {
    let rds = [
        include_str!("../aws.rs"),
        include_str!("../../../../crates/responder-aws/src/rds.rs"),
    ]
    .concat();
    let rds = rds.as_str();
    let ec2 = include_str!("../../../../crates/ec2-containment/src/aws.rs");
    let calls = [
        (rds, ".describe_db_instances()", "rds:DescribeDBInstances"),
        (rds, ".describe_db_clusters()", "rds:DescribeDBClusters"),
        (rds, ".modify_db_instance()", "rds:ModifyDBInstance"),
        (rds, ".modify_db_cluster()", "rds:ModifyDBCluster"),
        (rds, ".add_tags_to_resource()", "rds:AddTagsToResource"),
        (
            rds,
            ".remove_tags_from_resource()",
            "rds:RemoveTagsFromResource",
        ),
        (rds, ".create_db_snapshot()", "rds:CreateDBSnapshot"),
        (
            rds,
            ".create_db_cluster_snapshot()",
            "rds:CreateDBClusterSnapshot",
        ),
        (
            ec2,
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroups",
        ),
        (ec2, "ec2:CreateSecurityGroup", "ec2:CreateSecurityGroup"),
        (
            ec2,
            "ec2:AuthorizeSecurityGroupEgress",
            "ec2:AuthorizeSecurityGroupEgress",
        ),
        (
            ec2,
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:AuthorizeSecurityGroupIngress",
        ),
        (
            ec2,
            "ec2:RevokeSecurityGroupEgress",
            "ec2:RevokeSecurityGroupEgress",
        ),
        (
            ec2,
            "ec2:RevokeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupIngress",
        ),
        (ec2, "ec2:DescribeVpcEndpoints", "ec2:DescribeVpcEndpoints"),
        (
            ec2,
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeNetworkInterfaces",
        ),
        // The quarantine group is created with its role tag (TagSpecifications).
        (ec2, "tag_specifications", "ec2:CreateTags"),
    ];
    for (source, op, action) in calls {
        assert!(source.contains(op), "{op}");
        assert!(IAM_ACTIONS.contains(&action), "{action}");
    }
    // The member role is assumed for every call.
    assert_eq!(IAM_ACTIONS.len(), calls.len() + 1);
    assert!(IAM_ACTIONS.contains(&"sts:AssumeRole"));
    let mut sorted = IAM_ACTIONS.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, IAM_ACTIONS);
}
