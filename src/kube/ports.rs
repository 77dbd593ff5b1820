//! `ports`: every nodePort, LoadBalancer IP and externalIP of a node in one row each — its
//! service, policy and endpoints, and the verdict for external clients, pods, this node
//! and 127.0.0.0/8 (and a LoadBalancer IP's source ranges) — explained one
//! after the other with what they share computed once, on every core for a large node
//! ([`explain_each`]).

use std::net::IpAddr;

use ipnet::IpNet;

use crate::kube::check::{SourceSelector, VerdictFilter};
use crate::kube::destination::{Destination, DestinationKind, Entry, every_external_address};
use crate::kube::explain::{ExplainOptions, explain_each};
use crate::kube::explanation::{ClassKind, PortExplanation, Verdict};
use crate::kube::nodeports::every_node_port;
use crate::kube::shape::{Locality, TrafficPolicy};
use crate::kube::summary::{Sees, summarize_class};
use crate::kube::target::Target;
use crate::model::Family;
use crate::parse::RuleReader;

/// The source classes a row has a column for, in column order.
pub const COLUMNS: [ClassKind; 4] = [
    ClassKind::Other,
    ClassKind::Pods,
    ClassKind::Node,
    ClassKind::Loopback,
];

/// One class's outcome in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    /// The verdict.
    pub verdict: Verdict,
    /// True if chance alone gives several verdicts (the worst is shown).
    pub mixed: bool,
    /// What the endpoint sees.
    pub sees: Sees,
}

/// One nodePort at a glance.
#[derive(Debug, Clone, PartialEq)]
pub struct PortRow {
    /// The nodePort (its kind, port and protocol; no address).
    pub destination: Destination,
    /// IPv4 or IPv6 ruleset.
    pub family: Family,
    /// `ns/name:port` from the rule comment, if any.
    pub service: Option<String>,
    /// The policy the rules show.
    pub policy: TrafficPolicy,
    /// Endpoints in the service's rules.
    pub endpoints: usize,
    /// Those the rules say run on this node.
    pub local_endpoints: usize,
    /// One cell per [`COLUMNS`] entry; `None` when the port has no such class (no rule
    /// tests a pod prefix, for instance).
    pub cells: [Option<Cell>; 4],
    /// True if part of a path is missing from the dump.
    pub partial: bool,
    /// For a LoadBalancer IP, each source prefix its rules test (its
    /// `loadBalancerSourceRanges`) with its outcome; empty for other rows.
    pub prefixes: Vec<PrefixCell>,
}

/// The outcome for clients in one source prefix a row's rules test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixCell {
    /// The prefix.
    pub prefix: IpNet,
    /// Its outcome.
    pub cell: Cell,
}

/// Which rows to keep.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PortsFilter {
    /// Only services in this namespace.
    pub namespace: Option<String>,
    /// Only rows with this verdict (for one class, or any).
    pub verdict: Option<VerdictFilter>,
}

/// Every nodePort, LoadBalancer IP and externalIP of the dump, sorted by kind, address,
/// port, protocol and family, filtered.
pub fn overview(
    rules: &RuleReader<'_, '_>,
    node_ips: &[IpAddr],
    filter: &PortsFilter,
) -> Vec<PortRow> {
    let options = ExplainOptions {
        target: Target::NodePort {
            port: 0,
            protocol: None,
        },
        src: None,
        dst: None,
        node_ips: node_ips.to_vec(),
        max_paths: crate::netfilter::MAX_PATHS,
    };
    let mut ports: Vec<Entry> = every_node_port(rules)
        .into_iter()
        .map(|p| Entry::from_node_port(p, None))
        .collect();
    ports.extend(every_external_address(rules));
    if let Some(namespace) = &filter.namespace {
        ports.retain(|p| {
            p.service
                .as_deref()
                .and_then(|s| s.split_once('/'))
                .is_some_and(|(ns, _)| ns == namespace)
        });
    }
    let mut rows: Vec<PortRow> = explain_each(rules, &options, &ports, |p| row(&p));
    rows.retain(|r| filter.verdict.as_ref().is_none_or(|v| keeps(v, r)));
    rows.sort_by_key(|r| sort_key(&r.destination, r.family));
    rows
}

/// The order of rows and of diffs: by kind, address, port, protocol, then family.
pub(crate) fn sort_key(
    d: &Destination,
    family: Family,
) -> (DestinationKind, Option<IpAddr>, u16, String, u8) {
    (
        d.kind,
        d.address,
        d.port,
        d.protocol.to_string(),
        family as u8,
    )
}

/// The row of one explained nodePort.
pub fn row(port: &PortExplanation) -> PortRow {
    let cell = |c| {
        let summary = summarize_class(port, c);
        Cell {
            verdict: summary.verdict,
            mixed: summary.mixed,
            sees: summary.sees,
        }
    };
    let mut cells = [None; 4];
    for (slot, kind) in cells.iter_mut().zip(COLUMNS) {
        // Several classes of a kind (never for these four today): the first decides.
        *slot = port.classes.iter().find(|c| c.kind == kind).map(cell);
    }
    let prefixes = port
        .classes
        .iter()
        .filter(|c| c.kind == ClassKind::Prefix)
        .filter_map(|c| {
            Some(PrefixCell {
                prefix: c.prefix?,
                cell: cell(c),
            })
        })
        .collect();
    PortRow {
        destination: port.destination,
        family: port.family,
        service: port.service.clone(),
        policy: port.shape.policy,
        endpoints: port.shape.endpoints.len(),
        local_endpoints: port
            .shape
            .endpoints
            .iter()
            .filter(|e| e.locality == Locality::Local)
            .count(),
        cells,
        partial: port.partial,
        prefixes,
    }
}

/// True if the row has the verdict the filter asks for.
/// (A LoadBalancer IP's source prefixes are classes too: `prefix`.)
fn keeps(filter: &VerdictFilter, row: &PortRow) -> bool {
    let columns = COLUMNS
        .iter()
        .zip(&row.cells)
        .filter_map(|(kind, cell)| Some((*kind, (*cell)?)));
    let prefixes = row.prefixes.iter().map(|p| (ClassKind::Prefix, p.cell));
    columns.chain(prefixes).any(|(kind, cell)| {
        cell.verdict == filter.verdict
            && match filter.source {
                None => true,
                Some(SourceSelector::Kind(k)) => k == kind,
            }
    })
}
