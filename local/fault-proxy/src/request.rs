//! What an AWS request is: the service (from the SigV4 credential scope), the action (from
//! `Action=` of the query protocols, `X-Amz-Target` of the JSON protocols, or the method and
//! path of Lambda's REST-JSON API), the caller's access key, and the parameters a rule or an
//! extractor may look at.

use bytes::Bytes;
use http::HeaderMap;
use serde_json::Value;

/// The wire protocol of a request, which decides the shape of an error answered to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// EC2's own query protocol (`<Response><Errors><Error>...`).
    Ec2Query,
    /// The AWS query protocol of IAM, STS, SNS, Auto Scaling, ELBv2 (`<ErrorResponse>`).
    AwsQuery,
    /// The AWS JSON protocols (`X-Amz-Target`), e.g. DynamoDB.
    AwsJson,
    /// The REST-JSON protocol of Lambda: the action is the method and the path.
    RestJson,
    /// The REST-XML protocol of S3: the action is the method and the subresource of the query
    /// string (`?tagging`, `?publicAccessBlock`).
    RestXml,
}

/// One parsed request.
#[derive(Debug, Clone)]
pub struct AwsRequest {
    /// The signing name of the service (`ec2`, `iam`, `sts`, `sns`, `autoscaling`,
    /// `elasticloadbalancing`, `dynamodb`), or `unknown` for an unsigned request.
    pub service: String,
    /// The region of the credential scope.
    pub region: Option<String>,
    /// The access key id the request is signed with.
    pub access_key_id: Option<String>,
    /// The API action (`DescribeInstances`, `PutItem`), empty when there is none.
    pub action: String,
    /// The protocol.
    pub protocol: Protocol,
    /// The form parameters of a query-protocol request, decoded, in order.
    pub params: Vec<(String, String)>,
    /// The body of a JSON-protocol request.
    pub json: Option<Value>,
    /// The raw body.
    pub body: Bytes,
}

/// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, ...`.
fn credential_scope(headers: &HeaderMap) -> Option<(String, String, String)> {
    let auth = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let credential = auth
        .split([' ', ','])
        .find_map(|part| part.trim().strip_prefix("Credential="))?;
    let mut parts = credential.split('/');
    let key = parts.next()?.to_owned();
    let _date = parts.next()?;
    let region = parts.next()?.to_owned();
    let service = parts.next()?.to_owned();
    Some((key, region, service))
}

impl AwsRequest {
    /// Parses a request from its headers, its query string and its body. Never fails: what
    /// cannot be read stays empty, and such a request is simply forwarded.
    pub fn parse(headers: &HeaderMap, query: Option<&str>, body: Bytes) -> Self {
        let (access_key_id, region, service) = match credential_scope(headers) {
            Some((key, region, service)) => (Some(key), Some(region), service),
            None => (None, None, "unknown".to_owned()),
        };
        let target = headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let Some(target) = target {
            // `DynamoDB_20120810.PutItem`: the action follows the last dot.
            let action = target.rsplit('.').next().unwrap_or_default().to_owned();
            let json = serde_json::from_slice(&body).ok();
            return AwsRequest {
                service,
                region,
                access_key_id,
                action,
                protocol: Protocol::AwsJson,
                params: Vec::new(),
                json,
                body,
            };
        }
        let mut params: Vec<(String, String)> = query
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        params.extend(form_urlencoded::parse(&body).into_owned());
        let action = params
            .iter()
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let protocol = if service == "ec2" {
            Protocol::Ec2Query
        } else {
            Protocol::AwsQuery
        };
        AwsRequest {
            service,
            region,
            access_key_id,
            action,
            protocol,
            params,
            json: None,
            body,
        }
    }

    /// For a REST service (Lambda's JSON, S3's XML), the action named by the method and the
    /// path or subresource, and the protocol its errors take. Other requests are returned as
    /// they are.
    pub fn with_route(mut self, method: &str, path: &str) -> Self {
        if self.service == "lambda" && self.action.is_empty() {
            if let Some(action) = lambda_action(method, path) {
                self.action = action.to_owned();
            }
            self.protocol = Protocol::RestJson;
        }
        if self.service == "s3" {
            // The body of an S3 request is XML, never form parameters: only the query's keys
            // (the subresource) name the action.
            let query: Vec<&str> = self.params.iter().map(|(k, _)| k.as_str()).collect();
            if let Some(action) = s3_action(method, path, &query) {
                self.action = action.to_owned();
            }
            self.protocol = Protocol::RestXml;
        }
        self
    }

    /// The first value of a form parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The values of the parameters whose name matches `pattern`, where `N` and `M` in the
    /// pattern stand for list indexes: `SecurityGroupId.N`, `IpPermissions.N.IpRanges.M.CidrIp`.
    pub fn params_like<'a>(&'a self, pattern: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.params
            .iter()
            .filter(move |(k, _)| name_matches(pattern, k))
            .map(|(_, v)| v.as_str())
    }

    /// Every value the request carries: form values, or every string (and number) in the JSON
    /// body. A rule's `resource` matches any of them.
    pub fn values(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.params.iter().map(|(_, v)| v.as_str()).collect();
        if let Some(json) = &self.json {
            collect_strings(json, &mut out);
        }
        out
    }

    /// The body as text (lossy), for `match` substrings.
    pub fn body_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}

/// Whether a parameter name fits a pattern whose `N`/`M` segments are any list index.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    let mut p = pattern.split('.');
    let mut n = name.split('.');
    loop {
        match (p.next(), n.next()) {
            (None, None) => return true,
            (Some("N" | "M"), Some(seg))
                if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) => {}
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

fn collect_strings<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|i| collect_strings(i, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// The Lambda operations the tasks call, by method and path (Lambda API Reference: each
/// operation's request syntax; the version segment differs per operation).
fn lambda_action(method: &str, path: &str) -> Option<&'static str> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    Some(match (method, parts.as_slice()) {
        ("GET", [_, "functions", _]) => "GetFunction",
        ("GET", [_, "functions", _, "configuration"]) => "GetFunctionConfiguration",
        ("GET", [_, "functions", _, "concurrency"]) => "GetFunctionConcurrency",
        ("PUT", [_, "functions", _, "concurrency"]) => "PutFunctionConcurrency",
        ("DELETE", [_, "functions", _, "concurrency"]) => "DeleteFunctionConcurrency",
        ("POST", [_, "functions", _, "invocations"]) => "Invoke",
        ("GET", [_, "tags", ..]) => "ListTags",
        ("POST", [_, "tags", ..]) => "TagResource",
        ("DELETE", [_, "tags", ..]) => "UntagResource",
        _ => return None,
    })
}

/// The S3 operations the tasks make, by method and subresource (path-style requests:
/// `/BUCKET?tagging`, `/BUCKET/KEY?tagging`).
fn s3_action(method: &str, path: &str, query: &[&str]) -> Option<&'static str> {
    let bucket_only = !path.trim_matches('/').contains('/');
    let has = |k: &str| query.contains(&k);
    Some(match method {
        "GET" if !bucket_only && has("tagging") => "GetObjectTagging",
        _ if !bucket_only => return None,
        "GET" if has("publicAccessBlock") => "GetPublicAccessBlock",
        "PUT" if has("publicAccessBlock") => "PutPublicAccessBlock",
        "DELETE" if has("publicAccessBlock") => "DeletePublicAccessBlock",
        "GET" if has("tagging") => "GetBucketTagging",
        "PUT" if has("tagging") => "PutBucketTagging",
        "DELETE" if has("tagging") => "DeleteBucketTagging",
        "GET" if has("policy") => "GetBucketPolicy",
        "PUT" if has("policy") => "PutBucketPolicy",
        "GET" if has("acl") => "GetBucketAcl",
        "PUT" if query.is_empty() => "CreateBucket",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn signed(service: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(&format!(
                "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20240101/eu-west-1/{service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
            ))
            .expect("header"),
        );
        h
    }

    /// S3's REST-XML requests are named by their method and subresource, whatever the body.
    #[test]
    fn s3_requests_are_named_by_method_and_subresource() {
        let s3 = |method: &str, query: &str| {
            AwsRequest::parse(
                &signed("s3"),
                Some(query),
                Bytes::from_static(b"<Tagging><TagSet/></Tagging>"),
            )
            .with_route(method, "/orders-exports")
        };
        for (method, query, action) in [
            ("GET", "publicAccessBlock", "GetPublicAccessBlock"),
            ("PUT", "publicAccessBlock", "PutPublicAccessBlock"),
            ("DELETE", "publicAccessBlock", "DeletePublicAccessBlock"),
            ("GET", "tagging", "GetBucketTagging"),
            ("PUT", "tagging", "PutBucketTagging"),
            ("GET", "policy", "GetBucketPolicy"),
            ("GET", "acl", "GetBucketAcl"),
        ] {
            let r = s3(method, query);
            assert_eq!(
                (r.action.as_str(), r.protocol),
                (action, Protocol::RestXml),
                "{method} ?{query}"
            );
        }
        // On an object, only the tags read (the evidence of a quarantined object) is named;
        // other object requests are left unnamed.
        let object = |method: &str, query: &str| {
            AwsRequest::parse(&signed("s3"), Some(query), Bytes::new())
                .with_route(method, "/orders-exports/uploads/key.csv")
        };
        assert_eq!(object("GET", "tagging").action, "GetObjectTagging");
        assert_eq!(object("PUT", "tagging").action, "");
        assert_eq!(object("GET", "acl").action, "");
    }

    /// Lambda's REST-JSON requests are named by their method and path, and answered in its
    /// error shape; other services are left as they are.
    #[test]
    fn lambda_requests_are_named_by_method_and_path() {
        let lambda = |method: &str, path: &str| {
            AwsRequest::parse(&signed("lambda"), None, Bytes::new()).with_route(method, path)
        };
        for (method, path, action) in [
            ("GET", "/2015-03-31/functions/thumbnailer", "GetFunction"),
            (
                "GET",
                "/2019-09-30/functions/thumbnailer/concurrency",
                "GetFunctionConcurrency",
            ),
            (
                "PUT",
                "/2017-10-31/functions/thumbnailer/concurrency",
                "PutFunctionConcurrency",
            ),
            (
                "DELETE",
                "/2017-10-31/functions/thumbnailer/concurrency",
                "DeleteFunctionConcurrency",
            ),
            (
                "POST",
                "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aeu-west-1%3A1%3Afunction%3Af",
                "TagResource",
            ),
            (
                "DELETE",
                "/2017-03-31/tags/arn%3Aaws%3Alambda",
                "UntagResource",
            ),
        ] {
            let r = lambda(method, path);
            assert_eq!(
                (r.action.as_str(), r.protocol),
                (action, Protocol::RestJson),
                "{method} {path}"
            );
        }
        assert_eq!(lambda("PATCH", "/x").action, "");
        let ec2 = AwsRequest::parse(
            &signed("ec2"),
            None,
            Bytes::from_static(b"Action=DescribeInstances"),
        )
        .with_route("POST", "/");
        assert_eq!(
            (ec2.action.as_str(), ec2.protocol),
            ("DescribeInstances", Protocol::Ec2Query)
        );
    }

    #[test]
    fn query_requests_name_service_action_key_and_parameters() {
        let body = Bytes::from_static(
            b"Action=ModifyNetworkInterfaceAttribute&Version=2016-11-15&NetworkInterfaceId=eni-1&SecurityGroupId.1=sg-a&SecurityGroupId.2=sg-b",
        );
        let r = AwsRequest::parse(&signed("ec2"), None, body);
        assert_eq!(r.service, "ec2");
        assert_eq!(r.region.as_deref(), Some("eu-west-1"));
        assert_eq!(r.access_key_id.as_deref(), Some("ASIAEXAMPLE"));
        assert_eq!(r.action, "ModifyNetworkInterfaceAttribute");
        assert_eq!(r.protocol, Protocol::Ec2Query);
        assert_eq!(r.param("NetworkInterfaceId"), Some("eni-1"));
        let groups: Vec<&str> = r.params_like("SecurityGroupId.N").collect();
        assert_eq!(groups, ["sg-a", "sg-b"]);
        assert!(r.values().contains(&"eni-1"));

        let iam = AwsRequest::parse(
            &signed("iam"),
            None,
            Bytes::from_static(b"Action=PutUserPolicy&PolicyDocument=%7B%22a%22%3A1%7D"),
        );
        assert_eq!(iam.protocol, Protocol::AwsQuery);
        assert_eq!(iam.param("PolicyDocument"), Some(r#"{"a":1}"#));
    }

    #[test]
    fn json_requests_take_the_action_from_the_target() {
        let mut h = signed("dynamodb");
        h.insert(
            "x-amz-target",
            HeaderValue::from_static("DynamoDB_20120810.PutItem"),
        );
        let body = Bytes::from_static(br#"{"TableName":"claims","Item":{"pk":{"S":"finding-1"}}}"#);
        let r = AwsRequest::parse(&h, None, body);
        assert_eq!(r.action, "PutItem");
        assert_eq!(r.protocol, Protocol::AwsJson);
        assert!(r.values().contains(&"finding-1"));
    }

    #[test]
    fn unsigned_requests_are_unknown() {
        let r = AwsRequest::parse(&HeaderMap::new(), Some("Action=X"), Bytes::new());
        assert_eq!(r.service, "unknown");
        assert_eq!(r.action, "X");
        assert_eq!(r.access_key_id, None);
    }

    #[test]
    fn list_patterns() {
        assert!(name_matches("SecurityGroupId.N", "SecurityGroupId.12"));
        assert!(!name_matches("SecurityGroupId.N", "SecurityGroupId"));
        assert!(!name_matches("SecurityGroupId.N", "SecurityGroupId.x"));
        assert!(name_matches(
            "IpPermissions.N.IpRanges.M.CidrIp",
            "IpPermissions.1.IpRanges.2.CidrIp"
        ));
        assert!(!name_matches(
            "IpPermissions.N.IpRanges.M.CidrIp",
            "IpPermissions.1.Ipv6Ranges.2.CidrIpv6"
        ));
    }
}
