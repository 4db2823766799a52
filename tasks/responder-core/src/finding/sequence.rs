//! Extended Threat Detection's attack sequences (`resourceType` `AttackSequence`): one finding
//! that names the resources and actors of several correlated signals, in
//! `service.detection.sequence` (GuardDuty API Reference, `Sequence`: `uid`, `description`,
//! `signals`, `actors` and `resources`, each resource a `ResourceV2` with `uid`,
//! `resourceType`, `accountId`, `region` and, per type, `data`).
//!
//! Only the resources the pipeline has a containment for become targets: an EC2 instance
//! (`EC2_INSTANCE`) and IAM credentials (`ACCESS_KEY`, with `data.accessKey`). The others (S3
//! buckets and objects, EKS and ECS resources, containers, Auto Scaling groups...) are listed for
//! the analysts with why they are not contained.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{is_resource_id, parse_access_key, text, InstanceTarget, Resource};

/// The most resources read from one sequence: GuardDuty lists at most 400
/// (`Sequence.resources`).
pub const MAX_SEQUENCE_RESOURCES: usize = 400;

/// An attack sequence, as far as the pipeline uses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttackSequence {
    /// The sequence's unique id.
    pub uid: String,
    /// GuardDuty's description of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its resources, in GuardDuty's order.
    #[serde(default)]
    pub resources: Vec<SequenceResource>,
    /// How many signals it correlates.
    #[serde(default)]
    pub signal_count: usize,
    /// The names of its actors' users, for the notification.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actors: Vec<String>,
}

/// One resource of a sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SequenceResource {
    /// `EC2_INSTANCE`, `ACCESS_KEY`, `S3_BUCKET`, ...
    pub resource_type: String,
    /// Its id as GuardDuty gives it.
    pub uid: String,
    /// Its account, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Its region, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// What the pipeline can contain, when it has a containment for this resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Resource>,
    /// Why not, when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_contained: Option<String>,
}

impl AttackSequence {
    /// Reads `service.detection.sequence`; `None` when it is missing or has no uid.
    pub fn parse(service: Option<&Value>) -> Option<AttackSequence> {
        let seq = service?.get("detection")?.get("sequence")?;
        let uid = text(seq.get("uid"))?;
        let resources = seq
            .get("resources")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .take(MAX_SEQUENCE_RESOURCES)
                    .filter_map(SequenceResource::parse)
                    .collect()
            })
            .unwrap_or_default();
        let actors = seq
            .get("actors")
            .and_then(Value::as_array)
            .map(|list| {
                let mut names: Vec<String> = list
                    .iter()
                    .filter_map(|a| text(a.get("user")?.get("name")))
                    .collect();
                names.sort();
                names.dedup();
                names
            })
            .unwrap_or_default();
        Some(AttackSequence {
            uid,
            description: text(seq.get("description")),
            resources,
            signal_count: seq
                .get("signals")
                .and_then(Value::as_array)
                .map_or(0, Vec::len),
            actors,
        })
    }
}

impl SequenceResource {
    fn parse(v: &Value) -> Option<SequenceResource> {
        let resource_type = text(v.get("resourceType"))?;
        let uid = text(v.get("uid"))?;
        let mut r = SequenceResource {
            resource_type,
            uid,
            account_id: text(v.get("accountId")),
            region: text(v.get("region")),
            target: None,
            not_contained: None,
        };
        let data = v.get("data");
        match r.resource_type.as_str() {
            "EC2_INSTANCE" => match instance_id(&r.uid) {
                Some(id) => {
                    r.target = Some(Resource::Instance(InstanceTarget {
                        instance_id: id,
                        network_interfaces: Vec::new(),
                        tags: super::parse_tags(v.get("tags")),
                        instance_profile_arn: None,
                        instance_type: None,
                        instance_state: None,
                        eks_cluster: None,
                    }))
                }
                None => r.not_contained = Some(format!("{:?} is not an instance id", r.uid)),
            },
            "ACCESS_KEY" => {
                // The key's own fields in `data.accessKey`; the uid is the key id.
                let mut details = data
                    .and_then(|d| d.get("accessKey"))
                    .filter(|d| d.is_object())
                    .cloned()
                    .unwrap_or_else(|| Value::Object(Default::default()));
                if let Some(o) = details.as_object_mut() {
                    o.insert("accessKeyId".into(), Value::String(r.uid.clone()));
                }
                r.target = Some(Resource::AccessKey(parse_access_key(&details)));
            }
            "S3_BUCKET" | "S3_OBJECT" => {
                r.not_contained = Some(
                    "data in S3: the credentials the sequence names are what is contained; review who read it"
                        .into(),
                )
            }
            other => {
                r.not_contained = Some(format!("{other} has no automatic containment"));
            }
        }
        Some(r)
    }
}

/// An instance id from a uid that is one, or an instance ARN (`...:instance/i-...`).
fn instance_id(uid: &str) -> Option<String> {
    let id = uid.rsplit('/').next().unwrap_or(uid);
    let ok = is_resource_id(id, "i-") && (id == uid || uid.starts_with("arn:"));
    ok.then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resources_become_targets_where_there_is_a_containment() {
        let service = json!({"detection": {"sequence": {
        "uid": "seq-1", "description": "credentials used to read data",
        "signals": [{}, {}, {}],
        "actors": [{"id": "a1", "user": {"name": "build-bot"}}, {"id": "a2", "user": {"name": "build-bot"}}],
        "resources": [
            {"uid": "i-0123456789abcdef0", "resourceType": "EC2_INSTANCE", "accountId": "111111111111"},
            {"uid": "arn:aws:ec2:eu-west-1:111111111111:instance/i-0fedcba9876543210", "resourceType": "EC2_INSTANCE"},
            {"uid": "AKIAEXAMPLEEXAMPLE01", "resourceType": "ACCESS_KEY",
             "data": {"accessKey": {"principalId": "AIDAEXAMPLE", "userName": "build-bot", "userType": "IAMUser"}}},
            {"uid": "orders-exports", "resourceType": "S3_BUCKET"},
            {"uid": "web-1", "resourceType": "EC2_INSTANCE"},
            {"resourceType": "EC2_INSTANCE"}
        ]}}});
        let s = AttackSequence::parse(Some(&service)).expect("sequence");
        assert_eq!(s.uid, "seq-1");
        assert_eq!(s.signal_count, 3);
        assert_eq!(s.actors, vec!["build-bot".to_string()]);
        // A resource without a uid is left out; the others are kept, contained or not.
        assert_eq!(s.resources.len(), 5);
        let targets: Vec<String> = s
            .resources
            .iter()
            .filter_map(|r| r.target.as_ref().map(Resource::identity))
            .collect();
        assert_eq!(
            targets,
            [
                "i-0123456789abcdef0",
                "i-0fedcba9876543210",
                "build-bot/AKIAEXAMPLEEXAMPLE01"
            ]
        );
        assert!(s.resources[3].not_contained.is_some());
        assert!(s.resources[4].not_contained.is_some());
        assert_eq!(AttackSequence::parse(Some(&json!({}))), None);
    }
}
