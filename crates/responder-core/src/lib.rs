//! The shared domain of GuardDuty Responder: the finding model, the policy and its decisions,
//! the document tasks pass along, the markers written on AWS resources, and the stable error
//! names the state machines match on. Nothing here calls AWS.

pub mod arn;
pub mod decision;
pub mod denies;
pub mod document;
pub mod emf;
pub mod encoding;
pub mod error;
pub mod exemption;
pub mod exemptions;
pub mod false_positives;
pub mod finding;
pub mod lambda;
pub mod markers;
pub mod policy;
pub mod report;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;

pub use decision::{Decision, Disposition, Route, Tier};
pub use document::TaskInput;
pub use error::{names, ErrorName, TaskError};
pub use exemption::{Eligibility, ExemptionResult};
pub use finding::{
    AccessKeyTarget, BucketTarget, CredentialKind, DatabaseTarget, Finding, HostEvidence,
    InstanceTarget, Resource,
};
pub use policy::Policy;
pub use report::{ActionRecord, Outcome, Shortfall, TaskReport};
