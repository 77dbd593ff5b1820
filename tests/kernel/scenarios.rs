//! The scenario matrix and the kube-proxy-shaped iptables-save text each node gets per scenario.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use data_encoding::BASE32;
use sha2::{Digest, Sha256};

use crate::netns;
use crate::topology::{self, NodeId};

/// The service every scenario exposes.
const NAMESPACE: &str = "srcip";
const NAME: &str = "web";
const PORT_NAME: &str = "http";
const CLUSTER_IP: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 10);
const SERVICE_PORT: u16 = 80;
/// The first scenario's nodePort. Each scenario gets its own port so that no conntrack
/// entry (and NAT binding) left by an earlier scenario can match a new connection.
const FIRST_NODE_PORT: u16 = 30100;
/// Added to a scenario's nodePort to get its healthCheckNodePort.
const HEALTH_CHECK_OFFSET: u16 = 1000;

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
    /// Rules someone else added to nat POSTROUTING after kube-proxy's jump (save form).
    pub(crate) extra_nat_postrouting: Vec<String>,
}

/// Both eras × both policies × three placements, plus one extra-MASQUERADE scenario.
/// v1.21 runs on the legacy back-end and v1.28 on nf_tables, as in reference Dumps A and D.
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
                    extra_nat_postrouting: Vec::new(),
                });
            }
        }
    }
    scenarios.push(Scenario {
        name: "v1_28ext-local-node1only-extra-masquerade".to_owned(),
        era: Era::V1_28Ext,
        policy: Policy::Local,
        placement: Placement::Node1Only,
        backend: IptablesBackend::Legacy,
        node_port: 0,
        extra_nat_postrouting: vec![
            // Address-based, like a CNI's "traffic entering the pod network from outside" rule:
            // decidable offline (an `-o IFACE` test would be honestly undetermined).
            "-A POSTROUTING ! -s 198.18.0.0/16 -d 198.18.0.0/16 -m comment --comment \"site rule: masquerade traffic entering the pod network\" -j MASQUERADE".to_owned(),
        ],
    });
    for (index, scenario) in scenarios.iter_mut().enumerate() {
        scenario.node_port = FIRST_NODE_PORT + u16::try_from(index).expect("a small matrix");
    }
    scenarios
}

/// The iptables-save text `node` gets in `scenario`.
///
/// This is the one place to swap in `srcip_rules::generate::write_dump` once it lands.
pub(crate) fn node_rules(scenario: &Scenario, node: NodeId) -> String {
    let service = ServiceOnNode::new(scenario, node);
    match scenario.era {
        Era::V1_21Xlb => v1_21_dump(&service, scenario),
        Era::V1_28Ext => v1_28_dump(&service, scenario),
    }
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

/// One endpoint as seen from the node whose rules are being written.
struct Endpoint {
    ip: Ipv4Addr,
    is_local: bool,
    sep_chain: String,
}

impl Endpoint {
    fn target(&self) -> String {
        format!("{}:{}", self.ip, topology::BACKEND_PORT)
    }
}

/// The service's facts from one node's point of view, with kube-proxy's chain names.
struct ServiceOnNode {
    port_name: String,
    hash: String,
    endpoints: Vec<Endpoint>,
    policy: Policy,
    node_port: u16,
}

impl ServiceOnNode {
    fn new(scenario: &Scenario, node: NodeId) -> Self {
        let port_name = format!("{NAMESPACE}/{NAME}:{PORT_NAME}");
        let mut endpoints: Vec<Endpoint> = scenario
            .placement
            .endpoint_nodes()
            .iter()
            .map(|&endpoint_node| {
                let ip = *endpoint_node.backend().ip();
                let target = format!("{ip}:{}", topology::BACKEND_PORT);
                Endpoint {
                    ip,
                    is_local: endpoint_node == node,
                    sep_chain: format!(
                        "KUBE-SEP-{}",
                        chain_hash(&format!("{port_name}tcp{target}"))
                    ),
                }
            })
            .collect();
        // kube-proxy sorts endpoints by their "ip:port" string.
        endpoints.sort_by_key(Endpoint::target);
        Self {
            hash: chain_hash(&format!("{port_name}tcp")),
            port_name,
            endpoints,
            policy: scenario.policy,
            node_port: scenario.node_port,
        }
    }

    fn svc_chain(&self) -> String {
        format!("KUBE-SVC-{}", self.hash)
    }

    fn local_endpoints(&self) -> Vec<&Endpoint> {
        self.endpoints
            .iter()
            .filter(|endpoint| endpoint.is_local)
            .collect()
    }

    fn has_endpoints(&self) -> bool {
        !self.endpoints.is_empty()
    }
}

/// kube-proxy's chain-name hash: the first 16 base32 characters of SHA-256 of the input.
fn chain_hash(input: &str) -> String {
    let digest = Sha256::digest(input.as_bytes());
    BASE32.encode(&digest)[..16].to_owned()
}

/// The probability kube-proxy ≥1.17 writes for the i-th of n endpoints, as iptables-save
/// prints it back (see reference §5.1 for the fixed-point rounding).
fn probability(remaining: usize) -> &'static str {
    match remaining {
        2 => "0.50000000000",
        _ => unreachable!("this harness never has more than two endpoints"),
    }
}

/// Writes `-A <chain> … -j KUBE-SEP-…` rules spreading over `endpoints` at random.
fn balance(
    rules: &mut String,
    chain: &str,
    endpoints: &[&Endpoint],
    comment: impl Fn(usize, &Endpoint) -> String,
) {
    for (index, endpoint) in endpoints.iter().enumerate() {
        let remaining = endpoints.len() - index;
        let statistic = if remaining > 1 {
            format!(
                " -m statistic --mode random --probability {}",
                probability(remaining)
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            rules,
            "-A {chain} -m comment --comment \"{}\"{statistic} -j {}",
            comment(index, endpoint),
            endpoint.sep_chain
        );
    }
}

fn sep_rules(rules: &mut String, service: &ServiceOnNode) {
    let mut endpoints: Vec<&Endpoint> = service.endpoints.iter().collect();
    endpoints.sort_by(|a, b| a.sep_chain.cmp(&b.sep_chain));
    for endpoint in endpoints {
        let _ = writeln!(
            rules,
            "-A {chain} -s {ip}/32 -m comment --comment \"{name}\" -j KUBE-MARK-MASQ\n\
             -A {chain} -p tcp -m comment --comment \"{name}\" -m tcp -j DNAT --to-destination {target}",
            chain = endpoint.sep_chain,
            ip = endpoint.ip,
            name = service.port_name,
            target = endpoint.target(),
        );
    }
}

fn chain_declarations(rules: &mut String, mut chains: Vec<String>) {
    chains.sort();
    for chain in chains {
        let _ = writeln!(rules, ":{chain} - [0:0]");
    }
}

const GENERATED: &str = "# Generated by iptables-save v1.8.9 on Sun Nov 22 11:22:34 2026";
const COMPLETED: &str = "# Completed on Sun Nov 22 11:22:34 2026";
const NAT_HOOKS: &str = "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING\n";
const POSTROUTING_CHAIN: &str = "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n\
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0\n\
-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully\n";
const NODEPORTS_TAIL: &str = "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n";
const LOCALNET_FIREWALL: &str = "-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment \"block incoming localnet connections\" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP\n";

fn extra_postrouting(rules: &mut String, scenario: &Scenario) {
    for rule in &scenario.extra_nat_postrouting {
        let _ = writeln!(rules, "{rule}");
    }
}

/// The REJECT rules for a service without endpoints: (cluster IP in KUBE-SERVICES,
/// nodePort in KUBE-EXTERNAL-SERVICES).
fn reject_rules(service: &ServiceOnNode) -> (String, String) {
    let name = &service.port_name;
    let node_port = service.node_port;
    (
        format!(
            "-A KUBE-SERVICES -d {CLUSTER_IP}/32 -p tcp -m comment --comment \"{name} has no endpoints\" -m tcp --dport {SERVICE_PORT} -j REJECT --reject-with icmp-port-unreachable\n"
        ),
        format!(
            "-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment \"{name} has no endpoints\" -m addrtype --dst-type LOCAL -m tcp --dport {node_port} -j REJECT --reject-with icmp-port-unreachable\n"
        ),
    )
}

fn health_check_rule(service: &ServiceOnNode) -> String {
    match service.policy {
        Policy::Local => format!(
            "-A KUBE-NODEPORTS -p tcp -m comment --comment \"{} health check node port\" -m tcp --dport {} -j ACCEPT\n",
            service.port_name,
            service.node_port + HEALTH_CHECK_OFFSET
        ),
        Policy::Cluster => String::new(),
    }
}

/// A v1.21 node (reference §5.1 and Dump A), legacy back-end.
fn v1_21_dump(service: &ServiceOnNode, scenario: &Scenario) -> String {
    let name = &service.port_name;
    let node_port = service.node_port;
    let svc = service.svc_chain();
    let xlb = format!("KUBE-XLB-{}", service.hash);
    let cidr = topology::CLUSTER_CIDR;
    let mut rules = String::new();

    let _ = writeln!(
        rules,
        "{GENERATED}\n*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:KUBE-KUBELET-CANARY - [0:0]\n:KUBE-PROXY-CANARY - [0:0]\nCOMMIT\n{COMPLETED}"
    );

    let _ = writeln!(
        rules,
        "{GENERATED}\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]"
    );
    let mut chains: Vec<String> = [
        "KUBE-KUBELET-CANARY",
        "KUBE-MARK-DROP",
        "KUBE-MARK-MASQ",
        "KUBE-NODEPORTS",
        "KUBE-POSTROUTING",
        "KUBE-PROXY-CANARY",
        "KUBE-SERVICES",
    ]
    .map(str::to_owned)
    .to_vec();
    if service.has_endpoints() {
        chains.push(svc.clone());
        chains.extend(
            service
                .endpoints
                .iter()
                .map(|endpoint| endpoint.sep_chain.clone()),
        );
        if service.policy == Policy::Local {
            chains.push(xlb.clone());
        }
    }
    chain_declarations(&mut rules, chains);
    rules.push_str(NAT_HOOKS);
    extra_postrouting(&mut rules, scenario);
    rules.push_str("-A KUBE-MARK-DROP -j MARK --set-xmark 0x8000/0x8000\n-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n");
    if service.has_endpoints() {
        let node_port_match =
            format!("-p tcp -m comment --comment \"{name}\" -m tcp --dport {node_port}");
        match service.policy {
            Policy::Cluster => {
                let _ = writeln!(
                    rules,
                    "-A KUBE-NODEPORTS {node_port_match} -j KUBE-MARK-MASQ\n-A KUBE-NODEPORTS {node_port_match} -j {svc}"
                );
            }
            Policy::Local => {
                let _ = writeln!(
                    rules,
                    "-A KUBE-NODEPORTS -s 127.0.0.0/8 {node_port_match} -j KUBE-MARK-MASQ\n-A KUBE-NODEPORTS {node_port_match} -j {xlb}"
                );
            }
        }
    }
    rules.push_str(POSTROUTING_CHAIN);
    if service.has_endpoints() {
        sep_rules(&mut rules, service);
        let cluster_ip_match = format!(
            "-d {CLUSTER_IP}/32 -p tcp -m comment --comment \"{name} cluster IP\" -m tcp --dport {SERVICE_PORT}"
        );
        let _ = writeln!(
            rules,
            "-A KUBE-SERVICES ! -s {cidr} {cluster_ip_match} -j KUBE-MARK-MASQ\n-A KUBE-SERVICES {cluster_ip_match} -j {svc}"
        );
    }
    rules.push_str(NODEPORTS_TAIL);
    if service.has_endpoints() {
        let all: Vec<&Endpoint> = service.endpoints.iter().collect();
        balance(&mut rules, &svc, &all, |_, _| name.clone());
        if service.policy == Policy::Local {
            let _ = writeln!(
                rules,
                "-A {xlb} -s {cidr} -m comment --comment \"Redirect pods trying to reach external loadbalancer VIP to clusterIP\" -j {svc}\n\
                 -A {xlb} -m comment --comment \"masquerade LOCAL traffic for {name} LB IP\" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ\n\
                 -A {xlb} -m comment --comment \"route LOCAL traffic for {name} LB IP to service chain\" -m addrtype --src-type LOCAL -j {svc}"
            );
            let local = service.local_endpoints();
            if local.is_empty() {
                let _ = writeln!(
                    rules,
                    "-A {xlb} -m comment --comment \"{name} has no local endpoints\" -j KUBE-MARK-DROP"
                );
            } else {
                balance(&mut rules, &xlb, &local, |index, _| {
                    format!("Balancing rule {index} for {name}")
                });
            }
        }
    }
    let _ = writeln!(rules, "COMMIT\n{COMPLETED}");

    let _ = writeln!(
        rules,
        "{GENERATED}\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]"
    );
    chain_declarations(
        &mut rules,
        [
            "KUBE-EXTERNAL-SERVICES",
            "KUBE-FIREWALL",
            "KUBE-FORWARD",
            "KUBE-KUBELET-CANARY",
            "KUBE-NODEPORTS",
            "KUBE-PROXY-CANARY",
            "KUBE-SERVICES",
        ]
        .map(str::to_owned)
        .to_vec(),
    );
    rules.push_str(
        "-A INPUT -m comment --comment \"kubernetes health check service ports\" -j KUBE-NODEPORTS\n\
         -A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES\n\
         -A INPUT -j KUBE-FIREWALL\n\
         -A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD\n\
         -A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
         -A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES\n\
         -A OUTPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
         -A OUTPUT -j KUBE-FIREWALL\n",
    );
    let (reject_cluster_ip, reject_node_port) = reject_rules(service);
    if !service.has_endpoints() {
        rules.push_str(&reject_node_port);
    }
    rules.push_str("-A KUBE-FIREWALL -m comment --comment \"kubernetes firewall for dropping marked packets\" -m mark --mark 0x8000/0x8000 -j DROP\n");
    rules.push_str(LOCALNET_FIREWALL);
    rules.push_str(
        "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP\n\
         -A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark 0x4000/0x4000 -j ACCEPT\n\
         -A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack pod source rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
         -A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack pod destination rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n",
    );
    rules.push_str(&health_check_rule(service));
    if !service.has_endpoints() {
        rules.push_str(&reject_cluster_ip);
    }
    let _ = writeln!(rules, "COMMIT\n{COMPLETED}");
    rules
}

/// A v1.28 node (reference §5.4 and Dump D).
fn v1_28_dump(service: &ServiceOnNode, scenario: &Scenario) -> String {
    let name = &service.port_name;
    let node_port = service.node_port;
    let svc = service.svc_chain();
    let ext = format!("KUBE-EXT-{}", service.hash);
    let svl = format!("KUBE-SVL-{}", service.hash);
    let cidr = topology::CLUSTER_CIDR;
    let local = service.local_endpoints();
    let mut rules = String::new();

    let _ = writeln!(
        rules,
        "{GENERATED}\n*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:KUBE-IPTABLES-HINT - [0:0]\n:KUBE-KUBELET-CANARY - [0:0]\n:KUBE-PROXY-CANARY - [0:0]\nCOMMIT\n{COMPLETED}"
    );

    let _ = writeln!(
        rules,
        "{GENERATED}\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]"
    );
    chain_declarations(
        &mut rules,
        [
            "KUBE-EXTERNAL-SERVICES",
            "KUBE-FIREWALL",
            "KUBE-FORWARD",
            "KUBE-KUBELET-CANARY",
            "KUBE-NODEPORTS",
            "KUBE-PROXY-CANARY",
            "KUBE-PROXY-FIREWALL",
            "KUBE-SERVICES",
        ]
        .map(str::to_owned)
        .to_vec(),
    );
    rules.push_str(
        "-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL\n\
         -A INPUT -m comment --comment \"kubernetes health check service ports\" -j KUBE-NODEPORTS\n\
         -A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES\n\
         -A INPUT -j KUBE-FIREWALL\n\
         -A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL\n\
         -A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD\n\
         -A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
         -A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES\n\
         -A OUTPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL\n\
         -A OUTPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
         -A OUTPUT -j KUBE-FIREWALL\n",
    );
    let (reject_cluster_ip, reject_node_port) = reject_rules(service);
    if !service.has_endpoints() {
        rules.push_str(&reject_node_port);
    } else if service.policy == Policy::Local && local.is_empty() {
        let _ = writeln!(
            rules,
            "-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment \"{name} has no local endpoints\" -m addrtype --dst-type LOCAL -m tcp --dport {node_port} -j DROP"
        );
    }
    rules.push_str(LOCALNET_FIREWALL);
    rules.push_str(
        "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP\n\
         -A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark 0x4000/0x4000 -j ACCEPT\n\
         -A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n",
    );
    rules.push_str(&health_check_rule(service));
    if !service.has_endpoints() {
        rules.push_str(&reject_cluster_ip);
    }
    let _ = writeln!(rules, "COMMIT\n{COMPLETED}");

    let _ = writeln!(
        rules,
        "{GENERATED}\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]"
    );
    let mut chains: Vec<String> = [
        "KUBE-KUBELET-CANARY",
        "KUBE-MARK-MASQ",
        "KUBE-NODEPORTS",
        "KUBE-POSTROUTING",
        "KUBE-PROXY-CANARY",
        "KUBE-SERVICES",
    ]
    .map(str::to_owned)
    .to_vec();
    if service.has_endpoints() {
        chains.push(svc.clone());
        chains.push(ext.clone());
        chains.extend(
            service
                .endpoints
                .iter()
                .map(|endpoint| endpoint.sep_chain.clone()),
        );
        if service.policy == Policy::Local && !local.is_empty() {
            chains.push(svl.clone());
        }
    }
    chain_declarations(&mut rules, chains);
    rules.push_str(NAT_HOOKS);
    extra_postrouting(&mut rules, scenario);
    if service.has_endpoints() {
        match service.policy {
            Policy::Cluster => {
                let _ = writeln!(
                    rules,
                    "-A {ext} -m comment --comment \"masquerade traffic for {name} external destinations\" -j KUBE-MARK-MASQ\n-A {ext} -j {svc}"
                );
            }
            Policy::Local => {
                let _ = writeln!(
                    rules,
                    "-A {ext} -s {cidr} -m comment --comment \"pod traffic for {name} external destinations\" -j {svc}\n\
                     -A {ext} -m comment --comment \"masquerade LOCAL traffic for {name} external destinations\" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ\n\
                     -A {ext} -m comment --comment \"route LOCAL traffic for {name} external destinations\" -m addrtype --src-type LOCAL -j {svc}"
                );
                if !local.is_empty() {
                    let _ = writeln!(rules, "-A {ext} -j {svl}");
                }
            }
        }
    }
    rules.push_str("-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n");
    if service.has_endpoints() {
        let _ = writeln!(
            rules,
            "-A KUBE-NODEPORTS -p tcp -m comment --comment \"{name}\" -m tcp --dport {node_port} -j {ext}"
        );
    }
    rules.push_str(POSTROUTING_CHAIN);
    if service.has_endpoints() {
        sep_rules(&mut rules, service);
        let _ = writeln!(
            rules,
            "-A KUBE-SERVICES -d {CLUSTER_IP}/32 -p tcp -m comment --comment \"{name} cluster IP\" -m tcp --dport {SERVICE_PORT} -j {svc}"
        );
    }
    rules.push_str(NODEPORTS_TAIL);
    if service.has_endpoints() {
        let _ = writeln!(
            rules,
            "-A {svc} ! -s {cidr} -d {CLUSTER_IP}/32 -p tcp -m comment --comment \"{name} cluster IP\" -m tcp --dport {SERVICE_PORT} -j KUBE-MARK-MASQ"
        );
        let all: Vec<&Endpoint> = service.endpoints.iter().collect();
        balance(&mut rules, &svc, &all, |_, endpoint| {
            format!("{name} -> {}", endpoint.target())
        });
        if service.policy == Policy::Local && !local.is_empty() {
            balance(&mut rules, &svl, &local, |_, endpoint| {
                format!("{name} -> {}", endpoint.target())
            });
        }
    }
    let _ = writeln!(rules, "COMMIT\n{COMPLETED}");
    rules
}

#[cfg(test)]
mod tests {
    use super::chain_hash;

    #[test]
    fn chain_hash_matches_kube_proxy_for_the_reference_seed_line() {
        // Reference §8: KUBE-XLB-3LS5F4HE6J2O753K for this service port.
        assert_eq!(
            chain_hash("test/nginx-externaltrafficpolicy:80-80-tcptcp"),
            "3LS5F4HE6J2O753K"
        );
    }
}
