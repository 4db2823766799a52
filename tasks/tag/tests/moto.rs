//! Against a moto server, when `MOTO_ENDPOINT` names one (e.g. `http://127.0.0.1:5000`):
//! the adapter's real requests and responses, the dry run and an idempotent second run.
//! Ignored by default: run with `--ignored` and `MOTO_ENDPOINT` set.

use aws_sdk_ec2::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ec2::types::Filter;
use aws_sdk_ec2::Client;
use responder_core::{markers, testing, Finding, Outcome, TaskInput};
use tag::aws::Ec2InstanceTagger;

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
async fn tags_an_instance_on_moto() {
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
    let iid = run.instances()[0].instance_id().expect("id").to_string();
    let tagger = Ec2InstanceTagger::new(ec2.clone());
    let now = chrono::Utc::now();

    let dry = tag::run(&input(&iid, true), &tagger, now)
        .await
        .expect("dry");
    assert!(dry
        .actions
        .iter()
        .all(|a| a.outcome == Outcome::WouldChange));

    let first = tag::run(&input(&iid, false), &tagger, now)
        .await
        .expect("first");
    assert!(first.actions.len() >= 3, "instance, root volume, interface");
    assert!(first.actions.iter().all(|a| a.outcome == Outcome::Changed));
    let on_aws = ec2
        .describe_tags()
        .filters(
            Filter::builder()
                .name("key")
                .values(markers::TAG_FINDING_ID)
                .build(),
        )
        .send()
        .await
        .expect("tags");
    let tagged: Vec<&str> = on_aws
        .tags()
        .iter()
        .filter(|t| t.value() == Some(format!("moto{iid}").as_str()))
        .filter_map(|t| t.resource_id())
        .collect();
    assert!(tagged.contains(&iid.as_str()));
    assert!(tagged.iter().any(|r| r.starts_with("vol-")));
    assert!(tagged.iter().any(|r| r.starts_with("eni-")));

    let second = tag::run(
        &input(&iid, false),
        &tagger,
        now + chrono::Duration::hours(1),
    )
    .await
    .expect("second");
    assert!(second
        .actions
        .iter()
        .all(|a| a.outcome == Outcome::Unchanged));
}
