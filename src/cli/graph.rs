//! `srcip-rules graph PORT|IP:PORT|ns/name[:port]`: reads dumps, builds each matching
//! destination's chain graph, writes it as DOT or Mermaid.

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

/// Runs `graph`: [`Exit::Ok`] if the target was found in every input,
/// [`Exit::UnsupportedMode`] if an input is from a proxy mode `explain` cannot analyse
/// (named on standard error with what to run instead, as `explain` does; that input draws
/// nothing, and when no input is left, nothing is written), else [`Exit::NotFound`] if it
/// was missing from one, [`Exit::InputError`] if an input could not be read,
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
        if let Some(u) = &graphs.unsupported_mode {
            // As explain: the mode named, what to run instead, exit 6; nothing to draw.
            exit = Exit::UnsupportedMode;
            eprintln!(
                "srcip-rules: {}: {}",
                report::sanitize(&source.name),
                report::sanitize(&words::mode::unsupported_message(u, &graphs.target))
            );
            continue;
        }
        if graphs.ports.is_empty() {
            if exit == Exit::Ok {
                exit = Exit::NotFound;
            }
            eprintln!(
                "srcip-rules: {}",
                report::sanitize(&words::graph_not_found(&graphs, &source.name))
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
    if report.inputs.iter().all(|i| i.graphs.ports.is_empty()) && exit != Exit::Ok {
        // Nothing to draw (not found, or a proxy mode it cannot analyse): no empty graph
        // for `dot` to render either; standard error said why.
        return exit;
    }
    exit_after(to_stdout(|out| write_graph(cfg.format, &report, out)), exit)
}
