use super::*;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-test";
const NOW: i64 = 1_700_000_000;

fn signer() -> Signer {
    Signer::new(Secret::new(SECRET).expect("secret"))
}

fn summary() -> FindingSummary {
    FindingSummary {
        id: "5ec8b2c1f2a5d6e7".into(),
        finding_type: "Backdoor:EC2/C&CActivity.B!DNS".into(),
        severity: 5.0,
        account: "123456789012".into(),
        region: "us-east-1".into(),
        resource: "Instance i-0123456789abcdef0".into(),
        evidence: Vec::new(),
        plan: Vec::new(),
    }
}

/// A task token of realistic length (real ones are several hundred to ~1000 characters).
fn task_token(len: usize) -> TaskToken {
    TaskToken::new("AQCEAAAAKgAAAAMAAAAAAAAAAR".repeat(len / 26 + 1)[..len].to_string())
}

fn payload(expires_at: i64) -> Payload {
    Payload::new(task_token(1024), summary(), expires_at, Intent::Approve).expect("payload")
}

/// Replaces the character at `i` by another character of the base64url alphabet.
fn flip(token: &str, i: usize) -> String {
    let mut bytes = token.as_bytes().to_vec();
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("ascii")
}

#[test]
fn a_valid_link_verifies_and_round_trips_the_payload() {
    let p = payload(NOW + 3600);
    let token = signer().sign(&p);
    assert_eq!(signer().verify(&token, NOW), Ok(p.clone()));
    assert_eq!(signer().verify(&token, NOW + 3599), Ok(p));
}

#[test]
fn a_tampered_payload_is_a_bad_signature() {
    let token = signer().sign(&payload(NOW + 3600));
    for i in [0, 10, token.find('.').expect("dot") - 1] {
        assert_eq!(
            signer().verify(&flip(&token, i), NOW),
            Err(LinkError::BadSignature),
            "payload char {i}"
        );
    }
}

#[test]
fn a_payload_re_signed_with_a_later_expiry_but_the_old_signature_is_refused() {
    let s = signer();
    let original = s.sign(&payload(NOW - 10));
    let (_, old_sig) = original.split_once('.').expect("dot");
    let mut later = payload(NOW + 3600);
    later.nonce = "x".into();
    let forged_payload = s.sign(&later);
    let (forged, _) = forged_payload.split_once('.').expect("dot");
    assert_eq!(
        s.verify(&format!("{forged}.{old_sig}"), NOW),
        Err(LinkError::BadSignature)
    );
}

#[test]
fn a_tampered_signature_is_a_bad_signature() {
    let token = signer().sign(&payload(NOW + 3600));
    let dot = token.find('.').expect("dot");
    for i in [dot + 1, dot + 20] {
        assert_eq!(
            signer().verify(&flip(&token, i), NOW),
            Err(LinkError::BadSignature)
        );
    }
}

#[test]
fn a_link_signed_under_another_secret_is_a_bad_signature() {
    let other = Signer::new(Secret::new(vec![7u8; 32]).expect("secret"));
    let token = other.sign(&payload(NOW + 3600));
    assert_eq!(signer().verify(&token, NOW), Err(LinkError::BadSignature));
}

#[test]
fn an_expired_link_is_refused_after_its_signature_is_checked() {
    let token = signer().sign(&payload(NOW));
    assert_eq!(signer().verify(&token, NOW), Err(LinkError::Expired));
    assert_eq!(signer().verify(&token, NOW + 1), Err(LinkError::Expired));
    assert_eq!(signer().verify(&token, NOW - 1).map(|_| ()), Ok(()));
    // An expired link that was also tampered with says nothing about its expiry.
    assert_eq!(
        signer().verify(&flip(&token, 3), NOW + 1),
        Err(LinkError::BadSignature)
    );
}

#[test]
fn malformed_links_are_refused() {
    let s = signer();
    let good = s.sign(&payload(NOW + 3600));
    let (body, sig) = good.split_once('.').expect("dot");
    let long = "A".repeat(MAX_TOKEN_LEN + 1);
    let cases = [
        String::new(),
        "no-dot-at-all".into(),
        body.to_string(),
        format!("{body}."),
        format!("{body}.{}", &sig[..sig.len() - 4]),
        format!("{body}.{sig}AAAA"),
        format!("{body}.not base64!"),
        format!("{body}.{sig}==="),
        long,
    ];
    for case in cases {
        assert_eq!(
            s.verify(&case, NOW),
            Err(LinkError::Malformed),
            "{case:.40}"
        );
    }
}

#[test]
fn a_correctly_signed_payload_that_is_not_a_payload_is_malformed() {
    let s = signer();
    let encoded = URL_SAFE_NO_PAD.encode(b"{\"hello\":1}");
    let tag = s.mac(&encoded).finalize().into_bytes();
    let token = format!("{encoded}.{}", URL_SAFE_NO_PAD.encode(tag));
    assert_eq!(s.verify(&token, NOW), Err(LinkError::Malformed));
}

#[test]
fn nonces_differ_between_links() {
    let a = payload(NOW + 1);
    let b = payload(NOW + 1);
    assert_ne!(a.nonce, b.nonce);
    assert_ne!(signer().sign(&a), signer().sign(&b));
}

#[test]
fn secrets_shorter_than_32_bytes_or_blank_are_refused_with_a_clear_message() {
    let short = Secret::new(vec![1u8; 31]).expect_err("short");
    assert_eq!(short.name, responder_core::names::CONFIG_INVALID);
    assert!(
        short.message.contains("APPROVAL_SECRET is 31 bytes"),
        "{}",
        short.message
    );
    let blank = Secret::new(" ".repeat(40)).expect_err("blank");
    assert!(
        blank.message.contains("not set or blank"),
        "{}",
        blank.message
    );
    let empty = Secret::new(Vec::new()).expect_err("empty");
    assert!(
        empty.message.contains("not set or blank"),
        "{}",
        empty.message
    );
    assert!(Secret::new(vec![1u8; 32]).is_ok());
    assert_eq!(
        format!("{:?}", Secret::new(SECRET).expect("ok")),
        "Secret(<37 bytes>)"
    );
}

#[test]
fn the_task_token_never_shows_in_debug_output() {
    let p = payload(NOW + 1);
    let debug = format!("{p:?}");
    assert!(!debug.contains(p.task_token.expose()), "{debug}");
    assert!(debug.contains(&p.task_token.fingerprint()));
    assert_eq!(p.task_token.fingerprint().len(), 16);
}

#[test]
fn a_link_with_a_2048_character_token_stays_usable_in_mail() {
    let p = Payload::new(task_token(2048), summary(), NOW + 1, Intent::Reject).expect("payload");
    let link = signer()
        .link("https://abc.lambda-url.us-east-1.on.aws/", &p)
        .expect("link");
    assert!(link.starts_with("https://abc.lambda-url.us-east-1.on.aws/approval?a="));
    // About 3.9 KB: long, but within what mail clients and browsers carry.
    assert!(link.len() < 4000, "{}", link.len());
    // Only characters that need no escaping in a URL or in plain-text mail.
    assert!(link
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.:/?=".contains(&b)));
    let token = link.split_once("?a=").expect("query").1;
    assert_eq!(
        signer().verify(token, NOW).map(|v| v.intent),
        Ok(Intent::Reject)
    );
}

#[test]
fn a_typical_link_is_short() {
    // Typical task tokens are about 700 characters: the link is then about 1.3 KB.
    let p = Payload::new(task_token(700), summary(), NOW + 1, Intent::Approve).expect("payload");
    let link = signer()
        .link("https://abc.lambda-url.us-east-1.on.aws", &p)
        .expect("link");
    assert!(link.len() < 1400, "{}", link.len());
}

#[test]
fn a_payload_too_large_to_verify_is_refused_when_signing() {
    let p = Payload::new(task_token(5000), summary(), NOW + 1, Intent::Approve).expect("payload");
    let e = signer()
        .link("https://x.example", &p)
        .expect_err("too long");
    assert_eq!(e.name, responder_core::names::INPUT_INVALID);
    assert!(e.message.contains("limit is 6144"), "{}", e.message);
}

#[test]
fn summary_fields_are_clipped() {
    let mut f = serde_json::from_value::<Finding>(serde_json::json!({
        "id": "x".repeat(1000), "type": "Recon:EC2/PortProbeUnprotectedPort", "severity": 5.0,
        "accountId": "123456789012", "deliveredByAccount": "123456789012",
        "region": "eu-west-1", "partition": "aws", "count": 1, "sample": false, "archived": false,
        "resource": {"kind": "instance", "instanceId": "i-0123456789abcdef0"}
    }))
    .expect("finding");
    f.finding_type = "é".repeat(200);
    let s = FindingSummary::from_finding(&f);
    assert_eq!(s.id.len(), MAX_FIELD_LEN);
    assert!(s.finding_type.len() <= MAX_FIELD_LEN && s.finding_type.chars().all(|c| c == 'é'));
    assert_eq!(s.resource, "Instance i-0123456789abcdef0");
    assert_eq!(s.region, "eu-west-1");
}

#[test]
fn base_urls_are_validated() {
    for ok in [
        "https://abc.lambda-url.us-east-1.on.aws/",
        "https://id.execute-api.eu-west-1.amazonaws.com/prod",
        "http://127.0.0.1:8787",
    ] {
        let v = validate_base_url(ok).expect(ok);
        assert!(!v.ends_with('/'), "{v}");
    }
    for bad in [
        "",
        "abc.lambda-url.us-east-1.on.aws",
        "ftp://example.com",
        "https://",
        "https:///path",
        "https://example.com/?x=1",
        "https://example.com/#x",
        "https://user@example.com/",
        "https://exa mple.com/",
        "javascript:alert(1)",
    ] {
        let e = validate_base_url(bad).expect_err(bad);
        assert!(e.message.contains("APPROVAL_BASE_URL"), "{}", e.message);
    }
}
