//! Where each field a decision rests on was read in the event, so every reason of a decision
//! can name its input ("severity 8.0 from the finding (detail.severity)").
//!
//! GuardDuty's own events always put a field at the same path; a Security Hub custom action
//! carries the same finding in ASFF, where the path depends on what the provider wrote
//! (`FindingProviderFields.Severity.Original` or `Severity.Product`, ...). The parser records
//! the path it really read.

use serde::{Deserialize, Serialize};

/// The paths, in the event, of the fields a decision reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Sources {
    /// The finding type.
    pub finding_type: String,
    /// The severity.
    pub severity: String,
    /// The account that owns the resource.
    pub account_id: String,
    /// The resource type.
    pub resource_type: String,
    /// The credentials of an access key finding (key id and user type).
    pub access_key: String,
    /// The resource role.
    pub resource_role: String,
    /// The instance's ports named by the activity.
    pub local_ports: String,
    /// The sample flag.
    pub sample: String,
    /// The archived flag.
    pub archived: String,
}

impl Default for Sources {
    /// The paths in GuardDuty's own EventBridge event.
    fn default() -> Self {
        Sources {
            finding_type: "detail.type".into(),
            severity: "detail.severity".into(),
            account_id: "detail.accountId".into(),
            resource_type: "detail.resource.resourceType".into(),
            access_key: "detail.resource.accessKeyDetails".into(),
            resource_role: "detail.service.resourceRole".into(),
            local_ports: "detail.service.action".into(),
            sample: "detail.service.additionalInfo.sample".into(),
            archived: "detail.service.archived".into(),
        }
    }
}

impl Sources {
    /// The paths in a Security Hub custom action event (one ASFF finding under
    /// `detail.findings[0]`), before the parser names the fields it chose.
    pub fn security_hub() -> Self {
        Sources {
            finding_type: "Types".into(),
            severity: "Severity.Product".into(),
            account_id: "AwsAccountId".into(),
            resource_type: "Resources[0].Type".into(),
            access_key: "Resources[0].Details.AwsIamAccessKey".into(),
            resource_role: "ProductFields.aws/guardduty/service/resourceRole".into(),
            local_ports: "Action".into(),
            sample: "Sample".into(),
            archived: "RecordState".into(),
        }
    }

    /// Whether these are the paths of GuardDuty's own event (then they are not serialized).
    pub fn is_guardduty_event(&self) -> bool {
        *self == Sources::default()
    }
}
