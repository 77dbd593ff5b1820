//! The scenario matrix and the kube-proxy-shaped iptables-save text each node gets per scenario.

use std::net::Ipv4Addr;

use crate::netns;
use crate::topology::{self, NodeId};

/// The service every scenario exposes (`srcip/web:http`).
const NAMESPACE: &str = "srcip";
const NAME: &str = "web";
const PORT_NAME: &str = "http";
pub(crate) const CLUSTER_IP: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 10);
/// The service port of the scenarios that probe nodePorts only.
const SERVICE_PORT: u16 = 80;
/// The scenarios that probe every destination add two services: `srcip/web-ranged:http`,
/// like `srcip/web` (same policy, same endpoints) but reachable through its LoadBalancer IP
/// only from [`topology::SOURCE_RANGE`], and `srcip/empty:http`, a ClusterIP service with no
/// endpoints.
const RANGED_NAME: &str = "web-ranged";
const RANGED_CLUSTER_IP: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 11);
const EMPTY_NAME: &str = "empty";
pub(crate) const EMPTY_CLUSTER_IP: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 12);
/// The first scenario's nodePort. Each scenario gets its own port so that no conntrack
/// entry (and NAT binding) left by an earlier scenario can match a new connection.
const FIRST_NODE_PORT: u16 = 30100;
/// Added to a scenario's nodePort to get `srcip/web-ranged`'s nodePort (never probed:
/// nodePorts bypass source ranges, reference §5.5).
const RANGED_NODE_PORT_OFFSET: u16 = 200;
/// Added to a scenario's nodePort to get its healthCheckNodePort.
const HEALTH_CHECK_OFFSET: u16 = 1000;
/// The first service port of the scenarios that probe every destination: the LoadBalancer
/// IPs, the externalIP and the cluster IPs are the same in every scenario, so each scenario
/// gets its own port, for the same conntrack reason as the nodePorts.
const FIRST_SERVICE_PORT: u16 = 8100;

/// Which kube-proxy generation wrote the rules (reference §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub(crate) enum Era {
    /// v1.21: KUBE-XLB chains, masquerade rules in KUBE-NODEPORTS/KUBE-SERVICES, kubelet's
    /// KUBE-MARK-DROP for "no local endpoints" (reference §5.1, Dump A).
    V1_21Xlb,
    /// v1.28: KUBE-EXT/KUBE-SVL chains, filter DROP for "no local endpoints" (§5.4, Dump D).
    V1_28Ext,
}

/// `externalTrafficPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub(crate) enum Policy {
    Cluster,
    Local,
}

/// Where the service's ready endpoints run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub(crate) enum Placement {
    Node1Only,
    BothNodes,
    Nowhere,
}

impl Placement {
    fn endpoint_nodes(self) -> &'static [NodeId] {
        match self {
            Placement::Node1Only => &[NodeId::Node1],
            Placement::BothNodes => &NodeId::ALL,
            Placement::Nowhere => &[],
        }
    }
}

/// Which iptables back-end loads (and later saves) the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub(crate) enum IptablesBackend {
    Legacy,
    Nft,
}

impl IptablesBackend {
    pub(crate) const ALL: [IptablesBackend; 2] = [IptablesBackend::Legacy, IptablesBackend::Nft];

    pub(crate) fn restore_program(self) -> &'static str {
        match self {
            IptablesBackend::Legacy => "iptables-legacy-restore",
            IptablesBackend::Nft => "iptables-nft-restore",
        }
    }

    /// The program that lists and zeroes rules (`-Z`).
    pub(crate) fn program(self) -> &'static str {
        match self {
            IptablesBackend::Legacy => "iptables-legacy",
            IptablesBackend::Nft => "iptables-nft",
        }
    }

    pub(crate) fn save_program(self) -> &'static str {
        match self {
            IptablesBackend::Legacy => "iptables-legacy-save",
            IptablesBackend::Nft => "iptables-nft-save",
        }
    }
}

/// One row of the matrix: what kube-proxy would have written on every node.
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct Scenario {
    pub(crate) name: String,
    pub(crate) era: Era,
    pub(crate) policy: Policy,
    pub(crate) placement: Placement,
    pub(crate) backend: IptablesBackend,
    pub(crate) node_port: u16,
    /// The port of the services on their cluster IPs, LoadBalancer IPs and externalIP.
    pub(crate) service_port: u16,
    /// Whether the node also has a LoadBalancer IP and an externalIP on the service, the
    /// source-ranged and the endpoint-less services, and the probes of all of them run.
    pub(crate) every_destination: bool,
    /// Rules someone else added to nat POSTROUTING after kube-proxy's jump (save form).
    pub(crate) extra_nat_postrouting: Vec<String>,
}

impl Scenario {
    /// The healthCheckNodePort of `srcip/web` (policy Local only).
    pub(crate) fn health_check_node_port(&self) -> Option<u16> {
        (self.policy == Policy::Local).then_some(self.node_port + HEALTH_CHECK_OFFSET)
    }

    /// Whether the probes to addresses no rule names ([`topology::UNNAMED_ADDRESS`], a node
    /// address at [`Scenario::unused_port`]) run here: in one scenario per era, the
    /// Local/node1-only one with every destination.
    ///
    /// One per era is enough because what meets such a packet does not depend on the policy
    /// or the placement. Every rule that could is one that names no address and no port: the
    /// hooks and kube-proxy's and kubelet's global chains (nat KUBE-SERVICES' final `addrtype
    /// --dst-type LOCAL -j KUBE-NODEPORTS`, KUBE-POSTROUTING, KUBE-MARK-*; filter
    /// KUBE-FORWARD, KUBE-FIREWALL; reference §3, §4). Those are the same text in every
    /// scenario of an era: the rules that differ are the per-service chains, reached only
    /// through a rule that names a service's address or port
    /// (`the_rules_no_address_names_are_the_same_whatever_the_policy_and_placement`).
    pub(crate) fn probes_unnamed_destinations(&self) -> bool {
        self.every_destination
            && self.policy == Policy::Local
            && self.placement == Placement::Node1Only
    }

    /// A port no rule names and nothing listens on: the one below the service port (the
    /// nodePorts and health-check ports are above 30000), unique per scenario like the
    /// service port, for the same conntrack reason.
    pub(crate) fn unused_port(&self) -> u16 {
        self.service_port - 1
    }
}

/// Both eras × both policies × three placements (v1.21 on the legacy back-end, v1.28 on
/// nf_tables, as in reference Dumps A and D), with every destination; the Local/node1-only
/// pair again through the other back-end, and one scenario with an extra non-kube-proxy
/// MASQUERADE rule, with nodePorts only (their captures are those of the nodePort suite).
pub(crate) fn matrix() -> Vec<Scenario> {
    let mut scenarios = Vec::new();
    for (era, backend) in [
        (Era::V1_21Xlb, IptablesBackend::Legacy),
        (Era::V1_28Ext, IptablesBackend::Nft),
    ] {
        for policy in [Policy::Cluster, Policy::Local] {
            for placement in [
                Placement::Node1Only,
                Placement::BothNodes,
                Placement::Nowhere,
            ] {
                scenarios.push(Scenario {
                    name: format!("{era:?}-{policy:?}-{placement:?}").to_lowercase(),
                    era,
                    policy,
                    placement,
                    backend,
                    node_port: 0,
                    service_port: SERVICE_PORT,
                    every_destination: true,
                    extra_nat_postrouting: Vec::new(),
                });
            }
        }
    }
    // The same rules through the other back-end: v1.21 on nf_tables, v1.28 on legacy.
    for (era, backend, suffix) in [
        (Era::V1_21Xlb, IptablesBackend::Nft, "nft"),
        (Era::V1_28Ext, IptablesBackend::Legacy, "legacy"),
    ] {
        scenarios.push(Scenario {
            name: format!("{era:?}-local-node1only-{suffix}").to_lowercase(),
            era,
            policy: Policy::Local,
            placement: Placement::Node1Only,
            backend,
            node_port: 0,
            service_port: SERVICE_PORT,
            every_destination: false,
            extra_nat_postrouting: Vec::new(),
        });
    }
    scenarios.push(Scenario {
        name: "v1_28ext-local-node1only-extra-masquerade".to_owned(),
        era: Era::V1_28Ext,
        policy: Policy::Local,
        placement: Placement::Node1Only,
        backend: IptablesBackend::Legacy,
        node_port: 0,
        service_port: SERVICE_PORT,
        every_destination: false,
        extra_nat_postrouting: vec![
            // Address-based, like a CNI's "traffic entering the pod network from outside" rule:
            // decidable offline (an `-o IFACE` test would be honestly undetermined).
            "-A POSTROUTING ! -s 198.18.0.0/16 -d 198.18.0.0/16 -m comment --comment \"site rule: masquerade traffic entering the pod network\" -j MASQUERADE".to_owned(),
        ],
    });
    for (index, scenario) in scenarios.iter_mut().enumerate() {
        let index = u16::try_from(index).expect("a small matrix");
        scenario.node_port = FIRST_NODE_PORT + index;
        if scenario.every_destination {
            scenario.service_port = FIRST_SERVICE_PORT + index;
        }
    }
    scenarios
}

/// The iptables-save text `node` gets in `scenario`, written by the project's generator.
pub(crate) fn node_rules(scenario: &Scenario, node: NodeId) -> String {
    use srcip_rules::generate::{self, Backend, KubeVersion, NodeSpec, Protocol, Service};
    let mut endpoints: Vec<generate::Endpoint> = scenario
        .placement
        .endpoint_nodes()
        .iter()
        .map(|&endpoint_node| generate::Endpoint {
            ip: *endpoint_node.backend().ip(),
            port: topology::BACKEND_PORT,
            local: endpoint_node == node,
        })
        .collect();
    // kube-proxy sorts endpoints by their "ip:port" string.
    endpoints.sort_by_key(|e| format!("{}:{}", e.ip, e.port));
    let service = |name: &str, cluster_ip: Ipv4Addr| Service {
        namespace: NAMESPACE.to_owned(),
        name: name.to_owned(),
        port_name: Some(PORT_NAME.to_owned()),
        protocol: Protocol::Tcp,
        cluster_ip,
        port: scenario.service_port,
        node_port: None,
        external_policy: generate::TrafficPolicy::Cluster,
        session_affinity: false,
        health_check_node_port: None,
        load_balancer_ips: Vec::new(),
        load_balancer_source_ranges: Vec::new(),
        external_ips: Vec::new(),
        endpoints: endpoints.clone(),
    };
    let policy = match scenario.policy {
        Policy::Cluster => generate::TrafficPolicy::Cluster,
        Policy::Local => generate::TrafficPolicy::Local,
    };
    let mut web = service(NAME, CLUSTER_IP);
    web.node_port = Some(scenario.node_port);
    web.external_policy = policy;
    web.health_check_node_port = scenario.health_check_node_port();
    let mut services = vec![web];
    if scenario.every_destination {
        services[0].load_balancer_ips = vec![topology::LOAD_BALANCER_IP];
        services[0].external_ips = vec![topology::EXTERNAL_IP];
        let mut ranged = service(RANGED_NAME, RANGED_CLUSTER_IP);
        let ranged_node_port = scenario.node_port + RANGED_NODE_PORT_OFFSET;
        ranged.node_port = Some(ranged_node_port);
        ranged.external_policy = policy;
        ranged.health_check_node_port =
            (scenario.policy == Policy::Local).then_some(ranged_node_port + HEALTH_CHECK_OFFSET);
        ranged.load_balancer_ips = vec![topology::RANGED_LOAD_BALANCER_IP];
        ranged.load_balancer_source_ranges =
            vec![topology::SOURCE_RANGE.parse().expect("a valid CIDR")];
        let mut empty = service(EMPTY_NAME, EMPTY_CLUSTER_IP);
        empty.endpoints = Vec::new();
        services.extend([ranged, empty]);
    }
    let spec = NodeSpec {
        version: match scenario.era {
            Era::V1_21Xlb => KubeVersion::V1_21,
            Era::V1_28Ext => KubeVersion::V1_28,
        },
        backend: match scenario.backend {
            IptablesBackend::Legacy => Backend::Legacy,
            IptablesBackend::Nft => Backend::Nft,
        },
        iptables_version: "1.8.9".to_owned(),
        cluster_cidr: Some(topology::CLUSTER_CIDR.parse().expect("a valid CIDR")),
        node_ip: Some(node.ip()),
        services,
        counters: false,
        large_cluster: false,
        extra_nat_postrouting: scenario
            .extra_nat_postrouting
            .iter()
            .map(|rule| rule.trim_start_matches("-A POSTROUTING ").to_owned())
            .collect(),
    };
    generate::dump_to_string(&spec)
}

/// Replaces the node's rules: clears both back-ends, loads the scenario's text, and returns
/// what `iptables-save` of the same back-end prints afterwards (the tool's input).
pub(crate) fn load(namespace: &str, scenario: &Scenario, rules: &str) -> Result<String, String> {
    clear(namespace)?;
    netns::exec_in(namespace, scenario.backend.restore_program(), &[], rules)?;
    netns::exec_in(namespace, scenario.backend.save_program(), &[], "")
}

/// Empties filter, nat and mangle in both back-ends (restore without --noflush replaces
/// each listed table and deletes its user chains).
pub(crate) fn clear(namespace: &str) -> Result<(), String> {
    let empty = "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n\
                 *nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n\
                 *filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
    for backend in IptablesBackend::ALL {
        netns::exec_in(namespace, backend.restore_program(), &[], empty)?;
    }
    Ok(())
}

/// Zeroes the packet and byte counters of the node's nat table.
pub(crate) fn zero_nat_counters(namespace: &str, backend: IptablesBackend) -> Result<(), String> {
    netns::exec_in(namespace, backend.program(), &["-t", "nat", "-Z"], "").map(|_| ())
}

/// How many packets the node's nat MASQUERADE and SNAT rules have counted since the last
/// [`zero_nat_counters`]. Only the first packet of a connection traverses the nat table,
/// so this is the number of new connections the node source-NATed.
pub(crate) fn source_nat_packets(namespace: &str, backend: IptablesBackend) -> Result<u64, String> {
    let saved = netns::exec_in(namespace, backend.save_program(), &["-c", "-t", "nat"], "")?;
    source_nat_packets_in(&saved)
}

fn source_nat_packets_in(saved: &str) -> Result<u64, String> {
    let mut total = 0;
    for line in saved.lines() {
        let Some(rest) = line.strip_prefix('[') else {
            continue;
        };
        if !(line.ends_with(" -j MASQUERADE")
            || line.contains(" -j MASQUERADE ")
            || line.contains(" -j SNAT "))
        {
            continue;
        }
        let packets = rest
            .split_once(':')
            .and_then(|(packets, _)| packets.parse::<u64>().ok())
            .ok_or_else(|| format!("no packet counter in {line:?}"))?;
        total += packets;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::{matrix, node_rules, source_nat_packets_in};
    use crate::topology::NodeId;

    #[test]
    fn only_the_core_scenarios_have_every_destination_on_ports_of_their_own() {
        let scenarios = matrix();
        let core: Vec<_> = scenarios.iter().filter(|s| s.every_destination).collect();
        assert_eq!(core.len(), 12);
        for scenario in &scenarios {
            let rules = node_rules(scenario, NodeId::Node2);
            // An ACCEPT/DNAT path or a REJECT, depending on the endpoints.
            let lb = "-d 198.51.100.80/32 -p tcp -m comment --comment \"srcip/web:http ";
            let empty = format!(
                "-d 198.19.0.12/32 -p tcp -m comment --comment \"srcip/empty:http has no endpoints\" -m tcp --dport {} -j REJECT",
                scenario.service_port
            );
            assert_eq!(
                rules.contains(lb),
                scenario.every_destination,
                "{}",
                scenario.name
            );
            assert_eq!(
                rules.contains(&empty),
                scenario.every_destination,
                "{}",
                scenario.name
            );
            assert_eq!(
                rules.contains("203.0.113.0/25"),
                scenario.every_destination && scenario.placement != super::Placement::Nowhere,
                "{}",
                scenario.name
            );
        }
        let mut ports: Vec<u16> = core.iter().map(|s| s.service_port).collect();
        ports.dedup();
        assert_eq!(
            ports.len(),
            core.len(),
            "every core scenario has its own service port"
        );
        assert!(
            scenarios
                .iter()
                .filter(|s| !s.every_destination)
                .all(|s| s.service_port == 80)
        );
    }

    /// The rules of `scenario` on `node` that name no service: without a service comment
    /// (`srcip/…`) and outside the per-service chains (their names end in a hash).
    fn global_rules(scenario: &super::Scenario, node: NodeId) -> Vec<String> {
        node_rules(scenario, node)
            .lines()
            .filter(|line| line.starts_with("-A ") && !line.contains("srcip/"))
            .filter(|line| {
                let chain = line.split_whitespace().nth(1).unwrap_or_default();
                ![
                    "KUBE-SVC-",
                    "KUBE-SVL-",
                    "KUBE-EXT-",
                    "KUBE-XLB-",
                    "KUBE-FW-",
                    "KUBE-SEP-",
                ]
                .iter()
                .any(|prefix| chain.starts_with(prefix))
            })
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn the_rules_no_address_names_are_the_same_whatever_the_policy_and_placement() {
        let scenarios = matrix();
        let core: Vec<_> = scenarios.iter().filter(|s| s.every_destination).collect();
        for era in [super::Era::V1_21Xlb, super::Era::V1_28Ext] {
            let of_era: Vec<_> = core.iter().filter(|s| s.era == era).collect();
            let probed: Vec<_> = of_era
                .iter()
                .filter(|s| s.probes_unnamed_destinations())
                .collect();
            assert_eq!(probed.len(), 1, "one scenario of {era:?} probes them");
            let reference = global_rules(probed[0], NodeId::Node1);
            // Some rules to compare: the hooks, KUBE-FORWARD, KUBE-POSTROUTING.
            assert!(reference.len() > 10, "{reference:?}");
            for scenario in &of_era {
                for node in NodeId::ALL {
                    assert_eq!(
                        global_rules(scenario, node),
                        reference,
                        "{} {node:?}",
                        scenario.name
                    );
                }
            }
        }
        for scenario in &scenarios {
            let rules = node_rules(scenario, NodeId::Node1);
            assert!(!rules.contains(&crate::topology::UNNAMED_ADDRESS.to_string()));
            assert!(
                !rules.contains(&format!("--dport {} ", scenario.unused_port())),
                "{}",
                scenario.name
            );
        }
    }

    #[test]
    fn source_nat_packets_add_up_masquerade_and_snat_counters() {
        let saved = "*nat\n:POSTROUTING ACCEPT [9:540]\n\
                     [3:180] -A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0\n\
                     [2:120] -A KUBE-POSTROUTING -m comment --comment \"x\" -j MASQUERADE --random-fully\n\
                     [1:60] -A POSTROUTING -d 198.18.0.0/16 -j MASQUERADE\n\
                     [4:240] -A POSTROUTING -s 192.0.2.50/32 -j SNAT --to-source 192.0.2.11\n\
                     COMMIT\n";
        assert_eq!(source_nat_packets_in(saved), Ok(7));
    }
}
