//! The Lambda adapter of [`Functions`], the invocation's input, and the handler.

use async_trait::async_trait;
use aws_sdk_lambda::Client;
use responder_aws::{classify_sdk_error, SessionProvider};
use responder_core::document::{RequestTarget, ResourceRequest, RollbackTarget};
use responder_core::finding::is_function_name;
use responder_core::{names, TaskError, TaskInput, TaskReport};
use serde_json::{json, Value};

use crate::{contain, restore, FunctionNow, Functions, Target, TASK};

/// The IAM actions of every API call this task makes.
pub const IAM_ACTIONS: &[&str] = &[
    "lambda:DeleteFunctionConcurrency",
    "lambda:GetFunction",
    "lambda:GetFunctionConcurrency",
    "lambda:PutFunctionConcurrency",
    "lambda:TagResource",
    "lambda:UntagResource",
    "sts:AssumeRole",
];

/// What one invocation is asked to do, and where: a task input document about a Lambda finding,
/// or a rollback request naming `functionName`.
pub type Request = ResourceRequest<Target>;

impl RequestTarget for Target {
    const TASK: &'static str = TASK;
    const KEY: &'static str = "functionName";
    const KIND: &'static str = "a Lambda function name";

    fn valid(name: &str) -> bool {
        is_function_name(name)
    }

    fn from_input(input: &TaskInput, _restore: bool) -> Result<Self, TaskError> {
        let f = &input.finding;
        let fun = f.function().ok_or_else(|| {
            TaskError::input(format!(
                "finding {} is about a {} resource, not a Lambda function",
                f.id,
                f.resource.resource_type()
            ))
        })?;
        Ok(Target {
            name: fun.function_name.clone(),
            finding_id: f.id.clone(),
            dry_run: input.decision.dry_run,
        })
    }

    fn from_rollback(r: &RollbackTarget) -> Self {
        Target {
            name: r.name.clone(),
            finding_id: String::new(),
            dry_run: r.dry_run,
        }
    }
}

/// One invocation: reads the request, acts in its account and region through the remediation
/// role, and returns the report.
pub async fn handle(event: Value, sessions: &SessionProvider) -> Result<TaskReport, TaskError> {
    let req = Request::from_value(event)?;
    let t = &req.target;
    responder_aws::run_resource_request(&req, sessions, "lambda", &t.name, |conf| async move {
        let fx = LambdaFunctions::new(Client::new(&conf));
        if req.restore {
            restore(&t.name, t.dry_run, &fx).await
        } else {
            contain(t, &fx).await
        }
    })
    .await
}

/// [`Functions`] over the Lambda API.
#[derive(Debug, Clone)]
pub struct LambdaFunctions {
    client: Client,
}

impl LambdaFunctions {
    /// An adapter over a client already in the right account and region.
    pub fn new(client: Client) -> Self {
        LambdaFunctions { client }
    }
}

#[async_trait]
impl Functions for LambdaFunctions {
    async fn function(&self, name: &str) -> Result<Option<FunctionNow>, TaskError> {
        let Some((out, reserved)) = responder_aws::lambda::function(&self.client, name).await?
        else {
            return Ok(None);
        };
        let Some(c) = out.configuration() else {
            return Err(TaskError::new(
                names::REMEDIATION_FAILED,
                format!("GetFunction of {name} returned no configuration"),
            ));
        };
        let arn = c.function_arn().unwrap_or_default().to_string();
        let mut tags: Vec<(String, String)> = out
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        tags.sort();
        let evidence = json!({
            "functionArn": arn,
            "codeSha256": c.code_sha256(),
            "codeSize": c.code_size(),
            "revisionId": c.revision_id(),
            "version": c.version(),
            "lastModified": c.last_modified(),
            "role": c.role(),
            "runtime": c.runtime().map(|r| r.as_str().to_string()),
            "handler": c.handler(),
            "packageType": c.package_type().map(|p| p.as_str().to_string()),
            "imageUri": out.code().and_then(|x| x.image_uri()),
            "layers": c.layers().iter().filter_map(|l| l.arn()).collect::<Vec<_>>(),
            "vpcId": c.vpc_config().and_then(|v| v.vpc_id()),
            "memorySize": c.memory_size(),
            "timeout": c.timeout(),
        });
        Ok(Some(FunctionNow {
            arn,
            reserved_concurrency: reserved,
            tags,
            evidence,
        }))
    }

    async fn set_reserved_concurrency(&self, name: &str, value: i32) -> Result<(), TaskError> {
        self.client
            .put_function_concurrency()
            .function_name(name)
            .reserved_concurrent_executions(value)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_sdk_error("lambda:PutFunctionConcurrency", &e))
    }

    async fn remove_reserved_concurrency(&self, name: &str) -> Result<(), TaskError> {
        self.client
            .delete_function_concurrency()
            .function_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_sdk_error("lambda:DeleteFunctionConcurrency", &e))
    }

    async fn tag(&self, arn: &str, tags: &[(String, String)]) -> Result<(), TaskError> {
        let mut req = self.client.tag_resource().resource(arn);
        for (k, v) in tags {
            req = req.tags(k, v);
        }
        req.send()
            .await
            .map(|_| ())
            .map_err(|e| classify_sdk_error("lambda:TagResource", &e))
    }

    async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), TaskError> {
        self.client
            .untag_resource()
            .resource(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_sdk_error("lambda:UntagResource", &e))
    }
}

#[cfg(test)]
mod tests;
