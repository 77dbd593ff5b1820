//! Tests of the generated dumps: the rule shapes each kube-proxy era writes.

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
        node_port: Some(3000 + u16::from(number)),
        external_policy: policy,
        session_affinity: false,
        health_check_node_port: None,
        load_balancer_ips: Vec::new(),
        load_balancer_source_ranges: Vec::new(),
        external_ips: Vec::new(),
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
        node_ip: None,
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
        node_ip: None,
        services: vec![Service {
            namespace: "ns1".to_string(),
            name: "svc1".to_string(),
            port_name: None,
            protocol: Protocol::Tcp,
            cluster_ip: Ipv4Addr::new(172, 20, 1, 1),
            port: 0,
            node_port: Some(30010),
            external_policy: TrafficPolicy::Local,
            session_affinity: false,
            health_check_node_port: Some(30000),
            load_balancer_ips: Vec::new(),
            load_balancer_source_ranges: Vec::new(),
            external_ips: Vec::new(),
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

/// A `p80` TCP service port `ns<n>/svc<n>` with no nodePort, LB IP or externalIP yet.
fn bare_service(name: &str, cluster_ip: [u8; 4], endpoints: Vec<Endpoint>) -> Service {
    Service {
        namespace: format!("ns{name}"),
        name: format!("svc{name}"),
        port_name: Some("p80".to_string()),
        protocol: Protocol::Tcp,
        cluster_ip: Ipv4Addr::from(cluster_ip),
        port: 80,
        node_port: None,
        external_policy: TrafficPolicy::Cluster,
        session_affinity: false,
        health_check_node_port: None,
        load_balancer_ips: Vec::new(),
        load_balancer_source_ranges: Vec::new(),
        external_ips: Vec::new(),
        endpoints,
    }
}

/// The dump without iptables-save's `# Generated by …`/`# Completed on …` lines (they
/// name the tool and the time, not the rules).
fn without_header_lines(dump: &str) -> Vec<&str> {
    dump.lines()
        .filter(|line| !line.starts_with("# "))
        .collect()
}

/// Dump C of the reference's §14 (WED123 `TestOverallIPTablesRulesWithMultipleServices`,
/// v1.23): a ClusterIP service, a Local LoadBalancer with a source range, an externalIP
/// equal to its LB IP and no local endpoint, a Cluster LoadBalancer without ranges, a
/// NodePort service and a service with an externalIP and no nodePort. The fixture's quirks
/// are kept (three services on nodePort 3001, two on one cluster IP).
fn reference_dump_c() -> NodeSpec {
    let remote = |d: u8| endpoint([10, 180, 0, d], false);
    let mut svc2 = bare_service("2", [10, 20, 30, 42], vec![remote(2)]);
    svc2.node_port = Some(3001);
    svc2.external_policy = TrafficPolicy::Local;
    svc2.load_balancer_ips = vec![Ipv4Addr::new(1, 2, 3, 4)];
    svc2.external_ips = vec![Ipv4Addr::new(1, 2, 3, 4)];
    // Written as " 1.2.3.4/28" in the service; kube-proxy trims it, iptables zeroes the
    // host bits.
    svc2.load_balancer_source_ranges = vec!["1.2.3.4/28".parse().expect("a CIDR")];
    svc2.health_check_node_port = Some(30000);
    let mut svc2b = bare_service("2b", [10, 20, 30, 43], vec![remote(3)]);
    svc2b.node_port = Some(3001);
    svc2b.load_balancer_ips = vec![Ipv4Addr::new(1, 2, 3, 5)];
    let mut svc3 = bare_service("3", [10, 20, 30, 43], vec![remote(3)]);
    svc3.node_port = Some(3001);
    let mut svc4 = bare_service(
        "4",
        [10, 20, 30, 44],
        vec![remote(4), endpoint([10, 180, 0, 5], true)],
    );
    svc4.external_ips = vec![Ipv4Addr::new(50, 60, 70, 81)];
    NodeSpec {
        version: KubeVersion::V1_23,
        backend: Backend::Legacy,
        iptables_version: "1.8.9".to_string(),
        cluster_cidr: "10.0.0.0/24".parse().ok(),
        node_ip: None,
        services: vec![
            bare_service("1", [10, 20, 30, 41], vec![remote(1)]),
            svc2,
            svc2b,
            svc3,
            svc4,
        ],
        counters: false,
        large_cluster: false,
        extra_nat_postrouting: Vec::new(),
    }
}

#[test]
fn whole_v1_23_dump_matches_reference_dump_c() {
    let expected = include_str!("testdata/reference-dump-c-v1.23.txt");
    assert_eq!(
        without_header_lines(&dump_to_string(&reference_dump_c())),
        without_header_lines(expected)
    );
}

/// Dump D of the reference's §14 (K128 `TestOverallIPTablesRulesWithMultipleServices`,
/// v1.28, nf_tables): as Dump C's services in the KUBE-EXT era, plus a Cluster
/// LoadBalancer with a source range (KUBE-FW + KUBE-PROXY-FIREWALL) and a ClusterIP
/// service without endpoints (REJECT).
fn reference_dump_d() -> NodeSpec {
    let remote = |d: u8| endpoint([10, 180, 0, d], false);
    let mut svc2 = bare_service("2", [172, 30, 0, 42], vec![remote(2)]);
    svc2.node_port = Some(3001);
    svc2.external_policy = TrafficPolicy::Local;
    svc2.load_balancer_ips = vec![Ipv4Addr::new(1, 2, 3, 4)];
    svc2.external_ips = vec![Ipv4Addr::new(192, 168, 99, 22)];
    svc2.health_check_node_port = Some(30000);
    let mut svc3 = bare_service("3", [172, 30, 0, 43], vec![remote(3)]);
    svc3.node_port = Some(3003);
    let mut svc4 = bare_service(
        "4",
        [172, 30, 0, 44],
        vec![remote(4), endpoint([10, 180, 0, 5], true)],
    );
    svc4.external_ips = vec![Ipv4Addr::new(192, 168, 99, 33)];
    let mut svc5 = bare_service("5", [172, 30, 0, 45], vec![remote(3)]);
    svc5.node_port = Some(3002);
    svc5.load_balancer_ips = vec![Ipv4Addr::new(5, 6, 7, 8)];
    svc5.load_balancer_source_ranges = vec!["203.0.113.0/25".parse().expect("a CIDR")];
    NodeSpec {
        version: KubeVersion::V1_28,
        backend: Backend::Nft,
        iptables_version: "1.8.9".to_string(),
        cluster_cidr: "10.0.0.0/8".parse().ok(),
        // K128's testNodeIP, outside the source range: no `-s <LB IP>` rule.
        node_ip: Some(Ipv4Addr::new(192, 168, 0, 2)),
        services: vec![
            bare_service("1", [172, 30, 0, 41], vec![remote(1)]),
            svc2,
            svc3,
            svc4,
            svc5,
            bare_service("6", [172, 30, 0, 46], Vec::new()),
        ],
        counters: false,
        large_cluster: false,
        extra_nat_postrouting: Vec::new(),
    }
}

#[test]
fn whole_v1_28_dump_matches_reference_dump_d() {
    let expected = include_str!("testdata/reference-dump-d-v1.28-nft.txt");
    assert_eq!(
        without_header_lines(&dump_to_string(&reference_dump_d())),
        without_header_lines(expected)
    );
}

/// §5.5's example: `ns4/svc4:p80` Cluster with LB IP 5.6.7.8 and source range
/// 203.0.113.0/25, `ns5/svc5:p80` Local with LB IP 1.2.3.4 and health-check port 30000.
fn section_5_5_example(version: KubeVersion) -> NodeSpec {
    let mut svc4 = bare_service("4", [172, 30, 0, 44], vec![endpoint([10, 180, 0, 4], true)]);
    svc4.node_port = Some(3004);
    svc4.load_balancer_ips = vec![Ipv4Addr::new(5, 6, 7, 8)];
    svc4.load_balancer_source_ranges = vec!["203.0.113.0/25".parse().expect("a CIDR")];
    let mut svc5 = bare_service("5", [172, 30, 0, 45], vec![endpoint([10, 180, 0, 5], true)]);
    svc5.node_port = Some(3005);
    svc5.external_policy = TrafficPolicy::Local;
    svc5.load_balancer_ips = vec![Ipv4Addr::new(1, 2, 3, 4)];
    svc5.health_check_node_port = Some(30000);
    let mut node = running_example(version);
    node.services = vec![svc4, svc5];
    node
}

/// The reference's §5.5 LB-specific lines for `version` (its three blocks plus the
/// health-check rule, which the ≤1.24 blocks leave out), in the generator's chain order.
#[track_caller]
fn check_section_5_5(version: KubeVersion, nat: &[&str], filter: &[&str]) {
    let dump = dump_to_string(&section_5_5_example(version));
    let lb_lines = |table: &str, chains: &[&str]| -> Vec<String> {
        rules_in(&dump, table, chains)
            .into_iter()
            .filter(|line| {
                line.starts_with("-A KUBE-FW-")
                    || line.contains("loadbalancer IP")
                    || line.contains("health check")
                    || line.starts_with("-A KUBE-PROXY-FIREWALL")
            })
            .map(str::to_string)
            .collect()
    };
    assert_eq!(lb_lines("nat", &["KUBE-FW-", "KUBE-SERVICES"]), nat);
    assert_eq!(
        lb_lines("filter", &["KUBE-NODEPORTS", "KUBE-PROXY-FIREWALL"]),
        filter
    );
}

const HEALTH_CHECK_ACCEPT: &str = "-A KUBE-NODEPORTS -p tcp -m comment --comment \"ns5/svc5:p80 health check node port\" -m tcp --dport 30000 -j ACCEPT";

#[test]
fn load_balancer_rules_up_to_v1_23_match_reference_section_5_5() {
    let nat = [
        "-A KUBE-FW-4SW47YFZTEDKD3PK -m comment --comment \"ns4/svc4:p80 loadbalancer IP\" -j KUBE-MARK-MASQ",
        "-A KUBE-FW-4SW47YFZTEDKD3PK -s 203.0.113.0/25 -m comment --comment \"ns4/svc4:p80 loadbalancer IP\" -j KUBE-SVC-4SW47YFZTEDKD3PK",
        "-A KUBE-FW-4SW47YFZTEDKD3PK -m comment --comment \"ns4/svc4:p80 loadbalancer IP\" -j KUBE-MARK-DROP",
        "-A KUBE-FW-NUKIZ6OKUXPJNT4C -m comment --comment \"ns5/svc5:p80 loadbalancer IP\" -j KUBE-XLB-NUKIZ6OKUXPJNT4C",
        "-A KUBE-FW-NUKIZ6OKUXPJNT4C -m comment --comment \"ns5/svc5:p80 loadbalancer IP\" -j KUBE-MARK-DROP",
        "-A KUBE-SERVICES -d 5.6.7.8/32 -p tcp -m comment --comment \"ns4/svc4:p80 loadbalancer IP\" -m tcp --dport 80 -j KUBE-FW-4SW47YFZTEDKD3PK",
        "-A KUBE-SERVICES -d 1.2.3.4/32 -p tcp -m comment --comment \"ns5/svc5:p80 loadbalancer IP\" -m tcp --dport 80 -j KUBE-FW-NUKIZ6OKUXPJNT4C",
    ];
    for version in [KubeVersion::V1_21, KubeVersion::V1_23] {
        check_section_5_5(version, &nat, &[HEALTH_CHECK_ACCEPT]);
    }
    // 1.14 writes the same nat rules and no health-check rule (that came with 1.21).
    check_section_5_5(KubeVersion::V1_14, &nat, &[]);
}

#[test]
fn load_balancer_rules_of_v1_24_match_reference_section_5_5() {
    let nat = [
        "-A KUBE-FW-4SW47YFZTEDKD3PK -s 203.0.113.0/25 -m comment --comment \"ns4/svc4:p80 loadbalancer IP\" -j KUBE-EXT-4SW47YFZTEDKD3PK",
        "-A KUBE-FW-4SW47YFZTEDKD3PK -m comment --comment \"ns4/svc4:p80 loadbalancer IP\" -j KUBE-MARK-DROP",
        "-A KUBE-SERVICES -d 5.6.7.8/32 -p tcp -m comment --comment \"ns4/svc4:p80 loadbalancer IP\" -m tcp --dport 80 -j KUBE-FW-4SW47YFZTEDKD3PK",
        "-A KUBE-SERVICES -d 1.2.3.4/32 -p tcp -m comment --comment \"ns5/svc5:p80 loadbalancer IP\" -m tcp --dport 80 -j KUBE-EXT-NUKIZ6OKUXPJNT4C",
    ];
    check_section_5_5(KubeVersion::V1_24, &nat, &[HEALTH_CHECK_ACCEPT]);
}

#[test]
fn load_balancer_rules_from_v1_25_match_reference_section_5_5() {
    let nat = [
        "-A KUBE-FW-4SW47YFZTEDKD3PK -s 203.0.113.0/25 -m comment --comment \"ns4/svc4:p80 loadbalancer IP\" -j KUBE-EXT-4SW47YFZTEDKD3PK",
        "-A KUBE-FW-4SW47YFZTEDKD3PK -m comment --comment \"other traffic to ns4/svc4:p80 will be dropped by KUBE-PROXY-FIREWALL\"",
        "-A KUBE-SERVICES -d 5.6.7.8/32 -p tcp -m comment --comment \"ns4/svc4:p80 loadbalancer IP\" -m tcp --dport 80 -j KUBE-FW-4SW47YFZTEDKD3PK",
        "-A KUBE-SERVICES -d 1.2.3.4/32 -p tcp -m comment --comment \"ns5/svc5:p80 loadbalancer IP\" -m tcp --dport 80 -j KUBE-EXT-NUKIZ6OKUXPJNT4C",
    ];
    let filter = [
        HEALTH_CHECK_ACCEPT,
        "-A KUBE-PROXY-FIREWALL -d 5.6.7.8/32 -p tcp -m comment --comment \"ns4/svc4:p80 traffic not accepted by KUBE-FW-4SW47YFZTEDKD3PK\" -m tcp --dport 80 -j DROP",
    ];
    check_section_5_5(KubeVersion::V1_28, &nat, &filter);
}

#[test]
fn a_source_range_holding_the_node_ip_also_admits_the_lb_ip_itself() {
    // §5.5: "If a source range contains the node IP, an extra `-s <LB IP>/32` rule is
    // added after the ranges".
    let mut node = section_5_5_example(KubeVersion::V1_21);
    node.node_ip = Some(Ipv4Addr::new(203, 0, 113, 7));
    let dump = dump_to_string(&node);
    assert!(dump.contains("-A KUBE-FW-4SW47YFZTEDKD3PK -s 203.0.113.0/25 -m comment --comment \"ns4/svc4:p80 loadbalancer IP\" -j KUBE-SVC-4SW47YFZTEDKD3PK\n-A KUBE-FW-4SW47YFZTEDKD3PK -s 5.6.7.8/32 -m comment --comment \"ns4/svc4:p80 loadbalancer IP\" -j KUBE-SVC-4SW47YFZTEDKD3PK\n-A KUBE-FW-4SW47YFZTEDKD3PK -m comment --comment \"ns4/svc4:p80 loadbalancer IP\" -j KUBE-MARK-DROP\n"));
    node.version = KubeVersion::V1_28;
    let dump = dump_to_string(&node);
    assert!(dump.contains("-A KUBE-FW-4SW47YFZTEDKD3PK -s 5.6.7.8/32 -m comment --comment \"ns4/svc4:p80 loadbalancer IP\" -j KUBE-EXT-4SW47YFZTEDKD3PK\n-A KUBE-FW-4SW47YFZTEDKD3PK -m comment --comment \"other traffic"));
    // Outside every range: no such rule.
    node.node_ip = Some(Ipv4Addr::new(192, 168, 0, 2));
    assert!(!dump_to_string(&node).contains("-s 5.6.7.8/32"));
}

/// §5.6's example: `ns4/svc4:p80`, externalIP 192.168.99.33, port 80, with `policy`.
fn section_5_6_lines(version: KubeVersion, policy: TrafficPolicy) -> Vec<String> {
    let mut svc4 = bare_service("4", [172, 30, 0, 44], vec![endpoint([10, 180, 0, 4], true)]);
    svc4.node_port = Some(3004);
    svc4.external_policy = policy;
    svc4.external_ips = vec![Ipv4Addr::new(192, 168, 99, 33)];
    let mut node = running_example(version);
    node.services = vec![svc4];
    let dump = dump_to_string(&node);
    rules_in(&dump, "nat", &["KUBE-SERVICES", "KUBE-SVC-"])
        .into_iter()
        .filter(|line| line.contains("external IP"))
        .map(str::to_string)
        .collect()
}

#[test]
fn external_ip_rules_match_reference_section_5_6_in_every_era() {
    use TrafficPolicy::{Cluster, Local};
    let matched = "-d 192.168.99.33/32 -p tcp -m comment --comment \"ns4/svc4:p80 external IP\" -m tcp --dport 80";
    let services = |rest: &str| format!("-A KUBE-SERVICES {matched} {rest}");
    // ≤1.18: always masqueraded, whatever the policy; physdev/addrtype guards.
    let v1_14 = vec![
        services("-j KUBE-MARK-MASQ"),
        services(
            "-m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j KUBE-SVC-4SW47YFZTEDKD3PK",
        ),
        services("-m addrtype --dst-type LOCAL -j KUBE-SVC-4SW47YFZTEDKD3PK"),
    ];
    assert_eq!(section_5_6_lines(KubeVersion::V1_14, Cluster), v1_14);
    assert_eq!(section_5_6_lines(KubeVersion::V1_14, Local), v1_14);
    // 1.21: masquerade what is not from a pod, in KUBE-SERVICES; Local goes to XLB.
    assert_eq!(
        section_5_6_lines(KubeVersion::V1_21, Cluster),
        vec![
            format!("-A KUBE-SERVICES ! -s 10.0.0.0/8 {matched} -j KUBE-MARK-MASQ"),
            services("-j KUBE-SVC-4SW47YFZTEDKD3PK"),
        ]
    );
    let to_xlb = vec![services("-j KUBE-XLB-4SW47YFZTEDKD3PK")];
    assert_eq!(section_5_6_lines(KubeVersion::V1_21, Local), to_xlb);
    // 1.22–1.23: the masquerade rule moves into KUBE-SVC (KUBE-SVC sorts after
    // KUBE-SERVICES here).
    assert_eq!(
        section_5_6_lines(KubeVersion::V1_23, Cluster),
        vec![
            services("-j KUBE-SVC-4SW47YFZTEDKD3PK"),
            format!("-A KUBE-SVC-4SW47YFZTEDKD3PK ! -s 10.0.0.0/8 {matched} -j KUBE-MARK-MASQ"),
        ]
    );
    assert_eq!(section_5_6_lines(KubeVersion::V1_23, Local), to_xlb);
    // ≥1.24: KUBE-EXT, for both policies.
    let to_ext = vec![services("-j KUBE-EXT-4SW47YFZTEDKD3PK")];
    for version in [KubeVersion::V1_24, KubeVersion::V1_28] {
        assert_eq!(section_5_6_lines(version, Cluster), to_ext);
        assert_eq!(section_5_6_lines(version, Local), to_ext);
    }
}

#[test]
fn services_without_endpoints_reject_every_address_as_section_5_7_says() {
    let mut svc = bare_service("6", [172, 30, 0, 46], Vec::new());
    svc.node_port = Some(3006);
    svc.load_balancer_ips = vec![Ipv4Addr::new(5, 6, 7, 9)];
    svc.external_ips = vec![Ipv4Addr::new(192, 168, 99, 66)];
    svc.load_balancer_source_ranges = vec!["203.0.113.0/25".parse().expect("a CIDR")];
    let reject = |chain: &str, address: &str| {
        format!(
            "-A {chain} -d {address}/32 -p tcp -m comment --comment \"ns6/svc6:p80 has no endpoints\" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable"
        )
    };
    let node_port = "-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment \"ns6/svc6:p80 has no endpoints\" -m addrtype --dst-type LOCAL -m tcp --dport 3006 -j REJECT --reject-with icmp-port-unreachable".to_string();
    for version in KubeVersion::ALL {
        let mut node = running_example(version);
        node.services = vec![svc.clone()];
        let dump = dump_to_string(&node);
        let filter = rules_in(
            &dump,
            "filter",
            &[
                "KUBE-SERVICES",
                "KUBE-EXTERNAL-SERVICES",
                "KUBE-PROXY-FIREWALL",
            ],
        );
        // ≤1.19 rejects LB IPs in filter KUBE-SERVICES, later in KUBE-EXTERNAL-SERVICES.
        let lb_chain = if version == KubeVersion::V1_14 {
            "KUBE-SERVICES"
        } else {
            "KUBE-EXTERNAL-SERVICES"
        };
        let mut expected = vec![
            reject("KUBE-EXTERNAL-SERVICES", "192.168.99.66"),
            reject(lb_chain, "5.6.7.9"),
            node_port.clone(),
            reject("KUBE-SERVICES", "172.30.0.46"),
        ];
        if version == KubeVersion::V1_14 {
            expected = vec![
                expected[0].clone(),
                expected[2].clone(),
                expected[3].clone(),
                expected[1].clone(),
            ];
        }
        assert_eq!(filter, expected, "{version:?}");
        // No nat chain of the service: no KUBE-FW, no KUBE-PROXY-FIREWALL rule.
        assert!(!dump.contains("KUBE-FW-"), "{version:?}");
        assert!(!dump.contains("KUBE-SVC-"), "{version:?}");
    }
}

#[test]
fn local_services_without_a_local_endpoint_drop_every_external_address_from_v1_25() {
    let mut svc = bare_service(
        "2",
        [172, 30, 0, 42],
        vec![endpoint([10, 180, 0, 2], false)],
    );
    svc.node_port = Some(3001);
    svc.external_policy = TrafficPolicy::Local;
    svc.load_balancer_ips = vec![Ipv4Addr::new(1, 2, 3, 4)];
    svc.external_ips = vec![Ipv4Addr::new(192, 168, 99, 22)];
    let mut node = running_example(KubeVersion::V1_28);
    node.services = vec![svc];
    let dump = dump_to_string(&node);
    let drop = |address: &str| {
        format!(
            "-A KUBE-EXTERNAL-SERVICES -d {address}/32 -p tcp -m comment --comment \"ns2/svc2:p80 has no local endpoints\" -m tcp --dport 80 -j DROP"
        )
    };
    assert_eq!(
        rules_in(&dump, "filter", &["KUBE-EXTERNAL-SERVICES"]),
        vec![
            drop("192.168.99.22"),
            drop("1.2.3.4"),
            "-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment \"ns2/svc2:p80 has no local endpoints\" -m addrtype --dst-type LOCAL -m tcp --dport 3001 -j DROP".to_string(),
        ]
    );
}

#[test]
fn a_cluster_ip_service_has_no_external_chains() {
    for version in KubeVersion::ALL {
        let mut node = running_example(version);
        node.services = vec![bare_service(
            "1",
            [172, 30, 0, 41],
            vec![endpoint([10, 180, 0, 1], true)],
        )];
        let dump = dump_to_string(&node);
        assert!(!dump.contains("-A KUBE-NODEPORTS"), "{version:?}");
        assert!(!dump.contains("KUBE-EXT-"), "{version:?}");
        assert!(!dump.contains("KUBE-FW-"), "{version:?}");
        assert!(dump.contains("\"ns1/svc1:p80 cluster IP\""), "{version:?}");
    }
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
