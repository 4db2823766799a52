//! Parallel states: every branch as its own thread of the execution.

use super::*;

pub(super) async fn parallel_attempt(
    run: &Arc<Run>,
    st: &State,
    branches: &[Arc<StateMachine>],
    eff: Value,
    th: &mut Thread,
    sc: &StateCtx,
) -> Result<Value, Failure> {
    let input = match (&st.jsonata, &st.parameters) {
        (Some(jf), _) => match &jf.arguments {
            Some(a) => q_eval(run, th, sc, a, "Arguments", &eff, None)?,
            None => eff,
        },
        (None, Some(p)) => eval_template(run, th, sc, p, &eff)?,
        (None, None) => eff,
    };
    let started = run.emit(&mut th.prev, "ParallelStateStarted", None);
    let mut set = JoinSet::new();
    for (i, b) in branches.iter().enumerate() {
        let child = Thread {
            prev: started,
            hold: run.clock.hold(),
            vars: th.vars.clone(),
        };
        let fut = run_machine(run.clone(), b.clone(), input.clone(), child);
        set.spawn(async move {
            let (r, th) = fut.await;
            (i, r, th.hold)
        });
    }
    drop(std::mem::replace(&mut th.hold, Hold::none()));
    let mut results = vec![Value::Null; branches.len()];
    let mut failure = None;
    while let Some(joined) = set.join_next().await {
        // A finished branch hands its hold over, so time cannot move before it is handled.
        match joined {
            Ok((i, Ok(v), hold)) => {
                results[i] = v;
                if set.is_empty() {
                    th.hold = hold;
                }
            }
            Ok((_, Err(f), hold)) => {
                th.hold = hold;
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
    if !th.hold.is_tracking() {
        th.hold = run.clock.hold();
    }
    match failure {
        Some(f) => {
            run.emit(&mut th.prev, "ParallelStateFailed", None);
            Err(f)
        }
        None => {
            run.emit(&mut th.prev, "ParallelStateSucceeded", None);
            Ok(Value::Array(results))
        }
    }
}
