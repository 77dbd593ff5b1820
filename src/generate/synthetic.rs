//! Deterministic large nodes for benchmarks (placeholder).

use super::{Backend, KubeVersion, NodeSpec};

/// A deterministic realistic node.
pub fn synthetic(services: usize, version: KubeVersion, backend: Backend) -> NodeSpec {
    let _ = services;
    NodeSpec {
        version,
        backend,
        iptables_version: "1.8.7".to_string(),
        cluster_cidr: None,
        services: Vec::new(),
        counters: false,
        large_cluster: false,
        extra_nat_postrouting: Vec::new(),
    }
}
