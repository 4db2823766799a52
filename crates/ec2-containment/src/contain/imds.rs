//! The metadata service of an instance whose role credentials were stolen: IMDSv2 only, one
//! hop. Stolen instance credentials most often come from a request the instance was tricked
//! into making to the metadata service (server-side request forgery); IMDSv2 answers only a
//! caller that first obtained a session token with a PUT, and a hop limit of 1 keeps the
//! answer from travelling past the instance. Credentials already issued stay valid: the
//! session deny `revoke` puts on the role covers those (EC2 User Guide, "Use IMDSv2";
//! `ModifyInstanceMetadataOptions`).

use responder_core::{ActionRecord, Outcome, TaskError};
use serde_json::json;

use super::evidence::write_record;
use super::{change, Run};
use crate::model::{Instance, MetadataOptions};
use crate::record::OriginalAttributes;

/// Requires IMDSv2 with a hop limit of 1, recording the options before.
pub(super) async fn harden(run: &mut Run<'_>, instance: &Instance) -> Result<(), TaskError> {
    const ACTION: &str = "require-imdsv2";
    let id = run.id().to_string();
    let wanted = MetadataOptions::hardened();
    if instance.metadata.as_ref() == Some(&wanted) {
        run.report.push(
            ActionRecord::new(
                ACTION,
                &id,
                Outcome::Unchanged,
                "IMDSv2 is required, hop limit 1",
            )
            .with_states(json!(wanted), json!(wanted)),
        );
        return Ok(());
    }
    write_record(
        run,
        instance,
        OriginalAttributes {
            metadata: instance.metadata.clone(),
            ..Default::default()
        },
    )
    .await?;
    run.ec2
        .set_metadata_options(&id, &wanted, run.dry())
        .await?;
    run.report.push(
        ActionRecord::new(
            ACTION,
            &id,
            change(run.dry()),
            "the metadata service answers only IMDSv2 requests, one hop away: credentials are no longer served to a forged request",
        )
        .with_states(json!(instance.metadata), json!(wanted)),
    );
    Ok(())
}
