//! The Lambda Runtime API (version 2018-06-01) for ONE process: each process
//! gets its own listener on 127.0.0.1, so `AWS_LAMBDA_RUNTIME_API` alone routes
//! a runtime's calls to its own invocations.
//!
//! Routes: `GET /runtime/invocation/next` (long poll),
//! `POST /runtime/invocation/{id}/response`, `POST /runtime/invocation/{id}/error`,
//! `POST /runtime/init/error`, all under `/2018-06-01`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

use crate::config::MAX_PAYLOAD_BYTES;

const PREFIX: &str = "/2018-06-01/runtime/";
const ERROR_TYPE_HEADER: &str = "lambda-runtime-function-error-type";

/// One event handed to the runtime by `/invocation/next`.
#[derive(Debug)]
pub(crate) struct Event {
    pub(crate) request_id: String,
    pub(crate) payload: Bytes,
    pub(crate) deadline_ms: u64,
    pub(crate) function_arn: String,
    pub(crate) trace_id: String,
    pub(crate) client_context: Option<String>,
    pub(crate) cognito_identity: Option<String>,
}

/// What the runtime answered for an invocation.
#[derive(Debug)]
pub(crate) enum Answer {
    /// `/response` body.
    Response(Bytes),
    /// `/error`: the error-type header and the body.
    Error(Option<String>, Bytes),
    /// `/response` body over the payload limit (the runtime got a 413).
    TooLarge,
}

/// Signals of the init phase.
#[derive(Debug)]
pub(crate) enum InitSignal {
    /// The runtime asked for its first event: init is done.
    Ready,
    /// The runtime posted `/init/error`: the error-type header and the body.
    Failed(Option<String>, Bytes),
}

/// State shared between the server and the sandbox that owns it.
pub(crate) struct ApiState {
    events: tokio::sync::Mutex<mpsc::Receiver<Event>>,
    pending: Mutex<Option<(String, oneshot::Sender<Answer>)>>,
    init: mpsc::UnboundedSender<InitSignal>,
    polled: AtomicBool,
}

impl ApiState {
    /// Registers the invocation whose answer the next `/response` or `/error`
    /// with this request id delivers.
    pub(crate) fn expect(&self, request_id: &str) -> oneshot::Receiver<Answer> {
        let (tx, rx) = oneshot::channel();
        *self.pending.lock().unwrap_or_else(|e| e.into_inner()) = Some((request_id.to_owned(), tx));
        rx
    }

    /// Delivers an answer if `request_id` is the one expected.
    fn answer(&self, request_id: &str, answer: Answer) -> bool {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        match pending.take() {
            Some((id, tx)) if id == request_id => {
                let _ = tx.send(answer);
                true
            }
            other => {
                *pending = other;
                false
            }
        }
    }
}

/// A running Runtime API server. Dropping it stops handing out events (a pending
/// `/invocation/next` then stays unanswered); the server itself runs until its
/// [`ServerTask`] is dropped.
pub(crate) struct ApiServer {
    pub(crate) addr: SocketAddr,
    pub(crate) state: Arc<ApiState>,
    pub(crate) events: mpsc::Sender<Event>,
    pub(crate) init: mpsc::UnboundedReceiver<InitSignal>,
}

/// The server's accept loop; dropping it stops the server and closes every connection.
/// The sandbox drops it only once its process is gone: a runtime whose connection
/// closes (or whose `/invocation/next` is answered without an event) would log an
/// error or panic, which Lambda's runtimes never see at shutdown (Lambda kills them).
pub(crate) struct ServerTask(JoinHandle<()>);

impl Drop for ServerTask {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection.
        self.0.abort();
    }
}

/// Binds 127.0.0.1 on an ephemeral port and serves the Runtime API there.
pub(crate) async fn start() -> std::io::Result<(ApiServer, ServerTask)> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let (events_tx, events_rx) = mpsc::channel(1);
    let (init_tx, init_rx) = mpsc::unbounded_channel();
    let state = Arc::new(ApiState {
        events: tokio::sync::Mutex::new(events_rx),
        pending: Mutex::new(None),
        init: init_tx,
        polled: AtomicBool::new(false),
    });
    let server_state = Arc::clone(&state);
    let task = tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else {
                        // Out of file descriptors and the like: retry shortly.
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let state = Arc::clone(&server_state);
                    connections.spawn(async move {
                        let service = service_fn(move |req| handle(Arc::clone(&state), req));
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    });
    Ok((
        ApiServer {
            addr,
            state,
            events: events_tx,
            init: init_rx,
        },
        ServerTask(task),
    ))
}

type HttpResponse = Response<Full<Bytes>>;

fn json_response(status: StatusCode, body: serde_json::Value) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn accepted() -> HttpResponse {
    json_response(StatusCode::ACCEPTED, json!({"status": "OK"}))
}

fn error_response(status: StatusCode, error_type: &str, message: &str) -> HttpResponse {
    json_response(
        status,
        json!({"errorType": error_type, "errorMessage": message}),
    )
}

async fn handle(state: Arc<ApiState>, req: Request<Incoming>) -> Result<HttpResponse, Infallible> {
    let path = req.uri().path().to_owned();
    let Some(route) = path.strip_prefix(PREFIX) else {
        return Ok(error_response(
            StatusCode::NOT_FOUND,
            "NotFound",
            "unknown path",
        ));
    };
    let segments: Vec<&str> = route.split('/').collect();
    let response = match (req.method(), segments.as_slice()) {
        (&Method::GET, ["invocation", "next"]) => next(&state).await,
        (&Method::POST, ["invocation", id, "response"]) => {
            let id = (*id).to_owned();
            match read_body(req).await {
                Ok((_, body)) => answered(state.answer(&id, Answer::Response(body))),
                Err(BodyError::Broken) => broken_body(),
                Err(BodyError::TooLarge) => {
                    state.answer(&id, Answer::TooLarge);
                    error_response(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "RequestEntityTooLarge",
                        "response payload exceeds the 6 MB limit",
                    )
                }
            }
        }
        (&Method::POST, ["invocation", id, "error"]) => {
            let id = (*id).to_owned();
            match read_body(req).await {
                Ok((header, body)) => answered(state.answer(&id, Answer::Error(header, body))),
                Err(BodyError::Broken) => broken_body(),
                Err(BodyError::TooLarge) => error_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "RequestEntityTooLarge",
                    "error payload exceeds the 6 MB limit",
                ),
            }
        }
        (&Method::POST, ["init", "error"]) => match read_body(req).await {
            Ok((header, body)) => {
                let _ = state.init.send(InitSignal::Failed(header, body));
                accepted()
            }
            Err(BodyError::Broken) => broken_body(),
            Err(BodyError::TooLarge) => error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                "error payload exceeds the 6 MB limit",
            ),
        },
        (_, ["invocation", "next"])
        | (_, ["invocation", _, "response" | "error"])
        | (_, ["init", "error"]) => error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "method not allowed",
        ),
        _ => error_response(StatusCode::NOT_FOUND, "NotFound", "unknown path"),
    };
    Ok(response)
}

fn broken_body() -> HttpResponse {
    error_response(
        StatusCode::BAD_REQUEST,
        "InvalidRequest",
        "could not read the body",
    )
}

/// `202` when the answer was for the current invocation, else `400 InvalidRequestID`.
fn answered(matched: bool) -> HttpResponse {
    if matched {
        return accepted();
    }
    error_response(
        StatusCode::BAD_REQUEST,
        "InvalidRequestID",
        "the request id is not the one of the current invocation",
    )
}

/// `/invocation/next`: blocks until the host hands out an event.
async fn next(state: &ApiState) -> HttpResponse {
    if !state.polled.swap(true, Ordering::SeqCst) {
        let _ = state.init.send(InitSignal::Ready);
    }
    let event = state.events.lock().await.recv().await;
    let Some(event) = event else {
        // The sandbox is gone and its process is being killed. Like Lambda, never
        // answer: `lambda_runtime` panics on a `next` answer without a request id.
        // The request ends when the server stops, after the process has exited.
        return std::future::pending().await;
    };
    let mut response = Response::new(Full::new(event.payload));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    set("lambda-runtime-aws-request-id", &event.request_id);
    set("lambda-runtime-deadline-ms", &event.deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", &event.function_arn);
    set("lambda-runtime-trace-id", &event.trace_id);
    if let Some(context) = &event.client_context {
        set("lambda-runtime-client-context", context);
    }
    if let Some(identity) = &event.cognito_identity {
        set("lambda-runtime-cognito-identity", identity);
    }
    response
}

/// Why a request body could not be read.
enum BodyError {
    /// Over [`MAX_PAYLOAD_BYTES`].
    TooLarge,
    /// The connection broke mid-body.
    Broken,
}

async fn read_body(req: Request<Incoming>) -> Result<(Option<String>, Bytes), BodyError> {
    let header = req
        .headers()
        .get(ERROR_TYPE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut body = req.into_body();
    let mut data = Vec::new();
    let mut too_large = false;
    // An oversized body is still read to its end (and dropped): answering 413
    // mid-body would make the server close the connection, and the runtime's
    // next `/invocation/next` on that pooled connection would fail.
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Broken)?;
        if let Ok(chunk) = frame.into_data() {
            if data.len() + chunk.len() > MAX_PAYLOAD_BYTES {
                too_large = true;
                data = Vec::new();
            }
            if !too_large {
                data.extend_from_slice(&chunk);
            }
        }
    }
    if too_large {
        return Err(BodyError::TooLarge);
    }
    Ok((header, Bytes::from(data)))
}
