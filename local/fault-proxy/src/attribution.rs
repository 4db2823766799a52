//! Which task made a call.
//!
//! Tasks act in member accounts through `AssumeRole` with the session name
//! `guardduty-responder-<task>` (`crates/responder-aws/src/session.rs`), as CloudTrail would show
//! them. The proxy watches those calls pass: the session name in the request, the temporary
//! access key id in moto's answer. Every later call signed with that key is the task's.
//!
//! Calls in the security account itself use the Lambda's own credentials, which no `AssumeRole`
//! through the proxy hands out; for those the embedding program names the key
//! ([`Sessions::name_key`]) or gives each task its own listener (`FaultProxy::task_url`).

use std::collections::HashMap;

use crate::request::AwsRequest;
use crate::xml;

/// Access keys and the tasks they belong to.
#[derive(Debug)]
pub struct Sessions {
    prefix: String,
    by_key: HashMap<String, String>,
}

impl Sessions {
    /// Session names starting with `prefix` name the task after it (`guardduty-responder-`
    /// + `isolate`); other session names are taken whole.
    pub fn new(prefix: &str) -> Self {
        Sessions {
            prefix: prefix.to_owned(),
            by_key: HashMap::new(),
        }
    }

    /// Learns from an `AssumeRole` call and moto's answer to it. Returns the task learned.
    pub fn learn(&mut self, request: &AwsRequest, answer: &str) -> Option<String> {
        if request.service != "sts" || request.action != "AssumeRole" {
            return None;
        }
        let session = request.param("RoleSessionName")?;
        let key = xml::first_text(answer, "AccessKeyId")?;
        let task = self.task_of_session(session);
        self.by_key.insert(key, task.clone());
        Some(task)
    }

    /// The task a role session name stands for.
    pub fn task_of_session(&self, session: &str) -> String {
        session
            .strip_prefix(&self.prefix)
            .filter(|t| !t.is_empty())
            .unwrap_or(session)
            .to_owned()
    }

    /// Says that calls signed with `access_key_id` are `task`'s.
    pub fn name_key(&mut self, access_key_id: &str, task: &str) {
        self.by_key
            .insert(access_key_id.to_owned(), task.to_owned());
    }

    /// The task of an access key, if known.
    pub fn task_of_key(&self, access_key_id: &str) -> Option<&str> {
        self.by_key.get(access_key_id).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::{HeaderMap, HeaderValue};

    fn sts(body: &str) -> AwsRequest {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=ASIASECURITY/20240101/eu-west-1/sts/aws4_request, SignedHeaders=host, Signature=x",
            ),
        );
        AwsRequest::parse(&h, None, Bytes::from(body.to_owned()))
    }

    const ANSWER: &str = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIAMEMBER1</AccessKeyId><SecretAccessKey>s</SecretAccessKey></Credentials></AssumeRoleResult></AssumeRoleResponse>"#;

    #[test]
    fn assume_role_teaches_the_key_of_a_task() {
        let mut s = Sessions::new("guardduty-responder-");
        let learned = s.learn(
            &sts("Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2FSOAR&RoleSessionName=guardduty-responder-isolate"),
            ANSWER,
        );
        assert_eq!(learned.as_deref(), Some("isolate"));
        assert_eq!(s.task_of_key("ASIAMEMBER1"), Some("isolate"));
        assert_eq!(s.task_of_key("ASIAOTHER"), None);
    }

    #[test]
    fn other_session_names_are_kept_whole_and_other_calls_teach_nothing() {
        let mut s = Sessions::new("guardduty-responder-");
        s.learn(&sts("Action=AssumeRole&RoleSessionName=analyst"), ANSWER);
        assert_eq!(s.task_of_key("ASIAMEMBER1"), Some("analyst"));
        assert_eq!(s.learn(&sts("Action=GetCallerIdentity"), ANSWER), None);
        s.name_key("ASIASECURITY", "notify");
        assert_eq!(s.task_of_key("ASIASECURITY"), Some("notify"));
    }
}
