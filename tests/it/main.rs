//! The single integration-test binary: one module per area.

mod cli;
mod explain;
mod fixtures;
mod grammar;
mod normal;
mod roundtrip;
