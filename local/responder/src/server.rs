//! The local HTTP endpoint: the Step Functions JSON API at `/`, the approval pages at
//! `/approval` and the read-only console at `/console`, all on one loopback address.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use anyhow::{Context, Result};
use asl::{Engine, TaskHandler};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::sfn_api;

/// Serves an approval page request (the same handler code as the approval-callback Lambda).
pub type ApprovalHandler = Arc<
    dyn Fn(http::Request<Bytes>) -> Pin<Box<dyn Future<Output = http::Response<String>> + Send>>
        + Send
        + Sync,
>;

/// What the endpoint serves.
#[derive(Clone)]
pub struct Endpoint {
    /// The engine behind the Step Functions API.
    pub engine: Engine,
    /// The task handler executions started through the API use.
    pub handler: Arc<dyn TaskHandler>,
    /// The approval pages, once set.
    pub approval: Option<ApprovalHandler>,
    /// The read-only console under `/console`, once set.
    pub console: Option<crate::console::Console>,
}

impl Endpoint {
    /// Everything over the local runtime: its engine and tasks behind the Step Functions API,
    /// the approval pages, and the console with the tasks' REPORT figures.
    pub fn local(runtime: &crate::runtime::LocalRuntime, approval: ApprovalHandler) -> Self {
        Endpoint {
            engine: runtime.engine.clone(),
            handler: runtime.handler(),
            approval: Some(approval),
            console: Some(crate::console::Console {
                engine: runtime.engine.clone(),
                tasks: Some(runtime.tasks.clone()),
            }),
        }
    }
}

/// A running endpoint.
#[derive(Debug)]
pub struct Server {
    /// The address it listens on.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Server {
    /// The base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving.
    pub fn stop(self) {
        self.task.abort();
    }
}

/// Binds `listen` (port 0 picks a free port) and serves until stopped.
pub async fn serve(listen: SocketAddr, endpoint: Endpoint) -> Result<Server> {
    let listener = bind(listen).await?;
    serve_on(listener, endpoint)
}

/// Binds a listener, so its address is known before the endpoint is built.
pub async fn bind(listen: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))
}

/// Serves on a bound listener until stopped.
pub fn serve_on(listener: TcpListener, endpoint: Endpoint) -> Result<Server> {
    let addr = listener.local_addr()?;
    let endpoint = Arc::new(endpoint);
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let endpoint = endpoint.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| {
                    let endpoint = endpoint.clone();
                    async move { Ok::<_, Infallible>(route(&endpoint, req).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Ok(Server { addr, task })
}

/// The largest request body served, as Step Functions' own limit.
pub const MAX_BODY_BYTES: usize = 1_049_600;

async fn route(endpoint: &Endpoint, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    // Step Functions refuses a request body over 1,049,600 bytes before reading it, with a
    // plain-text 413 the SDKs cannot parse (aws/aws-sdk-js-v3#4184 records the answer). Payloads
    // are limited to 256 KiB anyway; the cap also keeps a bad client harmless.
    let body = match http_body_util::Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                "HTTP content length exceeded 1049600 bytes.",
            )
        }
    };
    if parts.uri.path().starts_with("/approval") {
        let Some(approval) = &endpoint.approval else {
            return text(StatusCode::NOT_FOUND, "approval pages are not configured");
        };
        let req = http::Request::from_parts(parts, body);
        let resp = approval(req).await;
        let (p, b) = resp.into_parts();
        return Response::from_parts(p, Full::new(Bytes::from(b)));
    }
    if parts.uri.path() == crate::console::PREFIX
        || parts
            .uri
            .path()
            .starts_with(&format!("{}/", crate::console::PREFIX))
    {
        let Some(console) = &endpoint.console else {
            return text(StatusCode::NOT_FOUND, "the console is not configured");
        };
        let req = http::Request::from_parts(parts, ());
        let (p, b) = console.handle(&req).into_parts();
        return Response::from_parts(p, Full::new(Bytes::from(b)));
    }
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if parts.method != http::Method::POST || target.is_empty() {
        return text(
            StatusCode::NOT_FOUND,
            "this is a local Step Functions endpoint: POST with X-Amz-Target, or GET /approval?...",
        );
    }
    let (status, value) = match sfn_api::call(&endpoint.engine, &endpoint.handler, target, &body) {
        Ok(v) => (StatusCode::OK, v),
        Err(e) => (
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            e.body(),
        ),
    };
    let mut resp = Response::new(Full::new(Bytes::from(value.to_string())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    if let Some(code) = value.get("__type").and_then(|t| t.as_str()) {
        if let Ok(v) = http::HeaderValue::from_str(code) {
            resp.headers_mut().insert("x-amzn-errortype", v);
        }
    }
    resp
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r
}
