//! `approval-callback`: the page an analyst reaches through an approval link, and the answer
//! it sends to the waiting state machine.
//!
//! - `GET <link>` (and `HEAD`) never decides anything, because mail scanners and link previews
//!   follow links: it shows the finding and a form with two buttons.
//! - `POST <the same link>` with a form (`decision=approve|reject|false-positive`, optional `analyst` and
//!   `comment`) decides: the link's signature is checked in constant time, then its expiry, then
//!   `SendTaskSuccess` (approve) or `SendTaskFailure` with `Approval.Rejected` (reject) answers
//!   the task token carried by the link.
//!
//! The handler speaks plain [`http`] types so the same code runs behind a Lambda function URL
//! or API Gateway (`main.rs`, through `lambda_http`) and in the local runtime, each with its own
//! [`TaskCallbacks`]. Every response is an HTML page with the headers of [`pages`]; no response
//! and no log line carries the task token.

pub mod aws;
pub mod pages;

use std::sync::Arc;

use approval_link::{LinkError, Payload, Signer, TaskToken};
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use http::{Method, Request, Response};
use responder_core::names;
use serde_json::json;

pub use approval_link;

/// The longest form body accepted, in bytes.
pub const MAX_FORM_BYTES: usize = 16 * 1024;
/// The longest `analyst` value accepted, in characters.
pub const MAX_ANALYST_CHARS: usize = 200;
/// The longest `comment` value accepted, in characters.
pub const MAX_COMMENT_CHARS: usize = 2000;

/// Why Step Functions refused an answer, as far as the page needs to know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// `TaskTimedOut`: the state stopped waiting (timed out, or already answered).
    #[error("the task timed out")]
    TaskTimedOut,
    /// `InvalidToken`: the token is no longer valid (typically already answered).
    #[error("the task token is not valid")]
    InvalidToken,
    /// `TaskDoesNotExist`: the execution or its waiting state is gone.
    #[error("the task does not exist")]
    TaskDoesNotExist,
    /// Throttling, a 5xx or no connection: the analyst may try again.
    #[error("Step Functions is unavailable: {0}")]
    Unavailable(String),
    /// Anything else (access denied, KMS, invalid output): an operator must look.
    #[error("Step Functions refused the answer: {0}")]
    Failed(String),
}

/// Answers task tokens: `SendTaskSuccess` and `SendTaskFailure`. The AWS implementation is
/// [`aws::SfnCallbacks`]; the local runtime may bring its own.
#[async_trait]
pub trait TaskCallbacks: Send + Sync {
    /// Completes the waiting state with `output` (a JSON document).
    async fn send_task_success(&self, token: &TaskToken, output: &str)
        -> Result<(), CallbackError>;
    /// Fails the waiting state with an error name and a cause.
    async fn send_task_failure(
        &self,
        token: &TaskToken,
        error: &str,
        cause: &str,
    ) -> Result<(), CallbackError>;
}

/// What the handler needs: the link signer and the way to answer tokens.
#[derive(Clone)]
pub struct Deps {
    signer: Signer,
    callbacks: Arc<dyn TaskCallbacks>,
}

impl Deps {
    /// Builds the dependencies. The signer must use the same secret as `await-approval`.
    pub fn new(signer: Signer, callbacks: Arc<dyn TaskCallbacks>) -> Self {
        Deps { signer, callbacks }
    }
}

/// The analyst's answer, read from the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Approve (true) or reject (false).
    pub approve: bool,
    /// Rejected as a false positive (`decision=false-positive`): the state machine also marks
    /// the finding in the false-positive ledger.
    pub false_positive: bool,
    /// Who answered, as typed into the form (self-declared: the link is the credential).
    pub analyst: Option<String>,
    /// Why, as typed into the form.
    pub comment: Option<String>,
}

/// Serves one request at the current time. Never fails: every outcome is a page.
pub async fn handle<B: AsRef<[u8]>>(req: &Request<B>, deps: &Deps) -> Response<String> {
    handle_at(req, deps, Utc::now()).await
}

/// Serves one request as if at `now`.
pub async fn handle_at<B: AsRef<[u8]>>(
    req: &Request<B>,
    deps: &Deps,
    now: DateTime<Utc>,
) -> Response<String> {
    let mut res = respond(req, deps, now).await;
    if req.method() == Method::HEAD {
        res.body_mut().clear();
    }
    res
}

async fn respond<B: AsRef<[u8]>>(
    req: &Request<B>,
    deps: &Deps,
    now: DateTime<Utc>,
) -> Response<String> {
    let path = req.uri().path().trim_end_matches('/');
    if !path.ends_with(approval_link::PATH) {
        return pages::not_found();
    }
    let method = req.method();
    if method != Method::GET && method != Method::HEAD && method != Method::POST {
        return pages::method_not_allowed();
    }
    let Some(token) = query_token(req.uri().query().unwrap_or("")) else {
        return pages::link_error(LinkError::Malformed);
    };
    let payload = match deps.signer.verify(&token, now.timestamp()) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, method = %method, "approval link refused");
            return pages::link_error(e);
        }
    };
    if method != Method::POST {
        return pages::confirm(&payload);
    }
    let answer = match read_form(req) {
        Ok(a) => a,
        Err(why) => return pages::bad_form(why),
    };
    decide(&payload, &answer, deps, now).await
}

/// Sends the answer to Step Functions and renders the outcome.
async fn decide(
    payload: &Payload,
    answer: &Answer,
    deps: &Deps,
    now: DateTime<Utc>,
) -> Response<String> {
    let decided_at = now.to_rfc3339_opts(SecondsFormat::Secs, true);
    let token = &payload.task_token;
    let result = if answer.approve {
        let output = json!({
            "approved": true,
            "analyst": answer.analyst,
            "comment": answer.comment,
            "decidedAt": decided_at,
        });
        deps.callbacks
            .send_task_success(token, &output.to_string())
            .await
    } else {
        let who = answer.analyst.as_deref().unwrap_or("an unnamed analyst");
        let (error, what) = if answer.false_positive {
            (
                names::APPROVAL_FALSE_POSITIVE,
                "Rejected as a false positive",
            )
        } else {
            (names::APPROVAL_REJECTED, "Rejected")
        };
        let mut cause = format!("{what} by {who} at {decided_at} through the approval link");
        if let Some(c) = &answer.comment {
            cause.push_str(": ");
            cause.push_str(c);
        }
        deps.callbacks
            .send_task_failure(token, error.as_str(), &cause)
            .await
    };
    let decision = match (answer.approve, answer.false_positive) {
        (true, _) => "approve",
        (false, true) => "false-positive",
        (false, false) => "reject",
    };
    if let (Ok(()), Some(issued)) = (&result, payload.issued_at) {
        let waited = (now.timestamp() - issued).max(0) as f64;
        responder_core::emf::approval_wait(decision, waited);
    }
    match &result {
        Ok(()) => tracing::info!(
            link = %payload.nonce,
            finding_id = %payload.finding.id,
            token = %token.fingerprint(),
            decision,
            analyst = answer.analyst.as_deref().unwrap_or(""),
            "approval decided"
        ),
        Err(e) => tracing::warn!(
            link = %payload.nonce,
            finding_id = %payload.finding.id,
            token = %token.fingerprint(),
            decision,
            error = %e,
            "approval answer refused by Step Functions"
        ),
    }
    match result {
        Ok(()) => pages::decided(payload, answer, &decided_at),
        Err(e) => pages::callback_error(&e),
    }
}

/// The signed token from the query string (`a=...`), percent-decoded.
fn query_token(query: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == approval_link::QUERY_PARAM)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

/// Reads and checks the decision form.
fn read_form<B: AsRef<[u8]>>(req: &Request<B>) -> Result<Answer, &'static str> {
    let content_type = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err("The answer must be sent by the page's form.");
    }
    let body = req.body().as_ref();
    if body.len() > MAX_FORM_BYTES {
        return Err("The form is too large.");
    }
    let mut decision: Option<String> = None;
    let mut analyst = None;
    let mut comment = None;
    for (k, v) in form_urlencoded::parse(body) {
        match k.as_ref() {
            "decision" => {
                if decision.as_deref().is_some_and(|d| d != v) {
                    return Err("The form holds two different decisions.");
                }
                decision = Some(v.into_owned());
            }
            "analyst" if analyst.is_none() => analyst = Some(v.into_owned()),
            "comment" if comment.is_none() => comment = Some(v.into_owned()),
            _ => {}
        }
    }
    let (approve, false_positive) = match decision.as_deref() {
        Some("approve") => (true, false),
        Some("reject") => (false, false),
        Some("false-positive") => (false, true),
        _ => return Err("The form must say approve, reject, or false positive."),
    };
    let analyst = clean(analyst, false);
    if analyst
        .as_ref()
        .is_some_and(|a| a.chars().count() > MAX_ANALYST_CHARS)
    {
        return Err("The name is too long (200 characters at most).");
    }
    let comment = clean(comment, true);
    if comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS)
    {
        return Err("The comment is too long (2000 characters at most).");
    }
    Ok(Answer {
        approve,
        false_positive,
        analyst,
        comment,
    })
}

/// Trims a free-text field and drops control characters (keeping line breaks in comments),
/// so what reaches the execution history and the logs is plain text. Empty means absent.
fn clean(v: Option<String>, multiline: bool) -> Option<String> {
    let v: String = v?
        .chars()
        .filter(|c| !c.is_control() || (multiline && *c == '\n'))
        .collect();
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_string())
}

#[cfg(test)]
mod tests;
