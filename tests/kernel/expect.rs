//! What the kernel must do for each probe, derived by hand from the reference
//! (`../shared/reference/kube-proxy-shapes.md`, cited by section) and from the hooks the rules
//! sit on, independently of srcip-rules.
//!
//! Where the hooks and the reference's prose disagree, the expectation follows the hooks and
//! says so in [`Expected::reference_differs`]; `docs/kernel-findings.md` has the evidence.

use std::net::SocketAddrV4;

use crate::probe::{Destination, Observation, Outcome, Probe};
use crate::scenarios::{Era, Placement, Policy, Scenario};
use crate::topology::{self, NodeId, Place};

/// Which connections the probed node masquerades.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Masquerades {
    /// Every connection.
    All,
    /// None: every backend sees the client's own address.
    None,
    /// Only a connection that lands on this backend (the client itself: a hairpin).
    OnlyBackToItself(SocketAddrV4),
}

/// What happens to a SYN that the probed node sends back out un-DNATed (toward the router,
/// which routes the service addresses to a node).
#[derive(Debug, Clone, Copy)]
pub(crate) enum AfterLeaving {
    /// The router sends it back to the same node, which forwards it again (the conntrack
    /// entry exists, so nat is not consulted again) until the TTL runs out; the ICMP
    /// time-exceeded makes the client's connect fail at once ("no route to host").
    LoopsUntilTtlRunsOut,
    /// It comes back to the node with one of the node's own addresses as its source
    /// (masqueraded there, or sent by the node itself): a martian, dropped without a word;
    /// the client times out.
    DroppedAsMartian,
    /// The router sends it to this node, whose rules reject it.
    RejectedBy(NodeId),
}

/// What the kernel must do for a probe.
#[derive(Debug)]
pub(crate) enum Expectation {
    /// Every attempt connects; each backend sees the client's address or, where the node
    /// masquerades, the address of the node's interface toward that backend; when
    /// `backends_on` is set, only backends on that node answer.
    Connects {
        masquerades: Masquerades,
        backends_on: Option<NodeId>,
    },
    /// Every attempt connects to a process on the probed node itself (kube-proxy's health
    /// server; here a stand-in listener), which sees the client's own address.
    ServedByNode,
    /// Every attempt times out: the probed node drops the SYN (and routes nothing on).
    Dropped,
    /// Every attempt is refused: `by` rejects the SYN with ICMP port-unreachable.
    Refused { by: NodeId },
    /// Every attempt is refused by the probed node's own TCP stack (a reset): the SYN is
    /// delivered to the node, not routed on, and nothing listens on the port.
    ResetByNode,
    /// Neither DNATed nor dropped: the probed node routes the SYN back out (masqueraded or
    /// not), and then `then` happens.
    LeavesNode {
        masqueraded: bool,
        then: AfterLeaving,
    },
}

/// An expectation with its reasons.
#[derive(Debug)]
pub(crate) struct Expected {
    pub(crate) expectation: Expectation,
    /// Why, citing the reference's sections.
    pub(crate) basis: &'static str,
    /// Where the kernel contradicts the reference's prose (the kernel wins).
    pub(crate) reference_differs: Option<&'static str>,
    /// The backends a connection is balanced over at random (each must answer some attempt);
    /// empty when there is no such choice.
    pub(crate) balanced_over: Vec<SocketAddrV4>,
}

fn because(expectation: Expectation, basis: &'static str) -> Expected {
    Expected {
        expectation,
        basis,
        reference_differs: None,
        balanced_over: Vec::new(),
    }
}

impl Expected {
    /// `None` when the observation fits, otherwise what was wrong.
    pub(crate) fn problem_with(&self, observation: &Observation) -> Option<String> {
        let mut problems: Vec<String> = self
            .expectation
            .problem_with(observation)
            .into_iter()
            .collect();
        let silent: Vec<&SocketAddrV4> = self
            .balanced_over
            .iter()
            .filter(|backend| !observation.backends.contains_key(backend))
            .collect();
        if !silent.is_empty() && observation.outcome() == Some(&Outcome::Connected) {
            problems.push(format!(
                "balanced over {:?}, but {silent:?} never answered in {} attempts",
                self.balanced_over, observation.attempts
            ));
        }
        (!problems.is_empty()).then(|| problems.join("; "))
    }
}

/// What the kernel must do for `probe` in `scenario`.
pub(crate) fn expected(scenario: &Scenario, probe: Probe) -> Expected {
    let mut expected = expected_without_balancing(scenario, probe);
    // A connection to every endpoint, with one on each node: kube-proxy's random choice.
    if let Expectation::Connects {
        backends_on: None, ..
    } = expected.expectation
        && scenario.placement == Placement::BothNodes
    {
        expected.balanced_over = NodeId::ALL.map(NodeId::backend).to_vec();
    }
    expected
}

fn expected_without_balancing(scenario: &Scenario, probe: Probe) -> Expected {
    match probe.destination_kind() {
        Destination::NodePort => expected_node_port(scenario, probe),
        Destination::HealthCheckNodePort => because(
            Expectation::ServedByNode,
            "§5.5/§3.3: filter KUBE-NODEPORTS \"<svc> health check node port\" ACCEPT, jumped to \
             from INPUT (§3.2); not DNATed, kube-proxy serves the port itself",
        ),
        Destination::EmptyClusterIp => expected_rejected_cluster_ip(probe),
        Destination::ClusterIp => expected_cluster_ip(scenario, probe),
        Destination::LoadBalancerIp
        | Destination::RangedLoadBalancerIp
        | Destination::ExternalIp => expected_external_address(scenario, probe),
        Destination::UnnamedAddress => expected_unnamed_address(probe),
        Destination::NodeAddressUnusedPort => because(
            Expectation::ResetByNode,
            "no rule names the port: nat KUBE-SERVICES' last rule sends the node's own \
             addresses (addrtype LOCAL) to KUBE-NODEPORTS, which tests only nodePorts (§3.1); \
             not DNATed, so delivered through filter INPUT, whose kube-proxy and kubelet chains \
             name other ports or addresses, or test the 0x8000 mark (never set here) and \
             127.0.0.0/8 (§3.2-§3.4); nothing listens, so the node's TCP stack answers with a \
             reset",
        ),
    }
}

/// An address no rule names, routed to node1 by the router: every era, every policy and
/// placement (the rules that could meet it name no service: `Scenario::probes_unnamed_destinations`).
fn expected_unnamed_address(probe: Probe) -> Expected {
    let basis = "no rule names the address: nat KUBE-SERVICES (PREROUTING, OUTPUT) ends with \
                 `addrtype --dst-type LOCAL -j KUBE-NODEPORTS` (§3.1), and the address is not the \
                 node's, so nothing DNATs or marks it; routed, so filter FORWARD (or OUTPUT for \
                 the node's own packet): KUBE-FORWARD drops only INVALID and accepts the \
                 masquerade mark or established connections (§3.3), KUBE-SERVICES, \
                 KUBE-EXTERNAL-SERVICES and KUBE-PROXY-FIREWALL name service addresses (§3.3), \
                 KUBE-FIREWALL tests the 0x8000 mark and 127.0.0.0/8 (§3.4); KUBE-POSTROUTING \
                 returns without the 0x4000 mark (§4): it leaves un-NATed toward the router";
    let then = match source_of(probe) {
        // The router sends it back to node1, which forwards it again.
        Source::Outside | Source::Pod => AfterLeaving::LoopsUntilTtlRunsOut,
        // It comes back to node1 with node1's own address as its source.
        Source::Node => AfterLeaving::DroppedAsMartian,
    };
    because(
        Expectation::LeavesNode {
            masqueraded: false,
            then,
        },
        basis,
    )
}

/// nodePorts (reference §9.2).
fn expected_node_port(scenario: &Scenario, probe: Probe) -> Expected {
    let target = probe.target_node();
    if scenario.placement == Placement::Nowhere {
        return because(
            Expectation::Refused { by: target },
            "§5.7: no endpoints: filter KUBE-EXTERNAL-SERVICES \"has no endpoints\" REJECT for \
             the nodePort (addrtype LOCAL), jumped to from INPUT",
        );
    }
    let everything = Expectation::Connects {
        masquerades: Masquerades::All,
        backends_on: None,
    };
    let expectation = match scenario.policy {
        Policy::Cluster => everything,
        Policy::Local => match probe {
            Probe::ExternalToNode1
            | Probe::ExternalToNode2
            | Probe::SubnetClientToNode1
            | Probe::Node1ToNode2 => {
                // node1's address is not LOCAL on node2, so node1 → node2 counts as external.
                if has_local_endpoint(scenario, target) {
                    Expectation::Connects {
                        masquerades: Masquerades::None,
                        backends_on: Some(target),
                    }
                } else {
                    Expectation::Dropped
                }
            }
            Probe::Node1ToLocalhost | Probe::Node1ToOwnIp => everything,
            Probe::PodToNode1 | Probe::Pod2ToNode2 => Expectation::Connects {
                masquerades: Masquerades::None,
                backends_on: None,
            },
            // Pod traffic goes to the whole service; only the connection back to the
            // client pod itself is masqueraded (KUBE-SEP's `-s <pod IP> -j KUBE-MARK-MASQ`).
            _ => Expectation::Connects {
                masquerades: Masquerades::OnlyBackToItself(NodeId::Node1.backend()),
                backends_on: None,
            },
        },
    };
    // The extra rule masquerades connections entering the pod network from a source
    // outside it: every client here except the pods (198.18.0.0/16).
    let expectation = match expectation {
        Expectation::Connects {
            masquerades: Masquerades::None,
            backends_on,
        } if !scenario.extra_nat_postrouting.is_empty()
            && !matches!(probe.from(), Place::ClientPod(_) | Place::BackendPod(_)) =>
        {
            Expectation::Connects {
                masquerades: Masquerades::All,
                backends_on,
            }
        }
        other => other,
    };
    because(
        expectation,
        "§9.2: Cluster masquerades every source; Local preserves external clients on nodes \
         with a local endpoint and drops them elsewhere (XLB/SVL KUBE-MARK-DROP → kubelet's \
         KUBE-FIREWALL in INPUT; ≥1.25 KUBE-EXTERNAL-SERVICES DROP), masquerades LOCAL \
         sources and sends pods to every endpoint unmasqueraded",
    )
}

fn has_local_endpoint(scenario: &Scenario, node: NodeId) -> bool {
    match scenario.placement {
        Placement::Node1Only => node == NodeId::Node1,
        Placement::BothNodes => true,
        Placement::Nowhere => false,
    }
}

/// `srcip/empty`, and `srcip/web` without endpoints: REJECT (reference §5.7, §3.3).
fn expected_rejected_cluster_ip(probe: Probe) -> Expected {
    because(
        Expectation::Refused {
            by: probe.target_node(),
        },
        "§5.7/§3.3: no endpoints: filter KUBE-SERVICES \"<svc> has no endpoints\" REJECT, \
         jumped to from FORWARD (pods) and OUTPUT (the node) with --ctstate NEW (§3.2)",
    )
}

/// `srcip/web`'s cluster IP, from a pod or from the node (reference §6, §5.1, §5.4).
fn expected_cluster_ip(scenario: &Scenario, probe: Probe) -> Expected {
    if scenario.placement == Placement::Nowhere {
        return expected_rejected_cluster_ip(probe);
    }
    let from_pod = matches!(probe.from(), Place::ClientPod(_));
    because(
        Expectation::Connects {
            masquerades: if from_pod {
                Masquerades::None
            } else {
                Masquerades::All
            },
            backends_on: None,
        },
        "§6: the cluster-IP rule `! -s <cluster CIDR> … -j KUBE-MARK-MASQ` (in KUBE-SERVICES \
         ≤1.21, §5.1; in KUBE-SVC ≥1.22, §5.4) masquerades the node's own address and not a \
         pod's; every endpoint, whatever the external policy",
    )
}

/// Who a connection to an external address comes from, in kube-proxy's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// Neither a pod nor an address of the node (external clients).
    Outside,
    /// A pod: the local-traffic detector (`-s <cluster CIDR>`) matches.
    Pod,
    /// A process on the probed node: `--src-type LOCAL` matches.
    Node,
}

fn source_of(probe: Probe) -> Source {
    match probe.from() {
        Place::ClientPod(_) | Place::BackendPod(_) => Source::Pod,
        Place::Node(_) => Source::Node,
        Place::ExternalClient | Place::OutsideRangeClient | Place::SubnetClient => Source::Outside,
    }
}

/// A LoadBalancer IP or an externalIP: no node has it as an address, the router routes it
/// to [`Probe::routed_via`].
fn expected_external_address(scenario: &Scenario, probe: Probe) -> Expected {
    let target = probe.target_node();
    let source = source_of(probe);
    if scenario.placement == Placement::Nowhere {
        return expected_without_endpoints(probe, source);
    }
    let ranged = probe.destination_kind() == Destination::RangedLoadBalancerIp;
    let in_range = probe.from() == Place::ExternalClient;
    if ranged && !in_range && probe.destination_local_on().is_some() {
        return expected_outside_source_range_local_address(scenario);
    }
    if ranged && !in_range {
        return expected_outside_source_range(scenario, source);
    }
    // Allowed through KUBE-FW (or no KUBE-FW): the service's external chain decides.
    match (scenario.policy, source) {
        (Policy::Cluster, _) => because(
            Expectation::Connects {
                masquerades: Masquerades::All,
                backends_on: None,
            },
            "Cluster: ≤1.23 KUBE-FW's first rule jumps to KUBE-MARK-MASQ for LB IPs (§5.5) and \
             1.21 masquerades externalIP traffic not from a pod (§5.6), so pods are masqueraded \
             too on an LB IP; ≥1.24 KUBE-EXT \"masquerade traffic for … external \
             destinations\" (§5.4, §5.6); every endpoint",
        ),
        (Policy::Local, Source::Pod) => because(
            Expectation::Connects {
                masquerades: Masquerades::None,
                backends_on: None,
            },
            "Local, pod source: XLB \"Redirect pods trying to reach external loadbalancer VIP \
             to clusterIP\" (§5.1) / KUBE-EXT \"pod traffic for … external destinations\" \
             (§5.4) → KUBE-SVC: every endpoint, not masqueraded (K128 \"pod to LB with \
             eTP:Local\", §12.2)",
        ),
        (Policy::Local, Source::Node) => because(
            Expectation::Connects {
                masquerades: Masquerades::All,
                backends_on: None,
            },
            "Local, the node's own address: \"masquerade LOCAL traffic\" + \"route LOCAL \
             traffic\" (--src-type LOCAL) → KUBE-SVC (§5.1, §5.4): every endpoint, \
             masqueraded",
        ),
        (Policy::Local, Source::Outside) if has_local_endpoint(scenario, target) => because(
            Expectation::Connects {
                masquerades: Masquerades::None,
                backends_on: Some(target),
            },
            "Local, external client, the node has a local endpoint: DNAT to it, source \
             preserved (§9.2, which applies to LB IPs and externalIPs too)",
        ),
        (Policy::Local, Source::Outside) => match scenario.era {
            Era::V1_28Ext => because(
                Expectation::Dropped,
                "Local, no local endpoint, ≥1.25: KUBE-EXT has no final jump, the packet stays \
                 un-DNATed and filter KUBE-EXTERNAL-SERVICES \"has no local endpoints\" DROPs it \
                 from FORWARD (§5.4 notes, §5.7); for the ranged LB KUBE-PROXY-FIREWALL's DROP \
                 (§5.5) comes first in FORWARD",
            ),
            Era::V1_21Xlb => Expected {
                expectation: Expectation::LeavesNode {
                    masqueraded: false,
                    then: AfterLeaving::LoopsUntilTtlRunsOut,
                },
                basis: "Local, no local endpoint, ≤1.23: XLB \"has no local endpoints\" → \
                        KUBE-MARK-DROP (§5.1), i.e. only mark 0x8000; the LB/external IP is not an \
                        address of the node, so the packet is routed, not delivered: filter \
                        FORWARD has no KUBE-FIREWALL (kubelet hooks it from INPUT and OUTPUT, \
                        §3.4) and nothing else drops it; it goes back to the router, which \
                        routes it to the same node again",
                balanced_over: Vec::new(),
                reference_differs: Some(
                    "§4/§9.2 say the marked packet is dropped by KUBE-FIREWALL in filter INPUT; \
                     that holds only when the destination is an address of the node",
                ),
            },
        },
    }
}

/// A source outside the source range, to an LB IP that the node has as a local address:
/// the un-DNATed packet is delivered, so it goes through filter INPUT (reference §4, §5.5).
fn expected_outside_source_range_local_address(scenario: &Scenario) -> Expected {
    match scenario.era {
        Era::V1_28Ext => because(
            Expectation::Dropped,
            "≥1.25: KUBE-FW does not let the source through; filter KUBE-PROXY-FIREWALL DROPs              it in INPUT (§5.5, §3.2)",
        ),
        Era::V1_21Xlb => because(
            Expectation::Dropped,
            "≤1.23: KUBE-FW ends in KUBE-MARK-DROP (§5.5); the LB IP is an address of the              node, so the packet is delivered through filter INPUT, where kubelet's              KUBE-FIREWALL drops marked packets (§4, §3.4): here the reference holds",
        ),
    }
}

/// A source outside `srcip/web-ranged`'s source range (reference §5.5).
fn expected_outside_source_range(scenario: &Scenario, source: Source) -> Expected {
    match (scenario.era, source) {
        (Era::V1_28Ext, _) => because(
            Expectation::Dropped,
            "≥1.25: KUBE-FW only lets the range through (to KUBE-EXT) and ends with a \
             comment-only rule; the un-DNATed packet meets filter KUBE-PROXY-FIREWALL's DROP, \
             jumped to from INPUT, FORWARD and OUTPUT with --ctstate NEW (§5.5, §3.2)",
        ),
        (Era::V1_21Xlb, Source::Node) => because(
            Expectation::Dropped,
            "≤1.23: KUBE-FW ends in KUBE-MARK-DROP (§5.5); the node's own packet goes through \
             filter OUTPUT, where kubelet's KUBE-FIREWALL drops marked packets (§3.4)",
        ),
        (Era::V1_21Xlb, _) => match scenario.policy {
            Policy::Cluster => Expected {
                expectation: Expectation::LeavesNode {
                    masqueraded: true,
                    then: AfterLeaving::DroppedAsMartian,
                },
                basis: "≤1.23 Cluster: KUBE-FW marks for masquerade first, then (no range \
                        matching) KUBE-MARK-DROP (§5.5); not DNATed and not a node address, so \
                        routed: filter FORWARD's KUBE-FORWARD accepts the masquerade mark (§3.3), \
                        nothing tests the drop mark there (§3.4), KUBE-POSTROUTING masquerades \
                        (§4); the router sends it back to the node, whose own address is now its \
                        source",
                balanced_over: Vec::new(),
                reference_differs: Some(
                    "§5.7/§4 say a source outside loadBalancerSourceRanges is dropped \
                     (KUBE-MARK-DROP → KUBE-FIREWALL); on a node without the LB IP as an address \
                     it is masqueraded and sent back out instead",
                ),
            },
            Policy::Local => Expected {
                expectation: Expectation::LeavesNode {
                    masqueraded: false,
                    then: AfterLeaving::LoopsUntilTtlRunsOut,
                },
                basis: "≤1.23 Local: KUBE-FW → (no range matching) KUBE-MARK-DROP (§5.5); not \
                        DNATed and not a node address, so routed; filter FORWARD has no \
                        KUBE-FIREWALL (§3.4): back to the router, which routes it to the node \
                        again",
                balanced_over: Vec::new(),
                reference_differs: Some(
                    "§5.7/§4 say a source outside loadBalancerSourceRanges is dropped \
                     (KUBE-MARK-DROP → KUBE-FIREWALL); on a node without the LB IP as an address \
                     it loops between node and router until its TTL runs out",
                ),
            },
        },
    }
}

/// A LoadBalancer IP or externalIP of a service without endpoints (reference §5.7).
fn expected_without_endpoints(probe: Probe, source: Source) -> Expected {
    if source != Source::Node {
        return because(
            Expectation::Refused {
                by: probe.target_node(),
            },
            "§5.7: no endpoints: no nat rule at all, filter KUBE-EXTERNAL-SERVICES \"has no \
             endpoints\" REJECT for the LB IP / externalIP, jumped to from FORWARD (≥1.20) and \
             INPUT (§3.2)",
        );
    }
    // The node's own packet: filter OUTPUT jumps to KUBE-SERVICES (cluster IPs only) and
    // KUBE-FIREWALL, not to KUBE-EXTERNAL-SERVICES; it leaves for the router, which routes
    // the service addresses to node1 during these probes.
    let origin = probe.target_node();
    let (then, basis) = if origin == NodeId::Node1 {
        (
            AfterLeaving::DroppedAsMartian,
            "§5.7 rejects in KUBE-EXTERNAL-SERVICES, which filter OUTPUT does not jump to \
             (§3.2); so the node's own SYN leaves un-NATed, and the router sends it back to \
             this node with the node's own address as source",
        )
    } else {
        (
            AfterLeaving::RejectedBy(NodeId::Node1),
            "§5.7 rejects in KUBE-EXTERNAL-SERVICES, which filter OUTPUT does not jump to \
             (§3.2); so the node's own SYN leaves un-NATed, and the router sends it to node1, \
             whose FORWARD hook rejects it",
        )
    };
    Expected {
        expectation: Expectation::LeavesNode {
            masqueraded: false,
            then,
        },
        basis,
        balanced_over: Vec::new(),
        reference_differs: Some(
            "§5.7/§12.2 say an LB IP or externalIP without endpoints is rejected; not for the \
             node's own connections, which no REJECT rule sees",
        ),
    }
}

impl Expectation {
    pub(crate) fn describe(&self) -> String {
        match self {
            Expectation::Connects {
                masquerades,
                backends_on,
            } => {
                let who = match masquerades {
                    Masquerades::All => {
                        "every connection masqueraded to the probed node's address toward the backend".to_owned()
                    }
                    Masquerades::None => "the client's own address, nothing masqueraded".to_owned(),
                    Masquerades::OnlyBackToItself(backend) => format!(
                        "the client's own address, except {backend} (the client itself), masqueraded"
                    ),
                };
                let only = backends_on
                    .map(|node| format!(", only {:?}'s backend answers", node.backend()))
                    .unwrap_or_default();
                format!("connected, backends see {who}{only}")
            }
            Expectation::ServedByNode => {
                "connected to the node's own listener, which sees the client's address".to_owned()
            }
            Expectation::Dropped => "timed out (dropped on the probed node)".to_owned(),
            Expectation::Refused { by } => format!("refused (rejected by {by:?})"),
            Expectation::ResetByNode => {
                "refused by the probed node's TCP stack (a reset: delivered, nothing listens)"
                    .to_owned()
            }
            Expectation::LeavesNode { masqueraded, then } => {
                let how = if *masqueraded {
                    "masqueraded"
                } else {
                    "un-NATed"
                };
                let then = match then {
                    AfterLeaving::LoopsUntilTtlRunsOut => {
                        "loops between node and router until the TTL runs out: unreachable"
                            .to_owned()
                    }
                    AfterLeaving::DroppedAsMartian => {
                        "comes back with the node's own source address and is dropped as a martian: timed out".to_owned()
                    }
                    AfterLeaving::RejectedBy(node) => format!("rejected by {node:?}: refused"),
                };
                format!("sent back out of the probed node {how}, then {then}")
            }
        }
    }

    /// The outcome every attempt must have.
    fn outcome(&self) -> Outcome {
        match self {
            Expectation::Connects { .. } | Expectation::ServedByNode => Outcome::Connected,
            Expectation::Dropped => Outcome::TimedOut,
            Expectation::Refused { .. } | Expectation::ResetByNode => Outcome::Refused,
            Expectation::LeavesNode { then, .. } => match then {
                AfterLeaving::LoopsUntilTtlRunsOut => Outcome::Unreachable,
                AfterLeaving::DroppedAsMartian => Outcome::TimedOut,
                AfterLeaving::RejectedBy(_) => Outcome::Refused,
            },
        }
    }

    /// `None` when the observation fits, otherwise what was wrong.
    #[allow(
        clippy::too_many_lines,
        reason = "one arm per probe class, read top to bottom against docs/kernel-findings.md"
    )]
    fn problem_with(&self, observation: &Observation) -> Option<String> {
        let wanted_outcome = self.outcome();
        if observation.outcome() != Some(&wanted_outcome) {
            return Some(format!("outcomes {:?}", observation.outcomes));
        }
        let probe = observation.probe;
        let target = probe.target_node();
        let attempts = observation.attempts as u64;
        let mut problems = Vec::new();
        // Connections the probed node must have source-NATed (the other node: none).
        let mut masqueraded_connections = 0;
        match self {
            Expectation::Connects {
                masquerades,
                backends_on,
            } => {
                for (backend, record) in &observation.backends {
                    let masqueraded = match masquerades {
                        Masquerades::All => true,
                        Masquerades::None => false,
                        Masquerades::OnlyBackToItself(itself) => backend == itself,
                    };
                    let wanted = if masqueraded {
                        masqueraded_connections += record.answers as u64;
                        topology::masquerade_source(target, *backend)
                    } else {
                        Some(observation.source)
                    };
                    if record.seen_sources.keys().any(|seen| Some(*seen) != wanted) {
                        problems.push(format!(
                            "backend {backend} saw {:?}, not only {wanted:?}",
                            record.seen_sources
                        ));
                    }
                    if let Some(node) = backends_on
                        && *backend != node.backend()
                    {
                        problems.push(format!(
                            "answered by {backend}, not only {:?}",
                            node.backend()
                        ));
                    }
                }
            }
            Expectation::ServedByNode => {
                for (server, record) in &observation.backends {
                    if *server != observation.destination {
                        problems.push(format!(
                            "answered by {server}, not by the node's own listener {}",
                            observation.destination
                        ));
                    }
                    if record.seen_sources.keys().any(|s| *s != observation.source) {
                        problems.push(format!(
                            "the listener saw {:?}, not only {}",
                            record.seen_sources, observation.source
                        ));
                    }
                }
            }
            Expectation::Dropped => {
                if let Some(sent) = observation.packets_sent_away()
                    && sent != 0
                {
                    problems.push(format!(
                        "{target:?} sent {sent} packet(s) away: not dropped there"
                    ));
                }
            }
            Expectation::Refused { by } => {
                let sent = observation.counters(by.short_name()).unreachable_sent;
                if sent < attempts {
                    problems.push(format!(
                        "{by:?} sent {sent} ICMP destination-unreachable for {attempts} attempts"
                    ));
                }
            }
            Expectation::ResetByNode => {
                let counters = observation.counters(target.short_name());
                if counters.resets_sent < attempts {
                    problems.push(format!(
                        "{target:?}'s TCP stack sent {} reset(s) for {attempts} attempts",
                        counters.resets_sent
                    ));
                }
                if counters.unreachable_sent != 0 {
                    problems.push(format!(
                        "{target:?} sent {} ICMP destination-unreachable: a REJECT, not a closed port",
                        counters.unreachable_sent
                    ));
                }
                if counters.forward_attempts != 0 {
                    problems.push(format!(
                        "{target:?} tried to route {} packet(s) on: not delivered to it",
                        counters.forward_attempts
                    ));
                }
            }
            Expectation::LeavesNode { masqueraded, then } => {
                if *masqueraded {
                    masqueraded_connections = attempts;
                }
                if let Some(sent) = observation.packets_sent_away()
                    && sent < attempts
                {
                    problems.push(format!(
                        "{target:?} sent {sent} packet(s) away for {attempts} attempts: the SYNs did not leave it"
                    ));
                }
                match then {
                    AfterLeaving::LoopsUntilTtlRunsOut => {
                        let sent: u64 = ["node1", "node2", "router"]
                            .iter()
                            .map(|host| observation.counters(host).time_exceeded_sent)
                            .sum();
                        if sent < attempts {
                            problems.push(format!(
                                "{sent} ICMP time-exceeded sent for {attempts} attempts: no routing loop"
                            ));
                        }
                    }
                    AfterLeaving::RejectedBy(node) => {
                        let sent = observation.counters(node.short_name()).unreachable_sent;
                        if sent < attempts {
                            problems.push(format!(
                                "{node:?} sent {sent} ICMP destination-unreachable for {attempts} attempts"
                            ));
                        }
                    }
                    AfterLeaving::DroppedAsMartian => {}
                }
            }
        }
        for (node, packets) in &observation.source_nat_packets {
            let wanted = if *node == target {
                masqueraded_connections
            } else {
                0
            };
            if *packets != wanted {
                problems.push(format!(
                    "{node:?} source-NATed {packets} new connection(s), not {wanted}"
                ));
            }
        }
        (!problems.is_empty()).then(|| problems.join("; "))
    }
}
