use std::sync::Mutex;

use approval_link::{FindingSummary, Intent, Secret};
use http::header::HeaderName;
use http::StatusCode;

use super::*;

const TOKEN: &str = "AQCEAAAAKgAAAAMAAAAAAAAAAbC5-raw-task-token-9f8e7d";
const NOW: i64 = 1_714_564_800; // 2024-05-01T12:00:00Z
const BASE: &str = "https://abc.lambda-url.us-east-1.on.aws";

#[derive(Debug, Clone, PartialEq)]
enum Call {
    Success(String, serde_json::Value),
    Failure(String, String, String),
}

#[derive(Default)]
struct FakeSfn {
    calls: Mutex<Vec<Call>>,
    answer: Option<CallbackError>,
}

#[async_trait]
impl TaskCallbacks for FakeSfn {
    async fn send_task_success(
        &self,
        token: &TaskToken,
        output: &str,
    ) -> Result<(), CallbackError> {
        let output = serde_json::from_str(output).expect("output is JSON");
        self.calls
            .lock()
            .expect("lock")
            .push(Call::Success(token.expose().into(), output));
        self.answer.clone().map_or(Ok(()), Err)
    }

    async fn send_task_failure(
        &self,
        token: &TaskToken,
        error: &str,
        cause: &str,
    ) -> Result<(), CallbackError> {
        self.calls.lock().expect("lock").push(Call::Failure(
            token.expose().into(),
            error.into(),
            cause.into(),
        ));
        self.answer.clone().map_or(Ok(()), Err)
    }
}

fn signer() -> Signer {
    Signer::new(Secret::new(vec![42u8; 32]).expect("secret"))
}

fn setup(answer: Option<CallbackError>) -> (Deps, Arc<FakeSfn>) {
    let fake = Arc::new(FakeSfn {
        answer,
        ..FakeSfn::default()
    });
    (Deps::new(signer(), fake.clone()), fake)
}

fn summary() -> FindingSummary {
    FindingSummary {
        id: "5ec8<script>alert(1)</script>".into(),
        finding_type: "Backdoor:EC2/C&CActivity.B!DNS".into(),
        severity: 5.0,
        account: "123456789012".into(),
        region: "us-east-1".into(),
        resource: "Instance i-0123\"onmouseover=\"x".into(),
        evidence: vec!["script: /tmp/<img src=x onerror=alert(1)>".into()],
        plan: vec!["isolate instance <i-0123>: quarantine".into()],
    }
}

fn link_with(signer: &Signer, expires_at: i64, intent: Intent) -> String {
    let p = Payload::new(TaskToken::new(TOKEN), summary(), expires_at, intent).expect("payload");
    signer.link(BASE, &p).expect("link")
}

fn link() -> String {
    link_with(&signer(), NOW + 3600, Intent::Approve)
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(NOW, 0).expect("time")
}

fn get(uri: &str) -> Request<String> {
    Request::builder()
        .method("GET")
        .uri(uri)
        .body(String::new())
        .expect("request")
}

fn post(uri: &str, form: &str) -> Request<String> {
    Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_string())
        .expect("request")
}

/// Every response: the security headers are there and the task token is not in the body.
fn check(res: &Response<String>) {
    for (name, value) in pages::SECURITY_HEADERS {
        assert_eq!(
            res.headers()
                .get(HeaderName::from_static(name))
                .and_then(|v| v.to_str().ok()),
            Some(*value),
            "header {name} on a {} response",
            res.status()
        );
    }
    assert!(
        !res.body().contains(TOKEN),
        "token in a {} page",
        res.status()
    );
    // Nor the signed link, which carries the token.
    let signed = link();
    let token_part = signed.split_once("?a=").expect("query").1;
    assert!(!res.body().contains(&token_part[..40]));
}

async fn serve(req: Request<String>, deps: &Deps) -> Response<String> {
    let res = handle_at(&req, deps, now()).await;
    check(&res);
    res
}

#[tokio::test]
async fn get_shows_the_escaped_summary_and_the_form_and_decides_nothing() {
    let (deps, fake) = setup(None);
    let res = serve(get(&link()), &deps).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.body();
    assert!(body.contains("Approve containment?"));
    assert!(body.contains("<form method=\"post\">"), "{body}");
    assert!(
        !body.contains("action="),
        "the form posts to the page's own address"
    );
    assert!(body.contains("name=\"decision\" value=\"approve\""));
    assert!(body.contains("name=\"decision\" value=\"reject\""));
    assert!(body.contains("5ec8&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!body.contains("<script>"));
    assert!(
        body.contains("/tmp/&lt;img src=x onerror=alert(1)&gt;") && !body.contains("<img"),
        "host evidence is escaped"
    );
    assert!(
        body.contains("If you approve, the pipeline will:</p><ul><li>isolate instance &lt;i-0123&gt;: quarantine</li></ul>"),
        "the plan, escaped: {body}"
    );
    assert!(body.contains("Backdoor:EC2/C&amp;CActivity.B!DNS"));
    assert!(body.contains("Instance i-0123&quot;onmouseover=&quot;x"));
    assert!(body.contains("2024-05-01 13:00:00 UTC"));
    // The approve link puts the approve button first; the reject link the reject button.
    assert!(body.find("value=\"approve\"") < body.find("value=\"reject\""));
    let reject = serve(get(&link_with(&signer(), NOW + 60, Intent::Reject)), &deps).await;
    assert!(reject.body().contains("Reject containment?"));
    assert!(reject.body().find("value=\"reject\"") < reject.body().find("value=\"approve\""));
    assert!(fake.calls.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn head_decides_nothing_and_has_no_body() {
    let (deps, fake) = setup(None);
    let expired = link_with(&signer(), NOW, Intent::Approve);
    for (uri, status) in [(link(), StatusCode::OK), (expired, StatusCode::GONE)] {
        let req = Request::builder()
            .method("HEAD")
            .uri(uri)
            .body(String::new())
            .expect("request");
        let res = serve(req, &deps).await;
        assert_eq!(res.status(), status);
        assert!(res.body().is_empty());
    }
    assert!(fake.calls.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn post_approve_sends_success_once_with_the_analyst_and_comment() {
    let (deps, fake) = setup(None);
    let res = serve(
        post(
            &link(),
            "decision=approve&analyst=alice%40example.com&comment=looks+bad%0Acontain+it",
        ),
        &deps,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.body().contains("Containment approved"));
    assert!(res.body().contains("alice@example.com"));
    let calls = fake.calls.lock().expect("lock");
    assert_eq!(
        *calls,
        [Call::Success(
            TOKEN.into(),
            json!({
                "approved": true,
                "analyst": "alice@example.com",
                "comment": "looks bad\ncontain it",
                "decidedAt": "2024-05-01T12:00:00Z"
            })
        )]
    );
}

#[tokio::test]
async fn post_reject_sends_failure_with_approval_rejected_and_who_and_when() {
    let (deps, fake) = setup(None);
    let res = serve(
        post(&link(), "decision=reject&analyst=bob&comment=known+scanner"),
        &deps,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.body().contains("Containment rejected"));
    let calls = fake.calls.lock().expect("lock");
    assert_eq!(
        *calls,
        [Call::Failure(
            TOKEN.into(),
            "Approval.Rejected".into(),
            "Rejected by bob at 2024-05-01T12:00:00Z through the approval link: known scanner"
                .into()
        )]
    );
}

#[tokio::test]
async fn post_false_positive_rejects_with_its_own_error_name_for_the_ledger() {
    let (deps, fake) = setup(None);
    let page = serve(get(&link()), &deps).await;
    assert!(
        page.body().contains("value=\"false-positive\""),
        "the page offers the false-positive rejection"
    );
    let res = serve(
        post(
            &link(),
            "decision=false-positive&analyst=bob&comment=backup+agent",
        ),
        &deps,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.body().contains("rejected as a false positive"),
        "{}",
        res.body()
    );
    let calls = fake.calls.lock().expect("lock");
    assert_eq!(
        *calls,
        [Call::Failure(
            TOKEN.into(),
            "Approval.FalsePositive".into(),
            "Rejected as a false positive by bob at 2024-05-01T12:00:00Z through the approval link: backup agent"
                .into()
        )]
    );
}

#[tokio::test]
async fn an_anonymous_answer_is_recorded_as_such() {
    let (deps, fake) = setup(None);
    serve(post(&link(), "decision=reject&analyst=+++&comment="), &deps).await;
    serve(post(&link(), "decision=approve"), &deps).await;
    let calls = fake.calls.lock().expect("lock");
    assert!(
        matches!(&calls[0], Call::Failure(_, _, c) if c.starts_with("Rejected by an unnamed analyst at ")),
        "{calls:?}"
    );
    assert!(
        matches!(&calls[1], Call::Success(_, o) if o["analyst"].is_null() && o["comment"].is_null()),
        "{calls:?}"
    );
}

#[tokio::test]
async fn a_replay_after_the_decision_is_a_conflict_or_gone_page() {
    for (answer, status) in [
        (CallbackError::InvalidToken, StatusCode::CONFLICT),
        (CallbackError::TaskDoesNotExist, StatusCode::CONFLICT),
        (CallbackError::TaskTimedOut, StatusCode::GONE),
        (
            CallbackError::Unavailable("ThrottlingException".into()),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (
            CallbackError::Failed("AccessDeniedException".into()),
            StatusCode::BAD_GATEWAY,
        ),
    ] {
        let (deps, fake) = setup(Some(answer.clone()));
        let res = serve(post(&link(), "decision=approve"), &deps).await;
        assert_eq!(res.status(), status, "{answer:?}");
        let body = res.body();
        assert!(
            body.contains("was not recorded") || body.contains("could not be recorded"),
            "{body}"
        );
        assert!(!res.body().contains("AccessDenied") && !res.body().contains("Throttling"));
        assert_eq!(fake.calls.lock().expect("lock").len(), 1);
    }
    let (deps, _) = setup(Some(CallbackError::Unavailable("x".into())));
    let res = serve(post(&link(), "decision=reject"), &deps).await;
    assert_eq!(
        res.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("5")
    );
}

#[tokio::test]
async fn tampered_foreign_malformed_and_expired_links_are_refused_without_a_call() {
    let (deps, fake) = setup(None);
    let good = link();
    let (base, token) = good.split_once("?a=").expect("query");
    let i = 30;
    let flipped = format!(
        "{base}?a={}{}{}",
        &token[..i],
        if &token[i..=i] == "A" { "B" } else { "A" },
        &token[i + 1..]
    );
    let foreign = link_with(
        &Signer::new(Secret::new(vec![7u8; 32]).expect("secret")),
        NOW + 3600,
        Intent::Approve,
    );
    let expired = link_with(&signer(), NOW, Intent::Approve);
    let cases = [
        (flipped, StatusCode::FORBIDDEN),
        (foreign, StatusCode::FORBIDDEN),
        (expired, StatusCode::GONE),
        (
            format!("{base}?a={}", &token[..token.len() / 2]),
            StatusCode::BAD_REQUEST,
        ),
        (format!("{base}?a="), StatusCode::BAD_REQUEST),
        (base.to_string(), StatusCode::BAD_REQUEST),
    ];
    for (uri, status) in cases {
        for req in [get(&uri), post(&uri, "decision=approve")] {
            let method = req.method().clone();
            let res = serve(req, &deps).await;
            assert_eq!(res.status(), status, "{method} {uri:.90}");
        }
    }
    assert!(fake.calls.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn bad_forms_are_400_and_decide_nothing() {
    let (deps, fake) = setup(None);
    let long_name = format!("decision=approve&analyst={}", "a".repeat(201));
    let long_comment = format!("decision=approve&comment={}", "c".repeat(2001));
    let huge = format!("decision=approve&x={}", "x".repeat(MAX_FORM_BYTES));
    for form in [
        "",
        "decision=",
        "decision=APPROVE",
        "decision=maybe",
        "decision=approve&decision=reject",
        "analyst=alice",
        long_name.as_str(),
        long_comment.as_str(),
        huge.as_str(),
    ] {
        let res = serve(post(&link(), form), &deps).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{form:.60}");
    }
    let json_body = Request::builder()
        .method("POST")
        .uri(link())
        .header("content-type", "application/json")
        .body("{\"decision\":\"approve\"}".to_string())
        .expect("request");
    assert_eq!(
        serve(json_body, &deps).await.status(),
        StatusCode::BAD_REQUEST
    );
    let no_type = Request::builder()
        .method("POST")
        .uri(link())
        .body("decision=approve".to_string())
        .expect("request");
    assert_eq!(
        serve(no_type, &deps).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert!(fake.calls.lock().expect("lock").is_empty());
    // A content type with a charset parameter is a form all the same.
    let with_charset = Request::builder()
        .method("POST")
        .uri(link())
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        )
        .body("decision=approve&decision=approve".to_string())
        .expect("request");
    assert_eq!(serve(with_charset, &deps).await.status(), StatusCode::OK);
    assert_eq!(fake.calls.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn other_methods_are_405_and_other_paths_404() {
    let (deps, fake) = setup(None);
    for method in ["PUT", "DELETE", "OPTIONS", "PATCH"] {
        let req = Request::builder()
            .method(method)
            .uri(link())
            .body(String::new())
            .expect("request");
        let res = serve(req, &deps).await;
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(
            res.headers().get("allow").and_then(|v| v.to_str().ok()),
            Some("GET, HEAD, POST")
        );
    }
    let token = link().split_once("?a=").expect("query").1.to_string();
    let res = serve(get(&format!("{BASE}/favicon.ico?a={token}")), &deps).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(fake.calls.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn a_stage_prefix_and_a_trailing_slash_are_accepted() {
    let (deps, fake) = setup(None);
    let token = link().split_once("?a=").expect("query").1.to_string();
    for uri in [
        format!("https://id.execute-api.eu-west-1.amazonaws.com/prod/approval?a={token}"),
        format!("/approval/?a={token}"),
        format!("/approval?x=1&a={token}"),
    ] {
        assert_eq!(
            serve(get(&uri), &deps).await.status(),
            StatusCode::OK,
            "{uri:.70}"
        );
    }
    let res = serve(
        post(&format!("/prod/approval?a={token}"), "decision=approve"),
        &deps,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(fake.calls.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn handle_uses_the_clock_and_accepts_byte_bodies() {
    // A link valid for an hour from the real clock, served through `handle` with a `Vec<u8>`
    // body, as the local runtime may.
    let (deps, fake) = setup(None);
    let p = Payload::new(
        TaskToken::new(TOKEN),
        summary(),
        Utc::now().timestamp() + 3600,
        Intent::Approve,
    )
    .expect("payload");
    let req = Request::builder()
        .method("POST")
        .uri(signer().link(BASE, &p).expect("link"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"decision=approve".to_vec())
        .expect("request");
    let res = handle(&req, &deps).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(fake.calls.lock().expect("lock").len(), 1);
}

/// The events a Lambda function URL (payload 2.0) and an API Gateway REST API (payload 1.0,
/// with its stage in the path) deliver, read by `lambda_http` as `main.rs` does.
mod lambda_events {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;

    fn token() -> String {
        link().split_once("?a=").expect("query").1.to_string()
    }

    fn function_url(method: &str, body: Option<&str>) -> lambda_http::Request {
        let event = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": "/approval",
            "rawQueryString": format!("a={}", token()),
            "headers": {
                "host": "abc.lambda-url.us-east-1.on.aws",
                "content-type": "application/x-www-form-urlencoded",
                "x-forwarded-proto": "https"
            },
            "requestContext": {
                "accountId": "anonymous",
                "apiId": "abc",
                "domainName": "abc.lambda-url.us-east-1.on.aws",
                "domainPrefix": "abc",
                "http": {
                    "method": method, "path": "/approval", "protocol": "HTTP/1.1",
                    "sourceIp": "198.51.100.7", "userAgent": "Mozilla/5.0"
                },
                "requestId": "r-1",
                "routeKey": "$default",
                "stage": "$default",
                "time": "01/May/2024:12:00:00 +0000",
                "timeEpoch": 1714564800000u64
            },
            // Function URLs base64-encode form bodies.
            "body": body.map(|b| STANDARD.encode(b)),
            "isBase64Encoded": body.is_some()
        });
        lambda_http::request::from_str(&event.to_string()).expect("function URL event")
    }

    fn rest_api(method: &str, body: Option<&str>) -> lambda_http::Request {
        let event = json!({
            "resource": "/approval",
            "path": "/approval",
            "httpMethod": method,
            "headers": {
                "Host": "id.execute-api.us-east-1.amazonaws.com",
                "Content-Type": "application/x-www-form-urlencoded"
            },
            "multiValueHeaders": {},
            "queryStringParameters": { "a": token() },
            "multiValueQueryStringParameters": { "a": [token()] },
            "pathParameters": null,
            "stageVariables": null,
            "requestContext": {
                "accountId": "123456789012",
                "resourceId": "r",
                "stage": "prod",
                "requestId": "r-2",
                "identity": { "sourceIp": "198.51.100.7" },
                "resourcePath": "/approval",
                "httpMethod": method,
                "apiId": "id"
            },
            "body": body,
            "isBase64Encoded": false
        });
        lambda_http::request::from_str(&event.to_string()).expect("REST API event")
    }

    #[tokio::test]
    async fn function_url_and_rest_api_requests_are_served() {
        for build in [function_url, rest_api] {
            let (deps, fake) = setup(None);
            let page = handle_at(&build("GET", None), &deps, now()).await;
            check(&page);
            assert_eq!(page.status(), StatusCode::OK);
            assert!(fake.calls.lock().expect("lock").is_empty());
            let res = handle_at(
                &build("POST", Some("decision=reject&analyst=carol")),
                &deps,
                now(),
            )
            .await;
            check(&res);
            assert_eq!(res.status(), StatusCode::OK, "{}", res.body());
            let calls = fake.calls.lock().expect("lock");
            assert!(
                matches!(&calls[..], [Call::Failure(t, e, c)] if t == TOKEN && e == "Approval.Rejected" && c.starts_with("Rejected by carol")),
                "{calls:?}"
            );
        }
    }
}

/// Every page an analyst can see, compared with its snapshot under `src/snapshots/`: status,
/// headers and HTML exactly, so reordered or extra content, or a header lost, fails (the tests
/// above check single facts). The summary holds markup and quotes: the snapshots show them
/// escaped. `UPDATE_EXPECT=1 cargo test -p approval-callback` rewrites them after a deliberate
/// change.
#[test]
fn every_page_is_exactly_its_snapshot() {
    let approve = Payload::new(
        TaskToken::new(TOKEN),
        summary(),
        NOW + 3600,
        Intent::Approve,
    )
    .expect("payload");
    let reject = Payload::new(TaskToken::new(TOKEN), summary(), NOW + 3600, Intent::Reject)
        .expect("payload");
    let answer = |approve: bool, false_positive: bool| Answer {
        approve,
        false_positive,
        analyst: Some("analyst@example.com <b>".into()),
        comment: Some("checked".into()),
    };
    let pages: Vec<(&str, Response<String>)> = vec![
        ("confirm-approve", pages::confirm(&approve)),
        ("confirm-reject", pages::confirm(&reject)),
        (
            "decided-approved",
            pages::decided(&approve, &answer(true, false), "2024-05-01T12:05:00Z"),
        ),
        (
            "decided-false-positive",
            pages::decided(&reject, &answer(false, true), "2024-05-01T12:05:00Z"),
        ),
        ("link-expired", pages::link_error(LinkError::Expired)),
        ("not-found", pages::not_found()),
    ];
    for (name, res) in pages {
        check(&res);
        let mut headers: Vec<String> = res
            .headers()
            .iter()
            .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("?")))
            .collect();
        headers.sort();
        let text = format!(
            "{}\n{}\n\n{}\n",
            res.status(),
            headers.join("\n"),
            res.body().replace("><", ">\n<")
        );
        expect_test::expect_file![format!("snapshots/{name}.html.txt")].assert_eq(&text);
    }
}
