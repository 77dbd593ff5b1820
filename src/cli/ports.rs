//! `srcip-rules ports [FILE...]`: every nodePort of each node, one row each.

use std::net::IpAddr;

use crate::cli::nodes::read_nodes;
use crate::cli::output::{exit_after, to_stdout};
use crate::exit::Exit;
use crate::kube::mode;
use crate::kube::ports::{PortsFilter, overview};
use crate::report::{self, Format, Palette, PortsInput, PortsReport, words};

/// Everything `ports` needs, already validated.
#[derive(Debug, Clone, PartialEq)]
pub struct PortsConfig {
    /// The dumps (`-` or none: stdin).
    pub inputs: Vec<String>,
    /// Node names, in order.
    pub names: Vec<String>,
    /// This node's addresses.
    pub node_ips: Vec<IpAddr>,
    /// Which rows to keep.
    pub filter: PortsFilter,
    /// Output format.
    pub format: Format,
    /// Colour text output.
    pub color: bool,
}

/// Runs `ports`: [`Exit::Ok`], [`Exit::UnsupportedMode`] if an input shows no nodePort
/// and is from a proxy mode srcip-rules cannot analyse (its report names the mode),
/// [`Exit::InputError`] if an input could not be read,
/// [`Exit::Usage`] for more names than nodes, [`Exit::OutputError`] if writing failed.
pub fn run_ports(cfg: &PortsConfig) -> Exit {
    let nodes = match read_nodes(&cfg.inputs, &cfg.names) {
        Ok(nodes) => nodes,
        Err(exit) => return exit,
    };
    let filtered = cfg.filter != PortsFilter::default();
    let mut report = PortsReport {
        inputs: Vec::new(),
        filtered,
    };
    let mut exit = Exit::Ok;
    for node in &nodes {
        let parsed = crate::parse::parse_structure(&node.source);
        let rules = parsed.rules();
        let rows = overview(&rules, &cfg.node_ips, &cfg.filter);
        // No nodePort: say so as explain does when the dump is from a mode it cannot analyse.
        let unsupported_mode = if rows.is_empty() {
            mode::unanalysed(&rules, &cfg.node_ips)
        } else {
            None
        };
        if let Some(u) = &unsupported_mode {
            exit = Exit::UnsupportedMode;
            eprintln!(
                "srcip-rules: {}: {}",
                report::sanitize(&node.source.name),
                report::sanitize(&words::mode::ModeAnswer::for_input(u).headline)
            );
        }
        report.inputs.push(PortsInput {
            name: node.name.clone(),
            source: &node.source,
            rows,
            errors: parsed.errors(),
            error_count: parsed.error_count(),
            tolerated: crate::netfilter::inspect::tolerated(&parsed.dump),
            unsupported_mode,
        });
    }
    let renderer = report::renderer(cfg.format, Palette::new(cfg.color));
    exit_after(to_stdout(|out| renderer.ports(&report, out)), exit)
}
