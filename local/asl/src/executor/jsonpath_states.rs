//! The states of a machine whose `QueryLanguage` is JSONPath: `Parameters`, `ResultSelector`,
//! `ResultPath`, `OutputPath` and `Assign` around each kind of state.

use super::*;

impl StateView<'_> {
    /// Evaluates `Assign` (against `value`, with the variables as they were before the state)
    /// and returns the assignments to apply once the state's output is known.
    pub(super) fn assign(
        &self,
        assign: Option<&Template>,
        value: &Value,
    ) -> Result<Option<Map<String, Value>>, Failure> {
        let Some(t) = assign else { return Ok(None) };
        match self.template(t, value)? {
            Value::Object(m) => Ok(Some(m)),
            _ => Ok(None),
        }
    }
}

/// ResultSelector, Assign, ResultPath, OutputPath: the tail of the pipeline.
pub(super) fn finish(
    run: &Run,
    st: &State,
    branch: &mut Branch,
    state_ctx: &StateContext,
    raw: Value,
    result: Value,
    select: bool,
) -> Result<Step, Failure> {
    let view = StateView::of(run, branch, state_ctx);
    let result = match (&st.result_selector, select) {
        (Some(t), true) => view.template(t, &result)?,
        _ => result,
    };
    let assign = view.assign(st.assign.as_ref(), &result)?;
    let combined = apply_result_path(state_ctx, &st.result_path, raw, result)?;
    let output = view.path_field(&st.output_path, combined)?;
    apply_assign(branch, assign);
    Ok(Step {
        output,
        next: st.next.clone(),
        emit_exit: true,
    })
}

pub(super) async fn run_jsonpath_state(
    run: &Arc<Run>,
    st: &Arc<State>,
    raw: Value,
    branch: &mut Branch,
    state_ctx: &mut StateContext,
) -> Result<Step, Failure> {
    if let Some(jf) = &st.jsonata {
        return run_jsonata_state(run, st, jf, raw, branch, state_ctx).await;
    }
    match &st.kind {
        Kind::Pass { result } => {
            let view = StateView::of(run, branch, state_ctx);
            let effective = view.path_field(&st.input_path, raw.clone())?;
            let res = match (result, &st.parameters) {
                (Some(r), _) => r.clone(),
                (None, Some(p)) => view.template(p, &effective)?,
                (None, None) => effective,
            };
            finish(run, st, branch, state_ctx, raw, res, false)
        }
        Kind::Succeed => {
            let view = StateView::of(run, branch, state_ctx);
            let effective = view.path_field(&st.input_path, raw)?;
            let output = view.path_field(&st.output_path, effective)?;
            Ok(Step {
                output,
                next: None,
                emit_exit: true,
            })
        }
        Kind::Fail { error, cause } => Err(fail_failure(
            StateView::of(run, branch, state_ctx),
            error,
            cause,
            &raw,
        )?),
        Kind::Choice { rules, default } => {
            let view = StateView::of(run, branch, state_ctx);
            let effective = view.path_field(&st.input_path, raw)?;
            let mut chosen: Option<(&String, Option<&Template>)> = None;
            {
                let env = view.scope(&effective);
                for r in rules {
                    let hit = r
                        .condition
                        .eval(&env)
                        .map_err(|e| match e {
                            EvalError::PathNotFound { path, .. } => runtime(
                                state_ctx,
                                format!("Invalid path '{path}': The choice state's condition path references an invalid value."),
                            ),
                            other => eval_failure(state_ctx, &effective, other),
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
                    None => return Err(no_choice_matched(state_ctx)),
                },
            };
            let assign = view.assign(assign_t, &effective)?;
            let output = view.path_field(&st.output_path, effective)?;
            apply_assign(branch, assign);
            Ok(Step {
                output,
                next: Some(next.clone()),
                emit_exit: true,
            })
        }
        Kind::Wait(w) => {
            let effective =
                StateView::of(run, branch, state_ctx).path_field(&st.input_path, raw)?;
            let now = run.clock.now();
            let deadline = match w {
                WaitFor::Seconds(s) => now + secs(*s),
                WaitFor::Timestamp(t) => t.with_timezone(&Utc),
                WaitFor::SecondsExpr(_) | WaitFor::TimestampExpr(_) => now,
                WaitFor::SecondsPath(p) => {
                    let v = StateView::of(run, branch, state_ctx).resolve(p, &effective)?;
                    match v.as_i64().or_else(|| v.as_u64().map(|u| u as i64)) {
                        Some(n) if n >= 0 => now + secs(n as u64),
                        Some(n) => {
                            return Err(runtime(
                                state_ctx,
                                format!("The SecondsPath parameter references a negative value: {} == {n}", p.text),
                            ))
                        }
                        None => {
                            return Err(runtime(
                                state_ctx,
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
                    let v = StateView::of(run, branch, state_ctx).resolve(p, &effective)?;
                    match v.as_str().and_then(crate::choice::parse_timestamp) {
                        Some(t) => t.with_timezone(&Utc),
                        None => {
                            return Err(runtime(
                                state_ctx,
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
                pause_until(run, branch, deadline).await;
            }
            let assign =
                StateView::of(run, branch, state_ctx).assign(st.assign.as_ref(), &effective)?;
            let output =
                StateView::of(run, branch, state_ctx).path_field(&st.output_path, effective)?;
            apply_assign(branch, assign);
            Ok(Step {
                output,
                next: st.next.clone(),
                emit_exit: true,
            })
        }
        Kind::Task(_) | Kind::Parallel { .. } | Kind::Map(_) => {
            with_retry(run, st, Fields::JsonPath, raw, branch, state_ctx).await
        }
    }
}
