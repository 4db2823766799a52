//! Every event in `fixtures/events/` through the finding parser and the default policy.
//!
//! One harness, one table: each fixture file names the result it must produce (the decision's
//! tier, route, disposition and key reason words, or the stable error name). The harness fails
//! when a file in the folder has no row, so a new fixture cannot go untested.

use std::collections::BTreeSet;
use std::path::PathBuf;

use responder_core::finding::MAX_EVENT_BYTES;
use responder_core::policy::Policy;
use responder_core::{names, CredentialKind, Disposition, Finding, Route, TaskInput, Tier};
use serde_json::Value;

fn fixtures_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/events"
    ))
}

fn read_fixture(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn parse(name: &str) -> Finding {
    Finding::from_event_bytes(&read_fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// What a fixture must produce under the default policy.
#[derive(Debug)]
enum Expect {
    Ok(Box<Expected>),
    Err(responder_core::ErrorName),
}

#[derive(Debug)]
struct Expected {
    tier: Tier,
    route: Route,
    disposition: Disposition,
    /// Words each of which must appear (case-insensitively) in one of the reasons.
    reasons: &'static [&'static str],
    credential: Option<CredentialKind>,
    interfaces: Option<usize>,
    account: &'static str,
    dry_run: bool,
    /// Notified with a recommended fix: the instance is the target of the activity, or the
    /// finding names a Kubernetes workload (the steps to contain it by hand).
    victim: bool,
}

#[derive(Debug)]
struct Case {
    file: &'static str,
    expect: Expect,
}

fn ok(file: &'static str, tier: Tier, route: Route, disposition: Disposition) -> Case {
    Case {
        file,
        expect: Expect::Ok(Box::new(Expected {
            tier,
            route,
            disposition,
            reasons: &[],
            credential: None,
            interfaces: None,
            account: "111111111111",
            dry_run: false,
            victim: false,
        })),
    }
}

fn err(file: &'static str, name: responder_core::ErrorName) -> Case {
    Case {
        file,
        expect: Expect::Err(name),
    }
}

impl Case {
    fn with(mut self, f: impl FnOnce(&mut Expected)) -> Self {
        if let Expect::Ok(e) = &mut self.expect {
            f(e);
        }
        self
    }
    fn reasons(self, words: &'static [&'static str]) -> Self {
        self.with(|e| e.reasons = words)
    }
    fn interfaces(self, n: usize) -> Self {
        self.with(|e| e.interfaces = Some(n))
    }
    fn credential(self, k: CredentialKind) -> Self {
        self.with(|e| e.credential = Some(k))
    }
    fn account(self, a: &'static str) -> Self {
        self.with(|e| e.account = a)
    }
    fn victim(self) -> Self {
        self.with(|e| e.victim = true)
    }
    fn kubernetes_steps(self) -> Self {
        self.with(|e| e.victim = true)
    }
}

fn cases() -> Vec<Case> {
    use Disposition::{Contain, Notify, RequestApproval};
    use Route::{Ec2, Ecs, Iam, Lambda, NotifyOnly, Rds, Sequence, S3};
    use Tier::{Critical, High, Low, Medium};
    vec![
        // EC2, acted on.
        ok("ec2-high-single-eni.json", High, Ec2, Contain)
            .reasons(&["HIGH", "contain now"])
            .interfaces(1),
        ok("ec2-critical.json", Critical, Ec2, Contain)
            .reasons(&["CRITICAL"])
            .interfaces(1),
        ok("ec2-high-multi-eni.json", High, Ec2, Contain).interfaces(2),
        ok("ec2-high-cross-account.json", High, Ec2, Contain)
            .interfaces(1)
            .account("222222222222"),
        ok("ec2-medium.json", Medium, Ec2, RequestApproval).reasons(&["MEDIUM", "approval"]),
        // Runtime Monitoring and Malware Protection findings on an instance reach instance
        // containment like the classic EC2 types.
        // A process on an EKS worker node itself (no pod): the instance path.
        ok("eks-node-runtime-reverse-shell.json", High, Ec2, Contain)
            .reasons(&["worker node", "platform-eks", "the instance path applies"]),
        ok("ec2-runtime-reverse-shell.json", High, Ec2, Contain)
            .reasons(&["Execution:Runtime/"])
            .interfaces(1),
        ok("ec2-malware-file-medium.json", Medium, Ec2, RequestApproval)
            .reasons(&["Execution:EC2/", "approval"]),
        ok("ec2-low.json", Low, Ec2, Notify).reasons(&["LOW", "record only"]),
        ok("ec2-minimal-instance-details.json", High, Ec2, Contain).interfaces(0),
        ok("ec2-eni-without-id.json", High, Ec2, Contain).interfaces(1),
        ok("ec2-duplicate-delivery-a.json", High, Ec2, Contain),
        ok("ec2-duplicate-delivery-b.json", High, Ec2, Contain),
        ok("ec2-update-same-finding.json", High, Ec2, Contain),
        ok("ec2-quirk-string-numbers.json", High, Ec2, Contain).interfaces(1),
        ok("ec2-quirk-nine-digit-account.json", High, Ec2, Contain).account("000222222222"),
        // Victim or actor: the target of someone else's attack is notified with the fix, the
        // attacker is contained.
        ok("ec2-victim-port-probe.json", High, NotifyOnly, Notify)
            .victim()
            .reasons(&[
                "the instance is the target of Recon:EC2/PortProbeUnprotectedPort, not its actor: close port 9200 to the internet",
                "built-in victim table",
            ])
            .interfaces(1),
        ok("ec2-victim-ssh-brute-force-target.json", Low, NotifyOnly, Notify)
            .victim()
            .reasons(&[
                "resource role TARGET from the finding (detail.service.resourceRole)",
                "the instance is the target of UnauthorizedAccess:EC2/SSHBruteForce, not its actor: restrict SSH (port 22)",
            ]),
        ok("ec2-victim-rdp-brute-force-target.json", Low, NotifyOnly, Notify)
            .victim()
            .reasons(&["not its actor: restrict RDP (port 3389)"]),
        ok("ec2-ssh-brute-force-actor.json", High, Ec2, Contain).reasons(&[
            "resource role ACTOR from the finding (detail.service.resourceRole)",
            "actor of UnauthorizedAccess:EC2/SSHBruteForce",
            "contain now",
        ]),
        // EC2, not acted on.
        ok("ec2-sample.json", High, Ec2, Notify).reasons(&["sample"]),
        ok("ec2-archived.json", High, Ec2, Notify).reasons(&["archived"]),
        ok("ec2-type-not-allowed.json", Medium, Ec2, Notify)
            .reasons(&["Behavior:EC2/NetworkPortUnusual", "allow list"]),
        ok("unknown-type.json", Medium, Ec2, Notify)
            .reasons(&["Canary:EC2/Stateless.IntegTest", "allow list"]),
        // IAM.
        ok("iam-high-akia-user.json", High, Iam, Contain)
            .credential(CredentialKind::LongTermUserKey)
            .reasons(&["contain now"]),
        ok("iam-high-asia-role.json", High, Iam, Contain).credential(CredentialKind::RoleSession),
        ok("iam-medium-akia-user.json", Medium, Iam, RequestApproval)
            .credential(CredentialKind::LongTermUserKey),
        ok("iam-root.json", Low, Iam, Notify)
            .credential(CredentialKind::Root)
            .reasons(&["root credentials are never changed automatically"]),
        ok("retired-type.json", Medium, Iam, Notify)
            .credential(CredentialKind::LongTermUserKey)
            .reasons(&["retired"]),
        // Unusual reads by a known caller: an anomaly type, notify-only by default.
        ok("s3-notify-only.json", Medium, S3, Notify)
            .reasons(&["S3Bucket", "not in the s3 route's allow list"]),
        // A bucket opened to the public: Block Public Access on, by tier.
        ok("s3-high-anonymous-access.json", High, S3, Contain)
            .reasons(&["S3Bucket", "s3.finding_type_prefixes"]),
        ok("s3-low-block-public-access-disabled.json", Low, S3, Notify),
        // A known-bad caller: denied on the bucket by its policy, by its IAM user id.
        ok("s3-high-malicious-caller.json", High, S3, Contain)
            .reasons(&["AIDA4EXAMPLEREPORTS1", "denied every S3 action on the bucket"]),
        // A malicious object: quarantined where it is by the bucket's policy, at once.
        ok("s3-object-malicious-file.json", High, S3, Contain)
            .reasons(&["S3Object", "found malicious", "quarantined where they are"])
            .account("222222222222"),
        ok("s3-several-buckets-notify-only.json", High, NotifyOnly, Notify)
            .reasons(&["2 buckets from the finding"]),
        // Other resource types: notify only, whatever else the finding carries.
        ok("eks-notify-only.json", Medium, NotifyOnly, Notify)
            .reasons(&["EKSCluster", "Kubernetes workload"])
            .kubernetes_steps(),
        // A cluster finding that names no task: nothing to cut.
        ok("ecs-notify-only.json", High, NotifyOnly, Notify).reasons(&["ECSCluster"]),
        // A reverse shell in a Fargate task: its addresses denied in the VPC's network ACLs at
        // once; its role, shared by the service, only with approval.
        ok("ecs-task-reverse-shell.json", High, Ecs, Contain)
            .reasons(&["ecs.finding_type_prefixes", "only with an analyst's approval"])
            .account("222222222222"),
        // A login that should not have happened: the DB's groups swapped for quarantine.
        ok("rds-notify-only.json", High, Rds, Notify)
            .reasons(&["RDSDBInstance", "not in the rds route's allow list"]),
        ok("rds-high-malicious-login.json", High, Rds, Contain)
            .reasons(&["RDSDBInstance", "rds.finding_type_prefixes"])
            .account("222222222222"),
        ok("rds-aurora-high-brute-force.json", High, Rds, Contain)
            .reasons(&["RDSDBInstance", "rds.finding_type_prefixes"])
            .account("222222222222"),
        // A Lambda function: reserved concurrency 0, by tier like an instance.
        ok("lambda-high-c2.json", High, Lambda, Contain)
            .reasons(&["Lambda", "lambda.finding_type_prefixes"]),
        ok("lambda-medium-tor.json", Medium, Lambda, RequestApproval),
        ok("container-notify-only.json", High, NotifyOnly, Notify).reasons(&["Container"]),
        // Rejected.
        err("malformed-not-json.txt", names::FINDING_INVALID),
        err("malformed-missing-id.json", names::FINDING_INVALID),
        err("malformed-missing-type.json", names::FINDING_INVALID),
        err("malformed-missing-resource.json", names::FINDING_INVALID),
        err("malformed-lambda-function-name.json", names::FINDING_INVALID),
        err("malformed-s3-bucket-name.json", names::FINDING_INVALID),
        err("malformed-rds-identifier.json", names::FINDING_INVALID),
        err("malformed-ecs-task-arn.json", names::FINDING_INVALID),
        // An attack sequence: one plan over the instances and credentials it names.
        ok("attack-sequence-credentials.json", Critical, Sequence, Contain).reasons(&[
            "the plan contains 3 resource(s) of attack sequence",
            "3 listed for review",
        ]),
        err(
            "malformed-severity-out-of-range.json",
            names::FINDING_INVALID,
        ),
        err("malformed-bad-account-id.json", names::FINDING_INVALID),
        err("securityhub-imported.json", names::FINDING_UNSUPPORTED),
        // An analyst's Security Hub custom action on a GuardDuty finding: the same rules apply.
        ok("securityhub-custom-action-ec2.json", High, Ec2, Contain)
            .reasons(&[
                "Security Hub custom action \"Contain (responder)\"",
                "rebuilt from the Security Hub type",
                "contain now",
            ])
            .interfaces(1)
            .account("222222222222"),
        err(
            "securityhub-custom-action-not-guardduty.json",
            names::FINDING_UNSUPPORTED,
        ),
        // A custom integration can call its finding "GuardDuty"; only the product ARN counts.
        err(
            "securityhub-custom-action-custom-product.json",
            names::FINDING_UNSUPPORTED,
        ),
        err(
            "securityhub-custom-action-account-mismatch.json",
            names::FINDING_UNSUPPORTED,
        ),
        err("other-source-ec2.json", names::FINDING_UNSUPPORTED),
    ]
}

#[test]
fn every_fixture_produces_its_expected_result() {
    let policy = Policy::default();
    let mut failures = Vec::new();
    for case in cases() {
        let bytes = read_fixture(case.file);
        let result = Finding::from_event_bytes(&bytes);
        match (&case.expect, result) {
            (Expect::Err(name), Err(e)) => {
                if e.name != *name {
                    failures.push(format!("{}: expected error {name}, got {e}", case.file));
                }
            }
            (Expect::Err(name), Ok(f)) => failures.push(format!(
                "{}: expected error {name}, parsed {:?}",
                case.file, f.id
            )),
            (Expect::Ok(_), Err(e)) => failures.push(format!("{}: {e}", case.file)),
            (Expect::Ok(want), Ok(finding)) => {
                let d = policy.decide(&finding);
                let mut check = |what: &str, same: bool, got: String| {
                    if !same {
                        failures.push(format!("{}: {what} is {got}", case.file));
                    }
                };
                check("tier", d.tier == want.tier, format!("{:?}", d.tier));
                check("route", d.route == want.route, format!("{:?}", d.route));
                check(
                    "disposition",
                    d.disposition == want.disposition,
                    format!("{:?} ({:?})", d.disposition, d.reasons),
                );
                check("dry_run", d.dry_run == want.dry_run, d.dry_run.to_string());
                check(
                    "account",
                    finding.account_id == want.account,
                    finding.account_id.clone(),
                );
                check(
                    "idempotency key",
                    d.idempotency_key == finding.idempotency_key(),
                    d.idempotency_key.clone(),
                );
                for word in want.reasons {
                    let w = word.to_lowercase();
                    check(
                        &format!("reasons (missing {word:?})"),
                        d.reasons.iter().any(|r| r.to_lowercase().contains(&w)),
                        format!("{:?}", d.reasons),
                    );
                }
                check(
                    "recommended fix",
                    d.recommended_fix.is_some() == want.victim,
                    format!("{:?}", d.recommended_fix),
                );
                if let Some(kind) = want.credential {
                    let got = finding.access_key().map(|k| k.credential_kind);
                    check("credential kind", got == Some(kind), format!("{got:?}"));
                }
                if let Some(n) = want.interfaces {
                    let got = finding.instance().map(|i| i.network_interfaces.len());
                    check("interface count", got == Some(n), format!("{got:?}"));
                }
                // Every decision carries at least one reason a human can read.
                check("reasons", !d.reasons.is_empty(), format!("{:?}", d.reasons));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_fixture_file_is_in_the_table_and_every_row_has_a_file() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures/events exists")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let table: Vec<&str> = cases().iter().map(|c| c.file).collect();
    let in_table: BTreeSet<String> = table.iter().map(|s| s.to_string()).collect();
    assert_eq!(table.len(), in_table.len(), "a fixture is listed twice");
    let untested: Vec<_> = on_disk.difference(&in_table).collect();
    let missing: Vec<_> = in_table.difference(&on_disk).collect();
    assert!(untested.is_empty(), "fixtures without a row: {untested:?}");
    assert!(missing.is_empty(), "rows without a fixture: {missing:?}");
}

#[test]
fn parsed_fixtures_round_trip_through_the_task_document() {
    let policy = Policy::default();
    for case in cases() {
        if let Expect::Err(_) = case.expect {
            continue;
        }
        let finding = parse(case.file);
        let decision = policy.decide(&finding);
        let doc = serde_json::json!({ "finding": finding, "decision": decision });
        let input = TaskInput::from_value(doc).unwrap_or_else(|e| panic!("{}: {e}", case.file));
        assert_eq!(input.finding, finding, "{}", case.file);
        assert_eq!(input.decision, decision, "{}", case.file);
    }
}

#[test]
fn an_oversized_event_is_refused_before_parsing() {
    let mut event: Value =
        serde_json::from_slice(&read_fixture("ec2-high-single-eni.json")).expect("json");
    event["detail"]["service"]["additionalInfo"]["padding"] =
        Value::String("x".repeat(MAX_EVENT_BYTES));
    let bytes = serde_json::to_vec(&event).expect("serialize");
    assert!(bytes.len() > MAX_EVENT_BYTES);
    let e = Finding::from_event_bytes(&bytes).expect_err("too large");
    assert_eq!(e.name, names::FINDING_TOO_LARGE);
    let e = Finding::from_event(&event).expect_err("too large");
    assert_eq!(e.name, names::FINDING_TOO_LARGE);
    // Just under the limit is accepted: the limit is on size, not on unknown fields.
    event["detail"]["service"]["additionalInfo"]["padding"] = Value::String("x".repeat(1000));
    Finding::from_event(&event).expect("a padded event within the limit parses");
}

#[test]
fn duplicate_delivery_and_update_share_one_idempotency_key() {
    let a = parse("ec2-duplicate-delivery-a.json");
    let b = parse("ec2-duplicate-delivery-b.json");
    let u = parse("ec2-update-same-finding.json");
    assert_eq!(a, b, "a re-delivery parses to the same finding");
    assert!(u.count > a.count, "the update carries a higher count");
    assert_ne!(u.updated_at, a.updated_at);
    assert_eq!(a.idempotency_key(), b.idempotency_key());
    assert_eq!(a.idempotency_key(), u.idempotency_key());
    let policy = Policy::default();
    assert_eq!(
        policy.decide(&a).idempotency_key,
        policy.decide(&u).idempotency_key
    );
    // Different findings and resources never share a key.
    let keys: BTreeSet<String> = [
        "ec2-duplicate-delivery-a.json",
        "ec2-high-single-eni.json",
        "ec2-high-multi-eni.json",
        "iam-high-akia-user.json",
        "iam-high-asia-role.json",
    ]
    .iter()
    .map(|f| parse(f).idempotency_key())
    .collect();
    assert_eq!(keys.len(), 5);
}

#[test]
fn quirky_numbers_and_accounts_are_normalized() {
    let q = parse("ec2-quirk-string-numbers.json");
    assert_eq!(q.severity, 8.0);
    assert_eq!(q.count, 3);
    let x = parse("ec2-high-cross-account.json");
    assert_eq!(x.account_id, "222222222222");
    assert_eq!(x.delivered_by_account, "111111111111");
    let m = parse("ec2-minimal-instance-details.json");
    let i = m.instance().expect("instance");
    assert_eq!(i.instance_id, "i-0a1b2c3d4e5f60707");
    assert!(i.instance_profile_arn.is_none() && i.tags.is_empty());
    let n = parse("ec2-eni-without-id.json");
    let eni = &n.instance().expect("instance").network_interfaces[0];
    assert!(eni.network_interface_id.is_none());
    assert_eq!(eni.security_group_ids, vec!["sg-0a1b2c3d4e5f60789"]);
    let multi = parse("ec2-high-multi-eni.json");
    let vpcs: BTreeSet<_> = multi
        .instance()
        .expect("instance")
        .network_interfaces
        .iter()
        .filter_map(|n| n.vpc_id.clone())
        .collect();
    assert_eq!(vpcs.len(), 2, "the two interfaces sit in two VPCs");
    let role = parse("iam-high-asia-role.json");
    let k = role.access_key().expect("access key");
    assert_eq!(k.user_name.as_deref(), Some("web-app-role"));
    assert_eq!(k.user_type.as_deref(), Some("AssumedRole"));
}

#[test]
fn policy_switches_change_the_fixture_decisions() {
    let cross = parse("ec2-high-cross-account.json");
    let excluded = Policy {
        exclude_accounts: vec!["222222222222".into()],
        ..Policy::default()
    };
    let d = excluded.decide(&cross);
    assert_eq!(d.disposition, Disposition::Notify);
    assert!(d.reasons.iter().any(|r| r.contains("222222222222")));

    let sample = parse("ec2-sample.json");
    let samples_on = Policy {
        act_on_sample_findings: true,
        ..Policy::default()
    };
    assert_eq!(samples_on.decide(&sample).disposition, Disposition::Contain);

    let archived = parse("ec2-archived.json");
    let archived_on = Policy {
        act_on_archived_findings: true,
        ..Policy::default()
    };
    assert_eq!(
        archived_on.decide(&archived).disposition,
        Disposition::Contain
    );

    let env_dry =
        Policy::from_lookup(|k| (k == "DRY_RUN").then(|| "true".to_string())).expect("policy");
    let d = env_dry.decide(&parse("iam-high-akia-user.json"));
    assert!(d.dry_run);
    assert_eq!(d.disposition, Disposition::Contain);
    assert!(d.reasons.iter().any(|r| r.contains("dry run")));
}

#[test]
fn a_custom_action_maps_to_the_finding_guardduty_would_send() {
    let f = parse("securityhub-custom-action-ec2.json");
    assert_eq!(f.id, "6c8e0a2b4d6f8a0c2e4b6d8f0a2c4e61");
    assert_eq!(f.finding_type, "Backdoor:EC2/C&CActivity.B!DNS");
    assert_eq!(
        f.severity, 8.0,
        "GuardDuty's severity, not Security Hub's Normalized 60"
    );
    assert_eq!(
        (f.account_id.as_str(), f.region.as_str()),
        ("222222222222", "eu-west-1")
    );
    assert_eq!(f.delivered_by_account, "111111111111");
    assert_eq!((f.count, f.archived, f.sample), (4, false, false));
    assert!(f.requested_by_analyst);
    let i = f.instance().expect("instance");
    assert_eq!(i.instance_id, "i-0a1b2c3d4e5f60761");
    assert_eq!(
        i.network_interfaces[0].network_interface_id.as_deref(),
        Some("eni-0a1b2c3d4e5f60765")
    );
    // The same finding id and instance as GuardDuty's own event: one idempotency key, so a
    // click on a finding already contained changes nothing twice.
    let own = responder_core::Finding {
        requested_by_analyst: false,
        security_hub: None,
        host_evidence: None,
        kubernetes: None,
        ..f.clone()
    };
    assert_eq!(f.idempotency_key(), own.idempotency_key());
}

/// Words that name where a reason's input came from: a field of the finding, a policy setting,
/// a built-in table, or the analyst's request.
const SOURCE_MARKERS: &[&str] = &[
    "from the finding (",
    "(policy: ",
    "built-in ",
    "Security Hub custom action",
];

/// Every reason of every fixture's decision names its source. The one exception is the victim
/// reason, whose wording is fixed ("the instance is the target of <type>, not its actor: <fix>")
/// and whose source, the built-in victim table, is named by the reason right after it.
#[test]
fn every_reason_names_its_source() {
    let policy = Policy::default();
    let mut failures = Vec::new();
    for case in cases() {
        if let Expect::Err(_) = case.expect {
            continue;
        }
        let d = policy.decide(&parse(case.file));
        for (i, r) in d.reasons.iter().enumerate() {
            let named = SOURCE_MARKERS.iter().any(|m| r.contains(m))
                || (r.starts_with("the instance is the target of ")
                    && d.reasons
                        .get(i + 1)
                        .is_some_and(|next| next.starts_with("built-in victim table")));
            if !named {
                failures.push(format!("{}: {r:?}", case.file));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// The whole decision of a victim and of an analyst's request, as a reader sees it.
#[test]
fn decisions_read_whole() {
    let policy = Policy::default();
    let d = policy.decide(&parse("ec2-victim-port-probe.json"));
    let fix = "close port 9200 to the internet in the instance's security groups and network ACLs, or restrict access to known addresses; review what listens there, and if the exposure is intended (a public service), suppress this finding type for the instance in GuardDuty";
    assert_eq!(d.recommended_fix.as_deref(), Some(fix));
    assert_eq!(
        d.reasons,
        [
            "instance port 9200 from the finding (detail.service.action)".to_string(),
            format!("the instance is the target of Recon:EC2/PortProbeUnprotectedPort, not its actor: {fix}"),
            "built-in victim table: the target of an attack is notified with the fix, not isolated; route notify-only".to_string(),
        ]
    );
    let d = policy.decide(&parse("securityhub-custom-action-ec2.json"));
    assert_eq!(
        d.reasons,
        [
            "requested through the Security Hub custom action \"Contain (responder)\" (detail.actionName)",
            "finding type \"Backdoor:EC2/C&CActivity.B!DNS\" from the finding (FindingProviderFields.Types), rebuilt from the Security Hub type \"TTPs/Command and Control/Backdoor:EC2-C&CActivity.B!DNS\"",
            "resource type \"Instance\" from the finding (Resources[0].Type): route ec2",
            "finding type \"Backdoor:EC2/C&CActivity.B!DNS\" from the finding (FindingProviderFields.Types) is in the ec2 route's allow list (policy: ec2.finding_type_prefixes \"Backdoor:EC2/\")",
            "severity 8.0 from the finding (FindingProviderFields.Severity.Product) is HIGH (policy: high_severity 7.0); contain now",
        ]
    );
    let d = policy.decide(&parse("ec2-sample.json"));
    assert!(
        d.reasons.contains(&"sample flag from the finding (detail.service.additionalInfo.sample): the policy does not act on samples (policy: act_on_sample_findings); notify only".to_string()),
        "{:?}",
        d.reasons
    );
}

/// Regression: a custom action was accepted when `ProductName` said "GuardDuty", which any
/// custom integration can write, so an imported finding could choose the instance to isolate.
#[test]
fn security_hub_refusals_name_the_field_that_failed() {
    for (file, words) in [
        (
            "securityhub-custom-action-custom-product.json",
            "`ProductArn` is \"arn:aws:securityhub:eu-west-1:222222222222:product/222222222222/default\" (GuardDuty)",
        ),
        (
            "securityhub-custom-action-account-mismatch.json",
            "`findings[0].AwsAccountId` 333333333333 differs from the account 222222222222 of the finding ARN in `Id`",
        ),
        ("securityhub-custom-action-not-guardduty.json", "(Inspector)"),
    ] {
        let e = Finding::from_event_bytes(&read_fixture(file)).expect_err(file);
        assert_eq!(e.name, names::FINDING_UNSUPPORTED, "{file}");
        assert!(e.message.contains(words), "{file}: {}", e.message);
    }
}

#[test]
fn resource_roles_and_ports_are_read_from_both_formats() {
    use responder_core::finding::ResourceRole;
    let probe = parse("ec2-victim-port-probe.json");
    assert_eq!(
        (probe.resource_role, probe.local_ports.as_slice()),
        (Some(ResourceRole::Target), &[9200][..])
    );
    let actor = parse("ec2-ssh-brute-force-actor.json");
    assert_eq!(actor.resource_role, Some(ResourceRole::Actor));
    assert!(
        actor.local_ports.is_empty(),
        "an outbound connection's local port is ephemeral"
    );
    let hub = parse("securityhub-custom-action-ec2.json");
    assert_eq!(hub.resource_role, Some(ResourceRole::Target));
    assert_eq!(
        hub.sources.resource_role,
        "ProductFields.aws/guardduty/service/resourceRole"
    );
    // GuardDuty's own event paths are not written into the task document; Security Hub's are.
    let own = serde_json::to_value(&probe).expect("json");
    assert!(own.get("sources").is_none());
    assert_eq!(own["resourceRole"], "TARGET");
    assert_eq!(own["localPorts"], serde_json::json!([9200]));
    let v = serde_json::to_value(&hub).expect("json");
    assert_eq!(
        v["sources"]["severity"],
        "FindingProviderFields.Severity.Product"
    );
}
