//! `Retry` and `Catch`: the attempts of a state, the delays between them, and which catcher
//! takes a failure.

use super::*;

/// The fields around a Task, Parallel or Map state's attempts, by query language.
#[derive(Clone, Copy)]
pub(super) enum Fields<'a> {
    /// `InputPath`, `Parameters`, `ResultSelector`, `ResultPath`, `OutputPath`, `Assign`.
    JsonPath,
    /// `Arguments`, `Output`, `Assign`.
    Jsonata(&'a JsonataFields),
}

/// Runs a Task, Parallel or Map state with its `Retry` and `Catch`, whatever its query
/// language: each attempt on the effective input, then the fields of the state (on success)
/// or of the catcher that takes the failure.
pub(super) async fn with_retry(
    run: &Arc<Run>,
    st: &Arc<State>,
    fields: Fields<'_>,
    raw: Value,
    branch: &mut Branch,
    state_ctx: &mut StateContext,
) -> Result<Step, Failure> {
    let mut counts = vec![0u32; st.retry.len()];
    loop {
        let attempt = async {
            match fields {
                Fields::JsonPath => {
                    let effective = StateView::of(run, branch, state_ctx)
                        .path_field(&st.input_path, raw.clone())?;
                    let result = attempt_kind(run, st, effective, branch, state_ctx).await?;
                    finish(run, st, branch, state_ctx, raw.clone(), result, true)
                }
                Fields::Jsonata(jf) => {
                    let result = attempt_kind(run, st, raw.clone(), branch, state_ctx).await?;
                    let output = jsonata_finish(
                        run,
                        branch,
                        state_ctx,
                        Ending::of(jf),
                        &raw,
                        result.clone(),
                        Some(("result", &result)),
                    )?;
                    Ok(Step {
                        output,
                        next: st.next.clone(),
                        emit_exit: true,
                    })
                }
            }
        }
        .await;
        let f = match attempt {
            Ok(step) => return Ok(step),
            Err(f) => f,
        };
        let Some((c, f)) = retry_or_catch(run, st, branch, state_ctx, &mut counts, f).await? else {
            continue;
        };
        let err_out = f.to_catch_output();
        let output = match fields {
            Fields::JsonPath => {
                let assign =
                    StateView::of(run, branch, state_ctx).assign(c.assign.as_ref(), &err_out)?;
                let output = apply_result_path(state_ctx, &c.result_path, raw, err_out)?;
                apply_assign(branch, assign);
                output
            }
            Fields::Jsonata(_) => {
                let cj = c.jsonata.clone().unwrap_or_default();
                jsonata_finish(
                    run,
                    branch,
                    state_ctx,
                    Ending::of(&cj),
                    &raw,
                    err_out.clone(),
                    Some(("errorOutput", &err_out)),
                )?
            }
        };
        return Ok(Step {
            output,
            next: Some(c.next.clone()),
            emit_exit: true,
        });
    }
}

/// Sleeps the thread until `deadline` on the run's clock.
pub(super) async fn pause_until(run: &Arc<Run>, branch: &mut Branch, deadline: DateTime<Utc>) {
    let hold = std::mem::replace(&mut branch.hold, Hold::none());
    branch.hold = run.clock.sleep_until(deadline, hold).await;
}

/// One attempt of a Task, Parallel or Map state on `input` (its effective input).
pub(super) async fn attempt_kind(
    run: &Arc<Run>,
    st: &Arc<State>,
    input: Value,
    branch: &mut Branch,
    state_ctx: &mut StateContext,
) -> Result<Value, Failure> {
    Ok(match &st.kind {
        Kind::Task(spec) => task_attempt(run, st, spec, input, branch, state_ctx).await?,
        Kind::Parallel { branches } => {
            parallel_attempt(run, st, branches, input, branch, state_ctx).await?
        }
        Kind::Map(spec) => map_attempt(run, st, spec, input, branch, state_ctx).await?,
        _ => input,
    })
}

/// After a failed attempt: `Ok(None)` once a retrier has waited its delay (attempt again),
/// `Ok(Some((catcher, failure)))` when a catcher takes it, `Err` when the state fails with it.
pub(super) async fn retry_or_catch<'a>(
    run: &Arc<Run>,
    st: &'a State,
    branch: &mut Branch,
    state_ctx: &mut StateContext,
    counts: &mut [u32],
    f: Failure,
) -> Result<Option<(&'a Catcher, Failure)>, Failure> {
    if f.name() == errors::RUNTIME {
        return Err(f);
    }
    let relaxed = std::mem::take(&mut state_ctx.task_reported);
    if let Some(delay) = retry_delay(&st.retry, counts, &f, run.random.as_ref(), relaxed) {
        pause_until(
            run,
            branch,
            run.clock.now() + chrono::Duration::milliseconds(delay),
        )
        .await;
        state_ctx.retry_count += 1;
        return Ok(None);
    }
    match find_catcher(&st.catch, &f, relaxed) {
        Some(c) => Ok(Some((c, f))),
        None => Err(f),
    }
}

/// The failure a Fail state raises, with its `Error` and `Cause` (a literal, a JSONPath
/// template or a JSONata expression; a non-string value is given as JSON text).
pub(super) fn fail_failure(
    view: StateView<'_>,
    error: &Option<StringOrDynamic>,
    cause: &Option<StringOrDynamic>,
    raw: &Value,
) -> Result<Failure, Failure> {
    let get = |f: &Option<StringOrDynamic>, field: &str| -> Result<Option<String>, Failure> {
        let v = match f {
            None => return Ok(None),
            Some(StringOrDynamic::Value(s)) => return Ok(Some(s.clone())),
            Some(StringOrDynamic::Expr(j)) => view.jsonata(j, field, raw, None)?,
            Some(StringOrDynamic::Dynamic(t)) => view.template(t, raw)?,
        };
        Ok(Some(value_text(&v)))
    };
    Ok(Failure {
        error: get(error, "Error")?,
        cause: get(cause, "Cause")?,
    })
}

/// No Choice rule matched and there is no `Default`.
pub(super) fn no_choice_matched(state_ctx: &StateContext) -> Failure {
    Failure::new(
        errors::NO_CHOICE_MATCHED,
        format!(
            "An error occurred while executing the state '{}' (entered at the event id #{}). Failed to transition out of the state. No Choice rule matched and no Default target was specified.",
            state_ctx.name, state_ctx.entered_id
        ),
    )
}

/// The delay before the next attempt, in milliseconds, or `None` when no retrier applies.
pub(super) fn retry_delay(
    retry: &[Retrier],
    counts: &mut [u32],
    f: &Failure,
    random: &dyn Random,
    relaxed: bool,
) -> Option<i64> {
    for (i, r) in retry.iter().enumerate() {
        if r.error_equals.iter().any(|p| matches_error(p, f, relaxed)) {
            if counts[i] >= r.max_attempts {
                return None;
            }
            let n = counts[i];
            counts[i] += 1;
            let mut delay =
                r.interval_seconds * r.backoff_rate.powi(i32::try_from(n).unwrap_or(i32::MAX));
            if let Some(max) = r.max_delay_seconds {
                delay = delay.min(max);
            }
            if r.jitter_full {
                let frac = (random.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                delay *= frac;
            }
            return Some((delay * 1000.0).min(1.0e13) as i64);
        }
    }
    None
}

pub(super) fn find_catcher<'a>(
    catch: &'a [Catcher],
    f: &Failure,
    relaxed: bool,
) -> Option<&'a Catcher> {
    catch
        .iter()
        .find(|c| c.error_equals.iter().any(|p| matches_error(p, f, relaxed)))
}

/// `error_matches`, except that a task's own `States.DataLimitExceeded` counts as an ordinary
/// task error when `relaxed`.
pub(super) fn matches_error(pattern: &str, f: &Failure, relaxed: bool) -> bool {
    if relaxed && f.name() == errors::DATA_LIMIT_EXCEEDED && pattern == errors::ALL {
        return true;
    }
    error_matches(pattern, f)
}

pub(super) fn number_or_path(
    view: StateView<'_>,
    v: &Option<NumberOrPath>,
    input: &Value,
    field: &str,
) -> Result<Option<u64>, Failure> {
    let state_ctx = view.state;
    match v {
        None => Ok(None),
        Some(NumberOrPath::Value(n)) => Ok(Some(*n)),
        Some(NumberOrPath::Expr(j)) => {
            let val = view.jsonata(j, field, input, None)?;
            match val.as_u64() {
                Some(n) if n > 0 => Ok(Some(n)),
                _ => Err(jsonata_failure(
                    state_ctx,
                    format!(
                        "The {field} field must be a positive integer, but was: {}",
                        to_json(&val)
                    ),
                )),
            }
        }
        Some(NumberOrPath::Path(p)) => {
            let val = view.resolve(p, input)?;
            match val.as_u64() {
                Some(n) if n > 0 => Ok(Some(n)),
                _ => Err(runtime(
                    state_ctx,
                    format!("The {field}Path field refers to value \"{}\" which is not a valid positive integer: {}", value_text(&val), p.text),
                )),
            }
        }
    }
}
