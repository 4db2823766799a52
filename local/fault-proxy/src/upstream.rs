//! The emulator behind the proxy: forwarding calls, and the proxy's own reads for quota checks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Headers that describe one connection, not the message, and are not passed on.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

/// The upstream could not be reached or did not answer as expected.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The URL is not `http://host:port`.
    #[error("upstream URL {0:?} must be http://HOST:PORT")]
    BadUrl(String),
    /// No answer.
    #[error("upstream unreachable: {0}")]
    Unreachable(String),
    /// An answer other than 200 to one of the proxy's own reads.
    #[error("upstream answered {status} to {action}: {body}")]
    Refused {
        /// The read.
        action: String,
        /// The status.
        status: u16,
        /// The body, for the log.
        body: String,
    },
}

/// An answer of the upstream, read whole.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status.
    pub status: StatusCode,
    /// Headers, without the hop-by-hop ones.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

/// The upstream endpoint (moto).
#[derive(Clone)]
pub struct Upstream {
    client: Client<HttpConnector, Full<Bytes>>,
    scheme_authority: String,
    queries: Arc<AtomicU64>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("url", &self.scheme_authority)
            .finish()
    }
}

impl Upstream {
    /// An upstream at `url` (`http://127.0.0.1:5000`).
    pub fn new(url: &str) -> Result<Self, UpstreamError> {
        let uri: Uri = url
            .parse()
            .map_err(|_| UpstreamError::BadUrl(url.to_owned()))?;
        if uri.scheme_str() != Some("http") || uri.authority().is_none() {
            return Err(UpstreamError::BadUrl(url.to_owned()));
        }
        let authority = uri
            .authority()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default();
        let client = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
        Ok(Upstream {
            client,
            scheme_authority: format!("http://{authority}"),
            queries: Arc::default(),
        })
    }

    /// How many of its own reads the proxy made.
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// The upstream's URL.
    pub fn url(&self) -> &str {
        &self.scheme_authority
    }

    /// Sends a request as the caller sent it (same method, path, headers and body).
    pub async fn forward(
        &self,
        method: &Method,
        path_and_query: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<Answer, UpstreamError> {
        let uri: Uri = format!("{}{path_and_query}", self.scheme_authority)
            .parse()
            .map_err(|_| UpstreamError::BadUrl(path_and_query.to_owned()))?;
        let mut request = Request::builder()
            .method(method.clone())
            .uri(uri)
            .body(Full::new(body))
            .map_err(|e| UpstreamError::Unreachable(e.to_string()))?;
        for (name, value) in headers {
            if !is_hop_by_hop(name) {
                request.headers_mut().append(name.clone(), value.clone());
            }
        }
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| UpstreamError::Unreachable(e.to_string()))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| UpstreamError::Unreachable(e.to_string()))?
            .to_bytes();
        let mut headers = HeaderMap::new();
        for (name, value) in &parts.headers {
            if !is_hop_by_hop(name) {
                headers.append(name.clone(), value.clone());
            }
        }
        Ok(Answer {
            status: parts.status,
            headers,
            body,
        })
    }

    /// One of the proxy's own query-protocol reads, signed as the caller's request was
    /// (`Authorization`, `X-Amz-Date`, `X-Amz-Security-Token` copied), so the emulator resolves
    /// the same account. moto checks no signature. Returns the answer's text on 200.
    pub async fn query(
        &self,
        caller: &HeaderMap,
        form: &[(&str, &str)],
    ) -> Result<String, UpstreamError> {
        self.queries.fetch_add(1, Ordering::Relaxed);
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut headers = HeaderMap::new();
        for name in ["authorization", "x-amz-date", "x-amz-security-token"] {
            if let Some(v) = caller.get(name) {
                headers.insert(HeaderName::from_static(name), v.clone());
            }
        }
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
        );
        let answer = self
            .forward(&Method::POST, "/", &headers, Bytes::from(body))
            .await?;
        let text = String::from_utf8_lossy(&answer.body).into_owned();
        if answer.status != StatusCode::OK {
            let action = form
                .iter()
                .find(|(k, _)| *k == "Action")
                .map(|(_, v)| (*v).to_owned())
                .unwrap_or_default();
            return Err(UpstreamError::Refused {
                action,
                status: answer.status.as_u16(),
                body: text,
            });
        }
        Ok(text)
    }
}

fn is_hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(&name.as_str())
}
