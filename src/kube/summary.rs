//! The answer first: per source class of an explained nodePort, its verdict, what the
//! endpoint sees, through which endpoints, and what would change it (a [`Remedy`]), all
//! read from the [`PortExplanation`]. Typed values; the report layer words them.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::kube::explanation::{
    BranchReason, ClassExplanation, ClassKind, DropCause, MasqueradeAddress, PortExplanation,
    Verdict,
};
use crate::kube::shape::{Locality, TrafficPolicy};
use crate::netfilter::Translation;

/// The name a source class goes by in tables and in `check` expectations.
pub fn source_name(kind: ClassKind) -> &'static str {
    match kind {
        ClassKind::Other => "external",
        ClassKind::Pods => "pods",
        ClassKind::Prefix => "prefix",
        ClassKind::Node => "node",
        ClassKind::Loopback => "loopback",
        ClassKind::Endpoint => "hairpin",
        ClassKind::Given => "given",
    }
}

/// Every source name [`source_name`] gives, in table order.
pub const SOURCE_NAMES: [&str; 7] = [
    "external", "pods", "prefix", "node", "loopback", "hairpin", "given",
];

/// Where a class comes in the summary table: external clients (what a ticket asks
/// about) first, then pods and other prefixes, then the node's own sources.
pub fn table_rank(kind: ClassKind) -> u8 {
    match kind {
        ClassKind::Given => 0,
        ClassKind::Other => 1,
        ClassKind::Pods => 2,
        ClassKind::Prefix => 3,
        ClassKind::Node => 4,
        ClassKind::Loopback => 5,
        ClassKind::Endpoint => 6,
    }
}

/// What the endpoint sees as the connection's source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sees {
    /// The client's own address.
    ClientAddress,
    /// A node address (MASQUERADE, or kube-proxy's assumed KUBE-POSTROUTING).
    NodeAddress,
    /// Exactly this address (`SNAT --to-source`).
    Address(IpAddr),
    /// One of several addresses (SNAT to a range).
    AddressRange,
    /// Nothing: no connection reaches an endpoint.
    Nothing,
    /// It depends on rules that could not be decided or are missing.
    Unknown,
}

/// A reached endpoint, with its locality when the rules say it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReachedEndpoint {
    /// Where it was DNATed to.
    pub endpoint: Translation,
    /// On this node or not.
    pub locality: Option<Locality>,
}

/// Why a masquerade cannot be removed by a setting at L4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MustStay {
    /// A 127.0.0.0/8 (or ::1) source: its replies could not leave the node.
    Loopback,
    /// A process on this node: the client is the node itself.
    ThisNode,
    /// A pod reaching itself through the service: its reply would bypass the DNAT.
    Hairpin,
}

/// What would change a masqueraded or dropped class's outcome, and at what cost.
#[derive(Debug, Clone, PartialEq)]
pub enum Remedy {
    /// `external-traffic-policy-local`: kube-proxy masquerades because the service's
    /// policy is Cluster; `externalTrafficPolicy: Local` keeps the client's address (and
    /// nodes without an endpoint then drop). A proxying load balancer in front needs L7.
    LocalPolicy,
    /// `no-local-endpoint`: dropped because the policy is Local and this node has no
    /// endpoint: send clients to nodes with one (a load balancer's health check on the
    /// healthCheckNodePort does), run one here, or use Cluster (masqueraded).
    NoLocalEndpoint {
        /// The service's healthCheckNodePort, when the dump has its ACCEPT rule.
        health_check_node_port: Option<u16>,
    },
    /// `exempt-masquerade-rule`: a MASQUERADE/SNAT rule that is not kube-proxy's (a
    /// CNI's, Docker's) rewrites the source: exempt this traffic from it.
    ExemptRule {
        /// The rule's line.
        line: u32,
        /// Its chain.
        chain: String,
    },
    /// `masquerade-must-stay`: the masquerade is needed; only L7 (X-Forwarded-For,
    /// PROXY protocol) can carry an original client's address.
    MustStay(MustStay),
    /// `no-endpoints`: rejected because the service has no ready endpoint anywhere.
    NoEndpoints,
}

impl Remedy {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Remedy::LocalPolicy => "external-traffic-policy-local",
            Remedy::NoLocalEndpoint { .. } => "no-local-endpoint",
            Remedy::ExemptRule { .. } => "exempt-masquerade-rule",
            Remedy::MustStay(_) => "masquerade-must-stay",
            Remedy::NoEndpoints => "no-endpoints",
        }
    }
}

/// One row of the answer: a source class at a glance.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassSummary {
    /// The class.
    pub kind: ClassKind,
    /// The prefix it covers, if any.
    pub prefix: Option<IpNet>,
    /// The address evaluated.
    pub source: IpAddr,
    /// The verdict.
    pub verdict: Verdict,
    /// True if chance alone gives several verdicts (see [`ClassExplanation::mixed`]).
    pub mixed: bool,
    /// What the endpoint sees (under `verdict`).
    pub sees: Sees,
    /// The endpoints reached, without repeats, in branch order.
    pub endpoints: Vec<ReachedEndpoint>,
    /// True if part of a path is missing from the dump.
    pub partial: bool,
    /// True if a branch rests on a rule that could not be decided.
    pub assumed: bool,
    /// What would change it, when masqueraded, dropped or rejected.
    pub remedy: Option<Remedy>,
}

/// The summary of every class of `port`, external clients first.
pub fn summarize(port: &PortExplanation) -> Vec<ClassSummary> {
    let mut rows: Vec<ClassSummary> = port
        .classes
        .iter()
        .map(|c| summarize_class(port, c))
        .collect();
    // A stable sort: classes of one kind keep the analysis order.
    rows.sort_by_key(|r| table_rank(r.kind));
    rows
}

/// The summary of one class of `port`.
pub fn summarize_class(port: &PortExplanation, class: &ClassExplanation) -> ClassSummary {
    let mut endpoints: Vec<ReachedEndpoint> = Vec::new();
    for b in &class.branches {
        if let Some(endpoint) = b.endpoint
            && b.verdict == class.verdict
            && !endpoints.iter().any(|e| e.endpoint == endpoint)
        {
            endpoints.push(ReachedEndpoint {
                endpoint,
                locality: b.locality.filter(|l| *l != Locality::Unknown),
            });
        }
    }
    ClassSummary {
        kind: class.kind,
        prefix: class.prefix,
        source: class.source,
        verdict: class.verdict,
        mixed: !class.mixed.is_empty(),
        sees: sees(class),
        endpoints,
        partial: class.branches.iter().any(|b| b.partial),
        assumed: class.branches.iter().any(|b| b.assumed()),
        remedy: remedy(port, class),
    }
}

/// What the endpoint sees for the branches that have the class's verdict.
fn sees(class: &ClassExplanation) -> Sees {
    match class.verdict {
        Verdict::Preserved => Sees::ClientAddress,
        Verdict::Dropped | Verdict::Rejected | Verdict::NotHandled => Sees::Nothing,
        Verdict::Undetermined => Sees::Unknown,
        Verdict::Masqueraded => {
            let mut seen: Option<Sees> = None;
            for b in class
                .branches
                .iter()
                .filter(|b| b.verdict == Verdict::Masqueraded)
            {
                let this = match b.masquerade.as_ref().map(|m| m.address) {
                    Some(MasqueradeAddress::Exact(address)) => Sees::Address(address),
                    Some(MasqueradeAddress::Range) => Sees::AddressRange,
                    Some(MasqueradeAddress::OutgoingInterface) | None => Sees::NodeAddress,
                };
                match seen {
                    None => seen = Some(this),
                    Some(s) if s == this => {}
                    // Different rewrites on different branches: one word cannot say it.
                    Some(_) => return Sees::AddressRange,
                }
            }
            seen.unwrap_or(Sees::NodeAddress)
        }
    }
}

/// What would change a masqueraded, dropped or rejected class.
fn remedy(port: &PortExplanation, class: &ClassExplanation) -> Option<Remedy> {
    let branches = class.branches.iter().filter(|b| b.verdict == class.verdict);
    match class.verdict {
        Verdict::Masqueraded => {
            let foreign = class
                .branches
                .iter()
                .filter_map(|b| b.masquerade.as_ref())
                .find(|m| !m.by_kube_proxy)
                .and_then(|m| m.rule.as_ref());
            if let Some(rule) = foreign {
                return Some(Remedy::ExemptRule {
                    line: rule.line,
                    chain: rule.chain.clone(),
                });
            }
            let loopback = class.source.is_loopback();
            Some(match class.kind {
                _ if loopback => Remedy::MustStay(MustStay::Loopback),
                ClassKind::Node => Remedy::MustStay(MustStay::ThisNode),
                ClassKind::Endpoint => Remedy::MustStay(MustStay::Hairpin),
                _ if port.shape.policy == TrafficPolicy::Cluster => Remedy::LocalPolicy,
                _ if class.mixed.iter().any(|o| {
                    o.endpoints
                        .iter()
                        .any(|e| e.range().and_then(|r| r.first) == Some(class.source))
                }) =>
                {
                    Remedy::MustStay(MustStay::Hairpin)
                }
                _ => return None,
            })
        }
        Verdict::Dropped => {
            let no_local = branches.clone().any(|b| match &b.reason {
                BranchReason::Dropped { cause, .. } => match cause {
                    DropCause::NoLocalEndpoints => true,
                    DropCause::DropMark(m) => m.no_local_endpoints,
                    DropCause::Plain => false,
                },
                _ => false,
            }) || port.shape.has_no_local_endpoint();
            no_local.then_some(Remedy::NoLocalEndpoint {
                health_check_node_port: port.health_check_node_port,
            })
        }
        Verdict::Rejected => branches
            .clone()
            .any(|b| {
                matches!(
                    b.reason,
                    BranchReason::Rejected {
                        no_endpoints: true,
                        ..
                    }
                )
            })
            .then_some(Remedy::NoEndpoints),
        Verdict::Preserved | Verdict::NotHandled | Verdict::Undetermined => None,
    }
}
