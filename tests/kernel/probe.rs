//! Probes: real TCP connections to a nodePort from one place, and what the backend reported.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::time::Duration;

use crate::netns;
use crate::scenarios::{self, Scenario};
use crate::topology::{self, NodeId, Place, Topology};

/// Connect and read timeout of every attempt.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(1);
/// Attempts per probe; they run in parallel, so a probe costs at most one timeout.
pub(crate) const ATTEMPTS: usize = 12;
/// Attempts for a probe predicted to be balanced at random over several endpoints. With
/// k equal endpoints and n attempts, P(some endpoint never answers) ≤ k·(1−1/k)^n; here
/// k = 2 and n = 32: 2·2⁻³² ≈ 4.7e-10 per probe, 1.3e-8 for the 28 such probes of a run
/// (Cluster/both-nodes: all 9 probes of 2 scenarios; Local/both-nodes: the 5 probes from
/// the node or a pod, of 2 scenarios). Attempts run in parallel, so this costs no time.
pub(crate) const BALANCED_ATTEMPTS: usize = 32;
/// The longest answer a backend sends.
const MAX_REPLY: u64 = 128;

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
}

impl Probe {
    pub(crate) const ALL: [Probe; 9] = [
        Probe::ExternalToNode1,
        Probe::ExternalToNode2,
        Probe::SubnetClientToNode1,
        Probe::Node1ToLocalhost,
        Probe::Node1ToOwnIp,
        Probe::PodToNode1,
        Probe::Pod2ToNode2,
        Probe::Node1ToNode2,
        Probe::Backend1ToNode1,
    ];

    /// Where the connection starts.
    pub(crate) fn from(self) -> Place {
        match self {
            Probe::ExternalToNode1 | Probe::ExternalToNode2 => Place::ExternalClient,
            Probe::SubnetClientToNode1 => Place::SubnetClient,
            Probe::Node1ToLocalhost | Probe::Node1ToOwnIp | Probe::Node1ToNode2 => {
                Place::Node(NodeId::Node1)
            }
            Probe::PodToNode1 => Place::ClientPod(NodeId::Node1),
            Probe::Pod2ToNode2 => Place::ClientPod(NodeId::Node2),
            Probe::Backend1ToNode1 => Place::BackendPod(NodeId::Node1),
        }
    }

    /// The source address the connection leaves with, before any NAT.
    pub(crate) fn source(self) -> Ipv4Addr {
        match self {
            Probe::ExternalToNode1 | Probe::ExternalToNode2 => topology::EXTERNAL_CLIENT,
            Probe::SubnetClientToNode1 => topology::SUBNET_CLIENT,
            Probe::Node1ToLocalhost => Ipv4Addr::LOCALHOST,
            Probe::Node1ToOwnIp | Probe::Node1ToNode2 => NodeId::Node1.ip(),
            Probe::PodToNode1 => NodeId::Node1.client_pod(),
            Probe::Pod2ToNode2 => NodeId::Node2.client_pod(),
            Probe::Backend1ToNode1 => *NodeId::Node1.backend().ip(),
        }
    }

    /// The node whose nodePort rules decide the fate of the connection.
    pub(crate) fn target_node(self) -> NodeId {
        match self {
            Probe::ExternalToNode2 | Probe::Node1ToNode2 | Probe::Pod2ToNode2 => NodeId::Node2,
            _ => NodeId::Node1,
        }
    }

    /// The destination address (the port is the scenario's nodePort).
    pub(crate) fn destination(self) -> Ipv4Addr {
        match self {
            Probe::Node1ToLocalhost => Ipv4Addr::LOCALHOST,
            other => other.target_node().ip(),
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
    pub(crate) source: Ipv4Addr,
    pub(crate) destination: SocketAddrV4,
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
}

impl Observation {
    /// The outcome when every attempt agreed.
    pub(crate) fn outcome(&self) -> Option<&Outcome> {
        match self.outcomes.keys().collect::<Vec<_>>().as_slice() {
            [single] => Some(single),
            _ => None,
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
        format!(
            "{:?} {} → {}: {} | {} | SNAT/MASQUERADE packets {}",
            self.probe,
            self.source,
            self.destination,
            outcomes.join(" "),
            if backends.is_empty() {
                "no backend answered".to_owned()
            } else {
                backends.join("; ")
            },
            snat.join(" ")
        )
    }
}

/// Runs `attempts` parallel connections for the probe and gathers what they saw, with the
/// nodes' nat source-NAT counters zeroed before and read after.
pub(crate) fn run(
    topology: &Topology,
    scenario: &Scenario,
    probe: Probe,
    attempts: usize,
) -> Result<Observation, String> {
    let destination = SocketAddrV4::new(probe.destination(), scenario.node_port);
    let namespace = topology.namespace(probe.from());
    for node in NodeId::ALL {
        scenarios::zero_nat_counters(&topology.namespace(Place::Node(node)), scenario.backend)?;
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
        source: probe.source(),
        destination,
        attempts,
        outcomes: BTreeMap::new(),
        backends: BTreeMap::new(),
        source_nat_packets: BTreeMap::new(),
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
