//! The Lambda read shared by the tasks that judge and contain functions (cargo feature
//! `lambda`, so the other tasks do not link its SDK).

use aws_sdk_lambda::operation::get_function::GetFunctionOutput;
use responder_core::TaskError;

use crate::errors::{classify_sdk_error, error_code};

/// A function as Lambda shows it: `GetFunction`'s answer (configuration, code location, tags)
/// and the reserved concurrency from `GetFunctionConcurrency`, read at once. GetFunction
/// documents the concurrency too, but the emulator leaves it out, and a read-back must see
/// what `PutFunctionConcurrency` set. `Ok(None)` when the function does not exist
/// (`ResourceNotFoundException`); any other error is classified under a stable name.
pub async fn function(
    client: &aws_sdk_lambda::Client,
    name: &str,
) -> Result<Option<(GetFunctionOutput, Option<i32>)>, TaskError> {
    let (out, reserved) = tokio::join!(
        client.get_function().function_name(name).send(),
        client.get_function_concurrency().function_name(name).send()
    );
    let out = match out {
        Ok(o) => o,
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => return Ok(None),
        Err(e) => return Err(classify_sdk_error("lambda:GetFunction", &e)),
    };
    let reserved = match reserved {
        Ok(r) => r.reserved_concurrent_executions(),
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => return Ok(None),
        Err(e) => return Err(classify_sdk_error("lambda:GetFunctionConcurrency", &e)),
    };
    Ok(Some((out, reserved)))
}
