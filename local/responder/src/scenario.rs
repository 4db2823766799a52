//! Events for the local estate: the project's fixtures, pointed at the resources the emulator
//! created (instance, interface and key ids are the emulator's, not the fixture's).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{json, Value};

use crate::estate::SeededInstance;

/// Finds `fixtures/events` from the current folder upwards (or `RESPONDER_FIXTURES`).
pub fn fixtures_dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("RESPONDER_FIXTURES") {
        return Ok(PathBuf::from(d));
    }
    let mut dir = std::env::current_dir().ok();
    while let Some(d) = dir {
        let c = d.join("fixtures/events");
        if c.is_dir() {
            return Ok(c);
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    anyhow::bail!("fixtures/events not found from the current folder; run from the repository or set RESPONDER_FIXTURES")
}

/// Reads a fixture event.
pub fn load(dir: &Path, name: &str) -> Result<Value> {
    let path = dir.join(name);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

fn set(event: &mut Value, pointer: &str, value: Value) {
    if let Some(slot) = event.pointer_mut(pointer) {
        *slot = value;
    }
}

/// Points an event at an account and region and gives it a finding id.
pub fn retarget(mut event: Value, finding_id: &str, account: &str, region: &str) -> Value {
    set(&mut event, "/detail/id", json!(finding_id));
    set(&mut event, "/detail/accountId", json!(account));
    set(&mut event, "/detail/region", json!(region));
    set(&mut event, "/region", json!(region));
    if let Some(arn) = event.pointer("/detail/arn").and_then(Value::as_str) {
        let detector = arn
            .split("detector/")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or("0")
            .to_string();
        set(
            &mut event,
            "/detail/arn",
            json!(format!(
                "arn:aws:guardduty:{region}:{account}:detector/{detector}/finding/{finding_id}"
            )),
        );
    }
    event
}

/// Points an EC2 finding at a seeded instance and its interfaces.
pub fn for_instance(
    event: Value,
    finding_id: &str,
    instance: &SeededInstance,
    region: &str,
) -> Value {
    let mut event = retarget(event, finding_id, &instance.account_id, region);
    set(
        &mut event,
        "/detail/resource/instanceDetails/instanceId",
        json!(instance.instance_id),
    );
    let template = event
        .pointer("/detail/resource/instanceDetails/networkInterfaces/0")
        .cloned()
        .unwrap_or(json!({}));
    let interfaces: Vec<Value> = instance
        .interfaces
        .iter()
        .map(|i| {
            let mut n = template.clone();
            n["networkInterfaceId"] = json!(i.network_interface_id);
            n["vpcId"] = json!(i.vpc_id);
            n["securityGroups"] = json!(i
                .group_ids
                .iter()
                .map(|g| json!({"groupId": g, "groupName": g}))
                .collect::<Vec<_>>());
            n
        })
        .collect();
    set(
        &mut event,
        "/detail/resource/instanceDetails/networkInterfaces",
        json!(interfaces),
    );
    // GuardDuty's record of the instance carries its tags at detection.
    set(
        &mut event,
        "/detail/resource/instanceDetails/tags",
        json!(instance
            .tags
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect::<Vec<_>>()),
    );
    event
}

/// Points an IAM finding at a principal and key.
pub fn for_access_key(
    event: Value,
    finding_id: &str,
    account: &str,
    region: &str,
    user_name: &str,
    access_key_id: &str,
) -> Value {
    let mut event = retarget(event, finding_id, account, region);
    set(
        &mut event,
        "/detail/resource/accessKeyDetails/userName",
        json!(user_name),
    );
    set(
        &mut event,
        "/detail/resource/accessKeyDetails/accessKeyId",
        json!(access_key_id),
    );
    event
}

/// Points a Lambda finding at a function of an account.
pub fn for_function(
    event: Value,
    finding_id: &str,
    account: &str,
    region: &str,
    function_name: &str,
) -> Value {
    let mut event = retarget(event, finding_id, account, region);
    set(
        &mut event,
        "/detail/resource/lambdaDetails/functionName",
        json!(function_name),
    );
    set(
        &mut event,
        "/detail/resource/lambdaDetails/functionArn",
        json!(format!(
            "arn:aws:lambda:{region}:{account}:function:{function_name}"
        )),
    );
    event
}

/// A bucket finding retargeted at `bucket_name` (its first bucket, by name and ARN).
pub fn for_bucket(
    event: Value,
    finding_id: &str,
    account: &str,
    region: &str,
    bucket_name: &str,
) -> Value {
    let mut event = retarget(event, finding_id, account, region);
    set(
        &mut event,
        "/detail/resource/s3BucketDetails/0/name",
        json!(bucket_name),
    );
    set(
        &mut event,
        "/detail/resource/s3BucketDetails/0/arn",
        json!(format!("arn:aws:s3:::{bucket_name}")),
    );
    event
}

/// A Malware Protection for S3 finding retargeted at object `key` of `bucket_name`, an object
/// of an unversioned bucket (no `versionId`: there is only the one version).
pub fn for_object(
    event: Value,
    finding_id: &str,
    account: &str,
    region: &str,
    bucket_name: &str,
    key: &str,
) -> Value {
    let mut event = for_bucket(event, finding_id, account, region, bucket_name);
    if let Some(o) = event
        .pointer_mut("/detail/resource/s3BucketDetails/0/s3ObjectDetails/0")
        .and_then(Value::as_object_mut)
    {
        o.insert("key".into(), json!(key));
        o.insert(
            "objectArn".into(),
            json!(format!("arn:aws:s3:::{bucket_name}/{key}")),
        );
        o.remove("versionId");
    }
    event
}

/// An RDS finding retargeted at `identifier` (and its cluster, for an Aurora member).
pub fn for_database(
    event: Value,
    finding_id: &str,
    account: &str,
    region: &str,
    identifier: &str,
    cluster: Option<&str>,
) -> Value {
    let mut event = retarget(event, finding_id, account, region);
    let details = "/detail/resource/rdsDbInstanceDetails";
    set(
        &mut event,
        &format!("{details}/dbInstanceIdentifier"),
        json!(identifier),
    );
    set(
        &mut event,
        &format!("{details}/dbInstanceArn"),
        json!(format!("arn:aws:rds:{region}:{account}:db:{identifier}")),
    );
    set(
        &mut event,
        &format!("{details}/dbClusterIdentifier"),
        json!(cluster),
    );
    event
}

/// An ECS task finding (`ecs-task-reverse-shell.json`'s shape) retargeted at task `task_arn`
/// of `cluster` in `account` and `region`.
pub fn for_task(
    event: Value,
    finding_id: &str,
    account: &str,
    region: &str,
    cluster: &str,
    task_arn: &str,
) -> Value {
    let mut event = retarget(event, finding_id, account, region);
    let details = "/detail/resource/ecsClusterDetails";
    set(&mut event, &format!("{details}/name"), json!(cluster));
    set(
        &mut event,
        &format!("{details}/arn"),
        json!(format!("arn:aws:ecs:{region}:{account}:cluster/{cluster}")),
    );
    set(
        &mut event,
        &format!("{details}/taskDetails/arn"),
        json!(task_arn),
    );
    event
}

/// An attack-sequence finding (`attack-sequence-credentials.json`'s shape) retargeted: its
/// access key at `user`'s `key`, its three instance entries (the second naming the first by ARN)
/// at `first` and `second`, in `account` and `region`.
pub fn for_sequence(
    event: Value,
    finding_id: &str,
    account: &str,
    region: &str,
    (user, key): (&str, &str),
    (first, second): (&str, &str),
) -> Value {
    let mut event = retarget(event, finding_id, account, region);
    let base = "/detail/service/detection/sequence/resources";
    set(&mut event, &format!("{base}/0/uid"), json!(key));
    set(
        &mut event,
        &format!("{base}/0/data/accessKey/userName"),
        json!(user),
    );
    set(&mut event, &format!("{base}/1/uid"), json!(first));
    set(
        &mut event,
        &format!("{base}/2/uid"),
        json!(format!("arn:aws:ec2:{region}:{account}:instance/{first}")),
    );
    set(&mut event, &format!("{base}/3/uid"), json!(second));
    for i in 0..6 {
        set(&mut event, &format!("{base}/{i}/accountId"), json!(account));
        set(&mut event, &format!("{base}/{i}/region"), json!(region));
    }
    event
}

/// The approve and reject links of an approval request message.
pub fn approval_links(body: &str) -> Option<(String, String)> {
    let lines: Vec<&str> = body.lines().map(str::trim).collect();
    let link_after = |i: usize| {
        lines[i + 1..]
            .iter()
            .find(|x| x.starts_with("http://") || x.starts_with("https://"))
            .map(|x| x.to_string())
    };
    let mut approve = None;
    let mut reject = None;
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with("Approve") {
            approve = link_after(i);
        } else if l.starts_with("Reject") {
            reject = link_after(i);
        }
    }
    Some((approve?, reject?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_both_links() {
        let body = "text\n\nApprove:\nhttp://127.0.0.1:1/approval?a=x\n\nReject:\nhttp://127.0.0.1:1/approval?a=y\n";
        let (a, r) = approval_links(body).expect("links");
        assert!(a.ends_with("a=x"));
        assert!(r.ends_with("a=y"));
        assert!(approval_links("no links").is_none());
    }

    #[test]
    fn retarget_rewrites_ids_account_and_arn() {
        let e = json!({"region": "x", "detail": {"id": "old", "accountId": "1", "region": "x",
            "arn": "arn:aws:guardduty:x:1:detector/abc/finding/old"}});
        let e = retarget(e, "new", "222222222222", "eu-west-1");
        assert_eq!(e["detail"]["id"], "new");
        assert_eq!(e["detail"]["accountId"], "222222222222");
        assert_eq!(
            e["detail"]["arn"],
            "arn:aws:guardduty:eu-west-1:222222222222:detector/abc/finding/new"
        );
    }
}
