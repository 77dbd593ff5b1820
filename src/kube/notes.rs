//! What the reader of a destination's report should know beyond the verdicts: the
//! 127.0.0.0/8 rule's real meaning, conflicting services, missing chains, the service's
//! healthCheckNodePort, an address no rule names.

use crate::kube::chains::{MARK_MASQ, NODEPORTS};
use crate::kube::destination::{DestinationKind, Entry};
use crate::kube::findings::PortNote;
use crate::kube::nodeports::rule_port;
use crate::kube::shape::{Locality, ServiceShape, TrafficPolicy};
use crate::model::Match;
use crate::parse::RuleReader;

/// The notes for `entry`.
pub(crate) fn port_notes(
    rules: &RuleReader<'_, '_>,
    entry: &Entry,
    shape: &ServiceShape,
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
    if let Some(note) = health_check(rules, entry, shape) {
        notes.push(note);
    }
    if entry.destination.kind == DestinationKind::Unhandled {
        notes.push(PortNote::NoServiceAtDestination);
    }
    notes.extend(incomplete_input(rules, entry));
    notes
}

/// Most unparsed lines a note lists (it counts the rest).
const UNPARSED_SHOWN: usize = 10;

/// Signs that this node's tables are not whole: a table without COMMIT (the input was cut
/// inside it) and lines inside the tables that could not be parsed.
fn incomplete_input(rules: &RuleReader<'_, '_>, entry: &Entry) -> Vec<PortNote> {
    let dump = rules.dump();
    let tables = dump.node_tables(entry.ruleset);
    let last_line = u32::try_from(dump.text.lines().count()).unwrap_or(u32::MAX);
    let mut cut = Vec::new();
    let mut spans = Vec::new();
    for &t in &tables {
        let table = dump.table(t);
        let Some(start) = table.line else {
            continue; // a fragment's assumed table: partial already, by its missing tables
        };
        let end = table.commit_line.unwrap_or(last_line);
        if table.commit_line.is_none() {
            cut.push((table.name.to_string(), last_line));
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
) -> Option<PortNote> {
    if !entry.destination.kind.is_external() || shape.policy != TrafficPolicy::Local {
        return None;
    }
    let wanted = format!("{} health check node port", entry.service.as_deref()?);
    let dump = rules.dump();
    let tables = dump.node_tables(entry.ruleset);
    let filter = dump.find_table(&tables, "filter")?;
    let chain = dump.chain_id(filter, NODEPORTS)?;
    dump.chain(chain).rules.iter().find_map(|&rule| {
        let body = rules.body(rule).ok()?;
        if body.comment()? != wanted {
            return None;
        }
        let (_, port) = rule_port(&body)?;
        Some(PortNote::HealthCheckNodePort {
            port,
            line: dump.rule(rule).line,
            healthy: shape
                .endpoints
                .iter()
                .any(|e| e.locality == Locality::Local),
        })
    })
}
