//! Writes realistic kube-proxy `iptables-save` dumps (save form) for tests, benchmarks and
//! kernel checks.
//!
//! A [`NodeSpec`] describes one node: the kube-proxy version, the iptables back-end, the
//! cluster CIDR and the services with their endpoints. [`write_dump`] prints what
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

/// One port of a `NodePort` (or `LoadBalancer`) service; kube-proxy handles each port of a
/// multi-port service separately.
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
    /// nodePort on every node.
    pub node_port: u16,
    /// `externalTrafficPolicy`.
    pub external_policy: TrafficPolicy,
    /// `sessionAffinity: ClientIP` (10800 s timeout).
    pub session_affinity: bool,
    /// `healthCheckNodePort` (LoadBalancer services with policy Local).
    pub health_check_node_port: Option<u16>,
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
mod tests {
    use std::net::Ipv4Addr;

    use super::{
        Backend, Endpoint, KubeVersion, NodeSpec, Protocol, Service, TrafficPolicy, dump_to_string,
    };

    fn endpoint(ip: [u8; 4], local: bool) -> Endpoint {
        Endpoint {
            ip: Ipv4Addr::from(ip),
            port: 80,
            local,
        }
    }

    fn example_service(number: u8, policy: TrafficPolicy, endpoints: Vec<Endpoint>) -> Service {
        Service {
            namespace: format!("ns{number}"),
            name: format!("svc{number}"),
            port_name: Some("p80".to_string()),
            protocol: Protocol::Tcp,
            cluster_ip: Ipv4Addr::new(172, 30, 0, 40 + number),
            port: 80,
            node_port: 3000 + u16::from(number),
            external_policy: policy,
            session_affinity: false,
            health_check_node_port: None,
            endpoints,
        }
    }

    /// The running example of the reference's §5.
    fn running_example(version: KubeVersion) -> NodeSpec {
        NodeSpec {
            version,
            backend: Backend::Legacy,
            iptables_version: "1.8.9".to_string(),
            cluster_cidr: "10.0.0.0/8".parse().ok(),
            services: vec![
                example_service(
                    1,
                    TrafficPolicy::Cluster,
                    vec![
                        endpoint([10, 180, 0, 1], false),
                        endpoint([10, 180, 2, 1], true),
                    ],
                ),
                example_service(
                    2,
                    TrafficPolicy::Local,
                    vec![
                        endpoint([10, 180, 0, 2], false),
                        endpoint([10, 180, 2, 2], true),
                    ],
                ),
                example_service(
                    3,
                    TrafficPolicy::Local,
                    vec![endpoint([10, 180, 0, 3], false)],
                ),
            ],
            counters: false,
            large_cluster: false,
            extra_nat_postrouting: Vec::new(),
        }
    }

    /// The `-A` lines of `table` whose chain is one of `chains` (exact names, or prefixes
    /// ending in `-`).
    fn rules_in<'a>(dump: &'a str, table: &str, chains: &[&str]) -> Vec<&'a str> {
        let mut current = "";
        let mut rules = Vec::new();
        for line in dump.lines() {
            if let Some(name) = line.strip_prefix('*') {
                current = name;
            } else if current == table
                && let Some(rest) = line.strip_prefix("-A ")
            {
                let chain = rest.split(' ').next().unwrap_or_default();
                let wanted = chains.iter().any(|pattern| {
                    chain == *pattern || (pattern.ends_with('-') && chain.starts_with(pattern))
                });
                if wanted {
                    rules.push(line);
                }
            }
        }
        rules
    }

    const SERVICE_NAT_CHAINS: [&str; 7] = [
        "KUBE-SERVICES",
        "KUBE-NODEPORTS",
        "KUBE-SVC-",
        "KUBE-SEP-",
        "KUBE-XLB-",
        "KUBE-EXT-",
        "KUBE-SVL-",
    ];
    const SERVICE_FILTER_CHAINS: [&str; 3] =
        ["KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-NODEPORTS"];

    #[track_caller]
    fn check_running_example(version: KubeVersion, nat: &str, filter: &str) {
        let dump = dump_to_string(&running_example(version));
        let expected_nat: Vec<&str> = nat.lines().collect();
        assert_eq!(rules_in(&dump, "nat", &SERVICE_NAT_CHAINS), expected_nat);
        let expected_filter: Vec<&str> = filter.lines().collect();
        assert_eq!(
            rules_in(&dump, "filter", &SERVICE_FILTER_CHAINS),
            expected_filter
        );
    }

    #[test]
    fn running_example_v1_21_matches_reference_section_5_1() {
        let nat = include_str!("testdata/running-example-v1.21-nat.txt");
        check_running_example(KubeVersion::V1_21, nat, "");
    }

    #[test]
    fn running_example_v1_23_matches_reference_section_5_2() {
        let nat = include_str!("testdata/running-example-v1.23-nat.txt");
        check_running_example(KubeVersion::V1_23, nat, "");
    }

    #[test]
    fn running_example_v1_24_matches_reference_section_5_3() {
        let nat = include_str!("testdata/running-example-v1.24-nat.txt");
        check_running_example(KubeVersion::V1_24, nat, "");
    }

    #[test]
    fn running_example_v1_28_matches_reference_section_5_4() {
        let nat = include_str!("testdata/running-example-v1.28-nat.txt");
        let filter = include_str!("testdata/running-example-v1.28-filter.txt");
        check_running_example(KubeVersion::V1_28, nat, filter);
    }

    /// Dump A of the reference's §14 (AOJ121 `TestHealthCheckNodePortE2E`): an unnamed-port
    /// Local LoadBalancer service with a health-check port, one of three endpoints local.
    fn reference_dump_a() -> NodeSpec {
        let remote = |last: u8| endpoint([10, 0, 1, last], false);
        NodeSpec {
            version: KubeVersion::V1_21,
            backend: Backend::Legacy,
            iptables_version: "1.8.9".to_string(),
            cluster_cidr: "10.0.0.0/24".parse().ok(),
            services: vec![Service {
                namespace: "ns1".to_string(),
                name: "svc1".to_string(),
                port_name: None,
                protocol: Protocol::Tcp,
                cluster_ip: Ipv4Addr::new(172, 20, 1, 1),
                port: 0,
                node_port: 30010,
                external_policy: TrafficPolicy::Local,
                session_affinity: false,
                health_check_node_port: Some(30000),
                endpoints: vec![endpoint([10, 0, 1, 1], true), remote(2), remote(3)],
            }],
            counters: false,
            large_cluster: false,
            extra_nat_postrouting: Vec::new(),
        }
    }

    #[test]
    fn whole_v1_21_dump_matches_reference_dump_a() {
        // Only the timestamp differs from the reference text (ours is fixed).
        let expected = include_str!("testdata/reference-dump-a-v1.21.txt");
        assert_eq!(dump_to_string(&reference_dump_a()), expected);
    }

    #[test]
    fn v1_14_uses_its_own_era_shapes() {
        let mut node = running_example(KubeVersion::V1_14);
        node.services[0].port_name = None;
        node.services[0]
            .endpoints
            .push(endpoint([10, 180, 0, 9], false));
        let dump = dump_to_string(&node);
        // §4: the single-rule KUBE-POSTROUTING, no --random-fully before 1.16.
        assert!(dump.contains("-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -m mark --mark 0x4000/0x4000 -j MASQUERADE\n"));
        // §5.1: `%0.5f` probabilities, 1/3 printed as 0.33332999982.
        assert!(dump.contains("--probability 0.33332999982 "));
        // §2: unnamed ports end with a colon before 1.19.
        assert!(dump.contains("--comment \"ns1/svc1: cluster IP\""));
        // §5.1 E1: no LOCAL-source rules in KUBE-XLB.
        assert!(!dump.contains("LOCAL traffic"));
        assert!(dump.contains("-A KUBE-XLB-X27LE4BHSL4DOUIK -m comment --comment \"ns3/svc3:p80 has no local endpoints\" -j KUBE-MARK-DROP\n"));
        // §3.2: filter INPUT still jumps to KUBE-SERVICES.
        assert!(dump.contains("-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"));
    }
}
