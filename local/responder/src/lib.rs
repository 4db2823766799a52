//! The local runtime of GuardDuty Responder and the `responder` CLI behind it: the project's
//! state machines run by the ASL interpreter, the real task binaries run by the local Lambda
//! host, a local Step Functions endpoint and the approval pages, against whatever AWS endpoint
//! the standard SDK environment names (the moto emulator locally).

pub mod approval;
pub mod bench;
pub mod cli;
pub mod console;
pub mod demo;
pub mod estate;
pub mod false_positives;
pub mod faults;
pub mod fleet;
pub mod harness;
pub mod history_view;
pub mod http_client;
pub mod lambda_bridge;
pub mod metrics;
pub mod moto;
pub mod pipeline;
pub mod readback;
pub mod runtime;
pub mod scenario;
pub mod server;
pub mod sfn_api;
