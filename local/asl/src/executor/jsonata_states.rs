//! The states of a machine whose `QueryLanguage` is JSONata: evaluation of their fields, and
//! their run with `Retry` and `Catch`.

use super::*;

/// Time and randomness of a run, for JSONata's `$now`, `$millis`, `$random` and `$uuid`.
pub(super) struct RunHost<'a>(&'a Run);

impl Host for RunHost<'_> {
    fn random(&self) -> f64 {
        (self.0.random.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn now_millis(&self) -> i64 {
        self.0.clock.now().timestamp_millis()
    }

    fn uuid(&self) -> String {
        crate::rng::uuid_v4(self.0.random.next_u64(), self.0.random.next_u64())
    }
}

pub(super) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A `States.QueryEvaluationError` of the current state.
pub(super) fn jsonata_failure(state_ctx: &StateContext, msg: impl AsRef<str>) -> Failure {
    Failure::new(
        errors::QUERY_EVALUATION_ERROR,
        format!(
            "An error occurred while executing the state '{}' (entered at the event id #{}). {}",
            state_ctx.name,
            state_ctx.entered_id,
            msg.as_ref()
        ),
    )
}

impl StateView<'_> {
    /// Evaluates a JSONata template with `$states` (`input`, `context`, and `result` or
    /// `errorOutput` when given) and the workflow variables.
    pub(super) fn jsonata(
        &self,
        j: &JsonataTemplate,
        field: &str,
        input: &Value,
        extra: Option<(&str, &Value)>,
    ) -> Result<Value, Failure> {
        if let JsonataTemplate::Literal(v) = j {
            return Ok(v.clone());
        }
        let context = self.scope(input).context();
        let mut states = vec![
            ("input".to_string(), JsonataValue::from_json(input)),
            ("context".to_string(), JsonataValue::from_json(&context)),
        ];
        if let Some((k, v)) = extra {
            states.push((k.to_string(), JsonataValue::from_json(v)));
        }
        let mut bindings: Vec<(&str, JsonataValue)> = Vec::with_capacity(self.vars.len() + 1);
        for (k, v) in self.vars {
            bindings.push((k.as_str(), JsonataValue::from_json(v)));
        }
        bindings.push(("states", JsonataValue::object(states)));
        j.eval(field, &bindings, &RunHost(self.run))
            .map_err(|e| jsonata_failure(self.state, e.message()))
    }

    /// A Map tolerance given as a number or a JSONata expression.
    pub(super) fn jsonata_number(
        &self,
        v: &Value,
        field: &str,
        input: &Value,
    ) -> Result<Value, Failure> {
        match v.as_str().and_then(crate::query::expression_text) {
            Some(_) => match JsonataTemplate::compile(v) {
                Ok(j) => self.jsonata(&j, field, input, None),
                Err((_, m)) => Err(jsonata_failure(self.state, m)),
            },
            None => Ok(v.clone()),
        }
    }

    /// Evaluates `Assign` of a JSONata state or catcher into the assignments to apply.
    pub(super) fn jsonata_assign(
        &self,
        assign: Option<&JsonataTemplate>,
        input: &Value,
        extra: Option<(&str, &Value)>,
    ) -> Result<Option<Map<String, Value>>, Failure> {
        let Some(a) = assign else { return Ok(None) };
        match self.jsonata(a, "Assign", input, extra)? {
            Value::Object(m) => Ok(Some(m)),
            _ => Ok(None),
        }
    }
}

/// The `Output` and `Assign` fields that end a JSONata state (or one of its catchers or
/// Choice rules).
#[derive(Clone, Copy)]
pub(super) struct Ending<'a> {
    pub output: Option<&'a JsonataTemplate>,
    pub assign: Option<&'a JsonataTemplate>,
}

impl<'a> Ending<'a> {
    pub(super) fn of(fields: &'a JsonataFields) -> Self {
        Ending {
            output: fields.output.as_ref(),
            assign: fields.assign.as_ref(),
        }
    }
}

/// `Output` (or the default) and `Assign` of a JSONata state; the variables change only
/// after both are evaluated.
pub(super) fn jsonata_finish(
    run: &Run,
    branch: &mut Branch,
    state_ctx: &StateContext,
    ending: Ending<'_>,
    input: &Value,
    default: Value,
    extra: Option<(&str, &Value)>,
) -> Result<Value, Failure> {
    let view = StateView::of(run, branch, state_ctx);
    let assigned = view.jsonata_assign(ending.assign, input, extra)?;
    let out = match ending.output {
        Some(o) => view.jsonata(o, "Output", input, extra)?,
        None => default,
    };
    apply_assign(branch, assigned);
    Ok(out)
}

/// Runs a state that uses JSONata.
pub(super) async fn run_jsonata_state(
    run: &Arc<Run>,
    st: &Arc<State>,
    jf: &JsonataFields,
    raw: Value,
    branch: &mut Branch,
    state_ctx: &mut StateContext,
) -> Result<Step, Failure> {
    let step = |output: Value, next: Option<String>| Step {
        output,
        next,
        emit_exit: true,
    };
    match &st.kind {
        Kind::Pass { .. } => {
            let out = jsonata_finish(
                run,
                branch,
                state_ctx,
                Ending::of(jf),
                &raw,
                raw.clone(),
                None,
            )?;
            Ok(step(out, st.next.clone()))
        }
        Kind::Succeed => {
            let out = match &jf.output {
                Some(o) => {
                    StateView::of(run, branch, state_ctx).jsonata(o, "Output", &raw, None)?
                }
                None => raw,
            };
            Ok(step(out, None))
        }
        Kind::Fail { error, cause } => Err(fail_failure(
            StateView::of(run, branch, state_ctx),
            error,
            cause,
            &raw,
        )?),
        Kind::Choice { rules, default } => {
            for r in rules {
                let Some(jr) = &r.jsonata else { continue };
                let v = StateView::of(run, branch, state_ctx).jsonata(
                    &jr.condition,
                    "Condition",
                    &raw,
                    None,
                )?;
                let hit = match v {
                    Value::Bool(b) => b,
                    other => {
                        let text = match &jr.condition {
                            JsonataTemplate::Expr(e) => e.text().to_string(),
                            _ => String::new(),
                        };
                        return Err(jsonata_failure(
                            state_ctx,
                            format!(
                                "The JSONata expression '{text}' specified for the field 'Condition' returned an unexpected result type. Expected 'boolean', but was '{}' for value: {}",
                                json_type(&other),
                                to_json(&other)
                            ),
                        ));
                    }
                };
                if hit {
                    let out = jsonata_finish(
                        run,
                        branch,
                        state_ctx,
                        Ending {
                            output: jr.output.as_ref().or(jf.output.as_ref()),
                            assign: jr.assign.as_ref().or(jf.assign.as_ref()),
                        },
                        &raw,
                        raw.clone(),
                        None,
                    )?;
                    return Ok(step(out, Some(r.next.clone())));
                }
            }
            match default {
                Some(d) => {
                    let out = jsonata_finish(
                        run,
                        branch,
                        state_ctx,
                        Ending::of(jf),
                        &raw,
                        raw.clone(),
                        None,
                    )?;
                    Ok(step(out, Some(d.clone())))
                }
                None => Err(no_choice_matched(state_ctx)),
            }
        }
        Kind::Wait(w) => {
            let now = run.clock.now();
            let deadline = match w {
                WaitFor::Seconds(s) => now + secs(*s),
                WaitFor::Timestamp(t) => t.with_timezone(&Utc),
                WaitFor::SecondsExpr(j) => {
                    let v =
                        StateView::of(run, branch, state_ctx).jsonata(j, "Seconds", &raw, None)?;
                    match v.as_i64() {
                        Some(n) if n >= 0 => now + secs(n as u64),
                        _ => {
                            return Err(jsonata_failure(
                                state_ctx,
                                format!(
                                    "The Seconds field must be a non-negative integer, but was: {}",
                                    to_json(&v)
                                ),
                            ))
                        }
                    }
                }
                WaitFor::TimestampExpr(j) => {
                    let v = StateView::of(run, branch, state_ctx).jsonata(
                        j,
                        "Timestamp",
                        &raw,
                        None,
                    )?;
                    match v.as_str().and_then(crate::choice::parse_timestamp) {
                        Some(t) => t.with_timezone(&Utc),
                        None => {
                            return Err(jsonata_failure(
                                state_ctx,
                                format!(
                                    "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {}",
                                    value_text(&v)
                                ),
                            ))
                        }
                    }
                }
                WaitFor::SecondsPath(_) | WaitFor::TimestampPath(_) => now,
            };
            if deadline > now {
                pause_until(run, branch, deadline).await;
            }
            let out = jsonata_finish(
                run,
                branch,
                state_ctx,
                Ending::of(jf),
                &raw,
                raw.clone(),
                None,
            )?;
            Ok(step(out, st.next.clone()))
        }
        Kind::Task(_) | Kind::Parallel { .. } | Kind::Map(_) => {
            with_retry(run, st, Fields::Jsonata(jf), raw, branch, state_ctx).await
        }
    }
}
