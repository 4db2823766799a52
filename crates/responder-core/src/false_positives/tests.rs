//! The rate's verdict at, under and over the threshold, and what `classify` reads from the
//! event.

use serde_json::json;

use super::*;

const TYPE: &str = "Backdoor:EC2/C&CActivity.B";

fn reading(actions: u32, false_positives: u32) -> LedgerReading {
    LedgerReading {
        finding_type: TYPE.into(),
        actions,
        false_positives,
        window_days: 7,
        since: "2025-02-01T16:00:00Z".into(),
        reenabled_at: None,
        first_crossing: false,
    }
}

/// One row per case: the policy's threshold and minimum, the counts, the verdict.
#[test]
fn the_verdict_at_under_and_over_the_threshold() {
    use Verdict::*;
    let cases: &[(&str, f64, u32, u32, u32, Verdict)] = &[
        // name, threshold %, min actions, actions, false positives, verdict
        ("no actions at all", 10.0, 5, 0, 0, TooFewActions),
        (
            "below the minimum, all marked",
            10.0,
            5,
            4,
            4,
            TooFewActions,
        ),
        ("at the minimum, none marked", 10.0, 5, 5, 0, Automatic),
        (
            "at the minimum, one marked (20%)",
            10.0,
            5,
            5,
            1,
            ApprovalFirst,
        ),
        ("exactly the threshold (1 of 10)", 10.0, 5, 10, 1, Automatic),
        ("exactly the threshold (2 of 20)", 10.0, 5, 20, 2, Automatic),
        ("just under (1 of 11)", 10.0, 5, 11, 1, Automatic),
        ("just over (1 of 9)", 10.0, 5, 9, 1, ApprovalFirst),
        ("well over (2 of 8)", 10.0, 5, 8, 2, ApprovalFirst),
        (
            "threshold 0: any mark turns it",
            0.0,
            5,
            5,
            1,
            ApprovalFirst,
        ),
        ("threshold 0: no mark, no turn", 0.0, 5, 5, 0, Automatic),
        ("threshold 100: never above", 100.0, 5, 5, 5, Automatic),
        ("minimum 1", 10.0, 1, 1, 1, ApprovalFirst),
    ];
    for (name, threshold, min, actions, fps, want) in cases {
        let p = FalsePositivePolicy {
            window_days: 7,
            threshold_percent: *threshold,
            min_actions: *min,
        };
        assert_eq!(p.judge(*actions, *fps), *want, "{name}");
        let (check, _) = p.check(&LedgerInput::Reading(reading(*actions, *fps)));
        assert_eq!(check.verdict, *want, "{name}");
    }
}

#[test]
fn the_reasons_carry_the_numbers_and_name_their_sources() {
    let p = FalsePositivePolicy::default();
    let cases = [
        (
            reading(8, 2),
            "false positives of Backdoor:EC2/C&CActivity.B: 2 of 8 automatic actions (25%) over 7 days, above 10% (false-positive ledger of the security account, written by the pipeline and analysts; policy: false_positives.threshold_percent 10, window_days 7, min_actions 5): approval first",
        ),
        (
            reading(20, 2),
            "false positives of Backdoor:EC2/C&CActivity.B: 2 of 20 automatic actions (10%) over 7 days, not above 10% (false-positive ledger of the security account, written by the pipeline and analysts; policy: false_positives.threshold_percent 10): automatic containment stays",
        ),
        (
            reading(1, 1),
            "false positives of Backdoor:EC2/C&CActivity.B: 1 of 1 automatic action (100%) over 7 days, fewer than 5 actions to judge (false-positive ledger of the security account, written by the pipeline and analysts; policy: false_positives.min_actions 5): automatic containment stays",
        ),
        (
            reading(0, 0),
            "false positives of Backdoor:EC2/C&CActivity.B: 0 of 0 automatic actions over 7 days, fewer than 5 actions to judge (false-positive ledger of the security account, written by the pipeline and analysts; policy: false_positives.min_actions 5): automatic containment stays",
        ),
        (
            LedgerReading {
                since: "2025-02-05T09:30:00Z".into(),
                reenabled_at: Some("2025-02-05T09:30:00Z".into()),
                ..reading(6, 2)
            },
            "false positives of Backdoor:EC2/C&CActivity.B: 2 of 6 automatic actions (33.3%) since automatic containment was re-enabled at 2025-02-05T09:30:00Z, above 10% (false-positive ledger of the security account, written by the pipeline and analysts; policy: false_positives.threshold_percent 10, window_days 7, min_actions 5): approval first",
        ),
    ];
    for (r, want) in cases {
        let (_, reason) = p.check(&LedgerInput::Reading(r));
        assert_eq!(reason, want);
    }
    let (check, reason) = p.check(&LedgerInput::Unavailable(
        "Remediation.Throttled: dynamodb:Query was throttled".into(),
    ));
    assert_eq!(check.verdict, Verdict::LedgerUnavailable);
    assert_eq!(
        reason,
        "the false-positive ledger of the security account, written by the pipeline and analysts could not be read (Remediation.Throttled: dynamodb:Query was throttled): automatic containment proceeds without it (a ledger outage never holds containment back)"
    );
}

/// Only the first execution to find the type above its threshold tells the team, with the
/// numbers in its headline.
#[test]
fn only_the_first_crossing_tells_the_team() {
    let p = FalsePositivePolicy::default();
    let first = LedgerReading {
        first_crossing: true,
        ..reading(8, 2)
    };
    let (check, _) = p.check(&LedgerInput::Reading(first.clone()));
    assert!(check.tells_the_team());
    assert_eq!(
        check.headline().as_deref(),
        Some("automatic containment of Backdoor:EC2/C&CActivity.B turned to approval-first: 2 of 8 automatic actions (25%) over 7 days (above 10%); review the suppression rules")
    );
    let (later, _) = p.check(&LedgerInput::Reading(reading(9, 2)));
    assert!(!later.tells_the_team());
    assert_eq!(later.headline(), None);
    // A first crossing flag under the threshold (a policy changed in between) tells nothing.
    let (under, _) = p.check(&LedgerInput::Reading(LedgerReading {
        first_crossing: true,
        ..reading(20, 1)
    }));
    assert_eq!(under.headline(), None);
}

#[test]
fn the_ledger_input_is_read_from_the_event() {
    let with = |v: serde_json::Value| json!({"detail": {"type": TYPE}, EVENT_KEY: v});
    assert_eq!(LedgerInput::from_event(&json!({"detail": {}}), TYPE), None);
    assert_eq!(LedgerInput::from_event(&with(json!(null)), TYPE), None);
    assert_eq!(
        LedgerInput::from_event(
            &with(serde_json::to_value(reading(8, 2)).expect("json")),
            TYPE
        ),
        Some(LedgerInput::Reading(reading(8, 2)))
    );
    let cases = [
        (
            json!({"Error": "Remediation.Throttled", "Cause": "{\"errorType\":\"Remediation.Throttled\",\"errorMessage\":\"dynamodb:Query was throttled\"}"}),
            "Remediation.Throttled: dynamodb:Query was throttled",
        ),
        (
            json!({"Error": "States.Timeout", "Cause": ""}),
            "States.Timeout",
        ),
        (
            json!({"Error": "Lambda.Unknown", "Cause": "The cause could not be determined"}),
            "Lambda.Unknown: The cause could not be determined",
        ),
        (
            serde_json::to_value(LedgerReading {
                finding_type: "Recon:EC2/Portscan".into(),
                ..reading(8, 2)
            })
            .expect("json"),
            "the reading is for finding type \"Recon:EC2/Portscan\", not \"Backdoor:EC2/C&CActivity.B\"",
        ),
    ];
    for (v, want) in cases {
        assert_eq!(
            LedgerInput::from_event(&with(v), TYPE),
            Some(LedgerInput::Unavailable(want.to_string()))
        );
    }
    match LedgerInput::from_event(&with(json!({"actions": "many"})), TYPE) {
        Some(LedgerInput::Unavailable(why)) => {
            assert!(why.starts_with("the reading is not readable"), "{why}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn settings_are_checked() {
    assert!(FalsePositivePolicy::default().problems().is_empty());
    let p = FalsePositivePolicy {
        window_days: 31,
        threshold_percent: 101.0,
        min_actions: 0,
    };
    assert_eq!(
        p.problems(),
        [
            "false_positives.window_days is 31; expected 1 to 30 (the ledger keeps 35 days)",
            "false_positives.threshold_percent is 101; expected 0 to 100",
            "false_positives.min_actions is 0; expected at least 1",
        ]
    );
}

/// The check serializes flat, as the notification and the approval request read it.
#[test]
fn the_check_serializes_flat() {
    let (check, _) = FalsePositivePolicy::default().check(&LedgerInput::Reading(reading(8, 2)));
    assert_eq!(
        serde_json::to_value(&check).expect("json"),
        json!({
            "verdict": "approval-first", "findingType": TYPE, "actions": 8, "falsePositives": 2,
            "windowDays": 7, "since": "2025-02-01T16:00:00Z", "firstCrossing": false,
            "thresholdPercent": 10.0, "minActions": 5
        })
    );
    let back: FalsePositiveCheck =
        serde_json::from_value(serde_json::to_value(&check).expect("json")).expect("back");
    assert_eq!(back, check);
}
