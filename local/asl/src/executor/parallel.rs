//! Parallel states: every branch as its own thread of the execution.

use super::*;

pub(super) async fn parallel_attempt(
    run: &Arc<Run>,
    st: &State,
    branches: &[Arc<StateMachine>],
    effective: Value,
    branch: &mut Branch,
    state_ctx: &StateContext,
) -> Result<Value, Failure> {
    let input = match (&st.jsonata, &st.parameters) {
        (Some(jf), _) => match &jf.arguments {
            Some(a) => {
                StateView::of(run, branch, state_ctx).jsonata(a, "Arguments", &effective, None)?
            }
            None => effective,
        },
        (None, Some(p)) => StateView::of(run, branch, state_ctx).template(p, &effective)?,
        (None, None) => effective,
    };
    let started = run.emit(&mut branch.prev, "ParallelStateStarted", None);
    let mut set = JoinSet::new();
    for (i, b) in branches.iter().enumerate() {
        let child = Branch {
            prev: started,
            hold: run.clock.hold(),
            vars: branch.vars.clone(),
        };
        let fut = run_machine(run.clone(), b.clone(), input.clone(), child);
        set.spawn(async move {
            let (r, branch) = fut.await;
            (i, r, branch.hold)
        });
    }
    drop(std::mem::replace(&mut branch.hold, Hold::none()));
    let mut results = vec![Value::Null; branches.len()];
    let mut failure = None;
    while let Some(joined) = set.join_next().await {
        // A finished branch hands its hold over, so time cannot move before it is handled.
        match joined {
            Ok((i, Ok(v), hold)) => {
                results[i] = v;
                if set.is_empty() {
                    branch.hold = hold;
                }
            }
            Ok((_, Err(f), hold)) => {
                branch.hold = hold;
                failure = Some(f);
                break;
            }
            Err(e) => {
                failure = Some(Failure::new(
                    errors::RUNTIME,
                    format!("A branch panicked: {e}"),
                ));
                break;
            }
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
            run.emit(&mut branch.prev, "ParallelStateFailed", None);
            Err(f)
        }
        None => {
            run.emit(&mut branch.prev, "ParallelStateSucceeded", None);
            Ok(Value::Array(results))
        }
    }
}
