//! Security Hub custom action events: one GuardDuty finding in the AWS Security Finding Format
//! (ASFF), sent because an analyst chose the action on it in the Security Hub console.
//!
//! The event (`source = aws.securityhub`, `detail-type = Security Hub Findings - Custom Action`)
//! carries `detail.actionName`, `detail.actionDescription` and `detail.findings`. The finding is
//! GuardDuty's own, rewritten by Security Hub: the GuardDuty finding id is the last segment of
//! the ASFF `Id` (the finding ARN), the type is rewritten into `Types[]`
//! (`TTPs/Command and Control/Backdoor:EC2-C&CActivity.B`), GuardDuty's severity is kept as
//! `Severity.Product`/`Original` while `Normalized` is Security Hub's own scale, the instance is
//! an ARN in `Resources[].Id`, and `service.*` fields are flattened into `ProductFields`
//! (`aws/guardduty/service/count`). This module maps that back to the same [`Finding`] as
//! GuardDuty's event would give, and refuses what it cannot map faithfully.

use serde_json::{Map, Value};

use super::{
    account_id, activity, boolean, invalid, is_resource_id, number, text, AccessKeyTarget, Finding,
    InstanceTarget, InterfaceRef, Resource, ResourceRole, SecurityHubOrigin, Sources, Tag,
};
use crate::error::TaskError;

mod trust;

/// The `detail-type` of a Security Hub custom action event.
pub(super) const CUSTOM_ACTION_DETAIL_TYPE: &str = "Security Hub Findings - Custom Action";

/// The resource part of GuardDuty finding types (`Backdoor:EC2/...`). Security Hub writes the
/// `/` after it as `-`; knowing the names tells a rewritten type from the ASFF names that do not
/// follow that scheme (`EC2:Unusual-DNS-Resolver`, `IAMUser-AnomalousBehavior`).
const GUARDDUTY_RESOURCE_TYPES: &[&str] = &[
    "EC2",
    "IAMUser",
    "IAM",
    "S3",
    "Kubernetes",
    "Runtime",
    "Lambda",
    "RDS",
    "ECS",
    "EKS",
    "Container",
];

/// ASFF `ProductFields` keys under which GuardDuty flattens its `service` object.
const COUNT_FIELD: &str = "aws/guardduty/service/count";
const ARCHIVED_FIELD: &str = "aws/guardduty/service/archived";
const SAMPLE_FIELD: &str = "aws/guardduty/service/additionalInfo/sample";
const ROLE_FIELD: &str = "aws/guardduty/service/resourceRole";

/// Maps a custom action event for one GuardDuty finding to a [`Finding`].
pub(super) fn from_custom_action(event: &Map<String, Value>) -> Result<Finding, TaskError> {
    let detail = event
        .get("detail")
        .filter(|d| d.is_object())
        .ok_or_else(|| invalid("event has no `detail` object"))?;
    let action_name =
        text(detail.get("actionName")).ok_or_else(|| invalid("`detail.actionName` is missing"))?;
    // Security Hub sends an array; its documentation shows a single object. Accept both.
    let findings: &[Value] = match detail.get("findings") {
        Some(Value::Array(list)) => list,
        Some(one @ Value::Object(_)) => std::slice::from_ref(one),
        _ => return Err(invalid("`detail.findings` is missing")),
    };
    let f = match findings {
        [one] => one,
        [] => return Err(invalid("`detail.findings` is empty")),
        many => {
            return Err(invalid(format!(
                "`detail.findings` holds {} findings; one finding per action: select a single finding before choosing {action_name:?}",
                many.len()
            )))
        }
    };
    if !f.is_object() {
        return Err(invalid("`detail.findings[0]` is not an object"));
    }
    let product_fields = f.get("ProductFields").filter(|p| p.is_object());
    let product_field = |key: &str| product_fields.and_then(|p| p.get(key));
    // Only the product ARN says who wrote the finding; `trust` checks it, and that the finding
    // ARN, account and region agree with it, before anything else of the finding is read.
    let product = trust::guardduty_product(f, &action_name)?;
    let arn = text(f.get("Id")).ok_or_else(|| invalid("`findings[0].Id` is missing"))?;
    let parts = FindingArn::parse(&arn).ok_or_else(|| {
        invalid(format!(
            "`findings[0].Id` {arn:?} is not a GuardDuty finding ARN (arn:<partition>:guardduty:<region>:<account>:detector/<id>/finding/<id>)"
        ))
    })?;
    let (account_id, region) = trust::same_origin(f, &product, &parts)?;

    let mut sources = Sources::security_hub();
    let (finding_type, origin, type_field) = guardduty_type(f, action_name)?;
    sources.finding_type = type_field.into();
    let (severity, severity_field) = guardduty_severity(f)?;
    sources.severity = severity_field.into();
    let count = product_field(COUNT_FIELD)
        .and_then(number)
        .map(|n| n.max(0.0) as u64)
        .unwrap_or(1);
    let archived = if text(f.get("RecordState")).as_deref() == Some("ARCHIVED") {
        true
    } else if product_field(ARCHIVED_FIELD).and_then(boolean) == Some(true) {
        sources.archived = format!("ProductFields.{ARCHIVED_FIELD}");
        true
    } else {
        false
    };
    let sample = if f.get("Sample").and_then(boolean) == Some(true) {
        true
    } else if product_field(SAMPLE_FIELD).and_then(boolean) == Some(true) {
        sources.sample = format!("ProductFields.{SAMPLE_FIELD}");
        true
    } else {
        false
    };
    let resource = parse_resources(f.get("Resources"))?;
    // GuardDuty flattens `service.resourceRole` into `ProductFields`; only the provider writes
    // `ProductFields` (BatchUpdateFindings cannot change them), and the product ARN above says
    // the provider is GuardDuty. ASFF's own `Resources[].ResourceRole` is read when it is absent.
    let resource_role = match ResourceRole::parse(product_field(ROLE_FIELD)) {
        Some(role) => Some(role),
        None => {
            let role = ResourceRole::parse(
                f.get("Resources")
                    .and_then(|r| r.get(0))
                    .and_then(|r| r.get("ResourceRole")),
            );
            if role.is_some() {
                sources.resource_role = "Resources[0].ResourceRole".into();
            }
            role
        }
    };
    let local_ports = activity::asff_local_ports(f.get("Action"));
    let envelope_account = event.get("account").and_then(super::account_id);

    Ok(Finding {
        id: parts.finding_id,
        arn: Some(arn),
        finding_type,
        severity,
        delivered_by_account: envelope_account.unwrap_or_else(|| account_id.clone()),
        account_id,
        region,
        partition: parts.partition,
        title: text(f.get("Title")),
        updated_at: text(f.get("UpdatedAt")),
        count,
        sample,
        archived,
        resource,
        resource_role,
        local_ports,
        sources,
        requested_by_analyst: true,
        security_hub: Some(origin),
        host_evidence: None,
        kubernetes: None,
        sequence: None,
    })
}

/// The parts of a GuardDuty finding ARN,
/// `arn:<partition>:guardduty:<region>:<account>:detector/<detector id>/finding/<finding id>`.
/// Security Hub's copy of a GuardDuty finding has this ARN as its ASFF `Id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingArn {
    /// The partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub partition: String,
    /// The finding's region.
    pub region: String,
    /// The account the finding belongs to, as 12 digits.
    pub account: String,
    /// GuardDuty's finding id (the last segment).
    pub finding_id: String,
}

impl FindingArn {
    /// Splits a GuardDuty finding ARN; `None` for anything else (another service, another
    /// resource, a path with more or fewer segments, characters no ARN of GuardDuty's has).
    pub fn parse(arn: &str) -> Option<Self> {
        let crate::arn::Arn {
            partition,
            service,
            region,
            account,
            resource,
        } = crate::arn::Arn::parse(arn)?;
        let mut path = resource.split('/');
        let (detector, detector_id, finding, finding_id) =
            (path.next()?, path.next()?, path.next()?, path.next()?);
        let word =
            |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let ok = partition.starts_with("aws")
            && word(partition)
            && service == "guardduty"
            && word(region)
            && detector == "detector"
            && word(detector_id)
            && finding == "finding"
            && word(finding_id)
            && path.next().is_none();
        let account = account_id(&Value::String(account.to_string()))?;
        ok.then(|| FindingArn {
            partition: partition.to_string(),
            region: region.to_string(),
            account,
            finding_id: finding_id.to_string(),
        })
    }
}

/// GuardDuty's finding type, rebuilt from the ASFF type. `FindingProviderFields.Types` is
/// preferred: only the provider writes it, while analysts can change the top-level `Types`.
fn guardduty_type(
    f: &Value,
    action_name: String,
) -> Result<(String, SecurityHubOrigin, &'static str), TaskError> {
    let list = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|l| l.iter().filter_map(|t| text(Some(t))).collect())
            .unwrap_or_default()
    };
    let provider = list(f.get("FindingProviderFields").and_then(|p| p.get("Types")));
    let (types, field) = if provider.is_empty() {
        (list(f.get("Types")), "Types")
    } else {
        (provider, "FindingProviderFields.Types")
    };
    // Some types come with two entries (TTPs/... and Effects/...); they name the same GuardDuty
    // type, so the first one that maps is taken.
    let mapped = types
        .iter()
        .find_map(|t| guardduty_type_from_asff(t).map(|g| (g, t.clone())));
    let (finding_type, asff_type, type_mapped) = match mapped {
        Some((g, t)) => (g, t, true),
        None => {
            let t = types
                .first()
                .cloned()
                .ok_or_else(|| invalid("`findings[0].Types` is missing or empty"))?;
            (t.clone(), t, false)
        }
    };
    Ok((
        finding_type,
        SecurityHubOrigin {
            action_name,
            asff_type,
            type_mapped,
        },
        field,
    ))
}

/// Rebuilds `Backdoor:EC2/C&CActivity.B!DNS` from `TTPs/Command and Control/Backdoor:EC2-C&CActivity.B!DNS`
/// (and `AttackSequence:IAM/CompromisedCredentials` from `TTPs/AttackSequence:IAM/CompromisedCredentials`).
/// `None` for ASFF names that do not follow the `<purpose>:<resource>-<name>` scheme.
pub(super) fn guardduty_type_from_asff(asff: &str) -> Option<String> {
    let segments: Vec<&str> = asff.split('/').collect();
    let at = segments.iter().position(|s| s.contains(':'))?;
    let (purpose, after) = segments[at].split_once(':')?;
    if purpose.is_empty() || !purpose.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let rest = &segments[at + 1..];
    let (resource, name) = if rest.is_empty() {
        after.split_once('-')?
    } else {
        (after, "")
    };
    if !GUARDDUTY_RESOURCE_TYPES.contains(&resource) {
        return None;
    }
    let name = if rest.is_empty() {
        name.to_string()
    } else {
        rest.join("/")
    };
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return None;
    }
    Some(format!("{purpose}:{resource}/{name}"))
}

/// GuardDuty's own severity (0.0 to 10.0). `Normalized` and `Label` are Security Hub's scale (a
/// GuardDuty 8 is `Normalized` 60), so only the product's value is read, provider copy first.
fn guardduty_severity(f: &Value) -> Result<(f64, &'static str), TaskError> {
    let provider = f
        .get("FindingProviderFields")
        .and_then(|p| p.get("Severity"));
    let top = f.get("Severity");
    let candidates = [
        (
            provider,
            "Original",
            "FindingProviderFields.Severity.Original",
        ),
        (
            provider,
            "Product",
            "FindingProviderFields.Severity.Product",
        ),
        (top, "Original", "Severity.Original"),
        (top, "Product", "Severity.Product"),
    ];
    let (value, path) = candidates
        .iter()
        .find_map(|(obj, key, path)| {
            obj.and_then(|o| o.get(*key))
                .filter(|v| !v.is_null())
                .map(|v| (v, *path))
        })
        .ok_or_else(|| {
            invalid("no GuardDuty severity in the finding (`Severity.Product` or `Original`); `Severity.Normalized` is Security Hub's scale")
        })?;
    let severity =
        number(value).ok_or_else(|| invalid(format!("`{path}` is {value}; expected a number")))?;
    if !(0.0..=10.0).contains(&severity) {
        return Err(invalid(format!(
            "`{path}` is {severity}; expected 0.0 to 10.0"
        )));
    }
    Ok((severity, path))
}

/// The finding's resource. One resource is mapped by its type; several (an S3 finding lists the
/// bucket and the key) leave nothing to act on, as GuardDuty's own event would.
fn parse_resources(resources: Option<&Value>) -> Result<Resource, TaskError> {
    let list = resources
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| invalid("`findings[0].Resources` is missing or empty"))?;
    let type_of = |r: &Value| text(r.get("Type")).unwrap_or_else(|| "unknown".to_string());
    let r = match list.as_slice() {
        [one] => one,
        many => {
            return Ok(Resource::Other {
                resource_type: many.iter().map(type_of).collect::<Vec<_>>().join("+"),
            })
        }
    };
    let resource_type =
        text(r.get("Type")).ok_or_else(|| invalid("`Resources[0].Type` is missing"))?;
    let details = r.get("Details");
    match resource_type.as_str() {
        "AwsEc2Instance" => {
            let id = text(r.get("Id")).ok_or_else(|| invalid("`Resources[0].Id` is missing"))?;
            let instance_id = id.rsplit('/').next().unwrap_or("").to_string();
            if !is_resource_id(&instance_id, "i-") {
                return Err(invalid(format!(
                    "`Resources[0].Id` {id:?} does not name an EC2 instance"
                )));
            }
            let d = details.and_then(|d| d.get("AwsEc2Instance"));
            // ASFF lists interface ids only, without their VPC, address or groups: the tasks
            // read the instance's real interfaces from EC2 anyway.
            let network_interfaces = d
                .and_then(|d| d.get("NetworkInterfaces"))
                .and_then(Value::as_array)
                .map(|l| {
                    l.iter()
                        .map(|n| InterfaceRef {
                            network_interface_id: text(n.get("NetworkInterfaceId")),
                            vpc_id: None,
                            private_ip_address: None,
                            security_group_ids: vec![],
                        })
                        .collect()
                })
                .unwrap_or_default();
            Ok(Resource::Instance(InstanceTarget {
                instance_id,
                network_interfaces,
                tags: tags(r.get("Tags")),
                instance_profile_arn: d.and_then(|d| text(d.get("IamInstanceProfileArn"))),
                instance_type: d.and_then(|d| text(d.get("Type"))),
                instance_state: None,
                eks_cluster: None,
            }))
        }
        "AwsIamAccessKey" => {
            let d = details
                .and_then(|d| d.get("AwsIamAccessKey"))
                .filter(|d| d.is_object())
                .ok_or_else(|| invalid("`Resources[0].Details.AwsIamAccessKey` is missing"))?;
            let access_key_id = text(d.get("AccessKeyId")).or_else(|| {
                // Without the detail, the resource id may end in the key id.
                text(r.get("Id")).and_then(|id| {
                    let last = id.rsplit([':', '/']).next().unwrap_or("").to_string();
                    (last.starts_with("AKIA") || last.starts_with("ASIA")).then_some(last)
                })
            });
            let user_type = text(d.get("PrincipalType"));
            let credential_kind =
                AccessKeyTarget::classify(access_key_id.as_deref(), user_type.as_deref());
            Ok(Resource::AccessKey(AccessKeyTarget {
                access_key_id,
                principal_id: text(d.get("PrincipalId")),
                user_name: text(d.get("PrincipalName")).or_else(|| text(d.get("UserName"))),
                user_type,
                credential_kind,
            }))
        }
        _ => Ok(Resource::Other { resource_type }),
    }
}

/// ASFF resource tags are a `{ key: value }` map.
fn tags(v: Option<&Value>) -> Vec<Tag> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| Tag {
                    key: k.clone(),
                    value: text(Some(v)).unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}
