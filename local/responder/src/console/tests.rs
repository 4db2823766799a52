//! The console against the real engine with a scripted task handler: graphs drawn from
//! definitions, the path an execution took, and the pages' headers and escaping.

use std::sync::Arc;
use std::time::Duration;

use asl::{Engine, EngineConfig, TaskContext, TaskFailure, TaskHandler};
use async_trait::async_trait;
use serde_json::{json, Value};

use super::graph::{EdgeKind, Graph, NodeKind};
use super::path::{Mark, Path};
use super::*;

/// Fails the resources named `fail*` (every attempt), and `flaky*` at the first attempt.
struct Script;

#[async_trait]
impl TaskHandler for Script {
    async fn invoke(
        &self,
        resource: &str,
        input: Value,
        ctx: TaskContext,
    ) -> Result<Value, TaskFailure> {
        let name = resource.rsplit(':').next().unwrap_or("");
        if name.starts_with("fail") {
            return Err(TaskFailure::new("Remediation.Failed", "it broke"));
        }
        if name.starts_with("flaky") && ctx.retry_count == 0 {
            return Err(TaskFailure::new(
                "Lambda.TooManyRequestsException",
                "slow down",
            ));
        }
        Ok(input)
    }
}

const FN: &str = "arn:aws:lambda:us-east-1:123456789012:function:";

/// A machine with a Choice, a Parallel of two branches (one retried), a caught failure, a
/// Map and an uncaught failure path.
fn definition() -> String {
    json!({
        "StartAt": "Route",
        "States": {
            "Route": {"Type": "Choice", "Choices": [
                {"Variable": "$.path", "StringEquals": "fail", "Next": "Doomed"}
            ], "Default": "Contain"},
            "Contain": {"Type": "Parallel", "Next": "Each", "Branches": [
                {"StartAt": "Isolate", "States": {"Isolate": {"Type": "Task", "Resource": format!("{FN}flaky-isolate"), "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2}], "End": true}}},
                {"StartAt": "Snapshot", "States": {"Snapshot": {"Type": "Task", "Resource": format!("{FN}fail-snapshot"), "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "NoEvidence"}], "End": true},
                                                   "NoEvidence": {"Type": "Pass", "End": true}}}
            ]},
            "Each": {"Type": "Map", "ItemsPath": "$[0].items", "Next": "Done", "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Tag", "States": {"Tag": {"Type": "Task", "Resource": format!("{FN}tag"), "End": true}}}},
            "Done": {"Type": "Succeed"},
            "Doomed": {"Type": "Task", "Resource": format!("{FN}fail-hard"), "Next": "Done"}
        }
    })
    .to_string()
}

async fn run(input: Value) -> (Engine, String) {
    run_definition("console-test", &definition(), input).await
}

fn path_of(engine: &Engine, arn: &str) -> Path {
    let events = crate::pipeline::history_on(engine, arn).expect("a history");
    Path::of(&crate::history_view::reconstruct(&events))
}

/// The edges of `def`'s graph the path took: (from, to, kind), a Start or End node named "".
fn taken(def: &str, p: &Path) -> Vec<(String, String, EdgeKind)> {
    let g = Graph::from_definition(def).expect("drawable");
    (0..g.edges.len())
        .filter(|i| p.took(&g, *i))
        .map(|i| {
            let e = g.edges[i];
            (
                g.nodes[e.from].name.clone(),
                g.nodes[e.to].name.clone(),
                e.kind,
            )
        })
        .collect()
}

fn get(console: &Console, uri: &str) -> Response<String> {
    let req = http::Request::get(uri).body(()).expect("a request");
    console.handle(&req)
}

#[test]
fn the_graph_has_every_state_its_branches_and_every_transition() {
    let g = Graph::from_definition(&definition()).expect("drawable");
    let named = |join: bool| -> Vec<&str> {
        g.nodes
            .iter()
            .filter(|n| match n.kind {
                NodeKind::State(_) => !join,
                NodeKind::Join(_) => join,
                _ => false,
            })
            .map(|n| n.name.as_str())
            .collect()
    };
    let names = named(false);
    for s in [
        "Route",
        "Contain",
        "Isolate",
        "Snapshot",
        "NoEvidence",
        "Each",
        "Tag",
        "Done",
        "Doomed",
    ] {
        assert!(names.contains(&s), "{s} missing from {names:?}");
    }
    assert_eq!(named(true), ["Contain", "Each"]);
    let edge = |from: &str, to: &str, kind: EdgeKind| {
        g.edges.iter().any(|e| {
            let (a, b) = (&g.nodes[e.from], &g.nodes[e.to]);
            e.kind == kind && a.name == from && b.name == to
        })
    };
    assert!(edge("Route", "Doomed", EdgeKind::Next));
    assert!(edge("Route", "Contain", EdgeKind::Next));
    assert!(edge("Contain", "Isolate", EdgeKind::Branch));
    assert!(edge("Snapshot", "NoEvidence", EdgeKind::Catch));
    // Branch ends lead to the join node, and the join node leads on.
    let join_of = |name: &str| {
        g.nodes
            .iter()
            .position(|n| n.name == name && matches!(n.kind, NodeKind::Join(_)))
            .expect("as set up")
    };
    let isolate = g.nodes_of("Isolate").next().expect("as set up");
    assert!(g
        .edges
        .iter()
        .any(|e| e.from == isolate && e.to == join_of("Contain")));
    assert!(g
        .edges
        .iter()
        .any(|e| e.from == join_of("Contain") && g.nodes[e.to].name == "Each"));
    // Laid out inside the drawing, top to bottom.
    for n in &g.nodes {
        assert!(
            n.x - n.width() / 2.0 >= 0.0 && n.x + n.width() / 2.0 <= g.width,
            "{n:?}"
        );
        assert!(
            n.y - n.height() / 2.0 >= 0.0 && n.y + n.height() / 2.0 <= g.height,
            "{n:?}"
        );
    }
    let y = |name: &str| g.nodes[g.nodes_of(name).next().expect("as set up")].y;
    assert!(y("Route") < y("Contain") && y("Contain") < y("Isolate") && y("Isolate") < y("Each"));
}

#[test]
fn a_definition_naming_a_missing_state_is_refused_by_name() {
    let bad = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}).to_string();
    assert_eq!(
        Graph::from_definition(&bad),
        Err(super::graph::GraphError::UnknownState {
            from: "A".into(),
            to: "B".into()
        })
    );
    assert!(matches!(
        Graph::from_definition("{}"),
        Err(super::graph::GraphError::NotAStateMachine(_))
    ));
}

#[tokio::test]
async fn the_path_marks_retried_caught_and_succeeded_states() {
    let (engine, arn) = run(json!({"path": "ok", "items": [1, 2]})).await;
    let p = path_of(&engine, &arn);
    assert!(p.ended);
    assert_eq!(p.mark("Route"), Mark::Succeeded);
    assert_eq!(p.mark("Isolate"), Mark::Retried);
    assert_eq!(p.mark("Snapshot"), Mark::Caught);
    assert_eq!(p.mark("NoEvidence"), Mark::Succeeded);
    assert_eq!(p.mark("Tag"), Mark::Succeeded);
    assert_eq!(p.states["Tag"].visits, 2);
    assert_eq!(p.mark("Done"), Mark::Succeeded);
    assert_eq!(p.mark("Doomed"), Mark::NotEntered);
    let taken = taken(&definition(), &p);
    let has =
        |a: &str, b: &str, k: EdgeKind| taken.iter().any(|t| t.0 == a && t.1 == b && t.2 == k);
    assert!(has("", "Route", EdgeKind::Branch), "{taken:?}");
    assert!(has("Route", "Contain", EdgeKind::Next));
    assert!(has("Contain", "Isolate", EdgeKind::Branch));
    assert!(has("Snapshot", "NoEvidence", EdgeKind::Catch));
    assert!(has("Contain", "Each", EdgeKind::Next));
    assert!(has("Done", "", EdgeKind::Next));
    assert!(!has("Route", "Doomed", EdgeKind::Next));
    assert!(
        !has("Snapshot", "Contain", EdgeKind::Next),
        "a caught state did not end its branch"
    );
}

#[tokio::test]
async fn the_failed_state_of_a_failed_execution_is_marked_failed() {
    let (engine, arn) = run(json!({"path": "fail"})).await;
    let p = path_of(&engine, &arn);
    assert_eq!(p.mark("Doomed"), Mark::Failed);
    assert_eq!(p.mark("Contain"), Mark::NotEntered);
    assert_eq!(p.mark("Done"), Mark::NotEntered);
    let console = Console {
        engine: engine.clone(),
        tasks: None,
    };
    let page = get(
        &console,
        &format!("/console/execution?arn={}", urlencode(&arn)),
    );
    assert_eq!(page.status(), StatusCode::OK);
    let body = page.body();
    assert!(
        body.contains("data-state=\"Doomed\" data-status=\"failed\""),
        "{body}"
    );
    assert!(body.contains("data-state=\"Route\" data-status=\"succeeded\""));
    assert!(body.contains("data-state=\"Contain\" data-status=\"not-entered\""));
    assert!(body.contains("<tr data-type=\"LambdaFunctionFailed\" class=\"error\">"));
    assert!(body.contains("Remediation.Failed"));
    // Cut to the path: the states entered and those one transition away.
    let near = get(
        &console,
        &format!("/console/execution?arn={}&view=path", urlencode(&arn)),
    );
    let near = near.body();
    for kept in ["Route", "Doomed", "Contain", "Done"] {
        assert!(
            near.contains(&format!("data-state=\"{kept}\"")),
            "{kept}: {near}"
        );
    }
    for dropped in ["Isolate", "Snapshot", "Each", "Tag"] {
        assert!(
            !near.contains(&format!("data-state=\"{dropped}\"")),
            "{dropped}"
        );
    }
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn the_list_filters_by_status_and_machine_and_every_page_has_the_strict_headers() {
    let (engine, ok) = run(json!({"path": "ok", "items": [],
        "detail": {"id": "f-1", "type": "Backdoor:EC2/C&CActivity.B", "severity": 8}}))
    .await;
    let sm = engine
        .describe_execution(&ok)
        .expect("as set up")
        .state_machine_arn;
    let failed = engine
        .start_execution(
            &sm,
            Some("second"),
            &json!({"path": "fail"}).to_string(),
            Arc::new(Script),
        )
        .expect("as set up");
    for _ in 0..500 {
        if engine
            .describe_execution(&failed.execution_arn)
            .expect("as set up")
            .status
            != asl::ExecutionStatus::Running
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let console = Console {
        engine,
        tasks: None,
    };
    let all = get(&console, "/console");
    assert!(all.body().contains("2 execution(s)"), "{}", all.body());
    // The finding type is escaped.
    assert!(all.body().contains("Backdoor:EC2/C&amp;CActivity.B"));
    assert!(all.body().contains("<td class=\"num\">8.0</td>"));
    let failed_only = get(&console, "/console?status=FAILED&machine=console-test");
    assert!(failed_only.body().contains("1 execution(s)"));
    assert!(failed_only
        .body()
        .contains("data-execution=\"second\" data-status=\"FAILED\""));
    assert!(get(&console, "/console?machine=other")
        .body()
        .contains("0 execution(s)"));
    let findings = get(&console, "/console/findings");
    assert!(findings.body().contains("data-finding=\"f-1\""));
    for uri in [
        "/console".to_string(),
        "/console/findings".into(),
        format!("/console/execution?arn={}", urlencode(&ok)),
        format!("/console/state-machine?arn={}", urlencode(&sm)),
        "/console/execution?arn=nope".into(),
        "/console/nothing".into(),
    ] {
        let r = get(&console, &uri);
        for (name, value) in approval_callback::pages::SECURITY_HEADERS {
            assert_eq!(r.headers()[*name], *value, "{name} on {uri}");
        }
    }
    assert_eq!(
        get(&console, "/console/nothing").status(),
        StatusCode::NOT_FOUND
    );
    let post = http::Request::post("/console").body(()).expect("a request");
    assert_eq!(
        console.handle(&post).status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
    let head = http::Request::head("/console").body(()).expect("a request");
    assert!(console.handle(&head).body().is_empty());
}

#[tokio::test]
async fn every_value_from_an_execution_is_escaped() {
    let evil = "<img src=x onerror=alert(1)>";
    let def = json!({"StartAt": evil, "States": {evil: {"Type": "Pass", "End": true}}}).to_string();
    let input = json!({"detail": {"id": evil, "type": evil, "severity": 5}, "x": "</pre><script>"});
    let (engine, arn) = run_definition("evil", &def, input).await;
    let sm = engine
        .describe_execution(&arn)
        .expect("described")
        .state_machine_arn;
    let console = Console {
        engine,
        tasks: None,
    };
    for uri in [
        "/console".to_string(),
        "/console/findings".into(),
        format!("/console/execution?arn={}", urlencode(&arn)),
        format!("/console/state-machine?arn={}", urlencode(&sm)),
    ] {
        let body = get(&console, &uri).into_body();
        assert!(!body.contains("<img"), "{uri}: {body}");
        assert!(!body.contains("<script"), "{uri}: {body}");
    }
}

#[tokio::test]
async fn a_catch_to_the_next_state_is_told_apart_from_the_next() {
    let def = |resource: &str| {
        json!({"StartAt": "Try", "States": {
            "Try": {"Type": "Task", "Resource": format!("{FN}{resource}"), "Next": "After",
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "After"}]},
            "After": {"Type": "Succeed"}
        }})
        .to_string()
    };
    for (resource, caught) in [("fail-try", true), ("ok-try", false)] {
        let (engine, arn) = run_definition("catch", &def(resource), json!({})).await;
        let p = path_of(&engine, &arn);
        let g = Graph::from_definition(&def(resource)).expect("drawable");
        let taken: Vec<EdgeKind> = (0..g.edges.len())
            .filter(|i| p.took(&g, *i) && g.nodes[g.edges[*i].from].name == "Try")
            .map(|i| g.edges[i].kind)
            .collect();
        let want = if caught {
            EdgeKind::Catch
        } else {
            EdgeKind::Next
        };
        assert_eq!(taken, [want], "{resource}");
        assert_eq!(
            p.mark("Try"),
            if caught {
                Mark::Caught
            } else {
                Mark::Succeeded
            }
        );
    }
}

/// Registers `def` as `name` and starts it with `input`, without waiting.
fn start(name: &str, def: &str, input: Value) -> (Engine, String) {
    let engine = Engine::new(EngineConfig::default());
    let sm = engine
        .create_state_machine(name, def, "arn:aws:iam::123456789012:role/r")
        .expect("a valid definition");
    let started = engine
        .start_execution(
            &sm.state_machine_arn,
            None,
            &input.to_string(),
            Arc::new(Script),
        )
        .expect("started");
    (engine, started.execution_arn)
}

async fn run_definition(name: &str, def: &str, input: Value) -> (Engine, String) {
    let (engine, arn) = start(name, def, input);
    for _ in 0..500 {
        let d = engine.describe_execution(&arn).expect("described");
        if d.status != asl::ExecutionStatus::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (engine, arn)
}

#[tokio::test]
async fn a_caught_parallel_is_marked_caught_its_failed_branch_failed_and_the_other_cancelled_or_done(
) {
    let def = json!({"StartAt": "Both", "States": {
        "Both": {"Type": "Parallel", "Next": "Fine", "Branches": [
            {"StartAt": "Breaks", "States": {"Breaks": {"Type": "Task", "Resource": format!("{FN}fail-b"), "End": true}}},
            {"StartAt": "Works", "States": {"Works": {"Type": "Pass", "End": true}}}
        ], "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}]},
        "Fine": {"Type": "Succeed"},
        "Handled": {"Type": "Succeed"}
    }})
    .to_string();
    let (engine, arn) = run_definition("adhoc", &def, json!({})).await;
    let p = path_of(&engine, &arn);
    assert_eq!(p.mark("Both"), Mark::Caught);
    assert_eq!(p.mark("Breaks"), Mark::Failed);
    assert!(matches!(p.mark("Works"), Mark::Succeeded | Mark::Cancelled));
    assert_eq!(p.mark("Handled"), Mark::Succeeded);
    assert_eq!(p.mark("Fine"), Mark::NotEntered);
    let taken = taken(&def, &p);
    assert!(
        taken.contains(&("Both".into(), "Handled".into(), EdgeKind::Catch)),
        "{taken:?}"
    );
    assert!(
        taken.contains(&("Both".into(), "Breaks".into(), EdgeKind::Branch)),
        "{taken:?}"
    );
    assert!(!taken.iter().any(|t| t.1 == "Fine"), "{taken:?}");
}

#[tokio::test]
async fn a_failed_execution_ends_at_a_failed_end_and_the_fail_state_is_marked() {
    let def = json!({"StartAt": "Stop", "States": {"Stop": {"Type": "Fail", "Error": "Finding.Invalid"}}})
        .to_string();
    let (engine, arn) = run_definition("adhoc", &def, json!({})).await;
    let p = path_of(&engine, &arn);
    assert_eq!(p.mark("Stop"), Mark::Failed);
    let g = Graph::from_definition(&def).expect("drawable");
    let drawn = svg::render(&g, Some(&p));
    assert!(
        drawn.contains("<g class=\"node terminal failed\">"),
        "{drawn}"
    );
}

#[test]
fn a_state_that_leads_to_itself_is_drawn_as_a_loop() {
    let def = json!({"StartAt": "Poll", "States": {
        "Poll": {"Type": "Choice", "Choices": [{"Variable": "$.done", "BooleanEquals": true, "Next": "Done"}], "Default": "Wait"},
        "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Wait"},
        "Done": {"Type": "Succeed"}
    }})
    .to_string();
    let g = Graph::from_definition(&def).expect("a self-loop is drawable");
    let wait = g.nodes_of("Wait").next().expect("Wait");
    assert!(g.edges.iter().any(|e| e.from == wait && e.to == wait));
    assert!(svg::render(&g, None).contains("data-from=\"Wait\" data-to=\"Wait\""));
}

#[tokio::test]
async fn no_page_shows_a_task_token_and_only_loopback_hosts_are_answered() {
    let def = json!({"StartAt": "Ask", "States": {"Ask": {"Type": "Pass",
        "Parameters": {"taskToken": "AQCEAAAAKgAAAAMAAAAAAAAAAsecret", "nested": [{"TaskToken": "AQsecret2"}]},
        "End": true}}})
    .to_string();
    let (engine, arn) = run_definition("tokens", &def, json!({})).await;
    let console = Console {
        engine,
        tasks: None,
    };
    let uri = format!("/console/execution?arn={}", urlencode(&arn));
    let body = get(&console, &uri).into_body();
    assert!(body.contains("(task token, not shown)"), "{body}");
    assert!(!body.contains("secret"), "{body}");
    for (host, status) in [
        ("127.0.0.1:8083", StatusCode::OK),
        ("localhost:8083", StatusCode::OK),
        ("[::1]:8083", StatusCode::OK),
        ("attacker.example:8083", StatusCode::FORBIDDEN),
        ("127.0.0.1.attacker.example", StatusCode::FORBIDDEN),
    ] {
        let req = http::Request::get(&uri)
            .header(http::header::HOST, host)
            .body(())
            .expect("a request");
        assert_eq!(console.handle(&req).status(), status, "{host}");
    }
}

#[tokio::test]
async fn a_running_execution_s_page_reloads_itself_and_a_finished_one_does_not() {
    let def = json!({"StartAt": "Wait", "States": {"Wait": {"Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "ask", "Payload": {"token.$": "$$.Task.Token"}},
        "End": true}}})
    .to_string();
    let (engine, arn) = start("waits", &def, json!({}));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let console = Console {
        engine: engine.clone(),
        tasks: None,
    };
    let uri = format!("/console/execution?arn={}", urlencode(&arn));
    let body = get(&console, &uri).into_body();
    assert!(
        body.contains("<meta http-equiv=\"refresh\" content=\"2\">"),
        "{body}"
    );
    assert!(body.contains("data-state=\"Wait\" data-status=\"in-progress\""));
    engine.stop_execution(&arn, None, None).expect("stopped");
    let body = get(&console, &uri).into_body();
    assert!(!body.contains("http-equiv"), "{body}");
    assert!(
        body.contains("data-state=\"Wait\" data-status=\"cancelled\""),
        "{body}"
    );
}
