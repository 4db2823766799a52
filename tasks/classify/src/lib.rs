//! `classify`: the first task of every execution. It turns the EventBridge event into the
//! responder document `{ "finding": ..., "decision": ... }` that every later task receives.
//!
//! Pure: no AWS calls. The policy and the allowed regions are loaded once when the Lambda
//! starts; everything else is a function of the event, so the same event always gets the same
//! decision. The event includes what the state machine's `ReadFalsePositives` state read from
//! the false-positive ledger for the finding's type (at
//! [`responder_core::false_positives::EVENT_KEY`]): above the policy's threshold a `contain`
//! becomes a request for approval, with the numbers in the reasons.

pub mod regions;

pub use regions::AllowedRegions;
use responder_core::false_positives::LedgerInput;
use responder_core::{Decision, Finding, Policy, TaskError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The task's output: the normalized finding and the policy's decision about it.
///
/// Its JSON is the start of the document [`responder_core::TaskInput`] reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Classified {
    /// The normalized finding.
    pub finding: Finding,
    /// What the pipeline does with it, and why.
    pub decision: Decision,
}

/// Parses a GuardDuty EventBridge event, or a Security Hub custom action an analyst chose on a
/// GuardDuty finding, and decides what to do with it.
///
/// Errors carry the stable names `Finding.Invalid`, `Finding.Unsupported`, `Finding.TooLarge`
/// and, for a finding from a region outside `regions`, `Finding.RegionNotAllowed`; the state
/// machine records and notifies them without retrying.
pub fn classify(
    policy: &Policy,
    regions: &AllowedRegions,
    event: &Value,
) -> Result<Classified, TaskError> {
    let finding = Finding::from_event(event)?;
    regions.check(&finding)?;
    let ledger = LedgerInput::from_event(event, &finding.finding_type);
    let decision = policy.decide_with(&finding, ledger.as_ref());
    Ok(Classified { finding, decision })
}

/// [`classify`] with the one log line per invocation an analyst searches for: the finding,
/// its type and severity, and the decision; or the error name and the envelope id.
pub fn handle(
    policy: &Policy,
    regions: &AllowedRegions,
    event: &Value,
) -> Result<Classified, TaskError> {
    match classify(policy, regions, event) {
        Ok(c) => {
            tracing::info!(
                finding_id = %c.finding.id,
                finding_type = %c.finding.finding_type,
                severity = c.finding.severity,
                account = %c.finding.account_id,
                resource_role = ?c.finding.resource_role,
                tier = ?c.decision.tier,
                route = ?c.decision.route,
                disposition = ?c.decision.disposition,
                false_positives = ?c.decision.false_positives.as_ref().map(|f| f.verdict),
                dry_run = c.decision.dry_run,
                idempotency_key = %c.decision.idempotency_key,
                "classified"
            );
            Ok(c)
        }
        Err(e) => {
            // The event id lets an analyst find the rejected event in EventBridge's archive.
            let event_id = event.get("id").and_then(Value::as_str).unwrap_or("");
            tracing::warn!(error = e.name.as_str(), message = %e.message, event_id, "event rejected");
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use responder_core::{names, Disposition, Route, TaskInput, Tier};

    /// Every region: the tests that are not about regions.
    const ALL: AllowedRegions = AllowedRegions::all();

    fn fixture(text: &str) -> Value {
        serde_json::from_str(text).expect("fixture is JSON")
    }

    #[test]
    fn output_is_the_document_later_tasks_read() {
        let event = fixture(include_str!(
            "../../../fixtures/events/ec2-high-single-eni.json"
        ));
        let c = classify(&Policy::default(), &ALL, &event).expect("classified");
        let out = serde_json::to_value(&c).expect("json");
        assert_eq!(out["finding"]["id"], "3e1a5c7b9d2f4a6c8e0b1d3f5a7c9e11");
        assert_eq!(out["finding"]["type"], "Backdoor:EC2/C&CActivity.B");
        assert_eq!(out["finding"]["resource"]["kind"], "instance");
        assert_eq!(
            out["finding"]["resource"]["instanceId"],
            "i-0a1b2c3d4e5f60701"
        );
        assert_eq!(out["decision"]["tier"], "HIGH");
        assert_eq!(out["decision"]["route"], "ec2");
        assert_eq!(out["decision"]["disposition"], "contain");
        assert_eq!(out["decision"]["dryRun"], false);
        // Exactly these two keys (their order depends on serde_json's features).
        let mut keys: Vec<&String> = out.as_object().expect("object").keys().collect();
        keys.sort();
        assert_eq!(keys, ["decision", "finding"]);
        // The state machine adds the execution id and hands the same document on.
        let mut doc = out.clone();
        doc["execution"] = serde_json::json!("arn:aws:states:eu-west-1:111111111111:execution:x:y");
        let input = TaskInput::from_value(doc).expect("task input");
        assert_eq!(input.finding, c.finding);
        assert_eq!(input.decision, c.decision);
    }

    #[test]
    fn iam_and_notify_only_routes() {
        let policy = Policy::default();
        let c = classify(
            &policy,
            &ALL,
            &fixture(include_str!(
                "../../../fixtures/events/iam-high-asia-role.json"
            )),
        )
        .expect("iam");
        assert_eq!(c.decision.route, Route::Iam);
        assert_eq!(c.decision.disposition, Disposition::Contain);
        let c = classify(
            &policy,
            &ALL,
            &fixture(include_str!("../../../fixtures/events/s3-notify-only.json")),
        )
        .expect("s3");
        // The s3 route, but an anomaly type is not acted on by default.
        assert_eq!(c.decision.route, Route::S3);
        assert_eq!(c.decision.disposition, Disposition::Notify);
        assert_eq!(c.decision.tier, Tier::Medium);
    }

    #[test]
    fn the_policy_decides_dry_run_and_exclusions() {
        let event = fixture(include_str!(
            "../../../fixtures/events/ec2-high-cross-account.json"
        ));
        let policy = Policy::from_lookup(|k| match k {
            "POLICY_JSON" => Some(r#"{"ec2": {"dry_run": true}}"#.to_string()),
            _ => None,
        })
        .expect("policy");
        let c = classify(&policy, &ALL, &event).expect("classified");
        assert!(c.decision.dry_run);
        assert_eq!(c.finding.account_id, "222222222222");
        let policy = Policy {
            exclude_accounts: vec!["222222222222".into()],
            ..Policy::default()
        };
        let c = classify(&policy, &ALL, &event).expect("classified");
        assert_eq!(c.decision.disposition, Disposition::Notify);
    }

    #[test]
    fn rejected_events_carry_stable_names() {
        let policy = Policy::default();
        let e = handle(
            &policy,
            &ALL,
            &fixture(include_str!(
                "../../../fixtures/events/securityhub-imported.json"
            )),
        )
        .expect_err("security hub");
        assert_eq!(e.name, names::FINDING_UNSUPPORTED);
        let e = handle(
            &policy,
            &ALL,
            &fixture(include_str!(
                "../../../fixtures/events/malformed-missing-type.json"
            )),
        )
        .expect_err("no type");
        assert_eq!(e.name, names::FINDING_INVALID);
        let e = handle(&policy, &ALL, &Value::Null).expect_err("null");
        assert_eq!(e.name, names::FINDING_INVALID);
        let mut big = fixture(include_str!("../../../fixtures/events/ec2-low.json"));
        big["detail"]["description"] =
            Value::String("x".repeat(responder_core::finding::MAX_EVENT_BYTES));
        assert_eq!(
            handle(&policy, &ALL, &big).expect_err("big").name,
            names::FINDING_TOO_LARGE
        );
    }

    #[test]
    fn a_custom_action_is_classified_like_guardduty_s_event() {
        let event = fixture(include_str!(
            "../../../fixtures/events/securityhub-custom-action-ec2.json"
        ));
        let c = handle(&Policy::default(), &ALL, &event).expect("custom action");
        assert_eq!(c.finding.id, "6c8e0a2b4d6f8a0c2e4b6d8f0a2c4e61");
        assert_eq!(c.finding.finding_type, "Backdoor:EC2/C&CActivity.B!DNS");
        assert_eq!(c.decision.disposition, Disposition::Contain);
        assert!(c.decision.reasons[0].contains("Security Hub custom action"));
        // Later tasks read the same document, flag included.
        let mut doc = serde_json::to_value(&c).expect("json");
        assert_eq!(doc["finding"]["requestedByAnalyst"], true);
        doc["execution"] = serde_json::json!("arn:aws:states:eu-west-1:111111111111:execution:x:y");
        let input = TaskInput::from_value(doc).expect("task input");
        assert_eq!(input.finding, c.finding);
        let e = handle(
            &Policy::default(),
            &ALL,
            &fixture(include_str!(
                "../../../fixtures/events/securityhub-custom-action-not-guardduty.json"
            )),
        )
        .expect_err("inspector");
        assert_eq!(e.name, names::FINDING_UNSUPPORTED);
        // Regression: `ProductName: GuardDuty` from a custom integration was accepted.
        let e = handle(
            &Policy::default(),
            &ALL,
            &fixture(include_str!(
                "../../../fixtures/events/securityhub-custom-action-custom-product.json"
            )),
        )
        .expect_err("custom integration");
        assert_eq!(e.name, names::FINDING_UNSUPPORTED);
        assert!(e.message.contains("`ProductArn`"), "{}", e.message);
    }

    #[test]
    fn victims_are_routed_to_a_notification_with_the_fix() {
        let policy = Policy::default();
        let victim = classify(
            &policy,
            &ALL,
            &fixture(include_str!(
                "../../../fixtures/events/ec2-victim-ssh-brute-force-target.json"
            )),
        )
        .expect("victim");
        let out = serde_json::to_value(&victim).expect("json");
        assert_eq!(out["decision"]["route"], "notify-only");
        assert_eq!(out["decision"]["disposition"], "notify");
        assert_eq!(
            out["decision"]["recommendedFix"],
            "restrict SSH (port 22) to known addresses in the instance's security groups and network ACLs, or close it and connect through Session Manager; check the instance's SSH log for a login that succeeded"
        );
        assert_eq!(out["finding"]["resourceRole"], "TARGET");
        // The fix travels with the document to notify.
        let input = TaskInput::from_value(out).expect("task input");
        assert_eq!(input.decision, victim.decision);

        // The same finding type with the instance as the actor is contained, as before.
        let actor = classify(
            &policy,
            &ALL,
            &fixture(include_str!(
                "../../../fixtures/events/ec2-ssh-brute-force-actor.json"
            )),
        )
        .expect("actor");
        assert_eq!(
            (actor.decision.route, actor.decision.disposition),
            (Route::Ec2, Disposition::Contain)
        );
        assert_eq!(actor.decision.recommended_fix, None);

        // A HIGH port probe is not contained either: severity does not make a victim an attacker.
        let probe = classify(
            &policy,
            &ALL,
            &fixture(include_str!(
                "../../../fixtures/events/ec2-victim-port-probe.json"
            )),
        )
        .expect("probe");
        assert_eq!(
            (probe.decision.tier, probe.decision.disposition),
            (Tier::High, Disposition::Notify)
        );
    }

    /// The state machine is not changed for victims: `RouteByDisposition` sends every
    /// disposition but `contain` and `request-approval` to `NotifyRecorded`, which hands the
    /// decision (and its recommended fix) to notify. This reads the Choice state and follows it
    /// for a victim's document.
    #[test]
    fn a_victim_s_decision_reaches_notify_recorded_unchanged() {
        let machine: Value = serde_json::from_str(include_str!(
            "../../../statemachines/remediate-finding.asl.json"
        ))
        .expect("state machine");
        let states = &machine["States"];
        let choice = &states["RouteByDisposition"];
        let victim = classify(
            &Policy::default(),
            &ALL,
            &fixture(include_str!(
                "../../../fixtures/events/ec2-victim-port-probe.json"
            )),
        )
        .expect("victim");
        let doc = serde_json::to_value(&victim).expect("json");
        let choices = choice["Choices"].as_array().expect("choices");
        let next = choices
            .iter()
            .find(|c| {
                // Only the simple rules this state uses today; another kind fails the test so
                // that it is read again.
                let path = c["Variable"].as_str().expect("a Variable rule");
                let want = c["StringEquals"].as_str().expect("a StringEquals rule");
                let pointer = path.trim_start_matches('$').replace('.', "/");
                doc.pointer(&pointer).and_then(Value::as_str) == Some(want)
            })
            .map(|c| &c["Next"])
            .unwrap_or(&choice["Default"]);
        assert_eq!(next, "NotifyRecorded");
        let notify = &states["NotifyRecorded"]["Parameters"];
        assert_eq!(notify["outcome"], "recorded");
        assert_eq!(notify["decision.$"], "$.decision");
    }

    /// A finding from a region outside ALLOWED_REGIONS is refused before any decision, by its
    /// own name, whichever way it arrived (GuardDuty's event, or a Security Hub custom action
    /// carrying the region in the ASFF copy); inside the list nothing changes.
    #[test]
    fn a_finding_from_a_region_outside_the_list_is_refused_by_name() {
        let policy = Policy::default();
        let elsewhere = AllowedRegions::parse("us-east-1,eu-central-1").expect("regions");
        let event = fixture(include_str!(
            "../../../fixtures/events/ec2-high-single-eni.json"
        ));
        let e = handle(&policy, &elsewhere, &event).expect_err("eu-west-1 is not allowed");
        assert_eq!(e.name, names::FINDING_REGION_NOT_ALLOWED);
        assert_eq!(
            e.message,
            "finding 3e1a5c7b9d2f4a6c8e0b1d3f5a7c9e11 (Backdoor:EC2/C&CActivity.B, account \
             111111111111) is in region eu-west-1, which is not in ALLOWED_REGIONS (us-east-1, \
             eu-central-1): the pipeline does not act there; contain it by hand or add the \
             region to the deployment's AllowedRegions"
        );
        let custom_action = fixture(include_str!(
            "../../../fixtures/events/securityhub-custom-action-ec2.json"
        ));
        assert_eq!(
            handle(&policy, &elsewhere, &custom_action)
                .expect_err("custom action in eu-west-1")
                .name,
            names::FINDING_REGION_NOT_ALLOWED
        );

        // The same event where its region is listed gets the very decision it gets with every
        // region allowed.
        let here = AllowedRegions::parse("us-east-1,eu-west-1").expect("regions");
        assert_eq!(
            classify(&policy, &here, &event).expect("allowed"),
            classify(&policy, &ALL, &event).expect("all")
        );
        // A malformed event is still reported as malformed, not as a region problem.
        let e = handle(
            &policy,
            &elsewhere,
            &fixture(include_str!(
                "../../../fixtures/events/malformed-missing-type.json"
            )),
        )
        .expect_err("no type");
        assert_eq!(e.name, names::FINDING_INVALID);
    }

    /// The refusal reaches the team: the Classify state catches `Finding.RegionNotAllowed` by
    /// name (not only through its `States.ALL` fallback) and hands it to NotifyRejectedEvent,
    /// which notifies and then fails the execution (EventRejected, which the
    /// remediation-failed alarm counts).
    #[test]
    fn the_state_machine_notifies_a_refused_region() {
        let machine: Value = serde_json::from_str(include_str!(
            "../../../statemachines/remediate-finding.asl.json"
        ))
        .expect("state machine");
        let states = &machine["States"];
        let catchers = states["Classify"]["Catch"].as_array().expect("Catch");
        let named = catchers
            .iter()
            .find(|c| {
                c["ErrorEquals"]
                    .as_array()
                    .expect("ErrorEquals")
                    .iter()
                    .any(|n| n == names::FINDING_REGION_NOT_ALLOWED.as_str())
            })
            .expect("Classify catches Finding.RegionNotAllowed by name");
        assert_eq!(named["Next"], "NotifyRejectedEvent");
        assert_eq!(named["ResultPath"], "$.error");
        assert_eq!(states["NotifyRejectedEvent"]["Next"], "EventRejected");
        assert_eq!(states["EventRejected"]["Type"], "Fail");
        assert_eq!(states["EventRejected"]["ErrorPath"], "$.error.Error");
    }

    #[test]
    fn the_same_event_always_gets_the_same_decision() {
        let policy = Policy::default();
        let a = fixture(include_str!(
            "../../../fixtures/events/ec2-duplicate-delivery-a.json"
        ));
        let b = fixture(include_str!(
            "../../../fixtures/events/ec2-duplicate-delivery-b.json"
        ));
        let u = fixture(include_str!(
            "../../../fixtures/events/ec2-update-same-finding.json"
        ));
        let (a, b, u) = (
            classify(&policy, &ALL, &a).expect("a"),
            classify(&policy, &ALL, &b).expect("b"),
            classify(&policy, &ALL, &u).expect("u"),
        );
        assert_eq!(a, b);
        assert_eq!(a.decision, u.decision);
        assert!(u.finding.count > a.finding.count);
    }
}
