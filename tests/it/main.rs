//! The single integration-test binary: one module per area.

mod cli;
mod commands_cli;
mod explain;
mod explain_cli;
mod fixtures;
mod grammar;
mod input;
mod json_contract;
mod layers;
mod markdown_inert;
mod normal;
mod output;
mod roundtrip;
mod usage_errors;
