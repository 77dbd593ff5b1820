//! The single integration-test binary: one module per area.

mod cli;
mod explain;
mod explain_cli;
mod fixtures;
mod grammar;
mod input;
mod json_contract;
mod markdown_inert;
mod normal;
mod roundtrip;
mod usage_errors;
