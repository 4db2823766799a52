//! The pipeline end to end: the project's fixture events through the real state machines and
//! the real task binaries, against the moto emulator. Every test starts its own stack and
//! asserts the effects read back from the emulator, not only how the execution ended.
//!
//! One test binary, so `cargo test` runs the tests in parallel.

mod approval;
mod bad_day;
mod bucket;
mod console;
mod database;
mod dry_run;
mod ec2;
mod events;
mod false_positives;
mod faults;
mod iam;
mod idempotency;
mod lambda;
mod recorded;
mod regions;
mod restore;
mod runtime;
mod sequence;
mod sfn_api;
mod target_groups;
mod task;
mod trust;
