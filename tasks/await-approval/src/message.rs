//! The approval request message: subject, plain-text body and SNS message attributes.

use chrono::{DateTime, Utc};
use responder_core::{CredentialKind, Decision, Finding, Resource, Route, TaskInput};

/// The longest subject SNS accepts for email, in characters.
pub const MAX_SUBJECT_LEN: usize = 100;
/// The subject's fixed start, which mail rules can match on.
pub const SUBJECT_PREFIX: &str = "[APPROVAL NEEDED]";
/// The `outcome` attribute of every approval request.
pub const OUTCOME: &str = "approval-requested";

/// One SNS message attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The attribute name.
    pub name: &'static str,
    /// `String` or `Number`.
    pub data_type: &'static str,
    /// The value.
    pub value: String,
}

/// A message ready to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalMessage {
    /// ASCII, at most [`MAX_SUBJECT_LEN`] characters, no line breaks.
    pub subject: String,
    /// Plain text for email and chat subscribers. Holds the links: never log it.
    pub body: String,
    /// `severity` (Number), `tier`, `route`, `account`, `outcome`.
    pub attributes: Vec<Attribute>,
}

/// Builds the message for a finding with its two links. The subject puts the account and the
/// resource before the finding type, so a cut subject loses the least useful part.
pub fn build_message(
    doc: &TaskInput,
    approve_link: &str,
    reject_link: &str,
    deadline: DateTime<Utc>,
    now: DateTime<Utc>,
) -> ApprovalMessage {
    let f = &doc.finding;
    let d = &doc.decision;
    let tier = enum_name(&d.tier);
    let route = enum_name(&d.route);
    let subject = subject(&format!(
        "{SUBJECT_PREFIX} {tier} {:.1} {} {}: {}",
        f.severity,
        f.account_id,
        f.resource.identity(),
        f.finding_type,
    ));

    let mut body = String::new();
    let mut line = |s: &str| {
        body.push_str(s);
        body.push('\n');
    };
    line("A GuardDuty finding needs an analyst's decision before it is contained.");
    line("");
    // Told once, by the execution that found the type above its false-positive threshold.
    if let Some(h) = d.false_positives.as_ref().and_then(|c| c.headline()) {
        line(&format!("NOTE: {h}."));
        line("Re-enable it with `responder false-positive enable` once the rules are reviewed.");
        line("");
    }
    line(&format!("Finding type: {}", f.finding_type));
    if let Some(title) = &f.title {
        line(&format!("Title:        {title}"));
    }
    line(&format!("Severity:     {:.1} ({tier})", f.severity));
    line(&format!("Account:      {}", f.account_id));
    line(&format!("Region:       {}", f.region));
    line(&format!(
        "Resource:     {} {}",
        f.resource.resource_type(),
        f.resource.identity()
    ));
    line(&format!("Finding id:   {}", f.id));
    line(&format!("Seen:         {} time(s)", f.count));
    line(&format!("Execution:    {}", doc.execution_name()));
    // Written on the host, so the attacker's to choose: every value through `shown`, which
    // writes control characters out (no forged lines, no forged links).
    if let Some(h) = &f.host_evidence {
        line("");
        line("What GuardDuty saw on the host (written there: treat as the attacker's text):");
        for l in h.lines() {
            line(&format!("  {l}"));
        }
    }
    line("");
    line("If you approve, the pipeline will:");
    for step in containment_plan(f, d) {
        line(&format!("  - {step}"));
    }
    if d.dry_run {
        line("  (DRY RUN: every step only reports what it would change; nothing is changed.)");
    }
    line("If you reject, nothing is changed and the rejection is recorded. If it is a false positive, say so on the page: it counts against the type's automatic containment.");
    if !d.reasons.is_empty() {
        line("");
        line("Why this needs approval:");
        for r in &d.reasons {
            line(&format!("  - {r}"));
        }
    }
    line("");
    let minutes = (deadline - now).num_minutes();
    line(&format!(
        "Decide before {} ({minutes} minutes from now). After that the links stop working and nothing is contained on this request.",
        deadline.format("%Y-%m-%d %H:%M:%S UTC")
    ));
    line("");
    line("Approve:");
    line(approve_link);
    line("");
    line("Reject:");
    line(reject_link);
    line("");
    line("Each link opens a page that shows the finding and asks you to confirm; opening a link decides nothing.");
    line("The links are the authority to decide: do not forward this message.");

    let attributes = vec![
        Attribute {
            name: "severity",
            data_type: "Number",
            value: format!("{}", f.severity),
        },
        string_attribute("tier", tier),
        string_attribute("route", route),
        string_attribute("account", f.account_id.clone()),
        string_attribute("outcome", OUTCOME.to_string()),
    ];
    ApprovalMessage {
        subject,
        body,
        attributes,
    }
}

/// What containment does on each route, in plain sentences for the analyst.
/// What approval will do, one step per line (the request and the approval page show it).
pub(crate) fn containment_plan(f: &Finding, d: &Decision) -> Vec<String> {
    match (&f.resource, d.route) {
        (Resource::Instance(i), Route::Ec2) => vec![
            format!(
                "isolate instance {}: move its network interfaces into the quarantine security group (no traffic in or out), recording the original groups for rollback",
                i.instance_id
            ),
            "snapshot its EBS volumes as evidence".to_string(),
            "tag the instance with the finding id and the execution".to_string(),
        ],
        (Resource::AccessKey(k), Route::Iam) => {
            let user = k.user_name.as_deref().unwrap_or("(unknown principal)");
            let key = k.access_key_id.as_deref().unwrap_or("(unknown key)");
            match k.credential_kind {
                CredentialKind::LongTermUserKey => vec![
                    format!("deactivate access key {key} of IAM user {user} (it can be reactivated)"),
                    format!("attach an inline policy to {user} denying every action"),
                ],
                CredentialKind::RoleSession => vec![format!(
                    "revoke the active sessions of role {user}: an inline policy denies every session issued before now"
                )],
                CredentialKind::UserSession => vec![format!(
                    "revoke the temporary credentials of IAM user {user}: an inline policy denies every session issued before now (its long-term keys are listed for review, not changed)"
                )],
                CredentialKind::Root | CredentialKind::Unknown => vec![
                    "nothing automatically: these credentials are never changed by the pipeline".to_string(),
                ],
            }
        }
        (Resource::Function(fun), Route::Lambda) => vec![
            format!(
                "stop Lambda function {} from running: set its reserved concurrency to 0 (no new invocation starts; running ones finish), recording the previous value for rollback",
                fun.function_name
            ),
            "keep its code and configuration untouched, and report its code SHA-256 and configuration as evidence".to_string(),
        ]
        .into_iter()
        .chain(d.revoke_role.as_ref().map(|role| {
            format!(
                "deny every session of its execution role {role} issued before now (every holder of the role takes new credentials)"
            )
        }))
        .collect(),
        (Resource::Bucket(b), Route::S3) if !b.objects.is_empty() => {
            let keys: Vec<String> = b
                .objects_to_contain()
                .iter()
                .map(|o| format!("{:?}", o.key))
                .collect();
            vec![
                format!(
                    "quarantine {} {} of S3 bucket {} where {}: one statement merged into the bucket's policy denies everyone reading, overwriting, deleting, re-tagging or re-publishing {}, its other statements unchanged",
                    if keys.len() == 1 { "object" } else { "objects" },
                    keys.join(", "),
                    b.bucket_name,
                    if keys.len() == 1 { "it is" } else { "they are" },
                    if keys.len() == 1 { "it" } else { "them" },
                ),
                "move or delete nothing: the object is the evidence, with its scan-result tag and the threat's hash".to_string(),
            ]
        }
        (Resource::Bucket(b), Route::S3) => match &d.deny_caller {
            Some(caller) => vec![
                format!(
                    "deny caller {caller} every S3 action on bucket {} and its objects: one statement merged into the bucket's policy, its other statements unchanged",
                    b.bucket_name
                ),
                "leave the caller's credentials elsewhere as they are (its access key's own finding is the one that revokes them)".to_string(),
            ],
            None => vec![
                format!(
                    "close S3 bucket {} to the public: turn on all four of its Block Public Access settings, recording the previous ones for rollback",
                    b.bucket_name
                ),
                "leave its policy and ACL as they are, and report them as evidence".to_string(),
            ],
        },
        (Resource::Database(db), Route::Rds) => vec![
            match &db.db_cluster_identifier {
                Some(c) => format!(
                    "isolate Aurora DB cluster {c} of DB instance {}: replace the cluster's VPC security groups with the VPC's quarantine group (no traffic in; every instance of the cluster is cut), recording the original groups for rollback",
                    db.db_instance_identifier
                ),
                None => format!(
                    "isolate DB instance {}: replace its VPC security groups with the VPC's quarantine group (no traffic in), recording the original groups for rollback{}",
                    db.db_instance_identifier,
                    if db.engine.as_deref().is_some_and(|e| e.starts_with("aurora")) {
                        " (an Aurora instance: the groups are its cluster's, so every instance of the cluster is cut)"
                    } else {
                        " (if RDS shows it in a cluster, the cluster's groups are swapped and every instance of it is cut)"
                    }
                ),
            },
            "take a snapshot of it as evidence".to_string(),
            "leave sessions opened before the change to be ended from inside the database (security groups do not cut them)".to_string(),
        ],
        (Resource::Task(t), Route::Ecs) => {
            let mut steps = vec![
                format!(
                    "cut ECS task {} of cluster {} off at its VPC's network ACLs: deny entries for its addresses in the ACLs of the VPC's other subnets, recorded on its network interface for rollback (its security groups are ECS's and stay)",
                    t.task_id, t.cluster
                ),
                "leave the task running, for its memory and files as evidence".to_string(),
            ];
            if d.revoke_task_role {
                steps.push("deny every session of the task's role issued before now: every task using that role (the whole service) takes new credentials".to_string());
            }
            if d.stop_task {
                steps.push("then stop the task (policy ecs.stop_task): its memory is lost, and its service may start a replacement".to_string());
            }
            steps
        }
        (_, Route::Sequence) => match &d.plan {
            Some(plan) => {
                let mut steps: Vec<String> = plan
                    .describe()
                    .into_iter()
                    .map(|s| format!("{s} (as a finding of its own on it would be)"))
                    .collect();
                steps.push(format!(
                    "one approval covers these {} resource(s) of attack sequence {}, contained {} at a time",
                    plan.items.len(),
                    plan.sequence,
                    plan.max_concurrency
                ));
                if !plan.not_contained.is_empty() {
                    steps.push(format!(
                        "leave the {} other resource(s) it names for review (listed in the notification)",
                        plan.not_contained.len()
                    ));
                }
                steps
            }
            None => vec!["nothing automatically: the sequence has no plan; the finding is recorded".to_string()],
        },
        _ => vec!["nothing automatically: this resource type has no containment; the finding is recorded".to_string()],
    }
}

fn string_attribute(name: &'static str, value: String) -> Attribute {
    Attribute {
        name,
        data_type: "String",
        value,
    }
}

/// The serde name of a unit enum variant (`MEDIUM`, `ec2`), as every task spells it.
fn enum_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// An SNS subject: printable ASCII only, at most [`MAX_SUBJECT_LEN`] characters, ending in
/// `...` when cut.
fn subject(raw: &str) -> String {
    let clean: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if clean.len() <= MAX_SUBJECT_LEN {
        return clean;
    }
    format!("{}...", &clean[..MAX_SUBJECT_LEN - 3])
}
