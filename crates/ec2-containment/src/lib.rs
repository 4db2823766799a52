//! Network containment in a VPC, shared by every Lambda that contains something with an
//! elastic network interface: `isolate` (EC2 instances), `restore` (their rollback),
//! `contain-database` (the quarantine group for RDS) and `contain-task` (ECS tasks).
//!
//! - [`contain`]: the instance containment as small named steps (the quarantine and untrack
//!   groups, the move through the untrack group, per-address deny entries in the network ACLs
//!   the traffic crosses, connection tracking, termination protection, out of Auto Scaling and
//!   the target groups, read back), and [`contain::deny_interface_addresses`], the network ACL
//!   step alone for interfaces whose groups cannot be changed (ECS task interfaces are
//!   requester-managed).
//! - [`record`]: the rollback records written on the resources before each change, read by
//!   the rollbacks.
//! - [`caps`]: the capability traits the logic runs against; [`aws`] their SDK adapters;
//!   `fakes` (feature `fakes`) their in-memory fakes for the tests of the crates using this one.
//!
//! Invariant: every change is recorded on the resource it changes before it is made, and
//! every step is idempotent, so a retried execution converges and a rollback undoes exactly
//! what was done.

pub mod aws;
pub mod caps;
pub mod config;
pub mod contain;
#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
pub mod model;
pub mod record;

#[cfg(test)]
mod tests;

pub use caps::{AutoScaling, Ec2Isolation, LoadBalancing};
pub use config::IsolateConfig;
pub use contain::{isolate, Mode, Target};
