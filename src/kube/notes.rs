//! What the reader of a destination's report should know beyond the verdicts: the
//! 127.0.0.0/8 rule's real meaning, conflicting services, missing chains, the service's
//! healthCheckNodePort, an address no rule names.

use std::cell::RefCell;

use rustc_hash::FxHashMap;

use crate::kube::chains::{MARK_MASQ, NODEPORTS};
use crate::kube::destination::{DestinationKind, Entry};
use crate::kube::findings::PortNote;
use crate::kube::nodeports::rule_port;
use crate::kube::shape::{Locality, ServiceShape, TrafficPolicy};
use crate::model::{Match, RulesetId};
use crate::parse::RuleReader;

/// The notes for `entry`, but for those about its node's input as a whole
/// ([`incomplete_input`], the same for every destination of the node: they follow these).
pub(crate) fn port_notes(
    rules: &RuleReader<'_, '_>,
    entry: &Entry,
    shape: &ServiceShape,
    health_checks: &HealthChecks,
) -> Vec<PortNote> {
    let dump = rules.dump();
    let mut notes = Vec::new();
    let mut services: Vec<(String, Vec<u32>)> = Vec::new();
    for &rule in &entry.rules {
        let Ok(body) = rules.body(rule) else {
            continue;
        };
        let line = dump.rule(rule).line;
        let loopback = body.matches.iter().find_map(|m| match m {
            Match::Source(s) if !s.negated => s.value.net().filter(|n| n.addr().is_loopback()),
            _ => None,
        });
        if let (Some(net), Some(target)) = (loopback, body.target.as_ref())
            && target.name == MARK_MASQ
        {
            notes.push(PortNote::LoopbackMasqueradeOnly { line, net });
        }
        if entry.destination.kind == DestinationKind::NodePort
            && let Some(comment) = body.comment()
        {
            match services.iter_mut().find(|(s, _)| s == comment) {
                Some((_, lines)) => lines.push(line),
                None => services.push((comment.to_string(), vec![line])),
            }
        }
    }
    // Several services on one (protocol, nodePort): kube-proxy never allocates that, so the
    // rules conflict; say so, since the first service's name is not the whole story.
    if services.len() > 1 {
        notes.push(PortNote::ConflictingRules {
            port: entry.destination.port,
            protocol: entry.destination.protocol,
            services,
        });
    }
    if !shape.missing_chains.is_empty() {
        notes.push(PortNote::MissingChains {
            chains: shape.missing_chains.clone(),
        });
    }
    if let Some(note) = health_check(rules, entry, shape, health_checks) {
        notes.push(note);
    }
    if entry.destination.kind == DestinationKind::Unhandled {
        notes.push(PortNote::NoServiceAtDestination);
    }
    notes
}

/// Most unparsed lines a note lists (it counts the rest).
const UNPARSED_SHOWN: usize = 10;

/// Signs that the tables of the node `ruleset` belongs to are not whole: a table without
/// COMMIT (the input was cut inside it) and lines inside the tables that could not be
/// parsed. The same for every destination of that node: computed once per node, since
/// counting the input's lines is a pass over all of it.
pub(crate) fn incomplete_input(rules: &RuleReader<'_, '_>, ruleset: RulesetId) -> Vec<PortNote> {
    let dump = rules.dump();
    let tables = dump.node_tables(ruleset);
    // Only a cut table needs the input's last line.
    let mut last_line = None;
    let mut cut = Vec::new();
    let mut spans = Vec::new();
    for &t in &tables {
        let table = dump.table(t);
        let Some(start) = table.line else {
            continue; // a fragment's assumed table: partial already, by its missing tables
        };
        let end = table.commit_line.unwrap_or_else(|| {
            *last_line
                .get_or_insert_with(|| u32::try_from(dump.text.lines().count()).unwrap_or(u32::MAX))
        });
        if table.commit_line.is_none() {
            cut.push((table.name.to_string(), end));
        }
        spans.push((start, end));
    }
    let unparsed: Vec<u32> = rules
        .unparsed_lines()
        .into_iter()
        .filter(|line| {
            spans
                .iter()
                .any(|&(start, end)| (start..=end).contains(line))
        })
        .collect();
    let mut notes = Vec::new();
    if !cut.is_empty() {
        notes.push(PortNote::InputCut { tables: cut });
    }
    if !unparsed.is_empty() {
        notes.push(PortNote::UnparsedLines {
            count: unparsed.len(),
            lines: unparsed.into_iter().take(UNPARSED_SHOWN).collect(),
        });
    }
    notes
}

/// The healthCheckNodePort of a Local service reached from outside, if the filter rules
/// show one: kube-proxy's health server on it tells a cloud load balancer whether this node
/// has a local endpoint.
fn health_check(
    rules: &RuleReader<'_, '_>,
    entry: &Entry,
    shape: &ServiceShape,
    health_checks: &HealthChecks,
) -> Option<PortNote> {
    if !entry.destination.kind.is_external() || shape.policy != TrafficPolicy::Local {
        return None;
    }
    let wanted = format!("{} health check node port", entry.service.as_deref()?);
    let (port, line) = health_checks.find(rules, entry.ruleset, &wanted)?;
    Some(PortNote::HealthCheckNodePort {
        port,
        line,
        healthy: shape
            .endpoints
            .iter()
            .any(|e| e.locality == Locality::Local),
    })
}

/// The filter KUBE-NODEPORTS rules of one node read so far, by comment: the port and line
/// of the first rule with each comment and a port. Read on demand, in chain order, only
/// as far as the furthest comment asked for, so every destination of a node shares one
/// pass over the chain (and no rule is typed that a search from the top would not type).
#[derive(Debug, Default)]
pub(crate) struct HealthChecks {
    scan: RefCell<HealthCheckScan>,
}

#[derive(Debug, Default)]
struct HealthCheckScan {
    /// How many rules of the chain have been read.
    read: usize,
    /// Comment → (port, line) of the first rule read with that comment and a port.
    found: FxHashMap<String, (u16, u32)>,
}

impl HealthChecks {
    /// The port and line of the first filter KUBE-NODEPORTS rule of the node `ruleset`
    /// belongs to whose comment is `wanted` and which has a port.
    fn find(
        &self,
        rules: &RuleReader<'_, '_>,
        ruleset: RulesetId,
        wanted: &str,
    ) -> Option<(u16, u32)> {
        let mut scan = self.scan.borrow_mut();
        if let Some(&hit) = scan.found.get(wanted) {
            return Some(hit);
        }
        let dump = rules.dump();
        let tables = dump.node_tables(ruleset);
        let filter = dump.find_table(&tables, "filter")?;
        let chain = dump.chain_id(filter, NODEPORTS)?;
        let chain_rules = &dump.chain(chain).rules;
        while let Some(&rule) = chain_rules.get(scan.read) {
            scan.read += 1;
            let Ok(body) = rules.body(rule) else {
                continue;
            };
            let (Some(comment), Some((_, port))) = (body.comment(), rule_port(&body)) else {
                continue;
            };
            let line = dump.rule(rule).line;
            let hit = *scan
                .found
                .entry(comment.to_string())
                .or_insert((port, line));
            if comment == wanted {
                return Some(hit);
            }
        }
        None
    }
}
