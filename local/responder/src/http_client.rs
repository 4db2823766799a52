//! An HTTP client for loopback calls that have no SDK: moto's own API, the local Step Functions
//! endpoint's raw JSON, and an analyst's clicks on approval links.

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

/// A response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body as text.
    pub body: String,
}

impl HttpResponse {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// How long one request may take, connection included: every caller talks to a server on
/// loopback, so anything longer is a hang to report, not a wait.
pub const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Sends one request to an `http://host:port/path?query` URL (hyper's client over HTTP/1.1),
/// failing after [`TIMEOUT`].
pub async fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<HttpResponse> {
    if !url.starts_with("http://") {
        bail!("{url} is not an http:// URL");
    }
    let mut req = hyper::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(Full::new(Bytes::copy_from_slice(body)))
        .with_context(|| format!("{method} {url}: not a valid request"))?;
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(TIMEOUT));
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(connector);
    let call = async {
        let resp = client
            .request(req)
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = resp
            .into_body()
            .collect()
            .await
            .with_context(|| format!("{method} {url}: reading the body"))?
            .to_bytes();
        Ok(HttpResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    };
    tokio::time::timeout(TIMEOUT, call)
        .await
        .with_context(|| format!("{method} {url}: no answer within {} s", TIMEOUT.as_secs()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain and a chunked answer from a real server on loopback are read whole, headers by
    /// name in any case; a URL of another scheme is refused by name.
    #[tokio::test]
    async fn reads_plain_and_chunked_answers_and_refuses_other_schemes() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            for answer in [
                &b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"[..],
                &b"HTTP/1.1 410 Gone\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"[..],
            ] {
                let (mut s, _) = listener.accept().await.expect("accept");
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                s.write_all(answer).await.expect("write");
                s.shutdown().await.expect("shutdown");
            }
        });
        let url = format!("http://{addr}/x?y=1");
        let r = request("GET", &url, &[], b"").await.expect("plain");
        assert_eq!(
            (r.status, r.header("Content-Type")),
            (200, Some("text/plain"))
        );
        assert_eq!(r.body, "hello");
        let r = request("POST", &url, &[("x-a", "b")], b"{}")
            .await
            .expect("chunked");
        assert_eq!((r.status, r.body.as_str()), (410, "hello world"));
        let e = request("GET", "https://example.com/", &[], b"")
            .await
            .expect_err("scheme");
        assert!(e.to_string().contains("not an http:// URL"), "{e}");
    }
}
