//! Fitting a message body into SNS's size limit by trimming, never by failing.
//!
//! The order keeps what an analyst needs most: first the before/after states of actions go
//! (the execution history keeps them), then long strings and lists are cut step by step in the
//! report sections, then whole report sections, and as a last resort everything is cut. The
//! finding summary, outcome, execution and next steps are touched only at the very end.

use serde_json::{json, Value};

/// Sections cut before the rest, in this order of steps.
const REPORT_SECTIONS: &[&str] = &[
    "actions",
    "evidence",
    "exemption",
    "otherResults",
    "error",
    "reason",
    "decision",
    "input",
];

/// Limits (longest string, longest list) of the successive cutting steps.
const STEPS: &[(usize, usize)] = &[(4096, 100), (1024, 25), (256, 10), (64, 3)];

/// Renders `body` as the published text, trimming it to at most `budget` bytes.
/// Returns the text and whether anything was trimmed.
pub fn fit(mut body: Value, budget: usize) -> (String, bool) {
    let text = render(&body);
    if text.len() <= budget {
        return (text, false);
    }
    if let Some(obj) = body.as_object_mut() {
        obj.insert("trimmed".into(), Value::Bool(true));
        obj.insert(
            "trimNote".into(),
            json!("parts of this message were cut to fit SNS's 256 KiB limit; the execution history holds the full record"),
        );
    }
    // 1. Before/after states of every action.
    if let Some(Value::Array(actions)) = body.get_mut("actions") {
        for a in actions.iter_mut().filter_map(Value::as_object_mut) {
            a.remove("before");
            a.remove("after");
        }
    }
    if let Some(text) = fits(&body, budget) {
        return (text, true);
    }
    // 2. Long strings and lists in the report sections, step by step.
    for &(max_str, max_list) in STEPS {
        for key in REPORT_SECTIONS {
            if let Some(v) = body.get_mut(*key) {
                shrink(v, max_str, max_list);
            }
        }
        if let Some(text) = fits(&body, budget) {
            return (text, true);
        }
    }
    // 3. Whole report sections.
    for key in REPORT_SECTIONS {
        if let Some(v) = body.get_mut(*key) {
            *v = json!("(dropped to fit the message size limit)");
        }
        if let Some(text) = fits(&body, budget) {
            return (text, true);
        }
    }
    // 4. Everything.
    shrink(&mut body, 64, 3);
    if let Some(text) = fits(&body, budget) {
        return (text, true);
    }
    // 5. A body that always fits.
    let mut minimal = json!({
        "outcome": body.get("outcome").cloned().unwrap_or(Value::Null),
        "finding": body.get("finding").and_then(|f| f.get("id")).cloned().unwrap_or(Value::Null),
        "execution": body.get("execution").cloned().unwrap_or(Value::Null),
        "trimmed": true,
        "trimNote": "the message was too large to send; open the execution for the full record",
    });
    shrink(&mut minimal, 64, 3);
    (render(&minimal), true)
}

fn render(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".to_string())
}

fn fits(v: &Value, budget: usize) -> Option<String> {
    let text = render(v);
    (text.len() <= budget).then_some(text)
}

/// Cuts every string in `v` to `max_str` bytes and every list (and object) to `max_list`
/// entries, saying what was cut.
pub fn shrink(v: &mut Value, max_str: usize, max_list: usize) {
    match v {
        Value::String(s) if s.len() > max_str => {
            let mut end = max_str;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            let cut = s.len() - end;
            s.truncate(end);
            s.push_str(&format!("...({cut} bytes trimmed)"));
        }
        Value::Array(list) => {
            let more = list.len().saturating_sub(max_list);
            list.truncate(max_list);
            for item in list.iter_mut() {
                shrink(item, max_str, max_list);
            }
            if more > 0 {
                list.push(Value::String(format!("...({more} more trimmed)")));
            }
        }
        Value::Object(map) => {
            // Objects are cut less eagerly than lists: their keys are names an analyst looks for.
            let keep = max_list.saturating_mul(4).max(8);
            let more = map.len().saturating_sub(keep);
            if more > 0 {
                *map = std::mem::take(map).into_iter().take(keep).collect();
            }
            for item in map.values_mut() {
                shrink(item, max_str, max_list);
            }
            if more > 0 {
                map.insert(
                    "_trimmed".into(),
                    json!(format!("{more} more keys trimmed")),
                );
            }
        }
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn small_bodies_are_untouched() {
        let body = json!({"outcome": "contained", "actions": [{"before": 1, "after": 2}]});
        let (text, trimmed) = fit(body.clone(), 10_000);
        assert!(!trimmed);
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), body);
    }

    #[test]
    fn before_and_after_go_first() {
        let big = "x".repeat(5_000);
        let body = json!({
            "outcome": "contained",
            "nextSteps": ["roll back"],
            "actions": [{"action": "a", "detail": "kept", "before": big, "after": big}]
        });
        let (text, trimmed) = fit(body, 2_000);
        assert!(trimmed);
        assert!(text.len() <= 2_000);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["actions"][0]["detail"], "kept");
        assert!(v["actions"][0].get("before").is_none());
        assert_eq!(v["nextSteps"][0], "roll back");
        assert_eq!(v["trimmed"], true);
    }

    #[test]
    fn long_lists_and_strings_are_cut_with_a_marker() {
        let mut v = json!({"ids": (0..50).map(|i| format!("snap-{i}")).collect::<Vec<_>>(), "s": "é".repeat(100)});
        shrink(&mut v, 11, 5);
        let ids = v["ids"].as_array().unwrap();
        assert_eq!(ids.len(), 6);
        assert_eq!(ids[5], "...(45 more trimmed)");
        let s = v["s"].as_str().unwrap();
        assert!(s.starts_with("ééééé...("), "{s}");
    }

    #[test]
    fn anything_fits_in_the_end() {
        let body = json!({
            "outcome": "failed",
            "finding": {"id": "y".repeat(100_000)},
            "execution": "z".repeat(100_000),
            "nextSteps": vec!["w".repeat(10_000); 100],
        });
        let (text, trimmed) = fit(body, 4_096);
        assert!(trimmed);
        assert!(text.len() <= 4_096, "{}", text.len());
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["outcome"], "failed");
    }
}
