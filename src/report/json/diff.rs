//! `diff` as JSON: one document for the two nodes.
//!
//! # Format (`schema_version: 1`)
//!
//! ```json
//! {
//!   "schema_version": 1,
//!   "a": {"name": "node1", "input": "node1.rules"},
//!   "b": {"name": "node2", "input": "node2.rules"},
//!   "compared": 2, "differing": 1,
//!   "node_ports": [{
//!     "destination": {"kind": "node-port", "address": null, "port": 30109, "protocol": "tcp"},
//!     "node_port": 30109, "protocol": "tcp", "family": "ipv4", "service": "srcip/web:http",
//!     "differs": true,
//!     "a": {"external_traffic_policy": "Local", "internal_traffic_policy": null, "endpoints": 1, "local_endpoints": 1},
//!     "b": {"external_traffic_policy": "Local", "internal_traffic_policy": null, "endpoints": 1, "local_endpoints": 0},
//!     "classes": [{
//!       "class": "external",
//!       "a": {"verdict": "preserved", "endpoint_sees": "client-address"},
//!       "b": {"verdict": "dropped", "endpoint_sees": "nothing"},
//!       "rules_only_in_a": [{"line": 78, "table": "nat", "chain": "...", "text": "..."}],
//!       "rules_only_in_b": [{"line": 39, "table": "filter", "chain": "KUBE-EXTERNAL-SERVICES", "text": "..."}]
//!     }]
//!   }]
//! }
//! ```
//!
//! * `node_ports`: every destination compared (all nodePorts of either node, or the
//!   destinations the targets name: nodePorts, service addresses), sorted by address,
//!   port, protocol and family. `destination`, `node_port` (null for an address) and the
//!   two policies are as in `explain`'s `ports` (the kind is A's, else B's: an address may
//!   be a LoadBalancer IP on one node and `unhandled` on the other). `a`/`b` null when that
//!   node lacks it; `classes` only those whose verdict (or what the
//!   endpoint sees) differs, among `external`, `pods`, `node`, `loopback`, a side null
//!   when it has no such class.
//! * `rules_only_in_a`/`_b`: the decisive rules of that side's outcome whose text the
//!   other side's outcome lacks (line numbers are each node's own).
//! * `a.unsupported_mode`/`b.unsupported_mode`: null, or, when that node shows none of the
//!   destinations and is from a proxy mode srcip-rules cannot analyse, the object `ports`
//!   gives such a node; then nothing is compared (`node_ports` is empty) and the exit code
//!   is 6.

use std::io::{self, Write};

use serde::Serialize;

use crate::kube::diff::{PortDiff, ServiceSide, Side};
use crate::kube::mode::UnsupportedMode;
use crate::kube::summary::source_name;
use crate::report::json::explain::{
    DestinationWire, RuleWire, SCHEMA_VERSION, destination, family_name, node_port, policies, rule,
};
use crate::report::json::mode::UnsupportedWire;
use crate::report::json::ports::sees_word;
use crate::report::words::mode::ModeAnswer;
use crate::report::{DiffReport, sanitize};

#[derive(Serialize)]
struct Document {
    schema_version: u32,
    a: NodeWire,
    b: NodeWire,
    compared: usize,
    differing: usize,
    node_ports: Vec<PortWire>,
}

#[derive(Serialize)]
struct NodeWire {
    name: String,
    input: String,
    unsupported_mode: Option<UnsupportedWire>,
}

#[derive(Serialize)]
struct PortWire {
    destination: DestinationWire,
    node_port: Option<u16>,
    protocol: String,
    family: &'static str,
    service: Option<String>,
    differs: bool,
    a: Option<ServiceWire>,
    b: Option<ServiceWire>,
    classes: Vec<ClassWire>,
}

#[derive(Serialize)]
struct ServiceWire {
    external_traffic_policy: &'static str,
    internal_traffic_policy: Option<&'static str>,
    endpoints: usize,
    local_endpoints: usize,
}

#[derive(Serialize)]
struct ClassWire {
    class: &'static str,
    a: Option<SideWire>,
    b: Option<SideWire>,
    rules_only_in_a: Vec<RuleWire>,
    rules_only_in_b: Vec<RuleWire>,
}

#[derive(Serialize)]
struct SideWire {
    verdict: &'static str,
    endpoint_sees: &'static str,
}

fn clean(text: &str) -> String {
    sanitize(text).into_owned()
}

fn service(s: &ServiceSide) -> ServiceWire {
    let (external, internal) = policies(s.scope, s.policy);
    ServiceWire {
        external_traffic_policy: external,
        internal_traffic_policy: internal,
        endpoints: s.endpoints,
        local_endpoints: s.local_endpoints,
    }
}

fn side(s: &Side) -> SideWire {
    SideWire {
        verdict: s.verdict.as_str(),
        endpoint_sees: sees_word(s.sees),
    }
}

fn port(d: &PortDiff) -> PortWire {
    PortWire {
        destination: destination(&d.destination),
        node_port: node_port(&d.destination),
        protocol: d.destination.protocol.to_string(),
        family: family_name(d.family),
        service: d.service.as_deref().map(clean),
        differs: d.differs(),
        a: d.a.as_ref().map(service),
        b: d.b.as_ref().map(service),
        classes: d
            .classes
            .iter()
            .map(|c| ClassWire {
                class: source_name(c.kind),
                a: c.a.as_ref().map(side),
                b: c.b.as_ref().map(side),
                rules_only_in_a: c.only_a.iter().map(rule).collect(),
                rules_only_in_b: c.only_b.iter().map(rule).collect(),
            })
            .collect(),
    }
}

/// Writes the report as one pretty-printed JSON document and a newline.
pub fn render(report: &DiffReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let doc = Document {
        schema_version: SCHEMA_VERSION,
        a: NodeWire {
            name: clean(&report.a.0),
            input: clean(&report.a.1.name),
            unsupported_mode: unsupported(&report.unsupported[0]),
        },
        b: NodeWire {
            name: clean(&report.b.0),
            input: clean(&report.b.1.name),
            unsupported_mode: unsupported(&report.unsupported[1]),
        },
        compared: report.ports.len(),
        differing: report.ports.iter().filter(|d| d.differs()).count(),
        node_ports: report.ports.iter().map(port).collect(),
    };
    super::write_document(&doc, out)
}

/// A side's `unsupported_mode`: the object `ports` gives such a node.
fn unsupported(u: &Option<UnsupportedMode>) -> Option<UnsupportedWire> {
    u.as_ref()
        .map(|u| super::mode::answer(u, &ModeAnswer::for_input(u)))
}
