//! The control API, on the proxy's own listener under `/__faults/` (no AWS call uses that
//! path: the query and JSON protocols post to `/`).
//!
//! | request | answer |
//! |---|---|
//! | `GET /__faults/counts` | the counts as JSON |
//! | `GET /__faults/report` | the counts as a text table |
//! | `GET /__faults/journal` | every call kept, in order (when the journal is kept) |
//! | `GET /__faults/rules` | every rule with how often it matched and fired |
//! | `POST /__faults/rules` | adds a rule (a JSON object with the scenario's rule fields) or several (an array) |
//! | `POST /__faults/keys` | `{"access_key_id": "...", "task": "..."}`: calls signed with that key are the task's |
//! | `POST /__faults/reset` | forgets counts, rules added at run time and open windows |

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode};
use http_body_util::Full;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::engine::Engine;
use crate::scenario::Rule;

/// The path prefix of the control API.
pub const PREFIX: &str = "/__faults/";

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    response
}

fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    respond(status, "application/json", body.to_string())
}

fn bad_request(message: impl std::fmt::Display) -> Response<Full<Bytes>> {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({ "error": message.to_string() }),
    )
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(Box<Rule>),
    Many(Vec<Rule>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedKey {
    access_key_id: String,
    task: String,
}

/// Answers one control request.
pub fn handle(engine: &Engine, method: &Method, path: &str, body: &Bytes) -> Response<Full<Bytes>> {
    let route = path.trim_start_matches(PREFIX).trim_end_matches('/');
    match (method, route) {
        (&Method::GET, "counts") => match serde_json::to_value(engine.counts()) {
            Ok(v) => json_response(StatusCode::OK, &v),
            Err(e) => bad_request(e),
        },
        (&Method::GET, "journal") => match serde_json::to_value(engine.journal()) {
            Ok(v) => json_response(StatusCode::OK, &v),
            Err(e) => bad_request(e),
        },
        (&Method::GET, "report") => respond(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            engine.counts().render(),
        ),
        (&Method::GET, "rules") => {
            let rules: Vec<Value> = engine
                .rules()
                .into_iter()
                .map(|r| {
                    json!({
                        "rule": r.rule,
                        "description": r.rule.describe(),
                        "matched": r.matched,
                        "fired": r.fired,
                    })
                })
                .collect();
            json_response(StatusCode::OK, &Value::Array(rules))
        }
        (&Method::POST, "rules") => {
            let rules = match serde_json::from_slice::<OneOrMany>(body) {
                Ok(OneOrMany::One(rule)) => vec![*rule],
                Ok(OneOrMany::Many(rules)) => rules,
                Err(e) => return bad_request(format!("not a rule or a list of rules: {e}")),
            };
            // All or nothing: a list with one invalid rule adds none.
            if let Some(e) = rules.iter().find_map(|r| r.validate().err()) {
                return bad_request(e);
            }
            let added = rules.len();
            for rule in rules {
                if let Err(e) = engine.add_rule(rule) {
                    return bad_request(e);
                }
            }
            json_response(StatusCode::OK, &json!({ "added": added }))
        }
        (&Method::POST, "keys") => match serde_json::from_slice::<NamedKey>(body) {
            Ok(k) => {
                engine.name_key(&k.access_key_id, &k.task);
                json_response(StatusCode::OK, &json!({ "named": k.access_key_id }))
            }
            Err(e) => bad_request(e),
        },
        (&Method::POST, "reset") => {
            engine.reset();
            json_response(StatusCode::OK, &json!({ "reset": true }))
        }
        (_, "counts" | "journal" | "report" | "rules" | "keys" | "reset") => json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({ "error": "method not allowed" }),
        ),
        _ => json_response(StatusCode::NOT_FOUND, &json!({ "error": "unknown path" })),
    }
}
