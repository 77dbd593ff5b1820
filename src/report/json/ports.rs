//! `ports` as JSON: one document for every node given, a row per nodePort, LoadBalancer
//! IP and externalIP.
//!
//! # Format (`schema_version: 1`)
//!
//! ```json
//! {
//!   "schema_version": 1,
//!   "filtered": false,
//!   "nodes": [{
//!     "name": "node1", "input": "node1.rules",
//!     "parse_errors": 0,
//!     "node_ports": [{
//!       "destination": {"kind": "node-port", "address": null, "port": 3001, "protocol": "tcp"},
//!       "node_port": 3001, "protocol": "tcp", "family": "ipv4",
//!       "service": "ns2/svc2:p80", "external_traffic_policy": "Local",
//!       "endpoints": 1, "local_endpoints": 0, "partial": false,
//!       "verdicts": {
//!         "external": {"verdict": "dropped", "mixed": false, "endpoint_sees": "nothing"},
//!         "pods": {"verdict": "preserved", "mixed": false, "endpoint_sees": "client-address"},
//!         "node": {"verdict": "masqueraded", "mixed": false, "endpoint_sees": "node-address"},
//!         "loopback": {"verdict": "masqueraded", "mixed": false, "endpoint_sees": "node-address"}
//!       },
//!       "source_prefixes": []
//!     }]
//!   }]
//! }
//! ```
//!
//! * `nodes`: one per node, in the order given (files, and the dumps of a concatenated
//!   input); `name` as in the text report (`--name`, a `# node:` comment, the file name),
//!   `input` the file it came from (`<stdin>`).
//! * `node_ports` holds every row: nodePorts, then LoadBalancer IPs, externalIPs and
//!   addresses that are one or the other (`destination.kind`: `node-port`,
//!   `load-balancer-ip`, `external-ip`, `external-address`), each sorted by address, port,
//!   protocol and family; `destination` and `node_port` are as in `explain`'s `ports`
//!   (`node_port` is null for an address row); `filtered` is true when `--namespace` or
//!   `--verdict` left rows out.
//! * `source_prefixes`: for a LoadBalancer IP, each source prefix its rules test (its
//!   `loadBalancerSourceRanges`) with the outcome for clients in it (`verdict`, `mixed`,
//!   `endpoint_sees`, as in `verdicts`); `verdicts.external` is then everyone else. Empty for
//!   other rows.
//! * `verdicts` has the four keys `external`, `pods`, `node`, `loopback`; a key is null
//!   when the port has no such class (no rule tests a pod prefix). `verdict` is from the
//!   `explain` vocabulary, `endpoint_sees` as in `explain`'s classes.
//! * `unsupported_mode` is null, or, for a node whose dump shows no nodePort and is from a
//!   proxy mode srcip-rules cannot analyse (exit 6), the object `explain` gives such a
//!   mode (`mode`, `message`, `evidence`, `rules`: the mode's nodePort rules, `commands`),
//!   about every nodePort of the node.
//! * `local_endpoints` counts the endpoints the rules say run on this node (policy Local;
//!   0 for Cluster, whose rules do not say).
//!
//! Versioning as for every document (docs/json.md): fields may be added without a bump.

use std::io::{self, Write};

use serde::Serialize;

use crate::kube::ports::{Cell, PortRow};
use crate::kube::summary::Sees;
use crate::report::json::explain::{
    DestinationWire, SCHEMA_VERSION, destination, family_name, node_port,
};
use crate::report::json::mode::{self, UnsupportedWire};
use crate::report::words::mode::ModeAnswer;
use crate::report::{PortsReport, sanitize};

#[derive(Serialize)]
struct Document {
    schema_version: u32,
    filtered: bool,
    nodes: Vec<NodeWire>,
}

#[derive(Serialize)]
struct NodeWire {
    name: String,
    input: String,
    parse_errors: usize,
    node_ports: Vec<RowWire>,
    unsupported_mode: Option<UnsupportedWire>,
}

#[derive(Serialize)]
struct RowWire {
    destination: DestinationWire,
    node_port: Option<u16>,
    protocol: String,
    family: &'static str,
    service: Option<String>,
    external_traffic_policy: &'static str,
    endpoints: usize,
    local_endpoints: usize,
    partial: bool,
    verdicts: VerdictsWire,
    source_prefixes: Vec<PrefixWire>,
}

#[derive(Serialize)]
struct PrefixWire {
    prefix: String,
    #[serde(flatten)]
    outcome: CellWire,
}

#[derive(Serialize)]
struct VerdictsWire {
    external: Option<CellWire>,
    pods: Option<CellWire>,
    node: Option<CellWire>,
    loopback: Option<CellWire>,
}

#[derive(Serialize)]
struct CellWire {
    verdict: &'static str,
    mixed: bool,
    endpoint_sees: &'static str,
}

/// The `endpoint_sees` word (shared with `explain`'s classes).
pub(crate) fn sees_word(sees: Sees) -> &'static str {
    match sees {
        Sees::ClientAddress => "client-address",
        Sees::NodeAddress => "node-address",
        Sees::Address(_) => "snat-address",
        Sees::AddressRange => "snat-range",
        Sees::Nothing => "nothing",
        Sees::Unknown => "unknown",
    }
}

fn cell(c: &Option<Cell>) -> Option<CellWire> {
    c.map(|c| CellWire {
        verdict: c.verdict.as_str(),
        mixed: c.mixed,
        endpoint_sees: sees_word(c.sees),
    })
}

fn row(r: &PortRow) -> RowWire {
    let [external, pods, node, loopback] = &r.cells;
    RowWire {
        destination: destination(&r.destination),
        node_port: node_port(&r.destination),
        protocol: r.destination.protocol.to_string(),
        family: family_name(r.family),
        service: r.service.as_deref().map(|s| sanitize(s).into_owned()),
        external_traffic_policy: r.policy.as_str(),
        endpoints: r.endpoints,
        local_endpoints: r.local_endpoints,
        partial: r.partial,
        verdicts: VerdictsWire {
            external: cell(external),
            pods: cell(pods),
            node: cell(node),
            loopback: cell(loopback),
        },
        source_prefixes: r
            .prefixes
            .iter()
            .filter_map(|p| {
                Some(PrefixWire {
                    prefix: p.prefix.to_string(),
                    outcome: cell(&Some(p.cell))?,
                })
            })
            .collect(),
    }
}

/// Writes the report as one pretty-printed JSON document and a newline.
pub fn render(report: &PortsReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let doc = Document {
        schema_version: SCHEMA_VERSION,
        filtered: report.filtered,
        nodes: report
            .inputs
            .iter()
            .map(|i| NodeWire {
                name: sanitize(&i.name).into_owned(),
                input: sanitize(&i.source.name).into_owned(),
                parse_errors: i.error_count,
                node_ports: i.rows.iter().map(row).collect(),
                unsupported_mode: i
                    .unsupported_mode
                    .as_ref()
                    .map(|u| mode::answer(u, &ModeAnswer::for_input(u))),
            })
            .collect(),
    };
    super::write_document(&doc, out)
}
