//! srcip-rules reads an `iptables-save` dump from a Kubernetes node and explains what
//! kube-proxy's rules do to a new connection's source IP on a nodePort, LoadBalancer IP,
//! externalIP or ClusterIP.
//!
//! The pipeline, one layer each (each uses only the layers before it):
//! 1. [`source`]: the input text, with byte spans and line/column lookup;
//! 2. [`parse`]: nom parsers turning the text into a [`model::Dump`], collecting every
//!    error, and the reader that types rules on demand;
//! 3. [`model`]: tables, chains and rules borrowed from the input, as plain data;
//! 4. [`netfilter`]: the packet walk through hooks, chains and rules, knowing nothing of
//!    Kubernetes;
//! 5. [`kube`]: kube-proxy knowledge on top: finding a nodePort, its era and policy, the
//!    source classes, and the verdicts, as typed values;
//! 6. [`report`]: the words, and text, Markdown and JSON renderers; [`cli`] wires it all
//!    together.
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
