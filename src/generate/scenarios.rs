//! Named single-service nodes that the explain tests run against (the test matrix).
//!
//! Every scenario has one service `test/web:http` (TCP, cluster IP 198.19.0.10:80,
//! nodePort 30080, target port 8080) on a node whose pods live in 198.18.1.0/24, with
//! cluster CIDR 198.18.0.0/16 and other nodes' pods in 198.18.2.0/24. Names read
//! `v<version>-<backend>-etp-<policy>-<endpoints>[-<variant>]`.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::{Backend, Endpoint, KubeVersion, NodeSpec, Protocol, Service, TrafficPolicy};

/// Which endpoints the scenario's service has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EndpointSet {
    /// One pod on this node (198.18.1.10) and one on another node (198.18.2.10).
    WithLocalEndpoint,
    /// Two pods on other nodes (198.18.2.10, 198.18.2.11).
    RemoteEndpointsOnly,
    /// No ready pods.
    NoEndpoints,
}

impl EndpointSet {
    fn slug(self) -> &'static str {
        match self {
            EndpointSet::WithLocalEndpoint => "with-local-endpoint",
            EndpointSet::RemoteEndpointsOnly => "remote-endpoints-only",
            EndpointSet::NoEndpoints => "no-endpoints",
        }
    }

    fn endpoints(self) -> Vec<Endpoint> {
        let pod = |c: u8, d: u8, local: bool| Endpoint {
            ip: Ipv4Addr::new(198, 18, c, d),
            port: 8080,
            local,
        };
        match self {
            EndpointSet::WithLocalEndpoint => vec![pod(1, 10, true), pod(2, 10, false)],
            EndpointSet::RemoteEndpointsOnly => vec![pod(2, 10, false), pod(2, 11, false)],
            EndpointSet::NoEndpoints => Vec::new(),
        }
    }
}

fn web_service(policy: TrafficPolicy, endpoints: EndpointSet) -> Service {
    Service {
        namespace: "test".to_string(),
        name: "web".to_string(),
        port_name: Some("http".to_string()),
        protocol: Protocol::Tcp,
        cluster_ip: Ipv4Addr::new(198, 19, 0, 10),
        port: 80,
        node_port: Some(30080),
        external_policy: policy,
        session_affinity: false,
        health_check_node_port: None,
        load_balancer_ips: Vec::new(),
        load_balancer_source_ranges: Vec::new(),
        external_ips: Vec::new(),
        endpoints: endpoints.endpoints(),
    }
}

fn web_node(
    version: KubeVersion,
    backend: Backend,
    policy: TrafficPolicy,
    endpoints: EndpointSet,
) -> NodeSpec {
    NodeSpec {
        version,
        backend,
        iptables_version: "1.8.7".to_string(),
        cluster_cidr: Some(Ipv4Net::new(Ipv4Addr::new(198, 18, 0, 0), 16).unwrap_or_default()),
        node_ip: None,
        services: vec![web_service(policy, endpoints)],
        counters: false,
        large_cluster: false,
        extra_nat_postrouting: Vec::new(),
    }
}

fn matrix_name(
    version: KubeVersion,
    backend: Backend,
    policy: TrafficPolicy,
    endpoints: EndpointSet,
) -> String {
    let backend = match backend {
        Backend::Legacy => "legacy",
        Backend::Nft => "nft",
    };
    let policy = match policy {
        TrafficPolicy::Cluster => "cluster",
        TrafficPolicy::Local => "local",
    };
    format!(
        "v{}-{backend}-etp-{policy}-{}",
        version.as_str(),
        endpoints.slug()
    )
}

/// Leaks a scenario name built at run time so the list can hand out `&'static str` names;
/// the matrix is small and fixed (a few dozen short strings).
fn static_name(name: String) -> &'static str {
    Box::leak(name.into_boxed_str())
}

/// The named scenarios, in a stable order. Each node is documented by its name:
///
/// * the matrix `v{1.21,1.28}-{legacy,nft}-etp-{cluster,local}-{with-local-endpoint,
///   remote-endpoints-only,no-endpoints}` (24 nodes): the XLB era and the EXT era, both
///   policies, the three endpoint situations, both back-ends;
/// * `v1.14-legacy-etp-local-with-local-endpoint`: era E1 (no LOCAL-source XLB rules);
/// * `v1.23-legacy-etp-local-{with-local-endpoint,remote-endpoints-only}`: era E3;
/// * `v1.24-legacy-etp-local-{with-local-endpoint,remote-endpoints-only}`: era E4
///   (`KUBE-SVL` with `KUBE-MARK-DROP`);
/// * `v1.28-nft-etp-local-with-local-endpoint-cni-masquerade`: a CNI rule
///   `! -s 198.18.0.0/16 -d 198.18.0.0/16 -j MASQUERADE` after kube-proxy's in nat
///   POSTROUTING, which masquerades external clients on their way to pods even with
///   policy Local;
/// * `v1.28-nft-etp-local-with-local-endpoint-large-cluster`: no comments on endpoint rules;
/// * `v1.21-legacy-etp-local-with-local-endpoint-counters`: `iptables-save -c` form.
pub fn scenarios() -> Vec<(&'static str, NodeSpec)> {
    use EndpointSet::{NoEndpoints, RemoteEndpointsOnly, WithLocalEndpoint};
    use TrafficPolicy::{Cluster, Local};

    let mut list = Vec::new();
    let mut add = |version, backend, policy, endpoints| {
        let name = static_name(matrix_name(version, backend, policy, endpoints));
        list.push((name, web_node(version, backend, policy, endpoints)));
    };
    for version in [KubeVersion::V1_21, KubeVersion::V1_28] {
        for backend in [Backend::Legacy, Backend::Nft] {
            for policy in [Cluster, Local] {
                for endpoints in [WithLocalEndpoint, RemoteEndpointsOnly, NoEndpoints] {
                    add(version, backend, policy, endpoints);
                }
            }
        }
    }
    add(
        KubeVersion::V1_14,
        Backend::Legacy,
        Local,
        WithLocalEndpoint,
    );
    for version in [KubeVersion::V1_23, KubeVersion::V1_24] {
        add(version, Backend::Legacy, Local, WithLocalEndpoint);
        add(version, Backend::Legacy, Local, RemoteEndpointsOnly);
    }

    let mut cni = web_node(KubeVersion::V1_28, Backend::Nft, Local, WithLocalEndpoint);
    cni.extra_nat_postrouting =
        vec!["! -s 198.18.0.0/16 -d 198.18.0.0/16 -j MASQUERADE".to_string()];
    list.push((
        "v1.28-nft-etp-local-with-local-endpoint-cni-masquerade",
        cni,
    ));

    let mut large = web_node(KubeVersion::V1_28, Backend::Nft, Local, WithLocalEndpoint);
    large.large_cluster = true;
    list.push((
        "v1.28-nft-etp-local-with-local-endpoint-large-cluster",
        large,
    ));

    let mut counters = web_node(
        KubeVersion::V1_21,
        Backend::Legacy,
        Local,
        WithLocalEndpoint,
    );
    counters.counters = true;
    list.push((
        "v1.21-legacy-etp-local-with-local-endpoint-counters",
        counters,
    ));
    list
}

#[cfg(test)]
mod tests {
    use super::scenarios;
    use crate::generate::dump_to_string;

    #[test]
    fn scenario_names_are_unique_and_stable() {
        let list = scenarios();
        let mut names: Vec<&str> = list.iter().map(|(name, _)| *name).collect();
        assert_eq!(names.len(), 32);
        assert!(names.contains(&"v1.21-legacy-etp-local-with-local-endpoint"));
        assert!(names.contains(&"v1.28-nft-etp-cluster-no-endpoints"));
        assert!(names.contains(&"v1.14-legacy-etp-local-with-local-endpoint"));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 32);
    }

    #[test]
    fn local_scenario_without_local_endpoint_drops_in_its_era() {
        let list = scenarios();
        let dump_of = |wanted: &str| {
            let (_, node) = list.iter().find(|(name, _)| *name == wanted).expect(wanted);
            dump_to_string(node)
        };
        let xlb = dump_of("v1.21-legacy-etp-local-remote-endpoints-only");
        assert!(xlb.contains(
            "-A KUBE-XLB-5JBHKBGPD2A2QXBH -m comment --comment \"test/web:http has no local endpoints\" -j KUBE-MARK-DROP\n"
        ));
        let ext = dump_of("v1.28-nft-etp-local-remote-endpoints-only");
        assert!(ext.contains(
            "-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment \"test/web:http has no local endpoints\" -m addrtype --dst-type LOCAL -m tcp --dport 30080 -j DROP\n"
        ));
        assert!(!ext.contains("KUBE-MARK-DROP"));
    }

    #[test]
    fn cni_rule_follows_kube_proxy_jump_in_postrouting() {
        let list = scenarios();
        let (_, node) = list
            .iter()
            .find(|(name, _)| name.ends_with("-cni-masquerade"))
            .expect("cni scenario");
        let dump = dump_to_string(node);
        assert!(dump.contains(
            "-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING\n-A POSTROUTING ! -s 198.18.0.0/16 -d 198.18.0.0/16 -j MASQUERADE\n"
        ));
    }

    #[test]
    fn counters_scenario_prefixes_every_rule() {
        let list = scenarios();
        let (_, node) = list
            .iter()
            .find(|(name, _)| name.ends_with("-counters"))
            .expect("counters scenario");
        let dump = dump_to_string(node);
        let rules: Vec<&str> = dump.lines().filter(|line| line.contains("-A ")).collect();
        assert!(!rules.is_empty());
        assert!(
            rules
                .iter()
                .all(|line| line.starts_with('[') && line.contains("] -A "))
        );
    }
}
