//! `graph` output: the words on a chain graph's nodes and edges ([`node_label`],
//! [`edge_label`]), shared by the two writers, Graphviz DOT ([`dot`]) and Mermaid
//! ([`mermaid`]). Labels are lists of lines of plain text that may hold dump text; each
//! writer sanitises and escapes them for its own language.

pub mod dot;
pub mod mermaid;

use std::io::{self, Write};

use crate::kube::graph::{
    ChainGraphs, Condition, GraphEdge, GraphNode, Highlight, HighlightKind, NodeKind, PortGraph,
    RuleAction,
};
use crate::kube::{ClassKind, Target};
use crate::model::matcher::PortDirection;
use crate::model::{MarkOp, NatRange, Policy};
use crate::report::words;
use crate::source::Source;

/// A graph language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
    /// Mermaid flowchart (GitHub renders it in Markdown).
    Mermaid,
}

/// What `graph` found in each input.
#[derive(Debug)]
pub struct GraphReport<'s> {
    /// One entry per input, in the order given.
    pub inputs: Vec<GraphedInput<'s>>,
}

/// One input's graphs.
#[derive(Debug)]
pub struct GraphedInput<'s> {
    /// The input.
    pub source: &'s Source,
    /// Its graphs.
    pub graphs: ChainGraphs,
}

/// Writes the report in `format`.
pub fn write_graph(
    format: GraphFormat,
    report: &GraphReport<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        GraphFormat::Dot => dot::write(report, out),
        GraphFormat::Mermaid => mermaid::write(report, out),
    }
}

/// Every graph of the report with the name of the input it came from, numbered from 0.
pub(crate) fn all_graphs<'r>(
    report: &'r GraphReport<'_>,
) -> impl Iterator<Item = (usize, &'r str, &'r PortGraph)> + 'r {
    report
        .inputs
        .iter()
        .flat_map(|input| {
            input
                .graphs
                .ports
                .iter()
                .map(move |g| (input.source.name.as_str(), g))
        })
        .enumerate()
        .map(|(i, (name, g))| (i, name, g))
}

/// The title of one destination's graph.
pub fn graph_title(input_name: &str, graph: &PortGraph) -> String {
    let service = graph
        .service
        .as_deref()
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    let cut = if graph.truncated {
        format!(" [cut at {} rules]", crate::kube::graph::MAX_GRAPH_RULES)
    } else {
        String::new()
    };
    format!(
        "{input_name}: {} {}{service}{cut}",
        words::destination(&graph.destination),
        graph.family
    )
}

/// The first line of every output: what it is and where the numbers come from.
pub fn header(target: Option<&Target>) -> String {
    let (asked, what) = match target {
        Some(t @ Target::NodePort { .. }) => (format!(" {t}"), "the nodePort"),
        Some(t @ Target::Address { .. }) => (format!(" {t}"), "that address"),
        Some(t @ Target::Service { .. }) => (format!(" {t}"), "the service"),
        None => (String::new(), "the nodePort"),
    };
    format!(
        "srcip-rules graph{asked}: the chains a new connection to {what} can pass, drawn from the rules of the dump (line N = line N of the dump)"
    )
}

/// The lines of a node's label.
pub fn node_label(node: &GraphNode) -> Vec<String> {
    let mut lines = match &node.kind {
        NodeKind::Hook { name, policy, line } => {
            let policy = match policy {
                Some(Policy::Accept) => ", policy ACCEPT",
                Some(Policy::Drop) => ", policy DROP",
                None => "",
            };
            vec![
                format!("{} {name}", node.table),
                format!("hook{policy}{}", line_suffix(*line)),
            ]
        }
        NodeKind::Chain {
            name,
            line,
            missing,
        } => {
            let second = if *missing {
                "not in the dump".to_string()
            } else {
                match line {
                    Some(line) => format!("line {line}"),
                    None => "not declared".to_string(),
                }
            };
            vec![name.clone(), second]
        }
        NodeKind::Action { line, action } => vec![action_text(action), format!("line {line}")],
    };
    if let Some(h) = &node.highlight {
        lines.push(highlight_text(h));
    }
    lines
}

fn line_suffix(line: Option<u32>) -> String {
    line.map(|l| format!(", line {l}")).unwrap_or_default()
}

/// The lines of an edge's label: the rule's line, its tests, and what it decided.
pub fn edge_label(edge: &GraphEdge) -> Vec<String> {
    let goto = if edge.goto { " (goto)" } else { "" };
    let mut lines = vec![format!("line {}{goto}", edge.line)];
    if !edge.conditions.is_empty() {
        let tests: Vec<String> = edge.conditions.iter().map(condition_text).collect();
        lines.push(tests.join(", "));
    }
    if let Some(h) = &edge.highlight {
        lines.push(highlight_text(h));
    }
    lines
}

/// What a highlighted rule did, and for whom.
pub fn highlight_text(h: &Highlight) -> String {
    let did = match h.kind {
        HighlightKind::Masquerade => "masquerades",
        HighlightKind::Drop => "drops",
        HighlightKind::Reject => "rejects",
    };
    let classes: Vec<&str> = h.classes.iter().map(|&c| class_word(c)).collect();
    format!("{did}: {}", classes.join(", "))
}

/// A source class in a few words.
pub fn class_word(kind: ClassKind) -> &'static str {
    match kind {
        ClassKind::Loopback => "loopback",
        ClassKind::Node => "this node",
        ClassKind::Pods => "pods",
        ClassKind::Endpoint => "endpoint itself",
        ClassKind::Prefix => "a tested prefix",
        ClassKind::Other => "external clients",
        ClassKind::Given => "the --src address",
    }
}

/// An action as iptables writes it, shortened.
pub fn action_text(action: &RuleAction) -> String {
    match action {
        RuleAction::Dnat(to) => format!("DNAT to {}", ranges(to)),
        RuleAction::Snat(to) => format!("SNAT to {}", ranges(to)),
        RuleAction::Masquerade => "MASQUERADE".to_string(),
        RuleAction::Redirect(Some(p)) => format!("REDIRECT to port {p}"),
        RuleAction::Redirect(None) => "REDIRECT".to_string(),
        RuleAction::Mark(op) => mark_op(op),
        RuleAction::Accept => "ACCEPT".to_string(),
        RuleAction::Drop => "DROP".to_string(),
        RuleAction::Reject(Some(with)) => format!("REJECT with {with}"),
        RuleAction::Reject(None) => "REJECT".to_string(),
        RuleAction::Return => "RETURN".to_string(),
        RuleAction::Log => "LOG".to_string(),
        RuleAction::Other(name) => name.clone(),
    }
}

fn ranges(to: &[NatRange]) -> String {
    let all: Vec<String> = to.iter().map(NatRange::to_string).collect();
    if all.is_empty() {
        "(no address)".to_string()
    } else {
        all.join(", ")
    }
}

fn mark_op(op: &MarkOp) -> String {
    format!("MARK set-xmark {:#x}/{:#x}", op.value, op.mask)
}

/// One test in a few words.
pub fn condition_text(condition: &Condition) -> String {
    let not = |negated: bool| if negated { "not " } else { "" };
    match condition {
        Condition::Source(s) => format!("src {}{}", not(s.negated), s.value),
        Condition::Destination(d) => format!("dst {}{}", not(d.negated), d.value),
        Condition::Protocol(p) => format!("{}{}", not(p.negated), p.value),
        Condition::Interface {
            incoming,
            negated,
            name,
        } => {
            let which = if *incoming { "in" } else { "out" };
            format!("{which} {}{name}", not(*negated))
        }
        Condition::Fragment { negated } => format!("{}fragment", not(*negated)),
        Condition::Port { destination, ports } => {
            let which = if *destination { "dport" } else { "sport" };
            format!("{which} {}{}", not(ports.negated), ports.value)
        }
        Condition::Ports { direction, ports } => {
            let which = match direction {
                PortDirection::Source => "sports",
                PortDirection::Destination => "dports",
                PortDirection::Either => "ports",
            };
            let list: Vec<String> = ports.value.iter().map(|p| p.to_string()).collect();
            format!("{which} {}{}", not(ports.negated), list.join(","))
        }
        Condition::AddressType {
            source,
            negated,
            types,
        } => {
            let which = if *source { "src-type" } else { "dst-type" };
            format!("{which} {}{}", not(*negated), types.join(","))
        }
        Condition::Mark(mark) => format!(
            "mark {}{:#x}/{:#x}",
            not(mark.negated),
            mark.value.value,
            mark.value.mask
        ),
        Condition::Probability {
            negated,
            probability,
        } => format!("{}probability {probability}", not(*negated)),
        Condition::Nth {
            negated,
            every,
            packet,
        } => format!("{}packet {packet} of every {every}", not(*negated)),
        Condition::ConnectionState { negated, states } => {
            format!("ctstate {}{}", not(*negated), states.join(","))
        }
        Condition::Set {
            negated,
            name,
            flags,
        } => format!("{}in set {name} {flags}", not(*negated)),
        Condition::Recent { action, name } => format!("recent {action} {name}"),
        Condition::Other(text) => text.clone(),
    }
}

/// The order tables are drawn in: nat first (the graph's subject), then filter, then the
/// others by name.
pub(crate) fn tables_in_order(graph: &PortGraph) -> Vec<&str> {
    let mut tables: Vec<&str> = graph.nodes.iter().map(|n| n.table.as_str()).collect();
    tables.sort_by_key(|t| (*t != "nat", *t != "filter", *t));
    tables.dedup();
    tables
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Address, Negatable, PortRange};

    #[test]
    fn conditions_read_like_short_iptables() {
        let net = |s: &str| Address::Net(s.parse().unwrap());
        assert_eq!(
            condition_text(&Condition::Source(Negatable {
                value: net("10.0.0.0/8"),
                negated: true
            })),
            "src not 10.0.0.0/8"
        );
        assert_eq!(
            condition_text(&Condition::Probability {
                negated: false,
                probability: 0.5
            }),
            "probability 0.5"
        );
        assert_eq!(
            condition_text(&Condition::Port {
                destination: true,
                ports: Negatable {
                    value: PortRange::single(3001),
                    negated: false
                }
            }),
            "dport 3001"
        );
        assert_eq!(
            condition_text(&Condition::AddressType {
                source: true,
                negated: false,
                types: vec!["LOCAL".into()]
            }),
            "src-type LOCAL"
        );
    }
}
