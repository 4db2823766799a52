//! The rules a decision applies before its tier, each adding the reasons it used: the
//! analyst's request, the route with the instance's part in the activity, the route's policy,
//! and the credentials of an access key finding.

use super::Route;
use crate::finding::{CredentialKind, Finding, Resource};
use crate::policy::roles::{self, Part, RoleMatch};
use crate::policy::RoutePolicy;

/// The reasons of an analyst's Security Hub request. False when the finding type could not be
/// rebuilt, so the pipeline must not act on it.
pub(super) fn analyst_request(finding: &Finding, reasons: &mut Vec<String>) -> bool {
    if !finding.requested_by_analyst {
        return true;
    }
    let Some(origin) = &finding.security_hub else {
        reasons.push("requested by an analyst (requestedByAnalyst from the finding)".into());
        return true;
    };
    reasons.push(format!(
        "requested through the Security Hub custom action {:?} (detail.actionName)",
        origin.action_name
    ));
    if origin.type_mapped {
        reasons.push(format!(
            "finding type {:?} from the finding ({}), rebuilt from the Security Hub type {:?}",
            finding.finding_type, finding.sources.finding_type, origin.asff_type
        ));
        true
    } else {
        reasons.push(format!(
            "the Security Hub type {:?} from the finding ({}) does not map to a GuardDuty finding type; notify only",
            origin.asff_type, finding.sources.finding_type
        ));
        false
    }
}

/// The route by resource type, and for an instance its part in the activity: the target of
/// the activity is routed to a notification with the fix, never to containment.
pub(super) fn route(finding: &Finding, reasons: &mut Vec<String>) -> (Route, Option<String>) {
    let src = &finding.sources;
    let resource_type = finding.resource.resource_type();
    let route = match &finding.resource {
        Resource::Instance(i) => {
            if let Some(cluster) = &i.eks_cluster {
                reasons.push(format!(
                    "an EKSCluster finding about worker node {} of cluster {cluster} itself, from the finding (detail.resource.instanceDetails, and no workload in detail.resource.kubernetesDetails): the instance path applies",
                    i.instance_id
                ));
            }
            Route::Ec2
        }
        Resource::AccessKey(_) => Route::Iam,
        Resource::Function(_) => Route::Lambda,
        Resource::Bucket(b) if !b.other_buckets.is_empty() => {
            reasons.push(format!(
                "{} buckets from the finding (detail.resource.s3BucketDetails): {}, {}: a finding about several buckets is not contained automatically; notify only",
                b.other_buckets.len() + 1,
                b.bucket_name,
                b.other_buckets.join(", ")
            ));
            return (Route::NotifyOnly, None);
        }
        Resource::Bucket(_) => Route::S3,
        Resource::Database(_) => Route::Rds,
        Resource::Task(_) => Route::Ecs,
        Resource::Other { resource_type } if resource_type == "AttackSequence" => Route::Sequence,
        Resource::Other { .. } => {
            reasons.push(format!(
                "resource type {resource_type:?} from the finding ({}) has no automatic containment; notify only",
                src.resource_type
            ));
            // An EKS workload: the notification gives the Kubernetes steps to take by hand.
            let fix = finding
                .kubernetes
                .as_ref()
                .filter(|_| resource_type == "EKSCluster")
                .map(|w| {
                    reasons.push(
                        "the Kubernetes workload from the finding (detail.resource.kubernetesDetails) is named with the steps to contain it by hand"
                            .to_string(),
                    );
                    w.containment_steps()
                });
            return (Route::NotifyOnly, fix);
        }
    };
    let route_reason = format!(
        "resource type {resource_type:?} from the finding ({}): route {}",
        src.resource_type,
        route_name(route)
    );
    if route != Route::Ec2 {
        reasons.push(route_reason);
        return (route, None);
    }
    let ty = &finding.finding_type;
    let judged = roles::judge(ty, finding.resource_role, &finding.local_ports);
    // A victim's reasons end with its own route; saying "route ec2" first would contradict it.
    if judged.part != Part::Victim {
        reasons.push(route_reason);
    }
    let role_reason = |reasons: &mut Vec<String>| {
        // The role is named only where the table keys on it: GuardDuty writes TARGET on many
        // findings whose instance is plainly the actor, where it decides nothing.
        if judged.row.is_some_and(|r| r.role != RoleMatch::Any) {
            if let Some(role) = finding.resource_role {
                reasons.push(format!(
                    "resource role {} from the finding ({})",
                    role.as_str(),
                    src.resource_role
                ));
            }
        }
    };
    match (judged.part, judged.fix) {
        (Part::Victim, Some(fix)) => {
            role_reason(reasons);
            if !finding.local_ports.is_empty() {
                reasons.push(format!(
                    "instance {} from the finding ({})",
                    roles::port_list(&finding.local_ports),
                    src.local_ports
                ));
            }
            reasons.push(format!(
                "the instance is the target of {ty}, not its actor: {fix}"
            ));
            reasons.push(
                "built-in victim table: the target of an attack is notified with the fix, not isolated; route notify-only"
                    .into(),
            );
            (Route::NotifyOnly, Some(fix))
        }
        (Part::Actor, _) => {
            role_reason(reasons);
            reasons.push(format!(
                "built-in victim table: the instance is the actor of {ty}, not its target; the usual rules decide"
            ));
            (route, None)
        }
        _ if judged.type_in_table => {
            reasons.push(match finding.resource_role {
                None => format!(
                    "no resource role from the finding ({}): the built-in victim table cannot tell whether the instance is the target or the actor of {ty}; decided by severity",
                    src.resource_role
                ),
                Some(role) => format!(
                    "resource role {} from the finding ({}) is not in the built-in victim table for {ty}; decided by severity",
                    role.as_str(),
                    src.resource_role
                ),
            });
            (route, None)
        }
        _ => (route, None),
    }
}

/// The route's switch, the retired types and the route's allow list. False when one of them
/// keeps the pipeline from acting.
pub(super) fn route_allows(
    rp: &RoutePolicy,
    route: Route,
    finding: &Finding,
    reasons: &mut Vec<String>,
) -> bool {
    let name = route_name(route);
    let ty = &finding.finding_type;
    let src = &finding.sources.finding_type;
    let mut act = true;
    if !rp.enabled {
        reasons.push(format!(
            "the {name} route is disabled (policy: {name}.enabled); notify only"
        ));
        act = false;
    }
    if crate::policy::is_retired(ty) {
        reasons.push(format!(
            "finding type {ty:?} from the finding ({src}) is retired by GuardDuty (built-in list of retired types): a replay or a test; notify only"
        ));
        act = false;
    } else if let Some(prefix) = rp.matching_prefix(ty) {
        reasons.push(format!(
            "finding type {ty:?} from the finding ({src}) is in the {name} route's allow list (policy: {name}.finding_type_prefixes {prefix:?})"
        ));
    } else {
        reasons.push(format!(
            "finding type {ty:?} from the finding ({src}) is not in the {name} route's allow list (policy: {name}.finding_type_prefixes); notify only"
        ));
        act = false;
    }
    act
}

/// The credentials of an access key finding. False for root and unrecognised credentials,
/// which are never changed automatically.
pub(super) fn credentials_allow(finding: &Finding, reasons: &mut Vec<String>) -> bool {
    let Some(k) = finding.access_key() else {
        return true;
    };
    let key = k.access_key_id.as_deref().unwrap_or("");
    let user_type = k.user_type.as_deref().unwrap_or("");
    let credentials = format!(
        "access key {key:?} of user type {user_type:?} from the finding ({})",
        finding.sources.access_key
    );
    let (what, act) = match k.credential_kind {
        CredentialKind::Root => (
            "root credentials are never changed automatically; notify only",
            false,
        ),
        CredentialKind::Unknown => ("not a recognised credential; notify only", false),
        CredentialKind::LongTermUserKey => ("a long-term key of an IAM user", true),
        CredentialKind::RoleSession => ("temporary credentials of a role session", true),
        CredentialKind::UserSession => ("temporary credentials of an IAM user", true),
    };
    reasons.push(format!("{credentials}: {what}"));
    act
}

pub(super) fn route_name(route: Route) -> &'static str {
    match route {
        Route::Ec2 => "ec2",
        Route::Iam => "iam",
        Route::Lambda => "lambda",
        Route::S3 => "s3",
        Route::Rds => "rds",
        Route::Ecs => "ecs",
        Route::Sequence => "sequence",
        Route::NotifyOnly => "notify-only",
    }
}

/// A severity as GuardDuty writes it: `8.0`, `5.5`, `7.25`. Never rounded, so a value just
/// under a threshold never reads as the threshold.
pub(super) fn severity_text(severity: f64) -> String {
    if severity.fract() == 0.0 {
        format!("{severity:.1}")
    } else {
        format!("{severity}")
    }
}
