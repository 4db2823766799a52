//! Against a moto server, when `MOTO_ENDPOINT` names one (e.g. `http://127.0.0.1:5000`):
//! the adapter's real requests and responses, a second run reusing the evidence, and the
//! dry run. Ignored by default: run with `--ignored` and `MOTO_ENDPOINT` set.

use aws_sdk_ec2::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ec2::Client;
use responder_core::{testing, Finding, Outcome, TaskInput};
use snapshot::aws::Ec2SnapshotStore;

fn client(endpoint: &str) -> Client {
    Client::from_conf(
        aws_sdk_ec2::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .build(),
    )
}

fn input(instance_id: &str, dry_run: bool) -> TaskInput {
    let finding = Finding {
        id: format!("moto{instance_id}"),
        account_id: "123456789012".into(),
        delivered_by_account: "123456789012".into(),
        region: "us-east-1".into(),
        ..testing::instance_finding(instance_id)
    };
    testing::task_input(finding, dry_run, "moto-exec")
}

#[tokio::test]
#[ignore = "needs a moto server named by MOTO_ENDPOINT; run with --ignored (the end-to-end suite covers this path in `make test`)"]
async fn snapshots_an_instance_on_moto() {
    let endpoint = std::env::var("MOTO_ENDPOINT")
        .expect("MOTO_ENDPOINT must name a running moto server, e.g. http://127.0.0.1:5000");
    let ec2 = client(&endpoint);
    let images = ec2.describe_images().send().await.expect("images");
    let ami = images.images()[0].image_id().expect("ami").to_string();
    let run = ec2
        .run_instances()
        .image_id(ami)
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .expect("instance");
    let inst = &run.instances()[0];
    let iid = inst.instance_id().expect("id").to_string();
    let az = inst
        .placement()
        .and_then(|p| p.availability_zone())
        .expect("az")
        .to_string();
    let vol = ec2
        .create_volume()
        .size(8)
        .availability_zone(az)
        .send()
        .await
        .expect("volume");
    let vol_id = vol.volume_id().expect("vol").to_string();
    ec2.attach_volume()
        .volume_id(&vol_id)
        .instance_id(&iid)
        .device("/dev/sdf")
        .send()
        .await
        .expect("attach");

    let store = Ec2SnapshotStore::new(ec2.clone());
    let dry = snapshot::run(&input(&iid, true), &store)
        .await
        .expect("dry");
    assert_eq!(dry.actions.len(), 2);
    assert!(dry
        .actions
        .iter()
        .all(|a| a.outcome == Outcome::WouldChange));

    let first = snapshot::run(&input(&iid, false), &store)
        .await
        .expect("first");
    assert_eq!(first.evidence["snapshotApi"], "CreateSnapshots");
    assert_eq!(first.actions.len(), 2);
    assert!(first.actions.iter().all(|a| a.outcome == Outcome::Changed));
    assert!(first.evidence["volumeIds"]
        .as_array()
        .expect("ids")
        .contains(&serde_json::json!(vol_id)));

    let second = snapshot::run(&input(&iid, false), &store)
        .await
        .expect("second");
    assert_eq!(second.evidence["snapshotApi"], "existing");
    assert_eq!(
        second.evidence["snapshotIds"],
        first.evidence["snapshotIds"]
    );

    let missing = snapshot::run(&input("i-0123456789abcdef0", false), &store)
        .await
        .expect_err("missing");
    assert_eq!(
        missing.name,
        responder_core::names::REMEDIATION_TARGET_NOT_FOUND
    );
}
