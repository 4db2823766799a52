//! Throughput figures:
//!
//! ```text
//! cargo run --release -p asl --example bench [-- LOOP_ITERATIONS EXECUTIONS]
//! ```
//!
//! 1. State transitions per second of one execution looping through Choice and Pass states
//!    (with and without recording history).
//! 2. Executions per second of a Parallel + Map fan-out calling a trivial task handler.

use std::sync::Arc;
use std::time::Instant;

use asl::{
    Engine, EngineConfig, ExecutionStatus, SeededRandom, TaskContext, TaskFailure, TaskHandler,
    VirtualClock,
};
use serde_json::Value;

struct Echo;

#[async_trait::async_trait]
impl TaskHandler for Echo {
    async fn invoke(
        &self,
        _resource: &str,
        input: Value,
        _ctx: TaskContext,
    ) -> Result<Value, TaskFailure> {
        Ok(input)
    }
}

fn engine(record_history: bool) -> Engine {
    Engine::new(EngineConfig {
        clock: Arc::new(VirtualClock::new()),
        random: Arc::new(SeededRandom::new(3)),
        record_history,
        ..EngineConfig::default()
    })
}

async fn loop_bench(iterations: u64, record_history: bool) -> Result<(u64, f64), String> {
    let def = format!(
        r#"{{"StartAt":"Init","States":{{
            "Init":{{"Type":"Pass","Parameters":{{"i":0}},"Next":"Loop"}},
            "Loop":{{"Type":"Choice","Choices":[{{"Variable":"$.i","NumericLessThan":{iterations},"Next":"Inc"}}],"Default":"Done"}},
            "Inc":{{"Type":"Pass","Parameters":{{"i.$":"States.MathAdd($.i, 1)"}},"Next":"Loop"}},
            "Done":{{"Type":"Succeed"}}}}}}"#
    );
    let e = engine(record_history);
    let t = Instant::now();
    let d = e
        .run_definition(&def, "{}", Arc::new(Echo))
        .await
        .map_err(|e| e.to_string())?;
    let secs = t.elapsed().as_secs_f64();
    if d.status != ExecutionStatus::Succeeded {
        return Err(format!("loop ended {:?}: {:?}", d.status, d.cause));
    }
    // Init + (Loop + Inc) per iteration + final Loop + Done.
    let transitions = 2 * iterations + 3;
    Ok((transitions, secs))
}

async fn fanout_bench(executions: usize) -> Result<f64, String> {
    let def = r#"{"StartAt":"Fan","States":{"Fan":{"Type":"Parallel","End":true,"Branches":[
        {"StartAt":"MapA","States":{"MapA":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":0,
            "ItemProcessor":{"StartAt":"Work","States":{"Work":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}}},"End":true}}},
        {"StartAt":"MapB","States":{"MapB":{"Type":"Map","ItemsPath":"$.items",
            "ItemProcessor":{"StartAt":"Step","States":{"Step":{"Type":"Pass","Parameters":{"v.$":"$"},"End":true}}},"End":true}}}]}}}"#;
    let e = engine(true);
    let sm = e
        .create_state_machine("fanout", def, "arn:aws:iam::123456789012:role/bench")
        .map_err(|e| e.to_string())?;
    let input = r#"{"items":[1,2,3,4,5,6,7,8,9,10]}"#;
    let handler: Arc<dyn TaskHandler> = Arc::new(Echo);
    let t = Instant::now();
    let mut arns = Vec::with_capacity(executions);
    for i in 0..executions {
        let s = e
            .start_execution(
                &sm.state_machine_arn,
                Some(&format!("x{i}")),
                input,
                handler.clone(),
            )
            .map_err(|e| e.to_string())?;
        arns.push(s.execution_arn);
    }
    for a in &arns {
        let d = e.wait_for_execution(a).await.map_err(|e| e.to_string())?;
        if d.status != ExecutionStatus::Succeeded {
            return Err(format!("fan-out ended {:?}: {:?}", d.status, d.cause));
        }
    }
    Ok(executions as f64 / t.elapsed().as_secs_f64())
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let iterations = args.first().copied().unwrap_or(200_000);
    let executions = args.get(1).copied().unwrap_or(2_000) as usize;
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start tokio: {e}");
            std::process::exit(1);
        }
    };
    let result = rt.block_on(async {
        for record in [true, false] {
            let (n, secs) = loop_bench(iterations, record).await?;
            println!(
                "Pass/Choice loop (history {}): {n} transitions in {secs:.3} s = {:.0} transitions/s",
                if record { "on" } else { "off" },
                n as f64 / secs
            );
        }
        let per_sec = fanout_bench(executions).await?;
        println!(
            "Parallel(2) + Map(10 items, Task / Pass) fan-out: {executions} executions, {per_sec:.0} executions/s"
        );
        Ok::<(), String>(())
    });
    if let Err(e) = result {
        eprintln!("benchmark failed: {e}");
        std::process::exit(1);
    }
}
