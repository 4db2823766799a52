//! Signed approval links.
//!
//! A MEDIUM finding is contained only after an analyst approves it through a link sent by
//! `await-approval` and answered by `approval-callback`. The link carries everything the
//! callback needs, so no table is kept between the two: the Step Functions task token, a short
//! summary of the finding for the page, an expiry and a nonce, authenticated with HMAC-SHA256
//! under a secret both Lambdas share (`APPROVAL_SECRET`).
//!
//! # Format
//!
//! ```text
//! <APPROVAL_BASE_URL>/approval?a=<payload>.<signature>
//! payload   = base64url-nopad(JSON of [`Payload`], with one-letter keys)
//! signature = base64url-nopad(HMAC-SHA256(secret, "approval-link.v1." + payload))
//! ```
//!
//! The MAC covers the encoded payload exactly as sent, with a version prefix so a MAC made for
//! another purpose under the same secret is never accepted here. Verification checks the MAC in
//! constant time before it parses anything, then the expiry.
//!
//! The payload is signed, not encrypted: whoever holds the link can read the task token in it.
//! That is acceptable because a task token alone decides nothing; answering it needs
//! `states:SendTaskSuccess` in the pipeline's account, which only `approval-callback` has. The
//! link itself is the analyst's credential, which is why the pages are served with
//! `Referrer-Policy: no-referrer` and `Cache-Control: no-store`, and why nothing here logs or
//! renders the task token ([`TaskToken`]'s `Debug` is redacted and it has no `Display`).

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use responder_core::{Finding, TaskError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The environment variable holding the shared secret.
pub const SECRET_ENV: &str = "APPROVAL_SECRET";
/// The shortest secret accepted, in bytes: as long as the HMAC-SHA256 output.
pub const MIN_SECRET_BYTES: usize = 32;
/// The path the callback serves, appended to `APPROVAL_BASE_URL`.
pub const PATH: &str = "/approval";
/// The query parameter carrying the signed token.
pub const QUERY_PARAM: &str = "a";
/// The longest signed token accepted. Step Functions task tokens are at most 2048 characters;
/// with the summary and base64 a real token stays well below this. Anything longer is refused
/// before any work is done on it.
pub const MAX_TOKEN_LEN: usize = 6144;
/// The longest text kept for each summary field; findings carry attacker-influenced strings.
pub const MAX_FIELD_LEN: usize = 256;

/// Domain separation prefix of the MAC input.
const MAC_CONTEXT: &[u8] = b"approval-link.v1.";
/// Length of an HMAC-SHA256 tag.
const SIGNATURE_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// Why a link was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not a link this code produces: wrong shape, bad base64, too long, unreadable payload.
    /// Typically a link cut short by a mail client.
    #[error("the approval link is malformed")]
    Malformed,
    /// The signature does not match: the link was altered or signed under another secret.
    #[error("the approval link's signature is not valid")]
    BadSignature,
    /// The link was genuine but its deadline has passed.
    #[error("the approval link has expired")]
    Expired,
}

/// A Step Functions task token. Kept out of logs and pages: `Debug` is redacted, there is no
/// `Display`, and the raw value is only reachable through [`TaskToken::expose`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskToken(String);

impl TaskToken {
    /// Wraps a raw task token.
    pub fn new(raw: impl Into<String>) -> Self {
        TaskToken(raw.into())
    }

    /// The raw token, for the one call that needs it (`SendTaskSuccess` / `SendTaskFailure`).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A short, stable, non-reversible fingerprint (first 8 bytes of SHA-256, hex) that log
    /// lines may carry to correlate a request with its decision.
    pub fn fingerprint(&self) -> String {
        Sha256::digest(self.0.as_bytes())
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl fmt::Debug for TaskToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskToken(<redacted {}>)", self.fingerprint())
    }
}

/// What the link's pages show about the finding. Short one-letter keys keep the link small.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingSummary {
    /// GuardDuty's finding id.
    #[serde(rename = "i")]
    pub id: String,
    /// The finding type.
    #[serde(rename = "t")]
    pub finding_type: String,
    /// Severity, 0.0 to 10.0.
    #[serde(rename = "s")]
    pub severity: f64,
    /// The account of the affected resource.
    #[serde(rename = "a")]
    pub account: String,
    /// The region of the affected resource.
    #[serde(rename = "r")]
    pub region: String,
    /// The affected resource, e.g. `Instance i-0abc` or `AccessKey alice/AKIA...`.
    #[serde(rename = "o")]
    pub resource: String,
    /// The first lines of what GuardDuty saw on the host ([`MAX_EVIDENCE_LINES`], each cut
    /// to [`MAX_EVIDENCE_LEN`]): attacker-written text, escaped by the page.
    #[serde(rename = "v", default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// What approval will do, as the approval request says it (set by `await-approval`; each
    /// step cut to [`MAX_FIELD_LEN`]).
    #[serde(rename = "p", default, skip_serializing_if = "Vec::is_empty")]
    pub plan: Vec<String>,
}

/// The most host-evidence lines a link carries (the page shows them; the notification has all).
pub const MAX_EVIDENCE_LINES: usize = 3;

/// The longest host-evidence line a link carries, in characters.
pub const MAX_EVIDENCE_LEN: usize = 160;

impl FindingSummary {
    /// Summarizes a finding, cutting every text field to [`MAX_FIELD_LEN`].
    pub fn from_finding(f: &Finding) -> Self {
        FindingSummary {
            id: clip(&f.id),
            finding_type: clip(&f.finding_type),
            severity: f.severity,
            account: clip(&f.account_id),
            region: clip(&f.region),
            resource: clip(&format!(
                "{} {}",
                f.resource.resource_type(),
                f.resource.identity()
            )),
            evidence: f
                .host_evidence
                .as_ref()
                .map(|h| {
                    h.lines()
                        .into_iter()
                        .take(MAX_EVIDENCE_LINES)
                        .map(|l| l.chars().take(MAX_EVIDENCE_LEN).collect())
                        .collect()
                })
                .unwrap_or_default(),
            plan: Vec::new(),
        }
    }

    /// The summary with what approval will do.
    pub fn with_plan(mut self, plan: &[String]) -> Self {
        self.plan = plan.iter().map(|p| clip(p)).collect();
        self
    }
}

/// Which answer a link was sent for. Both links lead to the same page, which offers both
/// answers; the intent only decides which button the page puts first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Intent {
    /// The "approve" link of the message.
    Approve,
    /// The "reject" link of the message.
    Reject,
}

/// Everything a link carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    /// The task token of the waiting `.waitForTaskToken` state.
    #[serde(rename = "k")]
    pub task_token: TaskToken,
    /// The finding, for the page.
    #[serde(rename = "f")]
    pub finding: FindingSummary,
    /// The deadline, Unix seconds. The link is refused from this second on.
    #[serde(rename = "e")]
    pub expires_at: i64,
    /// A random value making each link unique; also a harmless id for log lines.
    #[serde(rename = "n")]
    pub nonce: String,
    /// Which answer the link was sent for.
    #[serde(rename = "d")]
    pub intent: Intent,
    /// When the link was issued, Unix seconds (for the `ApprovalWait` metric). Absent in links
    /// issued before the field existed; they still verify.
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<i64>,
}

impl Payload {
    /// A payload with a fresh random nonce.
    pub fn new(
        task_token: TaskToken,
        finding: FindingSummary,
        expires_at: i64,
        intent: Intent,
    ) -> Result<Self, TaskError> {
        Ok(Payload {
            task_token,
            finding,
            expires_at,
            nonce: new_nonce()?,
            intent,
            issued_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .and_then(|d| i64::try_from(d.as_secs()).ok()),
        })
    }
}

/// The shared secret. `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes>)", self.0.len())
    }
}

impl Secret {
    /// Accepts a secret of at least [`MIN_SECRET_BYTES`] bytes, used as given.
    pub fn new(raw: impl Into<Vec<u8>>) -> Result<Self, TaskError> {
        let raw = raw.into();
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Err(TaskError::config(format!(
                "{SECRET_ENV} is not set or blank; it must hold at least {MIN_SECRET_BYTES} bytes"
            )));
        }
        if raw.len() < MIN_SECRET_BYTES {
            return Err(TaskError::config(format!(
                "{SECRET_ENV} is {} bytes long; it must hold at least {MIN_SECRET_BYTES} bytes",
                raw.len()
            )));
        }
        Ok(Secret(raw))
    }

    /// Reads the secret from `APPROVAL_SECRET` (in AWS, injected from Secrets Manager).
    pub fn from_env() -> Result<Self, TaskError> {
        Self::new(std::env::var(SECRET_ENV).unwrap_or_default())
    }
}

/// Signs and verifies links under one secret.
#[derive(Debug, Clone)]
pub struct Signer {
    secret: Secret,
}

impl Signer {
    /// A signer under a secret.
    pub fn new(secret: Secret) -> Self {
        Signer { secret }
    }

    /// A signer under the secret in `APPROVAL_SECRET`.
    pub fn from_env() -> Result<Self, TaskError> {
        Secret::from_env().map(Self::new)
    }

    fn mac(&self, encoded_payload: &str) -> HmacSha256 {
        // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
        let mut mac = match HmacSha256::new_from_slice(&self.secret.0) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(MAC_CONTEXT);
        mac.update(encoded_payload.as_bytes());
        mac
    }

    /// The signed token `payload.signature` for a payload.
    pub fn sign(&self, payload: &Payload) -> String {
        // Serializing plain strings and numbers cannot fail.
        let json = serde_json::to_vec(payload).unwrap_or_default();
        let encoded = URL_SAFE_NO_PAD.encode(json);
        let tag = self.mac(&encoded).finalize().into_bytes();
        format!("{encoded}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// The full link: `<base_url>/approval?a=<token>`. `base_url` is used without its trailing
    /// slashes; see [`validate_base_url`]. Refuses (`Input.Invalid`) a payload whose token would
    /// be longer than [`MAX_TOKEN_LEN`], since [`Signer::verify`] would refuse it.
    pub fn link(&self, base_url: &str, payload: &Payload) -> Result<String, TaskError> {
        let token = self.sign(payload);
        if token.len() > MAX_TOKEN_LEN {
            return Err(TaskError::input(format!(
                "the signed approval token would be {} characters; the limit is {MAX_TOKEN_LEN}",
                token.len()
            )));
        }
        Ok(format!(
            "{}{PATH}?{QUERY_PARAM}={token}",
            base_url.trim_end_matches('/')
        ))
    }

    /// Verifies a signed token at time `now` (Unix seconds): shape, then the signature in
    /// constant time, then the expiry.
    pub fn verify(&self, token: &str, now: i64) -> Result<Payload, LinkError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(LinkError::Malformed);
        }
        let (encoded, signature) = token.split_once('.').ok_or(LinkError::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| LinkError::Malformed)?;
        if signature.len() != SIGNATURE_LEN {
            return Err(LinkError::Malformed);
        }
        self.mac(encoded)
            .verify_slice(&signature)
            .map_err(|_| LinkError::BadSignature)?;
        let json = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| LinkError::Malformed)?;
        let payload: Payload = serde_json::from_slice(&json).map_err(|_| LinkError::Malformed)?;
        if now >= payload.expires_at {
            return Err(LinkError::Expired);
        }
        Ok(payload)
    }
}

/// Checks `APPROVAL_BASE_URL`: an `http://` or `https://` URL with a host and no query or
/// fragment. Returns it without trailing slashes, ready for [`Signer::link`].
pub fn validate_base_url(raw: &str) -> Result<String, TaskError> {
    let bad = |why: &str| {
        TaskError::config(format!(
            "APPROVAL_BASE_URL {raw:?} {why}; expected e.g. https://abc.lambda-url.us-east-1.on.aws"
        ))
    };
    let url = raw.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| bad("is not an http(s) URL"))?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || host.contains('@') {
        return Err(bad("has no host"));
    }
    if url.contains('?') || url.contains('#') {
        return Err(bad("has a query or fragment"));
    }
    if !url
        .bytes()
        .all(|b| b.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&b))
    {
        return Err(bad("has characters not allowed in a URL"));
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// A fresh 128-bit random nonce, base64url.
fn new_nonce() -> Result<String, TaskError> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| TaskError::config(format!("no randomness available for a nonce: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

fn clip(s: &str) -> String {
    if s.len() <= MAX_FIELD_LEN {
        return s.to_string();
    }
    let mut end = MAX_FIELD_LEN;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests;
