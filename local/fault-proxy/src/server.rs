//! The HTTP side: listeners on loopback, one connection task each, every request decided by
//! the [`Engine`] and then answered, forwarded, reset or held while its caller is killed.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use crate::control;
use crate::counts::Outcome;
use crate::engine::{CrashRequest, Engine, Verdict};
use crate::journal::Timing;
use crate::request::AwsRequest;
use crate::shapes;

/// The error that makes hyper close a connection without answering.
#[derive(Debug)]
pub(crate) struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for Dropped {}

type HttpResponse = Response<Full<Bytes>>;

/// Serves a listener until the returned task is aborted; `task` attributes every call
/// arriving there to that task.
pub(crate) fn serve(
    listener: TcpListener,
    engine: Arc<Engine>,
    task: Option<String>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else {
                        // Out of file descriptors and the like: retry shortly.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let engine = Arc::clone(&engine);
                    let task = task.clone();
                    connections.spawn(async move {
                        let service = service_fn(move |req| {
                            handle(Arc::clone(&engine), task.clone(), req)
                        });
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    })
}

async fn handle(
    engine: Arc<Engine>,
    listener_task: Option<String>,
    req: Request<Incoming>,
) -> Result<HttpResponse, Dropped> {
    let arrived = std::time::Instant::now();
    let (parts, body) = req.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return Err(Dropped);
    };
    if parts.uri.path().starts_with(control::PREFIX) {
        return Ok(control::handle(
            &engine,
            &parts.method,
            parts.uri.path(),
            &body,
        ));
    }
    let request = AwsRequest::parse(&parts.headers, parts.uri.query(), body.clone())
        .with_route(parts.method.as_str(), parts.uri.path());
    let task = listener_task.or_else(|| {
        request
            .access_key_id
            .as_deref()
            .and_then(|k| engine.task_of_key(k))
    });
    let decision = engine
        .decide(&request, &parts.headers, task.as_deref())
        .await;
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    let mut outcome = Outcome {
        latency: decision.latency,
        ..Outcome::default()
    };
    let mut timing = Timing {
        arrived: Some(arrived),
        ..Timing::default()
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    // Returns the answer and how long the emulator took to give it.
    let forward = || async {
        let started = std::time::Instant::now();
        let answer = engine
            .upstream()
            .forward(&parts.method, &path, &parts.headers, body.clone())
            .await;
        let took = started.elapsed();
        if let Ok(a) = &answer {
            engine.learn(
                &request,
                a.status.as_u16(),
                &String::from_utf8_lossy(&a.body),
            );
        }
        (answer, took)
    };
    let result = match decision.verdict {
        Verdict::Error(error) => {
            outcome.error = Some(error.code.clone());
            let rendered = shapes::render(
                request.protocol,
                &request.service,
                &error,
                &decision.request_id,
            );
            let mut response = Response::new(Full::new(Bytes::from(rendered.body)));
            *response.status_mut() =
                StatusCode::from_u16(rendered.status).unwrap_or(StatusCode::BAD_REQUEST);
            timing.status = response.status().as_u16();
            for (name, value) in rendered.headers {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    response.headers_mut().insert(name, v);
                }
            }
            Ok(response)
        }
        Verdict::Reset { after_forward } => {
            if after_forward {
                let (answer, took) = forward().await;
                outcome.forwarded = answer.is_ok();
                outcome.upstream = took;
            }
            outcome.reset = true;
            Err(Dropped)
        }
        Verdict::Crash {
            kind,
            after_forward,
        } => {
            if after_forward {
                let (answer, took) = forward().await;
                outcome.forwarded = answer.is_ok();
                outcome.upstream = took;
            }
            let hook = engine.crash_hook();
            let killed = match hook {
                Some(hook) => {
                    hook(CrashRequest {
                        task: task.clone(),
                        service: request.service.clone(),
                        action: request.action.clone(),
                        kind,
                    })
                    .await
                }
                None => false,
            };
            if killed {
                outcome.crash = true;
                timing.upstream = outcome.upstream;
                engine.record(&request, task.as_deref(), &outcome, &timing);
                tokio::time::sleep(engine.crash_hold()).await;
                return Err(Dropped);
            }
            tracing::warn!(
                task = task.as_deref().unwrap_or("-"),
                action = %request.action,
                "crash rule fired but no invocation could be killed; resetting the connection"
            );
            outcome.reset = true;
            Err(Dropped)
        }
        Verdict::Forward => match forward().await {
            (Ok(answer), took) => {
                outcome.forwarded = true;
                outcome.upstream = took;
                timing.status = answer.status.as_u16();
                let mut response = Response::new(Full::new(answer.body));
                *response.status_mut() = answer.status;
                *response.headers_mut() = answer.headers;
                Ok(response)
            }
            (Err(e), _) => {
                tracing::warn!(error = %e, "upstream unreachable");
                timing.status = StatusCode::BAD_GATEWAY.as_u16();
                outcome.error = Some("UpstreamUnreachable".into());
                let mut response = Response::new(Full::new(Bytes::from(e.to_string())));
                *response.status_mut() = StatusCode::BAD_GATEWAY;
                Ok(response)
            }
        },
    };
    timing.upstream = outcome.upstream;
    engine.record(&request, task.as_deref(), &outcome, &timing);
    result
}

/// Binds a loopback listener.
pub(crate) async fn bind(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}
