//! The single integration-test binary: one module per area.

#[cfg(target_os = "linux")]
mod adversarial;
mod attachments;
mod cli;
mod commands_cli;
mod counters;
mod docs;
mod explain;
mod explain_cli;
mod fixtures;
mod grammar;
mod graph;
mod input;
mod json_contract;
mod layers;
mod markdown_inert;
mod normal;
mod output;
mod prefixes;
mod proxy_mode;
mod proxy_mode_commands;
mod redact;
mod roundtrip;
mod support;
mod trace;
mod usage_errors;
