//! EC2 reads shared by the tasks that act on instances (cargo feature `ec2`, so the tasks that
//! do not call EC2 do not link its SDK).

use aws_sdk_ec2::types::Instance;
use responder_core::TaskError;

use crate::errors::{classify_sdk_error, error_code};

/// Describes one instance by id (`ec2:DescribeInstances`). `Ok(None)` when EC2 does not know
/// the id (`InvalidInstanceID.NotFound`) or leaves it out of its answer; any other error is
/// classified under a stable name.
pub async fn describe_instance(
    client: &aws_sdk_ec2::Client,
    instance_id: &str,
) -> Result<Option<Instance>, TaskError> {
    let out = match client
        .describe_instances()
        .instance_ids(instance_id)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if error_code(&e) == Some("InvalidInstanceID.NotFound") => return Ok(None),
        Err(e) => return Err(classify_sdk_error("ec2:DescribeInstances", &e)),
    };
    Ok(out
        .reservations
        .unwrap_or_default()
        .into_iter()
        .flat_map(|r| r.instances.unwrap_or_default())
        .find(|i| i.instance_id() == Some(instance_id)))
}
