//! Deterministic, realistic large nodes for benchmarks and size tests.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::save::splitmix;
use super::{Backend, Endpoint, KubeVersion, NodeSpec, Protocol, Service, TrafficPolicy};

/// kube-proxy's `largeClusterEndpointsThreshold`: above this many endpoints it drops the
/// comments on endpoint rules.
const LARGE_CLUSTER_ENDPOINTS: usize = 1000;

/// Port names cycled through; `None` is a service's single unnamed port.
const PORT_NAMES: [Option<&str>; 6] = [
    Some("http"),
    Some("https"),
    Some("grpc"),
    None,
    Some("metrics"),
    Some("http"),
];

/// A node with `services` service ports in a deterministic realistic mix, the same for the
/// same arguments:
///
/// * about 1 in 5 services has `externalTrafficPolicy: Local` (half of them with a
///   `healthCheckNodePort`), 1 in 10 is UDP, 1 in 12 uses ClientIP session affinity;
/// * endpoints: 1 in 25 services has none; most have 1–5; 13 in 100 have 6–10 (a scaled-out
///   deployment); each endpoint runs on this node with probability 1/4;
/// * cluster CIDR 198.18.0.0/16; this node's pods in 198.18.1.0/24, other nodes' pods in
///   198.18.2.0–198.18.255.255; cluster IPs from 198.19.0.10 upwards; nodePorts from 30000
///   upwards through 65535, then from 1024 (a wide `--service-node-port-range`).
///
/// Cluster IPs are distinct for up to 65,526 services and nodePorts for up to 64,512;
/// endpoint IPs repeat after about 64,000 endpoints (one pod backing several services).
/// With 50,000 services and [`KubeVersion::V1_28`] the dump is about 100 MB and 1.1 million
/// lines.
pub fn synthetic(services: usize, version: KubeVersion, backend: Backend) -> NodeSpec {
    let mut addresses = EndpointAddresses::default();
    let services: Vec<Service> = (0..services)
        .map(|index| synthetic_service(index, &mut addresses))
        .collect();
    let endpoint_total: usize = services.iter().map(|service| service.endpoints.len()).sum();
    NodeSpec {
        version,
        backend,
        iptables_version: "1.8.7".to_string(),
        cluster_cidr: Some(Ipv4Net::new(Ipv4Addr::new(198, 18, 0, 0), 16).unwrap_or_default()),
        node_ip: None,
        services,
        counters: false,
        large_cluster: endpoint_total > LARGE_CLUSTER_ENDPOINTS,
        extra_nat_postrouting: Vec::new(),
    }
}

/// Hands out pod IPs: this node's from 198.18.1.0/24, other nodes' from 198.18.2.0 on.
#[derive(Debug, Default)]
struct EndpointAddresses {
    local_count: u32,
    remote_count: u32,
}

impl EndpointAddresses {
    fn next(&mut self, local: bool) -> Ipv4Addr {
        if local {
            let host = 2 + self.local_count % 253;
            self.local_count += 1;
            Ipv4Addr::new(198, 18, 1, host as u8)
        } else {
            let host = 1 + self.remote_count % 254;
            let subnet = 2 + (self.remote_count / 254) % 254;
            self.remote_count += 1;
            Ipv4Addr::new(198, 18, subnet as u8, host as u8)
        }
    }
}

/// Wide nodePort range 1024–65535, starting at 30000.
fn node_port(slot: usize) -> u16 {
    let offset = (slot + (30000 - 1024)) % (65536 - 1024);
    1024 + offset as u16
}

/// Service name stems; the service's index makes each name unique.
const COMPONENTS: [&str; 8] = [
    "frontend",
    "api-gateway",
    "worker",
    "cache",
    "db-proxy",
    "notifications",
    "auth",
    "web",
];

/// Namespaces of 20 services each, named like a company's teams and stages.
fn namespace(index: usize) -> String {
    const TEAMS: [&str; 8] = [
        "checkout",
        "payments",
        "search",
        "inventory",
        "identity",
        "analytics",
        "messaging",
        "platform",
    ];
    const STAGES: [&str; 3] = ["prod", "staging", "dev"];
    let group = index / 20;
    format!(
        "{}-{}-{}",
        TEAMS[group % TEAMS.len()],
        STAGES[(group / TEAMS.len()) % STAGES.len()],
        group / (TEAMS.len() * STAGES.len())
    )
}

fn endpoint_count(roll: u64) -> usize {
    match roll % 100 {
        0..=3 => 0,
        4..=86 => 1 + (roll / 100 % 5) as usize,
        _ => 6 + (roll / 100 % 5) as usize,
    }
}

fn synthetic_service(index: usize, addresses: &mut EndpointAddresses) -> Service {
    let roll = splitmix(index as u64 ^ 0x5E_ED0F_5E41_1CE5);
    let local_policy = roll.is_multiple_of(5);
    let protocol = if (roll >> 8).is_multiple_of(10) {
        Protocol::Udp
    } else {
        Protocol::Tcp
    };
    let target_port = match protocol {
        Protocol::Udp => 53,
        Protocol::Tcp => [8080, 8443, 9090, 3000][(roll >> 12) as usize % 4],
    };
    let count = endpoint_count(roll >> 16);
    let endpoints = (0..count)
        .map(|position| {
            let endpoint_roll = splitmix(roll ^ (position as u64 + 1));
            let local = endpoint_roll.is_multiple_of(4);
            Endpoint {
                ip: addresses.next(local),
                port: target_port,
                local,
            }
        })
        .collect();
    let cluster_ip = u32::from(Ipv4Addr::new(198, 19, 0, 10)) + (index % 65_526) as u32;
    Service {
        namespace: namespace(index),
        name: format!(
            "{}-{index:05}",
            COMPONENTS[(roll >> 56) as usize % COMPONENTS.len()]
        ),
        port_name: PORT_NAMES[(roll >> 40) as usize % PORT_NAMES.len()].map(str::to_string),
        protocol,
        cluster_ip: Ipv4Addr::from(cluster_ip),
        port: [80, 443, 8080, 9000][(roll >> 44) as usize % 4],
        node_port: Some(node_port(index)),
        external_policy: if local_policy {
            TrafficPolicy::Local
        } else {
            TrafficPolicy::Cluster
        },
        session_affinity: (roll >> 48).is_multiple_of(12),
        health_check_node_port: (local_policy && (roll >> 52).is_multiple_of(2))
            .then(|| node_port(index + 32_256)),
        load_balancer_ips: Vec::new(),
        load_balancer_source_ranges: Vec::new(),
        external_ips: Vec::new(),
        endpoints,
    }
}

#[cfg(test)]
mod tests {
    use super::synthetic;
    use crate::generate::{Backend, KubeVersion, dump_to_string};

    #[test]
    fn synthetic_is_deterministic() {
        let first = synthetic(300, KubeVersion::V1_28, Backend::Nft);
        let second = synthetic(300, KubeVersion::V1_28, Backend::Nft);
        assert_eq!(first, second);
        assert_eq!(dump_to_string(&first), dump_to_string(&second));
    }

    #[test]
    fn synthetic_mix_has_every_kind_of_service() {
        let node = synthetic(500, KubeVersion::V1_21, Backend::Legacy);
        let services = &node.services;
        let local = services
            .iter()
            .filter(|s| s.external_policy == crate::generate::TrafficPolicy::Local);
        assert!(local.clone().any(|s| s.endpoints.iter().any(|e| e.local)));
        assert!(
            local
                .clone()
                .any(|s| !s.endpoints.is_empty() && s.endpoints.iter().all(|e| !e.local))
        );
        assert!(local.clone().any(|s| s.health_check_node_port.is_some()));
        assert!(services.iter().any(|s| s.endpoints.is_empty()));
        assert!(services.iter().any(|s| s.session_affinity));
        assert!(
            services
                .iter()
                .any(|s| s.protocol == crate::generate::Protocol::Udp)
        );
        assert!(services.iter().any(|s| s.port_name.is_none()));
    }

    #[test]
    fn synthetic_cluster_ips_and_node_ports_are_distinct() {
        let node = synthetic(2_000, KubeVersion::V1_28, Backend::Nft);
        let mut ips: Vec<_> = node.services.iter().map(|s| s.cluster_ip).collect();
        let mut ports: Vec<_> = node.services.iter().map(|s| s.node_port).collect();
        ips.sort();
        ips.dedup();
        ports.sort();
        ports.dedup();
        assert_eq!(ips.len(), 2_000);
        assert_eq!(ports.len(), 2_000);
    }

    #[test]
    fn synthetic_dump_size_per_service_is_in_the_benchmark_range() {
        // The 50,000-service benchmark dump should be ~100 MB / ~1.1 M lines, i.e. about
        // 22 lines and 2,000 bytes per service; check the same ratios on 1,000 services.
        let services = 1_000;
        let dump = dump_to_string(&synthetic(services, KubeVersion::V1_28, Backend::Nft));
        let lines_per_service = dump.lines().count() as f64 / services as f64;
        let bytes_per_service = dump.len() as f64 / services as f64;
        assert!(
            (19.0..=25.0).contains(&lines_per_service),
            "{lines_per_service} lines per service"
        );
        assert!(
            (1_700.0..=2_300.0).contains(&bytes_per_service),
            "{bytes_per_service} bytes per service"
        );
    }
}
