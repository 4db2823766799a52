//! Deregistering a contained instance from its target groups costs a number of calls that does
//! not grow with the account's target groups per finding: a warm `isolate` scans the account's
//! instance-type target groups once (`TARGET_GROUP_INDEX_TTL`), then each finding confirms only
//! the target groups that hold its instance. Counted at the fault proxy, against moto.

use anyhow::{Context, Result};
use aws_sdk_elasticloadbalancingv2 as elb;
use end_to_end::{fixture, with_harness, Options};
use responder::readback;
use responder::scenario::for_instance;

/// Target groups created beside the estate's own.
const EXTRA: usize = 24;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_group_lookups_do_not_grow_with_the_accounts_target_groups() -> Result<()> {
    let opts = Options {
        faults: Some("name = \"count-only\"\n".to_string()),
        ..Options::default()
    };
    with_harness(opts, |h| async move {
        let e = &h.estate;
        let client = elb::Client::new(&h.security);
        let mut arns = Vec::new();
        for i in 0..EXTRA {
            let out = client
                .create_target_group()
                .name(format!("extra-tg-{i}"))
                .protocol(elb::types::ProtocolEnum::Http)
                .port(8080)
                .vpc_id(&e.vpc_id)
                .target_type(elb::types::TargetTypeEnum::Instance)
                .send()
                .await
                .context("CreateTargetGroup")?;
            arns.push(
                out.target_groups()
                    .first()
                    .and_then(|t| t.target_group_arn())
                    .context("no ARN")?
                    .to_string(),
            );
        }
        // The web instance sits in two of them.
        for arn in [&arns[3], &arns[17]] {
            client
                .register_targets()
                .target_group_arn(arn)
                .targets(
                    elb::types::TargetDescription::builder()
                        .id(&e.web.instance_id)
                        .port(8080)
                        .build(),
                )
                .send()
                .await?;
        }
        let proxy = &h.faults.as_ref().context("the fault proxy")?.proxy;
        let health =
            |c: &fault_proxy::Counts| c.calls("elasticloadbalancing", "DescribeTargetHealth");
        let groups =
            |c: &fault_proxy::Counts| c.calls("elasticloadbalancing", "DescribeTargetGroups");

        // The first finding builds the index: one call per target group, then the two
        // confirmations.
        proxy.reset();
        let s = h
            .run(
                "web",
                &for_instance(
                    fixture("ec2-high-single-eni.json")?,
                    "e2e1401web",
                    &e.web,
                    &e.region,
                ),
            )
            .await?;
        assert_eq!(s.outcome, "contained", "{s:#?}");
        let first = proxy.counts();
        assert!(health(&first) > EXTRA as u64, "{}", first.render());
        for arn in [&arns[3], &arns[17]] {
            assert!(
                !readback::target_group_members(&h.security, arn)
                    .await?
                    .contains(&e.web.instance_id),
                "deregistered from {arn}"
            );
        }

        // The next findings in the warm process scan nothing: a confirmation per target group
        // that holds the instance (one for the scaled instance, none for the other).
        proxy.reset();
        for (id, target) in [("e2e1402scaled", &e.scaled), ("e2e1403multi", &e.multi)] {
            let s = h
                .run(
                    id,
                    &for_instance(fixture("ec2-high-single-eni.json")?, id, target, &e.region),
                )
                .await?;
            assert_eq!(s.outcome, "contained", "{s:#?}");
        }
        let next = proxy.counts();
        let isolate_health = next
            .row("isolate", "elasticloadbalancing", "DescribeTargetHealth")
            .map(|r| r.calls)
            .unwrap_or(0);
        assert_eq!(isolate_health, 1, "{}", next.render());
        assert_eq!(groups(&next), 0, "{}", next.render());
        assert!(
            !readback::target_group_members(&h.security, &e.target_group_arn)
                .await?
                .contains(&e.scaled.instance_id),
            "the scaled instance left its target group"
        );
        assert!(health(&next) < health(&first));
        Ok(())
    })
    .await
}
