//! Task states: one attempt of the work, `.waitForTaskToken` waits, heartbeats and timeouts.

use super::*;

pub(super) async fn task_attempt(
    run: &Arc<Run>,
    st: &State,
    spec: &TaskSpec,
    effective: Value,
    branch: &mut Branch,
    state_ctx: &mut StateContext,
) -> Result<Value, Failure> {
    let timeout = number_or_path(
        StateView::of(run, branch, state_ctx),
        &spec.timeout,
        &effective,
        "TimeoutSeconds",
    )?;
    let heartbeat = number_or_path(
        StateView::of(run, branch, state_ctx),
        &spec.heartbeat,
        &effective,
        "HeartbeatSeconds",
    )?;
    state_ctx.token = if spec.wait_for_token {
        Some(run.tokens.issue(run.random.as_ref()))
    } else {
        None
    };
    let params = match (&st.jsonata, &st.parameters) {
        (Some(jf), _) => match &jf.arguments {
            Some(a) => {
                StateView::of(run, branch, state_ctx).jsonata(a, "Arguments", &effective, None)?
            }
            None => effective.clone(),
        },
        (None, Some(p)) => StateView::of(run, branch, state_ctx).template(p, &effective)?,
        (None, None) => effective.clone(),
    };
    let params_text = to_json(&params);
    let lambda_direct = history::is_lambda_function_arn(&spec.resource);
    let (rtype, rname) = history::split_resource(&spec.resource);
    if lambda_direct {
        run.emit(
            &mut branch.prev,
            "LambdaFunctionScheduled",
            Some(EventDetails::LambdaFunctionScheduledEventDetails(
                history::LambdaScheduled {
                    resource: spec.resource.clone(),
                    input: params_text,
                    input_details: DataDetails::default(),
                    timeout_in_seconds: timeout,
                },
            )),
        );
        run.emit(&mut branch.prev, "LambdaFunctionStarted", None);
    } else {
        run.emit(
            &mut branch.prev,
            "TaskScheduled",
            Some(EventDetails::TaskScheduledEventDetails(
                history::TaskScheduled {
                    resource_type: rtype.clone(),
                    resource: rname.clone(),
                    region: run.region.clone(),
                    parameters: params_text,
                    timeout_in_seconds: timeout,
                    heartbeat_in_seconds: heartbeat,
                },
            )),
        );
        run.emit(
            &mut branch.prev,
            "TaskStarted",
            Some(EventDetails::TaskStartedEventDetails(history::TaskRef {
                resource_type: rtype.clone(),
                resource: rname.clone(),
            })),
        );
    }
    let ctx = TaskContext {
        execution_arn: run.arn.clone(),
        state_name: st.name.clone(),
        task_token: state_ctx.token.clone(),
        retry_count: state_ctx.retry_count,
        timeout_seconds: timeout,
        heartbeat_seconds: heartbeat,
        context: StateView::of(run, branch, state_ctx)
            .scope(&effective)
            .context(),
    };
    let started = run.clock.now();
    let outcome = if let Some(token) = state_ctx.token.clone() {
        wait_for_token(run, spec, (&rtype, &rname), params, ctx, token, branch).await
    } else {
        let call = run.handler.invoke(&spec.resource, params, ctx);
        match timeout {
            Some(t) => {
                let timer = run.clock.sleep_until(started + secs(t), Hold::none());
                tokio::select! {
                    biased;
                    r = call => r.map_err(|e| Failure { error: Some(e.error), cause: e.cause }),
                    _h = timer => Err(Failure::named(errors::TIMEOUT)),
                }
            }
            None => call.await.map_err(|e| Failure {
                error: Some(e.error),
                cause: e.cause,
            }),
        }
    };
    match outcome {
        Ok(v) => {
            let out = to_json(&v);
            if out.len() > MAX_PAYLOAD_BYTES {
                state_ctx.task_reported = true;
                let who = if lambda_direct {
                    spec.resource.clone()
                } else {
                    rtype
                };
                return Err(Failure::new(
                    errors::DATA_LIMIT_EXCEEDED,
                    format!(
                        "The state/task '{who}' returned a result with a size exceeding the maximum number of bytes service limit."
                    ),
                ));
            }
            if lambda_direct {
                run.emit(
                    &mut branch.prev,
                    "LambdaFunctionSucceeded",
                    Some(EventDetails::LambdaFunctionSucceededEventDetails(
                        history::Output {
                            output: out,
                            output_details: DataDetails::default(),
                        },
                    )),
                );
            } else {
                run.emit(
                    &mut branch.prev,
                    "TaskSucceeded",
                    Some(EventDetails::TaskSucceededEventDetails(
                        history::TaskOutput {
                            resource_type: rtype,
                            resource: rname,
                            output: out,
                            output_details: DataDetails::default(),
                        },
                    )),
                );
            }
            Ok(v)
        }
        Err(mut f) => {
            state_ctx.task_reported = true;
            let timed_out = matches!(f.name(), errors::TIMEOUT | errors::HEARTBEAT_TIMEOUT);
            if timed_out && f.cause.is_none() {
                f.cause = Some(String::new());
            }
            if lambda_direct {
                let ec = history::ErrorCause {
                    error: f.error.clone(),
                    cause: f.cause.clone(),
                };
                if timed_out {
                    run.emit(
                        &mut branch.prev,
                        "LambdaFunctionTimedOut",
                        Some(EventDetails::LambdaFunctionTimedOutEventDetails(ec)),
                    );
                } else {
                    run.emit(
                        &mut branch.prev,
                        "LambdaFunctionFailed",
                        Some(EventDetails::LambdaFunctionFailedEventDetails(ec)),
                    );
                }
            } else {
                let te = history::TaskError {
                    resource_type: rtype,
                    resource: rname,
                    error: f.error.clone(),
                    cause: f.cause.clone(),
                };
                if timed_out {
                    run.emit(
                        &mut branch.prev,
                        "TaskTimedOut",
                        Some(EventDetails::TaskTimedOutEventDetails(te)),
                    );
                } else {
                    run.emit(
                        &mut branch.prev,
                        "TaskFailed",
                        Some(EventDetails::TaskFailedEventDetails(te)),
                    );
                }
            }
            Err(f)
        }
    }
}

/// A `.waitForTaskToken` Task: the work is submitted, then the state waits for its token to
/// come back (or its timeout, or a missed heartbeat; both from the task's context).
pub(super) async fn wait_for_token(
    run: &Arc<Run>,
    spec: &TaskSpec,
    (rtype, rname): (&str, &str),
    params: Value,
    ctx: TaskContext,
    token: String,
    branch: &mut Branch,
) -> Result<Value, Failure> {
    let (timeout, heartbeat) = (ctx.timeout_seconds, ctx.heartbeat_seconds);
    let (tx, mut rx) = mpsc::unbounded_channel();
    run.tokens.register(&token, &run.arn, tx);
    let submitted = run.handler.invoke(&spec.resource, params, ctx).await;
    match submitted {
        Ok(v) => {
            run.emit(
                &mut branch.prev,
                "TaskSubmitted",
                Some(EventDetails::TaskSubmittedEventDetails(
                    history::TaskOutput {
                        resource_type: rtype.to_string(),
                        resource: rname.to_string(),
                        output: to_json(&v),
                        output_details: DataDetails::default(),
                    },
                )),
            );
        }
        Err(e) => {
            run.tokens.finish(&token);
            return Err(Failure {
                error: Some(e.error),
                cause: e.cause,
            });
        }
    }
    let start = run.clock.now();
    let timeout_at = timeout.map(|t| start + secs(t));
    let mut heartbeat_at = heartbeat.map(|h| start + secs(h));
    let result = loop {
        let deadline = match (timeout_at, heartbeat_at) {
            (Some(a), Some(b)) => Some((a.min(b), b < a)),
            (Some(a), None) => Some((a, false)),
            (None, Some(b)) => Some((b, true)),
            (None, None) => None,
        };
        let hold = std::mem::replace(&mut branch.hold, Hold::none());
        let msg = match deadline {
            Some((d, is_hb)) => {
                let timer = run.clock.sleep_until(d, hold);
                tokio::select! {
                    biased;
                    m = rx.recv() => m,
                    h = timer => {
                        branch.hold = h;
                        break Err(Failure::named(if is_hb { errors::HEARTBEAT_TIMEOUT } else { errors::TIMEOUT }));
                    }
                }
            }
            None => {
                drop(hold);
                rx.recv().await
            }
        };
        match msg {
            Some((TokenMsg::Success(v), h)) => {
                branch.hold = h;
                break Ok(v);
            }
            Some((TokenMsg::Failure(f), h)) => {
                branch.hold = h;
                break Err(f);
            }
            Some((TokenMsg::Heartbeat, h)) => {
                branch.hold = h;
                if let Some(hb) = heartbeat {
                    heartbeat_at = Some(run.clock.now() + secs(hb));
                }
            }
            None => {
                branch.hold = run.clock.hold();
                break Err(Failure::named(errors::TIMEOUT));
            }
        }
    };
    run.tokens.finish(&token);
    result
}
