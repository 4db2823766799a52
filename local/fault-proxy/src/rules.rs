//! Named failures: which calls a [`Rule`] applies to, and when it fires.

use std::time::{Duration, Instant};

use crate::request::AwsRequest;
use crate::rng::CallRng;
use crate::scenario::Rule;

/// A rule and what it has seen so far.
#[derive(Debug, Clone)]
pub struct ActiveRule {
    /// The rule.
    pub rule: Rule,
    /// Calls it applied to (fired or not).
    pub matched: u64,
    /// Times it fired.
    pub fired: u64,
    /// When it first fired (the start of a `for_seconds` window).
    pub first_fired: Option<Instant>,
}

impl ActiveRule {
    /// A rule that has seen nothing yet.
    pub fn new(rule: Rule) -> Self {
        ActiveRule {
            rule,
            matched: 0,
            fired: 0,
            first_fired: None,
        }
    }

    /// Whether the rule applies to the call (service, action, task, resource, body text).
    pub fn applies(&self, request: &AwsRequest, task: Option<&str>) -> bool {
        let r = &self.rule;
        if r.service.as_deref().is_some_and(|s| s != request.service) {
            return false;
        }
        if r.action.as_deref().is_some_and(|a| a != request.action) {
            return false;
        }
        if r.task.as_deref().is_some_and(|t| Some(t) != task) {
            return false;
        }
        if let Some(resource) = &r.resource {
            if !request.values().contains(&resource.as_str()) {
                return false;
            }
        }
        if let Some(text) = &r.matches {
            if !request.body_text().contains(text.as_str()) {
                return false;
            }
        }
        true
    }

    /// Counts a call the rule applies to and says whether the rule fires on it:
    /// - `nth`: not before the nth call, and then `times` times (default once);
    /// - `for_seconds`: only within that long of the first firing;
    /// - `times` without `nth`: that many times from the first call;
    /// - `probability`: on that share of the calls it would fire on.
    pub fn fires(&mut self, now: Instant, rng: &mut CallRng) -> bool {
        self.matched += 1;
        let r = &self.rule;
        if let Some(nth) = r.nth {
            if self.matched < nth {
                return false;
            }
        }
        if let (Some(seconds), Some(start)) = (r.for_seconds, self.first_fired) {
            if now.duration_since(start) > Duration::from_secs_f64(seconds) {
                return false;
            }
        }
        let times = r
            .times
            .or_else(|| (r.nth.is_some() && r.for_seconds.is_none()).then_some(1));
        if times.is_some_and(|t| self.fired >= t) {
            return false;
        }
        if let Some(p) = r.probability {
            if !rng.chance(p) {
                return false;
            }
        }
        self.fired += 1;
        self.first_fired.get_or_insert(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::{HeaderMap, HeaderValue};

    fn ec2(body: &str) -> AwsRequest {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/ec2/aws4_request, SignedHeaders=host, Signature=x",
            ),
        );
        AwsRequest::parse(&h, None, Bytes::from(body.to_owned()))
    }

    fn rule(toml_text: &str) -> ActiveRule {
        let rule: Rule = toml::from_str(toml_text).expect("rule");
        rule.validate().expect("valid");
        ActiveRule::new(rule)
    }

    fn fires_on(r: &mut ActiveRule, calls: usize) -> Vec<bool> {
        let now = Instant::now();
        (0..calls)
            .map(|i| r.fires(now, &mut CallRng::for_call(1, &[], i as u64)))
            .collect()
    }

    const MODIFY: &str =
        "Action=ModifyNetworkInterfaceAttribute&NetworkInterfaceId=eni-1&SecurityGroupId.1=sg-q";

    #[test]
    fn matching_by_service_action_task_resource_and_text() {
        let r = rule(
            r#"service = "ec2"
            action = "ModifyNetworkInterfaceAttribute"
            task = "isolate"
            resource = "eni-1"
            match = "sg-q"
            error = "InternalError""#,
        );
        assert!(r.applies(&ec2(MODIFY), Some("isolate")));
        assert!(!r.applies(&ec2(MODIFY), Some("restore")));
        assert!(!r.applies(&ec2(MODIFY), None));
        assert!(!r.applies(&ec2(&MODIFY.replace("eni-1", "eni-2")), Some("isolate")));
        assert!(!r.applies(&ec2(&MODIFY.replace("sg-q", "sg-x")), Some("isolate")));
        assert!(!r.applies(
            &ec2("Action=DescribeInstances&InstanceId.1=eni-1"),
            Some("isolate")
        ));
        // A resource is a whole value, not a substring.
        let partial = rule("resource = \"eni\"\nerror = \"X\"");
        assert!(!partial.applies(&ec2(MODIFY), None));
    }

    #[test]
    fn nth_fires_on_the_nth_call_only() {
        let mut r = rule("nth = 2\nerror = \"InternalError\"");
        assert_eq!(fires_on(&mut r, 4), [false, true, false, false]);
        let mut r = rule("nth = 2\ntimes = 2\nerror = \"InternalError\"");
        assert_eq!(fires_on(&mut r, 5), [false, true, true, false, false]);
        let mut r = rule("times = 1\nerror = \"X\"");
        assert_eq!(fires_on(&mut r, 3), [true, false, false]);
        let mut always = rule("error = \"X\"");
        assert_eq!(fires_on(&mut always, 3), [true, true, true]);
    }

    #[test]
    fn for_seconds_fires_within_its_window_from_the_first_firing() {
        let mut r = rule("nth = 2\nfor_seconds = 5\nerror = \"X\"");
        let t0 = Instant::now();
        let mut rng = CallRng::for_call(1, &[], 0);
        assert!(!r.fires(t0, &mut rng));
        assert!(r.fires(t0 + Duration::from_secs(10), &mut rng));
        assert!(r.fires(t0 + Duration::from_secs(14), &mut rng));
        assert!(!r.fires(t0 + Duration::from_secs(16), &mut rng));
    }

    #[test]
    fn probability_fires_on_a_share() {
        let mut r = rule("probability = 0.25\nerror = \"X\"");
        let fired = fires_on(&mut r, 4000).iter().filter(|f| **f).count();
        assert!((850..1150).contains(&fired), "{fired}");
    }
}
