//! The answer first, in words: a verdict table's cells (a class's label, what the
//! endpoint sees, the endpoints reached), the line under a destination's heading, what
//! stands out, and the remedies.

use crate::kube::explanation::{ClassExplanation, ClassKind, PortExplanation, Verdict};
use crate::kube::shape::{Locality, PolicyScope, TrafficPolicy};
use crate::kube::summary::{
    ClassSummary, MustStay, ReachedEndpoint, Remedy, Sees, source_name, table_rank,
};
use crate::report::words::{class_summary, era, policy_name, port_note, translation};

/// The short label of a class in summary tables: its source name, and the prefix or
/// address it stands for (`pods 198.18.0.0/16`, `external 203.0.113.2`).
pub fn class_label(summary: &ClassSummary) -> String {
    let name = source_name(summary.kind);
    match (summary.kind, summary.prefix) {
        (ClassKind::Loopback | ClassKind::Pods | ClassKind::Prefix, Some(p))
            if p.prefix_len() != p.max_prefix_len() =>
        {
            format!("{name} {p}")
        }
        (_, Some(p)) if p.prefix_len() == p.max_prefix_len() => format!("{name} {}", p.addr()),
        _ => format!("{name} {}", summary.source),
    }
}

/// What the endpoint sees, in a table cell.
pub fn sees(sees: Sees) -> String {
    match sees {
        Sees::ClientAddress => "the client's address".into(),
        Sees::NodeAddress => "a node address".into(),
        Sees::Address(a) => format!("{a} (SNAT)"),
        Sees::AddressRange => "an address of a SNAT range".into(),
        Sees::Nothing => "nothing (no connection)".into(),
        Sees::Unknown => "unknown".into(),
    }
}

/// The endpoints a class reaches, in a table cell (a few, then how many more).
pub fn reached(endpoints: &[ReachedEndpoint]) -> String {
    const SHOWN: usize = 2;
    if endpoints.is_empty() {
        return "—".into();
    }
    let mut parts: Vec<String> = endpoints
        .iter()
        .take(SHOWN)
        .map(|e| match e.locality {
            Some(l) => format!("{} ({})", translation(&e.endpoint), l.as_str()),
            None => translation(&e.endpoint),
        })
        .collect();
    if endpoints.len() > SHOWN {
        parts.push(format!("+{} more", endpoints.len() - SHOWN));
    }
    parts.join(", ")
}

/// One or two sentences on what would change a class's outcome, and at what cost.
pub fn remedy(remedy: &Remedy) -> String {
    match remedy {
        Remedy::LocalPolicy => "`externalTrafficPolicy: Local` keeps external clients' addresses. The cost: nodes without a ready endpoint then drop external clients' connections (a cloud load balancer's health check on the service's healthCheckNodePort steers around them; clients that pick nodes themselves must pick nodes with an endpoint).".into(),
        Remedy::NoLocalEndpoint {
            scope: PolicyScope::Internal,
            ..
        } => "Dropped by design: `internalTrafficPolicy: Local` and no endpoint on this node: connections from this node to the ClusterIP go only to endpoints on this node. Run an endpoint on this node (a DaemonSet does), or use `internalTrafficPolicy: Cluster`.".into(),
        Remedy::NoLocalEndpoint {
            scope: PolicyScope::External,
            health_check_node_port,
        } => format!(
            "Dropped by design: `externalTrafficPolicy: Local` and no endpoint on this node. Send clients only to nodes with an endpoint (a cloud load balancer does, by its health check on {}, which fails here), run an endpoint on this node, or use `externalTrafficPolicy: Cluster` (every node answers, but endpoints then see a node address).",
            match health_check_node_port {
                Some(port) => format!("healthCheckNodePort {port}"),
                None => "the healthCheckNodePort".into(),
            }
        ),
        Remedy::ExemptRule { line, chain } => format!(
            "The masquerade on line {line} ({chain}) is not kube-proxy's (a CNI's or Docker's): exempt this traffic from it (a RETURN before it for the pod network, or the CNI's own no-masquerade setting, e.g. ip-masq-agent's nonMasqueradeCIDRs). The cost: the exempted traffic must be routable back to the client without it."
        ),
        Remedy::MustStay(MustStay::Loopback) => "Must stay: a reply to 127.0.0.1 could not leave the node; the client is this node.".into(),
        Remedy::MustStay(MustStay::ThisNode) => "Must stay: the reply must come back through this node; the client is this node.".into(),
        Remedy::MustStay(MustStay::Hairpin) => "Must stay: a pod reaching itself through the service would otherwise get a reply that bypasses the DNAT; only this hairpin connection loses its address.".into(),
        Remedy::NoEndpoints => "The service has no ready endpoint anywhere: check its pods' readiness and its selector.".into(),
    }
}

/// The L7 routes, said once under the remedies when a client's address cannot survive L4
/// (a masquerade that must stay, one that is not kube-proxy's, or a proxying load balancer
/// in front of a Cluster service).
pub fn l7_routes(summary: &[ClassSummary]) -> Option<&'static str> {
    summary
        .iter()
        .any(|s| {
            matches!(
                s.remedy,
                Some(Remedy::LocalPolicy | Remedy::ExemptRule { .. } | Remedy::MustStay(_))
            )
        })
        .then_some("Where the client's address cannot survive L4 (a masquerade that must stay, or a proxying load balancer in front, which opens its own connections), only L7 carries it: `X-Forwarded-For`/`X-Real-IP` set by an ingress controller, or the PROXY protocol.")
}

/// The line under a destination's heading: policy, endpoints, era, family.
pub fn port_gist(port: &PortExplanation) -> String {
    let shape = &port.shape;
    let local = shape
        .endpoints
        .iter()
        .filter(|e| e.locality == Locality::Local)
        .count();
    let endpoints = match (shape.endpoints.len(), shape.policy) {
        (0, _) => "no endpoints in the dump".to_string(),
        (n, TrafficPolicy::Local) => format!(
            "{n} endpoint{}, {local} on this node",
            if n == 1 { "" } else { "s" }
        ),
        (n, _) => format!("{n} endpoint{}", if n == 1 { "" } else { "s" }),
    };
    format!(
        "{} {} · {endpoints} · kube-proxy {} ({}) · {}",
        policy_name(shape.scope),
        shape.policy.as_str(),
        shape.versions,
        era(shape.era),
        port.family
    )
}

/// The classes in summary-table order (external clients first).
pub fn table_order(classes: &[ClassExplanation]) -> Vec<&ClassExplanation> {
    let mut ordered: Vec<&ClassExplanation> = classes.iter().collect();
    ordered.sort_by_key(|c| table_rank(c.kind));
    ordered
}

/// A class's verdict in a table cell, marked when mixed, partial or resting on an
/// assumption.
pub fn verdict_cell(summary: &ClassSummary) -> String {
    let mut cell = summary.verdict.as_str().to_string();
    if summary.mixed {
        cell.push_str(" (mixed)");
    }
    if summary.assumed && summary.verdict != Verdict::Undetermined {
        cell.push_str(" (assumed)");
    }
    if summary.partial {
        cell.push_str(" [partial]");
    }
    cell
}

/// What must stand out under a destination's verdict table: the port's notes (the
/// 127.0.0.0/8 rule's real meaning, conflicting rules, missing chains), missing tables,
/// and every class whose verdict is undetermined, assumed, mixed or taken by another
/// service.
pub fn standing_out(port: &PortExplanation, summary: &[ClassSummary]) -> Vec<String> {
    let mut lines: Vec<String> = port.notes.iter().map(port_note).collect();
    if !port.missing_tables.is_empty() {
        let one = port.missing_tables.len() == 1;
        lines.push(format!(
            "Partial dump: no whole {} table{} (none, or only rules grep kept), so verdicts that depend on {} are partial.",
            port.missing_tables.join(" or "),
            if one { "" } else { "s" },
            if one { "it" } else { "them" },
        ));
    }
    for s in summary {
        let Some(class) = port
            .classes
            .iter()
            .find(|c| c.kind == s.kind && c.source == s.source && c.prefix == s.prefix)
        else {
            continue;
        };
        let label = class_label(s);
        if s.verdict == Verdict::Undetermined || s.mixed || class.taken_by_other.is_some() {
            lines.push(format!("{label}: {}", class_summary(class)));
        } else if s.assumed {
            lines.push(format!(
                "{label}: {} only if the rules the evaluator cannot decide go as assumed (see `assumed:` in the evidence).",
                s.verdict.as_str()
            ));
        }
    }
    lines
}

/// Each remedy once, with the labels of the classes it is for (`external, pods`).
pub fn remedies(summary: &[ClassSummary]) -> Vec<(String, String)> {
    let mut grouped: Vec<(Vec<&'static str>, &Remedy)> = Vec::new();
    for s in summary {
        let Some(r) = &s.remedy else {
            continue;
        };
        let name = source_name(s.kind);
        match grouped.iter_mut().find(|(_, g)| *g == r) {
            Some((names, _)) => {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            None => grouped.push((vec![name], r)),
        }
    }
    grouped
        .into_iter()
        .map(|(names, r)| (names.join(", "), remedy(r)))
        .collect()
}
