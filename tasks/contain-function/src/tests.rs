//! The containment and its rollback against an in-memory Lambda.

use std::sync::Mutex;

use async_trait::async_trait;
use responder_core::{markers, names, Outcome, TaskError};
use serde_json::json;

use crate::{contain, decode, encode, restore, FunctionNow, Functions, Target};

#[derive(Default)]
struct Fake {
    function: Mutex<Option<FunctionNow>>,
    calls: Mutex<Vec<String>>,
    /// `PutFunctionConcurrency` answers success and changes nothing.
    ignore_writes: bool,
}

impl Fake {
    fn with(reserved: Option<i32>, tags: &[(&str, &str)]) -> Self {
        Fake {
            function: Mutex::new(Some(FunctionNow {
                arn: "arn:aws:lambda:eu-west-1:222222222222:function:thumbnailer".into(),
                reserved_concurrency: reserved,
                tags: tags
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                evidence: json!({"codeSha256": "c0de"}),
            })),
            ..Fake::default()
        }
    }
    fn now(&self) -> FunctionNow {
        self.function
            .lock()
            .expect("lock")
            .clone()
            .expect("function")
    }
    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("lock").clone()
    }
    fn call(&self, c: String) {
        self.calls.lock().expect("lock").push(c);
    }
}

#[async_trait]
impl Functions for Fake {
    async fn function(&self, _: &str) -> Result<Option<FunctionNow>, TaskError> {
        self.call("get".into());
        Ok(self.function.lock().expect("lock").clone())
    }
    async fn set_reserved_concurrency(&self, _: &str, value: i32) -> Result<(), TaskError> {
        self.call(format!("put {value}"));
        if !self.ignore_writes {
            if let Some(f) = self.function.lock().expect("lock").as_mut() {
                f.reserved_concurrency = Some(value);
            }
        }
        Ok(())
    }
    async fn remove_reserved_concurrency(&self, _: &str) -> Result<(), TaskError> {
        self.call("delete".into());
        if let Some(f) = self.function.lock().expect("lock").as_mut() {
            f.reserved_concurrency = None;
        }
        Ok(())
    }
    async fn tag(&self, _: &str, tags: &[(String, String)]) -> Result<(), TaskError> {
        self.call(format!(
            "tag {}",
            tags.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        ));
        if let Some(f) = self.function.lock().expect("lock").as_mut() {
            for (k, v) in tags {
                f.tags.retain(|(x, _)| x != k);
                f.tags.push((k.clone(), v.clone()));
            }
        }
        Ok(())
    }
    async fn untag(&self, _: &str, keys: &[String]) -> Result<(), TaskError> {
        self.call(format!("untag {}", keys.join(",")));
        if let Some(f) = self.function.lock().expect("lock").as_mut() {
            f.tags.retain(|(k, _)| !keys.contains(k));
        }
        Ok(())
    }
}

fn target(dry_run: bool) -> Target {
    Target {
        name: "thumbnailer".into(),
        finding_id: "f-1".into(),
        dry_run,
    }
}

fn tag_of(f: &FunctionNow, key: &str) -> Option<String> {
    f.tags
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

/// Each starting value is recorded before the change, contained at 0, and restored exactly.
#[tokio::test]
async fn contain_then_restore_puts_back_exactly_the_previous_value() {
    for before in [None, Some(7), Some(1)] {
        let fx = Fake::with(before, &[("team", "media")]);
        let r = contain(&target(false), &fx).await.expect("contained");
        assert_eq!(fx.now().reserved_concurrency, Some(0), "{before:?}");
        let calls = fx.calls();
        let record = calls
            .iter()
            .position(|c| c.starts_with("tag guardduty-responder:original-concurrency"));
        let cut = calls.iter().position(|c| c == "put 0");
        assert!(record.expect("record") < cut.expect("cut"), "{calls:?}");
        assert_eq!(
            tag_of(&fx.now(), markers::TAG_ORIGINAL_CONCURRENCY),
            Some(encode(before))
        );
        assert_eq!(
            tag_of(&fx.now(), markers::TAG_STATUS).as_deref(),
            Some(markers::STATUS_QUARANTINED)
        );
        assert!(r.changed());
        assert_eq!(r.evidence["function"]["evidence"]["codeSha256"], "c0de");

        // Again: nothing changes, the record stays the original.
        let again = contain(&target(false), &fx).await.expect("again");
        assert!(!again.changed());
        assert_eq!(
            tag_of(&fx.now(), markers::TAG_ORIGINAL_CONCURRENCY),
            Some(encode(before))
        );

        let back = restore("thumbnailer", false, &fx).await.expect("restored");
        assert!(back.changed());
        assert_eq!(fx.now().reserved_concurrency, before);
        assert_eq!(tag_of(&fx.now(), markers::TAG_ORIGINAL_CONCURRENCY), None);
        assert_eq!(tag_of(&fx.now(), "team").as_deref(), Some("media"));
        // Nothing left to undo.
        let twice = restore("thumbnailer", false, &fx).await.expect("nothing");
        assert!(!twice.changed());
    }
}

/// A retried containment that finds the record keeps it; one that finds the function at 0
/// already (whoever set it) changes nothing and records nothing.
#[tokio::test]
async fn a_retry_keeps_the_first_record_and_zero_is_left_alone() {
    let fx = Fake::with(Some(0), &[(markers::TAG_ORIGINAL_CONCURRENCY, "12")]);
    let r = contain(&target(false), &fx).await.expect("ok");
    assert!(!r.changed());
    assert_eq!(fx.calls(), ["get"]);

    // Interrupted after the record: the next attempt keeps it and makes the cut.
    let fx = Fake::with(Some(3), &[(markers::TAG_ORIGINAL_CONCURRENCY, "12")]);
    contain(&target(false), &fx).await.expect("ok");
    assert_eq!(
        tag_of(&fx.now(), markers::TAG_ORIGINAL_CONCURRENCY).as_deref(),
        Some("12")
    );
    restore("thumbnailer", false, &fx).await.expect("restored");
    assert_eq!(fx.now().reserved_concurrency, Some(12));
}

/// A value someone set after containment is theirs: the rollback leaves it and says so.
#[tokio::test]
async fn restore_leaves_a_value_changed_since_containment() {
    let fx = Fake::with(Some(4), &[]);
    contain(&target(false), &fx).await.expect("contained");
    fx.set_reserved_concurrency("thumbnailer", 9)
        .await
        .expect("owner");
    let r = restore("thumbnailer", false, &fx).await.expect("ok");
    assert_eq!(r.actions[0].outcome, Outcome::Skipped);
    assert!(
        r.actions[0].detail.contains("someone changed it"),
        "{}",
        r.actions[0].detail
    );
    assert_eq!(fx.now().reserved_concurrency, Some(9));
    assert!(tag_of(&fx.now(), markers::TAG_ORIGINAL_CONCURRENCY).is_some());
}

#[tokio::test]
async fn a_dry_run_changes_nothing_and_says_what_it_would_do() {
    let fx = Fake::with(Some(5), &[]);
    let r = contain(&target(true), &fx).await.expect("dry");
    assert_eq!(fx.calls(), ["get"]);
    assert!(r.actions.iter().all(|a| a.outcome == Outcome::WouldChange));
    assert_eq!(fx.now().reserved_concurrency, Some(5));
}

#[tokio::test]
async fn failures_are_named() {
    let fx = Fake::default();
    let e = contain(&target(false), &fx).await.expect_err("missing");
    assert_eq!(e.name, names::REMEDIATION_TARGET_NOT_FOUND);

    let fx = Fake {
        ignore_writes: true,
        ..Fake::with(Some(5), &[])
    };
    let e = contain(&target(false), &fx).await.expect_err("not taken");
    assert_eq!(e.name, names::REMEDIATION_VERIFICATION_FAILED);

    let fx = Fake::with(Some(0), &[(markers::TAG_ORIGINAL_CONCURRENCY, "lots")]);
    let e = restore("thumbnailer", false, &fx)
        .await
        .expect_err("bad record");
    assert_eq!(e.name, names::REMEDIATION_FAILED);
    assert_eq!(fx.now().reserved_concurrency, Some(0), "left contained");
}

#[test]
fn records_round_trip_and_refuse_nonsense() {
    for v in [None, Some(0), Some(1000)] {
        assert_eq!(decode(&encode(v)), Some(v));
    }
    for bad in ["", "-1", "lots", "1.5"] {
        assert_eq!(decode(bad), None, "{bad}");
    }
}

/// Every call the adapter makes is in `IAM_ACTIONS`, and nothing else is.
#[test]
fn iam_actions_are_exactly_the_calls() {
    // The read is shared with check-exemption, in responder-aws.
    let source = [
        include_str!("aws.rs"),
        include_str!("../../../crates/responder-aws/src/lambda.rs"),
    ]
    .concat();
    let calls = [
        (".get_function()", "lambda:GetFunction"),
        (
            ".get_function_concurrency()",
            "lambda:GetFunctionConcurrency",
        ),
        (
            ".put_function_concurrency()",
            "lambda:PutFunctionConcurrency",
        ),
        (
            ".delete_function_concurrency()",
            "lambda:DeleteFunctionConcurrency",
        ),
        (".tag_resource()", "lambda:TagResource"),
        (".untag_resource()", "lambda:UntagResource"),
    ];
    for (op, action) in calls {
        assert!(source.contains(op), "{op}");
        assert!(crate::aws::IAM_ACTIONS.contains(&action), "{action}");
    }
    // The member role is assumed for every call.
    assert_eq!(crate::aws::IAM_ACTIONS.len(), calls.len() + 1);
    assert!(crate::aws::IAM_ACTIONS.contains(&"sts:AssumeRole"));
}

/// The two inputs: a task input document about a Lambda finding, and a rollback request;
/// anything else is a named input error.
#[test]
fn requests_are_read_strictly() {
    use crate::aws::Request;
    let finding = serde_json::from_str::<serde_json::Value>(include_str!(
        "../../../fixtures/events/lambda-high-c2.json"
    ))
    .expect("fixture");
    let f = responder_core::Finding::from_event(&finding).expect("finding");
    let d = responder_core::Policy::default().decide(&f);
    let doc = json!({"finding": f, "decision": d});
    let r = Request::from_value(doc.clone()).expect("contain");
    assert_eq!((r.target.name.as_str(), r.restore), ("thumbnailer", false));
    assert_eq!(r.account_id, "111111111111");
    let r = Request::from_value(json!({"mode": "restore", "request": doc})).expect("restore");
    assert!(r.restore);
    let r = Request::from_value(json!({"mode": "restore", "request": {
        "accountId": "222222222222", "region": "eu-west-1", "functionName": "thumbnailer"}}))
    .expect("direct");
    assert_eq!(
        (r.partition.as_str(), r.region.as_str()),
        ("aws", "eu-west-1")
    );
    for bad in [
        json!({"accountId": "2222", "region": "eu-west-1", "functionName": "thumbnailer"}),
        json!({"accountId": "222222222222", "region": "eu-west-1", "functionName": "a b"}),
        json!({"accountId": "222222222222", "region": "EU/../x", "functionName": "f"}),
        json!({"accountId": "222222222222", "region": "eu-west-1"}),
    ] {
        let e =
            Request::from_value(json!({"mode": "restore", "request": bad})).expect_err("refused");
        assert_eq!(e.name, names::INPUT_INVALID, "{bad}");
    }
    let e = Request::from_value(json!({"accountId": "222222222222"})).expect_err("not a doc");
    assert_eq!(e.name, names::INPUT_INVALID);
}

/// A function with its 50 tags: the cut is not held back; the previous value stays in the
/// report, and a rollback finds no record to act on.
#[tokio::test]
async fn a_function_with_a_full_set_of_tags_is_still_contained() {
    let tags: Vec<(String, String)> = (0..50)
        .map(|i| (format!("k{i}"), "v".to_string()))
        .collect();
    let pairs: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let fx = Fake::with(Some(7), &pairs);
    let r = contain(&target(false), &fx).await.expect("contained");
    assert_eq!(fx.now().reserved_concurrency, Some(0));
    assert!(
        fx.calls().iter().all(|c| !c.starts_with("tag ")),
        "{:?}",
        fx.calls()
    );
    assert_eq!(r.evidence["originalConcurrency"], 7);
    let skipped: Vec<&str> = r
        .actions
        .iter()
        .filter(|a| a.outcome == Outcome::Skipped)
        .map(|a| a.action.as_str())
        .collect();
    assert_eq!(skipped, ["record-original-concurrency", "mark-function"]);
    let back = restore("thumbnailer", false, &fx).await.expect("nothing");
    assert!(!back.changed());
    assert_eq!(fx.now().reserved_concurrency, Some(0), "left contained");
}
