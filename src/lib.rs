//! srcip-rules reads an `iptables-save` dump from a Kubernetes node and explains what
//! kube-proxy's rules do to a new connection's source IP on a nodePort.
//!
//! The pipeline, one module each:
//! 1. [`source`]: the input text, with byte spans and line/column lookup;
//! 2. [`parse`]: nom parsers turning the text into a [`model::Dump`], collecting every error;
//! 3. [`model`]: tables, chains and rules borrowed from the input, indexed for lookups;
//! 4. [`analyze`]: pure functions over the model (inspection, packet-path evaluation);
//! 5. [`report`]: text, Markdown and JSON renderings; [`cli`] wires it all together.
//!
//! [`generate`] writes realistic kube-proxy dumps for tests, benchmarks and kernel checks.

pub mod cli;
pub mod exit;
pub mod generate;
pub mod kube;
pub mod model;
pub mod netfilter;
pub mod parse;
pub mod report;
pub mod source;
