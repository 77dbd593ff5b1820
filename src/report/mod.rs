//! Turning results into text for people (plain or coloured, Markdown) and JSON for
//! programs. Nothing here decides anything. One renderer per format ([`text`],
//! [`markdown`], [`json`]) implements [`Render`] for every command, warnings and footers
//! included; the sentences they share are in [`words`]; everything printed from the dump
//! goes through [`sanitize()`].

pub mod diagnostic;
pub mod graph;
pub mod json;
pub mod markdown;
pub mod palette;
pub mod sanitize;
pub mod text;
pub mod words;

use std::io::{self, Write};

pub use palette::Palette;
pub use sanitize::sanitize;

use crate::kube::Explanation;
use crate::kube::check::{Expectation, Fate};
use crate::kube::diff::PortDiff;
use crate::kube::mode::{ProxyModes, UnsupportedMode};
use crate::kube::ports::PortRow;
use crate::kube::trace::Trace;
use crate::netfilter::inspect::{DumpWarning, Inspection};
use crate::parse::ParseError;
use crate::source::Source;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Text for a terminal (coloured when the palette is).
    Text,
    /// Markdown for a ticket.
    Markdown,
    /// JSON for programs (schemas in [`json`]).
    Json,
}

/// What `explain` found in each input.
#[derive(Debug)]
pub struct ExplainReport<'s> {
    /// One entry per input, in the order given.
    pub inputs: Vec<ExplainedInput<'s>>,
    /// Only the answer: per destination the verdict table and what stands out
    /// (`--brief`).
    pub brief: bool,
}

/// One input's explanation, with what the reader must know about the input.
#[derive(Debug)]
pub struct ExplainedInput<'s> {
    /// The node's name (`--name`, a `# node:` comment, or the file name).
    pub node: String,
    /// The input.
    pub source: &'s Source,
    /// What was found.
    pub explanation: Explanation,
    /// Lines that could not be parsed (left out of the analysis): the first ones.
    pub errors: Vec<ParseError>,
    /// How many errors there were in all.
    pub error_count: usize,
    /// False when only the rules on the path were checked for errors.
    pub rules_checked: bool,
    /// True when a table of the input has no COMMIT (the input was cut).
    pub truncated: bool,
    /// Lines accepted although they are not iptables-save text (one warning per kind).
    pub tolerated: Vec<DumpWarning>,
}

/// What `inspect` found in each input.
#[derive(Debug)]
pub struct InspectReport<'s> {
    /// One entry per input, in the order given.
    pub inputs: Vec<InspectedInput<'s>>,
    /// Parse errors shown in full per input (text and Markdown); the rest are counted.
    pub max_errors: usize,
}

/// One inspected input.
#[derive(Debug)]
pub struct InspectedInput<'s> {
    /// The input.
    pub source: &'s Source,
    /// Its summary.
    pub inspection: Inspection,
    /// Its parse errors.
    pub errors: Vec<ParseError>,
    /// The proxy mode of each ruleset.
    pub proxy_modes: ProxyModes,
}

/// What `trace` found in each input.
#[derive(Debug)]
pub struct TraceReport<'s> {
    /// One entry per input, in the order given.
    pub inputs: Vec<TracedInput<'s>>,
}

/// One input's trace.
#[derive(Debug)]
pub struct TracedInput<'s> {
    /// The input.
    pub source: &'s Source,
    /// The packet's walk.
    pub trace: Trace,
    /// Lines that could not be parsed (left out of the walk): the first ones.
    pub errors: Vec<ParseError>,
    /// How many errors there were in all.
    pub error_count: usize,
}

/// What `ports` found on each node.
#[derive(Debug)]
pub struct PortsReport<'s> {
    /// One entry per node, in the order given.
    pub inputs: Vec<PortsInput<'s>>,
    /// True if rows were left out by `--namespace` or `--verdict`.
    pub filtered: bool,
}

/// One node's nodePorts.
#[derive(Debug)]
pub struct PortsInput<'s> {
    /// The node's name.
    pub name: String,
    /// Its dump.
    pub source: &'s Source,
    /// One row per nodePort (after the filters), sorted.
    pub rows: Vec<PortRow>,
    /// Lines that could not be parsed (left out of the analysis): the first ones.
    pub errors: Vec<ParseError>,
    /// How many errors there were in all.
    pub error_count: usize,
    /// What the parser tolerated in the input (pasted-dump debris), as warnings.
    pub tolerated: Vec<DumpWarning>,
    /// When the input shows no nodePort and is from a proxy mode srcip-rules cannot
    /// analyse: that mode, reported instead of "no nodePorts".
    pub unsupported_mode: Option<UnsupportedMode>,
}

/// What `check` found: every expectation on every node.
#[derive(Debug)]
pub struct CheckReport<'s> {
    /// One entry per node and expectation, node by node, expectations in the order given.
    pub results: Vec<CheckResult<'s>>,
    /// How many nodes were checked.
    pub nodes: usize,
}

/// One expectation on one node.
#[derive(Debug)]
pub struct CheckResult<'s> {
    /// The node's name.
    pub node: String,
    /// Its dump.
    pub source: &'s Source,
    /// The expectation.
    pub expectation: Expectation,
    /// How it fared.
    pub fate: Fate,
}

/// What `diff` found between two nodes.
#[derive(Debug)]
pub struct DiffReport<'s> {
    /// Node A's name and dump.
    pub a: (String, &'s Source),
    /// Node B's name and dump.
    pub b: (String, &'s Source),
    /// True if destinations were asked (then each is shown, differing or not).
    pub asked: bool,
    /// Every destination compared (none when a side is from a proxy mode srcip-rules
    /// cannot analyse).
    pub ports: Vec<PortDiff>,
    /// A's and B's proxy mode, when that side shows no destination and is from a mode
    /// srcip-rules cannot analyse.
    pub unsupported: [Option<UnsupportedMode>; 2],
}

/// One output format, for every command.
pub trait Render {
    /// One explanation on its own (the body of an `explain` report for one input).
    fn explanation(&self, explanation: &Explanation, out: &mut dyn Write) -> io::Result<()>;
    /// The whole `explain` report: every input, with its warnings and footer.
    fn explain(&self, report: &ExplainReport<'_>, out: &mut dyn Write) -> io::Result<()>;
    /// The whole `inspect` report.
    fn inspect(&self, report: &InspectReport<'_>, out: &mut dyn Write) -> io::Result<()>;
    /// The whole `trace` report.
    fn trace(&self, report: &TraceReport<'_>, out: &mut dyn Write) -> io::Result<()>;
    /// The whole `ports` report.
    fn ports(&self, report: &PortsReport<'_>, out: &mut dyn Write) -> io::Result<()>;
    /// The whole `check` report.
    fn check(&self, report: &CheckReport<'_>, out: &mut dyn Write) -> io::Result<()>;
    /// The whole `diff` report.
    fn diff(&self, report: &DiffReport<'_>, out: &mut dyn Write) -> io::Result<()>;
}

/// The renderer for `format`; `palette` colours text output.
/// Branches of one class shown in full in text and Markdown; the rest are counted (a walk
/// can fork into thousands of branches that differ only in their assumptions).
pub(crate) const BRANCHES_SHOWN: usize = 16;

/// Branches of one class written in JSON; the rest are counted in `branches_omitted`.
pub(crate) const BRANCHES_IN_JSON: usize = 256;

/// Characters of a rule's text shown in text and Markdown; a longer rule (a huge comment)
/// is cut there, with its length.
pub(crate) const RULE_TEXT_SHOWN: usize = 400;

/// The part of `text` a report shows, and the whole length in bytes when it was cut.
pub(crate) fn shown_part(text: &str, max: usize) -> (&str, Option<usize>) {
    match text.char_indices().nth(max) {
        Some((at, _)) => (&text[..at], Some(text.len())),
        None => (text, None),
    }
}

pub fn renderer(format: Format, palette: Palette) -> Box<dyn Render> {
    match format {
        Format::Text => Box::new(text::Text { palette }),
        Format::Markdown => Box::new(markdown::Markdown),
        Format::Json => Box::new(json::Json),
    }
}

/// The warnings about one input, sanitised, in the order a report shows them: lines that
/// did not parse, then each kind of pasted text the parser accepted.
pub(crate) fn input_warnings(
    source: &Source,
    errors: &[ParseError],
    error_count: usize,
    tolerated: &[DumpWarning],
) -> Vec<String> {
    unparsed_warning(source, errors, error_count)
        .into_iter()
        .chain(
            tolerated
                .iter()
                .map(|w| sanitize(&words::dump_warning(w)).into_owned()),
        )
        .collect()
}

/// The lines (sorted, without repeats) of some parse errors, and how to see why: the
/// warning every human format gives for an input with errors.
pub(crate) fn unparsed_warning(
    source: &Source,
    errors: &[ParseError],
    error_count: usize,
) -> Option<String> {
    if error_count == 0 {
        return None;
    }
    let mut lines: Vec<u32> = errors.iter().map(|e| e.line).collect();
    lines.sort_unstable();
    lines.dedup();
    let shown: Vec<String> = lines.iter().take(5).map(u32::to_string).collect();
    let more = if lines.len() > 5 || error_count > errors.len() {
        ", ..."
    } else {
        ""
    };
    let name = sanitize(&source.name);
    let how = if source.name == "<stdin>" {
        "`srcip-rules inspect` on the same input".to_string()
    } else {
        format!("`srcip-rules inspect {name}`")
    };
    Some(format!(
        "{} line(s) of {name} could not be parsed (line {}{more}); they were left out of the analysis. {how} shows why.",
        error_count,
        shown.join(", "),
    ))
}

/// The footer for an input whose rules were checked only along the path, if due.
pub(crate) fn path_only_footer(input: &ExplainedInput<'_>) -> Option<&'static str> {
    (!input.rules_checked && !input.explanation.ports.is_empty()).then_some(
        "only the rules on the nodePort's path were checked for errors; `srcip-rules inspect` checks them all",
    )
}

/// One destination across several nodes: its rows (node name, and the destination's row
/// there, or none when that node has no such destination), in node order.
pub(crate) struct NodesTable<'r> {
    /// The destination, as the first node that has it says.
    pub(crate) destination: crate::kube::destination::Destination,
    /// Its family.
    pub(crate) family: crate::model::Family,
    /// The service, from the first node that names one.
    pub(crate) service: Option<String>,
    /// One per node.
    pub(crate) rows: Vec<(&'r str, Option<PortRow>)>,
}

/// The node × source-class tables of an `explain` report for several nodes: one per
/// destination (address, port, protocol, family) found on any node, in the order first
/// found; its kind is the first node's (another node may not have the rules that make an
/// address a LoadBalancer IP).
pub(crate) fn nodes_tables<'r>(report: &'r ExplainReport<'_>) -> Vec<NodesTable<'r>> {
    use crate::kube::PortExplanation;
    use crate::kube::ports::row;
    type Key = (
        Option<std::net::IpAddr>,
        u16,
        crate::model::Protocol,
        crate::model::Family,
    );
    let key = |p: &PortExplanation| -> Key {
        let d = &p.destination;
        (d.address, d.port, d.protocol, p.family)
    };
    let mut firsts: Vec<&PortExplanation> = Vec::new();
    for input in &report.inputs {
        for p in &input.explanation.ports {
            if !firsts.iter().any(|f| key(f) == key(p)) {
                firsts.push(p);
            }
        }
    }
    firsts
        .into_iter()
        .map(|first| {
            let rows: Vec<(&str, Option<PortRow>)> = report
                .inputs
                .iter()
                .map(|input| {
                    let found = input
                        .explanation
                        .ports
                        .iter()
                        .find(|p| key(p) == key(first));
                    (input.node.as_str(), found.map(row))
                })
                .collect();
            NodesTable {
                destination: first.destination,
                family: first.family,
                service: rows
                    .iter()
                    .find_map(|(_, r)| r.as_ref().and_then(|r| r.service.clone())),
                rows,
            }
        })
        .collect()
}

/// True if every destination a diff compares is a nodePort (it then says "nodePorts").
pub(crate) fn node_ports_only(report: &DiffReport<'_>) -> bool {
    report
        .ports
        .iter()
        .all(|d| d.destination.kind == crate::kube::destination::DestinationKind::NodePort)
}

/// A cited rule as one line of text: `line N [table chain] text`, sanitised, coloured by
/// `palette`.
pub(crate) struct RuleRefLine<'r>(pub(crate) &'r crate::kube::RuleRef);

impl RuleRefLine<'_> {
    pub(crate) fn text(&self, palette: Palette) -> String {
        let r = self.0;
        format!(
            "{} {} {}",
            palette.location(&format!("line {}", r.line)),
            palette.chain(&format!("[{} {}]", sanitize(&r.table), sanitize(&r.chain))),
            palette.dim(&sanitize(&r.text))
        )
    }
}
