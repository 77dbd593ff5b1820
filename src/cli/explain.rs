//! `srcip-rules explain PORT|IP:PORT|ns/name[:port]`: reads dumps (several nodes: several
//! files, or dumps one after another), explains the target on each node, renders the
//! report.

use std::net::IpAddr;

use crate::cli::nodes::read_nodes;
use crate::cli::output::{exit_after, to_stdout};
use crate::exit::Exit;
use crate::kube::mode::ProxyMode;
use crate::kube::{ExplainOptions, Explanation, Target, explain};
use crate::model::Dump;
use crate::report::{self, ExplainReport, ExplainedInput, Format, Palette, words};

/// Everything `explain` needs, already validated (no clap here).
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainConfig {
    /// The dumps to read (`-` or none: stdin); each node is explained on its own.
    pub inputs: Vec<String>,
    /// The nodePort or service.
    pub target: Target,
    /// Only this source.
    pub src: Option<IpAddr>,
    /// The destination (default: this node's address).
    pub dst: Option<IpAddr>,
    /// This node's addresses.
    pub node_ips: Vec<IpAddr>,
    /// Most distinct paths followed per source class.
    pub max_paths: usize,
    /// Output format.
    pub format: Format,
    /// Colour text output.
    pub color: bool,
    /// Only the verdict tables.
    pub brief: bool,
    /// Node names, in order.
    pub names: Vec<String>,
}

/// Runs `explain`: [`Exit::Ok`] if the target was found in every input,
/// [`Exit::UnsupportedMode`] if an input is from a proxy mode `explain` cannot analyse (IPVS,
/// nftables, userspace, no kube-proxy; an input refused with [`Exit::InputError`] outranks
/// it), else [`Exit::NotFound`]
/// if it was missing from one (or only its other address family's rules were there),
/// [`Exit::Usage`] if the question mixes IPv4 and IPv6 addresses, [`Exit::InputError`] if an input could not be read,
/// [`Exit::OutputError`] if writing failed (a closed pipe counts as success).
pub fn run_explain(cfg: &ExplainConfig) -> Exit {
    let options = ExplainOptions {
        target: cfg.target.clone(),
        src: cfg.src,
        dst: cfg.dst,
        node_ips: cfg.node_ips.clone(),
        max_paths: cfg.max_paths,
    };
    if let Err(message) = options.family() {
        eprintln!("srcip-rules: {}", report::sanitize(&message));
        return Exit::Usage;
    }
    let nodes = match read_nodes(&cfg.inputs, &cfg.names) {
        Ok(nodes) => nodes,
        Err(exit) => return exit,
    };
    let mut exit = Exit::Ok;
    let mut report = ExplainReport {
        inputs: Vec::new(),
        brief: cfg.brief,
    };
    for node in &nodes {
        let source = &node.source;
        // Only the structure: explain types just the rules on the nodePort's path, so a
        // million-rule dump costs one cheap pass (`inspect` checks every rule).
        let parsed = crate::parse::parse_structure(source);
        if refuse(source, &parsed.errors()) {
            // kube-proxy's own nftables table is readable, just not analysable yet.
            if !nftables_note(source, &parsed, &options) {
                exit = Exit::InputError;
            } else if exit != Exit::InputError {
                exit = Exit::UnsupportedMode;
            }
            continue;
        }
        let explanation = explain(&parsed.rules(), &options);
        if let Some(unsupported) = &explanation.unsupported_mode {
            // The report says it all; standard error gets its first line.
            if exit != Exit::InputError {
                exit = Exit::UnsupportedMode;
            }
            let headline = words::mode::unsupported_headline(unsupported, &explanation.target);
            eprintln!(
                "srcip-rules: {}: {}",
                report::sanitize(&source.name),
                report::sanitize(&headline)
            );
        } else if explanation.ports.is_empty() {
            if exit == Exit::Ok {
                exit = Exit::NotFound;
            }
            let label = if nodes.len() > 1 {
                format!("{} ({})", node.name, source.name)
            } else {
                source.name.clone()
            };
            say_not_found(&label, &explanation, &parsed.dump);
        }
        report.inputs.push(ExplainedInput {
            node: node.name.clone(),
            source,
            errors: parsed.errors(),
            error_count: parsed.error_count(),
            rules_checked: parsed.dump.rules_checked,
            truncated: parsed.dump.is_cut(),
            tolerated: crate::netfilter::inspect::tolerated(&parsed.dump),
            explanation,
        });
    }
    let renderer = report::renderer(cfg.format, Palette::new(cfg.color));
    exit_after(to_stdout(|out| renderer.explain(&report, out)), exit)
}

/// For refused `nft list ruleset` text holding kube-proxy's own table: one more line on
/// standard error naming kube-proxy's nftables mode and what in it decides the target;
/// true if it was that (the input is then from an unsupported mode, not unreadable).
fn nftables_note(
    source: &crate::source::Source,
    parsed: &crate::parse::Parsed<'_>,
    options: &ExplainOptions,
) -> bool {
    let explanation = explain(&parsed.rules(), options);
    let Some(u) = &explanation.unsupported_mode else {
        return false;
    };
    if u.mode != ProxyMode::Nftables {
        return false;
    }
    eprintln!(
        "srcip-rules: {}: {}",
        report::sanitize(&source.name),
        report::sanitize(&words::mode::unsupported_message(u, &explanation.target))
    );
    true
}

/// For an input that cannot be analysed as it is (another program's listing, rules cut in
/// two by a forum): says why on standard error, each such line with its location, and
/// returns true. Reading the rest would give verdicts from half rules.
fn refuse(source: &crate::source::Source, errors: &[crate::parse::ParseError]) -> bool {
    const SHOWN: usize = 5;
    let refusing: Vec<&crate::parse::ParseError> = errors
        .iter()
        .filter(|e| e.kind.refuses_analysis())
        .collect();
    for error in refusing.iter().take(SHOWN) {
        eprintln!(
            "{}",
            report::diagnostic::render(source, error, Palette::new(false))
        );
    }
    if refusing.len() > SHOWN {
        eprintln!("… and {} more such line(s)", refusing.len() - SHOWN);
    }
    if !refusing.is_empty() {
        eprintln!(
            "srcip-rules: {}: {}",
            report::sanitize(&source.name),
            words::refused_input()
        );
    }
    !refusing.is_empty()
}

/// Says on standard error that the target is not in the input, with the nodePorts it does
/// have, and for a cut dump that its rules may be after the cut.
fn say_not_found(label: &str, explanation: &Explanation, dump: &Dump<'_>) {
    let mut hint = match explanation.family_mismatch {
        Some(_) => String::new(),
        None => format!(
            "; {}",
            words::available_line(&explanation.available, explanation.available_total)
        ),
    };
    if dump.is_cut() {
        hint.push_str("; ");
        hint.push_str(&words::cut_not_found(&explanation.target, dump.line_count));
    }
    eprintln!(
        "srcip-rules: {}: {}{}",
        report::sanitize(label),
        report::sanitize(&words::not_found(explanation)),
        report::sanitize(&hint)
    );
}
