//! Writes realistic kube-proxy `iptables-save` dumps (save form) for tests, benchmarks and
//! kernel checks.
//!
//! A [`NodeSpec`] describes one node: the kube-proxy version, the iptables back-end, the
//! cluster CIDR and the services with their endpoints and, optionally, their LoadBalancer
//! IPs, `loadBalancerSourceRanges` and externalIPs (each era's `KUBE-FW-…`, `KUBE-EXT-…`,
//! `KUBE-PROXY-FIREWALL` and filter REJECT/DROP shapes). [`write_dump`] prints what
//! `iptables-save` would print on that node: the `mangle`, `nat` and `filter` tables with
//! kube-proxy's and kubelet's chains, every rule in the exact text iptables prints back
//! (`-p tcp` before `-m comment`, quoted comments, `/32` host addresses, `--set-xmark`,
//! kernel-rounded probabilities), chains in iptables-save order. Every line is accepted by
//! `iptables-restore` (legacy and nf_tables).
//!
//! [`synthetic`] builds a deterministic large node for benchmarks; [`scenarios`] lists the
//! small named nodes the explain tests use.

mod hash;
mod probability;
mod rules;
mod save;
mod scenarios;
mod synthetic;

use std::io;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

pub use scenarios::scenarios;
pub use synthetic::synthetic;

/// The kube-proxy release whose rule shapes are written (one per era of the reference's §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KubeVersion {
    /// Era E1 (1.10–1.14). Cluster nodePorts: `KUBE-NODEPORTS` marks for masquerade and
    /// jumps to `KUBE-SVC-…`. Local nodePorts: `-s 127.0.0.0/8 … -j KUBE-MARK-MASQ`, then
    /// `KUBE-XLB-…` with only the "Redirect pods…" rule and "Balancing rule N" jumps (no
    /// LOCAL-source rules), or `KUBE-MARK-DROP` without local endpoints. Cluster-IP
    /// masquerade rules in `KUBE-SERVICES`; probabilities written with 5 decimals; single-rule
    /// `KUBE-POSTROUTING` without `--random-fully`; unnamed ports print as `ns/svc:`; filter
    /// `INPUT` still jumps to `KUBE-SERVICES`; no canary chains; kubelet's `KUBE-FIREWALL`
    /// has only the drop-mark rule (the localnet rule came with 1.16.11).
    V1_14,
    /// Era E2 (1.15–1.21). As E1, plus the XLB "masquerade LOCAL traffic"/"route LOCAL
    /// traffic" rules, the `RETURN`/`--set-xmark 0x4000/0x0`/`MASQUERADE --random-fully`
    /// `KUBE-POSTROUTING` triplet, 10-decimal probabilities, canary chains, the filter
    /// `KUBE-NODEPORTS` health-check chain and kubelet's localnet rule.
    V1_21,
    /// Era E3 (1.22–1.23). Cluster-IP masquerade rules and the Cluster nodePort's
    /// `--dport <nodePort> -j KUBE-MARK-MASQ` move into `KUBE-SVC-…`; XLB endpoint jumps carry
    /// the plain `ns/svc:port` comment; a single "kubernetes forwarding conntrack rule".
    V1_23,
    /// Era E4 (1.24). `KUBE-NODEPORTS` jumps to `KUBE-EXT-…`, which masquerades (Cluster) or
    /// short-circuits pods and LOCAL sources and jumps to `KUBE-SVL-…` (Local); `KUBE-SVL-…`
    /// holds `KUBE-MARK-DROP` when the node has no local endpoint. SVC→SEP jumps are
    /// commented `ns/svc:port -> IP:port`.
    V1_24,
    /// Era E6 (1.27–1.30, written as 1.28). As E4, but no local endpoint means no `KUBE-SVL`
    /// chain and a filter `KUBE-EXTERNAL-SERVICES` "has no local endpoints" `DROP`; no
    /// `KUBE-MARK-DROP` anywhere; `KUBE-PROXY-FIREWALL` hooks; `KUBE-IPTABLES-HINT`.
    V1_28,
}

impl KubeVersion {
    /// The version as people write it, e.g. `"1.21"`.
    pub fn as_str(self) -> &'static str {
        match self {
            KubeVersion::V1_14 => "1.14",
            KubeVersion::V1_21 => "1.21",
            KubeVersion::V1_23 => "1.23",
            KubeVersion::V1_24 => "1.24",
            KubeVersion::V1_28 => "1.28",
        }
    }

    /// Every supported version, oldest first.
    pub const ALL: [KubeVersion; 5] = [
        KubeVersion::V1_14,
        KubeVersion::V1_21,
        KubeVersion::V1_23,
        KubeVersion::V1_24,
        KubeVersion::V1_28,
    ];
}

/// The iptables back-end; only the dump header and the table order differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// `iptables-legacy`: header without a back-end tag, tables `mangle`, `nat`, `filter`.
    Legacy,
    /// `iptables-nft`: header `… (nf_tables) on …`, tables `mangle`, `filter`, `nat`.
    Nft,
}

/// A service's `externalTrafficPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrafficPolicy {
    /// Any endpoint in the cluster; nodePort traffic is masqueraded.
    Cluster,
    /// Only endpoints on this node; the client source IP is preserved.
    Local,
}

/// A service port's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    /// Lower-case name as iptables and the chain hashes use it.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// One ready endpoint of a service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Pod IP.
    pub ip: Ipv4Addr,
    /// Target port.
    pub port: u16,
    /// Whether the pod runs on this node.
    pub local: bool,
}

/// One port of a service (`ClusterIP`, `NodePort` or `LoadBalancer`); kube-proxy handles each
/// port of a multi-port service separately.
///
/// The addresses beyond the cluster IP and the nodePort (LoadBalancer ingress IPs, source
/// ranges, externalIPs) are opt-in: with all of them empty the rules are exactly those of a
/// plain `NodePort` service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Namespace.
    pub namespace: String,
    /// Service name.
    pub name: String,
    /// The port's name; `None` for a service's single unnamed port.
    pub port_name: Option<String>,
    /// Protocol.
    pub protocol: Protocol,
    /// Cluster IP.
    pub cluster_ip: Ipv4Addr,
    /// Service port on the cluster IP.
    pub port: u16,
    /// nodePort on every node; `None` for a `ClusterIP` service (no `KUBE-NODEPORTS` rule).
    pub node_port: Option<u16>,
    /// `externalTrafficPolicy`.
    pub external_policy: TrafficPolicy,
    /// `sessionAffinity: ClientIP` (10800 s timeout).
    pub session_affinity: bool,
    /// `healthCheckNodePort` (LoadBalancer services with policy Local).
    pub health_check_node_port: Option<u16>,
    /// `status.loadBalancer.ingress[].ip`: each gets a `-d <IP>/32 … "<svc> loadbalancer IP"`
    /// rule in `KUBE-SERVICES` (reference §5.5).
    pub load_balancer_ips: Vec<Ipv4Addr>,
    /// `loadBalancerSourceRanges`, in the service's order; empty allows every source. Host
    /// bits are printed zeroed, as iptables-save does (`1.2.3.4/28` → `1.2.3.0/28`).
    pub load_balancer_source_ranges: Vec<Ipv4Net>,
    /// `externalIPs`: each gets a `"<svc> external IP"` rule (reference §5.6).
    pub external_ips: Vec<Ipv4Addr>,
    /// Ready endpoints, in the order kube-proxy lists them.
    pub endpoints: Vec<Endpoint>,
}

impl Service {
    /// kube-proxy's service port name as written in comments and hashed into chain names:
    /// `ns/svc:port`, or for an unnamed port `ns/svc` (`ns/svc:` before 1.19).
    pub fn port_name_for(&self, version: KubeVersion) -> String {
        match (&self.port_name, version) {
            (Some(port), _) => format!("{}/{}:{port}", self.namespace, self.name),
            (None, KubeVersion::V1_14) => format!("{}/{}:", self.namespace, self.name),
            (None, _) => format!("{}/{}", self.namespace, self.name),
        }
    }
}

/// Everything that decides one node's dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    /// kube-proxy (and matching kubelet) version.
    pub version: KubeVersion,
    /// iptables back-end.
    pub backend: Backend,
    /// iptables version printed in the header, e.g. `"1.8.7"`.
    pub iptables_version: String,
    /// `--cluster-cidr` (local-traffic detector); `None` drops the pod rules.
    pub cluster_cidr: Option<Ipv4Net>,
    /// kube-proxy's node IP, if known: a `loadBalancerSourceRanges` entry containing it makes
    /// kube-proxy also accept the LB IP itself as a source (`-s <LB IP>/32`, reference §5.5).
    /// `None` never writes that rule.
    pub node_ip: Option<Ipv4Addr>,
    /// Service ports, in kube-proxy's iteration order.
    pub services: Vec<Service>,
    /// Print rule counters (`iptables-save -c`).
    pub counters: bool,
    /// kube-proxy's large-cluster mode (more than 1000 endpoints): no comments on
    /// `KUBE-SEP-…` rules and on jumps to them. Only 1.23 and later have this mode; older
    /// versions ignore the flag.
    pub large_cluster: bool,
    /// Raw rule arguments appended to nat `POSTROUTING` after kube-proxy's jump, e.g. a
    /// CNI's `! -s 198.18.0.0/16 -d 198.18.0.0/16 -j MASQUERADE`, in save form.
    pub extra_nat_postrouting: Vec<String>,
}

/// Writes `node`'s dump exactly as `iptables-save` (or `iptables-save -c`) prints it.
pub fn write_dump(node: &NodeSpec, out: &mut dyn io::Write) -> io::Result<()> {
    save::write_dump(node, out)
}

/// `node`'s dump as a string (convenience for tests and small fixtures).
pub fn dump_to_string(node: &NodeSpec) -> String {
    let mut bytes = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = save::write_dump(node, &mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests;
