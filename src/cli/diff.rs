//! `srcip-rules diff A B [TARGET...]`: what differs between two nodes (or one node before
//! and after a change) for the same nodePorts.

use std::net::IpAddr;

use crate::cli::input::read_sources;
use crate::cli::nodes::{NodeInput, node_inputs};
use crate::cli::output::{exit_after, to_stdout};
use crate::exit::Exit;
use crate::kube::diff::{diff, unanalysed_sides};
use crate::kube::{ExplainOptions, Target};
use crate::report::{self, DiffReport, Format, Palette, words};

/// Everything `diff` needs, already validated.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffConfig {
    /// Node A's dump and node B's (one may be `-`).
    pub inputs: [String; 2],
    /// The nodePorts or services to compare (none: all).
    pub targets: Vec<Target>,
    /// Node names, in order.
    pub names: Vec<String>,
    /// The nodes' own addresses.
    pub node_ips: Vec<IpAddr>,
    /// Output format.
    pub format: Format,
    /// Colour text output.
    pub color: bool,
}

/// Runs `diff`: [`Exit::Ok`] whatever differs; [`Exit::UnsupportedMode`] if a side shows
/// none of the destinations and is from a proxy mode srcip-rules cannot analyse (nothing is
/// compared: the report names the mode); [`Exit::NotFound`] if an asked nodePort is on
/// neither node; [`Exit::Usage`] if an input holds other than one node.
pub fn run_diff(cfg: &DiffConfig) -> Exit {
    if cfg.inputs[0] == "-" && cfg.inputs[1] == "-" {
        eprintln!("srcip-rules: diff reads at most one of its two dumps from standard input");
        return Exit::Usage;
    }
    let mut nodes = match read_nodes(cfg) {
        Ok(nodes) => nodes,
        Err(exit) => return exit,
    };
    if nodes[0].name == nodes[1].name {
        nodes[1].name = format!("{} (B)", nodes[1].name);
        nodes[0].name = format!("{} (A)", nodes[0].name);
    }
    let options = ExplainOptions {
        target: cfg.targets.first().cloned().unwrap_or(Target::NodePort {
            port: 0,
            protocol: None,
        }),
        src: None,
        dst: None,
        node_ips: cfg.node_ips.clone(),
        max_paths: crate::netfilter::MAX_PATHS,
    };
    let parsed_a = crate::parse::parse_structure(&nodes[0].source);
    let parsed_b = crate::parse::parse_structure(&nodes[1].source);
    let mut ports = diff(&parsed_a.rules(), &parsed_b.rules(), &cfg.targets, &options);
    let unsupported = unanalysed_sides(&parsed_a.rules(), &parsed_b.rules(), &ports, &cfg.node_ips);
    let mut exit = Exit::Ok;
    for (node, u) in nodes.iter().zip(&unsupported) {
        if let Some(u) = u {
            // As explain: the mode named, exit 6; the other side alone is no comparison.
            exit = Exit::UnsupportedMode;
            ports.clear();
            eprintln!(
                "srcip-rules: {}: {}",
                report::sanitize(&node.source.name),
                report::sanitize(&words::mode::ModeAnswer::for_input(u).headline)
            );
        }
    }
    for target in &cfg.targets {
        let on_a = !crate::kube::nodeports::find_node_ports(&parsed_a.rules(), target).is_empty();
        let on_b = !crate::kube::nodeports::find_node_ports(&parsed_b.rules(), target).is_empty();
        if !on_a && !on_b && exit != Exit::UnsupportedMode {
            eprintln!(
                "srcip-rules: no nodePort rule for `{}` on either node",
                report::sanitize(&target.to_string())
            );
            exit = Exit::NotFound;
        }
    }
    let report = DiffReport {
        a: (nodes[0].name.clone(), &nodes[0].source),
        b: (nodes[1].name.clone(), &nodes[1].source),
        asked: !cfg.targets.is_empty(),
        ports,
        unsupported,
    };
    let renderer = report::renderer(cfg.format, Palette::new(cfg.color));
    exit_after(to_stdout(|out| renderer.diff(&report, out)), exit)
}

/// The two nodes, one per input, named by `--name` when given; a message and the exit
/// code when an input cannot be read or holds other than one node.
fn read_nodes(cfg: &DiffConfig) -> Result<Vec<NodeInput>, Exit> {
    let sources = match read_sources(&cfg.inputs) {
        Ok(sources) => sources,
        Err(message) => {
            eprintln!("srcip-rules: {message}");
            return Err(Exit::InputError);
        }
    };
    let mut nodes = Vec::new();
    for source in sources {
        let name = source.name.clone();
        let found = match node_inputs(vec![source], &[]) {
            Ok(found) => found,
            Err(message) => {
                eprintln!("srcip-rules: {}", report::sanitize(&message));
                return Err(Exit::Usage);
            }
        };
        if found.len() != 1 {
            eprintln!(
                "srcip-rules: diff compares two nodes, but {} holds {} dumps one after another; give one node per input",
                report::sanitize(&name),
                found.len()
            );
            return Err(Exit::Usage);
        }
        nodes.extend(found);
    }
    if cfg.names.len() > 2 {
        eprintln!("srcip-rules: diff takes at most two --name (A's, then B's)");
        return Err(Exit::Usage);
    }
    for (node, name) in nodes.iter_mut().zip(&cfg.names) {
        node.name = name.clone();
    }
    Ok(nodes)
}
