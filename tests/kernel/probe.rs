//! Probes: real TCP connections from one place to one of a service's addresses (a nodePort,
//! a LoadBalancer IP, an externalIP, a cluster IP, the health-check port) or to an address
//! no rule names, and what the backends and the kernel's counters reported.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::time::Duration;

use crate::netns;
use crate::scenarios::{self, Scenario};
use crate::snmp::{self, IpCounters};
use crate::topology::{self, NodeId, Place, Topology};

/// Connect and read timeout of every attempt.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(1);
/// Attempts per probe; they run in parallel, so a probe costs at most one timeout.
pub(crate) const ATTEMPTS: usize = 12;
/// Attempts for a probe expected to be balanced at random over several endpoints. With
/// k equal endpoints and n attempts, P(some endpoint never answers) ≤ k·(1−1/k)^n; here
/// k = 2 and n = 32: 2·2⁻³² ≈ 4.7e-10 per probe, 3e-8 for the 64 such probes of a run
/// (both-nodes scenarios: 21 probes each with policy Cluster, 11 with Local; two eras).
/// Attempts run in parallel, so this costs no time.
pub(crate) const BALANCED_ATTEMPTS: usize = 32;
/// The longest answer a backend sends.
const MAX_REPLY: u64 = 128;

/// Which of the service's addresses a probe connects to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub(crate) enum Destination {
    /// A node address (or 127.0.0.1) and `srcip/web`'s nodePort.
    NodePort,
    /// `srcip/web`'s LoadBalancer IP (no source ranges).
    LoadBalancerIp,
    /// `srcip/web-ranged`'s LoadBalancer IP (source range [`topology::SOURCE_RANGE`]).
    RangedLoadBalancerIp,
    /// `srcip/web`'s externalIP.
    ExternalIp,
    /// `srcip/web`'s cluster IP.
    ClusterIp,
    /// `srcip/empty`'s cluster IP (no endpoints).
    EmptyClusterIp,
    /// A node address and `srcip/web`'s healthCheckNodePort (policy Local).
    HealthCheckNodePort,
    /// [`topology::UNNAMED_ADDRESS`] at the scenario's service port: no rule of any scenario
    /// names it, and the router routes it to node1 like the LoadBalancer IPs.
    UnnamedAddress,
    /// node1's own address at the port below the scenario's service port: no rule names
    /// it (not a nodePort) and nothing listens on it.
    NodeAddressUnusedPort,
}

impl Destination {
    /// The `destination.kind` that `srcip-rules explain --format json` is expected to name
    /// for this address once it answers `explain IP:PORT` (issue 11).
    pub(crate) fn explain_kind(self) -> &'static str {
        match self {
            Destination::NodePort => "node-port",
            Destination::LoadBalancerIp | Destination::RangedLoadBalancerIp => "load-balancer-ip",
            Destination::ExternalIp => "external-ip",
            Destination::ClusterIp | Destination::EmptyClusterIp => "cluster-ip",
            Destination::HealthCheckNodePort => "health-check-node-port",
            Destination::UnnamedAddress | Destination::NodeAddressUnusedPort => "unhandled",
        }
    }
}

/// Who connects to which address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub(crate) enum Probe {
    /// External client (not on the nodes' subnet) → node1:nodePort.
    ExternalToNode1,
    /// External client → node2:nodePort.
    ExternalToNode2,
    /// Client on the node subnet → node1:nodePort.
    SubnetClientToNode1,
    /// A process on node1 → 127.0.0.1:nodePort.
    Node1ToLocalhost,
    /// A process on node1 → node1's own address:nodePort.
    Node1ToOwnIp,
    /// The client pod on node1 → node1's address:nodePort (hairpin through its node).
    PodToNode1,
    /// The client pod on node2 → node2's address:nodePort (hairpin through its node).
    Pod2ToNode2,
    /// A process on node1 → node2's address:nodePort.
    Node1ToNode2,
    /// The backend pod on node1 → node1's address:nodePort: a true hairpin when the
    /// connection lands on that backend itself.
    Backend1ToNode1,
    /// External client → the LoadBalancer IP, which the load balancer routes to node1.
    ExternalToLbViaNode1,
    /// External client → the LoadBalancer IP, routed to node2.
    ExternalToLbViaNode2,
    /// External client inside the source range → the ranged LoadBalancer IP, routed to node1.
    InRangeToRangedLbViaNode1,
    /// The same, routed to node2.
    InRangeToRangedLbViaNode2,
    /// External client outside the source range → the ranged LoadBalancer IP, routed to node1.
    OutsideRangeToRangedLbViaNode1,
    /// The same, routed to node2.
    OutsideRangeToRangedLbViaNode2,
    /// The same, routed to node1, which has the ranged LoadBalancer IP as a local address
    /// for this probe (as a cloud's guest agent configures it).
    OutsideRangeToRangedLbLocalOnNode1,
    /// External client → the externalIP, routed to node1.
    ExternalToExternalIpViaNode1,
    /// External client → the externalIP, routed to node2.
    ExternalToExternalIpViaNode2,
    /// The client pod on node1 → the LoadBalancer IP.
    PodToLb,
    /// The client pod on node2 → the LoadBalancer IP.
    Pod2ToLb,
    /// A process on node1 → the LoadBalancer IP.
    Node1ToLb,
    /// A process on node2 → the LoadBalancer IP.
    Node2ToLb,
    /// The client pod on node1 → the ranged LoadBalancer IP (outside its source range).
    PodToRangedLb,
    /// A process on node1 → the ranged LoadBalancer IP (outside its source range).
    Node1ToRangedLb,
    /// The client pod on node1 → the cluster IP.
    PodToClusterIp,
    /// A process on node1 → the cluster IP.
    Node1ToClusterIp,
    /// The client pod on node1 → the cluster IP of the service without endpoints.
    PodToEmptyClusterIp,
    /// A process on node1 → the cluster IP of the service without endpoints.
    Node1ToEmptyClusterIp,
    /// External client → node1's healthCheckNodePort (what a cloud load balancer's health
    /// check does).
    ExternalToHealthCheckNode1,
    /// External client → node2's healthCheckNodePort.
    ExternalToHealthCheckNode2,
    /// External client → the address no rule names, which the router routes to node1.
    ExternalToUnnamed,
    /// The client pod on node1 → the address no rule names.
    PodToUnnamed,
    /// A process on node1 → the address no rule names.
    Node1ToUnnamed,
    /// External client → node1's own address, at a port no rule names and nothing listens on.
    ExternalToNode1UnusedPort,
}

impl Probe {
    pub(crate) const ALL: [Probe; 34] = [
        Probe::ExternalToNode1,
        Probe::ExternalToNode2,
        Probe::SubnetClientToNode1,
        Probe::Node1ToLocalhost,
        Probe::Node1ToOwnIp,
        Probe::PodToNode1,
        Probe::Pod2ToNode2,
        Probe::Node1ToNode2,
        Probe::Backend1ToNode1,
        Probe::ExternalToLbViaNode1,
        Probe::ExternalToLbViaNode2,
        Probe::InRangeToRangedLbViaNode1,
        Probe::InRangeToRangedLbViaNode2,
        Probe::OutsideRangeToRangedLbViaNode1,
        Probe::OutsideRangeToRangedLbViaNode2,
        Probe::OutsideRangeToRangedLbLocalOnNode1,
        Probe::ExternalToExternalIpViaNode1,
        Probe::ExternalToExternalIpViaNode2,
        Probe::PodToLb,
        Probe::Pod2ToLb,
        Probe::Node1ToLb,
        Probe::Node2ToLb,
        Probe::PodToRangedLb,
        Probe::Node1ToRangedLb,
        Probe::PodToClusterIp,
        Probe::Node1ToClusterIp,
        Probe::PodToEmptyClusterIp,
        Probe::Node1ToEmptyClusterIp,
        Probe::ExternalToHealthCheckNode1,
        Probe::ExternalToHealthCheckNode2,
        Probe::ExternalToUnnamed,
        Probe::PodToUnnamed,
        Probe::Node1ToUnnamed,
        Probe::ExternalToNode1UnusedPort,
    ];

    /// Which address of which service the probe connects to.
    pub(crate) fn destination_kind(self) -> Destination {
        match self {
            Probe::ExternalToNode1
            | Probe::ExternalToNode2
            | Probe::SubnetClientToNode1
            | Probe::Node1ToLocalhost
            | Probe::Node1ToOwnIp
            | Probe::PodToNode1
            | Probe::Pod2ToNode2
            | Probe::Node1ToNode2
            | Probe::Backend1ToNode1 => Destination::NodePort,
            Probe::ExternalToLbViaNode1
            | Probe::ExternalToLbViaNode2
            | Probe::PodToLb
            | Probe::Pod2ToLb
            | Probe::Node1ToLb
            | Probe::Node2ToLb => Destination::LoadBalancerIp,
            Probe::InRangeToRangedLbViaNode1
            | Probe::InRangeToRangedLbViaNode2
            | Probe::OutsideRangeToRangedLbViaNode1
            | Probe::OutsideRangeToRangedLbViaNode2
            | Probe::OutsideRangeToRangedLbLocalOnNode1
            | Probe::PodToRangedLb
            | Probe::Node1ToRangedLb => Destination::RangedLoadBalancerIp,
            Probe::ExternalToExternalIpViaNode1 | Probe::ExternalToExternalIpViaNode2 => {
                Destination::ExternalIp
            }
            Probe::PodToClusterIp | Probe::Node1ToClusterIp => Destination::ClusterIp,
            Probe::PodToEmptyClusterIp | Probe::Node1ToEmptyClusterIp => {
                Destination::EmptyClusterIp
            }
            Probe::ExternalToHealthCheckNode1 | Probe::ExternalToHealthCheckNode2 => {
                Destination::HealthCheckNodePort
            }
            Probe::ExternalToUnnamed | Probe::PodToUnnamed | Probe::Node1ToUnnamed => {
                Destination::UnnamedAddress
            }
            Probe::ExternalToNode1UnusedPort => Destination::NodeAddressUnusedPort,
        }
    }

    /// Whether the probe runs in the scenario: nodePort probes always, the addresses no rule
    /// names in one scenario per era ([`Scenario::probes_unnamed_destinations`]), the others
    /// where the scenario has every destination (the health-check port only with policy
    /// Local).
    pub(crate) fn applies_to(self, scenario: &Scenario) -> bool {
        match self.destination_kind() {
            Destination::NodePort => true,
            Destination::HealthCheckNodePort => {
                scenario.every_destination && scenario.health_check_node_port().is_some()
            }
            Destination::UnnamedAddress | Destination::NodeAddressUnusedPort => {
                scenario.probes_unnamed_destinations()
            }
            _ => scenario.every_destination,
        }
    }

    /// Where the connection starts.
    pub(crate) fn from(self) -> Place {
        match self {
            Probe::ExternalToNode1
            | Probe::ExternalToNode2
            | Probe::ExternalToLbViaNode1
            | Probe::ExternalToLbViaNode2
            | Probe::InRangeToRangedLbViaNode1
            | Probe::InRangeToRangedLbViaNode2
            | Probe::ExternalToExternalIpViaNode1
            | Probe::ExternalToExternalIpViaNode2
            | Probe::ExternalToHealthCheckNode1
            | Probe::ExternalToHealthCheckNode2
            | Probe::ExternalToUnnamed
            | Probe::ExternalToNode1UnusedPort => Place::ExternalClient,
            Probe::OutsideRangeToRangedLbViaNode1
            | Probe::OutsideRangeToRangedLbViaNode2
            | Probe::OutsideRangeToRangedLbLocalOnNode1 => Place::OutsideRangeClient,
            Probe::SubnetClientToNode1 => Place::SubnetClient,
            Probe::Node1ToLocalhost
            | Probe::Node1ToOwnIp
            | Probe::Node1ToNode2
            | Probe::Node1ToLb
            | Probe::Node1ToRangedLb
            | Probe::Node1ToClusterIp
            | Probe::Node1ToEmptyClusterIp
            | Probe::Node1ToUnnamed => Place::Node(NodeId::Node1),
            Probe::Node2ToLb => Place::Node(NodeId::Node2),
            Probe::PodToNode1
            | Probe::PodToLb
            | Probe::PodToRangedLb
            | Probe::PodToClusterIp
            | Probe::PodToEmptyClusterIp
            | Probe::PodToUnnamed => Place::ClientPod(NodeId::Node1),
            Probe::Pod2ToNode2 | Probe::Pod2ToLb => Place::ClientPod(NodeId::Node2),
            Probe::Backend1ToNode1 => Place::BackendPod(NodeId::Node1),
        }
    }

    /// The source address the connection leaves with, before any NAT (for a process on a
    /// node: the address of its route toward the destination, the node-network address).
    pub(crate) fn source(self) -> Ipv4Addr {
        match (self, self.from()) {
            (Probe::Node1ToLocalhost, _) => Ipv4Addr::LOCALHOST,
            (_, Place::ExternalClient) => topology::EXTERNAL_CLIENT,
            (_, Place::OutsideRangeClient) => topology::OUTSIDE_RANGE_CLIENT,
            (_, Place::SubnetClient) => topology::SUBNET_CLIENT,
            (_, Place::Node(node)) => node.ip(),
            (_, Place::ClientPod(node)) => node.client_pod(),
            (_, Place::BackendPod(node)) => *node.backend().ip(),
        }
    }

    /// The node the load balancer (the router) sends the LoadBalancer IPs, the externalIP and
    /// the address no rule names to during this probe: the one the probe names, node1 for
    /// the others (it matters for those only when a node sends such a packet back out
    /// un-NATed).
    pub(crate) fn routed_via(self) -> NodeId {
        match self {
            Probe::ExternalToLbViaNode2
            | Probe::InRangeToRangedLbViaNode2
            | Probe::OutsideRangeToRangedLbViaNode2
            | Probe::ExternalToExternalIpViaNode2 => NodeId::Node2,
            _ => NodeId::Node1,
        }
    }

    /// The node whose rules decide the fate of the connection: the one addressed, the one
    /// the load balancer routes to, or the one the client runs on.
    pub(crate) fn target_node(self) -> NodeId {
        match self {
            Probe::ExternalToNode2
            | Probe::Node1ToNode2
            | Probe::Pod2ToNode2
            | Probe::Pod2ToLb
            | Probe::Node2ToLb
            | Probe::ExternalToHealthCheckNode2 => NodeId::Node2,
            Probe::ExternalToLbViaNode1
            | Probe::ExternalToLbViaNode2
            | Probe::InRangeToRangedLbViaNode1
            | Probe::InRangeToRangedLbViaNode2
            | Probe::OutsideRangeToRangedLbViaNode1
            | Probe::OutsideRangeToRangedLbViaNode2
            | Probe::OutsideRangeToRangedLbLocalOnNode1
            | Probe::ExternalToExternalIpViaNode1
            | Probe::ExternalToExternalIpViaNode2 => self.routed_via(),
            _ => NodeId::Node1,
        }
    }

    /// The node that has the destination as one of its own addresses during the probe (none
    /// has otherwise: the load balancer only routes the service addresses to the nodes).
    pub(crate) fn destination_local_on(self) -> Option<NodeId> {
        (self == Probe::OutsideRangeToRangedLbLocalOnNode1).then_some(NodeId::Node1)
    }

    /// The address and port connected to in `scenario`.
    pub(crate) fn destination(self, scenario: &Scenario) -> SocketAddrV4 {
        let service = |ip| SocketAddrV4::new(ip, scenario.service_port);
        match self.destination_kind() {
            Destination::NodePort => {
                let ip = match self {
                    Probe::Node1ToLocalhost => Ipv4Addr::LOCALHOST,
                    other => other.target_node().ip(),
                };
                SocketAddrV4::new(ip, scenario.node_port)
            }
            Destination::HealthCheckNodePort => SocketAddrV4::new(
                self.target_node().ip(),
                scenario.health_check_node_port().unwrap_or_default(),
            ),
            Destination::LoadBalancerIp => service(topology::LOAD_BALANCER_IP),
            Destination::RangedLoadBalancerIp => service(topology::RANGED_LOAD_BALANCER_IP),
            Destination::ExternalIp => service(topology::EXTERNAL_IP),
            Destination::ClusterIp => service(scenarios::CLUSTER_IP),
            Destination::EmptyClusterIp => service(scenarios::EMPTY_CLUSTER_IP),
            Destination::UnnamedAddress => service(topology::UNNAMED_ADDRESS),
            Destination::NodeAddressUnusedPort => {
                SocketAddrV4::new(self.target_node().ip(), scenario.unused_port())
            }
        }
    }
}

/// What one connection attempt ended in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub(crate) enum Outcome {
    /// Connected and the backend answered.
    Connected,
    /// No answer to the SYN within the timeout (a DROP somewhere).
    TimedOut,
    /// The SYN got a RST or an ICMP port-unreachable (a REJECT, or nothing listening).
    Refused,
    /// The SYN got an ICMP error that ends a connection attempt at once, other than
    /// port-unreachable: host or network unreachable, or time exceeded (the kernel reports
    /// all of them as "no route to host"), e.g. at the end of a routing loop.
    Unreachable,
    /// Anything else, with the error text.
    Other(String),
}

/// One attempt's result.
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct Attempt {
    pub(crate) outcome: Outcome,
    /// The client address the backend reported.
    pub(crate) seen_source: Option<Ipv4Addr>,
    /// The backend that answered.
    pub(crate) backend: Option<SocketAddrV4>,
}

/// What one backend reported during a probe.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub(crate) struct BackendRecord {
    /// How many attempts it answered.
    pub(crate) answers: usize,
    /// The client addresses it saw, with how many connections each.
    pub(crate) seen_sources: BTreeMap<Ipv4Addr, usize>,
}

/// Everything one probe observed in one scenario; the unit compared with
/// `srcip-rules explain --format json` for the same node, port and source.
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct Observation {
    pub(crate) scenario: String,
    pub(crate) probe: Probe,
    pub(crate) destination_kind: Destination,
    pub(crate) source: Ipv4Addr,
    pub(crate) destination: SocketAddrV4,
    /// The node the router sent the LoadBalancer IPs and the externalIP to.
    pub(crate) service_addresses_routed_via: NodeId,
    /// How many connections were attempted.
    pub(crate) attempts: usize,
    /// How many attempts ended in each outcome.
    pub(crate) outcomes: BTreeMap<Outcome, usize>,
    /// Per backend that answered: how often, and which client addresses it saw.
    pub(crate) backends: BTreeMap<SocketAddrV4, BackendRecord>,
    /// Per node: packets counted by its nat MASQUERADE/SNAT rules during the probe (the
    /// counters are zeroed just before it), i.e. the new connections that node
    /// source-NATed. Independent of the addresses the backends saw.
    pub(crate) source_nat_packets: BTreeMap<NodeId, u64>,
    /// Per host (`node1`, `node2`, `router`): its IP/ICMP/TCP counters' increase during the
    /// probe: packets it tried to route on, IP packets it sent out, ICMP time-exceeded and
    /// destination-unreachable it sent, TCP resets its own stack sent.
    pub(crate) ip_counters: BTreeMap<&'static str, IpCounters>,
}

impl Observation {
    /// The outcome when every attempt agreed.
    pub(crate) fn outcome(&self) -> Option<&Outcome> {
        match self.outcomes.keys().collect::<Vec<_>>().as_slice() {
            [single] => Some(single),
            _ => None,
        }
    }

    /// The counters' increase on `host` (`node1`, `node2`, `router`); zero if not read.
    pub(crate) fn counters(&self, host: &str) -> IpCounters {
        self.ip_counters.get(host).copied().unwrap_or_default()
    }

    /// How many packets the probed node sent away toward the network rather than to a
    /// backend or to itself: for its own connections, what the router then routed on (its
    /// own SYNs to its own address go over loopback and count as sent too); otherwise the IP
    /// packets it sent out beyond its own ICMP errors and TCP resets. `None` where the kernel does not count
    /// what it sends (before Linux 6.3).
    pub(crate) fn packets_sent_away(&self) -> Option<u64> {
        let target = self.probe.target_node();
        if self.probe.from() == Place::Node(target) {
            Some(self.counters("router").forward_attempts)
        } else {
            self.counters(target.short_name()).sent_beyond_own_errors()
        }
    }

    /// One line for logs and failure messages.
    pub(crate) fn summary(&self) -> String {
        let outcomes: Vec<String> = self
            .outcomes
            .iter()
            .map(|(outcome, count)| format!("{outcome:?}×{count}"))
            .collect();
        let backends: Vec<String> = self
            .backends
            .iter()
            .map(|(backend, record)| {
                let seen: Vec<String> = record
                    .seen_sources
                    .iter()
                    .map(|(address, count)| format!("{address}×{count}"))
                    .collect();
                format!("{backend} saw {}", seen.join(" "))
            })
            .collect();
        let snat: Vec<String> = self
            .source_nat_packets
            .iter()
            .map(|(node, packets)| format!("{}:{packets}", node.short_name()))
            .collect();
        // Only the hosts that did something.
        let counters: Vec<String> = self
            .ip_counters
            .iter()
            .filter(|(_, c)| {
                c.forward_attempts
                    + c.transmitted.unwrap_or_default()
                    + c.time_exceeded_sent
                    + c.unreachable_sent
                    + c.resets_sent
                    > 0
            })
            .map(|(host, c)| {
                let sent = c.transmitted.map_or("?".to_owned(), |n| n.to_string());
                format!(
                    "{host}: routing {} sent {sent} ttl-exceeded {} unreach {} rst {}",
                    c.forward_attempts, c.time_exceeded_sent, c.unreachable_sent, c.resets_sent
                )
            })
            .collect();
        let routed = match self.destination_kind {
            Destination::LoadBalancerIp
            | Destination::RangedLoadBalancerIp
            | Destination::ExternalIp
            | Destination::UnnamedAddress => {
                let local = match self.probe.destination_local_on() {
                    Some(node) => format!(", an address of {}", node.short_name()),
                    None => String::new(),
                };
                format!(
                    " (service IPs routed via {}{local})",
                    self.service_addresses_routed_via.short_name()
                )
            }
            _ => String::new(),
        };
        format!(
            "{:?} {} → {}{routed}: {} | {} | SNAT/MASQUERADE packets {} | {}",
            self.probe,
            self.source,
            self.destination,
            outcomes.join(" "),
            if backends.is_empty() {
                "no backend answered".to_owned()
            } else {
                backends.join("; ")
            },
            snat.join(" "),
            if counters.is_empty() {
                "no host routed or sent anything".to_owned()
            } else {
                counters.join("; ")
            }
        )
    }
}

/// The hosts whose IP/ICMP/TCP counters a probe reads.
fn counted_hosts(topology: &Topology) -> [(&'static str, String); 3] {
    [
        ("node1", topology.namespace(Place::Node(NodeId::Node1))),
        ("node2", topology.namespace(Place::Node(NodeId::Node2))),
        ("router", topology.router_namespace()),
    ]
}

/// Runs `attempts` parallel connections for the probe and gathers what they saw, with the
/// router sending the service addresses to the probe's node, the nodes' nat source-NAT
/// counters zeroed before and read after, and every host's IP/ICMP/TCP counters read before
/// and after.
pub(crate) fn run(
    topology: &Topology,
    scenario: &Scenario,
    probe: Probe,
    attempts: usize,
) -> Result<Observation, String> {
    let destination = probe.destination(scenario);
    let namespace = topology.namespace(probe.from());
    topology.route_service_addresses_via(probe.routed_via())?;
    let _local_address = match probe.destination_local_on() {
        Some(node) => Some(topology.add_local_address(node, *destination.ip())?),
        None => None,
    };
    for node in NodeId::ALL {
        scenarios::zero_nat_counters(&topology.namespace(Place::Node(node)), scenario.backend)?;
    }
    let hosts = counted_hosts(topology);
    let mut before = Vec::with_capacity(hosts.len());
    for (_, host_namespace) in &hosts {
        before.push(snmp::read(host_namespace)?);
    }
    let mut threads = Vec::with_capacity(attempts);
    for _ in 0..attempts {
        threads.push(netns::spawn_in_namespace(&namespace, move || {
            attempt(destination)
        })?);
    }
    let mut observation = Observation {
        scenario: scenario.name.clone(),
        probe,
        destination_kind: probe.destination_kind(),
        source: probe.source(),
        destination,
        service_addresses_routed_via: probe.routed_via(),
        attempts,
        outcomes: BTreeMap::new(),
        backends: BTreeMap::new(),
        source_nat_packets: BTreeMap::new(),
        ip_counters: BTreeMap::new(),
    };
    for thread in threads {
        let attempt = thread.join()?;
        *observation.outcomes.entry(attempt.outcome).or_default() += 1;
        if let Some(backend) = attempt.backend {
            let record = observation.backends.entry(backend).or_default();
            record.answers += 1;
            if let Some(seen) = attempt.seen_source {
                *record.seen_sources.entry(seen).or_default() += 1;
            }
        }
    }
    for node in NodeId::ALL {
        let packets = scenarios::source_nat_packets(
            &topology.namespace(Place::Node(node)),
            scenario.backend,
        )?;
        observation.source_nat_packets.insert(node, packets);
    }
    for ((host, host_namespace), before) in hosts.iter().zip(before) {
        let after = snmp::read(host_namespace)?;
        observation.ip_counters.insert(host, after.since(before));
    }
    Ok(observation)
}

fn attempt(destination: SocketAddrV4) -> Attempt {
    let failed = |outcome| Attempt {
        outcome,
        seen_source: None,
        backend: None,
    };
    let mut stream = match TcpStream::connect_timeout(&SocketAddr::V4(destination), TIMEOUT) {
        Ok(stream) => stream,
        Err(error) => return failed(connect_error(&error)),
    };
    if let Err(error) = stream.set_read_timeout(Some(TIMEOUT)) {
        return failed(Outcome::Other(format!("set_read_timeout: {error}")));
    }
    let mut reply = String::new();
    if let Err(error) = (&mut stream).take(MAX_REPLY).read_to_string(&mut reply) {
        return failed(Outcome::Other(format!(
            "connected, then read failed: {error}"
        )));
    }
    match parse_reply(&reply) {
        Some((seen_source, backend)) => Attempt {
            outcome: Outcome::Connected,
            seen_source: Some(seen_source),
            backend: Some(backend),
        },
        None => failed(Outcome::Other(format!(
            "connected, unexpected reply {reply:?}"
        ))),
    }
}

fn connect_error(error: &std::io::Error) -> Outcome {
    match error.kind() {
        ErrorKind::TimedOut | ErrorKind::WouldBlock => Outcome::TimedOut,
        ErrorKind::ConnectionRefused => Outcome::Refused,
        ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => Outcome::Unreachable,
        _ => Outcome::Other(error.to_string()),
    }
}

/// Parses the server's `<peer ip:port> <local ip:port>` line.
fn parse_reply(reply: &str) -> Option<(Ipv4Addr, SocketAddrV4)> {
    let mut words = reply.split_whitespace();
    let peer: SocketAddrV4 = words.next()?.parse().ok()?;
    let local: SocketAddrV4 = words.next()?.parse().ok()?;
    Some((*peer.ip(), local))
}

#[cfg(test)]
mod tests {
    use super::parse_reply;
    use std::net::{Ipv4Addr, SocketAddrV4};

    #[test]
    fn a_backend_reply_names_the_peer_and_the_backend() {
        assert_eq!(
            parse_reply("198.18.1.1:43122 198.18.1.10:8080\n"),
            Some((
                Ipv4Addr::new(198, 18, 1, 1),
                SocketAddrV4::new(Ipv4Addr::new(198, 18, 1, 10), 8080)
            ))
        );
        assert_eq!(parse_reply("garbage"), None);
    }
}
