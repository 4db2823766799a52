//! Isolation, then rollback, of an instance against the moto server (AWS API emulator
//! on loopback). Ignored unless asked for (`--ignored`), with `MOTO_ENDPOINT` set, e.g. `http://127.0.0.1:5000`; the
//! local runtime's harness starts moto.

use aws_sdk_ec2 as ec2;
use ec2_containment::aws::{AutoScalingAdapter, Ec2Adapter, LoadBalancingAdapter};
use ec2_containment::record::ArnScope;
use ec2_containment::{isolate, Ec2Isolation, IsolateConfig, Target};
use responder_core::{markers, Outcome};

async fn config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_credential_types::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await
}

#[tokio::test]
#[ignore = "needs a moto server named by MOTO_ENDPOINT; run with --ignored (the end-to-end suite covers this path in `make test`)"]
async fn isolate_then_restore_against_moto() {
    let endpoint = std::env::var("MOTO_ENDPOINT")
        .expect("MOTO_ENDPOINT must name a running moto server, e.g. http://127.0.0.1:5000");
    let conf = config(&endpoint).await;
    let client = ec2::Client::new(&conf);
    let vpc = client
        .create_vpc()
        .cidr_block("10.20.0.0/16")
        .send()
        .await
        .expect("vpc");
    let vpc_id = vpc
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("vpc id")
        .to_string();
    let subnet = client
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.20.1.0/24")
        .send()
        .await
        .expect("subnet");
    let subnet_id = subnet
        .subnet()
        .and_then(|s| s.subnet_id())
        .expect("subnet id")
        .to_string();
    let sg = client
        .create_security_group()
        .group_name("web")
        .description("web")
        .vpc_id(&vpc_id)
        .send()
        .await
        .expect("sg");
    let sg_id = sg.group_id().expect("sg id").to_string();
    let images = client.describe_images().send().await.expect("images");
    let image = images
        .images()
        .first()
        .and_then(|i| i.image_id())
        .expect("an image")
        .to_string();
    let run = client
        .run_instances()
        .image_id(image)
        .min_count(1)
        .max_count(1)
        // Groups on the interface, not the instance: moto keeps launch-time instance groups
        // on the primary interface whatever ModifyNetworkInterfaceAttribute sets (AWS does not).
        .network_interfaces(
            ec2::types::InstanceNetworkInterfaceSpecification::builder()
                .device_index(0)
                .subnet_id(&subnet_id)
                .groups(&sg_id)
                .build(),
        )
        .send()
        .await
        .expect("instance");
    let instance_id = run.instances()[0].instance_id().expect("id").to_string();

    let target = Target {
        instance_id: instance_id.clone(),
        finding_id: "moto-finding".into(),
        scope: ArnScope {
            partition: "aws".into(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
        },
        dry_run: false,
        mode: ec2_containment::Mode::Contain,
        credential_source: false,
        vpc_hint: Vec::new(),
    };
    let (e, a, l) = (
        Ec2Adapter::from_conf(&conf),
        AutoScalingAdapter::from_conf(&conf),
        LoadBalancingAdapter::from_conf(&conf),
    );
    let cfg = IsolateConfig {
        egress_cidrs: vec!["10.20.9.9/32".into()],
        ..IsolateConfig::default()
    };
    let report = isolate(&target, &cfg, &e, &a, &l).await.expect("isolated");
    println!("{}", serde_json::to_string_pretty(&report).expect("json"));
    let again = isolate(&target, &cfg, &e, &a, &l).await.expect("again");
    assert!(
        again
            .actions
            .iter()
            .all(|x| x.outcome == Outcome::Unchanged),
        "{:#?}",
        again.actions
    );
    let inst = e
        .describe_instance(&instance_id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        inst.tags.get(markers::TAG_STATUS).map(String::as_str),
        Some("quarantined")
    );
    let ifaces = e
        .describe_interfaces(&inst.interface_ids)
        .await
        .expect("interfaces");
    assert_eq!(
        ec2_containment::record::decode_groups(&ifaces[0].tags),
        Some(vec![sg_id.clone()])
    );
    let q = report.evidence["quarantineGroups"][&vpc_id]
        .as_str()
        .expect("group")
        .to_string();
    assert_eq!(ifaces[0].group_ids, vec![q]);

    let req = restore::RestoreRequest::from_value(serde_json::json!({
        "accountId": "123456789012", "region": "us-east-1", "instanceId": instance_id,
        "reason": "false positive", "requestedBy": "test"
    }))
    .expect("request");
    let report = restore::restore(&req, &e, &a, &l).await.expect("restored");
    println!("{}", serde_json::to_string_pretty(&report).expect("json"));
    let inst = e
        .describe_instance(&instance_id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        inst.tags.get(markers::TAG_STATUS).map(String::as_str),
        Some("restored")
    );
    assert_eq!(
        inst.tags.get(markers::TAG_FINDING_ID).map(String::as_str),
        Some("moto-finding")
    );
    assert!(!inst.tags.contains_key(markers::TAG_ORIGINAL_ATTRIBUTES));
    let ifaces = e
        .describe_interfaces(&inst.interface_ids)
        .await
        .expect("interfaces");
    assert_eq!(ifaces[0].group_ids, vec![sg_id]);
    assert!(!ifaces[0].tags.contains_key(markers::TAG_ORIGINAL_GROUPS));
    let attrs = e
        .instance_attributes(&instance_id)
        .await
        .expect("attributes");
    assert!(!attrs.termination_protection);
    let e2 = restore::restore(&req, &e, &a, &l)
        .await
        .expect_err("nothing left");
    assert_eq!(e2.name, responder_core::names::RESTORE_NO_RECORD);
}
