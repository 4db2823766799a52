//! Map states: the items, `MaxConcurrency`, tolerated failures, and the iterations.

use super::*;

pub(super) fn parse_count(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// What a Map limit must be.
#[derive(Clone, Copy)]
pub(super) enum Limit {
    /// A non-negative integer (`MaxConcurrency`, `ToleratedFailureCount`).
    Count,
    /// A number from 0 to 100 (`ToleratedFailurePercentage`).
    Percentage,
}

/// A Map limit's value as given by its path (or, for the tolerances, its JSONata field), or
/// the runtime error AWS gives for it.
pub(super) fn limit(
    state_ctx: &StateContext,
    field: &str,
    v: &Value,
    path: Option<&Path>,
    kind: Limit,
) -> Result<f64, Failure> {
    let path = path.map(|p| p.text.as_str()).unwrap_or("");
    let not_valid = |what: &str| {
        runtime(
            state_ctx,
            format!(
                "The {field}Path field refers to value \"{}\" which is not a valid {what}: {path}",
                value_text(v)
            ),
        )
    };
    match kind {
        Limit::Count => match parse_count(v) {
            Some(n) if n >= 0 => Ok(n as f64),
            Some(_) => Err(runtime(state_ctx, format!("{field} cannot be negative."))),
            None => Err(not_valid("integer")),
        },
        Limit::Percentage => match parse_float(v) {
            Some(f) if (0.0..=100.0).contains(&f) => Ok(f),
            Some(_) => Err(runtime(
                state_ctx,
                format!("{field} must be between 0 and 100."),
            )),
            None => Err(not_valid("float")),
        },
    }
}

/// Where a tolerance comes from: its JSONata field (evaluated) or its path (resolved), with
/// the path for the error naming it.
pub(super) fn tolerance_source<'p>(
    view: StateView<'_>,
    field: &str,
    value: Option<&Value>,
    path: Option<&'p Path>,
    effective: &Value,
) -> Result<Option<(Value, Option<&'p Path>)>, Failure> {
    Ok(match (value, path) {
        (Some(v), _) => Some((view.jsonata_number(v, field, effective)?, None)),
        (None, Some(p)) => Some((view.resolve(p, effective)?, Some(p))),
        (None, None) => None,
    })
}

pub(super) fn parse_float(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(super) async fn map_attempt(
    run: &Arc<Run>,
    st: &State,
    spec: &MapSpec,
    effective: Value,
    branch: &mut Branch,
    state_ctx: &mut StateContext,
) -> Result<Value, Failure> {
    let view = StateView::of(run, branch, state_ctx);
    let items_val = if st.jsonata.is_some() {
        let v = match &spec.items {
            Some(j) => {
                let v = view.jsonata(j, "Items", &effective, None)?;
                if !v.is_array() {
                    let text = match j {
                        JsonataTemplate::Expr(e) => e.text().to_string(),
                        _ => String::new(),
                    };
                    return Err(jsonata_failure(
                        state_ctx,
                        format!(
                            "The JSONata expression '{text}' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '{}' for value: {}",
                            json_type(&v),
                            to_json(&v)
                        ),
                    ));
                }
                v
            }
            None => effective.clone(),
        };
        if !v.is_array() {
            return Err(jsonata_failure(
                state_ctx,
                format!("Map state input must be an array but was: {}", to_json(&v)),
            ));
        }
        v
    } else {
        match &spec.items_path {
            PathField::Path(p) if !p.is_root() => view.resolve(p, &effective)?,
            _ => effective.clone(),
        }
    };
    let Value::Array(items) = items_val else {
        let path = match &spec.items_path {
            PathField::Path(p) => p.text.clone(),
            _ => "$".into(),
        };
        return Err(runtime(
            state_ctx,
            format!("Invalid path '{path}': The Map state's ItemsPath field must reference an array, but the value is: {}", to_json(&items_val)),
        ));
    };
    let max_conc = match &spec.max_concurrency {
        None => 0,
        Some(NumberOrPath::Value(n)) => *n,
        Some(NumberOrPath::Expr(j)) => {
            let v = view.jsonata(j, "MaxConcurrency", &effective, None)?;
            match parse_count(&v) {
                Some(n) if n >= 0 => n as u64,
                _ => {
                    return Err(jsonata_failure(
                        state_ctx,
                        format!(
                            "The MaxConcurrency field must be a non-negative integer, but was: {}",
                            to_json(&v)
                        ),
                    ))
                }
            }
        }
        Some(NumberOrPath::Path(p)) => {
            let v = view.resolve(p, &effective)?;
            limit(state_ctx, "MaxConcurrency", &v, Some(p), Limit::Count)? as u64
        }
    };
    let count_source = tolerance_source(
        view,
        "ToleratedFailureCount",
        spec.tolerated_failure_count.as_ref(),
        spec.tolerated_failure_count_path.as_ref(),
        &effective,
    )?;
    let tolerated_count = match count_source {
        None => 0,
        Some((v, path)) => {
            limit(state_ctx, "ToleratedFailureCount", &v, path, Limit::Count)? as u64
        }
    };
    let pct_source = tolerance_source(
        view,
        "ToleratedFailurePercentage",
        spec.tolerated_failure_percentage.as_ref(),
        spec.tolerated_failure_percentage_path.as_ref(),
        &effective,
    )?;
    let tolerated_pct = match pct_source {
        None => 0.0,
        Some((v, path)) => limit(
            state_ctx,
            "ToleratedFailurePercentage",
            &v,
            path,
            Limit::Percentage,
        )?,
    };
    // Item inputs are computed up front: a selector error fails the Map state itself.
    let mut inputs = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        match &spec.item_selector {
            _ if st.jsonata.is_some() => match &spec.jsonata_item_selector {
                Some(j) => {
                    state_ctx.map_item = Some((i, item));
                    // A view of its own: `$states.context.Map.Item` is this item.
                    let v = StateView::of(run, branch, state_ctx).jsonata(
                        j,
                        "ItemSelector",
                        &effective,
                        None,
                    );
                    state_ctx.map_item = None;
                    inputs.push(v?);
                }
                None => inputs.push(item),
            },
            Some(t) => {
                state_ctx.map_item = Some((i, item));
                let v = StateView::of(run, branch, state_ctx).template(t, &effective);
                state_ctx.map_item = None;
                inputs.push(v?);
            }
            None => inputs.push(item),
        }
    }
    let n = inputs.len();
    let started = run.emit(
        &mut branch.prev,
        "MapStateStarted",
        Some(EventDetails::MapStateStartedEventDetails(
            history::MapStarted { length: n },
        )),
    );
    let limit = if max_conc == 0 {
        usize::MAX
    } else {
        max_conc as usize
    };
    let mut results = vec![Value::Null; n];
    let mut failures = 0u64;
    let mut failure: Option<Failure> = None;
    let mut set = JoinSet::new();
    let mut queue = inputs.into_iter().enumerate();
    let parent_hold = std::mem::replace(&mut branch.hold, Hold::none());
    let spawn_one =
        |set: &mut JoinSet<(usize, Result<Value, Failure>, Hold)>, i: usize, input: Value| {
            let run2 = run.clone();
            let proc_sm = spec.processor.clone();
            let name = st.name.clone();
            let mut child = Branch {
                prev: started,
                hold: run.clock.hold(),
                vars: branch.vars.clone(),
            };
            set.spawn(async move {
                run2.emit(
                    &mut child.prev,
                    "MapIterationStarted",
                    Some(EventDetails::MapIterationStartedEventDetails(
                        history::MapIteration {
                            name: name.clone(),
                            index: i,
                        },
                    )),
                );
                let (r, mut child) = run_machine(run2.clone(), proc_sm, input, child).await;
                let ty = if r.is_ok() {
                    "MapIterationSucceeded"
                } else {
                    "MapIterationFailed"
                };
                let details = history::MapIteration { name, index: i };
                let d = if r.is_ok() {
                    EventDetails::MapIterationSucceededEventDetails(details)
                } else {
                    EventDetails::MapIterationFailedEventDetails(details)
                };
                run2.emit(&mut child.prev, ty, Some(d));
                (i, r, child.hold)
            });
        };
    for _ in 0..limit.min(n) {
        if let Some((i, input)) = queue.next() {
            spawn_one(&mut set, i, input);
        }
    }
    drop(parent_hold);
    while let Some(joined) = set.join_next().await {
        // A finished iteration hands its hold over until its result is handled.
        let hold = match joined {
            Ok((i, Ok(v), h)) => {
                results[i] = v;
                h
            }
            Ok((i, Err(f), h)) => {
                failures += 1;
                let pct = if n == 0 {
                    0.0
                } else {
                    failures as f64 * 100.0 / n as f64
                };
                let tolerated =
                    failures <= tolerated_count || (tolerated_pct > 0.0 && pct <= tolerated_pct);
                if tolerated && (tolerated_count > 0 || tolerated_pct > 0.0) {
                    results[i] = f.to_catch_output();
                    h
                } else {
                    failure = Some(f);
                    branch.hold = h;
                    break;
                }
            }
            Err(e) => {
                failure = Some(Failure::new(
                    errors::RUNTIME,
                    format!("An iteration panicked: {e}"),
                ));
                break;
            }
        };
        if let Some((i, input)) = queue.next() {
            spawn_one(&mut set, i, input);
        }
        if set.is_empty() {
            branch.hold = hold;
        } else {
            drop(hold);
        }
    }
    set.abort_all();
    // Wait until the cancelled work is really dropped (its timers and holds with it).
    while set.join_next().await.is_some() {}
    if !branch.hold.is_tracking() {
        branch.hold = run.clock.hold();
    }
    match failure {
        Some(f) => {
            run.emit(&mut branch.prev, "MapStateFailed", None);
            Err(f)
        }
        None => {
            run.emit(&mut branch.prev, "MapStateSucceeded", None);
            Ok(Value::Array(results))
        }
    }
}
