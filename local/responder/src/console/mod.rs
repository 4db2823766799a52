//! The local console, read-only, under `/console` of `responder serve`: what the Step Functions
//! console shows for an execution, for the executions of the local engine.
//!
//! - `/console`: the executions, filtered by status and state machine;
//! - `/console/execution?arn=…`: the state machine drawn from its ASL with the path the
//!   execution took marked ([`graph`], [`path`], [`svg`]), and its events with their inputs,
//!   outputs and the tasks' REPORT figures;
//! - `/console/findings`: per finding, the executions it caused and what their tasks changed;
//! - `/console/state-machine?arn=…`: a definition's graph alone.
//!
//! Pages are HTML without JavaScript, served with the approval pages' security headers
//! ([`approval_callback::pages::SECURITY_HEADERS`]); every value is escaped.

pub mod graph;
pub mod path;
pub mod svg;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

use asl::{Engine, ExecutionDescription, ExecutionStatus};
use chrono::{DateTime, Utc};
use http::{HeaderValue, Method, Response, StatusCode};
use serde_json::Value;

use crate::history_view;
use crate::lambda_bridge::{InvocationRecord, LambdaTasks};
use crate::pipeline;

pub use approval_callback::pages::escape;

/// Where the console is served.
pub const PREFIX: &str = "/console";

/// What the console reads.
#[derive(Clone)]
pub struct Console {
    /// The executions and state machines.
    pub engine: Engine,
    /// The task invocations (REPORT figures), when the tasks run locally.
    pub tasks: Option<Arc<LambdaTasks>>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console").finish_non_exhaustive()
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#222}\
header{background:#232f3e;color:#fff;padding:.6rem 1.2rem}header a{color:#fff;margin-right:1.2rem;text-decoration:none}\
header strong{margin-right:2rem}main{padding:1rem 1.2rem}\
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem}td.time{white-space:nowrap}th,td{text-align:left;padding:.3rem .7rem;border-bottom:1px solid #e5e5e5;vertical-align:top}\
th{background:#f3f3f3;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}\
code,pre{font-family:ui-monospace,monospace;font-size:.82rem}pre{white-space:pre-wrap;word-break:break-all;max-width:70rem;margin:.3rem 0}\
.status{font-weight:600}.status.SUCCEEDED{color:#2e7d32}.status.FAILED,.status.TIMED_OUT,.status.ABORTED{color:#c62828}\
.status.RUNNING{color:#1d4ed8}tr.error td{background:#fff5f5}\
form.filters label{margin-right:1rem}.graphbox{overflow:auto;max-width:100%}.muted{color:#666}";

/// A page with the security headers. `title` is text; `content` is HTML.
fn page(status: StatusCode, title: &str, content: &str) -> Response<String> {
    page_refreshed(status, title, content, None)
}

/// [`page`], reloaded by the browser every `refresh` seconds when set (a running execution:
/// no script needed).
fn page_refreshed(
    status: StatusCode,
    title: &str,
    content: &str,
    refresh: Option<u32>,
) -> Response<String> {
    let refresh = refresh
        .map(|s| format!("<meta http-equiv=\"refresh\" content=\"{s}\">"))
        .unwrap_or_default();
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">{refresh}\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex, nofollow\">\
         <title>{t} · GuardDuty Responder</title><style>{STYLE}{graph}</style></head><body>\
         <header><strong>GuardDuty Responder · local console</strong>\
         <a href=\"{PREFIX}\">Executions</a><a href=\"{PREFIX}/findings\">Findings</a></header>\
         <main><h1>{t}</h1>\n{content}\n</main></body></html>\n",
        t = escape(title),
        graph = svg::STYLE,
    );
    let mut res = Response::new(body);
    *res.status_mut() = status;
    for (name, value) in approval_callback::pages::SECURITY_HEADERS {
        res.headers_mut()
            .insert(*name, HeaderValue::from_static(value));
    }
    res
}

fn query(uri: &http::Uri) -> BTreeMap<String, String> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn link(path: &str, param: &str, value: &str) -> String {
    let q: String = form_urlencoded::Serializer::new(String::new())
        .append_pair(param, value)
        .finish();
    escape(&format!("{PREFIX}{path}?{q}"))
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string()
}

fn duration(d: &ExecutionDescription) -> String {
    match d.stop_date {
        Some(stop) => format!("{} ms", (stop - d.start_date).num_milliseconds()),
        None => "running".into(),
    }
}

/// The JSON text pretty-printed when it parses, task tokens redacted.
fn pretty(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|mut v| {
            redact_tokens(&mut v);
            serde_json::to_string_pretty(&v).ok()
        })
        .unwrap_or_else(|| text.to_string())
}

/// Replaces every task token (a member named `taskToken`, in any case, at any depth) with a
/// placeholder. A token answers the waiting state: whoever reads it could approve a
/// containment, so no page shows it (as the approval pages never do).
pub fn redact_tokens(v: &mut Value) {
    match v {
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                if k.eq_ignore_ascii_case("taskToken") && x.is_string() {
                    *x = Value::String("(task token, not shown)".into());
                } else {
                    redact_tokens(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(redact_tokens),
        _ => {}
    }
}

/// Whether the request names this machine (the `Host` a browser sends): a page of another
/// site whose name resolves here (DNS rebinding) names its own host and is refused.
fn loopback_host(headers: &http::HeaderMap) -> bool {
    let Some(host) = headers.get(http::header::HOST) else {
        return true;
    };
    let host = host.to_str().unwrap_or("");
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host),
    };
    matches!(name, "127.0.0.1" | "localhost" | "::1")
}

/// The resource a `restore-instance` request names, by the key its routes read.
const ROLLBACK_KEYS: &[&str] = &[
    "instanceId",
    "functionName",
    "bucketName",
    "dbInstanceIdentifier",
    "taskArn",
];

/// How an execution's graph is shown.
#[derive(Debug, Clone, Copy, Default)]
struct GraphView {
    /// At its own size, scrolled, rather than fitted to the page.
    actual_size: bool,
    /// Only the states entered and those next to them.
    path_only: bool,
}

/// What an execution was about, from its input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Subject {
    /// The finding's id, for an execution a finding started.
    pub finding_id: Option<String>,
    /// Its type.
    pub finding_type: Option<String>,
    /// Its severity.
    pub severity: Option<f64>,
    /// Otherwise, the resource a rollback request names: its key and its name.
    pub rollback: Option<(&'static str, String)>,
}

impl Subject {
    /// Reads the execution input.
    pub fn of(input: &str) -> Subject {
        let v: Value = serde_json::from_str(input).unwrap_or(Value::Null);
        let detail = v.get("detail");
        let text = |p: &str| {
            detail
                .and_then(|d| d.get(p))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let mut s = Subject {
            finding_id: text("id"),
            finding_type: text("type"),
            severity: detail
                .and_then(|d| d.get("severity"))
                .and_then(Value::as_f64),
            rollback: None,
        };
        if detail.is_none() {
            // A rollback request names one resource (restore-instance's routes).
            s.rollback = ROLLBACK_KEYS
                .iter()
                .find_map(|k| Some((*k, v.get(*k)?.as_str()?.to_string())));
        }
        s
    }

    /// What the executions list says it was about: the finding's type, or the rollback.
    fn what(&self) -> String {
        match (&self.finding_type, &self.rollback) {
            (Some(t), _) => t.clone(),
            (None, Some((k, name))) => format!("restore {k} {name}"),
            (None, None) => String::new(),
        }
    }
}

impl Console {
    /// Serves one request under [`PREFIX`]. Never fails: every outcome is a page.
    pub fn handle<B>(&self, req: &http::Request<B>) -> Response<String> {
        let mut res = self.respond(req);
        if req.method() == Method::HEAD {
            res.body_mut().clear();
        }
        res
    }

    fn respond<B>(&self, req: &http::Request<B>) -> Response<String> {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let mut r = page(
                StatusCode::METHOD_NOT_ALLOWED,
                "Method not allowed",
                "<p>The console is read-only.</p>",
            );
            r.headers_mut()
                .insert(http::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return r;
        }
        if !loopback_host(req.headers()) {
            return page(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "<p>The console answers only requests addressed to this machine's loopback name.</p>",
            );
        }
        let q = query(req.uri());
        let arn = q.get("arn").map(String::as_str).unwrap_or("");
        match req.uri().path().trim_end_matches('/').strip_prefix(PREFIX) {
            Some("") => self.executions(&q),
            Some("/execution") => self.execution(
                arn,
                GraphView {
                    actual_size: q.get("zoom").is_some_and(|z| z == "1"),
                    path_only: q.get("view").is_some_and(|v| v == "path"),
                },
            ),
            Some("/findings") => self.findings(),
            Some("/state-machine") => self.state_machine(arn),
            _ => not_found("No such page."),
        }
    }

    fn machine_names(&self) -> BTreeMap<String, String> {
        self.engine
            .list_state_machines()
            .into_iter()
            .map(|m| (m.state_machine_arn, m.name))
            .collect()
    }

    /// The summary of an execution already described (its history read once).
    fn summary(&self, d: &ExecutionDescription) -> Option<pipeline::RunSummary> {
        let events = pipeline::history_on(&self.engine, &d.execution_arn).ok()?;
        let view = history_view::reconstruct(&events);
        Some(pipeline::summary_of(d, &events, &view, "", None))
    }

    fn executions(&self, q: &BTreeMap<String, String>) -> Response<String> {
        let machines = self.machine_names();
        let status = q.get("status").map(String::as_str).unwrap_or("");
        let machine = q.get("machine").map(String::as_str).unwrap_or("");
        let wanted_status = ExecutionStatus::from_name(status);
        let machine_arn = machines
            .iter()
            .find(|(_, n)| n.as_str() == machine)
            .map(|(a, _)| a.as_str());
        // A filter naming no state machine or status of the engine matches nothing.
        let unknown = (!machine.is_empty() && machine_arn.is_none())
            || (!status.is_empty() && wanted_status.is_none());
        let list = if unknown {
            Vec::new()
        } else {
            self.engine.list_executions(machine_arn, wanted_status)
        };
        let mut html = String::from("<form class=\"filters\" method=\"get\">");
        html.push_str("<label>Status <select name=\"status\"><option value=\"\">any</option>");
        for s in ExecutionStatus::ALL.map(|s| s.as_str()) {
            let sel = if s == status { " selected" } else { "" };
            let _ = write!(html, "<option{sel}>{s}</option>");
        }
        html.push_str(
            "</select></label><label>State machine <select name=\"machine\"><option value=\"\">any</option>",
        );
        let mut names: Vec<&String> = machines.values().collect();
        names.sort();
        for n in names {
            let sel = if n == machine { " selected" } else { "" };
            let _ = write!(html, "<option{sel}>{}</option>", escape(n));
        }
        html.push_str("</select></label><button type=\"submit\">Filter</button></form>");
        let _ = write!(
            html,
            "<p class=\"muted\">{} execution(s), newest first.</p>",
            list.len()
        );
        html.push_str(
            "<table id=\"executions\"><thead><tr><th>Name</th><th>State machine</th><th>Status</th>\
             <th>Finding type or request</th><th>Severity</th><th>Outcome</th><th>Started</th><th>Duration</th></tr></thead><tbody>",
        );
        for d in &list {
            let subject = Subject::of(&d.input);
            let outcome = self.summary(d).map(|s| s.outcome).unwrap_or_default();
            let machine = machines
                .get(&d.state_machine_arn)
                .cloned()
                .unwrap_or_default();
            let _ = write!(
                html,
                "<tr data-execution=\"{name}\" data-status=\"{st}\"><td><a href=\"{href}\">{name}</a></td><td>{machine}</td>\
                 <td class=\"status {st}\">{st}</td><td>{what}</td><td class=\"num\">{sev}</td><td>{outcome}</td>\
                 <td class=\"time\">{start}</td><td class=\"num time\">{dur}</td></tr>",
                name = escape(&d.name),
                href = link("/execution", "arn", &d.execution_arn),
                machine = escape(&machine),
                st = d.status.as_str(),
                what = escape(&subject.what()),
                sev = subject
                    .severity
                    .map(|s| format!("{s:.1}"))
                    .unwrap_or_default(),
                outcome = escape(&outcome),
                start = time(d.start_date),
                dur = duration(d),
            );
        }
        html.push_str("</tbody></table>");
        page(StatusCode::OK, "Executions", &html)
    }

    fn execution(&self, arn: &str, shown: GraphView) -> Response<String> {
        let Ok(d) = self.engine.describe_execution(arn) else {
            return not_found("No such execution.");
        };
        let Ok(events) = pipeline::history_on(&self.engine, arn) else {
            return not_found("No such execution.");
        };
        let machine = self
            .engine
            .describe_state_machine(&d.state_machine_arn)
            .ok();
        let view = history_view::reconstruct(&events);
        let marks = path::Path::of(&view);
        let subject = Subject::of(&d.input);
        let summary = pipeline::summary_of(&d, &events, &view, "", None);
        let mut html = String::new();
        let mut rows: Vec<(&str, String)> = vec![
            ("Execution", escape(&d.execution_arn)),
            (
                "State machine",
                machine
                    .as_ref()
                    .map(|m| {
                        format!(
                            "<a href=\"{}\">{}</a>",
                            link("/state-machine", "arn", &m.state_machine_arn),
                            escape(&m.name)
                        )
                    })
                    .unwrap_or_default(),
            ),
            (
                "Status",
                format!(
                    "<span class=\"status {0}\" id=\"status\">{0}</span>",
                    d.status.as_str()
                ),
            ),
            ("Outcome", escape(&summary.outcome)),
            ("Started", time(d.start_date)),
            ("Duration", duration(&d)),
        ];
        if let Some(t) = &subject.finding_type {
            rows.push(("Finding type", escape(t)));
        }
        if let Some(id) = &subject.finding_id {
            rows.push((
                "Finding",
                format!("<a href=\"{PREFIX}/findings#{0}\">{0}</a>", escape(id)),
            ));
        }
        if let Some(e) = &d.error {
            rows.push(("Error", format!("<code>{}</code>", escape(e))));
        }
        if let Some(c) = &d.cause {
            rows.push(("Cause", format!("<pre>{}</pre>", escape(c))));
        }
        html.push_str("<table>");
        for (k, v) in rows {
            let _ = write!(html, "<tr><th>{k}</th><td>{v}</td></tr>");
        }
        html.push_str("</table>");
        html.push_str("<h2>Graph</h2>");
        match machine
            .as_ref()
            .map(|m| graph::Graph::from_definition(&m.definition))
        {
            Some(Ok(whole)) => {
                html.push_str(&svg::legend());
                let g = if shown.path_only {
                    marks.neighbourhood(&whole)
                } else {
                    whole
                };
                let here = link("/execution", "arn", arn);
                let href = |v: GraphView| {
                    format!(
                        "{here}{}{}",
                        if v.path_only { "&amp;view=path" } else { "" },
                        if v.actual_size { "&amp;zoom=1" } else { "" }
                    )
                };
                let size = GraphView {
                    actual_size: !shown.actual_size,
                    ..shown
                };
                let scope = GraphView {
                    path_only: !shown.path_only,
                    ..shown
                };
                let _ = write!(
                    html,
                    "<p class=\"views\"><a href=\"{}\">{}</a> · <a href=\"{}\">{}</a></p>\
                     <div class=\"{}\">{}</div>",
                    href(size),
                    if shown.actual_size {
                        "Fit to the page"
                    } else {
                        "Actual size"
                    },
                    href(scope),
                    if shown.path_only {
                        "The whole state machine"
                    } else {
                        "Only the path and the states next to it"
                    },
                    if shown.actual_size {
                        "graphbox"
                    } else {
                        "graphbox fit"
                    },
                    svg::render(&g, Some(&marks))
                );
            }
            Some(Err(e)) => {
                let _ = write!(
                    html,
                    "<p>The definition cannot be drawn: {}</p>",
                    escape(&e.to_string())
                );
            }
            None => html.push_str("<p>The state machine is gone.</p>"),
        }
        html.push_str("<h2>What the tasks reported</h2>");
        html.push_str(&actions_table(&summary));
        html.push_str("<h2>Events</h2>");
        html.push_str(&self.events_table(arn, &events, &view));
        let running = d.status == ExecutionStatus::Running;
        if running {
            html.insert_str(
                0,
                "<p class=\"muted\" id=\"live\">Running: this page reloads every 2 seconds.</p>",
            );
        }
        page_refreshed(
            StatusCode::OK,
            &format!("Execution {}", d.name),
            &html,
            running.then_some(2),
        )
    }

    fn events_table(
        &self,
        arn: &str,
        events: &[Value],
        view: &history_view::ExecutionView,
    ) -> String {
        // A scheduled task is one invocation: the state's and the attempt's (a call Lambda
        // refused, throttled for instance, ran nothing and has no REPORT). Iterations of a Map
        // running at once may trade figures with each other.
        let mut invocations: Vec<Option<InvocationRecord>> = self
            .tasks
            .as_ref()
            .map(|t| t.invocations(arn))
            .unwrap_or_default()
            .into_iter()
            .map(Some)
            .collect();
        let mut scheduled: BTreeMap<usize, u32> = BTreeMap::new();
        let origin = view.started.unwrap_or(0.0);
        let mut html = String::from(
            "<table id=\"events\"><thead><tr><th>ID</th><th>Type</th><th>Step</th>\
             <th>Elapsed (ms)</th><th>Details</th><th>Task REPORT</th></tr></thead><tbody>",
        );
        for (i, e) in events.iter().enumerate() {
            let ty = e.get("type").and_then(Value::as_str).unwrap_or("");
            let id = e.get("id").and_then(Value::as_u64).unwrap_or(0);
            let ts = e.get("timestamp").and_then(Value::as_f64).unwrap_or(origin);
            let visit = view.event_owner.get(i).copied().flatten();
            let step = visit
                .and_then(|v| view.states.get(v))
                .map(|v| v.name.as_str())
                .unwrap_or("");
            let report = if let (true, Some(v)) = (
                matches!(ty, "TaskScheduled" | "LambdaFunctionScheduled"),
                visit,
            ) {
                let n = scheduled.entry(v).or_default();
                let attempt = *n;
                *n += 1;
                invocations
                    .iter_mut()
                    .find(|r| {
                        r.as_ref()
                            .is_some_and(|r| r.state_name == step && r.attempt == attempt)
                    })
                    .and_then(Option::take)
                    .map(|inv| {
                        format!(
                            "<code>{}</code><br><code>{}</code>",
                            escape(&inv.function),
                            escape(&inv.report.to_string())
                        )
                    })
                    .unwrap_or_default()
            } else {
                String::new()
            };
            let error =
                ty.ends_with("Failed") || ty.ends_with("TimedOut") || ty.ends_with("Aborted");
            let _ = write!(
                html,
                "<tr data-type=\"{ty}\"{class}><td class=\"num\">{id}</td><td>{ty}</td><td>{step}</td>\
                 <td class=\"num\">{ms:.0}</td><td>{details}</td><td>{report}</td></tr>",
                ty = escape(ty),
                class = if error { " class=\"error\"" } else { "" },
                step = escape(step),
                ms = ((ts - origin) * 1000.0).max(0.0),
                details = event_details(e),
            );
        }
        html.push_str("</tbody></table>");
        html
    }

    fn findings(&self) -> Response<String> {
        let mut by_finding: BTreeMap<String, Vec<ExecutionDescription>> = BTreeMap::new();
        let mut subjects: BTreeMap<String, Subject> = BTreeMap::new();
        let mut rollbacks: Vec<(String, ExecutionDescription)> = Vec::new();
        for d in self.engine.list_executions(None, None).into_iter().rev() {
            let s = Subject::of(&d.input);
            if let Some(id) = s.finding_id.clone() {
                by_finding.entry(id.clone()).or_default().push(d);
                subjects.entry(id).or_insert(s);
            } else if let Some((_, r)) = s.rollback {
                rollbacks.push((r, d));
            }
        }
        let mut html = format!(
            "<p class=\"muted\">{} finding(s); each with the executions it started, oldest first, \
             what their tasks reported changing, and the rollbacks of what they changed.</p>",
            by_finding.len()
        );
        for (id, execs) in &by_finding {
            let s = &subjects[id];
            let _ = write!(
                html,
                "<section class=\"finding\" id=\"{id}\" data-finding=\"{id}\"><h2>{ty} <span class=\"muted\">{sev}</span></h2>\
                 <p>Finding <code>{id}</code></p>",
                id = escape(id),
                ty = escape(s.finding_type.as_deref().unwrap_or("")),
                sev = s.severity.map(|v| format!("severity {v:.1}")).unwrap_or_default(),
            );
            let mut targets: Vec<String> = Vec::new();
            for d in execs {
                let summary = self.summary(d);
                let outcome = summary.as_ref().map(|s| s.outcome.as_str()).unwrap_or("");
                targets.extend(summary.iter().flat_map(|s| {
                    s.actions
                        .iter()
                        .filter(|a| a.get("outcome").and_then(Value::as_str) == Some("changed"))
                        .filter_map(|a| a.get("target").and_then(Value::as_str))
                        .map(str::to_string)
                }));
                let _ = write!(
                    html,
                    "<h3><a href=\"{}\">{}</a> <span class=\"status {st}\">{st}</span> {}</h3>",
                    link("/execution", "arn", &d.execution_arn),
                    escape(&d.name),
                    escape(outcome),
                    st = d.status.as_str(),
                );
                if let Some(s) = &summary {
                    html.push_str(&actions_table(s));
                }
            }
            // Rollbacks started after the finding, of a resource its executions changed.
            let first = execs.first().map(|d| d.start_date);
            let undone: Vec<&ExecutionDescription> = rollbacks
                .iter()
                .filter(|(r, d)| {
                    first.is_some_and(|f| d.start_date >= f)
                        && targets.iter().any(|t| {
                            t == r || t.ends_with(&format!(":{r}")) || t.ends_with(&format!("/{r}"))
                        })
                })
                .map(|(_, d)| d)
                .collect();
            if !undone.is_empty() {
                html.push_str("<p>Rolled back by:</p><ul class=\"rollbacks\">");
                for d in undone {
                    let _ = write!(
                        html,
                        "<li><a href=\"{}\">{}</a> <span class=\"status {st}\">{st}</span></li>",
                        link("/execution", "arn", &d.execution_arn),
                        escape(&d.name),
                        st = d.status.as_str(),
                    );
                }
                html.push_str("</ul>");
            }
            html.push_str("</section>");
        }
        page(StatusCode::OK, "Findings", &html)
    }

    fn state_machine(&self, arn: &str) -> Response<String> {
        let Ok(m) = self.engine.describe_state_machine(arn) else {
            return not_found("No such state machine.");
        };
        let body = match graph::Graph::from_definition(&m.definition) {
            Ok(g) => format!(
                "<p><a href=\"{}\">Its executions</a></p><div class=\"graphbox\">{}</div>",
                link("", "machine", &m.name),
                svg::render(&g, None)
            ),
            Err(e) => format!(
                "<p>The definition cannot be drawn: {}</p>",
                escape(&e.to_string())
            ),
        };
        let html = format!(
            "{body}<h2>Definition</h2><pre>{}</pre>",
            escape(&pretty(&m.definition))
        );
        page(StatusCode::OK, &format!("State machine {}", m.name), &html)
    }
}

/// What the tasks reported doing, from the execution's summary.
fn actions_table(s: &pipeline::RunSummary) -> String {
    if s.actions.is_empty() {
        return "<p class=\"muted\">No task reported a change.</p>".into();
    }
    let mut html = String::from(
        "<table class=\"actions\"><thead><tr><th>Task</th><th>Action</th><th>Target</th><th>Outcome</th><th>Detail</th></tr></thead><tbody>",
    );
    for a in &s.actions {
        let cell = |k: &str| match a.get(k) {
            Some(Value::String(t)) => escape(t),
            Some(Value::Null) | None => String::new(),
            Some(v) => escape(&v.to_string()),
        };
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            cell("task"),
            cell("action"),
            cell("target"),
            cell("outcome"),
            cell("detail")
        );
    }
    html.push_str("</tbody></table>");
    html
}

/// An event's details (input, output, error, cause, resource...) behind a disclosure.
fn event_details(e: &Value) -> String {
    let Some((_, d)) = e
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.ends_with("EventDetails")))
    else {
        return String::new();
    };
    let Some(fields) = d.as_object() else {
        return String::new();
    };
    let mut summary = Vec::new();
    let mut body = String::new();
    for (k, v) in fields {
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if matches!(
            k.as_str(),
            "input" | "output" | "cause" | "parameters" | "result"
        ) {
            summary.push(k.as_str());
            let _ = write!(
                body,
                "<div><strong>{}</strong><pre>{}</pre></div>",
                escape(k),
                escape(&pretty(&text))
            );
        } else if !k.ends_with("Details") {
            let _ = write!(
                body,
                "<div><strong>{}</strong> <code>{}</code></div>",
                escape(k),
                escape(&text)
            );
        }
    }
    if summary.is_empty() {
        return body;
    }
    format!(
        "<details><summary>{}</summary>{body}</details>",
        escape(&summary.join(", "))
    )
}

fn not_found(what: &str) -> Response<String> {
    page(
        StatusCode::NOT_FOUND,
        "Not found",
        &format!(
            "<p>{}</p><p><a href=\"{PREFIX}\">All executions</a></p>",
            escape(what)
        ),
    )
}

#[cfg(test)]
mod tests;
