//! The states of a machine whose `QueryLanguage` is JSONPath: `Parameters`, `ResultSelector`,
//! `ResultPath`, `OutputPath` and `Assign` around each kind of state.

use super::*;

/// Evaluates `Assign` (against `value`, with the variables as they were before the state)
/// and returns the assignments to apply once the state's output is known.
pub(super) fn eval_assign(
    run: &Run,
    th: &Thread,
    sc: &StateCtx,
    assign: Option<&Template>,
    value: &Value,
) -> Result<Option<Map<String, Value>>, Failure> {
    let Some(t) = assign else { return Ok(None) };
    match eval_template(run, th, sc, t, value)? {
        Value::Object(m) => Ok(Some(m)),
        _ => Ok(None),
    }
}

/// ResultSelector, Assign, ResultPath, OutputPath: the tail of the pipeline.
pub(super) fn finish(
    run: &Run,
    st: &State,
    th: &mut Thread,
    sc: &StateCtx,
    raw: Value,
    result: Value,
    select: bool,
) -> Result<Step, Failure> {
    let result = match (&st.result_selector, select) {
        (Some(t), true) => eval_template(run, th, sc, t, &result)?,
        _ => result,
    };
    let assign = eval_assign(run, th, sc, st.assign.as_ref(), &result)?;
    let combined = apply_result_path(sc, &st.result_path, raw, result)?;
    let output = apply_path_field(run, th, sc, &st.output_path, combined)?;
    apply_assign(th, assign);
    Ok(Step {
        output,
        next: st.next.clone(),
        emit_exit: true,
    })
}

pub(super) async fn exec_state(
    run: &Arc<Run>,
    st: &Arc<State>,
    raw: Value,
    th: &mut Thread,
    sc: &mut StateCtx,
) -> Result<Step, Failure> {
    if let Some(jf) = &st.jsonata {
        return exec_jsonata(run, st, jf, raw, th, sc).await;
    }
    match &st.kind {
        Kind::Pass { result } => {
            let eff = apply_path_field(run, th, sc, &st.input_path, raw.clone())?;
            let res = match (result, &st.parameters) {
                (Some(r), _) => r.clone(),
                (None, Some(p)) => eval_template(run, th, sc, p, &eff)?,
                (None, None) => eff,
            };
            finish(run, st, th, sc, raw, res, false)
        }
        Kind::Succeed => {
            let eff = apply_path_field(run, th, sc, &st.input_path, raw)?;
            let output = apply_path_field(run, th, sc, &st.output_path, eff)?;
            Ok(Step {
                output,
                next: None,
                emit_exit: true,
            })
        }
        Kind::Fail { error, cause } => Err(fail_failure(run, th, sc, error, cause, &raw)?),
        Kind::Choice { rules, default } => {
            let eff = apply_path_field(run, th, sc, &st.input_path, raw)?;
            let mut chosen: Option<(&String, Option<&Template>)> = None;
            {
                let env = Env {
                    input: &eff,
                    run,
                    vars: &th.vars,
                    sc,
                };
                for r in rules {
                    let hit = r
                        .condition
                        .eval(&env)
                        .map_err(|e| match e {
                            EvalError::PathNotFound { path, .. } => runtime(
                                sc,
                                format!("Invalid path '{path}': The choice state's condition path references an invalid value."),
                            ),
                            other => eval_failure(sc, &eff, other),
                        })?;
                    if hit {
                        chosen = Some((&r.next, r.assign.as_ref()));
                        break;
                    }
                }
            }
            let (next, assign_t) = match chosen {
                Some(c) => c,
                None => match default {
                    Some(d) => (d, st.assign.as_ref()),
                    None => return Err(no_choice_matched(sc)),
                },
            };
            let assign = eval_assign(run, th, sc, assign_t, &eff)?;
            let output = apply_path_field(run, th, sc, &st.output_path, eff)?;
            apply_assign(th, assign);
            Ok(Step {
                output,
                next: Some(next.clone()),
                emit_exit: true,
            })
        }
        Kind::Wait(w) => {
            let eff = apply_path_field(run, th, sc, &st.input_path, raw)?;
            let now = run.clock.now();
            let deadline = match w {
                WaitFor::Seconds(s) => now + secs(*s),
                WaitFor::Timestamp(t) => t.with_timezone(&Utc),
                WaitFor::SecondsExpr(_) | WaitFor::TimestampExpr(_) => now,
                WaitFor::SecondsPath(p) => {
                    let v = resolve_path(run, th, sc, p, &eff)?;
                    match v.as_i64().or_else(|| v.as_u64().map(|u| u as i64)) {
                        Some(n) if n >= 0 => now + secs(n as u64),
                        Some(n) => {
                            return Err(runtime(
                                sc,
                                format!("The SecondsPath parameter references a negative value: {} == {n}", p.text),
                            ))
                        }
                        None => {
                            return Err(runtime(
                                sc,
                                format!(
                                    "The SecondsPath parameter cannot be parsed as a long value: {} == {}",
                                    p.text,
                                    value_text(&v)
                                ),
                            ))
                        }
                    }
                }
                WaitFor::TimestampPath(p) => {
                    let v = resolve_path(run, th, sc, p, &eff)?;
                    match v.as_str().and_then(crate::choice::parse_timestamp) {
                        Some(t) => t.with_timezone(&Utc),
                        None => {
                            return Err(runtime(
                                sc,
                                format!(
                                    "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                                    p.text,
                                    value_text(&v)
                                ),
                            ))
                        }
                    }
                }
            };
            if deadline > now {
                pause_until(run, th, deadline).await;
            }
            let assign = eval_assign(run, th, sc, st.assign.as_ref(), &eff)?;
            let output = apply_path_field(run, th, sc, &st.output_path, eff)?;
            apply_assign(th, assign);
            Ok(Step {
                output,
                next: st.next.clone(),
                emit_exit: true,
            })
        }
        Kind::Task(_) | Kind::Parallel { .. } | Kind::Map(_) => {
            with_retry(run, st, raw, th, sc).await
        }
    }
}
