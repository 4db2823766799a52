//! The local Step Functions endpoint against the Step Functions API reference, through the real
//! `aws-sdk-sfn` client (and raw HTTP where the SDK would refuse to send the request): error
//! codes and their modeled variants, the model's constraints, idempotency, the fields of each
//! execution status, `StopExecution`, task tokens and pagination.
//!
//! Each test serves its own engine in process: no emulator and no task binaries are needed.

mod callbacks;
mod errors;
mod executions;
mod pages;

use std::sync::Arc;
use std::time::Duration;

use asl::{Engine, EngineConfig, TaskContext, TaskFailure, TaskHandler};
use aws_sdk_sfn::config::retry::RetryConfig;
use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use responder::server::{self, Endpoint, Server};
use serde_json::{json, Value};
use tokio::sync::mpsc;

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "111111111111";
const ROLE: &str = "arn:aws:iam::111111111111:role/local-sfn";

/// The state machines every test can use, by name.
const MACHINES: &[(&str, &str)] = &[
    (
        "pass",
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"done":true},"End":true}}}"#,
    ),
    (
        "fail",
        r#"{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Remediation.Failed","Cause":"it broke"}}}"#,
    ),
    // Runs until its task token is answered (or the execution is stopped).
    (
        "wait",
        r#"{"StartAt":"Ask","States":{"Ask":{"Type":"Task",
            "Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters":{"MessageBody":{"token.$":"$$.Task.Token"}},"End":true}}}"#,
    ),
];

/// Hands every task token out on a channel, with the execution it belongs to.
struct Callbacks {
    tx: mpsc::UnboundedSender<(String, String)>,
}

#[async_trait::async_trait]
impl TaskHandler for Callbacks {
    async fn invoke(
        &self,
        _resource: &str,
        _input: Value,
        ctx: TaskContext,
    ) -> Result<Value, TaskFailure> {
        if let Some(token) = ctx.task_token {
            let _ = self.tx.send((ctx.execution_arn, token));
        }
        Ok(json!({}))
    }
}

/// An engine served on loopback, and an SDK client pointed at it.
pub struct Local {
    pub engine: Engine,
    pub server: Server,
    pub sfn: aws_sdk_sfn::Client,
    tokens: mpsc::UnboundedReceiver<(String, String)>,
}

impl Local {
    pub async fn start() -> Local {
        let engine = Engine::new(EngineConfig {
            region: REGION.into(),
            account_id: ACCOUNT.into(),
            ..EngineConfig::default()
        });
        for (name, definition) in MACHINES {
            engine
                .create_state_machine(name, definition, ROLE)
                .expect("the test machines are valid");
        }
        let (tx, tokens) = mpsc::unbounded_channel();
        let listener = server::bind(([127, 0, 0, 1], 0).into())
            .await
            .expect("a loopback port");
        let server = server::serve_on(
            listener,
            Endpoint {
                engine: engine.clone(),
                handler: Arc::new(Callbacks { tx }),
                approval: None,
                console: None,
            },
        )
        .expect("serves");
        let conf = aws_sdk_sfn::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new("AKIDLOCAL", "local", None, None, "test"))
            .retry_config(RetryConfig::disabled())
            .endpoint_url(server.url())
            .build();
        Local {
            engine,
            server,
            sfn: aws_sdk_sfn::Client::from_conf(conf),
            tokens,
        }
    }

    /// The ARN of one of [`MACHINES`].
    pub fn machine(&self, name: &str) -> String {
        format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}")
    }

    /// The ARN an execution of `machine` named `name` has.
    pub fn execution(&self, machine: &str, name: &str) -> String {
        format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine}:{name}")
    }

    /// Starts `machine` through the API and returns the execution ARN.
    pub async fn start_execution(&self, machine: &str, name: &str, input: &str) -> String {
        self.sfn
            .start_execution()
            .state_machine_arn(self.machine(machine))
            .name(name)
            .input(input)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{machine}/{name} starts: {e:?}"))
            .execution_arn
    }

    /// Starts an execution of `wait` and returns its ARN and its live task token.
    pub async fn waiting(&mut self, name: &str) -> (String, String) {
        let arn = self.start_execution("wait", name, "{}").await;
        let (of, token) = tokio::time::timeout(Duration::from_secs(10), self.tokens.recv())
            .await
            .expect("the task starts")
            .expect("the handler is alive");
        assert_eq!(of, arn, "tokens arrive in the order executions start");
        (arn, token)
    }

    /// Runs `machine` to its end and returns the execution ARN.
    pub async fn finished(&self, machine: &str, name: &str) -> String {
        let arn = self.start_execution(machine, name, r#"{"run":1}"#).await;
        self.engine.wait_for_execution(&arn).await.expect("exists");
        arn
    }
}

/// A token of the same form as `token` that no task was given.
pub fn unknown_token(token: &str) -> String {
    let mut t = token.to_string();
    let last = t.pop().expect("a token is not empty");
    t.push(if last == '0' { '1' } else { '0' });
    t
}
