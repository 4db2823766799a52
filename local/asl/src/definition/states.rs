//! Each kind of state parsed and checked: Task, Parallel, Map, Choice, Wait, Pass, Succeed,
//! Fail, in either query language.

use super::*;

pub(super) fn parse_state(
    name: &str,
    v: &Value,
    loc: &str,
    cx: &mut ParseContext,
) -> Option<State> {
    let Some(obj) = v.as_object() else {
        cx.schema(loc, "A state must be a JSON object");
        return None;
    };
    let Some(t) = obj.get("Type").and_then(Value::as_str) else {
        cx.schema(format!("{loc}/Type"), "The field 'Type' is required");
        return None;
    };
    let allowed = allowed_fields(t);
    if allowed.is_empty() {
        cx.schema(format!("{loc}/Type"), format!("Unknown state type '{t}'"));
        return None;
    }
    let jsonata = check_query_language(obj, loc, cx).unwrap_or(cx.jsonata);
    let jsonata_extra: &[&str] = match t {
        "Task" | "Parallel" => &["Arguments", "Output"],
        "Map" => &["Output", "Items"],
        "Fail" => &[],
        _ => &["Output"],
    };
    for k in obj.keys() {
        let k = k.as_str();
        if COMMON.contains(&k) {
            continue;
        }
        if jsonata {
            if JSONPATH_ONLY.contains(&k) && allowed.contains(&k) {
                cx.schema(
                    format!("{loc}/{}", esc(k)),
                    format!("The field '{k}' is not supported with QueryLanguage JSONata"),
                );
            } else if !allowed.contains(&k) && !jsonata_extra.contains(&k) {
                cx.schema(
                    format!("{loc}/{}", esc(k)),
                    format!("The field '{k}' is not supported by a {t} state"),
                );
            }
        } else if !allowed.contains(&k) {
            let msg = if ["Arguments", "Output", "Items"].contains(&k) {
                format!("The field '{k}' is only supported with QueryLanguage JSONata")
            } else {
                format!("The field '{k}' is not supported by a {t} state")
            };
            cx.schema(format!("{loc}/{}", esc(k)), msg);
        }
    }

    // Transitions.
    let terminal_kind = matches!(t, "Choice" | "Succeed" | "Fail");
    let next = obj.get("Next");
    let end = obj.get("End");
    let next = if terminal_kind {
        None
    } else {
        match (next, end) {
            (Some(_), Some(Value::Bool(true))) => {
                cx.schema(loc, "A state cannot have both 'Next' and 'End': true");
                None
            }
            (Some(Value::String(n)), _) => Some(n.clone()),
            (Some(_), _) => {
                cx.schema(format!("{loc}/Next"), "'Next' must be a string");
                None
            }
            (None, Some(Value::Bool(true))) => None,
            (None, Some(_)) => {
                cx.schema(
                    format!("{loc}/End"),
                    "'End' must be true when there is no 'Next'",
                );
                None
            }
            (None, None) => {
                cx.schema(
                    loc,
                    "A non-terminal state must have a 'Next' field or 'End': true",
                );
                None
            }
        }
    };
    if jsonata {
        return parse_jsonata_state(name, t, obj, loc, next, cx);
    }
    let input_path = path_field(obj, "InputPath", loc, cx);
    let output_path = path_field(obj, "OutputPath", loc, cx);
    let result_path = path_field(obj, "ResultPath", loc, cx);
    if let PathField::Path(p) = &result_path {
        if !p.definite || p.root != crate::path::Root::Input {
            cx.schema(
                format!("{loc}/ResultPath"),
                "ResultPath must be a reference path (no wildcards, filters, '$$' or variables)",
            );
        }
    }
    let parameters = if t == "Map" {
        None
    } else {
        template_field(obj, "Parameters", loc, cx)
    };
    let result_selector = template_field(obj, "ResultSelector", loc, cx);
    let (retry, catch) = retry_and_catch(obj, loc, false, cx);
    let assign = template_field(obj, "Assign", loc, cx);

    let kind = match t {
        "Pass" => Kind::Pass {
            result: obj.get("Result").cloned(),
        },
        "Succeed" => Kind::Succeed,
        "Fail" => Kind::Fail {
            error: string_or_dynamic(obj, "Error", loc, cx),
            cause: string_or_dynamic(obj, "Cause", loc, cx),
        },
        "Task" => {
            let resource = match obj.get("Resource").and_then(Value::as_str) {
                Some(r) if r.starts_with("arn:") => r.to_string(),
                Some(r) => {
                    cx.schema(
                        format!("{loc}/Resource"),
                        format!("Resource '{r}' is not a valid ARN"),
                    );
                    r.to_string()
                }
                None => {
                    cx.schema(
                        format!("{loc}/Resource"),
                        "A Task state must have a 'Resource' string",
                    );
                    String::new()
                }
            };
            let timeout = num_or_path(obj, "TimeoutSeconds", loc, cx, 1);
            let heartbeat = num_or_path(obj, "HeartbeatSeconds", loc, cx, 1);
            task_kind(resource, timeout, heartbeat, loc, cx)
        }
        "Choice" => choice_kind(obj, loc, cx, jsonpath_choice_rule),
        "Wait" => wait_kind(
            obj,
            loc,
            &["Seconds", "Timestamp", "SecondsPath", "TimestampPath"],
            "A Wait state must have exactly one of 'Seconds', 'Timestamp', 'SecondsPath' or 'TimestampPath'",
            cx,
            |k, v, _| match k {
                "Seconds" => v.as_u64().map(WaitFor::Seconds),
                "Timestamp" => v.as_str().and_then(parse_timestamp).map(WaitFor::Timestamp),
                "SecondsPath" => v
                    .as_str()
                    .and_then(|s| Path::parse(s).ok())
                    .map(WaitFor::SecondsPath),
                _ => v
                    .as_str()
                    .and_then(|s| Path::parse(s).ok())
                    .map(WaitFor::TimestampPath),
            },
        )?,
        "Parallel" => parallel_kind(obj, loc, cx),
        "Map" => {
            let (proc_key, proc) = match (obj.get("ItemProcessor"), obj.get("Iterator")) {
                (Some(_), Some(_)) => {
                    cx.schema(
                        loc,
                        "The fields 'ItemProcessor' and 'Iterator' cannot be used together",
                    );
                    return None;
                }
                (Some(p), None) => ("ItemProcessor", p),
                (None, Some(p)) => ("Iterator", p),
                (None, None) => {
                    cx.schema(
                        loc,
                        "A Map state must have an 'ItemProcessor' (or 'Iterator') field",
                    );
                    return None;
                }
            };
            let ploc = format!("{loc}/{proc_key}");
            let processor = parse_machine(proc, &ploc, false, cx)?;
            crate::validate::check_graph(&processor, &ploc, &mut cx.diags);
            let item_selector = match (obj.get("ItemSelector"), obj.get("Parameters")) {
                (Some(_), Some(_)) => {
                    cx.schema(
                        loc,
                        "The fields 'ItemSelector' and 'Parameters' cannot be used together",
                    );
                    None
                }
                (Some(_), None) => template_field(obj, "ItemSelector", loc, cx),
                (None, Some(_)) => template_field(obj, "Parameters", loc, cx),
                (None, None) => None,
            };
            unsupported_map_fields(obj, loc, cx);
            let max_concurrency = num_or_path(obj, "MaxConcurrency", loc, cx, 0);
            let tfc_path = obj
                .get("ToleratedFailureCountPath")
                .and_then(Value::as_str)
                .and_then(|s| Path::parse(s).ok());
            let tfp_path = obj
                .get("ToleratedFailurePercentagePath")
                .and_then(Value::as_str)
                .and_then(|s| Path::parse(s).ok());
            Kind::Map(Box::new(MapSpec {
                items_path: path_field(obj, "ItemsPath", loc, cx),
                item_selector,
                max_concurrency,
                processor: Arc::new(processor),
                tolerated_failure_count: obj.get("ToleratedFailureCount").cloned(),
                tolerated_failure_count_path: tfc_path,
                tolerated_failure_percentage: obj.get("ToleratedFailurePercentage").cloned(),
                tolerated_failure_percentage_path: tfp_path,
                items: None,
                jsonata_item_selector: None,
            }))
        }
        _ => return None,
    };
    Some(State {
        name: name.to_string(),
        kind,
        next,
        input_path,
        output_path,
        result_path,
        parameters,
        result_selector,
        retry,
        catch,
        assign,
        jsonata: None,
    })
}

/// A Task state's spec once its fields are read; a heartbeat must be shorter than the timeout.
pub(super) fn task_kind(
    resource: String,
    timeout: Option<NumberOrPath>,
    heartbeat: Option<NumberOrPath>,
    loc: &str,
    cx: &mut ParseContext,
) -> Kind {
    if let (Some(NumberOrPath::Value(t)), Some(NumberOrPath::Value(h))) = (&timeout, &heartbeat) {
        if h >= t {
            cx.schema(
                format!("{loc}/HeartbeatSeconds"),
                "HeartbeatSeconds must be smaller than TimeoutSeconds",
            );
        }
    }
    Kind::Task(TaskSpec {
        wait_for_token: resource.ends_with(".waitForTaskToken"),
        resource,
        timeout,
        heartbeat,
    })
}

/// A Parallel state's branches (the same in both query languages).
pub(super) fn parallel_kind(obj: &Map<String, Value>, loc: &str, cx: &mut ParseContext) -> Kind {
    let mut branches = Vec::new();
    match obj.get("Branches").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => {
            for (i, b) in a.iter().enumerate() {
                let bloc = format!("{loc}/Branches/{i}");
                if let Some(m) = parse_machine(b, &bloc, false, cx) {
                    crate::validate::check_graph(&m, &bloc, &mut cx.diags);
                    branches.push(Arc::new(m));
                }
            }
        }
        _ => cx.schema(
            format!("{loc}/Branches"),
            "Branches must be a non-empty array",
        ),
    }
    Kind::Parallel { branches }
}

/// A Choice state: `rule` reads one rule of `Choices` in the state's query language and
/// gives `None` to skip it (already reported), else the rule without its `next` (`None`
/// when it did not parse); the `Next` of each rule and the `Default` are read here.
pub(super) fn choice_kind(
    obj: &Map<String, Value>,
    loc: &str,
    cx: &mut ParseContext,
    rule: fn(&Value, &str, &mut ParseContext) -> Option<Option<ChoiceRule>>,
) -> Kind {
    let mut rules = Vec::new();
    match obj.get("Choices").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => {
            for (i, r) in a.iter().enumerate() {
                let rloc = format!("{loc}/Choices/{i}");
                let Some(parsed) = rule(r, &rloc, cx) else {
                    continue;
                };
                match (parsed, r.get("Next").and_then(Value::as_str)) {
                    (Some(c), Some(n)) => rules.push(ChoiceRule {
                        next: n.to_string(),
                        ..c
                    }),
                    (_, None) => cx.schema(
                        format!("{rloc}/Next"),
                        "A choice rule must have a 'Next' field",
                    ),
                    _ => {}
                }
            }
        }
        _ => cx.schema(
            format!("{loc}/Choices"),
            "Choices must be a non-empty array",
        ),
    }
    let default = match obj.get("Default") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            cx.schema(format!("{loc}/Default"), "Default must be a string");
            None
        }
    };
    Kind::Choice { rules, default }
}

/// One JSONPath choice rule (see [`choice_kind`]).
pub(super) fn jsonpath_choice_rule(
    r: &Value,
    rloc: &str,
    cx: &mut ParseContext,
) -> Option<Option<ChoiceRule>> {
    let mut errs = Vec::new();
    let mut rule_obj = r.clone();
    let mut rule_assign = None;
    if let Some(m) = rule_obj.as_object_mut() {
        m.remove("Next");
        m.remove("Comment");
        if let Some(a) = m.remove("Assign") {
            match Template::compile(&a) {
                Ok(t) => rule_assign = Some(t),
                Err(e) => cx.schema(format!("{rloc}/Assign{}", e.location), e.message),
            }
        }
    }
    let cond = parse_condition(&rule_obj, rloc, &mut errs);
    for (l, m) in errs {
        cx.schema(l, m);
    }
    Some(cond.map(|condition| ChoiceRule {
        condition,
        next: String::new(),
        assign: rule_assign,
        jsonata: None,
    }))
}

/// One JSONata choice rule (see [`choice_kind`]).
pub(super) fn jsonata_choice_rule(
    r: &Value,
    rloc: &str,
    cx: &mut ParseContext,
) -> Option<Option<ChoiceRule>> {
    let Some(ro) = r.as_object() else {
        cx.schema(rloc, "A choice rule must be an object");
        return None;
    };
    for k in ro.keys() {
        if !["Condition", "Next", "Assign", "Output", "Comment"].contains(&k.as_str()) {
            cx.schema(
                format!("{rloc}/{}", esc(k)),
                format!("The field '{k}' is not supported in a JSONata choice rule"),
            );
        }
    }
    let condition = match ro.get("Condition") {
        Some(v @ Value::Bool(_)) => Some(JsonataTemplate::Literal(v.clone())),
        Some(v) if is_expression(v) => {
            compile_jsonata_template(v, &format!("{rloc}/Condition"), cx)
        }
        Some(_) => {
            cx.schema(
                format!("{rloc}/Condition"),
                "Condition must be a boolean or a JSONata expression",
            );
            None
        }
        None => {
            cx.schema(
                format!("{rloc}/Condition"),
                "A JSONata choice rule must have a 'Condition' field",
            );
            None
        }
    };
    let assign = jsonata_template_field(ro, "Assign", rloc, cx);
    let output = jsonata_template_field(ro, "Output", rloc, cx);
    Some(condition.map(|c| ChoiceRule {
        condition: crate::choice::Condition::And(Vec::new()),
        next: String::new(),
        assign: None,
        jsonata: Some(JsonataRule {
            condition: c,
            assign,
            output,
        }),
    }))
}

/// A Wait state: exactly one of `keys` must be present (else `missing` is reported);
/// `read` turns that field's value into what to wait for, `None` when it is invalid.
pub(super) fn wait_kind(
    obj: &Map<String, Value>,
    loc: &str,
    keys: &[&str],
    missing: &str,
    cx: &mut ParseContext,
    read: impl FnOnce(&str, &Value, &mut ParseContext) -> Option<WaitFor>,
) -> Option<Kind> {
    let present: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| obj.contains_key(*k))
        .collect();
    if present.len() != 1 {
        cx.schema(loc, missing);
        return None;
    }
    let k = present[0];
    match read(k, &obj[k], cx) {
        Some(w) => Some(Kind::Wait(w)),
        None => {
            cx.schema(format!("{loc}/{k}"), format!("Invalid value for '{k}'"));
            None
        }
    }
}

/// Reports the distributed-map fields this interpreter does not run.
pub(super) fn unsupported_map_fields(obj: &Map<String, Value>, loc: &str, cx: &mut ParseContext) {
    for k in ["ItemReader", "ResultWriter", "ItemBatcher"] {
        if obj.contains_key(k) {
            cx.err(
                DiagnosticCode::UnsupportedFeature,
                format!("{loc}/{k}"),
                format!("'{k}' is not supported by this interpreter"),
            );
        }
    }
}

/// Parses a state that uses JSONata (the common fields are already checked).
pub(super) fn parse_jsonata_state(
    name: &str,
    t: &str,
    obj: &Map<String, Value>,
    loc: &str,
    next: Option<String>,
    cx: &mut ParseContext,
) -> Option<State> {
    let fields = JsonataFields {
        arguments: jsonata_template_field(obj, "Arguments", loc, cx),
        output: jsonata_template_field(obj, "Output", loc, cx),
        assign: jsonata_template_field(obj, "Assign", loc, cx),
    };
    let (retry, catch) = retry_and_catch(obj, loc, true, cx);
    let kind = match t {
        "Pass" => Kind::Pass { result: None },
        "Succeed" => Kind::Succeed,
        "Fail" => Kind::Fail {
            error: jsonata_string(obj, "Error", loc, cx),
            cause: jsonata_string(obj, "Cause", loc, cx),
        },
        "Task" => {
            let resource = match obj.get("Resource").and_then(Value::as_str) {
                Some(r) if r.starts_with("arn:") => r.to_string(),
                _ => {
                    cx.schema(
                        format!("{loc}/Resource"),
                        "A Task state must have a 'Resource' ARN",
                    );
                    String::new()
                }
            };
            let timeout = jsonata_number(obj, "TimeoutSeconds", loc, cx, 1);
            let heartbeat = jsonata_number(obj, "HeartbeatSeconds", loc, cx, 1);
            task_kind(resource, timeout, heartbeat, loc, cx)
        }
        "Choice" => choice_kind(obj, loc, cx, jsonata_choice_rule),
        "Wait" => wait_kind(
            obj,
            loc,
            &["Seconds", "Timestamp"],
            "A Wait state must have exactly one of 'Seconds' or 'Timestamp'",
            cx,
            |k, v, cx| {
                if is_expression(v) {
                    compile_jsonata_template(v, &format!("{loc}/{k}"), cx).map(|j| {
                        if k == "Seconds" {
                            WaitFor::SecondsExpr(j)
                        } else {
                            WaitFor::TimestampExpr(j)
                        }
                    })
                } else if k == "Seconds" {
                    v.as_u64().map(WaitFor::Seconds)
                } else {
                    v.as_str().and_then(parse_timestamp).map(WaitFor::Timestamp)
                }
            },
        )?,
        "Parallel" => parallel_kind(obj, loc, cx),
        "Map" => {
            let Some(proc) = obj.get("ItemProcessor") else {
                cx.schema(loc, "A Map state must have an 'ItemProcessor' field");
                return None;
            };
            let ploc = format!("{loc}/ItemProcessor");
            let processor = parse_machine(proc, &ploc, false, cx)?;
            crate::validate::check_graph(&processor, &ploc, &mut cx.diags);
            unsupported_map_fields(obj, loc, cx);
            let items = match obj.get("Items") {
                None => None,
                Some(v) if v.is_array() || is_expression(v) => {
                    compile_jsonata_template(v, &format!("{loc}/Items"), cx)
                }
                Some(_) => {
                    cx.schema(
                        format!("{loc}/Items"),
                        "Items must be an array or a JSONata expression",
                    );
                    None
                }
            };
            let tolerated = |key: &str, cx: &mut ParseContext| -> Option<Value> {
                let v = obj.get(key)?;
                if is_expression(v) || v.is_number() {
                    Some(v.clone())
                } else {
                    cx.schema(
                        format!("{loc}/{key}"),
                        format!("'{key}' must be a number or a JSONata expression"),
                    );
                    None
                }
            };
            let tfc = tolerated("ToleratedFailureCount", cx);
            let tfp = tolerated("ToleratedFailurePercentage", cx);
            Kind::Map(Box::new(MapSpec {
                items_path: PathField::Default,
                item_selector: None,
                max_concurrency: jsonata_number(obj, "MaxConcurrency", loc, cx, 0),
                processor: Arc::new(processor),
                tolerated_failure_count: tfc,
                tolerated_failure_count_path: None,
                tolerated_failure_percentage: tfp,
                tolerated_failure_percentage_path: None,
                items,
                jsonata_item_selector: jsonata_template_field(obj, "ItemSelector", loc, cx),
            }))
        }
        _ => return None,
    };
    Some(State {
        name: name.to_string(),
        kind,
        next,
        input_path: PathField::Default,
        output_path: PathField::Default,
        result_path: PathField::Default,
        parameters: None,
        result_selector: None,
        retry,
        catch,
        assign: None,
        jsonata: Some(Box::new(fields)),
    })
}
