//! The single integration-test binary: one module per area.

mod cli;
mod fixtures;
