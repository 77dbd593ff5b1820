//! The words of `ports`, `check` and `diff`: table cells, footers, how an expectation
//! fared, and one side of a difference.

use std::net::IpAddr;

use crate::kube::Target;
use crate::kube::check::Fate;
use crate::kube::destination::{Destination, DestinationKind};
use crate::kube::diff::{ServiceSide, Side};
use crate::kube::explanation::Verdict;
use crate::kube::graph::ChainGraphs;
use crate::kube::ports::{Cell, PortRow};
use crate::kube::shape::TrafficPolicy;
use crate::kube::summary::Sees;
use crate::model::Family;
use crate::report::words::{available_line, policy_name, sees};

/// A destination as `explain` takes it: `3001/tcp`, `203.0.113.10:80/tcp`,
/// `[2001:db8::1]:443/tcp`.
fn target_name(d: &Destination) -> String {
    match d.address {
        None => format!("{}/{}", d.port, d.protocol),
        Some(IpAddr::V4(a)) => format!("{a}:{}/{}", d.port, d.protocol),
        Some(IpAddr::V6(a)) => format!("[{a}]:{}/{}", d.port, d.protocol),
    }
}

/// A destination in a table cell, and the family when IPv6: `3001/tcp`,
/// `3001/tcp (IPv6)`, `198.51.100.81:8109/tcp`.
pub fn port_name(d: &Destination, family: Family) -> String {
    let port = target_name(d);
    match family {
        Family::Ipv4 => port,
        Family::Ipv6 => format!("{port} (IPv6)"),
    }
}

/// A `ports` row's endpoints cell: `2`, or `2 (1 local)` when the rules say which run here.
pub fn row_endpoints(row: &PortRow) -> String {
    if row.policy == TrafficPolicy::Local {
        format!("{} ({} local)", row.endpoints, row.local_endpoints)
    } else {
        row.endpoints.to_string()
    }
}

/// A `ports` row's cell for one class: the verdict, marked when mixed or partial; `—`
/// when the port has no such class.
pub fn row_cell(row: &PortRow, cell: Option<&Cell>) -> String {
    match cell {
        None => "—".into(),
        Some(c) => {
            let mut text = c.verdict.as_str().to_string();
            if c.mixed {
                text.push_str(" (mixed)");
            }
            if row.partial {
                text.push_str(" (partial)");
            }
            text
        }
    }
}

/// What a `ports` row is, for its KIND column and the counts under the table.
pub fn row_kind(kind: DestinationKind) -> (&'static str, &'static str) {
    match kind {
        DestinationKind::NodePort => ("nodePort", "nodePorts"),
        DestinationKind::LoadBalancerIp => ("LoadBalancer IP", "LoadBalancer IPs"),
        DestinationKind::ExternalIp => ("externalIP", "externalIPs"),
        DestinationKind::ExternalAddress => (
            "LoadBalancer IP or externalIP",
            "LoadBalancer IPs or externalIPs",
        ),
        DestinationKind::ClusterIp => ("ClusterIP", "ClusterIPs"),
        DestinationKind::HealthCheck => ("health-check nodePort", "health-check nodePorts"),
        DestinationKind::Unhandled => ("address", "addresses"),
    }
}

/// True if the rows need a KIND column: some row is no nodePort.
pub fn rows_of_several_kinds(rows: &[PortRow]) -> bool {
    rows.iter()
        .any(|r| r.destination.kind != DestinationKind::NodePort)
}

/// The line under a `ports` table: how many rows of each kind (`3 nodePorts, 1
/// LoadBalancer IP`), and whether filters left some out.
pub fn ports_footer(rows: &[PortRow], filtered: bool) -> String {
    let mut counts: Vec<(DestinationKind, usize)> = Vec::new();
    for row in rows {
        match counts.iter_mut().find(|(k, _)| *k == row.destination.kind) {
            Some((_, n)) => *n += 1,
            None => counts.push((row.destination.kind, 1)),
        }
    }
    counts.sort();
    let listed: Vec<String> = counts
        .iter()
        .map(|&(kind, n)| {
            let (one, many) = row_kind(kind);
            format!("{n} {}", if n == 1 { one } else { many })
        })
        .collect();
    let verb = if rows.len() == 1 { "matches" } else { "match" };
    match (rows.len(), filtered) {
        (0, true) => "no nodePort, LoadBalancer IP or externalIP matches the filters".into(),
        (0, false) => "no nodePorts, LoadBalancer IPs or externalIPs in the dump (no KUBE-NODEPORTS rules, no service rule naming one)".into(),
        (_, true) => format!("{} {verb} the filters", listed.join(", ")),
        (_, false) => listed.join(", "),
    }
}

/// Most source prefixes listed under a `ports` table for one LoadBalancer IP.
const PREFIXES_LISTED: usize = 8;

/// The lines under a `ports` table for each LoadBalancer IP whose rules test source
/// prefixes: what clients in each prefix get (the EXTERNAL column is for everyone else).
pub fn prefix_notes(rows: &[PortRow]) -> Vec<String> {
    let mut notes = Vec::new();
    for row in rows.iter().filter(|r| !r.prefixes.is_empty()) {
        let mut each: Vec<String> = row
            .prefixes
            .iter()
            .take(PREFIXES_LISTED)
            .map(|p| format!("from {}: {}", p.prefix, row_cell(row, Some(&p.cell))))
            .collect();
        if row.prefixes.len() > PREFIXES_LISTED {
            each.push(format!(
                "and {} more (`srcip-rules explain {}` lists them)",
                row.prefixes.len() - PREFIXES_LISTED,
                target_name(&row.destination)
            ));
        }
        notes.push(format!(
            "{}: source prefixes its rules test (loadBalancerSourceRanges): {}; EXTERNAL is everyone else",
            port_name(&row.destination, row.family),
            each.join(", ")
        ));
    }
    notes
}

/// Why `graph` drew nothing for `target` in the input `name`.
pub fn graph_not_found(graphs: &ChainGraphs, name: &str) -> String {
    let target = &graphs.target;
    match target {
        Target::Address { .. } => format!(
            "no kube-proxy rule names `{target}` in {name}, so there is no chain to draw (`srcip-rules explain {target}` says what happens to such a connection)"
        ),
        Target::NodePort { .. } | Target::Service { .. } => format!(
            "no {} rule for `{target}` in {name}; {}",
            if matches!(target, Target::NodePort { .. }) {
                "nodePort"
            } else {
                "service"
            },
            available_line(&graphs.available, graphs.available_total)
        ),
    }
}

/// How an expectation fared, in one line (without the expectation itself).
pub fn fate(fate: &Fate) -> String {
    match fate {
        Fate::Held => "holds".into(),
        Fate::Failed {
            port,
            class,
            actual,
            rule,
        } => {
            let by = rule
                .as_ref()
                .map(|r| format!(", decided by line {} ({} {})", r.line, r.table, r.chain))
                .unwrap_or_default();
            format!("{class} is {} on {port}{by}", actual.as_str())
        }
        Fate::NoSuchClass { available } => format!(
            "the target has no such source class (it has: {})",
            available.join(", ")
        ),
        Fate::NotFound => "the nodePort, address or service is not in the dump".into(),
        Fate::UnsupportedMode { target, mode } => {
            let said = super::mode::ModeAnswer::for_target(mode, target);
            let quoted: Vec<String> = said.commands.iter().map(|c| format!("`{c}`")).collect();
            let run = if quoted.is_empty() {
                String::new()
            } else {
                format!("; run on the node: {}", quoted.join(", "))
            };
            format!("not checked: {}{run}", said.headline)
        }
    }
}

/// The line under a `check` report; `unchecked`: those not checked, their dump being from
/// a proxy mode srcip-rules cannot analyse.
pub fn check_footer(held: usize, total: usize, nodes: usize, unchecked: usize) -> String {
    let unchecked = match unchecked {
        0 => String::new(),
        n => format!(", {n} not checked (a proxy mode srcip-rules cannot analyse: exit 6)"),
    };
    format!(
        "{held} of {total} expectation{} held{}{unchecked}",
        if total == 1 { "" } else { "s" },
        if nodes > 1 {
            format!(" ({nodes} nodes)")
        } else {
            String::new()
        }
    )
}

/// Whether a node answers external clients on a nodePort, from its row's external cell.
pub fn answers(row: &PortRow) -> String {
    let external = row.cells[0].as_ref();
    match external.map(|c| c.verdict) {
        Some(Verdict::Preserved | Verdict::Masqueraded) => "yes".into(),
        Some(Verdict::Undetermined) => "unknown".into(),
        Some(v) => format!("no ({})", v.as_str()),
        None => "—".into(),
    }
}

/// A verdict cell of a node row, with the SNAT address when the rules name it.
pub fn node_cell(row: &PortRow, cell: Option<&Cell>) -> String {
    let mut text = row_cell(row, cell);
    if let Some(c) = cell
        && let Sees::Address(a) = c.sees
    {
        text.push_str(&format!(" → {a}"));
    }
    text
}

/// A class on one side of a diff: its verdict, and what the endpoint sees when it gets a
/// connection; `—` when that side has no such class.
pub fn diff_side(side: Option<&Side>) -> String {
    match side {
        None => "—".into(),
        Some(s) => match s.sees {
            Sees::Nothing | Sees::Unknown => s.verdict.as_str().to_string(),
            other => format!("{} ({})", s.verdict.as_str(), sees(other)),
        },
    }
}

/// What a node lacking the destination `d` has instead: `no such nodePort`.
pub fn absent(d: &Destination) -> &'static str {
    if d.kind == DestinationKind::NodePort {
        "no such nodePort"
    } else {
        "no rule for it"
    }
}

/// The service on one side of a diff: policy and endpoints, or that the node lacks the
/// destination `d`.
pub fn diff_service(d: &Destination, side: Option<&ServiceSide>) -> String {
    match side {
        None => absent(d).into(),
        Some(s) if s.policy == TrafficPolicy::Local => format!(
            "{} Local, {} endpoint{} ({} on this node)",
            policy_name(s.scope),
            s.endpoints,
            if s.endpoints == 1 { "" } else { "s" },
            s.local_endpoints
        ),
        Some(s) => format!(
            "{} {}, {} endpoint{}",
            policy_name(s.scope),
            s.policy.as_str(),
            s.endpoints,
            if s.endpoints == 1 { "" } else { "s" }
        ),
    }
}

/// The line under a diff's heading; `node_ports`: every destination compared is a
/// nodePort.
pub fn diff_gist(compared: usize, differing: usize, node_ports: bool) -> String {
    format!(
        "{compared} {}{} compared, {differing} differ{}",
        if node_ports {
            "nodePort"
        } else {
            "destination"
        },
        if compared == 1 { "" } else { "s" },
        if differing == 1 { "s" } else { "" }
    )
}

/// A diff's gist when a side is from a proxy mode srcip-rules cannot analyse.
pub fn diff_not_compared(nodes: &[&str]) -> String {
    let verb = if nodes.len() == 1 { "is" } else { "are" };
    format!(
        "nothing compared: {} {verb} from a proxy mode srcip-rules cannot analyse",
        nodes.join(" and ")
    )
}
