//! The decision: what the pipeline does with a finding, and why.
//!
//! Every reason names where its input came from: a field of the finding, by its path in the
//! event ("severity 8.0 from the finding (detail.severity)"), a setting of the policy
//! ("policy: ec2.finding_type_prefixes"), or a built-in table (retired finding types, the
//! victim table of [`crate::policy::roles`]). A reader of a notification can so check each
//! input against the event and the policy, and see which of them an attacker could have written.

use serde::{Deserialize, Serialize};

use crate::false_positives::{FalsePositiveCheck, LedgerInput, Verdict};
use crate::finding::Finding;
use crate::policy::Policy;

mod gates;
pub mod plan;

use gates::{analyst_request, credentials_allow, route, route_allows, route_name, severity_text};

/// Severity tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Tier {
    /// 9.0 and above by default: contain now.
    Critical,
    /// 7.0 to 8.9 by default: contain now.
    High,
    /// 4.0 to 6.9 by default: ask a human first.
    Medium,
    /// Below 4.0 by default: record only.
    Low,
}

/// Which containment a finding's resource calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Route {
    /// An EC2 instance: isolate, snapshot, tag.
    Ec2,
    /// IAM credentials: revoke.
    Iam,
    /// A Lambda function: reserved concurrency 0.
    Lambda,
    /// An S3 bucket: Block Public Access on.
    S3,
    /// An RDS DB instance: its VPC security groups swapped for the quarantine group.
    Rds,
    /// An ECS task: per-address network ACL denies for its interfaces.
    Ecs,
    /// An attack sequence: one plan over the instances and credentials it names.
    Sequence,
    /// Anything else, and an instance that is the target of the activity: notify only.
    NotifyOnly,
}

/// What the state machine does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Disposition {
    /// Contain at once.
    Contain,
    /// Ask an analyst; contain only when approved.
    RequestApproval,
    /// Record and notify; change nothing.
    Notify,
}

/// Whether a bucket finding type is about the bucket being opened to the public (answered with
/// Block Public Access); the others are about a caller (answered with a deny of that caller).
pub fn exposes_bucket(finding_type: &str) -> bool {
    finding_type.starts_with("Policy:S3/")
}

/// A bucket finding about a caller is acted on only when the caller is one a bucket policy can
/// deny by `aws:userid`, and never for root.
fn caller_allows(finding: &Finding, reasons: &mut Vec<String>) -> bool {
    let Some(b) = finding.bucket() else {
        return true;
    };
    if !b.objects.is_empty() {
        reasons.push(format!(
            "{} object(s) of bucket {} found malicious, from the finding (detail.resource.s3BucketDetails[].s3ObjectDetails): quarantined where they are by one statement of the bucket's policy denying everyone reading, overwriting, deleting or re-tagging them",
            b.objects_to_contain().len(),
            b.bucket_name
        ));
        if b.objects.len() > crate::finding::MAX_OBJECTS {
            reasons.push(format!(
                "the finding names {} objects: the first {} are quarantined, the others are listed for an analyst",
                b.objects.len(),
                crate::finding::MAX_OBJECTS
            ));
        }
        return true;
    }
    if exposes_bucket(&finding.finding_type) {
        reasons.push(format!(
            "finding type {:?} from the finding ({}) is about the bucket being opened to the public: its Block Public Access is turned on",
            finding.finding_type, finding.sources.finding_type
        ));
        return true;
    }
    match (b.deniable_caller(), &b.caller) {
        (Some(id), _) => {
            reasons.push(format!(
                "the caller {id:?} from the finding (detail.resource.accessKeyDetails.principalId) is denied every S3 action on the bucket by its policy; its credentials elsewhere are the access key route's"
            ));
            true
        }
        (None, caller) => {
            reasons.push(format!(
                "no caller a bucket policy can deny by aws:userid from the finding (detail.resource.accessKeyDetails): {}; it must be an IAM user's id or one role session's; notify only",
                caller
                    .as_ref()
                    .map(|c| format!(
                        "user type {:?}, principal id {:?}",
                        c.user_type.as_deref().unwrap_or(""),
                        c.principal_id.as_deref().unwrap_or("")
                    ))
                    .unwrap_or_else(|| "absent".into())
            ));
            false
        }
    }
}

/// The classification of one finding under a policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// The severity tier.
    pub tier: Tier,
    /// The route by resource type.
    pub route: Route,
    /// What to do.
    pub disposition: Disposition,
    /// Why, in plain sentences, in the order the rules applied; each names its source.
    pub reasons: Vec<String>,
    /// Whether tasks must only report what they would change.
    pub dry_run: bool,
    /// The idempotency key of this finding's effects on its resource.
    pub idempotency_key: String,
    /// For an instance that is the target of the activity rather than its actor: what to fix
    /// instead of isolating it (from [`crate::policy::roles::ROLES`]). The notification shows
    /// it in the next steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommended_fix: Option<String>,
    /// For credentials an EC2 instance received for its role (a principal `ROLE-ID:i-...`):
    /// that instance. Its metadata service is hardened (IMDSv2 only, one hop), and it is
    /// isolated too when [`Decision::isolate_source`] says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_instance: Option<String>,
    /// Whether the source instance of stolen credentials is isolated as well (policy:
    /// `iam.isolate_source_instance`, for findings contained at once).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub isolate_source: bool,
    /// For a Lambda function that is contained: whether its execution role's sessions issued
    /// before now are denied as well (policy: `lambda.revoke_role_sessions`), and which role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_role: Option<String>,
    /// For an ECS task that an analyst approved containing: whether its task role's sessions
    /// issued before now are denied as well (policy: `ecs.revoke_role_sessions`). The role is
    /// read from the task by `contain-task`; never for a task contained at once, because the
    /// role is shared by every task of its definition.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub revoke_task_role: bool,
    /// For an ECS task that is contained: whether it is stopped after it is cut off (policy:
    /// `ecs.stop_task`, default off: evidence first).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stop_task: bool,
    /// For a bucket that is contained because of its caller (an S3 data-event finding, not a
    /// public-exposure one): the caller's `aws:userid`, denied every S3 action on the bucket
    /// by its policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny_caller: Option<String>,
    /// The false-positive check of the finding's type (from the ledger reading the state
    /// machine gave `classify`), when it decided something or tells the team something: the
    /// verdict and its numbers, for the approval request and the notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub false_positives: Option<FalsePositiveCheck>,
    /// For an attack sequence: the plan, one item per resource to contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<plan::Plan>,
}

impl Policy {
    /// The tier of a severity.
    pub fn tier(&self, severity: f64) -> Tier {
        if severity >= self.critical_severity {
            Tier::Critical
        } else if severity >= self.high_severity {
            Tier::High
        } else if severity >= self.medium_severity {
            Tier::Medium
        } else {
            Tier::Low
        }
    }

    /// Decides what to do with a finding, without a false-positive ledger reading. Pure: reads
    /// nothing but its arguments.
    pub fn decide(&self, finding: &Finding) -> Decision {
        self.decide_with(finding, None)
    }

    /// Decides what to do with a finding, given what the false-positive ledger says about its
    /// type (`None`: nothing was read). Pure: reads nothing but its arguments.
    pub fn decide_with(&self, finding: &Finding, ledger: Option<&LedgerInput>) -> Decision {
        let tier = self.tier(finding.severity);
        let mut reasons = Vec::new();
        // An analyst's request goes through the same rules (a MEDIUM finding still asks for
        // approval); the reasons say who asked and how the finding was read.
        let type_mapped = analyst_request(finding, &mut reasons);
        let (route, recommended_fix) = route(finding, &mut reasons);
        let sequence_route = self.sequence.route();
        let route_policy = match route {
            Route::Ec2 => Some(&self.ec2),
            Route::Iam => Some(&self.iam),
            Route::Lambda => Some(&self.lambda),
            Route::S3 => Some(&self.s3),
            Route::Rds => Some(&self.rds),
            Route::Ecs => Some(&self.ecs),
            Route::Sequence => Some(&sequence_route),
            Route::NotifyOnly => None,
        };
        let mut act = route_policy.is_some() && type_mapped;
        if let Some(rp) = route_policy {
            act &= route_allows(rp, route, finding, &mut reasons);
        }
        act &= credentials_allow(finding, &mut reasons);
        if route == Route::S3 && act {
            act &= caller_allows(finding, &mut reasons);
        }
        act &= self.switches_allow(finding, &mut reasons);
        let mut disposition = if act {
            self.disposition(tier, finding, &mut reasons)
        } else {
            Disposition::Notify
        };
        let plan = if route == Route::Sequence && disposition != Disposition::Notify {
            let p = plan::plan(self, finding);
            disposition = self.plan_gate(p.as_ref(), disposition, &mut reasons);
            p.filter(|_| disposition != Disposition::Notify)
        } else {
            None
        };
        let (disposition, false_positives) =
            self.false_positive_gate(disposition, ledger, &mut reasons);
        let dry_run = self.dry_run || route_policy.is_some_and(|r| r.dry_run);
        if dry_run && disposition != Disposition::Notify {
            let setting = if self.dry_run {
                "policy: dry_run, or DRY_RUN".to_string()
            } else {
                format!("policy: {}.dry_run", route_name(route))
            };
            reasons.push(format!(
                "dry run ({setting}): actions report what they would change"
            ));
        }
        let source_instance = (route == Route::Iam && disposition != Disposition::Notify)
            .then(|| finding.resource.source_instance())
            .flatten();
        let isolate_source = source_instance.is_some()
            && self.iam.isolate_source_instance
            && disposition == Disposition::Contain;
        if let Some(i) = &source_instance {
            reasons.push(format!(
                "the credentials were delivered to instance {i} (principal id from the finding, detail.resource.accessKeyDetails.principalId): only its sessions of the role are denied, its metadata service is hardened{}",
                if isolate_source {
                    ", and it is isolated (policy: iam.isolate_source_instance)"
                } else if self.iam.isolate_source_instance {
                    "; it is isolated only for findings contained at once (policy: iam.isolate_source_instance)"
                } else {
                    "; it is not isolated (policy: iam.isolate_source_instance is off)"
                }
            ));
        }
        let revoke_role = self.function_role(finding, route, disposition, &mut reasons);
        let revoke_task_role = self.task_role(route, disposition, &mut reasons);
        let stop_task = self.stop_task(route, disposition, &mut reasons);
        let deny_caller = (route == Route::S3 && disposition != Disposition::Notify)
            .then(|| {
                finding
                    .bucket()
                    .filter(|b| !exposes_bucket(&finding.finding_type) && b.objects.is_empty())
                    .and_then(|b| b.deniable_caller())
                    .map(str::to_string)
            })
            .flatten();
        Decision {
            tier,
            route,
            disposition,
            reasons,
            dry_run,
            idempotency_key: finding.idempotency_key(),
            recommended_fix,
            source_instance,
            isolate_source,
            revoke_role,
            revoke_task_role,
            stop_task,
            deny_caller,
            false_positives,
            plan,
        }
    }

    /// An attack sequence's plan decides the rest: nothing to contain, or more than one
    /// execution can carry, is notified; more than the blast-radius limit asks first.
    fn plan_gate(
        &self,
        plan: Option<&plan::Plan>,
        disposition: Disposition,
        reasons: &mut Vec<String>,
    ) -> Disposition {
        let Some(p) = plan else {
            reasons.push(
                "the finding has no attack sequence (detail.service.detection.sequence); notify only".into(),
            );
            return Disposition::Notify;
        };
        let n = p.items.len();
        if n == 0 {
            reasons.push(format!(
                "attack sequence {} from the finding (detail.service.detection.sequence) names no instance or credentials the pipeline can contain ({} resource(s) listed for review); notify only",
                p.sequence,
                p.not_contained.len()
            ));
            return Disposition::Notify;
        }
        if n > plan::MAX_PLAN_ITEMS {
            reasons.push(format!(
                "attack sequence {} from the finding (detail.service.detection.sequence) names {n} resources to contain, more than the {} one execution carries (built-in limit); notify only, contain them by hand",
                p.sequence,
                plan::MAX_PLAN_ITEMS
            ));
            return Disposition::Notify;
        }
        let max = self.sequence.max_resources;
        if disposition == Disposition::Contain && n > max {
            reasons.push(format!(
                "the plan contains {n} resources, more than the blast-radius limit {max} (policy: sequence.max_resources); the whole plan needs an analyst's approval"
            ));
            return Disposition::RequestApproval;
        }
        reasons.push(format!(
            "the plan contains {n} resource(s) of attack sequence {}, each once ({} listed for review), within the blast-radius limit {max} (policy: sequence.max_resources)",
            p.sequence,
            p.not_contained.len()
        ));
        disposition
    }

    /// Whether an ECS task is stopped once it is cut off (policy `ecs.stop_task`, off by
    /// default: its memory and files are the evidence).
    fn stop_task(&self, route: Route, disposition: Disposition, reasons: &mut Vec<String>) -> bool {
        if route != Route::Ecs || disposition == Disposition::Notify {
            return false;
        }
        reasons.push(if self.ecs.stop_task {
            "the task is stopped once it is cut off (policy: ecs.stop_task)".into()
        } else {
            "the task keeps running, for its memory and files as evidence (policy: ecs.stop_task is off)".into()
        });
        self.ecs.stop_task
    }

    /// Whether an ECS task role's sessions are denied with the task's containment: only with
    /// an analyst's approval (policy `ecs.revoke_role_sessions`). Every task that uses the role
    /// holds sessions of it, and no condition key tells one task's sessions from another's, so
    /// a deny hits the whole service: a human decides.
    fn task_role(&self, route: Route, disposition: Disposition, reasons: &mut Vec<String>) -> bool {
        if route != Route::Ecs || disposition == Disposition::Notify {
            return false;
        }
        let on = self.ecs.revoke_role_sessions;
        reasons.push(match (on, disposition) {
            (false, _) => "the task role keeps its sessions (policy: ecs.revoke_role_sessions is off)".into(),
            (true, Disposition::RequestApproval) => "once approved, the sessions of the task's role issued before now are denied too: every task using the role takes new credentials (policy: ecs.revoke_role_sessions)".into(),
            (true, _) => "the task role keeps its sessions: it is shared by every task of the definition, so its sessions are denied only with an analyst's approval (policy: ecs.revoke_role_sessions)".into(),
        });
        on && disposition == Disposition::RequestApproval
    }

    /// The execution role of a Lambda function whose sessions are denied with its
    /// containment (policy `lambda.revoke_role_sessions`), by name, when there is one to deny.
    fn function_role(
        &self,
        finding: &Finding,
        route: Route,
        disposition: Disposition,
        reasons: &mut Vec<String>,
    ) -> Option<String> {
        let f = finding.function()?;
        if route != Route::Lambda || disposition == Disposition::Notify {
            return None;
        }
        if !self.lambda.revoke_role_sessions {
            reasons.push(
                "the function's execution role keeps its sessions (policy: lambda.revoke_role_sessions is off)".into(),
            );
            return None;
        }
        // arn:PARTITION:iam::ACCOUNT:role/PATH/NAME: the name is the last part; the role must
        // be in the function's own account.
        let role = f
            .role
            .as_deref()
            .and_then(crate::arn::Arn::parse)
            .filter(|a| a.service == "iam" && a.account == finding.account_id)
            .and_then(|a| a.resource.strip_prefix("role/"))
            .and_then(|path| path.rsplit('/').next())
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        match &role {
            Some(name) => reasons.push(format!(
                "the sessions of the function's execution role {name} (from the finding, detail.resource.lambdaDetails.role) issued before now are denied too (policy: lambda.revoke_role_sessions)"
            )),
            None => reasons.push(format!(
                "the function's execution role {:?} (from the finding, detail.resource.lambdaDetails.role) is not a role of account {}: its sessions are not denied",
                f.role.as_deref().unwrap_or(""),
                finding.account_id
            )),
        }
        role
    }

    /// The false-positive gate: a `contain` of a type whose false positives are above the
    /// policy's threshold becomes a request for approval, never anything less. The check is
    /// kept when it decided the disposition, or when this execution is the one to tell the
    /// team that the type turned (whatever this finding's own disposition).
    fn false_positive_gate(
        &self,
        disposition: Disposition,
        ledger: Option<&LedgerInput>,
        reasons: &mut Vec<String>,
    ) -> (Disposition, Option<FalsePositiveCheck>) {
        let Some(ledger) = ledger else {
            return (disposition, None);
        };
        let (check, reason) = self.false_positives.check(ledger);
        if disposition != Disposition::Contain && !check.tells_the_team() {
            return (disposition, None);
        }
        reasons.push(reason);
        let disposition = match (disposition, check.verdict) {
            (Disposition::Contain, Verdict::ApprovalFirst) => Disposition::RequestApproval,
            (d, _) => d,
        };
        (disposition, Some(check))
    }

    /// The sample and archived switches and the account lists. False when one of them keeps
    /// the pipeline from acting.
    fn switches_allow(&self, finding: &Finding, reasons: &mut Vec<String>) -> bool {
        let src = &finding.sources;
        let mut act = true;
        if finding.sample && !self.act_on_sample_findings {
            reasons.push(format!(
                "sample flag from the finding ({}): the policy does not act on samples (policy: act_on_sample_findings); notify only",
                src.sample
            ));
            act = false;
        }
        if finding.archived && !self.act_on_archived_findings {
            reasons.push(format!(
                "archived flag from the finding ({}): the policy does not act on archived findings (policy: act_on_archived_findings); notify only",
                src.archived
            ));
            act = false;
        }
        if !self.account_allowed(&finding.account_id) {
            let list = if self.exclude_accounts.contains(&finding.account_id) {
                "is excluded (policy: exclude_accounts)"
            } else {
                "is not among the included accounts (policy: include_accounts)"
            };
            reasons.push(format!(
                "account {} from the finding ({}) {list}; notify only",
                finding.account_id, src.account_id
            ));
            act = false;
        }
        act
    }

    /// The disposition of a finding the pipeline may act on, by its tier.
    fn disposition(&self, tier: Tier, finding: &Finding, reasons: &mut Vec<String>) -> Disposition {
        let severity = format!(
            "severity {} from the finding ({})",
            severity_text(finding.severity),
            finding.sources.severity
        );
        let (reason, disposition) = match tier {
            Tier::Critical => (
                format!(
                    "{severity} is CRITICAL (policy: critical_severity {}); contain now",
                    severity_text(self.critical_severity)
                ),
                Disposition::Contain,
            ),
            Tier::High => (
                format!(
                    "{severity} is HIGH (policy: high_severity {}); contain now",
                    severity_text(self.high_severity)
                ),
                Disposition::Contain,
            ),
            Tier::Medium => (
                format!(
                    "{severity} is MEDIUM (policy: medium_severity {}); containment needs an analyst's approval",
                    severity_text(self.medium_severity)
                ),
                Disposition::RequestApproval,
            ),
            Tier::Low => (
                format!(
                    "{severity} is LOW (below policy: medium_severity {}); record only",
                    severity_text(self.medium_severity)
                ),
                Disposition::Notify,
            ),
        };
        reasons.push(reason);
        disposition
    }
}

#[cfg(test)]
mod tests;
