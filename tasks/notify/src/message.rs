//! Composing the notification from the state document.

use std::collections::BTreeMap;

use responder_core::false_positives::FalsePositiveCheck;
use responder_core::{Finding, Policy, Resource};
use serde_json::{json, Map, Value};

use crate::fit;

/// SNS's limit on a message: body and attributes, in bytes.
pub const SNS_MESSAGE_LIMIT: usize = 256 * 1024;
/// The longest subject sent. SNS requires fewer than 100 characters.
pub const SUBJECT_MAX: usize = 99;
/// The longest message attribute value sent.
pub const ATTRIBUTE_MAX: usize = 256;
/// The restore report's evidence key for its note on the Auto Scaling group's desired capacity.
const DESIRED_CAPACITY_NOTE: &str = "desiredCapacityNote";
/// Version of the body's shape, for tools that parse it.
pub const SCHEMA: &str = "guardduty-responder/notification/v1";

/// Settings read once at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// The ARN of the `restore-instance` state machine (`RESTORE_STATE_MACHINE_ARN`, optional),
    /// so the rollback step is a command to paste.
    pub restore_state_machine_arn: Option<String>,
}

/// A composed notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// ASCII, at most [`SUBJECT_MAX`] characters, no control characters.
    pub subject: String,
    /// The JSON body.
    pub body: String,
    /// String message attributes: `severity`, `tier`, `route`, `account`, `outcome`.
    pub attributes: BTreeMap<String, String>,
    /// Whether the body was trimmed to fit.
    pub trimmed: bool,
    /// Body, subject and attributes, in bytes.
    pub bytes: usize,
}

/// What the notification says about the finding, from a parsed finding or whatever of the raw
/// event could be read.
#[derive(Debug, Clone, Default)]
struct Summary {
    id: Option<String>,
    finding_type: Option<String>,
    severity: Option<f64>,
    account: Option<String>,
    region: Option<String>,
    partition: Option<String>,
    title: Option<String>,
    count: Option<u64>,
    /// `Instance`, `AccessKey`, or GuardDuty's other resource types.
    resource_type: Option<String>,
    /// The instance id, `user/NAME`, `role/NAME` or `root`.
    label: Option<String>,
    resource: Value,
    /// What GuardDuty saw on the host (attacker-written text; shown through `shown`).
    host_evidence: Option<responder_core::HostEvidence>,
}

/// The state document, read leniently.
struct Context {
    outcome: String,
    summary: Summary,
    decision: Option<Value>,
    tier: Option<String>,
    route: Option<String>,
    dry_run: bool,
    results: Vec<(String, Value)>,
    error: Option<Value>,
    execution: Option<String>,
    reason: Option<String>,
    raw_input: Option<Value>,
    /// An attack sequence's plan, as each item ended (`outcome`, `resource`, and `reason`,
    /// `error` or `incomplete`).
    items: Vec<Value>,
}

/// The outcome of a plan from its items: contained when every item is contained or skipped
/// (already contained, exempt), failed when no item is contained and one failed, partially
/// contained otherwise (an item failed or fell short beside others that held).
fn sequence_outcome(items: &[Value]) -> &'static str {
    let outcomes: Vec<&str> = items
        .iter()
        .map(|i| i.get("outcome").and_then(Value::as_str).unwrap_or("failed"))
        .collect();
    let held = |o: &&str| {
        matches!(
            *o,
            "contained" | "contained-evidence-incomplete" | "skipped"
        )
    };
    if outcomes.iter().all(held) {
        "contained"
    } else if !outcomes.iter().any(|o| {
        matches!(
            *o,
            "contained" | "contained-evidence-incomplete" | "partially-contained"
        )
    }) {
        "failed"
    } else {
        "partially-contained"
    }
}

/// Composes the notification for a state document. Never fails: missing or unreadable parts
/// are left out or reported raw.
pub fn compose(document: &Value, settings: &Settings) -> Notification {
    let ctx = Context::read(document);
    let subject = subject(&ctx);
    let attributes = attributes(&ctx);
    let overhead = subject.len()
        + attributes
            .iter()
            .map(|(k, v)| k.len() + "String".len() + v.len())
            .sum::<usize>();
    let (body, trimmed) = fit::fit(
        body(&ctx, settings),
        SNS_MESSAGE_LIMIT.saturating_sub(overhead),
    );
    Notification {
        bytes: body.len() + overhead,
        subject,
        body,
        attributes,
        trimmed,
    }
}

impl Context {
    fn read(doc: &Value) -> Context {
        let text = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let summary = match (doc.get("finding"), doc.get("event")) {
            (Some(f), _) if f.is_object() => serde_json::from_value::<Finding>(f.clone())
                .map(|f| Summary::of(&f))
                .unwrap_or_else(|_| Summary::raw(f, None)),
            (_, Some(e)) if e.is_object() => Finding::from_event(e)
                .map(|f| Summary::of(&f))
                .unwrap_or_else(|_| Summary::raw(e.get("detail").unwrap_or(e), Some(e))),
            // A rollback (`restore-instance`) has no finding: its request names the instance.
            _ => match doc.get("request").filter(|r| r.is_object()) {
                Some(r) => Summary::of_request(r),
                None => Summary::default(),
            },
        };
        let decision = doc.get("decision").filter(|d| d.is_object()).cloned();
        let from_decision = |k: &str| text(decision.as_ref().and_then(|d| d.get(k)));
        let tier = from_decision("tier").or_else(|| {
            summary
                .severity
                .map(|s| tier_name(Policy::default().tier(s)))
        });
        let route = from_decision("route").or_else(|| {
            summary.resource_type.as_deref().map(|t| {
                match t {
                    "Instance" => "ec2",
                    "AccessKey" => "iam",
                    _ => "notify-only",
                }
                .to_string()
            })
        });
        let results: Vec<(String, Value)> = match doc.get("results") {
            Some(Value::Object(m)) => m
                .iter()
                .filter(|(k, _)| k.as_str() != "sequence")
                .map(|(k, v)| {
                    // A result stored from a Lambda invoke integration keeps its output under
                    // `Payload`.
                    let v = v.get("Payload").filter(|p| p.is_object()).unwrap_or(v);
                    (k.clone(), v.clone())
                })
                .collect(),
            _ => Vec::new(),
        };
        // An attack sequence's plan: how each item ended (its task reports stay in the
        // execution's history: the state carries only outcomes, to stay within its size limit).
        let items: Vec<Value> = doc
            .pointer("/results/sequence")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let dry_run = decision
            .as_ref()
            .and_then(|d| d.get("dryRun"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
            || results
                .iter()
                .any(|(_, r)| r.get("dryRun").and_then(Value::as_bool) == Some(true));
        let error = doc.get("error").filter(|e| !e.is_null()).map(error_info);
        let mut outcome = text(doc.get("outcome")).unwrap_or_else(|| {
            if error.is_some() {
                "failed".into()
            } else {
                "unknown".into()
            }
        });
        if outcome == "contained" && !items.is_empty() {
            outcome = sequence_outcome(&items).to_string();
        }
        Context {
            outcome,
            raw_input: (!doc.is_object()).then(|| doc.clone()),
            summary,
            decision,
            tier,
            route,
            dry_run,
            results,
            error,
            execution: text(doc.get("execution")),
            reason: text(doc.get("reason")),
            items,
        }
    }

    /// The report of a task, if it ran.
    fn report(&self, task: &str) -> Option<&Value> {
        self.results.iter().find(|(k, _)| k == task).map(|(_, v)| v)
    }

    /// A text field of a task report's evidence.
    fn evidence_str(&self, task: &str, key: &str) -> Option<String> {
        self.report(task)?
            .get("evidence")?
            .get(key)?
            .as_str()
            .map(str::to_string)
    }

    /// Every action of every task report, tagged with its task.
    fn actions(&self) -> Vec<Value> {
        self.results
            .iter()
            .filter_map(|(task, r)| Some((task, r.get("actions")?.as_array()?)))
            .flat_map(|(task, list)| {
                list.iter().map(move |a| {
                    let mut a = a.clone();
                    if let Some(o) = a.as_object_mut() {
                        o.insert("task".into(), json!(task));
                    }
                    a
                })
            })
            .collect()
    }

    /// Whether a task recorded an action of this name with outcome `changed`.
    fn changed(&self, task: &str, action: &str) -> bool {
        self.report(task)
            .and_then(|r| r.get("actions"))
            .and_then(Value::as_array)
            .is_some_and(|list| {
                list.iter().any(|a| {
                    a.get("action").and_then(Value::as_str) == Some(action)
                        && a.get("outcome").and_then(Value::as_str) == Some("changed")
                })
            })
    }

    /// The shortfalls every task reported (`incomplete`), tagged with the task.
    fn incomplete(&self) -> Vec<Value> {
        self.results
            .iter()
            .filter_map(|(task, r)| Some((task, r.get("incomplete")?.as_array()?)))
            .flat_map(|(task, list)| {
                list.iter().map(move |s| {
                    let mut s = s.clone();
                    if let Some(o) = s.as_object_mut() {
                        o.insert("task".into(), json!(task));
                    }
                    s
                })
            })
            .collect()
    }

    /// What the containment does not cut, from every task's `caveats`, once each.
    fn caveats(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in self
            .results
            .iter()
            .filter_map(|(_, r)| r.get("caveats")?.as_array())
            .flatten()
            .filter_map(Value::as_str)
        {
            if !out.iter().any(|o| o == c) {
                out.push(c.to_string());
            }
        }
        out
    }

    /// Whether any task changed anything.
    fn changed_anything(&self) -> bool {
        self.actions()
            .iter()
            .any(|a| a.get("outcome").and_then(Value::as_str) == Some("changed"))
    }
}

impl Summary {
    fn of(f: &Finding) -> Summary {
        let (label, resource) = match &f.resource {
            Resource::Instance(i) => (
                i.instance_id.clone(),
                json!({
                    "type": "Instance",
                    "instanceId": i.instance_id,
                    "networkInterfaces": i.network_interfaces.iter().filter_map(|n| n.network_interface_id.clone()).collect::<Vec<_>>(),
                    "instanceProfileArn": i.instance_profile_arn,
                }),
            ),
            Resource::AccessKey(k) => {
                let label = principal_label(k.user_type.as_deref(), k.user_name.as_deref())
                    .or_else(|| k.access_key_id.clone())
                    .unwrap_or_else(|| "unknown principal".into());
                (
                    label.clone(),
                    json!({
                        "type": "AccessKey",
                        "principal": label,
                        "accessKeyId": k.access_key_id,
                        "userType": k.user_type,
                        "credentialKind": k.credential_kind,
                    }),
                )
            }
            Resource::Function(fun) => (
                fun.function_name.clone(),
                json!({
                    "type": "Lambda",
                    "functionName": fun.function_name,
                    "functionArn": fun.function_arn,
                    "role": fun.role,
                }),
            ),
            Resource::Bucket(b) => (
                b.bucket_name.clone(),
                json!({
                    "type": f.resource.resource_type(),
                    "bucketName": b.bucket_name,
                    "otherBuckets": b.other_buckets,
                    "objects": b.objects,
                }),
            ),
            Resource::Database(d) => (
                d.db_instance_identifier.clone(),
                json!({
                    "type": "RDSDBInstance",
                    "dbInstanceIdentifier": d.db_instance_identifier,
                    "dbClusterIdentifier": d.db_cluster_identifier,
                    "engine": d.engine,
                    "dbUser": d.db_user,
                }),
            ),
            Resource::Task(t) => (
                format!("{}/{}", t.cluster, t.task_id),
                json!({
                    "type": "ECSCluster",
                    "taskArn": t.task_arn,
                    "cluster": t.cluster,
                    "taskDefinitionArn": t.definition_arn,
                    "launchType": t.launch_type,
                    "group": t.group,
                    "containers": t.containers,
                }),
            ),
            Resource::Other { resource_type } => {
                (resource_type.clone(), json!({"type": resource_type}))
            }
        };
        Summary {
            id: Some(f.id.clone()),
            finding_type: Some(f.finding_type.clone()),
            severity: Some(f.severity),
            account: Some(f.account_id.clone()),
            region: Some(f.region.clone()),
            partition: Some(f.partition.clone()),
            title: f.title.clone(),
            count: Some(f.count),
            resource_type: Some(f.resource.resource_type().to_string()),
            label: Some(label),
            resource,
            host_evidence: f.host_evidence.clone(),
        }
    }

    /// What can be read from an object that is not a well-formed finding: a finding document
    /// with wrong fields, or an event's `detail` (with the envelope for account and region).
    /// The summary of a rollback request
    /// `{accountId, region, instanceId | functionName | bucketName | dbInstanceIdentifier, ...}`.
    fn of_request(r: &Value) -> Summary {
        let s = |k: &str| {
            r.get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let function = s("functionName");
        let bucket = s("bucketName");
        let database = s("dbInstanceIdentifier");
        let task = s("taskArn");
        Summary {
            account: s("accountId"),
            region: s("region"),
            partition: s("partition"),
            resource_type: Some(
                if function.is_some() {
                    "Lambda"
                } else if bucket.is_some() {
                    "S3Bucket"
                } else if database.is_some() {
                    "RDSDBInstance"
                } else if task.is_some() {
                    "ECSCluster"
                } else {
                    "Instance"
                }
                .to_string(),
            ),
            label: function
                .or(bucket)
                .or(database)
                .or(task.as_deref().map(|arn| {
                    responder_core::finding::task_arn_parts(arn)
                        .map(|(cluster, id)| format!("{cluster}/{id}"))
                        .unwrap_or_else(|| arn.to_string())
                }))
                .or_else(|| s("instanceId")),
            resource: r.clone(),
            ..Summary::default()
        }
    }

    fn raw(v: &Value, envelope: Option<&Value>) -> Summary {
        let s = |x: Option<&Value>| match x {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let resource = v.get("resource");
        let resource_type = s(resource.and_then(|r| r.get("resourceType")))
            .or_else(|| s(resource.and_then(|r| r.get("kind"))));
        let label = s(resource
            .and_then(|r| r.get("instanceDetails"))
            .and_then(|d| d.get("instanceId")))
        .or_else(|| s(resource.and_then(|r| r.get("instanceId"))))
        .or_else(|| {
            let k = resource.and_then(|r| r.get("accessKeyDetails").or(Some(r)))?;
            principal_label(
                s(k.get("userType")).as_deref(),
                s(k.get("userName")).as_deref(),
            )
        });
        Summary {
            id: s(v.get("id")),
            finding_type: s(v.get("type")),
            severity: v.get("severity").and_then(|x| match x {
                Value::Number(n) => n.as_f64(),
                Value::String(t) => t.trim().parse().ok(),
                _ => None,
            }),
            account: s(v.get("accountId")).or_else(|| s(envelope.and_then(|e| e.get("account")))),
            region: s(v.get("region")).or_else(|| s(envelope.and_then(|e| e.get("region")))),
            partition: s(v.get("partition")),
            title: s(v.get("title")),
            count: None,
            resource_type,
            label,
            resource: resource.cloned().unwrap_or(Value::Null),
            host_evidence: None,
        }
    }
}

fn principal_label(user_type: Option<&str>, user_name: Option<&str>) -> Option<String> {
    match (user_type, user_name) {
        (Some("Root"), _) => Some("root".into()),
        (Some("AssumedRole"), Some(n)) => Some(format!("role/{n}")),
        (_, Some(n)) => Some(format!("user/{n}")),
        _ => None,
    }
}

fn tier_name(t: responder_core::Tier) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "UNKNOWN".into())
}

/// `{"Error", "Cause"}` as Step Functions passes it; a Lambda failure's cause is itself JSON
/// with `errorType` and `errorMessage`.
fn error_info(e: &Value) -> Value {
    let error = e.get("Error").or_else(|| e.get("error")).cloned();
    let cause = e.get("Cause").or_else(|| e.get("cause"));
    let parsed = cause
        .and_then(Value::as_str)
        .and_then(|c| serde_json::from_str::<Value>(c).ok())
        .filter(Value::is_object);
    match parsed {
        Some(p) => json!({
            "error": error,
            "cause": p.get("errorMessage").cloned().unwrap_or_else(|| p.clone()),
            "causeType": p.get("errorType"),
        }),
        None => json!({"error": error, "cause": cause}),
    }
}

fn subject(ctx: &Context) -> String {
    let tier = ctx.tier.as_deref().unwrap_or(if ctx.outcome == "restored" {
        "ROLLBACK"
    } else {
        "UNKNOWN"
    });
    let dry = if ctx.dry_run { "[DRY RUN]" } else { "" };
    let s = &ctx.summary;
    let raw = match (&s.label, &s.finding_type) {
        (Some(label), Some(ty)) => format!(
            "[{tier}]{dry} {} {label} in {}: {ty}",
            ctx.outcome,
            s.account.as_deref().unwrap_or("unknown account")
        ),
        (Some(label), None) => format!(
            "[{tier}]{dry} {} {label} in {}",
            ctx.outcome,
            s.account.as_deref().unwrap_or("unknown account")
        ),
        _ => {
            let what = ctx
                .error
                .as_ref()
                .and_then(|e| e.get("error"))
                .and_then(Value::as_str)
                .or(s.finding_type.as_deref())
                .unwrap_or("finding not readable");
            format!("[{tier}]{dry} {}: {what}", ctx.outcome)
        }
    };
    ascii_subject(&raw)
}

/// ASCII only, no control characters, single spaces, at most [`SUBJECT_MAX`] characters.
pub fn ascii_subject(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = match c {
            ' '..='~' => c,
            c if c.is_whitespace() || c.is_control() => ' ',
            _ => '?',
        };
        if !(c == ' ' && (out.is_empty() || out.ends_with(' '))) {
            out.push(c);
        }
    }
    let mut out = out.trim_end().to_string();
    if out.len() > SUBJECT_MAX {
        out.truncate(SUBJECT_MAX - 3);
        out = format!("{}...", out.trim_end());
    }
    if out.is_empty() {
        out = "GuardDuty Responder notification".into();
    }
    out
}

fn attributes(ctx: &Context) -> BTreeMap<String, String> {
    // SNS refuses empty attribute values, so a missing value is "unknown".
    // Values come from the input, so they are cut to a sane length (filters match short words).
    let or_unknown = |v: Option<String>| {
        let mut v = v
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "unknown".into());
        if v.len() > ATTRIBUTE_MAX {
            let mut end = ATTRIBUTE_MAX;
            while !v.is_char_boundary(end) {
                end -= 1;
            }
            v.truncate(end);
        }
        v
    };
    BTreeMap::from([
        (
            "severity".to_string(),
            or_unknown(ctx.summary.severity.map(|s| format!("{s:.1}"))),
        ),
        ("tier".to_string(), or_unknown(ctx.tier.clone())),
        ("route".to_string(), or_unknown(ctx.route.clone())),
        (
            "account".to_string(),
            or_unknown(ctx.summary.account.clone()),
        ),
        ("outcome".to_string(), or_unknown(Some(ctx.outcome.clone()))),
    ])
}

fn body(ctx: &Context, settings: &Settings) -> Value {
    let s = &ctx.summary;
    let mut body = Map::new();
    body.insert("schema".into(), json!(SCHEMA));
    body.insert("outcome".into(), json!(ctx.outcome));
    body.insert("dryRun".into(), json!(ctx.dry_run));
    body.insert("headline".into(), json!(headline(ctx)));
    body.insert(
        "finding".into(),
        json!({
            "id": s.id,
            "type": s.finding_type,
            "severity": s.severity,
            "tier": ctx.tier,
            "account": s.account,
            "region": s.region,
            "title": s.title,
            "count": s.count,
            "resource": s.resource,
        }),
    );
    if let Some(d) = &ctx.decision {
        let mut decision = json!({
            "tier": d.get("tier"),
            "route": d.get("route"),
            "disposition": d.get("disposition"),
            "dryRun": d.get("dryRun"),
            "reasons": d.get("reasons"),
            "idempotencyKey": d.get("idempotencyKey"),
        });
        if let (Some(fix), Some(o)) = (recommended_fix(ctx), decision.as_object_mut()) {
            o.insert("recommendedFix".into(), json!(fix));
        }
        // The false-positive check of the finding's type, with its numbers; the execution that
        // found the type above its threshold first tells the team (once per crossing).
        if let (Some(fp), Some(o)) = (d.get("falsePositives"), decision.as_object_mut()) {
            o.insert("falsePositives".into(), fp.clone());
            if let Some(h) = serde_json::from_value::<FalsePositiveCheck>(fp.clone())
                .ok()
                .and_then(|c| c.headline())
            {
                body.insert("automationTurnedDown".into(), json!(h));
            }
        }
        body.insert("decision".into(), decision);
    }
    if let Some(r) = &ctx.reason {
        body.insert("reason".into(), json!(r));
    }
    // What GuardDuty saw on the host: readable lines (control characters written out, so no
    // value can forge a line of a rendered message) and the fields as GuardDuty named them.
    if let Some(h) = &s.host_evidence {
        body.insert(
            "hostEvidence".into(),
            json!({"lines": h.lines(), "detail": h, "note": "written on the host: the attacker's to choose"}),
        );
    }
    if let Some(e) = &ctx.error {
        body.insert("error".into(), e.clone());
    }
    body.insert("actions".into(), Value::Array(ctx.actions()));
    let mut evidence = Map::new();
    let mut other = Map::new();
    for (task, r) in &ctx.results {
        if r.get("actions").is_some_and(Value::is_array) {
            if let Some(e) = r
                .get("evidence")
                .filter(|e| e.as_object().is_some_and(|m| !m.is_empty()))
            {
                evidence.insert(task.clone(), e.clone());
            }
        } else if r.get("status").is_some() && task.contains("exemption") {
            body.insert("exemption".into(), r.clone());
        } else {
            other.insert(task.clone(), r.clone());
        }
    }
    body.insert("evidence".into(), Value::Object(evidence));
    let incomplete = ctx.incomplete();
    if !incomplete.is_empty() {
        body.insert("incomplete".into(), Value::Array(incomplete));
    }
    let caveats = ctx.caveats();
    if !caveats.is_empty() {
        body.insert("caveats".into(), json!(caveats));
    }
    if !other.is_empty() {
        body.insert("otherResults".into(), Value::Object(other));
    }
    if let Some(raw) = &ctx.raw_input {
        body.insert("input".into(), raw.clone());
    }
    body.insert(
        "execution".into(),
        json!({
            "arn": ctx.execution,
            "console": ctx.execution.as_deref().and_then(execution_console_link),
        }),
    );
    if let (Some(id), Some(region)) = (&s.id, &s.region) {
        if s.partition.as_deref().unwrap_or("aws") == "aws" {
            body.insert(
                "findingConsole".into(),
                json!(format!("https://{region}.console.aws.amazon.com/guardduty/home?region={region}#/findings?macros=current&fId={id}")),
            );
        }
    }
    body.insert("nextSteps".into(), json!(next_steps(ctx, settings)));
    body.insert("trimmed".into(), json!(false));
    Value::Object(body)
}

fn headline(ctx: &Context) -> String {
    let s = &ctx.summary;
    format!(
        "{} finding {} on {} in account {} ({}): {}{}",
        ctx.tier.as_deref().unwrap_or("UNKNOWN"),
        s.finding_type.as_deref().unwrap_or("of unknown type"),
        s.label.as_deref().unwrap_or("an unknown resource"),
        s.account.as_deref().unwrap_or("unknown"),
        s.region.as_deref().unwrap_or("unknown region"),
        ctx.outcome,
        if ctx.dry_run {
            " (dry run: nothing was changed)"
        } else {
            ""
        }
    )
}

/// The Step Functions console link of an execution ARN
/// (`arn:<partition>:states:<region>:<account>:execution:<machine>:<name>`).
pub fn execution_console_link(arn: &str) -> Option<String> {
    let parsed = responder_core::arn::Arn::parse(arn)?;
    let ok = parsed.service == "states"
        && !parsed.region.is_empty()
        && parsed
            .resource
            .strip_prefix("execution:")
            .is_some_and(|rest| !rest.is_empty());
    if !ok {
        return None;
    }
    let region = parsed.region;
    let host = match parsed.partition {
        "aws" => format!("https://{region}.console.aws.amazon.com"),
        "aws-us-gov" => "https://console.amazonaws-us-gov.com".to_string(),
        "aws-cn" => "https://console.amazonaws.cn".to_string(),
        _ => return None,
    };
    Some(format!(
        "{host}/states/home?region={region}#/v2/executions/details/{arn}"
    ))
}

fn next_steps(ctx: &Context, settings: &Settings) -> Vec<String> {
    let s = &ctx.summary;
    let mut steps = Vec::new();
    if ctx.dry_run {
        steps.push("Dry run: nothing was changed. The actions say what would have been done; turn dry run off in the policy to act.".to_string());
    }
    let reasons = || {
        ctx.decision
            .as_ref()
            .and_then(|d| d.get("reasons"))
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .filter(|r| !r.is_empty())
            .or_else(|| ctx.reason.clone())
            .unwrap_or_else(|| "see the decision".into())
    };
    match ctx.outcome.as_str() {
        "contained" => {}
        "partially-contained" => {
            for short in ctx.incomplete() {
                steps.push(format!(
                    "INCOMPLETE ({}): {}",
                    short.get("error").and_then(Value::as_str).unwrap_or("unknown"),
                    short.get("detail").and_then(Value::as_str).unwrap_or("")
                ));
            }
        }
        "contained-evidence-incomplete" if ctx.route.as_deref() == Some("rds") => {
            let short = ctx
                .report("containDatabase")
                .and_then(|r| r.pointer("/incomplete/0/detail"))
                .and_then(Value::as_str)
                .unwrap_or("no details");
            steps.push(format!(
                "The database is contained, but its evidence snapshot FAILED: {short}. Take it now, before anything changes the data."
            ));
        }
        "contained-evidence-incomplete" => {
            let why = ctx
                .report("snapshot")
                .map(error_info)
                .map(|e| {
                    format!(
                        "{}: {}",
                        e.get("error").and_then(Value::as_str).unwrap_or("unknown error"),
                        e.get("cause").and_then(Value::as_str).unwrap_or("")
                    )
                })
                .unwrap_or_else(|| "no details".into());
            steps.push(format!(
                "The instance is contained, but the evidence snapshots FAILED ({why}). Take them by hand now, before anything changes the disks: aws ec2 create-snapshots --instance-specification InstanceId={} --copy-tags-from-source volume",
                s.label.as_deref().unwrap_or("<instance id>")
            ));
        }
        "skipped" => steps.push(format!(
            "Nothing was changed: {}. Review the finding and act by hand if it is real.",
            ctx.reason.clone().or_else(|| exemption_reason(ctx)).unwrap_or_else(reasons)
        )),
        // The instance is the target of the activity, not its actor: it was not isolated, and
        // the fix is what to do instead.
        "recorded" if recommended_fix(ctx).is_some() => {
            steps.extend(victim_steps(ctx));
        }
        "recorded" => steps.push(format!(
            "Recorded only ({}). Review the finding in GuardDuty; archive it if it is expected activity.",
            reasons()
        )),
        "approval-rejected" => steps.push("An analyst rejected containment; nothing was changed. If that was a mistake, contain by hand or re-run the pipeline for this finding.".to_string()),
        "approval-timed-out" => steps.push("Nobody answered the approval request in time; nothing was changed. Review the finding now and contain by hand if it is real.".to_string()),
        "failed" => {
            let what = ctx
                .error
                .as_ref()
                .map(|e| {
                    format!(
                        "{}: {}",
                        e.get("error").and_then(Value::as_str).unwrap_or("unknown error"),
                        e.get("cause").map(|c| c.as_str().map(str::to_string).unwrap_or_else(|| c.to_string())).unwrap_or_default()
                    )
                })
                .unwrap_or_else(|| "no error details".into());
            steps.push(format!(
                "The pipeline FAILED ({what}). Containment may be partial: the actions list what completed. Open the execution to see the failed step, then finish containment by hand or roll back what completed (below)."
            ));
        }
        "restored" => {
            steps.push(format!(
                "{} was restored from quarantine. Check that it works and that the cause of the finding is fixed; the evidence is kept.",
                s.label.as_deref().unwrap_or("The instance")
            ));
            // Re-attaching to the Auto Scaling group raised its desired capacity, and the
            // replacement launched during containment still runs: the restore report says so.
            if let Some(note) = ctx
                .report("restore")
                .and_then(|r| r.get("evidence"))
                .and_then(|e| e.get(DESIRED_CAPACITY_NOTE))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|n| !n.is_empty())
            {
                steps.push(note.to_string());
            }
        }
        other => steps.push(format!(
            "Outcome {other:?}: open the execution to see what happened."
        )),
    }
    let acted = matches!(
        ctx.outcome.as_str(),
        "contained" | "partially-contained" | "contained-evidence-incomplete"
    ) || ctx.changed_anything();
    if acted && !ctx.dry_run {
        match ctx.route.as_deref() {
            Some("ec2") => steps.extend(ec2_steps(ctx, settings)),
            Some("iam") => steps.extend(iam_steps(ctx)),
            Some("lambda") => steps.extend(lambda_steps(ctx, settings)),
            Some("s3") => steps.extend(s3_steps(ctx, settings)),
            Some("rds") => steps.extend(rds_steps(ctx, settings)),
            Some("ecs") => steps.extend(ecs_steps(ctx, settings)),
            Some("sequence") => steps.extend(sequence_steps(ctx, settings)),
            _ => {}
        }
    }
    if let Some(link) = ctx.execution.as_deref().and_then(execution_console_link) {
        steps.push(format!("Execution: {link}"));
    }
    steps
}

/// The decision's fix for an instance that is the target of the activity, if it has one.
fn recommended_fix(ctx: &Context) -> Option<&str> {
    ctx.decision
        .as_ref()
        .and_then(|d| d.get("recommendedFix"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|f| !f.is_empty())
}

/// The next steps for the target of an attack: why it was not isolated, and the fix.
fn victim_steps(ctx: &Context) -> Vec<String> {
    let s = &ctx.summary;
    let Some(fix) = recommended_fix(ctx) else {
        return Vec::new();
    };
    let mut chars = fix.chars();
    let fix: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if s.resource_type.as_deref() == Some("EKSCluster") {
        return vec![
            format!("Not contained automatically: {fix}."),
            "Review the finding in GuardDuty (its Kubernetes user, image and process) before and after these steps.".to_string(),
        ];
    }
    vec![
        format!(
            "Not isolated: {} is the target of {}, not its actor. Recommended fix: {fix}.",
            s.label.as_deref().unwrap_or("the instance"),
            s.finding_type.as_deref().unwrap_or("this finding")
        ),
        "Nothing was changed. Review the finding in GuardDuty once the fix is in place, and archive it if the exposure is intended.".to_string(),
    ]
}

fn exemption_reason(ctx: &Context) -> Option<String> {
    ctx.results
        .iter()
        .find_map(|(_, r)| r.get("reason").and_then(Value::as_str).map(str::to_string))
}

/// The rollback step: the restore-instance input naming the resource by `key`, and the command
/// that starts it; `what` says what the rollback puts back.
fn rollback_step(
    settings: &Settings,
    account: &str,
    region: &str,
    (key, id): (&str, &str),
    what: &str,
) -> String {
    let input = restore_request(account, region, &[(key, json!(id))]);
    restore_step(settings, "To roll back", &input, what)
}

/// The rollback of quarantined objects: the request names the bucket and exactly those keys.
fn objects_rollback_step(
    settings: &Settings,
    account: &str,
    region: &str,
    bucket: &str,
    keys: &[String],
) -> String {
    let input = restore_request(
        account,
        region,
        &[("bucketName", json!(bucket)), ("objectKeys", json!(keys))],
    );
    restore_step(settings, "To lift the quarantine", &input, "It removes exactly these objects from the statement (the statement goes when it names nothing more); the bucket's other statements stay.")
}

/// A `restore-instance` request as JSON, its keys written out in the documented order
/// (`accountId`, `region`, then `fields`) whatever serde_json's map does.
fn restore_request(account: &str, region: &str, fields: &[(&str, Value)]) -> String {
    let mut input = format!(
        "{{\"accountId\":{},\"region\":{}",
        json!(account),
        json!(region)
    );
    for (key, value) in fields {
        input.push_str(&format!(",{}:{value}", json!(key)));
    }
    input.push('}');
    input
}

/// The step that starts `restore-instance` with `input`. Some values are another party's
/// choice (an object key), so the command quotes the input for a POSIX shell: a `'` in it
/// cannot end the quoting.
fn restore_step(settings: &Settings, lead: &str, input: &str, what: &str) -> String {
    let machine = settings
        .restore_state_machine_arn
        .as_deref()
        .unwrap_or("<restore-instance state machine ARN>");
    let quoted = input.replace('\'', "'\\''");
    format!("{lead}: start the restore-instance state machine with {input}, e.g. aws stepfunctions start-execution --state-machine-arn {machine} --input '{quoted}'. {what}")
}

fn ec2_steps(ctx: &Context, settings: &Settings) -> Vec<String> {
    let s = &ctx.summary;
    let instance = s.label.as_deref().unwrap_or("<instance id>");
    let account = s.account.as_deref().unwrap_or("<account id>");
    let region = s.region.as_deref().unwrap_or("<region>");
    vec![
        format!("Instance {instance} in {account} ({region}) is isolated: its interfaces are in the quarantine security group, and deny entries for its addresses are in the network ACLs its traffic crosses. Its original groups, the ACL entries and the evidence snapshots are listed under evidence; what containment does not cut (DNS, the metadata service, traffic inside its own subnet) is listed under caveats."),
        "Investigate from the snapshots (create volumes from them in a forensic account); avoid logging in to the instance.".to_string(),
        rollback_step(settings, account, region, ("instanceId", instance), "It puts back the original security groups, removes the network ACL entries and returns the instance to its Auto Scaling group."),
    ]
}

fn lambda_steps(ctx: &Context, settings: &Settings) -> Vec<String> {
    let s = &ctx.summary;
    let function = s.label.as_deref().unwrap_or("<function name>");
    let account = s.account.as_deref().unwrap_or("<account id>");
    let region = s.region.as_deref().unwrap_or("<region>");
    vec![
        format!("Lambda function {function} in {account} ({region}) is stopped: its reserved concurrency is 0, so no new invocation starts (running ones finish). Its code and configuration are untouched; the code's SHA-256, revision and execution role are listed under evidence."),
        if ctx.report("revoke").is_some() {
            "Every session of its execution role issued before containment is denied (an inline deny on the role, listed under actions): credentials the attacker's code may have sent away no longer work. Holders of the role take new ones.".to_string()
        } else {
            "Its execution role's credentials stay valid until they expire (policy lambda.revoke_role_sessions is off): code running in the function could read them. If the finding suggests it, deny the role's older sessions by hand (IAM console, role, Revoke active sessions).".to_string()
        },
        rollback_step(settings, account, region, ("functionName", function), "It puts back the recorded reserved concurrency (or none)."),
    ]
}

fn s3_steps(ctx: &Context, settings: &Settings) -> Vec<String> {
    let s = &ctx.summary;
    let bucket = s.label.as_deref().unwrap_or("<bucket name>");
    let account = s.account.as_deref().unwrap_or("<account id>");
    let region = s.region.as_deref().unwrap_or("<region>");
    let denied = ctx
        .report("containBucket")
        .and_then(|r| r.pointer("/evidence/deniedCaller"))
        .and_then(Value::as_str);
    let quarantined: Vec<String> = ctx
        .report("containBucket")
        .and_then(|r| r.pointer("/evidence/objects"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|o| o.get("key").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if !quarantined.is_empty() {
        let named: Vec<String> = quarantined.iter().map(|k| format!("{k:?}")).collect();
        return vec![
            format!("In S3 bucket {bucket} in {account} ({region}), {} {} quarantined where {}: one statement ({}) merged into the bucket's policy denies everyone reading, overwriting, deleting, re-tagging or re-publishing {}. Nothing was moved or deleted; the scan-result tag and the threat's hash are listed under evidence.",
                if named.len() == 1 { "object" } else { "objects" },
                named.join(", "),
                if named.len() == 1 { "it is" } else { "they are" },
                responder_core::denies::QUARANTINE_OBJECTS_SID,
                if named.len() == 1 { "it" } else { "them" }),
            "Find who uploaded it and from where (CloudTrail data events for PutObject, S3 server access logs), and whether it was read before the quarantine (GetObject events): anyone who fetched it may have run it. The uploader's credentials are not contained here.".to_string(),
            objects_rollback_step(settings, account, region, bucket, &quarantined),
        ];
    }
    if let Some(caller) = denied {
        return vec![
            format!("Caller {caller} is denied every S3 action on bucket {bucket} in {account} ({region}): one statement ({}) merged into the bucket's policy, the policy's other statements unchanged.", responder_core::denies::DENY_BUCKET_CALLERS_SID),
            "Its credentials still work everywhere else: revoke them too (the access key's own finding, or by hand: deactivate an IAM user's key, or deny a role's sessions issued before now). Find what it read or changed (CloudTrail data events, S3 server access logs).".to_string(),
            rollback_step(settings, account, region, ("bucketName", bucket), "It removes the deny from the bucket's policy (and puts back Block Public Access as recorded, if this pipeline turned it on)."),
        ];
    }
    vec![
        format!("S3 bucket {bucket} in {account} ({region}) is closed to the public: all four of its Block Public Access settings are on, so public ACLs are ignored and a public policy reaches only the owner's account. Its policy and ACL are left as they were found and listed under evidence; nothing is deleted."),
        "Find who opened it (the finding's caller, and CloudTrail's PutBucketPolicy, PutBucketAcl and PutPublicAccessBlock events), and what was read while it was open (S3 server access logs or CloudTrail data events). Callers holding credentials are not stopped by Block Public Access: their access key's own finding is the one to contain.".to_string(),
        rollback_step(settings, account, region, ("bucketName", bucket), "It puts back the recorded Block Public Access settings (or none) while all four are still on."),
    ]
}

/// An attack sequence's plan: one line per item as it ended, what the sequence names and the plan
/// left alone, and how each kind rolls back.
fn sequence_steps(ctx: &Context, settings: &Settings) -> Vec<String> {
    let account = ctx.summary.account.as_deref().unwrap_or("<account id>");
    let region = ctx.summary.region.as_deref().unwrap_or("<region>");
    let mut steps = Vec::new();
    let mut instances = Vec::new();
    for item in &ctx.items {
        let r = item.get("resource").cloned().unwrap_or(Value::Null);
        let label = r
            .get("instanceId")
            .and_then(Value::as_str)
            .map(|i| {
                instances.push(i.to_string());
                format!("instance {i}")
            })
            .or_else(|| {
                let user = r.get("userName").and_then(Value::as_str)?;
                let key = r.get("accessKeyId").and_then(Value::as_str).unwrap_or("-");
                Some(format!("credentials {user}/{key}"))
            })
            .unwrap_or_else(|| "a resource".into());
        let outcome = item
            .get("outcome")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        let why = match outcome {
            "skipped" => item
                .get("reason")
                .and_then(Value::as_str)
                .map(|r| format!(": {r}"))
                .unwrap_or_default(),
            "failed" | "contained-evidence-incomplete" => item
                .get("error")
                .map(|e| format!(": {}", error_info(e)))
                .unwrap_or_default(),
            "partially-contained" => item
                .get("incomplete")
                .map(|e| format!(": {e}"))
                .unwrap_or_default(),
            _ => String::new(),
        };
        steps.push(format!("Plan item, {label}: {outcome}{why}"));
    }
    if let Some(list) = ctx
        .decision
        .as_ref()
        .and_then(|d| d.pointer("/plan/notContained"))
        .and_then(Value::as_array)
    {
        for n in list {
            let field = |k: &str| n.get(k).and_then(Value::as_str).unwrap_or("?");
            steps.push(format!(
                "Not contained automatically, {} {}: {}",
                field("resourceType"),
                field("uid"),
                field("why")
            ));
        }
    }
    if let Some(n) = ctx
        .decision
        .as_ref()
        .and_then(|d| d.pointer("/plan/notListed"))
        .and_then(Value::as_u64)
    {
        steps.push(format!(
            "Not contained automatically, and not listed here: {n} more resource(s) the sequence names (see it in GuardDuty)."
        ));
    }
    steps.push("Review the sequence in GuardDuty (its signals, actors and endpoints): the plan acts only on the instances and credentials it names.".to_string());
    for i in instances {
        steps.push(rollback_step(
            settings,
            account,
            region,
            ("instanceId", &i),
            "It puts back the instance's original security groups and undoes the other recorded changes.",
        ));
    }
    steps
}

fn rds_steps(ctx: &Context, settings: &Settings) -> Vec<String> {
    let s = &ctx.summary;
    let db = s.label.as_deref().unwrap_or("<DB instance identifier>");
    let account = s.account.as_deref().unwrap_or("<account id>");
    let region = s.region.as_deref().unwrap_or("<region>");
    let evidence = ctx
        .report("containDatabase")
        .and_then(|r| r.get("evidence"));
    let cluster = evidence
        .and_then(|e| e.get("cluster"))
        .and_then(Value::as_str);
    let user = s
        .resource
        .get("dbUser")
        .and_then(Value::as_str)
        .map(|u| format!("{u:?}"))
        .unwrap_or_else(|| "the user of the login".to_string());
    let cut = match cluster {
        Some(c) => format!("DB cluster {c} in {account} ({region}) is isolated, {db} and every other instance of it (Aurora: the groups are the cluster's)"),
        None => format!("DB instance {db} in {account} ({region}) is isolated"),
    };
    vec![
        format!("{cut}: its VPC security groups are replaced by the VPC's quarantine group, which admits nothing. The original groups are listed under evidence and recorded on it (unless the actions say there was no room for the record: then the rollback is by hand); the snapshot is kept as evidence."),
        format!("Sessions opened before the change stay open: security groups do not cut tracked connections. Connect through a path you control and end the sessions of {user} (PostgreSQL: pg_terminate_backend; MySQL: KILL), then change that user's password (and any secret holding it) before rolling back."),
        rollback_step(settings, account, region, ("dbInstanceIdentifier", db), "It puts back the recorded security groups while the quarantine group is still the only one."),
    ]
}

fn ecs_steps(ctx: &Context, settings: &Settings) -> Vec<String> {
    let s = &ctx.summary;
    let task = s
        .resource
        .get("taskArn")
        .and_then(Value::as_str)
        .unwrap_or("<task ARN>");
    let account = s.account.as_deref().unwrap_or("<account id>");
    let region = s.region.as_deref().unwrap_or("<region>");
    let ev = |k: &str| ctx.evidence_str("containTask", k);
    let mut steps = vec![format!(
        "ECS task {task} in {account} ({region}) is cut off at the VPC's network ACLs: deny entries for its addresses in the ACLs of every other subnet of its VPC (listed under actions, recorded on its network interface) stop its traffic through NAT gateways, load balancers, endpoints and other subnets at once. Its security groups are ECS's to manage and unchanged; traffic to hosts in its own subnet does not cross an ACL and is not cut. The task keeps running, so its memory and files stay for forensics (ECS Exec through Session Manager still works where the VPC has its endpoints)."
    )];
    if let Some(instance) = ev("containerInstanceId") {
        steps.push(format!("The task runs on EC2 container instance {instance}: code that escaped the container holds the instance. Inspect the instance, and contain it too if the finding suggests an escape."));
    }
    match (ev("taskRoleName"), ctx.report("revoke").is_some()) {
        (Some(role), true) => steps.push(format!("Every session of the task role {role} issued before containment is denied (approved with the containment): credentials the attacker read from the task's credential endpoint no longer work. The other tasks using the role take new ones.")),
        (Some(role), false) => steps.push(format!("The task role {role} keeps its sessions: every task of the definition shares it, so its sessions are denied only with an analyst's approval. If the attacker may have read the credentials (the task's credential endpoint is open to any process in it), deny the role's older sessions (IAM console, role {role}, Revoke active sessions) and expect every task using it to take new credentials.")),
        (None, _) => {}
    }
    steps.push("Stopping the task deletes its network interface and the record on it: take the evidence first (ECS Exec, the container's logs), and roll back before it stops or within the hour ECS still describes a stopped task (the task carries a copy of the record); after that, delete the listed network ACL entries by hand, so the address is not denied when ECS gives it to another task.".to_string());
    steps.push(rollback_step(
        settings,
        account,
        region,
        ("taskArn", task),
        "It deletes exactly the recorded network ACL entries and removes the records.",
    ));
    steps
}

fn iam_steps(ctx: &Context) -> Vec<String> {
    use responder_core::denies::{
        DENY_ALL_POLICY, DENY_INSTANCE_SESSIONS_POLICY, REVOKE_SESSIONS_POLICY,
    };
    let ev = |k: &str| ctx.evidence_str("revoke", k);
    let principal = ev("principal").or_else(|| ctx.summary.label.clone());
    let key = ev("accessKeyId").or_else(|| {
        ctx.summary
            .resource
            .get("accessKeyId")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let key = key.as_deref().unwrap_or("<access key id>");
    match principal.as_deref().and_then(|p| p.split_once('/')) {
        Some(("role", role)) if ev("sourceInstance").is_some() => {
            let instance = ev("sourceInstance").unwrap_or_default();
            vec![
                format!("Credentials of role {role} delivered to instance {instance} are denied wherever they are used (inline policy {DENY_INSTANCE_SESSIONS_POLICY}, by aws:userid and ec2:SourceInstanceARN), including ones it receives later; the role's other holders keep working."),
                format!("Investigate instance {instance}: how were its credentials taken (SSRF to the metadata service, code on the host)? Until it is rebuilt, keep it contained."),
                format!("To roll back for this instance only: remove its entries from the inline policy {DENY_INSTANCE_SESSIONS_POLICY} of role {role} (aws iam get-role-policy / put-role-policy), or delete the policy if it names no other instance."),
            ]
        }
        Some(("role", role)) => vec![
            format!("Sessions of role {role} issued before the cutoff (evidence tokenIssueTimeCutoff) are denied by inline policy {REVOKE_SESSIONS_POLICY}; new sessions work. Find and fix how the credentials leaked (an instance reachable from outside, a CI secret)."),
            format!("To roll back: aws iam delete-role-policy --role-name {role} --policy-name {REVOKE_SESSIONS_POLICY}. This re-enables the old sessions that have not expired yet, so remove it only after the role's maximum session duration (up to 12 hours) has passed."),
        ],
        Some(("user", user)) if ctx.changed("revoke", "deactivate-access-key") || key.starts_with("AKIA") => {
            let deny = ev("deny").unwrap_or_else(|| "AWSDenyAll".into());
            let undo = if deny == DENY_ALL_POLICY {
                format!("aws iam delete-user-policy --user-name {user} --policy-name {DENY_ALL_POLICY}")
            } else {
                format!("aws iam detach-user-policy --user-name {user} --policy-arn arn:aws:iam::aws:policy/AWSDenyAll")
            };
            vec![
                format!("Access key {key} of user {user} is Inactive and {deny} denies every action of the user."),
                format!("Rotate: create a new key for the owner, move its consumers, then delete the leaked key (aws iam delete-access-key --user-name {user} --access-key-id {key}). Check CloudTrail for what the key did."),
                format!("To roll back after rotation: {undo}; reactivate the key only if the investigation shows it was not leaked: aws iam update-access-key --user-name {user} --access-key-id {key} --status Active."),
            ]
        }
        Some(("user", user)) => vec![
            format!("Sessions of user {user} issued before the cutoff are denied by inline policy {REVOKE_SESSIONS_POLICY}. No long-term key was deactivated: review the user's keys (evidence userAccessKeys) and rotate the one that minted the session."),
            format!("To roll back: aws iam delete-user-policy --user-name {user} --policy-name {REVOKE_SESSIONS_POLICY}."),
        ],
        _ => vec!["Review the credentials named by the finding.".to_string()],
    }
}
