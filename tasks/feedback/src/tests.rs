//! The ledger operations over an in-memory ledger (the DynamoDB adapter is exercised against
//! moto by the end-to-end tests in `tests/tests/e2e/false_positives.rs`).

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::*;

/// (type, finding id) -> (action time, marked)
type Items = BTreeMap<(String, String), (DateTime<Utc>, bool)>;

/// An in-memory [`Ledger`] with the DynamoDB adapter's semantics.
#[derive(Default)]
struct Memory {
    items: Mutex<Items>,
    states: Mutex<BTreeMap<String, TypeState>>,
}

#[async_trait]
impl Ledger for Memory {
    async fn entries(&self, ty: &str, since: DateTime<Utc>) -> Result<Vec<Entry>, TaskError> {
        let items = self.items.lock().expect("lock");
        Ok(items
            .iter()
            .filter(|((t, _), (at, _))| t == ty && *at >= since)
            .map(|(_, (at, marked))| Entry {
                at: *at,
                marked: *marked,
            })
            .collect())
    }
    async fn type_state(&self, ty: &str) -> Result<TypeState, TaskError> {
        Ok(self
            .states
            .lock()
            .expect("lock")
            .get(ty)
            .cloned()
            .unwrap_or_default())
    }
    async fn claim_crossing(&self, ty: &str, now: DateTime<Utc>) -> Result<bool, TaskError> {
        let mut states = self.states.lock().expect("lock");
        let st = states.entry(ty.to_string()).or_default();
        let free = match (st.turned_down_at, st.reenabled_at) {
            (None, _) => true,
            (Some(td), Some(re)) => td < re,
            (Some(_), None) => false,
        };
        if free {
            st.turned_down_at = Some(now);
        }
        Ok(free)
    }
    async fn record_action(&self, a: &Action) -> Result<Written, TaskError> {
        let mut items = self.items.lock().expect("lock");
        let k = (a.finding_type.clone(), a.finding_id.clone());
        if items.contains_key(&k) {
            return Ok(Written::Already);
        }
        items.insert(k, (a.at, false));
        Ok(Written::New)
    }
    async fn mark(&self, m: &Mark) -> Result<Written, TaskError> {
        let mut items = self.items.lock().expect("lock");
        let e = items
            .entry((m.finding_type.clone(), m.finding_id.clone()))
            .or_insert((m.at, false));
        if e.1 {
            return Ok(Written::Already);
        }
        e.1 = true;
        Ok(Written::New)
    }
    async fn reenable(&self, ty: &str, by: &str, now: DateTime<Utc>) -> Result<(), TaskError> {
        let mut states = self.states.lock().expect("lock");
        let st = states.entry(ty.to_string()).or_default();
        st.reenabled_at = Some(now);
        st.reenabled_by = Some(by.to_string());
        Ok(())
    }
}

const TY: &str = "Backdoor:EC2/C&CActivity.B";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-05T12:00:00Z")
        .expect("ok")
        .with_timezone(&Utc)
}

fn action(id: &str, at: DateTime<Utc>) -> Action {
    Action {
        finding_type: TY.into(),
        finding_id: id.into(),
        at,
        execution: None,
        account: "111122223333".into(),
        resource: "Instance i-1".into(),
        disposition: "contain".into(),
    }
}

fn mark(id: &str) -> Mark {
    Mark {
        finding_type: TY.into(),
        finding_id: id.into(),
        at: now(),
        by: "analyst".into(),
        source: "cli".into(),
        reason: None,
    }
}

/// `actions` recorded in the last day, the first `marked` of them marked.
async fn ledger_with(actions: u32, marked: u32) -> Memory {
    let l = Memory::default();
    for i in 0..actions {
        l.record_action(&action(&format!("f{i}"), now() - Duration::hours(1)))
            .await
            .expect("ok");
    }
    for i in 0..marked {
        l.mark(&mark(&format!("f{i}"))).await.expect("ok");
    }
    l
}

#[tokio::test]
async fn the_rate_is_read_over_the_window_and_the_crossing_is_claimed_once() {
    let policy = Policy::default();
    // (actions, marked, verdict, first reading crosses)
    let cases = [
        (10, 1, Verdict::Automatic, false),    // exactly 10%: not above
        (10, 2, Verdict::ApprovalFirst, true), // 20%
        (4, 4, Verdict::TooFewActions, false), // under min_actions
        (5, 1, Verdict::ApprovalFirst, true),  // 20% of the minimum
        (0, 0, Verdict::TooFewActions, false),
    ];
    for (actions, marked, verdict, crosses) in cases {
        let l = ledger_with(actions, marked).await;
        let r = read(&policy, &l, TY, now()).await.expect("ok");
        assert_eq!((r.actions, r.false_positives), (actions, marked));
        assert_eq!(
            policy.false_positives.judge(r.actions, r.false_positives),
            verdict,
            "{actions}/{marked}"
        );
        assert_eq!(r.first_crossing, crosses, "{actions}/{marked}");
        let again = read(&policy, &l, TY, now()).await.expect("ok");
        assert!(!again.first_crossing, "the team is told once");
    }
}

#[tokio::test]
async fn actions_older_than_the_window_do_not_count() {
    let l = Memory::default();
    l.record_action(&action("old", now() - Duration::days(8)))
        .await
        .expect("ok");
    l.mark(&mark("old")).await.expect("ok");
    let r = read(&Policy::default(), &l, TY, now()).await.expect("ok");
    assert_eq!((r.actions, r.false_positives), (0, 0));
    assert_eq!(r.since, "2026-11-28T12:00:00.000Z");
}

#[tokio::test]
async fn re_enabling_starts_the_count_over_and_a_new_crossing_is_told_again() {
    let policy = Policy::default();
    let l = ledger_with(5, 2).await;
    assert!(
        read(&policy, &l, TY, now())
            .await
            .expect("ok")
            .first_crossing
    );
    l.reenable(TY, "lead", now() + Duration::minutes(1))
        .await
        .expect("ok");
    let later = now() + Duration::minutes(2);
    let r = read(&policy, &l, TY, later).await.expect("ok");
    assert_eq!((r.actions, r.false_positives), (0, 0), "{r:?}");
    assert_eq!(r.reenabled_at.as_deref(), Some("2026-12-05T12:01:00.000Z"));
    assert_eq!(r.since, "2026-12-05T12:01:00.000Z");
    for i in 0..5 {
        l.record_action(&action(&format!("g{i}"), later))
            .await
            .expect("ok");
    }
    l.mark(&mark("g0")).await.expect("ok");
    assert!(
        read(&policy, &l, TY, later)
            .await
            .expect("ok")
            .first_crossing
    );
}

#[tokio::test]
async fn a_re_delivered_finding_counts_once_and_a_second_mark_changes_nothing() {
    let l = Memory::default();
    assert_eq!(
        l.record_action(&action("f", now())).await.expect("ok"),
        Written::New
    );
    assert_eq!(
        l.record_action(&action("f", now())).await.expect("ok"),
        Written::Already
    );
    assert_eq!(l.mark(&mark("f")).await.expect("ok"), Written::New);
    assert_eq!(l.mark(&mark("f")).await.expect("ok"), Written::Already);
    assert_eq!(
        l.counts(TY, now() - Duration::days(1)).await.expect("ok"),
        Counts {
            actions: 1,
            false_positives: 1
        }
    );
}

#[test]
fn mark_requests_name_their_finding() {
    let ok = [
        json!({"findingType": TY, "findingId": "abc", "by": "ana", "reason": "pen test"}),
        json!({"findingType": TY, "findingArn": "arn:aws:guardduty:us-east-1:111122223333:detector/d/finding/abc"}),
    ];
    for r in ok {
        let m = mark_of(&r, now()).expect("ok");
        assert_eq!(
            (m.finding_type.as_str(), m.finding_id.as_str()),
            (TY, "abc")
        );
    }
    let bad = [
        (json!({"findingId": "abc"}), "names its finding"),
        (json!({"findingType": TY}), "names its finding"),
        (
            json!({"findingType": "nonsense", "findingId": "abc"}),
            "not a GuardDuty finding type",
        ),
        (json!({"state": {"finding": {"id": 1}}}), "not readable"),
    ];
    for (r, why) in bad {
        let e = mark_of(&r, now()).expect_err("an error");
        assert_eq!(e.name, names::INPUT_INVALID);
        assert!(e.message.contains(why), "{r}: {}", e.message);
    }
    let long = "x".repeat(MAX_REASON_CHARS + 50);
    let m = mark_of(
        &json!({"findingType": TY, "findingId": "a", "reason": long}),
        now(),
    )
    .expect("ok");
    assert_eq!(m.reason.expect("ok").len(), MAX_REASON_CHARS);
}

#[tokio::test]
async fn unknown_ops_and_unreadable_events_are_answered_by_name() {
    let l = Memory::default();
    let p = Policy::default();
    let e = handle(&json!({"op": "drop"}), &p, &l, now())
        .await
        .expect_err("an error");
    assert_eq!(e.name, names::INPUT_INVALID);
    let v = handle(
        &json!({"op": "read", "event": {"detail": "x"}}),
        &p,
        &l,
        now(),
    )
    .await
    .expect("ok");
    assert!(v.is_null(), "classify refuses the event itself: {v}");
}
