//! The single integration-test binary: one module per area.

#[cfg(target_os = "linux")]
mod adversarial;
mod cli;
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
