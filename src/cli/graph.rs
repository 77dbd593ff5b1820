//! `srcip-rules graph PORT|ns/name[:port]`: reads dumps, builds each matching nodePort's
//! chain graph, writes it as DOT or Mermaid.

use std::net::IpAddr;

use crate::cli::input::read_sources;
use crate::cli::output::{exit_after, to_stdout};
use crate::exit::Exit;
use crate::kube::graph::graph;
use crate::kube::{ExplainOptions, Target};
use crate::report::graph::{GraphFormat, GraphReport, GraphedInput, write_graph};
use crate::report::{self, words};

/// Everything `graph` needs, already validated (no clap here).
#[derive(Debug, Clone, PartialEq)]
pub struct GraphConfig {
    /// The dumps to read (`-` or none: stdin).
    pub inputs: Vec<String>,
    /// The nodePort or service.
    pub target: Target,
    /// This node's addresses (they decide what `explain` finds decisive).
    pub node_ips: Vec<IpAddr>,
    /// DOT or Mermaid.
    pub format: GraphFormat,
}

/// Runs `graph`: [`Exit::Ok`] if the target was found in every input, [`Exit::NotFound`]
/// if it was missing from one, [`Exit::InputError`] if an input could not be read,
/// [`Exit::OutputError`] if writing failed.
pub fn run_graph(cfg: &GraphConfig) -> Exit {
    let options = ExplainOptions {
        target: cfg.target.clone(),
        src: None,
        dst: None,
        node_ips: cfg.node_ips.clone(),
        max_paths: crate::netfilter::MAX_PATHS,
    };
    let sources = match read_sources(&cfg.inputs) {
        Ok(sources) => sources,
        Err(message) => {
            eprintln!("srcip-rules: {message}");
            return Exit::InputError;
        }
    };
    let mut exit = Exit::Ok;
    let mut report = GraphReport { inputs: Vec::new() };
    for source in &sources {
        let parsed = crate::parse::parse_structure(source);
        let graphs = graph(&parsed.rules(), &options);
        if graphs.ports.is_empty() {
            exit = Exit::NotFound;
            eprintln!(
                "srcip-rules: no nodePort rule for `{}` in {}; {}",
                report::sanitize(&graphs.target.to_string()),
                report::sanitize(&source.name),
                report::sanitize(&words::available_line(
                    &graphs.available,
                    graphs.available_total
                ))
            );
        }
        let errors = parsed.errors();
        if !errors.is_empty() {
            eprintln!(
                "srcip-rules: {} line(s) of {} could not be parsed and were left out of the graph; `srcip-rules inspect` shows why",
                errors.len(),
                report::sanitize(&source.name)
            );
        }
        report.inputs.push(GraphedInput { source, graphs });
    }
    exit_after(to_stdout(|out| write_graph(cfg.format, &report, out)), exit)
}
