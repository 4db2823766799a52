//! Pagination through the SDK: `maxResults` (absent or 0 means 100, at most 1000),
//! `nextToken` until the last page, which has none; `reverseOrder` and `includeExecutionData`
//! for history; a token is bound to the listing it came from.

use aws_sdk_sfn::types::HistoryEventType;

use super::Local;

#[tokio::test]
async fn list_state_machines_pages_by_name() {
    let l = Local::start().await;
    for i in 0..3 {
        l.engine
            .create_state_machine(
                &format!("extra-{i}"),
                r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
                "arn:aws:iam::111111111111:role/local-sfn",
            )
            .expect("valid");
    }
    let mut names = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = l
            .sfn
            .list_state_machines()
            .max_results(2)
            .set_next_token(token)
            .send()
            .await
            .expect("a page");
        pages += 1;
        assert!(page.state_machines().len() <= 2);
        names.extend(page.state_machines().iter().map(|m| m.name().to_string()));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        names,
        ["extra-0", "extra-1", "extra-2", "fail", "pass", "wait"]
    );
    assert_eq!(pages, 3, "no empty page at the end");
}

#[tokio::test]
async fn list_executions_pages_newest_first_and_keeps_its_place() {
    let l = Local::start().await;
    for i in 0..105 {
        l.finished("pass", &format!("run-{i:03}")).await;
    }
    let first = l
        .sfn
        .list_executions()
        .state_machine_arn(l.machine("pass"))
        .send()
        .await
        .expect("a page");
    assert_eq!(first.executions().len(), 100, "100 by default");
    assert_eq!(first.executions()[0].name(), "run-104", "newest first");
    let token = first.next_token().expect("more").to_string();

    // An execution started between two pages does not move the next page.
    l.finished("pass", "late").await;
    let second = l
        .sfn
        .list_executions()
        .state_machine_arn(l.machine("pass"))
        .max_results(0)
        .next_token(&token)
        .send()
        .await
        .expect("the next page");
    let names: Vec<&str> = second.executions().iter().map(|x| x.name()).collect();
    assert_eq!(
        names,
        ["run-004", "run-003", "run-002", "run-001", "run-000"]
    );
    assert_eq!(second.next_token(), None);

    // The same token with another filter is not a token of that listing.
    let refused = l
        .sfn
        .list_executions()
        .state_machine_arn(l.machine("pass"))
        .status_filter(aws_sdk_sfn::types::ExecutionStatus::Succeeded)
        .next_token(&token)
        .send()
        .await
        .expect_err("another listing");
    assert!(refused
        .as_service_error()
        .is_some_and(|e| e.is_invalid_token()));

    // The SDK's paginator walks every page.
    let all: Vec<_> = l
        .sfn
        .list_executions()
        .state_machine_arn(l.machine("pass"))
        .max_results(7)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("every page");
    assert_eq!(all.len(), 106);
    let failed = l
        .sfn
        .list_executions()
        .state_machine_arn(l.machine("pass"))
        .status_filter(aws_sdk_sfn::types::ExecutionStatus::Failed)
        .send()
        .await
        .expect("lists");
    assert!(failed.executions().is_empty());
}

#[tokio::test]
async fn execution_history_pages_both_ways() {
    let l = Local::start().await;
    let arn = l.finished("pass", "history").await;
    let walk = |reverse: bool, size: i32| {
        let sfn = l.sfn.clone();
        let arn = arn.clone();
        async move {
            let mut events = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let page = sfn
                    .get_execution_history()
                    .execution_arn(&arn)
                    .reverse_order(reverse)
                    .max_results(size)
                    .set_next_token(token)
                    .send()
                    .await
                    .expect("a page");
                events.extend(page.events().iter().map(|e| (e.id(), e.r#type().clone())));
                token = page.next_token().map(str::to_string);
                if token.is_none() {
                    return events;
                }
            }
        }
    };
    let forward = walk(false, 1).await;
    let ids: Vec<i64> = forward.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [1, 2, 3, 4]);
    assert_eq!(forward[0].1, HistoryEventType::ExecutionStarted);
    assert_eq!(forward[3].1, HistoryEventType::ExecutionSucceeded);
    let mut backward = walk(true, 3).await;
    backward.reverse();
    assert_eq!(
        backward, forward,
        "reverseOrder lists the same events, latest first"
    );
    assert_eq!(walk(false, 0).await, forward, "0 means the default page");

    // A token is bound to the execution and to the order it was issued for.
    let token = l
        .sfn
        .get_execution_history()
        .execution_arn(&arn)
        .max_results(1)
        .send()
        .await
        .expect("a page")
        .next_token()
        .expect("more")
        .to_string();
    let other = l.finished("pass", "other").await;
    for (execution, reverse) in [(&other, false), (&arn, true)] {
        let refused = l
            .sfn
            .get_execution_history()
            .execution_arn(execution)
            .reverse_order(reverse)
            .next_token(&token)
            .send()
            .await
            .expect_err("another listing");
        assert!(refused
            .as_service_error()
            .is_some_and(|e| e.is_invalid_token()));
    }

    // Without execution data, no event carries an input or an output.
    let bare = l
        .sfn
        .get_execution_history()
        .execution_arn(&arn)
        .include_execution_data(false)
        .send()
        .await
        .expect("history");
    let started = bare.events()[0]
        .execution_started_event_details()
        .expect("details");
    assert_eq!(started.input(), None);
    assert_eq!(
        started.role_arn(),
        Some("arn:aws:iam::111111111111:role/local-sfn")
    );
    let succeeded = bare.events()[3]
        .execution_succeeded_event_details()
        .expect("details");
    assert_eq!(succeeded.output(), None);
}
