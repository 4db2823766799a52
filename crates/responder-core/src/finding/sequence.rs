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

/// The most resources kept of each kind (with a containment, without one): the finding travels
/// in every state of the execution, which Step Functions caps at 256 KiB. One more containable
/// resource than a plan takes is kept, so a sequence naming too many is seen to.
pub const KEPT_PER_KIND: usize = crate::decision::plan::MAX_PLAN_ITEMS + 1;

/// An attack sequence, as far as the pipeline uses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttackSequence {
    /// The sequence's unique id.
    pub uid: String,
    /// GuardDuty's description of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its resources, in GuardDuty's order: those with a containment first (each once, at most
    /// [`KEPT_PER_KIND`]), then the others (at most [`KEPT_PER_KIND`]).
    #[serde(default)]
    pub resources: Vec<SequenceResource>,
    /// How many resources GuardDuty listed that are not kept in `resources`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resources_left_out: usize,
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
        let all: Vec<SequenceResource> = seq
            .get("resources")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .take(MAX_SEQUENCE_RESOURCES)
                    .filter_map(SequenceResource::parse)
                    .collect()
            })
            .unwrap_or_default();
        let (targets, others): (Vec<SequenceResource>, Vec<SequenceResource>) =
            all.into_iter().partition(|r| r.target.is_some());
        // Each resource once (an instance named by id and by ARN is one), then the caps.
        let mut resources: Vec<SequenceResource> = Vec::new();
        let mut left_out = 0;
        for r in targets {
            let id = r.target.as_ref().map(Resource::identity);
            if resources
                .iter()
                .any(|k| k.target.as_ref().map(Resource::identity) == id)
            {
                continue;
            }
            if resources.len() < KEPT_PER_KIND {
                resources.push(r);
            } else {
                left_out += 1;
            }
        }
        left_out += others.len().saturating_sub(KEPT_PER_KIND);
        resources.extend(others.into_iter().take(KEPT_PER_KIND));
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
            resources_left_out: left_out,
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
        // Where the resource is: as GuardDuty says, else as its ARN says.
        let (arn_account, arn_region) = arn_place(&uid);
        let mut r = SequenceResource {
            account_id: text(v.get("accountId")).or(arn_account),
            region: text(v.get("region")).or(arn_region),
            resource_type,
            uid,
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

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// An instance id from a uid that is one, or an instance ARN
/// (`arn:PARTITION:ec2:REGION:ACCOUNT:instance/i-...`).
fn instance_id(uid: &str) -> Option<String> {
    let id = uid.rsplit('/').next().unwrap_or(uid);
    let ok = is_resource_id(id, "i-") && (id == uid || uid.starts_with("arn:"));
    ok.then(|| id.to_string())
}

/// The account and region an ARN names (`arn:PARTITION:SERVICE:REGION:ACCOUNT:...`).
fn arn_place(uid: &str) -> (Option<String>, Option<String>) {
    let Some(arn) = crate::arn::Arn::parse(uid) else {
        return (None, None);
    };
    let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
    (some(arn.account), some(arn.region))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A sequence naming hundreds of resources keeps what a plan can use and counts the rest, so
    /// the finding stays small in the execution's state.
    #[test]
    fn a_long_sequence_keeps_a_bounded_list() {
        let resources: Vec<Value> = (0..300)
            .map(|n| json!({"uid": format!("i-{n:017x}"), "resourceType": "EC2_INSTANCE"}))
            .chain(
                (0..100)
                    .map(|n| json!({"uid": format!("object-{n}"), "resourceType": "S3_OBJECT"})),
            )
            .collect();
        let service = json!({"detection": {"sequence": {"uid": "seq-2", "resources": resources}}});
        let s = AttackSequence::parse(Some(&service)).expect("sequence");
        assert_eq!(s.resources.len(), 2 * KEPT_PER_KIND);
        assert_eq!(s.resources_left_out, 400 - 2 * KEPT_PER_KIND);
        let size = serde_json::to_vec(&s).expect("json").len();
        assert!(size < 12 * 1024, "{size} bytes");
    }

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
        // A resource without a uid is left out; the others are kept, those with a containment
        // first, each once.
        assert_eq!(s.resources.len(), 5);
        assert_eq!(s.resources[1].account_id.as_deref(), Some("111111111111"));
        assert_eq!(s.resources[1].region.as_deref(), Some("eu-west-1"));
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
        assert_eq!(s.resources_left_out, 0);
        assert_eq!(AttackSequence::parse(Some(&json!({}))), None);
    }
}
