//! What an AWS request is: the service (from the SigV4 credential scope), the action (from
//! `Action=` of the query protocols or `X-Amz-Target` of the JSON protocols), the caller's access
//! key, and the parameters a rule or an extractor may look at.

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
