//! `srcip-rules trace --src … --dst … --dport …`: reads dumps, walks one packet through
//! each, renders the report.

use std::net::IpAddr;

use crate::cli::input::read_sources;
use crate::cli::output::{exit_after, to_stdout};
use crate::exit::Exit;
use crate::kube::{TraceOptions, trace};
use crate::netfilter::{Origin, Packet};
use crate::report::{self, Format, Palette, TraceReport, TracedInput, words};

/// Everything `trace` needs, already parsed (no clap here).
#[derive(Debug, Clone, PartialEq)]
pub struct TraceConfig {
    /// The dumps to read (`-` or none: stdin); each is traced on its own.
    pub inputs: Vec<String>,
    /// The packet.
    pub packet: Packet,
    /// The mark it starts with.
    pub mark: u32,
    /// This node's addresses.
    pub node_ips: Vec<IpAddr>,
    /// Record the rules that did not match.
    pub verbose: bool,
    /// Output format.
    pub format: Format,
    /// Colour text output.
    pub color: bool,
}

/// Why the packet cannot be asked about: its addresses mix IPv4 and IPv6.
pub fn mixed_families(packet: &Packet, node_ips: &[IpAddr]) -> Option<String> {
    let named = [("--src", packet.src), ("--dst", packet.dst)]
        .into_iter()
        .chain(node_ips.iter().map(|ip| ("--node-ip", *ip)));
    let first = packet.dst;
    named.filter(|(_, ip)| ip.is_ipv4() != first.is_ipv4()).map(|(name, ip)| {
        format!(
            "--dst {first} and {name} {ip} are not the same address family: a packet is IPv4 or IPv6"
        )
    }).next()
}

/// Runs `trace`: [`Exit::Ok`] if every input had rules of the packet's family (a dump from
/// a proxy mode `explain` cannot analyse included: the trace shows what its iptables rules
/// do, with a note on what that mode does besides), [`Exit::UnsupportedMode`] if one had no
/// rules to walk and is from such a mode (`nft list ruleset` text with kube-proxy's
/// table), else [`Exit::NotFound`] if one had none, [`Exit::Usage`] for a packet mixing families,
/// [`Exit::InputError`] if an input could not be read, [`Exit::OutputError`] if writing
/// failed.
pub fn run_trace(cfg: &TraceConfig) -> Exit {
    if let Some(message) = mixed_families(&cfg.packet, &cfg.node_ips) {
        eprintln!("srcip-rules: {message}");
        return Exit::Usage;
    }
    if cfg.packet.origin == Origin::Local
        && !cfg.packet.src.is_loopback()
        && !cfg.node_ips.is_empty()
        && !cfg.node_ips.contains(&cfg.packet.src)
    {
        eprintln!(
            "srcip-rules: note: --local packets leave from one of this node's addresses; {} is taken as one besides --node-ip",
            cfg.packet.src
        );
    }
    let sources = match read_sources(&cfg.inputs) {
        Ok(sources) => sources,
        Err(message) => {
            eprintln!("srcip-rules: {message}");
            return Exit::InputError;
        }
    };
    let options = TraceOptions {
        packet: cfg.packet.clone(),
        mark: cfg.mark,
        node_ips: cfg.node_ips.clone(),
        verbose: cfg.verbose,
    };
    let mut exit = Exit::Ok;
    let mut report = TraceReport { inputs: Vec::new() };
    for source in &sources {
        let parsed = crate::parse::parse_structure(source);
        let traced = trace(&parsed.rules(), &options);
        if traced.rulesets.is_empty() {
            // Nothing walked: as explain, a mode it cannot analyse is named, with exit 6.
            let said = match &traced.unsupported_mode {
                Some(u) => {
                    exit = Exit::UnsupportedMode;
                    words::mode::trace_note(u)
                }
                None => {
                    if exit == Exit::Ok {
                        exit = Exit::NotFound;
                    }
                    words::trace::no_ruleset(&traced)
                }
            };
            eprintln!(
                "srcip-rules: {}: {}",
                report::sanitize(&source.name),
                report::sanitize(&said)
            );
        }
        report.inputs.push(TracedInput {
            source,
            trace: traced,
            errors: parsed.errors(),
            error_count: parsed.error_count(),
        });
    }
    let renderer = report::renderer(cfg.format, Palette::new(cfg.color));
    exit_after(to_stdout(|out| renderer.trace(&report, out)), exit)
}
