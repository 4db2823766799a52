//! The HTML pages. Every response goes through [`page`], which sets the security headers, and
//! every value from a link is escaped by [`escape`]. No page carries the task token or the
//! signed link: the form posts back to the page's own address by leaving out `action`.

use approval_link::{FindingSummary, Intent, LinkError, Payload};
use chrono::DateTime;
use http::{header, HeaderValue, Response, StatusCode};

use crate::{Answer, CallbackError};

/// The headers every response carries.
pub const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("content-type", "text/html; charset=utf-8"),
    ("cache-control", "no-store"),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    (
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    ),
    ("x-frame-options", "DENY"),
];

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;color:#222}\
table{border-collapse:collapse;margin:1rem 0}th,td{text-align:left;padding:.25rem .75rem .25rem 0;vertical-align:top}\
th{color:#555;font-weight:normal}td{font-family:ui-monospace,monospace;word-break:break-all}\
label{display:block;margin:.75rem 0}input,textarea{width:100%;box-sizing:border-box;padding:.4rem}\
button{padding:.6rem 1.2rem;margin:1rem .5rem 0 0;font-size:1rem;cursor:pointer}\
.approve{background:#b00020;color:#fff;border:0}.reject{background:#eee;border:1px solid #999}";

/// HTML-escapes text for element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A full page with the security headers. `title` is plain text; `content` is HTML.
pub fn page(status: StatusCode, title: &str, content: &str) -> Response<String> {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex, nofollow\">\
         <title>{t}</title><style>{STYLE}</style></head>\
         <body><h1>{t}</h1>\n{content}\n</body></html>\n",
        t = escape(title)
    );
    let mut res = Response::new(body);
    *res.status_mut() = status;
    let headers = res.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(*name, HeaderValue::from_static(value));
    }
    res
}

fn summary_table(f: &FindingSummary, expires_at: i64) -> String {
    let deadline = DateTime::from_timestamp(expires_at, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default();
    let rows = [
        ("Finding type", f.finding_type.clone()),
        ("Severity", format!("{:.1}", f.severity)),
        ("Account", f.account.clone()),
        ("Region", f.region.clone()),
        ("Resource", f.resource.clone()),
        ("Finding id", f.id.clone()),
        ("Decide before", deadline),
    ];
    let mut html = String::from("<table>");
    for (k, v) in rows {
        html.push_str(&format!("<tr><th>{k}</th><td>{}</td></tr>", escape(&v)));
    }
    // Written on the host, so the attacker's text: escaped like every value, and labelled.
    for line in &f.evidence {
        html.push_str(&format!(
            "<tr><th>On the host (attacker-written)</th><td><code>{}</code></td></tr>",
            escape(line)
        ));
    }
    html.push_str("</table>");
    html
}

/// What approval will do, as the approval request said it (empty for links issued without it).
fn plan_list(plan: &[String]) -> String {
    if plan.is_empty() {
        return String::new();
    }
    let items: String = plan
        .iter()
        .map(|step| format!("<li>{}</li>", escape(step)))
        .collect();
    format!("<p>If you approve, the pipeline will:</p><ul>{items}</ul>")
}

/// `GET`: the finding and the decision form. Decides nothing.
pub fn confirm(p: &Payload) -> Response<String> {
    let approve = "<button type=\"submit\" name=\"decision\" value=\"approve\" class=\"approve\">Approve containment</button>";
    let reject = "<button type=\"submit\" name=\"decision\" value=\"reject\" class=\"reject\">Reject</button>";
    // A false positive is a rejection that also counts against the finding type's automatic
    // containment (the false-positive ledger; see the README, "False positives").
    let false_positive = "<button type=\"submit\" name=\"decision\" value=\"false-positive\" class=\"reject\">Reject: false positive</button>";
    let (title, buttons) = match p.intent {
        Intent::Approve => (
            "Approve containment?",
            format!("{approve}{reject}{false_positive}"),
        ),
        Intent::Reject => (
            "Reject containment?",
            format!("{reject}{false_positive}{approve}"),
        ),
    };
    let content = format!(
        "<p>GuardDuty reported this finding. The response pipeline is waiting for an analyst \
         before it contains the resource. Nothing has been decided yet: opening this page \
         decides nothing.</p>{table}\
         <form method=\"post\">\
         <label>Your name or email (recorded with the decision)\
         <input name=\"analyst\" maxlength=\"200\" autocomplete=\"email\"></label>\
         <label>Comment (optional)<textarea name=\"comment\" rows=\"3\" maxlength=\"2000\"></textarea></label>\
         {plan}{buttons}</form>",
        table = summary_table(&p.finding, p.expires_at),
        plan = plan_list(&p.finding.plan),
    );
    page(StatusCode::OK, title, &content)
}

/// The decision was recorded.
pub fn decided(p: &Payload, a: &Answer, decided_at: &str) -> Response<String> {
    let by = a.analyst.as_deref().unwrap_or("an unnamed analyst");
    let (title, what) = if a.approve {
        (
            "Containment approved",
            "The pipeline now contains the resource. The result is sent to the usual notification channel.",
        )
    } else if a.false_positive {
        (
            "Containment rejected: false positive",
            "Nothing is changed on the resource. The rejection is recorded and notified, and the \
             finding is marked as a false positive of its type.",
        )
    } else {
        (
            "Containment rejected",
            "Nothing is changed on the resource. The rejection is recorded and notified.",
        )
    };
    let content = format!(
        "<p>{what}</p><p>Recorded: {} by {} at {}.</p>{}",
        match (a.approve, a.false_positive) {
            (true, _) => "approved",
            (false, true) => "rejected as a false positive",
            (false, false) => "rejected",
        },
        escape(by),
        escape(decided_at),
        summary_table(&p.finding, p.expires_at)
    );
    page(StatusCode::OK, title, &content)
}

/// A link that is not genuine, cut short, or expired.
pub fn link_error(e: LinkError) -> Response<String> {
    match e {
        LinkError::Malformed => page(
            StatusCode::BAD_REQUEST,
            "Incomplete approval link",
            "<p>This address is not a complete approval link. Mail programs sometimes cut long \
             links: copy the whole link from the message into the address bar.</p>",
        ),
        LinkError::BadSignature => page(
            StatusCode::FORBIDDEN,
            "Invalid approval link",
            "<p>This approval link is not valid: it was altered, or it was not issued by this \
             pipeline. Nothing was decided.</p>",
        ),
        LinkError::Expired => page(
            StatusCode::GONE,
            "Approval link expired",
            "<p>The time to decide on this finding has passed. Nothing was decided through \
             this link; the pipeline handled the request as timed out.</p>",
        ),
    }
}

/// A form that cannot be read.
pub fn bad_form(why: &str) -> Response<String> {
    page(
        StatusCode::BAD_REQUEST,
        "Answer not understood",
        &format!(
            "<p>{} Nothing was decided. Open the link from the message again and use the \
             buttons on the page.</p>",
            escape(why)
        ),
    )
}

/// Step Functions refused the answer.
pub fn callback_error(e: &CallbackError) -> Response<String> {
    match e {
        CallbackError::TaskTimedOut => page(
            StatusCode::GONE,
            "Request no longer open",
            "<p>This request can no longer be decided: it was already answered, or the \
             pipeline stopped waiting for an answer. Your answer was not recorded.</p>",
        ),
        CallbackError::InvalidToken | CallbackError::TaskDoesNotExist => page(
            StatusCode::CONFLICT,
            "Already decided",
            "<p>This request was already decided, or its workflow has ended. Your answer was \
             not recorded.</p>",
        ),
        CallbackError::Unavailable(_) => {
            let mut res = page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Please try again",
                "<p>Your answer could not be recorded right now. Nothing was decided. Go back \
                 and submit it again in a few seconds.</p>",
            );
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            res
        }
        CallbackError::Failed(_) => page(
            StatusCode::BAD_GATEWAY,
            "Answer not recorded",
            "<p>Your answer could not be recorded. Nothing was decided. Tell the security \
             operations team; the error is in the approval-callback logs.</p>",
        ),
    }
}

/// A path other than the approval path.
pub fn not_found() -> Response<String> {
    page(
        StatusCode::NOT_FOUND,
        "Not found",
        "<p>There is nothing here.</p>",
    )
}

/// A method other than GET, HEAD and POST.
pub fn method_not_allowed() -> Response<String> {
    let mut res = page(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed",
        "<p>Open the approval link in a browser.</p>",
    );
    res.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, POST"));
    res
}
