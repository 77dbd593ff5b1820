//! The answer first: per source class of an explained destination, its verdict, what the
//! endpoint sees, through which endpoints, and what would change it (a [`Remedy`]), all
//! read from the [`PortExplanation`]. Typed values; the report layer words them.

use std::net::IpAddr;

use ipnet::IpNet;
use rustc_hash::FxHashSet;

use crate::kube::explanation::{
    BranchReason, ClassExplanation, ClassKind, DropCause, MasqueradeAddress, PortExplanation,
    Verdict,
};
use crate::kube::findings::PortNote;
use crate::kube::shape::{Locality, PolicyScope, TrafficPolicy};
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
    /// externalTrafficPolicy is Cluster (a destination external clients reach: nodePort,
    /// LoadBalancer IP, externalIP); `externalTrafficPolicy: Local` keeps the client's
    /// address (and nodes without an endpoint then drop). A proxying load balancer in
    /// front needs L7.
    LocalPolicy,
    /// `no-local-endpoint`: dropped because the policy (external, or internal for a
    /// ClusterIP) is Local and this node has no endpoint: for external traffic, send
    /// clients to nodes with one (a load balancer's health check on the
    /// healthCheckNodePort does); run one here, or use Cluster (masqueraded).
    NoLocalEndpoint {
        /// Which policy is Local.
        scope: PolicyScope,
        /// The service's healthCheckNodePort, when the dump has its ACCEPT rule (the
        /// port's `health-check-node-port` note).
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
    // A set, not a search of the list: a class has a branch per endpoint.
    let mut seen: FxHashSet<Translation> = FxHashSet::default();
    for b in &class.branches {
        if let Some(endpoint) = b.endpoint
            && b.verdict == class.verdict
            && seen.insert(endpoint)
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
        // Forwarded: routed on toward its destination address; no endpoint of the
        // service gets the connection.
        Verdict::Dropped | Verdict::Rejected | Verdict::NotHandled | Verdict::Forwarded => {
            Sees::Nothing
        }
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
                // Only externalTrafficPolicy has a Local that keeps a client's address; a
                // ClusterIP's masquerade (masquerade-all, a client outside the pod network)
                // has no such setting.
                _ if port.shape.scope == PolicyScope::External
                    && port.destination.kind.is_external()
                    && port.shape.policy == TrafficPolicy::Cluster =>
                {
                    Remedy::LocalPolicy
                }
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
                scope: port.shape.scope,
                health_check_node_port: health_check_node_port(port),
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
        Verdict::Preserved | Verdict::NotHandled | Verdict::Forwarded | Verdict::Undetermined => {
            None
        }
    }
}

/// The service's healthCheckNodePort, from the port's `health-check-node-port` note.
fn health_check_node_port(port: &PortExplanation) -> Option<u16> {
    port.notes.iter().find_map(|n| match n {
        PortNote::HealthCheckNodePort { port, .. } => Some(*port),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::{ExplainOptions, Target, explain};
    use crate::parse::parse_text;

    /// The remedy of each class of the one destination `target` names in `text`, by kind.
    fn remedies(text: &str, target: &str) -> Vec<(ClassKind, Verdict, Option<Remedy>)> {
        let parsed = parse_text(text);
        let options = ExplainOptions {
            target: target.parse::<Target>().expect("target"),
            src: None,
            dst: None,
            node_ips: Vec::new(),
            max_paths: crate::netfilter::MAX_PATHS,
        };
        let explanation = explain(&parsed.rules(), &options);
        assert_eq!(explanation.ports.len(), 1, "{target}");
        summarize(&explanation.ports[0])
            .into_iter()
            .map(|s| (s.kind, s.verdict, s.remedy))
            .collect()
    }

    fn remedy_of(
        found: &[(ClassKind, Verdict, Option<Remedy>)],
        kind: ClassKind,
    ) -> (Verdict, Option<Remedy>) {
        found
            .iter()
            .find(|(k, _, _)| *k == kind)
            .map(|(_, v, r)| (*v, r.clone()))
            .expect("class")
    }

    /// The kernel suite's v1.28 Cluster capture: `srcip/web` masquerades external clients
    /// on its LoadBalancer IP (198.51.100.80, KUBE-EXT marks all) and on its ClusterIP
    /// (198.19.0.10, `! -s 198.18.0.0/16 … -j KUBE-MARK-MASQ`). Only the LoadBalancer IP has
    /// an `externalTrafficPolicy: Local` to offer; a ClusterIP's masquerade has no such
    /// setting, and this node's own masquerade must stay on both.
    #[test]
    fn the_local_policy_remedy_is_for_external_destinations_only() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/kernel/v1_28ext-cluster-node1only/node1.iptables-save"
        );
        let text = std::fs::read_to_string(path).expect("capture");
        let lb = remedies(&text, "198.51.100.80:8106");
        assert_eq!(
            remedy_of(&lb, ClassKind::Other),
            (Verdict::Masqueraded, Some(Remedy::LocalPolicy))
        );
        let cluster_ip = remedies(&text, "198.19.0.10:8106");
        assert_eq!(
            remedy_of(&cluster_ip, ClassKind::Other),
            (Verdict::Masqueraded, None)
        );
        for found in [&lb, &cluster_ip] {
            assert_eq!(
                remedy_of(found, ClassKind::Node),
                (
                    Verdict::Masqueraded,
                    Some(Remedy::MustStay(MustStay::ThisNode))
                )
            );
        }
    }

    /// kube-proxy ≥1.25 drops traffic to an `internalTrafficPolicy: Local` ClusterIP on a
    /// node without a local endpoint with a filter KUBE-SERVICES "has no local endpoints"
    /// DROP (reference §5, K128 `TestInternalTrafficPolicyE2E`): the remedy is about the
    /// internal policy, with no healthCheckNodePort (load balancers never send there).
    #[test]
    fn a_local_cluster_ip_without_a_local_endpoint_names_the_internal_policy() {
        let text = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n\
-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
-A KUBE-SERVICES -d 172.30.1.1/32 -p tcp -m comment --comment \"ns1/svc1 has no local endpoints\" -m tcp --dport 80 -j DROP\n\
COMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n\
-A PREROUTING -j KUBE-SERVICES\n-A OUTPUT -j KUBE-SERVICES\nCOMMIT\n";
        let found = remedies(text, "172.30.1.1:80");
        assert!(!found.is_empty());
        for (kind, verdict, remedy) in found {
            assert_eq!(verdict, Verdict::Dropped, "{kind:?}");
            assert_eq!(
                remedy,
                Some(Remedy::NoLocalEndpoint {
                    scope: PolicyScope::Internal,
                    health_check_node_port: None,
                }),
                "{kind:?}"
            );
        }
    }
}
